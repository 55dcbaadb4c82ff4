//! Rate tables (运费模板 / 协议价) and the price of one package under one table.
//!
//! All arithmetic is in integers: money in fen ([`Fen`]), weight in grams. A table prices by
//! zone (a set of destination provinces) with 首重 (a first-weight price) and 续重 (a price per
//! started step above it); the chargeable weight is the larger of the actual weight and, when
//! the table has a volumetric divisor, the volumetric weight. Surcharges (remote areas, cold
//! chain, ...) come on top. Every [`Quote`] keeps the numbers that made it so it can be shown.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub};

use serde::{Deserialize, Serialize};

use crate::package::{Package, Tag};
use crate::province::Province;
use crate::registry::Carrier;

/// An amount of money in fen (分, 1/100 yuan). Displays as `¥12.34`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// `n` yuan.
    pub const fn yuan(n: i64) -> Fen {
        Fen(n * 100)
    }

    /// This amount times `n`.
    pub const fn times(self, n: i64) -> Fen {
        Fen(self.0 * n)
    }

    /// `bps` basis points (1/10000) of this amount, rounded half away from zero to the fen.
    pub fn basis_points(self, bps: u32) -> Fen {
        let x = i128::from(self.0) * i128::from(bps);
        let q = (x.abs() + 5_000) / 10_000;
        // |x| ≤ i64::MAX · u32::MAX / 10⁴ fits in i64 for every realistic amount; saturate otherwise.
        let q = i64::try_from(q).unwrap_or(i64::MAX);
        Fen(if x < 0 { -q } else { q })
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}¥{}.{:02}", abs / 100, abs % 100)
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0;
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}

impl Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, Add::add)
    }
}

/// Errors of this module: a table that cannot price at all, or a package it does not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateError {
    #[error("rate table {table:?}: {problem}")]
    BadTable { table: String, problem: String },
    #[error("{carrier} has no rate for {province}")]
    NoZone {
        carrier: Carrier,
        province: Province,
    },
    #[error("{carrier} takes at most {max_g} g, the package is charged as {chargeable_g} g")]
    TooHeavy {
        carrier: Carrier,
        chargeable_g: u64,
        max_g: u64,
    },
}

/// 首重/续重 prices for a set of destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// For explanations: "江浙沪", "一区", "偏远".
    pub name: String,
    /// Destinations this zone prices. A province may be in at most one zone of a table.
    pub provinces: Vec<Province>,
    /// 首重: the weight the first price covers (usually 1000 g).
    pub first_g: u32,
    pub first_fen: Fen,
    /// 续重: each started step above `first_g` costs `step_fen` (a step of 1000 g rounds up to the
    /// next kilogram; 500 g to the next half kilogram).
    pub step_g: u32,
    pub step_fen: Fen,
}

/// When a surcharge applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Applies {
    /// Remote-area (偏远) and similar destination surcharges.
    Destination { provinces: Vec<Province> },
    /// Cold chain, fragile handling, ... for packages with this tag.
    Tag { tag: Tag },
    /// Fuel and other per-package fees.
    Always,
}

/// How much a surcharge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Amount {
    Flat(Fen),
    /// Per started kilogram of chargeable weight.
    PerKg(Fen),
    /// Basis points of the freight (base price before surcharges), rounded half up to the fen.
    FreightBasisPoints(u32),
}

/// A fee on top of the freight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surcharge {
    /// For explanations: "偏远附加费", "冷链附加费".
    pub name: String,
    #[serde(flatten)]
    pub applies: Applies,
    pub amount: Amount,
}

/// One carrier account's prices from one origin (a merchant has one per carrier per warehouse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTable {
    pub carrier: Carrier,
    /// For explanations: "中通 杭州仓 2026 协议价".
    pub name: String,
    pub zones: Vec<Zone>,
    /// Volumetric divisor in cm³ per kg (6000 is common for express, 8000 or 12000 for some
    /// accounts). `None`: the table charges actual weight only.
    #[serde(default)]
    pub volumetric_divisor: Option<u32>,
    /// The heaviest chargeable weight the account accepts.
    #[serde(default)]
    pub max_g: Option<u32>,
    #[serde(default)]
    pub surcharges: Vec<Surcharge>,
}

/// Which weight was charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightBasis {
    Actual,
    Volumetric,
}

/// A surcharge as applied to one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedSurcharge {
    pub name: String,
    pub fen: Fen,
}

/// The price of one package under one table, with every number that went into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quote {
    pub carrier: Carrier,
    pub table: String,
    pub zone: String,
    pub actual_g: u32,
    /// `None` when the table has no divisor or the package no dimensions.
    pub volumetric_g: Option<u64>,
    pub chargeable_g: u64,
    pub basis: WeightBasis,
    pub first_g: u32,
    pub first_fen: Fen,
    /// Started 续重 steps above 首重.
    pub steps: u64,
    pub step_g: u32,
    pub step_fen: Fen,
    /// 首重 + steps × 续重.
    pub freight: Fen,
    pub surcharges: Vec<AppliedSurcharge>,
    pub total: Fen,
}

impl fmt::Display for Quote {
    /// One line: "ZTO 中通协议价, zone 江浙沪: charged 2300 g (volumetric; actual 1200 g);
    /// 首重 1000 g ¥5.00 + 续重 2 × 1000 g × ¥1.50 = ¥8.00; 偏远 ¥3.00; total ¥11.00".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}, zone {}: charged {} g",
            self.carrier, self.table, self.zone, self.chargeable_g
        )?;
        match (self.basis, self.volumetric_g) {
            (WeightBasis::Volumetric, _) => write!(f, " (volumetric; actual {} g)", self.actual_g)?,
            (WeightBasis::Actual, Some(v)) => write!(f, " (actual; volumetric {v} g)")?,
            (WeightBasis::Actual, None) => write!(f, " (actual)")?,
        }
        write!(f, "; 首重 {} g {}", self.first_g, self.first_fen)?;
        if self.steps > 0 {
            write!(
                f,
                " + 续重 {} × {} g × {}",
                self.steps, self.step_g, self.step_fen
            )?;
        }
        write!(f, " = {}", self.freight)?;
        for s in &self.surcharges {
            write!(f, "; {} {}", s.name, s.fen)?;
        }
        write!(f, "; total {}", self.total)
    }
}

/// `ceil(a / b)` for b > 0.
fn div_ceil(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

/// Volumetric weight in grams: volume in cm³ / divisor (cm³ per kg), in kg, is
/// mm³ / divisor in grams. Rounded up to the gram.
pub fn volumetric_g(volume_mm3: u64, divisor: u32) -> u64 {
    div_ceil(volume_mm3, u64::from(divisor.max(1)))
}

impl RateTable {
    /// Checks the table can price consistently: positive steps and divisor, no negative
    /// prices, no province in two zones. Call when loading a table.
    pub fn validate(&self) -> Result<(), RateError> {
        let bad = |problem: String| RateError::BadTable {
            table: self.name.clone(),
            problem,
        };
        if self.zones.is_empty() {
            return Err(bad("no zones".into()));
        }
        if self.volumetric_divisor == Some(0) {
            return Err(bad("volumetric divisor is 0".into()));
        }
        let mut seen: Vec<(Province, &str)> = Vec::new();
        for z in &self.zones {
            if z.step_g == 0 {
                return Err(bad(format!("zone {}: 续重 step is 0 g", z.name)));
            }
            if z.first_fen < Fen::ZERO || z.step_fen < Fen::ZERO {
                return Err(bad(format!("zone {}: negative price", z.name)));
            }
            for p in &z.provinces {
                if let Some((_, other)) = seen.iter().find(|(q, _)| q == p) {
                    return Err(bad(format!("{p} is in zones {other} and {}", z.name)));
                }
                seen.push((*p, &z.name));
            }
        }
        for s in &self.surcharges {
            let negative = match s.amount {
                Amount::Flat(f) | Amount::PerKg(f) => f < Fen::ZERO,
                Amount::FreightBasisPoints(_) => false,
            };
            if negative {
                return Err(bad(format!("surcharge {}: negative amount", s.name)));
            }
        }
        Ok(())
    }

    /// The zone pricing `province`.
    pub fn zone_for(&self, province: Province) -> Option<&Zone> {
        self.zones.iter().find(|z| z.provinces.contains(&province))
    }

    /// Prices `p` under this table.
    pub fn quote(&self, p: &Package) -> Result<Quote, RateError> {
        let zone = self.zone_for(p.destination).ok_or(RateError::NoZone {
            carrier: self.carrier,
            province: p.destination,
        })?;
        if zone.step_g == 0 {
            return Err(RateError::BadTable {
                table: self.name.clone(),
                problem: format!("zone {}: 续重 step is 0 g", zone.name),
            });
        }
        let volumetric = self
            .volumetric_divisor
            .zip(p.dims_mm)
            .map(|(div, d)| volumetric_g(d.volume_mm3(), div));
        let actual = u64::from(p.weight_g);
        let (chargeable, basis) = match volumetric {
            Some(v) if v > actual => (v, WeightBasis::Volumetric),
            _ => (actual, WeightBasis::Actual),
        };
        if let Some(max) = self.max_g
            && chargeable > u64::from(max)
        {
            return Err(RateError::TooHeavy {
                carrier: self.carrier,
                chargeable_g: chargeable,
                max_g: u64::from(max),
            });
        }
        let steps = div_ceil(
            chargeable.saturating_sub(u64::from(zone.first_g)),
            u64::from(zone.step_g),
        );
        let steps_i = i64::try_from(steps).unwrap_or(i64::MAX);
        let freight = zone.first_fen + zone.step_fen.times(steps_i);
        let kg = i64::try_from(div_ceil(chargeable, 1000)).unwrap_or(i64::MAX);
        let surcharges: Vec<AppliedSurcharge> = self
            .surcharges
            .iter()
            .filter(|s| match &s.applies {
                Applies::Destination { provinces } => provinces.contains(&p.destination),
                Applies::Tag { tag } => p.has_tag(tag),
                Applies::Always => true,
            })
            .map(|s| AppliedSurcharge {
                name: s.name.clone(),
                fen: match s.amount {
                    Amount::Flat(f) => f,
                    Amount::PerKg(f) => f.times(kg),
                    Amount::FreightBasisPoints(bps) => freight.basis_points(bps),
                },
            })
            .collect();
        let total = freight + surcharges.iter().map(|s| s.fen).sum();
        Ok(Quote {
            carrier: self.carrier,
            table: self.name.clone(),
            zone: zone.name.clone(),
            actual_g: p.weight_g,
            volumetric_g: volumetric,
            chargeable_g: chargeable,
            basis,
            first_g: zone.first_g,
            first_fen: zone.first_fen,
            steps,
            step_g: zone.step_g,
            step_fen: zone.step_fen,
            freight,
            surcharges,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::DimsMm;
    use crate::province::p;

    fn zone(name: &str, provinces: &[&str], first: i64, step: i64) -> Zone {
        Zone {
            name: name.into(),
            provinces: provinces.iter().map(|s| p(s)).collect(),
            first_g: 1000,
            first_fen: Fen(first),
            step_g: 1000,
            step_fen: Fen(step),
        }
    }

    /// A typical 中通 account shipping from Hangzhou.
    fn zto() -> RateTable {
        RateTable {
            carrier: Carrier::Zto,
            name: "杭州仓协议价".into(),
            zones: vec![
                zone("江浙沪", &["浙江", "江苏", "上海"], 300, 100),
                zone("二区", &["广东", "北京", "四川"], 500, 200),
                zone("偏远", &["新疆", "西藏"], 1500, 1200),
            ],
            volumetric_divisor: Some(8000),
            max_g: Some(50_000),
            surcharges: vec![Surcharge {
                name: "偏远附加费".into(),
                applies: Applies::Destination {
                    provinces: vec![p("新疆"), p("西藏")],
                },
                amount: Amount::Flat(Fen(500)),
            }],
        }
    }

    fn pkg(dest: &str, g: u32) -> Package {
        Package::new("P", "shop", p(dest), g)
    }

    #[test]
    fn fen_displays_as_yuan() {
        assert_eq!(Fen(1234).to_string(), "¥12.34");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(-150).to_string(), "-¥1.50");
        assert_eq!(Fen::yuan(3), Fen(300));
    }

    #[test]
    fn basis_points_round_half_up() {
        assert_eq!(Fen(1000).basis_points(1250), Fen(125)); // 12.5 % of ¥10
        assert_eq!(Fen(333).basis_points(5000), Fen(167)); // 166.5 → 167
        assert_eq!(Fen(333).basis_points(4998), Fen(166)); // 166.43 → 166
        assert_eq!(Fen(-333).basis_points(5000), Fen(-167));
    }

    #[test]
    fn within_first_weight_only_the_first_price_is_charged() {
        let q = zto().quote(&pkg("浙江", 1000)).unwrap();
        assert_eq!((q.steps, q.freight, q.total), (0, Fen(300), Fen(300)));
        let q = zto().quote(&pkg("浙江", 1)).unwrap();
        assert_eq!(q.total, Fen(300));
        let q = zto().quote(&pkg("浙江", 0)).unwrap();
        assert_eq!(q.total, Fen(300), "a weightless package still pays 首重");
    }

    #[test]
    fn additional_weight_rounds_up_to_the_next_step() {
        // 1001 g: one started kilogram above 首重.
        let q = zto().quote(&pkg("广东", 1001)).unwrap();
        assert_eq!((q.steps, q.total), (1, Fen(500 + 200)));
        // 2000 g: exactly one step.
        assert_eq!(zto().quote(&pkg("广东", 2000)).unwrap().steps, 1);
        // 2001 g: two steps.
        let q = zto().quote(&pkg("广东", 2001)).unwrap();
        assert_eq!((q.steps, q.total), (2, Fen(500 + 2 * 200)));
        // A half-kilogram step.
        let mut t = zto();
        t.zones[1].step_g = 500;
        t.zones[1].step_fen = Fen(100);
        let q = t.quote(&pkg("广东", 2001)).unwrap();
        assert_eq!((q.steps, q.total), (3, Fen(500 + 3 * 100)));
    }

    #[test]
    fn volumetric_weight_is_charged_when_it_exceeds_the_actual_weight() {
        // 400 × 300 × 200 mm = 24 000 cm³ / 8000 = 3 kg, against 1.2 kg on the scale.
        let light_but_big = pkg("广东", 1200).with_dims(DimsMm::new(400, 300, 200).unwrap());
        let q = zto().quote(&light_but_big).unwrap();
        assert_eq!(q.volumetric_g, Some(3000));
        assert_eq!((q.chargeable_g, q.basis), (3000, WeightBasis::Volumetric));
        assert_eq!(q.total, Fen(500 + 2 * 200));
        // Heavy and small: the scale wins.
        let dense = pkg("广东", 5000).with_dims(DimsMm::new(200, 100, 100).unwrap());
        let q = zto().quote(&dense).unwrap();
        assert_eq!(
            (q.volumetric_g, q.chargeable_g, q.basis),
            (Some(250), 5000, WeightBasis::Actual)
        );
    }

    #[test]
    fn the_divisor_is_per_table() {
        let box_ = pkg("广东", 1000).with_dims(DimsMm::new(300, 200, 100).unwrap());
        // 6000 cm³: 1 kg at 6000, 750 g at 8000, none without a divisor.
        assert_eq!(volumetric_g(box_.dims_mm.unwrap().volume_mm3(), 6000), 1000);
        assert_eq!(volumetric_g(box_.dims_mm.unwrap().volume_mm3(), 8000), 750);
        assert_eq!(
            volumetric_g(6_000_001, 6000),
            1001,
            "rounded up to the gram"
        );
        let mut t = zto();
        t.volumetric_divisor = None;
        assert_eq!(t.quote(&box_).unwrap().volumetric_g, None);
    }

    #[test]
    fn destination_surcharges_add_to_the_freight() {
        let q = zto().quote(&pkg("新疆", 2500)).unwrap();
        assert_eq!(q.freight, Fen(1500 + 2 * 1200));
        assert_eq!(
            q.surcharges,
            [AppliedSurcharge {
                name: "偏远附加费".into(),
                fen: Fen(500)
            }]
        );
        assert_eq!(q.total, Fen(1500 + 2400 + 500));
    }

    #[test]
    fn tag_per_kg_and_percentage_surcharges() {
        let mut t = zto();
        t.surcharges.push(Surcharge {
            name: "冷链附加费".into(),
            applies: Applies::Tag {
                tag: Tag::ColdChain,
            },
            amount: Amount::PerKg(Fen(150)),
        });
        t.surcharges.push(Surcharge {
            name: "燃油附加费".into(),
            applies: Applies::Always,
            amount: Amount::FreightBasisPoints(1000),
        });
        let cold = pkg("广东", 2200).with_tag(Tag::ColdChain);
        let q = t.quote(&cold).unwrap();
        // Freight: 500 + 2 × 200 = 900; cold: 3 started kg × 150; fuel 10 % of 900.
        assert_eq!(q.freight, Fen(900));
        let fees: Vec<Fen> = q.surcharges.iter().map(|s| s.fen).collect();
        assert_eq!(fees, [Fen(450), Fen(90)]);
        assert_eq!(q.total, Fen(900 + 450 + 90));
        // Without the tag only the fuel surcharge applies.
        assert_eq!(t.quote(&pkg("广东", 2200)).unwrap().total, Fen(990));
    }

    #[test]
    fn destinations_without_a_zone_and_overweight_packages_are_refused() {
        assert_eq!(
            zto().quote(&pkg("海南", 500)),
            Err(RateError::NoZone {
                carrier: Carrier::Zto,
                province: p("海南")
            })
        );
        assert_eq!(
            zto().quote(&pkg("浙江", 50_001)),
            Err(RateError::TooHeavy {
                carrier: Carrier::Zto,
                chargeable_g: 50_001,
                max_g: 50_000
            })
        );
    }

    #[test]
    fn quotes_explain_themselves() {
        let q = zto()
            .quote(&pkg("新疆", 1200).with_dims(DimsMm::new(400, 300, 200).unwrap()))
            .unwrap();
        assert_eq!(
            q.to_string(),
            "ZTO 杭州仓协议价, zone 偏远: charged 3000 g (volumetric; actual 1200 g); \
             首重 1000 g ¥15.00 + 续重 2 × 1000 g × ¥12.00 = ¥39.00; 偏远附加费 ¥5.00; total ¥44.00"
        );
    }

    #[test]
    fn validation_catches_inconsistent_tables() {
        assert_eq!(zto().validate(), Ok(()));
        let mut t = zto();
        t.zones[0].step_g = 0;
        assert!(t.validate().is_err());
        let mut t = zto();
        t.zones[1].provinces.push(p("浙江"));
        let err = t.validate().unwrap_err().to_string();
        assert!(err.contains("浙江 is in zones 江浙沪 and 二区"), "{err}");
        let mut t = zto();
        t.volumetric_divisor = Some(0);
        assert!(t.validate().is_err());
    }

    #[test]
    fn tables_load_from_json() {
        let json = r#"{
            "carrier": "SF", "name": "顺丰标快", "volumetric_divisor": 6000,
            "zones": [{"name": "全国", "provinces": ["广东", "北京"], "first_g": 1000,
                       "first_fen": 1200, "step_g": 1000, "step_fen": 200}],
            "surcharges": [{"name": "冷链", "when": "tag", "tag": "冷链",
                            "amount": {"kind": "flat", "value": 800}}]
        }"#;
        let t: RateTable = serde_json::from_str(json).unwrap();
        assert_eq!(t.validate(), Ok(()));
        let q = t
            .quote(&pkg("北京", 1500).with_tag(Tag::ColdChain))
            .unwrap();
        assert_eq!(q.total, Fen(1200 + 200 + 800));
    }
}
