//! The `fahuo` binary: parses the command line and configuration, then calls the library
//! crates. No business logic lives here.

mod config;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use config::Config;
use fahuo_app::auth::Password;
use fahuo_app::jobs::JobRunner;
use fahuo_app::users::UserInput;
use fahuo_app::{Actor, App, SystemClock};
use fahuo_cli::{backup, bench, demo, progress};
use fahuo_domain::{Name, Role, TenantId, Username};
use fahuo_store::{Keyring, Store};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// fahuo (发货): order fulfilment for 微信小店, 抖店 and 小红书 — sync, review, stock, waybills,
/// labels, shipping, tracking and after-sales in one self-hosted binary.
#[derive(Parser)]
#[command(name = "fahuo", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Configuration: defaults < config file (--config, or fahuo.toml in the data directory) \
< FAHUO_* environment variables (nested keys with __, e.g. FAHUO_APP__SESSION_HOURS=8) < flags.\n\
Start here: `fahuo demo`, then open the printed URL."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run fahuo for real: the console, the API and the background jobs.
    Serve(ServeArgs),
    /// Seed a demo merchant into a local SQLite database and serve it.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit.
    Migrate(CommonArgs),
    /// Write a consistent copy of the SQLite database to FILE while fahuo keeps running
    /// (PostgreSQL: prints the pg_dump command to use). Keep pii.key with the backup.
    Backup {
        file: PathBuf,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Replace the SQLite database with the backup FILE, after checking it (integrity, fahuo's
    /// migrations, not newer than this release). Refuses while fahuo runs on the database.
    Restore {
        file: PathBuf,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Manage tenants (merchants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Orders (订单).
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Stock (库存): export, and import a stock count (盘点).
    #[command(subcommand)]
    Stock(StockCommand),
    /// Batch imports: tracking numbers (批量导入单号).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Chinese addresses (智能地址解析).
    #[command(subcommand)]
    Address(AddressCommand),
    /// Tracking (waybill) numbers.
    #[command(subcommand)]
    Tracking(TrackingCommand),
    /// Shipping labels.
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Serve the WeChat Shop, Douyin Shop and Xiaohongshu emulators on loopback.
    Sim(SimArgs),
    /// Measure fahuo against the built-in emulators (results for BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// End-to-end orders/s of `fahuo demo --headless` (emulators answering at once) against
    /// the rows it stored bulk-inserted raw into the same database, the ratio, peak memory,
    /// and the order list API of that database under wrk (64 connections); one JSON line.
    /// Uses a throw-away SQLite database unless --database-url is given. Needs `wrk`.
    Pipeline {
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        /// How long wrk runs against the order list.
        #[arg(long, default_value_t = 15)]
        wrk_seconds: u64,
        /// Stop driving the end-to-end run after this many seconds: it reports what did not
        /// reach its end, the reference and wrk still run, and the bench exits 1.
        #[arg(long, default_value_t = 3_600)]
        time_limit: u64,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Sync N orders per platform from the emulators into a fresh tenant; print orders/s and
    /// where the time went. Uses a throw-away SQLite database unless --database-url is given.
    Intake {
        #[arg(long, default_value_t = 5000)]
        orders: usize,
        /// Share of platform calls that fail (5xx, timeouts, rate limits), retried by fahuo.
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// fahuo's own limit on calls per second per shop (default: the configured
        /// `platform_calls_per_second`); 0 leaves only the platform's limits.
        #[arg(long)]
        calls_per_second: Option<f64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// E-waybill round trips per second against the built-in emulators (new numbers and
    /// repeated keys, per service), then one print of N orders end to end. Uses a throw-away
    /// SQLite database unless --database-url is given.
    Waybills {
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        #[arg(long, default_value_t = 500)]
        packages: usize,
        /// fahuo's own limit on e-waybill calls per second per account (default: the
        /// configured `waybill_calls_per_second`); 0 switches it off.
        #[arg(long)]
        calls_per_second: Option<f64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Orders per second through review and allocation (rules, mapping, address check,
    /// warehouse choice, merge, stock reservation) over N new orders. Uses a throw-away
    /// SQLite database unless --database-url is given.
    Review {
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// A tracking-number file of N rows imported end to end against the built-in emulators:
    /// preview (read and validate), apply, and write-back to the three platforms; time and
    /// rows/s per step. Uses a throw-away SQLite database unless --database-url is given.
    Ship {
        #[arg(long, default_value_t = 5000)]
        rows: usize,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// The console's order list over N bulk-loaded orders: every filter combination of the
    /// page and the API timed over loopback (p50/p99/max); fails if any p99 reaches 100 ms.
    /// Uses a throw-away SQLite database unless --database-url is given.
    OrderList {
        #[arg(long, default_value_t = 1_000_000)]
        orders: usize,
        /// Timed requests per combination (after one warm-up).
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// The order list API under wrk (64 connections, 2 threads) over N bulk-loaded orders:
    /// a mix of the page's filter combinations with an API token; prints requests/s, p50/p99
    /// and the memory of the server (`fahuo serve --no-jobs`, a process of its own). Needs
    /// `wrk`. Uses a throw-away SQLite database unless --database-url is given.
    OrderListLoad {
        #[arg(long, default_value_t = 1_000_000)]
        orders: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Import orders from an xlsx or CSV file (UTF-8 or GBK), one row per order line.
    ///
    /// Without --commit this is a preview: it prints each row's errors and the orders that
    /// would be created, and stores nothing. Exits 0 when every row is valid, 2 when some rows
    /// have errors (the report is still printed), 1 when the file cannot be read at all.
    Import {
        /// The file (.xlsx or .csv).
        file: PathBuf,
        /// The id of a manual shop (see the console's shop list).
        #[arg(long)]
        shop: i64,
        /// The tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<i64>,
        /// Import the valid, new orders (all or nothing per order).
        #[arg(long)]
        commit: bool,
        /// With --commit: import nothing unless every row is valid.
        #[arg(long, requires = "commit")]
        only_if_clean: bool,
        /// Print the whole report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import tracking numbers from an xlsx or CSV file (UTF-8 or GBK): fahuo's template or
    /// the columns of the platforms' batch templates (订单号, 快递公司, 快递单号, optionally
    /// 商品编码 and 发货数量 for part of an order).
    ///
    /// Without --apply this is a preview: every row's verdict, nothing shipped. With --apply
    /// the valid rows are queued 500 at a time and sent to the platforms (this process sends
    /// them, alongside any running server), with a progress bar. An interrupted apply
    /// continues with --resume ID. Exits 0 when every row shipped, 2 when some rows were
    /// refused or failed, 1 when the file cannot be read at all.
    Shipments {
        /// The file (.xlsx or .csv); not needed with --resume.
        #[arg(required_unless_present = "resume")]
        file: Option<PathBuf>,
        /// Apply the valid rows and send them.
        #[arg(long)]
        apply: bool,
        /// Continue applying an import that was interrupted.
        #[arg(long, value_name = "IMPORT_ID", conflicts_with = "file")]
        resume: Option<i64>,
        /// Only queue the write-backs; leave sending to the running servers.
        #[arg(long)]
        no_send: bool,
        /// Write the result file (each row's outcome) here.
        #[arg(long, value_name = "FILE")]
        result: Option<PathBuf>,
        /// The tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<i64>,
        /// Print the preview as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum StockCommand {
    /// Write every stock row to an xlsx file (仓库编码, 商品编码, 在库, 预占, 安全库存, 可用, ...).
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<i64>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Import a stock count (盘点) from an xlsx or CSV file (UTF-8 or GBK) with the columns
    /// 仓库编码, 商品编码, 盘点数量 and optionally 安全库存, 预警阈值, 库位; an export file works too.
    ///
    /// Without --apply this is a preview: it prints every row's verdict and stores nothing.
    /// Exits 0 when every row is accepted, 2 when some are refused (the table is still
    /// printed), 1 when the file cannot be read at all.
    Import {
        /// The file (.xlsx or .csv).
        file: PathBuf,
        /// Set on hand to the counted numbers (rows refused now or at apply time change nothing).
        #[arg(long)]
        apply: bool,
        /// The tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<i64>,
        /// Print the whole report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum AddressCommand {
    /// Read one address per line on stdin; write one JSON object per line (name, phone,
    /// province, city, county, town, detail, adcode, confidence, verdict, reasons), in order.
    Parse,
}

#[derive(Subcommand)]
enum TrackingCommand {
    /// Read tracking numbers on stdin; write one JSON object per line:
    /// {input, normalized, candidates: [{carrier, score}], valid_for}.
    Detect,
}

#[derive(Subcommand)]
enum LabelsCommand {
    /// Render N generated labels into a PDF and print their waybill numbers in page order.
    Sample {
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// 76x130, 100x150 or 100x180 (mm).
        #[arg(long, default_value = "76x130")]
        size: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Args)]
struct SimArgs {
    #[arg(long, default_value = "127.0.0.1:9100")]
    listen: std::net::SocketAddr,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Orders generated per shop.
    #[arg(long, default_value_t = 100)]
    orders: usize,
    /// Share of calls and pushes that fail (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
}

/// Where fahuo keeps its data and how to reach the database.
#[derive(Args, Clone, Default)]
struct CommonArgs {
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for the SQLite database, the PII key file and other state.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` (default: SQLite in the data directory).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 (port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Serve HTTP only; leave background jobs to other nodes.
    #[arg(long)]
    no_jobs: bool,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Manual orders to generate for the demo merchant; with --headless, the orders generated
    /// in the emulators (split over the three platforms).
    #[arg(long, default_value_t = 200)]
    orders: usize,
    /// No console: generate --orders orders in the emulators, drive them through sync, review,
    /// allocation, waybill, labels, write-back and tracking with the job runner of `fahuo
    /// serve` (the merchant prints through the same use-cases as the console), compare
    /// fahuo's database with the emulators' ledgers and print one JSON line. Expected ends,
    /// from the emulators' truth at the start: a paid order with no refund is "to_ship" and
    /// must be written back exactly once with the one waybill number fahuo holds for its
    /// package and its parcel followed to where the carrier ends it (delivered, or returned);
    /// parcels whose carrier never ends them (stuck, never picked up) count as "with_carrier".
    /// Unpaid, cancelled and refunded orders are "unshippable" and must never ship. Exit code
    /// 0 only when every order ended so, with no duplicate waybill, write-back or SMS. Uses a
    /// throw-away SQLite database unless --database-url is given.
    #[arg(long)]
    headless: bool,
    /// With --headless: share of platform and e-waybill calls that fail (5xx, timeouts, rate
    /// limits) and of tracking pushes duplicated, reordered, late or forged.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// With --headless: stop driving after this many seconds and report what did not reach its
    /// end (exit code 1).
    #[arg(long, default_value_t = 3_600)]
    time_limit: u64,
    /// Orders per platform in the built-in WeChat Shop, Douyin and Xiaohongshu emulators
    /// (0: no emulators, no platform shops).
    #[arg(long, default_value_t = 300)]
    platform_orders: usize,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id.
    Add {
        /// The merchant's name, e.g. "杭州某某服饰".
        name: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account. The password is read from FAHUO_USER_PASSWORD, from stdin with
    /// --password-stdin, or asked for on the terminal.
    Add {
        #[arg(long)]
        username: String,
        /// owner, admin, service, warehouse, logistics, finance or viewer.
        #[arg(long, default_value = "owner")]
        role: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// The tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<i64>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = Config::load(&args.common, args.listen.as_deref(), "fahuo-data")?;
            config::init_logging(&config);
            let app = open_app(&config).await?;
            serve(app, &config, !args.no_jobs, None, None).await
        }
        Command::Demo(args) if args.headless => {
            let scratch = tempfile::tempdir()?;
            let mut common = args.serve.common;
            if common.database_url.is_none() && common.data_dir.is_none() {
                common.data_dir = Some(scratch.path().to_path_buf());
            }
            let mut config = Config::load(&common, None, "fahuo-headless")?;
            config.log = "warn,fahuo_cli::headless=info".into();
            config::init_logging(&config);
            let store = open_store(&config).await?;
            let mut opts = fahuo_cli::headless::HeadlessOptions::new(args.orders);
            opts.fault_rate = args.fault_rate;
            opts.time_limit = std::time::Duration::from_secs(args.time_limit);
            let report = fahuo_cli::headless::run(store.clone(), config.app.clone(), &opts).await?;
            println!("{}", serde_json::to_string(&report)?);
            store.close().await;
            // An error (exit code 1) rather than `exit`, so the scratch data dir is removed.
            anyhow::ensure!(
                report.ok,
                "not every order ended where expected, exactly once (see the JSON line)"
            );
            Ok(())
        }
        Command::Demo(args) => {
            let config = Config::load(
                &args.serve.common,
                args.serve.listen.as_deref(),
                "fahuo-demo",
            )?;
            config::init_logging(&config);
            let mut config = config;
            let sim = if args.platform_orders > 0 {
                let sim = Arc::new(demo::start_emulators(args.platform_orders).await?);
                config.app.sms = Some(demo::sms_settings(&sim));
                Some(sim)
            } else {
                None
            };
            let app = open_app(&config).await?;
            let mut bar = progress::Progress::new("生成演示订单 demo orders", args.orders as u64);
            let info = app
                .seed_demo(args.orders, &mut |done, _| bar.set(done as u64))
                .await?;
            bar.finish();
            let mut emulators = None;
            if let Some(sim) = sim {
                let shops = demo::connect_shops(&app, info.tenant, &sim).await?;
                demo::bind_carrier_accounts(&app, info.tenant, &sim).await?;
                demo::connect_tracking(&app, info.tenant, &sim).await?;
                emulators = Some((sim, shops));
            }
            let banner = format!(
                "  login:    {} / {}{}\n  data:     {} ({})",
                info.username,
                info.password,
                if info.created {
                    ""
                } else {
                    "   (existing demo data)"
                },
                config.data_dir.display(),
                fahuo_store::redact_url(&config.database_url()),
            );
            // The emulators live until the server stops (`emulators` is dropped after it).
            let on_listening = emulators.as_ref().map(|(sim, shops)| {
                let (sim, shops, app) = (sim.clone(), shops.clone(), app.clone());
                Box::new(move |addr: std::net::SocketAddr| {
                    demo::point_pushes(&sim, &shops, addr);
                    // Tracking pushes come back to wherever the demo happens to listen.
                    app.set_public_url(&format!("http://{addr}"));
                }) as OnListening
            });
            let served = serve(
                app,
                &config,
                !args.serve.no_jobs,
                Some(banner),
                on_listening,
            )
            .await;
            drop(emulators);
            served
        }
        Command::Migrate(common) => {
            let config = Config::load(&common, None, "fahuo-data")?;
            config::init_logging(&config);
            let store = open_store(&config).await?;
            println!(
                "migrated {}",
                fahuo_store::redact_url(&config.database_url())
            );
            store.close().await;
            Ok(())
        }
        Command::Backup { file, common } => {
            let mut config = Config::load(&common, None, "fahuo-data")?;
            config.log = "warn".into();
            config::init_logging(&config);
            let url = config.database_url();
            if backup::sqlite_path(&url).is_none() {
                bail!(
                    "{}",
                    backup::postgres_advice(&fahuo_store::redact_url(&url), &file)
                );
            }
            let store = open_store(&config).await?;
            let info = backup::backup(&store, &file).await?;
            store.close().await;
            println!(
                "backed up {} to {} (schema {}, {} tenants, {} orders); keep {} with it",
                fahuo_store::redact_url(&url),
                file.display(),
                info.schema_version,
                info.tenants,
                info.orders,
                config.pii_key_file().display()
            );
            Ok(())
        }
        Command::Restore { file, common } => {
            let mut config = Config::load(&common, None, "fahuo-data")?;
            config.log = "warn".into();
            config::init_logging(&config);
            let url = config.database_url();
            let Some(db) = backup::sqlite_path(&url) else {
                bail!(
                    "{}",
                    backup::postgres_advice(&fahuo_store::redact_url(&url), &file)
                );
            };
            let restored = backup::restore(&file, &db, chrono::Utc::now()).await?;
            let info = &restored.info;
            println!(
                "restored {} into {} (schema {}, {} tenants, {} orders){}",
                file.display(),
                db.display(),
                info.schema_version,
                info.tenants,
                info.orders,
                restored
                    .previous
                    .map(|p| format!("; the replaced database is kept as {}", p.display()))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::Tenant(TenantCommand::Add { name, common }) => {
            let app = cli_app(&common).await?;
            let tenant = app.create_tenant(&Name::parse(&name)?).await?;
            println!("{}", tenant.id);
            Ok(())
        }
        Command::Tenant(TenantCommand::List { common }) => {
            let app = cli_app(&common).await?;
            for t in app.tenants().await? {
                println!("{}\t{}", t.id, t.name);
            }
            Ok(())
        }
        Command::User(UserCommand::Add {
            username,
            role,
            display_name,
            tenant,
            password_stdin,
            common,
        }) => {
            let app = cli_app(&common).await?;
            let username = Username::parse(&username)?;
            let role = Role::parse(&role)?;
            let password = Password::parse(&read_password(password_stdin)?)?;
            let tenant = app.resolve_cli_tenant(tenant.map(TenantId)).await?;
            let user = app
                .add_user(
                    &Actor::cli(tenant),
                    UserInput {
                        username,
                        display_name,
                        role,
                        password,
                    },
                )
                .await?;
            println!(
                "added user {} (id {}, role {}) to tenant {}",
                user.username,
                user.id,
                user.role.as_str(),
                tenant
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", fahuo_server::openapi_json());
            Ok(())
        }
        Command::Orders(OrdersCommand::Import {
            file,
            shop,
            tenant,
            commit,
            only_if_clean,
            json,
            common,
        }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let app = cli_app(&common).await?;
            let actor = Actor::cli(app.resolve_cli_tenant(tenant.map(TenantId)).await?);
            let report = if commit {
                app.commit_import(&actor, shop, &bytes, only_if_clean).await
            } else {
                app.preview_import(&actor, shop, &bytes).await
            };
            let report = match report {
                Ok(r) => r,
                Err(fahuo_app::AppError::Import(e)) => bail!("{}\n{e}", e.message_zh()),
                Err(fahuo_app::AppError::NotFound) => {
                    bail!("找不到店铺 {shop} / shop {shop} not found in this tenant")
                }
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", import_table(&report));
            }
            if report.summary.rows_failed > 0 {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Import(ImportCommand::Shipments {
            file,
            apply,
            resume,
            no_send,
            result,
            tenant,
            json,
            common,
        }) => {
            let app = cli_app(&common).await?;
            let actor = Actor::cli(app.resolve_cli_tenant(tenant.map(TenantId)).await?);
            let (id, refused) = match (resume, file) {
                (Some(id), _) => (fahuo_domain::ShipmentImportId(id), 0),
                (None, Some(file)) => {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    let preview = match app.preview_shipment_import(&actor, name, &bytes).await {
                        Ok(p) => p,
                        Err(fahuo_app::AppError::Import(e)) => bail!("{}\n{e}", e.message_zh()),
                        Err(e) => return Err(e.into()),
                    };
                    if json {
                        println!("{}", serde_json::to_string_pretty(&preview)?);
                    } else {
                        print!("{}", fahuo_cli::shipments::preview_table(&preview));
                    }
                    (preview.import.id, preview.refused.values().sum::<usize>())
                }
                (None, None) => bail!("give a file or --resume IMPORT_ID"),
            };
            let mut failed = refused;
            if apply || resume.is_some() {
                let counts = fahuo_cli::shipments::apply(
                    &app,
                    &actor,
                    id,
                    !no_send,
                    std::time::Duration::from_secs(3600),
                )
                .await?;
                println!(
                    "import {id}: {}",
                    counts
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                failed = ["skipped", "failed", "conflict"]
                    .iter()
                    .map(|k| counts.get(*k).copied().unwrap_or(0))
                    .sum();
            }
            if let Some(out) = result {
                fahuo_cli::shipments::write_result(&app, &actor, id, &out).await?;
                println!("wrote {}", out.display());
            }
            if failed > 0 {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Stock(StockCommand::Export {
            out,
            tenant,
            common,
        }) => {
            let app = cli_app(&common).await?;
            let actor = Actor::cli(app.resolve_cli_tenant(tenant.map(TenantId)).await?);
            let bytes = app.export_stock(&actor).await?;
            std::fs::write(&out, &bytes)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::Stock(StockCommand::Import {
            file,
            apply,
            tenant,
            json,
            common,
        }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let app = cli_app(&common).await?;
            let actor = Actor::cli(app.resolve_cli_tenant(tenant.map(TenantId)).await?);
            let report = match app.import_stock_count(&actor, &bytes, apply).await {
                Ok(r) => r,
                Err(fahuo_app::AppError::Import(e)) => bail!("{}\n{e}", e.message_zh()),
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", fahuo_cli::stock::count_table(&report));
            }
            if report.summary.refused > 0 {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Address(AddressCommand::Parse) => {
            fahuo_address::parse_lines(std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(())
        }
        Command::Tracking(TrackingCommand::Detect) => {
            let summary = fahuo_carriers::tracking_no::detect_lines(
                std::io::stdin().lock(),
                std::io::stdout().lock(),
            )?;
            if summary.failed > 0 {
                eprintln!(
                    "{} of {} lines are not tracking numbers",
                    summary.failed, summary.lines
                );
            }
            Ok(())
        }
        Command::Labels(LabelsCommand::Sample {
            count,
            size,
            seed,
            out,
        }) => {
            let size: fahuo_labels::LabelSize = size.parse()?;
            let rendered = fahuo_labels::render_sample_pdf(count, size, seed)?;
            std::fs::write(&out, &rendered.pdf)
                .with_context(|| format!("cannot write {}", out.display()))?;
            for report in &rendered.reports {
                println!("{}", report.waybill_no);
            }
            Ok(())
        }
        Command::Bench(BenchCommand::Intake {
            orders,
            fault_rate,
            calls_per_second,
            common,
        }) => {
            let scratch = tempfile::tempdir()?;
            let mut config = bench_config(common, scratch.path())?;
            config.app.sync_initial_lookback_hours = 24 * 4;
            config.app.platform_timeout_millis = 1_000;
            if let Some(rate) = calls_per_second {
                config.app.platform_calls_per_second = rate;
            }
            let app = open_app(&config).await?;
            let rows = bench::intake(&app, orders, fault_rate).await?;
            println!(
                "{} orders per platform, fault rate {fault_rate}, {} calls/s per shop, {}",
                orders,
                config.app.platform_calls_per_second,
                fahuo_store::redact_url(&config.database_url())
            );
            print!("{}", bench::intake_table(&rows));
            app.store().close().await;
            Ok(())
        }
        Command::Bench(BenchCommand::Pipeline {
            orders,
            wrk_seconds,
            time_limit,
            common,
        }) => {
            let scratch = tempfile::tempdir()?;
            let mut common = common;
            if common.database_url.is_none() && common.data_dir.is_none() {
                common.data_dir = Some(scratch.path().to_path_buf());
            }
            let mut config = Config::load(&common, None, "fahuo-bench")?;
            config.log = "warn,fahuo_cli::headless=info".into();
            config::init_logging(&config);
            let app = open_app(&config).await?;
            let wrk = fahuo_cli::bench_wrk::LoadSettings {
                duration: std::time::Duration::from_secs(wrk_seconds),
                ..Default::default()
            };
            let mut run = fahuo_cli::headless::HeadlessOptions::new(orders);
            run.time_limit = std::time::Duration::from_secs(time_limit);
            let server = server_process(&config, &common);
            let result =
                fahuo_cli::bench_pipeline::pipeline(app.store().clone(), &app, &server, &run, &wrk)
                    .await?;
            println!("{}", serde_json::to_string(&result)?);
            app.store().close().await;
            // A run that lost or doubled an order (or ran out of time) measured nothing.
            anyhow::ensure!(
                result.run.ok,
                "not every order ended where expected, exactly once (see the JSON line)"
            );
            Ok(())
        }
        Command::Bench(BenchCommand::Waybills {
            calls,
            packages,
            calls_per_second,
            common,
        }) => {
            let scratch = tempfile::tempdir()?;
            let mut config = bench_config(common, scratch.path())?;
            if let Some(rate) = calls_per_second {
                config.app.waybill_calls_per_second = rate;
            }
            let app = open_app(&config).await?;
            let rows = bench::waybills(&app, calls, packages).await?;
            println!(
                "{}, {} e-waybill calls/s per account",
                fahuo_store::redact_url(&config.database_url()),
                config.app.waybill_calls_per_second
            );
            print!("{}", bench::waybill_table(&rows));
            app.store().close().await;
            Ok(())
        }
        Command::Bench(BenchCommand::Review { orders, common }) => {
            let scratch = tempfile::tempdir()?;
            let config = bench_config(common, scratch.path())?;
            let app = open_app(&config).await?;
            let row = bench::review(&app, orders).await?;
            println!(
                "{}, {} orders reviewed {} at a time",
                fahuo_store::redact_url(&config.database_url()),
                orders,
                config.app.job_concurrency
            );
            print!("{}", bench::review_table(&row));
            app.store().close().await;
            Ok(())
        }
        Command::Bench(BenchCommand::Ship { rows, common }) => {
            let scratch = tempfile::tempdir()?;
            let mut config = bench_config(common, scratch.path())?;
            // The emulators answer at once; fahuo's own per-shop limit would be the figure.
            config.app.platform_calls_per_second = 0.0;
            let app = open_app(&config).await?;
            let row = fahuo_cli::bench_ship::ship(&app, rows).await?;
            println!(
                "{}, {} rows, {} write-backs at a time",
                fahuo_store::redact_url(&config.database_url()),
                rows,
                config.app.job_concurrency
            );
            print!("{}", fahuo_cli::bench_ship::ship_table(&row));
            app.store().close().await;
            Ok(())
        }
        Command::Bench(BenchCommand::OrderList {
            orders,
            runs,
            common,
        }) => {
            let scratch = tempfile::tempdir()?;
            let config = bench_config(common, scratch.path())?;
            let app = open_app(&config).await?;
            println!("{}", fahuo_store::redact_url(&config.database_url()));
            let rows = fahuo_cli::bench_list::run(&app, orders, runs).await?;
            app.store().close().await;
            let slow: Vec<_> = rows.iter().filter(|r| r.p99_ms >= 100.0).collect();
            if !slow.is_empty() {
                bail!(
                    "{} combinations have a p99 of 100 ms or more: {}",
                    slow.len(),
                    slow.iter()
                        .map(|r| r.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
        Command::Bench(BenchCommand::OrderListLoad {
            orders,
            seconds,
            common,
        }) => {
            let scratch = tempfile::tempdir()?;
            let config = bench_config(common.clone(), scratch.path())?;
            let app = open_app(&config).await?;
            let settings = fahuo_cli::bench_wrk::LoadSettings {
                duration: std::time::Duration::from_secs(seconds),
                ..Default::default()
            };
            let (fx, samples) = fahuo_cli::bench_wrk::seed(&app, orders).await?;
            let server = server_process(&config, &common);
            let report =
                fahuo_cli::bench_wrk::load(&app, &server, &fx, &samples, orders, &settings).await?;
            app.store().close().await;
            println!(
                "{}, wrk -t{} -c{} -d{}s, served by `fahuo serve --no-jobs`",
                fahuo_store::redact_url(&config.database_url()),
                settings.threads,
                settings.connections,
                seconds,
            );
            print!("{}", report.table());
            Ok(())
        }
        Command::Sim(args) => {
            if !(0.0..=1.0).contains(&args.fault_rate) {
                bail!("--fault-rate is a share between 0.0 and 1.0");
            }
            let mut config = fahuo_sim::SimConfig::new(args.seed, args.orders);
            config.fault_rate = args.fault_rate;
            fahuo_sim::serve(config, args.listen).await?;
            Ok(())
        }
    }
}

/// The import report as a merchant reads it: what was read, the counts, then every row in
/// error (row number as in Excel, column, message in Chinese and English).
fn import_table(r: &fahuo_app::import::ImportReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let s = &r.summary;
    let what = match (r.mode, r.committed) {
        ("preview", _) => "预览 preview (nothing stored)",
        (_, true) => "导入 commit",
        (_, false) => "未导入 not committed: the file has errors and --only-if-clean was given",
    };
    let _ = writeln!(out, "{what}");
    let _ = writeln!(
        out,
        "file: {}{}{}, header row {}, address {}",
        match r.format {
            fahuo_app::import::FileFormat::Xlsx => "xlsx",
            fahuo_app::import::FileFormat::Csv => "csv",
        },
        r.encoding.map(|e| format!(" {e}")).unwrap_or_default(),
        r.sheet
            .as_deref()
            .map(|n| format!(" sheet {n}"))
            .unwrap_or_default(),
        r.header_row,
        if r.address_parsed {
            "parsed from one column"
        } else {
            "in columns"
        },
    );
    if !r.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "ignored columns 忽略的列: {}",
            r.ignored_columns.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "rows 行: {} ({} ok, {} failed)   orders 订单: {}   {} {}   failed 失败: {}   already imported 已导入: {}",
        s.rows,
        s.rows_ok,
        s.rows_failed,
        s.orders,
        if r.mode == "preview" {
            "new 可导入:"
        } else {
            "created 已创建:"
        },
        if r.mode == "preview" { s.ok } else { s.created },
        s.failed,
        s.duplicates,
    );
    let problems: Vec<_> = r
        .rows
        .iter()
        .flat_map(|row| {
            row.errors
                .iter()
                .map(move |e| (row, "error", e))
                .chain(row.warnings.iter().map(move |w| (row, "warning", w)))
        })
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nrow 行\torder 订单号\tcolumn 列\tkind\tmessage 说明");
        for (row, kind, e) in problems {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{kind}\t{} ({})",
                row.row,
                row.order_no.as_deref().unwrap_or("-"),
                e.column.as_deref().unwrap_or("-"),
                e.message_zh,
                e.message,
            );
        }
    }
    out
}

fn read_password(from_stdin: bool) -> Result<String> {
    if let Ok(pw) = std::env::var("FAHUO_USER_PASSWORD") {
        return Ok(pw);
    }
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Repeat:   ")?;
    if first != again {
        bail!("the passwords differ");
    }
    Ok(first)
}

async fn open_store(config: &Config) -> Result<Store> {
    create_private_dir(&config.data_dir)?;
    let keys = Keyring::load_or_create(&config.pii_key_file())?;
    let url = config.database_url();
    backup::hold_shared_lock(&url)?;
    Store::open(&url, keys)
        .await
        .with_context(|| format!("cannot open database {}", fahuo_store::redact_url(&url)))
}

/// The data directory holds the PII key: readable by its owner only.
fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

async fn open_app(config: &Config) -> Result<App> {
    let store = open_store(config).await?;
    Ok(App::new(store, Arc::new(SystemClock), config.app.clone()))
}

/// A bench command's configuration, logging warnings only: a throw-away SQLite database in
/// `scratch` unless a database or data directory is given.
fn bench_config(mut common: CommonArgs, scratch: &std::path::Path) -> Result<Config> {
    if common.database_url.is_none() && common.data_dir.is_none() {
        common.data_dir = Some(scratch.to_path_buf());
    }
    let mut config = Config::load(&common, None, "fahuo-bench")?;
    config.log = "warn".into();
    config::init_logging(&config);
    Ok(config)
}

/// The `fahuo serve` process a load bench measures: this configuration's database and data
/// directory (its keys), and the configuration file given, if any.
fn server_process(config: &Config, common: &CommonArgs) -> fahuo_cli::bench_wrk::ServerProcess {
    fahuo_cli::bench_wrk::ServerProcess {
        data_dir: config.data_dir.clone(),
        database_url: config.database_url(),
        config: common.config.clone(),
    }
}

/// An app for one-shot commands, logging warnings only.
async fn cli_app(common: &CommonArgs) -> Result<App> {
    let mut config = Config::load(common, None, "fahuo-data")?;
    config.log = "warn".into();
    config::init_logging(&config);
    open_app(&config).await
}

/// Called once the server listens, with its address.
type OnListening = Box<dyn FnOnce(std::net::SocketAddr) + Send>;

async fn serve(
    app: App,
    config: &Config,
    jobs: bool,
    banner: Option<String>,
    on_listening: Option<OnListening>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = jobs.then(|| {
        let runner = JobRunner::with_all_jobs(app.clone(), &config.node_name);
        let mut stop = stop_rx.clone();
        tokio::spawn(runner.run_until(async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    });
    println!("fahuo is serving http://{addr}");
    if let Some(banner) = banner {
        println!("{banner}");
    }
    tracing::info!(%addr, jobs, "serving");
    let mut stop = stop_rx.clone();
    let server = tokio::spawn(fahuo_server::serve(
        app.clone(),
        config.http.clone(),
        listener,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    ));
    if let Some(hook) = on_listening {
        hook(addr);
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    server.await??;
    if let Some(runner) = runner {
        runner.await?;
    }
    app.store().close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
