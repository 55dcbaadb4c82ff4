//! Town-level names (乡镇/街道) per county, used to place an address whose county is not written
//! ("浙江省织里镇…" → 湖州市吴兴区). Indexed lazily on first use so start-up stays fast.

use std::collections::HashMap;

use crate::data::{Divisions, UnitId};

const TOWNS_TSV: &str = include_str!("../data/towns.tsv");

/// Town name → the county-level units (or county-less cities) that have a town of that name.
#[derive(Debug, Default)]
pub(crate) struct TownIndex {
    by_name: HashMap<&'static str, Vec<UnitId>>,
}

impl TownIndex {
    pub fn load(data: &Divisions) -> Self {
        let mut by_name: HashMap<&'static str, Vec<UnitId>> = HashMap::with_capacity(40_000);
        for line in TOWNS_TSV.lines().filter(|l| !l.starts_with('#')) {
            let Some((code, names)) = line.split_once('\t') else {
                continue;
            };
            let Some(unit) = code
                .parse()
                .ok()
                .and_then(|c| data.by_code.get(&c).copied())
            else {
                continue;
            };
            for name in names.split('|') {
                let list = by_name.entry(name).or_default();
                if !list.contains(&unit) {
                    list.push(unit);
                }
            }
        }
        TownIndex { by_name }
    }

    /// Units with a town of exactly this name.
    pub fn units(&self, name: &str) -> &[UnitId] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Candidate town names in `text`: every run of 2–6 Han characters ending in 镇/乡/街道/苏木,
/// tried from the longest start. Returns (byte start, byte end) spans, left to right.
pub(crate) fn town_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        let suffix_len = if text[pos..].starts_with("街道") || text[pos..].starts_with("苏木") {
            2
        } else if c == '镇' || c == '乡' {
            1
        } else {
            continue;
        };
        let end = chars.get(i + suffix_len).map_or(text.len(), |&(p, _)| p);
        for back in (1..=5).rev() {
            if i < back {
                continue;
            }
            let start_i = i - back;
            if chars[start_i..i]
                .iter()
                .all(|&(_, c)| crate::normalize::is_han(c))
            {
                out.push((chars[start_i].0, end));
            }
        }
    }
    out
}
