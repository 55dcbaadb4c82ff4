//! After-sales (售后) against the emulators over real HTTP, for all three platforms: reading
//! (single and window), each decision landing exactly once even when repeated, the buyer's return
//! parcel, refusals of impossible decisions, and after-sale pushes' ids.

mod common;

use chrono::{DateTime, Duration as CDuration, Utc};
use common::*;
use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus};
use fahuo_platforms::*;
use fahuo_sim::aftersale::{DecisionOutcome, Kind};
use fahuo_sim::{SimHandle, Status};

const PLATFORMS: [Platform; 3] = [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu];

fn orders_in(sim: &SimHandle, p: Platform, status: Status) -> Vec<String> {
    sim.orders(Some(sim_platform(p)))
        .into_iter()
        .filter(|o| o.shop == 0 && o.status == status && o.after_sales.is_empty())
        .map(|o| o.order_id)
        .collect()
}

fn accepted(sim: &SimHandle, id: &str) -> usize {
    sim.after_sales(None)
        .decisions
        .iter()
        .filter(|d| d.after_sale_id == id && d.outcome == DecisionOutcome::Accepted)
        .count()
}

#[tokio::test]
async fn decisions_land_once_and_follow_the_platforms_state_machine() {
    let sim = start(sim_config(4242, 120)).await;
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        // Refund only, before shipping: approve twice, refunded once.
        let to_ship = orders_in(&sim, p, Status::ToShip);
        let id = sim
            .open_after_sale(&to_ship[0], Kind::RefundOnly)
            .expect("refund-only opens");
        let a = c.after_sale(&id).await.expect("read");
        assert_eq!(
            (a.kind, a.status),
            (AfterSaleKind::RefundOnly, AfterSaleStatus::Requested),
            "{p:?}"
        );
        assert_eq!(a.platform_order_id, to_ship[0]);
        assert!(a.refund_fen.unwrap_or(0) > 0, "{p:?}");
        c.approve_after_sale(&id, None).await.expect("approve");
        c.approve_after_sale(&id, None)
            .await
            .expect("approve again is success");
        assert_eq!(
            c.after_sale(&id).await.expect("read").status,
            AfterSaleStatus::Completed
        );
        assert_eq!(accepted(&sim, &id), 1, "{p:?}: decided exactly once");

        // Reject, then approving is a clear refusal.
        let id2 = sim
            .open_after_sale(&to_ship[1], Kind::RefundOnly)
            .expect("opens");
        c.reject_after_sale(&id2, "已发货，请拒收")
            .await
            .expect("reject");
        c.reject_after_sale(&id2, "已发货，请拒收")
            .await
            .expect("reject again");
        let e = c
            .approve_after_sale(&id2, None)
            .await
            .expect_err("rejected is final");
        assert!(matches!(e, PlatformError::Invalid { .. }), "{p:?}: {e:?}");
        assert_eq!(accepted(&sim, &id2), 1);

        // Return and refund after delivery: approve, the buyer ships back, confirm receipt.
        let shipped = orders_in(&sim, p, Status::Shipped);
        let id3 = sim
            .open_after_sale(&shipped[0], Kind::ReturnRefund)
            .expect("return opens");
        c.approve_after_sale(&id3, Some(1))
            .await
            .expect("approve return");
        let a = c.after_sale(&id3).await.expect("read");
        assert_eq!(a.status, AfterSaleStatus::AwaitingReturn, "{p:?}");
        let e = c
            .confirm_return_received(&id3)
            .await
            .expect_err("nothing came back yet");
        assert!(matches!(e, PlatformError::Invalid { .. }), "{p:?}: {e:?}");
    }
    // The buyers send their parcels back within 30 h on the sim clock.
    sim.advance_clock(31 * 3600);
    for p in PLATFORMS {
        let c = client(&sim, p, test_options());
        let led = sim.after_sales(Some(sim_platform(p)));
        let ret = led
            .after_sales
            .iter()
            .find(|a| a.kind == Kind::ReturnRefund)
            .expect("return");
        let a = c.after_sale(&ret.id).await.expect("read");
        if ret.state == fahuo_sim::aftersale::AsState::Closed {
            // Some buyers withdraw (the emulator's traffic, by chance): then it is final.
            assert_eq!(a.status, AfterSaleStatus::Closed, "{p:?}");
            let e = c
                .confirm_return_received(&ret.id)
                .await
                .expect_err("withdrawn");
            assert!(matches!(e, PlatformError::Invalid { .. }), "{p:?}: {e:?}");
            continue;
        }
        assert_eq!(a.status, AfterSaleStatus::ReturnShipped, "{p:?}");
        let parcel = a.return_parcel.clone().expect("return parcel");
        assert_eq!(parcel.tracking_no, ret.return_no);
        assert!(!parcel.carrier_code.is_empty(), "{p:?}");
        c.confirm_return_received(&ret.id).await.expect("confirm");
        c.confirm_return_received(&ret.id)
            .await
            .expect("confirm again");
        assert_eq!(
            c.after_sale(&ret.id).await.expect("read").status,
            AfterSaleStatus::Completed
        );
        assert_eq!(
            accepted(&sim, &ret.id),
            2,
            "{p:?}: approve + receipt, once each"
        );

        // The window read sees all three (updated in the last day and a half).
        let now = DateTime::<Utc>::from_timestamp_millis(sim.now_ms()).expect("now");
        let got = c
            .after_sales_window(now - CDuration::hours(40), now + CDuration::minutes(1))
            .await
            .expect("window");
        for a in &led.after_sales {
            assert!(
                got.iter().any(|g| g.platform_after_sale_id == a.id),
                "{p:?}: {} missing",
                a.id
            );
        }
    }
}
