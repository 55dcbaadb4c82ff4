//! After-sales (售后): refunds, returns, exchanges, reships, interceptions and carrier claims,
//! their states as fahuo tracks them, and the rules for moving between them.

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
