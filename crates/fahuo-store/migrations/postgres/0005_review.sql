-- Review, allocation and deadlines (审单, 预占, 合单/拆单, 分仓, 时效).

-- A merchant's settings as JSON, per kind (review, allocation, deadline); shop_id 0 holds the
-- tenant's own, a shop's row replaces it for that shop (review only).
CREATE TABLE tenant_settings (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    shop_id BIGINT NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    value_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, shop_id, kind)
);

-- Receivers the merchant does not ship to without a look (风险收件人), by a keyed hash of the
-- phone number: the number itself is not kept in clear.
CREATE TABLE blacklist (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    phone_hash TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, phone_hash)
);

-- Which review stage owns a hold (index into the review settings' stages).
ALTER TABLE holds ADD COLUMN stage BIGINT NOT NULL DEFAULT 0;
-- Who released it: 'system' when review no longer fires, a user when a person overrode it.
ALTER TABLE holds ADD COLUMN released_by_person BOOLEAN NOT NULL DEFAULT FALSE;

-- A keyed hash of the receiver reduced to "same person, same address": orders that share it
-- may merge into one package.
ALTER TABLE orders ADD COLUMN merge_key TEXT;
CREATE INDEX orders_merge_key ON orders(tenant_id, merge_key);
-- The review job's batches: new and approved orders of every tenant, oldest first.
CREATE INDEX orders_state ON orders(state, id);
-- The deadline alerts scan every tenant's orders by ship-by time.
CREATE INDEX orders_ship_by ON orders(ship_by);

-- SKU units per item bought, once the line is mapped (a bundle listing: 2).
ALTER TABLE order_lines ADD COLUMN units_per_item BIGINT;

-- An order's packages (merge candidates, unmerge, printing).
CREATE INDEX package_lines_order ON package_lines(order_id);

-- Stock set aside for a package: held until the parcel ships (deducted) or the order is
-- cancelled, edited or held (released).
CREATE TABLE reservations (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    package_id BIGINT NOT NULL REFERENCES packages(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    units BIGINT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX reservations_order ON reservations(tenant_id, order_id, state);
CREATE INDEX reservations_package ON reservations(package_id, state);

-- 缺货登记: an order waiting for a SKU; resolved when it is allocated, cancelled or released.
CREATE TABLE stockouts (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    units_missing BIGINT NOT NULL,
    expected_at BIGINT,
    registered_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX stockouts_open ON stockouts(tenant_id, sku_id, resolved_at);
CREATE INDEX stockouts_order ON stockouts(order_id);

-- Deadline alerts sent, one per order, deadline and threshold (a new deadline alerts again).
CREATE TABLE deadline_alerts (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    ship_by BIGINT NOT NULL,
    threshold_hours BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (order_id, ship_by, threshold_hours)
);
CREATE INDEX deadline_alerts_tenant ON deadline_alerts(tenant_id, at);

-- Delivery negotiations filed with the platform (WeChat deliverynegotiation).
CREATE TABLE delivery_negotiations (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    predict_at BIGINT NOT NULL,
    reason BIGINT NOT NULL,
    remark TEXT,
    outcome TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX delivery_negotiations_order ON delivery_negotiations(order_id);
