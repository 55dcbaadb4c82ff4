//! Parcel tracking (物流跟踪): the one state set every carrier's and aggregator's codes map onto,
//! and the rules that make a parcel's timeline and state independent of the order, the
//! repetition and the lateness of the pushes that report it.
//!
//! A trace is a set of events. Each event is identified by its time and its text (carriers resend
//! the whole trace with every push), so merging pushes is a set union; the parcel's state is the
//! state of its latest event, ties broken by [`TrackState::rank`]. Both are functions of the set,
//! not of the arrival order.

use crate::OrderEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a parcel is, as fahuo tells the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TrackState {
    /// 待揽收: the number exists and may be known to the carrier, nobody has scanned the parcel.
    AwaitingPickup,
    /// 已揽收
    PickedUp,
    /// 运输中
    InTransit,
    /// 派送中 (including waiting in a locker or a station)
    OutForDelivery,
    /// 已签收 (by the buyer, a proxy, a locker or a station)
    Delivered,
    /// 疑难: the carrier reports a problem (no information, timeout, delivery failed, ...).
    Problem,
    /// 拒签: the receiver refused it; it will come back.
    Refused,
    /// 退回中: on its way back to the sender.
    Returning,
    /// 退签: back at the sender and signed for there.
    Returned,
}

impl TrackState {
    pub const ALL: [TrackState; 9] = [
        TrackState::AwaitingPickup,
        TrackState::PickedUp,
        TrackState::InTransit,
        TrackState::OutForDelivery,
        TrackState::Delivered,
        TrackState::Problem,
        TrackState::Refused,
        TrackState::Returning,
        TrackState::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrackState::AwaitingPickup => "awaiting_pickup",
            TrackState::PickedUp => "picked_up",
            TrackState::InTransit => "in_transit",
            TrackState::OutForDelivery => "out_for_delivery",
            TrackState::Delivered => "delivered",
            TrackState::Problem => "problem",
            TrackState::Refused => "refused",
            TrackState::Returning => "returning",
            TrackState::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Result<TrackState, crate::ParseError> {
        TrackState::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| crate::ParseError::new("track_state", format!("unknown state {s:?}")))
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            TrackState::AwaitingPickup => "待揽收",
            TrackState::PickedUp => "已揽收",
            TrackState::InTransit => "运输中",
            TrackState::OutForDelivery => "派送中",
            TrackState::Delivered => "已签收",
            TrackState::Problem => "疑难件",
            TrackState::Refused => "拒签",
            TrackState::Returning => "退回中",
            TrackState::Returned => "已退签",
        }
    }

    /// Tracking ends here: the aggregator stops pushing and fahuo stops polling.
    pub fn is_final(self) -> bool {
        matches!(self, TrackState::Delivered | TrackState::Returned)
    }

    /// The carrier has physically had the parcel.
    pub fn is_scanned(self) -> bool {
        self != TrackState::AwaitingPickup
    }

    /// Breaks ties between events reported at the same second: the later stage of a parcel's
    /// life wins (a "signed" and an "out for delivery" line stamped alike mean it was signed).
    pub fn rank(self) -> u8 {
        match self {
            TrackState::AwaitingPickup => 0,
            TrackState::PickedUp => 1,
            TrackState::InTransit => 2,
            TrackState::OutForDelivery => 3,
            TrackState::Problem => 4,
            TrackState::Delivered => 5,
            TrackState::Refused => 6,
            TrackState::Returning => 7,
            TrackState::Returned => 8,
        }
    }
}

/// The finer detail both aggregators report beside the main state (kuaidi100 `resultv2`
/// sub-states, kdniao `StateEx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubState {
    /// 已下单 (kuaidi100 101)
    Ordered,
    /// 待揽收 (kuaidi100 102, kdniao 10)
    WaitingForCourier,
    /// 已揽收 (kuaidi100 103)
    Collected,
    /// 到达派件城市 (kuaidi100 1001, kdniao 201)
    ArrivedDestinationCity,
    /// 干线 (kuaidi100 1002)
    Trunk,
    /// 转递 (kuaidi100 1003)
    Forwarded,
    /// 派件中 (kdniao 202)
    Delivering,
    /// 投柜或驿站 (kuaidi100 501, kdniao 211)
    InLockerOrStation,
    /// 本人签收 (kuaidi100 301, kdniao 301)
    SignedByReceiver,
    /// 派件异常后签收 (kuaidi100 302, kdniao 302)
    SignedAfterProblem,
    /// 代签 / 代收 (kuaidi100 303, kdniao 304)
    SignedByProxy,
    /// 投柜或站签收 (kuaidi100 304, kdniao 311)
    SignedAtLockerOrStation,
    /// 已销单 (kuaidi100 401)
    Cancelled,
    /// 发货无信息 (kdniao 401)
    NoInformation,
    /// 超时未签收 (kdniao 402)
    NotSignedInTime,
    /// 超时未更新 (kdniao 403)
    NoUpdateInTime,
    /// 拒收 (kdniao 404, kuaidi100 main state 14)
    RefusedByReceiver,
    /// 派件异常 (kdniao 405)
    DeliveryFailed,
    /// 退货签收 (kdniao 406)
    ReturnSigned,
    /// 退货未签收 (kdniao 407)
    ReturnNotSigned,
    /// 快递柜或驿站超时未取 (kdniao 412)
    LockerNotCollected,
    /// 转投: handed to another carrier (kuaidi100 7)
    HandedToAnotherCarrier,
    /// 清关 (kuaidi100 8, 10–13)
    Customs,
}

impl SubState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubState::Ordered => "ordered",
            SubState::WaitingForCourier => "waiting_for_courier",
            SubState::Collected => "collected",
            SubState::ArrivedDestinationCity => "arrived_destination_city",
            SubState::Trunk => "trunk",
            SubState::Forwarded => "forwarded",
            SubState::Delivering => "delivering",
            SubState::InLockerOrStation => "in_locker_or_station",
            SubState::SignedByReceiver => "signed_by_receiver",
            SubState::SignedAfterProblem => "signed_after_problem",
            SubState::SignedByProxy => "signed_by_proxy",
            SubState::SignedAtLockerOrStation => "signed_at_locker_or_station",
            SubState::Cancelled => "cancelled",
            SubState::NoInformation => "no_information",
            SubState::NotSignedInTime => "not_signed_in_time",
            SubState::NoUpdateInTime => "no_update_in_time",
            SubState::RefusedByReceiver => "refused_by_receiver",
            SubState::DeliveryFailed => "delivery_failed",
            SubState::ReturnSigned => "return_signed",
            SubState::ReturnNotSigned => "return_not_signed",
            SubState::LockerNotCollected => "locker_not_collected",
            SubState::HandedToAnotherCarrier => "handed_to_another_carrier",
            SubState::Customs => "customs",
        }
    }

    pub fn parse(s: &str) -> Result<SubState, crate::ParseError> {
        use SubState::*;
        [
            Ordered,
            WaitingForCourier,
            Collected,
            ArrivedDestinationCity,
            Trunk,
            Forwarded,
            Delivering,
            InLockerOrStation,
            SignedByReceiver,
            SignedAfterProblem,
            SignedByProxy,
            SignedAtLockerOrStation,
            Cancelled,
            NoInformation,
            NotSignedInTime,
            NoUpdateInTime,
            RefusedByReceiver,
            DeliveryFailed,
            ReturnSigned,
            ReturnNotSigned,
            LockerNotCollected,
            HandedToAnotherCarrier,
            Customs,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| {
            crate::ParseError::new("track_sub_state", format!("unknown sub-state {s:?}"))
        })
    }
}

/// One line of a parcel's trace, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackEvent {
    pub at: DateTime<Utc>,
    pub state: TrackState,
    pub sub_state: Option<SubState>,
    /// The carrier's own words ("【杭州市】快件已到达 杭州转运中心").
    pub text: String,
    /// Where it happened, when the carrier says.
    pub location: Option<String>,
}

impl TrackEvent {
    /// Identifies the event across pushes: its second and its text with spacing normalised.
    /// A stable 64-bit FNV-1a digest in hex, so that it can be a database key on any backend.
    pub fn key(&self) -> String {
        let text: String = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self
            .at
            .timestamp()
            .to_be_bytes()
            .iter()
            .chain(text.as_bytes())
        {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// The order in a timeline: by time, then by stage, then by key (so equal times still sort
    /// the same way on every node).
    fn sort_key(&self) -> (DateTime<Utc>, u8, String) {
        (self.at, self.state.rank(), self.key())
    }
}

/// A parcel's timeline: its events deduplicated and sorted oldest first.
pub fn timeline(events: impl IntoIterator<Item = TrackEvent>) -> Vec<TrackEvent> {
    let mut by_key = std::collections::BTreeMap::new();
    for e in events {
        by_key.entry(e.key()).or_insert(e);
    }
    let mut all: Vec<TrackEvent> = by_key.into_values().collect();
    all.sort_by_key(TrackEvent::sort_key);
    all
}

/// The parcel's current state: that of its latest event (None before the first event).
pub fn current(events: &[TrackEvent]) -> Option<&TrackEvent> {
    events.iter().max_by_key(|e| e.sort_key())
}

/// What the parcels of one order mean for the order's own state, if anything.
///
/// The order is delivered when every parcel is final and at least one was delivered, returned
/// when every parcel came back, and in transit as soon as any parcel was scanned.
pub fn order_event(parcels: &[Option<TrackState>]) -> Option<OrderEvent> {
    if parcels.is_empty() {
        return None;
    }
    let states: Vec<TrackState> = parcels.iter().flatten().copied().collect();
    if states.len() == parcels.len() && states.iter().all(|s| s.is_final()) {
        return Some(if states.contains(&TrackState::Delivered) {
            OrderEvent::Deliver
        } else {
            OrderEvent::Return
        });
    }
    states
        .iter()
        .any(|s| s.is_scanned())
        .then_some(OrderEvent::Transit)
}

/// The state a line of trace text describes, for aggregators that send lines without codes.
///
/// Checked in order from the most specific words: a "退回" line that also says "签收" is a
/// return signed for, not a delivery.
pub fn classify_text(text: &str) -> Option<(TrackState, Option<SubState>)> {
    use SubState as Sub;
    use TrackState as T;
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let r = if has(&["退回签收", "退件签收", "退货签收", "已退签"]) {
        (T::Returned, Some(Sub::ReturnSigned))
    } else if has(&["拒收", "拒签"]) {
        (T::Refused, Some(Sub::RefusedByReceiver))
    } else if has(&["退回", "退件", "返回寄件"]) {
        (T::Returning, None)
    } else if has(&[
        "异常",
        "疑难",
        "滞留",
        "无法派送",
        "地址不详",
        "破损",
        "遗失",
    ]) {
        (T::Problem, Some(Sub::DeliveryFailed))
    } else if has(&["代签", "代收"]) && has(&["签收"]) {
        (T::Delivered, Some(Sub::SignedByProxy))
    } else if has(&["快递柜", "驿站", "自提点", "丰巢"]) && has(&["签收", "已取"]) {
        (T::Delivered, Some(Sub::SignedAtLockerOrStation))
    } else if has(&["签收"]) {
        (T::Delivered, Some(Sub::SignedByReceiver))
    } else if has(&["快递柜", "驿站", "自提点", "丰巢"]) {
        (T::OutForDelivery, Some(Sub::InLockerOrStation))
    } else if has(&["派件", "派送", "投递"]) {
        (T::OutForDelivery, Some(Sub::Delivering))
    } else if has(&["揽收", "揽件", "已收件", "已收取"]) {
        (T::PickedUp, Some(Sub::Collected))
    } else if has(&["待揽", "已下单", "等待揽"]) {
        (T::AwaitingPickup, Some(Sub::WaitingForCourier))
    } else if has(&[
        "到达", "发往", "离开", "中转", "转运", "运输", "装车", "发出",
    ]) {
        (T::InTransit, None)
    } else {
        return None;
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(min: i64, state: TrackState, text: &str) -> TrackEvent {
        TrackEvent {
            at: Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap()
                + chrono::Duration::minutes(min),
            state,
            sub_state: None,
            text: text.into(),
            location: None,
        }
    }

    fn trace() -> Vec<TrackEvent> {
        vec![
            ev(0, TrackState::PickedUp, "【杭州市】已揽收"),
            ev(300, TrackState::InTransit, "【杭州市】已发往 上海转运中心"),
            ev(900, TrackState::OutForDelivery, "【上海市】派件中"),
            ev(
                1000,
                TrackState::Delivered,
                "【上海市】已签收，签收人：本人",
            ),
        ]
    }

    #[test]
    fn the_same_line_sent_twice_is_one_event_whatever_its_spacing() {
        let mut a = ev(0, TrackState::PickedUp, "【杭州市】 已揽收");
        let b = ev(0, TrackState::PickedUp, "【杭州市】  已揽收 ");
        assert_eq!(a.key(), b.key());
        a.at += chrono::Duration::seconds(1);
        assert_ne!(a.key(), b.key());
    }

    #[test]
    fn timeline_and_state_do_not_depend_on_arrival_order_or_repeats() {
        let t = trace();
        let forward = timeline(t.clone());
        let mut shuffled = t.clone();
        shuffled.reverse();
        shuffled.extend(t.iter().take(2).cloned());
        let backward = timeline(shuffled);
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), 4);
        assert_eq!(current(&backward).unwrap().state, TrackState::Delivered);
    }

    #[test]
    fn a_late_push_with_an_older_trace_does_not_move_the_parcel_back() {
        let full = trace();
        let old = full[..2].to_vec();
        let merged = timeline(full.into_iter().chain(old));
        assert_eq!(current(&merged).unwrap().state, TrackState::Delivered);
    }

    #[test]
    fn at_the_same_second_the_later_stage_wins() {
        let a = ev(5, TrackState::OutForDelivery, "派件中");
        let b = ev(5, TrackState::Delivered, "已签收");
        assert_eq!(
            current(&[b.clone(), a.clone()]).unwrap().state,
            TrackState::Delivered
        );
        assert_eq!(current(&[a, b]).unwrap().state, TrackState::Delivered);
    }

    #[test]
    fn an_order_follows_all_of_its_parcels() {
        use TrackState::*;
        assert_eq!(order_event(&[]), None);
        assert_eq!(order_event(&[None]), None);
        assert_eq!(order_event(&[Some(AwaitingPickup)]), None);
        assert_eq!(
            order_event(&[Some(PickedUp), None]),
            Some(OrderEvent::Transit)
        );
        assert_eq!(
            order_event(&[Some(Delivered), Some(InTransit)]),
            Some(OrderEvent::Transit)
        );
        assert_eq!(
            order_event(&[Some(Delivered), Some(Delivered)]),
            Some(OrderEvent::Deliver)
        );
        assert_eq!(
            order_event(&[Some(Delivered), Some(Returned)]),
            Some(OrderEvent::Deliver)
        );
        assert_eq!(order_event(&[Some(Returned)]), Some(OrderEvent::Return));
    }

    #[test]
    fn trace_text_is_classified_from_the_most_specific_words() {
        let c = |t: &str| classify_text(t).map(|(s, _)| s);
        assert_eq!(c("【上海市】快件已退回签收"), Some(TrackState::Returned));
        assert_eq!(c("收件人拒收，快件将退回"), Some(TrackState::Refused));
        assert_eq!(c("快件已签收，签收人：家门口"), Some(TrackState::Delivered));
        assert_eq!(
            c("快件已放入丰巢快递柜，请凭取件码领取"),
            Some(TrackState::OutForDelivery)
        );
        assert_eq!(c("快件已由菜鸟驿站代收签收"), Some(TrackState::Delivered));
        assert_eq!(c("快递员正在派件"), Some(TrackState::OutForDelivery));
        assert_eq!(c("【杭州市】已揽收"), Some(TrackState::PickedUp));
        assert_eq!(c("快件到达 上海转运中心"), Some(TrackState::InTransit));
        assert_eq!(c("快件滞留，地址不详"), Some(TrackState::Problem));
        assert_eq!(c("hello"), None);
    }

    #[test]
    fn names_round_trip() {
        for s in TrackState::ALL {
            assert_eq!(TrackState::parse(s.as_str()).unwrap(), s);
        }
        assert_eq!(
            SubState::parse("signed_by_proxy").unwrap(),
            SubState::SignedByProxy
        );
        assert!(TrackState::parse("lost").is_err());
    }
}
