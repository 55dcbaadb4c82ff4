//! What a pull returns: an order in fahuo's vocabulary plus the platform facts a sync needs
//! (status, after-sale state per line, packages already shipped).

use chrono::{DateTime, Utc};
use fahuo_domain::order::{MaskedReceiver, NewOrder, NewOrderLine, Receiver};
use fahuo_domain::{Fen, ParseError, PlatformOrderId, ShopId};

/// Where the platform says an order stands, mapped from each platform's status table
/// (reference §1.3, §2.4, §3.3). The raw code is kept in [`PlatformOrder::platform_status`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PlatformStatus {
    /// Not paid yet (WeChat 10, Douyin 1, XHS 1). Callers skip these.
    Unpaid,
    /// Paid but not shippable yet: risk review (Douyin 105, XHS 2), customs (XHS 3),
    /// gift not accepted (WeChat 12), group buy still forming (WeChat 13).
    PaidPending,
    /// Paid, waiting to ship (WeChat 20, Douyin 2, XHS 4).
    ToShip,
    /// Some lines shipped (WeChat 21, Douyin 101, XHS 5).
    PartlyShipped,
    /// Everything shipped, not yet received (WeChat 30, Douyin 3, XHS 6).
    Shipped,
    /// Received / finished (WeChat 100, Douyin 5, XHS 7).
    Completed,
    /// Cancelled: unpaid timeout or by the buyer (WeChat 250, XHS 9), by the merchant for
    /// overselling (WeChat 190), and Douyin 4 (which also covers orders closed by refunds).
    Cancelled,
    /// Closed after every line was refunded (WeChat 200, XHS 8).
    Closed,
    /// The buyer asked for an exchange (XHS 10).
    ExchangeRequested,
    /// A code this adapter does not know (e.g. WeChat's undocumented 60): kept, never a panic.
    Other(String),
}

impl PlatformStatus {
    /// Whether money has changed hands (callers skip unpaid orders).
    pub fn is_paid(&self) -> bool {
        !matches!(self, PlatformStatus::Unpaid)
    }

    /// Whether goods may still leave the warehouse for this order.
    pub fn is_shippable(&self) -> bool {
        matches!(self, PlatformStatus::ToShip | PlatformStatus::PartlyShipped)
    }
}

/// After-sale (售后) state of an order or a line, where the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum AfterSale {
    #[default]
    None,
    /// A refund or return is open: hold the goods.
    Requested,
    /// Refunded (the line's goods must not ship).
    Refunded,
    /// A platform code this adapter does not know.
    Other(String),
}

/// After-sale state of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAfterSale {
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    pub state: AfterSale,
}

/// A parcel the platform already knows as shipped (by fahuo or by another tool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedPackage {
    /// The platform's own carrier code (`delivery_id`, `company`, `expressCompanyCode`).
    pub carrier: String,
    pub tracking_no: String,
    pub shipped_at: Option<DateTime<Utc>>,
    /// Which lines went into it, as the platform reports them.
    pub items: Vec<PackageItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageItem {
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    /// `None` where the platform does not say (Xiaohongshu lists sku ids only).
    pub quantity: Option<i64>,
}

/// The order's own facts, as in [`NewOrder`] but without the receiver (which may be withheld)
/// and without the shop id (the caller's).
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformOrder {
    pub platform_order_id: PlatformOrderId,
    /// The platform's own status code, exactly as sent (`"20"`, `"105"`, ...).
    pub platform_status: String,
    /// What the buyer paid in total, freight included.
    pub paid_total: Fen,
    pub freight: Fen,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The earliest per-line ship-by deadline.
    pub ship_by: Option<DateTime<Utc>>,
    /// Presale orders: the platform's promised shipping time (see each platform module).
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub platform_updated_at: Option<DateTime<Utc>>,
    pub lines: Vec<NewOrderLine>,
    /// The buyer's platform identity for messages ([`PlatformClient::message_buyer`]): WeChat
    /// order detail `openid` (reference §1.3); `None` on platforms that do not reveal one.
    ///
    /// [`PlatformClient::message_buyer`]: crate::PlatformClient::message_buyer
    pub buyer_openid: Option<String>,
}

/// Why a pulled order carries no usable receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverProblem {
    /// Not decrypted: the order cannot ship any more (or not yet), so fahuo does not spend
    /// decryption quota on it, and most platforms refuse it anyway. The region is in clear.
    NotDecrypted { masked: MaskedReceiver },
    /// Decrypted, but the values do not make a receiver (empty name, unparseable phone...).
    Invalid(ParseError),
    /// The platform refused to decrypt this order's receiver (quota aside), with its reason.
    DecryptFailed(String),
}

impl std::fmt::Display for ReceiverProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiverProblem::NotDecrypted { .. } => {
                f.write_str("receiver not decrypted (order not shippable)")
            }
            ReceiverProblem::Invalid(e) => write!(f, "receiver invalid: {e}"),
            ReceiverProblem::DecryptFailed(e) => write!(f, "receiver not decrypted: {e}"),
        }
    }
}

/// One order as a pull returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct PulledOrder {
    pub order: PlatformOrder,
    /// The decrypted receiver, for orders that can ship (ToShip, PartlyShipped, and Shipped
    /// where the platform allows it); see [`ReceiverProblem`] otherwise.
    pub receiver: Result<Receiver, ReceiverProblem>,
    pub status: PlatformStatus,
    /// Order-level after-sale state.
    pub after_sale: AfterSale,
    pub lines_after_sale: Vec<LineAfterSale>,
    pub shipped_packages: Vec<ShippedPackage>,
    /// Values the mapping had to drop, with the reason (e.g. a merchant code with spaces that is
    /// not a valid `SkuCode`). Nothing is dropped silently.
    pub warnings: Vec<String>,
}

impl PulledOrder {
    pub fn platform_order_id(&self) -> &PlatformOrderId {
        &self.order.platform_order_id
    }

    pub fn is_paid(&self) -> bool {
        self.status.is_paid()
    }

    /// The order as fahuo stores it, for `shop_id`; fails when the receiver is missing or
    /// invalid, or the order does not validate ([`NewOrder::validate`]).
    pub fn new_order(&self, shop_id: ShopId) -> Result<NewOrder, ReceiverOrOrderError> {
        let receiver = self
            .receiver
            .clone()
            .map_err(|p| ReceiverOrOrderError::Receiver(Box::new(p)))?;
        let o = &self.order;
        NewOrder {
            shop_id,
            platform_order_id: o.platform_order_id.clone(),
            platform_status: o.platform_status.clone(),
            paid_total: o.paid_total,
            freight: o.freight,
            buyer_note: o.buyer_note.clone(),
            seller_note: o.seller_note.clone(),
            paid_at: o.paid_at,
            ship_by: o.ship_by,
            presale_ship_at: o.presale_ship_at,
            platform_updated_at: o.platform_updated_at,
            receiver,
            lines: o.lines.clone(),
        }
        .validate()
        .map_err(ReceiverOrOrderError::Order)
    }
}

/// Why [`PulledOrder::new_order`] could not build a [`NewOrder`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReceiverOrOrderError {
    #[error("{0}")]
    Receiver(Box<ReceiverProblem>),
    #[error("order invalid: {0}")]
    Order(ParseError),
}

/// How `pull_window` may be called for a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// The longest update-time window one list query accepts. `pull_window` splits longer
    /// windows itself; callers may use this to size their sync steps.
    pub max_window: chrono::Duration,
    /// How far to re-read before the last synced edge (clock skew, late index updates,
    /// second-granular timestamps).
    pub overlap: chrono::Duration,
}
