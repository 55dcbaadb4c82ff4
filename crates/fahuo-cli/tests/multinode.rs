//! Several nodes, one PostgreSQL: three `fahuo serve` processes share the work of one merchant
//! (order sync, review and allocation, write-back to the platforms, tracking subscriptions,
//! buyer notifications) through the database's job queue, while labels are printed through
//! the HTTP API of whichever node is up. One node is killed with SIGKILL while it holds job
//! leases (on outward calls where it can); the other two finish its work once the leases
//! expire. In the end the emulators' ledgers show each package's waybill issued once, each
//! order written back once and each buyer told at most once (once for every notice marked
//! sent; a notice whose sender died mid-send is failed, never repeated), and the database
//! shows that every node did some of the work.
//!
//! PostgreSQL only (SQLite is one node's database): skipped without `FAHUO_TEST_POSTGRES_URL`,
//! a failure when `FAHUO_REQUIRE_POSTGRES=1` and it cannot run. The emulators run in this
//! test's process, over real HTTP, so their ledgers outlive every node.

mod common;

use common::{Server, fahuo};
use fahuo_app::auth::Password;
use fahuo_app::catalog::{SkuInput, StockMovementInput, WarehouseInput};
use fahuo_app::users::UserInput;
use fahuo_app::{Actor, App, Settings, SystemClock};
use fahuo_domain::fulfilment::ShipmentState;
use fahuo_domain::review::{ReasonCode, ReviewSettings};
use fahuo_domain::{Name, OrderState, Role, TenantId, Username};
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::jobs::{Job, JobState};
use fahuo_store::testing::TestDb;
use fahuo_store::{Keyring, Store};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Orders the emulators generate per platform (three platforms).
const ORDERS_PER_PLATFORM: usize = 100;
const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];
/// The node killed mid-run.
const VICTIM: &str = "node-c";
/// The jobs that call out to platforms, carriers and buyers.
const OUTWARD: [&str; 3] = [
    fahuo_store::shipping::SHIP_JOB,
    fahuo_store::tracking::SUBSCRIBE_JOB,
    fahuo_store::radar::NOTIFY_JOB,
];
const PASSWORD: &str = "multinode-pass-1";

/// A free loopback port, so that each node's public URL is known before it starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The nodes' shared configuration file: short job leases and intervals, the emulated SMS
/// gateway, and the public URL the tracking service pushes to.
fn write_config(dir: &Path, sim: &SimHandle, public_url: &str) -> std::path::PathBuf {
    let app = Settings {
        job_concurrency: 4,
        job_lease_seconds: 3,
        job_poll_millis: 50,
        sync_every_seconds: 5,
        // The emulators' history is three days.
        sync_initial_lookback_hours: 73,
        review_every_seconds: 1,
        deadline_scan_seconds: 3_600,
        radar_scan_seconds: 3_600,
        // Slow enough per node that a burst of write-backs keeps jobs running for seconds.
        platform_calls_per_second: 30.0,
        platform_backoff_millis: 50,
        public_url: public_url.to_string(),
        sms: Some(fahuo_cli::demo::sms_settings(sim)),
        ..Settings::default()
    };
    let mut file = toml::Table::new();
    file.insert("log".into(), "warn".into());
    file.insert("app".into(), toml::Value::try_from(app).unwrap());
    let path = dir.join("fahuo.toml");
    std::fs::write(&path, toml::to_string(&file).unwrap()).unwrap();
    path
}

fn start_node(
    name: &str,
    port: u16,
    config: &Path,
    key_file: &Path,
    url: &str,
    dir: &Path,
) -> Server {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Server::start(
        fahuo()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(&data)
            .args(["--database-url", url])
            .env("FAHUO_NODE_NAME", name)
            .env("FAHUO_PII_KEY_FILE", key_file)
            .stderr(log),
    )
}

/// The merchant: three shops on the emulators, a warehouse stocking every SKU code the
/// emulators sell, the demo's carrier accounts, parcel tracking and buyer notices. Review
/// holds only orders it cannot fulfil (unmapped or out of stock): the emulators' notes and
/// addresses are not what this test is about.
async fn set_up_merchant(app: &App, sim: &SimHandle) -> TenantId {
    let tenant = app
        .create_tenant(&Name::parse("多节点商家").unwrap())
        .await
        .unwrap()
        .id;
    let owner = Actor::cli(tenant);
    app.add_user(
        &owner,
        UserInput {
            username: Username::parse("boss").unwrap(),
            display_name: "店主".into(),
            role: Role::Owner,
            password: Password::parse(PASSWORD).unwrap(),
        },
    )
    .await
    .unwrap();
    let settings = ReviewSettings {
        disabled: ReasonCode::ALL
            .into_iter()
            .filter(|c| !matches!(c, ReasonCode::OutOfStock | ReasonCode::UnmappedSku))
            .collect(),
        ..Default::default()
    };
    app.set_review_settings(&owner, None, Some(settings))
        .await
        .unwrap();
    let warehouse = app
        .create_warehouse(
            &owner,
            &WarehouseInput {
                code: "HZ01".into(),
                name: "杭州余杭仓".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "余杭区".into(),
                address: "仓前街道龙潭路8号".into(),
                lat: Some(30.29),
                lng: Some(119.98),
            },
        )
        .await
        .unwrap();
    let codes: BTreeSet<String> = sim
        .orders(None)
        .iter()
        .flat_map(|o| o.lines.iter().map(|l| l.sku_code.clone()))
        .filter(|c| !c.is_empty())
        .collect();
    for code in codes {
        let sku = app
            .create_sku(
                &owner,
                &SkuInput {
                    code: code.clone(),
                    name: format!("商品 {code}"),
                    barcode: None,
                    weight_g: 300,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .unwrap();
        app.move_stock(
            &owner,
            &StockMovementInput {
                warehouse_id: warehouse.id.get(),
                sku_id: sku.id.get(),
                kind: "inbound".into(),
                quantity: 10_000,
                note: None,
            },
        )
        .await
        .unwrap();
    }
    // Connecting a shop enqueues its first sync: the nodes pick it up once they run.
    fahuo_cli::demo::connect_shops(app, tenant, sim)
        .await
        .unwrap();
    fahuo_cli::demo::bind_carrier_accounts(app, tenant, sim)
        .await
        .unwrap();
    fahuo_cli::demo::connect_tracking(app, tenant, sim)
        .await
        .unwrap();
    tenant
}

/// The console's session on one node (sessions live in the database: any node accepts it).
struct Console {
    http: reqwest::Client,
    csrf: String,
}

impl Console {
    async fn login(base: &str) -> Console {
        fahuo_platforms::install_tls_provider();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "boss", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let csrf = login["csrf_token"].as_str().unwrap().to_string();
        Console { http, csrf }
    }

    /// Ids and platform order numbers of up to 50 orders waiting for their labels; an error
    /// when the node is gone.
    async fn allocated(&self, base: &str) -> reqwest::Result<Vec<(i64, String)>> {
        let page: Value = self
            .http
            .get(format!("{base}/api/v1/orders?state=allocated&limit=50"))
            .send()
            .await?
            .json()
            .await?;
        Ok(page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("an order page: {page}"))
            .iter()
            .map(|o| {
                (
                    o["id"].as_i64().unwrap(),
                    o["platform_order_id"].as_str().unwrap().to_string(),
                )
            })
            .collect())
    }

    /// Prints the orders' labels as the console does; returns the labels (package, number),
    /// or an error when the node died under the request.
    async fn print(
        &self,
        base: &str,
        orders: &[i64],
        key: &str,
    ) -> reqwest::Result<Vec<(i64, String)>> {
        let response = self
            .http
            .post(format!("{base}/api/v1/print-jobs"))
            .header("x-csrf-token", &self.csrf)
            .header("idempotency-key", key)
            .json(&json!({ "order_ids": orders }))
            .send()
            .await?;
        assert_eq!(response.status(), 201);
        let printed: Value = response.json().await?;
        assert_eq!(printed["failures"], json!([]), "{printed}");
        Ok(printed["job"]["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["package_id"].as_i64().unwrap(),
                    l["tracking_no"].as_str().unwrap().to_string(),
                )
            })
            .collect())
    }
}

async fn count_in(store: &Store, tenant: TenantId, state: OrderState) -> i64 {
    store
        .order_counts(tenant, None)
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, n)| n)
}

/// The node a job runner belongs to: a runner's id is its node's name and a suffix of its
/// own, fresh per process.
fn node_of(worker: &str) -> Option<&'static str> {
    NODES.into_iter().find(|node| {
        worker
            .strip_prefix(*node)
            .is_some_and(|s| s.starts_with('-'))
    })
}

/// Whether `node` holds (or, for a finished job, last held) the job's lease.
fn is_of(job: &Job, node: &str) -> bool {
    job.locked_by.as_deref().and_then(node_of) == Some(node)
}

/// The jobs `node` holds a lease on right now.
async fn leases_of(store: &Store, node: &str) -> Vec<Job> {
    let running = store.running_jobs().await.unwrap();
    running.into_iter().filter(|j| is_of(j, node)).collect()
}

/// Each order's "shipped" notices, once none of them is still pending (`None` before).
async fn shipped_notices(
    app: &App,
    tenant: TenantId,
    orders: impl Iterator<Item = &i64>,
) -> Option<BTreeMap<i64, Vec<fahuo_store::radar::NotificationRow>>> {
    let owner = Actor::cli(tenant);
    let mut out = BTreeMap::new();
    for id in orders {
        let rows = app
            .notifications(&owner, Some(fahuo_domain::OrderId(*id)))
            .await
            .unwrap();
        let shipped: Vec<_> = rows.into_iter().filter(|n| n.kind == "shipped").collect();
        let open =
            |n: &fahuo_store::radar::NotificationRow| n.state == "pending" || n.state == "sending";
        if shipped.is_empty() || shipped.iter().any(open) {
            return None;
        }
        out.insert(*id, shipped);
    }
    Some(out)
}

/// Waits until `done` holds, checking every 200 ms; false when `limit` passed first.
async fn wait_for<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !done().await {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_the_work_and_a_killed_nodes_leases_are_finished_by_the_others() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let started = Instant::now();
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(
        SimConfig {
            live: false,
            ..SimConfig::new(20_261_205, ORDERS_PER_PLATFORM)
        },
        listener,
    )
    .unwrap();

    // The nodes and this test share the PII key, as nodes of one deployment do.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("pii.key");
    let keys = Keyring::generate();
    keys.write_new(&key_file).unwrap();
    let store = Store::connect(&db.url, keys).await.unwrap();
    let app = App::new(store.clone(), Arc::new(SystemClock), Settings::default());
    let tenant = set_up_merchant(&app, &sim).await;

    let ports: Vec<u16> = NODES.iter().map(|_| free_port()).collect();
    let config = write_config(dir.path(), &sim, &format!("http://127.0.0.1:{}", ports[0]));
    let mut nodes: Vec<Server> = NODES
        .iter()
        .zip(&ports)
        .map(|(name, port)| start_node(name, *port, &config, &key_file, &db.url, dir.path()))
        .collect();
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    assert_eq!(NODES.last(), Some(&VICTIM));
    let victim = nodes.pop().unwrap();
    let console = Console::login(&bases[0]).await;

    // Sync and review run on the nodes; wait until every shop has synced and nothing is new.
    let done = wait_for(Duration::from_secs(60), || async {
        let shops = app.shops(&Actor::cli(tenant)).await.unwrap();
        let mut synced = true;
        for shop in &shops {
            let state = store.sync_state(tenant, shop.id).await.unwrap();
            synced &= state.high_water.is_some();
        }
        synced
            && count_in(&store, tenant, OrderState::New).await == 0
            && count_in(&store, tenant, OrderState::Allocated).await > 0
    })
    .await;
    assert!(done, "timed out waiting for the first syncs and review");
    let allocated = count_in(&store, tenant, OrderState::Allocated).await;
    eprintln!(
        "{allocated} orders allocated after {:?}: {:?}",
        started.elapsed(),
        store.order_counts(tenant, None).await.unwrap()
    );

    // The victim dies once a third is printed, when it holds a lease on a job that calls
    // out (a write-back, a parcel subscription, a buyer notice: where a crash could send
    // twice), or failing that on any job; what it held then is what the others must finish.
    let printed_so_far = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let executioner = tokio::spawn({
        let (store, printed_so_far, killed) =
            (store.clone(), printed_so_far.clone(), killed.clone());
        async move {
            let mut victim = victim;
            let mut deadline = None;
            loop {
                if printed_so_far.load(Ordering::SeqCst) as i64 * 3 >= allocated {
                    let deadline =
                        *deadline.get_or_insert(Instant::now() + Duration::from_secs(20));
                    let held = leases_of(&store, VICTIM).await;
                    let outward = held.iter().any(|j| OUTWARD.contains(&j.kind.as_str()));
                    if outward || (!held.is_empty() && Instant::now() > deadline) {
                        victim.kill();
                        killed.store(true, Ordering::SeqCst);
                        // A job may have finished between the look and the kill.
                        return leases_of(&store, VICTIM).await;
                    }
                    assert!(
                        Instant::now() < deadline + Duration::from_secs(20),
                        "{VICTIM} never held a lease to lose"
                    );
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });

    // Everything allocated is printed through the nodes' APIs in turn. A request the victim
    // died under is repeated on the next node with the same idempotency key.
    let mut labels: BTreeMap<i64, String> = BTreeMap::new();
    let mut printed_orders: BTreeMap<i64, String> = BTreeMap::new();
    let mut turn = 0;
    let mut batch = 0;
    loop {
        let mut next_node = || {
            let live = if killed.load(Ordering::SeqCst) { 2 } else { 3 };
            turn += 1;
            bases[turn % live].clone()
        };
        let Ok(orders) = console.allocated(&next_node()).await else {
            continue;
        };
        if orders.is_empty() {
            break;
        }
        let chunk: Vec<(i64, String)> = orders.into_iter().take(25).collect();
        let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
        let key = format!("print-{batch}");
        let printed = loop {
            if let Ok(printed) = console.print(&next_node(), &ids, &key).await {
                break printed;
            }
        };
        for (package, number) in printed {
            let previous = labels.insert(package, number.clone());
            assert!(
                previous.is_none_or(|p| p == number),
                "package {package} got two numbers"
            );
        }
        printed_orders.extend(chunk);
        printed_so_far.store(printed_orders.len(), Ordering::SeqCst);
        batch += 1;
    }
    let orphaned = executioner.await.unwrap();
    assert!(!orphaned.is_empty(), "{VICTIM} died holding no lease");
    eprintln!(
        "printed by {:?}; killed {VICTIM} holding {} leases: {:?}",
        started.elapsed(),
        orphaned.len(),
        orphaned.iter().map(|j| &j.kind).collect::<Vec<_>>()
    );

    // The survivors write every printed order back, subscribe its parcel and tell its buyer.
    let printed = printed_orders.len() as i64;
    let done = wait_for(Duration::from_secs(90), || async {
        let counts: BTreeMap<ShipmentState, i64> = store
            .shipment_counts(tenant)
            .await
            .unwrap()
            .into_iter()
            .collect();
        counts.get(&ShipmentState::Succeeded).copied().unwrap_or(0) >= printed
            && !counts.contains_key(&ShipmentState::Pending)
    })
    .await;
    assert!(done, "timed out waiting for every write-back");
    eprintln!("written back by {:?}", started.elapsed());
    // Checked one by one below, with what became of each.
    wait_for(Duration::from_secs(60), || async {
        let mut finished = true;
        for job in &orphaned {
            let now = store.job(job.id).await.unwrap();
            finished &= now.state != JobState::Running && now.state != JobState::Queued;
        }
        finished
    })
    .await;
    for job in &orphaned {
        let now = store.job(job.id).await.unwrap();
        assert_eq!(now.state, JobState::Done, "{now:?} was finished");
        assert!(!is_of(&now, VICTIM), "{now:?} was finished by another node");
    }
    let numbers: BTreeSet<&String> = labels.values().collect();
    let done = wait_for(Duration::from_secs(60), || async {
        let subscribed: BTreeSet<String> = sim
            .tracking_snapshot()
            .subscriptions
            .into_iter()
            .map(|s| s.number)
            .collect();
        numbers.iter().all(|n| subscribed.contains(*n))
    })
    .await;
    assert!(done, "timed out waiting for every parcel subscribed");
    eprintln!("subscribed by {:?}", started.elapsed());
    let deadline = Instant::now() + Duration::from_secs(90);
    let notices = loop {
        if let Some(notices) = shipped_notices(&app, tenant, printed_orders.keys()).await {
            break notices;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting: every buyer notice"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Exactly once, by the emulators' ledgers.
    let ledger = sim.ledger();
    let accepted = ledger.accepted_shipments();
    for (id, platform_order) in &printed_orders {
        let shipments = accepted.get(platform_order).map_or(&[][..], |v| &v[..]);
        assert_eq!(
            shipments.len(),
            1,
            "order {id} ({platform_order}) written back once: {shipments:?}"
        );
        assert!(
            numbers.contains(&shipments[0].tracking_no),
            "{platform_order} shipped with a printed number"
        );
    }
    let mut issued: BTreeMap<String, usize> = BTreeMap::new();
    for w in sim.waybills() {
        if w.status == fahuo_sim::WaybillStatus::Issued {
            *issued.entry(w.number).or_default() += 1;
        }
    }
    assert_eq!(
        issued.keys().collect::<BTreeSet<_>>(),
        numbers,
        "the carriers issued exactly the printed numbers"
    );
    assert!(issued.values().all(|n| *n == 1), "a number issued twice");
    assert_eq!(numbers.len(), labels.len(), "one number per package");
    // One shipped notice per order, reaching its buyer at most once: once when sent; perhaps
    // (the ledgers tell) when its sender died mid-send, which is never sent again.
    let sms = sim.sms_snapshot().sent;
    let messages = sim.messages_snapshot().sent;
    let mut sent = 0;
    let mut unconfirmed = 0;
    for (order, rows) in &notices {
        assert_eq!(
            rows.len(),
            1,
            "one shipped notice for order {order}: {rows:?}"
        );
        let n = &rows[0];
        let out_id = format!("n{}", n.id);
        let deliveries = sms.iter().filter(|s| s.out_id == out_id).count()
            + messages.iter().filter(|m| m.content == n.body).count();
        match n.state.as_str() {
            "sent" => {
                sent += 1;
                assert_eq!(deliveries, 1, "{n:?} reached its buyer once");
            }
            "failed" if n.error.as_deref() == Some(fahuo_app::tracking::notify::UNCONFIRMED) => {
                unconfirmed += 1;
                assert!(deliveries <= 1, "{n:?} reached its buyer at most once");
            }
            "skipped" => assert_eq!(deliveries, 0, "{n:?}"),
            _ => panic!("{n:?}: neither sent nor accounted for"),
        }
    }
    // Nor any other notice (a delay, say) twice.
    let out_ids: BTreeSet<&String> = sms.iter().map(|s| &s.out_id).collect();
    assert_eq!(out_ids.len(), sms.len(), "an SMS sent twice");
    let distinct: BTreeSet<(&String, &String)> =
        messages.iter().map(|m| (&m.openid, &m.content)).collect();
    assert_eq!(
        distinct.len(),
        messages.len(),
        "a WeChat message sent twice"
    );
    assert!(sent > 0, "buyers were told");
    let orphaned_notices = orphaned
        .iter()
        .filter(|j| j.kind == fahuo_store::radar::NOTIFY_JOB)
        .count();
    assert!(
        unconfirmed <= orphaned_notices,
        "only notices the dead node was sending are unconfirmed ({unconfirmed})"
    );

    // Every node did some of the work.
    let mut per_node: BTreeMap<&str, i64> = BTreeMap::new();
    for (worker, n) in store.done_jobs_per_worker().await.unwrap() {
        let node = node_of(&worker);
        if let Some(node) = node {
            *per_node.entry(node).or_default() += n;
        }
    }
    for node in NODES {
        assert!(
            per_node.get(node).copied().unwrap_or(0) > 0,
            "{node} finished no job: {per_node:?}"
        );
    }
    eprintln!(
        "{printed} orders printed ({} packages) and shipped once each through {} nodes \
         ({per_node:?}), {} leases of the killed node taken over, {sent} buyer notices sent ({unconfirmed} unconfirmed), in {:?}",
        labels.len(),
        NODES.len(),
        orphaned.len(),
        started.elapsed()
    );
    drop(nodes);
    sim.shutdown().await;
}
