//! PDF output through krilla: draws laid-out elements, one page per label.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId};
use krilla::{Data, Document, SerializeSettings};

use crate::LabelError;
use crate::font::{EmbeddedMetrics, FONT_BYTES, PlacedGlyph, TABLES};
use crate::layout::{El, PT_PER_MM, Profile, layout};
use crate::model::{LabelOptions, LabelReport, ShippingLabel};

impl krilla::text::Glyph for PlacedGlyph {
    fn glyph_id(&self) -> GlyphId {
        GlyphId::new(u32::from(self.gid))
    }
    fn text_range(&self) -> Range<usize> {
        self.range.clone()
    }
    fn x_advance(&self, size: f32) -> f32 {
        self.advance * size
    }
    fn x_offset(&self, _: f32) -> f32 {
        0.0
    }
    fn y_offset(&self, _: f32) -> f32 {
        0.0
    }
    fn y_advance(&self, _: f32) -> f32 {
        0.0
    }
    fn location(&self) -> Option<krilla::surface::Location> {
        None
    }
}

/// The labels as one PDF plus what happened on each label, in input order.
#[derive(Debug, Clone)]
pub struct RenderedPdf {
    pub pdf: Vec<u8>,
    pub reports: Vec<LabelReport>,
}

/// The PDF-side text profile: real font metrics, any size, 5 pt still legible.
pub(crate) fn pdf_profile() -> Profile<'static> {
    Profile {
        metrics: &EmbeddedMetrics,
        quantum_mm: None,
        legible_mm: 5.0 / PT_PER_MM,
    }
}

/// Renders `labels` into one PDF, one page per label, in the given order.
pub fn render_labels_pdf(
    labels: &[ShippingLabel],
    opts: &LabelOptions,
) -> Result<RenderedPdf, LabelError> {
    if labels.is_empty() {
        return Err(LabelError::NoLabels);
    }
    let profile = pdf_profile();
    let mut doc = new_document("fahuo 快递面单");
    let mut pdf = Pdf::new();
    let mut reports = Vec::with_capacity(labels.len());
    let (w, h) = (
        opts.size.width_mm * PT_PER_MM,
        opts.size.height_mm * PT_PER_MM,
    );
    for (i, label) in labels.iter().enumerate() {
        let (els, report) = layout(label, opts, &profile, i, labels.len())?;
        let settings = PageSettings::from_wh(w, h)
            .ok_or(LabelError::UnsupportedSize(opts.size.to_string()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        pdf.draw(&mut surface, &els, opts.dot_mm())?;
        surface.finish();
        page.finish();
        reports.push(report);
    }
    let bytes = doc
        .finish()
        .map_err(|e| LabelError::Pdf(format!("{e:?}")))?;
    Ok(RenderedPdf {
        pdf: bytes,
        reports,
    })
}

pub(crate) fn new_document(title: &str) -> Document {
    // Tagging and XMP add bytes and time to every batch and no printer reads them.
    let settings = SerializeSettings {
        enable_tagging: false,
        xmp_metadata: false,
        ..Default::default()
    };
    let mut doc = Document::new_with(settings);
    doc.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .creator("fahuo".to_owned()),
    );
    doc
}

/// Per-document drawing state: the font handle and decoded logos.
pub(crate) struct Pdf {
    font: Font,
    images: HashMap<usize, Option<Image>>,
}

fn black() -> Fill {
    Fill {
        paint: luma::Color::black().into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

fn white() -> Fill {
    Fill {
        paint: luma::Color::white().into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

fn pt(mm: f32) -> f32 {
    mm * PT_PER_MM
}

impl Pdf {
    pub(crate) fn new() -> Self {
        let font = Font::new(Data::from(FONT_BYTES), 0).expect("embedded font loads in krilla");
        Pdf {
            font,
            images: HashMap::new(),
        }
    }

    /// Draws one line of text at `(x, top)`, where `top` is the top of the em box (mm).
    pub(crate) fn text(
        &self,
        surface: &mut Surface<'_>,
        (x, top): (f32, f32),
        size: f32,
        text: &str,
        bold: bool,
        white_text: bool,
    ) {
        let glyphs = TABLES.glyphs(text);
        let baseline = top + size * TABLES.ascent;
        surface.set_fill(Some(if white_text { white() } else { black() }));
        if bold {
            // The subset has one weight; a thin stroke in the fill colour gives a bold face.
            let paint = if white_text {
                luma::Color::white()
            } else {
                luma::Color::black()
            };
            surface.set_stroke(Some(Stroke {
                paint: paint.into(),
                width: pt(size) * 0.04,
                line_join: LineJoin::Round,
                ..Default::default()
            }));
        } else {
            surface.set_stroke(None);
        }
        surface.draw_glyphs(
            Point::from_xy(pt(x), pt(baseline)),
            &glyphs,
            self.font.clone(),
            text,
            pt(size),
            false,
        );
        surface.set_stroke(None);
    }

    /// Fills the given rectangles (mm) as one path.
    pub(crate) fn fill_rects(
        &self,
        surface: &mut Surface<'_>,
        rects: impl IntoIterator<Item = (f32, f32, f32, f32)>,
        fill: Fill,
    ) {
        let mut pb = PathBuilder::new();
        for (x, y, w, h) in rects {
            if let Some(r) = Rect::from_xywh(pt(x), pt(y), pt(w), pt(h)) {
                pb.push_rect(r);
            }
        }
        if let Some(path) = pb.finish() {
            surface.set_stroke(None);
            surface.set_fill(Some(fill));
            surface.draw_path(&path);
        }
    }

    pub(crate) fn stroke_rect(
        &self,
        surface: &mut Surface<'_>,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        line: f32,
    ) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(
            pt(x + line / 2.0),
            pt(y + line / 2.0),
            pt(w - line),
            pt(h - line),
        ) {
            pb.push_rect(r);
        }
        if let Some(path) = pb.finish() {
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                width: pt(line),
                ..Default::default()
            }));
            surface.draw_path(&path);
            surface.set_stroke(None);
        }
    }

    fn image(&mut self, png: &Arc<[u8]>) -> Result<Option<Image>, LabelError> {
        // Keyed by allocation: a batch shares one Arc per logo, so each logo decodes once.
        let key = Arc::as_ptr(png) as *const u8 as usize;
        if let Some(img) = self.images.get(&key) {
            return Ok(img.clone());
        }
        let data: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(png.clone());
        let img = Image::from_png(Data::from(data), true).map_err(LabelError::BadLogo)?;
        self.images.insert(key, Some(img.clone()));
        Ok(Some(img))
    }

    pub(crate) fn draw(
        &mut self,
        surface: &mut Surface<'_>,
        els: &[El],
        dot: f32,
    ) -> Result<(), LabelError> {
        // Filled rectangles first, so white text on black badges lands on top.
        let rects = els.iter().filter_map(|e| match e {
            El::Rect { x, y, w, h, line } if *line == 0.0 => Some((*x, *y, *w, *h)),
            _ => None,
        });
        self.fill_rects(surface, rects, black());
        for el in els {
            match el {
                El::Rect { x, y, w, h, line } if *line > 0.0 => {
                    self.stroke_rect(surface, *x, *y, *w, *h, *line)
                }
                El::Rect { .. } => {}
                El::Text {
                    x,
                    top,
                    size,
                    text,
                    bold,
                    white,
                } => self.text(surface, (*x, *top), *size, text, *bold, *white),
                El::Barcode {
                    x,
                    y,
                    h,
                    module_dots,
                    modules,
                    ..
                } => {
                    let mw = *module_dots as f32 * dot;
                    let bars = runs(modules.iter().map(|&m| m == 1))
                        .map(|r| (x + r.start as f32 * mw, *y, r.len() as f32 * mw, *h));
                    self.fill_rects(surface, bars, black());
                }
                El::Qr {
                    x,
                    y,
                    module_dots,
                    width,
                    dark,
                    ..
                } => {
                    let mw = *module_dots as f32 * dot;
                    let mut cells = Vec::new();
                    for (row, line) in dark.chunks(*width).enumerate() {
                        for r in runs(line.iter().copied()) {
                            cells.push((
                                x + r.start as f32 * mw,
                                y + row as f32 * mw,
                                r.len() as f32 * mw,
                                mw,
                            ));
                        }
                    }
                    self.fill_rects(surface, cells, black());
                }
                El::Image { x, y, w, h, png } => {
                    if let Some(img) = self.image(png)? {
                        let size = krilla::geom::Size::from_wh(pt(*w), pt(*h))
                            .ok_or(LabelError::BadLogo("empty".into()))?;
                        surface.push_transform(&krilla::geom::Transform::from_translate(
                            pt(*x),
                            pt(*y),
                        ));
                        surface.draw_image(img, size);
                        surface.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs of `true` as index ranges: one rectangle per bar instead of one per module.
pub(crate) fn runs(bits: impl Iterator<Item = bool>) -> impl Iterator<Item = Range<usize>> {
    let mut start = None;
    let mut out = Vec::new();
    let mut n = 0;
    for (i, b) in bits.enumerate() {
        match (b, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
        n = i + 1;
    }
    if let Some(s) = start {
        out.push(s..n);
    }
    out.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_adjacent_dark_modules() {
        let r: Vec<_> = runs([true, true, false, true, false, false, true].into_iter()).collect();
        assert_eq!(r, vec![0..2, 3..4, 6..7]);
    }
}
