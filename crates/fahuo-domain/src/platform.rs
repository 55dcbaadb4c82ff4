//! The sales channels an order can come from.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a shop sells. `Manual` covers orders typed in or imported from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Platform {
    /// 微信小店 / 视频号小店 (channels/ec).
    Wechat,
    /// 抖店.
    Douyin,
    /// 小红书.
    Xiaohongshu,
    /// 手工单 / 导入: orders from other channels.
    Manual,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Wechat,
        Platform::Douyin,
        Platform::Xiaohongshu,
        Platform::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Wechat => "wechat",
            Platform::Douyin => "douyin",
            Platform::Xiaohongshu => "xiaohongshu",
            Platform::Manual => "manual",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Platform::Wechat => "微信小店",
            Platform::Douyin => "抖店",
            Platform::Xiaohongshu => "小红书",
            Platform::Manual => "手工单",
        }
    }

    pub fn parse(s: &str) -> Result<Platform, ParseError> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| ParseError::new("platform", format!("unknown platform {s:?}")))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
