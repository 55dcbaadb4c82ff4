//! The merchant's master data: tenants, users, shops, warehouses, SKUs and platform-SKU mappings.

use crate::{
    Barcode, Fen, Grams, Name, Platform, Role, ShopId, ShopSkuId, SkuCode, SkuId, TenantId, UserId,
    Username, WarehouseCode, WarehouseId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: Name,
    pub created_at: DateTime<Utc>,
}

/// A staff account. The password hash never leaves the store and auth modules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// How a shop is connected. Credentials (app secret, tokens) are stored encrypted and are only
/// decrypted by the platform adapters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ShopStatus {
    /// Credentials entered, never synced successfully.
    Pending,
    Connected,
    /// The platform refused the credentials (expired token, revoked authorisation).
    AuthFailed,
    Disabled,
}

impl ShopStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShopStatus::Pending => "pending",
            ShopStatus::Connected => "connected",
            ShopStatus::AuthFailed => "auth_failed",
            ShopStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Result<ShopStatus, crate::ParseError> {
        [
            ShopStatus::Pending,
            ShopStatus::Connected,
            ShopStatus::AuthFailed,
            ShopStatus::Disabled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| crate::ParseError::new("status", format!("unknown shop status {s:?}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shop {
    pub id: ShopId,
    pub tenant_id: TenantId,
    pub platform: Platform,
    pub name: Name,
    /// The platform's id for the shop (appid, shop_id, seller id).
    pub platform_shop_id: String,
    /// Base URL of the platform API; the official endpoint in production, an emulator in tests.
    pub api_base_url: Option<String>,
    pub status: ShopStatus,
    /// The last part of the shop's webhook URL (`/webhooks/{key}`), to enter in the
    /// platform's console. Not a secret: pushes are trusted by their signature only.
    pub webhook_key: String,
    pub created_at: DateTime<Utc>,
}

/// Secrets a shop needs to talk to its platform. Plain text only in memory; `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ShopCredentials {
    pub app_key: String,
    pub app_secret: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    /// Webhook verification material (WeChat token + EncodingAESKey, Douyin/XHS secrets).
    pub webhook_secret: Option<String>,
    /// When `access_token` stops working, as the platform said when it was issued.
    #[serde(default)]
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// When `refresh_token` stops working (Douyin, Xiaohongshu).
    #[serde(default)]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// A one-time authorisation `code` from the platform's consent page (Xiaohongshu
    /// `oauth.getAccessToken`, Douyin tool apps' `token.create`); consumed by the first token call.
    #[serde(default)]
    pub auth_code: Option<String>,
}

impl std::fmt::Debug for ShopCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopCredentials")
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A geographic point in degrees (WGS-84 or GCJ-02 as the source gives it; only used for
/// distances, where the difference does not matter).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    /// Great-circle distance in kilometres.
    pub fn distance_km(self, other: GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlng = (other.lng - self.lng).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
        6371.0 * 2.0 * a.sqrt().asin()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warehouse {
    pub id: WarehouseId,
    pub tenant_id: TenantId,
    pub code: WarehouseCode,
    pub name: Name,
    pub province: String,
    pub city: String,
    pub county: String,
    pub address: String,
    pub location: Option<GeoPoint>,
    pub created_at: DateTime<Utc>,
}

/// Outer dimensions in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SizeMm {
    pub length: i64,
    pub width: i64,
    pub height: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sku {
    pub id: SkuId,
    pub tenant_id: TenantId,
    pub code: SkuCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub weight: Grams,
    pub size: SizeMm,
    /// Purchase cost, for the price-anomaly review (财审).
    pub cost: Fen,
    pub created_at: DateTime<Utc>,
}

/// A platform listing's SKU mapped to the merchant's SKU; `quantity` > 1 for bundles
/// (one platform SKU = 2 × merchant SKU).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShopSku {
    pub id: ShopSkuId,
    pub tenant_id: TenantId,
    pub shop_id: ShopId,
    pub platform_sku_id: String,
    pub sku_id: SkuId,
    pub quantity: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_between_hangzhou_and_shanghai_is_about_165_km() {
        let hangzhou = GeoPoint {
            lat: 30.2741,
            lng: 120.1551,
        };
        let shanghai = GeoPoint {
            lat: 31.2304,
            lng: 121.4737,
        };
        let d = hangzhou.distance_km(shanghai);
        assert!((150.0..180.0).contains(&d), "{d}");
    }

    #[test]
    fn credentials_never_print_their_secret() {
        let c = ShopCredentials {
            app_key: "k".into(),
            app_secret: "s3cr3t".into(),
            ..Default::default()
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn credentials_stored_before_token_expiry_fields_still_parse() {
        let old = r#"{"app_key":"k","app_secret":"s","access_token":"t","refresh_token":null,"webhook_secret":null}"#;
        let c: ShopCredentials = serde_json::from_str(old).expect("old blob");
        assert_eq!(c.access_token.as_deref(), Some("t"));
        assert_eq!(c.access_token_expires_at, None);
        assert_eq!(c.auth_code, None);
    }
}
