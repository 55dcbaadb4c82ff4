//! Phone numbers inside an address line: mainland mobiles, landlines with area code and
//! extension, platform virtual numbers (mobile + extension) and 400/800 service numbers.

use compact_str::CompactString;
use serde::Serialize;
use smallvec::SmallVec;

/// What kind of number was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// 11 digits, 1[3-9]xxxxxxxxx.
    Mobile,
    /// Area code + 7–8 digits, optionally "-extension".
    Landline,
    /// A platform privacy number: a mobile number plus an extension (13812345678-1234).
    Virtual,
    /// 400/800 service number.
    Service,
}

/// A phone number in canonical form: digits with '-' between area code, number and extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone {
    pub number: CompactString,
    pub kind: PhoneKind,
}

/// The phones of one line, inline.
pub(crate) type Phones = SmallVec<[Found; 2]>;

/// A phone found in the text: the number and the byte range it occupied.
#[derive(Debug)]
pub(crate) struct Found {
    pub phone: Phone,
    pub start: usize,
    pub end: usize,
}

/// Separators allowed between digit groups of one number.
/// Whether `bytes[s..e]` is a run of fewer than seven digits followed by a character that joins
/// no digit group ('号', not '转' or '分机' or an ASCII digit): a house or room number, most
/// runs of a line, which `find_phones` would pass over.
#[inline(always)]
fn short_number(bytes: &[u8], s: usize, e: usize) -> bool {
    e - s < 7
        && bytes[s..e].iter().all(u8::is_ascii_digit)
        && match bytes.get(e) {
            None => true,
            Some(&b) if b < 0x80 => false,
            Some(&b) if b == ZHUAN[0] => !bytes[e..].starts_with(ZHUAN),
            Some(&b) if b == FENJI[0] => !bytes[e..].starts_with(FENJI),
            Some(_) => true,
        }
}

/// The two non-ASCII group separators.
const ZHUAN: &[u8] = "转".as_bytes();
const FENJI: &[u8] = "分机".as_bytes();

/// (Inlined: it runs after every digit group, and the call cost more than the test.)
#[inline(always)]
fn group_sep(s: &str) -> Option<(usize, bool)> {
    // (byte length, may introduce an extension); dispatch on the first byte, as this runs after
    // every digit group of every line.
    let b = s.as_bytes();
    match *b.first()? {
        b'-' | b'#' => Some((1, true)),
        b' ' | b'(' | b')' => Some((1, false)),
        b'e' if b.starts_with(b"ext") => Some((3, true)),
        0xe8 if s.starts_with('转') => Some(('转'.len_utf8(), true)),
        0xe5 if s.starts_with("分机") => Some(("分机".len(), true)),
        _ => None,
    }
}

struct Group<'a> {
    digits: &'a str,
    start: usize,
    end: usize,
    /// Whether the separator before this group can introduce an extension.
    ext_sep: bool,
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

fn strip_country(d: &str) -> &str {
    for p in ["0086", "86"] {
        if let Some(rest) = d.strip_prefix(p)
            && is_mobile(rest)
        {
            return rest;
        }
    }
    d
}

/// Area code length of a landline written without separators (010, 02x are 3 digits).
fn area_len(d: &str) -> usize {
    if d.starts_with("01") || d.starts_with("02") {
        3
    } else {
        4
    }
}

/// Room for an extension ("-" and up to six digits) after a number, so that appending one does
/// not reallocate.
const EXT_ROOM: usize = 7;

/// The parts joined by '-', in one allocation with room for an extension (`format!` cost a
/// formatter run and a reallocation).
fn dashed(parts: &[&str]) -> CompactString {
    let len: usize = parts.iter().map(|p| p.len() + 1).sum();
    let mut s = CompactString::with_capacity(len - 1 + EXT_ROOM);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push('-');
        }
        s.push_str(p);
    }
    s
}

/// [`dashed`] for a single part (a mobile number): the copy alone (inline, with room for an
/// extension: see [`CompactString`]).
fn undashed(d: &str) -> CompactString {
    CompactString::from(d)
}

fn landline(d: &str) -> Option<CompactString> {
    if !d.starts_with('0') || d.starts_with("00") {
        return None;
    }
    let a = area_len(d);
    let rest = d.len().checked_sub(a)?;
    if (7..=8).contains(&rest) {
        Some(dashed(&[&d[..a], &d[a..]]))
    } else {
        None
    }
}

/// Try to read one number from `groups[i..]`; returns the phone and the number of groups used.
fn classify(groups: &[Group<'_>]) -> Option<(Phone, usize)> {
    // The digits of groups[..=k], in a stack buffer (no allocation per digit run). One group
    // (the usual case) is a slice of the text already, so the buffer is only filled, and read
    // back as text, once a second group joins.
    let mut buf = [0u8; 32];
    let mut len = 0;
    for k in 0..groups.len().min(4) {
        let g = groups[k].digits.as_bytes();
        if len + g.len() > buf.len() {
            break;
        }
        if k == 1 {
            buf[..len].copy_from_slice(groups[0].digits.as_bytes());
        }
        if k > 0 {
            buf[len..len + g.len()].copy_from_slice(g);
        }
        len += g.len();
        let joined = if k == 0 {
            groups[0].digits
        } else {
            std::str::from_utf8(&buf[..len]).unwrap_or_default()
        };
        let d = strip_country(joined);
        let found = if is_mobile(d) {
            Some(Phone {
                number: undashed(d),
                kind: PhoneKind::Mobile,
            })
        } else if (d.starts_with("400") || d.starts_with("800")) && d.len() == 10 {
            Some(Phone {
                number: dashed(&[&d[..3], &d[3..6], &d[6..]]),
                kind: PhoneKind::Service,
            })
        } else if k > 0 && groups[0].digits.starts_with('0') && groups[0].digits.len() <= 4 {
            // Written with a separator after the area code: trust the writer's split.
            let a = groups[0].digits.len();
            let rest = joined.len() - a;
            ((3..=4).contains(&a) && (7..=8).contains(&rest)).then(|| Phone {
                number: dashed(&[&joined[..a], &joined[a..]]),
                kind: PhoneKind::Landline,
            })
        } else {
            landline(d).map(|number| Phone {
                number,
                kind: PhoneKind::Landline,
            })
        };
        if let Some(mut phone) = found {
            let mut used = k + 1;
            if let Some(next) = groups.get(used)
                && next.ext_sep
                && (1..=6).contains(&next.digits.len())
                && phone.kind != PhoneKind::Service
            {
                phone.number.push('-');
                phone.number.push_str(next.digits);
                if phone.kind == PhoneKind::Mobile {
                    phone.kind = PhoneKind::Virtual;
                }
                used += 1;
            }
            return Some((phone, used));
        }
        if joined.len() > 13 {
            break;
        }
    }
    None
}

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES * 0x80;

/// The eight bytes from `i` (< `bytes.len()`) as a little-endian word, zeros past the end.
#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    match (bytes[i..].first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(w), _) => u64::from_le_bytes(*w),
        // The last eight bytes, shifted so that byte i comes first (zeros shift in).
        (None, Some(w)) => u64::from_le_bytes(*w) >> (8 * (i + 8 - bytes.len())),
        (None, None) => bytes[i..]
            .iter()
            .enumerate()
            .fold(0, |x, (k, &c)| x | u64::from(c) << (8 * k)),
    }
}

/// Per byte of `x`, exactly: the high bit set when the byte is an ASCII digit.
#[inline(always)]
pub(crate) fn digit_bytes(x: u64) -> u64 {
    let low = x & (ONES * 0x7f);
    // 0x2f < byte < 0x3a, for bytes below 0x80 (no carries between bytes).
    (ONES * (0x7f + 0x3a) - low) & !x & (low + ONES * (0x7f - 0x2f)) & HIGH
}

/// The left-to-right search for where numbers may start: the ASCII digits and '+' signs of a
/// text, looked for only inside its ASCII runs (as normalisation recorded them), never in the
/// Han text between them.
struct NumberStarts<'a> {
    runs: &'a [(u32, u32)],
    /// The first run that may still hold a start.
    next: usize,
}

impl NumberStarts<'_> {
    /// The first index at or after `from` holding an ASCII digit or '+', except in short
    /// numbers that cannot be a phone (see below). `from` never goes back between calls.
    fn next(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        while let Some(&(s, e)) = self.runs.get(self.next) {
            let (s, e) = (s as usize, e as usize);
            if e > from && !(s >= from && short_number(bytes, s, e)) {
                let lo = s.max(from);
                if let Some(p) = bytes[lo..e]
                    .iter()
                    .position(|&b| b.is_ascii_digit() || b == b'+')
                {
                    return Some(lo + p);
                }
            }
            self.next += 1;
        }
        None
    }
}

/// The end of the run of ASCII digits that starts at `i`, eight bytes at a time.
fn digits_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        // Zero bytes past the end are not digits, so the run never seems to go past it.
        let other = !digit_bytes(word_at(bytes, i)) & HIGH;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Whether the number ending at `end` is glued to a following digit-less unit ("13812345678号"),
/// which makes it no phone. (Inlined: it runs for most digit runs.)
#[inline(always)]
fn glued_to_unit(text: &str, end: usize) -> bool {
    text[end..]
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '号' | '室' | '楼' | '栋' | '幢' | '层'))
}

/// Find phone numbers in `text`, left to right. `ascii`: its runs of ASCII, which hold every
/// ASCII digit and '+' of it (see `Normalized::ascii`).
/// Found phones are appended to `out` (a caller's inline vector: returning one by value was a
/// copy of its whole buffer).
///
/// (Built into its one caller, the parser, which passes its buffers straight in.)
#[inline(always)]
pub(crate) fn find_phones(text: &str, ascii: &[(u32, u32)], out: &mut Phones) {
    let bytes = text.as_bytes();
    let mut starts = NumberStarts {
        runs: ascii,
        next: 0,
    };
    let mut i = 0;
    while i < bytes.len() {
        match starts.next(bytes, i) {
            Some(at) => i = at,
            None => break,
        }
        let starts_number = bytes[i].is_ascii_digit()
            || (bytes[i] == b'+' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        // A digit glued to a preceding digit is inside a longer number; a letter before it is
        // fine ("陆xg15822222222").
        if !starts_number || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let run_start = i;
        if bytes[i] == b'+' {
            i += 1;
        }
        // The usual digit run, a house or room number ("245号"), is short and not followed by a
        // group separator: too short for a phone on its own, so skip it without grouping.
        let run_end = digits_end(bytes, i);
        if run_end - i < 7 && group_sep(&text[run_end..]).is_none() {
            i = run_end;
            continue;
        }
        // The usual phone: a mobile number on its own, with no digit group after it. Taken
        // directly, as the grouping and classifying below would.
        if run_start == i && run_end - i == 11 && is_mobile(&text[i..run_end]) {
            let mut j = run_end;
            let mut nsep = 0;
            while let Some((len, _)) = group_sep(&text[j..]) {
                j += len;
                nsep += 1;
                if nsep > 3 {
                    break;
                }
            }
            if !(j > run_end && nsep <= 3 && j < bytes.len() && bytes[j].is_ascii_digit()) {
                if !glued_to_unit(text, run_end) {
                    out.push(Found {
                        phone: Phone {
                            number: undashed(&text[i..run_end]),
                            kind: PhoneKind::Mobile,
                        },
                        start: run_start,
                        end: run_end,
                    });
                }
                i = run_end;
                continue;
            }
        }
        i = grouped(text, run_start, i, run_end, out);
    }
}

/// The number (or numbers) that start at `run_start` with the digit run `digits_from..run_end`,
/// which is long enough or followed by a group separator: its digit groups are gathered and
/// classified, and what is found is appended to `out`. Returns where the search goes on. Kept
/// out of `find_phones`, whose loop passes over short numbers and takes plain mobiles itself.
#[inline(never)]
fn grouped(
    text: &str,
    run_start: usize,
    digits_from: usize,
    run_end: usize,
    out: &mut Phones,
) -> usize {
    // Inline storage: a line has one or two numbers of a few groups each, and per-line heap
    // vectors showed in profiles.
    let mut groups: SmallVec<[Group<'_>; 8]> = SmallVec::new();
    let bytes = text.as_bytes();
    let mut ext_sep = false;
    // The first group's digits were just counted.
    let mut gs = digits_from;
    let mut i = run_end;
    loop {
        groups.push(Group {
            digits: &text[gs..i],
            start: gs,
            end: i,
            ext_sep,
        });
        // Look past separators for another digit group.
        let mut j = i;
        let mut saw_ext = false;
        let mut nsep = 0;
        while let Some((len, ext)) = group_sep(&text[j..]) {
            j += len;
            saw_ext |= ext;
            nsep += 1;
            if nsep > 3 {
                break;
            }
        }
        if j > i && nsep <= 3 && j < bytes.len() && bytes[j].is_ascii_digit() {
            gs = j;
            i = digits_end(bytes, j);
            ext_sep = saw_ext;
        } else {
            break;
        }
    }
    // House and room numbers ("90号", "5楼") are far too short to be phones.
    if groups.iter().map(|g| g.digits.len()).sum::<usize>() < 7 {
        return if i == run_start { i + 1 } else { i };
    }
    let mut g = 0;
    // A room number glued to a mobile ("1楼30115801691123"): a 12–16 digit run whose last 11
    // digits are a mobile number (and that is not a country-code prefix).
    if groups.len() == 1 {
        let d = groups[0].digits;
        if (12..=16).contains(&d.len())
            && is_mobile(&d[d.len() - 11..])
            && !is_mobile(strip_country(d))
        {
            out.push(Found {
                phone: Phone {
                    number: CompactString::from(&d[d.len() - 11..]),
                    kind: PhoneKind::Mobile,
                },
                start: groups[0].end - 11,
                end: groups[0].end,
            });
            g = 1;
        }
    }
    while g < groups.len() {
        if let Some((phone, used)) = classify(&groups[g..]) {
            let start = if g == 0 { run_start } else { groups[g].start };
            let end = groups[g + used - 1].end;
            if !glued_to_unit(text, end) {
                out.push(Found { phone, start, end });
                g += used;
                continue;
            }
        }
        g += 1;
    }
    if i == run_start { i + 1 } else { i }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The maximal runs of ASCII in `text`, as normalisation records them.
    fn ascii_runs(text: &str) -> Vec<(u32, u32)> {
        let b = text.as_bytes();
        let mut runs = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let from = i;
            while i < b.len() && b[i].is_ascii() {
                i += 1;
            }
            if i > from {
                runs.push((from as u32, i as u32));
            } else {
                i += 1;
            }
        }
        runs
    }

    fn all(text: &str) -> Phones {
        let mut found = Phones::new();
        find_phones(text, &ascii_runs(text), &mut found);
        found
    }

    fn one(text: &str) -> Option<(String, PhoneKind)> {
        all(text)
            .into_iter()
            .next()
            .map(|f| (f.phone.number.into_string(), f.phone.kind))
    }

    fn is(text: &str, number: &str, kind: PhoneKind) {
        assert_eq!(one(text), Some((number.to_string(), kind)), "{text}");
    }

    #[test]
    fn mobiles_in_the_usual_spellings() {
        is("13812345678", "13812345678", PhoneKind::Mobile);
        is("138 1234 5678", "13812345678", PhoneKind::Mobile);
        is("138-1234-5678", "13812345678", PhoneKind::Mobile);
        is("+86 138-0013-8000", "13800138000", PhoneKind::Mobile);
        is("8613800138000", "13800138000", PhoneKind::Mobile);
        is("陆xg15822222222", "15822222222", PhoneKind::Mobile);
    }

    #[test]
    fn virtual_numbers_and_landlines_keep_extensions() {
        is("13812345678-1234", "13812345678-1234", PhoneKind::Virtual);
        is("13812345678转1234", "13812345678-1234", PhoneKind::Virtual);
        is("021-64581234-8", "021-64581234-8", PhoneKind::Landline);
        is("(0571)88886666", "0571-88886666", PhoneKind::Landline);
        is("02164581234", "021-64581234", PhoneKind::Landline);
        is(
            "0731-84561234转801",
            "0731-84561234-801",
            PhoneKind::Landline,
        );
        is("400-123-4567", "400-123-4567", PhoneKind::Service);
    }

    #[test]
    fn house_and_room_numbers_are_not_phones() {
        for text in [
            "文三路90号",
            "461号58号楼5楼",
            "1302室",
            "3栋2单元",
            "邮编310000",
            "13812345678号",
        ] {
            assert_eq!(one(text), None, "{text}");
        }
    }

    #[test]
    fn digit_runs_end_where_a_plain_scan_says() {
        for t in [
            "",
            "1",
            "12345678",
            "123456789012号",
            "a12",
            "0571-8888",
            "99999999999999999",
        ] {
            let b = t.as_bytes();
            for from in 0..b.len() {
                let plain = (from..b.len())
                    .find(|&i| !b[i].is_ascii_digit())
                    .unwrap_or(b.len());
                assert_eq!(digits_end(b, from), plain, "{t:?} from {from}");
            }
        }
    }

    #[test]
    fn number_starts_agree_with_a_plain_scan() {
        let texts = [
            "",
            "+",
            "浙江省杭州市西湖区文三路90号",
            "a,b-c/d.e*f+g",
            "内蒙古自治区-乌兰察布市-凉城县 新华路245号",
            "\u{7f}\u{80}9",
            "++++++++++1",
            "abcdefghijklmno7",
            "90号 12345转1 123分机4 12分 9",
        ];
        for t in texts {
            let b = t.as_bytes();
            let runs = ascii_runs(t);
            for from in 0..=b.len() {
                // A fresh search from each offset (a search that passed over a short number
                // never comes back into it).
                let mut starts = NumberStarts {
                    runs: &runs,
                    next: 0,
                };
                let plain = (from..b.len()).find(|&i| {
                    (b[i].is_ascii_digit() || b[i] == b'+')
                        && !runs.iter().any(|&(s, e)| {
                            // Short numbers wholly ahead, followed by text that joins no group.
                            let (s, e) = (s as usize, e as usize);
                            (s..e).contains(&i)
                                && s >= from
                                && e - s < 7
                                && b[s..e].iter().all(u8::is_ascii_digit)
                                && b.get(e).is_none_or(|&c| c >= 0x80)
                                && !t[e..].starts_with('转')
                                && !t[e..].starts_with("分机")
                        })
                });
                assert_eq!(starts.next(b, from), plain, "{t:?} from {from}");
            }
        }
    }

    #[test]
    fn a_room_number_glued_to_a_mobile_is_split() {
        let found = all("1楼30115801691123");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].phone.number, "15801691123");
    }
}
