//! The device page `{issuer}/device` (RFC 8628 §3.3): a signed-in user enters the user code
//! a device shows, sees the client and its scopes, and approves or denies.

use std::collections::HashMap;

use super::authorize::{current_session, send_to_login};
use super::{
    Answer, Browser, DeviceNotice, Front, Page, Problem, csrf_matches, session_csrf, try_store,
};
use crate::domain::audit::{self, Outcome};
use crate::domain::devices;
use crate::domain::oauth::authorize::AuthorizationRequest;
use crate::domain::oauth::device_code;

/// The page's CSRF token, bound to the session cookie.
fn csrf(browser: &Browser) -> String {
    session_csrf("device", browser.session.as_deref().unwrap_or(""))
}

/// A user code as typed, in its display form when well-formed (letters of the alphabet only).
fn shown_code(typed: &str) -> Option<String> {
    devices::normalize_user_code(typed).map(|c| devices::display_user_code(&c))
}

/// `GET {issuer}/device[?user_code=…]`: the code entry form for a signed-in user; without a
/// session, the tenant's login first, which comes back here.
pub async fn page(front: &Front<'_>, browser: &Browser, user_code: Option<&str>) -> Answer {
    // Only a well-formed code is carried through the login.
    let code = user_code.and_then(shown_code);
    if try_store!(current_session(front, browser).await).is_none() {
        let resume = match &code {
            Some(c) => format!("{}/device?user_code={c}", front.issuer_path()),
            None => format!("{}/device", front.issuer_path()),
        };
        return send_to_login(front, no_client(), Some(resume)).await;
    }
    Answer::page(Page::DeviceEntry {
        user_code: code.unwrap_or_default(),
        csrf: csrf(browser),
        notice: None,
    })
}

/// The login flow of the device page has no client to return to: it resumes the page.
fn no_client() -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: String::new(),
        redirect_uri: String::new(),
        scope: Vec::new(),
        state: None,
        nonce: None,
        code_challenge: String::new(),
        prompt_none: false,
        prompt_login: false,
        max_age: None,
        login_hint: None,
        ui_locales: Vec::new(),
    }
}

/// `POST {issuer}/device`: look up the code (counted against the address and the session),
/// then show the client and its scopes; with `action=approve|deny`, record the decision.
/// CSRF token bound to the session and same-origin only (SEC-07).
pub async fn submit(
    front: &Front<'_>,
    browser: &Browser,
    fields: Option<&HashMap<String, String>>,
) -> Answer {
    let Some(form) = fields.filter(|_| browser.own_page) else {
        return Answer::problem(Problem::FormNotVerified);
    };
    let Some(session) = try_store!(current_session(front, browser).await) else {
        // Signed out meanwhile: start over on the page (which signs in first).
        return Answer::redirect(format!("{}/device", front.issuer_path()));
    };
    let csrf = csrf(browser);
    if !csrf_matches(form.get("csrf"), &csrf) {
        return Answer::problem(Problem::FormNotVerified);
    }
    let ctx = &front.ctx;
    let typed = form.get("user_code").map(String::as_str).unwrap_or("");
    let entry = |notice| {
        Answer::page(Page::DeviceEntry {
            user_code: typed.to_owned(),
            csrf: csrf.clone(),
            notice: Some(notice),
        })
    };
    if let Err(retry_after) = try_store!(device_code::count_guess(ctx, front.peer, &session).await)
    {
        return entry(DeviceNotice::TooMany { retry_after });
    }
    let Some((authorization, client)) = try_store!(device_code::lookup(ctx, typed).await) else {
        return entry(DeviceNotice::InvalidCode);
    };
    let approve = match form.get("action").map(String::as_str) {
        None => {
            return Answer::page(Page::DeviceConfirm {
                user_code: shown_code(typed).unwrap_or_default(),
                csrf,
                client: client.name.clone(),
                scopes: authorization
                    .scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
        Some("approve") => true,
        Some("deny") => false,
        Some(_) => return entry(DeviceNotice::InvalidCode),
    };
    if !try_store!(device_code::decide(ctx, &authorization, &session, approve).await) {
        return entry(DeviceNotice::InvalidCode);
    }
    tracing::info!(tenant = %ctx.tenant.slug, client = %client.client_id, user = %session.user_id, approve, "device authorization decided");
    let action = if approve {
        "device.approve"
    } else {
        "device.deny"
    };
    let mut event = front.event(
        format!("user:{}", session.user_id),
        action,
        Outcome::Success,
    );
    event.target = Some(client.client_id.clone());
    audit::record(ctx.store, event).await;
    Answer::page(Page::DeviceDecided { approved: approve })
}
