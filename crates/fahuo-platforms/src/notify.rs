//! Buyer notifications on the wire: an SMS gateway speaking Aliyun's Dysmsapi `SendSms`
//! protocol (RPC style, HMAC-SHA1 signature), and WeChat's customer-service message to the
//! buyer's openid. Douyin and Xiaohongshu publish no API to message a buyer; their shops
//! answer [`PlatformError::Unsupported`] and the caller falls back to SMS where it has a phone.
//!
//! Sources:
//! * Aliyun RPC signature (签名机制): <https://help.aliyun.com/document_detail/28839.html> and
//!   <https://help.aliyun.com/en/document_detail/145075.html> — sort the parameters, percent-encode
//!   names and values per RFC 3986 (`A–Z a–z 0–9 - _ . ~` kept, space `%20`), join with `&`;
//!   `StringToSign = METHOD + "&" + percentEncode("/") + "&" + percentEncode(canonical)`;
//!   `Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`. The worked example
//!   (DescribeRegions, `testid` / `testsecret`) is in <https://developer.aliyun.com/ask/210168>.
//! * `SendSms` 2017-05-25 parameters `PhoneNumbers`, `SignName`, `TemplateCode`,
//!   `TemplateParam` (JSON text), `OutId`; answer `Code` (`OK`), `Message`, `BizId`, `RequestId`.
//! * WeChat customer-service message: `POST /cgi-bin/message/custom/send?access_token=…` with
//!   `{"touser","msgtype":"text","text":{"content"}}`; allowed within 48 hours of the user's own
//!   message, else `45015` "response out of time limit or subscription is canceled"
//!   (<https://developers.weixin.qq.com/miniprogram/en/dev/framework/open-ability/customer-message/send.html>,
//!   <https://developers.weixin.qq.com/community/develop/doc/0008ea43e34c90b42fec4388d5b000>).

use crate::caller::{Caller, Outgoing};
use crate::client::{ClientOptions, PlatformClient};
use crate::error::PlatformError;
use crate::util::{json_object, nonempty, text};
use base64::Engine;
use fahuo_domain::Platform;
use hmac::{Hmac, Mac};
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
    /// When fahuo sends it, by fahuo's clock: the request's `Timestamp`. The gateway refuses
    /// one more than 15 minutes from its own clock, so it is the sender's time, never the
    /// host's wall clock behind the sender's back.
    pub at: chrono::DateTime<chrono::Utc>,
}

pub struct SmsClient {
    account: SmsAccount,
    caller: Caller,
}

impl std::fmt::Debug for SmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsClient")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl SmsClient {
    pub fn new(
        account: SmsAccount,
        http: reqwest::Client,
        opts: &ClientOptions,
    ) -> Result<SmsClient, PlatformError> {
        let mut account = account;
        account.base_url = account.base_url.trim().trim_end_matches('/').to_string();
        if !(account.base_url.starts_with("http://") || account.base_url.starts_with("https://")) {
            return Err(PlatformError::Config(
                "base_url must be an http(s) URL".into(),
            ));
        }
        if account.access_key_id.trim().is_empty() || account.access_key_secret.is_empty() {
            return Err(PlatformError::Config(
                "AccessKeyId and AccessKeySecret are required".into(),
            ));
        }
        if account.sign_name.trim().is_empty() {
            return Err(PlatformError::Config(
                "the SMS sign name is required".into(),
            ));
        }
        Ok(SmsClient {
            caller: Caller::new("sms".into(), http, opts),
            account,
        })
    }

    /// Sends one message; returns the gateway's `BizId`. Every attempt is signed anew with a
    /// fresh `SignatureNonce` (the gateway refuses a nonce it has seen) and the message's `at`
    /// as its `Timestamp`.
    pub async fn send(&self, sms: &Sms) -> Result<String, PlatformError> {
        let phone = sms.phone.trim();
        if phone.is_empty() || sms.template_code.trim().is_empty() {
            return Err(PlatformError::Config(
                "an SMS needs a phone number and a template".into(),
            ));
        }
        let template_param = serde_json::Value::Object(sms.params.clone()).to_string();
        let timestamp = sms.at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let a = &self.account;
        self.caller
            .retrying("sms SendSms", || async {
                let nonce = format!("{:032x}", fastrand::u128(..));
                let mut params = vec![
                    ("AccessKeyId", a.access_key_id.trim()),
                    ("Action", "SendSms"),
                    ("Format", "JSON"),
                    ("PhoneNumbers", phone),
                    ("RegionId", "cn-hangzhou"),
                    ("SignName", a.sign_name.trim()),
                    ("SignatureMethod", "HMAC-SHA1"),
                    ("SignatureNonce", &nonce),
                    ("SignatureVersion", "1.0"),
                    ("TemplateCode", sms.template_code.trim()),
                    ("TemplateParam", &template_param),
                    ("Timestamp", &timestamp),
                    ("Version", "2017-05-25"),
                ];
                if !sms.out_id.trim().is_empty() {
                    params.push(("OutId", sms.out_id.trim()));
                }
                let body = signed_query("POST", &params, &a.access_key_secret);
                let out = Outgoing {
                    method: reqwest::Method::POST,
                    url: format!("{}/", a.base_url),
                    json_body: Some(body.into_bytes()),
                    content_type: "application/x-www-form-urlencoded",
                };
                let (status, resp) = self.caller.send(out).await?;
                classify_sms(status, &resp)
            })
            .await
    }
}

/// RFC 3986 percent-encoding as Aliyun signs it: unreserved characters kept, everything else
/// (including space, `*` and `/`) as `%XY` in upper-case hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical query string: parameters sorted by name, names and values percent-encoded,
/// joined with `&`.
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Aliyun's RPC `Signature` of `params` (without `Signature` itself) for `method`.
pub fn rpc_signature(method: &str, params: &[(&str, &str)], access_key_secret: &str) -> String {
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{access_key_secret}&").as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The canonical query with its `Signature` appended: a ready form body (or URL query).
fn signed_query(method: &str, params: &[(&str, &str)], secret: &str) -> String {
    let sig = rpc_signature(method, params, secret);
    format!(
        "{}&Signature={}",
        canonical_query(params),
        percent_encode(&sig)
    )
}

/// `Code` → result. `OK` → the `BizId`; throttling → rate limited; key and signature problems
/// → auth; the message's own faults (number, template, sign name) → invalid; server trouble →
/// transient.
fn classify_sms(status: u16, body: &[u8]) -> Result<String, PlatformError> {
    let parsed = json_object(body);
    if status >= 500 && parsed.as_ref().map_or(true, |v| text(v, "Code").is_none()) {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    let v = parsed?;
    let code =
        nonempty(&v, "Code").ok_or_else(|| PlatformError::protocol("answer without Code"))?;
    let msg = text(&v, "Message").unwrap_or_default();
    if code == "OK" {
        return nonempty(&v, "BizId").ok_or_else(|| PlatformError::protocol("OK without BizId"));
    }
    Err(match code.as_str() {
        "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" => PlatformError::RateLimited {
            code,
            retry_after: None,
        },
        c if c.starts_with("Throttling") => PlatformError::RateLimited {
            code,
            retry_after: None,
        },
        "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "Forbidden.RAM"
        | "isp.RAM_PERMISSION_DENY" => PlatformError::Auth { code, msg },
        c if c.starts_with("InvalidAccessKeyId") => PlatformError::Auth { code, msg },
        // The nonce collided or the clock drifted: a fresh attempt is signed anew.
        "SignatureNonceUsed" | "InvalidTimeStamp.Expired" => {
            PlatformError::Transient(format!("{code}: {msg}"))
        }
        "isv.AMOUNT_NOT_ENOUGH" => PlatformError::NoBalance { code, msg },
        "isp.SYSTEM_ERROR" | "ServiceUnavailable" | "InternalError" | "isp.GATEWAY_ERROR" => {
            PlatformError::Transient(format!("{code}: {msg}"))
        }
        _ if status >= 500 => PlatformError::Transient(format!("HTTP {status} {code}: {msg}")),
        _ => PlatformError::Invalid { code, msg },
    })
}

impl PlatformClient {
    /// Sends a text to the buyer of an order through the platform, addressed by the buyer's
    /// platform identity (WeChat `openid`). Douyin and Xiaohongshu: `Unsupported`.
    ///
    /// WeChat: `40003` (not an openid of this app) and `45015` (the buyer has not written to the
    /// shop within 48 hours) are `Invalid`; `45047` (too many messages) is rate limited.
    pub async fn message_buyer(&self, buyer_openid: &str, text: &str) -> Result<(), PlatformError> {
        match self.platform {
            Platform::Wechat => {}
            other => {
                return Err(PlatformError::Unsupported(format!(
                    "{} offers no API to message a buyer",
                    other.as_str()
                )));
            }
        }
        let openid = buyer_openid.trim();
        if openid.is_empty() {
            return Err(PlatformError::Config("empty buyer openid".into()));
        }
        if text.trim().is_empty() {
            return Err(PlatformError::Config("empty message".into()));
        }
        let body = serde_json::json!({
            "touser": openid,
            "msgtype": "text",
            "text": {"content": text},
        });
        match crate::wechat::call_path(self, "cgi-bin/message/custom/send", body).await {
            Ok(_) => Ok(()),
            Err(PlatformError::Invalid { code, msg }) if code == "45015" => {
                Err(PlatformError::Invalid {
                    code,
                    msg: format!(
                        "the buyer has not written to the shop in the last 48 hours (or unfollowed), \
                         so WeChat allows no message now: {msg}"
                    ),
                })
            }
            Err(PlatformError::Invalid { code, msg }) if code == "40003" => {
                Err(PlatformError::Invalid {
                    code,
                    msg: format!("not a buyer openid of this app: {msg}"),
                })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_rfc_3986() {
        assert_eq!(percent_encode("a b*~/"), "a%20b%2A~%2F");
        assert_eq!(percent_encode("阿"), "%E9%98%BF");
        assert_eq!(percent_encode("{\"k\":1}"), "%7B%22k%22%3A1%7D");
    }

    #[test]
    fn sms_answers_map_to_typed_errors() {
        let e = |b: &str| classify_sms(200, b.as_bytes()).unwrap_err();
        assert_eq!(
            classify_sms(
                200,
                br#"{"Code":"OK","Message":"OK","BizId":"9^0","RequestId":"r"}"#
            ),
            Ok("9^0".into())
        );
        assert!(e(r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL"}"#).is_retryable());
        assert!(e(r#"{"Code":"Throttling.User"}"#).is_retryable());
        assert!(e(r#"{"Code":"SignatureDoesNotMatch"}"#).is_auth());
        assert!(e(r#"{"Code":"InvalidAccessKeyId.NotFound"}"#).is_auth());
        for c in [
            "isv.MOBILE_NUMBER_ILLEGAL",
            "isv.TEMPLATE_MISSING_PARAMETERS",
            "isv.SMS_SIGNATURE_ILLEGAL",
        ] {
            assert!(
                matches!(
                    e(&format!(r#"{{"Code":"{c}"}}"#)),
                    PlatformError::Invalid { .. }
                ),
                "{c}"
            );
        }
        assert!(classify_sms(503, b"<html>").unwrap_err().is_retryable());
        assert!(matches!(e(r#"{"Code":"OK"}"#), PlatformError::Protocol(_)));
        assert!(matches!(e("[]"), PlatformError::Protocol(_)));
    }
}
