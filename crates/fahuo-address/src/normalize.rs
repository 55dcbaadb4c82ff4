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
        for (n, c) in input.chars().enumerate() {
            if n >= MAX_CHARS {
                out.truncated = true;
                break;
            }
            if is_han(c) {
                // The common case: a Han character, simplified already unless the bitmap says so.
                let n = c as usize;
                if self.has_t2s[n / 64] & (1 << (n % 64)) == 0 {
                    out.text.push(c);
                } else if let Some(&s) = self.t2s.get(&c) {
                    out.traditional = true;
                    out.text.push(s);
                } else {
                    out.text.push(c);
                }
                continue;
            }
            let c = match c {
                '\t' | '\n' | '\r' | '\u{3000}' | '\u{a0}' => ' ',
                '\u{200b}'..='\u{200d}' | '\u{feff}' | '\u{2060}' => continue,
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
                c if (c as u32) < 0x80 => c,
                c if (c as usize) < 0x1_0000
                    && self.has_t2s[c as usize / 64] & (1 << (c as usize % 64)) == 0 =>
                {
                    c
                }
                c => match self.t2s.get(&c) {
                    Some(&s) => {
                        out.traditional = true;
                        s
                    }
                    None => c,
                },
            };
            out.text.push(c);
        }
        out
    }
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
    // Han characters are the bulk of every address and never separators: answer fast.
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
