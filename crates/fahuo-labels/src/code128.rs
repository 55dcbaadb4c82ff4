//! Code 128 for waybill numbers: picks code sets so digit runs use set C, then asks barcoders
//! for the bar pattern.
//!
//! barcoders wants the code sets spelled out (`Ɓ` = set B, `Ć` = set C). Printing digits in
//! set C halves their width, which is what lets a 15-character number print with 3-dot
//! modules on a 76 mm label at 203 dpi.

use barcoders::sym::code128::Code128;

use crate::LabelError;

const SET_B: char = 'Ɓ';
const SET_C: char = 'Ć';

/// Returns the barcoders input for `data`: set C for all-digit data and for digit runs long
/// enough to pay for the switch, set B elsewhere.
pub(crate) fn plan(data: &str) -> Result<String, LabelError> {
    if data.is_empty() || !data.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(LabelError::BadWaybill(data.to_owned()));
    }
    let chars: Vec<char> = data.chars().collect();
    let mut out = String::with_capacity(data.len() + 4);
    let mut i = 0;
    let mut current: Option<char> = None;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let whole = i == 0 && run == chars.len();
        // A switch to C costs one symbol, and a switch back another; it pays from 4 digits
        // (6 when the C run sits in the middle), and always when the data is all digits.
        let worth_c =
            whole && run >= 2 || (i == 0 || i + run == chars.len()) && run >= 4 || run >= 6;
        if worth_c {
            // Set C encodes pairs: an odd run keeps its first digit in set B (or, when the
            // data is all digits, its last one).
            let (lead, pairs) = if run % 2 == 1 && !whole {
                (1, run - 1)
            } else {
                (0, run - run % 2)
            };
            for &c in &chars[i..i + lead] {
                switch(&mut out, &mut current, SET_B);
                out.push(c);
            }
            switch(&mut out, &mut current, SET_C);
            out.extend(&chars[i + lead..i + lead + pairs]);
            i += lead + pairs;
            if whole && run % 2 == 1 {
                switch(&mut out, &mut current, SET_B);
                out.push(chars[i]);
                i += 1;
            }
        } else {
            switch(&mut out, &mut current, SET_B);
            let n = run.max(1);
            out.extend(&chars[i..i + n]);
            i += n;
        }
    }
    Ok(out)
}

fn switch(out: &mut String, current: &mut Option<char>, set: char) {
    if *current != Some(set) {
        out.push(set);
        *current = Some(set);
    }
}

/// Bar pattern (1 = dark module) of `data`, without quiet zones.
pub(crate) fn modules(data: &str) -> Result<Vec<u8>, LabelError> {
    let planned = plan(data)?;
    let code = Code128::new(&planned).map_err(|_| LabelError::BadWaybill(data.to_owned()))?;
    Ok(code.encode())
}

/// Quiet zone on each side, in modules (the symbology asks for at least 10).
pub(crate) const QUIET_MODULES: usize = 10;

/// The widest whole-dot module (capped at `max_dots`) for which the symbol plus quiet zones
/// fits `avail_dots`; `None` if even 1-dot modules don't fit.
pub(crate) fn module_dots(n_modules: usize, avail_dots: u32, max_dots: u32) -> Option<u32> {
    (1..=max_dots)
        .rev()
        .find(|k| (n_modules + 2 * QUIET_MODULES) as u32 * k <= avail_dots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_digit_numbers_use_set_c() {
        assert_eq!(plan("73610555582883").unwrap(), "Ć73610555582883");
        // Odd length: the pairs in C, the final digit in B.
        assert_eq!(plan("773277027280336").unwrap(), "Ć77327702728033Ɓ6");
    }

    #[test]
    fn prefixed_numbers_switch_to_set_c_for_the_digits() {
        assert_eq!(plan("SF1385628716739").unwrap(), "ƁSF1Ć385628716739");
        assert_eq!(plan("YT8962646785389").unwrap(), "ƁYT8Ć962646785389");
        assert_eq!(plan("JDX024407261700").unwrap(), "ƁJDXĆ024407261700");
        assert_eq!(plan("AB12C").unwrap(), "ƁAB12C");
    }

    #[test]
    fn non_ascii_or_empty_numbers_are_rejected() {
        assert!(plan("").is_err());
        assert!(plan("顺丰123").is_err());
    }

    #[test]
    fn set_c_makes_the_symbol_shorter_than_set_b() {
        let c = modules("SF1385628716739").unwrap().len();
        let b = Code128::new("ƁSF1385628716739").unwrap().encode().len();
        assert!(c < b, "{c} !< {b}");
        // start, S, F, 1, CodeC, 6 digit pairs, check: 12 symbols of 11 modules; stop: 13
        assert_eq!(c, 12 * 11 + 13);
    }

    #[test]
    fn module_width_is_the_widest_whole_dot_count_that_fits() {
        // 145 modules + 20 quiet = 165; 575 dots available (72 mm at 203 dpi)
        assert_eq!(module_dots(145, 575, 4), Some(3));
        assert_eq!(module_dots(101, 575, 4), Some(4));
        assert_eq!(module_dots(600, 575, 4), None);
    }
}
