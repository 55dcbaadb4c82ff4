//! The dropship supplier's page (代发供应商页面): no login, opened from a signed, expiring
//! link (`/supplier/{token}`, made by `POST /api/v1/suppliers/{id}/link`). Plain server-rendered
//! Chinese HTML that works on a phone, no script, no third-party asset.
//!
//! - `GET /supplier/{token}`: the supplier's unshipped orders, receivers masked.
//! - `POST /supplier/{token}/reveal`: one order's receiver in full ("显示收件地址"), audited
//!   as the supplier.
//! - `POST /supplier/{token}/ship`: a carrier and number for one order (typed or scanned).
//! - `POST /supplier/{token}/upload`: an xlsx/CSV of 订单号 / 快递公司 / 快递单号.
//!
//! A bad, expired or revoked link gets a 403 page with no data. Forms carry a CSRF token bound
//! to the link. Bodies are size-limited and each link's POSTs are rate-limited.

use crate::AppState;
use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, FixedOffset, Utc};
use fahuo_app::AppError;
use fahuo_app::dropship::{NumberOutcome, SUPPLIER_FILE_MAX_BYTES, SupplierAccess};
use fahuo_domain::OrderId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A form (reveal, ship) is small.
const FORM_MAX_BYTES: usize = 16 * 1024;
/// POSTs one link may make per minute (a scanner session is a few per minute; a script is not).
const POSTS_PER_MINUTE: usize = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/supplier/{token}", get(page))
        .route(
            "/supplier/{token}/reveal",
            post(reveal).layer(DefaultBodyLimit::max(FORM_MAX_BYTES)),
        )
        .route(
            "/supplier/{token}/ship",
            post(ship).layer(DefaultBodyLimit::max(FORM_MAX_BYTES)),
        )
        .route("/supplier/{token}/upload", post(upload))
}

fn shanghai(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst).format("%m-%d %H:%M").to_string()
}

/// Headers of every supplier page: nothing cached or indexed, the link never sent on as a
/// referrer, no script and no framing.
fn respond(status: StatusCode, html: String) -> Response {
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    resp
}

fn render(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(html) => respond(status, html),
        Err(e) => {
            tracing::error!(error = %e, "supplier page rendering failed");
            respond(StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败".into())
        }
    }
}

#[derive(Template)]
#[template(path = "supplier_denied.html")]
struct Denied {
    message: &'static str,
}

fn denied() -> Response {
    render(
        StatusCode::FORBIDDEN,
        Denied {
            message: "链接无效、已过期或已被商家收回。请联系商家获取新的链接。",
        },
    )
}

fn failed(e: AppError) -> Response {
    tracing::error!(error = %e, "supplier page failed");
    render(
        StatusCode::INTERNAL_SERVER_ERROR,
        Denied {
            message: "服务器内部错误，请稍后重试。",
        },
    )
}

async fn access(s: &AppState, token: &str) -> Result<SupplierAccess, Response> {
    match s.app.supplier_access(token).await {
        Ok(a) => Ok(a),
        Err(AppError::Unauthenticated) => Err(denied()),
        Err(e) => Err(failed(e)),
    }
}

/// Recent POSTs per (tenant, supplier).
type Recent = Mutex<HashMap<(i64, i64), VecDeque<Instant>>>;

/// At most [`POSTS_PER_MINUTE`] POSTs per supplier per minute, per node.
fn rate_limited(a: &SupplierAccess) -> bool {
    static SEEN: OnceLock<Recent> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    let window = Duration::from_secs(60);
    seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
    let q = seen
        .entry((a.tenant_id.get(), a.supplier_id.get()))
        .or_default();
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
    if q.len() >= POSTS_PER_MINUTE {
        return true;
    }
    q.push_back(now);
    false
}

struct Item {
    code: String,
    title: String,
    quantity: i64,
}

struct Revealed {
    name: String,
    phone: String,
    address: String,
    note: String,
}

struct OrderRow {
    id: i64,
    number: String,
    ship_by: String,
    items: Vec<Item>,
    name: String,
    phone: String,
    region: String,
    revealed: Option<Revealed>,
    /// (accepted, message) of the last number entered for this order.
    result: Option<(bool, String)>,
    carrier: String,
    tracking_no: String,
}

struct ResultRow {
    row: String,
    order_no: String,
    carrier: String,
    tracking_no: String,
    ok: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "supplier.html")]
struct SupplierPage {
    supplier: String,
    expires: String,
    base: String,
    csrf: String,
    orders: Vec<OrderRow>,
    notice: Option<String>,
    error: Option<String>,
    results: Vec<ResultRow>,
    carriers: &'static [&'static str],
}

const CARRIERS: &[&str] = &[
    "顺丰",
    "中通",
    "圆通",
    "韵达",
    "申通",
    "极兔",
    "京东",
    "邮政EMS",
    "德邦",
    "邮政快递包裹",
];

/// What a POST adds to the page.
#[derive(Default)]
struct Extra {
    reveal: Option<fahuo_app::dropship::RevealedOrder>,
    /// The order a typed number was for, with its outcome.
    shipped: Option<(OrderId, NumberOutcome)>,
    notice: Option<String>,
    error: Option<String>,
    results: Vec<NumberOutcome>,
}

async fn show(s: &AppState, a: &SupplierAccess, status: StatusCode, extra: Extra) -> Response {
    let orders = match s.app.supplier_orders(a).await {
        Ok(o) => o,
        Err(e) => return failed(e),
    };
    let rows = orders
        .into_iter()
        .map(|o| {
            let revealed = extra
                .reveal
                .as_ref()
                .filter(|r| r.order_id == o.order_id)
                .map(|r| Revealed {
                    name: r.receiver.name.clone(),
                    phone: r.receiver.phone.as_str().to_string(),
                    address: format!(
                        "{}{}{}{}",
                        r.receiver.province, r.receiver.city, r.receiver.county, r.receiver.detail
                    ),
                    note: r.buyer_note.clone().unwrap_or_default(),
                });
            let shipped = extra
                .shipped
                .as_ref()
                .filter(|(id, _)| *id == o.order_id)
                .map(|(_, out)| out);
            OrderRow {
                id: o.order_id.get(),
                number: o.platform_order_id,
                ship_by: o.ship_by.map(shanghai).unwrap_or_else(|| "—".into()),
                items: o
                    .items
                    .into_iter()
                    .map(|(code, title, quantity)| Item {
                        code,
                        title,
                        quantity,
                    })
                    .collect(),
                name: o.receiver.name,
                phone: o.receiver.phone,
                region: format!(
                    "{} {} {}",
                    o.receiver.province, o.receiver.city, o.receiver.county
                ),
                revealed,
                result: shipped.map(|out| (out.accepted(), out.message_zh.clone())),
                carrier: shipped.map(|out| out.carrier.clone()).unwrap_or_default(),
                tracking_no: shipped
                    .filter(|out| !out.accepted())
                    .map(|out| out.tracking_no.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let mut notice = extra.notice;
    let mut error = extra.error;
    // A typed number accepted for an order leaves the list: say so at the top.
    if let Some((_, out)) = &extra.shipped {
        if out.accepted() {
            notice = Some(format!("订单 {}：{}", out.order_no, out.message_zh));
        } else if error.is_none() && notice.is_none() {
            error = Some(format!("订单 {}：{}", out.order_no, out.message_zh));
        }
    }
    render(
        status,
        SupplierPage {
            supplier: a.supplier_name.clone(),
            expires: shanghai(a.expires_at),
            base: format!("/supplier/{}", a.token()),
            csrf: s.app.supplier_csrf(a),
            orders: rows,
            notice,
            error,
            results: extra
                .results
                .into_iter()
                .map(|r| ResultRow {
                    row: r.row.map(|n| n.to_string()).unwrap_or_default(),
                    ok: r.accepted(),
                    order_no: r.order_no,
                    carrier: r.carrier,
                    tracking_no: r.tracking_no,
                    message: r.message_zh,
                })
                .collect(),
            carriers: CARRIERS,
        },
    )
}

async fn page(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    let a = match access(&s, &token).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    show(&s, &a, StatusCode::OK, Extra::default()).await
}

type Fields = HashMap<String, String>;

/// The common gate of every POST: a valid link, within the rate, with the link's CSRF token.
async fn gate(s: &AppState, token: &str, csrf: Option<&str>) -> Result<SupplierAccess, Response> {
    let a = access(s, token).await?;
    if !csrf.is_some_and(|c| s.app.supplier_csrf_matches(&a, c)) {
        return Err(render(
            StatusCode::FORBIDDEN,
            Denied {
                message: "页面已过期，请返回链接页面刷新后重试。",
            },
        ));
    }
    if rate_limited(&a) {
        return Err(render(
            StatusCode::TOO_MANY_REQUESTS,
            Denied {
                message: "操作过于频繁，请一分钟后再试。",
            },
        ));
    }
    Ok(a)
}

fn order_id(f: &HashMap<String, String>) -> Option<OrderId> {
    f.get("order_id")?.trim().parse().ok().map(OrderId)
}

async fn reveal(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let a = match gate(&s, &token, f.get("csrf").map(String::as_str)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(id) = order_id(&f) else {
        return show(
            &s,
            &a,
            StatusCode::BAD_REQUEST,
            Extra {
                error: Some("缺少订单".into()),
                ..Default::default()
            },
        )
        .await;
    };
    match s.app.supplier_reveal(&a, id).await {
        Ok(r) => {
            show(
                &s,
                &a,
                StatusCode::OK,
                Extra {
                    reveal: Some(r),
                    ..Default::default()
                },
            )
            .await
        }
        Err(AppError::NotFound) => {
            let extra = Extra {
                error: Some("该订单不在您的待发货列表中（可能已发货、已取消或被商家收回）".into()),
                ..Default::default()
            };
            show(&s, &a, StatusCode::NOT_FOUND, extra).await
        }
        Err(e) => failed(e),
    }
}

async fn ship(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let a = match gate(&s, &token, f.get("csrf").map(String::as_str)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(id) = order_id(&f) else {
        return show(
            &s,
            &a,
            StatusCode::BAD_REQUEST,
            Extra {
                error: Some("缺少订单".into()),
                ..Default::default()
            },
        )
        .await;
    };
    let carrier = f.get("carrier").map(String::as_str).unwrap_or("");
    let number = f.get("tracking_no").map(String::as_str).unwrap_or("");
    match s.app.supplier_ship(&a, id, carrier, number).await {
        Ok(out) => {
            let status = if out.accepted() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            show(
                &s,
                &a,
                status,
                Extra {
                    shipped: Some((id, out)),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => failed(e),
    }
}

/// One part of a `multipart/form-data` body: (name, bytes).
fn multipart_parts<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<(String, &'a [u8])>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    if boundary.is_empty() || boundary.len() > 200 {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let mut parts = Vec::new();
    let mut at = find(body, d, 0)? + d.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        let headers_start = at + 2; // CRLF after the delimiter
        let headers_end = find(body, b"\r\n\r\n", headers_start)?;
        let headers = std::str::from_utf8(body.get(headers_start..headers_end)?).ok()?;
        let content_start = headers_end + 4;
        let next = find(body, d, content_start)?;
        // The part ends with CRLF before the next delimiter.
        let content = body.get(content_start..next.checked_sub(2)?)?;
        let name = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))?
            .trim_matches('"')
            .to_string();
        parts.push((name, content));
        at = next + d.len();
        if parts.len() > 10 {
            return None;
        }
    }
}

async fn upload(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = SUPPLIER_FILE_MAX_BYTES + 64 * 1024;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        let a = match access(&s, &token).await {
            Ok(a) => a,
            Err(r) => return r,
        };
        let extra = Extra {
            error: Some(format!(
                "文件过大，最大 {} MB",
                SUPPLIER_FILE_MAX_BYTES / (1024 * 1024)
            )),
            ..Default::default()
        };
        return show(&s, &a, StatusCode::PAYLOAD_TOO_LARGE, extra).await;
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        multipart_parts(content_type, &bytes)
    } else {
        None
    };
    let csrf = parts.as_ref().and_then(|p| {
        p.iter()
            .find(|(n, _)| n == "csrf")
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    });
    let a = match gate(&s, &token, csrf).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let file = parts
        .as_ref()
        .and_then(|p| p.iter().find(|(n, _)| n == "file").map(|(_, v)| *v))
        .unwrap_or_default();
    if file.is_empty() {
        let extra = Extra {
            error: Some("请选择要上传的 xlsx 或 CSV 文件".into()),
            ..Default::default()
        };
        return show(&s, &a, StatusCode::UNPROCESSABLE_ENTITY, extra).await;
    }
    match s.app.supplier_upload(&a, file).await {
        Ok(results) => {
            let ok = results.iter().filter(|r| r.accepted()).count();
            let extra = Extra {
                notice: Some(format!(
                    "文件共 {} 行：{ok} 行已提交，{} 行未通过（见下表）",
                    results.len(),
                    results.len() - ok
                )),
                results,
                ..Default::default()
            };
            show(&s, &a, StatusCode::OK, extra).await
        }
        Err(AppError::Import(e)) => {
            let extra = Extra {
                error: Some(e.message_zh()),
                ..Default::default()
            };
            show(&s, &a, StatusCode::UNPROCESSABLE_ENTITY, extra).await
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::multipart_parts;

    #[test]
    fn multipart_fields_and_files_are_read_and_nonsense_is_refused() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
\xe8\xae\xa2\xe5\x8d\x95\xe5\x8f\xb7,x\r\n1,2\r\n--XyZ--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts[0], ("csrf".to_string(), &b"abc"[..]));
        assert_eq!(parts[1].0, "file");
        assert!(parts[1].1.ends_with(b"1,2"));
        assert!(multipart_parts("multipart/form-data; boundary=XyZ", b"junk").is_none());
        assert!(multipart_parts("multipart/form-data", body).is_none());
    }
}
