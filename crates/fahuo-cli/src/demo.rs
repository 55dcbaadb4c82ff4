//! `fahuo demo`'s platforms: the WeChat Shop, Douyin and Xiaohongshu emulators run in-process,
//! and the demo merchant's shops are connected to them exactly as a merchant connects a real
//! shop (credentials, API address, webhook URL). The e-waybill emulators issue the demo's
//! waybill numbers through carrier accounts bound the same way.

use anyhow::{Context, Result};
use fahuo_app::catalog::{ConnectionInput, CredentialsInput, ShopInput};
use fahuo_app::printing::{BindCarrierAccount, CarrierAccountView};
use fahuo_app::{Actor, App};
use fahuo_domain::TenantId;
use fahuo_domain::catalog::Shop;
use fahuo_domain::fulfilment::WaybillService;
use fahuo_platforms::waybill::WaybillCredentials;
use fahuo_sim::{Platform as SimPlatform, SimConfig, SimHandle, SimInfo};

/// Starts the emulators with `orders` orders per platform and a steady trickle of new ones.
pub async fn start_emulators(orders: usize) -> Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let config = SimConfig {
        trickle_per_minute: 2,
        ..SimConfig::new(20_261_122, orders)
    };
    Ok(fahuo_sim::start(config, listener)?)
}

/// Connects (or re-connects, as the emulators' port changes per run) one shop per platform.
pub async fn connect_shops(app: &App, tenant: TenantId, sim: &SimHandle) -> Result<Vec<Shop>> {
    let mut shops = Vec::new();
    for platform in SimPlatform::ALL {
        shops.push(connect_shop(app, tenant, sim, platform).await?);
    }
    Ok(shops)
}

/// Connects the tenant's shop on one emulated platform, creating it the first time.
pub async fn connect_shop(
    app: &App,
    tenant: TenantId,
    sim: &SimHandle,
    platform: SimPlatform,
) -> Result<Shop> {
    let actor = Actor::cli(tenant);
    let (name, shop_id, credentials) = emulator_shop(&sim.info(), platform);
    let api_base_url = Some(sim.base_url(platform));
    let existing = app
        .shops(&actor)
        .await?
        .into_iter()
        .find(|s| s.platform.as_str() == platform.as_str() && s.platform_shop_id == shop_id);
    Ok(match existing {
        Some(shop) => {
            let input = ConnectionInput {
                api_base_url,
                credentials,
            };
            app.connect_shop(&actor, shop.id, &input).await?
        }
        None => {
            let input = ShopInput {
                platform: platform.as_str().into(),
                name: name.into(),
                platform_shop_id: shop_id,
                api_base_url,
                credentials: Some(credentials),
            };
            app.create_shop(&actor, &input).await?
        }
    })
}

/// Binds the demo's carrier accounts on the emulated e-waybill services (kdniao for 中通,
/// kuaidi100 for 圆通 and as 中通's fallback), or points them at this run's emulator.
pub async fn bind_carrier_accounts(
    app: &App,
    tenant: TenantId,
    sim: &SimHandle,
) -> Result<Vec<CarrierAccountView>> {
    let actor = Actor::cli(tenant);
    let info = sim.info();
    let kdniao = |code: &str| {
        let a = info
            .kdniao
            .accounts
            .iter()
            .find(|a| a.shipper_code == code)?;
        Some(WaybillCredentials {
            api_key: info.kdniao.ebusiness_id.clone(),
            api_secret: info.kdniao.app_key.clone(),
            account: Some(a.customer_name.clone()),
            account_secret: Some(a.customer_pwd.clone()),
            site: None,
        })
    };
    let kuaidi100 = |com: &str| {
        let a = info
            .kuaidi100
            .accounts
            .iter()
            .find(|a| a.kuaidicom == com)?;
        Some(WaybillCredentials {
            api_key: info.kuaidi100.key.clone(),
            api_secret: info.kuaidi100.secret.clone(),
            account: Some(a.partner_id.clone()),
            account_secret: Some(a.partner_key.clone()),
            site: Some(a.net.clone()),
        })
    };
    let wanted = [
        (
            "中通·快递鸟",
            WaybillService::Kdniao,
            "ZTO",
            0,
            &info.kdniao_base_url,
            kdniao("ZTO"),
        ),
        (
            "中通·快递100",
            WaybillService::Kuaidi100,
            "ZTO",
            1,
            &info.kuaidi100_base_url,
            kuaidi100("zhongtong"),
        ),
        (
            "圆通·快递100",
            WaybillService::Kuaidi100,
            "YTO",
            0,
            &info.kuaidi100_base_url,
            kuaidi100("yuantong"),
        ),
    ];
    let existing = app.carrier_accounts(&actor).await?;
    let mut out = Vec::new();
    for (name, service, carrier, priority, base_url, credentials) in wanted {
        let credentials = credentials.context("the emulator lacks a demo carrier account")?;
        out.push(match existing.iter().find(|a| a.account.name == name) {
            Some(a) => {
                app.reconnect_carrier_account(&actor, a.account.id, base_url, &credentials)
                    .await?
            }
            None => {
                app.bind_carrier_account(
                    &actor,
                    BindCarrierAccount {
                        name: name.into(),
                        service,
                        carrier: carrier.into(),
                        base_url: Some(base_url.clone()),
                        shop_id: None,
                        priority,
                        sender_name: "示例商家发货组".into(),
                        sender_phone: "057188886666".into(),
                        quota: Some(5_000),
                        low_balance_threshold: 200,
                        latency_budget_ms: 800,
                        credentials,
                    },
                )
                .await?
            }
        });
    }
    Ok(out)
}

/// Tells each emulator where to push: the shop's webhook URL on the running server.
pub fn point_pushes(sim: &SimHandle, shops: &[Shop], server: std::net::SocketAddr) {
    for shop in shops {
        if let Some(platform) = SimPlatform::ALL
            .into_iter()
            .find(|p| p.as_str() == shop.platform.as_str())
        {
            let url = format!("http://{server}/webhooks/{}", shop.webhook_key);
            sim.set_callback(platform, Some(url));
        }
    }
}

/// What a merchant would paste into fahuo for the emulator's shop.
fn emulator_shop(
    info: &SimInfo,
    platform: SimPlatform,
) -> (&'static str, String, CredentialsInput) {
    match platform {
        SimPlatform::Wechat => (
            "微信小店·示例",
            info.wechat.appid.clone(),
            CredentialsInput {
                app_key: info.wechat.appid.clone(),
                app_secret: info.wechat.secret.clone(),
                webhook_secret: Some(
                    fahuo_platforms::wechat::WechatPushKeys {
                        token: info.wechat.push_token.clone(),
                        encoding_aes_key: info.wechat.encoding_aes_key.clone(),
                        appid: None,
                    }
                    .to_secret(),
                ),
                ..Default::default()
            },
        ),
        SimPlatform::Douyin => (
            "抖店·示例",
            info.douyin.shop_id.to_string(),
            CredentialsInput {
                app_key: info.douyin.app_key.clone(),
                app_secret: info.douyin.app_secret.clone(),
                ..Default::default()
            },
        ),
        SimPlatform::Xiaohongshu => (
            "小红书·示例",
            info.xiaohongshu.seller_id.clone(),
            CredentialsInput {
                app_key: info.xiaohongshu.app_id.clone(),
                app_secret: info.xiaohongshu.app_secret.clone(),
                auth_code: Some(info.xiaohongshu.auth_code.clone()),
                ..Default::default()
            },
        ),
    }
}

/// Follows the demo's parcels through this run's emulated kuaidi100 (older demo accounts, which
/// point at an earlier run's emulator, are switched off), and tells buyers when their parcel
/// leaves, is late or in trouble — by SMS through the emulated gateway.
pub async fn connect_tracking(app: &App, tenant: TenantId, sim: &SimHandle) -> Result<()> {
    let actor = Actor::cli(tenant);
    for old in app.tracking_accounts(&actor).await? {
        if old.account.enabled {
            app.set_tracking_account_enabled(&actor, old.account.id, false)
                .await?;
        }
    }
    let info = sim.info();
    app.create_tracking_account(
        &actor,
        fahuo_app::tracking::TrackingAccountInput {
            name: format!("快递100 演示 {}", sim.addr().port()),
            service: "kuaidi100".into(),
            base_url: info.kuaidi100_base_url.clone(),
            customer: info.tracking.kuaidi100_customer.clone(),
            key: info.tracking.kuaidi100_key.clone(),
            poll_hours: None,
        },
    )
    .await?;
    app.set_notify_settings(
        &actor,
        fahuo_app::tracking::notify::NotifySettings {
            shipped: true,
            delayed: true,
            exception: true,
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// The emulated SMS gateway with its approved templates, as an operator would configure it.
pub fn sms_settings(sim: &SimHandle) -> fahuo_app::tracking::notify::SmsSettings {
    use fahuo_app::tracking::notify::{SmsSettings, SmsTemplate};
    use fahuo_domain::notice::Placeholder as P;
    let info = sim.info();
    let vars = |pairs: &[(&str, P)]| pairs.iter().map(|(k, p)| (k.to_string(), *p)).collect();
    SmsSettings {
        account: fahuo_platforms::notify::SmsAccount {
            base_url: sim.sms_url(),
            access_key_id: info.sms.access_key_id.clone(),
            access_key_secret: info.sms.access_key_secret.clone(),
            sign_name: info.sms.sign_names.first().cloned().unwrap_or_default(),
        },
        shipped: SmsTemplate {
            code: "SMS_SHIPPED".into(),
            variables: vars(&[
                ("order", P::OrderNo),
                ("carrier", P::Carrier),
                ("number", P::TrackingNo),
            ]),
        },
        delayed: SmsTemplate {
            code: "SMS_DELAYED".into(),
            variables: vars(&[("order", P::OrderNo), ("date", P::ShipBy)]),
        },
        exception: SmsTemplate {
            code: "SMS_EXCEPTION".into(),
            variables: vars(&[
                ("number", P::TrackingNo),
                ("carrier", P::Carrier),
                ("reason", P::Reason),
            ]),
        },
    }
}
