//! The JSON API under `/api/v1`, one module per area. Every handler is documented for the
//! OpenAPI document through `#[utoipa::path]`.

mod address;
mod admin;
mod aftersales;
pub(crate) mod auth;
mod bulk;
mod catalog;
mod dropship;
mod import;
mod intake;
mod inventory;
mod orders;
mod printing;
mod review;
mod shipping;
mod tracking;

use crate::AppState;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API with the default body limit (for the OpenAPI document).
pub fn router() -> OpenApiRouter<AppState> {
    router_with_limit(crate::HttpSettings::default().max_body_bytes)
}

/// The API; JSON routes refuse bodies over `max_body_bytes`. The order and stock count imports
/// take files up to their own, larger limit and enforce it themselves (with the API's error
/// shape).
pub fn router_with_limit(max_body_bytes: usize) -> OpenApiRouter<AppState> {
    let files = OpenApiRouter::new()
        .routes(routes!(import::import_orders))
        .routes(routes!(import::import_template))
        .routes(routes!(inventory::import_stock_count))
        .routes(routes!(shipping::preview_import));
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
        .routes(routes!(bulk::bulk_orders))
        .routes(routes!(bulk::export_orders_link))
        .routes(routes!(bulk::list_print_jobs))
        .routes(routes!(bulk::reprint_job))
        .routes(routes!(catalog::list_shops, catalog::create_shop))
        .routes(routes!(intake::shop_sync, intake::request_sync))
        .routes(routes!(intake::connect_shop))
        .routes(routes!(catalog::list_warehouses, catalog::create_warehouse))
        .routes(routes!(catalog::list_skus, catalog::create_sku))
        .routes(routes!(catalog::map_shop_sku))
        .routes(routes!(catalog::list_stock))
        .routes(routes!(catalog::move_stock))
        .routes(routes!(catalog::stock_ledger))
        .routes(routes!(catalog::set_stock_bin))
        .routes(routes!(inventory::transfer_stock))
        .routes(routes!(inventory::set_threshold))
        .routes(routes!(inventory::set_safety))
        .routes(routes!(inventory::stock_alerts))
        .routes(routes!(inventory::export_stock))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::update_user))
        .routes(routes!(admin::list_invites, admin::create_invite))
        .routes(routes!(admin::revoke_invite))
        .routes(routes!(admin::list_tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::audit_log))
        .routes(routes!(admin::list_jobs))
        .routes(routes!(admin::retry_job))
        .routes(routes!(
            printing::list_carrier_accounts,
            printing::bind_carrier_account
        ))
        .routes(routes!(printing::refresh_balance))
        .routes(routes!(printing::allocate_order))
        .routes(routes!(printing::create_print_job))
        .routes(routes!(printing::get_print_job))
        .routes(routes!(printing::print_job_labels))
        .routes(routes!(printing::print_job_pick_list))
        .routes(routes!(
            printing::get_carrier_rules,
            printing::set_carrier_rules
        ))
        .routes(routes!(printing::carrier_what_if))
        .routes(routes!(printing::carrier_choice))
        .routes(routes!(printing::set_label_settings))
        .routes(routes!(printing::set_sku_tags))
        .routes(routes!(
            review::get_review_settings,
            review::set_review_settings
        ))
        .routes(routes!(
            review::get_allocation_settings,
            review::set_allocation_settings
        ))
        .routes(routes!(
            review::get_deadline_settings,
            review::set_deadline_settings
        ))
        .routes(routes!(review::list_blacklist, review::add_to_blacklist))
        .routes(routes!(review::remove_from_blacklist))
        .routes(routes!(review::review_queue))
        .routes(routes!(review::review_order))
        .routes(routes!(review::release_holds))
        .routes(routes!(review::edit_receiver))
        .routes(routes!(review::edit_line))
        .routes(routes!(review::choose_warehouse))
        .routes(routes!(review::unmerge_order))
        .routes(routes!(review::order_timeline))
        .routes(routes!(review::at_risk))
        .routes(routes!(review::deadline_alerts))
        .routes(routes!(review::list_stockouts))
        .routes(routes!(review::set_stockout_expected))
        .routes(routes!(review::negotiate_delivery))
        .routes(routes!(
            shipping::get_shipping_settings,
            shipping::set_shipping_settings
        ))
        .routes(routes!(aftersales::list_after_sales))
        .routes(routes!(aftersales::get_after_sale))
        .routes(routes!(aftersales::approve_after_sale))
        .routes(routes!(aftersales::reject_after_sale))
        .routes(routes!(aftersales::confirm_received))
        .routes(routes!(
            aftersales::issue_return_label,
            aftersales::cancel_return_label
        ))
        .routes(routes!(aftersales::book_pickup, aftersales::cancel_pickup))
        .routes(routes!(aftersales::scan_return))
        .routes(routes!(aftersales::inspect_return))
        .routes(routes!(aftersales::inspection_photo))
        .routes(routes!(aftersales::open_claim))
        .routes(routes!(aftersales::settle_claim))
        .routes(routes!(aftersales::create_reship))
        .routes(routes!(aftersales::get_settings, aftersales::set_settings))
        .routes(routes!(shipping::set_carrier_code))
        .routes(routes!(shipping::ship_order))
        .routes(routes!(shipping::ship_packages))
        .routes(routes!(shipping::list_shipments))
        .routes(routes!(shipping::get_shipment))
        .routes(routes!(shipping::retry_shipment))
        .routes(routes!(shipping::change_shipment))
        .routes(routes!(shipping::shipment_changes))
        .routes(routes!(shipping::pack_open))
        .routes(routes!(shipping::pack_scan))
        .routes(routes!(shipping::pack_reset))
        .routes(routes!(shipping::pack_close))
        .routes(routes!(shipping::weigh_package))
        .routes(routes!(shipping::import_template))
        .routes(routes!(shipping::apply_import))
        .routes(routes!(shipping::import_status))
        .routes(routes!(shipping::import_result))
        .routes(routes!(shipping::export_orders))
        .routes(routes!(
            tracking::list_tracking_accounts,
            tracking::create_tracking_account
        ))
        .routes(routes!(tracking::set_tracking_account_enabled))
        .routes(routes!(tracking::list_parcels))
        .routes(routes!(tracking::get_parcel))
        .routes(routes!(tracking::refresh_parcel))
        .routes(routes!(tracking::dispute_parcel))
        .routes(routes!(tracking::intercept_parcel))
        .routes(routes!(tracking::intercept_result))
        .routes(routes!(tracking::order_tracking))
        .routes(routes!(tracking::radar_queue))
        .routes(routes!(
            tracking::get_radar_settings,
            tracking::set_radar_settings
        ))
        .routes(routes!(
            tracking::get_notify_settings,
            tracking::set_notify_settings
        ))
        .routes(routes!(tracking::list_notifications))
        .routes(routes!(tracking::get_report))
        .routes(routes!(tracking::report_xlsx))
        .routes(routes!(dropship::list_suppliers, dropship::create_supplier))
        .routes(routes!(dropship::get_supplier, dropship::update_supplier))
        .routes(routes!(dropship::set_supplier_skus))
        .routes(routes!(dropship::supplier_lines))
        .routes(routes!(dropship::purchase_order))
        .routes(routes!(dropship::create_link))
        .routes(routes!(dropship::rotate_link))
        .routes(routes!(dropship::order_dropship, dropship::assign_lines))
        .routes(routes!(dropship::unassign_lines))
        .routes(routes!(dropship::late))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .merge(files);
    OpenApiRouter::with_openapi(crate::openapi::base()).nest("/api/v1", v1)
}
