//! Tracking's storage: the merchant's tracking accounts, the parcels followed after shipping,
//! their trace lines, and the order states that follow them.
//!
//! A trace report is applied in one transaction under the parcel's row lock: its lines are
//! inserted once each (unique per parcel and line key), the parcel's state is recomputed from
//! *all* its lines ([`fahuo_domain::tracking`]), and its orders follow. Duplicate, late and
//! out-of-order reports therefore change nothing or converge on the same state.

use crate::audit::insert_audit;
use crate::enqueue_job;
use crate::jobs::NewJob;
use crate::orders::apply_order_event;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::fulfilment::ShipmentState;
use fahuo_domain::order::Receiver;
use fahuo_domain::tracking::{SubState, TrackEvent, TrackState, current, order_event, timeline};
use fahuo_domain::{OrderId, OrderState, PackageId, ShopId, TenantId};
use serde::Serialize;
use serde_json::json;

/// The job that subscribes one parcel at its tracking service.
pub const SUBSCRIBE_JOB: &str = "tracking.subscribe";

/// Inserts a report's lines, given as one JSON array (`k` key, `at` ms, `st` state, `ss`
/// sub-state, `d` text, `loc` place), each once per parcel. One statement text per backend.
const INSERT_LINES_SQLITE: &str = "INSERT INTO tracking_events (tenant_id, parcel_id, event_key, \
    occurred_at, state, sub_state, description, location, received_at) \
    SELECT $1, $2, e.value ->> 'k', e.value ->> 'at', e.value ->> 'st', e.value ->> 'ss', \
    e.value ->> 'd', e.value ->> 'loc', $4 FROM json_each($3) e WHERE true ON CONFLICT DO NOTHING";
const INSERT_LINES_POSTGRES: &str = "INSERT INTO tracking_events (tenant_id, parcel_id, event_key, \
    occurred_at, state, sub_state, description, location, received_at) \
    SELECT $1, $2, e.k, e.at, e.st, e.ss, e.d, e.loc, $4 \
    FROM jsonb_to_recordset($3::jsonb) AS e(k text, at bigint, st text, ss text, d text, loc text) \
    ON CONFLICT DO NOTHING";

/// A parcel row id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
pub struct ParcelId(pub i64);

impl ParcelId {
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A tracking account as listed (never its secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackingAccountRow {
    pub id: i64,
    pub name: String,
    /// `kuaidi100` | `kdniao`
    pub service: String,
    pub base_url: String,
    /// The path segment of this account's push URL (`/webhooks/tracking/{callback_token}`).
    pub callback_token: String,
    pub poll_hours: i64,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A tracking account to create; `credentials` is sealed before it is stored.
#[derive(Debug, Clone)]
pub struct NewTrackingAccount<C> {
    pub name: String,
    pub service: String,
    pub base_url: String,
    pub credentials: C,
    pub callback_token: String,
    pub poll_hours: i64,
}

/// Everything the tracking jobs need about one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelToTrack {
    pub id: ParcelId,
    pub tenant_id: TenantId,
    pub carrier_code: String,
    pub tracking_no: String,
    pub account_id: Option<i64>,
    pub ended: bool,
    /// The last four digits of the receiver's phone (SF and ZTO want them), if known.
    pub phone_last4: Option<String>,
}

/// A parcel as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParcelRow {
    pub id: ParcelId,
    pub carrier_code: String,
    pub tracking_no: String,
    pub package_id: Option<PackageId>,
    /// `pending` | `subscribed` | `failed` | `none` (no tracking account)
    pub subscription: String,
    pub subscription_error: Option<String>,
    pub state: Option<TrackState>,
    pub sub_state: Option<SubState>,
    pub printed_at: Option<DateTime<Utc>>,
    pub shipped_at: DateTime<Utc>,
    pub first_scan_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub disputed_at: Option<DateTime<Utc>>,
    /// The orders this parcel carries (platform order numbers).
    pub orders: Vec<(OrderId, String)>,
}

/// Which parcels to list.
#[derive(Debug, Clone, Default)]
pub struct ParcelFilter {
    pub state: Option<TrackState>,
    pub order_id: Option<OrderId>,
    pub tracking_no: Option<String>,
    /// The carrier's code (`SF`, `ZTO`, ...).
    pub carrier: Option<String>,
    /// Only parcels still followed.
    pub open: bool,
    /// Only parcels with an open radar alert.
    pub with_alert: bool,
    /// Parcels with an id below this one (paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
    /// Only parcels carrying an order of these shops (a sub-account's scope); `None` = all.
    pub shops: Option<Vec<ShopId>>,
}

/// What applying a report changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub new_events: usize,
    pub state: Option<TrackState>,
    /// The parcel's state differs from before.
    pub changed: bool,
    /// Orders whose own state moved: (order, from, to).
    pub orders_moved: Vec<(OrderId, OrderState, OrderState)>,
}

const PARCEL_COLUMNS: &str = "p.id, p.carrier_code, p.tracking_no, p.package_id, p.subscription, \
     p.subscription_error, p.state, p.sub_state, p.printed_at, p.shipped_at, p.first_scan_at, \
     p.last_event_at, p.delivered_at, p.ended_at, p.disputed_at";

type ParcelTuple = (
    i64,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn parcel_row(t: ParcelTuple) -> Result<ParcelRow> {
    Ok(ParcelRow {
        id: ParcelId(t.0),
        carrier_code: t.1,
        tracking_no: t.2,
        package_id: t.3.map(PackageId),
        subscription: t.4,
        subscription_error: t.5,
        state: t.6.as_deref().map(TrackState::parse).transpose()?,
        sub_state: t.7.as_deref().map(SubState::parse).transpose()?,
        printed_at: opt_from_ms(t.8),
        shipped_at: from_ms(t.9),
        first_scan_at: opt_from_ms(t.10),
        last_event_at: opt_from_ms(t.11),
        delivered_at: opt_from_ms(t.12),
        ended_at: opt_from_ms(t.13),
        disputed_at: opt_from_ms(t.14),
        orders: Vec::new(),
    })
}

type EventTuple = (i64, String, Option<String>, String, Option<String>);

fn event_row(t: EventTuple) -> Result<TrackEvent> {
    Ok(TrackEvent {
        at: from_ms(t.0),
        state: TrackState::parse(&t.1)?,
        sub_state: t.2.as_deref().map(SubState::parse).transpose()?,
        text: t.3,
        location: t.4,
    })
}

/// Parcels the sweep creates per transaction.
const SWEEP_BATCH: i64 = 500;

/// The orders a parcel carries (with each shipment's state and the order's), by the parcel's
/// number. With [`ORDER_PARCEL_STATES`], what a trace report reads of the orders: both start
/// from a number or an order, never from the tenant, on databases without statistics too.
/// As one statement (every accepted shipment of the tenant joined to the parcel's orders) it
/// read a range that grew with every order shipped, on both databases. The shipment's state is
/// filtered by the caller: as a condition here it made (tenant, state) an index to read by,
/// as good as (tenant, number) to a planner without statistics (`tests/plans.rs`).
pub const PARCEL_ORDERS: &str = "SELECT s.order_id, s.state, o.state FROM shipments s \
    JOIN orders o ON o.tenant_id = s.tenant_id AND o.id = s.order_id \
    WHERE s.tenant_id = $1 AND s.tracking_no = $2 AND s.carrier_code = $3";

/// The state of each of an order's shipments with the state of its parcel (`None`: a parcel
/// fahuo does not track yet), by the order; the caller keeps the accepted ones.
pub const ORDER_PARCEL_STATES: &str = "SELECT s.state, p.state FROM shipments s \
    LEFT JOIN parcels p ON p.tenant_id = s.tenant_id \
    AND p.carrier_code = s.carrier_code AND p.tracking_no = s.tracking_no \
    WHERE s.order_id = $1 AND s.tenant_id = $2";

impl Store {
    pub async fn create_tracking_account<C: Serialize>(
        &self,
        tenant: TenantId,
        new: &NewTrackingAccount<C>,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<TrackingAccountRow> {
        let sealed = self.pii.encrypt_json(&new.credentials);
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tracking_accounts (tenant_id, name, service, base_url, credentials_enc, \
                     callback_token, poll_hours, enabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8) RETURNING id")
                .bind(tenant.get()).bind(&new.name).bind(&new.service).bind(&new.base_url)
                .bind(&sealed).bind(&new.callback_token).bind(new.poll_hours).bind(ms(now))
                .fetch_one(&mut *tx).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("a tracking account named {:?} exists", new.name)),
                    e => e,
                })?;
            let entry = AuditEntry::about(
                tenant, actor, "tracking_account.create", ("tracking_account", id),
                json!({ "name": new.name, "service": new.service, "base_url": new.base_url }), now);
            insert_audit!(&mut *tx, &entry);
            id
        });
        self.tracking_account(tenant, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn tracking_accounts(&self, tenant: TenantId) -> Result<Vec<TrackingAccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM tracking_accounts WHERE tenant_id = $1 ORDER BY id"
        );
        let rows: Vec<AccountRecord> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.get()).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(account_row).collect())
    }

    pub async fn tracking_account(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<Option<TrackingAccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM tracking_accounts WHERE tenant_id = $1 AND id = $2"
        );
        let row: Option<AccountRecord> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.get()).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(account_row))
    }

    /// The account a push URL names, with its opened credentials. Not tenant-scoped: the push
    /// comes from the service, and its signature (checked with these credentials) proves it.
    pub async fn tracking_account_by_token<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Option<(TenantId, TrackingAccountRow, C)>> {
        let sql = format!(
            "SELECT tenant_id, credentials_enc, {ACCOUNT_COLUMNS} FROM tracking_accounts WHERE callback_token = $1"
        );
        let row: Option<AccountWithSecret> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token).fetch_optional(pool).await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let creds = self.pii.decrypt_json(&row.credentials_enc)?;
        Ok(Some((
            TenantId(row.tenant_id),
            account_row(row.account),
            creds,
        )))
    }

    /// An account's opened credentials.
    pub async fn tracking_account_secret<C: serde::de::DeserializeOwned>(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<C> {
        let sealed: Vec<u8> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT credentials_enc FROM tracking_accounts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id).fetch_optional(pool).await?
        })
        .ok_or(StoreError::NotFound)?;
        self.pii.decrypt_json(&sealed)
    }

    pub async fn set_tracking_account_enabled(
        &self,
        tenant: TenantId,
        id: i64,
        enabled: bool,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query("UPDATE tracking_accounts SET enabled = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(enabled).bind(tenant.get()).bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let entry = AuditEntry::about(tenant, actor, "tracking_account.update",
                ("tracking_account", id), json!({ "enabled": enabled }), now);
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Creates a parcel for every accepted shipment number that has none yet, and queues its
    /// subscription when the tenant has a tracking account. Returns how many were created.
    /// A number from elsewhere (typed, imported, a supplier's) was never printed here: its
    /// parcel counts as printed when the platform accepted it, which starts the pickup clock.
    /// Idempotent: run by a periodic job, any node, any number of times.
    ///
    /// Each round takes the next batch of accepted shipments not yet looked at
    /// (`parcel_opened`, a partial index of exactly those) and marks them once their numbers
    /// have parcels: the sweep reads the shipments that are new since the last one, not every
    /// shipment ever accepted. Success and a number change clear the mark.
    pub async fn open_parcels(&self, now: DateTime<Utc>) -> Result<usize> {
        let lock = self.row_lock();
        let mut total = 0;
        loop {
            let (batch, created) = in_tx!(&self.db, tx => {
                // Locked on PostgreSQL: a second node's sweep waits, then skips what this one
                // marked; a number changing meanwhile waits for the mark to be written first.
                let batch: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT id FROM shipments WHERE state = 'succeeded' AND NOT parcel_opened \
                         ORDER BY id LIMIT $1{lock}")))
                    .bind(SWEEP_BATCH).fetch_all(&mut *tx).await?;
                if batch.is_empty() {
                    (0, Vec::new())
                } else {
                    let ids = crate::InList::new(&batch);
                    let marks = ids.placeholders(2);
                    let mut insert = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO parcels (tenant_id, carrier_code, tracking_no, package_id, account_id, \
                             subscription, printed_at, shipped_at, created_at) \
                             SELECT s.tenant_id, s.carrier_code, s.tracking_no, MIN(s.package_id), \
                               (SELECT MIN(a.id) FROM tracking_accounts a WHERE a.tenant_id = s.tenant_id AND a.enabled), \
                               'pending', \
                               COALESCE((SELECT MIN(pj.created_at) FROM print_job_items pi JOIN print_jobs pj ON pj.id = pi.job_id \
                                WHERE pi.package_id = MIN(s.package_id) AND pi.reprint = 0), \
                                MIN(COALESCE(s.confirmed_at, s.updated_at))), \
                               MIN(COALESCE(s.confirmed_at, s.updated_at)), $1 \
                             FROM shipments s \
                             WHERE s.id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM parcels p \
                               WHERE p.tenant_id = s.tenant_id AND p.carrier_code = s.carrier_code \
                               AND p.tracking_no = s.tracking_no) \
                             GROUP BY s.tenant_id, s.carrier_code, s.tracking_no \
                             ON CONFLICT DO NOTHING RETURNING id, tenant_id, account_id")))
                        .bind(ms(now));
                    for id in ids.values() {
                        insert = insert.bind(*id);
                    }
                    let rows: Vec<(i64, i64, Option<i64>)> = insert.fetch_all(&mut *tx).await?;
                    for (id, tenant, account) in &rows {
                        if account.is_some() {
                            let job = NewJob::new(SUBSCRIBE_JOB, json!({ "parcel": id }), now)
                                .for_tenant(TenantId(*tenant))
                                .dedupe(format!("{SUBSCRIBE_JOB}:{id}"));
                            enqueue_job!(&mut *tx, &job, now);
                        } else {
                            sqlx::query("UPDATE parcels SET subscription = 'none' WHERE id = $1")
                                .bind(id).execute(&mut *tx).await?;
                        }
                    }
                    let mut mark = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE shipments SET parcel_opened = TRUE WHERE id IN ({})",
                        ids.placeholders(1)
                    )));
                    for id in ids.values() {
                        mark = mark.bind(*id);
                    }
                    mark.execute(&mut *tx).await?;
                    (batch.len(), rows)
                }
            });
            total += created.len();
            if (batch as i64) < SWEEP_BATCH {
                return Ok(total);
            }
        }
    }

    pub async fn parcel_to_track(&self, tenant: TenantId, id: ParcelId) -> Result<ParcelToTrack> {
        let row: Option<(String, String, Option<i64>, Option<i64>)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT carrier_code, tracking_no, account_id, ended_at FROM parcels \
                     WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?
        });
        let (carrier_code, tracking_no, account_id, ended) = row.ok_or(StoreError::NotFound)?;
        let receiver: Option<Vec<u8>> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                    "SELECT o.receiver_enc FROM shipments s JOIN orders o ON o.id = s.order_id \
                     WHERE s.tenant_id = $1 AND s.carrier_code = $2 AND s.tracking_no = $3 \
                     ORDER BY s.id LIMIT 1")
                .bind(tenant.get()).bind(&carrier_code).bind(&tracking_no)
                .fetch_optional(pool).await?
        });
        let phone_last4 = match receiver {
            Some(sealed) => {
                let r: Receiver = self.pii.decrypt_json(&sealed)?;
                Some(r.phone.last_four().to_string())
            }
            None => None,
        };
        Ok(ParcelToTrack {
            id,
            tenant_id: tenant,
            carrier_code,
            tracking_no,
            account_id,
            ended: ended.is_some(),
            phone_last4,
        })
    }

    /// Records a subscription's outcome; `next_poll_at` schedules the polling fallback.
    pub async fn parcel_subscribed(
        &self,
        tenant: TenantId,
        id: ParcelId,
        outcome: std::result::Result<(), String>,
        next_poll_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let (state, error) = match outcome {
            Ok(()) => ("subscribed", None),
            Err(e) => ("failed", Some(e)),
        };
        on_db!(&self.db, pool => {
            sqlx::query(
                    "UPDATE parcels SET subscription = $1, subscription_error = $2, \
                     next_poll_at = COALESCE(next_poll_at, $3) WHERE tenant_id = $4 AND id = $5")
                .bind(state).bind(error).bind(next_poll_at.map(ms))
                .bind(tenant.get()).bind(id.get()).execute(pool).await?;
        });
        Ok(())
    }

    /// The parcel a service reports on, by its number (and the carrier when two parcels of the
    /// tenant share a number).
    pub async fn parcel_by_number(
        &self,
        tenant: TenantId,
        carrier_code: Option<&str>,
        tracking_no: &str,
    ) -> Result<Option<ParcelId>> {
        let rows: Vec<(i64, String)> = on_db!(&self.db, pool => {
            sqlx::query_as("SELECT id, carrier_code FROM parcels WHERE tenant_id = $1 AND tracking_no = $2 ORDER BY id")
                .bind(tenant.get()).bind(tracking_no).fetch_all(pool).await?
        });
        let chosen = rows
            .iter()
            .find(|(_, c)| Some(c.as_str()) == carrier_code)
            .or(rows.first());
        Ok(chosen.map(|(id, _)| ParcelId(*id)))
    }

    /// Applies a trace report to a parcel (see the module docs). `ended`: the service stopped
    /// following it. `next_poll_at`: when to poll next if no push comes.
    pub async fn apply_trace(
        &self,
        tenant: TenantId,
        id: ParcelId,
        events: &[TrackEvent],
        ended: bool,
        next_poll_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Applied> {
        let lock = self.row_lock();
        let actor = ActorRef::system("tracking");
        let applied = in_tx!(&self.db, tx => {
            let before: Option<(Option<String>, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT state, carrier_code, tracking_no FROM parcels WHERE tenant_id = $1 AND id = $2{lock}")))
                .bind(tenant.get()).bind(id.get()).fetch_optional(&mut *tx).await?;
            let (before, carrier_code, tracking_no) = before.ok_or(StoreError::NotFound)?;
            // Every line of the report in one statement: a push repeats the whole trace, so
            // one statement per line made tracking half of all the statements fahuo ran.
            let lines = serde_json::Value::from_iter(events.iter().map(|e| json!({
                "k": e.key(), "at": ms(e.at), "st": e.state.as_str(),
                "ss": e.sub_state.map(SubState::as_str), "d": e.text, "loc": e.location,
            })))
            .to_string();
            let insert_lines = match self.db {
                crate::Db::Sqlite(_) => INSERT_LINES_SQLITE,
                crate::Db::Postgres(_) => INSERT_LINES_POSTGRES,
            };
            let new_events = sqlx::query(insert_lines)
                .bind(tenant.get()).bind(id.get()).bind(&lines).bind(ms(now))
                .execute(&mut *tx).await?.rows_affected() as usize;
            let all: Vec<EventTuple> = sqlx::query_as(
                    "SELECT occurred_at, state, sub_state, description, location FROM tracking_events \
                     WHERE parcel_id = $1")
                .bind(id.get()).fetch_all(&mut *tx).await?;
            let all = timeline(all.into_iter().map(event_row).collect::<Result<Vec<_>>>()?);
            let latest = current(&all);
            let state = latest.map(|e| e.state);
            let first_scan = all.iter().find(|e| e.state.is_scanned()).map(|e| ms(e.at));
            let last_event = all.last().map(|e| ms(e.at));
            let delivered = (state == Some(TrackState::Delivered)).then(|| latest.map(|e| ms(e.at))).flatten();
            let final_state = state.is_some_and(TrackState::is_final);
            sqlx::query(
                    "UPDATE parcels SET state = $1, sub_state = $2, first_scan_at = $3, last_event_at = $4, \
                     delivered_at = $5, ended_at = CASE WHEN $6 THEN COALESCE(ended_at, $7) ELSE NULL END, \
                     next_poll_at = CASE WHEN $6 THEN NULL ELSE $8 END, last_report_at = $7 \
                     WHERE id = $9")
                .bind(state.map(TrackState::as_str))
                .bind(latest.and_then(|e| e.sub_state).map(SubState::as_str))
                .bind(first_scan).bind(last_event).bind(delivered)
                .bind(final_state || ended).bind(ms(now)).bind(next_poll_at.map(ms))
                .bind(id.get()).execute(&mut *tx).await?;
            let changed = before.as_deref() != state.map(TrackState::as_str);
            // The orders carried by this parcel follow all of their own parcels.
            let mut orders_moved = Vec::new();
            // The orders on this parcel by its number first, then each order's own parcels.
            let rows: Vec<(i64, String, String)> = sqlx::query_as(PARCEL_ORDERS)
                .bind(tenant.get()).bind(&tracking_no).bind(&carrier_code).fetch_all(&mut *tx).await?;
            let mut orders: Vec<(i64, String)> = rows
                .into_iter()
                .filter(|(_, shipment, _)| shipment == ShipmentState::Succeeded.as_str())
                .map(|(order, _, state)| (order, state))
                .collect();
            orders.sort_unstable();
            orders.dedup();
            for (order, order_state) in orders {
                let order = OrderId(order);
                let parcels: Vec<(String, Option<String>)> = sqlx::query_as(ORDER_PARCEL_STATES)
                    .bind(order.get()).bind(tenant.get()).fetch_all(&mut *tx).await?;
                let states = parcels
                    .into_iter()
                    .filter(|(shipment, _)| shipment == ShipmentState::Succeeded.as_str())
                    .map(|(_, s)| s.as_deref().map(TrackState::parse).transpose())
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let Some(event) = order_event(&states) else { continue };
                let mut cur = OrderState::parse(&order_state)?;
                // A delivered order first passes through "in transit" (a parcel signed for
                // before any pickup scan reached fahuo still went through the carrier).
                let steps: &[fahuo_domain::OrderEvent] = match event {
                    fahuo_domain::OrderEvent::Transit => &[fahuo_domain::OrderEvent::Transit],
                    e => &[fahuo_domain::OrderEvent::Transit, e],
                };
                let from = cur;
                for step in steps {
                    if cur.apply(*step).is_ok() {
                        let (_, to) = apply_order_event!(tx, tenant, order, *step, now);
                        cur = to;
                    }
                }
                if cur != from {
                    let entry = AuditEntry::about(tenant, &actor, "order.tracking", ("order", order.get()),
                        json!({ "from": from.as_str(), "to": cur.as_str(), "tracking_no": tracking_no }), now);
                    insert_audit!(&mut *tx, &entry);
                    orders_moved.push((order, from, cur));
                }
            }
            Applied { new_events, state, changed, orders_moved }
        });
        Ok(applied)
    }

    /// Parcels whose polling fallback is due, oldest first.
    pub async fn parcels_due_for_poll(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(TenantId, ParcelId)>> {
        let rows: Vec<(i64, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT tenant_id, id FROM parcels WHERE ended_at IS NULL AND next_poll_at <= $1 \
                     AND subscription IN ('subscribed', 'failed') ORDER BY next_poll_at LIMIT $2")
                .bind(ms(now)).bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(t, p)| (TenantId(t), ParcelId(p)))
            .collect())
    }

    /// Moves a parcel's next poll (after a poll, or when a failed query should wait).
    pub async fn reschedule_poll(
        &self,
        tenant: TenantId,
        id: ParcelId,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("UPDATE parcels SET next_poll_at = $1 WHERE tenant_id = $2 AND id = $3 AND ended_at IS NULL")
                .bind(ms(at)).bind(tenant.get()).bind(id.get()).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn parcels(&self, tenant: TenantId, f: &ParcelFilter) -> Result<Vec<ParcelRow>> {
        let mut sql = format!("SELECT {PARCEL_COLUMNS} FROM parcels p WHERE p.tenant_id = $1");
        // Every filter is bound; absent ones match everything.
        sql.push_str(" AND ($2 IS NULL OR p.state = $2)");
        sql.push_str(" AND ($3 IS NULL OR p.tracking_no = $3)");
        sql.push_str(" AND ($4 IS NULL OR p.id < $4)");
        sql.push_str(
            " AND ($5 IS NULL OR EXISTS (SELECT 1 FROM shipments s WHERE s.tenant_id = p.tenant_id \
             AND s.carrier_code = p.carrier_code AND s.tracking_no = p.tracking_no AND s.order_id = $5))",
        );
        sql.push_str(" AND ($7 IS NULL OR p.carrier_code = $7)");
        sql.push_str(&format!(
            " AND ($8 IS NULL OR EXISTS (SELECT 1 FROM shipments s JOIN orders o ON o.id = s.order_id \
             WHERE s.tenant_id = p.tenant_id AND s.carrier_code = p.carrier_code \
             AND s.tracking_no = p.tracking_no AND o.shop_id IN ({})))",
            crate::ids_in(&self.db, 8)
        ));
        if f.open {
            sql.push_str(" AND p.ended_at IS NULL");
        }
        if f.with_alert {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM radar_alerts a WHERE a.tenant_id = p.tenant_id \
                 AND a.parcel_id = p.id AND a.cleared_at IS NULL)",
            );
        }
        sql.push_str(" ORDER BY p.id DESC LIMIT $6");
        let rows: Vec<ParcelTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(tenant.get())
                .bind(f.state.map(TrackState::as_str))
                .bind(f.tracking_no.as_deref())
                .bind(f.before)
                .bind(f.order_id.map(|o| o.get()))
                .bind(f.limit.clamp(1, 500))
                .bind(f.carrier.as_deref())
                .bind(crate::scope_ids(f.shops.as_deref(), ShopId::get))
                .fetch_all(pool).await?
        });
        let mut out = rows
            .into_iter()
            .map(parcel_row)
            .collect::<Result<Vec<_>>>()?;
        for p in &mut out {
            p.orders = self
                .parcel_orders(tenant, &p.carrier_code, &p.tracking_no)
                .await?;
        }
        Ok(out)
    }

    async fn parcel_orders(
        &self,
        tenant: TenantId,
        carrier_code: &str,
        tracking_no: &str,
    ) -> Result<Vec<(OrderId, String)>> {
        let rows: Vec<(i64, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT DISTINCT o.id, o.platform_order_id FROM shipments s JOIN orders o ON o.id = s.order_id \
                     WHERE s.tenant_id = $1 AND s.carrier_code = $2 AND s.tracking_no = $3 ORDER BY o.id")
                .bind(tenant.get()).bind(carrier_code).bind(tracking_no).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id, p)| (OrderId(id), p)).collect())
    }

    /// A parcel and its timeline (oldest first).
    pub async fn parcel(
        &self,
        tenant: TenantId,
        id: ParcelId,
    ) -> Result<Option<(ParcelRow, Vec<TrackEvent>)>> {
        let row: Option<ParcelTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PARCEL_COLUMNS} FROM parcels p WHERE p.tenant_id = $1 AND p.id = $2")))
                .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?
        });
        let Some(row) = row else { return Ok(None) };
        let mut parcel = parcel_row(row)?;
        parcel.orders = self
            .parcel_orders(tenant, &parcel.carrier_code, &parcel.tracking_no)
            .await?;
        let events: Vec<EventTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT occurred_at, state, sub_state, description, location FROM tracking_events \
                     WHERE tenant_id = $1 AND parcel_id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?
        });
        let events = timeline(
            events
                .into_iter()
                .map(event_row)
                .collect::<Result<Vec<_>>>()?,
        );
        Ok(Some((parcel, events)))
    }

    /// The buyer says a parcel shown as signed for never arrived (or withdraws that).
    pub async fn set_parcel_disputed(
        &self,
        tenant: TenantId,
        id: ParcelId,
        disputed: bool,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query("UPDATE parcels SET disputed_at = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(disputed.then_some(ms(now))).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let entry = AuditEntry::about(tenant, actor, "parcel.dispute", ("parcel", id.get()),
                json!({ "disputed": disputed }), now);
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }
}

/// A tracking account's row, without its secrets.
#[derive(sqlx::FromRow)]
struct AccountRecord {
    id: i64,
    name: String,
    service: String,
    base_url: String,
    callback_token: String,
    poll_hours: i64,
    enabled: bool,
    created_at: i64,
}

/// The columns of an [`AccountRecord`].
const ACCOUNT_COLUMNS: &str =
    "id, name, service, base_url, callback_token, poll_hours, enabled, created_at";

/// An account found by its push token: its tenant and sealed credentials too.
#[derive(sqlx::FromRow)]
struct AccountWithSecret {
    tenant_id: i64,
    credentials_enc: Vec<u8>,
    #[sqlx(flatten)]
    account: AccountRecord,
}

fn account_row(r: AccountRecord) -> TrackingAccountRow {
    TrackingAccountRow {
        id: r.id,
        name: r.name,
        service: r.service,
        base_url: r.base_url,
        callback_token: r.callback_token,
        poll_hours: r.poll_hours,
        enabled: r.enabled,
        created_at: from_ms(r.created_at),
    }
}
