-- Dropshipping (代发): lines a person took back from their supplier. The SKU rule does not
-- assign such a line again when the order is reviewed once more; assigning it by hand does.
CREATE TABLE dropship_kept (
    order_line_id BIGINT PRIMARY KEY REFERENCES order_lines(id),
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    kept_by TEXT NOT NULL,
    kept_at BIGINT NOT NULL
);
