//! The per-shop client: connection, options, token state, rate limit, timeouts and retries.
//! Everything platform-specific (URLs, signing, envelopes, mapping) lives in the platform
//! modules; this file only knows how to send bytes politely and try again.

use crate::caller::Caller;
pub(crate) use crate::caller::Outgoing;
use crate::error::PlatformError;
use crate::model::{KnownReceivers, PulledOrder, SealedOrder, SyncLimits};
use crate::{douyin, wechat, xiaohongshu};
use chrono::{DateTime, Utc};
use fahuo_domain::Platform;
use fahuo_domain::catalog::ShopCredentials;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

/// Where and as whom to connect. `platform_shop_id` is the platform's id for the shop:
/// WeChat the appid (the same as `credentials.app_key`), Douyin the numeric `shop_id`,
/// Xiaohongshu the `sellerId` (filled in from the token answer when empty).
#[derive(Clone)]
pub struct Connection {
    pub platform: Platform,
    /// Without a trailing slash: `https://api.weixin.qq.com`, `https://openapi-fxg.jinritemai.com`,
    /// `https://ark.xiaohongshu.com`, or an emulator's base URL.
    pub base_url: String,
    pub platform_shop_id: String,
    pub credentials: ShopCredentials,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("platform", &self.platform)
            .field("base_url", &self.base_url)
            .field("platform_shop_id", &self.platform_shop_id)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Douyin's two documented signing methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DouyinSignMethod {
    /// The official Go SDK's default.
    HmacSha256,
    Md5,
}

/// Per-client behaviour. `Default` suits production; tests shorten the delays.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per HTTP request, connect to last byte.
    pub timeout: Duration,
    /// Tries per call for retryable failures (5xx, timeouts, rate limiting), at least 1.
    pub max_attempts: u32,
    /// Outgoing calls per second for this shop (token bucket; burst of one second's worth).
    /// `0` or less disables the limiter.
    pub rate_per_sec: f64,
    /// First retry delay; doubles per attempt, with jitter, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Detail and decryption calls in flight at once during a pull.
    pub concurrency: usize,
    /// Renew a token this long before it expires.
    pub token_refresh_margin: chrono::Duration,
    /// List page size (all three platforms cap it at 100).
    pub page_size: u32,
    /// Douyin `order.batchDecrypt` items per call. The real limit is unpublished (reference
    /// §2.4, UNCONFIRMED); 50 is a cautious default.
    pub douyin_decrypt_batch: usize,
    pub douyin_sign_method: DouyinSignMethod,
    /// WeChat: take tokens from `POST /cgi-bin/stable_token` (default; does not invalidate tokens
    /// other tools of the same app hold) instead of `GET /cgi-bin/token`.
    pub wechat_stable_token: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            max_attempts: 6,
            rate_per_sec: 20.0,
            backoff_base: Duration::from_millis(300),
            backoff_max: Duration::from_secs(20),
            concurrency: 4,
            token_refresh_margin: chrono::Duration::minutes(15),
            page_size: 100,
            douyin_decrypt_batch: 50,
            douyin_sign_method: DouyinSignMethod::HmacSha256,
            wechat_stable_token: true,
        }
    }
}

/// One client per shop. `Send + Sync`; share it in an `Arc`.
pub struct PlatformClient {
    pub(crate) platform: Platform,
    pub(crate) base_url: String,
    pub(crate) shop_id: Mutex<String>,
    pub(crate) opts: ClientOptions,
    caller: Caller,
    creds: Mutex<ShopCredentials>,
    /// Serialises token acquisition so that concurrent calls do not all refresh at once.
    token_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformClient")
            .field("platform", &self.platform)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Installs rustls's crypto provider (ring) for the process, once; later calls do nothing.
/// Every `reqwest` client in a process that links this crate needs it: reqwest's TLS backend
/// comes without a provider.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client to share between a process's [`PlatformClient`]s.
pub fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("fahuo/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds with default TLS settings")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these small locks leaves consistent data; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PlatformClient {
    pub fn new(
        conn: Connection,
        http: reqwest::Client,
        opts: ClientOptions,
    ) -> Result<Self, PlatformError> {
        if conn.platform == Platform::Manual {
            return Err(PlatformError::Config(
                "manual shops have no platform API".into(),
            ));
        }
        let base_url = conn.base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(PlatformError::Config(
                "base_url must be an http(s) URL".into(),
            ));
        }
        if conn.credentials.app_key.trim().is_empty()
            || conn.credentials.app_secret.trim().is_empty()
        {
            return Err(PlatformError::Config(
                "app key and app secret are required".into(),
            ));
        }
        if conn.platform == Platform::Douyin && conn.platform_shop_id.trim().is_empty() {
            return Err(PlatformError::Config(
                "Douyin needs the shop_id as platform_shop_id".into(),
            ));
        }
        let mut opts = opts;
        opts.max_attempts = opts.max_attempts.max(1);
        opts.concurrency = opts.concurrency.max(1);
        opts.page_size = opts.page_size.clamp(1, 100);
        opts.douyin_decrypt_batch = opts.douyin_decrypt_batch.clamp(1, 100);
        Ok(PlatformClient {
            platform: conn.platform,
            base_url,
            shop_id: Mutex::new(conn.platform_shop_id.trim().to_string()),
            caller: Caller::new(conn.platform.to_string(), http, &opts),
            opts,
            creds: Mutex::new(conn.credentials),
            token_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The platform's id for the shop (Xiaohongshu: learnt from the token answer if it was empty).
    pub fn platform_shop_id(&self) -> String {
        lock(&self.shop_id).clone()
    }

    /// Current credentials, including any token obtained or refreshed since `new`, for the
    /// caller to persist (encrypted). Compare with what was stored to know whether to save.
    pub fn credentials(&self) -> ShopCredentials {
        lock(&self.creds).clone()
    }

    pub fn sync_limits(&self) -> SyncLimits {
        match self.platform {
            Platform::Wechat => SyncLimits {
                max_window: chrono::Duration::days(7),
                overlap: chrono::Duration::minutes(2),
            },
            // The searchList window limit is unpublished (reference §7); a day keeps pages few.
            Platform::Douyin => SyncLimits {
                max_window: chrono::Duration::days(1),
                overlap: chrono::Duration::minutes(2),
            },
            Platform::Xiaohongshu => SyncLimits {
                max_window: chrono::Duration::minutes(30),
                overlap: chrono::Duration::minutes(2),
            },
            Platform::Manual => SyncLimits {
                max_window: chrono::Duration::zero(),
                overlap: chrono::Duration::zero(),
            },
        }
    }

    /// Obtains a token when there is none, or renews it when it expires within
    /// `token_refresh_margin` of `now`. Returns whether the credentials changed.
    pub async fn ensure_token(&self, now: DateTime<Utc>) -> Result<bool, PlatformError> {
        let _guard = self.token_lock.lock().await;
        let c = self.credentials();
        let fresh = c.access_token.as_deref().is_some_and(|t| !t.is_empty())
            && c.access_token_expires_at
                .is_none_or(|exp| exp - self.opts.token_refresh_margin > now);
        if fresh {
            return Ok(false);
        }
        self.obtain_token(now, false).await?;
        Ok(true)
    }

    /// After the platform refused `stale`: renew, unless another call already did.
    pub(crate) async fn renew(&self, stale: &str) -> Result<(), PlatformError> {
        let _guard = self.token_lock.lock().await;
        if self.credentials().access_token.as_deref() != Some(stale) {
            return Ok(());
        }
        self.obtain_token(Utc::now(), true).await
    }

    async fn obtain_token(&self, now: DateTime<Utc>, forced: bool) -> Result<(), PlatformError> {
        tracing::info!(platform = %self.platform, forced, "obtaining platform access token");
        match self.platform {
            Platform::Wechat => wechat::obtain_token(self, now, forced).await,
            Platform::Douyin => douyin::obtain_token(self, now).await,
            Platform::Xiaohongshu => xiaohongshu::obtain_token(self, now).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    pub(crate) fn store_token(
        &self,
        access: String,
        access_expires: Option<DateTime<Utc>>,
        refresh: Option<String>,
        refresh_expires: Option<DateTime<Utc>>,
    ) {
        let mut c = lock(&self.creds);
        c.access_token = Some(access);
        c.access_token_expires_at = access_expires;
        if let Some(r) = refresh {
            c.refresh_token = Some(r);
            c.refresh_token_expires_at = refresh_expires;
        }
    }

    pub(crate) fn clear_auth_code(&self) {
        lock(&self.creds).auth_code = None;
    }

    pub(crate) fn set_shop_id_if_empty(&self, id: &str) {
        let mut s = lock(&self.shop_id);
        if s.is_empty() {
            *s = id.to_string();
        }
    }

    /// The token to call with, obtaining or renewing it first when needed.
    pub(crate) async fn token(&self) -> Result<String, PlatformError> {
        self.ensure_token(Utc::now()).await?;
        self.credentials()
            .access_token
            .ok_or_else(|| PlatformError::protocol("token answer without a token"))
    }

    /// Runs a business call with the current token: retries retryable failures, and when the
    /// platform refuses the token, renews it once and tries again.
    pub(crate) async fn authorized<T, F, Fut>(
        &self,
        what: &str,
        token_rejected: fn(&PlatformError) -> bool,
        f: F,
    ) -> Result<T, PlatformError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, PlatformError>>,
    {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            match self.retrying(what, || f(token.clone())).await {
                Err(e) if !renewed && token_rejected(&e) => {
                    tracing::info!(platform = %self.platform, what, "token refused; renewing once");
                    renewed = true;
                    self.renew(&token).await?;
                }
                r => return r,
            }
        }
    }

    /// Calls `f` until it succeeds, fails for good, or `max_attempts` is used up.
    pub(crate) async fn retrying<T, F, Fut>(&self, what: &str, f: F) -> Result<T, PlatformError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, PlatformError>>,
    {
        self.caller.retrying(what, f).await
    }

    /// Sends one request (after the rate limiter) and returns the status and body.
    pub(crate) async fn send(&self, out: Outgoing) -> Result<(u16, Vec<u8>), PlatformError> {
        self.caller.send(out).await
    }

    /// Every order updated in `[start, end)`, receivers decrypted where they may be: as
    /// [`read_window`](Self::read_window) then [`open_receivers`](Self::open_receivers) with
    /// nothing known.
    pub async fn pull_window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<PulledOrder>, PlatformError> {
        let sealed = self.read_window(start, end).await?;
        self.open_receivers(sealed, &KnownReceivers::none()).await
    }

    /// One order, its receiver decrypted where it may be (see [`pull_window`](Self::pull_window)).
    pub async fn pull_order(&self, platform_order_id: &str) -> Result<PulledOrder, PlatformError> {
        let sealed = self.read_order(platform_order_id).await?;
        self.open_receivers(vec![sealed], &KnownReceivers::none())
            .await?
            .pop()
            .ok_or_else(|| PlatformError::protocol("order vanished while decrypting"))
    }

    /// Every order updated in `[start, end)`, receivers not decrypted yet.
    pub async fn read_window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<SealedOrder>, PlatformError> {
        if end < start {
            return Err(PlatformError::Config("window ends before it starts".into()));
        }
        match self.platform {
            Platform::Wechat => wechat::read_window(self, start, end).await,
            Platform::Douyin => douyin::read_window(self, start, end).await,
            Platform::Xiaohongshu => xiaohongshu::read_window(self, start, end).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// One order, its receiver not decrypted yet.
    pub async fn read_order(&self, platform_order_id: &str) -> Result<SealedOrder, PlatformError> {
        let id = platform_order_id.trim();
        if id.is_empty() {
            return Err(PlatformError::Config("empty order id".into()));
        }
        match self.platform {
            Platform::Wechat => wechat::read_order(self, id).await,
            Platform::Douyin => douyin::read_order(self, id).await,
            Platform::Xiaohongshu => xiaohongshu::read_order(self, id).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// Decrypts the receivers of orders this client read that may still need a label
    /// (ToShip, PartlyShipped, and Shipped where the platform allows it), except those whose
    /// fingerprint `known` holds: those come back [`ReceiverState::Unchanged`].
    ///
    /// [`ReceiverState::Unchanged`]: crate::ReceiverState::Unchanged
    pub async fn open_receivers(
        &self,
        orders: Vec<SealedOrder>,
        known: &KnownReceivers,
    ) -> Result<Vec<PulledOrder>, PlatformError> {
        match self.platform {
            Platform::Wechat => wechat::open_receivers(self, orders, known).await,
            Platform::Douyin => douyin::open_receivers(self, orders, known).await,
            Platform::Xiaohongshu => xiaohongshu::open_receivers(self, orders, known).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// Asks the platform for a later ship-by time (发货时效协商). Only WeChat Shop offers it
    /// (`order/deliverynegotiation/submit`; reason 1 buyer asked, 2 out of stock, 3 缺货保障,
    /// 4 wrong address). The platform's rules (awaiting shipment, at most 3 times, at least 4 h
    /// before the deadline) come back as `Invalid` when broken.
    pub async fn negotiate_delivery(
        &self,
        platform_order_id: &str,
        until: DateTime<Utc>,
        reason: u8,
        remark: Option<&str>,
    ) -> Result<(), PlatformError> {
        if !(1..=4).contains(&reason) {
            return Err(PlatformError::Config(
                "negotiation reason must be 1 to 4".into(),
            ));
        }
        match self.platform {
            Platform::Wechat => {
                wechat::negotiate_delivery(self, platform_order_id.trim(), until, reason, remark)
                    .await
            }
            other => Err(PlatformError::Config(format!(
                "{} offers no delivery negotiation API",
                other.as_str()
            ))),
        }
    }
}

/// Splits `[start, end)` into consecutive windows of at most `max`.
pub(crate) fn split_window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    max: chrono::Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut s = start;
    while s < end {
        let e = (s + max).min(end);
        out.push((s, e));
        s = e;
    }
    out
}

/// Unix seconds or milliseconds → instant; `0`/negative means "not set" on all three platforms.
pub(crate) fn from_secs(s: i64) -> Option<DateTime<Utc>> {
    (s > 0).then(|| DateTime::from_timestamp(s, 0)).flatten()
}

pub(crate) fn from_millis(ms: i64) -> Option<DateTime<Utc>> {
    (ms > 0)
        .then(|| DateTime::from_timestamp_millis(ms))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_split_without_gaps_or_overlap() {
        let s = DateTime::from_timestamp(1_700_000_000, 0).expect("t");
        let e = s + chrono::Duration::minutes(75);
        let w = split_window(s, e, chrono::Duration::minutes(30));
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0, s);
        assert_eq!(w[0].1, w[1].0);
        assert_eq!(w[2].1, e);
        assert!(split_window(s, s, chrono::Duration::minutes(30)).is_empty());
    }
}
