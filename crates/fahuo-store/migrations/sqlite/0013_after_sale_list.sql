-- The console's 售后 tab as an index range, like the state tabs (migration 0011): whether an
-- order has an open after-sale lives on the order, kept by the triggers below whoever writes
-- after_sales. Before, the tab collected every open after-sale's order and sorted them all,
-- which at a million orders took 300–650 ms; now a page is the next entries of a small
-- partial index, in the list's sort.
--
-- "Open" is the same list as fahuo_store::orders::OPEN_AFTER_SALE (a test checks it).
ALTER TABLE orders ADD COLUMN list_after_sale SMALLINT NOT NULL DEFAULT 0;

-- The API's default order (newest first, by id) within a tenant, as one index range: SQLite
-- otherwise sorted every order of the tenant to find a page (78 ms at a million orders, and
-- 375 ms for a window of rare filters).
CREATE INDEX orders_list_newest ON orders(tenant_id, id);

CREATE INDEX orders_after_sale_deadline ON orders(tenant_id, list_deadline, id)
    WHERE list_after_sale = 1;
CREATE INDEX orders_after_sale_created ON orders(tenant_id, created_at, id)
    WHERE list_after_sale = 1;
CREATE INDEX orders_after_sale_newest ON orders(tenant_id, id)
    WHERE list_after_sale = 1;
CREATE INDEX orders_after_sale_shop_deadline ON orders(tenant_id, shop_id, list_deadline, id)
    WHERE list_after_sale = 1;
CREATE INDEX orders_after_sale_shop_created ON orders(tenant_id, shop_id, created_at, id)
    WHERE list_after_sale = 1;

CREATE TRIGGER orders_list_after_sale_insert AFTER INSERT ON after_sales
    WHEN NEW.order_id IS NOT NULL BEGIN
    UPDATE orders SET list_after_sale = EXISTS (SELECT 1 FROM after_sales a
        WHERE a.order_id = NEW.order_id AND a.status IN
            ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'))
    WHERE id = NEW.order_id;
END;
CREATE TRIGGER orders_list_after_sale_update AFTER UPDATE OF status, order_id ON after_sales BEGIN
    UPDATE orders SET list_after_sale = EXISTS (SELECT 1 FROM after_sales a
        WHERE a.order_id = orders.id AND a.status IN
            ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'))
    WHERE id IN (OLD.order_id, NEW.order_id);
END;
CREATE TRIGGER orders_list_after_sale_delete AFTER DELETE ON after_sales
    WHEN OLD.order_id IS NOT NULL BEGIN
    UPDATE orders SET list_after_sale = EXISTS (SELECT 1 FROM after_sales a
        WHERE a.order_id = OLD.order_id AND a.status IN
            ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'))
    WHERE id = OLD.order_id;
END;

-- The orders already stored.
UPDATE orders SET list_after_sale = 1 WHERE id IN (SELECT order_id FROM after_sales
    WHERE order_id IS NOT NULL AND status IN
        ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'));
