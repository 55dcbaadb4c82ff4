//! Fuzz target: `verify_webhook` never panics on any request, for every platform — neither on
//! raw bytes (refused at the signature) nor on correctly signed garbage, which reaches the
//! decoders (WeChat base64/AES/padding/layout/JSON, Douyin and Xiaohongshu JSON arrays), nor on
//! a correctly encrypted and signed WeChat message, which reaches the parser of the decrypted
//! order and after-sale events.
//!
//! Input: first byte = mode (`% 3` the platform; `0x80` sign it; with `0x80`, for WeChat, `0x40`
//! encrypt the body as the message), then header lines `0xff` query `0xff` body.

#![no_main]

use fahuo_platforms::{
    Platform, ShopCredentials, WebhookMessage, WebhookRequest, douyin, verify_webhook, wechat,
    xiaohongshu,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

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
                let sig = wechat::msg_signature("fuzztoken", "1", "2", &enc);
                let json = serde_json::json!({ "Encrypt": enc }).to_string();
                (
                    format!("timestamp=1&nonce=2&msg_signature={sig}"),
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
                let sig =
                    xiaohongshu::push_sign("/hook", "", &creds.app_key, "1", &creds.app_secret);
                headers.insert("sign", HeaderValue::from_str(&sig).expect("hex"));
                headers.insert("app-key", HeaderValue::from_static("wxfuzzappid"));
                headers.insert("timestamp", HeaderValue::from_static("1"));
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
});
