//! The login seen by a standard relying-party library: the openidconnect crate parses our
//! discovery document, verifies the ID token against the JWKS (signature, iss, aud, exp,
//! nonce) and checks `at_hash` against the access token, for RS256, ES256 and EdDSA.

use idp_tests::browser::{Browser, REDIRECT, acme_with_web_client, login, pkce, token};
use idp_tests::{Backend, both_backends, http_client, json};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{AccessToken, AccessTokenHash, ClientId, IssuerUrl, Nonce};

both_backends!(openidconnect_relying_party_accepts_our_tokens);

async fn openidconnect_relying_party_accepts_our_tokens(backend: Backend) {
    let s = setup_acme(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let base = format!("{}/t/acme", idpd.public_url());

    let doc: serde_json::Value = http_client()
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let metadata: CoreProviderMetadata =
        serde_json::from_value(doc.clone()).expect("discovery parses as OIDC provider metadata");
    let issuer = metadata.issuer().clone();
    assert_eq!(issuer.as_str(), doc["issuer"].as_str().unwrap());

    for alg in ["RS256", "ES256", "EdDSA"] {
        let (st, c) = idpd
            .api()
            .send(
                reqwest::Method::PATCH,
                &format!("/tenants/acme/clients/{client_id}"),
                Some(json!({"id_token_alg": alg})),
            )
            .await;
        assert_eq!(st, 200, "{c}");
        let mut b = Browser::new(idpd);
        let (verifier, challenge) = pkce();
        let q = login(&mut b, idpd, &client_id, &challenge, "rp@example.com").await;
        let (st, t) = token(
            idpd,
            &[
                ("grant_type", "authorization_code"),
                ("code", &q["code"]),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &client_id),
            ],
        )
        .await;
        assert_eq!(st, 200, "{t}");

        // The JWKS as the library models it, fetched from our endpoint (the issuer names the
        // configured public URL; the test server listens elsewhere).
        let jwks: CoreJsonWebKeySet = http_client()
            .get(format!("{base}/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(client_id.clone()),
            IssuerUrl::new(issuer.as_str().to_owned()).unwrap(),
            jwks,
        )
        // The library allows RS256 only unless told otherwise; a client that registered
        // another algorithm configures its RP the same way.
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EdDsa,
        ]);
        let id_token: CoreIdToken = t["id_token"]
            .as_str()
            .unwrap()
            .parse()
            .expect("ID token parses");
        let claims = id_token
            .claims(&verifier, &Nonce::new("n-1".to_owned()))
            .unwrap_or_else(|e| panic!("{alg}: the RP rejects the ID token: {e}"));
        assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
        assert_eq!(claims.email_verified(), Some(true));
        assert!(claims.auth_time().is_some());
        let expected = claims.access_token_hash().expect("at_hash").clone();
        let actual = AccessTokenHash::from_token(
            &AccessToken::new(t["access_token"].as_str().unwrap().to_owned()),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(actual, expected, "{alg}: at_hash");
        // A wrong nonce is refused by the library, so the check above is real.
        assert!(
            id_token
                .claims(&verifier, &Nonce::new("other".to_owned()))
                .is_err()
        );
    }
}

async fn setup_acme(backend: Backend) -> idp_tests::Setup {
    idp_tests::setup(backend).await
}
