//! SMS gateway emulator: Aliyun Dysmsapi `SendSms` over the Alibaba Cloud RPC protocol, at
//! `GET|POST http://ADDR/sms` (the real endpoint is `https://dysmsapi.aliyuncs.com/`).
//!
//! Signature (Alibaba Cloud "签名机制", https://help.aliyun.com/document_detail/28839.html):
//!
//! 1. Sort every request parameter except `Signature` by name; percent-encode each name and
//!    value as UTF-8 where `A-Z a-z 0-9 - _ . ~` stay as they are and everything else becomes
//!    `%XY` (upper-case hex; a space is `%20`, not `+`); join as `name=value` with `&`.
//! 2. `StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(canonicalized)`.
//! 3. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`.
//!
//! Parameters are read from the query string and, for `POST`, from a form body as well; the
//! method signed is the method used. The emulator also refuses a `SignatureNonce` seen before and
//! a `Timestamp` (ISO 8601 UTC, `YYYY-MM-DDThh:mm:ssZ`) more than 15 minutes from the sim clock.
//!
//! Answers: `{"Code":"OK","Message":"OK","BizId":..,"RequestId":..}`; business errors are HTTP
//! 200 with `Code` = `isv.MOBILE_NUMBER_ILLEGAL`, `isv.TEMPLATE_MISSING_PARAMETERS`,
//! `isv.BUSINESS_LIMIT_CONTROL` (default flow control: 1 per number per minute, 5 per hour, 10
//! per day), `isv.SMS_SIGNATURE_ILLEGAL`, `isv.SMS_TEMPLATE_ILLEGAL`, `isv.INVALID_JSON_PARAM`;
//! protocol errors are HTTP 400/404 with `SignatureDoesNotMatch`, `SignatureNonceUsed`,
//! `InvalidTimeStamp.Expired`, `InvalidAccessKeyId.NotFound`, `MissingParameter`. The
//! day limit of 10 and the exact texts of the messages are UNCONFIRMED.

use crate::state::{Sim, State};
use crate::util::{Rng, ct_eq};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::Sha1;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One SMS template: `code` → text with `${var}` placeholders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsTemplate {
    pub code: String,
    pub text: String,
}

/// The Aliyun SMS account the emulator accepts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmsConfig {
    pub access_key_id: String,
    pub access_key_secret: String,
    /// Approved signatures (`SignName`).
    pub sign_names: Vec<String>,
    pub templates: Vec<SmsTemplate>,
    /// Flow control per phone number: at most this many per minute / hour / day.
    pub per_minute: usize,
    pub per_hour: usize,
    pub per_day: usize,
}

impl Default for SmsConfig {
    fn default() -> Self {
        let t = |code: &str, text: &str| SmsTemplate {
            code: code.into(),
            text: text.into(),
        };
        SmsConfig {
            access_key_id: "LTAI5tFahuoSimSms0001".into(),
            access_key_secret: "fahuoSimSmsSecret0123456789abcd".into(),
            sign_names: vec!["发货模拟小店".into()],
            templates: vec![
                t(
                    "SMS_SHIPPED",
                    "您的订单${order}已发货，${carrier}运单号${number}，请留意查收。",
                ),
                t(
                    "SMS_DELAYED",
                    "抱歉，您的订单${order}将延迟发货，预计${date}前发出，给您带来不便敬请谅解。",
                ),
                t(
                    "SMS_EXCEPTION",
                    "您的包裹${number}（${carrier}）配送异常：${reason}，我们正在处理，如有疑问请联系客服。",
                ),
            ],
            per_minute: 1,
            per_hour: 5,
            per_day: 10,
        }
    }
}

/// A message the gateway accepted, as the buyer's phone would show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsRecord {
    pub phone: String,
    pub sign_name: String,
    pub template_code: String,
    pub params: BTreeMap<String, String>,
    /// `【SignName】` + the rendered template.
    pub text: String,
    pub out_id: String,
    pub biz_id: String,
    pub request_id: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsRejection {
    pub code: String,
    pub message: String,
    pub phones: String,
    pub template_code: String,
    pub at_ms: i64,
}

/// `GET /_sim/ledger/sms`, [`crate::SimHandle::sms_snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SmsSnapshot {
    pub sent: Vec<SmsRecord>,
    pub rejected: Vec<SmsRejection>,
}

pub struct Book {
    pub sent: Vec<SmsRecord>,
    pub rejected: Vec<SmsRejection>,
    /// Nonce → when it was first seen (a nonce is refused for good once seen).
    nonces: HashMap<String, i64>,
    /// Phone → send times, for flow control.
    per_phone: HashMap<String, Vec<i64>>,
    rng: Rng,
}

impl Book {
    pub fn new(seed: u64) -> Book {
        Book {
            sent: Vec::new(),
            rejected: Vec::new(),
            nonces: HashMap::new(),
            per_phone: HashMap::new(),
            rng: Rng::new(seed ^ 0x5A5_0001),
        }
    }

    pub fn snapshot(&self) -> SmsSnapshot {
        SmsSnapshot {
            sent: self.sent.clone(),
            rejected: self.rejected.clone(),
        }
    }
}

/// RFC 3986 percent-encoding as the signature mechanism defines it.
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

/// The string to sign for `method` and the parameters (`Signature` is left out).
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    let canonical = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical)
    )
}

pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// `YYYY-MM-DDThh:mm:ssZ` (UTC) to unix seconds.
fn parse_utc(s: &str) -> Option<i64> {
    let local = s.strip_suffix('Z')?.replacen('T', " ", 1);
    // `parse_cn` reads Beijing time; the same wall-clock text in UTC is 8 hours later.
    crate::util::parse_cn(&local).map(|t| t + 8 * 3600)
}

fn valid_mobile(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// Fills `${var}` from `params`; the names of missing variables in `Err`.
pub fn render(text: &str, params: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
    let mut out = String::new();
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let name = &after[..j];
        match params.get(name) {
            Some(v) => out.push_str(v),
            None => missing.push(name.to_string()),
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

fn request_id(rng: &mut Rng) -> String {
    let h = format!("{:016X}{:016X}", rng.next_u64(), rng.next_u64());
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub async fn handle(
    AxState(sim): AxState<Arc<Sim>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = BTreeMap::new();
    let mut add = |bytes: &[u8]| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).unwrap_or_default();
        for (k, v) in pairs {
            params.entry(k).or_insert(v);
        }
    };
    add(query.as_deref().unwrap_or("").as_bytes());
    if method == Method::POST {
        add(&body);
    }
    let mut st = sim.lock();
    send(&sim, &mut st, method.as_str(), &params)
}

fn send(sim: &Sim, st: &mut State, method: &str, params: &BTreeMap<String, String>) -> Response {
    let cfg = &sim.cfg.sms;
    let now = st.now_ms();
    let rid = request_id(&mut st.sms.rng);
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let phones = get("PhoneNumbers").to_string();
    let template_code = get("TemplateCode").to_string();
    let err = |st: &mut State, http: StatusCode, code: &str, message: &str| {
        st.sms.rejected.push(SmsRejection {
            code: code.to_string(),
            message: message.to_string(),
            phones: phones.clone(),
            template_code: template_code.clone(),
            at_ms: now,
        });
        (
            http,
            Json(json!({ "Code": code, "Message": message, "RequestId": rid })),
        )
            .into_response()
    };
    for k in [
        "AccessKeyId",
        "Action",
        "Signature",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
    ] {
        if get(k).is_empty() {
            let msg = format!("{k} is mandatory for this action.");
            return err(st, StatusCode::BAD_REQUEST, "MissingParameter", &msg);
        }
    }
    if !ct_eq(get("AccessKeyId"), &cfg.access_key_id) {
        return err(
            st,
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    if get("SignatureMethod") != "HMAC-SHA1" || get("SignatureVersion") != "1.0" {
        return err(
            st,
            StatusCode::BAD_REQUEST,
            "InvalidSignatureMethod",
            "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0.",
        );
    }
    match parse_utc(get("Timestamp")) {
        Some(t) if (t * 1000 - now).abs() <= 15 * 60_000 => {}
        Some(_) => {
            return err(
                st,
                StatusCode::BAD_REQUEST,
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date value is expired.",
            );
        }
        None => {
            return err(
                st,
                StatusCode::BAD_REQUEST,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted (YYYY-MM-DDThh:mm:ssZ).",
            );
        }
    }
    let sts = string_to_sign(method, params);
    if !ct_eq(get("Signature"), &signature(&cfg.access_key_secret, &sts)) {
        let msg = format!(
            "Specified signature is not matched with our calculation. server string to sign is:{sts}"
        );
        return err(st, StatusCode::BAD_REQUEST, "SignatureDoesNotMatch", &msg);
    }
    // Only a correctly signed request uses up its nonce: a forgery must not block the real one.
    let nonce = get("SignatureNonce").to_string();
    if st.sms.nonces.contains_key(&nonce) {
        return err(
            st,
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    st.sms.nonces.insert(nonce, now);
    if get("Action") != "SendSms" {
        let msg = format!("Specified api is not found: {}", get("Action"));
        return err(st, StatusCode::NOT_FOUND, "InvalidAction.NotFound", &msg);
    }
    if get("Version") != "2017-05-25" {
        return err(
            st,
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        );
    }
    let ok = StatusCode::OK;
    let numbers: Vec<String> = phones
        .split(',')
        .map(|p| p.trim().trim_start_matches("+86").to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if numbers.is_empty() || !numbers.iter().all(|p| valid_mobile(p)) {
        return err(st, ok, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
    }
    let sign_name = get("SignName");
    if !cfg.sign_names.iter().any(|s| s == sign_name) {
        return err(
            st,
            ok,
            "isv.SMS_SIGNATURE_ILLEGAL",
            "签名不合法(不存在或被拉黑)",
        );
    }
    let Some(tpl) = cfg.templates.iter().find(|t| t.code == template_code) else {
        return err(
            st,
            ok,
            "isv.SMS_TEMPLATE_ILLEGAL",
            "模板不合法(不存在或被拉黑)",
        );
    };
    let vars: BTreeMap<String, String> = match get("TemplateParam") {
        "" => BTreeMap::new(),
        s => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect(),
            _ => {
                return err(
                    st,
                    ok,
                    "isv.INVALID_JSON_PARAM",
                    "JSON参数不合法，只接受字符串值",
                );
            }
        },
    };
    let text = match render(&tpl.text, &vars) {
        Ok(t) => format!("【{sign_name}】{t}"),
        Err(missing) => {
            let msg = format!("模板缺少变量: {}", missing.join(","));
            return err(st, ok, "isv.TEMPLATE_MISSING_PARAMETERS", &msg);
        }
    };
    for p in &numbers {
        let times = st.sms.per_phone.entry(p.clone()).or_default();
        times.retain(|t| now - t < 86_400_000);
        let within = |ms: i64| times.iter().filter(|t| now - **t < ms).count();
        let limited = if within(60_000) >= cfg.per_minute {
            Some(format!("触发分钟级流控Permits:{}", cfg.per_minute))
        } else if within(3_600_000) >= cfg.per_hour {
            Some(format!("触发小时级流控Permits:{}", cfg.per_hour))
        } else if times.len() >= cfg.per_day {
            Some(format!("触发天级流控Permits:{}", cfg.per_day))
        } else {
            None
        };
        if let Some(msg) = limited {
            return err(st, ok, "isv.BUSINESS_LIMIT_CONTROL", &msg);
        }
    }
    let biz_id = format!(
        "{}^{}",
        st.sms.rng.range(100_000_000_000_000, 999_999_999_999_999),
        st.sms.rng.below(10)
    );
    for p in numbers {
        st.sms.per_phone.entry(p.clone()).or_default().push(now);
        st.sms.sent.push(SmsRecord {
            phone: p,
            sign_name: sign_name.to_string(),
            template_code: template_code.clone(),
            params: vars.clone(),
            text: text.clone(),
            out_id: get("OutId").to_string(),
            biz_id: biz_id.clone(),
            request_id: rid.clone(),
            at_ms: now,
        });
    }
    Json(json!({ "Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": rid }))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_the_rfc3986_rule() {
        assert_eq!(percent_encode("a b*~/"), "a%20b%2A~%2F");
        assert_eq!(percent_encode("发"), "%E5%8F%91");
    }

    #[test]
    fn templates_render_and_name_what_is_missing() {
        let mut p = BTreeMap::new();
        p.insert("order".to_string(), "123".to_string());
        assert_eq!(render("单${order}好", &p), Ok("单123好".to_string()));
        assert_eq!(render("${order}${x}", &p), Err(vec!["x".to_string()]));
    }

    #[test]
    fn utc_timestamps() {
        assert_eq!(parse_utc("1970-01-01T00:00:10Z"), Some(10));
        assert_eq!(parse_utc("1970-01-01 00:00:10"), None);
    }
}
