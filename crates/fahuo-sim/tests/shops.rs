//! Several shops per platform: tokens are bound to one shop and see only its orders; WeChat
//! pushes use each shop's own keys.

mod common;

use common::*;
use fahuo_sim::{Platform, Status};
use serde_json::{Value, json};

fn two_shops() -> fahuo_sim::SimConfig {
    let mut cfg = config();
    cfg.shops_per_platform = 2;
    cfg.orders = 120;
    cfg
}

#[tokio::test]
async fn wechat_shops_are_separate_apps() {
    let h = start(two_shops()).await;
    let info = h.info();
    assert_eq!(info.wechat_shops.len(), 2);
    let app1 = &info.wechat_shops[1];
    assert_ne!(app1.appid, info.wechat.appid);
    assert_eq!(app1.encoding_aes_key.len(), 43);
    let url = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        h.base_url(Platform::Wechat),
        app1.appid,
        app1.secret
    );
    let v: Value =
        serde_json::from_str(&fahuo_sim::http::get(&url).await.expect("http").1).expect("json");
    let t1 = v["access_token"].as_str().expect("token").to_string();
    // Shop 0's secret does not open shop 1's app.
    let wrong = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
        h.base_url(Platform::Wechat),
        app1.appid,
        info.wechat.secret
    );
    let v: Value =
        serde_json::from_str(&fahuo_sim::http::get(&wrong).await.expect("http").1).expect("json");
    assert_eq!(v["errcode"], 40125);

    let all = h.orders(Some(Platform::Wechat));
    let end = h.now_ms() / 1000;
    let mut seen = Vec::new();
    let mut next_key = String::new();
    loop {
        let v = wx(&h, &t1, "order/list/get", json!({ "update_time_range": { "start_time": end - 7 * 86_400, "end_time": end }, "page_size": 100, "next_key": next_key })).await;
        seen.extend(
            v["order_id_list"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|x| x.as_str().expect("id").to_string()),
        );
        next_key = v["next_key"].as_str().expect("key").to_string();
        if v["has_more"] != true {
            break;
        }
    }
    let mut mine: Vec<String> = all
        .iter()
        .filter(|o| o.shop == 1)
        .map(|o| o.order_id.clone())
        .collect();
    mine.sort();
    seen.sort();
    assert_eq!(seen, mine);
    let theirs = all
        .iter()
        .find(|o| o.shop == 0 && o.status == Status::ToShip)
        .expect("shop 0 order");
    assert_eq!(
        wx(&h, &t1, "order/get", json!({ "order_id": theirs.order_id })).await["errcode"],
        40097
    );
    let ship = json!({ "order_id": theirs.order_id, "delivery_list": [{ "delivery_id": "SF", "waybill_id": "SF1", "deliver_type": 1 }] });
    assert_eq!(
        wx(&h, &t1, "order/delivery/send", ship).await["errcode"],
        40097
    );
    assert!(h.ledger().accepted_ships(&theirs.order_id).is_empty());
}

#[tokio::test]
async fn douyin_and_xiaohongshu_tokens_are_bound_to_a_shop() {
    let h = start(two_shops()).await;
    let info = h.info();
    let all_dy = h.orders(Some(Platform::Douyin));
    let v = dy_raw(&h, "token.create", &json!({ "code": "", "grant_type": "authorization_self", "shop_id": info.douyin_shops[1].shop_id }), None, None, true).await;
    assert_eq!(v["data"]["shop_id"], info.douyin_shops[1].shop_id);
    let t1 = v["data"]["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let unknown = dy_raw(
        &h,
        "token.create",
        &json!({ "code": "", "grant_type": "authorization_self", "shop_id": 1 }),
        None,
        None,
        true,
    )
    .await;
    assert_eq!(unknown["sub_code"], "dop.authorization-no-existed");
    let list = dy(
        &h,
        "order.searchList",
        json!({ "page": 0, "size": 100 }),
        &t1,
    )
    .await;
    let got = list["data"]["shop_order_list"].as_array().expect("list");
    assert_eq!(
        list["data"]["total"].as_u64(),
        Some(all_dy.iter().filter(|o| o.shop == 1).count() as u64)
    );
    assert!(
        got.iter()
            .all(|o| o["shop_id"] == info.douyin_shops[1].shop_id)
    );
    let theirs = all_dy.iter().find(|o| o.shop == 0).expect("shop 0 order");
    assert_eq!(
        dy(
            &h,
            "order.orderDetail",
            json!({ "shop_order_id": theirs.order_id }),
            &t1
        )
        .await["code"],
        50002
    );

    let code1 = info.xiaohongshu_sellers[1].auth_code.clone();
    let v = xhs_raw(
        &h,
        "oauth.getAccessToken",
        json!({ "code": code1 }),
        None,
        None,
    )
    .await;
    assert_eq!(
        v["data"]["sellerId"],
        info.xiaohongshu_sellers[1].seller_id.as_str()
    );
    let x1 = v["data"]["accessToken"]
        .as_str()
        .expect("token")
        .to_string();
    let all_x = h.orders(Some(Platform::Xiaohongshu));
    let mine = all_x.iter().find(|o| o.shop == 1).expect("seller 1 order");
    let theirs = all_x.iter().find(|o| o.shop == 0).expect("seller 0 order");
    assert_eq!(
        xhs(
            &h,
            "order.getOrderDetail",
            json!({ "orderId": mine.order_id }),
            &x1
        )
        .await["success"],
        true
    );
    assert_eq!(
        xhs(
            &h,
            "order.getOrderDetail",
            json!({ "orderId": theirs.order_id }),
            &x1
        )
        .await["success"],
        false
    );
}

#[tokio::test]
async fn wechat_pushes_use_the_shops_own_keys() {
    let cfg = two_shops();
    let apps: Vec<fahuo_sim::WechatApp> = (0..2).map(|k| cfg.wechat_app(k)).collect();
    let rx = {
        let apps = apps.clone();
        receiver(
            move |g| {
                // Pick the shop by the clear-text ToUserName, then check its signature.
                let body: Value = serde_json::from_str(&g.body).unwrap_or(Value::Null);
                let Some(app) = apps
                    .iter()
                    .find(|a| body["ToUserName"] == a.username.as_str())
                else {
                    return false;
                };
                let q: std::collections::HashMap<&str, &str> = g
                    .query
                    .split('&')
                    .filter_map(|p| p.split_once('='))
                    .collect();
                let mut parts = [
                    app.push_token.as_str(),
                    q["timestamp"],
                    q["nonce"],
                    body["Encrypt"].as_str().unwrap_or(""),
                ];
                parts.sort();
                use sha1::Digest;
                let sig: String = sha1::Sha1::digest(parts.concat().as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                sig == q["msg_signature"]
            },
            "success",
        )
        .await
    };
    let h = start(cfg).await;
    h.set_callback(Platform::Wechat, Some(rx.url.clone()));
    let ids = h.generate_orders_for(Platform::Wechat, 1, 3);
    h.advance_clock(1200);
    wait_for(&h, "shop 1 pushes", |l| {
        ids.iter()
            .all(|id| l.pushes.iter().any(|p| &p.order_id == id && p.acknowledged))
    })
    .await;
    let to_shop1 = rx
        .all()
        .iter()
        .filter(|(g, ok)| *ok && g.body.contains(&apps[1].username))
        .count();
    assert!(to_shop1 >= 3);
}
