//! The console's work queues: 异常 (exceptions), 物流 (tracking) and 售后 (after-sales).
//! Each page lists exactly its owner's items (in urgency order where it applies), hides what
//! the role may not do, refuses other tenants' ids with 404 and roles without the right with
//! 403, masks receivers, and renders in English.

mod common;
use chrono::{Duration, FixedOffset, Utc};
use common::*;
use fahuo_domain::tracking::{SubState, TrackEvent, TrackState};
use fahuo_domain::{OrderId, ShopId, TenantId};
use fahuo_store::tracking::ParcelId;

both_backends!(
    exceptions_queue_is_most_urgent_first_and_only_the_owners,
    exceptions_buttons_follow_the_role_and_the_queue_says_when_it_is_clear,
    tracking_lists_filters_and_shows_a_timeline_in_china_time,
    after_sales_list_detail_and_actions_by_role,
    refunds_above_the_threshold_show_the_second_approval,
);

/// A merchant, the tenant id and a console client logged in as its owner.
async fn owner(s: &Server, app: &App, name: &str, user: &str) -> (Merchant, TenantId, Client) {
    let m = merchant(s, app, name, user).await;
    let c = client();
    login(&c, s, user, "owner-password").await;
    let (status, me) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/me", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    (m, TenantId(me["tenant_id"].as_i64().unwrap()), c)
}

async fn api(s: &Server, m: &Merchant, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, body) = call(
        &client(),
        method,
        format!("{}{path}", s.base),
        Some(&m.token),
        body,
    )
    .await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// A manual order with its own number and receiver; returns its id.
async fn order(
    s: &Server,
    m: &Merchant,
    number: &str,
    phone: &str,
    ship_by: Option<String>,
) -> i64 {
    let mut body = order_body(m.shop, number);
    body["receiver"]["phone"] = json!(phone);
    if let Some(t) = ship_by {
        body["ship_by"] = json!(t);
    }
    let created = api(s, m, Method::POST, "/api/v1/orders", Some(body)).await;
    created["order"]["id"].as_i64().unwrap()
}

/// The parcel of the shipped order was picked up 60 hours ago and last moved 50 hours ago:
/// stalled (物流停滞) for the radar's default 48 hours.
async fn stall_parcel(app: &App, tenant: TenantId, parcel: i64) -> chrono::DateTime<Utc> {
    let now = Utc::now();
    let last = now - Duration::hours(50);
    let events = vec![
        TrackEvent {
            at: now - Duration::hours(60),
            state: TrackState::PickedUp,
            sub_state: Some(SubState::Collected),
            text: "【杭州市】顺丰速运 已收取快件".into(),
            location: Some("杭州市".into()),
        },
        TrackEvent {
            at: last,
            state: TrackState::InTransit,
            sub_state: Some(SubState::Trunk),
            text: "【杭州市】快件已到达 杭州转运中心".into(),
            location: Some("杭州转运中心".into()),
        },
    ];
    app.store()
        .apply_trace(tenant, ParcelId(parcel), &events, false, None, now)
        .await
        .unwrap();
    app.radar_scan_tenant(tenant).await.unwrap();
    last
}

/// The `data-kind` of each row of the exceptions list, in page order.
fn kinds(html: &str) -> Vec<String> {
    html.split("<tr data-kind=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

fn attr_values(html: &str, prefix: &str) -> Vec<String> {
    html.split(prefix)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

fn assert_no_clear_pii(html: &str) {
    for secret in ["13812345678", "13700000000", "文三路90号", "张三"] {
        assert!(!html.contains(secret), "{secret} shown in clear");
    }
}

/// The page in English: the client chooses English (`/lang/en`, remembered in its cookie).
async fn english(c: &Client, s: &Server, path: &str) -> String {
    let resp = c.get(format!("{}/lang/en", s.base)).send().await.unwrap();
    assert!(resp.status().is_redirection());
    let (status, html) = page(c, s, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    html
}

async fn exceptions_queue_is_most_urgent_first_and_only_the_owners(db: TestDb) {
    let (s, app) = start(db).await;
    let (a, tenant, owner_a) = owner(&s, &app, "商家A", "alice").await;
    let (b, tenant_b, owner_b) = owner(&s, &app, "商家B", "bob").await;
    let now = Utc::now();
    // A: one order past its ship-by, one due in 2 hours, one held by hand, one blacklisted
    // receiver held by review, and the shipped order's parcel stalled.
    let late = order(
        &s,
        &a,
        "A-LATE",
        "13812345678",
        Some((now - Duration::hours(1)).to_rfc3339()),
    )
    .await;
    let due = order(
        &s,
        &a,
        "A-DUE",
        "13812345678",
        Some((now + Duration::hours(2)).to_rfc3339()),
    )
    .await;
    api(
        &s,
        &a,
        Method::POST,
        &format!("/api/v1/orders/{}/hold", a.order),
        Some(json!({"reason_code": "manual", "message": "客户要求暂缓发货"})),
    )
    .await;
    api(
        &s,
        &a,
        Method::POST,
        "/api/v1/blacklist",
        Some(json!({"phone": "13700000000", "reason": "多次拒收"})),
    )
    .await;
    let risky = order(&s, &a, "A-RISKY", "13700000000", None).await;
    api(
        &s,
        &a,
        Method::POST,
        &format!("/api/v1/orders/{risky}/review"),
        None,
    )
    .await;
    stall_parcel(&app, tenant, a.parcel).await;
    // B: an order of its own due soon, and its parcel stalled too.
    order(
        &s,
        &b,
        "B-DUE",
        "13812345678",
        Some((now + Duration::hours(3)).to_rfc3339()),
    )
    .await;
    stall_parcel(&app, tenant_b, b.parcel).await;

    let (status, html) = page(&owner_a, &s, "/exceptions").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    // Overdue deadline (7xxx) > deadline at risk (5xxx) > holds (4xxx) > stalled parcel (3xxx).
    assert_eq!(
        kinds(&html),
        [
            "deadline_at_risk",
            "deadline_at_risk",
            "hold",
            "hold",
            "stale"
        ],
        "{html}"
    );
    let orders = attr_values(&html, "data-order-id=\"");
    assert_eq!(orders[0], late.to_string());
    assert_eq!(orders[1], due.to_string());
    let held: Vec<String> = orders[2..4].to_vec();
    assert!(
        held.contains(&a.order.to_string()) && held.contains(&risky.to_string()),
        "{held:?}"
    );
    let urgencies: Vec<i64> = attr_values(&html, "data-urgency=\"")
        .iter()
        .map(|u| u.parse().unwrap())
        .collect();
    assert!(urgencies.windows(2).all(|w| w[0] >= w[1]), "{urgencies:?}");
    assert!(urgencies[0] >= 7000 && urgencies[4] < 4000, "{urgencies:?}");
    // The reasons people act on, and the parcel with its radar summary.
    assert!(html.contains("客户要求暂缓发货"));
    assert!(html.contains("风险收件人"), "the blacklist hold is named");
    assert!(html.contains("已超时"), "the late order says so");
    assert!(html.contains(&format!("href=\"/tracking/{}\"", a.parcel)));
    assert!(
        html.contains("物流 50 小时未更新") || html.contains("小时未更新"),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/orders/{late}\"")));
    // Receivers masked; B's orders nowhere.
    assert!(html.contains("138****5678"));
    assert_no_clear_pii(&html);
    assert!(!html.contains("B-DUE"));
    assert!(!html.contains(&format!("data-parcel-id=\"{}\"", b.parcel)));

    // Tabs filter by kind and count every kind.
    let (_, holds) = page(&owner_a, &s, "/exceptions?kind=hold").await;
    assert_eq!(kinds(&holds), ["hold", "hold"]);
    assert!(holds.contains("data-kind-tab=\"hold\""));
    let (_, stale) = page(&owner_a, &s, "/exceptions?kind=stale").await;
    assert_eq!(kinds(&stale), ["stale"]);
    assert!(
        stale.contains("全部 <span class=\"count\">5</span>"),
        "{stale}"
    );

    // B sees only its own.
    let (_, html_b) = page(&owner_b, &s, "/exceptions").await;
    assert_eq!(kinds(&html_b), ["deadline_at_risk", "stale"], "{html_b}");
    assert!(!html_b.contains("A-LATE") && !html_b.contains("A-DUE"));

    // English.
    let en = english(&owner_a, &s, "/exceptions").await;
    assert!(
        en.contains("Ship-by at risk") && en.contains("Stalled") && en.contains("Held"),
        "{en}"
    );
    assert!(en.contains("Risky receiver (blacklist)"));
    // The review rule's particulars in English (the blacklist's reason is the merchant's own
    // words); the hold put by hand reads as typed.
    assert!(
        en.contains("The receiver is on the blacklist (多次拒收): check the buyer"),
        "{en}"
    );
    assert!(en.contains("客户要求暂缓发货"));
    assert!(en.contains("lang=\"en\""));

    // Logged out: the login page, no data.
    let (status, html) = page(&client(), &s, "/exceptions").await;
    assert!(status.is_redirection(), "{status}");
    assert!(!html.contains("A-LATE"));
}

async fn exceptions_buttons_follow_the_role_and_the_queue_says_when_it_is_clear(db: TestDb) {
    let (s, app) = start(db).await;
    let (a, tenant, owner_a) = owner(&s, &app, "商家A", "alice").await;
    // Nothing held, nothing due, no alerts: the queue is clear.
    let (status, html) = page(&owner_a, &s, "/exceptions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"exceptions-empty\"") && html.contains("队列已清空"),
        "{html}"
    );
    assert!(kinds(&html).is_empty());

    api(
        &s,
        &a,
        Method::POST,
        &format!("/api/v1/orders/{}/hold", a.order),
        Some(json!({"reason_code": "manual", "message": "等客户确认颜色"})),
    )
    .await;
    stall_parcel(&app, tenant, a.parcel).await;

    // The owner may release the hold, refresh the parcel and reship; the stalled parcel's
    // buyer message draft is shown.
    let (_, html) = page(&owner_a, &s, "/exceptions").await;
    assert!(html.contains("data-action=\"release\""));
    assert!(html.contains(&format!("data-api=\"/api/v1/orders/{}/release\"", a.order)));
    assert!(html.contains("data-action=\"refresh\""));
    assert!(html.contains(&format!(
        "data-api=\"/api/v1/parcels/{}/refresh\"",
        a.parcel
    )));
    assert!(html.contains("data-action=\"reship\""));
    assert!(
        html.contains("data-action=\"contact-buyer\"") && html.contains("亲，"),
        "{html}"
    );

    // A warehouse clerk sees the queue but none of those buttons; customer service may
    // release (its review stage) and refresh.
    let (clerk, _) = sub_account(&s, &a, "wh1", "warehouse").await;
    let (status, html) = page(&clerk, &s, "/exceptions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kinds(&html), ["hold", "stale"]);
    for action in ["release", "refresh", "reship", "intercept"] {
        assert!(
            !html.contains(&format!("data-action=\"{action}\"")),
            "{action} shown to the warehouse"
        );
    }
    let (service, _) = sub_account(&s, &a, "cs1", "service").await;
    let (_, html) = page(&service, &s, "/exceptions").await;
    assert!(html.contains("data-action=\"release\"") && html.contains("data-action=\"refresh\""));
}

async fn tracking_lists_filters_and_shows_a_timeline_in_china_time(db: TestDb) {
    let (s, app) = start(db).await;
    let (a, tenant, owner_a) = owner(&s, &app, "商家A", "alice").await;
    let (b, tenant_b, owner_b) = owner(&s, &app, "商家B", "bob").await;
    let last = stall_parcel(&app, tenant, a.parcel).await;
    let _ = tenant_b;
    let number_a = attr_values(
        &page(&owner_a, &s, "/tracking").await.1,
        "<a class=\"mono\" href=\"/tracking/",
    );
    assert_eq!(number_a.len(), 1);
    assert_eq!(number_a[0], a.parcel.to_string());

    let (status, html) = page(&owner_a, &s, "/tracking").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        attr_values(&html, "data-parcel-id=\""),
        [a.parcel.to_string()]
    );
    assert!(html.contains("运输中"));
    assert!(!html.contains(&format!("data-parcel-id=\"{}\"", b.parcel)));
    // Filters: state, carrier, number, open alert.
    for (query, shown) in [
        ("?state=in_transit", true),
        ("?state=delivered", false),
        ("?carrier=SF", true),
        ("?carrier=ZTO", false),
        ("?alert=1", true),
        ("?tracking_no=SF0000000000000", false),
    ] {
        let (status, html) = page(&owner_a, &s, &format!("/tracking{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(
            html.contains(&format!("data-parcel-id=\"{}\"", a.parcel)),
            shown,
            "{query}"
        );
    }
    // B's parcel has no alert: only A's stalled one matches there.
    let (_, html_b) = page(&owner_b, &s, "/tracking?alert=1").await;
    assert!(
        attr_values(&html_b, "data-parcel-id=\"").is_empty(),
        "{html_b}"
    );

    // The parcel: its timeline newest first in China time, its order, its alert, actions.
    let (status, html) = page(&owner_a, &s, &format!("/tracking/{}", a.parcel)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let timeline = html
        .split("id=\"parcel-timeline\"")
        .nth(1)
        .unwrap()
        .split("</ol>")
        .next()
        .unwrap();
    assert_eq!(timeline.matches("<li").count(), 2, "{timeline}");
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let shown = last.with_timezone(&cst).format("%m-%d %H:%M").to_string();
    let first = timeline.split("<li").nth(1).unwrap();
    assert!(
        first.contains(&shown) && first.contains("杭州转运中心") && first.contains("运输中"),
        "{first}"
    );
    assert!(
        html.contains("parcel-orders") && html.contains(">M2<"),
        "the order it carries"
    );
    assert!(html.contains("物流停滞"), "its alert");
    for action in ["refresh", "dispute", "intercept"] {
        assert!(
            html.contains(&format!("data-action=\"{action}\"")),
            "{action}"
        );
    }
    assert_no_clear_pii(&html);

    // A viewer sees the timeline without the buttons.
    let (viewer, _) = sub_account(&s, &a, "viewer1", "viewer").await;
    let (status, html) = page(&viewer, &s, &format!("/tracking/{}", a.parcel)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("杭州转运中心"));
    assert!(!html.contains("data-action="), "no actions for a viewer");

    // Another tenant's parcel, or no parcel: 404 with nothing of it.
    for path in [
        format!("/tracking/{}", a.parcel),
        "/tracking/99999999".into(),
        "/tracking/abc".into(),
    ] {
        let (status, html) = page(&owner_b, &s, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !html.contains("杭州转运中心") && !html.contains("parcel-timeline"),
            "{path}"
        );
    }

    // English.
    let en = english(&owner_a, &s, &format!("/tracking/{}", a.parcel)).await;
    assert!(
        en.contains("Timeline") && en.contains("In transit") && en.contains("Stalled"),
        "{en}"
    );
}

async fn after_sales_list_detail_and_actions_by_role(db: TestDb) {
    let (s, app) = start(db).await;
    let (a, _, owner_a) = owner(&s, &app, "商家A", "alice").await;
    let (b, _, owner_b) = owner(&s, &app, "商家B", "bob").await;

    let (status, html) = page(&owner_a, &s, "/after-sales").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        attr_values(&html, "data-after-sale-id=\""),
        [a.after_sale.to_string()]
    );
    assert!(html.contains("理赔") && html.contains(">M2<"));
    // Tabs by kind and status, and the search by order number.
    for (query, shown) in [
        ("?kind=claim", true),
        ("?kind=refund_only", false),
        ("?status=completed", false),
        ("?order=M2", true),
        ("?order=M1", false),
        ("?order=NOPE", false),
    ] {
        let (status, html) = page(&owner_a, &s, &format!("/after-sales{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(
            attr_values(&html, "data-after-sale-id=\"") == [a.after_sale.to_string()],
            shown,
            "{query}: {html}"
        );
    }

    // The claim: amounts, parcel, history, and the settle form.
    let (status, html) = page(&owner_a, &s, &format!("/after-sales/{}", a.after_sale)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("¥39.00"), "claimed amount");
    assert!(html.contains("after-sale-history"));
    assert!(html.contains("data-action=\"settle\""));
    assert!(
        !html.contains("data-action=\"approve\""),
        "a claim is fahuo's own: nothing to approve"
    );
    assert_no_clear_pii(&html);

    // Customer service handles after-sales; a warehouse clerk may not see the page at all.
    let (service, _) = sub_account(&s, &a, "cs1", "service").await;
    let (status, html) = page(&service, &s, &format!("/after-sales/{}", a.after_sale)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-action=\"settle\""));
    let (clerk, _) = sub_account(&s, &a, "wh1", "warehouse").await;
    for path in [
        "/after-sales".to_string(),
        format!("/after-sales/{}", a.after_sale),
    ] {
        let (status, html) = page(&clerk, &s, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            !html.contains("¥39.00") && !html.contains("data-after-sale-id"),
            "{path}"
        );
    }

    // Settling through the API moves it on, and the page follows.
    api(
        &s,
        &a,
        Method::POST,
        &format!("/api/v1/after-sales/{}/settle", a.after_sale),
        Some(json!({"state": "settled", "settled_fen": 3000, "note": "快递赔付"})),
    )
    .await;
    let (_, html) = page(&owner_a, &s, &format!("/after-sales/{}", a.after_sale)).await;
    assert!(
        html.contains("¥30.00") && !html.contains("data-action=\"settle\""),
        "{html}"
    );

    // Another tenant's after-sale: 404 with none of it; B's list has only B's.
    let (status, html) = page(&owner_b, &s, &format!("/after-sales/{}", a.after_sale)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("¥30.00") && !html.contains("快递赔付"));
    let (_, html) = page(&owner_b, &s, "/after-sales").await;
    assert_eq!(
        attr_values(&html, "data-after-sale-id=\""),
        [b.after_sale.to_string()]
    );

    // English.
    let en = english(&owner_a, &s, &format!("/after-sales/{}", a.after_sale)).await;
    assert!(
        en.contains("Claim") && en.contains("History") && en.contains("Paid"),
        "{en}"
    );
}

async fn refunds_above_the_threshold_show_the_second_approval(db: TestDb) {
    let (s, app) = start(db).await;
    let (a, tenant, owner_a) = owner(&s, &app, "商家A", "alice").await;
    api(
        &s,
        &a,
        Method::PUT,
        "/api/v1/settings/after-sales",
        Some(json!({"approval_threshold_fen": 5000})),
    )
    .await;
    // A platform refund request as a sync stores it: ¥99, above the ¥50 threshold, for the
    // order's one line.
    let order_line = app
        .store()
        .order(tenant, OrderId(a.order))
        .await
        .unwrap()
        .lines[0]
        .id;
    let synced = fahuo_store::aftersales::SyncedAfterSale {
        shop_id: ShopId(a.shop),
        order_id: Some(OrderId(a.order)),
        platform_after_sale_id: "AS-1001".into(),
        platform_order_id: "M1".into(),
        kind: fahuo_domain::aftersale::AfterSaleKind::RefundOnly,
        status: fahuo_domain::aftersale::AfterSaleStatus::Requested,
        platform_status: "待商家处理".into(),
        reason: Some("不想要了".into()),
        refund_fen: Some(9900),
        lines: vec![fahuo_domain::aftersale::AfterSaleLine {
            order_line_id: Some(order_line),
            platform_line_id: None,
            platform_sku_id: Some("PSKU-9".into()),
            quantity: 1,
        }],
        return_parcel: None,
        created_at: Some(Utc::now()),
        updated_at: Some(Utc::now()),
    };
    let id = match app
        .store()
        .upsert_synced_after_sale(tenant, &synced, Utc::now())
        .await
        .unwrap()
    {
        fahuo_store::aftersales::Synced::Created(id) => id.get(),
        other => panic!("{other:?}"),
    };
    let (_, list) = page(
        &owner_a,
        &s,
        "/after-sales?kind=refund_only&status=requested",
    )
    .await;
    assert_eq!(
        attr_values(&list, "data-after-sale-id=\""),
        [id.to_string()]
    );
    assert!(list.contains("¥99.00") && list.contains("不想要了"));

    // The owner approves it as the second approval; customer service may only propose.
    let (_, html) = page(&owner_a, &s, &format!("/after-sales/{id}")).await;
    assert!(html.contains("id=\"second-approval\""), "{html}");
    assert!(
        html.contains("马克杯 · MUG") && !html.contains("PSKU-9"),
        "the line is named by the order's line: {html}"
    );
    assert!(html.contains("data-action=\"approve\"") && html.contains("data-action=\"reject\""));
    assert!(!html.contains("data-action=\"propose\""));
    let (service, _) = sub_account(&s, &a, "cs1", "service").await;
    let (_, html) = page(&service, &s, &format!("/after-sales/{id}")).await;
    assert!(html.contains("id=\"second-approval\""));
    assert!(html.contains("data-action=\"propose\"") && !html.contains("data-action=\"approve\""));
    let en = english(&service, &s, &format!("/after-sales/{id}")).await;
    assert!(
        en.contains("second approval") || en.contains("approval threshold"),
        "{en}"
    );
}
