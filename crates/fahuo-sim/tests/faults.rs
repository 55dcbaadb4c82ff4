//! Injected faults: 5xx, timeouts before/after processing, rate-limit answers, and push faults
//! (duplicates, out-of-order, forged signatures, retries until acknowledged).

mod common;

use common::*;
use fahuo_sim::{Platform, PushKind, ShipOutcome, Status};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn api_faults_of_every_kind() {
    let h = start(config()).await;
    let token = wx_token(&h).await;
    h.set_fault_rate(1.0);
    let url = format!(
        "{}/channels/ec/order/deliverycompanylist/get?access_token={token}",
        h.base_url(Platform::Wechat)
    );
    let (mut http5xx, mut limited, mut timeouts, mut late_ok) = (0, 0, 0, 0);
    for _ in 0..40 {
        // The client gives up after 100 ms; injected timeouts stall for 200 ms.
        match fahuo_sim::http::request(
            "POST",
            &url,
            &[],
            b"{}".to_vec(),
            Duration::from_millis(100),
        )
        .await
        {
            Err(e) if e == "timeout" => timeouts += 1,
            Ok((s, _)) if s >= 500 => http5xx += 1,
            Ok((200, body)) => {
                let v: Value = serde_json::from_str(&body).expect("json");
                if v["errcode"] == 45011 {
                    limited += 1;
                } else {
                    late_ok += 1;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        http5xx > 0 && limited > 0 && timeouts > 0,
        "5xx {http5xx}, limited {limited}, timeouts {timeouts}"
    );
    assert_eq!(late_ok, 0, "with fault rate 1 every call is faulted");
    let reasons: Vec<String> = h
        .ledger()
        .rejected
        .iter()
        .map(|r| r.reason.clone())
        .collect();
    for want in ["injected fault: 5xx", "injected fault: rate-limit answer"] {
        assert!(reasons.iter().any(|r| r == want), "{want} in {reasons:?}");
    }
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("injected fault: timeout"))
    );
}

#[tokio::test]
async fn retried_shipments_land_exactly_once() {
    let h = start(config()).await;
    let token = dy_token(&h).await;
    let orders: Vec<_> = h
        .orders(Some(Platform::Douyin))
        .into_iter()
        .filter(|o| o.status == Status::ToShip && o.refund == fahuo_sim::model::Refund::None)
        .take(24)
        .collect();
    h.set_fault_rate(0.5);
    let mut saw_timeout = 0;
    for (n, o) in orders.iter().enumerate() {
        let no = format!("SF{:013}", n);
        let p = json!({ "order_id": o.order_id, "company_code": "shunfeng", "logistics_code": no });
        // Retry until the emulator gives a definite answer, as an adapter's job queue would.
        for _ in 0..20 {
            let app = &h.config().douyin;
            let pj = sorted_json(&p);
            let sign = dy_sign(
                &app.app_key,
                &app.app_secret,
                "order.logisticsAdd",
                &pj,
                "1763000000",
                true,
            );
            let url = format!(
                "{}/order/logisticsAdd?app_key={}&method=order.logisticsAdd&timestamp=1763000000&v=2&sign={sign}&sign_method=hmac-sha256&access_token={token}",
                h.base_url(Platform::Douyin),
                app.app_key
            );
            let headers = [("content-type".to_string(), "application/json".to_string())];
            match fahuo_sim::http::request(
                "POST",
                &url,
                &headers,
                pj.into_bytes(),
                Duration::from_millis(100),
            )
            .await
            {
                Ok((200, body)) => {
                    let v: Value = serde_json::from_str(&body).expect("json");
                    if v["code"] == 10000
                        || v["sub_code"]
                            .as_str()
                            .is_some_and(|s| s.contains("business-failed"))
                    {
                        break;
                    }
                }
                Err(_) => saw_timeout += 1,
                _ => {}
            }
        }
    }
    assert!(saw_timeout > 0);
    let l = h.ledger();
    for o in &orders {
        assert_eq!(
            l.accepted_ships(&o.order_id).len(),
            1,
            "order {} shipped exactly once",
            o.order_id
        );
        let lo = l
            .orders
            .iter()
            .find(|x| x.order_id == o.order_id)
            .expect("order");
        assert_eq!(lo.status, 3);
    }
    // Some shipments were processed although the client saw a timeout: the retry met "already shipped".
    assert!(
        l.ships
            .iter()
            .any(|s| s.outcome == ShipOutcome::AlreadyShipped)
    );
}

#[tokio::test]
async fn push_duplicates_reordering_and_forgeries() {
    let cfg = config();
    let app = cfg.douyin.clone();
    let rx = receiver(
        move |g| {
            g.headers.get("event-sign").is_some_and(|s| {
                *s == md5s(&format!("{}{}{}", app.app_key, g.body, app.app_secret))
            })
        },
        r#"{"code":0,"msg":"success"}"#,
    )
    .await;
    let h = start(cfg).await;
    h.set_callback(Platform::Douyin, Some(rx.url.clone()));
    h.set_fault_rate(1.0);
    let ids = h.generate_orders(Platform::Douyin, 12);
    h.advance_clock(1200);
    wait_for(&h, "faulty pushes", |l| {
        let kinds: Vec<PushKind> = l.pushes.iter().map(|p| p.kind).collect();
        [PushKind::Duplicate, PushKind::Delayed, PushKind::Forged]
            .iter()
            .all(|k| kinds.contains(k))
            && ids
                .iter()
                .all(|id| l.pushes.iter().any(|p| &p.order_id == id && p.acknowledged))
    })
    .await;
    assert!(
        h.wait_pushes_idle(Duration::from_secs(10)).await,
        "every push delivered or given up"
    );
    let l = h.ledger();
    for p in &l.pushes {
        match p.kind {
            PushKind::Forged => assert!(
                !p.acknowledged && p.http_status == Some(401),
                "forged push refused: {p:?}"
            ),
            _ => assert!(p.acknowledged, "genuine push acknowledged: {p:?}"),
        }
    }
    assert!(rx.all().iter().any(|(_, good)| !good));
}

/// Every delivery is signed when it is sent: a retry carries the emulator's clock at the
/// retry, not the first attempt's timestamp, so a receiver's freshness window judges each
/// request. Shown on Xiaohongshu, whose body is the same in every delivery of a message (WeChat
/// encrypts each delivery afresh, and signs through the same path).
#[tokio::test]
async fn each_delivery_is_signed_with_the_clock_at_sending() {
    use std::sync::{Arc, Mutex, OnceLock};
    let sim: Arc<OnceLock<fahuo_sim::SimHandle>> = Arc::new(OnceLock::new());
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let clock = sim.clone();
    // Refuses the first delivery of every message; ten minutes pass before its retry.
    let rx = receiver(
        move |g| {
            let first = seen.lock().expect("lock").insert(g.body.clone());
            if first {
                clock.get().expect("started").advance_clock(600);
            }
            !first
        },
        r#"{"success":true,"error_code":0,"error_msg":""}"#,
    )
    .await;
    assert!(sim.set(start(config()).await).is_ok());
    let h = sim.get().expect("started");
    h.set_callback(Platform::Xiaohongshu, Some(rx.url.clone()));
    let ids = h.generate_orders(Platform::Xiaohongshu, 2);
    h.advance_clock(1200);
    wait_for(h, "retries", |l| {
        ids.iter().all(|id| {
            l.pushes
                .iter()
                .any(|p| &p.order_id == id && p.kind == PushKind::Retry && p.acknowledged)
        })
    })
    .await;
    let signed_at = |g: &Got| -> i64 {
        let ts = g.headers.get("timestamp").expect("a signed timestamp");
        ts.parse().expect("seconds")
    };
    let all = rx.all();
    let mut compared = 0;
    for (first, _) in all.iter().filter(|(_, good)| !good) {
        let Some((retry, _)) = all.iter().find(|(g, good)| *good && g.body == first.body) else {
            continue; // the URL check ({"test":true}) is not retried
        };
        assert!(
            signed_at(retry) >= signed_at(first) + 600,
            "the retry is signed at its own sending: {} then {}",
            signed_at(first),
            signed_at(retry)
        );
        compared += 1;
    }
    assert!(compared >= 2, "{compared} retries compared");
}

#[tokio::test]
async fn unacknowledged_pushes_are_retried() {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let seen = bodies.clone();
    // Refuses the first delivery of every message, accepts the same message again.
    let rx = receiver(
        move |g| !seen.lock().expect("lock").insert(g.body.clone()),
        r#"{"success":true,"error_code":0,"error_msg":""}"#,
    )
    .await;
    let h = start(config()).await;
    h.set_callback(Platform::Xiaohongshu, Some(rx.url.clone()));
    let ids = h.generate_orders(Platform::Xiaohongshu, 2);
    h.advance_clock(1200);
    let retried = |l: &fahuo_sim::LedgerSnapshot, p: &fahuo_sim::ledger::PushRecord| {
        l.pushes.iter().any(|r| {
            r.kind == PushKind::Retry
                && r.order_id == p.order_id
                && r.event == p.event
                && r.attempt == 2
                && r.acknowledged
        })
    };
    let l = wait_for(&h, "retries", |l| {
        ids.iter()
            .all(|id| l.pushes.iter().any(|p| &p.order_id == id))
            && l.pushes
                .iter()
                .filter(|p| p.kind == PushKind::Normal)
                .all(|p| retried(l, p))
    })
    .await;
    for p in l.pushes.iter().filter(|p| p.kind == PushKind::Normal) {
        assert!(!p.acknowledged, "first delivery refused");
        assert!(retried(&l, p), "one acknowledged retry for {p:?}");
    }
}
