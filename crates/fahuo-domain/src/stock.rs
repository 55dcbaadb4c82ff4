//! Stock per SKU per warehouse and the ledger of every movement (库存流水).
//!
//! The invariant users pay for: `on_hand` equals the sum of the ledger's on-hand deltas,
//! `reserved` the sum of its reserved deltas, and `available = on_hand - reserved` never goes
//! below zero through a reservation or a transfer. The store applies a [`StockMovement`]
//! atomically, and both halves of a [`StockTransfer`] in one transaction.

use crate::{OrderId, ParseError, SkuId, WarehouseId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MovementKind {
    /// 入库: goods arrived.
    Inbound,
    /// 预占: set aside for an approved order.
    Reserve,
    /// 释放: a reservation was given back (cancel, refund, edit).
    Release,
    /// 出库扣减: the reserved goods left with the parcel.
    Deduct,
    /// 退货入库: a return came back to the shelf.
    Return,
    /// 盘点调整: a count corrected the number (may be negative).
    Adjust,
    /// 调拨出/入: moved between warehouses.
    TransferOut,
    TransferIn,
}

impl MovementKind {
    pub const ALL: [MovementKind; 8] = [
        MovementKind::Inbound,
        MovementKind::Reserve,
        MovementKind::Release,
        MovementKind::Deduct,
        MovementKind::Return,
        MovementKind::Adjust,
        MovementKind::TransferOut,
        MovementKind::TransferIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Inbound => "inbound",
            MovementKind::Reserve => "reserve",
            MovementKind::Release => "release",
            MovementKind::Deduct => "deduct",
            MovementKind::Return => "return",
            MovementKind::Adjust => "adjust",
            MovementKind::TransferOut => "transfer_out",
            MovementKind::TransferIn => "transfer_in",
        }
    }

    pub fn parse(s: &str) -> Result<MovementKind, ParseError> {
        MovementKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseError::new("kind", format!("unknown movement {s:?}")))
    }
}

/// A change to one stock row, as deltas. Built only through [`StockMovement::new`], which
/// derives the deltas from the kind so that, e.g., a reservation can never touch on-hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMovement {
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub kind: MovementKind,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub order_id: Option<OrderId>,
    pub note: Option<String>,
}

impl StockMovement {
    /// `quantity` is positive for every kind except `Adjust`, which may be negative.
    pub fn new(
        warehouse_id: WarehouseId,
        sku_id: SkuId,
        kind: MovementKind,
        quantity: i64,
    ) -> Result<StockMovement, ParseError> {
        if quantity == 0 || (kind != MovementKind::Adjust && quantity < 0) {
            return Err(ParseError::new(
                "quantity",
                "must be positive (adjustments: non-zero)",
            ));
        }
        let (on_hand_delta, reserved_delta) = match kind {
            MovementKind::Inbound | MovementKind::Return | MovementKind::TransferIn => {
                (quantity, 0)
            }
            MovementKind::Adjust => (quantity, 0),
            MovementKind::TransferOut => (-quantity, 0),
            MovementKind::Reserve => (0, quantity),
            MovementKind::Release => (0, -quantity),
            MovementKind::Deduct => (-quantity, -quantity),
        };
        Ok(StockMovement {
            warehouse_id,
            sku_id,
            kind,
            on_hand_delta,
            reserved_delta,
            order_id: None,
            note: None,
        })
    }

    pub fn for_order(mut self, order_id: OrderId) -> Self {
        self.order_id = Some(order_id);
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// Stock of one SKU in one warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLevel {
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    pub on_hand: i64,
    pub reserved: i64,
    /// Kept back from sale (安全库存).
    pub safety: i64,
}

impl StockLevel {
    /// What can still be promised to new orders.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved - self.safety
    }

    /// Whether applying `m` keeps the row consistent: nothing negative, reserved ≤ on hand.
    pub fn admits(&self, m: &StockMovement) -> bool {
        let on_hand = self.on_hand + m.on_hand_delta;
        let reserved = self.reserved + m.reserved_delta;
        let within = on_hand >= 0 && reserved >= 0 && reserved <= on_hand;
        // Promising goods to an order and sending them to another warehouse both take from
        // what is available, so both respect safety stock; a count (adjust) states a fact.
        let takes_available = matches!(m.kind, MovementKind::Reserve | MovementKind::TransferOut);
        within && (!takes_available || on_hand - reserved >= self.safety)
    }
}

/// Units of one SKU moved from one warehouse to another (调拨): a `TransferOut` at the source
/// and a `TransferIn` at the destination, which the store applies together or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTransfer {
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub sku_id: SkuId,
    pub units: i64,
    pub note: Option<String>,
}

impl StockTransfer {
    /// The most units one transfer may move (keeps every sum far from overflow).
    pub const MAX_UNITS: i64 = 1_000_000_000;

    pub fn new(
        from: WarehouseId,
        to: WarehouseId,
        sku_id: SkuId,
        units: i64,
    ) -> Result<StockTransfer, ParseError> {
        if from == to {
            return Err(ParseError::new(
                "to_warehouse_id",
                "must differ from the source warehouse",
            ));
        }
        if !(1..=Self::MAX_UNITS).contains(&units) {
            return Err(ParseError::new(
                "units",
                format!("between 1 and {}", Self::MAX_UNITS),
            ));
        }
        Ok(StockTransfer {
            from,
            to,
            sku_id,
            units,
            note: None,
        })
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The two movements, source first.
    pub fn movements(&self) -> [StockMovement; 2] {
        let half = |warehouse, kind| StockMovement {
            warehouse_id: warehouse,
            sku_id: self.sku_id,
            kind,
            on_hand_delta: if kind == MovementKind::TransferOut {
                -self.units
            } else {
                self.units
            },
            reserved_delta: 0,
            order_id: None,
            note: self.note.clone(),
        };
        [
            half(self.from, MovementKind::TransferOut),
            half(self.to, MovementKind::TransferIn),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            warehouse_id: WarehouseId(1),
            sku_id: SkuId(1),
            on_hand,
            reserved,
            safety: 0,
        }
    }

    fn mv(kind: MovementKind, q: i64) -> StockMovement {
        StockMovement::new(WarehouseId(1), SkuId(1), kind, q).unwrap()
    }

    #[test]
    fn a_reservation_beyond_available_stock_is_refused() {
        assert!(level(10, 8).admits(&mv(MovementKind::Reserve, 2)));
        assert!(!level(10, 8).admits(&mv(MovementKind::Reserve, 3)));
        let mut safe = level(10, 0);
        safe.safety = 5;
        assert!(
            !safe.admits(&mv(MovementKind::Reserve, 6)),
            "safety stock is kept back"
        );
    }

    #[test]
    fn deducting_takes_from_on_hand_and_reserved_together() {
        let m = mv(MovementKind::Deduct, 2);
        assert_eq!((m.on_hand_delta, m.reserved_delta), (-2, -2));
        assert!(level(2, 2).admits(&m));
        assert!(!level(2, 1).admits(&m), "cannot ship what was not reserved");
    }

    #[test]
    fn a_transfer_takes_only_available_stock_and_moves_it_whole() {
        let mut source = level(10, 4);
        source.safety = 2;
        let t = StockTransfer::new(WarehouseId(1), WarehouseId(2), SkuId(1), 4).unwrap();
        let [out, into] = t.movements();
        assert_eq!(
            (out.kind, out.on_hand_delta),
            (MovementKind::TransferOut, -4)
        );
        assert_eq!(
            (into.kind, into.on_hand_delta),
            (MovementKind::TransferIn, 4)
        );
        assert_eq!(
            (out.warehouse_id, into.warehouse_id),
            (WarehouseId(1), WarehouseId(2))
        );
        assert!(
            source.admits(&out),
            "10 on hand - 4 reserved - 2 safety = 4"
        );
        let five = StockTransfer::new(WarehouseId(1), WarehouseId(2), SkuId(1), 5).unwrap();
        assert!(!source.admits(&five.movements()[0]), "safety stock stays");
        assert!(StockTransfer::new(WarehouseId(1), WarehouseId(1), SkuId(1), 1).is_err());
        assert!(StockTransfer::new(WarehouseId(1), WarehouseId(2), SkuId(1), 0).is_err());
        // A count may still take the row below safety: it states what is there.
        assert!(source.admits(&mv(MovementKind::Adjust, -6)));
    }

    #[test]
    fn quantities_must_be_positive_except_adjustments() {
        assert!(StockMovement::new(WarehouseId(1), SkuId(1), MovementKind::Inbound, -1).is_err());
        assert!(StockMovement::new(WarehouseId(1), SkuId(1), MovementKind::Reserve, 0).is_err());
        assert!(StockMovement::new(WarehouseId(1), SkuId(1), MovementKind::Adjust, -3).is_ok());
        assert!(!level(2, 0).admits(&mv(MovementKind::Adjust, -3)));
    }
}
