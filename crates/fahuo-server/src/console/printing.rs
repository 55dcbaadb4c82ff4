//! 打单: print jobs with label and pick-list preview in the browser, printing to the browser's
//! printer, PDF download, and reprints with a reason.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
