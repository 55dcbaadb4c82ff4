//! WeChat Shop e-waybill (微信小店电子面单), through the shop's client and token:
//! `order/precreate` hands out the request key (`ewaybill_order_id`), `order/create` issues the
//! number under it, `order/cancel` recycles, `account/get` reads the balance.

use super::{Contact, IssuedWaybill, WaybillClient, WaybillRequest};
use crate::client::PlatformClient;
use crate::error::PlatformError;
use crate::util::{int, nonempty};
use serde_json::{Value, json};

fn shop(c: &WaybillClient) -> Result<&PlatformClient, PlatformError> {
    c.shop
        .as_deref()
        .ok_or_else(|| PlatformError::Config("WeChat e-waybill needs its shop's client".into()))
}

async fn call(c: &WaybillClient, api: &str, body: Value) -> Result<Value, PlatformError> {
    crate::wechat::call(shop(c)?, &format!("logistics/ewaybill/biz/{api}"), body).await
}

fn party(p: &Contact) -> Value {
    json!({
        "name": p.name,
        "mobile": p.mobile,
        "province": p.province,
        "city": p.city,
        "county": p.county,
        "address": p.address,
    })
}

/// The order/precreate and order/create body.
fn body(c: &WaybillClient, req: &WaybillRequest) -> Value {
    let goods: Vec<Value> = req
        .items
        .iter()
        .map(|i| json!({"good_name": i.name, "good_count": i.count}))
        .collect();
    let ec_orders: Vec<Value> = req
        .platform_order_ids
        .iter()
        .map(|id| {
            // WeChat order ids are 64-bit numbers on the wire.
            let id = id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n));
            json!({"ec_order_id": id, "goods_list": goods})
        })
        .collect();
    let creds = &c.account.credentials;
    let mut b = json!({
        "delivery_id": c.account.carrier.code(),
        "ewaybill_acct_id": creds.account.clone().unwrap_or_default(),
        "sender": party(&req.sender),
        "receiver": party(&req.receiver),
        "ec_order_list": ec_orders,
    });
    if let Some(site) = &creds.site {
        b["site_code"] = json!(site);
    }
    if let Some(r) = &req.remark {
        b["remark"] = json!(r);
    }
    b
}

pub(crate) async fn precreate(
    c: &WaybillClient,
    req: &WaybillRequest,
) -> Result<String, PlatformError> {
    let v = call(c, "order/precreate", body(c, req)).await?;
    nonempty(&v, "ewaybill_order_id")
        .ok_or_else(|| PlatformError::protocol("precreate without ewaybill_order_id"))
}

pub(crate) async fn issue(
    c: &WaybillClient,
    key: &str,
    req: &WaybillRequest,
) -> Result<IssuedWaybill, PlatformError> {
    let mut b = body(c, req);
    b["ewaybill_order_id"] = json!(key);
    let v = call(c, "order/create", b).await?;
    let tracking_no = nonempty(&v, "waybill_id").ok_or_else(|| {
        let why = nonempty(&v, "delivery_error_msg").unwrap_or_default();
        PlatformError::protocol(format!("create without waybill_id {why}"))
    })?;
    // print_info is JSON text with the sort code and hub (assumed, see the protocol notes).
    let print: Value = nonempty(&v, "print_info")
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Ok(IssuedWaybill {
        tracking_no,
        sort_code: nonempty(&print, "sort_code"),
        hub: nonempty(&print, "hub"),
    })
}

pub(crate) async fn cancel(
    c: &WaybillClient,
    key: &str,
    tracking_no: &str,
) -> Result<(), PlatformError> {
    let b = json!({
        "delivery_id": c.account.carrier.code(),
        "ewaybill_order_id": key,
        "waybill_id": tracking_no,
    });
    call(c, "order/cancel", b).await.map(drop)
}

pub(crate) async fn balance(c: &WaybillClient) -> Result<i64, PlatformError> {
    let acct = c.account.credentials.account.clone().unwrap_or_default();
    let v = call(
        c,
        "account/get",
        json!({"delivery_id": c.account.carrier.code(), "need_balance": true, "limit": 100, "offset": 0}),
    )
    .await?;
    let list = v
        .get("account_list")
        .and_then(Value::as_array)
        .ok_or_else(|| PlatformError::protocol("account/get without account_list"))?;
    let mine = list
        .iter()
        .find(|a| nonempty(a, "acct_id").as_deref() == Some(acct.as_str()))
        .ok_or_else(|| PlatformError::Invalid {
            code: "account".into(),
            msg: format!("account {acct} is not among the shop's e-waybill accounts"),
        })?;
    int(mine, "available")?.ok_or_else(|| PlatformError::protocol("account without available"))
}
