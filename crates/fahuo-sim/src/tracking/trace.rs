//! Parcel trace generation: a deterministic, realistic timeline of scan events for one tracking
//! number, from pickup through hubs to one of several endings.
//!
//! The timeline is carrier-neutral ([`Stage`]); the kuaidi100 and kdniao emulators map each stage
//! to their own state codes. Every event has a time; it becomes *visible* only once the sim clock
//! has passed it, so moving the clock is what makes a parcel travel.
//!
//! The path (pickup, hubs, arrival in the delivery city) and the ending are drawn from two
//! separate generators seeded from (seed, number): forcing another scenario for a number changes
//! only its ending, so what a client has already seen stays true.

use crate::util::Rng;
use crate::waybill::carrier::Carrier;
use serde::{Deserialize, Serialize};

/// How a parcel's journey ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Signed by the receiver (most parcels).
    Signed,
    /// Signed by someone else (代签: 门卫, 前台, family).
    Proxy,
    /// Put in a locker or a station (投柜/驿站), then picked up there (驿站签收).
    Locker,
    /// A delivery problem (疑难: 地址不详, 滞留); about half of them resolve and are signed.
    Problem,
    /// Refused (拒签), sent back and signed by the sender (退签).
    RefusedReturn,
    /// Events stop somewhere in transit: the stale-parcel radar's case.
    Stuck,
    /// Never picked up: no event at all.
    NeverPickedUp,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Signed,
        Scenario::Proxy,
        Scenario::Locker,
        Scenario::Problem,
        Scenario::RefusedReturn,
        Scenario::Stuck,
        Scenario::NeverPickedUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Signed => "signed",
            Scenario::Proxy => "proxy",
            Scenario::Locker => "locker",
            Scenario::Problem => "problem",
            Scenario::RefusedReturn => "refused_return",
            Scenario::Stuck => "stuck",
            Scenario::NeverPickedUp => "never_picked_up",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The scenario a number gets when none is forced: a fixed mix, decided by (seed, number).
    pub fn pick(seed: u64, number: &str) -> Scenario {
        match fnv(seed, number, 0x5CE) % 100 {
            0..62 => Scenario::Signed,
            62..72 => Scenario::Proxy,
            72..84 => Scenario::Locker,
            84..90 => Scenario::Problem,
            90..94 => Scenario::RefusedReturn,
            94..97 => Scenario::Stuck,
            _ => Scenario::NeverPickedUp,
        }
    }
}

/// What one trace line means, before an aggregator gives it a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    PickedUp,
    /// Left an outlet or a hub.
    Departed,
    /// Arrived at a hub.
    Arrived,
    /// Arrived at the delivering outlet (到达派件城市).
    ArrivedCity,
    OutForDelivery,
    /// Put in a locker or a station (投柜/驿站).
    InLocker,
    Signed,
    SignedProxy,
    SignedLocker,
    /// Signed after a delivery problem (派件异常后签收).
    SignedAfterProblem,
    Problem,
    Refused,
    Returning,
    /// Returned and signed by the sender (退签).
    ReturnSigned,
}

impl Stage {
    /// Whether nothing follows: the parcel reached its receiver or came back to its sender.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Stage::Signed
                | Stage::SignedProxy
                | Stage::SignedLocker
                | Stage::SignedAfterProblem
                | Stage::ReturnSigned
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Unix milliseconds; visible once the sim clock passes it.
    pub at_ms: i64,
    pub stage: Stage,
    /// The line as the carrier writes it, e.g. `【杭州市】快件已由【杭州西湖区文三路网点】揽收`.
    pub context: String,
    pub province: String,
    pub city: String,
    /// GB/T 2260 six-digit code of the city (empty when the city is not in the table).
    pub adcode: String,
}

/// A city a parcel starts from or goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct City {
    pub province: String,
    pub city: String,
    pub adcode: String,
    pub districts: Vec<String>,
}

/// (province, city, GB/T 2260 code, districts). Small on purpose: enough for plausible traces.
const CITIES: &[(&str, &str, &str, &[&str])] = &[
    (
        "浙江省",
        "杭州市",
        "330100",
        &["西湖区", "拱墅区", "余杭区", "滨江区"],
    ),
    (
        "上海市",
        "上海市",
        "310100",
        &["浦东新区", "徐汇区", "闵行区", "静安区"],
    ),
    (
        "北京市",
        "北京市",
        "110100",
        &["朝阳区", "海淀区", "丰台区", "东城区"],
    ),
    (
        "广东省",
        "广州市",
        "440100",
        &["天河区", "越秀区", "白云区", "番禺区"],
    ),
    (
        "广东省",
        "深圳市",
        "440300",
        &["南山区", "福田区", "宝安区", "龙岗区"],
    ),
    (
        "江苏省",
        "南京市",
        "320100",
        &["鼓楼区", "玄武区", "江宁区"],
    ),
    (
        "江苏省",
        "苏州市",
        "320500",
        &["姑苏区", "吴中区", "相城区"],
    ),
    (
        "四川省",
        "成都市",
        "510100",
        &["武侯区", "锦江区", "成华区"],
    ),
    (
        "湖北省",
        "武汉市",
        "420100",
        &["江汉区", "洪山区", "武昌区"],
    ),
    (
        "陕西省",
        "西安市",
        "610100",
        &["雁塔区", "碑林区", "未央区"],
    ),
    (
        "重庆市",
        "重庆市",
        "500100",
        &["渝中区", "江北区", "沙坪坝区"],
    ),
    (
        "湖南省",
        "长沙市",
        "430100",
        &["岳麓区", "芙蓉区", "雨花区"],
    ),
    (
        "河南省",
        "郑州市",
        "410100",
        &["金水区", "二七区", "中原区"],
    ),
    (
        "山东省",
        "济南市",
        "370100",
        &["历下区", "市中区", "槐荫区"],
    ),
    ("福建省", "厦门市", "350200", &["思明区", "湖里区"]),
    (
        "天津市",
        "天津市",
        "120100",
        &["和平区", "南开区", "河西区"],
    ),
    ("辽宁省", "沈阳市", "210100", &["和平区", "沈河区"]),
    ("云南省", "昆明市", "530100", &["五华区", "盘龙区"]),
    ("安徽省", "合肥市", "340100", &["蜀山区", "包河区"]),
];

/// Hubs that long-distance parcels pass through between the two ends.
const TRUNK: &[&str] = &["上海", "武汉", "郑州", "广州", "南京"];
const STREETS: &[&str] = &[
    "文三路",
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "长江路",
    "和平路",
    "新华路",
];
const SURNAMES: &[&str] = &["张", "王", "李", "刘", "陈", "杨", "赵", "黄", "周", "吴"];

impl City {
    /// The merchant's city when nothing else is known (the e-waybill accounts are in 杭州西湖).
    pub fn default_origin() -> City {
        City::named("杭州市")
    }

    /// A city by name (`杭州`, `杭州市`); one outside the table keeps its name and gets no code.
    pub fn named(name: &str) -> City {
        let want = short(name);
        match CITIES.iter().find(|c| short(c.1) == want) {
            Some((p, c, code, ds)) => City {
                province: p.to_string(),
                city: c.to_string(),
                adcode: code.to_string(),
                districts: ds.iter().map(|d| d.to_string()).collect(),
            },
            None => City {
                province: String::new(),
                city: if name.ends_with('市') || name.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}市")
                },
                adcode: String::new(),
                // No district known: outlets are then named after the city and street alone.
                districts: vec![String::new()],
            },
        }
    }

    /// A city from the table, chosen by `h`.
    pub fn nth(h: u64) -> City {
        City::named(CITIES[(h % CITIES.len() as u64) as usize].1)
    }

    fn short(&self) -> &str {
        short(&self.city)
    }
}

fn short(name: &str) -> &str {
    name.strip_suffix('市').unwrap_or(name)
}

/// FNV-1a over the seed, a salt and the number: stable across runs and platforms.
pub fn fnv(seed: u64, number: &str, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.rotate_left(17) ^ salt;
    for b in number.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// What a trace is generated from.
pub struct TraceParams<'a> {
    pub carrier: Carrier,
    pub number: &'a str,
    /// When the merchant handed the parcel over (or booked the pickup); unix ms.
    pub ship_ms: i64,
    pub seed: u64,
    pub origin: &'a City,
    pub dest: &'a City,
    pub scenario: Scenario,
}

struct Builder<'a> {
    events: Vec<TraceEvent>,
    t: i64,
    p: &'a TraceParams<'a>,
}

impl Builder<'_> {
    fn add(&mut self, stage: Stage, at: &City, context: String) {
        self.events.push(TraceEvent {
            at_ms: self.t,
            stage,
            context: format!("【{}】{context}", at.city),
            province: at.province.clone(),
            city: at.city.clone(),
            adcode: at.adcode.clone(),
        });
    }

    /// Moves time on by `lo..hi` hours, in whole minutes with some seconds, like real scans.
    fn wait(&mut self, rng: &mut Rng, lo_h: i64, hi_h: i64) {
        self.t += rng.range(lo_h * 60, hi_h * 60) * 60_000 + rng.range(0, 60) * 1000;
    }

    /// Delivery rounds start in the morning: past 17:00 or before 07:00 Beijing time, wait for
    /// the next day's first round.
    fn next_round(&mut self, rng: &mut Rng) {
        let local_s = (self.t / 1000 + 8 * 3600).rem_euclid(86_400);
        let hour = local_s / 3600;
        if !(7..17).contains(&hour) {
            let to_midnight = if hour >= 17 {
                86_400 - local_s
            } else {
                -local_s
            };
            self.t += (to_midnight + rng.range(7 * 3600 + 1800, 10 * 3600)) * 1000;
        } else {
            self.wait(rng, 1, 3);
        }
    }

    fn hub(&self, city: &str) -> String {
        format!("{}{}", short(city), self.p.carrier.codes().hub_word)
    }

    fn outlet(&self, c: &City, rng: &mut Rng) -> String {
        let word = if self.p.carrier.codes().direct {
            "营业部"
        } else {
            "网点"
        };
        let d = rng.pick(&c.districts);
        format!("{}{d}{}{word}", c.short(), rng.pick(STREETS))
    }
}

fn courier(rng: &mut Rng) -> (String, String) {
    let name = format!("{}师傅", rng.pick(SURNAMES));
    let phone = format!(
        "1{}{}****{}",
        rng.range(3, 10),
        rng.below(10),
        rng.digits(4)
    );
    (name, phone)
}

/// The whole timeline of a parcel, oldest first (empty for [`Scenario::NeverPickedUp`]).
pub fn generate(p: &TraceParams<'_>) -> Vec<TraceEvent> {
    if p.scenario == Scenario::NeverPickedUp {
        return Vec::new();
    }
    let mut rng = Rng::new(fnv(p.seed, p.number, 0x9A7));
    let mut b = Builder {
        events: Vec::new(),
        t: p.ship_ms,
        p,
    };
    let (o, d) = (p.origin, p.dest);
    // Pickup 2-20 h after the parcel was handed over; couriers do not collect between
    // midnight and 07:00, so a pickup that would fall there moves to the morning round (still
    // within the 20 h).
    b.wait(&mut rng, 2, 20);
    let local_s = (b.t / 1000 + 8 * 3600).rem_euclid(86_400);
    if local_s < 7 * 3600 {
        let morning = b.t + (7 * 3600 - local_s + rng.range(0, 5400)) * 1000;
        b.t = morning.min(p.ship_ms + 20 * 3_600_000);
    }
    let outlet_o = b.outlet(o, &mut rng);
    b.add(Stage::PickedUp, o, format!("快件已由【{outlet_o}】揽收"));
    let hub_o = b.hub(&o.city);
    b.wait(&mut rng, 1, 4);
    b.add(
        Stage::Departed,
        o,
        format!("快件离开【{outlet_o}】，已发往【{hub_o}】"),
    );
    b.wait(&mut rng, 1, 3);
    b.add(Stage::Arrived, o, format!("快件已到达【{hub_o}】"));
    let hub_d = b.hub(&d.city);
    if hub_d != hub_o {
        // Long hauls between provinces sometimes pass a trunk hub.
        let via = if o.province != d.province && rng.chance(0.4) {
            let t = *rng.pick(TRUNK);
            (short(&o.city) != t && short(&d.city) != t).then(|| City::named(t))
        } else {
            None
        };
        let mut here = o.clone();
        let mut here_hub = hub_o.clone();
        if let Some(v) = via {
            let vh = b.hub(&v.city);
            b.wait(&mut rng, 1, 3);
            b.add(
                Stage::Departed,
                &here,
                format!("快件离开【{here_hub}】，已发往【{vh}】"),
            );
            b.wait(&mut rng, 6, 18);
            b.add(Stage::Arrived, &v, format!("快件已到达【{vh}】"));
            here = v;
            here_hub = vh;
        }
        b.wait(&mut rng, 1, 3);
        b.add(
            Stage::Departed,
            &here,
            format!("快件离开【{here_hub}】，已发往【{hub_d}】"),
        );
        b.wait(&mut rng, 8, 36);
        b.add(Stage::Arrived, d, format!("快件已到达【{hub_d}】"));
    }
    let outlet_d = b.outlet(d, &mut rng);
    b.wait(&mut rng, 1, 4);
    b.add(
        Stage::Departed,
        d,
        format!("快件离开【{hub_d}】，已发往【{outlet_d}】"),
    );
    b.wait(&mut rng, 2, 6);
    b.add(
        Stage::ArrivedCity,
        d,
        format!("快件已到达【{outlet_d}】，准备派送"),
    );

    // The ending has its own generator, so a forced scenario leaves the path above unchanged.
    let mut end = Rng::new(fnv(p.seed, p.number, 0xE4D));
    if p.scenario == Scenario::Stuck {
        // Stop somewhere after pickup, before the delivering outlet.
        let keep = end.range(1, b.events.len() as i64 - 1) as usize;
        b.events.truncate(keep.max(1));
        return b.events;
    }
    let (name, phone) = courier(&mut end);
    b.next_round(&mut end);
    b.add(
        Stage::OutForDelivery,
        d,
        format!("快递员 {name} 正在派件，电话 {phone}"),
    );
    match p.scenario {
        Scenario::Signed => {
            b.wait(&mut end, 1, 5);
            b.add(
                Stage::Signed,
                d,
                format!("已签收，签收人：本人，如有疑问请联系派件员 {name}，电话 {phone}"),
            );
        }
        Scenario::Proxy => {
            let who = *end.pick(&["门卫", "前台", "家人", "同事", "物业"]);
            b.wait(&mut end, 1, 5);
            b.add(
                Stage::SignedProxy,
                d,
                format!("已签收，签收人：{who}代签，如有疑问请联系派件员 {name}，电话 {phone}"),
            );
        }
        Scenario::Locker => {
            let station = if end.chance(0.5) {
                format!("{}{}菜鸟驿站", end.pick(&d.districts), end.pick(STREETS))
            } else {
                format!("{}{}丰巢智能柜", end.pick(&d.districts), end.pick(STREETS))
            };
            b.wait(&mut end, 1, 4);
            b.add(
                Stage::InLocker,
                d,
                format!(
                    "快件已投递至【{station}】，请凭取件码 {} 及时取件",
                    end.digits(6)
                ),
            );
            b.wait(&mut end, 3, 30);
            b.add(
                Stage::SignedLocker,
                d,
                format!("已签收，签收人：【{station}】代收，取件人已取件"),
            );
        }
        Scenario::Problem => {
            let why = *end.pick(&[
                "收件地址不详，无法派送",
                "收件人电话无人接听，快件滞留",
                "收件人要求改日派送，快件滞留",
            ]);
            b.wait(&mut end, 2, 5);
            b.add(Stage::Problem, d, format!("快件派送不成功，原因：{why}"));
            if end.chance(0.5) {
                let (name2, phone2) = courier(&mut end);
                b.wait(&mut end, 12, 20);
                b.next_round(&mut end);
                b.add(
                    Stage::OutForDelivery,
                    d,
                    format!("快递员 {name2} 正在派件，电话 {phone2}"),
                );
                b.wait(&mut end, 1, 4);
                b.add(
                    Stage::SignedAfterProblem,
                    d,
                    "已签收，签收人：本人".to_string(),
                );
            }
        }
        Scenario::RefusedReturn => {
            let why = *end.pick(&["不想要了", "商品与描述不符", "未订购此商品"]);
            b.wait(&mut end, 1, 3);
            b.add(
                Stage::Refused,
                d,
                format!("收件人拒收，拒收原因：{why}，快件将退回寄件人"),
            );
            b.wait(&mut end, 3, 8);
            b.add(
                Stage::Returning,
                d,
                format!("快件已退回，退回原因：收件人拒收，已发往【{hub_d}】"),
            );
            b.wait(&mut end, 20, 50);
            b.add(
                Stage::Returning,
                o,
                format!("退回件已到达【{outlet_o}】，准备派送给寄件人"),
            );
            b.wait(&mut end, 2, 20);
            b.add(
                Stage::ReturnSigned,
                o,
                "退回件已签收，签收人：寄件人本人".to_string(),
            );
        }
        Scenario::Stuck | Scenario::NeverPickedUp => {}
    }
    b.events
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn params(s: Scenario, number: &str) -> Vec<TraceEvent> {
        let (o, d) = (City::default_origin(), City::named("广州"));
        generate(&TraceParams {
            carrier: Carrier::Zto,
            number,
            ship_ms: 1_763_000_000_000,
            seed: 3,
            origin: &o,
            dest: &d,
            scenario: s,
        })
    }

    #[test]
    fn timelines_are_ordered_and_end_as_their_scenario_says() {
        for s in Scenario::ALL {
            for n in ["73100000000001", "73100000000002", "75999999999999"] {
                let ev = params(s, n);
                assert!(ev.windows(2).all(|w| w[0].at_ms < w[1].at_ms), "{s:?} {n}");
                let last = ev.last().map(|e| e.stage);
                match s {
                    Scenario::NeverPickedUp => assert!(ev.is_empty()),
                    Scenario::Signed => assert_eq!(last, Some(Stage::Signed)),
                    Scenario::Proxy => assert_eq!(last, Some(Stage::SignedProxy)),
                    Scenario::Locker => assert_eq!(last, Some(Stage::SignedLocker)),
                    Scenario::RefusedReturn => assert_eq!(last, Some(Stage::ReturnSigned)),
                    Scenario::Problem => assert!(matches!(
                        last,
                        Some(Stage::Problem | Stage::SignedAfterProblem)
                    )),
                    Scenario::Stuck => assert!(!last.is_some_and(Stage::is_final)),
                }
                if let Some(first) = ev.first() {
                    assert_eq!(first.stage, Stage::PickedUp);
                    let gap = first.at_ms - 1_763_000_000_000;
                    assert!((2 * HOUR..=20 * HOUR).contains(&gap));
                    assert!(first.context.starts_with("【杭州市】快件已由【杭州"));
                }
            }
        }
    }

    #[test]
    fn forcing_a_scenario_keeps_the_path() {
        let a = params(Scenario::Signed, "73100000000009");
        let b = params(Scenario::RefusedReturn, "73100000000009");
        let path = a
            .iter()
            .position(|e| e.stage == Stage::ArrivedCity)
            .expect("arrives");
        assert_eq!(a[..=path], b[..=path]);
        assert_eq!(a, params(Scenario::Signed, "73100000000009"));
    }

    #[test]
    fn the_mix_has_every_scenario() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..2000 {
            seen.insert(Scenario::pick(1, &format!("7310000{i:07}")));
        }
        assert_eq!(seen.len(), Scenario::ALL.len());
    }
}
