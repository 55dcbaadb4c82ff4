//! Bulk actions on orders (批量操作): one action on chosen orders, or on every order a list
//! filter matches (at most [`MAX_BULK`]), each through the use-case a person would use on one
//! order. One order failing never stops the others; each failure keeps its error's code and
//! message. And merging chosen orders by hand (手工合单), under the rules automatic merging
//! follows.

use super::OrderQuery;
use crate::{Actor, App, AppError, Result};
use fahuo_domain::allocation::{MergeCandidate, merge_basis, merge_refusal};
use fahuo_domain::order::Order;
use fahuo_domain::{
    CarrierCode, OrderId, OrderState, PackageId, ParseError, Permission, SupplierId, WarehouseId,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The most orders one bulk action (or one filter) may touch.
pub const MAX_BULK: usize = 5_000;

/// What to do with every chosen order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    /// Review again now (审单).
    Review,
    /// Approve (审核通过), releasing holds.
    Approve,
    /// Hold with `reason` (挂起).
    Hold,
    Cancel,
    /// Merge orders to the same receiver into one package (合单).
    Merge,
    /// Ship with `carrier` (from `warehouse_id`, or where the order is allocated).
    ChooseCarrier,
    /// Print the labels, all in one print job.
    Print,
    /// Tell the platforms the printed packages left (发货).
    Ship,
    /// Give the order's lines to the supplier `supplier_id` (代发).
    AssignSupplier,
}

impl BulkAction {
    /// The right the action needs: a role without it is refused for the whole request.
    pub fn permission(self) -> Permission {
        match self {
            BulkAction::Review | BulkAction::Approve | BulkAction::Hold => Permission::ReviewOrders,
            BulkAction::Cancel | BulkAction::AssignSupplier => Permission::EditOrders,
            BulkAction::Merge
            | BulkAction::ChooseCarrier
            | BulkAction::Print
            | BulkAction::Ship => Permission::PrintAndShip,
        }
    }
}

/// A bulk action: the orders (`ids`, or a `filter` with the fields of the order list) and
/// what the action needs.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkRequest {
    pub action: BulkAction,
    /// These orders, in this order (at most 5,000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<i64>>))]
    pub ids: Option<Vec<OrderId>>,
    /// Every order the order list's filter matches (at most 5,000; `after` and `limit` are
    /// ignored).
    #[serde(default)]
    pub filter: Option<OrderQuery>,
    /// `choose_carrier`: a carrier code, e.g. `SF`.
    #[serde(default)]
    pub carrier: Option<String>,
    /// `choose_carrier`: the warehouse to ship from; default the order's current one, or
    /// the tenant's only warehouse.
    #[serde(default)]
    pub warehouse_id: Option<i64>,
    /// `assign_supplier`: the supplier.
    #[serde(default)]
    pub supplier_id: Option<i64>,
    /// `hold`: why (required); `print`: noted on the print job.
    #[serde(default)]
    pub reason: Option<String>,
    /// `print`: the label stock, `76x130` (default), `100x150` or `100x180`.
    #[serde(default)]
    pub size: Option<String>,
}

/// One order the action could not be done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkFailure {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub order_id: OrderId,
    /// The API's error code for this order, e.g. `not_found`, `illegal_transition`.
    pub code: &'static str,
    pub message: String,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkOutcome {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<i64>))]
    pub done: Vec<OrderId>,
    pub failed: Vec<BulkFailure>,
    /// `print`: the print job of the labels that printed.
    pub print_job_id: Option<i64>,
}

/// The outcome of merging one group of orders by hand.
#[derive(Debug, Default)]
pub struct MergeOutcome {
    /// The package they share, once at least two are in it.
    pub package_id: Option<PackageId>,
    pub merged: Vec<OrderId>,
    pub failed: Vec<(OrderId, AppError)>,
}

/// The API's stable code of an error (the same as `fahuo-server`'s error bodies).
pub fn error_code(e: &AppError) -> &'static str {
    match e {
        AppError::Unauthenticated => "unauthenticated",
        AppError::BadCredentials => "bad_credentials",
        AppError::TooManyAttempts { .. } => "too_many_attempts",
        AppError::Forbidden(_) => "forbidden",
        AppError::NotFound => "not_found",
        AppError::Invalid(_) => "invalid_input",
        AppError::Import(i) => i.code(),
        AppError::Conflict(_) => "conflict",
        AppError::IllegalTransition(_) => "illegal_transition",
        AppError::InsufficientStock(_) => "insufficient_stock",
        AppError::Upstream(_) => "upstream_unavailable",
        AppError::UpstreamAuth(_) => "upstream_auth",
        AppError::UpstreamRefused(_) => "upstream_refused",
        AppError::Internal(_) => "internal",
    }
}

fn failure(order_id: OrderId, e: AppError) -> BulkFailure {
    let message = match &e {
        AppError::Internal(cause) => {
            tracing::error!(order = %order_id, error = %cause, "bulk action failed");
            "internal error".to_string()
        }
        other => other.to_string(),
    };
    BulkFailure {
        order_id,
        code: error_code(&e),
        message,
    }
}

impl App {
    /// Does `req.action` to every chosen order through the one-order use-cases. The action's
    /// right is checked first (403 for the whole request); then each order on its own: an
    /// order of another tenant, or outside the actor's shops, fails as not found and is left
    /// untouched.
    pub async fn bulk_orders(&self, actor: &Actor, req: BulkRequest) -> Result<BulkOutcome> {
        actor.require(Permission::ViewOrders)?;
        actor.require(req.action.permission())?;
        // What the action needs, checked before any order is touched.
        let reason = req
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from);
        let carrier = match req.action {
            BulkAction::ChooseCarrier => {
                Some(CarrierCode::parse(req.carrier.as_deref().ok_or_else(
                    || ParseError::new("carrier", "a carrier code, e.g. SF"),
                )?)?)
            }
            _ => None,
        };
        if req.action == BulkAction::Hold && reason.is_none() {
            return Err(ParseError::new("reason", "say why, so that someone can act on it").into());
        }
        let supplier = match req.action {
            BulkAction::AssignSupplier => {
                Some(SupplierId(req.supplier_id.ok_or_else(|| {
                    ParseError::new("supplier_id", "the supplier's id")
                })?))
            }
            _ => None,
        };
        let ids = self.bulk_ids(actor, &req).await?;

        let mut out = BulkOutcome::default();
        // Orders of another tenant or outside the actor's shops: not found, untouched.
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            match self.scoped_order(actor, id).await {
                Ok(o) => orders.push(o),
                Err(e) => out.failed.push(failure(id, e)),
            }
        }
        match req.action {
            BulkAction::Print => {
                let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
                if !ids.is_empty() {
                    let printed = self
                        .print_labels(
                            actor,
                            &crate::printing::PrintRequest {
                                order_ids: ids.clone(),
                                size: req.size.clone(),
                                reason: reason.clone(),
                            },
                            None,
                        )
                        .await?;
                    let failed: HashSet<OrderId> =
                        printed.failures.iter().map(|f| f.order_id).collect();
                    out.failed
                        .extend(printed.failures.into_iter().map(|f| BulkFailure {
                            order_id: f.order_id,
                            code: "not_printed",
                            message: f.reason,
                        }));
                    out.done = ids.into_iter().filter(|i| !failed.contains(i)).collect();
                    out.print_job_id = printed.job.map(|j| j.id.get());
                }
            }
            BulkAction::Merge => {
                let settings = self.allocation_settings(actor).await?;
                // Groups of orders to one receiver (and one shop, unless merging across shops
                // is on); an order alone in its group has nothing to merge with.
                let mut groups: BTreeMap<(String, i64), Vec<OrderId>> = BTreeMap::new();
                for o in &orders {
                    let shop = if settings.merge_across_shops {
                        0
                    } else {
                        o.shop_id.get()
                    };
                    groups
                        .entry((merge_basis(&o.receiver), shop))
                        .or_default()
                        .push(o.id);
                }
                for group in groups.into_values() {
                    if group.len() < 2 {
                        out.failed.push(failure(
                            group[0],
                            AppError::Conflict(
                                "no other chosen order goes to the same receiver from the same shop; nothing to merge with"
                                    .into(),
                            ),
                        ));
                        continue;
                    }
                    match self.merge_orders(actor, &group).await {
                        Ok(m) => {
                            out.done.extend(m.merged);
                            out.failed
                                .extend(m.failed.into_iter().map(|(id, e)| failure(id, e)));
                        }
                        Err(e) => {
                            let message = e.to_string();
                            let code = error_code(&e);
                            out.failed
                                .extend(group.into_iter().map(|order_id| BulkFailure {
                                    order_id,
                                    code,
                                    message: message.clone(),
                                }));
                        }
                    }
                }
            }
            action => {
                for o in &orders {
                    let done = match action {
                        BulkAction::Review => self.review_order_now(actor, o.id).await.map(drop),
                        BulkAction::Approve => self.approve_order(actor, o.id).await.map(drop),
                        BulkAction::Hold => self
                            .hold_order(actor, o.id, "manual", reason.as_deref().unwrap_or(""))
                            .await
                            .map(drop),
                        BulkAction::Cancel => self.cancel_order(actor, o.id).await.map(drop),
                        BulkAction::ChooseCarrier => {
                            self.bulk_carrier(actor, o, carrier.clone(), req.warehouse_id)
                                .await
                        }
                        BulkAction::Ship => self.bulk_ship(actor, o.id).await,
                        BulkAction::AssignSupplier => self
                            .assign_dropship(
                                actor,
                                o.id,
                                &crate::dropship::AssignInput {
                                    supplier_id: supplier.expect("checked above"),
                                    line_ids: Vec::new(),
                                },
                            )
                            .await
                            .map(drop),
                        BulkAction::Print | BulkAction::Merge => unreachable!("handled above"),
                    };
                    match done {
                        Ok(()) => out.done.push(o.id),
                        Err(e) => out.failed.push(failure(o.id, e)),
                    }
                }
            }
        }
        Ok(out)
    }

    /// The chosen ids (without repeats), or every order the filter matches; more than
    /// [`MAX_BULK`] is refused.
    async fn bulk_ids(&self, actor: &Actor, req: &BulkRequest) -> Result<Vec<OrderId>> {
        let too_many = |field: &'static str| -> AppError {
            ParseError::new(
                field,
                format!("at most {MAX_BULK} orders at once; narrow the filter or choose fewer"),
            )
            .into()
        };
        match (&req.ids, &req.filter) {
            (Some(ids), None) => {
                if ids.is_empty() {
                    return Err(ParseError::new("ids", "at least one order").into());
                }
                let mut seen = HashSet::new();
                let ids: Vec<OrderId> = ids.iter().copied().filter(|i| seen.insert(*i)).collect();
                if ids.len() > MAX_BULK {
                    return Err(too_many("ids"));
                }
                Ok(ids)
            }
            (None, Some(filter)) => {
                let mut query = filter.clone();
                query.limit = Some(500);
                query.after = None;
                let mut ids = Vec::new();
                loop {
                    let page = self.orders(actor, &query).await?;
                    ids.extend(page.items.iter().map(|o| o.id));
                    if ids.len() > MAX_BULK {
                        return Err(too_many("filter"));
                    }
                    match page.next_cursor {
                        Some(next) => query.after = Some(next),
                        None => break,
                    }
                }
                if ids.is_empty() {
                    return Err(ParseError::new("filter", "no order matches the filter").into());
                }
                Ok(ids)
            }
            _ => Err(ParseError::new("ids", "either ids or filter, not both").into()),
        }
    }

    /// The order, if it is the actor's tenant's and in the actor's shops (else not found).
    async fn scoped_order(&self, actor: &Actor, id: OrderId) -> Result<Order> {
        let order = self.store().order(actor.tenant_id, id).await?;
        if !actor.scope.allows_shop(order.shop_id) {
            return Err(AppError::NotFound);
        }
        Ok(order)
    }

    /// Ships the order with `carrier` from `warehouse` (or the one it is allocated to, or the
    /// tenant's only warehouse), through [`App::choose_warehouse`].
    async fn bulk_carrier(
        &self,
        actor: &Actor,
        order: &Order,
        carrier: Option<CarrierCode>,
        warehouse: Option<i64>,
    ) -> Result<()> {
        let warehouse = match warehouse {
            Some(w) => WarehouseId(w),
            None => self.order_warehouse(actor, order.id).await?,
        };
        self.choose_warehouse(
            actor,
            order.id,
            &crate::review::WarehouseChoice {
                warehouse_id: warehouse.get(),
                carrier: carrier.map(|c| c.as_str().to_string()),
            },
        )
        .await
        .map(drop)
    }

    async fn order_warehouse(&self, actor: &Actor, id: OrderId) -> Result<WarehouseId> {
        let tenant = actor.tenant_id;
        if let Some(p) = self.store().packages_of_order(tenant, id).await?.first() {
            return Ok(self
                .store()
                .package_for_waybill(tenant, *p)
                .await?
                .warehouse_id);
        }
        let warehouses = self.store().warehouses(tenant).await?;
        match warehouses.as_slice() {
            [only] => Ok(only.id),
            _ => Err(ParseError::new(
                "warehouse_id",
                "the order is not allocated yet: say which warehouse it ships from",
            )
            .into()),
        }
    }

    /// Ships the order's printed packages now (through [`App::ship_packages_now`]).
    async fn bulk_ship(&self, actor: &Actor, id: OrderId) -> Result<()> {
        let tenant = actor.tenant_id;
        let mut numbered = Vec::new();
        for p in self.store().packages_of_order(tenant, id).await? {
            if self
                .store()
                .package_for_waybill(tenant, p)
                .await?
                .waybill
                .is_some()
            {
                numbered.push(p);
            }
        }
        if numbered.is_empty() {
            let order = self.store().order(tenant, id).await?;
            return Err(AppError::IllegalTransition(format!(
                "order is {} ({}): it has no waybill number yet; print it first",
                order.state.as_str(),
                order.state.label_zh()
            )));
        }
        self.ship_packages_now(actor, &numbered).await.map(drop)
    }

    /// Merges chosen orders to one receiver into one package (手工合单), under the rules
    /// automatic merging follows ([`merge_refusal`]: same receiver and address, same shop unless
    /// merging across shops is on, same presale day, merging not switched off, the carrier's
    /// weight limit). Each order must be approved or allocated and have no number yet. The
    /// first order's package is the target (it is allocated first if it is only approved);
    /// the others are taken back and allocated again into its warehouse, where allocation
    /// joins them to the open package of the same receiver. An order that could not join is
    /// reported (and left allocated on its own).
    pub async fn merge_orders(&self, actor: &Actor, ids: &[OrderId]) -> Result<MergeOutcome> {
        actor.require(Permission::PrintAndShip)?;
        let tenant = actor.tenant_id;
        let mut seen = HashSet::new();
        let ids: Vec<OrderId> = ids.iter().copied().filter(|i| seen.insert(*i)).collect();
        if ids.len() < 2 {
            return Err(ParseError::new("ids", "at least two orders to merge").into());
        }
        let mut orders = Vec::with_capacity(ids.len());
        for &id in &ids {
            let o = self.scoped_order(actor, id).await?;
            if !matches!(o.state, OrderState::Approved | OrderState::Allocated) {
                return Err(AppError::IllegalTransition(format!(
                    "order {} is {} ({}): only approved orders without a waybill number merge",
                    o.id,
                    o.state.as_str(),
                    o.state.label_zh()
                )));
            }
            orders.push(o);
        }
        let settings = self.allocation_settings(actor).await?;
        let audit_ref = actor.audit_ref();
        // The target: the first order, in exactly one package.
        let target = &orders[0];
        let mut packages = self.store().packages_of_order(tenant, target.id).await?;
        if packages.is_empty() {
            packages = self
                .allocate_planned(tenant, target.id, None, &audit_ref)
                .await?
                .into_packages()?;
        }
        let [package] = packages.as_slice() else {
            return Err(AppError::Conflict(format!(
                "order {} ships in {} packages; only an order in one package takes others in",
                target.id,
                packages.len()
            )));
        };
        let info = self.store().package_for_waybill(tenant, *package).await?;
        if info.waybill.is_some() {
            return Err(AppError::IllegalTransition(format!(
                "order {}'s package already has a waybill number",
                target.id
            )));
        }
        let candidate = |o: &Order| MergeCandidate {
            order_id: o.id,
            shop_id: o.shop_id,
            receiver_key: merge_basis(&o.receiver),
            warehouse_id: info.warehouse_id,
            presale_ship_at: o.presale_ship_at,
        };
        let me = candidate(target);
        let mut out = MergeOutcome::default();
        for other in &orders[1..] {
            if let Some(why) = merge_refusal(&candidate(other), &me, &settings) {
                out.failed.push((other.id, AppError::Conflict(why)));
                continue;
            }
            match self
                .merge_into(
                    actor,
                    other,
                    *package,
                    info.warehouse_id,
                    info.carrier.clone(),
                )
                .await
            {
                Ok(()) => out.merged.push(other.id),
                Err(e) => out.failed.push((other.id, e)),
            }
        }
        if !out.merged.is_empty() {
            out.merged.insert(0, target.id);
            out.package_id = Some(*package);
            let mut audit = actor.audit("order.merge", "order", self.now());
            audit.entity_id = Some(target.id.get());
            audit.after = Some(serde_json::json!({
                "package_id": package, "orders": out.merged,
            }));
            self.store().append_audit(&audit).await?;
        }
        Ok(out)
    }

    /// Takes `order` back (if allocated elsewhere) and allocates it again in `warehouse`,
    /// where allocation's merge joins it to `package`.
    async fn merge_into(
        &self,
        actor: &Actor,
        order: &Order,
        package: PackageId,
        warehouse: WarehouseId,
        carrier: Option<CarrierCode>,
    ) -> Result<()> {
        let tenant = actor.tenant_id;
        let current = self.store().packages_of_order(tenant, order.id).await?;
        if current == [package] {
            return Ok(());
        }
        if order.state == OrderState::Allocated {
            let mut audit = actor.audit("order.deallocate", "order", self.now());
            audit.after = Some(serde_json::json!({ "why": "merge", "into": package }));
            self.store()
                .deallocate_order(tenant, order.id, &audit)
                .await?;
        }
        self.allocate_planned(
            tenant,
            order.id,
            Some((warehouse, carrier)),
            &actor.audit_ref(),
        )
        .await?
        .into_packages()?;
        let now_in = self.store().packages_of_order(tenant, order.id).await?;
        if now_in != [package] {
            return Err(AppError::Conflict(format!(
                "could not join package {package} (the carrier's weight limit, or the package changed); the order ships on its own"
            )));
        }
        Ok(())
    }
}
