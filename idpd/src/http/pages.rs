//! Server-rendered pages (minijinja, auto-escaped) and their security headers. Pages work
//! without JavaScript and load nothing from other origins. (Cookies: `login/cookies.rs`.)

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;

use crate::i18n::Texts;

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Pages {
        let mut env = Environment::new();
        for (name, src) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("message.html", include_str!("../../templates/message.html")),
            ("device.html", include_str!("../../templates/device.html")),
        ] {
            env.add_template(name, src)
                .expect("the built-in templates parse (checked by the tests)");
        }
        Pages { env }
    }

    /// Renders `template` as an HTML response with the page security headers.
    pub fn render(&self, status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
        let html = self.env.get_template(template).and_then(|t| t.render(ctx));
        match html {
            Ok(body) => (status, html_headers(), body).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "page rendering failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    html_headers(),
                    "internal error",
                )
                    .into_response()
            }
        }
    }

    /// A page with a title and a message (errors, "signed out", logout confirmation).
    pub fn message(
        &self,
        status: StatusCode,
        t: &'static Texts,
        title: &str,
        message: &str,
    ) -> Response {
        self.render(
            status,
            "message.html",
            minijinja::context! { t => ctx_texts(t), title, message, error => status.is_client_error() },
        )
    }
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

/// The texts as a template value.
pub fn ctx_texts(t: &'static Texts) -> minijinja::Value {
    minijinja::context! {
        lang => t.lang, sign_in_to => t.sign_in_to, email_label => t.email_label,
        send_code => t.send_code, code_sent => t.code_sent, code_label => t.code_label,
        verify => t.verify, sign_out => t.sign_out,
        device_title => t.device_title, device_code_label => t.device_code_label,
        device_continue => t.device_continue, device_scopes => t.device_scopes,
        device_approve => t.device_approve, device_deny => t.device_deny,
    }
}

/// The pages' Content-Security-Policy: nothing but their own inline style and images, no
/// framing, and forms that post only to this origin.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Widens a page's `form-action` to `targets` (CSP source expressions): browsers check
/// every redirect that follows a form post, so a form whose answer sends the browser to a
/// client's redirect URI or to an upstream must name them.
pub fn allow_form_targets(res: &mut Response, targets: &[String]) {
    if targets.is_empty() {
        return;
    }
    let csp = format!("{CSP} {}", targets.join(" "));
    if let Ok(v) = header::HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// SEC-08/09: no framing, no scripts, no caching, and no `Referer` on any request that leaves
/// the public origin. `same-origin` rather than `no-referrer`: under `no-referrer` browsers
/// send `Origin: null` with the pages' own form POSTs, and the CSRF check (`http/csrf.rs`)
/// wants the real origin there.
pub fn html_headers() -> [(header::HeaderName, &'static str); 6] {
    [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_widen_form_action_only() {
        use crate::domain::front::login::csp_source;
        assert_eq!(
            csp_source("https://App.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            csp_source("http://127.0.0.1:9/cb").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            csp_source("com.example.app:/oauth2redirect").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(csp_source("not a url"), None);
        let mut res = Pages::new().render(StatusCode::OK, "base.html", minijinja::context! {});
        assert!(
            res.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .ends_with("form-action 'self'")
        );
        allow_form_targets(&mut res, &["https://app.example".into()]);
        let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.ends_with("form-action 'self' https://app.example"),
            "{csp}"
        );
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
    }

    #[tokio::test]
    async fn templates_render_and_escape() {
        let pages = Pages::new();
        let res = pages.render(
            StatusCode::OK,
            "login.html",
            minijinja::context! {
                t => ctx_texts(&crate::i18n::NB), tenant => "<Acme>", step => "email",
                flow => "f", csrf => "c", base => "/t/acme", email => "\"><script>",
            },
        );
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("&lt;Acme&gt;") && !body.contains("<script>"),
            "{body}"
        );
        assert!(body.contains("Logg inn på") && body.contains("<label for=\"email\">"));
    }
}
