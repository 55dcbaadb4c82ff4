-- Tracking (物流跟踪), the exception radar (异常雷达) and buyer notifications.

-- The merchant's account on a tracking aggregator (kuaidi100 or kdniao). Pushes arrive at
-- /webhooks/tracking/{callback_token}; the token only routes, the push's signature proves it.
CREATE TABLE tracking_accounts (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    base_url TEXT NOT NULL,
    credentials_enc BYTEA NOT NULL,
    callback_token TEXT NOT NULL UNIQUE,
    -- Poll a parcel that has had no push for this long (the fallback when pushes are lost).
    poll_hours BIGINT NOT NULL DEFAULT 6,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- One physical parcel followed until it is signed for or comes back. Merged orders (合单)
-- share one parcel; the shipments that carry its number link it to its orders.
CREATE TABLE parcels (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    carrier_code TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    package_id BIGINT REFERENCES packages(id),
    account_id BIGINT REFERENCES tracking_accounts(id),
    -- pending | subscribed | failed | none (no tracking account)
    subscription TEXT NOT NULL,
    subscription_error TEXT,
    state TEXT,
    sub_state TEXT,
    printed_at BIGINT,
    shipped_at BIGINT NOT NULL,
    first_scan_at BIGINT,
    last_event_at BIGINT,
    delivered_at BIGINT,
    -- When tracking ended (signed for or returned, or the service stopped).
    ended_at BIGINT,
    next_poll_at BIGINT,
    last_report_at BIGINT,
    -- The buyer says it never arrived although it shows signed for.
    disputed_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, carrier_code, tracking_no)
);
CREATE INDEX parcels_poll ON parcels(next_poll_at) WHERE ended_at IS NULL;
CREATE INDEX parcels_tenant_state ON parcels(tenant_id, state, id);
CREATE INDEX parcels_open ON parcels(tenant_id, id) WHERE ended_at IS NULL;

-- The foundation's placeholder is replaced: every trace line once per parcel, however often
-- it is pushed or polled.
DROP TABLE tracking_events;
CREATE TABLE tracking_events (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    parcel_id BIGINT NOT NULL REFERENCES parcels(id),
    event_key TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    sub_state TEXT,
    description TEXT NOT NULL,
    location TEXT,
    received_at BIGINT NOT NULL,
    UNIQUE (parcel_id, event_key)
);

-- Radar alerts: open while their rule holds, cleared (kept) when it stops holding.
CREATE TABLE radar_alerts (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    parcel_id BIGINT REFERENCES parcels(id),
    order_id BIGINT REFERENCES orders(id),
    since BIGINT NOT NULL,
    urgency BIGINT NOT NULL,
    summary TEXT NOT NULL,
    actions_json TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    cleared_at BIGINT
);
CREATE UNIQUE INDEX radar_alerts_open_parcel ON radar_alerts(parcel_id, kind) WHERE cleared_at IS NULL AND parcel_id IS NOT NULL;
CREATE UNIQUE INDEX radar_alerts_open_order ON radar_alerts(order_id, kind) WHERE cleared_at IS NULL AND parcel_id IS NULL;
CREATE INDEX radar_alerts_queue ON radar_alerts(tenant_id, cleared_at, urgency);

-- Buyer notifications: one per (order, kind, subject), sent by the notify.send job.
-- state: pending | sent | failed | skipped
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    channel TEXT,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The variables of the gateway's pre-approved SMS template.
    params_json TEXT NOT NULL,
    error TEXT,
    provider_id TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (order_id, kind, subject)
);
CREATE INDEX notifications_tenant ON notifications(tenant_id, id);

-- The buyer's platform identity (WeChat openid), to message them through the platform.
ALTER TABLE orders ADD COLUMN buyer_openid TEXT;
-- The carrier's price quoted when the carrier was chosen, for the cost reports.
ALTER TABLE packages ADD COLUMN shipping_cost_fen BIGINT;
