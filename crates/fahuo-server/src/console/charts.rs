//! Report charts as inline SVG: pure functions from figures to self-contained markup (no
//! script, no stylesheet, no web font), so a page shows them as soon as its HTML arrives and
//! they print as they look.
//!
//! Every chart is `role="img"` with a `<title>` and a `<desc>` that says the figures in words,
//! so a screen reader gets the data and not just "image". All text is XML-escaped. Colours are
//! from the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies),
//! each at least 3:1 against white; lines also differ by dash pattern, so no series is told
//! apart by colour alone.

use super::Lang;
use fahuo_domain::reports::{ErrorKind, ErrorTrendRow};
use std::fmt::Write;

/// Okabe–Ito blue, vermillion, bluish green, reddish purple, then near-black.
const PALETTE: [&str; 5] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#1F2937"];
/// Dash patterns paired with the colours (solid first).
const DASHES: [&str; 5] = ["", "7 4", "2 3", "10 3 2 3", "4 2"];
const TEXT: &str = "#1F2937";
const MUTED: &str = "#4B5563";
const GRID: &str = "#D1D5DB";
const FONT: &str = "system-ui, -apple-system, 'PingFang SC', 'Hiragino Sans GB', 'Microsoft YaHei', \
                    'Noto Sans CJK SC', sans-serif";

/// The few words and punctuation a chart writes itself, per language.
struct Words {
    no_data: &'static str,
    /// Between a label and its value.
    colon: &'static str,
    /// Between the items of a description.
    sep: &'static str,
    /// Between the first and last x label: "06-01 至 06-30".
    to: &'static str,
    total: &'static str,
    peak: &'static str,
    open: &'static str,
    close: &'static str,
}

static ZH: Words = Words {
    no_data: "暂无数据",
    colon: "：",
    sep: "；",
    to: " 至 ",
    total: "合计 ",
    peak: "，最高 ",
    open: "（",
    close: "）",
};

static EN: Words = Words {
    no_data: "No data",
    colon: ": ",
    sep: "; ",
    to: " to ",
    total: "total ",
    peak: ", peak ",
    open: " (",
    close: ")",
};

fn words(lang: Lang) -> &'static Words {
    lang.pick(&ZH, &EN)
}

const WIDTH: f64 = 640.0;
const FONT_SIZE: f64 = 13.0;
const TITLE_H: f64 = 32.0;
const BAR_ROW: f64 = 26.0;
const BAR_H: f64 = 16.0;

/// Horizontal bars, one per `(label, value)`, scaled to the largest value, each labelled with
/// its value and `unit` (e.g. "元", "小时", "件"). Negative and non-finite values draw no bar.
pub fn bar_chart<L: AsRef<str>>(lang: Lang, title: &str, data: &[(L, f64)], unit: &str) -> String {
    let max = data.iter().map(|(_, v)| finite(*v)).fold(0.0_f64, f64::max);
    let bars: Vec<Bar> = data
        .iter()
        .map(|(label, v)| {
            let v = finite(*v);
            Bar {
                label: label.as_ref().to_string(),
                fraction: if max > 0.0 { (v / max).max(0.0) } else { 0.0 },
                value: format!("{}{unit}", number(v)),
            }
        })
        .collect();
    bars_svg(lang, title, &bars, None)
}

/// Horizontal bars for rates in basis points on a fixed 0–100% scale (so charts of different
/// tables compare), labelled "66.67%"; a missing rate draws no bar and says "—".
pub fn rate_bars<L: AsRef<str>>(lang: Lang, title: &str, data: &[(L, Option<i64>)]) -> String {
    let bars: Vec<Bar> = data
        .iter()
        .map(|(label, bp)| Bar {
            label: label.as_ref().to_string(),
            fraction: bp.map_or(0.0, |bp| (bp as f64 / 10_000.0).clamp(0.0, 1.0)),
            value: bp.map_or_else(|| "—".to_string(), percent),
        })
        .collect();
    bars_svg(lang, title, &bars, Some(&["0%", "50%", "100%"]))
}

/// One polyline per `(name, points)` over the union of the series' x labels (in the order
/// they first appear), with a legend; x labels are thinned when there are many. A series
/// without a point for some label has a gap there.
pub fn line_chart<N: AsRef<str>, L: AsRef<str>>(
    lang: Lang,
    title: &str,
    series: &[(N, Vec<(L, f64)>)],
) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for (_, points) in series {
        for (label, _) in points {
            if !labels.contains(&label.as_ref()) {
                labels.push(label.as_ref());
            }
        }
    }
    if labels.is_empty() {
        return empty_svg(lang, title);
    }
    let w = words(lang);
    let max = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|(_, v)| finite(*v)))
        .fold(0.0_f64, f64::max);
    let integers = series
        .iter()
        .all(|(_, points)| points.iter().all(|(_, v)| finite(*v).fract() == 0.0));
    let top = axis_top(max, integers);

    let (left, right) = (48.0, 16.0);
    let plot_w = WIDTH - left - right;
    let plot_top = TITLE_H + 8.0;
    let plot_h = 180.0;
    let plot_bottom = plot_top + plot_h;
    let per_row = ((plot_w / 130.0).floor() as usize).max(1);
    let legend_rows = series.len().div_ceil(per_row);
    let height = plot_bottom + 28.0 + legend_rows as f64 * 20.0 + 8.0;

    let n = labels.len();
    let x_at = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y_at = |v: f64| plot_bottom - plot_h * (v.max(0.0) / top);

    // In words: the span, then each series' total and peak (every point would be too much
    // to listen to for a month of days).
    let mut desc = format!("{}{}{}", labels[0], w.to, labels[n - 1]);
    for (name, points) in series {
        let total: f64 = points.iter().map(|(_, v)| finite(*v)).sum();
        let peak = points.iter().map(|(l, v)| (l.as_ref(), finite(*v))).fold(
            None,
            |best: Option<(&str, f64)>, p| match best {
                Some(b) if b.1 >= p.1 => Some(b),
                _ => Some(p),
            },
        );
        let _ = write!(
            desc,
            "{}{}{}{}{}",
            w.sep,
            name.as_ref(),
            w.colon,
            w.total,
            number(total)
        );
        if let Some((label, v)) = peak.filter(|(_, v)| *v > 0.0) {
            let _ = write!(desc, "{}{}{}{label}{}", w.peak, number(v), w.open, w.close);
        }
    }
    let mut svg = open_svg(title, &desc, height);

    // Horizontal grid with y labels: 0, ¼, ½, ¾ and the top.
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let y = y_at(v);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/><text x="{tx}" y="{ty:.1}" text-anchor="end" fill="{MUTED}" font-size="11">{}</text>"#,
            esc(&number(v)),
            x2 = WIDTH - right,
            tx = left - 6.0,
            ty = y + 4.0,
        );
    }

    // X labels: at most one per ~56 px, always the first.
    let fits = ((plot_w / 56.0).floor() as usize).max(1);
    let step = n.div_ceil(fits).max(1);
    for (i, label) in labels.iter().enumerate() {
        let last_fits = i == n - 1 && i % step >= step.div_ceil(2);
        if i % step == 0 || last_fits {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" fill="{MUTED}" font-size="11">{}</text>"#,
                esc(&truncate(label, 10)),
                x = x_at(i),
                y = plot_bottom + 16.0,
            );
        }
    }

    // Markers only while they stay apart; a single point always gets one.
    let markers = n == 1 || plot_w / n as f64 >= 12.0;
    for (s, (name, points)) in series.iter().enumerate() {
        let colour = PALETTE[s % PALETTE.len()];
        let dash = DASHES[s % DASHES.len()];
        // Points in label order; consecutive labels join, a missing label breaks the line.
        let mut placed: Vec<(usize, f64)> = points
            .iter()
            .filter_map(|(l, v)| {
                let i = labels.iter().position(|x| *x == l.as_ref())?;
                Some((i, finite(*v)))
            })
            .collect();
        placed.sort_by_key(|(i, _)| *i);
        let _ = write!(svg, r#"<g class="series" fill="none" stroke="{colour}">"#);
        for run in placed.chunk_by(|a, b| b.0 == a.0 + 1) {
            if run.len() < 2 {
                continue;
            }
            let pts: Vec<String> = run
                .iter()
                .map(|(i, v)| format!("{:.1},{:.1}", x_at(*i), y_at(*v)))
                .collect();
            let dash_attr = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
            let _ = write!(
                svg,
                r#"<polyline points="{}" stroke-width="2" stroke-linejoin="round"{dash_attr}/>"#,
                pts.join(" ")
            );
        }
        for (i, v) in &placed {
            // A lone point of a broken line needs its marker to be seen at all.
            if markers || !placed.iter().any(|(j, _)| j.abs_diff(*i) == 1) {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                    x_at(*i),
                    y_at(*v),
                    esc(&format!(
                        "{} {}{}{}",
                        name.as_ref(),
                        labels[*i],
                        w.colon,
                        number(*v)
                    )),
                );
            }
        }
        svg.push_str("</g>");
    }

    // Legend: a short stretch of each line (colour and dash) with the series name.
    for (s, (name, _)) in series.iter().enumerate() {
        let x = left + (s % per_row) as f64 * 130.0;
        let y = plot_bottom + 36.0 + (s / per_row) as f64 * 20.0;
        let dash = DASHES[s % DASHES.len()];
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = write!(
            svg,
            r#"<line x1="{x}" y1="{y}" x2="{x2}" y2="{y}" stroke="{}" stroke-width="2"{dash_attr}/><text x="{tx}" y="{ty}" fill="{TEXT}">{}</text>"#,
            PALETTE[s % PALETTE.len()],
            esc(&truncate(name.as_ref(), 8)),
            x2 = x + 24.0,
            tx = x + 30.0,
            ty = y + 4.5,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The error trend as [`line_chart`] series: one per error kind (all four, so a kind keeps its
/// colour from one period to the next), a point per day from the first to the last day with
/// errors (quiet days are 0), labelled "MM-DD".
pub fn error_series(rows: &[ErrorTrendRow], lang: Lang) -> Vec<(&'static str, Vec<(String, f64)>)> {
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.day).min(),
        rows.iter().map(|r| r.day).max(),
    ) else {
        return Vec::new();
    };
    let days: Vec<_> = first.iter_days().take_while(|d| *d <= last).collect();
    ErrorKind::ALL
        .iter()
        .map(|kind| {
            let points = days
                .iter()
                .map(|day| {
                    let count: i64 = rows
                        .iter()
                        .filter(|r| r.day == *day && r.kind == *kind)
                        .map(|r| r.count)
                        .sum();
                    (day.format("%m-%d").to_string(), count as f64)
                })
                .collect();
            (lang.pick(kind.label_zh(), kind.label_en()), points)
        })
        .collect()
}

/// One horizontal bar: its label, its length as a share of the bar area, the text after it.
struct Bar {
    label: String,
    fraction: f64,
    value: String,
}

/// Horizontal bars; `scale` labels a fixed 0–50–100% axis under them.
fn bars_svg(lang: Lang, title: &str, bars: &[Bar], scale: Option<&[&str; 3]>) -> String {
    if bars.is_empty() {
        return empty_svg(lang, title);
    }
    let words = words(lang);
    let label_w = bars
        .iter()
        .map(|b| text_width(&truncate(&b.label, 14)))
        .fold(40.0_f64, f64::max)
        .min(200.0)
        + 12.0;
    let value_w = bars
        .iter()
        .map(|b| text_width(&b.value))
        .fold(40.0_f64, f64::max)
        + 12.0;
    let left = 8.0 + label_w;
    let area = (WIDTH - left - value_w - 8.0).max(40.0);
    let top = TITLE_H + 8.0;
    let bottom = top + bars.len() as f64 * BAR_ROW;
    let height = bottom + if scale.is_some() { 24.0 } else { 8.0 };

    let desc = bars
        .iter()
        .map(|b| format!("{}{}{}", b.label, words.colon, b.value))
        .collect::<Vec<_>>()
        .join(words.sep);
    let mut svg = open_svg(title, &desc, height);
    if let Some(ticks) = scale {
        for (k, tick) in ticks.iter().enumerate() {
            let x = left + area * k as f64 / 2.0;
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/><text x="{x:.1}" y="{ty}" text-anchor="middle" fill="{MUTED}" font-size="11">{tick}</text>"#,
                ty = bottom + 16.0,
            );
        }
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = top + i as f64 * BAR_ROW;
        let mid = y + BAR_ROW / 2.0 + FONT_SIZE * 0.35;
        let mut w = area * bar.fraction;
        // A bar above zero stays visible however small.
        if bar.fraction > 0.0 {
            w = w.max(1.0);
        }
        let _ = write!(
            svg,
            r#"<g><title>{full}{colon}{value}</title><text x="{lx:.1}" y="{mid:.1}" text-anchor="end" fill="{TEXT}">{label}</text><rect class="bar" x="{left:.1}" y="{by:.1}" width="{w:.2}" height="{BAR_H}" rx="2" fill="{bar_fill}"/><text x="{vx:.1}" y="{mid:.1}" fill="{TEXT}">{value}</text></g>"#,
            full = esc(&bar.label),
            colon = words.colon,
            value = esc(&bar.value),
            label = esc(&truncate(&bar.label, 14)),
            lx = left - 8.0,
            by = y + (BAR_ROW - BAR_H) / 2.0,
            bar_fill = PALETTE[0],
            vx = left + w + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn empty_svg(lang: Lang, title: &str) -> String {
    let height = TITLE_H + 56.0;
    let no_data = words(lang).no_data;
    let mut svg = open_svg(title, no_data, height);
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{y}" text-anchor="middle" fill="{MUTED}">{no_data}</text></svg>"#,
        x = WIDTH / 2.0,
        y = TITLE_H + 30.0,
    );
    svg
}

/// The opening tag, the accessible title and description, and the visible title.
fn open_svg(title: &str, desc: &str, height: f64) -> String {
    // Ids for aria-labelledby, unique per content so several charts can share a page.
    let id = format!("chart-{:08x}", fnv(&[title, desc]));
    let title = esc(title);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" style="max-width:100%;height:auto" font-family="{FONT}" font-size="{FONT_SIZE}"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc><rect width="100%" height="100%" fill="#FFFFFF"/><text x="8" y="22" font-size="15" font-weight="600" fill="{TEXT}">{title}</text>"##,
        desc = esc(desc),
    )
}

/// FNV-1a, 32 bits: a stable short id from text.
fn fnv(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in parts.iter().flat_map(|p| p.bytes().chain([0])) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Escapes text for XML content and attribute values alike; drops the control characters XML
/// 1.0 cannot carry at all.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, an ellipsis marking the cut (the full text is in the tooltip
/// and the description).
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Rough rendered width at the base font size: CJK and other wide characters are about one em,
/// Latin letters and digits about 0.6 em. Only used to lay out label columns.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) < 0x2E80 { 0.6 } else { 1.0 })
        .sum::<f64>()
        * FONT_SIZE
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// "12", "12.5", "3.33": up to two decimals, no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{:.2}", finite(v));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn percent(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let bp = bp.unsigned_abs();
    format!("{sign}{}.{:02}%", bp / 100, bp % 100)
}

/// The top of a y axis gridded in quarters: four times the smallest step of 1, 2, 2.5, 3 or
/// 5 × 10ⁿ that reaches `max`; for whole numbers the step is a whole number too, so counts get
/// gridlines at counts. Nothing above zero gives the axis of a maximum of 1.
fn axis_top(max: f64, integers: bool) -> f64 {
    let raw = if max > 0.0 && max.is_finite() {
        max / 4.0
    } else {
        0.25
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 3.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .filter(|step| !integers || (*step >= 1.0 && step.fract() == 0.0))
        .find(|step| *step >= raw)
        .unwrap_or(if integers { raw.ceil().max(1.0) } else { raw });
    step * 4.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use quick_xml::Reader;
    use quick_xml::XmlVersion;
    use quick_xml::events::Event;

    /// What a well-formed chart holds: its text nodes by element name, and every element with
    /// its attributes (values unescaped).
    #[derive(Default)]
    struct Parsed {
        texts: Vec<(String, String)>,
        elements: Vec<(String, Vec<(String, String)>)>,
    }

    impl Parsed {
        fn texts(&self, element: &str) -> Vec<&str> {
            self.texts
                .iter()
                .filter(|(e, _)| e == element)
                .map(|(_, t)| t.as_str())
                .collect()
        }

        fn attr_of(&self, element: &str, name: &str) -> Vec<String> {
            self.elements
                .iter()
                .filter(|(e, _)| e == element)
                .filter_map(|(_, attrs)| attrs.iter().find(|(n, _)| n == name))
                .map(|(_, v)| v.clone())
                .collect()
        }

        fn bar_widths(&self) -> Vec<f64> {
            self.elements
                .iter()
                .filter(|(e, attrs)| {
                    e == "rect" && attrs.iter().any(|(n, v)| n == "class" && v == "bar")
                })
                .map(|(_, attrs)| {
                    let w = attrs.iter().find(|(n, _)| n == "width").unwrap();
                    w.1.parse().unwrap()
                })
                .collect()
        }
    }

    /// Parses `svg` as XML, failing the test on any error: mismatched or unclosed tags, a bad
    /// attribute, an entity other than XML's five or a character reference, a second root.
    /// Also checks the accessible frame: an `<svg role="img">` root whose first children are
    /// `<title>` and `<desc>`.
    fn parse(svg: &str) -> Parsed {
        let mut reader = Reader::from_str(svg);
        let mut parsed = Parsed::default();
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut text = String::new();
        loop {
            let event = reader.read_event().unwrap_or_else(|e| panic!("{e}: {svg}"));
            let element = |e: &quick_xml::events::BytesStart<'_>| {
                let name = e.name().as_ref().to_string();
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap_or_else(|e| panic!("{e}: {svg}"));
                        let key = a.key.as_ref().to_string();
                        let value = a.normalized_value(XmlVersion::Implicit1_0);
                        (
                            key,
                            value.unwrap_or_else(|e| panic!("{e}: {svg}")).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                (name, attrs)
            };
            match event {
                Event::Start(e) => {
                    let (name, attrs) = element(&e);
                    if stack.is_empty() {
                        roots += 1;
                    }
                    stack.push(name.clone());
                    parsed.elements.push((name, attrs));
                    text.clear();
                }
                Event::Empty(e) => {
                    assert!(!stack.is_empty(), "an element outside the root: {svg}");
                    parsed.elements.push(element(&e));
                }
                Event::End(_) => {
                    let name = stack.pop().expect("balanced");
                    if !text.is_empty() {
                        parsed.texts.push((name, std::mem::take(&mut text)));
                    }
                }
                Event::Text(t) => {
                    assert!(!stack.is_empty() || t.xml10_content().trim().is_empty());
                    text.push_str(&t.xml10_content());
                }
                Event::GeneralRef(r) => {
                    let name = r.into_inner();
                    text.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        n => n
                            .strip_prefix('#')
                            .and_then(|d| d.parse::<u32>().ok())
                            .and_then(char::from_u32)
                            .unwrap_or_else(|| panic!("unknown entity &{n}; in {svg}")),
                    });
                }
                Event::Eof => break,
                other => panic!("unexpected {other:?} in {svg}"),
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1);
        let (root, attrs) = &parsed.elements[0];
        assert_eq!(root, "svg");
        assert!(attrs.contains(&("role".into(), "img".into())));
        assert!(attrs.contains(&("xmlns".into(), "http://www.w3.org/2000/svg".into())));
        assert_eq!(parsed.elements[1].0, "title");
        assert_eq!(parsed.elements[2].0, "desc");
        // aria-labelledby points at them.
        let ids: Vec<String> = [1, 2]
            .iter()
            .map(|i| {
                let attrs = &parsed.elements[*i].1;
                attrs.iter().find(|(n, _)| n == "id").unwrap().1.clone()
            })
            .collect();
        assert_eq!(
            parsed.attr_of("svg", "aria-labelledby"),
            vec![ids.join(" ")]
        );
        // Self-contained: nothing loaded from elsewhere, nothing run.
        for bad in ["<script", "<style", "href=", "url(", "@import", "on"] {
            let needle = if bad == "on" { " onload=" } else { bad };
            assert!(!svg.contains(needle), "{bad} in {svg}");
        }
        parsed
    }

    const NASTY: &str = r#"<b>A&B "C" 'D'</b>"#;

    #[test]
    fn bars_are_proportional_and_labelled() {
        let svg = bar_chart(
            Lang::Zh,
            "单均运费",
            &[("中通快递", 12.5), ("顺丰速运", 25.0), ("圆通速递", 5.0)],
            "元",
        );
        let p = parse(&svg);
        assert_eq!(p.texts("title")[0], "单均运费");
        let w = p.bar_widths();
        assert_eq!(w.len(), 3);
        assert!((w[0] / w[1] - 0.5).abs() < 1e-3, "{w:?}");
        assert!((w[2] / w[1] - 0.2).abs() < 1e-3, "{w:?}");
        let texts = p.texts("text");
        for want in ["中通快递", "12.5元", "顺丰速运", "25元", "5元"] {
            assert!(texts.contains(&want), "{want} not in {texts:?}");
        }
        assert!(p.texts("desc")[0].contains("中通快递：12.5元"));
    }

    #[test]
    fn text_is_escaped() {
        let bars = bar_chart(Lang::Zh, NASTY, &[(NASTY, 1.0)], "&");
        let rates = rate_bars(Lang::Zh, NASTY, &[(NASTY, Some(5000))]);
        let lines = line_chart(Lang::Zh, NASTY, &[(NASTY, vec![(NASTY, 1.0), ("x", 2.0)])]);
        for svg in [bars, rates, lines] {
            assert!(!svg.contains("<b>") && !svg.contains("A&B"), "{svg}");
            let p = parse(&svg);
            assert_eq!(p.texts("title")[0], NASTY);
            assert!(
                p.texts("text").iter().any(|t| t.contains("A&B \"C")),
                "{:?}",
                p.texts("text")
            );
        }
    }

    #[test]
    fn empty_data_says_so() {
        let none: [(&str, f64); 0] = [];
        let no_rates: [(&str, Option<i64>); 0] = [];
        let no_series: [(&str, Vec<(&str, f64)>); 0] = [];
        let empty_series = [("地址问题", Vec::<(&str, f64)>::new())];
        for svg in [
            bar_chart(Lang::Zh, "运费", &none, "元"),
            rate_bars(Lang::Zh, "揽收率", &no_rates),
            line_chart(Lang::Zh, "差错趋势", &no_series),
            line_chart(Lang::Zh, "差错趋势", &empty_series),
        ] {
            let p = parse(&svg);
            assert!(p.texts("text").contains(&"暂无数据"), "{svg}");
            assert_eq!(p.texts("desc"), vec!["暂无数据"]);
        }
    }

    #[test]
    fn zero_max_draws_empty_bars() {
        let p = parse(&bar_chart(
            Lang::Zh,
            "异常数",
            &[("A", 0.0), ("B", 0.0)],
            "件",
        ));
        assert_eq!(p.bar_widths(), vec![0.0, 0.0]);
        // Negative, NaN and infinite values draw nothing and break nothing.
        let p = parse(&bar_chart(
            Lang::Zh,
            "x",
            &[
                ("A", -3.0),
                ("B", f64::NAN),
                ("C", f64::INFINITY),
                ("D", 2.0),
            ],
            "",
        ));
        let w = p.bar_widths();
        assert_eq!(&w[..3], &[0.0, 0.0, 0.0]);
        assert!(w[3] > 0.0);
    }

    #[test]
    fn tiny_bars_stay_visible() {
        let w = parse(&bar_chart(
            Lang::Zh,
            "x",
            &[("A", 1.0), ("B", 100_000.0)],
            "",
        ))
        .bar_widths();
        assert!(w[0] >= 1.0 && w[1] > 100.0, "{w:?}");
    }

    #[test]
    fn rates_use_a_fixed_scale() {
        let p = parse(&rate_bars(
            Lang::Zh,
            "揽收率",
            &[
                ("全部", Some(7778)),
                ("顺丰", Some(10_000)),
                ("中通", None),
                ("韵达", Some(2500)),
            ],
        ));
        let w = p.bar_widths();
        // Full scale is the 100% bar, not the largest value.
        assert!((w[0] / w[1] - 0.7778).abs() < 1e-3, "{w:?}");
        assert_eq!(w[2], 0.0);
        assert!((w[3] / w[1] - 0.25).abs() < 1e-3, "{w:?}");
        let texts = p.texts("text");
        for want in ["77.78%", "100.00%", "—", "25.00%", "0%", "50%", "100%"] {
            assert!(texts.contains(&want), "{want} not in {texts:?}");
        }
        // Below 0 and above 100% stay on the scale.
        let w = parse(&rate_bars(
            Lang::Zh,
            "x",
            &[("a", Some(20_000)), ("b", Some(-5)), ("c", Some(10_000))],
        ))
        .bar_widths();
        assert_eq!(w[0], w[2]);
        assert_eq!(w[1], 0.0);
        assert_eq!(percent(-5), "-0.05%");
    }

    fn trend() -> Vec<ErrorTrendRow> {
        let day = |d| NaiveDate::from_ymd_opt(2025, 6, d).unwrap();
        vec![
            ErrorTrendRow {
                day: day(8),
                kind: ErrorKind::LateShipment,
                count: 3,
            },
            ErrorTrendRow {
                day: day(10),
                kind: ErrorKind::Address,
                count: 1,
            },
        ]
    }

    #[test]
    fn error_series_fill_every_day_and_kind() {
        let series = error_series(&trend(), Lang::Zh);
        assert_eq!(series.len(), 4);
        assert_eq!(series[0].0, "地址问题");
        let address: Vec<(&str, f64)> = series[0].1.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        assert_eq!(
            address,
            vec![("06-08", 0.0), ("06-09", 0.0), ("06-10", 1.0)]
        );
        assert_eq!(series[3].0, "超时发货");
        assert_eq!(series[3].1[0], ("06-08".to_string(), 3.0));
        assert!(error_series(&[], Lang::Zh).is_empty());
    }

    #[test]
    fn line_chart_has_a_line_and_legend_per_series() {
        let svg = line_chart(Lang::Zh, "差错趋势", &error_series(&trend(), Lang::Zh));
        let p = parse(&svg);
        assert_eq!(p.attr_of("polyline", "points").len(), 4);
        let texts = p.texts("text");
        for want in [
            "地址问题",
            "错发漏发",
            "单号错误",
            "超时发货",
            "06-08",
            "06-10",
        ] {
            assert!(texts.contains(&want), "{want} not in {texts:?}");
        }
        // Whole-number counts: grid labels are whole numbers (max 3 → 0, 1, 2, 3, 4).
        for want in ["0", "1", "2", "3", "4"] {
            assert!(texts.contains(&want), "{want} not in {texts:?}");
        }
        assert!(p.texts("desc")[0].contains("超时发货：合计 3，最高 3（06-08）"));
        // Different dash patterns, not just colours.
        let dashes = p.attr_of("polyline", "stroke-dasharray");
        assert_eq!(dashes.len(), 3, "the first line is solid");
    }

    #[test]
    fn a_single_point_is_a_marker() {
        let p = parse(&line_chart(
            Lang::Zh,
            "x",
            &[("地址问题", vec![("06-08", 2.0)])],
        ));
        assert!(p.attr_of("polyline", "points").is_empty());
        assert_eq!(p.attr_of("circle", "cx").len(), 1);
        // Centred.
        let cx: f64 = p.attr_of("circle", "cx")[0].parse().unwrap();
        assert!((cx - (48.0 + (WIDTH - 64.0) / 2.0)).abs() < 0.1);
    }

    #[test]
    fn many_x_labels_are_thinned() {
        let points: Vec<(String, f64)> = (0..90).map(|i| (format!("d{i:02}"), i as f64)).collect();
        let p = parse(&line_chart(Lang::Zh, "x", &[("s", points)]));
        let shown = p
            .texts("text")
            .iter()
            .filter(|t| t.starts_with('d'))
            .count();
        assert!((5..=12).contains(&shown), "{shown} labels");
        // One line, no markers crowding it.
        assert_eq!(p.attr_of("polyline", "points").len(), 1);
        assert!(p.attr_of("circle", "cx").is_empty());
    }

    #[test]
    fn gaps_break_lines() {
        let p = parse(&line_chart(
            Lang::Zh,
            "x",
            &[
                ("a", vec![("1", 1.0), ("2", 2.0), ("3", 3.0), ("4", 4.0)]),
                ("b", vec![("1", 1.0), ("2", 1.0), ("4", 1.0)]),
            ],
        ));
        // a: one line; b: 1–2 joined, 4 alone.
        assert_eq!(p.attr_of("polyline", "points").len(), 2);
    }

    #[test]
    fn all_zero_lines_sit_on_the_baseline() {
        let p = parse(&line_chart(
            Lang::Zh,
            "x",
            &[("a", vec![("1", 0.0), ("2", 0.0)])],
        ));
        let points = &p.attr_of("polyline", "points")[0];
        let ys: Vec<&str> = points
            .split(' ')
            .map(|xy| xy.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(ys[0], ys[1]);
    }

    #[test]
    fn the_xml_check_catches_broken_markup() {
        let good = bar_chart(Lang::Zh, "a&b", &[("<x>", 1.0)], "");
        parse(&good);
        let broken = [
            good.replace("&amp;", "&"),
            good.replace("&lt;", "<"),
            good.replace("</svg>", ""),
            good.replace("</title>", "</desc>"),
            good.replace(r#"role="img""#, ""),
            format!("{good}<svg/>"),
        ];
        for bad in broken {
            let caught = std::panic::catch_unwind(|| parse(&bad)).is_err();
            assert!(caught, "accepted: {bad}");
        }
    }

    #[test]
    fn axis_tops() {
        assert_eq!(axis_top(3.0, true), 4.0);
        assert_eq!(axis_top(0.0, true), 4.0);
        assert_eq!(axis_top(0.0, false), 1.0);
        assert_eq!(axis_top(10.0, true), 12.0);
        assert_eq!(axis_top(100.0, true), 100.0);
        assert!((axis_top(0.7, false) - 0.8).abs() < 1e-9);
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(-0.001), "0");
    }
}
