//! Domain values as the console shows them, in the page's language: one function per type
//! (order and package states, platforms, carriers, holds, radar summaries, audit actions), so
//! that every page names a thing the same way and no page shows a code where a word belongs.
//! Where the domain already names a value in Chinese (`label_zh`), its English name sits next
//! to it in the domain and is picked here.

use super::Lang;
use chrono::{DateTime, Utc};
use fahuo_domain::radar::AlertKind;
use fahuo_domain::review::ReasonCode;
use fahuo_domain::{OrderState, Platform};

pub fn order_state(state: OrderState, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => state.label_zh(),
        Lang::En => match state {
            OrderState::New => "To review",
            OrderState::OnHold => "On hold",
            OrderState::Approved => "Approved",
            OrderState::Allocated => "Allocated",
            OrderState::WaybillIssued => "Waybill issued",
            OrderState::Printed => "Printed",
            OrderState::Packed => "Packed",
            OrderState::Shipped => "Shipped",
            OrderState::InTransit => "In transit",
            OrderState::Delivered => "Delivered",
            OrderState::Cancelled => "Cancelled",
            OrderState::Refunded => "Refunded",
            OrderState::Returned => "Returned",
        },
    }
}

pub fn platform(p: Platform, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => p.label_zh(),
        Lang::En => match p {
            Platform::Wechat => "WeChat Shop",
            Platform::Douyin => "Douyin",
            Platform::Xiaohongshu => "Xiaohongshu",
            Platform::Manual => "Manual",
        },
    }
}

/// A carrier by its canonical code: 顺丰速运 / SF Express; a code fahuo does not know, as is.
pub fn carrier(code: &str, lang: Lang) -> String {
    match lang {
        Lang::Zh => fahuo_app::shipping::carrier_name_zh(code),
        Lang::En => fahuo_app::shipping::carrier_name_en(code),
    }
}

/// A package's state (the store keeps its snake_case code).
pub fn package_state(code: &str, lang: Lang) -> String {
    let (zh, en) = match code {
        "open" => ("待取号", "Open"),
        "waybill_issued" => ("已取号", "Waybill issued"),
        "printed" => ("已打印", "Printed"),
        "packed" => ("已验货", "Packed"),
        "shipped" => ("已发货", "Shipped"),
        "cancelled" => ("已取消", "Cancelled"),
        other => return other.to_string(),
    };
    lang.pick(zh, en).to_string()
}

/// An after-sale's status as its platform calls it, with the code as sent: "待买家退货（7）",
/// "Waiting for the buyer's return (7)". A code the platform does not document shows as sent.
pub fn platform_after_sale_status(platform: Platform, code: &str, lang: Lang) -> String {
    match fahuo_app::aftersales::platform_status_name(platform, code) {
        Some((zh, en)) => match lang {
            Lang::Zh => format!("{zh}（{code}）"),
            Lang::En => format!("{en} ({code})"),
        },
        None => code.to_string(),
    }
}

/// A hold's reason: the review rule's name, or for a hold put by hand (`manual`) or by
/// another part of fahuo, what the code says.
pub fn hold_reason(code: &str, lang: Lang) -> String {
    match ReasonCode::parse(code) {
        Ok(c) => lang.pick(c.label_zh(), c.label_en()).to_string(),
        Err(_) => match code {
            "manual" => lang.pick("手工挂起", "Held by hand").to_string(),
            other => other.to_string(),
        },
    }
}

/// A hold's message in the page's language: a review rule's hold carries both; one stored
/// before holds had English messages gives the rule's instruction on English pages; a message
/// typed by a person is shown as typed.
pub fn hold_message(code: &str, message: &str, message_en: &str, lang: Lang) -> String {
    match (lang, ReasonCode::parse(code)) {
        (Lang::En, _) if !message_en.is_empty() => message_en.to_string(),
        (Lang::En, Ok(c)) => c.advice_en().to_string(),
        _ => message.to_string(),
    }
}

/// A radar alert's one line. The radar writes it in Chinese when it raises the alert; the
/// English line is made from the alert's facts: its kind, the parcel, and since when, or for
/// the ship-by deadline the deadline and the time left.
pub fn alert_summary(
    summary: &str,
    kind: AlertKind,
    parcel: &str,
    since: DateTime<Utc>,
    ship_by: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    lang: Lang,
) -> String {
    if lang == Lang::Zh {
        return summary.to_string();
    }
    match (kind, ship_by) {
        (AlertKind::DeadlineAtRisk, Some(ship_by)) => {
            format!(
                "Ship by {}, {}",
                super::shanghai(ship_by),
                deadline(ship_by, now, lang)
            )
        }
        _ if parcel.is_empty() => {
            format!("{} since {}", kind.label_en(), super::shanghai(since))
        }
        _ => format!(
            "{} ({parcel}) since {}",
            kind.label_en(),
            super::shanghai(since)
        ),
    }
}

/// Time left before a ship-by deadline, or how late: "剩余 5小时12分" / "5h 12m left".
pub fn deadline(ship_by: DateTime<Utc>, now: DateTime<Utc>, lang: Lang) -> String {
    let c = fahuo_domain::deadline::countdown(
        ship_by,
        now,
        &fahuo_domain::deadline::DeadlineSettings {
            alert_hours: vec![],
        },
    );
    match lang {
        Lang::Zh => c.label_zh,
        Lang::En => c.label_en(),
    }
}

/// An audit action (`order.approve`, `shipment.succeeded`, ...) as "what: how". The codes
/// are stable and kept on the page as `data-action`; an entity or verb not listed here
/// shows as its code.
pub fn audit_action(code: &str, lang: Lang) -> String {
    let (entity, verb) = code.split_once('.').unwrap_or((code, ""));
    let entity = audit_entity(entity)
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .unwrap_or_else(|| entity.to_string());
    if verb.is_empty() {
        return entity;
    }
    let verb = audit_verb(verb)
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .unwrap_or_else(|| verb.to_string());
    match lang {
        Lang::Zh => format!("{entity}·{verb}"),
        Lang::En => format!("{entity}: {verb}"),
    }
}

/// An after-sale's history entry (`claim_opened`, `approve_queued`, `inspected_damaged`, ...):
/// a step, optionally with what became of it. A code not listed shows as it is.
pub fn after_sale_event(code: &str, lang: Lang) -> String {
    let fixed = |zh: &'static str, en: &'static str| lang.pick(zh, en).to_string();
    match code {
        "synced" => return fixed("平台同步", "Synced from the platform"),
        "claim_opened" => return fixed("发起理赔", "Claim opened"),
        "intercept_requested" => return fixed("申请拦截", "Interception requested"),
        "intercepted" => return fixed("拦截成功", "Intercepted"),
        "intercept_failed" => return fixed("拦截失败", "Interception failed"),
        "reship_created" => return fixed("已补发", "Reship created"),
        "refund_proposed" => {
            return fixed("提交退款待复核", "Refund proposed for a second approval");
        }
        "return_label_issued" => return fixed("生成退货面单", "Return label issued"),
        "return_label_cancelled" => return fixed("取消退货面单", "Return label cancelled"),
        _ => {}
    }
    let (head, tail) = match code.rsplit_once('_') {
        Some((h, t @ ("queued" | "sent" | "refused"))) => (h, Some(t)),
        _ => match code.split_once('_') {
            Some((h @ ("inspected" | "pickup" | "claim"), t)) => (h, Some(t)),
            _ => (code, None),
        },
    };
    let step = match head {
        "approve" => ("同意", "Approve"),
        "reject" => ("拒绝", "Reject"),
        "receive" => ("收到退货", "Return received"),
        "confirm_received" => ("确认收货", "Confirm receipt"),
        "complete" => ("完成", "Complete"),
        "close" => ("关闭", "Close"),
        "refund" => ("退款", "Refund"),
        "inspected" => ("验货", "Inspected"),
        "pickup" => ("上门取件", "Pickup"),
        "claim" => ("理赔", "Claim"),
        _ => return code.to_string(),
    };
    let outcome = match tail {
        None => return fixed(step.0, step.1),
        Some("queued") => ("待提交平台", "queued for the platform"),
        Some("sent") => ("已提交平台", "sent to the platform"),
        Some("refused") => ("平台拒绝", "refused by the platform"),
        Some("resell") => ("可二次销售", "can be resold"),
        Some("damaged") => ("破损", "damaged"),
        Some("mismatch") => ("货不对版", "not the item sent"),
        Some("settled") => ("已赔付", "settled"),
        Some("rejected") => ("被拒赔", "rejected"),
        Some("open") => ("处理中", "open"),
        Some("booked") => ("已预约", "booked"),
        Some("picked_up") => ("已取件", "picked up"),
        Some("cancelled") => ("已取消", "cancelled"),
        Some("failed") => ("失败", "failed"),
        Some(other) => return format!("{}: {other}", lang.pick(step.0, step.1)),
    };
    match lang {
        Lang::Zh => format!("{}·{}", step.0, outcome.0),
        Lang::En => format!("{}: {}", step.1, outcome.1),
    }
}

/// What an audit entry is about (its `entity_type`: `order`, `tracking_account`, ...).
pub fn audit_entity_type(code: &str, lang: Lang) -> String {
    audit_entity(code)
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn audit_entity(entity: &str) -> Option<(&'static str, &'static str)> {
    Some(match entity {
        "order" => ("订单", "Order"),
        "orders" => ("订单", "Orders"),
        "lines" => ("子订单", "Order line"),
        "receiver" => ("收件人", "Receiver"),
        "shipment" => ("发货回传", "Write-back"),
        "shipment_import" => ("导入发货", "Shipment import"),
        "package" => ("包裹", "Package"),
        "parcel" => ("物流包裹", "Parcel"),
        "labels" => ("面单", "Labels"),
        "waybill" => ("电子面单", "Waybill"),
        "after_sale" | "aftersale" => ("售后", "After-sale"),
        "api_token" => ("API 令牌", "API token"),
        "auth" => ("登录", "Sign-in"),
        "blacklist" => ("黑名单", "Blacklist"),
        "carrier_account" => ("面单账号", "Carrier account"),
        "carrier_rules" => ("快递规则", "Carrier rules"),
        "deadline" => ("发货时效", "Ship-by deadlines"),
        "dropship" => ("代发", "Dropship"),
        "intake" => ("订单同步", "Order sync"),
        "invite" => ("邀请", "Invitation"),
        "job" => ("任务", "Job"),
        "maintenance" => ("维护", "Maintenance"),
        "notification" | "notify" => ("买家通知", "Buyer notice"),
        "radar" => ("物流雷达", "Tracking radar"),
        "review" => ("审单", "Review"),
        "settings" => ("设置", "Settings"),
        "shop" => ("店铺", "Shop"),
        "shop_sku" => ("平台商品", "Platform SKU"),
        "sku" => ("商品", "SKU"),
        "stock" => ("库存", "Stock"),
        "supplier" => ("供应商", "Supplier"),
        "tracking" => ("物流跟踪", "Tracking"),
        "tracking_account" => ("物流查询账号", "Tracking account"),
        "user" => ("子账号", "User"),
        "warehouse" => ("仓库", "Warehouse"),
        "print_job" => ("打印任务", "Print job"),
        "tenant" => ("商家", "Merchant"),
        "session" => ("登录会话", "Session"),
        "carrier_rule_set" => ("快递规则", "Carrier rules"),
        _ => return None,
    })
}

fn audit_verb(verb: &str) -> Option<(&'static str, &'static str)> {
    Some(match verb {
        // Order events (the state machine's).
        "created" => ("创建", "created"),
        "updated" => ("更新", "updated"),
        "review" => ("审单", "reviewed"),
        "hold" => ("挂起", "held"),
        "release" => ("解除挂起", "released"),
        "release_holds" => ("解除挂起", "holds released"),
        "approve" => ("审核通过", "approved"),
        "allocate" => ("分配仓库", "allocated"),
        "deallocate" => ("取消分配", "deallocated"),
        "issue_waybill" => ("取号", "waybill issued"),
        "cancel_waybill" => ("取消面单", "waybill cancelled"),
        "print" => ("打印", "printed"),
        "reprint" => ("重打", "reprinted"),
        "pack" | "packed" => ("验货", "packed"),
        "weighed" => ("称重", "weighed"),
        "ship" => ("发货", "shipped"),
        "transit" => ("运输中", "in transit"),
        "deliver" => ("签收", "delivered"),
        "cancel" => ("取消", "cancelled"),
        "refund" => ("退款", "refunded"),
        "return" => ("退货", "returned"),
        "tracking" => ("物流更新", "tracking updated"),
        "import" => ("导入", "imported"),
        "merge" => ("合单", "merged"),
        "unmerge" => ("拆单", "unmerged"),
        "edit_line" => ("修改子订单", "line edited"),
        "edit_receiver" => ("修改收件人", "receiver edited"),
        "negotiate_delivery" => ("协商发货时间", "delivery date negotiated"),
        "export" => ("导出", "exported"),
        "reveal" => ("查看明文", "shown in clear"),
        "name" => ("姓名", "name"),
        "phone" => ("手机", "phone"),
        "province" => ("地区", "region"),
        "detail" => ("详细地址", "street address"),
        "paid" => ("实付", "amount paid"),
        "quantity" => ("数量", "quantity"),
        "title" => ("商品名称", "title"),
        // Write-backs.
        "queued" => ("排队回传", "queued"),
        "queued_by_trigger" => ("按设置排队回传", "queued by the shipping trigger"),
        "send" => ("回传", "sent"),
        "succeeded" => ("回传成功", "accepted"),
        "failed" => ("回传失败", "failed"),
        "conflict" => ("回传冲突", "conflict"),
        "pending" => ("待回传", "pending"),
        "retried" => ("重试", "retried"),
        "change" => ("修改单号", "number changed"),
        "change_requested" => ("申请修改单号", "number change requested"),
        "sweep" => ("巡检", "sweep"),
        "apply" => ("应用", "applied"),
        // After-sales.
        "claim" => ("理赔", "claim opened"),
        "inspect" => ("验货", "inspected"),
        "intercept" => ("拦截", "interception requested"),
        "decide" => ("处理", "decided"),
        "reject" => ("拒绝", "rejected"),
        "receive" => ("收到退货", "return received"),
        "confirm_received" => ("确认收货", "receipt confirmed"),
        "complete" => ("完成", "completed"),
        "close" => ("关闭", "closed"),
        "push" => ("平台推送", "pushed by the platform"),
        "schedule" => ("定时同步", "scheduled"),
        "sync" => ("同步", "synced"),
        // Accounts, settings and the rest.
        "create" => ("新建", "created"),
        "update" => ("修改", "updated"),
        "revoke" => ("撤销", "revoked"),
        "login" => ("登录", "signed in"),
        "add" => ("加入", "added"),
        "remove" => ("移除", "removed"),
        "bind" => ("绑定", "bound"),
        "reconnect" => ("重新连接", "reconnected"),
        "set" => ("设置", "set"),
        "scan" => ("扫描", "scanned"),
        "assign" => ("指派", "assigned"),
        "unassign" => ("取消指派", "unassigned"),
        "accept" => ("接受", "accepted"),
        "retry" => ("重试", "retried"),
        "purge" => ("清理", "purged"),
        "outcome" => ("发送结果", "outcome"),
        "poll" => ("查询", "polled"),
        "subscribe" => ("订阅", "subscribed"),
        "dispute" => ("买家称未收到", "disputed by the buyer"),
        "recycle" => ("回收", "recycled"),
        "connect" => ("连接", "connected"),
        "label_settings" => ("面单设置", "label settings"),
        "map" => ("对应", "mapped"),
        "tags" => ("标签", "tags"),
        "arrived" => ("到货", "arrived"),
        "bin" => ("库位", "bin"),
        "count_import" => ("盘点导入", "count imported"),
        "safety" => ("安全库存", "safety stock"),
        "threshold" => ("预警线", "alert threshold"),
        "transfer" => ("调拨", "transferred"),
        "inbound" => ("入库", "inbound"),
        "reserve" => ("预占", "reserved"),
        "deduct" => ("出库", "deducted"),
        "adjust" => ("调整", "adjusted"),
        "link" => ("链接", "link"),
        "link_rotate" => ("更换链接", "link rotated"),
        "skus" => ("商品", "SKUs"),
        "disable" => ("停用", "disabled"),
        "enable" => ("启用", "enabled"),
        "after_sales" => ("售后", "after-sales"),
        "allocation" => ("分仓", "allocation"),
        "carrier_code" => ("快递编码", "carrier codes"),
        "deadline" => ("发货时效", "ship-by deadlines"),
        "notifications" => ("买家通知", "buyer notices"),
        "radar" => ("物流雷达", "tracking radar"),
        "shipping" => ("发货", "shipping"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_read_as_words_in_both_languages() {
        assert_eq!(audit_action("order.approve", Lang::En), "Order: approved");
        assert_eq!(audit_action("order.approve", Lang::Zh), "订单·审核通过");
        assert_eq!(
            audit_action("shipment.queued_by_trigger", Lang::En),
            "Write-back: queued by the shipping trigger"
        );
        assert_eq!(audit_action("thing.frobbed", Lang::En), "thing: frobbed");
    }

    #[test]
    fn platform_after_sale_statuses_read_as_the_platforms_words() {
        assert_eq!(
            platform_after_sale_status(Platform::Douyin, "7", Lang::Zh),
            "待买家退货（7）"
        );
        assert_eq!(
            platform_after_sale_status(Platform::Xiaohongshu, "9001", Lang::En),
            "Merchant refused at receipt (9001)"
        );
        assert_eq!(
            platform_after_sale_status(Platform::Wechat, "USER_CANCELD", Lang::Zh),
            "用户取消申请（USER_CANCELD）"
        );
        // A code the platform does not document is shown as sent.
        assert_eq!(
            platform_after_sale_status(Platform::Douyin, "99", Lang::En),
            "99"
        );
    }

    #[test]
    fn review_holds_are_explained_in_english_and_typed_holds_are_kept() {
        let msg = "缺货：A-100 需要 11 件，可用 10 件，缺 1 件。请补货或调拨后再审核";
        let en =
            "Out of stock: A-100 needs 11, 10 available, 1 short. Restock or transfer, then review";
        assert_eq!(hold_message("out_of_stock", msg, en, Lang::En), en);
        assert_eq!(hold_message("out_of_stock", msg, en, Lang::Zh), msg);
        // A hold stored before holds had English messages: the rule's instruction.
        assert_eq!(
            hold_message("out_of_stock", msg, "", Lang::En),
            ReasonCode::OutOfStock.advice_en()
        );
        assert_eq!(
            hold_message("manual", "等买家确认", "", Lang::En),
            "等买家确认"
        );
        assert_eq!(hold_reason("manual", Lang::En), "Held by hand");
    }

    #[test]
    fn after_sale_history_reads_as_words() {
        assert_eq!(after_sale_event("claim_opened", Lang::En), "Claim opened");
        assert_eq!(
            after_sale_event("approve_queued", Lang::En),
            "Approve: queued for the platform"
        );
        assert_eq!(
            after_sale_event("confirm_received_sent", Lang::Zh),
            "确认收货·已提交平台"
        );
        assert_eq!(
            after_sale_event("inspected_damaged", Lang::En),
            "Inspected: damaged"
        );
        assert_eq!(after_sale_event("mystery", Lang::En), "mystery");
    }

    #[test]
    fn carriers_have_their_english_names() {
        assert_eq!(carrier("ZTO", Lang::En), "ZTO Express");
        assert_eq!(carrier("ZTO", Lang::Zh), "中通快递");
        assert_eq!(carrier("XYZ", Lang::En), "XYZ");
    }
}
