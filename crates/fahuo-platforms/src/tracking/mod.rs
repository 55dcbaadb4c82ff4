//! Parcel tracking through the aggregators (kuaidi100 快递100, kdniao 快递鸟): subscriptions,
//! real-time queries as the polling fallback, and the pushes they send back (verified, parsed
//! and acknowledged exactly as each protocol requires). Also kdniao's courier pickup booking
//! (上门取件, RequestType 1001 / 1004) for return parcels.
//!
//! Wire facts: `reference/platform-apis.md` §4.1 (kuaidi100) and §4.2 (kdniao). Every trace line
//! is normalised into a [`TrackEvent`] (fahuo's [`TrackState`] and [`SubState`]) here, so nothing
//! above this module sees an aggregator's codes.
#![allow(unused_variables, dead_code)] // skeleton: removed when the bodies are written

mod kdniao;
mod kuaidi100;

use crate::caller::Caller;
use crate::client::ClientOptions;
use crate::error::{PlatformError, WebhookError};
use fahuo_carriers::Carrier;
use fahuo_domain::tracking::{SubState, TrackEvent, TrackState};
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
    pub fn new(
        account: TrackingAccount,
        http: reqwest::Client,
        opts: &ClientOptions,
    ) -> Result<TrackingClient, PlatformError> {
        todo!()
    }

    pub fn service(&self) -> TrackingService {
        self.account.service
    }

    /// Subscribes to pushes for a parcel. A repeated subscription (kuaidi100 501) is success.
    pub async fn subscribe(&self, req: &TrackRequest) -> Result<(), PlatformError> {
        todo!()
    }

    /// Reads the parcel's whole trace now (the polling fallback).
    pub async fn query(&self, req: &TrackRequest) -> Result<TraceReport, PlatformError> {
        todo!()
    }

    /// Books a courier pickup (kdniao only; kuaidi100 accounts answer `Unsupported`).
    pub async fn book_pickup(&self, req: &PickupRequest) -> Result<PickupBooked, PlatformError> {
        todo!()
    }

    /// Cancels a booked pickup.
    pub async fn cancel_pickup(
        &self,
        order_code: &str,
        carrier: Carrier,
    ) -> Result<(), PlatformError> {
        todo!()
    }
}

/// Verifies and parses a push to an account's callback. Never panics on any input; a push
/// whose signature does not verify is [`WebhookError`] and must be answered as a failure.
pub fn verify_push(
    service: TrackingService,
    credentials: &TrackingCredentials,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<TrackPush, WebhookError> {
    todo!()
}

/// The answer each service expects: `(status, content type, body)`. `accepted = false` makes the
/// service deliver the push again later.
pub fn push_reply(
    service: TrackingService,
    credentials: &TrackingCredentials,
    accepted: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> (http::StatusCode, &'static str, String) {
    todo!()
}
