//! The SMS gateway (Aliyun `SendSms`) and WeChat buyer messages over real HTTP. The RPC signature
//! is computed here from the Alibaba Cloud signature document (help.aliyun.com/document_detail/
//! 28839.html), not with the emulator's helpers.

mod common;

use base64::Engine;
use common::*;
use fahuo_sim::{Platform, SimHandle};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Percent-encoding per the document: standard URL encoding, then `+` → `%20`, `*` → `%2A`,
/// `%7E` → `~`. Written byte by byte here.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sign(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let sts = format!("{method}&{}&{}", enc("/"), enc(&q.join("&")));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("key");
    mac.update(sts.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Unix seconds to `YYYY-MM-DDThh:mm:ssZ`.
fn iso_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Walk the calendar from 1970; plenty fast for tests.
    let (mut y, mut d) = (1970i64, days);
    loop {
        let len = if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
            366
        } else {
            365
        };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    format!(
        "{y:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        m + 1,
        d + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

static NONCE: AtomicU64 = AtomicU64::new(1);

struct Sms<'a> {
    h: &'a SimHandle,
    params: BTreeMap<String, String>,
}

impl<'a> Sms<'a> {
    fn new(h: &'a SimHandle, phone: &str, template: &str, vars: Value) -> Self {
        let c = &h.config().sms;
        let mut p = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            p.insert(k.to_string(), v);
        };
        put("AccessKeyId", c.access_key_id.clone());
        put("Action", "SendSms".into());
        put("Format", "JSON".into());
        put("PhoneNumbers", phone.into());
        put("SignName", c.sign_names[0].clone());
        put("TemplateCode", template.into());
        put("TemplateParam", vars.to_string());
        put("OutId", "fh-out-1".into());
        put("SignatureMethod", "HMAC-SHA1".into());
        put(
            "SignatureNonce",
            format!("nonce-{}", NONCE.fetch_add(1, Ordering::SeqCst)),
        );
        put("SignatureVersion", "1.0".into());
        put("Timestamp", iso_utc(h.now_ms() / 1000));
        put("Version", "2017-05-25".into());
        Sms { h, params: p }
    }

    fn set(mut self, k: &str, v: &str) -> Self {
        self.params.insert(k.to_string(), v.to_string());
        self
    }

    async fn post_signed_with(&self, secret: &str) -> (u16, Value) {
        let mut p = self.params.clone();
        p.insert("Signature".into(), sign("POST", &self.params, secret));
        let body = serde_urlencoded::to_string(&p).expect("form");
        let (status, text) = fahuo_sim::http::request(
            "POST",
            &self.h.sms_url(),
            &[(
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            body.into_bytes(),
            std::time::Duration::from_secs(10),
        )
        .await
        .expect("http");
        (status, serde_json::from_str(&text).expect("json"))
    }

    async fn post(&self) -> (u16, Value) {
        let secret = self.h.config().sms.access_key_secret.clone();
        self.post_signed_with(&secret).await
    }

    async fn get(&self) -> (u16, Value) {
        let secret = self.h.config().sms.access_key_secret.clone();
        let mut p = self.params.clone();
        p.insert("Signature".into(), sign("GET", &self.params, &secret));
        let q: Vec<String> = p
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        let url = format!("{}?{}", self.h.sms_url(), q.join("&"));
        let (status, text) = fahuo_sim::http::get(&url).await.expect("http");
        (status, serde_json::from_str(&text).expect("json"))
    }
}

fn shipped(order: &str) -> Value {
    json!({"order": order, "carrier": "中通快递", "number": "73100000000001"})
}

#[tokio::test]
async fn send_sms_verifies_the_signature_and_renders_the_template() {
    let h = start(config()).await;
    let (status, r) = Sms::new(&h, "13812345678", "SMS_SHIPPED", shipped("P1001"))
        .post()
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["Code"], "OK", "{r}");
    assert_eq!(r["Message"], "OK");
    assert!(r["BizId"].as_str().is_some_and(|b| !b.is_empty()));
    assert!(r["RequestId"].is_string());

    // Same request, same nonce: refused as a replay.
    let mut again = Sms::new(&h, "13912345678", "SMS_SHIPPED", shipped("P1002"));
    again
        .params
        .insert("SignatureNonce".into(), "fixed-nonce".into());
    assert_eq!(again.post().await.1["Code"], "OK");
    let (status, r) = again.post().await;
    assert_eq!(
        (status, r["Code"].as_str()),
        (400, Some("SignatureNonceUsed"))
    );

    // Wrong secret.
    let (status, r) = Sms::new(&h, "13712345678", "SMS_SHIPPED", shipped("P1003"))
        .post_signed_with("not-the-secret")
        .await;
    assert_eq!(status, 400);
    assert_eq!(r["Code"], "SignatureDoesNotMatch");
    // A valid signature over different parameters than those sent.
    let s = Sms::new(&h, "13712345678", "SMS_SHIPPED", shipped("P1003"));
    let sig = sign("POST", &s.params, &h.config().sms.access_key_secret);
    let s = s.set("OutId", "changed").set("Signature", &sig);
    let body = serde_urlencoded::to_string(&s.params).expect("form");
    let (status, text) = fahuo_sim::http::request(
        "POST",
        &h.sms_url(),
        &[(
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body.into_bytes(),
        std::time::Duration::from_secs(10),
    )
    .await
    .expect("http");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("SignatureDoesNotMatch"));

    // Stale timestamp.
    let old = iso_utc(h.now_ms() / 1000 - 20 * 60);
    let (status, r) = Sms::new(&h, "13612345678", "SMS_SHIPPED", shipped("P1004"))
        .set("Timestamp", &old)
        .post()
        .await;
    assert_eq!(
        (status, r["Code"].as_str()),
        (400, Some("InvalidTimeStamp.Expired"))
    );

    // GET with the query string works too.
    let (status, r) = Sms::new(
        &h,
        "13512345678",
        "SMS_DELAYED",
        json!({"order": "P2", "date": "11月20日"}),
    )
    .get()
    .await;
    assert_eq!((status, r["Code"].as_str()), (200, Some("OK")), "{r}");

    // Business errors.
    let code = |r: (u16, Value)| r.1["Code"].as_str().unwrap_or("").to_string();
    for bad in ["1381234567", "23812345678", "12812345678", "1381234567a"] {
        let r = Sms::new(&h, bad, "SMS_SHIPPED", shipped("P3")).post().await;
        assert_eq!(code(r), "isv.MOBILE_NUMBER_ILLEGAL", "{bad}");
    }
    let r = Sms::new(&h, "13412345678", "SMS_SHIPPED", json!({"order": "P4"}))
        .post()
        .await;
    assert_eq!(code(r), "isv.TEMPLATE_MISSING_PARAMETERS");
    let r = Sms::new(&h, "13412345678", "SMS_SHIPPED", shipped("P5"))
        .set("SignName", "别人的店")
        .post()
        .await;
    assert_eq!(code(r), "isv.SMS_SIGNATURE_ILLEGAL");
    let r = Sms::new(&h, "13412345678", "SMS_NOPE", shipped("P6"))
        .post()
        .await;
    assert_eq!(code(r), "isv.SMS_TEMPLATE_ILLEGAL");

    let snap = h.sms_snapshot();
    let first = &snap.sent[0];
    assert_eq!(first.phone, "13812345678");
    assert_eq!(
        first.text,
        "【发货模拟小店】您的订单P1001已发货，中通快递运单号73100000000001，请留意查收。"
    );
    assert_eq!(first.out_id, "fh-out-1");
    assert_eq!(snap.sent.len(), 3);
    let codes: Vec<&str> = snap.rejected.iter().map(|r| r.code.as_str()).collect();
    for c in [
        "SignatureNonceUsed",
        "SignatureDoesNotMatch",
        "InvalidTimeStamp.Expired",
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_SIGNATURE_ILLEGAL",
    ] {
        assert!(codes.contains(&c), "{c} in {codes:?}");
    }
    let over_http = fahuo_sim::http::get(&format!("http://{}/_sim/ledger/sms", h.addr()))
        .await
        .expect("http");
    assert!(over_http.1.contains("P1001"));
}

#[tokio::test]
async fn send_sms_flow_control_per_number() {
    let h = start(config()).await;
    let phone = "13800001111";
    let send = |order: &'static str| {
        let h = &h;
        async move {
            Sms::new(h, phone, "SMS_SHIPPED", shipped(order))
                .post()
                .await
                .1
        }
    };
    assert_eq!(send("A1").await["Code"], "OK");
    let r = send("A2").await;
    assert_eq!(
        r["Code"], "isv.BUSINESS_LIMIT_CONTROL",
        "two in a minute: {r}"
    );
    // Another number is not affected.
    let r = Sms::new(&h, "13800002222", "SMS_SHIPPED", shipped("B1"))
        .post()
        .await
        .1;
    assert_eq!(r["Code"], "OK");
    // One a minute is fine up to five an hour.
    for _ in 0..4 {
        h.advance_clock(61);
        assert_eq!(send("A3").await["Code"], "OK");
    }
    h.advance_clock(61);
    let r = send("A4").await;
    assert_eq!(
        r["Code"], "isv.BUSINESS_LIMIT_CONTROL",
        "six in an hour: {r}"
    );
    assert!(r["Message"].as_str().expect("msg").contains("小时"));
    h.advance_clock(3600);
    assert_eq!(send("A5").await["Code"], "OK");
    let snap = h.sms_snapshot();
    assert_eq!(snap.sent.iter().filter(|s| s.phone == phone).count(), 6);
}

// ------------------------------------------------------------------ WeChat buyer messages

async fn custom_send(h: &SimHandle, token: &str, body: Value) -> Value {
    let url = format!(
        "{}/cgi-bin/message/custom/send?access_token={token}",
        h.base_url(Platform::Wechat)
    );
    post(&url, &[], &body.to_string()).await.1
}

fn text(openid: &str, content: &str) -> Value {
    json!({"touser": openid, "msgtype": "text", "text": {"content": content}})
}

#[tokio::test]
async fn wechat_buyer_messages() {
    let h = start(config()).await;
    let token = wx_token(&h).await;
    let orders = h.orders(Some(Platform::Wechat));
    let now = h.now_ms();
    // The order detail names the buyer's openid.
    let o = &orders[0];
    let d = wx(&h, &token, "order/get", json!({"order_id": o.order_id})).await;
    assert_eq!(d["order"]["openid"], o.buyer_id.as_str(), "{d}");

    // A buyer whose every order is older than 48 h is out of the window.
    let stale = orders
        .iter()
        .map(|o| &o.buyer_id)
        .find(|b| {
            orders
                .iter()
                .filter(|o| &o.buyer_id == *b)
                .all(|o| now - o.paid_ms.unwrap_or(o.created_ms).max(o.created_ms) > 49 * 3_600_000)
        })
        .expect("a buyer with only old orders")
        .clone();
    let r = custom_send(&h, &token, text(&stale, "您好")).await;
    assert_eq!(r["errcode"], 45015, "{r}");
    // Once the buyer writes to the shop, the window opens: up to 20 messages.
    let r = post(
        &format!("http://{}/_sim/messages/interact", h.addr()),
        &[],
        &json!({"openid": stale}).to_string(),
    )
    .await;
    assert_eq!(r.0, 200);
    for i in 0..20 {
        let r = custom_send(&h, &token, text(&stale, &format!("您的包裹已发出 {i}"))).await;
        assert_eq!(r["errcode"], 0, "{i}: {r}");
    }
    let r = custom_send(&h, &token, text(&stale, "第21条")).await;
    assert_eq!(r["errcode"], 45047, "{r}");
    // 48 h later the window is closed again.
    h.advance_clock(49 * 3600);
    let token = wx_token(&h).await;
    let r = custom_send(&h, &token, text(&stale, "还在吗")).await;
    assert_eq!(r["errcode"], 45015, "{r}");

    let r = custom_send(&h, &token, text("oNOBODY0000000000000000000000", "hi")).await;
    assert_eq!(r["errcode"], 40003, "{r}");
    let r = custom_send(
        &h,
        &token,
        json!({"touser": stale, "msgtype": "image", "image": {}}),
    )
    .await;
    assert_eq!(r["errcode"], 40008, "{r}");
    let r = custom_send(&h, "bad-token", text(&stale, "hi")).await;
    assert_eq!(r["errcode"], 40001, "{r}");

    let snap = h.messages_snapshot();
    assert_eq!(snap.sent.len(), 20);
    assert!(snap.sent.iter().all(|m| m.openid == stale));
    assert_eq!(snap.sent[0].content, "您的包裹已发出 0");
    let codes: Vec<i64> = snap.refused.iter().map(|m| m.errcode).collect();
    assert_eq!(codes, vec![45015, 45047, 45015, 40003, 40008]);
}
