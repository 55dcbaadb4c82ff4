//! Text clean-up before parsing: traditional → simplified, full-width → half-width, control and
//! zero-width characters, dash variants, and a length cap.

const T2S_TSV: &str = include_str!("../data/t2s.tsv");

/// Inputs longer than this (in characters) are cut: no real address is that long, and the cap keeps
/// the worst case of a pasted document bounded.
pub const MAX_CHARS: usize = 512;

/// `class` bit: the character has a t2s entry.
const T2S: u8 = 1;
/// `class` bits: the character may start a name of the first or the second set the parser
/// searches for (see `Normalized::marks`).
const MARK: [u8; 2] = [2, 4];
const ANY_MARK: u8 = 2 | 4;
/// `class` bit: a Han character of the basic block (U+4E00..U+9FFF) without a t2s entry, which
/// normalisation keeps as it is: the bulk of every line, tested with this one bit.
const PLAIN_HAN: u8 = 8;

/// Traditional → simplified single-character table (jionlp 1.5.31, filtered; see data/SOURCES.md).
#[derive(Debug)]
pub(crate) struct Normalizer {
    /// Simplified form of each BMP code point with a t2s entry, 0 for none. A flat table, as
    /// the lookup runs for every traditional character.
    t2s: Box<[u16]>,
    /// The few t2s entries outside the BMP.
    t2s_astral: Vec<(char, char)>,
    /// One byte per BMP code point, at [`slot`]: `T2S`, `MARK` and `PLAIN_HAN` bits. Most characters of an
    /// address are already simplified, so this skips nearly all t2s lookups, and it lets
    /// normalisation note where names may start while it passes over the text anyway.
    /// Indexed by the shifted sum of a three-byte character's bytes (see [`slot`]), which no
    /// other byte sequence at a character boundary reaches: the scan needs no test of the lead
    /// byte. (A mebibyte of address space, of which only the pages of the code points with an
    /// entry are ever touched.)
    class: Box<[u8; CLASS_LEN]>,
}

#[derive(Debug, Default)]
pub(crate) struct Normalized {
    pub text: String,
    /// For each of the two character sets given to [`Normalizer::load`]: byte offsets in `text`
    /// of every character of the set, in order: the only places where a search for names that
    /// start with those characters needs to look.
    /// (Plain vectors: the parser reuses one `Normalized` per thread, so after the first lines
    /// they no longer allocate, and their push is cheaper than an inline vector's.)
    pub marks: [Vec<u32>; 2],
    /// How many entries of `marks[0]` are this line's: that list keeps its length between lines.
    pub n_first: usize,
    /// Byte ranges of `text`, in order, that hold its ASCII: together they hold every ASCII
    /// digit and '+' of it, so that the phone search visits only them, not the Han text
    /// between (normalisation passes over each run of ASCII anyway). Only the first `n_ascii`
    /// entries are this line's: like `marks[0]`, the list keeps its length between lines.
    pub ascii: Vec<(u32, u32)>,
    pub n_ascii: usize,
    /// A second text buffer the parser rebuilds `text` into when it blanks consumed spans.
    pub spare: String,
    pub traditional: bool,
    pub control: bool,
    pub truncated: bool,
}

impl Normalizer {
    /// `marks`: two sets of characters whose positions `normalize` records (the first
    /// characters of the names searched later). They must lie in the BMP and outside ASCII.
    pub fn load(marks: [Vec<char>; 2]) -> Self {
        let mut t2s = vec![0u16; 0x1_0000].into_boxed_slice();
        let mut t2s_astral = Vec::new();
        let mut class: Box<[u8; CLASS_LEN]> = vec![0u8; CLASS_LEN]
            .into_boxed_slice()
            .try_into()
            .expect("CLASS_LEN entries");
        for line in T2S_TSV.lines() {
            let mut it = line.split('\t');
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                let (mut a, mut b) = (a.chars(), b.chars());
                if let (Some(a), None, Some(b), None) = (a.next(), a.next(), b.next(), b.next()) {
                    match (u16::try_from(a as u32), u16::try_from(b as u32)) {
                        (Ok(x), Ok(y)) => {
                            t2s[usize::from(x)] = y;
                            class[slot(u32::from(x))] |= T2S;
                        }
                        _ => t2s_astral.push((a, b)),
                    }
                }
            }
        }
        for cp in 0x4e00..=0x9fff {
            if class[slot(cp)] & T2S == 0 {
                class[slot(cp)] |= PLAIN_HAN;
            }
        }
        for (set, chars) in marks.iter().enumerate() {
            for &c in chars {
                assert!(
                    !c.is_ascii() && (c as u32) < 0x1_0000,
                    "mark characters are non-ASCII BMP characters: {c:?}"
                );
                class[slot(c as u32)] |= MARK[set];
            }
        }
        Normalizer {
            t2s,
            t2s_astral,
            class,
        }
    }

    /// The simplified form of `c`, if the t2s table has one.
    fn simplified(&self, c: char) -> Option<char> {
        match u16::try_from(c as u32) {
            Ok(x) => match self.t2s[usize::from(x)] {
                0 => None,
                y => char::from_u32(u32::from(y)),
            },
            Err(_) => self
                .t2s_astral
                .iter()
                .find(|&&(a, _)| a == c)
                .map(|&(_, b)| b),
        }
    }

    /// Normalise `input` into `out`, whose previous contents are dropped (its buffers are
    /// kept, so that a caller that reuses one `Normalized` does not allocate per line).
    pub fn normalize(&self, input: &str, out: &mut Normalized) {
        // Cut at MAX_CHARS characters first, so that the loop below need not count them; a line
        // of at most MAX_CHARS bytes has at most that many characters.
        let mut truncated = false;
        let input = if input.len() > MAX_CHARS
            && let Some((end, _)) = input.char_indices().nth(MAX_CHARS)
        {
            truncated = true;
            &input[..end]
        } else {
            input
        };
        let Normalized {
            text,
            marks: [first_marks, label_marks],
            ascii,
            traditional,
            control,
            ..
        } = out;
        text.clear();
        // Each run or mapped digit takes at least one byte of the input.
        if ascii.len() < input.len() {
            ascii.resize(input.len(), (0, 0));
        }
        let runs = &mut ascii[..];
        let mut n_runs = 0;
        text.reserve(input.len());
        label_marks.clear();
        *traditional = false;
        *control = false;
        out.truncated = truncated;
        // The first mark list is written through a slice with its own count: a line has at most
        // one mark per character, hence per byte, and a store at an index in a register is
        // cheaper than a push, which reloads the vector's length and capacity every time.
        // The list keeps its length from line to line (only the first `n_first` entries are
        // this line's), so that it is not cleared and refilled with zeros every time.
        if first_marks.len() < input.len() {
            first_marks.resize(input.len(), 0);
        }
        let marks = &mut first_marks[..];
        let mut n_marks = 0;
        // Record the output offset `at` in the mark lists that class bits `k` name. (A macro,
        // not a closure: the scan below also writes the first list directly.) The first list
        // is written without a branch on `k`: the offset goes to the next free place every
        // time and is counted only for a mark. About half the characters of an address begin
        // some name, in no order a branch predictor could learn.
        macro_rules! mark {
            ($k:expr, $at:expr) => {{
                let (k, at): (u8, usize) = ($k, $at);
                if let Some(m) = marks.get_mut(n_marks) {
                    *m = at as u32;
                }
                n_marks += usize::from(k & MARK[0] != 0);
                if k & MARK[1] != 0 {
                    label_marks.push(at as u32);
                }
            }};
        }
        // Unchanged characters are copied as whole runs (most of an address needs no change);
        // only characters that map to something else are handled one by one. The scan works on
        // bytes: plain ASCII and already-simplified Han characters (the bulk) never get decoded
        // into `char`s. `run` is where the run not yet copied starts, and an input offset `i`
        // at or after it lands at `i + shift` in `text` (wrapping: `text` may be shorter).
        let b = input.as_bytes();
        let class = &*self.class;
        let mut run = 0;
        let mut shift = 0usize;
        let mut i = 0;
        while i < b.len() {
            // The bulk of a line: simplified Han characters of U+4E00..U+9FFF, one after another,
            // in a loop of their own that walks a slice (one length test per character) and
            // stops at anything else. The three bytes index the class table without decoding
            // (whatever they are: only a Han character's entry has the `PLAIN_HAN` bit), and
            // the character's mark, if any, is recorded without a branch (see `mark!`).
            let mut rest = &b[i..];
            while let &[x, y, z, ref tail @ ..] = rest {
                // The bytes' sum shifted into place is the code point plus a constant (see
                // `slot`), with none of the masking a decode takes.
                let k = class[three_byte_slot(x, y, z)];
                if k & PLAIN_HAN == 0 {
                    break; // traditional: below
                }
                mark!(k, (b.len() - rest.len()).wrapping_add(shift));
                rest = tail;
            }
            i = b.len() - rest.len();
            let Some(&x) = b.get(i) else {
                break;
            };
            if x < 0x80 {
                if x >= 0x20 && x != 0x7f {
                    let from = i;
                    i += 1;
                    // The rest of this run of printable ASCII (a phone number, a house number):
                    // eight bytes at a time, the run's end read off the first byte that is not
                    // printable; the last few bytes of the line one at a time.
                    loop {
                        let Some(w) = b[i..].first_chunk::<8>() else {
                            while i < b.len() && (0x20..0x7f).contains(&b[i]) {
                                i += 1;
                            }
                            break;
                        };
                        let other = unprintable(u64::from_le_bytes(*w));
                        if other != 0 {
                            i += (other.trailing_zeros() / 8) as usize;
                            break;
                        }
                        i += 8;
                    }
                    if let Some(r) = runs.get_mut(n_runs) {
                        *r = (
                            from.wrapping_add(shift) as u32,
                            i.wrapping_add(shift) as u32,
                        );
                        n_runs += 1;
                    }
                    continue;
                }
                if !matches!(x, b'\t' | b'\n' | b'\r') {
                    *control = true;
                }
                text.push_str(&input[run..i]);
                text.push(' ');
                i += 1;
                run = i;
                shift = text.len().wrapping_sub(run);
                continue;
            }
            let Some(c) = input[i..].chars().next() else {
                break;
            };
            let mapped = if is_han(c) {
                if self.bit(c) {
                    *traditional = true;
                    Some(self.simplified(c).unwrap_or(c))
                } else {
                    mark!(self.class_of(c as u32), i.wrapping_add(shift));
                    i += c.len_utf8();
                    continue;
                }
            } else {
                self.map_other(c, traditional, control)
            };
            if mapped != Some(c) {
                text.push_str(&input[run..i]);
                if let Some(m) = mapped {
                    mark!(self.class_of(m as u32), text.len());
                    if m.is_ascii_digit() || m == '+' {
                        // A full-width digit or plus sign, now ASCII: a run of its own.
                        if let Some(r) = runs.get_mut(n_runs) {
                            *r = (text.len() as u32, text.len() as u32 + 1);
                            n_runs += 1;
                        }
                    }
                    text.push(m);
                }
                run = i + c.len_utf8();
                shift = text.len().wrapping_sub(run);
            } else {
                mark!(self.class_of(c as u32), i.wrapping_add(shift));
            }
            i += c.len_utf8();
        }
        text.push_str(&input[run..]);
        out.n_first = n_marks;
        out.n_ascii = n_runs;
    }

    /// The `T2S`/`MARK` bits of a code point (none outside the BMP).
    #[inline(always)]
    fn class_of(&self, cp: u32) -> u8 {
        u16::try_from(cp).map_or(0, |x| self.class[slot(u32::from(x))] & (T2S | ANY_MARK))
    }

    fn bit(&self, c: char) -> bool {
        self.class_of(c as u32) & T2S != 0
    }

    /// Non-ASCII, non-Han characters: punctuation and space variants, control and zero-width
    /// characters, full-width forms, and the few traditional characters outside the Han block.
    /// `None` drops the character.
    fn map_other(&self, c: char, traditional: &mut bool, control: &mut bool) -> Option<char> {
        Some(match c {
            '\u{200b}'..='\u{200d}' | '\u{feff}' | '\u{2060}' => return None,
            c if c.is_whitespace() => ' ',
            c if c.is_control() => {
                *control = true;
                ' '
            }
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' => '-',
            '\u{3001}' => ',', // 、
            '\u{3002}' => ',', // 。 ends a field, unlike an ASCII '.' in "3.5号"
            '\u{3010}' | '\u{300c}' | '\u{300e}' => '[',
            '\u{3011}' | '\u{300d}' | '\u{300f}' => ']',
            c if self.bit(c) || c as u32 >= 0x1_0000 => match self.simplified(c) {
                Some(s) => {
                    *traditional = true;
                    s
                }
                None => c,
            },
            c => c,
        })
    }
}

/// Entries of `Normalizer::class`: every BMP code point's [`slot`] and every [`three_byte_slot`].
const CLASS_LEN: usize = 1 << 20;

/// Where a BMP code point's entry is in `Normalizer::class`: at the code point plus 0xE2080,
/// the lead and continuation bits of its three-byte form, so that the entry of a three-byte
/// character xyz is at (x << 12) + (y << 6) + z ([`three_byte_slot`]). Any other three bytes
/// that start a character sum to another place: below 0xE20C0 when the first is ASCII or a
/// two-byte lead (the slots of ASCII code points, which have no entry), from 0xF2080 on when it
/// is a four-byte lead (past the BMP).
#[inline(always)]
fn slot(cp: u32) -> usize {
    (cp + 0xe_2080) as usize
}

/// The [`slot`] of the character whose UTF-8 form starts with the bytes `x, y, z`, if it is
/// three bytes long (see there for the others). The mask changes no sum of valid UTF-8 (at
/// most 0xF807F): it only keeps the index inside the table without a bounds test.
#[inline(always)]
fn three_byte_slot(x: u8, y: u8, z: u8) -> usize {
    ((usize::from(x) << 12) + (usize::from(y) << 6) + usize::from(z)) & (CLASS_LEN - 1)
}

/// Byte classes for the ASCII range: bit 0 = separator, bit 1 = noise; bits 2 and 3 = noise or
/// the first (bit 2) or last (bit 3) byte of '·', the ends `trim_noise` must look at. A table,
/// because these tests run for every byte of every line.
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let seps = b" ,;:|/\\[]()\"'<>{}!?~`=+*^$%&@\t\n\r\x0b\x0c";
    let mut i = 0;
    while i < seps.len() {
        t[seps[i] as usize] = 3;
        i += 1;
    }
    let noise = b"-_.#";
    let mut i = 0;
    while i < noise.len() {
        t[noise[i] as usize] = 2;
        i += 1;
    }
    let mut i = 0;
    while i < 128 {
        if t[i] & 2 != 0 {
            t[i] |= TRIM_FIRST | TRIM_LAST;
        }
        i += 1;
    }
    t[DOT[0] as usize] |= TRIM_FIRST;
    t[DOT[1] as usize] |= TRIM_LAST;
    t
};
const TRIM_FIRST: u8 = 4;
const TRIM_LAST: u8 = 8;

/// Whether a byte is an ASCII field separator (see [`is_separator`]).
pub(crate) fn is_separator_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & 1 != 0
}

/// Whether a byte is ASCII noise (separators plus "-_.#"); see [`is_noise`].
pub(crate) fn is_noise_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & 2 != 0
}

/// Per byte of a word, exactly: the high bit set when the byte is not printable ASCII
/// (0x20..=0x7e).
#[inline(always)]
fn unprintable(x: u64) -> u64 {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES * 0x80;
    // On the low seven bits of each byte, without carries between bytes: + 0x60 reaches 0x80
    // iff they are ≥ 0x20, and + 1 iff they are 0x7f.
    let low = x & (ONES * 0x7f);
    (x | !(low + ONES * 0x60) | (low + ONES)) & HIGH
}

/// `s` without noise (see [`is_noise`]) at either end. Works on bytes: in normalised text every
/// noise character is ASCII except the middle dot '·'.
/// The usual case, nothing to trim, is tested where it is called; the rest is a call.
#[inline(always)]
pub(crate) fn trim_noise(s: &str) -> &str {
    let b = s.as_bytes();
    // ('·' starts with 0xC2 and ends with 0xB7.)
    if let (Some(&first), Some(&last)) = (b.first(), b.last())
        && BYTE_CLASS[first as usize] & TRIM_FIRST == 0
        && BYTE_CLASS[last as usize] & TRIM_LAST == 0
    {
        return s;
    }
    trim_noise_ends(s)
}

const DOT: &[u8] = "·".as_bytes();

/// [`trim_noise`] when there is something to trim.
#[inline(never)]
fn trim_noise_ends(s: &str) -> &str {
    const SPACES: [u8; 8] = [b' '; 8];
    let b = s.as_bytes();
    let (mut i, mut j) = (0, b.len());
    // Blanked name and phone spans leave long runs of spaces: skip them eight at a time.
    while b[i..j].first_chunk::<8>() == Some(&SPACES) {
        i += 8;
    }
    while b[i..j].last_chunk::<8>() == Some(&SPACES) {
        j -= 8;
    }
    while i < j {
        if is_noise_byte(b[i]) {
            i += 1;
        } else if b[i..j].starts_with(DOT) {
            i += DOT.len();
        } else {
            break;
        }
    }
    while j > i {
        if is_noise_byte(b[j - 1]) {
            j -= 1;
        } else if b[i..j].ends_with(DOT) {
            j -= DOT.len();
        } else {
            break;
        }
    }
    &s[i..j]
}

/// Characters that separate fields but carry no address content.
pub(crate) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            ' ' | ','
                | ';'
                | ':'
                | '|'
                | '/'
                | '\\'
                | '['
                | ']'
                | '('
                | ')'
                | '"'
                | '\''
                | '<'
                | '>'
                | '{'
                | '}'
                | '!'
                | '?'
                | '~'
                | '`'
                | '='
                | '+'
                | '*'
                | '^'
                | '$'
                | '%'
                | '&'
                | '@'
        ) || c.is_ascii_whitespace();
    }
    // Normalised text has no other whitespace left; Han characters are never separators.
    !is_han(c) && c.is_whitespace()
}

/// Characters that may sit between two levels of an address without ending it ("浙江-杭州").
pub(crate) fn is_noise(c: char) -> bool {
    is_separator(c) || matches!(c, '-' | '_' | '.' | '#' | '·')
}

/// A CJK unified ideograph (the basic block and extension A are all that names use).
pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_trimming_agrees_with_a_plain_trim() {
        for t in [
            "",
            "·",
            "张三",
            "·张三·",
            " 张三 ",
            "#12-",
            "路·",
            "·路",
            "a",
            "--",
            "路 ·#",
            "é",
            "·é",
        ] {
            assert_eq!(trim_noise(t), t.trim_matches(is_noise), "{t:?}");
        }
    }

    #[test]
    fn every_digit_and_plus_sign_lies_in_a_recorded_ascii_run() {
        let n = Normalizer::load([vec!['浙'], vec!['收']]);
        let mut out = Normalized::default();
        for input in [
            "",
            "张三 13812345678 浙江杭州西湖区文三路90号",
            "１３８１２３４５６７８ 浙江",
            "138１２３45678",
            "電話:+86 138-0013-8000\u{1}號",
            "0571转88886666\t(0571)88886666",
            "a\u{200b}1\u{3000}2\u{ff0b}3",
        ] {
            n.normalize(input, &mut out);
            let runs = &out.ascii[..out.n_ascii];
            assert!(
                runs.windows(2).all(|w| w[0].1 <= w[1].0),
                "{input:?}: {runs:?}"
            );
            for (i, b) in out.text.bytes().enumerate() {
                if b.is_ascii_digit() || b == b'+' {
                    assert!(
                        runs.iter()
                            .any(|&(s, e)| (s as usize..e as usize).contains(&i)),
                        "{input:?}: byte {i} of {:?} is in none of {runs:?}",
                        out.text
                    );
                }
            }
        }
    }

    #[test]
    fn only_a_han_character_reaches_a_han_class_entry() {
        // Every three-byte character lands on its own slot.
        for cp in (0x800..0x1_0000).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let [x, y, z] = *cp.encode_utf8(&mut buf).as_bytes() else {
                panic!("{cp:?} is three bytes long");
            };
            assert_eq!(three_byte_slot(x, y, z), slot(cp as u32), "{cp:?}");
        }
        // Any other character start, whatever follows it (continuation bytes after a lead,
        // anything after ASCII or a two-byte character), stays clear of the Han block's slots.
        let han = slot(0x4e00)..=slot(0x9fff);
        for x in (0u8..0x80).chain(0xc2..0xe0).chain(0xf0..0xf5) {
            for y in 0..=255u8 {
                for z in [0u8, 0x41, 0x7f, 0x80, 0xbf, 0xc2, 0xe4, 0xe9, 0xf4, 0xff] {
                    let at = three_byte_slot(x, y, z);
                    assert!(!han.contains(&at), "{x:#x} {y:#x} {z:#x} -> {at:#x}");
                }
            }
        }
    }

    #[test]
    fn unprintable_bytes_are_found_byte_by_byte() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut w = *b"abc 1234";
                w[at] = b;
                let want = w.iter().enumerate().fold(0u64, |m, (k, &c)| {
                    m | u64::from(!(0x20..=0x7e).contains(&c)) << (8 * k + 7)
                });
                assert_eq!(unprintable(u64::from_le_bytes(w)), want, "{b:#x} at {at}");
            }
        }
    }
}
