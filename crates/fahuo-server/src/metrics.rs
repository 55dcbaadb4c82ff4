//! Prometheus metrics: request counts and latencies per route, and job-queue gauges read
//! from the database at scrape time (so every node reports the same queue). The job runner's
//! own counters (attempts, failures, durations per kind) are recorded in fahuo-app and
//! rendered here with the rest; docs/OPERATIONS.md lists every metric.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// The process-wide recorder (metrics has one global recorder per process). The server
/// installs it when it builds its router, so that job counters recorded before the first
/// request are kept.
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may exist already (several servers in one test process).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(health))
}

/// Counts requests and their latency by method, route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let _ = handle();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("fahuo_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("fahuo_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    response
}

async fn render(State(s): State<AppState>) -> Response {
    match s.app.store().job_counts().await {
        Ok(c) => {
            for (state, n) in [
                ("queued", c.queued),
                ("running", c.running),
                ("done", c.done),
                ("dead", c.dead),
            ] {
                metrics::gauge!("fahuo_jobs", "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "job counts unavailable for /metrics"),
    }
    let mut body = handle().render();
    match s.app.store().queue_stats(s.app.now()).await {
        Ok(stats) => body.push_str(&queue_gauges(&stats)),
        Err(e) => tracing::warn!(error = %e, "queue stats unavailable for /metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The per-kind queue gauges in Prometheus text format, written from the database's numbers
/// at each scrape rather than kept in the process-wide recorder: a kind whose jobs all finished
/// disappears instead of keeping its last value, and servers sharing a process (tests) cannot
/// overwrite each other's numbers.
fn queue_gauges(stats: &[fahuo_store::jobs::QueueStats]) -> String {
    use std::fmt::Write;
    let label = |kind: &str| kind.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from(
        "# HELP fahuo_queue_jobs Jobs per kind and state: ready (due now), running, scheduled \
         (waiting for its time or a retry's backoff), dead (the dead letter).\n\
         # TYPE fahuo_queue_jobs gauge\n",
    );
    for q in stats {
        for (state, n) in [
            ("ready", q.ready),
            ("running", q.running),
            ("scheduled", q.scheduled),
            ("dead", q.dead),
        ] {
            let _ = writeln!(
                out,
                "fahuo_queue_jobs{{kind=\"{}\",state=\"{state}\"}} {n}",
                label(&q.kind)
            );
        }
    }
    out.push_str(
        "# HELP fahuo_queue_oldest_ready_seconds How long the oldest ready job of a kind has \
         been due.\n# TYPE fahuo_queue_oldest_ready_seconds gauge\n",
    );
    for q in stats {
        let _ = writeln!(
            out,
            "fahuo_queue_oldest_ready_seconds{{kind=\"{}\"}} {}",
            label(&q.kind),
            q.oldest_ready_ms as f64 / 1000.0
        );
    }
    out
}

/// Liveness and database reachability.
async fn health(State(s): State<AppState>) -> Response {
    match s.app.store().ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "error", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}
