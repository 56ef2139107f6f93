//! Every page flow in a real browser: headless Chromium (driven over WebDriver, see
//! `support/chrome.rs`) submits the real forms with its own headers, and a standard relying
//! party (the openidconnect crate: discovery, PKCE, code exchange, ID token verification)
//! sits at the other end. Flows: e-mail code login to the client's redirect URI and the token
//! exchange, SSO on a second authorization, `prompt=login`, the magic link opened in the same
//! browser, RP-initiated logout with and without confirmation, a cross-site form POST
//! (refused), device verification (approve and deny), a brokered login through an upstream
//! provider, and all of it on `http://localhost` and an `https://localhost` public URL with a
//! throw-away certificate. Each page is kept as a screenshot (see the test output).

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::Html;
use idp_tests::browser::{mail_body, mailed_code, outbox_mails, query};
use idp_tests::chrome::Chrome;
use idp_tests::devices::{daemon_client, device_authorization, poll};
use idp_tests::upstream::{FakeUpstream, add_provider};
use idp_tests::{Backend, Idpd, Setup, TestDb, both_backends, json};
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};

both_backends!(
    email_login_sso_magic_link_and_logout,
    login_page_speaks_the_asked_language,
    device_verification_approve_and_deny,
    brokered_login_through_an_upstream,
    sign_in_on_an_https_public_url,
);

/// The example application the browser signs in to: its redirect URI records what arrives,
/// its post-logout page says goodbye, and `/attack` is another site's page that posts a form
/// to idpd.
#[derive(Clone, Default)]
struct AppState {
    callbacks: Arc<Mutex<Vec<HashMap<String, String>>>>,
    attack_target: Arc<Mutex<String>>,
}

struct App {
    base: String,
    state: AppState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl App {
    async fn start() -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::default();
        let router = axum::Router::new()
            .route("/cb", axum::routing::get(callback))
            .route("/bye", axum::routing::get(bye))
            .route("/attack", axum::routing::get(attack))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        App { base, state, task }
    }

    fn redirect_uri(&self) -> String {
        format!("{}/cb", self.base)
    }

    fn last_callback(&self) -> HashMap<String, String> {
        self.state
            .callbacks
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a callback arrived")
    }
}

async fn callback(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Html<String> {
    let what = if q.contains_key("code") {
        "received an authorization code".to_owned()
    } else {
        format!("error {}", q.get("error").cloned().unwrap_or_default())
    };
    s.callbacks.lock().unwrap().push(q);
    Html(format!(
        "<!doctype html><title>Example app</title><h1>Example app</h1><p>Back from sign-in: {what}</p>"
    ))
}

async fn bye(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let state = q.get("state").cloned().unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Example app</title><h1>Example app</h1><p id=bye>Signed out ({state})</p>"
    ))
}

/// A page of another site: a form posting to idpd's e-mail step, without a CSRF token.
async fn attack(State(s): State<AppState>) -> Html<String> {
    let (target, flow) = s
        .attack_target
        .lock()
        .unwrap()
        .split_once(' ')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><title>Win a prize</title><form method=post action=\"{target}\">\
         <input type=hidden name=flow value=\"{flow}\">\
         <input type=hidden name=email value=\"victim@example.com\">\
         <button id=go type=submit>Claim</button></form>"
    ))
}

/// A relying party as the openidconnect crate builds it from discovery.
type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// openidconnect's HTTP client contract over our reqwest (DEPENDENCIES.md, pitfall 3).
async fn oidc_http(
    c: &reqwest::Client,
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let mut rb = c.request(parts.method, parts.uri.to_string()).body(body);
    for (k, v) in parts.headers.iter() {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await?;
    let mut b = openidconnect::http::Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers() {
        b = b.header(k, v);
    }
    Ok(b.body(resp.bytes().await?.to_vec())
        .expect("valid response"))
}

/// The application's side of one sign-in: the authorization URL it sends the browser to, and
/// what it keeps to check the answer.
struct Attempt {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

struct Relying {
    rp: Rp,
    http: reqwest::Client,
    issuer: String,
}

impl Relying {
    /// Discovery of `issuer` and a client for `client_id` redirecting to the app.
    async fn discover(http: reqwest::Client, issuer: &str, client_id: &str, app: &App) -> Relying {
        let hc = |r| oidc_http(&http, r);
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.into()).unwrap(), &hc)
                .await
                .expect("discovery");
        let rp =
            CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), None)
                .set_redirect_uri(RedirectUrl::new(app.redirect_uri()).unwrap());
        Relying {
            rp,
            http: http.clone(),
            issuer: issuer.into(),
        }
    }

    fn attempt(&self, prompt: Option<CoreAuthPrompt>, extra: &[(&str, &str)]) -> Attempt {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge);
        if let Some(p) = prompt {
            req = req.add_prompt(p);
        }
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = req.url();
        Attempt {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// Checks the redirect (state, RFC 9207 `iss`), redeems the code with the PKCE verifier
    /// and verifies the ID token (signature, iss, aud, exp, nonce); returns its claims and
    /// the raw ID token.
    async fn finish(&self, a: Attempt, q: &HashMap<String, String>) -> (CoreIdTokenClaims, String) {
        assert_eq!(q.get("state"), Some(a.state.secret()), "{q:?}");
        assert_eq!(q.get("iss"), Some(&self.issuer), "{q:?}");
        let code = q.get("code").unwrap_or_else(|| panic!("no code: {q:?}"));
        let hc = |r| oidc_http(&self.http, r);
        let tokens = self
            .rp
            .exchange_code(AuthorizationCode::new(code.clone()))
            .expect("token endpoint")
            .set_pkce_verifier(a.verifier)
            .request_async(&hc)
            .await
            .expect("code exchange");
        assert!(
            tokens.refresh_token().is_some(),
            "offline_access gives a refresh token"
        );
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token
            .claims(&self.rp.id_token_verifier(), &a.nonce)
            .expect("the ID token verifies")
            .clone();
        (claims, id_token.to_string())
    }
}

/// idpd on a loopback port named by `scheme_and_host` (e.g. `http://localhost`), with a
/// 1-second device poll interval and loopback upstreams allowed.
async fn start_idpd(backend: Backend, scheme_and_host: &str, extra: &[String]) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let db = TestDb::new(backend, &data).await;
    let mut b = Idpd::builder(&data, &db.url)
        .own_public_url_at(scheme_and_host)
        .arg("--allow-loopback-upstreams")
        .arg("--device-poll-interval")
        .arg("1");
    for a in extra {
        b = b.arg(a.clone());
    }
    Setup {
        idpd: b.start(),
        db,
        dir,
    }
}

/// Tenant acme and a public web client of the app (RS256 ID tokens, the openidconnect
/// crate's default); returns its client_id.
async fn acme_client(idpd: &Idpd, app: &App) -> String {
    let api = idpd.api();
    let (st, t) = api
        .create_tenant(json!({"name": "Acme", "slug": "acme"}))
        .await;
    assert_eq!(st, 201, "{t}");
    let (st, c) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/clients",
            Some(json!({
                "name": "Example app", "public": true, "id_token_alg": "RS256",
                "redirect_uris": [app.redirect_uri()],
                "post_logout_redirect_uris": [format!("{}/bye", app.base)],
            })),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["client"]["client_id"].as_str().unwrap().to_owned()
}

fn public_base(idpd: &Idpd, scheme_and_host: &str) -> String {
    format!("{scheme_and_host}:{}", idpd.public.port())
}

/// What every browser test starts with: a browser, idpd on `scheme_and_host`, the app with
/// its client at tenant acme, and the app's relying party from discovery (over `http`).
struct Scene {
    chrome: Chrome,
    s: Setup,
    app: App,
    issuer: String,
    rp: Relying,
}

impl Scene {
    /// `None` (skipped) without Chromium.
    async fn start(
        backend: Backend,
        name: &str,
        scheme_and_host: &str,
        extra: &[String],
        http: reqwest::Client,
    ) -> Option<Scene> {
        let chrome = Chrome::start(&format!("{name}-{backend:?}")).await?;
        let s = start_idpd(backend, scheme_and_host, extra).await;
        let app = App::start().await;
        let client_id = acme_client(&s.idpd, &app).await;
        let issuer = format!("{}/t/acme", public_base(&s.idpd, scheme_and_host));
        let rp = Relying::discover(http, &issuer, &client_id, &app).await;
        Some(Scene {
            chrome,
            s,
            app,
            issuer,
            rp,
        })
    }
}

/// The browser is on the login page: types `email`, sends, reads the mailed code, types it
/// and sends; screenshots on the way (`label` prefixes their names).
async fn enter_email_and_code(chrome: &mut Chrome, idpd: &Idpd, email: &str, label: &str) {
    let seen = outbox_mails(idpd, email).len();
    chrome
        .wait_for_url("the login page", |u| u.contains("/t/acme/login?flow="))
        .await;
    chrome.shot(&format!("{label}-email")).await;
    chrome.type_into("#email", email).await;
    chrome.click("button[type=submit]").await;
    // The code step: the browser's own POST (Origin, Sec-Fetch-Site) was accepted.
    chrome.find("#code").await;
    chrome.shot(&format!("{label}-code")).await;
    let code = mailed_code(idpd, email, seen).await;
    chrome.type_into("#code", &code).await;
    chrome.click("button[type=submit]").await;
}

/// Waits for the browser to land on the app's redirect URI; the query that arrived.
async fn at_app(chrome: &mut Chrome, app: &App, label: &str) -> HashMap<String, String> {
    let url = chrome
        .wait_for_url("the app's redirect URI", |u| {
            u.starts_with(&app.redirect_uri())
        })
        .await;
    chrome.shot(label).await;
    let q = query(&url);
    assert_eq!(q, app.last_callback(), "the app saw what the browser shows");
    q
}

async fn email_login_sso_magic_link_and_logout(backend: Backend) {
    let http = idp_tests::http_client();
    let Some(Scene {
        mut chrome,
        s,
        app,
        issuer,
        rp,
    }) = Scene::start(backend, "email-login", "http://localhost", &[], http).await
    else {
        return;
    };
    let idpd = &s.idpd;
    let email = "ada@example.com";

    // 1. E-mail code login, the browser's own form posts, to the app; the app redeems.
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    enter_email_and_code(&mut chrome, idpd, email, "login").await;
    let q = at_app(&mut chrome, &app, "app-after-login").await;
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(claims.email().map(|e| e.as_str()), Some(email));
    let first_auth = claims.auth_time().expect("auth_time");

    // 2. SSO: a second authorization goes straight back to the app, same user.
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    let q = at_app(&mut chrome, &app, "app-after-sso").await;
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(
        claims.auth_time(),
        Some(first_auth),
        "no new authentication"
    );
    let sub = claims.subject().clone();

    // 3. prompt=login: the login page again, a new authentication.
    let a = rp.attempt(Some(CoreAuthPrompt::Login), &[]);
    chrome.goto(&a.url).await;
    enter_email_and_code(&mut chrome, idpd, email, "prompt-login").await;
    let q = at_app(&mut chrome, &app, "app-after-prompt-login").await;
    let (claims, id_token) = rp.finish(a, &q).await;
    assert_eq!(claims.subject(), &sub);

    // 4. RP-initiated logout with an id_token_hint: no confirmation, back to the app.
    let logout = format!(
        "{issuer}/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
        url_encode(&format!("{}/bye", app.base))
    );
    chrome.goto(&logout).await;
    let url = chrome
        .wait_for_url("the app's goodbye page", |u| u.contains("/bye"))
        .await;
    assert_eq!(query(&url).get("state").map(String::as_str), Some("bye-1"));
    chrome.shot("app-after-logout").await;
    assert_signed_out(&mut chrome, &rp, &app).await;

    // 5. The magic link of the mail, opened in the same browser.
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    let seen = outbox_mails(idpd, email).len();
    chrome
        .wait_for_url("the login page", |u| u.contains("/t/acme/login?flow="))
        .await;
    chrome.type_into("#email", email).await;
    chrome.click("button[type=submit]").await;
    chrome.find("#code").await;
    mailed_code(idpd, email, seen).await;
    let link = magic_link(&outbox_mails(idpd, email)[seen]);
    assert!(link.starts_with(&issuer), "{link}");
    chrome.goto(&link).await;
    let q = at_app(&mut chrome, &app, "app-after-magic-link").await;
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(claims.subject(), &sub);

    // 6. Logout without a hint: a confirmation page whose form the browser posts.
    chrome.goto(&format!("{issuer}/logout")).await;
    chrome.find("form[action$='/logout'] button").await;
    chrome.shot("logout-confirm").await;
    chrome.click("form[action$='/logout'] button").await;
    chrome.wait_for_text("You are signed out.").await;
    chrome.shot("logout-done").await;
    assert_signed_out(&mut chrome, &rp, &app).await;

    // 7. Another site's page posts to the e-mail step of a flow of this browser (no CSRF
    //    token; the browser sends the attacker's Origin and Sec-Fetch-Site: cross-site):
    //    refused, and no mail goes out.
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    let login = chrome
        .wait_for_url("the login page", |u| u.contains("/t/acme/login?flow="))
        .await;
    let flow = query(&login)["flow"].clone();
    *app.state.attack_target.lock().unwrap() = format!("{issuer}/login/email {flow}");
    chrome.goto(&format!("{}/attack", app.base)).await;
    chrome.click("#go").await;
    chrome
        .wait_for_url("the refused post", |u| u.ends_with("/login/email"))
        .await;
    chrome.wait_for_text("The form could not be verified").await;
    chrome.shot("cross-site-post-refused").await;
    assert!(outbox_mails(idpd, "victim@example.com").is_empty());
}

/// `prompt=none` comes back with `login_required`: the browser's session has ended.
async fn assert_signed_out(chrome: &mut Chrome, rp: &Relying, app: &App) {
    let a = rp.attempt(Some(CoreAuthPrompt::None), &[]);
    chrome.goto(&a.url).await;
    let url = chrome
        .wait_for_url("the app's redirect URI", |u| {
            u.starts_with(&app.redirect_uri())
        })
        .await;
    let q = query(&url);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{q:?}"
    );
    assert_eq!(q.get("state"), Some(a.state.secret()));
}

/// The sign-in link of a mail.
fn magic_link(mail: &str) -> String {
    mail_body(mail)
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|s| s.starts_with("http") && s.contains("/login/link?"))
        .expect("the magic link")
        .replace("&amp;", "&")
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The login page as Chromium renders it, in English and with `ui_locales=nb` in Norwegian.
async fn login_page_speaks_the_asked_language(backend: Backend) {
    let http = idp_tests::http_client();
    // `_s` and `_app` keep idpd and the app running to the end of the test.
    let Some(Scene {
        mut chrome,
        rp,
        s: _s,
        app: _app,
        ..
    }) = Scene::start(backend, "login-languages", "http://localhost", &[], http).await
    else {
        return;
    };
    for (extra, lang, heading, label) in [
        (None, "en", "Sign in to Acme", "Email address"),
        (Some("nb"), "nb", "Logg inn på Acme", "E-postadresse"),
    ] {
        let extra: Vec<(&str, &str)> = extra.map(|l| ("ui_locales", l)).into_iter().collect();
        chrome.goto(&rp.attempt(None, &extra).url).await;
        chrome
            .wait_for_url("the login page", |u| u.contains("/t/acme/login?flow="))
            .await;
        let dom = chrome.source().await;
        assert!(dom.contains(&format!("<html lang=\"{lang}\">")), "{dom}");
        assert!(dom.contains(heading), "{dom}");
        assert!(
            dom.contains(&format!("<label for=\"email\">{label}</label>")),
            "{dom}"
        );
        assert!(dom.contains("action=\"/t/acme/login/email\""), "{dom}");
        // The page Chromium shows is the login page of a flow it owns: a CSRF token is there.
        assert!(
            dom.contains("name=\"csrf\"") && dom.contains("name=\"flow\""),
            "{dom}"
        );
        chrome.shot(&format!("login-{lang}")).await;
    }
}

async fn device_verification_approve_and_deny(backend: Backend) {
    let Some(mut chrome) = Chrome::start(&format!("device-{backend:?}")).await else {
        return;
    };
    let host = "http://localhost";
    let s = start_idpd(backend, host, &[]).await;
    let idpd = &s.idpd;
    let client_id = daemon_client(idpd, "acme").await;

    // Approve: the user types the code shown by the device, signs in, confirms.
    let (st, da) = device_authorization(idpd, "acme", &client_id, "openid offline_access").await;
    assert_eq!(st, 200, "{da}");
    let verification_uri = da["verification_uri"].as_str().unwrap();
    assert!(verification_uri.starts_with("http://localhost:"), "{da}");
    chrome.goto(verification_uri).await;
    enter_email_and_code(&mut chrome, idpd, "dev@example.com", "device-login").await;
    chrome
        .wait_for_url("the device page", |u| u.contains("/t/acme/device"))
        .await;
    chrome.find("#user_code").await;
    chrome.shot("device-enter-code").await;
    chrome
        .type_into("#user_code", da["user_code"].as_str().unwrap())
        .await;
    chrome.click("button[type=submit]").await;
    chrome.find("button[value=approve]").await;
    chrome.shot("device-confirm").await;
    chrome.click("button[value=approve]").await;
    chrome.wait_for_text("Done. Return to your device.").await;
    assert!(!chrome.has("button[value=approve]").await);
    chrome.shot("device-approved").await;
    let (st, t) = poll(idpd, &client_id, da["device_code"].as_str().unwrap()).await;
    assert_eq!(st, 200, "{t}");
    assert!(
        t["access_token"].is_string() && t["refresh_token"].is_string(),
        "{t}"
    );

    // Deny: the link with the code in it, already signed in.
    let (st, da) = device_authorization(idpd, "acme", &client_id, "openid").await;
    assert_eq!(st, 200, "{da}");
    chrome
        .goto(da["verification_uri_complete"].as_str().unwrap())
        .await;
    // The code is filled in; the user checks it against the device and continues.
    let filled = chrome.source().await;
    assert!(
        filled.contains(da["user_code"].as_str().unwrap()),
        "{filled}"
    );
    chrome.click("button[type=submit]").await;
    chrome.find("button[value=deny]").await;
    chrome.click("button[value=deny]").await;
    chrome.wait_for_text("The request was denied.").await;
    assert!(!chrome.has("button[value=deny]").await);
    chrome.shot("device-denied").await;
    let (st, t) = poll(idpd, &client_id, da["device_code"].as_str().unwrap()).await;
    assert_eq!(
        (st, t["error"].as_str()),
        (400, Some("access_denied")),
        "{t}"
    );
}

async fn brokered_login_through_an_upstream(backend: Backend) {
    let http = idp_tests::http_client();
    let Some(Scene {
        mut chrome,
        s,
        app,
        issuer,
        rp,
    }) = Scene::start(backend, "brokered", "http://localhost", &[], http).await
    else {
        return;
    };
    let up = FakeUpstream::start("idp-at-corp", "corp-secret-0123456789").await;
    up.set(|b| b.email = Some("grace@corp.example".into()));
    let (st, p) = add_provider(&s.idpd, "acme", "corp", &up, json!({"default": true})).await;
    assert_eq!(st, 201, "{p}");

    // The browser goes to the upstream, which answers at once, then to idpd's callback for
    // this provider, then to the app.
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    let q = at_app(&mut chrome, &app, "app-after-brokered-login").await;
    let seen = up.seen();
    assert_eq!(
        seen.authorize.get("redirect_uri").map(String::as_str),
        Some(format!("{issuer}/callback/corp").as_str())
    );
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("grace@corp.example")
    );

    // Routed by the address typed on the login page: the form's POST is answered with a
    // redirect to the upstream, which the page's CSP `form-action` must allow (browsers
    // check every redirect after a form post; issue 16).
    let api = s.idpd.api();
    let (st, _) = api
        .send(
            reqwest::Method::POST,
            "/tenants/acme/providers/native/default",
            None,
        )
        .await;
    assert!(st == 200 || st == 204, "{st}");
    let (st, _) = api
        .send(
            reqwest::Method::PATCH,
            "/tenants/acme/providers/corp",
            Some(json!({"email_domains": ["corp.example"]})),
        )
        .await;
    assert_eq!(st, 200);
    // Signed out as far as idpd knows: its cookies are gone.
    chrome
        .goto(&format!("{issuer}/.well-known/openid-configuration"))
        .await;
    chrome.clear_cookies().await;
    let a = rp.attempt(None, &[]);
    chrome.goto(&a.url).await;
    chrome
        .wait_for_url("the login page", |u| u.contains("/t/acme/login?flow="))
        .await;
    chrome.shot("routed-login-email").await;
    chrome.type_into("#email", "grace@corp.example").await;
    chrome.click("button[type=submit]").await;
    let q = at_app(&mut chrome, &app, "app-after-routed-login").await;
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("grace@corp.example")
    );
}

/// The e-mail code login and the token exchange with an `https://localhost` public URL
/// (idpd serving TLS with a throw-away certificate): the session cookie is `__Host-` and
/// `Secure`, the forms' POSTs carry the https origin.
async fn sign_in_on_an_https_public_url(backend: Backend) {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command (scripts/test-deps.sh installs it)");
    assert!(made.status.success(), "{made:?}");
    let tls = [
        "--tls-cert-file".to_owned(),
        cert.display().to_string(),
        "--tls-key-file".to_owned(),
        key.display().to_string(),
    ];
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let Some(Scene {
        mut chrome,
        s,
        app,
        issuer,
        rp,
    }) = Scene::start(backend, "https", "https://localhost", &tls, https).await
    else {
        return;
    };
    let idpd = &s.idpd;

    let a = rp.attempt(None, &[]);
    assert!(a.url.starts_with("https://localhost:"), "{}", a.url);
    chrome.goto(&a.url).await;
    enter_email_and_code(&mut chrome, idpd, "tls@example.com", "https-login").await;
    let q = at_app(&mut chrome, &app, "app-after-https-login").await;
    let (claims, _) = rp.finish(a, &q).await;
    assert_eq!(claims.email().map(|e| e.as_str()), Some("tls@example.com"));

    // The browser holds the session in a host-only, Secure cookie.
    chrome.goto(&format!("{issuer}/logout")).await;
    let cookies = chrome.cookies().await;
    let session = cookies
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with("__Host-")))
        .unwrap_or_else(|| panic!("a __Host- session cookie: {cookies:?}"));
    assert_eq!(session["secure"], true, "{session}");
    assert_eq!(session["httpOnly"], true, "{session}");
    chrome.shot("https-logout-confirm").await;
    chrome.click("form[action$='/logout'] button").await;
    chrome.wait_for_text("You are signed out.").await;
    assert!(!chrome.has("form[action$='/logout']").await);
}
