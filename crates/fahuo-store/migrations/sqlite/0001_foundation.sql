-- fahuo foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql:
-- the schema-parity test compares table and column names of both.
-- Times are BIGINT milliseconds since the Unix epoch (UTC); money is BIGINT fen.

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users(tenant_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);

CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_started_at BIGINT NOT NULL
);

CREATE TABLE shops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    platform_shop_id TEXT NOT NULL,
    api_base_url TEXT,
    credentials_enc BLOB,
    status TEXT NOT NULL,
    sync_cursor TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, platform, platform_shop_id)
);

CREATE TABLE warehouses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    province TEXT NOT NULL,
    city TEXT NOT NULL,
    county TEXT NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE skus (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    barcode TEXT,
    weight_g BIGINT NOT NULL,
    length_mm BIGINT NOT NULL,
    width_mm BIGINT NOT NULL,
    height_mm BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);
CREATE INDEX skus_barcode ON skus(tenant_id, barcode);

CREATE TABLE shop_skus (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    platform_sku_id TEXT NOT NULL,
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    quantity BIGINT NOT NULL,
    UNIQUE (shop_id, platform_sku_id)
);

CREATE TABLE stock (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    on_hand BIGINT NOT NULL,
    reserved BIGINT NOT NULL,
    safety BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, sku_id)
);
CREATE INDEX stock_tenant ON stock(tenant_id, sku_id);

CREATE TABLE stock_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    warehouse_id BIGINT NOT NULL,
    sku_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    on_hand_delta BIGINT NOT NULL,
    reserved_delta BIGINT NOT NULL,
    order_id BIGINT,
    note TEXT,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX stock_ledger_row ON stock_ledger(warehouse_id, sku_id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    shop_id BIGINT NOT NULL REFERENCES shops(id),
    platform TEXT NOT NULL,
    platform_order_id TEXT NOT NULL,
    state TEXT NOT NULL,
    platform_status TEXT NOT NULL,
    paid_total_fen BIGINT NOT NULL,
    freight_fen BIGINT NOT NULL,
    buyer_note TEXT,
    seller_note TEXT,
    paid_at BIGINT,
    ship_by BIGINT,
    presale_ship_at BIGINT,
    platform_updated_at BIGINT,
    receiver_enc BLOB NOT NULL,
    receiver_name_masked TEXT NOT NULL,
    receiver_phone_masked TEXT NOT NULL,
    receiver_phone_tail_hash TEXT NOT NULL,
    receiver_province TEXT NOT NULL,
    receiver_city TEXT NOT NULL,
    receiver_county TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, shop_id, platform_order_id)
);
CREATE INDEX orders_tenant_state ON orders(tenant_id, state, id);
CREATE INDEX orders_tenant_ship_by ON orders(tenant_id, ship_by);
CREATE INDEX orders_tenant_phone ON orders(tenant_id, receiver_phone_tail_hash);

CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    line_no BIGINT NOT NULL,
    platform_line_id TEXT,
    platform_sku_id TEXT,
    sku_code TEXT,
    sku_id BIGINT REFERENCES skus(id),
    title TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_fen BIGINT NOT NULL,
    paid_fen BIGINT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id);

CREATE TABLE holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    reason_code TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    released_at BIGINT,
    released_by TEXT
);
CREATE INDEX holds_order ON holds(order_id);

CREATE TABLE packages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    state TEXT NOT NULL,
    weight_g BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE package_lines (
    package_id BIGINT NOT NULL REFERENCES packages(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    order_line_id BIGINT NOT NULL REFERENCES order_lines(id),
    quantity BIGINT NOT NULL,
    PRIMARY KEY (package_id, order_line_id)
);

CREATE TABLE waybills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    package_id BIGINT NOT NULL REFERENCES packages(id),
    carrier_code TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    sort_code TEXT,
    hub TEXT,
    issued_at BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX waybills_package ON waybills(package_id);
CREATE INDEX waybills_tracking ON waybills(tenant_id, tracking_no);

CREATE TABLE shipments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    package_id BIGINT REFERENCES packages(id),
    carrier_code TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    UNIQUE (order_id, tracking_no)
);

CREATE TABLE tracking_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    carrier_code TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    state TEXT NOT NULL,
    sub_state TEXT,
    description TEXT NOT NULL,
    location TEXT,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (tenant_id, carrier_code, tracking_no, occurred_at, description)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id BIGINT,
    before_json TEXT,
    after_json TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, id);
CREATE INDEX audit_log_entity ON audit_log(tenant_id, entity_type, entity_id);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    state TEXT NOT NULL,
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_claim ON jobs(state, run_at);
