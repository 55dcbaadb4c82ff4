//! The exception radar's use-cases: the periodic scan that raises and clears alerts from the
//! domain's rules (`fahuo_domain::radar`), the merchant's thresholds, and the urgency-sorted
//! queue.

use crate::jobs::{JobError, JobRunner};
use crate::{Actor, App, Result};
use chrono::Duration;
use fahuo_domain::radar::{
    AlertKind, OrderFacts, ParcelFacts, RadarSettings, order_alerts, parcel_alerts,
};
use fahuo_domain::{Permission, TenantId};
use fahuo_store::radar::{AlertRow, OpenedAlert, Subject};
use fahuo_store::review::SettingsKind;
use futures::FutureExt;

/// The job that scans every tenant's parcels and unshipped orders.
pub const RADAR_JOB: &str = "radar.scan";
/// Subjects written per transaction.
const SYNC_CHUNK: usize = 500;

pub fn register(runner: JobRunner, every: Duration) -> JobRunner {
    runner
        .register(RADAR_JOB, |app, _job| {
            async move {
                app.radar_scan()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            .boxed()
        })
        .every(RADAR_JOB, every)
}

impl App {
    pub async fn radar_settings(&self, actor: &Actor) -> Result<RadarSettings> {
        actor.require(Permission::ViewOrders)?;
        self.radar_settings_for(actor.tenant_id).await
    }

    async fn radar_settings_for(&self, tenant: TenantId) -> Result<RadarSettings> {
        Ok(self
            .store()
            .settings(tenant, None, SettingsKind::Radar)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_radar_settings(&self, actor: &Actor, settings: RadarSettings) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        let settings = settings.validate()?;
        let audit = actor.audit("settings.radar", "settings", self.now());
        Ok(self
            .store()
            .set_settings(
                actor.tenant_id,
                None,
                SettingsKind::Radar,
                Some(&settings),
                &audit,
            )
            .await?)
    }

    /// Scans every tenant; returns the alerts it opened.
    pub async fn radar_scan(&self) -> Result<Vec<OpenedAlert>> {
        let mut opened = Vec::new();
        for tenant in self.store().tenant_ids().await? {
            opened.extend(self.radar_scan_tenant(tenant).await?);
        }
        Ok(opened)
    }

    /// Raises the alerts whose rule holds now for one tenant and clears the others.
    pub async fn radar_scan_tenant(&self, tenant: TenantId) -> Result<Vec<OpenedAlert>> {
        let now = self.now();
        let settings = self.radar_settings_for(tenant).await?;
        let mut subjects = Vec::new();
        for p in self.store().radar_parcels(tenant).await? {
            let facts = ParcelFacts {
                carrier_name: crate::shipping::carrier_name_zh(&p.carrier_code),
                tracking_no: p.tracking_no.clone(),
                printed_at: p.printed_at,
                shipped_at: Some(p.shipped_at),
                state: p.state,
                sub_state: p.sub_state,
                first_scan_at: p.first_scan_at,
                last_event_at: p.last_event_at,
                buyer_disputes_delivery: p.disputed,
            };
            subjects.push((
                Subject::Parcel(p.id, p.order_id),
                parcel_alerts(&facts, &settings, now),
            ));
        }
        let horizon = now + Duration::hours(settings.deadline_risk_hours);
        for o in self.store().radar_orders(tenant, horizon).await? {
            let facts = OrderFacts {
                ship_by: o.ship_by,
                shipped: o.shipped,
                cancelled: o.cancelled,
            };
            subjects.push((Subject::Order(o.id), order_alerts(&facts, &settings, now)));
        }
        let mut opened = Vec::new();
        for chunk in subjects.chunks(SYNC_CHUNK) {
            opened.extend(self.store().sync_alerts(tenant, chunk, now).await?);
        }
        self.notify_alerts(tenant, &opened).await?;
        Ok(opened)
    }

    /// The open alerts, most urgent first; `cleared` lists the cleared ones instead. Only
    /// alerts about orders of the actor's scope, for a sub-account limited to some shops.
    pub async fn radar_queue(
        &self,
        actor: &Actor,
        kind: Option<AlertKind>,
        cleared: bool,
        limit: i64,
    ) -> Result<Vec<AlertRow>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self
            .store()
            .radar_alerts(
                actor.tenant_id,
                kind,
                cleared,
                limit,
                actor.scope.shops.as_deref(),
            )
            .await?)
    }
}
