//! Order use-cases: take in manual orders, list and show orders with masked receivers,
//! reveal a receiver (audited), and review actions (approve, hold, release, cancel).

use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Utc};
use fahuo_domain::catalog::Shop;
use fahuo_domain::fulfilment::Hold;
use fahuo_domain::order::{MaskedReceiver, NewOrder, NewOrderLine, Order, OrderLine, Receiver};
use fahuo_domain::{
    Fen, OrderEvent, OrderId, OrderState, ParseError, Permission, Platform, PlatformOrderId,
    ShopId, SkuCode,
};
use fahuo_store::Page;
use fahuo_store::orders::{OrderFilter, OrderSummary, Upsert};
use serde::{Deserialize, Serialize};

mod bulk;
mod detail;
pub use bulk::{
    BulkAction, BulkFailure, BulkOutcome, BulkRequest, MAX_BULK, MergeOutcome, error_code,
};
pub use detail::OrderPackage;

/// A receiver as typed into the API or an import.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiverInput {
    pub name: String,
    pub phone: String,
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub county: String,
    pub detail: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineInput {
    pub sku_code: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    /// Defaults to quantity × unit price.
    pub paid_fen: Option<i64>,
}

/// A manual order (手工单) from another channel.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderInput {
    /// A shop of platform `manual`.
    pub shop_id: i64,
    /// The order number in the other channel; re-sending it updates nothing (idempotent).
    pub platform_order_id: String,
    /// Defaults to the sum of the lines plus freight.
    pub paid_total_fen: Option<i64>,
    #[serde(default)]
    pub freight_fen: i64,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub ship_by: Option<DateTime<Utc>>,
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub receiver: ReceiverInput,
    pub lines: Vec<LineInput>,
}

impl ReceiverInput {
    pub fn parse(&self) -> Result<Receiver, ParseError> {
        Receiver::parse(
            &self.name,
            &self.phone,
            &self.province,
            &self.city,
            &self.county,
            &self.detail,
        )
    }
}

impl OrderInput {
    /// Parses the input into a validated domain order.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewOrder, ParseError> {
        let lines = self
            .lines
            .iter()
            .map(|l| {
                Ok(NewOrderLine {
                    platform_line_id: None,
                    platform_sku_id: None,
                    sku_code: l
                        .sku_code
                        .as_deref()
                        .filter(|c| !c.trim().is_empty())
                        .map(SkuCode::parse)
                        .transpose()?,
                    title: l.title.trim().chars().take(200).collect(),
                    quantity: l.quantity,
                    unit_price: Fen(l.unit_price_fen),
                    paid: Fen(l
                        .paid_fen
                        .unwrap_or(l.unit_price_fen.saturating_mul(l.quantity))),
                })
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        let lines_total: Fen = lines.iter().map(|l| l.paid).sum();
        let note = |n: &Option<String>| {
            n.as_ref()
                .map(|s| s.trim().chars().take(1000).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        NewOrder {
            shop_id: ShopId(self.shop_id),
            platform_order_id: PlatformOrderId::parse(&self.platform_order_id)?,
            platform_status: "manual".into(),
            paid_total: Fen(self
                .paid_total_fen
                .unwrap_or(lines_total.get() + self.freight_fen)),
            freight: Fen(self.freight_fen),
            buyer_note: note(&self.buyer_note),
            seller_note: note(&self.seller_note),
            paid_at: Some(now),
            ship_by: self.ship_by,
            presale_ship_at: self.presale_ship_at,
            platform_updated_at: Some(now),
            receiver: self.receiver.parse()?,
            lines,
        }
        .validate()
    }
}

/// An order as staff and integrations see it: receiver masked, holds included.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: OrderId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: String,
    pub state: OrderState,
    /// The state in Chinese, as the console shows it.
    pub state_label: String,
    pub platform_status: String,
    pub paid_total_fen: Fen,
    pub freight_fen: Fen,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub receiver: MaskedReceiver,
    pub lines: Vec<OrderLine>,
    pub holds: Vec<Hold>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderView {
    fn new(o: Order, holds: Vec<Hold>) -> OrderView {
        OrderView {
            id: o.id,
            shop_id: o.shop_id,
            platform: o.platform,
            platform_order_id: o.platform_order_id.to_string(),
            state: o.state,
            state_label: o.state.label_zh().to_string(),
            platform_status: o.platform_status,
            paid_total_fen: o.paid_total,
            freight_fen: o.freight,
            buyer_note: o.buyer_note,
            seller_note: o.seller_note,
            paid_at: o.paid_at,
            ship_by: o.ship_by,
            presale_ship_at: o.presale_ship_at,
            receiver: o.receiver.masked(),
            lines: o.lines,
            holds,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// The order list's query, as it arrives from the API or the console.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct OrderQuery {
    /// Internal state, e.g. `new`, `on_hold`, `approved`.
    pub state: Option<String>,
    pub shop_id: Option<i64>,
    /// `wechat`, `douyin`, `xiaohongshu` or `manual`.
    pub platform: Option<String>,
    /// The platform's order number, exactly.
    pub platform_order_id: Option<String>,
    /// The last four digits of the receiver's phone.
    pub phone: Option<String>,
    /// Only orders whose ship-by deadline is before this instant.
    pub ship_by_before: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub after: Option<i64>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
}

impl OrderQuery {
    pub fn parse(&self) -> Result<OrderFilter, ParseError> {
        let blank = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let phone = blank(&self.phone);
        if let Some(p) = &phone
            && (p.len() != 4 || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ParseError::new(
                "phone",
                "the last four digits of the phone",
            ));
        }
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ParseError::new("limit", "between 1 and 500"));
        }
        Ok(OrderFilter {
            state: blank(&self.state)
                .map(|s| OrderState::parse(&s))
                .transpose()?,
            shop_id: self.shop_id.map(ShopId),
            platform: blank(&self.platform)
                .map(|p| Platform::parse(&p))
                .transpose()?,
            platform_order_id: blank(&self.platform_order_id)
                .map(|p| PlatformOrderId::parse(&p).map(String::from))
                .transpose()?,
            phone_last_four: phone,
            ship_by_before: self.ship_by_before,
            created_from: self.created_from,
            created_to: self.created_to,
            after: self.after,
            limit,
        })
    }
}

impl App {
    /// Creates (or, if sent again, finds) a manual order.
    pub async fn create_manual_order(
        &self,
        actor: &Actor,
        input: &OrderInput,
    ) -> Result<(Upsert, OrderView)> {
        actor.require(Permission::EditOrders)?;
        let now = self.now();
        let order = input.parse(now)?;
        self.manual_shop(actor, order.shop_id).await?;
        let outcome = self
            .store()
            .upsert_order(actor.tenant_id, &order, &actor.audit_ref(), now)
            .await?;
        if let Upsert::Updated(id) = outcome {
            self.follow_readdress(actor.tenant_id, id, &order.receiver, &actor.audit_ref())
                .await?;
        }
        Ok((outcome, self.order(actor, outcome.order_id()).await?))
    }

    /// The actor's shop, if it is a manual shop (the only kind that takes orders typed in or
    /// imported; the others get theirs from the platform).
    pub(crate) async fn manual_shop(&self, actor: &Actor, id: ShopId) -> Result<Shop> {
        let shop = self.store().shop(actor.tenant_id, id).await?;
        if shop.platform != Platform::Manual {
            return Err(AppError::Conflict(format!(
                "shop {} is a {} shop: its orders come from the platform; use a manual shop",
                shop.id,
                shop.platform.label_zh()
            )));
        }
        Ok(shop)
    }

    pub async fn orders(&self, actor: &Actor, query: &OrderQuery) -> Result<Page<OrderSummary>> {
        actor.require(Permission::ViewOrders)?;
        let filter = query.parse()?;
        Ok(self.store().orders(actor.tenant_id, &filter).await?)
    }

    pub async fn order_counts(&self, actor: &Actor) -> Result<Vec<(OrderState, i64)>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().order_counts(actor.tenant_id).await?)
    }

    pub async fn order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::ViewOrders)?;
        let order = self.store().order(actor.tenant_id, id).await?;
        let holds = self.store().holds(actor.tenant_id, id).await?;
        Ok(OrderView::new(order, holds))
    }

    /// Shows the receiver in clear, for a person who needs it (a phone call, a hand-written
    /// label). Every reveal is in the audit log.
    pub async fn reveal_receiver(&self, actor: &Actor, id: OrderId) -> Result<Receiver> {
        actor.require(Permission::RevealReceiver)?;
        let order = self.store().order(actor.tenant_id, id).await?;
        let mut audit = actor.audit("receiver.reveal", "order", self.now());
        audit.entity_id = Some(id.get());
        self.store().append_audit(&audit).await?;
        Ok(order.receiver)
    }

    /// Approves a new or held order (审核通过); a held order's holds are released.
    pub async fn approve_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::ReviewOrders)?;
        let now = self.now();
        let order = self.store().order(actor.tenant_id, id).await?;
        if order.state == OrderState::OnHold {
            self.store()
                .release_order(actor.tenant_id, id, &actor.audit_ref(), now)
                .await?;
        } else if order.state.is_before_shipping() && order.state != OrderState::New {
            // Already past review (the review job may have approved and allocated it a moment
            // ago): approving again changes nothing.
        } else {
            self.store()
                .transition_order(
                    actor.tenant_id,
                    id,
                    OrderEvent::Approve,
                    &actor.audit_ref(),
                    now,
                )
                .await?;
        }
        self.order(actor, id).await
    }

    /// Puts an order aside with a reason a person can act on.
    pub async fn hold_order(
        &self,
        actor: &Actor,
        id: OrderId,
        reason_code: &str,
        message: &str,
    ) -> Result<OrderView> {
        actor.require(Permission::ReviewOrders)?;
        let code = reason_code.trim();
        if code.is_empty()
            || code.len() > 64
            || !code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            return Err(ParseError::new(
                "reason_code",
                "lowercase letters and _ (e.g. manual, address_incomplete)",
            )
            .into());
        }
        let message: String = message.trim().chars().take(500).collect();
        if message.is_empty() {
            return Err(
                ParseError::new("message", "say why, so that someone can act on it").into(),
            );
        }
        self.store()
            .hold_order(
                actor.tenant_id,
                id,
                code,
                &message,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.order(actor, id).await
    }

    /// Cancels an order that has not shipped (e.g. the buyer cancelled by phone).
    pub async fn cancel_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::EditOrders)?;
        self.store()
            .transition_order(
                actor.tenant_id,
                id,
                OrderEvent::Cancel,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.order(actor, id).await
    }
}
