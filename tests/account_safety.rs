//! Issue 16 §3: account safety. Scopes removed from a client are not granted again by an old
//! grant; id_token_hint is honoured at /authorize; logout by hint needs the session's own
//! user; e-mail addresses are addr-specs; upstream accounts are not silently merged.

use idp_tests::browser::{Browser, acme_with_web_client, login, pkce, redeem, token};
use idp_tests::{Backend, both_backends, json, setup};

both_backends!(removed_scopes_do_not_survive_refresh);

/// SEC-25: after `client update --scope` narrows a client, its refresh tokens (and codes)
/// only ever yield the scopes it still has.
async fn removed_scopes_do_not_survive_refresh(backend: Backend) {
    let s = setup(backend).await;
    let idpd = &s.idpd;
    let client_id = acme_with_web_client(idpd).await;
    let (verifier, challenge) = pkce();
    let mut b = Browser::new(idpd);
    let q = login(&mut b, idpd, &client_id, &challenge, "ann@example.com").await;
    let (st, tokens) = redeem(idpd, &client_id, &q["code"], &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    assert_eq!(tokens["scope"], "openid email offline_access");

    let (st, c) = idpd
        .api()
        .send(
            reqwest::Method::PATCH,
            &format!("/tenants/acme/clients/{client_id}"),
            Some(json!({"scopes": ["openid", "offline_access"]})),
        )
        .await;
    assert_eq!(st, 200, "{c}");

    let refresh = |rt: String, scope: Option<&'static str>| {
        let client_id = client_id.clone();
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", rt),
                ("client_id", client_id),
            ];
            if let Some(scope) = scope {
                form.push(("scope", scope.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token(idpd, &form).await
        }
    };
    // Asking for the removed scope by name is refused (and does not spend the token)…
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (st, err) = refresh(rt.clone(), Some("openid email")).await;
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "invalid_scope");
    // …and a plain refresh grants only what the client still has.
    let (st, next) = refresh(rt, None).await;
    assert_eq!(st, 200, "{next}");
    assert_eq!(next["scope"], "openid offline_access");
    let (_, info) =
        idp_tests::browser::userinfo(idpd, next["access_token"].as_str().unwrap()).await;
    assert!(info.get("email").is_none(), "{info}");
}
