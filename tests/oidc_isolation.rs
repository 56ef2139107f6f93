//! Cross-tenant isolation (SEC-14): two tenants with a client of the same client_id accept
//! neither each other's credentials nor tokens, and publish disjoint keys.

use std::collections::HashSet;

use idp_tests::oauth::{self, Op, Verifier};
use idp_tests::{Backend, both_backends, json, setup};
use jsonwebtoken::Algorithm;

both_backends!(tenants_with_the_same_client_id_are_isolated);

async fn tenants_with_the_same_client_id_are_isolated(backend: Backend) {
    let s = setup(backend).await;
    let api = s.idpd.api();
    oauth::create_tenant(&api, "alpha").await;
    oauth::create_tenant(&api, "beta").await;
    let a = oauth::service_client(&api, "alpha", Some("svc")).await;
    let b = oauth::service_client(&api, "beta", Some("svc")).await;
    assert_eq!(a.id, b.id);
    let (opa, opb) = (Op::new(&s.idpd, "alpha"), Op::new(&s.idpd, "beta"));
    let (va, vb) = (Verifier::new(&opa).await, Verifier::new(&opb).await);
    assert_ne!(va.issuer, vb.issuer);

    // A's credentials at B's token endpoint.
    opb.client_credentials(&a.basic(), None)
        .await
        .assert_invalid_client_basic();
    opb.client_credentials(&a.post(), None)
        .await
        .assert_invalid_client_no_challenge();

    let ta = opa.access_token(&a).await;
    let tb = opb.access_token(&b).await;
    assert!(opa.active(&a, &ta).await && opb.active(&b, &tb).await);

    // A's token at B's introspection, with B's credentials (same client_id): inactive; and
    // the other way round.
    assert!(!opb.active(&b, &ta).await, "A's token is active at B");
    assert!(!opa.active(&a, &tb).await, "B's token is active at A");
    // A's credentials cannot introspect at B either.
    opb.introspect(&a.basic(), &tb)
        .await
        .assert_invalid_client_basic();

    // B's "svc" revoking A's token changes nothing at A.
    assert_eq!(opb.revoke(&b.basic(), &ta).await.status, 200);
    assert!(opa.active(&a, &ta).await, "revoked from another tenant");

    // Verification against the other tenant's JWKS and issuer fails.
    va.verify(&ta, Algorithm::ES256).await.unwrap();
    let err = vb.verify(&ta, Algorithm::ES256).await.unwrap_err();
    assert!(err.contains("not in the JWKS"), "{err}");

    // Disjoint key sets, also after a rotation in A.
    let check = |ka: Vec<String>, kb: Vec<String>| {
        let (sa, sb): (HashSet<_>, HashSet<_>) = (ka.iter().collect(), kb.iter().collect());
        assert_eq!(sa.len(), ka.len(), "duplicate kid in A: {ka:?}");
        assert_eq!(sb.len(), kb.len(), "duplicate kid in B: {kb:?}");
        assert!(sa.is_disjoint(&sb), "A: {ka:?}, B: {kb:?}");
    };
    let kb_before = opb.kids().await;
    check(opa.kids().await, kb_before.clone());
    let (status, key) = api
        .send(
            reqwest::Method::POST,
            "/tenants/alpha/keys/rotate",
            Some(json!({"alg": "ES256", "activate_in_seconds": 0})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let ka = opa.kids().await;
    assert!(ka.contains(&key["kid"].as_str().unwrap().to_owned()));
    assert_eq!(opb.kids().await, kb_before, "B's JWKS is untouched");
    check(ka, kb_before);
    // The admin API lists the key under A only.
    let (_, keys_b) = api
        .send(reqwest::Method::GET, "/tenants/beta/keys", None)
        .await;
    assert!(
        !keys_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == key["kid"]),
        "{keys_b}"
    );
    let ta2 = opa.access_token(&a).await;
    assert!(!opb.active(&b, &ta2).await);
}
