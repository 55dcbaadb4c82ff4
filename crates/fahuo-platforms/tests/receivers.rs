//! Decryption quota against the emulators over real HTTP: a receiver whose fingerprint the
//! caller already holds is not decrypted again, a buyer's new address is, and a WeChat decode
//! refused because the order changed meanwhile reads the order again instead of failing.

mod common;

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use common::*;
use fahuo_domain::PlatformOrderId;
use fahuo_platforms::*;
use fahuo_sim::{SimHandle, Status};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const PLATFORMS: [Platform; 3] = [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu];

/// Successful decryptions the emulator counted for one order (Douyin and Xiaohongshu count
/// each cipher: name, phone, address).
fn decrypts_of(sim: &SimHandle, order: &str) -> usize {
    sim.ledger()
        .decrypts
        .iter()
        .filter(|d| d.order_id == order)
        .count()
}

fn all_decrypts(sim: &SimHandle) -> usize {
    sim.ledger().decrypts.len()
}

/// The fingerprints of the receivers a pull decrypted, as a caller would have stored them.
fn fingerprints(pulled: &[PulledOrder]) -> Vec<(PlatformOrderId, String)> {
    pulled
        .iter()
        .filter(|p| p.receiver.decrypted().is_some())
        .filter_map(|p| {
            Some((
                p.platform_order_id().clone(),
                p.receiver_fingerprint.clone()?,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_read_again_decrypts_only_what_the_caller_does_not_hold() {
    for p in PLATFORMS {
        let sim = start(sim_config(81, 60)).await;
        let c = client(&sim, p, test_options());
        let (from, to) = whole_history(&sim);
        let first = c.pull_window(from, to).await.expect("first pull");
        let spent = all_decrypts(&sim);
        let decrypted = first.iter().filter(|o| o.receiver.decrypted().is_some());
        assert!(
            spent > 0 && decrypted.count() > 0,
            "{p}: the first pull decrypts"
        );
        let known: KnownReceivers = fingerprints(&first).into_iter().collect();

        let sealed = c.read_window(from, to).await.expect("read again");
        assert_eq!(all_decrypts(&sim), spent, "{p}: reading decrypts nothing");
        let again = c.open_receivers(sealed, &known).await.expect("open again");
        assert_eq!(all_decrypts(&sim), spent, "{p}: nothing decrypted twice");
        for (a, b) in first.iter().zip(&again) {
            let id = a.platform_order_id();
            assert_eq!(id, b.platform_order_id());
            assert_eq!(a.receiver_fingerprint, b.receiver_fingerprint, "{p} {id}");
            match &a.receiver {
                ReceiverState::Decrypted(_) => {
                    assert_eq!(b.receiver, ReceiverState::Unchanged, "{p} {id}")
                }
                other => assert_eq!(&b.receiver, other, "{p} {id}: as before"),
            }
        }

        // A fingerprint the caller holds for another receiver: that one is decrypted again.
        let stale = first
            .iter()
            .find(|o| o.receiver.decrypted().is_some())
            .expect("a decrypted order")
            .platform_order_id()
            .clone();
        let known: KnownReceivers = fingerprints(&first)
            .into_iter()
            .map(|(id, f)| {
                if id == stale {
                    (id, "0".repeat(64))
                } else {
                    (id, f)
                }
            })
            .collect();
        let sealed = c.read_window(from, to).await.expect("read");
        let third = c.open_receivers(sealed, &known).await.expect("open");
        let reopened: Vec<_> = third
            .iter()
            .filter(|o| o.receiver.decrypted().is_some())
            .map(|o| o.platform_order_id().clone())
            .collect();
        assert_eq!(reopened, vec![stale], "{p}: only the stale one");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyers_new_address_changes_the_fingerprint_and_is_decrypted() {
    for p in PLATFORMS {
        let sim = start(sim_config(82, 60)).await;
        let c = client(&sim, p, test_options());
        let order = sim
            .orders(Some(sim_platform(p)))
            .into_iter()
            .find(|o| o.status == Status::ToShip)
            .expect("an order waiting to ship")
            .order_id;
        let before = c.pull_order(&order).await.expect("pull");
        let known: KnownReceivers = fingerprints(std::slice::from_ref(&before))
            .into_iter()
            .collect();
        let spent = decrypts_of(&sim, &order);
        assert!(spent > 0, "{p}: decrypted once");

        sim.advance_clock(5);
        assert!(sim.change_address(&order), "{p}: the buyer moved");
        let sealed = c.read_order(&order).await.expect("read");
        assert_ne!(
            sealed.receiver_fingerprint(),
            before.receiver_fingerprint.as_deref(),
            "{p}: a new address, a new fingerprint"
        );
        let after = c
            .open_receivers(vec![sealed], &known)
            .await
            .expect("open")
            .pop()
            .expect("the order");
        assert_eq!(decrypts_of(&sim, &order), 2 * spent, "{p}: decrypted again");
        let truth = sim.order(&order).expect("truth");
        assert_same(p, &after, &truth);
        assert_ne!(after.receiver, before.receiver, "{p}: the new receiver");
    }
}

/// A proxy in front of the emulator that, once armed, runs `before` just before it forwards
/// the next WeChat decode: the order changes between `order/get` and the decode.
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    armed: AtomicBool,
    before: Box<dyn Fn() + Send + Sync>,
}

async fn proxy(upstream: String, before: Box<dyn Fn() + Send + Sync>) -> (String, Arc<Proxy>) {
    let state = Arc::new(Proxy {
        upstream,
        http: http_client(),
        armed: AtomicBool::new(false),
        before,
    });
    let app = axum::Router::new()
        .fallback(|State(p): State<Arc<Proxy>>, req: Request| async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
            if parts.uri.path().ends_with("order/sensitiveinfo/decode")
                && p.armed.swap(false, Ordering::SeqCst)
            {
                (p.before)();
            }
            let url = format!("{}{}", p.upstream, parts.uri);
            let answer = p
                .http
                .request(parts.method, url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("the emulator answers");
            let status =
                axum::http::StatusCode::from_u16(answer.status().as_u16()).expect("status");
            (status, answer.bytes().await.expect("answer body")).into_response()
        })
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}"), state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wechat_decode_refused_because_the_order_changed_reads_the_order_again() {
    let sim = Arc::new(start(sim_config(83, 60)).await);
    // Shipped, so that the platform completes it five days later: after that, no decode.
    let order = sim
        .orders(Some(fahuo_sim::Platform::Wechat))
        .into_iter()
        .find(|o| o.status == Status::ToShip && o.refund == fahuo_sim::model::Refund::None)
        .expect("an order waiting to ship")
        .order_id;
    let direct = client(&sim, Platform::Wechat, test_options());
    let shipped = direct
        .ship(&ShipRequest {
            platform_order_id: order.clone(),
            carrier_code: "SF".into(),
            carrier_name: "顺丰速运".into(),
            tracking_no: "SF1234567890123".into(),
            items: vec![],
        })
        .await;
    assert_eq!(shipped, Ok(ShipOutcome::Shipped));

    let completes = {
        let sim = sim.clone();
        Box::new(move || sim.advance_clock(6 * 86_400)) as Box<dyn Fn() + Send + Sync>
    };
    let base = sim.base_url(fahuo_sim::Platform::Wechat);
    let (host, _) = base.split_at(base.find("/wechat").expect("path"));
    let (via, proxy) = proxy(host.to_string(), completes).await;
    let (shop, creds) = credentials(&sim, Platform::Wechat);
    let c = PlatformClient::new(
        Connection {
            platform: Platform::Wechat,
            base_url: format!("{via}/wechat"),
            platform_shop_id: shop,
            credentials: creds,
        },
        http_client(),
        test_options(),
    )
    .expect("client");
    let sealed = c.read_order(&order).await.expect("read");
    assert_eq!(sealed.platform_order_id().as_str(), order);
    proxy.armed.store(true, Ordering::SeqCst);
    let pulled = c
        .open_receivers(vec![sealed], &KnownReceivers::none())
        .await
        .expect("the changed order is read again, not a failure");
    assert_eq!(pulled[0].status, PlatformStatus::Completed);
    assert!(
        matches!(
            pulled[0].receiver,
            ReceiverState::Problem(ReceiverProblem::NotDecrypted { .. })
        ),
        "a completed order is not decoded: {:?}",
        pulled[0].receiver
    );
    // (The clock's jump also expired the token: that refusal is renewed and retried.)
    let state_changed = sim
        .ledger()
        .rejected
        .iter()
        .filter(|r| r.api.ends_with("order/sensitiveinfo/decode") && r.code == "40097")
        .count();
    assert_eq!(state_changed, 1, "refused once, then not asked again");
    assert_eq!(decrypts_of(&sim, &order), 0);
}
