//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): ends the session at once; redirects
//! only to a registered `post_logout_redirect_uri`, else shows a page. Unless an
//! `id_token_hint` names the browser's session, the user confirms first (a form post with a
//! token tied to the session).

use std::collections::HashMap;

use serde_json::Value;

use super::{
    Answer, Browser, Cookie, CookieKind, Front, Page, Problem, csrf_matches, session_csrf,
    try_store,
};
use crate::domain::oauth::{ErrorCode, OAuthError, token};
use crate::domain::{clients, login};

/// The confirmation form's CSRF token for the session cookie `value`.
fn logout_csrf(value: &str) -> String {
    session_csrf("logout", value)
}

/// A logout with `params` (query or form; `None` when unreadable).
pub async fn logout(
    front: &Front<'_>,
    browser: &Browser,
    params: Option<&HashMap<String, String>>,
) -> Answer {
    let Some(p) = params else {
        return Answer::problem(Problem::BadRequest("malformed request".into()));
    };
    let ctx = &front.ctx;
    let hint = match p.get("id_token_hint") {
        Some(h) => match token::verify_id_token_hint(ctx, h).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => {
                return Answer::problem(Problem::BadRequest("invalid id_token_hint".into()));
            }
            Err(e) => return oauth_failed(e),
        },
        None => None,
    };
    let client_id = hint
        .as_ref()
        .and_then(|c| c.get("aud").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| p.get("client_id").cloned());
    let target = match p.get("post_logout_redirect_uri") {
        Some(uri) => {
            // An outage is a 503, never "not registered" (a client mistake).
            let client = match &client_id {
                Some(id) => try_store!(clients::find(ctx.store, ctx.tenant.id, id).await),
                None => None,
            };
            match client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    Some(uri.clone())
                }
                _ => {
                    return Answer::problem(Problem::BadRequest(
                        "post_logout_redirect_uri is not registered".into(),
                    ));
                }
            }
        }
        None => None,
    };
    // A live session ends without asking only for a hint naming it (its `sid`, or its user
    // when the hint has none) or the user's own confirmation: a hint of another user or
    // session, even a valid one, must not sign this browser out (logout CSRF; RP-Initiated
    // Logout 1.0 §2, §6). Without a live session there is nothing to protect.
    let session = try_store!(super::authorize::current_session(front, browser).await);
    if let (Some(s), Some(v)) = (&session, &browser.session) {
        let hinted = hint.as_ref().is_some_and(|c| names_session(c, s));
        let confirmed_here =
            browser.post && browser.own_page && csrf_matches(p.get("csrf"), &logout_csrf(v));
        if !hinted && !confirmed_here {
            return Answer::page(Page::ConfirmLogout {
                csrf: logout_csrf(v),
            });
        }
        try_store!(login::end_session(ctx.store, ctx.tenant.id, v, front.now).await);
        let mut event = front.event(
            format!("user:{}", s.user_id),
            "logout",
            crate::domain::audit::Outcome::Success,
        );
        event.target = Some(s.id.to_string());
        crate::domain::audit::record(ctx.store, event).await;
    } else if hint.is_none() && target.is_none() {
        return Answer::page(Page::SignedOut);
    }
    let answer = match target {
        Some(uri) => match url::Url::parse(&uri) {
            Ok(mut url) => {
                if let Some(s) = p.get("state") {
                    url.query_pairs_mut().append_pair("state", s);
                }
                Answer::redirect(url.as_str())
            }
            // Registered URIs are absolute; a stored one that is not ends here.
            Err(_) => Answer::page(Page::SignedOut),
        },
        None => Answer::page(Page::SignedOut),
    };
    answer.with_cookie(Cookie::clear(CookieKind::Session))
}

/// Whether the ID token `claims` were issued for `session`: its `sid`, or its user's `sub`
/// for a token without one.
fn names_session(claims: &serde_json::Map<String, Value>, session: &login::Session) -> bool {
    match claims.get("sid").and_then(Value::as_str) {
        Some(sid) => sid == session.id.to_string(),
        None => claims.get("sub").and_then(Value::as_str) == Some(&session.user_id.to_string()),
    }
}

/// A failure verifying a token: a refused character is the request's fault, the rest an
/// outage of the store or the keys.
fn oauth_failed(e: OAuthError) -> Answer {
    match e.code {
        ErrorCode::InvalidRequest => Answer::problem(Problem::BadCharacter),
        _ => {
            tracing::error!(error = %e.code, cause = ?e.internal, "logout failed");
            Answer::problem(Problem::Unavailable)
        }
    }
}
