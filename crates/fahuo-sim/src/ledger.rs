//! What the emulators saw and did, for tests and the demo: `GET /_sim/ledger`.

use crate::model::{Platform, Shipment};
use crate::waybill::Service;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// The real event, first delivery.
    Normal,
    /// The same event delivered again (injected fault).
    Duplicate,
    /// Held back and delivered after a later event (injected out-of-order fault).
    Delayed,
    /// A copy signed with the wrong secret: the receiver must refuse it and store nothing.
    Forged,
    /// A re-delivery after the receiver did not acknowledge, on the platform's retry schedule.
    Retry,
    /// The platform's check of a newly configured callback URL (WeChat echo, Xiaohongshu test).
    Verification,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    pub seq: u64,
    pub platform: Platform,
    pub event: String,
    pub order_id: String,
    pub kind: PushKind,
    pub attempt: u32,
    pub url: String,
    /// HTTP status of the receiver's answer; `None` when the connection failed.
    pub http_status: Option<u16>,
    /// The receiver's answer body (first 200 characters) or the transport error.
    pub answer: String,
    /// Whether the answer is the acknowledgement the platform expects.
    pub acknowledged: bool,
    pub at_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipOutcome {
    Accepted,
    /// Same order and number as an earlier accepted shipment (or a repeated Douyin
    /// `request_id`): answered as already shipped, nothing changed.
    AlreadyShipped,
    Rejected,
}

/// What a ship-ledger entry was: a new parcel, or a change of an existing parcel's carrier/number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipKind {
    /// `delivery/send`, `logisticsAdd`, `logisticsAddSinglePack`, `orderDeliver`.
    #[default]
    Ship,
    /// `deliveryinfo/update`, `logisticsEdit`, `logisticsEditByPack`, `modifyOrderExpressInfo`.
    Change,
}

/// One ship or change call, whatever its outcome (accepted, already shipped, refused, or
/// refused by an injected fault before it was processed: those are in `rejected` only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipRecord {
    pub platform: Platform,
    /// The API that was called, e.g. `channels/ec/order/delivery/send`.
    pub api: String,
    pub order_id: String,
    #[serde(default)]
    pub kind: ShipKind,
    /// The new parcel's carrier and number (for a change: the number it was changed to).
    pub carrier: String,
    pub tracking_no: String,
    /// For a change: the parcel's carrier and number before (empty when the request named none).
    #[serde(default)]
    pub old_carrier: String,
    #[serde(default)]
    pub old_tracking_no: String,
    pub outcome: ShipOutcome,
    /// The platform's error code and message when not accepted.
    pub reason: String,
    pub at_ms: i64,
}

impl ShipRecord {
    /// A new parcel the platform accepted (not a change of one, not a refusal).
    pub fn is_accepted_ship(&self) -> bool {
        self.kind == ShipKind::Ship && self.outcome == ShipOutcome::Accepted
    }
}

/// An accepted new parcel, as [`LedgerSnapshot::accepted_shipments`] lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedShipment {
    pub api: String,
    pub carrier: String,
    pub tracking_no: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub platform: Platform,
    pub api: String,
    /// The platform's error code (as text, since Douyin also has string sub-codes).
    pub code: String,
    pub reason: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerOrder {
    pub platform: Platform,
    /// Which of the platform's shops (0-based).
    pub shop: u32,
    pub order_id: String,
    /// The platform's own status code, as its API reports it now.
    pub status: i64,
    pub status_name: String,
    pub updated_ms: i64,
    pub shipments: Vec<Shipment>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub pushes: Vec<PushRecord>,
    pub ships: Vec<ShipRecord>,
    pub rejected: Vec<Rejection>,
    /// Successful PII decryptions (the quota counts these).
    pub decrypts: Vec<DecryptRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecryptRecord {
    pub platform: Platform,
    pub order_id: String,
    pub at_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaybillStatus {
    Issued,
    /// Recycled; the number went back to the account's balance.
    Cancelled,
}

/// One e-waybill number the emulators issued, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaybillRecord {
    pub service: Service,
    /// `partnerId` (kuaidi100), `CustomerName` (kdniao), `acct_id` (WeChat).
    pub account: String,
    /// The WeChat shop (0-based) for WeChat e-waybills; `None` for the aggregators.
    pub shop: Option<u32>,
    /// The carrier as the request named it (`kuaidicom`, `ShipperCode`, `delivery_id`).
    pub carrier: String,
    /// The idempotency key (`orderId`, `OrderCode`, `ewaybill_order_id`).
    pub key: String,
    pub number: String,
    /// 三段码 / 大头笔.
    pub sort_code: String,
    /// 集包地, e.g. `杭州转运中心`.
    pub hub: String,
    pub hub_code: String,
    /// The hub on the sender's side (kdniao's `OriginName` / `OriginCode`).
    pub origin_hub: String,
    pub origin_code: String,
    pub status: WaybillStatus,
    pub issued_ms: i64,
    pub cancelled_ms: Option<i64>,
    /// Later requests with the same key, answered with this same number.
    pub repeats: u32,
}

/// An e-waybill call the emulator refused or faulted (bad sign, bad parameter, no balance, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaybillRejection {
    pub service: Service,
    pub api: String,
    /// The service's error code, as text (`30002`, `"101"`, `9710001`, `timeout`, …).
    pub code: String,
    pub reason: String,
    pub at_ms: i64,
}

/// A copy of the ledger plus the orders' current platform statuses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    pub clock_ms: i64,
    pub fault_rate: f64,
    pub orders: Vec<LedgerOrder>,
    pub pushes: Vec<PushRecord>,
    pub ships: Vec<ShipRecord>,
    pub rejected: Vec<Rejection>,
    pub decrypts: Vec<DecryptRecord>,
    /// Every e-waybill number issued, in issue order (WeChat ones only with `platform=wechat`
    /// when the snapshot is filtered by platform; the aggregators' are always listed).
    pub waybills: Vec<WaybillRecord>,
    /// Refused or faulted kuaidi100 / kdniao calls (WeChat e-waybill refusals are in `rejected`,
    /// like every other WeChat call).
    pub waybill_rejected: Vec<WaybillRejection>,
}

impl LedgerSnapshot {
    /// The numbers of one key that are still live (a correct client ends with exactly one per
    /// package it kept, and none for packages it cancelled).
    pub fn live_waybills(&self, key: &str) -> Vec<&WaybillRecord> {
        self.waybills
            .iter()
            .filter(|w| w.key == key && w.status == WaybillStatus::Issued)
            .collect()
    }

    /// Accepted new parcels of one order (changes not included), in the order they were received.
    pub fn accepted_ships(&self, order_id: &str) -> Vec<&ShipRecord> {
        self.ships
            .iter()
            .filter(|s| {
                s.order_id == order_id
                    && s.kind == ShipKind::Ship
                    && s.outcome == ShipOutcome::Accepted
            })
            .collect()
    }

    /// Accepted changes of one order's parcels, in the order they were received.
    pub fn accepted_changes(&self, order_id: &str) -> Vec<&ShipRecord> {
        self.ships
            .iter()
            .filter(|s| {
                s.order_id == order_id
                    && s.kind == ShipKind::Change
                    && s.outcome == ShipOutcome::Accepted
            })
            .collect()
    }

    /// Every order that had at least one new parcel accepted, with those parcels in the order
    /// they were received: one pass over the ledger, for "each order was shipped exactly once
    /// with this carrier and number" over thousands of orders. Changes are not counted (see
    /// [`accepted_changes`](Self::accepted_changes) and each order's current `shipments`).
    pub fn accepted_shipments(&self) -> BTreeMap<String, Vec<AcceptedShipment>> {
        let mut out: BTreeMap<String, Vec<AcceptedShipment>> = BTreeMap::new();
        for s in &self.ships {
            if s.is_accepted_ship() {
                out.entry(s.order_id.clone())
                    .or_default()
                    .push(AcceptedShipment {
                        api: s.api.clone(),
                        carrier: s.carrier.clone(),
                        tracking_no: s.tracking_no.clone(),
                        at_ms: s.at_ms,
                    });
            }
        }
        out
    }

    /// Checks that every `(order id, carrier, number)` was accepted exactly once as a new parcel
    /// and that those orders got no other parcel. Returns one line per discrepancy.
    pub fn check_shipped_exactly_once<'a>(
        &self,
        expected: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<(), Vec<String>> {
        let all = self.accepted_shipments();
        let mut want: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (o, c, n) in expected {
            want.entry(o).or_default().push((c, n));
        }
        let mut problems = Vec::new();
        for (order, parcels) in &want {
            let got: Vec<(&str, &str)> = all
                .get(*order)
                .map(|v| {
                    v.iter()
                        .map(|s| (s.carrier.as_str(), s.tracking_no.as_str()))
                        .collect()
                })
                .unwrap_or_default();
            for p in parcels {
                let n = got.iter().filter(|g| *g == p).count();
                if n != 1 {
                    problems.push(format!("order {order}: {} {} accepted {n} times", p.0, p.1));
                }
            }
            for g in &got {
                if !parcels.contains(g) {
                    problems.push(format!("order {order}: unexpected parcel {} {}", g.0, g.1));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
