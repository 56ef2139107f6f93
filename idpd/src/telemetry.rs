//! Logging with tracing: human-readable text (coloured on a terminal) or JSON lines, on stderr.
//!
//! Lines are formatted on the thread that logs and written by a logging thread
//! (`tracing-appender`), which writes whatever has queued up since its last write in one
//! system call: a busy server logs every request without a write per request. Nothing is
//! dropped (a full queue of 8k lines makes loggers wait); the guard [`init`] returns writes
//! what is queued when dropped, before the process prints its last words.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Lines the logging thread may fall behind by before loggers wait.
const QUEUED_LINES: usize = 8 * 1024;

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `filter`. Keep the guard
/// until the end of `main`.
pub fn init(format: LogFormat, filter: &str) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        // The queue is allocated (and touched) whole: 128k lines would be 4 MB of RSS.
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(false)
        .thread_name("idpd-log")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    guard
}
