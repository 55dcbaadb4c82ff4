//! Incoming pushes (消息推送): verification, decoding, freshness and the reply each platform
//! expects. Pure functions: no I/O, no clock (the receiver passes its "now"). The HTTP endpoint
//! hands over the raw request parts.

use crate::error::WebhookError;
use crate::{douyin, wechat, xiaohongshu};
use chrono::{DateTime, Utc};
use fahuo_domain::Platform;
use fahuo_domain::catalog::ShopCredentials;
use std::time::Duration;

/// The raw parts of an incoming push, exactly as received.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The request path as the platform called it (Xiaohongshu signs it).
    pub path: &'a str,
    /// The raw query string, without `?` (WeChat signs parts of it; Xiaohongshu signs it).
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// What a verified push says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookMessage {
    /// WeChat's URL check (GET with `echostr`): reply with `echo` as plain text.
    UrlCheck {
        echo: String,
    },
    /// Xiaohongshu's registration test (`{"test":true}`): reply with the normal success body.
    Test,
    Events(Vec<PushEvent>),
}

/// One event of a push. Pushes only say *that* an order changed; the caller follows up with
/// `pull_order`, which makes duplicate and out-of-order pushes harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Stable across redeliveries of the same event: the platform's message id where it has one
    /// (Douyin `msg_id`), else built from the event's own fields (see each platform module).
    pub dedupe_key: String,
    /// The platform's event name or tag: WeChat `channels_ec_order_pay`, Douyin `101`,
    /// Xiaohongshu `msg_fulfillment_status_change`.
    pub kind: String,
    pub platform_order_id: Option<String>,
    /// After-sale events: the platform's after-sale id (WeChat `after_sale_order_id`, Douyin
    /// `aftersale_id`, Xiaohongshu `returnsId`); follow up with `after_sale`.
    pub platform_after_sale_id: Option<String>,
    /// WeChat: the appid the message was encrypted for; Douyin: `shop_id`; Xiaohongshu `sellerId`.
    pub platform_shop_id: Option<String>,
}

/// Verifies a push with the shop's credentials and decodes it. Refuses anything that is not
/// signed exactly as the platform documents; never panics on any input.
pub fn verify_webhook(
    platform: Platform,
    creds: &ShopCredentials,
    req: &WebhookRequest,
) -> Result<WebhookMessage, WebhookError> {
    match platform {
        Platform::Wechat => wechat::verify_webhook(creds, req),
        Platform::Douyin => douyin::verify_webhook(creds, req),
        Platform::Xiaohongshu => xiaohongshu::verify_webhook(creds, req),
        Platform::Manual => Err(WebhookError::Unsupported("manual")),
    }
}

/// How far a push's signed timestamp may lie from the receiver's clock.
///
/// The defaults follow the platforms' documented re-deliveries (reference §1.6, §3.5). Neither
/// platform says whether a re-delivery is signed afresh, so the window is wide enough for the
/// early ones even if they keep the first signature: Xiaohongshu's single retry comes 5 min
/// after a failure, and WeChat's first five deliveries fall within 6 min 10 s
/// (0 s/0 s/10 s/1 min/5 min). WeChat's later retries (30 min to 3.6 h) may then be refused;
/// by that time the periodic sync has read the order anyway. Ahead of the clock, only skew
/// between two NTP-synced servers is expected; 5 minutes leaves room for a poorly kept one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushWindow {
    /// The oldest signed timestamp accepted, measured back from the receiver's clock.
    pub max_age: Duration,
    /// How far ahead of the receiver's clock a signed timestamp may be.
    pub max_ahead: Duration,
}

impl Default for PushWindow {
    fn default() -> Self {
        PushWindow {
            max_age: Duration::from_secs(10 * 60),
            max_ahead: Duration::from_secs(5 * 60),
        }
    }
}

/// Refuses a push whose signed timestamp is outside `window` around `now`: a captured push
/// replayed later, or one held back too long. Call it after [`verify_webhook`] accepted the
/// request, so the timestamp judged is the one the platform signed.
///
/// * WeChat signs `timestamp` (query, unix seconds) into `msg_signature` and the URL check's
///   `signature`. Its signature also covers the body, so a replay inside the window can only
///   repeat the same event, which the event's dedupe key absorbs.
/// * Xiaohongshu signs the `timestamp` header but not the body: a captured signature carries
///   any body for as long as its timestamp is accepted, which is why the window is short.
///   Unix seconds as documented; a 13-digit value is read as milliseconds (its responses use
///   ms).
/// * Douyin's `event-sign` is `MD5(app_key + body + app_secret)` and its push carries no
///   timestamp at all, so there is nothing to judge: a replay repeats the same signed body, and
///   its `msg_id` dedupes it.
pub fn check_push_time(
    platform: Platform,
    req: &WebhookRequest,
    now: DateTime<Utc>,
    window: &PushWindow,
) -> Result<(), WebhookError> {
    let signed = match platform {
        Platform::Wechat => query_get(&query_pairs(req.query), "timestamp"),
        Platform::Xiaohongshu => header(req, "timestamp").map(str::to_string),
        Platform::Douyin | Platform::Manual => return Ok(()),
    };
    let signed = signed.ok_or(WebhookError::Missing("timestamp"))?;
    let secs = unix_seconds(&signed)
        .ok_or_else(|| WebhookError::Malformed("timestamp is not a unix time".into()))?;
    let offset_secs = secs.saturating_sub(now.timestamp());
    let max_age_secs = window.max_age.as_secs();
    let max_ahead_secs = window.max_ahead.as_secs();
    let too_old = offset_secs < 0 && offset_secs.unsigned_abs() > max_age_secs;
    let too_new = offset_secs > 0 && offset_secs.unsigned_abs() > max_ahead_secs;
    if too_old || too_new {
        return Err(WebhookError::Stale {
            offset_secs,
            max_age_secs,
            max_ahead_secs,
        });
    }
    Ok(())
}

/// Unix seconds from a signed timestamp: seconds, or milliseconds when it has 13 digits.
fn unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.parse().ok()?;
    Some(if text.len() >= 13 { n / 1000 } else { n })
}

/// The reply a platform expects: `Ok(())` when the push was accepted (stored for processing),
/// `Err(())` to make the platform deliver it again later.
///
/// * WeChat: `200 text/plain "success"`; on failure `500` with an empty body (anything but
///   `success` is retried).
/// * Douyin: `200 {"code":0,"msg":"success"}` (reference §2.5: believed, UNCONFIRMED); failure
///   `500 {"code":1,"msg":"fail"}`.
/// * Xiaohongshu: `200 {"success":true,"error_code":0,"error_msg":""}`; failure `500` with
///   `success:false`.
///
/// For WeChat's URL check, answer `echo` as plain text instead (see [`WebhookMessage`]).
pub fn webhook_reply(
    platform: Platform,
    outcome: Result<(), ()>,
) -> (http::StatusCode, &'static str, String) {
    use http::StatusCode;
    const JSON: &str = "application/json";
    match (platform, outcome) {
        (Platform::Wechat, Ok(())) => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "success".into(),
        ),
        (Platform::Wechat, Err(())) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            String::new(),
        ),
        (Platform::Douyin, Ok(())) => {
            (StatusCode::OK, JSON, r#"{"code":0,"msg":"success"}"#.into())
        }
        (Platform::Douyin, Err(())) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            JSON,
            r#"{"code":1,"msg":"fail"}"#.into(),
        ),
        (Platform::Xiaohongshu, Ok(())) => (
            StatusCode::OK,
            JSON,
            r#"{"success":true,"error_code":0,"error_msg":""}"#.into(),
        ),
        (Platform::Xiaohongshu, Err(())) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            JSON,
            r#"{"success":false,"error_code":1,"error_msg":"retry later"}"#.into(),
        ),
        (Platform::Manual, _) => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            String::new(),
        ),
    }
}

/// A header as text (`None` if absent or not visible ASCII).
pub(crate) fn header<'a>(req: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name)?.to_str().ok().map(str::trim)
}

/// Query parameters, percent-decoded.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn query_get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// A push body as JSON.
pub(crate) fn json_body(body: &[u8]) -> Result<serde_json::Value, WebhookError> {
    serde_json::from_slice(body).map_err(|_| WebhookError::Malformed("body is not JSON".into()))
}

/// The messages of a JSON-array push body (Douyin, Xiaohongshu), each checked to be an object.
pub(crate) fn message_array(
    body: serde_json::Value,
) -> Result<Vec<serde_json::Value>, WebhookError> {
    let serde_json::Value::Array(items) = body else {
        return Err(WebhookError::Malformed("body is not a JSON array".into()));
    };
    if items.iter().any(|item| !item.is_object()) {
        return Err(WebhookError::Malformed("message is not an object".into()));
    }
    Ok(items)
}

/// A message's `data`: a JSON string in live pushes, an object in some SDK samples. Returns the
/// parsed value and its raw text.
pub(crate) fn message_data(
    item: &serde_json::Value,
) -> Result<(serde_json::Value, String), WebhookError> {
    match item.get("data") {
        Some(serde_json::Value::String(s)) => Ok((
            serde_json::from_str(s)
                .map_err(|_| WebhookError::Malformed("data is not JSON".into()))?,
            s.clone(),
        )),
        Some(o @ serde_json::Value::Object(_)) => Ok((o.clone(), o.to_string())),
        _ => Err(WebhookError::Missing("data")),
    }
}

/// A short stable digest for dedupe keys built from event fields.
pub(crate) fn digest_key(prefix: &str, parts: &[&str]) -> String {
    let joined = parts.join("\u{1f}");
    format!(
        "{prefix}:{}",
        &crate::util::sha1_hex(joined.as_bytes())[..24]
    )
}
