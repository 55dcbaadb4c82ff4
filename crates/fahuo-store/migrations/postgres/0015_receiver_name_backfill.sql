-- Orders stored before 0011 have no receiver-name hash (computing it needs the PII key, which
-- SQL has not): `Store::migrate` fills them in after the migrations. This index holds only
-- those orders, so that the check at every start costs nothing once they are done.
CREATE INDEX orders_receiver_name_missing ON orders(id) WHERE receiver_name_hash IS NULL;
