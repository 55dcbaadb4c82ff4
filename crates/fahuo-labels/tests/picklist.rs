//! Pick lists: grouped by bin and SKU, readable as PDF text, and an xlsx where codes stay text.

mod common;

use std::io::Read;

use common::{Scratch, pdftotext, qpdf_check};
use fahuo_labels::{
    PickLine, PickList, render_pick_list_pdf, render_pick_list_xlsx, sample_pick_lines,
};

fn line(bin: &str, sku: &str, barcode: &str, qty: u32, order: &str) -> PickLine {
    PickLine {
        bin: bin.into(),
        sku_code: sku.into(),
        name: format!("商品 {sku}"),
        barcode: barcode.into(),
        quantity: qty,
        order_no: order.into(),
    }
}

fn small_list() -> PickList {
    let lines = [
        line("B-01-01", "0012", "06901234567892", 2, "DY001"),
        line("A-10-02", "SKU-9", "6912345678901", 1, "DY002"),
        line("A-2-01", "SKU-1", "6900000000017", 3, "DY001"),
        line("A-2-01", "SKU-1", "6900000000017", 1, "DY003"),
    ];
    PickList::from_lines(
        "拣货单 · 波次 3",
        "杭州余杭仓",
        "PK-3",
        "2026-11-22 10:30",
        &lines,
    )
}

#[test]
fn the_pdf_lists_bins_in_walking_order_with_totals() {
    let pdf = render_pick_list_pdf(&small_list()).unwrap();
    let dir = Scratch::new("pick-pdf");
    let path = dir.write("pick.pdf", &pdf);
    qpdf_check(&path);
    let text = pdftotext(&path, true);
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s:?} missing in:\n{text}"))
    };
    assert!(
        pos("A-2-01") < pos("A-10-02") && pos("A-10-02") < pos("B-01-01"),
        "natural bin order"
    );
    for s in [
        "拣货单 · 波次 3",
        "杭州余杭仓",
        "库位",
        "SKU编码",
        "商品名称",
        "条码",
        "数量",
        "订单",
        "DY001、DY003",
        "06901234567892",
    ] {
        pos(s);
    }
    assert!(
        text.contains("合计：3 个库位，3 种 SKU，7 件，3 个订单"),
        "{text}"
    );
    assert!(text.contains("第 1/1 页"));
}

#[test]
fn a_long_pick_list_runs_over_pages_with_the_header_repeated() {
    let list = PickList::from_lines(
        "拣货单",
        "广州白云仓",
        "PK-9",
        "2026-11-22 11:00",
        &sample_pick_lines(2_000, 7),
    );
    let pdf = render_pick_list_pdf(&list).unwrap();
    let dir = Scratch::new("pick-long");
    let path = dir.write("pick.pdf", &pdf);
    qpdf_check(&path);
    let text = pdftotext(&path, false);
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(
        text.matches("SKU编码").count(),
        pages,
        "header on every page"
    );
    assert!(text.contains(&format!("第 {pages}/{pages} 页")));
    // A SKU picked for ~hundreds of orders lists every one of them, across pages if needed.
    let first_orders = &list.groups[0].skus[0].orders;
    let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for o in first_orders {
        assert!(flat.contains(o.as_str()), "{o} missing");
    }
}

fn xlsx_part(xlsx: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).expect("xlsx is a zip");
    let mut s = String::new();
    zip.by_name(name)
        .expect("part present")
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// The raw `<c>` element for a cell like `D7`.
fn cell<'a>(sheet: &'a str, r: &str) -> &'a str {
    let start = sheet
        .find(&format!("<c r=\"{r}\""))
        .unwrap_or_else(|| panic!("cell {r} missing"));
    let end = sheet[start..]
        .find("</c>")
        .map(|e| start + e + 4)
        .unwrap_or(start + 40);
    &sheet[start..end]
}

#[test]
fn xlsx_keeps_codes_as_text_and_quantities_as_numbers() {
    let xlsx = render_pick_list_xlsx(&small_list()).unwrap();
    let sheet = xlsx_part(&xlsx, "xl/worksheets/sheet1.xml");
    let strings = xlsx_part(&xlsx, "xl/sharedStrings.xml");
    let workbook = xlsx_part(&xlsx, "xl/workbook.xml");
    assert!(workbook.contains("name=\"拣货单\""));
    // Row 6 is the first SKU (A-2-01 / SKU-1); row 8 is B-01-01 with a leading-zero barcode.
    for r in ["A6", "B6", "D6", "A8", "B8", "D8", "G8"] {
        assert!(
            cell(&sheet, r).contains("t=\"s\""),
            "{r} is a string: {}",
            cell(&sheet, r)
        );
    }
    assert!(
        strings.contains("<t>06901234567892</t>") && strings.contains("<t>0012</t>"),
        "leading zeros kept"
    );
    let qty = cell(&sheet, "E6");
    assert!(
        !qty.contains("t=\"s\"") && qty.contains("<v>4</v>"),
        "quantity is a number: {qty}"
    );
    assert!(strings.contains("DY001、DY003"));
}
