//! Delivery negotiation (发货时效协商) end to end against the WeChat Shop emulator, on SQLite
//! and PostgreSQL: an order short of stock asks the platform for a later ship-by time, the
//! platform's rules (at most three times) hold, and fahuo takes in the new deadline.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fahuo_app::deadlines::NegotiationInput;
use fahuo_app::{Actor, App, AppError, Clock, Settings};
use fahuo_domain::PlatformOrderId;
use fahuo_sim::{Platform as SimPlatform, SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::sync::Arc;

struct SimClock(Arc<SimHandle>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0.now_ms()).unwrap()
    }
}

both_backends!(a_wechat_order_gets_a_later_deadline_from_the_platform_three_times_at_most);

async fn a_wechat_order_gets_a_later_deadline_from_the_platform_three_times_at_most(db: TestDb) {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = SimConfig {
        live: false,
        ..SimConfig::new(11, 60)
    };
    let sim = Arc::new(fahuo_sim::start(config, listener).unwrap());
    let app = App::new(
        db.store.clone(),
        Arc::new(SimClock(sim.clone())),
        Settings::default(),
    );
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse("协商商家").unwrap())
        .await
        .unwrap()
        .id;
    let shop = fahuo_cli::demo::connect_shop(&app, tenant, &sim, SimPlatform::Wechat)
        .await
        .unwrap();
    app.sync_shop(tenant, shop.id).await.unwrap();
    let waiting = sim
        .orders(Some(SimPlatform::Wechat))
        .into_iter()
        .find(|o| {
            o.status == fahuo_sim::Status::ToShip
                && o.ship_deadline_ms - sim.now_ms() > 6 * 3_600_000
        })
        .expect("an order awaiting shipment with hours to spare");
    let id = app
        .store()
        .order_id_by_platform_id(
            tenant,
            shop.id,
            &PlatformOrderId::parse(&waiting.order_id).unwrap(),
        )
        .await
        .unwrap()
        .expect("synced");
    let before = app
        .store()
        .order(tenant, id)
        .await
        .unwrap()
        .ship_by
        .unwrap();
    assert_eq!(
        before.timestamp_millis() / 1000,
        waiting.ship_deadline_ms / 1000,
        "the platform's own deadline"
    );

    let owner = Actor::cli(tenant);
    let ask = |days: i64| NegotiationInput {
        until: before + Duration::days(days),
        reason: Some(2),
        remark: Some("缺货，补货中".into()),
    };
    for days in 1..=3 {
        sim.advance_clock(60);
        app.negotiate_delivery(&owner, id, &ask(days))
            .await
            .unwrap();
    }
    // The platform moved the deadline; fahuo takes it in with the order's refresh.
    app.pull_pushed_order(tenant, shop.id, &waiting.order_id)
        .await
        .unwrap();
    let after = app
        .store()
        .order(tenant, id)
        .await
        .unwrap()
        .ship_by
        .unwrap();
    assert_eq!(after.timestamp(), (before + Duration::days(3)).timestamp());
    assert_eq!(
        sim.order(&waiting.order_id).unwrap().ship_deadline_ms / 1000,
        after.timestamp()
    );

    // A fourth time the platform refuses; the refusal is recorded, the deadline stays.
    let refused = app.negotiate_delivery(&owner, id, &ask(4)).await;
    assert!(
        matches!(refused, Err(AppError::UpstreamRefused(_))),
        "{refused:?}"
    );
    assert_eq!(app.store().negotiations_used(tenant, id).await.unwrap(), 3);
    let timeline = app.order_timeline(&owner, id).await.unwrap();
    let filed = timeline
        .iter()
        .filter(|e| e.entry.action == "order.negotiate_delivery")
        .count();
    assert_eq!(
        filed, 4,
        "every request, accepted or refused, is in the timeline"
    );

    // A request for a time already past is refused before anything is sent.
    let past = NegotiationInput {
        until: app.now() - Duration::hours(1),
        reason: None,
        remark: None,
    };
    assert!(matches!(
        app.negotiate_delivery(&owner, id, &past).await,
        Err(AppError::Invalid(_))
    ));
}
