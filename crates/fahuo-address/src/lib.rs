//! fahuo-address: Chinese address parsing (智能地址解析) and administrative-division data.
//!
//! Pure and self-contained: no I/O besides the streaming helper, no dependency on other fahuo
//! crates, and all data embedded at compile time (see `data/SOURCES.md`).
//!
//! ```
//! let p = fahuo_address::parse("张三 13812345678 浙江杭州西湖区文三路90号");
//! assert_eq!(p.name.as_deref(), Some("张三"));
//! assert_eq!(p.province, Some("浙江省"));
//! assert_eq!(p.city, Some("杭州市"));
//! assert_eq!(p.county, Some("西湖区"));
//! assert_eq!(p.adcode, Some("330106"));
//! assert!(p.is_shippable());
//! ```

mod charset;
mod data;
mod matcher;
mod name;
mod normalize;
mod parser;
mod phone;
mod result;
mod towns;

/// The string type of the text fields of [`ParsedAddress`]: short values (a name, a phone
/// number, a town) are kept inline, without an allocation per field per line.
pub use compact_str::CompactString;
pub use data::{CoordSource, Division, Divisions, Level, Rename, distance_km};
pub use normalize::MAX_CHARS;
pub use parser::Parser;
pub use phone::{Phone, PhoneKind};
pub use result::{ParsedAddress, Reason, Reasons, Severity, Verdict};

/// Parse one address line with the process-wide [`Parser`].
pub fn parse(input: &str) -> ParsedAddress {
    Parser::global().parse(input)
}

/// Stream lines from `input` to JSON lines on `output` with the process-wide [`Parser`]; see
/// [`Parser::parse_lines`].
pub fn parse_lines<R: std::io::BufRead, W: std::io::Write>(
    input: R,
    output: W,
) -> std::io::Result<u64> {
    Parser::global().parse_lines(input, output)
}
