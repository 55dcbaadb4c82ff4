//! Orders, their lines and holds. One order per (tenant, shop, platform order id), however
//! often it is synced or pushed; receivers are encrypted, with masked copies and a keyed hash
//! of the phone's last four digits kept beside them for lists and search.

use crate::allocation::stock_follows_order;
use crate::audit::insert_audit;
use crate::stock::apply_stock_movement;
use crate::{Page, Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::{ActorRef, AuditEntry};
use fahuo_domain::fulfilment::Hold;
use fahuo_domain::order::{MaskedReceiver, NewOrder, Order, OrderLine, Receiver};
use fahuo_domain::{
    Fen, HoldId, OrderEvent, OrderId, OrderLineId, OrderState, Platform, PlatformOrderId, ShopId,
    SkuCode, SkuId, TenantId, WarehouseId,
};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// Inserts the lines of `$order` for order `$id` on `$conn`.
macro_rules! insert_lines {
    ($conn:expr, $tenant:expr, $id:expr, $order:expr) => {
        for (n, line) in $order.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (tenant_id, order_id, line_no, platform_line_id, \
                 platform_sku_id, sku_code, title, quantity, unit_price_fen, paid_fen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind($tenant.get())
            .bind($id)
            .bind(n as i64 + 1)
            .bind(line.platform_line_id.as_deref())
            .bind(line.platform_sku_id.as_deref())
            .bind(line.sku_code.as_ref().map(|c| c.as_str()))
            .bind(&line.title)
            .bind(line.quantity)
            .bind(line.unit_price.get())
            .bind(line.paid.get())
            .execute($conn)
            .await?;
        }
    };
}

/// Moves order `$id` by `$event` inside transaction `$tx`: reads its state, lets the domain's
/// transition table decide, and writes the new state only if nobody changed the order since
/// (optimistic version check, `Stale` otherwise). Evaluates to `(from, to)`.
macro_rules! apply_order_event {
    ($tx:expr, $tenant:expr, $id:expr, $event:expr, $now:expr) => {{
        let (state, version): (String, i64) =
            sqlx::query_as("SELECT state, version FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind($tenant.get())
                .bind($id.get())
                .fetch_one(&mut *$tx)
                .await?;
        let from = OrderState::parse(&state)?;
        let to = from.apply($event).map_err(StoreError::Illegal)?;
        let done = sqlx::query(
            "UPDATE orders SET state = $1, version = version + 1, updated_at = $2 \
             WHERE tenant_id = $3 AND id = $4 AND version = $5",
        )
        .bind(to.as_str())
        .bind(ms($now))
        .bind($tenant.get())
        .bind($id.get())
        .bind(version)
        .execute(&mut *$tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Stale("order"));
        }
        (from, to)
    }};
}
pub(crate) use apply_order_event;

/// What an intake of an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "order_id", rename_all = "snake_case")]
pub enum Upsert {
    Created(OrderId),
    Updated(OrderId),
    /// A duplicate or an older version than the one stored: nothing changed.
    Unchanged(OrderId),
}

impl Upsert {
    pub fn order_id(self) -> OrderId {
        match self {
            Upsert::Created(id) | Upsert::Updated(id) | Upsert::Unchanged(id) => id,
        }
    }
}

/// A row of the order list: no decryption needed, the receiver is already masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderSummary {
    pub id: OrderId,
    pub shop_id: ShopId,
    pub platform: Platform,
    pub platform_order_id: String,
    pub state: OrderState,
    pub platform_status: String,
    pub paid_total: Fen,
    pub receiver: MaskedReceiver,
    pub ship_by: Option<DateTime<Utc>>,
    /// The carrier of its latest package, waybill or shipment.
    pub carrier: Option<String>,
    /// The warehouse of its latest package.
    pub warehouse_id: Option<WarehouseId>,
    /// The tags of its lines' SKUs.
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The tabs of the order list (订单页签). Each state tab is a set of [`OrderState`]s; the
/// mapping is [`ListTab::of`] and, for the database, the `list_tab` generated column of
/// migration 0011 (the two must agree; a test checks it):
///
/// | tab | states | why |
/// |---|---|---|
/// | 待审核 review | new | waits for review (rules or a person) |
/// | 异常 exception | on_hold | a hold needs a person (an exception is a hold, not a state) |
/// | 待打单 print | approved, allocated, waybill_issued | cleared, the label is not printed yet |
/// | 待发货 ship | printed, packed | the label is out, the platform is not told yet |
/// | 已发货 shipped | shipped, in_transit, delivered, returned | it left (a return is an after-sale) |
/// | 已取消 cancelled | cancelled, refunded | nothing more to ship |
///
/// 售后 (`after_sale`) is not a state: it lists the orders with an open after-sale (status not
/// completed, rejected or closed), whatever their state, so an order may be in two tabs
/// (`orders.list_after_sale`, kept by the triggers of migration 0013).
/// 全部 (`all`) is every order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ListTab {
    All,
    Review,
    Print,
    Ship,
    Shipped,
    Exception,
    AfterSale,
    Cancelled,
}

impl ListTab {
    /// In the order the console shows them.
    pub const ALL: [ListTab; 8] = [
        ListTab::All,
        ListTab::Review,
        ListTab::Print,
        ListTab::Ship,
        ListTab::Shipped,
        ListTab::Exception,
        ListTab::AfterSale,
        ListTab::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListTab::All => "all",
            ListTab::Review => "review",
            ListTab::Print => "print",
            ListTab::Ship => "ship",
            ListTab::Shipped => "shipped",
            ListTab::Exception => "exception",
            ListTab::AfterSale => "after_sale",
            ListTab::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<ListTab, fahuo_domain::ParseError> {
        ListTab::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| {
                fahuo_domain::ParseError::new(
                    "tab",
                    "all, review, print, ship, shipped, exception, after_sale or cancelled",
                )
            })
    }

    /// The state tab of an order in `state` (never `All` or `AfterSale`).
    pub fn of(state: OrderState) -> ListTab {
        use OrderState as S;
        match state {
            S::New => ListTab::Review,
            S::OnHold => ListTab::Exception,
            S::Approved | S::Allocated | S::WaybillIssued => ListTab::Print,
            S::Printed | S::Packed => ListTab::Ship,
            S::Shipped | S::InTransit | S::Delivered | S::Returned => ListTab::Shipped,
            S::Cancelled | S::Refunded => ListTab::Cancelled,
        }
    }

    /// A tab of orders still to be worked on: they are sorted by ship-by deadline by default.
    pub fn is_work(self) -> bool {
        matches!(
            self,
            ListTab::Review | ListTab::Exception | ListTab::Print | ListTab::Ship
        )
    }
}

/// The order of the list. Every sort ends in the order id, so it is total and a keyset cursor
/// (the last row's key and id) continues it without gaps or repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ListSort {
    /// Ship-by deadline, soonest first; orders with nothing left to ship (or no deadline) last.
    Deadline,
    /// Created time, newest first.
    Created,
    /// Order id, newest first: the cursor is just the id (`OrderFilter::after`).
    #[default]
    Newest,
}

/// Where the next page starts: the last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListCursor {
    pub key: i64,
    pub id: i64,
}

impl ListCursor {
    /// `key.id`, as it travels in URLs.
    pub fn encode(self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    pub fn decode(s: &str) -> Option<ListCursor> {
        let (key, id) = s.trim().split_once('.')?;
        Some(ListCursor {
            key: key.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// A page of the order list; `next_cursor` is the [`ListCursor`] of its last row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderListPage {
    pub items: Vec<OrderSummary>,
    /// Pass back as `after` (with the same sort) for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The page has fewer rows than asked although there may be more: filters that no index
    /// answers in sort order were checked on [`LIST_WINDOW`] orders and the search stopped
    /// there; `next_cursor` searches on.
    pub partial: bool,
}

/// A tab's count. Counting stops at `cap`: `more` says there are more than `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TabCount {
    pub tab: ListTab,
    pub count: i64,
    pub more: bool,
}

/// The after-sale statuses that are still open: migration 0013's triggers, which keep
/// `orders.list_after_sale`, name the same list word for word (a test checks it).
pub(crate) const OPEN_AFTER_SALE: &str =
    "'requested', 'awaiting_return', 'return_shipped', 'return_received', 'refunding'";

/// The deadline key of an order with nothing left to ship or no deadline (migration 0011).
pub const NO_DEADLINE: i64 = 9_000_000_000_000_000;

/// A receiver name as the name search hashes it: without any whitespace or the middle dot of
/// transliterated names, letters in lower case ("张 三" = "张三", "Li Lei" = "lilei").
pub fn normalise_receiver_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '•' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which orders to list. Every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub state: Option<OrderState>,
    pub tab: Option<ListTab>,
    /// Only these shops (a sub-account's scope); `None` = every shop of the tenant.
    pub shops: Option<Vec<ShopId>>,
    pub shop_id: Option<ShopId>,
    pub platform: Option<Platform>,
    /// The carrier of the order's package, waybill or shipment (e.g. `SF`).
    pub carrier: Option<String>,
    pub warehouse_id: Option<WarehouseId>,
    /// A SKU tag of one of its lines (e.g. `fragile`).
    pub tag: Option<String>,
    pub platform_order_id: Option<String>,
    /// Last four digits of the receiver's phone.
    pub phone_last_four: Option<String>,
    /// The receiver's full name (exact, after [`normalise_receiver_name`]).
    pub receiver_name: Option<String>,
    /// A waybill (tracking) number of its packages or shipments.
    pub waybill: Option<String>,
    /// An order number or a waybill number, whichever it is.
    pub number: Option<String>,
    /// Orders whose ship-by deadline is before this instant.
    pub ship_by_before: Option<DateTime<Utc>>,
    /// Open orders whose deadline is at or after this instant.
    pub deadline_from: Option<DateTime<Utc>>,
    /// Open orders whose deadline is before this instant.
    pub deadline_before: Option<DateTime<Utc>>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sort: ListSort,
    /// For [`ListSort::Newest`]: orders with an id below this one (the previous `next_cursor`).
    pub after: Option<i64>,
    /// For the other sorts: the previous page's last row.
    pub cursor: Option<ListCursor>,
    pub limit: i64,
    /// The window of [`Store::order_list`]; `None` = [`LIST_WINDOW`] (tests use a small one).
    pub window: Option<i64>,
}

/// A bound value of a dynamically built query.
enum Arg {
    I(i64),
    S(String),
}

/// Binds `args` to `q` in order (the `$n` of a [`Where`]), on either database.
fn bind_args<'q, DB, O>(
    q: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    args.iter().fold(q, |q, a| match a {
        Arg::I(v) => q.bind(*v),
        Arg::S(v) => q.bind(v.as_str()),
    })
}

/// The WHERE clause of a list or count query, with only the conditions the filter uses, so
/// that each database plans for exactly that combination ($1 is always the tenant).
struct Where {
    terms: Vec<String>,
    args: Vec<Arg>,
    /// Subqueries (`SELECT … AS oid`) that each yield a small set of order ids through
    /// their own index: the searches.
    drivers: Vec<String>,
    /// Conditions no index of the list answers in sort order (carrier, warehouse, tag,
    /// platform, several shops, the other sort's range): checked on the rows of a bounded
    /// window of the sort index (see [`LIST_WINDOW`]).
    residual: Vec<String>,
    /// Residual conditions not yet numbered: `{}` in the text stands for each argument in
    /// turn. [`Where::seal`] numbers them after every index condition (the cursor's too), so
    /// that the index conditions alone use `$1..$k` and can be asked on their own.
    pending: Vec<(String, Vec<Arg>)>,
}

/// How many entries of the sort index one list query reads at most when residual conditions
/// must be checked row by row. A combination that matches rarely (or never) would otherwise
/// read the whole tab: instead the page ends early with a cursor to search on from there
/// ([`OrderListPage::partial`]), and each request stays well under the list's time budget.
pub const LIST_WINDOW: i64 = 5_000;

/// The same bound for [`Store::count_orders`] with residual conditions (asked on demand, for
/// "select all N matching"): past it the count is a lower bound (`more`).
const COUNT_WINDOW: i64 = 20_000;

impl Where {
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
    fn int(&mut self, v: i64) -> String {
        self.arg(Arg::I(v))
    }
    fn text(&mut self, v: &str) -> String {
        self.arg(Arg::S(v.to_string()))
    }
    /// A condition on `args`, written with `{}` for each.
    fn cond(&mut self, indexed: bool, template: &str, args: Vec<Arg>) {
        if indexed {
            let mut term = template.to_string();
            for a in args {
                let p = self.arg(a);
                term = term.replacen("{}", &p, 1);
            }
            self.terms.push(term);
        } else {
            self.pending.push((template.to_string(), args));
        }
    }
    /// Numbers the residual conditions; returns how many arguments the index conditions use.
    fn seal(&mut self) -> usize {
        let index_args = self.args.len();
        for (template, args) in std::mem::take(&mut self.pending) {
            let mut term = template;
            for a in args {
                let p = self.arg(a);
                term = term.replacen("{}", &p, 1);
            }
            self.residual.push(term);
        }
        index_args
    }
    /// `FROM … WHERE …`. With a driver, its few ids are read first and the orders fetched by
    /// id (`CROSS JOIN` fixes that order on SQLite, which has no statistics to know that a
    /// phone tail or an order number is rarer than a tab), then sorted: an index scan in sort
    /// order that probes each row against the driver would read the whole tab instead.
    fn sql_from_where(&self) -> String {
        match self.drivers.split_first() {
            None => {
                let terms: Vec<&str> = self
                    .terms
                    .iter()
                    .chain(&self.residual)
                    .map(String::as_str)
                    .collect();
                format!("FROM orders WHERE {}", terms.join(" AND "))
            }
            Some((first, rest)) => {
                let mut terms = vec!["orders.id = d.oid".to_string()];
                terms.extend(self.terms.iter().cloned());
                terms.extend(self.residual.iter().cloned());
                terms.extend(rest.iter().map(|r| format!("orders.id IN ({r})")));
                format!(
                    "FROM ({first}) d CROSS JOIN orders WHERE {}",
                    terms.join(" AND ")
                )
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    shop_id: i64,
    platform: String,
    platform_order_id: String,
    state: String,
    platform_status: String,
    paid_total_fen: i64,
    receiver_name_masked: String,
    receiver_phone_masked: String,
    receiver_province: String,
    receiver_city: String,
    receiver_county: String,
    ship_by: Option<i64>,
    list_carrier: Option<String>,
    list_warehouse_id: Option<i64>,
    list_tags: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct KeyedRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    list_key: i64,
}

impl TryFrom<SummaryRow> for OrderSummary {
    type Error = StoreError;
    fn try_from(r: SummaryRow) -> Result<OrderSummary> {
        Ok(OrderSummary {
            id: OrderId(r.id),
            shop_id: ShopId(r.shop_id),
            platform: Platform::parse(&r.platform)?,
            platform_order_id: r.platform_order_id,
            state: OrderState::parse(&r.state)?,
            platform_status: r.platform_status,
            paid_total: Fen(r.paid_total_fen),
            receiver: MaskedReceiver {
                name: r.receiver_name_masked,
                phone: r.receiver_phone_masked,
                province: r.receiver_province,
                city: r.receiver_city,
                county: r.receiver_county,
                detail: "****".into(),
            },
            ship_by: opt_from_ms(r.ship_by),
            carrier: r.list_carrier,
            warehouse_id: r.list_warehouse_id.map(WarehouseId),
            tags: {
                let mut tags: Vec<String> = r
                    .list_tags
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect();
                tags.sort();
                tags.dedup();
                tags
            },
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        })
    }
}

const SUMMARY_COLUMNS: &str = "id, shop_id, platform, platform_order_id, state, platform_status, \
    paid_total_fen, receiver_name_masked, receiver_phone_masked, receiver_province, receiver_city, \
    receiver_county, ship_by, list_carrier, list_warehouse_id, list_tags, created_at, updated_at";

/// `(platform_order_id, id, buyer_openid, state, platform_updated_at, receiver_fingerprint)`.
type KnownOrderRow = (
    String,
    i64,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
);

/// An order fahuo holds, as intake sees it before storing a pulled version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownOrder {
    pub id: OrderId,
    pub buyer_openid: Option<String>,
    /// fahuo's state of the order when it was read. An order never moves back from past
    /// shipping or from a terminal state, so a state read earlier still rules those out.
    pub state: OrderState,
    /// The platform's update time of the stored version, in milliseconds.
    updated_ms: Option<i64>,
    receiver_fingerprint: Option<String>,
}

impl KnownOrder {
    /// What the stored receiver looked like, still encrypted, when fahuo decrypted it
    /// (`None` when it was stored without one).
    pub fn receiver_fingerprint(&self) -> Option<&str> {
        self.receiver_fingerprint.as_deref()
    }

    /// Whether a pulled version updated at `incoming` brings nothing to store: it is older
    /// than the one held, or the same one and not decrypted into a receiver digest fahuo lacks
    /// (`fingerprint`: the digest when this pull decrypted the receiver). Most pulls are
    /// (each sync window's overlap, every push). Without an update time it is never sure.
    pub fn holds(&self, incoming: Option<DateTime<Utc>>, fingerprint: Option<&str>) -> bool {
        let (Some(incoming), Some(stored)) = (incoming.map(ms), self.updated_ms) else {
            return false;
        };
        incoming < stored
            || (incoming == stored
                && fingerprint.is_none_or(|f| self.receiver_fingerprint.as_deref() == Some(f)))
    }
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    #[sqlx(flatten)]
    summary: SummaryRow,
    tenant_id: i64,
    freight_fen: i64,
    buyer_note: Option<String>,
    seller_note: Option<String>,
    paid_at: Option<i64>,
    presale_ship_at: Option<i64>,
    platform_updated_at: Option<i64>,
    receiver_enc: Vec<u8>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    platform_line_id: Option<String>,
    platform_sku_id: Option<String>,
    sku_code: Option<String>,
    sku_id: Option<i64>,
    title: String,
    quantity: i64,
    unit_price_fen: i64,
    paid_fen: i64,
}

/// The snapshot of an order kept in audit entries: no clear PII.
fn audit_snapshot(o: &NewOrder) -> serde_json::Value {
    json!({
        "platform_order_id": o.platform_order_id.as_str(),
        "platform_status": o.platform_status,
        "paid_total_fen": o.paid_total.get(),
        "seller_note": o.seller_note,
        "receiver": o.receiver.masked(),
        "lines": o.lines.len(),
    })
}

impl Store {
    /// Takes in an order from sync, push, API or import. Idempotent: the same platform order
    /// again is `Unchanged`; a newer version (by the platform's update time) updates the stored
    /// one; an older one is ignored, so out-of-order deliveries are harmless.
    ///
    /// The order's [receiver fingerprint](NewOrder::receiver_fingerprint), if any, is stored
    /// with the version it came with: on a new or newer order, and on the same version again
    /// while the stored receiver is the one it carries (not on an older version, nor over a
    /// receiver a person corrected). Without one, the stored fingerprint stays.
    pub async fn upsert_order(
        &self,
        tenant: TenantId,
        order: &NewOrder,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Upsert> {
        // Two nodes may insert the same new order at once on PostgreSQL; the loser sees a
        // unique violation and retries as an update.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_upsert_order(tenant, order, actor, now).await {
                Err(StoreError::Conflict(_)) if attempt < 3 => continue,
                other => return other,
            }
        }
    }

    /// Fills `receiver_name_hash` on orders stored before it existed (migration 0011 could
    /// not compute it without the key), in batches; returns how many were filled. An order
    /// whose receiver no longer decrypts (a retired key) is skipped, not fatal: it stays
    /// unfindable by name, as before. Cheap once done (see migration 0015's index).
    pub(crate) async fn backfill_receiver_name_hashes(&self) -> Result<u64> {
        const BATCH: i64 = 500;
        let (mut after, mut filled) = (0i64, 0u64);
        loop {
            let rows: Vec<(i64, Vec<u8>)> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, receiver_enc FROM orders WHERE receiver_name_hash IS NULL AND id > $1 \
                 ORDER BY id LIMIT $2")
                .bind(after).bind(BATCH).fetch_all(pool).await?);
            let Some(&(last, _)) = rows.last() else {
                return Ok(filled);
            };
            after = last;
            let hashes: Vec<(i64, String)> = rows
                .iter()
                .filter_map(|(id, enc)| {
                    let receiver: Receiver = self.pii.decrypt_json(enc).ok()?;
                    let hash = self
                        .pii
                        .lookup_hash("receiver_name", &normalise_receiver_name(&receiver.name));
                    Some((*id, hash))
                })
                .collect();
            in_tx!(&self.db, tx => {
                for (id, hash) in &hashes {
                    sqlx::query("UPDATE orders SET receiver_name_hash = $1 WHERE id = $2")
                        .bind(hash).bind(id).execute(&mut *tx).await?;
                }
            });
            filled += hashes.len() as u64;
        }
    }

    /// The stored order when `order` is a version fahuo already holds ([`KnownOrder::holds`]):
    /// found with one read, where the transaction below takes SQLite's write lock. `None`
    /// sends the order through the transaction, which decides again under its lock.
    async fn unchanged_order(&self, tenant: TenantId, order: &NewOrder) -> Result<Option<OrderId>> {
        let known = self
            .known_order(tenant, order.shop_id, &order.platform_order_id)
            .await?;
        Ok(known
            .filter(|k| {
                k.holds(
                    order.platform_updated_at,
                    order.receiver_fingerprint.as_deref(),
                )
            })
            .map(|k| k.id))
    }

    async fn try_upsert_order(
        &self,
        tenant: TenantId,
        order: &NewOrder,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<Upsert> {
        if let Some(id) = self.unchanged_order(tenant, order).await? {
            return Ok(Upsert::Unchanged(id));
        }
        let r = &order.receiver;
        let receiver_enc = self.pii.encrypt_json(r);
        let name_masked = fahuo_domain::pii::mask_name(&r.name);
        let phone_masked = r.phone.masked();
        let tail_hash = self.pii.lookup_hash("phone_tail", r.phone.last_four());
        let name_hash = self
            .pii
            .lookup_hash("receiver_name", &normalise_receiver_name(&r.name));
        let snapshot = audit_snapshot(order);
        let outcome = in_tx!(&self.db, tx => {
            let platform: Option<String> = sqlx::query_scalar(
                "SELECT platform FROM shops WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(order.shop_id.get())
                .fetch_optional(&mut *tx).await?;
            let Some(platform) = platform else { return Err(StoreError::NotFound) };
            let existing: Option<(i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT id, state, platform_updated_at FROM orders \
                 WHERE tenant_id = $1 AND shop_id = $2 AND platform_order_id = $3")
                .bind(tenant.get()).bind(order.shop_id.get()).bind(order.platform_order_id.as_str())
                .fetch_optional(&mut *tx).await?;
            let incoming = order.platform_updated_at.map(ms);
            let fingerprint = order.receiver_fingerprint.as_deref();
            let (id, outcome, action) = match existing {
                Some((id, _, Some(stored))) if incoming.is_none_or(|t| t <= stored) => {
                    // The version stored again (not an older one): its receiver was decrypted
                    // from what the fingerprint digests only if it is still the one stored, as
                    // a person may have corrected it since.
                    if let Some(fingerprint) = fingerprint.filter(|_| incoming == Some(stored)) {
                        let (enc, known): (Vec<u8>, Option<String>) = sqlx::query_as(
                            "SELECT receiver_enc, receiver_fingerprint FROM orders WHERE tenant_id = $1 AND id = $2")
                            .bind(tenant.get()).bind(id).fetch_one(&mut *tx).await?;
                        if known.as_deref() != Some(fingerprint)
                            && self.pii.decrypt_json::<Receiver>(&enc)? == *r
                        {
                            sqlx::query("UPDATE orders SET receiver_fingerprint = $1 WHERE tenant_id = $2 AND id = $3")
                                .bind(fingerprint).bind(tenant.get()).bind(id).execute(&mut *tx).await?;
                        }
                    }
                    (id, Upsert::Unchanged(OrderId(id)), None)
                }
                Some((id, state, _)) => {
                    sqlx::query(
                        "UPDATE orders SET platform_status = $1, paid_total_fen = $2, freight_fen = $3, \
                         buyer_note = $4, seller_note = $5, paid_at = $6, ship_by = $7, presale_ship_at = $8, \
                         platform_updated_at = $9, receiver_enc = $10, receiver_name_masked = $11, \
                         receiver_phone_masked = $12, receiver_phone_tail_hash = $13, receiver_province = $14, \
                         receiver_city = $15, receiver_county = $16, version = version + 1, updated_at = $17, \
                         receiver_name_hash = $19, receiver_fingerprint = COALESCE($20, receiver_fingerprint) \
                         WHERE id = $18")
                        .bind(&order.platform_status).bind(order.paid_total.get()).bind(order.freight.get())
                        .bind(order.buyer_note.as_deref()).bind(order.seller_note.as_deref())
                        .bind(order.paid_at.map(ms)).bind(order.ship_by.map(ms))
                        .bind(order.presale_ship_at.map(ms)).bind(incoming)
                        .bind(&receiver_enc).bind(&name_masked).bind(&phone_masked).bind(&tail_hash)
                        .bind(&r.province).bind(&r.city).bind(&r.county).bind(ms(now)).bind(id)
                        .bind(&name_hash).bind(fingerprint)
                        .execute(&mut *tx).await?;
                    // Lines follow the platform only while nothing has been reserved for them.
                    if matches!(OrderState::parse(&state)?, OrderState::New | OrderState::OnHold) {
                        sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
                            .bind(id).execute(&mut *tx).await?;
                        insert_lines!(&mut *tx, tenant, id, order);
                    }
                    (id, Upsert::Updated(OrderId(id)), Some("order.updated"))
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO orders (tenant_id, shop_id, platform, platform_order_id, state, \
                         platform_status, paid_total_fen, freight_fen, buyer_note, seller_note, paid_at, \
                         ship_by, presale_ship_at, platform_updated_at, receiver_enc, receiver_name_masked, \
                         receiver_phone_masked, receiver_phone_tail_hash, receiver_province, receiver_city, \
                         receiver_county, version, created_at, updated_at, receiver_name_hash, \
                         receiver_fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                         $14, $15, $16, $17, $18, $19, $20, $21, 1, $22, $22, $23, $24) RETURNING id")
                        .bind(tenant.get()).bind(order.shop_id.get()).bind(&platform)
                        .bind(order.platform_order_id.as_str()).bind(OrderState::New.as_str())
                        .bind(&order.platform_status).bind(order.paid_total.get()).bind(order.freight.get())
                        .bind(order.buyer_note.as_deref()).bind(order.seller_note.as_deref())
                        .bind(order.paid_at.map(ms)).bind(order.ship_by.map(ms))
                        .bind(order.presale_ship_at.map(ms)).bind(incoming)
                        .bind(&receiver_enc).bind(&name_masked).bind(&phone_masked).bind(&tail_hash)
                        .bind(&r.province).bind(&r.city).bind(&r.county).bind(ms(now))
                        .bind(&name_hash).bind(fingerprint)
                        .fetch_one(&mut *tx).await?;
                    insert_lines!(&mut *tx, tenant, id, order);
                    (id, Upsert::Created(OrderId(id)), Some("order.created"))
                }
            };
            if let Some(action) = action {
                let entry = AuditEntry {
                    tenant_id: tenant,
                    actor: actor.clone(),
                    action: action.into(),
                    entity_type: "order".into(),
                    entity_id: Some(id),
                    before: None,
                    after: Some(snapshot.clone()),
                    at: now,
                };
                insert_audit!(&mut *tx, &entry);
            }
            outcome
        });
        Ok(outcome)
    }

    /// The fahuo id of a shop's platform order, if fahuo has it.
    pub async fn order_id_by_platform_id(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_id: &PlatformOrderId,
    ) -> Result<Option<OrderId>> {
        let id: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT id FROM orders WHERE tenant_id = $1 AND shop_id = $2 AND platform_order_id = $3")
            .bind(tenant.get()).bind(shop.get()).bind(platform_order_id.as_str())
            .fetch_optional(pool).await?);
        Ok(id.map(OrderId))
    }

    /// What intake needs of an order fahuo may already hold: its id, the buyer's platform id
    /// for notices (so that an unchanged one is not written again on every pull), its state,
    /// and whether a pulled version is one it holds ([`KnownOrder::holds`]).
    pub async fn known_order(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_id: &PlatformOrderId,
    ) -> Result<Option<KnownOrder>> {
        Ok(self
            .known_orders(tenant, shop, std::slice::from_ref(platform_order_id))
            .await?
            .remove(platform_order_id))
    }

    /// [`Store::known_order`] of every order of the shop among `platform_order_ids` that fahuo
    /// holds, in one statement per batch: a sync window reads the same orders again and again
    /// (each window's overlap, every push), and most of them are held unchanged.
    pub async fn known_orders(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_ids: &[PlatformOrderId],
    ) -> Result<HashMap<PlatformOrderId, KnownOrder>> {
        let ids: Vec<&str> = platform_order_ids.iter().map(|i| i.as_str()).collect();
        self.known_order_rows(tenant, shop, &ids)
            .await?
            .into_iter()
            .map(
                |(number, id, buyer_openid, state, updated_ms, receiver_fingerprint)| {
                    let known = KnownOrder {
                        id: OrderId(id),
                        buyer_openid,
                        state: OrderState::parse(&state)?,
                        updated_ms,
                        receiver_fingerprint,
                    };
                    Ok((PlatformOrderId::parse(&number)?, known))
                },
            )
            .collect()
    }

    /// The rows of [`Store::known_orders`], by platform order number as stored.
    async fn known_order_rows(
        &self,
        tenant: TenantId,
        shop: ShopId,
        ids: &[&str],
    ) -> Result<Vec<KnownOrderRow>> {
        let mut found = Vec::with_capacity(ids.len());
        for list in crate::InList::chunks(ids) {
            let sql = format!(
                "SELECT platform_order_id, id, buyer_openid, state, platform_updated_at, \
                 receiver_fingerprint FROM orders WHERE tenant_id = $1 AND shop_id = $2 \
                 AND platform_order_id IN ({})",
                list.placeholders(3)
            );
            let rows: Vec<KnownOrderRow> = on_db!(&self.db, pool => {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.get())
                    .bind(shop.get());
                for id in list.values() {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    /// The order's receiver, decrypted (one row, without the lines [`Store::order`] reads).
    pub async fn order_receiver(&self, tenant: TenantId, id: OrderId) -> Result<Receiver> {
        let enc: Vec<u8> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT receiver_enc FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        self.pii.decrypt_json(&enc)
    }

    /// The order's state alone (nothing decrypted).
    pub async fn order_state(&self, tenant: TenantId, id: OrderId) -> Result<OrderState> {
        let state: String = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        Ok(OrderState::parse(&state)?)
    }

    /// The whole order with its receiver decrypted. Callers show it masked unless the user
    /// asked to reveal it (an audited action of the application layer).
    pub async fn order(&self, tenant: TenantId, id: OrderId) -> Result<Order> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, tenant_id, freight_fen, buyer_note, seller_note, paid_at, \
             presale_ship_at, platform_updated_at, receiver_enc, version FROM orders \
             WHERE tenant_id = $1 AND id = $2"
        );
        let (row, lines): (OrderRow, Vec<LineRow>) = on_db!(&self.db, pool => {
            let row: OrderRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?;
            let lines: Vec<LineRow> = sqlx::query_as(
                "SELECT id, platform_line_id, platform_sku_id, sku_code, sku_id, title, quantity, \
                 unit_price_fen, paid_fen FROM order_lines WHERE tenant_id = $1 AND order_id = $2 \
                 ORDER BY line_no")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            (row, lines)
        });
        let receiver: Receiver = self.pii.decrypt_json(&row.receiver_enc)?;
        let s = OrderSummary::try_from(row.summary)?;
        Ok(Order {
            id: s.id,
            tenant_id: TenantId(row.tenant_id),
            shop_id: s.shop_id,
            platform: s.platform,
            platform_order_id: PlatformOrderId::parse(&s.platform_order_id)?,
            state: s.state,
            platform_status: s.platform_status,
            paid_total: s.paid_total,
            freight: Fen(row.freight_fen),
            buyer_note: row.buyer_note,
            seller_note: row.seller_note,
            paid_at: opt_from_ms(row.paid_at),
            ship_by: s.ship_by,
            presale_ship_at: opt_from_ms(row.presale_ship_at),
            platform_updated_at: opt_from_ms(row.platform_updated_at),
            receiver,
            lines: lines
                .into_iter()
                .map(|l| {
                    Ok(OrderLine {
                        id: OrderLineId(l.id),
                        platform_line_id: l.platform_line_id,
                        platform_sku_id: l.platform_sku_id,
                        sku_code: l.sku_code.as_deref().map(SkuCode::parse).transpose()?,
                        sku_id: l.sku_id.map(SkuId),
                        title: l.title,
                        quantity: l.quantity,
                        unit_price: Fen(l.unit_price_fen),
                        paid: Fen(l.paid_fen),
                    })
                })
                .collect::<Result<_>>()?,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version: row.version,
        })
    }

    /// Which of these platform order numbers the shop already has (an import's duplicates).
    /// Asks in batches, so any number of order numbers is fine.
    pub async fn existing_platform_order_ids(
        &self,
        tenant: TenantId,
        shop: ShopId,
        platform_order_ids: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let ids: Vec<&str> = platform_order_ids.iter().map(String::as_str).collect();
        Ok(self
            .known_order_rows(tenant, shop, &ids)
            .await?
            .into_iter()
            .map(|row| row.0)
            .collect())
    }

    /// The conditions of `f` (all but paging). `for_count` writes the platform as a set of
    /// shops, which the shop index answers, instead of a condition checked row by row.
    /// `sort` is the list's order, `None` for a count.
    fn list_where(&self, tenant: TenantId, f: &OrderFilter, sort: Option<ListSort>) -> Where {
        let mut w = Where {
            terms: Vec::new(),
            args: Vec::new(),
            drivers: Vec::new(),
            residual: Vec::new(),
            pending: Vec::new(),
        };
        // In sort order, a range on the sort key is read from the index; one on the other
        // key is checked row by row. A count has no order: both are index ranges.
        let (deadline_indexed, created_indexed) = match sort {
            None => (true, true),
            Some(ListSort::Deadline) => (true, false),
            Some(ListSort::Created) => (false, true),
            Some(ListSort::Newest) => (false, false),
        };
        let for_count = sort.is_none();
        // The shop indexes lead with (tenant, shop, tab), or (tenant, shop) for the 售后 tab's
        // partial ones: a shop is read in sort order only within a tab; under 全部 it is
        // checked row by row.
        let shop_indexed = for_count || !matches!(f.tab, None | Some(ListTab::All));
        let t = w.int(tenant.get());
        w.terms.push(format!("tenant_id = {t}"));
        if let Some(state) = f.state {
            let p = w.text(state.as_str());
            w.terms.push(format!("state = {p}"));
        }
        match f.tab {
            None | Some(ListTab::All) => {}
            // The partial indexes of migration 0013 hold exactly these orders.
            Some(ListTab::AfterSale) => w.terms.push("list_after_sale = 1".into()),
            Some(tab) => {
                let p = w.text(tab.as_str());
                w.terms.push(format!("list_tab = {p}"));
            }
        }
        if let Some(shops) = &f.shops {
            if shops.is_empty() {
                w.terms.push("1 = 0".into());
            } else {
                // Padded like every list of values (see `InList`): a user's shops, or those
                // picked in the list's filter, are a set of any size.
                let list = crate::InList::new(shops);
                let marks = vec!["{}"; list.len()].join(", ");
                let args = list.values().map(|s| Arg::I(s.get())).collect();
                w.cond(
                    (shops.len() == 1 && shop_indexed) || for_count,
                    &format!("shop_id IN ({marks})"),
                    args,
                );
            }
        }
        if let Some(shop) = f.shop_id {
            w.cond(shop_indexed, "shop_id = {}", vec![Arg::I(shop.get())]);
        }
        if let Some(platform) = f.platform {
            if for_count {
                let p = w.text(platform.as_str());
                w.terms.push(format!(
                    "shop_id IN (SELECT id FROM shops WHERE tenant_id = $1 AND platform = {p})"
                ));
            } else {
                w.cond(
                    false,
                    "platform = {}",
                    vec![Arg::S(platform.as_str().into())],
                );
            }
        }
        if let Some(carrier) = &f.carrier {
            w.cond(false, "list_carrier = {}", vec![Arg::S(carrier.clone())]);
        }
        if let Some(warehouse) = f.warehouse_id {
            w.cond(
                false,
                "list_warehouse_id = {}",
                vec![Arg::I(warehouse.get())],
            );
        }
        if let Some(tag) = &f.tag {
            w.cond(
                false,
                "list_tags LIKE {}",
                vec![Arg::S(format!("%,{tag},%"))],
            );
        }
        if let Some(number) = &f.platform_order_id {
            let p = w.text(number);
            w.drivers.push(format!(
                "SELECT id AS oid FROM orders WHERE tenant_id = $1 AND platform_order_id = {p}"
            ));
        }
        if let Some(tail) = &f.phone_last_four {
            let p = w.text(&self.pii.lookup_hash("phone_tail", tail));
            w.drivers.push(format!(
                "SELECT id AS oid FROM orders WHERE tenant_id = $1 AND receiver_phone_tail_hash = {p}"
            ));
        }
        if let Some(name) = &f.receiver_name {
            let hash = self
                .pii
                .lookup_hash("receiver_name", &normalise_receiver_name(name));
            let p = w.text(&hash);
            w.drivers.push(format!(
                "SELECT id AS oid FROM orders WHERE tenant_id = $1 AND receiver_name_hash = {p}"
            ));
        }
        // Waybill numbers live on waybills (through the package's lines) and on shipments
        // (numbers typed, imported or a supplier's); both are indexed by (tenant, number).
        let waybill_ids = |p: &str| {
            format!(
                "SELECT pl.order_id AS oid FROM waybills wb JOIN package_lines pl ON pl.package_id = wb.package_id \
                 WHERE wb.tenant_id = $1 AND wb.tracking_no = {p} \
                 UNION SELECT order_id FROM shipments WHERE tenant_id = $1 AND tracking_no = {p}"
            )
        };
        if let Some(waybill) = &f.waybill {
            let p = w.text(waybill);
            w.drivers.push(waybill_ids(&p));
        }
        if let Some(number) = &f.number {
            let p = w.text(number);
            w.drivers.push(format!(
                "SELECT id AS oid FROM orders WHERE tenant_id = $1 AND platform_order_id = {p} UNION {}",
                waybill_ids(&p)
            ));
        }
        if let Some(t) = f.ship_by_before {
            w.cond(false, "ship_by < {}", vec![Arg::I(ms(t))]);
        }
        if let Some(t) = f.deadline_from {
            w.cond(deadline_indexed, "list_deadline >= {}", vec![Arg::I(ms(t))]);
        }
        if let Some(t) = f.deadline_before {
            let before = ms(t).min(NO_DEADLINE);
            w.cond(deadline_indexed, "list_deadline < {}", vec![Arg::I(before)]);
        }
        if let Some(t) = f.created_from {
            w.cond(created_indexed, "created_at >= {}", vec![Arg::I(ms(t))]);
        }
        if let Some(t) = f.created_to {
            w.cond(created_indexed, "created_at < {}", vec![Arg::I(ms(t))]);
        }
        w
    }

    /// The order list with masked receivers, in the filter's sort, one keyset page at a time
    /// (no OFFSET: a page costs the same however deep it is).
    ///
    /// Plans (migration 0011): the tab (or none, for 全部), the sort key and the id are one
    /// index — `(tenant_id, list_tab, list_deadline|created_at, id)`, or with `shop_id` after
    /// the tenant when a shop is chosen — so the page is the next `limit` entries of one index
    /// range, read in order; deadline-risk and created-date filters narrow that same range.
    /// Searches (order number, waybill, phone tail, name) go through their own indexes and
    /// find a handful of rows that are then sorted. The remaining filters (platform, carrier,
    /// warehouse, tag, several scoped shops) are checked on the rows of the range as it is
    /// read: they are of low cardinality, so the rows a page needs come soon.
    pub async fn order_list(&self, tenant: TenantId, f: &OrderFilter) -> Result<OrderListPage> {
        let limit = f.limit.clamp(1, 500);
        let mut w = self.list_where(tenant, f, Some(f.sort));
        let (key, order) = match f.sort {
            ListSort::Deadline => ("list_deadline", "list_deadline, id"),
            ListSort::Created => ("created_at", "created_at DESC, id DESC"),
            ListSort::Newest => ("id", "id DESC"),
        };
        match (f.sort, f.cursor, f.after) {
            (ListSort::Newest, _, Some(id))
            | (ListSort::Newest, Some(ListCursor { id, .. }), None) => {
                let p = w.int(id);
                w.terms.push(format!("id < {p}"));
            }
            (ListSort::Deadline, Some(c), _) => {
                let (k, i) = (w.int(c.key), w.int(c.id));
                w.terms.push(format!("(list_deadline, id) > ({k}, {i})"));
            }
            (ListSort::Created, Some(c), _) => {
                let (k, i) = (w.int(c.key), w.int(c.id));
                w.terms.push(format!("(created_at, id) < ({k}, {i})"));
            }
            _ => {}
        }
        let index_args = w.seal();
        // Residual conditions without a search to drive: the page is looked for among the
        // next `window` entries of the sort index only. Where that window ends is read first,
        // from the index alone; the rows are then read in sort order up to that edge and
        // checked as they come, so a page of common matches stops after a few dozen rows
        // instead of reading (and sorting) the whole window.
        let windowed = w.drivers.is_empty() && !w.residual.is_empty();
        let window = f.window.unwrap_or(LIST_WINDOW).max(1);
        let edge = if windowed {
            let boundary = format!(
                "SELECT {key}, id FROM orders WHERE {} ORDER BY {order} LIMIT 1 OFFSET {}",
                w.terms.join(" AND "),
                window - 1
            );
            let args = &w.args[..index_args];
            let edge: Option<(i64, i64)> = on_db!(&self.lists, pool => {
                bind_args(sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(boundary)), args)
                    .fetch_optional(pool).await?
            });
            edge.map(|(key, id)| ListCursor { key, id })
        } else {
            None
        };
        if let Some(edge) = edge {
            let bound = match f.sort {
                ListSort::Deadline => {
                    let (k, i) = (w.int(edge.key), w.int(edge.id));
                    format!("(list_deadline, id) <= ({k}, {i})")
                }
                ListSort::Created => {
                    let (k, i) = (w.int(edge.key), w.int(edge.id));
                    format!("(created_at, id) >= ({k}, {i})")
                }
                ListSort::Newest => format!("id >= {}", w.int(edge.id)),
            };
            w.terms.push(bound);
        }
        let lim = w.int(limit + 1);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, {key} AS list_key {} ORDER BY {order} LIMIT {lim}",
            w.sql_from_where()
        );
        let rows: Vec<(SummaryRow, i64)> = on_db!(&self.lists, pool => {
            bind_args(sqlx::query_as::<_, KeyedRow>(sqlx::AssertSqlSafe(sql)), &w.args)
                .fetch_all(pool).await?.into_iter().map(|r| (r.summary, r.list_key)).collect()
        });
        let more = rows.len() as i64 > limit;
        let mut items = Vec::with_capacity(rows.len());
        let mut last = None;
        for (row, key) in rows.into_iter().take(limit as usize) {
            last = Some(ListCursor { key, id: row.id });
            items.push(OrderSummary::try_from(row)?);
        }
        // A short page whose window ended before the index did: the search goes on after
        // the window's last entry.
        let partial = !more && edge.is_some();
        let next = if more { last } else { edge };
        let next_cursor = next.map(|c| {
            if f.sort == ListSort::Newest {
                c.id.to_string()
            } else {
                c.encode()
            }
        });
        Ok(OrderListPage {
            items,
            next_cursor,
            partial,
        })
    }

    /// The order list, newest first, with masked receivers ([`Store::order_list`] with the
    /// id as cursor).
    pub async fn orders(&self, tenant: TenantId, f: &OrderFilter) -> Result<Page<OrderSummary>> {
        let mut f = f.clone();
        f.sort = ListSort::Newest;
        let page = self.order_list(tenant, &f).await?;
        Ok(Page {
            next_cursor: page.next_cursor.and_then(|c| c.parse().ok()),
            items: page.items,
        })
    }

    /// How many orders match `f`, counting at most `cap` (then `(cap, true)`). Paging fields
    /// are ignored. The tab counts' conditions (tab, shops, platform) are index ranges read up
    /// to `cap` entries; with residual conditions (carrier, warehouse, tag, …) at most
    /// [`COUNT_WINDOW`] orders are looked at and past that the count is a lower bound.
    pub async fn count_orders(
        &self,
        tenant: TenantId,
        f: &OrderFilter,
        cap: i64,
    ) -> Result<(i64, bool)> {
        let mut w = self.list_where(tenant, f, None);
        w.seal();
        let windowed = w.drivers.is_empty() && !w.residual.is_empty();
        let sql = if windowed {
            let win = w.int(COUNT_WINDOW);
            let lim = w.int(cap + 1);
            format!(
                "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE {terms} LIMIT {win}) s) \
                 FROM (SELECT 1 FROM (SELECT shop_id, platform, list_carrier, list_warehouse_id, list_tags, \
                 ship_by, created_at, list_deadline FROM orders WHERE {terms} LIMIT {win}) w WHERE {} LIMIT {lim}) t",
                w.residual.join(" AND "),
                terms = w.terms.join(" AND "),
            )
        } else {
            let lim = w.int(cap + 1);
            format!(
                "SELECT COUNT(*), CAST(0 AS BIGINT) FROM (SELECT 1 {} LIMIT {lim}) t",
                w.sql_from_where()
            )
        };
        let (n, scanned): (i64, i64) = on_db!(&self.lists, pool => {
            bind_args(sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)), &w.args)
                .fetch_one(pool).await?
        });
        Ok((n.min(cap), n > cap || (windowed && scanned >= COUNT_WINDOW)))
    }

    /// The count of each tab, within the shops of `base` (scope, shop, platform; its other
    /// fields are ignored). Each count reads at most `cap` + 1 entries of the tab's index
    /// range, so the tabs cost the same for a shop of a hundred orders and one of a million;
    /// past `cap` a tab says "more than cap" (e.g. 9999+). 全部 is the sum of the state tabs.
    pub async fn order_tab_counts(
        &self,
        tenant: TenantId,
        base: &OrderFilter,
        cap: i64,
    ) -> Result<Vec<TabCount>> {
        let scope = OrderFilter {
            shops: base.shops.clone(),
            shop_id: base.shop_id,
            platform: base.platform,
            ..Default::default()
        };
        let mut out = Vec::new();
        let (mut all, mut all_more) = (0, false);
        for tab in ListTab::ALL {
            if tab == ListTab::All {
                continue;
            }
            let f = OrderFilter {
                tab: Some(tab),
                ..scope.clone()
            };
            let (count, more) = self.count_orders(tenant, &f, cap).await?;
            if tab != ListTab::AfterSale {
                all += count;
                all_more |= more;
            }
            out.push(TabCount { tab, count, more });
        }
        out.insert(
            0,
            TabCount {
                tab: ListTab::All,
                count: all,
                more: all_more,
            },
        );
        Ok(out)
    }

    /// The shop of an order of the tenant (`NotFound` for another tenant's or a missing one).
    pub async fn order_shop(&self, tenant: TenantId, id: OrderId) -> Result<ShopId> {
        let shop: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT shop_id FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?);
        shop.map(ShopId).ok_or(StoreError::NotFound)
    }

    /// The carriers and tags that orders of the tenant carry, for the list's filter choices.
    pub async fn order_list_choices(&self, tenant: TenantId) -> Result<(Vec<String>, Vec<String>)> {
        let (carriers, tags): (Vec<String>, Vec<String>) = on_db!(&self.db, pool => {
            let carriers = sqlx::query_scalar(
                "SELECT DISTINCT carrier_code FROM carrier_accounts WHERE tenant_id = $1 ORDER BY 1")
                .bind(tenant.get()).fetch_all(pool).await?;
            let tags = sqlx::query_scalar("SELECT DISTINCT tags FROM skus WHERE tenant_id = $1 AND tags <> ''")
                .bind(tenant.get()).fetch_all(pool).await?;
            (carriers, tags)
        });
        let mut tags: Vec<String> = tags
            .iter()
            .flat_map(|t: &String| t.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        Ok((carriers, tags))
    }

    /// Counts of the tenant's orders per state, within `shops` (a sub-account's scope; `None`
    /// = every shop).
    pub async fn order_counts(
        &self,
        tenant: TenantId,
        shops: Option<&[ShopId]>,
    ) -> Result<Vec<(OrderState, i64)>> {
        let sql = format!(
            "SELECT state, COUNT(*) FROM orders WHERE tenant_id = $1 \
             AND ($2 IS NULL OR shop_id IN ({})) GROUP BY state ORDER BY state",
            crate::ids_in(&self.db, 2)
        );
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(crate::scope_ids(shops, ShopId::get))
            .fetch_all(pool).await?);
        rows.into_iter()
            .map(|(s, n)| Ok((OrderState::parse(&s)?, n)))
            .collect()
    }

    /// Moves an order by `event` along the domain's transition table, atomically with its
    /// audit entry. A concurrent change makes it `Stale`; an event the table refuses is
    /// `Illegal` and changes nothing.
    pub async fn transition_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        event: OrderEvent,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let lock = self.row_lock();
        let next = in_tx!(&self.db, tx => {
            let (from, to) = apply_order_event!(tx, tenant, id, event, now);
            stock_follows_order!(tx, lock, tenant, id, from, to, actor.name(), now);
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: format!("order.{}", serde_json::to_value(event).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": to })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            to
        });
        Ok(next)
    }

    /// Puts a hold on an order (and the order on hold, if it is not already).
    pub async fn hold_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        reason_code: &str,
        message: &str,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<HoldId> {
        let lock = self.row_lock();
        let hold_id = in_tx!(&self.db, tx => {
            // Holding a held order keeps it on hold (the table allows it) and adds a reason.
            let (from, to) = apply_order_event!(tx, tenant, id, OrderEvent::Hold, now);
            stock_follows_order!(tx, lock, tenant, id, from, to, actor.name(), now);
            let hold_id: i64 = sqlx::query_scalar(
                "INSERT INTO holds (tenant_id, order_id, reason_code, message, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(tenant.get()).bind(id.get()).bind(reason_code).bind(message).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: "order.hold".into(),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": OrderState::OnHold, "reason_code": reason_code })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            hold_id
        });
        Ok(HoldId(hold_id))
    }

    /// Releases every open hold of an order and approves it.
    pub async fn release_order(
        &self,
        tenant: TenantId,
        id: OrderId,
        actor: &ActorRef,
        now: DateTime<Utc>,
    ) -> Result<OrderState> {
        let next = in_tx!(&self.db, tx => {
            let (from, to) = apply_order_event!(tx, tenant, id, OrderEvent::Approve, now);
            // A person's release silences these reasons for the order (review does not raise
            // them again); fahuo's own (e.g. shipped elsewhere) does not.
            sqlx::query("UPDATE holds SET released_at = $1, released_by = $2, released_by_person = $5 \
                 WHERE tenant_id = $3 AND order_id = $4 AND released_at IS NULL")
                .bind(ms(now)).bind(actor.name()).bind(tenant.get()).bind(id.get())
                .bind(actor.kind() != "system")
                .execute(&mut *tx).await?;
            let entry = AuditEntry {
                tenant_id: tenant,
                actor: actor.clone(),
                action: "order.release".into(),
                entity_type: "order".into(),
                entity_id: Some(id.get()),
                before: Some(json!({ "state": from })),
                after: Some(json!({ "state": to })),
                at: now,
            };
            insert_audit!(&mut *tx, &entry);
            to
        });
        Ok(next)
    }

    /// Replaces an order's receiver (a person's edit before printing). Audited with the masked
    /// receivers before and after.
    pub async fn edit_receiver(
        &self,
        tenant: TenantId,
        id: OrderId,
        receiver: &Receiver,
        audit: &AuditEntry,
    ) -> Result<()> {
        let enc = self.pii.encrypt_json(receiver);
        let tail_hash = self
            .pii
            .lookup_hash("phone_tail", receiver.phone.last_four());
        let name_hash = self
            .pii
            .lookup_hash("receiver_name", &normalise_receiver_name(&receiver.name));
        let before = self.order(tenant, id).await?.receiver.masked();
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                "UPDATE orders SET receiver_enc = $1, receiver_name_masked = $2, receiver_phone_masked = $3, \
                 receiver_phone_tail_hash = $4, receiver_province = $5, receiver_city = $6, receiver_county = $7, \
                 version = version + 1, updated_at = $8, receiver_name_hash = $11 \
                 WHERE tenant_id = $9 AND id = $10 AND state IN ('new', 'on_hold', 'approved')")
                .bind(&enc).bind(fahuo_domain::pii::mask_name(&receiver.name)).bind(receiver.phone.masked())
                .bind(&tail_hash).bind(&receiver.province).bind(&receiver.city).bind(&receiver.county)
                .bind(ms(audit.at)).bind(tenant.get()).bind(id.get()).bind(&name_hash)
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("only an order not yet allocated can change its receiver".into()));
            }
            let mut entry = audit.clone();
            entry.before = Some(json!({ "receiver": before }));
            entry.after = Some(json!({ "receiver": receiver.masked() }));
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Changes what one line ships as (SKU and units per item) and/or its quantity, before
    /// allocation. Audited.
    pub async fn edit_line(
        &self,
        tenant: TenantId,
        id: OrderId,
        line: OrderLineId,
        sku: Option<(SkuId, i64)>,
        quantity: Option<i64>,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(&mut *tx).await?;
            if !matches!(OrderState::parse(&state)?, OrderState::New | OrderState::OnHold | OrderState::Approved) {
                return Err(StoreError::Conflict("only an order not yet allocated can change its lines".into()));
            }
            if let Some((sku, _)) = sku {
                let _: i64 = sqlx::query_scalar("SELECT id FROM skus WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.get()).bind(sku.get()).fetch_one(&mut *tx).await?;
            }
            let done = sqlx::query(
                "UPDATE order_lines SET sku_id = COALESCE($1, sku_id), units_per_item = COALESCE($2, units_per_item), \
                 quantity = COALESCE($3, quantity) WHERE tenant_id = $4 AND order_id = $5 AND id = $6")
                .bind(sku.map(|(s, _)| s.get())).bind(sku.map(|(_, u)| u)).bind(quantity)
                .bind(tenant.get()).bind(id.get()).bind(line.get())
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query("UPDATE orders SET version = version + 1, updated_at = $1 WHERE id = $2")
                .bind(ms(audit.at)).bind(id.get()).execute(&mut *tx).await?;
            insert_audit!(&mut *tx, audit);
        });
        Ok(())
    }

    /// Holds of an order, open ones first.
    pub async fn holds(&self, tenant: TenantId, order: OrderId) -> Result<Vec<Hold>> {
        type Row = (i64, i64, String, String, String, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, order_id, reason_code, message, message_en, created_at, released_at FROM holds \
                 WHERE tenant_id = $1 AND order_id = $2 ORDER BY released_at IS NOT NULL, id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(id, order_id, reason_code, message, message_en, created_at, released_at)| Hold {
                    id: HoldId(id),
                    order_id: OrderId(order_id),
                    reason_code,
                    message,
                    message_en,
                    created_at: from_ms(created_at),
                    released_at: opt_from_ms(released_at),
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod list_tests {
    use super::*;

    #[test]
    fn every_state_has_one_state_tab_and_the_sql_agrees() {
        let sql = include_str!("../migrations/sqlite/0011_order_list.sql");
        for state in OrderState::ALL {
            let tab = ListTab::of(state);
            assert!(!matches!(tab, ListTab::All | ListTab::AfterSale));
            let open = state.is_before_shipping() && state != OrderState::Cancelled;
            assert_eq!(tab.is_work(), open, "{state}");
            if tab != ListTab::Shipped {
                // `shipped` is the CASE's ELSE; every other tab names its states.
                let arm = format!("WHEN '{}' THEN '{}'", state.as_str(), tab.as_str());
                assert!(sql.contains(&arm), "migration 0011 lacks {arm}");
            }
        }
    }

    #[test]
    fn the_open_after_sale_statuses_are_the_domains() {
        use fahuo_domain::aftersale::AfterSaleStatus;
        let open: Vec<String> = AfterSaleStatus::ALL
            .into_iter()
            .filter(|s| !s.is_final())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(open.join(", "), OPEN_AFTER_SALE);
        let listed = format!("({OPEN_AFTER_SALE})");
        let pg = include_str!("../migrations/postgres/0013_after_sale_list.sql");
        let lite = include_str!("../migrations/sqlite/0013_after_sale_list.sql");
        // Postgres: the trigger's two branches and the backfill; SQLite: three triggers and
        // the backfill.
        assert_eq!(pg.matches(&listed).count(), 3);
        assert_eq!(lite.matches(&listed).count(), 4);
    }

    #[test]
    fn cursors_round_trip_and_names_normalise() {
        let c = ListCursor {
            key: NO_DEADLINE,
            id: 42,
        };
        assert_eq!(ListCursor::decode(&c.encode()), Some(c));
        assert_eq!(ListCursor::decode("x.1"), None);
        assert_eq!(normalise_receiver_name(" 张 三 "), "张三");
        assert_eq!(normalise_receiver_name("Li Lei"), "lilei");
    }
}
