//! After-sales in the emulator: the platform agrees ignored requests after 48 h, the buyer then
//! ships the goods back with a return number, withdrawn/refused ones are final, and the orders'
//! own after-sale fields follow the records.

use fahuo_sim::aftersale::{AsState, DecisionOutcome, Kind};
use fahuo_sim::{Platform, SimConfig, Status};

async fn start() -> fahuo_sim::SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    fahuo_sim::start(
        SimConfig {
            live: false,
            ..SimConfig::new(77, 80)
        },
        listener,
    )
    .expect("start")
}

#[tokio::test]
async fn ignored_requests_are_agreed_by_timeout_and_returns_come_back() {
    let sim = start().await;
    let mut ids = Vec::new();
    for p in Platform::ALL {
        let orders = sim.orders(Some(p));
        let shipped = orders
            .iter()
            .find(|o| o.shop == 0 && o.status == Status::Shipped)
            .expect("shipped");
        let to_ship = orders
            .iter()
            .find(|o| o.shop == 0 && o.status == Status::ToShip)
            .expect("to ship");
        assert!(
            sim.open_after_sale(&to_ship.order_id, Kind::ReturnRefund)
                .is_none(),
            "no return before shipping"
        );
        let r = sim
            .open_after_sale(&shipped.order_id, Kind::Exchange)
            .expect("exchange");
        let o = sim.order(&shipped.order_id).expect("order");
        assert!(
            o.after_sales
                .iter()
                .any(|x| x.id == r && x.state == AsState::Requested)
        );
        ids.push(r);
    }
    sim.advance_clock(49 * 3600);
    let led = sim.after_sales(None);
    // Buyers withdraw some requests before the timeout (traffic by chance): those stay closed.
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| {
            led.after_sales
                .iter()
                .any(|a| &a.id == id && a.state != AsState::Closed)
        })
        .collect();
    for id in &ids {
        let timeouts = led
            .decisions
            .iter()
            .filter(|d| {
                &d.after_sale_id == id
                    && d.by == "timeout"
                    && d.outcome == DecisionOutcome::Accepted
            })
            .count();
        assert_eq!(timeouts, 1, "{id}");
    }
    sim.advance_clock(31 * 3600);
    for a in sim
        .after_sales(None)
        .after_sales
        .iter()
        .filter(|a| ids.contains(&a.id))
    {
        assert_eq!(a.state, AsState::ReturnShipped, "{}", a.id);
        assert!(
            a.return_no.starts_with("SF1") || a.return_no.starts_with('7'),
            "{}",
            a.return_no
        );
        let o = sim.order(&a.order_id).expect("order");
        assert!(
            o.after_sales
                .iter()
                .any(|x| x.id == a.id && x.state == AsState::ReturnShipped)
        );
    }
}
