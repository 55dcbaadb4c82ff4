//! Shops (with encrypted credentials and label settings), warehouses, SKUs (with their tags)
//! and platform-SKU mappings.

use crate::audit::insert_audit;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::catalog::{
    GeoPoint, Shop, ShopCredentials, ShopSku, ShopStatus, SizeMm, Sku, Warehouse,
};
use fahuo_domain::{
    Barcode, Fen, Grams, Name, Platform, ShopId, ShopSkuId, SkuCode, SkuId, TenantId,
    WarehouseCode, WarehouseId,
};

/// A shop to connect.
#[derive(Debug, Clone)]
pub struct NewShop {
    pub platform: Platform,
    pub name: Name,
    pub platform_shop_id: String,
    pub api_base_url: Option<String>,
    pub credentials: Option<ShopCredentials>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ShopRow {
    id: i64,
    tenant_id: i64,
    platform: String,
    name: String,
    platform_shop_id: String,
    api_base_url: Option<String>,
    status: String,
    webhook_key: String,
    created_at: i64,
}

impl TryFrom<ShopRow> for Shop {
    type Error = StoreError;
    fn try_from(r: ShopRow) -> Result<Shop> {
        Ok(Shop {
            id: ShopId(r.id),
            tenant_id: TenantId(r.tenant_id),
            platform: Platform::parse(&r.platform)?,
            name: Name::parse(&r.name)?,
            platform_shop_id: r.platform_shop_id,
            api_base_url: r.api_base_url,
            status: ShopStatus::parse(&r.status)?,
            webhook_key: r.webhook_key,
            created_at: from_ms(r.created_at),
        })
    }
}

pub(crate) const SHOP_COLUMNS: &str = "id, tenant_id, platform, name, platform_shop_id, \
    api_base_url, status, COALESCE(webhook_key, '') AS webhook_key, created_at";

/// A warehouse to create.
#[derive(Debug, Clone)]
pub struct NewWarehouse {
    pub code: WarehouseCode,
    pub name: Name,
    pub province: String,
    pub city: String,
    pub county: String,
    pub address: String,
    pub location: Option<GeoPoint>,
}

#[derive(sqlx::FromRow)]
struct WarehouseRow {
    id: i64,
    tenant_id: i64,
    code: String,
    name: String,
    province: String,
    city: String,
    county: String,
    address: String,
    lat: Option<f64>,
    lng: Option<f64>,
    created_at: i64,
}

impl TryFrom<WarehouseRow> for Warehouse {
    type Error = StoreError;
    fn try_from(r: WarehouseRow) -> Result<Warehouse> {
        Ok(Warehouse {
            id: WarehouseId(r.id),
            tenant_id: TenantId(r.tenant_id),
            code: WarehouseCode::parse(&r.code)?,
            name: Name::parse(&r.name)?,
            province: r.province,
            city: r.city,
            county: r.county,
            address: r.address,
            location: r.lat.zip(r.lng).map(|(lat, lng)| GeoPoint { lat, lng }),
            created_at: from_ms(r.created_at),
        })
    }
}

const WAREHOUSE_COLUMNS: &str =
    "id, tenant_id, code, name, province, city, county, address, lat, lng, created_at";

/// A SKU to create.
#[derive(Debug, Clone)]
pub struct NewSku {
    pub code: SkuCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub weight: Grams,
    pub size: SizeMm,
    pub cost: Fen,
}

#[derive(sqlx::FromRow)]
struct SkuRow {
    id: i64,
    tenant_id: i64,
    code: String,
    name: String,
    barcode: Option<String>,
    weight_g: i64,
    length_mm: i64,
    width_mm: i64,
    height_mm: i64,
    cost_fen: i64,
    created_at: i64,
}

impl TryFrom<SkuRow> for Sku {
    type Error = StoreError;
    fn try_from(r: SkuRow) -> Result<Sku> {
        Ok(Sku {
            id: SkuId(r.id),
            tenant_id: TenantId(r.tenant_id),
            code: SkuCode::parse(&r.code)?,
            name: Name::parse(&r.name)?,
            barcode: r.barcode.as_deref().map(Barcode::parse).transpose()?,
            weight: Grams::new(r.weight_g)?,
            size: SizeMm {
                length: r.length_mm,
                width: r.width_mm,
                height: r.height_mm,
            },
            cost: Fen(r.cost_fen),
            created_at: from_ms(r.created_at),
        })
    }
}

const SKU_COLUMNS: &str = "id, tenant_id, code, name, barcode, weight_g, length_mm, width_mm, \
    height_mm, cost_fen, created_at";

fn conflict(what: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

impl Store {
    pub async fn create_shop(
        &self,
        tenant: TenantId,
        new: &NewShop,
        audit: &AuditEntry,
    ) -> Result<Shop> {
        let credentials = new.credentials.as_ref().map(|c| self.pii.encrypt_json(c));
        let webhook_key = crate::pii::random_token(16);
        let now = audit.at;
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO shops (tenant_id, platform, name, platform_shop_id, api_base_url, \
                 credentials_enc, status, webhook_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING id")
                .bind(tenant.get())
                .bind(new.platform.as_str())
                .bind(new.name.as_str())
                .bind(&new.platform_shop_id)
                .bind(new.api_base_url.as_deref())
                .bind(credentials.as_deref())
                .bind(ShopStatus::Pending.as_str())
                .bind(&webhook_key)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict(format!("shop {} on {} already exists", new.platform_shop_id, new.platform)))?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(Shop {
            id: ShopId(id),
            tenant_id: tenant,
            platform: new.platform,
            name: new.name.clone(),
            platform_shop_id: new.platform_shop_id.clone(),
            api_base_url: new.api_base_url.clone(),
            status: ShopStatus::Pending,
            webhook_key,
            created_at: now,
        })
    }

    pub async fn shop(&self, tenant: TenantId, id: ShopId) -> Result<Shop> {
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE tenant_id = $1 AND id = $2");
        let row: ShopRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        row.try_into()
    }

    pub async fn shops(&self, tenant: TenantId) -> Result<Vec<Shop>> {
        let sql = format!("SELECT {SHOP_COLUMNS} FROM shops WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<ShopRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The decrypted credentials of a shop, for its platform adapter only.
    pub async fn shop_credentials(
        &self,
        tenant: TenantId,
        id: ShopId,
    ) -> Result<Option<ShopCredentials>> {
        let blob: Option<Vec<u8>> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT credentials_enc FROM shops WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        blob.map(|b| self.pii.decrypt_json(&b)).transpose()
    }

    pub async fn set_shop_status(
        &self,
        tenant: TenantId,
        id: ShopId,
        status: ShopStatus,
    ) -> Result<()> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE shops SET status = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(status.as_str()).bind(tenant.get()).bind(id.get())
            .execute(pool).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn create_warehouse(
        &self,
        tenant: TenantId,
        new: &NewWarehouse,
        audit: &AuditEntry,
    ) -> Result<Warehouse> {
        let now = audit.at;
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO warehouses (tenant_id, code, name, province, city, county, address, \
                 lat, lng, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
                .bind(tenant.get())
                .bind(new.code.as_str())
                .bind(new.name.as_str())
                .bind(&new.province)
                .bind(&new.city)
                .bind(&new.county)
                .bind(&new.address)
                .bind(new.location.map(|p| p.lat))
                .bind(new.location.map(|p| p.lng))
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict(format!("warehouse code {} is taken", new.code)))?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        self.warehouse(tenant, WarehouseId(id)).await
    }

    pub async fn warehouse(&self, tenant: TenantId, id: WarehouseId) -> Result<Warehouse> {
        let sql =
            format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE tenant_id = $1 AND id = $2");
        let row: WarehouseRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        row.try_into()
    }

    pub async fn warehouses(&self, tenant: TenantId) -> Result<Vec<Warehouse>> {
        let sql =
            format!("SELECT {WAREHOUSE_COLUMNS} FROM warehouses WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<WarehouseRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn create_sku(
        &self,
        tenant: TenantId,
        new: &NewSku,
        audit: &AuditEntry,
    ) -> Result<Sku> {
        let now = audit.at;
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO skus (tenant_id, code, name, barcode, weight_g, length_mm, width_mm, \
                 height_mm, cost_fen, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
                .bind(tenant.get())
                .bind(new.code.as_str())
                .bind(new.name.as_str())
                .bind(new.barcode.as_ref().map(|b| b.as_str()))
                .bind(new.weight.get())
                .bind(new.size.length)
                .bind(new.size.width)
                .bind(new.size.height)
                .bind(new.cost.get())
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict(format!("SKU code {} is taken", new.code)))?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        self.sku(tenant, SkuId(id)).await
    }

    pub async fn sku(&self, tenant: TenantId, id: SkuId) -> Result<Sku> {
        let sql = format!("SELECT {SKU_COLUMNS} FROM skus WHERE tenant_id = $1 AND id = $2");
        let row: SkuRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        row.try_into()
    }

    pub async fn sku_by_code(&self, tenant: TenantId, code: &SkuCode) -> Result<Option<Sku>> {
        let sql = format!("SELECT {SKU_COLUMNS} FROM skus WHERE tenant_id = $1 AND code = $2");
        let row: Option<SkuRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(code.as_str()).fetch_optional(pool).await?);
        row.map(TryInto::try_into).transpose()
    }

    pub async fn skus(&self, tenant: TenantId) -> Result<Vec<Sku>> {
        let sql = format!("SELECT {SKU_COLUMNS} FROM skus WHERE tenant_id = $1 ORDER BY id");
        let rows: Vec<SkuRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Maps a platform SKU of a shop to a merchant SKU (re-mapping replaces the old mapping).
    pub async fn map_shop_sku(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_sku_id: &str,
        sku: SkuId,
        quantity: i64,
        audit: &AuditEntry,
    ) -> Result<ShopSku> {
        if quantity < 1 {
            return Err(StoreError::Conflict(
                "a mapping needs a quantity of at least 1".into(),
            ));
        }
        let id: i64 = in_tx!(&self.db, tx => {
            // Both ids must belong to the tenant: a mapping must never cross tenants.
            let owned: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM shops WHERE tenant_id = $1 AND id = $2) + \
                 (SELECT COUNT(*) FROM skus WHERE tenant_id = $1 AND id = $3)")
                .bind(tenant.get()).bind(shop.get()).bind(sku.get())
                .fetch_one(&mut *tx).await?;
            if owned != 2 {
                return Err(StoreError::NotFound);
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO shop_skus (tenant_id, shop_id, platform_sku_id, sku_id, quantity) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (shop_id, platform_sku_id) \
                 DO UPDATE SET sku_id = excluded.sku_id, quantity = excluded.quantity RETURNING id")
                .bind(tenant.get()).bind(shop.get()).bind(platform_sku_id).bind(sku.get()).bind(quantity)
                .fetch_one(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        Ok(ShopSku {
            id: ShopSkuId(id),
            tenant_id: tenant,
            shop_id: shop,
            platform_sku_id: platform_sku_id.to_string(),
            sku_id: sku,
            quantity,
        })
    }

    pub async fn shop_sku(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_sku_id: &str,
    ) -> Result<Option<ShopSku>> {
        let row: Option<(i64, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, sku_id, quantity FROM shop_skus WHERE tenant_id = $1 AND shop_id = $2 \
                 AND platform_sku_id = $3")
            .bind(tenant.get()).bind(shop.get()).bind(platform_sku_id)
            .fetch_optional(pool).await?);
        Ok(row.map(|(id, sku_id, quantity)| ShopSku {
            id: ShopSkuId(id),
            tenant_id: tenant,
            shop_id: shop,
            platform_sku_id: platform_sku_id.to_string(),
            sku_id: SkuId(sku_id),
            quantity,
        }))
    }

    /// Every platform SKU mapping of the tenant, by shop and platform SKU.
    pub async fn shop_skus(&self, tenant: TenantId) -> Result<Vec<ShopSku>> {
        let rows: Vec<(i64, i64, String, i64, i64)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, shop_id, platform_sku_id, sku_id, quantity FROM shop_skus \
                 WHERE tenant_id = $1 ORDER BY shop_id, platform_sku_id")
            .bind(tenant.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, shop, platform_sku_id, sku, quantity)| ShopSku {
                id: ShopSkuId(id),
                tenant_id: tenant,
                shop_id: ShopId(shop),
                platform_sku_id,
                sku_id: SkuId(sku),
                quantity,
            })
            .collect())
    }

    /// Sets what the shop's labels carry besides the waybill: a logo (PNG) and a promo line;
    /// `None` removes either. Audited.
    pub async fn set_shop_label_settings(
        &self,
        tenant: TenantId,
        shop: ShopId,
        logo_png: Option<&[u8]>,
        promo: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                    "UPDATE shops SET label_logo_png = $1, label_promo = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(logo_png).bind(promo).bind(tenant.get()).bind(shop.get())
                .execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(shop.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// The shop's label logo (PNG) and promo line.
    pub async fn shop_label_settings(
        &self,
        tenant: TenantId,
        shop: ShopId,
    ) -> Result<(Option<Vec<u8>>, Option<String>)> {
        let row: (Option<Vec<u8>>, Option<String>) = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT label_logo_png, label_promo FROM shops WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(shop.get()).fetch_one(pool).await?);
        Ok(row)
    }

    /// Replaces a SKU's tags (already normalised by the caller). Audited.
    pub async fn set_sku_tags(
        &self,
        tenant: TenantId,
        sku: SkuId,
        tags: &[String],
        audit: &AuditEntry,
    ) -> Result<()> {
        let joined = tags.join(",");
        in_tx!(&self.db, tx => {
            let done = sqlx::query("UPDATE skus SET tags = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(&joined).bind(tenant.get()).bind(sku.get())
                .execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(sku.get());
            entry.after = Some(serde_json::json!({"tags": tags}));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// The tags of the tenant's SKUs that have any.
    pub async fn sku_tags(
        &self,
        tenant: TenantId,
    ) -> Result<std::collections::HashMap<SkuId, Vec<String>>> {
        let rows: Vec<(i64, String)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, tags FROM skus WHERE tenant_id = $1 AND tags <> ''")
            .bind(tenant.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(|(id, tags)| (SkuId(id), tags.split(',').map(str::to_string).collect()))
            .collect())
    }
}
