//! BCP 47 language tags (RFC 5646): the validation that tenant locales and user locales share.

/// Parses and validates one language tag and returns it in canonical case (`nb`, `en-US`,
/// `zh-Hant-TW`). Private-use (`x-…`) and grandfathered (`i-…`) tags are refused: they name
/// no language a login page could be written in. The error says why, quoting the tag.
pub(crate) fn canonical_tag(tag: &str) -> Result<String, String> {
    let parsed = language_tags::LanguageTag::parse(tag)
        .map_err(|e| e.to_string())
        .and_then(|t| t.validate().map(|()| t).map_err(|e| e.to_string()));
    match parsed {
        Ok(t) if is_language(&t) => Ok(canonical_case(t.as_str())),
        Ok(_) => Err(format!(
            "{tag:?} is a private-use or grandfathered tag, not a language"
        )),
        Err(e) => Err(format!("{tag:?} is not a valid BCP 47 language tag: {e}")),
    }
}

/// A tag that names a language (not a private-use `x-…` or grandfathered `i-…` tag).
fn is_language(t: &language_tags::LanguageTag) -> bool {
    let p = t.primary_language();
    p.len() >= 2 && p.chars().all(|c| c.is_ascii_alphabetic())
}

/// RFC 5646 §2.1.1 case conventions: language lower, script title, region upper.
fn canonical_case(tag: &str) -> String {
    tag.split('-')
        .enumerate()
        .map(|(i, part)| match part.len() {
            _ if i == 0 => part.to_ascii_lowercase(),
            2 if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
            4 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                let mut s = part.to_ascii_lowercase();
                s[..1].make_ascii_uppercase();
                s
            }
            _ => part.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_validated_and_canonicalized() {
        assert_eq!(canonical_tag("NB").as_deref(), Ok("nb"));
        assert_eq!(canonical_tag("en-us").as_deref(), Ok("en-US"));
        assert_eq!(canonical_tag("zh-hant-tw").as_deref(), Ok("zh-Hant-TW"));
        for bad in [
            "",
            "english",
            "en_US",
            "x-private",
            "i-klingon",
            "e",
            "en--us",
            "12",
        ] {
            assert!(canonical_tag(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
