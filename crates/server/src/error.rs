//! Errors as HTTP answers: a status, a stable machine code and a message that names what is
//! wrong. Internal failures are logged here with their detail and answered tersely.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{BadEvent, ErrorBody, ErrorDetail};

/// An error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds a client should wait before retrying (429 and 503).
    pub retry_after: Option<u64>,
    /// The bad events of a batch, by index.
    pub events: Vec<BadEvent>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None, events: Vec::new() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    /// The server is saturated; the client should retry after `seconds`.
    pub fn overloaded(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { retry_after: Some(1), ..ApiError::new(status, code, message) }
    }

    /// Logs `detail` and answers 500 without it.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error while serving a request");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
                events: self.events.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"trail\""),
            );
        }
        resp
    }
}

/// A store error: a missing seq is the client's mistake, anything else is ours.
pub fn store_error(e: trail_store::StoreError) -> ApiError {
    use trail_store::StoreError as E;
    match e {
        E::NoSuchSeq { .. } => ApiError::not_found("no_such_seq", e.to_string()),
        E::Pruned { .. } => ApiError::new(StatusCode::GONE, "pruned", e.to_string()),
        E::Invalid(m) => ApiError::bad_request("invalid_range", m),
        other => ApiError::internal(other),
    }
}
