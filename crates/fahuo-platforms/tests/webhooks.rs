//! Webhooks: real signed pushes from the emulator, captured by a small receiver that answers
//! with `verify_webhook` + `webhook_reply` exactly as fahuo's endpoint will, then replayed with
//! tampering and malformed bodies. Every refusal is a typed `WebhookError`, never a panic.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use common::*;
use fahuo_platforms::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Captured {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Captured {
    fn request(&self) -> WebhookRequest<'_> {
        WebhookRequest {
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

#[derive(Clone)]
struct Receiver {
    platform: Platform,
    creds: ShopCredentials,
    seen: Arc<Mutex<Vec<Captured>>>,
}

async fn receive(
    State(r): State<Receiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let c = Captured {
        method,
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body: body.to_vec(),
    };
    let verdict = verify_webhook(r.platform, &r.creds, &c.request());
    r.seen.lock().expect("lock").push(c);
    match verdict {
        Ok(WebhookMessage::UrlCheck { echo }) => echo.into_response(),
        Ok(_) => reply(r.platform, Ok(())),
        Err(_) => reply(r.platform, Err(())),
    }
}

fn reply(p: Platform, outcome: Result<(), ()>) -> Response {
    let (status, ct, body) = webhook_reply(p, outcome);
    (status, [(axum::http::header::CONTENT_TYPE, ct)], body).into_response()
}

/// Starts a receiver, points the emulator at it (with a query of its own, which Xiaohongshu
/// signs), makes orders that push, and returns what arrived.
async fn capture(
    p: Platform,
) -> (
    fahuo_sim::SimHandle,
    ShopCredentials,
    Vec<Captured>,
    Vec<String>,
) {
    let sim = start(sim_config(61, 20)).await;
    let (_, creds) = credentials(&sim, p);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().fallback(receive).with_state(Receiver {
        platform: p,
        creds: creds.clone(),
        seen: seen.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    sim.set_callback(
        sim_platform(p),
        Some(format!("http://{addr}/hooks/{p}?shop=1")),
    );
    let ids = sim.generate_orders(sim_platform(p), 3);
    sim.advance_clock(120);
    assert!(
        sim.wait_pushes_idle(Duration::from_secs(10)).await,
        "pushes delivered"
    );
    let ledger = sim.ledger();
    assert!(!ledger.pushes.is_empty(), "{p}: the emulator pushed");
    assert!(
        ledger.pushes.iter().all(|x| x.acknowledged),
        "{p}: every push got the reply the platform expects: {:?}",
        ledger
            .pushes
            .iter()
            .filter(|x| !x.acknowledged)
            .map(|x| &x.answer)
            .collect::<Vec<_>>()
    );
    // WeChat's URL check is sent from its own task when the callback is set; on a loaded
    // machine it can start after the pushes above are already idle.
    for _ in 0..200 {
        let has_check = seen
            .lock()
            .expect("lock")
            .iter()
            .any(|c| c.method == Method::GET);
        if p != Platform::Wechat || has_check {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let captured = seen.lock().expect("lock").clone();
    (sim, creds, captured, ids)
}

fn events_of(p: Platform, creds: &ShopCredentials, c: &Captured) -> Vec<PushEvent> {
    match verify_webhook(p, creds, &c.request()) {
        Ok(WebhookMessage::Events(e)) => e,
        other => panic!("{p}: expected events, got {other:?}"),
    }
}

fn flip_body_byte(c: &Captured) -> Captured {
    let mut t = c.clone();
    // Flip a byte in the middle, where the payload (or WeChat's ciphertext) is.
    let i = t.body.len() / 2;
    t.body[i] = if t.body[i] == b'A' { b'B' } else { b'A' };
    t
}

fn assert_tampering_refused(p: Platform, creds: &ShopCredentials, push: &Captured) {
    assert!(verify_webhook(p, creds, &push.request()).is_ok());
    let flipped = flip_body_byte(push);
    let r = verify_webhook(p, creds, &flipped.request());
    if p == Platform::Xiaohongshu {
        // Xiaohongshu signs headers and URL only: a changed body cannot be detected by the
        // signature. It is at worst a nudge to re-pull an order (pushes are only triggers).
        assert!(
            r.is_ok() || matches!(r, Err(WebhookError::Malformed(_))),
            "{r:?}"
        );
    } else {
        assert!(
            matches!(
                r,
                Err(WebhookError::BadSignature | WebhookError::Malformed(_))
            ),
            "{p}: {r:?}"
        );
    }
    let mut wrong = creds.clone();
    wrong.app_secret.push('x');
    if let Some(w) = &wrong.webhook_secret {
        wrong.webhook_secret = Some(w.replace("\"token\":\"", "\"token\":\"x"));
    }
    assert_eq!(
        verify_webhook(p, &wrong, &push.request()),
        Err(WebhookError::BadSignature),
        "{p}: wrong secret"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_pushes_verify_decrypt_and_refuse_tampering() {
    let p = Platform::Wechat;
    let (_sim, creds, captured, ids) = capture(p).await;
    let check = captured
        .iter()
        .find(|c| c.method == Method::GET)
        .expect("URL check");
    let echo = match verify_webhook(p, &creds, &check.request()) {
        Ok(WebhookMessage::UrlCheck { echo }) => echo,
        other => panic!("{other:?}"),
    };
    assert!(check.query.contains(&format!("echostr={echo}")));
    let pushes: Vec<&Captured> = captured
        .iter()
        .filter(|c| c.method == Method::POST)
        .collect();
    let mut seen_ids = Vec::new();
    for c in &pushes {
        for e in events_of(p, &creds, c) {
            assert!(e.kind.starts_with("channels_ec_"), "{}", e.kind);
            assert_eq!(e.platform_shop_id.as_deref(), Some(creds.app_key.as_str()));
            seen_ids.extend(e.platform_order_id);
        }
    }
    for id in &ids {
        assert!(seen_ids.contains(id), "a push names order {id}");
    }
    let push = pushes[0];
    assert_tampering_refused(p, &creds, push);
    // Signature and timestamp are in the query.
    for (from, to) in [
        ("msg_signature=", "msg_signature=0"),
        ("timestamp=", "timestamp=1"),
    ] {
        let mut t = push.clone();
        t.query = t.query.replacen(from, to, 1);
        assert_eq!(
            verify_webhook(p, &creds, &t.request()),
            Err(WebhookError::BadSignature),
            "{from}"
        );
    }
    let mut t = push.clone();
    t.query = t.query.replace("msg_signature=", "other=");
    assert!(matches!(
        verify_webhook(p, &creds, &t.request()),
        Err(WebhookError::Missing(_))
    ));
    // Redelivery of the same push gives the same dedupe key.
    let again = events_of(p, &creds, push);
    assert_eq!(again, events_of(p, &creds, push));
}

/// A WeChat push whose `Encrypt` is signed correctly but is not a valid ciphertext.
#[test]
fn wechat_malformed_ciphertexts_are_clear_errors() {
    let keys = wechat::WechatPushKeys {
        token: "tok".into(),
        encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
        appid: Some("wxappid".into()),
    };
    let creds = ShopCredentials {
        app_key: "wxappid".into(),
        app_secret: "s".into(),
        webhook_secret: Some(keys.to_secret()),
        ..Default::default()
    };
    let good = wechat::encrypt_message(
        &keys.encoding_aes_key,
        "wxappid",
        [3; 16],
        r#"{"Event":"x"}"#,
    )
    .expect("enc");
    let other_app = wechat::encrypt_message(
        &keys.encoding_aes_key,
        "wxother",
        [3; 16],
        r#"{"Event":"x"}"#,
    )
    .expect("enc");
    let not_json = wechat::encrypt_message(&keys.encoding_aes_key, "wxappid", [3; 16], "not json")
        .expect("enc");
    let headers = HeaderMap::new();
    let run = |encrypt: &str, body: Option<String>| {
        let sig = wechat::msg_signature("tok", "1700000000", "42", encrypt);
        let query = format!("timestamp=1700000000&nonce=42&msg_signature={sig}");
        let body = body.unwrap_or_else(|| {
            serde_json::json!({ "ToUserName": "gh_x", "Encrypt": encrypt }).to_string()
        });
        verify_webhook(
            Platform::Wechat,
            &creds,
            &WebhookRequest {
                path: "/",
                query: &query,
                headers: &headers,
                body: body.as_bytes(),
            },
        )
    };
    assert!(matches!(run(&good, None), Ok(WebhookMessage::Events(_))));
    assert_eq!(run(&other_app, None), Err(WebhookError::WrongRecipient));
    assert!(matches!(
        run(&not_json, None),
        Err(WebhookError::Malformed(_))
    ));
    for bad in [
        &good[..good.len() - 5],
        "@@@@",
        "QUJD",
        "QUJDRA==",
        &good[4..],
    ] {
        assert!(
            matches!(run(bad, None), Err(WebhookError::Malformed(_))),
            "{bad}"
        );
    }
    // Right length, wrong padding: random blocks decrypt to noise.
    let noise = base64_of(&[0x5a; 64]);
    assert!(matches!(run(&noise, None), Err(WebhookError::Malformed(_))));
    for body in [
        "",
        "not json",
        "{}",
        "[]",
        "{\"Encrypt\":5}",
        "<xml><Encrypt>",
    ] {
        assert!(run(&good, Some(body.to_string())).is_err(), "{body:?}");
    }
    // Plaintext mode (no msg_signature) is refused: its body is not signed.
    let r = verify_webhook(
        Platform::Wechat,
        &creds,
        &WebhookRequest {
            path: "/",
            query: "timestamp=1&nonce=2&signature=x",
            headers: &headers,
            body: b"{\"Event\":\"x\"}",
        },
    );
    assert!(matches!(r, Err(WebhookError::Missing(_))));
    // Missing push keys.
    let bare = ShopCredentials {
        app_key: "wxappid".into(),
        ..Default::default()
    };
    assert!(matches!(
        run_with(&bare),
        Err(WebhookError::NotConfigured(_))
    ));
}

fn run_with(creds: &ShopCredentials) -> Result<WebhookMessage, WebhookError> {
    let headers = HeaderMap::new();
    verify_webhook(
        Platform::Wechat,
        creds,
        &WebhookRequest {
            path: "/",
            query: "timestamp=1&nonce=2",
            headers: &headers,
            body: b"{}",
        },
    )
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_pushes_verify_and_refuse_tampering() {
    let p = Platform::Douyin;
    let (sim, creds, captured, ids) = capture(p).await;
    let mut seen_ids = Vec::new();
    for c in &captured {
        for e in events_of(p, &creds, c) {
            assert!(e.dedupe_key.starts_with("douyin:"), "platform msg_id used");
            assert_eq!(
                e.platform_shop_id.as_deref(),
                Some(sim.config().douyin.shop_id.to_string().as_str())
            );
            seen_ids.extend(e.platform_order_id);
        }
    }
    for id in &ids {
        assert!(seen_ids.contains(id), "a push names order {id}");
    }
    let push = &captured[0];
    assert_tampering_refused(p, &creds, push);
    let mut t = push.clone();
    t.headers.insert(
        "event-sign",
        HeaderValue::from_static("00000000000000000000000000000000"),
    );
    assert_eq!(
        verify_webhook(p, &creds, &t.request()),
        Err(WebhookError::BadSignature)
    );
    t.headers.remove("event-sign");
    assert!(matches!(
        verify_webhook(p, &creds, &t.request()),
        Err(WebhookError::Missing(_))
    ));
    // Correctly signed but malformed bodies.
    for body in [
        "",
        "not json",
        "{}",
        "[1]",
        "[{\"tag\":\"101\"}]",
        "[{\"tag\":\"101\",\"data\":\"{trunc\"}]",
    ] {
        let mut t = push.clone();
        t.body = body.as_bytes().to_vec();
        let sig = douyin::event_sign(&creds.app_key, body.as_bytes(), &creds.app_secret);
        t.headers
            .insert("event-sign", HeaderValue::from_str(&sig).expect("hv"));
        let r = verify_webhook(p, &creds, &t.request());
        assert!(
            matches!(
                r,
                Err(WebhookError::Malformed(_) | WebhookError::Missing(_))
            ),
            "{body:?}: {r:?}"
        );
    }
    // The SKIT sample form: `msgId` and an object `data`.
    let body = br#"[{"tag":"101","msgId":"m1","data":{"p_id":4782813149182887526,"shop_id":1}}]"#;
    let mut t = push.clone();
    t.body = body.to_vec();
    let sig = douyin::event_sign(&creds.app_key, body, &creds.app_secret);
    t.headers
        .insert("event-sign", HeaderValue::from_str(&sig).expect("hv"));
    let e = events_of(p, &creds, &t);
    assert_eq!(e[0].dedupe_key, "douyin:m1");
    assert_eq!(
        e[0].platform_order_id.as_deref(),
        Some("4782813149182887526")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xiaohongshu_pushes_verify_and_refuse_tampering() {
    let p = Platform::Xiaohongshu;
    let (sim, creds, captured, ids) = capture(p).await;
    let test = captured
        .iter()
        .find(|c| c.body.starts_with(b"{\"test\""))
        .expect("registration test");
    assert_eq!(
        verify_webhook(p, &creds, &test.request()),
        Ok(WebhookMessage::Test)
    );
    let pushes: Vec<&Captured> = captured
        .iter()
        .filter(|c| c.body.starts_with(b"["))
        .collect();
    let mut seen_ids = Vec::new();
    for c in &pushes {
        assert_eq!(
            c.query, "shop=1",
            "the callback's own query arrives (and is signed)"
        );
        for e in events_of(p, &creds, c) {
            assert!(e.kind.starts_with("msg_"), "{}", e.kind);
            assert_eq!(
                e.platform_shop_id.as_deref(),
                Some(sim.config().xiaohongshu.seller_id.as_str())
            );
            seen_ids.extend(e.platform_order_id);
        }
    }
    for id in &ids {
        assert!(seen_ids.contains(id), "a push names order {id}");
    }
    let push = pushes[0];
    assert_tampering_refused(p, &creds, push);
    for (h, v) in [
        ("sign", "0123"),
        ("timestamp", "1"),
        ("app-key", "someone-else"),
    ] {
        let mut t = push.clone();
        t.headers.insert(h, HeaderValue::from_static(v));
        assert_eq!(
            verify_webhook(p, &creds, &t.request()),
            Err(WebhookError::BadSignature),
            "{h}"
        );
    }
    let mut t = push.clone();
    t.path = "/elsewhere".into();
    assert_eq!(
        verify_webhook(p, &creds, &t.request()),
        Err(WebhookError::BadSignature),
        "path is signed"
    );
    for body in [
        "",
        "not json",
        "{}",
        "[1]",
        "[{\"msgTag\":\"x\"}]",
        "[{\"msgTag\":\"x\",\"data\":\"{\"}]",
    ] {
        let mut t = push.clone();
        t.body = body.as_bytes().to_vec();
        let r = verify_webhook(p, &creds, &t.request());
        assert!(
            matches!(
                r,
                Err(WebhookError::Malformed(_) | WebhookError::Missing(_))
            ),
            "{body:?}: {r:?}"
        );
    }
}

#[test]
fn replies_are_what_each_platform_expects() {
    let (s, ct, b) = webhook_reply(Platform::Wechat, Ok(()));
    assert_eq!((s.as_u16(), b.as_str()), (200, "success"));
    assert!(ct.starts_with("text/plain"));
    let (s, _, b) = webhook_reply(Platform::Douyin, Ok(()));
    assert_eq!(s.as_u16(), 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&b).expect("json")["code"],
        0
    );
    let (s, _, b) = webhook_reply(Platform::Xiaohongshu, Ok(()));
    assert_eq!(s.as_u16(), 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&b).expect("json")["success"],
        true
    );
    for p in [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu] {
        assert!(
            webhook_reply(p, Err(())).0.is_server_error(),
            "{p}: failure asks for redelivery"
        );
    }
}

/// Freshness: the signed time is WeChat's `timestamp` query parameter and Xiaohongshu's
/// `timestamp` header (unix seconds, or milliseconds when 13 digits), judged against the
/// receiver's clock with the default window of 10 minutes back and 5 minutes ahead. Douyin
/// signs no time, so none is judged.
#[test]
fn push_times_outside_the_window_are_refused() {
    const NOW: i64 = 1_732_070_400;
    let now = chrono::DateTime::from_timestamp(NOW, 0).expect("time");
    let window = PushWindow::default();
    let none = HeaderMap::new();
    let judge = |p: Platform, query: &str, headers: &HeaderMap| {
        check_push_time(
            p,
            &WebhookRequest {
                path: "/hook",
                query,
                headers,
                body: b"",
            },
            now,
            &window,
        )
    };
    let xhs = |ts: &str| {
        let mut h = HeaderMap::new();
        h.insert("timestamp", HeaderValue::from_str(ts).expect("hv"));
        judge(Platform::Xiaohongshu, "", &h)
    };
    for (offset, fresh) in [
        (0, true),
        (-600, true),
        (-601, false),
        (-86_400, false),
        (300, true),
        (301, false),
        (-NOW, false),
    ] {
        let ts = (NOW + offset).to_string();
        let wechat = judge(
            Platform::Wechat,
            &format!("timestamp={ts}&nonce=7&msg_signature=x"),
            &none,
        );
        for (p, verdict) in [("wechat", wechat), ("xiaohongshu", xhs(&ts))] {
            if fresh {
                assert_eq!(verdict, Ok(()), "{p} {offset:+}");
            } else {
                assert_eq!(
                    verdict,
                    Err(WebhookError::Stale {
                        offset_secs: offset,
                        max_age_secs: 600,
                        max_ahead_secs: 300
                    }),
                    "{p} {offset:+}"
                );
            }
        }
    }
    assert_eq!(xhs(&format!("{NOW}123")), Ok(()), "milliseconds");
    assert!(matches!(
        xhs(&format!("{}000", NOW - 3600)),
        Err(WebhookError::Stale { .. })
    ));
    for bad in ["", "abc", "-5", "1.5", "99999999999999999999999"] {
        assert!(
            matches!(xhs(bad), Err(WebhookError::Malformed(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        judge(Platform::Wechat, "nonce=7", &none),
        Err(WebhookError::Missing("timestamp"))
    );
    assert_eq!(judge(Platform::Douyin, "", &none), Ok(()));
}
