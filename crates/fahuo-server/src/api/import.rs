//! Order import from a spreadsheet (导入订单): the file is the raw request body, xlsx or CSV;
//! everything else happens in `fahuo_app::import`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Authed};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::AppError;
use fahuo_app::import::{ImportError, ImportReport, Limits};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The body of a file upload (the file itself, not multipart), read up to the import limit;
/// shared by the order import and the stock count import.
pub(crate) async fn read_file_body(
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // The kind of file is read from its bytes; refuse only what is clearly not a file body.
    if [
        "application/json",
        "multipart/",
        "application/x-www-form-urlencoded",
    ]
    .iter()
    .any(|t| content_type.starts_with(t))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the file itself as the body (Content-Type text/csv or {XLSX_MIME}), not {content_type}"
        )));
    }
    let max_bytes = Limits::default().max_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes as u64) {
        return Err(AppError::from(ImportError::TooLarge { max_bytes }).into());
    }
    let bytes = axum::body::to_bytes(body, max_bytes + 1)
        .await
        .map_err(|_| AppError::from(ImportError::TooLarge { max_bytes }))?;
    Ok(bytes)
}

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// A dry run: the report, nothing stored.
    #[default]
    Preview,
    /// Import the valid, new orders.
    Commit,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// A shop of platform `manual`.
    pub shop_id: i64,
    /// `preview` (default) or `commit`.
    #[serde(default)]
    #[param(inline)]
    pub mode: ImportMode,
    /// With `mode=commit`: store nothing unless every row is valid.
    #[serde(default)]
    pub only_if_clean: bool,
}

/// Imports orders from an xlsx or CSV file (UTF-8, with or without BOM, or GBK/GB18030),
/// one row per order line; rows with the same order number form one order. `mode=preview`
/// returns per-row errors and the orders that would be created, storing nothing;
/// `mode=commit` creates the valid new orders (all or nothing per order; everything or nothing
/// with `only_if_clean=true`). Orders the shop already has are reported `already_imported` and
/// left alone, so sending the same file twice creates nothing new. A file that cannot be read
/// at all (empty, damaged, required columns missing, over 10 MB or 20,000 rows) is one error.
#[utoipa::path(post, path = "/orders/import", tag = "orders", params(ImportQuery),
    request_body(description = "The file itself (not multipart).",
        content((Vec<u8> = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "not a manual shop"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_orders(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    let bytes = read_file_body(&headers, body).await?;
    let report = match q.mode {
        ImportMode::Preview => s.app.preview_import(&actor, q.shop_id, &bytes).await?,
        ImportMode::Commit => {
            s.app
                .commit_import(&actor, q.shop_id, &bytes, q.only_if_clean)
                .await?
        }
    };
    Ok(Json(report))
}

/// The import template (导入模板): fahuo's headers and an example order of two lines.
#[utoipa::path(get, path = "/orders/import/template.xlsx", tag = "orders",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody)))]
pub async fn import_template(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = s.app.import_template(&actor)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, XLSX_MIME),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"fahuo-import-template.xlsx\"; filename*=UTF-8''%E8%AE%A2%E5%8D%95%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
            ),
        ],
        bytes,
    ))
}
