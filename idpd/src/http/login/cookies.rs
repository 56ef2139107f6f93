//! The cookies of the login flow and the session: names (with the `__Host-` prefix only
//! where https allows it), attributes from the tenant's settings, and reading them back.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::domain::front::{Cookie, CookieKind};
use crate::domain::tenants::Tenant;

/// A cookie name usable on this deployment: the `__Host-`/`__Secure-` prefixes require
/// `Secure`, which an http public URL cannot have, so they are dropped there.
pub fn cookie_name(name: &str, https: bool) -> String {
    if https {
        return name.to_owned();
    }
    name.trim_start_matches("__Host-")
        .trim_start_matches("__Secure-")
        .to_owned()
}

/// The name of the tenant's session cookie.
pub fn session_cookie_name(tenant: &Tenant, https: bool) -> String {
    cookie_name(&tenant.session.cookie_name, https)
}

/// The cookie that binds a login flow to the browser that started it.
pub fn flow_cookie_name(tenant: &Tenant, https: bool) -> String {
    cookie_name(&format!("__Host-idp-flow-{}", tenant.id.simple()), https)
}

/// The `Set-Cookie` value of `c`: the session cookie with the tenant's name, domain and
/// SameSite; the flow cookie SameSite=Lax (it must come back from an upstream's redirect).
/// Both HttpOnly, and Secure on https.
pub fn set_cookie(tenant: &Tenant, https: bool, c: &Cookie) -> HeaderValue {
    let (name, same_site, domain) = match c.kind {
        CookieKind::Session => {
            let s = &tenant.session;
            let same_site = match s.same_site {
                shared::admin::SameSite::Strict => "Strict",
                shared::admin::SameSite::Lax => "Lax",
                shared::admin::SameSite::None => "None",
            };
            (
                session_cookie_name(tenant, https),
                same_site,
                s.cookie_domain.as_deref(),
            )
        }
        CookieKind::Flow => (flow_cookie_name(tenant, https), "Lax", None),
    };
    let mut v = format!(
        "{name}={}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={}",
        c.value, c.max_age
    );
    if let Some(d) = domain {
        v.push_str(&format!("; Domain={d}"));
    }
    if https {
        v.push_str("; Secure");
    }
    HeaderValue::from_str(&v)
        .unwrap_or_else(|_| HeaderValue::from_static("idp-invalid=; Max-Age=0"))
}

/// The value of cookie `name` in the request.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_prefixes_need_https() {
        assert_eq!(cookie_name("__Host-idp-x", true), "__Host-idp-x");
        assert_eq!(cookie_name("__Host-idp-x", false), "idp-x");
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; idp-x=abc; b=2"),
        );
        assert_eq!(read_cookie(&h, "idp-x").as_deref(), Some("abc"));
        assert_eq!(read_cookie(&h, "idp"), None);
    }
}
