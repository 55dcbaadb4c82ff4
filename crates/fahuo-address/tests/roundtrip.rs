//! Property: for generated well-formed addresses, parse(format(x)) gives back x's name, phone,
//! province, city, county and detail.

use fahuo_address::{Division, Level, Parser};
use proptest::prelude::*;

const ROADS: [&str; 8] = [
    "人民路",
    "解放路",
    "建设路",
    "文化路",
    "新华路",
    "北京东路",
    "中山路",
    "陕西南路",
];
const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "欧阳", "黄"];
const GIVEN: [&str; 6] = ["伟", "芳", "秀英", "建国", "静", "小明"];

fn counties() -> &'static [&'static Division] {
    static C: std::sync::OnceLock<Vec<&'static Division>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        Parser::global()
            .divisions()
            .units
            .iter()
            .filter(|u| u.level == Level::County && !u.zone)
            .collect()
    })
}

#[derive(Debug, Clone)]
struct Case {
    county: usize,
    short_province: bool,
    short_city: bool,
    drop_province: bool,
    road: usize,
    number: u16,
    name: Option<(usize, usize)>,
    phone: Option<u64>,
    sep: &'static str,
    name_first: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..counties().len(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0..ROADS.len(),
        1u16..2000,
        proptest::option::of((0..SURNAMES.len(), 0..GIVEN.len())),
        proptest::option::of(0u64..100_000_000),
        prop_oneof![Just(" "), Just(","), Just("，"), Just("  ")],
        any::<bool>(),
    )
        .prop_map(
            |(county, sp, sc, dp, road, number, name, phone, sep, nf)| Case {
                county,
                short_province: sp,
                short_city: sc,
                drop_province: dp,
                road,
                number,
                name,
                phone,
                sep,
                name_first: nf,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn parse_format_round_trips(c in case()) {
        let d = Parser::global().divisions();
        let county = counties()[c.county];
        let [p, city, _] = d.ancestry(county.code);
        let p = p.unwrap();
        let mut addr = String::new();
        if !c.drop_province {
            let pn = if c.short_province { p.short_names.first().copied().unwrap_or(p.name) } else { p.name };
            addr.push_str(pn);
        }
        if let Some(city) = city {
            let cn = if c.short_city { city.short_names.first().copied().unwrap_or(city.name) } else { city.name };
            addr.push_str(cn);
        }
        addr.push_str(county.name);
        let detail = format!("{}{}号", ROADS[c.road], c.number);
        addr.push_str(&detail);
        let name = c.name.map(|(s, g)| format!("{}{}", SURNAMES[s], GIVEN[g]));
        let phone = c.phone.map(|n| format!("139{n:08}"));
        let mut parts: Vec<String> = Vec::new();
        if c.name_first {
            parts.extend(name.clone());
            parts.extend(phone.clone());
            parts.push(addr.clone());
        } else {
            parts.push(addr.clone());
            parts.extend(name.clone());
            parts.extend(phone.clone());
        }
        let input = parts.join(c.sep);
        let got = Parser::global().parse(&input);
        prop_assert_eq!(got.province, Some(p.name), "{}", input);
        let want_city = city.map(|c| c.name).unwrap_or(county.name);
        prop_assert_eq!(got.city, Some(want_city), "{}", input);
        prop_assert_eq!(got.county, Some(county.name), "{}", input);
        prop_assert_eq!(got.detail, detail, "{}", input);
        prop_assert_eq!(got.name.as_deref(), name.as_deref(), "{}", input);
        prop_assert_eq!(got.phone.as_deref(), phone.as_deref(), "{}", input);
    }
}
