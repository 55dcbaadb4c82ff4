//! Buyer notifications (买家通知): which events tell the buyer (shipped, delayed, exception),
//! the merchant's message templates, and the job that sends each notification once — through
//! the platform where it lets a shop message its buyer (WeChat, by the buyer's openid), else
//! by SMS where the node has a gateway and the buyer's number is a real mobile number.
//!
//! A notification row is unique per (order, kind, subject): a shipment notifies once however
//! often its trigger runs, and a parcel (or an unshipped order) once per kind of trouble however
//! often the radar re-opens an alert about it. Nothing is sent when the merchant has not enabled
//! the kind; a notification without a channel is kept as `skipped` with the reason.

use crate::jobs::{JobError, JobRunner};
use crate::{Actor, App, Result};
use fahuo_domain::notice::{NoticeKind, NoticeVars, Placeholder, Template};
use fahuo_domain::radar::AlertKind;
use fahuo_domain::{OrderId, Permission, Platform, TenantId};
use fahuo_platforms::PlatformError;
use fahuo_platforms::notify::{Sms, SmsClient};
use fahuo_store::radar::{NOTIFY_JOB, NewNotification, NotificationRow, OpenedAlert, Subject};
use fahuo_store::review::SettingsKind;
use futures::FutureExt;
use serde::{Deserialize, Serialize};

/// Which notices the merchant sends, and their texts (`/api/v1/settings/notifications`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotifySettings {
    pub shipped: bool,
    pub delayed: bool,
    pub exception: bool,
    /// The merchant's own texts; fahuo's defaults where absent. Placeholders: `{order_no}`,
    /// `{carrier}`, `{tracking_no}`, `{shop}`, `{reason}`, `{ship_by}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub shipped_template: Option<Template>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub delayed_template: Option<Template>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub exception_template: Option<Template>,
}

impl NotifySettings {
    fn enabled(&self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::Shipped => self.shipped,
            NoticeKind::Delayed => self.delayed,
            NoticeKind::Exception => self.exception,
        }
    }

    fn template(&self, kind: NoticeKind) -> Template {
        let own = match kind {
            NoticeKind::Shipped => &self.shipped_template,
            NoticeKind::Delayed => &self.delayed_template,
            NoticeKind::Exception => &self.exception_template,
        };
        own.clone().unwrap_or_else(|| Template::default_for(kind))
    }
}

/// The node's SMS gateway (Aliyun Dysmsapi protocol) and its approved templates; the gateway
/// account belongs to whoever runs fahuo, so it is configuration, not a tenant setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsSettings {
    pub account: fahuo_platforms::notify::SmsAccount,
    pub shipped: SmsTemplate,
    pub delayed: SmsTemplate,
    pub exception: SmsTemplate,
}

/// A template the gateway approved: its code, and which fahuo value fills each of its
/// variables (every approved template names its variables its own way, e.g. `${order}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsTemplate {
    pub code: String,
    pub variables: std::collections::BTreeMap<String, Placeholder>,
}

pub fn register(runner: JobRunner) -> JobRunner {
    runner.register(NOTIFY_JOB, |app, job| {
        async move {
            let tenant = job
                .tenant_id
                .ok_or_else(|| JobError::Permanent("job has no tenant".into()))?;
            let id = job
                .payload
                .get("notification")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| JobError::Permanent("payload has no notification".into()))?;
            app.send_notification(tenant, id, job.attempts >= job.max_attempts)
                .await
        }
        .boxed()
    })
}

/// Why a notice whose sender died mid-send is not sent again.
pub const UNCONFIRMED: &str = "发送途中节点退出，无法确认买家是否收到；为免重复通知不再重发 (the node sending it stopped mid-send; not sent again to avoid telling the buyer twice)";

/// The kind of notice an alert sends, if any: a late parcel or order is a delay; a parcel in
/// trouble is an exception. Refusals and returns are the buyer's own doing and send nothing.
fn notice_for(alert: AlertKind) -> Option<NoticeKind> {
    match alert {
        AlertKind::NotPickedUp | AlertKind::Stale | AlertKind::DeadlineAtRisk => {
            Some(NoticeKind::Delayed)
        }
        AlertKind::Problem => Some(NoticeKind::Exception),
        AlertKind::Refused | AlertKind::Returning | AlertKind::SignedNotReceived => None,
    }
}

impl App {
    pub async fn notify_settings(&self, actor: &Actor) -> Result<NotifySettings> {
        actor.require(Permission::ViewOrders)?;
        self.notify_settings_for(actor.tenant_id).await
    }

    async fn notify_settings_for(&self, tenant: TenantId) -> Result<NotifySettings> {
        Ok(self
            .store()
            .settings(tenant, None, SettingsKind::Notify)
            .await?
            .unwrap_or_default())
    }

    pub async fn set_notify_settings(&self, actor: &Actor, settings: NotifySettings) -> Result<()> {
        actor.require(Permission::ManageShops)?;
        let audit = actor.audit("settings.notifications", "settings", self.now());
        Ok(self
            .store()
            .set_settings(
                actor.tenant_id,
                None,
                SettingsKind::Notify,
                Some(&settings),
                &audit,
            )
            .await?)
    }

    pub async fn notifications(
        &self,
        actor: &Actor,
        order: Option<OrderId>,
    ) -> Result<Vec<NotificationRow>> {
        actor.require(Permission::ViewOrders)?;
        if let Some(order) = order {
            self.order_in_scope(actor, order).await?;
        }
        Ok(self
            .store()
            .notifications(actor.tenant_id, order, 200, actor.scope.shops.as_deref())
            .await?)
    }

    /// Queues a notice about an order if the merchant sends this kind; `subject` makes it
    /// once-only (a shipment, a parcel, an order).
    pub(crate) async fn notify(
        &self,
        tenant: TenantId,
        order: OrderId,
        kind: NoticeKind,
        subject: &str,
        parcel: Option<(&str, &str)>,
        reason: &str,
    ) -> Result<()> {
        let settings = self.notify_settings_for(tenant).await?;
        if !settings.enabled(kind) {
            return Ok(());
        }
        let o = self.store().order(tenant, order).await?;
        let shop = self.store().shop(tenant, o.shop_id).await?;
        let vars = NoticeVars {
            order_no: o.platform_order_id.to_string(),
            carrier: parcel
                .map(|(c, _)| crate::shipping::carrier_name_zh(c))
                .unwrap_or_default(),
            tracking_no: parcel.map(|(_, n)| n.to_string()).unwrap_or_default(),
            shop: shop.name.to_string(),
            reason: reason.to_string(),
            ship_by: o.ship_by,
        };
        let body = settings.template(kind).render(&vars);
        // Every value, by placeholder name: the SMS channel picks what its template wants.
        let params: serde_json::Map<String, serde_json::Value> = Placeholder::ALL
            .iter()
            .map(|p| (p.as_str().to_string(), vars.value(*p).into()))
            .collect();
        let params = serde_json::Value::Object(params);
        self.store()
            .queue_notification(
                tenant,
                &NewNotification {
                    order,
                    kind: kind.as_str(),
                    subject,
                    body: &body,
                    params: &params,
                },
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Notices for alerts the radar just opened: at most one of each kind per parcel, and per
    /// unshipped order.
    pub(crate) async fn notify_alerts(
        &self,
        tenant: TenantId,
        opened: &[OpenedAlert],
    ) -> Result<()> {
        for a in opened {
            let Some(kind) = notice_for(a.kind) else {
                continue;
            };
            let (order, parcel) = match a.subject {
                Subject::Parcel(p, Some(order)) => (order, Some(p)),
                Subject::Parcel(_, None) => continue,
                Subject::Order(order) => (order, None),
            };
            let number = match parcel {
                Some(p) => self
                    .store()
                    .parcel(tenant, p)
                    .await?
                    .map(|(p, _)| (p.carrier_code, p.tracking_no)),
                None => None,
            };
            // Once per parcel (or per unshipped order) and kind of notice: the radar re-opens
            // an alert each time a parcel stops moving again, and the buyer is told of a delay
            // once, not at every stop.
            let subject = match parcel {
                Some(p) => format!("parcel:{}", p.get()),
                None => format!("order:{}", order.get()),
            };
            self.notify(
                tenant,
                order,
                kind,
                &subject,
                number.as_ref().map(|(c, n)| (c.as_str(), n.as_str())),
                a.kind.label_zh(),
            )
            .await?;
        }
        Ok(())
    }

    /// Sends one notification (the `notify.send` job). Transient failures are retried; on the
    /// last attempt, and for refusals, the notification is kept as failed with the reason.
    async fn send_notification(
        &self,
        tenant: TenantId,
        id: i64,
        last_attempt: bool,
    ) -> std::result::Result<(), JobError> {
        let retry = |e: crate::AppError| JobError::Retry(e.to_string());
        let n = self
            .store()
            .notification_to_send(tenant, id)
            .await
            .map_err(|e| retry(e.into()))?;
        let now = self.now();
        match n.row.state.as_str() {
            "pending" => {}
            // A node died between handing the notice to its channel and recording the outcome:
            // it may have reached the buyer. Sending again could tell them twice, so the notice
            // is failed with the reason, for the merchant to see.
            "sending" => {
                return self
                    .store()
                    .notification_outcome(tenant, id, "failed", None, None, Some(UNCONFIRMED), now)
                    .await
                    .map_err(|e| retry(e.into()));
            }
            _ => return Ok(()),
        }
        if !self
            .store()
            .start_sending_notification(tenant, id)
            .await
            .map_err(|e| retry(e.into()))?
        {
            return Ok(());
        }
        let outcome: std::result::Result<(&str, Option<String>), (bool, String)> = async {
            let mut why_not_platform = "平台不支持给买家发消息".to_string();
            if n.platform == Platform::Wechat
                && let Some(openid) = &n.buyer_openid
            {
                let shop = self
                    .store()
                    .shop(tenant, n.shop_id)
                    .await
                    .map_err(|e| (true, e.to_string()))?;
                let client = self
                    .platform_client(&shop)
                    .await
                    .map_err(|e| (true, e.to_string()))?;
                match client.message_buyer(openid, &n.row.body).await {
                    Ok(()) => return Ok(("platform_message", None)),
                    Err(PlatformError::Invalid { msg, .. }) => why_not_platform = msg,
                    Err(e @ (PlatformError::Transient(_) | PlatformError::RateLimited { .. })) => {
                        return Err((true, e.to_string()));
                    }
                    Err(e) => why_not_platform = e.to_string(),
                }
            }
            let Some(sms) = &self.settings().sms else {
                return Err((false, format!("{why_not_platform}；未配置短信通道")));
            };
            let phone = n.receiver.phone.as_str();
            let is_mobile = phone.len() == 11
                && phone.starts_with('1')
                && phone.chars().all(|c| c.is_ascii_digit());
            if !is_mobile {
                return Err((
                    false,
                    format!("{why_not_platform}；买家号码不是可收短信的手机号（虚拟号或固话）"),
                ));
            }
            let template = match n.row.kind.as_str() {
                "shipped" => &sms.shipped,
                "delayed" => &sms.delayed,
                _ => &sms.exception,
            };
            let params = template
                .variables
                .iter()
                .map(|(name, p)| {
                    let value = n
                        .params
                        .get(p.as_str())
                        .cloned()
                        .unwrap_or_else(|| "".into());
                    (name.clone(), value)
                })
                .collect();
            let client = SmsClient::new(
                sms.account.clone(),
                self.platforms.http.clone(),
                &fahuo_platforms::ClientOptions::default(),
            )
            .map_err(|e| (false, e.to_string()))?;
            match client
                .send(&Sms {
                    phone: phone.to_string(),
                    template_code: template.code.clone(),
                    params,
                    out_id: format!("n{id}"),
                    at: self.now(),
                })
                .await
            {
                Ok(biz) => Ok(("sms", Some(biz))),
                Err(e @ (PlatformError::Transient(_) | PlatformError::RateLimited { .. })) => {
                    Err((true, e.to_string()))
                }
                Err(e) => Err((false, e.to_string())),
            }
        }
        .await;
        let store = self.store();
        let result = match outcome {
            Ok((channel, provider)) => {
                store
                    .notification_outcome(
                        tenant,
                        id,
                        "sent",
                        Some(channel),
                        provider.as_deref(),
                        None,
                        now,
                    )
                    .await
            }
            Err((true, why)) if !last_attempt => {
                store
                    .notification_not_sent(tenant, id)
                    .await
                    .map_err(|e| retry(e.into()))?;
                return Err(JobError::Retry(why));
            }
            Err((transient, why)) => {
                let state = if transient { "failed" } else { "skipped" };
                store
                    .notification_outcome(tenant, id, state, None, None, Some(&why), now)
                    .await
            }
        };
        result.map_err(|e| retry(e.into()))
    }
}
