//! 模板: what labels carry (logo, promo line) per shop, buyer notices and their texts, the
//! tracking radar's thresholds, the refund approval threshold, and shipping settings
//! (when an order counts as shipped, weighing tolerance, packaging weight and cost).

use super::{Choice, Section, SectionLink, choices, enter_section, load, yuan};
use crate::AppState;
use crate::console::{Chrome, Lang, PageResult, render};
use crate::extract::MaybeSession;
use askama::Template;
use axum::extract::State;
use axum::http::Uri;
use fahuo_domain::notice::NoticeKind;
use fahuo_domain::shipping::ShipTrigger;

pub struct TemplatesText {
    heading: &'static str,
    hint: &'static str,
    labels_heading: &'static str,
    labels_hint: &'static str,
    shop: &'static str,
    promo: &'static str,
    promo_hint: &'static str,
    logo: &'static str,
    logo_hint: &'static str,
    no_logo: &'static str,
    remove_logo: &'static str,
    no_shops: &'static str,
    save: &'static str,
    notify_heading: &'static str,
    notify_hint: &'static str,
    shipped: &'static str,
    delayed: &'static str,
    exception: &'static str,
    send: &'static str,
    text: &'static str,
    text_hint: &'static str,
    default_text: &'static str,
    radar_heading: &'static str,
    radar_hint: &'static str,
    pickup_hours: &'static str,
    pickup_hint: &'static str,
    stale_hours: &'static str,
    stale_hint: &'static str,
    risk_hours: &'static str,
    risk_hint: &'static str,
    aftersales_heading: &'static str,
    threshold: &'static str,
    threshold_hint: &'static str,
    shipping_heading: &'static str,
    trigger: &'static str,
    trigger_hint: &'static str,
    after_print: &'static str,
    after_pack: &'static str,
    after_weigh: &'static str,
    tolerance_percent: &'static str,
    tolerance_grams: &'static str,
    tolerance_hint: &'static str,
    packaging_grams: &'static str,
    packaging_grams_hint: &'static str,
    packaging_cost: &'static str,
    packaging_cost_hint: &'static str,
    supplier_hours: &'static str,
    supplier_hours_hint: &'static str,
    link_days: &'static str,
    link_days_hint: &'static str,
}

static ZH: TemplatesText = TemplatesText {
    heading: "模板",
    hint: "面单内容、买家通知和各项阈值。",
    labels_heading: "面单内容",
    labels_hint: "除运单信息外，面单上印的店铺标志和一句宣传语。",
    shop: "店铺",
    promo: "宣传语",
    promo_hint: "印在面单底部，最多 40 字，如「关注店铺领 5 元券」",
    logo: "店铺标志",
    logo_hint: "PNG 图片，最大 256 KB",
    no_logo: "未设置",
    remove_logo: "删除标志",
    no_shops: "还没有店铺",
    save: "保存",
    notify_heading: "买家通知",
    notify_hint: "发给买家的短信。可用占位符：{order_no} 订单号、{carrier} 快递、{tracking_no} 运单号、{shop} 店铺、{reason} 原因、{ship_by} 发货截止。",
    shipped: "已发货通知",
    delayed: "延迟发货通知",
    exception: "物流异常通知",
    send: "发送",
    text: "文案",
    text_hint: "留空使用默认文案",
    default_text: "默认：",
    radar_heading: "物流预警",
    radar_hint: "物流雷达在这些情况下提醒你（单位：小时）。",
    pickup_hours: "打单后未揽收",
    pickup_hint: "打单后超过这么多小时还没有揽收记录",
    stale_hours: "物流停滞",
    stale_hint: "运输中超过这么多小时没有新轨迹",
    risk_hours: "发货超时风险",
    risk_hint: "距发货截止不足这么多小时仍未发货",
    aftersales_heading: "售后",
    threshold: "退款审批金额（元）",
    threshold_hint: "超过此金额的退款需主账号或管理员批准；留空则不需要",
    shipping_heading: "发货",
    trigger: "何时算发货",
    trigger_hint: "订单在这一步之后回传平台发货",
    after_print: "打单即发货",
    after_pack: "验货后发货",
    after_weigh: "称重后发货",
    tolerance_percent: "称重误差（%）",
    tolerance_grams: "称重误差（克）",
    tolerance_hint: "实际重量与预计重量相差超过百分比和克数中较大者时提醒",
    packaging_grams: "包材重量（克）",
    packaging_grams_hint: "纸箱和填充物的重量，计入预计重量",
    packaging_cost: "包材成本（元/件）",
    packaging_cost_hint: "每个包裹的纸箱和填充物成本，用于报表",
    supplier_hours: "供应商发货时限（小时）",
    supplier_hours_hint: "分单后超过这么多小时供应商未回填单号即为超时",
    link_days: "供应商链接有效期（天）",
    link_days_hint: "新生成的供应商链接在这么多天后失效",
};

static EN: TemplatesText = TemplatesText {
    heading: "Templates",
    hint: "Label content, buyer notices and thresholds.",
    labels_heading: "Label content",
    labels_hint: "Besides the waybill, a label carries the shop's logo and a promo line.",
    shop: "Shop",
    promo: "Promo line",
    promo_hint: "Printed at the bottom of the label, at most 40 characters",
    logo: "Logo",
    logo_hint: "A PNG image, at most 256 KB",
    no_logo: "none",
    remove_logo: "Remove logo",
    no_shops: "No shops yet",
    save: "Save",
    notify_heading: "Buyer notices",
    notify_hint: "Text messages to buyers. Placeholders: {order_no}, {carrier}, {tracking_no}, {shop}, {reason}, {ship_by}.",
    shipped: "Shipped notice",
    delayed: "Delay notice",
    exception: "Delivery problem notice",
    send: "Send",
    text: "Text",
    text_hint: "Leave empty for the default text",
    default_text: "Default: ",
    radar_heading: "Tracking alerts",
    radar_hint: "The tracking radar warns you in these cases (hours).",
    pickup_hours: "Not picked up after printing",
    pickup_hint: "No pickup scan this many hours after printing",
    stale_hours: "Trace not moving",
    stale_hint: "No new trace event for this many hours in transit",
    risk_hours: "Deadline risk",
    risk_hint: "Not shipped this many hours before the ship-by time",
    aftersales_heading: "After-sales",
    threshold: "Refund approval above (yuan)",
    threshold_hint: "Refunds above this need the owner's or an admin's approval; empty: never",
    shipping_heading: "Shipping",
    trigger: "Shipped when",
    trigger_hint: "The order is reported shipped to the platform after this step",
    after_print: "the label is printed",
    after_pack: "packing is verified",
    after_weigh: "the parcel is weighed",
    tolerance_percent: "Weight tolerance (%)",
    tolerance_grams: "Weight tolerance (g)",
    tolerance_hint: "Warn when the weighed parcel differs from the expected weight by more than the larger of the two",
    packaging_grams: "Packaging weight (g)",
    packaging_grams_hint: "Box and filler, added to the expected weight",
    packaging_cost: "Packaging cost (yuan per parcel)",
    packaging_cost_hint: "Box and filler of one parcel, for reports",
    supplier_hours: "Supplier deadline (hours)",
    supplier_hours_hint: "A supplier is late when no tracking number is entered this long after assignment",
    link_days: "Supplier link validity (days)",
    link_days_hint: "New supplier links stop working after this many days",
};

struct LabelRow {
    shop_id: i64,
    shop: String,
    promo: String,
    /// The current logo (base64 PNG), kept when saving unless replaced or removed.
    logo: Option<String>,
}

struct Notice {
    field: &'static str,
    label: &'static str,
    on: bool,
    text: String,
    default: String,
}

#[derive(Template)]
#[template(path = "settings_templates.html")]
struct TemplatesPage {
    chrome: Chrome,
    nav: Vec<SectionLink>,
    t: &'static TemplatesText,
    labels: Vec<LabelRow>,
    notices: Vec<Notice>,
    pickup_hours: i64,
    stale_hours: i64,
    risk_hours: i64,
    approval_threshold: String,
    triggers: Vec<Choice>,
    tolerance_percent: u32,
    tolerance_grams: i64,
    packaging_grams: i64,
    packaging_cost: String,
    supplier_hours: u32,
    link_days: u32,
}

/// 模板: label content, buyer notices, radar, after-sales and shipping settings.
pub async fn page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
) -> PageResult {
    let (actor, chrome, nav) = enter_section(session, lang, &uri, Section::Templates)?;
    let t = lang.pick(&ZH, &EN);
    let shops = load!(s.app.shops(&actor).await, chrome);
    let mut labels = Vec::new();
    for shop in shops.iter() {
        let l = load!(s.app.label_settings(&actor, shop.id).await, chrome);
        labels.push(LabelRow {
            shop_id: shop.id.get(),
            shop: shop.name.to_string(),
            promo: l.promo.unwrap_or_default(),
            logo: l.logo_png_base64,
        });
    }
    let notify = load!(s.app.notify_settings(&actor).await, chrome);
    let radar = load!(s.app.radar_settings(&actor).await, chrome);
    let after_sales = load!(s.app.after_sale_settings(&actor).await, chrome);
    let shipping = load!(s.app.shipping_settings(actor.tenant_id).await, chrome);
    let notice = |field, label, on, own: &Option<fahuo_domain::notice::Template>, kind| Notice {
        field,
        label,
        on,
        text: own
            .as_ref()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        default: fahuo_domain::notice::Template::default_for(kind)
            .as_str()
            .to_string(),
    };
    let notices = vec![
        notice(
            "shipped",
            t.shipped,
            notify.shipped,
            &notify.shipped_template,
            NoticeKind::Shipped,
        ),
        notice(
            "delayed",
            t.delayed,
            notify.delayed,
            &notify.delayed_template,
            NoticeKind::Delayed,
        ),
        notice(
            "exception",
            t.exception,
            notify.exception,
            &notify.exception_template,
            NoticeKind::Exception,
        ),
    ];
    let trigger = |tr: ShipTrigger| match tr {
        ShipTrigger::AfterPrint => "after_print",
        ShipTrigger::AfterPack => "after_pack",
        ShipTrigger::AfterWeigh => "after_weigh",
    };
    let triggers = choices(
        [
            (ShipTrigger::AfterPrint, t.after_print),
            (ShipTrigger::AfterPack, t.after_pack),
            (ShipTrigger::AfterWeigh, t.after_weigh),
        ]
        .into_iter()
        .map(|(tr, label)| (trigger(tr).to_string(), label.to_string())),
        trigger(shipping.trigger),
    );
    Ok(render(TemplatesPage {
        chrome,
        nav,
        t,
        labels,
        notices,
        pickup_hours: radar.pickup_hours,
        stale_hours: radar.stale_hours,
        risk_hours: radar.deadline_risk_hours,
        approval_threshold: after_sales
            .approval_threshold_fen
            .map(yuan)
            .unwrap_or_default(),
        triggers,
        tolerance_percent: shipping.weight_tolerance_percent,
        tolerance_grams: shipping.weight_tolerance_grams,
        packaging_grams: shipping.packaging_grams,
        packaging_cost: yuan(shipping.packaging_fen),
        supplier_hours: shipping.supplier_hours,
        link_days: shipping.supplier_link_days,
    }))
}
