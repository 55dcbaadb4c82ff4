-- After-sales (售后): the platforms' refunds, returns and exchanges as synced, and fahuo's own
-- reships, interceptions and carrier claims; their history, the warehouse's inspections with
-- photos, return labels and courier pickups, and the merchant's refund-approval threshold.
CREATE TABLE after_sales (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    order_id BIGINT REFERENCES orders(id),
    -- NULL for fahuo's own (reship, claim, intercept).
    platform_after_sale_id TEXT,
    platform_order_id TEXT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    platform_status TEXT,
    reason TEXT,
    refund_fen BIGINT,
    lines_json TEXT NOT NULL,
    return_carrier TEXT,
    return_tracking_no TEXT,
    platform_created_at BIGINT,
    platform_updated_at BIGINT,
    -- A decision waiting for its outbox job: approve | reject | confirm_received.
    pending_action TEXT,
    pending_reason TEXT,
    -- A refund above the threshold proposed by someone who may not approve it alone.
    proposed_by TEXT,
    proposed_at BIGINT,
    decided_by TEXT,
    decided_at BIGINT,
    last_error TEXT,
    -- The free-return label (退货面单): the account, the number, the request key.
    label_account_id BIGINT REFERENCES carrier_accounts(id),
    label_carrier TEXT,
    label_tracking_no TEXT,
    -- The courier pickup (上门取件).
    pickup_account_id BIGINT,
    pickup_carrier TEXT,
    pickup_order_code TEXT,
    pickup_booking_id TEXT,
    pickup_tracking_no TEXT,
    pickup_state TEXT,
    pickup_start BIGINT,
    pickup_end BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, shop_id, platform_after_sale_id)
);
CREATE INDEX after_sales_status ON after_sales(tenant_id, status, id);
CREATE INDEX after_sales_order ON after_sales(tenant_id, order_id);
CREATE INDEX after_sales_return_no ON after_sales(tenant_id, return_tracking_no);
CREATE INDEX after_sales_label_no ON after_sales(tenant_id, label_tracking_no);

CREATE TABLE after_sale_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    after_sale_id BIGINT NOT NULL REFERENCES after_sales(id),
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX after_sale_events_as ON after_sale_events(after_sale_id, id);

-- One inspection per after-sale: a second scan of the same parcel is refused.
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    after_sale_id BIGINT NOT NULL UNIQUE REFERENCES after_sales(id),
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    verdict TEXT NOT NULL,
    note TEXT,
    -- [[order_line_id, sku_id or null, units]]
    lines_json TEXT NOT NULL,
    inspected_by TEXT NOT NULL,
    inspected_at BIGINT NOT NULL
);

CREATE TABLE inspection_photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    inspection_id BIGINT NOT NULL REFERENCES inspections(id),
    n BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    size BIGINT NOT NULL,
    UNIQUE (inspection_id, n)
);

CREATE TABLE claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    after_sale_id BIGINT NOT NULL UNIQUE REFERENCES after_sales(id),
    carrier TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    claimed_fen BIGINT NOT NULL,
    settled_fen BIGINT,
    state TEXT NOT NULL,
    note TEXT,
    settled_at BIGINT
);
CREATE UNIQUE INDEX claims_open_number ON claims(tenant_id, tracking_no) WHERE state = 'open';

CREATE TABLE reships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    after_sale_id BIGINT NOT NULL UNIQUE REFERENCES after_sales(id),
    original_order_id BIGINT NOT NULL REFERENCES orders(id),
    reship_order_id BIGINT NOT NULL REFERENCES orders(id),
    -- The after-sale the reship answers (a damaged parcel's claim, a buyer's complaint).
    reship_of BIGINT REFERENCES after_sales(id),
    lines_json TEXT NOT NULL
);
CREATE INDEX reships_original ON reships(tenant_id, original_order_id);

CREATE TABLE after_sale_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id),
    -- Refunds above this need an owner's or admin's approval; NULL: never.
    approval_threshold_fen BIGINT,
    -- The window sync's high-water mark per shop lives in after_sale_sync.
    updated_at BIGINT NOT NULL
);

CREATE TABLE after_sale_sync (
    shop_id BIGINT PRIMARY KEY REFERENCES shops(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    high_water BIGINT,
    last_error TEXT,
    updated_at BIGINT NOT NULL
);
