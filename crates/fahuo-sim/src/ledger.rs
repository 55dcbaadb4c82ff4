//! What the emulators saw and did, for tests and the demo: `GET /_sim/ledger`.

use crate::model::{Platform, Shipment};
use serde::{Deserialize, Serialize};

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
    /// Same order and number as an earlier accepted shipment: reported as already shipped.
    AlreadyShipped,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipRecord {
    pub platform: Platform,
    /// The API that was called, e.g. `channels/ec/order/delivery/send`.
    pub api: String,
    pub order_id: String,
    pub carrier: String,
    pub tracking_no: String,
    pub outcome: ShipOutcome,
    /// The platform's error code and message when not accepted.
    pub reason: String,
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
}

impl LedgerSnapshot {
    /// Accepted shipments of one order, in the order they were received.
    pub fn accepted_ships(&self, order_id: &str) -> Vec<&ShipRecord> {
        self.ships
            .iter()
            .filter(|s| s.order_id == order_id && s.outcome == ShipOutcome::Accepted)
            .collect()
    }
}
