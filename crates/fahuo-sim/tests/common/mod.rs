//! Test helpers: starting an emulator, and client-side signing written independently of the
//! emulator's own code (straight from the reference recipes), so a shared mistake cannot pass.
#![allow(dead_code)]

use fahuo_sim::{SimConfig, SimHandle};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use std::time::Duration;

pub const NOW: i64 = 1_763_000_000;

pub fn config() -> SimConfig {
    SimConfig {
        seed: 11,
        orders: 300,
        now: Some(NOW),
        timeout_delay: Duration::from_millis(200),
        push_retry_scale: 0.001,
        ..SimConfig::default()
    }
}

pub async fn start(cfg: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    fahuo_sim::start(cfg, listener).expect("start")
}

pub fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn md5s(s: &str) -> String {
    hexs(&Md5::digest(s.as_bytes()))
}

pub async fn post(url: &str, headers: &[(String, String)], body: &str) -> (u16, Value) {
    let (status, text) = fahuo_sim::http::post_json(url, headers, body)
        .await
        .expect("http");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

// ------------------------------------------------------------------ WeChat

pub async fn wx_token(h: &SimHandle) -> String {
    let app = &h.config().wechat;
    let url = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        h.base_url(fahuo_sim::Platform::Wechat),
        app.appid,
        app.secret
    );
    let (_, body) = fahuo_sim::http::get(&url).await.expect("http");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["access_token"].as_str().expect("token").to_string()
}

pub async fn wx(h: &SimHandle, token: &str, api: &str, body: Value) -> Value {
    let url = format!(
        "{}/channels/ec/{api}?access_token={token}",
        h.base_url(fahuo_sim::Platform::Wechat)
    );
    post(&url, &[], &body.to_string()).await.1
}

// ------------------------------------------------------------------ Douyin

/// Sign per §2.1, with the param_json the client sends (serde_json sorts object keys).
pub fn dy_sign(
    app_key: &str,
    secret: &str,
    method: &str,
    param_json: &str,
    ts: &str,
    hmac_sha256: bool,
) -> String {
    let s = format!(
        "{secret}app_key{app_key}method{method}param_json{param_json}timestamp{ts}v2{secret}"
    );
    if hmac_sha256 {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        m.update(s.as_bytes());
        hexs(&m.finalize().into_bytes())
    } else {
        md5s(&s)
    }
}

pub async fn dy_raw(
    h: &SimHandle,
    method: &str,
    params: &Value,
    token: Option<&str>,
    sign_override: Option<&str>,
    hmac: bool,
) -> Value {
    let app = &h.config().douyin;
    let pj = params.to_string();
    let ts = "1763000000";
    let sign = sign_override
        .map(str::to_string)
        .unwrap_or_else(|| dy_sign(&app.app_key, &app.app_secret, method, &pj, ts, hmac));
    let mut url = format!(
        "{}/{}?app_key={}&method={method}&timestamp={ts}&v=2&sign={sign}&sign_method={}",
        h.base_url(fahuo_sim::Platform::Douyin),
        method.replace('.', "/"),
        app.app_key,
        if hmac { "hmac-sha256" } else { "md5" }
    );
    if let Some(t) = token {
        url.push_str(&format!("&access_token={t}"));
    }
    post(&url, &[], &pj).await.1
}

pub async fn dy(h: &SimHandle, method: &str, params: Value, token: &str) -> Value {
    dy_raw(h, method, &params, Some(token), None, true).await
}

pub async fn dy_token(h: &SimHandle) -> String {
    let shop = h.config().douyin.shop_id;
    let v = dy_raw(
        h,
        "token.create",
        &json!({ "code": "", "grant_type": "authorization_self", "shop_id": shop }),
        None,
        None,
        false,
    )
    .await;
    assert_eq!(v["code"], 10000, "{v}");
    v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

// ------------------------------------------------------------------ Xiaohongshu

pub fn xhs_sign(method: &str, app_id: &str, ts: &str, secret: &str) -> String {
    md5s(&format!(
        "{method}?appId={app_id}&timestamp={ts}&version=2.0{secret}"
    ))
}

pub async fn xhs_raw(
    h: &SimHandle,
    method: &str,
    mut params: Value,
    token: Option<&str>,
    secret: Option<&str>,
) -> Value {
    let app = &h.config().xiaohongshu;
    let ts = "1763000000";
    let sign = xhs_sign(method, &app.app_id, ts, secret.unwrap_or(&app.app_secret));
    params["appId"] = json!(app.app_id);
    params["method"] = json!(method);
    params["timestamp"] = json!(ts);
    params["version"] = json!("2.0");
    params["sign"] = json!(sign);
    if let Some(t) = token {
        params["accessToken"] = json!(t);
    }
    let url = format!(
        "{}/ark/open_api/v3/common_controller",
        h.base_url(fahuo_sim::Platform::Xiaohongshu)
    );
    post(&url, &[], &params.to_string()).await.1
}

pub async fn xhs(h: &SimHandle, method: &str, params: Value, token: &str) -> Value {
    xhs_raw(h, method, params, Some(token), None).await
}

pub async fn xhs_token(h: &SimHandle) -> String {
    let code = h.config().xiaohongshu.auth_code.clone();
    let v = xhs_raw(
        h,
        "oauth.getAccessToken",
        json!({ "code": code }),
        None,
        None,
    )
    .await;
    assert_eq!(v["success"], true, "{v}");
    v["data"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Waits until `f` holds on the ledger (pushes are delivered asynchronously).
pub async fn wait_for(
    h: &SimHandle,
    what: &str,
    f: impl Fn(&fahuo_sim::LedgerSnapshot) -> bool,
) -> fahuo_sim::LedgerSnapshot {
    for _ in 0..100 {
        let l = h.ledger();
        if f(&l) {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

// ------------------------------------------------------------------ push receiver

#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub query: String,
    pub headers: std::collections::HashMap<String, String>,
    pub body: String,
}

pub struct Receiver {
    pub url: String,
    pub got: std::sync::Arc<std::sync::Mutex<Vec<(Got, bool)>>>,
}

impl Receiver {
    pub fn all(&self) -> Vec<(Got, bool)> {
        self.got.lock().expect("lock").clone()
    }
}

/// A webhook receiver: `verify` decides whether a push is genuine; genuine pushes get `ok`
/// (the platform's acknowledgement), others HTTP 401.
pub async fn receiver(
    verify: impl Fn(&Got) -> bool + Send + Sync + 'static,
    ok: &'static str,
) -> Receiver {
    use axum::extract::OriginalUri;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<(Got, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let verify = Arc::new(verify);
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::get(|OriginalUri(uri): OriginalUri| async move {
            // WeChat's URL check: echo `echostr` back.
            uri.query()
                .unwrap_or("")
                .split('&')
                .find_map(|p| p.strip_prefix("echostr="))
                .unwrap_or("")
                .to_string()
        })
        .post(
            move |OriginalUri(uri): OriginalUri, headers: HeaderMap, body: String| {
                let (store, verify) = (store.clone(), verify.clone());
                async move {
                    let g = Got {
                        path: uri.path().to_string(),
                        query: uri.query().unwrap_or("").to_string(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())
                            })
                            .collect(),
                        body,
                    };
                    let good = verify(&g);
                    store.lock().expect("lock").push((g, good));
                    if good {
                        (StatusCode::OK, ok.to_string())
                    } else {
                        (StatusCode::UNAUTHORIZED, "bad signature".to_string())
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    // The query string exercises Xiaohongshu's rule that callback query params are signed too.
    Receiver {
        url: format!("http://{addr}/hook?canshu=test"),
        got,
    }
}
