-- Low-stock alerts (低库存预警): a stock row is listed when its available stock (on hand -
-- reserved - safety) is at or below its threshold. 0 switches the alert off for the row.
ALTER TABLE stock ADD COLUMN low_stock_threshold BIGINT NOT NULL DEFAULT 0;
