//! The `idpd` binary: all logic is in the library.

fn main() -> std::process::ExitCode {
    idpd::cli::main()
}
