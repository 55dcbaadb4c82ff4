//! Carrier selection (选快递): the merchant's rules applied to one package, the choice with a
//! full explanation, and the what-if that re-prices past packages under another rule set.
//!
//! The order is fixed so that explanations read the same way every time:
//! 1. every carrier with a rate table in the [`RuleSet`] is a candidate;
//! 2. each [`Rule`] in order may exclude candidates (all exclusions are recorded, not just the
//!    first, so the merchant sees every rule that stands in a carrier's way);
//! 3. the survivors are priced; a table that cannot price the package excludes its carrier;
//! 4. the shop's default carrier wins if it survived; otherwise the [`Goal`] ranks the rest.
//!
//! Everything is pure: rule sets and packages in, [`Choice`] out. A rule set is meant for one
//! origin (warehouse), because rate tables and transit times are per origin.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::package::{Package, Tag};
use crate::province::Province;
use crate::rates::{Fen, Quote, RateError, RateTable};
use crate::registry::Carrier;

/// Errors of this module: a rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("rule set {set:?} has two rate tables for {carrier}")]
    DuplicateTable { set: String, carrier: Carrier },
    #[error("rule set {set:?}: {error}")]
    Table { set: String, error: RateError },
    #[error("rule set {set:?}, rule #{index}: {problem}")]
    BadRule {
        set: String,
        index: usize,
        problem: String,
    },
}

/// A restriction the merchant puts on carriers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Rule {
    /// These carriers do not go to these destinations (poor service there, not contracted, ...).
    ExcludeDestinations {
        carriers: Vec<Carrier>,
        provinces: Vec<Province>,
    },
    /// These carriers take only packages whose actual weight is within the band, e.g. 快运 from
    /// 20 kg, 快递 up to 30 kg. Either bound may be absent.
    WeightBand {
        carriers: Vec<Carrier>,
        #[serde(default)]
        min_g: Option<u32>,
        #[serde(default)]
        max_g: Option<u32>,
    },
    /// Packages with this tag go only with these carriers (冷链 → SF, JD).
    TagRequires { tag: Tag, carriers: Vec<Carrier> },
    /// Packages with this tag never go with these carriers (易碎 → not with X).
    TagExcludes { tag: Tag, carriers: Vec<Carrier> },
    /// Packages of this shop go only with these carriers.
    ShopOnly {
        shop: String,
        carriers: Vec<Carrier>,
    },
}

fn list<T: fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::ExcludeDestinations {
                carriers,
                provinces,
            } => write!(f, "{} not to {}", list(carriers), list(provinces)),
            Rule::WeightBand {
                carriers,
                min_g,
                max_g,
            } => {
                write!(f, "{} only for ", list(carriers))?;
                match (min_g, max_g) {
                    (Some(a), Some(b)) => write!(f, "{a}–{b} g"),
                    (Some(a), None) => write!(f, "≥ {a} g"),
                    (None, Some(b)) => write!(f, "≤ {b} g"),
                    (None, None) => write!(f, "any weight"),
                }
            }
            Rule::TagRequires { tag, carriers } => write!(f, "{tag} only with {}", list(carriers)),
            Rule::TagExcludes { tag, carriers } => write!(f, "{tag} never with {}", list(carriers)),
            Rule::ShopOnly { shop, carriers } => {
                write!(f, "shop {shop} only with {}", list(carriers))
            }
        }
    }
}

impl Rule {
    /// Whether this rule keeps `carrier` away from `p`.
    pub fn excludes(&self, carrier: Carrier, p: &Package) -> bool {
        match self {
            Rule::ExcludeDestinations {
                carriers,
                provinces,
            } => carriers.contains(&carrier) && provinces.contains(&p.destination),
            Rule::WeightBand {
                carriers,
                min_g,
                max_g,
            } => {
                carriers.contains(&carrier)
                    && (min_g.is_some_and(|m| p.weight_g < m)
                        || max_g.is_some_and(|m| p.weight_g > m))
            }
            Rule::TagRequires { tag, carriers } => p.has_tag(tag) && !carriers.contains(&carrier),
            Rule::TagExcludes { tag, carriers } => p.has_tag(tag) && carriers.contains(&carrier),
            Rule::ShopOnly { shop, carriers } => p.shop == *shop && !carriers.contains(&carrier),
        }
    }
}

/// What ranks the carriers that survive the rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Lowest total; ties go to the faster, then to the earlier table in the rule set.
    #[default]
    Cheapest,
    /// Fewest days; ties go to the cheaper, then to the earlier table. Unknown days rank last.
    Fastest,
}

/// Typical days in transit for a carrier to some destinations from this rule set's origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transit {
    pub carrier: Carrier,
    /// Empty: every destination not listed in a more specific row of the same carrier.
    #[serde(default)]
    pub provinces: Vec<Province>,
    pub days: u16,
}

/// A merchant's selection settings for one origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// For explanations and what-if reports.
    pub name: String,
    /// One table per carrier; their order is the tie-break order.
    pub tables: Vec<RateTable>,
    #[serde(default)]
    pub transit: Vec<Transit>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub goal: Goal,
    /// Shop id → the carrier the merchant wants for that shop when the rules allow it.
    #[serde(default)]
    pub shop_defaults: BTreeMap<String, Carrier>,
}

impl RuleSet {
    /// Checks the set can be used: valid tables, one per carrier, sensible bands. Call when
    /// loading a set.
    pub fn validate(&self) -> Result<(), SelectionError> {
        let set = || self.name.clone();
        for (i, t) in self.tables.iter().enumerate() {
            t.validate()
                .map_err(|error| SelectionError::Table { set: set(), error })?;
            if self.tables[..i].iter().any(|o| o.carrier == t.carrier) {
                return Err(SelectionError::DuplicateTable {
                    set: set(),
                    carrier: t.carrier,
                });
            }
        }
        for (index, r) in self.rules.iter().enumerate() {
            let problem = match r {
                Rule::WeightBand {
                    min_g: Some(a),
                    max_g: Some(b),
                    ..
                } if a > b => Some(format!("weight band {a}–{b} g is empty")),
                Rule::ExcludeDestinations { carriers, .. }
                | Rule::WeightBand { carriers, .. }
                | Rule::TagExcludes { carriers, .. }
                    if carriers.is_empty() =>
                {
                    Some("names no carrier".to_owned())
                }
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(SelectionError::BadRule {
                    set: set(),
                    index: index + 1,
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Days in transit for `carrier` to `to`, if the set knows.
    pub fn days(&self, carrier: Carrier, to: Province) -> Option<u16> {
        let rows = || self.transit.iter().filter(|t| t.carrier == carrier);
        rows()
            .find(|t| t.provinces.contains(&to))
            .or_else(|| rows().find(|t| t.provinces.is_empty()))
            .map(|t| t.days)
    }

    /// Chooses a carrier for `p` and says why.
    pub fn choose(&self, p: &Package) -> Choice {
        let mut excluded = Vec::new();
        let mut options = Vec::new();
        for (order, table) in self.tables.iter().enumerate() {
            let c = table.carrier;
            let by_rules: Vec<Exclusion> = self
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.excludes(c, p))
                .map(|(i, r)| Exclusion {
                    carrier: c,
                    reason: Excluded::Rule {
                        index: i + 1,
                        rule: r.to_string(),
                    },
                })
                .collect();
            if !by_rules.is_empty() {
                excluded.extend(by_rules);
                continue;
            }
            match table.quote(p) {
                Ok(quote) => options.push(Considered {
                    carrier: c,
                    total: quote.total,
                    days: self.days(c, p.destination),
                    quote,
                    order,
                }),
                Err(error) => excluded.push(Exclusion {
                    carrier: c,
                    reason: Excluded::Unpriceable { error },
                }),
            }
        }
        let key_days = |o: &Considered| o.days.unwrap_or(u16::MAX);
        match self.goal {
            Goal::Cheapest => options.sort_by_key(|o| (o.total, key_days(o), o.order)),
            Goal::Fastest => options.sort_by_key(|o| (key_days(o), o.total, o.order)),
        }
        let default = self.shop_defaults.get(&p.shop).copied();
        let decided_by = match default {
            Some(d) if options.iter().any(|o| o.carrier == d) => {
                // Move the default to the front; the rest keep the goal's order for display.
                let i = options.iter().position(|o| o.carrier == d).unwrap_or(0);
                let chosen = options.remove(i);
                options.insert(0, chosen);
                Decision::ShopDefault
            }
            _ if options.is_empty() => Decision::NoCarrier,
            _ => match self.goal {
                Goal::Cheapest => Decision::Cheapest,
                Goal::Fastest => Decision::Fastest,
            },
        };
        Choice {
            package_id: p.id.clone(),
            rule_set: self.name.clone(),
            chosen: options.first().map(|o| o.carrier),
            decided_by,
            shop_default: default,
            considered: options,
            excluded,
        }
    }
}

/// Why a carrier was not considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Excluded {
    /// A merchant rule (1-based position in the rule set, and the rule in words).
    Rule { index: usize, rule: String },
    /// The carrier's table cannot price the package (no zone, too heavy, ...).
    Unpriceable { error: RateError },
}

/// One carrier kept out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub carrier: Carrier,
    pub reason: Excluded,
}

/// A carrier that survived, with its price and transit time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Considered {
    pub carrier: Carrier,
    pub total: Fen,
    pub days: Option<u16>,
    pub quote: Quote,
    /// Position of the carrier's table in the rule set (the final tie-break).
    #[serde(skip)]
    pub order: usize,
}

/// What made the choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    ShopDefault,
    Cheapest,
    Fastest,
    /// Every carrier was excluded; the package needs a person.
    NoCarrier,
}

/// The carrier chosen for one package, and everything that led there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub package_id: String,
    pub rule_set: String,
    pub chosen: Option<Carrier>,
    pub decided_by: Decision,
    /// The shop's default, if it has one (whether or not it won).
    pub shop_default: Option<Carrier>,
    /// Survivors, the chosen one first, then in the goal's order.
    pub considered: Vec<Considered>,
    /// Every (carrier, reason) that kept a carrier out.
    pub excluded: Vec<Exclusion>,
}

impl Choice {
    /// The chosen carrier's quote.
    pub fn quote(&self) -> Option<&Quote> {
        self.chosen.and(self.considered.first()).map(|o| &o.quote)
    }

    /// The reasons `carrier` was excluded (empty if it was not).
    pub fn why_not(&self, carrier: Carrier) -> Vec<&Excluded> {
        self.excluded
            .iter()
            .filter(|e| e.carrier == carrier)
            .map(|e| &e.reason)
            .collect()
    }
}

impl fmt::Display for Choice {
    /// A multi-line explanation for the console and the CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.chosen, self.decided_by) {
            (Some(c), Decision::ShopDefault) => writeln!(
                f,
                "package {}: {c} (shop default, allowed by the rules)",
                self.package_id
            )?,
            (Some(c), Decision::Cheapest) => {
                writeln!(f, "package {}: {c} (cheapest allowed)", self.package_id)?
            }
            (Some(c), Decision::Fastest) => {
                writeln!(f, "package {}: {c} (fastest allowed)", self.package_id)?
            }
            _ => writeln!(f, "package {}: no carrier allowed", self.package_id)?,
        }
        if let Some(d) = self.shop_default
            && self.decided_by != Decision::ShopDefault
        {
            let why = self.why_not(d);
            if why.is_empty() {
                writeln!(
                    f,
                    "  shop default {d} has no rate table in rule set {}",
                    self.rule_set
                )?;
            } else {
                writeln!(f, "  shop default {d} was excluded")?;
            }
        }
        if let Some(q) = self.quote() {
            writeln!(f, "  price: {q}")?;
        }
        for o in self
            .considered
            .iter()
            .skip(usize::from(self.chosen.is_some()))
        {
            let days = o.days.map_or("? days".to_owned(), |d| format!("{d} days"));
            writeln!(f, "  also allowed: {} {} ({days})", o.carrier, o.total)?;
        }
        for e in &self.excluded {
            match &e.reason {
                Excluded::Rule { index, rule } => {
                    writeln!(f, "  excluded {}: rule #{index} ({rule})", e.carrier)?
                }
                Excluded::Unpriceable { error } => {
                    writeln!(f, "  excluded {}: {error}", e.carrier)?
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// What-if.

/// A package shipped in the past, with what is known about how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastPackage {
    pub package: Package,
    #[serde(default)]
    pub shipped_with: Option<Carrier>,
    /// What was actually paid, if recorded.
    #[serde(default)]
    pub paid: Option<Fen>,
}

/// Where a what-if baseline price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// Chosen and priced by a rule set.
    RuleSet,
    /// The recorded carrier and amount.
    Recorded,
    /// The recorded carrier, priced with the proposed set's table (no amount was recorded).
    Repriced,
}

/// A carrier and a price, one side of a what-if row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Priced {
    pub carrier: Carrier,
    pub total: Fen,
    pub source: PriceSource,
}

/// One package in a what-if.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIfRow {
    pub package_id: String,
    /// `None`: no carrier / no price on this side.
    pub before: Option<Priced>,
    pub after: Option<Priced>,
    /// after − before, when both sides have a price.
    pub delta: Option<Fen>,
    pub carrier_changed: bool,
}

/// The difference a rule set makes over a set of packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    pub before_name: String,
    pub after_name: String,
    pub rows: Vec<WhatIfRow>,
    /// Sums over the rows priced on both sides (so the totals compare like with like).
    pub compared: usize,
    pub total_before: Fen,
    pub total_after: Fen,
    pub delta: Fen,
    pub carrier_changed: usize,
    /// Packages with no price before / after.
    pub unpriced_before: usize,
    pub unpriced_after: usize,
    /// Packages per carrier on each side.
    pub mix_before: BTreeMap<Carrier, usize>,
    pub mix_after: BTreeMap<Carrier, usize>,
}

impl WhatIf {
    fn build(before_name: String, after_name: String, rows: Vec<WhatIfRow>) -> WhatIf {
        let mut w = WhatIf {
            before_name,
            after_name,
            compared: 0,
            total_before: Fen::ZERO,
            total_after: Fen::ZERO,
            delta: Fen::ZERO,
            carrier_changed: 0,
            unpriced_before: 0,
            unpriced_after: 0,
            mix_before: BTreeMap::new(),
            mix_after: BTreeMap::new(),
            rows: Vec::new(),
        };
        for r in &rows {
            match r.before {
                Some(b) => *w.mix_before.entry(b.carrier).or_default() += 1,
                None => w.unpriced_before += 1,
            }
            match r.after {
                Some(a) => *w.mix_after.entry(a.carrier).or_default() += 1,
                None => w.unpriced_after += 1,
            }
            if let (Some(b), Some(a)) = (r.before, r.after) {
                w.compared += 1;
                w.total_before += b.total;
                w.total_after += a.total;
            }
            w.carrier_changed += usize::from(r.carrier_changed);
        }
        w.delta = w.total_after - w.total_before;
        w.rows = rows;
        w
    }
}

impl fmt::Display for WhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} → {}: {} packages compared, {} before, {} after, difference {}",
            self.before_name,
            self.after_name,
            self.compared,
            self.total_before,
            self.total_after,
            self.delta
        )?;
        writeln!(
            f,
            "carrier changed for {} packages; unpriced before {}, after {}",
            self.carrier_changed, self.unpriced_before, self.unpriced_after
        )?;
        let mix = |m: &BTreeMap<Carrier, usize>| {
            m.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "mix before: {}", mix(&self.mix_before))?;
        write!(f, "mix after: {}", mix(&self.mix_after))
    }
}

fn priced(choice: &Choice) -> Option<Priced> {
    choice.quote().map(|q| Priced {
        carrier: q.carrier,
        total: q.total,
        source: PriceSource::RuleSet,
    })
}

fn row(package_id: &str, before: Option<Priced>, after: Option<Priced>) -> WhatIfRow {
    WhatIfRow {
        package_id: package_id.to_owned(),
        before,
        after,
        delta: before.zip(after).map(|(b, a)| a.total - b.total),
        carrier_changed: matches!((before, after), (Some(b), Some(a)) if a.carrier != b.carrier),
    }
}

/// Prices `packages` under both rule sets and reports the difference.
pub fn compare(packages: &[Package], current: &RuleSet, proposed: &RuleSet) -> WhatIf {
    let rows = packages
        .iter()
        .map(|p| {
            row(
                &p.id,
                priced(&current.choose(p)),
                priced(&proposed.choose(p)),
            )
        })
        .collect();
    WhatIf::build(current.name.clone(), proposed.name.clone(), rows)
}

/// Prices past packages under `proposed` and compares with how they actually went: the recorded
/// carrier and amount, or, where only the carrier is recorded, that carrier priced with the
/// proposed set's table (marked [`PriceSource::Repriced`]).
pub fn what_if(past: &[PastPackage], proposed: &RuleSet) -> WhatIf {
    let rows = past
        .iter()
        .map(|pp| {
            let before = match (pp.shipped_with, pp.paid) {
                (Some(carrier), Some(total)) => Some(Priced {
                    carrier,
                    total,
                    source: PriceSource::Recorded,
                }),
                (Some(carrier), None) => proposed
                    .tables
                    .iter()
                    .find(|t| t.carrier == carrier)
                    .and_then(|t| t.quote(&pp.package).ok())
                    .map(|q| Priced {
                        carrier,
                        total: q.total,
                        source: PriceSource::Repriced,
                    }),
                (None, _) => None,
            };
            row(
                &pp.package.id,
                before,
                priced(&proposed.choose(&pp.package)),
            )
        })
        .collect();
    WhatIf::build("as shipped".to_owned(), proposed.name.clone(), rows)
}

#[cfg(test)]
mod tests;
