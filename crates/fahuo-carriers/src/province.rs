//! Provincial-level divisions (省级行政区), the granularity of carrier rate zones and
//! destination rules.
//!
//! Codes are the first two digits of the GB/T 2260 division code, so any 6- or 12-digit county
//! or town code from an address parser maps onto its province. This crate keeps its own small
//! table rather than depending on `fahuo-address`, so that carrier rules stay usable alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a province.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvinceError {
    #[error("province is empty")]
    Empty,
    #[error("unknown province {0:?}")]
    Unknown(String),
}

/// A provincial-level division. Serialises as its two-digit code (`"44"`); parses from the code,
/// a longer division code, the short or full Chinese name, or the pinyin/English name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Province(u8);

/// (code, short name, full name, English name).
const TABLE: [(u8, &str, &str, &str); 34] = [
    (11, "北京", "北京市", "Beijing"),
    (12, "天津", "天津市", "Tianjin"),
    (13, "河北", "河北省", "Hebei"),
    (14, "山西", "山西省", "Shanxi"),
    (15, "内蒙古", "内蒙古自治区", "Inner Mongolia"),
    (21, "辽宁", "辽宁省", "Liaoning"),
    (22, "吉林", "吉林省", "Jilin"),
    (23, "黑龙江", "黑龙江省", "Heilongjiang"),
    (31, "上海", "上海市", "Shanghai"),
    (32, "江苏", "江苏省", "Jiangsu"),
    (33, "浙江", "浙江省", "Zhejiang"),
    (34, "安徽", "安徽省", "Anhui"),
    (35, "福建", "福建省", "Fujian"),
    (36, "江西", "江西省", "Jiangxi"),
    (37, "山东", "山东省", "Shandong"),
    (41, "河南", "河南省", "Henan"),
    (42, "湖北", "湖北省", "Hubei"),
    (43, "湖南", "湖南省", "Hunan"),
    (44, "广东", "广东省", "Guangdong"),
    (45, "广西", "广西壮族自治区", "Guangxi"),
    (46, "海南", "海南省", "Hainan"),
    (50, "重庆", "重庆市", "Chongqing"),
    (51, "四川", "四川省", "Sichuan"),
    (52, "贵州", "贵州省", "Guizhou"),
    (53, "云南", "云南省", "Yunnan"),
    (54, "西藏", "西藏自治区", "Xizang"),
    (61, "陕西", "陕西省", "Shaanxi"),
    (62, "甘肃", "甘肃省", "Gansu"),
    (63, "青海", "青海省", "Qinghai"),
    (64, "宁夏", "宁夏回族自治区", "Ningxia"),
    (65, "新疆", "新疆维吾尔自治区", "Xinjiang"),
    (71, "台湾", "台湾省", "Taiwan"),
    (81, "香港", "香港特别行政区", "Hong Kong"),
    (82, "澳门", "澳门特别行政区", "Macao"),
];

/// Extra English spellings people use.
const ALIASES: [(&str, u8); 4] = [
    ("tibet", 54),
    ("nei mongol", 15),
    ("hongkong", 81),
    ("macau", 82),
];

impl Province {
    /// Every province, in code order.
    pub fn all() -> impl Iterator<Item = Province> {
        TABLE.iter().map(|row| Province(row.0))
    }

    /// The province with this two-digit code.
    pub fn from_code(code: u8) -> Option<Province> {
        TABLE
            .iter()
            .any(|row| row.0 == code)
            .then_some(Province(code))
    }

    fn row(self) -> &'static (u8, &'static str, &'static str, &'static str) {
        // Construction goes only through the table, so the row exists.
        TABLE
            .iter()
            .find(|row| row.0 == self.0)
            .unwrap_or(&TABLE[0])
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// 广东, 新疆, 北京.
    pub fn short_name(self) -> &'static str {
        self.row().1
    }

    /// 广东省, 新疆维吾尔自治区, 北京市.
    pub fn full_name(self) -> &'static str {
        self.row().2
    }

    pub fn english_name(self) -> &'static str {
        self.row().3
    }

    pub fn parse(s: &str) -> Result<Province, ProvinceError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ProvinceError::Empty);
        }
        let unknown = || ProvinceError::Unknown(s.to_owned());
        if t.bytes().all(|b| b.is_ascii_digit()) {
            // "44", "440000", "440305", "440305001001": the first two digits name the province.
            if t.len() < 2 || !t.len().is_multiple_of(2) {
                return Err(unknown());
            }
            return t[..2]
                .parse()
                .ok()
                .and_then(Province::from_code)
                .ok_or_else(unknown);
        }
        let lower = t.to_ascii_lowercase();
        TABLE
            .iter()
            .find(|row| t == row.1 || t == row.2 || lower == row.3.to_ascii_lowercase())
            .map(|row| Province(row.0))
            .or_else(|| {
                ALIASES
                    .iter()
                    .find(|(a, _)| *a == lower)
                    .map(|(_, c)| Province(*c))
            })
            // "广东省深圳市…": a full address starting with the province's name.
            .or_else(|| {
                TABLE
                    .iter()
                    .find(|row| t.starts_with(row.2))
                    .map(|row| Province(row.0))
            })
            .ok_or_else(unknown)
    }
}

impl fmt::Display for Province {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl FromStr for Province {
    type Err = ProvinceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Province::parse(s)
    }
}

impl Serialize for Province {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}", self.0))
    }
}

impl<'de> Deserialize<'de> for Province {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Province::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Shorthand for tests and examples: the province named `s`, panicking if unknown.
#[cfg(test)]
pub(crate) fn p(s: &str) -> Province {
    Province::parse(s).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_names_and_addresses() {
        let gd = Province::from_code(44).unwrap();
        for s in [
            "44",
            "440000",
            "440305",
            "440305001001",
            "广东",
            "广东省",
            "Guangdong",
            "guangdong",
            "广东省深圳市南山区",
        ] {
            assert_eq!(Province::parse(s), Ok(gd), "{s}");
        }
        assert_eq!(p("新疆维吾尔自治区").code(), 65);
        assert_eq!(p("Tibet"), p("西藏"));
        assert_eq!(p("内蒙古"), p("150000"));
    }

    #[test]
    fn rejects_what_is_not_a_province() {
        assert_eq!(Province::parse(""), Err(ProvinceError::Empty));
        assert!(Province::parse("99").is_err());
        assert!(Province::parse("4").is_err());
        assert!(Province::parse("440").is_err());
        assert!(Province::parse("火星").is_err());
    }

    #[test]
    fn thirty_four_provincial_divisions_with_distinct_names() {
        let all: Vec<Province> = Province::all().collect();
        assert_eq!(all.len(), 34);
        for a in &all {
            assert_eq!(Province::parse(a.short_name()), Ok(*a));
            assert_eq!(Province::parse(a.full_name()), Ok(*a));
            assert_eq!(Province::parse(a.english_name()), Ok(*a));
        }
    }

    #[test]
    fn serialises_as_the_two_digit_code_and_reads_names() {
        assert_eq!(serde_json::to_string(&p("北京")).unwrap(), "\"11\"");
        let v: Vec<Province> = serde_json::from_str(r#"["新疆", "54", "Qinghai"]"#).unwrap();
        assert_eq!(v, [p("65"), p("54"), p("63")]);
    }
}
