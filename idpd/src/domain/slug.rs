//! Tenant slugs: the `{slug}` in the issuer URL `{public_url}/t/{slug}`.
//!
//! A slug is 1–63 lower-case ASCII letters, digits and single `-` (no leading or trailing
//! dash), so it is a valid DNS label too and needs no escaping in a URL path.

/// The slug rules live in `shared`, so idpctl (apply) checks exactly what idpd enforces.
pub use shared::admin::slug::{MAX_LEN, RESERVED, problem};

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

/// The `n`-th candidate for `base`: `base` itself for n = 1 (unless reserved or a UUID, as
/// a tenant named after another's id would be), then `base-2`, `base-3`, ... shortened so
/// the result still fits in 63 characters.
pub fn candidate(base: &str, n: u32) -> Option<String> {
    let c = if n == 1 {
        base.to_owned()
    } else {
        let suffix = format!("-{n}");
        format!("{}{suffix}", truncate(base, MAX_LEN - suffix.len()))
    };
    (!RESERVED.contains(&c.as_str()) && uuid::Uuid::parse_str(&c).is_err()).then_some(c)
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
    fn uuid_names_skip_to_suffix() {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let base = from_name(&id);
        assert_eq!(base, id);
        assert_eq!(candidate(&base, 1), None);
        assert_eq!(first_free(&base, &[]), 2);
        assert_eq!(candidate(&base, 2), Some(format!("{id}-2")));
        assert_eq!(problem(&candidate(&base, 2).unwrap()), None);
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
        // Issue 16: every form of a UUID a slug's alphabet can spell (hyphenated and simple;
        // braced, URN and upper-case forms fail the alphabet already).
        let id = uuid::Uuid::now_v7();
        for bad in [
            id.hyphenated().to_string(),
            id.simple().to_string(),
            uuid::Uuid::nil().simple().to_string(),
            "00000000-0000-0000-0000-000000000000".into(),
            id.braced().to_string(),
            id.urn().to_string(),
            id.hyphenated().to_string().to_uppercase(),
        ] {
            assert!(problem(&bad).is_some(), "{bad:?} should be refused");
        }
        assert!(problem(&format!("{}-2", id.hyphenated())).is_none());
        assert!(problem(&id.simple().to_string()[..31]).is_none());
        for good in ["a", "acme", "acme-2", "x1-y2", &"a".repeat(63)] {
            assert!(problem(good).is_none(), "{good:?} should be accepted");
        }
    }
}
