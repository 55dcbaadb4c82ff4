//! Address parsing (智能地址解析).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Authed};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

/// One address or many: `{"address": "..."}` or `{"addresses": ["...", ...]}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ParseRequest {
    pub address: Option<String>,
    pub addresses: Option<Vec<String>>,
}

/// Parses addresses into name, phone, province, city, county, town, detail, division code,
/// confidence and the reasons for any doubt, in input order. Always answers a list.
#[utoipa::path(post, path = "/address/parse", tag = "address", request_body = ParseRequest,
    responses((status = 200, body = Vec<Object>), (status = 422, body = ErrorBody)))]
pub async fn parse_addresses(
    State(s): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<ParseRequest>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let inputs: Vec<String> = req
        .address
        .into_iter()
        .chain(req.addresses.unwrap_or_default())
        .collect();
    let parsed = s.app.parse_addresses(&actor, &inputs)?;
    let values = parsed
        .iter()
        .map(|p| serde_json::to_value(p).map_err(|e| fahuo_app::AppError::Internal(e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(Json(values))
}
