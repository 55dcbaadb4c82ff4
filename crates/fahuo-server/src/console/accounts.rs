//! 子账号 and 操作日志: inviting sub-accounts, their roles and scopes, and the audit trail.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
