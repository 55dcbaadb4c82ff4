//! The order list (订单): tabs with counts, filters and searches that find exactly their
//! orders, both sorts paged by cursor without gaps or repeats, scope, tenants, masked PII,
//! English.

mod common;
use common::*;

use chrono::{DateTime, Duration, Utc};
use fahuo_app::orders::OrderQuery;
use fahuo_app::{Actor, AppError, Via};
use fahuo_domain::{OrderId, Role, Scope, ShopId};
use fahuo_store::orders::ListTab;
use std::collections::BTreeSet;

both_backends!(
    the_page_shows_tabs_with_counts_and_masked_rows,
    filters_and_searches_find_exactly_their_orders,
    pages_follow_each_sort_without_gaps_or_repeats,
    scope_limits_the_list_the_counts_and_every_order_use_case,
    warehouse_and_tag_filters_follow_packages_and_skus,
    rare_filters_search_in_bounded_windows,
    the_after_sale_tab_holds_an_order_while_an_after_sale_is_open,
);

/// Creates a manual order through the API and returns its id.
async fn order(s: &Server, m: &Merchant, body: Value) -> i64 {
    let (status, created) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders", s.base),
        Some(&m.token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["order"]["id"].as_i64().unwrap()
}

fn body(shop: i64, number: &str, name: &str, phone: &str, ship_by: Option<DateTime<Utc>>) -> Value {
    let mut b = order_body(shop, number);
    b["receiver"]["name"] = json!(name);
    b["receiver"]["phone"] = json!(phone);
    if let Some(t) = ship_by {
        b["ship_by"] = json!(t);
    }
    b
}

/// The ids the API lists for this query string (one page of up to 500).
async fn ids(s: &Server, m: &Merchant, qs: &str) -> BTreeSet<i64> {
    let (status, page) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?limit=500&{qs}", s.base),
        Some(&m.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{qs}: {page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

fn set(v: &[i64]) -> BTreeSet<i64> {
    v.iter().copied().collect()
}

/// The count shown on a tab of the page.
fn tab_count(html: &str, tab: &str) -> String {
    let at = html
        .find(&format!("data-tab=\"{tab}\""))
        .unwrap_or_else(|| panic!("no tab {tab}"));
    let rest = &html[at..];
    let start = rest.find("<span class=\"count\">").unwrap() + "<span class=\"count\">".len();
    rest[start..start + rest[start..].find('<').unwrap()].to_string()
}

async fn the_page_shows_tabs_with_counts_and_masked_rows(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let b_only = order(
        &s,
        &b,
        body(b.shop, "B-ONLY-1", "王五", "13700007777", None),
    )
    .await;
    let held = order(&s, &a, order_body(a.shop, "A-HELD")).await;
    let (status, _) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/orders/{held}/hold", s.base),
        Some(&a.token),
        Some(json!({"reason_code": "manual", "message": "call the buyer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let c = client();
    login(&c, &s, "alice", "owner-password").await;
    let (status, html) = page(&c, &s, "/orders").await;
    assert_eq!(status, StatusCode::OK);
    // A has M1 (new), M2 (shipped, with an open claim) and A-HELD (on hold).
    assert_eq!(tab_count(&html, "all"), "3");
    assert_eq!(tab_count(&html, "review"), "1");
    assert_eq!(tab_count(&html, "exception"), "1");
    assert_eq!(tab_count(&html, "shipped"), "1");
    assert_eq!(tab_count(&html, "after_sale"), "1");
    assert_eq!(tab_count(&html, "print"), "0");
    assert_eq!(tab_count(&html, "cancelled"), "0");
    for id in [a.order, held] {
        assert!(html.contains(&format!("tr data-order-id=\"{id}\"")), "{id}");
        assert!(html.contains(&format!("href=\"/orders/{id}\"")));
    }
    assert!(html.contains("张*") && html.contains("138****5678"));
    assert!(!html.contains("张三") && !html.contains("13812345678") && !html.contains("文三路"));
    // Another tenant's orders never appear, not even by searching their number.
    assert!(!html.contains("B-ONLY-1") && !html.contains(&format!("data-order-id=\"{b_only}\"")));
    let (_, html) = page(&c, &s, "/orders?tab=all&q=B-ONLY-1").await;
    assert!(!html.contains("tr data-order-id") && html.contains("没有符合条件的订单"));
    assert!(!ids(&s, &a, "tab=all").await.contains(&b_only));
    // The hooks of the browser tests and the bulk bar.
    for hook in [
        "id=\"order-search\"",
        "id=\"select-page\"",
        "id=\"select-all-matching\"",
        "data-bulk-action=\"print\"",
        "data-bulk-action=\"assign_supplier\"",
        "/static/orders.js",
    ] {
        assert!(html.contains(hook), "{hook}");
    }
    // A tab lists its orders only; the work tabs carry a live countdown when there is a
    // deadline (none here) and the exception tab holds the held order.
    let (_, html) = page(&c, &s, "/orders?tab=exception").await;
    assert!(html.contains(&format!("data-order-id=\"{held}\"")));
    assert!(!html.contains(&format!("data-order-id=\"{}\"", a.order)));
    // The 售后 tab: the shipped order with the open claim.
    let (_, html) = page(&c, &s, "/orders?tab=after_sale").await;
    assert!(
        html.contains("data-order-id=") && !html.contains(&format!("data-order-id=\"{held}\""))
    );
    // A bad filter is said, not a 500.
    let (status, html) = page(&c, &s, "/orders?tab=all&risk=soon").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("role=\"alert\""));
    // The matching count for "select all N matching".
    let (status, count) = call(
        &c,
        Method::GET,
        format!("{}/orders/count?tab=all", s.base),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count, json!({"count": 3, "more": false}));

    // English.
    page(&c, &s, "/lang/en").await;
    let (status, html) = page(&c, &s, "/orders?tab=review").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("To review") && html.contains("Select all matching orders"));
    assert!(html.contains("Ship by") && !html.contains("待审核"));

    // Every role may see the list (of its tenant): a warehouse sub-account gets the page.
    let (wh, _) = sub_account(&s, &a, "wh1", "warehouse").await;
    let (status, html) = page(&wh, &s, "/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("data-order-id=\"{}\"", a.order)));
    assert!(!html.contains("B-ONLY-1"));
    // Not logged in: the login page, no data.
    let (status, html) = page(&client(), &s, "/orders").await;
    assert!(status.is_redirection(), "{status}");
    assert!(!html.contains("data-order-id"));
}

async fn filters_and_searches_find_exactly_their_orders(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let now = Utc::now();
    let overdue = order(
        &s,
        &a,
        body(
            a.shop,
            "F-LATE",
            "李四",
            "13900001234",
            Some(now - Duration::hours(1)),
        ),
    )
    .await;
    let soon = order(
        &s,
        &a,
        body(
            a.shop,
            "F-SOON",
            "李 四",
            "13900005678",
            Some(now + Duration::hours(2)),
        ),
    )
    .await;
    let day = order(
        &s,
        &a,
        body(
            a.shop,
            "F-DAY",
            "王五",
            "13900009999",
            Some(now + Duration::hours(12)),
        ),
    )
    .await;
    let later = order(
        &s,
        &a,
        body(
            a.shop,
            "F-LATER",
            "Li Lei",
            "13900008888",
            Some(now + Duration::days(3)),
        ),
    )
    .await;
    let (_, shop2) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/shops", s.base),
        Some(&a.token),
        Some(json!({"platform": "manual", "name": "第二店", "platform_shop_id": "second"})),
    )
    .await;
    let shop2 = shop2["id"].as_i64().unwrap();
    let other_shop = order(&s, &a, body(shop2, "F-SHOP2", "赵六", "13900004321", None)).await;
    let b_same_phone = order(&s, &b, body(b.shop, "F-B", "李四", "13900001234", None)).await;
    let m2: i64 = *ids(&s, &a, "tab=shipped").await.iter().next().unwrap();
    let all = set(&[a.order, m2, overdue, soon, day, later, other_shop]);
    assert_eq!(ids(&s, &a, "tab=all").await, all);
    assert!(!ids(&s, &a, "").await.contains(&b_same_phone));

    // Tabs.
    assert_eq!(
        ids(&s, &a, "tab=review").await,
        set(&[a.order, overdue, soon, day, later, other_shop])
    );
    assert_eq!(ids(&s, &a, "tab=shipped").await, set(&[m2]));
    assert_eq!(ids(&s, &a, "tab=after_sale").await, set(&[m2]));
    assert_eq!(ids(&s, &a, "tab=cancelled").await, set(&[]));
    // Shop and platform.
    assert_eq!(
        ids(&s, &a, &format!("shop_id={shop2}")).await,
        set(&[other_shop])
    );
    assert_eq!(
        ids(&s, &a, &format!("tab=review&shop_id={}", a.shop))
            .await
            .len(),
        5
    );
    assert_eq!(ids(&s, &a, "platform=manual").await, all);
    assert_eq!(ids(&s, &a, "platform=douyin").await, set(&[]));
    // Carrier: the shipped order's write-back went by SF.
    assert_eq!(ids(&s, &a, "carrier=SF").await, set(&[m2]));
    assert_eq!(ids(&s, &a, "carrier=ZTO").await, set(&[]));
    // Deadline risk: only orders still to ship.
    assert_eq!(ids(&s, &a, "risk=overdue").await, set(&[overdue]));
    assert_eq!(ids(&s, &a, "risk=6h").await, set(&[soon]));
    assert_eq!(ids(&s, &a, "risk=24h").await, set(&[soon, day]));
    assert_eq!(
        ids(&s, &a, "tab=review&risk=24h&sort=created").await,
        set(&[soon, day])
    );
    // Created dates (China days): everything is from today; nothing from yesterday.
    let today = (now + Duration::hours(8)).date_naive();
    let yesterday = today.pred_opt().unwrap();
    assert_eq!(
        ids(&s, &a, &format!("created_from={today}&created_to={today}")).await,
        all
    );
    assert_eq!(
        ids(&s, &a, &format!("created_to={yesterday}")).await,
        set(&[])
    );
    assert_eq!(
        ids(
            &s,
            &a,
            &format!("created_from={}", today.succ_opt().unwrap())
        )
        .await,
        set(&[])
    );
    // Search: order number, waybill number, phone's last four, full name.
    assert_eq!(ids(&s, &a, "q=F-DAY").await, set(&[day]));
    let waybill = format!("SF{:013}", 1_385_628_716_739i64 + m2);
    assert_eq!(ids(&s, &a, &format!("q={waybill}")).await, set(&[m2]));
    assert_eq!(ids(&s, &a, &format!("waybill={waybill}")).await, set(&[m2]));
    assert_eq!(
        ids(&s, &b, &format!("q={waybill}")).await,
        set(&[]),
        "B cannot find A's parcel"
    );
    assert_eq!(
        ids(&s, &a, "q=1234").await,
        set(&[overdue]),
        "B's order with the same phone is not A's"
    );
    assert_eq!(ids(&s, &a, "q=5678").await, set(&[a.order, m2, soon]));
    assert_eq!(
        ids(&s, &a, "q=%E6%9D%8E%E5%9B%9B").await,
        set(&[overdue, soon]),
        "李四 and 李 四"
    );
    assert_eq!(ids(&s, &a, "name=li%20lei").await, set(&[later]));
    assert_eq!(
        ids(&s, &a, "q=%E5%BC%A0%E4%B8%89").await,
        set(&[a.order, m2]),
        "张三"
    );
    assert_eq!(
        ids(&s, &a, "q=%E5%BC%A0").await,
        set(&[]),
        "names match whole"
    );
    // Combinations narrow.
    assert_eq!(ids(&s, &a, "tab=review&q=5678&risk=6h").await, set(&[soon]));
    assert_eq!(
        ids(&s, &a, &format!("shop_id={shop2}&q=5678")).await,
        set(&[])
    );
    // Bad input is a 422 naming the field.
    let (status, body) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?risk=later", s.base),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = call(
        &client(),
        Method::GET,
        format!("{}/api/v1/orders?sort=deadline&after=12", s.base),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Pages through the API with `limit`; returns the ids in order.
async fn walk(s: &Server, m: &Merchant, qs: &str, limit: i64) -> (Vec<i64>, Vec<Value>) {
    let (mut out, mut items) = (Vec::new(), Vec::new());
    let mut after = String::new();
    for _ in 0..100 {
        let (status, page) = call(
            &client(),
            Method::GET,
            format!("{}/api/v1/orders?limit={limit}&{qs}{after}", s.base),
            Some(&m.token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let got = page["items"].as_array().unwrap();
        assert!(got.len() as i64 <= limit);
        for o in got {
            out.push(o["id"].as_i64().unwrap());
            items.push(o.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = format!("&after={c}"),
            None => return (out, items),
        }
    }
    panic!("paging never ended");
}

async fn pages_follow_each_sort_without_gaps_or_repeats(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let now = Utc::now();
    let mut made = vec![a.order];
    // Deadlines out of creation order, two equal (the id breaks the tie), two without one.
    for (i, hours) in [5, -2, 30, 5, 1, -7, 12].into_iter().enumerate() {
        made.push(
            order(
                &s,
                &a,
                body(
                    a.shop,
                    &format!("P{i}"),
                    "张三",
                    "13812345678",
                    Some(now + Duration::hours(hours)),
                ),
            )
            .await,
        );
    }
    for i in 0..2 {
        made.push(
            order(
                &s,
                &a,
                body(a.shop, &format!("PN{i}"), "张三", "13812345678", None),
            )
            .await,
        );
    }
    for limit in [1, 2, 3, 50] {
        let (by_deadline, items) = walk(&s, &a, "tab=review&sort=deadline", limit).await;
        assert_eq!(
            by_deadline.iter().copied().collect::<BTreeSet<_>>(),
            set(&made),
            "limit {limit}"
        );
        assert_eq!(by_deadline.len(), made.len(), "no repeats at limit {limit}");
        let key = |o: &Value| {
            let t = o["ship_by"]
                .as_str()
                .map(|t| DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis());
            (t.unwrap_or(i64::MAX), o["id"].as_i64().unwrap())
        };
        let keys: Vec<_> = items.iter().map(key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            keys, sorted,
            "soonest first, no deadline last, at limit {limit}"
        );

        let (by_created, items) = walk(&s, &a, "tab=all&sort=created", limit).await;
        assert_eq!(
            by_created.len(),
            made.len() + 1,
            "all of A's orders (with M2) at limit {limit}"
        );
        let keys: Vec<_> = items
            .iter()
            .map(|o| {
                (
                    DateTime::parse_from_rfc3339(o["created_at"].as_str().unwrap()).unwrap(),
                    o["id"].as_i64().unwrap(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(keys, sorted, "newest first at limit {limit}");
        let (newest, _) = walk(&s, &a, "", limit).await;
        let mut desc = newest.clone();
        desc.sort_by(|x, y| y.cmp(x));
        assert_eq!(newest, desc, "without tab and sort: newest id first");
    }
    // The console pages too: its next link carries the cursor and the filters.
    let c = client();
    login(&c, &s, "alice", "owner-password").await;
    let (_, html) = page(&c, &s, "/orders?tab=review&limit=4").await;
    let next = html.split("id=\"next-page\"").next().unwrap();
    let href = &next[next.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        href.contains("tab=review") && href.contains("after="),
        "{href}"
    );
    let (status, second) = page(&c, &s, &format!("{href}&limit=4")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second.matches("tr data-order-id=").count(), 4);
}

async fn scope_limits_the_list_the_counts_and_every_order_use_case(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let b = merchant(&s, &app, "商家B", "bob").await;
    let (_, shop2) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/shops", s.base),
        Some(&a.token),
        Some(json!({"platform": "manual", "name": "第二店", "platform_shop_id": "second"})),
    )
    .await;
    let shop2 = shop2["id"].as_i64().unwrap();
    let inside = order(&s, &a, order_body(shop2, "S-IN")).await;
    let tenant_a = app
        .store()
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.to_string() == "商家A")
        .unwrap()
        .id;
    let scoped = Actor {
        tenant_id: tenant_a,
        user_id: None,
        name: "cs1".into(),
        role: Role::Admin,
        scope: Scope {
            shops: Some(vec![ShopId(shop2)]),
            warehouses: None,
        },
        via: Via::Cli,
    };
    let all = OrderQuery {
        tab: Some("all".into()),
        ..Default::default()
    };
    let listed: BTreeSet<i64> = app
        .orders(&scoped, &all)
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| o.id.get())
        .collect();
    assert_eq!(listed, set(&[inside]));
    let counts = app.order_tab_counts(&scoped, &all, 100).await.unwrap();
    let count = |t: ListTab| counts.iter().find(|c| c.tab == t).unwrap().count;
    assert_eq!(count(ListTab::All), 1);
    assert_eq!(count(ListTab::Review), 1);
    assert_eq!(
        count(ListTab::Shipped),
        0,
        "the shipped order is in the other shop"
    );
    assert_eq!(count(ListTab::AfterSale), 0);
    assert_eq!(
        app.order_match_count(&scoped, &all, 100).await.unwrap(),
        (1, false)
    );
    // The per-state counts (GET /api/v1/order-counts) too.
    assert_eq!(
        app.order_counts(&scoped).await.unwrap(),
        vec![(fahuo_domain::OrderState::New, 1)]
    );
    // Asking for the other shop by filter finds nothing either.
    let other = OrderQuery {
        shop_id: Some(a.shop),
        ..all.clone()
    };
    assert!(app.orders(&scoped, &other).await.unwrap().items.is_empty());

    // Outside the scope (or another tenant's), an order does not exist for the actor.
    let outside = OrderId(a.order);
    let b_order = OrderId(b.order);
    for id in [outside, b_order] {
        assert!(matches!(
            app.order_in_scope(&scoped, id).await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            app.order(&scoped, id).await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            app.approve_order(&scoped, id).await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            app.hold_order(&scoped, id, "manual", "x").await,
            Err(AppError::NotFound)
        ));
        assert!(matches!(
            app.cancel_order(&scoped, id).await,
            Err(AppError::NotFound)
        ));
    }
    assert!(matches!(
        app.reveal_receiver(&scoped, outside).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        app.reveal_receiver(&scoped, b_order).await,
        Err(AppError::NotFound)
    ));
    assert!(app.reveal_receiver(&scoped, OrderId(inside)).await.is_ok());
    // Inside the scope they work.
    assert!(app.order_in_scope(&scoped, OrderId(inside)).await.is_ok());
    assert_eq!(
        app.order(&scoped, OrderId(inside)).await.unwrap().id.get(),
        inside
    );
    assert!(
        app.hold_order(&scoped, OrderId(inside), "manual", "check")
            .await
            .is_ok()
    );
    assert!(app.approve_order(&scoped, OrderId(inside)).await.is_ok());
    // And the whole tenant still sees both shops.
    let owner = Actor {
        scope: Scope::all(),
        ..scoped.clone()
    };
    assert!(app.orders(&owner, &all).await.unwrap().items.len() >= 3);
}

async fn warehouse_and_tag_filters_follow_packages_and_skus(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let c = client();
    let (status, body) = call(
        &c,
        Method::PUT,
        format!("{}/api/v1/skus/{}/tags", s.base, a.sku),
        Some(&a.token),
        Some(json!({"tags": ["fragile"]})),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = call(
        &c,
        Method::POST,
        format!("{}/api/v1/stock/import?apply=true", s.base),
        Some(&a.token),
        Some(Value::String(
            "仓库编码,商品编码,盘点数量\nHZ01,MUG,100\n".into(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, wh2) = call(&c, Method::POST, format!("{}/api/v1/warehouses", s.base), Some(&a.token), Some(json!({"code": "SH01", "name": "上海仓", "province": "上海市", "city": "上海市", "county": "浦东新区", "address": "张江路1号"}))).await;
    let wh2 = wh2["id"].as_i64().unwrap();
    app.review_pending().await.unwrap();
    // Review maps M1's line to the SKU and allocates it in HZ01: it is in 待打单, in the
    // warehouse, and carries the SKU's tag.
    assert_eq!(ids(&s, &a, "tab=print").await, set(&[a.order]));
    assert_eq!(
        ids(&s, &a, &format!("warehouse_id={}", a.warehouse)).await,
        set(&[a.order])
    );
    assert_eq!(ids(&s, &a, &format!("warehouse_id={wh2}")).await, set(&[]));
    assert_eq!(ids(&s, &a, "tag=fragile").await, set(&[a.order]));
    assert_eq!(ids(&s, &a, "tag=FRAGILE&tab=print").await, set(&[a.order]));
    assert_eq!(ids(&s, &a, "tag=cold_chain").await, set(&[]));
    let (_, page) = call(
        &c,
        Method::GET,
        format!("{}/api/v1/orders?tab=print", s.base),
        Some(&a.token),
        None,
    )
    .await;
    assert_eq!(page["items"][0]["tags"], json!(["fragile"]));
    assert_eq!(page["items"][0]["warehouse_id"], json!(a.warehouse));

    // The merchant changes the SKU's tags later: the orders already stored follow.
    let (status, body) = call(
        &c,
        Method::PUT,
        format!("{}/api/v1/skus/{}/tags", s.base, a.sku),
        Some(&a.token),
        Some(json!({"tags": ["cold_chain"]})),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(ids(&s, &a, "tag=fragile").await, set(&[]));
    assert_eq!(ids(&s, &a, "tag=cold_chain").await, set(&[a.order]));
    let (status, body) = call(
        &c,
        Method::PUT,
        format!("{}/api/v1/skus/{}/tags", s.base, a.sku),
        Some(&a.token),
        Some(json!({"tags": []})),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(ids(&s, &a, "tag=cold_chain").await, set(&[]));
}

/// A filter no index answers in sort order is checked on a bounded window of orders: a page
/// may then come back short, with a cursor that searches on, and walking on finds every
/// match exactly once.
async fn rare_filters_search_in_bounded_windows(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    let mut made = Vec::new();
    for i in 0..6 {
        made.push(order(&s, &a, order_body(a.shop, &format!("W{i}"))).await);
    }
    let tenant = app
        .store()
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.to_string() == "商家A")
        .unwrap()
        .id;
    // M2 (shipped, by SF) is the only SF order: newest first it comes after the W orders
    // and M1, so a window of 3 finds nothing at first and says so.
    let mut filter = fahuo_store::orders::OrderFilter {
        carrier: Some("SF".into()),
        sort: fahuo_store::orders::ListSort::Created,
        limit: 2,
        window: Some(3),
        ..Default::default()
    };
    let mut found = Vec::new();
    let mut partial_pages = 0;
    for _ in 0..20 {
        let page = app.store().order_list(tenant, &filter).await.unwrap();
        partial_pages += usize::from(page.partial);
        found.extend(page.items.iter().map(|o| o.id.get()));
        match page.next_cursor {
            Some(c) => filter.cursor = fahuo_store::orders::ListCursor::decode(&c),
            None => break,
        }
    }
    let m2: Vec<i64> = ids(&s, &a, "carrier=SF").await.into_iter().collect();
    assert_eq!(found, m2);
    assert!(partial_pages >= 1, "the first window holds no SF order");
    // A dense filter fills its pages as usual; in every sort, the same walk lists every
    // order once, in the sort's order.
    for sort in [
        fahuo_store::orders::ListSort::Deadline,
        fahuo_store::orders::ListSort::Created,
        fahuo_store::orders::ListSort::Newest,
    ] {
        let mut filter = fahuo_store::orders::OrderFilter {
            platform: Some(fahuo_domain::Platform::Manual),
            sort,
            limit: 2,
            window: Some(3),
            ..Default::default()
        };
        let mut all = Vec::new();
        for _ in 0..20 {
            let page = app.store().order_list(tenant, &filter).await.unwrap();
            all.extend(page.items.iter().map(|o| o.id.get()));
            match page.next_cursor {
                Some(c) if sort == fahuo_store::orders::ListSort::Newest => {
                    filter.after = Some(c.parse().unwrap())
                }
                Some(c) => filter.cursor = fahuo_store::orders::ListCursor::decode(&c),
                None => break,
            }
        }
        let unfiltered = fahuo_store::orders::OrderFilter {
            sort,
            limit: 500,
            ..Default::default()
        };
        let in_order: Vec<i64> = app
            .store()
            .order_list(tenant, &unfiltered)
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| o.id.get())
            .collect();
        assert_eq!(all.len(), made.len() + 2, "{sort:?}");
        assert_eq!(all, in_order, "{sort:?}");
    }
    // The matching count with a residual filter is exact within its window.
    let q = OrderQuery {
        carrier: Some("SF".into()),
        ..Default::default()
    };
    let owner = Actor::cli(tenant);
    assert_eq!(
        app.order_match_count(&owner, &q, 100).await.unwrap(),
        (1, false)
    );
}

async fn the_after_sale_tab_holds_an_order_while_an_after_sale_is_open(db: TestDb) {
    let (s, app) = start(db).await;
    let a = merchant(&s, &app, "商家A", "alice").await;
    // The fixture's shipped order has an open claim (理赔).
    let shipped: Vec<i64> = ids(&s, &a, "tab=shipped").await.into_iter().collect();
    assert_eq!(ids(&s, &a, "tab=after_sale").await, set(&shipped));
    for sort in ["deadline", "created"] {
        assert_eq!(
            ids(
                &s,
                &a,
                &format!("tab=after_sale&sort={sort}&shop_id={}", a.shop)
            )
            .await,
            set(&shipped)
        );
    }
    let c = client();
    login(&c, &s, "alice", "owner-password").await;
    let (_, html) = page(&c, &s, "/orders").await;
    assert_eq!(tab_count(&html, "after_sale"), "1");
    // Settled (the carrier refused to pay), the claim is closed: the order leaves 售后 and
    // stays 已发货.
    let (status, body) = call(
        &client(),
        Method::POST,
        format!("{}/api/v1/after-sales/{}/settle", s.base, a.after_sale),
        Some(&a.token),
        Some(json!({"state": "rejected", "note": "快递公司不予理赔"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&s, &a, "tab=after_sale").await, set(&[]));
    assert_eq!(ids(&s, &a, "tab=shipped").await, set(&shipped));
    let (_, html) = page(&c, &s, "/orders").await;
    assert_eq!(tab_count(&html, "after_sale"), "0");
}
