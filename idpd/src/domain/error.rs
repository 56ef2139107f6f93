//! The error type of admin and login work; mapped to HTTP only in `http/error.rs`.

use crate::store::StoreError;

/// `Display` of an error with its sources, on one line: what the logs get (never clients).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// One invalid field of a request, with a message an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{}", join_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// An upstream identity provider could not be used (unreachable, bad discovery).
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    #[error("database unavailable")]
    Unavailable(#[source] StoreError),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn join_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A short reason for the audit log (never a secret).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Invalid(_) => "invalid",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::Upstream { code, .. } => code,
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal_error",
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound("record".into()),
            StoreError::Conflict { constraint } => {
                Error::Conflict(format!("conflicts with an existing record ({constraint})"))
            }
            e if e.is_unavailable() => Error::Unavailable(e),
            e if e.is_bad_input() => {
                Error::invalid("request", "contains a character that is not allowed (NUL)")
            }
            e => Error::Internal(e.into()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
