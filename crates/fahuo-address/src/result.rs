//! The parse result: fields, machine-readable reasons for doubt, the ship verdict and confidence.

use compact_str::CompactString;
use serde::Serialize;

use crate::phone::PhoneKind;

/// Why a parse is less than certain. Serialised as snake_case codes ("missing_county").
///
/// Each reason has a [`Severity`]; the worst severity decides the [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // --- Incomplete: the parcel cannot be routed without a person fixing the address.
    /// Nothing but whitespace (or nothing at all) was given.
    EmptyInput,
    /// No province, city or county could be recognised.
    NoDivision,
    /// Only a province was recognised (and it is not a municipality).
    MissingCity,
    /// The city has county-level units but none was recognised.
    MissingCounty,
    /// Nothing (or almost nothing) is left for the street / house part.
    MissingDetail,

    // --- Doubt: probably right, but a person should look before it ships.
    /// A same-name unit (朝阳区, 鼓楼区) could not be resolved from context; see `candidates`.
    AmbiguousDivision,
    /// The written province contradicts the city/county; the province was corrected.
    ProvinceCorrected,
    /// The written city contradicts the province/county; the city was corrected.
    CityCorrected,
    /// A written county does not belong to the chosen city; it was ignored.
    CountyCorrected,
    /// The county was recognised from a partial or unusual spelling ("雨花区" in 南京市 → 雨花台区).
    CountyGuessed,
    /// The detail has no house number, village, building or similar landmark.
    DetailVague,
    /// The input was longer than the parser reads; the rest was cut.
    InputTruncated,

    // --- Info: normal clean-up, recorded for transparency; never blocks shipping.
    /// The province was not written and was filled from a lower level.
    ProvinceInferred,
    /// The city was not written and was filled from the county.
    CityInferred,
    /// A same-name county was resolved by the landline's area code (朝阳区 + 010 → 北京).
    AreaCodeContext,
    /// The county was not written; it was found from a town name only it has (织里镇 → 吴兴区).
    CountyFromTown,
    /// A level was written by its short name (柯桥 for 柯桥区).
    ShortName,
    /// An old name was written (襄樊, 富阳市); the current unit is returned.
    OldName,
    /// Traditional characters were converted to simplified.
    TraditionalConverted,
    /// Control characters were removed.
    ControlCharsRemoved,
    /// No receiver name was found.
    NameMissing,
    /// No phone number was found.
    PhoneMissing,
    /// More than one phone number was found; the first is returned.
    ExtraPhone,
    /// Some text could not be placed (not name, phone, division or detail) and was dropped.
    /// (The last variant: see [`REASONS_CAP`].)
    TextIgnored,
}

/// Room in [`Reasons`]: at least the number of `Reason` variants (each is recorded once).
const REASONS_CAP: usize = 32;
const _: () = assert!((Reason::TextIgnored as usize) < REASONS_CAP);

/// The reasons of a result, in the order they were found, each at most once. Reads as a slice
/// (`reasons.contains(..)`, `reasons.iter()`) and serialises as a list. Kept inline: most
/// lines get a reason, and a heap list cost an allocation per line.
#[derive(Clone, Copy)]
pub struct Reasons {
    len: u8,
    items: [Reason; REASONS_CAP],
}

impl Reasons {
    const fn new() -> Self {
        Reasons {
            len: 0,
            items: [Reason::EmptyInput; REASONS_CAP],
        }
    }

    /// Append `r` unless it is already there.
    fn insert(&mut self, r: Reason) {
        if !self.contains(&r)
            && let Some(slot) = self.items.get_mut(usize::from(self.len))
        {
            *slot = r;
            self.len += 1;
        }
    }

    /// Keep only the reasons `keep` accepts, in order.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Reason) -> bool) {
        let mut n = 0;
        for i in 0..usize::from(self.len) {
            let r = self.items[i];
            if keep(&r) {
                self.items[n] = r;
                n += 1;
            }
        }
        self.len = n as u8;
    }
}

impl Default for Reasons {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for Reasons {
    type Target = [Reason];
    fn deref(&self) -> &[Reason] {
        &self.items[..usize::from(self.len)]
    }
}

impl<'a> IntoIterator for &'a Reasons {
    type Item = &'a Reason;
    type IntoIter = std::slice::Iter<'a, Reason>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Reasons {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Reasons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Reasons {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

/// How much a reason matters for shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Doubt,
    Incomplete,
}

impl Reason {
    pub fn severity(self) -> Severity {
        use Reason::*;
        match self {
            EmptyInput | NoDivision | MissingCity | MissingCounty | MissingDetail => {
                Severity::Incomplete
            }
            AmbiguousDivision | ProvinceCorrected | CityCorrected | CountyCorrected
            | CountyGuessed | DetailVague | InputTruncated => Severity::Doubt,
            _ => Severity::Info,
        }
    }

    /// Multiplier applied to the confidence for this reason.
    fn confidence_factor(self) -> f32 {
        use Reason::*;
        match self {
            EmptyInput | NoDivision => 0.0,
            MissingCity => 0.3,
            MissingCounty => 0.5,
            MissingDetail => 0.4,
            AmbiguousDivision => 0.4,
            ProvinceCorrected | CityCorrected => 0.6,
            CountyCorrected => 0.7,
            CountyGuessed => 0.8,
            DetailVague => 0.8,
            InputTruncated => 0.7,
            ShortName | OldName => 0.98,
            TextIgnored => 0.9,
            ProvinceInferred | CityInferred => 0.99,
            AreaCodeContext => 0.95,
            CountyFromTown => 0.9,
            TraditionalConverted | ControlCharsRemoved | NameMissing | PhoneMissing
            | ExtraPhone => 1.0,
        }
    }
}

/// Is the address good enough to ship?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Complete and consistent: ship.
    Ok,
    /// Complete but something was corrected or is ambiguous: hold for a person to confirm.
    Review,
    /// A level or the detail is missing: hold until the buyer or staff complete it.
    Incomplete,
}

/// Everything recognised in one address line.
///
/// Division names are official full names ("浙江省", "杭州市", "西湖区"); `None` (JSON `null`)
/// where unknown. For a municipality the city repeats the municipality ("上海市" / "上海市"). For a
/// county-level unit administered directly by its province (仙桃市, 济源市, 石河子市) the city is
/// the unit's own name as well. For a city without counties (东莞, 中山, 儋州, 嘉峪关) `county` is
/// `None` and that is complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedAddress {
    pub name: Option<CompactString>,
    /// Canonical number: "13812345678", "021-64581234-8", "13812345678-1234", "400-123-4567".
    pub phone: Option<CompactString>,
    pub phone_kind: Option<PhoneKind>,
    pub province: Option<&'static str>,
    pub city: Option<&'static str>,
    pub county: Option<&'static str>,
    /// Town / street level (镇, 乡, 街道), when written.
    pub town: Option<CompactString>,
    /// The rest: road, house number, building, room.
    pub detail: CompactString,
    /// Six-digit division code of the deepest level recognised (normally the county).
    pub adcode: Option<&'static str>,
    /// 0.0–1.0; 1.0 means nothing needed fixing or guessing.
    pub confidence: f32,
    pub verdict: Verdict,
    pub reasons: Reasons,
    /// Division codes the parser could not choose between (with `ambiguous_division`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<&'static str>,
    /// Further phone numbers, in the order written (with `extra_phone`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_phones: Vec<CompactString>,
}

impl ParsedAddress {
    pub(crate) fn empty() -> Self {
        ParsedAddress {
            name: None,
            phone: None,
            phone_kind: None,
            province: None,
            city: None,
            county: None,
            town: None,
            detail: CompactString::const_new(""),
            adcode: None,
            confidence: 0.0,
            verdict: Verdict::Incomplete,
            reasons: Reasons::new(),
            candidates: Vec::new(),
            other_phones: Vec::new(),
        }
    }

    /// Record a reason once.
    pub(crate) fn add(&mut self, r: Reason) {
        self.reasons.insert(r);
    }

    /// Derive verdict and confidence from the reasons.
    pub(crate) fn finish(&mut self) {
        let worst = self
            .reasons
            .iter()
            .map(|r| r.severity())
            .max()
            .unwrap_or(Severity::Info);
        self.verdict = match worst {
            Severity::Info => Verdict::Ok,
            Severity::Doubt => Verdict::Review,
            Severity::Incomplete => Verdict::Incomplete,
        };
        let c: f32 = self.reasons.iter().map(|r| r.confidence_factor()).product();
        self.confidence = (c * 100.0).round() / 100.0;
    }

    /// True when the address may ship without a person looking at it.
    pub fn is_shippable(&self) -> bool {
        self.verdict == Verdict::Ok
    }

    /// The reasons that hold the order (severity doubt or incomplete).
    pub fn hold_reasons(&self) -> impl Iterator<Item = Reason> + '_ {
        self.reasons
            .iter()
            .copied()
            .filter(|r| r.severity() > Severity::Info)
    }
}
