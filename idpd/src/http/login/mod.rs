//! The browser side: the login pages, the upstream callback and the device page, plus the
//! one place that turns a front-channel [`Answer`] into a response (also for `/authorize`
//! and `/logout` in `http/oidc`). The decisions are `domain::front`'s; here are the words,
//! templates, status codes and cookie attributes.

pub mod cookies;
mod pages;

use std::collections::HashMap;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;

use super::oidc::TenantEndpoint;
use super::pages::ctx_texts;
use crate::domain::front::{
    Answer, Browser, DeviceNotice, Front, LoginNotice, Page, Problem, Step, UpstreamShown,
};
use crate::http::AppState;
use crate::i18n::{self, Texts};

/// A form body as page handlers take it: its rejection becomes a page, not axum's text.
pub type FormBody = Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/{slug}/login", get(pages::login_page))
        .route("/t/{slug}/login/email", post(pages::login_email))
        .route("/t/{slug}/login/code", post(pages::login_code))
        .route("/t/{slug}/login/link", get(pages::login_link))
        .route("/t/{slug}/callback/{provider}", get(pages::callback))
        .route(
            "/t/{slug}/device",
            get(pages::device_page).post(pages::device_post),
        )
}

/// A browser request as the front channel sees it: the state, the tenant, what the browser
/// sent ([`Browser`]). Its handlers are one line: `r.respond(front::…(&r.front(), &r.browser, …))`.
pub struct PageRequest {
    pub state: AppState,
    pub ep: TenantEndpoint,
    pub browser: Browser,
}

impl FromRequestParts<AppState> for PageRequest {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ep = TenantEndpoint::from_request_parts(parts, state).await?;
        let post = parts.method == Method::POST;
        let browser = browser(state, &ep, &parts.headers, post);
        Ok(PageRequest {
            state: state.clone(),
            ep,
            browser,
        })
    }
}

impl PageRequest {
    pub fn front(&self) -> Front<'_> {
        front_ctx(&self.state, &self.ep)
    }

    pub fn respond(&self, answer: Answer) -> Response {
        respond(&self.state, &self.ep, &self.browser, answer)
    }

    /// The error page of a form body too large or too slow.
    pub fn unreadable(&self, e: axum::extract::rejection::BytesRejection) -> Response {
        let too_large = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
        self.respond(Answer::problem(Problem::BodyUnreadable { too_large }))
    }
}

/// Where a front-channel request runs, for `domain::front`.
fn front_ctx<'a>(state: &'a AppState, ep: &'a TenantEndpoint) -> Front<'a> {
    let (request_id, peer) = super::request_here();
    Front {
        ctx: ep.ctx(state),
        store: &state.store,
        upstreams: &state.upstreams,
        master_key: &state.master_key,
        mailer: &state.mailer,
        now: crate::clock::now(),
        request_id,
        peer,
    }
}

/// What the rules read from the browser's request: the tenant's cookies, whether a POST
/// came from our own page, and the method.
fn browser(state: &AppState, ep: &TenantEndpoint, headers: &HeaderMap, post: bool) -> Browser {
    let https = state.config.public_https();
    Browser {
        session: cookies::read_cookie(headers, &cookies::session_cookie_name(&ep.tenant, https)),
        flow: cookies::read_cookie(headers, &cookies::flow_cookie_name(&ep.tenant, https)),
        own_page: post && super::csrf::from_own_page(headers, &state.config.public_origin),
        post,
    }
}

/// The tenant's texts for the asked `ui_locales` (OIDC Core §3.1.2.1).
pub(crate) fn texts_for(
    tenant: &crate::domain::tenants::Tenant,
    ui_locales: &[String],
) -> &'static Texts {
    i18n::pick(ui_locales.iter().map(String::as_str), &tenant.locales)
}

/// A redirect after a GET (302) or a POST (303, so the browser does not re-POST; RFC 9700 §4.12).
fn redirect(post: bool, location: &str) -> Response {
    let status = if post {
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

/// The response of a front-channel answer.
fn respond(state: &AppState, ep: &TenantEndpoint, browser: &Browser, answer: Answer) -> Response {
    if let Some((method, success)) = answer.login_attempt {
        state.metrics.login(&ep.tenant.slug, method, success);
    }
    let mut res = match answer.step {
        Step::Redirect(to) => redirect(browser.post, &to),
        Step::Page(page) => render(state, ep, texts_for(&ep.tenant, &answer.ui_locales), page),
    };
    let https = state.config.public_https();
    for c in &answer.cookies {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set_cookie(&ep.tenant, https, c),
        );
    }
    res
}

fn render(state: &AppState, ep: &TenantEndpoint, t: &'static Texts, page: Page) -> Response {
    let tenant = &ep.tenant;
    let base = ep.issuer_path();
    let pages = &state.pages;
    match page {
        Page::Login {
            flow,
            csrf,
            notice,
            form_targets,
        } => {
            let t = texts_for(tenant, &flow.request.ui_locales);
            let (status, error, retry) = match notice {
                None => (StatusCode::OK, None, None),
                Some(LoginNotice::InvalidEmail) => {
                    (StatusCode::BAD_REQUEST, Some(t.invalid_email), None)
                }
                Some(LoginNotice::WrongCode) => (StatusCode::BAD_REQUEST, Some(t.wrong_code), None),
                Some(LoginNotice::UseTheLink) => {
                    (StatusCode::TOO_MANY_REQUESTS, Some(t.use_the_link), None)
                }
                Some(LoginNotice::TooMany { retry_after }) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(t.too_many),
                    Some(retry_after),
                ),
            };
            let step = if flow.email.is_some() {
                "code"
            } else {
                "email"
            };
            let mut res = pages.render(
                status,
                "login.html",
                context! {
                    t => ctx_texts(t), title => format!("{} {}", t.sign_in_to, tenant.display_name),
                    tenant => tenant.display_name.clone(), step, flow => flow.id.to_string(),
                    csrf, base,
                    email => flow.email.clone().or(flow.request.login_hint.clone()).unwrap_or_default(),
                    error,
                },
            );
            if let Some(r) = retry {
                super::error::retry_after(&mut res, r);
            }
            super::pages::allow_form_targets(&mut res, &form_targets);
            res
        }
        Page::ConfirmLogout { csrf } => {
            let title = t
                .sign_out_question
                .replace("{tenant}", &tenant.display_name);
            pages.render(
                StatusCode::OK,
                "message.html",
                context! { t => ctx_texts(t), title, confirm => true, csrf, base },
            )
        }
        Page::SignedOut => pages.message(StatusCode::OK, t, t.signed_out, ""),
        Page::DeviceEntry {
            user_code,
            csrf,
            notice,
        } => {
            let (status, error, retry) = match notice {
                None => (StatusCode::OK, None, None),
                Some(DeviceNotice::InvalidCode) => {
                    (StatusCode::BAD_REQUEST, Some(t.device_invalid_code), None)
                }
                Some(DeviceNotice::TooMany { retry_after }) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(t.too_many),
                    Some(retry_after),
                ),
            };
            let mut res = pages.render(
                status,
                "device.html",
                context! {
                    t => ctx_texts(t), title => t.device_title, step => "enter",
                    csrf, base, user_code, error,
                },
            );
            if let Some(r) = retry {
                super::error::retry_after(&mut res, r);
            }
            res
        }
        Page::DeviceConfirm {
            user_code,
            csrf,
            client,
            scopes,
        } => pages.render(
            StatusCode::OK,
            "device.html",
            context! {
                t => ctx_texts(t), title => t.device_title, step => "confirm",
                csrf, base, user_code,
                confirm => t.device_confirm.replace("{client}", &client), scopes,
            },
        ),
        Page::DeviceDecided { approved } => {
            let message = if approved {
                t.device_approved
            } else {
                t.device_denied
            };
            pages.message(StatusCode::OK, t, t.device_title, message)
        }
        Page::Problem(p) => problem(state, t, p),
    }
}

/// The error page of a problem.
fn problem(state: &AppState, t: &'static Texts, p: Problem) -> Response {
    let (status, text) = match &p {
        Problem::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
        Problem::FlowExpired => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired or belongs to another browser. Go back to the application and start again.".to_owned(),
        ),
        Problem::FormNotVerified => (
            StatusCode::FORBIDDEN,
            "The form could not be verified. Reload the page and try again.".to_owned(),
        ),
        Problem::BadCharacter => (
            StatusCode::BAD_REQUEST,
            "The request contains a character that is not allowed.".to_owned(),
        ),
        Problem::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, t.too_many.to_owned()),
        Problem::BodyUnreadable { too_large: true } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large.".to_owned(),
        ),
        Problem::BodyUnreadable { too_large: false } => (
            StatusCode::BAD_REQUEST,
            "The form could not be read. Try again.".to_owned(),
        ),
        Problem::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable. Try again shortly.".to_owned(),
        ),
        Problem::UnknownProvider => (
            StatusCode::NOT_FOUND,
            "unknown identity provider".to_owned(),
        ),
        Problem::Upstream { shown, provider } => {
            let (status, text) = match shown {
                UpstreamShown::Denied => (StatusCode::FORBIDDEN, t.upstream_denied),
                UpstreamShown::Expired => (StatusCode::BAD_REQUEST, t.upstream_expired),
                UpstreamShown::Account => (StatusCode::FORBIDDEN, t.upstream_account),
                UpstreamShown::Failed => (StatusCode::BAD_GATEWAY, t.upstream_failed),
            };
            (status, text.replace("{provider}", provider))
        }
    };
    let mut res = state.pages.message(status, t, t.error_title, &text);
    match p {
        Problem::Unavailable => {
            super::error::retry_after(&mut res, super::error::RETRY_UNAVAILABLE_SECONDS);
        }
        Problem::TooManyRequests { retry_after } => {
            super::error::retry_after(&mut res, retry_after);
        }
        _ => {}
    }
    res
}

/// The fields of a form body (`None` when it is not one).
pub(crate) fn fields(body: &[u8]) -> Option<HashMap<String, String>> {
    super::oidc::form::pairs(body).ok()
}
