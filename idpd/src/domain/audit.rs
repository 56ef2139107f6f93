//! The audit log: who did what to which object, when, from where, and whether it worked.
//! Every admin change and every login attempt becomes one event. Events never hold secrets:
//! callers pass names and ids, never request bodies, codes or tokens.

use crate::clock::now;
pub use crate::model::audit::{AuditEvent, AuditQuery, NewAuditEvent, Outcome};
use crate::store::Store;

/// Most events one query returns.
pub const MAX_LIMIT: u32 = 1000;

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

impl NewAuditEvent {
    pub fn new(actor: impl Into<String>, action: impl Into<String>, outcome: Outcome) -> Self {
        NewAuditEvent {
            at: now(),
            tenant_id: None,
            tenant: None,
            actor: actor.into(),
            action: action.into(),
            target: None,
            outcome,
            reason: None,
            request_id: None,
            client_ip: None,
        }
    }
}

/// Where the request being served comes from (its request id and client address): the
/// serving layer registers how to read it once at start; the domain reads it only when it
/// records an event.
pub type RequestSource = fn() -> (Option<String>, Option<std::net::IpAddr>);

static REQUEST_SOURCE: std::sync::OnceLock<RequestSource> = std::sync::OnceLock::new();

/// Registers the serving layer's [`RequestSource`] (the first registration wins).
pub fn set_request_source(source: RequestSource) {
    let _ = REQUEST_SOURCE.set(source);
}

/// An event of the request being served, in `tenant`: request id and client address filled
/// in (empty outside a request).
pub fn event_here(
    tenant: Option<(uuid::Uuid, &str)>,
    actor: impl Into<String>,
    action: &str,
    outcome: Outcome,
) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(actor, action, outcome);
    if let Some((id, slug)) = tenant {
        event.tenant_id = Some(id);
        event.tenant = Some(slug.to_owned());
    }
    let (request_id, peer) = REQUEST_SOURCE.get().map(|f| f()).unwrap_or((None, None));
    event.request_id = request_id;
    event.client_ip = peer.map(|p| p.to_string());
    event
}

/// Records `event` without holding up the answer.
pub fn record_in_background(store: std::sync::Arc<dyn Store>, event: NewAuditEvent) {
    tokio::spawn(async move { record(store.as_ref(), event).await });
}

/// Records `event`. The audit log must not turn a completed change into a reported failure,
/// so a store error is logged (with the event, which holds no secret) and swallowed.
pub async fn record(store: &dyn Store, event: NewAuditEvent) {
    tracing::info!(
        target: "audit",
        tenant = event.tenant.as_deref().unwrap_or(""),
        actor = %event.actor,
        action = %event.action,
        target_object = event.target.as_deref().unwrap_or(""),
        outcome = event.outcome.as_str(),
        reason = event.reason.as_deref().unwrap_or(""),
        "audit event"
    );
    if let Err(e) = store.insert_audit_event(&event).await {
        tracing::error!(error = %e, action = %event.action, "could not record an audit event");
    }
}

pub async fn list(store: &dyn Store, mut q: AuditQuery) -> crate::store::Result<Vec<AuditEvent>> {
    q.limit = q.limit.clamp(1, MAX_LIMIT);
    store.list_audit_events(&q).await
}

/// The action name of an admin request, from its method and route template:
/// `POST /api/v1/tenants/{tenant}/clients` is `client.create`,
/// `POST /api/v1/tenants/{tenant}/clients/{client_id}/rotate-secret` is
/// `client.rotate-secret`, `DELETE /api/v1/sessions/{id}` is `session.delete`.
/// A path segment that is neither a parameter nor a collection is a verb.
pub fn admin_action(method: &str, route: &str) -> String {
    let segments: Vec<&str> = route
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let is_param = |s: &&str| s.starts_with('{');
    let noun = segments
        .iter()
        .rev()
        .find(|s| !is_param(s) && is_collection(s))
        .map_or_else(|| "admin".to_owned(), |s| singular(s));
    let verb = match segments.last() {
        Some(last) if !is_param(last) && !is_collection(last) => (*last).to_owned(),
        Some(last) => match (method, is_param(last)) {
            ("POST", false) => "create".to_owned(),
            ("DELETE", _) => "delete".to_owned(),
            ("PUT" | "PATCH" | "POST", _) => "update".to_owned(),
            (other, _) => other.to_ascii_lowercase(),
        },
        None => method.to_ascii_lowercase(),
    };
    format!("{noun}.{verb}")
}

fn is_collection(s: &str) -> bool {
    matches!(
        s,
        "tenants" | "clients" | "keys" | "users" | "sessions" | "providers" | "devices" | "audit"
    )
}

fn singular(noun: &str) -> String {
    noun.strip_suffix('s').unwrap_or(noun).to_owned()
}

#[cfg(test)]
mod tests {
    use super::admin_action;

    #[test]
    fn admin_actions_are_named_by_resource_and_verb() {
        for (method, route, action) in [
            ("POST", "/api/v1/tenants", "tenant.create"),
            ("PATCH", "/api/v1/tenants/{tenant}", "tenant.update"),
            ("DELETE", "/api/v1/tenants/{tenant}", "tenant.delete"),
            ("POST", "/api/v1/tenants/{tenant}/clients", "client.create"),
            (
                "POST",
                "/api/v1/tenants/{tenant}/clients/{client_id}/rotate-secret",
                "client.rotate-secret",
            ),
            ("POST", "/api/v1/tenants/{tenant}/keys/rotate", "key.rotate"),
            ("POST", "/api/v1/keys/{kid}/retire", "key.retire"),
            (
                "POST",
                "/api/v1/tenants/{tenant}/users/{user}/disable",
                "user.disable",
            ),
            ("DELETE", "/api/v1/sessions/{id}", "session.delete"),
            (
                "PUT",
                "/api/v1/tenants/{tenant}/providers/{name}/default",
                "provider.default",
            ),
        ] {
            assert_eq!(admin_action(method, route), action, "{method} {route}");
        }
    }
}
