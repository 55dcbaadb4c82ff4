-- The radar looks at parcels still followed, disputed, or with an open alert. One query with an
-- OR of the three read every parcel of the tenant on each scan (no index answers an OR of an
-- open parcel, a disputed one and an EXISTS), so its cost grew with every parcel ever shipped.
-- It now reads three index ranges: open parcels (parcels_open), open alerts
-- (radar_alerts_queue), and disputed parcels, which this partial index holds.
CREATE INDEX parcels_disputed ON parcels(tenant_id, id) WHERE disputed_at IS NOT NULL;
