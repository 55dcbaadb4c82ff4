//! Parcel-tracking emulators — kuaidi100 (subscribe, real-time query, pushes) and kdniao (1008
//! subscribe, 1002 query, 101 pushes, 1001/1004 pickup booking) — and the book they share:
//! parcels and their traces, subscriptions, and the push ledger.
//!
//! Protocols: `reference/platform-apis.md` §4.1 and §4.2, written from the reference and not from
//! fahuo's tracking client. What is common lives here:
//!
//! * A parcel is known by its number. It is created the first time any tracking call names it,
//!   with the carrier that call names; a later call naming another carrier finds nothing (as a
//!   wrong company code does on the real services). Its ship time is the e-waybill's issue time,
//!   the order shipment's time, the pickup's start, or else the moment it was first named.
//! * Its whole trace is generated up front ([`trace`]); an event is visible once the sim clock
//!   passes it.
//! * Pushes are driven by one due-queue (time → subscription) scanned from [`crate::state::Sim::tick`],
//!   which the emulator's 250 ms ticker and every clock move call: 10,000 subscriptions cost
//!   10,000 queue entries, not 10,000 tasks. Deliveries run on a fixed set of lanes (a parcel
//!   always on the same lane, so its pushes keep their order unless a fault reorders them).
//! * Push faults (`POST /_sim/tracking/faults`): duplicate, out-of-order (an older snapshot
//!   delivered right after the newer one), late (delivered after later pushes) and forged (an
//!   extra copy signed with a wrong secret, before the real one). Each is in the ledger with its
//!   kind, so a test can check a forged push was refused.

pub mod kdniao;
pub mod kuaidi100;
pub mod trace;

use crate::push::InflightGuard;
use crate::state::Sim;
use crate::util::Rng;
use crate::waybill::carrier::Carrier;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use trace::{City, Scenario, Stage, TraceEvent, TraceParams};

/// The two tracking services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackService {
    Kuaidi100,
    Kdniao,
}

impl TrackService {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackService::Kuaidi100 => "kuaidi100",
            TrackService::Kdniao => "kdniao",
        }
    }
}

/// Tracking accounts and behaviour.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrackingConfig {
    /// kuaidi100 `customer` (查询公司编号) for `poll/query.do`.
    pub kuaidi100_customer: String,
    /// kuaidi100 授权 `key`: inside the subscribe `param`, and in the query `sign`.
    pub kuaidi100_key: String,
    pub kdniao_ebusiness_id: String,
    pub kdniao_app_key: String,
    /// kdniao pushes go to the URL configured on the account, not one per request.
    pub kdniao_callback: Option<String>,
    /// kuaidi100 `abort` "3天查询无记录": a subscribed parcel with no event this long after the
    /// subscription (kdniao pushes StateEx 401 发货无信息 instead).
    pub abort_no_record_secs: i64,
    /// kuaidi100 `abort` "60天无变化": no new event this long after the last one.
    pub abort_no_change_secs: i64,
    /// kdniao batches up to this many parcels into one push (batch sizes vary from 1 up).
    pub kdniao_batch_max: usize,
    pub faults: TrackingFaults,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            kuaidi100_customer: "8F2C6A0E4B1D3F5A7C9E0B2D4F6A8C1E".into(),
            kuaidi100_key: "fhSimK100track25".into(),
            kdniao_ebusiness_id: "1688571".into(),
            kdniao_app_key: "3c9e6a1f-5b7d-4e2a-9c8f-0d1e2f3a4b5c".into(),
            kdniao_callback: None,
            abort_no_record_secs: 3 * 86_400,
            abort_no_change_secs: 60 * 86_400,
            kdniao_batch_max: 5,
            faults: TrackingFaults::default(),
        }
    }
}

/// Share of tracking pushes that get each fault (0 = never).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackingFaults {
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub out_of_order: f64,
    #[serde(default)]
    pub late: f64,
    #[serde(default)]
    pub forged: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackFault {
    Duplicate,
    /// The push, then an older snapshot of the same parcel(s).
    OutOfOrder,
    /// Delivered after a delay, so later pushes overtake it.
    Late,
    /// An extra copy with a bad signature, before the real push.
    Forged,
}

/// One tracked parcel: its carrier, scenario and whole timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Parcel {
    pub carrier: Carrier,
    pub number: String,
    pub scenario: Scenario,
    pub ship_ms: i64,
    pub origin: City,
    pub dest: City,
    /// Oldest first, including events still in the future. Shared, so a push can take the
    /// trace to its delivery lane and render it there, outside the state lock.
    #[serde(serialize_with = "events_ser")]
    pub events: Arc<Vec<TraceEvent>>,
    /// A return parcel booked through kdniao 1001 (buyer → merchant).
    pub is_return: bool,
}

impl Parcel {
    /// How many events the sim clock has passed.
    pub fn visible(&self, now_ms: i64) -> usize {
        self.events.partition_point(|e| e.at_ms <= now_ms)
    }

    fn regenerate(&mut self, seed: u64) {
        self.events = Arc::new(trace::generate(&TraceParams {
            carrier: self.carrier,
            number: &self.number,
            ship_ms: self.ship_ms,
            seed,
            origin: &self.origin,
            dest: &self.dest,
            scenario: self.scenario,
        }));
    }
}

fn events_ser<S: serde::Serializer>(e: &Arc<Vec<TraceEvent>>, s: S) -> Result<S::Ok, S::Error> {
    e.as_slice().serialize(s)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub service: TrackService,
    pub number: String,
    /// The carrier code as the request spelled it (`company` / `ShipperCode`).
    pub carrier_code: String,
    /// kuaidi100 `callbackurl`; kdniao uses the account's URL.
    pub callback: Option<String>,
    /// kuaidi100 `salt` (signs pushes; may be empty).
    pub salt: String,
    /// kuaidi100 `resultv2`.
    pub resultv2: String,
    /// kdniao `Callback` / `OrderCode`: echoed back in pushes.
    pub echo: String,
    pub order_code: String,
    pub subscribed_ms: i64,
    /// Events included in the last push built.
    pub pushed_events: usize,
    /// kuaidi100 `shutdown` / `abort` sent (or kdniao 401): no more pushes.
    pub ended: Option<String>,
    pub pushes_sent: u32,
    pub pushes_acknowledged: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackPushKind {
    Normal,
    Duplicate,
    /// An older snapshot, delivered right after a newer one (out-of-order fault).
    Stale,
    /// Held back and delivered after later pushes.
    Late,
    /// Signed with a wrong secret: the receiver must refuse it.
    Forged,
    /// Re-delivery after the receiver did not acknowledge.
    Retry,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackPushRecord {
    pub seq: u64,
    pub service: TrackService,
    /// The parcels in this push (kdniao batches several).
    pub numbers: Vec<String>,
    pub kind: TrackPushKind,
    pub attempt: u32,
    /// kuaidi100 `status` (`polling`, `shutdown`, `abort`); empty for kdniao.
    pub status: String,
    /// Trace lines per parcel in the pushed snapshot.
    pub events: Vec<usize>,
    pub url: String,
    pub http_status: Option<u16>,
    /// The receiver's answer (first 200 characters) or the transport error.
    pub answer: String,
    pub acknowledged: bool,
    pub at_ms: i64,
}

/// Push totals of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PushCounts {
    /// Every delivery attempt, all kinds.
    pub sent: u64,
    pub acknowledged: u64,
    /// Answered, but not with the acknowledgement the service expects.
    pub refused: u64,
    /// No answer (connection error, timeout).
    pub failed: u64,
    pub retries: u64,
    pub forged_sent: u64,
    /// Forged pushes the receiver refused, as it must.
    pub forged_refused: u64,
    /// Forged pushes the receiver acknowledged: a receiver bug.
    pub forged_acknowledged: u64,
}

/// A tracking or pickup call the emulator refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackRejection {
    pub service: TrackService,
    pub api: String,
    pub code: String,
    pub reason: String,
    pub at_ms: i64,
}

/// A pickup booked through kdniao 1001.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PickupRecord {
    pub order_code: String,
    pub shipper_code: String,
    pub logistic_code: String,
    pub sender_city: String,
    pub receiver_city: String,
    pub start_date: String,
    pub end_date: String,
    pub weight: Option<f64>,
    pub remark: String,
    pub booked_ms: i64,
    /// Later 1001 calls with the same `OrderCode`, answered with the same number.
    pub repeats: u32,
    pub cancelled_ms: Option<i64>,
    pub cancel_reason: String,
}

/// A parcel as the tracking ledger shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParcelView {
    pub carrier: String,
    pub scenario: Scenario,
    pub ship_ms: i64,
    pub visible_events: usize,
    pub total_events: usize,
    /// The stage of the last visible event (`None`: nothing visible yet).
    pub state: Option<Stage>,
    pub is_final: bool,
    pub last_event_ms: Option<i64>,
    pub is_return: bool,
}

/// `GET /_sim/ledger/tracking`, [`crate::SimHandle::tracking_snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackingSnapshot {
    pub clock_ms: i64,
    pub subscriptions: Vec<Subscription>,
    pub counts: BTreeMap<TrackService, PushCounts>,
    pub pushes: Vec<TrackPushRecord>,
    /// Every parcel any tracking call named, by number.
    pub parcels: BTreeMap<String, ParcelView>,
    pub queries: BTreeMap<TrackService, u64>,
    pub rejected: Vec<TrackRejection>,
}

impl TrackingSnapshot {
    pub fn pushes_for<'a>(&'a self, number: &'a str) -> impl Iterator<Item = &'a TrackPushRecord> {
        self.pushes
            .iter()
            .filter(move |p| p.numbers.iter().any(|n| n == number))
    }
}

/// What a push will say. Rendered in its delivery lane, not under the state lock: a clock jump
/// over 10,000 subscribed parcels must not hold every other request up while JSON is written.
pub enum PushBody {
    Kuaidi100 {
        number: String,
        events: Arc<Vec<TraceEvent>>,
        com: String,
        resultv2: String,
        status: &'static str,
        message: &'static str,
        /// Trace lines in this snapshot.
        n: usize,
    },
    Kdniao {
        items: Vec<KdniaoItem>,
        push_ms: i64,
    },
}

/// One parcel of a kdniao push.
pub struct KdniaoItem {
    pub number: String,
    pub events: Arc<Vec<TraceEvent>>,
    pub carrier_code: String,
    pub echo: String,
    pub order_code: String,
    pub n: usize,
    /// A shorter snapshot, for the out-of-order fault.
    pub older: Option<usize>,
}

impl PushBody {
    /// The body text and the trace lines per parcel; `stale` renders the older snapshot.
    fn render(&self, cfg: &crate::SimConfig, stale: bool) -> (String, Vec<usize>) {
        match self {
            PushBody::Kuaidi100 {
                number,
                events,
                com,
                resultv2,
                status,
                message,
                n,
            } => {
                let n = if stale { n.saturating_sub(1) } else { *n };
                let lr = kuaidi100::last_result(number, events, com, n, resultv2);
                (kuaidi100::push_param(status, message, lr), vec![n])
            }
            PushBody::Kdniao { items, push_ms } => {
                let ns: Vec<usize> = items
                    .iter()
                    .map(|i| if stale { i.older.unwrap_or(i.n) } else { i.n })
                    .collect();
                let values = items
                    .iter()
                    .zip(&ns)
                    .map(|(i, &n)| kdniao::push_item(cfg, i, n))
                    .collect();
                (kdniao::push_body(cfg, values, *push_ms), ns)
            }
        }
    }
}

/// A push for the delivery lanes.
pub struct TrackPush {
    pub service: TrackService,
    pub url: String,
    pub numbers: Vec<String>,
    pub status: String,
    pub body: PushBody,
    /// Whether an older snapshot exists (the out-of-order fault needs one).
    pub has_stale: bool,
    /// kuaidi100 `salt` / kdniao `AppKey`.
    pub secret: String,
    pub fault: Option<TrackFault>,
    pub inflight: Arc<InflightGuard>,
}

/// A rendered push, as the lanes deliver it.
struct Ready {
    service: TrackService,
    url: String,
    numbers: Vec<String>,
    status: String,
    secret: String,
    body: String,
    events: Vec<usize>,
    /// Keeps the push counted as in flight until its last copy or retry is done.
    _inflight: Arc<InflightGuard>,
}

pub struct Book {
    pub parcels: HashMap<String, Parcel>,
    /// Scenarios forced for numbers not seen yet.
    pub forced: HashMap<String, Scenario>,
    pub subs: Vec<Subscription>,
    sub_index: HashMap<(TrackService, String), usize>,
    /// (due time, seq) → subscription index.
    due: BTreeMap<(i64, u64), usize>,
    seq: u64,
    pub pushes: Vec<TrackPushRecord>,
    pub counts: BTreeMap<TrackService, PushCounts>,
    pub queries: BTreeMap<TrackService, u64>,
    pub rejected: Vec<TrackRejection>,
    pub faults: TrackingFaults,
    pub forced_faults: VecDeque<TrackFault>,
    fault_rng: Rng,
    pub kdniao_callback: Option<String>,
    pub pickups: Vec<PickupRecord>,
    /// (ShipperCode, OrderCode) → index into `pickups`.
    pub pickup_index: HashMap<(String, String), usize>,
    pub rng: Rng,
}

impl Book {
    pub fn new(cfg: &crate::SimConfig) -> Book {
        Book {
            parcels: HashMap::new(),
            forced: HashMap::new(),
            subs: Vec::new(),
            sub_index: HashMap::new(),
            due: BTreeMap::new(),
            seq: 0,
            pushes: Vec::new(),
            counts: BTreeMap::new(),
            queries: BTreeMap::new(),
            rejected: Vec::new(),
            faults: cfg.tracking.faults.clone(),
            forced_faults: VecDeque::new(),
            fault_rng: Rng::new(cfg.seed ^ 0x7EAC_F417),
            kdniao_callback: cfg.tracking.kdniao_callback.clone(),
            pickups: Vec::new(),
            pickup_index: HashMap::new(),
            rng: Rng::new(cfg.seed ^ 0x7EAC_0001),
        }
    }

    pub fn subscription(&self, service: TrackService, number: &str) -> Option<&Subscription> {
        self.sub_index
            .get(&(service, number.to_string()))
            .map(|&i| &self.subs[i])
    }

    fn schedule(&mut self, at_ms: i64, idx: usize) {
        self.seq += 1;
        self.due.insert((at_ms, self.seq), idx);
    }

    /// Adds a subscription (or replaces an ended one) and makes it due now: the services push
    /// what they already know soon after subscribing.
    pub fn subscribe(&mut self, sub: Subscription) {
        let key = (sub.service, sub.number.clone());
        let now = sub.subscribed_ms;
        let idx = match self.sub_index.get(&key) {
            Some(&i) => {
                self.subs[i] = sub;
                i
            }
            None => {
                self.subs.push(sub);
                self.sub_index.insert(key, self.subs.len() - 1);
                self.subs.len() - 1
            }
        };
        self.schedule(now, idx);
    }

    /// Forces a number's scenario; a parcel already generated gets its ending regenerated and
    /// its subscriptions are looked at again.
    pub fn force_scenario(&mut self, number: &str, s: Scenario, seed: u64, now_ms: i64) {
        self.forced.insert(number.to_string(), s);
        if let Some(p) = self.parcels.get_mut(number) {
            p.scenario = s;
            p.regenerate(seed);
            let n = p.events.len();
            for i in 0..self.subs.len() {
                if self.subs[i].number == number {
                    let sub = &mut self.subs[i];
                    sub.pushed_events = sub.pushed_events.min(n);
                    self.schedule(now_ms, i);
                }
            }
        }
    }

    /// Makes every kdniao subscription due (after the account's callback URL changed).
    pub fn wake_kdniao(&mut self, now_ms: i64) {
        for i in 0..self.subs.len() {
            if self.subs[i].service == TrackService::Kdniao && self.subs[i].ended.is_none() {
                self.schedule(now_ms, i);
            }
        }
    }

    pub fn view(&self, p: &Parcel, now_ms: i64) -> ParcelView {
        let v = p.visible(now_ms);
        let last = v.checked_sub(1).map(|i| &p.events[i]);
        ParcelView {
            carrier: p.carrier.codes().name.to_string(),
            scenario: p.scenario,
            ship_ms: p.ship_ms,
            visible_events: v,
            total_events: p.events.len(),
            state: last.map(|e| e.stage),
            is_final: last.is_some_and(|e| e.stage.is_final()),
            last_event_ms: last.map(|e| e.at_ms),
            is_return: p.is_return,
        }
    }

    /// Every parcel's visible state at `now_ms`, by number.
    pub fn views(&self, now_ms: i64) -> BTreeMap<String, ParcelView> {
        self.parcels
            .iter()
            .map(|(n, p)| (n.clone(), self.view(p, now_ms)))
            .collect()
    }

    pub fn snapshot(&self, now_ms: i64, with_pushes: bool) -> TrackingSnapshot {
        TrackingSnapshot {
            clock_ms: now_ms,
            subscriptions: self.subs.clone(),
            counts: self.counts.clone(),
            pushes: if with_pushes {
                self.pushes.clone()
            } else {
                Vec::new()
            },
            parcels: self.views(now_ms),
            queries: self.queries.clone(),
            rejected: self.rejected.clone(),
        }
    }
}

impl crate::state::State {
    /// Records a refused tracking or pickup call.
    pub fn tracking_reject(&mut self, service: TrackService, api: &str, code: &str, reason: &str) {
        let at_ms = self.now_ms();
        self.tracking.rejected.push(TrackRejection {
            service,
            api: api.to_string(),
            code: code.to_string(),
            reason: reason.to_string(),
            at_ms,
        });
    }

    /// The parcel behind a number, created on first sight. `None` when the number is known
    /// under another carrier (the real services find nothing under a wrong company code).
    pub fn track_parcel(&mut self, seed: u64, carrier: Carrier, number: &str) -> Option<&Parcel> {
        if let Some(c) = self.tracking.parcels.get(number).map(|p| p.carrier) {
            return if c == carrier {
                self.tracking.parcels.get(number)
            } else {
                None
            };
        }
        let now = self.now_ms();
        let (ship_ms, dest) = self.ship_facts(number).unwrap_or_else(|| {
            // Nobody here shipped it: it left when it was first named, to a city chosen by
            // the number.
            (now, City::nth(trace::fnv(seed, number, 0xC17)))
        });
        let scenario = self
            .tracking
            .forced
            .get(number)
            .copied()
            .unwrap_or_else(|| Scenario::pick(seed, number));
        let mut p = Parcel {
            carrier,
            number: number.to_string(),
            scenario,
            ship_ms,
            origin: City::default_origin(),
            dest,
            events: Arc::default(),
            is_return: false,
        };
        p.regenerate(seed);
        self.tracking.parcels.insert(number.to_string(), p);
        self.tracking.parcels.get(number)
    }

    /// When and where to a number was shipped, from the e-waybills issued here or the orders'
    /// shipments.
    fn ship_facts(&self, number: &str) -> Option<(i64, City)> {
        if let Some(r) = self.waybills.by_number(number) {
            // The hub is named after the destination city and the carrier's word for a hub
            // (`广州转运中心`, `广州中转场`).
            let city = crate::waybill::carrier::CARRIERS
                .iter()
                .find_map(|c| r.hub.strip_suffix(c.hub_word))
                .unwrap_or(&r.hub);
            // `全国…` is the national centre the route table falls back to: no city there.
            let dest = if city == "全国" {
                City::nth(trace::fnv(0, number, 0xC17))
            } else {
                City::named(city)
            };
            return Some((r.issued_ms, dest));
        }
        self.orders.iter().find_map(|o| {
            o.shipments
                .iter()
                .find(|s| s.tracking_no == number)
                .map(|s| (s.at_ms, City::named(&o.receiver.city)))
        })
    }
}

/// Builds the pushes that are due and hands them to the delivery lanes. Called from
/// [`Sim::tick`].
pub fn tick(sim: &Sim) {
    let pushes = {
        let mut st = sim.lock();
        let now = st.now_ms();
        due_pushes(&sim.cfg, &mut st.tracking, now, &sim.inflight)
    };
    for p in pushes {
        let _ = sim.track_tx.send(p);
    }
}

fn due_pushes(
    cfg: &crate::SimConfig,
    book: &mut Book,
    now: i64,
    inflight: &Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<TrackPush> {
    let tc = &cfg.tracking;
    let mut out = Vec::new();
    // kdniao parcels waiting to be batched.
    let mut kd: Vec<KdniaoItem> = Vec::new();
    let mut reschedule = Vec::new();
    while let Some((&key, &idx)) = book.due.iter().next() {
        if key.0 > now {
            break;
        }
        book.due.remove(&key);
        let sub = &book.subs[idx];
        if sub.ended.is_some() {
            continue;
        }
        let Some(p) = book.parcels.get(&sub.number) else {
            continue;
        };
        // Subscribed under another company than the one that carries it: nothing is ever found.
        let matches = carrier_of(sub.service, &sub.carrier_code) == Some(p.carrier);
        let visible = if matches { p.visible(now) } else { 0 };
        let last_final = visible > 0 && p.events[visible - 1].stage.is_final();
        let mut next = if matches {
            p.events.get(visible).map(|e| e.at_ms)
        } else {
            None
        };
        match sub.service {
            TrackService::Kuaidi100 => {
                let Some(url) = sub.callback.clone() else {
                    continue;
                };
                let (status, message) = if visible > sub.pushed_events {
                    if last_final {
                        ("shutdown", "")
                    } else {
                        ("polling", "")
                    }
                } else if visible == 0 && now >= sub.subscribed_ms + tc.abort_no_record_secs * 1000
                {
                    ("abort", "3天查询无记录")
                } else if visible > 0
                    && next.is_none()
                    && now >= p.events[visible - 1].at_ms + tc.abort_no_change_secs * 1000
                {
                    ("abort", "60天无变化")
                } else {
                    ("", "")
                };
                if !status.is_empty() {
                    let fault =
                        book_fault(&mut book.fault_rng, &mut book.forced_faults, &book.faults);
                    out.push(TrackPush {
                        service: TrackService::Kuaidi100,
                        url,
                        numbers: vec![sub.number.clone()],
                        status: status.to_string(),
                        body: PushBody::Kuaidi100 {
                            number: sub.number.clone(),
                            events: p.events.clone(),
                            com: sub.carrier_code.clone(),
                            resultv2: sub.resultv2.clone(),
                            status,
                            message,
                            n: visible,
                        },
                        has_stale: visible >= 2,
                        secret: sub.salt.clone(),
                        fault,
                        inflight: InflightGuard::new(inflight),
                    });
                    let sub = &mut book.subs[idx];
                    sub.pushed_events = visible;
                    if status != "polling" {
                        sub.ended = Some(status.to_string());
                        continue;
                    }
                }
                // Wake again at the next event, or when an abort would fall due.
                if next.is_none() && !last_final {
                    let sub = &book.subs[idx];
                    next = Some(if visible == 0 {
                        sub.subscribed_ms + tc.abort_no_record_secs * 1000
                    } else {
                        p.events[visible - 1].at_ms + tc.abort_no_change_secs * 1000
                    });
                }
            }
            TrackService::Kdniao => {
                if book.kdniao_callback.is_none() {
                    // Nowhere to push yet; setting the URL wakes every subscription.
                    continue;
                }
                let no_record =
                    visible == 0 && now >= sub.subscribed_ms + tc.abort_no_record_secs * 1000;
                if visible > sub.pushed_events || no_record {
                    kd.push(KdniaoItem {
                        number: sub.number.clone(),
                        events: p.events.clone(),
                        carrier_code: sub.carrier_code.clone(),
                        echo: sub.echo.clone(),
                        order_code: sub.order_code.clone(),
                        n: visible,
                        older: (visible >= 2).then(|| visible - 1),
                    });
                    let sub = &mut book.subs[idx];
                    sub.pushed_events = visible;
                    if last_final || no_record {
                        sub.ended = Some(if no_record { "401" } else { "signed" }.to_string());
                        continue;
                    }
                }
                if next.is_none() && visible == 0 {
                    next = Some(book.subs[idx].subscribed_ms + tc.abort_no_record_secs * 1000);
                }
            }
        }
        if let Some(t) = next {
            reschedule.push((t, idx));
        }
    }
    for (t, idx) in reschedule {
        book.schedule(t, idx);
    }
    // kdniao: batches of 1..=max parcels per push.
    let url = book.kdniao_callback.clone();
    let mut rest = kd.into_iter().peekable();
    while rest.peek().is_some() {
        let size = 1 + book.rng.below(tc.kdniao_batch_max.max(1) as u64) as usize;
        let batch: Vec<_> = rest.by_ref().take(size).collect();
        let Some(url) = url.clone() else { break };
        let fault = book_fault(&mut book.fault_rng, &mut book.forced_faults, &book.faults);
        out.push(TrackPush {
            service: TrackService::Kdniao,
            url,
            numbers: batch.iter().map(|b| b.number.clone()).collect(),
            status: String::new(),
            has_stale: batch.iter().any(|b| b.older.is_some()),
            body: PushBody::Kdniao {
                items: batch,
                push_ms: now,
            },
            secret: tc.kdniao_app_key.clone(),
            fault,
            inflight: InflightGuard::new(inflight),
        });
    }
    out
}

/// The fault for the next push: a queued one first, else by the configured rates. Takes the
/// book's fields apart because the caller holds a parcel of the same book.
fn book_fault(
    rng: &mut Rng,
    forced: &mut VecDeque<TrackFault>,
    rates: &TrackingFaults,
) -> Option<TrackFault> {
    if let Some(f) = forced.pop_front() {
        return Some(f);
    }
    [
        (rates.duplicate, TrackFault::Duplicate),
        (rates.out_of_order, TrackFault::OutOfOrder),
        (rates.late, TrackFault::Late),
        (rates.forged, TrackFault::Forged),
    ]
    .into_iter()
    .find(|(rate, _)| *rate > 0.0 && rng.chance(*rate))
    .map(|(_, f)| f)
}

// ------------------------------------------------------------------ delivery

const LANES: u64 = 8;

/// Runs until the emulator is dropped: spreads pushes over the lanes by parcel number.
pub async fn worker(sim: Weak<Sim>, mut rx: UnboundedReceiver<TrackPush>) {
    let lanes: Vec<_> = (0..LANES)
        .map(|_| {
            let (tx, mut lane_rx) = unbounded_channel::<TrackPush>();
            let sim = sim.clone();
            tokio::spawn(async move {
                while let Some(m) = lane_rx.recv().await {
                    let Some(s) = sim.upgrade() else { return };
                    handle(s, m).await;
                }
            });
            tx
        })
        .collect();
    while let Some(m) = rx.recv().await {
        let lane = trace::fnv(0, m.numbers.first().map_or("", |s| s.as_str()), 0) % LANES;
        let _ = lanes[lane as usize].send(m);
    }
}

async fn handle(sim: Arc<Sim>, m: TrackPush) {
    let (body, events) = m.body.render(&sim.cfg, false);
    let stale = (m.fault == Some(TrackFault::OutOfOrder) && m.has_stale)
        .then(|| m.body.render(&sim.cfg, true));
    let r = Ready {
        service: m.service,
        url: m.url,
        numbers: m.numbers,
        status: m.status,
        secret: m.secret,
        body,
        events,
        _inflight: m.inflight,
    };
    match m.fault {
        None => deliver_with_retries(sim, r, TrackPushKind::Normal).await,
        Some(TrackFault::Duplicate) => {
            deliver(&sim, &r, &r.body, &r.events, TrackPushKind::Duplicate, 1).await;
            deliver_with_retries(sim, r, TrackPushKind::Normal).await;
        }
        Some(TrackFault::OutOfOrder) => {
            // The older snapshot goes out right after the newer one (whose retries, if it was
            // not acknowledged, come later still).
            let first = deliver(&sim, &r, &r.body, &r.events, TrackPushKind::Normal, 1).await;
            if let Some((body, events)) = stale {
                deliver(&sim, &r, &body, &events, TrackPushKind::Stale, 1).await;
            }
            if !first {
                retry_later(sim, r);
            }
        }
        Some(TrackFault::Late) => {
            // Real services are minutes late; scaled like the retry delays, but never so short
            // that the next push cannot overtake it.
            let delay = Duration::from_secs_f64((600.0 * sim.cfg.push_retry_scale).max(0.3));
            let weak = Arc::downgrade(&sim);
            drop(sim);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Some(sim) = weak.upgrade() {
                    deliver_with_retries(sim, r, TrackPushKind::Late).await;
                }
            });
        }
        Some(TrackFault::Forged) => {
            deliver(&sim, &r, &r.body, &r.events, TrackPushKind::Forged, 1).await;
            deliver_with_retries(sim, r, TrackPushKind::Normal).await;
        }
    }
}

/// Seconds before each re-delivery of an unacknowledged push.
fn retry_schedule(service: TrackService) -> &'static [u64] {
    match service {
        // Reference §4.1: anything but the receipt is retried, reportedly after 30 minutes
        // (the number of retries is UNCONFIRMED; three here).
        TrackService::Kuaidi100 => &[1800, 1800, 1800],
        // UNCONFIRMED: kdniao's retry policy is not in the reference; a short back-off.
        TrackService::Kdniao => &[300, 1800, 3600],
    }
}

async fn deliver_with_retries(sim: Arc<Sim>, r: Ready, kind: TrackPushKind) {
    if !deliver(&sim, &r, &r.body, &r.events, kind, 1).await {
        retry_later(sim, r);
    }
}

/// Re-delivers on the service's schedule (scaled by `push_retry_scale`) until acknowledged.
fn retry_later(sim: Arc<Sim>, r: Ready) {
    let scale = sim.cfg.push_retry_scale;
    let weak = Arc::downgrade(&sim);
    drop(sim);
    tokio::spawn(async move {
        for (i, secs) in retry_schedule(r.service).iter().enumerate() {
            tokio::time::sleep(Duration::from_secs_f64(*secs as f64 * scale)).await;
            let Some(sim) = weak.upgrade() else { return };
            let attempt = i as u32 + 2;
            if deliver(&sim, &r, &r.body, &r.events, TrackPushKind::Retry, attempt).await {
                return;
            }
        }
    });
}

async fn deliver(
    sim: &Sim,
    m: &Ready,
    body: &str,
    events: &[usize],
    kind: TrackPushKind,
    attempt: u32,
) -> bool {
    let forged = kind == TrackPushKind::Forged;
    let form = match m.service {
        TrackService::Kuaidi100 => kuaidi100::push_form(body, &m.secret, forged),
        TrackService::Kdniao => kdniao::push_form(body, &m.secret, forged),
    };
    let headers = [(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let res = crate::http::request(
        "POST",
        &m.url,
        &headers,
        form.into_bytes(),
        Duration::from_secs(5),
    )
    .await;
    let (http_status, answer, acked) = match res {
        Ok((s, b)) => {
            let a = match m.service {
                TrackService::Kuaidi100 => kuaidi100::push_acknowledged(s, &b),
                TrackService::Kdniao => kdniao::push_acknowledged(s, &b),
            };
            (Some(s), b.chars().take(200).collect(), a)
        }
        Err(e) => (None, e, false),
    };
    let mut st = sim.lock();
    let now = st.now_ms();
    let book = &mut st.tracking;
    book.seq += 1;
    let c = book.counts.entry(m.service).or_default();
    c.sent += 1;
    match (http_status, acked) {
        (_, true) => c.acknowledged += 1,
        (Some(_), false) => c.refused += 1,
        (None, _) => c.failed += 1,
    }
    if kind == TrackPushKind::Retry {
        c.retries += 1;
    }
    if forged {
        c.forged_sent += 1;
        if acked {
            c.forged_acknowledged += 1;
        } else {
            c.forged_refused += 1;
        }
    } else {
        for n in &m.numbers {
            if let Some(&i) = book.sub_index.get(&(m.service, n.clone())) {
                book.subs[i].pushes_sent += 1;
                if acked {
                    book.subs[i].pushes_acknowledged += 1;
                }
            }
        }
    }
    let rec = TrackPushRecord {
        seq: book.seq,
        service: m.service,
        numbers: m.numbers.clone(),
        kind,
        attempt,
        status: m.status.clone(),
        events: events.to_vec(),
        url: m.url.clone(),
        http_status,
        answer,
        acknowledged: acked,
        at_ms: now,
    };
    book.pushes.push(rec);
    acked
}

/// Resolves a carrier for a tracking call from the service's code.
pub fn carrier_of(service: TrackService, code: &str) -> Option<Carrier> {
    match service {
        TrackService::Kuaidi100 => Carrier::from_kuaidi100(code),
        TrackService::Kdniao => Carrier::from_kdniao(code),
    }
}
