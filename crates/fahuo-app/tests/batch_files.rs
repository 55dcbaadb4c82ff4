//! Tracking-number files (批量导入单号) and the order export, as merchants produce and open them:
//! xlsx written by LibreOffice Calc (fixtures, see `scripts/make-batch-fixtures`), CSV in GBK,
//! UTF-8 with a BOM and UTF-16, the platforms' header spellings, and hostile files. Pure: no
//! database.

use calamine::{Data, Reader, Xlsx};
use fahuo_app::batch::export::{ExportColumn, ExportFormat, ExportRow, write_orders};
use fahuo_app::batch::file::{
    FileVerdict, ResultRow, ShipmentField, ShipmentFile, ShipmentRow, TemplateKind,
    parse_shipment_file, result_xlsx, shipment_limits, shipment_template_xlsx,
};
use fahuo_app::import::{FileFormat, ImportError};
use fahuo_carriers::Carrier;
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/batch")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(bytes: &[u8]) -> ShipmentFile {
    parse_shipment_file(bytes, &shipment_limits()).expect("file is readable")
}

fn parse_err(bytes: &[u8]) -> ImportError {
    parse_shipment_file(bytes, &shipment_limits()).expect_err("file is refused")
}

fn row(file: &ShipmentFile, number: u32) -> &ShipmentRow {
    file.rows
        .iter()
        .find(|r| r.row == number)
        .unwrap_or_else(|| panic!("row {number} in {:?}", summary(file)))
}

/// (row, order number, carrier, verdicts) for assertion messages.
fn summary(file: &ShipmentFile) -> Vec<(u32, String, Option<Carrier>, Vec<FileVerdict>)> {
    file.rows
        .iter()
        .map(|r| (r.row, r.order_no.clone(), r.carrier, r.verdicts.clone()))
        .collect()
}

fn xlsx(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = Workbook::new();
    build(wb.add_worksheet());
    wb.save_to_buffer().unwrap()
}

fn header(ws: &mut rust_xlsxwriter::Worksheet) {
    for (c, h) in ["订单号", "快递公司", "快递单号"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
}

/// The file part of an xlsx, as text.
fn xlsx_part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn read_cells(bytes: &[u8], sheet: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

// ---------------------------------------------------------------------------------------------
// LibreOffice-written files.

const LO_ORDERS: [&str; 6] = [
    "3705115058471208928",
    "6917283746501928374",
    "4821937465019283746",
    "5102938475610293847",
    "3705115058471209999",
    "1234567",
];
const LO_NUMBERS: [&str; 6] = [
    "SF1385628716739",
    "73610555582883",
    "YT8962646785389",
    "JT5261988016578",
    "EB472918368CN",
    "773277027280336",
];
const LO_CARRIERS: [Carrier; 6] = [
    Carrier::Sf,
    Carrier::Zto,
    Carrier::Yto,
    Carrier::Jtsd,
    Carrier::Ems,
    Carrier::Sto,
];

/// Calc told that the order and tracking columns are text: every digit survives, the carriers
/// written as name, short name, code and kuaidi100 code are all recognised, every number is
/// valid for its carrier (EMS with its S10 check digit).
#[test]
fn libreoffice_xlsx_with_text_columns_reads_clean() {
    let file = parse(&fixture("shipments-lo-text.xlsx"));
    assert_eq!(file.format, FileFormat::Xlsx);
    assert_eq!(file.header_row, 1);
    assert_eq!(file.template, TemplateKind::Fahuo);
    assert_eq!(file.rows.len(), 6, "{:?}", summary(&file));
    for (i, r) in file.rows.iter().enumerate() {
        assert_eq!(r.row, i as u32 + 2);
        assert_eq!(r.order_no, LO_ORDERS[i]);
        assert_eq!(r.carrier, Some(LO_CARRIERS[i]));
        assert_eq!(r.tracking_no.as_ref().unwrap().as_str(), LO_NUMBERS[i]);
        assert!(r.verdicts.is_empty(), "{:?}", summary(&file));
    }
}

/// The same CSV opened with Calc's default column types, as a merchant double-clicking it
/// would: the 19-digit order numbers become numbers of 15 significant digits
/// (3.70511505847121E+018 in the file), so rows 2 and 6 even end up with the same number.
/// Each is flagged, none is trusted; the 7-digit order number and the all-digit ZTO and STO
/// numbers, which a double holds exactly, are fine.
#[test]
fn libreoffice_xlsx_with_numbers_flags_every_mangled_order_number() {
    let file = parse(&fixture("shipments-lo-numbers.xlsx"));
    assert_eq!(file.rows.len(), 6);
    for n in 2..=6 {
        let r = row(&file, n);
        assert_eq!(
            r.verdicts,
            vec![FileVerdict::OrderNoMangled {
                text: r.order_no.clone()
            }],
            "row {n}"
        );
        assert_ne!(r.order_no, LO_ORDERS[n as usize - 2], "digits were lost");
    }
    assert_eq!(row(&file, 2).order_no, row(&file, 6).order_no);
    let last = row(&file, 7);
    assert_eq!(last.order_no, "1234567");
    assert!(last.verdicts.is_empty(), "{:?}", last.verdicts);
    assert_eq!(
        row(&file, 3).tracking_no.as_ref().unwrap().as_str(),
        "73610555582883"
    );
    assert_eq!(
        last.tracking_no.as_ref().unwrap().as_str(),
        "773277027280336"
    );
}

/// Headless Calc given no charset read the UTF-8 CSV in a Western charset: the headers are
/// mojibake. That is a clear file-level refusal, not rows of nonsense.
#[test]
fn libreoffice_mojibake_is_refused_with_the_missing_columns() {
    match parse_err(&fixture("shipments-lo-mojibake.xlsx")) {
        ImportError::MissingColumns {
            missing, no_header, ..
        } => {
            assert_eq!(missing, vec!["订单号", "快递公司", "快递单号"]);
            assert!(no_header);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn the_merchants_csv_itself_reads_clean() {
    let file = parse(&fixture("shipments.csv"));
    assert_eq!(file.encoding, Some("utf-8"));
    let orders: Vec<&str> = file.rows.iter().map(|r| r.order_no.as_str()).collect();
    assert_eq!(orders, LO_ORDERS);
    assert!(file.rows.iter().all(|r| r.verdicts.is_empty()));
}

// ---------------------------------------------------------------------------------------------
// Encodings and header spellings.

/// A Douyin-style export saved by Excel on Chinese Windows (GBK): 主订单编号 is the order,
/// 子订单编号 the line, 商品ID and 订单状态 are ignored, 物流公司/运单号 name the shipment.
#[test]
fn gbk_csv_with_platform_headers() {
    let text = "主订单编号,子订单编号,商品ID,订单状态,物流公司,运单号\r\n\
                6917283746501928374,6917283746501928375,3581234567,待发货,圆通速递,YT8962646785389\r\n\
                6917283746501928374,6917283746501928376,3581234568,待发货,圆通速递,YT8962646785389\r\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let file = parse(&bytes);
    assert_eq!(file.encoding, Some("gb18030"));
    assert_eq!(file.template, TemplateKind::Other);
    assert_eq!(
        file.columns,
        vec![
            ("主订单编号".to_string(), ShipmentField::OrderNo),
            ("子订单编号".to_string(), ShipmentField::Sku),
            ("物流公司".to_string(), ShipmentField::Carrier),
            ("运单号".to_string(), ShipmentField::TrackingNo),
        ]
    );
    assert_eq!(file.ignored_columns, vec!["商品ID", "订单状态"]);
    // Two lines of one order in one parcel: one number, not a duplicate, not reused.
    for (n, sku) in [(2, "6917283746501928375"), (3, "6917283746501928376")] {
        let r = row(&file, n);
        assert_eq!(r.order_no, "6917283746501928374");
        assert_eq!(r.sku.as_deref(), Some(sku));
        assert_eq!(r.carrier, Some(Carrier::Yto));
        assert!(r.verdicts.is_empty(), "{:?}", r.verdicts);
    }
}

/// English headers with a BOM, a title row above the header, carriers typed with spaces and
/// full-width letters, numbers with spaces and dashes.
#[test]
fn utf8_bom_csv_with_english_headers_and_a_title_row() {
    let text = "\u{feff}Shipments 2026-11-20,,\r\n\
                Order No.,Express Company,Tracking Number\r\n\
                WX20261120001,ＳＦ,sf 1385 6287 16739\r\n\
                WX20261120002, J&T Express ,JT-5261-9880-16578\r\n";
    let file = parse(text.as_bytes());
    assert_eq!(file.encoding, Some("utf-8-bom"));
    assert_eq!(file.header_row, 2);
    let r = row(&file, 3);
    assert_eq!(r.carrier, Some(Carrier::Sf));
    assert_eq!(r.tracking_no.as_ref().unwrap().as_str(), "SF1385628716739");
    assert_eq!(r.tracking_text, "sf 1385 6287 16739");
    let r = row(&file, 4);
    assert_eq!(r.carrier, Some(Carrier::Jtsd));
    assert_eq!(r.tracking_no.as_ref().unwrap().as_str(), "JT5261988016578");
    assert!(file.rows.iter().all(|r| r.verdicts.is_empty()));
}

/// Excel's "Unicode text": UTF-16LE with a BOM, tab-separated.
#[test]
fn utf16_tab_separated() {
    let text = "订单ID\t快递公司名称\t快递单号码\r\nA1\t中通快递\t73610555582883\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let file = parse(&bytes);
    assert_eq!(file.encoding, Some("utf-16le"));
    assert_eq!(row(&file, 2).carrier, Some(Carrier::Zto));
    assert!(row(&file, 2).verdicts.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Every verdict, on the row it belongs to.

#[test]
fn every_verdict_on_its_row() {
    let long_carrier = "顺".repeat(300);
    let text = format!(
        "订单号,快递公司,快递单号,商品编码,发货数量\n\
         A1001,顺丰,SF1385628716739,,\n\
         ,中通,73610555582883,,\n\
         6.91728E+18,圆通,YT8962646785389,,\n\
         A1002,,JT5261988016578,,\n\
         A1003,火星快递,DPK202252612836,,\n\
         A1004,申通,,,\n\
         A1005,中通,SF1385628716741,,\n\
         A1006,EMS,EB472918367CN,,\n\
         A1001,顺丰速运,sf 1385 6287 16739,,\n\
         A1007,顺丰,SF1385628716739,,\n\
         A1008,京东,JDX024407261700,TEE-01,0\n\
         A1009,京东,JDX024407261701,,2\n\
         A1010,{long_carrier},YT8962646785390,,\n\
         A1011,韵达,463431409940372,SKU-9,3\n\
         ,,,,\n\
         A1012,YTO,YT8962646785391,,\n"
    );
    let file = parse(text.as_bytes());
    use FileVerdict as V;
    let expected: Vec<(u32, Vec<FileVerdict>)> = vec![
        (2, vec![]),
        (3, vec![V::MissingOrderNo]),
        (
            4,
            vec![V::OrderNoMangled {
                text: "6.91728E+18".into(),
            }],
        ),
        (5, vec![V::MissingCarrier]),
        (
            6,
            vec![V::CarrierUnknown {
                text: "火星快递".into(),
            }],
        ),
        (7, vec![V::MissingTrackingNo]),
        (
            8,
            vec![V::TrackingInvalid {
                text: "SF1385628716741".into(),
                why: "这是顺丰速运的单号，不是中通快递的；请核对快递公司".into(),
            }],
        ),
        (
            9,
            vec![V::TrackingInvalid {
                text: "EB472918367CN".into(),
                why: "校验位应为 8，实为 7，可能输错了一位".into(),
            }],
        ),
        (10, vec![V::DuplicateRow { first_row: 2 }]),
        (
            11,
            vec![V::ReusedInFile {
                other_order_no: "A1001".into(),
                other_row: 2,
            }],
        ),
        (12, vec![V::BadQuantity { text: "0".into() }]),
        (13, vec![V::BadQuantity { text: "2".into() }]),
        (
            14,
            vec![V::CellTooLong {
                field: ShipmentField::Carrier,
                chars: 300,
            }],
        ),
        (15, vec![]),
        (17, vec![]),
    ];
    let got: Vec<(u32, Vec<FileVerdict>)> = file
        .rows
        .iter()
        .map(|r| (r.row, r.verdicts.clone()))
        .collect();
    assert_eq!(got, expected);
    // The too-long cell is not echoed anywhere.
    let r14 = row(&file, 14);
    assert_eq!(r14.carrier_text, "");
    for v in &r14.verdicts {
        assert!(!v.message_zh().contains("顺顺顺"));
        assert!(!serde_json::to_string(v).unwrap().contains("顺顺顺"));
    }
    let r15 = row(&file, 15);
    assert_eq!((r15.sku.as_deref(), r15.quantity), (Some("SKU-9"), Some(3)));
    // Stable codes for the API.
    assert_eq!(
        serde_json::to_value(&row(&file, 10).verdicts[0]).unwrap(),
        serde_json::json!({"code": "duplicate_row", "first_row": 2})
    );
    for r in &file.rows {
        for v in &r.verdicts {
            assert!(!v.message_zh().is_empty());
        }
    }
}

/// A number used by order A, then B, then A again: both later rows point at the first row of
/// another order.
#[test]
fn reused_numbers_point_at_the_first_other_order() {
    let file = parse(
        "订单号,快递公司,快递单号\nA,顺丰,SF1385628716739\nB,顺丰,SF1385628716739\nA,顺丰,SF1385628716739\n"
            .as_bytes(),
    );
    assert!(row(&file, 2).verdicts.is_empty());
    assert_eq!(
        row(&file, 3).verdicts,
        vec![FileVerdict::ReusedInFile {
            other_order_no: "A".into(),
            other_row: 2
        }]
    );
    assert_eq!(
        row(&file, 4).verdicts,
        vec![FileVerdict::DuplicateRow { first_row: 2 }]
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile and malformed files.

/// Numbers, dates and booleans where text belongs: read as what Excel shows, then judged.
#[test]
fn wrong_cell_types() {
    let bytes = xlsx(|ws| {
        header(ws);
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let day = ExcelDateTime::from_ymd(2026, 11, 20).unwrap();
        ws.write_string(1, 0, "B1").unwrap();
        ws.write_number(1, 1, 123.0).unwrap();
        ws.write_string(1, 2, "SF1385628716739").unwrap();
        ws.write_string(2, 0, "B2").unwrap();
        ws.write_datetime_with_format(2, 1, &day, &date).unwrap();
        ws.write_string(2, 2, "SF1385628716741").unwrap();
        ws.write_string(3, 0, "B3").unwrap();
        ws.write_boolean(3, 1, true).unwrap();
        ws.write_string(3, 2, "SF1385628716742").unwrap();
        ws.write_number(4, 0, 12345.0).unwrap();
        ws.write_string(4, 1, "顺丰").unwrap();
        ws.write_boolean(4, 2, false).unwrap();
        ws.write_datetime_with_format(5, 0, &day, &date).unwrap();
        ws.write_string(5, 1, "顺丰").unwrap();
        ws.write_string(5, 2, "SF1385628716743").unwrap();
    });
    let file = parse(&bytes);
    assert_eq!(
        row(&file, 2).verdicts,
        vec![FileVerdict::CarrierUnknown { text: "123".into() }]
    );
    match &row(&file, 3).verdicts[..] {
        [FileVerdict::CarrierUnknown { text }] => assert!(text.starts_with("2026-11-20"), "{text}"),
        v => panic!("{v:?}"),
    }
    assert_eq!(
        row(&file, 4).verdicts,
        vec![FileVerdict::CarrierUnknown {
            text: "TRUE".into()
        }]
    );
    // A whole number in the order column is its digits; a boolean is no tracking number.
    let r5 = row(&file, 5);
    assert_eq!(r5.order_no, "12345");
    assert!(matches!(
        &r5.verdicts[..],
        [FileVerdict::TrackingInvalid { text, .. }] if text == "FALSE"
    ));
    // A date in the order column: Excel changed what was typed.
    assert!(matches!(
        &row(&file, 6).verdicts[..],
        [FileVerdict::OrderNoMangled { .. }]
    ));
}

/// Merged cells: an order number merged over two rows (two parcels) and a carrier merged over
/// two orders apply to each row of the range, as Excel shows them; a note merged across the
/// row stays in its first column and is not copied into the carrier or number.
#[test]
fn merged_cells() {
    let bytes = xlsx(|ws| {
        let f = Format::new();
        header(ws);
        ws.merge_range(1, 0, 2, 0, "3705115058471208928", &f)
            .unwrap();
        ws.write_string(1, 1, "顺丰").unwrap();
        ws.write_string(1, 2, "SF1385628716739").unwrap();
        ws.write_string(2, 1, "顺丰").unwrap();
        ws.write_string(2, 2, "SF1385628716741").unwrap();
        ws.merge_range(3, 1, 4, 1, "中通", &f).unwrap();
        ws.write_string(3, 0, "A2001").unwrap();
        ws.write_string(3, 2, "73610555582883").unwrap();
        ws.write_string(4, 0, "A2002").unwrap();
        ws.write_string(4, 2, "73610555582884").unwrap();
        ws.merge_range(5, 0, 5, 2, "备注：以上为今日发货", &f)
            .unwrap();
    });
    let file = parse(&bytes);
    for (n, order, carrier) in [
        (2, "3705115058471208928", Carrier::Sf),
        (3, "3705115058471208928", Carrier::Sf),
        (4, "A2001", Carrier::Zto),
        (5, "A2002", Carrier::Zto),
    ] {
        let r = row(&file, n);
        assert_eq!((r.order_no.as_str(), r.carrier), (order, Some(carrier)));
        assert!(r.verdicts.is_empty(), "row {n}: {:?}", r.verdicts);
    }
    assert_eq!(
        row(&file, 6).verdicts,
        vec![FileVerdict::MissingCarrier, FileVerdict::MissingTrackingNo]
    );
}

/// Formulas are never evaluated: the value Excel cached when it saved the file is read (a
/// HYPERLINK shows its text, which is the number), and a formula saved without a cached value
/// (as rust_xlsxwriter and some generators do) reads as the stored 0, not as its result.
#[test]
fn formulas_are_read_as_their_cached_values() {
    let bytes = xlsx(|ws| {
        header(ws);
        ws.write_formula(1, 0, "=1+1").unwrap();
        ws.write_string(1, 1, "顺丰").unwrap();
        ws.write_string(1, 2, "SF1385628716739").unwrap();
        ws.write_string(2, 0, "A3").unwrap();
        ws.write_string(2, 1, "顺丰").unwrap();
        ws.write_formula(
            2,
            2,
            Formula::new(r#"=HYPERLINK("https://www.sf-express.com/","SF1385628716741")"#)
                .set_result("SF1385628716741"),
        )
        .unwrap();
        ws.write_formula(3, 0, Formula::new("=1+1").set_result("5"))
            .unwrap();
        ws.write_string(3, 1, "顺丰").unwrap();
        ws.write_string(3, 2, "SF1385628716742").unwrap();
        ws.write_string(4, 0, "A5").unwrap();
        ws.write_formula(4, 1, r#"=CONCATENATE("顺","丰")"#)
            .unwrap();
        ws.write_string(4, 2, "SF1385628716743").unwrap();
    });
    let file = parse(&bytes);
    assert_eq!(row(&file, 2).order_no, "0");
    let r3 = row(&file, 3);
    assert_eq!(r3.tracking_no.as_ref().unwrap().as_str(), "SF1385628716741");
    assert!(r3.verdicts.is_empty());
    assert_eq!(row(&file, 4).order_no, "5", "cached, not computed");
    assert_eq!(
        row(&file, 5).verdicts,
        vec![FileVerdict::CarrierUnknown { text: "0".into() }]
    );
    for r in &file.rows {
        for t in [&r.order_no, &r.carrier_text, &r.tracking_text] {
            assert!(!t.contains('='), "formula text leaked: {t}");
        }
    }
}

#[test]
fn a_one_megabyte_cell_is_refused_without_echo() {
    let mut text = String::from("订单号,快递公司,快递单号\nA1,顺丰,");
    text.push_str(&"S".repeat(1 << 20));
    text.push('\n');
    let file = parse(text.as_bytes());
    let r = row(&file, 2);
    assert_eq!(
        r.verdicts,
        vec![FileVerdict::CellTooLong {
            field: ShipmentField::TrackingNo,
            chars: 1 << 20
        }]
    );
    assert!(r.tracking_text.is_empty() && r.tracking_no.is_none());
    assert!(serde_json::to_string(&file.rows).unwrap().len() < 1000);
}

#[test]
fn too_many_rows_is_a_quick_clear_refusal() {
    let mut text = String::from("订单号,快递公司,快递单号\n");
    for i in 0..100_000u32 {
        text.push_str(&format!("A{i},顺丰,SF13856287{i:05}\n"));
    }
    let start = Instant::now();
    let err = parse_err(text.as_bytes());
    assert_eq!(err, ImportError::TooManyRows { max_rows: 50_000 });
    assert!(err.message_zh().contains("50000"));
    // Generous for a debug build on a shared machine; the point is that it stops early.
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn exactly_the_limit_is_accepted() {
    let limits = fahuo_app::import::Limits {
        max_rows: 3,
        ..shipment_limits()
    };
    let ok = "订单号,快递公司,快递单号\nA,顺丰,SF1385628716739\nB,顺丰,SF1385628716741\nC,顺丰,SF1385628716742\n";
    assert_eq!(
        parse_shipment_file(ok.as_bytes(), &limits)
            .unwrap()
            .rows
            .len(),
        3
    );
    let over = format!("{ok}D,顺丰,SF1385628716743\n");
    assert_eq!(
        parse_shipment_file(over.as_bytes(), &limits).unwrap_err(),
        ImportError::TooManyRows { max_rows: 3 }
    );
}

#[test]
fn unreadable_files_are_clear_errors() {
    // Binary garbage: pseudo-random bytes, and bytes full of control characters.
    let mut x: u32 = 12345;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    assert!(parse_shipment_file(&garbage, &shipment_limits()).is_err());
    assert_eq!(parse_err(&[0, 1, 2, 3, 4, 5, 6, 7]), ImportError::NotText);
    // A zip that is not an xlsx.
    let mut zip_bytes = Vec::new();
    {
        let mut z = zip::ZipWriter::new(Cursor::new(&mut zip_bytes));
        z.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all("订单号,快递公司,快递单号\n".as_bytes())
            .unwrap();
        z.finish().unwrap();
    }
    assert!(matches!(parse_err(&zip_bytes), ImportError::BadXlsx(_)));
    // A truncated xlsx.
    let template = shipment_template_xlsx().unwrap();
    assert!(matches!(
        parse_err(&template[..template.len() / 2]),
        ImportError::BadXlsx(_)
    ));
    assert_eq!(
        parse_err(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        ImportError::LegacyXls
    );
    assert_eq!(parse_err(b""), ImportError::Empty);
    assert_eq!(parse_err(b" \r\n"), ImportError::Empty);
}

#[test]
fn header_only_and_missing_columns() {
    assert_eq!(
        parse_err("订单号,快递公司,快递单号\r\n".as_bytes()),
        ImportError::HeaderOnly
    );
    // Rows with nothing in the shipment columns are not rows to ship.
    assert_eq!(
        parse_err("订单号,快递公司,快递单号,备注\r\n,,,只有备注\r\n".as_bytes()),
        ImportError::HeaderOnly
    );
    match parse_err("订单号,快递公司,备注\nA1,顺丰,x\n".as_bytes()) {
        ImportError::MissingColumns {
            missing,
            missing_en,
            no_header,
        } => {
            assert_eq!(missing, vec!["快递单号"]);
            assert_eq!(missing_en, vec!["tracking number"]);
            assert!(!no_header);
        }
        e => panic!("{e:?}"),
    }
    match parse_err(b"hello,world\n1,2\n") {
        ImportError::MissingColumns { no_header, .. } => assert!(no_header),
        e => panic!("{e:?}"),
    }
    // 子订单号 and 商品ID never stand in for the order number.
    match parse_err("子订单号,商品ID,快递公司,快递单号\n1,2,顺丰,SF1385628716739\n".as_bytes())
    {
        ImportError::MissingColumns { missing, .. } => assert_eq!(missing, vec!["订单号"]),
        e => panic!("{e:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Template and result file.

#[test]
fn the_template_reads_back_as_itself() {
    let bytes = shipment_template_xlsx().unwrap();
    let file = parse(&bytes);
    assert_eq!(file.template, TemplateKind::Fahuo);
    assert_eq!(file.sheet_name.as_deref(), Some("发货单号"));
    assert_eq!(file.rows.len(), 1);
    let r = &file.rows[0];
    assert_eq!(r.carrier, Some(Carrier::Sf));
    assert!(r.verdicts.is_empty(), "{:?}", r.verdicts);
    let fields: Vec<ShipmentField> = file.columns.iter().map(|(_, f)| *f).collect();
    assert_eq!(
        fields,
        [
            ShipmentField::OrderNo,
            ShipmentField::Carrier,
            ShipmentField::TrackingNo,
            ShipmentField::Sku,
            ShipmentField::Quantity
        ]
    );
    // The example order number is a string cell; order, tracking and SKU columns are text
    // (number format "@") so what a clerk types there stays text.
    let cells = read_cells(&bytes, "发货单号");
    assert!(matches!(&cells[1][0], Data::String(s) if s == &r.order_no));
    let styles = xlsx_part(&bytes, "xl/styles.xml");
    assert!(styles.contains(r#"formatCode="@""#), "{styles}");
    let sheet = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    let text_cols: Vec<&str> = sheet
        .split("<col ")
        .skip(1)
        .filter_map(|c| c.split("/>").next())
        .filter(|c| c.contains("style="))
        .filter_map(|c| c.split('"').nth(1))
        .collect();
    assert_eq!(
        text_cols,
        ["1", "3", "4"],
        "订单号, 快递单号, 商品编码: {sheet}"
    );
    // The carriers sheet lists every carrier fahuo recognises, each resolvable by its name.
    let carriers = read_cells(&bytes, "快递公司");
    let names: Vec<String> = carriers[1..].iter().map(|r| r[0].to_string()).collect();
    let expected: Vec<String> = Carrier::ALL
        .iter()
        .map(|c| c.name_zh().to_string())
        .collect();
    assert_eq!(names, expected);
    for name in &names {
        assert!(fahuo_carriers::registry::resolve(name).is_ok(), "{name}");
    }
}

#[test]
fn the_result_file_keeps_numbers_as_text() {
    let rows = vec![
        ResultRow {
            row: 2,
            order_no: "3705115058471208928".into(),
            carrier: "顺丰速运".into(),
            tracking_no: "SF1385628716739".into(),
            outcome: "shipped".into(),
            message_zh: "已发货".into(),
        },
        ResultRow {
            row: 3,
            order_no: "6917283746501928374".into(),
            carrier: "中通快递".into(),
            tracking_no: "73610555582883".into(),
            outcome: "invalid".into(),
            message_zh: "=HYPERLINK(\"http://x\")".into(),
        },
    ];
    let bytes = result_xlsx(&rows).unwrap();
    let cells = read_cells(&bytes, "导入结果");
    let header: Vec<String> = cells[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        ["行号", "订单号", "快递公司", "快递单号", "结果", "说明"]
    );
    assert_eq!(cells[1][0], Data::Float(2.0));
    assert_eq!(cells[1][1], Data::String("3705115058471208928".into()));
    assert_eq!(cells[1][4], Data::String("已发货".into()));
    assert_eq!(cells[2][3], Data::String("73610555582883".into()));
    assert_eq!(cells[2][5], Data::String("=HYPERLINK(\"http://x\")".into()));
    let sheet = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("<f>"), "no formula cells");
    assert!(xlsx_part(&bytes, "xl/styles.xml").contains("quotePrefix=\"1\""));
    // Empty results are still a file with its header.
    assert_eq!(read_cells(&result_xlsx(&[]).unwrap(), "导入结果").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Export.

fn export_rows() -> Vec<ExportRow> {
    vec![
        ExportRow {
            order_no: "3705115058471208928".into(),
            receiver_phone: "13812345678".into(),
            receiver_name: "张*".into(),
            items: "纯棉T恤 ×2".into(),
            quantity: 2,
            paid_total: "99.00".into(),
            carrier: "顺丰速运".into(),
            tracking_no: "SF1385628716739".into(),
            seller_note: "=cmd|' /C calc'!A0".into(),
            ..Default::default()
        },
        ExportRow {
            order_no: "0012345678".into(),
            receiver_phone: "02112345678".into(),
            quantity: 1,
            paid_total: "-12.50".into(),
            carrier: "中通快递".into(),
            tracking_no: "73610555582883".into(),
            seller_note: "加急,含\"引号\"".into(),
            ..Default::default()
        },
    ]
}

const FIXTURE_COLUMNS: [ExportColumn; 5] = [
    ExportColumn::OrderNo,
    ExportColumn::ReceiverPhone,
    ExportColumn::Carrier,
    ExportColumn::TrackingNo,
    ExportColumn::SellerNote,
];

#[test]
fn xlsx_export_keeps_long_numbers_as_text_and_neutralises_formulas() {
    let bytes = write_orders(ExportFormat::Xlsx, &ExportColumn::ALL, &export_rows()).unwrap();
    let cells = read_cells(&bytes, "订单");
    let col = |c: ExportColumn| ExportColumn::ALL.iter().position(|x| *x == c).unwrap();
    let headers: Vec<String> = cells[0].iter().map(|c| c.to_string()).collect();
    let expected: Vec<&str> = ExportColumn::ALL.iter().map(|c| c.header_zh()).collect();
    assert_eq!(headers, expected);
    assert_eq!(
        cells[1][col(ExportColumn::OrderNo)],
        Data::String("3705115058471208928".into())
    );
    assert_eq!(
        cells[1][col(ExportColumn::ReceiverPhone)],
        Data::String("13812345678".into())
    );
    assert_eq!(
        cells[2][col(ExportColumn::OrderNo)],
        Data::String("0012345678".into())
    );
    assert_eq!(
        cells[2][col(ExportColumn::TrackingNo)],
        Data::String("73610555582883".into())
    );
    assert_eq!(cells[1][col(ExportColumn::Quantity)], Data::Float(2.0));
    assert_eq!(
        cells[1][col(ExportColumn::SellerNote)],
        Data::String("=cmd|' /C calc'!A0".into())
    );
    let sheet = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("<f>"), "no formula cells");
    assert!(sheet.contains(r#"ySplit="1""#), "header row frozen");
    let styles = xlsx_part(&bytes, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "bold header");
    assert!(styles.contains(r#"formatCode="@""#), "text format");
    assert!(
        styles.contains(r#"quotePrefix="1""#),
        "formula-like cells quoted"
    );
}

#[test]
fn csv_export_has_a_bom_crlf_text_guards_and_no_formulas() {
    let bytes = write_orders(ExportFormat::Csv, &FIXTURE_COLUMNS, &export_rows()).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches("\r\n").count(), 3);
    assert_eq!(text.matches('\n').count(), 3, "no bare LF");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], "订单号,手机,快递公司,快递单号,卖家备注");
    assert!(lines[1].starts_with("\t3705115058471208928,\t13812345678,"));
    assert!(lines[1].ends_with(",'=cmd|' /C calc'!A0"));
    assert!(!text.contains(",=cmd"));
    assert!(lines[2].contains("\"加急,含\"\"引号\"\"\""));
    // The committed fixture (which LibreOffice converted into export-lo.xlsx) is exactly
    // what the exporter writes.
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        String::from_utf8(fixture("export.csv")).unwrap(),
        "regenerate with scripts/make-batch-fixtures"
    );
    // Plain numbers are left alone.
    let bytes = write_orders(
        ExportFormat::Csv,
        &[ExportColumn::PaidTotal, ExportColumn::Quantity],
        &export_rows(),
    )
    .unwrap();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains("\r\n-12.50,1\r\n")
    );
}

/// The export CSV opened in LibreOffice with its default column types and saved as xlsx: the
/// tab kept the long digit strings text, so they import back exactly.
#[test]
fn export_csv_through_libreoffice_keeps_the_digits() {
    let bytes = fixture("export-lo.xlsx");
    let cells = read_cells(&bytes, "in");
    assert_eq!(cells[1][0], Data::String("\t3705115058471208928".into()));
    assert_eq!(cells[2][0], Data::String("\t0012345678".into()));
    assert_eq!(cells[2][1], Data::String("\t02112345678".into()));
    assert_eq!(cells[1][4], Data::String("'=cmd|' /C calc'!A0".into()));
    let file = parse(&bytes);
    assert_eq!(row(&file, 2).order_no, "3705115058471208928");
    assert_eq!(row(&file, 3).order_no, "0012345678");
    assert_eq!(
        row(&file, 3).tracking_no.as_ref().unwrap().as_str(),
        "73610555582883"
    );
    assert!(
        file.rows.iter().all(|r| r.verdicts.is_empty()),
        "{:?}",
        summary(&file)
    );
    assert_eq!(file.ignored_columns, vec!["手机", "卖家备注"]);
}

/// Export unshipped orders, fill in carrier and number as a clerk would, import: every row is
/// read back with its exact order number.
#[test]
fn export_fill_import_round_trip() {
    let columns = [
        ExportColumn::OrderNo,
        ExportColumn::ReceiverName,
        ExportColumn::ReceiverPhone,
        ExportColumn::Items,
        ExportColumn::Quantity,
        ExportColumn::Carrier,
        ExportColumn::TrackingNo,
    ];
    let rows: Vec<ExportRow> = export_rows()
        .into_iter()
        .map(|r| ExportRow {
            carrier: String::new(),
            tracking_no: String::new(),
            ..r
        })
        .collect();
    let fill = [("顺丰", "SF1385628716739"), ("ZTO", "73610555582883")];

    // xlsx: read the export, write it again with the two columns filled (types kept).
    let exported = write_orders(ExportFormat::Xlsx, &columns, &rows).unwrap();
    let cells = read_cells(&exported, "订单");
    let filled = xlsx(|ws| {
        for (r, row) in cells.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Data::String(s) => {
                        ws.write_string(r, c, s).unwrap();
                    }
                    Data::Float(f) => {
                        ws.write_number(r, c, *f).unwrap();
                    }
                    Data::Empty => {}
                    other => panic!("{other:?}"),
                }
            }
        }
        for (i, (carrier, number)) in fill.iter().enumerate() {
            ws.write_string(i as u32 + 1, 5, *carrier).unwrap();
            ws.write_string(i as u32 + 1, 6, *number).unwrap();
        }
    });
    // CSV: the export with the carrier and number appended to each data line.
    let csv = String::from_utf8(write_orders(ExportFormat::Csv, &columns, &rows).unwrap()).unwrap();
    let mut lines: Vec<String> = csv.split("\r\n").map(String::from).collect();
    for (i, (carrier, number)) in fill.iter().enumerate() {
        let line = &mut lines[i + 1];
        assert!(line.ends_with(",,"), "{line}");
        line.truncate(line.len() - 2);
        line.push_str(&format!(",{carrier},{number}"));
    }
    let csv = lines.join("\r\n");

    for (what, bytes) in [("xlsx", filled), ("csv", csv.into_bytes())] {
        let file = parse(&bytes);
        assert_eq!(file.rows.len(), 2, "{what}");
        assert_eq!(
            file.ignored_columns,
            ["收件人", "手机", "商品", "件数"],
            "{what}"
        );
        for (r, (src, (_, number))) in file.rows.iter().zip(rows.iter().zip(fill)) {
            assert_eq!(r.order_no, src.order_no, "{what}");
            assert_eq!(r.tracking_no.as_ref().unwrap().as_str(), number, "{what}");
            assert!(r.verdicts.is_empty(), "{what}: {:?}", r.verdicts);
            assert_eq!(
                r.quantity, None,
                "{what}: an exported 件数 is not a ship quantity"
            );
        }
    }
}

/// A poor man's fuzz run for CI (the `import_shipments` fuzz target does this properly):
/// every fixture with bytes flipped, inserted and cut, deterministic. None may panic.
#[test]
fn mutated_fixtures_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n.max(1) as u64) as usize
    };
    for name in [
        "shipments.csv",
        "export.csv",
        "shipments-lo-text.xlsx",
        "shipments-lo-numbers.xlsx",
        "export-lo.xlsx",
    ] {
        let original = fixture(name);
        for _ in 0..200 {
            let mut bytes = original.clone();
            for _ in 0..1 + next(4) {
                let i = next(bytes.len());
                match next(3) {
                    0 => bytes[i] ^= 1 << next(8),
                    1 => bytes.insert(i, next(256) as u8),
                    _ => bytes.truncate(i.max(1)),
                }
            }
            if let Ok(file) = parse_shipment_file(&bytes, &shipment_limits()) {
                for r in &file.rows {
                    assert!(r.row > file.header_row);
                    for v in &r.verdicts {
                        assert!(!v.message_zh().is_empty());
                    }
                }
            }
        }
    }
}
