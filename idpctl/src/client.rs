//! The admin API client: URLs, bearer auth, and turning answers into `shared` types or errors.
//!
//! The methods block: each drives one reqwest request on a private current-thread tokio
//! runtime, so the commands stay plain sequential code.

use std::future::Future;
use std::time::Duration;

use reqwest::header::{ACCEPT, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::ErrorBody;
use shared::admin::{
    self, ClientList, CreateClient, CreateTenant, CreatedClient, KeyList, RetireKey, RotateKey,
    RotateSecret, RotatedSecret, SigningKey, Status, Tenant, TenantList, UpdateClient,
    UpdateTenant,
};
use shared::admin::{AuditList, CreateUser, DeviceList, SessionList, UpdateUser, User, UserList};

use crate::error::Error;
use crate::token::Token;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Filters of an audit query.
#[derive(Debug, Default, Clone, Copy)]
pub struct AuditQuery<'a> {
    pub tenant: Option<&'a str>,
    pub action: Option<&'a str>,
    pub since: Option<time::OffsetDateTime>,
    pub after: Option<i64>,
    pub limit: u32,
}

pub struct Client {
    http: reqwest::Client,
    runtime: Runtime,
    base: Url,
    token: Token,
}

/// A successful answer, not yet decoded.
struct Reply {
    url: Url,
    request_id: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Protocol {
            url: self.url.into(),
            detail: format!("the body is not the expected JSON: {e}"),
            request_id: self.request_id,
        })
    }
}

impl Client {
    pub fn new(base: Url, token: Token) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(Box::new(e)))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("idpctl/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // The admin API never redirects; following one could replay a DELETE elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Setup(Box::new(e)))?;
        Ok(Client {
            http,
            runtime: Runtime(Some(runtime)),
            base,
            token,
        })
    }

    pub fn status(&self) -> Result<Status, Error> {
        self.call(Method::GET, self.endpoint(&["status"]), None::<&()>)?
            .json()
    }

    /// One page of tenants.
    pub fn list_tenants(
        &self,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<TenantList, Error> {
        let url = page_url(self.endpoint(&["tenants"]), limit, after);
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    /// Every tenant after `after`, following `next_after` page by page.
    pub fn list_all_tenants(&self, after: Option<&str>) -> Result<TenantList, Error> {
        let items = self.all_pages(&["tenants"], after, |cursor| {
            let page = self.list_tenants(None, cursor)?;
            Ok((page.items, page.next_after))
        })?;
        Ok(TenantList {
            items,
            next_after: None,
        })
    }

    pub fn create_tenant(&self, request: &CreateTenant) -> Result<Tenant, Error> {
        self.call(Method::POST, self.endpoint(&["tenants"]), Some(request))?
            .json()
    }

    pub fn get_tenant(&self, tenant: &str) -> Result<Tenant, Error> {
        self.call(
            Method::GET,
            self.endpoint(&["tenants", tenant]),
            None::<&()>,
        )?
        .json()
    }

    pub fn update_tenant(&self, tenant: &str, request: &UpdateTenant) -> Result<Tenant, Error> {
        self.call(
            Method::PATCH,
            self.endpoint(&["tenants", tenant]),
            Some(request),
        )?
        .json()
    }

    pub fn delete_tenant(&self, tenant: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            self.endpoint(&["tenants", tenant]),
            None::<&()>,
        )
        .map(drop)
    }

    pub fn create_client(
        &self,
        tenant: &str,
        request: &CreateClient,
    ) -> Result<CreatedClient, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["tenants", tenant, "clients"]),
            Some(request),
        )?
        .json()
    }

    /// One page of a tenant's clients.
    pub fn list_clients(
        &self,
        tenant: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<ClientList, Error> {
        let url = page_url(self.endpoint(&["tenants", tenant, "clients"]), limit, after);
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    /// Every client of a tenant after `after`.
    pub fn list_all_clients(&self, tenant: &str, after: Option<&str>) -> Result<ClientList, Error> {
        let items = self.all_pages(&["tenants", tenant, "clients"], after, |cursor| {
            let page = self.list_clients(tenant, None, cursor)?;
            Ok((page.items, page.next_after))
        })?;
        Ok(ClientList {
            items,
            next_after: None,
        })
    }

    pub fn get_client(&self, tenant: &str, client_id: &str) -> Result<admin::Client, Error> {
        self.call(
            Method::GET,
            self.endpoint(&["tenants", tenant, "clients", client_id]),
            None::<&()>,
        )?
        .json()
    }

    pub fn update_client(
        &self,
        tenant: &str,
        client_id: &str,
        request: &UpdateClient,
    ) -> Result<admin::Client, Error> {
        self.call(
            Method::PATCH,
            self.endpoint(&["tenants", tenant, "clients", client_id]),
            Some(request),
        )?
        .json()
    }

    pub fn delete_client(&self, tenant: &str, client_id: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            self.endpoint(&["tenants", tenant, "clients", client_id]),
            None::<&()>,
        )
        .map(drop)
    }

    pub fn rotate_client_secret(
        &self,
        tenant: &str,
        client_id: &str,
        request: &RotateSecret,
    ) -> Result<RotatedSecret, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["tenants", tenant, "clients", client_id, "rotate-secret"]),
            Some(request),
        )?
        .json()
    }

    /// A tenant's keys; with `all`, removed ones too.
    pub fn list_keys(&self, tenant: &str, all: bool) -> Result<KeyList, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "keys"]);
        if all {
            url.query_pairs_mut().append_pair("all", "true");
        }
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    pub fn rotate_key(&self, tenant: &str, request: &RotateKey) -> Result<SigningKey, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["tenants", tenant, "keys", "rotate"]),
            Some(request),
        )?
        .json()
    }

    pub fn retire_key(&self, kid: &str, request: &RetireKey) -> Result<SigningKey, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["keys", kid, "retire"]),
            Some(request),
        )?
        .json()
    }

    pub fn create_user(&self, tenant: &str, request: &CreateUser) -> Result<User, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["tenants", tenant, "users"]),
            Some(request),
        )?
        .json()
    }

    /// One page of a tenant's users.
    pub fn list_users(
        &self,
        tenant: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<UserList, Error> {
        let url = page_url(self.endpoint(&["tenants", tenant, "users"]), limit, after);
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    /// Every user of a tenant after `after`.
    pub fn list_all_users(&self, tenant: &str, after: Option<&str>) -> Result<UserList, Error> {
        let items = self.all_pages(&["tenants", tenant, "users"], after, |cursor| {
            let page = self.list_users(tenant, None, cursor)?;
            Ok((page.items, page.next_after))
        })?;
        Ok(UserList {
            items,
            next_after: None,
        })
    }

    /// `user` is an id or an email.
    pub fn get_user(&self, tenant: &str, user: &str) -> Result<User, Error> {
        self.call(
            Method::GET,
            self.endpoint(&["tenants", tenant, "users", user]),
            None::<&()>,
        )?
        .json()
    }

    pub fn update_user(
        &self,
        tenant: &str,
        user: &str,
        request: &UpdateUser,
    ) -> Result<User, Error> {
        self.call(
            Method::PATCH,
            self.endpoint(&["tenants", tenant, "users", user]),
            Some(request),
        )?
        .json()
    }

    pub fn disable_user(&self, tenant: &str, user: &str) -> Result<User, Error> {
        self.call(
            Method::POST,
            self.endpoint(&["tenants", tenant, "users", user, "disable"]),
            None::<&()>,
        )?
        .json()
    }

    pub fn delete_user(&self, tenant: &str, user: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            self.endpoint(&["tenants", tenant, "users", user]),
            None::<&()>,
        )
        .map(drop)
    }

    /// A tenant's live sessions; only those of `user` (id or email) when given.
    pub fn list_sessions(&self, tenant: &str, user: Option<&str>) -> Result<SessionList, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "sessions"]);
        if let Some(user) = user {
            url.query_pairs_mut().append_pair("user", user);
        }
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    pub fn revoke_session(&self, id: &str) -> Result<(), Error> {
        self.call(
            Method::DELETE,
            self.endpoint(&["sessions", id]),
            None::<&()>,
        )
        .map(drop)
    }

    /// A tenant's registered devices; only those of `user` (id or email) when given.
    pub fn list_devices(&self, tenant: &str, user: Option<&str>) -> Result<DeviceList, Error> {
        let mut url = self.endpoint(&["tenants", tenant, "devices"]);
        if let Some(user) = user {
            url.query_pairs_mut().append_pair("user", user);
        }
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    pub fn revoke_device(&self, tenant: &str, id: &str) -> Result<(), Error> {
        let url = self.endpoint(&["tenants", tenant, "devices", id]);
        self.call(Method::DELETE, url, None::<&()>).map(drop)
    }

    /// Audit events matching `q`: newest first, or after `q.after` oldest first.
    pub fn list_audit(&self, q: &AuditQuery<'_>) -> Result<AuditList, Error> {
        let mut url = self.endpoint(&["audit"]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(tenant) = q.tenant {
                pairs.append_pair("tenant", tenant);
            }
            if let Some(action) = q.action {
                pairs.append_pair("action", action);
            }
            if let Some(since) = q.since {
                let since = since
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(|e| Error::Usage(format!("--since: {e}")))?;
                pairs.append_pair("since", &since);
            }
            if let Some(after) = q.after {
                pairs.append_pair("after", &after.to_string());
            }
            pairs.append_pair("limit", &q.limit.to_string());
        }
        self.call(Method::GET, url, None::<&()>)?.json()
    }

    /// A JSON request to `{api}/{segments...}` whose answer is JSON (the provider commands).
    pub fn json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error> {
        self.call(method, self.endpoint(segments), body)?.json()
    }

    /// A request whose successful answer has no body.
    pub fn empty(&self, method: Method, segments: &[&str]) -> Result<(), Error> {
        self.call(method, self.endpoint(segments), None::<&()>)
            .map(drop)
    }

    /// The items of every page after `after`, following `next_after` until it is absent.
    /// `segments` names the collection in errors.
    fn all_pages<T>(
        &self,
        segments: &[&str],
        after: Option<&str>,
        mut page: impl FnMut(Option<&str>) -> Result<(Vec<T>, Option<String>), Error>,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut cursor = after.map(str::to_owned);
        loop {
            let (mut batch, next_after) = page(cursor.as_deref())?;
            items.append(&mut batch);
            match next_after {
                None => return Ok(items),
                // A cursor that does not move would loop forever. (Only equality is checked:
                // the database's collation, not Rust's, decides what "after" means.)
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Err(Error::Protocol {
                        url: self.endpoint(segments).into(),
                        detail: format!("next_after {next:?} repeats the previous page"),
                        request_id: None,
                    });
                }
                Some(next) => cursor = Some(next),
            }
        }
    }

    /// `{base}/api/v1/{segments...}`, each segment percent-encoded (`/` included), so a
    /// slug typed as `../x` stays one segment. `--url` may carry a path prefix of its own.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // Cannot fail: `--url` was checked to be an http(s) URL, which can be a base.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(shared::API_PREFIX.split('/').filter(|s| !s.is_empty()))
                .extend(segments);
        }
        url
    }

    fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Reply, Error> {
        let mut request = self
            .http
            .request(method, url.clone())
            .bearer_auth(self.token.secret())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = self.block_on(async move {
            let response = request.send().await?;
            let status = response.status();
            let header = |name: &str| {
                let value = response.headers().get(name)?;
                value.to_str().ok().map(str::to_owned)
            };
            let request_id = header("x-request-id");
            let location = header(LOCATION.as_str());
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>((status, request_id, location, body))
        })?;
        let (status, request_id, location, body) = answer.map_err(|e| {
            let source = e.without_url();
            if source.is_connect() {
                Error::Unreachable {
                    url: url.to_string(),
                    source,
                }
            } else {
                Error::Request {
                    url: url.to_string(),
                    source,
                }
            }
        })?;
        if status.is_success() {
            return Ok(Reply {
                url,
                request_id,
                body,
            });
        }
        Err(self.failure(url, status, request_id, location, &body))
    }

    fn failure(
        &self,
        url: Url,
        status: StatusCode,
        request_id: Option<String>,
        location: Option<String>,
        body: &[u8],
    ) -> Error {
        if let Ok(mut body) = serde_json::from_slice::<ErrorBody>(body) {
            if body.request_id.is_none() {
                body.request_id = request_id;
            }
            let hint = (status == StatusCode::UNAUTHORIZED)
                .then(|| format!("the rejected admin token was {}", self.token.origin()));
            return Error::Api { status, body, hint };
        }
        let detail = match location {
            Some(to) if status.is_redirection() => {
                format!("{status}, redirecting to {to}: point --url at idpd's admin listener")
            }
            _ => format!(
                "{status} without an admin API error body (is --url idpd's admin listener?)"
            ),
        };
        Error::Protocol {
            url: url.into(),
            detail,
            request_id,
        }
    }

    fn block_on<F>(&self, future: F) -> Result<F::Output, Error>
    where
        F: Future + Send,
        F::Output: Send,
    {
        // Only `Drop` takes the runtime out.
        let runtime =
            self.runtime.0.as_ref().ok_or_else(|| {
                Error::Setup("the HTTP client's runtime has been shut down".into())
            })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(runtime.block_on(future));
        }
        // Called on a thread that drives a tokio runtime (a `#[tokio::test]` calling
        // `idpctl::run`), where blocking would panic: drive the request from a helper thread.
        std::thread::scope(
            |scope| match scope.spawn(|| runtime.block_on(future)).join() {
                Ok(output) => Ok(output),
                Err(panic) => std::panic::resume_unwind(panic),
            },
        )
    }
}

/// `url?limit=N&after=CURSOR`, with only the parameters that are given.
fn page_url(mut url: Url, limit: Option<u32>, after: Option<&str>) -> Url {
    {
        let mut query = url.query_pairs_mut();
        if let Some(limit) = limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(after) = after {
            query.append_pair("after", after);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

/// Dropping a runtime blocks, which panics inside another runtime; shutting it down in the
/// background does not, and nothing is left running on it once a command returns.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{TokenOrigin, TokenSpec};

    fn client(base: &str) -> Client {
        let token = TokenSpec::Value("t".into(), TokenOrigin::Flag)
            .resolve()
            .unwrap();
        Client::new(Url::parse(base).unwrap(), token).unwrap()
    }

    #[test]
    fn endpoints_encode_segments_and_keep_a_prefix() {
        let c = client("http://127.0.0.1:8081");
        assert_eq!(
            c.endpoint(&["tenants", "../x y?#%"]).as_str(),
            "http://127.0.0.1:8081/api/v1/tenants/..%2Fx%20y%3F%23%25"
        );
        let c = client("https://idp.example.com/admin/");
        assert_eq!(
            c.endpoint(&["status"]).as_str(),
            "https://idp.example.com/admin/api/v1/status"
        );
    }

    #[test]
    fn page_urls_carry_only_given_parameters() {
        let c = client("http://h:1");
        let base = || c.endpoint(&["tenants", "a b", "clients"]);
        assert_eq!(
            page_url(base(), None, None).as_str(),
            "http://h:1/api/v1/tenants/a%20b/clients"
        );
        assert_eq!(
            page_url(base(), Some(5), Some("x&y")).as_str(),
            "http://h:1/api/v1/tenants/a%20b/clients?limit=5&after=x%26y"
        );
    }

    #[test]
    fn a_cursor_that_does_not_move_is_a_protocol_error() {
        let c = client("http://h:1");
        let mut calls = 0;
        let err = c
            .all_pages(&["tenants"], Some("a"), |_| {
                calls += 1;
                Ok((vec![calls], Some("a".to_owned())))
            })
            .unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
        assert_eq!(calls, 1);
        let mut pages = vec![(vec![3], None), (vec![1, 2], Some("b".to_owned()))];
        let items = c.all_pages(&["tenants"], None, |_| Ok(pages.pop().unwrap()));
        assert_eq!(items.unwrap(), [1, 2, 3]);
    }

    #[test]
    fn unreachable_server_names_the_url() {
        let err = client("http://127.0.0.1:1").status().unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "could not reach idpd at http://127.0.0.1:1/api/v1/status"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_when_called_inside_a_runtime() {
        let c = client("http://127.0.0.1:1");
        assert!(matches!(c.status(), Err(Error::Unreachable { .. })));
        drop(c);
    }
}
