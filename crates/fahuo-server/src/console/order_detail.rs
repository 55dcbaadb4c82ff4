//! 订单详情: one order's lines, receiver (masked, with an audited "show"), packages, timeline
//! and audit, with the actions its state allows.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
