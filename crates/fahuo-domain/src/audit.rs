//! Who did what, when, to which thing, with the before and after (审计日志).

use crate::{TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who acted: a person, an integration's API token, or fahuo itself (sync, jobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ActorRef {
    User { id: UserId, name: String },
    Token { id: crate::ApiTokenId, name: String },
    System { name: String },
}

impl ActorRef {
    pub fn system(name: &str) -> ActorRef {
        ActorRef::System {
            name: name.to_string(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ActorRef::User { .. } => "user",
            ActorRef::Token { .. } => "token",
            ActorRef::System { .. } => "system",
        }
    }

    pub fn id(&self) -> Option<i64> {
        match self {
            ActorRef::User { id, .. } => Some(id.0),
            ActorRef::Token { id, .. } => Some(id.0),
            ActorRef::System { .. } => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ActorRef::User { name, .. }
            | ActorRef::Token { name, .. }
            | ActorRef::System { name } => name,
        }
    }
}

/// One audit entry. `before`/`after` are JSON snapshots of what changed; PII in them is
/// masked by whoever builds the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub tenant_id: TenantId,
    pub actor: ActorRef,
    /// A stable verb, e.g. `order.approve`, `user.create`, `receiver.reveal`.
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    /// An entry about one entity, with what it became (`after`); `before` stays empty unless
    /// set with [`AuditEntry::before`].
    pub fn about(
        tenant_id: TenantId,
        actor: &ActorRef,
        action: &str,
        (entity_type, entity_id): (&str, i64),
        after: serde_json::Value,
        at: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            tenant_id,
            actor: actor.clone(),
            action: action.to_string(),
            entity_type: entity_type.to_string(),
            entity_id: Some(entity_id),
            before: None,
            after: Some(after),
            at,
        }
    }

    pub fn before(mut self, before: serde_json::Value) -> AuditEntry {
        self.before = Some(before);
        self
    }
}
