//! Purging expired login records on both backends: what expired before the cut-off goes,
//! the rest stays.

use std::sync::Arc;

use crate::common::{drop_pg, insert_user, stores, tenant_with_old_keys};
use idpd::crypto::MasterKey;
use idpd::domain::login::{LoginFlow, Session};
use idpd::domain::oauth::authorize::AuthorizationRequest;

use time::Duration;

fn request() -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: "web".into(),
        redirect_uri: "https://rp.test/cb".into(),
        scope: vec!["openid".into()],
        state: None,
        nonce: None,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        prompt_none: false,
        prompt_login: false,
        max_age: None,
        login_hint: None,
        ui_locales: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_login_records_are_purged() {
    let master = Arc::new(MasterKey::from_bytes(&[3u8; 32]));
    for (store, pg, _dir) in stores().await {
        let tenant = tenant_with_old_keys(store.as_ref(), &master, "acme").await;
        let now = idpd::clock::now();
        let (mut old_flow, _) = LoginFlow::new(tenant.id, request());
        old_flow.expires_at = now - Duration::days(2);
        let (fresh_flow, _) = LoginFlow::new(tenant.id, request());
        store.insert_flow(&old_flow).await.unwrap();
        store.insert_flow(&fresh_flow).await.unwrap();

        let user = insert_user(store.as_ref(), tenant.id, "a@example.com").await;
        let (mut old_session, old_token) = Session::new(&tenant, user.id, "native", &["otp"]);
        old_session.expires_at = now - Duration::days(2);
        let (fresh_session, fresh_token) = Session::new(&tenant, user.id, "native", &["otp"]);
        store.insert_session(&old_session).await.unwrap();
        store.insert_session(&fresh_session).await.unwrap();

        let purged = store
            .purge_expired(idpd::clock::now() - Duration::days(1))
            .await
            .unwrap();
        assert_eq!(purged, 2, "one flow and one session");
        assert!(
            store
                .find_flow(tenant.id, old_flow.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find_flow(tenant.id, fresh_flow.id)
                .await
                .unwrap()
                .is_some()
        );
        let digest = |t: &str| idpd::crypto::sha256(t.as_bytes());
        assert!(
            store
                .find_session(tenant.id, &digest(&old_token))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find_session(tenant.id, &digest(&fresh_token))
                .await
                .unwrap()
                .is_some()
        );

        store.close().await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}
