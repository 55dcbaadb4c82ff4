//! No receiver's name, phone number or street address in the logs: the real `fahuo demo`
//! process syncs orders from the platform emulators (receivers with names, phones and
//! addresses), then its owner reveals every receiver through the API, creates an order and
//! prints its label, all with logs at debug level in JSON (`FAHUO_LOG_FORMAT=json`), as an
//! operator would ship them to a log store. (`cli.rs` holds the text format to the phone
//! numbers on a run beside another demo.)

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_json_logs_of_sync_reveal_and_print_hold_no_receiver_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("fahuo.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fahuo"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FAHUO_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd
        .args(["demo", "--listen", "127.0.0.1:0", "--orders", "10"])
        .args(["--platform-orders", "15", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "debug")
        .env("FAHUO_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    // Killed however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let mut child = Kill(child);
    // Read on all along: a closed pipe would end the demo at its next line of output.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once("serving ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the demo prints its address");

    fahuo_platforms::install_tls_provider();
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let (_, login) = post(
        &c,
        format!("{base}/api/v1/auth/login"),
        "",
        Some(json!({"username": "demo", "password": "fahuo-demo"})),
    )
    .await;
    let csrf = login["csrf_token"].as_str().unwrap().to_string();

    // Wait for the platform orders to be synced.
    let mut orders = Vec::new();
    for _ in 0..600 {
        let page = get(&c, format!("{base}/api/v1/orders?limit=200")).await;
        orders = page["items"].as_array().unwrap().clone();
        if orders.iter().filter(|o| o["platform"] != "manual").count() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let synced = orders.iter().filter(|o| o["platform"] != "manual").count();
    assert!(synced >= 10, "platform orders synced: {synced}");

    // Every receiver in clear, as the reveal shows it.
    let mut receivers = Vec::new();
    for o in &orders {
        let id = o["id"].as_i64().unwrap();
        let (_, r) = post(
            &c,
            format!("{base}/api/v1/orders/{id}/reveal-receiver"),
            &csrf,
            None,
        )
        .await;
        receivers.push(r);
    }

    // An order created by hand, approved and printed.
    let shops = get(&c, format!("{base}/api/v1/shops")).await;
    let manual = shops
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["platform"] == "manual")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let receiver = json!({"name": "欧阳淑芬", "phone": "13987650042", "province": "云南省", "city": "昆明市", "county": "五华区", "detail": "翠湖南路288号7栋"});
    let (_, created) = post(&c, format!("{base}/api/v1/orders"), &csrf, Some(json!({"shop_id": manual, "platform_order_id": "PII-LOG-1", "receiver": receiver, "lines": [{"sku_code": "TEE-WHT-L", "title": "纯棉T恤 白色 L", "quantity": 1, "unit_price_fen": 3900}]}))).await;
    receivers.push(receiver);
    let order = created["order"]["id"].as_i64().expect("created");
    let (status, approved) = post(
        &c,
        format!("{base}/api/v1/orders/{order}/approve"),
        &csrf,
        None,
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    let (_, printed) = post(
        &c,
        format!("{base}/api/v1/print-jobs"),
        &csrf,
        Some(json!({"order_ids": [order]})),
    )
    .await;
    assert_eq!(printed["failures"], json!([]), "{printed}");

    let _ = child.0.kill();
    let _ = child.0.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    // Log records are JSON lines; the demo's progress lines ("demo orders: 3/10") go to
    // stderr too, as plain text.
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "the run logged at debug level"
    );
    assert!(lines.len() > 50, "the run's logs are there to be checked");

    let mut leaked = Vec::new();
    for r in &receivers {
        for field in ["name", "phone", "detail"] {
            let value = r[field].as_str().unwrap_or_default();
            assert!(!value.is_empty(), "a receiver in clear has a {field}: {r}");
            // Short values (a two-character name) could appear by chance in other text.
            if value.chars().count() >= 3 && logs.contains(value) {
                leaked.push(format!("{field} {value}"));
            }
        }
    }
    assert!(receivers.len() > 10);
    assert!(leaked.is_empty(), "receivers in the logs: {leaked:?}");
}

async fn get(c: &reqwest::Client, url: String) -> Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

/// A POST with the session's CSRF token: the status and the JSON answer.
async fn post(c: &reqwest::Client, url: String, csrf: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = c.post(url).header("x-csrf-token", csrf);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}
