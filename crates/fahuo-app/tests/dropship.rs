//! Dropshipping (代发), on SQLite and PostgreSQL, against the platform emulators over real
//! HTTP: review gives a supplier the lines of the SKUs it ships and reserves none of the
//! merchant's stock for them; the supplier's valid number ships the order exactly once on its
//! platform; wrong, mistyped and reused numbers are refused with a message the supplier can
//! act on; a supplier that does not ship in time shows up in the late list; links expire and
//! are revoked by rotation; another merchant's supplier is invisible.

use chrono::{Duration, Utc};
use fahuo_app::catalog::{
    CredentialsInput, ShopInput, SkuInput, StockMovementInput, WarehouseInput,
};
use fahuo_app::dropship::{AssignInput, SupplierInput, UnassignInput};
use fahuo_app::jobs::JobRunner;
use fahuo_app::{Actor, App, AppError, ManualClock, Settings};
use fahuo_domain::review::{ReasonCode, ReviewSettings};
use fahuo_domain::{Name, OrderId, OrderState, Platform, SkuId, SupplierId, WarehouseId};
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

struct World {
    app: App,
    clock: ManualClock,
    owner: Actor,
    sim: SimHandle,
    warehouse: WarehouseId,
    /// Merchant SKUs by code.
    skus: HashMap<String, SkuId>,
    supplier: SupplierId,
    /// The codes the supplier ships.
    supplied: BTreeSet<String>,
    /// Per platform, an order whose every line the supplier ships.
    all_dropship: BTreeMap<Platform, OrderId>,
    /// An order with a supplier's line and lines of the merchant's own.
    mixed: OrderId,
}

fn sf(n: usize) -> String {
    format!("SF{:013}", 1_385_628_900_000u64 + n as u64)
}

fn codes(o: &fahuo_domain::order::Order) -> Vec<Option<String>> {
    o.lines
        .iter()
        .map(|l| {
            l.sku_code
                .as_ref()
                .map(|c| c.to_string())
                .filter(|c| !c.is_empty())
        })
        .collect()
}

async fn world(db: &TestDb, per_platform: usize) -> World {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(SimConfig::new(47, per_platform), listener).unwrap();
    let clock = ManualClock::new(Utc::now());
    let app = App::new(
        db.store.clone(),
        Arc::new(clock.clone()),
        Settings::default(),
    );
    let tenant = app
        .create_tenant(&Name::parse("代发商家").unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    // Only the stock rules: the emulator's notes and addresses must not hold orders here.
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
    // The shippable new orders, per platform.
    let mut synced: Vec<(Platform, fahuo_domain::order::Order)> = Vec::new();
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
            if sim.order(&o.platform_order_id).unwrap().shippable() && o.state == OrderState::New {
                let full = app.store().order(tenant.id, o.id).await.unwrap();
                synced.push((shop.platform, full));
            }
        }
    }
    // The mixed order: its first line the supplier's, its other lines the merchant's.
    let (mixed, own): (OrderId, BTreeSet<String>) = synced
        .iter()
        .find_map(|(_, o)| {
            let c = codes(o);
            let first = c.first()?.clone()?;
            let rest: BTreeSet<String> = c[1..].iter().flatten().cloned().collect();
            (c.len() >= 2 && c.iter().all(Option::is_some) && !rest.contains(&first))
                .then_some((o.id, rest))
        })
        .expect("the emulator generates multi-SKU orders");
    let mut supplied: BTreeSet<String> = BTreeSet::new();
    let m = &synced.iter().find(|(_, o)| o.id == mixed).unwrap().1;
    supplied.insert(codes(m)[0].clone().unwrap());
    let mut all_dropship = BTreeMap::new();
    for (platform, o) in &synced {
        if o.id == mixed || all_dropship.contains_key(platform) {
            continue;
        }
        let c = codes(o);
        if c.iter()
            .all(|c| c.as_ref().is_some_and(|c| !own.contains(c)))
        {
            supplied.extend(c.into_iter().flatten());
            all_dropship.insert(*platform, o.id);
        }
    }
    assert_eq!(all_dropship.len(), 3, "an all-dropship order per platform");
    // Merchant SKUs for every code; stock only for the merchant's own.
    let warehouse = app
        .create_warehouse(
            &owner,
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
        .unwrap()
        .id;
    let mut skus = HashMap::new();
    let all_codes: BTreeSet<String> = synced
        .iter()
        .flat_map(|(_, o)| codes(o).into_iter().flatten())
        .collect();
    for code in &all_codes {
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
        if !supplied.contains(code) {
            app.move_stock(
                &owner,
                &StockMovementInput {
                    warehouse_id: warehouse.get(),
                    sku_id: sku.id.get(),
                    kind: "inbound".into(),
                    quantity: 1000,
                    note: None,
                },
            )
            .await
            .unwrap();
        }
        skus.insert(code.clone(), sku.id);
    }
    let supplier = app
        .create_supplier(
            &owner,
            &SupplierInput {
                name: "义乌源头工厂".into(),
                contact: Some("王经理 13800001111".into()),
            },
        )
        .await
        .unwrap();
    let ids: Vec<SkuId> = supplied.iter().map(|c| skus[c]).collect();
    app.set_supplier_skus(&owner, supplier.id, &ids)
        .await
        .unwrap();
    World {
        app,
        clock,
        owner,
        sim,
        warehouse,
        skus,
        supplier: supplier.id,
        supplied,
        all_dropship,
        mixed,
    }
}

impl World {
    async fn review(&self, id: OrderId) -> fahuo_app::review::ReviewOutcome {
        self.app.review_order_now(&self.owner, id).await.unwrap()
    }

    async fn state(&self, id: OrderId) -> OrderState {
        self.app
            .store()
            .order(self.owner.tenant_id, id)
            .await
            .unwrap()
            .state
    }

    async fn reserved(&self, code: &str) -> i64 {
        self.app
            .store()
            .stock_of_skus(self.owner.tenant_id, &[self.skus[code]])
            .await
            .unwrap()
            .iter()
            .filter(|l| l.warehouse_id == self.warehouse)
            .map(|l| l.reserved)
            .sum()
    }

    async fn access(&self) -> fahuo_app::dropship::SupplierAccess {
        let link = self
            .app
            .supplier_link(&self.owner, self.supplier)
            .await
            .unwrap();
        self.app.supplier_access(&link.token).await.unwrap()
    }

    async fn drain(&self) {
        let runner = fahuo_app::shipping::register(JobRunner::new(self.app.clone(), "test"));
        for _ in 0..200 {
            if runner.run_once().await.unwrap() == 0 {
                return;
            }
        }
        panic!("jobs did not settle");
    }

    async fn platform_order_id(&self, id: OrderId) -> String {
        self.app
            .store()
            .order(self.owner.tenant_id, id)
            .await
            .unwrap()
            .platform_order_id
            .to_string()
    }
}

both_backends!(
    the_suppliers_lines_are_assigned_at_review_and_reserve_none_of_the_merchants_stock,
    the_suppliers_valid_number_ships_the_order_exactly_once_on_the_platform,
    wrong_carrier_bad_check_digit_and_reused_numbers_are_refused_with_messages,
    a_late_supplier_appears_in_the_late_list_as_time_passes,
    links_expire_and_rotating_the_secret_revokes_them,
    lines_taken_back_are_the_merchants_and_the_rule_does_not_give_them_back,
    another_tenants_supplier_is_invisible,
);

async fn the_suppliers_lines_are_assigned_at_review_and_reserve_none_of_the_merchants_stock(
    db: TestDb,
) {
    let w = world(&db, 10).await;
    let tenant = w.owner.tenant_id;
    for (platform, id) in &w.all_dropship {
        // The supplier's SKUs have no stock at all: no out-of-stock hold, no reservation.
        let outcome = w.review(*id).await;
        assert!(
            matches!(
                outcome,
                fahuo_app::review::ReviewOutcome::Skipped {
                    state: OrderState::Approved
                }
            ),
            "{platform:?}: {outcome:?}"
        );
        assert_eq!(w.state(*id).await, OrderState::Approved);
        assert!(
            w.app
                .store()
                .packages_of_order(tenant, *id)
                .await
                .unwrap()
                .is_empty()
        );
        let order = w.app.store().order(tenant, *id).await.unwrap();
        let assigned = w.app.order_dropship_lines(&w.owner, *id).await.unwrap();
        assert_eq!(
            assigned.len(),
            order.lines.len(),
            "every line is the supplier's"
        );
        assert!(
            assigned
                .iter()
                .all(|d| d.supplier_id == w.supplier && d.assigned_by == "review")
        );
    }
    for code in &w.supplied {
        assert_eq!(w.reserved(code).await, 0, "{code}: nothing reserved");
    }
    // The mixed order: its own lines are reserved and packed; the supplier's line is not.
    let outcome = w.review(w.mixed).await;
    assert!(
        matches!(outcome, fahuo_app::review::ReviewOutcome::Allocated { .. }),
        "{outcome:?}"
    );
    let order = w.app.store().order(tenant, w.mixed).await.unwrap();
    let supplier_line = order.lines[0].id;
    let assigned = w.app.order_dropship_lines(&w.owner, w.mixed).await.unwrap();
    assert_eq!(
        assigned.iter().map(|d| d.order_line_id).collect::<Vec<_>>(),
        vec![supplier_line]
    );
    let mut packed = Vec::new();
    for p in w
        .app
        .store()
        .packages_of_order(tenant, w.mixed)
        .await
        .unwrap()
    {
        packed.extend(
            w.app
                .store()
                .package_lines(tenant, p)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, l, _)| l),
        );
    }
    packed.sort();
    let mut own: Vec<_> = order.lines[1..].iter().map(|l| l.id).collect();
    own.sort();
    assert_eq!(packed, own, "only the merchant's lines are in its package");
    for code in codes(&order).into_iter().flatten() {
        let reserved = w.reserved(&code).await;
        if w.supplied.contains(&code) {
            assert_eq!(reserved, 0, "{code}");
        } else {
            assert!(reserved > 0, "{code}: the merchant's line is reserved");
        }
    }
    // Reviewing again changes nothing (the review job meets these orders every cycle).
    let again = w.review(w.all_dropship[&Platform::Wechat]).await;
    assert!(matches!(
        again,
        fahuo_app::review::ReviewOutcome::Skipped { .. }
    ));
    // The supplier's page shows these orders, masked.
    let access = w.access().await;
    let page = w.app.supplier_orders(&access).await.unwrap();
    for id in w.all_dropship.values().chain([&w.mixed]) {
        let o = page
            .iter()
            .find(|o| o.order_id == *id)
            .expect("on the page");
        let full = w.app.store().order(tenant, *id).await.unwrap();
        assert_eq!(o.receiver, full.receiver.masked());
    }
    assert_eq!(
        page.iter()
            .find(|o| o.order_id == w.mixed)
            .unwrap()
            .items
            .len(),
        1,
        "only the supplier's line of the mixed order"
    );
    w.sim.shutdown().await;
}

async fn the_suppliers_valid_number_ships_the_order_exactly_once_on_the_platform(db: TestDb) {
    let w = world(&db, 10).await;
    let access = w.access().await;
    let mut expected = Vec::new();
    for (i, (platform, id)) in w.all_dropship.iter().enumerate() {
        w.review(*id).await;
        let number = sf(i);
        let first = w
            .app
            .supplier_ship(&access, *id, "顺丰速运", &number)
            .await
            .unwrap();
        assert!(first.accepted(), "{platform:?}: {first:?}");
        // A double submit: the same shipment, nothing new queued.
        let again = w
            .app
            .supplier_ship(&access, *id, "SF", &number)
            .await
            .unwrap();
        assert!(
            !again.accepted() || again.shipment_id == first.shipment_id,
            "{again:?}"
        );
        let code = match platform {
            Platform::Wechat => "SF",
            _ => "shunfeng",
        };
        expected.push((w.platform_order_id(*id).await, code, number));
    }
    // The mixed order: the supplier ships its line; the order waits for the merchant's parcel.
    w.review(w.mixed).await;
    let mixed = w
        .app
        .supplier_ship(&access, w.mixed, "顺丰", &sf(50))
        .await
        .unwrap();
    assert!(mixed.accepted(), "{mixed:?}");
    w.drain().await;
    for (platform, id) in &w.all_dropship {
        assert_eq!(w.state(*id).await, OrderState::Shipped, "{platform:?}");
        let s = w
            .app
            .shipments(
                &w.owner,
                &fahuo_store::shipping::ShipmentFilter {
                    order_id: Some(*id),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].shipment.source,
            fahuo_domain::shipping::ShipmentSource::Supplier
        );
    }
    w.sim
        .ledger()
        .check_shipped_exactly_once(
            expected
                .iter()
                .map(|(o, c, n)| (o.as_str(), *c, n.as_str())),
        )
        .unwrap();
    assert_eq!(
        w.state(w.mixed).await,
        OrderState::Allocated,
        "the merchant's lines are not shipped yet"
    );
    // Shipped lines leave the supplier's page.
    let page = w.app.supplier_orders(&access).await.unwrap();
    assert!(
        page.iter()
            .all(|o| !w.all_dropship.values().any(|id| *id == o.order_id) && o.order_id != w.mixed)
    );
    w.sim.shutdown().await;
}

async fn wrong_carrier_bad_check_digit_and_reused_numbers_are_refused_with_messages(db: TestDb) {
    let w = world(&db, 10).await;
    let access = w.access().await;
    let a = w.all_dropship[&Platform::Wechat];
    let b = w.all_dropship[&Platform::Douyin];
    w.review(a).await;
    w.review(b).await;
    // A 中通 number entered under 顺丰.
    let wrong = w
        .app
        .supplier_ship(&access, a, "顺丰", "73610555582883")
        .await
        .unwrap();
    assert!(!wrong.accepted());
    assert!(
        wrong.message_zh.contains("中通") && wrong.message_zh.contains("顺丰"),
        "{}",
        wrong.message_zh
    );
    // An EMS number with a wrong check digit.
    let slip = w
        .app
        .supplier_ship(&access, a, "EMS", "EA123456784CN")
        .await
        .unwrap();
    assert!(!slip.accepted());
    assert!(slip.message_zh.contains("校验位"), "{}", slip.message_zh);
    let unknown = w
        .app
        .supplier_ship(&access, a, "不存在的快递", &sf(1))
        .await
        .unwrap();
    assert!(
        unknown.message_zh.contains("无法识别快递公司"),
        "{}",
        unknown.message_zh
    );
    // A number another order already has.
    assert!(
        w.app
            .supplier_ship(&access, a, "顺丰", &sf(1))
            .await
            .unwrap()
            .accepted()
    );
    let reused = w
        .app
        .supplier_ship(&access, b, "顺丰", &sf(1))
        .await
        .unwrap();
    assert!(!reused.accepted());
    assert!(
        reused.message_zh.contains("另一个订单"),
        "{}",
        reused.message_zh
    );
    // An order that is not the supplier's.
    let mut other = None;
    for id in w
        .app
        .store()
        .orders(
            w.owner.tenant_id,
            &fahuo_store::orders::OrderFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
    {
        if w.app
            .order_dropship_lines(&w.owner, id.id)
            .await
            .unwrap()
            .is_empty()
        {
            other = Some(id.id);
            break;
        }
    }
    let not_mine = w
        .app
        .supplier_ship(&access, other.unwrap(), "顺丰", &sf(2))
        .await
        .unwrap();
    assert!(!not_mine.accepted());
    assert!(
        not_mine.message_zh.contains("不在您的待发货列表"),
        "{}",
        not_mine.message_zh
    );
    w.drain().await;
    assert_eq!(
        w.sim.ledger().accepted_shipments().len(),
        1,
        "only order a shipped"
    );
    w.sim.shutdown().await;
}

async fn a_late_supplier_appears_in_the_late_list_as_time_passes(db: TestDb) {
    let w = world(&db, 10).await;
    let a = w.all_dropship[&Platform::Wechat];
    let b = w.all_dropship[&Platform::Xiaohongshu];
    w.review(a).await;
    w.review(b).await;
    let settings = fahuo_domain::shipping::ShippingSettings {
        supplier_hours: 48,
        ..Default::default()
    };
    w.app
        .set_shipping_settings(&w.owner, &settings)
        .await
        .unwrap();
    let late = |w: &World| {
        let app = w.app.clone();
        let owner = w.owner.clone();
        async move { app.late_suppliers(&owner).await.unwrap() }
    };
    // The emulator's orders must ship within days; a fresh assignment is not late yet
    // unless its ship-by is already near.
    let ship_by = |id: OrderId| {
        let app = w.app.clone();
        let t = w.owner.tenant_id;
        async move { app.store().order(t, id).await.unwrap().ship_by }
    };
    let near = |s: Option<chrono::DateTime<Utc>>| {
        s.is_some_and(|s| s - Duration::hours(12) <= w.clock_now())
    };
    let before = late(&w).await;
    for id in [a, b] {
        assert_eq!(
            before.iter().any(|l| l.order_id == id),
            near(ship_by(id).await),
            "order {id}"
        );
    }
    // Shipped orders leave the list; the other one stays, with its supplier and hours late.
    let access = w.access().await;
    assert!(
        w.app
            .supplier_ship(&access, b, "顺丰", &sf(3))
            .await
            .unwrap()
            .accepted()
    );
    w.clock.advance(Duration::hours(49));
    let after = late(&w).await;
    let entry = after.iter().find(|l| l.order_id == a).expect("a is late");
    assert_eq!(entry.supplier_id, w.supplier);
    assert_eq!(entry.supplier_name, "义乌源头工厂");
    assert!(entry.hours_late >= 1, "{entry:?}");
    assert!(!after.iter().any(|l| l.order_id == b), "b has its number");
    // Most urgent first.
    let keys: Vec<_> = after
        .iter()
        .map(|l| (l.ship_by.is_none(), l.ship_by))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    w.sim.shutdown().await;
}

impl World {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use fahuo_app::Clock;
        self.clock.now()
    }
}

async fn links_expire_and_rotating_the_secret_revokes_them(db: TestDb) {
    let w = world(&db, 4).await;
    let link = w.app.supplier_link(&w.owner, w.supplier).await.unwrap();
    assert!(link.path.ends_with(&link.token));
    let access = w.app.supplier_access(&link.token).await.unwrap();
    assert_eq!(access.supplier_id, w.supplier);
    let csrf = w.app.supplier_csrf(&access);
    assert!(w.app.supplier_csrf_matches(&access, &csrf));
    assert!(!w.app.supplier_csrf_matches(&access, "AAAA"));
    // Tampered: another supplier id, a later expiry, a changed signature.
    let parts: Vec<&str> = link.token.split('.').collect();
    for forged in [
        format!(
            "{}.{}.{}.{}",
            parts[0],
            w.supplier.get() + 1,
            parts[2],
            parts[3]
        ),
        format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1],
            parts[2].parse::<i64>().unwrap() + 86_400,
            parts[3]
        ),
        {
            // Change the signature's last character to one it is not.
            let sig = parts[3];
            let last = if sig.ends_with('A') { 'B' } else { 'A' };
            format!(
                "{}.{}.{}.{}{last}",
                parts[0],
                parts[1],
                parts[2],
                &sig[..sig.len() - 1]
            )
        },
        "garbage".to_string(),
    ] {
        assert!(
            matches!(
                w.app.supplier_access(&forged).await,
                Err(AppError::Unauthenticated)
            ),
            "{forged}"
        );
    }
    // Expired after supplier_link_days (7 by default).
    w.clock.advance(Duration::days(7) + Duration::seconds(1));
    assert!(w.app.supplier_access(&link.token).await.is_err(), "expired");
    // A new link works until the secret is rotated.
    let fresh = w.app.supplier_link(&w.owner, w.supplier).await.unwrap();
    assert!(w.app.supplier_access(&fresh.token).await.is_ok());
    w.app
        .rotate_supplier_link(&w.owner, w.supplier)
        .await
        .unwrap();
    assert!(
        w.app.supplier_access(&fresh.token).await.is_err(),
        "revoked"
    );
    // A deactivated supplier's links stop working too.
    let again = w.app.supplier_link(&w.owner, w.supplier).await.unwrap();
    w.app
        .update_supplier(
            &w.owner,
            w.supplier,
            &fahuo_app::dropship::SupplierPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        w.app.supplier_access(&again.token).await.is_err(),
        "deactivated"
    );
    w.sim.shutdown().await;
}

async fn lines_taken_back_are_the_merchants_and_the_rule_does_not_give_them_back(db: TestDb) {
    let w = world(&db, 10).await;
    let tenant = w.owner.tenant_id;
    let id = w.all_dropship[&Platform::Douyin];
    w.review(id).await;
    // The merchant stocks the SKUs and takes the order back: it is allocated from stock.
    let order = w.app.store().order(tenant, id).await.unwrap();
    for code in codes(&order).into_iter().flatten() {
        w.app
            .move_stock(
                &w.owner,
                &StockMovementInput {
                    warehouse_id: w.warehouse.get(),
                    sku_id: w.skus[&code].get(),
                    kind: "inbound".into(),
                    quantity: 100,
                    note: None,
                },
            )
            .await
            .unwrap();
    }
    let left = w
        .app
        .unassign_dropship(&w.owner, id, &UnassignInput::default())
        .await
        .unwrap();
    assert!(left.is_empty());
    assert_eq!(w.state(id).await, OrderState::Allocated);
    w.review(id).await;
    assert!(
        w.app
            .order_dropship_lines(&w.owner, id)
            .await
            .unwrap()
            .is_empty(),
        "not reassigned"
    );
    // Its lines are in a package now: assigning them by hand is refused.
    let refused = w
        .app
        .assign_dropship(
            &w.owner,
            id,
            &AssignInput {
                supplier_id: w.supplier,
                line_ids: Vec::new(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, AppError::Conflict(_)), "{refused:?}");
    // A shipped supplier line cannot be taken back.
    let other = w.all_dropship[&Platform::Wechat];
    w.review(other).await;
    let access = w.access().await;
    assert!(
        w.app
            .supplier_ship(&access, other, "顺丰", &sf(7))
            .await
            .unwrap()
            .accepted()
    );
    let order = w.app.store().order(tenant, other).await.unwrap();
    let shipped = w
        .app
        .unassign_dropship(
            &w.owner,
            other,
            &UnassignInput {
                line_ids: vec![order.lines[0].id],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(shipped, AppError::Conflict(_)), "{shipped:?}");
    w.sim.shutdown().await;
}

async fn another_tenants_supplier_is_invisible(db: TestDb) {
    let w = world(&db, 4).await;
    let other = w
        .app
        .create_tenant(&Name::parse("另一个商家").unwrap())
        .await
        .unwrap();
    let them = Actor::cli(other.id);
    assert!(w.app.suppliers(&them).await.unwrap().is_empty());
    for result in [
        w.app.supplier(&them, w.supplier).await.map(drop),
        w.app.supplier_lines(&them, w.supplier).await.map(drop),
        w.app.supplier_link(&them, w.supplier).await.map(drop),
        w.app.rotate_supplier_link(&them, w.supplier).await,
        w.app.purchase_order(&them, w.supplier).await.map(drop),
        w.app
            .update_supplier(
                &them,
                w.supplier,
                &fahuo_app::dropship::SupplierPatch {
                    active: Some(false),
                    ..Default::default()
                },
            )
            .await
            .map(drop),
        w.app
            .set_supplier_skus(&them, w.supplier, &[])
            .await
            .map(drop),
        w.app
            .assign_dropship(
                &them,
                w.mixed,
                &AssignInput {
                    supplier_id: w.supplier,
                    line_ids: Vec::new(),
                },
            )
            .await
            .map(drop),
    ] {
        assert!(matches!(result, Err(AppError::NotFound)), "{result:?}");
    }
    // Their own order cannot be given to our supplier either.
    assert!(w.app.late_suppliers(&them).await.unwrap().is_empty());
    // A link of ours with their tenant id does not open anything.
    let link = w.app.supplier_link(&w.owner, w.supplier).await.unwrap();
    let parts: Vec<&str> = link.token.split('.').collect();
    let swapped = format!("{}.{}.{}.{}", other.id, parts[1], parts[2], parts[3]);
    assert!(w.app.supplier_access(&swapped).await.is_err());
    // Our supplier is still intact.
    assert!(w.app.supplier(&w.owner, w.supplier).await.unwrap().active);
    w.sim.shutdown().await;
}
