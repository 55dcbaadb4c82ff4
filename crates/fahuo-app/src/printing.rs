//! 取号 and 打单: carrier accounts, allocation of approved orders to packages, one waybill
//! number per package (with failover between accounts), label PDFs and print jobs.
//!
//! Exactly one number per package, however often a print is clicked or retried:
//! * a number is asked for under a request key stored *before* the call, and every retry on
//!   that account reuses the key, so the service answers with the number it already issued;
//! * the store keeps at most one live waybill per package; a number that loses a race (a
//!   failover account answered too) is marked abandoned and given back by
//!   [`App::recycle_abandoned_waybills`];
//! * a print with an `Idempotency-Key` the tenant used before returns the first job.

use crate::jobs::JobRunner;
use crate::{Actor, App, AppError, Result};
use fahuo_carriers::selection::{Choice, PastPackage, RuleSet, WhatIf};
use fahuo_carriers::{Package, Province, Tag};
use fahuo_domain::fulfilment::{CarrierAccount, NewCarrierAccount, PrintJob, WaybillService};
use fahuo_domain::{
    CarrierAccountId, CarrierCode, OrderId, OrderState, PackageId, Permission, PrintJobId, ShopId,
    SkuId, WarehouseId,
};
use fahuo_platforms::waybill::{
    Contact, Item, WaybillAccount, WaybillClient, WaybillCredentials, WaybillRequest,
    waybill_options,
};
use fahuo_platforms::{ClientOptions, PlatformError};
use fahuo_store::waybills::{IssuedNumber, PackageForWaybill, Recorded};
use futures::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Packages asked for at once in one print (each on its own connection).
const ISSUE_CONCURRENCY: usize = 8;

/// The largest label logo accepted (a logo prints about 20 mm wide).
const MAX_LOGO_BYTES: usize = 256 * 1024;

/// What a shop's labels carry besides the waybill.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelSettingsInput {
    /// A short line at the bottom of every label, e.g. 关注店铺领 5 元券 (at most 40 characters).
    #[serde(default)]
    pub promo: Option<String>,
    /// The merchant's logo as a base64 PNG (at most 256 KB).
    #[serde(default)]
    pub logo_png_base64: Option<String>,
}

/// A shop's label logo (shared by all its labels: the PDF stores it once) and promo line.
type ShopLabel = (Option<Arc<[u8]>>, Option<String>);

/// The declared weight of a package nobody has weighed yet.
const DEFAULT_WEIGHT_G: i64 = 1_000;

/// What the merchant enters to bind a carrier account.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindCarrierAccount {
    pub name: String,
    pub service: WaybillService,
    /// fahuo's carrier code (= WeChat `delivery_id`), e.g. `ZTO`.
    pub carrier: String,
    /// The service's API base URL; defaults to the official host. Unused for WeChat.
    #[serde(default)]
    pub base_url: Option<String>,
    /// WeChat e-waybill: the connected WeChat shop that issues the numbers.
    #[serde(default)]
    pub shop_id: Option<ShopId>,
    #[serde(default)]
    pub priority: i64,
    pub sender_name: String,
    pub sender_phone: String,
    /// Numbers bought, for services that report no balance (kuaidi100, kdniao).
    #[serde(default)]
    pub quota: Option<i64>,
    #[serde(default = "default_low_balance")]
    pub low_balance_threshold: i64,
    #[serde(default = "default_latency_budget")]
    pub latency_budget_ms: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credentials: WaybillCredentials,
}

fn default_low_balance() -> i64 {
    200
}

fn default_latency_budget() -> i64 {
    800
}

fn official_base_url(service: WaybillService) -> &'static str {
    match service {
        WaybillService::Kuaidi100 => "https://api.kuaidi100.com",
        WaybillService::Kdniao => "https://api.kdniao.com",
        WaybillService::WechatEwaybill => "https://api.weixin.qq.com",
    }
}

/// An account as the console shows it: what is left, and whether to warn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CarrierAccountView {
    #[serde(flatten)]
    pub account: CarrierAccount,
    /// Numbers left (the service's figure, or the quota less what fahuo used).
    pub remaining: Option<i64>,
    /// Fewer than `low_balance_threshold` numbers left.
    pub low_balance: bool,
}

impl From<CarrierAccount> for CarrierAccountView {
    fn from(account: CarrierAccount) -> Self {
        CarrierAccountView {
            remaining: account.remaining(),
            low_balance: account.low_balance(),
            account,
        }
    }
}

/// A print request: orders in page order, the label stock, and why (for reprints).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrintRequest {
    pub order_ids: Vec<OrderId>,
    /// `76x130` (default), `100x150` or `100x180`.
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// How a print job's labels come out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    #[default]
    Pdf,
    /// Raw TSPL for TSC-compatible thermal printers (text in GB18030).
    Tspl,
    /// Raw ZPL for Zebra-compatible printers.
    Zpl,
}

/// The output of a print job's labels for one printer: format, resolution and the printer's
/// drift correction (mm; positive x moves right, positive y down), so templates stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LabelOutput {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(inline))]
    pub format: LabelFormat,
    /// Print-head resolution (203 or 300 dpi); 203 by default.
    #[serde(default)]
    pub dpi: Option<u32>,
    #[serde(default)]
    pub offset_x_mm: Option<f32>,
    #[serde(default)]
    pub offset_y_mm: Option<f32>,
}

impl LabelOutput {
    fn options_for(&self, job: &PrintJob) -> Result<fahuo_labels::LabelOptions> {
        let size: fahuo_labels::LabelSize = job.label_size.parse().map_err(label_error)?;
        let (x, y) = (
            self.offset_x_mm.unwrap_or(0.0),
            self.offset_y_mm.unwrap_or(0.0),
        );
        if !(x.is_finite() && y.is_finite() && x.abs() <= 10.0 && y.abs() <= 10.0) {
            return Err(
                fahuo_domain::ParseError::new("offset", "each offset within ±10 mm").into(),
            );
        }
        Ok(fahuo_labels::LabelOptions::new(size)
            .with_offset(x, y)
            .with_dpi(self.dpi.unwrap_or(203)))
    }
}

/// Rendered labels and how to send them.
#[derive(Debug, Clone)]
pub struct RenderedLabels {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// A label problem the caller caused (size, resolution) is invalid input; the rest is ours.
fn label_error(e: fahuo_labels::LabelError) -> AppError {
    use fahuo_labels::LabelError as L;
    match e {
        L::UnsupportedSize(_) | L::UnsupportedDpi(_) => {
            fahuo_domain::ParseError::new("label", e.to_string()).into()
        }
        other => AppError::Internal(format!("label rendering: {other}")),
    }
}

/// An order that could not be printed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrintFailure {
    pub order_id: OrderId,
    pub reason: String,
}

/// The outcome of a print: the job (receipt), the PDF, what failed, and balance warnings.
#[derive(Debug, Clone)]
pub struct Printed {
    pub job: Option<PrintJob>,
    pub pdf: Option<Vec<u8>>,
    pub failures: Vec<PrintFailure>,
    /// e.g. "中通 kdniao: 150 numbers left".
    pub warnings: Vec<String>,
}

impl App {
    // ------------------------------------------------------------------ carrier accounts

    /// Binds a carrier account; its credentials are checked for shape here and by the first
    /// number it issues.
    pub async fn bind_carrier_account(
        &self,
        actor: &Actor,
        input: BindCarrierAccount,
    ) -> Result<CarrierAccountView> {
        actor.require(Permission::ManageShops)?;
        let carrier = CarrierCode::parse(&input.carrier)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(fahuo_domain::ParseError::new("name", "1 to 64 characters").into());
        }
        if input.sender_name.trim().is_empty() || input.sender_phone.trim().is_empty() {
            return Err(fahuo_domain::ParseError::new(
                "sender",
                "sender name and phone are printed on every label",
            )
            .into());
        }
        if !(100..=60_000).contains(&input.latency_budget_ms) {
            return Err(fahuo_domain::ParseError::new("latency_budget_ms", "100 to 60000").into());
        }
        if let Some(shop) = input.shop_id {
            actor.check_shop(shop)?;
            self.store().shop(actor.tenant_id, shop).await?;
        }
        let new = NewCarrierAccount {
            name: name.to_string(),
            service: input.service,
            carrier,
            base_url: input
                .base_url
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| official_base_url(input.service).to_string()),
            shop_id: input.shop_id,
            priority: input.priority,
            sender_name: input.sender_name.trim().to_string(),
            sender_phone: input.sender_phone.trim().to_string(),
            quota: input.quota,
            low_balance_threshold: input.low_balance_threshold,
            latency_budget_ms: input.latency_budget_ms,
        };
        // Build a client once: it refuses credentials that cannot work (missing key, a carrier
        // the service has no code for) before anything is stored.
        let probe = WaybillAccount {
            service: new.service,
            carrier: carrier_of(&new.carrier)?,
            base_url: new.base_url.clone(),
            credentials: input.credentials.clone(),
        };
        if new.service != WaybillService::WechatEwaybill {
            WaybillClient::new(
                probe,
                self.platforms.http.clone(),
                &waybill_options(budget(new.latency_budget_ms)),
                None,
            )
            .map_err(|e| AppError::UpstreamRefused(e.to_string()))?;
        } else if new.shop_id.is_none() {
            return Err(fahuo_domain::ParseError::new(
                "shop_id",
                "a WeChat e-waybill account issues through a connected WeChat shop",
            )
            .into());
        }
        let audit = actor.audit("carrier_account.bind", "carrier_account", self.now());
        Ok(self
            .store()
            .create_carrier_account(actor.tenant_id, &new, &input.credentials, &audit)
            .await?
            .into())
    }

    /// Points an account at its service anew: another base URL or new credentials.
    pub async fn reconnect_carrier_account(
        &self,
        actor: &Actor,
        id: CarrierAccountId,
        base_url: &str,
        credentials: &WaybillCredentials,
    ) -> Result<CarrierAccountView> {
        actor.require(Permission::ManageShops)?;
        self.carrier_account_in_scope(actor, id).await?;
        let base_url = base_url.trim();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(fahuo_domain::ParseError::new("base_url", "an http(s) URL").into());
        }
        let audit = actor.audit("carrier_account.reconnect", "carrier_account", self.now());
        self.store()
            .reconnect_carrier_account(actor.tenant_id, id, base_url, credentials, &audit)
            .await?;
        Ok(self
            .store()
            .carrier_account(actor.tenant_id, id)
            .await?
            .into())
    }

    pub async fn carrier_accounts(&self, actor: &Actor) -> Result<Vec<CarrierAccountView>> {
        actor.require(Permission::ViewOrders)?;
        let mut accounts = self.store().carrier_accounts(actor.tenant_id).await?;
        accounts.retain(|a| a.shop_id.is_none_or(|s| actor.scope.allows_shop(s)));
        Ok(accounts.into_iter().map(Into::into).collect())
    }

    /// `NotFound` unless the account is the tenant's and shared or bound to a shop of the
    /// actor's scope.
    pub(crate) async fn carrier_account_in_scope(
        &self,
        actor: &Actor,
        id: CarrierAccountId,
    ) -> Result<CarrierAccount> {
        let account = self.store().carrier_account(actor.tenant_id, id).await?;
        if let Some(shop) = account.shop_id {
            actor.check_shop(shop)?;
        }
        Ok(account)
    }

    /// Asks the service for the account's balance (where it tells) and stores it.
    pub async fn refresh_carrier_balance(
        &self,
        actor: &Actor,
        id: CarrierAccountId,
    ) -> Result<CarrierAccountView> {
        actor.require(Permission::PrintAndShip)?;
        let account = self.carrier_account_in_scope(actor, id).await?;
        let client = self.waybill_client(actor.tenant_id, &account).await?;
        if let Some(balance) = client
            .balance()
            .await
            .map_err(|e| self.platform_failure(e))?
        {
            self.store()
                .set_carrier_balance(actor.tenant_id, id, balance, self.now())
                .await?;
        }
        Ok(self
            .store()
            .carrier_account(actor.tenant_id, id)
            .await?
            .into())
    }

    /// The account's client, reused while its settings stay the same.
    pub(crate) async fn waybill_client(
        &self,
        tenant: fahuo_domain::TenantId,
        account: &CarrierAccount,
    ) -> Result<Arc<WaybillClient>> {
        let credentials: WaybillCredentials = self
            .store()
            .carrier_account_credentials(tenant, account.id)
            .await?;
        let shop = match account.shop_id {
            Some(shop_id) if account.service == WaybillService::WechatEwaybill => {
                let shop = self.store().shop(tenant, shop_id).await?;
                Some(self.ready_client(&shop).await?)
            }
            _ => None,
        };
        let fingerprint = serde_json::json!([
            account.base_url,
            account.latency_budget_ms,
            credentials,
            shop.as_ref().map(|s| Arc::as_ptr(s) as usize),
        ])
        .to_string();
        let cache = &self.platforms.waybill_clients;
        if let Some((_, client)) = cache
            .lock()
            .expect("waybill clients lock")
            .get(&account.id)
            .filter(|(fp, _)| *fp == fingerprint)
        {
            return Ok(client.clone());
        }
        let client = Arc::new(
            WaybillClient::new(
                WaybillAccount {
                    service: account.service,
                    carrier: carrier_of(&account.carrier)?,
                    base_url: account.base_url.clone(),
                    credentials,
                },
                self.platforms.http.clone(),
                &ClientOptions {
                    rate_per_sec: self.settings().waybill_calls_per_second,
                    ..waybill_options(budget(account.latency_budget_ms))
                },
                shop,
            )
            .map_err(|e| AppError::UpstreamRefused(e.to_string()))?,
        );
        cache
            .lock()
            .expect("waybill clients lock")
            .insert(account.id, (fingerprint, client.clone()));
        Ok(client)
    }

    // ------------------------------------------------------------------ allocation

    /// Sends an approved order from `warehouse` (a person's choice), with `carrier`, or else
    /// the carrier the warehouse's rules choose, or else the first carrier the tenant has an
    /// account for: the stock is reserved there, in as many packages as the carrier's weight
    /// limit needs. A warehouse that cannot fill the order holds it as out of stock.
    pub async fn allocate_order(
        &self,
        actor: &Actor,
        order: OrderId,
        warehouse: WarehouseId,
        carrier: Option<CarrierCode>,
    ) -> Result<Vec<PackageId>> {
        actor.require(Permission::PrintAndShip)?;
        self.order_in_scope(actor, order).await?;
        actor.check_warehouse(warehouse)?;
        self.store().warehouse(actor.tenant_id, warehouse).await?;
        self.allocate_planned(
            actor.tenant_id,
            order,
            Some((warehouse, carrier)),
            &actor.audit_ref(),
        )
        .await?
        .into_packages()
    }

    // ------------------------------------------------------------------ label settings, tags

    /// Sets the shop's label logo (a PNG, base64) and promo line; absent fields are removed.
    pub async fn set_label_settings(
        &self,
        actor: &Actor,
        shop: ShopId,
        input: &LabelSettingsInput,
    ) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        actor.check_shop(shop)?;
        let logo = match input.logo_png_base64.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(b64) => {
                use base64::Engine;
                let png = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| fahuo_domain::ParseError::new("logo_png_base64", e.to_string()))?;
                if png.len() > MAX_LOGO_BYTES {
                    return Err(
                        fahuo_domain::ParseError::new("logo_png_base64", "at most 256 KB").into(),
                    );
                }
                // Render one label with it: a logo that cannot print is refused now, not at
                // the next print.
                let mut probe = fahuo_labels::sample_labels(1, 1);
                probe[0].logo_png = Some(Arc::from(png.clone()));
                fahuo_labels::render_labels_pdf(&probe, &fahuo_labels::LabelOptions::default())
                    .map_err(|e| fahuo_domain::ParseError::new("logo_png_base64", e.to_string()))?;
                Some(png)
            }
        };
        let promo = input
            .promo
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        if promo.is_some_and(|p| p.chars().count() > 40) {
            return Err(fahuo_domain::ParseError::new("promo", "at most 40 characters").into());
        }
        let audit = actor.audit("shop.label_settings", "shop", self.now());
        Ok(self
            .store()
            .set_shop_label_settings(actor.tenant_id, shop, logo.as_deref(), promo, &audit)
            .await?)
    }

    /// Replaces a SKU's tags (冷链, 易碎, 液体, 带电, 大件, or the merchant's own): labels mark
    /// cold-chain and fragile packages, and carrier rules can require or exclude carriers by tag.
    pub async fn set_sku_tags(
        &self,
        actor: &Actor,
        sku: SkuId,
        tags: &[String],
    ) -> Result<Vec<String>> {
        actor.require(Permission::ManageCatalog)?;
        let mut parsed = std::collections::BTreeSet::new();
        for t in tags {
            let tag =
                Tag::parse(t).map_err(|e| fahuo_domain::ParseError::new("tags", e.to_string()))?;
            if tag.as_str().contains(',') {
                return Err(
                    fahuo_domain::ParseError::new("tags", "a tag cannot hold a comma").into(),
                );
            }
            parsed.insert(tag.as_str().to_string());
        }
        let tags: Vec<String> = parsed.into_iter().collect();
        let audit = actor.audit("sku.tags", "sku", self.now());
        self.store()
            .set_sku_tags(actor.tenant_id, sku, &tags, &audit)
            .await?;
        Ok(tags)
    }

    /// Records where a SKU sits in a warehouse (库位, e.g. `A-03-2`); pick lists group by it.
    pub async fn set_stock_bin(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
        sku: SkuId,
        bin: Option<&str>,
    ) -> Result<()> {
        actor.require(Permission::ManageStock)?;
        actor.check_warehouse(warehouse)?;
        let bin = bin.map(str::trim).filter(|b| !b.is_empty());
        if bin.is_some_and(|b| b.chars().count() > 32) {
            return Err(fahuo_domain::ParseError::new("bin", "at most 32 characters").into());
        }
        let audit = actor.audit("stock.bin", "sku", self.now());
        Ok(self
            .store()
            .set_stock_bin(actor.tenant_id, warehouse, sku, bin, &audit)
            .await?)
    }

    // ------------------------------------------------------------------ carrier rules

    /// Replaces the carrier selection settings of a warehouse (rate tables, rules, goal, shop
    /// defaults), after checking they can be used.
    pub async fn set_carrier_rules(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
        rules: serde_json::Value,
    ) -> Result<RuleSet> {
        actor.require(Permission::ManageShops)?;
        actor.check_warehouse(warehouse)?;
        let rules = parse_rule_set(rules)?;
        let json = serde_json::to_string(&rules).map_err(|e| AppError::Internal(e.to_string()))?;
        let audit = actor.audit("carrier_rules.set", "warehouse", self.now());
        self.store()
            .set_carrier_rules(actor.tenant_id, warehouse, &json, &audit)
            .await?;
        Ok(rules)
    }

    pub async fn carrier_rules(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
    ) -> Result<Option<RuleSet>> {
        actor.require(Permission::ViewOrders)?;
        actor.check_warehouse(warehouse)?;
        self.store().warehouse(actor.tenant_id, warehouse).await?;
        self.store()
            .carrier_rules(actor.tenant_id, warehouse)
            .await?
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|e| AppError::Internal(format!("stored carrier rules: {e}")))
            })
            .transpose()
    }

    /// The carrier the warehouse's rules choose for an order, and why; `None` when the
    /// warehouse has no rules. Only carriers the tenant has an enabled account for compete.
    pub async fn choose_carrier(
        &self,
        actor: &Actor,
        order: OrderId,
        warehouse: WarehouseId,
    ) -> Result<Option<Choice>> {
        self.order_in_scope(actor, order).await?;
        let Some(mut rules) = self.carrier_rules(actor, warehouse).await? else {
            return Ok(None);
        };
        let accounts = self.store().carrier_accounts(actor.tenant_id).await?;
        rules.tables.retain(|t| {
            accounts
                .iter()
                .any(|a| a.enabled && a.carrier.as_str() == t.carrier.code())
        });
        let package = self.selection_package(actor, order).await?;
        Ok(Some(rules.choose(&package)))
    }

    /// Prices the tenant's packages that left `warehouse` with a number under `proposed`
    /// rules, against the carrier each actually went with (its price from `proposed`'s table).
    pub async fn carrier_what_if(
        &self,
        actor: &Actor,
        warehouse: WarehouseId,
        proposed: serde_json::Value,
    ) -> Result<WhatIf> {
        actor.require(Permission::ViewReports)?;
        actor.check_warehouse(warehouse)?;
        let proposed = parse_rule_set(proposed)?;
        let tenant = actor.tenant_id;
        // The catalogue once for all the packages (it was read twice per package).
        let catalog = self.selection_catalog(tenant).await?;
        let mut past = Vec::new();
        for waybill in self
            .store()
            .live_waybills(tenant)
            .await?
            .into_iter()
            .take(5_000)
        {
            let pkg = self
                .store()
                .package_for_waybill(tenant, waybill.package_id)
                .await?;
            if pkg.warehouse_id != warehouse {
                continue;
            }
            let Some(first) = pkg.orders.first() else {
                continue;
            };
            let Ok(order) = self.store().order(tenant, *first).await else {
                continue;
            };
            let Ok(mut package) = selection_package(&order, &catalog) else {
                continue;
            };
            package.id = format!("P{}", pkg.id);
            past.push(PastPackage {
                package,
                shipped_with: fahuo_carriers::Carrier::from_code(waybill.carrier.as_str()),
                paid: None,
            });
        }
        Ok(fahuo_carriers::selection::what_if(&past, &proposed))
    }

    /// An order as carrier selection sees it (see [`selection_package`]).
    async fn selection_package(&self, actor: &Actor, order: OrderId) -> Result<Package> {
        let order = self.store().order(actor.tenant_id, order).await?;
        let catalog = self.selection_catalog(actor.tenant_id).await?;
        selection_package(&order, &catalog)
    }

    /// What carrier selection reads from the catalogue: SKUs (weights) and their tags.
    async fn selection_catalog(&self, tenant: fahuo_domain::TenantId) -> Result<SelectionCatalog> {
        Ok(SelectionCatalog {
            skus: self.store().skus(tenant).await?,
            tags: self.store().sku_tags(tenant).await?,
        })
    }

    // ------------------------------------------------------------------ waybill numbers

    /// The package's live waybill number: the stored one, or a new one from the first of the
    /// carrier's accounts that gives one.
    pub async fn issue_waybill(
        &self,
        actor: &Actor,
        package: PackageId,
    ) -> Result<fahuo_domain::fulfilment::Waybill> {
        actor.require(Permission::PrintAndShip)?;
        self.print_package_in_scope(actor, package).await?;
        let tenant = actor.tenant_id;
        if let Some(w) = self
            .store()
            .package_for_waybill(tenant, package)
            .await?
            .waybill
        {
            return Ok(w);
        }
        // One caller per package on this node; the others then find its number stored.
        let lock = self
            .platforms
            .issuing
            .lock()
            .expect("issuing lock")
            .entry(package)
            .or_default()
            .clone();
        let outcome = {
            let _turn = lock.lock().await;
            self.issue_waybill_now(tenant, package).await
        };
        let mut issuing = self.platforms.issuing.lock().expect("issuing lock");
        if Arc::strong_count(&lock) <= 2 {
            issuing.remove(&package);
        }
        outcome
    }

    async fn issue_waybill_now(
        &self,
        tenant: fahuo_domain::TenantId,
        package: PackageId,
    ) -> Result<fahuo_domain::fulfilment::Waybill> {
        let pkg = self.store().package_for_waybill(tenant, package).await?;
        if let Some(w) = pkg.waybill {
            return Ok(w);
        }
        let accounts = self.store().carrier_accounts(tenant).await?;
        let carrier = match &pkg.carrier {
            Some(c) => c.clone(),
            None => accounts
                .iter()
                .find(|a| a.enabled)
                .map(|a| a.carrier.clone())
                .ok_or_else(|| AppError::Conflict("no carrier account is bound".into()))?,
        };
        let candidates: Vec<&CarrierAccount> = accounts
            .iter()
            .filter(|a| a.enabled && a.carrier == carrier)
            .collect();
        if candidates.is_empty() {
            return Err(AppError::Conflict(format!(
                "no enabled carrier account for {carrier}"
            )));
        }
        let request = self.waybill_request(tenant, &pkg, candidates[0]).await?;
        let mut failures = Vec::new();
        // Requests left pending after a retryable failure: if another account then gives the
        // number, theirs (if any) are abandoned for recycling; if none does, they stay pending
        // and the next try asks again under the same key.
        let mut pending = Vec::new();
        for account in candidates {
            let req = WaybillRequest {
                sender: Contact {
                    name: account.sender_name.clone(),
                    mobile: account.sender_phone.clone(),
                    ..request.sender.clone()
                },
                ..request.clone()
            };
            match self.try_account(tenant, &pkg, account, &req).await {
                Ok(waybill) => {
                    for r in &pending {
                        self.store()
                            .close_waybill_request(
                                r,
                                "another account issued the number",
                                true,
                                self.now(),
                            )
                            .await?;
                    }
                    return Ok(waybill);
                }
                Err(Attempt::Retryable(r, e)) => {
                    tracing::info!(package = package.get(), account = account.id.get(), error = %e, "waybill account failed; trying the next");
                    failures.push(format!("{}: {e}", account.name));
                    pending.extend(r);
                }
                Err(Attempt::Refused(e)) => {
                    tracing::info!(package = package.get(), account = account.id.get(), error = %e, "waybill account refused; trying the next");
                    failures.push(format!("{}: {e}", account.name));
                }
                Err(Attempt::Fatal(e)) => return Err(e),
            }
        }
        let msg = failures.join("; ");
        Err(if pending.is_empty() {
            AppError::UpstreamRefused(msg)
        } else {
            AppError::Upstream(msg)
        })
    }

    async fn try_account(
        &self,
        tenant: fahuo_domain::TenantId,
        pkg: &PackageForWaybill,
        account: &CarrierAccount,
        req: &WaybillRequest,
    ) -> std::result::Result<fahuo_domain::fulfilment::Waybill, Attempt> {
        let client = self
            .waybill_client(tenant, account)
            .await
            .map_err(Attempt::Refused)?;
        let now = self.now();
        let request = match self
            .store()
            .open_waybill_request(tenant, pkg.id, account.id)
            .await
            .map_err(|e| Attempt::Fatal(e.into()))?
        {
            Some(r) => r,
            None => {
                let key = client
                    .service_key(req)
                    .await
                    .map_err(|e| Attempt::from_platform(None, e))?;
                self.store()
                    .open_waybill_request_with(tenant, pkg.id, account.id, key.as_deref(), now)
                    .await
                    .map_err(|e| Attempt::Fatal(e.into()))?
            }
        };
        match client.issue(&request.request_key, req).await {
            Ok(issued) => {
                let number = IssuedNumber {
                    tracking_no: fahuo_domain::TrackingNo::parse(&issued.tracking_no)
                        .map_err(|e| Attempt::Fatal(e.into()))?,
                    sort_code: issued.sort_code,
                    hub: issued.hub,
                };
                let recorded = self
                    .store()
                    .record_waybill(&request, &account.carrier, &number, self.now())
                    .await
                    .map_err(|e| Attempt::Fatal(e.into()))?;
                if let Recorded::Superseded(_) = &recorded {
                    tracing::info!(
                        package = pkg.id.get(),
                        "a second number lost the race; it will be recycled"
                    );
                }
                Ok(recorded.waybill().clone())
            }
            Err(e) if e.is_retryable() => Err(Attempt::from_platform(Some(request), e)),
            Err(e) => {
                // A malformed answer may hide an issued number: recycle it to be safe.
                let maybe_issued = matches!(e, PlatformError::Protocol(_));
                self.store()
                    .close_waybill_request(&request, &e.to_string(), maybe_issued, self.now())
                    .await
                    .map_err(|e| Attempt::Fatal(e.into()))?;
                Err(Attempt::Refused(self.platform_failure(e)))
            }
        }
    }

    /// What the services need about a package: sender address (the warehouse), receiver,
    /// items, weight. The sender's name and phone come from the account.
    async fn waybill_request(
        &self,
        tenant: fahuo_domain::TenantId,
        pkg: &PackageForWaybill,
        account: &CarrierAccount,
    ) -> Result<WaybillRequest> {
        let orders = self.package_orders(tenant, pkg).await?;
        let warehouse = self.store().warehouse(tenant, pkg.warehouse_id).await?;
        build_request(pkg, &orders, &warehouse, account)
    }

    async fn package_orders(
        &self,
        tenant: fahuo_domain::TenantId,
        pkg: &PackageForWaybill,
    ) -> Result<Vec<fahuo_domain::order::Order>> {
        let mut orders = Vec::new();
        for id in &pkg.orders {
            orders.push(self.store().order(tenant, *id).await?);
        }
        Ok(orders)
    }

    /// Gives back numbers nobody uses (a failover account's late answer, a timed-out request
    /// superseded by another account). Run by the job runner; returns how many were recycled.
    pub async fn recycle_abandoned_waybills(&self, limit: i64) -> Result<usize> {
        let mut done = 0;
        for request in self.store().abandoned_waybill_requests(limit).await? {
            let account = self
                .store()
                .carrier_account(request.tenant_id, request.account_id)
                .await?;
            let client = self.waybill_client(request.tenant_id, &account).await?;
            // The number may never have reached us: ask again under the same key (the service
            // answers with the number it issued, if any), then give it back.
            let number = match &request.tracking_no {
                Some(n) => n.clone(),
                None => {
                    let pkg = self
                        .store()
                        .package_for_waybill(request.tenant_id, request.package_id)
                        .await?;
                    let req = self
                        .waybill_request(request.tenant_id, &pkg, &account)
                        .await?;
                    match client.issue(&request.request_key, &req).await {
                        Ok(issued) => issued.tracking_no,
                        Err(e) if e.is_retryable() => continue,
                        Err(_) => {
                            // Refused: no number exists under this key.
                            self.store()
                                .mark_waybill_recycled(&request, self.now())
                                .await?;
                            continue;
                        }
                    }
                }
            };
            match client.cancel(&request.request_key, &number).await {
                Ok(()) => {
                    self.store()
                        .mark_waybill_recycled(&request, self.now())
                        .await?;
                    done += 1;
                }
                Err(e) => {
                    tracing::info!(request = request.id.get(), error = %e, "recycling failed; will try again")
                }
            }
        }
        Ok(done)
    }

    // ------------------------------------------------------------------ printing

    /// Prints the labels of `req.order_ids` in that order: approved orders are allocated to
    /// the tenant's first warehouse, every package gets its number, and one PDF comes back
    /// with a print job as receipt. Orders that cannot be printed are listed with the reason;
    /// the rest print. `idempotency_key`: a repeated print returns the first job unchanged.
    pub async fn print_labels(
        &self,
        actor: &Actor,
        req: &PrintRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Printed> {
        actor.require(Permission::PrintAndShip)?;
        let tenant = actor.tenant_id;
        let size_text = req.size.as_deref().unwrap_or("76x130");
        let size: fahuo_labels::LabelSize =
            size_text.parse().map_err(|e: fahuo_labels::LabelError| {
                fahuo_domain::ParseError::new("size", e.to_string())
            })?;
        if req.order_ids.is_empty() || req.order_ids.len() > 2_000 {
            return Err(fahuo_domain::ParseError::new("order_ids", "1 to 2000 orders").into());
        }
        if let Some(key) = idempotency_key
            && (key.is_empty() || key.len() > 128)
        {
            return Err(
                fahuo_domain::ParseError::new("Idempotency-Key", "1 to 128 characters").into(),
            );
        }
        let mut failures = Vec::new();
        let mut packages: Vec<(OrderId, PackageId)> = Vec::new();
        // Orders merged into one parcel share its package: one label, however many of them
        // were chosen.
        let mut chosen = std::collections::HashSet::new();
        for &order_id in &req.order_ids {
            match self.packages_to_print(actor, order_id).await {
                Ok(ps) => packages.extend(
                    ps.into_iter()
                        .filter(|p| chosen.insert(*p))
                        .map(|p| (order_id, p)),
                ),
                Err(e) => failures.push(PrintFailure {
                    order_id,
                    reason: e.to_string(),
                }),
            }
        }
        // Numbers first, several packages at a time.
        let issued: Vec<(OrderId, PackageId, Result<()>)> = futures::stream::iter(packages)
            .map(|(order, package)| async move {
                (
                    order,
                    package,
                    self.issue_waybill(actor, package).await.map(drop),
                )
            })
            .buffered(ISSUE_CONCURRENCY)
            .collect()
            .await;
        let mut ready = Vec::new();
        for (order_id, package, outcome) in issued {
            match outcome {
                Ok(()) => ready.push(package),
                Err(e) => failures.push(PrintFailure {
                    order_id,
                    reason: e.to_string(),
                }),
            }
        }
        let warnings = self.balance_warnings(tenant).await?;
        if ready.is_empty() {
            return Ok(Printed {
                job: None,
                pdf: None,
                failures,
                warnings,
            });
        }
        let mut audit = actor.audit("labels.print", "print_job", self.now());
        audit.after = Some(serde_json::json!({"orders": req.order_ids.len()}));
        let job = self
            .store()
            .record_print_job(
                tenant,
                idempotency_key,
                size.to_string().as_str(),
                &ready,
                req.reason.as_deref(),
                &audit,
            )
            .await?;
        // "Ship after printing": the write-backs are queued now; the shipment sweep queues
        // any a crash right here left out.
        self.ship_packages_after(
            tenant,
            fahuo_domain::shipping::ShipTrigger::AfterPrint,
            &ready,
        )
        .await?;
        let labels = self.job_labels(tenant, &job).await?;
        let pdf = fahuo_labels::render_labels_pdf(&labels, &fahuo_labels::LabelOptions::new(size))
            .map_err(label_error)?
            .pdf;
        Ok(Printed {
            job: Some(job),
            pdf: Some(pdf),
            failures,
            warnings,
        })
    }

    /// A print job's labels as they were printed (same pages, same reprint marks), as a PDF or
    /// as raw TSPL/ZPL for a thermal printer, shifted by the printer's offset.
    pub async fn print_job_labels(
        &self,
        actor: &Actor,
        id: PrintJobId,
        out: &LabelOutput,
    ) -> Result<(PrintJob, RenderedLabels)> {
        actor.require(Permission::PrintAndShip)?;
        self.print_job_in_scope(actor, id).await?;
        let job = self.store().print_job(actor.tenant_id, id).await?;
        let options = out.options_for(&job)?;
        let labels = self.job_labels(actor.tenant_id, &job).await?;
        let thermal = fahuo_labels::ThermalOptions::default();
        let rendered = match out.format {
            LabelFormat::Pdf => RenderedLabels {
                bytes: fahuo_labels::render_labels_pdf(&labels, &options)
                    .map_err(label_error)?
                    .pdf,
                content_type: "application/pdf",
                extension: "pdf",
            },
            LabelFormat::Tspl => RenderedLabels {
                bytes: fahuo_labels::render_labels_tspl(&labels, &options, &thermal)
                    .map_err(label_error)?
                    .data,
                content_type: "application/octet-stream",
                extension: "tspl",
            },
            LabelFormat::Zpl => RenderedLabels {
                bytes: fahuo_labels::render_labels_zpl(&labels, &options, &thermal)
                    .map_err(label_error)?
                    .data,
                content_type: "application/octet-stream",
                extension: "zpl",
            },
        };
        Ok((job, rendered))
    }

    /// The pick list (拣货单) of a print job: every SKU to pick, by bin, with its orders; PDF
    /// (A4) or xlsx.
    pub async fn print_job_pick_list(
        &self,
        actor: &Actor,
        id: PrintJobId,
        xlsx: bool,
    ) -> Result<Vec<u8>> {
        actor.require(Permission::PrintAndShip)?;
        self.print_job_in_scope(actor, id).await?;
        let tenant = actor.tenant_id;
        let job = self.store().print_job(tenant, id).await?;
        let skus = self.store().skus(tenant).await?;
        let mut lines = Vec::new();
        let mut warehouses = std::collections::BTreeSet::new();
        let mut bins = HashMap::new();
        for printed in &job.labels {
            let pkg = self
                .store()
                .package_for_waybill(tenant, printed.package_id)
                .await?;
            if warehouses.insert(pkg.warehouse_id) {
                for (sku, bin) in self.store().stock_bins(tenant, pkg.warehouse_id).await? {
                    bins.insert((pkg.warehouse_id, sku), bin);
                }
            }
            for order_id in &pkg.orders {
                let order = self.store().order(tenant, *order_id).await?;
                for line in &order.lines {
                    let sku = line_sku(line, &skus);
                    lines.push(fahuo_labels::PickLine {
                        bin: sku
                            .and_then(|s| bins.get(&(pkg.warehouse_id, s.id)))
                            .cloned()
                            .unwrap_or_else(|| "未指定库位".into()),
                        sku_code: line
                            .sku_code
                            .as_ref()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_else(|| "（未映射）".into()),
                        name: sku
                            .map_or_else(|| line.title.clone(), |s| s.name.as_str().to_string()),
                        barcode: sku
                            .and_then(|s| s.barcode.as_ref())
                            .map(|b| b.as_str().to_string())
                            .unwrap_or_default(),
                        quantity: u32::try_from(line.quantity).unwrap_or(u32::MAX),
                        order_no: order.platform_order_id.as_str().to_string(),
                    });
                }
            }
        }
        let mut names = Vec::new();
        for w in warehouses {
            names.push(
                self.store()
                    .warehouse(tenant, w)
                    .await?
                    .name
                    .as_str()
                    .to_string(),
            );
        }
        let created = job
            .created_at
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
            .format("%Y-%m-%d %H:%M")
            .to_string();
        let list = fahuo_labels::PickList::from_lines(
            "拣货单",
            names.join("、"),
            format!("P{}", job.id),
            created,
            &lines,
        );
        let bytes = if xlsx {
            fahuo_labels::render_pick_list_xlsx(&list)
        } else {
            fahuo_labels::render_pick_list_pdf(&list)
        };
        bytes.map_err(label_error)
    }

    pub async fn print_job(&self, actor: &Actor, id: PrintJobId) -> Result<PrintJob> {
        actor.require(Permission::PrintAndShip)?;
        self.print_job_in_scope(actor, id).await?;
        Ok(self.store().print_job(actor.tenant_id, id).await?)
    }

    /// `NotFound` unless every package of the job ships from a warehouse of the actor's scope
    /// and carries orders of its shops only: a job that is partly outside the scope would show
    /// labels (receivers, numbers) the actor may not see.
    pub(crate) async fn print_job_in_scope(&self, actor: &Actor, id: PrintJobId) -> Result<()> {
        let (warehouses, shops) = self.store().print_job_scope(actor.tenant_id, id).await?;
        if warehouses.iter().all(|w| actor.scope.allows_warehouse(*w))
            && shops.iter().all(|s| actor.scope.allows_shop(*s))
        {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// `NotFound` unless the package ships from a warehouse of the actor's scope and carries
    /// orders of its shops only.
    async fn print_package_in_scope(&self, actor: &Actor, package: PackageId) -> Result<()> {
        let (warehouse, shops) = self.store().package_scope(actor.tenant_id, package).await?;
        actor.check_warehouse(warehouse)?;
        shops.into_iter().try_for_each(|s| actor.check_shop(s))
    }

    /// The packages an order prints as, allocating an approved order first (the warehouse
    /// is chosen as review's allocation would).
    async fn packages_to_print(&self, actor: &Actor, order_id: OrderId) -> Result<Vec<PackageId>> {
        self.order_in_scope(actor, order_id).await?;
        let tenant = actor.tenant_id;
        let existing = self.store().packages_of_order(tenant, order_id).await?;
        if !existing.is_empty() {
            return Ok(existing);
        }
        let order = self.store().order(tenant, order_id).await?;
        match order.state {
            OrderState::Approved => self
                .allocate_planned(tenant, order_id, None, &actor.audit_ref())
                .await?
                .into_packages(),
            state => Err(AppError::IllegalTransition(format!(
                "order is {} ({}); approve it before printing",
                state.as_str(),
                state.label_zh()
            ))),
        }
    }

    /// The job's labels, in page order, with their reprint marks.
    async fn job_labels(
        &self,
        tenant: fahuo_domain::TenantId,
        job: &PrintJob,
    ) -> Result<Vec<fahuo_labels::ShippingLabel>> {
        let accounts = self.store().carrier_accounts(tenant).await?;
        let tags = self.store().sku_tags(tenant).await?;
        let skus = self.store().skus(tenant).await?;
        let mut shops: HashMap<ShopId, ShopLabel> = HashMap::new();
        let mut warehouses = HashMap::new();
        let mut labels = Vec::with_capacity(job.labels.len());
        for printed in &job.labels {
            let pkg = self
                .store()
                .package_for_waybill(tenant, printed.package_id)
                .await?;
            let waybill = pkg.waybill.clone().ok_or_else(|| {
                AppError::Conflict(format!("package {} lost its waybill", pkg.id))
            })?;
            let account = accounts.iter().find(|a| a.carrier == waybill.carrier);
            let Some(account) = account else {
                return Err(AppError::Conflict(format!(
                    "no account for {}",
                    waybill.carrier
                )));
            };
            let orders = self.package_orders(tenant, &pkg).await?;
            if let std::collections::hash_map::Entry::Vacant(slot) =
                warehouses.entry(pkg.warehouse_id)
            {
                slot.insert(self.store().warehouse(tenant, pkg.warehouse_id).await?);
            }
            let req = build_request(&pkg, &orders, &warehouses[&pkg.warehouse_id], account)?;
            let shop = orders[0].shop_id;
            let (logo, promo) = match shops.get(&shop) {
                Some(known) => known.clone(),
                None => {
                    let (logo, promo) = self.store().shop_label_settings(tenant, shop).await?;
                    let settings: ShopLabel = (logo.map(Arc::from), promo);
                    shops.insert(shop, settings.clone());
                    settings
                }
            };
            let tagged = |tag: &str| {
                orders.iter().flat_map(|o| &o.lines).any(|l| {
                    line_sku(l, &skus)
                        .and_then(|sku| tags.get(&sku.id))
                        .is_some_and(|t| t.iter().any(|x| x == tag))
                })
            };
            let carrier_name = fahuo_carriers::Carrier::from_code(waybill.carrier.as_str())
                .map_or_else(
                    || waybill.carrier.as_str().to_string(),
                    |c| c.name_zh().to_string(),
                );
            labels.push(fahuo_labels::ShippingLabel {
                carrier_name,
                waybill_no: printed.tracking_no.clone(),
                sort_code: waybill.sort_code.clone().unwrap_or_default(),
                hub: waybill.hub.clone(),
                receiver: fahuo_labels::Party {
                    name: req.receiver.name.clone(),
                    // 隐私面单: the phone is printed masked.
                    phone: fahuo_domain::pii::mask_phone(&req.receiver.mobile),
                    address: req.receiver.full_address(),
                },
                sender: fahuo_labels::Party {
                    name: req.sender.name.clone(),
                    phone: fahuo_domain::pii::mask_phone(&req.sender.mobile),
                    address: req.sender.full_address(),
                },
                items: req
                    .items
                    .iter()
                    .map(|i| format!("{} ×{}", i.name, i.count))
                    .collect::<Vec<_>>()
                    .join("；"),
                order_ref: Some(req.platform_order_ids.join(" ")),
                logo_png: logo,
                promo,
                cold_chain: tagged("cold_chain"),
                fragile: tagged("fragile"),
                reprint: u32::try_from(printed.reprint).unwrap_or(u32::MAX),
                print_job_id: format!("P{}", job.id),
                qr_payload: None,
            });
        }
        Ok(labels)
    }

    async fn balance_warnings(&self, tenant: fahuo_domain::TenantId) -> Result<Vec<String>> {
        Ok(self
            .store()
            .carrier_accounts(tenant)
            .await?
            .into_iter()
            .filter(|a| a.enabled && a.low_balance())
            .map(|a| {
                format!(
                    "{}: 面单余额不足, {} left (warn below {})",
                    a.name,
                    a.remaining().unwrap_or(0),
                    a.low_balance_threshold
                )
            })
            .collect())
    }
}

const RECYCLE_JOB: &str = "waybill.recycle";

/// Adds the recycling of numbers nobody uses to a job runner, every `every`.
pub fn register(runner: JobRunner, every: chrono::Duration) -> JobRunner {
    runner
        .register(RECYCLE_JOB, |app, _job| {
            async move {
                app.recycle_abandoned_waybills(200)
                    .await
                    .map(drop)
                    .map_err(crate::intake::job_error)
            }
            .boxed()
        })
        .every(RECYCLE_JOB, every)
}

/// How one account's attempt ended.
enum Attempt {
    /// Timed out, 5xx or rate limited after the retries: a number may exist under the key.
    Retryable(Option<fahuo_store::waybills::WaybillRequest>, AppError),
    /// The account refused (no balance, credentials, bad request): no number exists.
    Refused(AppError),
    /// fahuo's own failure (database): stop.
    Fatal(AppError),
}

impl Attempt {
    fn from_platform(
        request: Option<fahuo_store::waybills::WaybillRequest>,
        e: PlatformError,
    ) -> Attempt {
        if e.is_retryable() {
            Attempt::Retryable(request, AppError::Upstream(e.to_string()))
        } else {
            Attempt::Refused(AppError::UpstreamRefused(e.to_string()))
        }
    }
}

fn carrier_of(code: &CarrierCode) -> Result<fahuo_carriers::Carrier> {
    fahuo_carriers::Carrier::from_code(code.as_str()).ok_or_else(|| {
        fahuo_domain::ParseError::new("carrier", format!("{code} is not a known carrier")).into()
    })
}

fn budget(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(800))
}

/// What the services need about a package: sender address (the warehouse; name and phone from
/// the account), receiver (the first order's), items, weight.
fn build_request(
    pkg: &PackageForWaybill,
    orders: &[fahuo_domain::order::Order],
    warehouse: &fahuo_domain::catalog::Warehouse,
    account: &CarrierAccount,
) -> Result<WaybillRequest> {
    let first = orders
        .first()
        .ok_or_else(|| AppError::Conflict(format!("package {} holds no order", pkg.id)))?;
    let r = &first.receiver;
    Ok(WaybillRequest {
        sender: Contact {
            name: account.sender_name.clone(),
            mobile: account.sender_phone.clone(),
            province: warehouse.province.clone(),
            city: warehouse.city.clone(),
            county: warehouse.county.clone(),
            address: warehouse.address.clone(),
        },
        receiver: Contact {
            name: r.name.clone(),
            mobile: r.phone.as_str().to_string(),
            province: r.province.clone(),
            city: r.city.clone(),
            county: r.county.clone(),
            address: r.detail.clone(),
        },
        items: orders
            .iter()
            .flat_map(|o| &o.lines)
            .map(|l| Item {
                name: l.title.clone(),
                count: u32::try_from(l.quantity).unwrap_or(1),
            })
            .collect(),
        // Until the package is weighed, the merchant's usual parcel weight stands in (the
        // carriers re-weigh at pickup; kuaidi100 requires a weight).
        weight_g: Some(pkg.weight_g.unwrap_or(DEFAULT_WEIGHT_G)),
        remark: None,
        platform_order_ids: orders
            .iter()
            .map(|o| o.platform_order_id.as_str().to_string())
            .collect(),
    })
}

/// The catalogue facts carrier selection needs, read once per use-case.
struct SelectionCatalog {
    skus: Vec<fahuo_domain::catalog::Sku>,
    tags: std::collections::HashMap<SkuId, Vec<String>>,
}

/// An order as carrier selection sees it: destination province, weight (mapped SKUs'
/// weights, else the declared default), the shop, the SKUs' tags.
fn selection_package(
    order: &fahuo_domain::order::Order,
    catalog: &SelectionCatalog,
) -> Result<Package> {
    let skus = &catalog.skus;
    let destination = Province::parse(&order.receiver.province)
        .map_err(|e| AppError::Conflict(format!("the receiver's province is not known: {e}")))?;
    let mut weight = 0i64;
    let mut all_weighed = true;
    for line in &order.lines {
        match line_sku(line, skus) {
            Some(sku) => weight += sku.weight.get() * line.quantity,
            None => all_weighed = false,
        }
    }
    if !all_weighed || weight <= 0 {
        weight = weight.max(DEFAULT_WEIGHT_G);
    }
    let mut package = Package::new(
        format!("O{}", order.id),
        order.shop_id.to_string(),
        destination,
        u32::try_from(weight).unwrap_or(u32::MAX),
    );
    for line in &order.lines {
        let line_tags = line_sku(line, skus).and_then(|sku| catalog.tags.get(&sku.id));
        for tag in line_tags.into_iter().flatten() {
            if let Ok(tag) = Tag::parse(tag) {
                package = package.with_tag(tag);
            }
        }
    }
    Ok(package)
}

/// The merchant SKU of an order line: the mapped one, else the one whose code the listing
/// carries (商家编码).
fn line_sku<'a>(
    line: &fahuo_domain::order::OrderLine,
    skus: &'a [fahuo_domain::catalog::Sku],
) -> Option<&'a fahuo_domain::catalog::Sku> {
    match line.sku_id {
        Some(id) => skus.iter().find(|s| s.id == id),
        None => {
            let code = line.sku_code.as_ref()?;
            skus.iter().find(|s| s.code == *code)
        }
    }
}

/// A rule set from the merchant's JSON, checked that it can be used.
fn parse_rule_set(json: serde_json::Value) -> Result<RuleSet> {
    let invalid = |e: String| fahuo_domain::ParseError::new("rules", e);
    let rules: RuleSet = serde_json::from_value(json).map_err(|e| invalid(e.to_string()))?;
    rules.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(rules)
}

impl App {
    /// The latest print jobs of the actor's scope (see [`App::print_job`]), newest first (at most
    /// `limit`, 1–200).
    pub async fn print_jobs(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<fahuo_store::waybills::PrintJobSummary>> {
        actor.require(Permission::PrintAndShip)?;
        Ok(self
            .store()
            .recent_print_jobs(
                actor.tenant_id,
                limit.clamp(1, 200),
                actor.scope.warehouses.as_deref(),
                actor.scope.shops.as_deref(),
            )
            .await?)
    }

    /// 重打: prints a job's labels again, in the same order with the same numbers, each marked
    /// as a reprint (第 N 次打印); a new job is the receipt, and the audit log has the reason.
    /// Never asks for a number: a package whose number was cancelled or changed since is
    /// refused (print its order anew instead).
    pub async fn reprint_job(
        &self,
        actor: &Actor,
        id: PrintJobId,
        reason: &str,
    ) -> Result<PrintJob> {
        actor.require(Permission::PrintAndShip)?;
        let tenant = actor.tenant_id;
        let reason: String = reason.trim().chars().take(500).collect();
        if reason.is_empty() {
            return Err(fahuo_domain::ParseError::new(
                "reason",
                "say why the labels are printed again (e.g. 面单卡纸)",
            )
            .into());
        }
        self.print_job_in_scope(actor, id).await?;
        let job = self.store().print_job(tenant, id).await?;
        for label in &job.labels {
            let pkg = self
                .store()
                .package_for_waybill(tenant, label.package_id)
                .await?;
            if pkg
                .waybill
                .as_ref()
                .is_none_or(|w| w.tracking_no.as_str() != label.tracking_no)
            {
                return Err(AppError::Conflict(format!(
                    "package {} no longer has number {}: it was cancelled or changed; print its order anew",
                    label.package_id, label.tracking_no
                )));
            }
        }
        let packages: Vec<PackageId> = job.labels.iter().map(|l| l.package_id).collect();
        let audit = actor.audit("labels.reprint", "print_job", self.now());
        Ok(self
            .store()
            .record_print_job(
                tenant,
                None,
                &job.label_size,
                &packages,
                Some(&reason),
                &audit,
            )
            .await?)
    }
}
