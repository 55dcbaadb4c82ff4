//! Master data and stock use-cases: shops, warehouses, SKUs, SKU mappings, stock movements.

use crate::{Actor, App, Result};
use fahuo_domain::catalog::{GeoPoint, Shop, ShopCredentials, ShopSku, SizeMm, Sku, Warehouse};
use fahuo_domain::stock::{MovementKind, StockLevel, StockMovement};
use fahuo_domain::{
    Barcode, Fen, Grams, Name, ParseError, Permission, Platform, ShopId, SkuCode, SkuId,
    WarehouseCode, WarehouseId,
};
use fahuo_store::catalog::{NewShop, NewSku, NewWarehouse};
use fahuo_store::stock::LedgerEntry;
use serde::Deserialize;

/// The longest audit action a filter may name (actions are short dotted names).
const MAX_AUDIT_ACTION_CHARS: usize = 64;

#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialsInput {
    pub app_key: String,
    pub app_secret: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub webhook_secret: Option<String>,
    /// A one-time code from the platform's authorisation page (Xiaohongshu, Douyin tool apps).
    pub auth_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopInput {
    /// `wechat`, `douyin`, `xiaohongshu` or `manual`.
    pub platform: String,
    pub name: String,
    /// The platform's id of the shop (appid, shop_id, seller id); any label for manual shops.
    pub platform_shop_id: String,
    /// The platform API's base URL (an emulator's in tests and the demo).
    pub api_base_url: Option<String>,
    pub credentials: Option<CredentialsInput>,
}

impl ShopInput {
    pub fn parse(&self) -> Result<NewShop, ParseError> {
        let platform_shop_id = self.platform_shop_id.trim();
        if platform_shop_id.is_empty() || platform_shop_id.len() > 128 {
            return Err(ParseError::new("platform_shop_id", "1 to 128 characters"));
        }
        let api_base_url = parse_base_url(self.api_base_url.as_deref())?;
        Ok(NewShop {
            platform: Platform::parse(&self.platform)?,
            name: Name::parse(&self.name)?,
            platform_shop_id: platform_shop_id.to_string(),
            api_base_url,
            credentials: self.credentials.as_ref().map(CredentialsInput::parse),
        })
    }
}

impl CredentialsInput {
    pub fn parse(&self) -> ShopCredentials {
        ShopCredentials {
            app_key: self.app_key.trim().to_string(),
            app_secret: self.app_secret.trim().to_string(),
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            webhook_secret: self.webhook_secret.clone(),
            auth_code: self.auth_code.clone(),
            ..Default::default()
        }
    }
}

fn parse_base_url(url: Option<&str>) -> Result<Option<String>, ParseError> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            Ok(Some(u.trim_end_matches('/').to_string()))
        }
        Some(_) => Err(ParseError::new(
            "api_base_url",
            "an http:// or https:// URL",
        )),
        None => Ok(None),
    }
}

/// New credentials or API address for a connected shop (re-authorisation).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionInput {
    /// The platform API's base URL; empty for the official endpoint.
    pub api_base_url: Option<String>,
    pub credentials: CredentialsInput,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseInput {
    pub code: String,
    pub name: String,
    pub province: String,
    pub city: String,
    pub county: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

impl WarehouseInput {
    pub fn parse(&self) -> Result<NewWarehouse, ParseError> {
        let location = match (self.lat, self.lng) {
            (Some(lat), Some(lng))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng) =>
            {
                Some(GeoPoint { lat, lng })
            }
            (None, None) => None,
            _ => return Err(ParseError::new("lat", "lat and lng together, in degrees")),
        };
        let part = |field: &'static str, v: &str| -> Result<String, ParseError> {
            let v = v.trim();
            if v.is_empty() || v.chars().count() > 200 {
                Err(ParseError::new(field, "1 to 200 characters"))
            } else {
                Ok(v.to_string())
            }
        };
        Ok(NewWarehouse {
            code: WarehouseCode::parse(&self.code)?,
            name: Name::parse(&self.name)?,
            province: part("province", &self.province)?,
            city: part("city", &self.city)?,
            county: part("county", &self.county)?,
            address: part("address", &self.address)?,
            location,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkuInput {
    pub code: String,
    pub name: String,
    pub barcode: Option<String>,
    pub weight_g: i64,
    #[serde(default)]
    pub length_mm: i64,
    #[serde(default)]
    pub width_mm: i64,
    #[serde(default)]
    pub height_mm: i64,
    #[serde(default)]
    pub cost_fen: i64,
}

impl SkuInput {
    pub fn parse(&self) -> Result<NewSku, ParseError> {
        let dims = [self.length_mm, self.width_mm, self.height_mm];
        if dims.iter().any(|d| !(0..=10_000).contains(d)) {
            return Err(ParseError::new(
                "length_mm",
                "dimensions between 0 and 10000 mm",
            ));
        }
        if self.cost_fen < 0 {
            return Err(ParseError::new("cost_fen", "cannot be negative"));
        }
        Ok(NewSku {
            code: SkuCode::parse(&self.code)?,
            name: Name::parse(&self.name)?,
            barcode: self
                .barcode
                .as_deref()
                .filter(|b| !b.trim().is_empty())
                .map(Barcode::parse)
                .transpose()?,
            weight: Grams::new(self.weight_g)?,
            size: SizeMm {
                length: self.length_mm,
                width: self.width_mm,
                height: self.height_mm,
            },
            cost: Fen(self.cost_fen),
        })
    }
}

/// A stock movement entered by a person. Reservations, releases and deductions are made by
/// allocation and shipping, never by hand, so they are refused here.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockMovementInput {
    pub warehouse_id: i64,
    pub sku_id: i64,
    /// `inbound`, `return` or `adjust` (adjust may be negative).
    pub kind: String,
    pub quantity: i64,
    pub note: Option<String>,
}

impl StockMovementInput {
    pub fn parse(&self) -> Result<StockMovement, ParseError> {
        let kind = MovementKind::parse(&self.kind)?;
        if !matches!(
            kind,
            MovementKind::Inbound | MovementKind::Return | MovementKind::Adjust
        ) {
            return Err(ParseError::new(
                "kind",
                "by hand: inbound, return or adjust",
            ));
        }
        let mut m = StockMovement::new(
            WarehouseId(self.warehouse_id),
            SkuId(self.sku_id),
            kind,
            self.quantity,
        )?;
        if let Some(note) = self
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            m = m.with_note(note.chars().take(500).collect::<String>());
        }
        Ok(m)
    }
}

impl App {
    pub async fn create_shop(&self, actor: &Actor, input: &ShopInput) -> Result<Shop> {
        actor.require(Permission::ManageShops)?;
        let new = input.parse()?;
        let mut audit = actor.audit("shop.create", "shop", self.now());
        audit.after = Some(
            serde_json::json!({ "platform": new.platform, "name": new.name, "platform_shop_id": new.platform_shop_id }),
        );
        let shop = self
            .store()
            .create_shop(actor.tenant_id, &new, &audit)
            .await?;
        if shop.platform != fahuo_domain::Platform::Manual && new.credentials.is_some() {
            // The first sync starts at once rather than at the next scheduled slot.
            self.enqueue_sync(&shop, "first").await?;
        }
        Ok(shop)
    }

    /// Re-connects a shop (new credentials or API address) and syncs it at once.
    pub async fn connect_shop(
        &self,
        actor: &Actor,
        shop_id: ShopId,
        input: &ConnectionInput,
    ) -> Result<Shop> {
        actor.require(Permission::ManageShops)?;
        actor.check_shop(shop_id)?;
        let api_base_url = parse_base_url(input.api_base_url.as_deref())?;
        let credentials = input.credentials.parse();
        let mut audit = actor.audit("shop.connect", "shop", self.now());
        audit.after = Some(serde_json::json!({ "api_base_url": api_base_url }));
        self.store()
            .connect_shop(
                actor.tenant_id,
                shop_id,
                api_base_url.as_deref(),
                &credentials,
                &audit,
            )
            .await?;
        let shop = self.store().shop(actor.tenant_id, shop_id).await?;
        if shop.platform != fahuo_domain::Platform::Manual {
            self.enqueue_sync(&shop, &format!("connect-{}", self.now().timestamp_millis()))
                .await?;
        }
        Ok(shop)
    }

    /// The shops of the actor's scope.
    pub async fn shops(&self, actor: &Actor) -> Result<Vec<Shop>> {
        actor.require(Permission::ViewOrders)?;
        let mut all = self.store().shops(actor.tenant_id).await?;
        all.retain(|s| actor.scope.allows_shop(s.id));
        Ok(all)
    }

    pub async fn create_warehouse(
        &self,
        actor: &Actor,
        input: &WarehouseInput,
    ) -> Result<Warehouse> {
        actor.require(Permission::ManageCatalog)?;
        let new = input.parse()?;
        let mut audit = actor.audit("warehouse.create", "warehouse", self.now());
        audit.after = Some(serde_json::json!({ "code": new.code, "name": new.name }));
        Ok(self
            .store()
            .create_warehouse(actor.tenant_id, &new, &audit)
            .await?)
    }

    pub async fn warehouses(&self, actor: &Actor) -> Result<Vec<Warehouse>> {
        actor.require(Permission::ViewOrders)?;
        let mut all = self.store().warehouses(actor.tenant_id).await?;
        all.retain(|w| actor.scope.allows_warehouse(w.id));
        Ok(all)
    }

    pub async fn create_sku(&self, actor: &Actor, input: &SkuInput) -> Result<Sku> {
        actor.require(Permission::ManageCatalog)?;
        let new = input.parse()?;
        let mut audit = actor.audit("sku.create", "sku", self.now());
        audit.after = Some(serde_json::json!({ "code": new.code, "name": new.name }));
        Ok(self
            .store()
            .create_sku(actor.tenant_id, &new, &audit)
            .await?)
    }

    pub async fn skus(&self, actor: &Actor) -> Result<Vec<Sku>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().skus(actor.tenant_id).await?)
    }

    pub async fn map_shop_sku(
        &self,
        actor: &Actor,
        shop: ShopId,
        platform_sku_id: &str,
        sku: SkuId,
        quantity: i64,
    ) -> Result<ShopSku> {
        actor.require(Permission::ManageCatalog)?;
        actor.check_shop(shop)?;
        let platform_sku_id = platform_sku_id.trim();
        if platform_sku_id.is_empty() || platform_sku_id.len() > 128 {
            return Err(ParseError::new("platform_sku_id", "1 to 128 characters").into());
        }
        if !(1..=1000).contains(&quantity) {
            return Err(ParseError::new("quantity", "between 1 and 1000").into());
        }
        let mut audit = actor.audit("shop_sku.map", "shop_sku", self.now());
        audit.after = Some(
            serde_json::json!({ "shop_id": shop, "platform_sku_id": platform_sku_id, "sku_id": sku, "quantity": quantity }),
        );
        Ok(self
            .store()
            .map_shop_sku(
                actor.tenant_id,
                shop,
                platform_sku_id,
                sku,
                quantity,
                &audit,
            )
            .await?)
    }

    /// Records stock arriving, coming back, or corrected by a count.
    pub async fn move_stock(
        &self,
        actor: &Actor,
        input: &StockMovementInput,
    ) -> Result<StockLevel> {
        actor.require(Permission::ManageStock)?;
        let movement = input.parse()?;
        actor.check_warehouse(movement.warehouse_id)?;
        let level = self
            .store()
            .move_stock(actor.tenant_id, &movement, &actor.name, self.now())
            .await?;
        let mut audit = actor.audit(
            &format!("stock.{}", movement.kind.as_str()),
            "stock",
            self.now(),
        );
        audit.entity_id = Some(movement.sku_id.get());
        audit.after = Some(
            serde_json::json!({ "warehouse_id": movement.warehouse_id, "on_hand": level.on_hand, "reserved": level.reserved }),
        );
        self.store().append_audit(&audit).await?;
        Ok(level)
    }

    pub async fn stock_levels(&self, actor: &Actor, sku: Option<SkuId>) -> Result<Vec<StockLevel>> {
        actor.require(Permission::ViewOrders)?;
        let mut levels = self.store().stock_levels(actor.tenant_id, sku).await?;
        levels.retain(|l| actor.scope.allows_warehouse(l.warehouse_id));
        Ok(levels)
    }

    pub async fn stock_ledger(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
        sku: SkuId,
    ) -> Result<Vec<LedgerEntry>> {
        actor.require(Permission::ManageStock)?;
        actor.check_warehouse(warehouse)?;
        Ok(self
            .store()
            .stock_ledger(actor.tenant_id, warehouse, sku)
            .await?)
    }

    /// The audit log of the actor's tenant.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &fahuo_store::audit::AuditFilter,
    ) -> Result<fahuo_store::Page<fahuo_store::audit::AuditRecord>> {
        actor.require(Permission::ViewAudit)?;
        // Actions are short dotted names (`shop.create`); a longer filter matches nothing, and
        // SQLite refuses LIKE patterns beyond 50,000 bytes, so it is refused here.
        if filter
            .action
            .as_deref()
            .is_some_and(|a| a.chars().count() > MAX_AUDIT_ACTION_CHARS)
        {
            return Err(
                ParseError::new("action", "an action name of at most 64 characters").into(),
            );
        }
        let mut page = self.store().audit_log(actor.tenant_id, filter).await?;
        if actor.scope != fahuo_domain::Scope::all() {
            // A sub-account limited to some shops or warehouses reads the entries about those
            // (and about nothing bound to a shop or warehouse); a page may come back shorter.
            let mut kept = Vec::with_capacity(page.items.len());
            for record in page.items {
                if self.audit_entry_in_scope(actor, &record.entry).await? {
                    kept.push(record);
                }
            }
            page.items = kept;
        }
        Ok(page)
    }

    /// Whether an audit entry is about an object of the actor's scope: its entity (an order,
    /// after-sale, print job, shop or warehouse), and the warehouse its change names.
    async fn audit_entry_in_scope(
        &self,
        actor: &Actor,
        entry: &fahuo_domain::audit::AuditEntry,
    ) -> Result<bool> {
        let warehouse = entry
            .after
            .as_ref()
            .and_then(|a| a.get("warehouse_id"))
            .and_then(serde_json::Value::as_i64);
        if warehouse.is_some_and(|w| !actor.scope.allows_warehouse(WarehouseId(w))) {
            return Ok(false);
        }
        let Some(id) = entry.entity_id else {
            return Ok(true);
        };
        let found = match entry.entity_type.as_str() {
            "order" => self.order_in_scope(actor, fahuo_domain::OrderId(id)).await,
            "after_sale" => self
                .after_sale_in_scope(actor, fahuo_domain::AfterSaleId(id))
                .await
                .map(drop),
            "print_job" => {
                self.print_job_in_scope(actor, fahuo_domain::PrintJobId(id))
                    .await
            }
            "shop" => actor.check_shop(ShopId(id)),
            "warehouse" => actor.check_warehouse(WarehouseId(id)),
            _ => Ok(()),
        };
        match found {
            Ok(()) => Ok(true),
            Err(crate::AppError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
