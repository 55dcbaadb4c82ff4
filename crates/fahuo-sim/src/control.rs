//! The `/_sim/` endpoints for tests and the demo, and the router that mounts every platform.
//!
//! * `GET  /_sim/info`: base URLs and credentials.
//! * `GET  /_sim/ledger[?platform=wechat|douyin|xiaohongshu][&orders=false]`: the ledger.
//! * `GET  /_sim/orders/{order_id}`: the emulator's truth about one order (plaintext PII).
//! * `POST /_sim/clock` `{"advance_secs": N}`: move the sim clock forward.
//! * `GET  /_sim/ledger/aftersales[?platform=…]`: after-sales and decisions on them;
//!   `POST /_sim/aftersales {order_id, kind}` opens one now.
//! * `GET  /_sim/ledger/shipments[?platform=…]`: accepted new parcels per order
//!   (`{"<order id>": {"accepted": [{api, carrier, tracking_no, at_ms}], "current": [parcels]}}`),
//!   the answer to "was each order shipped exactly once with this carrier and number".
//! * `POST /_sim/faults` `{"rate"?: F, "next"?: [{"platform": "wechat", "api":
//!   "channels/ec/order/delivery/send", "fault": "timeout_after"}]}`: set the fault rate and/or
//!   queue faults for the next calls of an API (`server_error`, `timeout_before`,
//!   `timeout_after`, `rate_limited`).
//! * `POST /_sim/orders` `{"platform": "douyin", "count": N}`: place N new orders within a minute.
//! * `POST /_sim/callbacks` `{"wechat": "http://...", "douyin": null, ...}`: set push receivers
//!   (a key that is absent is left as it is; `null` switches pushes off).
//! * `GET  /_sim/waybill/accounts`: every e-waybill account with its balance and counts.
//! * `POST /_sim/waybill/balance` `{"service"?: "kuaidi100"|"kdniao"|"wechat", "account"?: "…",
//!   "balance": N}`: set the waybill balance of one account (`partnerId`, `CustomerName` or
//!   `acct_id`), of a service's accounts, or of all; answers the accounts.
//! * `POST /_sim/latency` `{"kuaidi100"?: ms, "kdniao"?: ms, "wechat"?: ms}`: added latency per
//!   e-waybill API (absent keys are left as they are); answers the current values.
//!
//! * `GET  /_sim/ledger/tracking[?pushes=false]`: tracking subscriptions, push counts per
//!   service (sent, acknowledged, refused, forged …), push records, every parcel's visible state.
//! * `GET  /_sim/ledger/pickups`, `GET /_sim/ledger/sms`, `GET /_sim/ledger/messages`.
//! * `GET  /_sim/tracking/{number}`: a parcel's whole timeline, future events included.
//! * `POST /_sim/tracking/scenario` `{"tracking_no": "…", "scenario": "signed|proxy|locker|
//!   problem|refused_return|stuck|never_picked_up"}`: force how a number's journey ends.
//! * `POST /_sim/tracking/faults` `{"duplicate"?: F, "out_of_order"?: F, "late"?: F,
//!   "forged"?: F, "next"?: ["forged", …]}`: tracking push fault rates, and faults for the next
//!   pushes.
//! * `POST /_sim/tracking/kdniao_callback` `{"url": "http://…" | null}`: the kdniao account's
//!   push URL.
//! * `POST /_sim/messages/interact` `{"openid": "…"}`: the buyer interacted now (opens WeChat's
//!   48 h customer-service window).
//!
//! The router also mounts the e-waybill emulators: `/kuaidi100` ([`crate::waybill::kuaidi100`]),
//! `/kdniao` ([`crate::waybill::kdniao`]), and the WeChat ones under `/wechat`
//! ([`crate::waybill::wechat`]).

use crate::model::Platform;
use crate::state::Sim;
use crate::waybill::{Service, WaybillAccount};
use crate::{DouyinShopInfo, SimInfo, XiaohongshuSellerInfo};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .nest("/wechat", crate::wechat::router())
        .nest("/douyin", crate::douyin::router())
        .nest("/xiaohongshu", crate::xiaohongshu::router())
        .nest(
            "/kuaidi100",
            crate::waybill::kuaidi100::router().merge(crate::tracking::kuaidi100::router()),
        )
        .nest(
            "/kdniao",
            crate::waybill::kdniao::router().merge(crate::tracking::kdniao::router()),
        )
        .route("/sms", get(crate::sms::handle).post(crate::sms::handle))
        .route("/sms/", get(crate::sms::handle).post(crate::sms::handle))
        .route("/_sim/ledger/tracking", get(tracking_ledger_h))
        .route("/_sim/ledger/pickups", get(pickups_h))
        .route("/_sim/ledger/sms", get(sms_ledger_h))
        .route("/_sim/ledger/messages", get(messages_ledger_h))
        .route("/_sim/tracking/scenario", post(scenario_h))
        .route("/_sim/tracking/faults", post(tracking_faults_h))
        .route("/_sim/tracking/kdniao_callback", post(kdniao_callback_h))
        .route("/_sim/tracking/{number}", get(trace_h))
        .route("/_sim/messages/interact", post(interact_h))
        .route("/_sim/info", get(info_h))
        .route("/_sim/ledger", get(ledger_h))
        .route("/_sim/ledger/shipments", get(shipments_h))
        .route("/_sim/ledger/aftersales", get(aftersales_h))
        .route("/_sim/aftersales", post(open_aftersale_h))
        .route("/_sim/orders/{order_id}", get(order_h))
        .route("/_sim/orders", post(generate_h))
        .route("/_sim/clock", post(clock_h))
        .route("/_sim/faults", post(faults_h))
        .route("/_sim/callbacks", post(callbacks_h))
        .route("/_sim/waybill/accounts", get(waybill_accounts_h))
        .route("/_sim/waybill/balance", post(waybill_balance_h))
        .route("/_sim/latency", post(latency_h))
        .with_state(sim)
}

pub fn info(sim: &Sim, addr: &str) -> SimInfo {
    let shops = 0..sim.cfg.shops_per_platform.max(1) as u32;
    SimInfo {
        wechat_base_url: format!("http://{addr}/wechat"),
        douyin_base_url: format!("http://{addr}/douyin"),
        xiaohongshu_base_url: format!("http://{addr}/xiaohongshu"),
        ledger_url: format!("http://{addr}/_sim/ledger"),
        wechat: sim.cfg.wechat.clone(),
        douyin: sim.cfg.douyin.clone(),
        xiaohongshu: sim.cfg.xiaohongshu.clone(),
        wechat_shops: shops.clone().map(|k| sim.cfg.wechat_app(k)).collect(),
        douyin_shops: shops
            .clone()
            .map(|k| {
                let (shop_id, shop_name) = sim.cfg.douyin_shop(k);
                DouyinShopInfo { shop_id, shop_name }
            })
            .collect(),
        xiaohongshu_sellers: shops
            .clone()
            .map(|k| {
                let (seller_id, seller_name, auth_code) = sim.cfg.xiaohongshu_seller(k);
                XiaohongshuSellerInfo {
                    seller_id,
                    seller_name,
                    auth_code,
                }
            })
            .collect(),
        kuaidi100_base_url: format!("http://{addr}/kuaidi100"),
        kdniao_base_url: format!("http://{addr}/kdniao"),
        kuaidi100: sim.cfg.kuaidi100.clone(),
        kdniao: sim.cfg.kdniao.clone(),
        wechat_ewaybill_accounts: shops
            .flat_map(|k| sim.cfg.wechat_ewaybill_accounts(k))
            .collect(),
        tracking: sim.cfg.tracking.clone(),
        sms_url: format!("http://{addr}/sms"),
        sms: sim.cfg.sms.clone(),
    }
}

fn parse_platform(s: &str) -> Option<Platform> {
    Platform::ALL.into_iter().find(|p| p.as_str() == s)
}

async fn info_h(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Json<SimInfo> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    Json(info(&sim, &host))
}

async fn ledger_h(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.tick();
    let platform = match q.get("platform") {
        Some(p) => match parse_platform(p) {
            Some(p) => Some(p),
            None => return (StatusCode::BAD_REQUEST, "unknown platform").into_response(),
        },
        None => None,
    };
    let with_orders = q.get("orders").is_none_or(|v| v != "false");
    Json(sim.snapshot(platform, with_orders)).into_response()
}

async fn order_h(State(sim): State<Arc<Sim>>, Path(order_id): Path<String>) -> Response {
    sim.tick();
    let st = sim.lock();
    match st
        .index
        .get(&order_id)
        .map(|&i| &st.orders[i])
        .filter(|o| o.created_ms <= st.now_ms())
    {
        Some(o) => Json(o).into_response(),
        None => (StatusCode::NOT_FOUND, "no such order").into_response(),
    }
}

#[derive(Deserialize)]
struct GenerateBody {
    platform: Option<String>,
    count: usize,
}

async fn generate_h(State(sim): State<Arc<Sim>>, Json(b): Json<GenerateBody>) -> Response {
    let platforms: Vec<Platform> = match b.platform.as_deref() {
        Some(p) => match parse_platform(p) {
            Some(p) => vec![p],
            None => return (StatusCode::BAD_REQUEST, "unknown platform").into_response(),
        },
        None => Platform::ALL.to_vec(),
    };
    let mut out = serde_json::Map::new();
    for p in platforms {
        out.insert(
            p.as_str().to_string(),
            json!(sim.generate_more(p, b.count.min(100_000))),
        );
    }
    Json(Value::Object(out)).into_response()
}

#[derive(Deserialize)]
struct ClockBody {
    advance_secs: i64,
}

async fn clock_h(State(sim): State<Arc<Sim>>, Json(b): Json<ClockBody>) -> Json<Value> {
    let now = {
        let mut st = sim.lock();
        st.offset_ms += b.advance_secs.max(0) * 1000;
        st.now_ms()
    };
    sim.tick();
    Json(json!({ "clock_ms": now }))
}

#[derive(Deserialize)]
struct FaultsBody {
    rate: Option<f64>,
    #[serde(default)]
    next: Vec<crate::faults::ForcedFault>,
}

async fn faults_h(State(sim): State<Arc<Sim>>, Json(b): Json<FaultsBody>) -> Json<Value> {
    let mut st = sim.lock();
    if let Some(rate) = b.rate {
        st.fault_rate = rate.clamp(0.0, 1.0);
    }
    st.forced_faults.extend(b.next);
    Json(json!({ "fault_rate": st.fault_rate, "next": st.forced_faults }))
}

/// Accepted new parcels per order (`LedgerSnapshot::accepted_shipments`), and each of those
/// orders' current parcels (after any changes).
async fn shipments_h(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.tick();
    let platform = match q.get("platform") {
        Some(p) => match parse_platform(p) {
            Some(p) => Some(p),
            None => return (StatusCode::BAD_REQUEST, "unknown platform").into_response(),
        },
        None => None,
    };
    let snap = sim.snapshot(platform, false);
    let accepted = snap.accepted_shipments();
    let st = sim.lock();
    let out: serde_json::Map<String, Value> = accepted
        .into_iter()
        .map(|(id, ships)| {
            let current = st
                .index
                .get(&id)
                .map(|&i| json!(st.orders[i].shipments))
                .unwrap_or(Value::Null);
            (id, json!({ "accepted": ships, "current": current }))
        })
        .collect();
    Json(Value::Object(out)).into_response()
}

async fn callbacks_h(
    State(sim): State<Arc<Sim>>,
    Json(b): Json<HashMap<String, Option<String>>>,
) -> Response {
    let mut parsed = Vec::new();
    for (k, v) in b {
        let Some(p) = parse_platform(&k) else {
            return (StatusCode::BAD_REQUEST, "unknown platform").into_response();
        };
        parsed.push((p, v));
    }
    for (p, v) in parsed {
        sim.set_callback(p, v);
    }
    let st = sim.lock();
    let cbs: HashMap<&str, &String> = st.callbacks.iter().map(|(p, u)| (p.as_str(), u)).collect();
    Json(json!(cbs)).into_response()
}

async fn waybill_accounts_h(State(sim): State<Arc<Sim>>) -> Json<Vec<WaybillAccount>> {
    Json(sim.lock().waybills.accounts.clone())
}

#[derive(Deserialize)]
struct BalanceBody {
    service: Option<String>,
    account: Option<String>,
    balance: u64,
}

async fn waybill_balance_h(State(sim): State<Arc<Sim>>, Json(b): Json<BalanceBody>) -> Response {
    let service = match b.service.as_deref() {
        None => None,
        Some(s) => match Service::parse(s) {
            Some(s) => Some(s),
            None => return (StatusCode::BAD_REQUEST, "unknown service").into_response(),
        },
    };
    let mut st = sim.lock();
    let changed = st
        .waybills
        .set_balance(service, b.account.as_deref(), b.balance);
    if changed == 0 {
        return (StatusCode::NOT_FOUND, "no such e-waybill account").into_response();
    }
    Json(st.waybills.accounts.clone()).into_response()
}

#[derive(Deserialize)]
struct LatencyBody {
    kuaidi100: Option<u64>,
    kdniao: Option<u64>,
    wechat: Option<u64>,
}

async fn latency_h(State(sim): State<Arc<Sim>>, Json(b): Json<LatencyBody>) -> Json<Value> {
    let mut st = sim.lock();
    let l = &mut st.waybills.latency;
    // Capped at ten minutes: a typo must not park requests forever.
    let cap = |ms: u64| ms.min(600_000);
    if let Some(ms) = b.kuaidi100 {
        l.kuaidi100 = cap(ms);
    }
    if let Some(ms) = b.kdniao {
        l.kdniao = cap(ms);
    }
    if let Some(ms) = b.wechat {
        l.wechat = cap(ms);
    }
    Json(json!(l))
}

/// `GET /_sim/ledger/aftersales[?platform=…]`: after-sale records and every decision on them.
async fn aftersales_h(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    sim.tick();
    let platform = match q.get("platform") {
        Some(p) => match parse_platform(p) {
            Some(p) => Some(p),
            None => return (StatusCode::BAD_REQUEST, "unknown platform").into_response(),
        },
        None => None,
    };
    Json(crate::aftersale::ledger(&sim, platform)).into_response()
}

#[derive(Deserialize)]
struct OpenAfterSaleBody {
    order_id: String,
    kind: crate::aftersale::Kind,
}

/// `POST /_sim/aftersales {"order_id", "kind": "refund_only"|"return_refund"|"exchange"}`: the
/// buyer asks for an after-sale now; answers its id, or 409 when the order cannot have one.
async fn open_aftersale_h(
    State(sim): State<Arc<Sim>>,
    Json(b): Json<OpenAfterSaleBody>,
) -> Response {
    sim.tick();
    match crate::aftersale::open_now(&sim, &b.order_id, b.kind) {
        Some(id) => Json(json!({ "after_sale_id": id })).into_response(),
        None => (
            StatusCode::CONFLICT,
            "no after-sale possible on this order now",
        )
            .into_response(),
    }
}

async fn tracking_ledger_h(
    State(sim): State<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<crate::tracking::TrackingSnapshot> {
    sim.tick();
    let with_pushes = q.get("pushes").is_none_or(|v| v != "false");
    let st = sim.lock();
    Json(st.tracking.snapshot(st.now_ms(), with_pushes))
}

async fn pickups_h(State(sim): State<Arc<Sim>>) -> Json<Vec<crate::tracking::PickupRecord>> {
    Json(sim.lock().tracking.pickups.clone())
}

async fn sms_ledger_h(State(sim): State<Arc<Sim>>) -> Json<crate::sms::SmsSnapshot> {
    Json(sim.lock().sms.snapshot())
}

async fn messages_ledger_h(State(sim): State<Arc<Sim>>) -> Json<crate::wxmsg::MessagesSnapshot> {
    Json(sim.lock().messages.snapshot())
}

async fn trace_h(State(sim): State<Arc<Sim>>, Path(number): Path<String>) -> Response {
    sim.tick();
    let st = sim.lock();
    match st.tracking.parcels.get(&number) {
        Some(p) => Json(json!({
            "parcel": p,
            "view": st.tracking.view(p, st.now_ms()),
        }))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no tracking call has named this number",
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct ScenarioBody {
    tracking_no: String,
    scenario: String,
}

async fn scenario_h(State(sim): State<Arc<Sim>>, Json(b): Json<ScenarioBody>) -> Response {
    let Some(s) = crate::tracking::trace::Scenario::parse(&b.scenario) else {
        return (StatusCode::BAD_REQUEST, "unknown scenario").into_response();
    };
    {
        let mut st = sim.lock();
        let now = st.now_ms();
        st.tracking
            .force_scenario(&b.tracking_no, s, sim.cfg.seed, now);
    }
    sim.tick();
    Json(json!({ "tracking_no": b.tracking_no, "scenario": s })).into_response()
}

#[derive(Deserialize)]
struct TrackingFaultsBody {
    duplicate: Option<f64>,
    out_of_order: Option<f64>,
    late: Option<f64>,
    forged: Option<f64>,
    #[serde(default)]
    next: Vec<crate::tracking::TrackFault>,
}

async fn tracking_faults_h(
    State(sim): State<Arc<Sim>>,
    Json(b): Json<TrackingFaultsBody>,
) -> Json<Value> {
    let mut st = sim.lock();
    let f = &mut st.tracking.faults;
    let set = |slot: &mut f64, v: Option<f64>| {
        if let Some(v) = v {
            *slot = v.clamp(0.0, 1.0);
        }
    };
    set(&mut f.duplicate, b.duplicate);
    set(&mut f.out_of_order, b.out_of_order);
    set(&mut f.late, b.late);
    set(&mut f.forged, b.forged);
    st.tracking.forced_faults.extend(b.next);
    Json(json!({ "rates": st.tracking.faults, "next": st.tracking.forced_faults }))
}

#[derive(Deserialize)]
struct UrlBody {
    url: Option<String>,
}

async fn kdniao_callback_h(State(sim): State<Arc<Sim>>, Json(b): Json<UrlBody>) -> Json<Value> {
    {
        let mut st = sim.lock();
        let now = st.now_ms();
        st.tracking.kdniao_callback = b.url;
        st.tracking.wake_kdniao(now);
    }
    sim.tick();
    Json(json!({ "url": sim.lock().tracking.kdniao_callback }))
}

#[derive(Deserialize)]
struct InteractBody {
    openid: String,
}

async fn interact_h(State(sim): State<Arc<Sim>>, Json(b): Json<InteractBody>) -> Json<Value> {
    let mut st = sim.lock();
    let now = st.now_ms();
    st.messages.interactions.insert(b.openid.clone(), now);
    Json(json!({ "openid": b.openid, "at_ms": now }))
}
