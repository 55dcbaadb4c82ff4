//! Shipping write-back rules (发货回传): which step tells the platform, when an order counts as
//! shipped, which number changes a platform still allows, and when a dropship supplier is late.
//!
//! Pure: the store and the outbox carry these decisions out.

use crate::{OrderState, Platform};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The step after which fahuo tells the platform the parcel left (发货节点). "Label printed" and
/// "platform shipped" stay different facts; this only chooses how soon the second follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipTrigger {
    /// 打单即发货: as soon as the label is printed the first time.
    #[default]
    AfterPrint,
    /// 验货后发货: when pack verification passes.
    AfterPack,
    /// 称重后发货: when the parcel's weight is recorded (and within tolerance).
    AfterWeigh,
}

/// A merchant's shipping settings (`tenant_settings` kind `shipping`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ShippingSettings {
    pub trigger: ShipTrigger,
    /// A weighed parcel may differ from the expected weight by this percentage...
    pub weight_tolerance_percent: u32,
    /// ...or by this many grams, whichever is larger (light parcels need an absolute margin).
    pub weight_tolerance_grams: i64,
    /// Box and filler, added to the items' weights for the expected weight.
    pub packaging_grams: i64,
    /// What the box and filler of one parcel cost, in fen (the reports' packaging share).
    pub packaging_fen: i64,
    /// A dropship supplier who has not entered a number this many hours after the assignment
    /// is late (and sooner when the order's ship-by deadline is closer).
    pub supplier_hours: u32,
    /// How long a supplier's link stays valid.
    pub supplier_link_days: u32,
}

impl Default for ShippingSettings {
    fn default() -> Self {
        ShippingSettings {
            trigger: ShipTrigger::AfterPrint,
            weight_tolerance_percent: 10,
            weight_tolerance_grams: 50,
            packaging_grams: 0,
            packaging_fen: 0,
            supplier_hours: 24,
            supplier_link_days: 7,
        }
    }
}

impl ShippingSettings {
    pub fn validate(&self) -> Result<(), crate::ParseError> {
        if self.weight_tolerance_percent > 100 {
            return Err(crate::ParseError::new(
                "weight_tolerance_percent",
                "0 to 100",
            ));
        }
        if !(0..=100_000).contains(&self.weight_tolerance_grams)
            || !(0..=100_000).contains(&self.packaging_grams)
        {
            return Err(crate::ParseError::new(
                "weight_tolerance_grams",
                "0 to 100000 grams",
            ));
        }
        if !(0..=100_000).contains(&self.packaging_fen) {
            return Err(crate::ParseError::new("packaging_fen", "0 to 100000 fen"));
        }
        if !(1..=24 * 30).contains(&self.supplier_hours) {
            return Err(crate::ParseError::new("supplier_hours", "1 to 720 hours"));
        }
        if !(1..=90).contains(&self.supplier_link_days) {
            return Err(crate::ParseError::new("supplier_link_days", "1 to 90 days"));
        }
        Ok(())
    }
}

/// Where a shipment's number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentSource {
    /// A fahuo waybill, sent by the merchant's trigger (print, pack or weigh).
    Waybill,
    /// Typed by a person through the API or console.
    Manual,
    /// A row of an imported tracking-number file.
    Import,
    /// Entered by a dropship supplier on their page.
    Supplier,
}

impl ShipmentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentSource::Waybill => "waybill",
            ShipmentSource::Manual => "manual",
            ShipmentSource::Import => "import",
            ShipmentSource::Supplier => "supplier",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::ParseError> {
        [
            ShipmentSource::Waybill,
            ShipmentSource::Manual,
            ShipmentSource::Import,
            ShipmentSource::Supplier,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| crate::ParseError::new("source", format!("unknown source {s:?}")))
    }
}

/// Whether every unit still owed on the order is in a parcel the platform accepted.
/// `owed`: (order line, units ordered minus refunded); `shipped`: (order line, units) of every
/// accepted shipment, a line may appear several times.
pub fn fully_shipped(owed: &[(i64, i64)], shipped: &[(i64, i64)]) -> bool {
    let mut sent: BTreeMap<i64, i64> = BTreeMap::new();
    for &(line, units) in shipped {
        *sent.entry(line).or_default() += units;
    }
    owed.iter()
        .all(|&(line, units)| units <= 0 || sent.get(&line).copied().unwrap_or(0) >= units)
}

/// What a change of a shipped number must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeContext {
    pub platform: Platform,
    pub order_state: OrderState,
    /// Changes the platform accepted for this order before.
    pub changes_so_far: u32,
    /// Parcels the order was shipped in (more than one means split shipping).
    pub parcels: usize,
}

/// WeChat Shop allows logistics information to be changed at most this many times per order
/// (reference: anchors.md, complaints §7; error 606040).
pub const WECHAT_MAX_CHANGES: u32 = 3;

/// Why a platform will not take a number change, before asking it; `None` when it may.
/// The platform still has the last word: its refusal is stored as it says it.
pub fn change_refusal(ctx: ChangeContext) -> Option<String> {
    if !matches!(ctx.order_state, OrderState::Shipped | OrderState::InTransit) {
        return Some(match ctx.order_state {
            OrderState::Delivered => "订单已签收，平台不再允许修改物流信息".to_string(),
            s if s.is_before_shipping() => "订单尚未发货，无需修改单号：直接发货即可".to_string(),
            _ => "订单当前状态不允许修改物流信息".to_string(),
        });
    }
    match ctx.platform {
        Platform::Wechat if ctx.parcels > 1 => {
            Some("微信小店：拆单发货的订单不能修改物流信息（606040）".to_string())
        }
        Platform::Wechat if ctx.changes_so_far >= WECHAT_MAX_CHANGES => Some(format!(
            "微信小店：每个订单最多修改 {WECHAT_MAX_CHANGES} 次物流信息，已修改 {} 次",
            ctx.changes_so_far
        )),
        Platform::Manual => Some("手工店铺没有平台可通知，请直接修改订单备注".to_string()),
        _ => None,
    }
}

/// A dropship assignment's lateness: late once `supplier_hours` have passed since it was
/// assigned, or when less than a quarter of that is left before the order's ship-by deadline.
pub fn supplier_late(
    assigned_at: DateTime<Utc>,
    ship_by: Option<DateTime<Utc>>,
    settings: &ShippingSettings,
    now: DateTime<Utc>,
) -> bool {
    let allowed = Duration::hours(i64::from(settings.supplier_hours));
    if now >= assigned_at + allowed {
        return true;
    }
    match ship_by {
        Some(deadline) => now >= deadline - allowed / 4,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_order_is_shipped_when_every_owed_unit_is_in_an_accepted_parcel() {
        let owed = [(1, 2), (2, 1)];
        assert!(!fully_shipped(&owed, &[]));
        assert!(!fully_shipped(&owed, &[(1, 2)]), "line 2 still owed");
        assert!(
            !fully_shipped(&owed, &[(1, 1), (2, 1)]),
            "one unit of line 1 owed"
        );
        assert!(
            fully_shipped(&owed, &[(1, 1), (2, 1), (1, 1)]),
            "two parcels"
        );
        assert!(
            fully_shipped(&[(1, 2), (2, 0)], &[(1, 2)]),
            "refunded line owes nothing"
        );
    }

    fn ctx(platform: Platform, state: OrderState, changes: u32, parcels: usize) -> ChangeContext {
        ChangeContext {
            platform,
            order_state: state,
            changes_so_far: changes,
            parcels,
        }
    }

    #[test]
    fn wechat_allows_three_changes_and_none_after_split_shipping() {
        use OrderState::Shipped;
        assert_eq!(change_refusal(ctx(Platform::Wechat, Shipped, 0, 1)), None);
        assert_eq!(change_refusal(ctx(Platform::Wechat, Shipped, 2, 1)), None);
        assert!(
            change_refusal(ctx(Platform::Wechat, Shipped, 3, 1))
                .unwrap()
                .contains("3 次")
        );
        assert!(
            change_refusal(ctx(Platform::Wechat, Shipped, 0, 2))
                .unwrap()
                .contains("606040")
        );
        assert_eq!(change_refusal(ctx(Platform::Douyin, Shipped, 5, 2)), None);
        assert_eq!(
            change_refusal(ctx(Platform::Xiaohongshu, OrderState::InTransit, 1, 1)),
            None
        );
    }

    #[test]
    fn numbers_change_only_between_shipping_and_delivery() {
        for state in [
            OrderState::Printed,
            OrderState::Delivered,
            OrderState::Refunded,
        ] {
            assert!(
                change_refusal(ctx(Platform::Douyin, state, 0, 1)).is_some(),
                "{state}"
            );
        }
    }

    #[test]
    fn a_supplier_is_late_after_the_allowed_hours_or_near_the_deadline() {
        let s = ShippingSettings::default();
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert!(!supplier_late(t0, None, &s, t0 + Duration::hours(23)));
        assert!(supplier_late(t0, None, &s, t0 + Duration::hours(24)));
        let deadline = t0 + Duration::hours(10);
        assert!(!supplier_late(
            t0,
            Some(deadline),
            &s,
            t0 + Duration::hours(3)
        ));
        assert!(
            supplier_late(t0, Some(deadline), &s, t0 + Duration::hours(4)),
            "6 h of 24 left"
        );
    }

    #[test]
    fn settings_are_checked() {
        assert!(ShippingSettings::default().validate().is_ok());
        let bad = ShippingSettings {
            weight_tolerance_percent: 101,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let parsed: ShippingSettings = serde_json::from_str(r#"{"trigger":"after_pack"}"#).unwrap();
        assert_eq!(parsed.trigger, ShipTrigger::AfterPack);
        assert_eq!(parsed.weight_tolerance_percent, 10);
    }
}
