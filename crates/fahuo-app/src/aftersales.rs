//! After-sales use-cases (售后): syncing the platforms' refunds, returns and exchanges (pushes
//! and a periodic window sync), the refund hold on unshipped orders, the merchant's decisions
//! through the outbox (with a second approval above a threshold), return labels and courier
//! pickups, receiving and inspection with photos and restock, reships (补发) and carrier
//! claims (理赔).
//!
//! The platform is the truth for its after-sales: a decision is queued, sent by the
//! `aftersale.decide` job, and its effect is read back from the platform and stored like any
//! sync, so retries and lost answers change nothing twice. Only receiving (an inspection) is
//! fahuo's own move on a platform after-sale; its status rank keeps a later, older read from
//! undoing it.

use crate::intake::{HOLD_REFUND, job_error};
use crate::jobs::{JobError, JobRunner};
use crate::{Actor, App, AppError, Result};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use fahuo_carriers::Carrier;
use fahuo_domain::aftersale::{
    AfterSaleAction, AfterSaleKind, AfterSaleLine, AfterSaleStatus, ClaimState, InspectionVerdict,
    check_photos, fully_refunded, match_lines, needs_second_approval, next_status,
};
use fahuo_domain::audit::ActorRef;
use fahuo_domain::catalog::{Shop, ShopStatus};
use fahuo_domain::{
    AfterSaleId, CarrierAccountId, OrderEvent, OrderId, OrderLineId, ParseError, Permission,
    Platform, ShopId, TenantId, WarehouseId,
};
use fahuo_platforms::aftersale::PlatformAfterSale;
/// What each platform calls its after-sale status codes (for pages that show the code).
pub use fahuo_platforms::aftersale::platform_status_name;
use fahuo_platforms::tracking::{
    PickupRequest, TrackingAccount, TrackingClient, TrackingCredentials, TrackingService,
};
use fahuo_platforms::waybill::{Contact, Item, WaybillRequest};
use fahuo_platforms::{ClientOptions, PlatformError};
use fahuo_store::aftersales::{
    AfterSale, AfterSaleEvent, AfterSaleFilter, Claim, DECIDE_JOB, Inspection, NewClaim,
    NewInspection, NewReship, Pickup, Reship, ReturnLabel, Synced, SyncedAfterSale,
};
use fahuo_store::jobs::{Job, NewJob};
use futures::FutureExt;
use serde::{Deserialize, Serialize};

/// Enqueues a window sync of every connected shop's after-sales.
pub const SCHEDULE_JOB: &str = "aftersale.schedule";
/// Syncs one shop's after-sales by update time (`{"tenant_id", "shop_id"}`).
pub const SYNC_JOB: &str = "aftersale.sync";
/// Reads one after-sale a push named (`{"tenant_id", "shop_id", "platform_after_sale_id"}`).
pub const PUSH_JOB: &str = "aftersale.push";
/// How far back each window sync starts before the last high-water mark (late updates).
const OVERLAP: Duration = Duration::minutes(10);

/// Registers the after-sale jobs and the periodic window sync on a runner.
pub fn register(runner: JobRunner, every: Duration) -> JobRunner {
    runner
        .register(SCHEDULE_JOB, |app, _job| {
            async move {
                app.schedule_after_sale_syncs()
                    .await
                    .map(drop)
                    .map_err(job_error)
            }
            .boxed()
        })
        .every(SCHEDULE_JOB, every)
        .register(SYNC_JOB, |app, job| {
            async move {
                let j = payload(&job)?;
                app.sync_shop_after_sales(TenantId(j.tenant_id), ShopId(j.shop_id))
                    .await
                    .map(drop)
                    .map_err(job_error)
            }
            .boxed()
        })
        .register(PUSH_JOB, |app, job| {
            async move {
                let j = payload(&job)?;
                let id = j
                    .platform_after_sale_id
                    .ok_or_else(|| JobError::Permanent("no after-sale id".into()))?;
                app.sync_after_sale(TenantId(j.tenant_id), ShopId(j.shop_id), &id)
                    .await
                    .map(drop)
                    .map_err(job_error)
            }
            .boxed()
        })
        .register(DECIDE_JOB, |app, job| {
            async move { decide(&app, &job).await }.boxed()
        })
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AfterSaleJob {
    pub tenant_id: i64,
    pub shop_id: i64,
    #[serde(default)]
    pub platform_after_sale_id: Option<String>,
}

fn payload(job: &Job) -> std::result::Result<AfterSaleJob, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))
}

/// Queues the read of one after-sale a push named (called by intake's webhook reception).
pub(crate) fn push_job(
    shop: &Shop,
    platform_after_sale_id: &str,
    dedupe_key: &str,
    now: DateTime<Utc>,
) -> NewJob {
    let payload = serde_json::to_value(AfterSaleJob {
        tenant_id: shop.tenant_id.get(),
        shop_id: shop.id.get(),
        platform_after_sale_id: Some(platform_after_sale_id.to_string()),
    })
    .expect("job payload serialises");
    NewJob::new(PUSH_JOB, payload, now)
        .for_tenant(shop.tenant_id)
        .dedupe(format!("aspush:{}:{dedupe_key}", shop.id.get()))
        .max_attempts(8)
}

// ------------------------------------------------------------------ views and inputs

/// An after-sale with everything the detail page shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AfterSaleDetail {
    pub after_sale: AfterSale,
    pub events: Vec<AfterSaleEvent>,
    pub inspection: Option<Inspection>,
    pub claim: Option<Claim>,
    pub reship: Option<Reship>,
}

/// The filter of the after-sale list.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AfterSaleQuery {
    /// `requested`, `awaiting_return`, `return_shipped`, `return_received`, `refunding`,
    /// `completed`, `rejected`, `closed`.
    pub status: Option<String>,
    /// `refund_only`, `return_refund`, `exchange`, `reship`, `intercept`, `claim`.
    pub kind: Option<String>,
    pub order_id: Option<i64>,
    /// The last id of the previous page (newest first).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// What an approval did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    /// Sent to the platform by the outbox.
    Queued,
    /// Above the merchant's threshold: recorded as proposed, for an owner or admin.
    Proposed,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectInput {
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnLabelInput {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub carrier_account_id: CarrierAccountId,
    /// Where the goods go back to.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub warehouse_id: WarehouseId,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickupInput {
    /// A kdniao tracking account (kuaidi100 cannot book pickups).
    pub tracking_account_id: i64,
    /// The carrier, by code (`SF`, `ZTO`, ...).
    pub carrier: String,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub warehouse_id: WarehouseId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InspectedLineInput {
    pub order_line_id: i64,
    pub quantity: i64,
}

/// An inspection. Photos are base64 strings (standard alphabet, padding optional) in the JSON
/// body: JPEG, PNG or WebP by their bytes, at most 5 MB each and 9 in all.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InspectionInput {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub warehouse_id: WarehouseId,
    /// `resell` (restock), `damaged` (write off) or `mismatch` (hold the refund for a person).
    pub verdict: String,
    pub note: Option<String>,
    /// Empty: the after-sale's own lines and quantities.
    #[serde(default)]
    pub lines: Vec<InspectedLineInput>,
    #[serde(default)]
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClaimInput {
    pub tracking_no: String,
    /// The carrier (code or name); the shipment's when omitted.
    pub carrier: Option<String>,
    /// The order; found by the tracking number when omitted.
    pub order_id: Option<i64>,
    pub claimed_fen: i64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettleClaimInput {
    /// `settled` (paid) or `rejected`.
    pub state: String,
    pub settled_fen: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReshipInput {
    pub lines: Vec<InspectedLineInput>,
    pub reason: String,
    /// The after-sale this reship answers (a claim, a complaint).
    pub reship_of: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AfterSaleSettings {
    /// Refunds above this (fen) need an owner's or admin's approval; `null`: never.
    pub approval_threshold_fen: Option<i64>,
}

/// What one window sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AfterSaleSyncReport {
    pub pulled: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

fn system() -> ActorRef {
    ActorRef::system("aftersale")
}

impl App {
    // -------------------------------------------------------------- sync

    /// Reads one after-sale from its platform and stores it (a push, or after a decision).
    pub async fn sync_after_sale(
        &self,
        tenant: TenantId,
        shop_id: ShopId,
        platform_after_sale_id: &str,
    ) -> Result<Synced> {
        let shop = self.store().shop(tenant, shop_id).await?;
        let client = self.ready_client(&shop).await?;
        let a = client
            .after_sale(platform_after_sale_id)
            .await
            .map_err(|e| self.platform_failure(e))?;
        self.store_platform_after_sale(&shop, a).await
    }

    /// Every after-sale the shop's platform changed since the last run.
    pub async fn sync_shop_after_sales(
        &self,
        tenant: TenantId,
        shop_id: ShopId,
    ) -> Result<AfterSaleSyncReport> {
        let shop = self.store().shop(tenant, shop_id).await?;
        if shop.platform == Platform::Manual {
            return Ok(AfterSaleSyncReport::default());
        }
        let now = self.now();
        let start = match self.store().after_sale_high_water(tenant, shop_id).await? {
            Some(mark) => mark - OVERLAP,
            None => now - Duration::hours(self.settings().sync_initial_lookback_hours),
        };
        let client = self.ready_client(&shop).await?;
        let pulled = match client.after_sales_window(start, now).await {
            Ok(p) => p,
            Err(e) => {
                let e = self.platform_failure(e);
                self.store()
                    .record_after_sale_sync(tenant, shop_id, None, Some(&e.to_string()), now)
                    .await?;
                return Err(e);
            }
        };
        let mut report = AfterSaleSyncReport {
            pulled: pulled.len(),
            ..Default::default()
        };
        for a in pulled {
            match self.store_platform_after_sale(&shop, a).await? {
                Synced::Created(_) => report.created += 1,
                Synced::Updated(_) => report.updated += 1,
                Synced::Unchanged(_) => report.unchanged += 1,
            }
        }
        self.store()
            .record_after_sale_sync(tenant, shop_id, Some(now), None, self.now())
            .await?;
        Ok(report)
    }

    /// Enqueues a window sync of every connected shop that has none waiting for a worker, at
    /// most one per shop per slot.
    pub async fn schedule_after_sale_syncs(&self) -> Result<usize> {
        let now = self.now();
        let slot = now.timestamp() / self.settings().sync_every_seconds.max(1);
        let waiting = self.shops_waiting_for(SYNC_JOB).await?;
        let mut n = 0;
        for shop in self.store().shops_to_sync().await? {
            if shop.status == ShopStatus::AuthFailed
                || shop.platform == Platform::Manual
                || waiting.contains(&shop.id.get())
            {
                continue;
            }
            let payload = serde_json::to_value(AfterSaleJob {
                tenant_id: shop.tenant_id.get(),
                shop_id: shop.id.get(),
                platform_after_sale_id: None,
            })
            .expect("job payload serialises");
            let job = NewJob::new(SYNC_JOB, payload, now)
                .for_tenant(shop.tenant_id)
                .dedupe(format!("assync:{}:{slot}", shop.id.get()))
                .max_attempts(5);
            if self.store().enqueue(&job, now).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Stores one platform after-sale (matched to its order and lines) and lets it move the
    /// order: hold, release, refund.
    async fn store_platform_after_sale(&self, shop: &Shop, a: PlatformAfterSale) -> Result<Synced> {
        let tenant = shop.tenant_id;
        let order_id = match fahuo_domain::PlatformOrderId::parse(&a.platform_order_id) {
            Ok(number) => {
                self.store()
                    .order_id_by_platform_id(tenant, shop.id, &number)
                    .await?
            }
            Err(_) => None,
        };
        let mut lines: Vec<AfterSaleLine> = a
            .lines
            .iter()
            .map(|l| AfterSaleLine {
                order_line_id: None,
                platform_line_id: l.platform_line_id.clone(),
                platform_sku_id: l.platform_sku_id.clone(),
                quantity: l.quantity,
            })
            .collect();
        if let Some(id) = order_id {
            let order = self.store().order(tenant, id).await?;
            match_lines(&order.lines, &mut lines);
        }
        let synced = SyncedAfterSale {
            shop_id: shop.id,
            order_id,
            platform_after_sale_id: a.platform_after_sale_id,
            platform_order_id: a.platform_order_id,
            kind: a.kind,
            status: a.status,
            platform_status: a.platform_status,
            reason: a.reason,
            refund_fen: a.refund_fen,
            lines,
            return_parcel: a.return_parcel.map(|p| (p.carrier_code, p.tracking_no)),
            created_at: a.created_at,
            updated_at: a.updated_at,
        };
        let outcome = self
            .store()
            .upsert_synced_after_sale(tenant, &synced, self.now())
            .await?;
        if let Some(id) = order_id {
            // Also when unchanged: a run that stopped between the two steps catches up here.
            self.follow_after_sales(tenant, id).await?;
        }
        Ok(outcome)
    }

    /// Makes the order agree with its after-sales: an open refund holds an unshipped order
    /// (`refund_pending`); completed refunds of every unit refund it (releasing its stock);
    /// once none is open the hold is released and the order reviewed again.
    pub(crate) async fn follow_after_sales(&self, tenant: TenantId, id: OrderId) -> Result<()> {
        let store = self.store();
        let actor = system();
        let now = self.now();
        let order = store.order(tenant, id).await?;
        if order.state.is_terminal() {
            return Ok(());
        }
        let all = store
            .after_sales(
                tenant,
                &AfterSaleFilter {
                    order_id: Some(id),
                    limit: 500,
                    ..Default::default()
                },
            )
            .await?;
        let asks_money = |a: &&AfterSale| a.kind.refunds() || a.kind == AfterSaleKind::Exchange;
        let open = all.iter().filter(asks_money).any(|a| !a.status.is_final());
        let refunded: Vec<(OrderLineId, i64)> = all
            .iter()
            .filter(|a| a.kind.refunds() && a.status == AfterSaleStatus::Completed)
            .flat_map(|a| {
                a.lines
                    .iter()
                    .filter_map(|l| l.order_line_id.map(|o| (o, l.quantity)))
            })
            .collect();
        let refunded_fen: i64 = all
            .iter()
            .filter(|a| a.kind.refunds() && a.status == AfterSaleStatus::Completed)
            .filter_map(|a| a.refund_fen)
            .sum();
        let before_shipping = order.state.is_before_shipping();
        let holds = store.open_holds(tenant, id).await?;
        let refund_holds: Vec<_> = holds
            .iter()
            .filter(|(_, code, _)| code == HOLD_REFUND)
            .map(|(h, _, _)| *h)
            .collect();
        if before_shipping
            && !open
            && (fully_refunded(&order.lines, &refunded)
                || (order.paid_total.get() > 0 && refunded_fen >= order.paid_total.get()))
        {
            // Everything was refunded before it left: nothing to ship; the reservation goes back.
            store
                .transition_order(tenant, id, OrderEvent::Refund, &actor, now)
                .await?;
            return Ok(());
        }
        if open && before_shipping {
            if refund_holds.is_empty() {
                store
                    .hold_order(
                        tenant,
                        id,
                        HOLD_REFUND,
                        "买家申请售后：请处理售后后再发货",
                        &actor,
                        now,
                    )
                    .await?;
            }
        } else if !open && !all.is_empty() && !refund_holds.is_empty() {
            // Only when fahuo knows the order's after-sales and all are settled: without any
            // record, the hold is intake's, from the platform's own order-level refund flag.
            store
                .release_holds(tenant, id, Some(&refund_holds), None, &actor, now)
                .await?;
            if before_shipping {
                self.review_order(tenant, id, &actor).await?;
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------- reading

    pub async fn after_sales(&self, actor: &Actor, q: &AfterSaleQuery) -> Result<Vec<AfterSale>> {
        actor.require(Permission::ViewOrders)?;
        let filter = AfterSaleFilter {
            status: q
                .status
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(AfterSaleStatus::parse)
                .transpose()?,
            kind: q
                .kind
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(AfterSaleKind::parse)
                .transpose()?,
            order_id: q.order_id.map(OrderId),
            before: q.before,
            limit: q.limit.unwrap_or(100),
            shops: actor.scope.shops.clone(),
        };
        Ok(self.store().after_sales(actor.tenant_id, &filter).await?)
    }

    /// The after-sale, or `NotFound` unless it is the actor's tenant's and of a shop of the
    /// actor's scope: outside the scope an after-sale does not exist for the actor.
    pub(crate) async fn after_sale_in_scope(
        &self,
        actor: &Actor,
        id: AfterSaleId,
    ) -> Result<AfterSale> {
        let a = self.store().after_sale(actor.tenant_id, id).await?;
        actor.check_shop(a.shop_id)?;
        Ok(a)
    }

    pub async fn after_sale_detail(
        &self,
        actor: &Actor,
        id: AfterSaleId,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::ViewOrders)?;
        let t = actor.tenant_id;
        Ok(AfterSaleDetail {
            after_sale: self.after_sale_in_scope(actor, id).await?,
            events: self.store().after_sale_events(t, id).await?,
            inspection: self.store().inspection(t, id).await?,
            claim: self.store().claim(t, id).await?,
            reship: self.store().reship(t, id).await?,
        })
    }

    /// The after-sale a warehouse scan names (a return number or the platform's id).
    pub async fn scan_return(&self, actor: &Actor, code: &str) -> Result<AfterSaleDetail> {
        actor.require(Permission::ViewOrders)?;
        if code.trim().is_empty() {
            return Err(ParseError::new("code", "scan a return number or an after-sale id").into());
        }
        let a = self
            .store()
            .after_sale_by_code(actor.tenant_id, code)
            .await?;
        self.after_sale_detail(actor, a.id).await
    }

    /// One inspection photo: (content type, bytes).
    pub async fn inspection_photo(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        n: i64,
    ) -> Result<(String, Vec<u8>)> {
        actor.require(Permission::ViewOrders)?;
        self.after_sale_in_scope(actor, id).await?;
        Ok(self
            .store()
            .inspection_photo(actor.tenant_id, id, n)
            .await?)
    }

    pub async fn after_sale_settings(&self, actor: &Actor) -> Result<AfterSaleSettings> {
        actor.require(Permission::ViewOrders)?;
        Ok(AfterSaleSettings {
            approval_threshold_fen: self
                .store()
                .refund_approval_threshold(actor.tenant_id)
                .await?,
        })
    }

    pub async fn set_after_sale_settings(
        &self,
        actor: &Actor,
        s: &AfterSaleSettings,
    ) -> Result<AfterSaleSettings> {
        actor.require(Permission::ApproveRefunds)?;
        if s.approval_threshold_fen.is_some_and(|t| t < 0) {
            return Err(ParseError::new("approval_threshold_fen", "not negative").into());
        }
        self.store()
            .set_refund_approval_threshold(
                actor.tenant_id,
                s.approval_threshold_fen,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_settings(actor).await
    }

    // -------------------------------------------------------------- decisions

    /// Agrees to a request. A refund above the merchant's threshold by someone who may not
    /// approve refunds is only proposed; an owner or admin then approves it.
    pub async fn approve_after_sale(
        &self,
        actor: &Actor,
        id: AfterSaleId,
    ) -> Result<ApprovalOutcome> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let a = self.after_sale_in_scope(actor, id).await?;
        let threshold = self.store().refund_approval_threshold(t).await?;
        if needs_second_approval(a.refund_fen, threshold)
            && !actor.role.allows(Permission::ApproveRefunds)
        {
            self.store()
                .propose_after_sale_refund(t, id, &actor.audit_ref(), self.now())
                .await?;
            return Ok(ApprovalOutcome::Proposed);
        }
        self.store()
            .queue_after_sale_decision(
                t,
                id,
                AfterSaleAction::Approve,
                None,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(ApprovalOutcome::Queued)
    }

    /// Refuses a request (or, after the goods came back, the refund), with a reason the buyer sees.
    pub async fn reject_after_sale(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        reason: &str,
    ) -> Result<()> {
        actor.require(Permission::HandleAfterSales)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(ParseError::new("reason", "1 to 200 characters").into());
        }
        self.after_sale_in_scope(actor, id).await?;
        self.store()
            .queue_after_sale_decision(
                actor.tenant_id,
                id,
                AfterSaleAction::Reject,
                Some(reason),
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// The returned goods arrived: the platform refunds (or finishes the exchange).
    pub async fn confirm_after_sale_received(&self, actor: &Actor, id: AfterSaleId) -> Result<()> {
        actor.require(Permission::HandleAfterSales)?;
        self.after_sale_in_scope(actor, id).await?;
        self.store()
            .queue_after_sale_decision(
                actor.tenant_id,
                id,
                AfterSaleAction::ConfirmReceived,
                None,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(())
    }

    // -------------------------------------------------------------- return label, pickup

    /// Issues a free-return label (退货面单) on one of the merchant's carrier accounts: the
    /// buyer is the sender, the warehouse the receiver. Idempotent: the request key is the
    /// after-sale's, so asking again returns the same number.
    pub async fn issue_return_label(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        input: &ReturnLabelInput,
    ) -> Result<ReturnLabel> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let a = self.after_sale_in_scope(actor, id).await?;
        if let Some(l) = a.label {
            return Ok(l);
        }
        actor.check_warehouse(input.warehouse_id)?;
        let (sender, receiver, items) = self.return_parties(t, &a, input.warehouse_id).await?;
        let account = self
            .carrier_account_in_scope(actor, input.carrier_account_id)
            .await?;
        let client = self.waybill_client(t, &account).await?;
        let req = WaybillRequest {
            sender,
            receiver: Contact {
                name: account.sender_name.clone(),
                mobile: account.sender_phone.clone(),
                ..receiver
            },
            items,
            weight_g: None,
            remark: Some(format!("退货 售后{}", id.get())),
            platform_order_ids: Vec::new(),
        };
        let issued = client
            .issue(&return_key(t, id), &req)
            .await
            .map_err(|e| self.platform_failure(e))?;
        let label = ReturnLabel {
            account_id: account.id,
            carrier: account.carrier.to_string(),
            tracking_no: issued.tracking_no,
        };
        self.store()
            .set_return_label(t, id, Some(&label), &actor.audit_ref(), self.now())
            .await?;
        Ok(label)
    }

    /// Recycles the return label's number and forgets it.
    pub async fn cancel_return_label(&self, actor: &Actor, id: AfterSaleId) -> Result<()> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let a = self.after_sale_in_scope(actor, id).await?;
        let Some(label) = a.label else {
            return Err(AppError::Conflict(
                "the after-sale has no return label".into(),
            ));
        };
        let account = self.store().carrier_account(t, label.account_id).await?;
        let client = self.waybill_client(t, &account).await?;
        client
            .cancel(&return_key(t, id), &label.tracking_no)
            .await
            .map_err(|e| self.platform_failure(e))?;
        self.store()
            .set_return_label(t, id, None, &actor.audit_ref(), self.now())
            .await?;
        Ok(())
    }

    /// Books a courier pickup at the buyer's (上门取件) through a kdniao tracking account.
    pub async fn book_return_pickup(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        input: &PickupInput,
    ) -> Result<Pickup> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let a = self.after_sale_in_scope(actor, id).await?;
        if let Some(p) = a.pickup.as_ref().filter(|p| p.state == "booked") {
            return Ok(p.clone());
        }
        actor.check_warehouse(input.warehouse_id)?;
        let carrier = Carrier::from_code(&input.carrier).ok_or_else(|| {
            ParseError::new("carrier", format!("unknown carrier {:?}", input.carrier))
        })?;
        let (sender, receiver, _) = self.return_parties(t, &a, input.warehouse_id).await?;
        let client = self.pickup_client(t, input.tracking_account_id).await?;
        // A new code after a cancellation: the service keeps a cancelled booking under its code.
        let attempt = a.pickup.as_ref().map_or(1, |_| 2);
        let order_code = format!("FHAS{}T{}N{attempt}", id.get(), t.get());
        let booked = client
            .book_pickup(&PickupRequest {
                order_code: order_code.clone(),
                carrier,
                sender,
                receiver,
                start: input.start,
                end: input.end,
                weight_g: None,
                remark: Some(format!("退货 售后{}", id.get())),
            })
            .await
            .map_err(|e| self.platform_failure(e))?;
        let pickup = Pickup {
            tracking_account_id: input.tracking_account_id,
            carrier: carrier.code().to_string(),
            order_code,
            booking_id: booked.booking_id,
            tracking_no: booked.tracking_no,
            state: "booked".into(),
            start: Some(input.start),
            end: Some(input.end),
        };
        self.store()
            .set_pickup(t, id, &pickup, &actor.audit_ref(), self.now())
            .await?;
        Ok(pickup)
    }

    pub async fn cancel_return_pickup(&self, actor: &Actor, id: AfterSaleId) -> Result<Pickup> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let a = self.after_sale_in_scope(actor, id).await?;
        let Some(mut pickup) = a.pickup.filter(|p| p.state == "booked") else {
            return Err(AppError::Conflict("no pickup is booked".into()));
        };
        let carrier = Carrier::from_code(&pickup.carrier)
            .ok_or_else(|| AppError::Internal(format!("stored carrier {}", pickup.carrier)))?;
        let client = self.pickup_client(t, pickup.tracking_account_id).await?;
        client
            .cancel_pickup(&pickup.order_code, carrier)
            .await
            .map_err(|e| self.platform_failure(e))?;
        pickup.state = "cancelled".into();
        self.store()
            .set_pickup(t, id, &pickup, &actor.audit_ref(), self.now())
            .await?;
        Ok(pickup)
    }

    async fn pickup_client(&self, tenant: TenantId, account: i64) -> Result<TrackingClient> {
        let row = self
            .store()
            .tracking_account(tenant, account)
            .await?
            .ok_or(AppError::NotFound)?;
        let credentials: TrackingCredentials = self
            .store()
            .tracking_account_secret(tenant, account)
            .await?;
        TrackingClient::new(
            TrackingAccount {
                service: TrackingService::parse(&row.service)?,
                base_url: row.base_url.clone(),
                credentials,
                callback_url: format!(
                    "{}/webhooks/tracking/{}",
                    self.settings().public_url.trim_end_matches('/'),
                    row.callback_token
                ),
            },
            self.platforms.http.clone(),
            &ClientOptions::default(),
        )
        .map_err(|e| AppError::UpstreamRefused(e.to_string()))
    }

    /// The buyer (sender of a return), the warehouse (its receiver) and the goods.
    async fn return_parties(
        &self,
        tenant: TenantId,
        a: &AfterSale,
        warehouse: WarehouseId,
    ) -> Result<(Contact, Contact, Vec<Item>)> {
        if !(a.kind.goods_come_back() && a.status == AfterSaleStatus::AwaitingReturn) {
            return Err(AppError::Conflict(format!(
                "a return label or pickup is for an approved return or exchange; this {} is {}",
                a.kind.as_str(),
                a.status.as_str()
            )));
        }
        let order_id = a
            .order_id
            .ok_or_else(|| AppError::Conflict("the after-sale's order is not in fahuo".into()))?;
        let order = self.store().order(tenant, order_id).await?;
        let w = self.store().warehouse(tenant, warehouse).await?;
        let r = &order.receiver;
        let buyer = Contact {
            name: r.name.clone(),
            mobile: r.phone.as_str().to_string(),
            province: r.province.clone(),
            city: r.city.clone(),
            county: r.county.clone(),
            address: r.detail.clone(),
        };
        let house = Contact {
            name: w.name.to_string(),
            mobile: String::new(),
            province: w.province.clone(),
            city: w.city.clone(),
            county: w.county.clone(),
            address: w.address.clone(),
        };
        let items = a
            .lines
            .iter()
            .filter_map(|l| {
                let line = order.lines.iter().find(|o| Some(o.id) == l.order_line_id)?;
                Some(Item {
                    name: line.title.clone(),
                    count: u32::try_from(l.quantity).unwrap_or(1),
                })
            })
            .collect();
        Ok((buyer, house, items))
    }

    // -------------------------------------------------------------- receiving

    /// Records the warehouse's inspection of a returned parcel: `resell` restocks into the
    /// warehouse, `damaged` writes off, `mismatch` keeps the refund for a person. For a
    /// platform return that may be refunded, confirming receipt is queued at once.
    pub async fn inspect_return(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        input: &InspectionInput,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::ManageStock)?;
        let t = actor.tenant_id;
        let verdict = InspectionVerdict::parse(&input.verdict)?;
        let mut photos = Vec::with_capacity(input.photos.len());
        for (i, p) in input.photos.iter().enumerate() {
            let p = p.trim();
            // Tolerate a data URL's prefix; the type is sniffed from the bytes anyway.
            let p = p.split_once(";base64,").map_or(p, |(_, b)| b);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(p)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(p))
                .map_err(|e| {
                    ParseError::new("photos", format!("photo {} is not base64: {e}", i + 1))
                })?;
            photos.push(bytes);
        }
        let types = check_photos(&photos).map_err(|e| ParseError::new("photos", e.to_string()))?;
        let a = self.after_sale_in_scope(actor, id).await?;
        // Goods come back into a warehouse the actor works in.
        actor.check_warehouse(input.warehouse_id)?;
        let lines: Vec<(OrderLineId, i64)> = if input.lines.is_empty() {
            a.lines
                .iter()
                .filter_map(|l| l.order_line_id.map(|o| (o, l.quantity)))
                .collect()
        } else {
            input
                .lines
                .iter()
                .map(|l| (OrderLineId(l.order_line_id), l.quantity))
                .collect()
        };
        if lines.is_empty() && verdict.restocks() {
            return Err(ParseError::new("lines", "which order lines came back?").into());
        }
        next_status(a.kind, a.status, AfterSaleAction::Receive)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        let inspection = NewInspection {
            warehouse_id: input.warehouse_id,
            verdict,
            note: input
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from),
            lines,
            photos: types.into_iter().zip(photos).collect(),
        };
        self.store()
            .record_inspection(t, id, &inspection, &actor.audit_ref(), self.now())
            .await?;
        if verdict.refund_may_follow() && a.platform_after_sale_id.is_some() {
            self.store()
                .queue_after_sale_decision(
                    t,
                    id,
                    AfterSaleAction::ConfirmReceived,
                    None,
                    &actor.audit_ref(),
                    self.now(),
                )
                .await?;
        }
        self.after_sale_detail(actor, id).await
    }

    // -------------------------------------------------------------- claims, reships

    /// Asks for a parcel to be stopped and sent back (拦截), e.g. for a refund before delivery
    /// or a wrong address: recorded as an after-sale to follow up with the carrier's outlet.
    /// (Neither aggregator's interception API is in fahuo's protocol reference, so the request
    /// itself is made by a person; the answer is recorded with [`App::record_interception`],
    /// and the parcel's trace shows it coming back.)
    pub async fn request_interception(
        &self,
        actor: &Actor,
        parcel: fahuo_store::tracking::ParcelId,
        reason: &str,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::HandleAfterSales)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(ParseError::new("reason", "1 to 200 characters").into());
        }
        let (p, _) = self.parcel_within_scope(actor, parcel).await?;
        if p.state.is_some_and(|s| s.is_final()) {
            return Err(AppError::Conflict(format!(
                "{} 已{}，无法拦截",
                p.tracking_no,
                p.state.map(|s| s.label_zh()).unwrap_or_default()
            )));
        }
        let order = p
            .orders
            .first()
            .map(|(o, _)| *o)
            .ok_or(AppError::NotFound)?;
        let id = self
            .store()
            .open_intercept(
                actor.tenant_id,
                order,
                &p.carrier_code,
                &p.tracking_no,
                reason,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_detail(actor, id).await
    }

    /// Records whether the carrier stopped the parcel.
    pub async fn record_interception(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        intercepted: bool,
        note: Option<&str>,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::HandleAfterSales)?;
        self.after_sale_in_scope(actor, id).await?;
        self.store()
            .intercept_result(
                actor.tenant_id,
                id,
                intercepted,
                note,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_detail(actor, id).await
    }

    /// Opens a claim against the carrier (理赔) for a lost or damaged parcel.
    pub async fn open_claim(&self, actor: &Actor, input: &ClaimInput) -> Result<AfterSaleDetail> {
        actor.require(Permission::HandleAfterSales)?;
        let t = actor.tenant_id;
        let number = input.tracking_no.trim().to_uppercase();
        if number.is_empty() {
            return Err(ParseError::new("tracking_no", "required").into());
        }
        if input.claimed_fen <= 0 {
            return Err(ParseError::new("claimed_fen", "a positive amount in fen").into());
        }
        let order_id = match input.order_id {
            Some(o) => {
                self.order_in_scope(actor, OrderId(o)).await?;
                OrderId(o)
            }
            None => {
                let found = self
                    .store()
                    .shipments_with_numbers(t, std::slice::from_ref(&number))
                    .await?
                    .first()
                    .map(|u| u.order_id);
                // A number of an order outside the actor's scope is, for them, no number.
                match found {
                    Some(o) if self.order_in_scope(actor, o).await.is_ok() => o,
                    _ => {
                        return Err(ParseError::new(
                            "tracking_no",
                            format!("no shipment has number {number}"),
                        )
                        .into());
                    }
                }
            }
        };
        let carrier = match input
            .carrier
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) => fahuo_carriers::registry::resolve(c)
                .map(|(c, _)| c.code().to_string())
                .map_err(|e| ParseError::new("carrier", e.to_string()))?,
            None => fahuo_carriers::detect(&number)
                .ok()
                .and_then(|d| d.confident())
                .map(|c| c.code().to_string())
                .ok_or_else(|| ParseError::new("carrier", "which carrier carried the parcel?"))?,
        };
        let id = self
            .store()
            .open_claim(
                t,
                &NewClaim {
                    order_id,
                    carrier,
                    tracking_no: number,
                    claimed_fen: input.claimed_fen,
                    note: input.note.clone(),
                },
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_detail(actor, id).await
    }

    pub async fn settle_claim(
        &self,
        actor: &Actor,
        id: AfterSaleId,
        input: &SettleClaimInput,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::HandleAfterSales)?;
        let state = ClaimState::parse(&input.state)?;
        if state == ClaimState::Settled && input.settled_fen.is_none_or(|f| f < 0) {
            return Err(ParseError::new("settled_fen", "the amount the carrier paid").into());
        }
        self.after_sale_in_scope(actor, id).await?;
        self.store()
            .settle_claim(
                actor.tenant_id,
                id,
                state,
                input.settled_fen,
                input.note.as_deref(),
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_detail(actor, id).await
    }

    /// Sends (part of) an order again (补发): a new order linked to the original, with the
    /// chosen lines, that goes through review, waybill, print and ship like any order (its
    /// shipment is not written back to the platform).
    pub async fn create_reship(
        &self,
        actor: &Actor,
        order: OrderId,
        input: &ReshipInput,
    ) -> Result<AfterSaleDetail> {
        actor.require(Permission::HandleAfterSales)?;
        self.order_in_scope(actor, order).await?;
        let reason = input.reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(ParseError::new("reason", "1 to 200 characters").into());
        }
        if input.lines.is_empty() {
            return Err(ParseError::new("lines", "at least one line").into());
        }
        let (id, _new_order) = self
            .store()
            .create_reship(
                actor.tenant_id,
                &NewReship {
                    original: order,
                    lines: input
                        .lines
                        .iter()
                        .map(|l| (OrderLineId(l.order_line_id), l.quantity))
                        .collect(),
                    reason: reason.to_string(),
                    reship_of: input.reship_of.map(AfterSaleId),
                },
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.after_sale_detail(actor, id).await
    }
}

fn return_key(tenant: TenantId, id: AfterSaleId) -> String {
    format!("fhret-{}-{}", tenant.get(), id.get())
}

/// Sends a pending decision to the platform, then reads the after-sale back. Transient
/// failures retry (the client's decisions are idempotent: it reads first and skips a decision
/// the platform already has); refusals are stored for a person.
async fn decide(app: &App, job: &Job) -> std::result::Result<(), JobError> {
    let tenant = job
        .tenant_id
        .ok_or_else(|| JobError::Permanent("job has no tenant".into()))?;
    let id = job
        .payload
        .get("after_sale_id")
        .and_then(serde_json::Value::as_i64)
        .map(AfterSaleId)
        .ok_or_else(|| JobError::Permanent("payload has no after_sale_id".into()))?;
    let retry = |e: AppError| JobError::Retry(e.to_string());
    let a = app
        .store()
        .after_sale(tenant, id)
        .await
        .map_err(|e| retry(e.into()))?;
    let (Some(action), Some(platform_id)) = (a.pending_action, a.platform_after_sale_id.clone())
    else {
        return Ok(());
    };
    let shop = app
        .store()
        .shop(tenant, a.shop_id)
        .await
        .map_err(|e| retry(e.into()))?;
    let client = match app.ready_client(&shop).await {
        Ok(c) => c,
        Err(e @ AppError::Upstream(_)) | Err(e @ AppError::Internal(_)) => return Err(retry(e)),
        Err(e) => {
            app.store()
                .after_sale_decision_refused(tenant, id, &e.to_string(), app.now())
                .await
                .map_err(|e| retry(e.into()))?;
            return Ok(());
        }
    };
    let sent = match action {
        AfterSaleAction::Approve => client.approve_after_sale(&platform_id, None).await,
        AfterSaleAction::Reject => {
            client
                .reject_after_sale(
                    &platform_id,
                    a.pending_reason.as_deref().unwrap_or("不符合售后条件"),
                )
                .await
        }
        AfterSaleAction::ConfirmReceived => client.confirm_return_received(&platform_id).await,
        other => Err(PlatformError::Config(format!(
            "{other:?} is not sent to platforms"
        ))),
    };
    match sent {
        Ok(()) => {
            app.store()
                .after_sale_decided(tenant, id, "aftersale", app.now())
                .await
                .map_err(|e| retry(e.into()))?;
            app.sync_after_sale(tenant, a.shop_id, &platform_id)
                .await
                .map(drop)
                .map_err(retry)
        }
        Err(e) if e.is_retryable() && job.attempts < job.max_attempts => {
            Err(JobError::Retry(e.to_string()))
        }
        Err(e) => {
            app.store()
                .after_sale_decision_refused(tenant, id, &e.to_string(), app.now())
                .await
                .map_err(|e| retry(e.into()))?;
            // The platform's picture is what a person needs next to the refusal.
            let _ = app.sync_after_sale(tenant, a.shop_id, &platform_id).await;
            Ok(())
        }
    }
}
