//! The passwordless login pages: the page of a flow, "send me a code", the code, the magic
//! link, and what every successful login (native or upstream) does next.

use std::collections::HashMap;

use super::{
    Answer, Browser, Cookie, CookieKind, Front, LoginNotice, Page, Problem, csrf_matches,
    owned_flow, try_store,
};
use crate::domain::audit::{self, Outcome};
use crate::domain::login::{self, LoginError, LoginFlow};
use crate::domain::users::UserRecord;
use crate::i18n;
use crate::mail::Mail;

/// The login form of a flow.
async fn form(
    front: &Front<'_>,
    flow: LoginFlow,
    secret: &str,
    notice: Option<LoginNotice>,
) -> Answer {
    let form_targets = form_targets(front, &flow).await;
    Answer::page(Page::Login {
        csrf: LoginFlow::csrf_token(secret),
        flow: Box::new(flow),
        notice,
        form_targets,
    })
}

/// The CSP sources of where the login forms may lead, besides this origin: the client's
/// redirect URI (unless the flow resumes one of idpd's own pages) and the authorization
/// endpoints of the upstreams that e-mail domains route to.
async fn form_targets(front: &Front<'_>, flow: &LoginFlow) -> Vec<String> {
    let mut out = Vec::new();
    if flow.resume.is_none() {
        out.extend(csp_source(&flow.request.redirect_uri));
    }
    match crate::domain::providers::list(front.ctx.store, front.ctx.tenant).await {
        Ok(providers) => out.extend(
            providers
                .iter()
                .filter(|p| p.is_external() && !p.config.email_domains.is_empty())
                .filter_map(|p| csp_source(&p.config.authorization_endpoint)),
        ),
        // The page still works for the native login; routing to an upstream is what a
        // browser would then refuse.
        Err(e) => tracing::warn!(error = %e, "cannot list providers for the login page's CSP"),
    }
    out.sort();
    out.dedup();
    out
}

/// A URL as a CSP source expression: its origin (`https://host:port`), or `scheme:` for a
/// custom scheme (a native app's redirect URI); `None` if it cannot be written safely.
pub fn csp_source(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let source = match u.origin() {
        url::Origin::Tuple(..) => u.origin().ascii_serialization(),
        url::Origin::Opaque(_) => format!("{}:", u.scheme()),
    };
    source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".:/-[]+".contains(&b))
        .then_some(source)
}

/// `GET {issuer}/login?flow=…`.
pub async fn page(front: &Front<'_>, browser: &Browser, flow_id: Option<&str>) -> Answer {
    match try_store!(owned_flow(front, browser, flow_id).await) {
        Some((flow, secret)) => form(front, flow, &secret, None).await,
        None => Answer::problem(Problem::FlowExpired),
    }
}

/// A form post of the login pages: from our own page (SEC-07), of this browser's flow, with
/// the flow's CSRF token. Returns the flow, its secret and the form's field `field` ("" when
/// absent).
async fn checked<'f>(
    front: &Front<'_>,
    browser: &Browser,
    fields: Option<&'f HashMap<String, String>>,
    field: &str,
) -> Result<(LoginFlow, String, &'f str), Answer> {
    let forbidden = || Answer::problem(Problem::FormNotVerified);
    let Some(fields) = fields.filter(|_| browser.own_page) else {
        return Err(forbidden());
    };
    let flow_id = fields.get("flow").map(String::as_str);
    let (flow, secret) = match owned_flow(front, browser, flow_id).await {
        Ok(Some(owned)) => owned,
        Ok(None) => return Err(Answer::problem(Problem::FlowExpired)),
        Err(e) => return Err(Answer::store_failed(e)),
    };
    if !csrf_matches(fields.get("csrf"), &LoginFlow::csrf_token(&secret)) {
        return Err(forbidden());
    }
    let value = fields.get(field).map_or("", String::as_str);
    Ok((flow, secret, value))
}

/// `POST {issuer}/login/email`: "send me a code" (or, for an address in a domain an external
/// provider claims, off to that provider). `fields` is `None` when the form was unreadable.
pub async fn submit_email(
    front: &Front<'_>,
    browser: &Browser,
    fields: Option<&HashMap<String, String>>,
) -> Answer {
    let (mut flow, secret, email) = match checked(front, browser, fields, "email").await {
        Ok(x) => x,
        Err(a) => return a,
    };
    let locales = flow.request.ui_locales.clone();
    if let Some(answer) = super::upstream::route_by_email(front, &flow, email).await {
        return answer.in_locales(locales);
    }
    let ctx = &front.ctx;
    let result = login::request_code(ctx.store, ctx.tenant, &flow, email, front.peer).await;
    audit_code_request(front, email, &result).await;
    let answer = match result {
        Ok(to_send) => {
            if let Some(c) = to_send {
                send_code(front, &flow, c);
            }
            Answer::redirect(super::authorize::login_page(front, &flow))
        }
        Err(LoginError::InvalidEmail) => {
            form(front, flow, &secret, Some(LoginNotice::InvalidEmail)).await
        }
        Err(LoginError::RateLimited { retry_after, .. }) => {
            flow.email = None;
            form(
                front,
                flow,
                &secret,
                Some(LoginNotice::TooMany { retry_after }),
            )
            .await
        }
        Err(LoginError::Store(e)) => Answer::store_failed(e),
        Err(LoginError::InvalidCode | LoginError::UseTheLink) => {
            form(front, flow, &secret, Some(LoginNotice::WrongCode)).await
        }
    };
    answer.in_locales(locales)
}

/// One audit event per code request: the address asked for (never the code), whether a
/// code went out. Invalid addresses and refusals past the first of a window are not
/// recorded (nothing useful, and a flood must not write a row per post).
async fn audit_code_request(
    front: &Front<'_>,
    email: &str,
    result: &Result<Option<login::CodeToSend>, LoginError>,
) {
    let (outcome, reason) = match result {
        Ok(Some(_)) => (Outcome::Success, None),
        Ok(None) => (Outcome::Failure, Some("may_not_sign_in")),
        Err(LoginError::RateLimited { first: true, .. }) => {
            (Outcome::Failure, Some("rate_limited"))
        }
        _ => return,
    };
    let mut event = front.event("anonymous", "login.code_request", outcome);
    event.target = crate::domain::users::normalize_email(email).ok();
    event.reason = reason.map(str::to_owned);
    audit::record(front.ctx.store, event).await;
}

/// Mails the code and link in the background: the answer takes the same time whether or not
/// a mail goes out (SEC-17).
fn send_code(front: &Front<'_>, flow: &LoginFlow, c: login::CodeToSend) {
    let tenant = front.ctx.tenant;
    let t = i18n::pick(
        flow.request.ui_locales.iter().map(String::as_str),
        &tenant.locales,
    );
    let link = format!(
        "{}/login/link?flow={}&token={}",
        front.ctx.issuer, flow.id, c.link
    );
    let fill = |s: &str| {
        s.replace("{tenant}", &tenant.display_name)
            .replace("{code}", &c.code)
            .replace("{link}", &link)
    };
    let mail = Mail {
        from_name: tenant.display_name.clone(),
        to: c.email.clone(),
        subject: fill(t.mail_subject),
        body: fill(t.mail_body),
    };
    let mailer = front.mailer.clone();
    tokio::spawn(async move {
        if let Err(e) = mailer.send(mail).await {
            tracing::error!(error = %e, "sending the sign-in mail failed");
        }
    });
}

/// `POST {issuer}/login/code`.
pub async fn submit_code(
    front: &Front<'_>,
    browser: &Browser,
    fields: Option<&HashMap<String, String>>,
) -> Answer {
    let (flow, secret, code) = match checked(front, browser, fields, "code").await {
        Ok(x) => x,
        Err(a) => return a,
    };
    let ctx = &front.ctx;
    let result = login::verify_code(ctx.store, ctx.tenant, &flow, code, front.peer).await;
    attempted(front, "login.code", flow, &secret, result).await
}

/// `GET {issuer}/login/link?flow=…&token=…`: the magic link, valid in its own flow only.
pub async fn follow_link(
    front: &Front<'_>,
    browser: &Browser,
    flow_id: Option<&str>,
    token: &str,
) -> Answer {
    let Some((flow, secret)) = try_store!(owned_flow(front, browser, flow_id).await) else {
        return Answer::problem(Problem::FlowExpired);
    };
    let ctx = &front.ctx;
    let result = login::verify_link(ctx.store, ctx.tenant, &flow, token, front.peer).await;
    attempted(front, "login.link", flow, &secret, result).await
}

/// After a code or link check: audited, counted, and the login completed or the form shown
/// again.
async fn attempted(
    front: &Front<'_>,
    action: &str,
    flow: LoginFlow,
    secret: &str,
    result: Result<UserRecord, LoginError>,
) -> Answer {
    let counted = audit_attempt(front, action, &flow, &result).await;
    let mut answer = complete(front, flow, secret, result, None).await;
    answer.login_attempt = counted;
    answer
}

/// One audit event per code or link check: the address tried, never the code. Returns the
/// attempt to count in the metrics.
async fn audit_attempt(
    front: &Front<'_>,
    action: &str,
    flow: &LoginFlow,
    result: &Result<UserRecord, LoginError>,
) -> Option<(&'static str, bool)> {
    let method = if action == "login.link" {
        "link"
    } else {
        "code"
    };
    let (actor, outcome, reason) = match result {
        Ok(u) => (format!("user:{}", u.id), Outcome::Success, None),
        Err(LoginError::Store(_)) => return None,
        // A flood is one event per window, not one row per post.
        Err(LoginError::RateLimited { first: false, .. }) => return Some((method, false)),
        Err(LoginError::RateLimited { .. }) => {
            ("anonymous".into(), Outcome::Failure, Some("rate_limited"))
        }
        Err(LoginError::UseTheLink) => (
            "anonymous".into(),
            Outcome::Failure,
            Some("code_budget_spent"),
        ),
        Err(_) => ("anonymous".into(), Outcome::Failure, Some("invalid_code")),
    };
    let success = outcome == Outcome::Success;
    let mut event = front.event(actor, action, outcome);
    event.target = flow.email.clone();
    event.reason = reason.map(str::to_owned);
    audit::record(front.ctx.store, event).await;
    Some((method, success))
}

/// Creates the session of a login (native, or through `upstream`: its name and amr) and
/// resumes the flow: its authorization request, or the internal page it came from.
pub async fn complete(
    front: &Front<'_>,
    flow: LoginFlow,
    secret: &str,
    result: Result<UserRecord, LoginError>,
    upstream: Option<(&str, &str)>,
) -> Answer {
    let user = match result {
        Ok(u) => u,
        Err(LoginError::Store(e)) => return Answer::store_failed(e).for_flow(&flow),
        Err(LoginError::RateLimited { retry_after, .. }) => {
            return form(
                front,
                flow,
                secret,
                Some(LoginNotice::TooMany { retry_after }),
            )
            .await;
        }
        Err(LoginError::UseTheLink) => {
            return form(front, flow, secret, Some(LoginNotice::UseTheLink)).await;
        }
        Err(_) => return form(front, flow, secret, Some(LoginNotice::WrongCode)).await,
    };
    let tenant = front.ctx.tenant;
    // A new session id at every login: nothing from before the login is reused (SEC-18).
    let (provider, amr) = upstream.unwrap_or(("native", "otp"));
    let started = login::start_session(front.ctx.store, tenant, user.id, provider, &[amr]).await;
    let (session, token) = match started {
        Ok(x) => x,
        Err(e) => return Answer::store_failed(e).for_flow(&flow),
    };
    tracing::info!(tenant = %tenant.slug, user = %user.id, provider, "login succeeded");
    let answer = match &flow.resume {
        Some(path) => Answer::redirect(path.clone()),
        None => super::authorize::finish(front, &flow.request, &session).await,
    };
    answer
        .with_cookie(Cookie {
            kind: CookieKind::Session,
            value: token,
            max_age: tenant.session.ttl_seconds,
        })
        .with_cookie(Cookie::clear(CookieKind::Flow))
}
