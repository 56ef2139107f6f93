//! `/authorize` (OIDC Core §3.1.2): check the client and redirect URI, then the request;
//! answer from a live session (SSO) or send the browser to log in.

use std::collections::HashMap;

use super::{Answer, Browser, Cookie, CookieKind, Front, Problem, try_store};
use crate::domain::login::{self, LoginFlow, Session};
use crate::domain::oauth::authorize::{self, AuthorizationRequest};
use crate::domain::oauth::{ErrorCode, code, token};
use crate::domain::{clients, rate_limit, tenants};

/// The authorization request `params` (query or form) from `browser`.
pub async fn authorize(
    front: &Front<'_>,
    browser: &Browser,
    params: &HashMap<String, String>,
) -> Answer {
    let ctx = &front.ctx;
    // 1. Client and redirect URI: failures are shown here, never redirected (SEC-01, SEC-06).
    let client = match params.get("client_id") {
        Some(id) => try_store!(clients::find(ctx.store, ctx.tenant.id, id).await),
        None => None,
    };
    let redirect_uri = match authorize::check_client(client.as_ref(), params) {
        Ok(r) => r,
        Err(e) => return Answer::problem(Problem::BadRequest(e.0.to_owned())),
    };
    let Some(client) = client else {
        return Answer::problem(Problem::BadRequest("unknown client".to_owned()));
    };
    // 2. Everything else: failures go back to the client with state and iss (RFC 9207).
    let req = match authorize::check_request(&client, redirect_uri.clone(), params) {
        Ok(r) => r,
        Err(e) => {
            return Answer::redirect(authorize::response_url(
                &redirect_uri,
                &[
                    ("error", e.error.as_str()),
                    ("error_description", &e.description),
                ],
                params.get("state").map(String::as_str),
                ctx.issuer,
            ));
        }
    };
    // OIDC Core §3.1.2.1: an id_token_hint names the user the client expects; it must be
    // an ID token of this issuer (expired or not), and only that user's session answers.
    let hinted_sub = match params.get("id_token_hint") {
        None => None,
        Some(hint) => {
            let claims = match token::verify_id_token_hint(ctx, hint).await {
                Ok(claims) => claims,
                Err(e) if e.code == ErrorCode::InvalidRequest => None,
                Err(e) => {
                    tracing::error!(error = %e.code, cause = ?e.internal, "checking an id_token_hint failed");
                    return Answer::problem(Problem::Unavailable);
                }
            };
            match claims.as_ref().and_then(|c| c.get("sub")?.as_str()) {
                Some(sub) => Some(sub.to_owned()),
                // Garbage, another issuer's or another tenant's token: refused, not ignored.
                None => {
                    return Answer::redirect(authorize::response_url(
                        &req.redirect_uri,
                        &[
                            ("error", ErrorCode::InvalidRequest.as_str()),
                            (
                                "error_description",
                                "id_token_hint is not an ID token of this issuer",
                            ),
                        ],
                        req.state.as_deref(),
                        ctx.issuer,
                    ));
                }
            }
        }
    };
    // A live session skips the login page (SSO), unless the client asks for a new login, the
    // session is older than max_age, or it is not the hinted user's.
    let session = try_store!(current_session(front, browser).await);
    match session {
        Some(s)
            if !req.prompt_login
                && within_max_age(front, &s, req.max_age)
                && hinted_sub
                    .as_deref()
                    .is_none_or(|sub| sub == s.user_id.to_string()) =>
        {
            return finish(front, &req, &s).await;
        }
        _ => {}
    }
    if req.prompt_none {
        return Answer::redirect(authorize::response_url(
            &req.redirect_uri,
            &[
                ("error", ErrorCode::LoginRequired.as_str()),
                ("error_description", "the user is not signed in"),
            ],
            req.state.as_deref(),
            ctx.issuer,
        ));
    }
    send_to_login(front, req, None).await
}

fn within_max_age(front: &Front<'_>, session: &Session, max_age: Option<i64>) -> bool {
    max_age.is_none_or(|m| (front.now - session.auth_time).whole_seconds() <= m)
}

/// The live session named by the browser's session cookie, touched (idle timeout; see
/// [`Session::needs_touch`]).
pub async fn current_session(
    front: &Front<'_>,
    browser: &Browser,
) -> Result<Option<Session>, crate::store::StoreError> {
    let Some(value) = &browser.session else {
        return Ok(None);
    };
    login::current_session(front.ctx.store, front.ctx.tenant, value, front.now).await
}

/// Starts a login flow for this browser and sends it to the login page (or to the tenant's
/// external provider); after the login the flow finishes `req`, or goes to `resume` (an
/// internal path idpd made) when given.
pub async fn send_to_login(
    front: &Front<'_>,
    req: AuthorizationRequest,
    resume: Option<String>,
) -> Answer {
    let tenant = front.ctx.tenant;
    // Each flow is a row until it expires: a source that starts them by the hundred is
    // slowed down (issue 16: a flood of /authorize requests filled the database).
    if let Some(ip) = front.peer {
        let key = format!("flow-ip:{}", rate_limit::source(ip));
        if let Err(retry_after) =
            try_store!(rate_limit::hit(front.ctx.store, &key, login::FLOWS_PER_IP).await)
        {
            return Answer::problem(Problem::TooManyRequests { retry_after });
        }
    }
    let (flow, secret) =
        try_store!(login::start_flow(front.ctx.store, tenant.id, req, resume).await);
    let answer = if tenant.default_provider != tenants::NATIVE_PROVIDER {
        super::upstream::to_default_provider(front, &flow).await
    } else {
        Answer::redirect(login_page(front, &flow))
    };
    answer.with_cookie(Cookie {
        kind: CookieKind::Flow,
        value: secret,
        max_age: login::FLOW_TTL.whole_seconds(),
    })
}

/// The login page of `flow`.
pub fn login_page(front: &Front<'_>, flow: &LoginFlow) -> String {
    format!("{}/login?flow={}", front.issuer_path(), flow.id)
}

/// Issues the code for `req` from `session` and sends the browser back to the client.
pub async fn finish(front: &Front<'_>, req: &AuthorizationRequest, session: &Session) -> Answer {
    let ctx = &front.ctx;
    let code = match code::issue_code(ctx, req, session).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e.description, cause = ?e.internal, "issuing a code failed");
            return Answer::redirect(authorize::response_url(
                &req.redirect_uri,
                &[("error", ErrorCode::TemporarilyUnavailable.as_str())],
                req.state.as_deref(),
                ctx.issuer,
            ));
        }
    };
    Answer::redirect(authorize::response_url(
        &req.redirect_uri,
        &[("code", &code)],
        req.state.as_deref(),
        ctx.issuer,
    ))
}
