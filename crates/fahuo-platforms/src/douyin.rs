//! Douyin Shop (抖店开放平台), reference §2.
//!
//! * Calls: `POST {base}/{method with . as /}?app_key&method&timestamp&v=2&sign&sign_method[&access_token]`,
//!   body = the canonical `param_json` itself (keys sorted at every depth, no spaces, no HTML
//!   escaping, UTF-8 kept, integral floats written as integers).
//! * `sign = hex(HMAC-SHA256(secret, s))` or `hex(MD5(s))` with
//!   `s = secret + "app_key" + key + "method" + m + "param_json" + pj + "timestamp" + ts + "v" + v + secret`.
//! * Envelope: `code` 10000 = OK (legacy `err_no` 0 when `code` is absent); errors by `code` +
//!   `sub_code` (20000 service unavailable → retry, `*access-token*` sub codes → renew once,
//!   30001/30002 → not authorised).
//! * Tokens: `token.create` (self-use `authorization_self` with `shop_id`, or a tool app's
//!   `authorization_code`), `token.refresh` with the refresh token.
//! * Sync: `order.searchList` by update time, ascending, with *keyset* paging: each query starts
//!   at the last update time seen, so orders that change during a pull cannot shift a page and
//!   hide a neighbour (plain page numbers would). `searchList` returns full shop orders, so no
//!   per-order detail call is needed. PII via `order.batchDecrypt`.
//! * Receiver fingerprint ([`PulledOrder::receiver_fingerprint`]): SHA-256 over
//!   `encrypt_post_receiver`, `encrypt_post_tel`, `post_addr.encrypt_detail`, the clear
//!   `post_addr.detail` where still sent, and the region names. The ciphers are the receiver
//!   encrypted, so a buyer who changes any of it changes them: an unchanged fingerprint means the
//!   receiver fahuo decrypted before is still the buyer's, and it is not decrypted again. Should
//!   the platform encrypt the same receiver differently on another read, the fingerprint
//!   changes and fahuo merely decrypts again: the rule can cost quota, never keep a stale address.
//! * Pushes: JSON array, `event-sign = hex(MD5(app_key + body + app_secret))`, header `app-id`.

use crate::client::{DouyinSignMethod, Outgoing, PlatformClient, from_secs, split_window};
use crate::error::{PlatformError, WebhookError};
use crate::model::*;
use crate::ship::{ChangeShipment, PlatformCarrier, ShipItem, ShipOutcome, ShipRequest};
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
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::collections::HashMap;

// ------------------------------------------------------------------ signing

/// Canonical `param_json`: objects' keys sorted at every depth, no whitespace, `<>&` and
/// non-ASCII written as they are, integral floats as integers (`1.0` → `1`).
pub fn canonical_json(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    out.push_str(&(f as i64).to_string())
                }
                _ => out.push_str(&n.to_string()),
            },
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The request signature over the documented string (see the module docs).
pub fn sign(
    app_key: &str,
    app_secret: &str,
    method: &str,
    param_json: &str,
    timestamp: &str,
    v: &str,
    sign_method: DouyinSignMethod,
) -> String {
    let s = format!(
        "{app_secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v{v}{app_secret}"
    );
    match sign_method {
        DouyinSignMethod::Md5 => md5_hex(s.as_bytes()),
        DouyinSignMethod::HmacSha256 => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(s.as_bytes());
            hex(&mac.finalize().into_bytes())
        }
    }
}

/// Push signature: `hex(MD5(app_key + raw_body + app_secret))`.
pub fn event_sign(app_key: &str, body: &[u8], app_secret: &str) -> String {
    let mut data = Vec::with_capacity(app_key.len() + body.len() + app_secret.len());
    data.extend_from_slice(app_key.as_bytes());
    data.extend_from_slice(body);
    data.extend_from_slice(app_secret.as_bytes());
    md5_hex(&data)
}

// ------------------------------------------------------------------ webhooks

pub(crate) fn verify_webhook(
    creds: &ShopCredentials,
    req: &WebhookRequest,
) -> Result<WebhookMessage, WebhookError> {
    if creds.app_key.is_empty() || creds.app_secret.is_empty() {
        return Err(WebhookError::NotConfigured(
            "Douyin app_key/app_secret".into(),
        ));
    }
    let sig = header(req, "event-sign").ok_or(WebhookError::Missing("event-sign header"))?;
    let app_id = header(req, "app-id").ok_or(WebhookError::Missing("app-id header"))?;
    if !ct_eq(
        sig,
        &event_sign(&creds.app_key, req.body, &creds.app_secret),
    ) {
        return Err(WebhookError::BadSignature);
    }
    if app_id != creds.app_key {
        return Err(WebhookError::WrongRecipient);
    }
    let items = message_array(json_body(req.body)?)?;
    let mut events = Vec::with_capacity(items.len());
    for item in &items {
        let tag = text(item, "tag").ok_or(WebhookError::Missing("tag"))?;
        let (data, raw) = message_data(item)?;
        let msg_id = nonempty(item, "msg_id").or_else(|| nonempty(item, "msgId"));
        events.push(PushEvent {
            dedupe_key: match msg_id {
                Some(id) => format!("douyin:{id}"),
                None => digest_key("douyin", &[&tag, &raw]),
            },
            kind: tag,
            platform_order_id: nonempty(&data, "p_id"),
            // After-sale tags (2xx) name the after-sale.
            platform_after_sale_id: nonempty(&data, "aftersale_id"),
            platform_shop_id: nonempty(&data, "shop_id"),
        });
    }
    Ok(WebhookMessage::Events(events))
}

// ------------------------------------------------------------------ calls and tokens

fn token_rejected(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Auth { code, .. } if code.contains("access-token"))
}

fn classify(status: u16, body: &[u8]) -> Result<Value, PlatformError> {
    let parsed = json_object(body);
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    let v = parsed?;
    let code = match int(&v, "code")? {
        Some(c) => c,
        None => match int(&v, "err_no")? {
            Some(0) => 10000,
            Some(n) => n,
            None => return Err(PlatformError::protocol("neither code nor err_no")),
        },
    };
    if code == 10000 {
        if status != 200 {
            return Err(PlatformError::Transient(format!("HTTP {status}")));
        }
        return Ok(v.get("data").cloned().unwrap_or(Value::Null));
    }
    let sub = text(&v, "sub_code").unwrap_or_default();
    let msg = nonempty(&v, "sub_msg")
        .or_else(|| nonempty(&v, "msg"))
        .or_else(|| nonempty(&v, "message"))
        .unwrap_or_default();
    let full = format!("{code}/{sub}");
    Err(match code {
        20000 if sub.contains("limit") => PlatformError::RateLimited {
            code: full,
            retry_after: None,
        },
        20000 => PlatformError::Transient(format!("service unavailable ({full})")),
        _ if sub.contains("access-token") => PlatformError::Auth { code: full, msg },
        30001 | 30002 => PlatformError::Auth { code: full, msg },
        _ => PlatformError::Invalid { code: full, msg },
    })
}

/// One signed request; `token` is `None` for the token calls.
async fn send_signed(
    c: &PlatformClient,
    method: &str,
    param_json: &str,
    token: Option<&str>,
) -> Result<Value, PlatformError> {
    let creds = c.credentials();
    let ts = Utc::now().timestamp().to_string();
    let (sm, sm_name) = match c.opts.douyin_sign_method {
        DouyinSignMethod::HmacSha256 => (DouyinSignMethod::HmacSha256, "hmac-sha256"),
        DouyinSignMethod::Md5 => (DouyinSignMethod::Md5, "md5"),
    };
    let signature = sign(
        &creds.app_key,
        &creds.app_secret,
        method,
        param_json,
        &ts,
        "2",
        sm,
    );
    // Built in a block: the serializer is not `Send` and must not live across an await.
    let query = {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("app_key", &creds.app_key)
            .append_pair("method", method)
            .append_pair("timestamp", &ts)
            .append_pair("v", "2")
            .append_pair("sign", &signature)
            .append_pair("sign_method", sm_name);
        if let Some(t) = token {
            q.append_pair("access_token", t);
        }
        q.finish()
    };
    let (status, body) = c
        .send(Outgoing {
            method: reqwest::Method::POST,
            url: format!("{}/{}?{query}", c.base_url, method.replace('.', "/")),
            json_body: Some(param_json.as_bytes().to_vec()),
            content_type: "application/json",
        })
        .await?;
    classify(status, &body)
}

pub(crate) async fn call(
    c: &PlatformClient,
    method: &str,
    params: Value,
) -> Result<Value, PlatformError> {
    let pj = canonical_json(&params);
    c.authorized(method, token_rejected, |token| {
        let pj = pj.clone();
        async move { send_signed(c, method, &pj, Some(&token)).await }
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
        let params = json!({
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token.clone().unwrap_or_default(),
        });
        let pj = canonical_json(&params);
        match c
            .retrying("token.refresh", || {
                send_signed(c, "token.refresh", &pj, None)
            })
            .await
        {
            Ok(v) => answer = Some(v),
            Err(e) if e.is_retryable() => return Err(e),
            // A used or revoked refresh token: fall back to creating one.
            Err(e) => tracing::info!(error = %e, "Douyin token.refresh refused; creating a token"),
        }
    }
    let v = match answer {
        Some(v) => v,
        None => {
            let params = match creds.auth_code.as_deref().filter(|s| !s.is_empty()) {
                Some(code) => json!({ "code": code, "grant_type": "authorization_code" }),
                None => json!({
                    "code": "",
                    "grant_type": "authorization_self",
                    "shop_id": c.platform_shop_id(),
                }),
            };
            let pj = canonical_json(&params);
            let v = c
                .retrying("token.create", || send_signed(c, "token.create", &pj, None))
                .await
                .map_err(|e| match e {
                    PlatformError::Invalid { code, msg } => PlatformError::Auth { code, msg },
                    e => e,
                })?;
            c.clear_auth_code();
            v
        }
    };
    let token = req_text(&v, "access_token")?;
    let ttl = int(&v, "expires_in")?.unwrap_or(604_800);
    // The refresh token lives 14 days (reference §2.3); the answer does not say.
    c.store_token(
        token,
        Some(now + chrono::Duration::seconds(ttl)),
        nonempty(&v, "refresh_token"),
        Some(now + chrono::Duration::days(14)),
    );
    Ok(())
}

// ------------------------------------------------------------------ sync

/// (order id, cipher, plain text or the platform's reason).
type Decrypted = (String, String, Result<String, String>);

/// A mapped order with its receiver ciphers, kept together until decryption.
type Mapped = (PulledOrder, Ciphers);

pub(crate) async fn read_window(
    c: &PlatformClient,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<SealedOrder>, PlatformError> {
    let size = i64::from(c.opts.page_size);
    let mut orders: Vec<Mapped> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut keep = |m: Mapped, orders: &mut Vec<Mapped>| {
        let id = m.0.order.platform_order_id.as_str().to_string();
        match index.get(&id) {
            // Seen twice within one pull (it changed meanwhile): keep the newer version.
            Some(&i) => {
                if m.0.order.platform_updated_at >= orders[i].0.order.platform_updated_at {
                    orders[i] = m;
                }
            }
            None => {
                index.insert(id, orders.len());
                orders.push(m);
            }
        }
    };
    for (s, e) in split_window(start, end, c.sync_limits().max_window) {
        let to = (e - chrono::Duration::milliseconds(1)).timestamp();
        let mut from = s.timestamp();
        while from <= to {
            let page = search(c, from, to, 0, size).await?;
            let last = page
                .iter()
                .filter_map(|m| m.0.order.platform_updated_at)
                .max();
            let full = page.len() as i64 >= size;
            for m in page {
                keep(m, &mut orders);
            }
            if !full {
                break;
            }
            let last = last
                .ok_or_else(|| PlatformError::protocol("searchList orders without update_time"))?
                .timestamp();
            if last > from {
                from = last; // re-read that second; duplicates are merged
                continue;
            }
            // A whole page within one second: page through that second, then move on.
            let mut n = 1;
            loop {
                let more = search(c, from, from, n, size).await?;
                let done = (more.len() as i64) < size;
                for m in more {
                    keep(m, &mut orders);
                }
                if done {
                    break;
                }
                n += 1;
            }
            from += 1;
        }
    }
    Ok(orders.into_iter().map(seal).collect())
}

fn seal((pulled, ciphers): Mapped) -> SealedOrder {
    SealedOrder {
        pulled,
        seal: Seal::Douyin(ciphers),
    }
}

/// Decrypts the receivers of orders that may still need a label, except those `known` holds.
pub(crate) async fn open_receivers(
    c: &PlatformClient,
    orders: Vec<SealedOrder>,
    known: &KnownReceivers,
) -> Result<Vec<PulledOrder>, PlatformError> {
    let mut mapped = orders
        .into_iter()
        .map(|o| match o.seal {
            Seal::Douyin(ciphers) => Ok((o.pulled, ciphers)),
            _ => Err(Seal::read_elsewhere()),
        })
        .collect::<Result<Vec<Mapped>, _>>()?;
    decrypt_receivers(c, &mut mapped, known).await?;
    Ok(mapped.into_iter().map(|m| m.0).collect())
}

async fn search(
    c: &PlatformClient,
    from: i64,
    to: i64,
    page: i64,
    size: i64,
) -> Result<Vec<Mapped>, PlatformError> {
    let v = call(
        c,
        "order.searchList",
        json!({
            "update_time_start": from,
            "update_time_end": to,
            "order_by": "update_time",
            "order_asc": true,
            "page": page,
            "size": size,
        }),
    )
    .await?;
    array(&v, "shop_order_list")?
        .iter()
        .map(map_order)
        .collect()
}

pub(crate) async fn read_order(c: &PlatformClient, id: &str) -> Result<SealedOrder, PlatformError> {
    let v = call(c, "order.orderDetail", json!({ "shop_order_id": id })).await?;
    let o = object(&v, "shop_order_detail")?;
    if o.is_null() {
        return Err(PlatformError::protocol(
            "orderDetail without shop_order_detail",
        ));
    }
    Ok(seal(map_order(o)?))
}

/// The receiver as the order carries it: ciphers plus the region in clear.
#[derive(Clone)]
pub(crate) struct Ciphers {
    name: String,
    tel: String,
    detail: String,
    /// `post_addr.detail` in clear, where the platform still sends it.
    plain_detail: String,
    province: String,
    city: String,
    /// `post_addr.town` is the district (区县); `street` the township (街道/镇).
    county: String,
    street: String,
}

fn needs_decrypting(p: &PulledOrder) -> bool {
    wants_receiver(&p.status) && p.receiver != ReceiverState::Unchanged
}

fn wants_receiver(s: &PlatformStatus) -> bool {
    matches!(
        s,
        PlatformStatus::ToShip | PlatformStatus::PartlyShipped | PlatformStatus::Shipped
    )
}

/// Decrypts name, phone and detail of every order that may still need a label and whose
/// receiver fahuo does not hold yet, in batches of `douyin_decrypt_batch` ciphers, several
/// batches at once.
async fn decrypt_receivers(
    c: &PlatformClient,
    orders: &mut [Mapped],
    known: &KnownReceivers,
) -> Result<(), PlatformError> {
    for (p, _) in orders.iter_mut() {
        if wants_receiver(&p.status) && known.holds(p) {
            p.receiver = ReceiverState::Unchanged;
        }
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for (p, ci) in orders.iter() {
        if !needs_decrypting(p) {
            continue;
        }
        let id = p.order.platform_order_id.as_str();
        for t in [&ci.name, &ci.tel, &ci.detail] {
            if !t.is_empty() {
                items.push((id.to_string(), t.clone()));
            }
        }
    }
    let batches: Vec<Vec<(String, String)>> = items
        .chunks(c.opts.douyin_decrypt_batch)
        .map(<[_]>::to_vec)
        .collect();
    let results: Vec<Result<Vec<Decrypted>, PlatformError>> = futures_util::stream::iter(batches)
        .map(|b| async move { decrypt_batch(c, &b).await })
        .buffered(c.opts.concurrency)
        .collect()
        .await;
    let mut plain: HashMap<(String, String), Result<String, String>> = HashMap::new();
    for r in results {
        for (id, cipher, text) in r? {
            plain.insert((id, cipher), text);
        }
    }
    for (p, ci) in orders.iter_mut() {
        if !needs_decrypting(p) {
            continue;
        }
        let id = p.order.platform_order_id.as_str().to_string();
        let get = |t: &str| -> Result<String, String> {
            if t.is_empty() {
                return Ok(String::new());
            }
            plain
                .get(&(id.clone(), t.to_string()))
                .cloned()
                .unwrap_or_else(|| Err("no answer for this cipher".into()))
        };
        p.receiver = match (get(&ci.name), get(&ci.tel), get(&ci.detail)) {
            (Ok(name), Ok(tel), Ok(detail)) => {
                let detail = if detail.is_empty() {
                    ci.plain_detail.clone()
                } else {
                    detail
                };
                Receiver::parse(
                    &name,
                    &tel,
                    &ci.province,
                    &ci.city,
                    &ci.county,
                    &join_town(&ci.street, &detail),
                )
                .map_err(ReceiverProblem::Invalid)
            }
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                Err(ReceiverProblem::DecryptFailed(e))
            }
        }
        .into();
    }
    Ok(())
}

async fn decrypt_batch(
    c: &PlatformClient,
    batch: &[(String, String)],
) -> Result<Vec<Decrypted>, PlatformError> {
    let infos: Vec<Value> = batch
        .iter()
        .map(|(id, t)| json!({ "auth_id": id, "cipher_text": t }))
        .collect();
    let v = call(c, "order.batchDecrypt", json!({ "cipher_infos": infos })).await?;
    let custom = object(&v, "custom_err")?;
    if let Some(code) = int(custom, "err_code")?.filter(|c| *c != 0) {
        let msg = text(custom, "err_msg").unwrap_or_default();
        if is_quota(code, &msg) {
            return Err(PlatformError::DecryptQuota {
                code: code.to_string(),
                msg,
            });
        }
    }
    let mut out = Vec::new();
    for d in array(&v, "decrypt_infos")? {
        let id = req_text(d, "auth_id")?;
        let cipher = text(d, "cipher_text").unwrap_or_default();
        let err = int(d, "err_no")?.unwrap_or(0);
        if err == 0 {
            out.push((id, cipher, Ok(text(d, "decrypt_text").unwrap_or_default())));
        } else {
            let msg = text(d, "err_msg").unwrap_or_default();
            if is_quota(err, &msg) {
                return Err(PlatformError::DecryptQuota {
                    code: err.to_string(),
                    msg,
                });
            }
            out.push((id, cipher, Err(format!("decrypt failed ({err}): {msg}"))));
        }
    }
    Ok(out)
}

/// The quota code is unpublished; the platform's message says 额度 (quota).
fn is_quota(code: i64, msg: &str) -> bool {
    code == 300_008 || msg.contains("额度") || msg.to_ascii_lowercase().contains("quota")
}

pub(crate) fn status_of(code: i64) -> PlatformStatus {
    match code {
        1 => PlatformStatus::Unpaid,
        105 => PlatformStatus::PaidPending,
        2 => PlatformStatus::ToShip,
        101 => PlatformStatus::PartlyShipped,
        3 => PlatformStatus::Shipped,
        4 => PlatformStatus::Cancelled,
        5 => PlatformStatus::Completed,
        other => PlatformStatus::Other(other.to_string()),
    }
}

fn line_after_sale(info: &Value) -> Result<AfterSale, PlatformError> {
    let refund = int(info, "refund_status")?.unwrap_or(0);
    let after = int(info, "after_sale_status")?.unwrap_or(0);
    Ok(match (refund, after) {
        (3, _) => AfterSale::Refunded,
        (1 | 2, _) => AfterSale::Requested,
        (0, 0) => AfterSale::None,
        (_, a) => AfterSale::Other(format!("after_sale_status {a}, refund_status {refund}")),
    })
}

/// Maps a shop order (`searchList` item or `orderDetail`).
///
/// * `ship_by`: the earliest non-zero `exp_ship_time` of the sku orders (else the order's).
/// * `presale_ship_at`: for presale (`presell_type` ≠ 0 or a line's `pre_sale_type` ≠ 0), the
///   earliest non-zero `appointment_ship_time`.
/// * Lines: the sku order's `order_id` is the line id; `code` the merchant code; unit price =
///   `origin_amount / item_num`; paid = `pay_amount`.
/// * `paid_total` = `pay_amount`, `freight` = `post_amount`.
pub(crate) fn map_order(o: &Value) -> Result<Mapped, PlatformError> {
    let id = req_text(o, "order_id")?;
    let platform_order_id =
        PlatformOrderId::parse(&id).map_err(|e| PlatformError::protocol(e.to_string()))?;
    let code = req_int(o, "order_status")?;
    let presale_order = int(o, "presell_type")?.unwrap_or(0) != 0;
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let mut lines_after_sale = Vec::new();
    let mut ship_by: Option<DateTime<Utc>> = None;
    let mut presale: Option<DateTime<Utc>> = None;
    for l in array(o, "sku_order_list")? {
        let qty = req_int(l, "item_num")?;
        let line_id = nonempty(l, "order_id");
        let sku_id = nonempty(l, "sku_id");
        if let Some(t) = int(l, "exp_ship_time")?.and_then(from_secs) {
            ship_by = Some(ship_by.map_or(t, |s| s.min(t)));
        }
        if (presale_order || int(l, "pre_sale_type")?.unwrap_or(0) != 0)
            && let Some(t) = int(l, "appointment_ship_time")?.and_then(from_secs)
        {
            presale = Some(presale.map_or(t, |s| s.min(t)));
        }
        lines_after_sale.push(LineAfterSale {
            platform_line_id: line_id.clone(),
            platform_sku_id: sku_id.clone(),
            state: line_after_sale(object(l, "after_sale_info")?)?,
        });
        let origin = int(l, "origin_amount")?.unwrap_or(0);
        lines.push(NewOrderLine {
            platform_line_id: line_id,
            platform_sku_id: sku_id,
            sku_code: sku_code(nonempty(l, "code"), &mut warnings),
            title: text(l, "product_name").unwrap_or_default(),
            quantity: qty,
            unit_price: Fen(if qty > 0 { origin / qty } else { origin }),
            paid: Fen(int(l, "pay_amount")?.unwrap_or(0)),
        });
    }
    if ship_by.is_none() {
        ship_by = int(o, "exp_ship_time")?.and_then(from_secs);
    }
    let mut packages = Vec::new();
    for d in array(o, "logistics_info")? {
        let mut items = Vec::new();
        for pi in array(d, "product_info")? {
            items.push(PackageItem {
                platform_line_id: nonempty(pi, "sku_order_id"),
                platform_sku_id: nonempty(pi, "sku_id"),
                quantity: int(pi, "product_count")?,
            });
        }
        packages.push(ShippedPackage {
            carrier: text(d, "company").unwrap_or_default(),
            tracking_no: text(d, "tracking_no").unwrap_or_default(),
            shipped_at: int(d, "ship_time")?.and_then(from_secs),
            items,
        });
    }
    let after_sale = if lines_after_sale
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
    let addr = object(o, "post_addr")?;
    let name_of = |k: &str| -> Result<String, PlatformError> {
        Ok(text(object(addr, k)?, "name").unwrap_or_default())
    };
    let ciphers = Ciphers {
        name: text(o, "encrypt_post_receiver").unwrap_or_default(),
        tel: text(o, "encrypt_post_tel").unwrap_or_default(),
        detail: text(addr, "encrypt_detail").unwrap_or_default(),
        plain_detail: text(addr, "detail").unwrap_or_default(),
        province: name_of("province")?,
        city: name_of("city")?,
        county: name_of("town")?,
        street: name_of("street")?,
    };
    let receiver_fingerprint = fingerprint(
        [
            &ciphers.name,
            &ciphers.tel,
            &ciphers.detail,
            &ciphers.plain_detail,
            &ciphers.province,
            &ciphers.city,
            &ciphers.county,
            &ciphers.street,
        ]
        .map(String::as_str),
    );
    let masked = MaskedReceiver {
        name: text(o, "mask_post_receiver").unwrap_or_default(),
        phone: text(o, "mask_post_tel").unwrap_or_default(),
        province: ciphers.province.clone(),
        city: ciphers.city.clone(),
        county: ciphers.county.clone(),
        detail: "****".into(),
    };
    let pulled = PulledOrder {
        order: PlatformOrder {
            platform_order_id,
            platform_status: code.to_string(),
            paid_total: Fen(int(o, "pay_amount")?.unwrap_or(0)),
            freight: Fen(int(o, "post_amount")?.unwrap_or(0)),
            buyer_note: note(o, "buyer_words"),
            seller_note: note(o, "seller_words"),
            created_at: int(o, "create_time")?.and_then(from_secs),
            paid_at: int(o, "pay_time")?.and_then(from_secs),
            ship_by,
            presale_ship_at: presale,
            platform_updated_at: int(o, "update_time")?.and_then(from_secs),
            buyer_openid: None,
            lines,
        },
        receiver: ReceiverState::Problem(ReceiverProblem::NotDecrypted { masked }),
        receiver_fingerprint: Some(receiver_fingerprint),
        status: status_of(code),
        after_sale,
        lines_after_sale,
        shipped_packages: packages,
        warnings,
    };
    Ok((pulled, ciphers))
}

// ------------------------------------------------------------------ shipping (发货回传)

/// `order.orderDetail` as returned (`shop_order_detail`) and mapped, without decrypting.
async fn order_raw(c: &PlatformClient, id: &str) -> Result<(Value, PulledOrder), PlatformError> {
    let v = call(c, "order.orderDetail", json!({ "shop_order_id": id })).await?;
    let o = object(&v, "shop_order_detail")?.clone();
    if o.is_null() {
        return Err(PlatformError::protocol(
            "orderDetail without shop_order_detail",
        ));
    }
    let pulled = map_order(&o)?.0;
    Ok((o, pulled))
}

/// The sku-order id of a line: the caller's `platform_line_id`, else the line with that sku id.
fn line_id_of(it: &ShipItem, order: Option<&PulledOrder>) -> Result<String, PlatformError> {
    if let Some(l) = it
        .platform_line_id
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        return Ok(l.to_string());
    }
    let sku = it.platform_sku_id.as_deref().unwrap_or_default();
    order
        .and_then(|o| {
            o.order
                .lines
                .iter()
                .find(|l| l.platform_sku_id.as_deref() == Some(sku))
        })
        .and_then(|l| l.platform_line_id.clone())
        .ok_or_else(|| PlatformError::Config(format!("sku {sku} is not in the order")))
}

/// Ships a parcel (see [`crate::ship`]): a whole untouched order with `order.logisticsAdd`;
/// listed lines, or what is left of a partly shipped order, with `order.logisticsAddSinglePack`
/// and an idempotent `request_id`.
pub(crate) async fn ship(
    c: &PlatformClient,
    req: &ShipRequest,
) -> Result<ShipOutcome, PlatformError> {
    let id = req.platform_order_id.trim();
    let lines: Vec<(String, u32)> = if req.items.is_empty() {
        let (_, pulled) = order_raw(c, id).await?;
        if crate::ship::already_has(&pulled, req) {
            return Ok(ShipOutcome::AlreadyShipped);
        }
        if pulled.status == PlatformStatus::PartlyShipped {
            let left = crate::ship::remaining_per_line(&pulled);
            let mut lines = Vec::new();
            for (l, n) in pulled.order.lines.iter().zip(left) {
                if n > 0 {
                    let lid = l
                        .platform_line_id
                        .clone()
                        .ok_or_else(|| PlatformError::protocol("sku order without order_id"))?;
                    lines.push((lid, u32::try_from(n).unwrap_or(u32::MAX)));
                }
            }
            lines
        } else {
            Vec::new()
        }
    } else {
        let needs_detail = req.items.iter().any(|it| {
            it.platform_line_id
                .as_deref()
                .is_none_or(|l| l.trim().is_empty())
        });
        let pulled = if needs_detail {
            Some(order_raw(c, id).await?.1)
        } else {
            None
        };
        req.items
            .iter()
            .map(|it| Ok((line_id_of(it, pulled.as_ref())?, it.quantity)))
            .collect::<Result<_, PlatformError>>()?
    };
    let reread = || async { Ok(order_raw(c, id).await?.1) };
    if lines.is_empty() {
        let params = json!({
            "order_id": id,
            "company_code": req.carrier_code.trim(),
            "company": req.carrier_name.trim(),
            "logistics_code": req.tracking_no.trim(),
        });
        return crate::ship::ship_then_decide(
            req,
            async { call(c, "order.logisticsAdd", params).await.map(drop) },
            reread,
        )
        .await;
    }
    let info: Vec<Value> = lines
        .iter()
        .map(|(l, n)| json!({ "shipped_order_id": l, "shipped_num": n }))
        .collect();
    let params = json!({
        "order_id_list": [id],
        "shipped_order_info": info,
        "company_code": req.carrier_code.trim(),
        "company": req.carrier_name.trim(),
        "logistics_code": req.tracking_no.trim(),
        "request_id": crate::ship::request_key(req, &lines),
    });
    crate::ship::ship_then_decide(
        req,
        async {
            let v = call(c, "order.logisticsAddSinglePack", params).await?;
            req_text(&v, "pack_id").map(drop)
        },
        reread,
    )
    .await
}

/// Changes a parcel: `order.logisticsEdit` for an order shipped whole (status 3, one parcel),
/// else `order.logisticsEditByPack` with the parcel's `pack_id` (`logistics_info[].delivery_id`).
pub(crate) async fn change_shipment(
    c: &PlatformClient,
    req: &ChangeShipment,
) -> Result<(), PlatformError> {
    let id = req.platform_order_id.trim();
    let (raw, pulled) = order_raw(c, id).await?;
    if crate::ship::change_done(&pulled, req) {
        return Ok(());
    }
    let logistics = array(&raw, "logistics_info")?;
    let pack = logistics
        .iter()
        .find(|d| {
            text(d, "tracking_no")
                .is_some_and(|t| crate::ship::same_number(&t, &req.old_tracking_no))
        })
        .and_then(|d| nonempty(d, "delivery_id"));
    let whole = pulled.status == PlatformStatus::Shipped && logistics.len() == 1;
    let (method, params) = match pack {
        Some(pack_id) if !whole => (
            "order.logisticsEditByPack",
            json!({
                "order_id": id,
                "pack_id": pack_id,
                "company_code": req.new_carrier_code.trim(),
                "logistics_code": req.new_tracking_no.trim(),
            }),
        ),
        _ => (
            "order.logisticsEdit",
            json!({
                "order_id": id,
                "company_code": req.new_carrier_code.trim(),
                "logistics_code": req.new_tracking_no.trim(),
            }),
        ),
    };
    crate::ship::change_then_decide(
        req,
        async { call(c, method, params).await.map(drop) },
        || async { Ok(order_raw(c, id).await?.1) },
    )
    .await
}

/// `order.logisticsCompanyList`: `data` is the list `[{id, name, code}]`.
pub(crate) async fn carrier_list(
    c: &PlatformClient,
) -> Result<Vec<PlatformCarrier>, PlatformError> {
    let v = call(c, "order.logisticsCompanyList", json!({})).await?;
    let Value::Array(list) = v else {
        return Err(PlatformError::protocol(
            "logisticsCompanyList data is not a list",
        ));
    };
    list.iter()
        .map(|x| {
            Ok(PlatformCarrier {
                code: req_text(x, "code")?,
                name: text(x, "name").unwrap_or_default(),
            })
        })
        .collect()
}
