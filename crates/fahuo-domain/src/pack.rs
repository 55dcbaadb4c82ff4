//! Pack verification (验货): every item of a parcel is scanned before it is closed; a wrong,
//! extra or missing item is refused with a message loud enough to hear, and the weight may be
//! checked against what the items should weigh.
//!
//! Pure: the store keeps the scan counts between scans, so a page reload or a second station
//! continues where the first stopped.

use crate::SkuId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One SKU the parcel must contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackItem {
    pub sku_id: SkuId,
    pub sku_code: String,
    pub barcode: Option<String>,
    pub title: String,
    pub units: i64,
    /// Grams per unit, when the SKU has one.
    pub weight_g: Option<i64>,
}

/// What one scan did. Everything but `Counted` and `Complete` is refused: the count does not
/// change, and the station should sound its error tone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ScanOutcome {
    /// Counted; more items are still to scan.
    Counted {
        sku_code: String,
        title: String,
        scanned: i64,
        expected: i64,
        remaining_total: i64,
    },
    /// Counted, and that was the last item.
    Complete { sku_code: String, title: String },
    /// Not an item of this parcel (错货).
    WrongItem { code: String },
    /// An item of this parcel, but all of its units are already scanned (多货).
    Extra {
        sku_code: String,
        title: String,
        expected: i64,
    },
}

impl ScanOutcome {
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            ScanOutcome::Counted { .. } | ScanOutcome::Complete { .. }
        )
    }

    /// What the station says, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            ScanOutcome::Counted {
                title,
                scanned,
                expected,
                remaining_total,
                ..
            } => format!("{title} {scanned}/{expected}，还差 {remaining_total} 件"),
            ScanOutcome::Complete { .. } => "全部商品已扫描，可以封箱".to_string(),
            ScanOutcome::WrongItem { code } => {
                format!("错货！条码 {code} 不是这个包裹的商品，请拿出")
            }
            ScanOutcome::Extra {
                title, expected, ..
            } => format!("多货！{title} 只需要 {expected} 件，请拿出多余的"),
        }
    }
}

/// A parcel's items and how many of each were scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackCheck {
    pub items: Vec<PackItem>,
    /// Units scanned per SKU.
    pub scanned: BTreeMap<SkuId, i64>,
}

/// An item not (fully) scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Missing {
    pub sku_code: String,
    pub title: String,
    pub units: i64,
}

/// A weight outside the tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightOff {
    pub expected_g: i64,
    pub actual_g: i64,
    pub allowed_g: i64,
}

impl WeightOff {
    pub fn message_zh(&self) -> String {
        let diff = self.actual_g - self.expected_g;
        format!(
            "重量异常：称重 {} g，应为约 {} g（{}{} g，允许 ±{} g），请核对包裹内容",
            self.actual_g,
            self.expected_g,
            if diff > 0 { "+" } else { "" },
            diff,
            self.allowed_g
        )
    }
}

/// Scanner input: trimmed, full-width folded to ASCII, upper-cased (scanners and keyboards
/// differ in all three).
pub fn normalize_code(code: &str) -> String {
    code.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

impl PackCheck {
    pub fn new(items: Vec<PackItem>) -> Self {
        PackCheck {
            items,
            scanned: BTreeMap::new(),
        }
    }

    fn scanned_of(&self, sku: SkuId) -> i64 {
        self.scanned.get(&sku).copied().unwrap_or(0)
    }

    /// Units still to scan.
    pub fn remaining(&self) -> i64 {
        self.items
            .iter()
            .map(|i| (i.units - self.scanned_of(i.sku_id)).max(0))
            .sum()
    }

    /// Counts one scanned code: the item's barcode, or its SKU code (many merchants print the
    /// SKU code as the barcode).
    pub fn scan(&mut self, code: &str) -> ScanOutcome {
        let code = normalize_code(code);
        let item = self
            .items
            .iter()
            .find(|i| i.barcode.as_deref().map(normalize_code).as_deref() == Some(&code))
            .or_else(|| {
                self.items
                    .iter()
                    .find(|i| normalize_code(&i.sku_code) == code)
            })
            .cloned();
        let Some(item) = item else {
            return ScanOutcome::WrongItem { code };
        };
        let done = self.scanned_of(item.sku_id);
        if done >= item.units {
            return ScanOutcome::Extra {
                sku_code: item.sku_code,
                title: item.title,
                expected: item.units,
            };
        }
        self.scanned.insert(item.sku_id, done + 1);
        let remaining_total = self.remaining();
        if remaining_total == 0 {
            ScanOutcome::Complete {
                sku_code: item.sku_code,
                title: item.title,
            }
        } else {
            ScanOutcome::Counted {
                sku_code: item.sku_code,
                title: item.title,
                scanned: done + 1,
                expected: item.units,
                remaining_total,
            }
        }
    }

    /// Items not yet fully scanned (少货); empty when the parcel may be closed.
    pub fn missing(&self) -> Vec<Missing> {
        self.items
            .iter()
            .filter(|i| self.scanned_of(i.sku_id) < i.units)
            .map(|i| Missing {
                sku_code: i.sku_code.clone(),
                title: i.title.clone(),
                units: i.units - self.scanned_of(i.sku_id),
            })
            .collect()
    }

    /// What the parcel should weigh, when every item's weight is known.
    pub fn expected_weight(&self, packaging_g: i64) -> Option<i64> {
        self.items
            .iter()
            .map(|i| i.weight_g.map(|w| w * i.units))
            .sum::<Option<i64>>()
            .map(|w| w + packaging_g)
    }
}

/// Whether a weighed parcel is close enough to its expected weight: within `percent` of it or
/// `grams`, whichever is larger.
pub fn check_weight(
    expected_g: i64,
    actual_g: i64,
    percent: u32,
    grams: i64,
) -> Result<(), WeightOff> {
    let allowed_g = (expected_g * i64::from(percent) / 100).max(grams);
    if (actual_g - expected_g).abs() <= allowed_g {
        Ok(())
    } else {
        Err(WeightOff {
            expected_g,
            actual_g,
            allowed_g,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parcel() -> PackCheck {
        PackCheck::new(vec![
            PackItem {
                sku_id: SkuId(1),
                sku_code: "TEA-01".into(),
                barcode: Some("6901234567892".into()),
                title: "龙井 250g".into(),
                units: 2,
                weight_g: Some(260),
            },
            PackItem {
                sku_id: SkuId(2),
                sku_code: "CUP-01".into(),
                barcode: None,
                title: "茶杯".into(),
                units: 1,
                weight_g: Some(180),
            },
        ])
    }

    #[test]
    fn scanning_every_item_completes_the_parcel() {
        let mut p = parcel();
        assert!(matches!(
            p.scan("6901234567892"),
            ScanOutcome::Counted {
                scanned: 1,
                remaining_total: 2,
                ..
            }
        ));
        assert!(
            matches!(
                p.scan(" cup-01 "),
                ScanOutcome::Counted {
                    remaining_total: 1,
                    ..
                }
            ),
            "SKU code, any case"
        );
        assert_eq!(p.missing().len(), 1);
        assert!(
            matches!(
                p.scan("６９０１２３４５６７８９２"),
                ScanOutcome::Complete { .. }
            ),
            "full-width digits"
        );
        assert!(p.missing().is_empty());
    }

    #[test]
    fn a_wrong_item_is_refused_and_counts_nothing() {
        let mut p = parcel();
        let out = p.scan("6900000000000");
        assert_eq!(
            out,
            ScanOutcome::WrongItem {
                code: "6900000000000".into()
            }
        );
        assert!(!out.accepted());
        assert!(out.message_zh().contains("错货"));
        assert_eq!(p.remaining(), 3);
    }

    #[test]
    fn an_extra_unit_is_refused() {
        let mut p = parcel();
        p.scan("CUP-01");
        let out = p.scan("CUP-01");
        assert!(matches!(out, ScanOutcome::Extra { expected: 1, .. }));
        assert!(out.message_zh().contains("多货"));
        assert_eq!(p.remaining(), 2);
    }

    #[test]
    fn missing_items_are_listed_with_their_count() {
        let mut p = parcel();
        p.scan("6901234567892");
        let missing = p.missing();
        assert_eq!(missing.len(), 2);
        assert_eq!(
            (missing[0].sku_code.as_str(), missing[0].units),
            ("TEA-01", 1)
        );
    }

    #[test]
    fn the_weight_must_be_within_the_larger_of_percent_and_grams() {
        let p = parcel();
        let expected = p.expected_weight(40).unwrap();
        assert_eq!(expected, 2 * 260 + 180 + 40);
        assert!(
            check_weight(expected, expected + 74, 10, 50).is_ok(),
            "10% of 740 = 74"
        );
        let off = check_weight(expected, expected + 75, 10, 50).unwrap_err();
        assert_eq!(off.allowed_g, 74);
        assert!(off.message_zh().contains("+75 g"));
        assert!(
            check_weight(100, 145, 10, 50).is_ok(),
            "50 g floor for light parcels"
        );
        let mut unknown = parcel();
        unknown.items[1].weight_g = None;
        assert_eq!(unknown.expected_weight(0), None);
    }
}
