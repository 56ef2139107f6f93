//! Helpers of the store-level tests: a store per backend (SQLite always, PostgreSQL when
//! `IDP_TEST_POSTGRES_URL` is set) and a tenant to work in.

#![allow(dead_code)]

use std::sync::Arc;

use idpd::crypto::MasterKey;
use idpd::domain::keys::{self, KeyRecord};
use idpd::domain::tenants::{self, Tenant};
use idpd::domain::users::UserRecord;
use idpd::store::{self, Store};
use shared::admin::{Alg, SameSite, SessionSettings, SignupPolicy};
use time::Duration;
use uuid::Uuid;

pub async fn stores() -> Vec<(Arc<dyn Store>, Option<String>, tempfile::TempDir)> {
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

pub async fn drop_pg(name: &str) {
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
pub async fn tenant_with_old_keys(store: &dyn Store, master: &MasterKey, slug: &str) -> Tenant {
    tenant_with_old_keys_of(store, master, slug, &keys::ADVERTISED_ALGS).await
}

/// [`tenant_with_old_keys`] with keys of `algs` only (a tenant made by an older idpd).
pub async fn tenant_with_old_keys_of(
    store: &dyn Store,
    master: &MasterKey,
    slug: &str,
    algs: &[shared::admin::Alg],
) -> Tenant {
    let id = Uuid::now_v7();
    let two_hours_ago = idpd::clock::now() - Duration::hours(2);
    let keys: Vec<KeyRecord> = keys::initial_keys(master, id)
        .unwrap()
        .into_iter()
        .filter(|k| algs.contains(&k.alg))
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

/// Stores an enabled, verified user of `tenant_id` with `email`.
pub async fn insert_user(store: &dyn Store, tenant_id: Uuid, email: &str) -> UserRecord {
    let now = idpd::clock::now();
    let user = UserRecord {
        id: Uuid::now_v7(),
        tenant_id,
        email: email.into(),
        email_verified: true,
        name: None,
        locale: None,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    store.insert_user(&user).await.unwrap();
    user
}
