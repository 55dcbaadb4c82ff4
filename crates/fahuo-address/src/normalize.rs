//! Text clean-up before parsing: traditional → simplified, full-width → half-width, control and
//! zero-width characters, dash variants, and a length cap.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hasher for `char` keys: the t2s lookup runs for every non-ASCII character,
/// and SipHash was a tenth of the parse time.
#[derive(Default)]
pub(crate) struct CharHasher(u64);

impl Hasher for CharHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type CharMap = HashMap<char, char, BuildHasherDefault<CharHasher>>;

const T2S_TSV: &str = include_str!("../data/t2s.tsv");

/// Inputs longer than this (in characters) are cut: no real address is that long, and the cap keeps
/// the worst case of a pasted document bounded.
pub const MAX_CHARS: usize = 512;

/// Traditional → simplified single-character table (jionlp 1.5.31, filtered; see data/SOURCES.md).
#[derive(Debug)]
pub(crate) struct Normalizer {
    t2s: CharMap,
    /// One bit per BMP code point: set when the character has a t2s entry. Most characters of an
    /// address are already simplified, so this skips nearly all map lookups.
    has_t2s: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Normalized {
    pub text: String,
    pub traditional: bool,
    pub control: bool,
    pub truncated: bool,
}

impl Normalizer {
    pub fn load() -> Self {
        let mut t2s = CharMap::with_capacity_and_hasher(3500, Default::default());
        for line in T2S_TSV.lines() {
            let mut it = line.split('\t');
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                let (mut a, mut b) = (a.chars(), b.chars());
                if let (Some(a), None, Some(b), None) = (a.next(), a.next(), b.next(), b.next()) {
                    t2s.insert(a, b);
                }
            }
        }
        let mut has_t2s = vec![0u64; 0x1_0000 / 64];
        for &c in t2s.keys() {
            let n = c as usize;
            if n < 0x1_0000 {
                has_t2s[n / 64] |= 1 << (n % 64);
            }
        }
        Normalizer { t2s, has_t2s }
    }

    pub fn normalize(&self, input: &str) -> Normalized {
        let mut out = Normalized {
            text: String::with_capacity(input.len()),
            ..Default::default()
        };
        // Unchanged characters are copied as whole runs (most of an address needs no change);
        // only characters that map to something else are handled one by one. The scan works on
        // bytes: plain ASCII and already-simplified Han characters (the bulk) never get decoded
        // into `char`s.
        let b = input.as_bytes();
        let mut run = 0;
        let mut end = input.len();
        let mut i = 0;
        let mut n = 0;
        while i < b.len() {
            if n >= MAX_CHARS {
                out.truncated = true;
                end = i;
                break;
            }
            n += 1;
            let x = b[i];
            if x < 0x80 {
                if x >= 0x20 && x != 0x7f {
                    i += 1;
                    continue;
                }
                if !matches!(x, b'\t' | b'\n' | b'\r') {
                    out.control = true;
                }
                out.text.push_str(&input[run..i]);
                out.text.push(' ');
                i += 1;
                run = i;
                continue;
            }
            if (0xe4..=0xe9).contains(&x) {
                // Three-byte sequence in U+4000..U+9FFF: decode the code point by hand.
                let cp = (u32::from(x & 0x0f) << 12)
                    | (u32::from(b[i + 1] & 0x3f) << 6)
                    | u32::from(b[i + 2] & 0x3f);
                if (0x4e00..=0x9fff).contains(&cp) && !self.bit_cp(cp) {
                    i += 3;
                    continue;
                }
            }
            let Some(c) = input[i..].chars().next() else {
                break;
            };
            let mapped = if is_han(c) {
                if self.bit(c) {
                    out.traditional = true;
                    Some(self.t2s.get(&c).copied().unwrap_or(c))
                } else {
                    i += c.len_utf8();
                    continue;
                }
            } else {
                self.map_other(c, &mut out)
            };
            if mapped != Some(c) {
                out.text.push_str(&input[run..i]);
                if let Some(m) = mapped {
                    out.text.push(m);
                }
                run = i + c.len_utf8();
            }
            i += c.len_utf8();
        }
        out.text.push_str(&input[run..end.max(run)]);
        out
    }

    fn bit_cp(&self, n: u32) -> bool {
        let n = n as usize;
        n < 0x1_0000 && self.has_t2s[n / 64] & (1 << (n % 64)) != 0
    }

    fn bit(&self, c: char) -> bool {
        let n = c as usize;
        n < 0x1_0000 && self.has_t2s[n / 64] & (1 << (n % 64)) != 0
    }

    /// Non-ASCII, non-Han characters: punctuation and space variants, control and zero-width
    /// characters, full-width forms, and the few traditional characters outside the Han block.
    /// `None` drops the character.
    fn map_other(&self, c: char, out: &mut Normalized) -> Option<char> {
        Some(match c {
            '\u{200b}'..='\u{200d}' | '\u{feff}' | '\u{2060}' => return None,
            c if c.is_whitespace() => ' ',
            c if c.is_control() => {
                out.control = true;
                ' '
            }
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' => '-',
            '\u{3001}' => ',', // 、
            '\u{3002}' => ',', // 。 ends a field, unlike an ASCII '.' in "3.5号"
            '\u{3010}' | '\u{300c}' | '\u{300e}' => '[',
            '\u{3011}' | '\u{300d}' | '\u{300f}' => ']',
            c if self.bit(c) || c as u32 >= 0x1_0000 => match self.t2s.get(&c) {
                Some(&s) => {
                    out.traditional = true;
                    s
                }
                None => c,
            },
            c => c,
        })
    }
}

/// Byte classes for the ASCII range: bit 0 = separator, bit 1 = noise. A table, because these
/// tests run for every byte of every line.
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
    t
};

/// Whether a byte is an ASCII field separator (see [`is_separator`]).
pub(crate) fn is_separator_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & 1 != 0
}

/// Whether a byte is ASCII noise (separators plus "-_.#"); see [`is_noise`].
pub(crate) fn is_noise_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & 2 != 0
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
