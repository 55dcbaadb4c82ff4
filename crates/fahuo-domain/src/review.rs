//! Review (审单): the rules that decide whether an order may go on, each with a stable reason
//! code and a Chinese message a person can act on, and the stages that own them.
//!
//! Pure: the application gathers the facts ([`ReviewFacts`]: the address verdict, the SKU
//! mapping, stock, after-sale state, the blacklist) and [`review`] decides. Nothing firing means
//! the order is approved automatically.

use crate::deadline::shanghai_day;
use crate::{Fen, OrderLineId, ParseError, Role, SkuId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
        match self {
            ReasonCode::AddressIncomplete => "address_incomplete",
            ReasonCode::AddressDoubtful => "address_doubtful",
            ReasonCode::OutOfStock => "out_of_stock",
            ReasonCode::RefundPending => "refund_pending",
            ReasonCode::BuyerNote => "buyer_note",
            ReasonCode::SellerNoteFlag => "seller_note_flag",
            ReasonCode::PriceAnomaly => "price_anomaly",
            ReasonCode::PresaleNotDue => "presale_not_due",
            ReasonCode::RiskyReceiver => "risky_receiver",
            ReasonCode::UnmappedSku => "unmapped_sku",
        }
    }

    pub fn parse(s: &str) -> Result<ReasonCode, ParseError> {
        ReasonCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| ParseError::new("reason_code", format!("unknown reason code {s:?}")))
    }

    /// The rule's name in the console, e.g. "地址不完整".
    pub fn label_zh(self) -> &'static str {
        match self {
            ReasonCode::AddressIncomplete => "地址不完整",
            ReasonCode::AddressDoubtful => "地址存疑",
            ReasonCode::OutOfStock => "缺货",
            ReasonCode::RefundPending => "退款/售后中",
            ReasonCode::BuyerNote => "买家留言",
            ReasonCode::SellerNoteFlag => "卖家备注旗标",
            ReasonCode::PriceAnomaly => "价格异常",
            ReasonCode::PresaleNotDue => "预售未到期",
            ReasonCode::RiskyReceiver => "风险收件人",
            ReasonCode::UnmappedSku => "商品未匹配",
        }
    }

    /// The rule's name on English pages, e.g. "Address incomplete".
    pub fn label_en(self) -> &'static str {
        match self {
            ReasonCode::AddressIncomplete => "Address incomplete",
            ReasonCode::AddressDoubtful => "Address doubtful",
            ReasonCode::OutOfStock => "Out of stock",
            ReasonCode::RefundPending => "Refund or after-sale open",
            ReasonCode::BuyerNote => "Buyer's note",
            ReasonCode::SellerNoteFlag => "Flag word in seller's note",
            ReasonCode::PriceAnomaly => "Price anomaly",
            ReasonCode::PresaleNotDue => "Presale not due",
            ReasonCode::RiskyReceiver => "Risky receiver (blacklist)",
            ReasonCode::UnmappedSku => "Unmapped product",
        }
    }

    /// What to do about a hold of this rule, on English pages, for a hold stored before
    /// findings carried their English message (those pages show the rule's instruction
    /// without the particulars).
    pub fn advice_en(self) -> &'static str {
        match self {
            ReasonCode::AddressIncomplete => {
                "The address is missing a level or the street: ask the buyer to complete it, then review"
            }
            ReasonCode::AddressDoubtful => {
                "The address parser corrected or could not settle part of the address: check it, ask the buyer if needed, then review"
            }
            ReasonCode::OutOfStock => {
                "No warehouse has enough available stock: restock or transfer, then review"
            }
            ReasonCode::RefundPending => {
                "The buyer asked for a refund or an after-sale: handle it first, then review if the order still ships"
            }
            ReasonCode::BuyerNote => "The buyer left a note: read it and act on it, then review",
            ReasonCode::SellerNoteFlag => {
                "The seller's note contains a flag word: act on the note, then review"
            }
            ReasonCode::PriceAnomaly => {
                "A line was paid below cost or far below its list price: finance checks the price, then review"
            }
            ReasonCode::PresaleNotDue => {
                "A presale order before its ship date: do not ship before then; review once it is due"
            }
            ReasonCode::RiskyReceiver => {
                "The receiver is on the blacklist: check the buyer and the order before deciding to ship"
            }
            ReasonCode::UnmappedSku => {
                "A line maps to no merchant SKU: map it under product mappings, then review"
            }
        }
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
        ReviewSettings {
            disabled: Vec::new(),
            hold_doubtful_address: true,
            seller_note_flags: ["暂停", "不发", "缓发", "改地址", "换货", "退款"]
                .into_iter()
                .map(String::from)
                .collect(),
            min_price_percent: Some(30),
            hold_below_cost: true,
            stages: vec![ReviewStage {
                name: "审核".to_string(),
                role: Role::Service,
                // No rule named: every rule falls to the last (only) stage.
                rules: Vec::new(),
            }],
        }
    }
}

impl ReviewSettings {
    /// Checks what serde cannot: at least one stage, no rule in two stages, non-empty names and
    /// flag words, a percentage of at most 100.
    ///
    /// Stage names and flag words come back trimmed: a flag word typed as " 暂停 " would
    /// otherwise only match a note with spaces around it. A rule listed twice in one stage is
    /// refused like one in two stages, since it is as much a typo.
    pub fn validate(mut self) -> Result<ReviewSettings, ParseError> {
        if self.stages.is_empty() {
            return Err(ParseError::new("stages", "at least one review stage"));
        }
        let mut owner: BTreeMap<ReasonCode, &str> = BTreeMap::new();
        for stage in &mut self.stages {
            stage.name = stage.name.trim().to_string();
            if stage.name.is_empty() {
                return Err(ParseError::new("stages.name", "a stage needs a name"));
            }
        }
        for stage in &self.stages {
            for &code in &stage.rules {
                if let Some(first) = owner.insert(code, &stage.name) {
                    return Err(ParseError::new(
                        "stages.rules",
                        format!(
                            "{} is listed in stage {first:?} and again in stage {:?}",
                            code.as_str(),
                            stage.name
                        ),
                    ));
                }
            }
        }
        for flag in &mut self.seller_note_flags {
            *flag = flag.trim().to_string();
            if flag.is_empty() {
                return Err(ParseError::new(
                    "seller_note_flags",
                    "a flag word must not be empty",
                ));
            }
        }
        if let Some(percent) = self.min_price_percent.filter(|p| *p > 100) {
            return Err(ParseError::new(
                "min_price_percent",
                format!("{percent} is more than 100 percent"),
            ));
        }
        Ok(self)
    }

    pub fn is_enabled(&self, code: ReasonCode) -> bool {
        !self.disabled.contains(&code)
    }

    /// The index of the stage that owns `code` (the last stage if none names it).
    ///
    /// With no stages at all (which [`ReviewSettings::validate`] refuses) this is 0.
    pub fn stage_of(&self, code: ReasonCode) -> usize {
        self.stages
            .iter()
            .position(|stage| stage.rules.contains(&code))
            .unwrap_or_else(|| self.stages.len().saturating_sub(1))
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

/// One rule that fired: the code, a message naming what to do (Chinese, and the same
/// particulars in English for English pages), and its stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub code: ReasonCode,
    /// e.g. "地址不完整（missing_county）：请联系买家补全地址后再审核".
    pub message: String,
    /// e.g. "Address incomplete (missing_county): ask the buyer to complete it, then review".
    pub message_en: String,
    /// Index into [`ReviewSettings::stages`].
    pub stage: usize,
}

/// A message in both of the console's languages.
struct Said {
    zh: String,
    en: String,
}

fn said(zh: impl Into<String>, en: impl Into<String>) -> Said {
    Said {
        zh: zh.into(),
        en: en.into(),
    }
}

/// Runs every enabled rule. Findings come sorted by stage, then by [`ReasonCode`] order; an
/// empty result means the order passes review.
///
/// A rule fires at most once per order: when several lines trip it, its one message names
/// each of them, so that one hold (one reason code) tells the whole story.
pub fn review(settings: &ReviewSettings, facts: &ReviewFacts) -> Vec<Finding> {
    let mut findings: Vec<Finding> = ReasonCode::ALL
        .into_iter()
        .filter(|&code| settings.is_enabled(code))
        .filter_map(|code| {
            let Said { zh, en } = check(code, settings, facts)?;
            Some(Finding {
                code,
                message: zh,
                message_en: en,
                stage: settings.stage_of(code),
            })
        })
        .collect();
    findings.sort_by_key(|f| (f.stage, f.code));
    findings
}

/// One rule: `Some(message)` when it fires.
fn check(code: ReasonCode, settings: &ReviewSettings, facts: &ReviewFacts) -> Option<Said> {
    match code {
        ReasonCode::AddressIncomplete => (facts.address.verdict == AddressVerdict::Incomplete)
            .then(|| {
                let (zh, en) = parser_reasons(&facts.address.reasons);
                said(
                    format!("地址不完整{zh}：请联系买家补全地址后再审核"),
                    format!("Address incomplete{en}: ask the buyer to complete it, then review"),
                )
            }),
        ReasonCode::AddressDoubtful => (facts.address.verdict == AddressVerdict::Doubtful
            && settings.hold_doubtful_address)
            .then(|| {
                let (zh, en) = parser_reasons(&facts.address.reasons);
                said(
                    format!("地址存疑{zh}：请核对收件地址，必要时联系买家确认后再审核"),
                    format!(
                        "Address doubtful{en}: check the address, ask the buyer if needed, then review"
                    ),
                )
            }),
        ReasonCode::OutOfStock => out_of_stock(&facts.lines),
        ReasonCode::RefundPending => facts.refund_pending.then(|| {
            said(
                "买家申请了退款或售后：请先处理售后，确认仍需发货后再审核",
                "The buyer asked for a refund or an after-sale: handle it first, then review if the order still ships",
            )
        }),
        // The note itself is not copied into the message: buyers write phone numbers and new
        // addresses there, and a hold's message is shown and logged more widely than the order.
        ReasonCode::BuyerNote => facts
            .buyer_note
            .as_deref()
            .is_some_and(|note| !note.trim().is_empty())
            .then(|| {
                said(
                    "买家有留言：请阅读订单上的买家留言，按留言处理后再审核",
                    "The buyer left a note: read it on the order and act on it, then review",
                )
            }),
        ReasonCode::SellerNoteFlag => seller_note_flags(settings, facts.seller_note.as_deref()),
        ReasonCode::PriceAnomaly => price_anomaly(settings, &facts.lines),
        ReasonCode::PresaleNotDue => facts
            .presale_ship_at
            .filter(|at| *at > facts.now)
            .map(|at| {
                let day = shanghai_day(at);
                said(
                    format!("预售订单，预计 {day} 发货：到期前请勿发货，到期后再审核"),
                    format!(
                        "Presale order, due to ship on {day}: do not ship before then; review once it is due"
                    ),
                )
            }),
        ReasonCode::RiskyReceiver => facts.blacklisted.as_deref().map(|why| {
            let why = why.trim();
            if why.is_empty() {
                said(
                    "收件人在黑名单中：请核实买家和订单情况后再决定是否发货",
                    "The receiver is on the blacklist: check the buyer and the order before deciding to ship",
                )
            } else {
                said(
                    format!("收件人在黑名单中（{why}）：请核实买家和订单情况后再决定是否发货"),
                    format!(
                        "The receiver is on the blacklist ({why}): check the buyer and the order before deciding to ship"
                    ),
                )
            }
        }),
        ReasonCode::UnmappedSku => {
            let unmapped: Vec<(usize, &LineFacts)> = facts
                .lines
                .iter()
                .enumerate()
                .filter(|(_, line)| line.sku.is_none())
                .collect();
            (!unmapped.is_empty()).then(|| {
                let zh: Vec<String> = unmapped.iter().map(|(i, l)| line_name(*i, l)).collect();
                let en: Vec<String> = unmapped.iter().map(|(i, l)| line_name_en(*i, l)).collect();
                said(
                    format!(
                        "{}未匹配商家商品：请在商品对应中关联商家编码后再审核",
                        zh.join("、")
                    ),
                    format!(
                        "{} {} no merchant SKU: map {} under product mappings, then review",
                        en.join(", "),
                        if en.len() == 1 { "maps to" } else { "map to" },
                        if en.len() == 1 { "it" } else { "them" }
                    ),
                )
            })
        }
    }
}

/// The parser's reasons as "（missing_county、ambiguous_division）" and
/// " (missing_county, ambiguous_division)", or nothing when it gave none.
fn parser_reasons(reasons: &[String]) -> (String, String) {
    let reasons: Vec<&str> = reasons
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .collect();
    if reasons.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!("（{}）", reasons.join("、")),
            format!(" ({})", reasons.join(", ")),
        )
    }
}

/// How a message points at a line: its position as staff see it and its title.
fn line_name(index: usize, line: &LineFacts) -> String {
    format!("第{}行「{}」", index + 1, line.title)
}

fn line_name_en(index: usize, line: &LineFacts) -> String {
    format!("Line {} \u{201c}{}\u{201d}", index + 1, line.title)
}

/// Units needed per SKU over the whole order against the SKU's available stock. A SKU on two
/// lines (a single and a bundle of it) is needed once, in total.
fn out_of_stock(lines: &[LineFacts]) -> Option<Said> {
    // SKU → (code, units needed, available as reported on its first line).
    let mut needs: BTreeMap<SkuId, (&str, i64, i64)> = BTreeMap::new();
    for line in lines {
        let Some(sku) = &line.sku else { continue };
        let units = sku.units(line.quantity);
        needs
            .entry(sku.sku_id)
            .and_modify(|(_, needed, _)| *needed = needed.saturating_add(units))
            .or_insert((&sku.code, units, sku.available));
    }
    // Over-reserved stock can make available negative; nothing can be promised then.
    let short: Vec<(&str, i64, i64)> = needs
        .values()
        .filter(|(_, needed, available)| needed > available)
        .map(|&(code, needed, available)| (code, needed, available.max(0)))
        .collect();
    (!short.is_empty()).then(|| {
        let zh: Vec<String> = short
            .iter()
            .map(|(code, needed, available)| {
                format!(
                    "{code} 需要 {needed} 件，可用 {available} 件，缺 {} 件",
                    needed - available
                )
            })
            .collect();
        let en: Vec<String> = short
            .iter()
            .map(|(code, needed, available)| {
                format!(
                    "{code} needs {needed}, {available} available, {} short",
                    needed - available
                )
            })
            .collect();
        said(
            format!("缺货：{}。请补货或调拨后再审核", zh.join("；")),
            format!(
                "Out of stock: {}. Restock or transfer, then review",
                en.join("; ")
            ),
        )
    })
}

/// Which flag words the seller's note contains, ASCII letters compared case-insensitively.
fn seller_note_flags(settings: &ReviewSettings, note: Option<&str>) -> Option<Said> {
    let note = note?.to_ascii_lowercase();
    let found: Vec<&str> = settings
        .seller_note_flags
        .iter()
        .map(|flag| flag.trim())
        // An empty word would be in every note (validate refuses it; unvalidated settings
        // must not hold every order).
        .filter(|flag| !flag.is_empty() && note.contains(&flag.to_ascii_lowercase()))
        .collect();
    (!found.is_empty()).then(|| {
        let quoted = |open: &str, close: &str, sep: &str| {
            found
                .iter()
                .map(|f| format!("{open}{f}{close}"))
                .collect::<Vec<_>>()
                .join(sep)
        };
        said(
            format!(
                "卖家备注含{}：请按备注处理，确认可以发货后再审核",
                quoted("“", "”", "、")
            ),
            format!(
                "The seller's note contains {}: act on the note, then review",
                quoted("\u{201c}", "\u{201d}", ", ")
            ),
        )
    })
}

/// Lines paid below cost or below the configured share of their list price. A line listed at
/// ¥0 is a gift (赠品) and is never an anomaly. Only mapped lines are judged: an unmapped line
/// is already held by `unmapped_sku` and is judged once it is mapped. Integer fen throughout,
/// widened so that large quantities cannot overflow.
fn price_anomaly(settings: &ReviewSettings, lines: &[LineFacts]) -> Option<Said> {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(sku) = &line.sku else { continue };
        if line.unit_price.get() == 0 {
            continue;
        }
        let paid = i128::from(line.paid.get());
        let cost = i128::from(sku.cost.get()) * i128::from(sku.units(line.quantity));
        let list = i128::from(line.unit_price.get()) * i128::from(line.quantity);
        let name = format!("{}（{}）", line_name(i, line), sku.code);
        let name_en = format!("{} ({})", line_name_en(i, line), sku.code);
        if settings.hold_below_cost && paid < cost {
            zh.push(format!("{name}实付 {} 低于成本 {}", yuan(paid), yuan(cost)));
            en.push(format!(
                "{name_en} paid {}, below its cost {}",
                yuan(paid),
                yuan(cost)
            ));
        } else if let Some(percent) = settings.min_price_percent
            && paid * 100 < list * i128::from(percent)
        {
            zh.push(format!(
                "{name}实付 {} 低于标价 {} 的 {percent}%",
                yuan(paid),
                yuan(list)
            ));
            en.push(format!(
                "{name_en} paid {}, below {percent}% of its list price {}",
                yuan(paid),
                yuan(list)
            ));
        }
    }
    (!zh.is_empty()).then(|| {
        said(
            format!(
                "价格异常：{}。请财务核实价格（改价、刷单或填错成本）后再审核",
                zh.join("；")
            ),
            format!(
                "Price anomaly: {}. Finance checks the price (a changed price, a fake order or a wrong cost), then review",
                en.join("; ")
            ),
        )
    })
}

/// `¥12.50`. Amounts here are products of fen values; one too large for `Fen` is shown as is.
fn yuan(fen: i128) -> String {
    match i64::try_from(fen) {
        Ok(fen) => format!("¥{}", Fen(fen)),
        Err(_) => format!("{fen} 分"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReasonCode::*;
    use chrono::{Duration, TimeZone};

    /// 2025-06-18 12:00 in Shanghai.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 18, 4, 0, 0).unwrap()
    }

    /// A line for SKU 1 (`A-100`, cost ¥10.00, 10 available): 1 item at ¥20.00, paid in full.
    fn line(id: i64) -> LineFacts {
        LineFacts {
            line_id: OrderLineId(id),
            title: "纯棉T恤".into(),
            quantity: 1,
            paid: Fen(2000),
            unit_price: Fen(2000),
            sku: Some(LineSku {
                sku_id: SkuId(1),
                code: "A-100".into(),
                units_per_item: 1,
                cost: Fen(1000),
                available: 10,
            }),
        }
    }

    /// An order nothing is wrong with.
    fn clean() -> ReviewFacts {
        ReviewFacts {
            buyer_note: None,
            seller_note: None,
            presale_ship_at: None,
            address: AddressFacts {
                verdict: AddressVerdict::Ok,
                reasons: vec![],
            },
            lines: vec![line(1)],
            refund_pending: false,
            blacklisted: None,
            now: now(),
        }
    }

    /// An order that trips every rule but `address_doubtful` (its address is incomplete).
    fn trips_everything(f: &mut ReviewFacts) {
        f.buyer_note = Some("周五前发".into());
        f.seller_note = Some("暂停".into());
        f.presale_ship_at = Some(now() + Duration::days(3));
        f.address.verdict = AddressVerdict::Incomplete;
        f.refund_pending = true;
        f.blacklisted = Some("多次拒收".into());
        f.lines[0].quantity = 11;
        f.lines[0].paid = Fen(1);
        let mut gift = line(2);
        gift.sku = None;
        f.lines.push(gift);
    }

    /// The SKU of a mapped line, to change.
    fn sku(f: &mut ReviewFacts, index: usize) -> &mut LineSku {
        f.lines[index].sku.as_mut().expect("mapped line")
    }

    type SettingsTweak = fn(&mut ReviewSettings);
    type FactsTweak = fn(&mut ReviewFacts);

    struct Case {
        name: &'static str,
        settings: SettingsTweak,
        facts: FactsTweak,
        /// The codes that fire, in finding order.
        fires: &'static [ReasonCode],
        /// Text each fragment of which must appear in the findings' messages.
        says: &'static [&'static str],
    }

    const DEFAULTS: SettingsTweak = |_| {};

    const CASES: &[Case] = &[
        Case {
            name: "a clean order is approved automatically",
            settings: DEFAULTS,
            facts: |_| {},
            fires: &[],
            says: &[],
        },
        // Address.
        Case {
            name: "an incomplete address, with the parser's reasons",
            settings: DEFAULTS,
            facts: |f| {
                f.address.verdict = AddressVerdict::Incomplete;
                f.address.reasons = vec!["missing_county".into(), "missing_detail".into()];
            },
            fires: &[AddressIncomplete],
            says: &[
                "地址不完整（missing_county、missing_detail）",
                "请联系买家补全地址",
            ],
        },
        Case {
            name: "an incomplete address is held even when doubtful ones are not",
            settings: |s| s.hold_doubtful_address = false,
            facts: |f| f.address.verdict = AddressVerdict::Incomplete,
            fires: &[AddressIncomplete],
            says: &["地址不完整："],
        },
        Case {
            name: "a doubtful address, with the parser's reasons",
            settings: DEFAULTS,
            facts: |f| {
                f.address.verdict = AddressVerdict::Doubtful;
                f.address.reasons = vec!["ambiguous_division".into()];
            },
            fires: &[AddressDoubtful],
            says: &["地址存疑（ambiguous_division）", "请核对收件地址"],
        },
        Case {
            name: "a doubtful address passes when the merchant does not hold those",
            settings: |s| s.hold_doubtful_address = false,
            facts: |f| f.address.verdict = AddressVerdict::Doubtful,
            fires: &[],
            says: &[],
        },
        Case {
            name: "an ok address with leftover reasons passes",
            settings: DEFAULTS,
            facts: |f| f.address.reasons = vec!["corrected_city".into()],
            fires: &[],
            says: &[],
        },
        // SKU mapping.
        Case {
            name: "an unmapped line is named by position and title",
            settings: DEFAULTS,
            facts: |f| {
                let mut l = line(2);
                l.title = "赠品贴纸".into();
                l.sku = None;
                f.lines.push(l);
            },
            fires: &[UnmappedSku],
            says: &[
                "第2行「赠品贴纸」未匹配商家商品",
                "请在商品对应中关联商家编码",
            ],
        },
        // Stock.
        Case {
            name: "more units than available",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].quantity = 3;
                f.lines[0].paid = Fen(6000);
                sku(f, 0).available = 2;
            },
            fires: &[OutOfStock],
            says: &["A-100 需要 3 件，可用 2 件，缺 1 件", "请补货或调拨"],
        },
        Case {
            name: "exactly the units available",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].quantity = 2;
                f.lines[0].paid = Fen(4000);
                sku(f, 0).available = 2;
            },
            fires: &[],
            says: &[],
        },
        Case {
            name: "a bundle needs units per item times items",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].quantity = 2;
                f.lines[0].paid = Fen(4000);
                sku(f, 0).units_per_item = 2;
                sku(f, 0).available = 3;
            },
            fires: &[OutOfStock],
            says: &["A-100 需要 4 件，可用 3 件，缺 1 件"],
        },
        Case {
            name: "two lines of one SKU are needed together, against the first line's stock",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].quantity = 2;
                f.lines[0].paid = Fen(4000);
                sku(f, 0).available = 3;
                let mut second = line(2);
                second.quantity = 2;
                second.paid = Fen(4000);
                if let Some(s) = second.sku.as_mut() {
                    s.available = 99;
                }
                f.lines.push(second);
            },
            fires: &[OutOfStock],
            says: &["A-100 需要 4 件，可用 3 件，缺 1 件"],
        },
        Case {
            name: "over-reserved stock counts as none",
            settings: DEFAULTS,
            facts: |f| sku(f, 0).available = -2,
            fires: &[OutOfStock],
            says: &["A-100 需要 1 件，可用 0 件，缺 1 件"],
        },
        // After-sales, notes, blacklist.
        Case {
            name: "a refund or after-sale is open",
            settings: DEFAULTS,
            facts: |f| f.refund_pending = true,
            fires: &[RefundPending],
            says: &["退款或售后", "请先处理售后"],
        },
        Case {
            name: "the buyer wrote a note",
            settings: DEFAULTS,
            facts: |f| f.buyer_note = Some("请周五前发货".into()),
            fires: &[BuyerNote],
            says: &["买家有留言", "请阅读"],
        },
        Case {
            name: "a blank buyer note is no note",
            settings: DEFAULTS,
            facts: |f| f.buyer_note = Some(" \n ".into()),
            fires: &[],
            says: &[],
        },
        Case {
            name: "a flag word in the seller's note",
            settings: DEFAULTS,
            facts: |f| f.seller_note = Some("客户来电，先暂停，可能要改地址".into()),
            fires: &[SellerNoteFlag],
            says: &["卖家备注含“暂停”、“改地址”", "请按备注处理"],
        },
        Case {
            name: "a seller's note without flag words",
            settings: DEFAULTS,
            facts: |f| f.seller_note = Some("已核对，正常发".into()),
            fires: &[],
            says: &[],
        },
        Case {
            name: "flag words match ASCII letters in any case",
            settings: |s| s.seller_note_flags = vec!["VIP".into()],
            facts: |f| f.seller_note = Some("vip客户，加急".into()),
            fires: &[SellerNoteFlag],
            says: &["卖家备注含“VIP”"],
        },
        Case {
            name: "an empty flag word in unvalidated settings holds nothing",
            settings: |s| s.seller_note_flags = vec![" ".into()],
            facts: |f| f.seller_note = Some("正常发".into()),
            fires: &[],
            says: &[],
        },
        Case {
            name: "a blacklisted receiver, with the reason",
            settings: DEFAULTS,
            facts: |f| f.blacklisted = Some("多次拒收".into()),
            fires: &[RiskyReceiver],
            says: &["收件人在黑名单中（多次拒收）", "请核实"],
        },
        // Prices.
        Case {
            name: "paid below cost",
            settings: DEFAULTS,
            facts: |f| f.lines[0].paid = Fen(999),
            fires: &[PriceAnomaly],
            says: &[
                "第1行「纯棉T恤」（A-100）实付 ¥9.99 低于成本 ¥10.00",
                "请财务核实价格",
            ],
        },
        Case {
            name: "paid exactly the cost",
            settings: DEFAULTS,
            facts: |f| f.lines[0].paid = Fen(1000),
            fires: &[],
            says: &[],
        },
        Case {
            name: "cost counts every unit of a bundle",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].quantity = 2;
                f.lines[0].paid = Fen(3998);
                sku(f, 0).units_per_item = 2;
            },
            fires: &[PriceAnomaly],
            says: &["实付 ¥39.98 低于成本 ¥40.00"],
        },
        Case {
            name: "below cost passes when the merchant does not check cost",
            settings: |s| s.hold_below_cost = false,
            facts: |f| f.lines[0].paid = Fen(999),
            fires: &[],
            says: &[],
        },
        Case {
            name: "paid below 30% of the list price",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].unit_price = Fen(10_000);
                f.lines[0].paid = Fen(2999);
            },
            fires: &[PriceAnomaly],
            says: &["实付 ¥29.99 低于标价 ¥100.00 的 30%"],
        },
        Case {
            name: "paid exactly 30% of the list price",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].unit_price = Fen(10_000);
                f.lines[0].paid = Fen(3000);
            },
            fires: &[],
            says: &[],
        },
        Case {
            name: "the share is compared exactly, without rounding the threshold (¥9.99 × 30% = ¥2.997)",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].unit_price = Fen(333);
                f.lines[0].quantity = 3;
                f.lines[0].paid = Fen(299);
                sku(f, 0).cost = Fen(0);
            },
            fires: &[PriceAnomaly],
            says: &["实付 ¥2.99 低于标价 ¥9.99 的 30%"],
        },
        Case {
            name: "without a share, only cost is checked",
            settings: |s| s.min_price_percent = None,
            facts: |f| {
                f.lines[0].unit_price = Fen(10_000);
                f.lines[0].paid = Fen(2999);
            },
            fires: &[],
            says: &[],
        },
        Case {
            name: "a gift listed at ¥0 is never an anomaly",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].unit_price = Fen(0);
                f.lines[0].paid = Fen(0);
            },
            fires: &[],
            says: &[],
        },
        Case {
            name: "an unmapped line is not judged on price",
            settings: DEFAULTS,
            facts: |f| {
                f.lines[0].paid = Fen(1);
                f.lines[0].sku = None;
            },
            fires: &[UnmappedSku],
            says: &[],
        },
        // Presale.
        Case {
            name: "a presale order before its ship date, dated in China time",
            settings: DEFAULTS,
            // 2025-06-19 17:00 UTC is 2025-06-20 01:00 in Shanghai.
            facts: |f| {
                f.presale_ship_at = Some(Utc.with_ymd_and_hms(2025, 6, 19, 17, 0, 0).unwrap())
            },
            fires: &[PresaleNotDue],
            says: &["预计 2025-06-20 发货", "到期前请勿发货"],
        },
        Case {
            name: "a presale order on its ship date",
            settings: DEFAULTS,
            facts: |f| f.presale_ship_at = Some(now()),
            fires: &[],
            says: &[],
        },
        // Everything.
        Case {
            name: "every rule at once, in code order in the one default stage",
            settings: DEFAULTS,
            facts: trips_everything,
            fires: &[
                AddressIncomplete,
                OutOfStock,
                RefundPending,
                BuyerNote,
                SellerNoteFlag,
                PriceAnomaly,
                PresaleNotDue,
                RiskyReceiver,
                UnmappedSku,
            ],
            says: &[],
        },
        Case {
            name: "disabled rules never fire",
            settings: |s| s.disabled = ReasonCode::ALL.to_vec(),
            facts: trips_everything,
            fires: &[],
            says: &[],
        },
        Case {
            name: "a disabled rule is skipped, the others still fire",
            settings: |s| s.disabled = vec![PriceAnomaly, BuyerNote],
            facts: |f| {
                f.buyer_note = Some("周五前发".into());
                f.lines[0].paid = Fen(1);
                f.refund_pending = true;
            },
            fires: &[RefundPending],
            says: &[],
        },
        Case {
            name: "a disabled address rule holds no doubtful address",
            settings: |s| s.disabled = vec![AddressDoubtful],
            facts: |f| f.address.verdict = AddressVerdict::Doubtful,
            fires: &[],
            says: &[],
        },
    ];

    #[test]
    fn each_rule_fires_on_its_case_and_not_beside_it() {
        for case in CASES {
            let mut settings = ReviewSettings::default();
            (case.settings)(&mut settings);
            let mut facts = clean();
            (case.facts)(&mut facts);
            let findings = review(&settings, &facts);
            let codes: Vec<ReasonCode> = findings.iter().map(|f| f.code).collect();
            assert_eq!(codes, case.fires, "{}: {findings:#?}", case.name);
            let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
            for fragment in case.says {
                assert!(
                    messages.iter().any(|m| m.contains(fragment)),
                    "{}: no message says {fragment:?} in {messages:#?}",
                    case.name
                );
            }
            for finding in &findings {
                assert!(
                    finding.message.contains('请'),
                    "{}: {:?} does not say what to do: {}",
                    case.name,
                    finding.code,
                    finding.message
                );
                says_the_same_in_english(case.name, finding);
            }
        }
    }

    /// The English message names the same particulars (every number, amount and code of the
    /// Chinese one), says what to do, and has no Chinese of its own: Chinese in it can only be
    /// what the merchant or buyer wrote (a title, a flag word, a blacklist reason).
    fn says_the_same_in_english(case: &str, finding: &Finding) {
        let (zh, en) = (&finding.message, &finding.message_en);
        let runs = |text: &str, keep: fn(char) -> bool| -> Vec<String> {
            text.split(|c: char| !keep(c))
                .filter(|run| !run.is_empty())
                .map(String::from)
                .collect()
        };
        let particular = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '%');
        for token in runs(zh, particular) {
            assert!(
                en.contains(&token),
                "{case}: {token:?} of {zh:?} is missing from {en:?}"
            );
        }
        let chinese = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        for run in runs(en, chinese) {
            assert!(
                zh.contains(&run),
                "{case}: {en:?} says {run:?}, which is not particulars"
            );
        }
        assert!(
            en.contains("review") || en.contains("deciding"),
            "{case}: {en:?} does not say what to do"
        );
    }

    /// Three stages: service reads notes, finance checks prices, the warehouse gets the rest.
    fn staged() -> ReviewSettings {
        ReviewSettings {
            stages: vec![
                ReviewStage {
                    name: "客服审核".into(),
                    role: Role::Service,
                    rules: vec![SellerNoteFlag, BuyerNote],
                },
                ReviewStage {
                    name: "财审".into(),
                    role: Role::Finance,
                    rules: vec![PriceAnomaly],
                },
                ReviewStage {
                    name: "仓库确认".into(),
                    role: Role::Warehouse,
                    rules: vec![OutOfStock],
                },
            ],
            ..ReviewSettings::default()
        }
    }

    #[test]
    fn a_rule_belongs_to_the_stage_that_names_it_or_else_the_last() {
        let cases = [
            ("named in the first stage", BuyerNote, 0),
            (
                "named in the first stage, second in its list",
                SellerNoteFlag,
                0,
            ),
            ("named in the second stage", PriceAnomaly, 1),
            ("named in the last stage", OutOfStock, 2),
            ("named nowhere", RiskyReceiver, 2),
            ("named nowhere either", AddressIncomplete, 2),
        ];
        let settings = staged();
        for (name, code, stage) in cases {
            assert_eq!(settings.stage_of(code), stage, "{name}");
        }
        for code in ReasonCode::ALL {
            assert_eq!(ReviewSettings::default().stage_of(code), 0, "{code:?}");
        }
    }

    #[test]
    fn findings_come_by_stage_then_by_code() {
        let mut facts = clean();
        trips_everything(&mut facts);
        let got: Vec<(usize, ReasonCode)> = review(&staged(), &facts)
            .iter()
            .map(|f| (f.stage, f.code))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, BuyerNote),
                (0, SellerNoteFlag),
                (1, PriceAnomaly),
                (2, AddressIncomplete),
                (2, OutOfStock),
                (2, RefundPending),
                (2, PresaleNotDue),
                (2, RiskyReceiver),
                (2, UnmappedSku),
            ]
        );
    }

    #[test]
    fn settings_are_checked_before_they_are_stored() {
        type Tweak = fn(&mut ReviewSettings);
        // (name, change to the defaults, refused field or None when accepted)
        let cases: &[(&str, Tweak, Option<&str>)] = &[
            ("the defaults", |_| {}, None),
            ("three stages", |s| *s = staged(), None),
            (
                "every rule disabled",
                |s| s.disabled = ReasonCode::ALL.to_vec(),
                None,
            ),
            ("100 percent", |s| s.min_price_percent = Some(100), None),
            ("0 percent", |s| s.min_price_percent = Some(0), None),
            ("no share", |s| s.min_price_percent = None, None),
            ("no flag words", |s| s.seller_note_flags.clear(), None),
            ("no stage", |s| s.stages.clear(), Some("stages")),
            (
                "a rule in two stages",
                |s| {
                    *s = staged();
                    s.stages[2].rules.push(BuyerNote);
                },
                Some("stages.rules"),
            ),
            (
                "a rule twice in one stage",
                |s| s.stages[0].rules = vec![BuyerNote, BuyerNote],
                Some("stages.rules"),
            ),
            (
                "an empty flag word",
                |s| s.seller_note_flags.push("  ".into()),
                Some("seller_note_flags"),
            ),
            (
                "101 percent",
                |s| s.min_price_percent = Some(101),
                Some("min_price_percent"),
            ),
            (
                "an empty stage name",
                |s| s.stages[0].name = " ".into(),
                Some("stages.name"),
            ),
        ];
        for &(name, tweak, refused) in cases {
            let mut settings = ReviewSettings::default();
            tweak(&mut settings);
            let got = settings.validate().map_err(|e| e.field);
            match refused {
                None => assert!(got.is_ok(), "{name}: {got:?}"),
                Some(field) => assert_eq!(got.err(), Some(field), "{name}"),
            }
        }
    }

    #[test]
    fn validated_names_and_flag_words_are_trimmed() {
        let mut settings = ReviewSettings::default();
        settings.stages[0].name = " 客服审核 ".into();
        settings.seller_note_flags = vec![" 暂停 ".into()];
        let settings = settings.validate().unwrap();
        assert_eq!(settings.stages[0].name, "客服审核");
        assert_eq!(settings.seller_note_flags, vec!["暂停".to_string()]);
    }

    #[test]
    fn the_defaults_hold_what_a_merchant_expects() {
        let d = ReviewSettings::default();
        assert!(ReasonCode::ALL.iter().all(|&c| d.is_enabled(c)));
        assert!(d.hold_doubtful_address && d.hold_below_cost);
        assert_eq!(d.min_price_percent, Some(30));
        assert_eq!(
            d.seller_note_flags,
            ["暂停", "不发", "缓发", "改地址", "换货", "退款"]
        );
        assert_eq!(d.stages.len(), 1);
        assert_eq!(
            (d.stages[0].name.as_str(), d.stages[0].role),
            ("审核", Role::Service)
        );
        assert!(d.stages[0].rules.is_empty());
        let from_empty: ReviewSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(from_empty, d);
        assert!(serde_json::from_str::<ReviewSettings>(r#"{"stage":[]}"#).is_err());
    }

    #[test]
    fn reason_codes_round_trip_and_match_serde() {
        for code in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(code.as_str()), Ok(code), "{code:?}");
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str()),
                "{code:?}"
            );
            assert!(!code.label_zh().is_empty(), "{code:?}");
        }
        let unknown = ["", "address", "Address_Incomplete", "out-of-stock"];
        for s in unknown {
            assert!(ReasonCode::parse(s).is_err(), "{s:?}");
        }
        let labels: std::collections::BTreeSet<&str> =
            ReasonCode::ALL.iter().map(|c| c.label_zh()).collect();
        assert_eq!(labels.len(), ReasonCode::ALL.len(), "labels are distinct");
    }
}
