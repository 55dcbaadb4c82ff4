//! Specification of carrier selection, on a merchant shipping from a Hangzhou warehouse.

use super::*;
use crate::package::DimsMm;
use crate::province::p;
use crate::rates::{Amount, Applies, Surcharge, Zone};

const JZH: [&str; 3] = ["浙江", "江苏", "上海"];
const REMOTE: [&str; 2] = ["新疆", "西藏"];

fn provinces(names: &[&str]) -> Vec<Province> {
    names.iter().map(|s| p(s)).collect()
}

/// Every province except the named ones (the "全国" zone).
fn rest(except: &[&str]) -> Vec<Province> {
    let except = provinces(except);
    Province::all().filter(|x| !except.contains(x)).collect()
}

fn zone(name: &str, provinces: Vec<Province>, first_fen: i64, step_fen: i64) -> Zone {
    Zone {
        name: name.into(),
        provinces,
        first_g: 1000,
        first_fen: Fen(first_fen),
        step_g: 1000,
        step_fen: Fen(step_fen),
    }
}

fn table(carrier: Carrier, zones: Vec<Zone>) -> RateTable {
    RateTable {
        carrier,
        name: format!("{carrier} 杭州仓"),
        zones,
        volumetric_divisor: Some(8000),
        max_g: None,
        surcharges: vec![],
    }
}

fn cold_surcharge(fen: i64) -> Surcharge {
    Surcharge {
        name: "冷链附加费".into(),
        applies: Applies::Tag {
            tag: Tag::ColdChain,
        },
        amount: Amount::Flat(Fen(fen)),
    }
}

fn hangzhou() -> RuleSet {
    let all_but = |x: &[&str]| rest(x);
    let mut sf = table(
        Carrier::Sf,
        vec![
            zone("江浙沪", provinces(&JZH), 1200, 200),
            zone(
                "全国",
                all_but(&[&JZH[..], &REMOTE[..]].concat()),
                1800,
                500,
            ),
            zone("偏远", provinces(&REMOTE), 2300, 1500),
        ],
    );
    sf.volumetric_divisor = Some(6000);
    sf.surcharges.push(cold_surcharge(800));
    let mut jd = table(
        Carrier::Jd,
        vec![zone("全国", Province::all().collect(), 1500, 400)],
    );
    jd.surcharges.push(cold_surcharge(600));
    let mut dbky = table(
        Carrier::Dbky,
        vec![zone("全国", Province::all().collect(), 0, 0)],
    );
    // 快运: a minimum charge covering 30 kg, then ¥1 per kg.
    dbky.zones[0].first_g = 30_000;
    dbky.zones[0].first_fen = Fen(4000);
    dbky.zones[0].step_fen = Fen(100);
    RuleSet {
        name: "杭州仓 2026".into(),
        tables: vec![
            table(
                Carrier::Yunda,
                vec![
                    zone("江浙沪", provinces(&JZH), 250, 100),
                    zone("全国", all_but(&[&JZH[..], &REMOTE[..]].concat()), 400, 200),
                    zone("偏远", provinces(&REMOTE), 1200, 1000),
                ],
            ),
            // ZTO has no remote zone: it cannot price 新疆 or 西藏.
            table(
                Carrier::Zto,
                vec![
                    zone("江浙沪", provinces(&JZH), 280, 100),
                    zone("全国", all_but(&[&JZH[..], &REMOTE[..]].concat()), 380, 220),
                ],
            ),
            sf,
            jd,
            dbky,
        ],
        transit: vec![
            Transit {
                carrier: Carrier::Yunda,
                provinces: provinces(&JZH),
                days: 1,
            },
            Transit {
                carrier: Carrier::Yunda,
                provinces: vec![],
                days: 3,
            },
            Transit {
                carrier: Carrier::Zto,
                provinces: provinces(&JZH),
                days: 1,
            },
            Transit {
                carrier: Carrier::Zto,
                provinces: vec![],
                days: 3,
            },
            Transit {
                carrier: Carrier::Sf,
                provinces: vec![],
                days: 2,
            },
            Transit {
                carrier: Carrier::Jd,
                provinces: vec![],
                days: 2,
            },
            Transit {
                carrier: Carrier::Dbky,
                provinces: vec![],
                days: 4,
            },
        ],
        rules: vec![
            Rule::ExcludeDestinations {
                carriers: vec![Carrier::Yunda],
                provinces: provinces(&REMOTE),
            },
            Rule::TagRequires {
                tag: Tag::ColdChain,
                carriers: vec![Carrier::Sf, Carrier::Jd],
            },
            Rule::TagExcludes {
                tag: Tag::Fragile,
                carriers: vec![Carrier::Yunda, Carrier::Zto],
            },
            Rule::WeightBand {
                carriers: vec![Carrier::Dbky],
                min_g: Some(20_000),
                max_g: None,
            },
            Rule::WeightBand {
                carriers: vec![Carrier::Yunda, Carrier::Zto],
                min_g: None,
                max_g: Some(30_000),
            },
        ],
        goal: Goal::Cheapest,
        shop_defaults: BTreeMap::from([
            ("shop-sf".to_owned(), Carrier::Sf),
            ("shop-zto".to_owned(), Carrier::Zto),
        ]),
    }
}

fn pkg(id: &str, dest: &str, g: u32) -> Package {
    Package::new(id, "shop-1", p(dest), g)
}

fn rule_index(e: &Excluded) -> Option<usize> {
    match e {
        Excluded::Rule { index, .. } => Some(*index),
        Excluded::Unpriceable { .. } => None,
    }
}

#[test]
fn the_example_rule_set_is_valid() {
    assert_eq!(hangzhou().validate(), Ok(()));
}

#[test]
fn cheapest_allowed_carrier_wins_with_its_price() {
    let c = hangzhou().choose(&pkg("P1", "浙江", 1200));
    assert_eq!(c.chosen, Some(Carrier::Yunda));
    assert_eq!(c.decided_by, Decision::Cheapest);
    // 首重 ¥2.50 + one started kilogram of 续重 at ¥1.00.
    assert_eq!(c.quote().unwrap().total, Fen(350));
    let order: Vec<(Carrier, Fen)> = c.considered.iter().map(|o| (o.carrier, o.total)).collect();
    assert_eq!(
        order,
        [
            (Carrier::Yunda, Fen(350)),
            (Carrier::Zto, Fen(380)),
            (Carrier::Sf, Fen(1400)),
            (Carrier::Jd, Fen(1900)),
        ]
    );
    // 快运 is kept out by its weight band (rule #4).
    assert_eq!(
        c.why_not(Carrier::Dbky)
            .iter()
            .map(|e| rule_index(e))
            .collect::<Vec<_>>(),
        [Some(4)]
    );
}

#[test]
fn cold_chain_goes_only_with_cold_chain_carriers_and_pays_the_surcharge() {
    let c = hangzhou().choose(&pkg("P2", "广东", 1500).with_tag(Tag::ColdChain));
    // SF: 1800 + 500 + 800 = 3100; JD: 1500 + 400 + 600 = 2500.
    assert_eq!(c.chosen, Some(Carrier::Jd));
    assert_eq!(c.quote().unwrap().total, Fen(2500));
    assert_eq!(c.considered[1].total, Fen(3100));
    for carrier in [Carrier::Yunda, Carrier::Zto] {
        assert_eq!(
            c.why_not(carrier)
                .iter()
                .map(|e| rule_index(e))
                .collect::<Vec<_>>(),
            [Some(2)]
        );
    }
    // Every rule that stands in a carrier's way is reported, not just the first.
    assert_eq!(
        c.why_not(Carrier::Dbky)
            .iter()
            .map(|e| rule_index(e))
            .collect::<Vec<_>>(),
        [Some(2), Some(4)]
    );
}

#[test]
fn destination_exclusions_and_unpriceable_destinations_are_told_apart() {
    let c = hangzhou().choose(&pkg("P3", "新疆", 800));
    assert_eq!(
        c.chosen,
        Some(Carrier::Jd),
        "JD ¥15.00 beats SF's remote ¥23.00"
    );
    assert_eq!(
        c.why_not(Carrier::Yunda),
        [&Excluded::Rule {
            index: 1,
            rule: "YUNDA not to 新疆, 西藏".into()
        }]
    );
    assert_eq!(
        c.why_not(Carrier::Zto),
        [&Excluded::Unpriceable {
            error: RateError::NoZone {
                carrier: Carrier::Zto,
                province: p("新疆")
            }
        }]
    );
}

#[test]
fn fragile_goods_avoid_the_excluded_carriers() {
    let c = hangzhou().choose(&pkg("P4", "上海", 900).with_tag(Tag::Fragile));
    assert_eq!(c.chosen, Some(Carrier::Sf));
    assert_eq!(c.why_not(Carrier::Yunda).len(), 1);
    assert_eq!(c.why_not(Carrier::Zto).len(), 1);
}

#[test]
fn heavy_goods_go_to_freight_when_it_is_cheaper() {
    // 25 kg to 广东: Yunda 400 + 24 × 200 = 5200; ZTO 380 + 24 × 220 = 5660; 德邦快运 ¥40 minimum.
    let c = hangzhou().choose(&pkg("P5", "广东", 25_000));
    assert_eq!(c.chosen, Some(Carrier::Dbky));
    assert_eq!(c.quote().unwrap().total, Fen(4000));
    // 35 kg: express is out by rule #5; freight charges 4000 + 5 × 100.
    let c = hangzhou().choose(&pkg("P6", "广东", 35_000));
    assert_eq!(c.chosen, Some(Carrier::Dbky));
    assert_eq!(c.quote().unwrap().total, Fen(4500));
    assert_eq!(
        c.why_not(Carrier::Yunda)
            .iter()
            .map(|e| rule_index(e))
            .collect::<Vec<_>>(),
        [Some(5)]
    );
}

#[test]
fn volumetric_weight_can_change_the_choice() {
    // A light but big box: 600 × 400 × 400 mm = 96 000 cm³.
    // Yunda (÷8000) charges 12 kg: 400 + 11 × 200 = 2600. JD 12 kg: 1500 + 11 × 400 = 5900.
    // SF (÷6000) charges 16 kg: 1800 + 15 × 500 = 9300.
    let big = pkg("P7", "广东", 2000).with_dims(DimsMm::new(600, 400, 400).unwrap());
    let c = hangzhou().choose(&big);
    assert_eq!(c.chosen, Some(Carrier::Yunda));
    let q = c.quote().unwrap();
    assert_eq!((q.chargeable_g, q.total), (12_000, Fen(2600)));
    let sf = c
        .considered
        .iter()
        .find(|o| o.carrier == Carrier::Sf)
        .unwrap();
    assert_eq!((sf.quote.chargeable_g, sf.total), (16_000, Fen(9300)));
}

#[test]
fn fastest_goal_ranks_by_days_then_price() {
    let mut rules = hangzhou();
    rules.goal = Goal::Fastest;
    // To 广东: SF and JD 2 days, Yunda and ZTO 3 days. JD (¥19.00) vs SF (¥23.00) for 1.5 kg.
    let c = rules.choose(&pkg("P8", "广东", 1500));
    assert_eq!(c.decided_by, Decision::Fastest);
    let order: Vec<Carrier> = c.considered.iter().map(|o| o.carrier).collect();
    assert_eq!(
        order,
        [Carrier::Jd, Carrier::Sf, Carrier::Yunda, Carrier::Zto]
    );
    // Within 江浙沪 Yunda and ZTO are next-day: the cheaper of them wins.
    assert_eq!(
        rules.choose(&pkg("P9", "江苏", 1500)).chosen,
        Some(Carrier::Yunda)
    );
}

#[test]
fn unknown_transit_time_ranks_last_for_fastest() {
    let mut rules = hangzhou();
    rules.goal = Goal::Fastest;
    rules.transit.retain(|t| t.carrier != Carrier::Jd);
    let c = rules.choose(&pkg("P10", "广东", 1500));
    assert_eq!(
        c.considered.last().map(|o| (o.carrier, o.days)),
        Some((Carrier::Jd, None))
    );
}

#[test]
fn shop_default_wins_when_the_rules_allow_it() {
    let mut p = pkg("P11", "浙江", 1200);
    p.shop = "shop-sf".into();
    let c = hangzhou().choose(&p);
    assert_eq!(
        (c.chosen, c.decided_by),
        (Some(Carrier::Sf), Decision::ShopDefault)
    );
    assert_eq!(c.shop_default, Some(Carrier::Sf));
    assert_eq!(
        c.considered[1].carrier,
        Carrier::Yunda,
        "the rest stay in the goal's order"
    );
}

#[test]
fn an_excluded_shop_default_falls_back_to_the_goal_and_says_so() {
    let mut p = pkg("P12", "浙江", 1200).with_tag(Tag::Fragile);
    p.shop = "shop-zto".into();
    let c = hangzhou().choose(&p);
    assert_eq!(
        (c.chosen, c.decided_by),
        (Some(Carrier::Sf), Decision::Cheapest)
    );
    assert_eq!(c.shop_default, Some(Carrier::Zto));
    assert!(
        c.to_string().contains("shop default ZTO was excluded"),
        "{c}"
    );
}

#[test]
fn no_allowed_carrier_is_a_decision_too() {
    let mut rules = hangzhou();
    rules.rules.push(Rule::ShopOnly {
        shop: "shop-1".into(),
        carriers: vec![Carrier::Ems],
    });
    let c = rules.choose(&pkg("P13", "浙江", 1200));
    assert_eq!((c.chosen, c.decided_by), (None, Decision::NoCarrier));
    assert!(c.quote().is_none());
    assert_eq!(
        c.excluded.len(),
        5 + 1,
        "every carrier by rule #6, Dbky also by #4"
    );
    assert!(c.to_string().starts_with("package P13: no carrier allowed"));
}

#[test]
fn the_explanation_reads_as_a_report() {
    let c = hangzhou().choose(&pkg("P14", "新疆", 800));
    assert_eq!(
        c.to_string(),
        "package P14: JD (cheapest allowed)\n\
         \x20 price: JD JD 杭州仓, zone 全国: charged 800 g (actual); 首重 1000 g ¥15.00 = ¥15.00; total ¥15.00\n\
         \x20 also allowed: SF ¥23.00 (2 days)\n\
         \x20 excluded YUNDA: rule #1 (YUNDA not to 新疆, 西藏)\n\
         \x20 excluded ZTO: ZTO has no rate for 新疆\n\
         \x20 excluded DBKY: rule #4 (DBKY only for ≥ 20000 g)\n"
    );
}

#[test]
fn choices_serialise_for_the_api() {
    let c = hangzhou().choose(&pkg("P15", "新疆", 800));
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["chosen"], "JD");
    assert_eq!(v["decided_by"], "cheapest");
    assert_eq!(
        v["excluded"][0],
        serde_json::json!({
            "carrier": "YUNDA",
            "reason": {"by": "rule", "index": 1, "rule": "YUNDA not to 新疆, 西藏"}
        })
    );
    assert_eq!(v["considered"][0]["quote"]["chargeable_g"], 800);
    assert_eq!(
        v["excluded"][1]["reason"],
        serde_json::json!({"by": "unpriceable", "error": {"kind": "no_zone", "carrier": "ZTO", "province": "65"}})
    );
}

#[test]
fn validation_rejects_unusable_rule_sets() {
    let mut rules = hangzhou();
    rules.tables.push(rules.tables[0].clone());
    assert_eq!(
        rules.validate(),
        Err(SelectionError::DuplicateTable {
            set: "杭州仓 2026".into(),
            carrier: Carrier::Yunda
        })
    );
    let mut rules = hangzhou();
    rules.rules.push(Rule::WeightBand {
        carriers: vec![Carrier::Sf],
        min_g: Some(5),
        max_g: Some(1),
    });
    assert!(matches!(
        rules.validate(),
        Err(SelectionError::BadRule { index: 6, .. })
    ));
    let mut rules = hangzhou();
    rules.tables[0].zones[0].step_g = 0;
    assert!(matches!(
        rules.validate(),
        Err(SelectionError::Table { .. })
    ));
}

#[test]
fn rule_sets_load_from_json() {
    let json = r#"{
        "name": "简单",
        "goal": "fastest",
        "tables": [
            {"carrier": "ZTO", "name": "中通", "zones": [{"name": "全国", "provinces": ["浙江", "广东"],
             "first_g": 1000, "first_fen": 300, "step_g": 1000, "step_fen": 100}]},
            {"carrier": "SF", "name": "顺丰", "zones": [{"name": "全国", "provinces": ["浙江", "广东"],
             "first_g": 1000, "first_fen": 1200, "step_g": 1000, "step_fen": 200}]}
        ],
        "transit": [{"carrier": "SF", "days": 1}, {"carrier": "ZTO", "days": 3}],
        "rules": [{"rule": "tag_excludes", "tag": "易碎", "carriers": ["ZTO"]}],
        "shop_defaults": {"s1": "ZTO"}
    }"#;
    let rules: RuleSet = serde_json::from_str(json).unwrap();
    assert_eq!(rules.validate(), Ok(()));
    assert_eq!(
        rules
            .choose(&Package::new("a", "s2", p("广东"), 500))
            .chosen,
        Some(Carrier::Sf)
    );
    assert_eq!(
        rules
            .choose(&Package::new("b", "s1", p("广东"), 500))
            .chosen,
        Some(Carrier::Zto)
    );
}

// --- what-if --------------------------------------------------------------------------------

/// (package, carrier before, carrier after, price difference).
type Row<'a> = (&'a str, Option<Carrier>, Option<Carrier>, Option<Fen>);

fn week() -> Vec<Package> {
    vec![
        pkg("W1", "浙江", 1200),
        pkg("W2", "广东", 2500),
        pkg("W3", "新疆", 800),
        pkg("W4", "北京", 1000).with_tag(Tag::ColdChain),
    ]
}

#[test]
fn what_if_without_yunda_shows_the_extra_cost_per_package_and_in_total() {
    let current = hangzhou();
    let mut proposed = hangzhou();
    proposed.name = "不用韵达".into();
    proposed.tables.retain(|t| t.carrier != Carrier::Yunda);
    let w = compare(&week(), &current, &proposed);
    let rows: Vec<Row> = w
        .rows
        .iter()
        .map(|r| {
            (
                r.package_id.as_str(),
                r.before.map(|b| b.carrier),
                r.after.map(|a| a.carrier),
                r.delta,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // Yunda ¥3.50 → ZTO ¥3.80.
            (
                "W1",
                Some(Carrier::Yunda),
                Some(Carrier::Zto),
                Some(Fen(30))
            ),
            // Yunda 400 + 2 × 200 = ¥8.00 → ZTO 380 + 2 × 220 = ¥8.20.
            (
                "W2",
                Some(Carrier::Yunda),
                Some(Carrier::Zto),
                Some(Fen(20))
            ),
            ("W3", Some(Carrier::Jd), Some(Carrier::Jd), Some(Fen(0))),
            ("W4", Some(Carrier::Jd), Some(Carrier::Jd), Some(Fen(0))),
        ]
    );
    assert_eq!((w.compared, w.carrier_changed), (4, 2));
    assert_eq!(w.total_before, Fen(350 + 800 + 1500 + 2100));
    assert_eq!(w.delta, Fen(50));
    assert_eq!(w.mix_before[&Carrier::Yunda], 2);
    assert_eq!(w.mix_after.get(&Carrier::Yunda), None);
    assert_eq!(
        w.to_string(),
        "杭州仓 2026 → 不用韵达: 4 packages compared, ¥47.50 before, ¥48.00 after, difference ¥0.50\n\
         carrier changed for 2 packages; unpriced before 0, after 0\n\
         mix before: YUNDA 2, JD 2\n\
         mix after: ZTO 2, JD 2"
    );
}

#[test]
fn what_if_against_history_uses_recorded_amounts_and_reprices_the_rest() {
    let packages = week();
    let past = vec![
        PastPackage {
            package: packages[0].clone(),
            shipped_with: Some(Carrier::Sf),
            paid: Some(Fen(1300)),
        },
        PastPackage {
            package: packages[1].clone(),
            shipped_with: Some(Carrier::Zto),
            paid: None,
        },
        PastPackage {
            package: packages[2].clone(),
            shipped_with: None,
            paid: None,
        },
    ];
    let w = what_if(&past, &hangzhou());
    assert_eq!(w.before_name, "as shipped");
    let before: Vec<Option<(Carrier, Fen, PriceSource)>> = w
        .rows
        .iter()
        .map(|r| r.before.map(|b| (b.carrier, b.total, b.source)))
        .collect();
    assert_eq!(
        before,
        [
            Some((Carrier::Sf, Fen(1300), PriceSource::Recorded)),
            Some((Carrier::Zto, Fen(820), PriceSource::Repriced)),
            None,
        ]
    );
    // SF ¥13.00 → Yunda ¥3.50; ZTO ¥8.20 → Yunda ¥8.00; the third has no baseline.
    assert_eq!(w.rows[0].delta, Some(Fen(350 - 1300)));
    assert_eq!(w.rows[1].delta, Some(Fen(-20)));
    assert_eq!((w.compared, w.unpriced_before, w.unpriced_after), (2, 1, 0));
    assert_eq!(w.delta, Fen(350 + 800 - 1300 - 820));
}

// --- properties -----------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn any_package() -> impl Strategy<Value = Package> {
        let provinces: Vec<Province> = Province::all().collect();
        (
            proptest::sample::select(provinces),
            0u32..60_000,
            proptest::option::of((1u32..1500, 1u32..1500, 1u32..1500)),
            proptest::sample::select(vec!["shop-1", "shop-sf", "shop-zto"]),
            any::<(bool, bool)>(),
        )
            .prop_map(|(dest, g, dims, shop, (cold, fragile))| {
                let mut p = Package::new("X", shop, dest, g);
                if let Some((l, w, h)) = dims {
                    p = p.with_dims(DimsMm::new(l, w, h).unwrap());
                }
                if cold {
                    p = p.with_tag(Tag::ColdChain);
                }
                if fragile {
                    p = p.with_tag(Tag::Fragile);
                }
                p
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_carrier_is_either_considered_or_excluded_with_a_reason(p in any_package()) {
            let rules = hangzhou();
            let c = rules.choose(&p);
            for t in &rules.tables {
                let considered = c.considered.iter().any(|o| o.carrier == t.carrier);
                let excluded = !c.why_not(t.carrier).is_empty();
                prop_assert!(considered != excluded, "{} {c}", t.carrier);
            }
            if let Some(chosen) = c.chosen {
                prop_assert!(c.why_not(chosen).is_empty());
            }
        }

        #[test]
        fn cheapest_picks_the_lowest_total_unless_the_shop_default_wins(p in any_package()) {
            let c = hangzhou().choose(&p);
            if c.decided_by == Decision::Cheapest {
                let min = c.considered.iter().map(|o| o.total).min();
                prop_assert_eq!(c.quote().map(|q| q.total), min);
            }
        }

        #[test]
        fn a_heavier_package_never_costs_less(p in any_package(), extra in 0u32..10_000) {
            for t in &hangzhou().tables {
                let mut heavier = p.clone();
                heavier.weight_g += extra;
                if let (Ok(a), Ok(b)) = (t.quote(&p), t.quote(&heavier)) {
                    prop_assert!(b.total >= a.total, "{a} vs {b}");
                    prop_assert!(a.chargeable_g >= u64::from(p.weight_g));
                    prop_assert_eq!(a.total, a.freight + a.surcharges.iter().map(|s| s.fen).sum());
                }
            }
        }
    }
}
