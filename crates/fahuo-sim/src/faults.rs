//! Injected faults (5xx, timeouts, rate-limit answers) and the documented per-app rate limits.

use crate::ledger::Rejection;
use crate::model::Platform;
use crate::state::{Sim, State};
use crate::util::real_now_ms;
use crate::waybill::Service;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    None,
    /// HTTP 5xx before anything is done.
    ServerError,
    /// No answer within the client's timeout; the request was NOT processed.
    TimeoutBefore,
    /// No answer within the client's timeout, but the request WAS processed (the nasty case for
    /// exactly-once: the retry must be recognised as a duplicate).
    TimeoutAfter,
    /// The platform's rate-limit error code, without processing.
    RateLimited,
}

pub fn roll(rng: &mut crate::util::Rng, rate: f64) -> Fault {
    if rate <= 0.0 || !rng.chance(rate) {
        return Fault::None;
    }
    match rng.below(4) {
        0 => Fault::ServerError,
        1 => Fault::TimeoutBefore,
        2 => Fault::TimeoutAfter,
        _ => Fault::RateLimited,
    }
}

/// A fault queued for the next call of one API (`SimHandle::force_fault`, `POST /_sim/faults`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForcedFault {
    pub platform: Platform,
    /// The API's ledger name (`channels/ec/order/delivery/send`, `order.logisticsAdd`, ...).
    pub api: String,
    pub fault: Fault,
}

/// Fixed one-second windows per key (app, or app+method), on the real clock: QPS limits are about
/// how fast a client calls, not about the emulated calendar.
#[derive(Default)]
pub struct RateLimiter {
    windows: HashMap<String, (i64, u32)>,
}

impl RateLimiter {
    pub fn allow(&mut self, key: &str, limit_per_sec: u32) -> bool {
        if limit_per_sec == 0 {
            return true;
        }
        let sec = real_now_ms() / 1000;
        let w = self.windows.entry(key.to_string()).or_insert((sec, 0));
        if w.0 != sec {
            *w = (sec, 0);
        }
        w.1 += 1;
        w.1 <= limit_per_sec
    }
}

/// How a platform module answers an injected fault or a rate limit.
pub trait FaultAnswers {
    fn server_error(&self) -> Response;
    fn rate_limited(&self) -> Response;
    /// Error code text recorded in the ledger for a rate-limit answer.
    fn rate_limit_code(&self) -> String;
}

/// Who is being called, for the ledger: a platform's order API or an e-waybill service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Platform(Platform),
    Waybill(Service),
}

impl From<Platform> for Source {
    fn from(p: Platform) -> Source {
        Source::Platform(p)
    }
}

impl From<Service> for Source {
    fn from(s: Service) -> Source {
        Source::Waybill(s)
    }
}

fn record(st: &mut State, source: Source, api: &str, code: String, reason: String) {
    let at_ms = st.now_ms();
    match source {
        Source::Platform(platform) => st.ledger.rejected.push(Rejection {
            platform,
            api: api.to_string(),
            code,
            reason,
            at_ms,
        }),
        Source::Waybill(service) => st.reject_waybill(service, api, &code, &reason),
    }
}

/// Runs `handler` under fault injection and rate limiting. `limits` are (key, per-second limit).
pub async fn guard<A: FaultAnswers>(
    sim: &Arc<Sim>,
    source: impl Into<Source>,
    api: &str,
    limits: &[(String, u32)],
    answers: A,
    handler: impl FnOnce(&Arc<Sim>) -> Response,
) -> Response {
    let source = source.into();
    sim.tick();
    let (fault, limited, delay) = {
        let mut st = sim.lock();
        let rate = st.fault_rate;
        let forced = match source {
            Source::Platform(p) => st
                .forced_faults
                .iter()
                .position(|f| f.platform == p && f.api == api),
            Source::Waybill(_) => None,
        };
        let fault = match forced {
            Some(i) => st.forced_faults.remove(i).fault,
            None => roll(&mut st.fault_rng, rate),
        };
        let mut limited = false;
        for (key, limit) in limits {
            if !st.limiter.allow(key, *limit) {
                limited = true;
            }
        }
        let reason = match (fault, limited) {
            (_, true) => Some(("rate limit exceeded".to_string(), answers.rate_limit_code())),
            (Fault::ServerError, _) => {
                Some(("injected fault: 5xx".to_string(), "http-503".to_string()))
            }
            (Fault::TimeoutBefore, _) => Some((
                "injected fault: timeout, not processed".to_string(),
                "timeout".to_string(),
            )),
            (Fault::RateLimited, _) => Some((
                "injected fault: rate-limit answer".to_string(),
                answers.rate_limit_code(),
            )),
            _ => None,
        };
        if let Some((reason, code)) = reason {
            record(&mut st, source, api, code, reason);
        }
        (fault, limited, sim.cfg.timeout_delay)
    };
    if limited {
        return answers.rate_limited();
    }
    match fault {
        Fault::ServerError => answers.server_error(),
        Fault::RateLimited => answers.rate_limited(),
        Fault::TimeoutBefore => {
            tokio::time::sleep(delay).await;
            answers.server_error()
        }
        Fault::TimeoutAfter => {
            let resp = handler(sim);
            record(
                &mut sim.lock(),
                source,
                api,
                "timeout".to_string(),
                "injected fault: timeout after the request was processed".to_string(),
            );
            tokio::time::sleep(delay).await;
            resp
        }
        Fault::None => handler(sim),
    }
}
