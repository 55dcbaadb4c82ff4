-- A carrier account's numbers in use (against its quota: requests pending, issued or
-- abandoned) kept as a count on the account. It was counted over waybill_requests on every
-- read of the accounts, and the waybill step reads them for every package it numbers (and
-- allocation for every order): one pass over every number the account ever issued each time,
-- 3 ms at 33,000 numbers and growing, so numbering N packages cost O(N²). The trigger keeps
-- the count whatever statement changes a request (insert, state or account, delete).
ALTER TABLE carrier_accounts ADD COLUMN numbers_held BIGINT NOT NULL DEFAULT 0;
UPDATE carrier_accounts SET numbers_held = (SELECT COUNT(*) FROM waybill_requests r
    WHERE r.account_id = carrier_accounts.id AND r.state IN ('pending', 'issued', 'abandoned'));

CREATE FUNCTION waybill_requests_held() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.state IN ('pending', 'issued', 'abandoned') THEN
            UPDATE carrier_accounts SET numbers_held = numbers_held - 1 WHERE id = OLD.account_id;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF NEW.state IN ('pending', 'issued', 'abandoned') THEN
            UPDATE carrier_accounts SET numbers_held = numbers_held + 1 WHERE id = NEW.account_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER waybill_requests_held AFTER INSERT OR DELETE ON waybill_requests
    FOR EACH ROW EXECUTE FUNCTION waybill_requests_held();
CREATE TRIGGER waybill_requests_held_change AFTER UPDATE OF state, account_id ON waybill_requests
    FOR EACH ROW WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id
        OR (NEW.state IN ('pending', 'issued', 'abandoned'))
            IS DISTINCT FROM (OLD.state IN ('pending', 'issued', 'abandoned')))
    EXECUTE FUNCTION waybill_requests_held();
