//! `fahuo bench ship`: a tracking-number file of N rows imported end to end against the
//! built-in emulators — read and validated (preview), applied (shipments queued 500 rows per
//! transaction) and written back to the three platforms through the outbox — with the time of
//! each step. The emulators run in this process and answer at once; the time is fahuo's.

use crate::demo;
use anyhow::{Result, bail};
use fahuo_app::jobs::JobRunner;
use fahuo_app::{Actor, App};
use fahuo_domain::Name;
use fahuo_domain::fulfilment::ShipmentState;
use std::time::{Duration, Instant};

pub struct ShipRow {
    pub rows: usize,
    pub sync_seconds: f64,
    pub preview_seconds: f64,
    pub apply_seconds: f64,
    pub send_seconds: f64,
    /// Shipments the platforms accepted.
    pub shipped: usize,
}

impl ShipRow {
    pub fn end_to_end_seconds(&self) -> f64 {
        self.preview_seconds + self.apply_seconds + self.send_seconds
    }
}

/// Syncs enough emulator orders, writes a CSV of `rows` tracking numbers for orders the
/// platforms will take, and imports it end to end.
pub async fn ship(app: &App, rows: usize) -> Result<ShipRow> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // About 55% of generated orders are paid, unshipped and without a refund request.
    let per_platform = rows * 2 / 3 + 200;
    let sim = fahuo_sim::start(
        fahuo_sim::SimConfig {
            live: false,
            ..fahuo_sim::SimConfig::new(11, per_platform)
        },
        listener,
    )?;
    let name = format!("bench {}", app.now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app.create_tenant(&Name::parse(&name)?).await?.id;
    let owner = Actor::cli(tenant);
    let started = Instant::now();
    let shops = demo::connect_shops(app, tenant, &sim).await?;
    for shop in &shops {
        app.sync_shop(tenant, shop.id).await?;
    }
    let sync_seconds = started.elapsed().as_secs_f64();
    let mut csv = String::from("订单号,快递公司,快递单号\n");
    let mut n = 0;
    let mut after = None;
    'pages: loop {
        let page = app
            .store()
            .orders(
                tenant,
                &fahuo_store::orders::OrderFilter {
                    after,
                    limit: 500,
                    ..Default::default()
                },
            )
            .await?;
        for o in &page.items {
            if sim.order(&o.platform_order_id).is_some_and(|p| {
                p.shippable()
                    && p.refund == fahuo_sim::model::Refund::None
                    && p.lines.iter().all(|l| !l.refunded)
            }) {
                csv += &format!(
                    "{},顺丰速运,SF{:013}\n",
                    o.platform_order_id,
                    1_300_000_000_000u64 + n as u64
                );
                n += 1;
                if n == rows {
                    break 'pages;
                }
            }
        }
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    if n < rows {
        bail!("the emulators hold only {n} orders to ship");
    }

    let started = Instant::now();
    let preview = app
        .preview_shipment_import(&owner, "bench.csv", csv.as_bytes())
        .await?;
    let preview_seconds = started.elapsed().as_secs_f64();
    if preview.ready != rows {
        bail!(
            "{} rows refused: {:?}",
            rows - preview.ready,
            preview.refused
        );
    }
    let id = preview.import.id;
    let started = Instant::now();
    app.apply_shipment_import(&owner, id).await?;
    loop {
        let (_, left) = app.apply_shipment_import_chunk(&owner, id).await?;
        if left == 0 {
            break;
        }
    }
    let apply_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let runner = fahuo_app::shipping::register(JobRunner::new(app.clone(), "bench"));
    loop {
        let ran = runner.run_once().await?;
        let counts: std::collections::BTreeMap<_, _> = app
            .store()
            .shipment_counts(tenant)
            .await?
            .into_iter()
            .collect();
        if !counts.contains_key(&ShipmentState::Pending) {
            break;
        }
        if ran == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let send_seconds = started.elapsed().as_secs_f64();
    let shipped = sim.ledger().accepted_shipments().len();
    sim.shutdown().await;
    Ok(ShipRow {
        rows,
        sync_seconds,
        preview_seconds,
        apply_seconds,
        send_seconds,
        shipped,
    })
}

/// The result as a Markdown table, for BENCHMARKS.md.
pub fn ship_table(r: &ShipRow) -> String {
    let per = |s: f64| r.rows as f64 / s.max(1e-9);
    format!(
        "| step | seconds | rows/s |\n|---|---:|---:|\n\
         | preview (read, validate, check against the store) | {:.2} | {:.0} |\n\
         | apply (shipments + outbox jobs, 500 rows per transaction) | {:.2} | {:.0} |\n\
         | write-back to the platforms (outbox) | {:.2} | {:.0} |\n\
         | **end to end** | **{:.2}** | **{:.0}** |\n\n\
         {} of {} orders shipped on the emulators (sync of the orders beforehand: {:.1} s, not counted).\n",
        r.preview_seconds,
        per(r.preview_seconds),
        r.apply_seconds,
        per(r.apply_seconds),
        r.send_seconds,
        per(r.send_seconds),
        r.end_to_end_seconds(),
        per(r.end_to_end_seconds()),
        r.shipped,
        r.rows,
        r.sync_seconds,
    )
}
