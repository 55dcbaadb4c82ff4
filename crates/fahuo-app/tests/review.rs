//! Review and allocation as merchants see them, on SQLite and PostgreSQL: rules hold orders
//! with reasons, clean orders are approved and their stock reserved, stages are cleared by
//! their roles, stock-outs are released when goods arrive (oldest deadline first), the near
//! warehouse that can fill an order ships it, orders to one receiver share a box, stock
//! follows cancels and shipping, and deadlines raise one alert per threshold.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fahuo_app::catalog::{ShopInput, SkuInput, StockMovementInput, WarehouseInput};
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::review::{ReleaseInput, ReviewOutcome, WarehouseChoice};
use fahuo_app::users::UserInput;
use fahuo_app::{Actor, App, ManualClock, Settings};
use fahuo_domain::allocation::AllocationSettings;
use fahuo_domain::deadline::DeadlineSettings;
use fahuo_domain::review::{ReasonCode, ReviewSettings, ReviewStage};
use fahuo_domain::{Name, OrderEvent, OrderId, OrderState, Role, SkuId, Username, WarehouseId};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::sync::Arc;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 11, 8, 0, 0).unwrap()
}

/// A merchant with three warehouses (上海, 杭州, 北京), two SKUs and a manual shop.
struct Shop {
    app: App,
    clock: ManualClock,
    owner: Actor,
    shop: i64,
    other_shop: i64,
    shanghai: WarehouseId,
    hangzhou: WarehouseId,
    beijing: WarehouseId,
    mug: SkuId,
    pot: SkuId,
}

async fn merchant(db: &TestDb) -> Shop {
    let clock = ManualClock::new(start());
    let app = App::new(
        db.store.clone(),
        Arc::new(clock.clone()),
        Settings::default(),
    );
    static MERCHANTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MERCHANTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tenant = app
        .create_tenant(&Name::parse(&format!("审单商家{n}")).unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    let mut warehouses = Vec::new();
    for (code, name, province, city, county, lat, lng) in [
        (
            "SH01",
            "上海仓",
            "上海市",
            "上海市",
            "闵行区",
            31.11,
            121.38,
        ),
        (
            "HZ01",
            "杭州仓",
            "浙江省",
            "杭州市",
            "余杭区",
            30.42,
            120.30,
        ),
        (
            "BJ01",
            "北京仓",
            "北京市",
            "北京市",
            "大兴区",
            39.73,
            116.34,
        ),
    ] {
        let w = app
            .create_warehouse(
                &owner,
                &WarehouseInput {
                    code: code.into(),
                    name: name.into(),
                    province: province.into(),
                    city: city.into(),
                    county: county.into(),
                    address: "物流园1号".into(),
                    lat: Some(lat),
                    lng: Some(lng),
                },
            )
            .await
            .unwrap();
        warehouses.push(w.id);
    }
    let mut skus = Vec::new();
    for (code, name, weight, cost) in [
        ("MUG-350", "马克杯", 400, 1500),
        ("POT-01", "茶壶", 900, 2000),
    ] {
        let sku = app
            .create_sku(
                &owner,
                &SkuInput {
                    code: code.into(),
                    name: name.into(),
                    barcode: None,
                    weight_g: weight,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: cost,
                },
            )
            .await
            .unwrap();
        skus.push(sku.id);
    }
    let mut shops = Vec::new();
    for name in ["线下", "批发"] {
        let shop = app
            .create_shop(
                &owner,
                &ShopInput {
                    platform: "manual".into(),
                    name: name.into(),
                    platform_shop_id: name.into(),
                    api_base_url: None,
                    credentials: None,
                },
            )
            .await
            .unwrap();
        shops.push(shop.id.get());
    }
    Shop {
        app,
        clock,
        owner,
        shop: shops[0],
        other_shop: shops[1],
        shanghai: warehouses[0],
        hangzhou: warehouses[1],
        beijing: warehouses[2],
        mug: skus[0],
        pot: skus[1],
    }
}

/// An order of `quantity` mugs to 李四 in 上海徐汇, paid in full, due in 40 hours.
fn order(shop: i64, number: &str, quantity: i64) -> OrderInput {
    OrderInput {
        shop_id: shop,
        platform_order_id: number.into(),
        paid_total_fen: None,
        freight_fen: 0,
        buyer_note: None,
        seller_note: None,
        ship_by: Some(start() + Duration::hours(40)),
        presale_ship_at: None,
        receiver: ReceiverInput {
            name: "李四".into(),
            phone: "13912345678".into(),
            province: "上海市".into(),
            city: "上海市".into(),
            county: "徐汇区".into(),
            detail: "虹漕路461号58号楼5楼".into(),
        },
        lines: vec![LineInput {
            sku_code: Some("MUG-350".into()),
            title: "马克杯".into(),
            quantity,
            unit_price_fen: 3900,
            paid_fen: None,
        }],
    }
}

impl Shop {
    async fn stock(&self, warehouse: WarehouseId, sku: SkuId, quantity: i64) {
        self.app
            .move_stock(
                &self.owner,
                &StockMovementInput {
                    warehouse_id: warehouse.get(),
                    sku_id: sku.get(),
                    kind: "inbound".into(),
                    quantity,
                    note: None,
                },
            )
            .await
            .unwrap();
    }

    async fn place(&self, input: &OrderInput) -> OrderId {
        self.app
            .create_manual_order(&self.owner, input)
            .await
            .unwrap()
            .1
            .id
    }

    async fn review(&self, id: OrderId) -> ReviewOutcome {
        self.app
            .review_order(self.owner.tenant_id, id, &self.owner.audit_ref())
            .await
            .unwrap()
    }

    async fn state(&self, id: OrderId) -> OrderState {
        self.app.order(&self.owner, id).await.unwrap().state
    }

    async fn open_codes(&self, id: OrderId) -> Vec<String> {
        let mut codes: Vec<String> = self
            .app
            .order(&self.owner, id)
            .await
            .unwrap()
            .holds
            .into_iter()
            .filter(|h| h.released_at.is_none())
            .map(|h| h.reason_code)
            .collect();
        codes.sort();
        codes
    }

    /// (on hand, reserved) of a stock row.
    async fn level(&self, warehouse: WarehouseId, sku: SkuId) -> (i64, i64) {
        self.app
            .store()
            .stock_levels(self.owner.tenant_id, Some(sku))
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.warehouse_id == warehouse)
            .map(|l| (l.on_hand, l.reserved))
            .unwrap_or((0, 0))
    }

    async fn warehouses_of(&self, id: OrderId) -> Vec<WarehouseId> {
        let mut ws: Vec<WarehouseId> = self
            .app
            .store()
            .reservations(self.owner.tenant_id, id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.warehouse_id)
            .collect();
        ws.sort();
        ws.dedup();
        ws
    }

    async fn ledger_is_consistent(&self) {
        for check in self
            .app
            .store()
            .check_stock_ledger(self.owner.tenant_id)
            .await
            .unwrap()
        {
            assert!(check.consistent(), "ledger and stock disagree: {check:?}");
            assert!(
                check.reserved <= check.on_hand && check.on_hand >= 0,
                "{check:?}"
            );
        }
    }

    async fn user(&self, username: &str, role: Role) -> Actor {
        let user = self
            .app
            .add_user(
                &self.owner,
                UserInput {
                    username: Username::parse(username).unwrap(),
                    display_name: String::new(),
                    role,
                    password: fahuo_app::auth::Password::parse("correct horse battery").unwrap(),
                },
            )
            .await
            .unwrap();
        Actor {
            tenant_id: self.owner.tenant_id,
            user_id: Some(user.id),
            name: username.into(),
            role,
            scope: fahuo_domain::Scope::all(),
            via: fahuo_app::Via::Session,
        }
    }
}

both_backends!(
    each_rule_holds_the_order_with_its_reason_and_a_clean_order_is_reserved,
    staged_review_is_cleared_stage_by_stage_by_each_stages_role,
    stock_is_never_sold_twice_and_arrivals_release_the_oldest_deadlines_first,
    the_near_warehouse_that_can_fill_the_order_ships_it_else_split_or_transfer,
    orders_to_the_same_receiver_share_a_box_until_unmerged,
    stock_follows_the_order_released_on_cancel_and_hold_deducted_on_ship,
    edits_before_printing_are_audited_and_reviewed_again,
    a_buyers_new_address_reallocates_or_stops_a_printed_order,
    deadlines_raise_one_alert_per_threshold_and_at_risk_is_sorted_by_urgency,
);

async fn each_rule_holds_the_order_with_its_reason_and_a_clean_order_is_reserved(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 1000).await;
    m.app
        .add_to_blacklist(&m.owner, "13700000000", "多次拒收")
        .await
        .unwrap();
    type Tweak = fn(&mut OrderInput);
    let cases: Vec<(&str, Tweak, Vec<&str>)> = vec![
        ("a clean order passes and is reserved", |_| {}, vec![]),
        (
            "a buyer note goes to customer service",
            |o| o.buyer_note = Some("请发顺丰".into()),
            vec!["buyer_note"],
        ),
        (
            "a flagged seller note",
            |o| o.seller_note = Some("客户要求暂停发货".into()),
            vec!["seller_note_flag"],
        ),
        (
            "an unknown SKU code",
            |o| o.lines[0].sku_code = Some("NOPE-1".into()),
            vec!["unmapped_sku"],
        ),
        (
            "more than all warehouses have",
            |o| o.lines[0].quantity = 5000,
            vec!["out_of_stock"],
        ),
        (
            "paid below cost",
            |o| o.lines[0].paid_fen = Some(100),
            vec!["price_anomaly"],
        ),
        (
            "a presale not due yet",
            |o| o.presale_ship_at = Some(start() + Duration::days(5)),
            vec!["presale_not_due"],
        ),
        (
            "a blacklisted receiver",
            |o| o.receiver.phone = "13700000000".into(),
            vec!["risky_receiver"],
        ),
        (
            "an address without city and county",
            |o| {
                o.receiver.province = "浙江省".into();
                o.receiver.city = String::new();
                o.receiver.county = String::new();
                o.receiver.detail = "某某小区".into();
            },
            vec!["address_incomplete"],
        ),
        (
            "two rules at once",
            |o| {
                o.buyer_note = Some("周末送".into());
                o.lines[0].paid_fen = Some(100);
            },
            vec!["buyer_note", "price_anomaly"],
        ),
    ];
    for (n, (case, tweak, expected)) in cases.into_iter().enumerate() {
        let mut input = order(m.shop, &format!("R{n}"), 1);
        tweak(&mut input);
        let id = m.place(&input).await;
        let outcome = m.review(id).await;
        assert_eq!(m.open_codes(id).await, expected, "{case}");
        if expected.is_empty() {
            assert!(
                matches!(outcome, ReviewOutcome::Allocated { .. }),
                "{case}: {outcome:?}"
            );
            assert_eq!(m.state(id).await, OrderState::Allocated, "{case}");
            assert_eq!(m.warehouses_of(id).await, vec![m.shanghai], "{case}");
        } else {
            assert_eq!(m.state(id).await, OrderState::OnHold, "{case}");
            let view = m.app.order(&m.owner, id).await.unwrap();
            assert!(
                view.holds.iter().all(|h| h
                    .message
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
                "{case}: messages are Chinese sentences: {:?}",
                view.holds
            );
            assert!(
                view.holds
                    .iter()
                    .all(|h| h.message_en.contains("review")
                        || h.message_en.contains("before deciding")),
                "{case}: and kept in English for English pages: {:?}",
                view.holds
            );
        }
        // Reviewing again changes nothing: no duplicate holds, no second reservation.
        m.review(id).await;
        assert_eq!(m.open_codes(id).await, expected, "{case}: second review");
    }
    assert_eq!(
        m.level(m.shanghai, m.mug).await,
        (1000, 1),
        "only the clean order reserved"
    );

    // A rule switched off for the shop no longer holds.
    let settings = ReviewSettings {
        disabled: vec![ReasonCode::BuyerNote],
        ..ReviewSettings::default()
    };
    m.app
        .set_review_settings(&m.owner, Some(fahuo_domain::ShopId(m.shop)), Some(settings))
        .await
        .unwrap();
    let mut input = order(m.shop, "R-note-off", 1);
    input.buyer_note = Some("请发顺丰".into());
    let id = m.place(&input).await;
    m.review(id).await;
    assert_eq!(
        m.state(id).await,
        OrderState::Allocated,
        "buyer_note is off for this shop"
    );
    m.ledger_is_consistent().await;
}

async fn staged_review_is_cleared_stage_by_stage_by_each_stages_role(db: TestDb) {
    let m = merchant(&db).await;
    let settings = ReviewSettings {
        stages: vec![
            ReviewStage {
                name: "客服审核".into(),
                role: Role::Service,
                rules: vec![ReasonCode::BuyerNote],
            },
            ReviewStage {
                name: "仓库审核".into(),
                role: Role::Warehouse,
                rules: vec![ReasonCode::OutOfStock],
            },
        ],
        ..ReviewSettings::default()
    };
    m.app
        .set_review_settings(&m.owner, None, Some(settings))
        .await
        .unwrap();
    let service = m.user("kefu", Role::Service).await;
    let warehouse = m.user("cangku", Role::Warehouse).await;

    let mut input = order(m.shop, "S1", 2);
    input.buyer_note = Some("生日礼物，请不要放发票".into());
    let id = m.place(&input).await;
    m.review(id).await;
    assert_eq!(m.open_codes(id).await, ["buyer_note", "out_of_stock"]);
    let queue = |stage| {
        let app = m.app.clone();
        let owner = m.owner.clone();
        async move {
            app.review_queue(&owner, stage)
                .await
                .unwrap()
                .into_iter()
                .map(|q| q.order_id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(queue(0).await, [id], "customer service sees it first");
    assert!(
        queue(1).await.is_empty(),
        "the warehouse waits for customer service"
    );

    // The warehouse may not clear customer service's hold; customer service may.
    let refused = m
        .app
        .release_holds(
            &warehouse,
            id,
            &ReleaseInput {
                stage: Some(0),
                hold_ids: None,
            },
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    m.app
        .release_holds(
            &service,
            id,
            &ReleaseInput {
                stage: Some(0),
                hold_ids: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        m.open_codes(id).await,
        ["out_of_stock"],
        "the note is handled; stock still short"
    );
    assert_eq!(queue(1).await, [id], "now the warehouse's");

    // Releasing a stock-out by hand does not conjure stock: it is checked again.
    m.app
        .release_holds(&warehouse, id, &ReleaseInput::default())
        .await
        .unwrap();
    assert_eq!(m.open_codes(id).await, ["out_of_stock"]);

    // Goods arrive: the order waiting for them is allocated, and the note stays handled.
    m.stock(m.hangzhou, m.mug, 5).await;
    let allocated = m.app.stock_arrived(m.owner.tenant_id, m.mug).await.unwrap();
    assert_eq!(allocated, 1);
    assert_eq!(m.state(id).await, OrderState::Allocated);
    assert!(m.open_codes(id).await.is_empty());
    let timeline = m.app.order_timeline(&m.owner, id).await.unwrap();
    let actions: Vec<&str> = timeline.iter().map(|e| e.entry.action.as_str()).collect();
    assert!(
        actions.contains(&"order.release_holds") && actions.contains(&"order.allocate"),
        "{actions:?}"
    );
}

async fn stock_is_never_sold_twice_and_arrivals_release_the_oldest_deadlines_first(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 10).await;
    // 15 orders of one mug each, deadlines in scrambled order, reviewed concurrently.
    let mut ids = Vec::new();
    for n in 0..15i64 {
        let mut input = order(m.shop, &format!("C{n}"), 1);
        input.ship_by = Some(start() + Duration::hours(10 + (n * 7) % 15));
        ids.push((m.place(&input).await, input.ship_by.unwrap()));
    }
    let reviews = ids.iter().map(|(id, _)| {
        let app = m.app.clone();
        let tenant = m.owner.tenant_id;
        let id = *id;
        tokio::spawn(async move {
            loop {
                match app
                    .review_order(tenant, id, &fahuo_domain::audit::ActorRef::system("test"))
                    .await
                {
                    // Two reviews of one row may collide on the order's version: try again,
                    // as the review job does on its next batch.
                    Err(fahuo_app::AppError::Conflict(_)) => continue,
                    other => return other.unwrap(),
                }
            }
        })
    });
    futures::future::join_all(reviews).await;
    let mut allocated = 0;
    for (id, _) in &ids {
        match m.state(*id).await {
            OrderState::Allocated => allocated += 1,
            OrderState::OnHold => assert_eq!(m.open_codes(*id).await, ["out_of_stock"]),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(allocated, 10, "exactly the ten units were promised");
    assert_eq!(m.level(m.shanghai, m.mug).await, (10, 10));
    let waiting = m.app.stockouts(&m.owner, Some(m.mug)).await.unwrap();
    assert_eq!(waiting.len(), 5);
    let deadlines: Vec<_> = waiting.iter().map(|w| w.stockout.ship_by).collect();
    assert!(
        deadlines.windows(2).all(|w| w[0] <= w[1]),
        "oldest deadline first: {deadlines:?}"
    );

    // Three arrive: the three waiting orders with the earliest deadlines get them.
    m.stock(m.shanghai, m.mug, 3).await;
    m.app.stock_arrived(m.owner.tenant_id, m.mug).await.unwrap();
    let mut held: Vec<(DateTime<Utc>, OrderState)> = Vec::new();
    for w in &waiting {
        held.push((
            w.stockout.ship_by.unwrap(),
            m.state(w.stockout.order_id).await,
        ));
    }
    let states: Vec<OrderState> = held.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        [
            OrderState::Allocated,
            OrderState::Allocated,
            OrderState::Allocated,
            OrderState::OnHold,
            OrderState::OnHold
        ],
        "{held:?}"
    );
    assert_eq!(
        m.app.stockouts(&m.owner, Some(m.mug)).await.unwrap().len(),
        2
    );
    m.ledger_is_consistent().await;
}

async fn the_near_warehouse_that_can_fill_the_order_ships_it_else_split_or_transfer(db: TestDb) {
    struct Case {
        name: &'static str,
        stock: [(usize, i64); 3],
        settings: AllocationSettings,
        expect: &'static [usize],
        transfers: bool,
    }
    let split_only = AllocationSettings {
        allow_transfer: false,
        ..AllocationSettings::default()
    };
    let transfer_only = AllocationSettings {
        allow_split: false,
        ..AllocationSettings::default()
    };
    let neither = AllocationSettings {
        allow_split: false,
        allow_transfer: false,
        ..AllocationSettings::default()
    };
    // Warehouse indexes: 0 上海 (within 30 km of 徐汇), 1 杭州, 2 北京. The order wants 4 mugs.
    let cases = [
        Case {
            name: "all can fill: the near one",
            stock: [(0, 9), (1, 9), (2, 9)],
            settings: AllocationSettings::default(),
            expect: &[0],
            transfers: false,
        },
        Case {
            name: "the near one is short: the next that can fill",
            stock: [(0, 2), (1, 9), (2, 9)],
            settings: AllocationSettings::default(),
            expect: &[1],
            transfers: false,
        },
        Case {
            name: "none can fill alone: split",
            stock: [(0, 2), (1, 2), (2, 0)],
            settings: split_only.clone(),
            expect: &[0, 1],
            transfers: false,
        },
        Case {
            name: "none can fill alone: transfer to the best",
            stock: [(0, 2), (1, 2), (2, 0)],
            settings: transfer_only,
            expect: &[0],
            transfers: true,
        },
        Case {
            name: "neither allowed: out of stock",
            stock: [(0, 2), (1, 2), (2, 0)],
            settings: neither,
            expect: &[],
            transfers: false,
        },
    ];
    for (n, case) in cases.iter().enumerate() {
        // A fresh SKU per case keeps the stock of the cases apart.
        let sku = m_sku(&db, n).await;
        let m = &sku.0;
        let warehouses = [m.shanghai, m.hangzhou, m.beijing];
        for (w, q) in case.stock {
            if q > 0 {
                m.stock(warehouses[w], sku.1, q).await;
            }
        }
        m.app
            .set_allocation_settings(&m.owner, case.settings.clone())
            .await
            .unwrap();
        let mut input = order(m.shop, &format!("A{n}"), 4);
        input.lines[0].sku_code = Some(format!("CASE-{n}"));
        let id = m.place(&input).await;
        m.review(id).await;
        let expect: Vec<WarehouseId> = case.expect.iter().map(|i| warehouses[*i]).collect();
        assert_eq!(m.warehouses_of(id).await, expect, "{}", case.name);
        if expect.is_empty() {
            assert_eq!(m.open_codes(id).await, ["out_of_stock"], "{}", case.name);
            continue;
        }
        let reserved: i64 = m
            .app
            .store()
            .reservations(m.owner.tenant_id, id)
            .await
            .unwrap()
            .iter()
            .map(|r| r.units)
            .sum();
        assert_eq!(reserved, 4, "{}: exactly the order's units", case.name);
        let timeline = m.app.order_timeline(&m.owner, id).await.unwrap();
        let allocation = timeline
            .iter()
            .find(|e| e.entry.action == "order.allocate")
            .unwrap();
        let why = allocation.entry.after.as_ref().unwrap()["explanation"].to_string();
        assert!(
            why.contains("仓"),
            "{}: the timeline explains the choice: {why}",
            case.name
        );
        let moved = !allocation.entry.after.as_ref().unwrap()["transfers"]
            .as_array()
            .unwrap()
            .is_empty();
        assert_eq!(moved, case.transfers, "{}", case.name);
        m.ledger_is_consistent().await;
    }
}

/// A merchant for one allocation case, with a SKU `CASE-n` of its own (stock starts at 0).
async fn m_sku(db: &TestDb, n: usize) -> (Shop, SkuId) {
    let m = merchant(db).await;
    let sku = m
        .app
        .create_sku(
            &m.owner,
            &SkuInput {
                code: format!("CASE-{n}"),
                name: "测试品".into(),
                barcode: None,
                weight_g: 300,
                length_mm: 0,
                width_mm: 0,
                height_mm: 0,
                cost_fen: 100,
            },
        )
        .await
        .unwrap();
    let id = sku.id;
    (m, id)
}

async fn orders_to_the_same_receiver_share_a_box_until_unmerged(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 50).await;
    m.stock(m.shanghai, m.pot, 50).await;
    let first = m.place(&order(m.shop, "M1", 1)).await;
    m.review(first).await;
    // The same receiver, written differently (spaces, full-width digits), buys a teapot.
    let mut second = order(m.shop, "M2", 1);
    second.receiver.detail = "虹漕路４６１号 58号楼 5楼".into();
    second.lines[0].sku_code = Some("POT-01".into());
    let second = m.place(&second).await;
    m.review(second).await;
    let packages = |id| {
        let app = m.app.clone();
        let tenant = m.owner.tenant_id;
        async move { app.store().packages_of_order(tenant, id).await.unwrap() }
    };
    assert_eq!(
        packages(first).await,
        packages(second).await,
        "one box for both"
    );
    // Another receiver, or another shop, gets a box of its own.
    let mut other = order(m.shop, "M3", 1);
    other.receiver.phone = "13800000001".into();
    let other = m.place(&other).await;
    m.review(other).await;
    assert_ne!(packages(other).await, packages(first).await);
    let elsewhere = m.place(&order(m.other_shop, "M4", 1)).await;
    m.review(elsewhere).await;
    assert_ne!(
        packages(elsewhere).await,
        packages(first).await,
        "shops do not merge by default"
    );

    // Unmerged before printing: each order in its own box, its stock still reserved.
    m.app.unmerge_order(&m.owner, second).await.unwrap();
    assert_ne!(packages(first).await, packages(second).await);
    assert_eq!(m.state(second).await, OrderState::Allocated);
    assert_eq!(m.level(m.shanghai, m.pot).await, (50, 1));
    assert_eq!(m.level(m.shanghai, m.mug).await, (50, 3));
    m.ledger_is_consistent().await;
}

async fn stock_follows_the_order_released_on_cancel_and_hold_deducted_on_ship(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 10).await;
    let cancelled = m.place(&order(m.shop, "F1", 3)).await;
    let held = m.place(&order(m.shop, "F2", 2)).await;
    let mut shipped = order(m.shop, "F3", 1);
    shipped.receiver.phone = "13800000009".into();
    let shipped = m.place(&shipped).await;
    for id in [cancelled, held, shipped] {
        m.review(id).await;
    }
    assert_eq!(
        m.level(m.shanghai, m.mug).await,
        (10, 6),
        "merged or not, 6 reserved"
    );

    m.app.cancel_order(&m.owner, cancelled).await.unwrap();
    assert_eq!(
        m.level(m.shanghai, m.mug).await,
        (10, 3),
        "a cancel gives the stock back"
    );
    m.app
        .hold_order(&m.owner, held, "manual", "等客户确认颜色")
        .await
        .unwrap();
    assert_eq!(
        m.level(m.shanghai, m.mug).await,
        (10, 1),
        "a hold gives it back too"
    );
    assert!(
        m.app
            .store()
            .reservations(m.owner.tenant_id, held)
            .await
            .unwrap()
            .is_empty()
    );
    m.app
        .store()
        .transition_order(
            m.owner.tenant_id,
            shipped,
            OrderEvent::Ship,
            &m.owner.audit_ref(),
            start(),
        )
        .await
        .unwrap();
    assert_eq!(
        m.level(m.shanghai, m.mug).await,
        (9, 0),
        "shipping deducts what was reserved"
    );

    // The held order, released, is reserved again.
    m.app
        .release_holds(&m.owner, held, &ReleaseInput::default())
        .await
        .unwrap();
    assert_eq!(m.state(held).await, OrderState::Allocated);
    assert_eq!(m.level(m.shanghai, m.mug).await, (9, 2));
    m.ledger_is_consistent().await;
}

async fn edits_before_printing_are_audited_and_reviewed_again(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 10).await;
    m.stock(m.beijing, m.pot, 10).await;
    let mut input = order(m.shop, "E1", 1);
    input.receiver.city = String::new();
    input.receiver.county = String::new();
    input.receiver.detail = "某某小区".into();
    let id = m.place(&input).await;
    m.review(id).await;
    assert_eq!(m.open_codes(id).await, ["address_incomplete"]);
    // The buyer sends the full address: the order passes.
    m.app
        .edit_receiver(&m.owner, id, &order(m.shop, "x", 1).receiver)
        .await
        .unwrap();
    assert_eq!(m.state(id).await, OrderState::Allocated);
    // The merchant swaps the mug for a teapot: the reservation moves with it.
    let line = m.app.order(&m.owner, id).await.unwrap().lines[0].id;
    m.app
        .edit_line(
            &m.owner,
            id,
            line,
            &fahuo_app::review::LineEdit {
                sku_id: Some(m.pot.get()),
                units_per_item: None,
                quantity: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(m.state(id).await, OrderState::Allocated);
    assert_eq!(m.level(m.shanghai, m.mug).await, (10, 0));
    assert_eq!(
        m.level(m.beijing, m.pot).await,
        (10, 1),
        "only 北京 has teapots"
    );
    // And ships it from 北京 by hand, with a carrier: a warehouse without teapots refuses.
    let refused = m
        .app
        .choose_warehouse(
            &m.owner,
            id,
            &WarehouseChoice {
                warehouse_id: m.shanghai.get(),
                carrier: None,
            },
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(m.open_codes(id).await, ["out_of_stock"]);
    let actions: Vec<String> = m
        .app
        .order_timeline(&m.owner, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for expected in [
        "order.edit_receiver",
        "order.edit_line",
        "order.allocate",
        "order.review",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    // The timeline never shows the receiver in clear.
    let text = serde_json::to_string(&m.app.order_timeline(&m.owner, id).await.unwrap()).unwrap();
    assert!(
        !text.contains("13912345678") && !text.contains("虹漕路461号"),
        "{text}"
    );
    m.ledger_is_consistent().await;
}

async fn deadlines_raise_one_alert_per_threshold_and_at_risk_is_sorted_by_urgency(db: TestDb) {
    let m = merchant(&db).await;
    m.app
        .set_deadline_settings(
            &m.owner,
            DeadlineSettings {
                alert_hours: vec![24, 6, 1],
            },
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (n, hours) in [(0, 30i64), (1, 5), (2, 30 * 24)] {
        let mut input = order(m.shop, &format!("D{n}"), 1);
        input.ship_by = Some(start() + Duration::minutes(hours * 60 + 30));
        ids.push(m.place(&input).await);
    }
    assert_eq!(
        m.app.scan_deadlines().await.unwrap(),
        1,
        "only the 5.5 h order is within a threshold"
    );
    assert_eq!(
        m.app.scan_deadlines().await.unwrap(),
        0,
        "one alert per threshold"
    );
    m.clock.advance(Duration::hours(7));
    // Now: 23.5 h left (24 h alert) and overdue by 1.5 h (1 h alert).
    assert_eq!(m.app.scan_deadlines().await.unwrap(), 2);
    let alerts = m.app.deadline_alerts(&m.owner, None).await.unwrap();
    let mut by_order: Vec<(OrderId, i64)> = alerts
        .iter()
        .map(|a| (a.order_id, a.threshold_hours))
        .collect();
    by_order.sort();
    assert_eq!(by_order, [(ids[0], 24), (ids[1], 1), (ids[1], 6)]);

    let risky = m.app.at_risk(&m.owner, 24).await.unwrap();
    let order_ids: Vec<OrderId> = risky.iter().map(|r| r.order.order_id).collect();
    assert_eq!(
        order_ids,
        [ids[1], ids[0]],
        "most urgent first; the 30-day order is not at risk"
    );
    assert!(risky[0].countdown.overdue && risky[0].countdown.label_zh.starts_with("已超时"));
    assert!(
        risky[1].countdown.label_zh.starts_with("剩余"),
        "{:?}",
        risky[1].countdown
    );
}

async fn a_buyers_new_address_reallocates_or_stops_a_printed_order(db: TestDb) {
    let m = merchant(&db).await;
    m.stock(m.shanghai, m.mug, 10).await;
    m.stock(m.beijing, m.mug, 10).await;
    let allocated = m.place(&order(m.shop, "N1", 1)).await;
    let mut other = order(m.shop, "N2", 1);
    other.receiver.phone = "13800000002".into();
    let labelled = m.place(&other).await;
    for id in [allocated, labelled] {
        m.review(id).await;
        assert_eq!(m.warehouses_of(id).await, vec![m.shanghai]);
    }
    // N2 already has its number.
    m.app
        .store()
        .transition_order(
            m.owner.tenant_id,
            labelled,
            OrderEvent::IssueWaybill,
            &m.owner.audit_ref(),
            start(),
        )
        .await
        .unwrap();

    // Both buyers move to 北京 (the order comes again, newer).
    m.clock.advance(Duration::minutes(5));
    let to_beijing = |mut input: OrderInput| {
        input.receiver.province = "北京市".into();
        input.receiver.city = "北京市".into();
        input.receiver.county = "大兴区".into();
        input.receiver.detail = "黄村镇兴华大街1号".into();
        input
    };
    m.app
        .create_manual_order(&m.owner, &to_beijing(order(m.shop, "N1", 1)))
        .await
        .unwrap();
    m.app
        .create_manual_order(&m.owner, &to_beijing(other))
        .await
        .unwrap();
    assert_eq!(m.state(allocated).await, OrderState::Allocated);
    assert_eq!(
        m.warehouses_of(allocated).await,
        vec![m.beijing],
        "reallocated near the new address"
    );
    assert_eq!(m.state(labelled).await, OrderState::OnHold);
    assert_eq!(
        m.open_codes(labelled).await,
        ["address_changed_after_waybill"],
        "the old label must not ship"
    );
    m.ledger_is_consistent().await;
}
