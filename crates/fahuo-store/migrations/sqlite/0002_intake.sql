-- Order intake from the platforms: per-shop webhook endpoints and sync progress.

-- The key in a shop's webhook URL (`/webhooks/{key}`): it finds the shop (and so the tenant
-- and the secrets to verify the signature with) before anything is trusted.
ALTER TABLE shops ADD COLUMN webhook_key TEXT;
UPDATE shops SET webhook_key = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX shops_webhook_key ON shops (webhook_key);
-- Replaced by shop_sync_state.
ALTER TABLE shops DROP COLUMN sync_cursor;

CREATE TABLE shop_sync_state (
    shop_id BIGINT PRIMARY KEY REFERENCES shops(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    -- Every order updated before this instant (ms) has been pulled; the next sync starts
    -- here minus the platform's overlap.
    high_water BIGINT,
    last_run_at BIGINT,
    last_success_at BIGINT,
    last_error TEXT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    orders_pulled BIGINT NOT NULL DEFAULT 0
);
