//! The one error type every refusal and failure travels in.
//!
//! Each error carries the stable snake_case `code` of `API.md`, a human message, and where
//! they apply the offending `field` and the `limit` it broke. The HTTP layer only maps
//! [`ErrorKind`] to a status; the CLI prints the message.

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: malformed or ill-typed input.
    Invalid,
    /// 401: no or unknown credentials.
    Unauthorized,
    /// 403: understood, and not allowed.
    Forbidden,
    /// 404: absent, or not the caller's to see (existence does not leak).
    NotFound,
    /// 409: the current state forbids it.
    Conflict,
    /// 413: request body over the size limit.
    PayloadTooLarge,
    /// 422: well-formed, but breaks a product rule (too long, empty).
    Unprocessable,
    /// 405: the route exists but not with this method; the answer lists the allowed ones.
    MethodNotAllowed,
    /// 408: the client did not send its request in time.
    Timeout,
    /// 429: a rate limit tripped; `retry_after_secs` says when to come back.
    RateLimited,
    /// 503: the server is at a configured capacity; try again shortly.
    Unavailable,
    /// 500: our fault, never the caller's.
    Internal,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub limit: Option<u64>,
    pub retry_after_secs: Option<u64>,
}

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Error {
        Error {
            kind,
            code,
            message: message.into(),
            field: None,
            limit: None,
            retry_after_secs: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Error {
        self.field = Some(field.into());
        self
    }

    pub fn limit(mut self, limit: u64) -> Error {
        self.limit = Some(limit);
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Error {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Invalid, "invalid_field", message).field(field)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Forbidden, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unauthorized, "unauthorized", message)
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Error {
        if let StoreError::Unavailable {
            retry_after_secs, ..
        } = error
        {
            // Nothing was committed: the caller may retry the same request.
            tracing::warn!(%error, "store unavailable");
            return Error::new(
                ErrorKind::Unavailable,
                "store_unavailable",
                "the store is unavailable; nothing was written, retry shortly",
            )
            .retry_after(retry_after_secs);
        }
        tracing::error!(%error, "store error");
        Error::new(ErrorKind::Internal, "internal", "internal store error")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
