//! The emulators' own, platform-neutral truth about an order; each platform module renders it in
//! that platform's wire shape. Tests compare what an adapter synced against this truth.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Wechat,
    Douyin,
    Xiaohongshu,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Wechat => "wechat",
            Platform::Douyin => "douyin",
            Platform::Xiaohongshu => "xiaohongshu",
        }
    }
}

/// Where an order stands, independent of any platform's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unpaid,
    /// Paid but held in the platform's risk review (Douyin 105, Xiaohongshu 2); not yet shippable.
    PaidReview,
    ToShip,
    PartShipped,
    Shipped,
    Completed,
    /// Cancelled before payment (by the buyer or by timeout).
    Cancelled,
    /// Closed after every line was refunded.
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presale {
    None,
    /// 全款预售: paid in full, ships within a promised window.
    FullPayment,
    /// 定金预售: deposit then balance.
    Deposit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refund {
    None,
    Requested,
    Refunded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receiver {
    pub name: String,
    /// The buyer's real mobile number.
    pub phone: String,
    /// Privacy number and extension when the buyer chose number protection.
    pub virtual_phone: Option<VirtualPhone>,
    pub province: String,
    /// GB/T 2260 two-digit province code (the only division id the emulator is sure of).
    pub province_code: String,
    pub city: String,
    pub district: String,
    /// Township / sub-district (街道/镇), when the address has one.
    pub town: String,
    /// The street address as the buyer typed it (messy on purpose).
    pub detail: String,
    pub postal_code: String,
}

impl Receiver {
    /// The phone Douyin and Xiaohongshu reveal on decryption: the privacy number with its
    /// extension (`17012345678-1234`) when the buyer has one, else the real mobile. WeChat's
    /// decode returns the real mobile and the privacy number separately.
    pub fn phone_as_given(&self) -> String {
        match &self.virtual_phone {
            Some(v) => format!("{}-{}", v.number, v.extension),
            None => self.phone.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualPhone {
    pub number: String,
    pub extension: String,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Platform id of this line (Douyin sku-order id, XHS/WeChat derived id).
    pub line_id: String,
    pub product_id: String,
    pub sku_id: String,
    /// Merchant SKU code; empty when the merchant never set one (it happens).
    pub sku_code: String,
    pub title: String,
    pub spec: Vec<(String, String)>,
    pub qty: u32,
    pub unit_price_fen: i64,
    /// What the buyer paid for this line after discounts.
    pub paid_fen: i64,
    pub shipped_qty: u32,
    pub refunded: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The platform's own carrier code, as received.
    pub carrier: String,
    pub tracking_no: String,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// (line index, quantity) shipped in this package.
    pub items: Vec<(usize, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub platform: Platform,
    /// Which of the platform's emulated shops (0-based) the order belongs to.
    #[serde(default)]
    pub shop: u32,
    pub order_id: String,
    pub buyer_id: String,
    pub created_ms: i64,
    pub paid_ms: Option<i64>,
    pub updated_ms: i64,
    pub cancelled_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    /// Latest ship-by time (unix ms); never a hard-coded 48 h for presale.
    pub ship_deadline_ms: i64,
    pub presale: Presale,
    /// Presale promised shipping window (unix ms).
    pub presale_window_ms: Option<(i64, i64)>,
    pub lines: Vec<Line>,
    pub freight_fen: i64,
    pub discount_fen: i64,
    pub receiver: Receiver,
    /// Bumped on each address change; XHS's `openAddressId` and the ciphers derive from it.
    pub address_version: u32,
    pub buyer_note: String,
    pub seller_note: String,
    pub seller_flag: u8,
    pub status: Status,
    pub refund: Refund,
    pub shipments: Vec<Shipment>,
    /// WeChat delivery negotiations filed (at most 3 are allowed).
    #[serde(default)]
    pub negotiations: u32,
    /// WeChat changes of delivery info accepted so far (at most 3 while the order is open).
    #[serde(default)]
    pub delivery_changes: u32,
    /// The order's after-sales as its own fields show them (kept in step with
    /// `State::aftersales` by `crate::aftersale`).
    #[serde(default)]
    pub after_sales: Vec<crate::aftersale::AfterSaleRef>,
}

impl Order {
    pub fn goods_fen(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_price_fen * l.qty as i64)
            .sum()
    }

    pub fn paid_goods_fen(&self) -> i64 {
        self.lines.iter().map(|l| l.paid_fen).sum()
    }

    /// Total the buyer paid, freight included.
    pub fn total_paid_fen(&self) -> i64 {
        self.paid_goods_fen() + self.freight_fen
    }

    pub fn remaining_qty(&self, line: usize) -> u32 {
        let l = &self.lines[line];
        if l.refunded { 0 } else { l.qty - l.shipped_qty }
    }

    pub fn all_shipped(&self) -> bool {
        (0..self.lines.len()).all(|i| self.remaining_qty(i) == 0)
    }

    /// Whether any line has been refunded (the whole order or single SKUs).
    pub fn any_refunded(&self) -> bool {
        self.lines.iter().any(|l| l.refunded)
    }

    pub fn shippable(&self) -> bool {
        matches!(self.status, Status::ToShip | Status::PartShipped)
    }

    /// Whether the order went out in parts: more than one package, or one package that left
    /// units behind (WeChat: 拆单发货).
    pub fn split_shipped(&self) -> bool {
        self.shipments.len() > 1
            || (self.status == Status::PartShipped && !self.shipments.is_empty())
    }
}
