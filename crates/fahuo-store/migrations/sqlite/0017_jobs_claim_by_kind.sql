-- Claiming reads each kind's due jobs oldest first (`kind = ? AND state = 'queued' AND
-- run_at <= now ORDER BY run_at`). With (kind, state) alone every claim read and sorted all of a
-- kind's queued jobs, thousands on a busy night, many times a second; with run_at in the index
-- it reads only the few it takes. (kind, state) lookups use the new index's prefix.
CREATE INDEX jobs_kind_state_run ON jobs(kind, state, run_at);
DROP INDEX jobs_kind_state;
