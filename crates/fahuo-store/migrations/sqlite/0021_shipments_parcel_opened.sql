-- The tracking sweep opens a parcel for every accepted shipment number that has none. It read
-- every accepted shipment ever, and probed parcels for each, once a minute inside a write
-- transaction: 32,635 shipments when a 100,000-order run was stopped half-way, and growing with
-- every day of history. Now each accepted shipment is looked at once: the sweep marks the ones whose
-- number has a parcel, success and a number change clear the mark, and this partial index
-- holds exactly the accepted shipments not yet looked at.
ALTER TABLE shipments ADD COLUMN parcel_opened BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE shipments SET parcel_opened = TRUE
 WHERE state = 'succeeded' AND EXISTS (SELECT 1 FROM parcels p
   WHERE p.tenant_id = shipments.tenant_id AND p.carrier_code = shipments.carrier_code
   AND p.tracking_no = shipments.tracking_no);
CREATE INDEX shipments_parcel_unopened ON shipments(id) WHERE state = 'succeeded' AND NOT parcel_opened;
