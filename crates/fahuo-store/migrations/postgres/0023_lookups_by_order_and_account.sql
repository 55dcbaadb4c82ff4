-- A carrier account's numbers in use (its quota) are counted per waybill request; this index
-- answers the count from itself (it still counts every number the account ever used).
--
-- The SQLite copy of this migration also indexes shipments by (tenant, order, state): SQLite
-- plans without statistics and read every accepted shipment of the tenant for one order's.
-- PostgreSQL plans with statistics and finds an order's shipments by shipments_order_number;
-- given that index before its statistics existed (a fresh database), it used it for a tracking
-- report's follow-up on both sides of a nested loop, 9 s a report at 2,000 parcels (the
-- fahuo-server tracking test), so PostgreSQL does not get it.
CREATE INDEX waybill_requests_account_state ON waybill_requests(account_id, state);
