//! Configuration: defaults < TOML file < `FAHUO_*` environment < command-line flags.

use crate::CommonArgs;
use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the SQLite database, the PII key file and other state live.
    pub data_dir: PathBuf,
    /// Defaults to SQLite in the data directory.
    pub database_url: Option<String>,
    pub listen: String,
    /// The PII key file; created with fresh keys (mode 0600) if missing.
    pub pii_key_file: Option<PathBuf>,
    /// A tracing filter, e.g. `info` or `fahuo_app=debug,info` (`RUST_LOG` wins when set).
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// This node's name in job leases (several nodes may share one database).
    pub node_name: String,
    pub app: fahuo_app::Settings,
    pub http: fahuo_server::HttpSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("fahuo-data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            pii_key_file: None,
            log: "info".into(),
            log_format: "text".into(),
            node_name: std::env::var("HOSTNAME").unwrap_or_else(|_| "fahuo".into()),
            app: fahuo_app::Settings::default(),
            http: fahuo_server::HttpSettings::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(fahuo_store::redact_url),
            )
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Loads the configuration for a command whose default data directory is `default_dir`.
    pub fn load(args: &CommonArgs, listen: Option<&str>, default_dir: &str) -> Result<Config> {
        let defaults = Config {
            data_dir: PathBuf::from(default_dir),
            ..Config::default()
        };
        let data_dir_hint = args
            .data_dir
            .clone()
            .or_else(|| std::env::var_os("FAHUO_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| defaults.data_dir.clone());
        let mut figment = Figment::from(Serialized::defaults(defaults));
        match &args.config {
            Some(path) => {
                if !path.exists() {
                    anyhow::bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => {
                let implicit = data_dir_hint.join("fahuo.toml");
                if implicit.exists() {
                    figment = figment.merge(Toml::file(implicit));
                }
            }
        }
        figment = figment.merge(Env::prefixed("FAHUO_").split("__").ignore(&[
            "test_postgres_url",
            "require_postgres",
            "user_password",
        ]));
        let mut config: Config = figment.extract().context("invalid configuration")?;
        if let Some(dir) = &args.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &args.database_url {
            config.database_url = Some(url.clone());
        }
        if let Some(listen) = listen {
            config.listen = listen.to_string();
        }
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("fahuo.db").display()))
    }

    pub fn pii_key_file(&self) -> PathBuf {
        self.pii_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("pii.key"))
    }
}

/// Logs go to stderr; stdout is for results and the banner.
pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
