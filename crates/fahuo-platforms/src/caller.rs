//! Sending requests politely: the per-client rate limiter, per-request timeouts, and retries
//! with backoff. Shared by the shop clients and the e-waybill clients; knows no protocol.

use crate::client::ClientOptions;
use crate::error::PlatformError;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A request ready to send.
pub(crate) struct Outgoing {
    pub method: reqwest::Method,
    pub url: String,
    pub json_body: Option<Vec<u8>>,
    pub content_type: &'static str,
}

impl Outgoing {
    /// `POST url` with an `application/x-www-form-urlencoded` body.
    pub fn form(url: String, fields: &[(&str, &str)]) -> Outgoing {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Outgoing {
            method: reqwest::Method::POST,
            url,
            json_body: Some(body.into_bytes()),
            content_type: "application/x-www-form-urlencoded",
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Rate limit, timeout and retry policy of one client. `label` names the client in logs.
pub(crate) struct Caller {
    label: String,
    http: reqwest::Client,
    timeout: Duration,
    max_attempts: u32,
    rate_per_sec: f64,
    backoff_base: Duration,
    backoff_max: Duration,
    bucket: Mutex<Bucket>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this small lock leaves consistent data; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Caller {
    pub fn new(label: String, http: reqwest::Client, opts: &ClientOptions) -> Caller {
        Caller {
            label,
            http,
            timeout: opts.timeout,
            max_attempts: opts.max_attempts.max(1),
            rate_per_sec: opts.rate_per_sec,
            backoff_base: opts.backoff_base,
            backoff_max: opts.backoff_max,
            bucket: Mutex::new(Bucket {
                tokens: opts.rate_per_sec.max(1.0),
                last: Instant::now(),
            }),
        }
    }

    /// Calls `f` until it succeeds, fails for good, or `max_attempts` is used up.
    pub async fn retrying<T, F, Fut>(&self, what: &str, f: F) -> Result<T, PlatformError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, PlatformError>>,
    {
        let mut attempt = 1;
        loop {
            match f().await {
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let delay = self.backoff(attempt, &e);
                    tracing::debug!(client = %self.label, what, attempt, error = %e, ?delay, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    fn backoff(&self, attempt: u32, e: &PlatformError) -> Duration {
        if let PlatformError::RateLimited {
            retry_after: Some(d),
            ..
        } = e
        {
            return (*d).min(self.backoff_max);
        }
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.backoff_max);
        // "Equal jitter": half fixed, half random, so retries of many clients spread out.
        let half = exp / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Waits for the rate limiter.
    async fn acquire(&self) {
        let rate = self.rate_per_sec;
        if rate <= 0.0 {
            return;
        }
        loop {
            let wait = {
                let mut b = lock(&self.bucket);
                let now = Instant::now();
                let cap = rate.max(1.0);
                b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(cap);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one request (after the rate limiter) and returns the status and body. Transport
    /// failures (timeout, refused connection, broken body) become `Transient`.
    pub async fn send(&self, out: Outgoing) -> Result<(u16, Vec<u8>), PlatformError> {
        self.send_within(out, self.timeout).await
    }

    /// [`send`](Self::send) with another timeout (a latency budget shorter than the default).
    pub async fn send_within(
        &self,
        out: Outgoing,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), PlatformError> {
        self.acquire().await;
        let mut req = self.http.request(out.method, &out.url).timeout(timeout);
        if let Some(body) = out.json_body {
            req = req
                .header(http::header::CONTENT_TYPE, out.content_type)
                .body(body);
        }
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(transport_error)?;
        Ok((status, body.to_vec()))
    }
}

fn transport_error(e: reqwest::Error) -> PlatformError {
    // reqwest's Display can include the URL, and WeChat URLs carry the access token in the
    // query: strip it before the text goes anywhere.
    let e = e.without_url();
    if e.is_timeout() {
        PlatformError::Transient(format!("timeout: {e}"))
    } else {
        PlatformError::Transient(format!("transport: {e}"))
    }
}
