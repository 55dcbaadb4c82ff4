//! 物流: the parcels with filters (state, carrier, number, open alerts), and one parcel's
//! timeline with its orders, alerts and actions (refresh, buyer dispute, interception).

use super::{Chrome, Lang, PageId, PageResult, enter, not_found, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_domain::Permission;
use fahuo_domain::radar::AlertKind;
use fahuo_domain::tracking::{SubState, TrackState};
use fahuo_store::tracking::{ParcelFilter, ParcelId, ParcelRow};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tracking", get(tracking_page))
        .route("/tracking/{id}", get(parcel_page))
}

/// Parcels per page.
const PAGE: i64 = 50;

pub struct TrackingText {
    pub filter_state: &'static str,
    pub filter_carrier: &'static str,
    pub filter_number: &'static str,
    pub filter_alert: &'static str,
    pub any: &'static str,
    /// In the order of [`TrackState::ALL`].
    pub states: [&'static str; 9],
    /// In the order of [`SUB_STATES`].
    pub sub_states: [&'static str; 23],
    /// In the order of [`AlertKind::ALL`].
    pub alert_kinds: [&'static str; 7],
    pub no_state: &'static str,
    pub col_number: &'static str,
    pub col_carrier: &'static str,
    pub col_state: &'static str,
    pub col_orders: &'static str,
    pub col_shipped: &'static str,
    pub col_last: &'static str,
    pub empty: &'static str,
    pub timeline: &'static str,
    pub no_events: &'static str,
    pub orders: &'static str,
    pub alerts: &'static str,
    pub no_alerts: &'static str,
    pub alert_open: &'static str,
    pub alert_cleared: &'static str,
    pub actions: &'static str,
    pub refresh: &'static str,
    pub dispute: &'static str,
    pub undispute: &'static str,
    pub disputed: &'static str,
    pub intercept: &'static str,
    pub intercept_reason: &'static str,
    pub intercept_default: &'static str,
    pub subscription: &'static str,
    pub back: &'static str,
    pub shipped_at: &'static str,
    pub delivered_at: &'static str,
}

static ZH: TrackingText = TrackingText {
    filter_state: "物流状态",
    filter_carrier: "快递公司",
    filter_number: "快递单号",
    filter_alert: "只看有异常的",
    any: "全部",
    states: [
        "待揽收",
        "已揽收",
        "运输中",
        "派送中",
        "已签收",
        "疑难件",
        "拒签",
        "退回中",
        "已退签",
    ],
    sub_states: [
        "已下单",
        "待揽收",
        "已揽收",
        "到达派件城市",
        "干线运输",
        "转递",
        "派件中",
        "投柜或驿站",
        "本人签收",
        "派件异常后签收",
        "代签",
        "投柜或驿站签收",
        "已销单",
        "发货无信息",
        "超时未签收",
        "超时未更新",
        "拒收",
        "派件异常",
        "退货签收",
        "退货未签收",
        "快递柜或驿站超时未取",
        "转投其他快递",
        "清关",
    ],
    alert_kinds: [
        "超时未揽收",
        "物流停滞",
        "疑难件",
        "拒签",
        "退回中",
        "已签收但买家称未收到",
        "发货超时风险",
    ],
    no_state: "暂无轨迹",
    col_number: "快递单号",
    col_carrier: "快递",
    col_state: "状态",
    col_orders: "订单",
    col_shipped: "发货时间",
    col_last: "最后更新",
    empty: "没有符合条件的包裹",
    timeline: "物流轨迹",
    no_events: "还没有物流轨迹",
    orders: "包裹内的订单",
    alerts: "异常提醒",
    no_alerts: "没有异常提醒",
    alert_open: "待处理",
    alert_cleared: "已解除",
    actions: "操作",
    refresh: "刷新物流",
    dispute: "标记买家称未收到",
    undispute: "撤销买家未收到标记",
    disputed: "买家称未收到",
    intercept: "申请拦截",
    intercept_reason: "拦截原因",
    intercept_default: "退款拦截",
    subscription: "订阅",
    back: "← 返回包裹列表",
    shipped_at: "发货",
    delivered_at: "签收",
};

static EN: TrackingText = TrackingText {
    filter_state: "State",
    filter_carrier: "Carrier",
    filter_number: "Tracking number",
    filter_alert: "Only with open alerts",
    any: "All",
    states: [
        "Awaiting pickup",
        "Picked up",
        "In transit",
        "Out for delivery",
        "Delivered",
        "Problem",
        "Refused",
        "Returning",
        "Returned",
    ],
    sub_states: [
        "Ordered",
        "Waiting for courier",
        "Collected",
        "Arrived in destination city",
        "Trunk line",
        "Forwarded",
        "Delivering",
        "In locker or station",
        "Signed by receiver",
        "Signed after a problem",
        "Signed by proxy",
        "Signed at locker or station",
        "Cancelled",
        "No information",
        "Not signed in time",
        "No update in time",
        "Refused by receiver",
        "Delivery failed",
        "Return signed",
        "Return not signed",
        "Not collected from locker",
        "Handed to another carrier",
        "Customs",
    ],
    alert_kinds: [
        "Not picked up",
        "Stalled",
        "Problem parcel",
        "Refused",
        "Returning",
        "Signed, buyer says not received",
        "Ship-by at risk",
    ],
    no_state: "No trace yet",
    col_number: "Tracking number",
    col_carrier: "Carrier",
    col_state: "State",
    col_orders: "Orders",
    col_shipped: "Shipped",
    col_last: "Last update",
    empty: "No parcels match",
    timeline: "Timeline",
    no_events: "No tracking events yet",
    orders: "Orders in this parcel",
    alerts: "Alerts",
    no_alerts: "No alerts",
    alert_open: "Open",
    alert_cleared: "Cleared",
    actions: "Actions",
    refresh: "Refresh tracking",
    dispute: "Buyer says not received",
    undispute: "Withdraw the buyer's dispute",
    disputed: "Buyer says not received",
    intercept: "Request interception",
    intercept_reason: "Reason for interception",
    intercept_default: "Refund interception",
    subscription: "Subscription",
    back: "← Back to parcels",
    shipped_at: "Shipped",
    delivered_at: "Delivered",
};

/// The sub-states in the order of [`TrackingText::sub_states`].
const SUB_STATES: [SubState; 23] = [
    SubState::Ordered,
    SubState::WaitingForCourier,
    SubState::Collected,
    SubState::ArrivedDestinationCity,
    SubState::Trunk,
    SubState::Forwarded,
    SubState::Delivering,
    SubState::InLockerOrStation,
    SubState::SignedByReceiver,
    SubState::SignedAfterProblem,
    SubState::SignedByProxy,
    SubState::SignedAtLockerOrStation,
    SubState::Cancelled,
    SubState::NoInformation,
    SubState::NotSignedInTime,
    SubState::NoUpdateInTime,
    SubState::RefusedByReceiver,
    SubState::DeliveryFailed,
    SubState::ReturnSigned,
    SubState::ReturnNotSigned,
    SubState::LockerNotCollected,
    SubState::HandedToAnotherCarrier,
    SubState::Customs,
];

impl TrackingText {
    fn state(&self, s: Option<TrackState>) -> &'static str {
        s.and_then(|s| TrackState::ALL.iter().position(|x| *x == s))
            .map(|i| self.states[i])
            .unwrap_or(self.no_state)
    }

    fn sub_state(&self, s: Option<SubState>) -> &'static str {
        s.and_then(|s| SUB_STATES.iter().position(|x| *x == s))
            .map(|i| self.sub_states[i])
            .unwrap_or("")
    }

    fn alert_kind(&self, k: AlertKind) -> &'static str {
        AlertKind::ALL
            .iter()
            .position(|x| *x == k)
            .map(|i| self.alert_kinds[i])
            .unwrap_or("")
    }
}

/// A tracking state in the page's language (the order page shows its parcels' states).
pub(super) fn state_label(s: TrackState, lang: Lang) -> &'static str {
    lang.pick(&ZH, &EN).state(Some(s))
}

struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

struct OrderLink {
    id: i64,
    number: String,
}

struct ParcelLine {
    id: i64,
    number: String,
    carrier: String,
    state: Option<&'static str>,
    state_label: &'static str,
    sub_state: &'static str,
    orders: Vec<OrderLink>,
    shipped: String,
    last: String,
    disputed: bool,
}

#[derive(Template)]
#[template(path = "tracking.html")]
struct TrackingPage {
    chrome: Chrome,
    t: &'static TrackingText,
    states: Vec<Choice>,
    carriers: Vec<Choice>,
    number: String,
    alert: bool,
    rows: Vec<ParcelLine>,
    error: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct TrackingQuery {
    state: Option<String>,
    carrier: Option<String>,
    tracking_no: Option<String>,
    alert: Option<String>,
    before: Option<i64>,
}

fn blank(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn line(t: &'static TrackingText, lang: Lang, p: ParcelRow) -> ParcelLine {
    ParcelLine {
        id: p.id.get(),
        number: p.tracking_no,
        carrier: super::labels::carrier(&p.carrier_code, lang),
        state: p.state.map(TrackState::as_str),
        state_label: t.state(p.state),
        sub_state: t.sub_state(p.sub_state),
        orders: p
            .orders
            .into_iter()
            .map(|(id, number)| OrderLink {
                id: id.get(),
                number,
            })
            .collect(),
        shipped: shanghai(p.shipped_at),
        last: p.last_event_at.map(shanghai).unwrap_or_default(),
        disputed: p.disputed_at.is_some(),
    }
}

async fn tracking_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<TrackingQuery>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Tracking, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let state = blank(&q.state);
    let carrier = blank(&q.carrier);
    let number = blank(&q.tracking_no);
    let alert = q.alert.as_deref().is_some_and(|a| a == "1" || a == "on");
    let mut page = TrackingPage {
        t,
        states: TrackState::ALL
            .iter()
            .zip(t.states)
            .map(|(st, label)| Choice {
                value: st.as_str(),
                label: label.to_string(),
                selected: state.as_deref() == Some(st.as_str()),
            })
            .collect(),
        carriers: fahuo_app::queues::carrier_choices()
            .into_iter()
            .map(|(code, _)| Choice {
                value: code,
                label: format!("{} ({code})", super::labels::carrier(code, lang)),
                selected: carrier.as_deref() == Some(code),
            })
            .collect(),
        number: number.clone().unwrap_or_default(),
        alert,
        rows: Vec::new(),
        error: None,
        next: None,
        chrome,
    };
    let track_state = match state.as_deref().map(TrackState::parse).transpose() {
        Ok(s) => s,
        Err(e) => {
            page.error = Some(e.to_string());
            return Ok(render(page));
        }
    };
    let filter = ParcelFilter {
        state: track_state,
        tracking_no: number.clone(),
        carrier: carrier.clone(),
        with_alert: alert,
        before: q.before,
        limit: PAGE,
        ..ParcelFilter::default()
    };
    match s.app.parcels(&actor, &filter).await {
        Ok(rows) => {
            let full = rows.len() as i64 == PAGE;
            let last = rows.last().map(|p| p.id.get());
            page.rows = rows.into_iter().map(|p| line(t, lang, p)).collect();
            if let (true, Some(last)) = (full, last) {
                let mut next = format!("/tracking?before={last}");
                for (k, v) in [
                    ("state", &state),
                    ("carrier", &carrier),
                    ("tracking_no", &number),
                ] {
                    if let Some(v) = v {
                        next.push_str(&format!("&{k}={}", urlencode(v)));
                    }
                }
                if alert {
                    next.push_str("&alert=1");
                }
                page.next = Some(next);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "parcel list failed");
            page.error = Some(page.chrome.c.load_failed.to_string());
        }
    }
    Ok(render(page))
}

/// Percent-encodes a query value (letters, digits and `-_.~` pass).
pub(super) fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct EventLine {
    at: String,
    at_iso: String,
    state: &'static str,
    state_label: &'static str,
    sub_state: &'static str,
    text: String,
    location: String,
}

struct AlertLine {
    kind: &'static str,
    label: &'static str,
    summary: String,
    opened: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "parcel.html")]
struct ParcelPage {
    chrome: Chrome,
    t: &'static TrackingText,
    p: ParcelLine,
    carrier_name: String,
    subscription: String,
    delivered: String,
    events: Vec<EventLine>,
    alerts: Vec<AlertLine>,
    can_edit: bool,
    can_intercept: bool,
}

async fn parcel_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Path(id): Path<String>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Tracking, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let Ok(id) = id.parse::<i64>() else {
        return Ok(not_found(chrome));
    };
    let (view, mut chrome) =
        super::found(s.app.parcel(&actor, ParcelId(id)).await, chrome, "parcel")?;
    let final_state = view.parcel.state.is_some_and(TrackState::is_final);
    let subscription = match &view.parcel.subscription_error {
        Some(e) => format!("{} ({e})", view.parcel.subscription),
        None => view.parcel.subscription.clone(),
    };
    let delivered = view.parcel.delivered_at.map(shanghai).unwrap_or_default();
    let carrier_name = super::labels::carrier(&view.parcel.carrier_code, lang);
    chrome.title = format!("{carrier_name} {}", view.parcel.tracking_no);
    let parcel_name = format!("{carrier_name} {}", view.parcel.tracking_no);
    let now = s.app.now();
    let events = view
        .events
        .iter()
        .rev()
        .map(|e| EventLine {
            at: shanghai(e.at),
            at_iso: e.at.to_rfc3339(),
            state: e.state.as_str(),
            state_label: t.state(Some(e.state)),
            sub_state: t.sub_state(e.sub_state),
            text: e.text.clone(),
            location: e.location.clone().unwrap_or_default(),
        })
        .collect();
    let alerts = view
        .alerts
        .iter()
        .rev()
        .map(|a| AlertLine {
            kind: a.kind.as_str(),
            label: t.alert_kind(a.kind),
            summary: super::labels::alert_summary(
                &a.summary,
                a.kind,
                &parcel_name,
                a.opened_at,
                None,
                now,
                lang,
            ),
            opened: shanghai(a.opened_at),
            open: a.cleared_at.is_none(),
        })
        .collect();
    Ok(render(ParcelPage {
        t,
        carrier_name,
        subscription,
        delivered,
        events,
        alerts,
        can_edit: actor.role.allows(Permission::EditOrders),
        can_intercept: actor.role.allows(Permission::HandleAfterSales) && !final_state,
        p: line(t, lang, view.parcel),
        chrome,
    }))
}
