//! Buyer notifications on the wire: an SMS gateway speaking Aliyun's Dysmsapi `SendSms`
//! protocol (RPC style, HMAC-SHA1 signature), and WeChat's customer-service message to the
//! buyer's openid. Douyin and Xiaohongshu publish no API to message a buyer; their shops
//! answer [`PlatformError::Unsupported`] and the caller falls back to SMS where it has a phone.
#![allow(unused_variables, dead_code)] // skeleton: removed when the bodies are written

use crate::caller::Caller;
use crate::client::{ClientOptions, PlatformClient};
use crate::error::PlatformError;
use serde::{Deserialize, Serialize};

/// An SMS gateway account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsAccount {
    /// Base URL without a trailing slash (`https://dysmsapi.aliyuncs.com`, an emulator's in tests).
    pub base_url: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The approved signature (签名) shown in front of every message, e.g. "fahuo小店".
    pub sign_name: String,
}

impl std::fmt::Debug for SmsAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsAccount")
            .field("base_url", &self.base_url)
            .field("access_key_id", &self.access_key_id)
            .field("sign_name", &self.sign_name)
            .finish_non_exhaustive()
    }
}

/// One SMS to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// An 11-digit mainland mobile number.
    pub phone: String,
    /// The gateway's approved template (e.g. `SMS_0001`).
    pub template_code: String,
    /// The template's variables.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// fahuo's own id for the message (`OutId`), for the gateway's receipts.
    pub out_id: String,
}

pub struct SmsClient {
    account: SmsAccount,
    caller: Caller,
}

impl SmsClient {
    pub fn new(
        account: SmsAccount,
        http: reqwest::Client,
        opts: &ClientOptions,
    ) -> Result<SmsClient, PlatformError> {
        todo!()
    }

    /// Sends one message; returns the gateway's `BizId`.
    pub async fn send(&self, sms: &Sms) -> Result<String, PlatformError> {
        todo!()
    }
}

impl PlatformClient {
    /// Sends a text to the buyer of an order through the platform, addressed by the buyer's
    /// platform identity (WeChat `openid`). Douyin and Xiaohongshu: `Unsupported`.
    pub async fn message_buyer(&self, buyer_openid: &str, text: &str) -> Result<(), PlatformError> {
        todo!()
    }
}
