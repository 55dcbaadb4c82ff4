//! Fuzz target: `verify_webhook` never panics on any request, for every platform — neither on
//! raw bytes (refused at the signature) nor on correctly signed garbage, which reaches the
//! decoders (WeChat base64/AES/padding/layout/JSON, Douyin and Xiaohongshu JSON arrays), nor on
//! a correctly encrypted and signed WeChat message, which reaches the parser of the decrypted
//! order and after-sale events. Every request then goes through `check_push_time` at clocks
//! out to chrono's earliest and latest instants and with windows up to `Duration::MAX`, which
//! must never panic either, whatever the timestamp text (seconds, milliseconds, junk, past
//! `i64`).
//!
//! Input: first byte = mode (`% 3` the platform; `0x80` sign it; with `0x80`, for WeChat, `0x40`
//! encrypt the body as the message), then header lines `0xff` query `0xff` body. With `0x80`
//! (WeChat and Xiaohongshu) the query part, when not empty, is the timestamp that gets signed;
//! otherwise the signed timestamp is `1`.

#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use fahuo_platforms::{
    Platform, PushWindow, ShopCredentials, WebhookError, WebhookMessage, WebhookRequest,
    check_push_time, douyin, verify_webhook, wechat, xiaohongshu,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn creds() -> ShopCredentials {
    ShopCredentials {
        app_key: "wxfuzzappid".into(),
        app_secret: "fuzz-secret".into(),
        webhook_secret: Some(
            wechat::WechatPushKeys {
                token: "fuzztoken".into(),
                encoding_aes_key: AES_KEY.into(),
                appid: None,
            }
            .to_secret(),
        ),
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // Three parts separated by 0xff: header bytes, query, body.
    let mut parts = rest.splitn(3, |b| *b == 0xff);
    let head = parts.next().unwrap_or_default();
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default().to_vec();
    let creds = creds();
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        if let Some(i) = line.iter().position(|b| *b == b':')
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(&line[..i]),
                HeaderValue::from_bytes(&line[i + 1..]),
            )
        {
            headers.append(n, v);
        }
    }
    let platform = match mode % 3 {
        0 => Platform::Wechat,
        1 => Platform::Douyin,
        _ => Platform::Xiaohongshu,
    };
    let signed = mode & 0x80 != 0;
    let stamp = if query.is_empty() {
        "1".to_string()
    } else {
        query.clone()
    };
    let (query, body) = if signed {
        match platform {
            Platform::Wechat => {
                // The body bytes become the `Encrypt` value (or, with 0x40, the message it
                // encrypts), correctly signed.
                let text = String::from_utf8_lossy(&body).into_owned();
                let enc = if mode & 0x40 != 0 {
                    wechat::encrypt_message(AES_KEY, "wxfuzzappid", [7; 16], &text)
                        .expect("the key is valid")
                } else {
                    text
                };
                let sig = wechat::msg_signature("fuzztoken", &stamp, "2", &enc);
                let json = serde_json::json!({ "Encrypt": enc }).to_string();
                (
                    format!(
                        "timestamp={}&nonce=2&msg_signature={sig}",
                        percent_encode(&stamp)
                    ),
                    json.into_bytes(),
                )
            }
            Platform::Douyin => {
                let sig = douyin::event_sign(&creds.app_key, &body, &creds.app_secret);
                headers.insert("event-sign", HeaderValue::from_str(&sig).expect("hex"));
                headers.insert("app-id", HeaderValue::from_static("wxfuzzappid"));
                (query, body)
            }
            _ => {
                // A stamp that cannot be a header value is sent as `1`.
                let (stamp, value) = match HeaderValue::from_str(&stamp) {
                    Ok(v) => (stamp.as_str(), v),
                    Err(_) => ("1", HeaderValue::from_static("1")),
                };
                let sig =
                    xiaohongshu::push_sign("/hook", "", &creds.app_key, stamp, &creds.app_secret);
                headers.insert("sign", HeaderValue::from_str(&sig).expect("hex"));
                headers.insert("app-key", HeaderValue::from_static("wxfuzzappid"));
                headers.insert("timestamp", value);
                (String::new(), body)
            }
        }
    } else {
        (query, body)
    };
    let req = WebhookRequest {
        path: "/hook",
        query: &query,
        headers: &headers,
        body: &body,
    };
    match verify_webhook(platform, &creds, &req) {
        Ok(WebhookMessage::Events(events)) => {
            for e in events {
                assert!(!e.dedupe_key.is_empty());
                assert!(!e.kind.is_empty());
            }
        }
        Ok(_) | Err(_) => {}
    }
    check_time(platform, &req);
});

/// `check_push_time` on any request, at the seeds' signed second (`1`), a 2026 clock and
/// chrono's earliest and latest instants, with windows from nothing to `Duration::MAX`: it
/// never panics, Douyin (whose pushes carry no timestamp) is never refused, and a window of
/// `Duration::MAX` either way never finds a timestamp stale.
fn check_time(platform: Platform, req: &WebhookRequest) {
    let clocks: [DateTime<Utc>; 4] = [
        Utc.timestamp_opt(1, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap(),
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
    ];
    let widest = PushWindow {
        max_age: Duration::MAX,
        max_ahead: Duration::MAX,
    };
    let windows = [
        PushWindow::default(),
        PushWindow {
            max_age: Duration::ZERO,
            max_ahead: Duration::ZERO,
        },
        widest,
    ];
    for now in clocks {
        for window in &windows {
            let checked = check_push_time(platform, req, now, window);
            if platform == Platform::Douyin {
                assert!(checked.is_ok(), "Douyin pushes have no timestamp to judge");
            }
            if *window == widest {
                assert!(
                    !matches!(checked, Err(WebhookError::Stale { .. })),
                    "nothing is outside the widest window: {checked:?}"
                );
            }
        }
    }
}

/// Every byte but ASCII letters and digits as `%XX`, so any stamp survives the query.
fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
