-- The order list's tag filter follows a SKU's tags when the merchant changes them: every
-- order with a line of that SKU gets its `list_tags` rebuilt (0011 kept them only when lines
-- were written, so a tag added later never reached the orders already stored).
CREATE INDEX order_lines_sku ON order_lines(sku_id) WHERE sku_id IS NOT NULL;

CREATE FUNCTION orders_list_sku_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders o SET list_tags = (SELECT COALESCE(',' || string_agg(s.tags, ',') || ',', '')
        FROM order_lines l JOIN skus s ON s.id = l.sku_id
        WHERE l.order_id = o.id AND s.tags <> '')
    WHERE o.id IN (SELECT order_id FROM order_lines WHERE sku_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_sku_tags AFTER UPDATE OF tags ON skus
    FOR EACH ROW WHEN (NEW.tags IS DISTINCT FROM OLD.tags)
    EXECUTE FUNCTION orders_list_sku_tags();
