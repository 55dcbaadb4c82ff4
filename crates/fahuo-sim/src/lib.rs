//! Emulators of the WeChat Shop (`channels/ec`), Douyin Shop and Xiaohongshu order APIs.
//!
//! Each emulator is an independent implementation of the published protocol, written from
//! `reference/platform-apis.md` and not from fahuo's adapters, so that an adapter's
//! misunderstanding cannot be mirrored here. One listener serves all three platforms:
//!
//! | platform | base URL | example call |
//! |---|---|---|
//! | WeChat Shop | `http://ADDR/wechat` | `POST {base}/channels/ec/order/list/get?access_token=..` |
//! | Douyin Shop | `http://ADDR/douyin` | `POST {base}/order/searchList?app_key=..&method=order.searchList&..` |
//! | Xiaohongshu | `http://ADDR/xiaohongshu` | `POST {base}/ark/open_api/v3/common_controller` |
//!
//! Control and inspection endpoints live under `http://ADDR/_sim/` (see [`control`]).

// Handlers bail out early with a ready-made platform error `Response`; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod control;
pub mod douyin;
pub mod faults;
pub mod r#gen;
pub mod http;
pub mod ledger;
pub mod model;
pub mod push;
pub mod state;
pub mod util;
pub mod wechat;
pub mod xiaohongshu;

pub use crate::r#gen::EventKind;
pub use crate::ledger::{LedgerSnapshot, PushKind, ShipOutcome};
pub use crate::model::{Order, Platform, Status};
use crate::state::Sim;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// WeChat Shop app credentials the emulator accepts, and its push (消息推送) settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WechatApp {
    pub appid: String,
    pub secret: String,
    /// The push "Token" configured in the console (signs pushes, not API calls).
    pub push_token: String,
    /// 43-character EncodingAESKey for push encryption.
    pub encoding_aes_key: String,
    /// The shop's `gh_…` id, sent as `ToUserName`.
    pub username: String,
    pub token_ttl_secs: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DouyinApp {
    pub app_key: String,
    pub app_secret: String,
    pub shop_id: i64,
    pub shop_name: String,
    /// A `code` accepted by `token.create` with `grant_type=authorization_code` (tool apps);
    /// self-use apps call it with `authorization_self`, an empty code and `shop_id`.
    pub auth_code: String,
    pub token_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct XiaohongshuApp {
    pub app_id: String,
    pub app_secret: String,
    pub seller_id: String,
    pub seller_name: String,
    /// An authorization `code` the emulator accepts for `oauth.getAccessToken` (reusable here;
    /// the real one is single-use and lives 10 minutes).
    pub auth_code: String,
    pub token_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

/// Webhook receivers (fahuo's callback URLs), `http://` only.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Callbacks {
    pub wechat: Option<String>,
    pub douyin: Option<String>,
    pub xiaohongshu: Option<String>,
}

impl Callbacks {
    pub fn get(&self, p: Platform) -> Option<&String> {
        match p {
            Platform::Wechat => self.wechat.as_ref(),
            Platform::Douyin => self.douyin.as_ref(),
            Platform::Xiaohongshu => self.xiaohongshu.as_ref(),
        }
    }
}

/// Requests per second per app (0 = unlimited).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RateLimits {
    /// UNCONFIRMED: WeChat publishes per-API daily quotas, not a QPS; this is a stand-in.
    pub wechat_per_sec: u32,
    /// UNCONFIRMED: Douyin's per-app QPS is not in the reference; a stand-in.
    pub douyin_per_sec: u32,
    /// Documented default for a new app: 100/s.
    pub xiaohongshu_app_per_sec: u32,
    /// Documented default per method: 200/s.
    pub xiaohongshu_method_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            wechat_per_sec: 200,
            douyin_per_sec: 200,
            xiaohongshu_app_per_sec: 100,
            xiaohongshu_method_per_sec: 200,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Orders generated per shop (one shop per platform).
    pub orders: usize,
    /// Share of API calls that get an injected fault, and of pushes that get a push fault.
    pub fault_rate: f64,
    /// Unix seconds the sim clock starts at; `None` = the real time.
    pub now: Option<i64>,
    /// Generated history spans `[now - history_secs, now]`.
    pub history_secs: i64,
    /// Follow-up events and new orders land within `future_secs` after now.
    pub future_secs: i64,
    /// Share of `orders` that are placed after now, while the emulator runs.
    pub future_share: f64,
    /// How long an injected timeout stalls; set it above the client's timeout.
    pub timeout_delay: Duration,
    /// Multiplies the platforms' push retry delays (1.0 = as documented; tests use less).
    pub push_retry_scale: f64,
    /// PII decryptions allowed per platform over the emulator's life.
    pub decrypt_quota: u32,
    pub callbacks: Callbacks,
    pub wechat: WechatApp,
    pub douyin: DouyinApp,
    pub xiaohongshu: XiaohongshuApp,
    pub rate_limits: RateLimits,
}

impl SimConfig {
    pub fn new(seed: u64, orders: usize) -> Self {
        SimConfig {
            seed,
            orders,
            ..SimConfig::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            orders: 200,
            fault_rate: 0.0,
            now: None,
            history_secs: 3 * 86_400,
            future_secs: 3600,
            future_share: 0.05,
            timeout_delay: Duration::from_secs(12),
            push_retry_scale: 1.0,
            decrypt_quota: 100_000,
            callbacks: Callbacks::default(),
            wechat: WechatApp {
                appid: "wx5a1f00d5e11ab001".into(),
                secret: "5f2b7c9d0e1a43f8b6c2d4e6f8a0b1c3".into(),
                push_token: "fahuosimpushtoken".into(),
                encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
                username: "gh_fa0051a00001".into(),
                token_ttl_secs: 7200,
            },
            douyin: DouyinApp {
                app_key: "7301234567890123456".into(),
                app_secret: "3b1c5e7a-9d2f-4a6b-8c0e-1f3a5b7c9d2e".into(),
                shop_id: 41_234_567,
                shop_name: "发货模拟小店".into(),
                auth_code: "fahuo-sim-douyin-code".into(),
                token_ttl_secs: 604_800,
                refresh_ttl_secs: 1_209_600,
            },
            xiaohongshu: XiaohongshuApp {
                app_id: "f1a2b3c4d5e6f7a8".into(),
                app_secret: "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a43".into(),
                seller_id: "5f1e2d3c4b5a69788796a5b4".into(),
                seller_name: "发货模拟小红书店".into(),
                auth_code: "fahuo-sim-auth-code".into(),
                token_ttl_secs: 7 * 86_400,
                refresh_ttl_secs: 14 * 86_400,
            },
            rate_limits: RateLimits::default(),
        }
    }
}

/// A running emulator. Dropping it (or [`SimHandle::shutdown`]) stops the server.
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts the emulators on `listener`; call from inside a tokio runtime.
pub fn start(config: SimConfig, listener: tokio::net::TcpListener) -> std::io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let sim = Sim::new(config, tx);
    let app = control::router(sim.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await;
    });
    let worker = tokio::spawn(push::worker(Arc::downgrade(&sim), rx));
    for p in Platform::ALL {
        if let Some(url) = sim.cfg.callbacks.get(p) {
            tokio::spawn(push::verify_callback(sim.clone(), p, url.clone()));
        }
    }
    // Scheduled events fall due as the sim clock moves on, even when nobody calls.
    let weak = Arc::downgrade(&sim);
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            match weak.upgrade() {
                Some(sim) => sim.tick(),
                None => return,
            }
        }
    });
    Ok(SimHandle {
        addr,
        sim,
        shutdown: Some(stop_tx),
        tasks: vec![server, worker, ticker],
    })
}

/// App credentials and base URLs of a running emulator.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimInfo {
    pub wechat_base_url: String,
    pub douyin_base_url: String,
    pub xiaohongshu_base_url: String,
    pub ledger_url: String,
    pub wechat: WechatApp,
    pub douyin: DouyinApp,
    pub xiaohongshu: XiaohongshuApp,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of one platform's emulator (no trailing slash).
    pub fn base_url(&self, p: Platform) -> String {
        format!("http://{}/{}", self.addr, p.as_str())
    }

    pub fn info(&self) -> SimInfo {
        control::info(&self.sim, &self.addr.to_string())
    }

    pub fn config(&self) -> &SimConfig {
        &self.sim.cfg
    }

    /// The ledger, with every order's current platform status.
    pub fn ledger(&self) -> LedgerSnapshot {
        self.sim.tick();
        self.sim.snapshot(None, true)
    }

    /// The emulator's truth: every order that exists now (optionally one platform's).
    pub fn orders(&self, platform: Option<Platform>) -> Vec<Order> {
        self.sim.tick();
        let st = self.sim.lock();
        let now = st.now_ms();
        st.orders
            .iter()
            .filter(|o| o.created_ms <= now && platform.is_none_or(|p| p == o.platform))
            .cloned()
            .collect()
    }

    pub fn order(&self, order_id: &str) -> Option<Order> {
        self.sim.tick();
        let st = self.sim.lock();
        let i = *st.index.get(order_id)?;
        let o = &st.orders[i];
        (o.created_ms <= st.now_ms()).then(|| o.clone())
    }

    /// Sim clock, unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.sim.lock().now_ms()
    }

    /// Moves the sim clock forward (tokens expire, scheduled events fire and push).
    pub fn advance_clock(&self, secs: i64) {
        self.sim.lock().offset_ms += secs * 1000;
        self.sim.tick();
    }

    pub fn set_fault_rate(&self, rate: f64) {
        self.sim.lock().fault_rate = rate.clamp(0.0, 1.0);
    }

    /// Sets or clears a push receiver; a new URL first gets the platform's URL check.
    pub fn set_callback(&self, p: Platform, url: Option<String>) {
        self.sim.set_callback(p, url);
    }

    /// Adds `count` orders on `platform`, placed within the next minute of sim time.
    pub fn generate_orders(&self, p: Platform, count: usize) -> Vec<String> {
        self.sim.generate_more(p, count)
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A human-readable summary: base URLs and credentials, for `fahuo sim` to print.
pub fn summary(h: &SimHandle) -> String {
    let i = h.info();
    let c = h.config();
    format!(
        "fahuo sim listening on http://{addr}  (seed {seed}, {n} orders per shop, fault rate {f})\n\
         ledger:      {ledger}\n\
         WeChat Shop: {wb}\n  appid={wa} secret={ws}\n  push token={wt} EncodingAESKey={wk}\n\
         Douyin Shop: {db}\n  app_key={da} app_secret={ds} shop_id={dshop}\n\
         Xiaohongshu: {xb}/ark/open_api/v3/common_controller\n  appId={xa} appSecret={xs} auth code={xc}\n",
        addr = h.addr(),
        seed = c.seed,
        n = c.orders,
        f = c.fault_rate,
        ledger = i.ledger_url,
        wb = i.wechat_base_url,
        wa = i.wechat.appid,
        ws = i.wechat.secret,
        wt = i.wechat.push_token,
        wk = i.wechat.encoding_aes_key,
        db = i.douyin_base_url,
        da = i.douyin.app_key,
        ds = i.douyin.app_secret,
        dshop = i.douyin.shop_id,
        xb = i.xiaohongshu_base_url,
        xa = i.xiaohongshu.app_id,
        xs = i.xiaohongshu.app_secret,
        xc = i.xiaohongshu.auth_code,
    )
}

/// What `fahuo sim --listen ADDR --seed S --orders N [--fault-rate F]` runs: binds, prints the
/// summary, and serves until Ctrl-C.
pub async fn serve(config: SimConfig, listen: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let handle = start(config, listener)?;
    println!("{}", summary(&handle));
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}
