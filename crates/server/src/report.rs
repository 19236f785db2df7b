//! `GET /v1/report`: the auditor's report of a log as `trail report` writes it (one
//! self-contained HTML file), for the dashboard's Report page, which previews it from the data
//! it embeds and offers it as a download.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use trail_core::{NoteVerifier, Timestamp};
use utoipa::IntoParams;

use crate::error::{ApiError, store_error};
use crate::handler::{blocking, query};
use crate::state::{Access, AppState, Read};

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportParams {
    /// The period's first instant (RFC 3339).
    pub from: Option<String>,
    /// The period's end (RFC 3339, exclusive).
    pub to: Option<String>,
    /// The shortest silence of an active agent listed as a gap, in minutes (default 60).
    pub gap_minutes: Option<u64>,
    /// The log (default: the first).
    pub log: Option<String>,
}

fn time(v: &Option<String>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Timestamp>().map_err(|e| {
                ApiError::bad_request("bad_query", format!("{name} {s:?}: {e} (use RFC 3339)"))
            })
        })
        .transpose()
}

/// The auditor's report of the log, as `trail report` writes it.
#[utoipa::path(
    get,
    path = "/v1/report",
    tag = "integrity",
    params(ReportParams),
    responses((status = 200, description = "The report, one HTML file", content_type = "text/html")),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    access: Access<Read>,
    params: Result<Query<ReportParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = query(params)?;
    let (from, to) = (time(&p.from, "from")?, time(&p.to, "to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::bad_request("bad_query", format!("from {f} is not before to {t}")));
    }
    let log = access.log.clone();
    let keys: Vec<NoteVerifier> =
        log.verifier_key.as_deref().and_then(|k| k.parse().ok()).into_iter().collect();
    let key_text = log.verifier_key.clone().unwrap_or_else(|| "LOG_KEY".to_owned());
    let node = state.node.clone();
    let opts = trail_report::Options {
        keys,
        from,
        to,
        gap_minutes: p.gap_minutes.unwrap_or(60),
        generated_at: trail_ingest::now(),
        source: format!("trail serve node {node}"),
        recheck: format!("trail verify --tiles {node}/tlog --key {key_text}"),
        ..trail_report::Options::default()
    };
    let name = log.name.clone();
    let html = blocking(move || {
        trail_report::from_store(&*log.store, &opts, &mut |_| {})
            .map(|(meta, figures)| trail_report::render(&meta, &figures))
    })
    .await?
    .map_err(store_error)?;
    let file: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect();
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"trail-report-{file}.html\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Opened from here rather than saved, it runs no script and loads nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    Ok(r)
}
