//! Fuzz target: the order-import file parser never panics on any bytes (CSV in any encoding,
//! broken xlsx, junk), and what it returns keeps its invariants.

#![no_main]

use chrono::{TimeZone, Utc};
use fahuo_app::import::{Limits, parse_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    // Small limits so that the fuzzer explores the limit checks too.
    let limits = Limits {
        max_bytes: 64 * 1024,
        max_rows: 200,
        max_unzipped_bytes: 4 * 1024 * 1024,
    };
    let Ok(parsed) = parse_file(data, 7, now, &limits) else {
        return;
    };
    assert!(parsed.rows.len() <= limits.max_rows);
    let mut last = 0;
    for row in &parsed.rows {
        assert!(
            row.row > parsed.header_row,
            "data rows come after the header"
        );
        assert!(row.row > last, "rows keep the file's order");
        last = row.row;
        assert_eq!(row.ok, row.errors.is_empty());
        for e in &row.errors {
            assert!(!e.message.is_empty() && !e.message_zh.is_empty());
        }
    }
    for order in &parsed.orders {
        assert!(!order.rows.is_empty());
        if let Some(o) = &order.order {
            assert_eq!(o.shop_id.get(), 7);
            assert_eq!(o.platform_order_id.as_str(), order.platform_order_id);
            assert_eq!(o.lines.len(), order.rows.len());
            for r in &order.rows {
                assert!(
                    parsed.rows.iter().any(|x| x.row == *r && x.ok),
                    "a valid order has only valid rows"
                );
            }
        }
    }
});
