//! Xiaohongshu emulator: gateway signing, OAuth tokens, list windows, receiver info + decrypt,
//! orderDeliver, pushes.

mod common;

use common::*;
use fahuo_sim::{Platform, ShipOutcome, Status};
use serde_json::{Value, json};

#[tokio::test]
async fn signing_and_tokens() {
    let h = start(config()).await;
    let bad = xhs_raw(
        &h,
        "oauth.getAccessToken",
        json!({ "code": h.config().xiaohongshu.auth_code }),
        None,
        Some("wrong-secret"),
    )
    .await;
    assert_eq!(
        (bad["success"].as_bool(), bad["error_code"].as_i64()),
        (Some(false), Some(fahuo_sim::xiaohongshu::ERR_SIGN))
    );
    let got = xhs_raw(
        &h,
        "oauth.getAccessToken",
        json!({ "code": h.config().xiaohongshu.auth_code }),
        None,
        None,
    )
    .await;
    let data = got["data"].clone();
    let token = data["accessToken"].as_str().expect("token").to_string();
    let refresh = data["refreshToken"].as_str().expect("refresh").to_string();
    let exp = data["accessTokenExpiresAt"].as_i64().expect("ms");
    assert!(
        (exp - h.now_ms() - 7 * 86_400_000).abs() < 5_000,
        "7 days, in ms"
    );

    // More than 30 minutes left: refreshing changes nothing.
    let same = xhs_raw(
        &h,
        "oauth.refreshToken",
        json!({ "refreshToken": refresh }),
        None,
        None,
    )
    .await;
    assert_eq!(same["data"]["accessToken"], token.as_str());
    // Less than 30 minutes left: new tokens, the old one still works for 5 minutes.
    h.advance_clock(7 * 86_400 - 20 * 60);
    let new = xhs_raw(
        &h,
        "oauth.refreshToken",
        json!({ "refreshToken": refresh }),
        None,
        None,
    )
    .await;
    let token2 = new["data"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    assert_ne!(token2, token);
    let list = json!({ "startTime": NOW, "endTime": NOW + 60, "timeType": 1 });
    assert_eq!(
        xhs(&h, "order.getOrderList", list.clone(), &token).await["success"],
        true
    );
    h.advance_clock(301);
    let expired = xhs(&h, "order.getOrderList", list.clone(), &token).await;
    assert_eq!(
        expired["error_code"],
        fahuo_sim::xiaohongshu::ERR_TOKEN_EXPIRED
    );
    assert_eq!(
        xhs(&h, "order.getOrderList", list, &token2).await["success"],
        true
    );
}

#[tokio::test]
async fn list_windows_and_pages() {
    // This walk makes a few hundred calls at once; the documented 100/s app limit is tested below.
    let mut cfg = config();
    cfg.rate_limits.xiaohongshu_app_per_sec = 0;
    cfg.rate_limits.xiaohongshu_method_per_sec = 0;
    let h = start(cfg).await;
    let token = xhs_token(&h).await;
    let now = h.now_ms() / 1000;
    let v = xhs(
        &h,
        "order.getOrderList",
        json!({ "startTime": now - 1801, "endTime": now, "timeType": 2 }),
        &token,
    )
    .await;
    assert_eq!(v["success"], false, "update-time window over 30 min");
    let v = xhs(
        &h,
        "order.getOrderList",
        json!({ "startTime": now - 86_401, "endTime": now, "timeType": 1 }),
        &token,
    )
    .await;
    assert_eq!(v["success"], false, "create-time window over 24 h");
    let v = xhs(
        &h,
        "order.getOrderList",
        json!({ "startTime": now - 60, "endTime": now, "timeType": 1, "pageSize": 101 }),
        &token,
    )
    .await;
    assert_eq!(v["success"], false);
    let v = xhs(
        &h,
        "order.getOrderList",
        json!({ "startTime": now - 60, "endTime": now, "timeType": 1, "pageNo": 101 }),
        &token,
    )
    .await;
    assert_eq!(v["success"], false);

    // Walk the whole history in 30-minute update windows (inclusive edges, so dedupe).
    let start = now - 3 * 86_400 - 60;
    let mut seen = std::collections::BTreeSet::new();
    let mut t = start;
    while t <= now {
        let end = (t + 1800).min(now);
        let first = xhs(
            &h,
            "order.getOrderList",
            json!({ "startTime": t, "endTime": end, "timeType": 2, "pageSize": 100 }),
            &token,
        )
        .await;
        assert_eq!(first["success"], true, "{first}");
        let max_page = first["data"]["maxPageNo"].as_i64().expect("maxPageNo");
        for page in (1..=max_page).rev() {
            let v = xhs(&h, "order.getOrderList", json!({ "startTime": t, "endTime": end, "timeType": 2, "pageSize": 100, "pageNo": page }), &token).await;
            for o in v["data"]["orderList"].as_array().expect("list") {
                assert!(
                    o["updateTime"].as_i64().expect("ms") > 1_000_000_000_000,
                    "times are in ms"
                );
                seen.insert(o["orderId"].as_str().expect("id").to_string());
            }
        }
        t = end + 1;
    }
    let truth: std::collections::BTreeSet<String> = h
        .orders(Some(Platform::Xiaohongshu))
        .into_iter()
        .map(|o| o.order_id)
        .collect();
    assert_eq!(seen, truth);
}

#[tokio::test]
async fn receiver_info_decrypt_and_deliver() {
    let mut cfg = config();
    cfg.decrypt_quota = 4;
    let h = start(cfg).await;
    let token = xhs_token(&h).await;
    let orders = h.orders(Some(Platform::Xiaohongshu));
    let o = orders
        .iter()
        .find(|o| o.status == Status::ToShip)
        .expect("to ship");
    let d = xhs(
        &h,
        "order.getOrderDetail",
        json!({ "orderId": o.order_id }),
        &token,
    )
    .await;
    assert_eq!(d["success"], true, "{d}");
    let detail = &d["data"];
    assert_eq!(detail["orderStatus"], 4);
    assert_eq!(detail["totalPayAmount"], o.total_paid_fen());
    assert!(
        detail.get("receiverName").is_none(),
        "no receiver PII in the detail"
    );
    assert_eq!(
        detail["skuList"][0]["erpcode"],
        o.lines[0].sku_code.as_str()
    );
    let open_id = detail["openAddressId"].as_str().expect("openAddressId");

    let r = xhs(&h, "order.getOrderReceiverInfo", json!({ "receiverQueries": [{ "orderId": o.order_id, "openAddressId": open_id }], "isReturn": false }), &token).await;
    let info = &r["data"]["receiverInfos"][0];
    assert_eq!(info["matched"], true);
    let name_ct = info["receiverName"].as_str().expect("cipher");
    assert!(
        name_ct.starts_with('#') && name_ct.ends_with("#2##"),
        "{name_ct}"
    );
    let mismatch = xhs(
        &h,
        "order.getOrderReceiverInfo",
        json!({ "receiverQueries": [{ "orderId": o.order_id, "openAddressId": "stale" }] }),
        &token,
    )
    .await;
    assert_eq!(mismatch["data"]["receiverInfos"][0]["matched"], false);

    let base = |ct: &str| json!({ "dataTag": o.order_id, "encryptedData": ct });
    let dec = xhs(
        &h,
        "data.batchDecrypt",
        json!({ "baseInfos": [base(name_ct), base(info["receiverAddress"].as_str().expect("addr")), base(info["receiverPhone"].as_str().expect("tel"))], "actionType": 2, "appUserId": "u1" }),
        &token,
    )
    .await;
    let list = dec["data"]["dataInfoList"].as_array().expect("list");
    assert_eq!(list[0]["decryptedData"], o.receiver.name.as_str());
    assert_eq!(list[1]["decryptedData"], o.receiver.detail.as_str());
    assert_eq!(
        list[2]["virtualNumberFlag"],
        o.receiver.virtual_phone.is_some()
    );
    // The quota (4 here) runs out.
    let more = xhs(
        &h,
        "data.batchDecrypt",
        json!({ "baseInfos": [base(name_ct), base(name_ct)], "actionType": 1 }),
        &token,
    )
    .await;
    let codes: Vec<i64> = more["data"]["dataInfoList"]
        .as_array()
        .expect("list")
        .iter()
        .map(|x| x["errorCode"].as_i64().expect("code"))
        .collect();
    assert_eq!(codes, vec![0, -2_000_701]);

    let ship = json!({ "orderId": o.order_id, "expressNo": "75123456789012", "expressCompanyCode": "zto", "expressCompanyName": "中通" });
    assert_eq!(
        xhs(&h, "order.orderDeliver", ship.clone(), &token).await["success"],
        true
    );
    assert_eq!(
        xhs(&h, "order.orderDeliver", ship, &token).await["success"],
        false
    );
    let bad = xhs(
        &h,
        "order.orderDeliver",
        json!({ "orderId": o.order_id, "expressNo": "1", "expressCompanyCode": "ZTO" }),
        &token,
    )
    .await;
    assert_eq!(bad["error_code"], fahuo_sim::xiaohongshu::ERR_PARAM);
    let after = xhs(
        &h,
        "order.getOrderDetail",
        json!({ "orderId": o.order_id }),
        &token,
    )
    .await;
    assert_eq!(after["data"]["orderStatus"], 6);
    let track = xhs(
        &h,
        "order.getOrderTracking",
        json!({ "orderId": o.order_id }),
        &token,
    )
    .await;
    assert_eq!(
        track["data"]["orderTrackInfos"][0]["expressNo"],
        "75123456789012"
    );
    let modify = json!({ "orderId": o.order_id, "expressNo": "SF0000000000001", "expressCompanyCode": "shunfeng", "oldExpressNo": "75123456789012" });
    assert_eq!(
        xhs(&h, "order.modifyOrderExpressInfo", modify, &token).await["success"],
        true
    );

    let l = h.ledger();
    let acc = l.accepted_ships(&o.order_id);
    assert_eq!(acc.len(), 1, "one parcel");
    assert_eq!(acc[0].tracking_no, "75123456789012");
    let changes = l.accepted_changes(&o.order_id);
    assert_eq!(changes.len(), 1, "one change");
    assert_eq!(
        (
            changes[0].old_tracking_no.as_str(),
            changes[0].tracking_no.as_str()
        ),
        ("75123456789012", "SF0000000000001")
    );
    assert!(
        l.ships
            .iter()
            .any(|s| s.order_id == o.order_id && s.outcome == ShipOutcome::AlreadyShipped)
    );
}

#[tokio::test]
async fn pushes_carry_sign_header() {
    let cfg = config();
    let app = cfg.xiaohongshu.clone();
    let rx = {
        let app = app.clone();
        receiver(
            move |g| {
                // Independent check: path + "?" + sorted(query + app-key + timestamp) + secret.
                let ts = g.headers.get("timestamp").cloned().unwrap_or_default();
                let mut params: Vec<String> = g
                    .query
                    .split('&')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                params.push(format!(
                    "app-key={}",
                    g.headers.get("app-key").cloned().unwrap_or_default()
                ));
                params.push(format!("timestamp={ts}"));
                params.sort();
                let want = md5s(&format!(
                    "{}?{}{}",
                    g.path,
                    params.join("&"),
                    app.app_secret
                ));
                g.headers.get("sign") == Some(&want)
            },
            r#"{"success":true,"error_code":0,"error_msg":""}"#,
        )
        .await
    };
    let h = start(cfg).await;
    h.set_callback(Platform::Xiaohongshu, Some(rx.url.clone()));
    let ids = h.generate_orders(Platform::Xiaohongshu, 3);
    h.advance_clock(1200);
    wait_for(&h, "xhs pushes", |l| {
        ids.iter()
            .all(|id| l.pushes.iter().any(|p| &p.order_id == id && p.acknowledged))
    })
    .await;
    let all = rx.all();
    // Registering the URL sends {"test":true} first, which must get HTTP 200.
    assert!(all.iter().any(|(g, _)| g.body == r#"{"test":true}"#));
    for (g, good) in all
        .into_iter()
        .filter(|(g, _)| g.body != r#"{"test":true}"#)
    {
        assert!(good);
        let arr: Value = serde_json::from_str(&g.body).expect("json");
        assert_eq!(arr[0]["sellerId"], app.seller_id.as_str());
        let data: Value =
            serde_json::from_str(arr[0]["data"].as_str().expect("string data")).expect("json");
        assert!(data["orderId"].as_str().expect("id").starts_with('P'));
    }
}

#[tokio::test]
async fn app_and_method_rate_limits() {
    let defaults = fahuo_sim::RateLimits::default();
    assert_eq!(
        (
            defaults.xiaohongshu_app_per_sec,
            defaults.xiaohongshu_method_per_sec
        ),
        (100, 200),
        "documented defaults"
    );
    let mut cfg = config();
    cfg.rate_limits.xiaohongshu_app_per_sec = 2;
    let h = start(cfg).await;
    let token = xhs_token(&h).await;
    let mut limited = 0;
    // Call until one is refused: on a slow machine fewer calls fit in a second.
    for _ in 0..60 {
        if limited > 0 {
            break;
        }
        if xhs(&h, "common.getExpressCompanyList", json!({}), &token).await["error_code"]
            == fahuo_sim::xiaohongshu::ERR_RATE_LIMITED
        {
            limited += 1;
        }
    }
    assert!(
        limited > 0,
        "calls beyond the per-second app limit are refused"
    );
    assert!(
        h.ledger()
            .rejected
            .iter()
            .any(|r| r.platform == Platform::Xiaohongshu && r.reason == "rate limit exceeded")
    );
}

#[tokio::test]
async fn decrypted_phone_is_the_phone_as_given() {
    let h = start(config()).await;
    let token = xhs_token(&h).await;
    let orders = h.orders(Some(Platform::Xiaohongshu));
    for o in orders
        .iter()
        .filter(|o| o.status == Status::ToShip)
        .take(12)
    {
        let d = xhs(
            &h,
            "order.getOrderDetail",
            json!({ "orderId": o.order_id }),
            &token,
        )
        .await;
        let oa = d["data"]["openAddressId"]
            .as_str()
            .expect("openAddressId")
            .to_string();
        let r = xhs(
            &h,
            "order.getOrderReceiverInfo",
            json!({ "receiverQueries": [{ "orderId": o.order_id, "openAddressId": oa }] }),
            &token,
        )
        .await;
        let ct = r["data"]["receiverInfos"][0]["receiverPhone"]
            .as_str()
            .expect("cipher")
            .to_string();
        let dec = xhs(&h, "data.batchDecrypt", json!({ "baseInfos": [{ "dataTag": o.order_id, "encryptedData": ct }], "actionType": 2 }), &token).await;
        assert_eq!(
            dec["data"]["dataInfoList"][0]["decryptedData"],
            o.receiver.phone_as_given().as_str()
        );
    }
}
