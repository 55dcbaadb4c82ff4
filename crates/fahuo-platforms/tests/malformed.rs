//! A platform that answers junk: non-JSON, wrong shapes, missing fields. Every case is a typed
//! `PlatformError::Protocol` (or `Transient` for 5xx), never a panic.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{Duration as CDuration, Utc};
use fahuo_platforms::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Answer = Arc<Mutex<(u16, String)>>;

async fn junk_server() -> (String, Answer) {
    let answer: Answer = Arc::new(Mutex::new((200, String::new())));
    let app = axum::Router::new()
        .fallback(|State(a): State<Answer>| async move {
            let (status, body) = a.lock().expect("lock").clone();
            (StatusCode::from_u16(status).expect("status"), body).into_response()
        })
        .with_state(answer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}"), answer)
}

fn client(p: Platform, base: &str) -> PlatformClient {
    PlatformClient::new(
        Connection {
            platform: p,
            base_url: base.to_string(),
            platform_shop_id: "123".into(),
            credentials: ShopCredentials {
                app_key: "key".into(),
                app_secret: "secret".into(),
                // A token that looks fresh, so every call goes straight to the junk.
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

async fn expect(
    p: Platform,
    answer: &Answer,
    c: &PlatformClient,
    status: u16,
    body: &str,
    want: fn(&PlatformError) -> bool,
) {
    *answer.lock().expect("lock") = (status, body.to_string());
    let now = Utc::now();
    let by_id = c.pull_order("1").await;
    let window = c.pull_window(now - CDuration::minutes(10), now).await;
    for r in [by_id.map(|_| ()), window.map(|_| ())] {
        match r {
            Err(e) => assert!(want(&e), "{p} {status} {body:?}: got {e:?}"),
            Ok(()) => panic!("{p} {status} {body:?}: junk accepted"),
        }
    }
}

fn protocol(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Protocol(_))
}

fn transient(e: &PlatformError) -> bool {
    matches!(e, PlatformError::Transient(_))
}

#[tokio::test]
async fn junk_answers_are_protocol_errors_on_every_platform() {
    let (base, answer) = junk_server().await;
    for p in [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu] {
        let c = client(p, &base);
        for body in ["", "not json", "[]", "null", "\"ok\"", "{\"truncated\": "] {
            expect(p, &answer, &c, 200, body, protocol).await;
        }
        expect(p, &answer, &c, 503, "<html>busy</html>", transient).await;
        expect(p, &answer, &c, 502, "", transient).await;
    }
}

#[tokio::test]
async fn wrong_shapes_are_protocol_errors() {
    let (base, answer) = junk_server().await;
    let cases: &[(Platform, &str)] = &[
        (Platform::Wechat, r#"{"errcode":"zero"}"#),
        (
            Platform::Wechat,
            r#"{"errcode":0,"order_id_list":"1","order":{"order_id":"1"}}"#,
        ),
        (
            Platform::Wechat,
            r#"{"errcode":0,"order_id_list":[{}],"order":{"order_id":"1","status":"x"}}"#,
        ),
        (Platform::Douyin, r#"{}"#),
        (
            Platform::Douyin,
            r#"{"code":10000,"data":{"shop_order_list":[{"order_id":"1"}],"shop_order_detail":{"order_id":"1"}}}"#,
        ),
        (
            Platform::Douyin,
            r#"{"code":10000,"data":{"shop_order_list":{},"shop_order_detail":[]}}"#,
        ),
        (Platform::Xiaohongshu, r#"{"success":false}"#),
        (
            Platform::Xiaohongshu,
            r#"{"success":true,"data":{"orderList":[{}],"orderId":"P1"}}"#,
        ),
        (
            Platform::Xiaohongshu,
            r#"{"success":true,"data":{"orderList":"x","orderId":"P1","orderStatus":[]}}"#,
        ),
    ];
    for (p, body) in cases {
        let c = client(*p, &base);
        expect(*p, &answer, &c, 200, body, protocol).await;
    }
}

#[tokio::test]
async fn a_missing_platform_field_inside_an_order_is_a_protocol_error() {
    let (base, answer) = junk_server().await;
    // A WeChat order whose line lacks sku_cnt.
    let c = client(Platform::Wechat, &base);
    *answer.lock().expect("lock") = (
        200,
        r#"{"errcode":0,"order":{"order_id":"1","status":20,"order_detail":{"product_infos":[{"sku_id":"9"}]}}}"#.into(),
    );
    assert!(
        matches!(c.pull_order("1").await, Err(PlatformError::Protocol(m)) if m.contains("sku_cnt"))
    );
}

#[test]
fn configuration_mistakes_are_refused_up_front() {
    let conn = |p: Platform, base: &str, key: &str| Connection {
        platform: p,
        base_url: base.into(),
        platform_shop_id: String::new(),
        credentials: ShopCredentials {
            app_key: key.into(),
            app_secret: "s".into(),
            ..Default::default()
        },
    };
    let new = |c| PlatformClient::new(c, fahuo_platforms::http_client(), ClientOptions::default());
    assert!(matches!(
        new(conn(Platform::Manual, "http://x", "k")),
        Err(PlatformError::Config(_))
    ));
    assert!(matches!(
        new(conn(Platform::Wechat, "ftp://x", "k")),
        Err(PlatformError::Config(_))
    ));
    assert!(matches!(
        new(conn(Platform::Wechat, "http://x", "")),
        Err(PlatformError::Config(_))
    ));
    assert!(
        matches!(
            new(conn(Platform::Douyin, "http://x", "k")),
            Err(PlatformError::Config(_))
        ),
        "Douyin needs a shop_id"
    );
    assert!(new(conn(Platform::Xiaohongshu, "http://x/", "k")).is_ok());
}
