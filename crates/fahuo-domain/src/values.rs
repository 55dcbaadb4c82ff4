//! Validated value types, parsed once at the edge (API, importer, adapter, CLI).
//!
//! Fields are private; constructors return [`ParseError`]; reading goes through `as_str()` or
//! `get()`. Serde deserialisation goes through the same parsers, so JSON cannot smuggle in an
//! invalid value.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Money in fen (分), the only money type in fahuo. Never a float.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn get(self) -> i64 {
        self.0
    }

    /// Parses a yuan amount as merchants write it ("12.5", "¥1,299.00", "3") into fen,
    /// exactly: no float is involved, and more than two decimals is an error, not a rounding.
    pub fn parse_yuan(input: &str) -> Result<Fen, ParseError> {
        let field = "amount";
        let cleaned: String = input
            .trim()
            .trim_start_matches(['¥', '￥'])
            .chars()
            .filter(|c| *c != ',')
            .collect();
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(frac) || frac.len() > 2 {
            return Err(ParseError::new(
                field,
                format!("not an amount in yuan: {input:?}"),
            ));
        }
        let whole: i64 = whole
            .parse()
            .map_err(|_| ParseError::new(field, "amount too large"))?;
        let frac: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        let fen = whole
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac))
            .ok_or_else(|| ParseError::new(field, "amount too large"))?;
        Ok(Fen(if negative { -fen } else { fen }))
    }
}

impl fmt::Display for Fen {
    /// Shows yuan with two decimals: `Fen(129900)` → `1299.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// Weight in whole grams.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
pub struct Grams(i64);

impl Grams {
    pub fn new(grams: i64) -> Result<Grams, ParseError> {
        if (0..=1_000_000_000).contains(&grams) {
            Ok(Grams(grams))
        } else {
            Err(ParseError::new(
                "weight_g",
                format!("weight out of range: {grams} g"),
            ))
        }
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Grams {
    type Error = ParseError;
    fn try_from(v: i64) -> Result<Self, ParseError> {
        Grams::new(v)
    }
}

impl From<Grams> for i64 {
    fn from(g: Grams) -> i64 {
        g.0
    }
}

/// Defines a trimmed, non-empty, length-limited text newtype with a custom check.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, max = $max:expr, check = $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, ParseError> {
                let value = input.trim();
                if value.is_empty() {
                    return Err(ParseError::new($field, "must not be empty"));
                }
                if value.chars().count() > $max {
                    return Err(ParseError::new($field, format!("longer than {} characters", $max)));
                }
                if value.chars().any(char::is_control) {
                    return Err(ParseError::new($field, "contains control characters"));
                }
                let check: fn(&str) -> Result<String, String> = $check;
                check(value).map($name).map_err(|reason| ParseError::new($field, reason))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn any_text(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

fn code_chars(s: &str) -> Result<String, String> {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./#+".contains(c))
    {
        Ok(s.to_string())
    } else {
        Err("only letters, digits and - _ . / # + are allowed".into())
    }
}

text_type!(
    /// A display name: shop, warehouse, SKU title, tenant. Up to 200 characters.
    Name, field = "name", max = 200, check = any_text
);

text_type!(
    /// A login name: 3–64 of lowercase letters, digits, `.`, `_`, `-`, `@`.
    Username, field = "username", max = 64, check = |s| {
        let s = s.to_lowercase();
        if s.chars().count() < 3 {
            return Err("at least 3 characters".into());
        }
        if s.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)) {
            Ok(s)
        } else {
            Err("only letters, digits and . _ - @ are allowed".into())
        }
    }
);

text_type!(
    /// The platform's own order number (订单号), kept exactly as the platform wrote it.
    PlatformOrderId, field = "platform_order_id", max = 64, check = code_chars
);

text_type!(
    /// The merchant's SKU code (商家编码).
    SkuCode, field = "sku_code", max = 64, check = code_chars
);

text_type!(
    /// A product barcode as scanned (EAN-13, UPC, Code128 or the merchant's own).
    Barcode, field = "barcode", max = 64, check = code_chars
);

text_type!(
    /// A warehouse code, short and stable (e.g. `HZ01`).
    WarehouseCode, field = "warehouse_code", max = 32, check = code_chars
);

text_type!(
    /// A carrier code in fahuo's canonical namespace (WeChat Shop `delivery_id`, e.g. `ZTO`).
    CarrierCode, field = "carrier_code", max = 32, check = |s| {
        let s = s.to_ascii_uppercase();
        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(s)
        } else {
            Err("carrier codes are letters, digits and _".into())
        }
    }
);

text_type!(
    /// A tracking (waybill) number, normalised: no spaces or dashes, upper case.
    /// Per-carrier format rules live with the carrier registry.
    TrackingNo, field = "tracking_no", max = 40, check = |s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if s.len() >= 6 && s.chars().all(|c| c.is_ascii_alphanumeric()) {
            Ok(s)
        } else {
            Err("6 to 40 letters and digits".into())
        }
    }
);

/// A receiver's phone: a mainland mobile (11 digits, `1[3-9]…`), a landline with area code and
/// optional extension, or a platform virtual number with its extension (`138…-1234`).
/// It is PII: [`Phone`]'s `Debug` masks it, and it is encrypted at rest by the store.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Phone, ParseError> {
        let field = "phone";
        let mut s: String = input
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '－' | '—' | '_' | '#' | '转' => '-',
                _ => c,
            })
            .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '（' | '）'))
            .collect();
        if let Some(rest) = s.strip_prefix("+86") {
            s = rest.trim_start_matches('-').to_string();
        } else if let Some(rest) = s.strip_prefix("0086") {
            s = rest.to_string();
        }
        let parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).collect();
        let digits_only = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
        if parts.is_empty() || !parts.iter().all(|p| digits_only(p)) {
            return Err(ParseError::new(
                field,
                "a phone number has only digits and - separators",
            ));
        }
        let ok = match parts.as_slice() {
            // Mobile, optionally with a virtual-number extension.
            [m] | [m, _] if is_mobile(m) => parts.len() == 1 || parts[1].len() <= 6,
            // Landline: area code + number (+ extension), or glued together.
            [area, num] | [area, num, _] if area.starts_with('0') => {
                (3..=4).contains(&area.len()) && (7..=8).contains(&num.len())
            }
            [glued] | [glued, _] if glued.starts_with('0') => (10..=12).contains(&glued.len()),
            // Service numbers (400/800) and local numbers without area code.
            [n] => (7..=12).contains(&n.len()),
            _ => false,
        };
        if ok {
            Ok(Phone(parts.join("-")))
        } else {
            Err(ParseError::new(
                field,
                "not a mobile, landline or virtual number",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits of the main number (before any extension), used for the
    /// "search by phone last four" lookup through a keyed hash.
    pub fn last_four(&self) -> &str {
        let main = self.0.split('-').find(|p| p.len() >= 7).unwrap_or(&self.0);
        &main[main.len().saturating_sub(4)..]
    }

    /// The masked form shown in UI and logs: `138****5678`.
    pub fn masked(&self) -> String {
        crate::pii::mask_phone(&self.0)
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && matches!(s.as_bytes()[1], b'3'..=b'9')
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_amounts_become_exact_fen() {
        assert_eq!(Fen::parse_yuan("12.5"), Ok(Fen(1250)));
        assert_eq!(Fen::parse_yuan("¥1,299.00"), Ok(Fen(129900)));
        assert_eq!(Fen::parse_yuan("3"), Ok(Fen(300)));
        assert_eq!(Fen::parse_yuan("-0.01"), Ok(Fen(-1)));
        assert!(
            Fen::parse_yuan("1.234").is_err(),
            "more than two decimals is refused"
        );
        assert!(Fen::parse_yuan("abc").is_err());
        assert!(Fen::parse_yuan("").is_err());
        assert!(Fen::parse_yuan("99999999999999999999").is_err());
        assert_eq!(Fen(129900).to_string(), "1299.00");
        assert_eq!(Fen(-5).to_string(), "-0.05");
    }

    #[test]
    fn phones_of_every_kind_parse_and_mask() {
        let mobile = Phone::parse(" 138 1234 5678 ").unwrap();
        assert_eq!(mobile.as_str(), "13812345678");
        assert_eq!(mobile.masked(), "138****5678");
        assert_eq!(mobile.last_four(), "5678");
        assert_eq!(
            Phone::parse("+86 13812345678").unwrap().as_str(),
            "13812345678"
        );

        let landline = Phone::parse("021-64581234-8").unwrap();
        assert_eq!(landline.as_str(), "021-64581234-8");
        assert_eq!(landline.last_four(), "1234");

        let virtual_no = Phone::parse("17012345678转4321").unwrap();
        assert_eq!(virtual_no.as_str(), "17012345678-4321");
        assert_eq!(virtual_no.last_four(), "5678");

        assert!(Phone::parse("").is_err());
        assert!(Phone::parse("phone").is_err());
        assert!(Phone::parse("12345").is_err());
        assert!(
            !format!("{mobile:?}").contains("13812345678"),
            "Debug never shows PII"
        );
    }

    #[test]
    fn text_values_are_trimmed_and_checked() {
        assert_eq!(SkuCode::parse(" A-100 ").unwrap().as_str(), "A-100");
        assert!(SkuCode::parse("A 100").is_err());
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{0}b").is_err());
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(CarrierCode::parse("zto").unwrap().as_str(), "ZTO");
        assert_eq!(
            TrackingNo::parse("sf 1234-5678-9012").unwrap().as_str(),
            "SF123456789012"
        );
        let bad: Result<SkuCode, _> = serde_json::from_str("\"has space\"");
        assert!(bad.is_err(), "serde goes through the parser");
    }
}
