//! Storing an authorization code with its family on both backends: all or nothing. On SQLite
//! the two inserts and their transaction go to the writer as one script; a failure in either
//! must leave no row behind and the writer usable.

use std::sync::Arc;

use crate::common::{drop_pg, insert_user, stores, tenant_with_old_keys};
use idpd::crypto::MasterKey;
use idpd::domain::grants::{self, AuthCode, CodeRequest, Redemption, TokenFamily};

use uuid::Uuid;

fn family(tenant_id: Uuid, user_id: Uuid) -> TokenFamily {
    TokenFamily {
        id: Uuid::new_v4(),
        tenant_id,
        client_id: "web".into(),
        user_id,
        session_id: None,
        created_at: idpd::clock::now(),
        revoked_at: None,
        device_id: None,
    }
}

fn code(f: &TokenFamily) -> AuthCode {
    let request = CodeRequest {
        client_id: "web".into(),
        redirect_uri: "https://rp.test/cb".into(),
        scope: vec!["openid".into()],
        nonce: None,
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        session_id: Uuid::new_v4(),
        amr: vec!["otp".into()],
        idp: None,
    };
    grants::new_code(f.tenant_id, f.id, request, idpd::clock::now()).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_stored_with_its_family_or_not_at_all() {
    let master = Arc::new(MasterKey::from_bytes(&[3u8; 32]));
    for (store, pg, _dir) in stores().await {
        let tenant = tenant_with_old_keys(store.as_ref(), &master, "acme").await;
        let user = insert_user(store.as_ref(), tenant.id, "a@example.com").await;

        let first = family(tenant.id, user.id);
        let first_code = code(&first);
        store.insert_code(&first, &first_code).await.unwrap();
        assert!(store.find_family(first.id).await.unwrap().is_some());

        // The second insert fails (the code's digest is taken): the family goes too.
        let second = family(tenant.id, user.id);
        let mut clash = code(&second);
        clash.digest = first_code.digest;
        assert!(store.insert_code(&second, &clash).await.is_err());
        assert!(store.find_family(second.id).await.unwrap().is_none());

        // The first insert fails (no such user): nothing is stored either.
        let orphan = family(tenant.id, Uuid::now_v7());
        let orphan_code = code(&orphan);
        assert!(store.insert_code(&orphan, &orphan_code).await.is_err());
        assert!(store.find_family(orphan.id).await.unwrap().is_none());

        // The writer is out of any transaction and keeps working.
        for _ in 0..3 {
            let f = family(tenant.id, user.id);
            let c = code(&f);
            store.insert_code(&f, &c).await.unwrap();
            let now = idpd::clock::now();
            match store.redeem_code(&c.digest, now).await.unwrap() {
                Redemption::Fresh(got) => assert_eq!(got.family_id, f.id),
                _ => panic!("a fresh code must redeem once"),
            }
            assert!(matches!(
                store.redeem_code(&c.digest, now).await.unwrap(),
                Redemption::Reused(_)
            ));
        }

        store.close().await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}
