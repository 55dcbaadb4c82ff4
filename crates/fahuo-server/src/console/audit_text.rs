//! Audit entries as one short line in the page's language — what changed, with the fields
//! named as the console names them, amounts in yuan, secrets hidden and mobile numbers masked —
//! for the audit log and an order's timeline alike.

use super::Lang;
use fahuo_domain::{Fen, OrderState};
use serde_json::Value;

/// Before and after in one line: `field: before → after` for what changed (or `field: value`
/// when there is no before).
pub fn changes(before: Option<&Value>, after: Option<&Value>, lang: Lang) -> String {
    let mut parts = Vec::new();
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (k, av) in ordered(a) {
                let bv = b.get(k);
                if bv != Some(av) {
                    let bt = bv.map(|v| shown(k, v, lang)).unwrap_or_else(|| "—".into());
                    parts.push(format!("{}: {bt} → {}", field(k, lang), shown(k, av, lang)));
                }
            }
            for (k, bv) in ordered(b) {
                if !a.contains_key(k) {
                    parts.push(format!("{}: {} → —", field(k, lang), shown(k, bv, lang)));
                }
            }
        }
        (None, Some(Value::Object(a))) => {
            parts.extend(
                ordered(a)
                    .into_iter()
                    .map(|(k, v)| format!("{}: {}", field(k, lang), shown(k, v, lang))),
            );
        }
        (Some(b), None) => parts.push(format!("{} → —", shown("", b, lang))),
        (b, Some(a)) => parts.push(format!(
            "{} → {}",
            b.map(|v| shown("", v, lang)).unwrap_or_else(|| "—".into()),
            shown("", a, lang)
        )),
        (None, None) => {}
    }
    cut(&parts.join(lang.pick("；", "; ")), 300)
}

/// An order timeline's detail: the review's explanation or the entry's message where it has
/// one, else the entry's fields.
pub fn details(after: Option<&Value>, lang: Lang) -> String {
    if let Some(lines) = after
        .and_then(|a| a.get("explanation"))
        .and_then(Value::as_array)
    {
        let lines: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
        return lines.join("；");
    }
    if let Some(m) = after.and_then(|a| a.get("message")).and_then(Value::as_str) {
        return mask_phones(m);
    }
    changes(None, after, lang)
}

/// The fields the console names, in the order a line shows them (the others follow, by key):
/// `(key, 中文, English)`.
const FIELDS: &[(&str, &str, &str)] = &[
    ("platform_order_id", "订单号", "Order no."),
    ("platform_status", "平台状态", "Platform status"),
    ("state", "状态", "State"),
    ("from", "从", "From"),
    ("to", "到", "To"),
    ("reason", "原因", "Reason"),
    ("name", "姓名", "Name"),
    ("display_name", "名称", "Name"),
    ("role", "角色", "Role"),
    ("disabled", "停用", "Disabled"),
    ("phone", "电话", "Phone"),
    ("province", "省", "Province"),
    ("city", "市", "City"),
    ("county", "区县", "County"),
    ("detail", "地址", "Address"),
    ("receiver", "收件人", "Receiver"),
    ("paid_total_fen", "实付", "Paid"),
    ("paid_fen", "实付", "Paid"),
    ("freight_fen", "运费", "Freight"),
    ("amount_fen", "金额", "Amount"),
    ("refund_fen", "退款", "Refund"),
    ("lines", "商品行", "Lines"),
    ("quantity", "数量", "Quantity"),
    ("weight_g", "重量(克)", "Weight (g)"),
    ("carrier", "快递", "Carrier"),
    ("carrier_code", "快递", "Carrier"),
    ("tracking_no", "运单号", "Tracking no."),
    ("warehouse_id", "仓库", "Warehouse"),
    ("buyer_note", "买家留言", "Buyer note"),
    ("seller_note", "卖家备注", "Seller note"),
];

/// A field's name in the page's language; a field the console has no name for keeps its key.
fn field(key: &str, lang: Lang) -> String {
    FIELDS.iter().find(|(k, _, _)| *k == key).map_or_else(
        || key.to_string(),
        |(_, zh, en)| lang.pick(*zh, *en).to_string(),
    )
}

/// An object's entries in [`FIELDS`] order.
fn ordered(o: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let rank = |k: &str| {
        FIELDS
            .iter()
            .position(|(f, _, _)| *f == k)
            .unwrap_or(FIELDS.len())
    };
    let mut entries: Vec<_> = o.iter().collect();
    entries.sort_by_key(|(k, _)| rank(k));
    entries
}

/// One value as shown: secrets never, amounts in yuan, order states named, yes/no for flags,
/// a nested object as its values in a row (a masked receiver), mobile numbers masked, long
/// values cut.
fn shown(key: &str, v: &Value, lang: Lang) -> String {
    let k = key.to_ascii_lowercase();
    if ["password", "secret", "token", "key"]
        .iter()
        .any(|s| k.contains(s))
    {
        return "***".into();
    }
    let text = match v {
        Value::Number(n) if k.ends_with("_fen") => n
            .as_i64()
            .map_or_else(|| n.to_string(), |f| format!("¥{}", Fen(f))),
        Value::String(s) if matches!(k.as_str(), "state" | "from" | "to") => OrderState::parse(s)
            .map_or_else(
                |_| s.clone(),
                |st| super::labels::order_state(st, lang).into(),
            ),
        Value::String(s) => s.clone(),
        Value::Bool(b) => lang
            .pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" })
            .into(),
        Value::Null => "—".into(),
        Value::Object(o) => ordered(o)
            .into_iter()
            .map(|(k, v)| shown(k, v, lang))
            .filter(|s| s != "—" && !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    cut(&mask_phones(&text), 80)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_string()
    }
}

/// Masks any run of 11 digits starting with 1 (a mainland mobile number), in case an entry
/// was written with one in clear: 138****5678.
fn mask_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.len() == 11 && run.starts_with('1') {
                out.push_str(&format!("{}****{}", &run[..3], &run[7..]));
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_show_what_changed_with_secrets_hidden_and_phones_masked() {
        let line = changes(
            Some(&json!({"role": "viewer", "disabled": false})),
            Some(&json!({"role": "warehouse", "disabled": false})),
            Lang::En,
        );
        assert_eq!(line, "Role: viewer → warehouse");
        let line = changes(
            None,
            Some(&json!({"phone": "13812345678", "password_hash": "$argon2id$x"})),
            Lang::Zh,
        );
        assert!(line.contains("138****5678"), "{line}");
        assert!(
            !line.contains("argon2") && !line.contains("12345678"),
            "{line}"
        );
    }

    #[test]
    fn an_order_as_taken_in_reads_as_fields_not_json() {
        let created = json!({
            "platform_order_id": "P-1", "platform_status": "2", "paid_total_fen": 9900,
            "seller_note": null, "lines": 1,
            "receiver": {"name": "张*", "phone": "138****5678", "province": "浙江省",
                         "city": "杭州市", "county": "西湖区", "detail": "文三路**"}
        });
        let zh = details(Some(&created), Lang::Zh);
        assert!(
            zh.contains("订单号: P-1") && zh.contains("实付: ¥99.00"),
            "{zh}"
        );
        assert!(zh.contains("收件人: 张* 138****5678 浙江省"), "{zh}");
        assert!(!zh.contains('{') && !zh.contains("paid_total_fen"), "{zh}");
        let en = details(Some(&created), Lang::En);
        assert!(
            en.contains("Order no.: P-1") && en.contains("Paid: ¥99.00"),
            "{en}"
        );
        let moved = details(Some(&json!({"from": "new", "to": "approved"})), Lang::Zh);
        assert!(!moved.contains("approved"), "{moved}");
    }

    #[test]
    fn a_review_explanation_or_a_message_is_shown_as_written() {
        let held = json!({"explanation": ["地址缺少区县", "请核对"]});
        assert_eq!(details(Some(&held), Lang::Zh), "地址缺少区县；请核对");
        assert_eq!(
            details(Some(&json!({"message": "致电 13812345678"})), Lang::En),
            "致电 138****5678"
        );
        assert_eq!(details(None, Lang::Zh), "");
    }
}
