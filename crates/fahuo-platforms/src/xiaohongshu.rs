//! Xiaohongshu (小红书电商开放平台, "ark"), reference §3.
//!
//! * Calls: one gateway, `POST {base}/ark/open_api/v3/common_controller`, JSON body with system
//!   and business parameters flattened together: `appId`, `method`, `timestamp` (seconds, a
//!   string), `version` `"2.0"`, `sign`, `accessToken`.
//! * `sign = hex(MD5(method + "?appId=" + appId + "&timestamp=" + ts + "&version=" + version + appSecret))`;
//!   the body is not signed.
//! * Envelope `{error_code, error_msg, success, data}`. The reference has no gateway error table:
//!   the codes below marked *stand-in* are those of fahuo-sim and must be checked against
//!   production; messages naming `accessToken` are also treated as token problems.
//! * Tokens: `oauth.getAccessToken` with the authorisation `code`, `oauth.refreshToken`;
//!   expiries come back as absolute milliseconds.
//! * Sync: `order.getOrderList` `timeType=2` (≤ 30 minutes), newest first; pages are read from
//!   the last back to the first (the order the docs advise: an order that changes during the
//!   pull leaves the window and shifts only pages already read), then page 1 again.
//!   Details per order; receivers via `order.getOrderReceiverInfo` (only while the order waits
//!   to ship) and `data.batchDecrypt` (≤ 100 per call).
//! * Receiver fingerprint ([`PulledOrder::receiver_fingerprint`], orders waiting to ship only):
//!   SHA-256 over the detail's `openAddressId` and `getOrderReceiverInfo`'s name, phone and
//!   address ciphers with the clear region names. `getOrderReceiverInfo` costs no decryption
//!   quota; `batchDecrypt` does, and is skipped while the fingerprint is the one fahuo stored.
//!   Safe because a changed address gets a new `openAddressId` and new ciphers (they are the
//!   receiver encrypted); a re-encryption of the same receiver only costs a decryption.
//! * Pushes: JSON array, headers `timestamp`, `app-key`, `sign` with
//!   `sign = MD5(path + "?" + sorted(query params + app-key + timestamp as k=v joined by &) + appSecret)`.

use crate::client::{Outgoing, PlatformClient, from_millis, split_window};
use crate::error::{PlatformError, WebhookError};
use crate::model::*;
use crate::ship::{ChangeShipment, PlatformCarrier, ShipOutcome, ShipRequest};
use crate::util::*;
use crate::webhook::{
    PushEvent, WebhookMessage, WebhookRequest, digest_key, header, json_body, message_array,
    message_data,
};
use chrono::{DateTime, Utc};
use fahuo_domain::catalog::ShopCredentials;
use fahuo_domain::order::{MaskedReceiver, NewOrderLine, Receiver};
use fahuo_domain::{Fen, PlatformOrderId};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

// Stand-in gateway codes (see the module docs).
const ERR_SYSTEM: i64 = -1;
const ERR_TOKEN_INVALID: i64 = 10003;
const ERR_TOKEN_EXPIRED: i64 = 10004;
const ERR_RATE_LIMITED: i64 = 10005;
/// `data.batchDecrypt` per-item codes (reference §3.3): quota hit, and the other failure.
const ERR_DECRYPT_QUOTA: i64 = -2_000_701;

const GATEWAY: &str = "/ark/open_api/v3/common_controller";
const VERSION: &str = "2.0";

// ------------------------------------------------------------------ signing

/// Request signature over the four system parameters.
pub fn sign(
    method: &str,
    app_id: &str,
    timestamp: &str,
    version: &str,
    app_secret: &str,
) -> String {
    md5_hex(
        format!("{method}?appId={app_id}&timestamp={timestamp}&version={version}{app_secret}")
            .as_bytes(),
    )
}

/// Push signature, reading the doc as: the callback's path, `?`, then the callback URL's own
/// query parameters together with `app-key` and `timestamp`, sorted by name, as `k=v` joined by
/// `&`, then the app secret. (The doc's worked example prints `tamp=` for `timestamp=`; its
/// digest only matches this reading — see the tests.)
pub fn push_sign(
    path: &str,
    query: &str,
    app_key: &str,
    timestamp: &str,
    app_secret: &str,
) -> String {
    let mut params: Vec<(&str, &str)> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    params.push(("app-key", app_key));
    params.push(("timestamp", timestamp));
    params.sort();
    let joined: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    md5_hex(format!("{path}?{}{app_secret}", joined.join("&")).as_bytes())
}

// ------------------------------------------------------------------ webhooks

pub(crate) fn verify_webhook(
    creds: &ShopCredentials,
    req: &WebhookRequest,
) -> Result<WebhookMessage, WebhookError> {
    if creds.app_key.is_empty() || creds.app_secret.is_empty() {
        return Err(WebhookError::NotConfigured(
            "Xiaohongshu appId/appSecret".into(),
        ));
    }
    let ts = header(req, "timestamp").ok_or(WebhookError::Missing("timestamp header"))?;
    let key = header(req, "app-key").ok_or(WebhookError::Missing("app-key header"))?;
    let sig = header(req, "sign").ok_or(WebhookError::Missing("sign header"))?;
    let path = if req.path.is_empty() { "/" } else { req.path };
    // The documented reading signs the callback URL's query too; a receiver behind a proxy that
    // rewrites the query may only match the bare reading, which is accepted as well.
    let ok = ct_eq(sig, &push_sign(path, req.query, key, ts, &creds.app_secret))
        || ct_eq(sig, &push_sign(path, "", key, ts, &creds.app_secret));
    if !ok {
        return Err(WebhookError::BadSignature);
    }
    if key != creds.app_key {
        return Err(WebhookError::WrongRecipient);
    }
    let v = json_body(req.body)?;
    if v.get("test").and_then(Value::as_bool) == Some(true) {
        return Ok(WebhookMessage::Test);
    }
    let items = message_array(v)?;
    let mut events = Vec::with_capacity(items.len());
    for item in &items {
        let tag = nonempty(item, "msgTag").ok_or(WebhookError::Missing("msgTag"))?;
        let (data, raw) = message_data(item)?;
        let seller = nonempty(item, "sellerId");
        events.push(PushEvent {
            // No message id: the item itself (tag, seller, data incl. its updateTime) is the key.
            dedupe_key: digest_key(
                "xiaohongshu",
                &[&tag, seller.as_deref().unwrap_or(""), &raw],
            ),
            kind: tag,
            platform_order_id: nonempty(&data, "orderId"),
            platform_after_sale_id: nonempty(&data, "returnsId"),
            platform_shop_id: seller,
        });
    }
    Ok(WebhookMessage::Events(events))
}

// ------------------------------------------------------------------ calls and tokens

fn token_rejected(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Auth { code, msg } if code == &ERR_TOKEN_INVALID.to_string()
        || code == &ERR_TOKEN_EXPIRED.to_string()
        || msg.contains("accessToken"))
}

fn classify(status: u16, body: &[u8]) -> Result<Value, PlatformError> {
    let parsed = json_object(body);
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    let v = parsed?;
    let code = int(&v, "error_code")?;
    let success = v.get("success").and_then(Value::as_bool);
    if success == Some(true) || (success.is_none() && code == Some(0)) {
        if status != 200 {
            return Err(PlatformError::Transient(format!("HTTP {status}")));
        }
        return Ok(v.get("data").cloned().unwrap_or(Value::Null));
    }
    let code = code.ok_or_else(|| PlatformError::protocol("failure without error_code"))?;
    let msg = text(&v, "error_msg").unwrap_or_default();
    let c = code.to_string();
    Err(match code {
        ERR_SYSTEM => PlatformError::Transient(format!("system busy ({c})")),
        ERR_RATE_LIMITED => PlatformError::RateLimited {
            code: c,
            retry_after: None,
        },
        ERR_TOKEN_INVALID | ERR_TOKEN_EXPIRED => PlatformError::Auth { code: c, msg },
        _ if msg.contains("accessToken") => PlatformError::Auth { code: c, msg },
        ERR_DECRYPT_QUOTA => PlatformError::DecryptQuota { code: c, msg },
        _ => PlatformError::Invalid { code: c, msg },
    })
}

async fn send_signed(
    c: &PlatformClient,
    method: &str,
    params: &Map<String, Value>,
    token: Option<&str>,
) -> Result<Value, PlatformError> {
    let creds = c.credentials();
    let ts = Utc::now().timestamp().to_string();
    let mut body = params.clone();
    body.insert("appId".into(), json!(creds.app_key));
    body.insert("method".into(), json!(method));
    body.insert("timestamp".into(), json!(ts));
    body.insert("version".into(), json!(VERSION));
    body.insert(
        "sign".into(),
        json!(sign(
            method,
            &creds.app_key,
            &ts,
            VERSION,
            &creds.app_secret
        )),
    );
    if let Some(t) = token {
        body.insert("accessToken".into(), json!(t));
    }
    let (status, resp) = c
        .send(Outgoing {
            method: reqwest::Method::POST,
            url: format!("{}{GATEWAY}", c.base_url),
            json_body: Some(Value::Object(body).to_string().into_bytes()),
            content_type: "application/json;charset=utf-8",
        })
        .await?;
    classify(status, &resp)
}

fn params(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub(crate) async fn call(
    c: &PlatformClient,
    method: &str,
    p: Value,
) -> Result<Value, PlatformError> {
    let p = params(p);
    c.authorized(method, token_rejected, |token| {
        let p = &p;
        async move { send_signed(c, method, p, Some(&token)).await }
    })
    .await
}

pub(crate) async fn obtain_token(
    c: &PlatformClient,
    now: DateTime<Utc>,
) -> Result<(), PlatformError> {
    let creds = c.credentials();
    let refreshable = creds
        .refresh_token
        .as_deref()
        .is_some_and(|t| !t.is_empty())
        && creds.refresh_token_expires_at.is_none_or(|e| e > now);
    let mut answer = None;
    if refreshable {
        let p = params(json!({ "refreshToken": creds.refresh_token.clone().unwrap_or_default() }));
        match c
            .retrying("oauth.refreshToken", || {
                send_signed(c, "oauth.refreshToken", &p, None)
            })
            .await
        {
            Ok(v) => answer = Some(v),
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::info!(error = %e, "Xiaohongshu refresh refused; trying the auth code")
            }
        }
    }
    let v = match answer {
        Some(v) => v,
        None => {
            let code = creds
                .auth_code
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| PlatformError::Auth {
                    code: "no-authorization".into(),
                    msg: "no valid refresh token and no authorisation code: re-authorise the shop"
                        .into(),
                })?;
            let p = params(json!({ "code": code }));
            let v = c
                .retrying("oauth.getAccessToken", || {
                    send_signed(c, "oauth.getAccessToken", &p, None)
                })
                .await
                .map_err(|e| match e {
                    PlatformError::Invalid { code, msg } => PlatformError::Auth { code, msg },
                    e => e,
                })?;
            c.clear_auth_code();
            v
        }
    };
    let token = req_text(&v, "accessToken")?;
    let access_exp = int(&v, "accessTokenExpiresAt")?
        .and_then(from_millis)
        .unwrap_or(now + chrono::Duration::days(7));
    let refresh_exp = int(&v, "refreshTokenExpiresAt")?
        .and_then(from_millis)
        .unwrap_or(now + chrono::Duration::days(14));
    c.store_token(
        token,
        Some(access_exp),
        nonempty(&v, "refreshToken"),
        Some(refresh_exp),
    );
    if let Some(seller) = nonempty(&v, "sellerId") {
        c.set_shop_id_if_empty(&seller);
    }
    Ok(())
}

// ------------------------------------------------------------------ sync

pub(crate) async fn read_window(
    c: &PlatformClient,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<SealedOrder>, PlatformError> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    let mut windows: Vec<(i64, i64)> = split_window(start, end, c.sync_limits().max_window)
        .into_iter()
        .map(|(s, e)| {
            (
                s.timestamp(),
                (e - chrono::Duration::milliseconds(1)).timestamp(),
            )
        })
        .filter(|(s, e)| e >= s)
        .rev()
        .collect();
    let size = i64::from(c.opts.page_size);
    while let Some((from, to)) = windows.pop() {
        let list = |page: i64| {
            call(
                c,
                "order.getOrderList",
                json!({ "startTime": from, "endTime": to, "timeType": 2, "pageNo": page, "pageSize": size }),
            )
        };
        let first = list(1).await?;
        let total = int(&first, "total")?.unwrap_or(0);
        // pageNo stops at 100: a busier window is halved and read as two.
        if total > size * 100 && to > from {
            let mid = from + (to - from) / 2;
            windows.push((mid + 1, to));
            windows.push((from, mid));
            continue;
        }
        let max_page = int(&first, "maxPageNo")?.unwrap_or(1).clamp(1, 100);
        let mut pages = vec![first];
        for page in (2..=max_page).rev() {
            pages.push(list(page).await?);
        }
        if max_page > 1 {
            pages.push(list(1).await?);
        }
        for v in &pages {
            for o in array(v, "orderList")? {
                let id = req_text(o, "orderId")?;
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
        }
    }
    let details: Vec<Result<Mapped, PlatformError>> = futures_util::stream::iter(ids)
        .map(|id| async move { detail(c, &id).await })
        .buffered(c.opts.concurrency)
        .collect()
        .await;
    let orders = details.into_iter().collect::<Result<Vec<_>, _>>()?;
    seal_receivers(c, orders).await
}

pub(crate) async fn read_order(c: &PlatformClient, id: &str) -> Result<SealedOrder, PlatformError> {
    seal_receivers(c, vec![detail(c, id).await?])
        .await?
        .pop()
        .ok_or_else(|| PlatformError::protocol("order vanished while reading its receiver"))
}

/// A mapped order and the `openAddressId` its receiver is fetched with.
type Mapped = (PulledOrder, String);

async fn detail(c: &PlatformClient, id: &str) -> Result<Mapped, PlatformError> {
    let v = call(c, "order.getOrderDetail", json!({ "orderId": id })).await?;
    if !v.is_object() {
        return Err(PlatformError::protocol("getOrderDetail without data"));
    }
    map_order(&v)
}

/// Reads the encrypted receivers of the orders waiting to ship (`getOrderReceiverInfo`; not a
/// decryption) and takes their fingerprints. An address changed since the detail
/// (`matched: false`) is read again, detail and receiver, once.
async fn seal_receivers(
    c: &PlatformClient,
    mut orders: Vec<Mapped>,
) -> Result<Vec<SealedOrder>, PlatformError> {
    let wanted: Vec<usize> = (0..orders.len())
        .filter(|i| orders[*i].0.status.is_shippable())
        .collect();
    let mut infos: HashMap<String, Value> = HashMap::new();
    for chunk in wanted.chunks(100) {
        let queries: Vec<(String, String)> = chunk
            .iter()
            .map(|i| {
                (
                    orders[*i].0.order.platform_order_id.as_str().to_string(),
                    orders[*i].1.clone(),
                )
            })
            .collect();
        for info in receiver_infos(c, &queries).await? {
            let id = req_text(&info, "orderId")?;
            if info.get("matched").and_then(Value::as_bool) == Some(false) {
                // The address changed after the detail was read: read both again, once.
                let fresh = detail(c, &id).await?;
                let again = receiver_infos(c, &[(id.clone(), fresh.1.clone())]).await?;
                if let Some(i) = wanted
                    .iter()
                    .find(|i| orders[**i].0.order.platform_order_id.as_str() == id)
                {
                    orders[*i] = fresh;
                }
                if let Some(a) = again.into_iter().next() {
                    infos.insert(id, a);
                }
                continue;
            }
            infos.insert(id, info);
        }
    }
    Ok(orders
        .into_iter()
        .map(|(mut pulled, open_address_id)| {
            let info = infos.remove(pulled.order.platform_order_id.as_str());
            pulled.receiver_fingerprint = info.as_ref().map(|info| {
                let field = |k: &str| text(info, k).unwrap_or_default();
                fingerprint(
                    [
                        open_address_id,
                        field("receiverName"),
                        field("receiverPhone"),
                        field("receiverAddress"),
                        field("receiverProvinceName"),
                        field("receiverCityName"),
                        field("receiverDistrictName"),
                        field("receiverTownName"),
                    ]
                    .iter()
                    .map(String::as_str),
                )
            });
            SealedOrder {
                pulled,
                seal: Seal::Xiaohongshu(info),
            }
        })
        .collect())
}

/// Decrypts (`data.batchDecrypt`) the receivers [`seal_receivers`] read, except those `known`
/// holds.
pub(crate) async fn open_receivers(
    c: &PlatformClient,
    orders: Vec<SealedOrder>,
    known: &KnownReceivers,
) -> Result<Vec<PulledOrder>, PlatformError> {
    let mut infos: HashMap<String, Value> = HashMap::new();
    let mut pulled = Vec::with_capacity(orders.len());
    for o in orders {
        let Seal::Xiaohongshu(info) = o.seal else {
            return Err(Seal::read_elsewhere());
        };
        let mut p = o.pulled;
        if p.status.is_shippable() {
            if known.holds(&p) {
                p.receiver = ReceiverState::Unchanged;
            } else if let Some(info) = info {
                infos.insert(p.order.platform_order_id.as_str().to_string(), info);
            }
        }
        pulled.push(p);
    }
    // Name, phone and address of every order, ≤ 100 per decrypt call.
    let mut items: Vec<(String, String)> = Vec::new();
    for (id, info) in &infos {
        for k in ["receiverName", "receiverPhone", "receiverAddress"] {
            if let Some(t) = nonempty(info, k) {
                items.push((id.clone(), t));
            }
        }
    }
    let results: Vec<Result<Vec<Value>, PlatformError>> =
        futures_util::stream::iter(items.chunks(100).map(<[_]>::to_vec).collect::<Vec<_>>())
            .map(|b| async move { decrypt_batch(c, &b).await })
            .buffered(c.opts.concurrency)
            .collect()
            .await;
    let mut plain: HashMap<(String, String), Value> = HashMap::new();
    for r in results {
        for d in r? {
            let key = (
                text(&d, "dataTag").unwrap_or_default(),
                text(&d, "encryptedData").unwrap_or_default(),
            );
            plain.insert(key, d);
        }
    }
    for p in pulled.iter_mut() {
        let id = p.order.platform_order_id.as_str().to_string();
        let Some(info) = infos.get(&id) else {
            if p.status.is_shippable() && p.receiver != ReceiverState::Unchanged {
                p.receiver = ReceiverState::Problem(ReceiverProblem::DecryptFailed(
                    "no receiver info returned".into(),
                ));
            }
            continue;
        };
        let get = |k: &str| -> Result<Value, String> {
            let Some(t) = nonempty(info, k) else {
                return Ok(Value::Null);
            };
            plain
                .get(&(id.clone(), t))
                .cloned()
                .ok_or_else(|| format!("{k} not decrypted"))
        };
        let value = |d: &Value| text(d, "decryptedData").unwrap_or_default();
        p.receiver = ReceiverState::from(
            match (
                get("receiverName"),
                get("receiverPhone"),
                get("receiverAddress"),
            ) {
                (Ok(n), Ok(ph), Ok(a)) => {
                    let failed = [&n, &ph, &a].iter().find_map(|d| {
                        int(d, "errorCode")
                            .ok()
                            .flatten()
                            .filter(|c| *c != 0)
                            .map(|c| (c, text(d, "errorMsg").unwrap_or_default()))
                    });
                    match failed {
                        Some((code, msg)) => {
                            Err(ReceiverProblem::DecryptFailed(format!("{code}: {msg}")))
                        }
                        None => {
                            let phone = match (
                                ph.get("virtualNumberFlag").and_then(Value::as_bool),
                                nonempty(&ph, "virtualNumber"),
                            ) {
                                (Some(true), Some(v)) => v,
                                _ => value(&ph),
                            };
                            Receiver::parse(
                                &value(&n),
                                &phone,
                                &text(info, "receiverProvinceName").unwrap_or_default(),
                                &text(info, "receiverCityName").unwrap_or_default(),
                                &text(info, "receiverDistrictName").unwrap_or_default(),
                                &join_town(
                                    &text(info, "receiverTownName").unwrap_or_default(),
                                    &value(&a),
                                ),
                            )
                            .map_err(ReceiverProblem::Invalid)
                        }
                    }
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    Err(ReceiverProblem::DecryptFailed(e))
                }
            },
        );
    }
    Ok(pulled)
}

/// `order.getOrderReceiverInfo` for up to 100 orders. The platform refuses the whole batch when
/// one order no longer waits to ship; then each order is asked alone and refusals are skipped.
async fn receiver_infos(
    c: &PlatformClient,
    queries: &[(String, String)],
) -> Result<Vec<Value>, PlatformError> {
    let ask = |q: &[(String, String)]| {
        let list: Vec<Value> = q
            .iter()
            .map(|(id, addr)| json!({ "orderId": id, "openAddressId": addr }))
            .collect();
        call(
            c,
            "order.getOrderReceiverInfo",
            json!({ "receiverQueries": list, "isReturn": false }),
        )
    };
    match ask(queries).await {
        Ok(v) => Ok(array(&v, "receiverInfos")?.to_vec()),
        Err(PlatformError::Invalid { .. }) if queries.len() > 1 => {
            let mut out = Vec::new();
            for q in queries {
                match ask(std::slice::from_ref(q)).await {
                    Ok(v) => out.extend(array(&v, "receiverInfos")?.iter().cloned()),
                    Err(PlatformError::Invalid { code, msg }) => {
                        tracing::info!(
                            code,
                            msg,
                            "Xiaohongshu receiver info refused for one order"
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        Err(PlatformError::Invalid { code, msg }) => {
            tracing::info!(code, msg, "Xiaohongshu receiver info refused");
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

async fn decrypt_batch(
    c: &PlatformClient,
    batch: &[(String, String)],
) -> Result<Vec<Value>, PlatformError> {
    let infos: Vec<Value> = batch
        .iter()
        .map(|(id, t)| json!({ "dataTag": id, "encryptedData": t }))
        .collect();
    // actionType 2: batch printing, which is what fahuo decrypts for.
    let v = call(
        c,
        "data.batchDecrypt",
        json!({ "baseInfos": infos, "actionType": 2 }),
    )
    .await?;
    let list = array(&v, "dataInfoList")?.to_vec();
    if let Some(q) = list
        .iter()
        .find(|d| int(d, "errorCode").ok().flatten() == Some(ERR_DECRYPT_QUOTA))
    {
        return Err(PlatformError::DecryptQuota {
            code: ERR_DECRYPT_QUOTA.to_string(),
            msg: text(q, "errorMsg").unwrap_or_default(),
        });
    }
    Ok(list)
}

pub(crate) fn status_of(code: i64) -> PlatformStatus {
    match code {
        1 => PlatformStatus::Unpaid,
        2 | 3 => PlatformStatus::PaidPending,
        4 => PlatformStatus::ToShip,
        5 => PlatformStatus::PartlyShipped,
        6 => PlatformStatus::Shipped,
        7 => PlatformStatus::Completed,
        8 => PlatformStatus::Closed,
        9 => PlatformStatus::Cancelled,
        10 => PlatformStatus::ExchangeRequested,
        other => PlatformStatus::Other(other.to_string()),
    }
}

fn line_after_sale(code: Option<i64>) -> AfterSale {
    match code {
        None | Some(0) | Some(1) => AfterSale::None,
        Some(2) => AfterSale::Requested,
        Some(3) => AfterSale::Refunded,
        Some(other) => AfterSale::Other(other.to_string()),
    }
}

/// Maps `order.getOrderDetail`'s data (times in milliseconds).
///
/// * `ship_by` = `promiseLastDeliveryTime` (XHS gives one deadline per order).
/// * `presale_ship_at` = `presaleDeliveryStartTime` for presale orders (`orderType` 2 or 4).
/// * Lines: no line id is published, so `platform_line_id` is `None`; `erpcode` is the merchant
///   code; paid = `totalPaidAmount`; unit price = (paid + merchant and platform discounts) / qty.
/// * `paid_total` = `totalPayAmount`, `freight` = `totalShippingFree`.
pub(crate) fn map_order(o: &Value) -> Result<Mapped, PlatformError> {
    let id = req_text(o, "orderId")?;
    let platform_order_id =
        PlatformOrderId::parse(&id).map_err(|e| PlatformError::protocol(e.to_string()))?;
    let code = req_int(o, "orderStatus")?;
    let order_type = int(o, "orderType")?.unwrap_or(1);
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let mut lines_after_sale = Vec::new();
    for s in array(o, "skuList")? {
        let qty = req_int(s, "skuQuantity")?;
        let sku_id = nonempty(s, "skuId");
        let paid = int(s, "totalPaidAmount")?.unwrap_or(0);
        let gross = paid
            + int(s, "totalMerchantDiscount")?.unwrap_or(0)
            + int(s, "totalRedDiscount")?.unwrap_or(0);
        lines_after_sale.push(LineAfterSale {
            platform_line_id: None,
            platform_sku_id: sku_id.clone(),
            state: line_after_sale(int(s, "skuAfterSaleStatus")?),
        });
        lines.push(NewOrderLine {
            platform_line_id: None,
            platform_sku_id: sku_id,
            sku_code: sku_code(nonempty(s, "erpcode"), &mut warnings),
            title: text(s, "skuName").unwrap_or_default(),
            quantity: qty,
            unit_price: Fen(if qty > 0 { gross / qty } else { gross }),
            paid: Fen(paid),
        });
    }
    let mut packages = Vec::new();
    for d in array(o, "simpleDeliveryOrderList")? {
        let items = array(d, "skuIdList")?
            .iter()
            .map(|s| PackageItem {
                platform_line_id: None,
                platform_sku_id: match s {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                },
                quantity: None,
            })
            .collect();
        packages.push(ShippedPackage {
            carrier: text(d, "expressCompanyCode").unwrap_or_default(),
            tracking_no: text(d, "expressTrackingNo").unwrap_or_default(),
            shipped_at: None,
            items,
        });
    }
    if packages.is_empty()
        && let Some(no) = nonempty(o, "expressTrackingNo")
    {
        packages.push(ShippedPackage {
            carrier: text(o, "expressCompanyCode").unwrap_or_default(),
            tracking_no: no,
            shipped_at: int(o, "deliveryTime")?.and_then(from_millis),
            items: Vec::new(),
        });
    }
    let after_sale = if int(o, "orderAfterSalesStatus")? == Some(2)
        || lines_after_sale
            .iter()
            .any(|l| l.state == AfterSale::Requested)
    {
        AfterSale::Requested
    } else if !lines_after_sale.is_empty()
        && lines_after_sale
            .iter()
            .all(|l| l.state == AfterSale::Refunded)
    {
        AfterSale::Refunded
    } else {
        AfterSale::None
    };
    let masked = MaskedReceiver {
        name: String::new(),
        phone: String::new(),
        province: text(o, "receiverProvinceName").unwrap_or_default(),
        city: text(o, "receiverCityName").unwrap_or_default(),
        county: text(o, "receiverDistrictName").unwrap_or_default(),
        detail: String::new(),
    };
    let presale = matches!(order_type, 2 | 4);
    let pulled = PulledOrder {
        order: PlatformOrder {
            platform_order_id,
            platform_status: code.to_string(),
            paid_total: Fen(int(o, "totalPayAmount")?.unwrap_or(0)),
            freight: Fen(int(o, "totalShippingFree")?.unwrap_or(0)),
            buyer_note: note(o, "customerRemark"),
            seller_note: note(o, "sellerRemark"),
            created_at: int(o, "createdTime")?.and_then(from_millis),
            paid_at: int(o, "paidTime")?.and_then(from_millis),
            ship_by: int(o, "promiseLastDeliveryTime")?.and_then(from_millis),
            presale_ship_at: if presale {
                int(o, "presaleDeliveryStartTime")?.and_then(from_millis)
            } else {
                None
            },
            platform_updated_at: int(o, "updateTime")?.and_then(from_millis),
            buyer_openid: None,
            lines,
        },
        receiver: ReceiverState::Problem(ReceiverProblem::NotDecrypted { masked }),
        // Taken from the encrypted receiver, which only orders waiting to ship have.
        receiver_fingerprint: None,
        status: status_of(code),
        after_sale,
        lines_after_sale,
        shipped_packages: packages,
        warnings,
    };
    Ok((pulled, text(o, "openAddressId").unwrap_or_default()))
}

// ------------------------------------------------------------------ shipping (发货回传)

/// The order's detail, mapped, without asking for the receiver.
async fn order_facts(c: &PlatformClient, id: &str) -> Result<PulledOrder, PlatformError> {
    Ok(detail(c, id).await?.0)
}

/// `order.orderDeliver`. Listed lines go as `unpack: true` + `skuIdList` (their sku ids; the
/// platform takes no quantities and ships each SKU's remaining units).
pub(crate) async fn ship(
    c: &PlatformClient,
    req: &ShipRequest,
) -> Result<ShipOutcome, PlatformError> {
    let id = req.platform_order_id.trim();
    let mut p = json!({
        "orderId": id,
        "expressNo": req.tracking_no.trim(),
        "expressCompanyCode": req.carrier_code.trim(),
        "expressCompanyName": req.carrier_name.trim(),
    });
    if !req.items.is_empty() {
        let mut skus: Vec<String> = Vec::new();
        for it in &req.items {
            let sku = it
                .platform_sku_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    PlatformError::Config(
                        "Xiaohongshu ships lines by sku id; a parcel line has none".into(),
                    )
                })?;
            if !skus.iter().any(|s| s == sku) {
                skus.push(sku.to_string());
            }
        }
        p["unpack"] = json!(true);
        p["skuIdList"] = json!(skus);
    }
    crate::ship::ship_then_decide(
        req,
        async { call(c, "order.orderDeliver", p).await.map(drop) },
        || order_facts(c, id),
    )
    .await
}

/// `order.modifyOrderExpressInfo` with `oldExpressNo` as the platform has it.
pub(crate) async fn change_shipment(
    c: &PlatformClient,
    req: &ChangeShipment,
) -> Result<(), PlatformError> {
    let id = req.platform_order_id.trim();
    let order = order_facts(c, id).await?;
    if crate::ship::change_done(&order, req) {
        return Ok(());
    }
    let old_no = order
        .shipped_packages
        .iter()
        .find(|p| crate::ship::same_number(&p.tracking_no, &req.old_tracking_no))
        .map(|p| p.tracking_no.clone())
        .unwrap_or_else(|| req.old_tracking_no.trim().to_string());
    let p = json!({
        "orderId": id,
        "expressNo": req.new_tracking_no.trim(),
        "expressCompanyCode": req.new_carrier_code.trim(),
        "expressCompanyName": req.new_carrier_name.trim(),
        "oldExpressNo": old_no,
    });
    crate::ship::change_then_decide(
        req,
        async { call(c, "order.modifyOrderExpressInfo", p).await.map(drop) },
        || order_facts(c, id),
    )
    .await
}

/// `common.getExpressCompanyList`: `expressCompanyInfos[{expressCompanyCode, expressCompanyName}]`.
pub(crate) async fn carrier_list(
    c: &PlatformClient,
) -> Result<Vec<PlatformCarrier>, PlatformError> {
    let v = call(c, "common.getExpressCompanyList", json!({})).await?;
    let Some(Value::Array(list)) = v.get("expressCompanyInfos") else {
        return Err(PlatformError::protocol("missing expressCompanyInfos"));
    };
    list.iter()
        .map(|x| {
            Ok(PlatformCarrier {
                code: req_text(x, "expressCompanyCode")?,
                name: text(x, "expressCompanyName").unwrap_or_default(),
            })
        })
        .collect()
}
