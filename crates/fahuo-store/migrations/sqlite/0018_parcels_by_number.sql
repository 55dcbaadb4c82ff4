-- A tracking push names a parcel by its number (the carrier only sometimes): the lookup
-- `tenant_id = ? AND tracking_no = ?` could use only the tenant part of the unique
-- (tenant_id, carrier_code, tracking_no) index and read every parcel of the tenant, once per
-- push — 46,000 pushes over 4,800 parcels in a 10,000-order run.
CREATE INDEX parcels_number ON parcels(tenant_id, tracking_no);
