-- Nothing for SQLite: it has had shipments_order_state since migration 0023 (see the
-- PostgreSQL copy of this migration). Kept so that both databases count the same migrations.
SELECT 1;
