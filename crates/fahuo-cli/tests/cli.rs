//! The `fahuo` binary as users run it: help, migrate, tenants and users, config layering,
//! the demo side by side, and no clear phone number in the logs of a full demo run.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;

use common::fahuo;

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run fahuo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A running `fahuo serve|demo`, stopped with SIGTERM by [`Running::stop`] (its output is
/// kept), or killed on drop when a test fails before that, so no process outlives the test.
struct Running {
    child: Child,
    base: String,
    stdout_rest: Option<std::thread::JoinHandle<String>>,
    // Drained all along: a full pipe would block the process's logging.
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Running {
    fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fahuo");
        let mut err_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let _ = err_pipe.read_to_string(&mut all);
            all
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap() > 0 {
            first.push_str(&line);
            if line.contains("serving http://") {
                break;
            }
            line.clear();
        }
        let base = first
            .lines()
            .find_map(|l| l.split("serving ").nth(1))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .trim()
            .to_string();
        let stdout_rest = std::thread::spawn(move || {
            let mut rest = first;
            let _ = stdout.read_to_string(&mut rest);
            rest
        });
        Running {
            child,
            base,
            stdout_rest: Some(stdout_rest),
            stderr: Some(stderr),
        }
    }

    /// Stops the process and returns everything it printed (stdout and stderr).
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert!(status.success(), "fahuo exited with {status}: {stderr}");
        let stdout = self.stdout_rest.take().unwrap().join().unwrap();
        format!("{stdout}\n{stderr}")
    }
}

fn client() -> reqwest::Client {
    fahuo_platforms::install_tls_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Runs of exactly 11 digits that look like a mainland mobile number. Request ids (UUIDs) are
/// blanked first: their hex groups can hold such a run by chance ("…-a13063618281").
fn mobile_numbers(text: &str) -> Vec<String> {
    let text = &without_uuids(text);
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let run = &text[start..i];
            if run.len() == 11 && run.starts_with('1') && (b'3'..=b'9').contains(&run.as_bytes()[1])
            {
                found.push(run.to_string());
            }
        } else {
            i += 1;
        }
    }
    found
}

/// `text` with every UUID-shaped token (8-4-4-4-12 hex digits) replaced by dashes.
fn without_uuids(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let is_uuid = |t: &[u8]| {
        t.len() == 36
            && t.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let mut i = 0;
    while i + 36 <= bytes.len() {
        let starts_token = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let ends_token = bytes.get(i + 36).is_none_or(|b| !b.is_ascii_alphanumeric());
        if starts_token && ends_token && is_uuid(&bytes[i..i + 36]) {
            bytes[i..i + 36].fill(b'-');
            i += 36;
        } else {
            i += 1;
        }
    }
    String::from_utf8(bytes).expect("only ASCII bytes were replaced")
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("fahuo.db").display())
}

#[test]
fn help_reads_well() {
    let (ok, out, _) = run(fahuo().arg("--help"));
    assert!(ok);
    for word in [
        "serve", "demo", "migrate", "tenant", "user", "openapi", "FAHUO_",
    ] {
        assert!(out.contains(word), "--help mentions {word}: {out}");
    }
    let (ok, out, _) = run(fahuo().args(["serve", "--help"]));
    assert!(
        ok && out.contains("--listen")
            && out.contains("--data-dir")
            && out.contains("--database-url")
    );
    let (ok, _, err) = run(fahuo().args(["serve", "--database-url", "mysql://x"]));
    assert!(!ok && err.contains("unsupported database URL"), "{err}");
}

#[test]
fn migrate_then_add_a_tenant_and_an_owner() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = sqlite(&data);
    std::fs::create_dir_all(&data).unwrap();
    let (ok, out, err) = run(fahuo()
        .args(["migrate", "--database-url", &url, "--data-dir"])
        .arg(&data));
    assert!(ok, "{err}");
    assert!(out.contains("migrated"));
    let (ok, _, err) = run(fahuo()
        .args(["user", "add", "--username", "boss"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "a-long-password"));
    assert!(
        !ok && err.contains("fahuo tenant add"),
        "no tenant yet: {err}"
    );
    let (ok, id, err) = run(fahuo()
        .args(["tenant", "add", "杭州某某服饰"])
        .arg("--data-dir")
        .arg(&data));
    assert!(ok, "{err}");
    let (ok, out, err) = run(fahuo()
        .args(["user", "add", "--username", "boss", "--role", "owner"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "a-long-password"));
    assert!(ok, "{err}");
    assert!(
        out.contains("added user boss") && out.contains(&format!("tenant {}", id.trim())),
        "{out}"
    );
    let (ok, _, err) = run(fahuo()
        .args(["user", "add", "--username", "boss"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "a-long-password"));
    assert!(!ok && err.contains("taken"), "{err}");
    let (ok, _, err) = run(fahuo()
        .args(["user", "add", "--username", "short"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "short"));
    assert!(!ok && err.contains("password"), "{err}");
    let (_, list, _) = run(fahuo()
        .args(["tenant", "list"])
        .arg("--data-dir")
        .arg(&data));
    assert!(list.contains("杭州某某服饰"));
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("fahuo.toml"),
        "listen = \"127.0.0.1:1\"\n[app]\nsession_hours = 1\nlogin_max_failures = 9\n",
    )
    .unwrap();
    run(fahuo()
        .args(["tenant", "add", "商家"])
        .arg("--data-dir")
        .arg(&data));
    run(fahuo()
        .args(["user", "add", "--username", "boss"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "a-long-password"));
    // The file sets session_hours = 1, the environment overrides it to 2, the flag overrides listen.
    let server = Running::start(
        fahuo()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data)
            .env("FAHUO_APP__SESSION_HOURS", "2"),
    );
    let c = client();
    let login: Value = c
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "boss", "password": "a-long-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(login["expires_at"].as_str().unwrap()).unwrap();
    let hours =
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((1.9..=2.0).contains(&hours), "session lasts {hours} h");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_demos_run_side_by_side_sync_the_emulators_and_logs_never_show_a_phone_number() {
    let dir = tempfile::tempdir().unwrap();
    let start = |name: &str| {
        Running::start(
            fahuo()
                .args(["demo", "--listen", "127.0.0.1:0", "--orders", "60"])
                .args(["--platform-orders", "20"])
                .arg("--data-dir")
                .arg(dir.path().join(name))
                .env("RUST_LOG", "debug"),
        )
    };
    let (one, two) = (start("one"), start("two"));
    assert_ne!(one.base, two.base);
    let c = client();
    for base in [&one.base, &two.base] {
        let health: Value = c
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        let doc: Value = c
            .get(format!("{base}/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["paths"]["/api/v1/orders"].is_object());
    }
    // A full session: log in, list, open every order, reveal a receiver, create an order.
    let login: Value = c
        .post(format!("{}/api/v1/auth/login", one.base))
        .json(&json!({"username": "demo", "password": "fahuo-demo"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    // The demo's platform shops sync from the built-in emulators within seconds.
    for platform in ["wechat", "douyin", "xiaohongshu"] {
        let mut synced = 0;
        for _ in 0..120 {
            let page: Value = c
                .get(format!(
                    "{}/api/v1/orders?platform={platform}&limit=5",
                    one.base
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            synced = page["items"].as_array().unwrap().len();
            if synced > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        assert!(synced > 0, "no {platform} orders synced from the emulator");
    }
    let orders: Value = c
        .get(format!(
            "{}/api/v1/orders?platform=manual&limit=100",
            one.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = orders["items"].as_array().unwrap();
    assert_eq!(items.len(), 60, "an authenticated order list works");
    let synced: Value = c
        .get(format!(
            "{}/api/v1/orders?platform=douyin&limit=20",
            one.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items: Vec<&Value> = items
        .iter()
        .chain(synced["items"].as_array().unwrap())
        .collect();
    let mut clear_phones = Vec::new();
    for o in &items {
        let id = o["id"].as_i64().unwrap();
        let detail: Value = c
            .get(format!("{}/api/v1/orders/{id}", one.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            detail["receiver"]["phone"]
                .as_str()
                .unwrap()
                .contains("****")
        );
        let receiver: Value = c
            .post(format!("{}/api/v1/orders/{id}/reveal-receiver", one.base))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        clear_phones.push(receiver["phone"].as_str().unwrap().to_string());
    }
    let shops: Value = c
        .get(format!("{}/api/v1/shops", one.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let manual = shops
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["platform"] == "manual")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let created = c.post(format!("{}/api/v1/orders", one.base)).header("x-csrf-token", &csrf)
        .json(&json!({"shop_id": manual, "platform_order_id": "LOG-TEST-1", "receiver": {"name": "王五", "phone": "13987654321", "province": "云南省", "city": "昆明市", "county": "五华区", "detail": "翠湖南路2号"}, "lines": [{"sku_code": "TEE-WHT-L", "title": "纯棉T恤 白色 L", "quantity": 1, "unit_price_fen": 3900}]}))
        .send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    clear_phones.push("13987654321".into());
    // Print its label: the demo's carrier accounts issue the number from the emulator.
    let order_id = created["order"]["id"].as_i64().unwrap();
    let approved = c
        .post(format!("{}/api/v1/orders/{order_id}/approve", one.base))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let printed = c
        .post(format!("{}/api/v1/print-jobs", one.base))
        .header("x-csrf-token", &csrf)
        .header("idempotency-key", "demo-print-1")
        .json(&json!({"order_ids": [order_id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(printed.status(), 201);
    let printed: Value = printed.json().await.unwrap();
    assert_eq!(printed["failures"], json!([]), "{printed}");
    assert_eq!(printed["job"]["labels"].as_array().unwrap().len(), 1);
    let pdf = c
        .get(format!(
            "{}{}",
            one.base,
            printed["pdf_url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let failed = c.post(format!("{}/api/v1/orders", one.base)).header("x-csrf-token", &csrf)
        .json(&json!({"shop_id": manual, "platform_order_id": "LOG-TEST-2", "receiver": {"name": "王五", "phone": "1398765432", "province": "云南省", "detail": "x"}, "lines": []}))
        .send().await.unwrap();
    assert_eq!(failed.status(), 422);

    let logs = format!("{}\n{}", one.stop(), two.stop());
    assert!(logs.contains("DEBUG"), "the run logged at debug level");
    assert!(
        logs.contains("login"),
        "the run's logs are there to be checked"
    );
    let leaked: Vec<_> = mobile_numbers(&logs);
    assert!(
        leaked.is_empty(),
        "clear phone numbers in the logs: {leaked:?}"
    );
    assert!(clear_phones.iter().all(|p| !logs.contains(p.as_str())));
    assert_eq!(
        mobile_numbers("x 13812345678 y"),
        ["13812345678"],
        "the detector itself works"
    );
    assert!(
        mobile_numbers("request_id=e32a001f-4a64-4ccd-a460-a13063618281}").is_empty(),
        "a request id is not a phone number"
    );
}

fn run_with_stdin(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = fahuo()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn address_parse_streams_one_json_object_per_line_in_order() {
    let input = "张三 13812345678 浙江杭州西湖区文三路90号\n\n柯桥轻纺城老市场11楼\n上海徐汇区虹漕路461号58号楼5楼 李四 021-64581234-8\n";
    let (ok, out, err) = run_with_stdin(&["address", "parse"], input);
    assert!(ok, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.len(),
        4,
        "one line out per line in, blank lines included: {out}"
    );
    assert_eq!(
        (
            rows[0]["province"].as_str(),
            rows[0]["county"].as_str(),
            rows[0]["phone"].as_str()
        ),
        (Some("浙江省"), Some("西湖区"), Some("13812345678"))
    );
    assert_eq!(rows[2]["city"], "绍兴市");
    assert_eq!(rows[3]["city"], "上海市");
    for key in [
        "name",
        "phone",
        "province",
        "city",
        "county",
        "town",
        "detail",
        "adcode",
        "confidence",
    ] {
        assert!(rows[0].get(key).is_some(), "{key} is in every row");
    }
}

#[test]
fn tracking_detect_names_carriers_and_flags_junk() {
    let (ok, out, _) = run_with_stdin(
        &["tracking", "detect"],
        "SF1234567890123\nEA123456785CN\nnot a number\n12\n",
    );
    assert!(ok);
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["candidates"][0]["carrier"], "SF");
    assert!(
        rows[1]["valid_for"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "EMS" || c == "YZPY"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2]["candidates"].as_array().unwrap().is_empty(),
        "words match no carrier"
    );
    assert_eq!(rows[3]["error"], "too_short");
}

#[test]
fn labels_sample_writes_a_pdf_and_prints_the_numbers_in_page_order() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("labels.pdf");
    let (ok, out, err) = run(fahuo()
        .args([
            "labels", "sample", "--count", "5", "--size", "100x180", "--out",
        ])
        .arg(&pdf));
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 5);
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let (ok, _, err) = run(fahuo()
        .args(["labels", "sample", "--size", "3x3", "--out"])
        .arg(&pdf));
    assert!(!ok && !err.is_empty(), "a bad size is refused clearly");
}

#[tokio::test(flavor = "multi_thread")]
async fn sim_serves_the_platform_emulators_and_their_ledger() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = fahuo()
        .args([
            "sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--orders",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("fahuo sim listening"), "{line}");
    let ledger: Value = client()
        .get(format!("http://127.0.0.1:{port}/_sim/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ledger.is_object());
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

/// A tenant and a manual shop in a fresh data directory: the tenant through the CLI, the shop
/// through the library (the CLI has no shop command).
async fn data_dir_with_a_manual_shop(data: &Path) -> (String, i64) {
    std::fs::create_dir_all(data).unwrap();
    let url = sqlite(data);
    let (ok, tenant, err) = run(fahuo()
        .args([
            "tenant",
            "add",
            "杭州某某服饰",
            "--database-url",
            &url,
            "--data-dir",
        ])
        .arg(data));
    assert!(ok, "{err}");
    let keys = fahuo_store::Keyring::load_or_create(&data.join("pii.key")).unwrap();
    let store = fahuo_store::Store::open(&url, keys).await.unwrap();
    let app = fahuo_app::App::new(
        store.clone(),
        std::sync::Arc::new(fahuo_app::SystemClock),
        Default::default(),
    );
    let actor = fahuo_app::Actor::cli(fahuo_domain::TenantId(tenant.trim().parse().unwrap()));
    let shop = app
        .create_shop(
            &actor,
            &fahuo_app::catalog::ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "offline".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await
        .unwrap();
    store.close().await;
    (url, shop.id.get())
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_import_previews_then_commits_a_gbk_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (url, shop) = data_dir_with_a_manual_shop(&data).await;
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "订单号,收件人,手机,省,市,区,详细地址,商品名称,数量,单价,下单时间\r\n\
         C-1,张三,13812345678,浙江省,杭州市,西湖区,文三路90号,马克杯,2,39,2026-11-19\r\n\
         C-2,李四,1234,浙江省,杭州市,西湖区,文三路1号,帆布包,1,19.9,2026-11-19\r\n",
    );
    let file = dir.path().join("订单.csv");
    std::fs::write(&file, &gbk).unwrap();
    let import = |extra: &[&str]| {
        let mut cmd = fahuo();
        cmd.args(["orders", "import"])
            .arg(&file)
            .args([
                "--shop",
                &shop.to_string(),
                "--database-url",
                &url,
                "--data-dir",
            ])
            .arg(&data)
            .args(extra);
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };

    // The preview: a table with the bad row, exit status 2, nothing stored.
    let (code, out, err) = import(&[]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("preview") && out.contains("下单时间"), "{out}");
    let bad = out
        .lines()
        .find(|l| l.starts_with("3\t"))
        .unwrap_or_else(|| panic!("row 3 in {out}"));
    assert!(
        bad.contains("C-2") && bad.contains("手机") && bad.contains("手机号格式不正确"),
        "{bad}"
    );
    let (_, json_out, _) = import(&["--json"]);
    let report: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(report["summary"]["ok"], 1);
    assert_eq!(report["summary"]["created"], 0);

    // Only if clean: refused. Then the valid order goes in, once.
    let (code, out, _) = import(&["--commit", "--only-if-clean", "--json"]);
    assert_eq!(code, Some(2));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            report["committed"].as_bool(),
            report["summary"]["created"].as_i64()
        ),
        (Some(false), Some(0))
    );
    let (code, out, _) = import(&["--commit", "--json"]);
    assert_eq!(code, Some(2));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["created"], 1);
    let (_, out, _) = import(&["--commit", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            report["summary"]["created"].as_i64(),
            report["summary"]["duplicates"].as_i64()
        ),
        (Some(0), Some(1))
    );

    // A clean file exits 0; an unreadable one exits 1 with the reason in Chinese and English.
    std::fs::write(
        &file,
        "订单号,收件人,手机,省,详细地址,商品名称,数量\nC-3,王五,13900001111,北京市,建国路1号,围巾,1\n",
    )
    .unwrap();
    let (code, out, err) = import(&["--commit"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("created 已创建: 1"), "{out}");
    std::fs::write(&file, "订单号,收件人\nC-4,赵六\n").unwrap();
    let (code, _, err) = import(&[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("缺少必填列") && err.contains("required columns missing"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_export_then_a_count_previewed_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (url, _) = data_dir_with_a_manual_shop(&data).await;
    {
        let keys = fahuo_store::Keyring::load_or_create(&data.join("pii.key")).unwrap();
        let store = fahuo_store::Store::open(&url, keys).await.unwrap();
        let app = fahuo_app::App::new(
            store.clone(),
            std::sync::Arc::new(fahuo_app::SystemClock),
            Default::default(),
        );
        let tenant = app.resolve_cli_tenant(None).await.unwrap();
        let actor = fahuo_app::Actor::cli(tenant);
        let w = app
            .create_warehouse(
                &actor,
                &fahuo_app::catalog::WarehouseInput {
                    code: "HZ01".into(),
                    name: "杭州仓".into(),
                    province: "浙江省".into(),
                    city: "杭州市".into(),
                    county: "余杭区".into(),
                    address: "仓前街道1号".into(),
                    lat: None,
                    lng: None,
                },
            )
            .await
            .unwrap();
        let s = app
            .create_sku(
                &actor,
                &fahuo_app::catalog::SkuInput {
                    code: "MUG".into(),
                    name: "马克杯".into(),
                    barcode: None,
                    weight_g: 380,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .unwrap();
        app.move_stock(
            &actor,
            &fahuo_app::catalog::StockMovementInput {
                warehouse_id: w.id.get(),
                sku_id: s.id.get(),
                kind: "inbound".into(),
                quantity: 5,
                note: None,
            },
        )
        .await
        .unwrap();
        store.close().await;
    }
    let stock = |args: &[&str], file: &Path| {
        let mut cmd = fahuo();
        cmd.arg("stock")
            .args(args)
            .arg(file)
            .args(["--database-url", &url, "--data-dir"])
            .arg(&data);
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };

    // The export, imported as it is: nothing to change, exit 0.
    let export = dir.path().join("库存.xlsx");
    let (code, out, err) = stock(&["export", "--out"], &export);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(std::fs::read(&export).unwrap().starts_with(b"PK"));
    let (code, out, err) = stock(&["import"], &export);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("preview") && out.contains("在库"), "{out}");
    let row = out.lines().find(|l| l.starts_with("2\t")).unwrap();
    assert!(row.contains("HZ01\tMUG\t5\t5\t0\t+0\tunchanged"), "{row}");

    // A GBK count with a refused row: the table shows both; exit 2; applied only with --apply.
    let count = dir.path().join("盘点.csv");
    let (gbk, _, _) =
        encoding_rs::GBK.encode("仓库编码,商品编码,盘点数量\r\nHZ01,MUG,8\r\nHZ01,TEE,1\r\n");
    std::fs::write(&count, &gbk).unwrap();
    let (code, out, _) = stock(&["import"], &count);
    assert_eq!(code, Some(2), "{out}");
    let ok = out.lines().find(|l| l.starts_with("2\t")).unwrap();
    assert!(ok.contains("\t+3\tok\t在库将由 5 调整为 8"), "{ok}");
    let refused = out.lines().find(|l| l.starts_with("3\t")).unwrap();
    assert!(
        refused.contains("unknown_sku") && refused.contains("商品编码 TEE 不存在"),
        "{refused}"
    );
    let (code, out, _) = stock(&["import", "--apply", "--json"], &count);
    assert_eq!(code, Some(2), "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rows"][0]["verdict"], "applied");
    let (code, out, _) = stock(&["import"], &count);
    assert_eq!(code, Some(2));
    assert!(
        out.lines()
            .any(|l| l.starts_with("2\t") && l.contains("unchanged")),
        "{out}"
    );

    // An unreadable file: exit 1, the reason in Chinese and English.
    std::fs::write(&count, "仓库编码,商品编码\nHZ01,MUG\n").unwrap();
    let (code, _, err) = stock(&["import"], &count);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("缺少必填列：盘点数量") && err.contains("counted quantity"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_shipments_previews_applies_sends_and_writes_the_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (url, shop) = data_dir_with_a_manual_shop(&data).await;
    // Two orders in the manual shop (a manual shop's write-back needs no platform call).
    let keys = fahuo_store::Keyring::load_or_create(&data.join("pii.key")).unwrap();
    let store = fahuo_store::Store::open(&url, keys).await.unwrap();
    let app = fahuo_app::App::new(
        store.clone(),
        std::sync::Arc::new(fahuo_app::SystemClock),
        Default::default(),
    );
    let tenant = store.tenants().await.unwrap()[0].id;
    let actor = fahuo_app::Actor::cli(tenant);
    for (no, phone) in [("S-1", "13812340001"), ("S-2", "13812340002")] {
        let input: fahuo_app::orders::OrderInput = serde_json::from_value(json!({
            "shop_id": shop,
            "platform_order_id": no,
            "receiver": {"name": "张三", "phone": phone, "province": "浙江省", "city": "杭州市",
                         "county": "西湖区", "detail": "文三路90号"},
            "lines": [{"sku_code": "MUG", "title": "马克杯", "quantity": 1, "unit_price_fen": 3900}]
        }))
        .unwrap();
        let (_, view) = app.create_manual_order(&actor, &input).await.unwrap();
        app.approve_order(&actor, view.id).await.unwrap();
    }
    store.close().await;
    let (gbk, _, _) = encoding_rs::GBK.encode(
        "订单编号,物流公司,运单号\r\nS-1,顺丰速运,SF1385628716739\r\nS-2,中通快递,SF1385628716740\r\nS-9,顺丰,SF1385628716741\r\n",
    );
    let file = dir.path().join("单号.csv");
    std::fs::write(&file, &gbk).unwrap();
    let result = dir.path().join("result.xlsx");
    let import = |extra: &[&str]| {
        let out = fahuo()
            .args(["import", "shipments"])
            .arg(&file)
            .args(["--database-url", &url, "--data-dir"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // The preview: each refused row with its reason, exit 2, nothing shipped.
    let (code, out, err) = import(&[]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("ready 可发货: 1"), "{out}");
    assert!(
        out.contains("tracking_invalid") && out.contains("unknown_order"),
        "{out}"
    );
    // Applied and sent: the good row ships, the result file says so row by row.
    let (code, out, err) = import(&["--apply", "--result", result.to_str().unwrap()]);
    assert_eq!(code, Some(2), "two rows stay refused: {out}{err}");
    assert!(out.contains("succeeded 1"), "{out}");
    let bytes = std::fs::read(&result).unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx file");
    let store = fahuo_store::Store::open(
        &url,
        fahuo_store::Keyring::load_or_create(&data.join("pii.key")).unwrap(),
    )
    .await
    .unwrap();
    let counts = store.shipment_counts(tenant).await.unwrap();
    assert_eq!(
        counts,
        [(fahuo_domain::fulfilment::ShipmentState::Succeeded, 1)],
        "one write-back, accepted"
    );
    store.close().await;
}

/// `log_format = "json"`: every line fahuo serve writes to stderr is one JSON object with a
/// timestamp, level, target and message; a request's lines carry its request id (the one in
/// the `x-request-id` answer header), tenant and user; a job's lines carry its kind and id.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line_with_request_and_job_fields() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, tenant, err) = run(fahuo()
        .args(["tenant", "add", "杭州某某服饰"])
        .arg("--data-dir")
        .arg(&data));
    assert!(ok, "{err}");
    let tenant: i64 = tenant.trim().parse().unwrap();
    let (ok, _, err) = run(fahuo()
        .args(["user", "add", "--username", "boss"])
        .arg("--data-dir")
        .arg(&data)
        .env("FAHUO_USER_PASSWORD", "a-long-password"));
    assert!(ok, "{err}");
    let server = Running::start(
        fahuo()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("FAHUO_LOG_FORMAT", "json")
            // Request lines are tower-http's debug events; the purge job logs at info.
            .env("RUST_LOG", "info,tower_http=debug"),
    );
    let c = client();
    let login = c
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": "boss", "password": "a-long-password"}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let orders = c
        .get(format!("{}/api/v1/orders", server.base))
        .send()
        .await
        .unwrap();
    assert!(orders.status().is_success());
    let request_id = orders.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    // The runner's first round runs the hourly maintenance job at once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = server.stop();

    // Everything but the banner on stdout is a log line, and each one parses alone.
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("fahuo is serving"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in &lines {
        for key in ["timestamp", "level", "target"] {
            assert!(line[key].is_string(), "{key} in {line}");
        }
        assert!(line["fields"]["message"].is_string(), "message in {line}");
    }
    let request_line = lines
        .iter()
        .find(|l| {
            l["span"]["request_id"] == request_id.as_str()
                && l["fields"]["message"] == "finished processing request"
        })
        .unwrap_or_else(|| panic!("a line of request {request_id} in {logs}"));
    assert_eq!(request_line["span"]["name"], "http");
    assert_eq!(request_line["span"]["path"], "/api/v1/orders");
    assert_eq!(request_line["span"]["tenant"], tenant, "{request_line}");
    assert!(request_line["span"]["user"].is_i64(), "{request_line}");
    let job_line = lines
        .iter()
        .find(|l| l["span"]["kind"] == "maintenance.purge")
        .unwrap_or_else(|| panic!("a line of the maintenance job in {logs}"));
    assert_eq!(job_line["span"]["name"], "job");
    assert!(job_line["span"]["job_id"].is_i64(), "{job_line}");
    assert_eq!(job_line["span"]["attempt"], 1);
}
