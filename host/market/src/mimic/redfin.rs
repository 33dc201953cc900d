//! The redfin mimic (placeholder: routes land with the scraper).

use super::MimicState;
use axum::Router;
use std::sync::Arc;

/// The routes of the redfin mimic.
pub(crate) fn router(state: Arc<MimicState>) -> Router {
    let _ = state;
    Router::new()
}
