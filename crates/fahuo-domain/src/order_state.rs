//! The order lifecycle: fahuo's own state of an order, separate from the platform's status.
//!
//! ```text
//! new → on_hold ⇄ approved → allocated → waybill_issued → printed → packed → shipped
//!     → in_transit → delivered
//! side exits: cancelled, refunded, returned; an exception is a hold, not a state
//! ```
//!
//! [`OrderState::apply`] is the one place that decides whether an event may move an order;
//! it is an exhaustive match, so adding a state or an event forces a decision for every pair.
//! "Label printed" (`printed`) and "platform shipped" (`shipped`) are different states and are
//! never merged.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrderState {
    /// Synced or created, not yet reviewed (待审核).
    New,
    /// Held by at least one hold (异常/挂起).
    OnHold,
    /// Reviewed and cleared (已审核).
    Approved,
    /// Stock reserved in a warehouse (已分仓/预占).
    Allocated,
    /// A waybill number exists for its package(s) (已取号).
    WaybillIssued,
    /// The label was printed (已打单). Not yet told to the platform.
    Printed,
    /// Packed and verified (已验货).
    Packed,
    /// The platform was told the parcel left (已发货).
    Shipped,
    /// The carrier has it (运输中).
    InTransit,
    /// Signed for (已签收).
    Delivered,
    /// Cancelled before shipping (已取消).
    Cancelled,
    /// Money returned; nothing more to ship (已退款).
    Refunded,
    /// The parcel came back (已退回).
    Returned,
}

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OrderEvent {
    /// A review rule fired or a person held it.
    Hold,
    /// Review passed, or a person released the last hold.
    Approve,
    /// Stock reserved in a warehouse.
    Allocate,
    /// The reservation was released for re-allocation (edit, warehouse change).
    Deallocate,
    /// A waybill number was issued.
    IssueWaybill,
    /// The waybill was cancelled/recycled before shipping.
    CancelWaybill,
    /// The label was printed (a reprint is not an event).
    Print,
    /// Pack verification passed.
    Pack,
    /// The platform accepted the write-back (or the order was shipped by hand with a number).
    Ship,
    /// The carrier picked it up or moved it.
    Transit,
    /// Signed for.
    Deliver,
    /// The platform or the merchant cancelled it before shipping.
    Cancel,
    /// The money went back to the buyer.
    Refund,
    /// The parcel was returned to the merchant.
    Return,
}

/// One allowed move, as listed by [`OrderState::transitions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: OrderState,
    pub event: OrderEvent,
    pub to: OrderState,
}

/// The move an event asked for is not in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order in state {from} cannot {event:?}")]
pub struct IllegalTransition {
    pub from: OrderState,
    pub event: OrderEvent,
}

impl OrderState {
    pub const ALL: [OrderState; 13] = [
        OrderState::New,
        OrderState::OnHold,
        OrderState::Approved,
        OrderState::Allocated,
        OrderState::WaybillIssued,
        OrderState::Printed,
        OrderState::Packed,
        OrderState::Shipped,
        OrderState::InTransit,
        OrderState::Delivered,
        OrderState::Cancelled,
        OrderState::Refunded,
        OrderState::Returned,
    ];

    /// The transition table.
    pub fn apply(self, event: OrderEvent) -> Result<OrderState, IllegalTransition> {
        use OrderEvent as E;
        use OrderState as S;
        let before_shipping = self.is_before_shipping();
        let to = match event {
            E::Hold if before_shipping => Some(S::OnHold),
            E::Hold => None,
            E::Approve => matches!(self, S::New | S::OnHold).then_some(S::Approved),
            E::Allocate => (self == S::Approved).then_some(S::Allocated),
            E::Deallocate => (self == S::Allocated).then_some(S::Approved),
            E::IssueWaybill => (self == S::Allocated).then_some(S::WaybillIssued),
            E::CancelWaybill => {
                matches!(self, S::WaybillIssued | S::Printed | S::Packed).then_some(S::Allocated)
            }
            E::Print => (self == S::WaybillIssued).then_some(S::Printed),
            E::Pack => (self == S::Printed).then_some(S::Packed),
            // Shipping needs a cleared order; a number typed by hand or by a dropship
            // supplier may ship an approved order that never had a fahuo label.
            E::Ship => matches!(
                self,
                S::Approved | S::Allocated | S::WaybillIssued | S::Printed | S::Packed
            )
            .then_some(S::Shipped),
            E::Transit => (self == S::Shipped).then_some(S::InTransit),
            E::Deliver => matches!(self, S::Shipped | S::InTransit).then_some(S::Delivered),
            E::Cancel if before_shipping => Some(S::Cancelled),
            E::Cancel => None,
            E::Refund => (before_shipping
                || matches!(self, S::Shipped | S::InTransit | S::Delivered | S::Returned))
            .then_some(S::Refunded),
            E::Return => {
                matches!(self, S::Shipped | S::InTransit | S::Delivered).then_some(S::Returned)
            }
        };
        to.ok_or(IllegalTransition { from: self, event })
    }

    /// States in which the platform has not been told the parcel left.
    pub fn is_before_shipping(self) -> bool {
        matches!(
            self,
            OrderState::New
                | OrderState::OnHold
                | OrderState::Approved
                | OrderState::Allocated
                | OrderState::WaybillIssued
                | OrderState::Printed
                | OrderState::Packed
        )
    }

    /// No event moves an order out of a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderState::Cancelled | OrderState::Refunded)
    }

    /// Every allowed move, enumerated from [`OrderState::apply`].
    pub fn transitions() -> Vec<Transition> {
        let mut all = Vec::new();
        for from in OrderState::ALL {
            for event in OrderEvent::ALL {
                if let Ok(to) = from.apply(event) {
                    all.push(Transition { from, event, to });
                }
            }
        }
        all
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::New => "new",
            OrderState::OnHold => "on_hold",
            OrderState::Approved => "approved",
            OrderState::Allocated => "allocated",
            OrderState::WaybillIssued => "waybill_issued",
            OrderState::Printed => "printed",
            OrderState::Packed => "packed",
            OrderState::Shipped => "shipped",
            OrderState::InTransit => "in_transit",
            OrderState::Delivered => "delivered",
            OrderState::Cancelled => "cancelled",
            OrderState::Refunded => "refunded",
            OrderState::Returned => "returned",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            OrderState::New => "待审核",
            OrderState::OnHold => "异常",
            OrderState::Approved => "已审核",
            OrderState::Allocated => "待取号",
            OrderState::WaybillIssued => "待打单",
            OrderState::Printed => "已打单",
            OrderState::Packed => "已验货",
            OrderState::Shipped => "已发货",
            OrderState::InTransit => "运输中",
            OrderState::Delivered => "已签收",
            OrderState::Cancelled => "已取消",
            OrderState::Refunded => "已退款",
            OrderState::Returned => "已退回",
        }
    }

    pub fn parse(s: &str) -> Result<OrderState, ParseError> {
        OrderState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ParseError::new("state", format!("unknown order state {s:?}")))
    }
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 14] = [
        OrderEvent::Hold,
        OrderEvent::Approve,
        OrderEvent::Allocate,
        OrderEvent::Deallocate,
        OrderEvent::IssueWaybill,
        OrderEvent::CancelWaybill,
        OrderEvent::Print,
        OrderEvent::Pack,
        OrderEvent::Ship,
        OrderEvent::Transit,
        OrderEvent::Deliver,
        OrderEvent::Cancel,
        OrderEvent::Refund,
        OrderEvent::Return,
    ];
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, VecDeque};

    fn reachable_from_new() -> BTreeSet<OrderState> {
        let mut seen = BTreeSet::from([OrderState::New]);
        let mut queue = VecDeque::from([OrderState::New]);
        while let Some(state) = queue.pop_front() {
            for event in OrderEvent::ALL {
                if let Ok(next) = state.apply(event)
                    && seen.insert(next)
                {
                    queue.push_back(next);
                }
            }
        }
        seen
    }

    #[test]
    fn every_state_is_reachable_from_new() {
        assert_eq!(reachable_from_new(), OrderState::ALL.into_iter().collect());
    }

    #[test]
    fn the_happy_path_is_the_documented_one() {
        use OrderEvent::*;
        let mut state = OrderState::New;
        for event in [
            Approve,
            Allocate,
            IssueWaybill,
            Print,
            Pack,
            Ship,
            Transit,
            Deliver,
        ] {
            state = state.apply(event).unwrap();
        }
        assert_eq!(state, OrderState::Delivered);
    }

    #[test]
    fn printing_a_label_is_not_shipping() {
        assert_eq!(
            OrderState::WaybillIssued.apply(OrderEvent::Print),
            Ok(OrderState::Printed)
        );
        assert!(
            !OrderState::Printed
                .apply(OrderEvent::Print)
                .is_ok_and(|s| s == OrderState::Shipped)
        );
        assert!(OrderState::Printed.is_before_shipping());
    }

    #[test]
    fn a_shipped_order_can_no_longer_be_cancelled_or_held() {
        for state in [
            OrderState::Shipped,
            OrderState::InTransit,
            OrderState::Delivered,
        ] {
            assert!(state.apply(OrderEvent::Cancel).is_err());
            assert!(state.apply(OrderEvent::Hold).is_err());
        }
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        for t in OrderState::transitions() {
            assert!(!t.from.is_terminal(), "{t:?} leaves a terminal state");
        }
    }

    #[test]
    fn names_round_trip() {
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.as_str()), Ok(state));
        }
    }

    fn any_event() -> impl Strategy<Value = OrderEvent> {
        proptest::sample::select(OrderEvent::ALL.to_vec())
    }

    proptest! {
        /// Whatever events arrive, in whatever order, an order only ever moves along the table,
        /// refused events leave it where it was, and it never un-ships.
        #[test]
        fn random_event_streams_only_follow_the_table(events in proptest::collection::vec(any_event(), 0..60)) {
            let table = OrderState::transitions();
            let mut state = OrderState::New;
            let mut shipped = false;
            for event in events {
                match state.apply(event) {
                    Ok(next) => {
                        let step = Transition { from: state, event, to: next };
                        prop_assert!(table.contains(&step), "{:?} is not in the table", step);
                        state = next;
                    }
                    Err(e) => {
                        prop_assert_eq!(e.from, state);
                        prop_assert!(!table.iter().any(|t| t.from == state && t.event == event));
                    }
                }
                if !state.is_before_shipping() {
                    shipped = true;
                }
                if shipped {
                    prop_assert!(!state.is_before_shipping(), "an order that left never comes back to the shelf");
                }
            }
        }
    }
}
