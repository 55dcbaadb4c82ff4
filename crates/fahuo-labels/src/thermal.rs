//! Raw thermal-printer output: TSPL (TSC, Gprinter, Xprinter and most Chinese label printers)
//! and ZPL (Zebra), from the same layout as the PDF.
//!
//! Text uses the printer's resident Chinese font rather than the embedded one: sending glyph
//! bitmaps would make each label tens of kilobytes and slow on a serial link. The layout is
//! measured with that font's cell metrics (hanzi full width, ASCII half) and, for TSPL's
//! bitmap font, sizes come in steps of the 24-dot cell. Merchant logos are PDF-only.

use std::fmt::Write as _;

use crate::LabelError;
use crate::font::CellMetrics;
use crate::layout::{El, Profile, layout};
use crate::model::{LabelOptions, LabelReport, ShippingLabel};

/// How text is sent to thermal printers.
#[derive(Debug, Clone, PartialEq)]
pub struct ThermalOptions {
    /// TSPL only: send text as GB18030 (what most printers sold in China expect for their
    /// `TSS24.BF2` font) instead of UTF-8 with `CODEPAGE UTF-8`.
    pub tspl_gb18030: bool,
    /// TSPL resident font with a 24×24-dot hanzi cell.
    pub tspl_font: String,
    /// ZPL scalable font holding Chinese, assigned to font id `1` with `^CW`.
    pub zpl_font: String,
    /// Gap between labels (TSPL `GAP`), in mm.
    pub gap_mm: f32,
}

impl Default for ThermalOptions {
    fn default() -> Self {
        ThermalOptions {
            tspl_gb18030: true,
            tspl_font: "TSS24.BF2".to_owned(),
            zpl_font: "E:SIMSUN.TTF".to_owned(),
            gap_mm: 2.0,
        }
    }
}

/// Printer commands for a batch of labels, plus per-label reports.
#[derive(Debug, Clone)]
pub struct RenderedRaw {
    pub data: Vec<u8>,
    pub reports: Vec<LabelReport>,
}

/// Dots per cell of the TSPL bitmap font.
const TSPL_CELL: u32 = 24;

fn dots(mm: f32, dot: f32) -> i64 {
    (mm / dot).round() as i64
}

/// Printers reject negative positions; an offset that pushes an element off the left/top
/// edge pins it to the edge instead.
fn pos(mm: f32, dot: f32) -> i64 {
    dots(mm, dot).max(0)
}

/// Renders `labels` as one TSPL job: one `CLS … PRINT 1,1` block per label, in order.
pub fn render_labels_tspl(
    labels: &[ShippingLabel],
    opts: &LabelOptions,
    t: &ThermalOptions,
) -> Result<RenderedRaw, LabelError> {
    let dot = opts.dot_mm();
    let profile = Profile {
        metrics: &CellMetrics,
        quantum_mm: Some(TSPL_CELL as f32 * dot),
        legible_mm: 0.0,
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SIZE {} mm,{} mm",
        opts.size.width_mm, opts.size.height_mm
    );
    let _ = writeln!(out, "GAP {} mm,0 mm", t.gap_mm);
    out.push_str("DIRECTION 0,0\r\nREFERENCE 0,0\r\n");
    if !t.tspl_gb18030 {
        out.push_str("CODEPAGE UTF-8\r\n");
    }
    let mut reports = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        let (els, report) = layout(label, opts, &profile, i, labels.len())?;
        out.push_str("CLS\r\n");
        let reversed = badge_rects(&els, dot);
        for el in &els {
            match el {
                El::Text {
                    x,
                    top,
                    size,
                    text,
                    bold,
                    ..
                } => {
                    let k = ((size / dot).round() as u32 / TSPL_CELL).max(1);
                    let (x, y) = (pos(*x, dot), pos(*top, dot));
                    let q = tspl_quote(text);
                    let _ = write!(
                        out,
                        "TEXT {x},{y},\"{}\",0,{k},{k},\"{q}\"\r\n",
                        t.tspl_font
                    );
                    if *bold {
                        // No bold in bitmap fonts: overprint one dot to the right.
                        let _ = write!(
                            out,
                            "TEXT {},{y},\"{}\",0,{k},{k},\"{q}\"\r\n",
                            x + 1,
                            t.tspl_font
                        );
                    }
                }
                El::Rect { x, y, w, h, line } => {
                    let (x, y, w, h) = (
                        pos(*x, dot),
                        pos(*y, dot),
                        dots(*w, dot).max(1),
                        dots(*h, dot).max(1),
                    );
                    if *line > 0.0 {
                        let _ = write!(
                            out,
                            "BOX {x},{y},{},{},{}\r\n",
                            x + w,
                            y + h,
                            dots(*line, dot).max(1)
                        );
                    } else if !reversed.contains(&(x, y, w, h)) {
                        let _ = write!(out, "BAR {x},{y},{w},{h}\r\n");
                    }
                }
                El::Barcode {
                    x,
                    y,
                    h,
                    module_dots,
                    data,
                    ..
                } => {
                    let _ = write!(
                        out,
                        "BARCODE {},{},\"128\",{},0,0,{m},{m},\"{}\"\r\n",
                        pos(*x, dot),
                        pos(*y, dot),
                        dots(*h, dot),
                        tspl_quote(data),
                        m = module_dots
                    );
                }
                El::Qr {
                    x,
                    y,
                    module_dots,
                    data,
                    ..
                } => {
                    let _ = write!(
                        out,
                        "QRCODE {},{},M,{module_dots},A,0,\"{}\"\r\n",
                        pos(*x, dot),
                        pos(*y, dot),
                        tspl_quote(data)
                    );
                }
                El::Image { .. } => {}
            }
        }
        // White-on-black badges: the text is printed black, then its box is inverted.
        for (x, y, w, h) in reversed {
            let _ = write!(out, "REVERSE {x},{y},{w},{h}\r\n");
        }
        out.push_str("PRINT 1,1\r\n");
        reports.push(report);
    }
    let data = if t.tspl_gb18030 {
        encoding_rs::GB18030.encode(&out).0.into_owned()
    } else {
        out.into_bytes()
    };
    Ok(RenderedRaw { data, reports })
}

/// Renders `labels` as ZPL II: one `^XA … ^XZ` format per label, UTF-8 (`^CI28`).
pub fn render_labels_zpl(
    labels: &[ShippingLabel],
    opts: &LabelOptions,
    t: &ThermalOptions,
) -> Result<RenderedRaw, LabelError> {
    let dot = opts.dot_mm();
    // Scalable font: any whole-dot size; 16 dots is the smallest that stays readable.
    let profile = Profile {
        metrics: &CellMetrics,
        quantum_mm: Some(dot),
        legible_mm: 16.0 * dot,
    };
    let mut out = String::new();
    let mut reports = Vec::with_capacity(labels.len());
    let (pw, ll) = (
        dots(opts.size.width_mm, dot),
        dots(opts.size.height_mm, dot),
    );
    for (i, label) in labels.iter().enumerate() {
        let (els, report) = layout(label, opts, &profile, i, labels.len())?;
        let _ = write!(
            out,
            "^XA\n^CI28\n^PW{pw}\n^LL{ll}\n^LH0,0\n^CW1,{}\n",
            t.zpl_font
        );
        for el in &els {
            match el {
                El::Text {
                    x,
                    top,
                    size,
                    text,
                    bold,
                    white,
                } => {
                    let (x, y, s) = (pos(*x, dot), pos(*top, dot), dots(*size, dot).max(1));
                    let fr = if *white { "^FR" } else { "" };
                    let field = zpl_field(text);
                    let _ = writeln!(out, "^FO{x},{y}^A1N,{s},{s}{fr}^FH\\^FD{field}^FS");
                    if *bold {
                        let _ = writeln!(out, "^FO{},{y}^A1N,{s},{s}{fr}^FH\\^FD{field}^FS", x + 1);
                    }
                }
                El::Rect { x, y, w, h, line } => {
                    let (x, y, w, h) = (
                        pos(*x, dot),
                        pos(*y, dot),
                        dots(*w, dot).max(1),
                        dots(*h, dot).max(1),
                    );
                    // ^GB with a border as thick as the box fills it.
                    let t = if *line > 0.0 {
                        dots(*line, dot).max(1)
                    } else {
                        w.min(h)
                    };
                    let _ = writeln!(out, "^FO{x},{y}^GB{w},{h},{t}^FS");
                }
                El::Barcode {
                    x,
                    y,
                    h,
                    module_dots,
                    data,
                    ..
                } => {
                    let h = dots(*h, dot);
                    let _ = writeln!(
                        out,
                        "^FO{},{}^BY{module_dots},3,{h}^BCN,{h},N,N,N,A^FH\\^FD{}^FS",
                        pos(*x, dot),
                        pos(*y, dot),
                        zpl_field(data)
                    );
                }
                El::Qr {
                    x,
                    y,
                    module_dots,
                    data,
                    ..
                } => {
                    let _ = writeln!(
                        out,
                        "^FO{},{}^BQN,2,{module_dots}^FH\\^FDMA,{}^FS",
                        pos(*x, dot),
                        pos(*y, dot),
                        zpl_field(data)
                    );
                }
                El::Image { .. } => {}
            }
        }
        out.push_str("^PQ1\n^XZ\n");
        reports.push(report);
    }
    Ok(RenderedRaw {
        data: out.into_bytes(),
        reports,
    })
}

/// Filled rectangles that carry white text (badges), in dots, rounded like `BAR` would be.
fn badge_rects(els: &[El], dot: f32) -> Vec<(i64, i64, i64, i64)> {
    els.iter()
        .filter_map(|e| match e {
            El::Rect { x, y, w, h, line } if *line == 0.0 => Some((*x, *y, *w, *h)),
            _ => None,
        })
        .filter(|(rx, ry, rw, rh)| {
            els.iter().any(|e| {
                matches!(e, El::Text { x, top, white: true, .. }
                    if *x >= rx - 0.01 && *x <= rx + rw && *top >= ry - 0.01 && *top <= ry + rh)
            })
        })
        .map(|(x, y, w, h)| {
            (
                pos(x, dot),
                pos(y, dot),
                dots(w, dot).max(1),
                dots(h, dot).max(1),
            )
        })
        .collect()
}

/// TSPL string literal: a double quote inside is written `\["]`.
fn tspl_quote(s: &str) -> String {
    s.replace('"', "\\[\"]")
}

/// ZPL field data under `^FH\`: the caret, tilde and backslash are hex-escaped.
fn zpl_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '^' => out.push_str("\\5E"),
            '~' => out.push_str("\\7E"),
            '\\' => out.push_str("\\5C"),
            c => out.push(c),
        }
    }
    out
}
