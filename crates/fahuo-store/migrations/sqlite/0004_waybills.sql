-- Carrier accounts (快递/电子面单账号) the merchant binds: one service (kuaidi100, kdniao,
-- wechat_ewaybill), one carrier. Among a carrier's accounts, the lowest priority is asked first
-- and the next one takes over when it fails or is too slow.
CREATE TABLE carrier_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    carrier_code TEXT NOT NULL,
    base_url TEXT NOT NULL,
    -- WeChat e-waybill: the connected shop whose token issues the numbers.
    shop_id BIGINT REFERENCES shops(id),
    credentials_enc BLOB NOT NULL,
    priority BIGINT NOT NULL DEFAULT 0,
    -- The sender (发件人) printed on the labels and sent to the carrier; the sender's address is
    -- the shipping warehouse's.
    sender_name TEXT NOT NULL,
    sender_phone TEXT NOT NULL,
    -- Numbers bought, for services that report no balance (fahuo counts them down).
    quota BIGINT,
    -- The balance the service last reported, and when.
    reported_balance BIGINT,
    balance_checked_at BIGINT,
    -- Warn when fewer numbers than this are left.
    low_balance_threshold BIGINT NOT NULL DEFAULT 200,
    latency_budget_ms BIGINT NOT NULL DEFAULT 800,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX carrier_accounts_carrier ON carrier_accounts(tenant_id, carrier_code, priority);

-- Every number asked for, stored with its request key before the first call: a retry after a
-- timeout or a crash asks again under the same key and gets the same number back.
-- state: pending (asked, no answer yet) | issued | failed (refused: no number exists) |
-- abandoned (may hold a number nobody uses: to recycle) | recycled.
CREATE TABLE waybill_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    package_id BIGINT NOT NULL REFERENCES packages(id),
    account_id BIGINT NOT NULL REFERENCES carrier_accounts(id),
    request_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    tracking_no TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one open request per package and account.
CREATE UNIQUE INDEX waybill_requests_open ON waybill_requests(package_id, account_id)
    WHERE state IN ('pending', 'issued');
CREATE INDEX waybill_requests_abandoned ON waybill_requests(state, updated_at);

-- At most one live number per package, whatever races.
CREATE UNIQUE INDEX waybills_live_package ON waybills(package_id) WHERE cancelled_at IS NULL;
ALTER TABLE waybills ADD COLUMN account_id BIGINT REFERENCES carrier_accounts(id);
ALTER TABLE waybills ADD COLUMN request_key TEXT;

ALTER TABLE packages ADD COLUMN carrier_code TEXT;
-- Labels printed so far (the first print is 1; a label printed again says 补打 N-1).
ALTER TABLE packages ADD COLUMN print_count BIGINT NOT NULL DEFAULT 0;

-- A print: its receipt lists each label in page order with the reprint number it carried.
CREATE TABLE print_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    -- The client's Idempotency-Key: a double click returns the first job.
    idempotency_key TEXT,
    label_size TEXT NOT NULL,
    label_count BIGINT NOT NULL,
    reprints BIGINT NOT NULL,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE print_job_items (
    job_id BIGINT NOT NULL REFERENCES print_jobs(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    seq BIGINT NOT NULL,
    package_id BIGINT NOT NULL REFERENCES packages(id),
    tracking_no TEXT NOT NULL,
    -- 0 for the first print, N for the Nth reprint.
    reprint BIGINT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The merchant's carrier selection settings (rate tables, rules, goal, shop defaults) per
-- origin warehouse, as the JSON of fahuo-carriers' RuleSet (validated before it is stored).
CREATE TABLE carrier_rule_sets (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    warehouse_id BIGINT NOT NULL REFERENCES warehouses(id),
    rule_set_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, warehouse_id)
);

-- What a shop's labels carry besides the waybill: the merchant's logo (PNG) and a promo line.
ALTER TABLE shops ADD COLUMN label_logo_png BLOB;
ALTER TABLE shops ADD COLUMN label_promo TEXT;
-- Product tags that change how a package ships (cold_chain, fragile, liquid, battery, bulky,
-- or the merchant's own), comma-separated: label marks and carrier rules read them.
ALTER TABLE skus ADD COLUMN tags TEXT NOT NULL DEFAULT '';
-- Where a SKU sits in a warehouse (库位, e.g. A-03-2): pick lists are grouped by it.
ALTER TABLE stock ADD COLUMN bin TEXT;
