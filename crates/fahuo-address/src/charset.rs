//! Sets of BMP characters as bitmaps built at compile time: one load and one bit test per
//! question, for the character classes asked about for every character of a line.

/// A set of characters of the Basic Multilingual Plane (others are never members).
pub(crate) struct CharSet([u64; 1024]);

impl CharSet {
    /// The set of the characters of `s`.
    pub const fn of(s: &str) -> Self {
        let b = s.as_bytes();
        let mut bits = [0u64; 1024];
        let mut i = 0;
        while i < b.len() {
            // Decode one UTF-8 sequence (const fns cannot iterate `chars()`).
            let (c, len) = match b[i] {
                x if x < 0x80 => (x as usize, 1),
                x if x < 0xe0 => (((x as usize & 0x1f) << 6) | (b[i + 1] as usize & 0x3f), 2),
                x if x < 0xf0 => (
                    ((x as usize & 0x0f) << 12)
                        | ((b[i + 1] as usize & 0x3f) << 6)
                        | (b[i + 2] as usize & 0x3f),
                    3,
                ),
                _ => panic!("CharSet holds BMP characters only"),
            };
            bits[c / 64] |= 1 << (c % 64);
            i += len;
        }
        CharSet(bits)
    }

    #[inline(always)]
    pub fn contains(&self, c: char) -> bool {
        self.contains_code(c as u32)
    }

    /// [`Self::contains`] for a code point not yet made a `char` (any `u32`).
    #[inline(always)]
    pub fn contains_code(&self, c: u32) -> bool {
        let c = c as usize;
        c < 0x1_0000 && self.0[c / 64] & (1 << (c % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_non_members() {
        static SET: CharSet = CharSet::of("a·路镇");
        for c in ['a', '·', '路', '镇'] {
            assert!(SET.contains(c), "{c}");
        }
        for c in ['b', '街', '𠀀', '\0'] {
            assert!(!SET.contains(c), "{c}");
        }
        assert!(SET.contains_code('镇' as u32));
        assert!(!SET.contains_code(0x1_0000 + '镇' as u32));
        assert!(!SET.contains_code(u32::MAX));
    }
}
