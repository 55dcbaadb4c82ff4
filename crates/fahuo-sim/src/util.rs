//! Small helpers shared by the emulators: digests, a seeded PRNG, time formatting, PII ciphers.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

/// Lowercase hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex(&Sha1::digest(data))
}

pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac accepts any key length");
    mac.update(data);
    hex(&mac.finalize().into_bytes())
}

/// Compare two ASCII strings without an early exit, so signature checks do not leak timing.
pub fn ct_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// SplitMix64: tiny, fast and fully determined by its seed, which is all the generator needs
/// (reproducible traffic for a given `--seed`), with no dependency whose stream could change.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..hi` (returns `lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo) as u64) as i64
        }
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in out.iter_mut() {
            *b = self.next_u64() as u8;
        }
        out
    }
}

pub fn real_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds to `YYYY-MM-DD HH:MM:SS` in Beijing time (UTC+8), the form Chinese APIs print.
pub fn fmt_cn(secs: i64) -> String {
    let t = secs + 8 * 3600;
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` (Beijing time) back to unix seconds.
pub fn parse_cn(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - 8 * 3600)
}

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// The emulators' own PII cipher (AES-128-CBC, PKCS#7). The platforms' real ciphers are secret;
/// all an adapter may rely on is that the text is opaque and only the decrypt call reveals it.
/// The order id is sealed inside, so decrypting with the wrong order (`auth_id`/`dataTag`) fails.
#[derive(Clone)]
pub struct PiiCipher {
    key: [u8; 16],
}

impl PiiCipher {
    pub fn new(secret: &str) -> Self {
        let digest = Md5::digest(format!("fahuo-sim-pii:{secret}").as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest);
        PiiCipher { key }
    }

    /// Returns base64 ciphertext; the IV (derived from tag and text) is prepended before encoding.
    pub fn seal(&self, tag: &str, plain: &str) -> String {
        let iv_full = Md5::digest(format!("{tag}\u{1}{plain}\u{1}iv").as_bytes());
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&iv_full);
        let msg = format!("{tag}\u{1}{plain}");
        let ct = Aes128CbcEnc::new(&self.key.into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(msg.as_bytes());
        let mut out = iv.to_vec();
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    /// Reverses [`seal`](Self::seal); `None` when the text is not ours or belongs to another tag.
    pub fn open(&self, tag: &str, b64: &str) -> Option<String> {
        let raw = B64.decode(b64).ok()?;
        if raw.len() < 32 || raw.len() % 16 != 0 {
            return None;
        }
        let (iv, ct) = raw.split_at(16);
        let mut iv_arr = [0u8; 16];
        iv_arr.copy_from_slice(iv);
        let pt = Aes128CbcDec::new(&self.key.into(), &iv_arr.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .ok()?;
        let s = String::from_utf8(pt).ok()?;
        let (t, v) = s.split_once('\u{1}')?;
        (t == tag).then(|| v.to_string())
    }

    /// A stable "search index" for a value (same value, same index), like the platforms' own.
    pub fn index(&self, plain: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("hmac accepts any key length");
        mac.update(plain.as_bytes());
        B64.encode(&mac.finalize().into_bytes()[..12])
    }
}

/// Masks a name the way the platforms show it: first character kept, the rest `*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

/// Masks a phone number: first 3 and last 4 digits kept.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    if digits.len() <= 7 {
        return "*".repeat(digits.len());
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks a street address: runs of digits and latin letters become `**` (Xiaohongshu's rule).
pub fn mask_address(addr: &str) -> String {
    let mut out = String::with_capacity(addr.len());
    let mut in_run = false;
    for c in addr.chars() {
        if c.is_ascii_alphanumeric() || ('０'..='９').contains(&c) {
            if !in_run {
                out.push_str("**");
                in_run = true;
            }
        } else {
            in_run = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cn_time_round_trips() {
        // 2021-02-05 17:46:19 +08:00 is 1612518379, the timestamp in Xiaohongshu's signing example.
        assert_eq!(fmt_cn(1_612_518_379), "2021-02-05 17:46:19");
        assert_eq!(parse_cn("2021-02-05 17:46:19"), Some(1_612_518_379));
        assert_eq!(parse_cn("2021-02-05T17:46:19"), None);
    }

    #[test]
    fn digests_match_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pii_cipher_is_bound_to_its_tag() {
        let c = PiiCipher::new("s");
        let ct = c.seal("order-1", "张三");
        assert_eq!(c.open("order-1", &ct).as_deref(), Some("张三"));
        assert_eq!(c.open("order-2", &ct), None);
        assert_ne!(ct, c.seal("order-2", "张三"));
        assert_eq!(c.index("张三"), c.index("张三"));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_address("人民路12号3栋B座"), "人民路**号**栋**座");
    }
}
