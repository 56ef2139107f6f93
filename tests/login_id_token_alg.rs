//! Per-client ID-token algorithm: RS256 unless the client registered another; a tenant
//! without a key of that algorithm gets one, and the ID token verifies against the JWKS.

use idp_tests::browser::{Browser, REDIRECT, acme_with_web_client, login, pkce, token};
use idp_tests::{Backend, Value, both_backends, http_client, json, setup};

both_backends!(clients_choose_their_id_token_algorithm);

async fn clients_choose_their_id_token_algorithm(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    idp_tests::oauth::install_crypto_provider();
    let jwks_url = format!("{}/t/acme/jwks", idpd.public_url());
    let cases = [
        ("EdDSA", jsonwebtoken::Algorithm::EdDSA, "OKP"),
        ("ES256", jsonwebtoken::Algorithm::ES256, "EC"),
    ];
    for (alg, jwt_alg, kty) in cases {
        let (st, c) = idpd
            .api()
            .send(
                reqwest::Method::PATCH,
                &format!("/tenants/acme/clients/{client_id}"),
                Some(json!({"id_token_alg": alg})),
            )
            .await;
        assert_eq!(st, 200, "{c}");
        assert_eq!(c["id_token_alg"], alg);
        let mut b = Browser::new(idpd);
        let (verifier, challenge) = pkce();
        let q = login(&mut b, idpd, &client_id, &challenge, "alg@example.com").await;
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
        let id_token = t["id_token"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(id_token).unwrap();
        assert_eq!(header.alg, jwt_alg);
        let jwks: jsonwebtoken::jwk::JwkSet = http_client()
            .get(&jwks_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwk = jwks
            .find(header.kid.as_deref().unwrap())
            .expect("the signing key is published");
        let raw: Value = serde_json::to_value(jwk).unwrap();
        assert_eq!(raw["kty"], kty);
        let mut v = jsonwebtoken::Validation::new(jwt_alg);
        v.set_audience(&[&client_id]);
        v.validate_exp = true;
        let claims = jsonwebtoken::decode::<Value>(
            id_token,
            &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
            &v,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["email"], "alg@example.com");
    }
}
