//! `/api/v1/audit`: the audit log, and the middleware that records every admin change.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use shared::ErrorBody;
use shared::admin::{AuditEvent, AuditList};
use time::OffsetDateTime;

use crate::domain::admin_tokens::AdminToken;
use crate::domain::audit::{self, AuditQuery, Outcome};
use crate::domain::tenants;
use crate::http::AppState;
use crate::http::error::{ApiError, error_code};
use crate::http::extract::{Json, Query};

/// Largest created-object reply read back for its id (replies are small JSON documents).
const REPLY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Only events of this tenant (slug).
    tenant: Option<String>,
    /// Only this action (`client.create`), or every action of a noun (`client`).
    action: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<OffsetDateTime>,
    /// Events after this `seq`, oldest first (to follow the log); without it the newest
    /// events come first.
    after: Option<i64>,
    /// At most this many events (1..=1000, default 100).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(ListParams),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorBody)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<AuditList>, ApiError> {
    if p.limit.is_some_and(|l| l == 0 || l > audit::MAX_LIMIT) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {}",
            audit::MAX_LIMIT
        )));
    }
    let events = audit::list(
        state.store.as_ref(),
        AuditQuery {
            tenant: p.tenant,
            action: p.action,
            since: p.since,
            after: p.after,
            limit: p.limit.unwrap_or(100),
        },
    )
    .await
    .map_err(crate::domain::Error::from)?;
    Ok(Json(AuditList {
        items: events.into_iter().map(to_api).collect(),
    }))
}

fn to_api(e: audit::AuditEvent) -> AuditEvent {
    AuditEvent {
        seq: e.seq,
        at: e.at,
        tenant: e.tenant,
        actor: e.actor,
        action: e.action,
        target: e.target,
        outcome: e.outcome.as_str().to_owned(),
        reason: e.reason,
        request_id: e.request_id,
        client_ip: e.client_ip,
    }
}

/// Records every admin request that changes something (any method but GET and HEAD), after
/// authentication: actor, action from the route, target, tenant, outcome with the error code,
/// request id and client address. Bodies are never recorded; a created object's reply is
/// read only for its id.
pub async fn record_changes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let params = path_params(&route, req.uri().path());
    let mut event = crate::http::audit_event_here(
        req.extensions()
            .get::<AdminToken>()
            .map_or_else(|| "anonymous".to_owned(), |t| format!("admin:{}", t.name)),
        &audit::admin_action(req.method().as_str(), &route),
        Outcome::Success,
    );
    // Resolved before the change: a deleted tenant can no longer be looked up afterwards.
    if let Some(key) = params.iter().find(|(k, _)| k == "tenant").map(|(_, v)| v) {
        match tenants::get(state.store.as_ref(), key).await {
            Ok(t) => {
                event.tenant_id = Some(t.id);
                event.tenant = Some(t.slug);
            }
            Err(_) => event.tenant = Some(key.clone()),
        }
    }
    event.target = params
        .iter()
        .rev()
        .find(|(k, _)| k != "tenant")
        .or(params.last())
        .map(|(_, v)| v.clone());
    let creates = *req.method() == Method::POST && !route.ends_with('}');

    let res = next.run(req).await;

    let res = if res.status().is_success() && creates {
        let (parts, body) = res.into_parts();
        match axum::body::to_bytes(body, REPLY_LIMIT).await {
            Ok(bytes) => {
                if let Some((tenant, target)) = created_ids(&bytes) {
                    if event.tenant.is_none() {
                        event.tenant = tenant;
                    }
                    event.target = Some(target);
                }
                Response::from_parts(parts, Body::from(bytes))
            }
            Err(_) => Response::from_parts(parts, Body::empty()),
        }
    } else {
        res
    };
    if !res.status().is_success() {
        event.outcome = Outcome::Failure;
        event.reason = Some(
            error_code(&res)
                .map(str::to_owned)
                .unwrap_or_else(|| res.status().as_u16().to_string()),
        );
    }
    audit::record(state.store.as_ref(), event).await;
    res
}

/// `(name, value)` of each `{name}` of the route template, from the request path.
fn path_params(route: &str, path: &str) -> Vec<(String, String)> {
    route
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(t, v)| {
            let name = t.strip_prefix('{')?.strip_suffix('}')?;
            let value = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map_or_else(|| v.to_owned(), |(_, v)| v.into_owned());
            Some((name.to_owned(), value))
        })
        .collect()
}

/// The tenant slug and the name of what a create reply describes (`client_id`, `kid`,
/// `slug`, `email` or `id`, also inside a `client` wrapper).
fn created_ids(reply: &[u8]) -> Option<(Option<String>, String)> {
    let doc: serde_json::Value = serde_json::from_slice(reply).ok()?;
    let object = doc.get("client").unwrap_or(&doc);
    let field = |k: &str| object.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let target = ["client_id", "kid", "slug", "name", "email", "id"]
        .iter()
        .find_map(|k| field(k))?;
    let tenant = field("tenant").or_else(|| field("slug"));
    Some((tenant, target))
}
