//! The headless end-to-end run under faults, on both databases: the emulators fail a share of
//! platform and e-waybill calls (5xx, timeouts, rate limits) and duplicate, reorder, delay and
//! forge tracking pushes, and still every shippable order is written back exactly once with the
//! one number fahuo holds, every issued waybill belongs to one package, no write-back or
//! "shipped" SMS happens twice, no unshippable order ships, and every parcel is followed to
//! where its carrier ends it.
//!
//! `FAHUO_HEADLESS_ORDERS` sets the size (default 100: about 90 s in a debug build on SQLite);
//! `FAHUO_HEADLESS_FAULT_RATE` the fault share (default 0.15). The 10,000-order run is
//! `fahuo demo --headless --orders 10000 --fault-rate 0.15` (BENCHMARKS.md).

use fahuo_cli::headless::{HeadlessOptions, run};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::time::Duration;

fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn every_order_ends_once_under_faults(db: TestDb) {
    let mut opts = HeadlessOptions::new(env("FAHUO_HEADLESS_ORDERS", 100));
    opts.fault_rate = env("FAHUO_HEADLESS_FAULT_RATE", 0.15);
    opts.time_limit = Duration::from_secs(600);
    let report = run(db.store.clone(), Default::default(), &opts)
        .await
        .expect("the run finishes");
    let json = serde_json::to_string(&report).unwrap();
    assert!(report.expected.to_ship > 0, "nothing to ship: {json}");
    assert_eq!(report.duplicate_count, 0, "duplicates: {json}");
    assert_eq!(report.loss_count, 0, "losses: {json}");
    assert_eq!(
        report.stages.written_back, report.expected.to_ship,
        "every shippable order written back once: {json}"
    );
    assert_eq!(
        report.stages.delivered + report.stages.returned + report.stages.with_carrier,
        report.expected.to_ship,
        "every parcel accounted for: {json}"
    );
    assert!(report.ok, "{json}");
}

both_backends!(every_order_ends_once_under_faults);

/// A run its time limit stops still compares and reports: which phase it stopped in, and every
/// order that did not reach its end, counted by what went wrong. (Only the driver prints, so
/// with no time at all nothing is shipped.)
async fn a_run_out_of_time_reports_what_did_not_reach_its_end(db: TestDb) {
    let mut opts = HeadlessOptions::new(30);
    opts.time_limit = Duration::ZERO;
    let report = run(db.store.clone(), Default::default(), &opts)
        .await
        .expect("a stopped run still reports");
    let json = serde_json::to_string(&report).unwrap();
    assert!(!report.ok, "{json}");
    assert_eq!(report.stopped_in.as_deref(), Some("ship"), "{json}");
    assert!(report.expected.to_ship > 0, "nothing to ship: {json}");
    assert_eq!(report.loss_count, report.expected.to_ship, "{json}");
    assert_eq!(
        report.loss_kinds.get("never shipped"),
        Some(&report.expected.to_ship),
        "{json}"
    );
    assert_eq!(report.losses.len(), report.loss_count.min(20), "{json}");
    assert_eq!(report.stages.written_back, 0, "{json}");
    assert!(!report.phase_seconds.contains_key("track"), "{json}");
}

both_backends!(a_run_out_of_time_reports_what_did_not_reach_its_end);
