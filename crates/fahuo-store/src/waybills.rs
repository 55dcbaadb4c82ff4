//! From allocated order to printed label: packages, carrier accounts, waybill requests (the
//! request key stored before any number is asked for), live waybills and print jobs.
//!
//! Exactly-once rests on two database rules, not on timing: at most one open request per
//! package and account (`waybill_requests_open`), and at most one live waybill per package
//! (`waybills_live_package`). A number that lost a race is marked `abandoned` for recycling.

use crate::audit::insert_audit;
use crate::orders::apply_order_event;
use crate::{Result, Store, StoreError, from_ms, in_tx, ms, on_db, opt_from_ms};
use chrono::{DateTime, Utc};
use fahuo_domain::audit::AuditEntry;
use fahuo_domain::fulfilment::{
    CarrierAccount, NewCarrierAccount, PrintJob, PrintedLabel, Waybill, WaybillService,
};
use fahuo_domain::{
    CarrierAccountId, CarrierCode, OrderEvent, OrderId, OrderState, PackageId, PrintJobId, ShopId,
    TenantId, TrackingNo, WarehouseId, WaybillId, WaybillRequestId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

const ACCOUNT_COLUMNS: &str = "a.id, a.name, a.service, a.carrier_code, a.base_url, a.shop_id, \
    a.priority, a.sender_name, a.sender_phone, a.quota, a.reported_balance, a.balance_checked_at, a.low_balance_threshold, \
    a.latency_budget_ms, a.enabled, a.created_at, a.numbers_held AS used";

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    name: String,
    service: String,
    carrier_code: String,
    base_url: String,
    shop_id: Option<i64>,
    priority: i64,
    sender_name: String,
    sender_phone: String,
    quota: Option<i64>,
    reported_balance: Option<i64>,
    balance_checked_at: Option<i64>,
    low_balance_threshold: i64,
    latency_budget_ms: i64,
    enabled: bool,
    created_at: i64,
    used: i64,
}

impl TryFrom<AccountRow> for CarrierAccount {
    type Error = StoreError;
    fn try_from(r: AccountRow) -> Result<CarrierAccount> {
        Ok(CarrierAccount {
            id: CarrierAccountId(r.id),
            name: r.name,
            service: WaybillService::parse(&r.service)?,
            carrier: CarrierCode::parse(&r.carrier_code)?,
            base_url: r.base_url,
            shop_id: r.shop_id.map(ShopId),
            priority: r.priority,
            sender_name: r.sender_name,
            sender_phone: r.sender_phone,
            quota: r.quota,
            reported_balance: r.reported_balance,
            balance_checked_at: opt_from_ms(r.balance_checked_at),
            used: r.used,
            low_balance_threshold: r.low_balance_threshold,
            latency_budget_ms: r.latency_budget_ms,
            enabled: r.enabled,
            created_at: from_ms(r.created_at),
        })
    }
}

/// A package as the waybill step needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageForWaybill {
    pub id: PackageId,
    pub warehouse_id: WarehouseId,
    pub carrier: Option<CarrierCode>,
    pub weight_g: Option<i64>,
    pub orders: Vec<OrderId>,
    /// The live number, when one was already issued.
    pub waybill: Option<Waybill>,
}

/// A print job as the printing page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrintJobSummary {
    pub id: PrintJobId,
    pub label_size: String,
    pub label_count: i64,
    /// Labels in the job that had been printed before.
    pub reprints: i64,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A request for a number under its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaybillRequest {
    pub id: WaybillRequestId,
    pub tenant_id: TenantId,
    pub package_id: PackageId,
    pub account_id: CarrierAccountId,
    pub request_key: String,
    /// `pending`, `issued`, `failed`, `abandoned` or `recycled`.
    pub state: String,
    pub tracking_no: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    tenant_id: i64,
    package_id: i64,
    account_id: i64,
    request_key: String,
    state: String,
    tracking_no: Option<String>,
}

impl From<RequestRow> for WaybillRequest {
    fn from(r: RequestRow) -> Self {
        WaybillRequest {
            id: WaybillRequestId(r.id),
            tenant_id: TenantId(r.tenant_id),
            package_id: PackageId(r.package_id),
            account_id: CarrierAccountId(r.account_id),
            request_key: r.request_key,
            state: r.state,
            tracking_no: r.tracking_no,
        }
    }
}

const REQUEST_COLUMNS: &str =
    "id, tenant_id, package_id, account_id, request_key, state, tracking_no";

/// A number as the service gave it, already checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedNumber {
    pub tracking_no: TrackingNo,
    pub sort_code: Option<String>,
    pub hub: Option<String>,
}

/// What storing an issued number did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The number is now the package's live waybill.
    Live(Waybill),
    /// Another number won the race; this one is marked for recycling. The live one is given.
    Superseded(Waybill),
}

impl Recorded {
    pub fn waybill(&self) -> &Waybill {
        match self {
            Recorded::Live(w) | Recorded::Superseded(w) => w,
        }
    }
}

#[derive(sqlx::FromRow)]
struct WaybillRow {
    id: i64,
    package_id: i64,
    carrier_code: String,
    tracking_no: String,
    sort_code: Option<String>,
    hub: Option<String>,
    issued_at: i64,
    cancelled_at: Option<i64>,
}

impl TryFrom<WaybillRow> for Waybill {
    type Error = StoreError;
    fn try_from(r: WaybillRow) -> Result<Waybill> {
        Ok(Waybill {
            id: WaybillId(r.id),
            package_id: PackageId(r.package_id),
            carrier: CarrierCode::parse(&r.carrier_code)?,
            tracking_no: TrackingNo::parse(&r.tracking_no)?,
            sort_code: r.sort_code,
            hub: r.hub,
            issued_at: from_ms(r.issued_at),
            cancelled_at: opt_from_ms(r.cancelled_at),
        })
    }
}

const LIVE_WAYBILL: &str = "SELECT id, package_id, carrier_code, tracking_no, sort_code, hub, \
    issued_at, cancelled_at FROM waybills WHERE tenant_id = $1 AND package_id = $2 \
    AND cancelled_at IS NULL";

impl Store {
    // ------------------------------------------------------------------ carrier accounts

    pub async fn create_carrier_account<C: Serialize>(
        &self,
        tenant: TenantId,
        new: &NewCarrierAccount,
        credentials: &C,
        audit: &AuditEntry,
    ) -> Result<CarrierAccount> {
        let blob = self.pii.encrypt_json(credentials);
        let id: i64 = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO carrier_accounts (tenant_id, name, service, carrier_code, base_url, \
                 shop_id, credentials_enc, priority, sender_name, sender_phone, quota, \
                 low_balance_threshold, latency_budget_ms, enabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, TRUE, $14) RETURNING id")
                .bind(tenant.get())
                .bind(&new.name)
                .bind(new.service.as_str())
                .bind(new.carrier.as_str())
                .bind(&new.base_url)
                .bind(new.shop_id.map(ShopId::get))
                .bind(&blob)
                .bind(new.priority)
                .bind(&new.sender_name)
                .bind(&new.sender_phone)
                .bind(new.quota)
                .bind(new.low_balance_threshold)
                .bind(new.latency_budget_ms)
                .bind(ms(audit.at))
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("carrier account {} already exists", new.name))
                    }
                    other => other,
                })?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            insert_audit!(&mut *tx, &entry);
            id
        });
        self.carrier_account(tenant, CarrierAccountId(id)).await
    }

    pub async fn carrier_account(
        &self,
        tenant: TenantId,
        id: CarrierAccountId,
    ) -> Result<CarrierAccount> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM carrier_accounts a WHERE a.tenant_id = $1 AND a.id = $2"
        );
        let row: AccountRow = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        row.try_into()
    }

    /// The tenant's accounts, by carrier and then in failover order.
    pub async fn carrier_accounts(&self, tenant: TenantId) -> Result<Vec<CarrierAccount>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM carrier_accounts a WHERE a.tenant_id = $1 \
             ORDER BY a.carrier_code, a.priority, a.id"
        );
        let rows: Vec<AccountRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The decrypted credentials of an account, for its waybill client only.
    pub async fn carrier_account_credentials<C: DeserializeOwned>(
        &self,
        tenant: TenantId,
        id: CarrierAccountId,
    ) -> Result<C> {
        let blob: Vec<u8> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT credentials_enc FROM carrier_accounts WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?);
        self.pii.decrypt_json(&blob)
    }

    /// Points an account at its service anew (another base URL, new credentials). Audited.
    pub async fn reconnect_carrier_account<C: Serialize>(
        &self,
        tenant: TenantId,
        id: CarrierAccountId,
        base_url: &str,
        credentials: &C,
        audit: &AuditEntry,
    ) -> Result<()> {
        let blob = self.pii.encrypt_json(credentials);
        in_tx!(&self.db, tx => {
            let done = sqlx::query(
                    "UPDATE carrier_accounts SET base_url = $1, credentials_enc = $2 \
                     WHERE tenant_id = $3 AND id = $4")
                .bind(base_url).bind(&blob).bind(tenant.get()).bind(id.get())
                .execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound);
            }
            let mut entry = audit.clone();
            entry.entity_id = Some(id.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// Records the balance a service reported.
    pub async fn set_carrier_balance(
        &self,
        tenant: TenantId,
        id: CarrierAccountId,
        balance: i64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let done = on_db!(&self.db, pool => sqlx::query(
                "UPDATE carrier_accounts SET reported_balance = $1, balance_checked_at = $2 \
                 WHERE tenant_id = $3 AND id = $4")
            .bind(balance).bind(ms(at)).bind(tenant.get()).bind(id.get())
            .execute(pool).await?.rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    // ------------------------------------------------------------------ carrier rules

    /// Stores the carrier selection settings of one origin warehouse (the caller validated
    /// them), replacing any before. Audited.
    pub async fn set_carrier_rules(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
        rule_set_json: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let _: i64 = sqlx::query_scalar("SELECT id FROM warehouses WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(warehouse.get()).fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO carrier_rule_sets (tenant_id, warehouse_id, rule_set_json, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, warehouse_id) \
                 DO UPDATE SET rule_set_json = excluded.rule_set_json, updated_at = excluded.updated_at")
                .bind(tenant.get()).bind(warehouse.get()).bind(rule_set_json).bind(ms(audit.at))
                .execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(warehouse.get());
            insert_audit!(&mut *tx, &entry);
        });
        Ok(())
    }

    /// The carrier selection settings of one origin warehouse, as stored.
    pub async fn carrier_rules(
        &self,
        tenant: TenantId,
        warehouse: WarehouseId,
    ) -> Result<Option<String>> {
        let json: Option<String> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT rule_set_json FROM carrier_rule_sets WHERE tenant_id = $1 AND warehouse_id = $2")
            .bind(tenant.get()).bind(warehouse.get()).fetch_optional(pool).await?);
        Ok(json)
    }

    // ------------------------------------------------------------------ packages

    /// The open (not cancelled) packages of an order.
    pub async fn packages_of_order(
        &self,
        tenant: TenantId,
        order: OrderId,
    ) -> Result<Vec<PackageId>> {
        let ids: Vec<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT DISTINCT p.id FROM packages p JOIN package_lines l ON l.package_id = p.id \
                 WHERE p.tenant_id = $1 AND l.order_id = $2 AND p.state <> 'cancelled' ORDER BY p.id")
            .bind(tenant.get()).bind(order.get()).fetch_all(pool).await?);
        Ok(ids.into_iter().map(PackageId).collect())
    }

    pub async fn package_for_waybill(
        &self,
        tenant: TenantId,
        id: PackageId,
    ) -> Result<PackageForWaybill> {
        on_db!(&self.db, pool => {
            let (warehouse, carrier, weight): (i64, Option<String>, Option<i64>) = sqlx::query_as(
                    "SELECT warehouse_id, carrier_code, weight_g FROM packages \
                     WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?;
            let orders: Vec<i64> = sqlx::query_scalar(
                    "SELECT DISTINCT order_id FROM package_lines WHERE tenant_id = $1 \
                     AND package_id = $2 ORDER BY order_id")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            let waybill: Option<WaybillRow> = sqlx::query_as(LIVE_WAYBILL)
                .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?;
            Ok(PackageForWaybill {
                id,
                warehouse_id: WarehouseId(warehouse),
                carrier: carrier.as_deref().map(CarrierCode::parse).transpose()?,
                weight_g: weight,
                orders: orders.into_iter().map(OrderId).collect(),
                waybill: waybill.map(TryInto::try_into).transpose()?,
            })
        })
    }

    // ------------------------------------------------------------------ waybill requests

    /// The open request (pending or issued) for this package on this account, if any.
    pub async fn open_waybill_request(
        &self,
        tenant: TenantId,
        package: PackageId,
        account: CarrierAccountId,
    ) -> Result<Option<WaybillRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM waybill_requests WHERE tenant_id = $1 \
             AND package_id = $2 AND account_id = $3 AND state IN ('pending', 'issued')"
        );
        let row: Option<RequestRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.get()).bind(package.get()).bind(account.get())
            .fetch_optional(pool).await?);
        Ok(row.map(Into::into))
    }

    /// Opens a request for a number: under `key` when the service handed one out, else under a
    /// key of fahuo's own (`FH{package}A{account}R{n}`, new for each request of the pair). If a
    /// concurrent call opened one first, that one is returned: both then ask under one key.
    pub async fn open_waybill_request_with(
        &self,
        tenant: TenantId,
        package: PackageId,
        account: CarrierAccountId,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WaybillRequest> {
        // A concurrent caller may open and close a request between our insert and read (its
        // key then blocks ours): count again and retry.
        for _ in 0..5 {
            self.try_open_waybill_request(tenant, package, account, key, now)
                .await?;
            if let Some(open) = self.open_waybill_request(tenant, package, account).await? {
                return Ok(open);
            }
        }
        Err(StoreError::Conflict(
            "waybill request key already used".into(),
        ))
    }

    async fn try_open_waybill_request(
        &self,
        tenant: TenantId,
        package: PackageId,
        account: CarrierAccountId,
        key: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(&self.db, tx => {
            let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM waybill_requests WHERE package_id = $1 AND account_id = $2")
                .bind(package.get()).bind(account.get()).fetch_one(&mut *tx).await?;
            let key = key.map_or_else(
                || format!("FH{}A{}R{}", package.get(), account.get(), n + 1),
                str::to_string,
            );
            // Both must be the tenant's (the foreign keys do not know tenants).
            let _: i64 = sqlx::query_scalar("SELECT id FROM packages WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(package.get()).fetch_one(&mut *tx).await?;
            let _: i64 = sqlx::query_scalar("SELECT id FROM carrier_accounts WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(account.get()).fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO waybill_requests (tenant_id, package_id, account_id, request_key, state, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) \
                 ON CONFLICT DO NOTHING")
                .bind(tenant.get()).bind(package.get()).bind(account.get()).bind(&key).bind(ms(now))
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Stores a number the service issued under `request`. The first number stored for the
    /// package becomes its live waybill (the package and its allocated orders move to
    /// waybill_issued); a later one is marked `abandoned` for recycling.
    pub async fn record_waybill(
        &self,
        request: &WaybillRequest,
        carrier: &CarrierCode,
        issued: &IssuedNumber,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        let tenant = request.tenant_id;
        let package = request.package_id;
        let recorded = in_tx!(&self.db, tx => {
            sqlx::query(
                "UPDATE waybill_requests SET state = 'issued', tracking_no = $1, updated_at = $2 \
                 WHERE tenant_id = $3 AND id = $4")
                .bind(issued.tracking_no.as_str()).bind(ms(now))
                .bind(tenant.get()).bind(request.id.get())
                .execute(&mut *tx).await?;
            let inserted = sqlx::query(
                "INSERT INTO waybills (tenant_id, package_id, carrier_code, tracking_no, sort_code, \
                 hub, issued_at, account_id, request_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT DO NOTHING")
                .bind(tenant.get()).bind(package.get()).bind(carrier.as_str())
                .bind(issued.tracking_no.as_str()).bind(issued.sort_code.as_deref())
                .bind(issued.hub.as_deref()).bind(ms(now)).bind(request.account_id.get())
                .bind(&request.request_key)
                .execute(&mut *tx).await?
                .rows_affected() == 1;
            let live: WaybillRow = sqlx::query_as(LIVE_WAYBILL)
                .bind(tenant.get()).bind(package.get()).fetch_one(&mut *tx).await?;
            let live: Waybill = live.try_into()?;
            if live.tracking_no.as_str() != issued.tracking_no.as_str() {
                sqlx::query("UPDATE waybill_requests SET state = 'abandoned', updated_at = $1 \
                             WHERE tenant_id = $2 AND id = $3")
                    .bind(ms(now)).bind(tenant.get()).bind(request.id.get())
                    .execute(&mut *tx).await?;
                Recorded::Superseded(live)
            } else {
                if inserted {
                    sqlx::query("UPDATE packages SET state = 'waybill_issued' \
                                 WHERE tenant_id = $1 AND id = $2 AND state = 'open'")
                        .bind(tenant.get()).bind(package.get()).execute(&mut *tx).await?;
                    let orders: Vec<(i64, String)> = sqlx::query_as(
                            "SELECT DISTINCT o.id, o.state FROM orders o JOIN package_lines l \
                             ON l.order_id = o.id WHERE l.tenant_id = $1 AND l.package_id = $2")
                        .bind(tenant.get()).bind(package.get()).fetch_all(&mut *tx).await?;
                    for (order, state) in orders {
                        if OrderState::parse(&state)? == OrderState::Allocated {
                            let order = OrderId(order);
                            apply_order_event!(tx, tenant, order, OrderEvent::IssueWaybill, now);
                        }
                    }
                }
                Recorded::Live(live)
            }
        });
        Ok(recorded)
    }

    /// Closes a request that got no number. `abandoned`: a number may exist on the service
    /// (the answer never came) and must be recycled; otherwise the service refused (`failed`).
    pub async fn close_waybill_request(
        &self,
        request: &WaybillRequest,
        error: &str,
        abandoned: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let state = if abandoned { "abandoned" } else { "failed" };
        on_db!(&self.db, pool => sqlx::query(
                "UPDATE waybill_requests SET state = $1, error = $2, updated_at = $3 \
                 WHERE tenant_id = $4 AND id = $5 AND state = 'pending'")
            .bind(state).bind(error).bind(ms(now))
            .bind(request.tenant_id.get()).bind(request.id.get())
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Requests whose number (if any) nobody uses, oldest first, of every tenant: for the
    /// recycling job only.
    pub async fn abandoned_waybill_requests(&self, limit: i64) -> Result<Vec<WaybillRequest>> {
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM waybill_requests WHERE state = 'abandoned' \
             ORDER BY updated_at, id LIMIT $1"
        );
        let rows: Vec<RequestRow> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit).fetch_all(pool).await?);
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Marks an abandoned request's number as given back to the service.
    pub async fn mark_waybill_recycled(
        &self,
        request: &WaybillRequest,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(&self.db, pool => sqlx::query(
                "UPDATE waybill_requests SET state = 'recycled', updated_at = $1 \
                 WHERE tenant_id = $2 AND id = $3 AND state = 'abandoned'")
            .bind(ms(now)).bind(request.tenant_id.get()).bind(request.id.get())
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Every live waybill number of the tenant's packages, for checks and reports.
    pub async fn live_waybills(&self, tenant: TenantId) -> Result<Vec<Waybill>> {
        let rows: Vec<WaybillRow> = on_db!(&self.db, pool => sqlx::query_as(
                "SELECT id, package_id, carrier_code, tracking_no, sort_code, hub, issued_at, \
                 cancelled_at FROM waybills WHERE tenant_id = $1 AND cancelled_at IS NULL ORDER BY id")
            .bind(tenant.get()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    // ------------------------------------------------------------------ print jobs

    /// Records a print of `packages`' labels, in this order. Each label's reprint number is
    /// how many times it was printed before; first prints move the package and its orders to
    /// printed. With an `idempotency_key` the tenant used before, the first job is returned
    /// and nothing is counted again (a double click prints nothing twice).
    #[allow(clippy::too_many_arguments)]
    pub async fn record_print_job(
        &self,
        tenant: TenantId,
        idempotency_key: Option<&str>,
        label_size: &str,
        packages: &[PackageId],
        reason: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<PrintJob> {
        if let Some(key) = idempotency_key
            && let Some(id) = self.print_job_by_key(tenant, key).await?
        {
            return self.print_job(tenant, id).await;
        }
        match self
            .insert_print_job(tenant, idempotency_key, label_size, packages, reason, audit)
            .await
        {
            Ok(id) => self.print_job(tenant, id).await,
            // A concurrent print with the same key won the insert: that job is the answer.
            Err(e) => match idempotency_key {
                Some(key) => match self.print_job_by_key(tenant, key).await? {
                    Some(id) => self.print_job(tenant, id).await,
                    None => Err(e),
                },
                None => Err(e),
            },
        }
    }

    async fn insert_print_job(
        &self,
        tenant: TenantId,
        idempotency_key: Option<&str>,
        label_size: &str,
        packages: &[PackageId],
        reason: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<PrintJobId> {
        let now = audit.at;
        let created_by = audit.actor.name().to_string();
        let id = in_tx!(&self.db, tx => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO print_jobs (tenant_id, idempotency_key, label_size, label_count, \
                 reprints, reason, created_by, created_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7) \
                 RETURNING id")
                .bind(tenant.get()).bind(idempotency_key).bind(label_size)
                .bind(packages.len() as i64).bind(reason).bind(&created_by).bind(ms(now))
                .fetch_one(&mut *tx).await?;
            let mut reprints = 0i64;
            for (seq, package) in packages.iter().enumerate() {
                let tracking: Option<String> = sqlx::query_scalar(
                        "SELECT tracking_no FROM waybills WHERE tenant_id = $1 AND package_id = $2 \
                         AND cancelled_at IS NULL")
                    .bind(tenant.get()).bind(package.get()).fetch_optional(&mut *tx).await?;
                let Some(tracking) = tracking else {
                    return Err(StoreError::Conflict(format!("package {package} has no waybill number yet")));
                };
                let printed_before: i64 = sqlx::query_scalar(
                        "UPDATE packages SET print_count = print_count + 1, \
                         state = CASE WHEN state = 'waybill_issued' THEN 'printed' ELSE state END \
                         WHERE tenant_id = $1 AND id = $2 RETURNING print_count - 1")
                    .bind(tenant.get()).bind(package.get()).fetch_one(&mut *tx).await?;
                if printed_before > 0 {
                    reprints += 1;
                } else {
                    let orders: Vec<(i64, String)> = sqlx::query_as(
                            "SELECT DISTINCT o.id, o.state FROM orders o JOIN package_lines l \
                             ON l.order_id = o.id WHERE l.tenant_id = $1 AND l.package_id = $2")
                        .bind(tenant.get()).bind(package.get()).fetch_all(&mut *tx).await?;
                    for (order, state) in orders {
                        if OrderState::parse(&state)? == OrderState::WaybillIssued {
                            let order = OrderId(order);
                            apply_order_event!(tx, tenant, order, OrderEvent::Print, now);
                        }
                    }
                }
                sqlx::query(
                    "INSERT INTO print_job_items (job_id, tenant_id, seq, package_id, tracking_no, reprint) \
                     VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(id).bind(tenant.get()).bind(seq as i64).bind(package.get())
                    .bind(&tracking).bind(printed_before)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE print_jobs SET reprints = $1 WHERE id = $2")
                .bind(reprints).bind(id).execute(&mut *tx).await?;
            let mut entry = audit.clone();
            entry.entity_id = Some(id);
            entry.after = Some(serde_json::json!({"labels": packages.len(), "reprints": reprints, "reason": reason}));
            insert_audit!(&mut *tx, &entry);
            PrintJobId(id)
        });
        Ok(id)
    }

    /// The tenant's latest print jobs, newest first (the printing page's list).
    /// `warehouses`, `shops` (a sub-account's scope; `None` = all): only jobs whose every
    /// label is of a package of those warehouses, carrying orders of those shops only.
    pub async fn recent_print_jobs(
        &self,
        tenant: TenantId,
        limit: i64,
        warehouses: Option<&[WarehouseId]>,
        shops: Option<&[ShopId]>,
    ) -> Result<Vec<PrintJobSummary>> {
        type Row = (i64, String, i64, i64, Option<String>, String, i64);
        let sql = format!(
            "SELECT id, label_size, label_count, reprints, reason, created_by, created_at \
             FROM print_jobs j WHERE tenant_id = $1 \
             AND ($3 IS NULL OR NOT EXISTS (SELECT 1 FROM print_job_items i \
               JOIN packages p ON p.id = i.package_id WHERE i.job_id = j.id \
               AND p.warehouse_id NOT IN ({}))) \
             AND ($4 IS NULL OR NOT EXISTS (SELECT 1 FROM print_job_items i \
               JOIN package_lines l ON l.package_id = i.package_id \
               JOIN orders o ON o.id = l.order_id WHERE i.job_id = j.id \
               AND o.shop_id NOT IN ({}))) \
             ORDER BY id DESC LIMIT $2",
            crate::ids_in(&self.db, 3),
            crate::ids_in(&self.db, 4)
        );
        let rows: Vec<Row> = on_db!(&self.db, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(tenant.get()).bind(limit)
            .bind(crate::scope_ids(warehouses, WarehouseId::get))
            .bind(crate::scope_ids(shops, ShopId::get))
            .fetch_all(pool).await?);
        Ok(rows
            .into_iter()
            .map(
                |(id, label_size, label_count, reprints, reason, created_by, created_at)| {
                    PrintJobSummary {
                        id: PrintJobId(id),
                        label_size,
                        label_count,
                        reprints,
                        reason,
                        created_by,
                        created_at: from_ms(created_at),
                    }
                },
            )
            .collect())
    }

    async fn print_job_by_key(&self, tenant: TenantId, key: &str) -> Result<Option<PrintJobId>> {
        let id: Option<i64> = on_db!(&self.db, pool => sqlx::query_scalar(
                "SELECT id FROM print_jobs WHERE tenant_id = $1 AND idempotency_key = $2")
            .bind(tenant.get()).bind(key).fetch_optional(pool).await?);
        Ok(id.map(PrintJobId))
    }

    /// The warehouses a print job's packages ship from and the shops of the orders they carry
    /// (what a sub-account's scope is checked against); `NotFound` for another tenant's job.
    pub async fn print_job_scope(
        &self,
        tenant: TenantId,
        id: PrintJobId,
    ) -> Result<(Vec<WarehouseId>, Vec<ShopId>)> {
        let (found, warehouses, shops): (Option<i64>, Vec<i64>, Vec<i64>) = on_db!(&self.db, pool => {
            let found = sqlx::query_scalar("SELECT id FROM print_jobs WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?;
            let warehouses = sqlx::query_scalar(
                    "SELECT DISTINCT p.warehouse_id FROM print_job_items i JOIN packages p ON p.id = i.package_id \
                     WHERE i.tenant_id = $1 AND i.job_id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            let shops = sqlx::query_scalar(
                    "SELECT DISTINCT o.shop_id FROM print_job_items i \
                     JOIN package_lines l ON l.package_id = i.package_id JOIN orders o ON o.id = l.order_id \
                     WHERE i.tenant_id = $1 AND i.job_id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            (found, warehouses, shops)
        });
        found.ok_or(StoreError::NotFound)?;
        Ok((
            warehouses.into_iter().map(WarehouseId).collect(),
            shops.into_iter().map(ShopId).collect(),
        ))
    }

    /// The warehouse a package ships from and the shops of the orders it carries; `NotFound`
    /// for another tenant's package.
    pub async fn package_scope(
        &self,
        tenant: TenantId,
        id: PackageId,
    ) -> Result<(WarehouseId, Vec<ShopId>)> {
        let (warehouse, shops): (Option<i64>, Vec<i64>) = on_db!(&self.db, pool => {
            let warehouse = sqlx::query_scalar("SELECT warehouse_id FROM packages WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_optional(pool).await?;
            let shops = sqlx::query_scalar(
                    "SELECT DISTINCT o.shop_id FROM package_lines l JOIN orders o ON o.id = l.order_id \
                     WHERE l.tenant_id = $1 AND l.package_id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            (warehouse, shops)
        });
        let warehouse = warehouse.ok_or(StoreError::NotFound)?;
        Ok((
            WarehouseId(warehouse),
            shops.into_iter().map(ShopId).collect(),
        ))
    }

    pub async fn print_job(&self, tenant: TenantId, id: PrintJobId) -> Result<PrintJob> {
        on_db!(&self.db, pool => {
            let (label_size, reprints, reason, created_by, created_at): (String, i64, Option<String>, String, i64) =
                sqlx::query_as(
                    "SELECT label_size, reprints, reason, created_by, created_at FROM print_jobs \
                     WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.get()).bind(id.get()).fetch_one(pool).await?;
            let items: Vec<(i64, String, i64)> = sqlx::query_as(
                    "SELECT package_id, tracking_no, reprint FROM print_job_items \
                     WHERE tenant_id = $1 AND job_id = $2 ORDER BY seq")
                .bind(tenant.get()).bind(id.get()).fetch_all(pool).await?;
            Ok(PrintJob {
                id,
                label_size,
                labels: items
                    .into_iter()
                    .map(|(p, t, r)| PrintedLabel { package_id: PackageId(p), tracking_no: t, reprint: r })
                    .collect(),
                reprints,
                reason,
                created_by,
                created_at: from_ms(created_at),
            })
        })
    }
}
