//! The no-oversell proofs and the inventory contract (transfers, thresholds, alerts, stock
//! counts), each on SQLite and on PostgreSQL.
//!
//! Kept apart from `contract.rs` so that the property test can drive the async store from
//! proptest's synchronous runner on a runtime of its own.

use chrono::{DateTime, TimeZone, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::catalog::SizeMm;
use fahuo_domain::stock::{MovementKind, StockLevel, StockMovement, StockTransfer};
use fahuo_domain::*;
use fahuo_store::audit::AuditFilter;
use fahuo_store::catalog::{NewSku, NewWarehouse};
use fahuo_store::stock::{CountLine, CountOutcome};
use fahuo_store::testing::TestDb;
use fahuo_store::{Store, StoreError, both_backends};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeMap;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap()
}

fn audit(tenant: TenantId, action: &str) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant,
        actor: ActorRef::system("test"),
        action: action.into(),
        entity_type: "stock".into(),
        entity_id: None,
        before: None,
        after: None,
        at: t0(),
    }
}

/// A tenant with some warehouses and SKUs.
struct Merchant {
    tenant: TenantId,
    warehouses: Vec<WarehouseId>,
    skus: Vec<SkuId>,
}

async fn merchant(store: &Store, name: &str, warehouses: usize, skus: usize) -> Merchant {
    let tenant = store
        .create_tenant(&Name::parse(name).unwrap(), t0())
        .await
        .unwrap()
        .id;
    let mut m = Merchant {
        tenant,
        warehouses: Vec::new(),
        skus: Vec::new(),
    };
    for i in 0..warehouses {
        let w = store
            .create_warehouse(
                tenant,
                &NewWarehouse {
                    code: WarehouseCode::parse(&format!("WH{i:02}")).unwrap(),
                    name: Name::parse(&format!("{i}号仓")).unwrap(),
                    province: "浙江省".into(),
                    city: "杭州市".into(),
                    county: "余杭区".into(),
                    address: "仓前街道1号".into(),
                    location: None,
                },
                &audit(tenant, "warehouse.create"),
            )
            .await
            .unwrap();
        m.warehouses.push(w.id);
    }
    for i in 0..skus {
        let s = store
            .create_sku(
                tenant,
                &NewSku {
                    code: SkuCode::parse(&format!("SKU-{i:03}")).unwrap(),
                    name: Name::parse(&format!("商品{i}")).unwrap(),
                    barcode: None,
                    weight: Grams::new(100).unwrap(),
                    size: SizeMm::default(),
                    cost: Fen(0),
                },
                &audit(tenant, "sku.create"),
            )
            .await
            .unwrap();
        m.skus.push(s.id);
    }
    m
}

fn mv(w: WarehouseId, s: SkuId, kind: MovementKind, q: i64) -> StockMovement {
    StockMovement::new(w, s, kind, q).unwrap()
}

async fn level(store: &Store, tenant: TenantId, w: WarehouseId, s: SkuId) -> Option<StockLevel> {
    store
        .stock_levels(tenant, Some(s))
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.warehouse_id == w)
}

async fn assert_ledger_sums_to_stock(store: &Store, tenant: TenantId) {
    let checks = store.check_stock_ledger(tenant).await.unwrap();
    assert!(checks.iter().all(|c| c.consistent()), "{checks:?}");
}

both_backends!(
    a_thousand_concurrent_reservations_reserve_exactly_ten,
    a_transfer_moves_both_halves_or_nothing,
    thresholds_and_alerts_stay_in_their_tenant,
    a_stock_count_is_decided_under_the_row_lock,
);

async fn a_thousand_concurrent_reservations_reserve_exactly_ten(db: TestDb) {
    let store = db.store.clone();
    let m = merchant(&store, "商家A", 1, 1).await;
    let (w, s) = (m.warehouses[0], m.skus[0]);
    store
        .move_stock(m.tenant, &mv(w, s, MovementKind::Inbound, 10), "test", t0())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|order| {
            let store = store.clone();
            let tenant = m.tenant;
            tokio::spawn(async move {
                let reserve = mv(w, s, MovementKind::Reserve, 1).for_order(OrderId(order + 1));
                store.move_stock(tenant, &reserve, "allocation", t0()).await
            })
        })
        .collect();
    let (mut granted, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => granted += 1,
            Err(StoreError::InsufficientStock(_)) => refused += 1,
            // Busy or pool errors would be a store bug, not a refusal: fail on them.
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((granted, refused), (10, 990));
    let row = level(&store, m.tenant, w, s).await.unwrap();
    assert_eq!((row.on_hand, row.reserved, row.available()), (10, 10, 0));
    let ledger = store.stock_ledger(m.tenant, w, s).await.unwrap();
    let reservations: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == MovementKind::Reserve)
        .collect();
    assert_eq!(reservations.len(), 10, "one entry per granted reservation");
    let orders: std::collections::BTreeSet<_> =
        reservations.iter().map(|e| e.order_id.unwrap()).collect();
    assert_eq!(orders.len(), 10, "ten different orders got a unit each");
    assert_ledger_sums_to_stock(&store, m.tenant).await;
}

async fn a_transfer_moves_both_halves_or_nothing(db: TestDb) {
    let store = &db.store;
    let a = merchant(store, "商家A", 2, 1).await;
    let b = merchant(store, "商家B", 1, 1).await;
    let (hz, gz, sku) = (a.warehouses[0], a.warehouses[1], a.skus[0]);
    store
        .move_stock(a.tenant, &mv(hz, sku, MovementKind::Inbound, 10), "t", t0())
        .await
        .unwrap();
    store
        .move_stock(a.tenant, &mv(hz, sku, MovementKind::Reserve, 3), "t", t0())
        .await
        .unwrap();
    store.set_safety_stock(a.tenant, hz, sku, 2).await.unwrap();

    // 10 on hand - 3 reserved - 2 safety: 5 may leave, 6 may not.
    let six = StockTransfer::new(hz, gz, sku, 6).unwrap();
    let refused = store
        .transfer_stock(
            a.tenant,
            &six,
            "t",
            &audit(a.tenant, "stock.transfer"),
            t0(),
        )
        .await;
    assert!(
        matches!(&refused, Err(StoreError::InsufficientStock(m)) if m.contains("on hand 10, reserved 3, safety 2")),
        "{refused:?}"
    );
    assert_eq!(
        level(store, a.tenant, gz, sku).await,
        None,
        "nothing arrived"
    );

    let five = StockTransfer::new(hz, gz, sku, 5)
        .unwrap()
        .with_note("补货广州仓");
    let levels = store
        .transfer_stock(
            a.tenant,
            &five,
            "小王",
            &audit(a.tenant, "stock.transfer"),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!((levels.from.on_hand, levels.from.reserved), (5, 3));
    assert_eq!((levels.to.on_hand, levels.to.reserved), (5, 0));
    let out = store.stock_ledger(a.tenant, hz, sku).await.unwrap();
    let into = store.stock_ledger(a.tenant, gz, sku).await.unwrap();
    let (out, into) = (out.last().unwrap(), into.last().unwrap());
    assert_eq!(
        (out.kind, out.on_hand_delta, into.kind, into.on_hand_delta),
        (MovementKind::TransferOut, -5, MovementKind::TransferIn, 5)
    );
    assert_eq!(out.note.as_deref(), Some("补货广州仓"));
    assert_eq!(into.actor, "小王");
    let audit_log = store
        .audit_log(
            a.tenant,
            &AuditFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let entry = &audit_log.items[0].entry;
    assert_eq!(entry.action, "stock.transfer");
    assert_eq!(entry.after.as_ref().unwrap()["units"], 5);

    // The other direction: the destination's row is the lower warehouse and is changed first,
    // so a refused source must undo it. 6 units are not at GZ: HZ keeps its 5.
    let too_many_back = StockTransfer::new(gz, hz, sku, 6).unwrap();
    let refused = store
        .transfer_stock(
            a.tenant,
            &too_many_back,
            "t",
            &audit(a.tenant, "stock.transfer"),
            t0(),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::InsufficientStock(_))),
        "{refused:?}"
    );
    assert_eq!(level(store, a.tenant, hz, sku).await.unwrap().on_hand, 5);
    assert_eq!(level(store, a.tenant, gz, sku).await.unwrap().on_hand, 5);
    // The other direction works too (rows are locked in warehouse order, whichever leaves).
    let back = StockTransfer::new(gz, hz, sku, 1).unwrap();
    store
        .transfer_stock(
            a.tenant,
            &back,
            "t",
            &audit(a.tenant, "stock.transfer"),
            t0(),
        )
        .await
        .unwrap();

    // A destination, source or SKU of another tenant: nothing changes anywhere.
    let before_a = store.stock_levels(a.tenant, None).await.unwrap();
    let ledger_before = store.stock_ledger(a.tenant, hz, sku).await.unwrap().len();
    for (from, to, s) in [
        (hz, b.warehouses[0], sku),
        (b.warehouses[0], hz, sku),
        (hz, gz, b.skus[0]),
    ] {
        let t = StockTransfer::new(from, to, s, 1).unwrap();
        let cross = store
            .transfer_stock(a.tenant, &t, "t", &audit(a.tenant, "stock.transfer"), t0())
            .await;
        assert!(matches!(cross, Err(StoreError::NotFound)), "{cross:?}");
    }
    let t = StockTransfer::new(hz, gz, sku, 1).unwrap();
    let by_b = store
        .transfer_stock(b.tenant, &t, "t", &audit(b.tenant, "stock.transfer"), t0())
        .await;
    assert!(matches!(by_b, Err(StoreError::NotFound)), "{by_b:?}");
    assert_eq!(store.stock_levels(a.tenant, None).await.unwrap(), before_a);
    assert!(store.stock_levels(b.tenant, None).await.unwrap().is_empty());
    assert_eq!(
        store.stock_ledger(a.tenant, hz, sku).await.unwrap().len(),
        ledger_before
    );
    assert_ledger_sums_to_stock(store, a.tenant).await;
}

async fn thresholds_and_alerts_stay_in_their_tenant(db: TestDb) {
    let store = &db.store;
    let a = merchant(store, "商家A", 2, 3).await;
    let b = merchant(store, "商家B", 1, 1).await;
    let (w0, w1) = (a.warehouses[0], a.warehouses[1]);
    let set = |w, s, threshold| async move {
        store
            .set_low_stock_threshold(
                a.tenant,
                w,
                s,
                threshold,
                &audit(a.tenant, "stock.threshold"),
            )
            .await
    };
    for (w, s, on_hand) in [(w0, a.skus[0], 10), (w0, a.skus[1], 3), (w1, a.skus[0], 1)] {
        store
            .move_stock(
                a.tenant,
                &mv(w, s, MovementKind::Inbound, on_hand),
                "t",
                t0(),
            )
            .await
            .unwrap();
    }
    // Row 1: 10 on hand, 4 reserved, 2 safety → 4 available, threshold 5: 1 below.
    store
        .move_stock(
            a.tenant,
            &mv(w0, a.skus[0], MovementKind::Reserve, 4),
            "t",
            t0(),
        )
        .await
        .unwrap();
    store
        .set_safety_stock(a.tenant, w0, a.skus[0], 2)
        .await
        .unwrap();
    set(w0, a.skus[0], 5).await.unwrap();
    // Row 2: 3 available, threshold 3: at the threshold, listed.
    set(w0, a.skus[1], 3).await.unwrap();
    // Row 3: 1 available, threshold 0: off.
    // Row 4: no stock at all, threshold 2: 2 below (a row created by the threshold).
    set(w1, a.skus[2], 2).await.unwrap();

    let alerts = store.low_stock_alerts(a.tenant).await.unwrap();
    let seen: Vec<_> = alerts
        .iter()
        .map(|r| {
            (
                r.warehouse_code.as_str(),
                r.sku_code.as_str(),
                r.available,
                r.low_stock_threshold,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("WH01", "SKU-002", 0, 2),
            ("WH00", "SKU-000", 4, 5),
            ("WH00", "SKU-001", 3, 3)
        ],
        "furthest below first"
    );
    assert_eq!(alerts[1].warehouse_name, "0号仓");
    assert_eq!(alerts[1].sku_name, "商品0");
    assert_eq!(
        (alerts[1].on_hand, alerts[1].reserved, alerts[1].safety),
        (10, 4, 2)
    );

    // Off again.
    set(w0, a.skus[1], 0).await.unwrap();
    assert_eq!(store.low_stock_alerts(a.tenant).await.unwrap().len(), 2);
    assert!(matches!(
        set(w0, a.skus[1], -1).await,
        Err(StoreError::Conflict(_))
    ));

    // Another tenant can neither set nor see A's rows, nor create rows on A's ids.
    let cross = store
        .set_low_stock_threshold(
            b.tenant,
            w0,
            a.skus[0],
            100,
            &audit(b.tenant, "stock.threshold"),
        )
        .await;
    assert!(matches!(cross, Err(StoreError::NotFound)), "{cross:?}");
    let cross = store
        .set_low_stock_threshold(
            b.tenant,
            b.warehouses[0],
            a.skus[0],
            1,
            &audit(b.tenant, "x"),
        )
        .await;
    assert!(matches!(cross, Err(StoreError::NotFound)), "{cross:?}");
    let cross = store.set_safety_stock(b.tenant, w1, a.skus[1], 1).await;
    assert!(matches!(cross, Err(StoreError::NotFound)), "{cross:?}");
    assert!(store.low_stock_alerts(b.tenant).await.unwrap().is_empty());
    assert!(store.stock_rows(b.tenant).await.unwrap().is_empty());
    // A's row that B tried to claim still moves for A.
    store
        .move_stock(
            a.tenant,
            &mv(w1, a.skus[1], MovementKind::Inbound, 1),
            "t",
            t0(),
        )
        .await
        .unwrap();

    let rows = store.stock_rows(a.tenant).await.unwrap();
    let keys: Vec<_> = rows
        .iter()
        .map(|r| (r.warehouse_code.as_str(), r.sku_code.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("WH00", "SKU-000"),
            ("WH00", "SKU-001"),
            ("WH01", "SKU-000"),
            ("WH01", "SKU-001"),
            ("WH01", "SKU-002")
        ]
    );
}

async fn a_stock_count_is_decided_under_the_row_lock(db: TestDb) {
    let store = &db.store;
    let a = merchant(store, "商家A", 2, 3).await;
    let b = merchant(store, "商家B", 1, 1).await;
    let (w0, w1) = (a.warehouses[0], a.warehouses[1]);
    let (s0, s1, s2) = (a.skus[0], a.skus[1], a.skus[2]);
    store
        .move_stock(a.tenant, &mv(w0, s0, MovementKind::Inbound, 10), "t", t0())
        .await
        .unwrap();
    store
        .move_stock(a.tenant, &mv(w0, s1, MovementKind::Inbound, 8), "t", t0())
        .await
        .unwrap();
    // Counted 4 of s1 after a preview said 8 were there; meanwhile 6 were reserved.
    store
        .move_stock(a.tenant, &mv(w0, s1, MovementKind::Reserve, 6), "t", t0())
        .await
        .unwrap();
    let line = |w, s, counted| CountLine {
        warehouse_id: w,
        sku_id: s,
        counted,
        safety: None,
        low_stock_threshold: None,
        bin: None,
    };
    let lines = vec![
        line(w0, s0, 7),
        line(w0, s1, 4),
        CountLine {
            safety: Some(1),
            low_stock_threshold: Some(2),
            bin: Some("A-01".into()),
            ..line(w1, s2, 5)
        },
        line(w0, s0, 7),
        line(b.warehouses[0], s0, 1),
        line(w0, b.skus[0], 1),
    ];
    let outcomes = store
        .apply_stock_count(a.tenant, &lines, "盘点", "小王", t0())
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            CountOutcome::Applied {
                on_hand_before: 10,
                delta: -3,
                reserved: 0
            },
            CountOutcome::BelowReserved {
                on_hand: 8,
                reserved: 6
            },
            CountOutcome::Applied {
                on_hand_before: 0,
                delta: 5,
                reserved: 0
            },
            CountOutcome::Unchanged {
                on_hand: 7,
                reserved: 0
            },
            CountOutcome::NotFound,
            CountOutcome::NotFound,
        ]
    );
    let row = level(store, a.tenant, w0, s1).await.unwrap();
    assert_eq!(
        (row.on_hand, row.reserved),
        (8, 6),
        "the refused line changed nothing"
    );
    assert_eq!(store.stock_ledger(a.tenant, w0, s1).await.unwrap().len(), 2);
    let adjust = store.stock_ledger(a.tenant, w0, s0).await.unwrap();
    let adjust = adjust.last().unwrap();
    assert_eq!(
        (
            adjust.kind,
            adjust.on_hand_delta,
            adjust.note.as_deref(),
            adjust.actor.as_str()
        ),
        (MovementKind::Adjust, -3, Some("盘点"), "小王")
    );
    let rows = store.stock_rows(a.tenant).await.unwrap();
    let new_row = rows
        .iter()
        .find(|r| r.warehouse_id == w1 && r.sku_id == s2)
        .unwrap();
    assert_eq!(
        (
            new_row.on_hand,
            new_row.safety,
            new_row.low_stock_threshold,
            new_row.bin.as_deref()
        ),
        (5, 1, 2, Some("A-01"))
    );
    // Settings alone are a change; the same settings again are not.
    let only_settings = CountLine {
        low_stock_threshold: Some(3),
        ..line(w1, s2, 5)
    };
    let again = store
        .apply_stock_count(
            a.tenant,
            &[only_settings.clone(), only_settings],
            "盘点",
            "t",
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![
            CountOutcome::Applied {
                on_hand_before: 5,
                delta: 0,
                reserved: 0
            },
            CountOutcome::Unchanged {
                on_hand: 5,
                reserved: 0
            },
        ]
    );
    assert!(store.stock_levels(b.tenant, None).await.unwrap().is_empty());

    // More lines than one transaction takes: every line is applied, in order.
    let many: Vec<CountLine> = (0..1010).map(|i| line(w1, s0, i % 7)).collect();
    let outcomes = store
        .apply_stock_count(a.tenant, &many, "盘点", "t", t0())
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1010);
    assert_eq!(
        level(store, a.tenant, w1, s0).await.unwrap().on_hand,
        1009 % 7
    );
    assert_ledger_sums_to_stock(store, a.tenant).await;
}

// ---------------------------------------------------------------- the property test

/// One step of a random history: a single movement of any kind, a transfer, or a new safety
/// stock. Indexes pick among the merchant's 3 warehouses and 2 SKUs.
#[derive(Debug, Clone)]
enum Step {
    Move {
        kind: MovementKind,
        w: usize,
        s: usize,
        q: i64,
    },
    Transfer {
        from: usize,
        to: usize,
        s: usize,
        units: i64,
    },
    Safety {
        w: usize,
        s: usize,
        safety: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let kind = proptest::sample::select(MovementKind::ALL.to_vec());
    prop_oneof![
        6 => (kind, 0..3usize, 0..2usize, 1..=12i64, any::<bool>()).prop_map(|(kind, w, s, q, negative)| {
            let q = if kind == MovementKind::Adjust && negative { -q } else { q };
            Step::Move { kind, w, s, q }
        }),
        2 => (0..3usize, 1..3usize, 0..2usize, 1..=12i64).prop_map(|(from, shift, s, units)| {
            Step::Transfer { from, to: (from + shift) % 3, s, units }
        }),
        1 => (0..3usize, 0..2usize, 0..=4i64).prop_map(|(w, s, safety)| Step::Safety { w, s, safety }),
    ]
}

/// The model of one stock row: (on hand, reserved, safety).
type Model = BTreeMap<(usize, usize), (i64, i64, i64)>;

/// A row (warehouse, SKU index) and its on-hand and reserved deltas.
type RowChange = ((usize, usize), i64, i64);

/// The rules, written again independently of `StockLevel::admits`: nothing negative, no more
/// reserved than on hand, and what is promised or sent away must come out of what is
/// available after safety stock.
fn model_admits(
    row: (i64, i64, i64),
    kind: MovementKind,
    on_hand_delta: i64,
    reserved_delta: i64,
) -> bool {
    let (on_hand, reserved, safety) = row;
    let (on_hand, reserved) = (on_hand + on_hand_delta, reserved + reserved_delta);
    let takes_available = matches!(kind, MovementKind::Reserve | MovementKind::TransferOut);
    on_hand >= 0
        && reserved >= 0
        && reserved <= on_hand
        && (!takes_available || on_hand - reserved >= safety)
}

async fn run_history(store: &Store, case: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let m = merchant(store, &format!("商家{case}"), 3, 2).await;
    let mut model: Model = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let before = store.stock_levels(m.tenant, None).await.unwrap();
        let ledger_before = store.check_stock_ledger(m.tenant).await.unwrap();
        // The store's answer, whether the model admits the step, and the rows it changes.
        let (result, expected, changes): (Result<(), StoreError>, bool, Vec<RowChange>) = match step
        {
            Step::Move { kind, w, s, q } => {
                let movement = mv(m.warehouses[*w], m.skus[*s], *kind, *q);
                let row = model.get(&(*w, *s)).copied().unwrap_or_default();
                let ok = model_admits(row, *kind, movement.on_hand_delta, movement.reserved_delta);
                let r = store
                    .move_stock(m.tenant, &movement, "prop", t0())
                    .await
                    .map(|_| ());
                (
                    r,
                    ok,
                    vec![((*w, *s), movement.on_hand_delta, movement.reserved_delta)],
                )
            }
            Step::Transfer { from, to, s, units } => {
                let t =
                    StockTransfer::new(m.warehouses[*from], m.warehouses[*to], m.skus[*s], *units)
                        .unwrap();
                let row = model.get(&(*from, *s)).copied().unwrap_or_default();
                let ok = model_admits(row, MovementKind::TransferOut, -units, 0);
                let r = store
                    .transfer_stock(
                        m.tenant,
                        &t,
                        "prop",
                        &audit(m.tenant, "stock.transfer"),
                        t0(),
                    )
                    .await
                    .map(|_| ());
                (
                    r,
                    ok,
                    vec![((*from, *s), -units, 0), ((*to, *s), *units, 0)],
                )
            }
            Step::Safety { w, s, safety } => {
                let r = store
                    .set_safety_stock(m.tenant, m.warehouses[*w], m.skus[*s], *safety)
                    .await;
                model.entry((*w, *s)).or_default().2 = *safety;
                (r, true, vec![])
            }
        };
        match (&result, expected) {
            (Ok(()), true) => {
                for (key, dh, dr) in changes {
                    let row = model.entry(key).or_default();
                    row.0 += dh;
                    row.1 += dr;
                }
            }
            (Err(StoreError::InsufficientStock(_)), false) => {
                let after = store.stock_levels(m.tenant, None).await.unwrap();
                prop_assert_eq!(
                    &after,
                    &before,
                    "step {}: a refused {:?} changed stock",
                    i,
                    step
                );
                let ledger_after = store.check_stock_ledger(m.tenant).await.unwrap();
                prop_assert_eq!(
                    ledger_after,
                    ledger_before,
                    "step {}: a refused {:?} wrote to the ledger",
                    i,
                    step
                );
            }
            _ => prop_assert!(
                false,
                "step {}: {:?} gave {:?}, the model expected ok = {}",
                i,
                step,
                result,
                expected
            ),
        }
        // The store agrees with the model on every row, and the invariants hold.
        let levels = store.stock_levels(m.tenant, None).await.unwrap();
        let stored: Model = levels
            .iter()
            .map(|l| {
                let w = m
                    .warehouses
                    .iter()
                    .position(|x| *x == l.warehouse_id)
                    .unwrap();
                let s = m.skus.iter().position(|x| *x == l.sku_id).unwrap();
                ((w, s), (l.on_hand, l.reserved, l.safety))
            })
            .collect();
        prop_assert_eq!(&stored, &model, "step {}: after {:?}", i, step);
        for l in &levels {
            prop_assert!(
                l.on_hand >= 0 && l.reserved >= 0 && l.reserved <= l.on_hand,
                "{:?}",
                l
            );
        }
        if let (
            Step::Move {
                kind: MovementKind::Reserve,
                w,
                s,
                ..
            },
            Ok(()),
        ) = (step, &result)
        {
            let (on_hand, reserved, safety) = model[&(*w, *s)];
            prop_assert!(
                on_hand - reserved - safety >= 0,
                "a reservation went below available"
            );
        }
        let checks = store.check_stock_ledger(m.tenant).await.unwrap();
        prop_assert!(
            checks.iter().all(|c| c.consistent()),
            "step {}: {:?}",
            i,
            checks
        );
    }
    Ok(())
}

/// Runs the property on one backend: a runtime of its own drives the async store from
/// proptest's synchronous runner; each case gets a fresh tenant in the same database.
fn random_histories_keep_every_row_consistent(postgres: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = if postgres {
        match rt.block_on(TestDb::postgres()) {
            Some(db) => db,
            None => return,
        }
    } else {
        rt.block_on(TestDb::sqlite())
    };
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0);
    runner
        .run(&proptest::collection::vec(step(), 1..=40), |steps| {
            case.set(case.get() + 1);
            rt.block_on(run_history(&db.store, case.get(), steps))
        })
        .unwrap();
    drop(db);
}

#[test]
fn random_histories_keep_every_row_consistent_sqlite() {
    random_histories_keep_every_row_consistent(false);
}

#[test]
fn random_histories_keep_every_row_consistent_postgres() {
    random_histories_keep_every_row_consistent(true);
}
