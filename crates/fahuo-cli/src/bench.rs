//! `fahuo bench intake`: how fast each platform's order history syncs into fahuo from the
//! built-in emulators over loopback HTTP, and where the time goes (waiting for the platform
//! vs. storing). The emulators run in the same process and share its CPUs.

use crate::demo;
use anyhow::{Context, Result};
use fahuo_app::App;
use fahuo_domain::Name;
use std::time::Instant;

/// One platform's result.
pub struct IntakeRow {
    pub platform: String,
    pub pulled: usize,
    pub stored: usize,
    pub seconds: f64,
    pub pull_seconds: f64,
    pub store_seconds: f64,
}

impl IntakeRow {
    pub fn orders_per_second(&self) -> f64 {
        self.pulled as f64 / self.seconds.max(1e-9)
    }
}

/// Syncs `orders` generated orders per platform (history of three days, standing still) into
/// a new tenant of `app`, one shop after the other.
pub async fn intake(app: &App, orders: usize, fault_rate: f64) -> Result<Vec<IntakeRow>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = fahuo_sim::SimConfig {
        live: false,
        fault_rate,
        timeout_delay: std::time::Duration::from_millis(app.settings().platform_timeout_millis * 2),
        ..fahuo_sim::SimConfig::new(7, orders)
    };
    let sim = fahuo_sim::start(config, listener)?;
    let name = format!("bench {}", app.now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app.create_tenant(&Name::parse(&name)?).await?.id;
    let shops = demo::connect_shops(app, tenant, &sim).await?;
    let mut rows = Vec::new();
    for shop in shops {
        let started = Instant::now();
        let report = app
            .sync_shop(tenant, shop.id)
            .await
            .with_context(|| format!("syncing the {} shop", shop.platform))?;
        rows.push(IntakeRow {
            platform: shop.platform.to_string(),
            pulled: report.pulled,
            stored: report.ingested.created + report.ingested.updated,
            seconds: started.elapsed().as_secs_f64(),
            pull_seconds: report.pull_millis as f64 / 1000.0,
            store_seconds: report.store_millis as f64 / 1000.0,
        });
    }
    sim.shutdown().await;
    Ok(rows)
}

/// The result as a Markdown table, for BENCHMARKS.md.
pub fn intake_table(rows: &[IntakeRow]) -> String {
    let mut out = String::from(
        "| platform | orders pulled | stored | seconds | orders/s | waiting for platform | storing |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.2} s ({:.0} %) | {:.2} s ({:.0} %) |\n",
            r.platform,
            r.pulled,
            r.stored,
            r.seconds,
            r.orders_per_second(),
            r.pull_seconds,
            100.0 * r.pull_seconds / r.seconds.max(1e-9),
            r.store_seconds,
            100.0 * r.store_seconds / r.seconds.max(1e-9),
        ));
    }
    out
}
