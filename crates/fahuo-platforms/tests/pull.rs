//! Pulling a whole emulated shop: every order exactly once, equal field by field to the
//! emulator's truth after decryption — with and without injected faults — and tokens that
//! renew themselves when the platform's clock says they expired.

mod common;

use common::*;
use fahuo_platforms::*;
use std::collections::HashSet;

async fn pull_everything_and_compare(p: Platform, seed: u64, faults: f64) {
    let sim = start(sim_config(seed, 250)).await;
    sim.set_fault_rate(faults);
    // Small pages and batches: more calls, so more of them meet a fault.
    let opts = ClientOptions {
        page_size: if faults > 0.0 { 10 } else { 100 },
        douyin_decrypt_batch: if faults > 0.0 { 10 } else { 50 },
        ..test_options()
    };
    let c = client(&sim, p, opts);
    let (from, to) = whole_history(&sim);
    let pulled = c.pull_window(from, to).await.expect("pull");
    sim.set_fault_rate(0.0);
    let truth = sim.orders(Some(sim_platform(p)));
    assert!(truth.len() >= 250, "the sim has its orders");
    let ids: Vec<&str> = pulled
        .iter()
        .map(|o| o.order.platform_order_id.as_str())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "each order exactly once");
    let want: HashSet<&str> = truth.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(unique, want, "every order, nothing else");
    for t in &truth {
        let got = pulled
            .iter()
            .find(|o| o.order.platform_order_id.as_str() == t.order_id)
            .expect("pulled");
        assert_same(p, got, t);
    }
    // Every kind of order was exercised.
    let statuses: HashSet<_> = pulled.iter().map(|o| o.status.clone()).collect();
    for s in [
        PlatformStatus::ToShip,
        PlatformStatus::Shipped,
        PlatformStatus::Completed,
    ] {
        assert!(statuses.contains(&s), "{p}: no {s:?} order in the sample");
    }
    if faults > 0.0 {
        let rejected = sim.ledger().rejected.len();
        assert!(rejected >= 5, "faults were injected ({rejected})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_pull_equals_the_truth() {
    pull_everything_and_compare(Platform::Wechat, 21, 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_pull_equals_the_truth() {
    pull_everything_and_compare(Platform::Douyin, 22, 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xiaohongshu_pull_equals_the_truth() {
    pull_everything_and_compare(Platform::Xiaohongshu, 23, 0.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_pull_survives_ten_percent_faults() {
    pull_everything_and_compare(Platform::Wechat, 31, 0.1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_pull_survives_ten_percent_faults() {
    pull_everything_and_compare(Platform::Douyin, 32, 0.1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xiaohongshu_pull_survives_ten_percent_faults() {
    pull_everything_and_compare(Platform::Xiaohongshu, 33, 0.1).await;
}

/// The platform's clock moves past the token's life: the next call is refused, the client
/// renews the token once and carries on, and `credentials()` hands the new token over.
async fn token_renews_after_expiry(p: Platform, advance_secs: i64) {
    let sim = start(sim_config(41, 30)).await;
    let c = client(&sim, p, test_options());
    assert!(
        c.ensure_token(chrono::Utc::now()).await.expect("token"),
        "first token obtained"
    );
    assert!(
        !c.ensure_token(chrono::Utc::now()).await.expect("token"),
        "still fresh"
    );
    let first = c.credentials();
    assert!(first.access_token_expires_at.is_some());
    let some = sim.orders(Some(sim_platform(p)))[0].order_id.clone();
    c.pull_order(&some).await.expect("before expiry");
    sim.advance_clock(advance_secs);
    let again = c
        .pull_order(&some)
        .await
        .expect("after expiry, renewed transparently");
    assert_eq!(again.order.platform_order_id.as_str(), some);
    let renewed = c.credentials();
    assert_ne!(renewed.access_token, first.access_token, "a new token");
    assert!(
        !format!("{renewed:?}").contains(renewed.access_token.as_deref().unwrap_or("x")),
        "Debug hides the token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_token_renews_after_expiry() {
    token_renews_after_expiry(Platform::Wechat, 7201).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_token_renews_after_expiry() {
    token_renews_after_expiry(Platform::Douyin, 7 * 86_400 + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xiaohongshu_token_renews_after_expiry() {
    token_renews_after_expiry(Platform::Xiaohongshu, 7 * 86_400 + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_decrypt_quota_is_a_typed_error_not_a_retry_loop() {
    for p in [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu] {
        let mut cfg = sim_config(51, 60);
        cfg.decrypt_quota = 0;
        let sim = start(cfg).await;
        let c = client(&sim, p, test_options());
        let (from, to) = whole_history(&sim);
        match c.pull_window(from, to).await {
            Err(e @ PlatformError::DecryptQuota { .. }) => assert!(!e.is_retryable()),
            other => panic!("{p}: expected DecryptQuota, got {other:?}"),
        }
    }
}

/// Compile-time: a client is `Send + Sync`, and its pulls can run on spawned tasks.
#[allow(dead_code)]
fn clients_can_be_shared_and_their_pulls_spawned(c: std::sync::Arc<PlatformClient>) {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn spawnable<T: Send + 'static>(_: &T) {}
    send_sync(&*c);
    let now = chrono::Utc::now();
    let c2 = c.clone();
    spawnable(&async move { c2.pull_window(now, now).await });
    spawnable(&async move { c.pull_order("1").await });
}

/// The brief's scale: 5,000 orders with 10 % faults, every one pulled and equal to the truth.
/// Slow (minutes; per-order detail and decrypt calls), so run on demand:
/// `cargo test -p fahuo-platforms --test pull -- --ignored five_thousand`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn five_thousand_orders_with_ten_percent_faults() {
    for p in [Platform::Douyin, Platform::Xiaohongshu, Platform::Wechat] {
        let sim = start(sim_config(71, 5000)).await;
        sim.set_fault_rate(0.1);
        let c = client(
            &sim,
            p,
            ClientOptions {
                rate_per_sec: 180.0,
                concurrency: 16,
                ..test_options()
            },
        );
        let (from, to) = whole_history(&sim);
        let pulled = c.pull_window(from, to).await.expect("pull");
        sim.set_fault_rate(0.0);
        let truth = sim.orders(Some(sim_platform(p)));
        assert_eq!(pulled.len(), truth.len(), "{p}: every order once");
        for t in &truth {
            let got = pulled
                .iter()
                .find(|o| o.order.platform_order_id.as_str() == t.order_id)
                .expect("pulled");
            assert_same(p, got, t);
        }
    }
}
