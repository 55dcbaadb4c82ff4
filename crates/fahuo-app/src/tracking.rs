//! Tracking (物流跟踪): the merchant's tracking accounts, following every shipped parcel through
//! its aggregator's pushes with polling as the fallback, the parcel timelines, and the orders'
//! states following their parcels.
//!
//! Flow: a write-back accepted by the platform → `tracking.sweep` opens a parcel for its number
//! and queues `tracking.subscribe` → the service pushes to `/webhooks/tracking/{token}` (or
//! `tracking.poll` asks when no push came for the account's `poll_hours`) → each report is
//! applied by the store in one transaction (lines once each, state recomputed from all lines).

pub mod notify;
pub mod radar;

use crate::jobs::{JobError, JobRunner};
use crate::{Actor, App, AppError, Result};
use chrono::Duration;
use fahuo_carriers::Carrier;
use fahuo_domain::tracking::TrackEvent;
use fahuo_domain::{OrderId, ParseError, Permission, TenantId};
use fahuo_platforms::tracking::{
    TrackRequest, TrackingAccount, TrackingClient, TrackingCredentials, TrackingService,
    push_reply, verify_push,
};
use fahuo_platforms::{ClientOptions, PlatformError};
use fahuo_store::jobs::{Job, NewJob};
use fahuo_store::tracking::{
    Applied, NewTrackingAccount, ParcelFilter, ParcelId, ParcelRow, SUBSCRIBE_JOB,
    TrackingAccountRow,
};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Opens parcels for accepted write-backs (every 30 s).
pub const SWEEP_JOB: &str = "tracking.sweep";
/// Polls parcels that had no push for their account's `poll_hours` (every 60 s).
pub const POLL_JOB: &str = "tracking.poll";
/// Parcels polled per run of the poll job.
const POLL_BATCH: i64 = 200;

pub fn register(runner: JobRunner) -> JobRunner {
    runner
        .register(SWEEP_JOB, |app, _job| {
            async move {
                app.store()
                    .open_parcels(app.now())
                    .await
                    .map(drop)
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            .boxed()
        })
        .every(SWEEP_JOB, Duration::seconds(30))
        .register(SUBSCRIBE_JOB, |app, job| {
            async move { subscribe(&app, &job).await }.boxed()
        })
        .register(POLL_JOB, |app, _job| {
            async move {
                app.poll_due()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            .boxed()
        })
        .every(POLL_JOB, Duration::seconds(60))
}

/// A tracking account to create.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingAccountInput {
    pub name: String,
    /// `kuaidi100` | `kdniao`
    pub service: String,
    pub base_url: String,
    /// kuaidi100 `customer`, kdniao `EBusinessID`.
    pub customer: String,
    /// kuaidi100 `key`, kdniao `AppKey`.
    pub key: String,
    /// Poll a parcel with no push for this many hours (default 6).
    pub poll_hours: Option<i64>,
}

/// A created account and the URL its service must push to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingAccountView {
    #[serde(flatten)]
    pub account: TrackingAccountRow,
    pub callback_url: String,
}

/// A parcel and its timeline.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParcelView {
    #[serde(flatten)]
    pub parcel: ParcelRow,
    pub carrier_name: String,
    pub events: Vec<TrackEvent>,
    pub alerts: Vec<fahuo_store::radar::AlertRow>,
}

/// The answer to a push: what to send back to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl App {
    fn callback_url(&self, token: &str) -> String {
        let found = self
            .platforms
            .public_url
            .lock()
            .expect("public url lock")
            .clone();
        let base = found.unwrap_or_else(|| self.settings().public_url.clone());
        format!("{}/webhooks/tracking/{token}", base.trim_end_matches('/'))
    }

    /// Where tracking services should push, found at run time (overrides `public_url`).
    pub fn set_public_url(&self, url: &str) {
        *self.platforms.public_url.lock().expect("public url lock") = Some(url.to_string());
    }

    pub async fn create_tracking_account(
        &self,
        actor: &Actor,
        input: TrackingAccountInput,
    ) -> Result<TrackingAccountView> {
        actor.require(Permission::ManageShops)?;
        let service = TrackingService::parse(input.service.trim())?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ParseError::new("name", "1 to 64 characters").into());
        }
        let base_url = input.base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ParseError::new("base_url", "must be an http(s) URL").into());
        }
        let poll_hours = input.poll_hours.unwrap_or(6);
        if !(1..=72).contains(&poll_hours) {
            return Err(ParseError::new("poll_hours", "between 1 and 72").into());
        }
        if input.customer.trim().is_empty() || input.key.trim().is_empty() {
            return Err(
                ParseError::new("key", "the service's customer id and key are required").into(),
            );
        }
        let credentials = TrackingCredentials {
            customer: input.customer.trim().to_string(),
            key: input.key.trim().to_string(),
            // kuaidi100 signs its pushes with a salt the subscriber chooses.
            salt: fahuo_store::pii::random_token(16),
        };
        let token = fahuo_store::pii::random_token(24);
        let new = NewTrackingAccount {
            name: name.to_string(),
            service: service.as_str().to_string(),
            base_url,
            credentials,
            callback_token: token.clone(),
            poll_hours,
        };
        let account = self
            .store()
            .create_tracking_account(actor.tenant_id, &new, &actor.audit_ref(), self.now())
            .await?;
        Ok(TrackingAccountView {
            callback_url: self.callback_url(&account.callback_token),
            account,
        })
    }

    pub async fn tracking_accounts(&self, actor: &Actor) -> Result<Vec<TrackingAccountView>> {
        actor.require(Permission::ManageShops)?;
        Ok(self
            .store()
            .tracking_accounts(actor.tenant_id)
            .await?
            .into_iter()
            .map(|account| TrackingAccountView {
                callback_url: self.callback_url(&account.callback_token),
                account,
            })
            .collect())
    }

    pub async fn set_tracking_account_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        self.store()
            .set_tracking_account_enabled(
                actor.tenant_id,
                id,
                enabled,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(())
    }

    async fn tracking_client(
        &self,
        tenant: TenantId,
        account: &TrackingAccountRow,
    ) -> Result<Arc<TrackingClient>> {
        let credentials: TrackingCredentials = self
            .store()
            .tracking_account_secret(tenant, account.id)
            .await?;
        let service = TrackingService::parse(&account.service)?;
        let client = TrackingClient::new(
            TrackingAccount {
                service,
                base_url: account.base_url.clone(),
                credentials,
                callback_url: self.callback_url(&account.callback_token),
            },
            self.platforms.http.clone(),
            &ClientOptions::default(),
        )
        .map_err(|e| AppError::UpstreamRefused(e.to_string()))?;
        Ok(Arc::new(client))
    }

    async fn account_of(&self, tenant: TenantId, id: Option<i64>) -> Result<TrackingAccountRow> {
        let id = id.ok_or(AppError::NotFound)?;
        self.store()
            .tracking_account(tenant, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Handles a push to `/webhooks/tracking/{token}`: verified with the account's secrets,
    /// applied, and answered exactly as the service requires. A push that does not verify is
    /// refused (the service may retry; a forger gets nothing); a push for a number fahuo does
    /// not follow is acknowledged and logged (nobody can do anything with it).
    pub async fn receive_tracking_push(
        &self,
        token: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<PushAnswer> {
        let now = self.now();
        let Some((tenant, account, credentials)) = self
            .store()
            .tracking_account_by_token::<TrackingCredentials>(token)
            .await?
        else {
            return Err(AppError::NotFound);
        };
        let service = TrackingService::parse(&account.service)?;
        let answer = |accepted: bool| {
            let (status, content_type, body) = push_reply(service, &credentials, accepted, now);
            PushAnswer {
                status: status.as_u16(),
                content_type,
                body,
            }
        };
        let push = match verify_push(service, &credentials, content_type, body) {
            Ok(push) => push,
            Err(e) => {
                tracing::warn!(account = account.id, error = %e, "tracking push refused");
                let mut a = answer(false);
                a.status = 401;
                return Ok(a);
            }
        };
        let next_poll = now + Duration::hours(account.poll_hours);
        for report in push.reports {
            let carrier = report.carrier.map(|c| c.code());
            let Some(parcel) = self
                .store()
                .parcel_by_number(tenant, carrier, &report.tracking_no)
                .await?
            else {
                tracing::warn!(
                    account = account.id,
                    "tracking push for a number fahuo does not follow"
                );
                continue;
            };
            if let Err(e) = self
                .store()
                .apply_trace(
                    tenant,
                    parcel,
                    &report.events,
                    report.ended,
                    Some(next_poll),
                    now,
                )
                .await
            {
                // The service delivers the push again later; nothing is lost.
                tracing::warn!(error = %e, "tracking push not applied");
                return Ok(answer(false));
            }
            if report.aborted {
                self.resubscribe_later(tenant, parcel).await?;
            }
        }
        Ok(answer(true))
    }

    /// kuaidi100 gives up on a number with no trace for days (`abort`); it asks to be asked
    /// again about 30 minutes later.
    async fn resubscribe_later(&self, tenant: TenantId, parcel: ParcelId) -> Result<()> {
        let now = self.now();
        let job = NewJob::new(
            SUBSCRIBE_JOB,
            serde_json::json!({ "parcel": parcel.get() }),
            now + Duration::minutes(30),
        )
        .for_tenant(tenant)
        .dedupe(format!(
            "{SUBSCRIBE_JOB}:{}:{}",
            parcel.get(),
            now.timestamp() / 1800
        ));
        self.store().enqueue(&job, now).await?;
        Ok(())
    }

    /// Asks the services about every parcel whose poll is due. Returns how many were polled.
    pub async fn poll_due(&self) -> Result<usize> {
        let now = self.now();
        let due = self.store().parcels_due_for_poll(now, POLL_BATCH).await?;
        let mut polled = 0;
        for (tenant, parcel) in due {
            match self.poll_parcel(tenant, parcel).await {
                Ok(_) => polled += 1,
                Err(e) => {
                    tracing::info!(parcel = parcel.get(), error = %e, "tracking poll failed; will try later");
                    self.store()
                        .reschedule_poll(tenant, parcel, now + Duration::minutes(30))
                        .await?;
                }
            }
        }
        Ok(polled)
    }

    /// Reads one parcel's trace from its service now and applies it.
    pub async fn poll_parcel(&self, tenant: TenantId, parcel: ParcelId) -> Result<Applied> {
        let p = self.store().parcel_to_track(tenant, parcel).await?;
        let account = self.account_of(tenant, p.account_id).await?;
        let client = self.tracking_client(tenant, &account).await?;
        let report = client
            .query(&track_request(
                &p.carrier_code,
                &p.tracking_no,
                p.phone_last4.clone(),
            )?)
            .await
            .map_err(upstream)?;
        let now = self.now();
        Ok(self
            .store()
            .apply_trace(
                tenant,
                parcel,
                &report.events,
                report.ended,
                Some(now + Duration::hours(account.poll_hours)),
                now,
            )
            .await?)
    }

    /// A parcel on request (the console's "refresh" button): polls it now.
    /// Asks the service (a quota some services count): staff who work orders, not viewers.
    pub async fn refresh_parcel(&self, actor: &Actor, id: ParcelId) -> Result<ParcelView> {
        actor.require(Permission::EditOrders)?;
        self.parcel_within_scope(actor, id).await?;
        self.poll_parcel(actor.tenant_id, id).await?;
        self.parcel(actor, id).await
    }

    /// The parcels that carry an order of a shop of the actor's scope.
    pub async fn parcels(&self, actor: &Actor, filter: &ParcelFilter) -> Result<Vec<ParcelRow>> {
        actor.require(Permission::ViewOrders)?;
        let filter = ParcelFilter {
            shops: actor.scope.shops.clone(),
            ..filter.clone()
        };
        Ok(self.store().parcels(actor.tenant_id, &filter).await?)
    }

    /// The parcel and its events, or `NotFound` unless it is the actor's tenant's and carries
    /// an order of a shop of the actor's scope.
    pub(crate) async fn parcel_within_scope(
        &self,
        actor: &Actor,
        id: ParcelId,
    ) -> Result<(ParcelRow, Vec<fahuo_domain::tracking::TrackEvent>)> {
        let (parcel, events) = self
            .store()
            .parcel(actor.tenant_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if actor.scope.shops.is_some() {
            let mut in_scope = false;
            for (order, _) in &parcel.orders {
                in_scope |= self.order_in_scope(actor, *order).await.is_ok();
            }
            if !in_scope {
                return Err(AppError::NotFound);
            }
        }
        Ok((parcel, events))
    }

    pub async fn parcel(&self, actor: &Actor, id: ParcelId) -> Result<ParcelView> {
        actor.require(Permission::ViewOrders)?;
        let (parcel, events) = self.parcel_within_scope(actor, id).await?;
        let alerts = self
            .store()
            .alerts_about(
                actor.tenant_id,
                fahuo_store::radar::Subject::Parcel(id, None),
            )
            .await?;
        Ok(ParcelView {
            carrier_name: crate::shipping::carrier_name_zh(&parcel.carrier_code),
            parcel,
            events,
            alerts,
        })
    }

    /// The parcels of an order with their timelines.
    pub async fn order_tracking(&self, actor: &Actor, order: OrderId) -> Result<Vec<ParcelView>> {
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, order).await?;
        let filter = ParcelFilter {
            order_id: Some(order),
            limit: 50,
            ..ParcelFilter::default()
        };
        let mut out = Vec::new();
        for p in self.store().parcels(actor.tenant_id, &filter).await? {
            out.push(self.parcel(actor, p.id).await?);
        }
        Ok(out)
    }

    /// Customer service records that the buyer says a parcel shown as signed for never arrived
    /// (or withdraws it); the radar raises or clears its alert on its next scan.
    pub async fn dispute_delivery(
        &self,
        actor: &Actor,
        id: ParcelId,
        disputed: bool,
    ) -> Result<()> {
        actor.require(Permission::EditOrders)?;
        self.parcel_within_scope(actor, id).await?;
        self.store()
            .set_parcel_disputed(
                actor.tenant_id,
                id,
                disputed,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        Ok(())
    }
}

fn track_request(
    carrier: &str,
    tracking_no: &str,
    phone_last4: Option<String>,
) -> Result<TrackRequest> {
    let carrier = Carrier::from_code(carrier)
        .ok_or_else(|| ParseError::new("carrier", format!("{carrier} is not a known carrier")))?;
    Ok(TrackRequest {
        carrier,
        tracking_no: tracking_no.to_string(),
        phone_last4,
    })
}

fn upstream(e: PlatformError) -> AppError {
    match e {
        PlatformError::Auth { msg, .. } => AppError::UpstreamAuth(msg),
        PlatformError::Invalid { code, msg } => AppError::UpstreamRefused(format!("{code}: {msg}")),
        PlatformError::Config(msg) => AppError::UpstreamRefused(msg),
        e => AppError::Upstream(e.to_string()),
    }
}

async fn subscribe(app: &App, job: &Job) -> Result<(), JobError> {
    let tenant = job
        .tenant_id
        .ok_or_else(|| JobError::Permanent("job has no tenant".into()))?;
    let parcel = job
        .payload
        .get("parcel")
        .and_then(serde_json::Value::as_i64)
        .map(ParcelId)
        .ok_or_else(|| JobError::Permanent("payload has no parcel".into()))?;
    let retry = |e: AppError| JobError::Retry(e.to_string());
    let p = app
        .store()
        .parcel_to_track(tenant, parcel)
        .await
        .map_err(|e| retry(e.into()))?;
    if p.ended {
        return Ok(());
    }
    let account = match app.account_of(tenant, p.account_id).await {
        Ok(a) => a,
        Err(AppError::NotFound) => return Ok(()),
        Err(e) => return Err(retry(e)),
    };
    let now = app.now();
    let outcome = async {
        let client = app.tracking_client(tenant, &account).await?;
        let req = track_request(&p.carrier_code, &p.tracking_no, p.phone_last4.clone())?;
        client.subscribe(&req).await.map_err(upstream)
    }
    .await;
    let next_poll = Some(now + Duration::hours(account.poll_hours));
    match outcome {
        Ok(()) => app
            .store()
            .parcel_subscribed(tenant, parcel, Ok(()), next_poll)
            .await
            .map_err(|e| retry(e.into())),
        // Refused for good (bad key, a number the service will not take): polling still
        // follows the parcel, and the reason is kept on it.
        Err(
            e @ (AppError::UpstreamRefused(_) | AppError::UpstreamAuth(_) | AppError::Invalid(_)),
        ) => app
            .store()
            .parcel_subscribed(tenant, parcel, Err(e.to_string()), next_poll)
            .await
            .map_err(|e| retry(e.into())),
        Err(e) if job.attempts >= job.max_attempts => app
            .store()
            .parcel_subscribed(tenant, parcel, Err(e.to_string()), next_poll)
            .await
            .map_err(|e| retry(e.into())),
        Err(e) => Err(retry(e)),
    }
}
