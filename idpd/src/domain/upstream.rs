//! idpd as a relying party toward a tenant's external OpenID Connect provider (the
//! openidconnect crate over our outbound client, SEC-15): discovery, the redirect with our
//! own state, nonce and PKCE S256, and the callback: code exchange, ID-token validation
//! (signature via the upstream JWKS, cached, one refetch on an unknown `kid`; RS256, ES256
//! and EdDSA only; `iss`, `aud`, `exp`, `nonce`), userinfo (its `sub` must equal the ID
//! token's), and the local user linked by (provider, upstream `sub`) (SEC-11, SEC-26).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration as StdDuration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, IssuerUrl, JsonWebKeySetUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse, TokenUrl, UserInfoUrl,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::login::LoginFlow;
use super::tenants::Tenant;
use super::users::{UserRecord, normalize_email};
use crate::clock::now;
use crate::crypto::{self, MasterKey};
use crate::model::providers::ProviderRecord;
pub use crate::model::upstream::{UpstreamLink, UpstreamLogin};
use crate::outbound::{Outbound, OutboundError};
use crate::store::{Store, StoreError};

/// How long a redirect to the upstream may take to come back.
pub const LOGIN_TTL: Duration = Duration::minutes(10);
/// How long a fetched JWKS is used before it is fetched again.
pub const JWKS_TTL: StdDuration = StdDuration::from_secs(300);
/// A refetch for an unknown `kid` at most this often per JWKS, so forged `kid`s cannot make
/// idpd hammer the upstream.
pub const JWKS_REFETCH_GAP: StdDuration = StdDuration::from_secs(10);
/// The amr of a session from an upstream login.
pub const AMR: &str = "fed";

/// Why a step with the upstream failed. `Display` is for logs and operators: it names
/// the check, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("JWKS: {0}")]
    Jwks(String),
    #[error("token exchange failed: {0}")]
    Exchange(String),
    #[error("ID token rejected: {0}")]
    IdToken(String),
    #[error("userinfo rejected: {0}")]
    Userinfo(String),
    #[error("account: {0}")]
    Account(String),
    #[error("provider misconfigured: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl UpstreamError {
    /// A short, stable reason for the audit line.
    pub fn reason(&self) -> &'static str {
        match self {
            UpstreamError::Unreachable(_) => "upstream_unreachable",
            UpstreamError::Discovery(_) => "discovery_failed",
            UpstreamError::Jwks(_) => "jwks_failed",
            UpstreamError::Exchange(_) => "code_exchange_failed",
            UpstreamError::IdToken(_) => "id_token_invalid",
            UpstreamError::Userinfo(_) => "userinfo_invalid",
            UpstreamError::Account(_) => "account_refused",
            UpstreamError::Config(_) => "provider_misconfigured",
            UpstreamError::Store(_) => "storage_unavailable",
        }
    }
}

fn from_outbound(e: OutboundError) -> UpstreamError {
    match e {
        OutboundError::Refused(_) | OutboundError::TooLarge => {
            UpstreamError::Discovery(e.to_string())
        }
        e => UpstreamError::Unreachable(e.to_string()),
    }
}

fn from_discovery(e: DiscoveryError<OutboundError>) -> UpstreamError {
    match e {
        DiscoveryError::Request(e) => from_outbound(e),
        DiscoveryError::Response(status, _, _) => {
            UpstreamError::Discovery(format!("the upstream answered HTTP {status}"))
        }
        DiscoveryError::Parse(e) => UpstreamError::Discovery(format!("unparsable document: {e}")),
        DiscoveryError::Validation(m) => UpstreamError::Discovery(m),
        e => UpstreamError::Discovery(e.to_string()),
    }
}

/// The outbound client and the JWKS cache: one per process, in `AppState`.
pub struct Upstreams {
    pub outbound: Outbound,
    /// By JWKS URL: when it was fetched, and the keys.
    jwks: RwLock<HashMap<String, (Instant, CoreJsonWebKeySet)>>,
    /// By JWKS URL: the last refetch for an unknown `kid`.
    refetched: RwLock<HashMap<String, Instant>>,
}

/// Endpoints found by discovery.
pub struct Discovered {
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
}

/// Discovery of `issuer` (the openidconnect crate checks that the document's `issuer` is
/// exactly `issuer` and fetches the JWKS it names).
pub async fn discover(up: &Upstreams, issuer: &str) -> Result<Discovered, UpstreamError> {
    let issuer_url =
        IssuerUrl::new(issuer.to_owned()).map_err(|e| UpstreamError::Config(e.to_string()))?;
    let http = &up.outbound;
    let m = CoreProviderMetadata::discover_async(issuer_url, http)
        .await
        .map_err(from_discovery)?;
    Ok(Discovered {
        authorization_endpoint: m.authorization_endpoint().to_string(),
        token_endpoint: m.token_endpoint().map(|t| t.to_string()),
        jwks_uri: m.jwks_uri().to_string(),
        userinfo_endpoint: m.userinfo_endpoint().map(|u| u.to_string()),
    })
}

impl Upstreams {
    pub fn new(allow_loopback: bool) -> Upstreams {
        Upstreams {
            outbound: Outbound::new(allow_loopback),
            jwks: RwLock::new(HashMap::new()),
            refetched: RwLock::new(HashMap::new()),
        }
    }

    async fn download_jwks(&self, uri: &str) -> Result<CoreJsonWebKeySet, UpstreamError> {
        let url = JsonWebKeySetUrl::new(uri.to_owned())
            .map_err(|e| UpstreamError::Config(e.to_string()))?;
        let http = &self.outbound;
        let set =
            CoreJsonWebKeySet::fetch_async(&url, http)
                .await
                .map_err(|e| match from_discovery(e) {
                    UpstreamError::Discovery(m) => UpstreamError::Jwks(m),
                    other => other,
                })?;
        self.jwks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri.to_owned(), (Instant::now(), set.clone()));
        Ok(set)
    }

    /// Fetches the JWKS now (for `provider test`); returns how many keys it holds.
    pub async fn fetch_jwks(&self, uri: &str) -> Result<usize, UpstreamError> {
        Ok(self.download_jwks(uri).await?.keys().len())
    }

    /// The cached JWKS, fetched when absent or older than [`JWKS_TTL`].
    async fn jwks(&self, uri: &str) -> Result<CoreJsonWebKeySet, UpstreamError> {
        let cached = self
            .jwks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(uri)
            .filter(|(at, _)| at.elapsed() < JWKS_TTL)
            .map(|(_, s)| s.clone());
        match cached {
            Some(s) => Ok(s),
            None => self.download_jwks(uri).await,
        }
    }

    /// The JWKS again after an unknown `kid`, unless such a refetch happened moments ago.
    async fn refetch_jwks(&self, uri: &str) -> Result<Option<CoreJsonWebKeySet>, UpstreamError> {
        {
            let mut last = self.refetched.write().unwrap_or_else(|e| e.into_inner());
            if last
                .get(uri)
                .is_some_and(|at| at.elapsed() < JWKS_REFETCH_GAP)
            {
                return Ok(None);
            }
            last.insert(uri.to_owned(), Instant::now());
        }
        self.download_jwks(uri).await.map(Some)
    }

    /// Drops the cached keys after a provider's settings changed (rare: all of them).
    pub fn forget_jwks(&self) {
        self.jwks.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl UpstreamLogin {
    pub fn live(&self) -> bool {
        self.consumed_at.is_none() && self.expires_at > crate::clock::now()
    }
}

fn issuer_url(p: &ProviderRecord) -> Result<IssuerUrl, UpstreamError> {
    IssuerUrl::new(p.config.issuer.clone()).map_err(|e| UpstreamError::Config(e.to_string()))
}

fn url_of<T>(
    field: &str,
    v: &str,
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
) -> Result<T, UpstreamError> {
    make(v.to_owned()).map_err(|e| UpstreamError::Config(format!("{field}: {e}")))
}

/// Starts a login at the upstream for `flow` and stores its transaction (state, nonce, PKCE
/// verifier bound to the provider and the flow, SEC-26); returns the URL to send the
/// browser to.
pub async fn start(
    store: &dyn Store,
    p: &ProviderRecord,
    flow: &LoginFlow,
    redirect_uri: &str,
    login_hint: Option<&str>,
) -> Result<String, UpstreamError> {
    let (txn, url) = begin(p, flow, redirect_uri, login_hint)?;
    store.insert_upstream_login(&txn).await?;
    Ok(url)
}

/// The stored transaction of tenant `tenant_id` named by the `state` of an upstream's
/// answer, if any (looked up by digest).
pub async fn find_transaction(
    store: &dyn Store,
    tenant_id: Uuid,
    state: &str,
) -> Result<Option<UpstreamLogin>, StoreError> {
    store
        .find_upstream_login(tenant_id, &crypto::sha256(state.as_bytes()))
        .await
}

/// Uses up a transaction: `false` when it was used already or has expired (single use).
pub async fn consume_transaction(
    store: &dyn Store,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    store.consume_upstream_login(id, now).await
}

/// Starts a login at the upstream for `flow`: returns the transaction to store and the URL
/// to send the browser to.
pub fn begin(
    p: &ProviderRecord,
    flow: &LoginFlow,
    redirect_uri: &str,
    login_hint: Option<&str>,
) -> Result<(UpstreamLogin, String), UpstreamError> {
    let state = crypto::random_id::<32>();
    let nonce = crypto::random_id::<32>();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = CoreClient::new(
        ClientId::new(p.config.client_id.clone()),
        issuer_url(p)?,
        CoreJsonWebKeySet::new(Vec::new()),
    )
    .set_auth_uri(url_of(
        "authorization_endpoint",
        &p.config.authorization_endpoint,
        AuthUrl::new,
    )?)
    .set_redirect_uri(url_of("redirect_uri", redirect_uri, RedirectUrl::new)?);
    let (s, n) = (state.clone(), nonce.clone());
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(s),
            move || Nonce::new(n),
        )
        .set_pkce_challenge(challenge);
    for s in p.config.scopes.iter().filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.clone()));
    }
    if let Some(h) = login_hint {
        req = req.set_login_hint(openidconnect::LoginHint::new(h.to_owned()));
    }
    // What the client asked of the login holds upstream too: a fresh authentication, a
    // maximum age, the user's languages (OIDC Core §3.1.2.1).
    if flow.request.prompt_login {
        req = req.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    if let Some(m) = flow.request.max_age.and_then(|m| u64::try_from(m).ok()) {
        req = req.set_max_age(StdDuration::from_secs(m));
    }
    for l in &flow.request.ui_locales {
        req = req.add_ui_locale(openidconnect::LanguageTag::new(l.clone()));
    }
    let (url, _, _) = req.url();
    let at = now();
    let txn = UpstreamLogin {
        id: Uuid::new_v4(),
        tenant_id: flow.tenant_id,
        provider_id: p.id,
        flow_id: flow.id,
        state_digest: crypto::sha256(state.as_bytes()),
        nonce,
        pkce_verifier: verifier.secret().clone(),
        created_at: at,
        expires_at: at + LOGIN_TTL,
        consumed_at: None,
    };
    Ok((txn, url.to_string()))
}

/// What the upstream says about the user, each pair from one signed source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub locale: Option<String>,
}

fn allowed_algs() -> [CoreJwsSigningAlgorithm; 3] {
    [
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]
}

/// Exchanges `code` and validates what comes back; returns the upstream identity.
pub async fn exchange(
    up: &Upstreams,
    master: &MasterKey,
    p: &ProviderRecord,
    txn: &UpstreamLogin,
    code: &str,
    redirect_uri: &str,
) -> Result<UpstreamIdentity, UpstreamError> {
    let secret = p
        .client_secret(master)
        .ok_or_else(|| UpstreamError::Config("the client secret cannot be opened".into()))?;
    let issuer = issuer_url(p)?;
    let client_id = ClientId::new(p.config.client_id.clone());
    let client = CoreClient::new(
        client_id.clone(),
        issuer.clone(),
        CoreJsonWebKeySet::new(Vec::new()),
    )
    .set_client_secret(ClientSecret::new(secret))
    .set_auth_uri(url_of(
        "authorization_endpoint",
        &p.config.authorization_endpoint,
        AuthUrl::new,
    )?)
    .set_token_uri(url_of(
        "token_endpoint",
        &p.config.token_endpoint,
        TokenUrl::new,
    )?)
    .set_redirect_uri(url_of("redirect_uri", redirect_uri, RedirectUrl::new)?);
    let http = &up.outbound;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(txn.pkce_verifier.clone()))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::Request(e) => from_outbound(e),
            RequestTokenError::ServerResponse(r) => {
                UpstreamError::Exchange(format!("the upstream refused the code: {}", r.error()))
            }
            RequestTokenError::Parse(e, _) => {
                UpstreamError::Exchange(format!("unparsable token response: {e}"))
            }
            e => UpstreamError::Exchange(e.to_string()),
        })?;
    let id_token = token
        .id_token()
        .ok_or_else(|| UpstreamError::IdToken("the token response has no id_token".into()))?;
    let nonce = Nonce::new(txn.nonce.clone());
    let verify = |jwks: CoreJsonWebKeySet| {
        let verifier =
            CoreIdTokenVerifier::new_public_client(client_id.clone(), issuer.clone(), jwks)
                .set_allowed_algs(allowed_algs());
        id_token.claims(&verifier, &nonce).cloned()
    };
    let claims = match verify(up.jwks(&p.config.jwks_uri).await?) {
        // A key the cached set does not have: the upstream may have rotated. Fetch once more.
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => match up.refetch_jwks(&p.config.jwks_uri).await? {
            Some(jwks) => verify(jwks),
            None => Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )),
        },
        other => other,
    }
    .map_err(|e| UpstreamError::IdToken(super::error::chain(&e)))?;
    let subject = claims.subject().to_string();
    let first_name = |n: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserName>>| {
        n.and_then(|n| n.get(None)).map(|n| n.to_string())
    };
    let mut identity = UpstreamIdentity {
        subject: subject.clone(),
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: first_name(claims.name()),
        locale: claims.locale().map(|l| l.to_string()),
    };
    if let Some(u) = &p.config.userinfo_endpoint {
        let info: CoreUserInfoClaims = client
            .set_user_info_url(url_of("userinfo_endpoint", u, UserInfoUrl::new)?)
            .user_info(
                AccessToken::new(token.access_token().secret().clone()),
                Some(claims.subject().clone()),
            )
            .request_async(http)
            .await
            .map_err(|e| UpstreamError::Userinfo(super::error::chain(&e)))?;
        // Checked by the library already (expected subject); kept explicit for the reader.
        if info.subject().as_str() != subject {
            return Err(UpstreamError::Userinfo(
                "its sub differs from the ID token's".into(),
            ));
        }
        // The address and its verification come from one source: the ID token's if it has
        // one, else userinfo's (never one's flag applied to the other's address).
        if identity.email.is_none() {
            identity.email = info.email().map(|e| e.to_string());
            identity.email_verified = info.email_verified().unwrap_or(false);
        }
        identity.name = identity.name.or_else(|| first_name(info.name()));
        identity.locale = identity
            .locale
            .or_else(|| info.locale().map(|l| l.to_string()));
    }
    Ok(identity)
}

/// The local user for an upstream identity: the linked one, else (first login) one linked
/// now, only for an address the upstream asserts as verified and (when the provider has
/// e-mail domains) within them: an existing user with the same address only when the
/// provider allows e-mail linking and the local address is verified (SEC-26); otherwise a
/// new user. User and link are written in one transaction.
pub async fn local_user(
    store: &dyn Store,
    tenant: &Tenant,
    p: &ProviderRecord,
    id: &UpstreamIdentity,
) -> Result<UserRecord, UpstreamError> {
    let refuse = |m: &str| Err(UpstreamError::Account(m.to_owned()));
    if let Some(user_id) = store.find_upstream_link(p.id, &id.subject).await? {
        return match store.find_user(tenant.id, user_id).await? {
            Some(u) if u.disabled => refuse("the local user is disabled"),
            Some(u) => Ok(u),
            None => refuse("the linked user is gone"),
        };
    }
    let Some(email) = id.email.as_deref() else {
        return refuse("the upstream sent no email address");
    };
    let Ok(email) = normalize_email(email) else {
        return refuse("the upstream sent an invalid email address");
    };
    // SEC-26: an address the upstream does not vouch for, or one outside the domains the
    // provider is for, never becomes (or reaches) a local account: whoever holds the real
    // mailbox would later sign in to the same account natively.
    if !id.email_verified {
        return refuse("the upstream does not assert email_verified");
    }
    if !p.config.email_domains.is_empty() && !p.routes_email(&email) {
        return refuse("the address is outside the provider's email domains");
    }
    let at = now();
    let link = UpstreamLink {
        provider_id: p.id,
        subject: id.subject.clone(),
        tenant_id: tenant.id,
        user_id: Uuid::nil(),
        created_at: at,
    };
    if let Some(u) = store.find_user_by_email(tenant.id, &email).await? {
        if !p.config.link_by_email {
            return refuse("a local user has this address and the provider does not link by email");
        }
        if !u.email_verified {
            return refuse("the local address is not verified");
        }
        if u.disabled {
            return refuse("the local user is disabled");
        }
        store
            .link_upstream(
                None,
                &UpstreamLink {
                    user_id: u.id,
                    ..link
                },
            )
            .await?;
        return Ok(u);
    }
    let locale = id
        .locale
        .as_deref()
        .and_then(|l| super::locales::canonical_tag(l).ok());
    let name = id
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| {
            !n.is_empty()
                && n.chars().count() <= super::users::MAX_NAME_CHARS
                && !n.chars().any(char::is_control)
        })
        .map(str::to_owned);
    let u = UserRecord {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        email,
        email_verified: true,
        name,
        locale,
        disabled: false,
        created_at: at,
        updated_at: at,
    };
    match store
        .link_upstream(
            Some(&u),
            &UpstreamLink {
                user_id: u.id,
                ..link
            },
        )
        .await
    {
        Ok(()) => Ok(u),
        // A concurrent first login of the same upstream user won.
        Err(StoreError::Conflict { .. }) => {
            match store.find_upstream_link(p.id, &id.subject).await? {
                Some(uid) => store
                    .find_user(tenant.id, uid)
                    .await?
                    .filter(|u| !u.disabled)
                    .ok_or_else(|| UpstreamError::Account("the linked user is gone".into())),
                None => refuse("a local user has this address"),
            }
        }
        Err(e) => Err(e.into()),
    }
}
