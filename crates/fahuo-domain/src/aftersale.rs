//! After-sales (售后): refunds, returns, exchanges, reships, interceptions and carrier claims,
//! their states as fahuo tracks them, and the rules for moving between them.

use crate::order::OrderLine;
use crate::{OrderLineId, ParseError};
use serde::{Deserialize, Serialize};

/// What the buyer (or the merchant) asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleKind {
    /// 仅退款: money back, nothing comes back (or nothing was shipped).
    RefundOnly,
    /// 退货退款: the goods come back, then the money.
    ReturnRefund,
    /// 换货: the goods come back and others go out.
    Exchange,
    /// 补发: the merchant sends (part of) the order again, linked to the original.
    Reship,
    /// 拦截: the merchant asks the carrier to stop a parcel and return it.
    Intercept,
    /// 理赔: a claim against the carrier for a lost or damaged parcel.
    Claim,
}

/// Where an after-sale stands, normalised across the platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleStatus {
    /// 待处理: waiting for the merchant's decision.
    Requested,
    /// 待买家退货: approved; the buyer is to send the goods back.
    AwaitingReturn,
    /// 买家已退货: the buyer sent the goods back (with a return number).
    ReturnShipped,
    /// 已收货: the goods arrived at the warehouse (to inspect).
    ReturnReceived,
    /// 退款中: the refund is approved and being paid.
    Refunding,
    /// 已完成: refunded, exchanged, reshipped or settled.
    Completed,
    /// 已拒绝: the merchant refused it.
    Rejected,
    /// 已关闭: the buyer withdrew it or it expired.
    Closed,
}

impl AfterSaleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterSaleKind::RefundOnly => "refund_only",
            AfterSaleKind::ReturnRefund => "return_refund",
            AfterSaleKind::Exchange => "exchange",
            AfterSaleKind::Reship => "reship",
            AfterSaleKind::Intercept => "intercept",
            AfterSaleKind::Claim => "claim",
        }
    }
}

impl AfterSaleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterSaleStatus::Requested => "requested",
            AfterSaleStatus::AwaitingReturn => "awaiting_return",
            AfterSaleStatus::ReturnShipped => "return_shipped",
            AfterSaleStatus::ReturnReceived => "return_received",
            AfterSaleStatus::Refunding => "refunding",
            AfterSaleStatus::Completed => "completed",
            AfterSaleStatus::Rejected => "rejected",
            AfterSaleStatus::Closed => "closed",
        }
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            AfterSaleStatus::Completed | AfterSaleStatus::Rejected | AfterSaleStatus::Closed
        )
    }
}

impl AfterSaleKind {
    pub const ALL: [AfterSaleKind; 6] = [
        AfterSaleKind::RefundOnly,
        AfterSaleKind::ReturnRefund,
        AfterSaleKind::Exchange,
        AfterSaleKind::Reship,
        AfterSaleKind::Intercept,
        AfterSaleKind::Claim,
    ];

    pub fn parse(s: &str) -> Result<AfterSaleKind, ParseError> {
        AfterSaleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| ParseError::new("kind", format!("unknown after-sale kind {s:?}")))
    }

    /// Kinds in which the buyer asks for money back: while open they hold an unshipped order.
    pub fn refunds(self) -> bool {
        matches!(
            self,
            AfterSaleKind::RefundOnly | AfterSaleKind::ReturnRefund
        )
    }

    /// Kinds in which goods come back to the warehouse (and are inspected).
    pub fn goods_come_back(self) -> bool {
        matches!(self, AfterSaleKind::ReturnRefund | AfterSaleKind::Exchange)
    }
}

impl AfterSaleStatus {
    pub const ALL: [AfterSaleStatus; 8] = [
        AfterSaleStatus::Requested,
        AfterSaleStatus::AwaitingReturn,
        AfterSaleStatus::ReturnShipped,
        AfterSaleStatus::ReturnReceived,
        AfterSaleStatus::Refunding,
        AfterSaleStatus::Completed,
        AfterSaleStatus::Rejected,
        AfterSaleStatus::Closed,
    ];

    pub fn parse(s: &str) -> Result<AfterSaleStatus, ParseError> {
        AfterSaleStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| ParseError::new("status", format!("unknown after-sale status {s:?}")))
    }

    /// How far along it is. Sync never moves an after-sale to a lower rank: a delayed or
    /// duplicated push (or a read that raced a decision) carries an older picture.
    pub fn rank(self) -> u8 {
        match self {
            AfterSaleStatus::Requested => 0,
            AfterSaleStatus::AwaitingReturn => 1,
            AfterSaleStatus::ReturnShipped => 2,
            AfterSaleStatus::ReturnReceived => 3,
            AfterSaleStatus::Refunding => 4,
            AfterSaleStatus::Completed | AfterSaleStatus::Rejected | AfterSaleStatus::Closed => 5,
        }
    }
}

/// Whether a synced picture of an after-sale (`incoming`, with the platform's update time)
/// replaces the stored one. Newer platform time wins unless it would move the status back;
/// equal or unknown times only move forward; a final status is never left (a platform that
/// reopens a case does so under a new id).
pub fn sync_replaces(
    stored: AfterSaleStatus,
    stored_updated_ms: Option<i64>,
    incoming: AfterSaleStatus,
    incoming_updated_ms: Option<i64>,
) -> bool {
    if stored.is_final() {
        return false;
    }
    if incoming.rank() < stored.rank() {
        return false;
    }
    match (stored_updated_ms, incoming_updated_ms) {
        (Some(s), Some(i)) if i < s => false,
        (Some(s), Some(i)) if i == s => incoming.rank() > stored.rank(),
        _ => incoming != stored || incoming_updated_ms > stored_updated_ms,
    }
}

/// What fahuo itself does to an after-sale (platform after-sales also move by sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AfterSaleAction {
    /// The merchant agrees.
    Approve,
    /// The merchant refuses (before or after the goods came back).
    Reject,
    /// The warehouse received and inspected the returned goods.
    Receive,
    /// The merchant confirms the return arrived: refund (or finish the exchange).
    ConfirmReceived,
    /// The money went out or the claim was paid: done.
    Complete,
    /// Withdrawn or expired.
    Close,
}

impl AfterSaleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterSaleAction::Approve => "approve",
            AfterSaleAction::Reject => "reject",
            AfterSaleAction::Receive => "receive",
            AfterSaleAction::ConfirmReceived => "confirm_received",
            AfterSaleAction::Complete => "complete",
            AfterSaleAction::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Result<AfterSaleAction, ParseError> {
        [
            AfterSaleAction::Approve,
            AfterSaleAction::Reject,
            AfterSaleAction::Receive,
            AfterSaleAction::ConfirmReceived,
            AfterSaleAction::Complete,
            AfterSaleAction::Close,
        ]
        .into_iter()
        .find(|a| a.as_str() == s.trim())
        .ok_or_else(|| ParseError::new("action", format!("unknown after-sale action {s:?}")))
    }
}

/// An action the status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {kind:?} after-sale that is {from:?} cannot {action:?}")]
pub struct IllegalAfterSaleAction {
    pub kind: AfterSaleKind,
    pub from: AfterSaleStatus,
    pub action: AfterSaleAction,
}

/// The transition table of fahuo's own moves. Exhaustive; a final status accepts nothing.
pub fn next_status(
    kind: AfterSaleKind,
    from: AfterSaleStatus,
    action: AfterSaleAction,
) -> Result<AfterSaleStatus, IllegalAfterSaleAction> {
    use AfterSaleAction as A;
    use AfterSaleStatus as S;
    let to = match (action, from) {
        (_, s) if s.is_final() => None,
        (A::Approve, S::Requested) => Some(if kind.goods_come_back() {
            S::AwaitingReturn
        } else {
            S::Refunding
        }),
        (A::Approve, _) => None,
        (A::Reject, S::Requested | S::ReturnShipped | S::ReturnReceived) => Some(S::Rejected),
        (A::Reject, _) => None,
        (A::Receive, S::AwaitingReturn | S::ReturnShipped) if kind.goods_come_back() => {
            Some(S::ReturnReceived)
        }
        (A::Receive, _) => None,
        (A::ConfirmReceived, S::ReturnShipped | S::ReturnReceived) if kind.goods_come_back() => {
            Some(if kind == AfterSaleKind::Exchange {
                S::Completed
            } else {
                S::Refunding
            })
        }
        (A::ConfirmReceived, _) => None,
        (A::Complete, _) => Some(S::Completed),
        (A::Close, _) => Some(S::Closed),
    };
    to.ok_or(IllegalAfterSaleAction { kind, from, action })
}

/// Whether approving a refund of `refund_fen` needs an owner's or admin's approval: the
/// merchant's threshold (`None`: never) is exceeded.
pub fn needs_second_approval(refund_fen: Option<i64>, threshold_fen: Option<i64>) -> bool {
    matches!((refund_fen, threshold_fen), (Some(r), Some(t)) if r > t)
}

/// What the warehouse found in a returned parcel (验货结论).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InspectionVerdict {
    /// 可二次销售: back on the shelf (a `return` stock movement).
    Resell,
    /// 破损: written off; recorded, no stock comes back.
    Damaged,
    /// 货不对板: not what was sent; the refund waits for a person.
    Mismatch,
}

impl InspectionVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionVerdict::Resell => "resell",
            InspectionVerdict::Damaged => "damaged",
            InspectionVerdict::Mismatch => "mismatch",
        }
    }

    pub fn parse(s: &str) -> Result<InspectionVerdict, ParseError> {
        match s.trim() {
            "resell" => Ok(InspectionVerdict::Resell),
            "damaged" => Ok(InspectionVerdict::Damaged),
            "mismatch" => Ok(InspectionVerdict::Mismatch),
            other => Err(ParseError::new(
                "verdict",
                format!("unknown verdict {other:?}: resell, damaged or mismatch"),
            )),
        }
    }

    /// The goods go back into stock.
    pub fn restocks(self) -> bool {
        self == InspectionVerdict::Resell
    }

    /// The refund may follow without a person looking again.
    pub fn refund_may_follow(self) -> bool {
        self != InspectionVerdict::Mismatch
    }
}

/// A carrier claim's state (理赔).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Open,
    Settled,
    Rejected,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Open => "open",
            ClaimState::Settled => "settled",
            ClaimState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Result<ClaimState, ParseError> {
        match s.trim() {
            "open" => Ok(ClaimState::Open),
            "settled" => Ok(ClaimState::Settled),
            "rejected" => Ok(ClaimState::Rejected),
            other => Err(ParseError::new(
                "state",
                format!("unknown claim state {other:?}"),
            )),
        }
    }
}

/// The largest inspection photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// The most photos one inspection keeps.
pub const MAX_PHOTOS: usize = 9;

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("photo {0} is empty")]
    Empty(usize),
    #[error("photo {0} is {1} bytes; at most 5 MB each")]
    TooLarge(usize, usize),
    #[error("photo {0} is not a JPEG, PNG or WebP image")]
    NotAnImage(usize),
    #[error("{0} photos; at most 9 per inspection")]
    TooMany(usize),
}

/// The content type of an image, from its magic bytes (never from what the client claims):
/// JPEG `FF D8 FF`, PNG `89 50 4E 47 0D 0A 1A 0A`, WebP `RIFF....WEBP`.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Checks a set of inspection photos; returns each one's content type. Nothing is accepted
/// unless all are.
pub fn check_photos(photos: &[Vec<u8>]) -> Result<Vec<&'static str>, PhotoError> {
    if photos.len() > MAX_PHOTOS {
        return Err(PhotoError::TooMany(photos.len()));
    }
    photos
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let n = i + 1;
            if p.is_empty() {
                Err(PhotoError::Empty(n))
            } else if p.len() > MAX_PHOTO_BYTES {
                Err(PhotoError::TooLarge(n, p.len()))
            } else {
                sniff_image(p).ok_or(PhotoError::NotAnImage(n))
            }
        })
        .collect()
}

/// One line of an after-sale as the platform names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AfterSaleLine {
    /// The order line it was matched to (`None`: the platform's ids match no line).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub order_line_id: Option<OrderLineId>,
    pub platform_line_id: Option<String>,
    pub platform_sku_id: Option<String>,
    pub quantity: i64,
}

/// Matches an after-sale's lines to the order's: by the platform's line id, else by its SKU
/// id (WeChat and Xiaohongshu name SKUs, Douyin its sku order id); an order with one line
/// takes a line that names neither.
pub fn match_lines(order: &[OrderLine], lines: &mut [AfterSaleLine]) {
    for l in lines.iter_mut() {
        let by_line = l.platform_line_id.as_deref().and_then(|id| {
            order
                .iter()
                .find(|o| o.platform_line_id.as_deref() == Some(id))
        });
        let by_sku = || {
            l.platform_sku_id.as_deref().and_then(|id| {
                order
                    .iter()
                    .find(|o| o.platform_sku_id.as_deref() == Some(id))
            })
        };
        let only = || (order.len() == 1).then(|| &order[0]);
        l.order_line_id = by_line.or_else(by_sku).or_else(only).map(|o| o.id);
    }
}

/// Whether completed refunds (`refunded`: order line and units) cover every unit of the
/// order: then an order that has not shipped has nothing left to ship.
pub fn fully_refunded(order: &[OrderLine], refunded: &[(OrderLineId, i64)]) -> bool {
    !order.is_empty()
        && order.iter().all(|l| {
            refunded
                .iter()
                .filter(|(id, _)| *id == l.id)
                .map(|(_, q)| q)
                .sum::<i64>()
                >= l.quantity
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fen, SkuCode};
    use AfterSaleAction as A;
    use AfterSaleStatus as S;

    #[test]
    fn names_round_trip() {
        for k in AfterSaleKind::ALL {
            assert_eq!(AfterSaleKind::parse(k.as_str()), Ok(k));
        }
        for s in AfterSaleStatus::ALL {
            assert_eq!(AfterSaleStatus::parse(s.as_str()), Ok(s));
        }
        for v in ["resell", "damaged", "mismatch"] {
            assert_eq!(InspectionVerdict::parse(v).unwrap().as_str(), v);
        }
        assert!(AfterSaleKind::parse("refund").is_err());
        assert!(InspectionVerdict::parse("ok").is_err());
    }

    #[test]
    fn the_table_is_exhaustive_and_final_states_accept_nothing() {
        let actions = [
            A::Approve,
            A::Reject,
            A::Receive,
            A::ConfirmReceived,
            A::Complete,
            A::Close,
        ];
        for kind in AfterSaleKind::ALL {
            for from in AfterSaleStatus::ALL {
                for action in actions {
                    let r = next_status(kind, from, action);
                    if from.is_final() {
                        assert!(r.is_err(), "{kind:?} {from:?} {action:?}");
                    }
                    if let Ok(to) = r {
                        // fahuo's own moves never go back.
                        assert!(to.rank() >= from.rank(), "{kind:?} {from:?} {action:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn approving_a_refund_pays_and_a_return_waits_for_the_goods() {
        assert_eq!(
            next_status(AfterSaleKind::RefundOnly, S::Requested, A::Approve),
            Ok(S::Refunding)
        );
        assert_eq!(
            next_status(AfterSaleKind::ReturnRefund, S::Requested, A::Approve),
            Ok(S::AwaitingReturn)
        );
        assert_eq!(
            next_status(AfterSaleKind::ReturnRefund, S::ReturnShipped, A::Receive),
            Ok(S::ReturnReceived)
        );
        assert_eq!(
            next_status(
                AfterSaleKind::ReturnRefund,
                S::ReturnReceived,
                A::ConfirmReceived
            ),
            Ok(S::Refunding)
        );
        assert_eq!(
            next_status(
                AfterSaleKind::Exchange,
                S::ReturnReceived,
                A::ConfirmReceived
            ),
            Ok(S::Completed)
        );
        assert!(next_status(AfterSaleKind::RefundOnly, S::Requested, A::Receive).is_err());
        assert!(next_status(AfterSaleKind::ReturnRefund, S::AwaitingReturn, A::Approve).is_err());
        assert!(next_status(AfterSaleKind::ReturnRefund, S::Completed, A::Reject).is_err());
    }

    #[test]
    fn sync_never_moves_backwards_nor_out_of_a_final_status() {
        // Newer and further: replaces.
        assert!(sync_replaces(
            S::Requested,
            Some(1),
            S::AwaitingReturn,
            Some(2)
        ));
        // Older: never.
        assert!(!sync_replaces(
            S::AwaitingReturn,
            Some(2),
            S::Completed,
            Some(1)
        ));
        // Newer but behind (a read that raced fahuo's own move): no.
        assert!(!sync_replaces(
            S::ReturnReceived,
            Some(1),
            S::ReturnShipped,
            Some(2)
        ));
        // Same time: only forward; a duplicate changes nothing.
        assert!(!sync_replaces(S::Requested, Some(5), S::Requested, Some(5)));
        assert!(sync_replaces(S::Requested, Some(5), S::Refunding, Some(5)));
        // Final stays final.
        assert!(!sync_replaces(S::Rejected, Some(1), S::Completed, Some(9)));
        // Same status, newer time: replaces (a new return number, an amount).
        assert!(sync_replaces(
            S::AwaitingReturn,
            Some(1),
            S::AwaitingReturn,
            Some(2)
        ));
    }

    #[test]
    fn second_approval_only_above_the_threshold() {
        assert!(!needs_second_approval(Some(10_000), None));
        assert!(!needs_second_approval(Some(10_000), Some(10_000)));
        assert!(needs_second_approval(Some(10_001), Some(10_000)));
        assert!(!needs_second_approval(None, Some(0)));
    }

    #[test]
    fn photos_are_sniffed_not_trusted() {
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
        let png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0];
        let webp = b"RIFF\x10\0\0\0WEBPVP8 ".to_vec();
        assert_eq!(
            check_photos(&[jpeg.clone(), png, webp]),
            Ok(vec!["image/jpeg", "image/png", "image/webp"])
        );
        assert_eq!(
            check_photos(&[jpeg.clone(), b"GIF89a".to_vec()]),
            Err(PhotoError::NotAnImage(2))
        );
        assert_eq!(check_photos(&[Vec::new()]), Err(PhotoError::Empty(1)));
        let mut big = jpeg.clone();
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(matches!(
            check_photos(&[big]),
            Err(PhotoError::TooLarge(1, _))
        ));
        assert_eq!(check_photos(&vec![jpeg; 10]), Err(PhotoError::TooMany(10)));
    }

    fn line(id: i64, pl: &str, ps: &str, q: i64) -> OrderLine {
        OrderLine {
            id: OrderLineId(id),
            platform_line_id: Some(pl.into()),
            platform_sku_id: Some(ps.into()),
            sku_code: SkuCode::parse("MUG").ok(),
            sku_id: None,
            title: "杯".into(),
            quantity: q,
            unit_price: Fen(100),
            paid: Fen(100),
        }
    }

    #[test]
    fn lines_match_by_line_id_then_sku_and_full_refunds_cover_every_unit() {
        let order = vec![line(1, "L1", "S1", 2), line(2, "L2", "S2", 1)];
        let mut lines = vec![
            AfterSaleLine {
                order_line_id: None,
                platform_line_id: Some("L2".into()),
                platform_sku_id: None,
                quantity: 1,
            },
            AfterSaleLine {
                order_line_id: None,
                platform_line_id: None,
                platform_sku_id: Some("S1".into()),
                quantity: 2,
            },
            AfterSaleLine {
                order_line_id: None,
                platform_line_id: Some("X".into()),
                platform_sku_id: Some("Y".into()),
                quantity: 1,
            },
        ];
        match_lines(&order, &mut lines);
        assert_eq!(lines[0].order_line_id, Some(OrderLineId(2)));
        assert_eq!(lines[1].order_line_id, Some(OrderLineId(1)));
        assert_eq!(lines[2].order_line_id, None);
        assert!(!fully_refunded(&order, &[(OrderLineId(1), 2)]));
        assert!(fully_refunded(
            &order,
            &[
                (OrderLineId(1), 1),
                (OrderLineId(1), 1),
                (OrderLineId(2), 1)
            ]
        ));
    }
}
