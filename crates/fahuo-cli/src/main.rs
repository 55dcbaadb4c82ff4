//! The `fahuo` binary: parses the command line and configuration, then calls the library
//! crates. No business logic lives here.

mod config;
mod progress;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use config::Config;
use fahuo_app::auth::Password;
use fahuo_app::jobs::JobRunner;
use fahuo_app::users::UserInput;
use fahuo_app::{Actor, App, SystemClock};
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
    /// Manage tenants (merchants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the OpenAPI document of the JSON API.
    Openapi,
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
    /// Manual orders to generate for the demo merchant.
    #[arg(long, default_value_t = 200)]
    orders: usize,
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
            serve(app, &config, !args.no_jobs, None).await
        }
        Command::Demo(args) => {
            let config = Config::load(
                &args.serve.common,
                args.serve.listen.as_deref(),
                "fahuo-demo",
            )?;
            config::init_logging(&config);
            let app = open_app(&config).await?;
            let mut bar = progress::Progress::new("生成演示订单 demo orders", args.orders as u64);
            let info = app
                .seed_demo(args.orders, &mut |done, _| bar.set(done as u64))
                .await?;
            bar.finish();
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
            serve(app, &config, !args.serve.no_jobs, Some(banner)).await
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

/// An app for one-shot commands, logging warnings only.
async fn cli_app(common: &CommonArgs) -> Result<App> {
    let mut config = Config::load(common, None, "fahuo-data")?;
    config.log = "warn".into();
    config::init_logging(&config);
    open_app(&config).await
}

async fn serve(app: App, config: &Config, jobs: bool, banner: Option<String>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = jobs.then(|| {
        let runner = JobRunner::new(app.clone(), &config.node_name);
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
