//! Label and pick-list rendering for fahuo: shipping labels as PDF, TSPL and ZPL, pick lists
//! (拣货单) as PDF and xlsx.
//!
//! The crate is pure: plain input structs in, bytes out, no I/O and no other fahuo crate.
//! Chinese text comes from a font embedded in the binary (a subset of Noto Sans CJK SC, SIL
//! OFL 1.1, see `fonts/`), so printing needs no system font. Characters the font lacks are
//! printed as `□` and listed in each label's [`LabelReport`], never silently dropped.
//!
//! ```no_run
//! use fahuo_labels::{LabelOptions, LabelSize, render_labels_pdf, sample_labels};
//! let labels = sample_labels(10, 42);
//! let out = render_labels_pdf(&labels, &LabelOptions::new(LabelSize::MM76X130).with_offset(0.5, -0.25))?;
//! std::fs::write("labels.pdf", &out.pdf)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bitmap;
mod code128;
mod font;
mod layout;
mod model;
mod pdf;
mod picklist;
mod sample;
mod thermal;

use std::fmt;

pub use font::{REPLACEMENT_CHAR, unprintable_chars};
pub use model::{LabelOptions, LabelReport, LabelSize, Party, PrinterOffset, ShippingLabel};
pub use pdf::{RenderedPdf, render_labels_pdf};
pub use picklist::{
    PickGroup, PickLine, PickList, PickSku, render_pick_list_pdf, render_pick_list_xlsx,
};
pub use sample::{sample_labels, sample_pick_lines};
pub use thermal::{RenderedRaw, ThermalOptions, render_labels_tspl, render_labels_zpl};

/// `count` sample labels (from [`sample_labels`]) rendered at `size`: what
/// `fahuo labels sample --count N --size 76x130 --out FILE.pdf` prints. The reports give the
/// waybill numbers in page order.
///
/// ```
/// let out = fahuo_labels::render_sample_pdf(3, fahuo_labels::LabelSize::MM76X130, 42)?;
/// assert!(out.pdf.starts_with(b"%PDF-"));
/// let numbers: Vec<&str> = out.reports.iter().map(|r| r.waybill_no.as_str()).collect();
/// assert_eq!(numbers.len(), 3);
/// # Ok::<(), fahuo_labels::LabelError>(())
/// ```
pub fn render_sample_pdf(
    count: usize,
    size: LabelSize,
    seed: u64,
) -> Result<RenderedPdf, LabelError> {
    render_labels_pdf(&sample_labels(count, seed), &LabelOptions::new(size))
}

/// Why a label or pick list could not be rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelError {
    /// A PDF needs at least one label (an empty PDF would print a blank page).
    NoLabels,
    /// The waybill number is empty or has characters Code128 can't carry (non-ASCII).
    BadWaybill(String),
    /// The waybill number's barcode doesn't fit the label width even with 1-dot modules.
    WaybillTooLong(String),
    /// The QR payload (length in bytes) is too long for a QR code that prints reliably on this
    /// label: its modules would be narrower than 2 printer dots (about 190 bytes on 76 mm).
    QrTooLong(usize),
    /// The QR payload is empty or contains control characters (newlines, tabs).
    BadQrPayload(String),
    /// Not one of the supported label sizes (76x130, 100x150, 100x180).
    UnsupportedSize(String),
    /// The printer resolution is outside 150–1200 dpi (203 and 300 are the usual ones).
    UnsupportedDpi(u32),
    /// The logo isn't a PNG krilla can read.
    BadLogo(String),
    /// krilla failed to write the PDF.
    Pdf(String),
    /// rust_xlsxwriter failed to write the workbook.
    Xlsx(String),
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelError::NoLabels => write!(f, "no labels to render"),
            LabelError::BadWaybill(n) => {
                write!(f, "waybill number {n:?} cannot be printed as Code128")
            }
            LabelError::WaybillTooLong(n) => {
                write!(f, "waybill number {n:?} is too long for the label width")
            }
            LabelError::QrTooLong(n) => write!(f, "QR payload of {n} bytes is too long"),
            LabelError::BadQrPayload(q) => {
                write!(f, "QR payload {q:?} is empty or has control characters")
            }
            LabelError::UnsupportedSize(s) => {
                write!(
                    f,
                    "unsupported label size {s:?} (use 76x130, 100x150 or 100x180)"
                )
            }
            LabelError::UnsupportedDpi(d) => write!(f, "unsupported printer resolution {d} dpi"),
            LabelError::BadLogo(e) => write!(f, "logo is not a readable PNG: {e}"),
            LabelError::Pdf(e) => write!(f, "PDF writer failed: {e}"),
            LabelError::Xlsx(e) => write!(f, "xlsx writer failed: {e}"),
        }
    }
}

impl std::error::Error for LabelError {}
