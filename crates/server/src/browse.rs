//! Summaries for people: sessions, stats, and the logs a key may see.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};

use crate::api::{
    ErrorBody, EventsParams, LogInfo, LogsResponse, SessionView, SessionsResponse, StatsView,
};
use crate::error::{ApiError, store_error};
use crate::events::store_query;
use crate::handler::{blocking, query};
use crate::state::{Access, AppState, Authorized, Read};

/// Sessions with duration, events, errors, denials, tokens and cost; most recent first.
#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "browse",
    params(EventsParams),
    responses((status = 200, body = SessionsResponse), (status = 400, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn sessions(
    access: Access<Read>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Json<SessionsResponse>, ApiError> {
    let p = query(params)?;
    let mut q = store_query(&p)?;
    q.limit = p.limit.unwrap_or(50).clamp(1, 10_000);
    let store = access.log.store.clone();
    let list = blocking(move || store.sessions(&q)).await?.map_err(store_error)?;
    Ok(Json(SessionsResponse { sessions: list.into_iter().map(SessionView::from).collect() }))
}

/// Counts by kind, category, status and agent; events, tokens and cost per hour.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "browse",
    params(EventsParams),
    responses((status = 200, body = StatsView), (status = 400, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn stats(
    access: Access<Read>,
    params: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Json<StatsView>, ApiError> {
    let p = query(params)?;
    let q = store_query(&p)?;
    let store = access.log.store.clone();
    let (stats, size, cp) = blocking(move || -> Result<_, trail_store::StoreError> {
        let stats = store.stats(&q)?;
        let size = store.state()?.size;
        let cp = store.latest_checkpoint()?.map_or(0, |c| c.checkpoint.size);
        Ok((stats, size, cp))
    })
    .await?
    .map_err(store_error)?;
    Ok(Json(StatsView::new(stats, size, cp)))
}

/// The logs this key may read, with their size, latest checkpoint and verifier key.
#[utoipa::path(
    get,
    path = "/v1/info",
    tag = "browse",
    responses((status = 200, body = LogsResponse)),
    security(("bearer" = []))
)]
pub async fn info(
    State(state): State<AppState>,
    auth: Authorized<Read>,
) -> Result<Json<LogsResponse>, ApiError> {
    let mut logs = Vec::new();
    for log in state.logs.iter().filter(|l| auth.principal.allows_log(&l.name)) {
        let store = log.store.clone();
        let (size, cp) = blocking(move || -> Result<_, trail_store::StoreError> {
            Ok((store.state()?.size, store.latest_checkpoint()?.map_or(0, |c| c.checkpoint.size)))
        })
        .await?
        .map_err(store_error)?;
        logs.push(LogInfo {
            name: log.name.clone(),
            size,
            checkpoint_size: cp,
            verifier_key: log.verifier_key.clone(),
        });
    }
    Ok(Json(LogsResponse { logs }))
}
