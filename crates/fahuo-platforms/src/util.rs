//! Small helpers shared by the platform modules: hashing, constant-time comparison, lenient
//! JSON field access (platforms send ids as numbers or strings), and text-to-domain parsing.

use crate::error::PlatformError;
use fahuo_domain::SkuCode;
use md5::{Digest, Md5};
use serde_json::Value;

pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub(crate) fn sha1_hex(data: &[u8]) -> String {
    hex(&sha1::Sha1::digest(data))
}

/// Compares two signatures without an early exit (case-insensitive for hex).
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| {
        acc | (x.to_ascii_lowercase() ^ y.to_ascii_lowercase())
    }) == 0
}

/// Compares two signatures without an early exit, case-sensitively (base64 is case-sensitive).
pub(crate) fn ct_eq_exact(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A field as text: strings as they are, numbers in decimal; absent/null/other → `None`.
pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Non-empty text, trimmed.
pub(crate) fn nonempty(v: &Value, key: &str) -> Option<String> {
    text(v, key)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// An integer field, accepting `"123"` as well as `123`; absent/null → `None`.
pub(crate) fn int(v: &Value, key: &str) -> Result<Option<i64>, PlatformError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| PlatformError::protocol(format!("{key}: not an integer"))),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| PlatformError::protocol(format!("{key}: not an integer"))),
        Some(_) => Err(PlatformError::protocol(format!("{key}: not an integer"))),
    }
}

/// An integer that must be there.
pub(crate) fn req_int(v: &Value, key: &str) -> Result<i64, PlatformError> {
    int(v, key)?.ok_or_else(|| PlatformError::protocol(format!("missing {key}")))
}

/// Text that must be there and be non-empty.
pub(crate) fn req_text(v: &Value, key: &str) -> Result<String, PlatformError> {
    nonempty(v, key).ok_or_else(|| PlatformError::protocol(format!("missing {key}")))
}

/// An array field; absent/null → empty; anything else → protocol error.
pub(crate) fn array<'a>(v: &'a Value, key: &str) -> Result<&'a [Value], PlatformError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(PlatformError::protocol(format!("{key}: not an array"))),
    }
}

/// An object field; absent/null → `Value::Null` (so lookups on it yield `None`).
pub(crate) fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Value, PlatformError> {
    static NULL: Value = Value::Null;
    match v.get(key) {
        None | Some(Value::Null) => Ok(&NULL),
        Some(o @ Value::Object(_)) => Ok(o),
        Some(_) => Err(PlatformError::protocol(format!("{key}: not an object"))),
    }
}

/// A merchant code, or `None` with a warning when the platform's text is not a valid code.
pub(crate) fn sku_code(raw: Option<String>, warnings: &mut Vec<String>) -> Option<SkuCode> {
    let raw = raw?;
    match SkuCode::parse(&raw) {
        Ok(c) => Some(c),
        Err(e) => {
            warnings.push(format!("merchant sku code dropped: {e}"));
            None
        }
    }
}

/// Notes: empty → `None`.
pub(crate) fn note(v: &Value, key: &str) -> Option<String> {
    nonempty(v, key)
}

/// `town` + `detail`, without repeating the town when the buyer already typed it.
pub(crate) fn join_town(town: &str, detail: &str) -> String {
    let (town, detail) = (town.trim(), detail.trim());
    if town.is_empty() || detail.starts_with(town) {
        detail.to_string()
    } else {
        format!("{town}{detail}")
    }
}

/// Parses a JSON response body into an object, or says why not.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, PlatformError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(PlatformError::protocol("response is not a JSON object")),
        Err(e) => Err(PlatformError::protocol(format!(
            "response is not JSON ({} bytes): {e}",
            body.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_come_as_numbers_or_strings() {
        let v = json!({"a": 3721712203692901632u64, "b": "42", "c": null, "d": [1]});
        assert_eq!(text(&v, "a").as_deref(), Some("3721712203692901632"));
        assert_eq!(int(&v, "b"), Ok(Some(42)));
        assert_eq!(int(&v, "c"), Ok(None));
        assert!(int(&v, "d").is_err());
    }

    #[test]
    fn the_town_is_not_written_twice() {
        assert_eq!(join_town("西溪街道", "文三路90号"), "西溪街道文三路90号");
        assert_eq!(
            join_town("西溪街道", "西溪街道文三路90号"),
            "西溪街道文三路90号"
        );
        assert_eq!(join_town("", "文三路90号"), "文三路90号");
    }

    #[test]
    fn signatures_compare_in_constant_time_and_ignore_hex_case() {
        assert!(ct_eq("abcDEF", "ABCdef"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
        assert!(ct_eq_exact("aB+=", "aB+="));
        assert!(!ct_eq_exact("ab", "AB"));
        assert!(!ct_eq_exact("ab", "abc"));
    }
}
