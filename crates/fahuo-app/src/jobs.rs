//! The job runner: claims due jobs from the database, runs their handlers, retries with
//! backoff, and renews leases while a job runs. Any number of runners, on any number of nodes,
//! may share one database; the store guarantees a job is owned by one runner at a time.
//!
//! Periodic work (syncs, polls, clean-up) is enqueued by every runner with a dedupe key per
//! time slot, so each slot's job exists once however many nodes are up.
//!
//! A runner works in rounds: each records the outcomes of the jobs that ended since the last
//! one and claims new jobs for its free workers, in one transaction.

use crate::App;
use chrono::Duration;
use fahuo_store::jobs::{Finished, Job, KindShare, NewJob, Outcome};
use futures::FutureExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};

/// How a job attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (network, 5xx, rate limit).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed as it is (bad payload, refused by the platform): dead letter now.
    #[error("{0}")]
    Permanent(String),
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(App, Job) -> JobFuture + Send + Sync>;

struct Periodic {
    kind: String,
    every: Duration,
    /// The last slot this runner saw enqueued (by itself or another node): until the clock
    /// reaches the next slot there is nothing to ask the database. Without it every round of a
    /// busy runner (every few milliseconds) read and wrote the jobs table once per periodic
    /// kind, and on SQLite each of those writes took the one write lock.
    settled_slot: AtomicI64,
}

/// One node's job runner.
pub struct JobRunner {
    app: App,
    worker: String,
    handlers: HashMap<String, Handler>,
    periodic: Vec<Periodic>,
    permits: Arc<Semaphore>,
    /// Jobs running now, per kind.
    running: Arc<Mutex<HashMap<String, i64>>>,
    /// Attempts that ended and are not recorded yet: the next round records them in its claim's
    /// transaction (a job's lease outlasts the wait by far).
    finished: Arc<Mutex<Vec<Finished>>>,
    /// Told when a job ends, so that an idle runner claims again without waiting its poll.
    job_ended: Arc<Notify>,
}

/// The most workers one kind may hold: all but a quarter of them, so that a kind with a flood
/// of due jobs, or slow ones (a gateway that makes every attempt wait), always leaves room for
/// the others.
fn kind_share(concurrency: usize) -> i64 {
    let all = concurrency.max(1) as i64;
    (all - all / 4).max(1)
}

/// When to try a failed job again: exponential from 5 s, capped at one hour, spread by a
/// deterministic jitter so that jobs failing together do not retry together.
pub fn backoff(job: &Job) -> Duration {
    let exp = (job.attempts - 1).clamp(0, 10) as u32;
    let base = (5i64 * 2i64.pow(exp)).min(3600);
    let jitter_pct = (job.id.get().wrapping_mul(7919) + job.attempts * 104_729).rem_euclid(20);
    Duration::milliseconds(base * 1000 * (100 + jitter_pct) / 100)
}

impl JobRunner {
    /// A runner named after its node (shown in `locked_by`), with the built-in maintenance job.
    pub fn new(app: App, node: &str) -> JobRunner {
        let worker = format!("{node}-{}", &fahuo_store::pii::random_token(4));
        let permits = Arc::new(Semaphore::new(app.settings().job_concurrency.max(1)));
        JobRunner {
            app,
            worker,
            handlers: HashMap::new(),
            periodic: Vec::new(),
            permits,
            running: Arc::default(),
            finished: Arc::default(),
            job_ended: Arc::default(),
        }
        .register("maintenance.purge", |app, _job| {
            async move { purge(&app).await }.boxed()
        })
        .every("maintenance.purge", Duration::hours(1))
    }

    /// A node's full runner: every background job fahuo has (sync, review, deadlines, printing
    /// clean-up, batch imports, write-back, after-sales, tracking, notices, radar) on the
    /// intervals in the app's settings. `fahuo serve` and the headless demo run this one set.
    pub fn with_all_jobs(app: App, node: &str) -> JobRunner {
        let settings = app.settings().clone();
        let seconds = |s: i64| Duration::seconds(s.max(1));
        let sync_every = seconds(settings.sync_every_seconds);
        let runner = crate::intake::register(JobRunner::new(app, node), sync_every);
        let runner = crate::printing::register(runner, Duration::minutes(5));
        let runner = crate::review::register(runner, seconds(settings.review_every_seconds));
        let runner = crate::deadlines::register(runner, seconds(settings.deadline_scan_seconds));
        let runner = crate::batch::register(runner);
        let runner = crate::shipping::register(runner);
        let runner = crate::aftersales::register(runner, sync_every);
        let runner = crate::tracking::register(runner);
        let runner = crate::tracking::notify::register(runner);
        crate::tracking::radar::register(runner, seconds(settings.radar_scan_seconds))
    }

    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Registers the handler of a job kind. Handlers must be idempotent: a job whose node dies
    /// after the work but before completing is run again elsewhere.
    pub fn register<F>(mut self, kind: &str, handler: F) -> JobRunner
    where
        F: Fn(App, Job) -> JobFuture + Send + Sync + 'static,
    {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    /// Enqueues `kind` once per `every` (a registered kind).
    pub fn every(mut self, kind: &str, every: Duration) -> JobRunner {
        self.periodic.push(Periodic {
            kind: kind.to_string(),
            every,
            settled_slot: AtomicI64::new(i64::MIN),
        });
        self
    }

    async fn enqueue_periodic(&self) -> Result<(), crate::AppError> {
        let now = self.app.now();
        for p in &self.periodic {
            let slot = now.timestamp_millis() / p.every.num_milliseconds().max(1);
            if p.settled_slot.load(Ordering::Relaxed) == slot {
                continue;
            }
            // A slow run (a review pass over a large backlog) is not stacked: its next slot
            // comes once it is done, so periodic work never takes every worker from the queue.
            if self.app.store().has_unfinished_job(&p.kind).await? {
                continue;
            }
            let job = NewJob::new(&p.kind, serde_json::json!({ "slot": slot }), now)
                .dedupe(format!("periodic:{}:{slot}", p.kind))
                .max_attempts(3);
            // Enqueued now or already by another node: either way this slot is settled.
            self.app.store().enqueue(&job, now).await?;
            p.settled_slot.store(slot, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Records the attempts that ended since the last round and claims what free slots allow,
    /// in one transaction, then starts those jobs; returns their tasks. Kinds take turns for
    /// the free slots, and none may hold more than its share of them.
    async fn claim_and_start(&self) -> Result<Vec<tokio::task::JoinHandle<()>>, crate::AppError> {
        let free = self.permits.available_permits() as i64;
        let finished = std::mem::take(&mut *self.finished.lock().expect("finished jobs lock"));
        if free == 0 && finished.is_empty() {
            return Ok(Vec::new());
        }
        let share = kind_share(self.app.settings().job_concurrency);
        let shares: Vec<KindShare> = {
            let running = self.running.lock().expect("running jobs lock");
            self.handlers
                .keys()
                .map(|kind| {
                    let running = running.get(kind).copied().unwrap_or(0);
                    KindShare {
                        kind,
                        at_most: (share - running).min(free),
                        running,
                    }
                })
                .collect()
        };
        let lease = Duration::seconds(self.app.settings().job_lease_seconds);
        let jobs = self.settle_and_claim(finished, &shares, free).await?;
        let mut tasks = Vec::with_capacity(jobs.len());
        for job in jobs {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .expect("semaphore open");
            let handler = self.handlers[&job.kind].clone();
            let (app, worker) = (self.app.clone(), self.worker.clone());
            let running = RunningGuard::start(&self.running, &job.kind);
            let (finished, job_ended) = (self.finished.clone(), self.job_ended.clone());
            tasks.push(tokio::spawn(async move {
                if let Some(f) = run_one(app, worker, handler, job, lease).await {
                    finished.lock().expect("finished jobs lock").push(f);
                }
                drop(running);
                drop(permit);
                job_ended.notify_one();
            }));
        }
        Ok(tasks)
    }

    /// Records the attempts that ended, claiming nothing.
    async fn settle(&self) -> Result<(), crate::AppError> {
        let finished = std::mem::take(&mut *self.finished.lock().expect("finished jobs lock"));
        if !finished.is_empty() {
            self.settle_and_claim(finished, &[], 0).await?;
        }
        Ok(())
    }

    /// Records `finished` and claims up to `free` jobs in one transaction; on failure the
    /// attempts are kept for the next round (were the node to die first, their leases lapse
    /// and the jobs run again: handlers are idempotent).
    async fn settle_and_claim(
        &self,
        finished: Vec<Finished>,
        shares: &[KindShare<'_>],
        free: i64,
    ) -> Result<Vec<Job>, crate::AppError> {
        let lease = Duration::seconds(self.app.settings().job_lease_seconds);
        let settled = self
            .app
            .store()
            .settle_and_claim(&self.worker, &finished, shares, self.app.now(), lease, free)
            .await;
        let (recorded, jobs) = match settled {
            Ok(settled) => settled,
            Err(e) => {
                self.finished
                    .lock()
                    .expect("finished jobs lock")
                    .extend(finished);
                return Err(e.into());
            }
        };
        for (f, recorded) in finished.iter().zip(recorded) {
            if !recorded {
                tracing::warn!(kind = %f.job.kind, job_id = f.job.id.get(), "job outcome not recorded: lease lost");
            }
        }
        Ok(jobs)
    }

    /// Runs one round: periodic enqueues, then claims and runs due jobs to completion.
    /// Returns how many jobs ran. Tests drive the runner with this.
    pub async fn run_once(&self) -> Result<usize, crate::AppError> {
        self.enqueue_periodic().await?;
        let tasks = self.claim_and_start().await?;
        let n = tasks.len();
        for t in tasks {
            let _ = t.await;
        }
        self.settle().await?;
        Ok(n)
    }

    /// Runs until `shutdown` resolves, then waits for running jobs to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let poll = std::time::Duration::from_millis(self.app.settings().job_poll_millis.max(10));
        tracing::info!(worker = %self.worker, "job runner started");
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            if let Err(e) = self.enqueue_periodic().await {
                tracing::warn!(error = %e, "could not enqueue periodic jobs");
            }
            let started = match self.claim_and_start().await {
                Ok(tasks) => tasks.len(),
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs");
                    0
                }
            };
            // Work found: look again in a few milliseconds; nothing found or every worker
            // taken: wait the poll, or until a job ends. A busy runner does not claim the
            // moment one job ends (measured: with 8 workers, claiming one job per ended job made
            // the 2,000-order pipeline 1.4× slower on SQLite, each claim being a write);
            // waiting lets several workers free up for one claim.
            let idle = started == 0;
            let wait = if idle {
                poll
            } else {
                std::time::Duration::from_millis(5)
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.job_ended.notified(), if idle => {}
            }
        }
        let all = self.app.settings().job_concurrency.max(1) as u32;
        let _ = self.permits.acquire_many(all).await;
        if let Err(e) = self.settle().await {
            tracing::warn!(error = %e, "could not record the last jobs' outcomes");
        }
        tracing::info!(worker = %self.worker, "job runner stopped");
    }
}

/// Counts a job of its kind as running until dropped (also when its task panics).
struct RunningGuard {
    running: Arc<Mutex<HashMap<String, i64>>>,
    kind: String,
}

impl RunningGuard {
    fn start(running: &Arc<Mutex<HashMap<String, i64>>>, kind: &str) -> RunningGuard {
        *running
            .lock()
            .expect("running jobs lock")
            .entry(kind.to_string())
            .or_default() += 1;
        RunningGuard {
            running: running.clone(),
            kind: kind.to_string(),
        }
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut running) = self.running.lock()
            && let Some(n) = running.get_mut(&self.kind)
        {
            *n -= 1;
        }
    }
}

/// Runs one claimed job inside a `job` span (kind, id, tenant, attempt: every log line of the
/// handler carries them) and counts it: `fahuo_job_attempts_total`, `fahuo_job_failures_total`
/// (by outcome `retry` or `dead`) and `fahuo_job_duration_seconds`, all by kind. Returns the
/// attempt to record, `None` when the lease was lost (another worker owns the job now).
async fn run_one(
    app: App,
    worker: String,
    handler: Handler,
    job: Job,
    lease: Duration,
) -> Option<Finished> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "job",
        kind = %job.kind,
        job_id = job.id.get(),
        tenant = job.tenant_id.map(|t| t.get()),
        attempt = job.attempts,
    );
    let kind = job.kind.clone();
    let last_attempt = job.attempts >= job.max_attempts;
    let started = std::time::Instant::now();
    let finished = run_leased(app, worker, handler, job, lease)
        .instrument(span)
        .await;
    metrics::counter!("fahuo_job_attempts_total", "kind" => kind.clone()).increment(1);
    metrics::histogram!("fahuo_job_duration_seconds", "kind" => kind.clone())
        .record(started.elapsed().as_secs_f64());
    // The store dead-letters a retryable failure on the last attempt too.
    let failed = match finished.as_ref().map(|f| &f.outcome) {
        Some(Outcome::Retry { .. }) if !last_attempt => Some("retry"),
        Some(Outcome::Retry { .. } | Outcome::Dead { .. }) => Some("dead"),
        Some(Outcome::Done) | None => None,
    };
    if let Some(failed) = failed {
        metrics::counter!("fahuo_job_failures_total", "kind" => kind, "outcome" => failed)
            .increment(1);
    }
    finished
}

/// Runs the handler while renewing the lease; returns the attempt's outcome, `None` when the
/// lease was lost.
async fn run_leased(
    app: App,
    worker: String,
    handler: Handler,
    job: Job,
    lease: Duration,
) -> Option<Finished> {
    let work = AssertUnwindSafe(handler(app.clone(), job.clone())).catch_unwind();
    let renew = || {
        let (store, job, worker) = (app.store().clone(), job.clone(), worker.clone());
        let until = app.now() + lease;
        async move {
            match store.extend_lease(&job, &worker, until).await {
                Ok(true) => true,
                Ok(false) => {
                    tracing::warn!("lease lost; abandoning the job");
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not renew a lease");
                    true
                }
            }
        }
    };
    let outcome = while_renewing(work, renewal_period(lease), renew)
        .await?
        .unwrap_or_else(|_| Err(JobError::Retry("the handler panicked".into())));
    let now = app.now();
    let outcome = match outcome {
        Ok(()) => Outcome::Done,
        Err(JobError::Retry(error)) => {
            tracing::info!(error = %error, "job failed; will retry");
            let at = now + backoff(&job);
            Outcome::Retry { error, at }
        }
        Err(JobError::Permanent(error)) => {
            tracing::warn!(error = %error, "job failed permanently");
            Outcome::Dead { error }
        }
    };
    Some(Finished {
        job,
        outcome,
        at: now,
    })
}

/// How often a lease of length `lease` is renewed while its holder runs: every third of it, so
/// a renewal that fails or comes late (a slow database, a busy node) still leaves time for the
/// next before the lease lapses. Job leases and shops' sync leases both renew at this pace.
pub(crate) fn renewal_period(lease: Duration) -> std::time::Duration {
    std::time::Duration::from_millis((lease.num_milliseconds() / 3).max(10) as u64)
}

/// Runs `work` to its end while `renew` runs every `every` beside it; `None` as soon as a
/// renewal answers `false` (the lease is gone: the work is abandoned). The renewals are polled
/// alongside the work, never instead of it: the work may hold SQLite's write lock in the middle
/// of a transaction, and a renewal (a write) that waited for the lock while the work stood
/// still would wait for the work itself, until the busy timeout. With an in-process FIFO lock
/// for writers (tried in 9948634, see BENCHMARKS.md) the work may also be the waiter the lock
/// was just handed to, and that wait never ends by itself.
pub(crate) async fn while_renewing<T, R>(
    work: impl Future<Output = T>,
    every: std::time::Duration,
    mut renew: impl FnMut() -> R,
) -> Option<T>
where
    R: Future<Output = bool>,
{
    let renewals = async {
        loop {
            tokio::time::sleep(every).await;
            if !renew().await {
                return;
            }
        }
    };
    tokio::select! {
        out = work => Some(out),
        () = renewals => None,
    }
}

/// Deletes expired sessions and finished jobs older than a week.
async fn purge(app: &App) -> Result<(), JobError> {
    let now = app.now();
    let store = app.store();
    let retry = |e: fahuo_store::StoreError| JobError::Retry(e.to_string());
    let sessions = store.purge_sessions(now).await.map_err(retry)?;
    let jobs = store
        .purge_done_jobs(now - Duration::days(7))
        .await
        .map_err(retry)?;
    tracing::info!(sessions, jobs, "maintenance purge");
    Ok(())
}

impl App {
    /// The shops (`shop_id` of the payload) that have a job of `kind` queued: due and waiting
    /// for a worker, or a retry waiting out its backoff (5–40 s for a sync).
    /// A shop's sync that waits reads up to the moment it starts, so a schedule that finds one
    /// adds no other: a slot's sync behind a long run (a large shop's first days) would
    /// otherwise queue one no-op per slot, hundreds when the runs fall behind.
    pub(crate) async fn shops_waiting_for(
        &self,
        kind: &str,
    ) -> crate::Result<std::collections::HashSet<i64>> {
        Ok(self
            .store()
            .queued_jobs(kind)
            .await?
            .iter()
            .filter_map(|job| job.payload.get("shop_id")?.as_i64())
            .collect())
    }

    /// The tenant's jobs in a state (`dead` is the dead letter), newest first.
    pub async fn jobs(
        &self,
        actor: &crate::Actor,
        state: &str,
        after: Option<i64>,
        limit: i64,
    ) -> crate::Result<fahuo_store::Page<Job>> {
        actor.require(fahuo_domain::Permission::ManageJobs)?;
        let state = fahuo_store::jobs::JobState::parse(state)
            .map_err(|_| fahuo_domain::ParseError::new("state", "queued, running, done or dead"))?;
        Ok(self
            .store()
            .jobs(actor.tenant_id, state, after, limit)
            .await?)
    }

    /// Puts one of the tenant's dead jobs back in the queue.
    pub async fn retry_job(
        &self,
        actor: &crate::Actor,
        id: fahuo_domain::JobId,
    ) -> crate::Result<()> {
        actor.require(fahuo_domain::Permission::ManageJobs)?;
        let mut audit = actor.audit("job.retry", "job", self.now());
        audit.entity_id = Some(id.get());
        self.store()
            .retry_dead_job(actor.tenant_id, id, self.now())
            .await?;
        self.store().append_audit(&audit).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::while_renewing;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::sync::Notify;

    /// A renewal that cannot finish until the work has moved on (as a renewal waiting for a
    /// write lock the work holds): the work must still be polled meanwhile.
    #[tokio::test]
    async fn the_work_goes_on_while_a_renewal_waits() {
        let renewing = Notify::new();
        let work_moved_on = AtomicBool::new(false);
        let work_notice = Notify::new();
        let renewals = AtomicUsize::new(0);
        let work = async {
            renewing.notified().await;
            work_moved_on.store(true, Ordering::SeqCst);
            work_notice.notify_one();
            "done"
        };
        let renew = || async {
            renewals.fetch_add(1, Ordering::SeqCst);
            renewing.notify_one();
            while !work_moved_on.load(Ordering::SeqCst) {
                work_notice.notified().await;
            }
            true
        };
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            while_renewing(work, Duration::from_millis(10), renew),
        )
        .await
        .expect("the work finished while its renewal waited for it");
        assert_eq!(out, Some("done"));
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_renewal_abandons_the_work() {
        let out = while_renewing(
            std::future::pending::<()>(),
            Duration::from_millis(10),
            || async { false },
        )
        .await;
        assert_eq!(out, None);
    }

    /// The work here ends only after its third renewal, so the test does not depend on how
    /// fast a loaded machine runs timers.
    #[tokio::test]
    async fn renewals_repeat_until_the_work_ends() {
        let renewals = AtomicUsize::new(0);
        let renewed = Notify::new();
        let work = async {
            while renewals.load(Ordering::SeqCst) < 3 {
                renewed.notified().await;
            }
        };
        let renew = || async {
            renewals.fetch_add(1, Ordering::SeqCst);
            renewed.notify_one();
            true
        };
        let out = tokio::time::timeout(
            Duration::from_secs(5),
            while_renewing(work, Duration::from_millis(10), renew),
        )
        .await
        .expect("the renewals went on while the work ran");
        assert_eq!(out, Some(()));
        assert!(renewals.load(Ordering::SeqCst) >= 3);
    }
}
