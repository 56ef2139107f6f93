//! `/authorize` (OIDC Core §3.1.2): GET with a query, POST with a form; the decision is
//! `domain::front::authorize`'s.

use axum::extract::RawQuery;
use axum::response::Response;

use crate::domain::front::{self, Answer, Problem};
use crate::http::login::{FormBody, PageRequest};

pub async fn authorize_get(r: PageRequest, RawQuery(q): RawQuery) -> Response {
    authorize(&r, q.unwrap_or_default().as_bytes()).await
}

pub async fn authorize_post(r: PageRequest, body: FormBody) -> Response {
    match body {
        Ok(body) => authorize(&r, &body).await,
        Err(e) => r.unreadable(e),
    }
}

async fn authorize(r: &PageRequest, raw: &[u8]) -> Response {
    let answer = match super::form::pairs(raw) {
        Ok(params) => front::authorize::authorize(&r.front(), &r.browser, &params).await,
        Err(e) => Answer::problem(Problem::BadRequest(e)),
    };
    r.respond(answer)
}
