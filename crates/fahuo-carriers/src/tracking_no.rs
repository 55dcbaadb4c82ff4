//! Tracking numbers (运单号): normalisation into [`TrackingNo`], per-carrier format rules,
//! check digits, carrier detection and the wrong-carrier check.
//!
//! Chinese domestic carriers publish no check digits (address-and-tracking §4.2), so for them a
//! format is only a shape: a letter prefix (`SF`, `YT`, `JT`, `JD`, `DPK`) identifies one carrier,
//! while all-digit numbers often fit several and get a ranked candidate list, never a single
//! answer. Postal items in UPU S10 form carry a mod-11 check digit, which is verified.
//!
//! The rules are facts gathered from several sources that disagree (§4.1); each [`FormatRule`]
//! names its source and says whether it is current, legacy or uncertain. Rules that accept any
//! number of a given length whatever its prefix (e.g. "any 14 digits is ZTO") are left out on
//! purpose, except one for 邮政包裹: they would make every digit string "valid" for several
//! carriers and defeat the wrong-carrier check this module exists for.

use std::fmt;
use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::registry::Carrier;

/// Shortest input accepted as a tracking number; shorter strings are typing slips.
pub const MIN_LEN: usize = 6;
/// Longest input accepted; real numbers are at most ~20 characters, sub-parcel forms a little more.
pub const MAX_LEN: usize = 40;
/// Rules at or above this score identify one carrier on their own (letter prefix or check digit).
pub const CONFIDENT: u8 = 90;

/// Why a string is not a tracking number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingNoError {
    #[error("the tracking number is empty")]
    Empty,
    #[error("character {ch:?} at position {index} is not a letter or digit")]
    BadChar { ch: char, index: usize },
    #[error("{len} characters is too short for a tracking number (at least {MIN_LEN})")]
    TooShort { len: usize },
    #[error("{len} characters is too long for a tracking number (at most {MAX_LEN})")]
    TooLong { len: usize },
}

impl TrackingNoError {
    /// A stable machine code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            TrackingNoError::Empty => "empty",
            TrackingNoError::BadChar { .. } => "bad_char",
            TrackingNoError::TooShort { .. } => "too_short",
            TrackingNoError::TooLong { .. } => "too_long",
        }
    }
}

/// Maps a full-width ASCII variant (Ａ, １, －, ...) to its ASCII form and the ideographic space
/// to a space; other characters pass through. Chinese input methods produce these easily.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Dash-like characters people type or paste inside numbers ("7732-7702-7280-336").
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2015}'
            | '\u{2212}'
    )
}

/// The canonical spelling of a typed or pasted number: full-width folded to half-width,
/// whitespace and dashes removed, ASCII letters upper-cased. Never fails; idempotent.
///
/// Removing dashes also joins Deppon's sub-parcel suffixes (`DPK…-001`) to the number; the
/// format rules accept that longer form for Deppon.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace() && !is_dash(*c) && *c != '\u{FEFF}')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A normalised tracking number: 6–40 ASCII upper-case letters and digits. Deserialising
/// normalises and checks like [`TrackingNo::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TrackingNo(String);

impl TryFrom<String> for TrackingNo {
    type Error = TrackingNoError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TrackingNo::parse(&s)
    }
}

impl From<TrackingNo> for String {
    fn from(n: TrackingNo) -> String {
        n.0
    }
}

impl TrackingNo {
    /// Normalises and checks `input`.
    pub fn parse(input: &str) -> Result<TrackingNo, TrackingNoError> {
        let s = normalize(input);
        if s.is_empty() {
            return Err(TrackingNoError::Empty);
        }
        if let Some((index, ch)) = s
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
        {
            return Err(TrackingNoError::BadChar { ch, index });
        }
        match s.len() {
            n if n < MIN_LEN => Err(TrackingNoError::TooShort { len: n }),
            n if n > MAX_LEN => Err(TrackingNoError::TooLong { len: n }),
            _ => Ok(TrackingNo(s)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if the number has no letters (the ambiguous kind).
    pub fn is_all_digits(&self) -> bool {
        self.0.bytes().all(|b| b.is_ascii_digit())
    }
}

impl fmt::Display for TrackingNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TrackingNo {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for TrackingNo {
    type Err = TrackingNoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrackingNo::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns: a tiny regex subset, so rules stay data (printable, testable) without a regex engine.

/// One piece of a [`Pattern`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    /// Exactly this text.
    Lit(&'static str),
    /// One of these texts.
    OneOf(&'static [&'static str]),
    /// One character from `chars`, shown as `shown` (e.g. `[3-68]`).
    Class {
        chars: &'static str,
        shown: &'static str,
    },
    /// `min..=max` digits.
    Digits(u8, u8),
    /// `min..=max` letters A–Z.
    Upper(u8, u8),
    /// `min..=max` letters or digits.
    Alnum(u8, u8),
}

/// A whole-string pattern over a normalised number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern(pub &'static [Seg]);

impl Pattern {
    pub fn matches(&self, s: &str) -> bool {
        match_segs(self.0, s.as_bytes())
    }

    /// The literal letter prefix the pattern starts with, if any.
    pub fn letter_prefix(&self) -> Option<&'static str> {
        match self.0.first() {
            Some(Seg::Lit(l)) if l.bytes().all(|b| b.is_ascii_uppercase()) => Some(l),
            _ => None,
        }
    }
}

fn match_run(segs: &[Seg], s: &[u8], min: u8, max: u8, ok: fn(u8) -> bool) -> bool {
    // Longest run first; inputs are at most MAX_LEN bytes so backtracking is cheap.
    let avail = s.iter().take(max as usize).take_while(|b| ok(**b)).count();
    (min as usize..=avail)
        .rev()
        .any(|n| match_segs(segs, &s[n..]))
}

fn match_segs(segs: &[Seg], s: &[u8]) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return s.is_empty();
    };
    match *first {
        Seg::Lit(l) => s
            .strip_prefix(l.as_bytes())
            .is_some_and(|t| match_segs(rest, t)),
        Seg::OneOf(ls) => ls.iter().any(|l| {
            s.strip_prefix(l.as_bytes())
                .is_some_and(|t| match_segs(rest, t))
        }),
        Seg::Class { chars, .. } => s
            .split_first()
            .is_some_and(|(b, t)| chars.as_bytes().contains(b) && match_segs(rest, t)),
        Seg::Digits(a, b) => match_run(rest, s, a, b, |c| c.is_ascii_digit()),
        Seg::Upper(a, b) => match_run(rest, s, a, b, |c| c.is_ascii_uppercase()),
        Seg::Alnum(a, b) => match_run(rest, s, a, b, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit()
        }),
    }
}

fn fmt_rep(f: &mut fmt::Formatter<'_>, class: &str, a: u8, b: u8) -> fmt::Result {
    if a == b {
        write!(f, "{class}{{{a}}}")
    } else {
        write!(f, "{class}{{{a},{b}}}")
    }
}

impl fmt::Display for Pattern {
    /// Regex notation, for explanations ("expected ^SF\d{13}$").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("^")?;
        for seg in self.0 {
            match seg {
                Seg::Lit(l) => f.write_str(l)?,
                Seg::OneOf(ls) => write!(f, "({})", ls.join("|"))?,
                Seg::Class { shown, .. } => f.write_str(shown)?,
                Seg::Digits(a, b) => fmt_rep(f, "\\d", *a, *b)?,
                Seg::Upper(a, b) => fmt_rep(f, "[A-Z]", *a, *b)?,
                Seg::Alnum(a, b) => fmt_rep(f, "[A-Z0-9]", *a, *b)?,
            }
        }
        f.write_str("$")
    }
}

// ---------------------------------------------------------------------------------------------
// Check digits.

/// A check-digit scheme a rule requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// UPU S10: `AA` + 8 serial digits + check digit + 2-letter country.
    S10,
}

/// The UPU S10 check digit of an 8-digit serial: weights 8,6,4,2,3,5,9,7; c = 11 − (sum mod 11);
/// 10 → 0, 11 → 5 (address-and-tracking §4.2). `None` unless `serial` is exactly 8 ASCII digits.
pub fn s10_check_digit(serial: &str) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let digits = serial.as_bytes();
    if digits.len() != 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c as u8,
    })
}

/// Whether `s` is a well-formed S10 item number with a correct check digit (any country).
pub fn is_valid_s10(s: &str) -> bool {
    s10_mismatch(s).is_some_and(|(expected, found)| expected == found)
}

/// For an S10-shaped string, the (expected, found) check digits.
fn s10_mismatch(s: &str) -> Option<(char, char)> {
    const SHAPE: Pattern = Pattern(&[Seg::Upper(2, 2), Seg::Digits(9, 9), Seg::Upper(2, 2)]);
    if !SHAPE.matches(s) {
        return None;
    }
    let expected = s10_check_digit(&s[2..10])?;
    Some((char::from(b'0' + expected), char::from(s.as_bytes()[10])))
}

impl Check {
    fn passes(self, s: &str) -> bool {
        match self {
            Check::S10 => is_valid_s10(s),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rules.

/// How much a rule is to be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// The current form, with examples from real labels or tests.
    Current,
    /// An older series some numbers still in circulation use.
    Legacy,
    /// From a single source without examples; may be wrong.
    Uncertain,
}

/// One format a carrier's numbers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatRule {
    pub carrier: Carrier,
    pub pattern: Pattern,
    pub check: Option<Check>,
    /// 0–100: how strongly a match points at this carrier. [`CONFIDENT`] and above: on its own.
    pub score: u8,
    pub status: RuleStatus,
    pub source: &'static str,
    /// A number of this form from the source, where it gives one.
    pub example: Option<&'static str>,
}

impl FormatRule {
    /// Shape and check digit both pass.
    pub fn accepts(&self, n: &TrackingNo) -> bool {
        self.pattern.matches(n.as_str()) && self.check.is_none_or(|c| c.passes(n.as_str()))
    }
}

const BF: &str = "BF-zh/Courier-Validation patterns (address-and-tracking §4.1)";
const HV: &str = "phillip2019/hive-third-functions UDFLogisticNoValid (address-and-tracking §4.1)";
const PY: &str = "unattributed older Python rules (address-and-tracking §4.1)";
const JK: &str = "jkeen/tracking_number_data (address-and-tracking §4.1)";
const UPU: &str = "UPU S10 via jkeen/tracking_number_data s10.json (address-and-tracking §4.2)";

const fn rule(
    carrier: Carrier,
    pattern: &'static [Seg],
    score: u8,
    status: RuleStatus,
    source: &'static str,
    example: Option<&'static str>,
) -> FormatRule {
    FormatRule {
        carrier,
        pattern: Pattern(pattern),
        check: None,
        score,
        status,
        source,
        example,
    }
}

/// Every known format, in no particular order (detection sorts by score).
pub static RULES: &[FormatRule] = &[
    // 顺丰: SF + 13 digits; BF also allows a letter in the third place.
    rule(
        Carrier::Sf,
        &[Seg::Lit("SF"), Seg::Digits(13, 13)],
        98,
        RuleStatus::Current,
        BF,
        Some("SF1385628716739"),
    ),
    rule(
        Carrier::Sf,
        &[Seg::Lit("SF"), Seg::Alnum(1, 1), Seg::Digits(12, 12)],
        92,
        RuleStatus::Current,
        BF,
        None,
    ),
    // 中通: 14 digits starting 73–76 or 78.
    rule(
        Carrier::Zto,
        &[
            Seg::Lit("7"),
            Seg::Class {
                chars: "34568",
                shown: "[3-68]",
            },
            Seg::Digits(12, 12),
        ],
        70,
        RuleStatus::Current,
        BF,
        Some("73610555582883"),
    ),
    // 申通: 15 digits starting 77 (BF and HV agree); BF's wider 77/43 form; HV's 88/99 series.
    rule(
        Carrier::Sto,
        &[Seg::Lit("77"), Seg::Digits(13, 13)],
        75,
        RuleStatus::Current,
        BF,
        Some("773277027280336"),
    ),
    rule(
        Carrier::Sto,
        &[Seg::OneOf(&["77", "43"]), Seg::Digits(12, 15)],
        55,
        RuleStatus::Current,
        BF,
        None,
    ),
    rule(
        Carrier::Sto,
        &[Seg::OneOf(&["88", "99"]), Seg::Digits(13, 13)],
        30,
        RuleStatus::Legacy,
        HV,
        None,
    ),
    // 圆通: YT + 13 (YT + 16 is YunExpress, so length matters); HV's Y + 12; PY's 88 + 16 alnum.
    rule(
        Carrier::Yto,
        &[Seg::Lit("YT"), Seg::Digits(13, 13)],
        98,
        RuleStatus::Current,
        BF,
        Some("YT8962646785389"),
    ),
    rule(
        Carrier::Yto,
        &[Seg::Lit("Y"), Seg::Digits(12, 12)],
        60,
        RuleStatus::Legacy,
        HV,
        None,
    ),
    rule(
        Carrier::Yto,
        &[Seg::Lit("88"), Seg::Alnum(16, 16)],
        20,
        RuleStatus::Legacy,
        PY,
        None,
    ),
    rule(
        Carrier::YunExpress,
        &[Seg::Lit("YT"), Seg::Digits(16, 16)],
        95,
        RuleStatus::Current,
        JK,
        None,
    ),
    // 韵达: 15 digits starting 3 or 4; 13 digits starting 5.
    rule(
        Carrier::Yunda,
        &[
            Seg::Class {
                chars: "34",
                shown: "[34]",
            },
            Seg::Digits(14, 14),
        ],
        65,
        RuleStatus::Current,
        BF,
        Some("463431409940372"),
    ),
    rule(
        Carrier::Yunda,
        &[Seg::Lit("5"), Seg::Digits(12, 12)],
        50,
        RuleStatus::Current,
        BF,
        None,
    ),
    // 京东: JD + 2 letters/digits + 11 digits.
    rule(
        Carrier::Jd,
        &[Seg::Lit("JD"), Seg::Alnum(2, 2), Seg::Digits(11, 11)],
        98,
        RuleStatus::Current,
        BF,
        Some("JDX024407261700"),
    ),
    // 极兔: JT + 13 digits; HV also JT + 12.
    rule(
        Carrier::Jtsd,
        &[Seg::Lit("JT"), Seg::Digits(13, 13)],
        98,
        RuleStatus::Current,
        BF,
        Some("JT5261988016578"),
    ),
    rule(
        Carrier::Jtsd,
        &[Seg::Lit("JT"), Seg::Digits(12, 12)],
        90,
        RuleStatus::Legacy,
        HV,
        None,
    ),
    // EMS: S10 with service indicator E and country CN, check digit verified.
    FormatRule {
        carrier: Carrier::Ems,
        pattern: Pattern(&[
            Seg::Lit("E"),
            Seg::Upper(1, 1),
            Seg::Digits(9, 9),
            Seg::Lit("CN"),
        ]),
        check: Some(Check::S10),
        score: 100,
        status: RuleStatus::Current,
        source: UPU,
        example: Some("EA123456785CN"),
    },
    // EMS domestic: 13 digits (BF's 9/8/1 prefixes, HV's two-digit prefixes); BF's P + letter + 11.
    rule(
        Carrier::Ems,
        &[
            Seg::Class {
                chars: "981",
                shown: "[981]",
            },
            Seg::Digits(12, 12),
        ],
        55,
        RuleStatus::Current,
        BF,
        Some("1207119765021"),
    ),
    rule(
        Carrier::Ems,
        &[
            Seg::OneOf(&["10", "11", "12", "50", "51", "52", "95", "97", "98", "99"]),
            Seg::Digits(11, 11),
        ],
        45,
        RuleStatus::Current,
        HV,
        None,
    ),
    rule(
        Carrier::Ems,
        &[Seg::Lit("P"), Seg::Upper(1, 1), Seg::Digits(11, 11)],
        70,
        RuleStatus::Uncertain,
        BF,
        None,
    ),
    // 中国邮政 (other S10 services: registered, parcels, e-packets), check digit verified.
    FormatRule {
        carrier: Carrier::Yzpy,
        pattern: Pattern(&[
            Seg::Class {
                chars: "ABCDFGHIJKLMNOPQRSTUVWXYZ",
                shown: "[A-DF-Z]",
            },
            Seg::Upper(1, 1),
            Seg::Digits(9, 9),
            Seg::Lit("CN"),
        ]),
        check: Some(Check::S10),
        score: 95,
        status: RuleStatus::Current,
        source: UPU,
        example: None,
    },
    // 邮政包裹 domestic: HV accepts any 13 digits. Kept (low score) because China Post parcels
    // have no other documented domestic form; see the module note on length-only rules.
    rule(
        Carrier::Yzpy,
        &[Seg::Digits(13, 13)],
        15,
        RuleStatus::Uncertain,
        HV,
        None,
    ),
    // 德邦: DPK + 12 digits; HV allows longer (sub-parcel suffixes, joined when dashes go).
    rule(
        Carrier::Dbkd,
        &[Seg::Lit("DPK"), Seg::Digits(12, 12)],
        98,
        RuleStatus::Current,
        BF,
        Some("DPK202252612836"),
    ),
    rule(
        Carrier::Dbkd,
        &[Seg::Lit("DPK"), Seg::Digits(11, 24)],
        90,
        RuleStatus::Legacy,
        HV,
        None,
    ),
    // 宅急送: all from HV only.
    rule(
        Carrier::Zjs,
        &[Seg::Lit("ZJS"), Seg::Digits(12, 12)],
        95,
        RuleStatus::Uncertain,
        HV,
        None,
    ),
    rule(
        Carrier::Zjs,
        &[Seg::Lit("A"), Seg::Digits(12, 12)],
        60,
        RuleStatus::Uncertain,
        HV,
        None,
    ),
    rule(
        Carrier::Zjs,
        &[Seg::OneOf(&["42", "16"]), Seg::Digits(8, 8)],
        35,
        RuleStatus::Uncertain,
        HV,
        None,
    ),
    // 菜鸟: BF has 621 + 12 digits without any test case; the reference says it needs verification.
    rule(
        Carrier::Cnsd,
        &[Seg::Lit("621"), Seg::Digits(12, 12)],
        30,
        RuleStatus::Uncertain,
        BF,
        None,
    ),
    // 百世: HV's 7 + 13 digits, which collides with ZTO's series.
    rule(
        Carrier::Best,
        &[Seg::Lit("7"), Seg::Digits(13, 13)],
        20,
        RuleStatus::Legacy,
        HV,
        None,
    ),
];

/// The rules for one carrier.
pub fn rules_for(carrier: Carrier) -> impl Iterator<Item = &'static FormatRule> {
    RULES.iter().filter(move |r| r.carrier == carrier)
}

// ---------------------------------------------------------------------------------------------
// Detection.

/// One carrier a number may belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub carrier: Carrier,
    /// The best matching rule's score (0–100); not a probability.
    pub score: u8,
}

/// What [`detect`] found out about one number. Serialises with exactly these field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// The text as given.
    pub input: String,
    /// The [`TrackingNo`] form.
    pub normalized: String,
    /// Carriers whose formats accept the number, best first (score, then canonical code). Empty
    /// when no known format fits (which includes an S10 number with a wrong check digit).
    pub candidates: Vec<Candidate>,
    /// Every carrier [`validate`] accepts the number for: the candidates plus group siblings that
    /// have no formats of their own (e.g. 顺丰快运 for an SF number). Sorted by canonical code.
    pub valid_for: Vec<Carrier>,
}

impl Detection {
    /// The carrier, when one rule at or above [`CONFIDENT`] names it alone.
    pub fn confident(&self) -> Option<Carrier> {
        match self.candidates.as_slice() {
            [only] if only.score >= CONFIDENT => Some(only.carrier),
            _ => None,
        }
    }

    /// Moves `preferred` carriers (the merchant's configured carriers, the shop default) ahead of
    /// others *with the same score*; never above a better-scoring carrier.
    pub fn prefer(&mut self, preferred: &[Carrier]) {
        let rank = |c: &Carrier| preferred.iter().position(|p| p == c).unwrap_or(usize::MAX);
        self.candidates.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then(rank(&a.carrier).cmp(&rank(&b.carrier)))
        });
    }
}

/// Every rule that accepts `n`, grouped to the best score per carrier, best first.
fn candidates(n: &TrackingNo) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for r in RULES.iter().filter(|r| r.accepts(n)) {
        match out.iter_mut().find(|c| c.carrier == r.carrier) {
            Some(c) => c.score = c.score.max(r.score),
            None => out.push(Candidate {
                carrier: r.carrier,
                score: r.score,
            }),
        }
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.carrier.code().cmp(b.carrier.code()))
    });
    out
}

/// Detects which carriers a number may belong to.
pub fn detect(input: &str) -> Result<Detection, TrackingNoError> {
    let n = TrackingNo::parse(input)?;
    Ok(detect_parsed(input, &n))
}

fn detect_parsed(input: &str, n: &TrackingNo) -> Detection {
    let candidates = candidates(n);
    let mut valid_for: Vec<Carrier> = Carrier::ALL
        .into_iter()
        .filter(|c| {
            candidates.iter().any(|k| k.carrier == *c)
                || (rules_for(*c).next().is_none()
                    && candidates.iter().any(|k| k.carrier.same_group(*c)))
        })
        .collect();
    valid_for.sort_by_key(|c| c.code());
    Detection {
        input: input.to_owned(),
        normalized: n.as_str().to_owned(),
        candidates,
        valid_for,
    }
}

/// A rule that accepted a number, for explanations (`fahuo tracking detect --explain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    pub carrier: Carrier,
    /// The rule in regex notation.
    pub pattern: String,
    pub check: Option<Check>,
    pub score: u8,
    pub status: RuleStatus,
    pub source: &'static str,
}

/// Every rule that accepts `n`, strongest first: the evidence behind a [`Detection`].
pub fn explain(n: &TrackingNo) -> Vec<RuleMatch> {
    let mut out: Vec<RuleMatch> = RULES
        .iter()
        .filter(|r| r.accepts(n))
        .map(|r| RuleMatch {
            carrier: r.carrier,
            pattern: r.pattern.to_string(),
            check: r.check,
            score: r.score,
            status: r.status,
            source: r.source,
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.score));
    out
}

// ---------------------------------------------------------------------------------------------
// Wrong-carrier check.

/// Why a number does not fit the carrier it was entered under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Why {
    #[error("not a tracking number: {0}")]
    Malformed(#[from] TrackingNoError),
    /// The number has the distinctive form of another carrier (letter prefix or check digit).
    #[error("{number} is a {detected} number, not {carrier}")]
    LooksLike {
        carrier: Carrier,
        number: TrackingNo,
        detected: Carrier,
    },
    /// The number has the carrier's S10 shape but a wrong check digit (a typing slip).
    #[error("{number}: check digit is {found}, expected {expected} (UPU S10)")]
    CheckDigit {
        carrier: Carrier,
        number: TrackingNo,
        expected: char,
        found: char,
    },
    /// No format of the carrier fits. `expected` lists the carrier's formats; `other` the carriers
    /// whose formats do fit, best first. Carriers with only legacy/uncertain coverage may see this
    /// for genuine old numbers, so callers may treat it as a warning.
    #[error("{number} fits none of {carrier}'s formats ({})", .expected.join(" | "))]
    NoFormatMatches {
        carrier: Carrier,
        number: TrackingNo,
        expected: Vec<String>,
        other: Vec<Carrier>,
    },
}

/// Checks that `number` can be a `carrier` number, to catch a number typed under the wrong
/// carrier. A carrier with no known formats accepts anything that is not clearly another
/// carrier's; a group sibling's number is accepted for it (顺丰快运 and SF numbers).
pub fn validate(carrier: Carrier, number: &str) -> Result<(), Why> {
    let n = TrackingNo::parse(number)?;
    check(carrier, &n)
}

/// [`validate`] for an already parsed number.
pub fn check(carrier: Carrier, n: &TrackingNo) -> Result<(), Why> {
    let cands = candidates(n);
    if cands.iter().any(|c| c.carrier == carrier) {
        return Ok(());
    }
    let has_rules = rules_for(carrier).next().is_some();
    if let Some(other) = cands.iter().find(|c| c.score >= CONFIDENT) {
        if !has_rules && other.carrier.same_group(carrier) {
            return Ok(());
        }
        return Err(Why::LooksLike {
            carrier,
            number: n.clone(),
            detected: other.carrier,
        });
    }
    let s10_rule =
        rules_for(carrier).any(|r| r.check == Some(Check::S10) && r.pattern.matches(n.as_str()));
    if s10_rule && let Some((expected, found)) = s10_mismatch(n.as_str()) {
        return Err(Why::CheckDigit {
            carrier,
            number: n.clone(),
            expected,
            found,
        });
    }
    if !has_rules {
        return Ok(());
    }
    Err(Why::NoFormatMatches {
        carrier,
        number: n.clone(),
        expected: rules_for(carrier).map(|r| r.pattern.to_string()).collect(),
        other: cands.iter().map(|c| c.carrier).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Streaming (for `fahuo tracking detect`).

/// The JSON line written for an input line that is not a tracking number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetectFailure {
    pub input: String,
    /// A stable code: `empty`, `bad_char`, `too_short`, `too_long`.
    pub error: &'static str,
    pub message: String,
}

/// Counts from [`detect_lines`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DetectSummary {
    pub lines: u64,
    pub detected: u64,
    pub failed: u64,
}

/// Reads one number per line from `input` and writes one JSON object per line to `output`:
/// a [`Detection`], or a [`DetectFailure`] for a line that is not a number (blank lines
/// included, so output line *k* always answers input line *k*). Invalid UTF-8 is replaced, not
/// fatal; only I/O errors stop the stream.
pub fn detect_lines<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
) -> io::Result<DetectSummary> {
    let mut summary = DetectSummary::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        summary.lines += 1;
        let json = match detect(line) {
            Ok(d) => {
                summary.detected += 1;
                serde_json::to_vec(&d)
            }
            Err(e) => {
                summary.failed += 1;
                serde_json::to_vec(&DetectFailure {
                    input: line.to_owned(),
                    error: e.code(),
                    message: e.to_string(),
                })
            }
        }
        .map_err(io::Error::other)?;
        output.write_all(&json)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests;
