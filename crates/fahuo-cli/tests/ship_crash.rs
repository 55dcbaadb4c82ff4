//! Crash safety of the batch write-back, with real processes: a 5,000-row tracking-number
//! import is applied and sent by `fahuo serve`, which is killed with SIGKILL at random moments
//! ten times and restarted; in the end every order is shipped exactly once in the platform
//! emulators' ledgers, with the right carrier code and number.
//!
//! The emulators run in this test's process, so their ledgers outlive every server. The
//! server's job leases are short (3 s) so that a killed node's claimed work is picked up
//! quickly after the restart, as a second node would.

use fahuo_app::{Actor, App, Settings, SystemClock};
use fahuo_domain::fulfilment::ShipmentState;
use fahuo_sim::{Platform as SimPlatform, SimConfig};
use fahuo_store::{Keyring, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORDERS: usize = 5_000;
const KILLS: usize = 10;

mod common;

use common::{Server, fahuo};

fn serve(dir: &std::path::Path) -> Server {
    Server::start(
        fahuo()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "warn")
            .env("FAHUO_APP__JOB_LEASE_SECONDS", "3")
            .env("FAHUO_APP__JOB_POLL_MILLIS", "50")
            .env("FAHUO_APP__PLATFORM_CALLS_PER_SECOND", "150")
            .env("FAHUO_APP__PLATFORM_BACKOFF_MILLIS", "50")
            .stderr(std::process::Stdio::null()),
    )
}

/// A deterministic "random" delay between 0.2 and 2.2 s.
fn delay(seed: &mut u64) -> Duration {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    Duration::from_millis(200 + (*seed >> 33) % 2_000)
}

async fn counts(store: &Store, tenant: fahuo_domain::TenantId) -> BTreeMap<ShipmentState, i64> {
    store
        .shipment_counts(tenant)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_server_ten_times_during_a_5000_order_batch_ship_ships_each_order_once() {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(
        SimConfig {
            live: false,
            ..SimConfig::new(20_261_205, 3_200)
        },
        listener,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = Keyring::load_or_create(&dir.path().join("pii.key")).unwrap();
    let url = format!("sqlite://{}", dir.path().join("fahuo.db").display());
    let store = Store::connect(&url, keys).await.unwrap();
    store.migrate().await.unwrap();
    let settings = Settings {
        platform_calls_per_second: 200.0,
        platform_concurrency: 8,
        ..Settings::default()
    };
    let app = App::new(store.clone(), Arc::new(SystemClock), settings);
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse("批量发货商家").unwrap())
        .await
        .unwrap()
        .id;
    let owner = Actor::cli(tenant);

    // The merchant's three shops, synced from the emulators.
    let mut syncs = Vec::new();
    for platform in SimPlatform::ALL {
        let shop = fahuo_cli::demo::connect_shop(&app, tenant, &sim, platform)
            .await
            .unwrap();
        let app = app.clone();
        syncs.push(tokio::spawn(async move {
            app.sync_shop(tenant, shop.id).await.unwrap();
            (platform, shop.id)
        }));
    }
    let mut platform_of_shop = BTreeMap::new();
    for s in syncs {
        let (platform, shop) = s.await.unwrap();
        platform_of_shop.insert(shop, platform);
    }

    // 5,000 orders the platforms will take, each with its own SF number.
    let mut rows = Vec::new();
    let mut after = None;
    'pages: loop {
        let page = store
            .orders(
                tenant,
                &fahuo_store::orders::OrderFilter {
                    after,
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for o in &page.items {
            // Orders with a refund asked for are refused by the platforms (and land in the
            // exception list); this test wants the ones they take.
            if sim.order(&o.platform_order_id).is_some_and(|p| {
                p.shippable()
                    && p.refund == fahuo_sim::model::Refund::None
                    && p.lines.iter().all(|l| !l.refunded)
            }) {
                let number = format!("SF{:013}", 1_300_000_000_000u64 + rows.len() as u64);
                let code = match platform_of_shop[&o.shop_id] {
                    SimPlatform::Wechat => "SF",
                    _ => "shunfeng",
                };
                rows.push((o.platform_order_id.clone(), code, number));
                if rows.len() == ORDERS {
                    break 'pages;
                }
            }
        }
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(
        rows.len(),
        ORDERS,
        "the emulators hold enough orders to ship"
    );
    let mut csv = String::from("订单号,快递公司,快递单号\n");
    for (order, _, number) in &rows {
        csv += &format!("{order},顺丰速运,{number}\n");
    }
    let preview = app
        .preview_shipment_import(&owner, "batch.csv", csv.as_bytes())
        .await
        .unwrap();
    assert_eq!(preview.ready, ORDERS, "{:?}", preview.refused);
    // Applying is the server's job (500 rows per step); the kills hit it too.
    app.apply_shipment_import(&owner, preview.import.id)
        .await
        .unwrap();

    let started = Instant::now();
    let mut seed = 7u64;
    for kill in 0..KILLS {
        let server = serve(dir.path());
        tokio::time::sleep(delay(&mut seed)).await;
        drop(server); // SIGKILL
        let c = counts(&store, tenant).await;
        eprintln!("kill {}: {c:?}", kill + 1);
    }
    let server = serve(dir.path());
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let import = store
            .shipment_import(tenant, preview.import.id)
            .await
            .unwrap();
        let c = counts(&store, tenant).await;
        let done = c.get(&ShipmentState::Succeeded).copied().unwrap_or(0);
        if import.rows_left == 0 && !c.contains_key(&ShipmentState::Pending) {
            let failed = store
                .shipments(
                    tenant,
                    &fahuo_store::shipping::ShipmentFilter {
                        state: Some(ShipmentState::Failed),
                        limit: 5,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(done, ORDERS as i64, "{c:?}: {failed:#?}");
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {c:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(server);
    eprintln!(
        "{ORDERS} orders shipped through {KILLS} kills in {:?}",
        started.elapsed()
    );

    let ledger = sim.ledger();
    ledger
        .check_shipped_exactly_once(rows.iter().map(|(o, c, n)| (o.as_str(), *c, n.as_str())))
        .unwrap();
    assert_eq!(ledger.accepted_shipments().len(), ORDERS);
    sim.shutdown().await;
}
