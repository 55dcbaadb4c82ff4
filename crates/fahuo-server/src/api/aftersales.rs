//! After-sale routes (售后): the list and detail, the merchant's decisions, return labels and
//! pickups, receiving (scan, inspection with base64 photos, photo download), carrier claims and
//! reships; everything else happens in `fahuo_app::aftersales`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::aftersales::{
    AfterSaleDetail, AfterSaleQuery, AfterSaleSettings, ApprovalOutcome, ClaimInput,
    InspectionInput, PickupInput, RejectInput, ReshipInput, ReturnLabelInput, SettleClaimInput,
};
use fahuo_domain::{AfterSaleId, OrderId};
use fahuo_store::aftersales::{AfterSale, Pickup, ReturnLabel};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// After-sales, newest first, filtered by status, kind or order.
#[utoipa::path(get, path = "/after-sales", tag = "after-sales", params(AfterSaleQuery),
    responses((status = 200, body = Vec<AfterSale>), (status = 422, body = ErrorBody)))]
pub async fn list_after_sales(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AfterSaleQuery>,
) -> Result<Json<Vec<AfterSale>>, ApiError> {
    Ok(Json(s.app.after_sales(&actor, &q).await?))
}

/// One after-sale with its history, inspection (photos as metadata), claim and reship.
#[utoipa::path(get, path = "/after-sales/{id}", tag = "after-sales", params(("id" = i64, Path)),
    responses((status = 200, body = AfterSaleDetail), (status = 404, body = ErrorBody)))]
pub async fn get_after_sale(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AfterSaleDetail>, ApiError> {
    Ok(Json(
        s.app.after_sale_detail(&actor, AfterSaleId(id)).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalReply {
    /// `queued` (sent to the platform by the outbox) or `proposed` (above the merchant's
    /// threshold: an owner or admin approves it).
    pub outcome: ApprovalOutcome,
}

/// Agrees to a refund, return or exchange (同意). Refunds above the threshold are only proposed
/// when asked by a role that may not approve refunds.
#[utoipa::path(post, path = "/after-sales/{id}/approve", tag = "after-sales", params(("id" = i64, Path)),
    responses((status = 200, body = ApprovalReply), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_after_sale(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApprovalReply>, ApiError> {
    let outcome = s.app.approve_after_sale(&actor, AfterSaleId(id)).await?;
    Ok(Json(ApprovalReply { outcome }))
}

/// Refuses it (拒绝), with the reason the buyer sees; sent by the outbox.
#[utoipa::path(post, path = "/after-sales/{id}/reject", tag = "after-sales", params(("id" = i64, Path)),
    request_body = RejectInput,
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reject_after_sale(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RejectInput>,
) -> Result<StatusCode, ApiError> {
    s.app
        .reject_after_sale(&actor, AfterSaleId(id), &input.reason)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// The returned goods arrived (确认收货): the platform refunds; sent by the outbox.
#[utoipa::path(post, path = "/after-sales/{id}/confirm-received", tag = "after-sales", params(("id" = i64, Path)),
    responses((status = 202), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn confirm_received(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app
        .confirm_after_sale_received(&actor, AfterSaleId(id))
        .await?;
    Ok(StatusCode::ACCEPTED)
}

/// Issues the buyer a free-return label (退货面单) on a carrier account (buyer → warehouse).
/// Idempotent: asking again returns the same number.
#[utoipa::path(post, path = "/after-sales/{id}/return-label", tag = "after-sales", params(("id" = i64, Path)),
    request_body = ReturnLabelInput,
    responses((status = 200, body = ReturnLabel), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn issue_return_label(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReturnLabelInput>,
) -> Result<Json<ReturnLabel>, ApiError> {
    Ok(Json(
        s.app
            .issue_return_label(&actor, AfterSaleId(id), &input)
            .await?,
    ))
}

/// Recycles the return label's number.
#[utoipa::path(delete, path = "/after-sales/{id}/return-label", tag = "after-sales", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel_return_label(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.cancel_return_label(&actor, AfterSaleId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Books a courier pickup at the buyer's (上门取件) through a kdniao tracking account.
#[utoipa::path(post, path = "/after-sales/{id}/pickup", tag = "after-sales", params(("id" = i64, Path)),
    request_body = PickupInput,
    responses((status = 200, body = Pickup), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn book_pickup(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PickupInput>,
) -> Result<Json<Pickup>, ApiError> {
    Ok(Json(
        s.app
            .book_return_pickup(&actor, AfterSaleId(id), &input)
            .await?,
    ))
}

/// Cancels the booked pickup.
#[utoipa::path(delete, path = "/after-sales/{id}/pickup", tag = "after-sales", params(("id" = i64, Path)),
    responses((status = 200, body = Pickup), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel_pickup(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Pickup>, ApiError> {
    Ok(Json(
        s.app.cancel_return_pickup(&actor, AfterSaleId(id)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScanInput {
    /// A return number (the buyer's, fahuo's label or the pickup's) or a platform after-sale id.
    pub code: String,
}

/// The after-sale a warehouse scan names (扫描退货单号).
#[utoipa::path(post, path = "/after-sales/scan", tag = "after-sales", request_body = ScanInput,
    responses((status = 200, body = AfterSaleDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn scan_return(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ScanInput>,
) -> Result<Json<AfterSaleDetail>, ApiError> {
    Ok(Json(s.app.scan_return(&actor, &input.code).await?))
}

/// Records the inspection of a returned parcel (验货): verdict `resell` restocks into the
/// warehouse, `damaged` writes off, `mismatch` holds the refund for a person. Photos are
/// base64 strings in the JSON body (JPEG/PNG/WebP by content, ≤ 5 MB each, ≤ 9; the whole body
/// is also bounded by the server's request limit). For a return that may be refunded, confirming
/// receipt to the platform is queued at once.
#[utoipa::path(post, path = "/after-sales/{id}/inspection", tag = "after-sales", params(("id" = i64, Path)),
    request_body = InspectionInput,
    responses((status = 201, body = AfterSaleDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inspect_return(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<InspectionInput>,
) -> Result<(StatusCode, Json<AfterSaleDetail>), ApiError> {
    let detail = s
        .app
        .inspect_return(&actor, AfterSaleId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// One inspection photo, with the content type sniffed when it was stored.
#[utoipa::path(get, path = "/after-sales/{id}/photos/{n}", tag = "after-sales",
    params(("id" = i64, Path), ("n" = i64, Path, description = "1-based photo number")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn inspection_photo(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, n)): ApiPath<(i64, i64)>,
) -> Result<impl IntoResponse, ApiError> {
    let (content_type, bytes) = s.app.inspection_photo(&actor, AfterSaleId(id), n).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    ))
}

/// Opens a claim against the carrier (理赔) for a lost or damaged parcel, by tracking number.
#[utoipa::path(post, path = "/after-sales/claims", tag = "after-sales", request_body = ClaimInput,
    responses((status = 201, body = AfterSaleDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn open_claim(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ClaimInput>,
) -> Result<(StatusCode, Json<AfterSaleDetail>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.open_claim(&actor, &input).await?),
    ))
}

/// Records the carrier's answer to a claim: `settled` (with the amount) or `rejected`.
#[utoipa::path(post, path = "/after-sales/{id}/settle", tag = "after-sales", params(("id" = i64, Path)),
    request_body = SettleClaimInput,
    responses((status = 200, body = AfterSaleDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn settle_claim(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SettleClaimInput>,
) -> Result<Json<AfterSaleDetail>, ApiError> {
    Ok(Json(
        s.app.settle_claim(&actor, AfterSaleId(id), &input).await?,
    ))
}

/// Sends (part of) an order again (补发): a new order linked to the original that goes through
/// review, waybill, print and ship like any order.
#[utoipa::path(post, path = "/orders/{id}/reships", tag = "after-sales", params(("id" = i64, Path)),
    request_body = ReshipInput,
    responses((status = 201, body = AfterSaleDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_reship(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReshipInput>,
) -> Result<(StatusCode, Json<AfterSaleDetail>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_reship(&actor, OrderId(id), &input).await?),
    ))
}

/// The refund-approval threshold.
#[utoipa::path(get, path = "/settings/after-sales", tag = "after-sales",
    responses((status = 200, body = AfterSaleSettings)))]
pub async fn get_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<AfterSaleSettings>, ApiError> {
    Ok(Json(s.app.after_sale_settings(&actor).await?))
}

/// Sets the refund-approval threshold (owners and admins).
#[utoipa::path(put, path = "/settings/after-sales", tag = "after-sales", request_body = AfterSaleSettings,
    responses((status = 200, body = AfterSaleSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<AfterSaleSettings>,
) -> Result<Json<AfterSaleSettings>, ApiError> {
    Ok(Json(s.app.set_after_sale_settings(&actor, &input).await?))
}
