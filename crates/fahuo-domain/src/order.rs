//! Orders and their lines as synced from a platform (or typed in), and their receiver.

use crate::{
    Fen, OrderId, OrderLineId, OrderState, ParseError, Phone, Platform, PlatformOrderId, ShopId,
    SkuCode, SkuId, TenantId, pii,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who gets the parcel. All of it is PII: encrypted at rest, masked by default.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receiver {
    pub name: String,
    pub phone: Phone,
    pub province: String,
    pub city: String,
    pub county: String,
    /// Town/street and the rest of the address (街道、门牌、楼栋).
    pub detail: String,
}

impl Receiver {
    pub fn parse(
        name: &str,
        phone: &str,
        province: &str,
        city: &str,
        county: &str,
        detail: &str,
    ) -> Result<Receiver, ParseError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            return Err(ParseError::new("receiver.name", "1 to 50 characters"));
        }
        if province.trim().is_empty() {
            return Err(ParseError::new("receiver.province", "must not be empty"));
        }
        if detail.trim().is_empty() || detail.chars().count() > 300 {
            return Err(ParseError::new("receiver.detail", "1 to 300 characters"));
        }
        Ok(Receiver {
            name: name.to_string(),
            phone: Phone::parse(phone)?,
            province: province.trim().to_string(),
            city: city.trim().to_string(),
            county: county.trim().to_string(),
            detail: detail.trim().to_string(),
        })
    }

    /// The form shown by default: `张*`, `138****5678`, region in clear, detail hidden.
    pub fn masked(&self) -> MaskedReceiver {
        MaskedReceiver {
            name: pii::mask_name(&self.name),
            phone: self.phone.masked(),
            province: self.province.clone(),
            city: self.city.clone(),
            county: self.county.clone(),
            detail: pii::mask_detail(&self.detail),
        }
    }
}

impl std::fmt::Debug for Receiver {
    /// Debug output is masked so that a stray `{:?}` in a log line cannot leak PII.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.masked().fmt(f)
    }
}

/// A receiver as staff see it without the "show" action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaskedReceiver {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub county: String,
    pub detail: String,
}

/// One SKU line of an order (子订单), as the platform sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub id: OrderLineId,
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    /// The merchant code on the platform listing (商家编码), if any.
    pub sku_code: Option<SkuCode>,
    /// The merchant SKU it maps to, once mapped.
    pub sku_id: Option<SkuId>,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Fen,
    /// What the buyer paid for this line after discounts.
    pub paid: Fen,
}

/// An order as fahuo keeps it: the platform's facts plus fahuo's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub tenant_id: TenantId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: PlatformOrderId,
    pub state: OrderState,
    /// The platform's own status code, kept exactly as synced.
    pub platform_status: String,
    pub paid_total: Fen,
    pub freight: Fen,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The platform's ship-by deadline (承诺发货时间).
    pub ship_by: Option<DateTime<Utc>>,
    /// For presale (预售) orders: the earliest day the goods can ship.
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub platform_updated_at: Option<DateTime<Utc>>,
    pub receiver: Receiver,
    pub lines: Vec<OrderLine>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every change; used for optimistic concurrency.
    pub version: i64,
}

/// A new order line before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOrderLine {
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    pub sku_code: Option<SkuCode>,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Fen,
    pub paid: Fen,
}

/// An order as it enters fahuo (sync, webhook, API, import), validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub shop_id: ShopId,
    pub platform_order_id: PlatformOrderId,
    pub platform_status: String,
    pub paid_total: Fen,
    pub freight: Fen,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub platform_updated_at: Option<DateTime<Utc>>,
    pub receiver: Receiver,
    pub lines: Vec<NewOrderLine>,
    /// A digest of the receiver as the platform sent it before decryption, when `receiver`
    /// was decrypted from exactly that in this pull: stored with the order, so that later
    /// pulls need not decrypt the receiver again while the platform sends the same one.
    /// `None` (a receiver typed in, imported, or kept from the stored order) leaves the
    /// stored digest as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_fingerprint: Option<String>,
}

impl NewOrder {
    /// Checks what a single field cannot: at least one line, positive quantities, and
    /// amounts that are not negative.
    pub fn validate(self) -> Result<NewOrder, ParseError> {
        if self.lines.is_empty() {
            return Err(ParseError::new("lines", "an order needs at least one line"));
        }
        if self.lines.len() > 500 {
            return Err(ParseError::new("lines", "more than 500 lines"));
        }
        for line in &self.lines {
            if !(1..=100_000).contains(&line.quantity) {
                return Err(ParseError::new("lines.quantity", "between 1 and 100000"));
            }
            if line.unit_price.get() < 0 || line.paid.get() < 0 {
                return Err(ParseError::new("lines.paid", "amounts cannot be negative"));
            }
            if line.title.trim().is_empty() {
                return Err(ParseError::new("lines.title", "must not be empty"));
            }
        }
        if self.paid_total.get() < 0 || self.freight.get() < 0 {
            return Err(ParseError::new("paid_total", "amounts cannot be negative"));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> Receiver {
        Receiver::parse(
            "张三",
            "13812345678",
            "浙江省",
            "杭州市",
            "西湖区",
            "文三路90号",
        )
        .unwrap()
    }

    #[test]
    fn a_receiver_debug_print_is_masked() {
        let printed = format!("{:?}", receiver());
        assert!(printed.contains("138****5678"));
        assert!(!printed.contains("13812345678"));
        assert!(!printed.contains("文三路"));
        assert!(!printed.contains("张三"));
    }

    #[test]
    fn a_receiver_needs_name_phone_province_and_detail() {
        assert!(Receiver::parse("", "13812345678", "浙江省", "", "", "x").is_err());
        assert!(Receiver::parse("张三", "x", "浙江省", "", "", "x").is_err());
        assert!(Receiver::parse("张三", "13812345678", "", "", "", "x").is_err());
        assert!(Receiver::parse("张三", "13812345678", "浙江省", "", "", " ").is_err());
    }

    #[test]
    fn an_order_without_lines_or_with_zero_quantity_is_refused() {
        let mut order = NewOrder {
            shop_id: ShopId(1),
            platform_order_id: PlatformOrderId::parse("P1").unwrap(),
            platform_status: "20".into(),
            paid_total: Fen(100),
            freight: Fen(0),
            buyer_note: None,
            seller_note: None,
            paid_at: None,
            ship_by: None,
            presale_ship_at: None,
            platform_updated_at: None,
            receiver: receiver(),
            lines: vec![],
            receiver_fingerprint: None,
        };
        assert!(order.clone().validate().is_err());
        order.lines.push(NewOrderLine {
            platform_line_id: None,
            platform_sku_id: None,
            sku_code: None,
            title: "T恤".into(),
            quantity: 0,
            unit_price: Fen(100),
            paid: Fen(100),
        });
        assert!(order.clone().validate().is_err());
        order.lines[0].quantity = 2;
        assert!(order.validate().is_ok());
    }
}
