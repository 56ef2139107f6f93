//! Automatic key rotation against a real store (SQLite, and PostgreSQL when
//! `IDP_TEST_POSTGRES_URL` is set): due keys are replaced once, even when several instances
//! run the job at the same moment.

use std::sync::Arc;

use idpd::crypto::MasterKey;
use idpd::domain::keys::{self, KeyRecord};
use idpd::domain::tenants::{self, Tenant};
use idpd::store::{self, Store};
use shared::admin::{Alg, SameSite, SessionSettings, SignupPolicy};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

async fn stores() -> Vec<(Arc<dyn Store>, Option<String>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![(
        store::connect(&format!("sqlite://{}/idpd.db", dir.path().display()))
            .await
            .unwrap(),
        None,
        dir,
    )];
    if let Some(admin) = std::env::var("IDP_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        use sqlx::Connection;
        let name = format!("idp_test_{}", Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        out.push((
            store::connect(&url).await.unwrap(),
            Some(name),
            tempfile::tempdir().unwrap(),
        ));
    } else {
        eprintln!("PostgreSQL part skipped: IDP_TEST_POSTGRES_URL is not set");
    }
    out
}

async fn drop_pg(name: &str) {
    use sqlx::Connection;
    let admin = std::env::var("IDP_TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

/// A tenant whose keys were made two hours ago, rotating every hour.
async fn tenant_with_old_keys(store: &dyn Store, master: &MasterKey, slug: &str) -> Tenant {
    let id = Uuid::now_v7();
    let two_hours_ago = tenants::now() - Duration::hours(2);
    let keys: Vec<KeyRecord> = keys::initial_keys(master, id)
        .unwrap()
        .into_iter()
        .map(|k| KeyRecord {
            created_at: two_hours_ago,
            activates_at: two_hours_ago,
            ..k
        })
        .collect();
    let t = Tenant {
        id,
        slug: slug.into(),
        display_name: slug.into(),
        locales: vec!["en".into()],
        session: SessionSettings {
            cookie_name: tenants::default_cookie_name(id, None),
            cookie_domain: None,
            ttl_seconds: 3600,
            idle_ttl_seconds: 600,
            same_site: SameSite::Lax,
        },
        signup_policy: SignupPolicy::Open,
        default_provider: tenants::NATIVE_PROVIDER.into(),
        access_token_alg: Alg::ES256,
        key_rotation_interval_seconds: Some(3600),
        created_at: two_hours_ago,
        updated_at: two_hours_ago,
    };
    store.insert_tenant(&t, &keys).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_keys_rotate_once_across_instances() {
    let master = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    for (store, pg, _dir) in stores().await {
        let due = tenant_with_old_keys(store.as_ref(), &master, "due").await;
        let mut fresh = tenant_with_old_keys(store.as_ref(), &master, "fresh").await;
        // "fresh" rotates only every 3 hours: its 2-hour-old keys are not due.
        fresh.key_rotation_interval_seconds = Some(3 * 3600);
        store.update_tenant(&fresh).await.unwrap();

        // Three "instances" run the job at once.
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let (store, master) = (store.clone(), master.clone());
                tokio::spawn(
                    async move { keys::rotate_due(store.as_ref(), &master).await.unwrap() },
                )
            })
            .collect();
        let mut made = 0;
        for r in runs {
            made += r.await.unwrap();
        }
        assert_eq!(
            made, 2,
            "one new RS256 and one new ES256 key, not one per instance"
        );

        let now = OffsetDateTime::now_utc();
        let views = keys::lifecycle(&store.list_keys(due.id).await.unwrap(), now);
        for alg in [Alg::RS256, Alg::ES256] {
            let of_alg: Vec<_> = views.iter().filter(|v| v.record.alg == alg).collect();
            assert_eq!(of_alg.len(), 2, "{alg:?}");
            let next = of_alg
                .iter()
                .find(|v| v.record.created_at > now - Duration::minutes(1))
                .unwrap();
            assert_eq!(
                next.state,
                shared::admin::KeyState::Next,
                "published before it signs"
            );
            assert!(
                next.record.activates_at
                    >= now + Duration::seconds(keys::DEFAULT_PREPUBLISH_SECONDS - 5)
            );
        }
        assert_eq!(store.list_keys(fresh.id).await.unwrap().len(), 2, "not due");
        // Nothing more is due now.
        assert_eq!(keys::rotate_due(store.as_ref(), &master).await.unwrap(), 0);

        store.close().await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}
