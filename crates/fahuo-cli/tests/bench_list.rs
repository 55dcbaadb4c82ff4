//! The order-list benchmark's data is what it says it is: the states in the planned mix,
//! receivers that decrypt, and masked copies and search columns identical to the ones the real
//! write path (`upsert_order`) gives the same receiver. No timings here.

use fahuo_app::{App, Settings, SystemClock};
use fahuo_cli::bench_list;
use fahuo_domain::audit::ActorRef;
use fahuo_domain::order::NewOrder;
use fahuo_domain::{OrderState, PlatformOrderId};
use fahuo_store::both_backends;
use fahuo_store::orders::OrderFilter;
use fahuo_store::testing::TestDb;
use std::sync::Arc;

both_backends!(seeding_makes_the_orders_it_says);

async fn seeding_makes_the_orders_it_says(db: TestDb) {
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let store = app.store().clone();
    let fx = bench_list::create_merchant(&app, "bench-owner")
        .await
        .unwrap();
    let seeded = bench_list::seed(&app, &fx, 2_000, 700, |_| {})
        .await
        .unwrap();
    assert_eq!(seeded.orders, 2_000);

    // Every state in the planned numbers, and the other tenant has its own 2,000.
    let planned = bench_list::planned_state_counts(2_000);
    let counts: std::collections::BTreeMap<OrderState, i64> = store
        .order_counts(fx.tenant, None)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(counts, planned);
    assert!(planned[&OrderState::Delivered] > 1_000, "{planned:?}");
    assert!(planned.contains_key(&OrderState::New), "{planned:?}");
    let other: i64 = store
        .order_counts(fx.other_tenant, None)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(other, 2_000);

    // The sample order is found by its number; its receiver decrypts and matches its masks.
    let by_number = OrderFilter {
        platform_order_id: Some(seeded.samples.order_number.clone()),
        limit: 10,
        ..Default::default()
    };
    let found = store.orders(fx.tenant, &by_number).await.unwrap().items;
    assert_eq!(found.len(), 1);
    let seeded_order = store.order(fx.tenant, found[0].id).await.unwrap();
    assert_eq!(seeded_order.receiver.name, seeded.samples.receiver_name);
    assert_eq!(seeded_order.receiver.masked().name, found[0].receiver.name);
    assert_eq!(
        seeded_order.receiver.phone.masked(),
        found[0].receiver.phone
    );
    assert!(!seeded_order.lines.is_empty());
    // Not in the other tenant.
    assert!(
        store
            .orders(fx.other_tenant, &by_number)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // The same receiver through the real write path: same masks, and the phone search
    // finds both orders, so the seeded hash is the one upsert_order writes.
    let real = NewOrder {
        platform_order_id: PlatformOrderId::parse("REAL-PATH-1").unwrap(),
        shop_id: seeded_order.shop_id,
        platform_status: "待发货".into(),
        paid_total: seeded_order.paid_total,
        freight: seeded_order.freight,
        buyer_note: None,
        seller_note: None,
        paid_at: seeded_order.paid_at,
        ship_by: seeded_order.ship_by,
        presale_ship_at: None,
        platform_updated_at: None,
        receiver: seeded_order.receiver.clone(),
        lines: vec![fahuo_domain::order::NewOrderLine {
            platform_line_id: None,
            platform_sku_id: None,
            sku_code: None,
            title: "杯子".into(),
            quantity: 1,
            unit_price: fahuo_domain::Fen(100),
            paid: fahuo_domain::Fen(100),
        }],
        receiver_fingerprint: None,
    };
    let real_id = store
        .upsert_order(fx.tenant, &real, &ActorRef::system("bench-test"), app.now())
        .await
        .unwrap()
        .order_id();
    let by_phone = OrderFilter {
        phone_last_four: Some(seeded.samples.phone_tail.clone()),
        limit: 500,
        ..Default::default()
    };
    let hits = store.orders(fx.tenant, &by_phone).await.unwrap().items;
    let real_row = hits
        .iter()
        .find(|o| o.id == real_id)
        .expect("real order by phone");
    let seeded_row = hits
        .iter()
        .find(|o| o.id == found[0].id)
        .expect("seeded order by phone");
    assert_eq!(real_row.receiver, seeded_row.receiver);
    assert!(
        hits.iter()
            .all(|o| { o.receiver.phone.ends_with(&seeded.samples.phone_tail) })
    );
    // The name search (a keyed hash of the normalised name) finds both as well.
    let by_name = OrderFilter {
        receiver_name: Some(seeded.samples.receiver_name.clone()),
        limit: 500,
        ..Default::default()
    };
    let hits = store.orders(fx.tenant, &by_name).await.unwrap().items;
    assert!(hits.iter().any(|o| o.id == real_id));
    assert!(hits.iter().any(|o| o.id == found[0].id));

    // Carrier, warehouse and tags are the ones the triggers give the packages and lines.
    assert_eq!(store.seed_list_mismatches(fx.tenant).await.unwrap(), 0);
    let by_waybill = OrderFilter {
        waybill: Some(seeded.samples.waybill.clone()),
        limit: 10,
        ..Default::default()
    };
    let hits = store.orders(fx.tenant, &by_waybill).await.unwrap().items;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].carrier.is_some() && hits[0].warehouse_id.is_some());
    let fragile = OrderFilter {
        tag: Some("fragile".into()),
        limit: 500,
        ..Default::default()
    };
    let hits = store.orders(fx.tenant, &fragile).await.unwrap().items;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|o| o.tags.iter().any(|t| t == "fragile")));
}

both_backends!(the_pipeline_reference_stores_the_rows_it_is_told);

/// `fahuo bench pipeline`'s raw reference: one order per given state, with a waybill for each
/// numbered state and a shipment for each shipped one, then exactly the print items, parcels
/// and tracking events asked for — the counts the end-to-end comparison reads back.
async fn the_pipeline_reference_stores_the_rows_it_is_told(db: TestDb) {
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let store = app.store().clone();
    let fx = bench_list::create_merchant(&app, "pipeline-owner")
        .await
        .unwrap();
    let mut states = vec![OrderState::Delivered; 700];
    states.extend([OrderState::InTransit; 200]);
    states.extend([OrderState::Printed; 50]);
    states.extend([OrderState::OnHold; 30]);
    states.extend([OrderState::Cancelled; 20]);
    let samples = bench_list::load_in_states(&app, &fx, &states, 300)
        .await
        .unwrap();
    assert!(!samples.waybill.is_empty());
    store
        .seed_prints_and_tracking(fx.tenant, 950, 900, 4_321, app.now())
        .await
        .unwrap();

    let facts = store.pipeline_facts(fx.tenant).await.unwrap();
    let mut by_state = std::collections::BTreeMap::new();
    for o in &facts.orders {
        *by_state.entry(o.state.as_str()).or_insert(0) += 1;
    }
    assert_eq!(
        by_state,
        [
            ("cancelled", 20),
            ("delivered", 700),
            ("in_transit", 200),
            ("on_hold", 30),
            ("printed", 50)
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(facts.waybills.len(), 950);
    assert_eq!(facts.shipments.len(), 900);
    assert_eq!(facts.labels_printed, 950);
    assert_eq!(facts.parcels.len(), 900);
    let events: i64 = facts.parcels.iter().map(|p| p.events).sum();
    assert_eq!(events, 4_321);
    // Spread evenly: every parcel has four or five scans.
    assert!(facts.parcels.iter().all(|p| (4..=5).contains(&p.events)));

    // More prints than numbered packages is refused, nothing stored.
    assert!(
        store
            .seed_prints_and_tracking(fx.tenant, 951, 0, 0, app.now())
            .await
            .is_err()
    );
    assert_eq!(
        store
            .pipeline_facts(fx.tenant)
            .await
            .unwrap()
            .labels_printed,
        950
    );
}
