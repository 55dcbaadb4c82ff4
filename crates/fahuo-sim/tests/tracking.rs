//! The tracking and pickup emulators over real HTTP: kuaidi100 subscribe / query / pushes, kdniao
//! 1008 / 1002 / 101 / 1001 / 1004. Signatures are computed here from reference §4.1 and §4.2,
//! not with the emulator's helpers, and pushes land on a small receiver in the test that checks
//! them the same independent way.

mod common;

use base64::Engine;
use common::*;
use fahuo_sim::{SimHandle, TrackFault, TrackPushKind, TrackService};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;

fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // In a workspace build reqwest's features unify with the adapters'
            // `rustls-no-provider`, which needs a crypto provider even for plain http://.
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client")
        })
        .clone()
}

async fn form(url: &str, fields: &[(&str, &str)]) -> Value {
    let text = client()
        .post(url)
        .form(fields)
        .send()
        .await
        .expect("http")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

async fn control(h: &SimHandle, path: &str, body: Value) -> Value {
    post(
        &format!("http://{}/_sim/{path}", h.addr()),
        &[],
        &body.to_string(),
    )
    .await
    .1
}

// ------------------------------------------------------------------ receiver

#[derive(Clone, Debug)]
struct Got {
    service: &'static str,
    form: HashMap<String, String>,
    /// Whether the signature checked out (independently computed here).
    valid: bool,
}

#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Got>>>,
    /// Validly signed pushes to refuse before acknowledging.
    refuse: Arc<AtomicUsize>,
    /// Validly signed kuaidi100 pushes to answer with a receipt that is *almost* right.
    almost: Arc<AtomicUsize>,
}

impl Inbox {
    fn all(&self) -> Vec<Got> {
        self.got.lock().expect("inbox").clone()
    }

    /// The valid kuaidi100 pushes, parsed.
    fn k100(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|g| g.service == "k100" && g.valid)
            .map(|g| serde_json::from_str(&g.form["param"]).expect("param json"))
            .collect()
    }

    /// The valid kdniao pushes' `RequestData`, parsed.
    fn kdn(&self) -> Vec<Value> {
        self.all()
            .into_iter()
            .filter(|g| g.service == "kdn" && g.valid)
            .map(|g| serde_json::from_str(&g.form["RequestData"]).expect("RequestData json"))
            .collect()
    }
}

fn take(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

/// Starts a receiver: `{url}/k100` checks `UPPER(MD5(param + salt))`, `{url}/kdn` checks
/// `base64(md5_hex(RequestData + AppKey))`.
async fn receiver(salt: &str, app_key: &str) -> (String, Inbox) {
    use axum::routing::post as route_post;
    let inbox = Inbox::default();
    let (salt, key) = (salt.to_string(), app_key.to_string());
    let i1 = inbox.clone();
    let i2 = inbox.clone();
    let app = axum::Router::new()
        .route(
            "/k100",
            route_post(move |body: axum::body::Bytes| {
                let (inbox, salt) = (i1.clone(), salt.clone());
                async move {
                    let f: HashMap<String, String> =
                        serde_urlencoded::from_bytes(&body).expect("form");
                    let want = md5s(&format!("{}{salt}", f["param"])).to_uppercase();
                    let valid = f["sign"].eq_ignore_ascii_case(&want);
                    inbox.got.lock().expect("inbox").push(Got {
                        service: "k100",
                        form: f,
                        valid,
                    });
                    let body = if !valid || take(&inbox.refuse) {
                        json!({"result": false, "returnCode": "500", "message": "签名错误或稍后再试"})
                    } else if take(&inbox.almost) {
                        json!({"result": true, "returnCode": "200", "message": "ok"})
                    } else {
                        json!({"result": true, "returnCode": "200", "message": "成功"})
                    };
                    axum::Json(body)
                }
            }),
        )
        .route(
            "/kdn",
            route_post(move |body: axum::body::Bytes| {
                let (inbox, key) = (i2.clone(), key.clone());
                async move {
                    let f: HashMap<String, String> =
                        serde_urlencoded::from_bytes(&body).expect("form");
                    let want = base64::engine::general_purpose::STANDARD
                        .encode(md5s(&format!("{}{key}", f["RequestData"])));
                    let valid = f["DataSign"] == want && f["RequestType"] == "101";
                    inbox.got.lock().expect("inbox").push(Got {
                        service: "kdn",
                        form: f,
                        valid,
                    });
                    let ok = valid && !take(&inbox.refuse);
                    axum::Json(json!({
                        "EBusinessID": "x", "UpdateTime": "2025-11-13 10:00:00",
                        "Success": ok, "Reason": if ok { "" } else { "refused" },
                    }))
                }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, inbox)
}

async fn settle(h: &SimHandle) {
    // The ticker runs every 250 ms; a clock move ticks at once, then deliveries need a moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        h.wait_pushes_idle(Duration::from_secs(60)).await,
        "pushes idle"
    );
}

async fn advance(h: &SimHandle, secs: i64) {
    h.advance_clock(secs);
    settle(h).await;
}

// ------------------------------------------------------------------ kuaidi100

const SALT: &str = "fh-salt-2025";

async fn k100_subscribe(
    h: &SimHandle,
    com: &str,
    num: &str,
    callback: &str,
    extra: Value,
) -> Value {
    let tc = &h.config().tracking;
    let mut params = json!({ "callbackurl": callback, "salt": SALT, "resultv2": "4" });
    if let (Value::Object(p), Value::Object(x)) = (&mut params, extra) {
        p.extend(x);
    }
    let param =
        json!({ "company": com, "number": num, "key": tc.kuaidi100_key, "parameters": params });
    let url = format!("http://{}/kuaidi100/poll", h.addr());
    form(&url, &[("schema", "json"), ("param", &param.to_string())]).await
}

async fn k100_query(h: &SimHandle, p: Value, key_override: Option<&str>) -> Value {
    let tc = &h.config().tracking;
    let param = p.to_string();
    let key = key_override.unwrap_or(&tc.kuaidi100_key);
    let sign = md5s(&format!("{param}{key}{}", tc.kuaidi100_customer)).to_uppercase();
    let url = format!("http://{}/kuaidi100/poll/query.do", h.addr());
    form(
        &url,
        &[
            ("customer", &tc.kuaidi100_customer),
            ("sign", &sign),
            ("param", &param),
        ],
    )
    .await
}

#[tokio::test]
async fn kuaidi100_subscribe_query_push_and_shutdown() {
    let h = start(config()).await;
    let (url, inbox) = receiver(SALT, "").await;
    let cb = format!("{url}/k100");
    let num = "73100000000101";
    control(
        &h,
        "tracking/scenario",
        json!({"tracking_no": num, "scenario": "signed"}),
    )
    .await;

    // Refusals first.
    let bad_key = json!({"company": "zhongtong", "number": num, "key": "nope",
        "parameters": {"callbackurl": cb, "phone": "5678"}});
    let url_poll = format!("http://{}/kuaidi100/poll", h.addr());
    let r = form(
        &url_poll,
        &[("schema", "json"), ("param", &bad_key.to_string())],
    )
    .await;
    assert_eq!(r["returnCode"], "600", "{r}");
    let r = k100_subscribe(&h, "zhongtong", num, &cb, json!({})).await;
    assert_eq!(r["returnCode"], "700", "ZTO without a phone: {r}");
    let r = k100_subscribe(&h, "nosuchco", num, &cb, json!({"phone": "5678"})).await;
    assert_eq!(r["returnCode"], "700", "{r}");
    let r = k100_subscribe(&h, "zhongtong", "", &cb, json!({"phone": "5678"})).await;
    assert_eq!(r["returnCode"], "700", "{r}");

    let r = k100_subscribe(&h, "zhongtong", num, &cb, json!({"phone": "5678"})).await;
    assert_eq!(
        r,
        json!({"result": true, "returnCode": "200", "message": "提交成功"})
    );
    let r = k100_subscribe(&h, "zhongtong", num, &cb, json!({"phone": "5678"})).await;
    assert_eq!(r["returnCode"], "501", "duplicate: {r}");

    // Nothing is visible before pickup.
    let q = json!({"com": "zhongtong", "num": num, "phone": "5678", "resultv2": "4"});
    let r = k100_query(&h, q.clone(), None).await;
    assert_eq!(r["returnCode"], "500", "{r}");
    let r = k100_query(&h, q.clone(), Some("wrong")).await;
    assert_eq!(r["returnCode"], "503", "bad sign: {r}");
    let r = k100_query(&h, json!({"com": "zhongtong", "num": num}), None).await;
    assert_eq!(r["returnCode"], "408", "ZTO query without phone: {r}");
    settle(&h).await;
    assert!(inbox.k100().is_empty(), "no push before the first event");

    // A day later the parcel has been picked up and is moving.
    advance(&h, DAY).await;
    let pushes = inbox.k100();
    assert!(!pushes.is_empty());
    let last = pushes.last().expect("push");
    assert_eq!(last["status"], "polling");
    let lr = &last["lastResult"];
    assert_eq!(lr["nu"], num);
    assert_eq!(lr["com"], "zhongtong");
    let data = lr["data"].as_array().expect("data");
    let times: Vec<&str> = data
        .iter()
        .map(|d| d["time"].as_str().expect("time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let oldest = data.last().expect("line");
    assert_eq!(oldest["statusCode"], "103", "{oldest}");
    assert!(oldest["context"].as_str().expect("ctx").contains("揽收"));
    assert!(oldest["areaName"].is_string() && oldest["areaCode"].is_string());
    // The query agrees with the push.
    let r = k100_query(&h, q.clone(), None).await;
    assert_eq!(r["message"], "ok");
    assert_eq!(r["data"], lr["data"]);
    assert_eq!(r["state"], lr["state"]);

    // Days later it is signed: the last push says shutdown and nothing follows.
    advance(&h, 6 * DAY).await;
    let pushes = inbox.k100();
    let last = pushes.last().expect("push");
    assert_eq!(last["status"], "shutdown", "{last}");
    assert_eq!(last["lastResult"]["state"], "301");
    assert_eq!(last["lastResult"]["ischeck"], "1");
    let newest = &last["lastResult"]["data"][0];
    assert_eq!(newest["status"], "签收");
    assert!(
        newest["context"]
            .as_str()
            .expect("ctx")
            .contains("签收人：本人")
    );
    let n = pushes.len();
    advance(&h, 30 * DAY).await;
    assert_eq!(inbox.k100().len(), n, "no push after shutdown");
    // Without resultv2 the same query answers main states only.
    let r = k100_query(
        &h,
        json!({"com": "zhongtong", "num": num, "phone": "5678"}),
        None,
    )
    .await;
    assert_eq!(r["state"], "3");
    assert!(r["data"][0].get("statusCode").is_none());

    let snap = h.tracking_snapshot();
    let p = &snap.parcels[num];
    assert!(p.is_final);
    assert_eq!(p.visible_events, p.total_events);
    let sub = &snap.subscriptions[0];
    assert_eq!(sub.ended.as_deref(), Some("shutdown"));
    assert_eq!(sub.pushes_sent, sub.pushes_acknowledged);
    let c = &snap.counts[&TrackService::Kuaidi100];
    assert_eq!(c.sent, c.acknowledged);
    assert!(snap.rejected.iter().any(|r| r.code == "600"));
}

#[tokio::test]
async fn kuaidi100_retries_until_the_exact_receipt() {
    let cfg = fahuo_sim::SimConfig {
        push_retry_scale: 0.0002,
        ..config()
    };
    let h = start(cfg).await;
    let (url, inbox) = receiver(SALT, "").await;
    // Two refusals, then a receipt with the wrong message: all three are retried.
    inbox.refuse.store(2, Ordering::SeqCst);
    inbox.almost.store(1, Ordering::SeqCst);
    let num = "YT1000000000202";
    h.force_tracking_scenario(num, fahuo_sim::TrackingScenario::Signed);
    let r = k100_subscribe(&h, "yuantong", num, &format!("{url}/k100"), json!({})).await;
    assert_eq!(r["returnCode"], "200", "{r}");
    h.advance_clock(DAY);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let snap = h.tracking_snapshot();
        if snap
            .counts
            .get(&TrackService::Kuaidi100)
            .is_some_and(|c| c.acknowledged >= 1)
        {
            let kinds: Vec<(TrackPushKind, u32, bool)> = snap
                .pushes
                .iter()
                .map(|p| (p.kind, p.attempt, p.acknowledged))
                .collect();
            assert_eq!(
                kinds,
                vec![
                    (TrackPushKind::Normal, 1, false),
                    (TrackPushKind::Retry, 2, false),
                    (TrackPushKind::Retry, 3, false),
                    (TrackPushKind::Retry, 4, true),
                ]
            );
            // Every attempt carried the same snapshot.
            let bodies: Vec<String> = inbox
                .all()
                .iter()
                .map(|g| g.form["param"].clone())
                .collect();
            assert!(bodies.windows(2).all(|w| w[0] == w[1]));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never acknowledged: {:?}",
            snap.pushes
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn push_faults_are_delivered_and_recorded() {
    let h = start(config()).await;
    let (url, inbox) = receiver(SALT, "").await;
    let num = "JT1000000000303";
    h.force_tracking_scenario(num, fahuo_sim::TrackingScenario::Signed);
    let r = k100_subscribe(&h, "jtexpress", num, &format!("{url}/k100"), json!({})).await;
    assert_eq!(r["returnCode"], "200");
    // The first three pushes: forged copy first, then a duplicate, then an older snapshot after
    // the newer one.
    for f in ["forged", "duplicate", "out_of_order"] {
        control(&h, "tracking/faults", json!({"next": [f]})).await;
    }
    let t0 = h.now_ms();
    // Step through the journey an hour at a time so each push carries a new event or two.
    while h.tracking_snapshot().subscriptions[0].ended.is_none() {
        advance(&h, 3600).await;
        assert!(h.now_ms() - t0 < 20 * DAY * 1000, "never finished");
    }
    let all = inbox.all();
    let forged: Vec<&Got> = all.iter().filter(|g| !g.valid).collect();
    assert_eq!(forged.len(), 1, "one forged push");
    // The forged one came right before its genuine twin, with the same param.
    let i = all.iter().position(|g| !g.valid).expect("forged");
    assert_eq!(all[i].form["param"], all[i + 1].form["param"]);
    assert!(all[i + 1].valid);

    let valid = inbox.k100();
    let lens: Vec<usize> = valid
        .iter()
        .map(|v| v["lastResult"]["data"].as_array().expect("data").len())
        .collect();
    // A duplicate: the same snapshot twice in a row.
    assert!(lens.windows(2).any(|w| w[0] == w[1]), "{lens:?}");
    // Out of order: a shorter trace right after a longer one.
    assert!(lens.windows(2).any(|w| w[1] < w[0]), "{lens:?}");
    assert_eq!(valid.last().expect("last")["status"], "shutdown");

    let snap = h.tracking_snapshot();
    let c = &snap.counts[&TrackService::Kuaidi100];
    assert_eq!(c.forged_sent, 1);
    assert_eq!(c.forged_refused, 1, "the receiver refused the forged push");
    assert_eq!(c.forged_acknowledged, 0);
    let kinds: Vec<TrackPushKind> = snap.pushes.iter().map(|p| p.kind).collect();
    for k in [
        TrackPushKind::Forged,
        TrackPushKind::Duplicate,
        TrackPushKind::Stale,
    ] {
        assert!(kinds.contains(&k), "{k:?} in {kinds:?}");
    }
    let forged_rec = snap
        .pushes
        .iter()
        .find(|p| p.kind == TrackPushKind::Forged)
        .expect("forged record");
    assert!(!forged_rec.acknowledged);

    // A late push arrives after the one that followed it.
    let num2 = "JT1000000000304";
    h.force_tracking_scenario(num2, fahuo_sim::TrackingScenario::Signed);
    k100_subscribe(&h, "jtexpress", num2, &format!("{url}/k100"), json!({})).await;
    h.force_tracking_fault(TrackFault::Late);
    while h
        .tracking_snapshot()
        .subscriptions
        .iter()
        .any(|s| s.number == num2 && s.ended.is_none())
    {
        h.advance_clock(3600);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    settle(&h).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let snap = h.tracking_snapshot();
    let late: Vec<_> = snap
        .pushes_for(num2)
        .filter(|p| p.kind == TrackPushKind::Late)
        .collect();
    assert_eq!(late.len(), 1);
    assert!(late[0].acknowledged);
}

#[tokio::test]
async fn kuaidi100_aborts_a_parcel_never_picked_up() {
    let h = start(config()).await;
    let (url, inbox) = receiver("", "").await;
    let num = "773000000000404";
    control(
        &h,
        "tracking/scenario",
        json!({"tracking_no": num, "scenario": "never_picked_up"}),
    )
    .await;
    let tc = &h.config().tracking;
    // No salt: the sign is MD5(param) alone.
    let param = json!({"company": "shentong", "number": num, "key": tc.kuaidi100_key,
        "parameters": {"callbackurl": format!("{url}/k100")}});
    let url_poll = format!("http://{}/kuaidi100/poll", h.addr());
    let r = form(
        &url_poll,
        &[("schema", "json"), ("param", &param.to_string())],
    )
    .await;
    assert_eq!(r["returnCode"], "200", "{r}");
    advance(&h, 2 * DAY).await;
    assert!(inbox.k100().is_empty());
    advance(&h, DAY + 60).await;
    let pushes = inbox.k100();
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(pushes[0]["status"], "abort");
    assert_eq!(pushes[0]["message"], "3天查询无记录");
    // After an abort the number may be subscribed again.
    let r = form(
        &url_poll,
        &[("schema", "json"), ("param", &param.to_string())],
    )
    .await;
    assert_eq!(r["returnCode"], "200", "re-subscribe after abort: {r}");
}

// ------------------------------------------------------------------ kdniao

fn kdn_sign(data: &str, key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5s(&format!("{data}{key}")))
}

async fn kdn(h: &SimHandle, path: &str, rtype: &str, data: Value) -> Value {
    kdn_signed(h, path, rtype, data, None).await
}

async fn kdn_signed(
    h: &SimHandle,
    path: &str,
    rtype: &str,
    data: Value,
    key: Option<&str>,
) -> Value {
    let tc = &h.config().tracking;
    let d = data.to_string();
    let sign = kdn_sign(&d, key.unwrap_or(&tc.kdniao_app_key));
    let url = format!("http://{}/kdniao/{path}", h.addr());
    form(
        &url,
        &[
            ("RequestData", &d),
            ("EBusinessID", &tc.kdniao_ebusiness_id),
            ("RequestType", rtype),
            ("DataSign", &sign),
            ("DataType", "2"),
        ],
    )
    .await
}

const QUERY: &str = "Ebusiness/EbusinessOrderHandle.aspx";

#[tokio::test]
async fn kdniao_query_shows_each_scenario_ending() {
    let h = start(config()).await;
    let cases = [
        ("signed", "3", &["301"][..]),
        ("proxy", "3", &["304"]),
        ("locker", "3", &["311"]),
        ("problem", "", &["405", "302"]),
        ("refused_return", "4", &["406"]),
        ("stuck", "", &["1", "2"]),
        ("never_picked_up", "0", &["0"]),
    ];
    for (i, (s, _, _)) in cases.iter().enumerate() {
        let num = format!("JT10000000005{i:02}");
        control(
            &h,
            "tracking/scenario",
            json!({"tracking_no": num, "scenario": s}),
        )
        .await;
        let r = kdn(
            &h,
            QUERY,
            "1002",
            json!({"ShipperCode": "JTSD", "LogisticCode": num}),
        )
        .await;
        assert_eq!(r["Success"], true, "{r}");
        assert_eq!(r["State"], "0", "nothing yet: {r}");
        assert_eq!(r["Reason"], "暂无轨迹信息");
    }
    h.advance_clock(12 * DAY);
    for (i, (s, state, ex)) in cases.iter().enumerate() {
        let num = format!("JT10000000005{i:02}");
        let r = kdn(
            &h,
            QUERY,
            "1002",
            json!({"ShipperCode": "JTSD", "LogisticCode": num}),
        )
        .await;
        assert_eq!(r["LogisticCode"], num.as_str());
        let got_ex = r["StateEx"].as_str().expect("StateEx");
        assert!(ex.contains(&got_ex), "{s}: StateEx {got_ex} in {ex:?}: {r}");
        if !state.is_empty() {
            assert_eq!(r["State"], *state, "{s}");
        }
        let traces = r["Traces"].as_array().expect("Traces");
        let times: Vec<&str> = traces
            .iter()
            .map(|t| t["AcceptTime"].as_str().expect("t"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "oldest first: {times:?}"
        );
        if let Some(last) = traces.last() {
            assert_eq!(last["Action"], r["StateEx"], "{s}");
            assert_eq!(r["Location"], last["Location"]);
            assert_eq!(traces[0]["Action"], "1");
        }
        if *s == "locker" {
            let n = traces.len();
            assert_eq!(traces[n - 2]["Action"], "211");
        }
        if *s == "refused_return" {
            assert!(traces.iter().any(|t| t["Action"] == "404"));
            assert!(traces.iter().any(|t| t["Action"] == "407"));
        }
        if *s == "proxy" {
            assert!(
                traces.last().expect("t")["AcceptStation"]
                    .as_str()
                    .expect("s")
                    .contains("代签")
            );
        }
    }
    // The ledger's view agrees.
    let snap = h.tracking_snapshot();
    assert!(snap.parcels["JT1000000000500"].is_final);
    assert!(!snap.parcels["JT1000000000505"].is_final);
    assert_eq!(snap.parcels["JT1000000000506"].visible_events, 0);
    assert_eq!(snap.queries[&TrackService::Kdniao], 14);
}

#[tokio::test]
async fn kdniao_refuses_bad_requests() {
    let h = start(config()).await;
    let r = kdn_signed(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "ZTO", "LogisticCode": "73100000000601"}),
        Some("wrong-key"),
    )
    .await;
    assert_eq!(r["Success"], false, "{r}");
    let r = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "SF", "LogisticCode": "SF1000000000602"}),
    )
    .await;
    assert_eq!(r["Success"], false, "SF without CustomerName: {r}");
    let r = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "SF", "LogisticCode": "SF1000000000602", "CustomerName": "1234"}),
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
    // 1008 belongs to api/dist, not the query URL.
    let r = kdn(
        &h,
        QUERY,
        "1008",
        json!({"ShipperCode": "ZTO", "LogisticCode": "73100000000603"}),
    )
    .await;
    assert_eq!(r["Success"], false, "{r}");
    let r = kdn(
        &h,
        "api/dist",
        "1008",
        json!({"ShipperCode": "NOPE", "LogisticCode": "1"}),
    )
    .await;
    assert_eq!(r["Success"], false, "{r}");
    // A number known under one carrier is not found under another.
    let r = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "YTO", "LogisticCode": "SF1000000000602"}),
    )
    .await;
    assert_eq!(r["State"], "0", "{r}");
    assert!(h.tracking_snapshot().rejected.len() >= 4);
}

#[tokio::test]
async fn kdniao_pushes_batches_to_the_account_url() {
    let h = start(config()).await;
    let app_key = h.config().tracking.kdniao_app_key.clone();
    let (url, inbox) = receiver("", &app_key).await;
    let numbers: Vec<String> = (0..8).map(|i| format!("7510000000070{i}")).collect();
    for n in &numbers[..7] {
        h.force_tracking_scenario(n, fahuo_sim::TrackingScenario::Signed);
    }
    h.force_tracking_scenario(&numbers[7], fahuo_sim::TrackingScenario::NeverPickedUp);
    for n in &numbers {
        let r = kdn(
            &h,
            "api/dist",
            "1008",
            json!({"ShipperCode": "ZTO", "LogisticCode": n, "Callback": format!("cb-{n}"), "OrderCode": "O1"}),
        )
        .await;
        assert_eq!(r["Success"], true, "{r}");
        assert!(r["UpdateTime"].is_string());
    }
    // Pushes wait for the account's URL.
    advance(&h, DAY).await;
    assert!(inbox.all().is_empty());
    // One forged push among them, refused by the receiver.
    h.force_tracking_fault(TrackFault::Forged);
    control(
        &h,
        "tracking/kdniao_callback",
        json!({"url": format!("{url}/kdn")}),
    )
    .await;
    settle(&h).await;
    advance(&h, 12 * DAY).await;

    let pushes = inbox.kdn();
    assert!(!pushes.is_empty());
    for p in &pushes {
        let data = p["Data"].as_array().expect("Data");
        assert_eq!(p["Count"], data.len().to_string());
        assert!(!data.is_empty());
    }
    assert!(
        pushes
            .iter()
            .any(|p| p["Data"].as_array().expect("d").len() > 1),
        "some push carries several parcels"
    );
    // Every signed parcel's last pushed state is 3 / 301; the never-picked-up one got 401.
    let mut last: HashMap<String, Value> = HashMap::new();
    for p in &pushes {
        for d in p["Data"].as_array().expect("d") {
            last.insert(
                d["LogisticCode"].as_str().expect("n").to_string(),
                d.clone(),
            );
        }
    }
    for n in &numbers[..7] {
        let d = &last[n];
        assert_eq!(d["State"], "3", "{d}");
        assert_eq!(d["StateEx"], "301");
        assert_eq!(d["Callback"], format!("cb-{n}"));
        assert_eq!(d["ShipperCode"], "ZTO");
    }
    assert_eq!(last[&numbers[7]]["StateEx"], "401");
    let snap = h.tracking_snapshot();
    let c = &snap.counts[&TrackService::Kdniao];
    assert_eq!((c.forged_sent, c.forged_refused), (1, 1));
    assert!(inbox.all().iter().any(|g| !g.valid));
}

// ------------------------------------------------------------------ pickups

#[tokio::test]
async fn pickup_booking_is_idempotent_and_cancellable() {
    let h = start(config()).await;
    let start_date = fahuo_sim::util::fmt_cn(h.now_ms() / 1000 + 3600);
    let end_date = fahuo_sim::util::fmt_cn(h.now_ms() / 1000 + 5 * 3600);
    let book = |code: &str, shipper: &str| {
        json!({
            "OrderCode": code, "ShipperCode": shipper,
            "Sender": {"Name": "李四", "Mobile": "13912345678", "ProvinceName": "广东省",
                "CityName": "广州市", "ExpAreaName": "天河区", "Address": "体育西路1号"},
            "Receiver": {"Name": "发货仓", "Mobile": "13800000000", "ProvinceName": "浙江省",
                "CityName": "杭州市", "ExpAreaName": "西湖区", "Address": "文三路90号"},
            "StartDate": start_date, "EndDate": end_date, "Weight": 1.2, "Remark": "退货",
        })
    };
    let svc = "api/OOrderService";
    let a = kdn(&h, svc, "1001", book("RT-1", "ZTO")).await;
    assert_eq!(a["Success"], true, "{a}");
    let no = a["Order"]["LogisticCode"]
        .as_str()
        .expect("number")
        .to_string();
    assert!(
        no.len() == 14 && no.starts_with('7') && no.chars().all(|c| c.is_ascii_digit()),
        "{no}"
    );
    let again = kdn(&h, svc, "1001", book("RT-1", "ZTO")).await;
    assert_eq!(
        again["Order"]["LogisticCode"],
        no.as_str(),
        "same OrderCode, same number"
    );
    let b = kdn(&h, svc, "1001", book("RT-2", "SF")).await;
    let sf = b["Order"]["LogisticCode"]
        .as_str()
        .expect("number")
        .to_string();
    assert!(sf.starts_with("SF") && sf.len() == 15, "{sf}");
    let mut missing = book("RT-3", "ZTO");
    missing["Sender"]
        .as_object_mut()
        .expect("o")
        .remove("CityName");
    assert_eq!(kdn(&h, svc, "1001", missing).await["Success"], false);
    let r = kdn(&h, svc, "1002", json!({})).await;
    assert_eq!(r["Success"], false, "1002 is not served here: {r}");

    // Cancel the first before pickup; booking that code again is refused.
    let c = kdn(
        &h,
        svc,
        "1004",
        json!({"OrderCode": "RT-1", "ShipperCode": "ZTO", "ExpNo": no}),
    )
    .await;
    assert_eq!(c["Success"], true, "{c}");
    let c2 = kdn(
        &h,
        svc,
        "1004",
        json!({"OrderCode": "RT-1", "ShipperCode": "ZTO"}),
    )
    .await;
    assert_eq!(c2["Success"], true, "cancelling twice is fine");
    assert_eq!(
        kdn(&h, svc, "1001", book("RT-1", "ZTO")).await["Success"],
        false
    );

    // The second is picked up in 广州 and travels to 杭州; once picked up it cannot be cancelled.
    h.force_tracking_scenario(&sf, fahuo_sim::TrackingScenario::Signed);
    h.advance_clock(2 * DAY);
    let c = kdn(
        &h,
        svc,
        "1004",
        json!({"OrderCode": "RT-2", "ShipperCode": "SF"}),
    )
    .await;
    assert_eq!(c["Success"], false, "{c}");
    let q = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "SF", "LogisticCode": sf, "CustomerName": "5678"}),
    )
    .await;
    let first = q["Traces"][0]["AcceptStation"].as_str().expect("trace");
    assert!(first.starts_with("【广州市】"), "{first}");
    h.advance_clock(10 * DAY);
    let q = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "SF", "LogisticCode": sf, "CustomerName": "5678"}),
    )
    .await;
    assert_eq!(q["State"], "3");
    assert_eq!(q["Location"], "杭州市");

    let pickups = h.pickups();
    assert_eq!(pickups.len(), 2);
    assert_eq!(pickups[0].repeats, 1);
    assert!(pickups[0].cancelled_ms.is_some());
    assert!(pickups[1].cancelled_ms.is_none());
    let over_http = fahuo_sim::http::get(&format!("http://{}/_sim/ledger/pickups", h.addr()))
        .await
        .expect("http");
    assert!(over_http.1.contains("RT-2"));
    // The cancelled booking never moves.
    let snap = h.tracking_snapshot();
    assert_eq!(snap.parcels[&no].visible_events, 0);
    assert!(snap.parcels[&sf].is_return);
}

// ------------------------------------------------------------------ scale

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_subscriptions_are_cheap() {
    let cfg = fahuo_sim::SimConfig {
        orders: 10,
        ..config()
    };
    let h = Arc::new(start(cfg).await);
    let (url, _inbox) = receiver(SALT, "").await;
    let cb = format!("{url}/k100");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..16u64 {
        let (h, cb) = (h.clone(), cb.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..625u64 {
                let n = format!("4{:014}", lane * 1000 + i);
                let r = k100_subscribe(&h, "yunda", &n, &cb, json!({})).await;
                assert_eq!(r["returnCode"], "200", "{r}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let subscribed = started.elapsed();
    assert_eq!(h.tracking_snapshot().subscriptions.len(), 10_000);
    // One clock jump makes every parcel due; the tick that builds their pushes is one scan.
    let t = Instant::now();
    h.advance_clock(12 * DAY);
    let tick = t.elapsed();
    assert!(tick < Duration::from_secs(2), "tick took {tick:?}");
    assert!(
        h.wait_pushes_idle(Duration::from_secs(300)).await,
        "pushes did not drain"
    );
    let snap = h.tracking_snapshot();
    let c = &snap.counts[&TrackService::Kuaidi100];
    assert!(c.sent >= 9_000, "{c:?}");
    assert_eq!(c.sent, c.acknowledged);
    eprintln!(
        "10k subscriptions: subscribe {subscribed:?}, tick {tick:?}, pushes drained {:?}",
        t.elapsed()
    );
}

// ------------------------------------------------------------------ numbers shipped here

#[tokio::test]
async fn a_shipped_orders_number_travels_to_its_receiver() {
    let h = start(config()).await;
    // kdniao codes of the WeChat carriers that share them.
    let (order, ship) = h
        .orders(Some(fahuo_sim::Platform::Wechat))
        .into_iter()
        .find_map(|o| {
            let s = o
                .shipments
                .iter()
                .find(|s| ["ZTO", "YTO", "STO", "JTSD"].contains(&s.carrier.as_str()))?
                .clone();
            Some((o, s))
        })
        .expect("a shipped WeChat order");
    h.force_tracking_scenario(&ship.tracking_no, fahuo_sim::TrackingScenario::Signed);
    h.advance_clock(12 * DAY);
    let r = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": ship.carrier, "LogisticCode": ship.tracking_no}),
    )
    .await;
    assert_eq!(r["State"], "3", "{r}");
    let city = &order.receiver.city;
    let want = if city.ends_with('市') {
        city.clone()
    } else {
        format!("{city}市")
    };
    assert_eq!(r["Location"], want.as_str(), "{r}");
    let trace = h.trace(&ship.tracking_no).expect("trace");
    assert!(
        trace[0].at_ms > ship.at_ms,
        "picked up after it was shipped"
    );
    assert!(trace[0].at_ms - ship.at_ms <= 20 * 3_600_000 + 60_000);
}

#[tokio::test]
async fn an_e_waybill_number_travels_to_its_receiver() {
    let h = start(config()).await;
    let m = h.config().kdniao.clone();
    let party = |city: &str, prov: &str| {
        json!({"Name": "张三", "Mobile": "13800000000", "ProvinceName": prov, "CityName": city,
            "ExpAreaName": "天河区", "Address": "体育西路1号"})
    };
    let req = json!({
        "OrderCode": "EW-1", "ShipperCode": "ZTO", "PayType": 1, "ExpType": 1,
        "Sender": party("杭州市", "浙江省"), "Receiver": party("广州市", "广东省"),
        "Commodity": [{"GoodsName": "T恤", "Goodsquantity": 1}],
    })
    .to_string();
    let url = format!("http://{}/kdniao/api/EOrderService", h.addr());
    let r = form(
        &url,
        &[
            ("RequestData", &req),
            ("EBusinessID", &m.ebusiness_id),
            ("RequestType", "1007"),
            ("DataSign", &kdn_sign(&req, &m.app_key)),
            ("DataType", "2"),
        ],
    )
    .await;
    let no = r["Order"]["LogisticCode"]
        .as_str()
        .expect("number")
        .to_string();
    h.force_tracking_scenario(&no, fahuo_sim::TrackingScenario::Signed);
    h.advance_clock(12 * DAY);
    let r = kdn(
        &h,
        QUERY,
        "1002",
        json!({"ShipperCode": "ZTO", "LogisticCode": no}),
    )
    .await;
    assert_eq!(r["State"], "3", "{r}");
    assert_eq!(r["Location"], "广州市", "{r}");
    assert!(
        r["Traces"][0]["AcceptStation"]
            .as_str()
            .expect("s")
            .starts_with("【杭州市】")
    );
}
