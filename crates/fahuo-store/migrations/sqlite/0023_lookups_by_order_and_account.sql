-- Two reads whose cost grew with every order shipped, found by comparing each statement's mean
-- time in 2,000- and 8,000-order pipeline runs (BENCHMARKS.md, "Pipeline"). Planned without
-- statistics (fahuo never runs ANALYZE on SQLite), both took an index that answers part of the
-- WHERE clause and filtered every row it held:
--
-- An order's accepted shipments (a tracking report's order follow-up, write-back's checks) were
-- read through shipments_tenant_state, i.e. every accepted shipment of the tenant, because it
-- matches two equalities (tenant, state) against the one (order) of shipments_order_number.
CREATE INDEX shipments_order_state ON shipments(tenant_id, order_id, state);
-- A carrier account's numbers in use (its quota) were counted through waybill_requests_abandoned,
-- i.e. every issued request of every account, reading each row for its account. This index
-- answers the count from itself; it still counts every number the account ever used.
CREATE INDEX waybill_requests_account_state ON waybill_requests(account_id, state);
