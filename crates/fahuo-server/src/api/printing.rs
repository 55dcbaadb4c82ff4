//! 取号 and 打单: carrier accounts and their balances, allocation, print jobs and their PDFs.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use fahuo_app::printing::{
    BindCarrierAccount, CarrierAccountView, LabelOutput, LabelSettingsInput, PrintFailure,
    PrintRequest,
};
use fahuo_domain::fulfilment::PrintJob;
use fahuo_domain::{CarrierAccountId, CarrierCode, OrderId, PackageId, PrintJobId, WarehouseId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The carrier accounts, by carrier and failover order, with what is left on each.
#[utoipa::path(get, path = "/carrier-accounts", tag = "printing",
    responses((status = 200, body = Vec<CarrierAccountView>), (status = 401, body = ErrorBody)))]
pub async fn list_carrier_accounts(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<CarrierAccountView>>, ApiError> {
    Ok(Json(s.app.carrier_accounts(&actor).await?))
}

/// Binds a carrier account (kuaidi100, kdniao, or a WeChat shop's e-waybill account).
/// Credentials are stored encrypted and never returned.
#[utoipa::path(post, path = "/carrier-accounts", tag = "printing", request_body = BindCarrierAccount,
    responses((status = 201, body = CarrierAccountView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bind_carrier_account(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<BindCarrierAccount>,
) -> Result<(StatusCode, Json<CarrierAccountView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.bind_carrier_account(&actor, input).await?),
    ))
}

/// Asks the service for the account's balance (services that report one) and returns the account.
#[utoipa::path(post, path = "/carrier-accounts/{id}/balance", tag = "printing",
    params(("id" = i64, Path, description = "carrier account id")),
    responses((status = 200, body = CarrierAccountView), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn refresh_balance(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CarrierAccountView>, ApiError> {
    Ok(Json(
        s.app
            .refresh_carrier_balance(&actor, CarrierAccountId(id))
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AllocateRequest {
    pub warehouse_id: WarehouseId,
    /// fahuo's carrier code (e.g. `ZTO`); without it, the first carrier with an account.
    #[serde(default)]
    pub carrier: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Allocated {
    /// One package, or more when the carrier's weight limit splits the order.
    pub package_ids: Vec<PackageId>,
}

/// Sends an approved order from the warehouse a person chose, reserving its stock there
/// (待取号); a warehouse that cannot fill it holds the order as out of stock (409).
#[utoipa::path(post, path = "/orders/{id}/allocate", tag = "printing", request_body = AllocateRequest,
    params(("id" = i64, Path, description = "order id")),
    responses((status = 201, body = Allocated), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn allocate_order(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AllocateRequest>,
) -> Result<(StatusCode, Json<Allocated>), ApiError> {
    let carrier = input
        .carrier
        .as_deref()
        .map(CarrierCode::parse)
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    let package_ids = s
        .app
        .allocate_order(&actor, OrderId(id), input.warehouse_id, carrier)
        .await?;
    Ok((StatusCode::CREATED, Json(Allocated { package_ids })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrintResponse {
    /// The receipt; absent when no order could be printed.
    pub job: Option<PrintJob>,
    /// Where to download the labels (PDF, in page order).
    pub pdf_url: Option<String>,
    /// Orders that were not printed, with the reason.
    pub failures: Vec<PrintFailure>,
    /// Accounts running low on waybill numbers.
    pub warnings: Vec<String>,
}

/// Prints the orders' labels: numbers for packages that have none (one per package, however
/// often this is called), then one PDF in the order given. Send an `Idempotency-Key` header:
/// a repeated request with the same key returns the first job and counts nothing again.
#[utoipa::path(post, path = "/print-jobs", tag = "printing", request_body = PrintRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key of this print")),
    responses((status = 201, body = PrintResponse), (status = 422, body = ErrorBody)))]
pub async fn create_print_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PrintRequest>,
) -> Result<(StatusCode, Json<PrintResponse>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| fahuo_domain::ParseError::new("Idempotency-Key", "must be ASCII"))
        })
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    let printed = s.app.print_labels(&actor, &input, key).await?;
    let pdf_url = printed
        .job
        .as_ref()
        .map(|j| format!("/api/v1/print-jobs/{}/labels", j.id));
    Ok((
        StatusCode::CREATED,
        Json(PrintResponse {
            job: printed.job,
            pdf_url,
            failures: printed.failures,
            warnings: printed.warnings,
        }),
    ))
}

/// A print job's receipt: each label in page order with its number and reprint count.
#[utoipa::path(get, path = "/print-jobs/{id}", tag = "printing",
    params(("id" = i64, Path, description = "print job id")),
    responses((status = 200, body = PrintJob), (status = 404, body = ErrorBody)))]
pub async fn get_print_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PrintJob>, ApiError> {
    Ok(Json(s.app.print_job(&actor, PrintJobId(id)).await?))
}

/// The job's labels exactly as printed (same pages, same reprint marks): PDF, or raw TSPL/ZPL
/// for a thermal printer, shifted by the printer's offset to correct drift.
#[utoipa::path(get, path = "/print-jobs/{id}/labels", tag = "printing",
    params(("id" = i64, Path, description = "print job id"), LabelOutput),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn print_job_labels(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(out): ApiQuery<LabelOutput>,
) -> Result<impl IntoResponse, ApiError> {
    let (job, labels) = s.app.print_job_labels(&actor, PrintJobId(id), &out).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, labels.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "inline; filename=\"fahuo-labels-{}.{}\"",
                    job.id, labels.extension
                ),
            ),
            // The console previews the labels in a frame of its own page (every other
            // response keeps the server-wide DENY).
            (header::X_FRAME_OPTIONS, "SAMEORIGIN".to_string()),
        ],
        labels.bytes,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PickListQuery {
    /// `pdf` (default) or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The job's pick list (拣货单): every SKU to pick with its quantity and orders.
#[utoipa::path(get, path = "/print-jobs/{id}/pick-list", tag = "printing",
    params(("id" = i64, Path, description = "print job id"), PickListQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn print_job_pick_list(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PickListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let xlsx = match q.format.as_deref().unwrap_or("pdf") {
        "pdf" => false,
        "xlsx" => true,
        _ => {
            return Err(fahuo_app::AppError::from(fahuo_domain::ParseError::new(
                "format",
                "pdf or xlsx",
            ))
            .into());
        }
    };
    let bytes = s
        .app
        .print_job_pick_list(&actor, PrintJobId(id), xlsx)
        .await?;
    let (mime, ext) = if xlsx {
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        ("application/pdf", "pdf")
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"fahuo-pick-list-{id}.{ext}\""),
            ),
        ],
        bytes,
    ))
}

/// The warehouse's carrier selection settings (rate tables, rules, goal, shop defaults), or
/// `null` when it has none.
#[utoipa::path(get, path = "/warehouses/{id}/carrier-rules", tag = "printing",
    params(("id" = i64, Path, description = "warehouse id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn get_carrier_rules(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rules = s.app.carrier_rules(&actor, WarehouseId(id)).await?;
    Ok(Json(serde_json::to_value(rules).unwrap_or_default()))
}

/// Replaces the warehouse's carrier selection settings; refused with the reason when a table
/// or rule cannot be used.
#[utoipa::path(put, path = "/warehouses/{id}/carrier-rules", tag = "printing", request_body = Object,
    params(("id" = i64, Path, description = "warehouse id")),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_carrier_rules(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(rules): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rules = s
        .app
        .set_carrier_rules(&actor, WarehouseId(id), rules)
        .await?;
    Ok(Json(serde_json::to_value(rules).unwrap_or_default()))
}

/// Prices the packages that left the warehouse under proposed rules, against the carriers
/// they went with: per package and in total.
#[utoipa::path(post, path = "/warehouses/{id}/carrier-rules/what-if", tag = "printing", request_body = Object,
    params(("id" = i64, Path, description = "warehouse id")),
    responses((status = 200, body = Object), (status = 422, body = ErrorBody)))]
pub async fn carrier_what_if(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(rules): ApiJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let report = s
        .app
        .carrier_what_if(&actor, WarehouseId(id), rules)
        .await?;
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChoiceQuery {
    pub warehouse_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierChoice {
    /// The chosen carrier's code, or null when every carrier is excluded.
    pub chosen: Option<String>,
    /// The explanation in words, as the console shows it.
    pub explanation: String,
    /// The full choice: survivors with prices and days, every exclusion with its rule.
    #[schema(value_type = Object)]
    pub choice: serde_json::Value,
}

/// Which carrier the warehouse's rules would choose for the order, and why.
#[utoipa::path(get, path = "/orders/{id}/carrier-choice", tag = "printing",
    params(("id" = i64, Path, description = "order id"), ChoiceQuery),
    responses((status = 200, body = CarrierChoice), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn carrier_choice(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ChoiceQuery>,
) -> Result<Json<CarrierChoice>, ApiError> {
    let choice = s
        .app
        .choose_carrier(&actor, OrderId(id), WarehouseId(q.warehouse_id))
        .await?
        .ok_or_else(|| {
            fahuo_app::AppError::Conflict("the warehouse has no carrier rules".into())
        })?;
    Ok(Json(CarrierChoice {
        chosen: choice.chosen.map(|c| c.code().to_string()),
        explanation: choice.to_string(),
        choice: serde_json::to_value(&choice).unwrap_or_default(),
    }))
}

/// Sets what the shop's labels carry besides the waybill: the merchant's logo (base64 PNG,
/// refused now if it cannot print) and a promo line. Absent fields are removed.
#[utoipa::path(put, path = "/shops/{shop_id}/label-settings", tag = "printing", request_body = LabelSettingsInput,
    params(("shop_id" = i64, Path, description = "shop id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_label_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LabelSettingsInput>,
) -> Result<StatusCode, ApiError> {
    s.app
        .set_label_settings(&actor, fahuo_domain::ShopId(id), &input)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SkuTags {
    /// e.g. `["冷链", "fragile"]`; stored normalised (`cold_chain`, `fragile`, ...).
    pub tags: Vec<String>,
}

/// Replaces a SKU's tags: cold-chain and fragile goods are marked on labels, and carrier rules
/// can require or exclude carriers by tag.
#[utoipa::path(put, path = "/skus/{id}/tags", tag = "printing", request_body = SkuTags,
    params(("id" = i64, Path, description = "SKU id")),
    responses((status = 200, body = SkuTags), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_sku_tags(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<SkuTags>,
) -> Result<Json<SkuTags>, ApiError> {
    let tags = s
        .app
        .set_sku_tags(&actor, fahuo_domain::SkuId(id), &input.tags)
        .await?;
    Ok(Json(SkuTags { tags }))
}
