//! Order intake against the platform emulator over real HTTP, on SQLite and PostgreSQL: how
//! long a shop's sync holds its shop. (The end-to-end intake test, every order compared with
//! the emulator's, is `fahuo-cli`'s `tests/intake.rs`.)

use chrono::{DateTime, TimeZone, Utc};
use fahuo_app::catalog::{CredentialsInput, ShopInput};
use fahuo_app::{Actor, App, Clock, Settings};
use fahuo_domain::{Name, ShopId, TenantId};
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// fahuo on the emulator's clock, which the test moves on.
struct SimClock(Arc<SimHandle>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0.now_ms()).unwrap()
    }
}

/// A TCP relay in front of the emulator that holds whatever fahuo sends while it is closed,
/// as a platform that stops answering does: a sync behind it waits in the middle of a call.
struct Relay {
    addr: SocketAddr,
    open: watch::Sender<bool>,
    /// Reads that came in from fahuo, held or not.
    heard: Arc<AtomicUsize>,
}

async fn relay(upstream: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, gate) = watch::channel(true);
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = heard.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (mut gate, heard) = (gate.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match from_client.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    heard.fetch_add(1, Ordering::SeqCst);
                    if gate.wait_for(|open| *open).await.is_err()
                        || to_server.write_all(&buf[..n]).await.is_err()
                    {
                        break;
                    }
                }
                let _ = to_server.shutdown().await;
            });
        }
    });
    Relay { addr, open, heard }
}

/// A new tenant with the emulator's Douyin shop connected, reached directly or through `via`
/// (a relay in front of the emulator).
async fn douyin_merchant(
    app: &App,
    sim: &SimHandle,
    name: &str,
    via: Option<SocketAddr>,
) -> (TenantId, ShopId) {
    let tenant = app
        .create_tenant(&Name::parse(name).unwrap())
        .await
        .unwrap()
        .id;
    let info = sim.info();
    let base_url = match via {
        Some(relay) => info
            .douyin_base_url
            .replace(&sim.addr().to_string(), &relay.to_string()),
        None => info.douyin_base_url.clone(),
    };
    let shop = app
        .create_shop(
            &Actor::cli(tenant),
            &ShopInput {
                platform: "douyin".into(),
                name: "抖店".into(),
                platform_shop_id: info.douyin.shop_id.to_string(),
                api_base_url: Some(base_url),
                credentials: Some(CredentialsInput {
                    app_key: info.douyin.app_key.clone(),
                    app_secret: info.douyin.app_secret.clone(),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap()
        .id;
    (tenant, shop)
}

both_backends!(
    a_sync_keeps_its_shop_while_it_runs_and_a_dead_nodes_shop_is_free_once_its_lease_lapses
);

/// A sync stuck far longer than its lease on a platform call still holds its shop (its lease is
/// renewed while it runs), so a second sync does nothing; once its node dies, the shop is
/// synced again as soon as the short lease has lapsed.
async fn a_sync_keeps_its_shop_while_it_runs_and_a_dead_nodes_shop_is_free_once_its_lease_lapses(
    db: TestDb,
) {
    fahuo_platforms::install_tls_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Arc::new(fahuo_sim::start(SimConfig::new(61, 5), listener).unwrap());
    let relay = relay(sim.addr()).await;
    let lease_secs = 4;
    let settings = Settings {
        sync_lease_seconds: lease_secs,
        // Longer than the whole test: the stuck call neither times out nor is retried.
        platform_timeout_millis: 120_000,
        sync_initial_lookback_hours: 1,
        ..Settings::default()
    };
    let app = App::new(db.store.clone(), Arc::new(SimClock(sim.clone())), settings);
    let (tenant, shop) = douyin_merchant(&app, &sim, "同步租约商家", Some(relay.addr)).await;
    let second_sync = || async {
        tokio::time::timeout(Duration::from_secs(10), app.sync_shop(tenant, shop))
            .await
            .expect("a second sync took the shop and waits on the held platform call")
            .unwrap()
    };

    relay.open.send_replace(false);
    let heard = relay.heard.load(Ordering::SeqCst);
    let stuck = tokio::spawn({
        let app = app.clone();
        async move { app.sync_shop(tenant, shop).await }
    });
    while relay.heard.load(Ordering::SeqCst) == heard {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The first sync holds the shop and waits on the platform; its lease's length passes
    // several times over, and a renewal (every third of the lease) comes after that.
    sim.advance_clock(10 * lease_secs);
    tokio::time::sleep(Duration::from_secs_f64(lease_secs as f64 / 3.0 * 1.5)).await;
    assert!(
        second_sync().await.already_running,
        "a sync running past its lease's length still holds its shop"
    );

    // Its node dies: nothing renews the lease any more, nor releases it.
    stuck.abort();
    assert!(stuck.await.unwrap_err().is_cancelled());
    assert!(
        second_sync().await.already_running,
        "the dead sync's lease runs to its end"
    );
    sim.advance_clock(lease_secs + 1);
    relay.open.send_replace(true);
    let report = tokio::time::timeout(Duration::from_secs(60), app.sync_shop(tenant, shop))
        .await
        .expect("the sync ends")
        .unwrap();
    assert!(
        !report.already_running && report.windows >= 1,
        "once the lease lapsed the shop is synced again: {report:?}"
    );
}

both_backends!(an_order_read_again_is_not_decrypted_again_until_its_buyer_moves);

/// The platforms charge the merchant for every decryption. Orders fahuo reads again (each sync
/// window's overlap, every push) keep the receiver fahuo holds while the platform sends it
/// unchanged; a buyer who moves is decrypted again and fahuo holds the new address.
async fn an_order_read_again_is_not_decrypted_again_until_its_buyer_moves(db: TestDb) {
    fahuo_platforms::install_tls_provider();
    for (seed, platform) in [
        (71, fahuo_sim::Platform::Wechat),
        (72, fahuo_sim::Platform::Douyin),
        (73, fahuo_sim::Platform::Xiaohongshu),
    ] {
        decrypts_each_receiver_once(&db, seed, platform).await;
    }
}

async fn decrypts_each_receiver_once(db: &TestDb, seed: u64, platform: fahuo_sim::Platform) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SimConfig {
        live: false,
        history_secs: 6 * 3600,
        ..SimConfig::new(seed, 40)
    };
    let sim = Arc::new(fahuo_sim::start(config, listener).unwrap());
    let settings = Settings {
        sync_initial_lookback_hours: 7,
        ..Settings::default()
    };
    let app = App::new(db.store.clone(), Arc::new(SimClock(sim.clone())), settings);
    let tenant = app
        .create_tenant(&Name::parse(&format!("解密额度商家{seed}")).unwrap())
        .await
        .unwrap()
        .id;
    let info = sim.info();
    let (shop_id, credentials) = match platform {
        fahuo_sim::Platform::Wechat => (
            info.wechat.appid.clone(),
            CredentialsInput {
                app_key: info.wechat.appid.clone(),
                app_secret: info.wechat.secret.clone(),
                ..Default::default()
            },
        ),
        fahuo_sim::Platform::Douyin => (
            info.douyin.shop_id.to_string(),
            CredentialsInput {
                app_key: info.douyin.app_key.clone(),
                app_secret: info.douyin.app_secret.clone(),
                ..Default::default()
            },
        ),
        fahuo_sim::Platform::Xiaohongshu => (
            info.xiaohongshu.seller_id.clone(),
            CredentialsInput {
                app_key: info.xiaohongshu.app_id.clone(),
                app_secret: info.xiaohongshu.app_secret.clone(),
                auth_code: Some(info.xiaohongshu.auth_code.clone()),
                ..Default::default()
            },
        ),
    };
    let shop = app
        .create_shop(
            &Actor::cli(tenant),
            &ShopInput {
                platform: platform.as_str().into(),
                name: "店铺".into(),
                platform_shop_id: shop_id,
                api_base_url: Some(sim.base_url(platform)),
                credentials: Some(credentials),
            },
        )
        .await
        .unwrap()
        .id;
    let decrypts = |order: Option<&str>| {
        sim.ledger()
            .decrypts
            .iter()
            .filter(|d| order.is_none_or(|o| d.order_id == o))
            .count()
    };
    let stored = |order: String| {
        let app = app.clone();
        async move {
            let number = fahuo_domain::PlatformOrderId::parse(&order).unwrap();
            let id = app
                .store()
                .order_id_by_platform_id(tenant, shop, &number)
                .await
                .unwrap()
                .expect("fahuo holds the order");
            app.store().order(tenant, id).await.unwrap().receiver
        }
    };

    app.sync_shop(tenant, shop).await.unwrap();
    let spent = decrypts(None);
    assert!(spent > 0, "{platform:?}: the first sync decrypts");
    let waiting: Vec<String> = sim
        .orders(Some(platform))
        .into_iter()
        .filter(|o| {
            o.status == fahuo_sim::Status::ToShip && o.refund == fahuo_sim::model::Refund::None
        })
        .map(|o| o.order_id)
        .take(2)
        .collect();
    let [same, moved] = [waiting[0].clone(), waiting[1].clone()];
    let (same_spent, moved_spent) = (decrypts(Some(&same)), decrypts(Some(&moved)));
    assert!(same_spent > 0 && moved_spent > 0);
    let same_receiver = stored(same.clone()).await;

    // One buyer asks for a refund (the order changes, its receiver does not); the other moves.
    sim.advance_clock(5);
    assert!(
        sim.open_after_sale(&same, fahuo_sim::aftersale::Kind::RefundOnly)
            .is_some()
    );
    assert!(sim.change_address(&moved));
    let report = app.sync_shop(tenant, shop).await.unwrap();
    assert!(report.ingested.updated >= 2, "{platform:?}: {report:?}");
    assert_eq!(
        decrypts(Some(&same)),
        same_spent,
        "{platform:?}: same receiver"
    );
    assert_eq!(
        decrypts(Some(&moved)),
        2 * moved_spent,
        "{platform:?}: the new address is decrypted"
    );
    assert_eq!(
        decrypts(None),
        spent + moved_spent,
        "{platform:?}: nothing else"
    );
    assert_eq!(
        stored(same.clone()).await,
        same_receiver,
        "{platform:?}: kept"
    );
    let truth = sim.order(&moved).unwrap().receiver;
    let now = stored(moved.clone()).await;
    assert_eq!(now.name, truth.name.trim(), "{platform:?}: the new name");
    assert_eq!(
        now.phone,
        fahuo_domain::Phone::parse(&truth.phone_as_given()).unwrap()
    );
    assert_eq!(now.county, truth.district);
    assert!(now.detail.ends_with(truth.detail.trim()), "{platform:?}");

    // The overlap reads both again, and so do their pushes: nothing is decrypted twice.
    sim.advance_clock(1);
    let again = app.sync_shop(tenant, shop).await.unwrap();
    assert!(again.pulled >= 2, "{platform:?}: the overlap: {again:?}");
    for order in [&same, &moved, &same, &moved] {
        app.pull_pushed_order(tenant, shop, order).await.unwrap();
    }
    assert_eq!(
        decrypts(None),
        spent + moved_spent,
        "{platform:?}: read again"
    );
    assert_eq!(stored(same).await, same_receiver);
    assert_eq!(stored(moved).await, now);
}

both_backends!(a_shop_has_one_sync_waiting_however_many_slots_pass);

/// A shop's sync that waits for a worker reads up to the moment it starts, so the schedule adds
/// no second one while it waits, whatever number of slots pass (orders and after-sales alike);
/// once a worker holds it, the schedule queues the one that follows it.
async fn a_shop_has_one_sync_waiting_however_many_slots_pass(db: TestDb) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Arc::new(fahuo_sim::start(SimConfig::new(62, 1), listener).unwrap());
    let app = App::new(
        db.store.clone(),
        Arc::new(SimClock(sim.clone())),
        Settings::default(),
    );
    douyin_merchant(&app, &sim, "同步排队商家", None).await;
    let kinds = [fahuo_app::intake::SYNC_JOB, fahuo_app::aftersales::SYNC_JOB];
    let schedule = || async {
        (
            app.schedule_syncs().await.unwrap(),
            app.schedule_after_sale_syncs().await.unwrap(),
        )
    };

    assert_eq!(
        schedule().await,
        (0, 1),
        "the order sync queued when the shop was connected waits; after-sales get theirs"
    );
    for _ in 0..3 {
        sim.advance_clock(Settings::default().sync_every_seconds);
        assert_eq!(schedule().await, (0, 0), "the first ones still wait");
    }
    let held = db
        .store
        .claim_jobs("w", &kinds, app.now(), chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 2, "one of each kind waited");
    assert_eq!(
        schedule().await,
        (1, 1),
        "the next waits behind the running ones"
    );
    sim.advance_clock(Settings::default().sync_every_seconds);
    assert_eq!(schedule().await, (0, 0), "and is the only one waiting");
}
