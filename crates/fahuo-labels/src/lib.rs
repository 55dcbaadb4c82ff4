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

/// Why a label or pick list could not be rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelError {
    /// A PDF needs at least one label (an empty PDF would print a blank page).
    NoLabels,
    /// The waybill number is empty or has characters Code128 can't carry (non-ASCII).
    BadWaybill(String),
    /// The waybill number's barcode doesn't fit the label width even with 1-dot modules.
    WaybillTooLong(String),
    /// The QR payload is too long for a QR code (length in bytes).
    QrTooLong(usize),
    /// Not one of the supported label sizes (76x130, 100x150, 100x180).
    UnsupportedSize(String),
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
            LabelError::UnsupportedSize(s) => {
                write!(
                    f,
                    "unsupported label size {s:?} (use 76x130, 100x150 or 100x180)"
                )
            }
            LabelError::BadLogo(e) => write!(f, "logo is not a readable PNG: {e}"),
            LabelError::Pdf(e) => write!(f, "PDF writer failed: {e}"),
            LabelError::Xlsx(e) => write!(f, "xlsx writer failed: {e}"),
        }
    }
}

impl std::error::Error for LabelError {}
