-- The order list's tag filter follows a SKU's tags when the merchant changes them: every
-- order with a line of that SKU gets its `list_tags` rebuilt (0011 kept them only when lines
-- were written, so a tag added later never reached the orders already stored).
CREATE INDEX order_lines_sku ON order_lines(sku_id) WHERE sku_id IS NOT NULL;

CREATE TRIGGER orders_list_sku_tags AFTER UPDATE OF tags ON skus
WHEN NEW.tags IS NOT OLD.tags BEGIN
    UPDATE orders SET list_tags = (SELECT COALESCE(',' || group_concat(s.tags, ',') || ',', '')
        FROM order_lines l JOIN skus s ON s.id = l.sku_id
        WHERE l.order_id = orders.id AND s.tags <> '')
    WHERE id IN (SELECT order_id FROM order_lines WHERE sku_id = NEW.id);
END;
