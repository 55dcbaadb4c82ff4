//! Reads for the console's settings pages that no other use-case gives: the shops' label
//! settings, SKU tags, platform SKU mappings and stock bins. Each checks the permission its
//! write needs to be seen at all (a setting is shown to who may change it or use it).

use crate::{Actor, App, Result};
use fahuo_domain::catalog::ShopSku;
use fahuo_domain::{Permission, ShopId, SkuId, WarehouseId};
use std::collections::HashMap;

/// What a shop's labels carry besides the waybill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSettings {
    /// The logo as the merchant uploaded it (PNG, base64), to show and to keep when saving.
    pub logo_png_base64: Option<String>,
    pub promo: Option<String>,
}

impl App {
    /// A shop's label logo and promo line.
    pub async fn label_settings(&self, actor: &Actor, shop: ShopId) -> Result<LabelSettings> {
        actor.require(Permission::ManageShops)?;
        actor.check_shop(shop)?;
        let (logo_png, promo) = self
            .store()
            .shop_label_settings(actor.tenant_id, shop)
            .await?;
        use base64::Engine;
        Ok(LabelSettings {
            logo_png_base64: logo_png
                .map(|png| base64::engine::general_purpose::STANDARD.encode(png)),
            promo,
        })
    }

    /// The tags of the tenant's SKUs that have any (normalised, e.g. `fragile`).
    pub async fn sku_tags(&self, actor: &Actor) -> Result<HashMap<SkuId, Vec<String>>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().sku_tags(actor.tenant_id).await?)
    }

    /// Every platform SKU mapped to a merchant SKU, of the shops in the actor's scope.
    pub async fn shop_sku_mappings(&self, actor: &Actor) -> Result<Vec<ShopSku>> {
        actor.require(Permission::ManageCatalog)?;
        let mut all = self.store().shop_skus(actor.tenant_id).await?;
        all.retain(|m| actor.scope.allows_shop(m.shop_id));
        Ok(all)
    }

    /// Where each SKU sits in the warehouse (库位), for SKUs that have a bin.
    pub async fn stock_bins(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
    ) -> Result<HashMap<SkuId, String>> {
        actor.require(Permission::ViewOrders)?;
        if !actor.scope.allows_warehouse(warehouse) {
            return Err(crate::AppError::NotFound);
        }
        self.store().warehouse(actor.tenant_id, warehouse).await?;
        Ok(self.store().stock_bins(actor.tenant_id, warehouse).await?)
    }
}
