//! Integrity endpoints: the latest signed checkpoint, inclusion and consistency proofs, and
//! receipts (C2SP `tlog-proof@v1`) that prove one event offline.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use trail_core::{Receipt, SignedCheckpoint};
use trail_store::Store;

use crate::api::{
    ConsistencyParams, ConsistencyProof, ErrorBody, InclusionParams, InclusionProof, LogParam,
};
use crate::error::{ApiError, store_error};
use crate::handler::{blocking, query};
use crate::state::{Access, Read};

/// Builds the receipt of `seq` under `cp`.
pub fn build_receipt(
    store: &dyn Store,
    seq: u64,
    cp: &SignedCheckpoint,
) -> Result<Receipt, ApiError> {
    let size = cp.checkpoint.size;
    if seq >= size {
        return Err(not_covered(seq, size));
    }
    let rec = store.get(seq).map_err(store_error)?.ok_or_else(|| {
        ApiError::not_found(
            "no_such_seq",
            format!("no event at seq {seq} (it may have been pruned)"),
        )
    })?;
    Ok(Receipt {
        record: rec.canonical,
        index: seq,
        proof: store.inclusion_proof(seq, size).map_err(store_error)?,
        checkpoint: cp.clone(),
    })
}

fn not_covered(seq: u64, size: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "not_checkpointed",
        format!(
            "event {seq} is not covered by the latest signed checkpoint (size {size}) yet; retry shortly"
        ),
    );
    e.retry_after = Some(1);
    e
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The latest signed checkpoint, or 404 when there is none yet.
pub(crate) fn latest(store: &dyn Store) -> Result<SignedCheckpoint, ApiError> {
    store
        .latest_checkpoint()
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("no_checkpoint", "the log has no signed checkpoint yet"))
}

/// The latest signed checkpoint (a C2SP signed note).
#[utoipa::path(
    get,
    path = "/v1/checkpoint",
    tag = "integrity",
    params(LogParam),
    responses(
        (status = 200, description = "Signed note", body = String, content_type = "text/plain"),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn checkpoint(access: Access<Read>) -> Result<Response, ApiError> {
    let store = access.log.store.clone();
    let cp = blocking(move || latest(&*store)).await??;
    Ok(text(cp.to_string()))
}

/// An inclusion proof of the record at `seq` in the tree of `size`.
#[utoipa::path(
    get,
    path = "/v1/proof/inclusion",
    tag = "integrity",
    params(InclusionParams),
    responses((status = 200, body = InclusionProof), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn inclusion(
    access: Access<Read>,
    params: Result<Query<InclusionParams>, QueryRejection>,
) -> Result<Json<InclusionProof>, ApiError> {
    let p = query(params)?;
    let store = access.log.store.clone();
    let proof = blocking(move || -> Result<InclusionProof, ApiError> {
        let cp = store.latest_checkpoint().map_err(store_error)?;
        let size = match (p.size, &cp) {
            (Some(s), _) => s,
            (None, Some(cp)) => cp.checkpoint.size,
            (None, None) => {
                return Err(ApiError::not_found(
                    "no_checkpoint",
                    "the log has no signed checkpoint yet; pass size",
                ));
            }
        };
        let log_size = store.state().map_err(store_error)?.size;
        if p.seq >= size || size > log_size {
            return Err(ApiError::bad_request(
                "invalid_range",
                format!(
                    "seq {} must be below size {size}, and size at most the log size {log_size}",
                    p.seq
                ),
            ));
        }
        let rec = store.get(p.seq).map_err(store_error)?.ok_or_else(|| {
            ApiError::not_found(
                "no_such_seq",
                format!("no event at seq {} (it may have been pruned)", p.seq),
            )
        })?;
        let path = store.inclusion_proof(p.seq, size).map_err(store_error)?;
        let root = store.root_at(size).map_err(store_error)?;
        Ok(InclusionProof {
            seq: p.seq,
            size,
            leaf_hash: rec.hash.to_string(),
            proof: path.iter().map(|h| h.to_base64()).collect(),
            root: root.to_base64(),
            checkpoint: cp.filter(|c| c.checkpoint.size == size).map(|c| c.to_string()),
        })
    })
    .await??;
    Ok(Json(proof))
}

/// A consistency proof from tree size `from` to `to`.
#[utoipa::path(
    get,
    path = "/v1/proof/consistency",
    tag = "integrity",
    params(ConsistencyParams),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn consistency(
    access: Access<Read>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    let p = query(params)?;
    let store = access.log.store.clone();
    let proof = blocking(move || -> Result<ConsistencyProof, ApiError> {
        let cp = store.latest_checkpoint().map_err(store_error)?;
        let to = match (p.to, &cp) {
            (Some(s), _) => s,
            (None, Some(cp)) => cp.checkpoint.size,
            (None, None) => {
                return Err(ApiError::not_found(
                    "no_checkpoint",
                    "the log has no signed checkpoint yet; pass to",
                ));
            }
        };
        let log_size = store.state().map_err(store_error)?.size;
        if p.from == 0 || p.from > to || to > log_size {
            return Err(ApiError::bad_request(
                "invalid_range",
                format!("need 0 < from ({}) <= to ({to}) <= the log size ({log_size})", p.from),
            ));
        }
        let path = store.consistency_proof(p.from, to).map_err(store_error)?;
        let root_from = store.root_at(p.from).map_err(store_error)?;
        let root_to = store.root_at(to).map_err(store_error)?;
        Ok(ConsistencyProof {
            from: p.from,
            to,
            proof: path.iter().map(|h| h.to_base64()).collect(),
            root_from: root_from.to_base64(),
            root_to: root_to.to_base64(),
            checkpoint: cp.filter(|c| c.checkpoint.size == to).map(|c| c.to_string()),
        })
    })
    .await??;
    Ok(Json(proof))
}

/// The receipt of one event: `c2sp.org/tlog-proof@v1` text, verifiable offline with
/// `trail verify --receipt FILE --key log.vkey`.
#[utoipa::path(
    get,
    path = "/v1/receipt/{id}",
    tag = "integrity",
    params(("id" = String, Path, description = "Event id"), LogParam),
    responses(
        (status = 200, description = "Receipt", body = String, content_type = "text/plain"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not covered by a signed checkpoint yet", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn receipt(access: Access<Read>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let store = access.log.store.clone();
    let log = access.log.name.clone();
    let (seq, r) = blocking(move || -> Result<(u64, Receipt), ApiError> {
        let rec = store.find_id(&id).map_err(store_error)?.ok_or_else(|| {
            ApiError::not_found("no_such_event", format!("log {log:?} has no event with id {id:?}"))
        })?;
        let cp = latest(&*store).map_err(|_| not_covered(rec.seq, 0))?;
        Ok((rec.seq, build_receipt(&*store, rec.seq, &cp)?))
    })
    .await??;
    let mut resp = text(r.to_text());
    if let Ok(v) = format!("attachment; filename=\"event-{seq}.tlog-proof\"").parse() {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
