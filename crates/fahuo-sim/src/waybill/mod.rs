//! E-waybill (电子面单) emulators — kuaidi100, kdniao and WeChat Shop's platform e-waybill — and
//! the book they share: accounts and balances, every number issued, and the idempotency keys.
//!
//! The wire protocols are the ones in `crates/fahuo-carriers/WAYBILL-PROTOCOLS.md`; each service
//! has its own module. What is common lives here, so that the rules the contract states once
//! ("one package, one key", "a cancelled number returns to the balance", "numbers are unique")
//! are implemented once:
//!
//! * A key (`orderId`, `OrderCode`, `ewaybill_order_id`) is scoped to one account. A repeated key
//!   answers the number issued the first time and does not touch the balance.
//! * A key whose number was cancelled is refused with the service's bad-parameter code: the
//!   contract has no rule for it, and answering a recycled number as if it were live would let a
//!   client print a dead label.
//! * A new number costs one unit of the account's balance; at zero the service's "no balance"
//!   code answers. Cancelling returns the unit; cancelling again, or an unknown number, succeeds
//!   without effect.
//! * Numbers are unique across the whole emulator, including the numbers of the generated
//!   orders that were shipped before the emulator started.

pub mod carrier;
pub mod kdniao;
pub mod kuaidi100;
pub mod route;
pub mod wechat;

use crate::ledger::{WaybillRecord, WaybillRejection, WaybillStatus};
use crate::state::{Sim, State};
use crate::util::Rng;
use crate::{SimConfig, WaybillLatency};
use carrier::Carrier;
use route::{Place, route};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The three e-waybill APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Kuaidi100,
    Kdniao,
    /// WeChat Shop's platform e-waybill (`channels/ec/logistics/ewaybill/biz/…`).
    Wechat,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Kuaidi100, Service::Kdniao, Service::Wechat];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kuaidi100 => "kuaidi100",
            Service::Kdniao => "kdniao",
            Service::Wechat => "wechat",
        }
    }

    pub fn parse(s: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One e-waybill account and its waybill balance, as `GET /_sim/waybill/accounts` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaybillAccount {
    pub service: Service,
    /// `partnerId` (kuaidi100), `CustomerName` (kdniao), `acct_id` (WeChat).
    pub account: String,
    /// The WeChat shop (0-based) the account belongs to; `None` for the aggregators.
    pub shop: Option<u32>,
    /// The carrier as the service names it (`kuaidicom`, `ShipperCode`, `delivery_id`).
    pub carrier: String,
    /// Numbers the account may still take.
    pub balance: u64,
    /// New numbers issued so far.
    pub issued: u64,
    /// Numbers cancelled (each returned to the balance).
    pub cancelled: u64,
}

/// What a number request asks for, already validated by the service module.
pub struct IssueRequest<'a> {
    pub service: Service,
    pub account: &'a str,
    pub shop: Option<u32>,
    pub carrier: Carrier,
    /// The carrier code as the request spelled it, for the ledger.
    pub carrier_code: &'a str,
    pub key: &'a str,
    pub dest: Place,
    pub origin: Place,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IssueError {
    NoAccount,
    NoBalance,
    /// The key's number was cancelled; the client must use a new key.
    KeyCancelled(String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    AlreadyCancelled,
    /// Not a number of this account: answered as success (recycling is idempotent).
    Unknown,
    /// The number is this account's but was issued for another key.
    KeyMismatch {
        issued_for: String,
    },
}

/// A WeChat e-waybill order between `order/precreate` and `order/create`.
#[derive(Clone, Debug)]
pub struct WxOrder {
    pub shop: u32,
    pub delivery_id: String,
    pub acct_id: String,
    pub cancelled: bool,
}

pub struct Book {
    pub accounts: Vec<WaybillAccount>,
    pub records: Vec<WaybillRecord>,
    pub rejected: Vec<WaybillRejection>,
    pub latency: WaybillLatency,
    /// WeChat `ewaybill_order_id` → its precreated order.
    pub wx_orders: HashMap<String, WxOrder>,
    /// (service, account, key) → index into `records`.
    by_key: HashMap<(Service, String, String), usize>,
    /// number → index into `records`.
    by_number: HashMap<String, usize>,
    /// Every number the emulator has handed out anywhere, so none is issued twice.
    used: HashSet<String>,
    rng: Rng,
}

impl Book {
    /// The accounts of `cfg`, each with the configured starting balance. `used` holds numbers
    /// already in circulation (generated shipments) that must not be issued again.
    pub fn new(cfg: &SimConfig, used: HashSet<String>) -> Book {
        let mut accounts = Vec::new();
        let mut add = |service, account: &str, shop, carrier: &str| {
            accounts.push(WaybillAccount {
                service,
                account: account.to_string(),
                shop,
                carrier: carrier.to_string(),
                balance: cfg.waybill_balance,
                issued: 0,
                cancelled: 0,
            })
        };
        for a in &cfg.kuaidi100.accounts {
            add(Service::Kuaidi100, &a.partner_id, None, &a.kuaidicom);
        }
        for a in &cfg.kdniao.accounts {
            add(Service::Kdniao, &a.customer_name, None, &a.shipper_code);
        }
        for shop in 0..cfg.shops_per_platform.max(1) as u32 {
            for a in cfg.wechat_ewaybill_accounts(shop) {
                add(Service::Wechat, &a.acct_id, Some(shop), &a.delivery_id);
            }
        }
        Book {
            accounts,
            records: Vec::new(),
            rejected: Vec::new(),
            latency: cfg.waybill_latency_ms.clone(),
            wx_orders: HashMap::new(),
            by_key: HashMap::new(),
            by_number: HashMap::new(),
            used,
            rng: Rng::new(cfg.seed ^ 0x0E_3A7B_111F),
        }
    }

    fn account_index(&self, service: Service, account: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|a| a.service == service && a.account == account)
    }

    pub fn account(&self, service: Service, account: &str) -> Option<&WaybillAccount> {
        self.account_index(service, account)
            .map(|i| &self.accounts[i])
    }

    /// The record of an issued number, if it was issued here.
    pub fn by_number(&self, number: &str) -> Option<&WaybillRecord> {
        self.by_number.get(number).map(|&i| &self.records[i])
    }

    /// The record a key got, if any.
    pub fn by_key(&self, service: Service, account: &str, key: &str) -> Option<&WaybillRecord> {
        self.by_key
            .get(&(service, account.to_string(), key.to_string()))
            .map(|&i| &self.records[i])
    }

    /// Issues a number for a key, or answers the one the key already has. Returns the record and
    /// whether it is a repeat.
    pub fn issue(
        &mut self,
        req: IssueRequest<'_>,
        now_ms: i64,
    ) -> Result<(WaybillRecord, bool), IssueError> {
        let acct = self
            .account_index(req.service, req.account)
            .ok_or(IssueError::NoAccount)?;
        let k = (req.service, req.account.to_string(), req.key.to_string());
        if let Some(&i) = self.by_key.get(&k) {
            let r = &mut self.records[i];
            if r.status == WaybillStatus::Cancelled {
                return Err(IssueError::KeyCancelled(r.number.clone()));
            }
            r.repeats += 1;
            return Ok((r.clone(), true));
        }
        if self.accounts[acct].balance == 0 {
            return Err(IssueError::NoBalance);
        }
        let number = loop {
            let n = req.carrier.new_number(&mut self.rng);
            if self.used.insert(n.clone()) {
                break n;
            }
        };
        let dest = route(req.carrier, &req.dest);
        let origin = route(req.carrier, &req.origin);
        let rec = WaybillRecord {
            service: req.service,
            account: req.account.to_string(),
            shop: req.shop,
            carrier: req.carrier_code.to_string(),
            key: req.key.to_string(),
            number: number.clone(),
            sort_code: dest.sort_code,
            hub: dest.hub,
            hub_code: dest.hub_code,
            origin_hub: origin.hub,
            origin_code: origin.hub_code,
            status: WaybillStatus::Issued,
            issued_ms: now_ms,
            cancelled_ms: None,
            repeats: 0,
        };
        let a = &mut self.accounts[acct];
        a.balance -= 1;
        a.issued += 1;
        self.by_key.insert(k, self.records.len());
        self.by_number.insert(number, self.records.len());
        self.records.push(rec.clone());
        Ok((rec, false))
    }

    /// Cancels (recycles) an account's number. `key`, when given, must be the key it was issued
    /// for.
    pub fn cancel(
        &mut self,
        service: Service,
        account: &str,
        number: &str,
        key: Option<&str>,
        now_ms: i64,
    ) -> CancelOutcome {
        let Some(&i) = self.by_number.get(number) else {
            return CancelOutcome::Unknown;
        };
        let r = &mut self.records[i];
        if r.service != service || r.account != account {
            // Another account's number: this account cannot recycle it, and must not learn it
            // exists.
            return CancelOutcome::Unknown;
        }
        if let Some(k) = key
            && k != r.key
        {
            return CancelOutcome::KeyMismatch {
                issued_for: r.key.clone(),
            };
        }
        if r.status == WaybillStatus::Cancelled {
            return CancelOutcome::AlreadyCancelled;
        }
        r.status = WaybillStatus::Cancelled;
        r.cancelled_ms = Some(now_ms);
        if let Some(a) = self.account_index(service, account) {
            let a = &mut self.accounts[a];
            a.balance += 1;
            a.cancelled += 1;
        }
        CancelOutcome::Cancelled
    }

    /// A fresh number for `carrier` that nothing here has used (pickup bookings take theirs
    /// from the same pool, so a return number never collides with an e-waybill).
    pub fn reserve_number(&mut self, carrier: Carrier) -> String {
        loop {
            let n = carrier.new_number(&mut self.rng);
            if self.used.insert(n.clone()) {
                return n;
            }
        }
    }

    /// Sets the balance of one account (or every account of a service, or every account).
    /// Returns how many accounts were changed.
    pub fn set_balance(
        &mut self,
        service: Option<Service>,
        account: Option<&str>,
        balance: u64,
    ) -> usize {
        let mut n = 0;
        for a in self.accounts.iter_mut().filter(|a| {
            service.is_none_or(|s| s == a.service) && account.is_none_or(|x| x == a.account)
        }) {
            a.balance = balance;
            n += 1;
        }
        n
    }

    /// A fresh opaque id (request numbers, WeChat order ids): `len` hex or decimal digits.
    pub fn new_id(&mut self, decimal: bool, len: usize) -> String {
        if decimal {
            let first = char::from(b'1' + self.rng.below(9) as u8);
            format!("{first}{}", self.rng.digits(len - 1))
        } else {
            (0..len)
                .map(|_| char::from(b"0123456789abcdef"[self.rng.below(16) as usize]))
                .collect()
        }
    }

    pub fn latency(&self, service: Service) -> Duration {
        Duration::from_millis(match service {
            Service::Kuaidi100 => self.latency.kuaidi100,
            Service::Kdniao => self.latency.kdniao,
            Service::Wechat => self.latency.wechat,
        })
    }
}

impl State {
    /// Records a refused e-waybill call (bad sign, bad parameter, no balance, injected fault).
    pub fn reject_waybill(&mut self, service: Service, api: &str, code: &str, reason: &str) {
        let at_ms = self.now_ms();
        self.waybills.rejected.push(WaybillRejection {
            service,
            api: api.to_string(),
            code: code.to_string(),
            reason: reason.to_string(),
            at_ms,
        });
    }
}

/// The configured extra latency of one e-waybill API, slept before the request is looked at, so
/// a client's latency budget and failover can be tested.
pub async fn added_latency(sim: &Sim, service: Service) {
    let d = sim.lock().waybills.latency(service);
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Typed access to a JSON object's fields, with error messages that name the field path, so a
/// malformed request gets a clear answer instead of a panic.
pub struct Fields<'a> {
    map: &'a serde_json::Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// `v` must be a JSON object; `path` names it in messages ("" for the top level).
    pub fn of(v: &'a Value, path: &str) -> Result<Fields<'a>, String> {
        match v {
            Value::Object(map) => Ok(Fields {
                map,
                path: path.to_string(),
            }),
            _ => Err(format!(
                "{}: expecting a JSON object",
                if path.is_empty() { "body" } else { path }
            )),
        }
    }

    fn name(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }

    /// The field's value, treating `null` as absent.
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    /// A required, non-empty string.
    pub fn str(&self, k: &str) -> Result<&'a str, String> {
        match self.opt_str(k)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(format!("{}: must not be empty", self.name(k))),
            None => Err(format!("{}: required", self.name(k))),
        }
    }

    pub fn opt_str(&self, k: &str) -> Result<Option<&'a str>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{}: expecting a string", self.name(k))),
        }
    }

    /// A number, given as a JSON number or as a numeric string (both forms occur in the
    /// aggregators' own samples).
    pub fn opt_num(&self, k: &str) -> Result<Option<f64>, String> {
        let bad = || format!("{}: expecting a number", self.name(k));
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    pub fn num(&self, k: &str) -> Result<f64, String> {
        self.opt_num(k)?
            .ok_or_else(|| format!("{}: required", self.name(k)))
    }

    /// An integer, as a JSON number or a numeric string.
    pub fn opt_int(&self, k: &str) -> Result<Option<i64>, String> {
        let bad = || format!("{}: expecting an integer", self.name(k));
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    pub fn int(&self, k: &str) -> Result<i64, String> {
        self.opt_int(k)?
            .ok_or_else(|| format!("{}: required", self.name(k)))
    }

    /// A positive integer (counts and quantities).
    pub fn count(&self, k: &str) -> Result<i64, String> {
        match self.int(k)? {
            n if n >= 1 => Ok(n),
            _ => Err(format!("{}: must be at least 1", self.name(k))),
        }
    }

    pub fn opt_bool(&self, k: &str) -> Result<Option<bool>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(format!("{}: expecting true or false", self.name(k))),
        }
    }

    /// A required nested object.
    pub fn obj(&self, k: &str) -> Result<Fields<'a>, String> {
        match self.get(k) {
            None => Err(format!("{}: required", self.name(k))),
            Some(v) => Fields::of(v, &self.name(k)),
        }
    }

    /// A required, non-empty array of objects.
    pub fn list(&self, k: &str) -> Result<Vec<Fields<'a>>, String> {
        match self.get(k) {
            None => Err(format!("{}: required", self.name(k))),
            Some(Value::Array(xs)) if xs.is_empty() => {
                Err(format!("{}: must not be empty", self.name(k)))
            }
            Some(Value::Array(xs)) => xs
                .iter()
                .enumerate()
                .map(|(i, x)| Fields::of(x, &format!("{}[{i}]", self.name(k))))
                .collect(),
            Some(_) => Err(format!("{}: expecting an array", self.name(k))),
        }
    }
}

/// Parses an `application/x-www-form-urlencoded` body; the first of repeated names wins.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| format!("body is not a URL-encoded form: {e}"))?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(balance: u64) -> Book {
        let cfg = SimConfig {
            waybill_balance: balance,
            ..SimConfig::default()
        };
        Book::new(&cfg, HashSet::new())
    }

    fn req<'a>(account: &'a str, key: &'a str) -> IssueRequest<'a> {
        IssueRequest {
            service: Service::Kuaidi100,
            account,
            shop: None,
            carrier: Carrier::Zto,
            carrier_code: "zhongtong",
            key,
            dest: Place::new("浙江省", "杭州市", "西湖区"),
            origin: Place::new("广东省", "深圳市", "南山区"),
        }
    }

    #[test]
    fn keys_balances_and_cancels() {
        let mut b = book(2);
        let acct = SimConfig::default().kuaidi100.accounts[0]
            .partner_id
            .clone();
        let (a, repeat) = b.issue(req(&acct, "k1"), 1).expect("issue");
        assert!(!repeat);
        let (again, repeat) = b.issue(req(&acct, "k1"), 2).expect("repeat");
        assert!(repeat);
        assert_eq!(again.number, a.number);
        assert_eq!(
            b.account(Service::Kuaidi100, &acct).map(|a| a.balance),
            Some(1)
        );
        b.issue(req(&acct, "k2"), 3).expect("second");
        assert_eq!(b.issue(req(&acct, "k3"), 4), Err(IssueError::NoBalance));
        assert_eq!(
            b.cancel(Service::Kuaidi100, &acct, &a.number, Some("k1"), 5),
            CancelOutcome::Cancelled
        );
        assert_eq!(
            b.cancel(Service::Kuaidi100, &acct, &a.number, None, 6),
            CancelOutcome::AlreadyCancelled
        );
        assert_eq!(
            b.cancel(Service::Kuaidi100, &acct, "nope", None, 6),
            CancelOutcome::Unknown
        );
        assert_eq!(
            b.issue(req(&acct, "k1"), 7),
            Err(IssueError::KeyCancelled(a.number.clone()))
        );
        assert!(
            b.issue(req(&acct, "k3"), 8).is_ok(),
            "the cancel freed a unit"
        );
        assert_eq!(b.issue(req("nobody", "k9"), 9), Err(IssueError::NoAccount));
    }

    #[test]
    fn fields_explain_what_is_wrong() {
        let v: Value = serde_json::json!({"a": "x", "n": "2.5", "o": {"s": 3}, "l": [], "b": 1});
        let f = Fields::of(&v, "").expect("object");
        assert_eq!(f.str("a"), Ok("x"));
        assert_eq!(f.num("n"), Ok(2.5));
        assert_eq!(
            f.obj("o").and_then(|o| o.str("s").map(str::to_string)),
            Err("o.s: expecting a string".to_string())
        );
        assert_eq!(f.list("l").err(), Some("l: must not be empty".to_string()));
        assert_eq!(f.str("zz").err(), Some("zz: required".to_string()));
        assert!(f.opt_bool("b").is_err());
        assert!(Fields::of(&Value::Null, "").is_err());
    }
}
