-- Shipping back to the platforms (发货回传), number changes, pack verification (验货),
-- tracking-number imports and dropshipping (代发).

-- The foundation's placeholder is replaced: one row per order and parcel told to the platform.
DROP TABLE shipments;
CREATE TABLE shipments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    -- A fahuo package; NULL for a number from elsewhere (typed, imported, a supplier's).
    package_id BIGINT REFERENCES packages(id),
    carrier_code TEXT NOT NULL,
    tracking_no TEXT NOT NULL,
    -- [[order_line_id, units], ...] in this parcel; [] = every unit the order still owes.
    items_json TEXT NOT NULL,
    source TEXT NOT NULL,
    -- pending | succeeded | conflict | failed
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    error_code TEXT,
    last_error TEXT,
    -- The numbers the platform has instead, for a conflict.
    conflict_json TEXT,
    import_id BIGINT,
    supplier_id BIGINT,
    changes BIGINT NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    confirmed_at BIGINT
);
CREATE UNIQUE INDEX shipments_order_number ON shipments(order_id, tracking_no);
CREATE UNIQUE INDEX shipments_package_order ON shipments(package_id, order_id) WHERE package_id IS NOT NULL;
CREATE INDEX shipments_tenant_state ON shipments(tenant_id, state, id);
CREATE INDEX shipments_tracking ON shipments(tenant_id, tracking_no);

-- A change of a shipped number asked of the platform, kept whatever the platform answered.
CREATE TABLE shipment_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    shipment_id BIGINT NOT NULL REFERENCES shipments(id),
    old_carrier_code TEXT NOT NULL,
    old_tracking_no TEXT NOT NULL,
    new_carrier_code TEXT NOT NULL,
    new_tracking_no TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- pending | done | refused
    state TEXT NOT NULL,
    error TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX shipment_changes_shipment ON shipment_changes(shipment_id);

-- The merchant's own platform code for a carrier, where fahuo's table has none or it is wrong.
CREATE TABLE carrier_code_overrides (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    platform TEXT NOT NULL,
    carrier_code TEXT NOT NULL,
    platform_code TEXT NOT NULL,
    platform_name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, platform, carrier_code)
);

-- Pack verification in progress or done, per package: the scan counts survive a reload.
CREATE TABLE pack_checks (
    package_id BIGINT PRIMARY KEY REFERENCES packages(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    scanned_json TEXT NOT NULL,
    refused BIGINT NOT NULL DEFAULT 0,
    started_by TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
ALTER TABLE packages ADD COLUMN weighed_at BIGINT;

-- An uploaded tracking-number file: previewed, then applied in chunks (resumable).
CREATE TABLE shipment_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    file_name TEXT NOT NULL,
    format TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    -- previewed | applying | applied
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    applied_at BIGINT
);
CREATE INDEX shipment_imports_tenant ON shipment_imports(tenant_id, id);

CREATE TABLE shipment_import_rows (
    import_id BIGINT NOT NULL REFERENCES shipment_imports(id),
    row_no BIGINT NOT NULL,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_no TEXT NOT NULL,
    order_id BIGINT,
    carrier_code TEXT,
    tracking_no TEXT,
    sku TEXT,
    quantity BIGINT,
    -- [[order_line_id, units], ...] the row ships; [] = every unit still owed.
    items_json TEXT NOT NULL DEFAULT '[]',
    -- NULL when the row may be applied; else a stable code and the merchant's sentence.
    verdict_code TEXT,
    verdict_message TEXT,
    -- NULL until applied: queued (a shipment exists) | skipped
    outcome TEXT,
    shipment_id BIGINT,
    PRIMARY KEY (import_id, row_no)
);

-- Dropship suppliers (代发供应商) and which of their SKUs they ship.
CREATE TABLE suppliers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    contact TEXT,
    -- Part of every link's signature: rotating it revokes every link handed out.
    link_secret TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE supplier_skus (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    sku_id BIGINT NOT NULL REFERENCES skus(id),
    supplier_id BIGINT NOT NULL REFERENCES suppliers(id),
    PRIMARY KEY (tenant_id, sku_id)
);

-- Order lines a supplier ships.
CREATE TABLE dropship_lines (
    order_line_id BIGINT PRIMARY KEY REFERENCES order_lines(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    order_id BIGINT NOT NULL REFERENCES orders(id),
    supplier_id BIGINT NOT NULL REFERENCES suppliers(id),
    assigned_by TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    shipment_id BIGINT
);
CREATE INDEX dropship_lines_supplier ON dropship_lines(tenant_id, supplier_id, shipment_id);
CREATE INDEX dropship_lines_order ON dropship_lines(order_id);

-- Imports and scans find orders by the platform's number, whatever the shop.
CREATE INDEX orders_platform_order ON orders(tenant_id, platform_order_id);

-- Periodic work is enqueued only when no run of its kind is waiting or running.
CREATE INDEX jobs_kind_state ON jobs(kind, state);
