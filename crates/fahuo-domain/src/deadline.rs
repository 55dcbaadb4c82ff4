//! Ship-by deadlines (发货时效): countdowns, alert thresholds, and what to do about an order
//! that will miss its deadline because stock is short.
//!
//! The deadline itself always comes from the platform's own field (`ship_by` on the order);
//! nothing here assumes 48 hours.

use crate::{ParseError, Platform};
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// China Standard Time (UTC+8, no daylight saving): the calendar merchants and buyers live by.
/// Evaluated at compile time, so the `panic!` can only ever be a build error.
pub const SHANGHAI: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The calendar day of `at` in Asia/Shanghai (its `Display` is `YYYY-MM-DD`).
pub fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&SHANGHAI).date_naive()
}

/// The platforms' rule: a delivery negotiation must be filed at least this long before `ship_by`.
const NEGOTIATE_LEAD: Duration = Duration::hours(4);
/// WeChat allows at most this many delivery negotiations per order.
const MAX_NEGOTIATIONS: u32 = 3;

/// When to warn about an approaching deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadlineSettings {
    /// Hours before the deadline at which to alert, any order (default 24, 6, 1).
    pub alert_hours: Vec<i64>,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        DeadlineSettings {
            alert_hours: vec![24, 6, 1],
        }
    }
}

impl DeadlineSettings {
    /// 1 to 10 thresholds, each 1..=720 hours, no duplicates; stored sorted descending.
    ///
    /// Any order is accepted on input (a merchant typing "1, 6, 24" means the same thing);
    /// the returned settings are sorted.
    pub fn validate(self) -> Result<DeadlineSettings, ParseError> {
        let field = "alert_hours";
        let mut hours = self.alert_hours;
        if !(1..=10).contains(&hours.len()) {
            return Err(ParseError::new(field, "between 1 and 10 thresholds"));
        }
        if let Some(h) = hours.iter().find(|h| !(1..=720).contains(*h)) {
            return Err(ParseError::new(
                field,
                format!("{h} is not between 1 and 720 hours"),
            ));
        }
        hours.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(pair) = hours.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ParseError::new(
                field,
                format!("{} hours is listed twice", pair[0]),
            ));
        }
        Ok(DeadlineSettings { alert_hours: hours })
    }
}

/// Time left until a deadline, for lists and the at-risk queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Countdown {
    pub ship_by: DateTime<Utc>,
    /// Negative once overdue.
    pub remaining_seconds: i64,
    /// e.g. "剩余 5小时12分", "剩余 2天3小时", "已超时 1小时5分".
    pub label_zh: String,
    /// The smallest configured threshold the order is within, in hours (`None`: none yet).
    pub within_hours: Option<i64>,
    pub overdue: bool,
}

impl Countdown {
    /// [`Countdown::label_zh`] in English, e.g. "5h 12m left", "overdue by 1h 5m".
    pub fn label_en(&self) -> String {
        let span = span_en(self.remaining_seconds.unsigned_abs());
        if self.overdue {
            format!("overdue by {span}")
        } else {
            format!("{span} left")
        }
    }
}

pub fn countdown(
    ship_by: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeadlineSettings,
) -> Countdown {
    let remaining_seconds = (ship_by - now).num_seconds();
    let overdue = remaining_seconds < 0;
    let label_zh = if overdue {
        format!("已超时 {}", span_zh(remaining_seconds.unsigned_abs()))
    } else {
        format!("剩余 {}", span_zh(remaining_seconds.unsigned_abs()))
    };
    // An overdue order is within every threshold, so this is the smallest one.
    let within_hours = settings
        .alert_hours
        .iter()
        .copied()
        .filter(|h| h.saturating_mul(3600) >= remaining_seconds)
        .min();
    Countdown {
        ship_by,
        remaining_seconds,
        label_zh,
        within_hours,
        overdue,
    }
}

/// A length of time as staff read it at a glance: the two largest units, truncated (a
/// countdown never promises more time than there is), zero parts left out: "2天3小时",
/// "2天", "5小时12分", "12分", and "不到1分" under a minute.
fn span_zh(seconds: u64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => "不到1分".to_string(),
        (0, 0, m) => format!("{m}分"),
        (0, h, 0) => format!("{h}小时"),
        (0, h, m) => format!("{h}小时{m}分"),
        (d, 0, _) => format!("{d}天"),
        (d, h, _) => format!("{d}天{h}小时"),
    }
}

/// [`span_zh`] in English: "2d 3h", "2d", "5h 12m", "12m", "under 1m".
fn span_en(seconds: u64) -> String {
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => "under 1m".to_string(),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The thresholds (hours) the order has crossed and not been alerted for yet, largest first.
/// An order first seen 3 h before its deadline with thresholds 24/6/1 gets only the 6 h alert
/// (the 24 h one is moot once the 6 h one fires): at most one alert per call, the smallest
/// crossed threshold not in `already`.
///
/// Precisely: the smallest threshold the order has crossed (remaining time ≤ threshold), unless
/// that one is in `already`, in which case `None`. Larger thresholds are never alerted late: an
/// order alerted at 6 h does not get a 24 h alert afterwards, and an overdue order whose
/// smallest threshold was already alerted gets nothing more (it sits in the overdue list
/// instead of paging people again). An overdue order never alerted gets the smallest threshold.
pub fn due_alert(
    ship_by: DateTime<Utc>,
    now: DateTime<Utc>,
    settings: &DeadlineSettings,
    already: &[i64],
) -> Option<i64> {
    let remaining_seconds = (ship_by - now).num_seconds();
    let smallest_crossed = settings
        .alert_hours
        .iter()
        .copied()
        .filter(|h| h.saturating_mul(3600) >= remaining_seconds)
        .min()?;
    (!already.contains(&smallest_crossed)).then_some(smallest_crossed)
}

/// Something the merchant can do for an order that waits for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Remedy {
    /// Ask the platform for a later deadline (WeChat `deliverynegotiation`, reason 2 缺货).
    NegotiateDelay { until: DateTime<Utc> },
    /// Tell the buyer; `draft` is a ready-to-send message in Chinese.
    MessageBuyer { draft: String },
    /// Ship what is in stock now, the rest later.
    PartialShipment,
}

/// The facts about a stock-out order that decide which remedies make sense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockoutFacts {
    pub platform: Platform,
    pub ship_by: Option<DateTime<Utc>>,
    /// When the missing stock is expected (purchase ETA), if known.
    pub expected_at: Option<DateTime<Utc>>,
    /// Delivery negotiations already filed for the order.
    pub negotiations_used: u32,
    /// Some of the order's lines could ship now.
    pub partly_available: bool,
    pub now: DateTime<Utc>,
}

/// Remedies for an order that will miss its deadline (none when it will not: the stock is
/// expected before the deadline, or there is no deadline).
///
/// - `NegotiateDelay`: WeChat only; fewer than 3 negotiations; at least 4 h before `ship_by`
///   (the platform's rules); `until` = the expected date + 1 day (or `ship_by` + 3 days when
///   unknown).
/// - `PartialShipment`: when some lines are available.
/// - `MessageBuyer`: always, with the expected date when known.
///
/// "Before the deadline" is strict: stock arriving exactly at `ship_by` cannot be packed in
/// time, so it still gets remedies. Other platforms than WeChat have no negotiation API that
/// fahuo uses, so they get only the other two.
pub fn stockout_remedies(facts: &StockoutFacts) -> Vec<Remedy> {
    let Some(ship_by) = facts.ship_by else {
        return Vec::new();
    };
    if facts.expected_at.is_some_and(|at| at < ship_by) {
        return Vec::new();
    }
    let mut remedies = Vec::new();
    let can_negotiate = facts.platform == Platform::Wechat
        && facts.negotiations_used < MAX_NEGOTIATIONS
        && ship_by - facts.now >= NEGOTIATE_LEAD;
    if can_negotiate {
        let until = match facts.expected_at {
            Some(at) => at + Duration::days(1),
            None => ship_by + Duration::days(3),
        };
        remedies.push(Remedy::NegotiateDelay { until });
    }
    if facts.partly_available {
        remedies.push(Remedy::PartialShipment);
    }
    remedies.push(Remedy::MessageBuyer {
        draft: buyer_draft(facts.expected_at),
    });
    remedies
}

/// A message customer service can send as is: apologetic, concrete about the date when there
/// is one, and written the way buyers read dates (6月20日, China time).
fn buyer_draft(expected_at: Option<DateTime<Utc>>) -> String {
    match expected_at {
        Some(at) => {
            let day = shanghai_day(at);
            format!(
                "亲，非常抱歉，您订单中的商品暂时缺货，预计{}月{}日到货，到货后我们会第一时间为您发出。给您带来不便，敬请谅解！",
                day.month(),
                day.day()
            )
        }
        None => "亲，非常抱歉，您订单中的商品暂时缺货，我们正在加紧补货，到货后会第一时间为您发出并通知您。给您带来不便，敬请谅解！".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// 2025-06-18 12:00 in Shanghai.
    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 18, 4, 0, 0).unwrap()
    }

    fn secs(s: i64) -> Duration {
        Duration::seconds(s)
    }

    const H: i64 = 3600;
    const M: i64 = 60;
    const D: i64 = 86_400;

    #[test]
    fn countdowns_read_like_a_clock_on_the_wall() {
        // (name, seconds left, label, within_hours with 24/6/1, overdue)
        let cases: &[(&str, i64, &str, Option<i64>, bool)] = &[
            (
                "days and hours",
                2 * D + 3 * H + 59 * M,
                "剩余 2天3小时",
                None,
                false,
            ),
            ("whole days", 2 * D, "剩余 2天", None, false),
            ("exactly 24 h is within 24", D, "剩余 1天", Some(24), false),
            (
                "just over 24 h is within none",
                D + 1,
                "剩余 1天",
                None,
                false,
            ),
            (
                "hours and minutes",
                5 * H + 12 * M + 59,
                "剩余 5小时12分",
                Some(6),
                false,
            ),
            ("whole hours", 5 * H, "剩余 5小时", Some(6), false),
            ("exactly 6 h", 6 * H, "剩余 6小时", Some(6), false),
            ("minutes", 12 * M + 30, "剩余 12分", Some(1), false),
            ("under a minute", 59, "剩余 不到1分", Some(1), false),
            (
                "the deadline itself is not overdue",
                0,
                "剩余 不到1分",
                Some(1),
                false,
            ),
            ("one second late", -1, "已超时 不到1分", Some(1), true),
            (
                "overdue",
                -(H + 5 * M + 20),
                "已超时 1小时5分",
                Some(1),
                true,
            ),
            (
                "long overdue",
                -(3 * D + 2 * H),
                "已超时 3天2小时",
                Some(1),
                true,
            ),
        ];
        let settings = DeadlineSettings::default();
        for &(name, left, label, within, overdue) in cases {
            let c = countdown(noon() + secs(left), noon(), &settings);
            assert_eq!(c.remaining_seconds, left, "{name}");
            assert_eq!(c.label_zh, label, "{name}");
            assert!(
                !c.label_en().is_empty() && c.label_en().is_ascii(),
                "{name}"
            );
            assert_eq!(c.within_hours, within, "{name}");
            assert_eq!(c.overdue, overdue, "{name}");
            assert_eq!(c.ship_by, noon() + secs(left), "{name}");
        }
    }

    #[test]
    fn without_thresholds_no_order_is_within_one() {
        let none = DeadlineSettings {
            alert_hours: vec![],
        };
        assert_eq!(
            countdown(noon(), noon() + secs(H), &none).within_hours,
            None
        );
    }

    #[test]
    fn one_alert_per_call_for_the_smallest_threshold_crossed() {
        // (name, seconds left, already alerted, alert)
        let cases: &[(&str, i64, &[i64], Option<i64>)] = &[
            ("far away", 30 * H, &[], None),
            ("24 h crossed", 20 * H, &[], Some(24)),
            ("exactly at 24 h", 24 * H, &[], Some(24)),
            ("24 h already sent", 20 * H, &[24], None),
            (
                "first seen 3 h before: only the 6 h alert",
                3 * H,
                &[],
                Some(6),
            ),
            ("6 h after 24 h", 3 * H, &[24], Some(6)),
            ("6 h already sent, 24 h is moot", 3 * H, &[6], None),
            ("1 h after 6 h", 30 * M, &[24, 6], Some(1)),
            ("1 h sent, nothing else", 30 * M, &[24, 6, 1], None),
            ("1 h sent, 6 h never comes late", 30 * M, &[1], None),
            ("overdue, never alerted", -2 * H, &[], Some(1)),
            ("overdue, smallest already alerted", -2 * H, &[1], None),
            (
                "overdue, only larger ones alerted",
                -2 * H,
                &[24, 6],
                Some(1),
            ),
            // A renegotiated deadline moves the order back out of the 1 h window.
            (
                "deadline extended after the 1 h alert",
                5 * H,
                &[24, 6, 1],
                None,
            ),
            (
                "deadline extended, 6 h not sent since",
                5 * H,
                &[1],
                Some(6),
            ),
        ];
        let settings = DeadlineSettings::default();
        for &(name, left, already, alert) in cases {
            assert_eq!(
                due_alert(noon() + secs(left), noon(), &settings, already),
                alert,
                "{name}"
            );
        }
    }

    #[test]
    fn settings_are_checked_and_sorted() {
        type Hours = Vec<i64>;
        // (name, input, the stored thresholds, or None when refused)
        let cases: Vec<(&str, Hours, Option<Hours>)> = vec![
            ("default", vec![24, 6, 1], Some(vec![24, 6, 1])),
            (
                "any order is sorted descending",
                vec![1, 24, 6],
                Some(vec![24, 6, 1]),
            ),
            ("one threshold", vec![12], Some(vec![12])),
            ("bounds are inclusive", vec![1, 720], Some(vec![720, 1])),
            (
                "ten thresholds",
                (1..=10).collect(),
                Some((1..=10).rev().collect()),
            ),
            ("none", vec![], None),
            ("eleven", (1..=11).collect(), None),
            ("zero hours", vec![24, 0], None),
            ("negative", vec![-1], None),
            ("over a month", vec![721], None),
            ("duplicate", vec![6, 24, 6], None),
        ];
        for (name, input, expected) in cases {
            let got = DeadlineSettings { alert_hours: input }
                .validate()
                .ok()
                .map(|s| s.alert_hours);
            assert_eq!(got, expected, "{name}");
        }
        assert_eq!(
            DeadlineSettings::default().validate(),
            Ok(DeadlineSettings::default())
        );
    }

    #[test]
    fn settings_have_defaults_and_refuse_unknown_fields() {
        let empty: DeadlineSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.alert_hours, vec![24, 6, 1]);
        assert!(serde_json::from_str::<DeadlineSettings>(r#"{"hours":[1]}"#).is_err());
    }

    fn stockout(platform: Platform) -> StockoutFacts {
        StockoutFacts {
            platform,
            ship_by: Some(noon() + secs(2 * D)),
            expected_at: None,
            negotiations_used: 0,
            partly_available: false,
            now: noon(),
        }
    }

    /// Which remedies, by kind, in the order they are offered.
    fn kinds(remedies: &[Remedy]) -> Vec<&'static str> {
        remedies
            .iter()
            .map(|r| match r {
                Remedy::NegotiateDelay { .. } => "negotiate",
                Remedy::MessageBuyer { .. } => "message",
                Remedy::PartialShipment => "partial",
            })
            .collect()
    }

    #[test]
    fn remedies_fit_the_platform_and_the_time_left() {
        type Tweak = fn(&mut StockoutFacts);
        // (name, platform, change to the facts, remedies offered)
        let cases: &[(&str, Platform, Tweak, &[&str])] = &[
            (
                "wechat, time left",
                Platform::Wechat,
                |_| {},
                &["negotiate", "message"],
            ),
            (
                "douyin cannot negotiate",
                Platform::Douyin,
                |_| {},
                &["message"],
            ),
            (
                "xiaohongshu cannot negotiate",
                Platform::Xiaohongshu,
                |_| {},
                &["message"],
            ),
            (
                "manual orders cannot negotiate",
                Platform::Manual,
                |_| {},
                &["message"],
            ),
            (
                "some lines can ship now",
                Platform::Wechat,
                |f| f.partly_available = true,
                &["negotiate", "partial", "message"],
            ),
            (
                "two negotiations used, one left",
                Platform::Wechat,
                |f| f.negotiations_used = 2,
                &["negotiate", "message"],
            ),
            (
                "three negotiations used",
                Platform::Wechat,
                |f| f.negotiations_used = 3,
                &["message"],
            ),
            (
                "exactly 4 h before the deadline",
                Platform::Wechat,
                |f| f.now = f.ship_by.unwrap() - Duration::hours(4),
                &["negotiate", "message"],
            ),
            (
                "less than 4 h before the deadline",
                Platform::Wechat,
                |f| f.now = f.ship_by.unwrap() - Duration::hours(4) + Duration::seconds(1),
                &["message"],
            ),
            (
                "already overdue",
                Platform::Wechat,
                |f| f.now = f.ship_by.unwrap() + Duration::hours(1),
                &["message"],
            ),
            (
                "stock expected after the deadline",
                Platform::Wechat,
                |f| f.expected_at = Some(f.ship_by.unwrap() + Duration::days(2)),
                &["negotiate", "message"],
            ),
            (
                "stock expected exactly at the deadline is too late",
                Platform::Wechat,
                |f| f.expected_at = f.ship_by,
                &["negotiate", "message"],
            ),
            (
                "stock expected before the deadline: nothing to do",
                Platform::Wechat,
                |f| {
                    f.expected_at = Some(f.ship_by.unwrap() - Duration::hours(1));
                    f.partly_available = true;
                },
                &[],
            ),
            (
                "no deadline: nothing to miss",
                Platform::Wechat,
                |f| {
                    f.ship_by = None;
                    f.partly_available = true;
                },
                &[],
            ),
        ];
        for &(name, platform, tweak, expected) in cases {
            let mut facts = stockout(platform);
            tweak(&mut facts);
            assert_eq!(kinds(&stockout_remedies(&facts)), expected, "{name}");
        }
    }

    #[test]
    fn a_negotiation_asks_for_a_day_after_the_stock_or_three_days_more() {
        let ship_by = noon() + secs(2 * D);
        // (name, expected_at, until)
        let cases = [
            (
                "stock date known",
                Some(ship_by + secs(5 * D)),
                ship_by + secs(6 * D),
            ),
            ("stock date unknown", None, ship_by + secs(3 * D)),
        ];
        for (name, expected_at, until) in cases {
            let facts = StockoutFacts {
                expected_at,
                ..stockout(Platform::Wechat)
            };
            assert_eq!(
                stockout_remedies(&facts).first(),
                Some(&Remedy::NegotiateDelay { until }),
                "{name}"
            );
        }
    }

    #[test]
    fn the_buyer_message_gives_the_china_date_when_known() {
        // (name, expected_at, text the draft contains, text it must not contain)
        let cases = [
            (
                // 2025-06-20 17:30 UTC is already the 21st in Shanghai.
                "date in Shanghai",
                Some(Utc.with_ymd_and_hms(2025, 6, 20, 17, 30, 0).unwrap()),
                "预计6月21日到货",
                "6月20日",
            ),
            ("date unknown", None, "加紧补货", "预计"),
        ];
        for (name, expected_at, contains, not_contains) in cases {
            let facts = StockoutFacts {
                expected_at,
                ..stockout(Platform::Douyin)
            };
            let remedies = stockout_remedies(&facts);
            let Some(Remedy::MessageBuyer { draft }) = remedies.last() else {
                panic!("{name}: no message in {remedies:?}");
            };
            assert!(draft.contains(contains), "{name}: {draft}");
            assert!(!draft.contains(not_contains), "{name}: {draft}");
            assert!(draft.contains("缺货"), "{name}: {draft}");
        }
    }

    #[test]
    fn the_shanghai_day_turns_at_16_utc() {
        let cases = [
            (
                "before midnight in China",
                Utc.with_ymd_and_hms(2025, 6, 18, 15, 59, 59),
                "2025-06-18",
            ),
            (
                "midnight in China",
                Utc.with_ymd_and_hms(2025, 6, 18, 16, 0, 0),
                "2025-06-19",
            ),
        ];
        for (name, at, day) in cases {
            assert_eq!(shanghai_day(at.unwrap()).to_string(), day, "{name}");
        }
    }
}
