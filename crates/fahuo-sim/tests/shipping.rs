//! The emulators' shipping rules, spoken over raw HTTP: WeChat's change limits, Douyin's
//! split parcels with an idempotent `request_id` and per-pack edits, Xiaohongshu's change
//! window, and a ledger that answers "shipped exactly once" — refusals and changes included.

mod common;

use common::*;
use fahuo_sim::{Fault, Platform, ShipKind, ShipOutcome, Status};
use serde_json::{Value, json};

fn to_ship(h: &fahuo_sim::SimHandle, p: Platform, lines: usize) -> fahuo_sim::Order {
    h.orders(Some(p))
        .into_iter()
        .find(|o| {
            o.status == Status::ToShip
                && o.refund == fahuo_sim::model::Refund::None
                && o.lines.len() >= lines
                && o.lines.iter().all(|l| !l.refunded)
        })
        .expect("an order to ship")
}

fn wx_change(order: &str, old: (&str, &str), new: (&str, &str)) -> Value {
    json!({ "order_id": order, "change_infos": [{
        "old": { "delivery_id": old.0, "waybill_id": old.1 },
        "new": { "delivery_id": new.0, "waybill_id": new.1 },
    }] })
}

#[tokio::test]
async fn wechat_allows_three_changes_while_open_and_none_after_split_shipping() {
    let h = start(config()).await;
    let token = wx_token(&h).await;
    let o = to_ship(&h, Platform::Wechat, 2);
    let ship = json!({ "order_id": o.order_id, "delivery_list": [{ "delivery_id": "SF", "waybill_id": "SF0", "deliver_type": 1 }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", ship).await["errcode"],
        0
    );
    let numbers = ["SF1", "SF2", "SF3", "SF4"];
    let mut old = "SF0";
    for (n, new) in numbers.iter().enumerate() {
        let v = wx(
            &h,
            &token,
            "order/deliveryinfo/update",
            wx_change(&o.order_id, ("SF", old), ("SF", new)),
        )
        .await;
        if n < 3 {
            assert_eq!(v["errcode"], 0, "change {}: {v}", n + 1);
            old = new;
        } else {
            assert_eq!(v["errcode"], 606040, "the fourth change: {v}");
        }
    }
    assert_eq!(
        h.order(&o.order_id).expect("order").shipments[0].tracking_no,
        "SF3"
    );

    // Another order, shipped in two parcels: no change at all.
    let other = h
        .orders(Some(Platform::Wechat))
        .into_iter()
        .find(|x| {
            x.order_id != o.order_id
                && x.status == Status::ToShip
                && x.lines.len() >= 2
                && x.refund == fahuo_sim::model::Refund::None
        })
        .expect("another order");
    let l0 = &other.lines[0];
    let part = json!({ "order_id": other.order_id, "delivery_list": [{ "delivery_id": "ZTO", "waybill_id": "75001", "deliver_type": 1,
        "product_infos": [{ "product_id": l0.product_id, "sku_id": l0.sku_id, "product_cnt": l0.qty }] }] });
    assert_eq!(
        wx(&h, &token, "order/delivery/send", part).await["errcode"],
        0
    );
    let v = wx(
        &h,
        &token,
        "order/deliveryinfo/update",
        wx_change(&other.order_id, ("ZTO", "75001"), ("ZTO", "75002")),
    )
    .await;
    assert_eq!(
        v["errcode"], 606040,
        "partly shipped is split shipping: {v}"
    );
    let whole = json!({ "order_id": other.order_id, "delivery_list": [{ "delivery_id": "ZTO", "waybill_id": "75002", "deliver_type": 1 }] });
    let v = wx(&h, &token, "order/deliveryinfo/update", whole).await;
    assert_eq!(v["errcode"], 606040, "the whole-order form too: {v}");
    let empty = wx(
        &h,
        &token,
        "order/deliveryinfo/update",
        json!({ "order_id": other.order_id, "delivery_list": [] }),
    )
    .await;
    assert_eq!(empty["errcode"], 40097);

    let l = h.ledger();
    assert_eq!(l.accepted_changes(&o.order_id).len(), 3);
    let refused: Vec<_> = l
        .ships
        .iter()
        .filter(|s| s.kind == ShipKind::Change && s.outcome == ShipOutcome::Rejected)
        .collect();
    assert_eq!(refused.len(), 4, "every refused change is in the ledger");
    assert_eq!(
        l.accepted_ships(&o.order_id).len(),
        1,
        "changes are not parcels"
    );
}

#[tokio::test]
async fn douyin_split_parcels_are_idempotent_by_request_id_and_edited_by_pack() {
    let h = start(config()).await;
    let token = dy_token(&h).await;
    let o = to_ship(&h, Platform::Douyin, 2);
    let l0 = &o.lines[0];
    let pack = |line: &str, qty: u32, no: &str, rid: &str| {
        json!({ "order_id_list": [o.order_id], "shipped_order_info": [{ "shipped_order_id": line, "shipped_num": qty }],
                "company_code": "shunfeng", "company": "顺丰", "logistics_code": no, "request_id": rid })
    };
    let first = dy(
        &h,
        "order.logisticsAddSinglePack",
        pack(&l0.line_id, l0.qty, "SF001", "r1"),
        &token,
    )
    .await;
    assert_eq!(first["code"], 10000, "{first}");
    let pack_id = first["data"]["pack_id"]
        .as_str()
        .expect("pack_id")
        .to_string();
    // The same request_id again: the first answer, nothing shipped.
    let again = dy(
        &h,
        "order.logisticsAddSinglePack",
        pack(&l0.line_id, l0.qty, "SF001", "r1"),
        &token,
    )
    .await;
    assert_eq!(
        (again["code"].as_i64(), again["data"]["pack_id"].as_str()),
        (Some(10000), Some(pack_id.as_str()))
    );
    // The whole-order call refuses a partly shipped order.
    let whole = dy(
        &h,
        "order.logisticsAdd",
        json!({ "order_id": o.order_id, "company_code": "shunfeng", "logistics_code": "SF002" }),
        &token,
    )
    .await;
    assert_eq!(whole["code"], 50002, "{whole}");
    // More units than are left: all or nothing.
    let too_many = dy(
        &h,
        "order.logisticsAddSinglePack",
        pack(&l0.line_id, 1, "SF003", "r3"),
        &token,
    )
    .await;
    assert_eq!(too_many["sub_code"], "isv.business-failed:70023");
    let rest_info: Vec<Value> = o.lines[1..]
        .iter()
        .map(|l| json!({ "shipped_order_id": l.line_id, "shipped_num": l.qty }))
        .collect();
    let rest = json!({ "order_id_list": [o.order_id], "shipped_order_info": rest_info,
        "company_code": "shunfeng", "logistics_code": "SF004", "request_id": "r4" });
    assert_eq!(
        dy(&h, "order.logisticsAddSinglePack", rest, &token).await["code"],
        10000
    );
    assert_eq!(h.order(&o.order_id).expect("order").status, Status::Shipped);
    // logisticsEdit is for orders shipped whole; a split parcel is edited by its pack.
    let edit =
        json!({ "order_id": o.order_id, "company_code": "yuantong", "logistics_code": "YT001" });
    let v = dy(&h, "order.logisticsEdit", edit, &token).await;
    assert_eq!(v["sub_code"], "isv.business-failed:70011", "{v}");
    let by_pack = json!({ "order_id": o.order_id, "pack_id": pack_id, "company_code": "yuantong", "logistics_code": "YT001" });
    assert_eq!(
        dy(&h, "order.logisticsEditByPack", by_pack, &token).await["code"],
        10000
    );

    let truth = h.order(&o.order_id).expect("order");
    let parcels: Vec<(&str, &str)> = truth
        .shipments
        .iter()
        .map(|s| (s.carrier.as_str(), s.tracking_no.as_str()))
        .collect();
    assert_eq!(parcels, vec![("yuantong", "YT001"), ("shunfeng", "SF004")]);
    let l = h.ledger();
    l.check_shipped_exactly_once([
        (o.order_id.as_str(), "shunfeng", "SF001"),
        (o.order_id.as_str(), "shunfeng", "SF004"),
    ])
    .expect("each parcel once");
    assert!(
        l.ships
            .iter()
            .any(|s| s.order_id == o.order_id && s.outcome == ShipOutcome::AlreadyShipped)
    );
    let shipments = l.accepted_shipments();
    assert_eq!(shipments[&o.order_id].len(), 2);
}

#[tokio::test]
async fn xiaohongshu_changes_only_between_shipping_and_completion() {
    let h = start(config()).await;
    let token = xhs_token(&h).await;
    let o = to_ship(&h, Platform::Xiaohongshu, 1);
    let modify = |old: &str, new: &str| json!({ "orderId": o.order_id, "expressNo": new, "expressCompanyCode": "zto", "oldExpressNo": old });
    let v = xhs(
        &h,
        "order.modifyOrderExpressInfo",
        modify("", "75009"),
        &token,
    )
    .await;
    assert_eq!(v["success"], false, "not shipped yet");
    let ship = json!({ "orderId": o.order_id, "expressNo": "75010", "expressCompanyCode": "zto" });
    assert_eq!(
        xhs(&h, "order.orderDeliver", ship, &token).await["success"],
        true
    );
    assert_eq!(
        xhs(
            &h,
            "order.modifyOrderExpressInfo",
            modify("75010", "75011"),
            &token
        )
        .await["success"],
        true
    );
    h.advance_clock(6 * 86_400);
    assert_eq!(
        h.order(&o.order_id).expect("order").status,
        Status::Completed
    );
    let v = xhs(
        &h,
        "order.modifyOrderExpressInfo",
        modify("75011", "75012"),
        &token,
    )
    .await;
    assert_eq!(v["success"], false, "completed: {v}");
    let l = h.ledger();
    let changes: Vec<_> = l
        .ships
        .iter()
        .filter(|s| s.order_id == o.order_id && s.kind == ShipKind::Change)
        .collect();
    assert_eq!(changes.len(), 3);
    assert_eq!(l.accepted_changes(&o.order_id).len(), 1);
}

#[tokio::test]
async fn forced_faults_hit_the_named_api_and_the_shipments_endpoint_answers_per_order() {
    let h = start(config()).await;
    let token = xhs_token(&h).await;
    let o = to_ship(&h, Platform::Xiaohongshu, 1);
    // Queued through the control endpoint, like a script would.
    let (status, _) = post(
        &format!("http://{}/_sim/faults", h.addr()),
        &[],
        &json!({ "next": [{ "platform": "xiaohongshu", "api": "order.orderDeliver", "fault": "server_error" }] }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    h.force_fault(
        Platform::Xiaohongshu,
        "order.orderDeliver",
        Fault::TimeoutAfter,
    );
    let ship = json!({ "orderId": o.order_id, "expressNo": "75020", "expressCompanyCode": "zto" });
    let v = xhs(&h, "order.orderDeliver", ship.clone(), &token).await;
    assert_eq!(v["success"], false, "5xx first");
    // The next call is processed, then stalls; the answer still arrives after the delay here.
    let _ = xhs(&h, "order.orderDeliver", ship.clone(), &token).await;
    let v = xhs(&h, "order.orderDeliver", ship, &token).await;
    assert_eq!(v["success"], false, "already shipped");
    let (status, text) = fahuo_sim::http::get(&format!(
        "http://{}/_sim/ledger/shipments?platform=xiaohongshu",
        h.addr()
    ))
    .await
    .expect("http");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&text).expect("json");
    let entry = &body[o.order_id.as_str()];
    assert_eq!(
        entry["accepted"].as_array().expect("accepted").len(),
        1,
        "{body}"
    );
    assert_eq!(entry["accepted"][0]["tracking_no"], "75020");
    assert_eq!(entry["current"][0]["tracking_no"], "75020");
}
