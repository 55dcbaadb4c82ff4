//! Shipping routes: write-backs (发货回传) and their exception list, number changes, the pack
//! station (验货), tracking-number imports and order exports; everything else happens in
//! `fahuo_app::shipping` and `fahuo_app::batch`.

use super::import::{XLSX_MIME, read_file_body};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::batch::export::ExportFormat;
use fahuo_app::batch::{ExportRequest, ImportPreview, ImportStatus};
use fahuo_app::shipping::pack::{CloseReply, PackStation, ScanReply};
use fahuo_app::shipping::{ManualShipment, ShipmentView};
use fahuo_domain::fulfilment::ShipmentState;
use fahuo_domain::shipping::ShippingSettings;
use fahuo_domain::{OrderId, PackageId, Platform, ShipmentId, ShipmentImportId};
use fahuo_store::shipment_imports::ShipmentImport;
use fahuo_store::shipping::{ShipmentChange, ShipmentFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The merchant's shipping settings: which step tells the platform (`after_print`,
/// `after_pack`, `after_weigh`), the weight tolerance, and dropship supplier deadlines.
#[utoipa::path(get, path = "/settings/shipping", tag = "shipping",
    responses((status = 200, body = ShippingSettings)))]
pub async fn get_shipping_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<ShippingSettings>, ApiError> {
    actor.require(fahuo_domain::Permission::ViewOrders)?;
    Ok(Json(s.app.shipping_settings(actor.tenant_id).await?))
}

#[utoipa::path(put, path = "/settings/shipping", tag = "shipping", request_body = ShippingSettings,
    responses((status = 200, body = ShippingSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_shipping_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ShippingSettings>,
) -> Result<Json<ShippingSettings>, ApiError> {
    Ok(Json(s.app.set_shipping_settings(&actor, &input).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CarrierCodeInput {
    /// `wechat`, `douyin` or `xiaohongshu`.
    pub platform: String,
    /// The carrier, by name or code (顺丰, ZTO ...).
    pub carrier: String,
    /// The platform's code for it; omitted removes the merchant's own code.
    pub code: Option<String>,
    pub name: Option<String>,
}

/// The merchant's own platform code for a carrier (used before fahuo's table and the
/// platform's live list).
#[utoipa::path(put, path = "/settings/carrier-codes", tag = "shipping", request_body = CarrierCodeInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_carrier_code(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<CarrierCodeInput>,
) -> Result<StatusCode, ApiError> {
    let platform = Platform::parse(&input.platform).map_err(fahuo_app::AppError::from)?;
    let name = input.name.clone().unwrap_or_default();
    s.app
        .set_carrier_code(
            &actor,
            platform,
            &input.carrier,
            input.code.as_deref().map(|c| (c, name.as_str())),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ships an order with a number from elsewhere (手工发货), all of it or some lines. The number
/// is checked against the carrier's rules and against the tenant's other orders first; the
/// write-back then goes through the outbox (`state` is `pending` until the platform answers).
#[utoipa::path(post, path = "/orders/{id}/shipments", tag = "shipping", request_body = ManualShipment,
    params(("id" = i64, Path)),
    responses((status = 201, body = ShipmentView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ship_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ManualShipment>,
) -> Result<(StatusCode, Json<ShipmentView>), ApiError> {
    let view = s
        .app
        .ship_order_manually(&actor, OrderId(id), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ShipPackagesInput {
    pub package_ids: Vec<PackageId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    /// Write-backs queued now (packages that already had one are not counted).
    pub queued: usize,
}

/// "Ship now" (立即发货) for packages with a waybill, whatever the merchant's trigger.
#[utoipa::path(post, path = "/packages/ship", tag = "shipping", request_body = ShipPackagesInput,
    responses((status = 200, body = Queued), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn ship_packages(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ShipPackagesInput>,
) -> Result<Json<Queued>, ApiError> {
    let queued = s.app.ship_packages_now(&actor, &input.package_ids).await?;
    Ok(Json(Queued { queued }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShipmentQuery {
    /// `pending`, `succeeded`, `conflict` or `failed` (the last two are the exception list).
    pub state: Option<String>,
    pub order_id: Option<i64>,
    pub import_id: Option<i64>,
    /// The last id of the previous page.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// Write-backs, newest first, with advice for the refused and conflicting ones.
#[utoipa::path(get, path = "/shipments", tag = "shipping", params(ShipmentQuery),
    responses((status = 200, body = Vec<ShipmentView>), (status = 422, body = ErrorBody)))]
pub async fn list_shipments(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ShipmentQuery>,
) -> Result<Json<Vec<ShipmentView>>, ApiError> {
    let state = q
        .state
        .as_deref()
        .map(ShipmentState::parse)
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    let filter = ShipmentFilter {
        state,
        order_id: q.order_id.map(OrderId),
        import_id: q.import_id.map(ShipmentImportId),
        before: q.before,
        limit: q.limit.unwrap_or(100),
        ..ShipmentFilter::default()
    };
    Ok(Json(s.app.shipments(&actor, &filter).await?))
}

#[utoipa::path(get, path = "/shipments/{id}", tag = "shipping", params(("id" = i64, Path)),
    responses((status = 200, body = ShipmentView), (status = 404, body = ErrorBody)))]
pub async fn get_shipment(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ShipmentView>, ApiError> {
    Ok(Json(s.app.shipment(&actor, ShipmentId(id)).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RetryInput {
    /// A corrected carrier and number (both or neither).
    pub carrier: Option<String>,
    pub tracking_no: Option<String>,
}

/// Sends a refused or conflicting write-back again, optionally corrected.
#[utoipa::path(post, path = "/shipments/{id}/retry", tag = "shipping", params(("id" = i64, Path)),
    request_body = RetryInput,
    responses((status = 200, body = ShipmentView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retry_shipment(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<RetryInput>,
) -> Result<Json<ShipmentView>, ApiError> {
    let corrected = match (&input.carrier, &input.tracking_no) {
        (Some(c), Some(n)) => Some((c.as_str(), n.as_str())),
        (None, None) => None,
        _ => {
            return Err(fahuo_app::AppError::from(fahuo_domain::ParseError::new(
                "tracking_no",
                "give both carrier and tracking_no, or neither",
            ))
            .into());
        }
    };
    Ok(Json(
        s.app
            .retry_shipment(&actor, ShipmentId(id), corrected)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeInput {
    pub carrier: String,
    pub tracking_no: String,
    /// Why (kept in the audit log), e.g. "贴错面单".
    pub reason: String,
}

/// Changes a shipped number on the platform (修改物流信息), within its limits (WeChat: at most
/// three changes per order, none after split shipping; every platform: only between shipping
/// and delivery). Answered 202 with the change `pending`; its outcome is kept either way.
#[utoipa::path(post, path = "/shipments/{id}/change", tag = "shipping", params(("id" = i64, Path)),
    request_body = ChangeInput,
    responses((status = 202, body = ShipmentChange), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_shipment(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ChangeInput>,
) -> Result<(StatusCode, Json<ShipmentChange>), ApiError> {
    let change = s
        .app
        .change_shipment_number(
            &actor,
            ShipmentId(id),
            &input.carrier,
            &input.tracking_no,
            &input.reason,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(change)))
}

#[utoipa::path(get, path = "/shipments/{id}/changes", tag = "shipping", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ShipmentChange>), (status = 404, body = ErrorBody)))]
pub async fn shipment_changes(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ShipmentChange>>, ApiError> {
    Ok(Json(s.app.shipment_changes(&actor, ShipmentId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeInput {
    /// What the scanner read.
    pub code: String,
}

/// Pack station, first scan: the label's number or the order number. Answers the parcel's
/// items with what is already scanned.
#[utoipa::path(post, path = "/pack/open", tag = "pack", request_body = CodeInput,
    responses((status = 200, body = PackStation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pack_open(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Json<PackStation>, ApiError> {
    Ok(Json(s.app.pack_open(&actor, &input.code).await?))
}

/// Pack station, an item scan. `accepted: false` (wrong or extra item) means: sound the error
/// tone, the count did not change.
#[utoipa::path(post, path = "/packages/{id}/pack/scan", tag = "pack", params(("id" = i64, Path)),
    request_body = CodeInput,
    responses((status = 200, body = ScanReply), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pack_scan(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Json<ScanReply>, ApiError> {
    Ok(Json(
        s.app.pack_scan(&actor, PackageId(id), &input.code).await?,
    ))
}

/// Pack station: start the parcel's scans over.
#[utoipa::path(post, path = "/packages/{id}/pack/reset", tag = "pack", params(("id" = i64, Path)),
    responses((status = 200, body = PackStation), (status = 404, body = ErrorBody)))]
pub async fn pack_reset(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PackStation>, ApiError> {
    Ok(Json(s.app.pack_reset(&actor, PackageId(id)).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WeightInput {
    pub weight_g: Option<i64>,
}

/// Pack station: close the parcel (with its weight if the station has a scale). Refused
/// (`packed: false`) while items are missing or the weight is off.
#[utoipa::path(post, path = "/packages/{id}/pack/close", tag = "pack", params(("id" = i64, Path)),
    request_body = WeightInput,
    responses((status = 200, body = CloseReply), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn pack_close(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<WeightInput>,
) -> Result<Json<CloseReply>, ApiError> {
    Ok(Json(
        s.app
            .pack_close(&actor, PackageId(id), input.weight_g)
            .await?,
    ))
}

/// A weighing station: records a parcel's weight (checked against its items).
#[utoipa::path(post, path = "/packages/{id}/weight", tag = "pack", params(("id" = i64, Path)),
    request_body = WeightInput,
    responses((status = 200, body = CloseReply), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn weigh_package(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<WeightInput>,
) -> Result<Json<CloseReply>, ApiError> {
    let weight = input.weight_g.ok_or_else(|| {
        fahuo_app::AppError::from(fahuo_domain::ParseError::new("weight_g", "required"))
    })?;
    Ok(Json(
        s.app.weigh_package(&actor, PackageId(id), weight).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, for the import list.
    pub file_name: Option<String>,
}

/// Previews a tracking-number file (批量导入单号): xlsx or CSV (UTF-8 or GBK) in fahuo's
/// template or with the columns of the platforms' batch templates (订单号, 快递公司, 快递单号,
/// optionally 商品编码 and 发货数量 for part of an order). Every row gets a verdict; nothing is
/// shipped until the preview is applied.
#[utoipa::path(post, path = "/shipment-imports", tag = "shipping", params(ImportQuery),
    request_body(description = "The file itself (not multipart).",
        content((Vec<u8> = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportPreview), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview_import(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportPreview>, ApiError> {
    let bytes = read_file_body(&headers, body).await?;
    Ok(Json(
        s.app
            .preview_shipment_import(&actor, q.file_name.as_deref().unwrap_or(""), &bytes)
            .await?,
    ))
}

/// fahuo's tracking-number template (发货单号导入模板.xlsx).
#[utoipa::path(get, path = "/shipment-imports/template", tag = "shipping",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub async fn import_template(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = s.app.shipment_import_template(&actor)?;
    Ok(xlsx(
        bytes,
        "attachment; filename=\"fahuo-shipments-template.xlsx\"",
    ))
}

/// Applies a previewed import: its valid rows become write-backs, 500 rows per step, in the
/// background (a crash resumes where it stopped). Applying twice does nothing more.
#[utoipa::path(post, path = "/shipment-imports/{id}/apply", tag = "shipping", params(("id" = i64, Path)),
    responses((status = 202, body = ShipmentImport), (status = 404, body = ErrorBody)))]
pub async fn apply_import(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<ShipmentImport>), ApiError> {
    let import = s
        .app
        .apply_shipment_import(&actor, ShipmentImportId(id))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(import)))
}

/// An import's progress and every row's outcome.
#[utoipa::path(get, path = "/shipment-imports/{id}", tag = "shipping", params(("id" = i64, Path)),
    responses((status = 200, body = ImportStatus), (status = 404, body = ErrorBody)))]
pub async fn import_status(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ImportStatus>, ApiError> {
    Ok(Json(
        s.app
            .shipment_import_status(&actor, ShipmentImportId(id))
            .await?,
    ))
}

/// The result file (导入结果.xlsx): each row of the import with its outcome.
#[utoipa::path(get, path = "/shipment-imports/{id}/result", tag = "shipping", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn import_result(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = s
        .app
        .shipment_import_result(&actor, ShipmentImportId(id))
        .await?;
    Ok(xlsx(
        bytes,
        "attachment; filename=\"fahuo-import-result.xlsx\"",
    ))
}

/// Exports orders as xlsx or CSV (UTF-8 with BOM) in the chosen columns; order, phone and
/// tracking numbers stay text. Receivers are masked unless `unmask` (needs the reveal right;
/// audited).
#[utoipa::path(post, path = "/orders/export", tag = "orders", request_body = ExportRequest,
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_orders(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<ExportRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = s.app.export_orders(&actor, &input).await?;
    Ok(match input.format {
        ExportFormat::Xlsx => xlsx(bytes, "attachment; filename=\"fahuo-orders.xlsx\""),
        ExportFormat::Csv => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"fahuo-orders.csv\"",
                ),
            ],
            bytes,
        ),
    })
}

pub(super) fn xlsx(
    bytes: Vec<u8>,
    disposition: &'static str,
) -> (StatusCode, [(header::HeaderName, &'static str); 2], Vec<u8>) {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, XLSX_MIME),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
}
