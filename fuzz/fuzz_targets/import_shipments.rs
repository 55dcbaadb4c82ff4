//! Fuzz target: the tracking-number file parser never panics on any bytes (CSV in any
//! encoding, broken xlsx, junk), and what it returns keeps its invariants.

#![no_main]

use fahuo_app::batch::file::{FileVerdict, parse_shipment_file};
use fahuo_app::import::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits so that the fuzzer explores the limit checks too.
    let limits = Limits {
        max_bytes: 64 * 1024,
        max_rows: 200,
        max_unzipped_bytes: 4 * 1024 * 1024,
    };
    let Ok(file) = parse_shipment_file(data, &limits) else {
        return;
    };
    assert!(!file.rows.is_empty() && file.rows.len() <= limits.max_rows);
    let mut last = file.header_row;
    for row in &file.rows {
        assert!(row.row > last, "rows come after the header, in file order");
        last = row.row;
        assert!(row.order_no.chars().count() <= 64);
        if row.verdicts.is_empty() {
            assert!(!row.order_no.is_empty() && row.carrier.is_some() && row.tracking_no.is_some());
        }
        for v in &row.verdicts {
            assert!(!v.message_zh().is_empty());
            match v {
                FileVerdict::DuplicateRow { first_row } => assert!(*first_row < row.row),
                FileVerdict::ReusedInFile { other_row, .. } => assert!(*other_row < row.row),
                _ => {}
            }
        }
    }
    let _ = serde_json::to_string(&file).unwrap();
});
