//! Buyer notifications: the SMS gateway's request (signature recomputed here independently) and
//! answer mapping, and WeChat's customer-service message.

mod mock;

use base64::Engine;
use fahuo_platforms::notify::*;
use fahuo_platforms::{Connection, Platform, PlatformClient, PlatformError, ShopCredentials};
use hmac::{Hmac, Mac};
use mock::{Mock, options};
use serde_json::{Value, json};

/// RFC 3986 encoding written here, independently of the crate's.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn expected_signature(params: &[(String, String)], secret: &str) -> String {
    let mut sorted: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    sorted.sort();
    let sts = format!("POST&%2F&{}", enc(&sorted.join("&")));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
    mac.update(sts.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[test]
fn the_published_aliyun_signature_example_is_reproduced() {
    // https://developer.aliyun.com/ask/210168 (Aliyun's signature doc example): DescribeRegions,
    // AccessKeyId testid, secret testsecret, GET → CT9X0VtwR86fNWSnsc6v8YGOjuE=.
    let params = [
        ("TimeStamp", "2016-02-23T12:46:24Z"),
        ("Format", "XML"),
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("Version", "2014-05-26"),
        ("SignatureVersion", "1.0"),
    ];
    assert_eq!(
        rpc_signature("GET", &params, "testsecret"),
        "CT9X0VtwR86fNWSnsc6v8YGOjuE="
    );
    assert!(canonical_query(&params).starts_with("AccessKeyId=testid&Action=DescribeRegions"));
}

fn sms_account(base: &str) -> SmsAccount {
    SmsAccount {
        base_url: base.into(),
        access_key_id: "LTAI-test".into(),
        access_key_secret: "s3cr3t/+=".into(),
        sign_name: "fahuo小店".into(),
    }
}

fn sms() -> Sms {
    let mut params = serde_json::Map::new();
    params.insert("name".into(), json!("张 三"));
    params.insert("no".into(), json!("SF1234567890123"));
    Sms {
        phone: "13800138000".into(),
        template_code: "SMS_0001".into(),
        params,
        out_id: "n-42".into(),
        at: chrono::DateTime::parse_from_rfc3339("2031-03-04T05:06:07+08:00")
            .unwrap()
            .to_utc(),
    }
}

#[tokio::test]
async fn send_sms_posts_a_signed_sendsms_form() {
    let m = Mock::start().await;
    let c = SmsClient::new(
        sms_account(&m.base),
        fahuo_platforms::http_client(),
        &options(),
    )
    .expect("client");
    m.script(
        "/",
        &[(
            200,
            r#"{"RequestId":"r1","Code":"OK","Message":"OK","BizId":"900619746936498440^0"}"#,
        )],
    );
    assert_eq!(c.send(&sms()).await.unwrap(), "900619746936498440^0");
    let seen = &m.seen_at("/")[0];
    assert_eq!(seen.method, "POST");
    assert!(
        seen.content_type
            .starts_with("application/x-www-form-urlencoded")
    );
    let pairs: Vec<(String, String)> = form_urlencoded::parse(seen.body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("Action"), "SendSms");
    assert_eq!(get("Version"), "2017-05-25");
    assert_eq!(get("SignatureMethod"), "HMAC-SHA1");
    assert_eq!(get("SignatureVersion"), "1.0");
    assert_eq!(get("AccessKeyId"), "LTAI-test");
    assert_eq!(get("PhoneNumbers"), "13800138000");
    assert_eq!(get("SignName"), "fahuo小店");
    assert_eq!(get("TemplateCode"), "SMS_0001");
    assert_eq!(get("OutId"), "n-42");
    let tp: Value = serde_json::from_str(&get("TemplateParam")).unwrap();
    assert_eq!(tp, json!({"name": "张 三", "no": "SF1234567890123"}));
    assert!(!get("SignatureNonce").is_empty());
    // Signed at the sender's time (its clock, not the host's), in UTC as the gateway wants.
    assert_eq!(get("Timestamp"), "2031-03-03T21:06:07Z");
    assert_eq!(get("Signature"), expected_signature(&pairs, "s3cr3t/+="));
    // Spaces travel as %20, never as '+', in the signed body.
    assert!(seen.body.contains("%20") && !seen.body.contains('+'));

    // A retried send is signed again with a new nonce.
    m.clear();
    m.script(
        "/",
        &[(503, "busy"), (200, r#"{"Code":"OK","BizId":"b2"}"#)],
    );
    assert_eq!(c.send(&sms()).await.unwrap(), "b2");
    let nonces: Vec<String> = m
        .seen_at("/")
        .iter()
        .map(|s| s.form()["SignatureNonce"].clone())
        .collect();
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn sms_gateway_codes_map_to_typed_errors() {
    let m = Mock::start().await;
    let c = SmsClient::new(
        sms_account(&m.base),
        fahuo_platforms::http_client(),
        &options(),
    )
    .unwrap();
    let answer = |code: &str| format!(r#"{{"RequestId":"r","Code":"{code}","Message":"m"}}"#);
    for (code, check) in [
        ("isv.BUSINESS_LIMIT_CONTROL", "rate"),
        ("Throttling.User", "rate"),
        ("SignatureDoesNotMatch", "auth"),
        ("InvalidAccessKeyId.NotFound", "auth"),
        ("isv.MOBILE_NUMBER_ILLEGAL", "invalid"),
        ("isv.TEMPLATE_MISSING_PARAMETERS", "invalid"),
        ("isv.SMS_SIGNATURE_ILLEGAL", "invalid"),
    ] {
        m.script("/", &[(200, &answer(code))]);
        let e = c.send(&sms()).await.unwrap_err();
        let ok = match check {
            "rate" => matches!(e, PlatformError::RateLimited { .. }),
            "auth" => e.is_auth(),
            _ => matches!(e, PlatformError::Invalid { .. }),
        };
        assert!(ok, "{code}: {e:?}");
    }
    m.script("/", &[(500, "oops")]);
    assert!(matches!(
        c.send(&sms()).await,
        Err(PlatformError::Transient(_))
    ));
    let bad = SmsAccount {
        sign_name: " ".into(),
        ..sms_account(&m.base)
    };
    assert!(matches!(
        SmsClient::new(bad, fahuo_platforms::http_client(), &options()),
        Err(PlatformError::Config(_))
    ));
}

fn wechat(base: &str, platform: Platform) -> PlatformClient {
    PlatformClient::new(
        Connection {
            platform,
            base_url: base.into(),
            platform_shop_id: "1".into(),
            credentials: ShopCredentials {
                app_key: "wxapp".into(),
                app_secret: "secret".into(),
                ..Default::default()
            },
        },
        fahuo_platforms::http_client(),
        options(),
    )
    .expect("client")
}

#[tokio::test]
async fn wechat_message_buyer_sends_a_text_with_the_token() {
    let m = Mock::start().await;
    m.script(
        "/cgi-bin/stable_token",
        &[(200, r#"{"access_token":"TOK-1","expires_in":7200}"#)],
    );
    m.script(
        "/cgi-bin/message/custom/send",
        &[(200, r#"{"errcode":0,"errmsg":"ok"}"#)],
    );
    let c = wechat(&m.base, Platform::Wechat);
    c.message_buyer("o-buyer-1", "您的包裹已发出")
        .await
        .expect("sent");
    let seen = &m.seen_at("/cgi-bin/message/custom/send")[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.query, "access_token=TOK-1");
    assert_eq!(
        seen.json(),
        json!({"touser": "o-buyer-1", "msgtype": "text", "text": {"content": "您的包裹已发出"}})
    );

    m.script("/cgi-bin/message/custom/send", &[(200, r#"{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled rid: x"}"#)]);
    match c.message_buyer("o-buyer-1", "hi").await {
        Err(PlatformError::Invalid { code, msg }) => {
            assert_eq!(code, "45015");
            assert!(msg.contains("48 hours"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    m.script(
        "/cgi-bin/message/custom/send",
        &[(200, r#"{"errcode":40003,"errmsg":"invalid openid"}"#)],
    );
    assert!(matches!(
        c.message_buyer("x", "hi").await,
        Err(PlatformError::Invalid { .. })
    ));
    m.script(
        "/cgi-bin/message/custom/send",
        &[(
            200,
            r#"{"errcode":45047,"errmsg":"out of response count limit"}"#,
        )],
    );
    assert!(matches!(
        c.message_buyer("x", "hi").await,
        Err(PlatformError::RateLimited { .. })
    ));
    // An expired token is renewed once.
    m.clear();
    m.script(
        "/cgi-bin/stable_token",
        &[(200, r#"{"access_token":"TOK-2","expires_in":7200}"#)],
    );
    m.script(
        "/cgi-bin/message/custom/send",
        &[
            (200, r#"{"errcode":42001,"errmsg":"access_token expired"}"#),
            (200, r#"{"errcode":0}"#),
        ],
    );
    c.message_buyer("o-buyer-1", "hi")
        .await
        .expect("after renewal");
    let sends = m.seen_at("/cgi-bin/message/custom/send");
    assert_eq!(sends.last().unwrap().query, "access_token=TOK-2");
    assert!(matches!(
        c.message_buyer(" ", "hi").await,
        Err(PlatformError::Config(_))
    ));
}

#[tokio::test]
async fn douyin_and_xiaohongshu_cannot_message_buyers() {
    for p in [Platform::Douyin, Platform::Xiaohongshu] {
        let c = wechat("http://127.0.0.1:1", p);
        assert!(matches!(
            c.message_buyer("someone", "hi").await,
            Err(PlatformError::Unsupported(_))
        ));
    }
}
