//! The plain description of a package that rates and selection work on: where it goes, what it
//! weighs, how big it is and what it holds. Callers build it from their own order and SKU data.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::province::Province;

/// A product tag that changes which carriers may take a package or what it costs.
///
/// Parses from the English code or the Chinese word merchants use (冷链, 易碎, ...); anything
/// else is kept as [`Tag::Other`] so merchants can write rules on their own tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Tag {
    /// 冷链 / 生鲜: needs a cold chain.
    ColdChain,
    /// 易碎.
    Fragile,
    /// 液体.
    Liquid,
    /// 带电: batteries; some carriers refuse them.
    Battery,
    /// 大件: bulky goods, often better with a 快运 carrier.
    Bulky,
    /// The merchant's own tag, lower-cased.
    Other(String),
}

/// Why a string is not a tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("tag is empty")]
    EmptyTag,
    #[error("dimension is zero: {0:?}")]
    ZeroDimension([u32; 3]),
}

impl Tag {
    pub fn parse(s: &str) -> Result<Tag, PackageError> {
        let t = s.trim();
        Ok(match t.to_ascii_lowercase().as_str() {
            "" => return Err(PackageError::EmptyTag),
            "cold_chain" | "冷链" | "生鲜" | "冷藏" | "冷冻" => Tag::ColdChain,
            "fragile" | "易碎" | "易碎品" => Tag::Fragile,
            "liquid" | "液体" => Tag::Liquid,
            "battery" | "带电" | "电池" => Tag::Battery,
            "bulky" | "大件" => Tag::Bulky,
            other => Tag::Other(other.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Tag::ColdChain => "cold_chain",
            Tag::Fragile => "fragile",
            Tag::Liquid => "liquid",
            Tag::Battery => "battery",
            Tag::Bulky => "bulky",
            Tag::Other(s) => s,
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Tag {
    type Error = PackageError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Tag::parse(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.as_str().to_owned()
    }
}

/// Outer dimensions in millimetres, all non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "[u32; 3]", into = "[u32; 3]")]
pub struct DimsMm([u32; 3]);

impl DimsMm {
    pub fn new(l: u32, w: u32, h: u32) -> Result<DimsMm, PackageError> {
        let d = [l, w, h];
        if d.contains(&0) {
            return Err(PackageError::ZeroDimension(d));
        }
        Ok(DimsMm(d))
    }

    pub fn get(self) -> [u32; 3] {
        self.0
    }

    /// Volume in mm³ (u64: a 2 m cube is 8·10⁹ mm³).
    pub fn volume_mm3(self) -> u64 {
        self.0.iter().map(|d| u64::from(*d)).product()
    }
}

impl TryFrom<[u32; 3]> for DimsMm {
    type Error = PackageError;
    fn try_from(d: [u32; 3]) -> Result<Self, Self::Error> {
        DimsMm::new(d[0], d[1], d[2])
    }
}

impl From<DimsMm> for [u32; 3] {
    fn from(d: DimsMm) -> [u32; 3] {
        d.0
    }
}

/// A package to price or route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// The caller's id, echoed in results.
    pub id: String,
    /// The shop the order came from (for shop defaults and shop rules).
    pub shop: String,
    pub destination: Province,
    /// Actual (scale) weight in grams.
    pub weight_g: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims_mm: Option<DimsMm>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tags: BTreeSet<Tag>,
}

impl Package {
    pub fn new(
        id: impl Into<String>,
        shop: impl Into<String>,
        destination: Province,
        weight_g: u32,
    ) -> Package {
        Package {
            id: id.into(),
            shop: shop.into(),
            destination,
            weight_g,
            dims_mm: None,
            tags: BTreeSet::new(),
        }
    }

    pub fn with_dims(mut self, dims: DimsMm) -> Package {
        self.dims_mm = Some(dims);
        self
    }

    pub fn with_tag(mut self, tag: Tag) -> Package {
        self.tags.insert(tag);
        self
    }

    pub fn has_tag(&self, tag: &Tag) -> bool {
        self.tags.contains(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_from_chinese_and_english() {
        assert_eq!(Tag::parse("冷链"), Ok(Tag::ColdChain));
        assert_eq!(Tag::parse(" Fragile "), Ok(Tag::Fragile));
        assert_eq!(Tag::parse("易碎品"), Ok(Tag::Fragile));
        assert_eq!(Tag::parse("Gift"), Ok(Tag::Other("gift".into())));
        assert_eq!(Tag::parse(" "), Err(PackageError::EmptyTag));
    }

    #[test]
    fn package_round_trips_through_json() {
        let p = Package::new("P1", "shop-1", Province::parse("浙江").unwrap(), 1200)
            .with_dims(DimsMm::new(300, 200, 100).unwrap())
            .with_tag(Tag::ColdChain);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"id":"P1","shop":"shop-1","destination":"33","weight_g":1200,"dims_mm":[300,200,100],"tags":["cold_chain"]}"#
        );
        assert_eq!(serde_json::from_str::<Package>(&json).unwrap(), p);
        let bad = r#"{"id":"P","shop":"s","destination":"33","weight_g":1,"dims_mm":[0,1,1]}"#;
        assert!(serde_json::from_str::<Package>(bad).is_err());
    }
}
