//! Bulk actions on orders (the order list's 批量操作), the order export as a download link,
//! and the print jobs the printing page lists and reprints.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::batch::ExportRequest;
use fahuo_app::batch::export::ExportFormat;
use fahuo_app::orders::{BulkOutcome, BulkRequest};
use fahuo_domain::fulfilment::PrintJob;
use fahuo_domain::{OrderId, OrderState, ParseError, PrintJobId};
use fahuo_store::waybills::PrintJobSummary;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// Does one action to chosen orders (`ids`) or to every order a list filter matches
/// (`filter`, the fields of `GET /orders`; at most 5,000 orders): `review`, `approve`, `hold`
/// (with `reason`), `cancel`, `merge`, `choose_carrier` (with `carrier`), `print` (one print
/// job), `ship` or `assign_supplier` (with `supplier_id`). Each order goes through the same
/// use-case as its own route; one failing never stops the others, and each failure has its
/// error code and message. A role that may not do the action gets 403 for the whole request;
/// another tenant's orders fail as `not_found` and are untouched.
#[utoipa::path(post, path = "/orders/bulk", tag = "orders", request_body = BulkRequest,
    responses((status = 200, body = BulkOutcome), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bulk_orders(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<Json<BulkOutcome>, ApiError> {
    Ok(Json(s.app.bulk_orders(&actor, req).await?))
}

/// The export as a link (a download the browser follows): the orders `ids` (comma-separated),
/// or those of `state` and `shop_id`. Receivers stay masked (an unmasked export is a POST).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportLink {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
    /// Order ids, comma-separated: `1,2,3`.
    pub ids: Option<String>,
    pub state: Option<String>,
    pub shop_id: Option<i64>,
}

/// Exports orders as a download (xlsx by default, or CSV), masked; the same file as
/// `POST /orders/export` without `unmask`.
#[utoipa::path(get, path = "/orders/export", tag = "orders", params(ExportLink),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_orders_link(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ExportLink>,
) -> Result<impl IntoResponse, ApiError> {
    let format = match q.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => ExportFormat::Xlsx,
        "csv" => ExportFormat::Csv,
        _ => {
            return Err(fahuo_app::AppError::from(ParseError::new("format", "xlsx or csv")).into());
        }
    };
    let order_ids = q
        .ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .map(OrderId)
                .map_err(|_| ParseError::new("ids", "order ids separated by commas"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(fahuo_app::AppError::from)?;
    let state = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(OrderState::parse)
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    let input = ExportRequest {
        format,
        columns: Vec::new(),
        state,
        shop_id: q.shop_id,
        order_ids,
        unmask: false,
    };
    let bytes = s.app.export_orders(&actor, &input).await?;
    let (content_type, disposition) = match format {
        ExportFormat::Xlsx => (
            super::import::XLSX_MIME,
            "attachment; filename=\"fahuo-orders.xlsx\"",
        ),
        ExportFormat::Csv => (
            "text/csv; charset=utf-8",
            "attachment; filename=\"fahuo-orders.csv\"",
        ),
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobList {
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// The latest print jobs, newest first.
#[utoipa::path(get, path = "/print-jobs", tag = "printing", params(JobList),
    responses((status = 200, body = Vec<PrintJobSummary>), (status = 403, body = ErrorBody)))]
pub async fn list_print_jobs(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<JobList>,
) -> Result<Json<Vec<PrintJobSummary>>, ApiError> {
    Ok(Json(s.app.print_jobs(&actor, q.limit.unwrap_or(50)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReprintRequest {
    /// Why the labels are printed again (required; in the audit log).
    pub reason: String,
}

/// 重打: the job's labels again, same numbers in the same order, each marked as a reprint;
/// the new job is the receipt. Never issues a number.
#[utoipa::path(post, path = "/print-jobs/{id}/reprint", tag = "printing", request_body = ReprintRequest,
    params(("id" = i64, Path, description = "print job id")),
    responses((status = 201, body = PrintJob), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reprint_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ReprintRequest>,
) -> Result<(StatusCode, Json<PrintJob>), ApiError> {
    let job = s
        .app
        .reprint_job(&actor, PrintJobId(id), &req.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}
