-- A carrier account's numbers in use (against its quota: requests pending, issued or
-- abandoned) kept as a count on the account. It was counted over waybill_requests on every
-- read of the accounts, and the waybill step reads them for every package it numbers (and
-- allocation for every order): one pass over every number the account ever issued each time,
-- 3 ms at 33,000 numbers and growing, so numbering N packages cost O(N²). The triggers keep
-- the count whatever statement changes a request (insert, state or account, delete).
ALTER TABLE carrier_accounts ADD COLUMN numbers_held BIGINT NOT NULL DEFAULT 0;
UPDATE carrier_accounts SET numbers_held = (SELECT COUNT(*) FROM waybill_requests r
    WHERE r.account_id = carrier_accounts.id AND r.state IN ('pending', 'issued', 'abandoned'));

CREATE TRIGGER waybill_requests_held_insert AFTER INSERT ON waybill_requests
WHEN NEW.state IN ('pending', 'issued', 'abandoned') BEGIN
    UPDATE carrier_accounts SET numbers_held = numbers_held + 1 WHERE id = NEW.account_id;
END;

CREATE TRIGGER waybill_requests_held_update AFTER UPDATE OF state, account_id ON waybill_requests
WHEN NEW.account_id IS NOT OLD.account_id
    OR (NEW.state IN ('pending', 'issued', 'abandoned')) IS NOT (OLD.state IN ('pending', 'issued', 'abandoned'))
BEGIN
    UPDATE carrier_accounts SET numbers_held = numbers_held - 1
        WHERE id = OLD.account_id AND OLD.state IN ('pending', 'issued', 'abandoned');
    UPDATE carrier_accounts SET numbers_held = numbers_held + 1
        WHERE id = NEW.account_id AND NEW.state IN ('pending', 'issued', 'abandoned');
END;

CREATE TRIGGER waybill_requests_held_delete AFTER DELETE ON waybill_requests
WHEN OLD.state IN ('pending', 'issued', 'abandoned') BEGIN
    UPDATE carrier_accounts SET numbers_held = numbers_held - 1 WHERE id = OLD.account_id;
END;
