//! `fahuo import shipments`: preview a tracking-number file, apply it in chunks with a
//! progress bar, send the write-backs (this process joins the job runners of any running
//! servers for shipments only), and write the result file.

use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use fahuo_app::batch::ImportPreview;
use fahuo_app::jobs::JobRunner;
use fahuo_app::{Actor, App};
use fahuo_domain::ShipmentImportId;
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The preview as a table: the counts, then every refused row.
pub fn preview_table(p: &ImportPreview) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "预览 preview of import {} ({} {}, {} rows): nothing is shipped until it is applied",
        p.import.id,
        p.format,
        p.encoding.unwrap_or(""),
        p.rows.len()
    );
    let _ = writeln!(out, "ready 可发货: {}", p.ready);
    for (code, n) in &p.refused {
        let _ = writeln!(out, "refused 拒绝 {code}: {n}");
    }
    let refused: Vec<_> = p.rows.iter().filter(|r| r.verdict_code.is_some()).collect();
    if !refused.is_empty() {
        let _ = writeln!(out, "\nrow 行\torder 订单号\tverdict 结果\tmessage 说明");
        for r in refused {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}",
                r.row,
                r.order_no,
                r.verdict_code.as_deref().unwrap_or(""),
                r.verdict_message.as_deref().unwrap_or("")
            );
        }
    }
    out
}

/// Applies an import chunk by chunk (resumable: rows already applied are not touched), then,
/// with `send`, runs the write-back jobs until none of the import's shipments is pending.
/// Returns the import's final counts by outcome.
pub async fn apply(
    app: &App,
    actor: &Actor,
    id: ShipmentImportId,
    send: bool,
    wait_limit: Duration,
) -> Result<std::collections::BTreeMap<String, usize>> {
    app.apply_shipment_import(actor, id).await?;
    let status = app.shipment_import_status(actor, id).await?;
    let total = status.import.row_count as u64;
    let mut bar = Progress::new("导入 applying", total);
    loop {
        let (_, left) = app.apply_shipment_import_chunk(actor, id).await?;
        bar.set(total - left as u64);
        if left == 0 {
            break;
        }
    }
    bar.finish();
    if send {
        let runner = fahuo_app::shipping::register(JobRunner::new(app.clone(), "cli-import"));
        let started = Instant::now();
        let mut bar = Progress::new("发货 shipping", total);
        loop {
            let ran = runner.run_once().await?;
            let status = app.shipment_import_status(actor, id).await?;
            let pending = status.counts.get("pending").copied().unwrap_or(0)
                + status.counts.get("ready").copied().unwrap_or(0);
            bar.set(total - pending as u64);
            if pending == 0 {
                break;
            }
            if started.elapsed() > wait_limit {
                bar.finish();
                bail!(
                    "{pending} write-backs still pending after {:?}; they stay queued (a running server or `fahuo import shipments --resume {id}` finishes them)",
                    wait_limit
                );
            }
            if ran == 0 {
                // Retries wait for their backoff.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        bar.finish();
    }
    Ok(app.shipment_import_status(actor, id).await?.counts)
}

/// Writes the result file.
pub async fn write_result(
    app: &App,
    actor: &Actor,
    id: ShipmentImportId,
    out: &Path,
) -> Result<()> {
    let bytes = app.shipment_import_result(actor, id).await?;
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
