//! Forged and replayed platform pushes over real HTTP, on SQLite and PostgreSQL, for every
//! platform that pushes to `/webhooks/{key}` (WeChat, Douyin, Xiaohongshu): a push that is not
//! signed with the shop's own secrets is refused with 401 and stores nothing; a push delivered
//! again (the platforms redeliver, and an attacker can replay what they captured) is
//! acknowledged and changes nothing. WeChat and Xiaohongshu sign a timestamp: a push signed
//! outside the window around the server's clock (10 minutes back, 5 ahead by default) is
//! refused with 401 and the reason, and stores nothing, so a captured push cannot be replayed
//! later (Xiaohongshu's signature does not cover the body, so this is what keeps a captured
//! signature from carrying other bodies). Douyin signs no time; its replays are absorbed by
//! the events' dedupe.
//!
//! What a push stores is jobs (the follow-up pull of the order, and of the after-sale), so
//! "nothing" is checked on the whole jobs table. Tracking services' pushes
//! (`/webhooks/tracking/{token}`) are held to the same in `tracking.rs`: a captured push
//! replayed and a tampered one (`a_replayed_tracking_push_...`), and the emulators' forged and
//! duplicate pushes at scale. The signing and decoding themselves are unit-tested in
//! `fahuo-platforms/tests/webhooks.rs` and fuzzed in `fuzz/` (`webhook_verify`).

mod common;
use chrono::Utc;
use common::*;
use fahuo_app::ManualClock;
use fahuo_platforms::{douyin, wechat, xiaohongshu};
use std::sync::Arc;

both_backends!(
    forged_pushes_are_refused_and_store_nothing_on_every_platform,
    replayed_pushes_change_nothing_on_every_platform,
    pushes_for_an_unknown_webhook_key_are_not_found,
    pushes_signed_outside_the_window_are_refused_and_store_nothing,
    a_captured_push_replayed_after_the_window_is_refused,
    the_window_is_a_setting,
);

const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const SECRET: &str = "push-secret";

/// A push as it goes over the wire.
#[derive(Clone)]
struct Push {
    query: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// A connected shop of `platform` whose pushes the test can sign; returns its webhook key.
async fn shop(s: &Server, m: &Merchant, platform: &str) -> String {
    let (app_key, shop_id, webhook_secret) = match platform {
        "wechat" => (
            "wxpushtest",
            "wxpushtest",
            Some(
                wechat::WechatPushKeys {
                    token: "push-token".into(),
                    encoding_aes_key: AES_KEY.into(),
                    appid: None,
                }
                .to_secret(),
            ),
        ),
        "douyin" => ("dy-app", "777", None),
        _ => ("xhs-app", "seller-1", None),
    };
    let (status, shop) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/shops", s.base),
        Some(&m.token),
        Some(json!({
            "platform": platform,
            "name": format!("{platform} 店"),
            "platform_shop_id": shop_id,
            // Nothing listens there: the shop's sync jobs are never run in this test.
            "api_base_url": "http://127.0.0.1:9",
            "credentials": {"app_key": app_key, "app_secret": SECRET, "webhook_secret": webhook_secret},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{shop}");
    shop["webhook_key"].as_str().unwrap().to_string()
}

/// A correctly signed push about an order (and, where the platform has one, an after-sale),
/// signed at `ts` (unix seconds) where the platform signs a time.
fn signed(platform: &str, key: &str, ts: i64) -> Push {
    let ts = ts.to_string();
    match platform {
        "wechat" => {
            let msg = json!({
                "ToUserName": "gh_test", "FromUserName": "buyer", "CreateTime": 1_732_070_400,
                "MsgType": "event", "Event": "channels_ec_order_pay",
                "order_info": {"order_id": "3705115058471208928"},
            })
            .to_string();
            let enc = wechat::encrypt_message(AES_KEY, "wxpushtest", [9; 16], &msg).unwrap();
            let sig = wechat::msg_signature("push-token", &ts, "42", &enc);
            Push {
                query: format!("timestamp={ts}&nonce=42&msg_signature={sig}"),
                headers: vec![("content-type", "application/json".into())],
                body: json!({ "Encrypt": enc }).to_string().into_bytes(),
            }
        }
        "douyin" => {
            let body = json!([
                {"tag": "101", "msg_id": "m-1", "data": json!({"p_id": "4821937465019283746", "shop_id": 777}).to_string()},
                {"tag": "200", "msg_id": "m-2", "data": json!({"p_id": "4821937465019283746", "aftersale_id": "99", "shop_id": 777}).to_string()},
            ])
            .to_string()
            .into_bytes();
            Push {
                query: String::new(),
                headers: vec![
                    ("event-sign", douyin::event_sign("dy-app", &body, SECRET)),
                    ("app-id", "dy-app".into()),
                    ("content-type", "application/json".into()),
                ],
                body,
            }
        }
        _ => {
            let body = json!([
                {"msgTag": "msg_fulfillment_status_change", "sellerId": "seller-1",
                 "data": json!({"orderId": "P7", "updateTime": 1_732_070_400_000i64}).to_string()},
            ])
            .to_string()
            .into_bytes();
            let path = format!("/webhooks/{key}");
            Push {
                query: String::new(),
                headers: vec![
                    (
                        "sign",
                        xiaohongshu::push_sign(&path, "", "xhs-app", &ts, SECRET),
                    ),
                    ("app-key", "xhs-app".into()),
                    ("timestamp", ts),
                    ("content-type", "application/json".into()),
                ],
                body,
            }
        }
    }
}

/// The ways a push can be forged: signed with another secret, its signature dropped, its
/// signed parts altered after signing.
fn forgeries(platform: &str, key: &str, ts: i64) -> Vec<(&'static str, Push)> {
    let good = signed(platform, key, ts);
    let mut out = Vec::new();
    let mut unsigned = good.clone();
    unsigned.query = unsigned
        .query
        .split('&')
        .filter(|p| !p.starts_with("msg_signature="))
        .collect::<Vec<_>>()
        .join("&");
    unsigned
        .headers
        .retain(|(n, _)| *n != "sign" && *n != "event-sign");
    out.push(("no signature", unsigned));
    let mut wrong = good.clone();
    for (n, v) in wrong.headers.iter_mut() {
        if *n == "sign" || *n == "event-sign" {
            *v = "0".repeat(v.len());
        }
    }
    wrong.query = wrong.query.replace("msg_signature=", "msg_signature=0000");
    out.push(("wrong signature", wrong));
    match platform {
        "wechat" => {
            // The signature covers the timestamp and nonce as well as the ciphertext.
            let mut p = good.clone();
            p.query = p.query.replace("nonce=42", "nonce=43");
            out.push(("altered nonce", p));
            let other = wechat::encrypt_message(
                AES_KEY,
                "wxpushtest",
                [9; 16],
                r#"{"Event":"channels_ec_order_cancel","order_info":{"order_id":"1"}}"#,
            )
            .unwrap();
            let mut p = good.clone();
            p.body = json!({ "Encrypt": other }).to_string().into_bytes();
            out.push(("another ciphertext under the same signature", p));
        }
        "douyin" => {
            let mut p = good.clone();
            p.body = String::from_utf8(p.body)
                .unwrap()
                .replace("m-1", "m-3")
                .into_bytes();
            out.push(("altered body", p));
            let mut p = good.clone();
            for (n, v) in p.headers.iter_mut() {
                if *n == "event-sign" {
                    *v = douyin::event_sign("dy-app", &good.body, "another-secret");
                }
            }
            out.push(("signed with another secret", p));
        }
        _ => {
            // Xiaohongshu signs the path, the query, the app key and the timestamp (not the body).
            let mut p = good.clone();
            for (n, v) in p.headers.iter_mut() {
                if *n == "timestamp" {
                    *v = (ts + 1).to_string();
                }
            }
            out.push(("altered timestamp", p));
            // (An added query is no forgery: the signature without the query is accepted too,
            // for receivers behind a proxy that rewrites it; see `xiaohongshu::verify_webhook`.)
            let mut p = good.clone();
            for (n, v) in p.headers.iter_mut() {
                if *n == "sign" {
                    *v = xiaohongshu::push_sign(
                        &format!("/webhooks/{key}"),
                        "",
                        "xhs-app",
                        &ts.to_string(),
                        "another-secret",
                    );
                }
            }
            out.push(("signed with another secret", p));
        }
    }
    out
}

async fn send(s: &Server, key: &str, push: &Push) -> (StatusCode, String) {
    let url = if push.query.is_empty() {
        format!("{}/webhooks/{key}", s.base)
    } else {
        format!("{}/webhooks/{key}?{}", s.base, push.query)
    };
    let mut req = client().post(url).body(push.body.clone());
    for (n, v) in &push.headers {
        req = req.header(*n, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// Every job in the database, as (kind, dedupe key): what a push stores.
async fn jobs(app: &App) -> Vec<(String, Option<String>)> {
    let mut all = Vec::new();
    for tenant in app.store().tenants().await.unwrap() {
        for state in [
            fahuo_store::jobs::JobState::Queued,
            fahuo_store::jobs::JobState::Running,
            fahuo_store::jobs::JobState::Done,
            fahuo_store::jobs::JobState::Dead,
        ] {
            let page = app.store().jobs(tenant.id, state, None, 500).await.unwrap();
            all.extend(page.items.into_iter().map(|j| (j.kind, j.dedupe_key)));
        }
    }
    all.sort();
    all
}

const PLATFORMS: [&str; 3] = ["wechat", "douyin", "xiaohongshu"];

async fn forged_pushes_are_refused_and_store_nothing_on_every_platform(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    for platform in PLATFORMS {
        let key = shop(&s, &m, platform).await;
        let before = jobs(&app).await;
        for (how, push) in forgeries(platform, &key, app.now().timestamp()) {
            let (status, body) = send(&s, &key, &push).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{platform}, {how}: {body}"
            );
            assert_eq!(
                jobs(&app).await,
                before,
                "{platform}, {how}: nothing stored"
            );
        }
        // The genuine push is accepted: the forgeries were refused for what they changed.
        let (status, body) = send(&s, &key, &signed(platform, &key, app.now().timestamp())).await;
        assert_eq!(status, StatusCode::OK, "{platform}: {body}");
        assert!(jobs(&app).await.len() > before.len(), "{platform}");
    }
}

async fn replayed_pushes_change_nothing_on_every_platform(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    for platform in PLATFORMS {
        let key = shop(&s, &m, platform).await;
        let before = jobs(&app).await;
        let push = signed(platform, &key, app.now().timestamp());
        let (status, first) = send(&s, &key, &push).await;
        assert_eq!(status, StatusCode::OK, "{platform}: {first}");
        let after_first = jobs(&app).await;
        let new: Vec<_> = after_first.iter().filter(|j| !before.contains(j)).collect();
        // Douyin's push names an after-sale as well: its job, and the order's pull.
        let expected = if platform == "douyin" { 3 } else { 1 };
        assert_eq!(new.len(), expected, "{platform}: {new:?}");
        for _ in 0..3 {
            let (status, again) = send(&s, &key, &push).await;
            // Acknowledged as the first (else the platform keeps redelivering it) ...
            assert_eq!((status, &again), (StatusCode::OK, &first), "{platform}");
            // ... and nothing more is stored.
            assert_eq!(jobs(&app).await, after_first, "{platform}");
        }
    }
}

async fn pushes_for_an_unknown_webhook_key_are_not_found(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    let key = shop(&s, &m, "douyin").await;
    let before = jobs(&app).await;
    let push = signed("douyin", &key, app.now().timestamp());
    for other in ["unknown", "' OR 1=1 --", "%25", &"k".repeat(10_000)] {
        let (status, _) = send(&s, &percent_encode(other), &push).await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::URI_TOO_LONG,
            "{other:.20}: {status}"
        );
    }
    assert_eq!(jobs(&app).await, before);
}

/// The platforms that sign a time.
const TIMED: [&str; 2] = ["wechat", "xiaohongshu"];

/// A server on a clock the test moves.
async fn start_on_a_clock(db: TestDb, settings: Settings) -> (Server, App, ManualClock) {
    let clock = ManualClock::new(Utc::now());
    let (s, app) = start_with(db, Arc::new(clock.clone()), settings).await;
    (s, app, clock)
}

async fn pushes_signed_outside_the_window_are_refused_and_store_nothing(db: TestDb) {
    let (s, app, _clock) = start_on_a_clock(db, Settings::default()).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    for platform in TIMED {
        let key = shop(&s, &m, platform).await;
        let now = app.now().timestamp();
        let before = jobs(&app).await;
        for (how, ts) in [
            ("signed 11 minutes ago", now - 11 * 60),
            ("signed a day ago", now - 86_400),
            ("signed 6 minutes ahead", now + 6 * 60),
            ("signed a year ahead", now + 365 * 86_400),
        ] {
            let (status, body) = send(&s, &key, &signed(platform, &key, ts)).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{platform}, {how}: {body}"
            );
            assert!(
                body.contains("signed timestamp"),
                "{platform}, {how}: the refusal says why: {body}"
            );
            assert_eq!(
                jobs(&app).await,
                before,
                "{platform}, {how}: nothing stored"
            );
        }
        // Inside the window: a re-delivery a few minutes old, a platform clock a little ahead.
        for (how, ts) in [
            ("signed 9 minutes ago", now - 9 * 60),
            ("signed 4 minutes ahead", now + 4 * 60),
        ] {
            let (status, body) = send(&s, &key, &signed(platform, &key, ts)).await;
            assert_eq!(status, StatusCode::OK, "{platform}, {how}: {body}");
        }
        assert!(jobs(&app).await.len() > before.len(), "{platform}");
    }
}

async fn a_captured_push_replayed_after_the_window_is_refused(db: TestDb) {
    let (s, app, clock) = start_on_a_clock(db, Settings::default()).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    for platform in TIMED {
        let key = shop(&s, &m, platform).await;
        let captured = signed(platform, &key, app.now().timestamp());
        let (status, body) = send(&s, &key, &captured).await;
        assert_eq!(status, StatusCode::OK, "{platform}: {body}");
        let stored = jobs(&app).await;

        clock.advance(chrono::Duration::minutes(11));
        let (status, body) = send(&s, &key, &captured).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{platform}: {body}");
        assert_eq!(jobs(&app).await, stored, "{platform}: nothing stored");
        if platform == "xiaohongshu" {
            // The signature does not cover the body: the captured headers with another order
            // in the body are refused for the same reason once the window has passed.
            let mut other = captured.clone();
            other.body = json!([
                {"msgTag": "msg_fulfillment_status_change", "sellerId": "seller-1",
                 "data": json!({"orderId": "P8", "updateTime": 1_732_070_500_000i64}).to_string()},
            ])
            .to_string()
            .into_bytes();
            let (status, body) = send(&s, &key, &other).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert!(body.contains("signed timestamp"), "{body}");
            assert_eq!(jobs(&app).await, stored, "nothing stored");
        }
    }
}

async fn the_window_is_a_setting(db: TestDb) {
    // A merchant whose pushes reach fahuo through a relay that holds them up to an hour.
    let settings = Settings {
        push_max_age_seconds: 3600,
        ..Settings::default()
    };
    let (s, app, _clock) = start_on_a_clock(db, settings).await;
    let m = merchant(&s, &app, "推送商家", "owner").await;
    for platform in TIMED {
        let key = shop(&s, &m, platform).await;
        let now = app.now().timestamp();
        let (status, body) = send(&s, &key, &signed(platform, &key, now - 50 * 60)).await;
        assert_eq!(status, StatusCode::OK, "{platform}: {body}");
        let (status, body) = send(&s, &key, &signed(platform, &key, now - 70 * 60)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{platform}: {body}");
    }
}
