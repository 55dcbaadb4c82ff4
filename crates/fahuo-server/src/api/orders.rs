//! Orders: list, create (manual), show, reveal the receiver, review actions.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fahuo_app::orders::{OrderInput, OrderQuery, OrderView};
use fahuo_domain::order::Receiver;
use fahuo_domain::{OrderId, OrderState};
use fahuo_store::orders::{OrderListPage, Upsert};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOrder {
    /// `created`, `updated` or `unchanged` (the same order number was sent before).
    pub outcome: &'static str,
    pub order: OrderView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StateCount {
    pub state: OrderState,
    pub label: &'static str,
    pub count: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HoldRequest {
    /// A stable reason code, e.g. `manual`, `address_incomplete`, `buyer_note`.
    pub reason_code: String,
    /// What a person should do about it.
    pub message: String,
}

/// Lists orders with masked receivers: the console's tabs, filters, searches and sorts, one
/// keyset page at a time (newest first by id without `tab` and `sort`); only the shops of a
/// sub-account's scope.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = OrderListPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_orders(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<Json<OrderListPage>, ApiError> {
    Ok(Json(s.app.orders(&actor, &q).await?))
}

/// Creates a manual order (手工单) in a manual shop. Idempotent by order number.
#[utoipa::path(post, path = "/orders", tag = "orders", request_body = OrderInput,
    responses((status = 201, body = CreatedOrder), (status = 200, body = CreatedOrder), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<OrderInput>,
) -> Result<(StatusCode, Json<CreatedOrder>), ApiError> {
    let (outcome, order) = s.app.create_manual_order(&actor, &input).await?;
    let (status, outcome) = match outcome {
        Upsert::Created(_) => (StatusCode::CREATED, "created"),
        Upsert::Updated(_) => (StatusCode::OK, "updated"),
        Upsert::Unchanged(_) => (StatusCode::OK, "unchanged"),
    };
    Ok((status, Json(CreatedOrder { outcome, order })))
}

/// Counts of orders per state (the console's tabs).
#[utoipa::path(get, path = "/order-counts", tag = "orders", responses((status = 200, body = Vec<StateCount>)))]
pub async fn order_counts(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<StateCount>>, ApiError> {
    let counts = s.app.order_counts(&actor).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(state, count)| StateCount {
                state,
                label: state.label_zh(),
                count,
            })
            .collect(),
    ))
}

/// One order with lines, masked receiver and holds.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)))]
pub async fn get_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(s.app.order(&actor, OrderId(id)).await?))
}

/// Shows the receiver in clear (audited).
#[utoipa::path(post, path = "/orders/{id}/reveal-receiver", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = Receiver), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reveal_receiver(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Receiver>, ApiError> {
    Ok(Json(s.app.reveal_receiver(&actor, OrderId(id)).await?))
}

/// Approves a new or held order (审核通过).
#[utoipa::path(post, path = "/orders/{id}/approve", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody)))]
pub async fn approve_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(s.app.approve_order(&actor, OrderId(id)).await?))
}

/// Puts an order on hold with a reason (挂起).
#[utoipa::path(post, path = "/orders/{id}/hold", tag = "orders", params(("id" = i64, Path)), request_body = HoldRequest,
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn hold_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<HoldRequest>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(
        s.app
            .hold_order(&actor, OrderId(id), &req.reason_code, &req.message)
            .await?,
    ))
}

/// Cancels an order that has not shipped.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders", params(("id" = i64, Path)),
    responses((status = 200, body = OrderView), (status = 409, body = ErrorBody)))]
pub async fn cancel_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(s.app.cancel_order(&actor, OrderId(id)).await?))
}
