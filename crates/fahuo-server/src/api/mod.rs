//! The JSON API under `/api/v1`, one module per area. Every handler is documented for the
//! OpenAPI document through `#[utoipa::path]`.

mod address;
mod admin;
pub(crate) mod auth;
mod catalog;
mod orders;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(address::parse_addresses))
        .routes(routes!(orders::list_orders, orders::create_order))
        .routes(routes!(orders::order_counts))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::reveal_receiver))
        .routes(routes!(orders::approve_order))
        .routes(routes!(orders::hold_order))
        .routes(routes!(orders::cancel_order))
        .routes(routes!(catalog::list_shops, catalog::create_shop))
        .routes(routes!(catalog::list_warehouses, catalog::create_warehouse))
        .routes(routes!(catalog::list_skus, catalog::create_sku))
        .routes(routes!(catalog::map_shop_sku))
        .routes(routes!(catalog::list_stock))
        .routes(routes!(catalog::move_stock))
        .routes(routes!(catalog::stock_ledger))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::list_tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::list_jobs))
        .routes(routes!(admin::retry_job));
    OpenApiRouter::with_openapi(crate::openapi::base()).nest("/api/v1", v1)
}
