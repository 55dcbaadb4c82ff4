//! E-waybill (电子面单) clients: asking a carrier account for a tracking number, recycling it,
//! and reading the account's balance, over kuaidi100, kdniao or WeChat Shop's own service.
//!
//! The wire protocols are in `crates/fahuo-carriers/WAYBILL-PROTOCOLS.md`. Every number is asked
//! for under a **request key** unique to one package on one account: the service answers a
//! repeated key with the number it issued the first time, so a retry after a timeout or a crash
//! never yields a second number. Callers store the key before the first call
//! ([`WaybillClient::service_key`]: WeChat's key comes from `order/precreate`, the aggregators'
//! is the caller's own) and reuse it for every retry.
//!
//! A returned number is checked against the carrier's own format rules
//! ([`fahuo_carriers::validate`]): a service that answers with a number of the wrong shape is a
//! protocol error, not a label.

pub(crate) mod kdniao;
mod kuaidi100;
mod wechat;

use crate::caller::Caller;
use crate::client::{ClientOptions, PlatformClient};
use crate::error::PlatformError;
use fahuo_carriers::{Carrier, CodeSystem};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub use fahuo_domain::fulfilment::WaybillService;

/// What an account signs and identifies itself with. The fields mean different things per
/// service (see the table); secrets are stored encrypted by the caller.
///
/// | field | kuaidi100 | kdniao | WeChat e-waybill |
/// |---|---|---|---|
/// | `api_key` | `key` | `EBusinessID` | — (the shop's token) |
/// | `api_secret` | `secret` | `AppKey` | — |
/// | `account` | `partnerId` | `CustomerName` | `ewaybill_acct_id` |
/// | `account_secret` | `partnerKey` | `CustomerPwd` | — |
/// | `site` | `net` | `SendSite` | `site_code` |
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaybillCredentials {
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub api_secret: String,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub account_secret: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
}

impl std::fmt::Debug for WaybillCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Identifiers only; never the secrets.
        f.debug_struct("WaybillCredentials")
            .field("api_key", &self.api_key)
            .field("account", &self.account)
            .field("site", &self.site)
            .finish_non_exhaustive()
    }
}

/// One carrier account on one service.
#[derive(Debug, Clone)]
pub struct WaybillAccount {
    pub service: WaybillService,
    pub carrier: Carrier,
    /// The service's base URL without a trailing slash (an emulator's in tests). Unused for
    /// WeChat, whose calls go through the shop's client.
    pub base_url: String,
    pub credentials: WaybillCredentials,
}

/// A sender or receiver as the e-waybill services want it: plain text, already decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub mobile: String,
    pub province: String,
    pub city: String,
    pub county: String,
    /// The street and house number (everything below the county).
    pub address: String,
}

impl Contact {
    /// The whole address on one line, as kuaidi100's `printAddr` wants it.
    pub fn full_address(&self) -> String {
        let mut s = String::new();
        for part in [&self.province, &self.city, &self.county, &self.address] {
            // Municipalities repeat their name as city (上海市 上海市): print it once.
            if !part.is_empty() && !s.ends_with(part.as_str()) {
                s.push_str(part);
            }
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub count: u32,
}

/// Everything a service needs to issue a number for one package.
#[derive(Debug, Clone)]
pub struct WaybillRequest {
    pub sender: Contact,
    pub receiver: Contact,
    pub items: Vec<Item>,
    pub weight_g: Option<i64>,
    pub remark: Option<String>,
    /// The platform orders in the package (WeChat's `ec_order_list`).
    pub platform_order_ids: Vec<String>,
}

impl WaybillRequest {
    /// "马克杯×2, 围巾" — the cargo line for services that take one.
    pub fn cargo(&self) -> String {
        let mut s = String::new();
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&item.name);
            if item.count > 1 {
                s.push_str(&format!("×{}", item.count));
            }
        }
        if s.is_empty() { "商品".into() } else { s }
    }

    fn weight_kg(&self) -> Option<f64> {
        self.weight_g.map(|g| g as f64 / 1000.0)
    }
}

/// A number the service issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedWaybill {
    /// Normalised and checked against the carrier's format.
    pub tracking_no: String,
    /// 大头笔 / 三段码.
    pub sort_code: Option<String>,
    /// 集包地.
    pub hub: Option<String>,
}

/// A client for one account. `Send + Sync`; share it in an `Arc`.
pub struct WaybillClient {
    account: WaybillAccount,
    caller: Caller,
    /// WeChat accounts issue through their shop's client (its token).
    shop: Option<Arc<PlatformClient>>,
}

impl std::fmt::Debug for WaybillClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaybillClient")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl WaybillClient {
    /// `opts.timeout` is the latency budget of one request; `opts.max_attempts` how often a
    /// retryable failure is tried on this account before the caller fails over. `shop` is
    /// required for WeChat e-waybill accounts (the shop whose token issues the numbers).
    pub fn new(
        account: WaybillAccount,
        http: reqwest::Client,
        opts: &ClientOptions,
        shop: Option<Arc<PlatformClient>>,
    ) -> Result<WaybillClient, PlatformError> {
        let mut account = account;
        account.base_url = account.base_url.trim().trim_end_matches('/').to_string();
        let c = &account.credentials;
        let missing = |what: &str| Err(PlatformError::Config(format!("{what} is required")));
        match account.service {
            WaybillService::Kuaidi100 | WaybillService::Kdniao => {
                if !(account.base_url.starts_with("http://")
                    || account.base_url.starts_with("https://"))
                {
                    return Err(PlatformError::Config(
                        "base_url must be an http(s) URL".into(),
                    ));
                }
                if c.api_key.trim().is_empty() || c.api_secret.trim().is_empty() {
                    return missing("the service's key and secret");
                }
                let system = if account.service == WaybillService::Kuaidi100 {
                    CodeSystem::Kuaidi100
                } else {
                    CodeSystem::Kdniao
                };
                if account.carrier.code_in(system).code().is_none() {
                    return Err(PlatformError::Config(format!(
                        "{} has no known {} code",
                        account.carrier.code(),
                        account.service
                    )));
                }
            }
            WaybillService::WechatEwaybill => {
                if c.account.as_deref().is_none_or(|a| a.trim().is_empty()) {
                    return missing("ewaybill_acct_id (account)");
                }
                match &shop {
                    Some(s) if s.platform() == fahuo_domain::Platform::Wechat => {}
                    _ => return missing("a connected WeChat shop"),
                }
            }
        }
        let label = format!("{}:{}", account.service, account.carrier.code());
        Ok(WaybillClient {
            caller: Caller::new(label, http, opts),
            account,
            shop,
        })
    }

    pub fn account(&self) -> &WaybillAccount {
        &self.account
    }

    /// The key the service hands out for a new request, when it does: WeChat's
    /// `ewaybill_order_id` (`order/precreate`). `None`: the aggregators take a key of the
    /// caller's own. Store it before calling [`issue`](Self::issue).
    pub async fn service_key(&self, req: &WaybillRequest) -> Result<Option<String>, PlatformError> {
        match self.account.service {
            WaybillService::Kuaidi100 | WaybillService::Kdniao => Ok(None),
            WaybillService::WechatEwaybill => wechat::precreate(self, req).await.map(Some),
        }
    }

    /// The number for `key`: a new one the first time, the same one on every repeat.
    pub async fn issue(
        &self,
        key: &str,
        req: &WaybillRequest,
    ) -> Result<IssuedWaybill, PlatformError> {
        if key.trim().is_empty() {
            return Err(PlatformError::Config("empty request key".into()));
        }
        let issued = match self.account.service {
            WaybillService::Kuaidi100 => kuaidi100::issue(self, key, req).await?,
            WaybillService::Kdniao => kdniao::issue(self, key, req).await?,
            WaybillService::WechatEwaybill => wechat::issue(self, key, req).await?,
        };
        self.checked(issued)
    }

    /// Recycles the number issued under `key` (idempotent: recycling twice is fine).
    pub async fn cancel(&self, key: &str, tracking_no: &str) -> Result<(), PlatformError> {
        match self.account.service {
            WaybillService::Kuaidi100 => kuaidi100::cancel(self, key, tracking_no).await,
            WaybillService::Kdniao => kdniao::cancel(self, key, tracking_no).await,
            WaybillService::WechatEwaybill => wechat::cancel(self, key, tracking_no).await,
        }
    }

    /// Numbers left on the account, when the service says (`None`: it does not).
    pub async fn balance(&self) -> Result<Option<i64>, PlatformError> {
        match self.account.service {
            WaybillService::WechatEwaybill => wechat::balance(self).await.map(Some),
            _ => Ok(None),
        }
    }

    fn checked(&self, issued: IssuedWaybill) -> Result<IssuedWaybill, PlatformError> {
        let n = fahuo_carriers::TrackingNo::parse(&issued.tracking_no).map_err(|e| {
            PlatformError::protocol(format!("the service answered a bad number: {e}"))
        })?;
        fahuo_carriers::tracking_no::check(self.account.carrier, &n).map_err(|e| {
            PlatformError::protocol(format!(
                "the service answered a number that is not {}'s: {e}",
                self.account.carrier.code()
            ))
        })?;
        Ok(IssuedWaybill {
            tracking_no: n.as_str().to_string(),
            sort_code: issued.sort_code.filter(|s| !s.trim().is_empty()),
            hub: issued.hub.filter(|s| !s.trim().is_empty()),
        })
    }

    fn code_in(&self, system: CodeSystem) -> &'static str {
        // Checked in `new`.
        self.account
            .carrier
            .code_in(system)
            .code()
            .unwrap_or_default()
    }
}

/// How long a request may take before fahuo fails over to the next account (issue 5: 800 ms).
pub const DEFAULT_LATENCY_BUDGET: Duration = Duration::from_millis(800);

/// Client options for e-waybill calls: the latency budget as the per-request timeout, one retry
/// on the same account, short backoff (a person is waiting for the labels).
pub fn waybill_options(latency_budget: Duration) -> ClientOptions {
    ClientOptions {
        timeout: latency_budget,
        max_attempts: 2,
        rate_per_sec: 50.0,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        ..ClientOptions::default()
    }
}

/// The JSON object of an answer, or a protocol error naming what was wrong.
fn json_object(body: &[u8]) -> Result<serde_json::Value, PlatformError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| PlatformError::protocol(format!("answer is not JSON: {e}")))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(PlatformError::protocol("answer is not a JSON object"))
    }
}
