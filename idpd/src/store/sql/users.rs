// `idp_users`. (for every backend).

use async_trait::async_trait;
use uuid::Uuid;

use super::{Backend, Statement, rows};
use crate::model::users::UserRecord;
use crate::store::{Result, StoreError, UserStore, conflict};

/// The insert of a user, also run inside other transactions (a user created with its
/// upstream link).
pub(super) fn insert_user<B: Backend>(u: &UserRecord) -> B::Stmt {
    B::sql(
        "INSERT INTO idp_users (id, tenant_id, email, email_verified, name, locale, disabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(u.id)
    .bind(u.tenant_id)
    .bind(&u.email)
    .bind(u.email_verified)
    .bind(&u.name)
    .bind(&u.locale)
    .bind(u.disabled)
    .bind(u.created_at)
    .bind(u.updated_at)
}

#[async_trait]
impl<B: Backend> UserStore for B {
    async fn insert_user(&self, u: &UserRecord) -> Result<()> {
        insert_user::<B>(u)
            .execute(self.writer())
            .await
            .map_err(conflict)?;
        Ok(())
    }

    async fn find_user(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<UserRecord>> {
        let row = Self::sql("SELECT * FROM idp_users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn find_user_by_email(&self, tenant_id: Uuid, email: &str) -> Result<Option<UserRecord>> {
        let row = Self::sql("SELECT * FROM idp_users WHERE tenant_id = $1 AND email = $2")
            .bind(tenant_id)
            .bind(email)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn list_users(
        &self,
        tenant_id: Uuid,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>> {
        let rows = Self::sql(
            "SELECT * FROM idp_users WHERE tenant_id = $1 AND email > $2 \
             ORDER BY email LIMIT $3",
        )
        .bind(tenant_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(rows::user).collect()
    }

    async fn update_user(&self, u: &UserRecord) -> Result<()> {
        let done = Self::sql(
            "UPDATE idp_users SET email = $1, email_verified = $2, name = $3, locale = $4, \
             disabled = $5, updated_at = $6 WHERE tenant_id = $7 AND id = $8",
        )
        .bind(&u.email)
        .bind(u.email_verified)
        .bind(&u.name)
        .bind(&u.locale)
        .bind(u.disabled)
        .bind(u.updated_at)
        .bind(u.tenant_id)
        .bind(u.id)
        .execute(self.writer())
        .await
        .map_err(conflict)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn delete_user(&self, tenant_id: Uuid, id: Uuid) -> Result<()> {
        let done = Self::sql("DELETE FROM idp_users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
