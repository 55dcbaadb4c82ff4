//! Ship-by deadlines (发货时效): countdowns, alert thresholds, and what to do about an order
//! that will miss its deadline because stock is short.
//!
//! The deadline itself always comes from the platform's own field (`ship_by` on the order);
//! nothing here assumes 48 hours.

use crate::{ParseError, Platform};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When to warn about an approaching deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineSettings {
    /// Hours before the deadline at which to alert, any order (default 24, 6, 1).
    pub alert_hours: Vec<i64>,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        todo!()
    }
}

impl DeadlineSettings {
    /// 1 to 10 thresholds, each 1..=720 hours, no duplicates; stored sorted descending.
    pub fn validate(self) -> Result<DeadlineSettings, ParseError> {
        todo!()
    }
}

/// Time left until a deadline, for lists and the at-risk queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Countdown {
    pub ship_by: DateTime<Utc>,
    /// Negative once overdue.
    pub remaining_seconds: i64,
    /// e.g. "剩余 5小时12分", "剩余 2天3小时", "已超时 1小时5分".
    pub label_zh: String,
    /// The smallest configured threshold the order is within, in hours (`None`: none yet).
    pub within_hours: Option<i64>,
    pub overdue: bool,
}

pub fn countdown(
    ship_by: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeadlineSettings,
) -> Countdown {
    let _ = (ship_by, now, settings);
    todo!()
}

/// The thresholds (hours) the order has crossed and not been alerted for yet, largest first.
/// An order first seen 3 h before its deadline with thresholds 24/6/1 gets only the 6 h alert
/// (the 24 h one is moot once the 6 h one fires): at most one alert per call, the smallest
/// crossed threshold not in `already`.
pub fn due_alert(
    ship_by: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeadlineSettings,
    already: &[i64],
) -> Option<i64> {
    let _ = (ship_by, now, settings, already);
    todo!()
}

/// Something the merchant can do for an order that waits for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Remedy {
    /// Ask the platform for a later deadline (WeChat `deliverynegotiation`, reason 2 缺货).
    NegotiateDelay { until: DateTime<Utc> },
    /// Tell the buyer; `draft` is a ready-to-send message in Chinese.
    MessageBuyer { draft: String },
    /// Ship what is in stock now, the rest later.
    PartialShipment,
}

/// The facts about a stock-out order that decide which remedies make sense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockoutFacts {
    pub platform: Platform,
    pub ship_by: Option<DateTime<Utc>>,
    /// When the missing stock is expected (purchase ETA), if known.
    pub expected_at: Option<DateTime<Utc>>,
    /// Delivery negotiations already filed for the order.
    pub negotiations_used: u32,
    /// Some of the order's lines could ship now.
    pub partly_available: bool,
    pub now: DateTime<Utc>,
}

/// Remedies for an order that will miss its deadline (none when it will not: the stock is
/// expected before the deadline, or there is no deadline).
///
/// - `NegotiateDelay`: WeChat only; fewer than 3 negotiations; at least 4 h before `ship_by`
///   (the platform's rules); `until` = the expected date + 1 day (or `ship_by` + 3 days when
///   unknown).
/// - `PartialShipment`: when some lines are available.
/// - `MessageBuyer`: always, with the expected date when known.
pub fn stockout_remedies(facts: &StockoutFacts) -> Vec<Remedy> {
    let _ = facts;
    todo!()
}
