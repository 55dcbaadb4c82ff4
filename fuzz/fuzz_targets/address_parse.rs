//! Fuzz target: any UTF-8 input parses without panicking, and the result keeps its invariants.

#![no_main]

use fahuo_address::{Parser, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let p = Parser::global().parse(input);
    // Invariants that must hold for every input, not just for addresses.
    assert!((0.0..=1.0).contains(&p.confidence));
    assert_eq!(p.verdict == Verdict::Ok, p.is_shippable());
    if p.verdict == Verdict::Ok {
        assert!(p.province.is_some(), "an ok verdict needs a province");
    }
    if let Some(code) = &p.adcode {
        assert_eq!(code.len(), 6);
    }
    // The JSON form is what the CLI and API emit; it must always serialise.
    serde_json::to_string(&p).expect("serialises");
});
