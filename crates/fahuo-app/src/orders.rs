//! Order use-cases: take in manual orders, list and show orders with masked receivers,
//! reveal a receiver (audited), and review actions (approve, hold, release, cancel).

use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use fahuo_domain::catalog::Shop;
use fahuo_domain::fulfilment::Hold;
use fahuo_domain::order::{MaskedReceiver, NewOrder, NewOrderLine, Order, OrderLine, Receiver};
use fahuo_domain::{
    Fen, OrderEvent, OrderId, OrderState, ParseError, Permission, Platform, PlatformOrderId,
    ShopId, SkuCode, WarehouseId,
};
use fahuo_store::orders::{
    ListCursor, ListSort, ListTab, OrderFilter, OrderListPage, TabCount, Upsert,
};
use serde::{Deserialize, Serialize};

mod bulk;
mod detail;
pub use bulk::{
    BulkAction, BulkFailure, BulkOutcome, BulkRequest, MAX_BULK, MergeOutcome, error_code,
};
pub use detail::OrderPackage;

/// A receiver as typed into the API or an import.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiverInput {
    pub name: String,
    pub phone: String,
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub county: String,
    pub detail: String,
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineInput {
    pub sku_code: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    /// Defaults to quantity × unit price.
    pub paid_fen: Option<i64>,
}

/// A manual order (手工单) from another channel.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderInput {
    /// A shop of platform `manual`.
    pub shop_id: i64,
    /// The order number in the other channel; re-sending it updates nothing (idempotent).
    pub platform_order_id: String,
    /// Defaults to the sum of the lines plus freight.
    pub paid_total_fen: Option<i64>,
    #[serde(default)]
    pub freight_fen: i64,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub ship_by: Option<DateTime<Utc>>,
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub receiver: ReceiverInput,
    pub lines: Vec<LineInput>,
}

impl ReceiverInput {
    pub fn parse(&self) -> Result<Receiver, ParseError> {
        Receiver::parse(
            &self.name,
            &self.phone,
            &self.province,
            &self.city,
            &self.county,
            &self.detail,
        )
    }
}

impl OrderInput {
    /// Parses the input into a validated domain order.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<NewOrder, ParseError> {
        let lines = self
            .lines
            .iter()
            .map(|l| {
                Ok(NewOrderLine {
                    platform_line_id: None,
                    platform_sku_id: None,
                    sku_code: l
                        .sku_code
                        .as_deref()
                        .filter(|c| !c.trim().is_empty())
                        .map(SkuCode::parse)
                        .transpose()?,
                    title: l.title.trim().chars().take(200).collect(),
                    quantity: l.quantity,
                    unit_price: Fen(l.unit_price_fen),
                    paid: Fen(l
                        .paid_fen
                        .unwrap_or(l.unit_price_fen.saturating_mul(l.quantity))),
                })
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        let lines_total: Fen = lines.iter().map(|l| l.paid).sum();
        let note = |n: &Option<String>| {
            n.as_ref()
                .map(|s| s.trim().chars().take(1000).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        NewOrder {
            shop_id: ShopId(self.shop_id),
            platform_order_id: PlatformOrderId::parse(&self.platform_order_id)?,
            platform_status: "manual".into(),
            paid_total: Fen(self
                .paid_total_fen
                .unwrap_or(lines_total.get() + self.freight_fen)),
            freight: Fen(self.freight_fen),
            buyer_note: note(&self.buyer_note),
            seller_note: note(&self.seller_note),
            paid_at: Some(now),
            ship_by: self.ship_by,
            presale_ship_at: self.presale_ship_at,
            platform_updated_at: Some(now),
            receiver: self.receiver.parse()?,
            lines,
            receiver_fingerprint: None,
        }
        .validate()
    }
}

/// An order as staff and integrations see it: receiver masked, holds included.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: OrderId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: String,
    pub state: OrderState,
    /// The state in Chinese, as the console shows it.
    pub state_label: String,
    pub platform_status: String,
    pub paid_total_fen: Fen,
    pub freight_fen: Fen,
    pub buyer_note: Option<String>,
    pub seller_note: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub ship_by: Option<DateTime<Utc>>,
    pub presale_ship_at: Option<DateTime<Utc>>,
    pub receiver: MaskedReceiver,
    pub lines: Vec<OrderLine>,
    pub holds: Vec<Hold>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrderView {
    fn new(o: Order, holds: Vec<Hold>) -> OrderView {
        OrderView {
            id: o.id,
            shop_id: o.shop_id,
            platform: o.platform,
            platform_order_id: o.platform_order_id.to_string(),
            state: o.state,
            state_label: o.state.label_zh().to_string(),
            platform_status: o.platform_status,
            paid_total_fen: o.paid_total,
            freight_fen: o.freight,
            buyer_note: o.buyer_note,
            seller_note: o.seller_note,
            paid_at: o.paid_at,
            ship_by: o.ship_by,
            presale_ship_at: o.presale_ship_at,
            receiver: o.receiver.masked(),
            lines: o.lines,
            holds,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// The order list's query, as it arrives from the API or the console (empty fields are
/// ignored, so a form may send them all).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct OrderQuery {
    /// The console's tab: `all`, `review` (待审核), `print` (待打单), `ship` (待发货),
    /// `shipped` (已发货), `exception` (异常), `after_sale` (售后, an open after-sale) or
    /// `cancelled` (已取消).
    pub tab: Option<String>,
    /// Internal state, e.g. `new`, `on_hold`, `approved`.
    pub state: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub shop_id: Option<i64>,
    /// `wechat`, `douyin`, `xiaohongshu` or `manual`.
    pub platform: Option<String>,
    /// The carrier code of the order's package, waybill or shipment, e.g. `SF`.
    pub carrier: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub warehouse_id: Option<i64>,
    /// A SKU tag of one of its lines, e.g. `fragile`.
    pub tag: Option<String>,
    /// Deadline risk of orders still to ship: `overdue`, `6h` (due within 6 hours) or `24h`.
    pub risk: Option<String>,
    /// One search box: four digits search the phone's last four, a name (Chinese letters or a
    /// space) the receiver's full name, anything else the order number or a waybill number.
    pub q: Option<String>,
    /// The platform's order number, exactly.
    pub platform_order_id: Option<String>,
    /// A waybill (tracking) number, exactly.
    pub waybill: Option<String>,
    /// The last four digits of the receiver's phone.
    pub phone: Option<String>,
    /// The receiver's full name, exactly (spaces and case do not matter).
    pub name: Option<String>,
    /// Only orders whose ship-by deadline is before this instant.
    pub ship_by_before: Option<DateTime<Utc>>,
    /// Created at or after: an RFC 3339 instant, or a date (its start in China time).
    pub created_from: Option<String>,
    /// Created before: an RFC 3339 instant, or a date (that whole day in China time).
    pub created_to: Option<String>,
    /// `deadline` (soonest first; the default of the work tabs) or `created` (newest first;
    /// the default of the others). Without tab and sort: newest first by id.
    pub sort: Option<String>,
    /// The `next_cursor` of the previous page (with the same sort).
    pub after: Option<String>,
    /// 1–500, default 50.
    #[serde(default, deserialize_with = "opt_i64")]
    pub limit: Option<i64>,
}

/// A number as JSON sends it, or as text from a query string; empty text is none.
fn opt_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        I(i64),
        S(String),
    }
    match Option::<V>::deserialize(d)? {
        None => Ok(None),
        Some(V::I(i)) => Ok(Some(i)),
        Some(V::S(s)) if s.trim().is_empty() => Ok(None),
        Some(V::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("not a number: {s:?}"))),
    }
}

/// China time (UTC+8, no daylight saving), in which merchants name their days.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// An instant from RFC 3339 or a date; a date means its start, or with `end_of_day` the start
/// of the next day (an exclusive bound that includes the whole date).
fn instant(field: &'static str, s: &str, end_of_day: bool) -> Result<DateTime<Utc>, ParseError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ParseError::new(field, "a date (2026-12-05) or an RFC 3339 time"))?;
    let date = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    let start = date.and_time(NaiveTime::MIN);
    Ok(china()
        .from_local_datetime(&start)
        .single()
        .expect("a fixed offset has one local time")
        .with_timezone(&Utc))
}

/// A query parameter with something in it, trimmed.
fn filled(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

impl OrderQuery {
    /// The list's order: the one asked for, else by deadline in the tabs of work to do and
    /// whenever a deadline-risk filter is set (that filter is a range of the deadline sort's
    /// index; in another order the risky orders would have to be picked out of all the
    /// others and a page could come back short), else by created time in the other tabs and
    /// under a created-date range, else newest first.
    pub fn sort(&self) -> Result<ListSort, ParseError> {
        let tab = filled(&self.tab).map(|t| ListTab::parse(&t)).transpose()?;
        Ok(match (filled(&self.sort).as_deref(), tab) {
            (Some("deadline"), _) => ListSort::Deadline,
            (Some("created"), _) => ListSort::Created,
            (Some(_), _) => return Err(ParseError::new("sort", "deadline or created")),
            (None, _) if filled(&self.risk).is_some() => ListSort::Deadline,
            (None, Some(t)) if t.is_work() => ListSort::Deadline,
            (None, Some(_)) => ListSort::Created,
            // Likewise a created-date range is a range of the created index.
            (None, None)
                if filled(&self.created_from)
                    .or(filled(&self.created_to))
                    .is_some() =>
            {
                ListSort::Created
            }
            (None, None) => ListSort::Newest,
        })
    }

    /// The store's filter, with deadline risk relative to `now`.
    pub fn parse(&self, now: DateTime<Utc>) -> Result<OrderFilter, ParseError> {
        let tail = |p: String| {
            if p.len() != 4 || !p.chars().all(|c| c.is_ascii_digit()) {
                return Err(ParseError::new(
                    "phone",
                    "the last four digits of the phone",
                ));
            }
            Ok(p)
        };
        let mut phone = filled(&self.phone).map(tail).transpose()?;
        let mut name = filled(&self.name);
        let mut number = None;
        if let Some(q) = filled(&self.q) {
            if q.len() == 4 && q.chars().all(|c| c.is_ascii_digit()) {
                phone = Some(q);
            } else if q.chars().any(|c| !c.is_ascii() || c.is_whitespace()) {
                name = Some(q);
            } else {
                number = Some(q);
            }
        }
        if name.as_ref().is_some_and(|n| n.chars().count() > 50) {
            return Err(ParseError::new("name", "at most 50 characters"));
        }
        if number.as_ref().is_some_and(|n| n.len() > 64) {
            return Err(ParseError::new("q", "at most 64 characters"));
        }
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ParseError::new("limit", "between 1 and 500"));
        }
        let tab = filled(&self.tab).map(|t| ListTab::parse(&t)).transpose()?;
        let sort = self.sort()?;
        let risk = filled(&self.risk);
        let (mut after, mut cursor) = (None, None);
        if let Some(a) = filled(&self.after) {
            let bad = || ParseError::new("after", "the next_cursor of the previous page");
            if sort == ListSort::Newest {
                after = Some(a.parse::<i64>().map_err(|_| bad())?);
            } else {
                cursor = Some(ListCursor::decode(&a).ok_or_else(bad)?);
            }
        }
        let (deadline_from, deadline_before) = match risk.as_deref() {
            None => (None, None),
            Some("overdue") => (None, Some(now)),
            Some("6h") => (Some(now), Some(now + Duration::hours(6))),
            Some("24h") => (Some(now), Some(now + Duration::hours(24))),
            Some(_) => return Err(ParseError::new("risk", "overdue, 6h or 24h")),
        };
        let carrier = filled(&self.carrier).map(|c| c.to_ascii_uppercase());
        if carrier
            .as_ref()
            .is_some_and(|c| c.len() > 16 || !c.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(ParseError::new("carrier", "a carrier code, e.g. SF"));
        }
        let tag = filled(&self.tag).map(|t| t.to_lowercase());
        if tag
            .as_ref()
            .is_some_and(|t| t.chars().count() > 32 || t.contains([',', '%']))
        {
            return Err(ParseError::new("tag", "one tag, e.g. fragile"));
        }
        let waybill = filled(&self.waybill);
        if waybill.as_ref().is_some_and(|w| w.len() > 64) {
            return Err(ParseError::new("waybill", "at most 64 characters"));
        }
        Ok(OrderFilter {
            state: filled(&self.state)
                .map(|s| OrderState::parse(&s))
                .transpose()?,
            tab,
            shops: None,
            shop_id: self.shop_id.map(ShopId),
            platform: filled(&self.platform)
                .map(|p| Platform::parse(&p))
                .transpose()?,
            carrier,
            warehouse_id: self.warehouse_id.map(WarehouseId),
            tag,
            platform_order_id: filled(&self.platform_order_id)
                .map(|p| PlatformOrderId::parse(&p).map(String::from))
                .transpose()?,
            phone_last_four: phone,
            receiver_name: name,
            waybill,
            number,
            ship_by_before: self.ship_by_before,
            deadline_from,
            deadline_before,
            created_from: filled(&self.created_from)
                .map(|s| instant("created_from", &s, false))
                .transpose()?,
            created_to: filled(&self.created_to)
                .map(|s| instant("created_to", &s, true))
                .transpose()?,
            sort,
            after,
            cursor,
            limit,
            window: None,
        })
    }
}

impl App {
    /// Creates (or, if sent again, finds) a manual order.
    pub async fn create_manual_order(
        &self,
        actor: &Actor,
        input: &OrderInput,
    ) -> Result<(Upsert, OrderView)> {
        actor.require(Permission::EditOrders)?;
        let now = self.now();
        let order = input.parse(now)?;
        self.manual_shop(actor, order.shop_id).await?;
        let outcome = self
            .store()
            .upsert_order(actor.tenant_id, &order, &actor.audit_ref(), now)
            .await?;
        if let Upsert::Updated(id) = outcome {
            self.follow_readdress(actor.tenant_id, id, &order.receiver, &actor.audit_ref())
                .await?;
        }
        Ok((outcome, self.order(actor, outcome.order_id()).await?))
    }

    /// The actor's shop, if it is a manual shop (the only kind that takes orders typed in or
    /// imported; the others get theirs from the platform) of the actor's scope.
    pub(crate) async fn manual_shop(&self, actor: &Actor, id: ShopId) -> Result<Shop> {
        actor.check_shop(id)?;
        let shop = self.store().shop(actor.tenant_id, id).await?;
        if shop.platform != Platform::Manual {
            return Err(AppError::Conflict(format!(
                "shop {} is a {} shop: its orders come from the platform; use a manual shop",
                shop.id,
                shop.platform.label_zh()
            )));
        }
        Ok(shop)
    }

    /// The order list: only the shops of the actor's scope, receivers masked.
    pub async fn orders(&self, actor: &Actor, query: &OrderQuery) -> Result<OrderListPage> {
        actor.require(Permission::ViewOrders)?;
        let filter = self.scoped_filter(actor, query)?;
        Ok(self.store().order_list(actor.tenant_id, &filter).await?)
    }

    fn scoped_filter(&self, actor: &Actor, query: &OrderQuery) -> Result<OrderFilter> {
        let mut filter = query.parse(self.now())?;
        filter.shops = actor.scope.shops.clone();
        Ok(filter)
    }

    /// How many orders the query matches, up to `cap` (`(cap, true)`: more than that).
    pub async fn order_match_count(
        &self,
        actor: &Actor,
        query: &OrderQuery,
        cap: i64,
    ) -> Result<(i64, bool)> {
        actor.require(Permission::ViewOrders)?;
        let filter = self.scoped_filter(actor, query)?;
        Ok(self
            .store()
            .count_orders(actor.tenant_id, &filter, cap)
            .await?)
    }

    /// The count of each tab of the list within the actor's scope and the query's shop and
    /// platform (its other filters do not change the tab counts), each counted up to `cap`.
    pub async fn order_tab_counts(
        &self,
        actor: &Actor,
        query: &OrderQuery,
        cap: i64,
    ) -> Result<Vec<TabCount>> {
        actor.require(Permission::ViewOrders)?;
        let filter = self.scoped_filter(actor, query)?;
        Ok(self
            .store()
            .order_tab_counts(actor.tenant_id, &filter, cap)
            .await?)
    }

    /// The carriers (of the tenant's carrier accounts) and SKU tags the list may filter by.
    pub async fn order_list_choices(&self, actor: &Actor) -> Result<(Vec<String>, Vec<String>)> {
        actor.require(Permission::ViewOrders)?;
        Ok(self.store().order_list_choices(actor.tenant_id).await?)
    }

    /// Orders per state, within the actor's shops.
    pub async fn order_counts(&self, actor: &Actor) -> Result<Vec<(OrderState, i64)>> {
        actor.require(Permission::ViewOrders)?;
        Ok(self
            .store()
            .order_counts(actor.tenant_id, actor.scope.shops.as_deref())
            .await?)
    }

    /// `NotFound` unless the order is the actor's tenant's and in a shop of the actor's scope:
    /// an order outside the scope is, for the actor, an order that does not exist.
    pub async fn order_in_scope(&self, actor: &Actor, id: OrderId) -> Result<()> {
        let shop = self.store().order_shop(actor.tenant_id, id).await?;
        if actor.scope.allows_shop(shop) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    pub async fn order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::ViewOrders)?;
        self.order_in_scope(actor, id).await?;
        let order = self.store().order(actor.tenant_id, id).await?;
        let holds = self.store().holds(actor.tenant_id, id).await?;
        Ok(OrderView::new(order, holds))
    }

    /// Shows the receiver in clear, for a person who needs it (a phone call, a hand-written
    /// label). Every reveal is in the audit log.
    pub async fn reveal_receiver(&self, actor: &Actor, id: OrderId) -> Result<Receiver> {
        actor.require(Permission::RevealReceiver)?;
        self.order_in_scope(actor, id).await?;
        let order = self.store().order(actor.tenant_id, id).await?;
        let mut audit = actor.audit("receiver.reveal", "order", self.now());
        audit.entity_id = Some(id.get());
        self.store().append_audit(&audit).await?;
        Ok(order.receiver)
    }

    /// Approves a new or held order (审核通过); a held order's holds are released.
    pub async fn approve_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::ReviewOrders)?;
        self.order_in_scope(actor, id).await?;
        let now = self.now();
        let order = self.store().order(actor.tenant_id, id).await?;
        if order.state == OrderState::OnHold {
            self.store()
                .release_order(actor.tenant_id, id, &actor.audit_ref(), now)
                .await?;
        } else if order.state.is_before_shipping() && order.state != OrderState::New {
            // Already past review (the review job may have approved and allocated it a moment
            // ago): approving again changes nothing.
        } else {
            self.store()
                .transition_order(
                    actor.tenant_id,
                    id,
                    OrderEvent::Approve,
                    &actor.audit_ref(),
                    now,
                )
                .await?;
        }
        self.order(actor, id).await
    }

    /// Puts an order aside with a reason a person can act on.
    pub async fn hold_order(
        &self,
        actor: &Actor,
        id: OrderId,
        reason_code: &str,
        message: &str,
    ) -> Result<OrderView> {
        actor.require(Permission::ReviewOrders)?;
        self.order_in_scope(actor, id).await?;
        let code = reason_code.trim();
        if code.is_empty()
            || code.len() > 64
            || !code.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            return Err(ParseError::new(
                "reason_code",
                "lowercase letters and _ (e.g. manual, address_incomplete)",
            )
            .into());
        }
        let message: String = message.trim().chars().take(500).collect();
        if message.is_empty() {
            return Err(
                ParseError::new("message", "say why, so that someone can act on it").into(),
            );
        }
        self.store()
            .hold_order(
                actor.tenant_id,
                id,
                code,
                &message,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.order(actor, id).await
    }

    /// Cancels an order that has not shipped (e.g. the buyer cancelled by phone).
    pub async fn cancel_order(&self, actor: &Actor, id: OrderId) -> Result<OrderView> {
        actor.require(Permission::EditOrders)?;
        self.order_in_scope(actor, id).await?;
        self.store()
            .transition_order(
                actor.tenant_id,
                id,
                OrderEvent::Cancel,
                &actor.audit_ref(),
                self.now(),
            )
            .await?;
        self.order(actor, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(tab: Option<&str>, sort: Option<&str>, risk: Option<&str>) -> OrderQuery {
        OrderQuery {
            tab: tab.map(String::from),
            sort: sort.map(String::from),
            risk: risk.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn the_list_is_read_by_deadline_in_work_tabs_and_under_a_risk_filter() {
        let sort = |tab, sort, risk| query(tab, sort, risk).sort().unwrap();
        assert_eq!(sort(Some("print"), None, None), ListSort::Deadline);
        assert_eq!(sort(Some("shipped"), None, None), ListSort::Created);
        assert_eq!(sort(None, None, None), ListSort::Newest);
        // Overdue orders are a range of the deadline index: read there, the page is full
        // even when the newest orders are not overdue.
        assert_eq!(sort(Some("all"), None, Some("overdue")), ListSort::Deadline);
        assert_eq!(sort(None, None, Some("6h")), ListSort::Deadline);
        // A sort asked for wins.
        assert_eq!(
            sort(Some("all"), Some("created"), Some("overdue")),
            ListSort::Created
        );
        assert!(query(None, Some("price"), None).sort().is_err());
        let last_week = OrderQuery {
            created_from: Some("2026-11-28".into()),
            ..Default::default()
        };
        assert_eq!(last_week.sort().unwrap(), ListSort::Created);
        let f = query(Some("all"), None, Some("overdue"))
            .parse(Utc::now())
            .unwrap();
        assert_eq!(f.sort, ListSort::Deadline);
        assert!(f.deadline_before.is_some());
    }
}
