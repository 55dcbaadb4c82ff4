//! The audit log: written in the same transaction as the change it describes, read by tenant.

use crate::{Page, Result, Store, from_ms, on_db};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::{ApiTokenId, TenantId, UserId};

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log (tenant_id, actor_kind, actor_id, \
    actor_name, action, entity_type, entity_id, before_json, after_json, at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Appends an [`AuditEntry`] on a connection or transaction of either backend.
macro_rules! insert_audit {
    ($conn:expr, $entry:expr) => {{
        let entry: &fahuo_domain::audit::AuditEntry = $entry;
        sqlx::query($crate::audit::INSERT_AUDIT)
            .bind(entry.tenant_id.get())
            .bind(entry.actor.kind())
            .bind(entry.actor.id())
            .bind(entry.actor.name())
            .bind(&entry.action)
            .bind(&entry.entity_type)
            .bind(entry.entity_id)
            .bind(entry.before.as_ref().map(|v| v.to_string()))
            .bind(entry.after.as_ref().map(|v| v.to_string()))
            .bind($crate::ms(entry.at))
            .execute($conn)
            .await?;
    }};
}
pub(crate) use insert_audit;

/// An audit entry as read back, with its id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    tenant_id: i64,
    actor_kind: String,
    actor_id: Option<i64>,
    actor_name: String,
    action: String,
    entity_type: String,
    entity_id: Option<i64>,
    before_json: Option<String>,
    after_json: Option<String>,
    at: i64,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        let actor = match (r.actor_kind.as_str(), r.actor_id) {
            ("user", Some(id)) => ActorRef::User {
                id: UserId(id),
                name: r.actor_name,
            },
            ("token", Some(id)) => ActorRef::Token {
                id: ApiTokenId(id),
                name: r.actor_name,
            },
            _ => ActorRef::System { name: r.actor_name },
        };
        let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        AuditRecord {
            id: r.id,
            entry: AuditEntry {
                tenant_id: TenantId(r.tenant_id),
                actor,
                action: r.action,
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                before: json(r.before_json),
                after: json(r.after_json),
                at: from_ms(r.at),
            },
        }
    }
}

/// What to read from the log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    /// Entries with an id below this one (newest first paging).
    pub before_id: Option<i64>,
    pub limit: i64,
    /// Entries by this user in person (its API tokens' entries carry the token's id).
    pub user_id: Option<i64>,
    /// An action (`order.approve`) or a family of them (`order` for every `order.*`).
    pub action: Option<String>,
    /// Entries at or after this time.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Entries before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
    /// Appends one entry on its own (for actions that change nothing else, e.g. "receiver
    /// shown"). Changes to data write their entry inside their own transaction instead.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        on_db!(&self.db, pool => insert_audit!(pool, entry));
        Ok(())
    }

    /// The tenant's audit log, newest first.
    pub async fn audit_log(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
    ) -> Result<Page<AuditRecord>> {
        let limit = filter.limit.clamp(1, 500);
        let sql = "SELECT id, tenant_id, actor_kind, actor_id, actor_name, action, entity_type, \
            entity_id, before_json, after_json, at FROM audit_log \
            WHERE tenant_id = $1 AND ($2 IS NULL OR entity_type = $2) \
            AND ($3 IS NULL OR entity_id = $3) AND ($4 IS NULL OR id < $4) \
            AND ($6 IS NULL OR (actor_kind = 'user' AND actor_id = $6)) \
            AND ($7 IS NULL OR action = $7 OR action LIKE $8) \
            AND ($9 IS NULL OR at >= $9) AND ($10 IS NULL OR at < $10) \
            ORDER BY id DESC LIMIT $5";
        let family = filter.action.as_deref().map(|a| {
            let escaped: String = a
                .chars()
                .filter(|c| !matches!(c, '%' | '_' | '\\'))
                .collect();
            format!("{escaped}.%")
        });
        let rows: Vec<AuditRow> = on_db!(&self.db, pool => sqlx::query_as(sql)
            .bind(tenant.get())
            .bind(filter.entity_type.as_deref())
            .bind(filter.entity_id)
            .bind(filter.before_id)
            .bind(limit + 1)
            .bind(filter.user_id)
            .bind(filter.action.as_deref())
            .bind(family.as_deref())
            .bind(filter.from.map(crate::ms))
            .bind(filter.until.map(crate::ms))
            .fetch_all(pool)
            .await?);
        let rows: Vec<AuditRecord> = rows.into_iter().map(Into::into).collect();
        Ok(Page::from_overfetch(rows, limit, |r| r.id))
    }
}
