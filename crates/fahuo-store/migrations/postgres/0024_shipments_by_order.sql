-- An order's shipments (a tracking report's follow-up, write-back's checks) found by (tenant,
-- order). Migration 0023 gave SQLite this index and left PostgreSQL without it: the
-- follow-up was then one statement joining every accepted shipment of the tenant to the
-- parcel's orders, and PostgreSQL, on a fresh database before its statistics existed, used the
-- index on both sides of a nested loop (9 s a report). The follow-up is now two lookups, the
-- parcel's orders by its number, then each order's shipments (tracking::PARCEL_ORDERS,
-- ORDER_PARCEL_STATES, which leave the shipment's state to the caller). Without this index
-- PostgreSQL's plans for the second, made on a fresh database, read by (tenant) or (tenant,
-- state): every shipment of the tenant (tests/plans.rs checks the plans on both databases).
CREATE INDEX shipments_order_state ON shipments(tenant_id, order_id, state);
