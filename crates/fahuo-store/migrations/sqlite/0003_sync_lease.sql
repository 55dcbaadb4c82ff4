-- One sync per shop at a time, across every node: a run holds a lease on the shop's sync
-- state and renews it after each window; a run that finds the lease held by another skips.
ALTER TABLE shop_sync_state ADD COLUMN lease_owner TEXT;
-- When the lease lapses (ms), so that a node that died mid-sync does not block the shop.
ALTER TABLE shop_sync_state ADD COLUMN lease_until BIGINT;
