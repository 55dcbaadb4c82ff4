//! Tracking routes: tracking accounts, parcels and their timelines, the exception radar's queue
//! and settings, buyer notifications, and the reports; everything else happens in
//! `fahuo_app::tracking` and `fahuo_app::reports`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fahuo_app::reports::Period;
use fahuo_app::tracking::notify::NotifySettings;
use fahuo_app::tracking::{ParcelView, TrackingAccountInput, TrackingAccountView};
use fahuo_domain::OrderId;
use fahuo_domain::radar::{AlertKind, RadarSettings};
use fahuo_domain::reports::Report;
use fahuo_domain::tracking::TrackState;
use fahuo_store::radar::AlertRow;
use fahuo_store::radar::NotificationRow;
use fahuo_store::tracking::{ParcelFilter, ParcelId, ParcelRow};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The tenant's tracking accounts (快递100 / 快递鸟), each with the URL its service pushes to.
#[utoipa::path(get, path = "/tracking-accounts", tag = "tracking",
    responses((status = 200, body = [TrackingAccountView]), (status = 403, body = ErrorBody)))]
pub async fn list_tracking_accounts(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<Vec<TrackingAccountView>>, ApiError> {
    Ok(Json(s.app.tracking_accounts(&actor).await?))
}

/// Adds a tracking account. New parcels are subscribed through the first enabled account.
#[utoipa::path(post, path = "/tracking-accounts", tag = "tracking", request_body = TrackingAccountInput,
    responses((status = 201, body = TrackingAccountView), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_tracking_account(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<TrackingAccountInput>,
) -> Result<(StatusCode, Json<TrackingAccountView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_tracking_account(&actor, input).await?),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnabledInput {
    pub enabled: bool,
}

#[utoipa::path(put, path = "/tracking-accounts/{id}/enabled", tag = "tracking", request_body = EnabledInput,
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tracking_account_enabled(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<EnabledInput>,
) -> Result<StatusCode, ApiError> {
    s.app
        .set_tracking_account_enabled(&actor, id, input.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParcelQuery {
    /// `awaiting_pickup`, `picked_up`, `in_transit`, `out_for_delivery`, `delivered`,
    /// `problem`, `refused`, `returning`, `returned`.
    pub state: Option<String>,
    pub tracking_no: Option<String>,
    /// Only parcels still followed.
    #[serde(default)]
    pub open: bool,
    /// Parcels with an id below this one (the next page, newest first).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// Parcels followed after shipping, newest first.
#[utoipa::path(get, path = "/parcels", tag = "tracking", params(ParcelQuery),
    responses((status = 200, body = [ParcelRow]), (status = 422, body = ErrorBody)))]
pub async fn list_parcels(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ParcelQuery>,
) -> Result<Json<Vec<ParcelRow>>, ApiError> {
    let state = q
        .state
        .as_deref()
        .map(TrackState::parse)
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    let filter = ParcelFilter {
        state,
        tracking_no: q.tracking_no.map(|t| t.trim().to_string()),
        open: q.open,
        before: q.before,
        limit: q.limit.unwrap_or(100),
        ..ParcelFilter::default()
    };
    Ok(Json(s.app.parcels(&actor, &filter).await?))
}

/// A parcel with its timeline (oldest first) and its radar alerts.
#[utoipa::path(get, path = "/parcels/{id}", tag = "tracking", params(("id" = i64, Path)),
    responses((status = 200, body = ParcelView), (status = 404, body = ErrorBody)))]
pub async fn get_parcel(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ParcelView>, ApiError> {
    Ok(Json(s.app.parcel(&actor, ParcelId(id)).await?))
}

/// Asks the tracking service about a parcel now.
#[utoipa::path(post, path = "/parcels/{id}/refresh", tag = "tracking", params(("id" = i64, Path)),
    responses((status = 200, body = ParcelView), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn refresh_parcel(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ParcelView>, ApiError> {
    Ok(Json(s.app.refresh_parcel(&actor, ParcelId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DisputeInput {
    /// The buyer says the parcel never arrived (true), or withdrew that (false).
    pub disputed: bool,
}

/// Records that the buyer says a parcel shown as signed for never arrived.
#[utoipa::path(post, path = "/parcels/{id}/dispute", tag = "tracking", request_body = DisputeInput,
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn dispute_parcel(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<DisputeInput>,
) -> Result<StatusCode, ApiError> {
    s.app
        .dispute_delivery(&actor, ParcelId(id), input.disputed)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An order's parcels with their timelines.
#[utoipa::path(get, path = "/orders/{id}/tracking", tag = "tracking", params(("id" = i64, Path)),
    responses((status = 200, body = [ParcelView]), (status = 404, body = ErrorBody)))]
pub async fn order_tracking(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ParcelView>>, ApiError> {
    Ok(Json(s.app.order_tracking(&actor, OrderId(id)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RadarQuery {
    /// One kind only (`not_picked_up`, `stale`, `problem`, `refused`, `returning`,
    /// `signed_not_received`, `deadline_at_risk`).
    pub kind: Option<String>,
    /// The cleared alerts (newest first) instead of the open ones.
    #[serde(default)]
    pub cleared: bool,
    pub limit: Option<i64>,
}

/// The exception radar's queue: open alerts, most urgent first, each with suggested actions.
#[utoipa::path(get, path = "/radar", tag = "tracking", params(RadarQuery),
    responses((status = 200, body = [AlertRow]), (status = 422, body = ErrorBody)))]
pub async fn radar_queue(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<RadarQuery>,
) -> Result<Json<Vec<AlertRow>>, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(AlertKind::parse)
        .transpose()
        .map_err(fahuo_app::AppError::from)?;
    Ok(Json(
        s.app
            .radar_queue(&actor, kind, q.cleared, q.limit.unwrap_or(200))
            .await?,
    ))
}

/// The radar's thresholds (hours): not picked up after printing, no trace update, deadline risk.
#[utoipa::path(get, path = "/settings/radar", tag = "tracking",
    responses((status = 200, body = RadarSettings)))]
pub async fn get_radar_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<RadarSettings>, ApiError> {
    Ok(Json(s.app.radar_settings(&actor).await?))
}

#[utoipa::path(put, path = "/settings/radar", tag = "tracking", request_body = RadarSettings,
    responses((status = 200, body = RadarSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_radar_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<RadarSettings>,
) -> Result<Json<RadarSettings>, ApiError> {
    s.app.set_radar_settings(&actor, input).await?;
    Ok(Json(s.app.radar_settings(&actor).await?))
}

/// Which buyer notices are sent (shipped, delayed, exception) and their texts.
#[utoipa::path(get, path = "/settings/notifications", tag = "tracking",
    responses((status = 200, body = NotifySettings)))]
pub async fn get_notify_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> Result<Json<NotifySettings>, ApiError> {
    Ok(Json(s.app.notify_settings(&actor).await?))
}

#[utoipa::path(put, path = "/settings/notifications", tag = "tracking", request_body = NotifySettings,
    responses((status = 200, body = NotifySettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_notify_settings(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(input): ApiJson<NotifySettings>,
) -> Result<Json<NotifySettings>, ApiError> {
    s.app.set_notify_settings(&actor, input).await?;
    Ok(Json(s.app.notify_settings(&actor).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    pub order_id: Option<i64>,
}

/// Buyer notifications, newest first: what was sent, through which channel, or why not.
#[utoipa::path(get, path = "/notifications", tag = "tracking", params(NotificationQuery),
    responses((status = 200, body = [NotificationRow])))]
pub async fn list_notifications(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<Json<Vec<NotificationRow>>, ApiError> {
    Ok(Json(
        s.app.notifications(&actor, q.order_id.map(OrderId)).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (Asia/Shanghai, `YYYY-MM-DD`); default 29 days before `to`.
    pub from: Option<String>,
    /// Last day, inclusive; default today.
    pub to: Option<String>,
}

fn period(s: &AppState, q: &ReportQuery) -> Result<Period, ApiError> {
    Ok(match (&q.from, &q.to) {
        (None, None) => Period::last_days(s.app.now(), 30),
        (from, to) => {
            let today = Period::last_days(s.app.now(), 1).to.to_string();
            let to = to.clone().unwrap_or(today);
            let from = match from {
                Some(f) => f.clone(),
                None => Period::parse(&to, &to)
                    .map(|p| (p.to - chrono::Duration::days(29)).to_string())?,
            };
            Period::parse(&from, &to)?
        }
    })
}

/// Reports for parcels shipped in the period: 24-hour pickup rate, transit times, exception
/// and return rates, shipping and packaging cost, error types and on-time shipping.
#[utoipa::path(get, path = "/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, body = Report), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_report(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    let period = period(&s, &q)?;
    Ok(Json(s.app.report(&actor, period).await?))
}

/// The same report as an xlsx workbook (报表.xlsx), one sheet per table.
#[utoipa::path(get, path = "/reports/xlsx", tag = "reports", params(ReportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody)))]
pub async fn report_xlsx(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let period = period(&s, &q)?;
    let bytes = s.app.report_xlsx(&actor, period).await?;
    Ok(super::shipping::xlsx(
        bytes,
        "attachment; filename=\"fahuo-report.xlsx\"",
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InterceptInput {
    /// Why the parcel must be stopped (退款拦截, 地址错误 ...).
    pub reason: String,
}

/// Requests an interception (拦截) of a parcel not yet delivered: an after-sale to follow up
/// with the carrier, found again when the parcel comes back.
#[utoipa::path(post, path = "/parcels/{id}/intercept", tag = "tracking", request_body = InterceptInput,
    params(("id" = i64, Path)),
    responses((status = 201, body = fahuo_app::aftersales::AfterSaleDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn intercept_parcel(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<InterceptInput>,
) -> Result<(StatusCode, Json<fahuo_app::aftersales::AfterSaleDetail>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .request_interception(&actor, ParcelId(id), &input.reason)
                .await?,
        ),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InterceptResultInput {
    /// The carrier stopped it (it comes back) or could not.
    pub intercepted: bool,
    pub note: Option<String>,
}

/// Records the carrier's answer to an interception request.
#[utoipa::path(post, path = "/after-sales/{id}/intercept-result", tag = "after-sales",
    request_body = InterceptResultInput, params(("id" = i64, Path)),
    responses((status = 200, body = fahuo_app::aftersales::AfterSaleDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn intercept_result(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<InterceptResultInput>,
) -> Result<Json<fahuo_app::aftersales::AfterSaleDetail>, ApiError> {
    Ok(Json(
        s.app
            .record_interception(
                &actor,
                fahuo_domain::AfterSaleId(id),
                input.intercepted,
                input.note.as_deref(),
            )
            .await?,
    ))
}
