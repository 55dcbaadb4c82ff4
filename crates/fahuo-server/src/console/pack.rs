//! 验货: the full-screen pack station for the warehouse tablet or PC (scan, check each item,
//! green/red feedback, weight, next).

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
