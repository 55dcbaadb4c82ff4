//! Dropship routes (代发): suppliers and their SKUs, assigning order lines, the purchase
//! order, the supplier's no-login link and the late list. Everything happens in
//! `fahuo_app::dropship`; the supplier's own page is `crate::supplier_page`.

use super::import::XLSX_MIME;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::dropship::{
    AssignInput, LateAssignment, SupplierInput, SupplierLineView, SupplierPatch, UnassignInput,
};
use fahuo_domain::{OrderId, SkuId, SupplierId};
use fahuo_store::suppliers::{DropshipLine, Supplier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[utoipa::path(get, path = "/suppliers", tag = "dropship",
    responses((status = 200, body = Vec<Supplier>)))]
pub async fn list_suppliers(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Supplier>>, ApiError> {
    Ok(Json(s.app.suppliers(&actor).await?))
}

/// Adds a dropship supplier (代发供应商).
#[utoipa::path(post, path = "/suppliers", tag = "dropship", request_body = SupplierInput,
    responses((status = 201, body = Supplier), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_supplier(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<SupplierInput>,
) -> Result<(StatusCode, Json<Supplier>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_supplier(&actor, &input).await?),
    ))
}

#[utoipa::path(get, path = "/suppliers/{id}", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 200, body = Supplier), (status = 404, body = ErrorBody)))]
pub async fn get_supplier(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Supplier>, ApiError> {
    Ok(Json(s.app.supplier(&actor, SupplierId(id)).await?))
}

/// Renames a supplier, changes its contact, or deactivates it (`"active": false`: its SKUs
/// assign no new lines and its links stop working; assigned lines stay).
#[utoipa::path(patch, path = "/suppliers/{id}", tag = "dropship", params(("id" = i64, Path)),
    request_body = SupplierPatch,
    responses((status = 200, body = Supplier), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_supplier(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SupplierPatch>,
) -> Result<Json<Supplier>, ApiError> {
    Ok(Json(
        s.app
            .update_supplier(&actor, SupplierId(id), &input)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SupplierSkusInput {
    /// The merchant SKUs the supplier ships (replaces its list). A SKU has one supplier.
    pub sku_ids: Vec<SkuId>,
}

/// Sets which SKUs the supplier ships: lines of them are assigned to it when orders are reviewed.
#[utoipa::path(put, path = "/suppliers/{id}/skus", tag = "dropship", params(("id" = i64, Path)),
    request_body = SupplierSkusInput,
    responses((status = 200, body = Supplier), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_supplier_skus(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SupplierSkusInput>,
) -> Result<Json<Supplier>, ApiError> {
    Ok(Json(
        s.app
            .set_supplier_skus(&actor, SupplierId(id), &input.sku_ids)
            .await?,
    ))
}

/// The supplier's lines still waiting for its number, receivers masked.
#[utoipa::path(get, path = "/suppliers/{id}/lines", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SupplierLineView>), (status = 404, body = ErrorBody)))]
pub async fn supplier_lines(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<SupplierLineView>>, ApiError> {
    Ok(Json(s.app.supplier_lines(&actor, SupplierId(id)).await?))
}

/// The purchase order (代发单.xlsx) of the supplier's open lines with receivers in clear, for
/// the supplier to ship. A reveal: needs the reveal right, and every order in it is audited.
/// Its 快递公司 / 快递单号 columns are empty for the supplier to fill in and upload on its page.
#[utoipa::path(post, path = "/suppliers/{id}/purchase-order", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn purchase_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let (name, bytes) = s.app.purchase_order(&actor, SupplierId(id)).await?;
    let disposition = format!(
        "attachment; filename=\"fahuo-purchase-order-{id}.xlsx\"; filename*=UTF-8''{}",
        percent_encode(&name)
    );
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, XLSX_MIME.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    ))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierLinkView {
    /// The page's full address (from this request's host), to send to the supplier.
    pub url: String,
    pub path: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A no-login link for the supplier's page (valid `supplier_link_days`): the supplier sees its
/// open orders masked, reveals one receiver at a time to ship, and enters or uploads numbers.
#[utoipa::path(post, path = "/suppliers/{id}/link", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 201, body = SupplierLinkView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_link(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<SupplierLinkView>), ApiError> {
    let link = s.app.supplier_link(&actor, SupplierId(id)).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        Some(_) => "http",
        None if s.http.secure_cookies => "https",
        None => "http",
    };
    Ok((
        StatusCode::CREATED,
        Json(SupplierLinkView {
            url: format!("{scheme}://{host}{}", link.path),
            path: link.path,
            expires_at: link.expires_at,
        }),
    ))
}

/// Revokes every link of the supplier handed out so far (make a new one afterwards).
#[utoipa::path(post, path = "/suppliers/{id}/link/rotate", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rotate_link(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.rotate_supplier_link(&actor, SupplierId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The order's lines assigned to suppliers.
#[utoipa::path(get, path = "/orders/{id}/dropship", tag = "dropship", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<DropshipLine>), (status = 404, body = ErrorBody)))]
pub async fn order_dropship(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<DropshipLine>>, ApiError> {
    Ok(Json(s.app.order_dropship_lines(&actor, OrderId(id)).await?))
}

/// Gives lines of an order to a supplier by hand (refused once a line is in a fahuo package
/// or shipped); the order is reviewed again so its stock follows.
#[utoipa::path(post, path = "/orders/{id}/dropship", tag = "dropship", params(("id" = i64, Path)),
    request_body = AssignInput,
    responses((status = 200, body = Vec<DropshipLine>), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_lines(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Json<Vec<DropshipLine>>, ApiError> {
    Ok(Json(
        s.app.assign_dropship(&actor, OrderId(id), &input).await?,
    ))
}

/// Takes lines back from their supplier: the merchant ships them (an allocated order is
/// allocated again with them). Refused for lines the supplier already shipped.
#[utoipa::path(post, path = "/orders/{id}/dropship/unassign", tag = "dropship", params(("id" = i64, Path)),
    request_body = UnassignInput,
    responses((status = 200, body = Vec<DropshipLine>), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unassign_lines(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UnassignInput>,
) -> Result<Json<Vec<DropshipLine>>, ApiError> {
    Ok(Json(
        s.app.unassign_dropship(&actor, OrderId(id), &input).await?,
    ))
}

/// Suppliers late with their number: past `supplier_hours` since the assignment, or within a
/// quarter of that before the order's ship-by deadline; most urgent first.
#[utoipa::path(get, path = "/dropship/late", tag = "dropship",
    responses((status = 200, body = Vec<LateAssignment>)))]
pub async fn late(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<LateAssignment>>, ApiError> {
    Ok(Json(s.app.late_suppliers(&actor).await?))
}
