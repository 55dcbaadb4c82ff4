//! Shipping write-back (发货回传) against the emulators over real HTTP, for all three platforms:
//! each parcel lands exactly once — across repeats, lost answers and faults — partial and
//! multi-parcel orders end fully shipped, conflicts and refusals say why, changes respect each
//! platform's limits, and junk answers are protocol errors, never panics.

mod common;

use common::*;
use fahuo_platforms::*;
use fahuo_sim::{Fault, SimHandle, Status};
use std::sync::atomic::{AtomicU64, Ordering};

const PLATFORMS: [Platform; 3] = [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu];

/// Three carriers in each platform's own codes: (code, name).
fn carriers(p: Platform) -> [(&'static str, &'static str); 3] {
    match p {
        Platform::Wechat => [("SF", "顺丰速运"), ("ZTO", "中通快递"), ("YTO", "圆通速递")],
        Platform::Douyin => [
            ("shunfeng", "顺丰速运"),
            ("zhongtong", "中通快递"),
            ("yuantong", "圆通快递"),
        ],
        _ => [
            ("shunfeng", "顺丰速运"),
            ("zto", "中通速递"),
            ("yuantong", "圆通速递"),
        ],
    }
}

/// The API a ship call of this kind reaches, as the emulator's ledger names it.
fn ship_api(p: Platform, lines: bool) -> &'static str {
    match (p, lines) {
        (Platform::Wechat, _) => "channels/ec/order/delivery/send",
        (Platform::Douyin, false) => "order.logisticsAdd",
        (Platform::Douyin, true) => "order.logisticsAddSinglePack",
        _ => "order.orderDeliver",
    }
}

static NUMBER: AtomicU64 = AtomicU64::new(1);

/// A fresh tracking number.
fn number() -> String {
    format!("FH{:013}", NUMBER.fetch_add(1, Ordering::Relaxed))
}

fn request(
    p: Platform,
    order: &str,
    carrier: usize,
    no: &str,
    items: Vec<ShipItem>,
) -> ShipRequest {
    let (code, name) = carriers(p)[carrier];
    ShipRequest {
        platform_order_id: order.to_string(),
        carrier_code: code.into(),
        carrier_name: name.into(),
        tracking_no: no.to_string(),
        items,
    }
}

/// Orders waiting to ship with at least `min_lines` lines, no refund, nothing refunded.
fn to_ship(sim: &SimHandle, p: Platform, min_lines: usize) -> Vec<fahuo_sim::Order> {
    sim.orders(Some(sim_platform(p)))
        .into_iter()
        .filter(|o| {
            o.status == Status::ToShip
                && o.refund == fahuo_sim::model::Refund::None
                && o.lines.len() >= min_lines
                && o.lines.iter().all(|l| !l.refunded && l.shipped_qty == 0)
        })
        .collect()
}

fn one_to_ship(sim: &SimHandle, p: Platform, min_lines: usize) -> String {
    to_ship(sim, p, min_lines)
        .first()
        .unwrap_or_else(|| panic!("{p}: no order to ship with {min_lines}+ lines"))
        .order_id
        .clone()
}

/// The parcel lines of one pulled line, with the ids intake keeps.
async fn line_item(c: &PlatformClient, order: &str, line: usize) -> ShipItem {
    let pulled = c.pull_order(order).await.expect("pull");
    let l = &pulled.order.lines[line];
    ShipItem {
        platform_line_id: l.platform_line_id.clone(),
        platform_sku_id: l.platform_sku_id.clone(),
        quantity: u32::try_from(l.quantity).expect("qty"),
    }
}

async fn parcels(c: &PlatformClient, order: &str) -> Vec<(String, String)> {
    c.pull_order(order)
        .await
        .expect("pull")
        .shipped_packages
        .into_iter()
        .map(|p| (p.carrier, p.tracking_no))
        .collect()
}

fn setup_sim() -> fahuo_sim::SimConfig {
    sim_config(77, 120)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_order_ships_once_and_the_platform_shows_it_shipped() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let no = number();
        let got = c.ship(&request(p, &order, 0, &no, vec![])).await;
        assert_eq!(got, Ok(ShipOutcome::Shipped), "{p}");
        let pulled = c.pull_order(&order).await.expect("pull");
        assert_eq!(pulled.status, PlatformStatus::Shipped, "{p}");
        assert_eq!(
            parcels(&c, &order).await,
            vec![(carriers(p)[0].0.to_string(), no.clone())],
            "{p}"
        );
        let (code, _) = carriers(p)[0];
        sim.ledger()
            .check_shipped_exactly_once([(order.as_str(), code, no.as_str())])
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_then_the_rest_with_a_second_number_ends_fully_shipped_in_two_parcels() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 2);
        let first = line_item(&c, &order, 0).await;
        let (a, b) = (number(), number());
        assert_eq!(
            c.ship(&request(p, &order, 0, &a, vec![first])).await,
            Ok(ShipOutcome::Shipped),
            "{p} first parcel"
        );
        let mid = c.pull_order(&order).await.expect("pull");
        assert_eq!(mid.status, PlatformStatus::PartlyShipped, "{p}");
        assert_eq!(
            c.ship(&request(p, &order, 1, &b, vec![])).await,
            Ok(ShipOutcome::Shipped),
            "{p} the rest"
        );
        let end = c.pull_order(&order).await.expect("pull");
        assert_eq!(end.status, PlatformStatus::Shipped, "{p}");
        assert_eq!(end.shipped_packages.len(), 2, "{p}");
        let [(c0, _), (c1, _), _] = carriers(p);
        sim.ledger()
            .check_shipped_exactly_once([
                (order.as_str(), c0, a.as_str()),
                (order.as_str(), c1, b.as_str()),
            ])
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_in_its_own_parcel_lands_every_parcel() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 3);
        let n = c.pull_order(&order).await.expect("pull").order.lines.len();
        let mut expected = Vec::new();
        for line in 0..n {
            let no = number();
            let item = line_item(&c, &order, line).await;
            assert_eq!(
                c.ship(&request(p, &order, line % 3, &no, vec![item])).await,
                Ok(ShipOutcome::Shipped),
                "{p} line {line}"
            );
            expected.push((carriers(p)[line % 3].0, no));
        }
        let end = c.pull_order(&order).await.expect("pull");
        assert_eq!(end.status, PlatformStatus::Shipped, "{p}");
        assert_eq!(end.shipped_packages.len(), n, "{p}");
        sim.ledger()
            .check_shipped_exactly_once(
                expected
                    .iter()
                    .map(|(c, no)| (order.as_str(), *c, no.as_str())),
            )
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeating_a_ship_is_already_shipped_and_adds_no_parcel() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let no = number();
        let req = request(p, &order, 0, &no, vec![]);
        assert_eq!(c.ship(&req).await, Ok(ShipOutcome::Shipped), "{p}");
        assert_eq!(c.ship(&req).await, Ok(ShipOutcome::AlreadyShipped), "{p}");
        // The same number typed differently is the same parcel.
        let spaced = format!(" {} {}", &no[..6].to_lowercase(), &no[6..]);
        let again = request(p, &order, 0, &spaced, vec![]);
        assert_eq!(c.ship(&again).await, Ok(ShipOutcome::AlreadyShipped), "{p}");
        let l = sim.ledger();
        assert_eq!(l.accepted_ships(&order).len(), 1, "{p}");
        l.check_shipped_exactly_once([(order.as_str(), carriers(p)[0].0, no.as_str())])
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_number_on_a_shipped_order_is_a_conflict_naming_the_first() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let (a, b) = (number(), number());
        assert_eq!(
            c.ship(&request(p, &order, 0, &a, vec![])).await,
            Ok(ShipOutcome::Shipped)
        );
        let got = c.ship(&request(p, &order, 1, &b, vec![])).await;
        assert_eq!(
            got,
            Err(PlatformError::ShipConflict {
                shipped: vec![ShippedParcel {
                    carrier_code: carriers(p)[0].0.into(),
                    tracking_no: a.clone(),
                }]
            }),
            "{p}"
        );
        assert!(!got.clone().unwrap_err().is_retryable());
        assert_eq!(sim.ledger().accepted_ships(&order).len(), 1, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_already_shipped_with_another_number_is_a_conflict_naming_that_parcel() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 2);
        let first = line_item(&c, &order, 0).await;
        let (a, b) = (number(), number());
        c.ship(&request(p, &order, 0, &a, vec![first.clone()]))
            .await
            .expect("first parcel");
        let got = c.ship(&request(p, &order, 1, &b, vec![first])).await;
        assert!(
            matches!(&got, Err(PlatformError::ShipConflict { shipped }) if shipped.len() == 1 && shipped[0].tracking_no == a),
            "{p}: {got:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_after_the_platform_accepted_still_ends_ok_with_one_parcel() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        for lines in [false, true] {
            let c = client(&sim, p, test_options());
            let order = one_to_ship(&sim, p, 2);
            let items = if lines {
                vec![line_item(&c, &order, 0).await]
            } else {
                vec![]
            };
            let no = number();
            let api = ship_api(p, lines);
            sim.force_fault(sim_platform(p), api, Fault::TimeoutAfter);
            let got = c.ship(&request(p, &order, 0, &no, items)).await;
            assert!(
                matches!(got, Ok(ShipOutcome::Shipped | ShipOutcome::AlreadyShipped)),
                "{p} lines={lines}: {got:?}"
            );
            let l = sim.ledger();
            assert!(
                l.rejected
                    .iter()
                    .any(|r| r.api == api && r.reason.contains("after the request was processed")),
                "{p} lines={lines}: the fault was injected"
            );
            l.check_shipped_exactly_once([(order.as_str(), carriers(p)[0].0, no.as_str())])
                .unwrap_or_else(|e| panic!("{p} lines={lines}: {e:?}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_faults_every_order_is_shipped_exactly_once() {
    let sim = start(sim_config(78, 150)).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let orders: Vec<String> = to_ship(&sim, p, 1)
            .into_iter()
            .take(15)
            .map(|o| o.order_id)
            .collect();
        assert!(orders.len() >= 10, "{p}: enough orders to ship");
        let reqs: Vec<ShipRequest> = orders
            .iter()
            .enumerate()
            .map(|(i, o)| request(p, o, i % 3, &number(), vec![]))
            .collect();
        sim.set_fault_rate(0.25);
        let results = futures_util::future::join_all(reqs.iter().map(|r| c.ship(r))).await;
        // A second round, as an outbox would retry after a crash: nothing new may land.
        let again = futures_util::future::join_all(reqs.iter().map(|r| c.ship(r))).await;
        sim.set_fault_rate(0.0);
        for (r, got) in reqs.iter().zip(&results) {
            assert!(got.is_ok(), "{p} {}: {got:?}", r.platform_order_id);
        }
        for (r, got) in reqs.iter().zip(&again) {
            assert_eq!(
                got,
                &Ok(ShipOutcome::AlreadyShipped),
                "{p} {}",
                r.platform_order_id
            );
        }
        let l = sim.ledger();
        let faults = l
            .rejected
            .iter()
            .filter(|r| r.platform == sim_platform(p) && r.reason.starts_with("injected fault"))
            .count();
        assert!(faults >= 3, "{p}: faults were injected ({faults})");
        l.check_shipped_exactly_once(reqs.iter().map(|r| {
            (
                r.platform_order_id.as_str(),
                r.carrier_code.as_str(),
                r.tracking_no.as_str(),
            )
        }))
        .unwrap_or_else(|e| panic!("{p}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_a_cancelled_order_is_refused_with_the_platforms_code() {
    let sim = start(setup_sim()).await;
    for (p, want) in [
        (Platform::Wechat, "606034"),
        (Platform::Douyin, "50002/isv.business-failed:60021"),
        (Platform::Xiaohongshu, "20001"),
    ] {
        let c = client(&sim, p, test_options());
        let cancelled = sim
            .orders(Some(sim_platform(p)))
            .into_iter()
            .find(|o| o.status == Status::Cancelled)
            .unwrap_or_else(|| panic!("{p}: a cancelled order"));
        let got = c
            .ship(&request(p, &cancelled.order_id, 0, &number(), vec![]))
            .await;
        match got {
            Err(PlatformError::Invalid { code, .. }) => assert_eq!(code, want, "{p}"),
            other => panic!("{p}: {other:?}"),
        }
        assert!(sim.ledger().accepted_ships(&cancelled.order_id).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_within_the_limits_shows_the_new_number_and_is_recorded_once() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let (a, b) = (number(), number());
        c.ship(&request(p, &order, 0, &a, vec![]))
            .await
            .expect("ship");
        let (old_code, _) = carriers(p)[0];
        let (new_code, new_name) = carriers(p)[1];
        let change = ChangeShipment {
            platform_order_id: order.clone(),
            old_carrier_code: old_code.into(),
            old_tracking_no: a.clone(),
            new_carrier_code: new_code.into(),
            new_carrier_name: new_name.into(),
            new_tracking_no: b.clone(),
            items: vec![],
        };
        assert_eq!(c.change_shipment(&change).await, Ok(()), "{p}");
        assert_eq!(
            parcels(&c, &order).await,
            vec![(new_code.to_string(), b.clone())],
            "{p}"
        );
        // The same change again (a lost answer, a retry): done already, nothing new.
        assert_eq!(c.change_shipment(&change).await, Ok(()), "{p} repeat");
        let l = sim.ledger();
        let changes = l.accepted_changes(&order);
        assert_eq!(changes.len(), 1, "{p}");
        assert_eq!(
            (
                changes[0].old_tracking_no.as_str(),
                changes[0].tracking_no.as_str()
            ),
            (a.as_str(), b.as_str())
        );
        assert_eq!(
            l.accepted_ships(&order).len(),
            1,
            "{p}: a change is not a parcel"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_answer_was_lost_still_ends_ok() {
    let sim = start(setup_sim()).await;
    for (p, api) in [
        (Platform::Wechat, "channels/ec/order/deliveryinfo/update"),
        (Platform::Douyin, "order.logisticsEdit"),
        (Platform::Xiaohongshu, "order.modifyOrderExpressInfo"),
    ] {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let (a, b) = (number(), number());
        c.ship(&request(p, &order, 0, &a, vec![]))
            .await
            .expect("ship");
        sim.force_fault(sim_platform(p), api, Fault::TimeoutAfter);
        let change = ChangeShipment {
            platform_order_id: order.clone(),
            old_carrier_code: carriers(p)[0].0.into(),
            old_tracking_no: a,
            new_carrier_code: carriers(p)[1].0.into(),
            new_carrier_name: carriers(p)[1].1.into(),
            new_tracking_no: b.clone(),
            items: vec![],
        };
        assert_eq!(c.change_shipment(&change).await, Ok(()), "{p}");
        assert_eq!(sim.ledger().accepted_changes(&order).len(), 1, "{p}");
        assert_eq!(parcels(&c, &order).await[0].1, b, "{p}");
    }
}

fn change_to(order: &str, p: Platform, old: (usize, &str), new: (usize, &str)) -> ChangeShipment {
    ChangeShipment {
        platform_order_id: order.to_string(),
        old_carrier_code: carriers(p)[old.0].0.into(),
        old_tracking_no: old.1.to_string(),
        new_carrier_code: carriers(p)[new.0].0.into(),
        new_carrier_name: carriers(p)[new.0].1.into(),
        new_tracking_no: new.1.to_string(),
        items: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_refuses_a_fourth_change_of_delivery_info() {
    let sim = start(setup_sim()).await;
    let p = Platform::Wechat;
    let c = client(&sim, p, test_options());
    let order = one_to_ship(&sim, p, 1);
    let mut current = (0, number());
    c.ship(&request(p, &order, 0, &current.1, vec![]))
        .await
        .expect("ship");
    for n in 1..=3 {
        let next = (n % 3, number());
        assert_eq!(
            c.change_shipment(&change_to(
                &order,
                p,
                (current.0, &current.1),
                (next.0, &next.1)
            ))
            .await,
            Ok(()),
            "change {n}"
        );
        current = next;
    }
    let fourth = c
        .change_shipment(&change_to(
            &order,
            p,
            (current.0, &current.1),
            (1, &number()),
        ))
        .await;
    assert!(
        matches!(&fourth, Err(PlatformError::Invalid { code, .. }) if code == "606040"),
        "{fourth:?}"
    );
    assert_eq!(
        parcels(&c, &order).await[0].1,
        current.1,
        "the third change stands"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_refuses_changes_after_split_shipping() {
    let sim = start(setup_sim()).await;
    let p = Platform::Wechat;
    let c = client(&sim, p, test_options());
    let order = one_to_ship(&sim, p, 2);
    let (a, b) = (number(), number());
    let first = line_item(&c, &order, 0).await;
    c.ship(&request(p, &order, 0, &a, vec![first.clone()]))
        .await
        .expect("first parcel");
    // Partly shipped is already split shipping.
    let got = c
        .change_shipment(&change_to(&order, p, (0, &a), (1, &number())))
        .await;
    assert!(
        matches!(&got, Err(PlatformError::Invalid { code, .. }) if code == "606040"),
        "{got:?}"
    );
    c.ship(&request(p, &order, 1, &b, vec![]))
        .await
        .expect("the rest");
    let mut change = change_to(&order, p, (1, &b), (2, &number()));
    change.items = vec![first];
    let got = c.change_shipment(&change).await;
    assert!(
        matches!(&got, Err(PlatformError::Invalid { code, .. }) if code == "606040"),
        "{got:?}"
    );
    let l = sim.ledger();
    assert!(l.accepted_changes(&order).is_empty());
    assert_eq!(
        l.ships
            .iter()
            .filter(|s| s.order_id == order && s.kind == fahuo_sim::ShipKind::Change)
            .count(),
        2,
        "refused changes are in the ledger too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_changes_one_parcel_of_a_split_shipment_by_its_pack() {
    let sim = start(setup_sim()).await;
    let p = Platform::Douyin;
    let c = client(&sim, p, test_options());
    let order = one_to_ship(&sim, p, 2);
    let (a, b, new) = (number(), number(), number());
    let first = line_item(&c, &order, 0).await;
    c.ship(&request(p, &order, 0, &a, vec![first]))
        .await
        .expect("first");
    c.ship(&request(p, &order, 1, &b, vec![]))
        .await
        .expect("rest");
    assert_eq!(
        c.change_shipment(&change_to(&order, p, (0, &a), (2, &new)))
            .await,
        Ok(())
    );
    let now = parcels(&c, &order).await;
    assert!(now.contains(&("yuantong".into(), new.clone())), "{now:?}");
    assert!(now.contains(&("zhongtong".into(), b.clone())), "{now:?}");
    let l = sim.ledger();
    assert_eq!(
        l.accepted_changes(&order)[0].api,
        "order.logisticsEditByPack"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xiaohongshu_refuses_a_change_after_completion() {
    let sim = start(setup_sim()).await;
    let p = Platform::Xiaohongshu;
    let c = client(&sim, p, test_options());
    let done = sim
        .orders(Some(sim_platform(p)))
        .into_iter()
        .find(|o| o.status == Status::Completed && !o.shipments.is_empty())
        .expect("a completed order");
    let s = &done.shipments[0];
    let got = c
        .change_shipment(&ChangeShipment {
            platform_order_id: done.order_id.clone(),
            old_carrier_code: s.carrier.clone(),
            old_tracking_no: s.tracking_no.clone(),
            new_carrier_code: "zto".into(),
            new_carrier_name: "中通速递".into(),
            new_tracking_no: number(),
            items: vec![],
        })
        .await;
    assert!(
        matches!(&got, Err(PlatformError::Invalid { code, .. }) if code == "20001"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_lists_are_each_platforms_own() {
    let sim = start(setup_sim()).await;
    for (p, code, name) in [
        (Platform::Wechat, "YUNDA", "韵达快递"),
        (Platform::Douyin, "yuantong", "圆通快递"),
        (Platform::Xiaohongshu, "zto", "中通速递"),
    ] {
        let c = client(&sim, p, test_options());
        let list = c.carrier_list().await.expect("list");
        assert!(list.len() >= 10, "{p}");
        assert!(
            list.contains(&PlatformCarrier {
                code: code.into(),
                name: name.into()
            }),
            "{p}: {list:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parcel_line_of_zero_units_or_a_blank_number_is_refused_before_any_call() {
    let sim = start(setup_sim()).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let order = one_to_ship(&sim, p, 1);
        let zero = ShipItem {
            platform_line_id: None,
            platform_sku_id: Some("1".into()),
            quantity: 0,
        };
        let got = c.ship(&request(p, &order, 0, &number(), vec![zero])).await;
        assert!(matches!(got, Err(PlatformError::Config(_))), "{p}: {got:?}");
        let empty = request(p, &order, 0, "  ", vec![]);
        assert!(matches!(
            c.ship(&empty).await,
            Err(PlatformError::Config(_))
        ));
        assert!(sim.ledger().accepted_ships(&order).is_empty());
    }
}

// ------------------------------------------------------------------ junk answers

mod junk {
    use super::*;
    use axum::extract::{Request, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use chrono::{Duration as CDuration, Utc};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Per path fragment, the (status, body) to answer; the first match wins, else `fallback`.
    #[derive(Clone, Default)]
    pub struct Answers {
        pub by_path: Vec<(&'static str, u16, String)>,
        pub fallback: (u16, String),
    }

    type Shared = Arc<Mutex<Answers>>;

    pub async fn server() -> (String, Shared) {
        let shared: Shared = Arc::new(Mutex::new(Answers::default()));
        let app = axum::Router::new()
            .fallback(|State(a): State<Shared>, req: Request| async move {
                let a = a.lock().expect("lock").clone();
                let path = req.uri().path().to_string();
                let (status, body) = a
                    .by_path
                    .iter()
                    .find(|(frag, _, _)| path.contains(frag))
                    .map(|(_, s, b)| (*s, b.clone()))
                    .unwrap_or(a.fallback);
                (StatusCode::from_u16(status).expect("status"), body).into_response()
            })
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (format!("http://{addr}"), shared)
    }

    pub fn client(p: Platform, base: &str) -> PlatformClient {
        PlatformClient::new(
            Connection {
                platform: p,
                base_url: base.to_string(),
                platform_shop_id: "123".into(),
                credentials: ShopCredentials {
                    app_key: "key".into(),
                    app_secret: "secret".into(),
                    access_token: Some("tok".into()),
                    access_token_expires_at: Some(Utc::now() + CDuration::days(1)),
                    ..Default::default()
                },
            },
            fahuo_platforms::http_client(),
            ClientOptions {
                timeout: Duration::from_secs(2),
                max_attempts: 2,
                backoff_base: Duration::from_millis(5),
                backoff_max: Duration::from_millis(10),
                ..ClientOptions::default()
            },
        )
        .expect("client")
    }
}

fn ship_req(p: Platform, items: Vec<ShipItem>) -> ShipRequest {
    request(p, "3721712203692901632", 0, "SF1234567890123", items)
}

fn change_req(p: Platform) -> ChangeShipment {
    change_to(
        "3721712203692901632",
        p,
        (0, "SF1234567890123"),
        (1, "75000000000001"),
    )
}

fn sku_item() -> ShipItem {
    ShipItem {
        platform_line_id: Some("L1".into()),
        platform_sku_id: Some("9".into()),
        quantity: 1,
    }
}

#[tokio::test]
async fn junk_answers_to_ship_change_and_carrier_calls_are_protocol_errors() {
    let (base, answers) = junk::server().await;
    for p in PLATFORMS {
        let c = junk::client(p, &base);
        for body in [
            "",
            "not json",
            "[]",
            "null",
            "\"ok\"",
            "{\"truncated\": ",
            "{}",
        ] {
            *answers.lock().expect("lock") = junk::Answers {
                by_path: vec![],
                fallback: (200, body.to_string()),
            };
            for (what, r) in [
                ("ship", c.ship(&ship_req(p, vec![])).await.map(drop)),
                (
                    "ship lines",
                    c.ship(&ship_req(p, vec![sku_item()])).await.map(drop),
                ),
                ("change", c.change_shipment(&change_req(p)).await),
                ("carriers", c.carrier_list().await.map(drop)),
            ] {
                assert!(
                    matches!(r, Err(PlatformError::Protocol(_))),
                    "{p} {what} {body:?}: {r:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn ship_answers_missing_their_fields_are_protocol_errors() {
    let (base, answers) = junk::server().await;
    // WeChat: a real order, then a ship answer without the envelope's errcode.
    let order = r#"{"errcode":0,"errmsg":"ok","order":{"order_id":"3721712203692901632","status":20,
        "order_detail":{"product_infos":[{"product_id":"10000141308512","sku_id":"9","sku_cnt":1,"product_unique_id":"L1"}]}}}"#;
    *answers.lock().expect("lock") = junk::Answers {
        by_path: vec![
            ("order/get", 200, order.into()),
            ("delivery/send", 200, r#"{"ok":true}"#.into()),
            (
                "deliverycompanylist",
                200,
                r#"{"errcode":0,"company_list":[{"delivery_name":"x"}]}"#.into(),
            ),
        ],
        fallback: (200, "{}".into()),
    };
    let c = junk::client(Platform::Wechat, &base);
    let got = c.ship(&ship_req(Platform::Wechat, vec![])).await;
    assert!(matches!(got, Err(PlatformError::Protocol(_))), "{got:?}");
    let got = c.carrier_list().await;
    assert!(matches!(got, Err(PlatformError::Protocol(_))), "{got:?}");

    // Douyin: a split parcel answered without its pack_id; a carrier list that is not a list.
    *answers.lock().expect("lock") = junk::Answers {
        by_path: vec![
            (
                "logisticsAddSinglePack",
                200,
                r#"{"code":10000,"msg":"success","data":{}}"#.into(),
            ),
            (
                "logisticsCompanyList",
                200,
                r#"{"code":10000,"data":{"list":[]}}"#.into(),
            ),
        ],
        fallback: (200, "{}".into()),
    };
    let c = junk::client(Platform::Douyin, &base);
    let got = c.ship(&ship_req(Platform::Douyin, vec![sku_item()])).await;
    assert!(matches!(got, Err(PlatformError::Protocol(m)) if m.contains("pack_id")));
    let got = c.carrier_list().await;
    assert!(matches!(got, Err(PlatformError::Protocol(_))), "{got:?}");

    // Xiaohongshu: a refusal without its code; a carrier list without its entries' codes.
    let c = junk::client(Platform::Xiaohongshu, &base);
    for (body, what) in [
        (r#"{"success":false,"error_msg":"x"}"#, "ship"),
        (
            r#"{"success":true,"data":{"expressCompanyInfos":[{"expressCompanyName":"x"}]}}"#,
            "carriers",
        ),
    ] {
        *answers.lock().expect("lock") = junk::Answers {
            by_path: vec![],
            fallback: (200, body.into()),
        };
        let got = match what {
            "ship" => c
                .ship(&ship_req(Platform::Xiaohongshu, vec![]))
                .await
                .map(drop),
            _ => c.carrier_list().await.map(drop),
        };
        assert!(
            matches!(got, Err(PlatformError::Protocol(_))),
            "{what}: {got:?}"
        );
    }
}

#[tokio::test]
async fn server_errors_on_ship_calls_are_transient_not_protocol() {
    let (base, answers) = junk::server().await;
    *answers.lock().expect("lock") = junk::Answers {
        by_path: vec![],
        fallback: (503, "<html>busy</html>".into()),
    };
    for p in PLATFORMS {
        let c = junk::client(p, &base);
        let got = c.ship(&ship_req(p, vec![])).await;
        assert!(matches!(&got, Err(e) if e.is_retryable()), "{p}: {got:?}");
    }
}
