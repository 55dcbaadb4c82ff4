//! Malformed input never panics and always gets a clear verdict.

use fahuo_address::{Reason, Verdict, parse};

#[test]
fn empty_and_blank_input_is_reported_as_empty() {
    for input in ["", " ", "   \t  ", "\u{3000}\u{3000}", "\n\r\n", "\u{200b}"] {
        let p = parse(input);
        assert_eq!(p.reasons[..], [Reason::EmptyInput], "{input:?}");
        assert_eq!(p.verdict, Verdict::Incomplete);
        assert_eq!(p.confidence, 0.0);
    }
}

#[test]
fn emoji_and_symbols_give_no_division() {
    let p = parse("😀😀😀 ✈️ 🏠");
    assert!(p.reasons.contains(&Reason::NoDivision));
    assert_eq!(p.verdict, Verdict::Incomplete);
}

#[test]
fn control_characters_are_removed_and_reported() {
    let p = parse("浙江省\u{0}杭州市\u{7}西湖区\u{1b}文三路90号");
    assert_eq!(p.county, Some("西湖区"));
    assert!(p.reasons.contains(&Reason::ControlCharsRemoved));
}

#[test]
fn ten_kilobytes_of_junk_is_cut_and_flagged() {
    let mut junk = String::new();
    let mut x: u32 = 12345;
    while junk.len() < 10_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        if let Some(c) = char::from_u32(x % 0x2_0000) {
            junk.push(c);
        }
    }
    let p = parse(&junk);
    assert!(p.reasons.contains(&Reason::InputTruncated));
    assert_ne!(p.verdict, Verdict::Ok);
    let p = parse(&"1234567890".repeat(1000));
    assert_ne!(p.verdict, Verdict::Ok);
    let p = parse(&"省市区县路号".repeat(2000));
    assert_ne!(p.verdict, Verdict::Ok);
}

#[test]
fn odd_scripts_and_marks_do_not_panic() {
    for input in [
        "\u{202e}浙江省杭州市\u{202c}",
        "e\u{301}\u{301}\u{301}",
        "مرحبا 北京",
        "𠀀𠀁𠀂 上海",
        "------",
        "+86",
        "+8613812345678",
        "0",
        "转转转1",
        "(((((",
        "北京北京北京北京北京北京北京北京北京北京北京北京北京北京",
        "13812345678-",
        "0571-",
    ] {
        let _ = parse(input);
    }
}

mod mutations {
    //! Real addresses with noise and unit characters inserted or characters deleted at random
    //! places: the class of input where byte-offset slips turn into panics.

    use proptest::prelude::*;

    fn eval_inputs() -> Vec<&'static str> {
        include_str!("data/eval.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').nth(1))
            .collect()
    }

    const INSERTS: [char; 16] = [
        ' ', '-', ',', '市', '区', '县', '镇', '路', '1', '号', '\u{3000}', '（', '·', '省', '转',
        '\u{0}',
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn mutated_real_addresses_never_panic(
            which in 0usize..1000,
            edits in proptest::collection::vec((0usize..200, 0usize..INSERTS.len(), any::<bool>()), 1..6),
        ) {
            let inputs = eval_inputs();
            let mut chars: Vec<char> = inputs[which % inputs.len()].chars().collect();
            for (pos, ins, delete) in edits {
                let at = pos % (chars.len() + 1);
                if delete && at < chars.len() {
                    chars.remove(at);
                } else {
                    chars.insert(at, INSERTS[ins]);
                }
            }
            let text: String = chars.into_iter().collect();
            let p = fahuo_address::parse(&text);
            prop_assert!((0.0..=1.0).contains(&p.confidence));
        }
    }
}
