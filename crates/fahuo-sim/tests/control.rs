//! The `/_sim/` control endpoints over HTTP, and the Douyin/XHS post-payment review state.

mod common;

use common::*;
use fahuo_sim::Platform;
use serde_json::{Value, json};

async fn get_json(url: &str) -> (u16, Value) {
    let (s, body) = fahuo_sim::http::get(url).await.expect("http");
    (
        s,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn control_endpoints() {
    let h = start(config()).await;
    let base = format!("http://{}", h.addr());

    let (s, info) = get_json(&format!("{base}/_sim/info")).await;
    assert_eq!(s, 200);
    assert_eq!(info["douyin_base_url"], format!("{base}/douyin"));
    assert_eq!(info["wechat"]["appid"], h.config().wechat.appid.as_str());

    let (_, made) = post(
        &format!("{base}/_sim/orders"),
        &[],
        &json!({ "platform": "douyin", "count": 20 }).to_string(),
    )
    .await;
    let ids: Vec<String> = made["douyin"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect();
    assert_eq!(ids.len(), 20);
    // Not placed yet: they arrive within the next minute of sim time.
    assert_eq!(
        get_json(&format!("{base}/_sim/orders/{}", ids[0])).await.0,
        404
    );

    let (_, clock) = post(
        &format!("{base}/_sim/clock"),
        &[],
        r#"{"advance_secs": 60}"#,
    )
    .await;
    assert!(clock["clock_ms"].as_i64().expect("ms") >= (NOW + 60) * 1000);
    // Step the clock until some order sits in the post-payment review.
    let token = dy_token(&h).await;
    let mut in_review = None;
    for _ in 0..20 {
        for id in &ids {
            let (s, o) = get_json(&format!("{base}/_sim/orders/{id}")).await;
            assert_eq!(s, 200);
            if o["status"] == "paid_review" {
                in_review = Some(id.clone());
            }
        }
        if in_review.is_some() {
            break;
        }
        post(
            &format!("{base}/_sim/clock"),
            &[],
            r#"{"advance_secs": 60}"#,
        )
        .await;
    }
    let in_review = in_review.expect("some paid order goes through review");
    // Douyin shows the review state as 105 and refuses to ship it; then 2 once it clears.
    let d = dy(
        &h,
        "order.orderDetail",
        json!({ "shop_order_id": in_review }),
        &token,
    )
    .await;
    assert_eq!(d["data"]["shop_order_detail"]["order_status"], 105);
    let ship = dy(&h, "order.logisticsAdd", json!({ "order_id": in_review, "company_code": "yuantong", "logistics_code": "YT1234567890123" }), &token).await;
    assert_eq!(ship["code"], 50002, "not shippable during review");
    post(
        &format!("{base}/_sim/clock"),
        &[],
        r#"{"advance_secs": 700}"#,
    )
    .await;
    let d = dy(
        &h,
        "order.orderDetail",
        json!({ "shop_order_id": in_review }),
        &token,
    )
    .await;
    assert_eq!(d["data"]["shop_order_detail"]["order_status"], 2);

    let (_, f) = post(&format!("{base}/_sim/faults"), &[], r#"{"rate": 0.25}"#).await;
    assert_eq!(f["fault_rate"], 0.25);
    let (_, l) = get_json(&format!("{base}/_sim/ledger?platform=douyin&orders=false")).await;
    assert_eq!(l["fault_rate"], 0.25);
    assert_eq!(l["orders"].as_array().expect("orders").len(), 0);
    assert!(
        l["ships"]
            .as_array()
            .expect("ships")
            .iter()
            .all(|s| s["platform"] == "douyin")
    );
    let (_, full) = get_json(&format!("{base}/_sim/ledger?platform=douyin")).await;
    let n = full["orders"].as_array().expect("orders").len();
    assert_eq!(n, h.orders(Some(Platform::Douyin)).len());
    assert_eq!(
        get_json(&format!("{base}/_sim/ledger?platform=taobao"))
            .await
            .0,
        400
    );

    let (_, cbs) = post(
        &format!("{base}/_sim/callbacks"),
        &[],
        r#"{"douyin": "http://127.0.0.1:9/hook"}"#,
    )
    .await;
    assert_eq!(cbs["douyin"], "http://127.0.0.1:9/hook");
    let (_, cbs) = post(
        &format!("{base}/_sim/callbacks"),
        &[],
        r#"{"douyin": null}"#,
    )
    .await;
    assert!(cbs.get("douyin").is_none());
}
