//! Shipping back to the platforms (发货回传), on SQLite and PostgreSQL, against the platform
//! emulators over real HTTP: every parcel is told to its platform exactly once with the right
//! carrier code and number, whatever is retried or lost; refusals and conflicts land in the
//! exception list with the platform's reason; numbers change only within the platform's
//! limits; split parcels ship line by line; the merchant's trigger decides when a printed
//! parcel ships; and the pack station refuses wrong, extra and missing items and a wrong weight.

use fahuo_app::catalog::{
    CredentialsInput, ShopInput, SkuInput, StockMovementInput, WarehouseInput,
};
use fahuo_app::jobs::JobRunner;
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::printing::{BindCarrierAccount, PrintRequest};
use fahuo_app::shipping::ManualShipment;
use fahuo_app::{Actor, App, AppError, Settings, SystemClock};
use fahuo_domain::fulfilment::{ShipmentState, WaybillService};
use fahuo_domain::shipping::{ShipTrigger, ShippingSettings};
use fahuo_domain::{CarrierCode, Name, OrderId, OrderState, Platform, ShipmentId};
use fahuo_platforms::waybill::WaybillCredentials;
use fahuo_sim::{Fault, Platform as SimPlatform, SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::shipping::ShipmentFilter;
use fahuo_store::testing::TestDb;
use std::collections::BTreeMap;
use std::sync::Arc;

struct World {
    app: App,
    owner: Actor,
    sim: SimHandle,
    /// The synced orders that can ship, per platform.
    orders: BTreeMap<Platform, Vec<OrderId>>,
}

fn sf(n: usize) -> String {
    format!("SF{:013}", 1_385_628_700_000u64 + n as u64)
}

async fn world(db: &TestDb, per_platform: usize) -> World {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(SimConfig::new(31, per_platform), listener).unwrap();
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let tenant = app
        .create_tenant(&Name::parse("发货商家").unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    let info = sim.info();
    let shops = [
        (
            "wechat",
            info.wechat.appid.clone(),
            info.wechat_base_url.clone(),
            CredentialsInput {
                app_key: info.wechat.appid.clone(),
                app_secret: info.wechat.secret.clone(),
                ..Default::default()
            },
        ),
        (
            "douyin",
            info.douyin.shop_id.to_string(),
            info.douyin_base_url.clone(),
            CredentialsInput {
                app_key: info.douyin.app_key.clone(),
                app_secret: info.douyin.app_secret.clone(),
                ..Default::default()
            },
        ),
        (
            "xiaohongshu",
            info.xiaohongshu.seller_id.clone(),
            info.xiaohongshu_base_url.clone(),
            CredentialsInput {
                app_key: info.xiaohongshu.app_id.clone(),
                app_secret: info.xiaohongshu.app_secret.clone(),
                auth_code: Some(info.xiaohongshu.auth_code.clone()),
                ..Default::default()
            },
        ),
    ];
    let mut orders = BTreeMap::new();
    for (platform, shop_id, base, credentials) in shops {
        let shop = app
            .create_shop(
                &owner,
                &ShopInput {
                    platform: platform.into(),
                    name: format!("{platform} 店"),
                    platform_shop_id: shop_id,
                    api_base_url: Some(base),
                    credentials: Some(credentials),
                },
            )
            .await
            .unwrap();
        app.sync_shop(tenant.id, shop.id).await.unwrap();
        let mut ids = Vec::new();
        let page = app
            .store()
            .orders(
                tenant.id,
                &fahuo_store::orders::OrderFilter {
                    shop_id: Some(shop.id),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        for o in page.items {
            let on_platform = sim.order(&o.platform_order_id).unwrap();
            if on_platform.shippable() && o.state == OrderState::New {
                app.approve_order(&owner, o.id).await.unwrap();
                ids.push(o.id);
            }
        }
        assert!(
            !ids.is_empty(),
            "{platform}: the emulator has orders to ship"
        );
        orders.insert(shop.platform, ids);
    }
    World {
        app,
        owner,
        sim,
        orders,
    }
}

impl World {
    /// Runs every due job until none is left.
    async fn drain(&self) {
        let runner = fahuo_app::shipping::register(fahuo_app::batch::register(JobRunner::new(
            self.app.clone(),
            "test",
        )));
        for _ in 0..200 {
            if runner.run_once().await.unwrap() == 0 {
                return;
            }
        }
        panic!("jobs did not settle");
    }

    fn platform_code(&self, platform: Platform) -> &'static str {
        match platform {
            Platform::Wechat => "SF",
            _ => "shunfeng",
        }
    }

    async fn order_state(&self, id: OrderId) -> OrderState {
        self.app
            .store()
            .order(self.owner.tenant_id, id)
            .await
            .unwrap()
            .state
    }

    async fn platform_order_id(&self, id: OrderId) -> String {
        self.app
            .store()
            .order(self.owner.tenant_id, id)
            .await
            .unwrap()
            .platform_order_id
            .as_str()
            .to_string()
    }

    async fn ship(&self, id: OrderId, number: &str) -> ShipmentId {
        self.app
            .ship_order_manually(
                &self.owner,
                id,
                &ManualShipment {
                    carrier: "顺丰".into(),
                    tracking_no: number.into(),
                    lines: Vec::new(),
                },
            )
            .await
            .unwrap()
            .shipment
            .id
    }
}

both_backends!(
    every_order_is_shipped_once_on_every_platform_with_its_carrier_code,
    a_lost_answer_is_retried_and_the_platform_keeps_one_shipment,
    a_second_number_for_a_shipped_order_is_a_conflict_in_the_exception_list,
    wrong_and_reused_numbers_are_caught_before_any_buyer_sees_them,
    numbers_change_within_each_platforms_limits_and_every_change_is_audited,
    split_parcels_ship_line_by_line_and_the_order_ships_with_the_last,
    the_merchants_trigger_decides_when_a_printed_parcel_ships,
    a_node_that_died_after_recording_the_write_back_still_leaves_the_buyer_a_notice,
);

/// The write-back records its success, then queues the buyer's notice. A node that dies in
/// between leaves the job to another node: it finds the shipment done and queues the notice,
/// once however often it runs.
async fn a_node_that_died_after_recording_the_write_back_still_leaves_the_buyer_a_notice(
    db: TestDb,
) {
    let w = world(&db, 3).await;
    let tenant = w.owner.tenant_id;
    w.app
        .set_notify_settings(
            &w.owner,
            fahuo_app::tracking::notify::NotifySettings {
                shipped: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = w.orders[&Platform::Douyin][0];
    let shipment = w.ship(id, &sf(1)).await;
    // What the dead node got done: the platform accepted and the success was recorded.
    w.app
        .store()
        .shipment_succeeded(tenant, shipment, &w.owner.audit_ref(), w.app.now())
        .await
        .unwrap();
    assert!(
        w.app
            .notifications(&w.owner, Some(id))
            .await
            .unwrap()
            .is_empty()
    );
    w.drain().await;
    let notices = w.app.notifications(&w.owner, Some(id)).await.unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].kind, "shipped");
    w.sim.shutdown().await;
}

async fn every_order_is_shipped_once_on_every_platform_with_its_carrier_code(db: TestDb) {
    let w = world(&db, 6).await;
    let mut expected = Vec::new();
    let mut n = 0;
    for (platform, ids) in &w.orders {
        for id in ids {
            n += 1;
            let number = sf(n);
            let first = w.ship(*id, &number).await;
            // A double click, a retried request: the same shipment, nothing new queued.
            assert_eq!(w.ship(*id, &number).await, first);
            expected.push((
                w.platform_order_id(*id).await,
                w.platform_code(*platform),
                number,
            ));
        }
    }
    w.drain().await;
    let ledger = w.sim.ledger();
    ledger
        .check_shipped_exactly_once(
            expected
                .iter()
                .map(|(o, c, n)| (o.as_str(), *c, n.as_str())),
        )
        .unwrap();
    for ids in w.orders.values() {
        for id in ids {
            assert_eq!(w.order_state(*id).await, OrderState::Shipped);
        }
    }
    let failed = w
        .app
        .shipments(
            &w.owner,
            &ShipmentFilter {
                state: Some(ShipmentState::Failed),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    w.sim.shutdown().await;
}

async fn a_lost_answer_is_retried_and_the_platform_keeps_one_shipment(db: TestDb) {
    let w = world(&db, 3).await;
    let mut expected = Vec::new();
    for (i, (platform, api)) in [
        (Platform::Wechat, "channels/ec/order/delivery/send"),
        (Platform::Douyin, "order.logisticsAdd"),
        (Platform::Xiaohongshu, "order.orderDeliver"),
    ]
    .into_iter()
    .enumerate()
    {
        let sim_platform = match platform {
            Platform::Wechat => SimPlatform::Wechat,
            Platform::Douyin => SimPlatform::Douyin,
            _ => SimPlatform::Xiaohongshu,
        };
        // The platform records the shipment, then the answer never arrives.
        w.sim.force_fault(sim_platform, api, Fault::TimeoutAfter);
        let id = w.orders[&platform][0];
        let number = sf(100 + i);
        let shipment = w.ship(id, &number).await;
        expected.push((
            w.platform_order_id(id).await,
            w.platform_code(platform),
            number,
        ));
        w.drain().await;
        let s = w.app.shipment(&w.owner, shipment).await.unwrap().shipment;
        assert_eq!(s.state, ShipmentState::Succeeded, "{platform:?}: {s:?}");
        assert_eq!(w.order_state(id).await, OrderState::Shipped);
    }
    w.sim
        .ledger()
        .check_shipped_exactly_once(
            expected
                .iter()
                .map(|(o, c, n)| (o.as_str(), *c, n.as_str())),
        )
        .unwrap();
    w.sim.shutdown().await;
}

async fn a_second_number_for_a_shipped_order_is_a_conflict_in_the_exception_list(db: TestDb) {
    let w = world(&db, 2).await;
    let id = w.orders[&Platform::Douyin][0];
    w.ship(id, &sf(1)).await;
    w.drain().await;
    let second = w.ship(id, &sf(2)).await;
    w.drain().await;
    let conflicts = w
        .app
        .shipments(
            &w.owner,
            &ShipmentFilter {
                state: Some(ShipmentState::Conflict),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.shipment.id, second);
    assert_eq!(
        c.shipment.conflict,
        vec![("shunfeng".to_string(), sf(1))],
        "the merchant sees the number the platform has"
    );
    assert!(c.advice_zh.as_deref().unwrap().contains(&sf(1)));
    // The platform still has exactly the first number.
    let ledger = w.sim.ledger();
    let order_no = w.platform_order_id(id).await;
    ledger
        .check_shipped_exactly_once([(order_no.as_str(), "shunfeng", sf(1).as_str())])
        .unwrap();
    w.sim.shutdown().await;
}

async fn wrong_and_reused_numbers_are_caught_before_any_buyer_sees_them(db: TestDb) {
    let w = world(&db, 2).await;
    let [a, b] = [
        w.orders[&Platform::Wechat][0],
        w.orders[&Platform::Wechat][1],
    ];
    let ship = |id, carrier: &str, number: &str| {
        let input = ManualShipment {
            carrier: carrier.into(),
            tracking_no: number.into(),
            lines: Vec::new(),
        };
        let app = w.app.clone();
        let owner = w.owner.clone();
        async move { app.ship_order_manually(&owner, id, &input).await }
    };
    // A 中通 number typed under 顺丰.
    let wrong = ship(a, "顺丰", "73610555582883").await.unwrap_err();
    assert!(matches!(wrong, AppError::Invalid(_)), "{wrong:?}");
    // An EMS number with a wrong check digit.
    let slip = ship(a, "EMS", "EA123456784CN").await.unwrap_err();
    assert!(matches!(slip, AppError::Invalid(_)), "{slip:?}");
    assert!(ship(a, "不存在的快递", &sf(1)).await.is_err());
    ship(a, "顺丰", &sf(1)).await.unwrap();
    let reused = ship(b, "SF", &sf(1)).await.unwrap_err();
    assert!(matches!(reused, AppError::Conflict(_)), "{reused:?}");
    w.drain().await;
    assert!(
        w.sim.ledger().accepted_shipments().len() == 1,
        "only order a shipped"
    );
    w.sim.shutdown().await;
}

async fn numbers_change_within_each_platforms_limits_and_every_change_is_audited(db: TestDb) {
    let w = world(&db, 2).await;
    let wechat = w.orders[&Platform::Wechat][0];
    let shipment = w.ship(wechat, &sf(1)).await;
    w.drain().await;
    for (i, number) in [sf(2), sf(3), sf(4)].iter().enumerate() {
        let change = w
            .app
            .change_shipment_number(&w.owner, shipment, "顺丰", number, "贴错面单")
            .await
            .unwrap();
        assert_eq!(change.state, "pending");
        w.drain().await;
        let done = w
            .app
            .store()
            .shipment_change(w.owner.tenant_id, change.id)
            .await
            .unwrap();
        assert_eq!(done.state, "done", "change {i}: {done:?}");
        let s = w.app.shipment(&w.owner, shipment).await.unwrap().shipment;
        assert_eq!(&s.tracking_no, number);
    }
    // WeChat allows three changes per order: the fourth is refused before asking.
    let fourth = w
        .app
        .change_shipment_number(&w.owner, shipment, "顺丰", &sf(5), "又贴错了")
        .await
        .unwrap_err();
    assert!(fourth.to_string().contains("3 次"), "{fourth}");
    let order_no = w.platform_order_id(wechat).await;
    let on_platform = w.sim.order(&order_no).unwrap();
    assert_eq!(on_platform.shipments.len(), 1);
    assert_eq!(on_platform.shipments[0].tracking_no, sf(4));
    assert_eq!(
        w.app
            .shipment_changes(&w.owner, shipment)
            .await
            .unwrap()
            .len(),
        3
    );
    // Douyin takes a change too; a change of an unshipped order is refused.
    let douyin = w.orders[&Platform::Douyin][0];
    let s = w.ship(douyin, &sf(10)).await;
    w.drain().await;
    w.app
        .change_shipment_number(&w.owner, s, "顺丰", &sf(11), "换快递单")
        .await
        .unwrap();
    w.drain().await;
    let on_platform = w.sim.order(&w.platform_order_id(douyin).await).unwrap();
    assert_eq!(on_platform.shipments[0].tracking_no, sf(11));
    let audit = w
        .app
        .store()
        .audit_log(
            w.owner.tenant_id,
            &fahuo_store::audit::AuditFilter {
                entity_type: Some("order".into()),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert!(
        audit
            .iter()
            .filter(|e| e.entry.action == "shipment.change_done")
            .count()
            >= 4,
        "every accepted change is in the audit log"
    );
    w.sim.shutdown().await;
}

async fn split_parcels_ship_line_by_line_and_the_order_ships_with_the_last(db: TestDb) {
    let w = world(&db, 12).await;
    // A WeChat order with at least two lines.
    let mut multi = None;
    for id in &w.orders[&Platform::Wechat] {
        let o = w.app.store().order(w.owner.tenant_id, *id).await.unwrap();
        if o.lines.len() >= 2 {
            multi = Some(o);
            break;
        }
    }
    let order = multi.expect("the emulator generates multi-line orders");
    let ship_line = |line: usize, number: String| {
        let input = ManualShipment {
            carrier: "SF".into(),
            tracking_no: number,
            lines: vec![(order.lines[line].id, order.lines[line].quantity)],
        };
        let app = w.app.clone();
        let owner = w.owner.clone();
        let id = order.id;
        async move { app.ship_order_manually(&owner, id, &input).await.unwrap() }
    };
    ship_line(0, sf(1)).await;
    w.drain().await;
    assert_eq!(
        w.order_state(order.id).await,
        OrderState::Approved,
        "one parcel of two: not yet shipped"
    );
    for line in 1..order.lines.len() {
        ship_line(line, sf(1 + line)).await;
    }
    w.drain().await;
    assert_eq!(w.order_state(order.id).await, OrderState::Shipped);
    let accepted = w.sim.ledger().accepted_shipments();
    assert_eq!(
        accepted[order.platform_order_id.as_str()].len(),
        order.lines.len(),
        "one parcel per line"
    );
    w.sim.shutdown().await;
}

async fn the_merchants_trigger_decides_when_a_printed_parcel_ships(db: TestDb) {
    let w = world(&db, 3).await;
    let app = &w.app;
    let owner = &w.owner;
    let warehouse = app
        .create_warehouse(
            owner,
            &WarehouseInput {
                code: "HZ01".into(),
                name: "杭州仓".into(),
                province: "浙江省".into(),
                city: "杭州市".into(),
                county: "余杭区".into(),
                address: "文一西路1号".into(),
                lat: None,
                lng: None,
            },
        )
        .await
        .unwrap();
    let mug = app
        .create_sku(
            owner,
            &SkuInput {
                code: "MUG-350".into(),
                name: "马克杯 350ml".into(),
                barcode: Some("6901234567892".into()),
                weight_g: 380,
                length_mm: 0,
                width_mm: 0,
                height_mm: 0,
                cost_fen: 0,
            },
        )
        .await
        .unwrap();
    app.move_stock(
        owner,
        &StockMovementInput {
            warehouse_id: warehouse.id.get(),
            sku_id: mug.id.get(),
            kind: "inbound".into(),
            quantity: 100,
            note: None,
        },
    )
    .await
    .unwrap();
    let shop = app
        .create_shop(
            owner,
            &ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "offline".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await
        .unwrap();
    let info = w.sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .unwrap();
    app.bind_carrier_account(
        owner,
        BindCarrierAccount {
            name: "中通 快递鸟".into(),
            service: WaybillService::Kdniao,
            carrier: "ZTO".into(),
            base_url: Some(info.kdniao_base_url.clone()),
            shop_id: None,
            priority: 0,
            sender_name: "杭州仓".into(),
            sender_phone: "13900001111".into(),
            quota: None,
            low_balance_threshold: 0,
            latency_budget_ms: 2_000,
            credentials: WaybillCredentials {
                api_key: info.kdniao.ebusiness_id.clone(),
                api_secret: info.kdniao.app_key.clone(),
                account: Some(kd.customer_name.clone()),
                account_secret: Some(kd.customer_pwd.clone()),
                site: None,
            },
        },
    )
    .await
    .unwrap();
    let order = |i: usize| OrderInput {
        shop_id: shop.id.get(),
        platform_order_id: format!("PACK-{i}"),
        paid_total_fen: None,
        freight_fen: 0,
        buyer_note: None,
        seller_note: None,
        ship_by: None,
        presale_ship_at: None,
        receiver: ReceiverInput {
            name: format!("收件人{i}"),
            phone: format!("1380000{i:04}"),
            province: "上海市".into(),
            city: "上海市".into(),
            county: "徐汇区".into(),
            detail: format!("虹漕路{}号", 400 + i),
        },
        lines: vec![LineInput {
            sku_code: Some("MUG-350".into()),
            title: "马克杯".into(),
            quantity: 2,
            unit_price_fen: 3900,
            paid_fen: None,
        }],
    };
    app.set_shipping_settings(
        owner,
        &ShippingSettings {
            trigger: ShipTrigger::AfterPack,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (_, view) = app.create_manual_order(owner, &order(1)).await.unwrap();
    app.approve_order(owner, view.id).await.unwrap();
    let package = app
        .allocate_order(
            owner,
            view.id,
            warehouse.id,
            Some(CarrierCode::parse("ZTO").unwrap()),
        )
        .await
        .unwrap()[0];
    let printed = app
        .print_labels(
            owner,
            &PrintRequest {
                order_ids: vec![view.id],
                size: None,
                reason: None,
            },
            None,
        )
        .await
        .unwrap();
    assert!(printed.failures.is_empty(), "{:?}", printed.failures);
    w.drain().await;
    assert_eq!(
        w.order_state(view.id).await,
        OrderState::Printed,
        "ship after packing: printing alone tells no platform"
    );
    let label = app
        .store()
        .package_for_shipping(owner.tenant_id, package)
        .await
        .unwrap()
        .unwrap()
        .1;
    let station = app.pack_open(owner, &label).await.unwrap();
    assert_eq!(station.remaining, 2);
    let wrong = app
        .pack_scan(owner, package, "6900000000000")
        .await
        .unwrap();
    assert!(!wrong.accepted && wrong.message_zh.contains("错货"));
    assert!(
        app.pack_scan(owner, package, "6901234567892")
            .await
            .unwrap()
            .accepted
    );
    let early = app.pack_close(owner, package, None).await.unwrap();
    assert!(
        !early.packed && early.message_zh.contains("少货"),
        "{}",
        early.message_zh
    );
    // The station reloads: the count survived.
    assert_eq!(app.pack_open(owner, &label).await.unwrap().remaining, 1);
    assert!(
        app.pack_scan(owner, package, "MUG-350")
            .await
            .unwrap()
            .accepted
    );
    let extra = app
        .pack_scan(owner, package, "6901234567892")
        .await
        .unwrap();
    assert!(!extra.accepted && extra.message_zh.contains("多货"));
    let heavy = app.pack_close(owner, package, Some(1_500)).await.unwrap();
    assert!(
        !heavy.packed && heavy.message_zh.contains("重量异常"),
        "{}",
        heavy.message_zh
    );
    let closed = app.pack_close(owner, package, Some(770)).await.unwrap();
    assert!(closed.packed, "{}", closed.message_zh);
    assert_eq!(closed.shipments_queued, 1);
    w.drain().await;
    assert_eq!(w.order_state(view.id).await, OrderState::Shipped);
    let shipment = &app
        .shipments(
            owner,
            &ShipmentFilter {
                order_id: Some(view.id),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()[0];
    assert_eq!(shipment.shipment.tracking_no, label);
    assert_eq!(shipment.shipment.carrier_code, "ZTO");
    assert_eq!(shipment.shipment.state, ShipmentState::Succeeded);
    // Shipping deducted the reserved stock.
    let stock = app
        .store()
        .stock_of_skus(owner.tenant_id, &[mug.id])
        .await
        .unwrap();
    assert_eq!(stock.iter().map(|s| s.on_hand).sum::<i64>(), 98);
    w.sim.shutdown().await;
}

both_backends!(
    a_tracking_file_is_previewed_applied_once_and_reported_row_by_row,
    a_held_order_shipped_by_hand_reaches_the_platform_and_its_holds_settle,
);

async fn a_held_order_shipped_by_hand_reaches_the_platform_and_its_holds_settle(db: TestDb) {
    let w = world(&db, 2).await;
    let id = w.orders[&Platform::Wechat][0];
    w.app
        .hold_order(&w.owner, id, "manual", "核对地址")
        .await
        .unwrap();
    assert_eq!(w.order_state(id).await, OrderState::OnHold);
    // The parcel left with a label from elsewhere: the platform must hear it.
    w.ship(id, &sf(1)).await;
    w.drain().await;
    assert_eq!(w.order_state(id).await, OrderState::Shipped);
    let holds = w.app.store().holds(w.owner.tenant_id, id).await.unwrap();
    assert!(holds.iter().all(|h| h.released_at.is_some()), "{holds:?}");
    let order_no = w.platform_order_id(id).await;
    w.sim
        .ledger()
        .check_shipped_exactly_once([(order_no.as_str(), "SF", sf(1).as_str())])
        .unwrap();
    w.sim.shutdown().await;
}

async fn a_tracking_file_is_previewed_applied_once_and_reported_row_by_row(db: TestDb) {
    use calamine::Reader;
    let w = world(&db, 8).await;
    let mut ours = Vec::new();
    for platform in [Platform::Wechat, Platform::Douyin] {
        for id in &w.orders[&platform] {
            ours.push((platform, *id, w.platform_order_id(*id).await));
        }
    }
    let xhs = w.orders[&Platform::Xiaohongshu].clone();
    // Shipped before the file comes in, with another number.
    let shipped_before = ours.pop().unwrap();
    w.ship(shipped_before.1, &sf(500)).await;
    w.drain().await;
    let mut csv = String::from("订单编号,物流公司,运单号\r\n");
    for (i, (_, _, no)) in ours.iter().enumerate() {
        csv += &format!("{no},顺丰速运,{}\r\n", sf(i + 1));
    }
    let first = &ours[0].2;
    let xhs_a = w.platform_order_id(xhs[0]).await;
    let xhs_b = w.platform_order_id(xhs[1]).await;
    csv += &format!("{first},顺丰速运,{}\r\n", sf(1)); // the same row again
    csv += &format!("NOPE-1,顺丰速运,{}\r\n", sf(900)); // no such order
    csv += &format!("{xhs_a},中通快递,{}\r\n", sf(901)); // an SF number under 中通
    csv += &format!("{xhs_b},SF,{}\r\n", sf(1)); // another order's number
    csv += &format!("{},顺丰速运,{}\r\n", shipped_before.2, sf(902));
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let preview = w
        .app
        .preview_shipment_import(&w.owner, "单号.csv", &gbk)
        .await
        .unwrap();
    assert_eq!(preview.encoding, Some("gb18030"));
    assert_eq!(preview.ready, ours.len(), "{:#?}", preview.rows);
    let codes: Vec<&str> = preview
        .rows
        .iter()
        .filter_map(|r| r.verdict_code.as_deref())
        .collect();
    assert_eq!(
        codes,
        [
            "duplicate_row",
            "unknown_order",
            "tracking_invalid",
            "reused_in_file",
            "already_shipped"
        ]
    );
    // The preview shipped nothing.
    w.drain().await;
    assert_eq!(
        w.sim.ledger().accepted_shipments().len(),
        1,
        "only the order shipped by hand"
    );
    let imported = preview.import.id;
    w.app
        .apply_shipment_import(&w.owner, imported)
        .await
        .unwrap();
    w.drain().await;
    // Applying again does nothing more.
    w.app
        .apply_shipment_import(&w.owner, imported)
        .await
        .unwrap();
    w.drain().await;
    let mut expected: Vec<(String, &str, String)> = ours
        .iter()
        .enumerate()
        .map(|(i, (p, _, no))| (no.clone(), w.platform_code(*p), sf(i + 1)))
        .collect();
    expected.push((
        shipped_before.2.clone(),
        w.platform_code(shipped_before.0),
        sf(500),
    ));
    w.sim
        .ledger()
        .check_shipped_exactly_once(
            expected
                .iter()
                .map(|(o, c, n)| (o.as_str(), *c, n.as_str())),
        )
        .unwrap();
    let status = w
        .app
        .shipment_import_status(&w.owner, imported)
        .await
        .unwrap();
    assert_eq!(status.import.state, "applied");
    assert_eq!(status.counts.get("succeeded"), Some(&ours.len()));
    assert_eq!(status.counts.get("skipped"), Some(&5));
    // The result file says what became of each row, numbers as text.
    let bytes = w
        .app
        .shipment_import_result(&w.owner, imported)
        .await
        .unwrap();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 1 + ours.len() + 5);
    assert!(rows[1].contains(&ours[0].2), "{:?}", rows[1]);
    assert!(rows[1].contains(&sf(1)));
    let all = rows.concat().join("|");
    assert!(all.contains("找不到订单 NOPE-1"), "{all}");
    // The same file again: every row is already shipped, nothing new goes out.
    let again = w
        .app
        .preview_shipment_import(&w.owner, "单号.csv", &gbk)
        .await
        .unwrap();
    assert_eq!(again.ready, 0);
    w.sim.shutdown().await;
}

both_backends!(one_number_for_two_orders_to_the_same_receiver_is_a_merged_parcel_not_a_slip);

async fn one_number_for_two_orders_to_the_same_receiver_is_a_merged_parcel_not_a_slip(db: TestDb) {
    let w = world(&db, 3).await;
    let (app, owner) = (&w.app, &w.owner);
    let shop = app
        .create_shop(
            owner,
            &ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "offline".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await
        .unwrap();
    let order = |no: &str, name: &str, detail: &str| OrderInput {
        shop_id: shop.id.get(),
        platform_order_id: no.into(),
        paid_total_fen: None,
        freight_fen: 0,
        buyer_note: None,
        seller_note: None,
        ship_by: None,
        presale_ship_at: None,
        receiver: ReceiverInput {
            name: name.into(),
            phone: "13800001234".into(),
            province: "上海市".into(),
            city: "上海市".into(),
            county: "徐汇区".into(),
            detail: detail.into(),
        },
        lines: vec![LineInput {
            sku_code: Some("MUG-350".into()),
            title: "马克杯".into(),
            quantity: 1,
            unit_price_fen: 3900,
            paid_fen: None,
        }],
    };
    let mut ids = Vec::new();
    for (no, name, detail) in [
        ("HB-1", "李四", "虹漕路461号"),
        ("HB-2", "李四", "虹漕路 461 号"),
        ("HB-3", "王五", "漕溪北路1号"),
        ("HB-4", "赵六", "田林路2号"),
        ("HB-5", "赵六", "田林路2号"),
        ("HB-6", "钱七", "宜山路3号"),
    ] {
        let (_, view) = app
            .create_manual_order(owner, &order(no, name, detail))
            .await
            .unwrap();
        // Review records the receiver key (same person, same address) whatever it decides.
        app.review_order_now(owner, view.id).await.unwrap();
        ids.push(view.id);
    }
    let ship = |id: OrderId, number: String| {
        let input = ManualShipment {
            carrier: "顺丰".into(),
            tracking_no: number,
            lines: Vec::new(),
        };
        async move { app.ship_order_manually(owner, id, &input).await }
    };
    ship(ids[0], sf(1)).await.unwrap();
    // The same parcel to the same receiver: accepted.
    ship(ids[1], sf(1)).await.unwrap();
    // Another receiver: a slip.
    let slip = ship(ids[2], sf(1)).await.unwrap_err();
    assert!(matches!(slip, AppError::Conflict(_)), "{slip:?}");
    // The same in a file.
    let csv = format!(
        "订单号,快递公司,快递单号\nHB-4,顺丰,{n}\nHB-5,顺丰,{n}\nHB-6,顺丰,{n}\n",
        n = sf(2)
    );
    let preview = app
        .preview_shipment_import(owner, "合单.csv", csv.as_bytes())
        .await
        .unwrap();
    let codes: Vec<Option<&str>> = preview
        .rows
        .iter()
        .map(|r| r.verdict_code.as_deref())
        .collect();
    assert_eq!(codes, [None, None, Some("reused_in_file")]);
    w.sim.shutdown().await;
}
