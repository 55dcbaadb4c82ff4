//! Xiaohongshu (小红书电商开放平台, "ark") emulator: one gateway dispatching on `method` —
//! oauth.getAccessToken/refreshToken, order.getOrderList/getOrderDetail/getOrderReceiverInfo,
//! order.orderDeliver/modifyOrderExpressInfo, common.getExpressCompanyList, data.batchDecrypt —
//! and signed pushes.
//!
//! Protocol (reference §3): `POST {base}/ark/open_api/v3/common_controller`, JSON body holding the
//! system params (`appId`, `method`, `timestamp` in seconds, `version` "2.0", `sign`,
//! `accessToken`) flattened with the business params. `sign = md5(method?appId=..&timestamp=..
//! &version=.. + appSecret)`; the body is not signed. Response times are milliseconds.

use crate::SimConfig;
use crate::faults::{FaultAnswers, guard};
use crate::ledger::{Rejection, ShipOutcome};
use crate::model::{Order, Platform, Presale, Refund, Status};
use crate::push::{Outgoing, PushMsg};
use crate::state::{Change, ShipRequest, Sim, State, Token};
use crate::util::{PiiCipher, ct_eq, md5_hex};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;

/// `common.getExpressCompanyList`: `zto` and `shunfeng` appear in the docs; the rest are
/// UNCONFIRMED spellings. `selfdelivery` (no-logistics shipping) is accepted by orderDeliver.
pub const CARRIERS: &[(i64, &str, &str)] = &[
    (1, "shunfeng", "顺丰速运"),
    (2, "zto", "中通速递"),
    (3, "yuantong", "圆通速递"),
    (4, "yunda", "韵达快递"),
    (5, "shentong", "申通快递"),
    (6, "jd", "京东快递"),
    (7, "ems", "EMS"),
    (8, "youzhengguonei", "邮政快递包裹"),
    (9, "jtexpress", "极兔速递"),
    (10, "debangkuaidi", "德邦快递"),
];

// Error codes. The reference documents only the decrypt codes (-2000701 quota, -2000702);
// the gateway codes below are UNCONFIRMED stand-ins, kept in one place.
pub const ERR_PARAM: i64 = 10001;
pub const ERR_SIGN: i64 = 10002;
pub const ERR_TOKEN_INVALID: i64 = 10003;
pub const ERR_TOKEN_EXPIRED: i64 = 10004;
pub const ERR_RATE_LIMITED: i64 = 10005;
pub const ERR_BUSINESS: i64 = 20001;
pub const ERR_SYSTEM: i64 = -1;
pub const ERR_DECRYPT_QUOTA: i64 = -2_000_701;
pub const ERR_DECRYPT_FAILED: i64 = -2_000_702;

pub const GATEWAY: &str = "/ark/open_api/v3/common_controller";

pub fn router() -> Router<Arc<Sim>> {
    Router::new().route(GATEWAY, post(entry))
}

pub fn status(o: &Order) -> (i64, &'static str) {
    match o.status {
        Status::Unpaid => (1, "已下单待付款"),
        Status::PaidReview => (2, "已支付处理中"),
        Status::ToShip => (4, "待发货"),
        Status::PartShipped => (5, "部分发货"),
        Status::Shipped => (6, "待收货"),
        Status::Completed => (7, "已完成"),
        Status::Closed => (8, "已关闭"),
        Status::Cancelled => (9, "已取消"),
    }
}

/// `md5(method + "?appId=" + appId + "&timestamp=" + timestamp + "&version=" + version + secret)`.
pub fn sign(method: &str, app_id: &str, timestamp: &str, version: &str, secret: &str) -> String {
    md5_hex(
        format!("{method}?appId={app_id}&timestamp={timestamp}&version={version}{secret}")
            .as_bytes(),
    )
}

fn envelope(code: i64, msg: &str, data: Value) -> Value {
    json!({ "error_code": code, "error_msg": msg, "success": code == 0, "data": data })
}

fn ok(data: Value) -> Response {
    Json(envelope(0, "", data)).into_response()
}

fn reject(st: &mut State, api: &str, code: i64, msg: &str) -> Response {
    let now = st.now_ms();
    st.ledger.rejected.push(Rejection {
        platform: Platform::Xiaohongshu,
        api: api.to_string(),
        code: code.to_string(),
        reason: msg.to_string(),
        at_ms: now,
    });
    Json(envelope(code, msg, Value::Null)).into_response()
}

struct Answers;

impl FaultAnswers for Answers {
    fn server_error(&self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(envelope(ERR_SYSTEM, "系统繁忙，请稍后重试", Value::Null)),
        )
            .into_response()
    }
    fn rate_limited(&self) -> Response {
        Json(envelope(
            ERR_RATE_LIMITED,
            "请求过于频繁，已被限流",
            Value::Null,
        ))
        .into_response()
    }
    fn rate_limit_code(&self) -> String {
        ERR_RATE_LIMITED.to_string()
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

async fn entry(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok().filter(Value::is_object);
    let method = parsed
        .as_ref()
        .map(|b| text(b.get("method")))
        .unwrap_or_default();
    let app = &sim.cfg.xiaohongshu;
    let limits = vec![
        (
            format!("xhs:{}", app.app_id),
            sim.cfg.rate_limits.xiaohongshu_app_per_sec,
        ),
        (
            format!("xhs:{}:{method}", app.app_id),
            sim.cfg.rate_limits.xiaohongshu_method_per_sec,
        ),
    ];
    let api = if method.is_empty() {
        "common_controller".to_string()
    } else {
        method.clone()
    };
    guard(&sim, Platform::Xiaohongshu, &api, &limits, Answers, |sim| {
        let mut st = sim.lock();
        match parsed {
            Some(b) => handle(sim, &mut st, &api, &b),
            None => reject(&mut st, &api, ERR_PARAM, "请求体必须是JSON对象"),
        }
    })
    .await
}

fn handle(sim: &Sim, st: &mut State, method: &str, b: &Value) -> Response {
    let app = &sim.cfg.xiaohongshu;
    for k in ["appId", "method", "timestamp", "version", "sign"] {
        if text(b.get(k)).is_empty() {
            return reject(st, method, ERR_PARAM, &format!("缺少系统参数{k}"));
        }
    }
    let app_id = text(b.get("appId"));
    if app_id != app.app_id {
        return reject(st, method, ERR_PARAM, "appId无效");
    }
    let version = text(b.get("version"));
    if version != "2.0" {
        return reject(st, method, ERR_PARAM, "version必须为2.0");
    }
    let ts = text(b.get("timestamp"));
    if ts.parse::<i64>().is_err() {
        return reject(st, method, ERR_PARAM, "timestamp必须是秒级时间戳");
    }
    let expected = sign(method, &app_id, &ts, &version, &app.app_secret);
    if !ct_eq(&expected, &text(b.get("sign")).to_ascii_lowercase()) {
        return reject(st, method, ERR_SIGN, "签名错误");
    }
    match method {
        "oauth.getAccessToken" => return get_token(sim, st, method, b),
        "oauth.refreshToken" => return refresh_token(sim, st, method, b),
        _ => {}
    }
    let now = st.now_ms();
    let token = text(b.get("accessToken"));
    if token.is_empty() {
        return reject(st, method, ERR_TOKEN_INVALID, "缺少accessToken");
    }
    match st.tokens.get(&token).cloned() {
        Some(t) if t.platform == Platform::Xiaohongshu => {
            st.scope_shop = t.shop;
            if t.expires_ms <= now {
                return reject(st, method, ERR_TOKEN_EXPIRED, "accessToken已过期");
            }
        }
        _ => return reject(st, method, ERR_TOKEN_INVALID, "accessToken无效"),
    }
    match method {
        "order.getOrderList" => list(st, method, b),
        "order.getOrderDetail" => detail(st, method, b),
        "order.getOrderTracking" => tracking(st, method, b),
        "order.getOrderReceiverInfo" => receiver_info(sim, st, method, b),
        "order.orderDeliver" => deliver(sim, st, method, b),
        "order.modifyOrderExpressInfo" => modify_express(st, method, b),
        "common.getExpressCompanyList" => ok(json!({
            "expressCompanyInfos": CARRIERS.iter().map(|(id, code, name)| json!({
                "expressCompanyId": id, "expressCompanyCode": code, "expressCompanyName": name, "comment": "",
            })).collect::<Vec<_>>()
        })),
        "data.batchDecrypt" => batch_decrypt(sim, st, method, b),
        m if m.starts_with("afterSale.") => match crate::aftersale::xiaohongshu(sim, st, m, b) {
            Ok(v) => ok(v),
            Err((code, msg)) => reject(st, m, code, &msg),
        },
        _ => reject(st, method, ERR_PARAM, "method不存在或无权限"),
    }
}

fn issue(st: &mut State, cfg: &SimConfig, shop: u32) -> Value {
    let app = &cfg.xiaohongshu;
    let now = st.now_ms();
    let access = st.new_token("token-");
    let refresh = st.new_token("refresh-");
    let t = Token {
        platform: Platform::Xiaohongshu,
        shop,
        expires_ms: now + app.token_ttl_secs * 1000,
        refresh_token: refresh.clone(),
        refresh_expires_ms: now + app.refresh_ttl_secs * 1000,
        stable: false,
    };
    let v = token_json(&access, &t, cfg);
    st.tokens.insert(access.clone(), t);
    st.refresh.insert(refresh, access);
    v
}

fn token_json(access: &str, t: &Token, cfg: &SimConfig) -> Value {
    let (seller_id, seller_name, _) = cfg.xiaohongshu_seller(t.shop);
    json!({
        "accessToken": access,
        "accessTokenExpiresAt": t.expires_ms,
        "refreshToken": t.refresh_token,
        "refreshTokenExpiresAt": t.refresh_expires_ms,
        "sellerId": seller_id,
        "sellerName": seller_name,
    })
}

fn get_token(sim: &Sim, st: &mut State, api: &str, b: &Value) -> Response {
    // Each authorising seller has its own code; the token is bound to that seller.
    let Some(shop) = sim.cfg.xiaohongshu_seller_of_code(&text(b.get("code"))) else {
        return reject(st, api, ERR_BUSINESS, "code无效或已过期");
    };
    let v = issue(st, &sim.cfg, shop);
    ok(v)
}

fn refresh_token(sim: &Sim, st: &mut State, api: &str, b: &Value) -> Response {
    let rt = text(b.get("refreshToken"));
    let now = st.now_ms();
    let Some(access) = st.refresh.get(&rt).cloned() else {
        return reject(st, api, ERR_BUSINESS, "refreshToken无效");
    };
    let Some(t) = st.tokens.get(&access).cloned() else {
        return reject(st, api, ERR_BUSINESS, "refreshToken无效");
    };
    if t.refresh_expires_ms <= now {
        return reject(st, api, ERR_BUSINESS, "refreshToken已过期");
    }
    // Documented rule: more than 30 min left changes nothing; less than 30 min left issues new
    // tokens and keeps the old access token for 5 more minutes; an expired token is replaced.
    if t.expires_ms - now > 30 * 60_000 {
        return ok(token_json(&access, &t, &sim.cfg));
    }
    if t.expires_ms > now
        && let Some(old) = st.tokens.get_mut(&access)
    {
        old.expires_ms = old.expires_ms.min(now + 5 * 60_000);
    }
    st.refresh.remove(&rt);
    let v = issue(st, &sim.cfg, t.shop);
    ok(v)
}

fn int(b: &Value, k: &str) -> Result<Option<i64>, String> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| format!("{k}必须是整数")),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| format!("{k}必须是整数")),
        _ => Err(format!("{k}必须是整数")),
    }
}

fn order_type(o: &Order) -> i64 {
    match o.presale {
        Presale::None => 1,
        Presale::Deposit => 2,
        Presale::FullPayment => 4,
    }
}

fn list(st: &mut State, api: &str, b: &Value) -> Response {
    let mut v = std::collections::HashMap::new();
    for k in [
        "startTime",
        "endTime",
        "timeType",
        "orderType",
        "orderStatus",
        "pageNo",
        "pageSize",
    ] {
        match int(b, k) {
            Ok(x) => {
                v.insert(k, x);
            }
            Err(e) => return reject(st, api, ERR_PARAM, &e),
        }
    }
    let (Some(start), Some(end), Some(tt)) = (v["startTime"], v["endTime"], v["timeType"]) else {
        return reject(st, api, ERR_PARAM, "startTime、endTime、timeType为必填");
    };
    if end < start {
        return reject(st, api, ERR_PARAM, "endTime不能小于startTime");
    }
    let by_update = match tt {
        1 if end - start <= 86_400 => false,
        2 if end - start <= 1800 => true,
        1 => return reject(st, api, ERR_PARAM, "timeType=1时 end-start 不能超过24小时"),
        2 => return reject(st, api, ERR_PARAM, "timeType=2时 end-start 不能超过30分钟"),
        _ => return reject(st, api, ERR_PARAM, "timeType只能为1或2"),
    };
    let page_no = v["pageNo"].unwrap_or(1);
    if !(1..=100).contains(&page_no) {
        return reject(st, api, ERR_PARAM, "pageNo取值范围1-100");
    }
    let page_size = v["pageSize"].unwrap_or(50);
    if !(1..=100).contains(&page_size) {
        return reject(st, api, ERR_PARAM, "pageSize取值范围1-100");
    }
    let ot = v["orderType"].filter(|t| *t != 0);
    let os = v["orderStatus"].filter(|t| *t != 0);
    let now = st.now_ms();
    let key = |o: &Order| {
        if by_update {
            o.updated_ms
        } else {
            o.created_ms
        }
    };
    let scope = st.scope_shop;
    let mut hits: Vec<&Order> = st
        .orders
        .iter()
        .filter(|o| o.platform == Platform::Xiaohongshu && o.shop == scope && o.created_ms <= now)
        .filter(|o| (start * 1000..=end * 1000 + 999).contains(&key(o)))
        .filter(|o| ot.is_none_or(|t| order_type(o) == t))
        .filter(|o| os.is_none_or(|s| status(o).0 == s))
        .collect();
    // Newest first ("倒序"); the docs advise pulling from the last page back to the first.
    hits.sort_by(|a, b| {
        key(b)
            .cmp(&key(a))
            .then_with(|| b.order_id.cmp(&a.order_id))
    });
    let total = hits.len() as i64;
    let max_page = ((total + page_size - 1) / page_size).clamp(1, 100);
    let list: Vec<Value> = hits
        .iter()
        .skip(((page_no - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|o| simple(o))
        .collect();
    ok(
        json!({ "total": total, "pageNo": page_no, "pageSize": page_size, "maxPageNo": max_page, "orderList": list }),
    )
}

fn after_sale_status(o: &Order) -> i64 {
    if o.after_sales.iter().any(|r| r.open()) {
        return 2;
    }
    match o.refund {
        Refund::Requested => 2,
        Refund::Refunded => 3,
        Refund::None if o.any_refunded() => 3,
        Refund::None => 1,
    }
}

fn tags(o: &Order) -> Vec<&'static str> {
    let mut t = Vec::new();
    if o.address_version > 0 {
        t.push("MODIFIED_ADDR");
    }
    if o.presale != Presale::None {
        t.push("SELLER_DECLARE");
    }
    t
}

/// An `orderList[]` item (OrderSimpleDetail); times in milliseconds.
pub fn simple(o: &Order) -> Value {
    let r = &o.receiver;
    json!({
        "orderId": o.order_id,
        "orderType": order_type(o),
        "orderStatus": status(o).0,
        "orderAfterSalesStatus": after_sale_status(o),
        "cancelStatus": 0,
        "createdTime": o.created_ms,
        "paidTime": o.paid_ms.unwrap_or(0),
        "updateTime": o.updated_ms,
        "deliveryTime": o.shipments.first().map(|s| s.at_ms).unwrap_or(0),
        "cancelTime": o.cancelled_ms.unwrap_or(0),
        "finishTime": o.finished_ms.unwrap_or(0),
        "promiseLastDeliveryTime": if o.paid_ms.is_some() { o.ship_deadline_ms } else { 0 },
        "planInfoId": "",
        "planInfoName": "",
        "receiverCountryId": "",
        "receiverCountryName": "中国",
        "receiverProvinceId": r.province_code,
        "receiverProvinceName": r.province,
        "receiverCityId": "",
        "receiverCityName": r.city,
        "receiverDistrictId": "",
        "receiverDistrictName": r.district,
        "customerRemark": o.buyer_note,
        "sellerRemark": o.seller_note,
        "sellerRemarkFlag": o.seller_flag,
        "originalOrderId": "",
        "logistics": "red_auto",
        "orderTagList": tags(o),
    })
}

pub fn open_address_id(o: &Order) -> String {
    md5_hex(format!("{}|{}", o.order_id, o.address_version).as_bytes())
}

fn detail(st: &mut State, api: &str, b: &Value) -> Response {
    let id = text(b.get("orderId"));
    let Some(i) = st.find(Platform::Xiaohongshu, &id) else {
        return reject(st, api, ERR_BUSINESS, "订单不存在");
    };
    let o = &st.orders[i];
    let mut v = simple(o);
    let skus: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(li, l)| {
            json!({
                "skuId": l.sku_id,
                "skuName": l.title,
                "erpcode": l.sku_code,
                "skuSpec": l.spec.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(";"),
                "skuImage": format!("https://ci.xiaohongshu.com/{}.jpg", l.product_id),
                "skuQuantity": l.qty,
                "totalPaidAmount": l.paid_fen,
                "totalMerchantDiscount": l.unit_price_fen * l.qty as i64 - l.paid_fen,
                "totalRedDiscount": 0,
                "skuAfterSaleStatus": if l.refunded { 3 } else if o.refund == Refund::Requested || crate::aftersale::open_qty(o, li) > 0 { 2 } else { 1 },
                "itemId": l.product_id,
                "itemName": l.title,
            })
        })
        .collect();
    let deliveries: Vec<Value> = o
        .shipments
        .iter()
        .map(|s| {
            json!({
                "status": if matches!(o.status, Status::Completed) { 7 } else { 6 },
                "expressTrackingNo": s.tracking_no,
                "expressCompanyCode": s.carrier,
                "skuIdList": s.items.iter().map(|(i, _)| o.lines[*i].sku_id.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let m = v.as_object_mut().expect("simple() builds an object");
    m.insert("skuList".into(), json!(skus));
    m.insert("totalPayAmount".into(), json!(o.total_paid_fen()));
    m.insert("totalShippingFree".into(), json!(o.freight_fen));
    m.insert("totalMerchantDiscount".into(), json!(o.discount_fen));
    m.insert(
        "expressTrackingNo".into(),
        json!(
            o.shipments
                .first()
                .map(|s| s.tracking_no.clone())
                .unwrap_or_default()
        ),
    );
    m.insert(
        "expressCompanyCode".into(),
        json!(
            o.shipments
                .first()
                .map(|s| s.carrier.clone())
                .unwrap_or_default()
        ),
    );
    m.insert("openAddressId".into(), json!(open_address_id(o)));
    m.insert("simpleDeliveryOrderList".into(), json!(deliveries));
    m.insert(
        "presaleDeliveryStartTime".into(),
        json!(o.presale_window_ms.map(|w| w.0).unwrap_or(0)),
    );
    m.insert(
        "presaleDeliveryEndTime".into(),
        json!(o.presale_window_ms.map(|w| w.1).unwrap_or(0)),
    );
    m.insert("userId".into(), json!(o.buyer_id));
    ok(v)
}

/// `order.getOrderTracking`: one entry per package. The emulator has no carrier traces yet, so
/// `records` is empty and the status is the platform's own view of the package.
fn tracking(st: &mut State, api: &str, b: &Value) -> Response {
    let id = text(b.get("orderId"));
    let Some(i) = st.find(Platform::Xiaohongshu, &id) else {
        return reject(st, api, ERR_BUSINESS, "订单不存在");
    };
    let o = &st.orders[i];
    let infos: Vec<Value> = o
        .shipments
        .iter()
        .map(|s| {
            json!({
                "expressCompanyCode": s.carrier,
                "expressCompanyName": CARRIERS.iter().find(|c| c.1 == s.carrier).map(|c| c.2).unwrap_or(""),
                "expressNo": s.tracking_no,
                "currentStatusDesc": if o.status == Status::Completed { "已签收" } else { "已发货" },
                "records": [],
            })
        })
        .collect();
    ok(json!({ "orderTrackInfos": infos }))
}

/// `#<search index>#<ciphertext>#<type>##`; type 1 address, 2 name, 3 phone.
pub fn cipher(pii: &PiiCipher, order_id: &str, kind: u8, plain: &str) -> String {
    format!(
        "#{}#{}#{kind}##",
        pii.index(plain),
        pii.seal(order_id, plain)
    )
}

fn uncipher(pii: &PiiCipher, order_id: &str, text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split('#').collect();
    // "", index, ciphertext, type, "", ""
    if parts.len() != 6 || !parts[0].is_empty() || !matches!(parts[3], "1" | "2" | "3") {
        return None;
    }
    pii.open(order_id, parts[2])
}

fn receiver_info(sim: &Sim, st: &mut State, api: &str, b: &Value) -> Response {
    let Some(qs) = b.get("receiverQueries").and_then(Value::as_array) else {
        return reject(st, api, ERR_PARAM, "receiverQueries为必填");
    };
    if qs.is_empty() || qs.len() > 100 {
        return reject(st, api, ERR_PARAM, "receiverQueries数量须为1-100");
    }
    let pii = &sim.pii[&Platform::Xiaohongshu];
    let mut out = Vec::new();
    for q in qs {
        let id = text(q.get("orderId"));
        let Some(i) = st.find(Platform::Xiaohongshu, &id) else {
            return reject(st, api, ERR_BUSINESS, &format!("订单{id}不存在"));
        };
        let o = &st.orders[i];
        // Only while the order waits to ship.
        if !o.shippable() {
            return reject(st, api, ERR_BUSINESS, &format!("订单{id}不是待发货状态"));
        }
        let r = &o.receiver;
        let matched = text(q.get("openAddressId")) == open_address_id(o);
        out.push(json!({
            "orderId": o.order_id,
            "matched": matched,
            "receiverProvinceName": r.province,
            "receiverCityName": r.city,
            "receiverDistrictName": r.district,
            "receiverTownName": r.town,
            "receiverName": cipher(pii, &o.order_id, 2, &r.name),
            "receiverPhone": cipher(pii, &o.order_id, 3, &crate::douyin::shown_phone(o)),
            "receiverAddress": cipher(pii, &o.order_id, 1, &r.detail),
        }));
    }
    ok(json!({ "receiverInfos": out }))
}

fn deliver(sim: &Sim, st: &mut State, api: &str, b: &Value) -> Response {
    let id = text(b.get("orderId"));
    let no = text(b.get("expressNo")).trim().to_string();
    let code = text(b.get("expressCompanyCode"));
    let rec = |st: &mut State, outcome: ShipOutcome, why: &str| {
        st.record_ship(Platform::Xiaohongshu, api, &id, &code, &no, outcome, why)
    };
    for (k, v) in [
        ("orderId", &id),
        ("expressNo", &no),
        ("expressCompanyCode", &code),
    ] {
        if v.is_empty() {
            rec(st, ShipOutcome::Rejected, &format!("missing {k}"));
            return reject(st, api, ERR_PARAM, &format!("{k}为必填"));
        }
    }
    if code != "selfdelivery" && !CARRIERS.iter().any(|c| c.1 == code) {
        rec(st, ShipOutcome::Rejected, "unknown expressCompanyCode");
        return reject(st, api, ERR_PARAM, "expressCompanyCode无效");
    }
    let Some(i) = st.find(Platform::Xiaohongshu, &id) else {
        rec(st, ShipOutcome::Rejected, "order not found");
        return reject(st, api, ERR_BUSINESS, "订单不存在");
    };
    let o = &st.orders[i];
    if o.shipments
        .iter()
        .any(|s| s.carrier == code && s.tracking_no == no)
    {
        rec(st, ShipOutcome::AlreadyShipped, "订单已发货");
        return reject(st, api, ERR_BUSINESS, "订单已发货，请勿重复发货");
    }
    if !o.shippable() {
        let why = format!("订单状态{}不允许发货", status(o).0);
        rec(st, ShipOutcome::Rejected, &why);
        return reject(st, api, ERR_BUSINESS, &why);
    }
    let unpack = b.get("unpack").and_then(Value::as_bool).unwrap_or(false);
    let mut items = Vec::new();
    if unpack {
        let ids: Vec<String> = b
            .get("skuIdList")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|v| text(Some(v))).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            rec(st, ShipOutcome::Rejected, "unpack without skuIdList");
            return reject(st, api, ERR_PARAM, "拆包发货时skuIdList为必填");
        }
        for sid in ids {
            let Some(li) = o.lines.iter().position(|l| l.sku_id == sid) else {
                rec(st, ShipOutcome::Rejected, "skuId not in order");
                return reject(st, api, ERR_PARAM, &format!("skuId {sid} 不属于该订单"));
            };
            let q = o.remaining_qty(li);
            if q == 0 {
                rec(st, ShipOutcome::Rejected, "sku already shipped");
                return reject(st, api, ERR_BUSINESS, &format!("skuId {sid} 已发货"));
            }
            items.push((li, q));
        }
    }
    let all = crate::state::ship(
        st,
        i,
        ShipRequest {
            carrier: code.clone(),
            tracking_no: no.clone(),
            items,
        },
    );
    rec(st, ShipOutcome::Accepted, "");
    sim.emit(st, i, Change::Shipped { all });
    ok(Value::Null)
}

/// `order.modifyOrderExpressInfo`: only after shipping and before delivery (reference §3.3), i.e.
/// while the order is 部分发货 or 待收货; completed, closed and unshipped orders are refused. The
/// parcel is found by `oldExpressNo`, else by `deliveryOrderIndex` (0-based, an assumption),
/// else the last one. No limit on how often (none is documented). Every call is in the ledger.
fn modify_express(st: &mut State, api: &str, b: &Value) -> Response {
    let id = text(b.get("orderId"));
    let no = text(b.get("expressNo")).trim().to_string();
    let code = text(b.get("expressCompanyCode"));
    let old = text(b.get("oldExpressNo"));
    let rec = |st: &mut State, old_code: &str, old_no: &str, outcome: ShipOutcome, why: &str| {
        st.record_change(
            Platform::Xiaohongshu,
            api,
            &id,
            (old_code, old_no),
            (&code, &no),
            outcome,
            why,
        )
    };
    if id.is_empty() || no.is_empty() || code.is_empty() {
        let why = "orderId、expressNo、expressCompanyCode为必填";
        rec(st, "", &old, ShipOutcome::Rejected, why);
        return reject(st, api, ERR_PARAM, why);
    }
    if code != "selfdelivery" && !CARRIERS.iter().any(|c| c.1 == code) {
        rec(
            st,
            "",
            &old,
            ShipOutcome::Rejected,
            "expressCompanyCode无效",
        );
        return reject(st, api, ERR_PARAM, "expressCompanyCode无效");
    }
    let Some(i) = st.find(Platform::Xiaohongshu, &id) else {
        rec(st, "", &old, ShipOutcome::Rejected, "订单不存在");
        return reject(st, api, ERR_BUSINESS, "订单不存在");
    };
    if !matches!(st.orders[i].status, Status::PartShipped | Status::Shipped) {
        let why = "当前订单状态不允许修改物流信息";
        rec(st, "", &old, ShipOutcome::Rejected, why);
        return reject(st, api, ERR_BUSINESS, why);
    }
    let idx = int(b, "deliveryOrderIndex").ok().flatten();
    let o = &st.orders[i];
    let pkg = if !old.is_empty() {
        o.shipments.iter().position(|s| s.tracking_no == old)
    } else {
        idx.and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n < o.shipments.len())
            .or(Some(o.shipments.len().saturating_sub(1)))
    };
    let Some(pkg) = pkg.filter(|p| *p < o.shipments.len()) else {
        rec(st, "", &old, ShipOutcome::Rejected, "原运单号不存在");
        return reject(st, api, ERR_BUSINESS, "原运单号不存在");
    };
    let now = st.now_ms();
    let o = &mut st.orders[i];
    let before = (
        o.shipments[pkg].carrier.clone(),
        o.shipments[pkg].tracking_no.clone(),
    );
    o.shipments[pkg].carrier = code.clone();
    o.shipments[pkg].tracking_no = no.clone();
    o.updated_ms = o.updated_ms.max(now);
    rec(st, &before.0, &before.1, ShipOutcome::Accepted, "changed");
    ok(Value::Null)
}

fn batch_decrypt(sim: &Sim, st: &mut State, api: &str, b: &Value) -> Response {
    let Some(infos) = b.get("baseInfos").and_then(Value::as_array) else {
        return reject(st, api, ERR_PARAM, "baseInfos为必填");
    };
    if infos.is_empty() || infos.len() > 100 {
        return reject(st, api, ERR_PARAM, "baseInfos数量须为1-100");
    }
    if !matches!(int(b, "actionType"), Ok(Some(1..=4))) {
        return reject(st, api, ERR_PARAM, "actionType须为1-4");
    }
    let pii = &sim.pii[&Platform::Xiaohongshu];
    let mut out = Vec::new();
    for info in infos {
        let tag = text(info.get("dataTag"));
        let enc = text(info.get("encryptedData"));
        let used = st.decrypts_today(Platform::Xiaohongshu);
        let order = st
            .find(Platform::Xiaohongshu, &tag)
            .map(|i| st.orders[i].clone());
        let mut item = json!({
            "dataTag": tag, "encryptedData": enc, "decryptedData": "", "errorCode": 0, "errorMsg": "",
            "virtualNumberFlag": false, "virtualNumber": "", "expireAt": 0,
        });
        if used >= sim.cfg.decrypt_quota {
            item["errorCode"] = json!(ERR_DECRYPT_QUOTA);
            item["errorMsg"] = json!("解密次数超过限额");
        } else {
            match (order, uncipher(pii, &tag, &enc)) {
                (Some(o), Some(plain)) => {
                    st.record_decrypt(Platform::Xiaohongshu, tag.clone());
                    let is_phone = enc.ends_with("#3##");
                    if let (true, Some(v)) = (is_phone, &o.receiver.virtual_phone) {
                        item["virtualNumberFlag"] = json!(true);
                        item["virtualNumber"] = json!(format!("{}-{}", v.number, v.extension));
                        item["expireAt"] = json!(v.expires_at * 1000);
                    }
                    item["decryptedData"] = json!(plain);
                }
                _ => {
                    item["errorCode"] = json!(ERR_DECRYPT_FAILED);
                    item["errorMsg"] = json!("解密失败");
                }
            }
        }
        out.push(item);
    }
    ok(json!({ "dataInfoList": out }))
}

// ---------------------------------------------------------------- pushes

pub fn push_payload(
    cfg: &SimConfig,
    o: &Order,
    change: &Change,
    now_ms: i64,
) -> Option<(String, Value)> {
    let tag = match change {
        Change::AfterSale(a, ev) => {
            return crate::aftersale::push_payload(cfg, o, a, *ev, now_ms);
        }
        Change::Created
        | Change::Paid
        | Change::Cancelled
        | Change::Shipped { .. }
        | Change::Completed
        | Change::ReviewCleared
        | Change::Refunded => "msg_fulfillment_status_change",
        Change::AddressChanged => "msg_fulfillment_receiver_change",
        Change::SellerNoteChanged => "msg_fulfillment_seller_remark_change",
        Change::RefundRequested | Change::LineRefunded => "msg_after_sale_create",
        // No documented message for a lapsed refund request.
        Change::RefundClosed => return None,
    };
    let data = json!({
        "orderId": o.order_id,
        "orderStatus": status(o).0,
        "orderAfterSalesStatus": after_sale_status(o),
        "updateTime": now_ms,
    });
    let msg = json!({ "msgTag": tag, "sellerId": cfg.xiaohongshu_seller(o.shop).0, "data": data.to_string() });
    Some((tag.to_string(), msg))
}

/// Push `sign = md5(url_path + "?" + sorted(query params + app-key + timestamp) + appSecret)`.
/// The doc's worked example shows `…&tamp=…`, a display typo; its digest matches the reading
/// with the callback URL's own query (`canshu=test`) and `timestamp=` (see the tests).
pub fn push_sign(callback_url: &str, app_key: &str, timestamp: &str, secret: &str) -> String {
    let after_host = callback_url
        .strip_prefix("http://")
        .or_else(|| callback_url.strip_prefix("https://"))
        .unwrap_or(callback_url);
    let path_q = after_host
        .find('/')
        .map(|i| &after_host[i..])
        .unwrap_or("/");
    let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
    let mut params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    params.push(("app-key".into(), app_key.into()));
    params.push(("timestamp".into(), timestamp.into()));
    params.sort();
    let joined: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    md5_hex(format!("{path}?{}{secret}", joined.join("&")).as_bytes())
}

pub fn encode_push(cfg: &SimConfig, msg: &PushMsg, forged: bool, sent_ms: i64) -> Outgoing {
    let app = &cfg.xiaohongshu;
    let ts = (sent_ms / 1000).to_string();
    let secret = if forged {
        format!("{}-forged", app.app_secret)
    } else {
        app.app_secret.clone()
    };
    let sig = push_sign(&msg.url, &app.app_id, &ts, &secret);
    Outgoing {
        url: msg.url.clone(),
        headers: vec![
            (
                "content-type".into(),
                "application/json;charset=utf-8".into(),
            ),
            ("timestamp".into(), ts),
            ("app-key".into(), app.app_id.clone()),
            ("sign".into(), sig),
        ],
        body: json!([msg.payload]).to_string().into_bytes(),
    }
}

/// Expected reply: `{"success": true, "error_code": 0, "error_msg": ""}`.
pub fn push_acknowledged(status: u16, body: &str) -> bool {
    status == 200
        && serde_json::from_str::<Value>(body)
            .is_ok_and(|v| v.get("success").and_then(Value::as_bool) == Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_sign_matches_doc_example() {
        // 041_应用消息推送: url /open_api/msg?canshu=test, app-key xhs, timestamp 1625475843,
        // app-secret 9a539709cafc1efc9ef05838be468a28 -> a7b7430de338783293443133ab9b9357.
        assert_eq!(
            push_sign(
                "http://example.invalid/open_api/msg?canshu=test",
                "xhs",
                "1625475843",
                "9a539709cafc1efc9ef05838be468a28"
            ),
            "a7b7430de338783293443133ab9b9357"
        );
    }

    #[test]
    fn request_sign_vector() {
        // The doc's example masks its appId and secret; this vector was computed independently
        // (Python hashlib) over the documented layout with the example's method and timestamp.
        assert_eq!(
            sign(
                "product.createItem",
                "21d6a7f3b748be8de0",
                "1612518379",
                "2.0",
                "429a1b2c3d4e5f6a3aee9ef9e4a858210"
            ),
            "50bbd1d382cb77b6a61fa79fc7e8cd2b"
        );
    }

    #[test]
    fn cipher_format_has_four_hashes() {
        let pii = PiiCipher::new("k");
        let c = cipher(&pii, "P1", 3, "13800001111");
        assert!(c.starts_with('#') && c.ends_with("#3##"));
        assert_eq!(c.matches('#').count(), 5);
        assert_eq!(uncipher(&pii, "P1", &c).as_deref(), Some("13800001111"));
        assert_eq!(uncipher(&pii, "P2", &c), None);
    }
}
