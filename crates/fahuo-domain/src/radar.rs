//! Exception radar (异常雷达): the rules that say a parcel or an order needs a person before the
//! buyer complains, how urgent it is, and what the merchant can do about it.
//!
//! Pure: the store gathers [`ParcelFacts`] / [`OrderFacts`], the app stores the alerts these
//! rules return and clears the ones they no longer return.
#![allow(unused_variables, dead_code)] // skeleton: removed when the bodies are written

use crate::tracking::{SubState, TrackState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The merchant's thresholds (`/api/v1/settings/radar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RadarSettings {
    /// A printed parcel with no pickup scan this many hours after printing (default 24).
    pub pickup_hours: i64,
    /// A parcel in transit whose trace has not moved for this many hours (default 48).
    pub stale_hours: i64,
    /// An unshipped order this many hours before its ship-by deadline (default 6).
    pub deadline_risk_hours: i64,
}

impl Default for RadarSettings {
    fn default() -> Self {
        RadarSettings {
            pickup_hours: 24,
            stale_hours: 48,
            deadline_risk_hours: 6,
        }
    }
}

impl RadarSettings {
    /// Each threshold between 1 hour and 30 days.
    pub fn validate(self) -> Result<RadarSettings, crate::ParseError> {
        todo!()
    }
}

/// What a radar alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// 超时未揽收
    NotPickedUp,
    /// 物流停滞
    Stale,
    /// 疑难件
    Problem,
    /// 拒签
    Refused,
    /// 退回中
    Returning,
    /// 已签收但买家称未收到
    SignedNotReceived,
    /// 发货超时风险
    DeadlineAtRisk,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        todo!()
    }
    pub fn parse(s: &str) -> Result<AlertKind, crate::ParseError> {
        todo!()
    }
    pub fn label_zh(self) -> &'static str {
        todo!()
    }
}

/// What the merchant can do about an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SuggestedAction {
    /// 拦截: ask the carrier to stop and return the parcel.
    Intercept,
    /// 补发: send the goods again, linked to this order.
    Reship,
    /// 退款
    Refund,
    /// 催揽 / 联系快递: ask the carrier's outlet to act.
    ContactCarrier,
    /// 理赔: claim from the carrier for a lost or damaged parcel.
    Claim,
    /// A message to the buyer, drafted in Chinese and ready to send or edit.
    MessageBuyer { draft: String },
}

/// One parcel as the radar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelFacts {
    pub carrier_name: String,
    pub tracking_no: String,
    pub printed_at: Option<DateTime<Utc>>,
    /// When the platform accepted the write-back.
    pub shipped_at: Option<DateTime<Utc>>,
    /// The latest event, if any.
    pub state: Option<TrackState>,
    pub sub_state: Option<SubState>,
    pub first_scan_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The buyer says it never arrived (an after-sale or a note by customer service).
    pub buyer_disputes_delivery: bool,
}

/// One unshipped order as the radar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub ship_by: Option<DateTime<Utc>>,
    pub shipped: bool,
    pub cancelled: bool,
}

/// An alert the rules raise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub kind: AlertKind,
    /// When the condition began (the print time + threshold, the last event, ...).
    pub since: DateTime<Utc>,
    /// Higher first in the queue: severity of the kind plus how long it has lasted.
    pub urgency: i64,
    /// One line in Chinese for the queue.
    pub summary: String,
    pub actions: Vec<SuggestedAction>,
}

/// The alerts that hold for a parcel at `now`.
pub fn parcel_alerts(
    facts: &ParcelFacts,
    settings: &RadarSettings,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    todo!()
}

/// The alerts that hold for an unshipped order at `now` (the ship-by deadline).
pub fn order_alerts(
    facts: &OrderFacts,
    settings: &RadarSettings,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    todo!()
}
