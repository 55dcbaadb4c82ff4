//! 导入: order and shipment imports with the preview → apply flow.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
