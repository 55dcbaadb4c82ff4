//! kdniao (快递鸟) tracking and pickup booking, reference §4.2: subscription (RequestType 1008,
//! `{base}/api/dist`), instant query (1002, `{base}/Ebusiness/EbusinessOrderHandle.aspx`),
//! pushes (101), pickup booking and cancellation (1001 / 1004 at `{base}/api/OOrderService`:
//! that path is UNCONFIRMED, no source in the reference names it).
//!
//! Requests are the form `RequestData`, `EBusinessID`, `RequestType`, `DataSign`, `DataType=2`,
//! signed as the e-waybill calls are ([`data_sign`]). kdniao's push URL is set in its console,
//! not per subscription, so the account's `callback_url` is not sent.

use super::{
    PickupBooked, PickupRequest, RawLine, TraceReport, TrackPush, TrackRequest, TrackingClient,
    TrackingCredentials, beijing_text, beijing_time, field, newest_state, normalise,
};
use crate::caller::Outgoing;
use crate::error::{PlatformError, WebhookError};
use crate::util::{array, ct_eq_exact, json_object, nonempty, text};
use crate::waybill::kdniao::data_sign;
use fahuo_carriers::{Carrier, CodeSystem};
use fahuo_domain::tracking::{SubState, TrackState};
use serde_json::{Value, json};

type State = (TrackState, Option<SubState>);

/// `State` 0–6 and `StateEx` / line `Action` codes (reference §4.2). `0` (暂无轨迹) is no
/// state; 5 转寄 and 6 清关 come from a single source. 404 拒收(退件) is `Refused`; 407
/// 退货未签收 is a return still on its way (`Returning`).
pub(crate) fn map_code(code: &str) -> Option<State> {
    use SubState as S;
    use TrackState as T;
    let r = match code {
        "1" => (T::PickedUp, None),
        "2" => (T::InTransit, None),
        "3" => (T::Delivered, None),
        "4" => (T::Problem, None),
        "5" => (T::InTransit, Some(S::Forwarded)),
        "6" => (T::InTransit, Some(S::Customs)),
        "10" => (T::AwaitingPickup, Some(S::WaitingForCourier)),
        "201" => (T::InTransit, Some(S::ArrivedDestinationCity)),
        "202" => (T::OutForDelivery, Some(S::Delivering)),
        "211" => (T::OutForDelivery, Some(S::InLockerOrStation)),
        "301" => (T::Delivered, Some(S::SignedByReceiver)),
        "302" => (T::Delivered, Some(S::SignedAfterProblem)),
        "304" => (T::Delivered, Some(S::SignedByProxy)),
        "311" => (T::Delivered, Some(S::SignedAtLockerOrStation)),
        "401" => (T::Problem, Some(S::NoInformation)),
        "402" => (T::Problem, Some(S::NotSignedInTime)),
        "403" => (T::Problem, Some(S::NoUpdateInTime)),
        "404" => (T::Refused, Some(S::RefusedByReceiver)),
        "405" => (T::Problem, Some(S::DeliveryFailed)),
        "406" => (T::Returned, Some(S::ReturnSigned)),
        "407" => (T::Returning, Some(S::ReturnNotSigned)),
        "412" => (T::Problem, Some(S::LockerNotCollected)),
        _ => return None,
    };
    Some(r)
}

/// Undocumented three-digit codes, by their group (2xx in transit, 3xx signed, 4xx problem).
fn group_of_unknown(code: &str) -> Option<State> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    map_code(&code[..1]).map(|(s, _)| (s, None))
}

/// One parcel (a push's `Data[]` item or a query answer) as a report.
fn report(v: &Value) -> Result<TraceReport, String> {
    let tracking_no = nonempty(v, "LogisticCode").ok_or("parcel without LogisticCode")?;
    let carrier_code = nonempty(v, "ShipperCode").unwrap_or_default();
    let declared = nonempty(v, "StateEx")
        .and_then(|c| map_code(&c))
        .or_else(|| nonempty(v, "State").and_then(|c| map_code(&c)));
    let traces = array(v, "Traces").map_err(|e| e.to_string())?;
    let mut lines = Vec::with_capacity(traces.len());
    for (i, t) in traces.iter().enumerate() {
        if !t.is_object() {
            return Err(format!("Traces[{i}] is not an object"));
        }
        let at = text(t, "AcceptTime")
            .and_then(|s| beijing_time(&s))
            .ok_or_else(|| format!("Traces[{i}] without a readable AcceptTime"))?;
        let action = nonempty(t, "Action");
        lines.push(RawLine {
            at,
            text: text(t, "AcceptStation").unwrap_or_default(),
            location: nonempty(t, "Location"),
            code: action.as_deref().and_then(map_code),
            fallback: action.as_deref().and_then(group_of_unknown),
        });
    }
    let events = normalise(lines, declared, false);
    let last = declared.map(|d| d.0).or_else(|| newest_state(&events));
    Ok(TraceReport {
        carrier: fahuo_carriers::registry::from_system_code(CodeSystem::Kdniao, &carrier_code),
        carrier_code,
        tracking_no,
        events,
        state: declared.map(|d| d.0),
        sub_state: declared.and_then(|d| d.1),
        ended: last.is_some_and(TrackState::is_final),
        aborted: false,
        message: nonempty(v, "Reason"),
    })
}

/// Whether `sent` is the expected `DataSign`: as received, URL-decoded once more, or with the
/// `+` a form decoder turned into a space put back.
fn sign_matches(sent: &str, expected: &str) -> bool {
    let sent = sent.trim();
    let decoded: String =
        form_urlencoded::parse(format!("x={}", sent.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
    let respaced = sent.replace(' ', "+");
    // Evaluate all three so the time taken does not say which form was close.
    let a = ct_eq_exact(sent, expected);
    let b = ct_eq_exact(&decoded, expected);
    let c = ct_eq_exact(&respaced, expected);
    a | b | c
}

pub(crate) fn verify_push(
    creds: &TrackingCredentials,
    fields: &[(String, String)],
) -> Result<TrackPush, WebhookError> {
    if creds.key.is_empty() {
        return Err(WebhookError::NotConfigured("kdniao AppKey".into()));
    }
    let data = field(fields, "RequestData").ok_or(WebhookError::Missing("RequestData"))?;
    let sign = field(fields, "DataSign").ok_or(WebhookError::Missing("DataSign"))?;
    match field(fields, "RequestType").map(str::trim) {
        Some("101") => {}
        Some(_) => {
            return Err(WebhookError::Malformed(
                "RequestType is not 101 (push)".into(),
            ));
        }
        None => return Err(WebhookError::Missing("RequestType")),
    }
    if !sign_matches(sign, &data_sign(data, &creds.key)) {
        return Err(WebhookError::BadSignature);
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|_| WebhookError::Malformed("RequestData is not JSON".into()))?;
    if !v.is_object() {
        return Err(WebhookError::Malformed(
            "RequestData is not a JSON object".into(),
        ));
    }
    if let Some(id) = nonempty(&v, "EBusinessID")
        && id != creds.customer.trim()
    {
        return Err(WebhookError::WrongRecipient);
    }
    let items = array(&v, "Data").map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let mut reports = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(WebhookError::Malformed(format!(
                "Data[{i}] is not an object"
            )));
        }
        if let Some(id) = nonempty(item, "EBusinessID")
            && id != creds.customer.trim()
        {
            return Err(WebhookError::WrongRecipient);
        }
        reports.push(report(item).map_err(WebhookError::Malformed)?);
    }
    Ok(TrackPush { reports })
}

/// An answer's JSON object, or a typed error. `ResultCode` (where sent) as for e-waybills:
/// 101/103 credentials, 109 busy, 429 rate; any other `Success:false` is a refused request.
fn classify(status: u16, body: &[u8]) -> Result<Value, PlatformError> {
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
    match v.get("Success").and_then(Value::as_bool) {
        Some(true) => return Ok(v),
        Some(false) => {}
        None => return Err(PlatformError::protocol("answer without Success")),
    }
    let code = text(&v, "ResultCode").unwrap_or_default();
    let msg = text(&v, "Reason").unwrap_or_default();
    Err(match code.as_str() {
        "101" | "103" => PlatformError::Auth { code, msg },
        "109" => PlatformError::Transient(format!("system busy ({code}): {msg}")),
        "429" => PlatformError::RateLimited {
            code,
            retry_after: None,
        },
        "" => PlatformError::Invalid {
            code: "Success=false".into(),
            msg,
        },
        _ => PlatformError::Invalid { code, msg },
    })
}

async fn call(
    c: &TrackingClient,
    path: &str,
    request_type: &str,
    data: Value,
) -> Result<Value, PlatformError> {
    let a = &c.account;
    let data = data.to_string();
    let sign = data_sign(&data, &a.credentials.key);
    c.caller
        .retrying(request_type, || async {
            let out = Outgoing::form(
                format!("{}/{path}", a.base_url),
                &[
                    ("RequestData", &data),
                    ("EBusinessID", &a.credentials.customer),
                    ("RequestType", request_type),
                    ("DataSign", &sign),
                    ("DataType", "2"),
                ],
            );
            let (status, body) = c.caller.send(out).await?;
            classify(status, &body)
        })
        .await
}

/// `ShipperCode`, `LogisticCode`, and `CustomerName` = the phone's last four digits for the
/// carriers that check them (SF, ZTO; reference §4.2).
fn parcel(c: &TrackingClient, req: &TrackRequest) -> Result<Value, PlatformError> {
    let mut data = json!({
        "ShipperCode": c.carrier_code(req.carrier)?,
        "LogisticCode": req.tracking_no,
    });
    if matches!(req.carrier, Carrier::Sf | Carrier::Zto)
        && let Some(p) = &req.phone_last4
    {
        data["CustomerName"] = json!(p);
    }
    Ok(data)
}

pub(crate) async fn subscribe(c: &TrackingClient, req: &TrackRequest) -> Result<(), PlatformError> {
    call(c, "api/dist", "1008", parcel(c, req)?).await.map(drop)
}

pub(crate) async fn query(
    c: &TrackingClient,
    req: &TrackRequest,
) -> Result<TraceReport, PlatformError> {
    let mut data = parcel(c, req)?;
    data["OrderCode"] = json!("");
    // "No trace yet" is `Success:true, State:"0"` (a report without events); a
    // `Success:false` answer is a refused request.
    let v = call(c, "Ebusiness/EbusinessOrderHandle.aspx", "1002", data).await?;
    let mut r = report(&v).map_err(PlatformError::Protocol)?;
    if r.tracking_no != req.tracking_no {
        return Err(PlatformError::protocol(format!(
            "asked for {} and got the trace of {}",
            req.tracking_no, r.tracking_no
        )));
    }
    if r.carrier.is_none() {
        r.carrier = Some(req.carrier);
    }
    Ok(r)
}

fn party(p: &crate::waybill::Contact) -> Value {
    json!({
        "Name": p.name,
        "Mobile": p.mobile,
        "ProvinceName": p.province,
        "CityName": p.city,
        "ExpAreaName": p.county,
        "Address": p.address,
    })
}

pub(crate) async fn book_pickup(
    c: &TrackingClient,
    req: &PickupRequest,
) -> Result<PickupBooked, PlatformError> {
    let mut data = json!({
        "OrderCode": req.order_code.trim(),
        "ShipperCode": c.carrier_code(req.carrier)?,
        "Sender": party(&req.sender),
        "Receiver": party(&req.receiver),
        "StartDate": beijing_text(req.start),
        "EndDate": beijing_text(req.end),
    });
    if let Some(g) = req.weight_g {
        data["Weight"] = json!(g as f64 / 1000.0);
    }
    if let Some(r) = req
        .remark
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        data["Remark"] = json!(r);
    }
    let v = call(c, "api/OOrderService", "1001", data).await?;
    let order = v.get("Order").filter(|o| o.is_object());
    Ok(PickupBooked {
        tracking_no: order.and_then(|o| nonempty(o, "LogisticCode")),
        booking_id: order
            .and_then(|o| nonempty(o, "KDNOrderCode").or_else(|| nonempty(o, "OrderCode"))),
    })
}

pub(crate) async fn cancel_pickup(
    c: &TrackingClient,
    order_code: &str,
    carrier: Carrier,
) -> Result<(), PlatformError> {
    let data = json!({
        "ShipperCode": c.carrier_code(carrier)?,
        "OrderCode": order_code,
    });
    call(c, "api/OOrderService", "1004", data).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_sign_is_accepted_decoded_or_encoded_once_more() {
        let expected = "YTBiMDU3ZWI5ZTRlNzY2NDdhY2RmNzhhNGI0Mzc1OGQ=";
        assert!(sign_matches(expected, expected));
        assert!(sign_matches(
            "YTBiMDU3ZWI5ZTRlNzY2NDdhY2RmNzhhNGI0Mzc1OGQ%3D",
            expected
        ));
        assert!(!sign_matches(
            "ytbimdu3zwi5ztrlnzy2nddhy2rmnzhhngi0mzc1ogq=",
            expected
        ));
        assert!(!sign_matches("", expected));
        let plus = "ab+c=";
        assert!(sign_matches("ab c=", plus));
        assert!(sign_matches("ab%2Bc%3D", plus));
    }

    #[test]
    fn answers_map_to_typed_errors() {
        let e = |b: &str| classify(200, b.as_bytes()).unwrap_err();
        assert!(matches!(
            e(r#"{"Success":false,"ResultCode":"101","Reason":"sign"}"#),
            PlatformError::Auth { .. }
        ));
        assert!(matches!(
            e(r#"{"Success":false,"Reason":"单号不存在"}"#),
            PlatformError::Invalid { .. }
        ));
        assert!(e(r#"{"Success":false,"ResultCode":"109"}"#).is_retryable());
        assert!(matches!(e(r#"{"Reason":"x"}"#), PlatformError::Protocol(_)));
        assert!(classify(502, b"").unwrap_err().is_retryable());
    }
}
