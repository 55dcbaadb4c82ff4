//! Parcel tracking through the aggregators (kuaidi100 快递100, kdniao 快递鸟): subscriptions,
//! real-time queries as the polling fallback, and the pushes they send back (verified, parsed
//! and acknowledged exactly as each protocol requires). Also kdniao's courier pickup booking
//! (上门取件, RequestType 1001 / 1004) for return parcels.
//!
//! Wire facts: `reference/platform-apis.md` §4.1 (kuaidi100) and §4.2 (kdniao). Every trace line
//! is normalised into a [`TrackEvent`] (fahuo's [`TrackState`] and [`SubState`]) here, so nothing
//! above this module sees an aggregator's codes.

//!
//! # Normalising a trace line
//!
//! Each line's state comes, in this order, from the line's own code (kuaidi100 `statusCode`,
//! else its `status`; kdniao `Action`), from the report-level code (kuaidi100 `state`, kdniao
//! `StateEx` then `State`) for the newest line only, from [`classify_text`] of the line's words,
//! from the main state an undocumented code implies (kuaidi100 `2xx` → 疑难), and finally from
//! the line before it in time. No line is ever dropped. The first (oldest)
//! line that nothing classifies is `PickedUp`: a carrier that writes about a parcel has had it.
//! Times are Beijing wall-clock text (`yyyy-MM-dd HH:mm:ss`) turned into UTC; a line whose time
//! does not parse makes the whole report malformed rather than inventing a time.
//!
//! [`classify_text`]: fahuo_domain::tracking::classify_text

mod kdniao;
mod kuaidi100;

use crate::caller::Caller;
use crate::client::ClientOptions;
use crate::error::{PlatformError, WebhookError};
use chrono::{DateTime, NaiveDateTime, Utc};
use fahuo_carriers::{Carrier, CodeSystem};
use fahuo_domain::deadline::SHANGHAI;
use fahuo_domain::tracking::{SubState, TrackEvent, TrackState, classify_text};
use serde::{Deserialize, Serialize};

/// The aggregator an account tracks through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingService {
    Kuaidi100,
    Kdniao,
}

impl TrackingService {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingService::Kuaidi100 => "kuaidi100",
            TrackingService::Kdniao => "kdniao",
        }
    }

    pub fn parse(s: &str) -> Result<TrackingService, fahuo_domain::ParseError> {
        match s {
            "kuaidi100" => Ok(TrackingService::Kuaidi100),
            "kdniao" => Ok(TrackingService::Kdniao),
            _ => Err(fahuo_domain::ParseError::new(
                "service",
                format!("unknown tracking service {s:?} (kuaidi100 or kdniao)"),
            )),
        }
    }
}

/// | field | kuaidi100 | kdniao |
/// |---|---|---|
/// | `customer` | `customer` (query) | `EBusinessID` |
/// | `key` | `key` (query signature and subscription) | `AppKey` (signs requests and pushes) |
/// | `salt` | the push `salt` fahuo chooses | unused (pushes are signed with `AppKey`) |
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingCredentials {
    pub customer: String,
    pub key: String,
    #[serde(default)]
    pub salt: String,
}

impl std::fmt::Debug for TrackingCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingCredentials")
            .field("customer", &self.customer)
            .finish_non_exhaustive()
    }
}

/// One tracking account.
#[derive(Debug, Clone)]
pub struct TrackingAccount {
    pub service: TrackingService,
    /// The service's base URL without a trailing slash (an emulator's in tests).
    pub base_url: String,
    pub credentials: TrackingCredentials,
    /// Where the service pushes (fahuo's webhook URL for this account).
    pub callback_url: String,
}

/// A parcel to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRequest {
    pub carrier: Carrier,
    pub tracking_no: String,
    /// The receiver's (or sender's) phone, of which only the last four digits are sent (SF and
    /// ZTO require them).
    pub phone_last4: Option<String>,
}

/// What the service says about one parcel: its whole trace as the service knows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceReport {
    /// Parsed back from the service's code; `None` when the service names a carrier fahuo does
    /// not know (kept in `carrier_code`).
    pub carrier: Option<Carrier>,
    /// The service's own carrier code as sent.
    pub carrier_code: String,
    pub tracking_no: String,
    /// Every line, normalised, in the order the service sent them.
    pub events: Vec<TrackEvent>,
    /// The parcel-level state the service declares, where it declares one.
    pub state: Option<TrackState>,
    pub sub_state: Option<SubState>,
    /// The service stopped following it (kuaidi100 `shutdown`): no more pushes will come.
    pub ended: bool,
    /// The service gave up (kuaidi100 `abort`, e.g. "3天查询无记录"): subscribe again later.
    pub aborted: bool,
    /// The service's message with the push (e.g. the abort reason).
    pub message: Option<String>,
}

/// A verified push: one or more parcels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackPush {
    pub reports: Vec<TraceReport>,
}

/// A courier pickup (上门取件) for a return parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupRequest {
    /// fahuo's own key for the booking; the service answers a repeated key with the same booking.
    pub order_code: String,
    pub carrier: Carrier,
    /// Who hands the parcel over (the buyer) and who receives it (the warehouse).
    pub sender: crate::waybill::Contact,
    pub receiver: crate::waybill::Contact,
    pub start: chrono::DateTime<chrono::Utc>,
    pub end: chrono::DateTime<chrono::Utc>,
    pub weight_g: Option<i64>,
    pub remark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupBooked {
    /// The return waybill number, when the service issues one with the booking.
    pub tracking_no: Option<String>,
    /// The service's own booking id.
    pub booking_id: Option<String>,
}

/// A client for one tracking account. `Send + Sync`; share it in an `Arc`.
pub struct TrackingClient {
    account: TrackingAccount,
    caller: Caller,
}

impl std::fmt::Debug for TrackingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingClient")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl TrackingClient {
    /// Checks the account: an http(s) base URL, `customer` and `key`, and for kuaidi100 the push
    /// `salt` (pushes cannot be verified without it) and a `callback_url` (subscriptions need it).
    pub fn new(
        account: TrackingAccount,
        http: reqwest::Client,
        opts: &ClientOptions,
    ) -> Result<TrackingClient, PlatformError> {
        let mut account = account;
        account.base_url = account.base_url.trim().trim_end_matches('/').to_string();
        if !(account.base_url.starts_with("http://") || account.base_url.starts_with("https://")) {
            return Err(PlatformError::Config(
                "base_url must be an http(s) URL".into(),
            ));
        }
        let c = &account.credentials;
        let (customer, key) = match account.service {
            TrackingService::Kuaidi100 => ("customer", "key"),
            TrackingService::Kdniao => ("EBusinessID (customer)", "AppKey (key)"),
        };
        if c.customer.trim().is_empty() {
            return Err(PlatformError::Config(format!("{customer} is required")));
        }
        if c.key.trim().is_empty() {
            return Err(PlatformError::Config(format!("{key} is required")));
        }
        if account.service == TrackingService::Kuaidi100 {
            if c.salt.trim().is_empty() {
                return Err(PlatformError::Config(
                    "kuaidi100 needs a push salt (pushes are signed with it)".into(),
                ));
            }
            if account.callback_url.trim().is_empty() {
                return Err(PlatformError::Config(
                    "kuaidi100 needs the callback URL it pushes to".into(),
                ));
            }
        }
        Ok(TrackingClient {
            caller: Caller::new(format!("tracking:{}", account.service.as_str()), http, opts),
            account,
        })
    }

    pub fn service(&self) -> TrackingService {
        self.account.service
    }

    /// Subscribes to pushes for a parcel. A repeated subscription (kuaidi100 501) is success.
    pub async fn subscribe(&self, req: &TrackRequest) -> Result<(), PlatformError> {
        let req = checked(req)?;
        match self.account.service {
            TrackingService::Kuaidi100 => kuaidi100::subscribe(self, &req).await,
            TrackingService::Kdniao => kdniao::subscribe(self, &req).await,
        }
    }

    /// Reads the parcel's whole trace now (the polling fallback).
    pub async fn query(&self, req: &TrackRequest) -> Result<TraceReport, PlatformError> {
        let req = checked(req)?;
        match self.account.service {
            TrackingService::Kuaidi100 => kuaidi100::query(self, &req).await,
            TrackingService::Kdniao => kdniao::query(self, &req).await,
        }
    }

    /// Books a courier pickup (kdniao only; kuaidi100 accounts answer `Unsupported`).
    pub async fn book_pickup(&self, req: &PickupRequest) -> Result<PickupBooked, PlatformError> {
        match self.account.service {
            TrackingService::Kuaidi100 => Err(PlatformError::Unsupported(
                "kuaidi100 tracking accounts cannot book pickups; use a kdniao account".into(),
            )),
            TrackingService::Kdniao => {
                if req.order_code.trim().is_empty() {
                    return Err(PlatformError::Config("empty pickup order code".into()));
                }
                if req.end <= req.start {
                    return Err(PlatformError::Config(
                        "the pickup window ends before it starts".into(),
                    ));
                }
                kdniao::book_pickup(self, req).await
            }
        }
    }

    /// Cancels a booked pickup.
    pub async fn cancel_pickup(
        &self,
        order_code: &str,
        carrier: Carrier,
    ) -> Result<(), PlatformError> {
        match self.account.service {
            TrackingService::Kuaidi100 => Err(PlatformError::Unsupported(
                "kuaidi100 tracking accounts cannot book pickups".into(),
            )),
            TrackingService::Kdniao => {
                let order_code = order_code.trim();
                if order_code.is_empty() {
                    return Err(PlatformError::Config("empty pickup order code".into()));
                }
                kdniao::cancel_pickup(self, order_code, carrier).await
            }
        }
    }

    /// The service's code for `carrier`, or a configuration error.
    fn carrier_code(&self, carrier: Carrier) -> Result<&'static str, PlatformError> {
        carrier
            .code_in(self.account.service.code_system())
            .code()
            .ok_or_else(|| {
                PlatformError::Config(format!(
                    "{} has no known {} code",
                    carrier.code(),
                    self.account.service.as_str()
                ))
            })
    }
}

impl TrackingService {
    fn code_system(self) -> CodeSystem {
        match self {
            TrackingService::Kuaidi100 => CodeSystem::Kuaidi100,
            TrackingService::Kdniao => CodeSystem::Kdniao,
        }
    }
}

/// The request with its number trimmed and the phone reduced to its last four digits.
fn checked(req: &TrackRequest) -> Result<TrackRequest, PlatformError> {
    let tracking_no = req.tracking_no.trim().to_string();
    if tracking_no.is_empty() {
        return Err(PlatformError::Config("empty tracking number".into()));
    }
    let phone_last4 = req.phone_last4.as_deref().and_then(|p| {
        let digits: Vec<char> = p.chars().filter(char::is_ascii_digit).collect();
        (digits.len() >= 4).then(|| digits[digits.len() - 4..].iter().collect())
    });
    Ok(TrackRequest {
        carrier: req.carrier,
        tracking_no,
        phone_last4,
    })
}

/// Verifies and parses a push to an account's callback. Never panics on any input; a push
/// whose signature does not verify is [`WebhookError`] and must be answered as a failure.
///
/// * kuaidi100: form fields `param` (JSON) and `sign = MD5(param + salt)`, hex compared
///   case-insensitively (the case is not documented, reference §4.1).
/// * kdniao: form fields `RequestData` (JSON), `DataSign`, `RequestType = 101`;
///   `DataSign = base64(md5_hex(RequestData + AppKey))`, accepted as received after the form
///   decoding or URL-encoded once more (senders differ in whether they encode it twice).
///   `EBusinessID` must be the account's. One push may carry several parcels.
pub fn verify_push(
    service: TrackingService,
    credentials: &TrackingCredentials,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<TrackPush, WebhookError> {
    let fields = form_fields(content_type, body)?;
    match service {
        TrackingService::Kuaidi100 => kuaidi100::verify_push(credentials, &fields),
        TrackingService::Kdniao => kdniao::verify_push(credentials, &fields),
    }
}

/// The answer each service expects: `(status, content type, body)`. `accepted = false` makes the
/// service deliver the push again later.
///
/// * kuaidi100: `200 {"result":true,"returnCode":"200","message":"成功"}`; failure
///   `500 {"result":false,"returnCode":"500","message":"失败"}`. Anything but the success body
///   is retried (reference §4.1); the 500 status is our choice, so that a refused push is also
///   visible as an error to proxies and logs, as for the shop platforms' pushes.
/// * kdniao: `200 {"EBusinessID":…,"UpdateTime":"yyyy-MM-dd HH:mm:ss" (Beijing),
///   "Success":true,"Reason":""}`; failure the same with `Success:false` and a reason, status
///   500 (our choice, as above).
pub fn push_reply(
    service: TrackingService,
    credentials: &TrackingCredentials,
    accepted: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> (http::StatusCode, &'static str, String) {
    let status = if accepted {
        http::StatusCode::OK
    } else {
        http::StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = match service {
        TrackingService::Kuaidi100 => {
            if accepted {
                serde_json::json!({"result": true, "returnCode": "200", "message": "成功"})
            } else {
                serde_json::json!({"result": false, "returnCode": "500", "message": "失败"})
            }
        }
        TrackingService::Kdniao => serde_json::json!({
            "EBusinessID": credentials.customer,
            "UpdateTime": beijing_text(now),
            "Success": accepted,
            "Reason": if accepted { "" } else { "处理失败，请稍后重推" },
        }),
    };
    (status, "application/json; charset=utf-8", body.to_string())
}

/// What a service code means in fahuo's states: kuaidi100 main states (`0`–`8`, `10`–`14`),
/// its `resultv2` sub-states (`101` … `1003`) and their Chinese names (`"在途"`, `"干线"`, as
/// lines carry them in `status`); kdniao `State` (`0`–`6`) and `StateEx` / `Action`
/// (`10`, `201` … `412`). `None` for codes the reference does not document (and for kdniao `0`
/// "no trace yet"): the caller falls back to the line's text.
pub fn map_code(service: TrackingService, code: &str) -> Option<(TrackState, Option<SubState>)> {
    match service {
        TrackingService::Kuaidi100 => kuaidi100::map_code(code.trim()),
        TrackingService::Kdniao => kdniao::map_code(code.trim()),
    }
}

// ------------------------------------------------------------------ shared helpers

/// The largest push body read (a full trace is a few kilobytes; a push of many parcels a few
/// hundred). Larger bodies are refused unread.
const MAX_PUSH_BYTES: usize = 4 << 20;

/// A push's form fields, percent-decoded. Empty, oversized, non-form and duplicated-field
/// bodies are malformed.
fn form_fields(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, WebhookError> {
    if body.is_empty() {
        return Err(WebhookError::Malformed("empty body".into()));
    }
    if body.len() > MAX_PUSH_BYTES {
        return Err(WebhookError::Malformed(format!(
            "body of {} bytes is larger than {MAX_PUSH_BYTES}",
            body.len()
        )));
    }
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        if !mime.is_empty() && !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(WebhookError::Malformed(format!(
                "content type {mime:?} is not a form"
            )));
        }
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (i, (k, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(other, _)| other == k) {
            return Err(WebhookError::Malformed(format!("field {k:?} sent twice")));
        }
    }
    Ok(fields)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Beijing wall-clock text (`yyyy-MM-dd HH:mm:ss`, also with `/` or `T`, or without seconds)
/// as an instant.
pub(crate) fn beijing_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    const FORMATS: [&str; 5] = [
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ];
    FORMATS.iter().find_map(|f| {
        let naive = NaiveDateTime::parse_from_str(s, f).ok()?;
        Some(
            naive
                .and_local_timezone(SHANGHAI)
                .single()?
                .with_timezone(&Utc),
        )
    })
}

/// An instant as Beijing wall-clock text, `yyyy-MM-dd HH:mm:ss`.
pub(crate) fn beijing_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&SHANGHAI)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// One trace line as a service sent it, its own code already mapped.
pub(crate) struct RawLine {
    pub at: DateTime<Utc>,
    pub text: String,
    pub location: Option<String>,
    pub code: Option<(TrackState, Option<SubState>)>,
    /// What an undocumented code suggests, used only when the text says nothing.
    pub fallback: Option<(TrackState, Option<SubState>)>,
}

/// Turns a service's lines into events, in the order sent (see the module docs for the rules).
/// `newest_first`: the service lists the newest line first (kuaidi100) rather than last (kdniao);
/// it decides which of two lines with the same second is the newer.
pub(crate) fn normalise(
    lines: Vec<RawLine>,
    report: Option<(TrackState, Option<SubState>)>,
    newest_first: bool,
) -> Vec<TrackEvent> {
    // Chronological order of the lines, ties broken by their place in the list.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| {
        let place = if newest_first { lines.len() - i } else { i };
        (lines[i].at, place)
    });
    let newest = order.last().copied();
    let mut resolved: Vec<Option<(TrackState, Option<SubState>)>> = vec![None; lines.len()];
    let mut previous: Option<TrackState> = None;
    for &i in &order {
        let line = &lines[i];
        let state = line
            .code
            .or(if Some(i) == newest { report } else { None })
            .or_else(|| classify_text(&line.text))
            .or(line.fallback)
            .unwrap_or((previous.unwrap_or(TrackState::PickedUp), None));
        previous = Some(state.0);
        resolved[i] = Some(state);
    }
    lines
        .into_iter()
        .zip(resolved)
        .map(|(line, state)| {
            let (state, sub_state) = state.unwrap_or((TrackState::PickedUp, None));
            TrackEvent {
                at: line.at,
                state,
                sub_state,
                text: line.text,
                location: line.location,
            }
        })
        .collect()
}

/// The newest event's state (the last in time; at the same second, the later stage).
fn newest_state(events: &[TrackEvent]) -> Option<TrackState> {
    fahuo_domain::tracking::current(events).map(|e| e.state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn line(h: u32, text: &str, code: Option<(TrackState, Option<SubState>)>) -> RawLine {
        RawLine {
            at: Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap(),
            text: text.into(),
            location: None,
            code,
            fallback: None,
        }
    }

    #[test]
    fn beijing_text_is_eight_hours_ahead_of_utc() {
        let t = beijing_time("2026-03-01 07:30:00").unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 2, 28, 23, 30, 0).unwrap());
        assert_eq!(beijing_text(t), "2026-03-01 07:30:00");
        assert_eq!(beijing_time("2026/03/01 07:30:00"), Some(t));
        assert_eq!(beijing_time("2026-02-30 07:30:00"), None);
        assert_eq!(beijing_time(""), None);
    }

    #[test]
    fn unclassified_lines_keep_the_state_before_them_and_the_report_state_goes_to_the_newest() {
        // Newest first, as kuaidi100 lists them.
        let lines = vec![
            line(9, "xyz", None),
            line(8, "???", None),
            line(7, "快件已揽收", None),
        ];
        let ev = normalise(
            lines,
            Some((TrackState::OutForDelivery, Some(SubState::Delivering))),
            true,
        );
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[2].state, TrackState::PickedUp);
        assert_eq!(
            ev[1].state,
            TrackState::PickedUp,
            "kept from the line before"
        );
        assert_eq!(
            ev[0].state,
            TrackState::OutForDelivery,
            "the report's state"
        );
        assert_eq!(ev[0].sub_state, Some(SubState::Delivering));
    }
}
