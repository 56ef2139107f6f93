//! The browser side of OpenID Connect for a tenant: `/authorize` (OIDC Core §3.1.2), the
//! passwordless login pages, `/userinfo` (§5.3) and RP-initiated logout.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::csrf;
use super::oidc::form;
use super::oidc::{Peer, TenantEndpoint};
use super::pages::{self, ctx_texts};
use crate::app::AppState;
use crate::crypto;
use crate::domain::audit::{self, Outcome};
use crate::domain::login::{self, LoginError, LoginFlow, Session};
use crate::domain::oauth::authorize::{self, AuthorizationRequest};
use crate::domain::oauth::code;
use crate::domain::oauth::token::{self, Ctx};
use crate::domain::{clients, users};
use crate::i18n::{self, Texts};
use crate::mail::Mail;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/t/{slug}/authorize",
            get(authorize_get).post(authorize_post),
        )
        .route("/t/{slug}/login", get(login_page))
        .route("/t/{slug}/login/email", post(login_email))
        .route("/t/{slug}/login/code", post(login_code))
        .route("/t/{slug}/login/link", get(login_link))
        .route("/t/{slug}/userinfo", get(userinfo).post(userinfo))
        .route("/t/{slug}/logout", get(logout).post(logout))
}

pub(crate) fn https(state: &AppState) -> bool {
    state.config.public_https()
}

pub(crate) fn texts_for(
    tenant: &crate::domain::tenants::Tenant,
    ui_locales: &[String],
) -> &'static Texts {
    i18n::pick(ui_locales.iter().map(String::as_str), &tenant.locales)
}

/// A redirect after a GET (302) or a POST (303, so the browser does not re-POST; RFC 9700 §4.12).
pub(crate) fn redirect(method: &Method, location: &str) -> Response {
    let status = if method == Method::POST {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let mut res = (status, [(header::CACHE_CONTROL, "no-store")]).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

async fn authorize_get(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    authorize(
        &state,
        &ep,
        &headers,
        Method::GET,
        q.unwrap_or_default().as_bytes(),
    )
    .await
}

async fn authorize_post(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(&state, &ep, &headers, Method::POST, &body).await
}

async fn authorize(
    state: &AppState,
    ep: &TenantEndpoint,
    headers: &HeaderMap,
    method: Method,
    raw: &[u8],
) -> Response {
    let tenant = &ep.tenant;
    let t = texts_for(tenant, &[]);
    let error_page = |msg: &str| {
        state
            .pages
            .message(StatusCode::BAD_REQUEST, t, t.error_title, msg)
    };
    let p = match form::pairs(raw) {
        Ok(p) => p,
        Err(e) => return error_page(&e),
    };
    // 1. Client and redirect URI: failures are shown here, never redirected (SEC-01, SEC-06).
    let client = match p.get("client_id") {
        Some(id) => match clients::find(state.store.as_ref(), tenant.id, id).await {
            Ok(c) => c,
            Err(e) => return unavailable(state, t, e),
        },
        None => None,
    };
    let redirect_uri = match authorize::check_client(client.as_ref(), &p) {
        Ok(r) => r,
        Err(e) => return error_page(e.0),
    };
    let client = client.expect("checked by check_client");
    // 2. Everything else: failures go back to the client with state and iss (RFC 9207).
    let state_param = p.get("state").cloned();
    let fail = |error: &str, description: &str| {
        let url = authorize::response_url(
            &redirect_uri,
            &[("error", error), ("error_description", description)],
            state_param.as_deref(),
            &ep.issuer,
        );
        redirect(&method, &url)
    };
    let req = match authorize::check_request(&client, redirect_uri.clone(), &p) {
        Ok(r) => r,
        Err(e) => return fail(e.error, &e.description),
    };
    let ctx = ep.ctx(state);
    // A live session skips the login page (SSO), unless the client asks for a new login or
    // the session is older than max_age.
    match current_session(state, tenant, headers).await {
        Ok(Some(session)) if !req.prompt_login && within_max_age(&session, req.max_age) => {
            return finish(&ctx, &req, &session, &method, None).await;
        }
        Ok(_) => {}
        Err(e) => return unavailable(state, t, e),
    }
    if req.prompt_none {
        return fail("login_required", "the user is not signed in");
    }
    send_to_login(state, ep, req, None, &method).await
}

/// Starts a login flow for this browser and sends it to the login page; after the login the
/// flow finishes `req`, or goes to `resume` (an internal path idpd made) when given.
pub(crate) async fn send_to_login(
    state: &AppState,
    ep: &TenantEndpoint,
    req: AuthorizationRequest,
    resume: Option<String>,
    method: &Method,
) -> Response {
    let (flow, secret) =
        match login::start_flow(state.store.as_ref(), ep.tenant.id, req, resume).await {
            Ok(x) => x,
            Err(e) => return unavailable(state, texts_for(&ep.tenant, &[]), e),
        };
    // A tenant whose default provider is external sends the browser there instead.
    let mut res = if ep.tenant.default_provider != crate::domain::tenants::NATIVE_PROVIDER {
        super::callback::to_default_provider(state, ep, &flow, method).await
    } else {
        redirect(
            method,
            &format!("{}/login?flow={}", ep.issuer_path(), flow.id),
        )
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        pages::flow_cookie(
            &ep.tenant,
            https(state),
            &secret,
            login::FLOW_TTL.whole_seconds(),
        ),
    );
    res
}

fn within_max_age(session: &Session, max_age: Option<i64>) -> bool {
    max_age.is_none_or(|m| (OffsetDateTime::now_utc() - session.auth_time).whole_seconds() <= m)
}

/// The live session of this tenant named by the browser's cookie, touched (idle timeout;
/// see [`Session::needs_touch`]).
pub(crate) async fn current_session(
    state: &AppState,
    tenant: &crate::domain::tenants::Tenant,
    headers: &HeaderMap,
) -> Result<Option<Session>, crate::store::StoreError> {
    let name = pages::cookie_name(&tenant.session.cookie_name, https(state));
    let Some(value) = pages::read_cookie(headers, &name) else {
        return Ok(None);
    };
    login::current_session(
        state.store.as_ref(),
        tenant,
        &value,
        OffsetDateTime::now_utc(),
    )
    .await
}

/// Issues the code and redirects to the client (and sets the session cookie after a login).
async fn finish(
    ctx: &Ctx<'_>,
    req: &AuthorizationRequest,
    session: &Session,
    method: &Method,
    new_cookie: Option<HeaderValue>,
) -> Response {
    let code = match code::issue_code(ctx, req, session).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e.description, cause = ?e.internal, "issuing a code failed");
            let url = authorize::response_url(
                &req.redirect_uri,
                &[("error", "temporarily_unavailable")],
                req.state.as_deref(),
                ctx.issuer,
            );
            return redirect(method, &url);
        }
    };
    let url = authorize::response_url(
        &req.redirect_uri,
        &[("code", &code)],
        req.state.as_deref(),
        ctx.issuer,
    );
    let mut res = redirect(method, &url);
    if let Some(c) = new_cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub(crate) fn unavailable(
    state: &AppState,
    t: &'static Texts,
    e: crate::store::StoreError,
) -> Response {
    if e.is_bad_input() {
        return state.pages.message(
            StatusCode::BAD_REQUEST,
            t,
            t.error_title,
            "The request contains a character that is not allowed.",
        );
    }
    tracing::error!(error = %crate::domain::error::chain(&e), "login step failed");
    let mut res = state.pages.message(
        StatusCode::SERVICE_UNAVAILABLE,
        t,
        t.error_title,
        "Temporarily unavailable. Try again shortly.",
    );
    super::error::retry_after(&mut res, super::error::RETRY_UNAVAILABLE_SECONDS);
    res
}

/// The flow named by `flow_id`, if this browser owns it (its cookie holds the flow secret).
async fn owned_flow(
    state: &AppState,
    ep: &TenantEndpoint,
    headers: &HeaderMap,
    flow_id: Option<&str>,
) -> Result<(LoginFlow, String), Response> {
    let t = texts_for(&ep.tenant, &[]);
    let expired = || {
        state.pages.message(
            StatusCode::BAD_REQUEST,
            t,
            t.error_title,
            "This sign-in has expired or belongs to another browser. Go back to the application and start again.",
        )
    };
    let Some(id) = flow_id.and_then(|f| Uuid::parse_str(f).ok()) else {
        return Err(expired());
    };
    let secret = pages::read_cookie(headers, &pages::flow_cookie_name(&ep.tenant, https(state)));
    match login::owned_flow(state.store.as_ref(), ep.tenant.id, id, secret).await {
        Ok(Some(owned)) => Ok(owned),
        Ok(None) => Err(expired()),
        Err(e) => Err(unavailable(state, t, e)),
    }
}

fn render_login(
    state: &AppState,
    ep: &TenantEndpoint,
    flow: &LoginFlow,
    secret: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let step = if flow.email.is_some() {
        "code"
    } else {
        "email"
    };
    state.pages.render(
        status,
        "login.html",
        context! {
            t => ctx_texts(t), title => format!("{} {}", t.sign_in_to, ep.tenant.display_name),
            tenant => ep.tenant.display_name.clone(), step, flow => flow.id.to_string(),
            csrf => LoginFlow::csrf_token(secret), base => ep.issuer_path(),
            email => flow.email.clone().or(flow.request.login_hint.clone()).unwrap_or_default(),
            error,
        },
    )
}

async fn login_page(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match owned_flow(&state, &ep, &headers, q.get("flow").map(String::as_str)).await {
        Ok((flow, secret)) => render_login(&state, &ep, &flow, &secret, StatusCode::OK, None),
        Err(r) => r,
    }
}

/// Form posts of the login pages: the flow must be this browser's, the CSRF token must match
/// the flow, and a POST another site made the browser send is refused (SEC-07).
async fn checked_form(
    state: &AppState,
    ep: &TenantEndpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(LoginFlow, String, HashMap<String, String>), Response> {
    let t = texts_for(&ep.tenant, &[]);
    let forbidden = || {
        state.pages.message(
            StatusCode::FORBIDDEN,
            t,
            t.error_title,
            "The form could not be verified. Reload the page and try again.",
        )
    };
    if !csrf::from_own_page(headers, &state.config.public_origin) {
        return Err(forbidden());
    }
    let Ok(form) = form::pairs(body) else {
        return Err(forbidden());
    };
    let (flow, secret) =
        owned_flow(state, ep, headers, form.get("flow").map(String::as_str)).await?;
    let csrf_ok = form
        .get("csrf")
        .is_some_and(|c| crypto::ct_eq(c.as_bytes(), LoginFlow::csrf_token(&secret).as_bytes()));
    if !csrf_ok {
        return Err(forbidden());
    }
    Ok((flow, secret, form))
}

async fn login_email(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (mut flow, secret, form) = match checked_form(&state, &ep, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let email = form.get("email").map(String::as_str).unwrap_or("");
    // An address in a domain an external provider claims goes to that provider.
    if let Some(res) = super::callback::route_by_email(&state, &ep, &flow, email).await {
        return res;
    }
    match login::request_code(state.store.as_ref(), &ep.tenant, &flow, email, peer.0).await {
        Ok(to_send) => {
            if let Some(c) = to_send {
                // Sent in the background: the answer takes the same time whether or not a
                // mail goes out (SEC-17).
                let link = format!("{}/login/link?flow={}&token={}", ep.issuer, flow.id, c.link);
                let fill = |s: &str| {
                    s.replace("{tenant}", &ep.tenant.display_name)
                        .replace("{code}", &c.code)
                        .replace("{link}", &link)
                };
                let mail = Mail {
                    from_name: ep.tenant.display_name.clone(),
                    to: c.email.clone(),
                    subject: fill(t.mail_subject),
                    body: fill(t.mail_body),
                };
                let mailer = state.mailer.clone();
                tokio::spawn(async move {
                    if let Err(e) = mailer.send(mail).await {
                        tracing::error!(error = %e, "sending the sign-in mail failed");
                    }
                });
            }
            redirect(
                &Method::POST,
                &format!("{}/login?flow={}", ep.issuer_path(), flow.id),
            )
        }
        Err(LoginError::InvalidEmail) => render_login(
            &state,
            &ep,
            &flow,
            &secret,
            StatusCode::BAD_REQUEST,
            Some(t.invalid_email),
        ),
        Err(LoginError::RateLimited { retry_after }) => {
            flow.email = None;
            let mut res = render_login(
                &state,
                &ep,
                &flow,
                &secret,
                StatusCode::TOO_MANY_REQUESTS,
                Some(t.too_many),
            );
            super::error::retry_after(&mut res, retry_after);
            res
        }
        Err(LoginError::Store(e)) => unavailable(&state, t, e),
        Err(LoginError::InvalidCode) => render_login(
            &state,
            &ep,
            &flow,
            &secret,
            StatusCode::BAD_REQUEST,
            Some(t.wrong_code),
        ),
    }
}

async fn login_code(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (flow, secret, form) = match checked_form(&state, &ep, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let code = form.get("code").map(String::as_str).unwrap_or("");
    let result = login::verify_code(state.store.as_ref(), &ep.tenant, &flow, code).await;
    audit_login(&state, &ep, "login.code", &flow, &result).await;
    complete_login(&state, &ep, flow, &secret, result, Method::POST, None).await
}

async fn login_link(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (flow, secret) =
        match owned_flow(&state, &ep, &headers, q.get("flow").map(String::as_str)).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    let token = q.get("token").map(String::as_str).unwrap_or("");
    let result = login::verify_link(state.store.as_ref(), &ep.tenant, &flow, token).await;
    audit_login(&state, &ep, "login.link", &flow, &result).await;
    complete_login(&state, &ep, flow, &secret, result, Method::GET, None).await
}

/// One audit event per code or link check: the address tried, never the code.
async fn audit_login(
    state: &AppState,
    ep: &TenantEndpoint,
    action: &str,
    flow: &LoginFlow,
    result: &Result<crate::domain::users::UserRecord, LoginError>,
) {
    let (actor, outcome, reason) = match result {
        Ok(u) => (format!("user:{}", u.id), Outcome::Success, None),
        Err(LoginError::Store(_)) => return,
        Err(LoginError::RateLimited { .. }) => {
            ("anonymous".into(), Outcome::Failure, Some("rate_limited"))
        }
        Err(_) => ("anonymous".into(), Outcome::Failure, Some("invalid_code")),
    };
    state.metrics.login(
        &ep.tenant.slug,
        if action == "login.link" {
            "link"
        } else {
            "code"
        },
        outcome == Outcome::Success,
    );
    let mut event = super::audit_event_here(actor, action, outcome);
    event.tenant_id = Some(ep.tenant.id);
    event.tenant = Some(ep.tenant.slug.clone());
    event.target = flow.email.clone();
    event.reason = reason.map(str::to_owned);
    audit::record(state.store.as_ref(), event).await;
}

/// Creates the session of a login (native, or through `upstream`: its name and amr) and
/// resumes the flow's authorization request.
pub(super) async fn complete_login(
    state: &AppState,
    ep: &TenantEndpoint,
    flow: LoginFlow,
    secret: &str,
    result: Result<crate::domain::users::UserRecord, LoginError>,
    method: Method,
    upstream: Option<(&str, &str)>,
) -> Response {
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let user = match result {
        Ok(u) => u,
        Err(LoginError::Store(e)) => return unavailable(state, t, e),
        Err(_) => {
            return render_login(
                state,
                ep,
                &flow,
                secret,
                StatusCode::BAD_REQUEST,
                Some(t.wrong_code),
            );
        }
    };
    // A new session id at every login: nothing from before the login is reused (SEC-18).
    let (provider, amr) = upstream.unwrap_or(("native", "otp"));
    let (session, token) =
        match login::start_session(state.store.as_ref(), &ep.tenant, user.id, provider, &[amr])
            .await
        {
            Ok(x) => x,
            Err(e) => return unavailable(state, t, e),
        };
    tracing::info!(tenant = %ep.tenant.slug, user = %user.id, provider, "login succeeded");
    let cookie = pages::session_cookie(
        &ep.tenant,
        https(state),
        &token,
        ep.tenant.session.ttl_seconds,
    );
    let mut res = match &flow.resume {
        Some(path) => {
            let mut res = redirect(&method, path);
            res.headers_mut().append(header::SET_COOKIE, cookie);
            res
        }
        None => {
            finish(
                &ep.ctx(state),
                &flow.request,
                &session,
                &method,
                Some(cookie),
            )
            .await
        }
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        pages::flow_cookie(&ep.tenant, https(state), "", 0),
    );
    res
}

/// `/userinfo` (OIDC Core §5.3) with RFC 6750 bearer transport.
async fn userinfo(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let challenge = |status: StatusCode, value: &'static str| {
        (
            status,
            [
                (header::WWW_AUTHENTICATE, value),
                (header::CACHE_CONTROL, "no-store"),
            ],
        )
            .into_response()
    };
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let body_token = if method == Method::POST {
        form::pairs(&body)
            .ok()
            .and_then(|p| p.get("access_token").cloned())
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return (
                StatusCode::BAD_REQUEST,
                [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_request\"")],
                axum::Json(serde_json::json!({"error": "invalid_request", "error_description": "use one way to send the token"})),
            )
                .into_response();
        }
        (Some(t), None) | (None, Some(t)) => t,
        // RFC 6750 §3.1: no error code when no credentials were sent.
        (None, None) => return challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"idpd\""),
    };
    let ctx = ep.ctx(&state);
    let claims = match token::verify_access_token(&ctx, &token).await {
        Ok(Some(c)) => c,
        Ok(None) => return challenge(StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\""),
        Err(e) => return super::oidc::error::OAuthResponse::from(e).into_response(),
    };
    let scopes: Vec<&str> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(' ')
        .collect();
    let user_id = claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    if !scopes.contains(&"openid") || claims.get("fid").is_none() {
        return challenge(
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\", scope=\"openid\"",
        );
    }
    let user = match user_id {
        Some(id) => users::find_by_id(state.store.as_ref(), ep.tenant.id, id).await,
        None => Ok(None),
    };
    match user {
        Ok(Some(u)) if !u.disabled => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(code::userinfo_claims(&u, &scopes)),
        )
            .into_response(),
        Ok(_) => challenge(StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\""),
        Err(e) => {
            super::oidc::error::OAuthResponse::from(crate::domain::oauth::OAuthError::from(e))
                .into_response()
        }
    }
}

/// RP-initiated logout (OIDC RP-Initiated Logout 1.0): ends the session at once; redirects
/// only to a registered `post_logout_redirect_uri`, else shows a page. Without a valid
/// `id_token_hint` the user confirms first (a form post with a token tied to the session).
async fn logout(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let raw = if method == Method::POST {
        body.to_vec()
    } else {
        q.unwrap_or_default().into_bytes()
    };
    let t = texts_for(&ep.tenant, &[]);
    let Ok(p) = form::pairs(&raw) else {
        return state.pages.message(
            StatusCode::BAD_REQUEST,
            t,
            t.error_title,
            "malformed request",
        );
    };
    let ctx = ep.ctx(&state);
    let hint = match p.get("id_token_hint") {
        Some(h) => match token::verify_id_token_hint(&ctx, h).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => {
                return state.pages.message(
                    StatusCode::BAD_REQUEST,
                    t,
                    t.error_title,
                    "invalid id_token_hint",
                );
            }
            Err(e) => return super::oidc::error::OAuthResponse::from(e).into_response(),
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
                Some(id) => match clients::find(state.store.as_ref(), ep.tenant.id, id).await {
                    Ok(c) => c,
                    Err(e) => return unavailable(&state, t, e),
                },
                None => None,
            };
            match client {
                Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    Some(uri.clone())
                }
                _ => {
                    return state.pages.message(
                        StatusCode::BAD_REQUEST,
                        t,
                        t.error_title,
                        "post_logout_redirect_uri is not registered",
                    );
                }
            }
        }
        None => None,
    };
    let session_cookie_name = pages::cookie_name(&ep.tenant.session.cookie_name, https(&state));
    let cookie_value = pages::read_cookie(&headers, &session_cookie_name);
    let confirmed = hint.is_some()
        || (method == Method::POST
            && csrf::from_own_page(&headers, &state.config.public_origin)
            && cookie_value
                .as_deref()
                .zip(p.get("csrf"))
                .is_some_and(|(v, c)| crypto::ct_eq(c.as_bytes(), logout_csrf(v).as_bytes())));
    if !confirmed {
        let Some(v) = cookie_value else {
            return state.pages.message(StatusCode::OK, t, t.signed_out, "");
        };
        let title = t
            .sign_out_question
            .replace("{tenant}", &ep.tenant.display_name);
        return state.pages.render(
            StatusCode::OK,
            "message.html",
            context! { t => ctx_texts(t), title, confirm => true, csrf => logout_csrf(&v), base => ep.issuer_path() },
        );
    }
    if let Some(v) = &cookie_value
        && let Err(e) = login::end_session(
            state.store.as_ref(),
            ep.tenant.id,
            v,
            OffsetDateTime::now_utc(),
        )
        .await
    {
        return unavailable(&state, t, e);
    }
    let mut res = match target {
        Some(uri) => {
            let mut url = url::Url::parse(&uri).expect("registered URIs are absolute");
            if let Some(s) = p.get("state") {
                url.query_pairs_mut().append_pair("state", s);
            }
            redirect(&method, url.as_str())
        }
        None => state.pages.message(StatusCode::OK, t, t.signed_out, ""),
    };
    res.headers_mut().append(
        header::SET_COOKIE,
        pages::session_cookie(&ep.tenant, https(&state), "", 0),
    );
    res
}

fn logout_csrf(session_cookie: &str) -> String {
    session_csrf("logout", session_cookie)
}

/// The CSRF token of a form of a signed-in page: derived from the session cookie and the
/// form's purpose, so only a page served to this browser can carry it.
pub(crate) fn session_csrf(purpose: &str, session_cookie: &str) -> String {
    let mut input = format!("idp {purpose}\0").into_bytes();
    input.extend_from_slice(session_cookie.as_bytes());
    crypto::hex(&crypto::sha256(&input)[..16])
}
