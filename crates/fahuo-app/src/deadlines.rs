//! Ship-by deadlines (发货时效): the at-risk queue with countdowns, alerts at the merchant's
//! thresholds, orders waiting for stock with the remedies that fit them, and delivery
//! negotiation with the platform (WeChat's deliverynegotiation).
//!
//! Every deadline is the platform's own field (`ship_by`); nothing here assumes 48 hours.

use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Duration, Utc};
use fahuo_domain::deadline::{
    Countdown, DeadlineSettings, Remedy, StockoutFacts, countdown, due_alert, stockout_remedies,
};
use fahuo_domain::{OrderId, ParseError, Permission, SkuId, TenantId};
use fahuo_store::allocation::Stockout;
use fahuo_store::review::{DeadlineAlert, DueOrder, SettingsKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The job that raises deadline alerts.
pub const DEADLINE_JOB: &str = "deadline.scan";

/// An order of the at-risk queue.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AtRiskOrder {
    #[serde(flatten)]
    pub order: DueOrder,
    pub countdown: Countdown,
}

/// An order waiting for stock, with what the merchant can do about it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockoutView {
    #[serde(flatten)]
    pub stockout: Stockout,
    /// Empty when the stock is expected before the deadline.
    pub remedies: Vec<Remedy>,
}

/// A request for a later ship-by time.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NegotiationInput {
    /// The new ship-by time proposed to the buyer.
    pub until: DateTime<Utc>,
    /// 1 buyer asked, 2 out of stock (default), 3 缺货保障, 4 wrong address.
    pub reason: Option<u8>,
    pub remark: Option<String>,
}

impl App {
    pub async fn deadline_settings(&self, actor: &Actor) -> Result<DeadlineSettings> {
        actor.require(Permission::ViewOrders)?;
        self.deadline_settings_for(actor.tenant_id).await
    }

    async fn deadline_settings_for(&self, tenant: TenantId) -> Result<DeadlineSettings> {
        Ok(self
            .store()
            .settings(tenant, None, SettingsKind::Deadline)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_deadline_settings(
        &self,
        actor: &Actor,
        settings: DeadlineSettings,
    ) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        let settings = settings.validate()?;
        let audit = actor.audit("settings.deadline", "settings", self.now());
        Ok(self
            .store()
            .set_settings(
                actor.tenant_id,
                None,
                SettingsKind::Deadline,
                Some(&settings),
                &audit,
            )
            .await?)
    }

    /// Orders not yet shipped whose deadline falls within `within_hours` (or has passed),
    /// most urgent first, each with its countdown.
    pub async fn at_risk(&self, actor: &Actor, within_hours: i64) -> Result<Vec<AtRiskOrder>> {
        actor.require(Permission::ViewOrders)?;
        if !(1..=24 * 30).contains(&within_hours) {
            return Err(ParseError::new("within_hours", "1 to 720").into());
        }
        let now = self.now();
        let settings = self.deadline_settings_for(actor.tenant_id).await?;
        let due = self
            .store()
            .orders_due(
                Some(actor.tenant_id),
                now + Duration::hours(within_hours),
                1000,
            )
            .await?;
        Ok(due
            .into_iter()
            .filter(|(_, order)| actor.scope.allows_shop(order.shop_id))
            .map(|(_, order)| AtRiskOrder {
                countdown: countdown(order.ship_by, now, &settings),
                order,
            })
            .collect())
    }

    /// Raises the alerts due now, for every tenant: one per order per threshold per deadline
    /// (several nodes may run it; the store keeps one). Returns how many were raised.
    pub async fn scan_deadlines(&self) -> Result<usize> {
        let now = self.now();
        // Far enough ahead for any tenant's largest threshold.
        let due = self
            .store()
            .orders_due(None, now + Duration::hours(720), 100_000)
            .await?;
        let mut settings: HashMap<TenantId, DeadlineSettings> = HashMap::new();
        let mut raised = 0;
        for (tenant, order) in due {
            if let std::collections::hash_map::Entry::Vacant(e) = settings.entry(tenant) {
                e.insert(self.deadline_settings_for(tenant).await?);
            }
            let Some(hours) = due_alert(order.ship_by, now, &settings[&tenant], &order.alerted)
            else {
                continue;
            };
            if self
                .store()
                .record_deadline_alert(tenant, order.order_id, order.ship_by, hours, now)
                .await?
            {
                tracing::info!(
                    tenant = tenant.get(),
                    order = order.order_id.get(),
                    hours,
                    "ship-by deadline alert"
                );
                raised += 1;
            }
        }
        Ok(raised)
    }

    pub async fn deadline_alerts(
        &self,
        actor: &Actor,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<DeadlineAlert>> {
        actor.require(Permission::ViewOrders)?;
        let since = since.unwrap_or_else(|| self.now() - Duration::days(7));
        let mut alerts = self
            .store()
            .deadline_alerts(actor.tenant_id, since, 500)
            .await?;
        if actor.scope.shops.is_some() {
            let mut kept = Vec::with_capacity(alerts.len());
            for a in alerts {
                if self.order_in_scope(actor, a.order_id).await.is_ok() {
                    kept.push(a);
                }
            }
            alerts = kept;
        }
        Ok(alerts)
    }

    /// Orders waiting for stock (缺货登记), oldest deadline first, with their remedies.
    pub async fn stockouts(&self, actor: &Actor, sku: Option<SkuId>) -> Result<Vec<StockoutView>> {
        actor.require(Permission::ViewOrders)?;
        let tenant = actor.tenant_id;
        let now = self.now();
        let waiting = self.store().open_stockouts(tenant, sku, 1000).await?;
        let mut views = Vec::with_capacity(waiting.len());
        for s in waiting {
            let order = self.store().order(tenant, s.order_id).await?;
            if !actor.scope.allows_shop(order.shop_id) {
                continue;
            }
            let partly_available = self.partly_available(tenant, &order).await?;
            let facts = StockoutFacts {
                platform: order.platform,
                ship_by: order.ship_by,
                expected_at: s.expected_at,
                negotiations_used: self.store().negotiations_used(tenant, order.id).await?,
                partly_available,
                now,
            };
            views.push(StockoutView {
                remedies: stockout_remedies(&facts),
                stockout: s,
            });
        }
        Ok(views)
    }

    /// Whether some line of a waiting order could ship now (a partial shipment).
    async fn partly_available(
        &self,
        tenant: TenantId,
        order: &fahuo_domain::order::Order,
    ) -> Result<bool> {
        let skus: Vec<SkuId> = order.lines.iter().filter_map(|l| l.sku_id).collect();
        let levels = self.store().stock_of_skus(tenant, &skus).await?;
        let units = self.store().line_units(tenant, order.id).await?;
        Ok(order.lines.iter().any(|l| {
            let need = l.quantity * units.get(&l.id).copied().unwrap_or(1);
            l.sku_id.is_some_and(|sku| {
                levels
                    .iter()
                    .any(|x| x.sku_id == sku && x.available() >= need)
            })
        }))
    }

    /// Records when a SKU's missing stock is expected (a purchase order's ETA): remedies then
    /// weigh it against each waiting order's deadline.
    pub async fn set_stockout_expected(
        &self,
        actor: &Actor,
        sku: SkuId,
        expected_at: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        actor.require(Permission::ManageStock)?;
        self.store().sku(actor.tenant_id, sku).await?;
        Ok(self
            .store()
            .set_stockout_expected(actor.tenant_id, sku, expected_at)
            .await?)
    }

    /// Files a delivery negotiation with the platform (WeChat only) and records the outcome,
    /// accepted or refused, in the order's timeline. The new deadline arrives with the next
    /// sync of the order.
    pub async fn negotiate_delivery(
        &self,
        actor: &Actor,
        id: OrderId,
        input: &NegotiationInput,
    ) -> Result<()> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, id).await?;
        let tenant = actor.tenant_id;
        let order = self.store().order(tenant, id).await?;
        if !order.state.is_before_shipping() {
            return Err(AppError::IllegalTransition("the order has shipped".into()));
        }
        if order.platform != fahuo_domain::Platform::Wechat {
            return Err(AppError::Conflict(format!(
                "{} offers no delivery negotiation; only WeChat Shop orders can ask for a later deadline",
                order.platform.label_zh()
            )));
        }
        if input.until <= self.now() {
            return Err(ParseError::new("until", "must be in the future").into());
        }
        let remark = input
            .remark
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if remark.is_some_and(|r| r.chars().count() > 200) {
            return Err(ParseError::new("remark", "at most 200 characters").into());
        }
        let reason = input.reason.unwrap_or(2);
        let shop = self.store().shop(tenant, order.shop_id).await?;
        let client = self.platform_client(&shop).await?;
        let outcome = client
            .negotiate_delivery(
                order.platform_order_id.as_str(),
                input.until,
                reason,
                remark,
            )
            .await;
        let mut audit = actor.audit("order.negotiate_delivery", "order", self.now());
        audit.after = Some(serde_json::json!({
            "until": input.until, "reason": reason, "remark": remark,
            "outcome": outcome.as_ref().map(|_| "accepted".to_string()).unwrap_or_else(|e| e.to_string()),
        }));
        let label = if outcome.is_ok() {
            "accepted"
        } else {
            "refused"
        };
        self.store()
            .record_negotiation(
                tenant,
                id,
                input.until,
                i64::from(reason),
                remark,
                label,
                &audit,
            )
            .await?;
        outcome.map_err(|e| self.platform_failure(e))?;
        // The platform now has the new deadline; take it in.
        self.request_order_refresh(&shop, &order).await
    }
}

/// Registers the deadline alerts, every `every`.
pub fn register(runner: crate::jobs::JobRunner, every: Duration) -> crate::jobs::JobRunner {
    use futures::FutureExt;
    runner
        .register(DEADLINE_JOB, |app, _job| {
            async move {
                app.scan_deadlines()
                    .await
                    .map(drop)
                    .map_err(crate::intake::job_error)
            }
            .boxed()
        })
        .every(DEADLINE_JOB, every)
}
