//! Order intake end to end, per platform and on both databases: the platform's emulator on
//! loopback with injected faults, fahuo's HTTP server receiving its pushes, and fahuo's job
//! runner syncing. Afterwards every order fahuo holds must equal the emulator's truth field by
//! field, every shippable order must be there exactly once, cancellations and address changes
//! must show, and forged pushes must have been refused with nothing stored.

use chrono::{DateTime, Duration, TimeZone, Utc};
use fahuo_app::jobs::JobRunner;
use fahuo_app::{App, Clock, Settings};
use fahuo_domain::order::Order;
use fahuo_domain::{OrderState, TenantId};
use fahuo_sim::{Platform as SimPlatform, SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::orders::OrderFilter;
use fahuo_store::testing::TestDb;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Orders the emulator generates per platform. The issue asks for 5,000; `FAHUO_E2E_ORDERS`
/// lowers it for a quick local run.
fn order_count() -> usize {
    std::env::var("FAHUO_E2E_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

/// fahuo runs on the emulator's clock, so that a sync window ending "now" means the same
/// instant on both sides even after the test moves the emulator's clock on.
struct SimClock(Arc<SimHandle>);

impl Clock for SimClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0.now_ms()).unwrap()
    }
}

struct Run {
    sim: Arc<SimHandle>,
    app: App,
    _stop_runner: tokio::sync::oneshot::Sender<()>,
    tenant: TenantId,
    shop: fahuo_domain::catalog::Shop,
    base: String,
}

async fn start(db: &TestDb, platform: SimPlatform) -> Run {
    let history_hours = 24;
    let config = SimConfig {
        fault_rate: 0.1,
        history_secs: history_hours * 3600,
        future_secs: 3600,
        // Injected timeouts stall longer than fahuo's per-call limit below.
        timeout_delay: std::time::Duration::from_millis(1_000),
        push_retry_scale: 0.0005,
        ..SimConfig::new(20261122, order_count())
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Arc::new(fahuo_sim::start(config, listener).unwrap());
    let settings = Settings {
        platform_timeout_millis: 300,
        platform_max_attempts: 8,
        platform_calls_per_second: 2_000.0,
        platform_concurrency: 16,
        platform_backoff_millis: 20,
        sync_initial_lookback_hours: history_hours + 1,
        job_concurrency: 8,
        job_poll_millis: 20,
        ..Settings::default()
    };
    let app = App::new(db.store.clone(), Arc::new(SimClock(sim.clone())), settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(fahuo_server::serve(
        app.clone(),
        Default::default(),
        listener,
        std::future::pending(),
    ));
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse("同步测试商家").unwrap())
        .await
        .unwrap()
        .id;
    // Connected as the demo connects it: the emulator's address and the credentials it issued.
    let shop = fahuo_cli::demo::connect_shop(&app, tenant, &sim, platform)
        .await
        .unwrap();
    // fahuo's job runner works in the background, as in production: pushes about after-sales
    // queue after-sale jobs beside the order's own sync.
    let runner =
        fahuo_app::intake::register(JobRunner::new(app.clone(), "e2e"), Duration::minutes(1));
    let runner = fahuo_app::aftersales::register(runner, Duration::minutes(1));
    let (stop_runner, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(runner.run_until(async move {
        let _ = stopped.await;
    }));
    Run {
        sim,
        app,
        _stop_runner: stop_runner,
        tenant,
        shop,
        base,
    }
}

impl Run {
    /// Waits until the emulator has delivered every push and fahuo's queue is empty. Jobs
    /// waiting for a retry wait on the emulator's clock, so the clock is moved on for them.
    async fn settle(&self) {
        let mut quiet = 0;
        for _ in 0..20_000 {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            let counts = self.app.store().job_counts().await.unwrap();
            let pushing = self.sim.pushes_in_flight();
            if counts.queued + counts.running == 0 && pushing == 0 {
                quiet += 1;
                // Quiet twice in a row: nothing was about to be enqueued.
                if quiet == 2 {
                    return;
                }
                continue;
            }
            quiet = 0;
            if counts.running == 0 && pushing == 0 {
                self.sim.advance_clock(5);
            }
        }
        panic!("fahuo never caught up with the emulator");
    }

    /// Every order fahuo holds for the shop, decrypted, by platform order id.
    async fn fahuo_orders(&self) -> BTreeMap<String, Order> {
        let store = self.app.store();
        let mut out = BTreeMap::new();
        let mut filter = OrderFilter {
            limit: 500,
            ..Default::default()
        };
        loop {
            let page = store.orders(self.tenant, &filter).await.unwrap();
            for summary in &page.items {
                let order = store.order(self.tenant, summary.id).await.unwrap();
                let previous = out.insert(order.platform_order_id.as_str().to_string(), order);
                assert!(previous.is_none(), "an order is stored twice");
            }
            match page.next_cursor {
                Some(c) => filter.after = Some(c),
                None => return out,
            }
        }
    }
}

/// The platform's status code for the emulator's order, from the ledger (what the wire says).
fn ledger_status(sim: &SimHandle, platform: SimPlatform) -> HashMap<String, String> {
    sim.ledger()
        .orders
        .into_iter()
        .filter(|o| o.platform == platform)
        .map(|o| (o.order_id, o.status.to_string()))
        .collect()
}

/// Checks one stored order against the emulator's truth; returns the differences.
fn differences(
    platform: SimPlatform,
    ours: &Order,
    truth: &fahuo_sim::Order,
    status: &str,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: &str, a: String, b: String| {
        if a != b {
            diffs.push(format!("{what}: fahuo {a:?} vs platform {b:?}"));
        }
    };
    check("status", ours.platform_status.clone(), status.to_string());
    check(
        "paid_total",
        ours.paid_total.get().to_string(),
        truth.total_paid_fen().to_string(),
    );
    check(
        "freight",
        ours.freight.get().to_string(),
        truth.freight_fen.to_string(),
    );
    check(
        "buyer_note",
        ours.buyer_note.clone().unwrap_or_default(),
        truth.buyer_note.clone(),
    );
    check(
        "seller_note",
        ours.seller_note.clone().unwrap_or_default(),
        truth.seller_note.clone(),
    );
    check(
        "paid_at",
        format!("{:?}", ours.paid_at.map(|t| t.timestamp())),
        format!("{:?}", truth.paid_ms.map(|t| t / 1000)),
    );
    check(
        "ship_by",
        format!("{:?}", ours.ship_by.map(|t| t.timestamp())),
        format!("{:?}", Some(truth.ship_deadline_ms / 1000)),
    );
    check(
        "lines",
        ours.lines.len().to_string(),
        truth.lines.len().to_string(),
    );
    for (a, b) in ours.lines.iter().zip(&truth.lines) {
        check(
            "line.sku_code",
            a.sku_code
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            b.sku_code.clone(),
        );
        check("line.title", a.title.clone(), b.title.clone());
        check("line.quantity", a.quantity.to_string(), b.qty.to_string());
        check(
            "line.unit_price",
            a.unit_price.get().to_string(),
            b.unit_price_fen.to_string(),
        );
        check(
            "line.paid",
            a.paid.get().to_string(),
            b.paid_fen.to_string(),
        );
        check(
            "line.platform_sku_id",
            a.platform_sku_id.clone().unwrap_or_default(),
            b.sku_id.clone(),
        );
    }
    // The receiver is compared while the order can ship: that is when fahuo needs it, and
    // when the platforms let it be decrypted.
    if truth.shippable() {
        let r = &ours.receiver;
        let t = &truth.receiver;
        check("receiver.name", r.name.clone(), t.name.clone());
        // The privacy number with its extension where the buyer chose one: that is what the
        // platforms want printed.
        check(
            "receiver.phone",
            r.phone.as_str().to_string(),
            t.phone_as_given(),
        );
        check("receiver.province", r.province.clone(), t.province.clone());
        check("receiver.city", r.city.clone(), t.city.clone());
        check("receiver.county", r.county.clone(), t.district.clone());
        // Town and street as one line, as on a label; the buyer's stray spaces at the ends go.
        // WeChat sends them already joined, Douyin and Xiaohongshu in two fields.
        let detail = match platform {
            SimPlatform::Wechat => format!("{}{}", t.town, t.detail),
            _ => format!("{}{}", t.town, t.detail.trim()),
        };
        check(
            "receiver.detail",
            r.detail.clone(),
            detail.trim().to_string(),
        );
    }
    diffs
}

async fn intake_matches_the_platform(db: TestDb, platform: SimPlatform) {
    let run = start(&db, platform).await;
    let webhook = format!("{}/webhooks/{}", run.base, run.shop.webhook_key);
    run.sim.set_callback(platform, Some(webhook.clone()));

    // The first sync (enqueued when the shop was connected) pulls the history.
    run.settle().await;
    let state = run
        .app
        .store()
        .sync_state(run.tenant, run.shop.id)
        .await
        .unwrap();
    assert!(
        state.high_water.is_some(),
        "the first sync completed: {state:?}"
    );

    // An hour of the shop's life: payments, refunds, address and note changes, new orders,
    // pushed to fahuo with duplicates, delays and forgeries among them.
    for _ in 0..12 {
        run.sim.advance_clock(300);
        run.settle().await;
    }
    // The periodic sync backs up pushes lost to faults.
    run.sim.advance_clock(120);
    run.settle().await;

    // The emulator's clock runs on real time too, so late follow-ups of the last orders can
    // still land (and their pushes can be lost). Compare at a moment when nothing moved: the
    // emulator's truth and fahuo's rows both unchanged across a settle, after a periodic sync
    // had the chance to pick up lost pushes.
    let (truth, status, ours) = loop {
        run.sim.advance_clock(120);
        run.settle().await;
        let truth_before = run.sim.orders(Some(platform));
        let status = ledger_status(&run.sim, platform);
        let before = run.fahuo_orders().await;
        run.settle().await;
        let after = run.fahuo_orders().await;
        let truth_after = run.sim.orders(Some(platform));
        if before == after && truth_before == truth_after {
            let truth: HashMap<String, fahuo_sim::Order> = truth_after
                .into_iter()
                .map(|o| (o.order_id.clone(), o))
                .collect();
            break (truth, status, after);
        }
    };

    // Every order that can ship is in fahuo, and fahuo holds nothing the platform lacks.
    let shippable: Vec<&String> = truth
        .values()
        .filter(|o| o.shippable())
        .map(|o| &o.order_id)
        .collect();
    let missing: Vec<&&String> = shippable
        .iter()
        .filter(|id| !ours.contains_key(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} shippable orders missing, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    assert!(ours.len() >= shippable.len());

    let mut mismatched = Vec::new();
    for (id, order) in &ours {
        let t = truth
            .get(id)
            .unwrap_or_else(|| panic!("fahuo has {id} which the platform does not"));
        let diffs = differences(platform, order, t, &status[id]);
        if !diffs.is_empty() {
            mismatched.push((id.clone(), diffs));
        }
    }
    assert!(
        mismatched.is_empty(),
        "{} orders differ, e.g. {:?}",
        mismatched.len(),
        &mismatched[..mismatched.len().min(3)]
    );

    // Refunded-and-closed orders are cancelled in fahuo; open refunds hold the order.
    let closed: Vec<&String> = ours
        .keys()
        .filter(|id| truth[*id].status == fahuo_sim::Status::Closed)
        .collect();
    for id in &closed {
        assert_eq!(
            ours[*id].state,
            OrderState::Cancelled,
            "closed on the platform: {id}"
        );
    }
    let refund_open: Vec<&String> = ours
        .keys()
        .filter(|id| {
            truth[*id].refund == fahuo_sim::model::Refund::Requested && truth[*id].shippable()
        })
        .collect();
    for id in &refund_open {
        assert_eq!(
            ours[*id].state,
            OrderState::OnHold,
            "refund requested: {id}"
        );
    }
    let readdressed = ours
        .keys()
        .filter(|id| truth[*id].address_version > 0 && truth[*id].shippable())
        .count();
    assert!(
        !closed.is_empty() && readdressed > 0,
        "the run exercised refunds that closed orders ({}) and address changes ({readdressed})",
        closed.len()
    );

    // The emulator's forged pushes were all refused, and so is one of ours.
    let pushes = run.sim.ledger().pushes;
    let forged: Vec<_> = pushes
        .iter()
        .filter(|p| p.kind == fahuo_sim::PushKind::Forged)
        .collect();
    assert!(!forged.is_empty(), "the emulator forged some pushes");
    assert!(
        forged.iter().all(|p| !p.acknowledged),
        "a forged push was acknowledged"
    );
    // Genuine pushes are never refused (401): fahuo and the emulator share the clock the test
    // moves, so every signed timestamp is inside fahuo's window however far the clock jumps.
    let refused: Vec<_> = pushes
        .iter()
        .filter(|p| p.kind != fahuo_sim::PushKind::Forged && p.http_status == Some(401))
        .collect();
    assert!(refused.is_empty(), "genuine pushes refused: {refused:?}");
    let jobs_before = run.app.store().job_counts().await.unwrap();
    let forged_push = fahuo_platforms::http_client()
        .post(format!("{webhook}?msg_signature=0123&timestamp=1&nonce=x"))
        .header("content-type", "application/json")
        .header("event-sign", "0123456789abcdef0123456789abcdef")
        .header("sign", "0123456789abcdef0123456789abcdef")
        .body(r#"[{"tag":"100","msg_id":"forged-1","data":"{\"p_id\":\"999\",\"shop_id\":1}"}]"#)
        .send()
        .await
        .unwrap();
    assert!(
        !forged_push.status().is_success(),
        "a forged push was accepted"
    );
    let jobs_after = run.app.store().job_counts().await.unwrap();
    assert_eq!(
        jobs_before.queued + jobs_before.done + jobs_before.dead,
        jobs_after.queued + jobs_after.done + jobs_after.dead,
        "a forged push enqueued work"
    );
    assert!(
        !run.fahuo_orders().await.contains_key("999"),
        "the forged push created an order"
    );

    println!(
        "{platform:?}: {} platform orders, {} in fahuo ({} shippable, {} closed, {} refund holds, {} re-addressed), {} pushes ({} forged)",
        truth.len(),
        ours.len(),
        shippable.len(),
        closed.len(),
        refund_open.len(),
        readdressed,
        pushes.len(),
        forged.len()
    );
}

async fn wechat_orders_sync_completely(db: TestDb) {
    intake_matches_the_platform(db, SimPlatform::Wechat).await;
}

async fn douyin_orders_sync_completely(db: TestDb) {
    intake_matches_the_platform(db, SimPlatform::Douyin).await;
}

async fn xiaohongshu_orders_sync_completely(db: TestDb) {
    intake_matches_the_platform(db, SimPlatform::Xiaohongshu).await;
}

both_backends!(
    wechat_orders_sync_completely,
    douyin_orders_sync_completely,
    xiaohongshu_orders_sync_completely,
);
