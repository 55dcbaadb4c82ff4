//! Shared emulator state: the sim clock, the orders, scheduled events, tokens and the ledger.

use crate::SimConfig;
use crate::faults::RateLimiter;
use crate::r#gen::{self, EventKind, GenParams};
use crate::ledger::{Ledger, LedgerOrder, LedgerSnapshot};
use crate::model::{Order, Platform, Refund, Shipment, Status};
use crate::push::PushMsg;
use crate::util::{PiiCipher, Rng, real_now_ms};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// A neutral description of what just happened to an order; each platform turns it into its
/// own push message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Created,
    Paid,
    Cancelled,
    AddressChanged,
    SellerNoteChanged,
    RefundRequested,
    Refunded,
    /// A refund request ended without a refund (the order had shipped).
    RefundClosed,
    Shipped {
        all: bool,
    },
    Completed,
    /// Risk review after payment finished; the order now waits to ship.
    ReviewCleared,
    /// One line was refunded; the order still waits to ship the others.
    LineRefunded,
    /// An after-sale (售后) changed; pushed in the platform's after-sale shape.
    AfterSale(Box<crate::aftersale::AfterSale>, crate::aftersale::AsEvent),
}

#[derive(Clone, Debug)]
pub struct Token {
    pub platform: Platform,
    /// The shop this token was issued for; requests with it see only that shop's orders.
    pub shop: u32,
    pub expires_ms: i64,
    pub refresh_token: String,
    pub refresh_expires_ms: i64,
    /// WeChat `stable_token` tokens live apart from `/cgi-bin/token` ones.
    pub stable: bool,
}

pub struct State {
    /// Sim clock = real clock + offset; `POST /_sim/clock` moves the offset.
    pub offset_ms: i64,
    pub orders: Vec<Order>,
    pub index: HashMap<String, usize>,
    pub pending: BTreeMap<(i64, u64), (usize, EventKind)>,
    pub seq: u64,
    pub ledger: Ledger,
    pub fault_rate: f64,
    pub fault_rng: Rng,
    pub misc_rng: Rng,
    /// access token -> its facts, all platforms.
    pub tokens: HashMap<String, Token>,
    /// refresh token -> access token it belongs to.
    pub refresh: HashMap<String, String>,
    pub limiter: RateLimiter,
    /// PII decryptions per platform: (Beijing day number, count that day).
    pub decrypt_used: HashMap<Platform, (i64, u32)>,
    pub callbacks: HashMap<Platform, String>,
    pub generated_batches: u64,
    pub ship_within_ms: i64,
    /// The shop of the request being served, set from its token under the same lock.
    pub scope_shop: u32,
    /// E-waybill accounts, issued numbers and keys (kuaidi100, kdniao, WeChat).
    pub waybills: crate::waybill::Book,
    /// Faults queued for the next call of one API, before the random ones.
    pub forced_faults: Vec<crate::faults::ForcedFault>,
    /// Douyin `logisticsAddSinglePack` `request_id`s that succeeded, per shop, and their pack id.
    pub douyin_pack_requests: HashMap<(u32, String), String>,
    /// After-sales of all platforms, in creation order, and their id index.
    pub aftersales: Vec<crate::aftersale::AfterSale>,
    pub aftersale_index: HashMap<String, usize>,
    /// Every decision on an after-sale (merchant calls and platform timeouts).
    pub aftersale_decisions: Vec<crate::aftersale::Decision>,
    /// Tracked parcels, subscriptions, tracking pushes and pickups (kuaidi100, kdniao).
    pub tracking: crate::tracking::Book,
    /// SMS gateway: messages sent and refused, nonces, flow control.
    pub sms: crate::sms::Book,
    /// WeChat customer-service messages to buyers.
    pub messages: crate::wxmsg::Book,
}

impl State {
    /// Records a ship or modify-express request in the ledger, whatever its outcome.
    #[allow(clippy::too_many_arguments)]
    pub fn record_ship(
        &mut self,
        platform: Platform,
        api: &str,
        order_id: &str,
        carrier: &str,
        tracking_no: &str,
        outcome: crate::ledger::ShipOutcome,
        reason: &str,
    ) {
        let at_ms = self.now_ms();
        self.ledger.ships.push(crate::ledger::ShipRecord {
            platform,
            api: api.to_string(),
            order_id: order_id.to_string(),
            kind: crate::ledger::ShipKind::Ship,
            carrier: carrier.to_string(),
            tracking_no: tracking_no.to_string(),
            old_carrier: String::new(),
            old_tracking_no: String::new(),
            outcome,
            reason: reason.to_string(),
            at_ms,
        });
    }

    /// Records a change of a parcel's carrier/number in the ledger, whatever its outcome.
    /// `old` is the parcel as the request named it; `new` what it asked to change it to.
    #[allow(clippy::too_many_arguments)]
    pub fn record_change(
        &mut self,
        platform: Platform,
        api: &str,
        order_id: &str,
        old: (&str, &str),
        new: (&str, &str),
        outcome: crate::ledger::ShipOutcome,
        reason: &str,
    ) {
        let at_ms = self.now_ms();
        self.ledger.ships.push(crate::ledger::ShipRecord {
            platform,
            api: api.to_string(),
            order_id: order_id.to_string(),
            kind: crate::ledger::ShipKind::Change,
            carrier: new.0.to_string(),
            tracking_no: new.1.to_string(),
            old_carrier: old.0.to_string(),
            old_tracking_no: old.1.to_string(),
            outcome,
            reason: reason.to_string(),
            at_ms,
        });
    }

    pub fn now_ms(&self) -> i64 {
        real_now_ms() + self.offset_ms
    }

    pub fn find(&self, platform: Platform, order_id: &str) -> Option<usize> {
        let i = *self.index.get(order_id)?;
        let o = &self.orders[i];
        // Orders created "in the future" do not exist yet.
        (o.platform == platform && o.shop == self.scope_shop && o.created_ms <= self.now_ms())
            .then_some(i)
    }

    /// Decryptions used today (Beijing calendar day on the sim clock); quotas are daily.
    pub fn decrypts_today(&self, platform: Platform) -> u32 {
        let day = (self.now_ms() / 1000 + 8 * 3600).div_euclid(86_400);
        match self.decrypt_used.get(&platform) {
            Some((d, n)) if *d == day => *n,
            _ => 0,
        }
    }

    /// Counts one successful decryption against today's quota and records it in the ledger.
    pub fn record_decrypt(&mut self, platform: Platform, order_id: String) {
        let day = (self.now_ms() / 1000 + 8 * 3600).div_euclid(86_400);
        let used = self.decrypts_today(platform);
        self.decrypt_used.insert(platform, (day, used + 1));
        let at_ms = self.now_ms();
        self.ledger.decrypts.push(crate::ledger::DecryptRecord {
            platform,
            order_id,
            at_ms,
        });
    }

    pub fn schedule(&mut self, at_ms: i64, idx: usize, ev: EventKind) {
        self.seq += 1;
        self.pending.insert((at_ms, self.seq), (idx, ev));
    }

    pub fn new_token(&mut self, prefix: &str) -> String {
        let a = self.misc_rng.next_u64();
        let b = self.misc_rng.next_u64();
        format!("{prefix}{a:016x}{b:016x}")
    }

    pub fn add_orders(&mut self, orders: Vec<Order>, events: Vec<r#gen::Scheduled>) {
        for o in orders {
            if self.index.contains_key(&o.order_id) {
                continue;
            }
            self.index.insert(o.order_id.clone(), self.orders.len());
            self.orders.push(o);
        }
        for e in events {
            if let Some(&i) = self.index.get(&e.order_id) {
                self.schedule(e.at_ms, i, e.event);
            }
        }
    }
}

pub struct Sim {
    pub cfg: SimConfig,
    pub st: Mutex<State>,
    pub push_tx: UnboundedSender<PushMsg>,
    /// Pushes queued, being delivered or waiting for a retry.
    pub inflight: Arc<std::sync::atomic::AtomicUsize>,
    pub pii: HashMap<Platform, PiiCipher>,
    /// Tracking pushes for the delivery lanes ([`crate::tracking::worker`]).
    pub track_tx: UnboundedSender<crate::tracking::TrackPush>,
    /// The lanes' end of `track_tx`, taken once by [`crate::start`].
    pub track_rx: Mutex<Option<UnboundedReceiver<crate::tracking::TrackPush>>>,
}

impl Sim {
    pub fn new(cfg: SimConfig, push_tx: UnboundedSender<PushMsg>) -> Arc<Sim> {
        let now_s = cfg.now.unwrap_or_else(|| real_now_ms() / 1000);
        let offset_ms = now_s * 1000 - real_now_ms();
        let mut st = State {
            offset_ms,
            orders: Vec::new(),
            index: HashMap::new(),
            pending: BTreeMap::new(),
            seq: 0,
            ledger: Ledger::default(),
            fault_rate: cfg.fault_rate,
            fault_rng: Rng::new(cfg.seed ^ 0xFA01_7000),
            misc_rng: Rng::new(cfg.seed ^ 0x70CE_0000),
            tokens: HashMap::new(),
            refresh: HashMap::new(),
            limiter: RateLimiter::default(),
            decrypt_used: HashMap::new(),
            callbacks: HashMap::new(),
            generated_batches: 0,
            ship_within_ms: cfg.ship_within_secs * 1000,
            scope_shop: 0,
            waybills: crate::waybill::Book::new(&cfg, Default::default()),
            forced_faults: Vec::new(),
            douyin_pack_requests: HashMap::new(),
            aftersales: Vec::new(),
            aftersale_index: HashMap::new(),
            aftersale_decisions: Vec::new(),
            tracking: crate::tracking::Book::new(&cfg),
            sms: crate::sms::Book::new(cfg.seed),
            messages: crate::wxmsg::Book::default(),
        };
        for p in Platform::ALL {
            for shop in 0..cfg.shops_per_platform.max(1) as u32 {
                let g = r#gen::generate(&GenParams {
                    seed: cfg.seed,
                    platform: p,
                    count: cfg.orders,
                    start_s: now_s - cfg.history_secs,
                    now_s,
                    future_s: cfg.future_secs,
                    future_share: if cfg.live { cfg.future_share } else { 0.0 },
                    ship_within_secs: cfg.ship_within_secs,
                    shop,
                });
                // A still shop has no follow-ups: its data changes only through API calls.
                let events = if cfg.live { g.events } else { Vec::new() };
                st.add_orders(g.orders, events);
            }
            if let Some(url) = cfg.callbacks.get(p) {
                st.callbacks.insert(p, url.clone());
            }
        }
        // Numbers of shipments made before the emulator started are in circulation too.
        let shipped = st
            .orders
            .iter()
            .flat_map(|o| o.shipments.iter().map(|s| s.tracking_no.clone()))
            .collect();
        st.waybills = crate::waybill::Book::new(&cfg, shipped);
        let pii = [
            (Platform::Wechat, PiiCipher::new(&cfg.wechat.secret)),
            (Platform::Douyin, PiiCipher::new(&cfg.douyin.app_secret)),
            (
                Platform::Xiaohongshu,
                PiiCipher::new(&cfg.xiaohongshu.app_secret),
            ),
        ]
        .into_iter()
        .collect();
        let (track_tx, track_rx) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(Sim {
            cfg,
            st: Mutex::new(st),
            push_tx,
            inflight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            pii,
            track_tx,
            track_rx: Mutex::new(Some(track_rx)),
        })
    }

    /// Sets (or clears) a platform's callback URL; a new URL gets the platform's URL check.
    pub fn set_callback(self: &Arc<Self>, p: Platform, url: Option<String>) {
        let mut st = self.lock();
        match url {
            Some(u) => {
                st.callbacks.insert(p, u.clone());
                tokio::spawn(crate::push::verify_callback(self.clone(), p, u));
            }
            None => {
                st.callbacks.remove(&p);
            }
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler must not take the whole emulator down with it.
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies every scheduled event that is due on the sim clock, and queues their pushes.
    pub fn tick(&self) {
        {
            let mut st = self.lock();
            let now = st.now_ms();
            while let Some((&key, _)) = st.pending.iter().next() {
                if key.0 > now {
                    break;
                }
                let Some((idx, ev)) = st.pending.remove(&key) else {
                    break;
                };
                // After-sale follow-ups change the after-sale records and push themselves.
                if matches!(
                    ev,
                    EventKind::AfterSaleWithdraw { .. }
                        | EventKind::AfterSaleBuyerShips { .. }
                        | EventKind::AfterSaleTimeout { .. }
                ) {
                    crate::aftersale::apply_scheduled(Some(self), &mut st, &ev, key.0);
                    continue;
                }
                if let Some(change) = apply_event(&mut st, idx, ev, key.0) {
                    self.emit(&st, idx, change);
                }
            }
        }
        // Tracking pushes fall due on the same clock.
        crate::tracking::tick(self);
    }

    /// Queues the push for a change, if that platform has a callback URL.
    pub fn emit(&self, st: &State, idx: usize, change: Change) {
        let o = &st.orders[idx];
        if let Some(url) = st.callbacks.get(&o.platform) {
            let now = st.now_ms();
            if let Some((event, payload)) = crate::push::payload(&self.cfg, o, &change, now) {
                let _ = self.push_tx.send(PushMsg {
                    platform: o.platform,
                    url: url.clone(),
                    event,
                    order_id: o.order_id.clone(),
                    payload,
                    at_ms: now,
                    shop: o.shop,
                    inflight: crate::push::InflightGuard::new(&self.inflight),
                });
            }
        }
    }

    pub fn snapshot(&self, platform: Option<Platform>, with_orders: bool) -> LedgerSnapshot {
        let st = self.lock();
        let now = st.now_ms();
        let keep = |p: Platform| platform.is_none_or(|q| q == p);
        let orders = if with_orders {
            st.orders
                .iter()
                .filter(|o| keep(o.platform) && o.created_ms <= now)
                .map(|o| {
                    let (status, status_name) = status_of(o);
                    LedgerOrder {
                        platform: o.platform,
                        shop: o.shop,
                        order_id: o.order_id.clone(),
                        status,
                        status_name: status_name.to_string(),
                        updated_ms: o.updated_ms,
                        shipments: o.shipments.clone(),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        LedgerSnapshot {
            clock_ms: now,
            fault_rate: st.fault_rate,
            orders,
            pushes: st
                .ledger
                .pushes
                .iter()
                .filter(|r| keep(r.platform))
                .cloned()
                .collect(),
            ships: st
                .ledger
                .ships
                .iter()
                .filter(|r| keep(r.platform))
                .cloned()
                .collect(),
            rejected: st
                .ledger
                .rejected
                .iter()
                .filter(|r| keep(r.platform))
                .cloned()
                .collect(),
            decrypts: st
                .ledger
                .decrypts
                .iter()
                .filter(|r| keep(r.platform))
                .cloned()
                .collect(),
            waybills: st
                .waybills
                .records
                .iter()
                .filter(|w| w.service != crate::waybill::Service::Wechat || keep(Platform::Wechat))
                .cloned()
                .collect(),
            waybill_rejected: st.waybills.rejected.clone(),
        }
    }

    /// Adds `count` new orders on `platform`, placed within the next minute of sim time.
    pub fn generate_more(&self, platform: Platform, count: usize) -> Vec<String> {
        self.generate_more_for(platform, 0, count)
    }

    /// Like [`generate_more`](Self::generate_more) for one shop of the platform.
    pub fn generate_more_for(&self, platform: Platform, shop: u32, count: usize) -> Vec<String> {
        let mut st = self.lock();
        st.generated_batches += 1;
        let now_s = st.now_ms() / 1000;
        let g = r#gen::generate(&GenParams {
            seed: self.cfg.seed ^ st.generated_batches.wrapping_mul(0x9E37_79B9),
            platform,
            count,
            start_s: now_s,
            now_s,
            future_s: 60,
            future_share: 1.0,
            ship_within_secs: self.cfg.ship_within_secs,
            shop,
        });
        let ids = g.orders.iter().map(|o| o.order_id.clone()).collect();
        st.add_orders(g.orders, g.events);
        ids
    }
}

pub fn status_of(o: &Order) -> (i64, &'static str) {
    match o.platform {
        Platform::Wechat => crate::wechat::status(o),
        Platform::Douyin => crate::douyin::status(o),
        Platform::Xiaohongshu => crate::xiaohongshu::status(o),
    }
}

fn apply_event(st: &mut State, idx: usize, ev: EventKind, at: i64) -> Option<Change> {
    let mut rng = Rng::new(at as u64 ^ idx as u64);
    let mut follow_up = None;
    let mut st_after_sale = None;
    let ship_within_ms = st.ship_within_ms;
    let o = &mut st.orders[idx];
    let change = match ev {
        EventKind::Create => Change::Created,
        EventKind::Pay if o.status == Status::Unpaid => {
            r#gen::pay(o, at, &mut rng, ship_within_ms);
            // Douyin (105) and Xiaohongshu (2) hold some paid orders in risk review for a while.
            if o.platform != Platform::Wechat && rng.chance(0.25) {
                o.status = Status::PaidReview;
                follow_up = Some((at + rng.range(60_000, 600_000), EventKind::ReviewCleared));
            }
            // A share of paid orders get a refund-only request before shipping (售后 仅退款).
            if rng.chance(0.05) {
                let t = at + rng.range(600_000, 7_200_000);
                st_after_sale = Some((t, EventKind::AfterSaleOpen { as_kind: 0 }));
            }
            Change::Paid
        }
        EventKind::AfterSaleOpen { as_kind } => {
            return crate::aftersale::open_scheduled(st, idx, as_kind, at);
        }
        EventKind::ReviewCleared if o.status == Status::PaidReview => {
            o.status = Status::ToShip;
            Change::ReviewCleared
        }
        EventKind::Cancel if o.status == Status::Unpaid => {
            o.status = Status::Cancelled;
            o.cancelled_ms = Some(at);
            Change::Cancelled
        }
        // Platforms only let the address change before anything ships.
        EventKind::AddressChange { receiver } if o.status == Status::ToShip => {
            o.receiver = *receiver;
            o.address_version += 1;
            Change::AddressChanged
        }
        EventKind::SellerNote { note }
            if !matches!(o.status, Status::Cancelled | Status::Closed) =>
        {
            o.seller_note = note;
            o.seller_flag = 2;
            Change::SellerNoteChanged
        }
        EventKind::RefundRequest if o.shippable() && o.refund == Refund::None => {
            o.refund = Refund::Requested;
            Change::RefundRequested
        }
        EventKind::RefundDone if o.refund == Refund::Requested => {
            if o.status == Status::ToShip {
                r#gen::refund_all(o, at);
                Change::Refunded
            } else {
                // The merchant shipped first; the refund-before-shipping request lapses.
                o.refund = Refund::None;
                Change::RefundClosed
            }
        }
        EventKind::LineRefund { line }
            if o.status == Status::ToShip && line < o.lines.len() && !o.lines[line].refunded =>
        {
            o.lines[line].refunded = true;
            if o.lines.iter().all(|l| l.refunded) {
                r#gen::refund_all(o, at);
                Change::Refunded
            } else {
                Change::LineRefunded
            }
        }
        EventKind::Complete if o.status == Status::Shipped => {
            o.status = Status::Completed;
            o.finished_ms = Some(at);
            Change::Completed
        }
        _ => return None,
    };
    o.updated_ms = o.updated_ms.max(at);
    if let Some((t, e)) = follow_up {
        st.schedule(t, idx, e);
    }
    if let Some((t, e)) = st_after_sale {
        st.schedule(t, idx, e);
    }
    Some(change)
}

/// What a ship call asks for, already validated by the platform module.
pub struct ShipRequest {
    pub carrier: String,
    pub tracking_no: String,
    /// (line index, qty); empty means every remaining unit.
    pub items: Vec<(usize, u32)>,
}

/// Records a shipment on an order and moves its status; returns whether all lines are shipped.
pub fn ship(st: &mut State, idx: usize, req: ShipRequest) -> bool {
    let now = st.now_ms();
    let o = &mut st.orders[idx];
    let items: Vec<(usize, u32)> = if req.items.is_empty() {
        (0..o.lines.len())
            .map(|i| (i, o.remaining_qty(i)))
            .filter(|x| x.1 > 0)
            .collect()
    } else {
        req.items
    };
    for &(i, q) in &items {
        o.lines[i].shipped_qty += q;
    }
    o.shipments.push(Shipment {
        carrier: req.carrier,
        tracking_no: req.tracking_no,
        at_ms: now,
        items,
    });
    let all = o.all_shipped();
    o.status = if all {
        Status::Shipped
    } else {
        Status::PartShipped
    };
    o.updated_ms = o.updated_ms.max(now);
    if all {
        // Buyers confirm receipt some days later; the platform then completes the order.
        st.schedule(now + 5 * 86_400_000, idx, EventKind::Complete);
        // Some buyers ask to return (or exchange) the goods after they arrive.
        let mut rng = Rng::new(now as u64 ^ (idx as u64).wrapping_mul(0x2545_F491));
        if rng.chance(0.12) {
            let kind = if rng.chance(0.7) { 1 } else { 2 };
            let t = now + rng.range(86_400_000, 4 * 86_400_000);
            st.schedule(t, idx, EventKind::AfterSaleOpen { as_kind: kind });
        }
    }
    all
}
