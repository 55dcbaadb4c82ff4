//! Fuzz target: tracking-number detection and the wrong-carrier check never panic on any bytes,
//! and their results keep their invariants.

#![no_main]

use fahuo_carriers::{Carrier, detect, detect_lines, tracking_no, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The streaming path sees raw bytes, as `fahuo tracking detect` does on stdin: one JSON
    // object per input line, whatever the line holds.
    let mut out = Vec::new();
    let summary = detect_lines(data, &mut out).expect("writing to a Vec cannot fail");
    let written = out.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(written, summary.lines);
    assert_eq!(summary.lines, summary.detected + summary.failed);

    let text = String::from_utf8_lossy(data);
    if let Ok(d) = detect(&text) {
        assert_eq!(tracking_no::normalize(&d.normalized), d.normalized, "normal form is stable");
        assert!(d.candidates.windows(2).all(|w| w[0].score >= w[1].score), "ranked");
        for c in &d.candidates {
            assert!(d.valid_for.contains(&c.carrier));
            assert!(validate(c.carrier, &text).is_ok());
        }
        serde_json::to_string(&d).expect("serialises");
    }
    for c in Carrier::ALL {
        let _ = validate(c, &text);
    }
});
