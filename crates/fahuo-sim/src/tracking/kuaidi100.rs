//! kuaidi100 (快递100) tracking emulator: `POST /kuaidi100/poll` (subscribe),
//! `POST /kuaidi100/poll/query.do` (real-time query), and the pushes to the subscriber's
//! `callbackurl`.
//!
//! Protocol (reference §4.1, from [K100-DOC] api-8562559 / api-8568518, [K100-PHP] `subscribe.php`,
//! `synquery.php`, [K100-JAVA] `SubscribePushParamResp.java`):
//!
//! * Subscribe: form `schema=json`, `param` = `{company, number, key, parameters{callbackurl,
//!   salt, resultv2, phone}}`. Answers `{"result":true,"returnCode":"200","message":"提交成功"}`;
//!   `501` duplicate, `600` bad key, `700` bad data. The code list is third-party and the
//!   messages are UNCONFIRMED.
//! * Query: form `customer`, `sign = UPPER(MD5(param + key + customer))`, `param` = `{com, num,
//!   phone, resultv2}`. The error codes used here (400, 408, 500, 503, 601) are UNCONFIRMED.
//! * Push: form `param` = `{status, billstatus, message, autoCheck, comOld, comNew, lastResult}`
//!   and `sign = UPPER(MD5(param + salt))` (the case is not documented; upper here, as 3P code
//!   does). The receipt must be `{"result":true,"returnCode":"200","message":"成功"}`.
//! * `state` codes per the reference table. `resultv2`: absent or `0` gives plain lines; any other
//!   value adds `areaCode`, `areaName` and `statusCode` to each line; `4` (高级物流状态) also
//!   switches `state` and `statusCode` to the sub-states (103, 1001, 1002, 501, 301–304). Which
//!   `resultv2` value turns on the sub-states is UNCONFIRMED, as are the `areaName` and `areaCode`
//!   formats and the sub-states of 2 疑难 (the emulator reports plain `2`).

use super::trace::{Stage, TraceEvent};
use super::{Subscription, TrackService, carrier_of};
use crate::state::{Sim, State};
use crate::util::{ct_eq, fmt_cn, md5_hex};
use crate::waybill::carrier::Carrier;
use crate::waybill::parse_form;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/poll", post(subscribe_h))
        .route("/poll/query.do", post(query_h))
}

/// (main state, sub-state, the line's `status` text).
pub fn codes(stage: Stage) -> (&'static str, &'static str, &'static str) {
    match stage {
        Stage::PickedUp => ("1", "103", "揽收"),
        Stage::Departed | Stage::Arrived => ("0", "1002", "在途"),
        Stage::ArrivedCity => ("0", "1001", "在途"),
        Stage::OutForDelivery => ("5", "5", "派件"),
        Stage::InLocker => ("5", "501", "派件"),
        Stage::Signed => ("3", "301", "签收"),
        Stage::SignedAfterProblem => ("3", "302", "签收"),
        Stage::SignedProxy => ("3", "303", "签收"),
        Stage::SignedLocker => ("3", "304", "签收"),
        Stage::Problem => ("2", "2", "疑难"),
        Stage::Refused => ("14", "14", "拒签"),
        Stage::Returning => ("6", "6", "退回"),
        Stage::ReturnSigned => ("4", "4", "退签"),
    }
}

fn line(e: &TraceEvent, resultv2: &str) -> Value {
    let t = fmt_cn(e.at_ms / 1000);
    let (main, sub, name) = codes(e.stage);
    let mut v = json!({ "time": t, "ftime": t, "context": e.context, "status": name });
    if !resultv2.is_empty() && resultv2 != "0" {
        let province = e.province.trim_end_matches('省');
        v["areaName"] = json!(if province.is_empty() || e.province == e.city {
            e.city.clone()
        } else {
            format!("{province},{}", e.city)
        });
        v["areaCode"] = json!(if e.adcode.is_empty() {
            String::new()
        } else {
            format!("CN{}000000", e.adcode)
        });
        v["statusCode"] = json!(if resultv2 == "4" { sub } else { main });
    }
    v
}

/// The query answer / push `lastResult` for the first `n` events of a parcel, newest first.
pub fn last_result(
    number: &str,
    events: &[TraceEvent],
    com: &str,
    n: usize,
    resultv2: &str,
) -> Value {
    let shown = &events[..n.min(events.len())];
    let last = shown.last();
    let state = last.map_or("0", |e| {
        let (main, sub, _) = codes(e.stage);
        if resultv2 == "4" { sub } else { main }
    });
    json!({
        "message": "ok",
        "state": state,
        "status": "200",
        "condition": "F00",
        "ischeck": if last.is_some_and(|e| e.stage.is_final()) { "1" } else { "0" },
        "com": com,
        "nu": number,
        "data": shown.iter().rev().map(|e| line(e, resultv2)).collect::<Vec<_>>(),
    })
}

pub fn push_param(status: &str, message: &str, last_result: Value) -> String {
    json!({
        "status": status,
        "billstatus": "",
        "message": message,
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": last_result,
    })
    .to_string()
}

/// `UPPER(MD5(param + salt))`.
pub fn push_sign(param: &str, salt: &str) -> String {
    md5_hex(format!("{param}{salt}").as_bytes()).to_uppercase()
}

/// The push form body. A forged copy is signed with a salt the receiver does not know.
pub fn push_form(param: &str, salt: &str, forged: bool) -> String {
    let sign = if forged {
        push_sign(param, &format!("{salt}#forged"))
    } else {
        push_sign(param, salt)
    };
    serde_urlencoded::to_string([("param", param), ("sign", sign.as_str())]).unwrap_or_default()
}

/// The receipt kuaidi100 expects; anything else is retried.
pub fn push_acknowledged(status: u16, body: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    status == 200
        && v.get("result") == Some(&Value::Bool(true))
        && v.get("returnCode").and_then(Value::as_str) == Some("200")
        && v.get("message").and_then(Value::as_str) == Some("成功")
}

/// `UPPER(MD5(param + key + customer))`.
pub fn query_sign(param: &str, key: &str, customer: &str) -> String {
    md5_hex(format!("{param}{key}{customer}").as_bytes()).to_uppercase()
}

fn reply(result: bool, code: &str, message: &str) -> Response {
    Json(json!({ "result": result, "returnCode": code, "message": message })).into_response()
}

/// SF and ZTO need the receiver's or sender's phone (the last 4 digits are enough).
fn needs_phone(c: Carrier) -> bool {
    matches!(c, Carrier::Sf | Carrier::Zto)
}

fn phone_ok(phone: &str) -> bool {
    phone.len() >= 4 && phone.chars().all(|c| c.is_ascii_digit() || c == '-')
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `resultv2` may come as a string or a number.
fn resultv2_of(v: &Value) -> String {
    match v.get("resultv2") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

async fn subscribe_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    sim.tick();
    let resp = subscribe(&sim, &body);
    super::tick(&sim);
    resp
}

fn subscribe(sim: &Sim, body: &[u8]) -> Response {
    let mut st = sim.lock();
    let refuse = |st: &mut State, code: &str, msg: &str| {
        st.tracking_reject(TrackService::Kuaidi100, "poll", code, msg);
        reply(false, code, msg)
    };
    let form = match parse_form(body) {
        Ok(f) => f,
        Err(e) => return refuse(&mut st, "700", &e),
    };
    if form.get("schema").map(String::as_str) != Some("json") {
        return refuse(&mut st, "700", "schema must be json");
    }
    let Some(param) = form
        .get("param")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
    else {
        return refuse(&mut st, "700", "param must be a JSON object");
    };
    if !ct_eq(str_of(&param, "key"), &sim.cfg.tracking.kuaidi100_key) {
        return refuse(&mut st, "600", "您不是合法的订阅者（即授权Key出错）");
    }
    let (company, number) = (str_of(&param, "company"), str_of(&param, "number").trim());
    if company.is_empty() || number.is_empty() {
        return refuse(&mut st, "700", "订阅参数错误：company 与 number 必填");
    }
    let Some(carrier) = carrier_of(TrackService::Kuaidi100, company) else {
        return refuse(&mut st, "700", &format!("不支持的快递公司编码：{company}"));
    };
    let params = param.get("parameters").cloned().unwrap_or(json!({}));
    let callback = str_of(&params, "callbackurl");
    if callback.is_empty() {
        return refuse(&mut st, "700", "订阅参数错误：parameters.callbackurl 必填");
    }
    if needs_phone(carrier) && !phone_ok(str_of(&params, "phone")) {
        return refuse(
            &mut st,
            "700",
            "顺丰、中通单号需要 parameters.phone（收、寄件人电话或其后四位）",
        );
    }
    if let Some(s) = st.tracking.subscription(TrackService::Kuaidi100, number)
        && s.ended.as_deref() != Some("abort")
    {
        return refuse(&mut st, "501", "重复订阅");
    }
    let seed = sim.cfg.seed;
    st.track_parcel(seed, carrier, number);
    let now = st.now_ms();
    st.tracking.subscribe(Subscription {
        service: TrackService::Kuaidi100,
        number: number.to_string(),
        carrier_code: company.to_string(),
        callback: Some(callback.to_string()),
        salt: str_of(&params, "salt").to_string(),
        resultv2: resultv2_of(&params),
        echo: String::new(),
        order_code: String::new(),
        subscribed_ms: now,
        pushed_events: 0,
        ended: None,
        pushes_sent: 0,
        pushes_acknowledged: 0,
    });
    reply(true, "200", "提交成功")
}

async fn query_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    sim.tick();
    let mut st = sim.lock();
    let refuse = |st: &mut State, code: &str, msg: &str| {
        st.tracking_reject(TrackService::Kuaidi100, "poll/query.do", code, msg);
        reply(false, code, msg)
    };
    let form = match parse_form(&body) {
        Ok(f) => f,
        Err(e) => return refuse(&mut st, "400", &e),
    };
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let (customer, sign, param) = (get("customer"), get("sign"), get("param"));
    let tc = &sim.cfg.tracking;
    if !ct_eq(customer, &tc.kuaidi100_customer) {
        return refuse(&mut st, "601", "POLL:KEY已过期或账户不存在");
    }
    if !ct_eq(sign, &query_sign(param, &tc.kuaidi100_key, customer)) {
        return refuse(&mut st, "503", "验证签名失败");
    }
    let Ok(p) = serde_json::from_str::<Value>(param) else {
        return refuse(&mut st, "400", "param must be a JSON object");
    };
    let (com, num) = (str_of(&p, "com"), str_of(&p, "num").trim());
    if com.is_empty() || num.is_empty() {
        return refuse(
            &mut st,
            "400",
            "找不到对应公司或参数不完整：com 与 num 必填",
        );
    }
    let Some(carrier) = carrier_of(TrackService::Kuaidi100, com) else {
        return refuse(&mut st, "400", &format!("找不到对应公司：{com}"));
    };
    if needs_phone(carrier) && !phone_ok(str_of(&p, "phone")) {
        return refuse(
            &mut st,
            "408",
            "顺丰、中通单号需要 phone（收、寄件人电话或其后四位）",
        );
    }
    let resultv2 = resultv2_of(&p);
    *st.tracking
        .queries
        .entry(TrackService::Kuaidi100)
        .or_default() += 1;
    let now = st.now_ms();
    let seed = sim.cfg.seed;
    let found = st
        .track_parcel(seed, carrier, num)
        .map(|p| (p.visible(now), p.events.clone()));
    match found {
        Some((n, events)) if n > 0 => {
            Json(last_result(num, &events, com, n, &resultv2)).into_response()
        }
        _ => {
            // No event yet (or the number belongs to another company).
            let msg = "查询无结果，请隔段时间再查";
            st.tracking_reject(TrackService::Kuaidi100, "poll/query.do", "500", msg);
            reply(false, "500", msg)
        }
    }
}
