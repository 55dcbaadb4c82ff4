//! kuaidi100 (快递100) tracking, reference §4.1: subscription (`POST {base}/poll`), real-time
//! query (`POST {base}/poll/query.do`), pushes (`param` + `sign = MD5(param + salt)`) and their
//! state codes.
//!
//! Subscriptions and queries ask for `resultv2 = "4"` (advanced sub-states such as `1002` 干线;
//! the value "4" comes from kuaidi100's doc table [K100-DOC]; whether every account may use it
//! is UNCONFIRMED, the mapping also works with plain main states).

use super::{
    RawLine, TraceReport, TrackPush, TrackRequest, TrackingClient, beijing_time, field,
    newest_state, normalise,
};
use crate::caller::Outgoing;
use crate::error::{PlatformError, WebhookError};
use crate::util::{array, ct_eq, json_object, md5_hex, nonempty, text};
use fahuo_carriers::CodeSystem;
use fahuo_domain::tracking::{SubState, TrackState};
use serde_json::{Value, json};

/// `UPPER(MD5(param + key + customer))` of the real-time query.
pub(crate) fn query_sign(param: &str, key: &str, customer: &str) -> String {
    md5_hex(format!("{param}{key}{customer}").as_bytes()).to_ascii_uppercase()
}

/// The main states (0–8, 10–14), the `resultv2` sub-states, and the Chinese names lines carry in
/// `status`. Sub-states under 2 疑难 are UNCONFIRMED (believed 2xx): they map to `Problem` with
/// no sub-state, as do other undocumented codes under a documented main state (by their leading
/// digits: 1xx 揽收, 10xx 在途, 2xx 疑难, 3xx 签收, 4xx 退签, 5xx 派件).
pub(crate) fn map_code(code: &str) -> Option<(TrackState, Option<SubState>)> {
    use SubState as S;
    use TrackState as T;
    let r = match code {
        "0" | "在途" => (T::InTransit, None),
        "1" | "揽收" => (T::PickedUp, None),
        "2" | "疑难" => (T::Problem, None),
        "3" | "签收" => (T::Delivered, None),
        "4" | "退签" => (T::Returned, None),
        "5" | "派件" => (T::OutForDelivery, None),
        "6" | "退回" => (T::Returning, None),
        "7" | "转投" => (T::InTransit, Some(S::HandedToAnotherCarrier)),
        "8" | "清关" | "10" | "待清关" | "11" | "清关中" | "12" | "已清关" => {
            (T::InTransit, Some(S::Customs))
        }
        "13" | "清关异常" => (T::Problem, Some(S::Customs)),
        "14" | "拒签" => (T::Refused, Some(S::RefusedByReceiver)),
        "101" | "已下单" => (T::AwaitingPickup, Some(S::Ordered)),
        "102" | "待揽收" => (T::AwaitingPickup, Some(S::WaitingForCourier)),
        "103" | "已揽收" => (T::PickedUp, Some(S::Collected)),
        "1001" | "到达派件城市" => (T::InTransit, Some(S::ArrivedDestinationCity)),
        "1002" | "干线" => (T::InTransit, Some(S::Trunk)),
        "1003" | "转递" => (T::InTransit, Some(S::Forwarded)),
        "501" | "投柜或驿站" => (T::OutForDelivery, Some(S::InLockerOrStation)),
        "301" | "本人签收" => (T::Delivered, Some(S::SignedByReceiver)),
        "302" | "派件异常后签收" => (T::Delivered, Some(S::SignedAfterProblem)),
        "303" | "代签" => (T::Delivered, Some(S::SignedByProxy)),
        "304" | "投柜或站签收" => (T::Delivered, Some(S::SignedAtLockerOrStation)),
        "401" | "已销单" => (T::Returned, Some(S::Cancelled)),
        _ => return None,
    };
    Some(r)
}

/// Undocumented sub-state codes, by the main state their leading digits name.
fn main_of_unknown(code: &str) -> Option<(TrackState, Option<SubState>)> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        3 => map_code(&code[..1]),
        4 if code.starts_with("10") => map_code("0"),
        _ => None,
    }
}

/// A line's code: its documented `statusCode`, else its documented `status`; and, for the
/// fallback after the text, an undocumented code's main state.
type State = (TrackState, Option<SubState>);

fn line_codes(codes: &[Option<String>]) -> (Option<State>, Option<State>) {
    let codes: Vec<&str> = codes.iter().flatten().map(|c| c.trim()).collect();
    (
        codes.iter().find_map(|c| map_code(c)),
        codes.iter().find_map(|c| main_of_unknown(c)),
    )
}

/// A result object (a push's `lastResult`, or a query answer) as a report.
fn report(v: &Value, status: Option<&str>, message: Option<String>) -> Result<TraceReport, String> {
    let tracking_no = nonempty(v, "nu").ok_or("result without nu")?;
    let carrier_code = nonempty(v, "com").unwrap_or_default();
    let declared =
        text(v, "state").and_then(|s| map_code(s.trim()).or_else(|| main_of_unknown(s.trim())));
    let data = array(v, "data").map_err(|e| e.to_string())?;
    let mut lines = Vec::with_capacity(data.len());
    for (i, d) in data.iter().enumerate() {
        if !d.is_object() {
            return Err(format!("data[{i}] is not an object"));
        }
        let words = text(d, "context").unwrap_or_default();
        let at = ["ftime", "time"]
            .iter()
            .find_map(|k| text(d, k).and_then(|t| beijing_time(&t)))
            .ok_or_else(|| format!("data[{i}] without a readable time"))?;
        let (code, fallback) = line_codes(&[text(d, "statusCode"), text(d, "status")]);
        lines.push(RawLine {
            at,
            location: nonempty(d, "areaName").or_else(|| nonempty(d, "location")),
            text: words,
            code,
            fallback,
        });
    }
    let events = normalise(lines, declared, true);
    let last = declared.map(|d| d.0).or_else(|| newest_state(&events));
    Ok(TraceReport {
        carrier: fahuo_carriers::registry::from_system_code(CodeSystem::Kuaidi100, &carrier_code),
        carrier_code,
        tracking_no,
        events,
        state: declared.map(|d| d.0),
        sub_state: declared.and_then(|d| d.1),
        ended: status == Some("shutdown") || last.is_some_and(TrackState::is_final),
        aborted: status == Some("abort"),
        message,
    })
}

pub(crate) fn verify_push(
    creds: &super::TrackingCredentials,
    fields: &[(String, String)],
) -> Result<TrackPush, WebhookError> {
    if creds.salt.is_empty() {
        return Err(WebhookError::NotConfigured("kuaidi100 push salt".into()));
    }
    let param = field(fields, "param").ok_or(WebhookError::Missing("param"))?;
    let sign = field(fields, "sign").ok_or(WebhookError::Missing("sign"))?;
    let expected = md5_hex(format!("{param}{}", creds.salt).as_bytes());
    if !ct_eq(sign.trim(), &expected) {
        return Err(WebhookError::BadSignature);
    }
    let v: Value = serde_json::from_str(param)
        .map_err(|_| WebhookError::Malformed("param is not JSON".into()))?;
    if !v.is_object() {
        return Err(WebhookError::Malformed("param is not a JSON object".into()));
    }
    let status = text(&v, "status");
    let result = v
        .get("lastResult")
        .filter(|r| r.is_object())
        .ok_or(WebhookError::Missing("lastResult"))?;
    let message = nonempty(&v, "message").or_else(|| nonempty(result, "message"));
    let r = report(result, status.as_deref().map(str::trim), message)
        .map_err(WebhookError::Malformed)?;
    Ok(TrackPush { reports: vec![r] })
}

/// Subscribe answers: `returnCode` 200 ok, 501 already subscribed (ok), 600 bad key, 700 bad
/// data, 500 server error (third-party lists, reference §4.1; texts UNCONFIRMED).
fn classify_subscribe(status: u16, body: &[u8]) -> Result<(), PlatformError> {
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    if status == 429 {
        return Err(PlatformError::RateLimited {
            code: "429".into(),
            retry_after: None,
        });
    }
    let v = json_object(body)?;
    let code = text(&v, "returnCode").unwrap_or_default();
    let msg = text(&v, "message").unwrap_or_default();
    let result = v.get("result").and_then(Value::as_bool);
    match code.as_str() {
        "200" | "501" => Ok(()),
        "" if result == Some(true) => Ok(()),
        "" => Err(PlatformError::protocol(
            "answer without result or returnCode",
        )),
        "500" | "502" => Err(PlatformError::Transient(format!(
            "server error ({code}): {msg}"
        ))),
        "600" | "601" | "503" => Err(PlatformError::Auth { code, msg }),
        _ => Err(PlatformError::Invalid { code, msg }),
    }
}

/// What a query found: the trace, or nothing yet.
enum QueryAnswer {
    Trace(Value),
    /// `returnCode` 500 "查询无结果，请隔段时间再查": the carrier has no scan of the number yet
    /// (a parcel not picked up). An answer, not server trouble: retrying at once finds nothing
    /// more, and treating it as a failure kept a poll busy for seconds per unscanned parcel.
    NoRecord(String),
}

/// Query answers: the result object itself, or `{result:false, returnCode, message}`. The
/// query's own codes are not in the reference (UNCONFIRMED); read like the subscription's:
/// 5xx server trouble (retry), 503/600/601 the key or signature, anything else the request —
/// except 500 "查询无结果", which is the documented "no record yet" answer.
fn classify_query(status: u16, body: &[u8]) -> Result<QueryAnswer, PlatformError> {
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    if status == 429 {
        return Err(PlatformError::RateLimited {
            code: "429".into(),
            retry_after: None,
        });
    }
    let v = json_object(body)?;
    let code = text(&v, "returnCode").unwrap_or_default();
    let failed = v.get("result").and_then(Value::as_bool) == Some(false)
        || (!code.is_empty() && code != "200");
    if !failed {
        return Ok(QueryAnswer::Trace(v));
    }
    let msg = text(&v, "message").unwrap_or_default();
    if code == "500" && msg.contains("查询无结果") {
        return Ok(QueryAnswer::NoRecord(msg));
    }
    Err(match code.as_str() {
        "500" | "501" | "502" => PlatformError::Transient(format!("server error ({code}): {msg}")),
        "503" | "600" | "601" => PlatformError::Auth { code, msg },
        "" => PlatformError::Invalid {
            code: "result=false".into(),
            msg,
        },
        _ => PlatformError::Invalid { code, msg },
    })
}

pub(crate) async fn subscribe(c: &TrackingClient, req: &TrackRequest) -> Result<(), PlatformError> {
    let a = &c.account;
    let mut parameters = json!({
        "callbackurl": a.callback_url.trim(),
        "salt": a.credentials.salt,
        "resultv2": "4",
    });
    if let Some(p) = &req.phone_last4 {
        parameters["phone"] = json!(p);
    }
    let param = json!({
        "company": c.carrier_code(req.carrier)?,
        "number": req.tracking_no,
        "key": a.credentials.key,
        "parameters": parameters,
    })
    .to_string();
    c.caller
        .retrying("kuaidi100 subscribe", || async {
            let out = Outgoing::form(
                format!("{}/poll", a.base_url),
                &[("schema", "json"), ("param", &param)],
            );
            let (status, body) = c.caller.send(out).await?;
            classify_subscribe(status, &body)
        })
        .await
}

pub(crate) async fn query(
    c: &TrackingClient,
    req: &TrackRequest,
) -> Result<TraceReport, PlatformError> {
    let a = &c.account;
    let company = c.carrier_code(req.carrier)?;
    let mut param = json!({
        "com": company,
        "num": req.tracking_no,
        "resultv2": "4",
    });
    if let Some(p) = &req.phone_last4 {
        param["phone"] = json!(p);
    }
    let param = param.to_string();
    let sign = query_sign(&param, &a.credentials.key, &a.credentials.customer);
    let answer = c
        .caller
        .retrying("kuaidi100 query", || async {
            let out = Outgoing::form(
                format!("{}/poll/query.do", a.base_url),
                &[
                    ("customer", a.credentials.customer.as_str()),
                    ("sign", &sign),
                    ("param", &param),
                ],
            );
            let (status, body) = c.caller.send(out).await?;
            classify_query(status, &body)
        })
        .await?;
    let v = match answer {
        QueryAnswer::Trace(v) => v,
        QueryAnswer::NoRecord(message) => {
            return Ok(TraceReport {
                carrier: Some(req.carrier),
                carrier_code: company.to_string(),
                tracking_no: req.tracking_no.clone(),
                events: Vec::new(),
                state: None,
                sub_state: None,
                ended: false,
                aborted: false,
                message: Some(message),
            });
        }
    };
    let message = nonempty(&v, "message").filter(|m| m != "ok");
    report(&v, None, message).map_err(PlatformError::Protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_record_yet_is_an_empty_answer_not_a_failure() {
        let q = |body: &str| classify_query(200, body.as_bytes());
        assert!(matches!(
            q(r#"{"result":false,"returnCode":"500","message":"查询无结果，请隔段时间再查"}"#),
            Ok(QueryAnswer::NoRecord(_))
        ));
        assert!(matches!(
            q(r#"{"result":false,"returnCode":"500","message":"服务器错误"}"#),
            Err(PlatformError::Transient(_))
        ));
        assert!(matches!(
            q(r#"{"message":"ok","nu":"1","data":[]}"#),
            Ok(QueryAnswer::Trace(_))
        ));
    }

    #[test]
    fn the_query_sign_is_upper_md5_of_param_key_customer() {
        // python3: hashlib.md5(b'{"com":"yuantong"}' + b'key' + b'cust').hexdigest().upper()
        assert_eq!(
            query_sign(r#"{"com":"yuantong"}"#, "key", "cust"),
            md5_hex(br#"{"com":"yuantong"}keycust"#).to_ascii_uppercase()
        );
        assert_eq!(query_sign("", "", "").len(), 32);
    }

    #[test]
    fn subscribe_answers_map_to_typed_errors() {
        let e = |b: &str| classify_subscribe(200, b.as_bytes());
        assert!(e(r#"{"result":true,"returnCode":"200","message":"提交成功"}"#).is_ok());
        assert!(e(r#"{"result":false,"returnCode":"501","message":"重复订阅"}"#).is_ok());
        assert!(matches!(
            e(r#"{"result":false,"returnCode":"600","message":"您不是合法的订阅者"}"#),
            Err(PlatformError::Auth { .. })
        ));
        assert!(matches!(
            e(r#"{"result":false,"returnCode":"700","message":"bad"}"#),
            Err(PlatformError::Invalid { .. })
        ));
        assert!(
            e(r#"{"result":false,"returnCode":"500","message":"x"}"#)
                .unwrap_err()
                .is_retryable()
        );
        assert!(classify_subscribe(503, b"").unwrap_err().is_retryable());
        assert!(matches!(e("<html>"), Err(PlatformError::Protocol(_))));
    }

    #[test]
    fn undocumented_sub_states_fall_back_to_text_then_to_their_main_state() {
        assert_eq!(main_of_unknown("201"), Some((TrackState::Problem, None)));
        assert_eq!(main_of_unknown("1009"), Some((TrackState::InTransit, None)));
        assert_eq!(main_of_unknown("99"), None);
        assert_eq!(main_of_unknown("签收x"), None);
        let (code, fallback) = line_codes(&[Some("209".into()), Some("疑难".into())]);
        assert_eq!(code, Some((TrackState::Problem, None)));
        assert_eq!(fallback, Some((TrackState::Problem, None)));
    }
}
