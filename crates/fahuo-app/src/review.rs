//! Review and allocation (审单, 分仓, 预占, 合单): gathers the facts about an order, lets the
//! domain's rules decide, stores holds or approves, then plans where it ships from and reserves
//! the stock — automatically for new orders, and again whenever a person releases a hold,
//! edits an order or stock arrives for an order waiting for it.

use crate::orders::{OrderView, ReceiverInput};
use crate::{Actor, App, AppError, Result};
use fahuo_domain::allocation::{
    AllocLine, Allocation, AllocationSettings, MergeCandidate, WarehouseOption, merge_basis,
    merge_refusal,
};
use fahuo_domain::audit::ActorRef;
use fahuo_domain::catalog::{GeoPoint, Sku};
use fahuo_domain::order::Order;
use fahuo_domain::review::{
    AddressFacts, AddressVerdict, Finding, LineFacts, LineSku, ReasonCode, ReviewFacts,
    ReviewSettings, review,
};
use fahuo_domain::{
    CarrierCode, HoldId, OrderId, OrderLineId, OrderState, ParseError, Permission, Role, ShopId,
    SkuId, TenantId, WarehouseId,
};
use fahuo_store::StoreError;
use fahuo_store::allocation::{PackagePlan, TransferPlan};
use fahuo_store::review::{HoldSpec, QueuedOrder, SettingsKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The job that reviews and allocates new (and approved, unallocated) orders in batches.
pub const REVIEW_JOB: &str = "review.pending";
/// Orders per review batch.
const REVIEW_BATCH: i64 = 200;

/// What reviewing one order did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewOutcome {
    /// Nothing fired and the stock is reserved.
    Allocated { packages: Vec<i64> },
    /// Held for these reasons.
    Held { findings: Vec<Finding> },
    /// The order is past review (allocated, printed, shipped, cancelled ...): nothing to do.
    Skipped { state: OrderState },
}

impl ReviewOutcome {
    /// The packages of an allocated order; why not, as an error, otherwise (the hold's
    /// messages, or the state that is past allocation).
    pub fn into_packages(self) -> Result<Vec<fahuo_domain::PackageId>> {
        match self {
            ReviewOutcome::Allocated { packages } => {
                Ok(packages.into_iter().map(fahuo_domain::PackageId).collect())
            }
            ReviewOutcome::Held { findings } => Err(AppError::InsufficientStock(
                findings
                    .into_iter()
                    .map(|f| f.message)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            ReviewOutcome::Skipped { state } => Err(AppError::IllegalTransition(format!(
                "order is {} ({}); only an approved order can be allocated",
                state.as_str(),
                state.label_zh()
            ))),
        }
    }
}

/// Which holds a person releases: these, or all of one stage, or (neither) all they may.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseInput {
    pub hold_ids: Option<Vec<i64>>,
    pub stage: Option<i64>,
}

/// An edit of one order line before printing: the merchant SKU it ships as, and/or the items.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineEdit {
    /// The merchant SKU (its id) the line ships as.
    pub sku_id: Option<i64>,
    /// Units of that SKU per item (default 1).
    pub units_per_item: Option<i64>,
    pub quantity: Option<i64>,
}

/// Where an order ships from, chosen by a person.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseChoice {
    pub warehouse_id: i64,
    /// A carrier code (e.g. `ZTO`); default: the warehouse's rules decide.
    pub carrier: Option<String>,
}

/// The holds review owns (it adds and releases them); `refund_pending` is the after-sale
/// flow's and is only read.
fn managed_codes() -> Vec<&'static str> {
    ReasonCode::ALL
        .into_iter()
        .filter(|c| *c != ReasonCode::RefundPending)
        .map(ReasonCode::as_str)
        .collect()
}

/// Rules a person's release does not silence: they are facts that block shipping, fixed by
/// an edit or by stock, not by a decision.
fn overridable(code: ReasonCode) -> bool {
    !matches!(code, ReasonCode::OutOfStock | ReasonCode::UnmappedSku)
}

impl App {
    // ------------------------------------------------------------------ settings

    pub async fn review_settings(
        &self,
        actor: &Actor,
        shop: Option<ShopId>,
    ) -> Result<ReviewSettings> {
        actor.require(Permission::ViewOrders)?;
        if let Some(shop) = shop {
            actor.check_shop(shop)?;
        }
        self.review_settings_for(actor.tenant_id, shop).await
    }

    async fn review_settings_for(
        &self,
        tenant: TenantId,
        shop: Option<ShopId>,
    ) -> Result<ReviewSettings> {
        Ok(self
            .store()
            .settings(tenant, shop, SettingsKind::Review)
            .await?
            .unwrap_or_default())
    }

    /// Replaces the tenant's review settings, or one shop's (`None` removes a shop's own).
    pub async fn set_review_settings(
        &self,
        actor: &Actor,
        shop: Option<ShopId>,
        settings: Option<ReviewSettings>,
    ) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        if let Some(shop) = shop {
            actor.check_shop(shop)?;
        }
        let settings = settings.map(ReviewSettings::validate).transpose()?;
        let audit = actor.audit("settings.review", "settings", self.now());
        Ok(self
            .store()
            .set_settings(
                actor.tenant_id,
                shop,
                SettingsKind::Review,
                settings.as_ref(),
                &audit,
            )
            .await?)
    }

    pub async fn allocation_settings(&self, actor: &Actor) -> Result<AllocationSettings> {
        actor.require(Permission::ViewOrders)?;
        self.allocation_settings_for(actor.tenant_id).await
    }

    async fn allocation_settings_for(&self, tenant: TenantId) -> Result<AllocationSettings> {
        Ok(self
            .store()
            .settings(tenant, None, SettingsKind::Allocation)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_allocation_settings(
        &self,
        actor: &Actor,
        settings: AllocationSettings,
    ) -> Result<()> {
        actor.require(Permission::ManageStock)?;
        let settings = settings.validate()?;
        let audit = actor.audit("settings.allocation", "settings", self.now());
        Ok(self
            .store()
            .set_settings(
                actor.tenant_id,
                None,
                SettingsKind::Allocation,
                Some(&settings),
                &audit,
            )
            .await?)
    }

    // ------------------------------------------------------------------ blacklist

    pub async fn blacklist(
        &self,
        actor: &Actor,
    ) -> Result<Vec<fahuo_store::review::BlacklistEntry>> {
        actor.require(Permission::ReviewOrders)?;
        Ok(self.store().blacklist(actor.tenant_id).await?)
    }

    /// Adds a receiver's phone to the blacklist: their orders are held as risky (风险收件人).
    pub async fn add_to_blacklist(&self, actor: &Actor, phone: &str, reason: &str) -> Result<i64> {
        actor.require(Permission::ReviewOrders)?;
        let phone = fahuo_domain::Phone::parse(phone)?;
        let reason: String = reason.trim().chars().take(200).collect();
        if reason.is_empty() {
            return Err(ParseError::new("reason", "say why (e.g. 多次拒收)").into());
        }
        let audit = actor.audit("blacklist.add", "blacklist", self.now());
        Ok(self
            .store()
            .add_to_blacklist(actor.tenant_id, &phone, &reason, &audit)
            .await?)
    }

    pub async fn remove_from_blacklist(&self, actor: &Actor, id: i64) -> Result<()> {
        actor.require(Permission::ReviewOrders)?;
        let audit = actor.audit("blacklist.remove", "blacklist", self.now());
        Ok(self
            .store()
            .remove_from_blacklist(actor.tenant_id, id, &audit)
            .await?)
    }

    /// Everything that happened to an order (intake, review, holds, allocation with its
    /// reasons, edits), oldest first.
    pub async fn order_timeline(
        &self,
        actor: &Actor,
        id: OrderId,
    ) -> Result<Vec<fahuo_store::audit::AuditRecord>> {
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, id).await?;
        let filter = fahuo_store::audit::AuditFilter {
            entity_type: Some("order".into()),
            entity_id: Some(id.get()),
            limit: 500,
            ..Default::default()
        };
        let mut items = self
            .store()
            .audit_log(actor.tenant_id, &filter)
            .await?
            .items;
        items.reverse();
        Ok(items)
    }

    /// A person asks for an order to be reviewed again now.
    pub async fn review_order_now(&self, actor: &Actor, id: OrderId) -> Result<ReviewOutcome> {
        actor.require(Permission::ReviewOrders)?;
        self.order_in_scope(actor, id).await?;
        self.review_order(actor.tenant_id, id, &actor.audit_ref())
            .await
    }

    // ------------------------------------------------------------------ review

    /// Reviews every new order (and allocates approved ones left unallocated) in batches;
    /// returns how many orders it looked at. The review job's body.
    pub async fn review_pending(&self) -> Result<usize> {
        use futures::StreamExt;
        let mut done = 0;
        let actor = ActorRef::system("review");
        loop {
            let batch = self.store().orders_to_review(REVIEW_BATCH).await?;
            let retry = self.store().orders_to_allocate(REVIEW_BATCH).await?;
            if batch.is_empty() && retry.is_empty() {
                return Ok(done);
            }
            // Orders are independent; several at once keep the database busy while one waits.
            let outcomes: Vec<Result<ReviewOutcome>> =
                futures::stream::iter(batch.into_iter().chain(retry))
                    .map(|(tenant, order)| {
                        let actor = &actor;
                        async move { self.review_order(tenant, order, actor).await }
                    })
                    .buffer_unordered(self.settings().job_concurrency.max(1))
                    .collect()
                    .await;
            let mut progressed = false;
            for outcome in outcomes {
                match outcome {
                    Ok(outcome) => {
                        progressed |= !matches!(outcome, ReviewOutcome::Skipped { .. });
                    }
                    // Someone changed the order meanwhile: the next batch sees it again.
                    Err(AppError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
                done += 1;
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    /// Reviews one order: maps its lines, runs the rules, stores holds or approves, and
    /// allocates an order that passes. Safe to run again at any time.
    pub async fn review_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        let order = self.store().order(tenant, id).await?;
        if !matches!(
            order.state,
            OrderState::New | OrderState::OnHold | OrderState::Approved
        ) {
            return Ok(ReviewOutcome::Skipped { state: order.state });
        }
        let settings = self
            .review_settings_for(tenant, Some(order.shop_id))
            .await?;
        let (facts, mappings) = self.review_facts(&order).await?;
        self.store()
            .record_review_facts(tenant, id, &mappings, &merge_basis(&order.receiver))
            .await?;
        let overridden = self.store().overridden_codes(tenant, id).await?;
        let findings: Vec<Finding> = review(&settings, &facts)
            .into_iter()
            .filter(|f| !(overridable(f.code) && overridden.contains(f.code.as_str())))
            .collect();
        if findings.iter().any(|f| f.code == ReasonCode::OutOfStock) {
            // 缺货登记: the order waits for these units and is retried when they arrive.
            self.store()
                .register_stockout(tenant, id, &missing_units(&facts), self.now())
                .await?;
        }
        let wanted = hold_specs(&findings);
        let state = self
            .store()
            .apply_review(tenant, id, &managed_codes(), &wanted, actor, self.now())
            .await?;
        if state != OrderState::Approved {
            return Ok(ReviewOutcome::Held { findings });
        }
        self.allocate_planned(tenant, id, None, actor).await
    }

    /// What review needs to know about an order, and each line's SKU mapping to record.
    async fn review_facts(
        &self,
        order: &Order,
    ) -> Result<(ReviewFacts, Vec<(OrderLineId, Option<(SkuId, i64)>)>)> {
        let tenant = order.tenant_id;
        let store = self.store();
        let mapped = self.map_lines(order).await?;
        let sku_ids: Vec<SkuId> = mapped.iter().flatten().map(|(s, _)| s.id).collect();
        let mut available: HashMap<SkuId, i64> = HashMap::new();
        for level in store.stock_of_skus(tenant, &sku_ids).await? {
            *available.entry(level.sku_id).or_default() += level.available().max(0);
        }
        // 代发: lines a supplier ships are assigned here (the SKU rule) and their units count
        // as available, so the out-of-stock rule weighs only what the merchant ships.
        for (sku, units) in self.assign_dropship_at_review(order, &mapped).await? {
            *available.entry(sku).or_default() += units;
        }
        let lines = order
            .lines
            .iter()
            .zip(&mapped)
            .map(|(line, m)| LineFacts {
                line_id: line.id,
                title: line.title.clone(),
                quantity: line.quantity,
                paid: line.paid,
                unit_price: line.unit_price,
                sku: m.as_ref().map(|(sku, units)| LineSku {
                    sku_id: sku.id,
                    code: sku.code.to_string(),
                    units_per_item: *units,
                    cost: sku.cost,
                    available: available.get(&sku.id).copied().unwrap_or(0),
                }),
            })
            .collect();
        let mappings = order
            .lines
            .iter()
            .zip(&mapped)
            .map(|(line, m)| (line.id, m.as_ref().map(|(s, u)| (s.id, *u))))
            .collect();
        let holds = store.holds(tenant, order.id).await?;
        let facts = ReviewFacts {
            buyer_note: order.buyer_note.clone(),
            seller_note: order.seller_note.clone(),
            presale_ship_at: order.presale_ship_at,
            address: address_facts(&order.receiver),
            lines,
            refund_pending: holds.iter().any(|h| {
                h.released_at.is_none() && h.reason_code == ReasonCode::RefundPending.as_str()
            }),
            blacklisted: store.blacklisted(tenant, &order.receiver.phone).await?,
            now: self.now(),
        };
        Ok((facts, mappings))
    }

    /// The merchant SKU (and units per item) of each line: kept if mapped before (by review or
    /// a person's edit), else the shop's mapping of the platform SKU, else the SKU whose code
    /// the listing carries (商家编码).
    async fn map_lines(&self, order: &Order) -> Result<Vec<Option<(Sku, i64)>>> {
        let tenant = order.tenant_id;
        let store = self.store();
        let kept_units = store.line_units(tenant, order.id).await?;
        let mut mapped = Vec::with_capacity(order.lines.len());
        for line in &order.lines {
            let found = match line.sku_id {
                Some(sku) => Some((sku, kept_units.get(&line.id).copied().unwrap_or(1))),
                None => match &line.platform_sku_id {
                    Some(p) => store
                        .shop_sku(tenant, order.shop_id, p)
                        .await?
                        .map(|m| (m.sku_id, m.quantity)),
                    None => None,
                },
            };
            let found = match (found, &line.sku_code) {
                (Some(f), _) => Some(f),
                (None, Some(code)) => store.sku_by_code(tenant, code).await?.map(|s| (s.id, 1)),
                (None, None) => None,
            };
            mapped.push(match found {
                Some((id, units)) => Some((store.sku(tenant, id).await?, units)),
                None => None,
            });
        }
        Ok(mapped)
    }

    /// A person releases holds (the given ones, one stage's, or all their role may clear),
    /// then the order is reviewed again: released reasons stay silenced for this order, facts
    /// that block shipping (stock, mapping) are checked afresh.
    pub async fn release_holds(
        &self,
        actor: &Actor,
        id: OrderId,
        input: &ReleaseInput,
    ) -> Result<OrderView> {
        // Whoever owns a stage may clear it (a warehouse clerk their stock stage) even without
        // the general review permission; the stage check below decides.
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, id).await?;
        let tenant = actor.tenant_id;
        let order = self.store().order(tenant, id).await?;
        let settings = self
            .review_settings_for(tenant, Some(order.shop_id))
            .await?;
        if !actor.role.allows(Permission::ReviewOrders)
            && !settings.stages.iter().any(|s| s.role == actor.role)
        {
            return Err(AppError::Forbidden(Permission::ReviewOrders));
        }
        let open = self.store().open_holds(tenant, id).await?;
        if open.is_empty() {
            return Err(AppError::Conflict("the order has no open hold".into()));
        }
        let ids: Option<Vec<HoldId>> = input
            .hold_ids
            .as_ref()
            .map(|ids| ids.iter().copied().map(HoldId).collect());
        // Each stage's holds are for its role to clear; owners and admins clear any.
        let chosen: Vec<&(HoldId, String, i64)> = open
            .iter()
            .filter(|(h, _, s)| {
                ids.as_ref().is_none_or(|ids| ids.contains(h))
                    && input.stage.is_none_or(|st| st == *s)
            })
            .collect();
        if chosen.is_empty() {
            return Err(AppError::Conflict("no open hold matches".into()));
        }
        for (_, code, stage) in &chosen {
            let owner = settings
                .stages
                .get(usize::try_from(*stage).unwrap_or(usize::MAX))
                .map(|s| s.role);
            if !stage_allows(actor.role, owner) {
                return Err(AppError::Conflict(format!(
                    "hold {code} belongs to the stage of role {}; your role is {}",
                    owner.map(Role::as_str).unwrap_or("admin"),
                    actor.role.as_str()
                )));
            }
        }
        let ids: Vec<HoldId> = chosen.iter().map(|(h, _, _)| *h).collect();
        self.store()
            .release_holds(tenant, id, Some(&ids), None, &actor.audit_ref(), self.now())
            .await?;
        self.review_order(tenant, id, &actor.audit_ref()).await?;
        self.order(actor, id).await
    }

    /// Orders waiting in a review stage, most urgent first (of the shops of the actor's scope).
    pub async fn review_queue(&self, actor: &Actor, stage: i64) -> Result<Vec<QueuedOrder>> {
        actor.require(Permission::ReviewOrders)?;
        Ok(self
            .store()
            .review_queue(actor.tenant_id, stage, 200, actor.scope.shops.as_deref())
            .await?)
    }

    /// Changes the receiver of an order that has not been printed (the buyer asked, or the
    /// address was incomplete), then reviews it again. Audited (masked).
    pub async fn edit_receiver(
        &self,
        actor: &Actor,
        id: OrderId,
        input: &ReceiverInput,
    ) -> Result<OrderView> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, id).await?;
        let receiver = input.parse()?;
        self.before_edit(actor, id).await?;
        let mut audit = actor.audit("order.edit_receiver", "order", self.now());
        audit.entity_id = Some(id.get());
        self.store()
            .edit_receiver(actor.tenant_id, id, &receiver, &audit)
            .await?;
        self.review_order(actor.tenant_id, id, &actor.audit_ref())
            .await?;
        self.order(actor, id).await
    }

    /// Changes what a line ships as (SKU, units per item) or how many items, before
    /// printing; then reviews the order again. Audited.
    pub async fn edit_line(
        &self,
        actor: &Actor,
        id: OrderId,
        line: OrderLineId,
        edit: &LineEdit,
    ) -> Result<OrderView> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, id).await?;
        if edit.quantity.is_some_and(|q| !(1..=100_000).contains(&q)) {
            return Err(ParseError::new("quantity", "between 1 and 100000").into());
        }
        if edit
            .units_per_item
            .is_some_and(|u| !(1..=1000).contains(&u))
        {
            return Err(ParseError::new("units_per_item", "between 1 and 1000").into());
        }
        if let Some(sku) = edit.sku_id {
            self.store().sku(actor.tenant_id, SkuId(sku)).await?;
        }
        self.before_edit(actor, id).await?;
        let mut audit = actor.audit("order.edit_line", "order", self.now());
        audit.entity_id = Some(id.get());
        audit.after = Some(serde_json::json!({
            "line_id": line, "sku_id": edit.sku_id, "units_per_item": edit.units_per_item,
            "quantity": edit.quantity,
        }));
        self.store()
            .edit_line(
                actor.tenant_id,
                id,
                line,
                edit.sku_id
                    .map(|s| (SkuId(s), edit.units_per_item.unwrap_or(1))),
                edit.quantity,
                &audit,
            )
            .await?;
        self.review_order(actor.tenant_id, id, &actor.audit_ref())
            .await?;
        self.order(actor, id).await
    }

    /// Ships an order from the warehouse a person chose (and the carrier, if given): its
    /// current allocation is released, and the stock is reserved there — all of it, in one
    /// warehouse, or the order is held as out of stock.
    pub async fn choose_warehouse(
        &self,
        actor: &Actor,
        id: OrderId,
        choice: &WarehouseChoice,
    ) -> Result<OrderView> {
        actor.require(Permission::PrintAndShip)?;
        self.order_in_scope(actor, id).await?;
        let warehouse = WarehouseId(choice.warehouse_id);
        actor.check_warehouse(warehouse)?;
        self.store().warehouse(actor.tenant_id, warehouse).await?;
        let carrier = choice
            .carrier
            .as_deref()
            .map(CarrierCode::parse)
            .transpose()?;
        self.before_edit(actor, id).await?;
        let order = self.store().order(actor.tenant_id, id).await?;
        if order.state != OrderState::Approved {
            return Err(AppError::IllegalTransition(format!(
                "order is {} ({}); release its holds first",
                order.state.as_str(),
                order.state.label_zh()
            )));
        }
        self.allocate_planned(
            actor.tenant_id,
            id,
            Some((warehouse, carrier)),
            &actor.audit_ref(),
        )
        .await?
        .into_packages()?;
        self.order(actor, id).await
    }

    /// Edits need an order that has no number yet: an allocated one is taken back first.
    async fn before_edit(&self, actor: &Actor, id: OrderId) -> Result<()> {
        let order = self.store().order(actor.tenant_id, id).await?;
        match order.state {
            OrderState::New | OrderState::OnHold | OrderState::Approved => Ok(()),
            OrderState::Allocated => {
                let mut audit = actor.audit("order.deallocate", "order", self.now());
                audit.after = Some(serde_json::json!({ "why": "edit" }));
                Ok(self
                    .store()
                    .deallocate_order(actor.tenant_id, id, &audit)
                    .await?)
            }
            state => Err(AppError::IllegalTransition(format!(
                "order is {} ({}): a waybill exists; recycle it before editing",
                state.as_str(),
                state.label_zh()
            ))),
        }
    }

    /// Takes an order out of a merged package (拆单/取消合单) before it has a number: it is
    /// allocated again on its own, never merged back.
    pub async fn unmerge_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::PrintAndShip)?;
        self.order_in_scope(actor, id).await?;
        let tenant = actor.tenant_id;
        let packages = self.store().packages_of_order(tenant, id).await?;
        let mut merged = false;
        for p in &packages {
            let lines = self.store().package_lines(tenant, *p).await?;
            merged |= lines.iter().any(|(o, _, _)| *o != id);
        }
        if !merged {
            return Err(AppError::Conflict(
                "the order is not merged with another".into(),
            ));
        }
        self.before_edit(actor, id).await?;
        let mut audit = actor.audit("order.unmerge", "order", self.now());
        audit.entity_id = Some(id.get());
        self.store().append_audit(&audit).await?;
        self.allocate_planned_with(tenant, id, None, false, &actor.audit_ref())
            .await?;
        self.order(actor, id).await
    }

    // ------------------------------------------------------------------ allocation

    /// Plans and stores where an approved order ships from. `forced`: a person's warehouse
    /// (and carrier), without split or transfer.
    pub(crate) async fn allocate_planned(
        &self,
        tenant: TenantId,
        id: OrderId,
        forced: Option<(WarehouseId, Option<CarrierCode>)>,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        self.allocate_planned_with(tenant, id, forced, true, actor)
            .await
    }

    async fn allocate_planned_with(
        &self,
        tenant: TenantId,
        id: OrderId,
        forced: Option<(WarehouseId, Option<CarrierCode>)>,
        may_merge: bool,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        // A plan can lose a race for the last units; plan again once against fresh stock.
        let first = self
            .try_allocate(tenant, id, forced.clone(), may_merge, actor)
            .await;
        if !matches!(
            first,
            Err(AppError::InsufficientStock(_) | AppError::Conflict(_))
        ) {
            return first;
        }
        match self
            .try_allocate(tenant, id, forced, may_merge, actor)
            .await
        {
            Err(AppError::InsufficientStock(why)) => {
                self.hold_out_of_stock(tenant, id, &[], vec![why], actor)
                    .await
            }
            other => other,
        }
    }

    async fn try_allocate(
        &self,
        tenant: TenantId,
        id: OrderId,
        forced: Option<(WarehouseId, Option<CarrierCode>)>,
        may_merge: bool,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        let store = self.store();
        let order = store.order(tenant, id).await?;
        if order.state != OrderState::Approved {
            return Ok(ReviewOutcome::Skipped { state: order.state });
        }
        let mut settings = self.allocation_settings_for(tenant).await?;
        // Review maps the lines; an order a person approved directly is mapped here.
        let mapped = self.map_lines(&order).await?;
        // 代发: a supplier's lines reserve nothing and go in no package of the merchant's.
        let dropship = self.dropship_line_ids(tenant, id).await?;
        let mut lines = Vec::with_capacity(order.lines.len());
        let mut skus: HashMap<SkuId, Sku> = HashMap::new();
        for (line, m) in order.lines.iter().zip(&mapped) {
            if dropship.contains(&line.id) {
                continue;
            }
            let Some((sku, per)) = m else {
                let message = format!(
                    "商品未匹配：第 {} 行「{}」没有对应的商家商品，请在商品映射中关联或修改此行",
                    line.id, line.title
                );
                return self
                    .hold_with(tenant, id, ReasonCode::UnmappedSku, message, actor)
                    .await;
            };
            lines.push(AllocLine {
                order_id: id,
                line_id: line.id,
                sku_id: sku.id,
                quantity: line.quantity,
                units_per_item: *per,
                item_weight_g: sku.weight.get().saturating_mul(*per),
            });
            skus.insert(sku.id, sku.clone());
        }
        if lines.is_empty() && !dropship.is_empty() {
            // Every line is a supplier's: nothing to reserve. The order stays approved and
            // ships with the supplier's numbers ("skipped" keeps the review job from looping).
            return Ok(ReviewOutcome::Skipped {
                state: OrderState::Approved,
            });
        }
        if order
            .lines
            .iter()
            .zip(&mapped)
            .any(|(l, m)| l.sku_id != m.as_ref().map(|(s, _)| s.id))
        {
            let mappings: Vec<_> = order
                .lines
                .iter()
                .zip(&mapped)
                .map(|(l, m)| (l.id, m.as_ref().map(|(s, u)| (s.id, *u))))
                .collect();
            store
                .record_review_facts(tenant, id, &mappings, &merge_basis(&order.receiver))
                .await?;
        }
        let sku_ids: Vec<SkuId> = skus.keys().copied().collect();
        let levels = store.stock_of_skus(tenant, &sku_ids).await?;
        let mut warehouses = store.warehouses(tenant).await?;
        if let Some((w, _)) = &forced {
            warehouses.retain(|x| x.id == *w);
            settings.allow_split = false;
            settings.allow_transfer = false;
        }
        let system = Actor::system(tenant, "allocation");
        let mut carriers: HashMap<WarehouseId, Option<CarrierCode>> = HashMap::new();
        let mut choices: HashMap<WarehouseId, String> = HashMap::new();
        let mut options = Vec::with_capacity(warehouses.len());
        for w in &warehouses {
            let (carrier, cost, max_g) = match &forced {
                Some((_, Some(c))) => (Some(c.clone()), None, None),
                _ => match self.choose_carrier(&system, id, w.id).await {
                    Ok(Some(choice)) => {
                        let quote = choice.quote().cloned();
                        // The chosen carrier's weight limit splits heavy orders into boxes.
                        let max_g = match choice.chosen {
                            Some(c) => self
                                .carrier_rules(&system, w.id)
                                .await?
                                .and_then(|r| {
                                    r.tables
                                        .iter()
                                        .find(|t| t.carrier == c)
                                        .and_then(|t| t.max_g)
                                })
                                .map(i64::from),
                            None => None,
                        };
                        let code = choice.chosen.map(|c| c.code().to_string());
                        choices.insert(w.id, choice.to_string());
                        (
                            code.map(|c| CarrierCode::parse(&c)).transpose()?,
                            quote.map(|q| fahuo_domain::Fen(q.total.0)),
                            max_g,
                        )
                    }
                    // No rules (or none usable): the carrier is chosen when the number is asked for.
                    _ => (None, None, None),
                },
            };
            carriers.insert(w.id, carrier);
            options.push(WarehouseOption {
                id: w.id,
                name: w.name.to_string(),
                location: w.location,
                available: levels
                    .iter()
                    .filter(|l| l.warehouse_id == w.id)
                    .map(|l| (l.sku_id, l.available().max(0)))
                    .collect(),
                shipping_cost: cost,
                max_package_g: max_g,
            });
        }
        let receiver = receiver_location(&order);
        match fahuo_domain::allocation::allocate(receiver, &lines, &options, &settings) {
            Allocation::Short {
                missing,
                explanation,
            } => {
                let missing: Vec<(SkuId, i64)> = missing.into_iter().collect();
                self.hold_out_of_stock(tenant, id, &missing, explanation, actor)
                    .await
            }
            Allocation::Planned {
                packages,
                transfers,
                mut explanation,
            } => {
                let mut used: Vec<WarehouseId> = packages.iter().map(|p| p.warehouse_id).collect();
                used.dedup();
                for w in used {
                    if let Some(choice) = choices.get(&w) {
                        explanation.push(format!("承运商选择：{choice}"));
                    }
                }
                let mut plans: Vec<PackagePlan> = packages
                    .iter()
                    .map(|p| PackagePlan {
                        warehouse_id: p.warehouse_id,
                        carrier: carriers.get(&p.warehouse_id).cloned().flatten(),
                        weight_g: p.weight_g,
                        lines: p.lines.clone(),
                        units: p.units(&lines).into_iter().collect(),
                        merge_into: None,
                    })
                    .collect();
                if may_merge
                    && settings.merge
                    && plans.len() == 1
                    && transfers.is_empty()
                    && let Some((target, why)) = self
                        .merge_target(&order, &plans[0], &settings, &options)
                        .await?
                {
                    plans[0].merge_into = Some(target);
                    explanation.push(why);
                }
                let transfers: Vec<TransferPlan> = transfers
                    .iter()
                    .map(|t| TransferPlan {
                        from: t.from,
                        to: t.to,
                        sku_id: t.sku_id,
                        units: t.units,
                    })
                    .collect();
                let mut audit = fahuo_domain::audit::AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: "order.allocate".into(),
                    entity_type: "order".into(),
                    entity_id: Some(id.get()),
                    before: None,
                    after: None,
                    at: self.now(),
                };
                audit.after = Some(serde_json::json!({
                    "explanation": explanation,
                    "packages": plans.iter().map(|p| serde_json::json!({
                        "warehouse_id": p.warehouse_id, "carrier": p.carrier, "lines": p.lines,
                        "weight_g": p.weight_g, "merged_into": p.merge_into,
                    })).collect::<Vec<_>>(),
                    "transfers": transfers.iter().map(|t| serde_json::json!({
                        "from": t.from, "to": t.to, "sku_id": t.sku_id, "units": t.units,
                    })).collect::<Vec<_>>(),
                }));
                let ids = store
                    .store_allocation(tenant, id, &transfers, &plans, &audit)
                    .await
                    .map_err(|e| match e {
                        StoreError::Stale(_) => AppError::Conflict("merge target changed".into()),
                        other => other.into(),
                    })?;
                Ok(ReviewOutcome::Allocated {
                    packages: ids.into_iter().map(|p| p.get()).collect(),
                })
            }
        }
    }

    /// An open package to the same receiver in the same warehouse this order may join.
    async fn merge_target(
        &self,
        order: &Order,
        plan: &PackagePlan,
        settings: &AllocationSettings,
        options: &[WarehouseOption],
    ) -> Result<Option<(fahuo_domain::PackageId, String)>> {
        let tenant = order.tenant_id;
        let Some(key) = self.store().merge_key(tenant, order.id).await? else {
            return Ok(None);
        };
        let me = MergeCandidate {
            order_id: order.id,
            shop_id: order.shop_id,
            receiver_key: key.clone(),
            warehouse_id: plan.warehouse_id,
            presale_ship_at: order.presale_ship_at,
        };
        let max_g = options
            .iter()
            .find(|o| o.id == plan.warehouse_id)
            .and_then(|o| o.max_package_g);
        let targets = self
            .store()
            .merge_targets(tenant, &key, plan.warehouse_id, order.id)
            .await?;
        for target in targets {
            if max_g.is_some_and(|m| target.weight_g + plan.weight_g > m) {
                continue;
            }
            let fits = target.orders.iter().all(|(other, shop, presale)| {
                let them = MergeCandidate {
                    order_id: *other,
                    shop_id: *shop,
                    receiver_key: key.clone(),
                    warehouse_id: target.warehouse_id,
                    presale_ship_at: *presale,
                };
                merge_refusal(&me, &them, settings).is_none()
            });
            if fits {
                let others: Vec<String> = target
                    .orders
                    .iter()
                    .map(|(o, _, _)| o.to_string())
                    .collect();
                return Ok(Some((
                    target.package_id,
                    format!(
                        "同一收件人同一地址，与订单 {} 合并为一个包裹（包裹 {}）",
                        others.join("、"),
                        target.package_id
                    ),
                )));
            }
        }
        Ok(None)
    }

    /// Holds an order as out of stock (缺货) and registers what it waits for.
    async fn hold_out_of_stock(
        &self,
        tenant: TenantId,
        id: OrderId,
        missing: &[(SkuId, i64)],
        explanation: Vec<String>,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        if !missing.is_empty() {
            self.store()
                .register_stockout(tenant, id, missing, self.now())
                .await?;
        }
        let message = format!(
            "缺货：{}。已登记缺货，到货后自动重新分配",
            explanation.join("；")
        );
        self.hold_with(tenant, id, ReasonCode::OutOfStock, message, actor)
            .await
    }

    /// Holds an order that allocation found it cannot ship, with review's code and stage.
    async fn hold_with(
        &self,
        tenant: TenantId,
        id: OrderId,
        code: ReasonCode,
        message: String,
        actor: &ActorRef,
    ) -> Result<ReviewOutcome> {
        let order = self.store().order(tenant, id).await?;
        let settings = self
            .review_settings_for(tenant, Some(order.shop_id))
            .await?;
        let finding = Finding {
            code,
            message_en: String::new(),
            message,
            stage: settings.stage_of(code),
        };
        let wanted = hold_specs(std::slice::from_ref(&finding));
        self.store()
            .apply_review(tenant, id, &managed_codes(), &wanted, actor, self.now())
            .await?;
        Ok(ReviewOutcome::Held {
            findings: vec![finding],
        })
    }

    /// Stock arrived for a SKU: orders waiting for it are reviewed again, oldest deadline
    /// first, until one finds too little. The `stock.arrived` job's body.
    pub async fn stock_arrived(&self, tenant: TenantId, sku: SkuId) -> Result<usize> {
        let waiting = self.store().open_stockouts(tenant, Some(sku), 500).await?;
        let mut allocated = 0;
        for s in waiting {
            let outcome = self
                .review_order(tenant, s.order_id, &ActorRef::system("stock.arrived"))
                .await?;
            if matches!(outcome, ReviewOutcome::Allocated { .. }) {
                allocated += 1;
            }
        }
        Ok(allocated)
    }
}

/// Whether a role may clear holds of a stage owned by `owner` (`None`: a stage that no
/// longer exists — owners and admins only).
fn stage_allows(role: Role, owner: Option<Role>) -> bool {
    matches!(role, Role::Owner | Role::Admin) || owner == Some(role)
}

/// Units missing per SKU over all warehouses (what review's out-of-stock rule saw).
fn missing_units(facts: &ReviewFacts) -> Vec<(SkuId, i64)> {
    let mut need: Vec<(SkuId, i64, i64)> = Vec::new();
    for line in &facts.lines {
        let Some(sku) = &line.sku else { continue };
        match need.iter_mut().find(|(id, _, _)| *id == sku.sku_id) {
            Some(entry) => entry.1 += sku.units(line.quantity),
            None => need.push((sku.sku_id, sku.units(line.quantity), sku.available)),
        }
    }
    need.into_iter()
        .filter(|(_, n, a)| n > a)
        .map(|(id, n, a)| (id, n - a.max(0)))
        .collect()
}

fn hold_specs(findings: &[Finding]) -> Vec<HoldSpec> {
    findings
        .iter()
        .map(|f| HoldSpec {
            code: f.code.as_str().to_string(),
            message: f.message.clone(),
            message_en: f.message_en.clone(),
            stage: i64::try_from(f.stage).unwrap_or(0),
        })
        .collect()
}

/// The address module's view of a receiver's address.
fn address_facts(r: &fahuo_domain::order::Receiver) -> AddressFacts {
    let parsed = fahuo_address::parse(&format!("{}{}{}{}", r.province, r.city, r.county, r.detail));
    let verdict = match parsed.verdict {
        fahuo_address::Verdict::Ok => AddressVerdict::Ok,
        fahuo_address::Verdict::Review => AddressVerdict::Doubtful,
        fahuo_address::Verdict::Incomplete => AddressVerdict::Incomplete,
    };
    AddressFacts {
        verdict,
        reasons: parsed
            .hold_reasons()
            .filter_map(|r| serde_json::to_value(r).ok())
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
    }
}

/// The centroid of the receiver's county, for distances to warehouses.
fn receiver_location(order: &Order) -> Option<GeoPoint> {
    let r = &order.receiver;
    let parsed = fahuo_address::parse(&format!("{}{}{}{}", r.province, r.city, r.county, r.detail));
    let (lat, lng) = fahuo_address::Parser::global()
        .divisions()
        .centroid(parsed.adcode?)?;
    Some(GeoPoint { lat, lng })
}

/// Registers review (every `every`, for new orders and approved ones left unallocated) and
/// the retry of orders waiting for stock when goods arrive.
pub fn register(runner: crate::jobs::JobRunner, every: chrono::Duration) -> crate::jobs::JobRunner {
    use futures::FutureExt;
    runner
        .register(REVIEW_JOB, |app, _job| {
            async move {
                app.review_pending()
                    .await
                    .map(drop)
                    .map_err(crate::intake::job_error)
            }
            .boxed()
        })
        .every(REVIEW_JOB, every)
        .register(fahuo_store::stock::STOCK_ARRIVED_JOB, |app, job| {
            async move {
                let tenant = job
                    .tenant_id
                    .ok_or_else(|| crate::jobs::JobError::Permanent("no tenant".into()))?;
                let sku = job
                    .payload
                    .get("sku_id")
                    .and_then(serde_json::Value::as_i64)
                    .ok_or_else(|| crate::jobs::JobError::Permanent("no sku_id".into()))?;
                app.stock_arrived(tenant, SkuId(sku))
                    .await
                    .map(drop)
                    .map_err(crate::intake::job_error)
            }
            .boxed()
        })
}
