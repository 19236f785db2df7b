//! The log's tree as C2SP `tlog-tiles` under `/tlog/`: the latest signed checkpoint, hash tiles
//! from the stored nodes and entry bundles of the records' canonical bytes (bodies never), so an
//! auditor or a monitor can check the log with nothing but HTTP and a cache. Tiles are cut at
//! the latest checkpoint's size: what a client reads is what that checkpoint signs. Full tiles
//! never change and are cacheable for a year; partial tiles and the checkpoint are not cached.
//! The prefix serves the default log; `?log=NAME` picks another, as on every route.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use trail_merkle::tiles::Tile;

use crate::error::{ApiError, store_error};
use crate::handler::blocking;
use crate::proofs::latest;
use crate::state::{Access, AppState, Read};

/// `GET /tlog/checkpoint`: the latest signed checkpoint, as `/v1/checkpoint` serves it.
pub async fn checkpoint(access: Access<Read>) -> Result<Response, ApiError> {
    let store = access.log.store.clone();
    let cp = blocking(move || latest(&*store)).await??;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        cp.to_string(),
    )
        .into_response())
}

/// `GET /tlog/tile/<L>/<N>[.p/<W>]` and `GET /tlog/tile/entries/<N>[.p/<W>]`.
pub async fn tile(
    State(state): State<AppState>,
    access: Access<Read>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let path = format!("tile/{rest}");
    let tile =
        Tile::parse(&path).map_err(|e| ApiError::not_found("no_such_tile", e.to_string()))?;
    let store = access.log.store.clone();
    let bytes = blocking(move || -> Result<Vec<u8>, ApiError> {
        let size = latest(&*store)?.checkpoint.size;
        trail_store::tiles::tile_bytes(&*store, size, &tile).map_err(|e| match e {
            trail_store::StoreError::Invalid(m) => ApiError::not_found("no_such_tile", m),
            other => store_error(other),
        })
    })
    .await??;
    // Behind API keys a tile is for its reader only: shared caches must not keep it.
    let open = state.keys.authenticate(&axum::http::HeaderMap::new()).is_ok();
    let cache = match (tile.is_full(), open) {
        (true, true) => "public, max-age=31536000, immutable",
        (true, false) => "private, max-age=31536000, immutable",
        (false, _) => "no-cache",
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, cache)],
        bytes,
    )
        .into_response())
}
