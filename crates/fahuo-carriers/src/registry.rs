//! The carrier registry: which carriers fahuo knows, their names, and their codes on every
//! platform and aggregator.
//!
//! The canonical code of a carrier is WeChat Shop's `delivery_id` (the official table in
//! `reference/platform-apis.md` §1.5). Carriers that WeChat's table does not list (as far as the
//! reference shows) get a *provisional* canonical code chosen by fahuo; [`CarrierInfo::wechat`]
//! is then [`Mapping::Unknown`] so that no adapter sends a made-up code to WeChat.
//!
//! Every code mapping carries its evidence and source. A mapping with no source is
//! [`Mapping::Unknown`]; the adapters must then ask the platform's live carrier list (or the
//! merchant's editable table) instead of guessing. The facts live in one const table,
//! [`CARRIERS`], so a correction is a one-line change with its source next to it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Errors of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("carrier name or code is empty")]
    Empty,
    #[error("unknown carrier {0:?}")]
    Unknown(String),
    #[error("{input:?} names several carriers: {}", codes(.carriers))]
    Ambiguous {
        input: String,
        carriers: Vec<Carrier>,
    },
}

fn codes(carriers: &[Carrier]) -> String {
    carriers
        .iter()
        .map(|c| c.code())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A carrier fahuo knows. Serialises as its canonical code (`"SF"`, `"JTSD"`, ...).
///
/// The set is closed on purpose: rules, rates and number formats are written against it, and a
/// new carrier is added here with its facts rather than appearing from data at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Carrier {
    Sf,
    Zto,
    Yto,
    Yunda,
    Sto,
    Jd,
    Ems,
    Yzpy,
    Jtsd,
    Dbkd,
    Zjs,
    Cnsd,
    Sxjd,
    Ztoky,
    Ydky,
    Aneky,
    Btwl,
    Kysy,
    Ymdd,
    Sfky,
    Jdky,
    Dbky,
    Best,
    Uc,
    Hhtt,
    YunExpress,
}

impl Carrier {
    /// Every carrier, in registry order.
    pub const ALL: [Carrier; 26] = [
        Carrier::Sf,
        Carrier::Zto,
        Carrier::Yto,
        Carrier::Yunda,
        Carrier::Sto,
        Carrier::Jd,
        Carrier::Ems,
        Carrier::Yzpy,
        Carrier::Jtsd,
        Carrier::Dbkd,
        Carrier::Zjs,
        Carrier::Cnsd,
        Carrier::Sxjd,
        Carrier::Ztoky,
        Carrier::Ydky,
        Carrier::Aneky,
        Carrier::Btwl,
        Carrier::Kysy,
        Carrier::Ymdd,
        Carrier::Sfky,
        Carrier::Jdky,
        Carrier::Dbky,
        Carrier::Best,
        Carrier::Uc,
        Carrier::Hhtt,
        Carrier::YunExpress,
    ];

    /// The registry entry (names, codes, sources).
    pub fn info(self) -> &'static CarrierInfo {
        // The table is in enum order; a unit test keeps it that way.
        &CARRIERS[self as usize]
    }

    /// The canonical code (WeChat Shop `delivery_id`, or fahuo's provisional code).
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The carrier whose canonical code is exactly `code` (ASCII case-insensitive).
    pub fn from_code(code: &str) -> Option<Carrier> {
        let code = code.trim();
        Carrier::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    /// This carrier's code in `system`.
    pub fn code_in(self, system: CodeSystem) -> Mapping {
        self.info().mapping(system)
    }

    /// The Chinese name shown to merchants (顺丰速运).
    pub fn name_zh(self) -> &'static str {
        self.info().name_zh
    }

    /// Whether both carriers belong to the same company group (e.g. 顺丰 and 顺丰快运), which
    /// matters when a number of one is entered under the other.
    pub fn same_group(self, other: Carrier) -> bool {
        self == other
            || matches!((self.info().group, other.info().group), (Some(a), Some(b)) if a == b)
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Carrier {
    type Err = RegistryError;

    /// Parses a canonical code only; use [`resolve`] for names and platform codes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(RegistryError::Empty);
        }
        Carrier::from_code(s).ok_or_else(|| RegistryError::Unknown(s.to_owned()))
    }
}

impl Serialize for Carrier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Carrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A code namespace a carrier code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSystem {
    /// 微信小店 `delivery_id`.
    Wechat,
    /// 抖店 `company_code` (from `order.logisticsCompanyList`).
    Douyin,
    /// 小红书 `expressCompanyCode` (from `common.getExpressCompanyList`).
    Xiaohongshu,
    /// 快递100 `com`.
    Kuaidi100,
    /// 快递鸟 `ShipperCode`.
    Kdniao,
}

impl CodeSystem {
    pub const ALL: [CodeSystem; 5] = [
        CodeSystem::Wechat,
        CodeSystem::Douyin,
        CodeSystem::Xiaohongshu,
        CodeSystem::Kuaidi100,
        CodeSystem::Kdniao,
    ];
}

/// How sure we are of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Seen in an official document, an official SDK or an SDK sample (✔ in the reference).
    Official,
    /// Seen only in third-party code or constant lists; likely right, check against the live list.
    ThirdParty,
}

/// A carrier's code in one [`CodeSystem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Mapping {
    Known {
        code: &'static str,
        evidence: Evidence,
        source: &'static str,
    },
    /// No source gives this code. Adapters take it from the platform's live carrier list or the
    /// merchant's table; never derive it from the canonical code.
    Unknown,
}

impl Mapping {
    /// The code, if known.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Mapping::Known { code, .. } => Some(code),
            Mapping::Unknown => None,
        }
    }
}

/// What kind of service a carrier mainly sells; freight (快运) carriers take heavy, bulky goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// 快递: parcels.
    Express,
    /// 快运: less-than-truckload freight, usually priced from tens of kilograms.
    Freight,
    /// 邮政: postal parcels.
    Postal,
    /// 跨境: cross-border parcels.
    CrossBorder,
}

/// One registry row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CarrierInfo {
    #[serde(skip)]
    pub carrier: Carrier,
    /// Canonical code: WeChat `delivery_id` if [`Self::wechat`] is known, else provisional.
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// Other names merchants write (in Excel files, supplier messages), matched after
    /// [`normalize_name`].
    pub aliases: &'static [&'static str],
    pub kind: ServiceKind,
    /// Company group: carriers of one group share brands and sometimes number series.
    pub group: Option<&'static str>,
    pub wechat: Mapping,
    pub douyin: Mapping,
    pub xiaohongshu: Mapping,
    pub kuaidi100: Mapping,
    pub kdniao: Mapping,
    /// Further codes that identify this carrier in a system (reverse lookup only), with source.
    pub extra_codes: &'static [(CodeSystem, &'static str, &'static str)],
    /// Facts and doubts worth knowing when configuring this carrier.
    pub notes: &'static [&'static str],
}

impl CarrierInfo {
    pub fn mapping(&self, system: CodeSystem) -> Mapping {
        match system {
            CodeSystem::Wechat => self.wechat,
            CodeSystem::Douyin => self.douyin,
            CodeSystem::Xiaohongshu => self.xiaohongshu,
            CodeSystem::Kuaidi100 => self.kuaidi100,
            CodeSystem::Kdniao => self.kdniao,
        }
    }

    /// True when the canonical code is fahuo's own because WeChat's code is not known.
    pub fn code_is_provisional(&self) -> bool {
        matches!(self.wechat, Mapping::Unknown)
    }
}

// Source notes, shared by many rows. Section numbers point into shared/reference/.
const WX: &str = "WeChat delivery_id official table [WX-DOC-COMPANY], platform-apis §1.5";
const DY_SKIT: &str = "Douyin SDK sample [SKIT-DY], platform-apis §2.4/§4.4";
const XHS_EX: &str = "XHS official doc example [XHS-SDK], platform-apis §3.3/§4.4";
const K100_DOC: &str = "kuaidi100 doc [K100-DOC], platform-apis §4.4";
const K100_PHP: &str = "kuaidi100 php-demo [K100-PHP], platform-apis §4.4";
const K100_3P: &str = "kuaidi100 code lists (3P), address-and-tracking §5, platform-apis §4.4";
const K100_MCP: &str = "kuaidi100-api/kuaidi100-MCP tool descriptions, address-and-tracking §5";
const K100_OTHERS: &str = "address-and-tracking §5 'others' row (code lists, 3P)";
const KDN_3P: &str = "kdniao constants in several 3P lists, address-and-tracking §5";

const fn wx(code: &'static str) -> Mapping {
    Mapping::Known {
        code,
        evidence: Evidence::Official,
        source: WX,
    }
}

const fn official(code: &'static str, source: &'static str) -> Mapping {
    Mapping::Known {
        code,
        evidence: Evidence::Official,
        source,
    }
}

const fn third(code: &'static str, source: &'static str) -> Mapping {
    Mapping::Known {
        code,
        evidence: Evidence::ThirdParty,
        source,
    }
}

const U: Mapping = Mapping::Unknown;

/// The registry, in [`Carrier`] order.
pub static CARRIERS: [CarrierInfo; 26] = [
    CarrierInfo {
        carrier: Carrier::Sf,
        code: "SF",
        name_zh: "顺丰速运",
        name_en: "SF Express",
        aliases: &["顺丰", "顺丰快递", "顺丰速递", "SF Express", "SF速运"],
        kind: ServiceKind::Express,
        group: Some("SF"),
        wechat: wx("SF"),
        douyin: official("shunfeng", DY_SKIT),
        xiaohongshu: official("shunfeng", XHS_EX),
        kuaidi100: third("shunfeng", K100_3P),
        kdniao: third("SF", KDN_3P),
        extra_codes: &[],
        notes: &[
            "kuaidi100 and kdniao need the receiver's or sender's phone (last 4 digits) to query SF tracks.",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Zto,
        code: "ZTO",
        name_zh: "中通快递",
        name_en: "ZTO Express",
        aliases: &["中通", "中通速递", "ZTO Express"],
        kind: ServiceKind::Express,
        group: Some("ZTO"),
        wechat: wx("ZTO"),
        douyin: U,
        xiaohongshu: official("zto", XHS_EX),
        kuaidi100: third("zhongtong", K100_3P),
        kdniao: third("ZTO", KDN_3P),
        extra_codes: &[],
        notes: &["Douyin code 'zhongtong' appears in the reference with '?' only: not used."],
    },
    CarrierInfo {
        carrier: Carrier::Yto,
        code: "YTO",
        name_zh: "圆通速递",
        name_en: "YTO Express",
        aliases: &["圆通", "圆通快递", "YTO Express"],
        kind: ServiceKind::Express,
        group: Some("YTO"),
        wechat: wx("YTO"),
        douyin: official("yuantong", DY_SKIT),
        xiaohongshu: U,
        kuaidi100: official("yuantong", K100_DOC),
        kdniao: third("YTO", KDN_3P),
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Yunda,
        code: "YUNDA",
        name_zh: "韵达快递",
        name_en: "Yunda Express",
        aliases: &["韵达", "韵达速递", "Yunda Express", "Yunda"],
        kind: ServiceKind::Express,
        group: Some("Yunda"),
        wechat: wx("YUNDA"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: official("yunda", K100_PHP),
        kdniao: third("YD", KDN_3P),
        extra_codes: &[],
        notes: &[
            "SKIT's WeChat samples use 'YD' but WeChat's official table says 'YUNDA'.",
            "One version of kuaidi100's java-demo has the typo 'yuanda'; not accepted here.",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Sto,
        code: "STO",
        name_zh: "申通快递",
        name_en: "STO Express",
        aliases: &["申通", "申通速递", "STO Express"],
        kind: ServiceKind::Express,
        group: Some("STO"),
        wechat: wx("STO"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("shentong", K100_3P),
        kdniao: third("STO", KDN_3P),
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Jd,
        code: "JD",
        name_zh: "京东快递",
        name_en: "JD Logistics",
        aliases: &["京东", "京东物流", "京东配送", "JD Express", "JD Logistics"],
        kind: ServiceKind::Express,
        group: Some("JD"),
        wechat: wx("JD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("jd", K100_3P),
        kdniao: third("JD", KDN_3P),
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Ems,
        code: "EMS",
        name_zh: "中国邮政EMS",
        name_en: "China Post EMS",
        // WeChat's table labels EMS "中国邮政", so the bare name resolves here, not to 邮政包裹.
        aliases: &[
            "EMS",
            "邮政EMS",
            "EMS快递",
            "中国邮政",
            "中国邮政速递",
            "邮政速递",
            "China EMS",
        ],
        kind: ServiceKind::Postal,
        group: Some("China Post"),
        wechat: wx("EMS"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: official("ems", K100_DOC),
        kdniao: third("EMS", KDN_3P),
        extra_codes: &[(CodeSystem::Kuaidi100, "emsguoji", K100_MCP)],
        notes: &["International EMS items use UPU S10 numbers with service indicator E."],
    },
    CarrierInfo {
        carrier: Carrier::Yzpy,
        code: "YZPY",
        name_zh: "邮政快递包裹",
        name_en: "China Post Parcel",
        aliases: &[
            "邮政包裹",
            "邮政快递",
            "邮政国内小包",
            "中国邮政包裹",
            "China Post",
        ],
        kind: ServiceKind::Postal,
        group: Some("China Post"),
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("youzhengguonei", K100_3P),
        kdniao: third("YZPY", KDN_3P),
        extra_codes: &[(CodeSystem::Kuaidi100, "youzhengguoji", K100_MCP)],
        notes: &[
            "Provisional canonical code (kdniao's). WeChat's table as quoted lists only EMS (中国邮政).",
            "kuaidi100 also has 'youzhengbk' (邮政标准快递), a different product: not mapped.",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Jtsd,
        code: "JTSD",
        name_zh: "极兔速递",
        name_en: "J&T Express",
        aliases: &["极兔", "极兔快递", "J&T", "J&T Express", "JT Express"],
        kind: ServiceKind::Express,
        group: Some("J&T"),
        wechat: wx("JTSD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("jtexpress", K100_3P),
        kdniao: third(
            "JTSD",
            "third-party code only (repository not identified), address-and-tracking §5",
        ),
        extra_codes: &[],
        notes: &[
            "J&T's takeover of Best's China network is UNCONFIRMED in the reference; Best is kept separate.",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Dbkd,
        code: "DBKD",
        name_zh: "德邦快递",
        name_en: "Deppon Express",
        aliases: &["德邦", "Deppon", "Deppon Express"],
        kind: ServiceKind::Express,
        group: Some("Deppon"),
        wechat: wx("DBKD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("debangkuaidi", K100_3P),
        kdniao: third("DBL", KDN_3P),
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Zjs,
        code: "ZJS",
        name_zh: "宅急送",
        name_en: "ZJS Express",
        aliases: &["宅急送快递", "ZJS Express"],
        kind: ServiceKind::Express,
        group: None,
        wechat: wx("ZJS"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("zhaijisong", K100_3P),
        kdniao: third("ZJS", KDN_3P),
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Cnsd,
        code: "CNSD",
        name_zh: "菜鸟速递（丹鸟）",
        name_en: "Cainiao Express (Danniao)",
        aliases: &["丹鸟", "丹鸟快递", "菜鸟速递", "Danniao"],
        kind: ServiceKind::Express,
        group: Some("Cainiao"),
        wechat: wx("CNSD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("danniao", K100_3P),
        kdniao: U,
        extra_codes: &[],
        notes: &["Cainiao's own codes and number formats are UNCONFIRMED in the reference."],
    },
    CarrierInfo {
        carrier: Carrier::Sxjd,
        code: "SXJD",
        name_zh: "顺心捷达",
        name_en: "Shunxin Jieda",
        aliases: &["顺心", "顺心捷达快运"],
        kind: ServiceKind::Freight,
        group: None,
        wechat: wx("SXJD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Ztoky,
        code: "ZTOKY",
        name_zh: "中通快运",
        name_en: "ZTO Freight",
        aliases: &["ZTO Freight"],
        kind: ServiceKind::Freight,
        group: Some("ZTO"),
        wechat: wx("ZTOKY"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("zhongtongkuaiyun", K100_OTHERS),
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Ydky,
        code: "YDKY",
        name_zh: "韵达快运",
        name_en: "Yunda Freight",
        aliases: &["Yunda Freight"],
        kind: ServiceKind::Freight,
        group: Some("Yunda"),
        wechat: wx("YDKY"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Aneky,
        code: "ANEKY",
        name_zh: "安能物流",
        name_en: "ANE Logistics",
        aliases: &["安能", "安能快运", "安能快递", "ANE"],
        kind: ServiceKind::Freight,
        group: None,
        wechat: wx("ANEKY"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("annengwuliu", K100_OTHERS),
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Btwl,
        code: "BTWL",
        name_zh: "百世快运",
        name_en: "Best Freight",
        aliases: &["Best Freight"],
        kind: ServiceKind::Freight,
        group: Some("Best"),
        wechat: wx("BTWL"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Kysy,
        code: "KYSY",
        name_zh: "跨越速运",
        name_en: "Kuayue Express (KYE)",
        aliases: &["跨越", "跨越快递", "KYE"],
        kind: ServiceKind::Express,
        group: None,
        wechat: wx("KYSY"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("kuayue", K100_MCP),
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Ymdd,
        code: "YMDD",
        name_zh: "壹米滴答",
        name_en: "Yimidida",
        aliases: &["壹米滴答快运", "Yimidida"],
        kind: ServiceKind::Freight,
        group: None,
        wechat: wx("YMDD"),
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("yimidida", K100_OTHERS),
        kdniao: U,
        extra_codes: &[],
        notes: &[],
    },
    CarrierInfo {
        carrier: Carrier::Sfky,
        code: "SFKY",
        name_zh: "顺丰快运",
        name_en: "SF Freight",
        aliases: &["SF Freight"],
        kind: ServiceKind::Freight,
        group: Some("SF"),
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("shunfengkuaiyun", K100_MCP),
        kdniao: U,
        extra_codes: &[],
        notes: &["Provisional canonical code: not in WeChat's table as quoted in the reference."],
    },
    CarrierInfo {
        carrier: Carrier::Jdky,
        code: "JDKY",
        name_zh: "京东快运",
        name_en: "JD Freight",
        aliases: &["JD Freight"],
        kind: ServiceKind::Freight,
        group: Some("JD"),
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("jingdongkuaiyun", K100_OTHERS),
        kdniao: U,
        extra_codes: &[],
        notes: &["Provisional canonical code: not in WeChat's table as quoted in the reference."],
    },
    CarrierInfo {
        carrier: Carrier::Dbky,
        code: "DBKY",
        name_zh: "德邦快运",
        name_en: "Deppon Freight",
        aliases: &["Deppon Freight"],
        kind: ServiceKind::Freight,
        group: Some("Deppon"),
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: U,
        extra_codes: &[],
        notes: &[
            "Provisional canonical code: not in WeChat's table as quoted in the reference.",
            "kuaidi100 has 'debangwuliu' (德邦物流); whether it is this service is not sourced, so not mapped.",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Best,
        code: "BEST",
        name_zh: "百世快递",
        name_en: "Best Express",
        aliases: &["百世", "百世汇通", "汇通快递", "Best Express"],
        kind: ServiceKind::Express,
        group: Some("Best"),
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: third("huitongkuaidi", K100_3P),
        kdniao: third("HTKY", KDN_3P),
        extra_codes: &[],
        notes: &[
            "Provisional canonical code. The network is believed to be run by J&T now (UNCONFIRMED).",
        ],
    },
    CarrierInfo {
        carrier: Carrier::Uc,
        code: "UC",
        name_zh: "优速快递",
        name_en: "UC Express",
        aliases: &["优速", "优速物流"],
        kind: ServiceKind::Express,
        group: None,
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: third("UC", KDN_3P),
        extra_codes: &[],
        notes: &["Provisional canonical code (kdniao's)."],
    },
    CarrierInfo {
        carrier: Carrier::Hhtt,
        code: "HHTT",
        name_zh: "天天快递",
        name_en: "TTK Express",
        aliases: &["天天"],
        kind: ServiceKind::Express,
        group: None,
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: third("HHTT", KDN_3P),
        extra_codes: &[],
        notes: &["Provisional canonical code (kdniao's)."],
    },
    CarrierInfo {
        carrier: Carrier::YunExpress,
        code: "YUNEXPRESS",
        name_zh: "云途物流",
        name_en: "YunExpress",
        aliases: &["云途", "云途速递"],
        kind: ServiceKind::CrossBorder,
        group: None,
        wechat: U,
        douyin: U,
        xiaohongshu: U,
        kuaidi100: U,
        kdniao: U,
        extra_codes: &[],
        notes: &[
            "Cross-border only. Listed so that its YT+16-digit numbers are not taken for YTO's.",
            "Provisional canonical code.",
        ],
    },
];

/// The carrier whose code in `system` is `code`. Exact match first, then ASCII
/// case-insensitive (kuaidi100 codes are lower case, kdniao's upper, and merchants mix them).
pub fn from_system_code(system: CodeSystem, code: &str) -> Option<Carrier> {
    let code = code.trim();
    let hits = |exact: bool| {
        CARRIERS.iter().find_map(|info| {
            let eq = |c: &str| {
                if exact {
                    c == code
                } else {
                    c.eq_ignore_ascii_case(code)
                }
            };
            let main = info.mapping(system).code().is_some_and(eq);
            let extra = info
                .extra_codes
                .iter()
                .any(|(s, c, _)| *s == system && eq(c));
            (main || extra).then_some(info.carrier)
        })
    };
    hits(true).or_else(|| hits(false))
}

/// Folds a carrier name for comparison: full-width to half-width, no spaces or brackets or
/// dots, ASCII lower case. "ＳＦ Express" and "sf-express" both become "sfexpress".
pub fn normalize_name(name: &str) -> String {
    name.chars()
        .map(crate::tracking_no::fold_width)
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '-' | '_' | '.' | '·' | '(' | ')' | '（' | '）' | '【' | '】'
                )
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// How [`resolve`] recognised its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The canonical code.
    Canonical,
    /// A name or alias from the registry.
    Name,
    /// A code of an aggregator or platform.
    SystemCode(CodeSystem),
    /// A name after dropping a company suffix ("有限公司", "快递", "物流", ...): show it to a
    /// person for confirmation before relying on it.
    LooseName,
}

/// The carrier a name or alias denotes exactly (after [`normalize_name`]).
pub fn from_name(name: &str) -> Option<Carrier> {
    let key = normalize_name(name);
    if key.is_empty() {
        return None;
    }
    CARRIERS.iter().find_map(|info| {
        let names = [info.name_zh, info.name_en]
            .into_iter()
            .chain(info.aliases.iter().copied());
        names
            .into_iter()
            .any(|n| normalize_name(n) == key)
            .then_some(info.carrier)
    })
}

/// Company suffixes dropped by the loose match, longest first so that "股份有限公司" goes whole.
const NAME_SUFFIXES: [&str; 12] = [
    "股份有限公司",
    "有限公司",
    "公司",
    "集团",
    "快递",
    "速运",
    "速递",
    "物流",
    "express",
    "logistics",
    "co",
    "ltd",
];

/// Recognises a carrier from whatever a merchant or supplier wrote: canonical code, name,
/// alias, an aggregator/platform code, or a name with a company suffix.
///
/// The first stage that matches wins; within a stage two different carriers make the input
/// ambiguous (an error, never a pick).
pub fn resolve(input: &str) -> Result<(Carrier, MatchKind), RegistryError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(RegistryError::Empty);
    }
    if let Some(c) = Carrier::from_code(trimmed) {
        return Ok((c, MatchKind::Canonical));
    }
    if let Some(c) = from_name(trimmed) {
        return Ok((c, MatchKind::Name));
    }
    let mut by_code: Vec<(Carrier, CodeSystem)> = CodeSystem::ALL
        .into_iter()
        .filter_map(|s| from_system_code(s, trimmed).map(|c| (c, s)))
        .collect();
    by_code.dedup_by_key(|(c, _)| *c);
    match by_code.as_slice() {
        [] => {}
        [(c, s)] => return Ok((*c, MatchKind::SystemCode(*s))),
        many => {
            let mut carriers: Vec<Carrier> = many.iter().map(|(c, _)| *c).collect();
            carriers.sort();
            carriers.dedup();
            if let [c] = carriers.as_slice() {
                return Ok((*c, MatchKind::SystemCode(many[0].1)));
            }
            return Err(RegistryError::Ambiguous {
                input: input.to_owned(),
                carriers,
            });
        }
    }
    // Strip suffixes repeatedly ("韵达快递有限公司" → "韵达快递" → "韵达").
    let mut key = normalize_name(trimmed);
    while let Some(stripped) = NAME_SUFFIXES
        .iter()
        .find_map(|s| key.strip_suffix(s).filter(|rest| !rest.is_empty()))
    {
        key = stripped.to_owned();
        if let Some(c) = from_name(&key) {
            return Ok((c, MatchKind::LooseName));
        }
    }
    Err(RegistryError::Unknown(input.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn table_is_in_enum_order_and_complete() {
        for (i, c) in Carrier::ALL.into_iter().enumerate() {
            assert_eq!(CARRIERS[i].carrier, c, "row {i}");
            assert_eq!(c as usize, i);
        }
    }

    #[test]
    fn registry_has_the_carriers_the_issue_asks_for() {
        for code in [
            "SF", "ZTO", "YTO", "YUNDA", "STO", "JD", "EMS", "YZPY", "JTSD", "DBKD", "ZJS", "CNSD",
        ] {
            assert!(Carrier::from_code(code).is_some(), "{code}");
        }
        let freight = CARRIERS
            .iter()
            .filter(|i| i.kind == ServiceKind::Freight)
            .count();
        assert!(freight >= 7, "main 快运 carriers: {freight}");
        assert!(CARRIERS.len() >= 15);
    }

    #[test]
    fn canonical_code_is_the_wechat_delivery_id_when_known() {
        for info in &CARRIERS {
            if let Some(wx) = info.wechat.code() {
                assert_eq!(wx, info.code, "{}", info.name_zh);
                assert!(!info.code_is_provisional());
            } else {
                assert!(info.code_is_provisional());
            }
        }
        assert_eq!(
            Carrier::Yunda.code(),
            "YUNDA",
            "official table, not SKIT's 'YD'"
        );
    }

    #[test]
    fn the_reference_cross_walk() {
        use CodeSystem::*;
        let cases = [
            (Carrier::Sf, Douyin, Some("shunfeng")),
            (Carrier::Sf, Xiaohongshu, Some("shunfeng")),
            (Carrier::Zto, Xiaohongshu, Some("zto")),
            (Carrier::Zto, Douyin, None),
            (Carrier::Yto, Douyin, Some("yuantong")),
            (Carrier::Yunda, Kdniao, Some("YD")),
            (Carrier::Yunda, Kuaidi100, Some("yunda")),
            (Carrier::Dbkd, Kdniao, Some("DBL")),
            (Carrier::Dbkd, Kuaidi100, Some("debangkuaidi")),
            (Carrier::Best, Kuaidi100, Some("huitongkuaidi")),
            (Carrier::Best, Kdniao, Some("HTKY")),
            (Carrier::Yzpy, Kuaidi100, Some("youzhengguonei")),
            (Carrier::Cnsd, Kuaidi100, Some("danniao")),
            (Carrier::Cnsd, Kdniao, None),
            (Carrier::Jtsd, Kuaidi100, Some("jtexpress")),
            (Carrier::Sfky, Kuaidi100, Some("shunfengkuaiyun")),
            (Carrier::Sfky, Wechat, None),
        ];
        for (carrier, system, want) in cases {
            assert_eq!(
                carrier.code_in(system).code(),
                want,
                "{carrier} in {system:?}"
            );
        }
    }

    #[test]
    fn official_evidence_only_where_the_reference_has_a_tick_or_the_wechat_table() {
        let official: Vec<(Carrier, CodeSystem)> = CARRIERS
            .iter()
            .flat_map(|i| {
                CodeSystem::ALL
                    .into_iter()
                    .filter(|s| *s != CodeSystem::Wechat)
                    .filter(move |s| {
                        matches!(
                            i.mapping(*s),
                            Mapping::Known {
                                evidence: Evidence::Official,
                                ..
                            }
                        )
                    })
                    .map(move |s| (i.carrier, s))
            })
            .collect();
        use CodeSystem::*;
        assert_eq!(
            official,
            vec![
                (Carrier::Sf, Douyin),
                (Carrier::Sf, Xiaohongshu),
                (Carrier::Zto, Xiaohongshu),
                (Carrier::Yto, Douyin),
                (Carrier::Yto, Kuaidi100),
                (Carrier::Yunda, Kuaidi100),
                (Carrier::Ems, Kuaidi100),
            ]
        );
    }

    #[test]
    fn reverse_lookup_inverts_every_known_mapping() {
        for info in &CARRIERS {
            for system in CodeSystem::ALL {
                if let Some(code) = info.mapping(system).code() {
                    assert_eq!(from_system_code(system, code), Some(info.carrier), "{code}");
                }
            }
        }
        assert_eq!(
            from_system_code(CodeSystem::Kuaidi100, "emsguoji"),
            Some(Carrier::Ems)
        );
        assert_eq!(
            from_system_code(CodeSystem::Kuaidi100, "SHUNFENG"),
            Some(Carrier::Sf)
        );
        assert_eq!(
            from_system_code(CodeSystem::Douyin, "zhongtong"),
            None,
            "not guessed"
        );
        assert_eq!(
            from_system_code(CodeSystem::Kuaidi100, "yuanda"),
            None,
            "typo not accepted"
        );
    }

    #[test]
    fn no_name_or_code_points_at_two_carriers() {
        let mut seen: HashMap<String, Carrier> = HashMap::new();
        for info in &CARRIERS {
            let names = [info.code, info.name_zh, info.name_en]
                .into_iter()
                .chain(info.aliases.iter().copied());
            for n in names {
                let key = normalize_name(n);
                if let Some(prev) = seen.insert(key.clone(), info.carrier) {
                    assert_eq!(
                        prev, info.carrier,
                        "{n:?} is both {prev} and {}",
                        info.carrier
                    );
                }
            }
        }
        // Within a code system, one code means one carrier.
        for system in CodeSystem::ALL {
            let mut codes: HashMap<String, Carrier> = HashMap::new();
            for info in &CARRIERS {
                let all = info.mapping(system).code().into_iter().chain(
                    info.extra_codes
                        .iter()
                        .filter(|(s, _, _)| *s == system)
                        .map(|(_, c, _)| *c),
                );
                for c in all {
                    let prev = codes.insert(c.to_ascii_lowercase(), info.carrier);
                    assert!(prev.is_none(), "{system:?} code {c} twice");
                }
            }
        }
    }

    #[test]
    fn names_from_merchant_spreadsheets_resolve() {
        let cases = [
            ("顺丰", Carrier::Sf, MatchKind::Name),
            ("顺丰速运", Carrier::Sf, MatchKind::Name),
            ("SF Express", Carrier::Sf, MatchKind::Name),
            ("ｓｆ　express", Carrier::Sf, MatchKind::Name),
            ("sf", Carrier::Sf, MatchKind::Canonical),
            ("顺丰快运", Carrier::Sfky, MatchKind::Name),
            ("中通快运", Carrier::Ztoky, MatchKind::Name),
            ("中通", Carrier::Zto, MatchKind::Name),
            ("极兔", Carrier::Jtsd, MatchKind::Name),
            ("J&T Express", Carrier::Jtsd, MatchKind::Name),
            ("菜鸟速递(丹鸟)", Carrier::Cnsd, MatchKind::Name),
            (
                "shunfeng",
                Carrier::Sf,
                MatchKind::SystemCode(CodeSystem::Douyin),
            ),
            (
                "zhongtong",
                Carrier::Zto,
                MatchKind::SystemCode(CodeSystem::Kuaidi100),
            ),
            (
                "YD",
                Carrier::Yunda,
                MatchKind::SystemCode(CodeSystem::Kdniao),
            ),
            (
                "HTKY",
                Carrier::Best,
                MatchKind::SystemCode(CodeSystem::Kdniao),
            ),
            ("韵达快递有限公司", Carrier::Yunda, MatchKind::LooseName),
            ("圆通速递有限公司", Carrier::Yto, MatchKind::LooseName),
            ("申通快递股份有限公司", Carrier::Sto, MatchKind::LooseName),
            ("德邦物流", Carrier::Dbkd, MatchKind::LooseName),
        ];
        for (input, carrier, kind) in cases {
            assert_eq!(resolve(input), Ok((carrier, kind)), "{input}");
        }
    }

    #[test]
    fn unknown_and_empty_names_are_errors() {
        assert_eq!(resolve("  "), Err(RegistryError::Empty));
        assert!(matches!(
            resolve("火星快递"),
            Err(RegistryError::Unknown(_))
        ));
        assert!(matches!(resolve("快递"), Err(RegistryError::Unknown(_))));
    }

    #[test]
    fn carrier_serialises_as_its_code() {
        assert_eq!(serde_json::to_string(&Carrier::Jtsd).unwrap(), "\"JTSD\"");
        let c: Carrier = serde_json::from_str("\"yunda\"").unwrap();
        assert_eq!(c, Carrier::Yunda);
        assert!(serde_json::from_str::<Carrier>("\"NOPE\"").is_err());
    }

    #[test]
    fn registry_rows_serialise_with_evidence_and_sources() {
        let v = serde_json::to_value(Carrier::Sf.info()).unwrap();
        assert_eq!(v["code"], "SF");
        assert_eq!(v["douyin"]["status"], "known");
        assert_eq!(v["douyin"]["code"], "shunfeng");
        assert_eq!(v["douyin"]["evidence"], "official");
        assert!(v["douyin"]["source"].as_str().unwrap().contains("SKIT-DY"));
        let v = serde_json::to_value(Carrier::Sfky.info()).unwrap();
        assert_eq!(v["wechat"], serde_json::json!({"status": "unknown"}));
    }

    #[test]
    fn groups() {
        assert!(Carrier::Sf.same_group(Carrier::Sfky));
        assert!(Carrier::Ems.same_group(Carrier::Yzpy));
        assert!(!Carrier::Sf.same_group(Carrier::Jd));
        assert!(
            !Carrier::Zjs.same_group(Carrier::Uc),
            "no group is not a shared group"
        );
    }
}
