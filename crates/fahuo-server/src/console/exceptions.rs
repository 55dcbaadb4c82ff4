//! 异常: the exceptions queue (held orders, deadline risk, tracking alerts), most urgent first.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
