//! The redemption rules of the token endpoint, at the domain level on both backends, with a
//! frozen clock instead of sleeps: a code is single use and short-lived, and its reuse
//! revokes what it issued; a refresh token rotates, and replaying a rotated one revokes the
//! family; a device code answers slow_down before its interval and expired_token after its
//! lifetime; a device's assertion is single use by its jti and refused once expired.
//! (tests/ drives the same rules over HTTP against the real daemon.)

use std::sync::Arc;

use crate::common::{drop_pg, insert_user, stores, tenant_with_old_keys};
use idpd::clock::{self, Frozen};
use idpd::crypto::MasterKey;
use idpd::domain::cache::ClientCache;
use idpd::domain::clients::{self, ClientRecord};
use idpd::domain::devices;
use idpd::domain::keys::KeyRing;
use idpd::domain::login::Session;
use idpd::domain::oauth::authorize::AuthorizationRequest;
use idpd::domain::oauth::device_code::{self, Timing};
use idpd::domain::oauth::token::{Ctx, TokenResponse};
use idpd::domain::oauth::{ErrorCode, code, jwt_bearer};
use idpd::domain::tenants::Tenant;
use idpd::store::Store;
use shared::admin::CreateClient;
use time::Duration;

const REDIRECT: &str = "https://rp.test/cb";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct World {
    store: Arc<dyn Store>,
    ring: KeyRing,
    clients: ClientCache,
    tenant: Tenant,
    client: ClientRecord,
    session: Session,
}

impl World {
    async fn new(store: Arc<dyn Store>) -> World {
        let master = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
        let tenant = tenant_with_old_keys(store.as_ref(), &master, "acme").await;
        let (client, _) = clients::create(
            store.as_ref(),
            &tenant,
            CreateClient {
                name: "app".into(),
                client_id: Some("app".into()),
                public: true,
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![],
                grant_types: vec![
                    "authorization_code".into(),
                    "refresh_token".into(),
                    clients::GRANT_DEVICE_CODE.into(),
                    clients::GRANT_JWT_BEARER.into(),
                ],
                scopes: vec![],
                access_token_ttl_seconds: None,
                id_token_alg: None,
            },
        )
        .await
        .expect("client");
        let user = insert_user(store.as_ref(), tenant.id, "a@example.com").await;
        let (session, _) = Session::new(&tenant, user.id, "native", &["otp"]);
        store.insert_session(&session).await.expect("session");
        World {
            ring: KeyRing::new(master),
            clients: ClientCache::new(),
            store,
            tenant,
            client,
            session,
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            store: self.store.as_ref(),
            ring: &self.ring,
            clients: &self.clients,
            tenant: &self.tenant,
            issuer: "https://idp.test/t/acme",
            auth_failure_limit: 0,
        }
    }

    async fn code(&self) -> String {
        let req = AuthorizationRequest {
            client_id: self.client.client_id.clone(),
            redirect_uri: REDIRECT.into(),
            scope: vec!["openid".into(), "offline_access".into()],
            state: None,
            nonce: None,
            code_challenge: CHALLENGE.into(),
            prompt_none: false,
            prompt_login: false,
            max_age: None,
            login_hint: None,
            ui_locales: vec![],
        };
        code::issue_code(&self.ctx(), &req, &self.session)
            .await
            .expect("code")
    }

    async fn exchange(&self, c: &str) -> Result<TokenResponse, ErrorCode> {
        code::exchange_code(&self.ctx(), &self.client, c, Some(REDIRECT), Some(VERIFIER))
            .await
            .map_err(|e| e.code)
    }

    async fn refresh(&self, rt: &str) -> Result<TokenResponse, ErrorCode> {
        code::refresh(&self.ctx(), &self.client, rt, None)
            .await
            .map_err(|e| e.code)
    }
}

/// Runs `scenario` on every backend with a clock frozen at the real now.
async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(World, Frozen) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for (store, pg, _dir) in stores().await {
        let clock = Frozen::new(clock::now());
        clock::at(&clock, async {
            let world = World::new(store).await;
            scenario(world, clock.clone()).await;
        })
        .await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}

#[tokio::test]
async fn a_code_is_single_use_and_its_replay_revokes_what_it_issued() {
    each_backend(|w, _clock| async move {
        let c = w.code().await;
        let first = w.exchange(&c).await.expect("first redemption");
        let rt = first
            .refresh_token
            .expect("offline_access gives a refresh token");
        assert_eq!(w.exchange(&c).await.unwrap_err(), ErrorCode::InvalidGrant);
        // RFC 9700 §4.5: the replay revokes the tokens the code gave.
        assert_eq!(w.refresh(&rt).await.unwrap_err(), ErrorCode::InvalidGrant);
    })
    .await;
}

#[tokio::test]
async fn a_code_lives_one_minute() {
    each_backend(|w, clock| async move {
        let c = w.code().await;
        clock.advance(Duration::seconds(59));
        let late = w.code().await;
        w.exchange(&c).await.expect("59 s old: still valid");
        clock.advance(Duration::seconds(61));
        assert_eq!(
            w.exchange(&late).await.unwrap_err(),
            ErrorCode::InvalidGrant
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    each_backend(|w, clock| async move {
        let c = w.code().await;
        let rt1 = w.exchange(&c).await.unwrap().refresh_token.unwrap();
        clock.advance(Duration::minutes(5));
        let rt2 = w.refresh(&rt1).await.unwrap().refresh_token.unwrap();
        assert_ne!(rt1, rt2, "rotated");
        // The old one again: refused, and the family with it (RFC 9700 §4.14.2).
        assert_eq!(w.refresh(&rt1).await.unwrap_err(), ErrorCode::InvalidGrant);
        assert_eq!(w.refresh(&rt2).await.unwrap_err(), ErrorCode::InvalidGrant);
    })
    .await;
}

#[tokio::test]
async fn device_codes_pace_their_polls_and_expire() {
    each_backend(|w, clock| async move {
        let timing = Timing {
            ttl_seconds: 600,
            interval_seconds: 5,
        };
        let poll = |dc: String| {
            let w = &w;
            async move {
                device_code::poll(&w.ctx(), &w.client, &dc)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code)
            }
        };
        let a = device_code::authorize_device(&w.ctx(), &w.client, Some("openid"), timing, None)
            .await
            .expect("device authorization");
        assert_eq!(
            poll(a.device_code.clone()).await,
            Err(ErrorCode::AuthorizationPending),
            "the first poll may come at once"
        );
        clock.advance(Duration::seconds(4));
        assert_eq!(poll(a.device_code.clone()).await, Err(ErrorCode::SlowDown));
        // slow_down adds 5 s to the interval (RFC 8628 §3.5): 10 s from now.
        clock.advance(Duration::seconds(9));
        assert_eq!(poll(a.device_code.clone()).await, Err(ErrorCode::SlowDown));
        clock.advance(Duration::seconds(15));
        assert_eq!(
            poll(a.device_code.clone()).await,
            Err(ErrorCode::AuthorizationPending)
        );
        clock.advance(Duration::seconds(600));
        assert_eq!(poll(a.device_code).await, Err(ErrorCode::ExpiredToken));
    })
    .await;
}

/// A device key of the world's user, registered, and assertions signed with it (RFC 7523).
struct DeviceKey {
    key: aws_lc_rs::signature::Ed25519KeyPair,
    device_id: String,
}

impl DeviceKey {
    async fn register(w: &World) -> DeviceKey {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        use base64::Engine;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let x = b64(key.public_key().as_ref());
        let binding = devices::Binding {
            issuer: w.ctx().issuer,
            access_token: "the request's access token",
        };
        let header = serde_json::json!({"alg": "EdDSA", "typ": devices::PROOF_TYP});
        let claims = serde_json::json!({
            "aud": binding.issuer, "ath": devices::access_token_hash(binding.access_token),
            "iat": clock::now().unix_timestamp(), "jti": "registration-1",
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let proof = format!("{input}.{}", b64(key.sign(input.as_bytes()).as_ref()));
        let device = devices::register(
            w.store.as_ref(),
            &w.tenant,
            binding,
            w.session.user_id,
            devices::Registration {
                name: "box".into(),
                platform: "linux".into(),
                public_key: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                proof: Some(proof),
            },
        )
        .await
        .expect("device");
        DeviceKey {
            key,
            device_id: device.id.to_string(),
        }
    }

    /// An assertion with `jti`, valid for a minute from the clock's now.
    fn assertion(&self, w: &World, jti: &str) -> String {
        use base64::Engine;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let now = clock::now().unix_timestamp();
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": self.device_id, "sub": w.session.user_id.to_string(),
            "aud": format!("{}/token", w.ctx().issuer), "iat": now, "exp": now + 60, "jti": jti,
        });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64(sig.as_ref()))
    }
}

#[tokio::test]
async fn a_device_assertion_is_single_use_and_expires() {
    each_backend(|w, clock| async move {
        let device = DeviceKey::register(&w).await;
        let grant = |assertion: String| {
            let w = &w;
            async move {
                jwt_bearer::grant(&w.ctx(), &w.client, &assertion, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code)
            }
        };
        let first = device.assertion(&w, "jti-1");
        assert_eq!(grant(first.clone()).await, Ok(()));
        assert_eq!(
            grant(first.clone()).await,
            Err(ErrorCode::InvalidGrant),
            "the same jti again"
        );
        // Still refused while its exp (plus leeway) has not passed.
        clock.advance(Duration::seconds(80));
        assert_eq!(grant(first).await, Err(ErrorCode::InvalidGrant));
        // A fresh assertion works; once expired (60 s + 30 s leeway), it does not.
        let second = device.assertion(&w, "jti-2");
        clock.advance(Duration::seconds(91));
        assert_eq!(grant(second).await, Err(ErrorCode::InvalidGrant));
        assert_eq!(grant(device.assertion(&w, "jti-3")).await, Ok(()));
    })
    .await;
}

/// A weak Ed25519 key stored before registration refused them (issue 16): the identity as
/// the key, with the forgery `R` = identity, `S` = 0 that verifies under it for any message.
/// The grant must not take it.
#[tokio::test]
async fn a_small_order_device_key_signs_nothing_in() {
    each_backend(|w, _clock| async move {
        use base64::Engine;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let device = devices::Device {
            id: uuid::Uuid::now_v7(),
            tenant_id: w.tenant.id,
            user_id: w.session.user_id,
            name: "forged".into(),
            platform: "linux".into(),
            alg: shared::admin::Alg::EdDSA,
            public_jwk: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&identity)}),
            public_key: identity.to_vec(),
            created_at: clock::now(),
            last_used_at: None,
            revoked_at: None,
        };
        w.store.insert_device(&device).await.expect("device");
        let now = clock::now().unix_timestamp();
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": device.id.to_string(), "sub": w.session.user_id.to_string(),
            "aud": format!("{}/token", w.ctx().issuer), "iat": now, "exp": now + 60,
            "jti": "forged-1",
        });
        let mut forged = identity.to_vec();
        forged.extend([0u8; 32]);
        let assertion = format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(&forged)
        );
        let got = jwt_bearer::grant(&w.ctx(), &w.client, &assertion, None)
            .await
            .map(|_| ())
            .map_err(|e| e.code);
        assert_eq!(got, Err(ErrorCode::InvalidGrant));
    })
    .await;
}
