//! `fahuo demo --headless`: N orders generated in the in-process emulators driven through the
//! whole loop — sync, review, allocation, waybill, labels, write-back, tracking — by the job
//! runner `fahuo serve` runs and by the merchant's actions through the `App` use-cases, then
//! fahuo's database compared with the emulators' ledgers. Orchestration and counting only: every
//! step is a use-case or a job; the comparison reads the store and the emulators' ledgers.
//!
//! Where each order is expected to end, from the emulator's truth at the start (the generated
//! shop stands still, `live: false`, so the truth cannot move under the run):
//! - `to_ship`: paid, not cancelled, no refund requested → shipped exactly once to the platform
//!   with the one waybill number fahuo holds for its package, and its parcel followed to the
//!   carrier's final state (delivered, or returned for a refused parcel). Parcels whose carrier
//!   never finishes (every scan out, none final: stuck, never picked up) count as `with_carrier`.
//! - `unshippable`: unpaid, cancelled, refunded or with a refund pending → never shipped.
//!
//! "Reached the end" = every `to_ship` order shipped once and tracked to its carrier's end (or
//! still with a carrier that never ends it), every `unshippable` one not shipped, and no
//! duplicate waybill, write-back or "shipped" SMS.

use crate::demo;
use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use fahuo_app::jobs::JobRunner;
use fahuo_app::orders::OrderQuery;
use fahuo_app::printing::PrintRequest;
use fahuo_app::{Actor, App, Clock, Settings};
use fahuo_domain::review::{ReasonCode, ReviewSettings};
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    /// Orders generated in all (split evenly over the three platforms).
    pub orders: usize,
    /// Share of platform and e-waybill calls that fail (5xx, timeouts, rate limits) and of
    /// tracking pushes that are duplicated, reordered or late.
    pub fault_rate: f64,
    pub seed: u64,
    /// Stop driving after this long and report what has not reached its end.
    pub time_limit: Duration,
}

impl HeadlessOptions {
    pub fn new(orders: usize) -> HeadlessOptions {
        HeadlessOptions {
            orders,
            fault_rate: 0.0,
            seed: 20_261_205,
            time_limit: Duration::from_secs(3_600),
        }
    }
}

/// The one JSON line `fahuo demo --headless` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeadlessReport {
    /// The tenant the run created (fahuo's database keeps it for inspection).
    pub tenant_id: i64,
    pub orders_generated: usize,
    pub fault_rate: f64,
    /// Where the emulator's truth says each order should end.
    pub expected: Expected,
    /// Stage counts of fahuo's database at the end.
    pub stages: Stages,
    /// Internal order states in fahuo at the end.
    pub order_states: BTreeMap<String, usize>,
    /// Orders that did not end where expected (platform order ids, at most 20 shown).
    pub losses: Vec<String>,
    pub loss_count: usize,
    /// How many orders each kind of loss took (what follows the id: "never shipped", "parcel
    /// delivered but fahuo says …").
    pub loss_kinds: BTreeMap<String, usize>,
    /// Anything done twice (kind: number), at most 20 shown.
    pub duplicates: Vec<String>,
    pub duplicate_count: usize,
    /// Every order reached its end exactly once.
    pub ok: bool,
    /// The phase the time limit stopped (`ship` or `track`); none when the run finished.
    pub stopped_in: Option<String>,
    pub elapsed_seconds: f64,
    /// Time per phase: setup, the run until every order is shipped, tracking to the end,
    /// and the comparison.
    pub phase_seconds: BTreeMap<String, f64>,
    /// The sim clock moved this far to let retries fall due and parcels travel.
    pub sim_hours_advanced: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Expected {
    pub to_ship: usize,
    pub unshippable: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages {
    /// Orders fahuo synced.
    pub synced: usize,
    /// Orders past review (allocated or later).
    pub reviewed: usize,
    /// Waybill numbers issued by the emulated e-waybill services / kept by fahuo.
    pub waybills_issued: usize,
    pub waybills_kept: usize,
    /// Labels printed (print job items, reprints included).
    pub labels_printed: i64,
    /// Write-backs the platforms accepted.
    pub written_back: usize,
    /// Parcels fahuo tracks, and how they ended.
    pub parcels: usize,
    pub delivered: usize,
    pub returned: usize,
    /// Parcels whose carrier never ends the journey (stuck, a problem left open, never
    /// picked up): every scan is out and none is final.
    pub with_carrier: usize,
    pub tracking_events: i64,
    /// "Shipped" SMS the gateway sent.
    pub shipped_sms: usize,
}

/// fahuo runs on the emulators' clock, so that moving it on lets retries fall due and parcels
/// travel without waiting days.
struct SimClock(Arc<SimHandle>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0.now_ms())
            .single()
            .unwrap_or_else(Utc::now)
    }
}

/// The settings of the run: the job runner of `fahuo serve`, with intervals tightened so that
/// nothing waits on a timer the emulators would answer at once.
pub fn run_settings(base: Settings, fault_rate: f64) -> Settings {
    Settings {
        job_concurrency: 8,
        job_poll_millis: 20,
        sync_every_seconds: 5,
        sync_initial_lookback_hours: 3,
        platform_timeout_millis: if fault_rate > 0.0 { 500 } else { 5_000 },
        platform_max_attempts: 8,
        platform_calls_per_second: 0.0,
        platform_concurrency: 16,
        platform_backoff_millis: 20,
        waybill_calls_per_second: 0.0,
        review_every_seconds: 1,
        // One node on a clock that jumps: a lease must outlive any jump. Its renewals come
        // every third of the lease in real time, far apart next to the jumps, so a shop's sync
        // would lose a shorter lease mid-run and the next slot's sync would pull the shop
        // beside it (two or three per shop had taken 7 of 8 workers).
        job_lease_seconds: 90 * 86_400,
        sync_lease_seconds: 90 * 86_400,
        ..base
    }
}

/// Runs the whole loop on `store` (a fresh tenant is created in it) and compares the result
/// with the emulators' ledgers.
pub async fn run(store: Store, base: Settings, opts: &HeadlessOptions) -> Result<HeadlessReport> {
    let started = Instant::now();
    let mut phases = BTreeMap::new();
    let per_platform = opts.orders.div_ceil(3).max(1);
    let sim_config = SimConfig {
        live: false,
        history_secs: 3_600,
        future_share: 0.0,
        fault_rate: opts.fault_rate,
        timeout_delay: Duration::from_millis(1_000),
        push_retry_scale: 0.001,
        trickle_per_minute: 0,
        // A shop of this volume has a decryption quota to match; the default (a small shop's)
        // ran out at 10,000 orders and killed later syncs with "解密额度已用完".
        decrypt_quota: (opts.orders * 4 + 1_000) as u32,
        waybill_balance: (opts.orders * 3 + 1_000) as u64,
        rate_limits: fahuo_sim::RateLimits {
            wechat_per_sec: 0,
            douyin_per_sec: 0,
            xiaohongshu_app_per_sec: 0,
            xiaohongshu_method_per_sec: 0,
            kuaidi100_per_sec: 0,
            kdniao_per_sec: 0,
        },
        tracking: fahuo_sim::tracking::TrackingConfig {
            faults: fahuo_sim::tracking::TrackingFaults {
                duplicate: opts.fault_rate / 2.0,
                out_of_order: opts.fault_rate / 2.0,
                late: opts.fault_rate / 4.0,
                forged: opts.fault_rate / 4.0,
            },
            ..Default::default()
        },
        ..SimConfig::new(opts.seed, per_platform)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = Arc::new(fahuo_sim::start(sim_config, listener)?);
    let truth: Vec<fahuo_sim::Order> = sim
        .orders(None)
        .into_iter()
        .take(opts.orders.max(1))
        .collect();
    let mut settings = run_settings(base, opts.fault_rate);
    settings.sms = Some(demo::sms_settings(&sim));
    let app = App::new(store, Arc::new(SimClock(sim.clone())), settings);

    // fahuo's HTTP side receives the platforms' and carriers' pushes, as `fahuo serve` does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(fahuo_server::serve(
        app.clone(),
        Default::default(),
        listener,
        async move {
            let _ = server_stopped.await;
        },
    ));
    app.set_public_url(&format!("http://{addr}"));

    let name = format!("headless {}", Utc::now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse(&name)?)
        .await?
        .id;
    let merchant = Actor::cli(tenant);
    let skus = prepare_merchant(&app, &merchant, &truth).await?;
    let shops = demo::connect_shops(&app, tenant, &sim).await?;
    map_uncoded_listings(&app, &merchant, &shops, &truth, &skus).await?;
    demo::bind_carrier_accounts(&app, tenant, &sim).await?;
    demo::connect_tracking(&app, tenant, &sim).await?;
    demo::point_pushes(&sim, &shops, addr);
    phases.insert("setup".into(), started.elapsed().as_secs_f64());
    tracing::info!(orders = truth.len(), "headless run: set up");

    let (stop_runner, runner_stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = JobRunner::with_all_jobs(app.clone(), "headless");
    let runner = tokio::spawn(runner.run_until(async move {
        let _ = runner_stopped.await;
    }));

    let expected = expectations(&truth);
    let clock_start = sim.now_ms();
    let deadline = started + opts.time_limit;
    let shipping_started = Instant::now();
    // The merchant prints whatever is ready until every shippable order has left.
    let shipped_all = drive_until(&app, &sim, deadline, 60, || {
        let (app, sim, expected, merchant) = (&app, &sim, &expected, &merchant);
        async move {
            let printed = print_ready(app, merchant).await?;
            let shipped = sim.accepted_shipment_count(|id| expected.to_ship.contains(id));
            Ok(if printed > 0 {
                Round::Busy
            } else {
                Round::Left(expected.to_ship.len().saturating_sub(shipped))
            })
        }
    })
    .await?;
    phases.insert("ship".into(), shipping_started.elapsed().as_secs_f64());
    // Then the parcels travel: the clock moves on until every carrier has said its last word.
    // A carrier learns of a parcel when fahuo first subscribes to or asks about it, so the
    // journeys are over only once every shipped number is known: a subscription still queued
    // behind the clock's last jump is not a parcel that never travels.
    let shipped_numbers: Vec<String> = sim
        .ledger()
        .accepted_shipments()
        .into_iter()
        .filter(|(id, _)| expected.to_ship.contains(id))
        .flat_map(|(_, ships)| ships.into_iter().map(|s| s.tracking_no))
        .collect();
    let tracking_started = Instant::now();
    let tracked_all = shipped_all
        && drive_until(&app, &sim, deadline, 6 * 3_600, || {
            let (app, sim, merchant, shipped_numbers) = (&app, &sim, &merchant, &shipped_numbers);
            async move {
                let views = sim.parcel_views();
                let unknown = shipped_numbers
                    .iter()
                    .filter(|n| !views.contains_key(*n))
                    .count();
                // The carriers first (in memory), fahuo's parcels only once every journey is over.
                let mut ends = HashMap::new();
                let mut travelling = 0;
                for (number, view) in &views {
                    match carrier_end(view) {
                        CarrierEnd::Ends(state) => {
                            ends.insert(number.as_str(), state);
                        }
                        CarrierEnd::Never => {}
                        CarrierEnd::NotYet => travelling += 1,
                    }
                }
                if unknown + travelling > 0 {
                    return Ok(Round::Left(unknown + travelling));
                }
                let ours = app.store().parcel_states(merchant.tenant_id).await?;
                let arrived = ours
                    .iter()
                    .filter(|(number, state)| {
                        ends.get(number.as_str())
                            .is_some_and(|end| state.as_deref() == Some(*end))
                    })
                    .count();
                Ok(Round::Left(ends.len().saturating_sub(arrived)))
            }
        })
        .await?;
    if shipped_all {
        phases.insert("track".into(), tracking_started.elapsed().as_secs_f64());
    }

    let compare_started = Instant::now();
    let _ = stop_runner.send(());
    let _ = runner.await;
    let mut report = compare(&app, tenant, &sim, &expected).await?;
    phases.insert("compare".into(), compare_started.elapsed().as_secs_f64());
    let _ = stop_server.send(());
    let _ = server.await;
    report.tenant_id = tenant.get();
    report.orders_generated = truth.len();
    report.fault_rate = opts.fault_rate;
    report.phase_seconds = phases;
    report.sim_hours_advanced = (sim.now_ms() - clock_start) as f64 / 3_600_000.0;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    report.stopped_in = match (shipped_all, tracked_all) {
        (false, _) => Some("ship".into()),
        (true, false) => Some("track".into()),
        (true, true) => None,
    };
    report.ok &= report.stopped_in.is_none();
    if let Ok(sim) = Arc::try_unwrap(sim) {
        sim.shutdown().await;
    }
    Ok(report)
}

/// The merchant's catalogue, stock and review rules, set up through the console's use-cases:
/// a SKU per code the listings carry (and a mapping for listings without one), stock for every
/// order, and review that holds only what must not ship (refund pending, incomplete address,
/// unmapped or out-of-stock lines) — the notes and price checks a person would wave through
/// are switched off, as a merchant shipping on autopilot sets them.
async fn prepare_merchant(
    app: &App,
    merchant: &Actor,
    truth: &[fahuo_sim::Order],
) -> Result<HashMap<String, fahuo_domain::SkuId>> {
    use fahuo_app::catalog::{SkuInput, StockMovementInput, WarehouseInput};
    let warehouse = app
        .create_warehouse(
            merchant,
            &WarehouseInput {
                code: "HZ01".into(),
                name: "杭州仓".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "余杭区".into(),
                address: "仓前街道1号".into(),
                lat: None,
                lng: None,
            },
        )
        .await?;
    let mut units: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let mut skus = HashMap::new();
    for order in truth {
        for line in &order.lines {
            let code = sku_code(order.platform, line);
            units.entry(code).or_insert((line.title.clone(), 0)).1 += line.qty as i64;
        }
    }
    for (code, (title, quantity)) in &units {
        let sku = app
            .create_sku(
                merchant,
                &SkuInput {
                    code: code.clone(),
                    name: title.chars().take(60).collect(),
                    barcode: None,
                    weight_g: 300,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .with_context(|| format!("creating SKU {code}"))?;
        skus.insert(code.clone(), sku.id);
        app.move_stock(
            merchant,
            &StockMovementInput {
                warehouse_id: warehouse.id.get(),
                sku_id: sku.id.get(),
                kind: "inbound".into(),
                quantity: quantity + 10,
                note: Some("期初库存".into()),
            },
        )
        .await?;
    }
    let review = ReviewSettings {
        disabled: vec![
            ReasonCode::BuyerNote,
            ReasonCode::SellerNoteFlag,
            ReasonCode::PriceAnomaly,
            ReasonCode::PresaleNotDue,
            ReasonCode::AddressDoubtful,
            ReasonCode::RiskyReceiver,
        ],
        ..ReviewSettings::default()
    };
    app.set_review_settings(merchant, None, Some(review))
        .await?;
    let mut shipping = app.shipping_settings(merchant.tenant_id).await?;
    shipping.trigger = fahuo_domain::shipping::ShipTrigger::AfterPrint;
    app.set_shipping_settings(merchant, &shipping).await?;
    Ok(skus)
}

/// The merchant SKU code of a listing: its own code, or one made from the platform SKU id for
/// listings that carry none (mapped after the shops are connected).
fn sku_code(platform: fahuo_sim::Platform, line: &fahuo_sim::model::Line) -> String {
    if line.sku_code.is_empty() {
        format!("{}-{}", platform.as_str(), line.sku_id)
    } else {
        line.sku_code.clone()
    }
}

/// Maps the listings that carry no SKU code to the SKUs made for them, per platform shop.
async fn map_uncoded_listings(
    app: &App,
    merchant: &Actor,
    shops: &[fahuo_domain::catalog::Shop],
    truth: &[fahuo_sim::Order],
    skus: &HashMap<String, fahuo_domain::SkuId>,
) -> Result<()> {
    let mut done = HashSet::new();
    for order in truth {
        for line in order.lines.iter().filter(|l| l.sku_code.is_empty()) {
            if !done.insert((order.platform, line.sku_id.clone())) {
                continue;
            }
            let shop = shops
                .iter()
                .find(|s| s.platform.as_str() == order.platform.as_str())
                .context("a shop per platform")?;
            let code = sku_code(order.platform, line);
            let sku = skus.get(&code).context("the SKU made for the listing")?;
            app.map_shop_sku(merchant, shop.id, &line.sku_id, *sku, 1)
                .await?;
        }
    }
    Ok(())
}

/// The platform order ids each end is expected for.
#[derive(Debug, Default)]
struct Expectations {
    to_ship: HashSet<String>,
    unshippable: HashSet<String>,
}

fn expectations(truth: &[fahuo_sim::Order]) -> Expectations {
    use fahuo_sim::Status;
    use fahuo_sim::model::Refund;
    let mut out = Expectations::default();
    for o in truth {
        let shippable = matches!(o.status, Status::ToShip | Status::PaidReview)
            && o.refund == Refund::None
            && o.lines.iter().any(|l| !l.refunded);
        if shippable {
            out.to_ship.insert(o.order_id.clone());
        } else {
            out.unshippable.insert(o.order_id.clone());
        }
    }
    out
}

/// The merchant's print round: every order review allocated (or whose number came but whose
/// label did not) is printed, 500 per job, as the console's "print all" does. Orders whose
/// number could not be had this time stay and are printed in a later round.
async fn print_ready(app: &App, merchant: &Actor) -> Result<usize> {
    let mut printed = 0;
    for state in ["allocated", "waybill_issued"] {
        loop {
            let page = app
                .orders(
                    merchant,
                    &OrderQuery {
                        state: Some(state.into()),
                        limit: Some(500),
                        ..Default::default()
                    },
                )
                .await?;
            if page.items.is_empty() {
                break;
            }
            let ids: Vec<_> = page.items.iter().map(|o| o.id).collect();
            let result = app
                .print_labels(
                    merchant,
                    &PrintRequest {
                        order_ids: ids.clone(),
                        size: None,
                        reason: None,
                    },
                    None,
                )
                .await?;
            let ok = ids.len() - result.failures.len();
            printed += ok;
            if ok == 0 {
                break;
            }
        }
    }
    Ok(printed)
}

/// What a round of the driver found.
enum Round {
    /// It did something (printed): another round follows before anything is counted.
    Busy,
    /// This many things (orders to ship, parcels to follow) have not reached their end.
    Left(usize),
}

/// Runs rounds of `round` until nothing is left while fahuo and the emulators are quiet; false
/// when `deadline` came first. Between rounds that are not done, with no push in flight, the
/// sim clock moves on, so that retries waiting for their backoff fall due and parcels travel.
async fn drive_until<F, Fut>(
    app: &App,
    sim: &Arc<SimHandle>,
    deadline: Instant,
    step_secs: i64,
    mut round: F,
) -> Result<bool>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Round>>,
{
    let mut last_report = Instant::now();
    loop {
        if Instant::now() >= deadline {
            tracing::warn!("headless run: stopped by its time limit");
            return Ok(false);
        }
        let round = round().await?;
        let done = matches!(round, Round::Left(0));
        // The queues' unfinished rows only (`job_counts` would count every done job each round).
        let queues = app.store().queue_stats(app.now()).await?;
        let running: i64 = queues.iter().map(|q| q.running).sum();
        let pushing = sim.pushes_in_flight();
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            tracing::info!(
                left = match round {
                    Round::Busy => None,
                    Round::Left(n) => Some(n),
                },
                ready = queues.iter().map(|q| q.ready).sum::<i64>(),
                scheduled = queues.iter().map(|q| q.scheduled).sum::<i64>(),
                running,
                // What holds the workers, and what waits for them: "kind running/ready".
                kinds = queues
                    .iter()
                    .filter(|q| q.running + q.ready > 0)
                    .map(|q| format!("{} {}/{}", q.kind, q.running, q.ready))
                    .collect::<Vec<_>>()
                    .join(", "),
                dead = queues.iter().map(|q| q.dead).sum::<i64>(),
                pushing,
                sim_clock = %Utc.timestamp_millis_opt(sim.now_ms()).single().unwrap_or_default(),
                "headless run: waiting"
            );
        }
        if done && running == 0 && pushing == 0 {
            return Ok(true);
        }
        // Periodic jobs (syncs every few seconds) are nearly always running on a busy node,
        // so waiting for none to run stalled the clock for good at 10,000 orders. The lease
        // outlasts any jump (`run_settings`), so moving on while they run loses nothing.
        if pushing == 0 && !done {
            sim.advance_clock(step_secs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a carrier ends a parcel's journey, as the emulator's tracking ledger shows it.
enum CarrierEnd {
    /// Finished, in fahuo's words for the last state.
    Ends(&'static str),
    /// Every scan is out and none ends the journey.
    Never,
    NotYet,
}

fn carrier_end(view: &fahuo_sim::tracking::ParcelView) -> CarrierEnd {
    use fahuo_sim::tracking::trace::Stage;
    if view.visible_events < view.total_events {
        return CarrierEnd::NotYet;
    }
    if !view.is_final {
        // Every scan is out and none ends the journey (stuck, a problem left open, never
        // picked up): the parcel stays with the carrier.
        return CarrierEnd::Never;
    }
    match view.state {
        Some(Stage::ReturnSigned) => CarrierEnd::Ends("returned"),
        Some(Stage::Refused) => CarrierEnd::Ends("refused"),
        Some(Stage::Problem) => CarrierEnd::Ends("problem"),
        Some(Stage::Returning) => CarrierEnd::Ends("returning"),
        _ => CarrierEnd::Ends("delivered"),
    }
}

/// Compares fahuo's database with the emulators' ledgers.
async fn compare(
    app: &App,
    tenant: fahuo_domain::TenantId,
    sim: &SimHandle,
    expected: &Expectations,
) -> Result<HeadlessReport> {
    let facts = app.store().pipeline_facts(tenant).await?;
    let ledger = sim.ledger();
    let accepted = ledger.accepted_shipments();
    let tracking = sim.tracking_snapshot();
    let sms = sim.sms_snapshot();
    // (platform order id, what went wrong)
    let mut losses: Vec<(&String, String)> = Vec::new();
    let mut duplicates = Vec::new();
    let mut report = HeadlessReport {
        expected: Expected {
            to_ship: expected.to_ship.len(),
            unshippable: expected.unshippable.len(),
        },
        ..Default::default()
    };

    // One order per platform order.
    let mut seen = HashSet::new();
    for o in &facts.orders {
        *report.order_states.entry(o.state.clone()).or_default() += 1;
        if !seen.insert(o.platform_order_id.as_str()) {
            duplicates.push(format!("order stored twice: {}", o.platform_order_id));
        }
    }
    report.stages.synced = seen.len();
    report.stages.reviewed = facts
        .orders
        .iter()
        .filter(|o| {
            !matches!(
                o.state.as_str(),
                "new" | "on_hold" | "approved" | "cancelled" | "refunded"
            )
        })
        .count();

    // Waybills: each number the services issued and did not take back is one package's.
    let mut packages_of: HashMap<&str, HashSet<i64>> = HashMap::new();
    let mut kept_numbers: HashMap<&str, HashSet<&str>> = HashMap::new();
    for w in facts.waybills.iter().filter(|w| !w.cancelled) {
        packages_of
            .entry(w.tracking_no.as_str())
            .or_default()
            .insert(w.package_id);
        kept_numbers
            .entry(w.platform_order_id.as_str())
            .or_default()
            .insert(w.tracking_no.as_str());
    }
    report.stages.waybills_kept = packages_of.len();
    let live: Vec<_> = ledger
        .waybills
        .iter()
        .filter(|w| w.status == fahuo_sim::WaybillStatus::Issued)
        .collect();
    report.stages.waybills_issued = live.len();
    for w in &live {
        match packages_of.get(w.number.as_str()).map(HashSet::len) {
            Some(1) => {}
            Some(n) => duplicates.push(format!("waybill {} on {n} packages", w.number)),
            None => duplicates.push(format!(
                "waybill {} issued but kept by no package",
                w.number
            )),
        }
    }
    report.stages.labels_printed = facts.labels_printed;

    // Write-backs: each shippable order once, with the number fahuo holds for its package.
    let mut ours_by_order: HashMap<&str, Vec<&fahuo_store::pipeline::ShipmentFact>> =
        HashMap::new();
    for s in &facts.shipments {
        ours_by_order
            .entry(s.platform_order_id.as_str())
            .or_default()
            .push(s);
    }
    for id in &expected.to_ship {
        let theirs = accepted.get(id).map(Vec::as_slice).unwrap_or_default();
        match theirs {
            [] => losses.push((id, "never shipped".into())),
            [one] => {
                report.stages.written_back += 1;
                let kept = kept_numbers.get(id.as_str());
                if !kept.is_some_and(|k| k.contains(one.tracking_no.as_str())) {
                    losses.push((id, "shipped with a number fahuo does not hold".into()));
                }
                let ours = ours_by_order.get(id.as_str()).map(Vec::len).unwrap_or(0);
                if ours != 1 {
                    duplicates.push(format!("{id}: {ours} shipments in fahuo"));
                }
            }
            many => duplicates.push(format!("{id}: written back {} times", many.len())),
        }
    }
    for id in &expected.unshippable {
        if accepted.contains_key(id) {
            losses.push((id, "shipped although unshippable".into()));
        }
    }

    // Tracking: every shipped parcel followed to where its carrier ended it.
    let parcels: HashMap<&str, &fahuo_store::pipeline::ParcelFact> = facts
        .parcels
        .iter()
        .map(|p| (p.tracking_no.as_str(), p))
        .collect();
    report.stages.parcels = parcels.len();
    report.stages.tracking_events = facts.parcels.iter().map(|p| p.events).sum();
    for id in &expected.to_ship {
        let Some([one]) = accepted.get(id).map(Vec::as_slice) else {
            continue;
        };
        let ours = parcels.get(one.tracking_no.as_str());
        let Some(view) = tracking.parcels.get(&one.tracking_no) else {
            losses.push((id, "the carrier never heard of its parcel".into()));
            continue;
        };
        match carrier_end(view) {
            CarrierEnd::Never => report.stages.with_carrier += 1,
            CarrierEnd::NotYet => losses.push((id, "parcel still travelling".into())),
            CarrierEnd::Ends(state) => {
                let got = ours.and_then(|p| p.state.as_deref());
                if got != Some(state) {
                    losses.push((id, format!("parcel {state} but fahuo says {got:?}")));
                } else if state == "delivered" {
                    report.stages.delivered += 1;
                } else {
                    report.stages.returned += 1;
                }
            }
        }
    }

    // Notifications: one "shipped" SMS per number at most.
    let mut sms_per_number: HashMap<&str, usize> = HashMap::new();
    for s in sms.sent.iter().filter(|s| s.template_code == "SMS_SHIPPED") {
        let number = s.params.get("number").map(String::as_str).unwrap_or("");
        *sms_per_number.entry(number).or_default() += 1;
    }
    report.stages.shipped_sms = sms_per_number.values().sum();
    for (number, n) in sms_per_number.iter().filter(|(_, n)| **n > 1) {
        duplicates.push(format!("{n} shipped SMS for {number}"));
    }

    losses.sort();
    duplicates.sort();
    report.loss_count = losses.len();
    report.duplicate_count = duplicates.len();
    for (_, what) in &losses {
        *report.loss_kinds.entry(what.clone()).or_default() += 1;
    }
    report.losses = losses
        .iter()
        .take(20)
        .map(|(id, what)| format!("{id}: {what}"))
        .collect();
    duplicates.truncate(20);
    report.duplicates = duplicates;
    report.ok = report.loss_count == 0 && report.duplicate_count == 0;
    Ok(report)
}
