//! Order intake bookkeeping: which shops to sync, how far each shop's sync got, its webhook
//! endpoint and the credentials its adapter refreshes.

use crate::audit::insert_audit;
use crate::catalog::{SHOP_COLUMNS, ShopRow};
use crate::{Result, Store, StoreError, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::catalog::{Shop, ShopCredentials};
use fahuo_domain::{ShopId, TenantId};
use serde::Serialize;

/// How far a shop's incremental sync has got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncState {
    /// Every order the platform updated before this instant has been pulled.
    pub high_water: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last run failed, if it did (no PII: an error code and message of the platform).
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub orders_pulled: i64,
}

/// The right to run a shop's sync, held by one run at a time (see [`Store::claim_sync`]).
#[derive(Debug, PartialEq, Eq)]
pub struct SyncLease(String);

#[derive(sqlx::FromRow)]
struct SyncStateRow {
    high_water: Option<i64>,
    last_run_at: Option<i64>,
    last_success_at: Option<i64>,
    last_error: Option<String>,
    consecutive_failures: i64,
    orders_pulled: i64,
}

/// Inserts the shop's state row if missing, scoped to the tenant through `shops`; then the
/// caller's `UPDATE` applies again (see `Store::with_sync_state`). Two statements keep the SQL
/// the same on both backends.
const ENSURE_STATE: &str = "INSERT INTO shop_sync_state (shop_id, tenant_id) \
    SELECT id, tenant_id FROM shops WHERE tenant_id = $1 AND id = $2 \
    ON CONFLICT (shop_id) DO NOTHING";

impl Store {
    /// Every shop, of every tenant, whose orders fahuo pulls: platform shops with credentials
    /// that are not disabled. For the sync scheduler only.
    pub async fn shops_to_sync(&self) -> Result<Vec<Shop>> {
        let sql = format!(
            "SELECT {SHOP_COLUMNS} FROM shops WHERE platform <> 'manual' \
             AND credentials_enc IS NOT NULL AND status <> 'disabled' ORDER BY id"
        );
        let rows: Vec<ShopRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The shop a webhook is addressed to. Not tenant-scoped: the key in the URL is how a push
    /// names its shop, and the caller must verify the push's signature with that shop's
    /// secrets before trusting anything in it.
    pub async fn shop_by_webhook_key(&self, key: &str) -> Result<Option<Shop>> {
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE webhook_key = $1");
        let row: Option<ShopRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key).fetch_optional(pool).await?);
        row.map(TryInto::try_into).transpose()
    }

    /// Replaces a shop's credentials, e.g. after its adapter obtained or refreshed a token.
    pub async fn set_shop_credentials(
        &self,
        tenant: TenantId,
        shop: ShopId,
        credentials: &ShopCredentials,
    ) -> Result<()> {
        let blob = self.pii.encrypt_json(credentials);
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE shops SET credentials_enc = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(&blob).bind(tenant.get()).bind(shop.get())
            .execute(pool).await?.rows_affected());
        found(done)
    }

    /// Points a shop at its platform anew (new credentials, another API base URL), e.g. after
    /// the merchant re-authorised it; the shop is `pending` until its next sync succeeds.
    pub async fn connect_shop(
        &self,
        tenant: TenantId,
        shop: ShopId,
        api_base_url: Option<&str>,
        credentials: &ShopCredentials,
        audit: &AuditEntry,
    ) -> Result<()> {
        let blob = self.pii.encrypt_json(credentials);
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE shops SET credentials_enc = $1, api_base_url = $2, status = 'pending' \
                 WHERE tenant_id = $3 AND id = $4")
                .bind(&blob).bind(api_base_url).bind(tenant.get()).bind(shop.get())
                .execute(&mut *tx).await?.rows_affected();
            found(done)?;
            let mut entry = audit.clone();
            entry.entity_id = Some(shop.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// How far the shop's sync got; all empty before its first run.
    pub async fn sync_state(&self, tenant: TenantId, shop: ShopId) -> Result<SyncState> {
        let row: Option<SyncStateRow> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT high_water, last_run_at, last_success_at, last_error, consecutive_failures, \
                 orders_pulled FROM shop_sync_state WHERE tenant_id = $1 AND shop_id = $2")
            .bind(tenant.get()).bind(shop.get()).fetch_optional(pool).await?);
        Ok(row
            .map(|r| SyncState {
                high_water: opt_from_ms(r.high_water),
                last_run_at: opt_from_ms(r.last_run_at),
                last_success_at: opt_from_ms(r.last_success_at),
                last_error: r.last_error,
                consecutive_failures: r.consecutive_failures,
                orders_pulled: r.orders_pulled,
            })
            .unwrap_or_default())
    }

    /// Records that everything updated before `high_water` has been pulled, `pulled` orders
    /// more. The high-water mark never moves back, so overlapping syncs are harmless.
    pub async fn record_sync_progress(
        &self,
        tenant: TenantId,
        shop: ShopId,
        high_water: DateTime<Utc>,
        pulled: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let update = || async move {
            Ok::<_, StoreError>(on_db!(&self.db, pool => sqlx::query(
                    "UPDATE shop_sync_state SET high_water = CASE WHEN high_water IS NULL \
                     OR high_water < $1 THEN $1 ELSE high_water END, last_run_at = $2, \
                     last_success_at = $2, last_error = NULL, consecutive_failures = 0, \
                     orders_pulled = orders_pulled + $3 WHERE tenant_id = $4 AND shop_id = $5")
                .bind(ms(high_water)).bind(ms(now)).bind(pulled).bind(tenant.get()).bind(shop.get())
                .execute(pool).await?.rows_affected()))
        };
        found(self.with_sync_state(tenant, shop, update).await?)
    }

    /// Records a failed sync run; the high-water mark stays where it was.
    pub async fn record_sync_failure(
        &self,
        tenant: TenantId,
        shop: ShopId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        let error = &error;
        let update = || async move {
            Ok::<_, StoreError>(on_db!(&self.db, pool => sqlx::query(
                    "UPDATE shop_sync_state SET last_run_at = $1, last_error = $2, \
                     consecutive_failures = consecutive_failures + 1 WHERE tenant_id = $3 AND shop_id = $4")
                .bind(ms(now)).bind(error).bind(tenant.get()).bind(shop.get())
                .execute(pool).await?.rows_affected()))
        };
        found(self.with_sync_state(tenant, shop, update).await?)
    }

    /// Takes the shop's sync lease until `until` unless another run holds it; `None` if it
    /// does. The returned token renews and releases it.
    pub async fn claim_sync(
        &self,
        tenant: TenantId,
        shop: ShopId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<SyncLease>> {
        let lease = SyncLease(crate::pii::random_token(16));
        let token = &lease.0;
        let update = || async move {
            Ok::<_, StoreError>(on_db!(&self.db, pool => sqlx::query(
                    "UPDATE shop_sync_state SET lease_owner = $1, lease_until = $2 \
                     WHERE tenant_id = $3 AND shop_id = $4 \
                     AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= $5)")
                .bind(token).bind(ms(until)).bind(tenant.get()).bind(shop.get()).bind(ms(now))
                .execute(pool).await?.rows_affected()))
        };
        let taken = self.with_sync_state(tenant, shop, update).await?;
        Ok((taken == 1).then_some(lease))
    }

    /// Extends a lease this run holds; `false` if it lapsed and another run took it.
    pub async fn renew_sync(
        &self,
        tenant: TenantId,
        shop: ShopId,
        lease: &SyncLease,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let renewed = on_db!(&self.db, pool => sqlx::query(
                "UPDATE shop_sync_state SET lease_until = $1 \
                 WHERE tenant_id = $2 AND shop_id = $3 AND lease_owner = $4")
            .bind(ms(until)).bind(tenant.get()).bind(shop.get()).bind(&lease.0)
            .execute(pool).await?.rows_affected());
        Ok(renewed == 1)
    }

    /// Gives the lease back (a no-op if it already passed to another run).
    pub async fn release_sync(
        &self,
        tenant: TenantId,
        shop: ShopId,
        lease: SyncLease,
    ) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "UPDATE shop_sync_state SET lease_owner = NULL, lease_until = NULL \
                 WHERE tenant_id = $1 AND shop_id = $2 AND lease_owner = $3")
            .bind(tenant.get()).bind(shop.get()).bind(&lease.0)
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Runs `update` on the shop's state row, creating the row first if the update found
    /// none. Returns the rows `update` touched. The row exists after a shop's first sync, so
    /// the insert (a write, even when it inserts nothing) runs about once per shop, not on
    /// every claim and every record of a run.
    async fn with_sync_state<F, Fut>(
        &self,
        tenant: TenantId,
        shop: ShopId,
        update: F,
    ) -> Result<u64>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<u64>>,
    {
        let touched = update().await?;
        if touched > 0 {
            return Ok(touched);
        }
        let created = on_db!(&self.db, pool => sqlx::query(ENSURE_STATE)
            .bind(tenant.get()).bind(shop.get()).execute(pool).await?.rows_affected());
        if created == 0 {
            // The row was there (the update's own condition failed) or the shop is not the
            // tenant's: either way the first answer stands.
            return Ok(touched);
        }
        update().await
    }
}

/// An update that touched no row means the shop is not the tenant's.
fn found(rows: u64) -> Result<()> {
    if rows == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
