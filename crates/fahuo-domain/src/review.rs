//! Review (审单): the rules that decide whether an order may go on, each with a stable reason
//! code and a Chinese message a person can act on, and the stages that own them.
//!
//! Pure: the application gathers the facts ([`ReviewFacts`]: the address verdict, the SKU
//! mapping, stock, after-sale state, the blacklist) and [`review`] decides. Nothing firing means
//! the order is approved automatically.

use crate::{Fen, OrderLineId, ParseError, Role, SkuId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The review rules. The snake_case name is the stable reason code stored on a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReasonCode {
    /// A level or the detail of the address is missing (地址不完整).
    AddressIncomplete,
    /// The address parser corrected or could not disambiguate something (地址存疑).
    AddressDoubtful,
    /// No warehouse (and not all together) has enough available stock (缺货).
    OutOfStock,
    /// The buyer asked for a refund or an after-sale is open (退款/售后中).
    RefundPending,
    /// The buyer wrote a note (买家留言): customer service reads it first.
    BuyerNote,
    /// The seller's note contains one of the merchant's flag words (卖家备注旗标).
    SellerNoteFlag,
    /// Paid below cost, or below the configured share of the list price (财审).
    PriceAnomaly,
    /// A presale order whose ship date has not come yet (预售未到期).
    PresaleNotDue,
    /// The receiver is on the merchant's blacklist (风险收件人).
    RiskyReceiver,
    /// A line maps to no merchant SKU (商品未匹配).
    UnmappedSku,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 10] = [
        ReasonCode::AddressIncomplete,
        ReasonCode::AddressDoubtful,
        ReasonCode::OutOfStock,
        ReasonCode::RefundPending,
        ReasonCode::BuyerNote,
        ReasonCode::SellerNoteFlag,
        ReasonCode::PriceAnomaly,
        ReasonCode::PresaleNotDue,
        ReasonCode::RiskyReceiver,
        ReasonCode::UnmappedSku,
    ];

    /// The stable code, e.g. `address_incomplete` (the hold's `reason_code`).
    pub fn as_str(self) -> &'static str {
        todo!()
    }

    pub fn parse(s: &str) -> Result<ReasonCode, ParseError> {
        let _ = s;
        todo!()
    }

    /// The rule's name in the console, e.g. "地址不完整".
    pub fn label_zh(self) -> &'static str {
        todo!()
    }
}

/// One stage of staged review (分级审核), owned by a role: its holds are for that role to clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewStage {
    /// e.g. "客服审核".
    pub name: String,
    /// Who clears this stage's holds (owners and admins always may).
    pub role: Role,
    /// The rules this stage owns. A rule in no stage belongs to the last stage.
    pub rules: Vec<ReasonCode>,
}

/// A merchant's review configuration for a tenant, or one shop (which then replaces the
/// tenant's as a whole). Every field has a default that works without configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewSettings {
    /// Rules switched off (default: none; every rule is on).
    pub disabled: Vec<ReasonCode>,
    /// Hold addresses the parser only doubts (default true); incomplete ones are always held
    /// while `address_incomplete` is on.
    pub hold_doubtful_address: bool,
    /// Words in the seller's note that hold an order (default: 暂停, 不发, 缓发, 改地址, 换货, 退款).
    pub seller_note_flags: Vec<String>,
    /// Hold a line paid below this share of its list price, in percent (default 30). `None`: only
    /// the below-cost check.
    pub min_price_percent: Option<u32>,
    /// Hold a line paid below the SKU's cost (default true).
    pub hold_below_cost: bool,
    /// The stages, in order (default: one stage, "审核", owned by customer service).
    pub stages: Vec<ReviewStage>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        todo!()
    }
}

impl ReviewSettings {
    /// Checks what serde cannot: at least one stage, no rule in two stages, non-empty names and
    /// flag words, a percentage of at most 100.
    pub fn validate(self) -> Result<ReviewSettings, ParseError> {
        todo!()
    }

    pub fn is_enabled(&self, code: ReasonCode) -> bool {
        !self.disabled.contains(&code)
    }

    /// The index of the stage that owns `code` (the last stage if none names it).
    pub fn stage_of(&self, code: ReasonCode) -> usize {
        let _ = code;
        todo!()
    }
}

/// How the address module judged the receiver's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressVerdict {
    Ok,
    Doubtful,
    Incomplete,
}

/// The address facts: the verdict and, for a message, what made it doubtful or incomplete
/// (the parser's reason codes, e.g. `missing_county`, `ambiguous_division`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressFacts {
    pub verdict: AddressVerdict,
    pub reasons: Vec<String>,
}

/// One order line as review sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFacts {
    pub line_id: OrderLineId,
    pub title: String,
    /// Items the buyer bought.
    pub quantity: i64,
    /// What the buyer paid for the line, after discounts.
    pub paid: Fen,
    /// The list price per item.
    pub unit_price: Fen,
    /// The merchant SKU it maps to, `None` if unmapped.
    pub sku: Option<LineSku>,
}

/// The merchant SKU behind a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSku {
    pub sku_id: SkuId,
    pub code: String,
    /// Units of the SKU per item bought (a bundle listing: 2).
    pub units_per_item: i64,
    /// Purchase cost per unit.
    pub cost: Fen,
    /// Available units over all of the tenant's warehouses (on hand − reserved − safety).
    pub available: i64,
}

impl LineSku {
    /// Units of the SKU the line needs.
    pub fn units(&self, quantity: i64) -> i64 {
        quantity.saturating_mul(self.units_per_item)
    }
}

/// Everything review needs to know about one order, gathered by the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewFacts {
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    /// The presale ship date, if the order is presale.
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub address: AddressFacts,
    pub lines: Vec<LineFacts>,
    /// A refund or after-sale is open on the order or one of its lines.
    pub refund_pending: bool,
    /// Why the receiver is on the blacklist, if they are.
    pub blacklisted: Option<String>,
    pub now: DateTime<Utc>,
}

/// One rule that fired: the code, a Chinese message naming what to do, and its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub code: ReasonCode,
    /// e.g. "地址缺少区县（missing_county）：请联系买家补全后再审核".
    pub message: String,
    /// Index into [`ReviewSettings::stages`].
    pub stage: usize,
}

/// Runs every enabled rule. Findings come sorted by stage, then by [`ReasonCode`] order; an
/// empty result means the order passes review.
pub fn review(settings: &ReviewSettings, facts: &ReviewFacts) -> Vec<Finding> {
    let _ = (settings, facts);
    todo!()
}
