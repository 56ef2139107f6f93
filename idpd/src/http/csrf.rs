//! Where a form POST came from (SEC-07): the `Origin` and `Sec-Fetch-Site` a browser sends
//! with the forms of our own pages, and the refusal of anything another site could make a
//! victim's browser send. The per-form CSRF token stays required on top of this check.
//!
//! Our pages are served with `Referrer-Policy: same-origin` (see `pages::html_headers`), so a
//! browser sends the real origin with a same-origin form POST (Fetch standard, "append a
//! request `Origin` header"). A policy of `no-referrer` would make every browser send
//! `Origin: null` there, which is why `null` is still accepted when the browser itself vouches
//! for the request with `Sec-Fetch-Site: same-origin` (a page cached under the old policy, a
//! privacy extension that strips referrers).

use axum::http::{HeaderMap, header};

/// `Sec-Fetch-Site` (Fetch Metadata Request Headers): set by the browser, never by a page.
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether a state-changing form POST may have come from a page of this deployment, whose
/// origin is `public_origin` (`Config::public_origin`):
/// - `Sec-Fetch-Site: cross-site` or `same-site` is refused (another site, or a sibling host
///   under the same registrable domain, made the browser send it);
/// - `Origin` equal to the public origin is accepted (browsers serialize it canonically, so
///   the comparison is exact);
/// - `Origin: null` is accepted only with `Sec-Fetch-Site: same-origin`;
/// - no `Origin` at all is accepted (a non-browser client or a browser too old to send it:
///   the CSRF token alone decides).
pub(crate) fn from_own_page(headers: &HeaderMap, public_origin: &str) -> bool {
    let site = headers.get(SEC_FETCH_SITE).and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return false;
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        Some(Ok("null")) => site == Some("same-origin"),
        Some(Ok(origin)) => origin == public_origin,
        Some(Err(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// `Config::public_origin` of `https://id.example.com/base`.
    const PUBLIC: &str = "https://id.example.com";

    fn headers(origin: Option<&str>, site: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        if let Some(s) = site {
            h.insert(SEC_FETCH_SITE, HeaderValue::from_str(s).unwrap());
        }
        h
    }

    #[test]
    fn what_browsers_send_from_our_pages_is_accepted() {
        for (origin, site) in [
            (Some("https://id.example.com"), Some("same-origin")),
            (Some("https://id.example.com"), None),
            // Chromium under `Referrer-Policy: no-referrer`.
            (Some("null"), Some("same-origin")),
            // A user-initiated request (typed, bookmarked) has no initiator site.
            (Some("https://id.example.com"), Some("none")),
            // curl, scripts: the CSRF token decides.
            (None, None),
        ] {
            assert!(
                from_own_page(&headers(origin, site), PUBLIC),
                "{origin:?} {site:?}"
            );
        }
    }

    #[test]
    fn what_other_sites_can_make_a_browser_send_is_refused() {
        for (origin, site) in [
            (Some("https://evil.test"), Some("cross-site")),
            (Some("https://evil.test"), None),
            (Some("null"), Some("cross-site")),
            (Some("null"), None),
            (None, Some("cross-site")),
            (Some("https://app.example.com"), Some("same-site")),
            (Some("http://id.example.com"), None),
            (Some("https://id.example.com:8443"), None),
            (Some("https://id.example.com/"), None),
            // Lying about the origin while the browser says cross-site.
            (Some("https://id.example.com"), Some("cross-site")),
            (Some("not a url"), None),
        ] {
            assert!(
                !from_own_page(&headers(origin, site), PUBLIC),
                "{origin:?} {site:?}"
            );
        }
    }
}
