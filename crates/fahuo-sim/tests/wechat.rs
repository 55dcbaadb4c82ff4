//! WeChat Shop emulator: token, list/get/decode, ship, errors, rate limit, encrypted pushes.

mod common;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use common::*;
use fahuo_sim::{Platform, ShipOutcome, Status};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

#[tokio::test]
async fn token_errors_and_expiry() {
    let h = start(config()).await;
    let base = h.base_url(Platform::Wechat);
    let app = h.config().wechat.clone();
    let get = |q: String| {
        let base = base.clone();
        async move {
            serde_json::from_str::<Value>(
                &fahuo_sim::http::get(&format!("{base}/cgi-bin/token?{q}"))
                    .await
                    .expect("http")
                    .1,
            )
            .expect("json")
        }
    };
    assert_eq!(
        get(format!(
            "grant_type=client_credential&appid={}&secret=nope",
            app.appid
        ))
        .await["errcode"],
        40125
    );
    assert_eq!(
        get(format!(
            "grant_type=client_credential&appid=wx0&secret={}",
            app.secret
        ))
        .await["errcode"],
        40013
    );
    assert_eq!(
        get(format!(
            "grant_type=password&appid={}&secret={}",
            app.appid, app.secret
        ))
        .await["errcode"],
        40002
    );
    let ok = get(format!(
        "grant_type=client_credential&appid={}&secret={}",
        app.appid, app.secret
    ))
    .await;
    assert_eq!(ok["expires_in"], 7200);
    let token = ok["access_token"].as_str().expect("token").to_string();

    let range = json!({ "update_time_range": { "start_time": NOW - 3600, "end_time": NOW } });
    assert_eq!(
        wx(&h, &token, "order/list/get", range.clone()).await["errcode"],
        0
    );
    let url = format!("{base}/channels/ec/order/list/get");
    assert_eq!(
        post(&url, &[], &range.to_string()).await.1["errcode"],
        41001
    );
    assert_eq!(
        wx(&h, "bogus", "order/list/get", range.clone()).await["errcode"],
        40001
    );

    h.advance_clock(7201);
    assert_eq!(
        wx(&h, &token, "order/list/get", range.clone()).await["errcode"],
        42001
    );
    let fresh = wx_token(&h).await;
    assert_eq!(wx(&h, &fresh, "order/list/get", range).await["errcode"], 0);
    let l = h.ledger();
    assert!(l.rejected.iter().any(|r| r.code == "42001"));
}

#[tokio::test]
async fn list_limits_and_cursor_paging() {
    let h = start(config()).await;
    let token = wx_token(&h).await;
    let too_wide =
        json!({ "update_time_range": { "start_time": NOW - 7 * 86_400 - 1, "end_time": NOW } });
    let v = wx(&h, &token, "order/list/get", too_wide).await;
    assert_eq!(v["errcode"], 40097, "{v}");
    assert!(v["errmsg"].as_str().unwrap_or("").contains(" rid: "));
    let big_page = json!({ "update_time_range": { "start_time": NOW - 3600, "end_time": NOW }, "page_size": 101 });
    assert_eq!(
        wx(&h, &token, "order/list/get", big_page).await["errcode"],
        40097
    );
    assert_eq!(
        wx(&h, &token, "order/list/get", json!({ "page_size": 10 })).await["errcode"],
        40097
    );

    let end = h.now_ms() / 1000;
    let mut next_key = String::new();
    let mut seen = Vec::new();
    loop {
        let v = wx(
            &h,
            &token,
            "order/list/get",
            json!({ "update_time_range": { "start_time": end - 7 * 86_400, "end_time": end }, "page_size": 100, "next_key": next_key }),
        )
        .await;
        assert_eq!(v["errcode"], 0, "{v}");
        seen.extend(
            v["order_id_list"]
                .as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_str().expect("id").to_string()),
        );
        next_key = v["next_key"].as_str().expect("next_key").to_string();
        if !v["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    let mut truth: Vec<String> = h
        .orders(Some(Platform::Wechat))
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n, "each order exactly once");
    truth.sort();
    assert_eq!(seen, truth);
}

#[tokio::test]
async fn detail_decode_and_ship() {
    let h = start(config()).await;
    let token = wx_token(&h).await;
    let orders = h.orders(Some(Platform::Wechat));
    let o = orders
        .iter()
        .find(|o| o.status == Status::ToShip && o.lines.len() > 1)
        .expect("a multi-line order to ship");

    let v = wx(&h, &token, "order/get", json!({ "order_id": o.order_id })).await;
    assert_eq!(v["errcode"], 0, "{v}");
    let od = &v["order"];
    assert_eq!(od["status"], 20);
    assert_eq!(od["create_time"], o.created_ms / 1000);
    assert_eq!(
        od["order_detail"]["price_info"]["order_price"],
        o.total_paid_fen()
    );
    assert_eq!(
        od["order_detail"]["product_infos"]
            .as_array()
            .expect("products")
            .len(),
        o.lines.len()
    );
    assert_eq!(
        od["order_detail"]["ext_info"]["customer_notes"],
        o.buyer_note.as_str()
    );
    let masked = od["order_detail"]["delivery_info"]["address_info"]["tel_number"]
        .as_str()
        .expect("tel");
    assert!(masked.contains("****"), "phone masked in detail: {masked}");

    let d = wx(
        &h,
        &token,
        "order/sensitiveinfo/decode",
        json!({ "order_id": o.order_id }),
    )
    .await;
    assert_eq!(d["address_info"]["user_name"], o.receiver.name.as_str());
    assert_eq!(d["address_info"]["tel_number"], o.receiver.phone.as_str());

    // Partial shipment of the first line, then the rest.
    let l0 = &o.lines[0];
    let first = json!({ "order_id": o.order_id, "delivery_list": [{ "delivery_id": "SF", "waybill_id": "SF1000000000001", "deliver_type": 1,
        "product_infos": [{ "product_id": l0.product_id, "sku_id": l0.sku_id, "product_cnt": l0.qty }] }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", first.clone()).await["errcode"],
        0
    );
    assert_eq!(
        wx(&h, &token, "order/get", json!({ "order_id": o.order_id })).await["order"]["status"],
        21
    );
    let rest = json!({ "order_id": o.order_id, "delivery_list": [{ "delivery_id": "ZTO", "waybill_id": "75000000000002", "deliver_type": 1 }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", rest).await["errcode"],
        0
    );
    assert_eq!(
        wx(&h, &token, "order/get", json!({ "order_id": o.order_id })).await["order"]["status"],
        30
    );
    // Repeating an accepted shipment is reported as already shipped.
    assert_eq!(
        wx(&h, &token, "order/delivery/send", first).await["errcode"],
        606034
    );

    let other = orders
        .iter()
        .find(|x| x.status == Status::ToShip && x.order_id != o.order_id)
        .expect("another");
    let bad_carrier = json!({ "order_id": other.order_id, "delivery_list": [{ "delivery_id": "YD", "waybill_id": "4300000001", "deliver_type": 1 }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", bad_carrier).await["errcode"],
        40097
    );
    let zero_pid = json!({ "order_id": other.order_id, "delivery_list": [{ "delivery_id": "YUNDA", "waybill_id": "4300000001", "deliver_type": 1,
        "product_infos": [{ "product_id": "0", "sku_id": "1", "product_cnt": 1 }] }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", zero_pid).await["errcode"],
        40097
    );
    let cancelled = orders
        .iter()
        .find(|x| x.status == Status::Cancelled)
        .expect("a cancelled order");
    let c = json!({ "order_id": cancelled.order_id, "delivery_list": [{ "delivery_id": "SF", "waybill_id": "SF1", "deliver_type": 1 }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", c).await["errcode"],
        606034
    );

    let l = h.ledger();
    let accepted = l.accepted_ships(&o.order_id);
    assert_eq!(accepted.len(), 2);
    assert_eq!(
        (
            accepted[0].carrier.as_str(),
            accepted[0].tracking_no.as_str()
        ),
        ("SF", "SF1000000000001")
    );
    assert_eq!(
        (
            accepted[1].carrier.as_str(),
            accepted[1].tracking_no.as_str()
        ),
        ("ZTO", "75000000000002")
    );
    assert!(
        l.ships
            .iter()
            .any(|s| s.order_id == o.order_id && s.outcome == ShipOutcome::AlreadyShipped)
    );
    assert!(
        l.ships
            .iter()
            .any(|s| s.order_id == other.order_id && s.outcome == ShipOutcome::Rejected)
    );
    let lo = l
        .orders
        .iter()
        .find(|x| x.order_id == o.order_id)
        .expect("ledger order");
    assert_eq!((lo.status, lo.shipments.len()), (30, 2));

    let companies = wx(
        &h,
        &token,
        "order/deliverycompanylist/new/get",
        json!({ "ewaybill_only": false }),
    )
    .await;
    assert!(
        companies["company_list"]
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["delivery_id"] == "YUNDA")
    );
}

#[tokio::test]
async fn rate_limited_per_app() {
    let mut cfg = config();
    cfg.rate_limits.wechat_per_sec = 3;
    let h = start(cfg).await;
    let token = wx_token(&h).await;
    let mut limited = 0;
    for _ in 0..12 {
        let v = wx(&h, &token, "order/deliverycompanylist/get", json!({})).await;
        if v["errcode"] == 45011 {
            limited += 1;
        }
    }
    assert!(limited > 0, "some calls must hit the per-app limit");
    assert!(
        h.ledger()
            .rejected
            .iter()
            .any(|r| r.reason == "rate limit exceeded")
    );
}

/// Independent check of a WeChat push: msg_signature, then AES-256-CBC decryption.
fn wx_open(token: &str, aes_key: &str, appid: &str, g: &Got) -> Option<Value> {
    let q: std::collections::HashMap<String, String> = g
        .query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body: Value = serde_json::from_str(&g.body).ok()?;
    let enc = body["Encrypt"].as_str()?;
    let mut parts = [
        token,
        q.get("timestamp")?.as_str(),
        q.get("nonce")?.as_str(),
        enc,
    ];
    parts.sort();
    let sig: String = Sha1::digest(parts.concat().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if &sig != q.get("msg_signature")? {
        return None;
    }
    let lenient = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::general_purpose::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true),
    );
    let key = lenient.decode(format!("{aes_key}=")).ok()?;
    let ct = base64::engine::general_purpose::STANDARD.decode(enc).ok()?;
    let mut buf = ct.clone();
    let dec = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]).ok()?;
    let plain = dec.decrypt_padded_mut::<NoPadding>(&mut buf).ok()?.to_vec();
    let pad = *plain.last()? as usize;
    let plain = &plain[..plain.len() - pad];
    let len = u32::from_be_bytes(plain[16..20].try_into().ok()?) as usize;
    let msg = std::str::from_utf8(&plain[20..20 + len]).ok()?;
    (std::str::from_utf8(&plain[20 + len..]).ok()? == appid)
        .then(|| serde_json::from_str(msg).ok())?
}

#[tokio::test]
async fn pushes_are_encrypted_and_signed() {
    let cfg = config();
    let app = cfg.wechat.clone();
    let rx = {
        let app = app.clone();
        receiver(
            move |g| wx_open(&app.push_token, &app.encoding_aes_key, &app.appid, g).is_some(),
            "success",
        )
        .await
    };
    let h = start(cfg).await;
    h.set_callback(Platform::Wechat, Some(rx.url.clone()));
    let ids = h.generate_orders(Platform::Wechat, 4);
    h.advance_clock(1200);
    let l = wait_for(&h, "new + pay pushes", |l| {
        ids.iter()
            .all(|id| l.pushes.iter().any(|p| &p.order_id == id && p.acknowledged))
    })
    .await;
    assert!(
        l.pushes.iter().all(|p| p.acknowledged),
        "every genuine push acknowledged: {:?}",
        l.pushes
    );
    assert!(
        l.pushes
            .iter()
            .any(|p| p.kind == fahuo_sim::PushKind::Verification && p.acknowledged),
        "URL check echoed"
    );
    let events: Vec<Value> = rx
        .all()
        .iter()
        .filter_map(|(g, _)| wx_open(&app.push_token, &app.encoding_aes_key, &app.appid, g))
        .collect();
    assert!(events.iter().any(|e| e["Event"] == "channels_ec_order_new"));
    for e in &events {
        assert_eq!(e["MsgType"], "event");
        assert_eq!(e["ToUserName"], app.username.as_str());
        assert!(e["order_info"]["order_id"].is_string() || e["order_info"]["order_id"].is_u64());
    }
}
