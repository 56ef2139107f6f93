//! End-to-end tests: the real idpd and idpctl binaries on loopback, on SQLite and (with
//! `IDP_TEST_POSTGRES_URL`) PostgreSQL. One test binary; each test has its own database.

mod account_safety;
mod admin_errors;
mod admin_tenants;
mod apply_export;
mod audit_metrics;
mod browser_flows;
mod cli_contexts;
mod config_cache;
mod device_flow;
mod device_login;
mod device_security;
mod faults_cluster;
mod faults_crash;
mod faults_races;
mod hostile_traffic;
mod lifecycle;
mod login_abuse;
mod login_flow;
mod login_id_token_alg;
mod login_mail;
mod login_relying_party;
mod login_security;
mod oidc_core;
mod oidc_introspection;
mod oidc_isolation;
mod oidc_keys;
mod oidc_rate_limit;
mod openapi;
mod providers_admin;
mod providers_login;
mod providers_security;
mod sessions;
mod sweep;
mod users;
