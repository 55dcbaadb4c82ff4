//! 1-bit bitmaps of merchant logos for thermal printers (TSPL `BITMAP`, ZPL `^GFA`).
//!
//! Thermal heads print dots or nothing, so the logo is scaled to its box in printer dots
//! (area average, alpha composited onto white paper) and thresholded at mid-grey. Logos are
//! flat artwork; dithering would only add noise to them.

use std::io::Cursor;

/// A black-and-white image in printer dots; `true` is a printed (black) dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub dots: Vec<bool>,
}

impl Bitmap {
    /// Rows packed MSB-first, `ceil(width / 8)` bytes a row, with `1` for a printed dot
    /// (ZPL's convention). Padding bits past the right edge are unprinted.
    pub fn packed_rows(&self) -> Vec<u8> {
        let stride = self.width.div_ceil(8);
        let mut out = vec![0u8; stride * self.height];
        for y in 0..self.height {
            for x in 0..self.width {
                if self.dots[y * self.width + x] {
                    out[y * stride + x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        out
    }
}

/// Decodes `png` and scales it to `width`×`height` dots. `None` if the PNG can't be decoded.
pub(crate) fn logo_bitmap(png: &[u8], width: usize, height: usize) -> Option<Bitmap> {
    if width == 0 || height == 0 {
        return None;
    }
    let mut decoder = png::Decoder::new(Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buf).ok()?;
    let (sw, sh) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    // Luminance (0 = black, 255 = white) of each source pixel over white paper.
    let lum: Vec<f32> = (0..sw * sh)
        .map(|i| {
            let row = i / sw;
            let px = &buf[row * info.line_size + (i % sw) * channels..][..channels];
            let (grey, alpha) = match px.len() {
                1 => (f32::from(px[0]), 255.0),
                2 => (f32::from(px[0]), f32::from(px[1])),
                3 => (luma(px), 255.0),
                _ => (luma(px), f32::from(px[3])),
            };
            let a = alpha / 255.0;
            grey * a + 255.0 * (1.0 - a)
        })
        .collect();
    let mut dots = Vec::with_capacity(width * height);
    for ty in 0..height {
        let (y0, y1) = span(ty, height, sh);
        for tx in 0..width {
            let (x0, x1) = span(tx, width, sw);
            let mut sum = 0.0;
            for y in y0..y1 {
                sum += lum[y * sw + x0..y * sw + x1].iter().sum::<f32>();
            }
            let mean = sum / ((y1 - y0) * (x1 - x0)) as f32;
            dots.push(mean < 128.0);
        }
    }
    Some(Bitmap {
        width,
        height,
        dots,
    })
}

fn luma(px: &[u8]) -> f32 {
    0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])
}

/// The source pixels `[start, end)` that target pixel `t` of `n` covers in a source of `len`.
fn span(t: usize, n: usize, len: usize) -> (usize, usize) {
    let start = t * len / n;
    let end = ((t + 1) * len / n).max(start + 1).min(len);
    (start.min(len - 1), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_logo_scales_to_the_requested_dots_with_its_black_frame() {
        let png = crate::sample::sample_logo_png();
        let bmp = logo_bitmap(&png, 48, 16).expect("decodes");
        assert_eq!((bmp.width, bmp.height, bmp.dots.len()), (48, 16, 48 * 16));
        assert!(bmp.dots[0], "top-left corner is the black frame");
        assert!(bmp.dots.iter().any(|d| !d), "not all black");
        let packed = bmp.packed_rows();
        assert_eq!(packed.len(), 6 * 16);
        assert_eq!(packed[0], 0xFF, "first row is frame");
    }

    #[test]
    fn garbage_is_not_a_bitmap() {
        assert_eq!(logo_bitmap(b"not a png", 10, 10), None);
    }
}
