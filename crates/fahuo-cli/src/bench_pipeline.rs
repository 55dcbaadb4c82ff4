//! `fahuo bench pipeline`: end-to-end orders per second of the headless run (the emulators
//! answering at once, no faults), against a physical reference from the same database type:
//! the order list benchmark's bulk load (`Store::seed_orders`: orders, lines, encrypted
//! receivers, packages, waybills and shipments in multi-row INSERTs, 1,000 orders per
//! transaction) of as many orders as the run stored. The ratio end-to-end / raw is the figure
//! that matters. Peak memory is this process's VmHWM: fahuo, the in-process emulators (which
//! keep every order, ledger entry and trace) and the run's comparison snapshots together.

use crate::headless::{self, HeadlessOptions, HeadlessReport};
use anyhow::Result;
use fahuo_app::App;
use fahuo_store::Store;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct PipelineBench {
    pub run: HeadlessReport,
    /// Orders generated per second of the whole run (setup to comparison).
    pub end_to_end_orders_per_second: f64,
    /// Orders fahuo stored (the reference loads as many).
    pub stored_orders: usize,
    pub raw_seconds: f64,
    /// Wall time of the whole run (setup, shipping, tracking, comparison) over the raw load's.
    pub ratio: f64,
    /// Peak resident memory of this process, in MiB (VmHWM).
    pub peak_rss_mib: Option<f64>,
    // Not yet here, though issue 10 asks for it from the same run: the order list under wrk
    // (64 connections, p50/p99, server RSS) — `bench_wrk::run`, today its own command
    // (`fahuo bench order-list-load`).
}

/// Runs the headless driver on `store`, then the raw reference in a fresh tenant of `app`
/// (the same database).
pub async fn pipeline(store: Store, app: &App, orders: usize) -> Result<PipelineBench> {
    let opts = HeadlessOptions::new(orders);
    let run = headless::run(store, app.settings().clone(), &opts).await?;
    let stored = run.stages.synced;
    let fx = crate::bench_list::create_merchant(app, "pipeline").await?;
    let seeded = crate::bench_list::seed(app, &fx, stored, 1_000, |_| {}).await?;
    let raw_seconds = seeded.seconds;
    Ok(PipelineBench {
        end_to_end_orders_per_second: run.orders_generated as f64 / run.elapsed_seconds.max(1e-9),
        stored_orders: stored,
        raw_seconds,
        ratio: run.elapsed_seconds / raw_seconds.max(1e-9),
        peak_rss_mib: peak_rss_mib(),
        run,
    })
}

/// VmHWM of this process from /proc/self/status (Linux), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
