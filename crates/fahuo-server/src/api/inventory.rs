//! Inventory routes: transfers, safety stock and low-stock thresholds, alerts, and the stock
//! export and count import; everything else happens in `fahuo_app::inventory`.

use super::import::{XLSX_MIME, read_file_body};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Authed};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::inventory::{SafetyInput, StockCountReport, ThresholdInput, TransferInput};
use fahuo_store::stock::{StockRow, TransferLevels};
use serde::Deserialize;
use utoipa::IntoParams;

/// Moves units of a SKU between two of the tenant's warehouses (调拨): a `transfer_out` at
/// the source and a `transfer_in` at the destination, both or neither. Refused with
/// `insufficient_stock` when the source's available stock (on hand − reserved − safety) is
/// short.
#[utoipa::path(post, path = "/stock/transfers", tag = "stock", request_body = TransferInput,
    responses((status = 200, body = TransferLevels), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer_stock(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<TransferInput>,
) -> Result<Json<TransferLevels>, ApiError> {
    Ok(Json(s.app.transfer_stock(&actor, &input).await?))
}

/// Sets a stock row's low-stock threshold (预警阈值); 0 switches its alert off.
#[utoipa::path(put, path = "/stock/threshold", tag = "stock", request_body = ThresholdInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_threshold(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ThresholdInput>,
) -> Result<StatusCode, ApiError> {
    s.app.set_low_stock_threshold(&actor, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a stock row's safety stock (安全库存): units kept back from orders and transfers.
#[utoipa::path(put, path = "/stock/safety", tag = "stock", request_body = SafetyInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_safety(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<SafetyInput>,
) -> Result<StatusCode, ApiError> {
    s.app.set_safety_stock(&actor, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Low-stock alerts (低库存预警): rows whose available stock is at or below their threshold,
/// the furthest below first.
#[utoipa::path(get, path = "/stock/alerts", tag = "stock", responses((status = 200, body = Vec<StockRow>)))]
pub async fn stock_alerts(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<StockRow>>, ApiError> {
    Ok(Json(s.app.low_stock_alerts(&actor).await?))
}

/// Every stock row as xlsx (库存导出): 仓库编码, 仓库名称, 商品编码, 商品名称, 条码, 库位, 在库,
/// 预占, 安全库存, 可用, 预警阈值. The file can be sent back as a stock count.
#[utoipa::path(get, path = "/stock/export", tag = "stock",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub async fn export_stock(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = s.app.export_stock(&actor).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, XLSX_MIME),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"fahuo-stock.xlsx\"; filename*=UTF-8''%E5%BA%93%E5%AD%98.xlsx",
            ),
        ],
        bytes,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountQuery {
    /// `false` (default): a preview that stores nothing; `true`: apply the accepted rows.
    #[serde(default)]
    pub apply: bool,
}

/// A stock count (盘点导入) from an xlsx or CSV file (UTF-8 or GBK) with the columns 仓库编码,
/// 商品编码, 盘点数量 and optionally 安全库存, 预警阈值, 库位 (the stock export is accepted too:
/// its 在库 column is the count when there is no 盘点数量). Every row gets a verdict: `ok` with
/// its delta, `unchanged`, `unknown_warehouse`, `unknown_sku`, `missing_value`,
/// `not_whole_number`, `negative`, `too_large`, `invalid_bin`, `below_reserved` (the reserved
/// units are promised to orders) or `duplicate`. With `apply=true` each accepted row becomes an
/// `adjust` to the counted number, decided again under its row lock; the answer lists every
/// row's outcome. A file that cannot be read at all is one error (`empty_file`,
/// `no_data_rows`, `missing_columns`, `unreadable_xlsx`, `unreadable_file`, `too_many_rows`,
/// `file_too_large`).
#[utoipa::path(post, path = "/stock/import", tag = "stock", params(CountQuery),
    request_body(description = "The file itself (not multipart).",
        content((Vec<u8> = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = StockCountReport), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_stock_count(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CountQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<StockCountReport>, ApiError> {
    let bytes = read_file_body(&headers, body).await?;
    Ok(Json(
        s.app.import_stock_count(&actor, &bytes, q.apply).await?,
    ))
}
