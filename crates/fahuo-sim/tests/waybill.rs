//! The e-waybill emulators over real HTTP, spoken with a plain reqwest client. Signatures are
//! computed here from the text of WAYBILL-PROTOCOLS.md, not with the emulator's own helpers.

mod common;

use base64::Engine;
use common::*;
use fahuo_sim::{SimHandle, SimInfo, WaybillService, WaybillStatus};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const HZ: &str = "浙江省杭州市西湖区文三路90号";
const SZ: &str = "广东省深圳市南山区科技园路1号";

fn client(timeout: Duration) -> reqwest::Client {
    // In a workspace build reqwest's features unify with the adapters' `rustls-no-provider`,
    // which needs a crypto provider installed even for plain http://.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("client")
}

async fn info(h: &SimHandle) -> SimInfo {
    let url = format!("http://{}/_sim/info", h.addr());
    let body = client(Duration::from_secs(10))
        .get(url)
        .send()
        .await
        .expect("http")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&body).expect("info json")
}

async fn into_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

// ------------------------------------------------------------------ kuaidi100

/// `UPPER(MD5(param + t + key + secret))`, hex.
fn k100_sign(param: &str, t: &str, key: &str, secret: &str) -> String {
    md5s(&format!("{param}{t}{key}{secret}")).to_uppercase()
}

async fn k100_form(h: &SimHandle, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/label/order", info(h).await.kuaidi100_base_url);
    into_json(
        client(Duration::from_secs(10))
            .post(url)
            .form(form)
            .send()
            .await
            .expect("http"),
    )
    .await
}

async fn k100(h: &SimHandle, method: &str, param: &Value) -> (u16, Value) {
    let i = info(h).await;
    let (key, secret) = (i.kuaidi100.key, i.kuaidi100.secret);
    let p = param.to_string();
    let t = "1763000000123";
    let sign = k100_sign(&p, t, &key, &secret);
    k100_form(
        h,
        &[
            ("method", method),
            ("key", &key),
            ("t", t),
            ("param", &p),
            ("sign", &sign),
        ],
    )
    .await
}

fn k100_account(i: &SimInfo, com: &str) -> (String, String) {
    let a = i
        .kuaidi100
        .accounts
        .iter()
        .find(|a| a.kuaidicom == com)
        .expect("account");
    (a.partner_id.clone(), a.partner_key.clone())
}

fn k100_order(i: &SimInfo, com: &str, order_id: &str) -> Value {
    let (id, key) = k100_account(i, com);
    json!({
        "kuaidicom": com, "partnerId": id, "partnerKey": key, "orderId": order_id,
        "recMan": { "name": "张三", "mobile": "13800138000", "printAddr": HZ },
        "sendMan": { "name": "发货仓", "mobile": "13900139000", "printAddr": SZ, "company": "发货" },
        "cargo": "衣服", "count": 1, "weight": 0.5, "payType": "SHIPPER", "expType": "标准快递",
        "printType": "NON", "needSubscribe": false,
    })
}

fn k100_cancel(i: &SimInfo, com: &str, order_id: &str, num: &str) -> Value {
    let (id, key) = k100_account(i, com);
    json!({ "partnerId": id, "partnerKey": key, "kuaidicom": com, "kuaidinum": num,
            "orderId": order_id, "reason": "不要了" })
}

fn balance(h: &SimHandle, account: &str) -> u64 {
    h.waybill_accounts()
        .into_iter()
        .find(|a| a.account == account)
        .expect("account")
        .balance
}

#[tokio::test]
async fn kuaidi100_issue_repeat_and_cancel() {
    let h = start(config()).await;
    let i = info(&h).await;
    let (partner, _) = k100_account(&i, "zhongtong");
    let before = balance(&h, &partner);

    let (status, v) = k100(&h, "order", &k100_order(&i, "zhongtong", "pkg-1")).await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["code"], 200);
    let d = &v["data"];
    let num = d["kuaidinum"].as_str().expect("number").to_string();
    assert!(is_zto(&num), "{num}");
    assert_eq!(d["kuaidicom"], "zhongtong");
    assert_eq!(d["orderId"], "pkg-1");
    assert_eq!(d["pkgName"], "杭州转运中心");
    assert_eq!(d["pkgCode"], "571");
    assert_eq!(
        d["bulkpen"].as_str().expect("sort code").split('-').count(),
        3
    );
    assert_eq!(balance(&h, &partner), before - 1);

    // The same orderId again: the very same data, and no second unit spent.
    let (_, again) = k100(&h, "order", &k100_order(&i, "zhongtong", "pkg-1")).await;
    assert_eq!(again["data"], v["data"]);
    assert_eq!(balance(&h, &partner), before - 1);

    // Cancel twice: both succeed, one unit comes back.
    for _ in 0..2 {
        let (_, c) = k100(&h, "cancel", &k100_cancel(&i, "zhongtong", "pkg-1", &num)).await;
        assert_eq!(c["success"], true, "{c}");
        assert_eq!(c["code"], 200);
    }
    assert_eq!(balance(&h, &partner), before);
    // An unknown number cancels as a no-op.
    let (_, c) = k100(
        &h,
        "cancel",
        &k100_cancel(&i, "zhongtong", "x", "73000000000000"),
    )
    .await;
    assert_eq!(c["success"], true, "{c}");
    // A cancelled key does not come back to life.
    let (_, r) = k100(&h, "order", &k100_order(&i, "zhongtong", "pkg-1")).await;
    assert_eq!(r["success"], false);
    assert_eq!(r["code"], 30001, "{r}");

    let l = h.ledger();
    let recs: Vec<_> = l.waybills.iter().filter(|w| w.key == "pkg-1").collect();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].number, num);
    assert_eq!(recs[0].status, WaybillStatus::Cancelled);
    assert_eq!(recs[0].repeats, 1);
    assert_eq!(recs[0].service, WaybillService::Kuaidi100);
    assert!(l.live_waybills("pkg-1").is_empty());
}

#[tokio::test]
async fn kuaidi100_refusals_are_clear() {
    let h = start(config()).await;
    let i = info(&h).await;
    let key = i.kuaidi100.key.clone();
    let secret = i.kuaidi100.secret.clone();
    let order = k100_order(&i, "yuantong", "pkg-r").to_string();
    let t = "1763000000123";

    // Bad sign, lowercase sign, wrong key.
    let good = k100_sign(&order, t, &key, &secret);
    for (k, s) in [
        (key.as_str(), "0123456789ABCDEF0123456789ABCDEF".to_string()),
        (key.as_str(), good.to_lowercase()),
        ("nosuchkey", k100_sign(&order, t, "nosuchkey", &secret)),
    ] {
        let (_, v) = k100_form(
            &h,
            &[
                ("method", "order"),
                ("key", k),
                ("t", t),
                ("param", &order),
                ("sign", &s),
            ],
        )
        .await;
        assert_eq!(v["success"], false, "{v}");
        assert_eq!(v["code"], 30002, "{v}");
    }
    // `method` in the query string works too.
    let url = format!("{}/label/order?method=order", i.kuaidi100_base_url);
    let (_, v) = into_json(
        client(Duration::from_secs(10))
            .post(url)
            .form(&[
                ("key", &key),
                ("t", &t.to_string()),
                ("param", &order),
                ("sign", &good),
            ])
            .send()
            .await
            .expect("http"),
    )
    .await;
    assert_eq!(v["success"], true, "{v}");

    // Account refused.
    let mut bad = k100_order(&i, "yuantong", "pkg-r2");
    bad["partnerKey"] = json!("wrong");
    let (_, v) = k100(&h, "order", &bad).await;
    assert_eq!(v["code"], 30004, "{v}");
    // Another carrier's partner account.
    let mut bad = k100_order(&i, "yuantong", "pkg-r2");
    bad["kuaidicom"] = json!("shunfeng");
    let (_, v) = k100(&h, "order", &bad).await;
    assert_eq!(v["code"], 30004, "{v}");

    // Malformed params: each gets 30001 and a message naming the problem.
    let mut missing = k100_order(&i, "yuantong", "pkg-r3");
    missing.as_object_mut().expect("obj").remove("recMan");
    let mut wrong_type = k100_order(&i, "yuantong", "pkg-r3");
    wrong_type["count"] = json!("many");
    let mut wrong_nested = k100_order(&i, "yuantong", "pkg-r3");
    wrong_nested["sendMan"]["mobile"] = json!(13900139000u64);
    let mut unknown_com = k100_order(&i, "yuantong", "pkg-r3");
    unknown_com["kuaidicom"] = json!("nosuchexpress");
    for (p, want) in [
        (missing, "recMan"),
        (wrong_type, "count"),
        (wrong_nested, "sendMan.mobile"),
        (unknown_com, "kuaidicom"),
        (json!([1, 2, 3]), "param"),
        (json!("text"), "param"),
    ] {
        let (status, v) = k100(&h, "order", &p).await;
        assert_eq!(status, 200);
        assert_eq!(v["code"], 30001, "{p} -> {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(want),
            "{want} in {v}"
        );
    }
    // param that is not JSON at all, correctly signed.
    let junk = "{not json";
    let s = k100_sign(junk, t, &key, &secret);
    let (_, v) = k100_form(
        &h,
        &[
            ("method", "order"),
            ("key", &key),
            ("t", t),
            ("param", junk),
            ("sign", &s),
        ],
    )
    .await;
    assert_eq!(v["code"], 30001, "{v}");
    // Unknown method, and a body that is not a form.
    let (_, v) = k100(&h, "print", &k100_order(&i, "yuantong", "pkg-r4")).await;
    assert_eq!(v["code"], 30001, "{v}");
    let url = format!("{}/label/order", i.kuaidi100_base_url);
    let (status, v) = into_json(
        client(Duration::from_secs(10))
            .post(url)
            .header("content-type", "application/json")
            .body(order.clone())
            .send()
            .await
            .expect("http"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["success"], false, "{v}");
    // Nothing was issued for any refused request; every refusal is in the ledger.
    let l = h.ledger();
    assert_eq!(l.waybills.len(), 1);
    assert!(l.waybill_rejected.len() >= 12, "{:?}", l.waybill_rejected);
}

// ------------------------------------------------------------------ kdniao

/// `base64(md5_hex_lowercase(RequestData + AppKey))`.
fn kdn_sign(data: &str, app_key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5s(&format!("{data}{app_key}")))
}

async fn kdn_form(h: &SimHandle, form: &[(&str, &str)]) -> (u16, Value) {
    let url = format!("{}/api/EOrderService", info(h).await.kdniao_base_url);
    into_json(
        client(Duration::from_secs(10))
            .post(url)
            .form(form)
            .send()
            .await
            .expect("http"),
    )
    .await
}

async fn kdn(h: &SimHandle, rtype: &str, data: &Value) -> (u16, Value) {
    let i = info(h).await;
    let d = data.to_string();
    let sign = kdn_sign(&d, &i.kdniao.app_key);
    kdn_form(
        h,
        &[
            ("RequestData", &d),
            ("EBusinessID", &i.kdniao.ebusiness_id),
            ("RequestType", rtype),
            ("DataSign", &sign),
            ("DataType", "2"),
        ],
    )
    .await
}

fn kdn_order(i: &SimInfo, shipper: &str, code: &str) -> Value {
    let a = i
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == shipper)
        .expect("account");
    let party = |name: &str, p: &str, c: &str, d: &str| {
        json!({ "Name": name, "Mobile": "13800138000", "ProvinceName": p, "CityName": c,
                "ExpAreaName": d, "Address": "文三路90号" })
    };
    json!({
        "OrderCode": code, "ShipperCode": shipper, "CustomerName": a.customer_name,
        "CustomerPwd": a.customer_pwd, "PayType": 1, "ExpType": 1,
        "Sender": party("发货仓", "广东省", "深圳市", "南山区"),
        "Receiver": party("李四", "浙江省", "杭州市", "西湖区"),
        "Commodity": [{ "GoodsName": "衣服", "Goodsquantity": 1, "GoodsWeight": 0.5 }],
        "Weight": 0.5, "Quantity": 1, "IsReturnPrintTemplate": 0,
    })
}

#[tokio::test]
async fn kdniao_issue_repeat_and_cancel() {
    let h = start(config()).await;
    let i = info(&h).await;
    let acct = i
        .kdniao
        .accounts
        .iter()
        .find(|a| a.shipper_code == "ZTO")
        .expect("zto");
    let before = balance(&h, &acct.customer_name);

    let (status, v) = kdn(&h, "1007", &kdn_order(&i, "ZTO", "ko-1")).await;
    assert_eq!(status, 200);
    assert_eq!(v["Success"], true, "{v}");
    assert_eq!(v["ResultCode"], "100");
    assert_eq!(v["EBusinessID"], i.kdniao.ebusiness_id.as_str());
    let o = v["Order"].clone();
    let num = o["LogisticCode"].as_str().expect("number").to_string();
    assert!(is_zto(&num), "{num}");
    assert_eq!(o["OrderCode"], "ko-1");
    assert_eq!(o["ShipperCode"], "ZTO");
    assert_eq!(o["PackageName"], "杭州转运中心");
    assert_eq!(o["PackageCode"], "571");
    assert_eq!(o["OriginName"], "深圳转运中心");
    assert_eq!(
        o["MarkDestination"]
            .as_str()
            .expect("sort")
            .split('-')
            .count(),
        3
    );

    let (_, again) = kdn(&h, "1007", &kdn_order(&i, "ZTO", "ko-1")).await;
    assert_eq!(again["Success"], true);
    assert_eq!(again["ResultCode"], "106", "{again}");
    assert_eq!(again["Order"], o);
    assert_eq!(balance(&h, &acct.customer_name), before - 1);

    // Without CustomerName/CustomerPwd the merchant's account for the carrier is used.
    let mut bare = kdn_order(&i, "ZTO", "ko-2");
    bare.as_object_mut().expect("obj").remove("CustomerName");
    bare.as_object_mut().expect("obj").remove("CustomerPwd");
    let (_, v2) = kdn(&h, "1007", &bare).await;
    assert_eq!(v2["ResultCode"], "100", "{v2}");
    assert_ne!(v2["Order"]["LogisticCode"], o["LogisticCode"]);

    let cancel = json!({ "ShipperCode": "ZTO", "OrderCode": "ko-1", "ExpNo": num });
    for _ in 0..2 {
        let (_, c) = kdn(&h, "1147", &cancel).await;
        assert_eq!(c["Success"], true, "{c}");
        assert_eq!(c["ResultCode"], "100");
    }
    assert_eq!(
        balance(&h, &acct.customer_name),
        before - 1,
        "ko-2 is still live"
    );
    let l = h.ledger();
    assert!(l.live_waybills("ko-1").is_empty());
    assert_eq!(l.live_waybills("ko-2").len(), 1);
}

#[tokio::test]
async fn kdniao_refusals_are_clear() {
    let h = start(config()).await;
    let i = info(&h).await;
    let d = kdn_order(&i, "YTO", "kr-1").to_string();
    let ebid = i.kdniao.ebusiness_id.clone();
    let good = kdn_sign(&d, &i.kdniao.app_key);
    // The raw digest base64-encoded is not the contract's sign; neither is a wrong key.
    let raw = {
        use md5::{Digest, Md5};
        base64::engine::general_purpose::STANDARD
            .encode(Md5::digest(format!("{d}{}", i.kdniao.app_key).as_bytes()))
    };
    for s in [raw, kdn_sign(&d, "wrong-key"), String::new()] {
        let (_, v) = kdn_form(
            &h,
            &[
                ("RequestData", &d),
                ("EBusinessID", &ebid),
                ("RequestType", "1007"),
                ("DataSign", &s),
                ("DataType", "2"),
            ],
        )
        .await;
        assert_eq!(v["Success"], false, "{v}");
        assert_eq!(v["ResultCode"], "101", "{v}");
    }
    // The right sign but no DataType, or an unknown RequestType.
    for (rt, dt) in [("1007", ""), ("1007", "1"), ("9999", "2")] {
        let mut form = vec![
            ("RequestData", d.as_str()),
            ("EBusinessID", ebid.as_str()),
            ("RequestType", rt),
            ("DataSign", good.as_str()),
        ];
        if !dt.is_empty() {
            form.push(("DataType", dt));
        }
        let (_, v) = kdn_form(&h, &form).await;
        assert_eq!(v["ResultCode"], "102", "{rt} {dt} {v}");
    }
    // Carrier account refused.
    let mut bad = kdn_order(&i, "YTO", "kr-2");
    bad["CustomerPwd"] = json!("wrong");
    let (_, v) = kdn(&h, "1007", &bad).await;
    assert_eq!(v["ResultCode"], "103", "{v}");
    // Malformed RequestData.
    let mut no_receiver = kdn_order(&i, "YTO", "kr-3");
    no_receiver.as_object_mut().expect("obj").remove("Receiver");
    let mut bad_qty = kdn_order(&i, "YTO", "kr-3");
    bad_qty["Commodity"][0]["Goodsquantity"] = json!({ "n": 1 });
    let mut empty_goods = kdn_order(&i, "YTO", "kr-3");
    empty_goods["Commodity"] = json!([]);
    let mut unknown = kdn_order(&i, "YTO", "kr-3");
    unknown["ShipperCode"] = json!("NOPE");
    for (p, want) in [
        (no_receiver, "Receiver"),
        (bad_qty, "Goodsquantity"),
        (empty_goods, "Commodity"),
        (unknown, "ShipperCode"),
        (json!(42), "RequestData"),
    ] {
        let (_, v) = kdn(&h, "1007", &p).await;
        assert_eq!(v["Success"], false);
        assert_eq!(v["ResultCode"], "102", "{p} -> {v}");
        assert!(
            v["Reason"].as_str().unwrap_or("").contains(want),
            "{want} in {v}"
        );
    }
    let junk = "<xml/>";
    let s = kdn_sign(junk, &i.kdniao.app_key);
    let (_, v) = kdn_form(
        &h,
        &[
            ("RequestData", junk),
            ("EBusinessID", &ebid),
            ("RequestType", "1007"),
            ("DataSign", &s),
            ("DataType", "2"),
        ],
    )
    .await;
    assert_eq!(v["ResultCode"], "102", "{v}");
    assert!(h.waybills().is_empty());
}

// ------------------------------------------------------------------ WeChat

async fn ewb(h: &SimHandle, token: &str, api: &str, body: &str) -> (u16, Value) {
    let url = format!(
        "{}/channels/ec/logistics/ewaybill/biz/{api}?access_token={token}",
        info(h).await.wechat_base_url
    );
    into_json(
        client(Duration::from_secs(10))
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("http"),
    )
    .await
}

fn wx_body(delivery: &str, acct: &str) -> Value {
    let party = |name: &str, p: &str, c: &str, d: &str| {
        json!({ "name": name, "mobile": "13800138000", "province": p, "city": c, "county": d,
                "address": "文三路90号" })
    };
    json!({
        "delivery_id": delivery, "ewaybill_acct_id": acct,
        "sender": party("发货仓", "广东省", "深圳市", "南山区"),
        "receiver": party("王五", "浙江省", "杭州市", "西湖区"),
        "ec_order_list": [{ "ec_order_id": "3720000000000001", "goods_list": [{ "good_name": "衣服", "good_count": 1 }] }],
    })
}

#[tokio::test]
async fn wechat_ewaybill_flow() {
    let h = start(config()).await;
    let i = info(&h).await;
    let token = wx_token(&h).await;
    let (_, v) = ewb(
        &h,
        &token,
        "account/get",
        r#"{"need_balance":true,"limit":100,"offset":0}"#,
    )
    .await;
    assert_eq!(v["errcode"], 0, "{v}");
    let list = v["account_list"].as_array().expect("list").clone();
    assert_eq!(v["total_num"], list.len());
    for d in ["ZTO", "YTO"] {
        assert!(list.iter().any(|a| a["delivery_id"] == d), "{d} in {v}");
    }
    let zto = list
        .iter()
        .find(|a| a["delivery_id"] == "ZTO")
        .expect("zto");
    let acct = zto["acct_id"].as_str().expect("acct").to_string();
    assert!(
        i.wechat_ewaybill_accounts
            .iter()
            .any(|a| a.acct_id == acct && a.shop == 0)
    );
    let available = zto["available"].as_u64().expect("available");
    let (_, only) = ewb(&h, &token, "account/get", r#"{"delivery_id":"YTO"}"#).await;
    assert_eq!(
        only["account_list"].as_array().map(Vec::len),
        Some(1),
        "{only}"
    );

    let body = wx_body("ZTO", &acct);
    let (_, pre) = ewb(&h, &token, "order/precreate", &body.to_string()).await;
    assert_eq!(pre["errcode"], 0, "{pre}");
    let id = pre["ewaybill_order_id"].as_str().expect("id").to_string();
    let mut create = body.clone();
    create["ewaybill_order_id"] = json!(id);
    let (_, c) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(c["errcode"], 0, "{c}");
    assert_eq!(c["ewaybill_order_id"], id.as_str());
    let num = c["waybill_id"].as_str().expect("number").to_string();
    assert!(is_zto(&num), "{num}");
    let print: Value =
        serde_json::from_str(c["print_info"].as_str().expect("print")).expect("json");
    assert_eq!(print["hub"], "杭州转运中心");
    assert_eq!(
        print["sort_code"]
            .as_str()
            .expect("sort")
            .split('-')
            .count(),
        3
    );
    let (_, again) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(again["waybill_id"], num.as_str());
    let (_, g) = ewb(
        &h,
        &token,
        "order/get",
        &json!({ "ewaybill_order_id": id }).to_string(),
    )
    .await;
    assert_eq!(g["order_info"]["waybill_id"], num.as_str(), "{g}");

    let (_, v) = ewb(
        &h,
        &token,
        "account/get",
        r#"{"delivery_id":"ZTO","need_balance":true}"#,
    )
    .await;
    assert_eq!(v["account_list"][0]["available"], available - 1);
    let cancel = json!({ "delivery_id": "ZTO", "ewaybill_order_id": id, "waybill_id": num });
    for _ in 0..2 {
        let (_, x) = ewb(&h, &token, "order/cancel", &cancel.to_string()).await;
        assert_eq!(x["errcode"], 0, "{x}");
    }
    let (_, v) = ewb(
        &h,
        &token,
        "account/get",
        r#"{"delivery_id":"ZTO","need_balance":true}"#,
    )
    .await;
    assert_eq!(v["account_list"][0]["available"], available);
    assert_eq!(v["account_list"][0]["cancel"], 1);
    let (_, x) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(
        x["errcode"], 40097,
        "a cancelled order stays cancelled: {x}"
    );

    // Refusals: unknown account, another carrier's account, malformed bodies, bad token.
    let (_, x) = ewb(
        &h,
        &token,
        "order/precreate",
        &wx_body("ZTO", "000").to_string(),
    )
    .await;
    assert_eq!(x["errcode"], 9_710_002, "{x}");
    let (_, x) = ewb(
        &h,
        &token,
        "order/precreate",
        &wx_body("YTO", &acct).to_string(),
    )
    .await;
    assert_eq!(x["errcode"], 9_710_002, "{x}");
    let mut no_goods = wx_body("ZTO", &acct);
    no_goods["ec_order_list"][0]["goods_list"] = json!("衣服");
    let mut no_receiver = wx_body("ZTO", &acct);
    no_receiver.as_object_mut().expect("obj").remove("receiver");
    for (b, want) in [(no_goods, "goods_list"), (no_receiver, "receiver")] {
        let (_, x) = ewb(&h, &token, "order/precreate", &b.to_string()).await;
        assert_eq!(x["errcode"], 40097, "{x}");
        assert!(x["errmsg"].as_str().unwrap_or("").contains(want), "{x}");
    }
    let (_, x) = ewb(&h, &token, "order/create", &body.to_string()).await;
    assert_eq!(x["errcode"], 40097, "create without ewaybill_order_id: {x}");
    let (_, x) = ewb(&h, &token, "order/precreate", "not json").await;
    assert_eq!(x["errcode"], 47001, "{x}");
    let (_, x) = ewb(&h, "bogus", "account/get", "{}").await;
    assert_eq!(x["errcode"], 40001, "{x}");
    assert_eq!(h.waybills().len(), 1);
}

#[tokio::test]
async fn shops_see_only_their_own_ewaybill_accounts() {
    let h = start(fahuo_sim::SimConfig {
        shops_per_platform: 2,
        ..config()
    })
    .await;
    let i = info(&h).await;
    let shop1 = i
        .wechat_ewaybill_accounts
        .iter()
        .find(|a| a.shop == 1 && a.delivery_id == "ZTO")
        .expect("shop 1 zto");
    // Shop 0's token cannot use shop 1's account.
    let token = wx_token(&h).await;
    let (_, x) = ewb(
        &h,
        &token,
        "order/precreate",
        &wx_body("ZTO", &shop1.acct_id).to_string(),
    )
    .await;
    assert_eq!(x["errcode"], 9_710_002, "{x}");
}

// ------------------------------------------------------------------ balances, formats, faults

#[tokio::test]
async fn zero_balance_answers_each_services_code() {
    let h = start(config()).await;
    let i = info(&h).await;
    let (partner, _) = k100_account(&i, "shunfeng");
    // Through the control endpoint for one account, through the handle for the others.
    let url = format!("http://{}/_sim/waybill/balance", h.addr());
    let r = client(Duration::from_secs(10))
        .post(url)
        .header("content-type", "application/json")
        .body(json!({ "service": "kuaidi100", "account": partner, "balance": 0 }).to_string())
        .send()
        .await
        .expect("http");
    assert_eq!(r.status().as_u16(), 200);
    let (_, v) = k100(&h, "order", &k100_order(&i, "shunfeng", "zb-1")).await;
    assert_eq!(v["success"], false);
    assert_eq!(v["code"], 30005, "{v}");
    // Other accounts are untouched.
    let (_, v) = k100(&h, "order", &k100_order(&i, "zhongtong", "zb-1")).await;
    assert_eq!(v["success"], true, "{v}");

    assert!(h.set_waybill_balance(WaybillService::Kdniao, None, 0) > 0);
    let (_, v) = kdn(&h, "1007", &kdn_order(&i, "SF", "zb-2")).await;
    assert_eq!(v["ResultCode"], "105", "{v}");

    let token = wx_token(&h).await;
    let acct = i
        .wechat_ewaybill_accounts
        .iter()
        .find(|a| a.shop == 0 && a.delivery_id == "YTO")
        .expect("yto");
    h.set_waybill_balance(WaybillService::Wechat, Some(&acct.acct_id), 0);
    let body = wx_body("YTO", &acct.acct_id);
    let (_, pre) = ewb(&h, &token, "order/precreate", &body.to_string()).await;
    let mut create = body.clone();
    create["ewaybill_order_id"] = pre["ewaybill_order_id"].clone();
    let (_, x) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(x["errcode"], 9_710_001, "{x}");
    // A balance of one lets one number through, and a repeat of its key costs nothing.
    h.set_waybill_balance(WaybillService::Wechat, Some(&acct.acct_id), 1);
    let (_, x) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(x["errcode"], 0, "{x}");
    let (_, y) = ewb(&h, &token, "order/create", &create.to_string()).await;
    assert_eq!(y["waybill_id"], x["waybill_id"]);
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_zto(n: &str) -> bool {
    n.len() == 14 && digits(n) && ["73", "74", "75", "76", "78"].contains(&&n[..2])
}

/// UPU S10: `AA` + 8 digits + check digit + country, weights 8,6,4,2,3,5,9,7.
fn s10_ok(n: &str) -> bool {
    let b = n.as_bytes();
    if n.len() != 13 || !b[..2].iter().all(u8::is_ascii_uppercase) || !digits(&n[2..11]) {
        return false;
    }
    let sum: u32 = n[2..10]
        .bytes()
        .zip([8, 6, 4, 2, 3, 5, 9, 7])
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    u32::from(b[10] - b'0') == check && &n[11..] == "CN"
}

/// Each carrier's format from reference/address-and-tracking.md §4.1, by kdniao code.
fn format_ok(shipper: &str, n: &str) -> bool {
    let tail = |p: &str, len: usize| n.len() == len && n.starts_with(p) && digits(&n[p.len()..]);
    match shipper {
        "SF" => tail("SF", 15),
        "ZTO" => is_zto(n),
        "YTO" => tail("YT", 15),
        "YD" => n.len() == 15 && digits(n) && (n.starts_with('3') || n.starts_with('4')),
        "STO" => tail("77", 15),
        "JD" => {
            n.len() == 15
                && n.starts_with("JD")
                && n[2..4].bytes().all(|b| b.is_ascii_alphanumeric())
                && digits(&n[4..])
        }
        "EMS" => n.starts_with('E') && s10_ok(n),
        "YZPY" => n.len() == 13 && digits(n),
        "JTSD" => tail("JT", 15),
        "DBL" => tail("DPK", 15),
        _ => false,
    }
}

#[tokio::test]
async fn every_carrier_gets_numbers_in_its_format_and_none_twice() {
    let h = start(config()).await;
    let i = info(&h).await;
    let mut seen = HashSet::new();
    for a in &i.kdniao.accounts {
        for k in 0..5 {
            let (_, v) = kdn(
                &h,
                "1007",
                &kdn_order(&i, &a.shipper_code, &format!("f-{k}")),
            )
            .await;
            assert_eq!(v["ResultCode"], "100", "{v}");
            let n = v["Order"]["LogisticCode"]
                .as_str()
                .expect("number")
                .to_string();
            assert!(format_ok(&a.shipper_code, &n), "{} {n}", a.shipper_code);
            assert!(seen.insert(n.clone()), "{n} issued twice");
        }
    }
    // kuaidi100 issues the same carriers' formats; the same orderId on another carrier is
    // another package key.
    let by_k100 = [
        ("shunfeng", "SF"),
        ("zhongtong", "ZTO"),
        ("yuantong", "YTO"),
        ("yunda", "YD"),
        ("shentong", "STO"),
        ("jd", "JD"),
        ("ems", "EMS"),
        ("youzhengguonei", "YZPY"),
        ("jtexpress", "JTSD"),
        ("debangkuaidi", "DBL"),
    ];
    for (com, shipper) in by_k100 {
        let (_, v) = k100(&h, "order", &k100_order(&i, com, "f-0")).await;
        let n = v["data"]["kuaidinum"].as_str().expect("number").to_string();
        assert!(format_ok(shipper, &n), "{com} {n}");
        assert!(seen.insert(n.clone()), "{n} issued twice");
    }
    let token = wx_token(&h).await;
    for a in i.wechat_ewaybill_accounts.iter().filter(|a| a.shop == 0) {
        let body = wx_body(&a.delivery_id, &a.acct_id);
        let (_, pre) = ewb(&h, &token, "order/precreate", &body.to_string()).await;
        let mut create = body;
        create["ewaybill_order_id"] = pre["ewaybill_order_id"].clone();
        let (_, c) = ewb(&h, &token, "order/create", &create.to_string()).await;
        let n = c["waybill_id"].as_str().expect("number").to_string();
        let shipper = match a.delivery_id.as_str() {
            "YUNDA" => "YD",
            "DBKD" => "DBL",
            d => d,
        };
        assert!(format_ok(shipper, &n), "{} {n}", a.delivery_id);
        assert!(seen.insert(n.clone()), "{n} issued twice");
    }
    assert_eq!(h.waybills().len(), seen.len());
}

#[tokio::test]
async fn timeout_after_issuing_then_retry_gets_the_same_number() {
    let h = start(config()).await;
    let i = info(&h).await;
    h.set_fault_rate(0.6);
    // Injected timeouts stall 200 ms (common::config); this client gives up after 100 ms.
    let c = client(Duration::from_millis(100));
    let url = format!("{}/api/EOrderService", i.kdniao_base_url);
    let mut processed_then_lost = 0;
    let mut keys = Vec::new();
    for k in 0..60 {
        let key = format!("to-{k}");
        let d = kdn_order(&i, "JTSD", &key).to_string();
        let sign = kdn_sign(&d, &i.kdniao.app_key);
        let form = [
            ("RequestData", d.as_str()),
            ("EBusinessID", i.kdniao.ebusiness_id.as_str()),
            ("RequestType", "1007"),
            ("DataSign", sign.as_str()),
            ("DataType", "2"),
        ];
        let mut timed_out_with_number = false;
        let number = loop {
            match c.post(&url).form(&form).send().await {
                Err(e) if e.is_timeout() => {
                    // Did the emulator issue a number before going silent?
                    if h.ledger().live_waybills(&key).len() == 1 {
                        timed_out_with_number = true;
                    }
                }
                Err(e) => panic!("{e}"),
                Ok(r) => {
                    let (_, v) = into_json(r).await;
                    if v["Success"] == true {
                        break v["Order"]["LogisticCode"].as_str().expect("n").to_string();
                    }
                    // 5xx, "109" and "429" are retryable.
                    let code = v["ResultCode"].as_str().unwrap_or("");
                    assert!(["109", "429"].contains(&code), "{v}");
                }
            }
        };
        let live = h
            .ledger()
            .live_waybills(&key)
            .iter()
            .map(|w| w.number.clone())
            .collect::<Vec<_>>();
        assert_eq!(live, vec![number.clone()], "exactly one number for {key}");
        if timed_out_with_number {
            processed_then_lost += 1;
        }
        keys.push(key);
        if processed_then_lost >= 2 && keys.len() >= 10 {
            break;
        }
    }
    assert!(
        processed_then_lost >= 1,
        "no timeout-after-processing was injected"
    );
    h.set_fault_rate(0.0);
    let l = h.ledger();
    assert!(
        l.waybill_rejected
            .iter()
            .any(|r| r.reason == "injected fault: timeout after the request was processed")
    );
    let numbers: HashSet<_> = l.waybills.iter().map(|w| &w.number).collect();
    assert_eq!(numbers.len(), l.waybills.len(), "no number issued twice");
    assert_eq!(l.waybills.len(), keys.len(), "one number per key");
}

#[tokio::test]
async fn added_latency_per_api() {
    let h = start(config()).await;
    let i = info(&h).await;
    let url = format!("http://{}/_sim/latency", h.addr());
    let (_, v) = into_json(
        client(Duration::from_secs(10))
            .post(url)
            .header("content-type", "application/json")
            .body(r#"{"kuaidi100": 1500}"#)
            .send()
            .await
            .expect("http"),
    )
    .await;
    assert_eq!(v["kuaidi100"], 1500, "{v}");
    assert_eq!(v["kdniao"], 0);
    let t = Instant::now();
    let (_, v) = k100(&h, "order", &k100_order(&i, "yunda", "lat-1")).await;
    assert_eq!(v["success"], true);
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let (_, v) = kdn(&h, "1007", &kdn_order(&i, "YD", "lat-1")).await;
    assert_eq!(v["Success"], true);
    // kdniao has none: well under kuaidi100's delay (a wide margin, so that a loaded
    // machine's slow answer is not mistaken for the other service's latency).
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    h.set_waybill_latency(WaybillService::Kdniao, Duration::from_millis(250));
    let t = Instant::now();
    kdn(&h, "1007", &kdn_order(&i, "YD", "lat-2")).await;
    assert!(t.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn sim_info_and_ledger_expose_the_waybill_side() {
    let h = start(config()).await;
    let i = info(&h).await;
    assert!(!i.kuaidi100.key.is_empty() && !i.kuaidi100.secret.is_empty());
    for com in [
        "zhongtong",
        "yuantong",
        "shunfeng",
        "jtexpress",
        "yunda",
        "shentong",
    ] {
        assert!(
            i.kuaidi100.accounts.iter().any(|a| a.kuaidicom == com),
            "{com}"
        );
    }
    for s in ["ZTO", "YTO", "SF", "JTSD", "YD", "STO"] {
        assert!(i.kdniao.accounts.iter().any(|a| a.shipper_code == s), "{s}");
    }
    assert!(i.kuaidi100_base_url.ends_with("/kuaidi100"));
    let printed = fahuo_sim::summary(&h);
    for want in [
        &i.kuaidi100.key,
        &i.kdniao.ebusiness_id,
        &i.wechat_ewaybill_accounts[0].acct_id,
    ] {
        assert!(printed.contains(want.as_str()), "{want} in {printed}");
    }
    assert!(i.kdniao_base_url.ends_with("/kdniao"));
    k100(&h, "order", &k100_order(&i, "jtexpress", "led-1")).await;
    let url = format!("http://{}/_sim/ledger?orders=false", h.addr());
    let body = client(Duration::from_secs(10))
        .get(url)
        .send()
        .await
        .expect("http")
        .text()
        .await
        .expect("body");
    let v: Value = serde_json::from_str(&body).expect("json");
    let w = &v["waybills"][0];
    assert_eq!(w["service"], "kuaidi100");
    assert_eq!(w["key"], "led-1");
    assert_eq!(w["carrier"], "jtexpress");
    assert_eq!(w["status"], "issued");
    assert!(w["number"].as_str().is_some_and(|n| n.starts_with("JT")));
    for k in ["account", "sort_code", "hub", "issued_ms"] {
        assert!(!w[k].is_null(), "{k} in {w}");
    }
    // The existing fields are still there.
    for k in ["orders", "pushes", "ships", "rejected", "decrypts"] {
        assert!(v[k].is_array(), "{k}");
    }
    let url = format!("http://{}/_sim/waybill/accounts", h.addr());
    let body = client(Duration::from_secs(10))
        .get(url)
        .send()
        .await
        .expect("http")
        .text()
        .await
        .expect("body");
    let accts: Value = serde_json::from_str(&body).expect("json");
    assert!(
        accts
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["service"] == "wechat"))
    );
}

#[tokio::test]
async fn injected_faults_use_each_services_codes() {
    let h = start(config()).await;
    let i = info(&h).await;
    h.set_fault_rate(1.0);
    let c = client(Duration::from_millis(100));
    let (key, secret) = (i.kuaidi100.key.clone(), i.kuaidi100.secret.clone());
    let (mut http503, mut busy, mut limited, mut timeouts) = (0, 0, 0, 0);
    for k in 0..40 {
        let p = k100_order(&i, "yunda", &format!("fault-{k}")).to_string();
        let t = "1763000000123";
        let sign = k100_sign(&p, t, &key, &secret);
        let form = [
            ("method", "order"),
            ("key", key.as_str()),
            ("t", t),
            ("param", p.as_str()),
            ("sign", sign.as_str()),
        ];
        let url = format!("{}/label/order", i.kuaidi100_base_url);
        match c.post(url).form(&form).send().await {
            Err(e) if e.is_timeout() => timeouts += 1,
            Err(e) => panic!("{e}"),
            Ok(r) => {
                let (status, v) = into_json(r).await;
                match (status, v["code"].as_i64()) {
                    (503, Some(500)) => http503 += 1,
                    (200, Some(500)) => busy += 1,
                    (200, Some(429)) => limited += 1,
                    other => panic!("unexpected {other:?} {v}"),
                }
            }
        }
    }
    assert!(
        http503 > 0 && busy > 0 && limited > 0 && timeouts > 0,
        "503 {http503}, busy {busy}, 429 {limited}, timeouts {timeouts}"
    );
    let codes: HashSet<String> = h
        .ledger()
        .waybill_rejected
        .iter()
        .map(|r| r.code.clone())
        .collect();
    for want in ["http-503", "429", "timeout"] {
        assert!(codes.contains(want), "{want} in {codes:?}");
    }
    // kdniao answers its own text codes.
    let mut kdn_codes = HashSet::new();
    for k in 0..30 {
        let d = kdn_order(&i, "STO", &format!("fault-{k}")).to_string();
        let sign = kdn_sign(&d, &i.kdniao.app_key);
        let form = [
            ("RequestData", d.as_str()),
            ("EBusinessID", i.kdniao.ebusiness_id.as_str()),
            ("RequestType", "1007"),
            ("DataSign", sign.as_str()),
            ("DataType", "2"),
        ];
        let url = format!("{}/api/EOrderService", i.kdniao_base_url);
        if let Ok(r) = c.post(url).form(&form).send().await {
            let (_, v) = into_json(r).await;
            assert_eq!(v["Success"], false, "{v}");
            kdn_codes.insert(v["ResultCode"].as_str().unwrap_or("").to_string());
        }
    }
    assert_eq!(
        kdn_codes,
        HashSet::from(["109".to_string(), "429".to_string()])
    );
}
