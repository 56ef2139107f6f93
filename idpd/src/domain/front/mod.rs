//! The front channel: what each browser endpoint does, decided here (docs/architecture.md).
//!
//! Every browser endpoint (authorize, the login steps, logout, the upstream callback, the
//! device page) is one function of this module's children. It takes a [`Front`] (where it
//! runs) and a [`Browser`] (what the browser sent that the rules read: cookie values,
//! whether the request came from our own page) and returns an [`Answer`]: redirect there or
//! show this page, with the cookies to set. `http/` only reads requests and writes the
//! answer; the words, templates, status codes and cookie attributes are its business.

pub mod authorize;
pub mod device;
pub mod login;
pub mod logout;
pub mod upstream;

use std::net::IpAddr;

use time::OffsetDateTime;

use super::audit::{NewAuditEvent, Outcome};
use super::login::LoginFlow;
use super::oauth::token::Ctx;
use super::upstream::Upstreams;
use crate::crypto::MasterKey;
use crate::mail::Mailer;
use crate::store::StoreError;

/// Where a front-channel request runs: the tenant, its store and keys, the outbound world,
/// and the one clock reading of the request.
pub struct Front<'a> {
    pub ctx: Ctx<'a>,
    /// The same store as `ctx.store`, for work that outlives the request (audit).
    pub store: &'a std::sync::Arc<dyn crate::store::Store>,
    pub upstreams: &'a Upstreams,
    pub master_key: &'a MasterKey,
    pub mailer: &'a std::sync::Arc<Mailer>,
    pub now: OffsetDateTime,
    /// Request id and client address for audit events.
    pub request_id: Option<String>,
    pub peer: Option<IpAddr>,
}

impl Front<'_> {
    /// An audit event of this request, in this tenant.
    pub fn event(&self, actor: impl Into<String>, action: &str, outcome: Outcome) -> NewAuditEvent {
        let mut event = NewAuditEvent::new(actor, action, outcome);
        event.request_id = self.request_id.clone();
        event.client_ip = self.peer.map(|p| p.to_string());
        event.tenant_id = Some(self.ctx.tenant.id);
        event.tenant = Some(self.ctx.tenant.slug.clone());
        event
    }

    /// `/t/{slug}`: the issuer's path, for redirects within this server.
    pub fn issuer_path(&self) -> String {
        format!("/t/{}", self.ctx.tenant.slug)
    }
}

/// What the browser sent that the front channel's rules read.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    /// The tenant's session cookie.
    pub session: Option<String>,
    /// The login flow cookie (the flow's secret).
    pub flow: Option<String>,
    /// A POST the browser made from one of our own pages (Origin and Sec-Fetch-Site, SEC-07).
    pub own_page: bool,
    /// GET or POST: a redirect after a POST is a 303 (RFC 9700 §4.12).
    pub post: bool,
}

/// The front channel's decision.
#[derive(Debug)]
pub struct Answer {
    pub step: Step,
    pub cookies: Vec<Cookie>,
    /// A login attempt to count (method, success) in the metrics.
    pub login_attempt: Option<(&'static str, bool)>,
    /// The languages the client asked for (`ui_locales`), once the flow is known.
    pub ui_locales: Vec<String>,
}

#[derive(Debug)]
pub enum Step {
    /// Send the browser on (302 after a GET, 303 after a POST).
    Redirect(String),
    /// Show a page.
    Page(Page),
}

/// A cookie to set (`value` empty and `max_age` 0 clear it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub kind: CookieKind,
    pub value: String,
    pub max_age: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieKind {
    Session,
    Flow,
}

impl Cookie {
    pub fn clear(kind: CookieKind) -> Cookie {
        Cookie {
            kind,
            value: String::new(),
            max_age: 0,
        }
    }
}

/// The pages of the front channel, with what they show.
#[derive(Debug)]
pub enum Page {
    /// The login form of `flow`: the address step, or the code step once an address is in.
    Login {
        flow: Box<LoginFlow>,
        csrf: String,
        notice: Option<LoginNotice>,
        /// Where the page's forms may end up besides this origin (CSP `form-action`): the
        /// client's redirect URI (after the code) and the upstreams the address can be
        /// routed to (after the address). Browsers check every redirect of a form post.
        form_targets: Vec<String>,
    },
    /// "Sign out of {tenant}?" with a form carrying `csrf`.
    ConfirmLogout {
        csrf: String,
    },
    SignedOut,
    /// The device page's code entry form.
    DeviceEntry {
        user_code: String,
        csrf: String,
        notice: Option<DeviceNotice>,
    },
    /// The device page's "approve {client} for these scopes?".
    DeviceConfirm {
        user_code: String,
        csrf: String,
        client: String,
        scopes: Vec<String>,
    },
    DeviceDecided {
        approved: bool,
    },
    /// Something went wrong; the user is told what, in words http/ picks.
    Problem(Problem),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginNotice {
    InvalidEmail,
    WrongCode,
    TooMany {
        retry_after: i64,
    },
    /// The address's daily budget of typed codes is spent; the mailed link still works.
    UseTheLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceNotice {
    InvalidCode,
    TooMany { retry_after: i64 },
}

/// What went wrong, for the error page. None of these is reported to a client application
/// by redirect: each is shown, because the client or its redirect URI cannot be trusted, or
/// because there is no client (SEC-01, SEC-06).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A request no client may be told about (unknown client, redirect URI, malformed).
    BadRequest(String),
    /// The login flow is unknown, expired or another browser's.
    FlowExpired,
    /// A form post without its CSRF token, or from another site.
    FormNotVerified,
    /// A character the database cannot hold (NUL).
    BadCharacter,
    /// Too many requests from the client's address: 429 with Retry-After.
    TooManyRequests {
        retry_after: i64,
    },
    /// A form body over the size limit (`too_large`) or that did not arrive in time.
    BodyUnreadable {
        too_large: bool,
    },
    /// The database is unavailable: 503 with Retry-After.
    Unavailable,
    UnknownProvider,
    /// A login through an external provider failed; the audit log has the reason.
    Upstream {
        shown: UpstreamShown,
        provider: String,
    },
}

/// What a user is told about a failed upstream login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamShown {
    Denied,
    Expired,
    Account,
    Failed,
}

impl Answer {
    pub fn redirect(location: impl Into<String>) -> Answer {
        Answer {
            step: Step::Redirect(location.into()),
            cookies: Vec::new(),
            login_attempt: None,
            ui_locales: Vec::new(),
        }
    }

    pub fn page(page: Page) -> Answer {
        Answer {
            step: Step::Page(page),
            cookies: Vec::new(),
            login_attempt: None,
            ui_locales: Vec::new(),
        }
    }

    pub fn problem(p: Problem) -> Answer {
        Answer::page(Page::Problem(p))
    }

    /// A store failure: a character the database refuses is the request's fault (400), the
    /// rest is an outage (503), logged here with its cause.
    pub fn store_failed(e: StoreError) -> Answer {
        if e.is_bad_input() {
            return Answer::problem(Problem::BadCharacter);
        }
        tracing::error!(error = %super::error::chain(&e), "login step failed");
        Answer::problem(Problem::Unavailable)
    }

    /// Shown in the languages `flow`'s client asked for.
    pub fn for_flow(self, flow: &LoginFlow) -> Answer {
        self.in_locales(flow.request.ui_locales.clone())
    }

    /// Shown in `ui_locales` (the flow's, taken before the flow was handed on).
    pub fn in_locales(mut self, ui_locales: Vec<String>) -> Answer {
        self.ui_locales = ui_locales;
        self
    }

    pub fn with_cookie(mut self, c: Cookie) -> Answer {
        self.cookies.push(c);
        self
    }
}

/// Runs `$e` (a `Result<T, StoreError>`), or returns the outage answer.
macro_rules! try_store {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::domain::front::Answer::store_failed(e),
        }
    };
}
pub(crate) use try_store;

/// The CSRF token of a form of a signed-in page: derived from the session cookie and the
/// form's purpose, so only a page served to this browser can carry it.
pub fn session_csrf(purpose: &str, session_cookie: &str) -> String {
    let mut input = format!("idp {purpose}\0").into_bytes();
    input.extend_from_slice(session_cookie.as_bytes());
    crate::crypto::hex(&crate::crypto::sha256(&input)[..16])
}

/// Whether a form's `csrf` field is the expected token (constant time).
pub fn csrf_matches(sent: Option<&String>, expected: &str) -> bool {
    sent.is_some_and(|c| crate::crypto::ct_eq(c.as_bytes(), expected.as_bytes()))
}

/// The flow named by `flow_id` with its secret, if this browser owns it (its flow cookie
/// holds the secret).
pub async fn owned_flow(
    front: &Front<'_>,
    browser: &Browser,
    flow_id: Option<&str>,
) -> Result<Option<(LoginFlow, String)>, StoreError> {
    let Some(id) = flow_id.and_then(|f| uuid::Uuid::parse_str(f).ok()) else {
        return Ok(None);
    };
    super::login::owned_flow(
        front.ctx.store,
        front.ctx.tenant.id,
        id,
        browser.flow.clone(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_csrf_tokens_depend_on_purpose_and_cookie() {
        let a = session_csrf("logout", "cookie");
        assert_eq!(a, session_csrf("logout", "cookie"));
        assert_ne!(a, session_csrf("device", "cookie"));
        assert_ne!(a, session_csrf("logout", "cookie2"));
        assert!(csrf_matches(Some(&a), &a));
        assert!(!csrf_matches(None, &a));
        assert!(!csrf_matches(Some(&"x".to_owned()), &a));
    }
}
