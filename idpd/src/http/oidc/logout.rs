//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): GET with a query, POST with a form
//! (the confirmation page posts back here); the decision is `domain::front::logout`'s.

use axum::extract::RawQuery;
use axum::response::Response;

use crate::domain::front;
use crate::http::login::{FormBody, PageRequest, fields};

pub async fn logout(r: PageRequest, RawQuery(q): RawQuery, body: FormBody) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return r.unreadable(e),
    };
    let params = if r.browser.post {
        fields(&body)
    } else {
        fields(q.unwrap_or_default().as_bytes())
    };
    r.respond(front::logout::logout(&r.front(), &r.browser, params.as_ref()).await)
}
