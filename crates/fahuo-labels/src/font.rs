//! The embedded label font: glyph lookup, advances, missing-glyph handling and CJK line breaking.
//!
//! Labels must print on a fresh machine with no fonts installed, so the font lives in the
//! binary. We look glyphs up ourselves (instead of asking krilla to shape each line) because
//! the subset has no GSUB features to apply anyway, it lets the same metrics drive line
//! breaking and drawing, and a per-character table is much faster than re-parsing the font
//! for every line on a 1,000-label batch.

use std::collections::HashMap;
use std::sync::LazyLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};

/// Subset of Noto Sans CJK SC Regular (SIL OFL 1.1); see `fonts/SOURCE.md` and `fonts/OFL.txt`.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../fonts/NotoSansCJKsc-Regular-subset.otf");

/// Drawn (and extracted) in place of a character the font cannot show, so it never vanishes.
pub const REPLACEMENT_CHAR: char = '□';

/// Per-character glyph id and advance (in em), built once per process.
pub(crate) struct FontTables {
    glyphs: HashMap<char, (u16, f32)>,
    /// Ascender in em: the distance from the top of the line box to the baseline.
    pub ascent: f32,
    replacement: (u16, f32),
}

pub(crate) static TABLES: LazyLock<FontTables> = LazyLock::new(|| {
    let font = FontRef::new(FONT_BYTES).expect("embedded label font parses");
    let upem = f32::from(font.head().map(|h| h.units_per_em()).unwrap_or(1000));
    let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    let mut glyphs = HashMap::with_capacity(8192);
    for (cp, gid) in font.charmap().mappings() {
        let Some(ch) = char::from_u32(cp) else {
            continue;
        };
        let advance = metrics.advance_width(gid).unwrap_or(upem) / upem;
        let Ok(gid) = u16::try_from(gid.to_u32()) else {
            continue;
        };
        glyphs.insert(ch, (gid, advance));
    }
    // Noto CJK's typo ascender is 880/1000; use the font's own value when present.
    let ascent = font
        .os2()
        .map(|t| f32::from(t.s_typo_ascender()) / upem)
        .unwrap_or(0.88);
    let replacement = *glyphs
        .get(&REPLACEMENT_CHAR)
        .expect("subset keeps the replacement box □");
    FontTables {
        glyphs,
        ascent,
        replacement,
    }
});

/// One positioned glyph of a line, ready for krilla.
#[derive(Debug, Clone)]
pub(crate) struct PlacedGlyph {
    pub gid: u16,
    /// Advance in em.
    pub advance: f32,
    /// Byte range in the (already substituted) text.
    pub range: std::ops::Range<usize>,
}

impl FontTables {
    /// Whether the embedded font can draw `ch`.
    pub fn has(&self, ch: char) -> bool {
        self.glyphs.contains_key(&ch) || is_invisible(ch)
    }

    /// Advance of `ch` in em; unknown characters measure as the replacement box.
    pub fn advance(&self, ch: char) -> f32 {
        match self.glyphs.get(&ch) {
            Some(&(_, a)) => a,
            None if is_invisible(ch) => 0.0,
            None => self.replacement.1,
        }
    }

    /// Glyphs of `text`, which must already have gone through [`substitute_missing`].
    pub fn glyphs(&self, text: &str) -> Vec<PlacedGlyph> {
        let mut out = Vec::with_capacity(text.len() / 2);
        for (i, ch) in text.char_indices() {
            let (gid, advance) = self.glyphs.get(&ch).copied().unwrap_or(self.replacement);
            out.push(PlacedGlyph {
                gid,
                advance,
                range: i..i + ch.len_utf8(),
            });
        }
        out
    }
}

/// Control and format characters that a label should neither draw nor report.
fn is_invisible(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{200B}'..='\u{200F}' | '\u{FEFF}')
}

/// Characters of `text` the embedded font cannot draw (each would print as `□`), in order of
/// first appearance. Use it to warn about an address before a label is printed.
pub fn unprintable_chars(text: &str) -> Vec<char> {
    let mut missing = Vec::new();
    for ch in text.chars() {
        if !TABLES.has(ch) && !ch.is_whitespace() && !missing.contains(&ch) {
            missing.push(ch);
        }
    }
    missing
}

/// Replaces every character the font cannot draw with [`REPLACEMENT_CHAR`] and records it in
/// `missing`. Control characters (tabs, newlines) become spaces.
pub(crate) fn substitute_missing(text: &str, missing: &mut Vec<char>) -> String {
    let t = &*TABLES;
    if text.chars().all(|c| t.glyphs.contains_key(&c)) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if t.glyphs.contains_key(&ch) {
            out.push(ch);
        } else if ch.is_whitespace() || ch.is_control() {
            out.push(' ');
        } else if is_invisible(ch) {
            // zero-width characters carry nothing a courier needs
        } else {
            if !missing.contains(&ch) {
                missing.push(ch);
            }
            out.push(REPLACEMENT_CHAR);
        }
    }
    out
}

/// How wide characters are, in em, for one output: the embedded font for PDF, or a
/// printer-resident font (full-width CJK, half-width ASCII) for TSPL/ZPL.
pub(crate) trait Metrics {
    fn advance_em(&self, ch: char) -> f32;

    fn width_em(&self, text: &str) -> f32 {
        text.chars().map(|c| self.advance_em(c)).sum()
    }
}

/// Metrics of the embedded font.
pub(crate) struct EmbeddedMetrics;

impl Metrics for EmbeddedMetrics {
    fn advance_em(&self, ch: char) -> f32 {
        TABLES.advance(ch)
    }
}

/// Metrics of a typical printer-resident Chinese bitmap font (e.g. TSPL `TSS24.BF2`,
/// a 24×24 cell for hanzi and 12×24 for ASCII).
pub(crate) struct CellMetrics;

impl Metrics for CellMetrics {
    fn advance_em(&self, ch: char) -> f32 {
        if ch.is_ascii() { 0.5 } else { 1.0 }
    }
}

/// Characters that must not start a line (closing punctuation), per common Chinese typesetting.
fn no_line_start(ch: char) -> bool {
    "，。、；：？！）》」』】〕〗’”,.;:?!)]}%·…—～".contains(ch)
}

/// Characters that must not end a line (opening brackets).
fn no_line_end(ch: char) -> bool {
    "（《「『【〔〖‘“([{".contains(ch)
}

/// Latin letters and digits stay together so a house number or phone never splits.
fn is_word_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || matches!(ch, '-' | '#' | '/' | '*' | '+' | '.')
}

/// Breaks `text` into lines no wider than `max_em` (in em of the font size).
///
/// Chinese may break between any two characters; runs of ASCII letters and digits (house
/// numbers, room numbers, phone numbers) move to the next line whole unless they alone are
/// wider than a line. Closing punctuation is pulled back onto the previous line. Nothing is
/// ever dropped: concatenating the lines (ignoring spaces at breaks) gives the input back.
pub(crate) fn wrap(text: &str, max_em: f32, m: &dyn Metrics) -> Vec<String> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // Skip spaces at the start of a continuation line.
        while start < chars.len() && chars[start] == ' ' {
            start += 1;
        }
        if start >= chars.len() {
            break;
        }
        let mut width = 0.0;
        let mut end = start;
        while end < chars.len() {
            let w = m.advance_em(chars[end]);
            if width + w > max_em + 1e-4 && end > start {
                break;
            }
            width += w;
            end += 1;
        }
        if end < chars.len() {
            end = adjust_break(&chars, start, end);
        }
        let line: String = chars[start..end].iter().collect();
        lines.push(line.trim_end().to_owned());
        start = end;
    }
    lines
}

/// Moves a break at `end` (exclusive) back so it doesn't split a word or strand punctuation.
fn adjust_break(chars: &[char], start: usize, end: usize) -> usize {
    let mut b = end;
    // Don't split an ASCII word: back up to its start, unless the word began the line.
    if is_word_char(chars[b]) && is_word_char(chars[b - 1]) {
        let mut w = b;
        while w > start && is_word_char(chars[w - 1]) {
            w -= 1;
        }
        if w > start {
            b = w;
        }
    }
    // Closing punctuation may not start the next line: take one char fewer on this line so
    // the punctuation's predecessor moves down with it (at most a few steps).
    let mut guard = 0;
    while b > start + 1 && b < chars.len() && no_line_start(chars[b]) && guard < 3 {
        b -= 1;
        guard += 1;
    }
    // Opening brackets may not end a line.
    while b > start + 1 && no_line_end(chars[b - 1]) {
        b -= 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_covers_gb2312_hanzi_ascii_and_label_symbols() {
        let t = &*TABLES;
        for ch in
            "浙江省杭州市西湖区文三路 收寄集包地补打冷链易碎 0123456789 ABCxyz -#（）□".chars()
        {
            assert!(t.has(ch), "missing {ch}");
        }
        assert!(t.ascent > 0.8 && t.ascent < 1.0);
    }

    #[test]
    fn a_character_outside_the_subset_becomes_a_visible_box_and_is_reported() {
        let mut missing = Vec::new();
        let s = substitute_missing("张𪚥先生", &mut missing);
        assert_eq!(s, "张□先生");
        assert_eq!(missing, vec!['𪚥']);
    }

    #[test]
    fn wrapping_never_loses_characters_and_respects_the_width() {
        let text = "新疆维吾尔自治区伊犁哈萨克自治州伊宁市解放西路Apartment 12B号（近人民公园东门），请放快递柜";
        let lines = wrap(text, 12.0, &EmbeddedMetrics);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(EmbeddedMetrics.width_em(l) <= 12.0 + 1e-3, "{l}");
        }
        let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
        let orig: String = text.chars().filter(|c| *c != ' ').collect();
        assert_eq!(joined, orig);
    }

    #[test]
    fn house_numbers_are_not_split_and_closing_punctuation_does_not_start_a_line() {
        // 11 hanzi then a number: the number must move down whole.
        let lines = wrap("一二三四五六七八九十一2301室", 12.0, &CellMetrics);
        assert_eq!(lines, vec!["一二三四五六七八九十一", "2301室"]);
        let lines = wrap("一二三四五六七八九十，好", 10.0, &CellMetrics);
        assert!(!lines[1].starts_with('，'), "{lines:?}");
    }
}
