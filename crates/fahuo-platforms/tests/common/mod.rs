//! Test helpers: an emulator on loopback, clients pointed at it, and the expected mapping of the
//! emulator's truth into fahuo's vocabulary (per the reference, written here independently).
#![allow(dead_code)]

use chrono::{DateTime, Duration as CDuration, Utc};
use fahuo_domain::Phone;
use fahuo_platforms::*;
use fahuo_sim::{SimConfig, SimHandle};
use std::time::Duration;

pub fn sim_config(seed: u64, orders: usize) -> SimConfig {
    SimConfig {
        live: false,
        // Above the clients' 1 s timeout, so injected timeouts are timeouts.
        timeout_delay: Duration::from_millis(1500),
        push_retry_scale: 0.001,
        ..SimConfig::new(seed, orders)
    }
}

pub async fn start(cfg: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    fahuo_sim::start(cfg, listener).expect("start")
}

pub fn sim_platform(p: Platform) -> fahuo_sim::Platform {
    match p {
        Platform::Wechat => fahuo_sim::Platform::Wechat,
        Platform::Douyin => fahuo_sim::Platform::Douyin,
        Platform::Xiaohongshu => fahuo_sim::Platform::Xiaohongshu,
        Platform::Manual => unreachable!("no manual emulator"),
    }
}

/// Short delays for tests; enough attempts that 10 % faults never exhaust them.
pub fn test_options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(1),
        max_attempts: 10,
        rate_per_sec: 150.0,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(400),
        concurrency: 8,
        ..ClientOptions::default()
    }
}

pub fn credentials(sim: &SimHandle, p: Platform) -> (String, ShopCredentials) {
    let c = sim.config();
    match p {
        Platform::Wechat => (
            c.wechat.appid.clone(),
            ShopCredentials {
                app_key: c.wechat.appid.clone(),
                app_secret: c.wechat.secret.clone(),
                webhook_secret: Some(
                    wechat::WechatPushKeys {
                        token: c.wechat.push_token.clone(),
                        encoding_aes_key: c.wechat.encoding_aes_key.clone(),
                        appid: None,
                    }
                    .to_secret(),
                ),
                ..Default::default()
            },
        ),
        Platform::Douyin => (
            c.douyin.shop_id.to_string(),
            ShopCredentials {
                app_key: c.douyin.app_key.clone(),
                app_secret: c.douyin.app_secret.clone(),
                ..Default::default()
            },
        ),
        Platform::Xiaohongshu => (
            c.xiaohongshu.seller_id.clone(),
            ShopCredentials {
                app_key: c.xiaohongshu.app_id.clone(),
                app_secret: c.xiaohongshu.app_secret.clone(),
                auth_code: Some(c.xiaohongshu.auth_code.clone()),
                ..Default::default()
            },
        ),
        Platform::Manual => unreachable!(),
    }
}

pub fn client(sim: &SimHandle, p: Platform, opts: ClientOptions) -> PlatformClient {
    let (shop, creds) = credentials(sim, p);
    PlatformClient::new(
        Connection {
            platform: p,
            base_url: sim.base_url(sim_platform(p)),
            platform_shop_id: shop,
            credentials: creds,
        },
        fahuo_platforms::http_client(),
        opts,
    )
    .expect("client")
}

/// The emulator's whole history, with margin.
pub fn whole_history(sim: &SimHandle) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = DateTime::from_timestamp_millis(sim.now_ms()).expect("now");
    let span = CDuration::seconds(sim.config().history_secs) + CDuration::hours(2);
    (now - span, now + CDuration::minutes(5))
}

fn secs(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ms / 1000, 0).expect("t")
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("t")
}

/// What the platform's time field carries: seconds on WeChat and Douyin, ms on Xiaohongshu.
fn at(p: Platform, ms: i64) -> DateTime<Utc> {
    if p == Platform::Xiaohongshu {
        millis(ms)
    } else {
        secs(ms)
    }
}

pub fn expected_status(p: Platform, s: fahuo_sim::Status) -> PlatformStatus {
    use fahuo_sim::Status as S;
    match s {
        S::Unpaid => PlatformStatus::Unpaid,
        S::PaidReview => PlatformStatus::PaidPending,
        S::ToShip => PlatformStatus::ToShip,
        S::PartShipped => PlatformStatus::PartlyShipped,
        S::Shipped => PlatformStatus::Shipped,
        S::Completed => PlatformStatus::Completed,
        S::Cancelled => PlatformStatus::Cancelled,
        // Douyin has one code (4) for cancelled and closed-by-refund.
        S::Closed if p == Platform::Douyin => PlatformStatus::Cancelled,
        S::Closed => PlatformStatus::Closed,
    }
}

/// Whether the adapter is expected to have decrypted the receiver.
pub fn decrypted_for(p: Platform, s: fahuo_sim::Status) -> bool {
    use fahuo_sim::Status as S;
    match p {
        Platform::Xiaohongshu => matches!(s, S::ToShip | S::PartShipped),
        _ => matches!(s, S::ToShip | S::PartShipped | S::Shipped),
    }
}

fn join_town(town: &str, detail: &str) -> String {
    if town.is_empty() || detail.trim().starts_with(town) {
        detail.trim().to_string()
    } else {
        format!("{town}{}", detail.trim())
    }
}

/// Field-by-field comparison of one pulled order with the emulator's truth.
pub fn assert_same(p: Platform, got: &PulledOrder, t: &fahuo_sim::Order) {
    let id = &t.order_id;
    let o = &got.order;
    assert_eq!(o.platform_order_id.as_str(), id);
    assert_eq!(got.status, expected_status(p, t.status), "{id} status");
    assert_eq!(o.paid_total.get(), t.total_paid_fen(), "{id} paid_total");
    assert_eq!(o.freight.get(), t.freight_fen, "{id} freight");
    let note = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    assert_eq!(o.buyer_note, note(&t.buyer_note), "{id} buyer note");
    assert_eq!(o.seller_note, note(&t.seller_note), "{id} seller note");
    let openid = (p == Platform::Wechat).then(|| t.buyer_id.clone());
    assert_eq!(o.buyer_openid, openid, "{id} buyer openid (WeChat only)");
    assert_eq!(o.created_at, Some(at(p, t.created_ms)), "{id} created");
    assert_eq!(o.paid_at, t.paid_ms.map(|ms| at(p, ms)), "{id} paid_at");
    assert_eq!(
        o.platform_updated_at,
        Some(at(p, t.updated_ms)),
        "{id} updated"
    );
    assert_eq!(
        o.ship_by,
        t.paid_ms.map(|_| at(p, t.ship_deadline_ms)),
        "{id} ship_by"
    );
    let presale = t
        .presale_window_ms
        .filter(|_| t.presale != fahuo_sim::model::Presale::None);
    let expected_presale = presale.map(|(start, end)| match p {
        Platform::Xiaohongshu => millis(start),
        _ => secs(end),
    });
    assert_eq!(o.presale_ship_at, expected_presale, "{id} presale");
    assert_eq!(o.lines.len(), t.lines.len(), "{id} lines");
    for (i, (l, tl)) in o.lines.iter().zip(&t.lines).enumerate() {
        let line_id = (p != Platform::Xiaohongshu).then(|| tl.line_id.clone());
        assert_eq!(l.platform_line_id, line_id, "{id} line {i} id");
        assert_eq!(
            l.platform_sku_id.as_deref(),
            Some(tl.sku_id.as_str()),
            "{id} line {i} sku"
        );
        assert_eq!(
            l.sku_code.as_ref().map(|c| c.as_str().to_string()),
            note(&tl.sku_code),
            "{id} line {i} code"
        );
        assert_eq!(l.title, tl.title, "{id} line {i} title");
        assert_eq!(l.quantity, i64::from(tl.qty), "{id} line {i} qty");
        assert_eq!(l.unit_price.get(), tl.unit_price_fen, "{id} line {i} unit");
        assert_eq!(l.paid.get(), tl.paid_fen, "{id} line {i} paid");
        let state = &got.lines_after_sale[i].state;
        let want = if tl.refunded {
            AfterSale::Refunded
        } else if t.refund == fahuo_sim::model::Refund::Requested {
            AfterSale::Requested
        } else {
            AfterSale::None
        };
        assert_eq!(state, &want, "{id} line {i} after-sale");
    }
    let want_order_after_sale = match t.refund {
        fahuo_sim::model::Refund::Requested => AfterSale::Requested,
        _ if t.lines.iter().all(|l| l.refunded) => AfterSale::Refunded,
        _ => AfterSale::None,
    };
    assert_eq!(
        got.after_sale, want_order_after_sale,
        "{id} order after-sale"
    );
    assert_eq!(
        got.shipped_packages.len(),
        t.shipments.len(),
        "{id} packages"
    );
    for (pk, s) in got.shipped_packages.iter().zip(&t.shipments) {
        assert_eq!(pk.carrier, s.carrier, "{id} carrier");
        assert_eq!(pk.tracking_no, s.tracking_no, "{id} tracking");
        let skus: Vec<Option<String>> =
            pk.items.iter().map(|i| i.platform_sku_id.clone()).collect();
        let want: Vec<Option<String>> = s
            .items
            .iter()
            .map(|(li, _)| Some(t.lines[*li].sku_id.clone()))
            .collect();
        assert_eq!(skus, want, "{id} package items");
        if p != Platform::Xiaohongshu {
            let qty: Vec<Option<i64>> = pk.items.iter().map(|i| i.quantity).collect();
            let want: Vec<Option<i64>> = s.items.iter().map(|(_, q)| Some(i64::from(*q))).collect();
            assert_eq!(qty, want, "{id} package quantities");
        }
    }
    let r = &t.receiver;
    if decrypted_for(p, t.status) {
        let got_r = got
            .receiver
            .decrypted()
            .unwrap_or_else(|| panic!("{id}: {:?}", got.receiver));
        assert_eq!(got_r.name, r.name.trim(), "{id} name");
        let phone = Phone::parse(&r.phone_as_given()).expect("truth phone");
        assert_eq!(got_r.phone, phone, "{id} phone");
        assert_eq!(got_r.province, r.province, "{id} province");
        assert_eq!(got_r.city, r.city, "{id} city");
        assert_eq!(got_r.county, r.district, "{id} county");
        let detail = match p {
            // WeChat's decode already joins township and detail.
            Platform::Wechat => format!("{}{}", r.town, r.detail).trim().to_string(),
            _ => join_town(&r.town, &r.detail),
        };
        assert_eq!(got_r.detail, detail, "{id} detail");
        let new = got.new_order(fahuo_domain::ShopId(7)).expect("a NewOrder");
        assert_eq!(new.shop_id, fahuo_domain::ShopId(7));
    } else {
        match &got.receiver {
            ReceiverState::Problem(ReceiverProblem::NotDecrypted { masked }) => {
                assert_eq!(masked.province, r.province, "{id} masked province")
            }
            other => panic!("{id}: expected no decryption, got {other:?}"),
        }
    }
}
