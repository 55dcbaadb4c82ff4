-- The console's order list (订单) over a million orders: every column it filters or sorts on
-- lives on `orders` itself, so that each list query is one range scan of one index.
--
-- list_tab: the tab an order's state belongs to (see fahuo_store::orders::ListTab):
--   new → review (待审核); on_hold → exception (异常); approved, allocated, waybill_issued →
--   print (待打单); printed, packed → ship (待发货); shipped, in_transit, delivered, returned →
--   shipped (已发货); cancelled, refunded → cancelled (已取消). The 售后 tab is not a state: it
--   is "has an open after-sale" and is answered from after_sales_open below.
ALTER TABLE orders ADD COLUMN list_tab TEXT GENERATED ALWAYS AS (CASE state
    WHEN 'new' THEN 'review'
    WHEN 'on_hold' THEN 'exception'
    WHEN 'approved' THEN 'print' WHEN 'allocated' THEN 'print' WHEN 'waybill_issued' THEN 'print'
    WHEN 'printed' THEN 'ship' WHEN 'packed' THEN 'ship'
    WHEN 'cancelled' THEN 'cancelled' WHEN 'refunded' THEN 'cancelled'
    ELSE 'shipped' END) STORED;
-- The deadline sort key: ship_by while the order still has to leave, else "never"
-- (9e15 ms); so the deadline sort puts the open orders first, soonest first, and the deadline
-- risk filters are ranges of it that never meet a shipped or cancelled order.
ALTER TABLE orders ADD COLUMN list_deadline BIGINT GENERATED ALWAYS AS (CASE
    WHEN state IN ('new', 'on_hold', 'approved', 'allocated', 'waybill_issued', 'printed', 'packed')
    THEN COALESCE(ship_by, 9000000000000000) ELSE 9000000000000000 END) STORED;
-- The carrier and warehouse of the order's latest package / waybill / shipment, and the tags
-- of its SKUs (",fragile,cold_chain,"), kept by the triggers below whoever writes those rows.
ALTER TABLE orders ADD COLUMN list_carrier TEXT;
ALTER TABLE orders ADD COLUMN list_warehouse_id BIGINT;
ALTER TABLE orders ADD COLUMN list_tags TEXT NOT NULL DEFAULT '';
-- Keyed hash (HMAC, purpose "receiver_name") of the normalised full receiver name, for an
-- exact-match name search; the name itself stays encrypted in receiver_enc.
ALTER TABLE orders ADD COLUMN receiver_name_hash TEXT;

CREATE INDEX orders_list_tab_deadline ON orders(tenant_id, list_tab, list_deadline, id);
CREATE INDEX orders_list_tab_created ON orders(tenant_id, list_tab, created_at, id);
CREATE INDEX orders_list_deadline ON orders(tenant_id, list_deadline, id);
CREATE INDEX orders_list_created ON orders(tenant_id, created_at, id);
CREATE INDEX orders_list_shop_deadline ON orders(tenant_id, shop_id, list_tab, list_deadline, id);
CREATE INDEX orders_list_shop_created ON orders(tenant_id, shop_id, list_tab, created_at, id);
CREATE INDEX orders_receiver_name ON orders(tenant_id, receiver_name_hash);
CREATE INDEX after_sales_open ON after_sales(tenant_id, order_id)
    WHERE status IN ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding');

CREATE FUNCTION orders_list_package_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders o SET list_warehouse_id = p.warehouse_id,
        list_carrier = COALESCE(p.carrier_code, o.list_carrier)
    FROM packages p WHERE p.id = NEW.package_id AND o.id = NEW.order_id;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_package_line AFTER INSERT ON package_lines
    FOR EACH ROW EXECUTE FUNCTION orders_list_package_line();

CREATE FUNCTION orders_list_package() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET list_warehouse_id = NEW.warehouse_id,
        list_carrier = COALESCE(NEW.carrier_code, list_carrier)
    WHERE id IN (SELECT order_id FROM package_lines WHERE package_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_package AFTER UPDATE OF carrier_code, warehouse_id ON packages
    FOR EACH ROW EXECUTE FUNCTION orders_list_package();

CREATE FUNCTION orders_list_waybill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET list_carrier = NEW.carrier_code
    WHERE id IN (SELECT order_id FROM package_lines WHERE package_id = NEW.package_id);
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_waybill AFTER INSERT ON waybills
    FOR EACH ROW EXECUTE FUNCTION orders_list_waybill();

CREATE FUNCTION orders_list_shipment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET list_carrier = NEW.carrier_code WHERE id = NEW.order_id;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_shipment AFTER INSERT ON shipments
    FOR EACH ROW EXECUTE FUNCTION orders_list_shipment();
CREATE TRIGGER orders_list_shipment_carrier AFTER UPDATE OF carrier_code ON shipments
    FOR EACH ROW EXECUTE FUNCTION orders_list_shipment();

CREATE FUNCTION orders_list_line_tags() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET list_tags = (SELECT COALESCE(',' || string_agg(s.tags, ',') || ',', '')
        FROM order_lines l JOIN skus s ON s.id = l.sku_id
        WHERE l.order_id = NEW.order_id AND s.tags <> '')
    WHERE id = NEW.order_id;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_line_insert AFTER INSERT ON order_lines
    FOR EACH ROW EXECUTE FUNCTION orders_list_line_tags();
CREATE TRIGGER orders_list_line_sku AFTER UPDATE OF sku_id ON order_lines
    FOR EACH ROW EXECUTE FUNCTION orders_list_line_tags();

-- The orders already stored: their carrier, warehouse and tags as the triggers would have
-- kept them. (The name hash needs the key: orders stored before this migration are found by
-- name once they are next updated or edited.)
UPDATE orders SET list_carrier = (SELECT s.carrier_code FROM shipments s
        WHERE s.order_id = orders.id ORDER BY s.id DESC LIMIT 1)
    WHERE EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = orders.id);
UPDATE orders SET
    list_warehouse_id = (SELECT p.warehouse_id FROM package_lines pl JOIN packages p ON p.id = pl.package_id
        WHERE pl.order_id = orders.id ORDER BY p.id DESC LIMIT 1),
    list_carrier = COALESCE(list_carrier, (SELECT p.carrier_code FROM package_lines pl
        JOIN packages p ON p.id = pl.package_id
        WHERE pl.order_id = orders.id AND p.carrier_code IS NOT NULL ORDER BY p.id DESC LIMIT 1))
    WHERE EXISTS (SELECT 1 FROM package_lines pl WHERE pl.order_id = orders.id);
UPDATE orders SET list_tags = (SELECT COALESCE(',' || string_agg(s.tags, ',') || ',', '')
        FROM order_lines l JOIN skus s ON s.id = l.sku_id
        WHERE l.order_id = orders.id AND s.tags <> '')
    WHERE EXISTS (SELECT 1 FROM order_lines l JOIN skus s ON s.id = l.sku_id
        WHERE l.order_id = orders.id AND s.tags <> '');
