//! Shops, warehouses, SKUs, SKU mappings and stock.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fahuo_app::catalog::{ShopInput, SkuInput, StockMovementInput, WarehouseInput};
use fahuo_domain::catalog::{Shop, ShopSku, Sku, Warehouse};
use fahuo_domain::stock::StockLevel;
use fahuo_domain::{ShopId, SkuId, WarehouseId};
use fahuo_store::stock::LedgerEntry;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[utoipa::path(get, path = "/shops", tag = "catalog", responses((status = 200, body = Vec<Shop>)))]
pub async fn list_shops(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Shop>>, ApiError> {
    Ok(Json(s.app.shops(&actor).await?))
}

/// Connects a shop. Credentials are stored encrypted and never returned.
#[utoipa::path(post, path = "/shops", tag = "catalog", request_body = ShopInput,
    responses((status = 201, body = Shop), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_shop(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ShopInput>,
) -> Result<(StatusCode, Json<Shop>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_shop(&actor, &input).await?),
    ))
}

#[utoipa::path(get, path = "/warehouses", tag = "catalog", responses((status = 200, body = Vec<Warehouse>)))]
pub async fn list_warehouses(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Warehouse>>, ApiError> {
    Ok(Json(s.app.warehouses(&actor).await?))
}

#[utoipa::path(post, path = "/warehouses", tag = "catalog", request_body = WarehouseInput,
    responses((status = 201, body = Warehouse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_warehouse(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<WarehouseInput>,
) -> Result<(StatusCode, Json<Warehouse>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_warehouse(&actor, &input).await?),
    ))
}

#[utoipa::path(get, path = "/skus", tag = "catalog", responses((status = 200, body = Vec<Sku>)))]
pub async fn list_skus(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<Sku>>, ApiError> {
    Ok(Json(s.app.skus(&actor).await?))
}

#[utoipa::path(post, path = "/skus", tag = "catalog", request_body = SkuInput,
    responses((status = 201, body = Sku), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_sku(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<SkuInput>,
) -> Result<(StatusCode, Json<Sku>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_sku(&actor, &input).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MappingRequest {
    pub platform_sku_id: String,
    pub sku_id: i64,
    /// Merchant SKUs per platform SKU (bundles): default 1.
    pub quantity: Option<i64>,
}

/// Maps a platform SKU of a shop to a merchant SKU.
#[utoipa::path(put, path = "/shops/{shop_id}/sku-mappings", tag = "catalog", params(("shop_id" = i64, Path)), request_body = MappingRequest,
    responses((status = 200, body = ShopSku), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn map_shop_sku(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(shop): ApiPath<i64>,
    ApiJson(req): ApiJson<MappingRequest>,
) -> Result<Json<ShopSku>, ApiError> {
    Ok(Json(
        s.app
            .map_shop_sku(
                &actor,
                ShopId(shop),
                &req.platform_sku_id,
                SkuId(req.sku_id),
                req.quantity.unwrap_or(1),
            )
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    pub sku_id: Option<i64>,
}

/// Stock per SKU per warehouse.
#[utoipa::path(get, path = "/stock", tag = "stock", params(StockQuery), responses((status = 200, body = Vec<StockLevel>)))]
pub async fn list_stock(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> Result<Json<Vec<StockLevel>>, ApiError> {
    Ok(Json(s.app.stock_levels(&actor, q.sku_id.map(SkuId)).await?))
}

/// Records stock arriving (inbound), returned goods, or a count correction (adjust).
#[utoipa::path(post, path = "/stock/movements", tag = "stock", request_body = StockMovementInput,
    responses((status = 200, body = StockLevel), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn move_stock(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<StockMovementInput>,
) -> Result<Json<StockLevel>, ApiError> {
    Ok(Json(s.app.move_stock(&actor, &input).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    pub warehouse_id: i64,
    pub sku_id: i64,
}

/// The ledger of one stock row (库存流水), oldest first.
#[utoipa::path(get, path = "/stock/ledger", tag = "stock", params(LedgerQuery), responses((status = 200, body = Vec<LedgerEntry>)))]
pub async fn stock_ledger(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> Result<Json<Vec<LedgerEntry>>, ApiError> {
    Ok(Json(
        s.app
            .stock_ledger(&actor, WarehouseId(q.warehouse_id), SkuId(q.sku_id))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StockBin {
    pub warehouse_id: WarehouseId,
    pub sku_id: SkuId,
    /// Where the SKU sits (库位, e.g. `A-03-2`); null or empty clears it.
    #[serde(default)]
    pub bin: Option<String>,
}

/// Records where a SKU sits in a warehouse; pick lists are grouped by it.
#[utoipa::path(put, path = "/stock/bin", tag = "catalog", request_body = StockBin,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_stock_bin(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<StockBin>,
) -> Result<StatusCode, ApiError> {
    s.app
        .set_stock_bin(
            &actor,
            input.warehouse_id,
            input.sku_id,
            input.bin.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
