//! `fahuo bench pipeline`: end-to-end orders per second of the headless run (the emulators
//! answering at once, no faults), against a physical reference in the same database: the rows
//! the run stored, inserted raw into a fresh tenant — as many orders in each state the run
//! left them in (lines, encrypted receivers, packages, waybills and shipments as the state
//! implies, `Store::seed_orders`, 1,000 orders per transaction), then as many print-job items,
//! parcels and tracking events (`Store::seed_prints_and_tracking`). The ratio run / raw is the
//! figure that matters. Peak memory is this process's VmHWM after the run and the reference:
//! fahuo, the in-process emulators (which keep every order, ledger entry and trace) and the
//! run's comparison snapshots together. Last, the order list API of that database under wrk
//! (`bench_wrk::load`, 64 connections) as the reference tenant's owner, served by a
//! `fahuo serve` process of its own.

use crate::bench_wrk::{self, LoadSettings};
use crate::headless::{self, HeadlessOptions, HeadlessReport};
use anyhow::{Context, Result};
use fahuo_app::App;
use fahuo_domain::OrderState;
use fahuo_store::Store;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct PipelineBench {
    pub run: HeadlessReport,
    /// Orders generated per second of the whole run (setup to comparison).
    pub end_to_end_orders_per_second: f64,
    /// What the run stored; the reference inserts as many of each.
    pub stored: StoredRows,
    pub raw_seconds: f64,
    /// Wall time of the whole run (setup, shipping, tracking, comparison) over the raw load's.
    pub ratio: f64,
    /// Peak resident memory of this process after the run and the reference, in MiB (VmHWM).
    pub peak_rss_mib: Option<f64>,
    /// The order list API under wrk, on the database the run and the reference filled.
    pub order_list: OrderListLoad,
}

/// Rows of each kind the run stored in its tenant.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StoredRows {
    pub orders: usize,
    pub waybills: usize,
    pub labels: usize,
    pub shipments: usize,
    pub parcels: usize,
    pub tracking_events: usize,
}

/// wrk's figures for the order list (see [`bench_wrk::LoadReport`]).
#[derive(Debug, Clone, Serialize)]
pub struct OrderListLoad {
    /// Orders of the tenant listed (the reference's: as many as the run's, in the same
    /// database).
    pub orders_in_tenant: usize,
    pub connections: usize,
    pub seconds: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// The server process's peak RSS (`fahuo serve --no-jobs`, started for the load).
    pub peak_rss_mb: f64,
}

/// Runs the headless driver on `store`, then the raw reference in a fresh tenant of `app`
/// (the same database), then wrk against the order list for `wrk`'s duration, served by
/// `server` on that database.
pub async fn pipeline(
    store: Store,
    app: &App,
    server: &bench_wrk::ServerProcess,
    opts: &HeadlessOptions,
    wrk: &LoadSettings,
) -> Result<PipelineBench> {
    let run = headless::run(store, app.settings().clone(), opts).await?;
    let facts = app
        .store()
        .pipeline_facts(fahuo_domain::TenantId(run.tenant_id))
        .await?;
    let states: Vec<OrderState> = facts
        .orders
        .iter()
        .map(|o| OrderState::parse(&o.state))
        .collect::<Result<_, _>>()?;
    let stored = StoredRows {
        orders: facts.orders.len(),
        waybills: facts.waybills.iter().filter(|w| !w.cancelled).count(),
        labels: facts.labels_printed as usize,
        shipments: facts.shipments.len(),
        parcels: facts.parcels.len(),
        tracking_events: facts.parcels.iter().map(|p| p.events as usize).sum(),
    };

    let fx = crate::bench_list::create_merchant(app, "pipeline").await?;
    let started = Instant::now();
    let samples = crate::bench_list::load_in_states(app, &fx, &states, 1_000).await?;
    app.store()
        .seed_prints_and_tracking(
            fx.tenant,
            stored.labels,
            stored.parcels,
            stored.tracking_events,
            app.now(),
        )
        .await
        .context("the reference's prints and parcels")?;
    let raw_seconds = started.elapsed().as_secs_f64();
    let peak_rss_mib = peak_rss_mib();

    let load = bench_wrk::load(app, server, &fx, &samples, stored.orders, wrk).await?;
    Ok(PipelineBench {
        end_to_end_orders_per_second: run.orders_generated as f64 / run.elapsed_seconds.max(1e-9),
        stored,
        raw_seconds,
        ratio: run.elapsed_seconds / raw_seconds.max(1e-9),
        peak_rss_mib,
        order_list: OrderListLoad {
            orders_in_tenant: stored.orders,
            connections: wrk.connections,
            seconds: load.seconds,
            requests_per_second: load.requests_per_second,
            p50_ms: load.p50_ms,
            p99_ms: load.p99_ms,
            errors: load.errors,
            peak_rss_mb: load.peak_rss_mb,
        },
        run,
    })
}

/// VmHWM of this process from /proc/self/status (Linux), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    bench_wrk::proc_status_mb("self", "VmHWM")
}
