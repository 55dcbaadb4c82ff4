//! kdniao (快递鸟) tracking and pickup emulator: `RequestType` 1008 (subscribe) at
//! `POST /kdniao/api/dist`, 1002 (query) at `POST /kdniao/Ebusiness/EbusinessOrderHandle.aspx`,
//! 1001 / 1004 (book / cancel a pickup) at `POST /kdniao/api/OOrderService`, and 101 pushes to the
//! account's callback URL.
//!
//! Protocol (reference §4.2): a form with `RequestData` (JSON), `EBusinessID`, `RequestType`,
//! `DataSign = base64(md5_hex_lowercase(RequestData + AppKey))` (URL-encoded as a form value),
//! `DataType=2`. The URLs of 1002 and 1008 are from third-party code (reference §4.2); the pickup
//! URL `api/OOrderService` is from third-party code too (GitHub `weiweiitcast/meiduo_express`
//! `dkniao_express/request_urls.py`: "预约取件 … /api/OOrderService").
//!
//! * `State`: 0 no trace, 1 picked up, 2 in transit, 3 signed, 4 problem; `StateEx` and each
//!   trace's `Action` per the reference table (201, 202, 211, 301, 302, 304, 311, 401, 404–407).
//!   Lines before the delivering city carry `Action` `1` / `2` (their `State`).
//! * SF needs `CustomerName` = the last 4 digits of a phone number.
//! * Pushes (101): form `RequestData` = `{EBusinessID, PushTime, Count, Data[...]}`, `DataSign`
//!   signed with the AppKey, `RequestType=101`; a push may carry several parcels. The receiver
//!   must answer JSON with `"Success": true`, otherwise the push is retried.
//! * UNCONFIRMED: the tracking and pickup error texts, `Count` as a string, the pickup
//!   `ResultCode` values (the e-waybill ones are reused: `100` ok, `101` sign, `102` parameter).

use super::trace::{City, Scenario, Stage, TraceEvent};
use super::{KdniaoItem, Parcel, PickupRecord, Subscription, TrackService, carrier_of};
use crate::SimConfig;
use crate::state::{Sim, State};
use crate::util::{ct_eq, fmt_cn, parse_cn};
use crate::waybill::kdniao::data_sign;
use crate::waybill::{Fields, parse_form};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/api/dist", post(dist_h))
        .route("/Ebusiness/EbusinessOrderHandle.aspx", post(query_h))
        .route("/api/OOrderService", post(pickup_h))
}

/// (`State`, `StateEx` / `Action`) of a trace line.
pub fn codes(stage: Stage) -> (&'static str, &'static str) {
    match stage {
        Stage::PickedUp => ("1", "1"),
        Stage::Departed | Stage::Arrived => ("2", "2"),
        Stage::ArrivedCity => ("2", "201"),
        Stage::OutForDelivery => ("2", "202"),
        Stage::InLocker => ("2", "211"),
        Stage::Signed => ("3", "301"),
        Stage::SignedAfterProblem => ("3", "302"),
        Stage::SignedProxy => ("3", "304"),
        Stage::SignedLocker => ("3", "311"),
        Stage::Problem => ("4", "405"),
        Stage::Refused => ("4", "404"),
        Stage::Returning => ("4", "407"),
        Stage::ReturnSigned => ("4", "406"),
    }
}

/// `State`, `StateEx`, `Location` and `Traces` (oldest first) of the first `n` events.
fn trace_fields(events: &[TraceEvent], n: usize) -> serde_json::Map<String, Value> {
    let shown = &events[..n.min(events.len())];
    let (state, ex) = shown.last().map_or(("0", "0"), |e| codes(e.stage));
    let mut m = serde_json::Map::new();
    m.insert("State".into(), json!(state));
    m.insert("StateEx".into(), json!(ex));
    m.insert(
        "Location".into(),
        json!(shown.last().map_or("", |e| e.city.as_str())),
    );
    m.insert(
        "Traces".into(),
        json!(
            shown
                .iter()
                .map(|e| json!({
                    "AcceptTime": fmt_cn(e.at_ms / 1000),
                    "AcceptStation": e.context,
                    "Location": e.city,
                    "Action": codes(e.stage).1,
                }))
                .collect::<Vec<_>>()
        ),
    );
    m
}

/// One parcel's entry in a push's `Data`. `n == 0` is the "发货无信息" push (StateEx 401).
pub fn push_item(cfg: &SimConfig, item: &KdniaoItem, n: usize) -> Value {
    let mut m = trace_fields(&item.events, n);
    if n == 0 {
        m.insert("State".into(), json!("4"));
        m.insert("StateEx".into(), json!("401"));
        m.insert("Reason".into(), json!("发货无信息"));
    }
    m.insert(
        "EBusinessID".into(),
        json!(cfg.tracking.kdniao_ebusiness_id),
    );
    m.insert("ShipperCode".into(), json!(item.carrier_code));
    m.insert("LogisticCode".into(), json!(item.number));
    m.insert("Success".into(), json!(true));
    m.insert("OrderCode".into(), json!(item.order_code));
    m.insert("Callback".into(), json!(item.echo));
    Value::Object(m)
}

pub fn push_body(cfg: &SimConfig, items: Vec<Value>, now_ms: i64) -> String {
    json!({
        "EBusinessID": cfg.tracking.kdniao_ebusiness_id,
        "PushTime": fmt_cn(now_ms / 1000),
        "Count": items.len().to_string(),
        "Data": items,
    })
    .to_string()
}

/// The push form body. A forged copy is signed with an AppKey the receiver does not know.
pub fn push_form(request_data: &str, app_key: &str, forged: bool) -> String {
    let sign = if forged {
        data_sign(request_data, &format!("{app_key}-forged"))
    } else {
        data_sign(request_data, app_key)
    };
    serde_urlencoded::to_string([
        ("RequestData", request_data),
        ("DataSign", sign.as_str()),
        ("RequestType", "101"),
    ])
    .unwrap_or_default()
}

pub fn push_acknowledged(status: u16, body: &str) -> bool {
    status == 200
        && serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("Success").cloned())
            == Some(Value::Bool(true))
}

/// A checked request: the form's `RequestType` and the parsed `RequestData`.
struct Request {
    rtype: String,
    data: Value,
}

fn fail(ebid: &str, reason: &str, extra: Value) -> Response {
    let mut v = json!({
        "EBusinessID": ebid,
        "Success": false,
        "Reason": reason,
        "UpdateTime": "",
    });
    if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
        m.extend(x);
    }
    Json(v).into_response()
}

/// Checks the envelope and the signature; `allowed` are the request types this URL serves.
fn check(
    sim: &Sim,
    st: &mut State,
    api: &str,
    body: &[u8],
    allowed: &[&str],
) -> Result<Request, Response> {
    let tc = &sim.cfg.tracking;
    let form: HashMap<String, String> = parse_form(body).unwrap_or_default();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let ebid = get("EBusinessID");
    let mut refuse = |code: &str, reason: &str| {
        st.tracking_reject(TrackService::Kdniao, api, code, reason);
        fail(ebid, reason, json!({ "ResultCode": code }))
    };
    if !ct_eq(ebid, &tc.kdniao_ebusiness_id) {
        return Err(refuse("101", "EBusinessID 不存在"));
    }
    let data = get("RequestData");
    if data.is_empty() {
        return Err(refuse("102", "RequestData 不能为空"));
    }
    if !ct_eq(get("DataSign"), &data_sign(data, &tc.kdniao_app_key)) {
        return Err(refuse(
            "101",
            "DataSign 验证失败：应为 base64(md5_hex_lowercase(RequestData + AppKey))",
        ));
    }
    if get("DataType") != "2" {
        return Err(refuse("102", "DataType 必须为 2（JSON）"));
    }
    let rtype = get("RequestType");
    if !allowed.contains(&rtype) {
        return Err(refuse(
            "102",
            &format!("RequestType {rtype:?} 不由此地址处理（此地址：{allowed:?}）"),
        ));
    }
    match serde_json::from_str::<Value>(data) {
        Ok(v @ Value::Object(_)) => Ok(Request {
            rtype: rtype.to_string(),
            data: v,
        }),
        _ => Err(refuse("102", "RequestData 不是 JSON 对象")),
    }
}

/// `ShipperCode`, `LogisticCode`, and the SF phone rule.
fn parcel_args(d: &Value) -> Result<(String, String, crate::waybill::carrier::Carrier), String> {
    let f = Fields::of(d, "RequestData")?;
    let code = f.str("ShipperCode")?;
    let number = f.str("LogisticCode")?.trim();
    let carrier = carrier_of(TrackService::Kdniao, code)
        .ok_or_else(|| format!("暂不支持该快递公司：{code}"))?;
    if carrier == crate::waybill::carrier::Carrier::Sf {
        let name = f.opt_str("CustomerName")?.unwrap_or("");
        if name.len() != 4 || !name.chars().all(|c| c.is_ascii_digit()) {
            return Err("顺丰单号需要 CustomerName（收件人或寄件人手机号后四位）".into());
        }
    }
    Ok((code.to_string(), number.to_string(), carrier))
}

async fn dist_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    sim.tick();
    let resp = {
        let mut st = sim.lock();
        subscribe(&sim, &mut st, &body)
    };
    super::tick(&sim);
    resp
}

fn subscribe(sim: &Sim, st: &mut State, body: &[u8]) -> Response {
    let api = "api/dist";
    let req = match check(sim, st, api, body, &["1008"]) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let ebid = &sim.cfg.tracking.kdniao_ebusiness_id;
    let (code, number, carrier) = match parcel_args(&req.data) {
        Ok(x) => x,
        Err(e) => {
            st.tracking_reject(TrackService::Kdniao, api, "102", &e);
            return fail(ebid, &e, json!({}));
        }
    };
    let now = st.now_ms();
    let active = st
        .tracking
        .subscription(TrackService::Kdniao, &number)
        .is_some_and(|s| s.ended.is_none());
    // Subscribing again is accepted; a live subscription is left as it is.
    if !active {
        st.track_parcel(sim.cfg.seed, carrier, &number);
        let s = |k: &str| {
            req.data
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        st.tracking.subscribe(Subscription {
            service: TrackService::Kdniao,
            number: number.clone(),
            carrier_code: code,
            callback: None,
            salt: String::new(),
            resultv2: String::new(),
            echo: s("Callback"),
            order_code: s("OrderCode"),
            subscribed_ms: now,
            pushed_events: 0,
            ended: None,
            pushes_sent: 0,
            pushes_acknowledged: 0,
        });
    }
    Json(json!({
        "EBusinessID": ebid,
        "UpdateTime": fmt_cn(now / 1000),
        "Success": true,
        "Reason": "",
    }))
    .into_response()
}

async fn query_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    sim.tick();
    let mut st = sim.lock();
    let api = "Ebusiness/EbusinessOrderHandle.aspx";
    let req = match check(&sim, &mut st, api, &body, &["1002"]) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let ebid = sim.cfg.tracking.kdniao_ebusiness_id.clone();
    let (code, number, carrier) = match parcel_args(&req.data) {
        Ok(x) => x,
        Err(e) => {
            st.tracking_reject(TrackService::Kdniao, api, "102", &e);
            return fail(&ebid, &e, json!({}));
        }
    };
    *st.tracking.queries.entry(TrackService::Kdniao).or_default() += 1;
    let now = st.now_ms();
    let order_code = req
        .data
        .get("OrderCode")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut m = match st.track_parcel(sim.cfg.seed, carrier, &number) {
        Some(p) => trace_fields(&p.events, p.visible(now)),
        None => {
            // Known under another carrier: nothing under this one.
            let mut m = serde_json::Map::new();
            m.insert("State".into(), json!("0"));
            m.insert("Traces".into(), json!([]));
            m
        }
    };
    let empty = m.get("State") == Some(&json!("0"));
    m.insert("EBusinessID".into(), json!(ebid));
    m.insert("OrderCode".into(), json!(order_code));
    m.insert("ShipperCode".into(), json!(code));
    m.insert("LogisticCode".into(), json!(number));
    m.insert("Success".into(), json!(true));
    if empty {
        m.insert("Reason".into(), json!("暂无轨迹信息"));
    }
    Json(Value::Object(m)).into_response()
}

async fn pickup_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    sim.tick();
    let mut st = sim.lock();
    let api = "api/OOrderService";
    let req = match check(&sim, &mut st, api, &body, &["1001", "1004"]) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let rid = st.waybills.new_id(false, 32);
    let ebid = sim.cfg.tracking.kdniao_ebusiness_id.clone();
    let api = format!("{api}?RequestType={}", req.rtype);
    let res = if req.rtype == "1001" {
        book_pickup(&sim, &mut st, &req.data)
    } else {
        cancel_pickup(&sim, &mut st, &req.data)
    };
    match res {
        Ok(order) => {
            let mut v = json!({
                "EBusinessID": ebid,
                "Success": true,
                "ResultCode": "100",
                "Reason": "成功",
                "UniquerRequestNumber": rid,
            });
            if let Some(o) = order {
                v["Order"] = o;
            }
            Json(v).into_response()
        }
        Err(e) => {
            st.tracking_reject(TrackService::Kdniao, &api, "102", &e);
            fail(
                &ebid,
                &e,
                json!({ "ResultCode": "102", "UniquerRequestNumber": rid }),
            )
        }
    }
}

fn book_pickup(sim: &Sim, st: &mut State, d: &Value) -> Result<Option<Value>, String> {
    let f = Fields::of(d, "RequestData")?;
    let order_code = f.str("OrderCode")?.to_string();
    let shipper = f.str("ShipperCode")?.to_string();
    let carrier = carrier_of(TrackService::Kdniao, &shipper)
        .ok_or_else(|| format!("ShipperCode {shipper:?} 不支持预约取件"))?;
    let party = |k: &str| -> Result<City, String> {
        let p = f.obj(k)?;
        p.str("Name")?;
        let mobile = p.opt_str("Mobile")?.unwrap_or("");
        let tel = p.opt_str("Tel")?.unwrap_or("");
        if mobile.is_empty() && tel.is_empty() {
            return Err(format!("RequestData.{k}: Mobile 或 Tel 必填其一"));
        }
        p.str("ProvinceName")?;
        p.str("ExpAreaName")?;
        p.str("Address")?;
        Ok(City::named(p.str("CityName")?))
    };
    let origin = party("Sender")?;
    let dest = party("Receiver")?;
    let start = f.opt_str("StartDate")?.unwrap_or("").to_string();
    let end = f.opt_str("EndDate")?.unwrap_or("").to_string();
    let parse = |k: &str, s: &str| -> Result<Option<i64>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        parse_cn(s)
            .map(Some)
            .ok_or_else(|| format!("RequestData.{k}: 应为 yyyy-MM-dd HH:mm:ss"))
    };
    let (start_s, end_s) = (parse("StartDate", &start)?, parse("EndDate", &end)?);
    if let (Some(a), Some(b)) = (start_s, end_s)
        && b <= a
    {
        return Err("EndDate 必须晚于 StartDate".into());
    }
    let weight = f.opt_num("Weight")?;
    let remark = f.opt_str("Remark")?.unwrap_or("").to_string();
    let key = (shipper.clone(), order_code.clone());
    let answer = |r: &PickupRecord| {
        json!({
            "OrderCode": r.order_code,
            "ShipperCode": r.shipper_code,
            "LogisticCode": r.logistic_code,
        })
    };
    if let Some(&i) = st.tracking.pickup_index.get(&key) {
        let r = &mut st.tracking.pickups[i];
        if r.cancelled_ms.is_some() {
            return Err(format!(
                "OrderCode {order_code:?} 的预约已取消，请使用新的 OrderCode"
            ));
        }
        r.repeats += 1;
        return Ok(Some(answer(r)));
    }
    let now = st.now_ms();
    let number = st.waybills.reserve_number(carrier);
    let ship_ms = start_s.map_or(now, |s| (s * 1000).max(now));
    let scenario = st
        .tracking
        .forced
        .get(&number)
        .copied()
        .unwrap_or_else(|| Scenario::pick(sim.cfg.seed, &number));
    let mut p = Parcel {
        carrier,
        number: number.clone(),
        scenario,
        ship_ms,
        origin: origin.clone(),
        dest: dest.clone(),
        events: Arc::default(),
        is_return: true,
    };
    p.regenerate(sim.cfg.seed);
    st.tracking.parcels.insert(number.clone(), p);
    let rec = PickupRecord {
        order_code,
        shipper_code: shipper,
        logistic_code: number,
        sender_city: origin.city,
        receiver_city: dest.city,
        start_date: start,
        end_date: end,
        weight,
        remark,
        booked_ms: now,
        repeats: 0,
        cancelled_ms: None,
        cancel_reason: String::new(),
    };
    let out = answer(&rec);
    st.tracking
        .pickup_index
        .insert(key, st.tracking.pickups.len());
    st.tracking.pickups.push(rec);
    Ok(Some(out))
}

fn cancel_pickup(sim: &Sim, st: &mut State, d: &Value) -> Result<Option<Value>, String> {
    let f = Fields::of(d, "RequestData")?;
    let order_code = f.str("OrderCode")?.to_string();
    let shipper = f.str("ShipperCode")?.to_string();
    let exp_no = f.opt_str("ExpNo")?.unwrap_or("").to_string();
    let reason = f.opt_str("CancelMsg")?.unwrap_or("").to_string();
    let Some(&i) = st.tracking.pickup_index.get(&(shipper, order_code.clone())) else {
        return Err(format!("预约单 {order_code:?} 不存在"));
    };
    let now = st.now_ms();
    let number = st.tracking.pickups[i].logistic_code.clone();
    if !exp_no.is_empty() && exp_no != number {
        return Err(format!("ExpNo {exp_no} 与预约单的运单号不符"));
    }
    if st.tracking.pickups[i].cancelled_ms.is_some() {
        return Ok(None);
    }
    if st
        .tracking
        .parcels
        .get(&number)
        .is_some_and(|p| p.visible(now) > 0)
    {
        return Err("快件已揽收，无法取消预约".into());
    }
    let r = &mut st.tracking.pickups[i];
    r.cancelled_ms = Some(now);
    r.cancel_reason = reason;
    // A cancelled booking is never picked up.
    st.tracking
        .force_scenario(&number, Scenario::NeverPickedUp, sim.cfg.seed, now);
    Ok(None)
}
