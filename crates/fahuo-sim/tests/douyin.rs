//! Douyin Shop emulator: signing, tokens, searchList, detail + decrypt, logisticsAdd, pushes.

mod common;

use common::*;
use fahuo_sim::{Platform, ShipOutcome, Status};
use serde_json::{Value, json};

#[tokio::test]
async fn signing_and_token_errors() {
    let h = start(config()).await;
    let token = dy_token(&h).await;
    let p = json!({ "page": 0, "size": 10 });
    // Both documented sign methods are accepted.
    assert_eq!(
        dy_raw(&h, "order.searchList", &p, Some(&token), None, true).await["code"],
        10000
    );
    assert_eq!(
        dy_raw(&h, "order.searchList", &p, Some(&token), None, false).await["code"],
        10000
    );
    let bad = dy_raw(
        &h,
        "order.searchList",
        &p,
        Some(&token),
        Some("00000000000000000000000000000000"),
        false,
    )
    .await;
    assert_eq!(
        (bad["code"].as_i64(), bad["sub_code"].as_str()),
        (Some(40003), Some("isv.signature-invalid")),
        "{bad}"
    );
    assert_eq!(bad["err_no"], 40003);
    let missing = dy_raw(&h, "order.searchList", &p, None, None, true).await;
    assert_eq!(missing["sub_code"], "isv.access-token-missing");
    let unknown = dy_raw(&h, "order.searchList", &p, Some("nope"), None, true).await;
    assert_eq!(unknown["sub_code"], "isv.access-token-no-existed");

    // A body with unsorted keys and spaces is signed over its canonical form.
    let app = h.config().douyin.clone();
    let raw = r#"{ "size": 5, "page": 0 }"#;
    let canonical = r#"{"page":0,"size":5}"#;
    let sign = dy_sign(
        &app.app_key,
        &app.app_secret,
        "order.searchList",
        canonical,
        "1763000000",
        false,
    );
    let url = format!(
        "{}/order/searchList?app_key={}&method=order.searchList&timestamp=1763000000&v=2&sign={sign}&sign_method=md5&access_token={token}",
        h.base_url(Platform::Douyin),
        app.app_key
    );
    let v = post(&url, &[], raw).await.1;
    assert_eq!(v["code"], 10000, "{v}");
    assert_eq!(v["err_no"], 0);

    // The token expires after expires_in (7 days); refresh gives a new one.
    let created = dy_raw(
        &h,
        "token.create",
        &json!({ "code": "", "grant_type": "authorization_self", "shop_id": app.shop_id }),
        None,
        None,
        true,
    )
    .await;
    assert_eq!(created["data"]["expires_in"], 604_800);
    let refresh = created["data"]["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    h.advance_clock(604_801);
    let expired = dy(&h, "order.searchList", p.clone(), &token).await;
    assert_eq!(expired["sub_code"], "isv.access-token-expired");
    let r = dy_raw(
        &h,
        "token.refresh",
        &json!({ "grant_type": "refresh_token", "refresh_token": refresh }),
        None,
        None,
        true,
    )
    .await;
    assert_eq!(r["code"], 10000, "{r}");
    let t2 = r["data"]["access_token"].as_str().expect("token");
    assert_eq!(dy(&h, "order.searchList", p, t2).await["code"], 10000);
    let again = dy_raw(
        &h,
        "token.refresh",
        &json!({ "grant_type": "refresh_token", "refresh_token": refresh }),
        None,
        None,
        true,
    )
    .await;
    assert_eq!(again["code"], 40003, "a refresh token is used once");
}

#[tokio::test]
async fn search_pages_from_zero_and_limits_size() {
    let h = start(config()).await;
    let token = dy_token(&h).await;
    let v = dy(
        &h,
        "order.searchList",
        json!({ "page": 0, "size": 101 }),
        &token,
    )
    .await;
    assert_eq!(
        (v["code"].as_i64(), v["sub_code"].as_str()),
        (Some(40003), Some("isv.parameter-invalid:size"))
    );
    let end = h.now_ms() / 1000;
    let mut seen = Vec::new();
    let mut page = 0;
    loop {
        let v = dy(
            &h,
            "order.searchList",
            json!({ "page": page, "size": 100, "update_time_start": end - 10 * 86_400, "update_time_end": end, "order_by": "update_time", "order_asc": true }),
            &token,
        )
        .await;
        assert_eq!(v["code"], 10000, "{v}");
        assert_eq!(v["data"]["page"], page);
        let list = v["data"]["shop_order_list"]
            .as_array()
            .expect("list")
            .clone();
        if list.is_empty() {
            break;
        }
        let times: Vec<i64> = list
            .iter()
            .map(|o| o["update_time"].as_i64().expect("t"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "ascending by update_time"
        );
        seen.extend(
            list.iter()
                .map(|o| o["order_id"].as_str().expect("id").to_string()),
        );
        page += 1;
    }
    let mut truth: Vec<String> = h
        .orders(Some(Platform::Douyin))
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    truth.sort();
    seen.sort();
    assert_eq!(seen, truth);
    let to_ship = dy(
        &h,
        "order.searchList",
        json!({ "page": 0, "size": 100, "combine_status": [{ "order_status": "2" }] }),
        &token,
    )
    .await;
    assert!(
        to_ship["data"]["shop_order_list"]
            .as_array()
            .expect("list")
            .iter()
            .all(|o| o["order_status"] == 2)
    );
}

#[tokio::test]
async fn detail_decrypt_and_ship() {
    let h = start(config()).await;
    let token = dy_token(&h).await;
    let orders = h.orders(Some(Platform::Douyin));
    let o = orders
        .iter()
        .find(|o| o.status == Status::ToShip && o.refund == fahuo_sim::model::Refund::None)
        .expect("to ship");
    let v = dy(
        &h,
        "order.orderDetail",
        json!({ "shop_order_id": o.order_id }),
        &token,
    )
    .await;
    assert_eq!(v["code"], 10000, "{v}");
    let d = &v["data"]["shop_order_detail"];
    assert_eq!(d["order_status"], 2);
    assert_eq!(d["pay_amount"], o.total_paid_fen());
    assert_eq!(
        d["post_addr"]["province"]["name"],
        o.receiver.province.as_str()
    );
    assert_eq!(d["post_receiver"], "");
    let lines = d["sku_order_list"].as_array().expect("skus");
    assert_eq!(lines.len(), o.lines.len());
    assert_eq!(lines[0]["code"], o.lines[0].sku_code.as_str());

    let name_ct = d["encrypt_post_receiver"]
        .as_str()
        .expect("cipher")
        .to_string();
    let addr_ct = d["post_addr"]["encrypt_detail"]
        .as_str()
        .expect("cipher")
        .to_string();
    let dec = dy(
        &h,
        "order.batchDecrypt",
        json!({ "cipher_infos": [{ "auth_id": o.order_id, "cipher_text": name_ct }, { "auth_id": o.order_id, "cipher_text": addr_ct },
                                 { "auth_id": "6900000000000000000", "cipher_text": name_ct }] }),
        &token,
    )
    .await;
    let infos = dec["data"]["decrypt_infos"].as_array().expect("infos");
    assert_eq!(infos[0]["decrypt_text"], o.receiver.name.as_str());
    assert_eq!(infos[1]["decrypt_text"], o.receiver.detail.as_str());
    assert_ne!(
        infos[2]["err_no"], 0,
        "a cipher does not decrypt under another order"
    );

    let ship = json!({ "order_id": o.order_id, "company_code": "shunfeng", "company": "顺丰", "logistics_code": "SF1234567890123" });
    assert_eq!(
        dy(&h, "order.logisticsAdd", ship.clone(), &token).await["code"],
        10000
    );
    let again = dy(&h, "order.logisticsAdd", ship, &token).await;
    assert_eq!(again["code"], 50002, "{again}");
    let bad = dy(
        &h,
        "order.logisticsAdd",
        json!({ "order_id": o.order_id, "company_code": "SF", "logistics_code": "x" }),
        &token,
    )
    .await;
    assert_eq!(bad["sub_code"], "isv.parameter-invalid:company_code");
    let missing = dy(
        &h,
        "order.logisticsAdd",
        json!({ "order_id": o.order_id, "company_code": "shunfeng" }),
        &token,
    )
    .await;
    assert_eq!(missing["sub_code"], "isv.parameter-missing:logistics_code");
    let after = dy(
        &h,
        "order.orderDetail",
        json!({ "shop_order_id": o.order_id }),
        &token,
    )
    .await;
    assert_eq!(after["data"]["shop_order_detail"]["order_status"], 3);
    assert_eq!(
        after["data"]["shop_order_detail"]["logistics_info"][0]["tracking_no"],
        "SF1234567890123"
    );

    let l = h.ledger();
    let acc = l.accepted_ships(&o.order_id);
    assert_eq!(acc.len(), 1);
    assert_eq!(
        (acc[0].carrier.as_str(), acc[0].tracking_no.as_str()),
        ("shunfeng", "SF1234567890123")
    );
    assert!(
        l.ships
            .iter()
            .any(|s| s.order_id == o.order_id && s.outcome == ShipOutcome::AlreadyShipped)
    );
    let companies = dy(&h, "order.logisticsCompanyList", json!({}), &token).await;
    assert!(
        companies["data"]
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["code"] == "yuantong" && c["id"] == 7)
    );
}

#[tokio::test]
async fn pushes_carry_event_sign() {
    let cfg = config();
    let app = cfg.douyin.clone();
    let rx = {
        let app = app.clone();
        receiver(
            move |g| {
                g.headers.get("event-sign").is_some_and(|s| {
                    *s == md5s(&format!("{}{}{}", app.app_key, g.body, app.app_secret))
                })
            },
            r#"{"code":0,"msg":"success"}"#,
        )
        .await
    };
    let h = start(cfg).await;
    h.set_callback(Platform::Douyin, Some(rx.url.clone()));
    let ids = h.generate_orders(Platform::Douyin, 3);
    h.advance_clock(1200);
    wait_for(&h, "douyin pushes", |l| {
        ids.iter()
            .all(|id| l.pushes.iter().any(|p| &p.order_id == id && p.acknowledged))
    })
    .await;
    for (g, good) in rx.all() {
        assert!(good);
        assert_eq!(g.headers.get("app-id"), Some(&app.app_key));
        let arr: Value = serde_json::from_str(&g.body).expect("json");
        let m = &arr[0];
        let data: Value = serde_json::from_str(m["data"].as_str().expect("data is a JSON string"))
            .expect("data json");
        assert!(data["p_id"].is_u64());
        assert!(m["tag"].is_string() && m["msg_id"].is_string());
    }
}
