//! Exception radar (异常雷达): the rules that say a parcel or an order needs a person before the
//! buyer complains, how urgent it is, and what the merchant can do about it.
//!
//! Pure: the store gathers [`ParcelFacts`] / [`OrderFacts`], the app stores the alerts these
//! rules return and clears the ones they no longer return. Every rule is a function of the
//! facts and `now` only, so an alert appears and clears by itself as time passes or facts change.
//!
//! Summaries and drafts name only the carrier, the tracking number and times in China time:
//! the facts carry no receiver data, so no alert can show or send it.
//!
//! Urgency (higher first): severity × 1000 + the whole hours since the alert's `since`, at most 999.
//! Severity by kind: an overdue ship-by deadline 7 (the platform is already counting against
//! the shop); signed-not-received and refused 6 (a buyer is waiting for an answer, or goods are
//! coming back); a deadline at risk but not yet missed 5; a problem parcel 4; not picked up and
//! stale 3; returning 1 (refund when it arrives). Capping the age below 1000 keeps the kinds'
//! order fixed; within a severity the older alert comes first.

use crate::deadline::{self, DeadlineSettings};
use crate::notice::time_zh;
use crate::tracking::{SubState, TrackState};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Thresholds outside these bounds are refused by [`RadarSettings::validate`] (1 hour to 30 days).
const MIN_HOURS: i64 = 1;
const MAX_HOURS: i64 = 720;

/// A parcel whose trace has not moved for this long is presumed lost: a claim is offered.
const LOST_AFTER: Duration = Duration::days(7);

/// One step of severity in the urgency, larger than any age it adds (see the module docs).
const SEVERITY_STEP: i64 = 1000;
const MAX_AGE_HOURS: i64 = SEVERITY_STEP - 1;

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
        for (field, hours) in [
            ("pickup_hours", self.pickup_hours),
            ("stale_hours", self.stale_hours),
            ("deadline_risk_hours", self.deadline_risk_hours),
        ] {
            if !(MIN_HOURS..=MAX_HOURS).contains(&hours) {
                return Err(crate::ParseError::new(
                    field,
                    format!("{hours} is not between {MIN_HOURS} and {MAX_HOURS} hours"),
                ));
            }
        }
        Ok(self)
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
    pub const ALL: [AlertKind; 7] = [
        AlertKind::NotPickedUp,
        AlertKind::Stale,
        AlertKind::Problem,
        AlertKind::Refused,
        AlertKind::Returning,
        AlertKind::SignedNotReceived,
        AlertKind::DeadlineAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NotPickedUp => "not_picked_up",
            AlertKind::Stale => "stale",
            AlertKind::Problem => "problem",
            AlertKind::Refused => "refused",
            AlertKind::Returning => "returning",
            AlertKind::SignedNotReceived => "signed_not_received",
            AlertKind::DeadlineAtRisk => "deadline_at_risk",
        }
    }

    pub fn parse(s: &str) -> Result<AlertKind, crate::ParseError> {
        AlertKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                crate::ParseError::new("alert_kind", format!("unknown alert kind {s:?}"))
            })
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AlertKind::NotPickedUp => "超时未揽收",
            AlertKind::Stale => "物流停滞",
            AlertKind::Problem => "疑难件",
            AlertKind::Refused => "拒签",
            AlertKind::Returning => "退回中",
            AlertKind::SignedNotReceived => "已签收但买家称未收到",
            AlertKind::DeadlineAtRisk => "发货超时风险",
        }
    }

    /// [`AlertKind::label_zh`] on English pages.
    pub fn label_en(self) -> &'static str {
        match self {
            AlertKind::NotPickedUp => "Not picked up",
            AlertKind::Stale => "Stalled",
            AlertKind::Problem => "Problem parcel",
            AlertKind::Refused => "Refused",
            AlertKind::Returning => "Returning",
            AlertKind::SignedNotReceived => "Signed for, buyer says not received",
            AlertKind::DeadlineAtRisk => "Ship-by at risk",
        }
    }

    /// The fixed part of the urgency (see the module docs); `overdue` only matters for the
    /// ship-by deadline.
    fn severity(self, overdue: bool) -> i64 {
        match self {
            AlertKind::DeadlineAtRisk if overdue => 7,
            AlertKind::SignedNotReceived | AlertKind::Refused => 6,
            AlertKind::DeadlineAtRisk => 5,
            AlertKind::Problem => 4,
            AlertKind::NotPickedUp | AlertKind::Stale => 3,
            AlertKind::Returning => 1,
        }
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

/// The alerts that hold for a parcel at `now`, most urgent first. The rules look at different
/// states, so a parcel has at most one alert at a time:
///
/// - [`AlertKind::NotPickedUp`]: printed, no scan yet (no state, or awaiting pickup), and
///   `pickup_hours` have passed since printing; since = printed + `pickup_hours`.
/// - [`AlertKind::Stale`]: picked up, in transit or out for delivery, and the last event is
///   `stale_hours` old; since = last event + `stale_hours`. A problem, refused or returning
///   parcel has its own alert instead, and a delivered or returned one is no longer tracked.
/// - [`AlertKind::Problem`], [`AlertKind::Refused`], [`AlertKind::Returning`]: the state says
///   so; since = the last event.
/// - [`AlertKind::SignedNotReceived`]: delivered, and the buyer says it never arrived; since =
///   the last event (the signing).
///
/// Thresholds outside 1..=720 hours (settings not validated) are clamped into it.
pub fn parcel_alerts(
    facts: &ParcelFacts,
    settings: &RadarSettings,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    let rules = [
        not_picked_up(facts, settings, now),
        stale(facts, settings, now),
        problem(facts, now),
        refused(facts, now),
        returning(facts, now),
        signed_not_received(facts, now),
    ];
    let mut alerts: Vec<Alert> = rules.into_iter().flatten().collect();
    sort_queue(&mut alerts);
    alerts
}

/// The alerts that hold for an unshipped order at `now` (the ship-by deadline).
///
/// [`AlertKind::DeadlineAtRisk`]: not shipped, not cancelled, and `now` is within
/// `deadline_risk_hours` of `ship_by` or past it; since = `ship_by` − `deadline_risk_hours`.
pub fn order_alerts(
    facts: &OrderFacts,
    settings: &RadarSettings,
    now: DateTime<Utc>,
) -> Vec<Alert> {
    let Some(ship_by) = facts.ship_by else {
        return Vec::new();
    };
    if facts.shipped || facts.cancelled {
        return Vec::new();
    }
    let Some(since) = ship_by.checked_sub_signed(threshold(settings.deadline_risk_hours)) else {
        return Vec::new();
    };
    if now < since {
        return Vec::new();
    }
    // Only the label is used: the thresholds decide nothing here.
    let countdown = deadline::countdown(
        ship_by,
        now,
        &DeadlineSettings {
            alert_hours: vec![],
        },
    );
    let summary = format!("发货截止 {}，{}", time_zh(ship_by), countdown.label_zh);
    let draft = "亲，非常抱歉，您的订单需要稍晚一些发货，我们正在加紧处理，发出后会第一时间告诉您物流单号。给您带来不便，敬请谅解！".to_string();
    vec![alert(
        AlertKind::DeadlineAtRisk,
        since,
        now,
        countdown.overdue,
        summary,
        vec![
            SuggestedAction::MessageBuyer { draft },
            SuggestedAction::Refund,
        ],
    )]
}

/// Orders a queue of alerts (of any parcels and orders): most urgent first, then the oldest,
/// then by kind, so equal alerts sort the same way every time.
pub fn sort_queue(alerts: &mut [Alert]) {
    alerts.sort_by(queue_order);
}

/// The order of [`sort_queue`], for merging queues.
pub fn queue_order(a: &Alert, b: &Alert) -> Ordering {
    b.urgency
        .cmp(&a.urgency)
        .then(a.since.cmp(&b.since))
        .then(a.kind.cmp(&b.kind))
        .then_with(|| a.summary.cmp(&b.summary))
}

fn threshold(hours: i64) -> Duration {
    Duration::hours(hours.clamp(MIN_HOURS, MAX_HOURS))
}

/// An alert with its urgency. `since` is never later than `now` (a carrier's clock can run
/// ahead), so an alert's age is never negative.
fn alert(
    kind: AlertKind,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    overdue: bool,
    summary: String,
    actions: Vec<SuggestedAction>,
) -> Alert {
    let since = since.min(now);
    let age = (now - since).num_hours().clamp(0, MAX_AGE_HOURS);
    Alert {
        kind,
        since,
        urgency: kind.severity(overdue) * SEVERITY_STEP + age,
        summary,
        actions,
    }
}

/// "中通 75123456789012", as staff and buyers know the parcel.
fn parcel_name(f: &ParcelFacts) -> String {
    let carrier = f.carrier_name.trim();
    let number = f.tracking_no.trim();
    if carrier.is_empty() {
        number.to_string()
    } else {
        format!("{carrier} {number}")
    }
}

/// The latest thing known to have happened to a scanned parcel.
fn last_seen(f: &ParcelFacts) -> Option<DateTime<Utc>> {
    f.last_event_at
        .or(f.first_scan_at)
        .or(f.shipped_at)
        .or(f.printed_at)
}

/// "，最后更新 11月2日 00:30" or nothing when unknown.
fn last_update_zh(f: &ParcelFacts) -> String {
    f.last_event_at
        .map(|at| format!("，最后更新 {}", time_zh(at)))
        .unwrap_or_default()
}

fn message(draft: String) -> SuggestedAction {
    SuggestedAction::MessageBuyer { draft }
}

fn not_picked_up(f: &ParcelFacts, s: &RadarSettings, now: DateTime<Utc>) -> Option<Alert> {
    if !matches!(f.state, None | Some(TrackState::AwaitingPickup)) {
        return None;
    }
    let printed = f.printed_at?;
    let since = printed.checked_add_signed(threshold(s.pickup_hours))?;
    if now < since {
        return None;
    }
    let name = parcel_name(f);
    let summary = format!(
        "打印后 {} 小时未揽收（{name}）",
        (now - printed).num_hours()
    );
    let draft = format!(
        "亲，非常抱歉，您的包裹（{name}）快递公司还没有揽收，我们已经在催促快递尽快上门取件发出，有进展会第一时间告诉您。给您带来不便，敬请谅解！"
    );
    // Not lost yet: the parcel is still in the shop, so reshipping or claiming makes no sense.
    Some(alert(
        AlertKind::NotPickedUp,
        since,
        now,
        false,
        summary,
        vec![SuggestedAction::ContactCarrier, message(draft)],
    ))
}

fn stale(f: &ParcelFacts, s: &RadarSettings, now: DateTime<Utc>) -> Option<Alert> {
    let state = f.state?;
    let moving = matches!(
        state,
        TrackState::PickedUp | TrackState::InTransit | TrackState::OutForDelivery
    );
    if !moving {
        return None;
    }
    let last = last_seen(f)?;
    let since = last.checked_add_signed(threshold(s.stale_hours))?;
    if now < since {
        return None;
    }
    let name = parcel_name(f);
    let silent = now - last;
    let summary = format!(
        "物流 {} 小时未更新（{name}{}）",
        silent.num_hours(),
        last_update_zh(f)
    );
    let draft = format!(
        "亲，您的包裹（{name}）物流信息已有一段时间没有更新，我们已经联系快递公司核实，有进展会第一时间告诉您。给您带来不便，敬请谅解！"
    );
    let mut actions = vec![SuggestedAction::ContactCarrier];
    if silent >= LOST_AFTER {
        actions.push(SuggestedAction::Claim);
    }
    actions.push(SuggestedAction::Reship);
    actions.push(message(draft));
    Some(alert(AlertKind::Stale, since, now, false, summary, actions))
}

fn problem(f: &ParcelFacts, now: DateTime<Utc>) -> Option<Alert> {
    if f.state != Some(TrackState::Problem) {
        return None;
    }
    let since = last_seen(f).unwrap_or(now);
    let name = parcel_name(f);
    let detail = f
        .sub_state
        .and_then(problem_zh)
        .map(|d| format!("：{d}"))
        .unwrap_or_default();
    let summary = format!("疑难件{detail}（{name}{}）", last_update_zh(f));
    let draft = format!(
        "亲，您的包裹（{name}）在派送中遇到问题，快递公司反馈异常。麻烦您核对一下收货地址和联系电话是否准确，如需修改请告诉我们，我们会马上联系快递处理。"
    );
    Some(alert(
        AlertKind::Problem,
        since,
        now,
        false,
        summary,
        vec![
            SuggestedAction::ContactCarrier,
            SuggestedAction::Intercept,
            SuggestedAction::Reship,
            message(draft),
        ],
    ))
}

/// What the carrier says is wrong, for the problem sub-states that tell more than "疑难".
fn problem_zh(sub: SubState) -> Option<&'static str> {
    Some(match sub {
        SubState::NoInformation => "发货无信息",
        SubState::NotSignedInTime => "超时未签收",
        SubState::NoUpdateInTime => "超时未更新",
        SubState::DeliveryFailed => "派件异常",
        SubState::LockerNotCollected => "快递柜或驿站超时未取",
        _ => return None,
    })
}

fn refused(f: &ParcelFacts, now: DateTime<Utc>) -> Option<Alert> {
    if f.state != Some(TrackState::Refused) {
        return None;
    }
    let since = last_seen(f).unwrap_or(now);
    let name = parcel_name(f);
    let summary = format!("买家拒签（{name}{}）", last_update_zh(f));
    let draft = format!(
        "亲，物流显示您的包裹（{name}）被拒收了，请问是商品或配送上遇到了什么问题吗？需要重新发货还是退款，告诉我们后会尽快为您处理。"
    );
    // No interception: a refused parcel is already on its way back.
    Some(alert(
        AlertKind::Refused,
        since,
        now,
        false,
        summary,
        vec![SuggestedAction::Refund, message(draft)],
    ))
}

fn returning(f: &ParcelFacts, now: DateTime<Utc>) -> Option<Alert> {
    if f.state != Some(TrackState::Returning) {
        return None;
    }
    let since = last_seen(f).unwrap_or(now);
    let name = parcel_name(f);
    let summary = format!("包裹退回中（{name}{}）", last_update_zh(f));
    let draft = format!(
        "亲，您的包裹（{name}）正在退回途中，请问需要为您退款还是重新发货？告诉我们后会尽快为您处理。"
    );
    Some(alert(
        AlertKind::Returning,
        since,
        now,
        false,
        summary,
        vec![SuggestedAction::Refund, message(draft)],
    ))
}

fn signed_not_received(f: &ParcelFacts, now: DateTime<Utc>) -> Option<Alert> {
    if f.state != Some(TrackState::Delivered) || !f.buyer_disputes_delivery {
        return None;
    }
    let since = last_seen(f).unwrap_or(now);
    let name = parcel_name(f);
    // Who signed, as the carrier's category; never the name the courier wrote down.
    let how = match f.sub_state {
        Some(SubState::SignedByReceiver) => "由本人签收",
        Some(SubState::SignedByProxy) => "由他人代收",
        Some(SubState::SignedAtLockerOrStation) => "投放快递柜或驿站签收",
        _ => "签收",
    };
    let when = f
        .last_event_at
        .map(|at| format!("已于{}", time_zh(at)))
        .unwrap_or_else(|| "已".to_string());
    let summary = format!("已签收但买家称未收到（{name}{}）", last_update_zh(f));
    let draft = format!(
        "亲，物流显示您的包裹（{name}）{when}{how}。麻烦您先问问家人、同事或门卫，并看看附近的快递柜和驿站；如果仍然找不到，请告诉我们，我们会马上联系快递公司核实处理。"
    );
    Some(alert(
        AlertKind::SignedNotReceived,
        since,
        now,
        false,
        summary,
        vec![
            SuggestedAction::ContactCarrier,
            SuggestedAction::Claim,
            SuggestedAction::Reship,
            SuggestedAction::Refund,
            message(draft),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const CARRIER: &str = "中通";
    const NUMBER: &str = "75123456789012";

    /// 2026-11-01 08:00 UTC, 16:00 in China.
    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap()
    }

    fn h(hours: i64) -> Duration {
        Duration::hours(hours)
    }

    fn sec(seconds: i64) -> Duration {
        Duration::seconds(seconds)
    }

    /// Printed at t0, nothing else known yet.
    fn printed() -> ParcelFacts {
        ParcelFacts {
            carrier_name: CARRIER.into(),
            tracking_no: NUMBER.into(),
            printed_at: Some(t0()),
            shipped_at: Some(t0()),
            state: None,
            sub_state: None,
            first_scan_at: None,
            last_event_at: None,
            buyer_disputes_delivery: false,
        }
    }

    /// Picked up at t0 + 2 h, latest event `state` at `last`.
    fn scanned(state: TrackState, last: DateTime<Utc>) -> ParcelFacts {
        ParcelFacts {
            state: Some(state),
            first_scan_at: Some(t0() + h(2)),
            last_event_at: Some(last),
            ..printed()
        }
    }

    fn kinds(f: &ParcelFacts, now: DateTime<Utc>) -> Vec<AlertKind> {
        parcel_alerts(f, &RadarSettings::default(), now)
            .into_iter()
            .map(|a| a.kind)
            .collect()
    }

    fn only(f: &ParcelFacts, now: DateTime<Utc>) -> Alert {
        let mut alerts = parcel_alerts(f, &RadarSettings::default(), now);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        alerts.remove(0)
    }

    fn draft(a: &Alert) -> &str {
        a.actions
            .iter()
            .find_map(|x| match x {
                SuggestedAction::MessageBuyer { draft } => Some(draft.as_str()),
                _ => None,
            })
            .expect("every alert drafts a message")
    }

    /// The actions without the draft's text, for comparing lists.
    fn action_names(a: &Alert) -> Vec<&'static str> {
        a.actions
            .iter()
            .map(|x| match x {
                SuggestedAction::Intercept => "intercept",
                SuggestedAction::Reship => "reship",
                SuggestedAction::Refund => "refund",
                SuggestedAction::ContactCarrier => "contact_carrier",
                SuggestedAction::Claim => "claim",
                SuggestedAction::MessageBuyer { .. } => "message_buyer",
            })
            .collect()
    }

    #[test]
    fn not_picked_up_appears_at_the_threshold_and_clears_with_the_pickup_scan() {
        let f = printed();
        let threshold = t0() + h(24);
        assert!(kinds(&f, threshold - sec(1)).is_empty(), "a second before");
        let a = only(&f, threshold);
        assert_eq!(a.kind, AlertKind::NotPickedUp);
        assert_eq!(a.since, threshold);
        assert_eq!(
            a.summary,
            format!("打印后 24 小时未揽收（{CARRIER} {NUMBER}）")
        );
        assert_eq!(action_names(&a), ["contact_carrier", "message_buyer"]);
        assert!(draft(&a).contains("抱歉"));
        assert_eq!(
            only(&f, t0() + h(30)).summary,
            format!("打印后 30 小时未揽收（{CARRIER} {NUMBER}）")
        );

        // An "awaiting pickup" event (the number is known to the carrier) is not a scan.
        let waiting = ParcelFacts {
            state: Some(TrackState::AwaitingPickup),
            last_event_at: Some(t0() + h(1)),
            ..printed()
        };
        assert_eq!(kinds(&waiting, threshold), [AlertKind::NotPickedUp]);

        // The pickup scan arrives at 30 h: the alert clears and the fresh trace is not stale.
        let picked = ParcelFacts {
            first_scan_at: Some(t0() + h(30)),
            ..scanned(TrackState::PickedUp, t0() + h(30))
        };
        assert!(kinds(&picked, t0() + h(30)).is_empty());

        // A merchant's own threshold; no label printed yet means no alert at all.
        let fast = RadarSettings {
            pickup_hours: 4,
            ..Default::default()
        };
        assert!(parcel_alerts(&f, &fast, t0() + h(4) - sec(1)).is_empty());
        assert_eq!(parcel_alerts(&f, &fast, t0() + h(4)).len(), 1);
        let unprinted = ParcelFacts {
            printed_at: None,
            ..printed()
        };
        assert!(kinds(&unprinted, t0() + h(1000)).is_empty());
    }

    #[test]
    fn stale_appears_when_the_trace_stops_and_clears_when_it_moves() {
        let last = t0() + h(10);
        let f = scanned(TrackState::InTransit, last);
        let threshold = last + h(48);
        assert!(kinds(&f, threshold - sec(1)).is_empty(), "a second before");
        let a = only(&f, threshold);
        assert_eq!(a.kind, AlertKind::Stale);
        assert_eq!(a.since, threshold);
        // 2026-11-01 18:00 UTC is 2 November 02:00 in China.
        assert_eq!(
            a.summary,
            format!("物流 48 小时未更新（{CARRIER} {NUMBER}，最后更新 11月2日 02:00）")
        );
        assert_eq!(
            action_names(&a),
            ["contact_carrier", "reship", "message_buyer"]
        );

        // Silent for a week: presumed lost, a claim is offered (not a second before).
        assert!(!action_names(&only(&f, last + Duration::days(7) - sec(1))).contains(&"claim"));
        assert_eq!(
            action_names(&only(&f, last + Duration::days(7))),
            ["contact_carrier", "claim", "reship", "message_buyer"]
        );

        // The trace moves at 50 h: cleared, and it comes back 48 h after the new event.
        let moved = scanned(TrackState::OutForDelivery, last + h(50));
        assert!(kinds(&moved, last + h(51)).is_empty());
        assert_eq!(kinds(&moved, last + h(98)), [AlertKind::Stale]);

        // Delivered or returned: tracking is over, nothing is stale.
        for state in [TrackState::Delivered, TrackState::Returned] {
            assert!(
                kinds(&scanned(state, last), last + h(500)).is_empty(),
                "{state:?}"
            );
        }
    }

    #[test]
    fn a_problem_parcel_is_flagged_from_the_problem_event_until_the_trace_moves_on() {
        let problem_at = t0() + h(20);
        let before = scanned(TrackState::InTransit, t0() + h(10));
        assert!(kinds(&before, problem_at - sec(1)).is_empty());

        let f = ParcelFacts {
            sub_state: Some(SubState::DeliveryFailed),
            ..scanned(TrackState::Problem, problem_at)
        };
        let a = only(&f, problem_at);
        assert_eq!(a.kind, AlertKind::Problem);
        assert_eq!(a.since, problem_at);
        assert!(
            a.summary
                .starts_with("疑难件：派件异常（中通 75123456789012"),
            "{}",
            a.summary
        );
        assert_eq!(
            action_names(&a),
            ["contact_carrier", "intercept", "reship", "message_buyer"]
        );
        let d = draft(&a);
        assert!(
            d.contains(CARRIER) && d.contains(NUMBER) && d.contains("地址"),
            "{d}"
        );
        // Its own alert, not also a stale one, however long it lasts.
        assert_eq!(kinds(&f, problem_at + h(200)), [AlertKind::Problem]);

        let redelivered = scanned(TrackState::OutForDelivery, problem_at + h(5));
        assert!(kinds(&redelivered, problem_at + h(6)).is_empty());
    }

    #[test]
    fn refused_then_returning_then_returned() {
        let refused_at = t0() + h(40);
        let before = scanned(TrackState::OutForDelivery, t0() + h(30));
        assert!(kinds(&before, refused_at - sec(1)).is_empty());

        let f = scanned(TrackState::Refused, refused_at);
        let a = only(&f, refused_at);
        assert_eq!(a.kind, AlertKind::Refused);
        assert_eq!(a.since, refused_at);
        assert_eq!(
            action_names(&a),
            ["refund", "message_buyer"],
            "no interception"
        );
        assert!(draft(&a).contains("什么问题"), "asks why");

        let back_at = refused_at + h(12);
        let returning = scanned(TrackState::Returning, back_at);
        let a = only(&returning, back_at);
        assert_eq!(a.kind, AlertKind::Returning);
        assert_eq!(a.since, back_at);
        assert_eq!(action_names(&a), ["refund", "message_buyer"]);
        // Not stale either, however long the way back takes.
        assert_eq!(kinds(&returning, back_at + h(100)), [AlertKind::Returning]);

        let returned = scanned(TrackState::Returned, back_at + h(72));
        assert!(kinds(&returned, back_at + h(73)).is_empty());
    }

    #[test]
    fn signed_not_received_holds_while_the_buyer_disputes_the_delivery() {
        // Signed at 2026-11-01 16:30 UTC: 2 November 00:30 in China.
        let signed_at = Utc.with_ymd_and_hms(2026, 11, 1, 16, 30, 0).unwrap();
        let delivered = ParcelFacts {
            sub_state: Some(SubState::SignedByProxy),
            ..scanned(TrackState::Delivered, signed_at)
        };
        let later = signed_at + h(30);
        assert!(kinds(&delivered, later).is_empty(), "undisputed");

        let disputed = ParcelFacts {
            buyer_disputes_delivery: true,
            ..delivered.clone()
        };
        let a = only(&disputed, later);
        assert_eq!(a.kind, AlertKind::SignedNotReceived);
        assert_eq!(a.since, signed_at);
        assert_eq!(
            action_names(&a),
            [
                "contact_carrier",
                "claim",
                "reship",
                "refund",
                "message_buyer"
            ]
        );
        let d = draft(&a);
        assert!(d.contains("已于11月2日 00:30由他人代收"), "{d}");
        assert!(d.contains("家人") && d.contains("驿站"), "{d}");

        // The buyer found it (the dispute is withdrawn): cleared.
        assert!(kinds(&delivered, later + h(1)).is_empty());
    }

    #[test]
    fn deadline_at_risk_appears_before_the_deadline_and_clears_when_shipped() {
        let ship_by = t0() + h(10);
        let order = OrderFacts {
            ship_by: Some(ship_by),
            shipped: false,
            cancelled: false,
        };
        let s = RadarSettings::default();
        let threshold = ship_by - h(6);
        assert!(order_alerts(&order, &s, threshold - sec(1)).is_empty());

        let at_risk = order_alerts(&order, &s, threshold);
        assert_eq!(at_risk.len(), 1);
        let a = &at_risk[0];
        assert_eq!(a.kind, AlertKind::DeadlineAtRisk);
        assert_eq!(a.since, threshold);
        // Deadline 2026-11-01 18:00 UTC: 2 November 02:00 in China.
        assert_eq!(a.summary, "发货截止 11月2日 02:00，剩余 6小时");
        assert_eq!(action_names(a), ["message_buyer", "refund"]);
        assert!(draft(a).contains("稍晚"));

        let late = order_alerts(&order, &s, ship_by + h(1) + Duration::minutes(5));
        assert_eq!(late[0].summary, "发货截止 11月2日 02:00，已超时 1小时5分");
        assert!(late[0].urgency > a.urgency);

        for done in [
            OrderFacts {
                shipped: true,
                ..order.clone()
            },
            OrderFacts {
                cancelled: true,
                ..order.clone()
            },
            OrderFacts {
                ship_by: None,
                ..order.clone()
            },
        ] {
            assert!(
                order_alerts(&done, &s, ship_by + h(5)).is_empty(),
                "{done:?}"
            );
        }
    }

    #[test]
    fn the_queue_puts_the_most_urgent_and_then_the_oldest_first() {
        let s = RadarSettings::default();
        let now = t0() + h(300);
        let order = |ship_by| OrderFacts {
            ship_by: Some(ship_by),
            shipped: false,
            cancelled: false,
        };
        let mut queue = Vec::new();
        queue.extend(parcel_alerts(
            &scanned(TrackState::Returning, now - h(200)),
            &s,
            now,
        ));
        queue.extend(parcel_alerts(
            &scanned(TrackState::InTransit, now - h(49)),
            &s,
            now,
        ));
        queue.extend(parcel_alerts(
            &scanned(TrackState::InTransit, now - h(90)),
            &s,
            now,
        ));
        queue.extend(parcel_alerts(
            &scanned(TrackState::Problem, now - h(1)),
            &s,
            now,
        ));
        queue.extend(order_alerts(&order(now + h(2)), &s, now));
        queue.extend(parcel_alerts(
            &scanned(TrackState::Refused, now - h(3)),
            &s,
            now,
        ));
        queue.extend(order_alerts(&order(now - h(1)), &s, now));
        sort_queue(&mut queue);
        let got: Vec<(AlertKind, i64)> = queue.iter().map(|a| (a.kind, a.urgency)).collect();
        assert_eq!(
            got,
            [
                (AlertKind::DeadlineAtRisk, 7007),
                (AlertKind::Refused, 6003),
                (AlertKind::DeadlineAtRisk, 5004),
                (AlertKind::Problem, 4001),
                (AlertKind::Stale, 3042),
                (AlertKind::Stale, 3001),
                (AlertKind::Returning, 1200),
            ]
        );
        // Age is capped, so a month-old returning parcel never outranks a fresh refusal.
        let ancient = parcel_alerts(&scanned(TrackState::Returning, t0()), &s, t0() + h(5000));
        assert_eq!(ancient[0].urgency, 1999);
    }

    #[test]
    fn summaries_and_drafts_name_only_the_carrier_and_the_number() {
        let now = t0() + h(400);
        let mut facts = vec![printed()];
        for state in TrackState::ALL {
            facts.push(ParcelFacts {
                buyer_disputes_delivery: true,
                ..scanned(state, t0() + h(3))
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &facts {
            for a in parcel_alerts(f, &RadarSettings::default(), now) {
                seen.insert(a.kind);
                let d = draft(&a);
                for text in [d, a.summary.as_str()] {
                    assert!(text.contains(NUMBER) && text.contains(CARRIER), "{text}");
                    // Once the parcel's own name is taken out, no run of digits long enough to
                    // be a phone number or an order number is left: only dates, times and hour counts.
                    let rest = text.replace(NUMBER, "");
                    let longest = rest
                        .split(|c: char| !c.is_ascii_digit())
                        .map(str::len)
                        .max()
                        .unwrap_or(0);
                    assert!(longest <= 4, "{text}");
                    assert!(!rest.contains('*'), "no masked data either: {text}");
                }
            }
        }
        assert_eq!(seen.len(), 6, "every parcel rule was checked: {seen:?}");
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(
            RadarSettings::default().validate(),
            Ok(RadarSettings::default())
        );
        let bounds = RadarSettings {
            pickup_hours: 1,
            stale_hours: 720,
            deadline_risk_hours: 6,
        };
        assert!(bounds.clone().validate().is_ok());
        // (name, settings, the field refused)
        let cases = [
            (
                "zero",
                RadarSettings {
                    pickup_hours: 0,
                    ..Default::default()
                },
                "pickup_hours",
            ),
            (
                "over 30 days",
                RadarSettings {
                    stale_hours: 721,
                    ..Default::default()
                },
                "stale_hours",
            ),
            (
                "negative",
                RadarSettings {
                    deadline_risk_hours: -6,
                    ..Default::default()
                },
                "deadline_risk_hours",
            ),
        ];
        for (name, settings, field) in cases {
            let err = settings.validate().unwrap_err();
            assert_eq!(err.field, field, "{name}");
            assert!(
                err.reason.contains("between 1 and 720 hours"),
                "{name}: {err}"
            );
        }
        let partial: RadarSettings = serde_json::from_str(r#"{"stale_hours":72}"#).unwrap();
        assert_eq!(partial.stale_hours, 72);
        assert_eq!(partial.pickup_hours, 24);
        assert!(serde_json::from_str::<RadarSettings>(r#"{"stale":72}"#).is_err());
    }

    #[test]
    fn kind_names_match_serde() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()).unwrap(), k);
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().into())
            );
            assert!(!k.label_zh().is_empty());
        }
        assert!(AlertKind::parse("lost").is_err());
        let json = serde_json::to_value(SuggestedAction::MessageBuyer {
            draft: "亲".into()
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"action": "message_buyer", "draft": "亲"})
        );
    }

    fn any_facts() -> impl Strategy<Value = ParcelFacts> {
        let offset = || proptest::option::of(-100..=2000_i64);
        let state = proptest::option::of(proptest::sample::select(TrackState::ALL.to_vec()));
        let sub = proptest::option::of(proptest::sample::select(vec![
            SubState::SignedByProxy,
            SubState::SignedByReceiver,
            SubState::DeliveryFailed,
            SubState::LockerNotCollected,
            SubState::Trunk,
        ]));
        (
            offset(),
            offset(),
            state,
            sub,
            offset(),
            offset(),
            any::<bool>(),
        )
            .prop_map(
                |(printed, shipped, state, sub_state, first, last, disputes)| {
                    let at = |o: Option<i64>| o.map(|o| t0() + h(o));
                    ParcelFacts {
                        carrier_name: CARRIER.into(),
                        tracking_no: NUMBER.into(),
                        printed_at: at(printed),
                        shipped_at: at(shipped),
                        state,
                        sub_state,
                        first_scan_at: at(first),
                        last_event_at: at(last),
                        buyer_disputes_delivery: disputes,
                    }
                },
            )
    }

    fn any_settings() -> impl Strategy<Value = RadarSettings> {
        // Beyond the valid range too: the rules clamp instead of panicking.
        (-10..=1000_i64, -10..=1000_i64, -10..=1000_i64).prop_map(|(p, s, d)| RadarSettings {
            pickup_hours: p,
            stale_hours: s,
            deadline_risk_hours: d,
        })
    }

    proptest! {
        #[test]
        fn alerts_are_a_function_of_the_facts_and_time(
            facts in any_facts(),
            settings in any_settings(),
            now in 0..=3000_i64,
            ship_by in proptest::option::of(-100..=3000_i64),
            shipped in any::<bool>(),
        ) {
            let now = t0() + h(now);
            let alerts = parcel_alerts(&facts, &settings, now);
            prop_assert_eq!(&alerts, &parcel_alerts(&facts.clone(), &settings.clone(), now));
            prop_assert!(alerts.len() <= 1, "one alert per parcel at most: {:?}", alerts);
            for a in &alerts {
                prop_assert!(a.since <= now);
                prop_assert!(a.urgency >= 1000 && a.urgency < 8000);
            }
            if facts.state == Some(TrackState::Delivered) && !facts.buyer_disputes_delivery {
                prop_assert!(alerts.is_empty());
            }
            let order = OrderFacts { ship_by: ship_by.map(|o| t0() + h(o)), shipped, cancelled: false };
            prop_assert_eq!(order_alerts(&order, &settings, now), order_alerts(&order, &settings, now));
        }
    }
}
