//! Dropshipping (代发): suppliers ship some SKUs straight to the buyer and report their
//! tracking numbers, which fahuo checks and writes back to the platform like any other.
//!
//! - **Suppliers** and the SKUs each ships are managed by the merchant (`ManageCatalog`).
//! - **Assignment**: review assigns an order's lines whose SKU a supplier ships (the rule,
//!   see `review.rs`); those lines reserve none of the merchant's stock and never enter a
//!   fahuo package. A person may assign or take back lines by hand (`EditOrders`) until they
//!   are in a package or shipped.
//! - **Purchase order** (采购单/代发单): an xlsx of a supplier's open lines with receivers in
//!   clear, because the supplier must ship; every order in it is audited as a reveal.
//! - **The supplier's page** needs no login: a signed, expiring link (HMAC-SHA256 over tenant,
//!   supplier and expiry, keyed by the installation's secret and the supplier's `link_secret`;
//!   rotating the secret revokes every link). Receivers are masked; "show address to ship"
//!   reveals one order, audited as the supplier. Numbers typed, scanned or uploaded go through
//!   the same carrier check and reuse check as a merchant's, then through the outbox.
//! - **Late suppliers**: open assignments past [`supplier_late`], most urgent first.

use crate::shipping::checked_number;
use crate::{Actor, App, AppError, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use fahuo_carriers::Carrier;
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::order::{MaskedReceiver, Order, Receiver};
use fahuo_domain::shipping::{ShipmentSource, supplier_late};
use fahuo_domain::{
    OrderId, OrderLineId, OrderState, ParseError, Permission, ShipmentId, SkuId, SupplierId,
    TenantId,
};
use fahuo_store::shipping::{Created, NewShipment};
use fahuo_store::suppliers::{OpenLine, OpenLineFilter, Supplier};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Open lines one read may return (a page, a purchase order, the late list).
const MAX_OPEN_LINES: i64 = 5_000;
/// Rows one upload on the supplier's page may hold.
pub const SUPPLIER_FILE_MAX_ROWS: usize = 2_000;
/// Bytes one upload on the supplier's page may hold.
pub const SUPPLIER_FILE_MAX_BYTES: usize = 2 * 1024 * 1024;

const LINK_DOMAIN: &str = "fahuo-supplier-link-v1";
const CSRF_DOMAIN: &str = "fahuo-supplier-csrf-v1";

/// A new supplier.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplierInput {
    /// 1 to 50 characters, unique within the merchant.
    pub name: String,
    /// A person, a phone, a WeChat id: whatever the merchant calls them by (up to 100).
    pub contact: Option<String>,
}

/// A change of a supplier; omitted fields stay. `active: false` deactivates it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplierPatch {
    pub name: Option<String>,
    /// An empty string clears it.
    pub contact: Option<String>,
    pub active: Option<bool>,
}

/// Lines of one order given to a supplier by hand.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignInput {
    pub supplier_id: SupplierId,
    /// These lines; empty = every line of the order not in a package and not yet shipped by
    /// a supplier.
    #[serde(default)]
    pub line_ids: Vec<OrderLineId>,
}

/// Lines taken back from their supplier.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnassignInput {
    /// These lines; empty = every line of the order a supplier has not shipped yet.
    #[serde(default)]
    pub line_ids: Vec<OrderLineId>,
}

/// A link for a supplier's page.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplierLink {
    /// `/supplier/{token}`: give it to the supplier with the server's address in front.
    pub path: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// A supplier's open line as the merchant sees it (receiver masked).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupplierLineView {
    pub supplier_id: SupplierId,
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub order_state: OrderState,
    pub ship_by: Option<DateTime<Utc>>,
    pub order_line_id: OrderLineId,
    pub sku_code: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub assigned_at: DateTime<Utc>,
    pub receiver: MaskedReceiver,
}

/// A supplier that has not entered a number in time for one order.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LateAssignment {
    pub supplier_id: SupplierId,
    pub supplier_name: String,
    pub order_id: OrderId,
    pub platform_order_id: String,
    /// The supplier's open lines of the order.
    pub lines: usize,
    pub assigned_at: DateTime<Utc>,
    /// The platform's ship-by deadline (承诺发货时间), if it has one.
    pub ship_by: Option<DateTime<Utc>>,
    /// When the supplier became late: `supplier_hours` after the assignment, or a quarter of
    /// that before the ship-by deadline, whichever is first.
    pub due_at: DateTime<Utc>,
    /// Whole hours since `due_at`.
    pub hours_late: i64,
}

/// A verified supplier link: who is on the page, for which merchant, until when.
#[derive(Clone)]
pub struct SupplierAccess {
    pub tenant_id: TenantId,
    pub supplier_id: SupplierId,
    pub supplier_name: String,
    pub expires_at: DateTime<Utc>,
    token: String,
    link_secret: String,
}

impl std::fmt::Debug for SupplierAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupplierAccess")
            .field("tenant_id", &self.tenant_id)
            .field("supplier_id", &self.supplier_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SupplierAccess {
    /// The audit identity of the supplier on its page.
    pub fn actor(&self) -> ActorRef {
        ActorRef::system(&format!(
            "supplier:{} {}",
            self.supplier_id, self.supplier_name
        ))
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

/// One order on the supplier's page: what to ship, to a masked receiver.
#[derive(Debug, Clone)]
pub struct SupplierOrder {
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub ship_by: Option<DateTime<Utc>>,
    /// (SKU code, title, quantity) of the supplier's lines.
    pub items: Vec<(String, String, i64)>,
    pub receiver: MaskedReceiver,
}

/// An order's receiver in clear, for the supplier who ships it.
#[derive(Debug, Clone)]
pub struct RevealedOrder {
    pub order_id: OrderId,
    pub platform_order_id: String,
    pub receiver: Receiver,
    pub buyer_note: Option<String>,
}

/// What became of one number a supplier entered (typed or a file row).
#[derive(Debug, Clone, Serialize)]
pub struct NumberOutcome {
    /// The file's row number (Excel's), for an upload.
    pub row: Option<u32>,
    pub order_no: String,
    pub carrier: String,
    pub tracking_no: String,
    /// The write-back, when the number was accepted (new or entered before).
    pub shipment_id: Option<ShipmentId>,
    /// What the supplier reads: "已提交" or why not, in Chinese.
    pub message_zh: String,
}

impl NumberOutcome {
    pub fn accepted(&self) -> bool {
        self.shipment_id.is_some()
    }
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(ParseError::new("name", "1 to 50 characters").into());
    }
    Ok(name.to_string())
}

fn clean_contact(contact: Option<&str>) -> Result<Option<String>> {
    match contact.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() > 100 => {
            Err(ParseError::new("contact", "at most 100 characters").into())
        }
        Some(c) => Ok(Some(c.to_string())),
    }
}

fn link_message(tenant: TenantId, supplier: SupplierId, expires: i64) -> String {
    format!("{LINK_DOMAIN}|{tenant}|{supplier}|{expires}")
}

/// Why a number was refused, in Chinese for the supplier. The verdict itself is
/// [`checked_number`]'s; this only says it in words a supplier acts on.
fn number_refusal_zh(carrier_text: &str, number: &str) -> String {
    let carrier = match fahuo_carriers::registry::resolve(carrier_text) {
        Ok((c, _)) => c,
        Err(fahuo_carriers::registry::RegistryError::Ambiguous { carriers, .. }) => {
            let names: Vec<&str> = carriers.iter().map(|c| c.name_zh()).collect();
            return format!(
                "快递公司「{carrier_text}」不明确（可能是 {}），请写全称",
                names.join("、")
            );
        }
        Err(_) if carrier_text.trim().is_empty() => return "请填写快递公司".into(),
        Err(_) => {
            return format!("无法识别快递公司「{carrier_text}」，请填写如 顺丰、中通、圆通、韵达");
        }
    };
    let parsed = match fahuo_carriers::TrackingNo::parse(number) {
        Ok(n) => n,
        Err(_) if number.trim().is_empty() => return "请填写快递单号".into(),
        Err(_) => return format!("单号「{number}」格式不对：只能是字母和数字，请核对后重新填写"),
    };
    match fahuo_carriers::tracking_no::check(carrier, &parsed) {
        Ok(()) => format!("单号 {parsed} 无法用于{}", carrier.name_zh()),
        Err(fahuo_carriers::Why::LooksLike { detected, .. }) => format!(
            "单号 {parsed} 是{}的单号，不是{}：请核对快递公司",
            detected.name_zh(),
            carrier.name_zh()
        ),
        Err(fahuo_carriers::Why::CheckDigit { expected, .. }) => {
            format!("单号 {parsed} 校验位不对（应为 {expected}），可能输错了一位，请核对")
        }
        Err(fahuo_carriers::Why::NoFormatMatches { other, .. }) => {
            let like: Vec<&str> = other.iter().take(3).map(|c| c.name_zh()).collect();
            if like.is_empty() {
                format!(
                    "单号 {parsed} 不符合{}单号的格式，请核对单号和快递公司",
                    carrier.name_zh()
                )
            } else {
                format!(
                    "单号 {parsed} 不符合{}单号的格式，像是{}的单号：请核对快递公司",
                    carrier.name_zh(),
                    like.join("、")
                )
            }
        }
        Err(fahuo_carriers::Why::Malformed(_)) => {
            format!("单号「{number}」格式不对，请核对后重新填写")
        }
    }
}

/// The PO's headers; the last two are left empty for the supplier to fill in and upload.
const PO_HEADERS: [&str; 14] = [
    "订单号",
    "商品编码",
    "商品名称",
    "数量",
    "收件人",
    "手机",
    "省",
    "市",
    "区",
    "详细地址",
    "买家留言",
    "商家备注",
    "快递公司",
    "快递单号",
];

fn purchase_order_xlsx(
    rows: &[(OpenLine, Order)],
) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("代发单")?;
    for (c, h) in PO_HEADERS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *h, &bold)?;
        sheet.set_column_format(c, &text)?;
        sheet.set_column_width(c, if matches!(c, 2 | 9) { 30 } else { 14 })?;
    }
    for (r, (line, order)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        let rc = &order.receiver;
        let cells = [
            line.platform_order_id.as_str(),
            line.sku_code.as_deref().unwrap_or(""),
            line.title.as_str(),
            "",
            rc.name.as_str(),
            rc.phone.as_str(),
            rc.province.as_str(),
            rc.city.as_str(),
            rc.county.as_str(),
            rc.detail.as_str(),
            order.buyer_note.as_deref().unwrap_or(""),
            order.seller_note.as_deref().unwrap_or(""),
        ];
        for (c, v) in cells.into_iter().enumerate() {
            if c == 3 {
                sheet.write_number(r, 3, line.quantity as f64)?;
            } else if !v.is_empty() {
                sheet.write_string_with_format(r, c as u16, v, &text)?;
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

impl App {
    // ------------------------------------------------------------------ suppliers

    pub async fn suppliers(&self, actor: &Actor) -> Result<Vec<Supplier>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().suppliers(actor.tenant_id).await?)
    }

    pub async fn supplier(&self, actor: &Actor, id: SupplierId) -> Result<Supplier> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().supplier(actor.tenant_id, id).await?)
    }

    pub async fn create_supplier(&self, actor: &Actor, input: &SupplierInput) -> Result<Supplier> {
        actor.require(Permission::ManageCatalog)?;
        let name = clean_name(&input.name)?;
        let contact = clean_contact(input.contact.as_deref())?;
        let audit = actor.audit("supplier.create", "supplier", self.now());
        let secret = fahuo_store::pii::random_token(32);
        let id = self
            .store()
            .create_supplier(actor.tenant_id, &name, contact.as_deref(), &secret, &audit)
            .await?;
        Ok(self.store().supplier(actor.tenant_id, id).await?)
    }

    pub async fn update_supplier(
        &self,
        actor: &Actor,
        id: SupplierId,
        patch: &SupplierPatch,
    ) -> Result<Supplier> {
        actor.require(Permission::ManageCatalog)?;
        let current = self.store().supplier(actor.tenant_id, id).await?;
        let name = match &patch.name {
            Some(n) => clean_name(n)?,
            None => current.name,
        };
        let contact = match &patch.contact {
            Some(c) => clean_contact(Some(c))?,
            None => current.contact,
        };
        let active = patch.active.unwrap_or(current.active);
        let audit = actor.audit("supplier.update", "supplier", self.now());
        self.store()
            .update_supplier(
                actor.tenant_id,
                id,
                &name,
                contact.as_deref(),
                active,
                &audit,
            )
            .await?;
        Ok(self.store().supplier(actor.tenant_id, id).await?)
    }

    /// Sets the SKUs a supplier ships. Orders reviewed from now on have those lines assigned
    /// to it; orders already allocated keep their plan.
    pub async fn set_supplier_skus(
        &self,
        actor: &Actor,
        id: SupplierId,
        skus: &[SkuId],
    ) -> Result<Supplier> {
        actor.require(Permission::ManageCatalog)?;
        if skus.len() > 10_000 {
            return Err(ParseError::new("sku_ids", "at most 10000 SKUs").into());
        }
        let mut skus = skus.to_vec();
        skus.sort();
        skus.dedup();
        let audit = actor.audit("supplier.skus", "supplier", self.now());
        self.store()
            .set_supplier_skus(actor.tenant_id, id, &skus, &audit)
            .await?;
        Ok(self.store().supplier(actor.tenant_id, id).await?)
    }

    // ------------------------------------------------------------------ assignment

    /// The SKU rule, run by review before its rules: lines whose SKU an active supplier ships
    /// are assigned to it. Returns the units per SKU the order's dropship lines need (which
    /// the merchant's stock does not have to cover).
    pub(crate) async fn assign_dropship_at_review(
        &self,
        order: &Order,
        mapped: &[Option<(fahuo_domain::catalog::Sku, i64)>],
    ) -> Result<HashMap<SkuId, i64>> {
        let lines: Vec<(OrderLineId, SkuId)> = order
            .lines
            .iter()
            .zip(mapped)
            .filter_map(|(l, m)| m.as_ref().map(|(sku, _)| (l.id, sku.id)))
            .collect();
        let assigned = self
            .store()
            .assign_dropship_by_rule(
                order.tenant_id,
                order.id,
                &lines,
                &ActorRef::system("review"),
                self.now(),
            )
            .await?;
        let mut supplied: HashMap<SkuId, i64> = HashMap::new();
        for d in &assigned {
            let Some((line, Some((sku, per)))) = order
                .lines
                .iter()
                .zip(mapped)
                .find(|(l, _)| l.id == d.order_line_id)
            else {
                continue;
            };
            *supplied.entry(sku.id).or_default() += line.quantity.saturating_mul(*per);
        }
        Ok(supplied)
    }

    /// The order's lines a supplier ships (allocation leaves them out).
    pub(crate) async fn dropship_line_ids(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<std::collections::HashSet<OrderLineId>> {
        Ok(self
            .store()
            .dropship_lines(tenant, order)
            .await?
            .into_iter()
            .map(|d| d.order_line_id)
            .collect())
    }

    pub async fn order_dropship_lines(
        &self,
        actor: &Actor,
        order: OrderId,
    ) -> Result<Vec<fahuo_store::suppliers::DropshipLine>> {
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, order).await?;
        Ok(self.store().dropship_lines(actor.tenant_id, order).await?)
    }

    /// A person gives lines of an order to a supplier. An order still in review or approved
    /// is reviewed again, so its stock follows (lines now the supplier's release the
    /// merchant's reservation need, an out-of-stock hold on them clears).
    pub async fn assign_dropship(
        &self,
        actor: &Actor,
        order: OrderId,
        input: &AssignInput,
    ) -> Result<Vec<fahuo_store::suppliers::DropshipLine>> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, order).await?;
        let tenant = actor.tenant_id;
        let o = self.store().order(tenant, order).await?;
        let lines = if input.line_ids.is_empty() {
            let shipped: Vec<OrderLineId> = self
                .store()
                .dropship_lines(tenant, order)
                .await?
                .into_iter()
                .filter(|d| d.shipment_id.is_some())
                .map(|d| d.order_line_id)
                .collect();
            o.lines
                .iter()
                .map(|l| l.id)
                .filter(|l| !shipped.contains(l))
                .collect()
        } else {
            input.line_ids.clone()
        };
        if lines.is_empty() {
            return Err(ParseError::new("line_ids", "no line to assign").into());
        }
        let mut audit = actor.audit("dropship.assign", "order", self.now());
        audit.entity_id = Some(order.get());
        self.store()
            .assign_dropship(tenant, order, input.supplier_id, &lines, &audit)
            .await?;
        self.review_again(tenant, order, &actor.audit_ref()).await?;
        Ok(self.store().dropship_lines(tenant, order).await?)
    }

    /// A person takes lines back from their supplier: the merchant ships them. An allocated
    /// order is taken back and allocated again with them; an order with a fahuo number is
    /// refused (its parcel is planned without these lines).
    pub async fn unassign_dropship(
        &self,
        actor: &Actor,
        order: OrderId,
        input: &UnassignInput,
    ) -> Result<Vec<fahuo_store::suppliers::DropshipLine>> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, order).await?;
        let tenant = actor.tenant_id;
        let o = self.store().order(tenant, order).await?;
        let lines = if input.line_ids.is_empty() {
            self.store()
                .dropship_lines(tenant, order)
                .await?
                .into_iter()
                .filter(|d| d.shipment_id.is_none())
                .map(|d| d.order_line_id)
                .collect()
        } else {
            input.line_ids.clone()
        };
        if lines.is_empty() {
            return Err(ParseError::new("line_ids", "no assigned line to take back").into());
        }
        match o.state {
            OrderState::New | OrderState::OnHold | OrderState::Approved => {}
            OrderState::Allocated => {
                let mut audit = actor.audit("order.deallocate", "order", self.now());
                audit.entity_id = Some(order.get());
                audit.after = Some(serde_json::json!({ "why": "dropship.unassign" }));
                self.store().deallocate_order(tenant, order, &audit).await?;
            }
            state => {
                return Err(AppError::IllegalTransition(format!(
                    "order is {} ({}): its parcel already has a number without these lines; \
                     ship them by hand with their own number",
                    state.as_str(),
                    state.label_zh()
                )));
            }
        }
        let mut audit = actor.audit("dropship.unassign", "order", self.now());
        audit.entity_id = Some(order.get());
        self.store()
            .unassign_dropship(tenant, order, &lines, &audit)
            .await?;
        self.review_again(tenant, order, &actor.audit_ref()).await?;
        Ok(self.store().dropship_lines(tenant, order).await?)
    }

    async fn review_again(&self, tenant: TenantId, order: OrderId, actor: &ActorRef) -> Result<()> {
        let state = self.store().order_state(tenant, order).await?;
        if matches!(
            state,
            OrderState::New | OrderState::OnHold | OrderState::Approved
        ) {
            self.review_order(tenant, order, actor).await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ lines, PO, late list

    /// A supplier's open lines, receivers masked.
    pub async fn supplier_lines(
        &self,
        actor: &Actor,
        supplier: SupplierId,
    ) -> Result<Vec<SupplierLineView>> {
        actor.require(Permission::ViewOrders)?;
        let tenant = actor.tenant_id;
        self.store().supplier(tenant, supplier).await?;
        let lines = self.open_lines(tenant, Some(supplier), None).await?;
        let mut orders: HashMap<OrderId, Order> = HashMap::new();
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            if let std::collections::hash_map::Entry::Vacant(e) = orders.entry(l.order_id) {
                e.insert(self.store().order(tenant, l.order_id).await?);
            }
            // Lines of orders of shops outside the actor's scope are not the actor's to see.
            if !actor.scope.allows_shop(orders[&l.order_id].shop_id) {
                continue;
            }
            let receiver = orders[&l.order_id].receiver.masked();
            out.push(SupplierLineView {
                supplier_id: l.supplier_id,
                order_id: l.order_id,
                platform_order_id: l.platform_order_id,
                order_state: l.order_state,
                ship_by: l.ship_by,
                order_line_id: l.order_line_id,
                sku_code: l.sku_code,
                title: l.title,
                quantity: l.quantity,
                assigned_at: l.assigned_at,
                receiver,
            });
        }
        Ok(out)
    }

    async fn open_lines(
        &self,
        tenant: TenantId,
        supplier: Option<SupplierId>,
        order: Option<OrderId>,
    ) -> Result<Vec<OpenLine>> {
        Ok(self
            .store()
            .open_dropship_lines(
                tenant,
                OpenLineFilter {
                    supplier,
                    order,
                    limit: MAX_OPEN_LINES,
                },
            )
            .await?)
    }

    /// The purchase order (代发单.xlsx) of a supplier's open lines, receivers in clear (the
    /// supplier must ship): a reveal, so it needs `RevealReceiver` and every order in it is
    /// audited. Returns the file name and the bytes.
    pub async fn purchase_order(
        &self,
        actor: &Actor,
        supplier: SupplierId,
    ) -> Result<(String, Vec<u8>)> {
        actor.require(Permission::RevealReceiver)?;
        let tenant = actor.tenant_id;
        let s = self.store().supplier(tenant, supplier).await?;
        let lines = self.open_lines(tenant, Some(supplier), None).await?;
        let mut orders: HashMap<OrderId, Order> = HashMap::new();
        for l in &lines {
            if let std::collections::hash_map::Entry::Vacant(e) = orders.entry(l.order_id) {
                e.insert(self.store().order(tenant, l.order_id).await?);
            }
        }
        orders.retain(|_, o| actor.scope.allows_shop(o.shop_id));
        let rows: Vec<(OpenLine, Order)> = lines
            .into_iter()
            .filter(|l| orders.contains_key(&l.order_id))
            .map(|l| {
                let o = orders[&l.order_id].clone();
                (l, o)
            })
            .collect();
        let bytes = purchase_order_xlsx(&rows)
            .map_err(|e| AppError::Internal(format!("purchase order: {e}")))?;
        let now = self.now();
        let mut ids: Vec<OrderId> = orders.keys().copied().collect();
        ids.sort();
        for id in ids {
            let mut audit = actor.audit("receiver.reveal", "order", now);
            audit.entity_id = Some(id.get());
            audit.after = Some(serde_json::json!({
                "via": "purchase_order", "supplier_id": supplier,
            }));
            self.store().append_audit(&audit).await?;
        }
        let name = format!(
            "代发单-{}-{}.xlsx",
            s.name,
            now.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"))
                .format("%Y%m%d%H%M")
        );
        Ok((name, bytes))
    }

    /// Assignments without a number past the supplier's deadline, most urgent first (the
    /// nearest platform ship-by deadline; without one, the longest overdue).
    pub async fn late_suppliers(&self, actor: &Actor) -> Result<Vec<LateAssignment>> {
        actor.require(Permission::ViewOrders)?;
        let tenant = actor.tenant_id;
        let settings = self.shipping_settings(tenant).await?;
        let now = self.now();
        let allowed = Duration::hours(i64::from(settings.supplier_hours));
        let mut grouped: BTreeMap<(OrderId, SupplierId), LateAssignment> = BTreeMap::new();
        for l in self.open_lines(tenant, None, None).await? {
            if !supplier_late(l.assigned_at, l.ship_by, &settings, now) {
                continue;
            }
            let mut due = l.assigned_at + allowed;
            if let Some(deadline) = l.ship_by {
                due = due.min(deadline - allowed / 4);
            }
            let entry = grouped
                .entry((l.order_id, l.supplier_id))
                .or_insert_with(|| LateAssignment {
                    supplier_id: l.supplier_id,
                    supplier_name: l.supplier_name.clone(),
                    order_id: l.order_id,
                    platform_order_id: l.platform_order_id.clone(),
                    lines: 0,
                    assigned_at: l.assigned_at,
                    ship_by: l.ship_by,
                    due_at: due,
                    hours_late: 0,
                });
            entry.lines += 1;
            entry.assigned_at = entry.assigned_at.min(l.assigned_at);
            entry.due_at = entry.due_at.min(due);
            entry.hours_late = (now - entry.due_at).num_hours().max(0);
        }
        let mut out = Vec::with_capacity(grouped.len());
        for late in grouped.into_values() {
            if self.order_in_scope(actor, late.order_id).await.is_ok() {
                out.push(late);
            }
        }
        out.sort_by_key(|a| (a.ship_by.is_none(), a.ship_by, a.due_at, a.order_id));
        Ok(out)
    }

    // ------------------------------------------------------------------ links

    /// A link for the supplier's page, valid `supplier_link_days`.
    pub async fn supplier_link(&self, actor: &Actor, supplier: SupplierId) -> Result<SupplierLink> {
        actor.require(Permission::ManageCatalog)?;
        let tenant = actor.tenant_id;
        let Some((secret, _, active)) = self.store().supplier_link_secret(tenant, supplier).await?
        else {
            return Err(AppError::NotFound);
        };
        if !active {
            return Err(AppError::Conflict(
                "the supplier is deactivated; activate it before sending a link".into(),
            ));
        }
        let days = self.shipping_settings(tenant).await?.supplier_link_days;
        let expires_at = self.now() + Duration::days(i64::from(days));
        let exp = expires_at.timestamp();
        let tag = self
            .store()
            .supplier_link_tag(&secret, &link_message(tenant, supplier, exp));
        let token = format!(
            "{}.{}.{}.{}",
            tenant,
            supplier,
            exp,
            URL_SAFE_NO_PAD.encode(tag)
        );
        let mut audit = actor.audit("supplier.link", "supplier", self.now());
        audit.entity_id = Some(supplier.get());
        audit.after = Some(serde_json::json!({ "expires_at": expires_at }));
        self.store().append_audit(&audit).await?;
        Ok(SupplierLink {
            path: format!("/supplier/{token}"),
            token,
            expires_at: chrono::DateTime::from_timestamp(exp, 0).unwrap_or(expires_at),
        })
    }

    /// Revokes every link of the supplier handed out so far.
    pub async fn rotate_supplier_link(&self, actor: &Actor, supplier: SupplierId) -> Result<()> {
        actor.require(Permission::ManageCatalog)?;
        let audit = actor.audit("supplier.link_rotate", "supplier", self.now());
        self.store()
            .set_supplier_link_secret(
                actor.tenant_id,
                supplier,
                &fahuo_store::pii::random_token(32),
                &audit,
            )
            .await?;
        Ok(())
    }

    /// Checks a link: well formed, signed with the supplier's current secret, not expired,
    /// supplier active. Every failure is the same `Unauthenticated` (no hint which).
    pub async fn supplier_access(&self, token: &str) -> Result<SupplierAccess> {
        let denied = || AppError::Unauthenticated;
        if token.len() > 200 {
            return Err(denied());
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [tenant, supplier, exp, tag] = parts.as_slice() else {
            return Err(denied());
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(tenant) || !digits(supplier) || !digits(exp) {
            return Err(denied());
        }
        let tenant = TenantId(tenant.parse().map_err(|_| denied())?);
        let supplier = SupplierId(supplier.parse().map_err(|_| denied())?);
        let exp: i64 = exp.parse().map_err(|_| denied())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| denied())?;
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or_else(denied)?;
        if expires_at <= self.now() {
            return Err(denied());
        }
        let Some((secret, name, active)) =
            self.store().supplier_link_secret(tenant, supplier).await?
        else {
            return Err(denied());
        };
        if !self.store().supplier_link_tag_matches(
            &secret,
            &link_message(tenant, supplier, exp),
            &tag,
        ) || !active
        {
            return Err(denied());
        }
        Ok(SupplierAccess {
            tenant_id: tenant,
            supplier_id: supplier,
            supplier_name: name,
            expires_at,
            token: token.to_string(),
            link_secret: secret,
        })
    }

    /// The CSRF token of the supplier's forms, bound to the link.
    pub fn supplier_csrf(&self, access: &SupplierAccess) -> String {
        let tag = self.store().supplier_link_tag(
            &access.link_secret,
            &format!("{CSRF_DOMAIN}|{}", access.token),
        );
        URL_SAFE_NO_PAD.encode(tag)
    }

    pub fn supplier_csrf_matches(&self, access: &SupplierAccess, sent: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(sent.trim()) else {
            return false;
        };
        self.store().supplier_link_tag_matches(
            &access.link_secret,
            &format!("{CSRF_DOMAIN}|{}", access.token),
            &tag,
        )
    }

    // ------------------------------------------------------------------ the supplier's page

    /// The supplier's orders to ship, oldest assignment first, receivers masked.
    pub async fn supplier_orders(&self, access: &SupplierAccess) -> Result<Vec<SupplierOrder>> {
        let lines = self
            .open_lines(access.tenant_id, Some(access.supplier_id), None)
            .await?;
        let mut out: Vec<SupplierOrder> = Vec::new();
        for l in lines {
            let item = (l.sku_code.unwrap_or_default(), l.title, l.quantity);
            if let Some(o) = out.iter_mut().find(|o| o.order_id == l.order_id) {
                o.items.push(item);
                continue;
            }
            let order = self.store().order(access.tenant_id, l.order_id).await?;
            out.push(SupplierOrder {
                order_id: l.order_id,
                platform_order_id: l.platform_order_id,
                ship_by: l.ship_by,
                items: vec![item],
                receiver: order.receiver.masked(),
            });
        }
        Ok(out)
    }

    /// "Show address to ship": one of the supplier's open orders with its receiver in
    /// clear, audited as the supplier.
    pub async fn supplier_reveal(
        &self,
        access: &SupplierAccess,
        order: OrderId,
    ) -> Result<RevealedOrder> {
        let lines = self
            .open_lines(access.tenant_id, Some(access.supplier_id), Some(order))
            .await?;
        if lines.is_empty() {
            return Err(AppError::NotFound);
        }
        let o = self.store().order(access.tenant_id, order).await?;
        self.store()
            .append_audit(&AuditEntry {
                tenant_id: access.tenant_id,
                actor: access.actor(),
                action: "receiver.reveal".into(),
                entity_type: "order".into(),
                entity_id: Some(order.get()),
                before: None,
                after: Some(serde_json::json!({
                    "via": "supplier_link", "supplier_id": access.supplier_id,
                })),
                at: self.now(),
            })
            .await?;
        Ok(RevealedOrder {
            order_id: order,
            platform_order_id: o.platform_order_id.to_string(),
            receiver: o.receiver,
            buyer_note: o.buyer_note,
        })
    }

    /// A number the supplier entered for one of its orders. Refusals are outcomes with a
    /// Chinese message (wrong carrier, check digit, reused, not the supplier's order); only
    /// an internal failure is an error.
    pub async fn supplier_ship(
        &self,
        access: &SupplierAccess,
        order: OrderId,
        carrier_text: &str,
        number: &str,
    ) -> Result<NumberOutcome> {
        let lines = self
            .open_lines(access.tenant_id, Some(access.supplier_id), Some(order))
            .await?;
        let order_no = lines
            .first()
            .map(|l| l.platform_order_id.clone())
            .unwrap_or_default();
        self.ship_lines(access, order, order_no, &lines, carrier_text, number, None)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn ship_lines(
        &self,
        access: &SupplierAccess,
        order: OrderId,
        order_no: String,
        lines: &[OpenLine],
        carrier_text: &str,
        number: &str,
        row: Option<u32>,
    ) -> Result<NumberOutcome> {
        let carrier_text: String = carrier_text.trim().chars().take(40).collect();
        let number_text: String = number.trim().chars().take(40).collect();
        let mut outcome = NumberOutcome {
            row,
            order_no,
            carrier: carrier_text.clone(),
            tracking_no: number_text.clone(),
            shipment_id: None,
            message_zh: String::new(),
        };
        if lines.is_empty() {
            outcome.message_zh =
                "该订单不在您的待发货列表中（可能已发货、已取消或被商家收回）".into();
            return Ok(outcome);
        }
        let (carrier, number): (Carrier, String) = match checked_number(&carrier_text, &number_text)
        {
            Ok(ok) => ok,
            Err(_) => {
                outcome.message_zh = number_refusal_zh(&carrier_text, &number_text);
                return Ok(outcome);
            }
        };
        outcome.carrier = carrier.name_zh().to_string();
        outcome.tracking_no = number.clone();
        match self
            .refuse_reused_number(access.tenant_id, order, &number)
            .await
        {
            Ok(()) => {}
            Err(AppError::Conflict(_)) => {
                outcome.message_zh =
                    format!("单号 {number} 已用于另一个订单，一个包裹不能发给两个买家：请核对单号");
                return Ok(outcome);
            }
            Err(e) => return Err(e),
        }
        let shipment = NewShipment {
            order_id: order,
            package_id: None,
            carrier_code: carrier.code().to_string(),
            tracking_no: number.clone(),
            items: lines
                .iter()
                .map(|l| (l.order_line_id, l.quantity))
                .collect(),
            source: ShipmentSource::Supplier,
            import_id: None,
            supplier_id: Some(access.supplier_id),
        };
        match self
            .store()
            .record_supplier_shipment(
                access.tenant_id,
                access.supplier_id,
                &shipment,
                &access.actor(),
                self.now(),
            )
            .await
        {
            Ok(Created::New(id)) => {
                outcome.shipment_id = Some(id);
                outcome.message_zh = format!("已提交：{} {number}", carrier.name_zh());
            }
            Ok(Created::Existing(id)) => {
                outcome.shipment_id = Some(id);
                outcome.message_zh = format!("该订单已提交过单号 {number}");
            }
            Err(fahuo_store::StoreError::Conflict(_) | fahuo_store::StoreError::Stale(_)) => {
                outcome.message_zh =
                    "订单刚刚发生变化（已发货、被取消或被商家收回），请刷新页面后重试".into();
            }
            Err(e) => return Err(e.into()),
        }
        Ok(outcome)
    }

    /// A file of 订单号 / 快递公司 / 快递单号 from the supplier: each row is checked and
    /// shipped like a typed number; one outcome per row. A file that cannot be read at all is
    /// an `Import` error.
    pub async fn supplier_upload(
        &self,
        access: &SupplierAccess,
        bytes: &[u8],
    ) -> Result<Vec<NumberOutcome>> {
        let limits = crate::import::Limits {
            max_bytes: SUPPLIER_FILE_MAX_BYTES,
            max_rows: SUPPLIER_FILE_MAX_ROWS,
            ..crate::batch::file::shipment_limits()
        };
        let file = crate::batch::file::parse_shipment_file(bytes, &limits)?;
        let open = self
            .open_lines(access.tenant_id, Some(access.supplier_id), None)
            .await?;
        let mut out = Vec::with_capacity(file.rows.len());
        for row in &file.rows {
            let order_no = row.order_no.trim().to_string();
            let lines: Vec<OpenLine> = open
                .iter()
                .filter(|l| l.platform_order_id == order_no)
                .cloned()
                .collect();
            let order = lines.first().map(|l| l.order_id).unwrap_or(OrderId(0));
            // Lines this upload already shipped are no longer open: re-read per order.
            let lines = if lines.is_empty() {
                lines
            } else {
                let still = self
                    .open_lines(access.tenant_id, Some(access.supplier_id), Some(order))
                    .await?;
                if still.is_empty() { lines } else { still }
            };
            out.push(
                self.ship_lines(
                    access,
                    order,
                    order_no,
                    &lines,
                    &row.carrier_text,
                    &row.tracking_text,
                    Some(row.row),
                )
                .await?,
            );
        }
        Ok(out)
    }
}
