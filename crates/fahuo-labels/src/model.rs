//! Plain input types for labels: the lead maps fahuo's domain types onto these.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Physical label stock, in millimetres (portrait: width across the print head).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSize {
    pub width_mm: f32,
    pub height_mm: f32,
}

impl LabelSize {
    /// 76×130 mm: the standard 一联单 of WeChat Shop / Douyin / Xiaohongshu e-waybills.
    pub const MM76X130: LabelSize = LabelSize {
        width_mm: 76.0,
        height_mm: 130.0,
    };
    /// 100×150 mm: the common 4×6 inch thermal stock.
    pub const MM100X150: LabelSize = LabelSize {
        width_mm: 100.0,
        height_mm: 150.0,
    };
    /// 100×180 mm: 二联单 used by SF and others.
    pub const MM100X180: LabelSize = LabelSize {
        width_mm: 100.0,
        height_mm: 180.0,
    };

    /// All sizes the layout is designed and tested for.
    pub const SUPPORTED: [LabelSize; 3] = [Self::MM76X130, Self::MM100X150, Self::MM100X180];
}

impl fmt::Display for LabelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width_mm, self.height_mm)
    }
}

impl FromStr for LabelSize {
    type Err = crate::LabelError;

    /// Parses `76x130`, `100x150` or `100x180` (also with `×` or `*`, and an optional `mm`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::LabelError::UnsupportedSize(s.to_owned());
        let t = s
            .trim()
            .trim_end_matches("mm")
            .replace(['×', '*', 'X'], "x");
        let (w, h) = t.split_once('x').ok_or_else(bad)?;
        let w: f32 = w.trim().parse().map_err(|_| bad())?;
        let h: f32 = h.trim().parse().map_err(|_| bad())?;
        Self::SUPPORTED
            .into_iter()
            .find(|z| z.width_mm == w && z.height_mm == h)
            .ok_or_else(bad)
    }
}

/// Per-printer correction for label drift: everything moves by this much, templates stay
/// as they are. Positive x moves right, positive y moves down.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PrinterOffset {
    pub x_mm: f32,
    pub y_mm: f32,
}

/// A person on the label. Pass the phone exactly as it should be printed (usually masked,
/// e.g. `138****5678`, as the platform returns it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub phone: String,
    pub address: String,
}

/// Everything printed on one shipping label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShippingLabel {
    /// Carrier name as printed, e.g. `顺丰速运`.
    pub carrier_name: String,
    /// The waybill (tracking) number; printed as Code128 and as text. Printable ASCII only.
    pub waybill_no: String,
    /// QR payload; `None` encodes the waybill number.
    pub qr_payload: Option<String>,
    /// 大头笔 / 三段码, printed large, e.g. `571-W09-12` or `杭州 西湖`.
    pub sort_code: String,
    /// 集包地 (consolidation hub), e.g. `杭州转运中心`.
    pub hub: Option<String>,
    pub receiver: Party,
    pub sender: Party,
    /// One-line item summary, e.g. `连衣裙 M 黑色 ×1；围巾 ×2`. Wrapped as needed.
    pub items: String,
    /// Order references printed small next to the items (e.g. platform order number).
    pub order_ref: Option<String>,
    /// Merchant logo as PNG bytes. Share one `Arc` across a batch: the PDF stores it once.
    pub logo_png: Option<Arc<[u8]>>,
    /// A short promo line at the bottom (e.g. `关注店铺领 5 元券`).
    pub promo: Option<String>,
    pub cold_chain: bool,
    pub fragile: bool,
    /// 0 for the first print; n ≥ 1 prints the mark `补打 n`.
    pub reprint: u32,
    /// The print job id, printed in small type.
    pub print_job_id: String,
}

/// How labels are rendered: stock size, printer resolution and offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelOptions {
    pub size: LabelSize,
    pub offset: PrinterOffset,
    /// Print-head resolution in dots per inch (203 or 300). Barcode modules are whole dots.
    pub dpi: u32,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            size: LabelSize::MM76X130,
            offset: PrinterOffset::default(),
            dpi: 203,
        }
    }
}

impl LabelOptions {
    pub fn new(size: LabelSize) -> Self {
        LabelOptions {
            size,
            ..Default::default()
        }
    }

    pub fn with_offset(mut self, x_mm: f32, y_mm: f32) -> Self {
        self.offset = PrinterOffset { x_mm, y_mm };
        self
    }

    pub fn with_dpi(mut self, dpi: u32) -> Self {
        self.dpi = dpi;
        self
    }

    /// Millimetres per printer dot.
    pub(crate) fn dot_mm(&self) -> f32 {
        25.4 / self.dpi as f32
    }
}

/// What happened while laying out one label, so the caller can warn before printing.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelReport {
    pub waybill_no: String,
    /// Characters the font could not draw; each was printed as `□`.
    pub missing_chars: Vec<char>,
    /// Font size (pt) the receiver address was set in; smaller than the default when the
    /// address is long.
    pub address_font_pt: f32,
    /// Lines the receiver address took.
    pub address_lines: usize,
    /// False if some text only fitted by overlapping the block below (text is never dropped).
    pub fitted: bool,
}
