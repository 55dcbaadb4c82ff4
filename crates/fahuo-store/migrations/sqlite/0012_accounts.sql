-- Sub-accounts (子账号): each user's scope (数据范围), last login, and invitations.

-- A scope list is a JSON array of ids; NULL means all (owners and admins always have all).
ALTER TABLE users ADD COLUMN scope_shops TEXT;
ALTER TABLE users ADD COLUMN scope_warehouses TEXT;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;

-- A one-time link to create an account with a given role and scope. Only the hash of the
-- link's token is stored.
CREATE TABLE invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    scope_shops TEXT,
    scope_warehouses TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invites_tenant ON invites(tenant_id, id);

-- The audit trail page filters by who acted and by action, newest first.
CREATE INDEX audit_log_actor ON audit_log(tenant_id, actor_id, id);
CREATE INDEX audit_log_action ON audit_log(tenant_id, action, id);
