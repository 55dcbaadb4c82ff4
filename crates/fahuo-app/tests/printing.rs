//! 取号 and 打单 against the e-waybill emulators over real HTTP, on SQLite and PostgreSQL:
//! one number per package however often a print is clicked, retried or crashes, failover
//! between accounts, recycling of numbers nobody uses, and labels that real tools can read.

use chrono::Utc;
use fahuo_app::auth::Password;
use fahuo_app::catalog::{ShopInput, WarehouseInput};
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::printing::CarrierAccountView;
use fahuo_app::printing::{BindCarrierAccount, PrintRequest};
use fahuo_app::users::UserInput;
use fahuo_app::{Actor, App, Settings, SystemClock};
use fahuo_domain::fulfilment::WaybillService;
use fahuo_domain::{CarrierCode, Name, OrderId, OrderState, PackageId, Role, Username};
use fahuo_platforms::waybill::WaybillCredentials;
use fahuo_sim::{SimConfig, SimHandle};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

struct World {
    app: App,
    owner: Actor,
    sim: SimHandle,
    orders: Vec<OrderId>,
    kdniao: CarrierAccountView,
    kuaidi100: CarrierAccountView,
}

async fn world(db: &TestDb, orders: usize) -> World {
    fahuo_platforms::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(SimConfig::new(7, 0), listener).unwrap();
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let tenant = app
        .create_tenant(&Name::parse("打单商家").unwrap())
        .await
        .unwrap();
    let cli = Actor::cli(tenant.id);
    app.add_user(
        &cli,
        UserInput {
            username: Username::parse("printer").unwrap(),
            display_name: String::new(),
            role: Role::Owner,
            password: Password::parse("correct horse battery").unwrap(),
        },
    )
    .await
    .unwrap();
    let owner = cli;
    app.create_warehouse(
        &owner,
        &WarehouseInput {
            code: "HZ01".into(),
            name: "杭州仓".into(),
            province: "浙江省".into(),
            city: "杭州市".into(),
            county: "余杭区".into(),
            address: "仓前街道文一西路1号".into(),
            lat: None,
            lng: None,
        },
    )
    .await
    .unwrap();
    // The mugs every order buys, with enough stock for any test.
    let warehouse = app.store().warehouses(tenant.id).await.unwrap()[0].id;
    let mug = app
        .create_sku(
            &owner,
            &fahuo_app::catalog::SkuInput {
                code: "MUG-350".into(),
                name: "马克杯 350ml".into(),
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
        &owner,
        &fahuo_app::catalog::StockMovementInput {
            warehouse_id: warehouse.get(),
            sku_id: mug.id.get(),
            kind: "inbound".into(),
            quantity: 100_000,
            note: None,
        },
    )
    .await
    .unwrap();
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
    let mut ids = Vec::new();
    for i in 0..orders {
        let (_, view) = app
            .create_manual_order(&owner, &order_input(shop.id.get(), i))
            .await
            .unwrap();
        app.approve_order(&owner, view.id).await.unwrap();
        ids.push(view.id);
    }
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .unwrap();
    let kdniao = app
        .bind_carrier_account(
            &owner,
            BindCarrierAccount {
                name: "中通 快递鸟".into(),
                service: WaybillService::Kdniao,
                carrier: "ZTO".into(),
                base_url: Some(info.kdniao_base_url.clone()),
                shop_id: None,
                priority: 0,
                sender_name: "杭州仓发货组".into(),
                sender_phone: "13900001111".into(),
                quota: Some(10_000),
                low_balance_threshold: 200,
                latency_budget_ms: 800,
                credentials: WaybillCredentials {
                    api_key: info.kdniao.ebusiness_id.clone(),
                    api_secret: info.kdniao.app_key.clone(),
                    account: Some(kd.customer_name.clone()),
                    account_secret: Some(kd.customer_pwd.clone()),
                    site: None,
                },
            },
        )
        .await
        .unwrap();
    let k100 = info
        .kuaidi100
        .accounts
        .iter()
        .find(|a| a.kuaidicom == "zhongtong")
        .unwrap();
    let kuaidi100 = app
        .bind_carrier_account(
            &owner,
            BindCarrierAccount {
                name: "中通 快递100".into(),
                service: WaybillService::Kuaidi100,
                carrier: "ZTO".into(),
                base_url: Some(info.kuaidi100_base_url.clone()),
                shop_id: None,
                priority: 1,
                sender_name: "杭州仓发货组".into(),
                sender_phone: "13900001111".into(),
                quota: Some(10_000),
                low_balance_threshold: 200,
                latency_budget_ms: 800,
                credentials: WaybillCredentials {
                    api_key: info.kuaidi100.key.clone(),
                    api_secret: info.kuaidi100.secret.clone(),
                    account: Some(k100.partner_id.clone()),
                    account_secret: Some(k100.partner_key.clone()),
                    site: None,
                },
            },
        )
        .await
        .unwrap();
    World {
        app,
        owner,
        sim,
        orders: ids,
        kdniao,
        kuaidi100,
    }
}

fn order_input(shop_id: i64, i: usize) -> OrderInput {
    OrderInput {
        shop_id,
        platform_order_id: format!("PRINT-{i:04}"),
        paid_total_fen: None,
        freight_fen: 0,
        buyer_note: None,
        seller_note: None,
        ship_by: None,
        presale_ship_at: None,
        receiver: ReceiverInput {
            name: format!("收件人{i}"),
            phone: format!("1380000{i:04}"),
            province: "上海市".into(),
            city: "上海市".into(),
            county: "徐汇区".into(),
            detail: format!("虹漕路{}号", 400 + i),
        },
        lines: vec![LineInput {
            sku_code: Some("MUG-350".into()),
            title: "马克杯".into(),
            quantity: 1 + (i % 3) as i64,
            unit_price_fen: 3900,
            paid_fen: None,
        }],
    }
}

impl World {
    async fn allocate_all(&self) -> Vec<PackageId> {
        let warehouse = self
            .app
            .store()
            .warehouses(self.owner.tenant_id)
            .await
            .unwrap()[0]
            .id;
        let mut packages = Vec::new();
        for id in &self.orders {
            packages.extend(
                self.app
                    .allocate_order(
                        &self.owner,
                        *id,
                        warehouse,
                        Some(CarrierCode::parse("ZTO").unwrap()),
                    )
                    .await
                    .unwrap(),
            );
        }
        packages
    }

    /// Numbers the emulator issued and nobody gave back, by key.
    fn live_at_the_carrier(&self) -> BTreeMap<String, String> {
        self.sim
            .waybills()
            .into_iter()
            .filter(|w| w.status == fahuo_sim::ledger::WaybillStatus::Issued)
            .map(|w| (w.key, w.number))
            .collect()
    }

    async fn live_in_fahuo(&self) -> BTreeMap<PackageId, String> {
        self.app
            .store()
            .live_waybills(self.owner.tenant_id)
            .await
            .unwrap()
            .into_iter()
            .map(|w| (w.package_id, w.tracking_no.as_str().to_string()))
            .collect()
    }

    fn print(&self) -> PrintRequest {
        PrintRequest {
            order_ids: self.orders.clone(),
            size: Some("76x130".into()),
            reason: None,
        }
    }
}

both_backends!(
    fifty_concurrent_prints_of_a_hundred_packages_yield_a_hundred_numbers,
    a_crash_between_issue_and_store_gets_the_same_number_back,
    a_refusing_or_slow_account_fails_over_and_its_stray_number_is_recycled,
    reprints_are_counted_marked_and_a_double_click_prints_one_job,
    a_wechat_shop_issues_through_its_own_e_waybill_account,
    the_warehouse_rules_choose_the_carrier_and_say_why,
    under_faults_every_package_still_gets_exactly_one_number,
    labels_carry_the_shop_logo_promo_and_product_marks,
);

async fn fifty_concurrent_prints_of_a_hundred_packages_yield_a_hundred_numbers(db: TestDb) {
    let w = Arc::new(world(&db, 100).await);
    let packages = w.allocate_all().await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let w = w.clone();
            tokio::spawn(async move {
                w.app
                    .print_labels(&w.owner, &w.print(), None)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut jobs = Vec::new();
    for t in tasks {
        let printed = t.await.unwrap();
        assert!(printed.failures.is_empty(), "{:?}", printed.failures);
        jobs.push(printed.job.unwrap());
    }
    // Numbers that lost a race (if any) go back to the carrier.
    w.app.recycle_abandoned_waybills(1_000).await.unwrap();

    let ours = w.live_in_fahuo().await;
    assert_eq!(ours.len(), 100, "one live number per package");
    assert_eq!(
        ours.keys().copied().collect::<BTreeSet<_>>(),
        packages.iter().copied().collect()
    );
    let distinct: BTreeSet<&String> = ours.values().collect();
    assert_eq!(distinct.len(), 100, "no number is shared");
    let carrier: BTreeSet<String> = w.live_at_the_carrier().into_values().collect();
    assert_eq!(
        carrier,
        ours.values().cloned().collect(),
        "the carrier's live numbers are exactly fahuo's"
    );
    // Every job printed all hundred labels, each with the package's one number; exactly one
    // job printed each label first.
    let mut first_prints = 0;
    for job in &jobs {
        assert_eq!(job.labels.len(), 100);
        for label in &job.labels {
            assert_eq!(ours[&label.package_id], label.tracking_no);
            first_prints += usize::from(label.reprint == 0);
        }
    }
    assert_eq!(first_prints, 100);
    for id in &w.orders {
        assert_eq!(
            w.app
                .store()
                .order(w.owner.tenant_id, *id)
                .await
                .unwrap()
                .state,
            OrderState::Printed
        );
    }
}

async fn a_crash_between_issue_and_store_gets_the_same_number_back(db: TestDb) {
    let w = world(&db, 1).await;
    let package = w.allocate_all().await[0];
    let tenant = w.owner.tenant_id;
    // fahuo stored its key and asked; the carrier issued; fahuo died before storing the number.
    let request = w
        .app
        .store()
        .open_waybill_request_with(tenant, package, w.kdniao.account.id, None, Utc::now())
        .await
        .unwrap();
    let creds: WaybillCredentials = w
        .app
        .store()
        .carrier_account_credentials(tenant, w.kdniao.account.id)
        .await
        .unwrap();
    let client = fahuo_platforms::waybill::WaybillClient::new(
        fahuo_platforms::waybill::WaybillAccount {
            service: WaybillService::Kdniao,
            carrier: fahuo_carriers::Carrier::Zto,
            base_url: w.kdniao.account.base_url.clone(),
            credentials: creds,
        },
        fahuo_platforms::http_client(),
        &fahuo_platforms::waybill::waybill_options(Duration::from_secs(5)),
        None,
    )
    .unwrap();
    let req = fahuo_platforms::waybill::WaybillRequest {
        sender: contact("发货组"),
        receiver: contact("收件人"),
        items: vec![],
        weight_g: None,
        remark: None,
        platform_order_ids: vec![],
    };
    let lost = client.issue(&request.request_key, &req).await.unwrap();

    // After the restart the print asks again, under the stored key.
    let waybill = w.app.issue_waybill(&w.owner, package).await.unwrap();
    assert_eq!(waybill.tracking_no.as_str(), lost.tracking_no);
    let at_carrier = w.live_at_the_carrier();
    assert_eq!(
        at_carrier.len(),
        1,
        "the carrier issued one number: {at_carrier:?}"
    );
    assert_eq!(at_carrier[&request.request_key], lost.tracking_no);
}

fn contact(name: &str) -> fahuo_platforms::waybill::Contact {
    fahuo_platforms::waybill::Contact {
        name: name.into(),
        mobile: "13800000000".into(),
        province: "上海市".into(),
        city: "上海市".into(),
        county: "徐汇区".into(),
        address: "虹漕路461号".into(),
    }
}

async fn a_refusing_or_slow_account_fails_over_and_its_stray_number_is_recycled(db: TestDb) {
    let w = world(&db, 2).await;
    let packages = w.allocate_all().await;
    // The first account is empty: the second one issues, and nothing is left to recycle.
    w.sim
        .set_waybill_balance(fahuo_sim::WaybillService::Kdniao, None, 0);
    let first = w.app.issue_waybill(&w.owner, packages[0]).await.unwrap();
    let stored = w
        .app
        .store()
        .live_waybills(w.owner.tenant_id)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].tracking_no, first.tracking_no);
    assert_eq!(w.live_at_the_carrier().len(), 1);
    assert!(
        w.app
            .store()
            .abandoned_waybill_requests(10)
            .await
            .unwrap()
            .is_empty()
    );

    // The first account answers too late for its 800 ms budget: the second issues; the first
    // account's number (issued after all) is recycled.
    w.sim
        .set_waybill_balance(fahuo_sim::WaybillService::Kdniao, None, 1_000);
    w.sim.set_waybill_latency(
        fahuo_sim::WaybillService::Kdniao,
        Duration::from_millis(1_500),
    );
    let second = w.app.issue_waybill(&w.owner, packages[1]).await.unwrap();
    w.sim
        .set_waybill_latency(fahuo_sim::WaybillService::Kdniao, Duration::ZERO);
    assert_ne!(second.tracking_no, first.tracking_no);
    // Let the slow answers land at the emulator before recycling.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(w.app.recycle_abandoned_waybills(10).await.unwrap(), 1);
    let live: BTreeSet<String> = w.live_at_the_carrier().into_values().collect();
    let ours: BTreeSet<String> = w.live_in_fahuo().await.into_values().collect();
    assert_eq!(live, ours, "the stray number went back to the carrier");
    let accounts = w.app.carrier_accounts(&w.owner).await.unwrap();
    let kdniao = &accounts
        .iter()
        .find(|a| a.account.id == w.kdniao.account.id)
        .unwrap()
        .account;
    let kuaidi100 = &accounts
        .iter()
        .find(|a| a.account.id == w.kuaidi100.account.id)
        .unwrap()
        .account;
    assert_eq!(
        (kdniao.used, kuaidi100.used),
        (0, 2),
        "recycled numbers are not counted as used"
    );
}

async fn reprints_are_counted_marked_and_a_double_click_prints_one_job(db: TestDb) {
    let w = world(&db, 3).await;
    let first = w
        .app
        .print_labels(&w.owner, &w.print(), Some("click-1"))
        .await
        .unwrap();
    let job = first.job.clone().unwrap();
    assert_eq!(job.reprints, 0);
    let again = w
        .app
        .print_labels(&w.owner, &w.print(), Some("click-1"))
        .await
        .unwrap();
    assert_eq!(again.job.unwrap(), job, "a double click is the same job");
    let reprint = w
        .app
        .print_labels(
            &w.owner,
            &PrintRequest {
                order_ids: w.orders[..1].to_vec(),
                size: Some("100x180".into()),
                reason: Some("卡纸".into()),
            },
            Some("click-2"),
        )
        .await
        .unwrap();
    let reprint_job = reprint.job.unwrap();
    assert_eq!(
        (reprint_job.reprints, reprint_job.labels[0].reprint),
        (1, 1)
    );
    assert_eq!(
        w.live_at_the_carrier().len(),
        3,
        "a reprint asks for no number"
    );

    // The PDFs are real: qpdf accepts them, the numbers and the reprint mark are text.
    let dir = tempfile::tempdir().unwrap();
    for (name, pdf) in [
        ("first.pdf", first.pdf.unwrap()),
        ("reprint.pdf", reprint.pdf.unwrap()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, pdf).unwrap();
        let check = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "qpdf: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let text = std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout).to_string();
        let numbers: Vec<&str> = if name == "first.pdf" {
            job.labels.iter().map(|l| l.tracking_no.as_str()).collect()
        } else {
            vec![reprint_job.labels[0].tracking_no.as_str()]
        };
        for n in numbers {
            assert!(text.contains(n), "{name} shows {n}");
        }
        assert!(text.contains("上海市"), "Chinese text is extractable");
        assert_eq!(text.contains("补打"), name == "reprint.pdf");
        assert!(
            !text.contains("13800000000"),
            "the receiver's phone is printed masked"
        );
    }
    use fahuo_app::printing::{LabelFormat, LabelOutput};
    let (stored, pdf) = w
        .app
        .print_job_labels(&w.owner, reprint_job.id, &LabelOutput::default())
        .await
        .unwrap();
    assert_eq!(stored, reprint_job);
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    // Raw printer languages carry the same number; a printer's drift is corrected by an offset.
    for format in [LabelFormat::Tspl, LabelFormat::Zpl] {
        let out = LabelOutput {
            format,
            dpi: Some(300),
            offset_x_mm: Some(1.0),
            offset_y_mm: Some(-0.5),
        };
        let (_, raw) = w
            .app
            .print_job_labels(&w.owner, job.id, &out)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&raw.bytes);
        for label in &job.labels {
            assert!(
                text.contains(&label.tracking_no),
                "{format:?} carries {}",
                label.tracking_no
            );
        }
    }
    let off_the_label = LabelOutput {
        offset_x_mm: Some(50.0),
        ..Default::default()
    };
    assert!(matches!(
        w.app
            .print_job_labels(&w.owner, job.id, &off_the_label)
            .await,
        Err(fahuo_app::AppError::Invalid(_))
    ));
    // The pick list names every order of the job, as PDF text and in the workbook.
    let pick_pdf = w
        .app
        .print_job_pick_list(&w.owner, job.id, false)
        .await
        .unwrap();
    let path = dir.path().join("pick.pdf");
    std::fs::write(&path, pick_pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("拣货单") && text.contains("马克杯"), "{text}");
    for i in 0..3 {
        assert!(
            text.contains(&format!("PRINT-{i:04}")),
            "pick list names order {i}"
        );
    }
    let xlsx = w
        .app
        .print_job_pick_list(&w.owner, job.id, true)
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an xlsx is a zip");
}

async fn a_wechat_shop_issues_through_its_own_e_waybill_account(db: TestDb) {
    let w = world(&db, 2).await;
    let info = w.sim.info();
    let shop = w
        .app
        .create_shop(
            &w.owner,
            &ShopInput {
                platform: "wechat".into(),
                name: "微信小店".into(),
                platform_shop_id: info.wechat.appid.clone(),
                api_base_url: Some(info.wechat_base_url.clone()),
                credentials: Some(fahuo_app::catalog::CredentialsInput {
                    app_key: info.wechat.appid.clone(),
                    app_secret: info.wechat.secret.clone(),
                    ..Default::default()
                }),
            },
        )
        .await
        .unwrap();
    let acct = info
        .wechat_ewaybill_accounts
        .iter()
        .find(|a| a.shop == 0 && a.delivery_id == "YTO")
        .unwrap();
    let bound = w
        .app
        .bind_carrier_account(
            &w.owner,
            BindCarrierAccount {
                name: "圆通 微信电子面单".into(),
                service: WaybillService::WechatEwaybill,
                carrier: "YTO".into(),
                base_url: None,
                shop_id: Some(shop.id),
                priority: 0,
                sender_name: "杭州仓发货组".into(),
                sender_phone: "13900001111".into(),
                quota: None,
                low_balance_threshold: 200,
                latency_budget_ms: 2_000,
                credentials: WaybillCredentials {
                    account: Some(acct.acct_id.clone()),
                    site: Some(acct.site_code.clone()),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    let warehouse = w.app.store().warehouses(w.owner.tenant_id).await.unwrap()[0].id;
    let yto = CarrierCode::parse("YTO").unwrap();
    let mut numbers = Vec::new();
    for id in &w.orders {
        let package = w
            .app
            .allocate_order(&w.owner, *id, warehouse, Some(yto.clone()))
            .await
            .unwrap()[0];
        let waybill = w.app.issue_waybill(&w.owner, package).await.unwrap();
        assert!(
            waybill.tracking_no.as_str().starts_with("YT"),
            "{}",
            waybill.tracking_no.as_str()
        );
        assert!(
            waybill.sort_code.is_some() && waybill.hub.is_some(),
            "the label's sort code and hub came back"
        );
        // Asking again returns the stored number, not a new one.
        assert_eq!(
            w.app.issue_waybill(&w.owner, package).await.unwrap(),
            waybill
        );
        numbers.push(waybill.tracking_no.as_str().to_string());
    }
    let at_wechat: BTreeSet<String> = w
        .sim
        .waybills()
        .into_iter()
        .filter(|r| r.service == fahuo_sim::WaybillService::Wechat)
        .map(|r| r.number)
        .collect();
    assert_eq!(at_wechat, numbers.iter().cloned().collect());
    // WeChat reports the balance itself.
    let refreshed = w
        .app
        .refresh_carrier_balance(&w.owner, bound.account.id)
        .await
        .unwrap();
    let expected = w
        .sim
        .waybill_accounts()
        .into_iter()
        .find(|a| a.account == acct.acct_id)
        .unwrap()
        .balance as i64;
    assert_eq!(refreshed.remaining, Some(expected));
    assert!(!refreshed.low_balance);
}

async fn the_warehouse_rules_choose_the_carrier_and_say_why(db: TestDb) {
    let w = world(&db, 2).await;
    let info = w.sim.info();
    let yto = info
        .kuaidi100
        .accounts
        .iter()
        .find(|a| a.kuaidicom == "yuantong")
        .unwrap();
    w.app
        .bind_carrier_account(
            &w.owner,
            BindCarrierAccount {
                name: "圆通 快递100".into(),
                service: WaybillService::Kuaidi100,
                carrier: "YTO".into(),
                base_url: Some(info.kuaidi100_base_url.clone()),
                shop_id: None,
                priority: 0,
                sender_name: "杭州仓发货组".into(),
                sender_phone: "13900001111".into(),
                quota: None,
                low_balance_threshold: 200,
                latency_budget_ms: 800,
                credentials: WaybillCredentials {
                    api_key: info.kuaidi100.key.clone(),
                    api_secret: info.kuaidi100.secret.clone(),
                    account: Some(yto.partner_id.clone()),
                    account_secret: Some(yto.partner_key.clone()),
                    site: None,
                },
            },
        )
        .await
        .unwrap();
    let warehouse = w.app.store().warehouses(w.owner.tenant_id).await.unwrap()[0].id;
    // 中通 is cheaper, but the merchant keeps it away from 上海; 顺丰 has no account.
    let zone = |first: i64| serde_json::json!([{"name": "华东", "provinces": ["31", "32", "33"], "first_g": 1000, "first_fen": first, "step_g": 1000, "step_fen": 200}]);
    let rules = serde_json::json!({
        "name": "杭州仓 2026",
        "tables": [
            {"carrier": "ZTO", "name": "中通协议价", "zones": zone(450)},
            {"carrier": "YTO", "name": "圆通协议价", "zones": zone(500)},
            {"carrier": "SF", "name": "顺丰", "zones": zone(300)}
        ],
        "rules": [{"rule": "exclude_destinations", "carriers": ["ZTO"], "provinces": ["31"]}],
        "goal": "cheapest"
    });
    let bad = serde_json::json!({"name": "x", "tables": [{"carrier": "ZTO", "name": "a", "zones": zone(1)}, {"carrier": "ZTO", "name": "b", "zones": zone(1)}]});
    assert!(
        matches!(
            w.app.set_carrier_rules(&w.owner, warehouse, bad).await,
            Err(fahuo_app::AppError::Invalid(_))
        ),
        "two tables for one carrier are refused"
    );
    w.app
        .set_carrier_rules(&w.owner, warehouse, rules.clone())
        .await
        .unwrap();

    let choice = w
        .app
        .choose_carrier(&w.owner, w.orders[0], warehouse)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(choice.chosen, Some(fahuo_carriers::Carrier::Yto));
    let why = choice.to_string();
    assert!(why.contains("rule #1"), "the exclusion is explained: {why}");
    assert!(
        !why.contains("SF"),
        "carriers without an account do not compete: {why}"
    );

    // Allocation without a carrier follows the rules; the number comes from 圆通's account.
    let package = w
        .app
        .allocate_order(&w.owner, w.orders[0], warehouse, None)
        .await
        .unwrap()[0];
    let waybill = w.app.issue_waybill(&w.owner, package).await.unwrap();
    assert_eq!(waybill.carrier.as_str(), "YTO");
    assert!(waybill.tracking_no.as_str().starts_with("YT"));

    // What if 中通 were allowed everywhere? The one package would have gone cheaper.
    let mut relaxed = rules;
    relaxed["name"] = "放开上海".into();
    relaxed["rules"] = serde_json::json!([]);
    let report = w
        .app
        .carrier_what_if(&w.owner, warehouse, relaxed)
        .await
        .unwrap();
    assert_eq!(report.rows.len(), 1);
    assert!(report.delta.0 < 0, "{report:?}");
}

async fn under_faults_every_package_still_gets_exactly_one_number(db: TestDb) {
    let w = world(&db, 40).await;
    w.allocate_all().await;
    // One call in five fails: 5xx, rate limits, timeouts before and after the number was
    // issued. The merchant prints again until nothing fails, as the console tells them to.
    w.sim.set_fault_rate(0.2);
    let mut rounds = 0;
    loop {
        rounds += 1;
        let printed = w
            .app
            .print_labels(&w.owner, &w.print(), None)
            .await
            .unwrap();
        if printed.failures.is_empty() {
            break;
        }
        assert!(
            rounds < 30,
            "still failing after {rounds} prints: {:?}",
            printed.failures
        );
    }
    w.sim.set_fault_rate(0.0);
    // Answers that never came back may hold numbers: recycle until nothing is left.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while !w
        .app
        .store()
        .abandoned_waybill_requests(100)
        .await
        .unwrap()
        .is_empty()
    {
        w.app.recycle_abandoned_waybills(100).await.unwrap();
    }
    let ours = w.live_in_fahuo().await;
    assert_eq!(ours.len(), 40);
    let carrier: BTreeSet<String> = w.live_at_the_carrier().into_values().collect();
    assert_eq!(
        carrier,
        ours.into_values().collect(),
        "no stray number is left at the carrier"
    );
}

async fn labels_carry_the_shop_logo_promo_and_product_marks(db: TestDb) {
    let w = world(&db, 1).await;
    let sku = w
        .app
        .store()
        .sku_by_code(
            w.owner.tenant_id,
            &fahuo_domain::SkuCode::parse("MUG-350").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let tags = w
        .app
        .set_sku_tags(&w.owner, sku.id, &["易碎".to_string(), "冷链".to_string()])
        .await
        .unwrap();
    assert_eq!(tags, ["cold_chain", "fragile"]);
    let shop = w.app.store().shops(w.owner.tenant_id).await.unwrap()[0].id;
    // A 1×1 PNG.
    let logo = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let settings = fahuo_app::printing::LabelSettingsInput {
        promo: Some("关注店铺领五元券".into()),
        logo_png_base64: Some(logo.into()),
    };
    w.app
        .set_label_settings(&w.owner, shop, &settings)
        .await
        .unwrap();
    let not_png = fahuo_app::printing::LabelSettingsInput {
        promo: None,
        logo_png_base64: Some("aGVsbG8=".into()),
    };
    assert!(
        matches!(
            w.app.set_label_settings(&w.owner, shop, &not_png).await,
            Err(fahuo_app::AppError::Invalid(_))
        ),
        "a logo that cannot print is refused"
    );

    let warehouse = w.app.store().warehouses(w.owner.tenant_id).await.unwrap()[0].id;
    w.app
        .set_stock_bin(&w.owner, warehouse, sku.id, Some("A-03-2"))
        .await
        .unwrap();
    let printed = w
        .app
        .print_labels(&w.owner, &w.print(), None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The pick list groups by the SKU's bin.
    let job = printed.job.clone().unwrap();
    let pick = w
        .app
        .print_job_pick_list(&w.owner, job.id, false)
        .await
        .unwrap();
    let pick_path = dir.path().join("pick.pdf");
    std::fs::write(&pick_path, pick).unwrap();
    let pick_text = std::process::Command::new("pdftotext")
        .arg(&pick_path)
        .arg("-")
        .output()
        .unwrap();
    let pick_text = String::from_utf8_lossy(&pick_text.stdout).to_string();
    assert!(
        pick_text.contains("A-03-2") && pick_text.contains("MUG-350"),
        "{pick_text}"
    );
    let path = dir.path().join("l.pdf");
    std::fs::write(&path, printed.pdf.unwrap()).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    for mark in ["关注店铺领五元券", "冷链", "易碎"] {
        assert!(text.contains(mark), "the label shows {mark}: {text}");
    }
    let images = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&images.stdout).lines().count() > 2,
        "the logo is in the PDF"
    );
}
