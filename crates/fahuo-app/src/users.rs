//! Tenants and staff accounts: sub-accounts (子账号) with a role and a scope (数据范围),
//! changes to them, and invitations by one-time link.
//!
//! The rules: only the owner creates or changes admins (and owners); nobody changes the
//! owner's role or disables the owner; nobody raises their own role or disables themselves.
//! Owners and admins always have every shop and warehouse.

use crate::auth::{Password, hash_password};
use crate::{Actor, App, AppError, Result};
use chrono::Duration;
use fahuo_domain::audit::ActorRef;
use fahuo_domain::catalog::{Tenant, User};
use fahuo_domain::{
    Name, ParseError, Permission, Role, Scope, ShopId, TenantId, UserId, Username, WarehouseId,
};
use fahuo_store::accounts::{Invite, NewInvite, NewUser, UserAccount, UserUpdate};
use fahuo_store::pii::{random_token, token_hash};

/// How long an invitation link stays valid.
pub const INVITE_DAYS: i64 = 7;

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

    /// Adds a staff account with every shop and warehouse to the actor's tenant. Only an
    /// owner may create owners and admins.
    pub async fn add_user(&self, actor: &Actor, input: UserInput) -> Result<User> {
        self.add_scoped_user(actor, input, Scope::all()).await
    }

    /// Adds a staff account limited to `scope` (ignored for owners and admins, who see all).
    pub async fn add_scoped_user(
        &self,
        actor: &Actor,
        input: UserInput,
        scope: Scope,
    ) -> Result<User> {
        actor.require(Permission::ManageUsers)?;
        may_grant(actor, input.role)?;
        self.store().tenant(actor.tenant_id).await?;
        let scope = self
            .checked_scope(actor.tenant_id, input.role, scope)
            .await?;
        let display_name = display_name_or(&input.display_name, &input.username);
        let password_hash = hash_password(&input.password).await?;
        let new = NewUser {
            tenant_id: actor.tenant_id,
            username: input.username,
            display_name,
            role: input.role,
            password_hash,
        };
        let mut audit = actor.audit("user.create", "user", self.now());
        audit.after =
            Some(serde_json::json!({ "username": new.username, "role": new.role, "scope": scope }));
        Ok(self
            .store()
            .create_scoped_user(&new, &scope, &audit)
            .await?)
    }

    pub async fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        actor.require(Permission::ManageUsers)?;
        Ok(self.store().users(actor.tenant_id).await?)
    }

    /// The tenant's staff with their scopes and last logins.
    pub async fn user_accounts(&self, actor: &Actor) -> Result<Vec<UserAccount>> {
        actor.require(Permission::ManageUsers)?;
        Ok(self.store().user_accounts(actor.tenant_id).await?)
    }

    /// The tenant's staff as (id, username), to filter the audit trail by who acted.
    pub async fn staff_names(&self, actor: &Actor) -> Result<Vec<(UserId, String)>> {
        actor.require(Permission::ViewAudit)?;
        Ok(self
            .store()
            .users(actor.tenant_id)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username.to_string()))
            .collect())
    }

    /// Changes a user's display name, role, scope or status (disabling ends the user's
    /// sessions and API tokens at once). Another tenant's user is `NotFound`.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: UserId,
        change: UserChange,
    ) -> Result<UserAccount> {
        actor.require(Permission::ManageUsers)?;
        let current = self.store().user_account(actor.tenant_id, id).await?;
        let before = &current.user;
        let role = change.role.unwrap_or(before.role);
        let disabled = change.disabled.unwrap_or(before.disabled);
        let is_self = actor.user_id == Some(id);
        if before.role == Role::Owner {
            if role != Role::Owner {
                return Err(AppError::Conflict(
                    "the owner's role cannot be changed".into(),
                ));
            }
            if disabled {
                return Err(AppError::Conflict("the owner cannot be disabled".into()));
            }
            if actor.role != Role::Owner {
                return Err(AppError::Forbidden(Permission::ManageUsers));
            }
        } else if role == Role::Owner {
            return Err(AppError::Conflict(
                "an account cannot be made an owner here".into(),
            ));
        }
        if (before.role == Role::Admin || role == Role::Admin) && actor.role != Role::Owner {
            // Only the owner creates or changes admins.
            return Err(AppError::Forbidden(Permission::ManageUsers));
        }
        if is_self && rank(role) > rank(before.role) {
            return Err(AppError::Forbidden(Permission::ManageUsers));
        }
        if is_self && disabled {
            return Err(AppError::Conflict(
                "you cannot disable your own account".into(),
            ));
        }
        let display_name = match change.display_name {
            Some(name) => display_name_or(&name, &before.username),
            None => before.display_name.clone(),
        };
        let scope = self
            .checked_scope(
                actor.tenant_id,
                role,
                change.scope.unwrap_or_else(|| current.scope.clone()),
            )
            .await?;
        let update = UserUpdate {
            display_name,
            role,
            scope,
            disabled,
        };
        let action = match (before.disabled, disabled) {
            (false, true) => "user.disable",
            (true, false) => "user.enable",
            _ => "user.update",
        };
        let mut audit = actor.audit(action, "user", self.now());
        audit.entity_id = Some(id.get());
        audit.before = Some(serde_json::json!({
            "display_name": before.display_name, "role": before.role,
            "scope": current.scope, "disabled": before.disabled,
        }));
        audit.after = Some(serde_json::json!({
            "display_name": update.display_name, "role": update.role,
            "scope": update.scope, "disabled": update.disabled,
        }));
        Ok(self
            .store()
            .update_user(actor.tenant_id, id, &update, &audit)
            .await?)
    }

    /// Creates an invitation: a one-time link (the token is returned once and stored hashed)
    /// that creates an account with `role` and `scope`, valid for [`INVITE_DAYS`] days.
    pub async fn create_invite(
        &self,
        actor: &Actor,
        role: Role,
        scope: Scope,
        note: &str,
    ) -> Result<NewInviteLink> {
        actor.require(Permission::ManageUsers)?;
        if role == Role::Owner {
            return Err(AppError::Conflict(
                "an invitation cannot make an owner".into(),
            ));
        }
        may_grant(actor, role)?;
        let scope = self.checked_scope(actor.tenant_id, role, scope).await?;
        let note: String = note.trim().chars().take(200).collect();
        let token = random_token(24);
        let now = self.now();
        let new = NewInvite {
            tenant_id: actor.tenant_id,
            token_hash: token_hash(&token),
            role,
            scope,
            note,
            created_by: actor.name.clone(),
            expires_at: now + Duration::days(INVITE_DAYS),
        };
        let mut audit = actor.audit("invite.create", "invite", now);
        audit.after = Some(serde_json::json!({
            "role": new.role, "scope": new.scope, "note": new.note, "expires_at": new.expires_at,
        }));
        let invite = self.store().create_invite(&new, &audit).await?;
        Ok(NewInviteLink { invite, token })
    }

    /// The tenant's invitations that can still be used.
    pub async fn pending_invites(&self, actor: &Actor) -> Result<Vec<Invite>> {
        actor.require(Permission::ManageUsers)?;
        Ok(self
            .store()
            .pending_invites(actor.tenant_id, self.now())
            .await?)
    }

    pub async fn revoke_invite(&self, actor: &Actor, id: i64) -> Result<()> {
        actor.require(Permission::ManageUsers)?;
        let mut audit = actor.audit("invite.revoke", "invite", self.now());
        audit.entity_id = Some(id);
        Ok(self
            .store()
            .revoke_invite(actor.tenant_id, id, &audit)
            .await?)
    }

    /// What an invitation link leads to (no login: the link is the credential).
    pub async fn open_invite(&self, token: &str) -> Result<InviteLink> {
        let found = self
            .store()
            .invite_by_token(&token_hash(token.trim()))
            .await?;
        Ok(match found {
            None => InviteLink::Unknown,
            Some(i) if i.revoked_at.is_some() => InviteLink::Revoked,
            Some(i) if i.used_at.is_some() => InviteLink::Used,
            Some(i) if i.expires_at <= self.now() => InviteLink::Expired,
            Some(i) => InviteLink::Open(Box::new(i)),
        })
    }

    /// The invitee chooses a username, display name and password: the account exists with
    /// the invitation's role and scope, and the invitation is used up. A link that is not
    /// open is `Conflict` with what happened to it.
    pub async fn accept_invite(
        &self,
        token: &str,
        username: Username,
        display_name: &str,
        password: &Password,
    ) -> Result<User> {
        let invite = match self.open_invite(token).await? {
            InviteLink::Open(i) => i,
            other => return Err(AppError::Conflict(other.problem().into())),
        };
        let display_name = display_name_or(display_name, &username);
        let password_hash = hash_password(password).await?;
        let new = NewUser {
            tenant_id: invite.tenant_id,
            username,
            display_name,
            role: invite.role,
            password_hash,
        };
        let mut audit = fahuo_domain::audit::AuditEntry {
            tenant_id: invite.tenant_id,
            actor: ActorRef::system(new.username.as_str()),
            action: "invite.accept".into(),
            entity_type: "user".into(),
            entity_id: None,
            before: None,
            after: None,
            at: self.now(),
        };
        audit.after = Some(serde_json::json!({
            "username": new.username, "role": invite.role, "scope": invite.scope,
            "invite_id": invite.id,
        }));
        Ok(self.store().accept_invite(&invite, &new, &audit).await?)
    }

    /// `scope` as stored for a user of `role`: everything for owners and admins; otherwise
    /// sorted, without repeats, and only with the tenant's own shops and warehouses.
    async fn checked_scope(&self, tenant: TenantId, role: Role, scope: Scope) -> Result<Scope> {
        if matches!(role, Role::Owner | Role::Admin) {
            return Ok(Scope::all());
        }
        let shops = match scope.shops {
            None => None,
            Some(mut ids) => {
                let known: Vec<ShopId> = self
                    .store()
                    .shops(tenant)
                    .await?
                    .iter()
                    .map(|s| s.id)
                    .collect();
                if let Some(bad) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(
                        ParseError::new("scope", format!("unknown shop {}", bad.get())).into(),
                    );
                }
                ids.sort();
                ids.dedup();
                Some(ids)
            }
        };
        let warehouses = match scope.warehouses {
            None => None,
            Some(mut ids) => {
                let known: Vec<WarehouseId> = self
                    .store()
                    .warehouses(tenant)
                    .await?
                    .iter()
                    .map(|w| w.id)
                    .collect();
                if let Some(bad) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(ParseError::new(
                        "scope",
                        format!("unknown warehouse {}", bad.get()),
                    )
                    .into());
                }
                ids.sort();
                ids.dedup();
                Some(ids)
            }
        };
        Ok(Scope { shops, warehouses })
    }

    /// The roles `actor` may give to a new account (for the invite form).
    pub fn grantable_roles(actor: &Actor) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|r| *r != Role::Owner && may_grant(actor, *r).is_ok())
            .collect()
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

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
}

/// A new invitation and its link's token, shown once.
#[derive(Debug, Clone)]
pub struct NewInviteLink {
    pub invite: Invite,
    pub token: String,
}

/// What an invitation link leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum InviteLink {
    Open(Box<Invite>),
    Expired,
    Used,
    Revoked,
    Unknown,
}

impl InviteLink {
    pub fn problem(&self) -> &'static str {
        match self {
            InviteLink::Open(_) => "",
            InviteLink::Expired => "this invitation has expired",
            InviteLink::Used => "this invitation has already been used",
            InviteLink::Revoked => "this invitation was revoked",
            InviteLink::Unknown => "this invitation link is not valid",
        }
    }
}

/// Owners above admins above everyone else.
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 2,
        Role::Admin => 1,
        _ => 0,
    }
}

/// Only an owner gives the owner's or an admin's role.
fn may_grant(actor: &Actor, role: Role) -> Result<()> {
    if matches!(role, Role::Owner | Role::Admin) && actor.role != Role::Owner {
        return Err(AppError::Forbidden(Permission::ManageUsers));
    }
    Ok(())
}

fn display_name_or(name: &str, username: &Username) -> String {
    match name.trim() {
        "" => username.to_string(),
        name => name.chars().take(100).collect(),
    }
}

impl Actor {
    /// A warehouse outside the actor's scope is `NotFound`: the same answer as a warehouse
    /// that does not exist.
    pub fn check_warehouse(&self, id: WarehouseId) -> Result<()> {
        if self.scope.allows_warehouse(id) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A shop outside the actor's scope is `NotFound`.
    pub fn check_shop(&self, id: ShopId) -> Result<()> {
        if self.scope.allows_shop(id) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
