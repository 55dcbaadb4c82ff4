//! Specification of tracking-number handling: normalisation, formats, check digits, detection,
//! the wrong-carrier check and the JSON-lines stream.

use super::*;
use proptest::prelude::*;

fn carriers(d: &Detection) -> Vec<Carrier> {
    d.candidates.iter().map(|c| c.carrier).collect()
}

// --- normalisation --------------------------------------------------------------------------

#[test]
fn normalisation_trims_removes_spaces_and_dashes_and_upper_cases() {
    assert_eq!(normalize("  sf1385628716739 "), "SF1385628716739");
    assert_eq!(normalize("7732-7702-7280-336"), "773277027280336");
    assert_eq!(normalize("JT 5261 9880 16578"), "JT5261988016578");
    assert_eq!(normalize("yt\t8962646785389\r\n"), "YT8962646785389");
    assert_eq!(
        normalize("7732–7702—7280"),
        "773277027280",
        "en and em dashes too"
    );
}

#[test]
fn normalisation_folds_full_width_characters() {
    // Typed with a Chinese input method in full-width mode.
    assert_eq!(
        normalize("ＳＦ１３８５６２８７１６７３９"),
        "SF1385628716739"
    );
    assert_eq!(
        normalize("ｊｄｘ０２４４０７２６１７００"),
        "JDX024407261700"
    );
    assert_eq!(
        normalize("ＤＰＫ２０２２５２６１２８３６－００１"),
        "DPK202252612836001"
    );
    assert_eq!(normalize("YT\u{3000}8962646785389"), "YT8962646785389");
}

#[test]
fn parse_rejects_what_is_not_a_number_with_a_reason() {
    assert_eq!(TrackingNo::parse(""), Err(TrackingNoError::Empty));
    assert_eq!(
        TrackingNo::parse(" - \u{3000}"),
        Err(TrackingNoError::Empty)
    );
    assert_eq!(
        TrackingNo::parse("SF13856/28716739"),
        Err(TrackingNoError::BadChar { ch: '/', index: 7 })
    );
    assert_eq!(
        TrackingNo::parse("顺丰SF1385628716739"),
        Err(TrackingNoError::BadChar {
            ch: '顺', index: 0
        })
    );
    assert_eq!(
        TrackingNo::parse("12345"),
        Err(TrackingNoError::TooShort { len: 5 })
    );
    assert_eq!(
        TrackingNo::parse(&"1".repeat(41)),
        Err(TrackingNoError::TooLong { len: 41 })
    );
    assert!(TrackingNo::parse(&"1".repeat(40)).is_ok());
}

#[test]
fn tracking_numbers_deserialise_through_parse() {
    let n: TrackingNo = serde_json::from_str("\"sf 1385-6287-16739\"").unwrap();
    assert_eq!(n.as_str(), "SF1385628716739");
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"SF1385628716739\"");
    assert!(serde_json::from_str::<TrackingNo>("\"\"").is_err());
}

// --- patterns -------------------------------------------------------------------------------

#[test]
fn patterns_print_as_regexes() {
    let shown: Vec<String> = rules_for(Carrier::Sto)
        .map(|r| r.pattern.to_string())
        .collect();
    assert_eq!(
        shown,
        ["^77\\d{13}$", "^(77|43)\\d{12,15}$", "^(88|99)\\d{13}$"]
    );
    let zto = rules_for(Carrier::Zto).next().unwrap();
    assert_eq!(zto.pattern.to_string(), "^7[3-68]\\d{12}$");
}

#[test]
fn variable_runs_backtrack() {
    // Digits(11, 24) must give back digits so nothing is left over, and refuse letters.
    let p = Pattern(&[Seg::Lit("DPK"), Seg::Digits(11, 24)]);
    assert!(p.matches("DPK20225261283"));
    assert!(p.matches("DPK202252612836001"));
    assert!(!p.matches("DPK2022526128"));
    assert!(!p.matches("DPK20225261283A"));
    let q = Pattern(&[Seg::Alnum(1, 3), Seg::Lit("X")]);
    assert!(q.matches("ABX") && q.matches("AXX") && !q.matches("ABCDX"));
}

#[test]
fn every_example_in_the_rule_table_is_accepted_by_its_rule() {
    for r in RULES {
        if let Some(ex) = r.example {
            let n = TrackingNo::parse(ex).unwrap();
            assert!(r.accepts(&n), "{ex} vs {}", r.pattern);
        }
    }
}

/// A real-looking number for every rule (the reference's own example where it gives one).
const EXAMPLES: [(&str, Carrier); 30] = [
    ("SF1385628716739", Carrier::Sf),
    ("SFB012345678901", Carrier::Sf),
    ("73610555582883", Carrier::Zto),
    ("773277027280336", Carrier::Sto),
    ("7712345678901234", Carrier::Sto),
    ("881234567890123", Carrier::Sto),
    ("YT8962646785389", Carrier::Yto),
    ("Y123456789012", Carrier::Yto),
    ("88AB12345678901234", Carrier::Yto),
    ("YT2212345678901234", Carrier::YunExpress),
    ("463431409940372", Carrier::Yunda),
    ("5012345678901", Carrier::Yunda),
    ("JDX024407261700", Carrier::Jd),
    ("JDVA11408814483", Carrier::Jd),
    ("JT5261988016578", Carrier::Jtsd),
    ("JT526198801657", Carrier::Jtsd),
    ("EA123456785CN", Carrier::Ems),
    ("1207119765021", Carrier::Ems),
    ("5112345678901", Carrier::Ems),
    ("PA12345678901", Carrier::Ems),
    ("RR123456785CN", Carrier::Yzpy),
    ("2012345678901", Carrier::Yzpy),
    ("DPK202252612836", Carrier::Dbkd),
    ("DPK202252612836-001", Carrier::Dbkd),
    ("ZJS001234567890", Carrier::Zjs),
    ("A123456789012", Carrier::Zjs),
    ("4212345678", Carrier::Zjs),
    ("621234567890123", Carrier::Cnsd),
    ("71234567890123", Carrier::Best),
    ("sf 1023 5746 26292", Carrier::Sf),
];

#[test]
fn every_rule_is_specified_by_an_example() {
    for (number, carrier) in EXAMPLES {
        let d = detect(number).unwrap();
        assert!(
            carriers(&d).contains(&carrier),
            "{number}: {:?}",
            d.candidates
        );
        assert_eq!(validate(carrier, number), Ok(()), "{number}");
    }
    for r in RULES {
        let hit = EXAMPLES
            .iter()
            .any(|(n, _)| r.accepts(&TrackingNo::parse(n).unwrap()));
        assert!(hit, "no example for {} {}", r.carrier, r.pattern);
    }
}

#[test]
fn explain_lists_the_matching_rules_with_their_sources() {
    let n = TrackingNo::parse("433456789012345").unwrap();
    let m = explain(&n);
    let got: Vec<(Carrier, &str, u8)> = m
        .iter()
        .map(|r| (r.carrier, r.pattern.as_str(), r.score))
        .collect();
    assert_eq!(
        got,
        [
            (Carrier::Yunda, "^[34]\\d{14}$", 65),
            (Carrier::Sto, "^(77|43)\\d{12,15}$", 55),
        ]
    );
    assert!(m[0].source.starts_with("BF-zh/Courier-Validation"));
}

#[test]
fn confident_rules_are_letter_prefixed_or_check_digited() {
    // A rule that names a carrier alone must not fit pure digit strings.
    for r in RULES.iter().filter(|r| r.score >= CONFIDENT) {
        assert!(
            r.pattern.letter_prefix().is_some() || r.check.is_some(),
            "{} {}",
            r.carrier,
            r.pattern
        );
    }
}

// --- S10 ------------------------------------------------------------------------------------

#[test]
fn s10_check_digits_from_the_reference() {
    // address-and-tracking §0.4 and §4.2.
    assert_eq!(s10_check_digit("12345678"), Some(5));
    assert!(is_valid_s10("EA123456785CN"));
    assert!(
        !is_valid_s10("EA123456789CN"),
        "the commonly quoted example fails"
    );
    assert!(is_valid_s10("RB123456785GB"));
    assert!(!is_valid_s10("RB123456786US"));
}

#[test]
fn s10_special_remainders() {
    // 00000000: sum 0, 11 - 0 = 11 → 5.
    assert_eq!(s10_check_digit("00000000"), Some(5));
    // 00004000: sum 3·4 = 12 ≡ 1 (mod 11), 11 - 1 = 10 → 0.
    assert_eq!(s10_check_digit("00004000"), Some(0));
    // 00000001: sum 7, 11 - 7 = 4. 60000000: sum 48 ≡ 4, 11 - 4 = 7.
    assert_eq!(s10_check_digit("00000001"), Some(4));
    assert_eq!(s10_check_digit("60000000"), Some(7));
    assert_eq!(s10_check_digit("1234567"), None);
    assert_eq!(s10_check_digit("1234567X"), None);
}

// --- detection: letter-prefixed forms name one carrier ---------------------------------------

#[test]
fn prefixed_forms_give_one_confident_carrier() {
    let cases = [
        ("SF1385628716739", Carrier::Sf),
        ("sf1231231231234", Carrier::Sf), // Douyin's logisticsAdd sample
        ("SF1023574626292", Carrier::Sf),
        ("YT8962646785389", Carrier::Yto),
        ("JT5261988016578", Carrier::Jtsd),
        ("JDX024407261700", Carrier::Jd),
        ("JDVA11408814483", Carrier::Jd),
        ("DPK202252612836", Carrier::Dbkd),
        ("EA123456785CN", Carrier::Ems),
        ("YT2212345678901234", Carrier::YunExpress),
        ("ZJS001234567890", Carrier::Zjs),
    ];
    for (input, carrier) in cases {
        let d = detect(input).unwrap();
        assert_eq!(d.confident(), Some(carrier), "{input}: {:?}", d.candidates);
    }
}

#[test]
fn length_tells_yto_from_yunexpress() {
    assert_eq!(
        carriers(&detect("YT8962646785389").unwrap()),
        [Carrier::Yto]
    );
    assert_eq!(
        carriers(&detect("YT2212345678901234").unwrap()),
        [Carrier::YunExpress]
    );
    assert!(
        carriers(&detect("YT22123456789012").unwrap()).is_empty(),
        "YT + 14 fits nobody"
    );
}

#[test]
fn s10_service_indicator_separates_ems_from_china_post() {
    let ems = detect("EA123456785CN").unwrap();
    assert_eq!(ems.confident(), Some(Carrier::Ems));
    let post = detect("RR123456785CN").unwrap();
    assert_eq!(post.confident(), Some(Carrier::Yzpy));
    // A bad check digit fits no carrier.
    assert!(detect("EA123456789CN").unwrap().candidates.is_empty());
    // A foreign S10 item is not claimed by a Chinese carrier.
    assert!(detect("RB123456785GB").unwrap().candidates.is_empty());
}

// --- detection: all-digit forms give a ranked list --------------------------------------------

#[test]
fn the_sto_number_often_quoted_as_zto_is_sto() {
    // address-and-tracking §0.3.
    let d = detect("773012345678901").unwrap();
    assert_eq!(carriers(&d)[0], Carrier::Sto);
    assert!(!carriers(&d).contains(&Carrier::Zto));
    assert_eq!(
        d.confident(),
        None,
        "digits never name one carrier confidently"
    );
}

#[test]
fn digit_forms_from_the_reference_rank_the_expected_carrier_first() {
    let cases = [
        ("73610555582883", Carrier::Zto),
        ("773277027280336", Carrier::Sto),
        ("463431409940372", Carrier::Yunda),
        ("1207119765021", Carrier::Ems),
    ];
    for (input, first) in cases {
        let d = detect(input).unwrap();
        assert_eq!(
            d.candidates[0].carrier, first,
            "{input}: {:?}",
            d.candidates
        );
        assert!(d.candidates[0].score < CONFIDENT);
        assert_eq!(d.confident(), None);
    }
}

#[test]
fn overlapping_digit_forms_are_ranked_by_rule_strength() {
    // 14 digits starting 7[3-68]: ZTO's current form beats HV's 7+13 "Best" rule.
    let d = detect("78123456789012").unwrap();
    assert_eq!(
        d.candidates,
        [
            Candidate {
                carrier: Carrier::Zto,
                score: 70
            },
            Candidate {
                carrier: Carrier::Best,
                score: 20
            },
        ]
    );
    // 15 digits starting 43: Yunda's [34]+14 and STO's wide 43 form both fit.
    let d = detect("433456789012345").unwrap();
    assert_eq!(carriers(&d), [Carrier::Yunda, Carrier::Sto]);
    // 13 digits starting 12: EMS domestic, then the catch-all 邮政包裹 rule.
    let d = detect("1207119765021").unwrap();
    assert_eq!(carriers(&d), [Carrier::Ems, Carrier::Yzpy]);
    // 13 digits starting 50: Yunda's 5+12 and HV's EMS prefix 50.
    let d = detect("5012345678901").unwrap();
    assert_eq!(carriers(&d), [Carrier::Yunda, Carrier::Ems, Carrier::Yzpy]);
}

#[test]
fn shop_preference_breaks_ties_but_never_beats_a_better_score() {
    let mut d = detect("5012345678901").unwrap();
    d.prefer(&[Carrier::Yzpy, Carrier::Ems]);
    assert_eq!(carriers(&d), [Carrier::Yunda, Carrier::Ems, Carrier::Yzpy]);
    // Build a tie by hand to see the preference act.
    d.candidates = vec![
        Candidate {
            carrier: Carrier::Sto,
            score: 50,
        },
        Candidate {
            carrier: Carrier::Yunda,
            score: 50,
        },
    ];
    d.prefer(&[Carrier::Yunda]);
    assert_eq!(carriers(&d), [Carrier::Yunda, Carrier::Sto]);
}

#[test]
fn unknown_shapes_give_an_empty_candidate_list() {
    let d = detect("ABC123456").unwrap();
    assert!(d.candidates.is_empty() && d.valid_for.is_empty());
    assert_eq!(d.normalized, "ABC123456");
}

#[test]
fn valid_for_adds_group_siblings_without_formats_of_their_own() {
    let d = detect("SF1385628716739").unwrap();
    assert_eq!(d.valid_for, [Carrier::Sf, Carrier::Sfky]);
    let d = detect("DPK202252612836").unwrap();
    assert_eq!(d.valid_for, [Carrier::Dbkd, Carrier::Dbky]);
    // EMS has formats of its own, so a 邮政包裹 S10 number is not valid for EMS.
    let d = detect("RR123456785CN").unwrap();
    assert_eq!(d.valid_for, [Carrier::Yzpy]);
}

#[test]
fn detection_serialises_with_exactly_the_documented_fields() {
    let d = detect(" sf1385628716739").unwrap();
    let v: serde_json::Value = serde_json::to_value(&d).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "input": " sf1385628716739",
            "normalized": "SF1385628716739",
            "candidates": [{"carrier": "SF", "score": 98}],
            "valid_for": ["SF", "SFKY"],
        })
    );
}

// --- wrong-carrier check --------------------------------------------------------------------

#[test]
fn a_number_under_its_own_carrier_passes() {
    for r in RULES {
        if let Some(ex) = r.example {
            assert_eq!(validate(r.carrier, ex), Ok(()), "{ex}");
        }
    }
    assert_eq!(
        validate(Carrier::Sfky, "SF1385628716739"),
        Ok(()),
        "group sibling"
    );
    assert_eq!(
        validate(Carrier::Sxjd, "123456789012"),
        Ok(()),
        "no formats known"
    );
}

#[test]
fn a_prefixed_number_under_another_carrier_is_caught() {
    let err = validate(Carrier::Zto, "SF1385628716739").unwrap_err();
    assert!(matches!(
        err,
        Why::LooksLike {
            detected: Carrier::Sf,
            carrier: Carrier::Zto,
            ..
        }
    ));
    assert_eq!(err.to_string(), "SF1385628716739 is a SF number, not ZTO");
    // Even a carrier without formats of its own refuses another group's distinctive number.
    assert!(matches!(
        validate(Carrier::Sxjd, "JT5261988016578"),
        Err(Why::LooksLike {
            detected: Carrier::Jtsd,
            ..
        })
    ));
    assert!(matches!(
        validate(Carrier::Yto, "YT2212345678901234"),
        Err(Why::LooksLike {
            detected: Carrier::YunExpress,
            ..
        })
    ));
}

#[test]
fn a_digit_number_under_the_wrong_carrier_lists_the_formats_and_who_fits() {
    let err = validate(Carrier::Zto, "773277027280336").unwrap_err();
    let Why::NoFormatMatches {
        expected, other, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(expected, &["^7[3-68]\\d{12}$"]);
    assert_eq!(other, &[Carrier::Sto]);
    assert_eq!(
        err.to_string(),
        "773277027280336 fits none of ZTO's formats (^7[3-68]\\d{12}$)"
    );
    // One digit dropped from a ZTO number.
    assert!(matches!(
        validate(Carrier::Zto, "7361055558288"),
        Err(Why::NoFormatMatches { .. })
    ));
}

#[test]
fn a_mistyped_s10_check_digit_is_named() {
    let err = validate(Carrier::Ems, "EA123456789CN").unwrap_err();
    assert_eq!(
        err,
        Why::CheckDigit {
            carrier: Carrier::Ems,
            number: TrackingNo::parse("EA123456789CN").unwrap(),
            expected: '5',
            found: '9',
        }
    );
    assert_eq!(
        err.to_string(),
        "EA123456789CN: check digit is 9, expected 5 (UPU S10)"
    );
}

#[test]
fn garbage_is_malformed() {
    assert_eq!(
        validate(Carrier::Sf, ""),
        Err(Why::Malformed(TrackingNoError::Empty))
    );
}

// --- streaming ------------------------------------------------------------------------------

#[test]
fn detect_lines_writes_one_json_object_per_input_line() {
    let input =
        "SF1385628716739\r\n\n773277027280336\nnot a number!\n\u{FF2A}\u{FF34}5261988016578";
    let mut out = Vec::new();
    let summary = detect_lines(input.as_bytes(), &mut out).unwrap();
    assert_eq!(
        summary,
        DetectSummary {
            lines: 5,
            detected: 3,
            failed: 2
        }
    );
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["candidates"][0]["carrier"], "SF");
    assert_eq!(lines[0]["input"], "SF1385628716739", "CR stripped");
    assert_eq!(lines[1]["error"], "empty");
    assert_eq!(lines[2]["candidates"][0]["carrier"], "STO");
    assert_eq!(lines[3]["error"], "bad_char");
    assert_eq!(lines[4]["normalized"], "JT5261988016578");
}

#[test]
fn detect_lines_survives_invalid_utf8() {
    let mut out = Vec::new();
    let summary = detect_lines(&b"\xff\xfe\n"[..], &mut out).unwrap();
    assert_eq!(summary.failed, 1);
}

// --- properties -----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalisation_is_idempotent(s in "\\PC*") {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once.clone());
    }

    #[test]
    fn normalisation_is_idempotent_on_number_like_text(s in "[ 　\\-–ａ-ｚＡ-Ｚ０-９a-zA-Z0-9]{0,30}") {
        let once = normalize(&s);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(once.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }

    #[test]
    fn detect_never_panics(s in "\\PC*") {
        let _ = detect(&s);
    }

    #[test]
    fn detect_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        detect_lines(&b[..], &mut out).unwrap();
    }

    #[test]
    fn a_parsed_number_reparses_to_itself(s in "[A-Za-z0-9 -]{0,50}") {
        if let Ok(n) = TrackingNo::parse(&s) {
            prop_assert_eq!(TrackingNo::parse(n.as_str()), Ok(n.clone()));
        }
    }

    #[test]
    fn every_candidate_is_valid_for_and_validates(s in "(SF|YT|JT|JD|DPK|7|4|5|1|9)?[0-9]{8,16}") {
        if let Ok(d) = detect(&s) {
            for c in &d.candidates {
                prop_assert!(d.valid_for.contains(&c.carrier));
                prop_assert_eq!(validate(c.carrier, &s), Ok(()));
            }
            for c in &d.valid_for {
                prop_assert_eq!(validate(*c, &s), Ok(()));
            }
        }
    }

    #[test]
    fn valid_s10_numbers_are_confidently_china_post(serial in "[0-9]{8}", svc in "[A-Z]") {
        let check = s10_check_digit(&serial).unwrap();
        let n = format!("{svc}A{serial}{check}CN");
        let d = detect(&n).unwrap();
        let want = if svc == "E" { Carrier::Ems } else { Carrier::Yzpy };
        prop_assert_eq!(d.confident(), Some(want));
        // Any other check digit is refused.
        let bad = format!("{svc}A{serial}{}CN", (check + 1) % 10);
        prop_assert!(detect(&bad).unwrap().candidates.is_empty());
    }
}
