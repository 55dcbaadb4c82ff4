//! The exception radar's storage: the facts its rules read, its alerts (open while a rule holds,
//! kept when cleared), and the buyer notifications queued from them.

use crate::audit::insert_audit;
use crate::enqueue_job;
use crate::jobs::NewJob;
use crate::tracking::ParcelId;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::order::Receiver;
use fahuo_domain::radar::{Alert, AlertKind, SuggestedAction};
use fahuo_domain::tracking::{SubState, TrackState};
use fahuo_domain::{OrderId, Platform, ShopId, TenantId};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// The job that sends one buyer notification.
pub const NOTIFY_JOB: &str = "notify.send";

/// What the radar reads of a parcel (`p`): its order (the first of the shipments with its
/// number), number, times and trace state. `MIN(s.order_id + 0)`, not `MIN(s.order_id)`: SQLite,
/// planning without statistics, answered the bare MIN by walking the tenant's shipments in
/// order id order (`shipments_order_state`) until one had the number, every shipment of the
/// tenant per parcel (567 ms a scan at 8,000 orders); an expression keeps it on the number's
/// index (`shipments_tracking`).
const RADAR_PARCEL_COLUMNS: &str = "p.id, (SELECT MIN(s.order_id + 0) FROM shipments s \
    WHERE s.tenant_id = p.tenant_id AND s.carrier_code = p.carrier_code AND s.tracking_no = p.tracking_no), \
    p.carrier_code, p.tracking_no, p.printed_at, p.shipped_at, p.state, p.sub_state, \
    p.first_scan_at, p.last_event_at, p.disputed_at";

/// A parcel as the radar reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadarParcel {
    pub id: ParcelId,
    /// The first order the parcel carries.
    pub order_id: Option<OrderId>,
    pub carrier_code: String,
    pub tracking_no: String,
    pub printed_at: Option<DateTime<Utc>>,
    pub shipped_at: DateTime<Utc>,
    pub state: Option<TrackState>,
    pub sub_state: Option<SubState>,
    pub first_scan_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub disputed: bool,
}

/// An unshipped order as the radar reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadarOrder {
    pub id: OrderId,
    pub ship_by: Option<DateTime<Utc>>,
    pub shipped: bool,
    pub cancelled: bool,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Parcel(ParcelId, Option<OrderId>),
    Order(OrderId),
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRow {
    pub id: i64,
    pub kind: AlertKind,
    pub parcel_id: Option<ParcelId>,
    pub order_id: Option<OrderId>,
    /// The order's platform number, for the queue.
    pub platform_order_id: Option<String>,
    pub tracking_no: Option<String>,
    pub carrier_code: Option<String>,
    pub since: DateTime<Utc>,
    pub urgency: i64,
    pub summary: String,
    pub actions: Vec<SuggestedAction>,
    pub opened_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
}

/// An alert the last sync opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedAlert {
    pub id: i64,
    pub kind: AlertKind,
    pub subject: Subject,
}

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationRow {
    pub id: i64,
    pub order_id: OrderId,
    /// `shipped` | `delayed` | `exception`
    pub kind: String,
    pub subject: String,
    /// `platform_message` | `sms`, once chosen.
    pub channel: Option<String>,
    /// `pending` | `sending` (handed to the channel, outcome not yet recorded) | `sent` |
    /// `failed` | `skipped`
    pub state: String,
    pub body: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A notification to queue: `subject` makes it once-only per (order, kind).
#[derive(Debug, Clone, Copy)]
pub struct NewNotification<'a> {
    pub order: OrderId,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// Every placeholder's value, for the SMS template's variables.
    pub params: &'a serde_json::Value,
}

/// Everything the notify job needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationToSend {
    pub row: NotificationRow,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub buyer_openid: Option<String>,
    /// The SMS template's variables.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Opened here, for the SMS channel only; never logged.
    pub receiver: Receiver,
}

type AlertTuple = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
    String,
    i64,
    Option<i64>,
);

const ALERT_SELECT: &str = "SELECT a.id, a.kind, a.parcel_id, a.order_id, o.platform_order_id, \
     p.tracking_no, p.carrier_code, a.since, a.urgency, a.summary, a.actions_json, a.opened_at, a.cleared_at \
     FROM radar_alerts a LEFT JOIN orders o ON o.id = a.order_id LEFT JOIN parcels p ON p.id = a.parcel_id";

fn alert_row(t: AlertTuple) -> Result<AlertRow> {
    Ok(AlertRow {
        id: t.0,
        kind: AlertKind::parse(&t.1)?,
        parcel_id: t.2.map(ParcelId),
        order_id: t.3.map(OrderId),
        platform_order_id: t.4,
        tracking_no: t.5,
        carrier_code: t.6,
        since: from_ms(t.7),
        urgency: t.8,
        summary: t.9,
        actions: serde_json::from_str(&t.10).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        opened_at: from_ms(t.11),
        cleared_at: opt_from_ms(t.12),
    })
}

type NotificationTuple = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);

const NOTIFICATION_COLUMNS: &str = "n.id, n.order_id, n.kind, n.subject, n.channel, n.state, n.body, n.error, n.created_at, n.sent_at";

fn notification_row(t: NotificationTuple) -> NotificationRow {
    NotificationRow {
        id: t.0,
        order_id: OrderId(t.1),
        kind: t.2,
        subject: t.3,
        channel: t.4,
        state: t.5,
        body: t.6,
        error: t.7,
        created_at: from_ms(t.8),
        sent_at: opt_from_ms(t.9),
    }
}

impl Store {
    /// Every tenant, for jobs that scan all of them.
    pub async fn tenant_ids(&self) -> Result<Vec<TenantId>> {
        let ids: Vec<i64> = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM tenants ORDER BY id").fetch_all(pool).await?
        });
        Ok(ids.into_iter().map(TenantId).collect())
    }

    /// Parcels the radar must look at: still followed, disputed, or with an open alert. Three
    /// index ranges merged in id order, not an `OR` over every parcel of the tenant (migration
    /// 0022). Each branch sorted by id is what makes SQLite take the partial index of open
    /// parcels (without the order it took the tenant's whole number index).
    pub async fn radar_parcels(&self, tenant: TenantId) -> Result<Vec<RadarParcel>> {
        type Row = (
            i64,
            Option<i64>,
            String,
            String,
            Option<i64>,
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    sqlx::AssertSqlSafe(format!(
                        "SELECT {RADAR_PARCEL_COLUMNS} FROM parcels p WHERE p.tenant_id = $1 AND p.ended_at IS NULL \
                         UNION SELECT {RADAR_PARCEL_COLUMNS} FROM parcels p WHERE p.tenant_id = $1 \
                           AND p.disputed_at IS NOT NULL \
                         UNION SELECT {RADAR_PARCEL_COLUMNS} FROM radar_alerts a JOIN parcels p ON p.id = a.parcel_id \
                           WHERE a.tenant_id = $1 AND a.cleared_at IS NULL AND p.tenant_id = $1 \
                         ORDER BY 1")))
                .bind(tenant.get()).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(RadarParcel {
                    id: ParcelId(r.0),
                    order_id: r.1.map(OrderId),
                    carrier_code: r.2,
                    tracking_no: r.3,
                    printed_at: opt_from_ms(r.4),
                    shipped_at: from_ms(r.5),
                    state: r.6.as_deref().map(TrackState::parse).transpose()?,
                    sub_state: r.7.as_deref().map(SubState::parse).transpose()?,
                    first_scan_at: opt_from_ms(r.8),
                    last_event_at: opt_from_ms(r.9),
                    disputed: r.10.is_some(),
                })
            })
            .collect()
    }

    /// Unshipped orders whose deadline is before `horizon`, and orders with an open alert.
    pub async fn radar_orders(
        &self,
        tenant: TenantId,
        horizon: DateTime<Utc>,
    ) -> Result<Vec<RadarOrder>> {
        let rows: Vec<(i64, Option<i64>, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT o.id, o.ship_by, o.state FROM orders o WHERE o.tenant_id = $1 AND ( \
                       (o.ship_by <= $2 AND o.state IN ('new', 'on_hold', 'approved', 'allocated', \
                        'waybill_issued', 'printed', 'packed')) \
                       OR EXISTS (SELECT 1 FROM radar_alerts a WHERE a.order_id = o.id AND a.parcel_id IS NULL \
                        AND a.cleared_at IS NULL)) ORDER BY o.id")
                .bind(tenant.get()).bind(ms(horizon)).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, ship_by, state)| {
                let state = fahuo_domain::OrderState::parse(&state)?;
                Ok(RadarOrder {
                    id: OrderId(id),
                    ship_by: opt_from_ms(ship_by),
                    shipped: !state.is_before_shipping() && !state.is_terminal(),
                    cancelled: state.is_terminal(),
                })
            })
            .collect()
    }

    /// Makes the open alerts of each subject exactly `alerts`: opens the new kinds, refreshes
    /// the ones still open, clears the rest. One transaction per call; returns what it opened.
    pub async fn sync_alerts(
        &self,
        tenant: TenantId,
        subjects: &[(Subject, Vec<Alert>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<OpenedAlert>> {
        // The subjects' open alerts in two reads over id ranges (a scan lists its subjects in id
        // order, so a chunk's range holds few others), not one read per subject: a scan looks at
        // every parcel still followed.
        let parcels = id_range(subjects.iter().filter_map(|(s, _)| match s {
            Subject::Parcel(p, _) => Some(p.get()),
            Subject::Order(_) => None,
        }));
        let orders = id_range(subjects.iter().filter_map(|(s, _)| match s {
            Subject::Parcel(..) => None,
            Subject::Order(o) => Some(o.get()),
        }));
        let opened = in_tx!(&self.db, tx => {
            let mut rows: Vec<OpenAlertRow> = Vec::new();
            if let Some((lo, hi)) = parcels {
                rows.extend(sqlx::query_as::<_, OpenAlertRow>(
                        "SELECT id, kind, parcel_id, order_id, urgency, summary, actions_json FROM radar_alerts \
                         WHERE parcel_id BETWEEN $1 AND $2 AND cleared_at IS NULL AND tenant_id = $3")
                    .bind(lo).bind(hi).bind(tenant.get()).fetch_all(&mut *tx).await?);
            }
            if let Some((lo, hi)) = orders {
                rows.extend(sqlx::query_as::<_, OpenAlertRow>(
                        "SELECT id, kind, parcel_id, order_id, urgency, summary, actions_json FROM radar_alerts \
                         WHERE order_id BETWEEN $1 AND $2 AND parcel_id IS NULL AND cleared_at IS NULL \
                         AND tenant_id = $3")
                    .bind(lo).bind(hi).bind(tenant.get()).fetch_all(&mut *tx).await?);
            }
            // Open alerts by subject: (parcel, None) for a parcel's, (None, order) for an order's.
            let mut open_of: HashMap<(Option<i64>, Option<i64>), Vec<OpenAlertRow>> = HashMap::new();
            for row in rows {
                let key = if row.2.is_some() { (row.2, None) } else { (None, row.3) };
                open_of.entry(key).or_default().push(row);
            }
            let mut opened = Vec::new();
            for (subject, alerts) in subjects {
                let (parcel, order) = match *subject {
                    Subject::Parcel(p, o) => (Some(p.get()), o.map(|o| o.get())),
                    Subject::Order(o) => (None, Some(o.get())),
                };
                let key = if parcel.is_some() { (parcel, None) } else { (None, order) };
                let open = open_of.remove(&key).unwrap_or_default();
                for (id, kind, _, _, urgency, summary, actions) in &open {
                    match alerts.iter().find(|a| a.kind.as_str() == kind) {
                        Some(a) => {
                            let new_actions = actions_json(&a.actions)?;
                            // Most scans find an open alert as it was: nothing to write.
                            if (a.urgency, a.summary.as_str(), new_actions.as_str())
                                != (*urgency, summary.as_str(), actions.as_str())
                            {
                                sqlx::query("UPDATE radar_alerts SET urgency = $1, summary = $2, actions_json = $3 WHERE id = $4")
                                    .bind(a.urgency).bind(&a.summary).bind(new_actions).bind(id)
                                    .execute(&mut *tx).await?;
                            }
                        }
                        None => {
                            sqlx::query("UPDATE radar_alerts SET cleared_at = $1 WHERE id = $2")
                                .bind(ms(now)).bind(id).execute(&mut *tx).await?;
                        }
                    }
                }
                for a in alerts.iter().filter(|a| !open.iter().any(|o| o.1 == a.kind.as_str())) {
                    let id: i64 = sqlx::query_scalar(
                            "INSERT INTO radar_alerts (tenant_id, kind, parcel_id, order_id, since, urgency, \
                             summary, actions_json, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
                        .bind(tenant.get()).bind(a.kind.as_str()).bind(parcel).bind(order)
                        .bind(ms(a.since)).bind(a.urgency).bind(&a.summary).bind(actions_json(&a.actions)?)
                        .bind(ms(now)).fetch_one(&mut *tx).await?;
                    opened.push(OpenedAlert { id, kind: a.kind, subject: *subject });
                }
            }
            opened
        });
        Ok(opened)
    }

    /// The open alerts, most urgent first (or the cleared ones, newest first).
    /// `shops` (a sub-account's scope; `None` = all): only alerts about an order of those shops.
    pub async fn radar_alerts(
        &self,
        tenant: TenantId,
        kind: Option<AlertKind>,
        cleared: bool,
        limit: i64,
        shops: Option<&[ShopId]>,
    ) -> Result<Vec<AlertRow>> {
        let scope = format!(
            "($4 IS NULL OR o.shop_id IN ({}))",
            crate::ids_in(&self.db, 4)
        );
        let sql = if cleared {
            format!(
                "{ALERT_SELECT} WHERE a.tenant_id = $1 AND a.cleared_at IS NOT NULL AND ($2 IS NULL OR a.kind = $2) \
                     AND {scope} ORDER BY a.cleared_at DESC, a.id DESC LIMIT $3"
            )
        } else {
            format!(
                "{ALERT_SELECT} WHERE a.tenant_id = $1 AND a.cleared_at IS NULL AND ($2 IS NULL OR a.kind = $2) \
                     AND {scope} ORDER BY a.urgency DESC, a.id LIMIT $3"
            )
        };
        let rows: Vec<AlertTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(tenant.get()).bind(kind.map(AlertKind::as_str)).bind(limit.clamp(1, 1000))
                .bind(crate::scope_ids(shops, ShopId::get))
                .fetch_all(pool).await?
        });
        rows.into_iter().map(alert_row).collect()
    }

    /// Alerts of one parcel or order, open and cleared, oldest first.
    pub async fn alerts_about(&self, tenant: TenantId, subject: Subject) -> Result<Vec<AlertRow>> {
        let (sql, id) = match subject {
            Subject::Parcel(p, _) => (
                format!("{ALERT_SELECT} WHERE a.tenant_id = $1 AND a.parcel_id = $2 ORDER BY a.id"),
                p.get(),
            ),
            Subject::Order(o) => (
                format!("{ALERT_SELECT} WHERE a.tenant_id = $1 AND a.order_id = $2 ORDER BY a.id"),
                o.get(),
            ),
        };
        let rows: Vec<AlertTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(tenant.get()).bind(id).fetch_all(pool).await?
        });
        rows.into_iter().map(alert_row).collect()
    }

    /// Queues a buyer notification and its job, once per (order, kind, subject).
    pub async fn queue_notification(
        &self,
        tenant: TenantId,
        n: &NewNotification<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let NewNotification {
            order,
            kind,
            subject,
            body,
            params,
        } = *n;
        let id = in_tx!(&self.db, tx => {
            let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO notifications (tenant_id, order_id, kind, subject, state, body, params_json, created_at) \
                     VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id")
                .bind(tenant.get()).bind(order.get()).bind(kind).bind(subject).bind(body)
                .bind(params.to_string()).bind(ms(now))
                .fetch_optional(&mut *tx).await?;
            if let Some(id) = id {
                let job = NewJob::new(NOTIFY_JOB, json!({ "notification": id }), now)
                    .for_tenant(tenant)
                    .dedupe(format!("{NOTIFY_JOB}:{id}"));
                enqueue_job!(&mut *tx, &job, now);
            }
            id
        });
        Ok(id)
    }

    pub async fn notification_to_send(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<NotificationToSend> {
        type Row = (
            i64,
            i64,
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            i64,
            String,
            Option<String>,
            Vec<u8>,
            String,
        );
        let row: Option<Row> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTIFICATION_COLUMNS}, o.shop_id, o.platform, o.buyer_openid, o.receiver_enc, n.params_json \
                     FROM notifications n JOIN orders o ON o.id = n.order_id \
                     WHERE n.tenant_id = $1 AND n.id = $2")))
                .bind(tenant.get()).bind(id).fetch_optional(pool).await?
        });
        let r = row.ok_or(StoreError::NotFound)?;
        let receiver: Receiver = self.pii.decrypt_json(&r.13)?;
        Ok(NotificationToSend {
            row: notification_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9)),
            shop_id: ShopId(r.10),
            platform: Platform::parse(&r.11)?,
            buyer_openid: r.12,
            params: serde_json::from_str(&r.14).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            receiver,
        })
    }

    /// Marks a pending notification as being sent, just before it is handed to its channel:
    /// `false` when it is not pending (another node sends it, or it was sent). A notification
    /// left `sending` belongs to a node that died during the send, so whether the buyer got it
    /// is unknown: it is never sent a second time.
    pub async fn start_sending_notification(&self, tenant: TenantId, id: i64) -> Result<bool> {
        let n = on_db!(&self.db, pool => sqlx::query(
                "UPDATE notifications SET state = 'sending' \
                 WHERE tenant_id = $1 AND id = $2 AND state = 'pending'")
            .bind(tenant.get()).bind(id).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Puts a notification whose channel refused it (nothing went out) back to pending, for
    /// the next attempt.
    pub async fn notification_not_sent(&self, tenant: TenantId, id: i64) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "UPDATE notifications SET state = 'pending' \
                 WHERE tenant_id = $1 AND id = $2 AND state = 'sending'")
            .bind(tenant.get()).bind(id).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Records what became of a notification.
    #[allow(clippy::too_many_arguments)]
    pub async fn notification_outcome(
        &self,
        tenant: TenantId,
        id: i64,
        state: &str,
        channel: Option<&str>,
        provider_id: Option<&str>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let actor = ActorRef::system("notify");
        in_tx!(&self.db, tx => {
            let order: i64 = sqlx::query_scalar(
                    "UPDATE notifications SET state = $1, channel = $2, provider_id = $3, error = $4, \
                     sent_at = CASE WHEN $1 = 'sent' THEN $5 ELSE sent_at END \
                     WHERE tenant_id = $6 AND id = $7 RETURNING order_id")
                .bind(state).bind(channel).bind(provider_id).bind(error).bind(ms(now))
                .bind(tenant.get()).bind(id).fetch_optional(&mut *tx).await?
                .ok_or(StoreError::NotFound)?;
            let entry = AuditEntry::about(tenant, &actor, "notification.outcome", ("order", order),
                json!({ "notification": id, "state": state, "channel": channel, "error": error }), now);
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// `shops` (a sub-account's scope; `None` = all): only notices about orders of those shops.
    pub async fn notifications(
        &self,
        tenant: TenantId,
        order: Option<OrderId>,
        limit: i64,
        shops: Option<&[ShopId]>,
    ) -> Result<Vec<NotificationRow>> {
        let scope = crate::ids_in(&self.db, 4);
        let rows: Vec<NotificationTuple> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.tenant_id = $1 \
                     AND ($2 IS NULL OR n.order_id = $2) \
                     AND ($4 IS NULL OR n.order_id IN (SELECT id FROM orders WHERE tenant_id = $1 \
                       AND shop_id IN ({scope}))) ORDER BY n.id DESC LIMIT $3")))
                .bind(tenant.get()).bind(order.map(|o| o.get())).bind(limit.clamp(1, 1000))
                .bind(crate::scope_ids(shops, ShopId::get))
                .fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(notification_row).collect())
    }

    /// Keeps the buyer's platform identity of an order (WeChat openid) for platform messages.
    pub async fn set_buyer_openid(
        &self,
        tenant: TenantId,
        order: OrderId,
        openid: &str,
    ) -> Result<()> {
        on_db!(&self.db, pool => {
            sqlx::query("UPDATE orders SET buyer_openid = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(openid).bind(tenant.get()).bind(order.get()).execute(pool).await?;
        });
        Ok(())
    }
}

/// The smallest and the largest of `ids`; `None` when there are none.
fn id_range(ids: impl Iterator<Item = i64>) -> Option<(i64, i64)> {
    ids.fold(None, |range, id| {
        Some(range.map_or((id, id), |(lo, hi)| (lo.min(id), hi.max(id))))
    })
}

/// An open alert as a scan compares it: id, kind, parcel, order, urgency, summary, actions.
type OpenAlertRow = (i64, String, Option<i64>, Option<i64>, i64, String, String);

fn actions_json(actions: &[SuggestedAction]) -> Result<String> {
    serde_json::to_string(actions).map_err(|e| StoreError::Corrupt(e.to_string()))
}
