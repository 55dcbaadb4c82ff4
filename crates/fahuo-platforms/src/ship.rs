//! Shipping write-back (发货回传): reporting a parcel's carrier and number to the platform,
//! changing them afterwards, and the platform's own carrier list.
//!
//! | | WeChat Shop | Douyin Shop | Xiaohongshu |
//! |---|---|---|---|
//! | ship | `order/delivery/send`, one `delivery_list` entry with `product_infos` | whole order not yet touched: `order.logisticsAdd`; lines, or the rest of a partly shipped order: `order.logisticsAddSinglePack` | `order.orderDeliver`; lines: `unpack` + `skuIdList` |
//! | change | `order/deliveryinfo/update`, per-package `change_infos` | `order.logisticsEdit` (order shipped whole, one parcel), else `order.logisticsEditByPack` | `order.modifyOrderExpressInfo` with `oldExpressNo` |
//! | carriers | `order/deliverycompanylist/new/get`, `ewaybill_only: false` | `order.logisticsCompanyList` | `common.getExpressCompanyList` |
//!
//! # Exactly once
//!
//! Calls go through the client's rate limiter and retries, so a timeout after the platform
//! accepted is retried, and the retry meets "already shipped". Whenever the platform refuses a
//! ship call, the order's detail is read again (without decrypting anything) and decides:
//! this carrier and number are among the shipped parcels → [`ShipOutcome::AlreadyShipped`]; the
//! order, or the requested lines, already went with other numbers →
//! [`PlatformError::ShipConflict`]; otherwise the platform's own refusal comes back as
//! [`PlatformError::Invalid`] with its code. Numbers compare case-insensitively and without
//! spaces; carriers case-insensitively.
//!
//! WeChat and Douyin (whole orders) read the detail first as well: WeChat needs each line's
//! `product_id`, which intake does not keep (it is looked up by `platform_line_id` =
//! `product_unique_id`, else `platform_sku_id`), and Douyin needs to know whether the order is
//! untouched (`logisticsAdd`) or partly shipped (`logisticsAddSinglePack` with the rest). A parcel
//! found there already is answered `AlreadyShipped` without a call.
//!
//! Douyin's `logisticsAddSinglePack` carries a `request_id` that the platform answers
//! idempotently; fahuo derives it from order, carrier, number and lines, so a retry from any
//! process is recognised by the platform itself.
//!
//! # Platform limits worth knowing
//!
//! * Xiaohongshu's split shipping names SKUs, not quantities: the platform ships every
//!   remaining unit of each listed SKU, whatever `ShipItem::quantity` says.
//! * WeChat allows three changes per order while it is open, none after split shipping
//!   (606040); Douyin's `logisticsEdit` only edits orders shipped whole; Xiaohongshu allows
//!   changes only between shipping and delivery. Refusals come back as `Invalid` with the
//!   platform's code.
//! * `logisticsAddSinglePack` and `logisticsEditByPack` are only named in the reference; their
//!   fields follow the official docs as copied into a third-party SDK (see `douyin.rs`).

use crate::client::PlatformClient;
use crate::error::PlatformError;
use crate::model::{PlatformStatus, PulledOrder, ShippedPackage};
use crate::{douyin, wechat, xiaohongshu};
use fahuo_domain::Platform;

/// One parcel to report to the platform as shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipRequest {
    pub platform_order_id: String,
    /// The platform's own carrier code, already mapped by the caller (WeChat `delivery_id`,
    /// Douyin `company_code`, Xiaohongshu `expressCompanyCode`).
    pub carrier_code: String,
    /// The carrier's display name (Douyin `company`, Xiaohongshu `expressCompanyName`).
    pub carrier_name: String,
    pub tracking_no: String,
    /// The order lines in this parcel, with the ids intake stored for them (`platform_line_id`
    /// / `platform_sku_id` of the pulled lines). Empty means "every unit not yet shipped".
    pub items: Vec<ShipItem>,
}

/// One order line (or part of it) in a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipItem {
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    pub quantity: u32,
}

/// How a ship call ended, when it ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipOutcome {
    /// The platform accepted this parcel now.
    Shipped,
    /// The platform already had this parcel with this same carrier and number (a retry after a
    /// lost answer, a crash, or someone shipping it by hand): success, nothing changed.
    AlreadyShipped,
}

/// Change the carrier/number of a parcel already reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeShipment {
    pub platform_order_id: String,
    pub old_carrier_code: String,
    pub old_tracking_no: String,
    pub new_carrier_code: String,
    pub new_carrier_name: String,
    pub new_tracking_no: String,
    /// The parcel's lines (WeChat's per-package `change_infos` form needs them); empty = whole
    /// order. WeChat takes the parcel's lines from the order's detail when it finds the parcel
    /// there, so these are only a fallback.
    pub items: Vec<ShipItem>,
}

/// One entry of a platform's carrier list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCarrier {
    /// The platform's code (`delivery_id`, `code`, `expressCompanyCode`).
    pub code: String,
    pub name: String,
}

/// A parcel the platform already has for an order, as [`PlatformError::ShipConflict`] names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedParcel {
    pub carrier_code: String,
    pub tracking_no: String,
}

impl ShippedParcel {
    /// `"SF SF1234, ZTO 7500…"` for messages.
    pub(crate) fn list(parcels: &[ShippedParcel]) -> String {
        parcels
            .iter()
            .map(|p| format!("{} {}", p.carrier_code, p.tracking_no))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl PlatformClient {
    /// Reports one parcel as shipped; see the [module docs](crate::ship) for what each platform
    /// is sent and how retries and refusals are decided.
    pub async fn ship(&self, req: &ShipRequest) -> Result<ShipOutcome, PlatformError> {
        validate_ship(req)?;
        match self.platform {
            Platform::Wechat => wechat::ship(self, req).await,
            Platform::Douyin => douyin::ship(self, req).await,
            Platform::Xiaohongshu => xiaohongshu::ship(self, req).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// Changes the carrier/number of a parcel already reported. A retry after the platform
    /// accepted (the new parcel is there, the old one gone) is a success.
    pub async fn change_shipment(&self, req: &ChangeShipment) -> Result<(), PlatformError> {
        for (what, v) in [
            ("order id", &req.platform_order_id),
            ("old tracking number", &req.old_tracking_no),
            ("new carrier code", &req.new_carrier_code),
            ("new tracking number", &req.new_tracking_no),
        ] {
            if v.trim().is_empty() {
                return Err(PlatformError::Config(format!("empty {what}")));
            }
        }
        validate_items(&req.items)?;
        if same_carrier(&req.old_carrier_code, &req.new_carrier_code)
            && same_number(&req.old_tracking_no, &req.new_tracking_no)
        {
            return Ok(());
        }
        match self.platform {
            Platform::Wechat => wechat::change_shipment(self, req).await,
            Platform::Douyin => douyin::change_shipment(self, req).await,
            Platform::Xiaohongshu => xiaohongshu::change_shipment(self, req).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// The platform's live carrier list (WeChat `deliverycompanylist/new/get` with
    /// `ewaybill_only=false`, Douyin `order.logisticsCompanyList`, Xiaohongshu
    /// `common.getExpressCompanyList`).
    pub async fn carrier_list(&self) -> Result<Vec<PlatformCarrier>, PlatformError> {
        match self.platform {
            Platform::Wechat => wechat::carrier_list(self).await,
            Platform::Douyin => douyin::carrier_list(self).await,
            Platform::Xiaohongshu => xiaohongshu::carrier_list(self).await,
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }
}

fn validate_ship(req: &ShipRequest) -> Result<(), PlatformError> {
    for (what, v) in [
        ("order id", &req.platform_order_id),
        ("carrier code", &req.carrier_code),
        ("tracking number", &req.tracking_no),
    ] {
        if v.trim().is_empty() {
            return Err(PlatformError::Config(format!("empty {what}")));
        }
    }
    validate_items(&req.items)
}

fn validate_items(items: &[ShipItem]) -> Result<(), PlatformError> {
    for it in items {
        if it.quantity == 0 {
            return Err(PlatformError::Config(
                "a parcel line with quantity 0".into(),
            ));
        }
        if it
            .platform_line_id
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
            && it
                .platform_sku_id
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return Err(PlatformError::Config(
                "a parcel line without a line id or sku id".into(),
            ));
        }
    }
    Ok(())
}

/// A tracking number as compared: upper case, no whitespace.
pub(crate) fn norm_number(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

pub(crate) fn same_number(a: &str, b: &str) -> bool {
    norm_number(a) == norm_number(b)
}

pub(crate) fn same_carrier(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether a package the platform reports is this carrier and number. A package without a
/// carrier code (some platforms leave it out) matches on the number alone.
pub(crate) fn is_parcel(p: &ShippedPackage, carrier: &str, number: &str) -> bool {
    same_number(&p.tracking_no, number)
        && (p.carrier.trim().is_empty() || same_carrier(&p.carrier, carrier))
}

/// The same line: by line id when both sides have one, else by sku id.
pub(crate) fn same_line(
    a_line: Option<&str>,
    a_sku: Option<&str>,
    b_line: Option<&str>,
    b_sku: Option<&str>,
) -> bool {
    match (a_line, b_line) {
        (Some(a), Some(b)) => a == b,
        _ => matches!((a_sku, b_sku), (Some(a), Some(b)) if a == b),
    }
}

/// Units of each of the order's lines already in a parcel (a package item without a quantity
/// counts as the whole line), in the order of `order.order.lines`.
pub(crate) fn shipped_per_line(order: &PulledOrder) -> Vec<i64> {
    order
        .order
        .lines
        .iter()
        .map(|l| {
            order
                .shipped_packages
                .iter()
                .flat_map(|p| &p.items)
                .filter(|i| {
                    same_line(
                        l.platform_line_id.as_deref(),
                        l.platform_sku_id.as_deref(),
                        i.platform_line_id.as_deref(),
                        i.platform_sku_id.as_deref(),
                    )
                })
                .map(|i| i.quantity.unwrap_or(l.quantity))
                .sum::<i64>()
                .min(l.quantity)
        })
        .collect()
}

/// Units of each line still to ship: not shipped, not refunded.
pub(crate) fn remaining_per_line(order: &PulledOrder) -> Vec<i64> {
    let shipped = shipped_per_line(order);
    order
        .order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let refunded = order
                .lines_after_sale
                .get(i)
                .is_some_and(|a| a.state == crate::model::AfterSale::Refunded);
            if refunded {
                0
            } else {
                (l.quantity - shipped[i]).max(0)
            }
        })
        .collect()
}

fn parcel_of(p: &ShippedPackage) -> ShippedParcel {
    ShippedParcel {
        carrier_code: p.carrier.clone(),
        tracking_no: p.tracking_no.clone(),
    }
}

/// Whether the order already has this parcel.
pub(crate) fn already_has(order: &PulledOrder, req: &ShipRequest) -> bool {
    order
        .shipped_packages
        .iter()
        .any(|p| is_parcel(p, &req.carrier_code, &req.tracking_no))
}

/// The parcels that already took what `req` asks to ship, when they leave too little of it:
/// the whole order when `items` is empty, else the requested lines. Empty when there is no
/// conflict.
pub(crate) fn conflicting(order: &PulledOrder, req: &ShipRequest) -> Vec<ShippedParcel> {
    let packages = &order.shipped_packages;
    if packages.is_empty() {
        return Vec::new();
    }
    if req.items.is_empty() {
        let done = matches!(
            order.status,
            PlatformStatus::Shipped | PlatformStatus::Completed
        ) || remaining_per_line(order).iter().all(|r| *r == 0);
        return if done {
            packages.iter().map(parcel_of).collect()
        } else {
            Vec::new()
        };
    }
    let shipped = shipped_per_line(order);
    let mut out: Vec<ShippedParcel> = Vec::new();
    for it in &req.items {
        let Some(li) = order.order.lines.iter().position(|l| {
            same_line(
                it.platform_line_id.as_deref(),
                it.platform_sku_id.as_deref(),
                l.platform_line_id.as_deref(),
                l.platform_sku_id.as_deref(),
            )
        }) else {
            continue;
        };
        let line = &order.order.lines[li];
        if shipped[li] == 0 || line.quantity - shipped[li] >= i64::from(it.quantity) {
            continue;
        }
        for p in packages {
            let carries = p.items.iter().any(|i| {
                same_line(
                    line.platform_line_id.as_deref(),
                    line.platform_sku_id.as_deref(),
                    i.platform_line_id.as_deref(),
                    i.platform_sku_id.as_deref(),
                )
            });
            let parcel = parcel_of(p);
            if carries && !out.contains(&parcel) {
                out.push(parcel);
            }
        }
    }
    out
}

/// Decides a refused ship call from the order as the platform shows it now.
pub(crate) fn after_refusal(
    order: &PulledOrder,
    req: &ShipRequest,
    refusal: PlatformError,
) -> Result<ShipOutcome, PlatformError> {
    if already_has(order, req) {
        return Ok(ShipOutcome::AlreadyShipped);
    }
    let shipped = conflicting(order, req);
    if !shipped.is_empty() {
        return Err(PlatformError::ShipConflict { shipped });
    }
    Err(refusal)
}

/// Whether a change already happened: the new parcel is there and the old one is gone.
pub(crate) fn change_done(order: &PulledOrder, req: &ChangeShipment) -> bool {
    let has = |c: &str, n: &str| order.shipped_packages.iter().any(|p| is_parcel(p, c, n));
    has(&req.new_carrier_code, &req.new_tracking_no)
        && !order
            .shipped_packages
            .iter()
            .any(|p| same_number(&p.tracking_no, &req.old_tracking_no))
}

/// Runs a ship call; on a platform refusal, reads the order again and decides.
pub(crate) async fn ship_then_decide<S, R>(
    req: &ShipRequest,
    send: S,
    reread: impl FnOnce() -> R,
) -> Result<ShipOutcome, PlatformError>
where
    S: Future<Output = Result<(), PlatformError>>,
    R: Future<Output = Result<PulledOrder, PlatformError>>,
{
    match send.await {
        Ok(()) => Ok(ShipOutcome::Shipped),
        Err(refusal @ PlatformError::Invalid { .. }) => {
            let order = reread().await?;
            after_refusal(&order, req, refusal)
        }
        Err(e) => Err(e),
    }
}

/// Runs a change call; on a platform refusal, reads the order again: a change already made
/// (a retry after a lost answer) is a success.
pub(crate) async fn change_then_decide<S, R>(
    req: &ChangeShipment,
    send: S,
    reread: impl FnOnce() -> R,
) -> Result<(), PlatformError>
where
    S: Future<Output = Result<(), PlatformError>>,
    R: Future<Output = Result<PulledOrder, PlatformError>>,
{
    match send.await {
        Ok(()) => Ok(()),
        Err(refusal @ PlatformError::Invalid { .. }) => {
            let order = reread().await?;
            if change_done(&order, req) {
                Ok(())
            } else {
                Err(refusal)
            }
        }
        Err(e) => Err(e),
    }
}

/// A short, stable idempotency key for a ship request (Douyin `request_id`): order, carrier,
/// normalised number and lines.
pub(crate) fn request_key(req: &ShipRequest, lines: &[(String, u32)]) -> String {
    let mut s = format!(
        "fahuo-ship|{}|{}|{}",
        req.platform_order_id.trim(),
        req.carrier_code.trim().to_ascii_lowercase(),
        norm_number(&req.tracking_no)
    );
    let mut lines = lines.to_vec();
    lines.sort();
    for (l, q) in lines {
        s.push_str(&format!("|{l}x{q}"));
    }
    crate::util::md5_hex(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AfterSale, LineAfterSale, PackageItem, PlatformOrder};
    use fahuo_domain::order::{MaskedReceiver, NewOrderLine};
    use fahuo_domain::{Fen, PlatformOrderId};

    /// (carrier, number, [(sku, qty)]).
    type Package<'a> = (&'a str, &'a str, &'a [(&'a str, i64)]);

    fn order(status: PlatformStatus, lines: &[(&str, i64)], packages: &[Package]) -> PulledOrder {
        PulledOrder {
            order: PlatformOrder {
                platform_order_id: PlatformOrderId::parse("1").expect("id"),
                platform_status: String::new(),
                paid_total: Fen(0),
                freight: Fen(0),
                buyer_note: None,
                seller_note: None,
                created_at: None,
                paid_at: None,
                ship_by: None,
                presale_ship_at: None,
                platform_updated_at: None,
                buyer_openid: None,
                lines: lines
                    .iter()
                    .map(|(sku, q)| NewOrderLine {
                        platform_line_id: None,
                        platform_sku_id: Some(sku.to_string()),
                        sku_code: None,
                        title: String::new(),
                        quantity: *q,
                        unit_price: Fen(0),
                        paid: Fen(0),
                    })
                    .collect(),
            },
            receiver_fingerprint: None,
            receiver: crate::model::ReceiverState::Problem(
                crate::model::ReceiverProblem::NotDecrypted {
                    masked: MaskedReceiver {
                        name: String::new(),
                        phone: String::new(),
                        province: String::new(),
                        city: String::new(),
                        county: String::new(),
                        detail: String::new(),
                    },
                },
            ),
            status,
            after_sale: AfterSale::None,
            lines_after_sale: lines
                .iter()
                .map(|(sku, _)| LineAfterSale {
                    platform_line_id: None,
                    platform_sku_id: Some(sku.to_string()),
                    state: AfterSale::None,
                })
                .collect(),
            shipped_packages: packages
                .iter()
                .map(|(c, n, items)| ShippedPackage {
                    carrier: c.to_string(),
                    tracking_no: n.to_string(),
                    shipped_at: None,
                    items: items
                        .iter()
                        .map(|(sku, q)| PackageItem {
                            platform_line_id: None,
                            platform_sku_id: Some(sku.to_string()),
                            quantity: Some(*q),
                        })
                        .collect(),
                })
                .collect(),
            warnings: Vec::new(),
        }
    }

    fn req(carrier: &str, no: &str, items: &[(&str, u32)]) -> ShipRequest {
        ShipRequest {
            platform_order_id: "1".into(),
            carrier_code: carrier.into(),
            carrier_name: String::new(),
            tracking_no: no.into(),
            items: items
                .iter()
                .map(|(sku, q)| ShipItem {
                    platform_line_id: None,
                    platform_sku_id: Some(sku.to_string()),
                    quantity: *q,
                })
                .collect(),
        }
    }

    fn refusal() -> PlatformError {
        PlatformError::Invalid {
            code: "606034".into(),
            msg: "no".into(),
        }
    }

    #[test]
    fn numbers_compare_without_case_or_spaces() {
        assert!(same_number("sf 1234 5678", "SF12345678"));
        assert!(!same_number("SF1234", "SF12345"));
        assert!(same_carrier(" sf", "SF"));
    }

    #[test]
    fn our_own_parcel_is_already_shipped() {
        let o = order(
            PlatformStatus::Shipped,
            &[("a", 1)],
            &[("SF", "SF123", &[("a", 1)])],
        );
        assert_eq!(
            after_refusal(&o, &req("sf", "sf 123", &[]), refusal()),
            Ok(ShipOutcome::AlreadyShipped)
        );
    }

    #[test]
    fn a_whole_order_shipped_with_another_number_is_a_conflict_naming_it() {
        let o = order(
            PlatformStatus::Shipped,
            &[("a", 1)],
            &[("SF", "SF123", &[("a", 1)])],
        );
        assert_eq!(
            after_refusal(&o, &req("ZTO", "75000", &[]), refusal()),
            Err(PlatformError::ShipConflict {
                shipped: vec![ShippedParcel {
                    carrier_code: "SF".into(),
                    tracking_no: "SF123".into()
                }]
            })
        );
    }

    #[test]
    fn the_rest_of_a_partly_shipped_order_is_no_conflict() {
        let o = order(
            PlatformStatus::PartlyShipped,
            &[("a", 1), ("b", 2)],
            &[("SF", "SF123", &[("a", 1)])],
        );
        assert_eq!(
            after_refusal(&o, &req("ZTO", "75000", &[]), refusal()),
            Err(refusal())
        );
        assert_eq!(
            after_refusal(&o, &req("ZTO", "75000", &[("b", 2)]), refusal()),
            Err(refusal())
        );
        assert!(matches!(
            after_refusal(&o, &req("ZTO", "75000", &[("a", 1)]), refusal()),
            Err(PlatformError::ShipConflict { .. })
        ));
    }

    #[test]
    fn an_unshipped_order_keeps_the_platforms_refusal() {
        let o = order(PlatformStatus::Cancelled, &[("a", 1)], &[]);
        assert_eq!(
            after_refusal(&o, &req("SF", "SF1", &[]), refusal()),
            Err(refusal())
        );
    }

    #[test]
    fn request_keys_depend_on_lines_but_not_on_their_order_or_spacing() {
        let r = req("shunfeng", "SF 1", &[]);
        let a = request_key(&r, &[("x".into(), 1), ("y".into(), 2)]);
        let b = request_key(
            &req("shunfeng", "sf1", &[]),
            &[("y".into(), 2), ("x".into(), 1)],
        );
        assert_eq!(a, b);
        assert_ne!(a, request_key(&r, &[("x".into(), 1)]));
    }
}
