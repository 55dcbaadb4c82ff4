-- Two reads that went through a whole table once per package, found by asking the plan of
-- every statement of a pipeline run against the database of a 100,000-order run:
--
-- Opening a waybill request counts the package's earlier requests with that account (its
-- request key is numbered by them); the unique index on (package_id, account_id) holds only
-- the open ones, so the count read every request ever made, inside the write transaction,
-- once per package.
CREATE INDEX waybill_requests_package ON waybill_requests(package_id, account_id);
-- The write-back sweep looks for printed or packed packages without a shipment; packages had
-- no index on their state, so each sweep read every package, the shipped ones included.
CREATE INDEX packages_state ON packages(state, id);
