//! The job queue and outbox: everything that waits or retries is a row here.
//!
//! A job is `queued` until a worker claims it, `running` while its lease lasts, then `done`,
//! or back to `queued` with a later `run_at` after a failure, or `dead` (the dead letter) when
//! its attempts are used up. A worker proves it still owns a job by its `(locked_by, attempts)`
//! pair: once a lease has expired and another worker re-claimed the job, the first worker's
//! completion is refused, so a job's effects are committed by one worker only.
//!
//! Claiming: PostgreSQL uses `FOR UPDATE SKIP LOCKED`, so many workers on many nodes claim
//! disjoint rows; SQLite runs the same `UPDATE ... RETURNING` under `BEGIN IMMEDIATE`.
//!
//! Enqueue inside a business transaction (the outbox) with [`enqueue_job!`], so a change and
//! the work it implies are committed together or not at all. A `dedupe_key` makes enqueueing
//! idempotent.

use crate::{Db, Page, Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::{JobId, TenantId};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Result<JobState> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            other => return Err(StoreError::Corrupt(format!("job state {other:?}"))),
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub tenant_id: Option<TenantId>,
    /// At most one job ever exists per key (e.g. `ship:package:42`).
    pub dedupe_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &str, payload: serde_json::Value, run_at: DateTime<Utc>) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload,
            tenant_id: None,
            dedupe_key: None,
            run_at,
            max_attempts: 10,
        }
    }

    pub fn for_tenant(mut self, tenant: TenantId) -> Self {
        self.tenant_id = Some(tenant);
        self
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: JobId,
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub dedupe_key: Option<String>,
    pub state: JobState,
    pub run_at: DateTime<Utc>,
    /// Attempts started so far, including the current one while running.
    pub attempts: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    tenant_id: Option<i64>,
    kind: String,
    payload: String,
    dedupe_key: Option<String>,
    state: String,
    run_at: i64,
    attempts: i64,
    max_attempts: i64,
    locked_by: Option<String>,
    locked_until: Option<i64>,
    last_error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Job> {
        Ok(Job {
            id: JobId(r.id),
            tenant_id: r.tenant_id.map(TenantId),
            kind: r.kind,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
            dedupe_key: r.dedupe_key,
            state: JobState::parse(&r.state)?,
            run_at: from_ms(r.run_at),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            locked_by: r.locked_by,
            locked_until: opt_from_ms(r.locked_until),
            last_error: r.last_error,
            created_at: from_ms(r.created_at),
            finished_at: opt_from_ms(r.finished_at),
        })
    }
}

const JOB_COLUMNS: &str = "id, tenant_id, kind, payload, dedupe_key, state, run_at, attempts, \
    max_attempts, locked_by, locked_until, last_error, created_at, finished_at";

pub(crate) const INSERT_JOB: &str = "INSERT INTO jobs (tenant_id, kind, payload, dedupe_key, state, \
    run_at, attempts, max_attempts, created_at) VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7) \
    ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";

/// Enqueues a [`NewJob`] on a connection or transaction of either backend (the outbox).
/// Evaluates to `Option<i64>`: `None` when a job with the same dedupe key already exists.
#[macro_export]
#[doc(hidden)]
macro_rules! enqueue_job {
    ($conn:expr, $job:expr, $now:expr) => {{
        let job: &$crate::jobs::NewJob = $job;
        let id: Option<i64> = sqlx::query_scalar($crate::jobs::INSERT_JOB_SQL)
            .bind(job.tenant_id.map(|t| t.get()))
            .bind(&job.kind)
            .bind(job.payload.to_string())
            .bind(job.dedupe_key.as_deref())
            .bind(job.run_at.timestamp_millis())
            .bind(job.max_attempts)
            .bind(($now).timestamp_millis())
            .fetch_optional($conn)
            .await?;
        id
    }};
}

#[doc(hidden)]
pub const INSERT_JOB_SQL: &str = INSERT_JOB;

/// How much of one kind a worker may claim now: at most `at_most` more, while it already runs
/// `running` of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindShare<'a> {
    pub kind: &'a str,
    pub at_most: i64,
    pub running: i64,
}

/// What one attempt at a claimed job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Back to the queue at `at`; to the dead letter instead once its attempts are used up.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// To the dead letter now.
    Dead {
        error: String,
    },
}

/// A claimed job's attempt that ended at `at`, to be recorded by its worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub job: Job,
    pub outcome: Outcome,
    pub at: DateTime<Utc>,
}

/// Records a [`Finished`] attempt on a connection or transaction of either backend. Evaluates
/// to whether it was recorded: `false` when the worker no longer owns the job (lease lost).
macro_rules! record_outcome {
    ($conn:expr, $worker:expr, $finished:expr) => {{
        let f: &Finished = $finished;
        let (job, now) = (&f.job, f.at);
        let done = match &f.outcome {
            Outcome::Done => sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at = $1, locked_until = NULL \
                     WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
            )
            .bind(ms(now))
            .bind(job.id.get())
            .bind($worker)
            .bind(job.attempts)
            .execute($conn)
            .await?
            .rows_affected(),
            Outcome::Retry { error, .. } | Outcome::Dead { error } => {
                let error: String = error.chars().take(2000).collect();
                let retry = match &f.outcome {
                    Outcome::Retry { at, .. } if job.attempts < job.max_attempts => Some(*at),
                    _ => None,
                };
                sqlx::query(
                    "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, \
                         locked_until = NULL, finished_at = $4 \
                         WHERE id = $5 AND state = 'running' AND locked_by = $6 AND attempts = $7",
                )
                .bind(if retry.is_some() { "queued" } else { "dead" })
                .bind(retry.map(ms))
                .bind(&error)
                .bind(if retry.is_some() { None } else { Some(ms(now)) })
                .bind(job.id.get())
                .bind($worker)
                .bind(job.attempts)
                .execute($conn)
                .await?
                .rows_affected()
            }
        };
        done == 1
    }};
}

/// Counts of jobs per state, for `/metrics` and the console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// One job kind's queue at one instant, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub kind: String,
    /// Queued and due now.
    pub ready: i64,
    /// Claimed by a worker (its lease may have expired if the node died).
    pub running: i64,
    /// Queued for later: a retry waiting out its backoff, or work planned ahead.
    pub scheduled: i64,
    /// In the dead letter.
    pub dead: i64,
    /// How long the oldest ready job has been due, in milliseconds (0 when none is ready).
    pub oldest_ready_ms: i64,
}

impl Store {
    /// Enqueues a job; `None` if one with the same dedupe key exists already.
    pub async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> Result<Option<JobId>> {
        let id = on_db!(&self.db, pool => enqueue_job!(pool, job, now));
        Ok(id.map(JobId))
    }

    /// Whether a job of `kind` is waiting or running (periodic work is not stacked behind a
    /// slow run of itself).
    pub async fn has_unfinished_job(&self, kind: &str) -> Result<bool> {
        let found: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT id FROM jobs WHERE kind = $1 AND state IN ('queued', 'running') LIMIT 1")
            .bind(kind).fetch_optional(pool).await?);
        Ok(found.is_some())
    }

    /// Claims up to `limit` due jobs of the given kinds for `worker`, leasing each until
    /// `now + lease`, oldest first within each kind and kinds taking turns (see
    /// [`claim_jobs_fairly`](Self::claim_jobs_fairly)). Jobs whose lease expired are claimable
    /// again; those that have used all their attempts go to the dead letter instead.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[&str],
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let shares: Vec<KindShare> = kinds
            .iter()
            .map(|kind| KindShare {
                kind,
                at_most: limit,
                running: 0,
            })
            .collect();
        self.claim_jobs_fairly(worker, &shares, now, lease, limit)
            .await
    }

    /// Claims up to `limit` due jobs for `worker`, at most `at_most` of each kind, the kinds
    /// taking turns: a kind's first waiting job comes before any kind's second, counting the
    /// jobs of the kind the worker already runs (`running`). So a kind with thousands of jobs
    /// due at once (every retry after a jump of the clock) or with slow ones does not keep the
    /// others waiting; within a kind, the oldest due job comes first.
    pub async fn claim_jobs_fairly(
        &self,
        worker: &str,
        kinds: &[KindShare<'_>],
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let (_, jobs) = self
            .settle_and_claim(worker, &[], kinds, now, lease, limit)
            .await?;
        Ok(jobs)
    }

    /// Records the `finished` attempts of `worker`, then claims as
    /// [`claim_jobs_fairly`](Self::claim_jobs_fairly) does, in one transaction: a runner's
    /// round is one write however many of its jobs ended since the last one (on SQLite every
    /// write waits for the one write lock). Returns whether each attempt was recorded (`false`:
    /// the lease was lost) and the claimed jobs.
    pub async fn settle_and_claim(
        &self,
        worker: &str,
        finished: &[Finished],
        kinds: &[KindShare<'_>],
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<(Vec<bool>, Vec<Job>)> {
        let claim_any = limit > 0 && kinds.iter().any(|k| k.at_most > 0);
        if !claim_any && finished.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let skip_locked = match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let (recorded, rows): (Vec<bool>, Vec<JobRow>) = in_tx!(&self.db, tx => {
            let mut recorded = Vec::with_capacity(finished.len());
            for f in finished {
                recorded.push(record_outcome!(&mut *tx, worker, f));
            }
            let mut rows = Vec::new();
            if claim_any {
                // A job whose last lease expired after its final attempt is dead, not retried.
                sqlx::query(
                    "UPDATE jobs SET state = 'dead', finished_at = $1, \
                     last_error = COALESCE(last_error, 'lease expired on the last attempt') \
                     WHERE state = 'running' AND locked_until < $1 AND attempts >= max_attempts")
                    .bind(ms(now))
                    .execute(&mut *tx).await?;
                let claim = claim_statement(kinds.len(), skip_locked);
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(claim))
                    .bind(worker)
                    .bind(ms(now + lease))
                    .bind(ms(now))
                    .bind(limit);
                for k in kinds {
                    query = query.bind(k.kind).bind(k.running.max(0)).bind(k.at_most.max(0));
                }
                rows = query.fetch_all(&mut *tx).await?;
            }
            (recorded, rows)
        });
        let mut jobs: Vec<Job> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok((recorded, jobs))
    }

    /// Extends the lease of a job this worker still owns. `false` if it lost the job.
    pub async fn extend_lease(
        &self,
        job: &Job,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND state = 'running' \
                 AND locked_by = $3 AND attempts = $4")
            .bind(ms(until)).bind(job.id.get()).bind(worker).bind(job.attempts)
            .execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Marks a claimed job done. `false` if this worker no longer owns it (lease lost).
    pub async fn complete_job(&self, job: &Job, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        let finished = Finished {
            job: job.clone(),
            outcome: Outcome::Done,
            at: now,
        };
        Ok(on_db!(&self.db, pool => record_outcome!(pool, worker, &finished)))
    }

    /// Records a failed attempt: back to the queue at `retry_at`, or to the dead letter when
    /// `retry_at` is `None` or the attempts are used up. `false` if the lease was lost.
    pub async fn fail_job(
        &self,
        job: &Job,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let error = error.to_string();
        let outcome = match retry_at {
            Some(at) => Outcome::Retry { error, at },
            None => Outcome::Dead { error },
        };
        let finished = Finished {
            job: job.clone(),
            outcome,
            at: now,
        };
        Ok(on_db!(&self.db, pool => record_outcome!(pool, worker, &finished)))
    }

    pub async fn job(&self, id: JobId) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: JobRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.get()).fetch_one(pool).await?);
        row.try_into()
    }

    /// Jobs of a tenant in a state (e.g. the dead letter), newest first.
    pub async fn jobs(
        &self,
        tenant: TenantId,
        state: JobState,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Page<Job>> {
        let limit = limit.clamp(1, 500);
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND state = $2 \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<JobRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(state.as_str()).bind(after).bind(limit + 1)
            .fetch_all(pool).await?);
        let rows: Vec<Job> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_>>()?;
        Ok(Page::from_overfetch(rows, limit, |j| j.id.get()))
    }

    /// Puts a dead job of the tenant back in the queue with fresh attempts.
    pub async fn retry_dead_job(
        &self,
        tenant: TenantId,
        id: JobId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL \
                 WHERE id = $2 AND tenant_id = $3 AND state = 'dead'")
            .bind(ms(now)).bind(id.get()).bind(tenant.get())
            .execute(pool).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Counts of all jobs per state (every tenant: for operators and `/metrics`).
    pub async fn job_counts(&self) -> Result<JobCounts> {
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .fetch_all(pool).await?);
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            match JobState::parse(&state)? {
                JobState::Queued => counts.queued = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Dead => counts.dead = n,
            }
        }
        Ok(counts)
    }

    /// Every job of `kind` waiting to run (due or not), every tenant, oldest first.
    pub async fn queued_jobs(&self, kind: &str) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND state = 'queued' ORDER BY id"
        );
        let rows: Vec<JobRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(kind).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every job running right now, with the worker holding its lease (every tenant): what
    /// other nodes take over once those leases expire if their worker dies.
    pub async fn running_jobs(&self) -> Result<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'running' ORDER BY id");
        let rows: Vec<JobRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Finished jobs per worker that finished them (a done job keeps its last lease holder),
    /// every tenant: how the work was shared between nodes.
    pub async fn done_jobs_per_worker(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(Option<String>, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT locked_by, COUNT(*) FROM jobs WHERE state = 'done' \
                 GROUP BY locked_by ORDER BY locked_by")
            .fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(worker, n)| (worker.unwrap_or_default(), n))
            .collect())
    }

    /// Every kind with unfinished or dead jobs, with its counts at `now` (kinds with only
    /// finished jobs are absent). Reads the `(state, run_at)` index, not the done rows.
    pub async fn queue_stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>> {
        type Row = (String, i64, i64, i64, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT kind, \
                   SUM(CASE WHEN state = 'queued' AND run_at <= $1 THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN state = 'queued' AND run_at > $1 THEN 1 ELSE 0 END), \
                   SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), \
                   MIN(CASE WHEN state = 'queued' AND run_at <= $1 THEN run_at END) \
                 FROM jobs WHERE state IN ('queued', 'running', 'dead') \
                 GROUP BY kind ORDER BY kind")
            .bind(ms(now)).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(kind, ready, running, scheduled, dead, oldest)| QueueStats {
                    kind,
                    ready,
                    running,
                    scheduled,
                    dead,
                    oldest_ready_ms: oldest.map_or(0, |t| (ms(now) - t).max(0)),
                },
            )
            .collect())
    }

    /// Deletes finished jobs older than `before` (their dedupe keys are released with them).
    pub async fn purge_done_jobs(&self, before: DateTime<Utc>) -> Result<u64> {
        let n = on_db!(&self.db, pool => sqlx::query(
                "DELETE FROM jobs WHERE state = 'done' AND finished_at < $1")
            .bind(ms(before)).execute(pool).await?.rows_affected());
        Ok(n)
    }
}

/// The fair claim's statement for `kinds` kinds (binds: worker, lease end, now, limit, then
/// kind, running count and share of each kind), `skip_locked` being PostgreSQL's row-lock
/// clause or nothing.
fn claim_statement(kinds: usize, skip_locked: &str) -> String {
    // One arm per kind, each reading only that kind's due jobs (oldest first, as many as it
    // may take), numbered from the kind's running count: the turn its jobs come in. Queued
    // and lapsed jobs are read apart, each a range of the (kind, state, run_at) index: with
    // the two states OR-ed, the planner read every job of the kind, the done ones included,
    // and sorted them, on every claim.
    //
    // Every kind gets its arm (a kind at its share reads nothing: LIMIT 0) and the counts
    // are bound, not written into the text, so a runner uses one statement for all its
    // claims. With the counts as literals, each mix of running jobs was a statement of its
    // own, and SQLite's per-connection statement cache filled with hundreds of these large
    // programs: most of the process's heap in a pipeline run.
    let arms: Vec<String> = (0..kinds)
        .map(|i| {
            let (kind, running, at_most) = (5 + 3 * i, 6 + 3 * i, 7 + 3 * i);
            format!(
                "SELECT id, run_at, ${running} + ROW_NUMBER() OVER (ORDER BY run_at, id) AS turn \
                 FROM (SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE kind = ${kind} \
                 AND state = 'queued' AND run_at <= $3 AND attempts < max_attempts \
                 ORDER BY run_at, id LIMIT ${at_most}{skip_locked}) q{i} \
                 UNION ALL SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE kind = ${kind} \
                 AND state = 'running' AND locked_until < $3 AND attempts < max_attempts \
                 ORDER BY run_at, id LIMIT ${at_most}{skip_locked}) r{i} \
                 ORDER BY run_at, id LIMIT ${at_most}) k{i}",
            )
        })
        .collect();
    format!(
        "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, \
         attempts = attempts + 1 WHERE id IN (SELECT id FROM ({}) due \
         ORDER BY turn, run_at, id LIMIT $4) RETURNING {JOB_COLUMNS}",
        arms.join(" UNION ALL ")
    )
}
