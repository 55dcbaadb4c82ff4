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

CREATE FUNCTION orders_list_after_sale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.order_id IS NOT NULL THEN
        UPDATE orders SET list_after_sale = CASE WHEN EXISTS (SELECT 1 FROM after_sales a
            WHERE a.order_id = OLD.order_id AND a.status IN
                ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'))
            THEN 1 ELSE 0 END
        WHERE id = OLD.order_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.order_id IS NOT NULL THEN
        UPDATE orders SET list_after_sale = CASE WHEN EXISTS (SELECT 1 FROM after_sales a
            WHERE a.order_id = NEW.order_id AND a.status IN
                ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'))
            THEN 1 ELSE 0 END
        WHERE id = NEW.order_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_list_after_sale AFTER INSERT OR DELETE OR UPDATE OF status, order_id
    ON after_sales FOR EACH ROW EXECUTE FUNCTION orders_list_after_sale();

-- The orders already stored.
UPDATE orders SET list_after_sale = 1 WHERE id IN (SELECT order_id FROM after_sales
    WHERE order_id IS NOT NULL AND status IN
        ('requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'));
