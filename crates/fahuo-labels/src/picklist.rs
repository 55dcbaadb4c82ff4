//! Pick lists (拣货单): order lines grouped by warehouse bin and SKU, as an A4 PDF and as xlsx.
//!
//! A picker walks the warehouse bin by bin, so the list is sorted by bin in natural order
//! (`A-2` before `A-10`), then by SKU code. Each SKU row carries the total quantity and the
//! orders it is for, so a mis-pick can be traced back.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use krilla::page::PageSettings;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};

use crate::LabelError;
use crate::font::{EmbeddedMetrics, Metrics, substitute_missing, wrap};
use crate::layout::PT_PER_MM;
use crate::pdf::{Pdf, new_document};

/// One order line to pick: which SKU, from which bin, how many, for which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickLine {
    pub bin: String,
    pub sku_code: String,
    pub name: String,
    /// The product barcode (EAN-13 etc.), kept as text.
    pub barcode: String,
    pub quantity: u32,
    pub order_no: String,
}

/// One SKU within a bin: the total to pick and the orders it is for (in first-seen order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickSku {
    pub sku_code: String,
    pub name: String,
    pub barcode: String,
    pub quantity: u32,
    pub orders: Vec<String>,
}

/// All SKUs to pick from one bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickGroup {
    pub bin: String,
    pub skus: Vec<PickSku>,
}

/// A pick list ready to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickList {
    /// E.g. `拣货单`, or `拣货单 · 波次 12`.
    pub title: String,
    pub warehouse: String,
    pub job_id: String,
    /// Creation time as it should be printed (the caller formats it in Asia/Shanghai).
    pub created_at: String,
    pub groups: Vec<PickGroup>,
}

impl PickList {
    /// Groups `lines` by bin, then by SKU code; sums quantities and collects order numbers.
    pub fn from_lines(
        title: impl Into<String>,
        warehouse: impl Into<String>,
        job_id: impl Into<String>,
        created_at: impl Into<String>,
        lines: &[PickLine],
    ) -> PickList {
        let mut bins: BTreeMap<NaturalKey, BTreeMap<NaturalKey, PickSku>> = BTreeMap::new();
        for l in lines {
            let sku = bins
                .entry(NaturalKey(l.bin.clone()))
                .or_default()
                .entry(NaturalKey(l.sku_code.clone()))
                .or_insert_with(|| PickSku {
                    sku_code: l.sku_code.clone(),
                    name: l.name.clone(),
                    barcode: l.barcode.clone(),
                    quantity: 0,
                    orders: Vec::new(),
                });
            sku.quantity += l.quantity;
            if !sku.orders.contains(&l.order_no) {
                sku.orders.push(l.order_no.clone());
            }
        }
        let groups = bins
            .into_iter()
            .map(|(bin, skus)| PickGroup {
                bin: bin.0,
                skus: skus.into_values().collect(),
            })
            .collect();
        PickList {
            title: title.into(),
            warehouse: warehouse.into(),
            job_id: job_id.into(),
            created_at: created_at.into(),
            groups,
        }
    }

    /// Total pieces, distinct SKU rows, distinct orders.
    pub fn totals(&self) -> (u32, usize, usize) {
        let mut orders: Vec<&str> = Vec::new();
        let mut pieces = 0;
        let mut rows = 0;
        for g in &self.groups {
            for s in &g.skus {
                pieces += s.quantity;
                rows += 1;
                orders.extend(s.orders.iter().map(String::as_str));
            }
        }
        orders.sort_unstable();
        orders.dedup();
        (pieces, rows, orders.len())
    }
}

/// Orders strings with digit runs compared as numbers: `A-2` < `A-10`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NaturalKey(String);

impl Ord for NaturalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for NaturalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na: String = std::iter::from_fn(|| a.next_if(char::is_ascii_digit)).collect();
                let nb: String = std::iter::from_fn(|| b.next_if(char::is_ascii_digit)).collect();
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let o = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| na.len().cmp(&nb.len()));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

// ── PDF ─────────────────────────────────────────────────────────────────────────────────

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 12.0;
const CELL_PAD: f32 = 1.2;
const BODY: f32 = 3.3; // ~9.4 pt
const LEAD: f32 = 1.3;

/// (heading, width mm; 0 = takes the rest, right-aligned)
const COLUMNS: [(&str, f32, bool); 7] = [
    ("□", 7.0, false),
    ("库位", 20.0, false),
    ("SKU编码", 24.0, false),
    ("商品名称", 0.0, false),
    ("条码", 28.0, false),
    ("数量", 12.0, true),
    ("订单", 58.0, false),
];

fn column_widths() -> [f32; 7] {
    let fixed: f32 = COLUMNS.iter().map(|c| c.1).sum();
    let mut w = [0.0; 7];
    for (i, c) in COLUMNS.iter().enumerate() {
        w[i] = if c.1 == 0.0 {
            PAGE_W - 2.0 * MARGIN - fixed
        } else {
            c.1
        };
    }
    w
}

enum Op {
    Text {
        x: f32,
        top: f32,
        size: f32,
        text: String,
        bold: bool,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// Renders the pick list as an A4 PDF. Long cells wrap; a row taller than what is left of a
/// page continues on the next one; the header row repeats on every page.
pub fn render_pick_list_pdf(list: &PickList) -> Result<Vec<u8>, LabelError> {
    let mut missing = Vec::new();
    let widths = column_widths();
    let mut pages: Vec<Vec<Op>> = vec![Vec::new()];
    let bottom = PAGE_H - MARGIN - 6.0;

    // Title block (first page only).
    let mut y = MARGIN;
    let title = substitute_missing(&list.title, &mut missing);
    pages[0].push(Op::Text {
        x: MARGIN,
        top: y,
        size: 7.0,
        text: title,
        bold: true,
    });
    y += 9.0;
    let (pieces, rows, orders) = list.totals();
    let meta = format!(
        "仓库：{}    任务：{}    时间：{}",
        substitute_missing(&list.warehouse, &mut missing),
        substitute_missing(&list.job_id, &mut missing),
        substitute_missing(&list.created_at, &mut missing)
    );
    pages[0].push(Op::Text {
        x: MARGIN,
        top: y,
        size: BODY,
        text: meta,
        bold: false,
    });
    y += BODY * LEAD + 0.5;
    let sums = format!(
        "合计：{} 个库位，{rows} 种 SKU，{pieces} 件，{orders} 个订单",
        list.groups.len()
    );
    pages[0].push(Op::Text {
        x: MARGIN,
        top: y,
        size: BODY,
        text: sums,
        bold: true,
    });
    y += BODY * LEAD + 2.0;

    let header_row = |ops: &mut Vec<Op>, y: f32| -> f32 {
        let h = BODY * LEAD + 2.0 * CELL_PAD;
        ops.push(Op::Fill {
            x: MARGIN,
            y,
            w: PAGE_W - 2.0 * MARGIN,
            h: 0.5,
        });
        let mut x = MARGIN;
        for (i, (head, _, right)) in COLUMNS.iter().enumerate() {
            let tx = if *right {
                x + widths[i] - CELL_PAD - EmbeddedMetrics.width_em(head) * BODY
            } else {
                x + CELL_PAD
            };
            ops.push(Op::Text {
                x: tx,
                top: y + CELL_PAD,
                size: BODY,
                text: (*head).to_owned(),
                bold: true,
            });
            x += widths[i];
        }
        ops.push(Op::Fill {
            x: MARGIN,
            y: y + h,
            w: PAGE_W - 2.0 * MARGIN,
            h: 0.3,
        });
        y + h + 0.3
    };
    y = header_row(&mut pages[0], y);

    for group in &list.groups {
        for (k, sku) in group.skus.iter().enumerate() {
            let orders_text = sku.orders.join("、");
            let qty = sku.quantity.to_string();
            let cells: [(String, bool); 7] = [
                ("□".to_owned(), false),
                (
                    if k == 0 {
                        group.bin.clone()
                    } else {
                        String::new()
                    },
                    true,
                ),
                (sku.sku_code.clone(), false),
                (sku.name.clone(), false),
                (sku.barcode.clone(), false),
                (qty, true),
                (orders_text, false),
            ];
            let mut wrapped: Vec<Vec<String>> = Vec::with_capacity(7);
            let mut sizes = [BODY; 7];
            for (i, (text, _)) in cells.iter().enumerate() {
                let clean = substitute_missing(text, &mut missing);
                let inner = widths[i] - 2.0 * CELL_PAD;
                sizes[i] = match i {
                    // Codes are scanned or keyed in: keep each on one line, smaller if
                    // need be, and wrap only if it would get unreadably small.
                    1 | 2 | 4 | 5 => {
                        let w = EmbeddedMetrics.width_em(&clean);
                        if w * BODY <= inner {
                            BODY
                        } else {
                            (inner / w).max(BODY * 0.7)
                        }
                    }
                    6 => BODY * 0.85,
                    _ => BODY,
                };
                wrapped.push(wrap(&clean, inner / sizes[i], &EmbeddedMetrics));
            }
            // Emit the row line by line so a very tall row can continue on the next page.
            let n_lines = wrapped.iter().map(|l| l.len()).max().unwrap_or(1).max(1);
            let mut line = 0;
            while line < n_lines {
                let line_h = BODY * LEAD;
                let room = ((bottom - y - 2.0 * CELL_PAD) / line_h).floor().max(0.0) as usize;
                let fits_whole = room >= n_lines - line;
                // Split a row that doesn't fit only if a useful part of it fits here;
                // a row's first few lines never sit alone at the foot of a page.
                if room == 0 || (!fits_whole && room < 4) {
                    pages.push(Vec::new());
                    let last = pages.len() - 1;
                    y = header_row(&mut pages[last], MARGIN);
                    continue;
                }
                let take = room.min(n_lines - line);
                let ops = pages.last_mut().expect("at least one page");
                if line > 0 {
                    // A row continued from the previous page says where it belongs.
                    let cont = format!("{}（续）", substitute_missing(&group.bin, &mut missing));
                    ops.push(Op::Text {
                        x: MARGIN + widths[0] + CELL_PAD,
                        top: y + CELL_PAD,
                        size: BODY * 0.8,
                        text: cont,
                        bold: false,
                    });
                }
                if k == 0 && line == 0 {
                    // A thicker rule where a new bin starts.
                    ops.push(Op::Fill {
                        x: MARGIN,
                        y: y - 0.3,
                        w: PAGE_W - 2.0 * MARGIN,
                        h: 0.5,
                    });
                }
                let mut x = MARGIN;
                for (i, lines) in wrapped.iter().enumerate() {
                    let size = sizes[i];
                    let right = COLUMNS[i].2;
                    for (j, l) in lines.iter().enumerate().skip(line).take(take) {
                        let top = y + CELL_PAD + (j - line) as f32 * line_h;
                        let tx = if right {
                            x + widths[i] - CELL_PAD - EmbeddedMetrics.width_em(l) * size
                        } else {
                            x + CELL_PAD
                        };
                        ops.push(Op::Text {
                            x: tx,
                            top,
                            size,
                            text: l.clone(),
                            bold: cells[i].1,
                        });
                    }
                    x += widths[i];
                }
                y += take as f32 * line_h + 2.0 * CELL_PAD;
                ops.push(Op::Fill {
                    x: MARGIN,
                    y,
                    w: PAGE_W - 2.0 * MARGIN,
                    h: 0.15,
                });
                y += 0.15;
                line += take;
            }
        }
    }

    let mut doc = new_document(&list.title);
    let pdf = Pdf::new();
    let total = pages.len();
    for (i, ops) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W * PT_PER_MM, PAGE_H * PT_PER_MM)
            .expect("A4 is a valid size");
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        let fills = ops.iter().filter_map(|o| match o {
            Op::Fill { x, y, w, h } => Some((*x, *y, *w, *h)),
            Op::Text { .. } => None,
        });
        pdf.fill_rects(&mut surface, fills, krilla::paint::Fill::default());
        for o in ops {
            if let Op::Text {
                x,
                top,
                size,
                text,
                bold,
            } = o
            {
                pdf.text(&mut surface, (*x, *top), *size, text, *bold, false);
            }
        }
        let footer = format!("{}  ·  第 {}/{} 页", list.job_id, i + 1, total);
        let footer = substitute_missing(&footer, &mut missing);
        let fw = EmbeddedMetrics.width_em(&footer) * 2.6;
        pdf.text(
            &mut surface,
            (PAGE_W - MARGIN - fw, PAGE_H - MARGIN - 2.6),
            2.6,
            &footer,
            false,
            false,
        );
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| LabelError::Pdf(format!("{e:?}")))
}

// ── xlsx ────────────────────────────────────────────────────────────────────────────────

/// Renders the pick list as an xlsx workbook with one sheet, `拣货单`. Bin, SKU code,
/// barcode and order numbers are written as text so Excel keeps leading zeros and doesn't
/// turn long numbers into 6.9E+12; quantities are numbers so they can be summed.
pub fn render_pick_list_xlsx(list: &PickList) -> Result<Vec<u8>, LabelError> {
    write_xlsx(list).map_err(|e| LabelError::Xlsx(e.to_string()))
}

fn write_xlsx(list: &PickList) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("拣货单")?;
    let title = Format::new().set_bold().set_font_size(16);
    let bold = Format::new().set_bold();
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color(0xD9D9D9);
    let text = Format::new()
        .set_num_format("@")
        .set_border(FormatBorder::Thin);
    let wraptext = Format::new()
        .set_num_format("@")
        .set_border(FormatBorder::Thin)
        .set_text_wrap();
    let num = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Right);

    ws.write_string_with_format(0, 0, &list.title, &title)?;
    ws.write_string(1, 0, format!("仓库：{}", list.warehouse))?;
    ws.write_string(1, 3, format!("任务：{}", list.job_id))?;
    ws.write_string(1, 5, format!("时间：{}", list.created_at))?;
    let (pieces, rows, orders) = list.totals();
    ws.write_string_with_format(
        2,
        0,
        format!(
            "合计：{} 个库位，{rows} 种 SKU，{pieces} 件，{orders} 个订单",
            list.groups.len()
        ),
        &bold,
    )?;

    let headers = [
        "库位",
        "SKU编码",
        "商品名称",
        "条码",
        "数量",
        "订单数",
        "订单",
    ];
    let widths = [12.0, 14.0, 32.0, 16.0, 8.0, 8.0, 60.0];
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        let c = c as u16;
        ws.write_string_with_format(4, c, *h, &head)?;
        ws.set_column_width(c, w)?;
    }
    let mut r = 5u32;
    for g in &list.groups {
        for s in &g.skus {
            ws.write_string_with_format(r, 0, &g.bin, &text)?;
            ws.write_string_with_format(r, 1, &s.sku_code, &text)?;
            ws.write_string_with_format(r, 2, &s.name, &text)?;
            ws.write_string_with_format(r, 3, &s.barcode, &text)?;
            ws.write_number_with_format(r, 4, s.quantity, &num)?;
            ws.write_number_with_format(r, 5, s.orders.len() as u32, &num)?;
            ws.write_string_with_format(r, 6, s.orders.join("、"), &wraptext)?;
            r += 1;
        }
    }
    ws.write_string_with_format(r, 3, "合计", &bold)?;
    ws.write_number_with_format(r, 4, pieces, &bold)?;
    ws.set_freeze_panes(5, 0)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bin: &str, sku: &str, qty: u32, order: &str) -> PickLine {
        PickLine {
            bin: bin.into(),
            sku_code: sku.into(),
            name: format!("商品{sku}"),
            barcode: "6901234567892".into(),
            quantity: qty,
            order_no: order.into(),
        }
    }

    #[test]
    fn lines_are_grouped_by_bin_then_sku_with_quantities_summed() {
        let lines = [
            line("A-10-01", "SKU2", 1, "O1"),
            line("A-2-01", "SKU9", 2, "O1"),
            line("A-10-01", "SKU1", 1, "O2"),
            line("A-10-01", "SKU2", 3, "O3"),
            line("A-10-01", "SKU2", 1, "O1"),
        ];
        let list = PickList::from_lines("拣货单", "杭州仓", "PK1", "2026-11-22 10:00", &lines);
        let bins: Vec<_> = list.groups.iter().map(|g| g.bin.as_str()).collect();
        assert_eq!(bins, ["A-2-01", "A-10-01"], "bins in natural order");
        let a10 = &list.groups[1];
        assert_eq!(
            a10.skus
                .iter()
                .map(|s| s.sku_code.as_str())
                .collect::<Vec<_>>(),
            ["SKU1", "SKU2"]
        );
        assert_eq!(a10.skus[1].quantity, 5);
        assert_eq!(a10.skus[1].orders, ["O1", "O3"]);
        assert_eq!(list.totals(), (8, 3, 3));
    }

    #[test]
    fn natural_order_compares_digit_runs_as_numbers() {
        assert_eq!(natural_cmp("A-2", "A-10"), Ordering::Less);
        assert_eq!(natural_cmp("B-1", "A-9"), Ordering::Greater);
        assert_eq!(natural_cmp("A-02", "A-2"), Ordering::Greater);
        assert_eq!(natural_cmp("A", "A-1"), Ordering::Less);
    }
}
