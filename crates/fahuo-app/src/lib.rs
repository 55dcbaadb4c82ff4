//! fahuo's use-cases: everything the console, the API and the CLI can do, over the store.
//!
//! Every use-case takes the [`Actor`] who asks and checks its [`Permission`](fahuo_domain::Permission)
//! here, so handlers and commands hold no business logic and cannot forget a check. Tenant
//! scoping comes from the actor: a use-case never takes a tenant id from a request.

pub mod address;
pub mod aftersales;
pub mod auth;
pub mod batch;
pub mod catalog;
pub mod deadlines;
pub mod dropship;
mod error;
pub mod import;
pub mod intake;
pub mod inventory;
pub mod jobs;
pub mod orders;
pub mod printing;
pub mod queues;
pub mod reports;
pub mod review;
pub mod seed;
pub mod settings;
pub mod shipping;
pub mod tracking;
pub mod users;

pub use error::AppError;
pub use fahuo_store::Store;

use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::{ApiTokenId, Permission, Role, Scope, TenantId, UserId};
use std::sync::Arc;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Where "now" comes from: the system clock in production, a settable clock in tests.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(std::sync::Mutex::new(start)))
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Tunables of the application layer, with defaults that work without any configuration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// How long a console login lasts.
    pub session_hours: i64,
    /// Failed logins per username within the window before logins are refused.
    pub login_max_failures: i64,
    /// Failed logins from one client address within the window before it is refused.
    pub login_max_failures_per_ip: i64,
    pub login_window_minutes: i64,
    /// Jobs run at once by this node.
    pub job_concurrency: usize,
    /// A claimed job's lease; renewed while it runs, reclaimable by other nodes once expired.
    pub job_lease_seconds: i64,
    /// How often an idle worker looks for due jobs.
    pub job_poll_millis: u64,
    /// How often every shop's incremental sync runs (pushes arrive in between).
    pub sync_every_seconds: i64,
    /// A running sync's hold on its shop; renewed every third of it while the sync runs, so a
    /// second sync of the shop waits, and free again this long after the node running it died.
    pub sync_lease_seconds: i64,
    /// How far back a shop's first sync reaches.
    pub sync_initial_lookback_hours: i64,
    /// One platform call's time limit.
    pub platform_timeout_millis: u64,
    /// Tries of one platform call before the job itself is retried later.
    pub platform_max_attempts: u32,
    /// Calls per second to one shop's platform, from this node.
    pub platform_calls_per_second: f64,
    /// Detail and decryption calls in flight at once per shop during a sync.
    pub platform_concurrency: usize,
    /// First retry delay of a failed platform call; doubles per attempt, with jitter.
    pub platform_backoff_millis: u64,
    /// Calls per second to one carrier account's e-waybill service, from this node. None of
    /// the services publishes its limit; 50 is a cautious stand-in.
    pub waybill_calls_per_second: f64,
    /// How often new orders are reviewed and allocated (and approved ones left unallocated).
    pub review_every_seconds: i64,
    /// How often ship-by deadlines are checked for alerts.
    pub deadline_scan_seconds: i64,
    /// How often the exception radar scans parcels and unshipped orders.
    pub radar_scan_seconds: i64,
    /// How old a platform push's signed timestamp may be before it is refused as a replay
    /// (WeChat, Xiaohongshu; Douyin signs none). The default covers the platforms' early
    /// re-deliveries; see `fahuo_platforms::PushWindow`.
    pub push_max_age_seconds: u64,
    /// How far ahead of this server's clock a push's signed timestamp may be (clock skew).
    pub push_max_ahead_seconds: u64,
    /// The URL tracking services reach this server at (their push callbacks).
    pub public_url: String,
    /// The SMS gateway for buyer notifications; none = no SMS.
    pub sms: Option<tracking::notify::SmsSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_hours: 12,
            login_max_failures: 5,
            login_max_failures_per_ip: 50,
            login_window_minutes: 15,
            job_concurrency: 4,
            job_lease_seconds: 60,
            job_poll_millis: 500,
            sync_every_seconds: 60,
            sync_lease_seconds: 300,
            sync_initial_lookback_hours: 72,
            platform_timeout_millis: 10_000,
            platform_max_attempts: 5,
            platform_calls_per_second: 20.0,
            platform_concurrency: 4,
            platform_backoff_millis: 300,
            waybill_calls_per_second: 50.0,
            review_every_seconds: 10,
            deadline_scan_seconds: 60,
            radar_scan_seconds: 60,
            push_max_age_seconds: fahuo_platforms::PushWindow::default().max_age.as_secs(),
            push_max_ahead_seconds: fahuo_platforms::PushWindow::default().max_ahead.as_secs(),
            public_url: "http://127.0.0.1:8080".into(),
            sms: None,
        }
    }
}

/// The application: the store, the clock and the settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Arc<Settings>,
    platforms: Arc<intake::Platforms>,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> App {
        let platforms = Arc::new(intake::Platforms::new(fahuo_platforms::ClientOptions {
            timeout: std::time::Duration::from_millis(settings.platform_timeout_millis),
            max_attempts: settings.platform_max_attempts,
            rate_per_sec: settings.platform_calls_per_second,
            concurrency: settings.platform_concurrency.max(1),
            backoff_base: std::time::Duration::from_millis(settings.platform_backoff_millis),
            ..Default::default()
        }));
        App {
            store,
            clock,
            settings: Arc::new(settings),
            platforms,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// How an actor proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session,
    Token(ApiTokenId),
    /// The operator at the command line (`fahuo user add`, demo seeding).
    Cli,
}

/// Who is asking: a staff member through the console, an integration through its token, or
/// the operator through the CLI. Carries the tenant every query is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub tenant_id: TenantId,
    pub user_id: Option<UserId>,
    pub name: String,
    pub role: Role,
    /// The shops and warehouses a sub-account is limited to (all for owners and admins).
    pub scope: Scope,
    pub via: Via,
}

impl Actor {
    /// The operator at the command line acts as an owner of the given tenant.
    pub fn cli(tenant_id: TenantId) -> Actor {
        Actor {
            tenant_id,
            user_id: None,
            name: "cli".into(),
            role: Role::Owner,
            scope: Scope::all(),
            via: Via::Cli,
        }
    }

    /// fahuo itself acting for a tenant (review, allocation, jobs): an owner's rights, audited
    /// under `name`.
    pub fn system(tenant_id: TenantId, name: &str) -> Actor {
        Actor {
            tenant_id,
            user_id: None,
            name: name.into(),
            role: Role::Owner,
            scope: Scope::all(),
            via: Via::Cli,
        }
    }

    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(permission))
        }
    }

    pub fn audit_ref(&self) -> ActorRef {
        match (&self.via, self.user_id) {
            (Via::Token(id), _) => ActorRef::Token {
                id: *id,
                name: self.name.clone(),
            },
            (_, Some(id)) => ActorRef::User {
                id,
                name: self.name.clone(),
            },
            (_, None) => ActorRef::system(&self.name),
        }
    }

    /// An audit entry by this actor, to be completed by the use-case.
    pub fn audit(&self, action: &str, entity_type: &str, at: DateTime<Utc>) -> AuditEntry {
        AuditEntry {
            tenant_id: self.tenant_id,
            actor: self.audit_ref(),
            action: action.into(),
            entity_type: entity_type.into(),
            entity_id: None,
            before: None,
            after: None,
            at,
        }
    }
}
