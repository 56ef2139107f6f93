//! Tenant slugs: the `{slug}` in the issuer URL `{public_url}/t/{slug}`.
//!
//! A slug is 1–63 lower-case ASCII letters, digits and single `-` (no leading or trailing
//! dash), so it is a valid DNS label too and needs no escaping in a URL path.

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
    None
}

/// The base slug for a display name: accents and other scripts folded to ASCII
/// ("Bjørn Ålesund AS" → `bjorn-alesund-as`), runs of anything else turned into one `-`.
/// Falls back to `tenant` when nothing usable is left.
pub fn from_name(name: &str) -> String {
    let folded = deunicode::deunicode(name).to_ascii_lowercase();
    let mut slug = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = truncate(&slug, MAX_LEN);
    if slug.is_empty() {
        "tenant".to_owned()
    } else {
        slug
    }
}

/// The `n`-th candidate for `base`: `base` itself for n = 1 (unless reserved), then
/// `base-2`, `base-3`, ... shortened so the result still fits in 63 characters.
pub fn candidate(base: &str, n: u32) -> Option<String> {
    if n == 1 {
        return (!RESERVED.contains(&base)).then(|| base.to_owned());
    }
    let suffix = format!("-{n}");
    Some(format!(
        "{}{suffix}",
        truncate(base, MAX_LEN - suffix.len())
    ))
}

/// The smallest candidate number not taken, given the slugs that already start with `base`.
pub fn first_free(base: &str, taken: &[String]) -> u32 {
    (1..)
        .find(|&n| match candidate(base, n) {
            Some(c) => !taken.contains(&c),
            None => false,
        })
        .unwrap_or(1)
}

fn truncate(slug: &str, max: usize) -> String {
    slug[..slug.len().min(max)].trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_punctuation() {
        assert_eq!(from_name("Bjørn Ålesund AS"), "bjorn-alesund-as");
        assert_eq!(from_name("Acme Corp"), "acme-corp");
        assert_eq!(from_name("  Ærlig & Søt -- Café!! "), "aerlig-sot-cafe");
        assert_eq!(from_name("Straße 42"), "strasse-42");
        assert_eq!(from_name("!!!"), "tenant");
        assert_eq!(from_name(""), "tenant");
        assert!(problem(&from_name("東京 Tokyo")).is_none());
    }

    #[test]
    fn long_names_fit_with_suffix() {
        let base = from_name(&"abc def ".repeat(30));
        assert!(base.len() <= MAX_LEN && problem(&base).is_none(), "{base}");
        let c = candidate(&base, 123).unwrap();
        assert!(
            c.len() <= MAX_LEN && c.ends_with("-123") && problem(&c).is_none(),
            "{c}"
        );
    }

    #[test]
    fn reserved_names_skip_to_suffix() {
        assert_eq!(candidate("admin", 1), None);
        assert_eq!(first_free("admin", &[]), 2);
        assert_eq!(first_free("acme", &[]), 1);
        assert_eq!(
            first_free(
                "acme",
                &["acme".into(), "acme-2".into(), "acme-corp".into()]
            ),
            3
        );
    }

    #[test]
    fn explicit_slug_rules() {
        for bad in [
            "", "../x", "Acme", "a_b", "-a", "a-", "a--b", "api", "t", "admin", "a b", "é",
        ] {
            assert!(problem(bad).is_some(), "{bad:?} should be refused");
        }
        assert!(problem(&"a".repeat(64)).is_some());
        for good in ["a", "acme", "acme-2", "x1-y2", &"a".repeat(63)] {
            assert!(problem(good).is_none(), "{good:?} should be accepted");
        }
    }
}
