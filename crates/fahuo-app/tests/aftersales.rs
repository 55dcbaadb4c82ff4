//! After-sales (售后) end to end, on SQLite and PostgreSQL, against the WeChat Shop emulator
//! over real HTTP (and a kdniao pickup double): a refund before shipping holds the order and,
//! once approved, refunds it and gives its stock back; a rejected one releases the hold; a
//! return after shipping gets a return label and a pickup, comes back, is inspected with a
//! photo, restocked and refunded, each decision reaching the platform exactly once; duplicate
//! and stale pictures change nothing; a bad photo stores nothing; claims and reships are kept
//! with their order.

use axum::routing::post;
use base64::Engine;
use fahuo_app::aftersales::{
    ApprovalOutcome, ClaimInput, InspectionInput, PickupInput, ReshipInput, ReturnLabelInput,
    SettleClaimInput,
};
use fahuo_app::catalog::{
    CredentialsInput, ShopInput, SkuInput, StockMovementInput, WarehouseInput,
};
use fahuo_app::jobs::JobRunner;
use fahuo_app::printing::BindCarrierAccount;
use fahuo_app::shipping::ManualShipment;
use fahuo_app::tracking::TrackingAccountInput;
use fahuo_app::{Actor, App, AppError, Settings, SystemClock};
use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus, ClaimState};
use fahuo_domain::catalog::Warehouse;
use fahuo_domain::fulfilment::WaybillService;
use fahuo_domain::{AfterSaleId, CarrierCode, Name, OrderId, OrderState, Platform, ShopId};
use fahuo_platforms::waybill::WaybillCredentials;
use fahuo_sim::aftersale::{Action, DecisionOutcome, Kind};
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::aftersales::{AfterSaleFilter, Synced, SyncedAfterSale};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::collections::BTreeSet;
use std::sync::Arc;

struct World {
    app: App,
    owner: Actor,
    sim: SimHandle,
    shop: ShopId,
    warehouse: Warehouse,
    /// Synced WeChat orders with one line whose SKU fahuo knows, approved.
    orders: Vec<OrderId>,
}

fn sf(n: i64) -> String {
    format!("SF{:013}", 1_385_628_700_000i64 + n)
}

async fn world(db: &TestDb) -> World {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(SimConfig::new(57, 14), listener).unwrap();
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let tenant = app
        .create_tenant(&Name::parse("售后商家").unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    let info = sim.info();
    let shop = app
        .create_shop(
            &owner,
            &ShopInput {
                platform: "wechat".into(),
                name: "微信小店".into(),
                platform_shop_id: info.wechat.appid.clone(),
                api_base_url: Some(info.wechat_base_url.clone()),
                credentials: Some(CredentialsInput {
                    app_key: info.wechat.appid.clone(),
                    app_secret: info.wechat.secret.clone(),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap();
    app.sync_shop(tenant.id, shop.id).await.unwrap();
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
        .unwrap();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .unwrap();
    app.bind_carrier_account(
        &owner,
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
    let mut codes = BTreeSet::new();
    let mut orders = Vec::new();
    for o in page.items {
        let on_platform = sim.order(&o.platform_order_id).unwrap();
        let full = app.store().order(tenant.id, o.id).await.unwrap();
        let code = full.lines.first().and_then(|l| l.sku_code.clone());
        if on_platform.shippable()
            && o.state == OrderState::New
            && full.lines.len() == 1
            && let Some(code) = code
        {
            codes.insert(code.as_str().to_string());
            orders.push(o.id);
        }
    }
    for code in &codes {
        let sku = app
            .create_sku(
                &owner,
                &SkuInput {
                    code: code.clone(),
                    name: code.clone(),
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
                quantity: 100,
                note: None,
            },
        )
        .await
        .unwrap();
    }
    for id in &orders {
        app.approve_order(&owner, *id).await.unwrap();
    }
    assert!(orders.len() >= 4, "the emulator has single-line orders");
    World {
        app,
        owner,
        sim,
        shop: shop.id,
        warehouse,
        orders,
    }
}

impl World {
    async fn drain(&self) {
        let every = chrono::Duration::minutes(10);
        let runner = fahuo_app::aftersales::register(
            fahuo_app::shipping::register(JobRunner::new(self.app.clone(), "test")),
            every,
        );
        for _ in 0..200 {
            if runner.run_once().await.unwrap() == 0 {
                return;
            }
        }
        panic!("jobs did not settle");
    }

    fn tenant(&self) -> fahuo_domain::TenantId {
        self.owner.tenant_id
    }

    async fn state(&self, id: OrderId) -> OrderState {
        self.app
            .store()
            .order(self.tenant(), id)
            .await
            .unwrap()
            .state
    }

    async fn number(&self, id: OrderId) -> String {
        self.app
            .store()
            .order(self.tenant(), id)
            .await
            .unwrap()
            .platform_order_id
            .as_str()
            .to_string()
    }

    /// The buyer asks on the platform; the push job reads it into fahuo.
    async fn buyer_asks(&self, order: OrderId, kind: Kind) -> (String, AfterSaleId) {
        let platform_id = self
            .sim
            .open_after_sale(&self.number(order).await, kind)
            .expect("the emulator opens the after-sale");
        let id = self
            .app
            .sync_after_sale(self.tenant(), self.shop, &platform_id)
            .await
            .unwrap()
            .id();
        (platform_id, id)
    }

    async fn status(&self, id: AfterSaleId) -> AfterSaleStatus {
        self.app
            .store()
            .after_sale(self.tenant(), id)
            .await
            .unwrap()
            .status
    }

    async fn open_refund_holds(&self, id: OrderId) -> usize {
        self.app
            .store()
            .open_holds(self.tenant(), id)
            .await
            .unwrap()
            .iter()
            .filter(|(_, code, _)| code == fahuo_app::intake::HOLD_REFUND)
            .count()
    }

    /// The platform's ledger: accepted decisions of one action on one after-sale.
    fn accepted(&self, platform_id: &str, action: Action) -> usize {
        self.sim
            .after_sales(Some(fahuo_sim::Platform::Wechat))
            .decisions
            .iter()
            .filter(|d| {
                d.after_sale_id == platform_id
                    && d.action == action
                    && d.outcome == DecisionOutcome::Accepted
                    && d.by == "merchant"
            })
            .count()
    }

    async fn ledger_sums_to_stock(&self) {
        for c in self
            .app
            .store()
            .check_stock_ledger(self.tenant())
            .await
            .unwrap()
        {
            assert_eq!(
                (c.on_hand, c.reserved),
                (c.ledger_on_hand, c.ledger_reserved),
                "{c:?}"
            );
        }
    }

    async fn reserved(&self) -> i64 {
        self.app
            .store()
            .stock_levels(self.tenant(), None)
            .await
            .unwrap()
            .iter()
            .map(|l| l.reserved)
            .sum()
    }
}

both_backends!(
    a_refund_before_shipping_holds_the_order_then_refunds_it_or_is_rejected,
    a_return_is_labelled_picked_up_inspected_restocked_and_refunded_once,
    claims_and_reships_stay_with_their_order,
);

async fn a_refund_before_shipping_holds_the_order_then_refunds_it_or_is_rejected(db: TestDb) {
    let w = world(&db).await;
    let (order, other) = (w.orders[0], w.orders[1]);
    for id in [order, other] {
        w.app
            .allocate_order(
                &w.owner,
                id,
                w.warehouse.id,
                Some(CarrierCode::parse("ZTO").unwrap()),
            )
            .await
            .unwrap();
    }
    assert!(w.reserved().await > 0);

    // The buyer asks for a refund: the order is held, its stock stays reserved for now.
    let (pid, id) = w.buyer_asks(order, Kind::RefundOnly).await;
    let a = w.app.store().after_sale(w.tenant(), id).await.unwrap();
    assert_eq!(
        (a.kind, a.status, a.order_id),
        (
            AfterSaleKind::RefundOnly,
            AfterSaleStatus::Requested,
            Some(order)
        )
    );
    assert!(a.lines.iter().all(|l| l.order_line_id.is_some()), "{a:?}");
    assert_eq!(w.state(order).await, OrderState::OnHold);
    assert_eq!(w.open_refund_holds(order).await, 1);

    // A second read (a duplicate push) changes nothing.
    let again = w
        .app
        .sync_after_sale(w.tenant(), w.shop, &pid)
        .await
        .unwrap();
    assert_eq!(again, Synced::Unchanged(id));
    assert_eq!(w.open_refund_holds(order).await, 1);

    // Approved (a double click queues once): the platform refunds; the order is refunded and
    // its reservation given back.
    assert_eq!(
        w.app.approve_after_sale(&w.owner, id).await.unwrap(),
        ApprovalOutcome::Queued
    );
    w.app.approve_after_sale(&w.owner, id).await.unwrap();
    w.drain().await;
    assert_eq!(w.status(id).await, AfterSaleStatus::Completed);
    assert_eq!(w.state(order).await, OrderState::Refunded);
    assert_eq!(w.accepted(&pid, Action::Approve), 1);
    w.ledger_sums_to_stock().await;

    // Rejected: the hold goes, the order carries on.
    let (pid2, id2) = w.buyer_asks(other, Kind::RefundOnly).await;
    assert_eq!(w.state(other).await, OrderState::OnHold);
    let empty = w.app.reject_after_sale(&w.owner, id2, "  ").await;
    assert!(matches!(empty, Err(AppError::Invalid(_))), "{empty:?}");
    w.app
        .reject_after_sale(&w.owner, id2, "商品已打包，请收货后申请退货")
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.status(id2).await, AfterSaleStatus::Rejected);
    assert_eq!(w.open_refund_holds(other).await, 0);
    assert_ne!(w.state(other).await, OrderState::OnHold);
    assert_ne!(w.state(other).await, OrderState::Refunded);
    assert_eq!(w.accepted(&pid2, Action::Reject), 1);
    // Everything left reserved belongs to the order still going out.
    assert!(w.reserved().await > 0);
    w.ledger_sums_to_stock().await;

    // A refund above the threshold proposed by customer service waits for an admin.
    w.app
        .set_after_sale_settings(
            &w.owner,
            &fahuo_app::aftersales::AfterSaleSettings {
                approval_threshold_fen: Some(1),
            },
        )
        .await
        .unwrap();
    let third = w.orders[2];
    let (_, id3) = w.buyer_asks(third, Kind::RefundOnly).await;
    let service = Actor {
        role: fahuo_domain::Role::Service,
        name: "客服小王".into(),
        ..w.owner.clone()
    };
    assert_eq!(
        w.app.approve_after_sale(&service, id3).await.unwrap(),
        ApprovalOutcome::Proposed
    );
    let a3 = w.app.store().after_sale(w.tenant(), id3).await.unwrap();
    assert_eq!(
        (a3.proposed_by.as_deref(), a3.pending_action),
        (Some("客服小王"), None)
    );
    let viewer = Actor {
        role: fahuo_domain::Role::Viewer,
        ..w.owner.clone()
    };
    assert!(matches!(
        w.app.approve_after_sale(&viewer, id3).await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(
        w.app.approve_after_sale(&w.owner, id3).await.unwrap(),
        ApprovalOutcome::Queued
    );
    w.drain().await;
    assert_eq!(w.status(id3).await, AfterSaleStatus::Completed);
    w.sim.shutdown().await;
}

/// A kdniao pickup (1001) and cancel (1004) double: answers each booking with its code.
async fn pickup_double() -> String {
    async fn handle(axum::extract::Form(f): axum::extract::Form<Vec<(String, String)>>) -> String {
        let get = |k: &str| {
            f.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let data: serde_json::Value = serde_json::from_str(&get("RequestData")).unwrap_or_default();
        let code = data["OrderCode"].as_str().unwrap_or_default().to_string();
        match get("RequestType").as_str() {
            "1001" => serde_json::json!({
                "Success": true, "ResultCode": "100",
                "Order": { "OrderCode": code, "KDNOrderCode": format!("KDN{code}"), "LogisticCode": "73100000000001" }
            })
            .to_string(),
            "1004" => serde_json::json!({ "Success": true, "ResultCode": "100" }).to_string(),
            other => serde_json::json!({ "Success": false, "Reason": format!("type {other}") }).to_string(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/api/OOrderService", post(handle));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(b"\0\0\0\rIHDR fake image body");
    v
}

async fn a_return_is_labelled_picked_up_inspected_restocked_and_refunded_once(db: TestDb) {
    let w = world(&db).await;
    let order = w.orders[0];
    w.app
        .ship_order_manually(
            &w.owner,
            order,
            &ManualShipment {
                carrier: "顺丰".into(),
                tracking_no: sf(order.get()),
                lines: Vec::new(),
            },
        )
        .await
        .unwrap();
    w.drain().await;
    assert_eq!(w.state(order).await, OrderState::Shipped);

    let (pid, id) = w.buyer_asks(order, Kind::ReturnRefund).await;
    assert_eq!(w.status(id).await, AfterSaleStatus::Requested);
    // A shipped order is not held.
    assert_eq!(w.open_refund_holds(order).await, 0);
    // No label before approval.
    let account = w.app.carrier_accounts(&w.owner).await.unwrap()[0]
        .account
        .id;
    let early = w
        .app
        .issue_return_label(
            &w.owner,
            id,
            &ReturnLabelInput {
                carrier_account_id: account,
                warehouse_id: w.warehouse.id,
            },
        )
        .await;
    assert!(matches!(early, Err(AppError::Conflict(_))), "{early:?}");

    w.app.approve_after_sale(&w.owner, id).await.unwrap();
    w.drain().await;
    assert_eq!(w.status(id).await, AfterSaleStatus::AwaitingReturn);

    // A free-return label on the merchant's ZTO account; asking again gives the same number.
    let label = w
        .app
        .issue_return_label(
            &w.owner,
            id,
            &ReturnLabelInput {
                carrier_account_id: account,
                warehouse_id: w.warehouse.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(label.carrier, "ZTO");
    let same = w
        .app
        .issue_return_label(
            &w.owner,
            id,
            &ReturnLabelInput {
                carrier_account_id: account,
                warehouse_id: w.warehouse.id,
            },
        )
        .await
        .unwrap();
    assert_eq!(same, label);

    // A courier pickup through a kdniao tracking account; it can be cancelled.
    let base = pickup_double().await;
    let tracking = w
        .app
        .create_tracking_account(
            &w.owner,
            TrackingAccountInput {
                name: "快递鸟".into(),
                service: "kdniao".into(),
                base_url: base,
                customer: "EB100".into(),
                key: "secret".into(),
                poll_hours: None,
            },
        )
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let pickup = w
        .app
        .book_return_pickup(
            &w.owner,
            id,
            &PickupInput {
                tracking_account_id: tracking.account.id,
                carrier: "ZTO".into(),
                warehouse_id: w.warehouse.id,
                start: now + chrono::Duration::hours(2),
                end: now + chrono::Duration::hours(4),
            },
        )
        .await
        .unwrap();
    assert_eq!(pickup.state, "booked");
    assert!(pickup.booking_id.is_some());
    let cancelled = w.app.cancel_return_pickup(&w.owner, id).await.unwrap();
    assert_eq!(cancelled.state, "cancelled");

    // The buyer ships it back; the platform reports the return number.
    w.sim.advance_clock(31 * 3600);
    w.app
        .sync_after_sale(w.tenant(), w.shop, &pid)
        .await
        .unwrap();
    let a = w.app.store().after_sale(w.tenant(), id).await.unwrap();
    assert_eq!(a.status, AfterSaleStatus::ReturnShipped);
    let return_no = a.return_tracking_no.clone().expect("a return number");

    // The warehouse scans the number.
    let scanned = w.app.scan_return(&w.owner, &return_no).await.unwrap();
    assert_eq!(scanned.after_sale.id, id);

    // A GIF is refused with a clear reason, and nothing is stored.
    let before = w.app.store().stock_levels(w.tenant(), None).await.unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let bad = w
        .app
        .inspect_return(
            &w.owner,
            id,
            &InspectionInput {
                warehouse_id: w.warehouse.id,
                verdict: "resell".into(),
                note: None,
                lines: Vec::new(),
                photos: vec![b64(&png()), b64(b"GIF89a\x01\0\x01\0")],
            },
        )
        .await;
    match bad {
        Err(AppError::Invalid(e)) => assert!(
            e.to_string()
                .contains("photo 2 is not a JPEG, PNG or WebP image"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        w.app
            .store()
            .inspection(w.tenant(), id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        w.app.store().stock_levels(w.tenant(), None).await.unwrap(),
        before
    );

    // Inspected with a photo: resold, restocked into the warehouse, refund confirmed.
    let detail = w
        .app
        .inspect_return(
            &w.owner,
            id,
            &InspectionInput {
                warehouse_id: w.warehouse.id,
                verdict: "resell".into(),
                note: Some("包装完好".into()),
                lines: Vec::new(),
                photos: vec![b64(&png())],
            },
        )
        .await
        .unwrap();
    assert_eq!(detail.after_sale.status, AfterSaleStatus::ReturnReceived);
    let inspection = detail.inspection.unwrap();
    assert_eq!(inspection.photos.len(), 1);
    assert_eq!(inspection.photos[0].content_type, "image/png");
    let units: i64 = inspection.lines.iter().map(|l| l.units).sum();
    assert!(units > 0);
    let after = w.app.store().stock_levels(w.tenant(), None).await.unwrap();
    let on_hand = |v: &[fahuo_domain::stock::StockLevel]| v.iter().map(|l| l.on_hand).sum::<i64>();
    assert_eq!(on_hand(&after), on_hand(&before) + units);
    w.ledger_sums_to_stock().await;
    let (ct, bytes) = w.app.inspection_photo(&w.owner, id, 1).await.unwrap();
    assert_eq!((ct.as_str(), bytes), ("image/png", png()));
    // A second inspection of the same parcel is refused (no second restock).
    let twice = w
        .app
        .inspect_return(
            &w.owner,
            id,
            &InspectionInput {
                warehouse_id: w.warehouse.id,
                verdict: "resell".into(),
                note: None,
                lines: Vec::new(),
                photos: Vec::new(),
            },
        )
        .await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");

    w.drain().await;
    assert_eq!(w.status(id).await, AfterSaleStatus::Completed);
    assert_eq!(w.accepted(&pid, Action::Approve), 1);
    assert_eq!(w.accepted(&pid, Action::ConfirmReceipt), 1);

    // Stale and duplicate pictures change nothing.
    let events = w
        .app
        .store()
        .after_sale_events(w.tenant(), id)
        .await
        .unwrap()
        .len();
    let stale = SyncedAfterSale {
        shop_id: w.shop,
        order_id: Some(order),
        platform_after_sale_id: pid.clone(),
        platform_order_id: w.number(order).await,
        kind: AfterSaleKind::ReturnRefund,
        status: AfterSaleStatus::AwaitingReturn,
        platform_status: "USER_WAIT_RETURN".into(),
        reason: None,
        refund_fen: None,
        lines: Vec::new(),
        return_parcel: None,
        created_at: None,
        updated_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
    };
    assert_eq!(
        w.app
            .store()
            .upsert_synced_after_sale(w.tenant(), &stale, chrono::Utc::now())
            .await
            .unwrap(),
        Synced::Unchanged(id)
    );
    assert_eq!(
        w.app
            .sync_after_sale(w.tenant(), w.shop, &pid)
            .await
            .unwrap(),
        Synced::Unchanged(id)
    );
    assert_eq!(
        w.app
            .store()
            .after_sale_events(w.tenant(), id)
            .await
            .unwrap()
            .len(),
        events
    );
    assert_eq!(w.status(id).await, AfterSaleStatus::Completed);
    w.ledger_sums_to_stock().await;
    w.sim.shutdown().await;
}

async fn claims_and_reships_stay_with_their_order(db: TestDb) {
    let w = world(&db).await;
    let order = w.orders[0];
    let number = sf(order.get());
    w.app
        .ship_order_manually(
            &w.owner,
            order,
            &ManualShipment {
                carrier: "顺丰".into(),
                tracking_no: number.clone(),
                lines: Vec::new(),
            },
        )
        .await
        .unwrap();
    w.drain().await;

    // The parcel was lost: a claim found by its number, then settled.
    let claim = w
        .app
        .open_claim(
            &w.owner,
            &ClaimInput {
                tracking_no: number.clone(),
                carrier: None,
                order_id: None,
                claimed_fen: 5_900,
                note: Some("包裹丢失".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(claim.after_sale.order_id, Some(order));
    assert_eq!(claim.after_sale.kind, AfterSaleKind::Claim);
    let c = claim.claim.clone().unwrap();
    assert_eq!((c.carrier.as_str(), c.state), ("SF", ClaimState::Open));
    let dup = w
        .app
        .open_claim(
            &w.owner,
            &ClaimInput {
                tracking_no: number.clone(),
                carrier: Some("SF".into()),
                order_id: None,
                claimed_fen: 100,
                note: None,
            },
        )
        .await;
    assert!(matches!(dup, Err(AppError::Conflict(_))), "{dup:?}");
    let settled = w
        .app
        .settle_claim(
            &w.owner,
            claim.after_sale.id,
            &SettleClaimInput {
                state: "settled".into(),
                settled_fen: Some(4_000),
                note: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(settled.after_sale.status, AfterSaleStatus::Completed);
    assert_eq!(settled.claim.unwrap().settled_fen, Some(4_000));

    // And the goods go out again: a reship linked to the original and to the claim.
    let original = w.app.store().order(w.tenant(), order).await.unwrap();
    let line = &original.lines[0];
    let reship = w
        .app
        .create_reship(
            &w.owner,
            order,
            &ReshipInput {
                lines: vec![fahuo_app::aftersales::InspectedLineInput {
                    order_line_id: line.id.get(),
                    quantity: line.quantity,
                }],
                reason: "包裹丢失补发".into(),
                reship_of: Some(claim.after_sale.id.get()),
            },
        )
        .await
        .unwrap();
    let r = reship.reship.unwrap();
    assert_eq!(r.original_order_id, order);
    assert_eq!(r.reship_of, Some(claim.after_sale.id));
    let new = w
        .app
        .store()
        .order(w.tenant(), r.reship_order_id)
        .await
        .unwrap();
    assert_eq!(new.platform, Platform::Manual);
    assert_eq!(new.state, OrderState::New);
    assert_eq!(
        new.platform_order_id.as_str(),
        format!("{}-R1", original.platform_order_id.as_str())
    );
    assert_eq!(new.receiver, original.receiver);
    assert_eq!(new.lines.len(), 1);
    assert_eq!(new.lines[0].quantity, line.quantity);
    assert_eq!(new.lines[0].paid.get(), 0);
    // Listed with the original order's after-sales.
    let listed = w
        .app
        .store()
        .after_sales(
            w.tenant(),
            &AfterSaleFilter {
                order_id: Some(order),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    // A reship of a line with more units than the order had is refused, nothing created.
    let too_many = w
        .app
        .create_reship(
            &w.owner,
            order,
            &ReshipInput {
                lines: vec![fahuo_app::aftersales::InspectedLineInput {
                    order_line_id: line.id.get(),
                    quantity: line.quantity + 1,
                }],
                reason: "多发".into(),
                reship_of: None,
            },
        )
        .await;
    assert!(
        matches!(too_many, Err(AppError::Conflict(_))),
        "{too_many:?}"
    );
    w.sim.shutdown().await;
}
