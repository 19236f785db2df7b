//! What every route handler shares: a query string read with its errors as JSON, and store work
//! run off the async threads.

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;

use crate::error::ApiError;

/// Query-string errors as JSON.
pub fn query<T>(r: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    r.map(|q| q.0).map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// Runs store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
}
