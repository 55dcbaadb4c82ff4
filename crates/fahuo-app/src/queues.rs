//! The console's work queues: the exceptions queue (异常) that gathers what needs a person —
//! held orders, ship-by deadlines at risk, the tracking radar's open alerts — most urgent
//! first; and what a person may do next with an after-sale, given its status and their role.
//!
//! Urgency is the radar's scale (`fahuo_domain::radar`: severity × 1000 + hours): a held order
//! is severity 4 (nothing ships until someone acts), the same as a problem parcel; a held
//! order whose deadline is at risk takes the deadline's urgency.

use crate::aftersales::{AfterSaleDetail, AfterSaleQuery};
use crate::orders::OrderQuery;
use crate::{Actor, App, Result};
use chrono::{DateTime, Utc};
use fahuo_domain::aftersale::{
    AfterSaleAction, AfterSaleKind, AfterSaleStatus, ClaimState, needs_second_approval, next_status,
};
use fahuo_domain::radar::{AlertKind, OrderFacts, SuggestedAction, order_alerts};
use fahuo_domain::review::{ReasonCode, ReviewSettings};
use fahuo_domain::{AfterSaleId, OrderId, Permission, Role, ShopId};
use fahuo_store::aftersales::AfterSale;
use fahuo_store::tracking::ParcelId;
use serde::Serialize;
use std::collections::HashMap;

/// The severity of a held order on the radar's scale.
const HOLD_SEVERITY: i64 = 4;
/// Held orders read per queue.
const HELD_LIMIT: i64 = 500;
/// Radar alerts read per queue.
const ALERT_LIMIT: i64 = 1000;

/// What a row of the exceptions queue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// An order held by review (or a refund) until a person acts.
    Hold,
    /// A radar alert (a parcel's, or an order's ship-by deadline).
    Alert(AlertKind),
}

impl ExceptionKind {
    /// In the order of the console's tabs.
    pub const ALL: [ExceptionKind; 8] = [
        ExceptionKind::Hold,
        ExceptionKind::Alert(AlertKind::DeadlineAtRisk),
        ExceptionKind::Alert(AlertKind::NotPickedUp),
        ExceptionKind::Alert(AlertKind::Stale),
        ExceptionKind::Alert(AlertKind::Problem),
        ExceptionKind::Alert(AlertKind::Refused),
        ExceptionKind::Alert(AlertKind::Returning),
        ExceptionKind::Alert(AlertKind::SignedNotReceived),
    ];

    /// `hold`, or the alert kind (`stale`, `deadline_at_risk`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Hold => "hold",
            ExceptionKind::Alert(k) => k.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<ExceptionKind> {
        ExceptionKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An open hold as the queue shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedHold {
    pub id: i64,
    pub reason_code: String,
    pub message: String,
    /// The message in English ("" for a hold put by hand or stored before English messages).
    pub message_en: String,
    pub stage: i64,
    /// The actor may release it: their role owns its stage (owners and admins own all), and
    /// it is a decision rather than a fact (stock, SKU mapping, an open refund).
    pub releasable: bool,
}

/// One row of the exceptions queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionItem {
    pub kind: ExceptionKind,
    /// Higher first.
    pub urgency: i64,
    /// When the condition began.
    pub since: DateTime<Utc>,
    pub order_id: Option<OrderId>,
    pub shop_id: Option<ShopId>,
    pub platform_order_id: Option<String>,
    /// Masked (张*, 138****5678), for held orders.
    pub receiver_name: Option<String>,
    pub receiver_phone: Option<String>,
    pub ship_by: Option<DateTime<Utc>>,
    /// The ship-by deadline has passed.
    pub overdue: bool,
    pub holds: Vec<QueuedHold>,
    pub alert_id: Option<i64>,
    pub parcel_id: Option<ParcelId>,
    pub tracking_no: Option<String>,
    pub carrier_code: Option<String>,
    /// One line in Chinese (the radar's summary; empty for a hold without deadline risk).
    pub summary: String,
    pub actions: Vec<SuggestedAction>,
}

/// The queue (optionally of one kind) and how many rows each kind has.
#[derive(Debug, Clone, Serialize)]
pub struct ExceptionQueue {
    pub items: Vec<ExceptionItem>,
    pub counts: Vec<(ExceptionKind, usize)>,
    pub total: usize,
}

/// What a person may do next with an after-sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleStep {
    /// Agree (sent to the platform).
    Approve,
    /// Agree to a refund above the threshold: recorded as proposed, for an owner or admin.
    Propose,
    Reject,
    ConfirmReceived,
    ReturnLabel,
    CancelReturnLabel,
    BookPickup,
    CancelPickup,
    Inspect,
    SettleClaim,
    InterceptResult,
}

/// The steps an after-sale allows the actor, and whether its refund needs a second approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AfterSaleOptions {
    pub steps: Vec<AfterSaleStep>,
    /// The refund exceeds the merchant's threshold: an owner or admin must approve it.
    pub needs_second_approval: bool,
    pub threshold_fen: Option<i64>,
}

impl App {
    /// An after-sale ([`App::after_sale_detail`]: not found outside the actor's scope) with
    /// its order number filled in.
    pub async fn named_after_sale(
        &self,
        actor: &Actor,
        id: AfterSaleId,
    ) -> Result<AfterSaleDetail> {
        let mut detail = self.after_sale_detail(actor, id).await?;
        self.name_orders(actor, std::slice::from_mut(&mut detail.after_sale))
            .await?;
        Ok(detail)
    }

    /// The after-sales of [`App::after_sales`] (within the actor's scope) with their order
    /// numbers filled in; `order_number` (a platform order number) keeps those of the orders
    /// with that number.
    pub async fn named_after_sales(
        &self,
        actor: &Actor,
        q: &AfterSaleQuery,
        order_number: Option<&str>,
    ) -> Result<Vec<AfterSale>> {
        let mut out = Vec::new();
        match order_number.map(str::trim).filter(|n| !n.is_empty()) {
            None => out = self.after_sales(actor, q).await?,
            Some(number) => {
                let orders = self
                    .orders(
                        actor,
                        &OrderQuery {
                            platform_order_id: Some(number.to_string()),
                            limit: Some(50),
                            ..OrderQuery::default()
                        },
                    )
                    .await?;
                for o in orders.items {
                    let q = AfterSaleQuery {
                        order_id: Some(o.id.get()),
                        ..q.clone()
                    };
                    out.extend(self.after_sales(actor, &q).await?);
                }
                out.sort_by_key(|a| std::cmp::Reverse(a.id.get()));
            }
        }
        self.name_orders(actor, &mut out).await?;
        Ok(out)
    }

    /// Fills in the order number of fahuo's own after-sales (claims, reships, interceptions
    /// carry only the order's id).
    async fn name_orders(&self, actor: &Actor, list: &mut [AfterSale]) -> Result<()> {
        let mut numbers: HashMap<OrderId, String> = HashMap::new();
        for a in list.iter_mut() {
            let Some(order) = a.order_id.filter(|_| a.platform_order_id.is_none()) else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(e) = numbers.entry(order) {
                e.insert(
                    self.store()
                        .order(actor.tenant_id, order)
                        .await?
                        .platform_order_id
                        .to_string(),
                );
            }
            a.platform_order_id = numbers.get(&order).cloned();
        }
        Ok(())
    }

    /// The exceptions queue, most urgent first; `kind` keeps one kind (the counts are of all).
    pub async fn exceptions(
        &self,
        actor: &Actor,
        kind: Option<ExceptionKind>,
    ) -> Result<ExceptionQueue> {
        actor.require(Permission::ViewOrders)?;
        let tenant = actor.tenant_id;
        let now = self.now();
        let radar = self.radar_settings(actor).await?;
        let deadline_alert = |ship_by: DateTime<Utc>| {
            let facts = OrderFacts {
                ship_by: Some(ship_by),
                shipped: false,
                cancelled: false,
            };
            order_alerts(&facts, &radar, now).into_iter().next()
        };
        let at_risk = self.at_risk(actor, radar.deadline_risk_hours).await?;
        let mut items = Vec::new();
        let mut review: HashMap<ShopId, ReviewSettings> = HashMap::new();
        let held = self.store().held_orders(tenant, HELD_LIMIT).await?;
        for o in held {
            if !actor.scope.allows_shop(o.shop_id) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = review.entry(o.shop_id) {
                e.insert(self.review_settings(actor, Some(o.shop_id)).await?);
            }
            let settings = &review[&o.shop_id];
            let since = o
                .holds
                .iter()
                .map(|h| h.created_at)
                .min()
                .unwrap_or(now)
                .min(now);
            let mut item = ExceptionItem {
                kind: ExceptionKind::Hold,
                urgency: HOLD_SEVERITY * 1000 + (now - since).num_hours().clamp(0, 999),
                since,
                order_id: Some(o.order_id),
                shop_id: Some(o.shop_id),
                platform_order_id: Some(o.platform_order_id),
                receiver_name: Some(o.receiver_name_masked),
                receiver_phone: Some(o.receiver_phone_masked),
                ship_by: o.ship_by,
                overdue: o.ship_by.is_some_and(|t| t < now),
                holds: o
                    .holds
                    .into_iter()
                    .map(|h| QueuedHold {
                        releasable: releasable(actor.role, settings, &h.reason_code, h.stage),
                        id: h.id.get(),
                        reason_code: h.reason_code,
                        message: h.message,
                        message_en: h.message_en,
                        stage: h.stage,
                    })
                    .collect(),
                alert_id: None,
                parcel_id: None,
                tracking_no: None,
                carrier_code: None,
                summary: String::new(),
                actions: Vec::new(),
            };
            if let Some(a) = o.ship_by.and_then(deadline_alert)
                && a.urgency > item.urgency
            {
                item.urgency = a.urgency;
                item.since = a.since;
                item.summary = a.summary;
                item.actions = a.actions;
            }
            items.push(item);
        }
        for o in at_risk {
            if !actor.scope.allows_shop(o.order.shop_id)
                || items.iter().any(|i| i.order_id == Some(o.order.order_id))
            {
                continue;
            }
            let Some(a) = deadline_alert(o.order.ship_by) else {
                continue;
            };
            items.push(ExceptionItem {
                kind: ExceptionKind::Alert(AlertKind::DeadlineAtRisk),
                urgency: a.urgency,
                since: a.since,
                order_id: Some(o.order.order_id),
                shop_id: Some(o.order.shop_id),
                platform_order_id: Some(o.order.platform_order_id),
                receiver_name: None,
                receiver_phone: None,
                ship_by: Some(o.order.ship_by),
                overdue: o.order.ship_by < now,
                holds: Vec::new(),
                alert_id: None,
                parcel_id: None,
                tracking_no: None,
                carrier_code: None,
                summary: a.summary,
                actions: a.actions,
            });
        }
        // The deadlines are judged live above; the radar's copies of them would repeat rows.
        let alerts = self.radar_queue(actor, None, false, ALERT_LIMIT).await?;
        let mut shops: HashMap<OrderId, ShopId> = HashMap::new();
        for a in alerts {
            if a.kind == AlertKind::DeadlineAtRisk {
                continue;
            }
            if actor.scope.shops.is_some() {
                let Some(order) = a.order_id else { continue };
                if let std::collections::hash_map::Entry::Vacant(e) = shops.entry(order) {
                    e.insert(self.store().order(tenant, order).await?.shop_id);
                }
                if !actor.scope.allows_shop(shops[&order]) {
                    continue;
                }
            }
            items.push(ExceptionItem {
                kind: ExceptionKind::Alert(a.kind),
                urgency: a.urgency,
                since: a.since,
                order_id: a.order_id,
                shop_id: a.order_id.and_then(|o| shops.get(&o).copied()),
                platform_order_id: a.platform_order_id,
                receiver_name: None,
                receiver_phone: None,
                ship_by: None,
                overdue: false,
                holds: Vec::new(),
                alert_id: Some(a.id),
                parcel_id: a.parcel_id,
                tracking_no: a.tracking_no,
                carrier_code: a.carrier_code,
                summary: a.summary,
                actions: a.actions,
            });
        }
        items.sort_by(|a, b| {
            b.urgency
                .cmp(&a.urgency)
                .then(a.since.cmp(&b.since))
                .then(a.kind.cmp(&b.kind))
                .then(a.order_id.cmp(&b.order_id))
        });
        let counts = ExceptionKind::ALL
            .into_iter()
            .map(|k| (k, items.iter().filter(|i| i.kind == k).count()))
            .collect();
        let total = items.len();
        if let Some(k) = kind {
            items.retain(|i| i.kind == k);
        }
        Ok(ExceptionQueue {
            items,
            counts,
            total,
        })
    }

    /// What the actor may do next with an after-sale (the API checks again on each call).
    pub async fn after_sale_options(
        &self,
        actor: &Actor,
        detail: &AfterSaleDetail,
    ) -> Result<AfterSaleOptions> {
        actor.require(Permission::ViewOrders)?;
        let threshold = self
            .store()
            .refund_approval_threshold(actor.tenant_id)
            .await?;
        Ok(after_sale_steps(actor.role, detail, threshold))
    }
}

/// Whether `role` may release a hold with `code` in `stage` (as `release_holds` decides), and
/// whether releasing it would do anything: stock, mapping and refunds are facts review or
/// after-sales check again, so their holds are not for a person to release.
fn releasable(role: Role, settings: &ReviewSettings, code: &str, stage: i64) -> bool {
    let fact = matches!(
        ReasonCode::parse(code),
        Ok(ReasonCode::OutOfStock | ReasonCode::UnmappedSku | ReasonCode::RefundPending)
    );
    let owner = usize::try_from(stage)
        .ok()
        .and_then(|s| settings.stages.get(s))
        .map(|s| s.role);
    !fact && (matches!(role, Role::Owner | Role::Admin) || owner == Some(role))
}

/// The steps of [`App::after_sale_options`], decided from the after-sale alone.
pub fn after_sale_steps(
    role: Role,
    d: &AfterSaleDetail,
    threshold_fen: Option<i64>,
) -> AfterSaleOptions {
    use AfterSaleStep as S;
    let a = &d.after_sale;
    let handle = role.allows(Permission::HandleAfterSales);
    let platform = a.platform_after_sale_id.is_some();
    let free = handle && platform && a.pending_action.is_none();
    let may = |action| next_status(a.kind, a.status, action).is_ok();
    let second = needs_second_approval(a.refund_fen, threshold_fen);
    let mut steps = Vec::new();
    if free && may(AfterSaleAction::Approve) {
        if !second || role.allows(Permission::ApproveRefunds) {
            steps.push(S::Approve);
        } else if a.proposed_by.is_none() {
            steps.push(S::Propose);
        }
    }
    if free && may(AfterSaleAction::Reject) {
        steps.push(S::Reject);
    }
    if free && may(AfterSaleAction::ConfirmReceived) {
        steps.push(S::ConfirmReceived);
    }
    let awaiting = a.kind.goods_come_back() && a.status == AfterSaleStatus::AwaitingReturn;
    if handle && awaiting {
        if a.label.is_none() {
            steps.push(S::ReturnLabel);
        } else {
            steps.push(S::CancelReturnLabel);
        }
        match &a.pickup {
            Some(p) if p.state == "booked" => steps.push(S::CancelPickup),
            _ => steps.push(S::BookPickup),
        }
    }
    if role.allows(Permission::ManageStock)
        && d.inspection.is_none()
        && may(AfterSaleAction::Receive)
    {
        steps.push(S::Inspect);
    }
    if handle
        && a.kind == AfterSaleKind::Claim
        && d.claim
            .as_ref()
            .is_some_and(|c| c.state == ClaimState::Open)
    {
        steps.push(S::SettleClaim);
    }
    if handle && a.kind == AfterSaleKind::Intercept && !a.status.is_final() {
        steps.push(S::InterceptResult);
    }
    AfterSaleOptions {
        steps,
        needs_second_approval: second,
        threshold_fen,
    }
}

/// The carriers a person can pick from: (code, Chinese name).
pub fn carrier_choices() -> Vec<(&'static str, &'static str)> {
    fahuo_carriers::Carrier::ALL
        .into_iter()
        .map(|c| (c.code(), c.name_zh()))
        .collect()
}
