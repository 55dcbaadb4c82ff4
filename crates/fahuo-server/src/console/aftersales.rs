//! 售后: refunds, returns and exchanges, with the decisions each allows.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
