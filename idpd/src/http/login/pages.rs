//! Handlers of the login pages, the upstream callback and the device page: each reads the
//! request, calls its one `domain::front` function and answers with
//! [`PageRequest::respond`].

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::Response;

use super::{FormBody, PageRequest, fields};
use crate::domain::front;

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(String::as_str)
}

/// `GET {issuer}/login?flow=…`.
pub async fn login_page(r: PageRequest, Query(q): Params) -> Response {
    r.respond(front::login::page(&r.front(), &r.browser, param(&q, "flow")).await)
}

/// `POST {issuer}/login/email`.
pub async fn login_email(r: PageRequest, body: FormBody) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return r.unreadable(e),
    };
    let f = fields(&body);
    r.respond(front::login::submit_email(&r.front(), &r.browser, f.as_ref()).await)
}

/// `POST {issuer}/login/code`.
pub async fn login_code(r: PageRequest, body: FormBody) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return r.unreadable(e),
    };
    let f = fields(&body);
    r.respond(front::login::submit_code(&r.front(), &r.browser, f.as_ref()).await)
}

/// `GET {issuer}/login/link?flow=…&token=…`.
pub async fn login_link(r: PageRequest, Query(q): Params) -> Response {
    let (flow, token) = (param(&q, "flow"), param(&q, "token").unwrap_or(""));
    r.respond(front::login::follow_link(&r.front(), &r.browser, flow, token).await)
}

/// `GET {issuer}/callback/{provider}`: the upstream's authorization response.
pub async fn callback(
    r: PageRequest,
    Path(path): Path<HashMap<String, String>>,
    Query(q): Params,
) -> Response {
    let name = param(&path, "provider").unwrap_or("");
    r.respond(front::upstream::callback(&r.front(), &r.browser, name, &q).await)
}

/// `GET {issuer}/device[?user_code=…]`.
pub async fn device_page(r: PageRequest, Query(q): Params) -> Response {
    r.respond(front::device::page(&r.front(), &r.browser, param(&q, "user_code")).await)
}

/// `POST {issuer}/device`.
pub async fn device_post(r: PageRequest, body: FormBody) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return r.unreadable(e),
    };
    let f = fields(&body);
    r.respond(front::device::submit(&r.front(), &r.browser, f.as_ref()).await)
}
