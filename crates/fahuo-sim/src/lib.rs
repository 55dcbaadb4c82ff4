//! Emulators of the WeChat Shop (`channels/ec`), Douyin Shop and Xiaohongshu order APIs, and of
//! the e-waybill (电子面单) APIs of kuaidi100, kdniao and WeChat Shop.
//!
//! Each emulator is an independent implementation of the published protocol, written from
//! `reference/platform-apis.md` (the e-waybill ones from `crates/fahuo-carriers/WAYBILL-PROTOCOLS.md`)
//! and not from fahuo's adapters, so that an adapter's misunderstanding cannot be mirrored here.
//! One listener serves them all:
//!
//! | API | base URL | example call |
//! |---|---|---|
//! | WeChat Shop | `http://ADDR/wechat` | `POST {base}/channels/ec/order/list/get?access_token=..` |
//! | WeChat e-waybill | `http://ADDR/wechat` | `POST {base}/channels/ec/logistics/ewaybill/biz/order/create?access_token=..` |
//! | Douyin Shop | `http://ADDR/douyin` | `POST {base}/order/searchList?app_key=..&method=order.searchList&..` |
//! | Xiaohongshu | `http://ADDR/xiaohongshu` | `POST {base}/ark/open_api/v3/common_controller` |
//! | kuaidi100 e-waybill | `http://ADDR/kuaidi100` | `POST {base}/label/order` (form: `method`, `key`, `t`, `param`, `sign`) |
//! | kdniao e-waybill | `http://ADDR/kdniao` | `POST {base}/api/EOrderService` (form: `RequestData`, `EBusinessID`, `RequestType`, `DataSign`, `DataType`) |
//! | kuaidi100 tracking | `http://ADDR/kuaidi100` | `POST {base}/poll` (subscribe), `POST {base}/poll/query.do` (query) |
//! | kdniao tracking, pickup | `http://ADDR/kdniao` | `POST {base}/api/dist` (1008), `{base}/Ebusiness/EbusinessOrderHandle.aspx` (1002), `{base}/api/OOrderService` (1001, 1004) |
//! | SMS (Aliyun `SendSms`) | `http://ADDR/sms` | `POST {base}` (form or query: `Action=SendSms`, …, `Signature`) |
//! | WeChat buyer messages | `http://ADDR/wechat` | `POST {base}/cgi-bin/message/custom/send?access_token=..` |
//!
//! Control and inspection endpoints live under `http://ADDR/_sim/` (see [`control`]); the
//! e-waybill rules shared by the three services are described in [`waybill`].

// Handlers bail out early with a ready-made platform error `Response`; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod aftersale;
pub mod control;
pub mod douyin;
pub mod faults;
pub mod r#gen;
pub mod http;
pub mod ledger;
pub mod model;
pub mod push;
pub mod sms;
pub mod state;
pub mod tracking;
pub mod util;
pub mod waybill;
pub mod wechat;
pub mod wxmsg;
pub mod xiaohongshu;

pub use crate::faults::Fault;
pub use crate::r#gen::EventKind;
pub use crate::ledger::{
    AcceptedShipment, LedgerSnapshot, PushKind, ShipKind, ShipOutcome, ShipRecord, WaybillRecord,
    WaybillRejection, WaybillStatus,
};
pub use crate::model::{Order, Platform, Status};
pub use crate::sms::{SmsConfig, SmsRecord, SmsRejection, SmsSnapshot, SmsTemplate};
use crate::state::Sim;
pub use crate::tracking::trace::{
    Scenario as TrackingScenario, Stage as TrackingStage, TraceEvent,
};
pub use crate::tracking::{
    PickupRecord, TrackFault, TrackPushKind, TrackPushRecord, TrackService, TrackingConfig,
    TrackingFaults, TrackingSnapshot,
};
pub use crate::waybill::{Service as WaybillService, WaybillAccount};
pub use crate::wxmsg::{MessageRecord, MessagesSnapshot};
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

/// The kuaidi100 merchant the emulator accepts (`key`, `secret` sign every call) and its
/// carrier-site accounts (`partnerId`/`partnerKey`, one per carrier).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kuaidi100Merchant {
    pub key: String,
    pub secret: String,
    pub accounts: Vec<Kuaidi100Account>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Kuaidi100Account {
    /// kuaidi100 company code, e.g. `zhongtong`.
    pub kuaidicom: String,
    pub partner_id: String,
    pub partner_key: String,
    /// Checked only when a request sends `partnerSecret`.
    pub partner_secret: String,
    /// The carrier site (网点) name, informational.
    pub net: String,
}

/// The kdniao merchant (`EBusinessID`, `AppKey` sign every call) and its carrier accounts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KdniaoMerchant {
    pub ebusiness_id: String,
    pub app_key: String,
    pub accounts: Vec<KdniaoAccount>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KdniaoAccount {
    /// kdniao carrier code, e.g. `ZTO`, `YD`.
    pub shipper_code: String,
    /// Optional in requests; when sent, `CustomerName` and `CustomerPwd` must both match.
    pub customer_name: String,
    pub customer_pwd: String,
}

/// One WeChat shop's e-waybill account with one carrier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WechatEwaybillAccount {
    /// The WeChat shop (0-based) whose token sees this account.
    pub shop: u32,
    pub appid: String,
    pub delivery_id: String,
    pub acct_id: String,
    pub site_code: String,
    pub site_name: String,
}

/// Extra latency per e-waybill API, in milliseconds (0 = none).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WaybillLatency {
    pub kuaidi100: u64,
    pub kdniao: u64,
    pub wechat: u64,
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
    /// UNCONFIRMED stand-in: kuaidi100 publishes no e-waybill QPS; per merchant `key`.
    pub kuaidi100_per_sec: u32,
    /// UNCONFIRMED stand-in: per `EBusinessID`.
    pub kdniao_per_sec: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            wechat_per_sec: 200,
            douyin_per_sec: 200,
            xiaohongshu_app_per_sec: 100,
            xiaohongshu_method_per_sec: 200,
            kuaidi100_per_sec: 100,
            kdniao_per_sec: 100,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Orders generated per shop.
    pub orders: usize,
    /// Shops per platform (default 1). Shop 0 uses the credentials below as they are; shop k
    /// gets derived ones ([`SimConfig::wechat_app`], [`SimConfig::douyin_shop`],
    /// [`SimConfig::xiaohongshu_seller`]), so tenant isolation can be tested.
    pub shops_per_platform: usize,
    /// Share of API calls that get an injected fault, and of pushes that get a push fault.
    pub fault_rate: f64,
    /// Unix seconds the sim clock starts at; `None` = the real time.
    pub now: Option<i64>,
    /// Generated history spans `[now - history_secs, now]`.
    pub history_secs: i64,
    /// Follow-up events and new orders land within `future_secs` after now.
    pub future_secs: i64,
    /// `true` (default): generated orders keep changing after start (payments, cancellations,
    /// refunds, address and note changes, new orders). `false`: the generated shop stands still
    /// and changes only through API calls, `generate_orders` and the trickle, which makes
    /// field-by-field comparisons with [`SimHandle::orders`] race-free.
    pub live: bool,
    /// Share of `orders` that are placed after now, while the emulator runs.
    pub future_share: f64,
    /// How long an injected timeout stalls; set it above the client's timeout.
    pub timeout_delay: Duration,
    /// Multiplies the platforms' push retry delays (1.0 = as documented; tests use less).
    pub push_retry_scale: f64,
    /// Ship-by deadline of ordinary orders after payment (default 48 h; the reference advises
    /// against hard-coding it, so it is a setting). Presale orders get a promised window instead.
    pub ship_within_secs: i64,
    /// New orders placed per platform per sim minute while the emulator runs (0 = none), so a
    /// long-running demo keeps receiving traffic.
    pub trickle_per_minute: usize,
    /// PII decryptions allowed per platform per day (Beijing calendar day on the sim clock).
    pub decrypt_quota: u32,
    pub callbacks: Callbacks,
    pub wechat: WechatApp,
    pub douyin: DouyinApp,
    pub xiaohongshu: XiaohongshuApp,
    pub rate_limits: RateLimits,
    /// kuaidi100 e-waybill merchant and partner accounts (`/kuaidi100`).
    pub kuaidi100: Kuaidi100Merchant,
    /// kdniao e-waybill merchant and carrier accounts (`/kdniao`).
    pub kdniao: KdniaoMerchant,
    /// Carriers (`delivery_id`) with which every WeChat shop has an e-waybill account
    /// ([`SimConfig::wechat_ewaybill_accounts`]).
    pub wechat_ewaybill_carriers: Vec<String>,
    /// The waybill balance every e-waybill account starts with.
    pub waybill_balance: u64,
    /// Latency added to every e-waybill call before it is looked at (also `POST /_sim/latency`).
    pub waybill_latency_ms: WaybillLatency,
    /// Tracking accounts (kuaidi100 `customer`/`key`, kdniao `EBusinessID`/`AppKey` and the
    /// kdniao push URL) and tracking push faults.
    pub tracking: TrackingConfig,
    /// The Aliyun SMS account, signatures and templates (`/sms`).
    pub sms: SmsConfig,
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

impl SimConfig {
    fn shops(&self) -> u32 {
        self.shops_per_platform.max(1) as u32
    }

    /// WeChat Shop `shop`'s own app: every 小店 has its own appid, secret and push keys.
    pub fn wechat_app(&self, shop: u32) -> WechatApp {
        let base = &self.wechat;
        if shop == 0 {
            return base.clone();
        }
        // Keep the EncodingAESKey 43 base64 characters long: replace its first two.
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let k = shop as usize;
        let key: String = [B64[k / 64 % 64] as char, B64[k % 64] as char]
            .into_iter()
            .chain(base.encoding_aes_key.chars().skip(2))
            .collect();
        WechatApp {
            appid: format!("{}{shop:02}", base.appid),
            secret: format!("{}{shop:02}", base.secret),
            push_token: format!("{}{shop:02}", base.push_token),
            encoding_aes_key: key,
            username: format!("{}{shop:02}", base.username),
            token_ttl_secs: base.token_ttl_secs,
        }
    }

    /// Douyin shop `shop` under the one app: (`shop_id`, shop name).
    pub fn douyin_shop(&self, shop: u32) -> (i64, String) {
        if shop == 0 {
            (self.douyin.shop_id, self.douyin.shop_name.clone())
        } else {
            (
                self.douyin.shop_id + shop as i64,
                format!("{} {}号店", self.douyin.shop_name, shop + 1),
            )
        }
    }

    /// Xiaohongshu seller `shop` under the one app: (`sellerId`, seller name, auth `code`).
    pub fn xiaohongshu_seller(&self, shop: u32) -> (String, String, String) {
        let x = &self.xiaohongshu;
        if shop == 0 {
            (
                x.seller_id.clone(),
                x.seller_name.clone(),
                x.auth_code.clone(),
            )
        } else {
            (
                format!("{}{shop:02}", x.seller_id),
                format!("{} {}号店", x.seller_name, shop + 1),
                format!("{}-{shop}", x.auth_code),
            )
        }
    }

    /// WeChat shop `shop`'s e-waybill accounts, one per carrier in `wechat_ewaybill_carriers`.
    /// The `acct_id` is derived from the shop's appid, so every shop has its own.
    pub fn wechat_ewaybill_accounts(&self, shop: u32) -> Vec<WechatEwaybillAccount> {
        let appid = self.wechat_app(shop).appid;
        self.wechat_ewaybill_carriers
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let h = crate::util::md5_hex(format!("ewaybill|{appid}|{d}").as_bytes());
                let n = u64::from_str_radix(&h[..15], 16).unwrap_or(0) % 1_000_000_000_000;
                WechatEwaybillAccount {
                    shop,
                    appid: appid.clone(),
                    delivery_id: d.clone(),
                    acct_id: format!("{n:012}"),
                    site_code: format!("571{:03}", i + 1),
                    site_name: format!("杭州西湖{d}网点"),
                }
            })
            .collect()
    }

    /// The WeChat shop whose appid this is.
    pub fn wechat_shop_of(&self, appid: &str) -> Option<u32> {
        (0..self.shops()).find(|k| self.wechat_app(*k).appid == appid)
    }

    /// The Douyin shop with this `shop_id`.
    pub fn douyin_shop_of(&self, shop_id: i64) -> Option<u32> {
        (0..self.shops()).find(|k| self.douyin_shop(*k).0 == shop_id)
    }

    /// The Xiaohongshu seller this auth `code` belongs to.
    pub fn xiaohongshu_seller_of_code(&self, code: &str) -> Option<u32> {
        (0..self.shops()).find(|k| self.xiaohongshu_seller(*k).2 == code)
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            orders: 200,
            shops_per_platform: 1,
            fault_rate: 0.0,
            now: None,
            history_secs: 3 * 86_400,
            live: true,
            future_secs: 3600,
            future_share: 0.05,
            timeout_delay: Duration::from_secs(12),
            push_retry_scale: 1.0,
            trickle_per_minute: 0,
            ship_within_secs: 48 * 3600,
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
            kuaidi100: default_kuaidi100(),
            kdniao: default_kdniao(),
            wechat_ewaybill_carriers: ["ZTO", "YTO", "YUNDA", "STO", "JTSD", "SF"]
                .map(String::from)
                .to_vec(),
            waybill_balance: 100_000,
            waybill_latency_ms: WaybillLatency::default(),
            tracking: TrackingConfig::default(),
            sms: SmsConfig::default(),
        }
    }
}

/// Fixed, like the platform apps: partner credentials are derived from the company code so each
/// carrier's differ and stay the same from run to run.
fn default_kuaidi100() -> Kuaidi100Merchant {
    let companies = [
        "zhongtong",
        "yuantong",
        "shunfeng",
        "jtexpress",
        "yunda",
        "shentong",
        "jd",
        "ems",
        "youzhengguonei",
        "debangkuaidi",
    ];
    Kuaidi100Merchant {
        key: "fhSimK100key2025".into(),
        secret: "8a3f5c7e9b1d2f4a6c8e0b2d4f6a8c0e".into(),
        accounts: companies
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let h = crate::util::md5_hex(format!("kuaidi100|{c}").as_bytes());
                Kuaidi100Account {
                    kuaidicom: c.to_string(),
                    partner_id: format!("K571{:04}", 1001 + i),
                    partner_key: h[..12].to_string(),
                    partner_secret: h[12..28].to_string(),
                    net: "杭州西湖".into(),
                }
            })
            .collect(),
    }
}

fn default_kdniao() -> KdniaoMerchant {
    let shippers = [
        "ZTO", "YTO", "SF", "JTSD", "YD", "STO", "JD", "EMS", "YZPY", "DBL",
    ];
    KdniaoMerchant {
        ebusiness_id: "1688571".into(),
        app_key: "3c9e6a1f-5b7d-4e2a-9c8f-0d1e2f3a4b5c".into(),
        accounts: shippers
            .iter()
            .map(|s| {
                let h = crate::util::md5_hex(format!("kdniao|{s}").as_bytes());
                KdniaoAccount {
                    shipper_code: s.to_string(),
                    customer_name: format!("fh{}571", s.to_lowercase()),
                    customer_pwd: h[..10].to_string(),
                }
            })
            .collect(),
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
    let weak_for_tracking = Arc::downgrade(&sim);
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
    let track_rx = sim.track_rx.lock().ok().and_then(|mut r| r.take());
    let track_worker = tokio::spawn(async move {
        if let Some(rx) = track_rx {
            tracking::worker(weak_for_tracking, rx).await;
        }
    });
    for p in Platform::ALL {
        if let Some(url) = sim.cfg.callbacks.get(p) {
            tokio::spawn(push::verify_callback(sim.clone(), p, url.clone()));
        }
    }
    // Scheduled events fall due as the sim clock moves on, even when nobody calls.
    let weak = Arc::downgrade(&sim);
    let ticker = tokio::spawn(async move {
        let mut last_minute: Option<i64> = None;
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let Some(sim) = weak.upgrade() else { return };
            sim.tick();
            let trickle = sim.cfg.trickle_per_minute;
            if trickle > 0 {
                let minute = sim.lock().now_ms() / 60_000;
                // A big clock jump adds at most ten minutes' worth, not a flood.
                let elapsed = last_minute.map_or(0, |m| (minute - m).clamp(0, 10));
                for _ in 0..elapsed {
                    for p in Platform::ALL {
                        for shop in 0..sim.cfg.shops_per_platform.max(1) as u32 {
                            sim.generate_more_for(p, shop, trickle);
                        }
                    }
                }
                last_minute = Some(minute);
            }
        }
    });
    Ok(SimHandle {
        addr,
        sim,
        shutdown: Some(stop_tx),
        tasks: vec![server, worker, track_worker, ticker],
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
    /// Every shop's WeChat app (shop 0 first).
    pub wechat_shops: Vec<WechatApp>,
    /// Every Douyin shop under the app: `shop_id` and name.
    pub douyin_shops: Vec<DouyinShopInfo>,
    /// Every Xiaohongshu seller under the app, with the auth `code` that binds a token to it.
    pub xiaohongshu_sellers: Vec<XiaohongshuSellerInfo>,
    /// `POST {kuaidi100_base_url}/label/order`.
    pub kuaidi100_base_url: String,
    /// `POST {kdniao_base_url}/api/EOrderService`.
    pub kdniao_base_url: String,
    /// kuaidi100 `key`/`secret` and the partner accounts per `kuaidicom`.
    pub kuaidi100: Kuaidi100Merchant,
    /// kdniao `EBusinessID`/`AppKey` and `CustomerName`/`CustomerPwd` per `ShipperCode`.
    pub kdniao: KdniaoMerchant,
    /// Every WeChat shop's e-waybill accounts (`acct_id` per `delivery_id`); the shop's token
    /// (see `wechat_shops`) is what sees them.
    pub wechat_ewaybill_accounts: Vec<WechatEwaybillAccount>,
    /// Tracking accounts: `POST {kuaidi100_base_url}/poll`, `{kuaidi100_base_url}/poll/query.do`,
    /// `{kdniao_base_url}/api/dist`, `/Ebusiness/EbusinessOrderHandle.aspx`, `/api/OOrderService`.
    #[serde(default)]
    pub tracking: TrackingConfig,
    /// `GET|POST` Aliyun `SendSms` here.
    #[serde(default)]
    pub sms_url: String,
    #[serde(default)]
    pub sms: SmsConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DouyinShopInfo {
    pub shop_id: i64,
    pub shop_name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct XiaohongshuSellerInfo {
    pub seller_id: String,
    pub seller_name: String,
    pub auth_code: String,
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

    /// How many shipments the platforms accepted for orders `counted` picks: what
    /// [`ledger`](Self::ledger)`.accepted_shipments()` tells, without copying the ledger (a
    /// driver asking every few milliseconds would hold the emulators' lock copying it).
    pub fn accepted_shipment_count(&self, counted: impl Fn(&str) -> bool) -> usize {
        let st = self.sim.lock();
        st.ledger
            .ships
            .iter()
            .filter(|s| s.is_accepted_ship() && counted(&s.order_id))
            .count()
    }

    /// Every parcel's visible state now, as [`tracking_snapshot`](Self::tracking_snapshot) has
    /// it, without the subscriptions, pushes and queries that snapshot copies too.
    pub fn parcel_views(&self) -> std::collections::BTreeMap<String, tracking::ParcelView> {
        self.sim.tick();
        let st = self.sim.lock();
        st.tracking.views(st.now_ms())
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

    /// After-sales and every decision on them (optionally one platform's).
    pub fn after_sales(&self, platform: Option<Platform>) -> crate::aftersale::AfterSaleLedger {
        self.sim.tick();
        crate::aftersale::ledger(&self.sim, platform)
    }

    /// The buyer asks for an after-sale on `order_id` now; `None` when the order cannot have one
    /// of this kind (refund-only needs a paid order; return/exchange a shipped line).
    pub fn open_after_sale(&self, order_id: &str, kind: crate::aftersale::Kind) -> Option<String> {
        self.sim.tick();
        crate::aftersale::open_now(&self.sim, order_id, kind)
    }

    pub fn order(&self, order_id: &str) -> Option<Order> {
        self.sim.tick();
        let st = self.sim.lock();
        let i = *st.index.get(order_id)?;
        let o = &st.orders[i];
        (o.created_ms <= st.now_ms()).then(|| o.clone())
    }

    /// The buyer moves `order_id` to a new (generated) address now, as the platforms allow
    /// while an order waits to ship: its update time moves and the change is pushed. Returns
    /// whether the order changed (it exists and waits to ship).
    pub fn change_address(&self, order_id: &str) -> bool {
        let before = {
            let mut st = self.sim.lock();
            let Some(&idx) = st.index.get(order_id) else {
                return false;
            };
            let now = st.now_ms();
            let o = &st.orders[idx];
            let version = o.address_version;
            // Seeded by the order and its address version: the same run moves to the same
            // addresses.
            let seed = order_id
                .bytes()
                .fold(u64::from(version), |h, b| h.wrapping_mul(31) ^ u64::from(b));
            let receiver = r#gen::receiver(&mut util::Rng::new(seed), o.created_ms / 1000);
            st.schedule(
                now,
                idx,
                EventKind::AddressChange {
                    receiver: Box::new(receiver),
                },
            );
            version
        };
        self.sim.tick();
        let st = self.sim.lock();
        st.index
            .get(order_id)
            .is_some_and(|&i| st.orders[i].address_version > before)
    }

    /// Pushes queued, being delivered, held back or waiting for a retry.
    pub fn pushes_in_flight(&self) -> usize {
        self.sim.inflight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until no push is in flight (or `timeout` passes); returns whether it got there.
    pub async fn wait_pushes_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.sim.tick();
            if self.pushes_in_flight() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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

    /// Makes the next call to `api` on `platform` meet `fault`, whatever the fault rate.
    /// `api` is the name the ledger uses: a WeChat path after the base
    /// (`channels/ec/order/delivery/send`), a Douyin or Xiaohongshu method (`order.logisticsAdd`).
    /// Several forced faults for one API apply to its next calls in the order they were queued.
    pub fn force_fault(&self, platform: Platform, api: &str, fault: Fault) {
        self.sim.lock().forced_faults.push(faults::ForcedFault {
            platform,
            api: api.to_string(),
            fault,
        });
    }

    /// Sets or clears a push receiver; a new URL first gets the platform's URL check.
    pub fn set_callback(&self, p: Platform, url: Option<String>) {
        self.sim.set_callback(p, url);
    }

    /// Adds `count` orders on `platform`, placed within the next minute of sim time.
    pub fn generate_orders(&self, p: Platform, count: usize) -> Vec<String> {
        self.sim.generate_more(p, count)
    }

    /// Adds `count` orders to one shop of `platform`.
    pub fn generate_orders_for(&self, p: Platform, shop: u32, count: usize) -> Vec<String> {
        self.sim.generate_more_for(p, shop, count)
    }

    /// Base URL of one e-waybill API: kuaidi100 and kdniao have their own, WeChat's is the
    /// WeChat Shop base.
    pub fn waybill_base_url(&self, s: WaybillService) -> String {
        format!("http://{}/{}", self.addr, s.as_str())
    }

    /// Every e-waybill number issued so far, with its status.
    pub fn waybills(&self) -> Vec<WaybillRecord> {
        self.sim.lock().waybills.records.clone()
    }

    /// Every e-waybill account with its balance and counts.
    pub fn waybill_accounts(&self) -> Vec<WaybillAccount> {
        self.sim.lock().waybills.accounts.clone()
    }

    /// Sets the waybill balance of one account (`partnerId`, `CustomerName` or `acct_id`), or of
    /// every account of `service` when `account` is `None`. Returns how many were changed.
    pub fn set_waybill_balance(
        &self,
        service: WaybillService,
        account: Option<&str>,
        balance: u64,
    ) -> usize {
        self.sim
            .lock()
            .waybills
            .set_balance(Some(service), account, balance)
    }

    /// Adds `latency` to every call of one e-waybill API.
    pub fn set_waybill_latency(&self, service: WaybillService, latency: Duration) {
        let ms = latency.as_millis() as u64;
        let mut st = self.sim.lock();
        let l = &mut st.waybills.latency;
        match service {
            WaybillService::Kuaidi100 => l.kuaidi100 = ms,
            WaybillService::Kdniao => l.kdniao = ms,
            WaybillService::Wechat => l.wechat = ms,
        }
    }

    /// Base URL of the SMS gateway (`POST` or `GET` it with the Aliyun RPC parameters).
    pub fn sms_url(&self) -> String {
        format!("http://{}/sms", self.addr)
    }

    /// Tracking ledger: subscriptions, push counts and records, every parcel's visible state.
    pub fn tracking_snapshot(&self) -> TrackingSnapshot {
        self.sim.tick();
        let st = self.sim.lock();
        st.tracking.snapshot(st.now_ms(), true)
    }

    /// A parcel's whole timeline (future events included), if any tracking call named it.
    pub fn trace(&self, tracking_no: &str) -> Option<Vec<TraceEvent>> {
        let st = self.sim.lock();
        st.tracking
            .parcels
            .get(tracking_no)
            .map(|p| p.events.to_vec())
    }

    /// Forces how a number's journey ends (before or after it was first named).
    pub fn force_tracking_scenario(&self, tracking_no: &str, scenario: TrackingScenario) {
        let mut st = self.sim.lock();
        let now = st.now_ms();
        let seed = self.sim.cfg.seed;
        st.tracking.force_scenario(tracking_no, scenario, seed, now);
    }

    /// Sets the share of tracking pushes that get each fault.
    pub fn set_tracking_faults(&self, faults: TrackingFaults) {
        self.sim.lock().tracking.faults = faults;
    }

    /// Makes the next tracking push (either service) meet `fault`; several queue in order.
    pub fn force_tracking_fault(&self, fault: TrackFault) {
        self.sim.lock().tracking.forced_faults.push_back(fault);
    }

    /// Sets or clears the kdniao account's push URL; a new URL wakes every kdniao subscription.
    pub fn set_kdniao_callback(&self, url: Option<String>) {
        let mut st = self.sim.lock();
        let now = st.now_ms();
        st.tracking.kdniao_callback = url;
        st.tracking.wake_kdniao(now);
    }

    /// Pickups booked through kdniao 1001, with their cancellations.
    pub fn pickups(&self) -> Vec<PickupRecord> {
        self.sim.lock().tracking.pickups.clone()
    }

    /// SMS messages sent and refused.
    pub fn sms_snapshot(&self) -> SmsSnapshot {
        self.sim.lock().sms.snapshot()
    }

    /// WeChat customer-service messages sent and refused.
    pub fn messages_snapshot(&self) -> MessagesSnapshot {
        self.sim.lock().messages.snapshot()
    }

    /// Records that a buyer interacted with the shop now (opens a 48 h message window).
    pub fn buyer_interacted(&self, openid: &str) {
        let mut st = self.sim.lock();
        let now = st.now_ms();
        st.messages.interactions.insert(openid.to_string(), now);
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
         Xiaohongshu: {xb}/ark/open_api/v3/common_controller\n  appId={xa} appSecret={xs} auth code={xc}\n\
         kuaidi100 e-waybill: {kb}/label/order\n  key={kk} secret={ks}\n{ka}\
         kdniao e-waybill: {nb}/api/EOrderService\n  EBusinessID={ne} AppKey={nk}\n{na}\
         WeChat e-waybill: {wb}/channels/ec/logistics/ewaybill/biz/…\n{wea}\
         kuaidi100 tracking: {kb}/poll, {kb}/poll/query.do\n  customer={tc} key={tk}\n\
         kdniao tracking: {nb}/api/dist (1008), {nb}/Ebusiness/EbusinessOrderHandle.aspx (1002), {nb}/api/OOrderService (1001/1004)\n  EBusinessID={te} AppKey={ta}\n\
         SMS (Aliyun SendSms): http://{addr}/sms\n  AccessKeyId={sk} secret={ss}\n\
         WeChat buyer messages: {wb}/cgi-bin/message/custom/send\n",
        tc = c.tracking.kuaidi100_customer,
        tk = c.tracking.kuaidi100_key,
        te = c.tracking.kdniao_ebusiness_id,
        ta = c.tracking.kdniao_app_key,
        sk = c.sms.access_key_id,
        ss = c.sms.access_key_secret,
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
        kb = i.kuaidi100_base_url,
        kk = i.kuaidi100.key,
        ks = i.kuaidi100.secret,
        ka = i
            .kuaidi100
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "  {} partnerId={} partnerKey={}\n",
                    a.kuaidicom, a.partner_id, a.partner_key
                )
            })
            .collect::<String>(),
        nb = i.kdniao_base_url,
        ne = i.kdniao.ebusiness_id,
        nk = i.kdniao.app_key,
        na = i
            .kdniao
            .accounts
            .iter()
            .map(|a| {
                format!(
                    "  {} CustomerName={} CustomerPwd={}\n",
                    a.shipper_code, a.customer_name, a.customer_pwd
                )
            })
            .collect::<String>(),
        wea = i
            .wechat_ewaybill_accounts
            .iter()
            .map(|a| format!(
                "  shop {} {} acct_id={}\n",
                a.shop, a.delivery_id, a.acct_id
            ))
            .collect::<String>(),
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
