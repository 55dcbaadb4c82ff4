//! Typed errors of the platform clients and of webhook verification.
//!
//! Every platform's envelope and error codes are translated by the platform modules
//! into [`PlatformError`], so callers decide on retry, re-authorisation or the exception queue
//! without knowing any platform's numbering. Messages never carry tokens, secrets or PII: the
//! platforms' own `errmsg`/`sub_msg` texts are kept (they name fields, not values).

use std::time::Duration;

/// Why a platform call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    /// The platform refused the credentials or the token (missing, invalid, expired, revoked,
    /// no permission), and a refresh did not help. Not retryable: the shop needs re-authorising.
    #[error("authorisation refused by the platform ({code}): {msg}")]
    Auth { code: String, msg: String },
    /// The platform asked us to slow down. Retryable after `retry_after` (when it said) or a backoff.
    #[error("rate limited by the platform ({code})")]
    RateLimited {
        code: String,
        retry_after: Option<Duration>,
    },
    /// 5xx, timeout, connection failure, "system busy": retryable.
    #[error("transient platform failure: {0}")]
    Transient(String),
    /// The daily PII-decryption quota is used up. Not retried in a loop: it resets tomorrow.
    #[error("PII decryption quota exhausted ({code}): {msg}")]
    DecryptQuota { code: String, msg: String },
    /// The carrier account has no e-waybill numbers left. Not retryable on this account: top
    /// it up, or fail over to another.
    #[error("no waybill balance left on the account ({code}): {msg}")]
    NoBalance { code: String, msg: String },
    /// The platform rejected the request (bad argument, unknown order, business rule).
    #[error("platform rejected the request ({code}): {msg}")]
    Invalid { code: String, msg: String },
    /// The platform says the order (or these lines) already shipped with another carrier/number.
    /// Not retryable: a person decides (change the shipment, or ship what is left).
    #[error(
        "already shipped with another number: {}",
        crate::ship::ShippedParcel::list(shipped)
    )]
    ShipConflict {
        shipped: Vec<crate::ship::ShippedParcel>,
    },
    /// The response did not have the documented shape (not JSON, missing fields, wrong types).
    #[error("malformed platform response: {0}")]
    Protocol(String),
    /// The caller's configuration cannot work (empty base URL, missing app key, bad window).
    #[error("configuration: {0}")]
    Config(String),
    /// The platform or service offers no API for this (e.g. messaging a Douyin buyer, kuaidi100
    /// pickup booking). Not retryable: the caller takes another way (SMS, another account).
    #[error("not supported: {0}")]
    Unsupported(String),
}

impl PlatformError {
    /// Whether the same call may succeed if simply tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PlatformError::RateLimited { .. } | PlatformError::Transient(_)
        )
    }

    /// Whether the shop's authorisation is the problem (mark the shop `auth_failed`).
    pub fn is_auth(&self) -> bool {
        matches!(self, PlatformError::Auth { .. })
    }

    pub(crate) fn protocol(what: impl Into<String>) -> Self {
        PlatformError::Protocol(what.into())
    }
}

/// Why a webhook request was refused. Each variant is a stored reason, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// This shop's credentials lack what the platform signs with (see the crate docs).
    #[error("webhook secret not configured: {0}")]
    NotConfigured(String),
    /// A required header or query parameter is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The signature does not match: tampered, forged, or signed with another secret.
    #[error("signature mismatch")]
    BadSignature,
    /// The message is for another app or shop than the one these credentials belong to.
    #[error("message addressed to another app")]
    WrongRecipient,
    /// The body could not be decoded (not JSON, bad base64, bad padding, bad length).
    #[error("malformed body: {0}")]
    Malformed(String),
    /// The signed timestamp is outside the accepted window ([`crate::webhook::PushWindow`]):
    /// a captured push replayed, one held back too long, or clocks too far apart.
    /// `offset_secs` is the timestamp minus the receiver's clock.
    #[error(
        "signed timestamp {offset_secs:+} s from this server's clock, outside the accepted -{max_age_secs} s..+{max_ahead_secs} s"
    )]
    Stale {
        offset_secs: i64,
        max_age_secs: u64,
        max_ahead_secs: u64,
    },
    /// The platform cannot push to this kind of shop (e.g. `Platform::Manual`).
    #[error("platform {0} has no webhooks")]
    Unsupported(&'static str),
}
