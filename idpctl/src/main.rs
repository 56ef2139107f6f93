//! The idpctl binary: hands the process's arguments and streams to [`idpctl::run_with`].

use std::io::{self, BufWriter};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut stdout = BufWriter::new(io::stdout().lock());
    let mut stderr = io::stderr().lock();
    idpctl::run_with(
        std::env::args_os(),
        idpctl::Terminal::detect(),
        &mut stdout,
        &mut stderr,
    )
    .into()
}
