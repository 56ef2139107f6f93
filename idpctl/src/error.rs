//! idpctl's error type and the exit class each error belongs to.

use std::io;

use reqwest::StatusCode;
use shared::ErrorBody;

/// The exit status of idpctl. `lib.rs` turns it into the process exit code; `idpctl.1` and
/// `idpctl --help` list these descriptions, so scripts can rely on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    NotFound = 3,
    Unauthorized = 4,
    Conflict = 5,
}

impl Exit {
    pub const ALL: [Exit; 6] = [
        Exit::Success,
        Exit::Failure,
        Exit::Usage,
        Exit::NotFound,
        Exit::Unauthorized,
        Exit::Conflict,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// One line per code, for `idpctl --help` and `idpctl.1`.
    pub fn description(self) -> &'static str {
        match self {
            Exit::Success => "success (a closed standard output counts as success)",
            Exit::Failure => {
                "failure: idpd unreachable, a server error, input refused, or not confirmed"
            }
            Exit::Usage => {
                "usage error: a bad option or value, or a value missing with no terminal"
            }
            Exit::NotFound => "not found (404)",
            Exit::Unauthorized => {
                "not authorized: no admin token found, or idpd refused it (401, 403)"
            }
            Exit::Conflict => {
                "conflict (409), e.g. a slug or client_id already taken, or a key still in use"
            }
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// Everything that can go wrong in one idpctl invocation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad command line that clap could not catch on its own.
    #[error("{0}")]
    Usage(String),

    #[error(
        "no admin token found: pass --token or --token-file, or set IDPCTL_TOKEN or \
         IDPCTL_TOKEN_FILE (a local idpd writes one to {})",
        crate::cli::DEFAULT_TOKEN_FILE
    )]
    NoToken,

    #[error("could not read the admin token from {path}")]
    TokenFile {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("the admin token {origin} {problem}")]
    BadToken {
        origin: String,
        problem: &'static str,
    },

    #[error("could not reach idpd at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("request to {url} failed")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// idpd answered with its JSON error body.
    #[error("{}", api_message(*.status, .body))]
    Api {
        status: StatusCode,
        body: ErrorBody,
        /// Extra advice printed on its own line, e.g. where the rejected token came from.
        hint: Option<String>,
    },

    /// An answer that is not what the admin API sends: wrong `--url`, a proxy page, a bug.
    #[error("unexpected answer from {url}: {detail}")]
    Protocol {
        url: String,
        detail: String,
        request_id: Option<String>,
    },

    /// A destructive command without a terminal to confirm on; holds what it would do,
    /// e.g. "delete tenant acme".
    #[error("refusing to {0} without confirmation: pass --yes")]
    NotConfirmed(String),

    /// Apply documents that do not validate; nothing was applied.
    #[error("{0}")]
    Documents(String),

    #[error("aborted")]
    Aborted,

    #[error("could not prompt on the terminal")]
    Prompt(#[source] dialoguer::Error),

    #[error("could not write the output")]
    Output(#[source] io::Error),

    #[error("could not set up the HTTP client")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A check the command ran failed (e.g. `provider test`); the output says which.
    #[error("{0}")]
    CheckFailed(String),
}

fn api_message(status: StatusCode, body: &ErrorBody) -> String {
    let message = if body.message.is_empty() {
        &body.error
    } else {
        &body.message
    };
    if status.is_server_error() {
        format!("idpd failed ({status}): {message}")
    } else {
        message.clone()
    }
}

impl Error {
    /// idpd answered 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// The exit class; the only place an error is mapped to one.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::NoToken | Error::TokenFile { .. } | Error::BadToken { .. } => Exit::Unauthorized,
            Error::Api { status, .. } => match *status {
                StatusCode::NOT_FOUND => Exit::NotFound,
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Exit::Unauthorized,
                StatusCode::CONFLICT => Exit::Conflict,
                _ => Exit::Failure,
            },
            Error::Unreachable { .. }
            | Error::Request { .. }
            | Error::Protocol { .. }
            | Error::NotConfirmed(_)
            | Error::Documents(_)
            | Error::Aborted
            | Error::Prompt(_)
            | Error::Output(_)
            | Error::Setup(_)
            | Error::CheckFailed(_) => Exit::Failure,
        }
    }

    /// The server's request id, for finding idpd's log lines.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { body, .. } => body.request_id.as_deref(),
            Error::Protocol { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Api { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }

    /// A reader closed stdout (`idpctl tenant list | head -1`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The message and its whole cause chain on one line, as `idpctl: error:` prints it.
pub fn one_line(err: &Error) -> String {
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some libraries repeat their source's text in their own; print it once.
        if !text.is_empty() && !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    if let Some(id) = err.request_id() {
        line.push_str(&format!(" (request id {id})"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: StatusCode, request_id: Option<&str>) -> Error {
        Error::Api {
            status,
            body: ErrorBody {
                error: "not_found".into(),
                message: "no tenant \"acme\"".into(),
                request_id: request_id.map(str::to_owned),
            },
            hint: None,
        }
    }

    #[test]
    fn statuses_map_to_exit_classes() {
        assert_eq!(api(StatusCode::NOT_FOUND, None).exit(), Exit::NotFound);
        assert_eq!(
            api(StatusCode::UNAUTHORIZED, None).exit(),
            Exit::Unauthorized
        );
        assert_eq!(api(StatusCode::FORBIDDEN, None).exit(), Exit::Unauthorized);
        assert_eq!(api(StatusCode::CONFLICT, None).exit(), Exit::Conflict);
        assert_eq!(
            api(StatusCode::UNPROCESSABLE_ENTITY, None).exit(),
            Exit::Failure
        );
        assert_eq!(
            api(StatusCode::INTERNAL_SERVER_ERROR, None).exit(),
            Exit::Failure
        );
        assert_eq!(Error::NoToken.exit(), Exit::Unauthorized);
        assert_eq!(Error::Usage("x".into()).exit(), Exit::Usage);
    }

    #[test]
    fn one_line_carries_chain_and_request_id() {
        assert_eq!(
            one_line(&api(StatusCode::NOT_FOUND, Some("r-1"))),
            "no tenant \"acme\" (request id r-1)"
        );
        let err = Error::TokenFile {
            path: "t".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(
            one_line(&err),
            "could not read the admin token from t: gone"
        );
        assert!(one_line(&api(StatusCode::BAD_GATEWAY, None)).starts_with("idpd failed (502"));
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let err = Error::Output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(err.is_broken_pipe());
        assert!(!Error::Aborted.is_broken_pipe());
    }
}
