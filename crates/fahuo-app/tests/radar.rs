//! The exception radar, on SQLite and PostgreSQL, with a clock the test moves: every rule's
//! alert appears exactly when its threshold passes and clears when the fact behind it changes.
//! Traces are applied as a tracking service would report them.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fahuo_app::catalog::ShopInput;
use fahuo_app::jobs::JobRunner;
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::shipping::ManualShipment;
use fahuo_app::{Actor, App, ManualClock, Settings};
use fahuo_domain::radar::AlertKind;
use fahuo_domain::tracking::{TrackEvent, TrackState};
use fahuo_domain::{Name, OrderId, ShopId};
use fahuo_store::both_backends;
use fahuo_store::radar::Subject;
use fahuo_store::testing::TestDb;
use fahuo_store::tracking::ParcelId;
use std::sync::Arc;

struct World {
    app: App,
    clock: ManualClock,
    owner: Actor,
    shop: ShopId,
    next: std::cell::Cell<u64>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap()
}

async fn world(db: &TestDb) -> World {
    let clock = ManualClock::new(start());
    let app = App::new(
        db.store.clone(),
        Arc::new(clock.clone()),
        Settings::default(),
    );
    let tenant = app
        .create_tenant(&Name::parse("雷达商家").unwrap())
        .await
        .unwrap();
    let owner = Actor::cli(tenant.id);
    let shop = app
        .create_shop(
            &owner,
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
    World {
        app,
        clock,
        owner,
        shop: shop.id,
        next: std::cell::Cell::new(0),
    }
}

impl World {
    fn now(&self) -> DateTime<Utc> {
        self.app.now()
    }

    async fn order(&self, ship_by: Option<DateTime<Utc>>) -> OrderId {
        let i = self.next.get();
        self.next.set(i + 1);
        let (_, order) = self
            .app
            .create_manual_order(
                &self.owner,
                &OrderInput {
                    shop_id: self.shop.get(),
                    platform_order_id: format!("R{i:04}"),
                    paid_total_fen: None,
                    freight_fen: 0,
                    buyer_note: None,
                    seller_note: None,
                    ship_by,
                    presale_ship_at: None,
                    receiver: ReceiverInput {
                        name: "李四".into(),
                        phone: "13812345678".into(),
                        province: "浙江省".into(),
                        city: "杭州市".into(),
                        county: "西湖区".into(),
                        detail: "文三路90号".into(),
                    },
                    lines: vec![LineInput {
                        sku_code: None,
                        title: "围巾".into(),
                        quantity: 1,
                        unit_price_fen: 5900,
                        paid_fen: None,
                    }],
                },
            )
            .await
            .unwrap();
        order.id
    }

    async fn ship(&self, order: OrderId) -> ParcelId {
        let number = format!("SF{:013}", 1_385_628_800_000u64 + order.get() as u64);
        self.app
            .ship_order_manually(
                &self.owner,
                order,
                &ManualShipment {
                    carrier: "SF".into(),
                    tracking_no: number.clone(),
                    lines: Vec::new(),
                },
            )
            .await
            .unwrap();
        let runner = fahuo_app::shipping::register(JobRunner::new(self.app.clone(), "test"));
        while runner.run_once().await.unwrap() > 0 {}
        self.app.store().open_parcels(self.now()).await.unwrap();
        self.app
            .store()
            .parcel_by_number(self.owner.tenant_id, Some("SF"), &number)
            .await
            .unwrap()
            .expect("a parcel for the accepted write-back")
    }

    /// The carrier reports one more line, stamped now.
    async fn report(&self, parcel: ParcelId, state: TrackState, text: &str) {
        let e = TrackEvent {
            at: self.now(),
            state,
            sub_state: None,
            text: text.into(),
            location: None,
        };
        self.app
            .store()
            .apply_trace(self.owner.tenant_id, parcel, &[e], false, None, self.now())
            .await
            .unwrap();
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs the radar and answers the open alerts about `subject`.
    async fn open(&self, subject: Subject) -> Vec<AlertKind> {
        self.app
            .radar_scan_tenant(self.owner.tenant_id)
            .await
            .unwrap();
        self.app
            .store()
            .alerts_about(self.owner.tenant_id, subject)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.cleared_at.is_none())
            .map(|a| a.kind)
            .collect()
    }

    async fn cleared(&self, subject: Subject, kind: AlertKind) -> bool {
        self.app
            .store()
            .alerts_about(self.owner.tenant_id, subject)
            .await
            .unwrap()
            .iter()
            .any(|a| a.kind == kind && a.cleared_at.is_some())
    }
}

async fn not_picked_up_24_hours_after_printing_until_the_first_scan(db: TestDb) {
    let w = world(&db).await;
    let order = w.order(None).await;
    let p = w.ship(order).await;
    let s = Subject::Parcel(p, None);
    w.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![]);
    w.advance(Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![AlertKind::NotPickedUp]);
    // The queue shows it with the order and suggested actions.
    let queue = w.app.radar_queue(&w.owner, None, false, 50).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].order_id, Some(order));
    assert!(!queue[0].actions.is_empty());
    w.advance(Duration::hours(2));
    w.report(p, TrackState::PickedUp, "【杭州市】已揽收").await;
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::NotPickedUp).await);
}

async fn a_trace_that_stops_moving_is_stale_until_it_moves_again(db: TestDb) {
    let w = world(&db).await;
    let p = w.ship(w.order(None).await).await;
    let s = Subject::Parcel(p, None);
    w.advance(Duration::hours(3));
    w.report(p, TrackState::PickedUp, "【杭州市】已揽收").await;
    w.advance(Duration::hours(48) - Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![]);
    w.advance(Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![AlertKind::Stale]);
    w.report(p, TrackState::InTransit, "快件已到达 上海转运中心")
        .await;
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::Stale).await);
}

/// A parcel that is slow to be picked up and then stops moving twice raises three alerts, but
/// its buyer hears of the delay once: one "delayed" notice per parcel (and one "exception"
/// notice per parcel in trouble), however often the radar re-opens an alert about it.
async fn a_parcel_late_again_and_again_tells_its_buyer_once(db: TestDb) {
    let w = world(&db).await;
    w.app
        .set_notify_settings(
            &w.owner,
            fahuo_app::tracking::notify::NotifySettings {
                delayed: true,
                exception: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let order = w.order(None).await;
    let p = w.ship(order).await;
    let s = Subject::Parcel(p, None);
    w.advance(Duration::hours(25));
    assert_eq!(w.open(s).await, vec![AlertKind::NotPickedUp]);
    w.report(p, TrackState::PickedUp, "【杭州市】已揽收").await;
    for stop in ["快件已到达 上海转运中心", "快件已到达 北京转运中心"] {
        w.advance(Duration::hours(49));
        assert_eq!(w.open(s).await, vec![AlertKind::Stale]);
        w.report(p, TrackState::InTransit, stop).await;
        assert_eq!(w.open(s).await, vec![]);
    }
    w.report(p, TrackState::Problem, "地址不详，联系不上收件人")
        .await;
    assert_eq!(w.open(s).await, vec![AlertKind::Problem]);
    w.advance(Duration::hours(1));
    w.report(p, TrackState::InTransit, "已联系收件人，继续派送")
        .await;
    assert_eq!(w.open(s).await, vec![]);
    w.advance(Duration::hours(1));
    w.report(p, TrackState::Problem, "再次派送失败").await;
    w.open(s).await;
    let mut notices: Vec<String> = w
        .app
        .notifications(&w.owner, Some(order))
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    notices.sort();
    assert_eq!(notices, ["delayed", "exception"]);
}

async fn problem_refused_and_returning_parcels_raise_alerts_that_clear(db: TestDb) {
    let w = world(&db).await;
    // A problem that resolves.
    let p = w.ship(w.order(None).await).await;
    let s = Subject::Parcel(p, None);
    w.advance(Duration::hours(1));
    w.report(p, TrackState::PickedUp, "已揽收").await;
    assert_eq!(w.open(s).await, vec![]);
    w.advance(Duration::hours(20));
    w.report(p, TrackState::Problem, "快件滞留，地址不详").await;
    assert_eq!(w.open(s).await, vec![AlertKind::Problem]);
    w.advance(Duration::hours(5));
    w.report(p, TrackState::Delivered, "已签收，签收人：本人")
        .await;
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::Problem).await);
    // Refused, then coming back, then back at the sender.
    let q = w.ship(w.order(None).await).await;
    let s = Subject::Parcel(q, None);
    w.report(q, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(30));
    w.report(q, TrackState::Refused, "收件人拒收").await;
    assert_eq!(w.open(s).await, vec![AlertKind::Refused]);
    w.advance(Duration::hours(2));
    w.report(q, TrackState::Returning, "快件退回中").await;
    assert_eq!(w.open(s).await, vec![AlertKind::Returning]);
    assert!(w.cleared(s, AlertKind::Refused).await);
    w.advance(Duration::hours(40));
    w.report(q, TrackState::Returned, "退回签收").await;
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::Returning).await);
}

async fn a_delivery_the_buyer_disputes_is_an_alert_until_withdrawn(db: TestDb) {
    let w = world(&db).await;
    let p = w.ship(w.order(None).await).await;
    let s = Subject::Parcel(p, None);
    w.report(p, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(30));
    w.report(p, TrackState::Delivered, "已签收，签收人：快递柜")
        .await;
    assert_eq!(w.open(s).await, vec![]);
    w.app.dispute_delivery(&w.owner, p, true).await.unwrap();
    assert_eq!(w.open(s).await, vec![AlertKind::SignedNotReceived]);
    w.app.dispute_delivery(&w.owner, p, false).await.unwrap();
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::SignedNotReceived).await);
}

async fn an_unshipped_order_near_its_deadline_is_at_risk_until_it_ships(db: TestDb) {
    let w = world(&db).await;
    let ship_by = w.now() + Duration::hours(10);
    let order = w.order(Some(ship_by)).await;
    let s = Subject::Order(order);
    w.advance(Duration::hours(4) - Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![]);
    w.advance(Duration::seconds(1));
    assert_eq!(w.open(s).await, vec![AlertKind::DeadlineAtRisk]);
    // Past the deadline it stays, more urgent.
    let before = w.app.radar_queue(&w.owner, None, false, 10).await.unwrap()[0].urgency;
    w.advance(Duration::hours(7));
    assert_eq!(w.open(s).await, vec![AlertKind::DeadlineAtRisk]);
    let after = w.app.radar_queue(&w.owner, None, false, 10).await.unwrap()[0].urgency;
    assert!(
        after > before,
        "overdue is more urgent ({before} → {after})"
    );
    w.ship(order).await;
    assert_eq!(w.open(s).await, vec![]);
    assert!(w.cleared(s, AlertKind::DeadlineAtRisk).await);
}

async fn the_queue_puts_the_most_urgent_first_and_thresholds_are_the_merchants(db: TestDb) {
    let w = world(&db).await;
    let mut settings = w.app.radar_settings(&w.owner).await.unwrap();
    assert_eq!(settings.pickup_hours, 24);
    settings.pickup_hours = 12;
    w.app
        .set_radar_settings(&w.owner, settings.clone())
        .await
        .unwrap();
    settings.stale_hours = 0;
    assert!(w.app.set_radar_settings(&w.owner, settings).await.is_err());
    let slow = w.ship(w.order(None).await).await;
    let refused = w.ship(w.order(None).await).await;
    w.advance(Duration::hours(1));
    w.report(refused, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(11));
    w.report(refused, TrackState::Refused, "拒收").await;
    w.open(Subject::Parcel(slow, None)).await;
    let queue = w.app.radar_queue(&w.owner, None, false, 10).await.unwrap();
    let kinds: Vec<_> = queue.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec![AlertKind::Refused, AlertKind::NotPickedUp]);
    assert!(queue.windows(2).all(|w| w[0].urgency >= w[1].urgency));
    // The summaries name the carrier and number, never the receiver.
    for a in &queue {
        assert!(
            !a.summary.contains("李四") && !a.summary.contains("13812345678"),
            "{}",
            a.summary
        );
    }
}

async fn reports_count_what_happened_to_the_shipped_parcels(db: TestDb) {
    use fahuo_app::reports::Period;
    use fahuo_domain::reports::ErrorKind;
    let w = world(&db).await;
    let late_by = w.now() - Duration::hours(1);
    let (a, b, c) = (
        w.order(None).await,
        w.order(None).await,
        w.order(Some(late_by)).await,
    );
    let (pa, pb, _pc) = (w.ship(a).await, w.ship(b).await, w.ship(c).await);
    w.advance(Duration::hours(2));
    w.report(pa, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(24));
    w.report(pa, TrackState::Delivered, "已签收").await;
    w.advance(Duration::hours(4));
    w.report(pb, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(10));
    w.report(pb, TrackState::Refused, "拒收").await;
    w.advance(Duration::hours(10));
    let day = fahuo_domain::deadline::shanghai_day(start());
    let period = Period::parse(&day.to_string(), &(day + Duration::days(3)).to_string()).unwrap();
    let r = w.app.report(&w.owner, period).await.unwrap();
    assert_eq!(r.parcels, 3);
    // 3 printed (shipped by hand: counted from acceptance) ≥ 24 h ago; only A scanned within 24 h.
    let all = r.pickup.iter().find(|p| p.carrier == "*").unwrap();
    assert_eq!(
        (all.printed, all.picked_up_24h, all.rate_bp),
        (3, 1, Some(3333))
    );
    // A: picked up at +2 h, delivered at +26 h → 24 h = 1440 minutes.
    assert_eq!(r.transit.len(), 1);
    assert_eq!(
        (r.transit[0].delivered, r.transit[0].mean_minutes),
        (1, 1440)
    );
    // B was refused: one return in three SF parcels.
    let sf = r.returns_by_carrier.iter().find(|x| x.key == "SF").unwrap();
    assert_eq!((sf.total, sf.count, sf.rate_bp), (3, 1, 3333));
    // C shipped after its deadline: a late shipment, and 0 of 1 on time.
    let on_time = r.on_time.iter().find(|x| x.platform == "*").unwrap();
    assert_eq!((on_time.shipped, on_time.on_time), (1, 0));
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].kind, ErrorKind::LateShipment);
    // The workbook opens with its sheets.
    let xlsx = w.app.report_xlsx(&w.owner, period).await.unwrap();
    assert!(xlsx.starts_with(b"PK"));
    // Reports are for finance and the owners; a warehouse clerk may not read them.
    let clerk = Actor {
        role: fahuo_domain::Role::Warehouse,
        ..w.owner.clone()
    };
    assert!(w.app.report(&clerk, period).await.is_err());
}

async fn a_parcel_in_trouble_can_be_intercepted_once_and_the_answer_recorded(db: TestDb) {
    use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus};
    let w = world(&db).await;
    let p = w.ship(w.order(None).await).await;
    w.report(p, TrackState::PickedUp, "已揽收").await;
    w.advance(Duration::hours(20));
    w.report(p, TrackState::Problem, "快件滞留，地址不详").await;
    assert_eq!(
        w.open(Subject::Parcel(p, None)).await,
        vec![AlertKind::Problem]
    );
    let asked = w
        .app
        .request_interception(&w.owner, p, "地址错误，拦截退回")
        .await
        .unwrap();
    assert_eq!(asked.after_sale.kind, AfterSaleKind::Intercept);
    assert_eq!(asked.after_sale.status, AfterSaleStatus::Requested);
    assert!(
        w.app
            .request_interception(&w.owner, p, "再次拦截")
            .await
            .is_err(),
        "one open request"
    );
    let done = w
        .app
        .record_interception(&w.owner, asked.after_sale.id, true, Some("网点已拦截"))
        .await
        .unwrap();
    assert_eq!(done.after_sale.status, AfterSaleStatus::Completed);
    // A delivered parcel cannot be stopped any more.
    let q = w.ship(w.order(None).await).await;
    w.report(q, TrackState::Delivered, "已签收").await;
    assert!(
        w.app
            .request_interception(&w.owner, q, "拦截")
            .await
            .is_err()
    );
}

both_backends!(
    a_parcel_in_trouble_can_be_intercepted_once_and_the_answer_recorded,
    reports_count_what_happened_to_the_shipped_parcels,
    not_picked_up_24_hours_after_printing_until_the_first_scan,
    a_trace_that_stops_moving_is_stale_until_it_moves_again,
    a_parcel_late_again_and_again_tells_its_buyer_once,
    problem_refused_and_returning_parcels_raise_alerts_that_clear,
    a_delivery_the_buyer_disputes_is_an_alert_until_withdrawn,
    an_unshipped_order_near_its_deadline_is_at_risk_until_it_ships,
    the_queue_puts_the_most_urgent_first_and_thresholds_are_the_merchants,
);
