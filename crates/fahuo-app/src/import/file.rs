//! From the bytes of an uploaded file to a grid of text cells with the row numbers Excel shows.
//!
//! xlsx is recognised by its zip signature; anything else is treated as delimited text whose
//! encoding is detected (UTF-8 with or without BOM, UTF-16 with BOM as Excel's "Unicode text",
//! otherwise GB18030, a superset of the GBK that Excel on Chinese Windows writes). Legacy `.xls`
//! and other binary files are refused with a message saying how to save the file instead.

use super::{ImportError, Limits};
use calamine::{DataRef, Reader, Xlsx};
use std::collections::BTreeMap;
use std::io::Cursor;

/// Columns beyond this are ignored (a stray cell at column XFD must not allocate 16k columns).
const MAX_COLUMNS: usize = 256;

/// What kind of file it was, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Xlsx,
    Csv,
}

/// One non-empty row of the sheet: its number as Excel shows it (1-based) and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub number: u32,
    pub cells: Vec<String>,
}

impl SheetRow {
    pub fn cell(&self, index: usize) -> &str {
        self.cells.get(index).map(|s| s.trim()).unwrap_or("")
    }

    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// The grid read from a file, blank rows dropped.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub format: FileFormat,
    /// `utf-8`, `utf-8-bom`, `utf-16le`, `utf-16be` or `gb18030` for text files.
    pub encoding: Option<&'static str>,
    /// The delimiter of a text file (`,`, tab or `;`).
    pub delimiter: Option<char>,
    /// The worksheet read (the first one) of an xlsx file.
    pub sheet_name: Option<String>,
    pub rows: Vec<SheetRow>,
}

/// Reads a file into rows. Never panics, whatever the bytes.
pub fn read_sheet(bytes: &[u8], limits: &Limits) -> Result<Sheet, ImportError> {
    if bytes.is_empty() || bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImportError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let sheet = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, limits)?
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ImportError::LegacyXls);
    } else {
        read_text(bytes, limits)?
    };
    if sheet.rows.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(sheet)
}

fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Sheet, ImportError> {
    // A zip bomb inflates a few MB into GBs; refuse it before anything is decompressed when
    // the archive declares its sizes (entries written with data descriptors do not).
    let archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ImportError::BadXlsx(e.to_string()))?;
    if let Some(total) = archive.decompressed_size()
        && total > limits.max_unzipped_bytes as u128
    {
        return Err(ImportError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    drop(archive);
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| ImportError::BadXlsx(e.to_string()))?;
    let Some(name) = workbook.sheet_names().into_iter().next() else {
        return Err(ImportError::Empty);
    };
    let mut reader = workbook
        .worksheet_cells_reader(&name)
        .map_err(|e| ImportError::BadXlsx(e.to_string()))?;
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| ImportError::BadXlsx(e.to_string()))?
    {
        let (r, c) = cell.get_position();
        let c = c as usize;
        if c >= MAX_COLUMNS {
            continue;
        }
        let text = cell_text(cell.get_value());
        if text.trim().is_empty() {
            continue;
        }
        if !rows.contains_key(&r) && rows.len() > limits.max_rows + 1 {
            return Err(ImportError::TooManyRows {
                max_rows: limits.max_rows,
            });
        }
        let row = rows.entry(r).or_default();
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text;
    }
    Ok(Sheet {
        format: FileFormat::Xlsx,
        encoding: None,
        delimiter: None,
        sheet_name: Some(name),
        rows: rows
            .into_iter()
            .map(|(r, cells)| SheetRow {
                number: r.saturating_add(1),
                cells,
            })
            .collect(),
    })
}

/// A cell as the merchant sees it in Excel. Numbers that are whole print without ".0" (phone
/// numbers and order numbers typed as numbers); other numbers print in the shortest form that
/// reads back as the same number, which is what Excel shows for a typed amount.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        DataRef::DateTime(d) if d.is_datetime() => d
            .as_datetime()
            .map(|dt| dt.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| float_text(d.as_f64())),
        DataRef::DateTime(d) => float_text(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e}"),
        DataRef::Empty => String::new(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn read_text(bytes: &[u8], limits: &Limits) -> Result<Sheet, ImportError> {
    let (text, encoding) = decode(bytes)?;
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter as u8)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Excel shows a quoted cell with line breaks as one row, and a blank line as a blank row:
    // number rows by the line a record ends on, less the line breaks inside cells so far.
    // (The csv crate's own line count is off around skipped blank lines.)
    let mut embedded_newlines: u64 = 0;
    let mut scanned = 0usize;
    let mut newlines_before: u64 = 0;
    let mut last_number: u64 = 0;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ImportError::BadText(e.to_string())),
        }
        let end = (reader.position().byte() as usize).min(text.len());
        let body = text
            .get(..end)
            .unwrap_or(&text)
            .trim_end_matches(['\r', '\n']);
        if body.len() > scanned {
            newlines_before += line_breaks(&body.as_bytes()[scanned..]);
            scanned = body.len();
        }
        let own: u64 = record.iter().map(|f| line_breaks(f.as_bytes())).sum();
        // A quote left open until the end of the file can swallow the final line break into
        // the field; numbers still go up by at least one per record.
        let number = (newlines_before + 1)
            .saturating_sub(own)
            .saturating_sub(embedded_newlines)
            .max(last_number + 1);
        last_number = number;
        embedded_newlines += own;
        let row = SheetRow {
            number: u32::try_from(number).unwrap_or(u32::MAX),
            cells: record
                .iter()
                .take(MAX_COLUMNS)
                .map(|c| c.trim_start_matches('\u{feff}').to_string())
                .collect(),
        };
        if row.is_blank() {
            continue;
        }
        if rows.len() > limits.max_rows + 1 {
            return Err(ImportError::TooManyRows {
                max_rows: limits.max_rows,
            });
        }
        rows.push(row);
    }
    Ok(Sheet {
        format: FileFormat::Csv,
        encoding: Some(encoding),
        delimiter: Some(delimiter),
        sheet_name: None,
        rows,
    })
}

/// Line breaks as the csv reader sees them: `\r\n`, `\n`, or a lone `\r` (old Mac files).
fn line_breaks(bytes: &[u8]) -> u64 {
    let lf = bytes.iter().filter(|b| **b == b'\n').count();
    let lone_cr = bytes
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64
}

/// Detects the encoding without asking: a BOM decides; otherwise valid UTF-8 is UTF-8 and
/// anything else is read as GB18030. Bytes that decode to neither, or that are mostly control
/// characters, are not a spreadsheet.
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    let (text, label) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|_| ImportError::NotText)?;
        (text.to_string(), "utf-8-bom")
    } else if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let (encoding, label) = if bytes[0] == 0xFF {
            (encoding_rs::UTF_16LE, "utf-16le")
        } else {
            (encoding_rs::UTF_16BE, "utf-16be")
        };
        let text = encoding
            .decode_without_bom_handling_and_without_replacement(&bytes[2..])
            .ok_or(ImportError::NotText)?;
        (text.into_owned(), label)
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_string(), "utf-8")
    } else {
        let text = encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(ImportError::NotText)?;
        (text.into_owned(), "gb18030")
    };
    let total = text.chars().count().max(1);
    let control = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
        .count();
    if control * 100 > total || text.contains('\0') {
        return Err(ImportError::NotText);
    }
    Ok((text, label))
}

/// The delimiter used most on the first non-blank line: comma, tab (Excel's "text (tab
/// delimited)") or semicolon (Excel in locales where the comma is the decimal mark).
fn sniff_delimiter(text: &str) -> char {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    [',', '\t', ';']
        .into_iter()
        .max_by_key(|d| (first.matches(*d).count(), *d == ','))
        .unwrap_or(',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        let gbk = encoding_rs::GBK.encode("订单号,收件人\n1,张三\n").0;
        assert_eq!(decode(&gbk).unwrap().1, "gb18030");
        assert_eq!(decode(&gbk).unwrap().0, "订单号,收件人\n1,张三\n");
        assert_eq!(decode("订单号".as_bytes()).unwrap().1, "utf-8");
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xE8\xAE\xA2").unwrap(),
            ("订".to_string(), "utf-8-bom")
        );
        assert_eq!(decode(b"\xFF\xFEa\x00b\x00").unwrap().0, "ab");
        assert!(matches!(
            decode(b"\x00\x01\x02\x03"),
            Err(ImportError::NotText)
        ));
    }

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a,b,c\n"), ',');
        assert_eq!(sniff_delimiter("\n\na\tb\tc\n"), '\t');
        assert_eq!(sniff_delimiter("a;b;c"), ';');
        assert_eq!(sniff_delimiter("abc"), ',');
    }

    #[test]
    fn row_numbers_follow_excel_not_lines() {
        let text = "订单号,备注\n1,\"两行\n备注\"\n\n2,x\n";
        let sheet = read_sheet(text.as_bytes(), &Limits::default()).unwrap();
        let numbers: Vec<u32> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 2, 4]);
        // Found by the fuzzer: a lone CR ends a record too (old Mac line ends).
        let sheet = read_sheet(b"a,b\rc,d\r\ne,f\n", &Limits::default()).unwrap();
        let numbers: Vec<u32> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
        // Found by the fuzzer: a quote left open to the end of the file.
        let sheet = read_sheet(b"a,b\nc,d\n\",x\r\n", &Limits::default()).unwrap();
        let numbers: Vec<u32> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 2, 3]);
    }

    #[test]
    fn floats_print_as_typed() {
        assert_eq!(float_text(13812345678.0), "13812345678");
        assert_eq!(float_text(12.35), "12.35");
        assert_eq!(float_text(0.1 + 0.2), "0.30000000000000004");
    }
}
