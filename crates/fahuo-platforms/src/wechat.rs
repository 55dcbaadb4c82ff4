//! WeChat Shop (微信小店, `channels/ec`), reference §1.
//!
//! * Calls: `POST {base}/channels/ec/...?access_token=T` with a JSON body; business fields at the
//!   top level beside `errcode`/`errmsg` (`0` = OK).
//! * Tokens: `POST /cgi-bin/stable_token` (default) or `GET /cgi-bin/token`, grant
//!   `client_credential`; no refresh token, a new token is simply requested.
//! * Sync: `order/list/get` with `update_time_range` (≤ 7 days, seconds) and `next_key` cursors,
//!   `order/get` per id, `order/sensitiveinfo/decode` per shippable order. A decode answered
//!   `40097` (the order's state changed since `order/get`) reads the order again, once, and
//!   decodes it if it still may be, instead of failing the pull.
//! * Receiver fingerprint ([`PulledOrder::receiver_fingerprint`]): SHA-256 over `order/get`'s
//!   masked `delivery_info.address_info`, every field (canonical JSON): masked name and phone,
//!   region, detail with its digits masked, `house_number`, the virtual number fields,
//!   `tel_number_ext_info` and `hash_code`. WeChat sends no ciphers, so this is weaker than on
//!   Douyin and Xiaohongshu: an address change that keeps every masked field identical (another
//!   house number of as many digits on the same street, a name with the same first character, a
//!   phone with the same visible digits) *and* the same `hash_code` would keep fahuo's old
//!   receiver. The reference lists `hash_code` without saying what it digests; if it covers
//!   the full address (as its name suggests, and as the emulator has it) the risk is nil. fahuo
//!   does nothing more about it; should production show `hash_code` does not change with the
//!   address, drop the fingerprint for WeChat (leave it `None`) and every read decodes again.
//! * Pushes: 安全模式 only (AES-256-CBC, `msg_signature`); plaintext mode signs only the URL, not
//!   the body, so it is refused.
//!
//! Error codes are WeChat's global ones: `-1` busy (retry), `40001`/`40014`/`41001`/`42001`
//! token problems (renew once), `45009` daily quota (on decode: [`PlatformError::DecryptQuota`]),
//! `45011` per-minute quota (rate limited).

use crate::client::{Outgoing, PlatformClient, from_secs, split_window};
use crate::error::{PlatformError, WebhookError};
use crate::model::*;
use crate::ship::{ChangeShipment, PlatformCarrier, ShipItem, ShipOutcome, ShipRequest};
use crate::util::*;
use crate::webhook::{
    PushEvent, WebhookMessage, WebhookRequest, digest_key, query_get, query_pairs,
};
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use chrono::{DateTime, Utc};
use fahuo_domain::catalog::ShopCredentials;
use fahuo_domain::order::{MaskedReceiver, NewOrderLine, Receiver};
use fahuo_domain::{Fen, PlatformOrderId, pii};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashSet;

// ------------------------------------------------------------------ signing and crypto

/// URL-check signature: `sha1(sort([token, timestamp, nonce]).join(""))`, lowercase hex.
pub fn url_signature(token: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [token, timestamp, nonce];
    parts.sort_unstable();
    sha1_hex(parts.concat().as_bytes())
}

/// Push signature: `sha1(sort([token, timestamp, nonce, Encrypt]).join(""))`, lowercase hex.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    sha1_hex(parts.concat().as_bytes())
}

/// The 32-byte AES key from the 43-character EncodingAESKey (`base64(key + "=")`). The 43rd
/// character carries two spare bits that need not be zero, so the decoder allows them.
fn aes_key(encoding_aes_key: &str) -> Option<[u8; 32]> {
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let k = encoding_aes_key.trim();
    if k.len() != 43 {
        return None;
    }
    lenient.decode(format!("{k}=")).ok()?.try_into().ok()
}

const PAD_BLOCK: usize = 32;

/// Encrypts a push the way WeChat does (for tests and for answering in encrypted mode):
/// `random(16) | len(msg) as u32 BE | msg | appid`, PKCS#7-padded to 32 bytes, AES-256-CBC with
/// `iv = key[..16]`, base64.
pub fn encrypt_message(
    encoding_aes_key: &str,
    appid: &str,
    random: [u8; 16],
    msg: &str,
) -> Option<String> {
    let key = aes_key(encoding_aes_key)?;
    let mut buf = Vec::with_capacity(20 + msg.len() + appid.len() + PAD_BLOCK);
    buf.extend_from_slice(&random);
    buf.extend_from_slice(&u32::try_from(msg.len()).ok()?.to_be_bytes());
    buf.extend_from_slice(msg.as_bytes());
    buf.extend_from_slice(appid.as_bytes());
    let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let len = buf.len();
    let enc = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]).ok()?;
    let out = enc.encrypt_padded_mut::<NoPadding>(&mut buf, len).ok()?;
    Some(STANDARD.encode(out))
}

/// Decrypts an `Encrypt` value: returns `(message, appid)`. Every malformed input is a
/// [`WebhookError::Malformed`] with the reason.
pub fn decrypt_message(
    encoding_aes_key: &str,
    encrypted: &str,
) -> Result<(String, String), WebhookError> {
    let bad = |why: &str| WebhookError::Malformed(why.to_string());
    let key = aes_key(encoding_aes_key).ok_or_else(|| {
        WebhookError::NotConfigured("EncodingAESKey is not 43 base64 characters".into())
    })?;
    let mut raw = STANDARD
        .decode(encrypted.trim())
        .map_err(|_| bad("Encrypt is not valid base64"))?;
    if raw.is_empty() || raw.len() % 16 != 0 {
        return Err(bad("Encrypt is not a whole number of AES blocks"));
    }
    let dec =
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]).map_err(|_| bad("key"))?;
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut raw)
        .map_err(|_| bad("AES block size"))?;
    let pad = *plain.last().ok_or_else(|| bad("empty"))? as usize;
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(bad("bad padding"));
    }
    let (content, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|b| *b as usize != pad) {
        return Err(bad("bad padding"));
    }
    if content.len() < 20 {
        return Err(bad("too short"));
    }
    let len = u32::from_be_bytes([content[16], content[17], content[18], content[19]]) as usize;
    let rest = &content[20..];
    if len > rest.len() {
        return Err(bad("message length exceeds the payload"));
    }
    let msg = std::str::from_utf8(&rest[..len]).map_err(|_| bad("message is not UTF-8"))?;
    let appid = std::str::from_utf8(&rest[len..]).map_err(|_| bad("appid is not UTF-8"))?;
    Ok((msg.to_string(), appid.to_string()))
}

// ------------------------------------------------------------------ webhook secret layout

/// WeChat push settings as kept in `ShopCredentials.webhook_secret`: a JSON object
/// `{"token":"…","encoding_aes_key":"…(43 chars)","appid":"wx…"}`; `appid` may be omitted and
/// then defaults to `app_key`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WechatPushKeys {
    pub token: String,
    pub encoding_aes_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
}

impl std::fmt::Debug for WechatPushKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatPushKeys")
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

impl WechatPushKeys {
    /// The string to store in `ShopCredentials.webhook_secret`.
    pub fn to_secret(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_credentials(creds: &ShopCredentials) -> Result<WechatPushKeys, WebhookError> {
        let raw = creds.webhook_secret.as_deref().ok_or_else(|| {
            WebhookError::NotConfigured("WeChat push Token/EncodingAESKey".into())
        })?;
        let mut k: WechatPushKeys = serde_json::from_str(raw).map_err(|_| {
            WebhookError::NotConfigured(
                "webhook_secret is not {\"token\",\"encoding_aes_key\",\"appid\"}".into(),
            )
        })?;
        if k.token.is_empty() || aes_key(&k.encoding_aes_key).is_none() {
            return Err(WebhookError::NotConfigured(
                "WeChat push Token or EncodingAESKey invalid".into(),
            ));
        }
        if k.appid.as_deref().is_none_or(str::is_empty) {
            k.appid = Some(creds.app_key.clone());
        }
        Ok(k)
    }
}

// ------------------------------------------------------------------ webhooks

pub(crate) fn verify_webhook(
    creds: &ShopCredentials,
    req: &WebhookRequest,
) -> Result<WebhookMessage, WebhookError> {
    let keys = WechatPushKeys::from_credentials(creds)?;
    let q = query_pairs(req.query);
    let timestamp = query_get(&q, "timestamp").ok_or(WebhookError::Missing("timestamp"))?;
    let nonce = query_get(&q, "nonce").ok_or(WebhookError::Missing("nonce"))?;
    if let Some(echo) = query_get(&q, "echostr")
        && req.body.iter().all(u8::is_ascii_whitespace)
    {
        let sig = query_get(&q, "signature").ok_or(WebhookError::Missing("signature"))?;
        if !ct_eq(&sig, &url_signature(&keys.token, &timestamp, &nonce)) {
            return Err(WebhookError::BadSignature);
        }
        return Ok(WebhookMessage::UrlCheck { echo });
    }
    let sig = query_get(&q, "msg_signature").ok_or(WebhookError::Missing(
        "msg_signature (pushes must use 安全模式 encryption)",
    ))?;
    let encrypt = encrypt_field(req.body)?;
    if !ct_eq(
        &sig,
        &msg_signature(&keys.token, &timestamp, &nonce, &encrypt),
    ) {
        return Err(WebhookError::BadSignature);
    }
    let (msg, appid) = decrypt_message(&keys.encoding_aes_key, &encrypt)?;
    if Some(appid.as_str()) != keys.appid.as_deref() {
        return Err(WebhookError::WrongRecipient);
    }
    let v: Value = serde_json::from_str(&msg)
        .map_err(|_| WebhookError::Malformed("decrypted message is not JSON".into()))?;
    let event = v
        .get("Event")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if event.is_empty() {
        return Err(WebhookError::Malformed("no Event".into()));
    }
    // Order events carry `order_info`; others name the order at another key. Ids may be
    // numbers or strings.
    let order_id = [
        "order_info",
        "aftersale_info",
        "finder_shop_aftersale_status_update",
    ]
    .iter()
    .filter_map(|k| v.get(*k))
    .chain(std::iter::once(&v))
    .find_map(|o| nonempty(o, "order_id"));
    let created = text(&v, "CreateTime").unwrap_or_default();
    let from = text(&v, "FromUserName").unwrap_or_default();
    let dedupe_key = digest_key(
        "wechat",
        &[
            &appid,
            &event,
            order_id.as_deref().unwrap_or(""),
            &created,
            &from,
            &msg,
        ],
    );
    Ok(WebhookMessage::Events(vec![PushEvent {
        dedupe_key,
        kind: event,
        platform_order_id: order_id,
        platform_after_sale_id: v
            .get("finder_shop_aftersale_status_update")
            .and_then(|o| nonempty(o, "after_sale_order_id")),
        platform_shop_id: Some(appid),
    }]))
}

/// The `Encrypt` value of a JSON body (`{"Encrypt":"…"}`) or an XML one (`<Encrypt>…</Encrypt>`).
fn encrypt_field(body: &[u8]) -> Result<String, WebhookError> {
    let s = std::str::from_utf8(body)
        .map_err(|_| WebhookError::Malformed("body is not UTF-8".into()))?;
    let t = s.trim();
    if t.is_empty() {
        return Err(WebhookError::Malformed("empty body".into()));
    }
    if t.starts_with('<') {
        let start = t
            .find("<Encrypt>")
            .ok_or_else(|| WebhookError::Malformed("no <Encrypt>".into()))?
            + "<Encrypt>".len();
        let end = t[start..]
            .find("</Encrypt>")
            .ok_or_else(|| WebhookError::Malformed("unclosed <Encrypt>".into()))?;
        let inner = t[start..start + end].trim();
        let inner = inner
            .strip_prefix("<![CDATA[")
            .and_then(|x| x.strip_suffix("]]>"))
            .unwrap_or(inner);
        return Ok(inner.to_string());
    }
    let v: Value =
        serde_json::from_str(t).map_err(|_| WebhookError::Malformed("body is not JSON".into()))?;
    v.get("Encrypt")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(WebhookError::Missing("Encrypt"))
}

// ------------------------------------------------------------------ calls and tokens

const TOKEN_CODES: &[i64] = &[40001, 40014, 41001, 42001];
/// `order/sensitiveinfo/decode`: the order's state no longer allows it (changed since read).
const STATE_CHANGED: &str = "40097";
const AUTH_CODES: &[i64] = &[40002, 40013, 40125, 40164, 41002, 41004, 48001, 61024];

fn token_rejected(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Auth { code, .. } if TOKEN_CODES.iter().any(|c| c.to_string() == *code))
}

/// Maps a response to its JSON object or a typed error.
fn classify(status: u16, body: &[u8], decode: bool) -> Result<Value, PlatformError> {
    let parsed = json_object(body);
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    let v = parsed?;
    let code = match v.get("errcode") {
        None | Some(Value::Null) => 0,
        Some(c) => c
            .as_i64()
            .ok_or_else(|| PlatformError::protocol("errcode is not a number"))?,
    };
    if code == 0 {
        if status != 200 {
            return Err(PlatformError::Transient(format!("HTTP {status}")));
        }
        return Ok(v);
    }
    let msg = text(&v, "errmsg").unwrap_or_default();
    let c = code.to_string();
    Err(match code {
        -1 => PlatformError::Transient(format!("system busy ({c})")),
        45011 | 45047 => PlatformError::RateLimited {
            code: c,
            retry_after: None,
        },
        45009 if decode => PlatformError::DecryptQuota { code: c, msg },
        // E-waybill: the account has no numbers left / is not usable (WAYBILL-PROTOCOLS.md).
        9710001 => PlatformError::NoBalance { code: c, msg },
        9710002 => PlatformError::Auth { code: c, msg },
        _ if TOKEN_CODES.contains(&code) || AUTH_CODES.contains(&code) => {
            PlatformError::Auth { code: c, msg }
        }
        _ => PlatformError::Invalid { code: c, msg },
    })
}

pub(crate) async fn obtain_token(
    c: &PlatformClient,
    now: DateTime<Utc>,
    forced: bool,
) -> Result<(), PlatformError> {
    let creds = c.credentials();
    let v = c
        .retrying("wechat token", || async {
            let out = if c.opts.wechat_stable_token {
                Outgoing {
                    method: reqwest::Method::POST,
                    url: format!("{}/cgi-bin/stable_token", c.base_url),
                    json_body: Some(
                        json!({
                            "grant_type": "client_credential",
                            "appid": creds.app_key,
                            "secret": creds.app_secret,
                            "force_refresh": forced,
                        })
                        .to_string()
                        .into_bytes(),
                    ),
                    content_type: "application/json",
                }
            } else {
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "client_credential")
                    .append_pair("appid", &creds.app_key)
                    .append_pair("secret", &creds.app_secret)
                    .finish();
                Outgoing {
                    method: reqwest::Method::GET,
                    url: format!("{}/cgi-bin/token?{q}", c.base_url),
                    json_body: None,
                    content_type: "application/json",
                }
            };
            let (status, body) = c.send(out).await?;
            classify(status, &body, false)
        })
        .await?;
    let token = req_text(&v, "access_token")?;
    let ttl = int(&v, "expires_in")?.unwrap_or(7200);
    c.store_token(
        token,
        Some(now + chrono::Duration::seconds(ttl)),
        None,
        None,
    );
    Ok(())
}

/// One business call: `POST {base}/channels/ec/{api}?access_token=…`.
pub(crate) async fn call(
    c: &PlatformClient,
    api: &str,
    body: Value,
) -> Result<Value, PlatformError> {
    call_path(c, &format!("channels/ec/{api}"), body).await
}

/// Any token-authorised JSON call: `POST {base}/{path}?access_token=…` (also `cgi-bin/...`).
pub(crate) async fn call_path(
    c: &PlatformClient,
    path: &str,
    body: Value,
) -> Result<Value, PlatformError> {
    let api = path;
    let body = body.to_string().into_bytes();
    let decode = api.contains("sensitiveinfo");
    c.authorized(api, token_rejected, |token| {
        let body = body.clone();
        async move {
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("access_token", &token)
                .finish();
            let (status, resp) = c
                .send(Outgoing {
                    method: reqwest::Method::POST,
                    url: format!("{}/{api}?{q}", c.base_url),
                    json_body: Some(body),
                    content_type: "application/json",
                })
                .await?;
            classify(status, &resp, decode)
        }
    })
    .await
}

/// `order/deliverynegotiation/submit`: a later ship-by time for one order.
pub(crate) async fn negotiate_delivery(
    c: &PlatformClient,
    order_id: &str,
    until: DateTime<Utc>,
    reason: u8,
    remark: Option<&str>,
) -> Result<(), PlatformError> {
    let mut body = json!({
        "order_id": order_id,
        "predict_delivery_time": until.timestamp(),
        "reason": reason,
    });
    if let Some(r) = remark.map(str::trim).filter(|r| !r.is_empty()) {
        body["remark"] = json!(r);
    }
    call(c, "order/deliverynegotiation/submit", body)
        .await
        .map(drop)
}

// ------------------------------------------------------------------ sync

pub(crate) async fn read_window(
    c: &PlatformClient,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<SealedOrder>, PlatformError> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (s, e) in split_window(start, end, c.sync_limits().max_window) {
        // Half-open [s, e) in whole seconds: the platform's range is inclusive.
        let (from, to) = (
            s.timestamp(),
            (e - chrono::Duration::milliseconds(1)).timestamp(),
        );
        if to < from {
            continue;
        }
        let mut next_key = String::new();
        loop {
            let mut req = json!({
                "update_time_range": { "start_time": from, "end_time": to },
                "page_size": c.opts.page_size,
            });
            if !next_key.is_empty() {
                req["next_key"] = json!(next_key);
            }
            let v = call(c, "order/list/get", req).await?;
            let page = array(&v, "order_id_list")?;
            for id in page {
                let id = match id {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(PlatformError::protocol("order_id_list: not an id")),
                };
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
            let has_more = v.get("has_more").and_then(Value::as_bool).unwrap_or(false);
            let key = text(&v, "next_key").unwrap_or_default();
            if !has_more {
                break;
            }
            if key.is_empty() || (key == next_key && page.is_empty()) {
                return Err(PlatformError::protocol("has_more without a new next_key"));
            }
            next_key = key;
        }
    }
    futures_util::stream::iter(ids)
        .map(|id| async move { read_order(c, &id).await })
        .buffered(c.opts.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// `order/get`, mapped, the receiver still masked.
pub(crate) async fn read_order(c: &PlatformClient, id: &str) -> Result<SealedOrder, PlatformError> {
    let (_, pulled) = order_raw(c, id).await?;
    Ok(SealedOrder {
        pulled,
        seal: Seal::Wechat,
    })
}

/// Decodes (`order/sensitiveinfo/decode`, one call per order) the receivers of orders that
/// may still need a label, except those `known` holds.
pub(crate) async fn open_receivers(
    c: &PlatformClient,
    orders: Vec<SealedOrder>,
    known: &KnownReceivers,
) -> Result<Vec<PulledOrder>, PlatformError> {
    futures_util::stream::iter(orders)
        .map(|o| async move {
            match o.seal {
                Seal::Wechat => open_receiver(c, o.pulled, known).await,
                _ => Err(Seal::read_elsewhere()),
            }
        })
        .buffered(c.opts.concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// `decode` answers 40097 when the order's state changed after `order/get` (it no longer
/// allows decoding, or not with what was read): the order is read again, once, and decoded
/// if it still may be.
async fn open_receiver(
    c: &PlatformClient,
    mut pulled: PulledOrder,
    known: &KnownReceivers,
) -> Result<PulledOrder, PlatformError> {
    let id = pulled.order.platform_order_id.as_str().to_string();
    let mut reread = false;
    loop {
        let decodable = matches!(
            pulled.status,
            PlatformStatus::ToShip | PlatformStatus::PartlyShipped | PlatformStatus::Shipped
        );
        if !decodable {
            return Ok(pulled);
        }
        if known.holds(&pulled) {
            pulled.receiver = ReceiverState::Unchanged;
            return Ok(pulled);
        }
        match call(c, "order/sensitiveinfo/decode", json!({ "order_id": id })).await {
            Ok(d) => {
                pulled.receiver = map_decoded(&d)?.into();
                return Ok(pulled);
            }
            Err(PlatformError::Invalid { code, msg }) if code == STATE_CHANGED && !reread => {
                tracing::info!(code, msg, "WeChat decode refused; reading the order again");
                reread = true;
                pulled = order_raw(c, &id).await?.1;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn status_of(code: i64) -> PlatformStatus {
    match code {
        10 => PlatformStatus::Unpaid,
        12 | 13 => PlatformStatus::PaidPending,
        20 => PlatformStatus::ToShip,
        21 => PlatformStatus::PartlyShipped,
        30 => PlatformStatus::Shipped,
        100 => PlatformStatus::Completed,
        190 | 250 => PlatformStatus::Cancelled,
        200 => PlatformStatus::Closed,
        other => PlatformStatus::Other(other.to_string()),
    }
}

/// Maps `order/get`'s `order` (receiver left masked; see [`map_decoded`]).
///
/// * `ship_by`: the earliest non-zero `delivery_deadline` of the products.
/// * `presale_ship_at`: the earliest `sku_deliver_info.predict_delivery_time` of presale
///   products (`stock_type` 1).
/// * Lines: `product_unique_id` is the line id; `sale_price` the unit price; `real_price` the
///   line's paid amount after discounts (a line total).
/// * `paid_total` is `price_info.order_price` (freight included).
pub(crate) fn map_order(o: &Value) -> Result<PulledOrder, PlatformError> {
    let id = req_text(o, "order_id")?;
    let platform_order_id =
        PlatformOrderId::parse(&id).map_err(|e| PlatformError::protocol(e.to_string()))?;
    let code = req_int(o, "status")?;
    let detail = object(o, "order_detail")?;
    let pay = object(detail, "pay_info")?;
    let price = object(detail, "price_info")?;
    let delivery = object(detail, "delivery_info")?;
    let ext = object(detail, "ext_info")?;
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let mut lines_after_sale = Vec::new();
    let mut ship_by: Option<DateTime<Utc>> = None;
    let mut presale: Option<DateTime<Utc>> = None;
    for p in array(detail, "product_infos")? {
        let qty = req_int(p, "sku_cnt")?;
        let sku_id = nonempty(p, "sku_id");
        let line_id = nonempty(p, "product_unique_id");
        if let Some(t) = int(p, "delivery_deadline")?.and_then(from_secs) {
            ship_by = Some(ship_by.map_or(t, |s| s.min(t)));
        }
        let sdi = object(p, "sku_deliver_info")?;
        if int(sdi, "stock_type")? == Some(1)
            && let Some(t) = int(sdi, "predict_delivery_time")?.and_then(from_secs)
        {
            presale = Some(presale.map_or(t, |s| s.min(t)));
        }
        let on = int(p, "on_aftersale_sku_cnt")?.unwrap_or(0);
        let done = int(p, "finish_aftersale_sku_cnt")?.unwrap_or(0);
        lines_after_sale.push(LineAfterSale {
            platform_line_id: line_id.clone(),
            platform_sku_id: sku_id.clone(),
            state: if done > 0 {
                AfterSale::Refunded
            } else if on > 0 {
                AfterSale::Requested
            } else {
                AfterSale::None
            },
        });
        lines.push(NewOrderLine {
            platform_line_id: line_id,
            platform_sku_id: sku_id,
            sku_code: sku_code(nonempty(p, "sku_code"), &mut warnings),
            title: text(p, "title").unwrap_or_default(),
            quantity: qty,
            unit_price: Fen(int(p, "sale_price")?.unwrap_or(0)),
            paid: Fen(int(p, "real_price")?.unwrap_or(0)),
        });
    }
    let mut packages = Vec::new();
    for d in array(delivery, "delivery_product_info")? {
        let mut items = Vec::new();
        for pi in array(d, "product_infos")? {
            items.push(PackageItem {
                platform_line_id: None,
                platform_sku_id: nonempty(pi, "sku_id"),
                quantity: int(pi, "product_cnt")?,
            });
        }
        packages.push(ShippedPackage {
            carrier: text(d, "delivery_id").unwrap_or_default(),
            tracking_no: text(d, "waybill_id").unwrap_or_default(),
            shipped_at: int(d, "delivery_time")?.and_then(from_secs),
            items,
        });
    }
    let aftersale = object(o, "aftersale_detail")?;
    let open = int(aftersale, "on_aftersale_order_cnt")?.unwrap_or(0) > 0
        || lines_after_sale
            .iter()
            .any(|l| l.state == AfterSale::Requested);
    let after_sale = if open {
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
    let addr = object(delivery, "address_info")?;
    // Every field of the masked address, the virtual number's among them; none to take when
    // the platform sent no address.
    let receiver_fingerprint = addr
        .as_object()
        .is_some_and(|a| !a.is_empty())
        .then(|| fingerprint([crate::douyin::canonical_json(addr).as_str()]));
    let masked = MaskedReceiver {
        name: text(addr, "user_name").unwrap_or_default(),
        phone: text(addr, "tel_number").unwrap_or_default(),
        province: text(addr, "province_name").unwrap_or_default(),
        city: text(addr, "city_name").unwrap_or_default(),
        county: text(addr, "county_name").unwrap_or_default(),
        detail: pii::mask_detail(&text(addr, "detail_info").unwrap_or_default()),
    };
    Ok(PulledOrder {
        order: PlatformOrder {
            platform_order_id,
            platform_status: code.to_string(),
            paid_total: Fen(int(price, "order_price")?.unwrap_or(0)),
            freight: Fen(int(price, "freight")?.unwrap_or(0)),
            buyer_note: note(ext, "customer_notes"),
            seller_note: note(ext, "merchant_notes"),
            created_at: int(o, "create_time")?.and_then(from_secs),
            paid_at: int(pay, "pay_time")?.and_then(from_secs),
            ship_by,
            presale_ship_at: presale,
            platform_updated_at: int(o, "update_time")?.and_then(from_secs),
            buyer_openid: nonempty(o, "openid"),
            lines,
        },
        receiver: ReceiverState::Problem(ReceiverProblem::NotDecrypted { masked }),
        receiver_fingerprint,
        status: status_of(code),
        after_sale,
        lines_after_sale,
        shipped_packages: packages,
        warnings,
    })
}

/// Maps `sensitiveinfo/decode`. The phone is what the buyer chose to show: the privacy number
/// with its extension when there is one (`virtual_number_info`), else `tel_number`. The detail
/// is `detail_info` (WeChat already includes the township) plus `house_number`.
pub(crate) fn map_decoded(d: &Value) -> Result<Result<Receiver, ReceiverProblem>, PlatformError> {
    let a = object(d, "address_info")?;
    if a.is_null() {
        return Err(PlatformError::protocol("decode without address_info"));
    }
    let vn = object(d, "virtual_number_info")?;
    let phone = match (nonempty(vn, "virtual_number"), nonempty(vn, "extension")) {
        (Some(n), Some(ext)) => format!("{n}-{ext}"),
        (Some(n), None) => n,
        _ => nonempty(a, "tel_number")
            .or_else(|| nonempty(a, "virtual_order_tel_number"))
            .unwrap_or_default(),
    };
    let mut detail = text(a, "detail_info").unwrap_or_default();
    if let Some(h) = nonempty(a, "house_number")
        && !detail.contains(&h)
    {
        detail.push_str(&h);
    }
    Ok(Receiver::parse(
        &text(a, "user_name").unwrap_or_default(),
        &phone,
        &text(a, "province_name").unwrap_or_default(),
        &text(a, "city_name").unwrap_or_default(),
        &text(a, "county_name").unwrap_or_default(),
        &detail,
    )
    .map_err(ReceiverProblem::Invalid))
}

// ------------------------------------------------------------------ shipping (发货回传)

/// `order/get` as returned (the `order` object) and mapped, without decoding the receiver.
async fn order_raw(c: &PlatformClient, id: &str) -> Result<(Value, PulledOrder), PlatformError> {
    let v = call(c, "order/get", json!({ "order_id": id })).await?;
    let order = object(&v, "order")?.clone();
    if order.is_null() {
        return Err(PlatformError::protocol("order/get without order"));
    }
    let pulled = map_order(&order)?;
    Ok((order, pulled))
}

/// A line of `order_detail.product_infos`, with what ship calls need.
struct Product {
    product_id: String,
    sku_id: String,
    unique_id: Option<String>,
    count: i64,
    refunded: i64,
}

fn products(order: &Value) -> Result<Vec<Product>, PlatformError> {
    let detail = object(order, "order_detail")?;
    array(detail, "product_infos")?
        .iter()
        .map(|p| {
            Ok(Product {
                product_id: text(p, "product_id").unwrap_or_default(),
                sku_id: text(p, "sku_id").unwrap_or_default(),
                unique_id: nonempty(p, "product_unique_id"),
                count: req_int(p, "sku_cnt")?,
                refunded: int(p, "finish_aftersale_sku_cnt")?.unwrap_or(0),
            })
        })
        .collect()
}

/// The packages of `delivery_info.delivery_product_info`.
fn packages(order: &Value) -> Result<&[Value], PlatformError> {
    let detail = object(order, "order_detail")?;
    array(object(detail, "delivery_info")?, "delivery_product_info")
}

/// Units of one product already in a package.
fn shipped_count(order: &Value, p: &Product) -> Result<i64, PlatformError> {
    let mut n = 0;
    for d in packages(order)? {
        for pi in array(d, "product_infos")? {
            if text(pi, "product_id").as_deref() == Some(p.product_id.as_str())
                && text(pi, "sku_id").as_deref() == Some(p.sku_id.as_str())
            {
                n += int(pi, "product_cnt")?.unwrap_or(0);
            }
        }
    }
    Ok(n)
}

/// `product_infos` for a parcel: the listed lines (found by `product_unique_id`, else `sku_id`),
/// or every unit not yet shipped nor refunded when `items` is empty.
fn product_infos(order: &Value, items: &[ShipItem]) -> Result<Vec<Value>, PlatformError> {
    let prods = products(order)?;
    let entry = |p: &Product, n: i64| json!({ "product_id": p.product_id, "sku_id": p.sku_id, "product_cnt": n });
    let mut out = Vec::new();
    if items.is_empty() {
        for p in &prods {
            let left = p.count - shipped_count(order, p)? - p.refunded;
            if left > 0 {
                out.push(entry(p, left));
            }
        }
        return Ok(out);
    }
    for it in items {
        let by_line = it
            .platform_line_id
            .as_deref()
            .and_then(|l| prods.iter().find(|p| p.unique_id.as_deref() == Some(l)));
        let by_sku = || {
            it.platform_sku_id
                .as_deref()
                .and_then(|s| prods.iter().find(|p| p.sku_id == s))
        };
        let p = by_line.or_else(by_sku).ok_or_else(|| {
            PlatformError::Config(format!(
                "line {} / sku {} is not in the order",
                it.platform_line_id.as_deref().unwrap_or("-"),
                it.platform_sku_id.as_deref().unwrap_or("-")
            ))
        })?;
        out.push(entry(p, i64::from(it.quantity)));
    }
    Ok(out)
}

/// A write answer must at least carry the envelope's `errcode`.
fn require_errcode(v: &Value) -> Result<(), PlatformError> {
    match v.get("errcode") {
        Some(Value::Number(_)) => Ok(()),
        _ => Err(PlatformError::protocol("answer without errcode")),
    }
}

/// `order/delivery/send` with one package (`deliver_type` 1, 自寄快递) whose `product_infos`
/// come from the order's detail (see [`crate::ship`]).
pub(crate) async fn ship(
    c: &PlatformClient,
    req: &ShipRequest,
) -> Result<ShipOutcome, PlatformError> {
    let id = req.platform_order_id.trim();
    let (raw, pulled) = order_raw(c, id).await?;
    if crate::ship::already_has(&pulled, req) {
        return Ok(ShipOutcome::AlreadyShipped);
    }
    let infos = product_infos(&raw, &req.items)?;
    let mut package = json!({
        "delivery_id": req.carrier_code.trim(),
        "waybill_id": req.tracking_no.trim(),
        "deliver_type": 1,
    });
    if !infos.is_empty() {
        package["product_infos"] = json!(infos);
    }
    let body = json!({ "order_id": id, "delivery_list": [package] });
    crate::ship::ship_then_decide(
        req,
        async {
            let v = call(c, "order/delivery/send", body).await?;
            require_errcode(&v)
        },
        || async { Ok(order_raw(c, id).await?.1) },
    )
    .await
}

/// `order/deliveryinfo/update` in the per-package `change_infos` form. The old package's
/// `delivery_id`, `waybill_id` and `product_infos` are taken from the order's detail as the
/// platform has them; `items` are the fallback when the package is not found there.
pub(crate) async fn change_shipment(
    c: &PlatformClient,
    req: &ChangeShipment,
) -> Result<(), PlatformError> {
    let id = req.platform_order_id.trim();
    let (raw, pulled) = order_raw(c, id).await?;
    if crate::ship::change_done(&pulled, req) {
        return Ok(());
    }
    let old = packages(&raw)?.iter().find(|d| {
        text(d, "waybill_id").is_some_and(|w| crate::ship::same_number(&w, &req.old_tracking_no))
    });
    let (old_carrier, old_no, infos) = match old {
        Some(d) => (
            text(d, "delivery_id").unwrap_or_else(|| req.old_carrier_code.trim().to_string()),
            text(d, "waybill_id").unwrap_or_default(),
            array(d, "product_infos")?
                .iter()
                .map(|pi| {
                    json!({
                        "product_id": text(pi, "product_id").unwrap_or_default(),
                        "sku_id": text(pi, "sku_id").unwrap_or_default(),
                        "product_cnt": int(pi, "product_cnt").ok().flatten().unwrap_or(0),
                    })
                })
                .collect::<Vec<_>>(),
        ),
        None if req.items.is_empty() => (
            req.old_carrier_code.trim().to_string(),
            req.old_tracking_no.trim().to_string(),
            Vec::new(),
        ),
        None => (
            req.old_carrier_code.trim().to_string(),
            req.old_tracking_no.trim().to_string(),
            product_infos(&raw, &req.items)?,
        ),
    };
    let mut old_v = json!({ "delivery_id": old_carrier, "waybill_id": old_no });
    let mut new_v = json!({
        "delivery_id": req.new_carrier_code.trim(),
        "waybill_id": req.new_tracking_no.trim(),
    });
    if !infos.is_empty() {
        old_v["product_infos"] = json!(infos);
        new_v["product_infos"] = json!(infos);
    }
    let body = json!({ "order_id": id, "change_infos": [{ "old": old_v, "new": new_v }] });
    crate::ship::change_then_decide(
        req,
        async {
            let v = call(c, "order/deliveryinfo/update", body).await?;
            require_errcode(&v)
        },
        || async { Ok(order_raw(c, id).await?.1) },
    )
    .await
}

/// `order/deliverycompanylist/new/get` with `ewaybill_only: false`: every carrier the shop may
/// name when shipping.
pub(crate) async fn carrier_list(
    c: &PlatformClient,
) -> Result<Vec<PlatformCarrier>, PlatformError> {
    let v = call(
        c,
        "order/deliverycompanylist/new/get",
        json!({ "ewaybill_only": false }),
    )
    .await?;
    let Some(Value::Array(list)) = v.get("company_list") else {
        return Err(PlatformError::protocol("missing company_list"));
    };
    list.iter()
        .map(|x| {
            Ok(PlatformCarrier {
                code: req_text(x, "delivery_id")?,
                name: text(x, "delivery_name").unwrap_or_default(),
            })
        })
        .collect()
}
