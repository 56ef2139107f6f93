//! Devices over HTTP: the device authorization endpoint (RFC 8628 §3.1), the device page
//! `{issuer}/device` where a signed-in user enters a user code and approves or denies
//! (§3.3), and device registration `{issuer}/devices` for bearer access tokens with the
//! scope `devices` (RFC 6750).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use minijinja::context;
use serde_json::Value;
use uuid::Uuid;

use super::login::{
    current_session, https, redirect, send_to_login, session_csrf, texts_for, unavailable,
};
use super::oidc::error::{OAuthResponse, no_store, public_error};
use super::oidc::token::{begin, json_reply};
use super::oidc::{FORM_LIMIT, Peer, TenantEndpoint, form};
use super::pages::{self, ctx_texts};
use crate::app::AppState;
use crate::crypto;
use crate::domain::devices::{self, Device, Registration};
use crate::domain::login::Session;
use crate::domain::oauth::authorize::AuthorizationRequest;
use crate::domain::oauth::{device_code, token};
use crate::i18n::Texts;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{slug}/device_authorization", post(device_authorization))
        .route("/t/{slug}/device", axum::routing::get(page).post(page_post))
        .route("/t/{slug}/devices", axum::routing::get(list).post(register))
        .route("/t/{slug}/devices/{id}", delete(remove))
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
}

/// `POST {issuer}/device_authorization` (RFC 8628 §3.1–3.2).
async fn device_authorization(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let ctx = ep.ctx(&state);
    let result = async {
        let (form, client) = begin(&ctx, peer, &headers, body).await?;
        let timing = state.config.device_timing;
        Ok::<_, OAuthResponse>(
            device_code::authorize_device(&ctx, &client, form.get("scope"), timing, peer.0).await?,
        )
    }
    .await;
    json_reply(result)
}

// ---- The device page -------------------------------------------------------------------

/// The session cookie's value, from which the page's CSRF token derives.
fn session_cookie(state: &AppState, ep: &TenantEndpoint, headers: &HeaderMap) -> String {
    let name = pages::cookie_name(&ep.tenant.session.cookie_name, https(state));
    pages::read_cookie(headers, &name).unwrap_or_default()
}

struct PageCtx<'a> {
    state: &'a AppState,
    ep: &'a TenantEndpoint,
    t: &'static Texts,
    csrf: String,
}

impl PageCtx<'_> {
    /// The code entry form, with an error when given.
    fn enter(&self, status: StatusCode, user_code: &str, error: Option<&str>) -> Response {
        self.state.pages.render(
            status,
            "device.html",
            context! {
                t => ctx_texts(self.t), title => self.t.device_title, step => "enter",
                csrf => self.csrf.clone(), base => self.ep.issuer_path(), user_code, error,
            },
        )
    }
}

/// `GET {issuer}/device[?user_code=…]`: the code entry form for a signed-in user; without a
/// session, the tenant's login first, which comes back here.
async fn page(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let t = texts_for(&ep.tenant, &[]);
    // Only a well-formed code is carried through the login (letters of the alphabet only).
    let code = q
        .get("user_code")
        .and_then(|c| devices::normalize_user_code(c))
        .map(|c| devices::display_user_code(&c));
    match current_session(&state, &ep.tenant, &headers).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let resume = match &code {
                Some(c) => format!("{}/device?user_code={c}", ep.issuer_path()),
                None => format!("{}/device", ep.issuer_path()),
            };
            return send_to_login(&state, &ep, login_placeholder(), Some(resume), &Method::GET)
                .await;
        }
        Err(e) => return unavailable(&state, t, e),
    }
    let csrf = session_csrf("device", &session_cookie(&state, &ep, &headers));
    let p = PageCtx {
        state: &state,
        ep: &ep,
        t,
        csrf,
    };
    p.enter(StatusCode::OK, code.as_deref().unwrap_or(""), None)
}

/// The login flow of the device page has no client to return to: it resumes the page.
fn login_placeholder() -> AuthorizationRequest {
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
async fn page_post(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = texts_for(&ep.tenant, &[]);
    let forbidden = || {
        state.pages.message(
            StatusCode::FORBIDDEN,
            t,
            t.error_title,
            "The form could not be verified. Reload the page and try again.",
        )
    };
    if !super::csrf::from_own_page(&headers, &state.config.public_origin) {
        return forbidden();
    }
    let Ok(form) = form::pairs(&body) else {
        return forbidden();
    };
    let session = match current_session(&state, &ep.tenant, &headers).await {
        Ok(Some(s)) => s,
        // Signed out meanwhile: start over on the page (which signs in first).
        Ok(None) => return redirect(&Method::POST, &format!("{}/device", ep.issuer_path())),
        Err(e) => return unavailable(&state, t, e),
    };
    let csrf = session_csrf("device", &session_cookie(&state, &ep, &headers));
    let csrf_ok = form
        .get("csrf")
        .is_some_and(|c| crypto::ct_eq(c.as_bytes(), csrf.as_bytes()));
    if !csrf_ok {
        return forbidden();
    }
    let p = PageCtx {
        state: &state,
        ep: &ep,
        t,
        csrf,
    };
    decide(&p, peer, &session, &form)
        .await
        .unwrap_or_else(|e| unavailable(&state, t, e))
}

async fn decide(
    p: &PageCtx<'_>,
    peer: Peer,
    session: &Session,
    form: &HashMap<String, String>,
) -> Result<Response, crate::store::StoreError> {
    let ctx = p.ep.ctx(p.state);
    let typed = form.get("user_code").map(String::as_str).unwrap_or("");
    if let Err(retry_after) = device_code::count_guess(&ctx, peer.0, session).await? {
        let mut res = p.enter(StatusCode::TOO_MANY_REQUESTS, typed, Some(p.t.too_many));
        super::error::retry_after(&mut res, retry_after);
        return Ok(res);
    }
    let invalid = || {
        p.enter(
            StatusCode::BAD_REQUEST,
            typed,
            Some(p.t.device_invalid_code),
        )
    };
    let Some((authorization, client)) = device_code::lookup(&ctx, typed).await? else {
        return Ok(invalid());
    };
    let shown = devices::normalize_user_code(typed)
        .map(|c| devices::display_user_code(&c))
        .unwrap_or_default();
    let approve = match form.get("action").map(String::as_str) {
        None => {
            let scopes: Vec<String> = authorization
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            return Ok(p.state.pages.render(
                StatusCode::OK,
                "device.html",
                context! {
                    t => ctx_texts(p.t), title => p.t.device_title, step => "confirm",
                    csrf => p.csrf.clone(), base => p.ep.issuer_path(), user_code => shown,
                    confirm => p.t.device_confirm.replace("{client}", &client.name), scopes,
                },
            ));
        }
        Some("approve") => true,
        Some("deny") => false,
        Some(_) => return Ok(invalid()),
    };
    if !device_code::decide(&ctx, &authorization, session, approve).await? {
        return Ok(invalid());
    }
    tracing::info!(tenant = %p.ep.tenant.slug, client = %client.client_id, user = %session.user_id, approve, "device authorization decided");
    let mut event = super::audit_event_here(
        format!("user:{}", session.user_id),
        if approve {
            "device.approve"
        } else {
            "device.deny"
        },
        crate::domain::audit::Outcome::Success,
    );
    event.tenant_id = Some(p.ep.tenant.id);
    event.tenant = Some(p.ep.tenant.slug.clone());
    event.target = Some(client.client_id.clone());
    crate::domain::audit::record(p.state.store.as_ref(), event).await;
    let message = if approve {
        p.t.device_approved
    } else {
        p.t.device_denied
    };
    Ok(p.state
        .pages
        .message(StatusCode::OK, p.t, p.t.device_title, message))
}

// ---- Registration: {issuer}/devices ----------------------------------------------------

/// A bearer-token failure (RFC 6750 §3).
fn challenge(status: StatusCode, value: &'static str) -> Response {
    (
        status,
        [
            (header::WWW_AUTHENTICATE, value),
            (header::CACHE_CONTROL, "no-store"),
        ],
    )
        .into_response()
}

/// The user of the request's access token, which must be a user token of this tenant with
/// the scope `devices`. Only the Authorization header carries the token (RFC 6750 §2.1).
async fn bearer_user(
    state: &AppState,
    ep: &TenantEndpoint,
    headers: &HeaderMap,
) -> Result<Uuid, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    let Some(token) = token else {
        return Err(challenge(StatusCode::UNAUTHORIZED, "Bearer realm=\"idpd\""));
    };
    let invalid = || challenge(StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\"");
    let claims = match token::verify_access_token(&ep.ctx(state), token).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(invalid()),
        Err(e) => return Err(OAuthResponse::from(e).into_response()),
    };
    let has_scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|s| s.split(' ').any(|x| x == "devices"));
    // Client tokens (no grant family) have no user to register devices for.
    if !has_scope || claims.get("fid").is_none() {
        return Err(challenge(
            StatusCode::FORBIDDEN,
            "Bearer error=\"insufficient_scope\", scope=\"devices\"",
        ));
    }
    claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(invalid)
}

pub fn to_api(tenant: &str, d: Device) -> shared::admin::Device {
    shared::admin::Device {
        id: d.id,
        tenant: tenant.to_owned(),
        user_id: d.user_id,
        name: d.name,
        platform: d.platform,
        alg: d.alg.as_str().to_owned(),
        public_key: d.public_jwk,
        created_at: d.created_at,
        last_used_at: d.last_used_at,
    }
}

/// Domain failures of the registration API as RFC 6749-style JSON errors.
fn domain_error(e: crate::domain::Error) -> Response {
    use crate::domain::Error;
    match e {
        Error::NotFound(_) => public_error(StatusCode::NOT_FOUND, "no such device"),
        Error::Invalid(_) | Error::Conflict(_) => {
            public_error(StatusCode::BAD_REQUEST, &e.to_string())
        }
        e => {
            tracing::error!(error = %crate::domain::error::chain(&e), "device request failed");
            let mut res = public_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
            super::error::retry_after(&mut res, super::error::RETRY_UNAVAILABLE_SECONDS);
            res
        }
    }
}

/// `POST {issuer}/devices` `{name, platform, public_key}` → 201 with the device.
async fn register(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let user = match bearer_user(&state, &ep, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let req: Registration = match body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()).ok())
    {
        Some(r) => r,
        None => {
            return public_error(
                StatusCode::BAD_REQUEST,
                "the body must be JSON {\"name\", \"platform\", \"public_key\": JWK}",
            );
        }
    };
    match devices::register(state.store.as_ref(), &ep.tenant, user, req).await {
        Ok(d) => {
            tracing::info!(tenant = %ep.tenant.slug, device = %d.id, user = %user, "device registered");
            let location = format!("{}/devices/{}", ep.issuer, d.id);
            let mut res = (
                StatusCode::CREATED,
                no_store(),
                axum::Json(to_api(&ep.tenant.slug, d)),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => domain_error(e),
    }
}

/// `GET {issuer}/devices`: the caller's devices.
async fn list(State(state): State<AppState>, ep: TenantEndpoint, headers: HeaderMap) -> Response {
    let user = match bearer_user(&state, &ep, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match devices::list_own(state.store.as_ref(), &ep.tenant, user).await {
        Ok(items) => (
            no_store(),
            axum::Json(shared::admin::DeviceList {
                items: items
                    .into_iter()
                    .map(|d| to_api(&ep.tenant.slug, d))
                    .collect(),
            }),
        )
            .into_response(),
        Err(e) => domain_error(e),
    }
}

/// `DELETE {issuer}/devices/{id}`: revokes one of the caller's devices; another user's is 404.
async fn remove(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    headers: HeaderMap,
    axum::extract::Path(params): axum::extract::Path<HashMap<String, String>>,
) -> Response {
    let user = match bearer_user(&state, &ep, &headers).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = params.get("id").map(String::as_str).unwrap_or("");
    match devices::revoke(state.store.as_ref(), &ep.tenant, id, Some(user)).await {
        Ok(id) => {
            tracing::info!(tenant = %ep.tenant.slug, device = %id, user = %user, "device revoked by its user");
            (StatusCode::NO_CONTENT, no_store()).into_response()
        }
        Err(e) => domain_error(e),
    }
}
