//! The dropship supplier's no-login page over real HTTP, on SQLite and PostgreSQL: a valid
//! link shows only that supplier's orders with receivers masked; an expired, tampered or
//! revoked link gets a 403 and no order data; "show address to ship" reveals one receiver and
//! is audited as the supplier; numbers entered in the form ship (or say why not); a POST
//! without the link's CSRF token is refused; a file of numbers is read row by row.

use chrono::{Duration, Utc};
use fahuo_app::catalog::{ShopInput, SkuInput};
use fahuo_app::dropship::SupplierInput;
use fahuo_app::orders::{LineInput, OrderInput, ReceiverInput};
use fahuo_app::{Actor, App, ManualClock, Settings};
use fahuo_domain::review::{ReasonCode, ReviewSettings};
use fahuo_domain::{OrderId, SupplierId};
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::sync::Arc;

struct World {
    base: String,
    app: App,
    clock: ManualClock,
    owner: Actor,
    api_token: String,
    supplier: SupplierId,
    other_supplier: SupplierId,
    /// The supplier's orders (张三丰, 李小龙) and another supplier's (王五六).
    mine: [OrderId; 2],
    theirs: OrderId,
    _db: TestDb,
}

fn sf(n: u64) -> String {
    format!("SF{:013}", 1_385_628_950_000u64 + n)
}

fn order(shop: i64, number: &str, code: &str, name: &str, phone: &str, detail: &str) -> OrderInput {
    OrderInput {
        shop_id: shop,
        platform_order_id: number.into(),
        paid_total_fen: None,
        freight_fen: 0,
        buyer_note: None,
        seller_note: None,
        ship_by: Some(Utc::now() + Duration::hours(48)),
        presale_ship_at: None,
        receiver: ReceiverInput {
            name: name.into(),
            phone: phone.into(),
            province: "浙江省".into(),
            city: "杭州市".into(),
            county: "西湖区".into(),
            detail: detail.into(),
        },
        lines: vec![LineInput {
            sku_code: Some(code.into()),
            title: format!("商品 {code}"),
            quantity: 2,
            unit_price_fen: 3900,
            paid_fen: None,
        }],
    }
}

async fn world(db: TestDb) -> World {
    fahuo_platforms::install_tls_provider();
    let clock = ManualClock::new(Utc::now());
    let app = App::new(
        db.store.clone(),
        Arc::new(clock.clone()),
        Settings::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(fahuo_server::serve(
        app.clone(),
        Default::default(),
        listener,
        std::future::pending(),
    ));
    let tenant = app
        .create_tenant(&fahuo_domain::Name::parse("代发商家").unwrap())
        .await
        .unwrap();
    let cli = Actor::cli(tenant.id);
    let user = app
        .add_user(
            &cli,
            fahuo_app::users::UserInput {
                username: fahuo_domain::Username::parse("boss").unwrap(),
                display_name: String::new(),
                role: fahuo_domain::Role::Owner,
                password: fahuo_app::auth::Password::parse("owner-password").unwrap(),
            },
        )
        .await
        .unwrap();
    let owner = Actor {
        user_id: Some(user.id),
        name: "boss".into(),
        ..cli.clone()
    };
    let api_token = app.create_api_token(&owner, "ERP").await.unwrap().secret;
    let settings = ReviewSettings {
        disabled: ReasonCode::ALL
            .into_iter()
            .filter(|c| !matches!(c, ReasonCode::OutOfStock | ReasonCode::UnmappedSku))
            .collect(),
        ..Default::default()
    };
    app.set_review_settings(&owner, None, Some(settings))
        .await
        .unwrap();
    let shop = app
        .create_shop(
            &owner,
            &ShopInput {
                platform: "manual".into(),
                name: "线下".into(),
                platform_shop_id: "offline".into(),
                api_base_url: None,
                credentials: None,
            },
        )
        .await
        .unwrap()
        .id
        .get();
    let mut suppliers = Vec::new();
    for (code, name) in [("MUG", "义乌杯厂"), ("POT", "景德镇窑")] {
        let sku = app
            .create_sku(
                &owner,
                &SkuInput {
                    code: code.into(),
                    name: format!("商品 {code}"),
                    barcode: None,
                    weight_g: 300,
                    length_mm: 0,
                    width_mm: 0,
                    height_mm: 0,
                    cost_fen: 0,
                },
            )
            .await
            .unwrap();
        let s = app
            .create_supplier(
                &owner,
                &SupplierInput {
                    name: name.into(),
                    contact: None,
                },
            )
            .await
            .unwrap();
        app.set_supplier_skus(&owner, s.id, &[sku.id])
            .await
            .unwrap();
        suppliers.push(s.id);
    }
    let mut ids = Vec::new();
    for (number, code, name, phone, detail) in [
        (
            "DS-1001",
            "MUG",
            "张三丰",
            "13812345678",
            "文三路90号东部软件园",
        ),
        ("DS-1002", "MUG", "李小龙", "13998765432", "天目山路181号"),
        ("DS-1003", "POT", "王五六", "13700001234", "教工路88号"),
    ] {
        let o = app
            .create_manual_order(&owner, &order(shop, number, code, name, phone, detail))
            .await
            .unwrap();
        app.review_order_now(&owner, o.1.id).await.unwrap();
        ids.push(o.1.id);
    }
    World {
        base,
        app,
        clock,
        owner,
        api_token,
        supplier: suppliers[0],
        other_supplier: suppliers[1],
        mine: [ids[0], ids[1]],
        theirs: ids[2],
        _db: db,
    }
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl World {
    /// A link made through the API, as the merchant's ERP or console would.
    async fn link(&self) -> String {
        let resp = client()
            .post(format!(
                "{}/api/v1/suppliers/{}/link",
                self.base, self.supplier
            ))
            .bearer_auth(&self.api_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.unwrap();
        let url = body["url"].as_str().unwrap().to_string();
        assert!(
            url.starts_with(&format!("{}/supplier/", self.base)),
            "{url}"
        );
        url
    }

    async fn get(&self, url: &str) -> (StatusCode, String) {
        let resp = client().get(url).send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }

    async fn post(&self, url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let resp = client().post(url).form(form).send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }

    async fn audit(&self, action: &str) -> Vec<fahuo_store::audit::AuditRecord> {
        self.app
            .store()
            .audit_log(
                self.owner.tenant_id,
                &fahuo_store::audit::AuditFilter {
                    limit: 500,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.entry.action == action)
            .collect()
    }
}

fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with the CSRF token")
        + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Nothing of any order: no order number, no receiver, masked or not.
fn assert_no_order_data(html: &str) {
    for secret in [
        "DS-100",
        "张",
        "李",
        "王",
        "138****5678",
        "13812345678",
        "西湖区",
        "文三路",
    ] {
        assert!(!html.contains(secret), "{secret:?} leaked: {html}");
    }
}

both_backends!(
    a_valid_link_shows_only_that_suppliers_orders_with_receivers_masked,
    expired_tampered_and_revoked_links_get_403_and_no_order_data,
    showing_the_address_to_ship_reveals_one_order_and_is_audited_as_the_supplier,
    a_number_entered_in_the_form_ships_and_a_bad_one_says_why,
    a_post_without_the_links_csrf_token_is_refused,
    a_file_of_numbers_uploaded_on_the_page_ships_its_rows,
);

async fn a_valid_link_shows_only_that_suppliers_orders_with_receivers_masked(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = resp.text().await.unwrap();
    assert!(html.contains("义乌杯厂"));
    assert!(html.contains("DS-1001") && html.contains("DS-1002"));
    assert!(!html.contains("DS-1003"), "another supplier's order");
    assert!(html.contains("张*") && html.contains("138****5678"));
    assert!(html.contains("西湖区"), "the district stays visible");
    for secret in [
        "张三丰",
        "13812345678",
        "李小龙",
        "13998765432",
        "文三路",
        "天目山路",
        "王五六",
    ] {
        assert!(!html.contains(secret), "{secret} must be masked");
    }
    assert!(!html.contains("<script"), "no script on the page");
    // The merchant's API lists the same lines, masked too.
    let lines: Value = client()
        .get(format!("{}/api/v1/suppliers/{}/lines", w.base, w.supplier))
        .bearer_auth(&w.api_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lines.as_array().unwrap().len(), 2);
    assert!(!lines.to_string().contains("13812345678"));
}

async fn expired_tampered_and_revoked_links_get_403_and_no_order_data(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    assert_eq!(w.get(&url).await.0, StatusCode::OK);
    // Tampered: the signature, the supplier, the expiry.
    let (prefix, token) = url.rsplit_once('/').unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    for forged in [
        format!(
            "{}.{}.{}.{flipped}{}",
            parts[0],
            parts[1],
            parts[2],
            &parts[3][1..]
        ),
        format!(
            "{}.{}.{}.{}",
            parts[0],
            w.supplier.get() + 1,
            parts[2],
            parts[3]
        ),
        format!(
            "{}.{}.{}.{}",
            parts[0],
            parts[1],
            parts[2].parse::<i64>().unwrap() + 60,
            parts[3]
        ),
        "nonsense".to_string(),
    ] {
        let (status, html) = w.get(&format!("{prefix}/{forged}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{forged}");
        assert_no_order_data(&html);
        // Its forms are refused as well.
        let (status, html) = w
            .post(
                &format!("{prefix}/{forged}/reveal"),
                &[("csrf", "x"), ("order_id", &w.mine[0].to_string())],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_no_order_data(&html);
    }
    // Revoked: the merchant rotates the supplier's secret.
    let resp = client()
        .post(format!(
            "{}/api/v1/suppliers/{}/link/rotate",
            w.base, w.supplier
        ))
        .bearer_auth(&w.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, html) = w.get(&url).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "revoked");
    assert_no_order_data(&html);
    // Expired: a fresh link, after supplier_link_days (7).
    let fresh = w.link().await;
    assert_eq!(w.get(&fresh).await.0, StatusCode::OK);
    w.clock.advance(Duration::days(7) + Duration::minutes(1));
    let (status, html) = w.get(&fresh).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "expired");
    assert_no_order_data(&html);
}

async fn showing_the_address_to_ship_reveals_one_order_and_is_audited_as_the_supplier(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    let (_, html) = w.get(&url).await;
    let csrf = csrf_of(&html);
    assert!(w.audit("receiver.reveal").await.is_empty());
    let (status, html) = w
        .post(
            &format!("{url}/reveal"),
            &[("csrf", &csrf), ("order_id", &w.mine[0].to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("张三丰") && html.contains("13812345678"));
    assert!(html.contains("浙江省杭州市西湖区文三路90号东部软件园"));
    assert!(
        !html.contains("李小龙") && !html.contains("13998765432"),
        "only that order"
    );
    let reveals = w.audit("receiver.reveal").await;
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0].entry.entity_id, Some(w.mine[0].get()));
    assert!(
        reveals[0]
            .entry
            .actor
            .name()
            .starts_with(&format!("supplier:{}", w.supplier)),
        "{:?}",
        reveals[0].entry.actor
    );
    // Another supplier's order cannot be revealed through this link.
    let (status, html) = w
        .post(
            &format!("{url}/reveal"),
            &[("csrf", &csrf), ("order_id", &w.theirs.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("王五六") && !html.contains("13700001234"));
    assert_eq!(w.audit("receiver.reveal").await.len(), 1);
}

async fn a_number_entered_in_the_form_ships_and_a_bad_one_says_why(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    let csrf = csrf_of(&w.get(&url).await.1);
    // A 中通 number typed under 顺丰: refused, with what to check.
    let (status, html) = w
        .post(
            &format!("{url}/ship"),
            &[
                ("csrf", &csrf),
                ("order_id", &w.mine[1].to_string()),
                ("carrier", "顺丰"),
                ("tracking_no", "73610555582883"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请核对快递公司"), "{html}");
    assert!(html.contains("DS-1002"), "the order stays on the page");
    // A valid number: accepted, a supplier shipment is queued, the order leaves the page.
    let number = sf(1);
    let (status, html) = w
        .post(
            &format!("{url}/ship"),
            &[
                ("csrf", &csrf),
                ("order_id", &w.mine[0].to_string()),
                ("carrier", "顺丰速运"),
                ("tracking_no", &number),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已提交"), "{html}");
    assert!(
        !html.contains("DS-1001\n") && !html.contains("订单号 DS-1001"),
        "shipped orders leave the list"
    );
    let shipments = w
        .app
        .shipments(
            &w.owner,
            &fahuo_store::shipping::ShipmentFilter {
                order_id: Some(w.mine[0]),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].shipment.tracking_no, number);
    assert_eq!(
        shipments[0].shipment.source,
        fahuo_domain::shipping::ShipmentSource::Supplier
    );
    // The same number for the other order: one parcel cannot go to two buyers.
    let (status, html) = w
        .post(
            &format!("{url}/ship"),
            &[
                ("csrf", &csrf),
                ("order_id", &w.mine[1].to_string()),
                ("carrier", "顺丰"),
                ("tracking_no", &number),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("已用于另一个订单"), "{html}");
}

async fn a_post_without_the_links_csrf_token_is_refused(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    let order = w.mine[0].to_string();
    let number = sf(2);
    for csrf in [None, Some("forged"), Some("")] {
        let mut form = vec![
            ("order_id", order.as_str()),
            ("carrier", "顺丰"),
            ("tracking_no", number.as_str()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let (status, html) = w.post(&format!("{url}/ship"), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert_no_order_data(&html);
        let (status, _) = w.post(&format!("{url}/reveal"), &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    // A CSRF token of another link (another supplier) does not fit this one.
    let other = w
        .app
        .supplier_link(&w.owner, w.other_supplier)
        .await
        .unwrap();
    let other_html = w.get(&format!("{}{}", w.base, other.path)).await.1;
    let (status, _) = w
        .post(
            &format!("{url}/ship"),
            &[
                ("csrf", &csrf_of(&other_html)),
                ("order_id", &order),
                ("carrier", "顺丰"),
                ("tracking_no", &number),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let none = w
        .app
        .shipments(
            &w.owner,
            &fahuo_store::shipping::ShipmentFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty(), "nothing was shipped");
    assert!(
        w.audit("receiver.reveal").await.is_empty(),
        "nothing was revealed"
    );
}

/// Needs `batch::file::parse_shipment_file` (written in parallel on another branch).
async fn a_file_of_numbers_uploaded_on_the_page_ships_its_rows(db: TestDb) {
    let w = world(db).await;
    let url = w.link().await;
    let csrf = csrf_of(&w.get(&url).await.1);
    let csv = format!(
        "订单号,快递公司,快递单号\nDS-1001,顺丰,{}\nDS-1002,顺丰,73610555582883\nDS-1003,顺丰,{}\n",
        sf(3),
        sf(4)
    );
    let boundary = "fahuoTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"numbers.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(csv.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let resp = client()
        .post(format!("{url}/upload"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let html = resp.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("1 行已提交"), "{html}");
    assert!(
        html.contains("请核对快递公司"),
        "the wrong-carrier row says why"
    );
    assert!(
        html.contains("不在您的待发货列表"),
        "another supplier's order is refused"
    );
    assert!(!html.contains("王五六"));
}
