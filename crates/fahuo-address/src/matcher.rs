//! Leftmost-longest search for a fixed set of names (division names, field labels) in text.
//!
//! Every pattern starts with two three-byte characters (Han), so a pattern can only start where
//! the text's next six bytes equal its first six. The matcher keeps one bucket per such
//! two-character prefix in a small open-addressed table; a search position costs one table
//! probe, and only the few patterns of a matching bucket are compared, a word at a time. This replaced a general
//! Aho-Corasick automaton, which took a quarter of the parse time and most of the load time.

/// A pattern set compiled for [`Matcher::find`] and [`Matcher::anchored`].
#[derive(Debug)]
pub(crate) struct Matcher {
    patterns: Vec<&'static str>,
    /// Open-addressed table, `slots.len()` a power of two: (two-character key, start and end
    /// of its bucket in `order`). Key 0 marks an empty slot (no real key is 0).
    slots: Vec<(u64, u32, u32)>,
    /// Patterns grouped by bucket, longest first within each bucket.
    order: Vec<Entry>,
    shift: u32,
    /// One bit per BMP code point (bit 0x1_0000 stands for all others): set when some pattern
    /// starts with it. Most positions of a line fail this test and never reach the table.
    first: Vec<u64>,
}

/// One pattern in a bucket, with its first 16 bytes as two words (zero-padded) and the masks
/// that select its bytes from the text's first 16, so that the usual names (two to five
/// characters) are compared in two masked word operations, not a memcmp call.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    len: u32,
    w0: u64,
    w1: u64,
    m0: u64,
    m1: u64,
}

/// Byte length of the bucket key: two three-byte characters.
const KEY_LEN: usize = 6;

/// The first 16 bytes of `b` as two little-endian words, zero-padded.
#[inline(always)]
fn words(b: &[u8]) -> (u64, u64) {
    (word(b), word(b.get(8..).unwrap_or_default()))
}

/// The first 8 bytes of `b` as a little-endian word, zero-padded. A short tail is read as two
/// overlapping halves (the overlap has the same bytes in both, so or-ing them is exact): a
/// variable-length copy into a buffer compiles to a memcpy call, and a byte loop is slower.
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    if let Some(w) = b.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    let n = b.len();
    if let (Some(lo), Some(hi)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        return u64::from(u32::from_le_bytes(*lo))
            | u64::from(u32::from_le_bytes(*hi)) << (8 * (n - 4));
    }
    if let (Some(lo), Some(hi)) = (b.first_chunk::<2>(), b.last_chunk::<2>()) {
        return u64::from(u16::from_le_bytes(*lo))
            | u64::from(u16::from_le_bytes(*hi)) << (8 * (n - 2));
    }
    b.first().map_or(0, |&c| u64::from(c))
}

/// A mask of the low `n` bytes of a word (`n` ≥ 8 gives all of it).
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 { !0 } else { (1u64 << (8 * n)) - 1 }
}

/// A match: pattern id (index into the slice given to [`Matcher::new`]) and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
}

/// Byte length of the UTF-8 sequence that `lead` starts.
#[inline(always)]
fn char_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// The bucket key of a pattern: its first two characters, which must both be three bytes long.
fn key(p: &str) -> u64 {
    let b = p.as_bytes();
    assert!(
        b.len() >= KEY_LEN && char_len(b[0]) == 3 && char_len(b[3]) == 3,
        "patterns start with two three-byte characters: {p:?}"
    );
    words(b).0 & low_bytes(KEY_LEN)
}

/// The code point starting at `b[0]` (a character boundary of valid UTF-8), decoded by hand:
/// this runs for every character the search passes over.
#[inline(always)]
fn code_point(b: &[u8]) -> u32 {
    let x = u32::from(b[0]);
    match b[0] {
        0x00..=0x7f => x,
        0xc0..=0xdf => ((x & 0x1f) << 6) | u32::from(b[1] & 0x3f),
        0xe0..=0xef => ((x & 0x0f) << 12) | (u32::from(b[1] & 0x3f) << 6) | u32::from(b[2] & 0x3f),
        _ => 0x1_0000, // beyond the BMP: always let through to the table (see `first`)
    }
}

impl Matcher {
    /// Compile `patterns`; each must start with two three-byte characters (Han names do).
    pub fn new(patterns: &[&'static str]) -> Self {
        let mut keyed: Vec<(u64, u32)> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (key(p), i as u32))
            .collect();
        // Group by key, longest first: the first pattern of a bucket that fits is the longest.
        keyed.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then(
                patterns[b.1 as usize]
                    .len()
                    .cmp(&patterns[a.1 as usize].len()),
            )
        });
        let buckets = keyed.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let bits = (buckets * 2).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![(0u64, 0u32, 0u32); 1 << bits];
        let shift = 64 - bits;
        let mut i = 0;
        while i < keyed.len() {
            let k = keyed[i].0;
            let mut j = i;
            while j < keyed.len() && keyed[j].0 == k {
                j += 1;
            }
            let mask = slots.len() - 1;
            let mut h = Self::hash(k, shift);
            while slots[h].0 != 0 {
                h = (h + 1) & mask;
            }
            slots[h] = (k, i as u32, j as u32);
            i = j;
        }
        let mut first = vec![0u64; 0x1_0000 / 64 + 1];
        for p in patterns {
            let cp = code_point(p.as_bytes()).min(0x1_0000) as usize;
            first[cp / 64] |= 1 << (cp % 64);
        }
        Matcher {
            first,
            patterns: patterns.to_vec(),
            slots,
            order: keyed
                .into_iter()
                .map(|(_, id)| {
                    let p = patterns[id as usize].as_bytes();
                    let (w0, w1) = words(p);
                    Entry {
                        id,
                        len: p.len() as u32,
                        w0,
                        w1,
                        m0: low_bytes(p.len()),
                        m1: low_bytes(p.len().saturating_sub(8)),
                    }
                })
                .collect(),
            shift,
        }
    }

    fn hash(k: u64, shift: u32) -> usize {
        (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize
    }

    /// The longest pattern that `s` starts with: (pattern id, byte length).
    #[inline(always)]
    pub fn anchored(&self, s: &str) -> Option<(usize, usize)> {
        self.anchored_bytes(s.as_bytes())
    }

    /// [`Self::anchored`] on the bytes of a text from a character boundary on (the searches
    /// below slice bytes: slicing the text would test the boundary at every probe).
    #[inline(always)]
    pub fn anchored_bytes(&self, b: &[u8]) -> Option<(usize, usize)> {
        if b.len() < KEY_LEN {
            return None;
        }
        // The first 16 bytes serve both the bucket key and the comparison with each pattern of
        // the bucket. Six bytes equal to a key are two whole characters, as `b` starts at a
        // character boundary.
        let t0 = word(b);
        let k = t0 & low_bytes(KEY_LEN);
        let mask = self.slots.len() - 1;
        let mut h = Self::hash(k, self.shift);
        let bucket = loop {
            let (sk, a, e) = self.slots[h];
            if sk == k {
                break &self.order[a as usize..e as usize];
            }
            if sk == 0 {
                return None;
            }
            h = (h + 1) & mask;
        };
        // The next eight bytes only now: most probes end at an empty slot.
        let t1 = word(b.get(8..).unwrap_or_default());
        bucket
            .iter()
            .find(|e| {
                let len = e.len as usize;
                len <= b.len()
                    && t0 & e.m0 == e.w0
                    && t1 & e.m1 == e.w1
                    && (len <= 16 || b[16..len] == self.patterns[e.id as usize].as_bytes()[16..])
            })
            .map(|e| (e.id as usize, e.len as usize))
    }

    /// The leftmost match in `text` starting at or after byte `from` (a character boundary),
    /// the longest one at that position.
    ///
    /// (Built into its callers up to the length test, which often ends it: a name token is
    /// two or three characters.)
    #[inline(always)]
    pub fn find(&self, text: &str, from: usize) -> Option<Match> {
        // No pattern is shorter than a key.
        if from + KEY_LEN > text.len() {
            return None;
        }
        self.find_long(text, from)
    }

    /// [`Self::find`] when a key fits after `from`.
    #[inline(never)]
    fn find_long(&self, text: &str, from: usize) -> Option<Match> {
        let b = text.as_bytes();
        let mut pos = from;
        // No pattern is shorter than a key.
        while pos + KEY_LEN <= b.len() {
            let cp = code_point(&b[pos..]) as usize;
            if self.first[cp / 64] & (1 << (cp % 64)) != 0
                && let Some((pattern, len)) = self.anchored_bytes(&b[pos..])
            {
                return Some(Match {
                    pattern,
                    start: pos,
                    end: pos + len,
                });
            }
            pos += char_len(b[pos]);
        }
        None
    }

    /// [`Self::find`] looking only at the byte offsets in `marks` (ascending): the positions of
    /// every character in `text` that starts some pattern, as normalisation recorded them
    /// (characters overwritten with spaces since then are skipped). `next` is a cursor into
    /// `marks` for a left-to-right search: marks before it and before `from` are skipped, and
    /// it is left just past the mark of the match. Inlined: it is called a few times per line,
    /// and its set-up outweighed its loop.
    #[inline(always)]
    pub fn find_marked(
        &self,
        text: &str,
        marks: &[u32],
        next: &mut usize,
        from: usize,
    ) -> Option<Match> {
        let b = text.as_bytes();
        while let Some(&m) = marks.get(*next) {
            *next += 1;
            let pos = m as usize;
            // A mark is a non-ASCII character; a space there now means it was blanked.
            if pos >= from
                && b[pos] >= 0x80
                && let Some((pattern, len)) = self.anchored_bytes(&b[pos..])
            {
                return Some(Match {
                    pattern,
                    start: pos,
                    end: pos + len,
                });
            }
        }
        None
    }

    /// The bucket key of the start of `s` (its first six bytes), if `s` is long enough for one:
    /// a pattern can only match `s` if this is some pattern's key.
    pub fn key_of(s: &[u8]) -> Option<u64> {
        s.first_chunk::<KEY_LEN>()
            .map(|_| word(s) & low_bytes(KEY_LEN))
    }

    /// The bucket key of a pattern (see [`Self::key_of`]).
    pub fn pattern_key(p: &str) -> u64 {
        key(p)
    }

    /// The first characters of the patterns.
    pub fn first_chars(&self) -> impl Iterator<Item = char> + '_ {
        self.patterns.iter().filter_map(|p| p.chars().next())
    }

    /// Non-overlapping leftmost-longest matches, left to right (the parser walks them by
    /// hand with [`Self::find`]; kept for the tests).
    #[cfg(test)]
    pub fn find_iter<'a>(&'a self, text: &'a str) -> impl Iterator<Item = Match> + 'a {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let m = self.find(text, pos)?;
            pos = m.end;
            Some(m)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_words_are_zero_padded() {
        let b: Vec<u8> = (1..=9).collect();
        for n in 0..=9 {
            let plain = b[..n.min(8)]
                .iter()
                .enumerate()
                .fold(0u64, |x, (i, &c)| x | u64::from(c) << (8 * i));
            assert_eq!(word(&b[..n]), plain, "{n}");
        }
    }

    #[test]
    fn leftmost_then_longest() {
        let m = Matcher::new(&["杭州", "杭州市", "州市西湖", "西湖区", "西湖"]);
        let text = "浙江杭州市西湖区";
        let found: Vec<_> = m.find_iter(text).map(|m| m.pattern).collect();
        assert_eq!(found, vec![1, 3]);
        assert_eq!(m.anchored("西湖区1号"), Some((3, "西湖区".len())));
        assert_eq!(m.anchored("湖区"), None);
        assert_eq!(m.find("a杭州", 0).map(|m| m.start), Some(1));
        assert_eq!(m.find("杭", 0), None);
    }
}
