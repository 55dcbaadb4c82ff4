//! fahuo-platforms: clients for the WeChat Shop, Douyin Shop and Xiaohongshu order APIs, and
//! for the e-waybill services (kuaidi100, kdniao, WeChat Shop's own) in [`waybill`], parcel
//! tracking through kuaidi100 and kdniao in [`tracking`], and buyer notifications (SMS, WeChat
//! messages) in [`notify`].
//!
//! One [`PlatformClient`] per shop speaks its platform's real wire protocol (reference
//! `platform-apis.md` §1–3): signing, envelopes and error codes, token acquisition and renewal,
//! paging within the platform's window limits, PII decryption, and mapping into fahuo's
//! domain types. [`verify_webhook`], [`check_push_time`] and [`webhook_reply`] handle incoming
//! pushes without I/O.
//! The wire types are this crate's own, written from the reference; `fahuo-sim` is an
//! independent implementation used only in tests.
//!
//! # Using a client
//!
//! ```text
//! let client = PlatformClient::new(conn, http, ClientOptions::default())?;   // share in an Arc
//! let sealed = client.read_window(from, to).await?;  // any length; split into platform windows
//! let known = stored_fingerprints(sealed.iter().map(|o| o.platform_order_id()));
//! let orders = client.open_receivers(sealed, &known).await?;  // or pull_window(from, to)
//! store(client.credentials());                        // persist renewed tokens (encrypted)
//! for p in orders { if !p.is_paid() { continue } let new = p.new_order(shop_id); ... }
//! ```
//!
//! * `pull_window(start, end)` reads every order updated in `[start, end)`, splitting the range
//!   into the platform's own windows ([`SyncLimits::max_window`]: WeChat 7 days, Douyin 1 day
//!   (unpublished limit, cautious), Xiaohongshu 30 minutes). Ids are de-duplicated within a pull.
//!   Re-read [`SyncLimits::overlap`] before the last edge on the next sync.
//! * Receivers are decrypted only for orders that may still need a label: ToShip,
//!   PartlyShipped, and Shipped where the platform allows it (WeChat, Douyin; Xiaohongshu
//!   reveals receivers only while the order waits to ship). Other orders carry
//!   [`ReceiverProblem::NotDecrypted`] with the masked receiver; decryption quota is not
//!   spent on them. A quota refusal fails the pull with [`PlatformError::DecryptQuota`].
//! * Nor is it spent twice on the same receiver: [`PlatformClient::read_window`] /
//!   [`PlatformClient::read_order`] read orders with their receivers still sealed, each with a
//!   [`PulledOrder::receiver_fingerprint`] (a digest of what the platform sent before
//!   decryption; each platform module says what goes in); the caller looks up the fingerprints
//!   it stored for just those orders and [`PlatformClient::open_receivers`] decrypts only the
//!   receivers whose fingerprint it does not hold. The others come back
//!   [`ReceiverState::Unchanged`]: the caller keeps the receiver it has. The rule is safe
//!   because a platform that changes an order's receiver changes what it sends for it (new
//!   ciphers; for WeChat, see [`wechat`] for the residual risk). `pull_window` / `pull_order`
//!   do both steps with nothing known.
//!
//! # Shipping write-back
//!
//! [`PlatformClient::ship`], [`PlatformClient::change_shipment`] and
//! [`PlatformClient::carrier_list`] (module [`ship`]) report parcels, change them, and read the
//! platform's carrier list, exactly once across retries: a refused ship call is decided from the
//! order's detail (already shipped with this number → [`ShipOutcome::AlreadyShipped`], with
//! another → [`PlatformError::ShipConflict`]).
//!
//! # Deviation from the planned shape
//!
//! [`PulledOrder`] keeps the order's facts in [`PlatformOrder`] (a `NewOrder` without receiver
//! and shop id) and the receiver as a [`ReceiverState`], because a `NewOrder`
//! needs a valid receiver and the platforms do not reveal one for unpaid, cancelled or finished
//! orders. [`PulledOrder::new_order`]`(shop_id)` builds and validates the `NewOrder`.
//!
//! # Credentials ([`ShopCredentials`])
//!
//! | platform | `app_key` / `app_secret` | `platform_shop_id` | token fields | `webhook_secret` |
//! |---|---|---|---|---|
//! | WeChat | appid / AppSecret | appid | `access_token` (+ expiry); no refresh token | JSON `{"token":"…","encoding_aes_key":"…43 chars…","appid":"wx…"}` ([`wechat::WechatPushKeys`]; `appid` defaults to `app_key`) |
//! | Douyin | app_key / app_secret | `shop_id` | access + refresh token with expiries; `auth_code` for tool apps, else self-use `authorization_self` | unused: pushes are signed with app_key + app_secret |
//! | Xiaohongshu | appId / appSecret | `sellerId` (learnt from the token if empty) | access + refresh token with expiries; `auth_code` for the first `oauth.getAccessToken` | unused: pushes are signed with appId + appSecret |
//!
//! TLS: this crate enables no TLS backend; the binary turns on reqwest's `rustls` feature for
//! the real `https://` hosts. Nothing here logs tokens, secrets or receiver PII.

#![forbid(unsafe_code)]

pub mod aftersale;
mod caller;
mod client;
pub mod douyin;
mod error;
mod model;
pub mod notify;
pub mod ship;
pub mod tracking;
mod util;
pub mod waybill;
pub mod webhook;
pub mod wechat;
pub mod xiaohongshu;

pub use aftersale::{AfterSaleLine, PlatformAfterSale, ReturnParcel};
pub use client::{
    ClientOptions, Connection, DouyinSignMethod, PlatformClient, http_client, install_tls_provider,
};
pub use error::{PlatformError, WebhookError};
pub use fahuo_domain::Platform;
pub use fahuo_domain::catalog::ShopCredentials;
pub use model::{
    AfterSale, KnownReceivers, LineAfterSale, PackageItem, PlatformOrder, PlatformStatus,
    PulledOrder, ReceiverOrOrderError, ReceiverProblem, ReceiverState, SealedOrder, ShippedPackage,
    SyncLimits,
};
pub use ship::{
    ChangeShipment, PlatformCarrier, ShipItem, ShipOutcome, ShipRequest, ShippedParcel,
};
pub use webhook::{
    PushEvent, PushWindow, WebhookMessage, WebhookRequest, check_push_time, verify_webhook,
    webhook_reply,
};
