//! The relying-party half of a login through a tenant's external OpenID Connect provider:
//! the redirect to the upstream (from `/authorize` or from email-domain routing on the
//! login page) and `{issuer}/callback/{provider}`, which checks the transaction (this
//! provider, this browser, unused, unexpired), lets `domain::upstream` exchange and validate,
//! then resumes the authorization request through the same code as a native login.
//!
//! Every outcome writes one audit line (target `audit`: tenant, provider, outcome, reason).
//! A failure shows a localized page and leaves nothing behind: no user, link or session.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::login::{complete_login, https, redirect, texts_for, unavailable};
use super::oidc::TenantEndpoint;
use super::pages;
use crate::app::AppState;
use crate::domain::login::{self, LoginFlow};
use crate::domain::providers::{self, ProviderRecord};
use crate::domain::upstream::{self, UpstreamError};
use crate::i18n::Texts;

pub fn router() -> Router<AppState> {
    Router::new().route("/t/{slug}/callback/{provider}", get(callback))
}

/// What the user is told; the audit line carries the precise reason.
#[derive(Clone, Copy)]
enum Shown {
    Denied,
    Expired,
    Account,
    Failed,
}

/// The audit event (and log line) of an upstream login: the provider is the target, the
/// reason says precisely what failed; `detail` goes to the log only.
fn audit(
    state: &AppState,
    ep: &TenantEndpoint,
    provider: &str,
    outcome: &str,
    reason: &str,
    detail: &str,
) {
    let success = outcome == "success";
    if !success {
        tracing::warn!(tenant = %ep.tenant.slug, provider, reason, detail, "upstream login failed");
    }
    state.metrics.login(&ep.tenant.slug, "upstream", success);
    let mut event = super::audit_event_here(
        "anonymous",
        "login.upstream",
        if success {
            crate::domain::audit::Outcome::Success
        } else {
            crate::domain::audit::Outcome::Failure
        },
    );
    event.tenant_id = Some(ep.tenant.id);
    event.tenant = Some(ep.tenant.slug.clone());
    event.target = Some(provider.to_owned());
    event.reason = (!success).then(|| reason.to_owned());
    super::record_in_background(state, event);
}

/// Audit line plus the localized error page.
fn fail(
    state: &AppState,
    ep: &TenantEndpoint,
    t: &'static Texts,
    provider: &str,
    shown: Shown,
    reason: &str,
    detail: &str,
) -> Response {
    audit(state, ep, provider, "failure", reason, detail);
    let (status, text) = match shown {
        Shown::Denied => (StatusCode::FORBIDDEN, t.upstream_denied),
        Shown::Expired => (StatusCode::BAD_REQUEST, t.upstream_expired),
        Shown::Account => (StatusCode::FORBIDDEN, t.upstream_account),
        Shown::Failed => (StatusCode::BAD_GATEWAY, t.upstream_failed),
    };
    state.pages.message(
        status,
        t,
        t.error_title,
        &text.replace("{provider}", provider),
    )
}

/// Sends the browser to `p` for `flow`, after storing the transaction.
async fn to_upstream(
    state: &AppState,
    ep: &TenantEndpoint,
    flow: &LoginFlow,
    p: &ProviderRecord,
    login_hint: Option<&str>,
    method: &Method,
) -> Response {
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let redirect_uri = providers::redirect_uri(&ep.issuer, &p.name);
    let hint = login_hint.or(flow.request.login_hint.as_deref());
    match upstream::start(state.store.as_ref(), p, flow, &redirect_uri, hint).await {
        Ok(url) => redirect(method, &url),
        Err(e) => upstream_failure(state, ep, t, &p.name, e),
    }
}

/// The redirect of `/authorize` for a tenant whose default provider is external.
pub(super) async fn to_default_provider(
    state: &AppState,
    ep: &TenantEndpoint,
    flow: &LoginFlow,
    method: &Method,
) -> Response {
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let name = &ep.tenant.default_provider;
    match providers::find_external(state.store.as_ref(), ep.tenant.id, name).await {
        Ok(Some(p)) => to_upstream(state, ep, flow, &p, None, method).await,
        Ok(_) => fail(
            state,
            ep,
            t,
            name,
            Shown::Failed,
            "provider_missing",
            "the default provider is not an external provider",
        ),
        Err(e) => unavailable(state, t, e),
    }
}

/// Email-domain routing: when an external provider of the tenant claims the domain of
/// `email`, the response that sends the browser there.
pub(super) async fn route_by_email(
    state: &AppState,
    ep: &TenantEndpoint,
    flow: &LoginFlow,
    email: &str,
) -> Option<Response> {
    let email = crate::domain::users::normalize_email(email).ok()?;
    let t = texts_for(&ep.tenant, &flow.request.ui_locales);
    let p = match providers::routing_email(state.store.as_ref(), ep.tenant.id, &email).await {
        Ok(p) => p?,
        Err(e) => return Some(unavailable(state, t, e)),
    };
    Some(to_upstream(state, ep, flow, &p, Some(&email), &Method::POST).await)
}

/// `{issuer}/callback/{provider}`: the upstream's authorization response.
async fn callback(
    State(state): State<AppState>,
    ep: TenantEndpoint,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = params.get("provider").map(String::as_str).unwrap_or("");
    let mut t = texts_for(&ep.tenant, &[]);
    let p = match providers::find_external(state.store.as_ref(), ep.tenant.id, name).await {
        Ok(Some(p)) => p,
        Ok(_) => {
            return state.pages.message(
                StatusCode::NOT_FOUND,
                t,
                t.error_title,
                "unknown identity provider",
            );
        }
        Err(e) => return unavailable(&state, t, e),
    };
    let expired = |t, reason: &str| fail(&state, &ep, t, name, Shown::Expired, reason, "");
    // 1. The transaction named by `state`: of this tenant, of this provider (a response of
    //    another upstream delivered here fails, SEC-26), of this browser's flow, unused.
    let Some(st) = q.get("state") else {
        return expired(t, "state_missing");
    };
    let txn = match upstream::find_transaction(state.store.as_ref(), ep.tenant.id, st).await {
        Ok(Some(x)) => x,
        Ok(None) => return expired(t, "state_unknown"),
        Err(e) => return unavailable(&state, t, e),
    };
    if txn.provider_id != p.id {
        return expired(t, "state_of_another_provider");
    }
    let secret = pages::read_cookie(
        &headers,
        &pages::flow_cookie_name(&ep.tenant, https(&state)),
    );
    let (flow, secret) =
        match login::owned_flow(state.store.as_ref(), ep.tenant.id, txn.flow_id, secret).await {
            Ok(Some(owned)) => owned,
            Ok(None) => return expired(t, "state_of_another_browser"),
            Err(e) => return unavailable(&state, t, e),
        };
    t = texts_for(&ep.tenant, &flow.request.ui_locales);
    match upstream::consume_transaction(
        state.store.as_ref(),
        txn.id,
        time::OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => return expired(t, "state_used_or_expired"),
        Err(e) => return unavailable(&state, t, e),
    }
    // 2. An error answer (RFC 6749 §4.1.2.1), e.g. the user declined.
    if let Some(err) = q.get("error") {
        let reason = if err == "access_denied" {
            "access_denied"
        } else {
            "upstream_error"
        };
        let detail: String = err.chars().take(100).collect();
        return fail(&state, &ep, t, name, Shown::Denied, reason, &detail);
    }
    // RFC 9207 §2.4: an `iss` in the response must be the provider's issuer.
    if q.get("iss").is_some_and(|i| *i != p.config.issuer) {
        return expired(t, "iss_mismatch");
    }
    let Some(code) = q.get("code") else {
        return fail(&state, &ep, t, name, Shown::Failed, "code_missing", "");
    };
    // 3. Exchange, validate, find or create the linked user.
    let redirect_uri = providers::redirect_uri(&ep.issuer, &p.name);
    let identity = match upstream::exchange(
        &state.upstreams,
        &state.master_key,
        &p,
        &txn,
        code,
        &redirect_uri,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => return upstream_failure(&state, &ep, t, name, e),
    };
    let user = match upstream::local_user(state.store.as_ref(), &ep.tenant, &p, &identity).await {
        Ok(u) => u,
        Err(e) => return upstream_failure(&state, &ep, t, name, e),
    };
    audit(&state, &ep, name, "success", "login", "");
    complete_login(
        &state,
        &ep,
        flow,
        &secret,
        Ok(user),
        Method::GET,
        Some((&p.name, upstream::AMR)),
    )
    .await
}

fn upstream_failure(
    state: &AppState,
    ep: &TenantEndpoint,
    t: &'static Texts,
    name: &str,
    e: UpstreamError,
) -> Response {
    match e {
        UpstreamError::Store(e) => unavailable(state, t, e),
        UpstreamError::Account(_) => fail(
            state,
            ep,
            t,
            name,
            Shown::Account,
            e.reason(),
            &e.to_string(),
        ),
        e => fail(
            state,
            ep,
            t,
            name,
            Shown::Failed,
            e.reason(),
            &e.to_string(),
        ),
    }
}
