//! Shop sync: progress, "sync now", and the webhook path to give the platform.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fahuo_app::catalog::ConnectionInput;
use fahuo_app::intake::ShopSync;
use fahuo_domain::ShopId;
use fahuo_domain::catalog::Shop;

/// The shop's sync progress (high-water mark, last error) and its webhook path.
#[utoipa::path(get, path = "/shops/{shop_id}/sync", tag = "intake",
    params(("shop_id" = i64, Path, description = "shop id")),
    responses((status = 200, body = ShopSync), (status = 404, body = ErrorBody)))]
pub async fn shop_sync(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ShopSync>, ApiError> {
    Ok(Json(s.app.shop_sync(&actor, ShopId(id)).await?))
}

/// Starts a sync of the shop now (it runs in the background; poll `GET` for progress).
#[utoipa::path(post, path = "/shops/{shop_id}/sync", tag = "intake",
    params(("shop_id" = i64, Path, description = "shop id")),
    responses((status = 202, body = ShopSync), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_sync(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<ShopSync>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.app.request_sync(&actor, ShopId(id)).await?),
    ))
}

/// Re-connects a shop: new credentials (re-authorisation) or another API address. The shop
/// is `pending` until the sync this starts succeeds. Credentials are stored encrypted.
#[utoipa::path(put, path = "/shops/{shop_id}/connection", tag = "intake", request_body = ConnectionInput,
    params(("shop_id" = i64, Path, description = "shop id")),
    responses((status = 200, body = Shop), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn connect_shop(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ConnectionInput>,
) -> Result<Json<Shop>, ApiError> {
    Ok(Json(s.app.connect_shop(&actor, ShopId(id), &input).await?))
}
