//! Buyer notifications (买家通知): the kinds of message fahuo sends buyers, the merchant-editable
//! templates they are written from, and what an SMS gateway needs (segments, template variables).
//!
//! Pure: the app picks the template, fills [`NoticeVars`] from the order and sends the text.
//! Receiver data (name, phone, address) is never a variable: a notice goes *to* the receiver, it
//! does not need to repeat them, and a template cannot leak what it cannot name.

use crate::ParseError;
use crate::deadline::SHANGHAI;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Why fahuo writes to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 发货通知: the parcel left, with its carrier and number.
    Shipped,
    /// 延迟发货通知: the order will ship later than the buyer was promised.
    Delayed,
    /// 物流异常通知: something is wrong with the parcel on its way.
    Exception,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [
        NoticeKind::Shipped,
        NoticeKind::Delayed,
        NoticeKind::Exception,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Shipped => "shipped",
            NoticeKind::Delayed => "delayed",
            NoticeKind::Exception => "exception",
        }
    }

    pub fn parse(s: &str) -> Result<NoticeKind, ParseError> {
        NoticeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseError::new("notice_kind", format!("unknown notice kind {s:?}")))
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            NoticeKind::Shipped => "发货通知",
            NoticeKind::Delayed => "延迟发货通知",
            NoticeKind::Exception => "物流异常通知",
        }
    }

    /// The variables of this kind's pre-approved SMS template, in the order the default text
    /// uses them. Gateways (Aliyun, Tencent Cloud) refuse a request whose variables do not match
    /// the approved template, so each kind sends exactly these and no more.
    pub fn sms_variables(self) -> &'static [Placeholder] {
        use Placeholder::*;
        match self {
            NoticeKind::Shipped => &[Shop, OrderNo, Carrier, TrackingNo],
            NoticeKind::Delayed => &[Shop, OrderNo, Reason],
            NoticeKind::Exception => &[Shop, OrderNo, Carrier, TrackingNo, Reason],
        }
    }
}

/// A `{name}` a template may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Placeholder {
    OrderNo,
    Carrier,
    TrackingNo,
    Shop,
    Reason,
    ShipBy,
}

impl Placeholder {
    pub const ALL: [Placeholder; 6] = [
        Placeholder::OrderNo,
        Placeholder::Carrier,
        Placeholder::TrackingNo,
        Placeholder::Shop,
        Placeholder::Reason,
        Placeholder::ShipBy,
    ];

    /// The name between the braces, also the SMS template variable's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::OrderNo => "order_no",
            Placeholder::Carrier => "carrier",
            Placeholder::TrackingNo => "tracking_no",
            Placeholder::Shop => "shop",
            Placeholder::Reason => "reason",
            Placeholder::ShipBy => "ship_by",
        }
    }

    pub fn parse(s: &str) -> Result<Placeholder, ParseError> {
        Placeholder::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(
                    "template",
                    format!(
                        "unknown placeholder {{{s}}}; use {}",
                        Placeholder::ALL
                            .map(|p| format!("{{{}}}", p.as_str()))
                            .join(", ")
                    ),
                )
            })
    }
}

/// The values a notice is filled with. An empty field (or no `ship_by`) renders as nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct NoticeVars {
    /// The platform's order number, as the buyer sees it in the app.
    pub order_no: String,
    /// The carrier's name in Chinese (中通快递), not fahuo's code.
    pub carrier: String,
    pub tracking_no: String,
    /// The shop's name on the platform.
    pub shop: String,
    /// Why (for delays and exceptions), a short clause such as "商品暂时缺货".
    pub reason: String,
    /// The (possibly renegotiated) ship-by time, shown in China time.
    pub ship_by: Option<DateTime<Utc>>,
}

impl NoticeVars {
    /// The text a placeholder stands for.
    pub fn value(&self, p: Placeholder) -> String {
        match p {
            Placeholder::OrderNo => self.order_no.clone(),
            Placeholder::Carrier => self.carrier.clone(),
            Placeholder::TrackingNo => self.tracking_no.clone(),
            Placeholder::Shop => self.shop.clone(),
            Placeholder::Reason => self.reason.clone(),
            Placeholder::ShipBy => self.ship_by.map(time_zh).unwrap_or_default(),
        }
    }
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Var(Placeholder),
}

/// A merchant's notice text with `{placeholder}`s, checked when it is saved so that sending can
/// never fail on it. Braces are only for placeholders: a template cannot contain a literal `{`
/// or `}` (buyers' messages have no use for them, and an escape syntax is one more thing for a
/// merchant to get wrong).
///
/// Serialised as its text (and parsed again when read), so stored settings hold plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Template {
    text: String,
    segments: Vec<Segment>,
}

impl Template {
    /// The longest template accepted, in characters (an SMS this long is already 8 segments).
    pub const MAX_CHARS: usize = 500;

    /// Checks a merchant's text: not empty, at most [`Template::MAX_CHARS`] characters (leading
    /// and trailing whitespace trimmed), braces balanced and not nested, known placeholders only.
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseError::new("template", "the text is empty"));
        }
        let chars = text.chars().count();
        if chars > Template::MAX_CHARS {
            return Err(ParseError::new(
                "template",
                format!(
                    "{chars} characters, at most {} are allowed",
                    Template::MAX_CHARS
                ),
            ));
        }
        Ok(Template {
            text: text.to_string(),
            segments: segments(text)?,
        })
    }

    /// fahuo's text for a kind, used until the merchant saves their own.
    pub fn default_for(kind: NoticeKind) -> Template {
        let text = match kind {
            NoticeKind::Shipped => {
                "您在{shop}的订单{order_no}已由{carrier}发出，运单号{tracking_no}，请留意查收。"
            }
            NoticeKind::Delayed => {
                "很抱歉，您在{shop}的订单{order_no}因{reason}需要延迟发货，我们会尽快为您发出，给您带来不便，敬请谅解。"
            }
            NoticeKind::Exception => {
                "您在{shop}的订单{order_no}（{carrier}，运单号{tracking_no}）物流异常：{reason}。我们正在跟进处理，请您放心。"
            }
        };
        // The defaults are constants checked by a test; the fallback keeps this total anyway.
        Template::parse(text).unwrap_or_else(|_| Template {
            text: text.to_string(),
            segments: vec![Segment::Text(text.to_string())],
        })
    }

    /// The text as the merchant wrote it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The placeholders used, in order of first use, each once.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut used = Vec::new();
        for s in &self.segments {
            if let Segment::Var(p) = s
                && !used.contains(p)
            {
                used.push(*p);
            }
        }
        used
    }

    /// The placeholders this template uses that `vars` leaves empty: the app shows them before
    /// sending, since an empty value renders as nothing and may leave an odd sentence.
    pub fn missing(&self, vars: &NoticeVars) -> Vec<Placeholder> {
        self.placeholders()
            .into_iter()
            .filter(|p| vars.value(*p).trim().is_empty())
            .collect()
    }

    /// The message: every placeholder replaced by its value, an empty value by nothing. One pass
    /// over the parsed template, so a value that itself contains "{shop}" stays as written.
    pub fn render(&self, vars: &NoticeVars) -> String {
        let mut out = String::with_capacity(self.text.len());
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(p) => out.push_str(&vars.value(*p)),
            }
        }
        out
    }
}

impl TryFrom<String> for Template {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Template, ParseError> {
        Template::parse(&text)
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.text
    }
}

fn segments(text: &str) -> Result<Vec<Segment>, ParseError> {
    let unbalanced = |at: usize, why: &str| {
        ParseError::new(
            "template",
            format!("unbalanced braces at character {}: {why}", at + 1),
        )
    };
    let mut out = Vec::new();
    let mut literal = String::new();
    // The character index of the open `{` and the name read since.
    let mut open: Option<(usize, String)> = None;
    for (i, c) in text.chars().enumerate() {
        match (c, &mut open) {
            ('{', None) => open = Some((i, String::new())),
            ('{', Some(_)) => return Err(unbalanced(i, "'{' inside a placeholder")),
            ('}', None) => return Err(unbalanced(i, "'}' without '{'")),
            ('}', Some((_, name))) => {
                let p = Placeholder::parse(name.trim())?;
                if !literal.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut literal)));
                }
                out.push(Segment::Var(p));
                open = None;
            }
            (c, Some((_, name))) => name.push(c),
            (c, None) => literal.push(c),
        }
    }
    if let Some((at, _)) = open {
        return Err(unbalanced(at, "'{' is never closed"));
    }
    if !literal.is_empty() {
        out.push(Segment::Text(literal));
    }
    Ok(out)
}

/// A time as buyers read it in a message: China time, month and day without padding, 24-hour
/// clock ("6月18日 09:05").
pub(crate) fn time_zh(at: DateTime<Utc>) -> String {
    let t = at.with_timezone(&SHANGHAI);
    format!(
        "{}月{}日 {:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// How many SMS a text is billed as: up to 70 characters is one message; a longer one is sent
/// in parts of 67 (each part gives 3 to the concatenation header). Characters, not bytes: a
/// Chinese character is one, as is an ASCII letter (Chinese gateways bill every SMS as UCS-2).
/// Include the 【签名】 the gateway adds, it is billed too. An empty text is no message.
pub fn sms_segments(text: &str) -> usize {
    let chars = text.chars().count();
    match chars {
        0 => 0,
        1..=70 => 1,
        n => n.div_ceil(67),
    }
}

/// The variables for a gateway's pre-approved template of `kind` (`{"shop": "...", ...}`):
/// exactly [`NoticeKind::sms_variables`], empty strings for missing values.
pub fn sms_params(
    kind: NoticeKind,
    vars: &NoticeVars,
) -> serde_json::Map<String, serde_json::Value> {
    kind.sms_variables()
        .iter()
        .map(|p| {
            (
                p.as_str().to_string(),
                serde_json::Value::String(vars.value(*p)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn vars() -> NoticeVars {
        NoticeVars {
            order_no: "6921234567890".into(),
            carrier: "中通快递".into(),
            tracking_no: "75123456789012".into(),
            shop: "小王的店".into(),
            reason: "商品暂时缺货".into(),
            // 2026-11-01 16:30 UTC is 2 November 00:30 in China.
            ship_by: Some(Utc.with_ymd_and_hms(2026, 11, 1, 16, 30, 0).unwrap()),
        }
    }

    #[test]
    fn kinds_and_placeholders_round_trip_and_match_serde() {
        for k in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(k.as_str()).unwrap(), k);
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().into())
            );
            assert!(!k.label_zh().is_empty());
        }
        for p in Placeholder::ALL {
            assert_eq!(Placeholder::parse(p.as_str()).unwrap(), p);
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::Value::String(p.as_str().into())
            );
        }
        assert!(NoticeKind::parse("Shipped").is_err());
    }

    #[test]
    fn the_defaults_are_valid_and_read_well_when_filled() {
        for k in NoticeKind::ALL {
            let t = Template::default_for(k);
            assert_eq!(Template::parse(t.as_str()).unwrap(), t, "{k:?}");
            assert!(t.missing(&vars()).is_empty(), "{k:?}");
        }
        assert_eq!(
            Template::default_for(NoticeKind::Shipped).render(&vars()),
            "您在小王的店的订单6921234567890已由中通快递发出，运单号75123456789012，请留意查收。"
        );
        assert_eq!(
            Template::default_for(NoticeKind::Delayed).render(&vars()),
            "很抱歉，您在小王的店的订单6921234567890因商品暂时缺货需要延迟发货，我们会尽快为您发出，给您带来不便，敬请谅解。"
        );
        let exception = Template::default_for(NoticeKind::Exception).render(&vars());
        assert!(exception.contains("（中通快递，运单号75123456789012）物流异常：商品暂时缺货。"));
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        // (name, text, words in the reason)
        let cases = [
            ("empty", "", "empty"),
            ("only spaces", "  \n ", "empty"),
            (
                "unknown placeholder",
                "订单{order}已发货",
                "unknown placeholder {order}",
            ),
            (
                "receiver data is not a placeholder",
                "{receiver_name}您好",
                "unknown",
            ),
            ("never closed", "订单{order_no已发货", "never closed"),
            ("close without open", "订单order_no}已发货", "without"),
            ("nested", "订单{{order_no}}已发货", "inside"),
            ("empty braces", "订单{}已发货", "unknown placeholder {}"),
        ];
        for (name, text, reason) in cases {
            let err = Template::parse(text).unwrap_err();
            assert_eq!(err.field, "template", "{name}");
            assert!(err.reason.contains(reason), "{name}: {}", err.reason);
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        let at_limit = "发".repeat(Template::MAX_CHARS);
        assert!(Template::parse(&at_limit).is_ok(), "500 CJK characters");
        let over = "发".repeat(Template::MAX_CHARS + 1);
        assert!(Template::parse(&over).unwrap_err().reason.contains("501"));
        let padded = format!("  {at_limit}\n");
        assert_eq!(
            Template::parse(&padded).unwrap().as_str(),
            at_limit,
            "trimmed"
        );
    }

    #[test]
    fn missing_values_render_as_nothing_and_values_are_not_expanded_again() {
        let t =
            Template::parse("{shop}：订单{order_no}，{ carrier }{tracking_no}，{ship_by}前发出")
                .unwrap();
        let out = t.render(&NoticeVars::default());
        assert_eq!(out, "：订单，，前发出");
        assert!(!out.contains('{'));
        assert_eq!(
            t.missing(&NoticeVars {
                shop: "店".into(),
                ..Default::default()
            }),
            vec![
                Placeholder::OrderNo,
                Placeholder::Carrier,
                Placeholder::TrackingNo,
                Placeholder::ShipBy
            ]
        );
        let tricky = NoticeVars {
            shop: "{order_no}".into(),
            ..vars()
        };
        assert!(
            t.render(&tricky)
                .starts_with("{order_no}：订单6921234567890")
        );
    }

    #[test]
    fn ship_by_is_shown_in_china_time() {
        let t = Template::parse("请在{ship_by}前留意").unwrap();
        assert_eq!(t.render(&vars()), "请在11月2日 00:30前留意");
    }

    #[test]
    fn placeholders_are_listed_once_in_order() {
        let t = Template::parse("{tracking_no}{shop}{tracking_no}").unwrap();
        assert_eq!(
            t.placeholders(),
            vec![Placeholder::TrackingNo, Placeholder::Shop]
        );
        assert!(
            Template::parse("没有变量")
                .unwrap()
                .placeholders()
                .is_empty()
        );
    }

    #[test]
    fn templates_are_stored_as_their_text() {
        let t = Template::default_for(NoticeKind::Shipped);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, serde_json::to_string(t.as_str()).unwrap());
        assert_eq!(serde_json::from_str::<Template>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Template>(r#""{phone}""#).is_err());
    }

    #[test]
    fn sms_segments_count_characters() {
        let cases = [
            ("empty", 0, 0),
            ("one character", 1, 1),
            ("exactly one SMS", 70, 1),
            ("one over", 71, 2),
            ("two full parts", 134, 2),
            ("third part", 135, 3),
            ("longest template", 500, 8),
        ];
        for (name, n, segments) in cases {
            assert_eq!(sms_segments(&"发".repeat(n)), segments, "{name} (CJK)");
            assert_eq!(sms_segments(&"a".repeat(n)), segments, "{name} (ASCII)");
        }
        let shipped = Template::default_for(NoticeKind::Shipped).render(&vars());
        assert_eq!(sms_segments(&shipped), 1, "{shipped}");
    }

    #[test]
    fn sms_params_are_exactly_the_kinds_variables() {
        let shipped = sms_params(NoticeKind::Shipped, &vars());
        let keys: Vec<&str> = shipped.keys().map(String::as_str).collect();
        let mut expected = vec!["carrier", "order_no", "shop", "tracking_no"];
        expected.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, expected);
        assert_eq!(shipped["tracking_no"], "75123456789012");
        assert_eq!(shipped["carrier"], "中通快递");

        let delayed = sms_params(NoticeKind::Delayed, &vars());
        assert_eq!(delayed.len(), 3);
        assert_eq!(delayed["reason"], "商品暂时缺货");
        assert!(!delayed.contains_key("tracking_no"));

        let exception = sms_params(NoticeKind::Exception, &NoticeVars::default());
        assert_eq!(exception.len(), 5);
        assert!(exception.values().all(|v| v == ""), "missing is empty");
        for k in NoticeKind::ALL {
            assert!(!k.sms_variables().contains(&Placeholder::ShipBy));
        }
    }
}
