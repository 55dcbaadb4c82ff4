//! Order intake from the platforms: the per-shop incremental sync, webhook reception, and
//! how a platform's order status moves fahuo's own order state.
//!
//! Both paths end in [`App::ingest`]: a push only names an order, so its job pulls the order's
//! current detail, exactly as the sync does. Duplicate and out-of-order deliveries are therefore
//! harmless: the store keeps the newest version by the platform's update time.
//!
//! The sync backs the pushes up. Each run starts at the shop's high-water mark minus the
//! platform's overlap, walks to now in windows the platform accepts, and moves the mark after
//! every window it has stored, so a failed run resumes where it stopped.

use crate::jobs::{JobError, JobRunner};
use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Duration, Utc};
use fahuo_domain::audit::ActorRef;
use fahuo_domain::catalog::{Shop, ShopStatus};
use fahuo_domain::{
    OrderEvent, OrderId, OrderState, Permission, Platform, PlatformOrderId, ShopId, TenantId,
};
pub use fahuo_platforms::WebhookRequest;
use fahuo_platforms::{
    AfterSale, ClientOptions, Connection, KnownReceivers, PlatformClient, PlatformError,
    PlatformStatus, PulledOrder, SealedOrder, WebhookMessage,
};
use fahuo_store::intake::SyncState;
use fahuo_store::jobs::{Job, NewJob};
use fahuo_store::orders::{KnownOrder, Upsert};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Enqueues a sync of every connected shop.
pub const SCHEDULE_JOB: &str = "intake.schedule";
/// Syncs one shop (`{"tenant_id", "shop_id"}`).
pub const SYNC_JOB: &str = "intake.sync";
/// Pulls one order a push named (`{"tenant_id", "shop_id", "platform_order_id"}`).
pub const PUSH_JOB: &str = "intake.push";
/// The longest stretch of platform update time between two progress records.
const PROGRESS_WINDOW: Duration = Duration::hours(1);

/// Hold reasons set by intake.
pub const HOLD_REFUND: &str = "refund_pending";
pub const HOLD_SHIPPED_ELSEWHERE: &str = "shipped_elsewhere";
pub const HOLD_CANCELLED_LATE: &str = "cancelled_after_waybill";
pub const HOLD_READDRESSED: &str = "address_changed_after_waybill";

/// What one sync run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncReport {
    /// Another run held the shop's sync lease, so this one did nothing.
    pub already_running: bool,
    pub windows: usize,
    pub pulled: usize,
    #[serde(flatten)]
    pub ingested: IngestCounts,
    pub high_water: Option<DateTime<Utc>>,
    /// Time spent waiting for the platform (listing, details, decryption, retries).
    pub pull_millis: u64,
    /// Time spent storing what was pulled.
    pub store_millis: u64,
}

/// How pulled orders landed.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Not paid yet, or finished on the platform before fahuo ever saw it: nothing to ship.
    pub skipped: usize,
    /// Orders whose state the platform moved (cancelled, refunded, shipped elsewhere) or held.
    pub moved: usize,
    /// Orders the platform sent that could not be stored (reason logged, retried next run).
    pub rejected: usize,
}

impl IngestCounts {
    fn add(&mut self, one: Ingested) {
        match one {
            Ingested::Created => self.created += 1,
            Ingested::Updated => self.updated += 1,
            Ingested::Unchanged => self.unchanged += 1,
            Ingested::Skipped => self.skipped += 1,
            Ingested::Rejected => self.rejected += 1,
        }
    }
}

/// What became of one pulled order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Rejected,
}

/// A shop's sync as staff see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopSync {
    pub shop: Shop,
    pub state: SyncState,
    /// Where the platform should push (`/webhooks/{key}` on fahuo's public address).
    pub webhook_path: String,
}

/// What a webhook request gets back, in the platform's own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// A platform's carrier list: (code, name).
type CarrierList = Vec<(String, String)>;

/// The platform clients of this node, one per shop, so each shop's rate limit and token are
/// shared by all its calls.
pub(crate) struct Platforms {
    pub(crate) http: reqwest::Client,
    options: ClientOptions,
    clients: Mutex<HashMap<ShopId, (String, Arc<PlatformClient>)>>,
    /// E-waybill clients, one per carrier account (its rate limit is shared by all calls).
    pub(crate) waybill_clients: Mutex<
        HashMap<
            fahuo_domain::CarrierAccountId,
            (String, Arc<fahuo_platforms::waybill::WaybillClient>),
        >,
    >,
    /// Packages whose number this node is asking for right now: one caller asks, the others
    /// wait for it and then read the stored number.
    pub(crate) issuing: Mutex<HashMap<fahuo_domain::PackageId, Arc<tokio::sync::Mutex<()>>>>,
    /// Each shop's live carrier list (code, name), fetched when fahuo's own table has no code
    /// for a carrier on that platform, kept for an hour.
    carrier_lists: Mutex<HashMap<ShopId, (std::time::Instant, CarrierList)>>,
    /// The address this node was found listening on, when `Settings::public_url` is not what
    /// services should call (the demo listens on whatever port is free).
    pub(crate) public_url: Mutex<Option<String>>,
}

impl Platforms {
    pub(crate) fn new(options: ClientOptions) -> Platforms {
        Platforms {
            http: fahuo_platforms::http_client(),
            options,
            clients: Mutex::new(HashMap::new()),
            waybill_clients: Mutex::new(HashMap::new()),
            issuing: Mutex::new(HashMap::new()),
            carrier_lists: Mutex::new(HashMap::new()),
            public_url: Mutex::new(None),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ShopJob {
    tenant_id: i64,
    shop_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform_order_id: Option<String>,
}

impl App {
    /// The adapter for a shop, reused while its connection settings stay the same.
    pub(crate) async fn platform_client(&self, shop: &Shop) -> Result<Arc<PlatformClient>> {
        let credentials = self
            .store()
            .shop_credentials(shop.tenant_id, shop.id)
            .await?
            .ok_or_else(|| AppError::Upstream("the shop has no credentials".into()))?;
        let base_url = shop
            .api_base_url
            .clone()
            .unwrap_or_else(|| official_base_url(shop.platform).to_string());
        // Tokens are left out: the client refreshes them itself and we persist what it got.
        let fingerprint = serde_json::json!([
            base_url,
            shop.platform_shop_id,
            credentials.app_key,
            credentials.app_secret,
            credentials.auth_code,
        ])
        .to_string();
        let platforms = &self.platforms;
        if let Some((_, client)) = platforms
            .clients
            .lock()
            .expect("clients lock")
            .get(&shop.id)
            .filter(|(fp, _)| *fp == fingerprint)
        {
            return Ok(client.clone());
        }
        let connection = Connection {
            platform: shop.platform,
            base_url,
            platform_shop_id: shop.platform_shop_id.clone(),
            credentials,
        };
        let client = Arc::new(
            PlatformClient::new(
                connection,
                platforms.http.clone(),
                platforms.options.clone(),
            )
            .map_err(|e| AppError::Upstream(e.to_string()))?,
        );
        platforms
            .clients
            .lock()
            .expect("clients lock")
            .insert(shop.id, (fingerprint, client.clone()));
        Ok(client)
    }

    /// Whether the platform's parcels of an order carry a number fahuo itself is writing back.
    async fn shipped_by_fahuo(
        &self,
        tenant: TenantId,
        order: fahuo_domain::OrderId,
        pulled: &PulledOrder,
    ) -> Result<bool> {
        if pulled.shipped_packages.is_empty() {
            return Ok(false);
        }
        let ours = self
            .store()
            .shipments(
                tenant,
                &fahuo_store::shipping::ShipmentFilter {
                    order_id: Some(order),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
        Ok(ours.iter().any(|s| {
            pulled
                .shipped_packages
                .iter()
                .any(|p| p.tracking_no.trim().eq_ignore_ascii_case(&s.tracking_no))
        }))
    }

    /// The shop's platform carrier list as (code, name), from the cache when under an hour old.
    pub(crate) async fn platform_carrier_list(
        &self,
        shop: ShopId,
        client: &PlatformClient,
    ) -> Result<Vec<(String, String)>, fahuo_platforms::PlatformError> {
        const FRESH: std::time::Duration = std::time::Duration::from_secs(3600);
        if let Some((at, list)) = self
            .platforms
            .carrier_lists
            .lock()
            .expect("carrier lists lock")
            .get(&shop)
            && at.elapsed() < FRESH
        {
            return Ok(list.clone());
        }
        let list: Vec<(String, String)> = client
            .carrier_list()
            .await?
            .into_iter()
            .map(|c| (c.code, c.name))
            .collect();
        self.platforms
            .carrier_lists
            .lock()
            .expect("carrier lists lock")
            .insert(shop, (std::time::Instant::now(), list.clone()));
        Ok(list)
    }

    /// Makes sure the shop's token is valid, persisting any new one (encrypted).
    pub(crate) async fn ready_client(&self, shop: &Shop) -> Result<Arc<PlatformClient>> {
        let client = self.platform_client(shop).await?;
        let changed = client
            .ensure_token(self.now())
            .await
            .map_err(|e| self.platform_failure(e))?;
        if changed {
            self.store()
                .set_shop_credentials(shop.tenant_id, shop.id, &client.credentials())
                .await?;
        }
        Ok(client)
    }

    pub(crate) fn platform_failure(&self, e: PlatformError) -> AppError {
        if e.is_retryable() {
            AppError::Upstream(e.to_string())
        } else if e.is_auth() {
            AppError::UpstreamAuth(e.to_string())
        } else {
            AppError::UpstreamRefused(e.to_string())
        }
    }

    /// Pulls everything the shop's platform changed since the last run and stores it.
    ///
    /// One run per shop at a time: the run holds the shop's sync lease
    /// (`Settings::sync_lease_seconds`) and renews it while it runs, however long that is, so a
    /// later slot's sync finds the shop taken and does nothing. The lease is short (five minutes
    /// by default) and apart from the job's, so when the node running the sync dies, its shop
    /// is synced again soon after even where job leases are long.
    pub async fn sync_shop(&self, tenant: TenantId, shop_id: ShopId) -> Result<SyncReport> {
        let shop = self.store().shop(tenant, shop_id).await?;
        let now = self.now();
        let length = Duration::seconds(self.settings().sync_lease_seconds);
        let Some(lease) = self
            .store()
            .claim_sync(tenant, shop_id, now, now + length)
            .await?
        else {
            // Another run is syncing the shop; it covers everything up to its own end.
            return Ok(SyncReport {
                already_running: true,
                ..SyncReport::default()
            });
        };
        let lost = AtomicBool::new(false);
        let renew = || async {
            let until = self.now() + length;
            match self
                .store()
                .renew_sync(tenant, shop_id, &lease, until)
                .await
            {
                Ok(true) => {}
                // It lapsed (this node stalled) and another run took the shop.
                Ok(false) => lost.store(true, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!(shop = shop_id.get(), error = %e, "could not renew a sync lease")
                }
            }
            true
        };
        let windows = self.sync_shop_windows(&shop, &lost);
        let every = crate::jobs::renewal_period(length);
        let outcome = crate::jobs::while_renewing(windows, every, renew)
            .await
            .expect("sync lease renewals never stop the sync");
        self.store().release_sync(tenant, shop_id, lease).await?;
        match outcome {
            Ok(report) => {
                if shop.status != ShopStatus::Connected {
                    self.store()
                        .set_shop_status(tenant, shop_id, ShopStatus::Connected)
                        .await?;
                }
                Ok(report)
            }
            Err(e) => {
                self.store()
                    .record_sync_failure(tenant, shop_id, &e.to_string(), self.now())
                    .await?;
                if matches!(e, AppError::UpstreamAuth(_)) {
                    self.store()
                        .set_shop_status(tenant, shop_id, ShopStatus::AuthFailed)
                        .await?;
                }
                Err(e)
            }
        }
    }

    /// The windows of one run, each stored and recorded before the next; stops after the
    /// window in hand once `lost` says another run took the shop over.
    async fn sync_shop_windows(&self, shop: &Shop, lost: &AtomicBool) -> Result<SyncReport> {
        if shop.platform == Platform::Manual {
            return Err(AppError::Conflict(
                "manual shops have nothing to sync".into(),
            ));
        }
        let client = self.ready_client(shop).await?;
        let limits = client.sync_limits();
        let state = self.store().sync_state(shop.tenant_id, shop.id).await?;
        let now = self.now();
        let mut start = match state.high_water {
            Some(mark) => mark - limits.overlap,
            None => now - Duration::hours(self.settings().sync_initial_lookback_hours),
        };
        let mut report = SyncReport::default();
        // Progress is recorded per window, so windows are kept short enough that a restart
        // repeats little of a long catch-up.
        let step = limits.max_window.min(PROGRESS_WINDOW);
        while start < now {
            let end = (start + step).min(now);
            let pulling = std::time::Instant::now();
            let sealed = client
                .read_window(start, end)
                .await
                .map_err(|e| self.platform_failure(e))?;
            let (pulled, mut known) = self.open_receivers(shop, &client, sealed).await?;
            report.pull_millis += pulling.elapsed().as_millis() as u64;
            let storing = std::time::Instant::now();
            report.windows += 1;
            let count = pulled.len();
            report.pulled += count;
            for order in pulled {
                let held = known.remove(order.platform_order_id());
                report.ingested.add(self.ingest(shop, order, held).await?);
            }
            self.store()
                .record_sync_progress(shop.tenant_id, shop.id, end, count as i64, self.now())
                .await?;
            report.store_millis += storing.elapsed().as_millis() as u64;
            report.high_water = Some(end);
            start = end;
            if lost.load(Ordering::Relaxed) {
                break;
            }
        }
        Ok(report)
    }

    /// Decrypts the receivers of orders read from the shop's platform, except those whose
    /// receiver fahuo already holds unchanged (same fingerprint): the platforms charge the
    /// merchant's quota for every decryption, and orders are read again and again (each sync
    /// window's overlap, every push). Also returns what fahuo holds of these orders, read in
    /// one go for [`App::ingest`].
    async fn open_receivers(
        &self,
        shop: &Shop,
        client: &PlatformClient,
        sealed: Vec<SealedOrder>,
    ) -> Result<(Vec<PulledOrder>, HashMap<PlatformOrderId, KnownOrder>)> {
        let ids: Vec<_> = sealed
            .iter()
            .map(|o| o.platform_order_id().clone())
            .collect();
        let known = self
            .store()
            .known_orders(shop.tenant_id, shop.id, &ids)
            .await?;
        let receivers: KnownReceivers = known
            .iter()
            .filter_map(|(id, k)| Some((id.clone(), k.receiver_fingerprint()?.to_string())))
            .collect();
        let pulled = client
            .open_receivers(sealed, &receivers)
            .await
            .map_err(|e| self.platform_failure(e))?;
        Ok((pulled, known))
    }

    /// Stores one pulled order and lets its platform status move fahuo's state. `known`: what
    /// fahuo held of it when the pull was read ([`Store::known_orders`]). Orders are read
    /// again and again (each sync window's overlap, every push): a version already held is
    /// not written again.
    async fn ingest(
        &self,
        shop: &Shop,
        pulled: PulledOrder,
        known: Option<KnownOrder>,
    ) -> Result<Ingested> {
        let tenant = shop.tenant_id;
        let actor = ActorRef::system("intake");
        let now = self.now();
        let decrypted = pulled.new_order(shop.id);
        let fingerprint = decrypted
            .as_ref()
            .ok()
            .and_then(|o| o.receiver_fingerprint.as_deref());
        let (id, ingested) = match &known {
            // A version fahuo holds, or an older one: nothing to decrypt, read or store.
            Some(held) if held.holds(pulled.order.platform_updated_at, fingerprint) => {
                (held.id, Ingested::Unchanged)
            }
            _ => {
                let new_order = match (decrypted, &known) {
                    // Decrypted in this pull: the order carries the receiver's fingerprint,
                    // which `upsert_order` records with the version it stores, so that the
                    // next pull need not decrypt the receiver again while it stays the same.
                    (Ok(order), _) => order,
                    // Not decrypted again because fahuo holds it unchanged, or the platform no
                    // longer shows the receiver (finished or not yet shippable): keep the one
                    // stored, update the rest.
                    (Err(_), Some(held)) => {
                        let receiver = self.store().order_receiver(tenant, held.id).await?;
                        match pulled.new_order_with(shop.id, receiver) {
                            Ok(order) => order,
                            Err(e) => {
                                tracing::warn!(shop = shop.id.get(), order = %pulled.platform_order_id(), error = %e, "update not stored");
                                return Ok(Ingested::Rejected);
                            }
                        }
                    }
                    // Never seen and nothing to ship: unpaid, or finished before fahuo was
                    // connected.
                    (Err(_), None) if !pulled.status.is_shippable() => {
                        return Ok(Ingested::Skipped);
                    }
                    (Err(e), None) => {
                        tracing::warn!(shop = shop.id.get(), order = %pulled.platform_order_id(), error = %e, "order not stored");
                        return Ok(Ingested::Rejected);
                    }
                };
                if known.is_none() && !pulled.status.is_shippable() {
                    return Ok(Ingested::Skipped);
                }
                let outcome = self
                    .store()
                    .upsert_order(tenant, &new_order, &actor, now)
                    .await?;
                let (id, ingested) = match outcome {
                    Upsert::Created(id) => (id, Ingested::Created),
                    Upsert::Updated(id) => (id, Ingested::Updated),
                    Upsert::Unchanged(id) => (id, Ingested::Unchanged),
                };
                if ingested == Ingested::Updated {
                    self.follow_readdress(tenant, id, &new_order.receiver, &actor)
                        .await?;
                }
                (id, ingested)
            }
        };
        let held_openid = known.as_ref().and_then(|k| k.buyer_openid.as_deref());
        if let Some(openid) = pulled.order.buyer_openid.as_deref()
            && held_openid != Some(openid)
        {
            // Kept for buyer notifications through the platform (WeChat customer messages).
            self.store().set_buyer_openid(tenant, id, openid).await?;
        }
        // Also when unchanged: a run that stopped between the two steps catches up here.
        let seen = known.map(|k| k.state);
        self.follow_platform(tenant, id, &pulled, seen, &actor)
            .await?;
        Ok(ingested)
    }

    /// Moves fahuo's state where the platform's status leaves no choice; holds the order for a
    /// person where it does. `seen`: the order's state when the pull was read, if fahuo held it
    /// then.
    async fn follow_platform(
        &self,
        tenant: TenantId,
        id: OrderId,
        pulled: &PulledOrder,
        seen: Option<OrderState>,
        actor: &ActorRef,
    ) -> Result<()> {
        let refund_open = pulled.after_sale == AfterSale::Requested
            || pulled
                .lines_after_sale
                .iter()
                .any(|l| l.state == AfterSale::Requested);
        let hold_for_refund = refund_open && pulled.status.is_shippable();
        let platform_ended = matches!(
            pulled.status,
            PlatformStatus::Cancelled
                | PlatformStatus::Closed
                | PlatformStatus::Shipped
                | PlatformStatus::Completed
        );
        // Most pulls are of orders already followed: only a cancel, a shipment or a refund
        // request can need something, and a cancel or a shipment only of an order not yet
        // shipped, which an order seen past shipping (shipped, ended or cancelled) never is
        // again.
        let nothing_to_follow = !platform_ended || seen.is_some_and(|s| !s.is_before_shipping());
        if nothing_to_follow && !hold_for_refund {
            return Ok(());
        }
        let store = self.store();
        let now = self.now();
        let state = store.order_state(tenant, id).await?;
        if state.is_terminal() {
            return Ok(());
        }
        let before_shipping = state.is_before_shipping();
        // Goods already in the warehouse flow (stock set aside, waybill, label, box) need a
        // person to confirm a shipment the platform reports; a cancel only needs one once a
        // number exists (an allocated order just gives its stock back).
        let in_flow = matches!(
            state,
            OrderState::Allocated
                | OrderState::WaybillIssued
                | OrderState::Printed
                | OrderState::Packed
        );
        let has_number = in_flow && state != OrderState::Allocated;
        match &pulled.status {
            PlatformStatus::Cancelled | PlatformStatus::Closed if before_shipping => {
                if has_number {
                    self.hold_once(
                        tenant,
                        id,
                        HOLD_CANCELLED_LATE,
                        "平台已取消/关闭此订单，但已取号或打单：请拦截包裹并回收面单",
                        actor,
                    )
                    .await?;
                } else {
                    store
                        .transition_order(tenant, id, OrderEvent::Cancel, actor, now)
                        .await?;
                }
            }
            PlatformStatus::Shipped | PlatformStatus::Completed if before_shipping => {
                if self.shipped_by_fahuo(tenant, id, pulled).await? {
                    // fahuo's own write-back, answered before the outbox heard back (a crash,
                    // a lost answer): the outbox settles the order when it retries.
                } else if in_flow {
                    self.hold_once(
                        tenant,
                        id,
                        HOLD_SHIPPED_ELSEWHERE,
                        "平台显示已发货，但 fahuo 中此单仍在作业：请核对是否重复发货",
                        actor,
                    )
                    .await?;
                } else {
                    // Shipped from the platform's back end or another tool: nothing left to do.
                    if matches!(state, OrderState::New | OrderState::OnHold) {
                        store.release_order(tenant, id, actor, now).await?;
                    }
                    store
                        .transition_order(tenant, id, OrderEvent::Ship, actor, now)
                        .await?;
                }
            }
            _ => {}
        }
        if hold_for_refund {
            self.hold_once(
                tenant,
                id,
                HOLD_REFUND,
                "买家申请退款：请处理售后后再发货",
                actor,
            )
            .await?;
        }
        Ok(())
    }

    /// The buyer changed the address of an order already allocated: its reservation (which
    /// warehouse, which box) is redone; once a number exists, the label is wrong and a person
    /// must stop it. Orders not yet allocated are simply reviewed with the new address.
    pub(crate) async fn follow_readdress(
        &self,
        tenant: TenantId,
        id: OrderId,
        receiver: &fahuo_domain::order::Receiver,
        actor: &ActorRef,
    ) -> Result<()> {
        let store = self.store();
        let (state, key) = store.state_and_merge_key(tenant, id).await?;
        let Some(key) = key else { return Ok(()) };
        if key == store.merge_key_of(&fahuo_domain::allocation::merge_basis(receiver)) {
            return Ok(());
        }
        match state {
            OrderState::Allocated => {
                let audit = fahuo_domain::audit::AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: "order.deallocate".into(),
                    entity_type: "order".into(),
                    entity_id: Some(id.get()),
                    before: None,
                    after: Some(serde_json::json!({ "why": "买家修改了收货地址，重新分配" })),
                    at: self.now(),
                };
                store.deallocate_order(tenant, id, &audit).await?;
                self.review_order(tenant, id, actor).await.map(drop)
            }
            OrderState::WaybillIssued | OrderState::Printed | OrderState::Packed => {
                self.hold_once(
                    tenant,
                    id,
                    HOLD_READDRESSED,
                    "买家修改了收货地址，但已取号/打单：请作废旧面单并按新地址重新打印",
                    actor,
                )
                .await
            }
            _ => Ok(()),
        }
    }

    /// Puts a hold with `reason` on the order unless one is open already.
    async fn hold_once(
        &self,
        tenant: TenantId,
        id: OrderId,
        reason: &str,
        message: &str,
        actor: &ActorRef,
    ) -> Result<()> {
        let holds = self.store().holds(tenant, id).await?;
        if holds
            .iter()
            .any(|h| h.reason_code == reason && h.released_at.is_none())
        {
            return Ok(());
        }
        self.store()
            .hold_order(tenant, id, reason, message, actor, self.now())
            .await?;
        Ok(())
    }

    /// Enqueues a sync of every shop that has credentials and none waiting for a worker; at
    /// most one per shop per slot (`Settings::sync_every_seconds`).
    pub async fn schedule_syncs(&self) -> Result<usize> {
        let now = self.now();
        let slot = now.timestamp() / self.settings().sync_every_seconds.max(1);
        let waiting = self.shops_waiting_for(SYNC_JOB).await?;
        let mut enqueued = 0;
        for shop in self.store().shops_to_sync().await? {
            if shop.status == ShopStatus::AuthFailed || waiting.contains(&shop.id.get()) {
                continue;
            }
            if self.enqueue_sync(&shop, &format!("{slot}")).await? {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    pub(crate) async fn enqueue_sync(&self, shop: &Shop, slot: &str) -> Result<bool> {
        let payload = serde_json::to_value(ShopJob {
            tenant_id: shop.tenant_id.get(),
            shop_id: shop.id.get(),
            platform_order_id: None,
        })
        .expect("job payload serialises");
        let job = NewJob::new(SYNC_JOB, payload, self.now())
            .for_tenant(shop.tenant_id)
            .dedupe(format!("sync:{}:{slot}", shop.id.get()))
            .max_attempts(5);
        Ok(self.store().enqueue(&job, self.now()).await?.is_some())
    }

    /// A shop's sync progress and the webhook path to enter in the platform's console.
    pub async fn shop_sync(&self, actor: &Actor, shop_id: ShopId) -> Result<ShopSync> {
        actor.require(Permission::ViewOrders)?;
        actor.check_shop(shop_id)?;
        let shop = self.store().shop(actor.tenant_id, shop_id).await?;
        let state = self.store().sync_state(actor.tenant_id, shop_id).await?;
        Ok(ShopSync {
            webhook_path: format!("/webhooks/{}", shop.webhook_key),
            shop,
            state,
        })
    }

    /// "Sync now": enqueues a sync of the shop unless one was requested this second.
    pub async fn request_sync(&self, actor: &Actor, shop_id: ShopId) -> Result<ShopSync> {
        actor.require(Permission::EditOrders)?;
        actor.check_shop(shop_id)?;
        let shop = self.store().shop(actor.tenant_id, shop_id).await?;
        if shop.platform == Platform::Manual {
            return Err(AppError::Conflict(
                "manual shops have nothing to sync".into(),
            ));
        }
        self.enqueue_sync(&shop, &format!("now-{}", self.now().timestamp()))
            .await?;
        self.shop_sync(actor, shop_id).await
    }

    /// Takes a platform's push to `/webhooks/{key}`: verifies it with the shop's secrets,
    /// stores one job per order it names, and answers the way the platform expects. Nothing
    /// is stored for a push that fails verification or whose signed timestamp is outside the
    /// window (`Settings::push_max_age_seconds`, `push_max_ahead_seconds`): such a push gets
    /// 401 with the reason.
    pub async fn receive_webhook(&self, key: &str, request: &WebhookRequest<'_>) -> WebhookAnswer {
        let Ok(Some(shop)) = self.store().shop_by_webhook_key(key).await else {
            return WebhookAnswer {
                status: 404,
                content_type: "text/plain",
                body: "unknown webhook".into(),
            };
        };
        match self.accept_webhook(&shop, request).await {
            Ok(Some(echo)) => WebhookAnswer {
                status: 200,
                content_type: "text/plain",
                body: echo,
            },
            Ok(None) => answer(shop.platform, Ok(())),
            Err(e) => {
                tracing::warn!(shop = shop.id.get(), platform = %shop.platform, error = %e, "webhook refused");
                match e {
                    // The platform does not read a refusal's body; whoever looks at the
                    // request (the merchant setting up pushes, a test) reads why.
                    WebhookFailure::Refused(reason) => WebhookAnswer {
                        status: 401,
                        content_type: "text/plain; charset=utf-8",
                        body: format!("refused: {reason}"),
                    },
                    WebhookFailure::Store(_) => answer(shop.platform, Err(())),
                }
            }
        }
    }

    async fn accept_webhook(
        &self,
        shop: &Shop,
        request: &WebhookRequest<'_>,
    ) -> Result<Option<String>, WebhookFailure> {
        let credentials = self
            .store()
            .shop_credentials(shop.tenant_id, shop.id)
            .await
            .map_err(|e| WebhookFailure::Store(e.to_string()))?
            .unwrap_or_default();
        let refused = |e: fahuo_platforms::WebhookError| WebhookFailure::Refused(e.to_string());
        let message = fahuo_platforms::verify_webhook(shop.platform, &credentials, request)
            .map_err(refused)?;
        let window = fahuo_platforms::PushWindow {
            max_age: std::time::Duration::from_secs(self.settings().push_max_age_seconds),
            max_ahead: std::time::Duration::from_secs(self.settings().push_max_ahead_seconds),
        };
        fahuo_platforms::check_push_time(shop.platform, request, self.now(), &window)
            .map_err(refused)?;
        let events = match message {
            WebhookMessage::UrlCheck { echo } => return Ok(Some(echo)),
            WebhookMessage::Test => return Ok(None),
            WebhookMessage::Events(events) => events,
        };
        let now = self.now();
        for event in events {
            if event
                .platform_shop_id
                .as_deref()
                .is_some_and(|s| s != shop.platform_shop_id)
            {
                tracing::warn!(
                    shop = shop.id.get(),
                    "push for another shop of the app ignored"
                );
                continue;
            }
            if let Some(after_sale) = &event.platform_after_sale_id {
                // The after-sale itself is read by its own job; the order is still pulled below.
                let job = crate::aftersales::push_job(shop, after_sale, &event.dedupe_key, now);
                self.store()
                    .enqueue(&job, now)
                    .await
                    .map_err(|e| WebhookFailure::Store(e.to_string()))?;
            }
            let Some(order_id) = event.platform_order_id else {
                continue;
            };
            let payload = serde_json::to_value(ShopJob {
                tenant_id: shop.tenant_id.get(),
                shop_id: shop.id.get(),
                platform_order_id: Some(order_id),
            })
            .expect("job payload serialises");
            let job = NewJob::new(PUSH_JOB, payload, now)
                .for_tenant(shop.tenant_id)
                .dedupe(format!("push:{}:{}", shop.id.get(), event.dedupe_key))
                .max_attempts(8);
            self.store()
                .enqueue(&job, now)
                .await
                .map_err(|e| WebhookFailure::Store(e.to_string()))?;
        }
        Ok(None)
    }

    /// Queues a fresh pull of one order from its platform (after fahuo changed something
    /// there, e.g. a negotiated deadline).
    pub(crate) async fn request_order_refresh(
        &self,
        shop: &Shop,
        order: &fahuo_domain::order::Order,
    ) -> Result<()> {
        let now = self.now();
        let payload = serde_json::to_value(ShopJob {
            tenant_id: shop.tenant_id.get(),
            shop_id: shop.id.get(),
            platform_order_id: Some(order.platform_order_id.to_string()),
        })
        .expect("job payload serialises");
        let job = NewJob::new(PUSH_JOB, payload, now)
            .for_tenant(shop.tenant_id)
            .dedupe(format!(
                "refresh:{}:{}:{}",
                shop.id.get(),
                order.id,
                now.timestamp_millis()
            ))
            .max_attempts(8);
        self.store().enqueue(&job, now).await?;
        Ok(())
    }

    /// Pulls the order a push named and stores it.
    pub async fn pull_pushed_order(
        &self,
        tenant: TenantId,
        shop_id: ShopId,
        platform_order_id: &str,
    ) -> Result<Ingested> {
        let shop = self.store().shop(tenant, shop_id).await?;
        let client = self.ready_client(&shop).await?;
        let sealed = client
            .read_order(platform_order_id)
            .await
            .map_err(|e| self.platform_failure(e))?;
        let (mut pulled, mut known) = self.open_receivers(&shop, &client, vec![sealed]).await?;
        let pulled = pulled
            .pop()
            .ok_or_else(|| AppError::Upstream("the platform returned no order".into()))?;
        let held = known.remove(pulled.platform_order_id());
        self.ingest(&shop, pulled, held).await
    }
}

#[derive(Debug, thiserror::Error)]
enum WebhookFailure {
    #[error("refused: {0}")]
    Refused(String),
    #[error("not stored: {0}")]
    Store(String),
}

fn answer(platform: Platform, outcome: std::result::Result<(), ()>) -> WebhookAnswer {
    let (status, content_type, body) = fahuo_platforms::webhook_reply(platform, outcome);
    WebhookAnswer {
        status: status.as_u16(),
        content_type,
        body,
    }
}

/// The production API hosts (reference `platform-apis.md` §1.1, §2.1, §3.1).
fn official_base_url(platform: Platform) -> &'static str {
    match platform {
        Platform::Wechat => "https://api.weixin.qq.com",
        Platform::Douyin => "https://openapi-fxg.jinritemai.com",
        Platform::Xiaohongshu => "https://ark.xiaohongshu.com",
        Platform::Manual => "",
    }
}

/// Registers the intake jobs and the periodic sync schedule on a runner.
pub fn register(runner: JobRunner, every: Duration) -> JobRunner {
    runner
        .register(SCHEDULE_JOB, |app, _job| {
            async move { app.schedule_syncs().await.map(|_| ()).map_err(job_error) }.boxed()
        })
        .every(SCHEDULE_JOB, every)
        .register(SYNC_JOB, |app, job| {
            async move {
                let j = shop_job(&job)?;
                app.sync_shop(TenantId(j.tenant_id), ShopId(j.shop_id))
                    .await
                    .map(|_| ())
                    .map_err(job_error)
            }
            .boxed()
        })
        .register(PUSH_JOB, |app, job| {
            async move {
                let j = shop_job(&job)?;
                let order = j
                    .platform_order_id
                    .ok_or_else(|| JobError::Permanent("no order id".into()))?;
                app.pull_pushed_order(TenantId(j.tenant_id), ShopId(j.shop_id), &order)
                    .await
                    .map(|_| ())
                    .map_err(job_error)
            }
            .boxed()
        })
}

fn shop_job(job: &Job) -> std::result::Result<ShopJob, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::Permanent(format!("bad payload: {e}")))
}

pub(crate) fn job_error(e: AppError) -> JobError {
    match e {
        AppError::Upstream(_) | AppError::Internal(_) | AppError::Conflict(_) => {
            JobError::Retry(e.to_string())
        }
        other => JobError::Permanent(other.to_string()),
    }
}
