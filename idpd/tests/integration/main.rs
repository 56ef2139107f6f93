//! idpd's integration tests, one binary: the command line run as the real binary, and the
//! store and domain rules on both backends (SQLite always, PostgreSQL when
//! `IDP_TEST_POSTGRES_URL` is set). One binary links idpd once and runs its tests in
//! parallel; the end-to-end tests of the running daemon are in `tests/` at the top.

mod cli;
mod common;
mod devices_store;
mod grants_store;
mod man;
mod purge;
mod redemption;
mod rotation;
mod tenants_store;
