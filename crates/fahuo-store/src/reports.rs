//! The reports' storage: one [`ParcelFact`] per (parcel, order) shipped in a period, with the
//! mistakes attributed to it. The figures themselves are computed in
//! `fahuo_domain::reports`, so they can be checked by hand.
//!
//! A few batched queries per period (facts, SKUs, holds, pack checks, write-back trouble,
//! returns), never one query per parcel.

use crate::{Result, Store, from_ms, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::deadline::shanghai_day;
use fahuo_domain::reports::{ErrorKind, ParcelFact};
use fahuo_domain::tracking::TrackState;
use fahuo_domain::{Scope, ShopId, TenantId, WarehouseId};
use std::collections::{BTreeMap, BTreeSet};

/// The orders of the period's parcels (a sub-select bound to $1 tenant, $2 from, $3 to).
const PERIOD_ORDERS: &str = "SELECT s.order_id FROM parcels p JOIN shipments s ON s.tenant_id = p.tenant_id \
     AND s.carrier_code = p.carrier_code AND s.tracking_no = p.tracking_no AND s.state = 'succeeded' \
     WHERE p.tenant_id = $1 AND p.shipped_at >= $2 AND p.shipped_at < $3";

#[derive(sqlx::FromRow)]
struct FactRow {
    parcel_id: i64,
    order_id: i64,
    platform: String,
    carrier_code: String,
    origin_province: Option<String>,
    origin_city: Option<String>,
    dest_province: String,
    dest_city: String,
    weight_g: Option<i64>,
    shipping_cost_fen: Option<i64>,
    printed_at: Option<i64>,
    shipped_at: i64,
    ship_by: Option<i64>,
    first_scan_at: Option<i64>,
    delivered_at: Option<i64>,
    state: Option<String>,
    had_exception: bool,
    package_id: Option<i64>,
    warehouse_id: Option<i64>,
}

impl Store {
    /// The facts of every parcel whose write-back was accepted in `[from, to)`, each with the
    /// warehouse it left (for pricing it with that warehouse's rate tables).
    /// `packaging_fen` is the merchant's packaging cost per parcel. A scoped user's facts are
    /// those of its shops' orders that left its warehouses (every other query below is keyed
    /// by these rows).
    pub async fn report_facts(
        &self,
        tenant: TenantId,
        scope: &Scope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        packaging_fen: i64,
    ) -> Result<Vec<(ParcelFact, Option<WarehouseId>)>> {
        let sql = format!(
            "SELECT p.id AS parcel_id, s.order_id AS order_id, o.platform AS platform, \
               p.carrier_code AS carrier_code, \
               COALESCE(w.province, (SELECT w2.province FROM warehouses w2 WHERE w2.tenant_id = p.tenant_id ORDER BY w2.id LIMIT 1)) AS origin_province, \
               COALESCE(w.city, (SELECT w2.city FROM warehouses w2 WHERE w2.tenant_id = p.tenant_id ORDER BY w2.id LIMIT 1)) AS origin_city, \
               o.receiver_province AS dest_province, o.receiver_city AS dest_city, pk.weight_g AS weight_g, \
               pk.shipping_cost_fen AS shipping_cost_fen, p.printed_at AS printed_at, p.shipped_at AS shipped_at, \
               o.ship_by AS ship_by, p.first_scan_at AS first_scan_at, p.delivered_at AS delivered_at, p.state AS state, \
               EXISTS (SELECT 1 FROM radar_alerts a WHERE a.tenant_id = p.tenant_id AND (a.parcel_id = p.id \
                 OR (a.parcel_id IS NULL AND a.order_id = s.order_id))) AS had_exception, \
               p.package_id AS package_id, pk.warehouse_id AS warehouse_id \
             FROM parcels p JOIN shipments s ON s.tenant_id = p.tenant_id AND s.carrier_code = p.carrier_code \
               AND s.tracking_no = p.tracking_no AND s.state = 'succeeded' \
             JOIN orders o ON o.id = s.order_id \
             LEFT JOIN packages pk ON pk.id = p.package_id \
             LEFT JOIN warehouses w ON w.id = pk.warehouse_id \
             WHERE p.tenant_id = $1 AND p.shipped_at >= $2 AND p.shipped_at < $3 \
               AND ($4 IS NULL OR o.shop_id IN ({})) AND ($5 IS NULL OR pk.warehouse_id IN ({})) \
             ORDER BY p.id, s.order_id",
            crate::ids_in(&self.db, 4),
            crate::ids_in(&self.db, 5)
        );
        let shops = crate::scope_ids(scope.shops.as_deref(), ShopId::get);
        let warehouses = crate::scope_ids(scope.warehouses.as_deref(), WarehouseId::get);
        let rows: Vec<FactRow> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant.get()).bind(ms(from)).bind(ms(to))
                .bind(&shops).bind(&warehouses).fetch_all(pool).await?
        });
        let skus_sql = format!(
            "SELECT ol.order_id, COALESCE(sk.code, ol.sku_code, ol.title) FROM order_lines ol \
             LEFT JOIN skus sk ON sk.id = ol.sku_id WHERE ol.order_id IN ({PERIOD_ORDERS})"
        );
        let holds_sql = format!(
            "SELECT order_id, created_at FROM holds WHERE tenant_id = $1 AND reason_code LIKE 'address%' \
             AND order_id IN ({PERIOD_ORDERS})"
        );
        let numbers_sql = format!(
            "SELECT order_id, updated_at FROM shipments WHERE tenant_id = $1 \
             AND (state IN ('conflict', 'failed') OR changes > 0) AND order_id IN ({PERIOD_ORDERS})"
        );
        let returns_sql = format!(
            "SELECT DISTINCT order_id FROM after_sales WHERE tenant_id = $1 \
             AND kind IN ('return_refund', 'exchange') AND order_id IN ({PERIOD_ORDERS})"
        );
        let (t, f, u) = (tenant.get(), ms(from), ms(to));
        let skus: Vec<(i64, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(skus_sql.as_str())).bind(t).bind(f).bind(u).fetch_all(pool).await?
        });
        let holds: Vec<(i64, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(holds_sql.as_str())).bind(t).bind(f).bind(u).fetch_all(pool).await?
        });
        let numbers: Vec<(i64, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(numbers_sql.as_str())).bind(t).bind(f).bind(u).fetch_all(pool).await?
        });
        let returns: Vec<i64> = on_db!(&self.db, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(returns_sql.as_str())).bind(t).bind(f).bind(u).fetch_all(pool).await?
        });
        let wrong_items: Vec<(i64, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                    "SELECT c.package_id, c.updated_at FROM pack_checks c JOIN parcels p ON p.package_id = c.package_id \
                     WHERE p.tenant_id = $1 AND p.shipped_at >= $2 AND p.shipped_at < $3 AND c.refused > 0")
                .bind(t).bind(f).bind(u).fetch_all(pool).await?
        });
        let mut skus_of: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for (order, code) in skus {
            skus_of.entry(order).or_default().insert(code);
        }
        let mut order_errors: BTreeMap<i64, Vec<(ErrorKind, i64)>> = BTreeMap::new();
        for (order, at) in holds {
            order_errors
                .entry(order)
                .or_default()
                .push((ErrorKind::Address, at));
        }
        for (order, at) in numbers {
            order_errors
                .entry(order)
                .or_default()
                .push((ErrorKind::WrongNumber, at));
        }
        let wrong_items: BTreeMap<i64, i64> = wrong_items.into_iter().collect();
        let returns: BTreeSet<i64> = returns.into_iter().collect();
        let mut facts = Vec::with_capacity(rows.len());
        for r in rows {
            let state = r.state.as_deref().map(TrackState::parse).transpose()?;
            let shipped_at = from_ms(r.shipped_at);
            let ship_by = opt_from_ms(r.ship_by);
            let mut errors: Vec<(ErrorKind, chrono::NaiveDate)> = order_errors
                .get(&r.order_id)
                .into_iter()
                .flatten()
                .map(|(k, at)| (*k, shanghai_day(from_ms(*at))))
                .collect();
            if let Some(at) = r.package_id.and_then(|p| wrong_items.get(&p)) {
                errors.push((ErrorKind::WrongItem, shanghai_day(from_ms(*at))));
            }
            if ship_by.is_some_and(|by| shipped_at > by) {
                errors.push((ErrorKind::LateShipment, shanghai_day(shipped_at)));
            }
            errors.sort();
            let warehouse = r.warehouse_id.map(WarehouseId);
            facts.push((
                ParcelFact {
                    package_id: r.parcel_id,
                    order_id: r.order_id,
                    platform: r.platform,
                    carrier: r.carrier_code,
                    origin_province: r.origin_province.unwrap_or_default(),
                    origin_city: r.origin_city.unwrap_or_default(),
                    dest_province: r.dest_province,
                    dest_city: r.dest_city,
                    weight_g: r.weight_g,
                    shipping_cost_fen: r.shipping_cost_fen,
                    packaging_cost_fen: (packaging_fen > 0).then_some(packaging_fen),
                    skus: skus_of
                        .get(&r.order_id)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    printed_at: opt_from_ms(r.printed_at),
                    shipped_at: Some(shipped_at),
                    ship_by,
                    picked_up_at: opt_from_ms(r.first_scan_at),
                    delivered_at: opt_from_ms(r.delivered_at),
                    state,
                    had_exception: r.had_exception,
                    returned: matches!(
                        state,
                        Some(TrackState::Refused | TrackState::Returning | TrackState::Returned)
                    ) || returns.contains(&r.order_id),
                    errors,
                },
                warehouse,
            ));
        }
        Ok(facts)
    }
}
