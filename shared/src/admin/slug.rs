//! Tenant slugs (and provider names): the rule idpd enforces and idpctl checks before it
//! sends anything. A slug is 1–63 lower-case ASCII letters, digits and single `-` (no
//! leading or trailing dash), so it is a valid DNS label and needs no escaping in a URL path.

/// Longest slug, the length of a DNS label.
pub const MAX_LEN: usize = 63;

/// Words that would shadow routes or confuse operators; refused when given explicitly, and
/// never generated (a name like "Admin" gets `admin-2`).
pub const RESERVED: &[&str] = &[
    "admin",
    "api",
    "assets",
    "auth",
    "authorize",
    "callback",
    "default",
    "device",
    "healthz",
    "idp",
    "jwks",
    "login",
    "logout",
    "metrics",
    "new",
    "oauth",
    "oauth2",
    "readyz",
    "root",
    "static",
    "system",
    "t",
    "token",
    "userinfo",
    "well-known",
    "www",
];

/// Why an explicit slug is refused, or `None` when it is fine.
pub fn problem(slug: &str) -> Option<&'static str> {
    if slug.is_empty() {
        return Some("must not be empty");
    }
    if slug.len() > MAX_LEN {
        return Some("must be at most 63 characters");
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("may contain only lower-case ASCII letters, digits and '-'");
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Some("must not start or end with '-' or contain '--'");
    }
    if RESERVED.contains(&slug) {
        return Some("is a reserved word");
    }
    // Tenants are looked up by id or slug (`idpctl tenant show KEY`, `/tenants/{KEY}`), ids
    // first: a slug that reads as a UUID could name another tenant's id.
    if uuid::Uuid::parse_str(slug).is_ok() {
        return Some("must not be a UUID: tenants are also found by their id");
    }
    None
}
