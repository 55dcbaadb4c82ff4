//! 设置: shops and their connection status, carrier accounts and balances, rules, warehouses,
//! SKUs and mappings, suppliers and templates.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
