//! What a pull returns: an order in fahuo's vocabulary plus the platform facts a sync needs
//! (status, after-sale state per line, packages already shipped).

use chrono::{DateTime, Utc};
use fahuo_domain::order::{MaskedReceiver, NewOrder, NewOrderLine, Receiver};
use fahuo_domain::{Fen, ParseError, PlatformOrderId, ShopId};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

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

/// What a pull says about an order's receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiverState {
    /// Decrypted in this pull.
    Decrypted(Receiver),
    /// Not decrypted again: the platform sent the same receiver as when fahuo last decrypted
    /// it (same [receiver fingerprint](PulledOrder::receiver_fingerprint), see
    /// [`KnownReceivers`]), so the receiver fahuo stored is still the buyer's.
    Unchanged,
    /// No usable receiver in this pull.
    Problem(ReceiverProblem),
}

impl ReceiverState {
    /// The receiver decrypted in this pull, if any.
    pub fn decrypted(&self) -> Option<&Receiver> {
        match self {
            ReceiverState::Decrypted(r) => Some(r),
            _ => None,
        }
    }
}

impl From<Result<Receiver, ReceiverProblem>> for ReceiverState {
    fn from(r: Result<Receiver, ReceiverProblem>) -> Self {
        match r {
            Ok(r) => ReceiverState::Decrypted(r),
            Err(p) => ReceiverState::Problem(p),
        }
    }
}

/// The receiver fingerprints fahuo holds for the orders of a pull (platform order id →
/// [`PulledOrder::receiver_fingerprint`] stored when their receiver was last decrypted). An
/// order whose fingerprint the platform sends unchanged comes back [`ReceiverState::Unchanged`]
/// instead of spending the shop's decryption quota again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownReceivers(HashMap<PlatformOrderId, String>);

impl KnownReceivers {
    /// Nothing known: every receiver that may be decrypted is.
    pub fn none() -> Self {
        KnownReceivers::default()
    }

    /// Whether the receiver fahuo holds for `p` is the one the platform sends now.
    pub(crate) fn holds(&self, p: &PulledOrder) -> bool {
        p.receiver_fingerprint
            .as_deref()
            .is_some_and(|f| self.0.get(&p.order.platform_order_id).map(String::as_str) == Some(f))
    }
}

impl FromIterator<(PlatformOrderId, String)> for KnownReceivers {
    fn from_iter<I: IntoIterator<Item = (PlatformOrderId, String)>>(iter: I) -> Self {
        KnownReceivers(iter.into_iter().collect())
    }
}

/// SHA-256 (hex) over what the platform sent for a receiver before decryption, each part
/// length-prefixed so that no two different lists of parts give the same text.
pub(crate) fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    crate::util::hex(&h.finalize())
}

/// One order as a pull returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct PulledOrder {
    pub order: PlatformOrder,
    /// The decrypted receiver, for orders that can ship (ToShip, PartlyShipped, and Shipped
    /// where the platform allows it); [`ReceiverState::Unchanged`] when fahuo already holds
    /// it; see [`ReceiverProblem`] otherwise.
    pub receiver: ReceiverState,
    /// A digest of the receiver as the platform sent it, still encrypted or masked (each
    /// platform module says what goes in): the same while the buyer's receiver stays the same.
    /// `None` where the platform sent no receiver to digest.
    pub receiver_fingerprint: Option<String>,
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

    /// The order as fahuo stores it, for `shop_id`, with the receiver decrypted in this pull
    /// and the [fingerprint](PulledOrder::receiver_fingerprint) it was decrypted from; fails
    /// when there is none, or the order does not validate ([`NewOrder::validate`]).
    pub fn new_order(&self, shop_id: ShopId) -> Result<NewOrder, ReceiverOrOrderError> {
        let receiver = match &self.receiver {
            ReceiverState::Decrypted(r) => r.clone(),
            ReceiverState::Unchanged => return Err(ReceiverOrOrderError::ReceiverUnchanged),
            ReceiverState::Problem(p) => {
                return Err(ReceiverOrOrderError::Receiver(Box::new(p.clone())));
            }
        };
        let mut order = self
            .new_order_with(shop_id, receiver)
            .map_err(ReceiverOrOrderError::Order)?;
        order.receiver_fingerprint = self.receiver_fingerprint.clone();
        Ok(order)
    }

    /// The order as fahuo stores it, for `shop_id`, with `receiver` (the one fahuo holds, when
    /// this pull did not decrypt one). Without a fingerprint: `receiver` is not what this
    /// pull's fingerprint digests, and the one stored stays.
    pub fn new_order_with(
        &self,
        shop_id: ShopId,
        receiver: Receiver,
    ) -> Result<NewOrder, ParseError> {
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
            receiver_fingerprint: None,
        }
        .validate()
    }
}

/// Why [`PulledOrder::new_order`] could not build a [`NewOrder`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReceiverOrOrderError {
    #[error("{0}")]
    Receiver(Box<ReceiverProblem>),
    /// Not decrypted again: the caller holds the receiver ([`PulledOrder::new_order_with`]).
    #[error("receiver unchanged: not decrypted again")]
    ReceiverUnchanged,
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

/// An order read from the platform with its receiver still sealed: what
/// [`PlatformClient::read_window`] and [`PlatformClient::read_order`] return, so that the
/// caller can look up the [`KnownReceivers`] of just these orders before
/// [`PlatformClient::open_receivers`] decrypts the others.
///
/// [`PlatformClient::read_window`]: crate::PlatformClient::read_window
/// [`PlatformClient::read_order`]: crate::PlatformClient::read_order
/// [`PlatformClient::open_receivers`]: crate::PlatformClient::open_receivers
#[derive(Clone)]
pub struct SealedOrder {
    pub(crate) pulled: PulledOrder,
    pub(crate) seal: Seal,
}

/// What each platform needs to decrypt a receiver later.
#[derive(Clone)]
pub(crate) enum Seal {
    /// The ciphers and clear region the order itself carries.
    Douyin(crate::douyin::Ciphers),
    /// `order.getOrderReceiverInfo`'s answer (for orders waiting to ship).
    Xiaohongshu(Option<serde_json::Value>),
    /// Decoded by order id.
    Wechat,
}

impl Seal {
    /// Orders handed to another platform's client than the one that read them.
    pub(crate) fn read_elsewhere() -> crate::PlatformError {
        crate::PlatformError::Config("orders read by another platform's client".into())
    }
}

impl SealedOrder {
    pub fn platform_order_id(&self) -> &PlatformOrderId {
        self.pulled.platform_order_id()
    }

    pub fn receiver_fingerprint(&self) -> Option<&str> {
        self.pulled.receiver_fingerprint.as_deref()
    }
}

/// Without the seal: it may hold receiver text the platform sent in clear.
impl std::fmt::Debug for SealedOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedOrder")
            .field("pulled", &self.pulled)
            .finish_non_exhaustive()
    }
}
