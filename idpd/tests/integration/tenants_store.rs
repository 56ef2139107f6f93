//! Session cookie names are unique across tenants (SEC-19, issue 16) on both backends: the
//! store's unique index compares them without one `__Host-`/`__Secure-` prefix and ignoring
//! case, whoever writes; the domain turns a refusal into a conflict that names the field.

use std::sync::Arc;

use crate::common::{drop_pg, stores, tenant_with_old_keys};
use idpd::crypto::MasterKey;
use idpd::domain::Error;
use idpd::domain::tenants::{self, TenantRules};
use idpd::store::StoreError;
use shared::admin::{CreateTenant, SessionSettingsPatch, UpdateTenant};

fn named(name: &str) -> Option<SessionSettingsPatch> {
    Some(SessionSettingsPatch {
        cookie_name: Some(name.into()),
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_names_are_unique_across_tenants() {
    let master = Arc::new(MasterKey::from_bytes(&[5u8; 32]));
    let rules = TenantRules {
        public_host: Some("login.example.com".into()),
        https: true,
    };
    for (store, pg, _dir) in stores().await {
        let s = store.as_ref();
        // The index itself, under the domain's feet.
        let mut a = tenant_with_old_keys(s, &master, "a").await;
        a.session.cookie_name = "sess".into();
        let a = s.update_tenant(&a).await.expect("a free name");
        let mut b = tenant_with_old_keys(s, &master, "b").await;
        for taken in [
            "sess",
            "SESS",
            "__Host-sess",
            "__Secure-Sess",
            "__host-SESS",
        ] {
            b.session.cookie_name = taken.into();
            match s.update_tenant(&b).await {
                Err(StoreError::Conflict { constraint }) => {
                    assert!(
                        constraint.contains("idp_tenants_cookie_key"),
                        "{constraint}"
                    )
                }
                other => panic!("{taken}: {other:?}"),
            }
        }
        b.session.cookie_name = "sess-b".into();
        s.update_tenant(&b).await.expect("another name");

        // Through the domain: create and update say what is wrong.
        let conflict = |r: Result<tenants::Tenant, Error>| match r {
            Err(Error::Conflict(m)) => assert!(m.contains("cookie_name"), "{m}"),
            other => panic!("{other:?}"),
        };
        let create = |name: Option<&str>, slug: Option<&str>| CreateTenant {
            name: "C".into(),
            slug: slug.map(Into::into),
            session: name.and_then(named),
            ..Default::default()
        };
        conflict(tenants::create(s, &rules, &master, create(Some("__Host-Sess"), None)).await);
        conflict(tenants::create(s, &rules, &master, create(Some("sess-b"), Some("c"))).await);
        let c = tenants::create(s, &rules, &master, create(None, Some("c")))
            .await
            .expect("a default name is free");
        let update = |name: &str| UpdateTenant {
            session: named(name),
            ..Default::default()
        };
        conflict(tenants::update(s, &rules, &master, "c", update("__Secure-SESS")).await);
        let mine = tenants::update(s, &rules, &master, "c", update("__Host-sess-c"))
            .await
            .expect("a free name");
        assert_eq!(mine.session.cookie_name, "__Host-sess-c");
        // Another tenant's default (derived from its id) and the flow cookies are not names
        // a tenant may take, even while free.
        for reserved in [
            tenants::default_cookie_name(a.id, None),
            format!("idp-{}", a.id.simple()),
            format!("__Host-idp-flow-{}", c.id.simple()),
        ] {
            match tenants::update(s, &rules, &master, "c", update(&reserved)).await {
                Err(Error::Invalid(f)) => assert_eq!(f[0].field, "session.cookie_name"),
                other => panic!("{reserved}: {other:?}"),
            }
        }
        tenants::update(
            s,
            &rules,
            &master,
            "c",
            update(&tenants::default_cookie_name(c.id, None)),
        )
        .await
        .expect("its own default");
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}
