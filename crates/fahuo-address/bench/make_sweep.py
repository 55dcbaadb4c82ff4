#!/usr/bin/env python3
"""Generate the synthetic "sweep" evaluation set: every county-level unit written in several
styles buyers use, with gold levels known by construction.

    python3 bench/make_sweep.py > /tmp/addr-bench/sweep.tsv

Deterministic (fixed seed). Reads only ../data/divisions.tsv and ../data/t2s.tsv. Output has the
same columns as tests/data/eval.tsv. This set checks coverage of the whole division table and
feeds the throughput runs; being generated from our own table it favours our parser, so it is
reported separately from the hand-labelled set.
"""
import os, random, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
rng = random.Random(20261122)

units = {}
for line in open(os.path.join(DATA, "divisions.tsv"), encoding="utf-8"):
    if line.startswith("#"):
        continue
    f = line.rstrip("\n").split("\t")
    units[f[0]] = {"code": f[0], "parent": f[1], "level": int(f[2]), "name": f[3],
                   "short": [s for s in f[4].split("|") if s], "flags": f[8]}
s2t = {}
for line in open(os.path.join(DATA, "t2s.tsv"), encoding="utf-8"):
    if line.startswith("#"):
        continue
    t, s = line.rstrip("\n").split("\t")
    s2t.setdefault(s, t)

name_count = defaultdict(int)
prov_name_count = defaultdict(int)
for u in units.values():
    name_count[u["name"]] += 1
    prov_name_count[(u["code"][:2], u["name"])] += 1

MUNI = {"110000", "120000", "310000", "500000"}
ROADS = ["人民路", "解放路", "建设路", "文化路", "新华路", "中山路", "胜利街", "和平路", "光明大道", "北京东路",
         "幸福巷", "长江路", "工业园区", "滨江大道", "学府路"]
PLACES = ["", "", "花园小区", "阳光公寓", "世纪大厦", "幸福里", "锦绣家园", "实验学校", "人民医院"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞"]


def chain(code):
    out = {}
    while code:
        u = units[code]
        out[u["level"]] = u
        code = u["parent"]
    return out


def short(u):
    return rng.choice(u["short"]) if u["short"] else u["name"]


def trad(s):
    return "".join(s2t.get(c, c) for c in s)


def detail():
    return f"{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.choice(PLACES)}" + (
        f"{rng.randint(1, 30)}栋{rng.randint(1, 3)}单元{rng.randint(101, 2505)}室" if rng.random() < 0.5 else "")


def person():
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def phone():
    r = rng.random()
    if r < 0.75:
        return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    if r < 0.9:
        return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)) + "-" + str(rng.randint(1000, 9999))
    return "0" + str(rng.randint(371, 999)) + "-" + str(rng.randint(2000000, 8999999))


def emit(src, text, p, c, k, name="*", ph="*"):
    print("\t".join([src, text, p or "-", c or "-", k or "-", name, ph]))


print("# source\tinput\tprovince\tcity\tcounty\tname\tphone   (synthetic sweep, see bench/make_sweep.py)")
for code in sorted(units):
    u = units[code]
    if u["level"] != 3 or "zone" in u["flags"] or code[:2] in ("71", "81", "82"):
        continue
    ch = chain(code)
    prov, city = ch[1], ch.get(2)
    gold_city = city["name"] if city else u["name"]
    styles = rng.sample(["full", "short", "nocity", "noprov", "sep", "trad", "countyonly", "muni"], 3)
    for st in styles:
        d = detail()
        pn, cn, kn = prov["name"], city["name"] if city else "", u["name"]
        gp, gc, gk = prov["name"], gold_city, u["name"]
        if st == "short":
            pn, cn = short(prov), short(city) if city else ""
        elif st == "noprov":
            pn = ""
        elif st == "nocity":
            cn = ""
            if prov_name_count[(code[:2], u["name"])] > 1:
                gc = None  # "山东省市中区": 济南 and 枣庄 both have one
        elif st == "countyonly":
            pn = cn = ""
            if name_count[u["name"]] > 1:
                # Ambiguous by construction ("鼓楼区" alone): only a province that every
                # same-name unit shares is known (桥西区 is in 河北省 three times).
                gc = None
                if prov_name_count[(code[:2], u["name"])] != name_count[u["name"]]:
                    gp = None
        elif st == "muni" and prov["code"] in MUNI:
            cn = prov["name"]
        addr = pn + cn + kn + d
        if st == "sep":
            addr = "中国 " + "-".join(x for x in (pn, cn, kn) if x) + " " + d
        if st == "trad":
            addr = trad(addr)
        nm, ph = person(), phone()
        order = rng.random()
        if order < 0.4:
            text = f"{nm} {ph} {addr}"
        elif order < 0.8:
            text = f"{addr} {nm} {ph}"
        elif order < 0.9:
            text = f"{nm}，{ph}，{addr}"
        else:
            text = addr
            nm = ph = "-"
        emit(st, text, gp, gc, gk, nm, ph)
# Cities without counties: city + town.
for code in sorted(units):
    u = units[code]
    if u["level"] == 2 and "nocounty" in u["flags"]:
        prov = units[u["parent"]]
        for town in ("东城街道", "长安镇", "那大镇", "石岐街道", "新城镇"):
            emit("nocounty", f"{prov['name']}{u['name']}{town}{detail()} {person()} {phone()}", prov["name"], u["name"], None)
