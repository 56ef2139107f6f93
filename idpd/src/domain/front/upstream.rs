//! The relying-party half of a login through a tenant's external OpenID Connect provider:
//! the redirect to the upstream (from `/authorize` or from email-domain routing on the
//! login page) and `{issuer}/callback/{provider}`, which checks the transaction (this
//! provider, this browser, unused, unexpired), lets `domain::upstream` exchange and validate,
//! then resumes the authorization request through the same code as a native login.
//!
//! Every outcome writes one audit line (target `audit`: tenant, provider, outcome, reason).
//! A failure shows a page and leaves nothing behind: no user, link or session.

use std::collections::HashMap;

use super::{Answer, Browser, Front, Problem, UpstreamShown, try_store};
use crate::domain::audit::Outcome;
use crate::domain::login::{self, LoginFlow};
use crate::domain::providers::{self, ProviderRecord};
use crate::domain::upstream::{self, UpstreamError};

/// The audit event (and log line) of an upstream login: the provider is the target, the
/// reason says precisely what failed; `detail` goes to the log only. Recorded in the
/// background: the answer does not wait for it.
fn audit(front: &Front<'_>, provider: &str, success: bool, reason: &str, detail: &str) {
    if !success {
        tracing::warn!(tenant = %front.ctx.tenant.slug, provider, reason, detail, "upstream login failed");
    }
    let outcome = if success {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let mut event = front.event("anonymous", "login.upstream", outcome);
    event.target = Some(provider.to_owned());
    event.reason = (!success).then(|| reason.to_owned());
    crate::domain::audit::record_in_background(front.store.clone(), event);
}

/// Audit line plus the error page.
fn fail(
    front: &Front<'_>,
    provider: &str,
    shown: UpstreamShown,
    reason: &str,
    detail: &str,
) -> Answer {
    audit(front, provider, false, reason, detail);
    let mut answer = Answer::problem(Problem::Upstream {
        shown,
        provider: provider.to_owned(),
    });
    answer.login_attempt = Some(("upstream", false));
    answer
}

fn failure(front: &Front<'_>, provider: &str, e: UpstreamError) -> Answer {
    match e {
        UpstreamError::Store(e) => Answer::store_failed(e),
        UpstreamError::Account(_) => fail(
            front,
            provider,
            UpstreamShown::Account,
            e.reason(),
            &e.to_string(),
        ),
        e => fail(
            front,
            provider,
            UpstreamShown::Failed,
            e.reason(),
            &e.to_string(),
        ),
    }
}

/// Sends the browser to `p` for `flow`, after storing the transaction.
async fn to_provider(
    front: &Front<'_>,
    flow: &LoginFlow,
    p: &ProviderRecord,
    login_hint: Option<&str>,
) -> Answer {
    let redirect_uri = providers::redirect_uri(front.ctx.issuer, &p.name);
    let hint = login_hint.or(flow.request.login_hint.as_deref());
    match upstream::start(front.ctx.store, p, flow, &redirect_uri, hint).await {
        Ok(url) => Answer::redirect(url),
        Err(e) => failure(front, &p.name, e),
    }
}

/// Where `/authorize` sends the browser of a tenant whose default provider is external.
pub async fn to_default_provider(front: &Front<'_>, flow: &LoginFlow) -> Answer {
    let tenant = front.ctx.tenant;
    let name = &tenant.default_provider;
    match try_store!(providers::find_external(front.ctx.store, tenant.id, name).await) {
        Some(p) => to_provider(front, flow, &p, None).await,
        None => fail(
            front,
            name,
            UpstreamShown::Failed,
            "provider_missing",
            "the default provider is not an external provider",
        ),
    }
}

/// Email-domain routing: when an external provider of the tenant claims the domain of
/// `email`, the answer that sends the browser there.
pub async fn route_by_email(front: &Front<'_>, flow: &LoginFlow, email: &str) -> Option<Answer> {
    let email = crate::domain::users::normalize_email(email).ok()?;
    let tenant_id = front.ctx.tenant.id;
    let p = match providers::routing_email(front.ctx.store, tenant_id, &email).await {
        Ok(p) => p?,
        Err(e) => return Some(Answer::store_failed(e)),
    };
    Some(to_provider(front, flow, &p, Some(&email)).await)
}

/// `{issuer}/callback/{provider}`: the upstream's authorization response `q`.
pub async fn callback(
    front: &Front<'_>,
    browser: &Browser,
    name: &str,
    q: &HashMap<String, String>,
) -> Answer {
    let ctx = &front.ctx;
    let Some(p) = try_store!(providers::find_external(ctx.store, ctx.tenant.id, name).await) else {
        return Answer::problem(Problem::UnknownProvider);
    };
    let expired = |reason: &str| fail(front, name, UpstreamShown::Expired, reason, "");
    // 1. The transaction named by `state`: of this tenant, of this provider (a response of
    //    another upstream delivered here fails, SEC-26), of this browser's flow, unused.
    let Some(st) = q.get("state") else {
        return expired("state_missing");
    };
    let Some(txn) = try_store!(upstream::find_transaction(ctx.store, ctx.tenant.id, st).await)
    else {
        return expired("state_unknown");
    };
    if txn.provider_id != p.id {
        return expired("state_of_another_provider");
    }
    let owned = login::owned_flow(ctx.store, ctx.tenant.id, txn.flow_id, browser.flow.clone());
    let Some((flow, secret)) = try_store!(owned.await) else {
        return expired("state_of_another_browser");
    };
    let locales = flow.request.ui_locales.clone();
    resume(front, flow, &secret, &p, &txn, name, q)
        .await
        .in_locales(locales)
}

/// The callback once the flow is known: the transaction is spent, then the answer is
/// checked, exchanged and the login completed.
async fn resume(
    front: &Front<'_>,
    flow: LoginFlow,
    secret: &str,
    p: &ProviderRecord,
    txn: &crate::domain::upstream::UpstreamLogin,
    name: &str,
    q: &HashMap<String, String>,
) -> Answer {
    let ctx = &front.ctx;
    let expired = |reason: &str| fail(front, name, UpstreamShown::Expired, reason, "");
    if !try_store!(upstream::consume_transaction(ctx.store, txn.id, front.now).await) {
        return expired("state_used_or_expired");
    }
    // 2. An error answer (RFC 6749 §4.1.2.1), e.g. the user declined.
    if let Some(err) = q.get("error") {
        let reason = if err == "access_denied" {
            "access_denied"
        } else {
            "upstream_error"
        };
        let detail: String = err.chars().take(100).collect();
        return fail(front, name, UpstreamShown::Denied, reason, &detail);
    }
    // RFC 9207 §2.4: an `iss` in the response must be the provider's issuer.
    if q.get("iss").is_some_and(|i| *i != p.config.issuer) {
        return expired("iss_mismatch");
    }
    let Some(code) = q.get("code") else {
        return fail(front, name, UpstreamShown::Failed, "code_missing", "");
    };
    // 3. Exchange, validate, find or create the linked user.
    let redirect_uri = providers::redirect_uri(ctx.issuer, &p.name);
    let exchanged = upstream::exchange(
        front.upstreams,
        front.master_key,
        p,
        txn,
        code,
        &redirect_uri,
    )
    .await;
    let identity = match exchanged {
        Ok(i) => i,
        Err(e) => return failure(front, name, e),
    };
    let user = match upstream::local_user(ctx.store, ctx.tenant, p, &identity).await {
        Ok(u) => u,
        Err(e) => return failure(front, name, e),
    };
    audit(front, name, true, "login", "");
    let mut answer = super::login::complete(
        front,
        flow,
        secret,
        Ok(user),
        Some((&p.name, upstream::AMR)),
    )
    .await;
    answer.login_attempt = Some(("upstream", true));
    answer
}
