//! Review, allocation and deadlines: settings, the blacklist, stage queues, releasing holds,
//! edits before printing, merge/unmerge, the at-risk queue, stock-outs and delivery negotiation.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use fahuo_app::deadlines::{AtRiskOrder, NegotiationInput, StockoutView};
use fahuo_app::orders::{OrderView, ReceiverInput};
use fahuo_app::review::{LineEdit, ReleaseInput, ReviewOutcome, WarehouseChoice};
use fahuo_domain::allocation::AllocationSettings;
use fahuo_domain::deadline::DeadlineSettings;
use fahuo_domain::review::ReviewSettings;
use fahuo_domain::{OrderId, OrderLineId, ShopId, SkuId};
use fahuo_store::audit::AuditRecord;
use fahuo_store::review::{BlacklistEntry, DeadlineAlert, QueuedOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShopScope {
    /// A shop's own settings; absent: the tenant's.
    pub shop_id: Option<i64>,
}

/// The review settings in force for the tenant, or for one shop.
#[utoipa::path(get, path = "/settings/review", tag = "review", params(ShopScope),
    responses((status = 200, body = ReviewSettings)))]
pub async fn get_review_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ShopScope>,
) -> Result<Json<ReviewSettings>, ApiError> {
    Ok(Json(
        s.app.review_settings(&actor, q.shop_id.map(ShopId)).await?,
    ))
}

/// Replaces the tenant's review settings (rules, flag words, price check, stages), or one
/// shop's. A `null` body removes a shop's own settings.
#[utoipa::path(put, path = "/settings/review", tag = "review", params(ShopScope), request_body = ReviewSettings,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn set_review_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ShopScope>,
    ApiJson(settings): ApiJson<Option<ReviewSettings>>,
) -> Result<StatusCode, ApiError> {
    s.app
        .set_review_settings(&actor, q.shop_id.map(ShopId), settings)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/settings/allocation", tag = "review",
    responses((status = 200, body = AllocationSettings)))]
pub async fn get_allocation_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<AllocationSettings>, ApiError> {
    Ok(Json(s.app.allocation_settings(&actor).await?))
}

/// Replaces the allocation settings (radius, split, transfer, merge).
#[utoipa::path(put, path = "/settings/allocation", tag = "review", request_body = AllocationSettings,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn set_allocation_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(settings): ApiJson<AllocationSettings>,
) -> Result<StatusCode, ApiError> {
    s.app.set_allocation_settings(&actor, settings).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/settings/deadlines", tag = "review",
    responses((status = 200, body = DeadlineSettings)))]
pub async fn get_deadline_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<DeadlineSettings>, ApiError> {
    Ok(Json(s.app.deadline_settings(&actor).await?))
}

/// Replaces the deadline alert thresholds (hours before the ship-by time).
#[utoipa::path(put, path = "/settings/deadlines", tag = "review", request_body = DeadlineSettings,
    responses((status = 204), (status = 422, body = ErrorBody)))]
pub async fn set_deadline_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(settings): ApiJson<DeadlineSettings>,
) -> Result<StatusCode, ApiError> {
    s.app.set_deadline_settings(&actor, settings).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BlacklistInput {
    /// The receiver's phone (kept only as a keyed hash and a masked copy).
    pub phone: String,
    pub reason: String,
}

/// The blacklist (风险收件人), phones masked.
#[utoipa::path(get, path = "/blacklist", tag = "review", responses((status = 200, body = Vec<BlacklistEntry>)))]
pub async fn list_blacklist(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<BlacklistEntry>>, ApiError> {
    Ok(Json(s.app.blacklist(&actor).await?))
}

/// Adds a receiver's phone to the blacklist: their orders are held for a look.
#[utoipa::path(post, path = "/blacklist", tag = "review", request_body = BlacklistInput,
    responses((status = 201, body = i64), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_to_blacklist(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<BlacklistInput>,
) -> Result<(StatusCode, Json<i64>), ApiError> {
    let id = s
        .app
        .add_to_blacklist(&actor, &input.phone, &input.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(id)))
}

#[utoipa::path(delete, path = "/blacklist/{id}", tag = "review", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_from_blacklist(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    s.app.remove_from_blacklist(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// The stage's index in the review settings (default 0, the first).
    pub stage: Option<i64>,
}

/// The orders waiting in a review stage, most urgent deadline first.
#[utoipa::path(get, path = "/review/queue", tag = "review", params(QueueQuery),
    responses((status = 200, body = Vec<QueuedOrder>)))]
pub async fn review_queue(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Vec<QueuedOrder>>, ApiError> {
    Ok(Json(
        s.app.review_queue(&actor, q.stage.unwrap_or(0)).await?,
    ))
}

/// Reviews an order again now (and allocates it if it passes).
#[utoipa::path(post, path = "/orders/{id}/review", tag = "review", params(("id" = i64, Path)),
    responses((status = 200, body = ReviewOutcome), (status = 404, body = ErrorBody)))]
pub async fn review_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReviewOutcome>, ApiError> {
    Ok(Json(s.app.review_order_now(&actor, OrderId(id)).await?))
}

/// Releases holds (given ones, one stage's, or all the caller's role may clear); the order is
/// reviewed again and allocated if nothing else holds it.
#[utoipa::path(post, path = "/orders/{id}/release", tag = "review", params(("id" = i64, Path)), request_body = ReleaseInput,
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody)))]
pub async fn release_holds(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReleaseInput>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        s.app.release_holds(&actor, OrderId(id), &input).await?,
    ))
}

/// Changes the receiver before allocation finished printing (an allocated order is taken
/// back first); the order is reviewed again.
#[utoipa::path(put, path = "/orders/{id}/receiver", tag = "review", params(("id" = i64, Path)), request_body = ReceiverInput,
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_receiver(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ReceiverInput>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        s.app.edit_receiver(&actor, OrderId(id), &input).await?,
    ))
}

/// Changes a line's SKU, units per item or quantity before printing; reviewed again.
#[utoipa::path(put, path = "/orders/{id}/lines/{line_id}", tag = "review",
    params(("id" = i64, Path), ("line_id" = i64, Path)), request_body = LineEdit,
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_line(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, line)): ApiPath<(i64, i64)>,
    ApiJson(edit): ApiJson<LineEdit>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        s.app
            .edit_line(&actor, OrderId(id), OrderLineId(line), &edit)
            .await?,
    ))
}

/// Ships an order from the warehouse (and carrier) a person chose.
#[utoipa::path(put, path = "/orders/{id}/warehouse", tag = "review", params(("id" = i64, Path)), request_body = WarehouseChoice,
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn choose_warehouse(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(choice): ApiJson<WarehouseChoice>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        s.app.choose_warehouse(&actor, OrderId(id), &choice).await?,
    ))
}

/// Takes an order out of a merged package before it has a number (取消合单).
#[utoipa::path(post, path = "/orders/{id}/unmerge", tag = "review", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody)))]
pub async fn unmerge_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(s.app.unmerge_order(&actor, OrderId(id)).await?))
}

/// Everything that happened to an order, with allocation's reasons, oldest first.
#[utoipa::path(get, path = "/orders/{id}/timeline", tag = "review", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditRecord>), (status = 404, body = ErrorBody)))]
pub async fn order_timeline(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<AuditRecord>>, ApiError> {
    Ok(Json(s.app.order_timeline(&actor, OrderId(id)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtRiskQuery {
    /// Orders whose deadline is within this many hours (default 24).
    pub within_hours: Option<i64>,
}

/// Orders about to miss (or past) their ship-by deadline, most urgent first, with countdowns.
#[utoipa::path(get, path = "/orders/at-risk", tag = "review", params(AtRiskQuery),
    responses((status = 200, body = Vec<AtRiskOrder>)))]
pub async fn at_risk(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AtRiskQuery>,
) -> Result<Json<Vec<AtRiskOrder>>, ApiError> {
    Ok(Json(
        s.app.at_risk(&actor, q.within_hours.unwrap_or(24)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// Alerts raised since (default: a week ago).
    pub since: Option<DateTime<Utc>>,
}

/// Deadline alerts raised at the configured thresholds, newest first.
#[utoipa::path(get, path = "/alerts/deadlines", tag = "review", params(AlertQuery),
    responses((status = 200, body = Vec<DeadlineAlert>)))]
pub async fn deadline_alerts(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<Vec<DeadlineAlert>>, ApiError> {
    Ok(Json(s.app.deadline_alerts(&actor, q.since).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockoutQuery {
    pub sku_id: Option<i64>,
}

/// Orders waiting for stock (缺货登记), oldest deadline first, with remedies.
#[utoipa::path(get, path = "/stockouts", tag = "review", params(StockoutQuery),
    responses((status = 200, body = Vec<StockoutView>)))]
pub async fn list_stockouts(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<StockoutQuery>,
) -> Result<Json<Vec<StockoutView>>, ApiError> {
    Ok(Json(s.app.stockouts(&actor, q.sku_id.map(SkuId)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExpectedInput {
    pub sku_id: i64,
    /// When the missing stock is expected; `null` clears it.
    pub expected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Updated {
    pub updated: u64,
}

/// Records when a SKU's missing stock is expected (a purchase ETA).
#[utoipa::path(put, path = "/stockouts/expected", tag = "review", request_body = ExpectedInput,
    responses((status = 200, body = Updated), (status = 404, body = ErrorBody)))]
pub async fn set_stockout_expected(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ExpectedInput>,
) -> Result<Json<Updated>, ApiError> {
    let updated = s
        .app
        .set_stockout_expected(&actor, SkuId(input.sku_id), input.expected_at)
        .await?;
    Ok(Json(Updated { updated }))
}

/// Asks the platform for a later ship-by time (WeChat Shop only).
#[utoipa::path(post, path = "/orders/{id}/negotiate-delivery", tag = "review", params(("id" = i64, Path)),
    request_body = NegotiationInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn negotiate_delivery(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NegotiationInput>,
) -> Result<StatusCode, ApiError> {
    s.app
        .negotiate_delivery(&actor, OrderId(id), &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
