//! Reports (报表): the period's figures for the console and the API, and their export
//! ([`export`]). The figures are `fahuo_domain::reports::build` over the store's facts.

pub mod export;

use crate::{Actor, App, AppError, Result};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use fahuo_carriers::selection::RuleSet;
use fahuo_domain::deadline::{SHANGHAI, shanghai_day};
use fahuo_domain::reports::{ParcelFact, Report, build};
use fahuo_domain::{ParseError, Permission, WarehouseId};
use std::collections::HashMap;

/// A report period: whole days in Asia/Shanghai, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The last `days` days up to today.
    pub fn last_days(now: DateTime<Utc>, days: i64) -> Period {
        let to = shanghai_day(now);
        Period {
            from: to - Duration::days(days - 1),
            to,
        }
    }

    /// From `YYYY-MM-DD` strings; at most 366 days, `from` not after `to`.
    pub fn parse(from: &str, to: &str) -> Result<Period> {
        let day = |field: &'static str, s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| ParseError::new(field, format!("{s:?} is not a YYYY-MM-DD date")))
        };
        let p = Period {
            from: day("from", from)?,
            to: day("to", to)?,
        };
        if p.from > p.to {
            return Err(ParseError::new("from", "the period starts after it ends").into());
        }
        if (p.to - p.from).num_days() > 365 {
            return Err(ParseError::new("to", "a report covers at most 366 days").into());
        }
        Ok(p)
    }

    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| {
            SHANGHAI
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default()
        };
        (start(self.from), start(self.to + Duration::days(1)))
    }

    pub fn label(&self) -> String {
        format!("{} 至 {}", self.from, self.to)
    }
}

/// What the parcel costs by the warehouse's own rate table for its carrier: the carrier's
/// price, as the merchant entered it for carrier selection. `None` without a table, a weight
/// or a known destination province.
fn price(rules: &RuleSet, fact: &ParcelFact) -> Option<i64> {
    let carrier = fahuo_carriers::Carrier::from_code(&fact.carrier)?;
    let table = rules.tables.iter().find(|t| t.carrier == carrier)?;
    let package = fahuo_carriers::Package {
        id: fact.package_id.to_string(),
        shop: String::new(),
        destination: fahuo_carriers::Province::parse(&fact.dest_province).ok()?,
        weight_g: u32::try_from(fact.weight_g?).ok()?,
        dims_mm: None,
        tags: Default::default(),
    };
    table.quote(&package).ok().map(|q| q.total.0)
}

impl App {
    /// The report for parcels shipped in the period, within the actor's shops and warehouses.
    pub async fn report(&self, actor: &Actor, period: Period) -> Result<Report> {
        actor.require(Permission::ViewReports)?;
        let (from, to) = period.bounds();
        let packaging = self.shipping_settings(actor.tenant_id).await?.packaging_fen;
        let rows = self
            .store()
            .report_facts(actor.tenant_id, &actor.scope, from, to, packaging)
            .await?;
        let mut rules: HashMap<WarehouseId, Option<RuleSet>> = HashMap::new();
        let mut facts = Vec::with_capacity(rows.len());
        for (mut fact, warehouse) in rows {
            if fact.shipping_cost_fen.is_none()
                && let Some(w) = warehouse
            {
                let table = match rules.entry(w) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let system = Actor::system(actor.tenant_id, "reports");
                        e.insert(self.carrier_rules(&system, w).await?)
                    }
                };
                fact.shipping_cost_fen = table.as_ref().and_then(|r| price(r, &fact));
            }
            facts.push(fact);
        }
        Ok(build(&facts, self.now()))
    }

    /// The report as an xlsx workbook, one sheet per table.
    pub async fn report_xlsx(&self, actor: &Actor, period: Period) -> Result<Vec<u8>> {
        let report = self.report(actor, period).await?;
        export::report_xlsx(&report, &period.label()).map_err(|e| AppError::Internal(e.to_string()))
    }
}
