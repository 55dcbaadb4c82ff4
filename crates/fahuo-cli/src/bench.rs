//! `fahuo bench intake`: how fast each platform's order history syncs into fahuo from the
//! built-in emulators over loopback HTTP, and where the time goes (waiting for the platform
//! vs. storing). The emulators run in the same process and share its CPUs.

use crate::demo;
use anyhow::{Context, Result};
use fahuo_app::App;
use fahuo_domain::Name;
use std::time::Instant;

/// One platform's result.
pub struct IntakeRow {
    pub platform: String,
    pub pulled: usize,
    pub stored: usize,
    pub seconds: f64,
    pub pull_seconds: f64,
    pub store_seconds: f64,
}

impl IntakeRow {
    pub fn orders_per_second(&self) -> f64 {
        self.pulled as f64 / self.seconds.max(1e-9)
    }
}

/// Syncs `orders` generated orders per platform (history of three days, standing still) into
/// a new tenant of `app`, one shop after the other.
pub async fn intake(app: &App, orders: usize, fault_rate: f64) -> Result<Vec<IntakeRow>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = fahuo_sim::SimConfig {
        live: false,
        fault_rate,
        timeout_delay: std::time::Duration::from_millis(app.settings().platform_timeout_millis * 2),
        ..fahuo_sim::SimConfig::new(7, orders)
    };
    let sim = fahuo_sim::start(config, listener)?;
    let name = format!("bench {}", app.now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app.create_tenant(&Name::parse(&name)?).await?.id;
    let shops = demo::connect_shops(app, tenant, &sim).await?;
    let mut rows = Vec::new();
    for shop in shops {
        let started = Instant::now();
        let report = app
            .sync_shop(tenant, shop.id)
            .await
            .with_context(|| format!("syncing the {} shop", shop.platform))?;
        rows.push(IntakeRow {
            platform: shop.platform.to_string(),
            pulled: report.pulled,
            stored: report.ingested.created + report.ingested.updated,
            seconds: started.elapsed().as_secs_f64(),
            pull_seconds: report.pull_millis as f64 / 1000.0,
            store_seconds: report.store_millis as f64 / 1000.0,
        });
    }
    sim.shutdown().await;
    Ok(rows)
}

/// The result as a Markdown table, for BENCHMARKS.md.
pub fn intake_table(rows: &[IntakeRow]) -> String {
    let mut out = String::from(
        "| platform | orders pulled | stored | seconds | orders/s | waiting for platform | storing |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.2} s ({:.0} %) | {:.2} s ({:.0} %) |\n",
            r.platform,
            r.pulled,
            r.stored,
            r.seconds,
            r.orders_per_second(),
            r.pull_seconds,
            100.0 * r.pull_seconds / r.seconds.max(1e-9),
            r.store_seconds,
            100.0 * r.store_seconds / r.seconds.max(1e-9),
        ));
    }
    out
}

/// One e-waybill measurement: `calls` numbers asked for, `concurrency` at a time.
pub struct WaybillRow {
    pub what: String,
    pub calls: usize,
    pub concurrency: usize,
    pub seconds: f64,
}

impl WaybillRow {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.seconds.max(1e-9)
    }
}

/// Waybill round trips against the built-in e-waybill emulators (limits off), twice per
/// service: fresh keys (new numbers) and repeated keys (the retry path). Then the whole print
/// path through `app`: `packages` approved orders printed in one job (numbers stored,
/// orders moved, labels rendered), with fahuo's own per-account rate limit in force.
pub async fn waybills(app: &App, calls: usize, packages: usize) -> Result<Vec<WaybillRow>> {
    use fahuo_platforms::waybill::{
        Contact, WaybillAccount, WaybillClient, WaybillCredentials, WaybillRequest, waybill_options,
    };
    use futures::StreamExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = fahuo_sim::SimConfig {
        live: false,
        rate_limits: fahuo_sim::RateLimits {
            kuaidi100_per_sec: 0,
            kdniao_per_sec: 0,
            ..Default::default()
        },
        waybill_balance: (calls * 4 + packages * 2) as u64,
        ..fahuo_sim::SimConfig::new(7, 0)
    };
    let sim = fahuo_sim::start(config, listener)?;
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .context("kdniao ZTO")?;
    let k100 = info
        .kuaidi100
        .accounts
        .iter()
        .find(|a| a.kuaidicom == "zhongtong")
        .context("kuaidi100 ZTO")?;
    let accounts = [
        (
            "kdniao",
            fahuo_domain::fulfilment::WaybillService::Kdniao,
            info.kdniao_base_url.clone(),
            WaybillCredentials {
                api_key: info.kdniao.ebusiness_id.clone(),
                api_secret: info.kdniao.app_key.clone(),
                account: Some(kd.customer_name.clone()),
                account_secret: Some(kd.customer_pwd.clone()),
                site: None,
            },
        ),
        (
            "kuaidi100",
            fahuo_domain::fulfilment::WaybillService::Kuaidi100,
            info.kuaidi100_base_url.clone(),
            WaybillCredentials {
                api_key: info.kuaidi100.key.clone(),
                api_secret: info.kuaidi100.secret.clone(),
                account: Some(k100.partner_id.clone()),
                account_secret: Some(k100.partner_key.clone()),
                site: None,
            },
        ),
    ];
    let contact = |name: &str| Contact {
        name: name.into(),
        mobile: "13800000000".into(),
        province: "浙江省".into(),
        city: "杭州市".into(),
        county: "西湖区".into(),
        address: "文三路90号".into(),
    };
    let req = WaybillRequest {
        sender: contact("发货组"),
        receiver: contact("收件人"),
        items: vec![],
        weight_g: Some(1000),
        remark: None,
        platform_order_ids: vec![],
    };
    let concurrency = 8;
    let mut rows = Vec::new();
    for (name, service, base_url, credentials) in accounts {
        let mut opts = waybill_options(std::time::Duration::from_secs(5));
        opts.rate_per_sec = 0.0;
        let client = WaybillClient::new(
            WaybillAccount {
                service,
                carrier: fahuo_carriers::Carrier::Zto,
                base_url,
                credentials,
            },
            fahuo_platforms::http_client(),
            &opts,
            None,
        )?;
        // The second round asks under the same keys: the retry path, answered from the ledger.
        for label in ["new numbers", "repeated keys"] {
            let started = Instant::now();
            let results: Vec<_> = futures::stream::iter(0..calls)
                .map(|i| {
                    let (client, req) = (&client, &req);
                    async move { client.issue(&format!("B{name}{i}"), req).await }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            let failed = results.iter().filter(|r| r.is_err()).count();
            anyhow::ensure!(failed == 0, "{failed} of {calls} {name} calls failed");
            rows.push(WaybillRow {
                what: format!("{name}: {label}"),
                calls,
                concurrency,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }

    // The whole print path.
    let name = format!("bench {}", app.now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app.create_tenant(&Name::parse(&name)?).await?.id;
    let actor = fahuo_app::Actor::cli(tenant);
    let warehouse = app
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
        .await?;
    // The mugs every order buys, in stock: allocation reserves them.
    let mug = app
        .create_sku(
            &actor,
            &fahuo_app::catalog::SkuInput {
                code: "MUG-350".into(),
                name: "马克杯".into(),
                barcode: None,
                weight_g: 380,
                length_mm: 0,
                width_mm: 0,
                height_mm: 0,
                cost_fen: 1200,
            },
        )
        .await?;
    app.move_stock(
        &actor,
        &fahuo_app::catalog::StockMovementInput {
            warehouse_id: warehouse.id.get(),
            sku_id: mug.id.get(),
            kind: "inbound".into(),
            quantity: packages as i64 + 1,
            note: None,
        },
    )
    .await?;
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
        .await?;
    demo::bind_carrier_accounts(app, tenant, &sim).await?;
    let mut orders = Vec::with_capacity(packages);
    for i in 0..packages {
        let input = fahuo_app::orders::OrderInput {
            shop_id: shop.id.get(),
            platform_order_id: format!("B{i:06}"),
            paid_total_fen: None,
            freight_fen: 0,
            buyer_note: None,
            seller_note: None,
            ship_by: None,
            presale_ship_at: None,
            receiver: fahuo_app::orders::ReceiverInput {
                name: format!("收件人{i}"),
                phone: format!("1390000{:04}", i % 10_000),
                province: "上海市".into(),
                city: "上海市".into(),
                county: "徐汇区".into(),
                detail: format!("虹漕路{}号", i % 900 + 1),
            },
            lines: vec![fahuo_app::orders::LineInput {
                sku_code: Some("MUG-350".into()),
                title: "马克杯".into(),
                quantity: 1,
                unit_price_fen: 3900,
                paid_fen: None,
            }],
        };
        let (_, view) = app.create_manual_order(&actor, &input).await?;
        app.approve_order(&actor, view.id).await?;
        orders.push(view.id);
    }
    let started = Instant::now();
    let printed = app
        .print_labels(
            &actor,
            &fahuo_app::printing::PrintRequest {
                order_ids: orders,
                size: None,
                reason: None,
            },
            None,
        )
        .await?;
    anyhow::ensure!(
        printed.failures.is_empty(),
        "print failures: {:?}",
        &printed.failures[..printed.failures.len().min(3)]
    );
    rows.push(WaybillRow {
        what: format!("print {packages} orders (allocate, number, store, render one PDF)"),
        calls: packages,
        concurrency: 8,
        seconds: started.elapsed().as_secs_f64(),
    });
    sim.shutdown().await;
    Ok(rows)
}

/// The e-waybill result as a Markdown table, for BENCHMARKS.md.
pub fn waybill_table(rows: &[WaybillRow]) -> String {
    let mut out = String::from(
        "| what | calls | in flight | seconds | per second |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.2} | {:.0} |\n",
            r.what,
            r.calls,
            r.concurrency,
            r.seconds,
            r.per_second()
        ));
    }
    out
}

/// `fahuo bench review`: orders per second through review and allocation.
pub struct ReviewRow {
    pub orders: usize,
    pub seconds: f64,
    pub allocated: i64,
    pub held: i64,
    pub setup_seconds: f64,
}

impl ReviewRow {
    pub fn orders_per_second(&self) -> f64 {
        self.orders as f64 / self.seconds.max(1e-9)
    }
}

/// Creates `orders` manual orders in a fresh merchant with three warehouses and the demo's
/// catalogue (stock enough for all), a realistic mix of notes, bundles, unmapped codes,
/// presale and repeat receivers, then times `review_pending` over all of them: review rules,
/// line mapping, address check, warehouse choice, merge and reservation, as the review job
/// runs them.
pub async fn review(app: &App, orders: usize) -> Result<ReviewRow> {
    use fahuo_app::catalog::{ShopInput, SkuInput, StockMovementInput, WarehouseInput};
    use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
    use futures::StreamExt;
    let setup = Instant::now();
    let name = format!("review bench {}", app.now().format("%Y%m%d%H%M%S%3f"));
    let tenant = app.create_tenant(&Name::parse(&name)?).await?.id;
    let owner = fahuo_app::Actor::cli(tenant);
    let mut warehouses = Vec::new();
    for (code, name, province, city, county, lat, lng) in [
        (
            "HZ01",
            "杭州仓",
            "浙江省",
            "杭州市",
            "余杭区",
            30.42,
            120.30,
        ),
        (
            "GZ01",
            "广州仓",
            "广东省",
            "广州市",
            "白云区",
            23.26,
            113.27,
        ),
        (
            "BJ01",
            "北京仓",
            "北京市",
            "北京市",
            "大兴区",
            39.73,
            116.34,
        ),
    ] {
        let input = WarehouseInput {
            code: code.into(),
            name: name.into(),
            province: province.into(),
            city: city.into(),
            county: county.into(),
            address: "物流园1号".into(),
            lat: Some(lat),
            lng: Some(lng),
        };
        warehouses.push(app.create_warehouse(&owner, &input).await?.id);
    }
    let mut codes = Vec::new();
    for n in 0..50 {
        let sku = app
            .create_sku(
                &owner,
                &SkuInput {
                    code: format!("SKU-{n:03}"),
                    name: format!("商品{n}"),
                    barcode: None,
                    weight_g: 200 + (n * 37) % 800,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 500 + (n * 53) % 2000,
                },
            )
            .await?;
        for (w, warehouse) in warehouses.iter().enumerate() {
            // Every SKU in two of the three warehouses, plenty of it.
            if (n as usize + w) % 3 == 2 {
                continue;
            }
            let input = StockMovementInput {
                warehouse_id: warehouse.get(),
                sku_id: sku.id.get(),
                kind: "inbound".into(),
                quantity: orders as i64 * 3,
                note: None,
            };
            app.move_stock(&owner, &input).await?;
        }
        codes.push(sku.code.to_string());
    }
    let shop = app
        .create_shop(
            &owner,
            &ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "bench".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await?
        .id
        .get();
    const PLACES: [(&str, &str, &str, &str); 6] = [
        ("浙江省", "杭州市", "西湖区", "文三路90号东部软件园"),
        ("上海市", "上海市", "徐汇区", "虹漕路461号58号楼5楼"),
        ("广东省", "深圳市", "南山区", "科技园南区高新南七道8号"),
        ("北京市", "北京市", "朝阳区", "建国路88号SOHO现代城"),
        ("四川省", "成都市", "武侯区", "天府大道北段1700号"),
        ("广东省", "东莞市", "", "南城街道鸿福路200号"),
    ];
    let now = app.now();
    let inputs = (0..orders).map(|n| {
        let mut x = (n as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = |m: u64| {
            x ^= x >> 33;
            x = x.wrapping_mul(0xff51afd7ed558ccd);
            (x >> 16) % m
        };
        let (province, city, county, street) = PLACES[next(6) as usize];
        // One receiver in 20 orders twice (a merge candidate).
        let person = if next(20) == 0 { n / 2 } else { n };
        let lines = (0..1 + next(3))
            .map(|_| {
                let code = if next(50) == 0 {
                    "UNMAPPED-1".to_string()
                } else {
                    codes[next(codes.len() as u64) as usize].clone()
                };
                LineInput {
                    sku_code: Some(code),
                    title: "商品".into(),
                    quantity: 1 + next(3) as i64,
                    unit_price_fen: 3900,
                    paid_fen: None,
                }
            })
            .collect();
        OrderInput {
            shop_id: shop,
            platform_order_id: format!("B{n:07}"),
            paid_total_fen: None,
            freight_fen: 0,
            buyer_note: (next(10) == 0).then(|| "请尽快发货".to_string()),
            seller_note: None,
            ship_by: Some(now + chrono::Duration::hours(4 + next(68) as i64)),
            presale_ship_at: (next(50) == 0).then(|| now + chrono::Duration::days(5)),
            receiver: ReceiverInput {
                name: format!("收件人{person}"),
                phone: format!("139{:08}", person),
                province: province.into(),
                city: city.into(),
                county: county.into(),
                detail: format!("{street}{}室", 100 + person % 900),
            },
            lines,
        }
    });
    let created: Vec<Result<()>> = futures::stream::iter(inputs)
        .map(|input| {
            let owner = &owner;
            async move {
                app.create_manual_order(owner, &input).await?;
                Ok(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    created.into_iter().collect::<Result<Vec<()>>>()?;
    let setup_seconds = setup.elapsed().as_secs_f64();
    let started = Instant::now();
    app.review_pending().await?;
    let seconds = started.elapsed().as_secs_f64();
    let counts = app.store().order_counts(tenant, None).await?;
    let count = |s: fahuo_domain::OrderState| {
        counts
            .iter()
            .find(|(x, _)| *x == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    Ok(ReviewRow {
        orders,
        seconds,
        allocated: count(fahuo_domain::OrderState::Allocated),
        held: count(fahuo_domain::OrderState::OnHold),
        setup_seconds,
    })
}

pub fn review_table(row: &ReviewRow) -> String {
    format!(
        "| orders | review + allocation | orders/s | allocated | held | setup (not timed) |\n\
         |---:|---:|---:|---:|---:|---:|\n\
         | {} | {:.1} s | {:.0} | {} | {} | {:.1} s |\n",
        row.orders,
        row.seconds,
        row.orders_per_second(),
        row.allocated,
        row.held,
        row.setup_seconds
    )
}
