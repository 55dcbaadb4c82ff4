//! The import template (导入模板.xlsx): fahuo's own headers, one example order of two lines,
//! and a second sheet explaining the columns. Order number and phone columns are formatted as
//! text so that Excel keeps long numbers exact.

use super::columns::Field;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The columns of the template, in order.
pub const TEMPLATE_FIELDS: [Field; 17] = [
    Field::OrderNo,
    Field::ReceiverName,
    Field::Phone,
    Field::Province,
    Field::City,
    Field::County,
    Field::Detail,
    Field::Title,
    Field::Spec,
    Field::SkuCode,
    Field::Quantity,
    Field::UnitPrice,
    Field::LinePaid,
    Field::Freight,
    Field::BuyerNote,
    Field::SellerNote,
    Field::ShipBy,
];

enum Cell {
    Text(&'static str),
    Number(f64),
}

/// One order with two lines: the receiver is written on the first row only, as with merged
/// cells.
fn example() -> [[Cell; 17]; 2] {
    use Cell::{Number as N, Text as T};
    [
        [
            T("WX20261120001"),
            T("王小明"),
            T("13900001234"),
            T("北京市"),
            T("北京市"),
            T("朝阳区"),
            T("建国路88号"),
            T("纯棉T恤"),
            T("白色 L"),
            T("TEE-01"),
            N(2.0),
            N(49.5),
            N(99.0),
            N(0.0),
            T("请尽快发货"),
            T(""),
            T("2026-11-22 18:00"),
        ],
        [
            T("WX20261120001"),
            T(""),
            T(""),
            T(""),
            T(""),
            T(""),
            T(""),
            T("马克杯"),
            T(""),
            T("MUG"),
            N(1.0),
            N(39.0),
            N(39.0),
            T(""),
            T(""),
            T(""),
            T(""),
        ],
    ]
}

/// The template as xlsx bytes.
pub fn template_xlsx() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = workbook.add_worksheet();
    sheet.set_name("订单")?;
    for (c, f) in TEMPLATE_FIELDS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, f.label_zh(), &bold)?;
        sheet.set_column_width(c, 14)?;
        if matches!(f, Field::OrderNo | Field::Phone | Field::SkuCode) {
            sheet.set_column_format(c, &text)?;
        }
    }
    for (r, row) in example().iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text("") => {}
                Cell::Text(s) => {
                    sheet.write_string(r, c, *s)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n)?;
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;

    let help = workbook.add_worksheet();
    help.set_name("说明")?;
    let notes = [
        "每行是订单中的一个商品；订单号相同的行合并为一个订单。",
        "收件人、地址、运费、备注只需填在订单的第一行；其他行留空即可，填写则必须一致。",
        "必填：订单号、收件人、手机、省、详细地址、商品名称、数量。",
        "也可以用一列“收货地址”填写完整地址（如“王小明 13900001234 北京市朝阳区建国路88号”），系统会自动拆分省市区。",
        "金额以元为单位，最多两位小数，如 12.50；可带 ¥ 和千位分隔符。",
        "时间为北京时间，如 2026-11-22 18:00；只填日期表示当天 23:59:59。",
        "订单号请保持文本格式，避免 Excel 改成科学计数法。",
        "同一订单号重复导入不会重复建单。",
    ];
    help.set_column_width(0, 100)?;
    for (r, note) in notes.iter().enumerate() {
        help.write_string(r as u32, 0, *note)?;
    }
    workbook.save_to_buffer()
}
