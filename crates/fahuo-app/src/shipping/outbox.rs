//! The write-back jobs: send a shipment to its platform, change a shipped number, and the
//! sweep that queues write-backs a crash may have left unqueued.
//!
//! Handlers are idempotent: a shipment that already succeeded is not sent again, and a resend
//! after a lost answer is answered by the platform adapter as "already shipped with this
//! number" (success). The platform's refusals are stored for the exception list, never retried
//! in a loop; only transient failures are.

use super::checked_number;
use crate::jobs::{JobError, JobRunner};
use crate::{App, AppError};
use chrono::Duration;
use fahuo_carriers::{Carrier, CodeSystem};
use fahuo_domain::fulfilment::{Shipment, ShipmentState};
use fahuo_domain::shipping::ShipTrigger;
use fahuo_domain::{OrderState, Platform, ShipmentChangeId, ShipmentId, TenantId};
use fahuo_platforms::{ChangeShipment, PlatformClient, PlatformError, ShipItem, ShipRequest};
use fahuo_store::jobs::Job;
use fahuo_store::shipping::{CHANGE_JOB, SHIP_JOB, ShipmentToSend};
use futures::FutureExt;
use std::collections::HashMap;
use std::sync::Arc;

/// Queues write-backs for packages whose trigger step happened but whose shipment is missing.
pub const SWEEP_JOB: &str = "shipment.sweep";
const SWEEP_BATCH: i64 = 500;

pub fn register(runner: JobRunner) -> JobRunner {
    runner
        .register(SHIP_JOB, |app, job| {
            async move { send(&app, &job).await }.boxed()
        })
        .register(CHANGE_JOB, |app, job| {
            async move { change(&app, &job).await }.boxed()
        })
        .register(SWEEP_JOB, |app, _job| {
            async move {
                sweep(&app)
                    .await
                    .map(drop)
                    .map_err(|e| JobError::Retry(e.to_string()))
            }
            .boxed()
        })
        .every(SWEEP_JOB, Duration::seconds(60))
}

fn id_of(job: &Job, key: &str) -> Result<(TenantId, i64), JobError> {
    let tenant = job
        .tenant_id
        .ok_or_else(|| JobError::Permanent("job has no tenant".into()))?;
    let id = job
        .payload
        .get(key)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| JobError::Permanent(format!("payload has no {key}")))?;
    Ok((tenant, id))
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

fn is_last_attempt(job: &Job) -> bool {
    job.attempts >= job.max_attempts
}

/// How a failed call ends: a transient failure is retried, except on the job's last attempt,
/// when it becomes a stored refusal so the shipment does not sit in "pending" for ever.
enum Failure {
    Transient(String),
    Refused {
        state: ShipmentState,
        code: Option<String>,
        message: String,
        conflict: Vec<(String, String)>,
    },
}

fn refused(code: Option<&str>, message: impl Into<String>) -> Failure {
    Failure::Refused {
        state: ShipmentState::Failed,
        code: code.map(str::to_string),
        message: message.into(),
        conflict: Vec::new(),
    }
}

fn classify(e: PlatformError) -> Failure {
    match e {
        PlatformError::ShipConflict { shipped } => Failure::Refused {
            state: ShipmentState::Conflict,
            code: Some("already_shipped".into()),
            message: "平台上该订单已用其他单号发货".into(),
            conflict: shipped
                .into_iter()
                .map(|p| (p.carrier_code, p.tracking_no))
                .collect(),
        },
        PlatformError::Invalid { code, msg } => refused(Some(&code), msg),
        PlatformError::Auth { code, msg } => refused(
            Some(&code),
            format!("店铺授权失效，请重新授权后重试（{msg}）"),
        ),
        PlatformError::Config(msg) => refused(Some("config"), msg),
        e => Failure::Transient(e.to_string()),
    }
}

fn app_failure(e: AppError) -> Failure {
    match e {
        AppError::UpstreamAuth(msg) => refused(
            Some("auth"),
            format!("店铺授权失效，请重新授权后重试（{msg}）"),
        ),
        AppError::UpstreamRefused(msg) => refused(None, msg),
        e => Failure::Transient(e.to_string()),
    }
}

/// Queues the buyer's "shipped" notice of an accepted shipment (once per shipment).
async fn notify_shipped(app: &App, tenant: TenantId, shipment: &Shipment) -> Result<(), JobError> {
    app.notify(
        tenant,
        shipment.order_id,
        fahuo_domain::notice::NoticeKind::Shipped,
        &format!("shipment:{}", shipment.id.get()),
        Some((&shipment.carrier_code, &shipment.tracking_no)),
        "",
    )
    .await
    .map_err(retry)
}

async fn send(app: &App, job: &Job) -> Result<(), JobError> {
    let (tenant, id) = id_of(job, "shipment_id")?;
    let id = ShipmentId(id);
    let s = app
        .store()
        .shipment_to_send(tenant, id)
        .await
        .map_err(retry)?;
    if s.shipment.state == ShipmentState::Succeeded {
        // Done already. A node that died between recording the success and queueing the
        // buyer's notice left the notice to this run (queueing it twice queues it once).
        return notify_shipped(app, tenant, &s.shipment).await;
    }
    if s.shipment.state != ShipmentState::Pending {
        // Refused and waiting for a person (a retry queues a new job).
        return Ok(());
    }
    let actor = crate::Actor::system(tenant, "outbox").audit_ref();
    let outcome = attempt(app, &s).await;
    match outcome {
        Ok(()) => {
            app.store()
                .shipment_succeeded(tenant, id, &actor, app.now())
                .await
                .map_err(retry)?;
            notify_shipped(app, tenant, &s.shipment).await
        }
        Err(Failure::Transient(msg)) if !is_last_attempt(job) => Err(JobError::Retry(msg)),
        Err(failure) => {
            let (state, code, message, conflict) = match failure {
                Failure::Transient(msg) => (
                    ShipmentState::Failed,
                    Some("unavailable".to_string()),
                    format!("平台多次无响应，已停止重试：{msg}"),
                    Vec::new(),
                ),
                Failure::Refused {
                    state,
                    code,
                    message,
                    conflict,
                } => (state, code, message, conflict),
            };
            tracing::info!(shipment = id.get(), code = ?code, "write-back refused: {message}");
            app.store()
                .shipment_refused(
                    tenant,
                    id,
                    state,
                    code.as_deref(),
                    &message,
                    &conflict,
                    &actor,
                    app.now(),
                )
                .await
                .map_err(retry)?;
            Ok(())
        }
    }
}

/// One try at telling the platform.
async fn attempt(app: &App, s: &ShipmentToSend) -> Result<(), Failure> {
    if matches!(s.order_state, OrderState::Cancelled | OrderState::Refunded) {
        return Err(refused(
            Some("order_closed"),
            "订单已取消或已退款，不再通知平台发货",
        ));
    }
    // The number was checked when it came in; check again in case the rules or the carrier
    // changed since (a wrong number must not reach a buyer).
    if let Err(e) = checked_number(&s.shipment.carrier_code, &s.shipment.tracking_no) {
        return Err(refused(Some("invalid_number"), e.to_string()));
    }
    if s.platform == Platform::Manual {
        // Nothing to tell: a manual shop's order ships when its number is recorded.
        return Ok(());
    }
    let carrier = Carrier::from_code(&s.shipment.carrier_code)
        .ok_or_else(|| refused(Some("unknown_carrier"), "未知快递公司"))?;
    let shop = app
        .store()
        .shop(s.tenant_id, s.shop_id)
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?;
    let client = app.ready_client(&shop).await.map_err(app_failure)?;
    let (code, name) = platform_carrier(app, s.tenant_id, &shop, &client, carrier).await?;
    let whole = s.other_parcels == 0 && covers_every_line(s);
    let request = ShipRequest {
        platform_order_id: s.platform_order_id.clone(),
        carrier_code: code,
        carrier_name: name,
        tracking_no: s.shipment.tracking_no.clone(),
        items: if whole { Vec::new() } else { ship_items(s) },
    };
    client.ship(&request).await.map(drop).map_err(classify)
}

/// The parcel's lines as the platform adapters take them.
fn ship_items(s: &ShipmentToSend) -> Vec<ShipItem> {
    s.lines
        .iter()
        .map(|(_, line, sku, units)| ShipItem {
            platform_line_id: line.clone(),
            platform_sku_id: sku.clone(),
            quantity: (*units).clamp(0, i64::from(u32::MAX)) as u32,
        })
        .collect()
}

/// Whether the parcel holds every unit of the order (then it is sent as a whole-order
/// shipment, which every platform takes).
fn covers_every_line(s: &ShipmentToSend) -> bool {
    s.shipment.items.is_empty()
        || s.order_lines.iter().all(|(line, qty)| {
            s.lines
                .iter()
                .filter(|(l, ..)| l == line)
                .map(|(.., u)| *u)
                .sum::<i64>()
                >= *qty
        })
}

/// The platform's code and name for a carrier: the merchant's own table first, then fahuo's
/// registry where the code is known, then the platform's live list matched by name.
async fn platform_carrier(
    app: &App,
    tenant: TenantId,
    shop: &fahuo_domain::catalog::Shop,
    client: &Arc<PlatformClient>,
    carrier: Carrier,
) -> Result<(String, String), Failure> {
    if let Some(own) = app
        .store()
        .carrier_code_override(tenant, shop.platform, carrier.code())
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?
    {
        return Ok(own);
    }
    let system = match shop.platform {
        Platform::Wechat => CodeSystem::Wechat,
        Platform::Douyin => CodeSystem::Douyin,
        Platform::Xiaohongshu => CodeSystem::Xiaohongshu,
        Platform::Manual => return Ok((carrier.code().into(), carrier.name_zh().into())),
    };
    if let Some(code) = carrier.code_in(system).code() {
        return Ok((code.to_string(), carrier.name_zh().to_string()));
    }
    let list = app
        .platform_carrier_list(shop.id, client)
        .await
        .map_err(classify)?;
    list.into_iter()
        .find(|(code, name)| {
            [name.as_str(), code.as_str()].into_iter().any(|t| {
                fahuo_carriers::registry::resolve(t)
                    .map(|(c, _)| c == carrier)
                    .unwrap_or(false)
            })
        })
        .ok_or_else(|| {
            refused(
                Some("no_carrier_code"),
                format!(
                    "{} 在{}的快递公司列表中找不到：请在设置中为该平台填写它的快递公司编码",
                    carrier.name_zh(),
                    shop.platform.label_zh()
                ),
            )
        })
}

async fn change(app: &App, job: &Job) -> Result<(), JobError> {
    let (tenant, id) = id_of(job, "change_id")?;
    let id = ShipmentChangeId(id);
    let c = app
        .store()
        .shipment_change(tenant, id)
        .await
        .map_err(retry)?;
    if c.state != "pending" {
        return Ok(());
    }
    let s = app
        .store()
        .shipment_to_send(tenant, c.shipment_id)
        .await
        .map_err(retry)?;
    let actor = crate::Actor::system(tenant, "outbox").audit_ref();
    let outcome: Result<(), Failure> = async {
        if s.platform == Platform::Manual {
            return Ok(());
        }
        let shop = app
            .store()
            .shop(tenant, s.shop_id)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        let client = app.ready_client(&shop).await.map_err(app_failure)?;
        let known = |code: &str| {
            Carrier::from_code(code)
                .ok_or_else(|| refused(Some("unknown_carrier"), format!("未知快递公司 {code}")))
        };
        let (old_code, _) =
            platform_carrier(app, tenant, &shop, &client, known(&c.old_carrier_code)?).await?;
        let (new_code, new_name) =
            platform_carrier(app, tenant, &shop, &client, known(&c.new_carrier_code)?).await?;
        client
            .change_shipment(&ChangeShipment {
                platform_order_id: s.platform_order_id.clone(),
                old_carrier_code: old_code,
                old_tracking_no: c.old_tracking_no.clone(),
                new_carrier_code: new_code,
                new_carrier_name: new_name,
                new_tracking_no: c.new_tracking_no.clone(),
                items: ship_items(&s),
            })
            .await
            .map_err(classify)
    }
    .await;
    let refusal = match outcome {
        Ok(()) => None,
        Err(Failure::Transient(msg)) if !is_last_attempt(job) => return Err(JobError::Retry(msg)),
        Err(Failure::Transient(msg)) => Some(format!("平台多次无响应，已停止重试：{msg}")),
        Err(Failure::Refused { message, code, .. }) => Some(match code {
            Some(code) => format!("{message}（{code}）"),
            None => message,
        }),
    };
    app.store()
        .finish_shipment_change(tenant, id, refusal.as_deref(), &actor, app.now())
        .await
        .map_err(retry)
}

/// Queues what a crash between a trigger step and its write-back left behind.
async fn sweep(app: &App) -> crate::Result<usize> {
    let mut queued = 0;
    let mut triggers: HashMap<TenantId, ShipTrigger> = HashMap::new();
    for (states, weighed, step) in [
        (&["printed", "packed"][..], false, ShipTrigger::AfterPrint),
        (&["packed"][..], false, ShipTrigger::AfterPack),
        (&["printed", "packed"][..], true, ShipTrigger::AfterWeigh),
    ] {
        let packages = app
            .store()
            .packages_without_shipment(states, weighed, SWEEP_BATCH)
            .await?;
        for (tenant, package) in packages {
            let trigger = match triggers.get(&tenant) {
                Some(t) => *t,
                None => {
                    let t = app.shipping_settings(tenant).await?.trigger;
                    triggers.insert(tenant, t);
                    t
                }
            };
            if trigger == step {
                queued += app.ship_packages(tenant, &[package]).await?;
            }
        }
    }
    if queued > 0 {
        tracing::info!(queued, "shipment sweep queued write-backs left behind");
    }
    Ok(queued)
}
