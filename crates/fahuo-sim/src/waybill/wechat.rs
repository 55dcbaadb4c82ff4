//! WeChat Shop platform e-waybill (微信小店电子面单) emulator:
//! `channels/ec/logistics/ewaybill/biz/{account/get, order/precreate, order/create, order/cancel,
//! order/get}`.
//!
//! Protocol (WAYBILL-PROTOCOLS.md, "WeChat Shop e-waybill"): the same `access_token` and
//! `errcode`/`errmsg` envelope as the order API, so the requests arrive through
//! [`crate::wechat`]'s router, token check and fault guard, and land in [`handle`] with the shop
//! already known. Codes: 40097 invalid args, 9710001 no balance, 9710002 account not found or not
//! usable (the last two are the contract's assumed codes).

use crate::SimConfig;
use crate::state::State;
use crate::waybill::carrier::Carrier;
use crate::waybill::route::Place;
use crate::waybill::{CancelOutcome, Fields, IssueError, IssueRequest, Service, WxOrder};
use crate::wechat::{ERR_INVALID_ARGS, ok, reject};
use axum::response::Response;
use serde_json::{Value, json};

pub const ERR_NO_BALANCE: i64 = 9_710_001;
pub const ERR_ACCOUNT: i64 = 9_710_002;

/// Serves `sub` (the path after `logistics/ewaybill/biz/`) for the shop in `st.scope_shop`.
pub fn handle(cfg: &SimConfig, st: &mut State, api: &str, sub: &str, b: &Value) -> Response {
    let f = match Fields::of(b, "") {
        Ok(f) => f,
        Err(e) => return reject(st, api, ERR_INVALID_ARGS, &format!("invalid args, {e}")),
    };
    let r = match sub {
        "account/get" => account_get(cfg, st, &f),
        "order/precreate" => precreate(cfg, st, &f),
        "order/create" => create(cfg, st, &f),
        "order/cancel" => cancel(st, &f),
        "order/get" => order_get(st, &f),
        _ => Err((
            crate::wechat::ERR_API_UNAUTHORIZED,
            "api unauthorized".into(),
        )),
    };
    match r {
        Ok(v) => ok(v),
        Err((code, msg)) => reject(st, api, code, &msg),
    }
}

type Answer = Result<Value, (i64, String)>;

fn invalid(e: String) -> (i64, String) {
    (ERR_INVALID_ARGS, format!("invalid args, {e}"))
}

fn account_get(cfg: &SimConfig, st: &State, f: &Fields<'_>) -> Answer {
    let delivery = f.opt_str("delivery_id").map_err(invalid)?;
    let need_balance = f
        .opt_bool("need_balance")
        .map_err(invalid)?
        .unwrap_or(false);
    let limit = f.opt_int("limit").map_err(invalid)?.unwrap_or(100);
    let offset = f.opt_int("offset").map_err(invalid)?.unwrap_or(0);
    if !(1..=100).contains(&limit) || offset < 0 {
        return Err(invalid(
            "limit: expecting 1..=100, offset: expecting >= 0".into(),
        ));
    }
    let all: Vec<_> = cfg
        .wechat_ewaybill_accounts(st.scope_shop)
        .into_iter()
        .filter(|a| delivery.is_none_or(|d| d.is_empty() || d == a.delivery_id))
        .collect();
    let list: Vec<Value> = all
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|a| {
            let direct = Carrier::from_wechat(&a.delivery_id).is_some_and(|c| c.codes().direct);
            let mut v = json!({
                "acct_id": a.acct_id,
                "delivery_id": a.delivery_id,
                "company_type": if direct { 2 } else { 1 },
                "site_info": { "site_code": a.site_code, "site_name": a.site_name },
                "status": 3,
            });
            if need_balance && let Some(b) = st.waybills.account(Service::Wechat, &a.acct_id) {
                v["available"] = json!(b.balance);
                v["allocated"] = json!(b.issued);
                v["recycled"] = json!(b.cancelled);
                v["cancel"] = json!(b.cancelled);
            }
            v
        })
        .collect();
    Ok(json!({ "account_list": list, "total_num": all.len() }))
}

/// What an `order/precreate` or `order/create` body asks for.
struct OrderBody {
    carrier: Carrier,
    delivery_id: String,
    acct_id: String,
    dest: Place,
    origin: Place,
}

/// Validates the body shared by `order/precreate` and `order/create`.
fn order_body(cfg: &SimConfig, st: &State, f: &Fields<'_>) -> Result<OrderBody, (i64, String)> {
    let checked = (|| -> Result<_, String> {
        let delivery = f.str("delivery_id")?;
        let acct = f.str("ewaybill_acct_id")?;
        let party = |k: &str| -> Result<Place, String> {
            let p = f.obj(k)?;
            p.str("name")?;
            p.str("mobile")?;
            p.str("address")?;
            Ok(Place::new(
                p.str("province")?,
                p.str("city")?,
                p.str("county")?,
            ))
        };
        let origin = party("sender")?;
        let dest = party("receiver")?;
        for o in f.list("ec_order_list")? {
            o.str("ec_order_id")?;
            for g in o.list("goods_list")? {
                g.str("good_name")?;
                g.count("good_count")?;
            }
        }
        f.opt_str("remark")?;
        Ok((delivery, acct, dest, origin))
    })();
    let (delivery, acct, dest, origin) = checked.map_err(invalid)?;
    let Some(carrier) = Carrier::from_wechat(delivery) else {
        return Err(invalid(format!(
            "delivery_id: {delivery:?} is not an e-waybill carrier"
        )));
    };
    let known = cfg
        .wechat_ewaybill_accounts(st.scope_shop)
        .into_iter()
        .any(|a| a.acct_id == acct && a.delivery_id == delivery);
    if !known {
        return Err((
            ERR_ACCOUNT,
            format!("ewaybill account {acct} not found for {delivery} in this shop"),
        ));
    }
    Ok(OrderBody {
        carrier,
        delivery_id: delivery.to_string(),
        acct_id: acct.to_string(),
        dest,
        origin,
    })
}

fn precreate(cfg: &SimConfig, st: &mut State, f: &Fields<'_>) -> Answer {
    let OrderBody {
        delivery_id,
        acct_id,
        ..
    } = order_body(cfg, st, f)?;
    let id = loop {
        let id = st.waybills.new_id(true, 19);
        if !st.waybills.wx_orders.contains_key(&id) {
            break id;
        }
    };
    let order = WxOrder {
        shop: st.scope_shop,
        delivery_id,
        acct_id,
        cancelled: false,
    };
    st.waybills.wx_orders.insert(id.clone(), order);
    Ok(json!({ "ewaybill_order_id": id }))
}

/// The precreated order `f` names, if it belongs to the calling shop.
fn find_order(st: &State, f: &Fields<'_>) -> Result<(String, WxOrder), (i64, String)> {
    let id = f.str("ewaybill_order_id").map_err(invalid)?;
    match st.waybills.wx_orders.get(id) {
        Some(o) if o.shop == st.scope_shop => Ok((id.to_string(), o.clone())),
        _ => Err(invalid(format!(
            "ewaybill_order_id: {id:?} not found (call order/precreate first)"
        ))),
    }
}

fn create(cfg: &SimConfig, st: &mut State, f: &Fields<'_>) -> Answer {
    let OrderBody {
        carrier,
        delivery_id,
        acct_id,
        dest,
        origin,
    } = order_body(cfg, st, f)?;
    let (id, order) = find_order(st, f)?;
    if order.delivery_id != delivery_id || order.acct_id != acct_id {
        return Err(invalid(format!(
            "ewaybill_order_id: {id} was precreated for {} account {}",
            order.delivery_id, order.acct_id
        )));
    }
    if order.cancelled {
        return Err(invalid(format!(
            "ewaybill_order_id: {id} is cancelled; precreate a new order"
        )));
    }
    let now = st.now_ms();
    let req = IssueRequest {
        service: Service::Wechat,
        account: &acct_id,
        shop: Some(st.scope_shop),
        carrier,
        carrier_code: &delivery_id,
        key: &id,
        dest,
        origin,
    };
    match st.waybills.issue(req, now) {
        Ok((r, _)) => Ok(json!({
            "ewaybill_order_id": id,
            "waybill_id": r.number,
            "delivery_error_msg": "",
            "print_info": print_info(&r.sort_code, &r.hub),
        })),
        Err(IssueError::NoBalance) => Err((
            ERR_NO_BALANCE,
            format!("ewaybill account {acct_id} has no balance"),
        )),
        Err(IssueError::KeyCancelled(n)) => Err(invalid(format!(
            "ewaybill_order_id: {id} (waybill {n}) is cancelled; precreate a new order"
        ))),
        Err(IssueError::NoAccount) => Err((
            ERR_ACCOUNT,
            format!("ewaybill account {acct_id} not usable"),
        )),
    }
}

fn print_info(sort_code: &str, hub: &str) -> String {
    json!({ "sort_code": sort_code, "hub": hub }).to_string()
}

fn cancel(st: &mut State, f: &Fields<'_>) -> Answer {
    let (delivery, id, number) = (|| -> Result<_, String> {
        Ok((
            f.str("delivery_id")?,
            f.str("ewaybill_order_id")?,
            f.str("waybill_id")?,
        ))
    })()
    .map_err(invalid)?;
    let Some(order) = st
        .waybills
        .wx_orders
        .get(id)
        .filter(|o| o.shop == st.scope_shop)
        .cloned()
    else {
        // Unknown orders cancel as a no-op: recycling is idempotent.
        return Ok(json!({}));
    };
    if order.delivery_id != delivery {
        return Err(invalid(format!(
            "delivery_id: {id} belongs to {}, not {delivery}",
            order.delivery_id
        )));
    }
    let issued = st
        .waybills
        .by_key(Service::Wechat, &order.acct_id, id)
        .map(|r| r.number.clone());
    match issued {
        Some(n) if n != number => {
            return Err(invalid(format!(
                "waybill_id: {id} has waybill {n}, not {number}"
            )));
        }
        Some(n) => {
            let now = st.now_ms();
            let out = st
                .waybills
                .cancel(Service::Wechat, &order.acct_id, &n, Some(id), now);
            debug_assert!(!matches!(out, CancelOutcome::KeyMismatch { .. }));
        }
        // Cancelled before a number was issued: no number will ever be.
        None => {}
    }
    if let Some(o) = st.waybills.wx_orders.get_mut(id) {
        o.cancelled = true;
    }
    Ok(json!({}))
}

fn order_get(st: &State, f: &Fields<'_>) -> Answer {
    let (id, order) = find_order(st, f)?;
    let rec = st.waybills.by_key(Service::Wechat, &order.acct_id, &id);
    // Assumed shape (the reference lists the endpoint only): 0 precreated, 1 number issued,
    // 2 cancelled.
    let status = match (order.cancelled, rec) {
        (true, _) => 2,
        (false, Some(_)) => 1,
        (false, None) => 0,
    };
    Ok(json!({
        "order_info": {
            "ewaybill_order_id": id,
            "delivery_id": order.delivery_id,
            "ewaybill_acct_id": order.acct_id,
            "waybill_id": rec.map(|r| r.number.clone()).unwrap_or_default(),
            "status": status,
            "print_info": rec.map(|r| print_info(&r.sort_code, &r.hub)).unwrap_or_default(),
        }
    }))
}
