//! The address parser: finds name and phone, recognises and reconciles the division levels, and
//! splits off town and detail.
//!
//! Approach, in order:
//! 1. normalise the text (simplified characters, half-width, no control characters);
//! 2. take out phone numbers and field labels ("收货人:");
//! 3. take a name-looking token (surname + 1–3 characters, or a title such as 先生; failing that a
//!    lone surname, or a short token right beside the phone);
//! 4. find every division name (full, short, alias, old) in one left-to-right pass, dropping
//!    matches that are really road or town names (陕西南路, 长安镇);
//! 5. group adjacent matches into regions and, for every unit any match could mean, score the
//!    province→city→county chain it implies against the matches (full names weigh more than short
//!    ones, levels must descend left to right, contradictions cost). The best chain wins; a tie
//!    between different units at the same level is reported as ambiguous, never guessed — unless
//!    a landline's area code singles one out (朝阳区 + 010);
//! 6. if the county is still missing: a county of the found city whose name shares a two-character
//!    prefix with the text (南京市雨花区 → 雨花台区, flagged), else a town name that exactly one
//!    county inside the found levels has (织里镇 → 吴兴区);
//! 7. what follows the region is town + detail; what precedes it may be a glued name.

use std::cell::Cell;
use std::io::{self, BufRead, Read, Write};
use std::sync::{LazyLock, OnceLock};

use compact_str::CompactString;
use smallvec::SmallVec;

use crate::charset::CharSet;
use crate::data::{Divisions, Level, NameKind, UnitId};
use crate::matcher::Matcher;
use crate::name::{
    clean_name, looks_like_bare_name, looks_like_glued_name, looks_like_name, starts_with_surname,
};
use crate::normalize::{
    Normalized, Normalizer, is_han, is_noise, is_noise_byte, is_separator_byte, trim_noise,
};
use crate::phone::{PhoneKind, Phones, digit_bytes, find_phones};
use crate::result::{ParsedAddress, Reason};
use crate::towns::{TownIndex, town_spans};

/// The four municipalities: their city level repeats their name.
const MUNICIPALITIES: [u32; 4] = [110000, 120000, 310000, 500000];

/// How many of `LABEL_WORDS` are field labels buyers paste along with the values.
const N_LABELS: usize = 16;

/// Everything `strip_labels` looks for: the labels first, then filler rows, then the country.
const LABEL_WORDS: [&str; 22] = [
    "收货人",
    "收件人",
    "联系人",
    "姓名",
    "联系电话",
    "手机号码",
    "手机号",
    "手机",
    "电话",
    "详细地址",
    "收货地址",
    "所在地区",
    "地址",
    "邮政编码",
    "邮编",
    "地区",
    "省直辖县级行政区划",
    "省直辖行政区划",
    "自治区直辖县级行政区划",
    "市辖区",
    "中华人民共和国",
    "中国",
];

/// A character every filler row in `LABEL_WORDS` contains (市辖区, 省直辖县级行政区划 ...).
const FILLER_CHAR: char = '辖';

/// Labels long and specific enough to strip even without a following colon.
const BARE_LABELS: [&str; 8] = [
    "手机号码",
    "收货人",
    "收件人",
    "联系人",
    "联系电话",
    "详细地址",
    "收货地址",
    "所在地区",
];

/// What may follow a place name when it is really part of a road, street or town name (the
/// test itself, `is_road_name`, is written out by first character; a test checks it against
/// this list).
#[cfg(test)]
const ROAD_SUFFIXES: [&str; 16] = [
    "路", "街", "大街", "大道", "道", "巷", "弄", "胡同", "镇", "乡", "村", "里", "桥", "广场",
    "花园", "小区",
];

/// Characters that may follow a short name as its (possibly outdated) suffix: 余杭县, 襄樊市.
const UNIT_SUFFIX: [char; 7] = ['省', '市', '区', '县', '旗', '州', '盟'];

const W_FULL: i32 = 6;
const W_SHORT: i32 = 4;
const W_CONFLICT: i32 = -3;

thread_local! {
    /// Per-thread buffers for the normalised line (its text and mark lists), reused from
    /// parse to parse, so that parsing allocates little besides what it returns. A cell taken
    /// and put back, initialised by a constant: cheaper to reach than a lazily built `RefCell`.
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// Buffers one parse works in, kept from line to line (per thread): after the first lines
/// nothing here allocates, and plain vectors index and push without the inline/heap test of
/// an inline vector, which the search and the scoring pay at every step.
#[derive(Debug, Default)]
struct Scratch {
    norm: Normalized,
    elems: Vec<Elem>,
    anchors: Vec<(UnitId, u8)>,
    ranked: Vec<Rank>,
}

/// Loaded once, on first use (about 5 ms in release builds; see BENCHMARKS.md).
static GLOBAL: LazyLock<Parser> = LazyLock::new(Parser::new);

/// The parser: division data plus the compiled name matcher. Build it once and share it
/// (`Parser::global()`); `parse` takes `&self` and is thread-safe.
#[derive(Debug)]
pub struct Parser {
    data: Divisions,
    norm: Normalizer,
    matcher: Matcher,
    labels: Matcher,
    /// Per division pattern: `FULL`, `FULL_COUNTY` and `SUFFIX_END` bits, so that the search
    /// does not walk the hit list or decode the name for them at every match.
    pat_flags: Vec<u8>,
    /// The keys (first two characters) of the division names that begin with a unit suffix
    /// character (市中区, 市南区, 市北区): the only names the 青岛|市南区 split can produce, so
    /// the split is only tried where one of them starts.
    suffix_led: Vec<u64>,
    towns: OnceLock<TownIndex>,
}

/// `pat_flags` bit: some unit has the pattern as its full name.
const FULL: u8 = 1;
/// `pat_flags` bit: some county-level unit has the pattern as its full name.
const FULL_COUNTY: u8 = 2;
/// `pat_flags` bit: the pattern ends in a unit suffix character (省, 市, 区 ...).
const SUFFIX_END: u8 = 4;

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

/// One recognised division name in the text.
#[derive(Debug, Clone, Copy)]
struct Elem {
    start: usize,
    end: usize,
    pat: u32,
    /// A short name that carried a unit suffix along (余杭县).
    suffixed: bool,
}

/// Element indexes, inline (one line's worth).
type Idxs = SmallVec<[usize; 4]>;

/// A scored chain as ranked: score, first element, level and unit of its anchor, and where the
/// anchor comes in the order the units were named.
type Rank = (i32, usize, Level, UnitId, usize);

/// Units tied with the best chain (almost always none).
type Ties = SmallVec<[UnitId; 4]>;

/// How well one candidate chain explains the matches of a region.
#[derive(Debug, Clone, Copy, Default)]
struct Eval {
    anchor: UnitId,
    score: i32,
    /// Per level: how an element wrote it, if one did.
    support: [Option<NameKind>; 3],
    first: usize,
    last: usize,
    /// How many elements inside the chain contradict it (the list is only rebuilt for the
    /// winner, by [`Parser::flagged`]: a chain is scored for every candidate unit of every
    /// line, and keeping lists here was a tenth of the parse time).
    conflicts: u32,
    /// How many full names before the chain contradict it.
    leading: u32,
    /// The region (element index range) this chain was scored on.
    region: (usize, usize),
}

impl Parser {
    /// Load the embedded data and compile the matcher.
    pub fn new() -> Self {
        let data = Divisions::load();
        let matcher = Matcher::new(&data.patterns);
        let labels = Matcher::new(&LABEL_WORDS);
        let pat_flags = data
            .patterns
            .iter()
            .zip(&data.hits)
            .map(|(p, hits)| {
                let mut f = 0;
                for h in hits.iter().filter(|h| h.kind == NameKind::Full) {
                    f |= FULL;
                    if h.level == Level::County {
                        f |= FULL_COUNTY;
                    }
                }
                if p.ends_with(UNIT_SUFFIX) {
                    f |= SUFFIX_END;
                }
                f
            })
            .collect();
        let mut suffix_led: Vec<u64> = data
            .patterns
            .iter()
            .filter(|p| p.starts_with(UNIT_SUFFIX))
            .map(|p| Matcher::pattern_key(p))
            .collect();
        suffix_led.sort_unstable();
        suffix_led.dedup();
        Parser {
            data,
            norm: Normalizer::load([
                matcher.first_chars().collect(),
                // Not the first characters of the filler rows (市辖区, 省直辖..., common
                // characters in any address) but the '辖' they all contain: `strip_labels`
                // looks at every character only when there is one.
                labels
                    .first_chars()
                    .filter(|&c| {
                        !LABEL_WORDS
                            .iter()
                            .filter(|w| w.starts_with(c))
                            .all(|w| w.contains(FILLER_CHAR))
                    })
                    .chain([FILLER_CHAR])
                    .collect(),
            ]),
            matcher,
            labels,
            pat_flags,
            suffix_led,
            towns: OnceLock::new(),
        }
    }

    /// The process-wide parser, loaded on first use.
    pub fn global() -> &'static Parser {
        &GLOBAL
    }

    /// The division data behind this parser (codes, names, centroids, renames).
    pub fn divisions(&self) -> &Divisions {
        &self.data
    }

    /// Parse one address line. Never panics; every input gets a result with a verdict.
    pub fn parse(&self, input: &str) -> ParsedAddress {
        // Built where it is returned from (the parse writes into it through a reference):
        // returned from a helper instead, the whole result was copied twice per line.
        let mut out = ParsedAddress::empty();
        // Taken out for the parse and put back after (if parsing ever came to parse again on
        // the same thread, the inner parse would find none and use fresh buffers).
        let mut scratch = SCRATCH.take().unwrap_or_default();
        self.parse_into(input, &mut scratch, &mut out);
        SCRATCH.set(Some(scratch));
        out
    }

    /// [`Self::parse`] into `out` (fresh from [`ParsedAddress::empty`]), normalising into
    /// `scratch` (overwritten).
    ///
    /// (Built into `parse`, its one caller.)
    #[inline(always)]
    fn parse_into(&self, input: &str, scratch: &mut Scratch, out: &mut ParsedAddress) {
        let Scratch {
            norm,
            elems,
            anchors,
            ranked,
        } = scratch;
        self.norm.normalize(input, norm);
        if norm.traditional {
            out.add(Reason::TraditionalConverted);
        }
        if norm.control {
            out.add(Reason::ControlCharsRemoved);
        }
        if norm.truncated {
            out.add(Reason::InputTruncated);
        }
        // Normalisation turned every kind of whitespace into ' '.
        if norm.text.bytes().all(|b| b == b' ') {
            out.add(Reason::EmptyInput);
            out.finish();
            return;
        }
        // Consumed spans are blanked with spaces in place, so byte offsets stay valid (a name
        // that opens the line is skipped instead; see `start` below).
        let Normalized {
            text: work,
            marks,
            n_first,
            ascii,
            n_ascii,
            spare,
            ..
        } = norm;

        // Phones.
        let mut phone_span = None;
        let mut phones = Phones::new();
        find_phones(work, &ascii[..*n_ascii], &mut phones);
        let mut spans: SmallVec<[(usize, usize); 4]> = SmallVec::new();
        if phones.len() > 1 {
            out.other_phones = Vec::with_capacity(phones.len() - 1);
        }
        for (i, f) in phones.iter_mut().enumerate() {
            let number = std::mem::take(&mut f.phone.number);
            if i == 0 {
                phone_span = Some((f.start, f.end));
                out.phone = Some(number);
                out.phone_kind = Some(f.phone.kind);
            } else {
                out.other_phones.push(number);
                out.add(Reason::ExtraPhone);
            }
            spans.push((f.start, f.end));
        }
        blank(work, spare, &spans);
        self.strip_labels(work, spare, &marks[1]);

        // Name: a whole token that looks like one and does not start with a place name; failing
        // that, a lone surname ("孙 13300001111"); failing that, a short Han token right next to
        // the phone, for names without a Han surname (次仁, 阿依古丽).
        let mut name_span = None;
        for pass in 0..3 {
            for (s, e) in tokens(work) {
                let tok = trim_noise(&work[s..e]);
                let fits = match pass {
                    0 => looks_like_name(tok),
                    1 => {
                        tok.chars()
                            .next()
                            .is_some_and(|c| c.len_utf8() == tok.len())
                            && starts_with_surname(tok)
                    }
                    _ => {
                        phone_span.is_some_and(|(ps, pe)| {
                            let gap = |a: usize, b: usize| {
                                a <= b && work[a..b].bytes().all(is_separator_byte)
                            };
                            gap(e, ps) || gap(pe, s)
                        }) && looks_like_bare_name(tok)
                    }
                };
                if fits && !self.starts_with_place(tok) {
                    out.name = Some(CompactString::from(clean_name(tok)));
                    name_span = Some((s, e));
                    break;
                }
            }
            if name_span.is_some() {
                break;
            }
        }
        // The text the division search and the prefix and rest come from: without the name when
        // it opens the line ("张三 13812345678 浙江...") or ends it ("... 张三 13812345678"; only
        // blanks before or after it), which saves blanking it.
        let (mut start, mut end) = (0, work.len());
        if let Some((s, e)) = name_span {
            if all_spaces(&work[..s]) {
                start = e;
            } else if all_spaces(&work[e..]) {
                end = s;
            } else {
                blank(work, spare, &[(s, e)]);
            }
        }
        let mut marks = &marks[0][..*n_first];
        if end < work.len() {
            marks = &marks[..marks.partition_point(|&m| (m as usize) < end)];
        }
        let work = &work[..end];

        elems.clear();
        self.find_elems(work, marks, start, elems);
        let elems = &elems[..];
        let mut best = self.best_chain(work, elems, anchors, ranked);

        // Same-name counties with a landline: its area code names the city (朝阳区 + 010 → 北京).
        if let Some((eval, ties)) = &mut best
            && !ties.is_empty()
            && out.phone_kind == Some(PhoneKind::Landline)
            && let Some(area) = out.phone.as_deref().and_then(|p| p.split('-').next())
            && let Some(&target) = self.data.area_codes.get(area)
        {
            let fits = |u: UnitId| {
                self.data.chains[u as usize]
                    .iter()
                    .flatten()
                    .any(|&a| self.data.unit(a).code == target)
            };
            let all: Vec<UnitId> = std::iter::once(eval.anchor)
                .chain(ties.iter().copied())
                .collect();
            let fitting: Vec<UnitId> = all.iter().copied().filter(|&u| fits(u)).collect();
            if let [only] = fitting[..]
                && let Some(ev) =
                    self.eval_chain(&elems[eval.region.0..eval.region.1], only, eval.region.0)
            {
                *eval = ev;
                ties.clear();
                out.add(Reason::AreaCodeContext);
            }
        }

        let (prefix, rest) = match &best {
            Some((eval, _)) => (
                &work[start..elems[eval.first].start],
                &work[elems[eval.last].end..],
            ),
            None => ("", &work[start..]),
        };

        let mut rest = rest;
        match &best {
            Some((eval, ambiguous)) => {
                self.fill_levels(out, elems, eval, ambiguous);
                if ambiguous.is_empty()
                    && out.county.is_none()
                    && let Some(city) = self.data.chains[eval.anchor as usize][1]
                    && let Some((county, used)) = self.guess_county(city, rest)
                {
                    let k = self.data.unit(county);
                    out.county = Some(k.name);
                    out.adcode = Some(k.adcode);
                    out.reasons.retain(|r| *r != Reason::MissingCounty);
                    out.add(Reason::CountyGuessed);
                    rest = &rest[used..];
                }
            }
            None => out.add(Reason::NoDivision),
        }

        // No county (or nothing at all) but a town name that only one county has: place it there.
        let anchor = best.as_ref().map(|(e, _)| e.anchor);
        let city_without_counties = anchor
            .and_then(|a| self.data.chains[a as usize][1])
            .is_some_and(|c| self.data.unit(c).no_county);
        if out.county.is_none() && out.candidates.is_empty() && !city_without_counties {
            self.place_by_town(out, rest, anchor);
        }

        // Town and detail.
        // Whether the detail holds a digit, if known: cutting the town or a trailing name off
        // leaves its digits as they are.
        let (mut detail, mut digit) = clean_noting_digits(rest);
        if let Some((town, after)) = split_town(&detail) {
            out.town = Some(town);
            detail = after;
        }
        // Usually only the blanked name and phone stand before the divisions, or nothing.
        let prefix = if all_spaces(prefix) {
            CompactString::const_new("")
        } else {
            clean(prefix)
        };
        if !prefix.is_empty() {
            let leading_full = best.as_ref().is_some_and(|(e, _)| e.leading > 0);
            if out.name.is_none() && !leading_full && looks_like_glued_name(&prefix) {
                out.name = Some(CompactString::from(clean_name(&prefix)));
            } else if shorter_than_two_chars(&detail) {
                detail = prefix;
                digit = None;
            } else if !leading_full {
                out.add(Reason::TextIgnored);
            }
        }
        if out.name.is_none()
            && let Some((d, n)) = split_trailing_name(&detail)
        {
            out.name = Some(n);
            detail = d;
        }
        if shorter_than_two_chars(&detail) {
            if out.town.is_none() || detail.is_empty() {
                out.add(Reason::MissingDetail);
            }
        } else if !has_landmark_knowing(&detail, digit) {
            out.add(Reason::DetailVague);
        }
        out.detail = detail;
        if out.name.is_none() {
            out.add(Reason::NameMissing);
        }
        if out.phone.is_none() {
            out.add(Reason::PhoneMissing);
        }
        out.finish();
    }

    /// A county of `city` written in a form the name table lacks ("南京市雨花区" for 雨花台区):
    /// the child whose name shares the longest prefix (at least two characters) with the text
    /// after the city, if exactly one does. Returns the county and the bytes consumed.
    fn guess_county(&self, city: UnitId, rest: &str) -> Option<(UnitId, usize)> {
        let all = rest;
        let rest = rest.trim_start_matches(is_noise);
        let skipped = all.len() - rest.len();
        let mut best: Option<(usize, UnitId)> = None;
        let mut tie = false;
        for &k in &self.data.kids[city as usize] {
            let u = self.data.unit(k);
            let n = std::iter::once(u.name)
                .chain(u.short_names.iter().copied())
                .map(|name| common_prefix_chars(name, rest))
                .max()
                .unwrap_or(0);
            if n >= 2 {
                match best {
                    Some((b, _)) if b == n => tie = true,
                    Some((b, _)) if b > n => {}
                    _ => {
                        best = Some((n, k));
                        tie = false;
                    }
                }
            }
        }
        let (n, k) = best.filter(|_| !tie)?;
        let mut used: usize = rest.chars().take(n).map(char::len_utf8).sum();
        if let Some(c) = rest[used..].chars().next()
            && UNIT_SUFFIX.contains(&c)
        {
            used += c.len_utf8();
        }
        Some((k, skipped + used))
    }

    /// The town index, built on first use (it is only needed when no county was written).
    fn towns(&self) -> &TownIndex {
        self.towns.get_or_init(|| TownIndex::load(&self.data))
    }

    /// Look for a town name in `text` that belongs to exactly one county inside the chain found so
    /// far (`anchor`, if any); fill the levels from it.
    fn place_by_town(&self, out: &mut ParsedAddress, text: &str, anchor: Option<UnitId>) {
        for (s, e) in town_spans(text) {
            let mut fitting: Vec<UnitId> = self
                .towns()
                .units(&text[s..e])
                .iter()
                .copied()
                .filter(|&u| {
                    anchor.is_none_or(|a| {
                        let lvl = self.level(a) as usize - 1;
                        self.data.chains[u as usize][lvl] == Some(a)
                    })
                })
                .collect();
            fitting.dedup();
            match fitting[..] {
                [] => continue,
                [unit] => {
                    let [p, c, k] =
                        self.data.chains[unit as usize].map(|o| o.map(|u| self.data.unit(u)));
                    out.province = p.map(|u| u.name);
                    out.city = c.map(|u| u.name).or(k.map(|u| u.name));
                    if p.is_some_and(|p| MUNICIPALITIES.contains(&p.code)) {
                        out.city = out.province;
                    }
                    out.county = k.map(|u| u.name);
                    out.adcode = k.or(c).or(p).map(|u| u.adcode);
                    out.reasons.retain(|r| {
                        !matches!(
                            r,
                            Reason::NoDivision | Reason::MissingCity | Reason::MissingCounty
                        )
                    });
                    out.add(Reason::CountyFromTown);
                    return;
                }
                _ => return, // several counties have this town: leave it to a person
            }
        }
    }

    /// Whether a token begins with a division name (so it is address, not a person).
    fn starts_with_place(&self, tok: &str) -> bool {
        // A match at the start, probed directly; then the leftmost-longest matches after it,
        // as `find_iter` would give them, for a full name (a name token is two or three
        // characters: at most one more position).
        if self.anchored(tok).is_some() {
            return true;
        }
        let mut pos = tok.chars().next().map_or(0, char::len_utf8);
        while let Some(m) = self.matcher.find(tok, pos) {
            if self.pat_flags[m.pattern] & FULL != 0 {
                return true;
            }
            pos = m.end;
        }
        false
    }

    /// All division names in the text, minus those that are really part of a road or town name.
    /// Only text from byte `from` on is searched.
    fn find_elems(&self, text: &str, marks: &[u32], from: usize, elems: &mut Vec<Elem>) {
        // The tests below look at bytes: slicing the text would test for a character boundary
        // every time, and every character they look for is three bytes long.
        let b = text.as_bytes();
        let mut pos = from;
        let mut next = 0;
        while pos < text.len() {
            let Some(m) = self.matcher.find_marked(text, marks, &mut next, pos) else {
                break;
            };
            let start = m.start;
            let mut end = m.end;
            let mut pat = m.pattern;
            // Leftmost-longest reads "青岛市南区" as 青岛市 + 南区; when the suffix character also
            // begins a name (市南区) and nothing follows the long match, split as 青岛 + 市南区.
            if self.pat_flags[pat] & SUFFIX_END != 0 {
                // The suffix characters are three bytes long.
                let alt = end - 3;
                if Matcher::key_of(&b[alt..]).is_some_and(|k| self.suffix_led.contains(&k))
                    && let Some(head) = self.suffix_split(b, start, alt, end)
                {
                    pat = head;
                    end = alt;
                }
            }
            pos = end;
            let flags = self.pat_flags[pat];
            let after = &b[end..];
            // Whether a division name starts right after the match: asked by up to two of the
            // tests below, so found once.
            // (A plain match, not `get_or_insert_with`, which the compiler left as a call.)
            let mut name_after = None;
            let mut name_follows = || match name_after {
                Some(known) => known,
                None => {
                    let found = self.matcher.anchored_bytes(after).is_some();
                    name_after = Some(found);
                    found
                }
            };
            let mut suffixed = false;
            if flags & FULL == 0 {
                // "陕西南路", "长安镇" — unless a division name starts right there ("江苏镇江市").
                if is_road_name(after) && !name_follows() {
                    continue;
                }
                // A short name glued to a suffix: take the suffix along (余杭县 → 余杭 + 县),
                // unless the suffix begins the next name (青岛|市南区).
                if let Some(c) = three_byte_char(after)
                    && UNIT_SUFFIX.contains(&c)
                    && !name_follows()
                {
                    end += 3;
                    pos = end;
                    suffixed = true;
                }
            }
            elems.push(Elem {
                start,
                end,
                pat: pat as u32,
                suffixed,
            });
            // A county written in full, followed by ordinary text, ends the division part: the
            // rest is detail, and scanning it for more names is wasted work (half the text).
            // (A full name is never suffixed, so `after` still starts at `end` here.)
            if flags & FULL_COUNTY != 0
                && after.first().is_some_and(|&x| {
                    // Not noise: in normalised text the only noise beyond ASCII is '·'.
                    if x < 0x80 {
                        !is_noise_byte(x)
                    } else {
                        !after.starts_with("·".as_bytes())
                    }
                })
                && !name_follows()
            {
                break;
            }
        }
    }

    /// Whether the match `start..end`, whose last character (from `alt`) begins a name too,
    /// reads better as `start..alt` and a name from `alt` (青岛|市南区): when a name starts at
    /// `alt`, none at `end`, and `start..alt` is a name itself, that name's pattern. Rare, so
    /// kept out of the search loop.
    #[inline(never)]
    fn suffix_split(&self, b: &[u8], start: usize, alt: usize, end: usize) -> Option<usize> {
        if self.matcher.anchored_bytes(&b[alt..]).is_some()
            && self.matcher.anchored_bytes(&b[end..]).is_none()
        {
            self.matcher
                .anchored_bytes(&b[start..alt])
                .filter(|&(_, len)| len == alt - start)
                .map(|(head, _)| head)
        } else {
            None
        }
    }

    /// The longest division name that starts exactly at the beginning of `s`: (pattern, length).
    fn anchored(&self, s: &str) -> Option<(usize, usize)> {
        self.matcher.anchored(s)
    }

    /// Split elements into regions of adjacent matches (only noise between them), evaluate each,
    /// and return the best chain with the other units it ties with, if any.
    fn best_chain(
        &self,
        text: &str,
        elems: &[Elem],
        anchors: &mut Vec<(UnitId, u8)>,
        ranked: &mut Vec<Rank>,
    ) -> Option<(Eval, Ties)> {
        let mut best: Option<(Eval, Ties)> = None;
        let mut i = 0;
        while i < elems.len() {
            let mut j = i + 1;
            while j < elems.len()
                && elems[j].start >= elems[j - 1].end
                && text[elems[j - 1].end..elems[j].start]
                    .chars()
                    .all(|c| is_noise(c) || UNIT_SUFFIX.contains(&c))
            {
                j += 1;
            }
            if i == 0 && j == elems.len() {
                // One region, the usual case: its best chain is the answer, returned as it is.
                return self.eval_region(elems, 0, anchors, ranked);
            }
            if let Some(found) = self.eval_region(&elems[i..j], i, anchors, ranked)
                && best.as_ref().is_none_or(|b| found.0.score > b.0.score)
            {
                best = Some(found);
            }
            i = j;
        }
        best
    }

    /// `anchors` and `ranked` are work buffers (overwritten).
    fn eval_region(
        &self,
        region: &[Elem],
        offset: usize,
        anchors: &mut Vec<(UnitId, u8)>,
        ranked: &mut Vec<Rank>,
    ) -> Option<(Eval, Ties)> {
        // Every unit the region's names may mean, with how many levels its chain has.
        anchors.clear();
        for e in region {
            for h in &self.data.hits[e.pat as usize] {
                if !anchors.iter().any(|&(u, _)| u == h.unit) {
                    anchors.push((h.unit, h.depth));
                }
            }
        }
        // Rank by score, then earliest start, then the higher level (朝阳 → 朝阳市 over 朝阳区),
        // then code order for determinism. Only the winner's full evaluation is kept.
        //
        // A chain scores at most W_FULL per level it has (a pick is a level of the chain, or the
        // city level of a county's former city), so county chains are scored first, then city
        // chains, then provinces, and a group stops being scored once the best score exceeds
        // what it could reach: it could neither win nor tie. Most lines name their county, and
        // this skips most of the shallower chains.
        ranked.clear();
        // Two evaluation slots, the best so far and the one being scored, so that no evaluation
        // is ever copied.
        let mut slots: [Eval; 2] = Default::default();
        let mut best: Option<usize> = None;
        for (depth, bound) in [(3, 3 * W_FULL), (2, 2 * W_FULL), (1, W_FULL)] {
            if best.is_some_and(|b| slots[b].score > bound) {
                break;
            }
            for (order, &(a, has)) in anchors.iter().enumerate() {
                if has != depth {
                    continue;
                }
                let cur = best.map_or(0, |b| 1 - b);
                if !self.score_chain(region, a, offset, &mut slots[cur]) {
                    continue;
                }
                let ev = &slots[cur];
                let key = (ev.score, ev.first, self.level(a), a);
                ranked.push((key.0, key.1, key.2, key.3, order));
                let better = best.is_none_or(|b| {
                    let b = &slots[b];
                    let bk = (b.score, b.first, self.level(b.anchor), b.anchor);
                    key.0 > bk.0
                        || key.0 == bk.0
                            && (key.1 < bk.1
                                || key.1 == bk.1 && (key.2 < bk.2 || key.2 == bk.2 && key.3 < bk.3))
                });
                if better {
                    best = Some(cur);
                }
            }
        }
        let top = slots[best?];
        let lvl = self.level(top.anchor);
        // A plain loop: collecting into the inline vector cost more than the filtering. Ties
        // are listed in the order their units were first named (`order`), whatever order they
        // were scored in.
        let mut tied: SmallVec<[(usize, UnitId); 4]> = SmallVec::new();
        for k in ranked.iter() {
            if k.3 != top.anchor
                && k.0 == top.score
                && k.1 == top.first
                && k.2 == lvl
                && (lvl == Level::County || self.unit_name(k.3) != self.unit_name(top.anchor))
            {
                tied.push((k.4, k.3));
            }
        }
        let mut ties = Ties::new();
        // Almost always none: even an empty collect into the inline vector showed in profiles.
        if !tied.is_empty() {
            tied.sort_unstable();
            ties.extend(tied.iter().map(|&(_, u)| u));
        }
        Some((top, ties))
    }

    fn level(&self, u: UnitId) -> Level {
        self.data.unit(u).level
    }

    fn unit_name(&self, u: UnitId) -> &'static str {
        self.data.unit(u).name
    }

    /// Score the chain (province, city, county) of `anchor` against the region's elements.
    fn eval_chain(&self, region: &[Elem], anchor: UnitId, offset: usize) -> Option<Eval> {
        let mut ev = Eval::default();
        self.score_chain(region, anchor, offset, &mut ev)
            .then_some(ev)
    }

    /// The contradicting elements of a chain `ev` as [`Self::score_chain`] counted them: those
    /// inside the chain, then the full names before it.
    fn flagged(&self, elems: &[Elem], ev: &Eval) -> (Idxs, Idxs) {
        let mut lists = (Idxs::new(), Idxs::new());
        let mut again = Eval::default();
        let (a, b) = ev.region;
        self.score_chain_into(&elems[a..b], ev.anchor, a, &mut again, Some(&mut lists));
        lists
    }

    /// [`Self::eval_chain`] into a caller's slot (overwritten); false if no element fits.
    fn score_chain(&self, region: &[Elem], anchor: UnitId, offset: usize, ev: &mut Eval) -> bool {
        self.score_chain_into(region, anchor, offset, ev, None)
    }

    /// [`Self::score_chain`], also listing the contradicting elements in `lists` (inside the
    /// chain, before it) when given. Inlined into both callers, so that the hot one, which
    /// gives no lists, is compiled without the listing.
    #[inline(always)]
    fn score_chain_into(
        &self,
        region: &[Elem],
        anchor: UnitId,
        offset: usize,
        ev: &mut Eval,
        mut lists: Option<&mut (Idxs, Idxs)>,
    ) -> bool {
        let chain = self.data.chains[anchor as usize];
        ev.anchor = anchor;
        ev.score = 0;
        ev.support = [None; 3];
        ev.first = usize::MAX;
        ev.last = 0;
        ev.conflicts = 0;
        ev.leading = 0;
        ev.region = (offset, offset + region.len());
        let mut last_level = 0usize;
        // Elements after the chain start that do not fit it: contradictions if the chain goes
        // on past them.
        let mut pending = 0u32;
        let mut pending_from = 0usize;
        for (i, e) in region.iter().enumerate() {
            let idx = i + offset;
            if last_level == 3 {
                // The county closes the chain: only repeats of its levels may follow
                // ("西湖区西湖区文三路"); anything else is detail.
                let repeat = self.data.hits[e.pat as usize].iter().any(|h| {
                    chain[h.level as usize - 1] == Some(h.unit)
                        && (h.kind == NameKind::Full || e.suffixed)
                });
                if repeat {
                    ev.last = idx;
                    continue;
                }
                break;
            }
            let mut pick: Option<(usize, NameKind)> = None;
            let mut dup = false;
            for h in &self.data.hits[e.pat as usize] {
                let l = h.level as usize;
                if chain[l - 1] != Some(h.unit) {
                    continue;
                }
                if l > last_level {
                    if pick.is_none_or(|(pl, _)| l < pl) {
                        pick = Some((l, h.kind));
                    }
                } else if h.kind == NameKind::Full || e.suffixed {
                    // A repeated level ("上海市上海市", "三亚市天涯区三亚市天涯区") is noise; a bare
                    // short repeat is more likely a landmark's name (吐鲁番市吐鲁番宾馆).
                    dup = true;
                }
            }
            if pick.is_none()
                && last_level < 2
                && let Some(county) = chain[2]
                && !self.data.old_parents[county as usize].is_empty()
                && self.data.hits[e.pat as usize].iter().any(|h| {
                    h.level == Level::City
                        && self.data.old_parents[county as usize].contains(&self.unit_name(h.unit))
                })
            {
                // The county's former city ("四川省资阳市简阳市": 简阳 moved to 成都 in 2016).
                pick = Some((2, NameKind::Old(0)));
            }
            if let Some((l, kind)) = pick {
                ev.score += if kind == NameKind::Full {
                    W_FULL
                } else {
                    W_SHORT
                };
                ev.support[l - 1] = Some(kind);
                last_level = l;
                if ev.first == usize::MAX {
                    ev.first = idx;
                }
                ev.last = idx;
                take_pending(
                    &mut ev.conflicts,
                    &mut pending,
                    &mut lists,
                    pending_from,
                    idx,
                );
            } else if dup && ev.first != usize::MAX {
                ev.last = idx;
                take_pending(
                    &mut ev.conflicts,
                    &mut pending,
                    &mut lists,
                    pending_from,
                    idx,
                );
            } else if ev.first == usize::MAX {
                // Before the chain starts: a contradicting full name costs; a short name may just
                // be part of a glued personal name (李江山浙江省...).
                if self.pat_flags[e.pat as usize] & FULL != 0 {
                    ev.score += W_CONFLICT;
                    ev.leading += 1;
                    if let Some((_, leading)) = lists.as_deref_mut() {
                        leading.push(idx);
                    }
                } else {
                    ev.score -= 1;
                }
            } else {
                if pending == 0 {
                    pending_from = idx;
                }
                pending += 1;
            }
        }
        if ev.first == usize::MAX {
            return false;
        }
        ev.score += W_CONFLICT * ev.conflicts as i32;
        true
    }

    /// Write province/city/county/adcode and the reasons the chosen chain implies.
    fn fill_levels(&self, out: &mut ParsedAddress, elems: &[Elem], ev: &Eval, ties: &[UnitId]) {
        let chain = self.data.chains[ev.anchor as usize];
        for &kind in ev.support.iter().flatten() {
            match kind {
                NameKind::Short => out.add(Reason::ShortName),
                NameKind::Old(_) => out.add(Reason::OldName),
                NameKind::Full => {}
            }
        }
        if ev.conflicts + ev.leading > 0 {
            let (conflicts, leading) = self.flagged(elems, ev);
            for &i in conflicts.iter().chain(leading.iter()) {
                let lvl = self.data.hits[elems[i].pat as usize]
                    .iter()
                    .map(|h| h.level)
                    .min();
                out.add(match lvl {
                    Some(Level::Province) => Reason::ProvinceCorrected,
                    Some(Level::City) => Reason::CityCorrected,
                    _ => Reason::CountyCorrected,
                });
            }
        }

        if !ties.is_empty() {
            // Same-name units: report what all candidates share, list the candidates.
            out.add(Reason::AmbiguousDivision);
            let mut all: Vec<UnitId> = vec![ev.anchor];
            all.extend_from_slice(ties);
            out.candidates = all.iter().map(|&u| self.data.unit(u).adcode).collect();
            for lvl in 0..3 {
                let first = self.data.chains[ev.anchor as usize][lvl];
                let same = all.iter().all(|&u| {
                    self.data.chains[u as usize][lvl].map(|x| self.unit_name(x))
                        == first.map(|x| self.unit_name(x))
                });
                let shared_unit = all
                    .iter()
                    .all(|&u| self.data.chains[u as usize][lvl] == first);
                if let Some(f) = first
                    && same
                {
                    let name = Some(self.unit_name(f));
                    match lvl {
                        0 if shared_unit => out.province = name,
                        1 if shared_unit => out.city = name,
                        2 => out.county = name,
                        _ => {}
                    }
                }
            }
            return;
        }

        let province = chain[0].map(|u| self.data.unit(u));
        let city = chain[1].map(|u| self.data.unit(u));
        let county = chain[2].map(|u| self.data.unit(u));
        out.province = province.map(|u| u.name);
        out.city = city.map(|u| u.name);
        out.county = county.map(|u| u.name);
        let deepest = county.or(city).or(province);
        out.adcode = deepest.map(|u| u.adcode);

        let municipality = province.is_some_and(|p| MUNICIPALITIES.contains(&p.code));
        if let Some(k) = county
            && k.province_direct
        {
            // 仙桃市 etc.: no prefecture level; the city is the unit itself.
            out.city = Some(k.name);
        }
        if municipality && out.city.is_none() {
            out.city = out.province;
        }
        if ev.support[0].is_none()
            && province.is_some()
            && !out.reasons.contains(&Reason::ProvinceCorrected)
        {
            out.add(Reason::ProvinceInferred);
        }
        if ev.support[1].is_none()
            && city.is_some()
            && !out.reasons.contains(&Reason::CityCorrected)
            && !municipality
            && county.is_some_and(|k| !k.province_direct)
        {
            out.add(Reason::CityInferred);
        }
        if county.is_none() {
            match city {
                Some(c) if c.no_county => {}
                Some(_) => out.add(Reason::MissingCounty),
                None if municipality => out.add(Reason::MissingCounty),
                None => {
                    out.add(Reason::MissingCity);
                    out.add(Reason::MissingCounty);
                }
            }
        }
    }
}

/// Count the pending elements as contradictions of the chain, which goes on at element `to`;
/// list them too when asked. Pending elements are all those from `from` up to `to` that did not
/// fit, which are exactly the ones the chain neither picked nor skipped as repeats.
fn take_pending(
    conflicts: &mut u32,
    pending: &mut u32,
    lists: &mut Option<&mut (Idxs, Idxs)>,
    from: usize,
    to: usize,
) {
    *conflicts += *pending;
    if *pending > 0
        && let Some((listed, _)) = lists.as_deref_mut()
    {
        listed.extend(from..to);
    }
    *pending = 0;
}

/// Whether `s` has fewer than two characters (without counting them all).
fn shorter_than_two_chars(s: &str) -> bool {
    s.chars().nth(1).is_none()
}

/// Number of leading characters two strings share.
fn common_prefix_chars(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Overwrite the byte spans `spans` of `work` with spaces (each span's ends are char
/// boundaries; spans are in order and do not overlap), keeping every offset valid. The text is
/// rebuilt into `spare` and the two buffers swapped: a few copies instead of a splice per span.
/// (The test for no spans is made where it is called: a line usually has no labels to blank,
/// and the call cost more than the work.)
#[inline(always)]
fn blank(work: &mut String, spare: &mut String, spans: &[(usize, usize)]) {
    if !spans.is_empty() {
        blank_spans(work, spare, spans);
    }
}

/// [`blank`] for at least one span.
#[inline(never)]
fn blank_spans(work: &mut String, spare: &mut String, spans: &[(usize, usize)]) {
    const SPACES: &str = "                                                                ";
    if let [(s, e)] = *spans
        && e == work.len()
        && e - s <= SPACES.len()
    {
        // One span reaching the end (the phone of "address name phone"): cut and pad.
        work.truncate(s);
        work.push_str(&SPACES[..e - s]);
        return;
    }
    if spans.is_empty() {
        return;
    }
    spare.clear();
    spare.reserve(work.len());
    let mut at = 0;
    for &(s, e) in spans {
        spare.push_str(&work[at..s]);
        let mut n = e - s;
        while n > 0 {
            let k = n.min(SPACES.len());
            spare.push_str(&SPACES[..k]);
            n -= k;
        }
        at = e;
    }
    spare.push_str(&work[at..]);
    std::mem::swap(work, spare);
}

impl Parser {
    /// Blank field labels ("收货人:", "地址："), picker filler rows (市辖区) and a leading "中国".
    fn strip_labels(&self, work: &mut String, spare: &mut String, marks: &[u32]) {
        let mut spans: SmallVec<[(usize, usize); 4]> = SmallVec::new();
        let text = work.as_str();
        let mut from = 0;
        let mut next = 0;
        // The marks leave out the characters that only begin filler rows; with a filler row
        // possible, every character is looked at instead (rare: a picker's filler row).
        let fillers = marks
            .iter()
            .any(|&m| text[m as usize..].starts_with(FILLER_CHAR));
        while let Some(m) = if fillers {
            self.labels.find(text, from)
        } else {
            self.labels.find_marked(text, marks, &mut next, from)
        } {
            from = m.end;
            let (pos, end) = (m.start, m.end);
            let word = LABEL_WORDS[m.pattern];
            let at_token_start = text[..pos]
                .bytes()
                .next_back()
                .is_none_or(is_separator_byte);
            if m.pattern < N_LABELS {
                if let Some(rest) = text[end..].strip_prefix(':') {
                    spans.push((pos, text.len() - rest.len()));
                } else if BARE_LABELS.contains(&word) || at_token_start && word.chars().count() >= 3
                {
                    spans.push((pos, end));
                }
            } else if !word.starts_with('中') {
                // Filler rows some platforms' division pickers emit between levels.
                spans.push((pos, end));
            } else if at_token_start && !text[end..].starts_with("银行") {
                // Only as a country prefix: "中国浙江省...", not "中国银行".
                spans.push((pos, end));
            }
        }
        blank(work, spare, &spans);
    }
}

/// Byte spans of whitespace/punctuation separated tokens. Works on bytes: after normalisation
/// every separator is ASCII, and no byte of a multi-byte character is ASCII.
fn tokens(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && is_separator_byte(bytes[i]) {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let start = i;
        i = separator_from(bytes, i);
        Some((start, i))
    })
}

/// The index of the first separator byte at or after `i` (a character boundary), or the
/// length. Only ASCII bytes other than digits can be separators: eight bytes at a time, it
/// tests just those bytes of the word; the last few bytes go a whole character at a time.
fn separator_from(bytes: &[u8], i: usize) -> usize {
    separator_scan::<false>(bytes, i).0
}

/// [`separator_from`], and with `DIGITS`, whether an ASCII digit stands before the separator
/// (or a little after it, in the same eight bytes: exact only when no separator was found).
#[inline(always)]
fn separator_scan<const DIGITS: bool>(bytes: &[u8], mut i: usize) -> (usize, bool) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut digit = false;
    while let Some(w) = bytes.get(i..).and_then(|r| r.first_chunk::<8>()) {
        // Digits, the usual ASCII in an address, are never separators: only the other ASCII
        // bytes of the word are looked up, and the word is done in one go. (No shortcut for a
        // word of Han characters only: whether a word holds ASCII is a coin toss in an
        // address, and a mispredicted branch costs more than the digit test.)
        let x = u64::from_le_bytes(*w);
        let digits = digit_bytes(x);
        if DIGITS {
            digit |= digits != 0;
        }
        let mut candidates = !x & HIGH & !digits;
        while candidates != 0 {
            let p = i + (candidates.trailing_zeros() / 8) as usize;
            if is_separator_byte(bytes[p]) {
                return (p, digit);
            }
            candidates &= candidates - 1;
        }
        i += 8;
    }
    while let Some(&x) = bytes.get(i) {
        if x < 0x80 {
            if is_separator_byte(x) {
                break;
            }
            if DIGITS {
                digit |= x.is_ascii_digit();
            }
            i += 1;
        } else {
            i += 1 + usize::from(x >= 0xc0) + usize::from(x >= 0xe0) + usize::from(x >= 0xf0);
        }
    }
    (i, digit)
}

/// Whether the text right after a place name makes it part of a road/town name: an optional
/// direction or numeral, then a road suffix (陕西|南路, 北京|东路, 中山|二路, 长安|镇).
/// Reads bytes: every character it looks for is three bytes long.
fn is_road_name(after: &[u8]) -> bool {
    let mut at = 0;
    let mut c = three_byte_char(after);
    if c.is_some_and(|c| matches!(c, '东' | '西' | '南' | '北' | '中') || is_cn_numeral(c)) {
        at = 3;
        c = three_byte_char(&after[3..]);
    }
    // ROAD_SUFFIXES, dispatched on the first character; the second is decoded only for the
    // two-character suffixes (with a first character, `after` holds its three bytes).
    let second = || three_byte_char(&after[at + 3..]);
    match c {
        Some('路' | '街' | '道' | '巷' | '弄' | '镇' | '乡' | '村' | '里' | '桥') => true,
        Some('大') => matches!(second(), Some('街' | '道')),
        Some('胡') => second() == Some('同'),
        Some('广') => second() == Some('场'),
        Some('花') => second() == Some('园'),
        Some('小') => second() == Some('区'),
        _ => false,
    }
}

/// The character `b` starts with, if it is three bytes long (as Han characters are).
#[inline(always)]
fn three_byte_char(b: &[u8]) -> Option<char> {
    match *b {
        [x @ 0xe0..=0xef, y, z, ..] => char::from_u32(
            (u32::from(x & 0x0f) << 12) | (u32::from(y & 0x3f) << 6) | u32::from(z & 0x3f),
        ),
        _ => None,
    }
}

/// Whether `s` is nothing but spaces (blanked spans), eight bytes at a time.
fn all_spaces(s: &str) -> bool {
    let mut words = s.as_bytes().chunks_exact(8);
    words.by_ref().all(|w| w == b"        ") && words.remainder().iter().all(|&b| b == b' ')
}

/// Collapse separators to single spaces and trim noise from both ends. (Built into its two
/// callers in the parse: it runs for every line, and the call cost more than the copies.)
#[inline(always)]
fn clean(s: &str) -> CompactString {
    clean_noting_digits(s).0
}

/// [`clean`], and whether the result holds an ASCII digit, when the scan for separators
/// found that out on the way (the usual one-piece text).
#[inline(always)]
fn clean_noting_digits(s: &str) -> (CompactString, Option<bool>) {
    let trimmed = trim_noise(s);
    let (sep, digit) = separator_scan::<true>(trimmed.as_bytes(), 0);
    if sep == trimmed.len() {
        // The common case: one piece, nothing to collapse.
        return (CompactString::from(trimmed), Some(digit));
    }
    // The pieces between separators (all ASCII) joined by single spaces. The ends are not noise,
    // so the first and last piece are non-empty and nothing needs trimming afterwards.
    let mut out = CompactString::with_capacity(trimmed.len());
    for (a, b) in tokens(trimmed) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&trimmed[a..b]);
    }
    (out, None)
}

/// The characters `split_town` acts on: those that end the town part, and the first characters
/// of the town suffixes.
static TOWN_CHARS: CharSet = CharSet::of("路街号村巷弄区县道楼镇乡苏");

/// A town-level name at the start of the detail: 1–8 Han characters ending in 街道/镇/乡/苏木,
/// not itself a road ("镇海路") and not containing road or house words.
fn split_town(detail: &str) -> Option<(CompactString, CompactString)> {
    let b = detail.as_bytes();
    let mut next = 0;
    let mut n = 0;
    // Han characters are three bytes long: a walk over bytes that decodes just those (the test
    // runs for every line, and usually ends at the third or fourth character).
    while let Some(&[x, y, z]) = b.get(next..next + 3) {
        let i = next;
        next += 3;
        if !(0xe3..=0xe9).contains(&x) {
            return None; // not a three-byte character of the Han blocks' range
        }
        // The code point, U+3000..U+9FFF; made a `char` only for the few characters acted on.
        let cp = (u32::from(x & 0x0f) << 12) | (u32::from(y & 0x3f) << 6) | u32::from(z & 0x3f);
        // Lead bytes 0xe5..=0xe9 are U+5000..U+9FFF, all Han: only the lower blocks need the test.
        if x < 0xe5 && !char::from_u32(cp).is_some_and(is_han) {
            return None;
        }
        n += 1;
        if n > 9 {
            return None;
        }
        if !TOWN_CHARS.contains_code(cp) {
            continue; // neither ends the town part nor is a town suffix (most characters)
        }
        let c = char::from_u32(cp)?;
        if matches!(
            c,
            '路' | '街' | '号' | '村' | '巷' | '弄' | '区' | '县' | '道' | '楼'
        ) && !detail[i..].starts_with("街道")
        {
            return None;
        }
        let suffix = match c {
            '街' if detail[i..].starts_with("街道") => "街道",
            '镇' => "镇",
            '乡' => "乡",
            '苏' if detail[i..].starts_with("苏木") => "苏木",
            _ => "",
        };
        if !suffix.is_empty() && n >= 2 {
            let end = i + suffix.len();
            let after = &detail[end..];
            if is_road_name(after.as_bytes()) && !after.starts_with('村') {
                return None;
            }
            let after = after.trim_start_matches(|c: char| is_noise(c));
            return Some((
                CompactString::from(&detail[..end]),
                CompactString::from(after),
            ));
        }
    }
    None
}

/// Last characters of estate and building names (幸福里, 锦绣苑), which are not personal names.
const PLACE_ENDINGS: &str = "里苑园府城庄湾居阁轩坊寓厦馆店院舍湖港岛墅邸村寨屯";

/// A name glued to the end of the detail ("文三路90号张三"): 2–3 Han characters starting with a
/// surname, right after a digit or a house/room word.
fn split_trailing_name(detail: &str) -> Option<(CompactString, CompactString)> {
    // The last four characters, last first.
    let mut back = [(0usize, ' '); 4];
    let mut n = 0;
    for ci in detail.char_indices().rev().take(4) {
        back[n] = ci;
        n += 1;
    }
    for len in [3usize, 2] {
        if n <= len {
            continue;
        }
        let (start, _) = back[len - 1];
        let before = back[len].1;
        let tail = &detail[start..];
        if tail.chars().all(is_han)
            && starts_with_surname(tail)
            && !tail.ends_with(|c: char| PLACE_ENDINGS.contains(c))
            && (before.is_ascii_digit() || "号室楼栋幢层元户 ".contains(before))
            && looks_like_name(tail)
        {
            return Some((
                CompactString::from(detail[..start].trim_end()),
                CompactString::from(tail),
            ));
        }
    }
    None
}

fn is_cn_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
    )
}

/// Whether the detail names something a courier can find: a number, a village, a building.
#[cfg(test)]
fn has_landmark(detail: &str) -> bool {
    has_landmark_knowing(detail, None)
}

/// [`has_landmark`], told whether the detail holds an ASCII digit when that is known.
#[inline(always)]
fn has_landmark_knowing(detail: &str, digit: Option<bool>) -> bool {
    const MARKS: [&str; 30] = [
        "号", "村", "组", "室", "栋", "幢", "楼", "单元", "门", "弄", "院", "店", "厂", "公司",
        "学校", "大学", "学院", "医院", "小区", "花园", "苑", "大厦", "中心", "市场", "广场",
        "社区", "屯", "庄", "园", "驿站",
    ];
    // The first characters of MARKS, and the numerals: one pass over the characters, and the
    // marks are only compared where one of these stands.
    static FIRST: CharSet =
        CharSet::of("号村组室栋幢楼单门弄院店厂公学医小花苑大中市广社屯庄园驿一二三四五六七八九十");
    // A digit is the usual landmark: look for one eight bytes at a time before decoding
    // characters.
    let (words, tail) = detail.as_bytes().as_chunks::<8>();
    digit.unwrap_or_else(|| {
        words
            .iter()
            .any(|w| digit_bytes(u64::from_le_bytes(*w)) != 0)
            || tail.iter().any(u8::is_ascii_digit)
    }) || detail.char_indices().any(|(i, c)| {
        FIRST.contains(c) && (is_cn_numeral(c) || MARKS.iter().any(|m| detail[i..].starts_with(m)))
    })
}

/// Longest line `parse_lines` keeps in memory (bytes); longer lines are cut and flagged.
const MAX_LINE_BYTES: u64 = 16 * 1024;

/// Consume input up to and including the next newline (or to the end).
fn skip_line<R: BufRead>(input: &mut R) -> io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

impl Parser {
    /// Stream: read one address per line from `input`, write one JSON object per line to
    /// `output`, in input order. Invalid UTF-8 is replaced (U+FFFD) rather than rejected, so a
    /// bad line never stops the stream. Returns the number of lines written. Output is written
    /// line by line; wrap `output` in a `BufWriter` for throughput or a `LineWriter` for
    /// interactive use.
    pub fn parse_lines<R: BufRead, W: Write>(
        &self,
        mut input: R,
        mut output: W,
    ) -> io::Result<u64> {
        let mut buf = Vec::with_capacity(256);
        let mut n = 0u64;
        let mut json = Vec::with_capacity(512);
        loop {
            buf.clear();
            // Read at most MAX_LINE_BYTES of a line; the parser reads only MAX_CHARS characters
            // anyway, and an endless line must not exhaust memory. The rest is skipped.
            if input
                .by_ref()
                .take(MAX_LINE_BYTES)
                .read_until(b'\n', &mut buf)?
                == 0
            {
                break;
            }
            let cut = buf.last() != Some(&b'\n') && buf.len() as u64 == MAX_LINE_BYTES;
            if cut {
                skip_line(&mut input)?;
            }
            let line = String::from_utf8_lossy(&buf);
            let mut parsed = self.parse(line.trim_end_matches(['\n', '\r']));
            if cut && !parsed.reasons.contains(&Reason::InputTruncated) {
                parsed.add(Reason::InputTruncated);
                parsed.finish();
            }
            json.clear();
            serde_json::to_writer(&mut json, &parsed).map_err(io::Error::other)?;
            json.push(b'\n');
            output.write_all(&json)?;
            n += 1;
        }
        output.flush()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separator_search_agrees_with_a_plain_scan() {
        for t in [
            "",
            "a",
            "北京市北京市顺义区长江路845号实验学校20栋1单元635室 宋艳 0687-5299260",
            "张三,13812345678;浙江杭州西湖区文三路90号",
            "內懞古自治區包頭市·達爾罕 x",
            "abc-def_ghi#jkl.mno",
        ] {
            let b = t.as_bytes();
            for from in (0..=b.len()).filter(|&i| t.is_char_boundary(i)) {
                let plain = (from..b.len())
                    .find(|&i| is_separator_byte(b[i]))
                    .unwrap_or(b.len());
                assert_eq!(separator_from(b, from), plain, "{t:?} from {from}");
            }
        }
    }

    #[test]
    fn cleaning_says_whether_digits_remain_only_when_it_knows() {
        for t in [
            "",
            "  幸福巷632号13栋1单元802室  ",
            "幸福巷六号",
            "学府路 401号",
            "12345678",
            "长江路845号实验学校20栋1单元635室#",
            "a-b_c.d#e",
            "ab12",
        ] {
            let (cleaned, digit) = clean_noting_digits(t);
            assert_eq!(cleaned, clean(t), "{t:?}");
            if let Some(digit) = digit {
                assert_eq!(digit, cleaned.bytes().any(|b| b.is_ascii_digit()), "{t:?}");
            }
        }
        assert_eq!(
            clean_noting_digits("幸福巷632号13栋1单元802室").1,
            Some(true)
        );
        assert_eq!(clean_noting_digits("幸福巷六号").1, Some(false));
    }

    /// `is_road_name` is written out by first character; it must say the same as the list.
    #[test]
    fn filler_rows_and_labels_are_stripped() {
        let p = crate::parse("北京市市辖区东城区幸福巷1号 张三 13812345678");
        assert_eq!(p.county, Some("东城区"));
        assert_eq!(p.detail, "幸福巷1号");
        let p = crate::parse("海南省省直辖县级行政区划白沙黎族自治县牙叉农场九栋107号");
        assert_eq!(p.county, Some("白沙黎族自治县"));
        assert_eq!(p.detail, "牙叉农场九栋107号");
        // A filler row and a label on one line: the label is still found.
        let p = crate::parse("收货人:李四 北京市市辖区东城区幸福巷1号");
        assert_eq!(p.name.as_deref(), Some("李四"));
        assert_eq!(p.detail, "幸福巷1号");
        // Filler characters without the row: nothing is stripped.
        let p = crate::parse("李四 13812345678 北京市东城区管辖路1号");
        assert_eq!(p.detail, "管辖路1号");
    }

    #[test]
    fn a_name_opening_or_ending_the_line_is_not_searched_for_places() {
        // 江山 (a county's short name) inside the name must not count as a division.
        let p = crate::parse("李江山 13812345678 浙江省杭州市西湖区文三路1号");
        assert_eq!(p.name.as_deref(), Some("李江山"));
        assert_eq!(p.county, Some("西湖区"));
        assert_eq!(p.detail, "文三路1号");
        assert!(p.is_shippable(), "{:?}", p.reasons);
        // The same after a label, and with nothing but the name and phone.
        let p = crate::parse("收货人:李江山 13812345678 浙江省杭州市西湖区文三路1号");
        assert_eq!(p.name.as_deref(), Some("李江山"));
        assert_eq!(p.county, Some("西湖区"));
        // A name that ends the line, before or after the phone.
        for line in [
            "浙江省杭州市西湖区文三路1号 李江山 13812345678",
            "浙江省杭州市西湖区文三路1号 13812345678 李江山",
        ] {
            let p = crate::parse(line);
            assert_eq!(p.name.as_deref(), Some("李江山"), "{line}");
            assert_eq!(p.county, Some("西湖区"), "{line}");
            assert_eq!(p.detail, "文三路1号", "{line}");
            assert!(p.is_shippable(), "{line}: {:?}", p.reasons);
        }
        let p = crate::parse("李江山 13812345678");
        assert_eq!(p.name.as_deref(), Some("李江山"));
        assert_eq!(p.county, None);
        assert!(p.reasons.contains(&Reason::NoDivision));
    }

    #[test]
    fn landmark_test_matches_a_plain_search() {
        const MARKS: [&str; 30] = [
            "号", "村", "组", "室", "栋", "幢", "楼", "单元", "门", "弄", "院", "店", "厂", "公司",
            "学校", "大学", "学院", "医院", "小区", "花园", "苑", "大厦", "中心", "市场", "广场",
            "社区", "屯", "庄", "园", "驿站",
        ];
        let plain = |d: &str| {
            d.bytes().any(|b| b.is_ascii_digit())
                || d.chars().any(is_cn_numeral)
                || MARKS.iter().any(|m| d.contains(m))
        };
        for d in [
            "",
            "文三路",
            "文三路90号",
            "幸福里",
            "单位",
            "单元",
            "大门",
            "大",
            "驿",
            "驿站",
            "中山路",
            "中心",
            "市政府",
            "市场",
            "公园",
            "公",
            "学",
            "学校",
            "医务",
            "医院",
            "城东区政府",
            "新华书店",
            "光明大厦",
            "社会",
            "社区",
            "王庄",
            "十字路口",
            "abc",
        ] {
            assert_eq!(has_landmark(d), plain(d), "{d}");
            let digit = d.bytes().any(|b| b.is_ascii_digit());
            assert_eq!(has_landmark_knowing(d, Some(digit)), plain(d), "{d}");
        }
    }

    #[test]
    fn road_name_test_matches_the_suffix_list() {
        let by_list = |after: &str| {
            let mut rest = after;
            if let Some(c) = rest.chars().next()
                && (matches!(c, '东' | '西' | '南' | '北' | '中') || is_cn_numeral(c))
            {
                rest = &rest[c.len_utf8()..];
            }
            ROAD_SUFFIXES.iter().any(|s| rest.starts_with(s))
        };
        let heads = ["", "东", "北", "中", "三", "十", "新"];
        let tails = [
            "路", "街", "大街", "大道", "大厦", "道", "巷", "弄", "胡同", "胡", "镇", "乡", "村",
            "里", "桥", "广场", "广", "花园", "花", "小区", "小", "号", "", "1号",
        ];
        for h in heads {
            for t in tails {
                let after = format!("{h}{t}");
                assert_eq!(is_road_name(after.as_bytes()), by_list(&after), "{after}");
            }
        }
    }
}
