//! Shipping-label layout: turns a [`ShippingLabel`] into positioned elements in millimetres.
//!
//! One layout feeds three outputs (PDF, TSPL, ZPL), so a label looks the same whichever way
//! it is printed. Only text metrics differ between outputs: PDF measures the embedded font,
//! thermal printers use their resident font, whose sizes may come in fixed steps. The layout
//! flows top to bottom; the receiver address and the item list take whatever height is
//! left and shrink their font until they fit, so text is never clipped.

use std::sync::Arc;

use qrcode::{EcLevel, QrCode};

use crate::LabelError;
use crate::code128;
use crate::font::{Metrics, substitute_missing};
use crate::model::{LabelOptions, LabelReport, ShippingLabel};

/// Points per millimetre.
pub(crate) const PT_PER_MM: f32 = 72.0 / 25.4;

/// A positioned drawing element. Coordinates are millimetres from the label's top-left
/// corner, printer offset already applied.
#[derive(Debug, Clone)]
pub(crate) enum El {
    /// One line of text; `top` is the top of the em box, `size` the em height in mm.
    Text {
        x: f32,
        top: f32,
        size: f32,
        text: String,
        bold: bool,
        white: bool,
    },
    /// A rectangle: filled (`line == 0`) or outlined with the given line width.
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        line: f32,
    },
    /// Code128 bars; `x` lies on the printer's dot grid, modules are `module_dots` wide.
    Barcode {
        x: f32,
        y: f32,
        h: f32,
        module_dots: u32,
        modules: Vec<u8>,
        data: String,
    },
    /// A QR symbol (no quiet zone drawn: the layout keeps 4 modules of white around it).
    Qr {
        x: f32,
        y: f32,
        module_dots: u32,
        width: usize,
        dark: Vec<bool>,
        data: String,
    },
    /// A PNG image scaled into the box.
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        png: Arc<[u8]>,
    },
}

/// What the layout needs to know about the output's text.
pub(crate) struct Profile<'a> {
    pub metrics: &'a dyn Metrics,
    /// Font sizes come in multiples of this many mm (bitmap printer fonts), or any size.
    pub quantum_mm: Option<f32>,
    /// Smallest size (mm) still legible on this output; below it a label is "not fitted".
    pub legible_mm: f32,
}

impl Profile<'_> {
    /// The nearest size this output can print, never below one quantum.
    fn snap(&self, mm: f32) -> f32 {
        match self.quantum_mm {
            Some(q) => ((mm / q).round().max(1.0)) * q,
            None => mm,
        }
    }

    /// The next smaller size, or `None` when the output can't go smaller.
    fn smaller(&self, mm: f32) -> Option<f32> {
        match self.quantum_mm {
            Some(q) => (mm - q >= q - 1e-4).then_some(mm - q),
            None => (mm > 1.2).then_some(mm * 0.92),
        }
    }

    /// The largest printable size not above `mm` at which `text` fits `width` mm.
    fn fit_line(&self, text: &str, mm: f32, width: f32) -> f32 {
        let mut size = self.snap(mm);
        if let Some(q) = self.quantum_mm {
            while size > mm + 1e-4 && size - q >= q {
                size -= q;
            }
        }
        while self.metrics.width_em(text) * size > width {
            match self.smaller(size) {
                Some(s) => size = s,
                None => break,
            }
        }
        size
    }
}

/// Line height as a multiple of the font size.
const LEADING: f32 = 1.22;

/// Lays out one label. `index`/`total` print as `3/500` in the footer.
pub(crate) fn layout(
    label: &ShippingLabel,
    opts: &LabelOptions,
    profile: &Profile<'_>,
    index: usize,
    total: usize,
) -> Result<(Vec<El>, LabelReport), LabelError> {
    let mut missing = Vec::new();
    let mut clean = |s: &str| substitute_missing(s, &mut missing);
    let carrier = clean(&label.carrier_name);
    let sort_code = clean(&label.sort_code);
    let hub = label.hub.as_deref().map(&mut clean);
    let r_name = clean(&label.receiver.name);
    let r_phone = clean(&label.receiver.phone);
    let r_addr = clean(&label.receiver.address);
    let s_name = clean(&label.sender.name);
    let s_phone = clean(&label.sender.phone);
    let s_addr = clean(&label.sender.address);
    let items = clean(&label.items);
    let order_ref = label.order_ref.as_deref().map(&mut clean);
    let promo = label.promo.as_deref().map(&mut clean);
    let job = clean(&label.print_job_id);
    // A logo that isn't a PNG is the caller's mistake: say so rather than print without it.
    if let Some(png) = &label.logo_png
        && png_size(png).is_none()
    {
        return Err(LabelError::BadLogo("not a PNG image".into()));
    }

    let w = opts.size.width_mm;
    let h = opts.size.height_mm;
    let dot = opts.dot_mm();
    let s = (w / 76.0).min(h / 130.0);
    let m = 2.0;
    let cw = w - 2.0 * m;
    let rule = 0.3;
    let mut b = Builder {
        els: Vec::with_capacity(48),
        p: profile,
        fitted: true,
    };

    // ── Header: carrier name left, badges (补打 / 冷链 / 易碎) right ─────────────────────
    let mut y = m;
    let badge_size = profile.snap(3.4 * s);
    let badge_h = badge_size + 1.2;
    let mut bx = w - m;
    let mut badges: Vec<(String, bool)> = Vec::new();
    if label.reprint > 0 {
        badges.push((format!("补打 {}", label.reprint), true));
    }
    if label.cold_chain {
        badges.push(("冷链".to_owned(), true));
    }
    if label.fragile {
        badges.push(("易碎 轻放".to_owned(), false));
    }
    for (text, inverse) in &badges {
        let tw = profile.metrics.width_em(text) * badge_size + 1.6;
        bx -= tw;
        b.badge(bx, y, tw, badge_h, text, badge_size, *inverse);
        bx -= 1.0;
    }
    let carrier_size = profile.fit_line(&carrier, 5.0 * s, (bx - m - 1.0).max(10.0));
    b.text(m, y, carrier_size, &carrier, true);
    y += carrier_size.max(badge_h) + 1.2;
    b.hrule(m, y, cw, rule);
    y += rule + 0.8;

    // ── Sort code (大头笔 / 三段码): as large as the width allows ───────────────────────
    let sc_max = 12.0 * s;
    let sc_size = profile.fit_line(&sort_code, sc_max, cw);
    let sc_lines = b.wrapped_centered(m, y, cw, &sort_code, sc_size, true);
    y += sc_lines as f32 * sc_size * 1.08 + 0.8;

    // ── Hub (集包地) ─────────────────────────────────────────────────────────────────
    if let Some(hub) = hub.as_deref().filter(|h| !h.is_empty()) {
        let small = profile.snap(2.6 * s);
        let big = profile.fit_line(hub, 4.2 * s, cw - 12.0 * s);
        b.text(m, y + (big - small) * 0.7, small, "集包地", false);
        let lx = m + profile.metrics.width_em("集包地") * small + 1.5;
        b.text(lx, y, big, hub, true);
        y += big * LEADING + 0.3;
    }
    b.hrule(m, y, cw, rule);
    y += rule;

    // ── Barcode of the waybill number, whole-dot modules, with the number under it ─────
    let modules = code128::modules(&label.waybill_no)?;
    let avail_dots = (cw / dot).floor() as u32;
    let max_module = (0.5 / dot).floor().max(1.0) as u32; // ~0.5 mm is plenty at any dpi
    let module_dots = code128::module_dots(modules.len(), avail_dots, max_module)
        .ok_or_else(|| LabelError::WaybillTooLong(label.waybill_no.clone()))?;
    let bar_w = modules.len() as f32 * module_dots as f32 * dot;
    let bar_h = (12.0 * s).min(16.0);
    y += 1.6;
    let bar_x = m + (cw - bar_w) / 2.0;
    b.els.push(El::Barcode {
        x: bar_x,
        y,
        h: bar_h,
        module_dots,
        modules,
        data: label.waybill_no.clone(),
    });
    y += bar_h + 0.6;
    let num_size = profile.fit_line(&label.waybill_no, 3.4 * s, cw);
    b.centered(m, y, cw, &spaced_number(&label.waybill_no), num_size, true);
    y += num_size * LEADING + 0.3;
    b.hrule(m, y, cw, rule);
    y += rule;
    let receiver_top = y;

    // ── Bottom-up: footer, bottom block (QR + items), sender ───────────────────────────
    let foot_size = profile.snap(1.9 * s);
    let foot_y = h - m - foot_size;
    let counter = format!("{}/{}", index + 1, total);
    b.text(m, foot_y, foot_size, &format!("打印任务 {job}"), false);
    let cx = w - m - profile.metrics.width_em(&counter) * foot_size;
    b.text(cx, foot_y, foot_size, &counter, false);

    // QR: whole-dot modules, ~15 mm (× scale) including its 4-module quiet zone.
    let qr_data = label
        .qr_payload
        .clone()
        .unwrap_or_else(|| label.waybill_no.clone());
    let qr = QrCode::with_error_correction_level(qr_data.as_bytes(), EcLevel::M)
        .map_err(|_| LabelError::QrTooLong(qr_data.len()))?;
    let qw = qr.width();
    let qr_target = 17.0 * s;
    let qr_module_dots = ((qr_target / dot) / (qw + 8) as f32).floor().max(1.0) as u32;
    let qr_side = (qw as u32 * qr_module_dots) as f32 * dot;
    let quiet = 4.0 * qr_module_dots as f32 * dot;
    let qr_block_h = qr_side + 2.0 * quiet;
    let col_x = m + qr_side + 2.0 * quiet - 1.0_f32.min(quiet);
    let col_w = w - m - col_x;
    let col_bottom = foot_y - 0.6;
    // The column grows upwards past the QR's height if its text needs it (thermal fonts
    // can't shrink far), but never takes more than a third of the label.
    let col_h = b.bottom_column(
        col_x,
        col_bottom - 0.2,
        col_w,
        qr_block_h - 0.8,
        h / 3.0,
        &items,
        order_ref.as_deref(),
        promo.as_deref(),
        label.logo_png.as_ref(),
        s,
    );
    let block_h = qr_block_h.max(col_h + 0.8);
    let block_top = col_bottom - block_h;
    b.hrule(m, block_top - rule, cw, rule);
    let dark = qr
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    b.els.push(El::Qr {
        x: snap_to_dots(m + quiet - 1.0_f32.min(quiet), dot),
        y: block_top + quiet,
        module_dots: qr_module_dots,
        width: qw,
        dark,
        data: qr_data,
    });

    // Sender block just above the bottom block: name + phone, address in ≤ 2 lines.
    let tag_w = 6.0 * s;
    let sx = m + tag_w + 1.5;
    let sw = w - m - sx;
    let s_line_size = profile.fit_line(&format!("{s_name}  {s_phone}"), 2.8 * s, sw);
    let mut s_addr_size = profile.snap(2.6 * s);
    let mut s_lines = b.wrap(&s_addr, sw, s_addr_size);
    while s_lines.len() > 2 {
        match profile.smaller(s_addr_size) {
            Some(z) => {
                s_addr_size = z;
                s_lines = b.wrap(&s_addr, sw, z);
            }
            None => break,
        }
    }
    let sender_h = s_line_size * LEADING + s_lines.len() as f32 * s_addr_size * LEADING + 1.2;
    let sender_top = block_top - rule - sender_h;
    b.hrule(m, sender_top - rule, cw, rule);
    b.badge(
        m,
        sender_top + 0.6,
        tag_w,
        tag_w.min(sender_h - 1.2),
        "寄",
        profile.snap(3.6 * s),
        false,
    );
    let mut sy = sender_top + 0.6;
    b.text(sx, sy, s_line_size, &format!("{s_name}  {s_phone}"), false);
    sy += s_line_size * LEADING;
    for l in &s_lines {
        b.text(sx, sy, s_addr_size, l, false);
        sy += s_addr_size * LEADING;
    }

    // ── Receiver: everything between the barcode and the sender block ────────────────
    let rx = m + 7.5 * s;
    let rw = w - m - rx;
    let mut r_bottom = sender_top - rule - 0.6;
    let ry = receiver_top + 1.2;
    b.badge(m, ry, 6.0 * s, 6.0 * s, "收", profile.snap(4.2 * s), true);
    let r_line = format!("{r_name}  {r_phone}");
    let r_line_size = profile.fit_line(&r_line, 4.4 * s, rw);
    let name_lines = b.wrapped_left(rx, ry, rw, &r_line, r_line_size, true);
    let addr_top = ry + name_lines as f32 * r_line_size * LEADING + 0.6;
    let addr_start = profile.snap(4.0 * s);
    // A short address leaves room: use it for the signature row couriers fill in (签收栏).
    let needed = b.wrap(&r_addr, rw, addr_start).len() as f32 * addr_start * LEADING;
    let sig_h = 7.0 * s;
    if r_bottom - addr_top - needed > sig_h + 8.0 * s {
        let sig_top = sender_top - rule - sig_h;
        let size = profile.snap(2.6 * s);
        b.hrule(m, sig_top - rule, cw, rule);
        let ty = sig_top + (sig_h - size) / 2.0;
        b.text(m, ty, size, "签收人：", false);
        b.text(m + cw * 0.52, ty, size, "签收时间：    月    日", false);
        r_bottom = sig_top - rule - 0.6;
    }
    let (addr_size, addr_lines, fits) = fit_block(&b, &r_addr, rw, r_bottom - addr_top, addr_start);
    if !fits || addr_size < profile.legible_mm {
        b.fitted = false;
    }
    let mut ay = addr_top;
    for l in &addr_lines {
        b.text(rx, ay, addr_size, l, false);
        ay += addr_size * LEADING;
    }

    let report = LabelReport {
        waybill_no: label.waybill_no.clone(),
        missing_chars: missing,
        address_font_pt: (addr_size * PT_PER_MM * 10.0).round() / 10.0,
        address_lines: addr_lines.len(),
        fitted: b.fitted,
    };
    let mut els = b.els;
    apply_offset(&mut els, opts, dot);
    Ok((els, report))
}

/// Shrinks `text` from `start` until its wrapped lines fit `avail_h`; returns the size, the
/// lines and whether it fitted before the output ran out of smaller sizes.
fn fit_block(
    b: &Builder<'_, '_>,
    text: &str,
    width: f32,
    avail_h: f32,
    start: f32,
) -> (f32, Vec<String>, bool) {
    let mut size = b.p.snap(start);
    loop {
        let lines = b.wrap(text, width, size);
        if lines.len() as f32 * size * LEADING <= avail_h + 1e-3 {
            return (size, lines, true);
        }
        match b.p.smaller(size) {
            Some(z) => size = z,
            None => return (size, lines, false),
        }
    }
}

/// `SF1385628716739` → `SF 1385 6287 16739`: easier to read aloud and to key in.
fn spaced_number(n: &str) -> String {
    if n.len() < 10 || !n.is_ascii() {
        return n.to_owned();
    }
    let split = n.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
    let (prefix, digits) = n.split_at(split);
    let mut out = String::from(prefix);
    if !prefix.is_empty() {
        out.push(' ');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 4 == 0 && digits.len() - i > 1 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

fn snap_to_dots(mm: f32, dot: f32) -> f32 {
    (mm / dot).round() * dot
}

/// Moves every element by the printer offset; barcodes and QR symbols stay on the dot grid
/// so their modules keep whole-dot widths.
fn apply_offset(els: &mut [El], opts: &LabelOptions, dot: f32) {
    let (dx, dy) = (opts.offset.x_mm, opts.offset.y_mm);
    for el in els {
        match el {
            El::Text { x, top, .. } => {
                *x += dx;
                *top += dy;
            }
            El::Rect { x, y, .. } | El::Image { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            El::Barcode { x, y, .. } | El::Qr { x, y, .. } => {
                *x = snap_to_dots(*x + dx, dot);
                *y = snap_to_dots(*y + dy, dot);
            }
        }
    }
}

struct Builder<'a, 'p> {
    els: Vec<El>,
    p: &'a Profile<'p>,
    fitted: bool,
}

impl Builder<'_, '_> {
    fn text(&mut self, x: f32, top: f32, size: f32, text: &str, bold: bool) {
        if !text.trim().is_empty() {
            self.els.push(El::Text {
                x,
                top,
                size,
                text: text.to_owned(),
                bold,
                white: false,
            });
        }
    }

    fn hrule(&mut self, x: f32, y: f32, w: f32, line: f32) {
        self.els.push(El::Rect {
            x,
            y,
            w,
            h: line,
            line: 0.0,
        });
    }

    fn wrap(&self, text: &str, width: f32, size: f32) -> Vec<String> {
        crate::font::wrap(text, width / size, self.p.metrics)
    }

    fn centered(&mut self, x: f32, top: f32, width: f32, text: &str, size: f32, bold: bool) {
        let tw = self.p.metrics.width_em(text) * size;
        self.text(x + ((width - tw) / 2.0).max(0.0), top, size, text, bold);
    }

    /// Wrapped, centred lines; returns the number of lines.
    fn wrapped_centered(
        &mut self,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
        size: f32,
        bold: bool,
    ) -> usize {
        let lines = self.wrap(text, width, size);
        for (i, l) in lines.iter().enumerate() {
            self.centered(x, top + i as f32 * size * 1.08, width, l, size, bold);
        }
        lines.len().max(1)
    }

    /// Wrapped, left-aligned lines; returns the number of lines.
    fn wrapped_left(
        &mut self,
        x: f32,
        top: f32,
        width: f32,
        text: &str,
        size: f32,
        bold: bool,
    ) -> usize {
        let lines = self.wrap(text, width, size);
        for (i, l) in lines.iter().enumerate() {
            self.text(x, top + i as f32 * size * LEADING, size, l, bold);
        }
        lines.len().max(1)
    }

    /// A boxed word: white on black when `inverse`, else black in an outline.
    #[allow(clippy::too_many_arguments)]
    fn badge(&mut self, x: f32, y: f32, w: f32, h: f32, text: &str, size: f32, inverse: bool) {
        let size = size.min(h);
        self.els.push(El::Rect {
            x,
            y,
            w,
            h,
            line: if inverse { 0.0 } else { 0.35 },
        });
        let tw = self.p.metrics.width_em(text) * size;
        self.els.push(El::Text {
            x: x + (w - tw) / 2.0,
            top: y + (h - size) / 2.0,
            size,
            text: text.to_owned(),
            bold: true,
            white: inverse,
        });
    }

    /// Right of the QR, drawn upwards from `bottom`: promo line, order reference, item
    /// summary, and the logo at the top right with the items wrapping to its left. Takes
    /// `min_h` if the items fit in it, else grows up to `max_h`; returns the height used.
    #[allow(clippy::too_many_arguments)]
    fn bottom_column(
        &mut self,
        x: f32,
        bottom: f32,
        width: f32,
        min_h: f32,
        max_h: f32,
        items: &str,
        order_ref: Option<&str>,
        promo: Option<&str>,
        logo: Option<&Arc<[u8]>>,
        s: f32,
    ) -> f32 {
        let mut y = bottom;
        if let Some(promo) = promo.filter(|p| !p.is_empty()) {
            let size = self.p.fit_line(promo, 2.6 * s, width);
            y -= size;
            self.text(x, y, size, promo, true);
            y -= 0.6;
        }
        if let Some(r) = order_ref.filter(|r| !r.is_empty()) {
            let size = self.p.fit_line(r, 2.2 * s, width);
            y -= size;
            self.text(x, y, size, r, false);
            y -= 0.5;
        }
        let fixed = bottom - y;
        let logo_box = logo.and_then(|png| png_size(png).map(|d| (png, d)));
        let mut text_w = width;
        let (mut logo_w, mut logo_h) = (0.0, 0.0);
        if let Some((_, (pw, ph))) = logo_box {
            let k = ((width * 0.42).min(24.0 * s) / pw as f32)
                .min(((min_h - fixed) * 0.5).min(9.0 * s) / ph as f32);
            (logo_w, logo_h) = (pw as f32 * k, ph as f32 * k);
            text_w = width - logo_w - 1.0;
        }
        let text = format!("物品：{items}");
        let (mut size, mut lines, fits) = fit_block(self, &text, text_w, min_h - fixed, 2.8 * s);
        let mut used = min_h;
        if !fits {
            // Grow to the height the smallest size needs, within `max_h`.
            let need = lines.len() as f32 * size * LEADING + fixed;
            used = need.min(max_h);
            let refit = fit_block(self, &text, text_w, used - fixed, size);
            (size, lines) = (refit.0, refit.1);
            if !refit.2 {
                self.fitted = false;
            }
        }
        let top = bottom - used;
        if let Some((png, _)) = logo_box {
            self.els.push(El::Image {
                x: x + width - logo_w,
                y: top,
                w: logo_w,
                h: logo_h,
                png: png.clone(),
            });
        }
        for (i, l) in lines.iter().enumerate() {
            self.text(x, top + i as f32 * size * LEADING, size, l, false);
        }
        used
    }
}

/// Width and height from a PNG's IHDR chunk, without decoding the image.
pub(crate) fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::{CellMetrics, EmbeddedMetrics};
    use crate::model::LabelSize;
    use crate::sample::sample_labels;

    fn profiles() -> Vec<(&'static str, Profile<'static>)> {
        let dot = 25.4 / 203.0;
        vec![
            (
                "pdf",
                Profile {
                    metrics: &EmbeddedMetrics,
                    quantum_mm: None,
                    legible_mm: 1.76,
                },
            ),
            (
                "tspl",
                Profile {
                    metrics: &CellMetrics,
                    quantum_mm: Some(24.0 * dot),
                    legible_mm: 0.0,
                },
            ),
            (
                "zpl",
                Profile {
                    metrics: &CellMetrics,
                    quantum_mm: Some(dot),
                    legible_mm: 2.0,
                },
            ),
        ]
    }

    /// (x0, y0, x1, y1) of a text element as its output will measure it.
    fn text_box(el: &El, p: &Profile<'_>) -> Option<(f32, f32, f32, f32, String)> {
        match el {
            El::Text {
                x, top, size, text, ..
            } => Some((
                *x,
                *top,
                x + p.metrics.width_em(text) * size,
                top + size,
                text.clone(),
            )),
            _ => None,
        }
    }

    #[test]
    fn no_text_leaves_the_label_or_overlaps_other_text_on_any_size_or_output() {
        let labels = sample_labels(150, 11);
        for size in LabelSize::SUPPORTED {
            let opts = LabelOptions::new(size);
            for (name, p) in profiles() {
                for (i, label) in labels.iter().enumerate() {
                    let (els, report) = layout(label, &opts, &p, i, labels.len()).unwrap();
                    assert!(report.fitted, "{name} {size} #{i}: {report:?}");
                    let boxes: Vec<_> = els.iter().filter_map(|e| text_box(e, &p)).collect();
                    for (x0, y0, x1, y1, t) in &boxes {
                        let inside = *x0 >= 0.0
                            && *y0 >= 0.0
                            && *x1 <= size.width_mm + 0.01
                            && *y1 <= size.height_mm + 0.01;
                        assert!(
                            inside,
                            "{name} {size} #{i}: {t:?} at ({x0},{y0})-({x1},{y1})"
                        );
                    }
                    for (a, ba) in boxes.iter().enumerate() {
                        for bb in &boxes[a + 1..] {
                            let w = ba.2.min(bb.2) - ba.0.max(bb.0);
                            let h = ba.3.min(bb.3) - ba.1.max(bb.1);
                            assert!(
                                w <= 0.05 || h <= 0.05,
                                "{name} {size} #{i}: {:?} overlaps {:?}",
                                ba.4,
                                bb.4
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn barcodes_stay_on_the_dot_grid_whatever_the_offset() {
        let label = &sample_labels(1, 2)[0];
        for (dx, dy) in [(0.0, 0.0), (0.3, -0.45), (-1.07, 2.2)] {
            for dpi in [203, 300] {
                let opts = LabelOptions::default().with_offset(dx, dy).with_dpi(dpi);
                let dot = opts.dot_mm();
                let (els, _) = layout(label, &opts, &profiles()[0].1, 0, 1).unwrap();
                let (x, module_dots) = els
                    .iter()
                    .find_map(|e| match e {
                        El::Barcode { x, module_dots, .. } => Some((*x, *module_dots)),
                        _ => None,
                    })
                    .unwrap();
                let in_dots = x / dot;
                assert!(
                    (in_dots - in_dots.round()).abs() < 1e-3,
                    "x = {in_dots} dots at {dpi} dpi"
                );
                assert!(module_dots >= 2, "{module_dots}-dot modules at {dpi} dpi");
            }
        }
    }

    #[test]
    fn waybill_numbers_are_grouped_for_reading() {
        assert_eq!(spaced_number("SF1385628716739"), "SF 1385 6287 16739");
        assert_eq!(spaced_number("73610555582883"), "7361 0555 5828 83");
        assert_eq!(spaced_number("AB123"), "AB123");
    }

    #[test]
    fn png_size_reads_the_header() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&40u32.to_be_bytes());
        png.extend_from_slice(&20u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((40, 20)));
        assert_eq!(png_size(b"GIF89a"), None);
    }
}
