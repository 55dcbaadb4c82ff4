//! A shop of 5,000 orders per platform: generation and a full WeChat cursor walk stay quick.

mod common;

use common::*;
use fahuo_sim::Platform;
use serde_json::json;

#[tokio::test]
async fn five_thousand_orders_per_shop() {
    let t0 = std::time::Instant::now();
    let mut cfg = config();
    cfg.orders = 5000;
    cfg.rate_limits.wechat_per_sec = 0;
    let h = start(cfg).await;
    let generated = t0.elapsed();
    let token = wx_token(&h).await;
    let end = h.now_ms() / 1000;
    let mut next_key = String::new();
    let mut n = 0;
    loop {
        let v = wx(
            &h,
            &token,
            "order/list/get",
            json!({ "update_time_range": { "start_time": end - 7 * 86_400, "end_time": end }, "page_size": 100, "next_key": next_key }),
        )
        .await;
        n += v["order_id_list"].as_array().expect("list").len();
        next_key = v["next_key"].as_str().expect("key").to_string();
        if v["has_more"] != true {
            break;
        }
    }
    assert_eq!(n, h.orders(Some(Platform::Wechat)).len());
    assert!(n > 4500);
    eprintln!(
        "generated 3x5000 in {generated:?}; walked {n} WeChat orders in {:?}",
        t0.elapsed() - generated
    );
}
