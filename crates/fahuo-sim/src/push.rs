//! Webhook pushes: turns order changes into each platform's signed push, delivers them to the
//! configured callback URL, checks the acknowledgement each platform expects, retries on the
//! platform's schedule, and injects duplicate, out-of-order and forged (bad-signature) pushes.

use crate::SimConfig;
use crate::ledger::{PushKind, PushRecord};
use crate::model::{Order, Platform};
use crate::state::{Change, Sim};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Clone, Debug)]
pub struct PushMsg {
    pub platform: Platform,
    pub url: String,
    pub event: String,
    pub order_id: String,
    /// The platform's plaintext message (before encryption / signing).
    pub payload: Value,
    pub at_ms: i64,
    /// The shop the message is about (selects WeChat's per-shop keys).
    pub shop: u32,
    /// Shared by every copy of this message (held back, duplicated, retrying): the emulator counts
    /// a push as in flight until the last copy is gone.
    pub inflight: Arc<InflightGuard>,
}

/// Counts up on creation and down on drop.
#[derive(Debug)]
pub struct InflightGuard(Arc<AtomicUsize>);

impl InflightGuard {
    pub fn new(counter: &Arc<AtomicUsize>) -> Arc<Self> {
        counter.fetch_add(1, Ordering::SeqCst);
        Arc::new(InflightGuard(counter.clone()))
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A ready-to-send HTTP request.
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn payload(
    cfg: &SimConfig,
    o: &Order,
    change: &Change,
    now_ms: i64,
) -> Option<(String, Value)> {
    match o.platform {
        Platform::Wechat => crate::wechat::push_payload(cfg, o, change, now_ms),
        Platform::Douyin => crate::douyin::push_payload(cfg, o, change, now_ms),
        Platform::Xiaohongshu => crate::xiaohongshu::push_payload(cfg, o, change, now_ms),
    }
}

/// Signs one delivery. Each HTTP request is signed when it is sent, with the emulator's clock
/// at that moment (WeChat and Xiaohongshu sign a timestamp), so a re-delivery carries a fresh
/// timestamp and a receiver's freshness window judges the request, not the event's age. The
/// platforms do not document whether they re-sign retries; fahuo's window also admits the
/// early ones unsigned afresh (`fahuo_platforms::PushWindow`).
fn encode(sim: &Sim, msg: &PushMsg, forged: bool) -> Outgoing {
    let (nonce, random, sent_ms) = {
        let mut st = sim.lock();
        (
            st.misc_rng.next_u64(),
            st.misc_rng.bytes::<16>(),
            st.now_ms(),
        )
    };
    match msg.platform {
        Platform::Wechat => {
            crate::wechat::encode_push(&sim.cfg, msg, forged, nonce, random, sent_ms)
        }
        Platform::Douyin => crate::douyin::encode_push(&sim.cfg, msg, forged),
        Platform::Xiaohongshu => crate::xiaohongshu::encode_push(&sim.cfg, msg, forged, sent_ms),
    }
}

fn acknowledged(platform: Platform, status: u16, body: &str) -> bool {
    match platform {
        Platform::Wechat => crate::wechat::push_acknowledged(status, body),
        Platform::Douyin => crate::douyin::push_acknowledged(status, body),
        Platform::Xiaohongshu => crate::xiaohongshu::push_acknowledged(status, body),
    }
}

/// Seconds to wait before each re-delivery after an unacknowledged push.
fn retry_schedule(platform: Platform) -> &'static [u64] {
    match platform {
        // Documented: 0s/0s/10s/1min/5min/30min/60min/60min/60min, up to 10 pushes in all.
        Platform::Wechat => &[0, 0, 10, 60, 300, 1800, 3600, 3600, 3600],
        // UNCONFIRMED: Douyin's retry policy is not in the reference; a short back-off.
        Platform::Douyin => &[10, 60, 300],
        // Documented: one retry, 5 minutes after the failure.
        Platform::Xiaohongshu => &[300],
    }
}

fn record(
    sim: &Sim,
    msg: &PushMsg,
    kind: PushKind,
    attempt: u32,
    res: Result<(u16, String), String>,
    ack: impl Fn(u16, &str) -> bool,
) -> bool {
    let (http_status, answer, acked) = match res {
        Ok((s, b)) => {
            let a = ack(s, &b);
            (Some(s), b.chars().take(200).collect(), a)
        }
        Err(e) => (None, e, false),
    };
    let mut st = sim.lock();
    st.seq += 1;
    let rec = PushRecord {
        seq: st.seq,
        platform: msg.platform,
        event: msg.event.clone(),
        order_id: msg.order_id.clone(),
        kind,
        attempt,
        url: msg.url.clone(),
        http_status,
        answer,
        acknowledged: acked,
        at_ms: st.now_ms(),
    };
    st.ledger.pushes.push(rec);
    acked
}

/// The platform's check when a callback URL is configured. WeChat: `GET url?signature&timestamp
/// &nonce&echostr`, the answer must be `echostr`. Xiaohongshu: a signed `POST` of
/// `{"test":true}`, the answer must be HTTP 200. Douyin documents none.
pub async fn verify_callback(sim: Arc<Sim>, platform: Platform, url: String) {
    let (now, nonce) = {
        let mut st = sim.lock();
        (st.now_ms(), st.misc_rng.next_u64() % 10_000_000_000)
    };
    let mut msg = PushMsg {
        platform,
        url: url.clone(),
        event: String::new(),
        order_id: String::new(),
        payload: Value::Null,
        at_ms: now,
        shop: 0,
        inflight: InflightGuard::new(&sim.inflight),
    };
    match platform {
        Platform::Wechat => {
            msg.event = "url_verification".into();
            let ts = (now / 1000).to_string();
            let echostr = format!("{:x}", nonce.wrapping_mul(2_654_435_761));
            let nonce = nonce.to_string();
            let sig = crate::wechat::url_signature(&sim.cfg.wechat.push_token, &ts, &nonce);
            let sep = if url.contains('?') { '&' } else { '?' };
            let full =
                format!("{url}{sep}signature={sig}&timestamp={ts}&nonce={nonce}&echostr={echostr}");
            let res =
                crate::http::request("GET", &full, &[], Vec::new(), Duration::from_secs(5)).await;
            record(&sim, &msg, PushKind::Verification, 1, res, |s, b| {
                s == 200 && b.trim() == echostr
            });
        }
        Platform::Xiaohongshu => {
            msg.event = "url_test".into();
            msg.payload = serde_json::json!({ "test": true });
            let mut out = crate::xiaohongshu::encode_push(&sim.cfg, &msg, false, now);
            out.body = msg.payload.to_string().into_bytes();
            let res = crate::http::request(
                "POST",
                &out.url,
                &out.headers,
                out.body,
                Duration::from_secs(5),
            )
            .await;
            record(&sim, &msg, PushKind::Verification, 1, res, |s, _| s == 200);
        }
        Platform::Douyin => {}
    }
}

async fn deliver(sim: &Arc<Sim>, msg: &PushMsg, kind: PushKind, attempt: u32) -> bool {
    let out = encode(sim, msg, kind == PushKind::Forged);
    let res = crate::http::request(
        "POST",
        &out.url,
        &out.headers,
        out.body,
        Duration::from_secs(5),
    )
    .await;
    record(sim, msg, kind, attempt, res, |s, b| {
        acknowledged(msg.platform, s, b)
    })
}

async fn deliver_with_retries(sim: Arc<Sim>, msg: PushMsg, kind: PushKind) {
    if deliver(&sim, &msg, kind, 1).await {
        return;
    }
    let scale = sim.cfg.push_retry_scale;
    let sim_weak = Arc::downgrade(&sim);
    drop(sim);
    tokio::spawn(async move {
        for (i, secs) in retry_schedule(msg.platform).iter().enumerate() {
            tokio::time::sleep(Duration::from_secs_f64(*secs as f64 * scale)).await;
            let Some(sim) = sim_weak.upgrade() else {
                return;
            };
            if deliver(&sim, &msg, PushKind::Retry, i as u32 + 2).await {
                return;
            }
        }
    });
}

/// Runs until the emulator is dropped: delivers queued pushes in order, with injected faults.
pub async fn worker(sim: Weak<Sim>, mut rx: UnboundedReceiver<PushMsg>) {
    let mut held: Option<PushMsg> = None;
    loop {
        // A held-back (out-of-order) push is released after the next one, or after a short wait.
        let next = if held.is_some() {
            match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                Ok(m) => m,
                Err(_) => {
                    if let (Some(m), Some(sim)) = (held.take(), sim.upgrade()) {
                        deliver_with_retries(sim, m, PushKind::Delayed).await;
                    }
                    continue;
                }
            }
        } else {
            rx.recv().await
        };
        let Some(msg) = next else { return };
        let Some(sim) = sim.upgrade() else { return };
        let fault = {
            let mut st = sim.lock();
            let rate = st.fault_rate;
            if rate > 0.0 && st.fault_rng.chance(rate) {
                Some(st.fault_rng.below(3))
            } else {
                None
            }
        };
        match fault {
            Some(0) => {
                deliver_with_retries(sim.clone(), msg.clone(), PushKind::Normal).await;
                deliver(&sim, &msg, PushKind::Duplicate, 1).await;
            }
            Some(1) if held.is_none() => {
                held = Some(msg);
                continue;
            }
            Some(_) => {
                deliver(&sim, &msg, PushKind::Forged, 1).await;
                deliver_with_retries(sim.clone(), msg, PushKind::Normal).await;
            }
            None => deliver_with_retries(sim.clone(), msg, PushKind::Normal).await,
        }
        if let Some(m) = held.take() {
            deliver_with_retries(sim, m, PushKind::Delayed).await;
        }
    }
}
