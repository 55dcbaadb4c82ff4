//! The console speaks one language at a time. A merchant with orders in every state, holds,
//! a print job, a stalled parcel, after-sales and settings is crawled as its owner — every page
//! of the navigation and every console link found on them (order, print job, parcel and
//! after-sale pages, tabs, settings sections) — in English and in Chinese, on SQLite and
//! PostgreSQL:
//!
//! - in English, what a person sees (text, and the title, aria-label, placeholder and alt
//!   attributes; not scripts, styles or other attributes) holds no Chinese character except in
//!   what the merchant typed or a platform or carrier sent, listed exactly below;
//! - in either language, no raw code (`awaiting_print`, `pack_mismatch`, `order.approve`) is
//!   shown where a label belongs.

mod common;
use chrono::{Duration, Utc};
use common::*;
use fahuo_domain::TenantId;
use fahuo_domain::tracking::{SubState, TrackEvent, TrackState};
use fahuo_store::tracking::ParcelId;
use std::collections::{BTreeSet, VecDeque};

both_backends!(
    english_pages_show_no_chinese_but_the_merchants_own_data,
    chinese_pages_show_labels_not_codes,
    import_row_errors_have_an_english_text_for_english_pages,
);

/// What the merchant typed, or a platform or carrier sent, in Chinese: the only Chinese an
/// English page may show. Exact strings, longest first (so that a longer one is removed before
/// a shorter one inside it).
const MERCHANT_DATA: &[&str] = &[
    // The carrier's own tracking text.
    "【杭州市】顺丰速运 已收取快件",
    "【杭州市】快件已到达 杭州转运中心",
    "杭州转运中心",
    // The merchant's records (tests/common's merchant and this file's orders).
    "语言测试商家",
    "暂缓发货：等买家确认颜色",
    "多次拒收的收件人",
    "中通 快递鸟",
    "杭州仓发货组",
    "仓前街道1号",
    "文三路90号",
    "义乌杯厂",
    "王经理",
    "快递100",
    "马克杯",
    "杭州仓",
    "浙江省",
    "杭州市",
    "西湖区",
    "余杭区",
    "线下",
    "破损",
    "卡纸了",
    // Masked receivers (张三, 李四 as 张*, 李*).
    "张*",
    "李*",
];

/// The merchant of `tests/common` (owner `lang-owner`) with more: an order held by hand, one
/// held by review (blacklisted receiver), one past its ship-by, one printed through the 中通
/// account on the e-waybill emulator, one cancelled, the shipped order's parcel stalled, and a
/// reprint.
struct Populated {
    s: Server,
    owner: Client,
    _sim: fahuo_sim::SimHandle,
}

async fn api(s: &Server, m: &Merchant, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, out) = call(
        &client(),
        method,
        format!("{}{path}", s.base),
        Some(&m.token),
        body,
    )
    .await;
    assert!(status.is_success(), "{path}: {status} {out}");
    out
}

async fn new_order(
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

async fn populated(db: TestDb) -> Populated {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "语言测试商家", "lang-owner").await;
    let owner = client();
    login(&owner, &s, "lang-owner", "owner-password").await;
    let me = api(&s, &m, Method::GET, "/api/v1/me", None).await;
    let tenant = TenantId(me["tenant_id"].as_i64().unwrap());

    // A 中通 account at the emulated 快递鸟, and stock to print against.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = fahuo_sim::start(fahuo_sim::SimConfig::new(7, 0), listener).unwrap();
    let info = sim.info();
    let kd = info
        .kdniao
        .accounts
        .iter()
        .find(|x| x.shipper_code == "ZTO")
        .unwrap();
    api(
        &s,
        &m,
        Method::POST,
        "/api/v1/carrier-accounts",
        Some(json!({
            "name": "中通 快递鸟", "service": "kdniao", "carrier": "ZTO",
            "base_url": info.kdniao_base_url, "sender_name": "杭州仓发货组",
            "sender_phone": "13900001111", "quota": 10000,
            "credentials": {"api_key": info.kdniao.ebusiness_id, "api_secret": info.kdniao.app_key,
                "account": kd.customer_name, "account_secret": kd.customer_pwd}
        })),
    )
    .await;
    api(
        &s,
        &m,
        Method::POST,
        "/api/v1/stock/movements",
        Some(json!({"warehouse_id": m.warehouse, "sku_id": m.sku, "kind": "inbound", "quantity": 100})),
    )
    .await;
    api(
        &s,
        &m,
        Method::PUT,
        &format!("/api/v1/warehouses/{}/carrier-rules", m.warehouse),
        Some(rule_set()),
    )
    .await;

    // Held by hand, held by review, late, printed, cancelled.
    api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/orders/{}/hold", m.order),
        Some(json!({"reason_code": "manual", "message": "暂缓发货：等买家确认颜色"})),
    )
    .await;
    api(
        &s,
        &m,
        Method::POST,
        "/api/v1/blacklist",
        Some(json!({"phone": "13700000000", "reason": "多次拒收的收件人"})),
    )
    .await;
    let risky = new_order(&s, &m, "LANG-RISKY", "13700000000", None).await;
    api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/orders/{risky}/review"),
        None,
    )
    .await;
    let now = Utc::now();
    new_order(
        &s,
        &m,
        "LANG-LATE",
        "13812345678",
        Some((now - Duration::hours(1)).to_rfc3339()),
    )
    .await;
    new_order(
        &s,
        &m,
        "LANG-DUE",
        "13812345678",
        Some((now + Duration::hours(2)).to_rfc3339()),
    )
    .await;
    let printed = new_order(&s, &m, "LANG-PRINT", "13812345678", None).await;
    api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/orders/{printed}/approve"),
        None,
    )
    .await;
    let job = api(
        &s,
        &m,
        Method::POST,
        "/api/v1/orders/bulk",
        Some(json!({"action": "print", "ids": [printed]})),
    )
    .await;
    let job_id = job["print_job_id"].as_i64().expect("a print job");
    api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/print-jobs/{job_id}/reprint"),
        Some(json!({"reason": "卡纸了"})),
    )
    .await;
    let cancelled = new_order(&s, &m, "LANG-CANCEL", "13812345678", None).await;
    api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/orders/{cancelled}/cancel"),
        None,
    )
    .await;

    // The shipped order's parcel stalled: a radar anomaly.
    let events = vec![
        TrackEvent {
            at: now - Duration::hours(60),
            state: TrackState::PickedUp,
            sub_state: Some(SubState::Collected),
            text: "【杭州市】顺丰速运 已收取快件".into(),
            location: Some("杭州市".into()),
        },
        TrackEvent {
            at: now - Duration::hours(50),
            state: TrackState::InTransit,
            sub_state: Some(SubState::Trunk),
            text: "【杭州市】快件已到达 杭州转运中心".into(),
            location: Some("杭州转运中心".into()),
        },
    ];
    app.store()
        .apply_trace(tenant, ParcelId(m.parcel), &events, false, None, now)
        .await
        .unwrap();
    app.radar_scan_tenant(tenant).await.unwrap();

    Populated {
        s,
        owner,
        _sim: sim,
    }
}

/// Where a crawl starts: the navigation's pages, and pages only a form or script leads to.
fn start_pages() -> Vec<String> {
    let mut pages: Vec<String> = [
        "/orders",
        "/exceptions",
        "/printing",
        "/pack",
        "/imports",
        "/tracking",
        "/after-sales",
        "/reports",
        "/settings",
        "/accounts",
        "/audit",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    let this_year = Utc::now().format("%Y").to_string();
    pages.push(format!(
        "/reports?from={this_year}-01-01&to={this_year}-12-31"
    ));
    pages
}

/// A console page worth following: not the API, a file, the language switch or logging out.
fn followable(href: &str) -> Option<String> {
    let href = href.replace("&amp;", "&");
    if !href.starts_with('/') || href.starts_with("//") {
        return None;
    }
    let path = href.split(['?', '#']).next().unwrap_or("");
    let skip = [
        "/api/", "/static/", "/lang/", "/logout", "/login", "/invite/",
    ];
    if skip.iter().any(|p| path.starts_with(p)) || path.ends_with(".pdf") {
        return None;
    }
    Some(href.split('#').next().unwrap().to_string())
}

fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| followable(rest.split('"').next().unwrap()))
        .collect()
}

/// Every console page reachable from [`start_pages`] (at most 200), with its HTML. Each must
/// answer 200.
async fn crawl(c: &Client, s: &Server) -> Vec<(String, String)> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<String> = start_pages().into();
    let mut pages = Vec::new();
    while let Some(path) = queue.pop_front() {
        if !seen.insert(path.clone()) || pages.len() >= 200 {
            continue;
        }
        let (status, html) = page(c, s, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        for link in hrefs(&html) {
            if !seen.contains(&link) {
                queue.push_back(link);
            }
        }
        pages.push((path, html));
    }
    for detail in ["/orders/", "/printing/", "/tracking/", "/after-sales/"] {
        assert!(
            pages.iter().any(|(p, _)| p.starts_with(detail)),
            "the crawl reached no {detail} page: {seen:?}"
        );
    }
    pages
}

/// What a person sees of a page: its text and the title, aria-label, placeholder and alt
/// attributes, one piece per line; not scripts, styles, comments or other attributes, not what
/// a text box holds (the person's own input, like an input's value), and not an element marked
/// as Chinese on purpose (`lang="zh…"`: the link to the Chinese pages, a message drafted for a
/// Chinese buyer) or as not to be translated (`translate="no"`: a stored record shown as it
/// was stored, such as an audit entry's before and after).
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push('\n');
        rest = &rest[open..];
        let mut skipped = false;
        for (start, end) in [
            ("<script", "</script>"),
            ("<style", "</style>"),
            ("<!--", "-->"),
            ("<textarea", "</textarea>"),
        ] {
            if rest.starts_with(start)
                && let Some(close) = rest.find(end)
            {
                rest = &rest[close + end.len()..];
                skipped = true;
                break;
            }
        }
        if skipped {
            continue;
        }
        let Some(close) = tag_end(rest) else { break };
        let tag = &rest[..close];
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let kept_as_is =
            (tag.contains(" lang=\"zh") && name != "html") || tag.contains(" translate=\"no\"");
        if kept_as_is && !name.is_empty() {
            rest = &rest[element_end(rest, &name)..];
            continue;
        }
        for attr in ["title=\"", "aria-label=\"", "placeholder=\"", "alt=\""] {
            for value in tag.split(&format!(" {attr}")).skip(1) {
                out.push_str(value.split('"').next().unwrap());
                out.push('\n');
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Where the element opening at the start of `s` ends (after its closing tag, counting
/// nested elements of the same name; after the tag itself for an element without one).
fn element_end(s: &str, name: &str) -> usize {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 0;
    let mut i = 0;
    while i < s.len() {
        let here = &s[i..];
        if here.starts_with(&close) {
            depth -= 1;
            if depth == 0 {
                return i + close.len();
            }
            i += close.len();
        } else if here.starts_with(&open) && here[open.len()..].starts_with([' ', '>']) {
            depth += 1;
            i += open.len();
        } else {
            i += here.chars().next().unwrap().len_utf8();
        }
    }
    tag_end(s).map_or(s.len(), |e| e + 1)
}

/// The end of the tag at the start of `s` (its `>`), skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn is_chinese(ch: char) -> bool {
    matches!(ch,
        '\u{3000}'..='\u{303f}' // 、。「」【】
        | '\u{3400}'..='\u{4dbf}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{ff00}'..='\u{ffef}' // ：，（）
    )
}

/// The lines of `text` that still hold Chinese once the merchant's data is taken out.
fn stray_chinese(text: &str) -> Vec<String> {
    let mut text = text.to_string();
    for data in MERCHANT_DATA {
        text = text.replace(data, " ");
    }
    text.lines()
        .map(str::trim)
        .filter(|l| l.chars().any(is_chinese))
        .map(str::to_string)
        .collect()
}

/// Words that look like codes rather than labels: `snake_case` or `thing.verb`.
fn raw_codes(text: &str) -> Vec<String> {
    // Template placeholders ({order_no}) are written as they must be typed.
    let mut plain = String::new();
    let mut inside = false;
    for ch in text.chars() {
        match ch {
            '{' => inside = true,
            '}' => inside = false,
            _ if !inside => plain.push(ch),
            _ => {}
        }
    }
    plain
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| {
            let lower_word = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
            let snake = w.contains('_') && w.split('_').all(lower_word);
            let dotted = w.contains('.')
                && w.split('.')
                    .all(|p| p.len() > 1 && p.split('_').all(lower_word))
                && !w.ends_with(".pdf")
                && !w.ends_with(".csv")
                && !w.ends_with(".xlsx");
            snake || dotted
        })
        .map(str::to_string)
        .collect()
}

async fn choose(c: &Client, s: &Server, lang: &str) {
    let resp = c
        .get(format!("{}/lang/{lang}", s.base))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
}

/// Every finding as "page: text", for one failure message that lists them all.
fn report(found: &[(String, String)]) -> String {
    let mut lines: Vec<String> = found.iter().map(|(p, t)| format!("{p}: {t}")).collect();
    lines.dedup();
    lines.join("\n")
}

async fn english_pages_show_no_chinese_but_the_merchants_own_data(db: TestDb) {
    let p = populated(db).await;
    choose(&p.owner, &p.s, "en").await;
    let pages = crawl(&p.owner, &p.s).await;
    let mut chinese = Vec::new();
    let mut codes = Vec::new();
    for (path, html) in &pages {
        assert!(html.contains("lang=\"en\""), "{path} is not in English");
        let text = visible_text(html);
        chinese.extend(stray_chinese(&text).into_iter().map(|t| (path.clone(), t)));
        codes.extend(raw_codes(&text).into_iter().map(|t| (path.clone(), t)));
    }
    assert!(
        chinese.is_empty(),
        "Chinese on English pages ({} of {} pages crawled):\n{}",
        chinese.len(),
        pages.len(),
        report(&chinese)
    );
    assert!(codes.is_empty(), "codes shown as text:\n{}", report(&codes));
}

async fn chinese_pages_show_labels_not_codes(db: TestDb) {
    let p = populated(db).await;
    choose(&p.owner, &p.s, "zh").await;
    let pages = crawl(&p.owner, &p.s).await;
    let mut codes = Vec::new();
    for (path, html) in &pages {
        assert!(html.contains("lang=\"zh-CN\""), "{path} is not in Chinese");
        codes.extend(
            raw_codes(&visible_text(html))
                .into_iter()
                .map(|t| (path.clone(), t)),
        );
    }
    assert!(codes.is_empty(), "codes shown as text:\n{}", report(&codes));
}

/// The import page's script shows a row error's `message` on English pages (and
/// `message_zh` on Chinese ones): each must be in its language. The file's own headers and
/// cells may be quoted.
async fn import_row_errors_have_an_english_text_for_english_pages(db: TestDb) {
    let (s, app) = start(db).await;
    let m = merchant(&s, &app, "语言测试商家", "lang-owner").await;
    let file = "订单号,收件人,手机,省,市,区,详细地址,商品名称,商家编码,数量,单价\n\
                ,赵六,13900001111,广东省,深圳市,南山区,科技园南区1栋,马克杯,MUG,1,39\n\
                IMP-2,赵六,13900001111,广东省,深圳市,南山区,科技园南区1栋,,MUG,,39\n\
                IMP-3,赵六,13900001111,广东省,深圳市,南山区,,马克杯,MUG,1,三十九\n\
                IMP-3,钱七,13900001111,广东省,深圳市,南山区,科技园南区2栋,马克杯,MUG,1,39\n";
    let report = api(
        &s,
        &m,
        Method::POST,
        &format!("/api/v1/orders/import?shop_id={}&mode=preview", m.shop),
        Some(Value::String(file.into())),
    )
    .await;
    let quoted = [
        "订单号",
        "收件人",
        "手机",
        "详细地址",
        "商品名称",
        "商家编码",
        "数量",
        "单价",
        "三十九",
        "赵六",
        "钱七",
        "科技园南区1栋",
        "科技园南区2栋",
    ];
    let mut errors = 0;
    for row in report["rows"].as_array().unwrap() {
        for e in row["errors"].as_array().into_iter().flatten() {
            errors += 1;
            let mut english = e["message"].as_str().unwrap().to_string();
            for q in quoted {
                english = english.replace(q, "");
            }
            assert!(!english.chars().any(is_chinese), "row {}: {e}", row["row"]);
            let chinese = e["message_zh"].as_str().unwrap();
            assert!(chinese.chars().any(is_chinese), "row {}: {e}", row["row"]);
        }
    }
    assert!(errors >= 4, "the file's errors were found: {report}");
}

#[test]
fn the_text_a_person_sees_leaves_out_scripts_and_plain_attributes() {
    let html = "<html lang=\"zh-CN\"><p class=\"订单\" title=\"提示\">订单 <b>A</b></p><script>var x = '脚本';</script>\
                <input placeholder=\"搜索\" value=\"值\"><style>.a{content:'样式'}</style>\
                <textarea placeholder=\"草稿\">输入</textarea><p lang=\"zh-CN\">亲，<b>您好</b></p>\
                <td translate=\"no\">{\"state\":\"on_hold\"}</td><em>之后</em></html>";
    let text = visible_text(html);
    for seen in ["提示", "订单", "A", "搜索", "之后"] {
        assert!(text.contains(seen), "{seen} missing from {text:?}");
    }
    for hidden in [
        "脚本", "样式", "值", "class", "草稿", "输入", "亲", "您好", "on_hold",
    ] {
        assert!(!text.contains(hidden), "{hidden} in {text:?}");
    }
    assert_eq!(
        stray_chinese("Held: 暂缓发货：等买家确认颜色\nShipped"),
        Vec::<String>::new()
    );
    assert_eq!(stray_chinese("Held: 地址不完整"), vec!["Held: 地址不完整"]);
    assert_eq!(
        raw_codes("awaiting_print and order.approve, labels.pdf, e.g. {order_no} fine"),
        vec!["awaiting_print", "order.approve"]
    );
}
