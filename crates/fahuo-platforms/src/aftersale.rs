//! After-sales (售后) on the platforms: reading them (window and single) into
//! [`PlatformAfterSale`], and the merchant's decisions (approve, reject, confirm the return),
//! for WeChat Shop, Douyin and Xiaohongshu as described in `AFTERSALE-PROTOCOLS.md`.
//! Signing, tokens and envelopes are the platform modules' own `call`s.

use crate::client::{PlatformClient, from_millis, from_secs, split_window};
use crate::error::PlatformError;
use crate::util::{array, int, nonempty, object, req_text, text};
use crate::{douyin, wechat, xiaohongshu};
use chrono::{DateTime, Utc};
use fahuo_domain::Platform;
use fahuo_domain::aftersale::AfterSaleStatus::{
    AwaitingReturn, Closed, Completed, Refunding, Rejected, Requested, ReturnReceived,
    ReturnShipped,
};
use fahuo_domain::aftersale::{AfterSaleKind, AfterSaleStatus};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashSet;

/// One line (SKU) of an after-sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterSaleLine {
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    pub quantity: i64,
}

/// The buyer's return parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnParcel {
    /// The platform's carrier code (WeChat `delivery_id`, XHS `expressCompanyCode`); Douyin's
    /// list only names the company, so this is its name there.
    pub carrier_code: String,
    pub tracking_no: String,
}

/// An after-sale as fahuo sees it, whatever the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAfterSale {
    pub platform_after_sale_id: String,
    pub platform_order_id: String,
    pub kind: AfterSaleKind,
    pub status: AfterSaleStatus,
    /// The platform's own status code, as sent.
    pub platform_status: String,
    pub reason: Option<String>,
    pub refund_fen: Option<i64>,
    pub lines: Vec<AfterSaleLine>,
    pub return_parcel: Option<ReturnParcel>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The longest update-time window one list call accepts (split by `after_sales_window`).
fn max_window(p: Platform) -> chrono::Duration {
    match p {
        Platform::Wechat => chrono::Duration::hours(24),
        // Unpublished limit; a day keeps pages few (as for orders).
        Platform::Douyin => chrono::Duration::days(1),
        Platform::Xiaohongshu => chrono::Duration::minutes(30),
        Platform::Manual => chrono::Duration::zero(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Reject,
    ConfirmReceipt,
}

impl PlatformClient {
    /// Every after-sale updated in `[start, end)`, split into the platform's windows and paged;
    /// ids are de-duplicated. Douyin types it does not handle (价保, 维修) are skipped.
    pub async fn after_sales_window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<PlatformAfterSale>, PlatformError> {
        if end < start {
            return Err(PlatformError::Config("window ends before it starts".into()));
        }
        let mut out = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for (s, e) in split_window(start, end, max_window(self.platform)) {
            let last = e - chrono::Duration::milliseconds(1);
            match self.platform {
                Platform::Wechat => {
                    let (from, to) = (s.timestamp(), last.timestamp());
                    let mut key = String::new();
                    loop {
                        let mut req = json!({ "begin_update_time": from, "end_update_time": to });
                        if !key.is_empty() {
                            req["next_key"] = json!(key);
                        }
                        let v = wechat::call(self, "aftersale/getaftersalelist", req).await?;
                        let page = array(&v, "after_sale_order_id_list")?;
                        for id in page {
                            let id = id_text(id)?;
                            if seen.insert(id.clone()) {
                                ids.push(id);
                            }
                        }
                        let more = v.get("has_more").and_then(Value::as_bool).unwrap_or(false);
                        let next = text(&v, "next_key").unwrap_or_default();
                        if !more {
                            break;
                        }
                        if next.is_empty() || next == key {
                            return Err(PlatformError::protocol("has_more without a new next_key"));
                        }
                        key = next;
                    }
                }
                Platform::Douyin => {
                    let (from, to) = (s.timestamp(), last.timestamp());
                    let size = self.opts.page_size as i64;
                    let mut page = 0i64;
                    loop {
                        let v = douyin::call(
                            self,
                            "afterSale.List",
                            json!({
                                "update_start_time": from, "update_end_time": to,
                                "order_by": ["update_time asc"], "page": page, "size": size,
                            }),
                        )
                        .await?;
                        let items = array(&v, "items")?;
                        for it in items {
                            if let Some(a) = map_douyin(it)?
                                && seen.insert(a.platform_after_sale_id.clone())
                            {
                                out.push(a);
                            }
                        }
                        let more = v.get("has_more").and_then(Value::as_bool).unwrap_or(false);
                        if !more || items.is_empty() {
                            break;
                        }
                        page += 1;
                    }
                }
                Platform::Xiaohongshu => {
                    let mut page = 1i64;
                    loop {
                        let v = xiaohongshu::call(
                            self,
                            "afterSale.listAfterSaleApi",
                            json!({
                                "startTime": s.timestamp_millis(), "endTime": last.timestamp_millis(),
                                "timeType": 2, "pageNo": page, "pageSize": self.opts.page_size,
                            }),
                        )
                        .await?;
                        let list = array(&v, "simpleAfterSaleList")?;
                        for it in list {
                            let id = req_text(it, "returnsId")?;
                            if seen.insert(id.clone()) {
                                ids.push(id);
                            }
                        }
                        let max = int(&v, "maxPageNo")?.unwrap_or(0);
                        if list.is_empty() || page >= max {
                            break;
                        }
                        page += 1;
                    }
                }
                Platform::Manual => return Err(PlatformError::Config("manual shop".into())),
            }
        }
        let details: Vec<PlatformAfterSale> = futures_util::stream::iter(ids)
            .map(|id| async move { self.after_sale(&id).await })
            .buffered(self.opts.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        out.extend(details);
        Ok(out)
    }

    /// One after-sale by the platform's id.
    pub async fn after_sale(&self, id: &str) -> Result<PlatformAfterSale, PlatformError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(PlatformError::Config("empty after-sale id".into()));
        }
        match self.platform {
            Platform::Wechat => {
                let v = wechat::call(
                    self,
                    "aftersale/getaftersaleorder",
                    json!({ "after_sale_order_id": id }),
                )
                .await?;
                let a = object(&v, "after_sale_order")?;
                if a.is_null() {
                    return Err(PlatformError::protocol(
                        "getaftersaleorder without after_sale_order",
                    ));
                }
                map_wechat(a)
            }
            Platform::Douyin => {
                let v = douyin::call(
                    self,
                    "afterSale.List",
                    json!({ "aftersale_id": id, "page": 0, "size": 10 }),
                )
                .await?;
                let it = array(&v, "items")?
                    .iter()
                    .find(|it| {
                        object(it, "aftersale_info")
                            .ok()
                            .and_then(|i| nonempty(i, "aftersale_id"))
                            .as_deref()
                            == Some(id)
                    })
                    .ok_or_else(|| PlatformError::Invalid {
                        code: "not_found".into(),
                        msg: format!("after-sale {id} not found"),
                    })?;
                map_douyin(it)?.ok_or_else(|| PlatformError::Invalid {
                    code: "unsupported".into(),
                    msg: "after-sale type not handled (price protection, repair)".into(),
                })
            }
            Platform::Xiaohongshu => {
                let v = xiaohongshu::call(
                    self,
                    "afterSale.getAfterSaleInfo",
                    json!({ "returnsId": id }),
                )
                .await?;
                map_xhs(&v)
            }
            Platform::Manual => Err(PlatformError::Config("manual shop".into())),
        }
    }

    /// Agrees to a request: refund-only → refunded; return/exchange → the buyer sends the goods
    /// back (to `return_address_id`, the platform's address-book id, when given).
    pub async fn approve_after_sale(
        &self,
        id: &str,
        return_address_id: Option<i64>,
    ) -> Result<(), PlatformError> {
        self.decide(id, Decision::Approve, return_address_id, None)
            .await
    }

    /// Refuses a request (or, after the goods came back, the refund) with a reason.
    pub async fn reject_after_sale(&self, id: &str, reason: &str) -> Result<(), PlatformError> {
        if reason.trim().is_empty() {
            return Err(PlatformError::Config("a rejection needs a reason".into()));
        }
        self.decide(id, Decision::Reject, None, Some(reason.trim()))
            .await
    }

    /// The returned goods arrived: refund (or complete the exchange).
    pub async fn confirm_return_received(&self, id: &str) -> Result<(), PlatformError> {
        self.decide(id, Decision::ConfirmReceipt, None, None).await
    }

    /// Reads the after-sale, returns early when it already is where the decision leads, refuses
    /// closed ones clearly, and otherwise sends the platform's call. A refused call is decided
    /// again from a fresh read, so retries after a lost answer are harmless.
    async fn decide(
        &self,
        id: &str,
        d: Decision,
        address: Option<i64>,
        reason: Option<&str>,
    ) -> Result<(), PlatformError> {
        let a = self.after_sale(id).await?;
        if let Some(r) = settled(&a, d) {
            return r;
        }
        let sent = match self.platform {
            Platform::Wechat => {
                let (api, mut body) = match d {
                    Decision::Reject => (
                        "aftersale/rejectapply",
                        json!({ "after_sale_order_id": id, "reject_reason": reason.unwrap_or("") }),
                    ),
                    _ => (
                        "aftersale/acceptapply",
                        json!({ "after_sale_order_id": id }),
                    ),
                };
                if let Some(addr) = address {
                    body["address_id"] = json!(addr);
                }
                wechat::call(self, api, body).await.map(drop)
            }
            Platform::Douyin => {
                let ty = match (d, a.kind, a.status) {
                    (Decision::Approve, AfterSaleKind::RefundOnly, _) => 201,
                    (Decision::Reject, AfterSaleKind::RefundOnly, _) => 202,
                    (Decision::Approve, AfterSaleKind::Exchange, _) => 301,
                    (Decision::Reject, AfterSaleKind::Exchange, _) => 302,
                    (Decision::ConfirmReceipt, AfterSaleKind::Exchange, _) => 311,
                    (Decision::Approve, _, _) => 101,
                    (Decision::Reject, _, AfterSaleStatus::ReturnShipped) => 112,
                    (Decision::Reject, _, _) => 102,
                    (Decision::ConfirmReceipt, _, _) => 111,
                };
                let mut item = json!({ "aftersale_id": id });
                if let Some(r) = reason {
                    item["reason"] = json!(r);
                    item["remark"] = json!(r);
                }
                if let Some(addr) = address {
                    item["logistics"] = json!({ "receiver_address_id": addr });
                }
                douyin::call(
                    self,
                    "afterSale.operate",
                    json!({ "type": ty, "items": [item] }),
                )
                .await
                .map(drop)
            }
            Platform::Xiaohongshu => {
                let (method, mut body) = match (d, a.kind) {
                    (Decision::ConfirmReceipt, _) => (
                        "afterSale.confirmReceive",
                        json!({ "returnsId": id, "action": 1 }),
                    ),
                    (Decision::Reject, _) if a.status == AfterSaleStatus::ReturnShipped => (
                        "afterSale.confirmReceive",
                        json!({ "returnsId": id, "action": 2, "reason": 99, "description": reason }),
                    ),
                    (Decision::Reject, _) => (
                        "afterSale.auditReturns",
                        json!({ "returnsId": id, "action": 3, "reason": 99, "description": reason }),
                    ),
                    (Decision::Approve, AfterSaleKind::RefundOnly) => (
                        "afterSale.auditReturns",
                        json!({ "returnsId": id, "action": 1 }),
                    ),
                    (Decision::Approve, _) => (
                        "afterSale.auditReturns",
                        json!({ "returnsId": id, "action": 2 }),
                    ),
                };
                if let Some(addr) = address {
                    body["receiverInfo"] = json!({ "sellerAddressRecordId": addr });
                }
                xiaohongshu::call(self, method, body).await.map(drop)
            }
            Platform::Manual => return Err(PlatformError::Config("manual shop".into())),
        };
        match sent {
            Err(PlatformError::Invalid { code, msg }) => {
                // Another tool (or an earlier try whose answer was lost) may have decided it.
                let now = self.after_sale(id).await?;
                match settled(&now, d) {
                    Some(r) => r,
                    None => Err(PlatformError::Invalid { code, msg }),
                }
            }
            r => r,
        }
    }
}

/// `Some(Ok)` when the after-sale already is where `d` leads, `Some(Err)` when it cannot be
/// decided any more, `None` when the call should be made.
fn settled(a: &PlatformAfterSale, d: Decision) -> Option<Result<(), PlatformError>> {
    use AfterSaleStatus as S;
    let done = match d {
        Decision::Approve => match a.kind {
            AfterSaleKind::RefundOnly => matches!(a.status, S::Refunding | S::Completed),
            _ => matches!(
                a.status,
                S::AwaitingReturn
                    | S::ReturnShipped
                    | S::ReturnReceived
                    | S::Refunding
                    | S::Completed
            ),
        },
        Decision::Reject => a.status == S::Rejected,
        Decision::ConfirmReceipt => {
            matches!(a.status, S::ReturnReceived | S::Refunding | S::Completed)
        }
    };
    if done {
        return Some(Ok(()));
    }
    if a.status.is_final() {
        return Some(Err(PlatformError::Invalid {
            code: "after_sale_final".into(),
            msg: format!(
                "after-sale {} is {} ({}): no decision possible",
                a.platform_after_sale_id,
                a.status.as_str(),
                a.platform_status
            ),
        }));
    }
    if d == Decision::ConfirmReceipt && a.status != S::ReturnShipped {
        return Some(Err(PlatformError::Invalid {
            code: "no_return_parcel".into(),
            msg: format!(
                "after-sale {} is {}: the buyer has not sent the goods back",
                a.platform_after_sale_id,
                a.status.as_str()
            ),
        }));
    }
    None
}

fn id_text(v: &Value) -> Result<String, PlatformError> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(PlatformError::protocol("after-sale id list: not an id")),
    }
}

// ------------------------------------------------------------------ Status codes

/// One of a platform's after-sale status codes: the code as the platform sends it, fahuo's
/// normalised status for it, and the name the platform's merchant back end shows (Chinese) with
/// the same in English. Reading a status and naming it use the same row, so a code fahuo accepts
/// always has a name and a named code is always accepted.
type StatusRow = (&'static str, AfterSaleStatus, &'static str, &'static str);

/// WeChat Shop's `status` strings (the spelling `USER_CANCELD` is the platform's).
#[rustfmt::skip] // a table: one code per row
const WECHAT_STATUSES: &[StatusRow] = &[
    ("MERCHANT_PROCESSING", Requested, "商家受理中", "Merchant handling"),
    ("USER_WAIT_RETURN", AwaitingReturn, "待买家退货", "Waiting for the buyer's return"),
    ("MERCHANT_WAIT_RECEIPT", ReturnShipped, "待商家收货", "Waiting for the merchant to receive"),
    ("PLATFORM_REFUNDING", Refunding, "平台退款中", "Platform refunding"),
    ("PLATFORM_REFUND_FAIL", Refunding, "平台退款失败", "Platform refund failed"),
    ("MERCHANT_OVERDUE_REFUND", Refunding, "商家逾期未退款", "Merchant overdue to refund"),
    ("USER_WAIT_RECEIPT", ReturnReceived, "待买家收货", "Waiting for the buyer to receive"),
    ("MERCHANT_REFUND_SUCCESS", Completed, "退款完成", "Refund completed"),
    ("MERCHANT_RETURN_SUCCESS", Completed, "退货退款完成", "Return and refund completed"),
    ("MERCHANT_EXCHANGE_SUCCESS", Completed, "换货完成", "Exchange completed"),
    ("MERCHANT_REJECT_REFUND", Rejected, "商家拒绝退款", "Merchant refused the refund"),
    ("MERCHANT_REJECT_RETURN", Rejected, "商家拒绝退货退款", "Merchant refused the return"),
    ("MERCHANT_REJECT_EXCHANGE", Rejected, "商家拒绝换货", "Merchant refused the exchange"),
    ("MERCHANT_REJECT_RESHIP", Rejected, "商家拒绝补寄", "Merchant refused to reship"),
    ("USER_CANCELD", Closed, "用户取消申请", "Buyer withdrew the request"),
    ("RETURN_CLOSED", Closed, "退货退款关闭", "Return closed"),
    ("MERCHANT_FAIL", Closed, "售后关闭", "After-sale closed"),
    ("MERCHANT_REFUND_RETRY_FAIL", Closed, "商家打款失败，售后关闭", "Merchant payment failed, closed"),
    ("USER_WAIT_CONFIRM", Requested, "待用户确认", "Waiting for the buyer to confirm"),
    ("USER_WAIT_CONFIRM_UPDATE", Requested, "待用户处理商家协商", "Waiting for the buyer to answer the merchant's proposal"),
    ("USER_WAIT_HANDLE_MERCHANT_AFTER_SALE", Requested, "待用户处理商家代发起的售后", "Waiting for the buyer to answer the merchant's after-sale"),
    ("WAIT_PACKAGE_INTERCEPT", Requested, "待拦截包裹", "Waiting for the parcel to be intercepted"),
];

/// Douyin's `aftersale_status` numbers, as decimal text.
#[rustfmt::skip] // a table: one code per row
const DOUYIN_STATUSES: &[StatusRow] = &[
    ("6", Requested, "待商家同意", "Waiting for the merchant to agree"),
    ("7", AwaitingReturn, "待买家退货", "Waiting for the buyer's return"),
    ("11", ReturnShipped, "待商家二次同意", "Waiting for the merchant's second approval"),
    ("8", ReturnReceived, "待商家发货", "Waiting for the merchant to ship"),
    ("3", ReturnReceived, "换货待买家收货", "Exchange waiting for the buyer to receive"),
    ("13", ReturnReceived, "换货待买家收货", "Exchange waiting for the buyer to receive"),
    ("12", Completed, "售后成功", "After-sale succeeded"),
    ("14", Completed, "换货成功", "Exchange succeeded"),
    ("27", Rejected, "商家一次拒绝", "Merchant refused (first review)"),
    ("29", Rejected, "商家二次拒绝", "Merchant refused (second review)"),
    ("28", Closed, "售后失败", "After-sale failed or closed"),
];

/// Xiaohongshu's `status` numbers, as decimal text.
#[rustfmt::skip] // a table: one code per row
const XHS_STATUSES: &[StatusRow] = &[
    ("1", Requested, "待审核", "Waiting for review"),
    ("2", AwaitingReturn, "待用户寄回", "Waiting for the buyer to send back"),
    ("3", ReturnShipped, "待商家收货", "Waiting for the merchant to receive"),
    ("4", Completed, "已完成", "Completed"),
    ("5", Closed, "已取消", "Cancelled"),
    ("6", Closed, "已关闭", "Closed"),
    ("9", Rejected, "商家审核拒绝", "Merchant refused at review"),
    ("9001", Rejected, "商家收货拒绝", "Merchant refused at receipt"),
    ("11", Refunding, "换货转退款", "Exchange turned into a refund"),
    ("12", ReturnReceived, "换货待商家发货", "Exchange waiting for the merchant to ship"),
    ("13", ReturnReceived, "换货待用户确认收货", "Exchange waiting for the buyer to confirm receipt"),
    ("14", Requested, "平台介入中", "Platform intervening"),
];

fn status_table(platform: Platform) -> &'static [StatusRow] {
    match platform {
        Platform::Wechat => WECHAT_STATUSES,
        Platform::Douyin => DOUYIN_STATUSES,
        Platform::Xiaohongshu => XHS_STATUSES,
        Platform::Manual => &[],
    }
}

/// The row of `code` exactly as sent (no trimming: a mangled code is not the platform's).
fn status_row(platform: Platform, code: &str) -> Option<&'static StatusRow> {
    status_table(platform).iter().find(|row| row.0 == code)
}

/// What a platform calls one of its after-sale status codes: the name its merchant back end
/// shows (Chinese) and the same in English, or `None` for a code it does not document. fahuo
/// keeps the code as sent (`platform_status`) beside its own normalised status; merchants
/// know the platform's words, not its numbers. Names from the platforms' published status
/// lists (AFTERSALE-PROTOCOLS.md).
pub fn platform_status_name(
    platform: Platform,
    code: &str,
) -> Option<(&'static str, &'static str)> {
    status_row(platform, code.trim()).map(|&(_, _, zh, en)| (zh, en))
}

fn wechat_status(s: &str) -> Option<AfterSaleStatus> {
    status_row(Platform::Wechat, s).map(|row| row.1)
}

fn douyin_status(code: i64) -> Option<AfterSaleStatus> {
    status_row(Platform::Douyin, &code.to_string()).map(|row| row.1)
}

fn xhs_status(code: i64) -> Option<AfterSaleStatus> {
    status_row(Platform::Xiaohongshu, &code.to_string()).map(|row| row.1)
}

// ------------------------------------------------------------------ WeChat

fn map_wechat(a: &Value) -> Result<PlatformAfterSale, PlatformError> {
    let status_raw = req_text(a, "status")?;
    let status = wechat_status(&status_raw).ok_or_else(|| {
        PlatformError::protocol(format!("unknown after-sale status {status_raw}"))
    })?;
    let kind = match req_text(a, "type")?.as_str() {
        "REFUND" => AfterSaleKind::RefundOnly,
        "RETURN" => AfterSaleKind::ReturnRefund,
        "EXCHANGE" => AfterSaleKind::Exchange,
        "RESHIP" => AfterSaleKind::Reship,
        other => {
            return Err(PlatformError::protocol(format!(
                "unknown after-sale type {other}"
            )));
        }
    };
    let p = object(a, "product_info")?;
    let ret = object(a, "return_info")?;
    Ok(PlatformAfterSale {
        platform_after_sale_id: req_text(a, "after_sale_order_id")?,
        platform_order_id: req_text(a, "order_id")?,
        kind,
        status,
        platform_status: status_raw,
        reason: nonempty(a, "reason_text").or_else(|| nonempty(a, "reason")),
        refund_fen: int(object(a, "refund_info")?, "amount")?,
        lines: if p.is_null() {
            Vec::new()
        } else {
            vec![AfterSaleLine {
                platform_line_id: None,
                platform_sku_id: nonempty(p, "sku_id"),
                quantity: int(p, "count")?.unwrap_or(0),
            }]
        },
        return_parcel: nonempty(ret, "waybill_id").map(|no| ReturnParcel {
            carrier_code: nonempty(ret, "delivery_id").unwrap_or_default(),
            tracking_no: no,
        }),
        created_at: int(a, "create_time")?.and_then(from_secs),
        updated_at: int(a, "update_time")?.and_then(from_secs),
    })
}

// ------------------------------------------------------------------ Douyin

/// `None` for types fahuo does not handle (6 价保, 8 维修).
fn map_douyin(it: &Value) -> Result<Option<PlatformAfterSale>, PlatformError> {
    let a = object(it, "aftersale_info")?;
    let o = object(it, "order_info")?;
    let kind = match int(a, "aftersale_type")? {
        Some(0) => AfterSaleKind::ReturnRefund,
        Some(1 | 2) => AfterSaleKind::RefundOnly,
        Some(3) => AfterSaleKind::Exchange,
        Some(7) => AfterSaleKind::Reship,
        Some(_) => return Ok(None),
        None => return Err(PlatformError::protocol("missing aftersale_type")),
    };
    let code = int(a, "aftersale_status")?
        .ok_or_else(|| PlatformError::protocol("missing aftersale_status"))?;
    let status = douyin_status(code)
        .ok_or_else(|| PlatformError::protocol(format!("unknown aftersale_status {code}")))?;
    let related = array(o, "related_order_info")?;
    let lines = if related.is_empty() {
        vec![AfterSaleLine {
            platform_line_id: nonempty(a, "related_id"),
            platform_sku_id: None,
            quantity: int(a, "aftersale_num")?.unwrap_or(0),
        }]
    } else {
        related
            .iter()
            .map(|r| {
                Ok(AfterSaleLine {
                    platform_line_id: nonempty(r, "sku_order_id"),
                    platform_sku_id: None,
                    quantity: int(a, "aftersale_num")?.unwrap_or(0),
                })
            })
            .collect::<Result<_, PlatformError>>()?
    };
    Ok(Some(PlatformAfterSale {
        platform_after_sale_id: req_text(a, "aftersale_id")?,
        platform_order_id: nonempty(o, "shop_order_id")
            .ok_or_else(|| PlatformError::protocol("missing shop_order_id"))?,
        kind,
        status,
        platform_status: code.to_string(),
        reason: None,
        refund_fen: int(a, "refund_amount")?,
        lines,
        return_parcel: nonempty(a, "return_logistics_code").map(|no| ReturnParcel {
            carrier_code: nonempty(a, "return_logistics_company_name").unwrap_or_default(),
            tracking_no: no,
        }),
        created_at: int(a, "apply_time")?.and_then(from_secs),
        updated_at: int(a, "update_time")?.and_then(from_secs),
    }))
}

// ------------------------------------------------------------------ Xiaohongshu

fn map_xhs(v: &Value) -> Result<PlatformAfterSale, PlatformError> {
    let a = object(v, "afterSaleInfo")?;
    if a.is_null() {
        return Err(PlatformError::protocol(
            "getAfterSaleInfo without afterSaleInfo",
        ));
    }
    let kind = match int(a, "returnType")? {
        Some(1) => AfterSaleKind::ReturnRefund,
        Some(2) => AfterSaleKind::Exchange,
        Some(3..=5) => AfterSaleKind::RefundOnly,
        other => {
            return Err(PlatformError::Invalid {
                code: "unsupported".into(),
                msg: format!("after-sale returnType {other:?} not handled"),
            });
        }
    };
    let code = int(a, "status")?.ok_or_else(|| PlatformError::protocol("missing status"))?;
    let status = xhs_status(code)
        .ok_or_else(|| PlatformError::protocol(format!("unknown status {code}")))?;
    let refund_fen = match a.get("expectedRefundAmountYuan") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(|y| (y * 100.0).round() as i64),
        Some(_) => {
            return Err(PlatformError::protocol(
                "expectedRefundAmountYuan: not a number",
            ));
        }
    };
    let lines = array(a, "skus")?
        .iter()
        .map(|s| {
            Ok(AfterSaleLine {
                platform_line_id: None,
                platform_sku_id: nonempty(s, "skuId"),
                quantity: int(s, "appliedCount")?.unwrap_or(0),
            })
        })
        .collect::<Result<_, PlatformError>>()?;
    let logistics = object(object(v, "logisticsInfo")?, "afterSale")?;
    Ok(PlatformAfterSale {
        platform_after_sale_id: req_text(a, "returnsId")?,
        platform_order_id: req_text(a, "orderId")?,
        kind,
        status,
        platform_status: code.to_string(),
        reason: nonempty(a, "reasonNameZh"),
        refund_fen,
        lines,
        return_parcel: nonempty(logistics, "expressNo").map(|no| ReturnParcel {
            carrier_code: nonempty(logistics, "expressCompanyCode").unwrap_or_default(),
            tracking_no: no,
        }),
        created_at: int(a, "applyTime")?.and_then(from_millis),
        updated_at: int(a, "updatedAt")?.and_then(from_millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_after_sales_are_protocol_errors_not_panics() {
        assert!(map_wechat(&json!({ "status": "NEW_THING", "type": "REFUND" })).is_err());
        assert!(map_wechat(&json!({ "after_sale_order_id": "1", "order_id": "2", "status": "MERCHANT_PROCESSING", "type": "REFUND", "product_info": 5 })).is_err());
        assert!(map_douyin(&json!({ "aftersale_info": { "aftersale_type": 0, "aftersale_status": 99, "aftersale_id": "1" } })).is_err());
        assert!(matches!(
            map_douyin(&json!({ "aftersale_info": { "aftersale_type": 6 } })),
            Ok(None)
        ));
        assert!(map_xhs(&json!({ "afterSaleInfo": { "returnsId": "R1", "orderId": "P1", "returnType": 1, "status": "x" } })).is_err());
        assert!(map_xhs(&json!({})).is_err());
    }

    #[test]
    fn statuses_map() {
        let a = map_xhs(&json!({ "afterSaleInfo": { "returnsId": "R1", "orderId": "P1", "returnType": 1, "status": 3,
            "expectedRefundAmountYuan": 12.34, "skus": [{ "skuId": "s", "appliedCount": 2 }] },
            "logisticsInfo": { "afterSale": { "expressNo": "SF1", "expressCompanyCode": "shunfeng" } } }))
        .expect("maps");
        assert_eq!(a.status, AfterSaleStatus::ReturnShipped);
        assert_eq!(a.refund_fen, Some(1234));
        assert_eq!(a.return_parcel.expect("parcel").carrier_code, "shunfeng");
    }

    #[test]
    fn every_status_fahuo_accepts_has_the_platforms_name() {
        let wechat = [
            "MERCHANT_PROCESSING",
            "USER_WAIT_RETURN",
            "MERCHANT_WAIT_RECEIPT",
            "PLATFORM_REFUNDING",
            "PLATFORM_REFUND_FAIL",
            "MERCHANT_OVERDUE_REFUND",
            "USER_WAIT_RECEIPT",
            "MERCHANT_REFUND_SUCCESS",
            "MERCHANT_RETURN_SUCCESS",
            "MERCHANT_EXCHANGE_SUCCESS",
            "MERCHANT_REJECT_REFUND",
            "MERCHANT_REJECT_RETURN",
            "MERCHANT_REJECT_EXCHANGE",
            "MERCHANT_REJECT_RESHIP",
            "USER_CANCELD",
            "RETURN_CLOSED",
            "MERCHANT_FAIL",
            "MERCHANT_REFUND_RETRY_FAIL",
            "USER_WAIT_CONFIRM",
            "USER_WAIT_CONFIRM_UPDATE",
            "USER_WAIT_HANDLE_MERCHANT_AFTER_SALE",
            "WAIT_PACKAGE_INTERCEPT",
        ];
        for code in wechat {
            assert!(wechat_status(code).is_some(), "{code} is accepted");
            assert!(
                platform_status_name(Platform::Wechat, code).is_some(),
                "{code}"
            );
        }
        for code in 0..=10_000i64 {
            let text = code.to_string();
            assert_eq!(
                douyin_status(code).is_some(),
                platform_status_name(Platform::Douyin, &text).is_some(),
                "douyin {code}: accepted exactly when named"
            );
            assert_eq!(
                xhs_status(code).is_some(),
                platform_status_name(Platform::Xiaohongshu, &text).is_some(),
                "xiaohongshu {code}: accepted exactly when named"
            );
        }
        assert_eq!(
            platform_status_name(Platform::Douyin, " 7 "),
            Some(("待买家退货", "Waiting for the buyer's return"))
        );
        assert_eq!(
            platform_status_name(Platform::Wechat, "SOMETHING_NEW"),
            None
        );
        assert_eq!(platform_status_name(Platform::Manual, "1"), None);
    }

    #[test]
    fn each_platform_lists_a_status_code_once() {
        for platform in [Platform::Wechat, Platform::Douyin, Platform::Xiaohongshu] {
            let table = status_table(platform);
            let codes: HashSet<&str> = table.iter().map(|row| row.0).collect();
            assert_eq!(
                codes.len(),
                table.len(),
                "{platform:?}: a code listed twice"
            );
        }
    }
}
