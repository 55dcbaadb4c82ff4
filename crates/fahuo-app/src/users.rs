//! Tenants and staff accounts.

use crate::auth::{Password, hash_password};
use crate::{Actor, App, AppError, Result};
use fahuo_domain::catalog::{Tenant, User};
use fahuo_domain::{Name, Permission, Role, TenantId, Username};
use fahuo_store::accounts::NewUser;

/// A staff account to create, parsed at the edge.
#[derive(Debug, Clone)]
pub struct UserInput {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password: Password,
}

impl App {
    /// Creates a tenant (the operator's job, from the CLI or the demo).
    pub async fn create_tenant(&self, name: &Name) -> Result<Tenant> {
        Ok(self.store().create_tenant(name, self.now()).await?)
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.store().tenants().await?)
    }

    /// Adds a staff account to the actor's tenant. Only an owner may create another owner.
    pub async fn add_user(&self, actor: &Actor, input: UserInput) -> Result<User> {
        actor.require(Permission::ManageUsers)?;
        if input.role == Role::Owner && actor.role != Role::Owner {
            return Err(AppError::Forbidden(Permission::ManageUsers));
        }
        self.store().tenant(actor.tenant_id).await?;
        let display_name = match input.display_name.trim() {
            "" => input.username.to_string(),
            name => name.chars().take(100).collect(),
        };
        let password_hash = hash_password(&input.password).await?;
        let new = NewUser {
            tenant_id: actor.tenant_id,
            username: input.username,
            display_name,
            role: input.role,
            password_hash,
        };
        let mut audit = actor.audit("user.create", "user", self.now());
        audit.after = Some(serde_json::json!({ "username": new.username, "role": new.role }));
        Ok(self.store().create_user(&new, &audit).await?)
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require(Permission::ManageUsers)?;
        Ok(self.store().users(actor.tenant_id).await?)
    }

    /// The user behind an actor (for `/me`).
    pub async fn me(&self, actor: &Actor) -> Result<Option<User>> {
        match actor.user_id {
            Some(id) => Ok(Some(self.store().user(actor.tenant_id, id).await?)),
            None => Ok(None),
        }
    }

    /// The tenant to act on from the CLI: the one given, or the only one there is.
    pub async fn resolve_cli_tenant(&self, tenant: Option<TenantId>) -> Result<TenantId> {
        if let Some(id) = tenant {
            return Ok(self.store().tenant(id).await?.id);
        }
        let tenants = self.store().tenants().await?;
        match tenants.as_slice() {
            [only] => Ok(only.id),
            [] => Err(AppError::Conflict(
                "there is no tenant yet: create one with `fahuo tenant add NAME`".into(),
            )),
            _ => Err(AppError::Conflict(
                "there are several tenants: choose one with --tenant ID (see `fahuo tenant list`)"
                    .into(),
            )),
        }
    }
}
