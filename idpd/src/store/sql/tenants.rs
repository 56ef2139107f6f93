// `idp_tenants` and the default row of `idp_identity_providers`. (for every backend).

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Backend, Columns, Statement, WriteTx, rows};
use crate::model::keys::KeyRecord;
use crate::model::tenants::{NATIVE_PROVIDER, Tenant};
use crate::store::changes::Change;
use crate::store::{Result, StoreError, TenantStore, conflict};

macro_rules! select_tenants {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.slug, t.display_name, t.locales, t.cookie_name, t.cookie_domain, \
             t.session_ttl_seconds, t.idle_ttl_seconds, t.same_site, t.signup_policy, \
             t.created_at, t.updated_at, t.access_token_alg, t.key_rotation_interval_seconds, \
             p.name AS default_provider \
             FROM idp_tenants t \
             LEFT JOIN idp_identity_providers p ON p.tenant_id = t.id AND p.is_default = TRUE ",
            $where
        )
    };
}

#[async_trait]
impl<B: Backend> TenantStore for B {
    async fn insert_tenant(&self, t: &Tenant, keys: &[KeyRecord]) -> Result<Tenant> {
        let mut tx = self.begin_write().await?;
        Self::sql(
            "INSERT INTO idp_tenants (id, slug, display_name, locales, cookie_name, cookie_domain, \
             session_ttl_seconds, idle_ttl_seconds, same_site, signup_policy, created_at, updated_at, \
             access_token_alg, key_rotation_interval_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(t.id)
        .bind(&t.slug)
        .bind(&t.display_name)
        .bind(Json(&t.locales))
        .bind(&t.session.cookie_name)
        .bind(&t.session.cookie_domain)
        .bind(t.session.ttl_seconds)
        .bind(t.session.idle_ttl_seconds)
        .bind(rows::same_site(t.session.same_site))
        .bind(rows::signup_policy(t.signup_policy))
        .bind(t.created_at)
        .bind(t.updated_at)
        .bind(t.access_token_alg.as_str())
        .bind(t.key_rotation_interval_seconds)
        .execute(&mut tx)
        .await
        .map_err(conflict)?;
        Self::sql(
            "INSERT INTO idp_identity_providers \
             (id, tenant_id, name, kind, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, 'native', TRUE, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(t.id)
        .bind(NATIVE_PROVIDER)
        .bind(t.created_at)
        .bind(t.created_at)
        .execute(&mut tx)
        .await?;
        for k in keys {
            super::keys::insert_key::<B>(k).execute(&mut tx).await?;
        }
        tx.commit().await?;
        self.changes().publish(&Change::Tenant { tenant_id: t.id });
        self.changes().publish(&Change::Keys { tenant_id: t.id });
        Ok(Tenant {
            default_provider: NATIVE_PROVIDER.to_owned(),
            ..t.clone()
        })
    }

    async fn find_tenant_by_id(&self, id: Uuid) -> Result<Option<Tenant>> {
        let row = Self::sql(select_tenants!("WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn find_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        let row = Self::sql(select_tenants!("WHERE t.slug = $1"))
            .bind(slug)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn slugs_with_prefix(&self, base: &str) -> Result<Vec<String>> {
        let rows = Self::sql("SELECT slug FROM idp_tenants WHERE slug = $1 OR slug LIKE $2")
            .bind(base)
            .bind(rows::suffix_pattern(base))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("slug")?)).collect()
    }

    async fn list_tenants(&self, after: Option<&str>, limit: u32) -> Result<Vec<Tenant>> {
        let rows = Self::sql(select_tenants!(
            "WHERE t.slug > $1 ORDER BY t.slug LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(rows::tenant).collect()
    }

    async fn count_tenants(&self) -> Result<u64> {
        let n: i64 = Self::sql("SELECT COUNT(*) AS n FROM idp_tenants")
            .fetch_one(self.reader())
            .await?
            .try_get("n")?;
        Ok(n.try_into().unwrap_or(0))
    }

    async fn update_tenant(&self, t: &Tenant) -> Result<Tenant> {
        let done = Self::sql(
            "UPDATE idp_tenants SET display_name = $1, locales = $2, cookie_name = $3, \
             cookie_domain = $4, session_ttl_seconds = $5, idle_ttl_seconds = $6, same_site = $7, \
             signup_policy = $8, updated_at = $9, access_token_alg = $10, \
             key_rotation_interval_seconds = $11 WHERE id = $12",
        )
        .bind(&t.display_name)
        .bind(Json(&t.locales))
        .bind(&t.session.cookie_name)
        .bind(&t.session.cookie_domain)
        .bind(t.session.ttl_seconds)
        .bind(t.session.idle_ttl_seconds)
        .bind(rows::same_site(t.session.same_site))
        .bind(rows::signup_policy(t.signup_policy))
        .bind(t.updated_at)
        .bind(t.access_token_alg.as_str())
        .bind(t.key_rotation_interval_seconds)
        .bind(t.id)
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.changes().publish(&Change::Tenant { tenant_id: t.id });
        self.find_tenant_by_id(t.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn delete_tenant(&self, id: Uuid) -> Result<()> {
        let done = Self::sql("DELETE FROM idp_tenants WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.changes().publish(&Change::Tenant { tenant_id: id });
        self.changes().publish(&Change::Keys { tenant_id: id });
        Ok(())
    }
}
