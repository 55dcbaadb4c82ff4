//! After-sales (售后) in the emulator: the neutral records and their state machine, the buyer's
//! side (requests, withdrawals, return parcels) and the platform's auto-approval, each
//! platform's after-sale endpoints and push bodies, and the ledger of merchant decisions.
//! Wire shapes follow `crates/fahuo-platforms/AFTERSALE-PROTOCOLS.md`; no type is shared with
//! the client crate.

use crate::model::{Order, Platform, Status};
use crate::state::{Change, Sim, State};
use crate::util::Rng;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A request the merchant ignores is agreed by the platform after this long (UNCONFIRMED, the
/// same 48 h on all three platforms).
pub const AUTO_APPROVE_MS: i64 = 48 * 3_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    RefundOnly,
    ReturnRefund,
    Exchange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsState {
    Requested,
    AwaitingReturn,
    ReturnShipped,
    Completed,
    Rejected,
    Closed,
}

impl AsState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            AsState::Completed | AsState::Rejected | AsState::Closed
        )
    }
}

/// One after-sale, platform-neutral; each platform renders it in its own shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSale {
    pub platform: Platform,
    pub shop: u32,
    pub id: String,
    pub order_id: String,
    pub kind: Kind,
    pub state: AsState,
    /// The line (index into the order's lines) and units it is about.
    pub line: usize,
    pub qty: u32,
    pub refund_fen: i64,
    pub reason: String,
    /// Whether the goods had left when the buyer asked (Douyin type 1 vs 2, XHS 4 vs 5).
    pub after_shipping: bool,
    /// A rejection after the goods came back (Douyin 29, XHS 9001) rather than before.
    pub rejected_on_receipt: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// The buyer's return parcel: our neutral carrier key (`SF`, `ZTO`) and number.
    pub return_carrier: String,
    pub return_no: String,
}

/// What happened to an after-sale, for the push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsEvent {
    Created,
    Approved,
    Rejected,
    BuyerShipped,
    Completed,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    ConfirmReceipt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Accepted,
    /// Refused: wrong state, unknown id, bad arguments.
    Refused,
}

/// One decision on an after-sale, by the merchant (an API call) or by the platform's timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub platform: Platform,
    pub after_sale_id: String,
    pub api: String,
    pub action: Action,
    /// `merchant` or `timeout`.
    pub by: String,
    pub outcome: DecisionOutcome,
    pub reason: String,
    pub at_ms: i64,
}

/// `GET /_sim/ledger/aftersales`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSaleLedger {
    pub after_sales: Vec<AfterSale>,
    pub decisions: Vec<Decision>,
}

/// The order-level view of an after-sale that the order renderers need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterSaleRef {
    pub id: String,
    pub line: usize,
    pub qty: u32,
    pub state: AsState,
    pub kind: Kind,
}

impl AfterSaleRef {
    pub fn open(&self) -> bool {
        !self.state.is_final()
    }
}

/// Units of `line` in open after-sales of the order.
pub fn open_qty(o: &Order, line: usize) -> u32 {
    o.after_sales
        .iter()
        .filter(|r| r.line == line && r.open())
        .map(|r| r.qty)
        .sum()
}

/// Douyin's `after_sale_info` status of an open after-sale on `line`, if any.
pub fn douyin_open_status(o: &Order, line: usize) -> Option<i64> {
    o.after_sales
        .iter()
        .find(|r| r.line == line && r.open())
        .map(|r| match r.state {
            AsState::AwaitingReturn => 7,
            AsState::ReturnShipped => 11,
            _ => 6,
        })
}

// ---------------------------------------------------------------- state machine

fn sync_ref(st: &mut State, n: usize) {
    let a = st.aftersales[n].clone();
    let Some(&i) = st.index.get(&a.order_id) else {
        return;
    };
    let o = &mut st.orders[i];
    o.updated_ms = o.updated_ms.max(a.updated_ms);
    let r = AfterSaleRef {
        id: a.id.clone(),
        line: a.line,
        qty: a.qty,
        state: a.state,
        kind: a.kind,
    };
    match o.after_sales.iter_mut().find(|x| x.id == a.id) {
        Some(x) => *x = r,
        None => o.after_sales.push(r),
    }
}

fn emit(sim: Option<&Sim>, st: &State, n: usize, ev: AsEvent) {
    let a = &st.aftersales[n];
    if let (Some(sim), Some(&i)) = (sim, st.index.get(&a.order_id)) {
        sim.emit(st, i, Change::AfterSale(Box::new(a.clone()), ev));
    }
}

/// Opens an after-sale on an order (the buyer's request); `None` when the order cannot have
/// one of this kind now. Schedules the auto-approval and, for some, the buyer's withdrawal.
pub fn open(st: &mut State, idx: usize, kind: Kind, at: i64, rng: &mut Rng) -> Option<usize> {
    let o = &st.orders[idx];
    let after_shipping = matches!(
        o.status,
        Status::Shipped | Status::PartShipped | Status::Completed
    );
    let ok = match kind {
        Kind::RefundOnly => {
            o.paid_ms.is_some()
                && !matches!(
                    o.status,
                    Status::Cancelled | Status::Closed | Status::Unpaid
                )
        }
        Kind::ReturnRefund | Kind::Exchange => after_shipping,
    };
    if !ok {
        return None;
    }
    // One open after-sale per line; pick the first line without one.
    let line = (0..o.lines.len()).find(|&l| {
        !o.lines[l].refunded
            && !o.after_sales.iter().any(|r| r.line == l && r.open())
            && (kind == Kind::RefundOnly || o.lines[l].shipped_qty > 0)
    })?;
    let l = &o.lines[line];
    let qty = if kind == Kind::RefundOnly {
        l.qty
    } else {
        l.shipped_qty.max(1)
    };
    let refund_fen = if kind == Kind::Exchange {
        0
    } else {
        l.paid_fen * qty as i64 / l.qty.max(1) as i64
    };
    let n = st.aftersales.len();
    let id = new_id(o.platform, &o.order_id, n);
    let reasons = [
        "不想要了",
        "拍错/多拍",
        "质量问题",
        "与商品描述不符",
        "尺码不合适",
    ];
    let a = AfterSale {
        platform: o.platform,
        shop: o.shop,
        id: id.clone(),
        order_id: o.order_id.clone(),
        kind,
        state: AsState::Requested,
        line,
        qty,
        refund_fen,
        reason: reasons[rng.below(reasons.len() as u64) as usize].to_string(),
        after_shipping,
        rejected_on_receipt: false,
        created_ms: at,
        updated_ms: at,
        return_carrier: String::new(),
        return_no: String::new(),
    };
    st.aftersale_index.insert(id, n);
    st.aftersales.push(a);
    sync_ref(st, n);
    st.schedule(
        at + AUTO_APPROVE_MS,
        idx,
        crate::r#gen::EventKind::AfterSaleTimeout { n },
    );
    if rng.chance(0.15) {
        st.schedule(
            at + rng.range(3_600_000, 24 * 3_600_000),
            idx,
            crate::r#gen::EventKind::AfterSaleWithdraw { n },
        );
    }
    Some(n)
}

fn new_id(p: Platform, order_id: &str, n: usize) -> String {
    let digits: String = order_id.chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(10)..];
    match p {
        Platform::Wechat => format!("4{tail:0>10}{n:08}"),
        Platform::Douyin => format!("6{tail:0>10}{n:08}"),
        Platform::Xiaohongshu => format!("R{tail:0>10}{n:06}"),
    }
}

/// Refunds the after-sale's line on its order (the money went back).
fn refund_line(st: &mut State, n: usize, at: i64) {
    let a = st.aftersales[n].clone();
    let Some(&i) = st.index.get(&a.order_id) else {
        return;
    };
    let o = &mut st.orders[i];
    if a.kind == Kind::Exchange {
        return;
    }
    o.lines[a.line].refunded = true;
    if o.lines.iter().all(|l| l.refunded) {
        crate::r#gen::refund_all(o, at);
    }
}

fn set_state(st: &mut State, n: usize, s: AsState, at: i64) {
    let a = &mut st.aftersales[n];
    a.state = s;
    a.updated_ms = a.updated_ms.max(at);
    sync_ref(st, n);
}

/// Applies a decision; `Err` with the platform-neutral reason when the state does not allow it.
pub fn decide(
    sim: Option<&Sim>,
    st: &mut State,
    n: usize,
    action: Action,
    at: i64,
) -> Result<(), String> {
    let a = st.aftersales[n].clone();
    match (action, a.state) {
        (Action::Approve, AsState::Requested) => {
            if a.kind == Kind::RefundOnly {
                set_state(st, n, AsState::Completed, at);
                refund_line(st, n, at);
                sync_ref(st, n);
                emit(sim, st, n, AsEvent::Completed);
            } else {
                set_state(st, n, AsState::AwaitingReturn, at);
                let mut rng = Rng::new(at as u64 ^ (n as u64).wrapping_mul(0x9E37));
                let back = at + rng.range(2 * 3_600_000, 30 * 3_600_000);
                if let Some(&i) = st.index.get(&a.order_id) {
                    st.schedule(back, i, crate::r#gen::EventKind::AfterSaleBuyerShips { n });
                }
                emit(sim, st, n, AsEvent::Approved);
            }
            Ok(())
        }
        (Action::Reject, AsState::Requested) => {
            set_state(st, n, AsState::Rejected, at);
            emit(sim, st, n, AsEvent::Rejected);
            Ok(())
        }
        (Action::Reject, AsState::ReturnShipped) => {
            st.aftersales[n].rejected_on_receipt = true;
            set_state(st, n, AsState::Rejected, at);
            emit(sim, st, n, AsEvent::Rejected);
            Ok(())
        }
        (Action::ConfirmReceipt, AsState::ReturnShipped) => {
            set_state(st, n, AsState::Completed, at);
            refund_line(st, n, at);
            sync_ref(st, n);
            emit(sim, st, n, AsEvent::Completed);
            Ok(())
        }
        (Action::ConfirmReceipt, AsState::AwaitingReturn) => {
            Err("the buyer has not shipped the goods back yet".into())
        }
        (_, s) => Err(format!("after-sale is {s:?}; this decision is not allowed")),
    }
}

/// The buyer's and the platform's scheduled moves (withdrawal, return parcel, auto-approval).
pub fn apply_scheduled(sim: Option<&Sim>, st: &mut State, ev: &crate::r#gen::EventKind, at: i64) {
    use crate::r#gen::EventKind as E;
    match *ev {
        E::AfterSaleWithdraw { n } if n < st.aftersales.len() => {
            #[allow(clippy::collapsible_match)]
            if matches!(
                st.aftersales[n].state,
                AsState::Requested | AsState::AwaitingReturn
            ) {
                set_state(st, n, AsState::Closed, at);
                emit(sim, st, n, AsEvent::Closed);
            }
        }
        E::AfterSaleBuyerShips { n }
            if n < st.aftersales.len() && st.aftersales[n].state == AsState::AwaitingReturn =>
        {
            let mut rng = Rng::new(at as u64 ^ 0x5EED_0000 ^ n as u64);
            let (carrier, no) = return_number(&mut rng);
            let a = &mut st.aftersales[n];
            a.return_carrier = carrier.to_string();
            a.return_no = no;
            set_state(st, n, AsState::ReturnShipped, at);
            emit(sim, st, n, AsEvent::BuyerShipped);
        }
        E::AfterSaleTimeout { n }
            if n < st.aftersales.len() && st.aftersales[n].state == AsState::Requested =>
        {
            let id = st.aftersales[n].id.clone();
            let platform = st.aftersales[n].platform;
            let r = decide(sim, st, n, Action::Approve, at);
            st.aftersale_decisions.push(Decision {
                platform,
                after_sale_id: id,
                api: "timeout".into(),
                action: Action::Approve,
                by: "timeout".into(),
                outcome: if r.is_ok() {
                    DecisionOutcome::Accepted
                } else {
                    DecisionOutcome::Refused
                },
                reason: r.err().unwrap_or_default(),
                at_ms: at,
            });
        }
        _ => {}
    }
}

/// A valid-looking SF (`SF` + 13 digits) or ZTO (`7` + 14 digits) return number.
fn return_number(rng: &mut Rng) -> (&'static str, String) {
    fn digits(rng: &mut Rng, k: usize) -> String {
        (0..k)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    }
    if rng.chance(0.5) {
        ("SF", format!("SF1{}", digits(rng, 12)))
    } else {
        ("ZTO", format!("7{}", digits(rng, 14)))
    }
}

/// Records a merchant's decision call in the ledger.
fn record(
    st: &mut State,
    platform: Platform,
    id: &str,
    api: &str,
    action: Action,
    r: &Result<(), String>,
) {
    let at_ms = st.now_ms();
    st.aftersale_decisions.push(Decision {
        platform,
        after_sale_id: id.to_string(),
        api: api.to_string(),
        action,
        by: "merchant".into(),
        outcome: if r.is_ok() {
            DecisionOutcome::Accepted
        } else {
            DecisionOutcome::Refused
        },
        reason: r.clone().err().unwrap_or_default(),
        at_ms,
    });
}

/// The record with this id, visible to the calling shop.
fn find(st: &State, platform: Platform, id: &str) -> Option<usize> {
    let &n = st.aftersale_index.get(id)?;
    let a = &st.aftersales[n];
    (a.platform == platform && a.shop == st.scope_shop && a.created_ms <= st.now_ms()).then_some(n)
}

/// Records visible to the calling shop, updated in `[from, to]` (ms), oldest change first.
fn updated_in(st: &State, platform: Platform, from: i64, to: i64) -> Vec<usize> {
    let now = st.now_ms();
    let mut v: Vec<usize> = (0..st.aftersales.len())
        .filter(|&n| {
            let a = &st.aftersales[n];
            a.platform == platform
                && a.shop == st.scope_shop
                && a.created_ms <= now
                && a.updated_ms >= from
                && a.updated_ms <= to
        })
        .collect();
    v.sort_by_key(|&n| (st.aftersales[n].updated_ms, n));
    v
}

fn line_of<'a>(st: &'a State, a: &AfterSale) -> Option<(&'a Order, &'a crate::model::Line)> {
    let o = &st.orders[*st.index.get(&a.order_id)?];
    Some((o, o.lines.get(a.line)?))
}

// ---------------------------------------------------------------- WeChat

/// WeChat's wrong-state answer (UNCONFIRMED number).
pub const WECHAT_ERR_STATE: i64 = 10_020_050;
const WECHAT_ERR_NOT_FOUND: i64 = 10_020_051;

pub fn wechat_status(a: &AfterSale) -> &'static str {
    wechat_status_of(a.state, a.kind)
}

/// WeChat's status string for a state of an after-sale of this kind.
pub fn wechat_status_of(state: AsState, kind: Kind) -> &'static str {
    match (state, kind) {
        (AsState::Requested, _) => "MERCHANT_PROCESSING",
        (AsState::AwaitingReturn, _) => "USER_WAIT_RETURN",
        (AsState::ReturnShipped, _) => "MERCHANT_WAIT_RECEIPT",
        (AsState::Completed, Kind::RefundOnly) => "MERCHANT_REFUND_SUCCESS",
        (AsState::Completed, Kind::ReturnRefund) => "MERCHANT_RETURN_SUCCESS",
        (AsState::Completed, Kind::Exchange) => "MERCHANT_EXCHANGE_SUCCESS",
        (AsState::Rejected, Kind::RefundOnly) => "MERCHANT_REJECT_REFUND",
        (AsState::Rejected, Kind::ReturnRefund) => "MERCHANT_REJECT_RETURN",
        (AsState::Rejected, Kind::Exchange) => "MERCHANT_REJECT_EXCHANGE",
        (AsState::Closed, _) => "USER_CANCELD",
    }
}

fn wechat_render(st: &State, a: &AfterSale) -> Value {
    let (product, sku) = line_of(st, a)
        .map(|(_, l)| (l.product_id.clone(), l.sku_id.clone()))
        .unwrap_or_default();
    let mut v = json!({
        "after_sale_order_id": a.id,
        "order_id": a.order_id,
        "type": match a.kind { Kind::RefundOnly => "REFUND", Kind::ReturnRefund => "RETURN", Kind::Exchange => "EXCHANGE" },
        "sub_type": "DEFAULT",
        "status": wechat_status(a),
        "reason": "OTHERS",
        "reason_text": a.reason,
        "product_info": { "product_id": product, "sku_id": sku, "count": a.qty },
        "details": { "desc": a.reason, "receive_product": a.after_shipping, "cancel_time": 0 },
        "refund_info": { "amount": a.refund_fen },
        "create_time": a.created_ms / 1000,
        "update_time": a.updated_ms / 1000,
    });
    if a.state == AsState::Requested {
        v["deadline"] = json!((a.created_ms + AUTO_APPROVE_MS) / 1000);
    }
    if !a.return_no.is_empty() {
        let name = crate::wechat::CARRIERS
            .iter()
            .find(|c| c.0 == a.return_carrier)
            .map(|c| c.1)
            .unwrap_or("");
        v["return_info"] = json!({ "delivery_id": a.return_carrier, "delivery_name": name, "waybill_id": a.return_no });
    }
    v
}

/// `channels/ec/aftersale/{sub}`.
pub fn wechat(sim: &Sim, st: &mut State, api: &str, sub: &str, b: &Value) -> Response {
    use crate::wechat::{ERR_INVALID_ARGS, ok, reject};
    let id_arg = b
        .get("after_sale_order_id")
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    match sub {
        "getaftersalelist" => {
            let (from, to) = match (
                b.get("begin_update_time").and_then(Value::as_i64),
                b.get("end_update_time").and_then(Value::as_i64),
            ) {
                (Some(f), Some(t)) if t >= f && t - f <= 86_400 => (f, t),
                _ => {
                    return reject(
                        st,
                        api,
                        ERR_INVALID_ARGS,
                        "invalid args, begin_update_time/end_update_time (at most 24 h)",
                    );
                }
            };
            let all = updated_in(st, Platform::Wechat, from * 1000, to * 1000 + 999);
            let start: usize = match b.get("next_key").and_then(Value::as_str) {
                None | Some("") => 0,
                Some(k) => match k.parse() {
                    Ok(n) => n,
                    Err(_) => return reject(st, api, ERR_INVALID_ARGS, "invalid args, next_key"),
                },
            };
            const PAGE: usize = 50;
            let page: Vec<&str> = all
                .iter()
                .skip(start)
                .take(PAGE)
                .map(|&n| st.aftersales[n].id.as_str())
                .collect();
            let next = start + page.len();
            ok(json!({
                "after_sale_order_id_list": page,
                "next_key": next.to_string(),
                "has_more": next < all.len(),
            }))
        }
        "getaftersaleorder" => match find(st, Platform::Wechat, &id_arg) {
            Some(n) => {
                let v = wechat_render(st, &st.aftersales[n]);
                ok(json!({ "after_sale_order": v }))
            }
            None => reject(st, api, WECHAT_ERR_NOT_FOUND, "aftersale order not exist"),
        },
        "acceptapply" | "rejectapply" => {
            let Some(n) = find(st, Platform::Wechat, &id_arg) else {
                return reject(st, api, WECHAT_ERR_NOT_FOUND, "aftersale order not exist");
            };
            let action = match (sub, st.aftersales[n].state) {
                ("rejectapply", _) => Action::Reject,
                (_, AsState::ReturnShipped) => Action::ConfirmReceipt,
                _ => Action::Approve,
            };
            if action == Action::Reject
                && b.get("reject_reason")
                    .and_then(Value::as_str)
                    .is_none_or(|r| r.trim().is_empty())
            {
                let r = Err("reject_reason is required".to_string());
                record(st, Platform::Wechat, &id_arg, api, action, &r);
                return reject(st, api, ERR_INVALID_ARGS, "invalid args, reject_reason");
            }
            let now = st.now_ms();
            let r = decide(Some(sim), st, n, action, now);
            record(st, Platform::Wechat, &id_arg, api, action, &r);
            match r {
                Ok(()) => ok(json!({})),
                Err(_) => reject(st, api, WECHAT_ERR_STATE, "aftersale status not allow"),
            }
        }
        _ => reject(
            st,
            api,
            crate::wechat::ERR_API_UNAUTHORIZED,
            "api unauthorized",
        ),
    }
}

// ---------------------------------------------------------------- Douyin

pub fn douyin_status(a: &AfterSale) -> i64 {
    match (a.state, a.kind) {
        (AsState::Requested, _) => 6,
        (AsState::AwaitingReturn, _) => 7,
        (AsState::ReturnShipped, _) => 11,
        (AsState::Completed, Kind::Exchange) => 14,
        (AsState::Completed, _) => 12,
        (AsState::Rejected, _) if a.rejected_on_receipt => 29,
        (AsState::Rejected, _) => 27,
        (AsState::Closed, _) => 28,
    }
}

fn douyin_type(a: &AfterSale) -> i64 {
    match a.kind {
        Kind::ReturnRefund => 0,
        Kind::RefundOnly if a.after_shipping => 1,
        Kind::RefundOnly => 2,
        Kind::Exchange => 3,
    }
}

fn douyin_render(st: &State, a: &AfterSale) -> Value {
    let (line_id, item_num, product) = line_of(st, a)
        .map(|(_, l)| (l.line_id.clone(), l.qty, l.product_id.clone()))
        .unwrap_or_default();
    let company = crate::douyin::CARRIERS
        .iter()
        .find(|c| {
            (a.return_carrier == "SF" && c.1 == "shunfeng")
                || (a.return_carrier == "ZTO" && c.1 == "zhongtong")
        })
        .map(|c| c.2)
        .unwrap_or("");
    json!({
        "aftersale_info": {
            "aftersale_id": a.id,
            "aftersale_order_type": 1,
            "aftersale_type": douyin_type(a),
            "aftersale_status": douyin_status(a),
            "related_id": line_id,
            "apply_time": a.created_ms / 1000,
            "create_time": a.created_ms / 1000,
            "update_time": a.updated_ms / 1000,
            "status_deadline": if a.state == AsState::Requested { (a.created_ms + AUTO_APPROVE_MS) / 1000 } else { 0 },
            "refund_amount": a.refund_fen,
            "refund_post_amount": 0,
            "aftersale_num": a.qty,
            "refund_status": match a.state { AsState::Completed if a.kind != Kind::Exchange => 3, AsState::Requested | AsState::AwaitingReturn | AsState::ReturnShipped => 1, _ => 0 },
            "return_logistics_code": a.return_no,
            "return_logistics_company_name": company,
            "reason_second_labels": [],
            "remark": "",
            "got_pkg": if a.after_shipping { 1 } else { 0 },
        },
        "order_info": {
            "shop_order_id": a.order_id,
            "related_order_info": [{ "sku_order_id": line_id, "item_num": item_num, "product_id": product.parse::<i64>().unwrap_or(0) }],
        },
    })
}

/// `afterSale.*`: `(code, sub_code, sub_msg)` on refusal.
pub fn douyin(
    sim: &Sim,
    st: &mut State,
    method: &str,
    p: &Value,
) -> Result<Value, (i64, String, String)> {
    let bad = |m: &str| {
        (
            40004,
            "isv.parameter-invalid:11000".to_string(),
            m.to_string(),
        )
    };
    match method {
        "afterSale.List" => {
            let size = p.get("size").and_then(Value::as_i64).unwrap_or(10);
            let page = p.get("page").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=100).contains(&size) || page < 0 || (page + 1) * size > 50_000 {
                return Err(bad("size 1..=100, page from 0, page*size <= 50000"));
            }
            let ids: Vec<usize> = if let Some(id) = p
                .get("aftersale_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                find(st, Platform::Douyin, id).into_iter().collect()
            } else {
                let from = p.get("update_start_time").and_then(Value::as_i64);
                let to = p.get("update_end_time").and_then(Value::as_i64);
                match (from, to) {
                    (Some(f), Some(t)) if t >= f => {
                        updated_in(st, Platform::Douyin, f * 1000, t * 1000 + 999)
                    }
                    _ => return Err(bad("update_start_time/update_end_time")),
                }
            };
            let total = ids.len() as i64;
            let items: Vec<Value> = ids
                .iter()
                .skip((page * size) as usize)
                .take(size as usize)
                .map(|&n| douyin_render(st, &st.aftersales[n]))
                .collect();
            Ok(
                json!({ "items": items, "has_more": (page + 1) * size < total, "total": total, "page": page, "size": size }),
            )
        }
        "afterSale.operate" => {
            let ty = p.get("type").and_then(Value::as_i64).unwrap_or(0);
            let items = p
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if items.is_empty() || items.len() > 20 {
                return Err(bad("items: 1..=20"));
            }
            let mut out = Vec::new();
            for it in &items {
                let id = it
                    .get("aftersale_id")
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let Some(n) = find(st, Platform::Douyin, &id) else {
                    return Err((
                        40004,
                        "isv.parameter-invalid:11003".into(),
                        "数据不存在".into(),
                    ));
                };
                let a = &st.aftersales[n];
                // Each type belongs to one kind and stage (AFTERSALE-PROTOCOLS.md §2).
                let (action, fits) = match ty {
                    201 => (Action::Approve, a.kind == Kind::RefundOnly),
                    202 => (Action::Reject, a.kind == Kind::RefundOnly),
                    101 => (Action::Approve, a.kind == Kind::ReturnRefund),
                    102 => (
                        Action::Reject,
                        a.kind == Kind::ReturnRefund && a.state == AsState::Requested,
                    ),
                    111 => (Action::ConfirmReceipt, a.kind == Kind::ReturnRefund),
                    112 => (
                        Action::Reject,
                        a.kind == Kind::ReturnRefund && a.state == AsState::ReturnShipped,
                    ),
                    301 => (Action::Approve, a.kind == Kind::Exchange),
                    302 => (Action::Reject, a.kind == Kind::Exchange),
                    311 => (Action::ConfirmReceipt, a.kind == Kind::Exchange),
                    _ => return Err(bad("type")),
                };
                if matches!(action, Action::Reject)
                    && it
                        .get("reason")
                        .and_then(Value::as_str)
                        .is_none_or(|r| r.trim().is_empty())
                {
                    let r = Err("reason is required to reject".to_string());
                    record(st, Platform::Douyin, &id, method, action, &r);
                    return Err(bad("reason is required to reject"));
                }
                let now = st.now_ms();
                let r = if fits {
                    decide(Some(sim), st, n, action, now)
                } else {
                    Err(format!("type {ty} does not fit this after-sale"))
                };
                record(st, Platform::Douyin, &id, method, action, &r);
                if r.is_err() {
                    return Err((
                        50002,
                        "isv.business-failed:20309541".into(),
                        "售后状态错误".into(),
                    ));
                }
                out.push(json!({ "aftersale_id": id.parse::<i64>().unwrap_or(0), "status_code": 0, "status_msg": "success" }));
            }
            Ok(json!({ "items": out }))
        }
        _ => Err((
            30001,
            "dop.no-permissions".into(),
            "无权限调用该接口".into(),
        )),
    }
}

// ---------------------------------------------------------------- Xiaohongshu

/// Xiaohongshu's wrong-state answer (UNCONFIRMED number).
pub const XHS_ERR_STATE: i64 = -1_000_201;

pub fn xhs_status(a: &AfterSale) -> i64 {
    match a.state {
        AsState::Requested => 1,
        AsState::AwaitingReturn => 2,
        AsState::ReturnShipped => 3,
        AsState::Completed => 4,
        AsState::Closed => 5,
        AsState::Rejected if a.rejected_on_receipt => 9001,
        AsState::Rejected => 9,
    }
}

fn xhs_type(a: &AfterSale) -> i64 {
    match a.kind {
        Kind::ReturnRefund => 1,
        Kind::Exchange => 2,
        Kind::RefundOnly if a.after_shipping => 4,
        Kind::RefundOnly => 5,
    }
}

fn xhs_carrier(a: &AfterSale) -> (&'static str, &'static str) {
    match a.return_carrier.as_str() {
        "SF" => ("shunfeng", "顺丰速运"),
        "ZTO" => ("zto", "中通速递"),
        _ => ("", ""),
    }
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

fn xhs_simple(a: &AfterSale) -> Value {
    let (code, name) = xhs_carrier(a);
    json!({
        "returnsId": a.id, "returnType": xhs_type(a), "reasonId": 1, "reason": a.reason,
        "status": xhs_status(a), "orderId": a.order_id, "createdTime": a.created_ms,
        "updateTime": a.updated_ms, "returnExpressNo": a.return_no,
        "returnExpressCompany": name, "returnExpressCompanyCode": code,
        "shipNeeded": if a.kind == Kind::RefundOnly { 0 } else { 1 },
        "refunded": a.state == AsState::Completed && a.kind != Kind::Exchange,
        "expectedRefundAmount": yuan(a.refund_fen),
    })
}

fn xhs_info(st: &State, a: &AfterSale) -> Value {
    let (sku, bought) = line_of(st, a)
        .map(|(_, l)| (l.sku_id.clone(), l.qty))
        .unwrap_or_default();
    let (code, name) = xhs_carrier(a);
    json!({
        "afterSaleInfo": {
            "returnsId": a.id, "returnType": xhs_type(a), "reasonId": 1, "reasonNameZh": a.reason,
            "status": xhs_status(a), "orderId": a.order_id, "applyTime": a.created_ms,
            "updatedAt": a.updated_ms,
            "expireTime": if a.state == AsState::Requested { a.created_ms + AUTO_APPROVE_MS } else { -1 },
            "skus": [{ "skuId": sku, "boughtCount": bought, "appliedCount": a.qty, "appliedTotalAmountYuan": yuan(a.refund_fen) }],
            "expectedRefundAmountYuan": yuan(a.refund_fen),
        },
        "logisticsInfo": {
            "afterSale": if a.return_no.is_empty() { Value::Null } else {
                json!({ "expressNo": a.return_no, "expressCompanyCode": code, "expressCompanyName": name })
            },
        },
    })
}

/// `afterSale.*`: `(error_code, error_msg)` on refusal.
pub fn xiaohongshu(
    sim: &Sim,
    st: &mut State,
    method: &str,
    b: &Value,
) -> Result<Value, (i64, String)> {
    use crate::xiaohongshu::ERR_PARAM;
    let bad = |m: &str| (ERR_PARAM, m.to_string());
    let id = b
        .get("returnsId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match method {
        "afterSale.listAfterSaleApi" => {
            let (Some(from), Some(to), Some(tt)) = (
                b.get("startTime").and_then(Value::as_i64),
                b.get("endTime").and_then(Value::as_i64),
                b.get("timeType").and_then(Value::as_i64),
            ) else {
                return Err(bad("startTime, endTime and timeType are required"));
            };
            let limit = match tt {
                1 => 86_400_000,
                2 => 1_800_000,
                _ => return Err(bad("timeType: 1 or 2")),
            };
            if to < from || to - from > limit {
                return Err(bad("time range too long"));
            }
            let page_no = b.get("pageNo").and_then(Value::as_i64).unwrap_or(1);
            let page_size = b.get("pageSize").and_then(Value::as_i64).unwrap_or(50);
            if page_no < 1 || !(1..=100).contains(&page_size) {
                return Err(bad("pageNo from 1, pageSize 1..=100"));
            }
            let now = st.now_ms();
            let mut ids: Vec<usize> = (0..st.aftersales.len())
                .filter(|&n| {
                    let a = &st.aftersales[n];
                    let t = if tt == 1 { a.created_ms } else { a.updated_ms };
                    a.platform == Platform::Xiaohongshu
                        && a.shop == st.scope_shop
                        && a.created_ms <= now
                        && t >= from
                        && t <= to
                })
                .collect();
            ids.sort_by_key(|&n| (st.aftersales[n].updated_ms, n));
            let total = ids.len() as i64;
            let list: Vec<Value> = ids
                .iter()
                .skip(((page_no - 1) * page_size) as usize)
                .take(page_size as usize)
                .map(|&n| xhs_simple(&st.aftersales[n]))
                .collect();
            let max_page = (total + page_size - 1) / page_size;
            Ok(
                json!({ "total": total, "pageNo": page_no, "pageSize": page_size, "maxPageNo": max_page,
                       "haxNext": page_no < max_page, "simpleAfterSaleList": list }),
            )
        }
        "afterSale.getAfterSaleInfo" => match find(st, Platform::Xiaohongshu, &id) {
            Some(n) => Ok(xhs_info(st, &st.aftersales[n])),
            None => Err(bad("售后单不存在")),
        },
        "afterSale.auditReturns" | "afterSale.confirmReceive" => {
            let Some(n) = find(st, Platform::Xiaohongshu, &id) else {
                return Err(bad("售后单不存在"));
            };
            let act = b.get("action").and_then(Value::as_i64).unwrap_or(0);
            let kind = st.aftersales[n].kind;
            let (action, fits) = match (method, act) {
                ("afterSale.auditReturns", 1) => (Action::Approve, kind == Kind::RefundOnly),
                ("afterSale.auditReturns", 2) => (Action::Approve, kind != Kind::RefundOnly),
                ("afterSale.auditReturns", 3) => {
                    (Action::Reject, st.aftersales[n].state == AsState::Requested)
                }
                ("afterSale.confirmReceive", 1) => (Action::ConfirmReceipt, true),
                ("afterSale.confirmReceive", 2) => (
                    Action::Reject,
                    st.aftersales[n].state == AsState::ReturnShipped,
                ),
                _ => return Err(bad("action")),
            };
            if action == Action::Reject && b.get("reason").and_then(Value::as_i64).is_none() {
                let r = Err("reason is required to reject".to_string());
                record(st, Platform::Xiaohongshu, &id, method, action, &r);
                return Err(bad("拒绝时reason必填"));
            }
            let now = st.now_ms();
            let r = if fits {
                decide(Some(sim), st, n, action, now)
            } else {
                Err(format!("action {act} does not fit this after-sale"))
            };
            record(st, Platform::Xiaohongshu, &id, method, action, &r);
            match r {
                Ok(()) => Ok(json!("操作成功")),
                Err(_) => Err((XHS_ERR_STATE, "售后单状态不支持该操作".into())),
            }
        }
        _ => Err(bad("method不存在或无权限")),
    }
}

// ---------------------------------------------------------------- pushes

/// The push for an after-sale change, in the platform's shape: `(event name, message)`.
pub fn push_payload(
    cfg: &crate::SimConfig,
    o: &Order,
    a: &AfterSale,
    ev: AsEvent,
    now_ms: i64,
) -> Option<(String, Value)> {
    match o.platform {
        Platform::Wechat => {
            let event = "channels_ec_aftersale_update";
            let msg = json!({
                "ToUserName": cfg.wechat_app(o.shop).username,
                "FromUserName": o.buyer_id,
                "CreateTime": now_ms / 1000,
                "MsgType": "event",
                "Event": event,
                "finder_shop_aftersale_status_update": {
                    "status": wechat_status(a),
                    "after_sale_order_id": a.id,
                    "order_id": a.order_id,
                },
            });
            Some((event.to_string(), msg))
        }
        Platform::Douyin => {
            let tag = match (ev, a.kind) {
                (AsEvent::Created, _) => 200,
                (AsEvent::Approved, _) => 202,
                (AsEvent::BuyerShipped, _) => 203,
                (AsEvent::Rejected, Kind::RefundOnly) => 204,
                (AsEvent::Rejected, _) if a.rejected_on_receipt => 204,
                (AsEvent::Rejected, _) => 205,
                (AsEvent::Completed, _) => 206,
                (AsEvent::Closed, _) => 207,
            };
            let line_id = o
                .lines
                .get(a.line)
                .map(|l| l.line_id.clone())
                .unwrap_or_default();
            let mut data = json!({
                "aftersale_id": a.id.parse::<u64>().unwrap_or(0),
                "p_id": o.order_id.parse::<u64>().unwrap_or(0),
                "s_id": line_id.parse::<u64>().unwrap_or(0),
                "shop_id": cfg.douyin_shop(o.shop).0,
                "aftersale_status": douyin_status(a),
                "aftersale_type": douyin_type(a),
                "refund_amount": a.refund_fen,
                "update_time": now_ms / 1000,
            });
            if ev == AsEvent::BuyerShipped {
                data["logistics"] = json!(a.return_no);
            }
            let msg = json!({ "tag": tag.to_string(), "msg_id": format!("{}{tag}{now_ms}", a.id), "data": data.to_string() });
            Some((format!("doudian_refund_{tag}"), msg))
        }
        Platform::Xiaohongshu => {
            let tag = if ev == AsEvent::Created {
                "msg_after_sale_create"
            } else {
                "msg_after_sale_status_change"
            };
            let data = json!({
                "returnsId": a.id,
                "orderId": o.order_id,
                "status": xhs_status(a),
                "updateTime": now_ms,
            });
            let msg = json!({ "msgTag": tag, "sellerId": cfg.xiaohongshu_seller(o.shop).0, "data": data.to_string() });
            Some((tag.to_string(), msg))
        }
    }
}

/// Opens an after-sale now (test and control hook); emits its push.
pub fn open_now(sim: &Sim, order_id: &str, kind: Kind) -> Option<String> {
    let mut st = sim.lock();
    let &idx = st.index.get(order_id)?;
    let now = st.now_ms();
    // Seeded by the order, not the clock: whether the buyer later withdraws is the same in
    // every run (a test opening an after-sale must not fail one run in seven).
    let seed = order_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng::new(seed ^ idx as u64 ^ 0xA5A5);
    let n = open(&mut st, idx, kind, now, &mut rng)?;
    emit(Some(sim), &st, n, AsEvent::Created);
    Some(st.aftersales[n].id.clone())
}

/// The after-sales and decisions, optionally for one platform.
pub fn ledger(sim: &Sim, platform: Option<Platform>) -> AfterSaleLedger {
    let st = sim.lock();
    let keep = |p: Platform| platform.is_none_or(|q| q == p);
    AfterSaleLedger {
        after_sales: st
            .aftersales
            .iter()
            .filter(|a| keep(a.platform))
            .cloned()
            .collect(),
        decisions: st
            .aftersale_decisions
            .iter()
            .filter(|d| keep(d.platform))
            .cloned()
            .collect(),
    }
}

/// A scheduled buyer request (from the traffic): opens it and returns the push's event.
pub fn open_scheduled(st: &mut State, idx: usize, kind: u8, at: i64) -> Option<Change> {
    let kind = match kind {
        0 => Kind::RefundOnly,
        1 => Kind::ReturnRefund,
        _ => Kind::Exchange,
    };
    let mut rng = Rng::new(at as u64 ^ idx as u64 ^ 0xAF7E);
    let n = open(st, idx, kind, at, &mut rng)?;
    Some(Change::AfterSale(
        Box::new(st.aftersales[n].clone()),
        AsEvent::Created,
    ))
}
