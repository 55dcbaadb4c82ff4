//! kdniao (快递鸟) e-waybill: `POST {base}/api/EOrderService`, RequestType 1007 (issue) and
//! 1147 (cancel), `DataSign = base64(md5_hex_lowercase(RequestData + AppKey))`.

use super::{IssuedWaybill, WaybillClient, WaybillRequest, json_object};
use crate::caller::Outgoing;
use crate::error::PlatformError;
use crate::util::{md5_hex, nonempty, text};
use base64::Engine;
use fahuo_carriers::CodeSystem;
use serde_json::{Value, json};

/// Note: the base64 of the 32-character *hex* digest, not of the raw 16 bytes.
pub(crate) fn data_sign(request_data: &str, app_key: &str) -> String {
    let hex = md5_hex(format!("{request_data}{app_key}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hex)
}

/// Maps an answer to its JSON object or a typed error. `106` is "this OrderCode was already
/// issued", answered with the first number: success for us.
fn classify(status: u16, body: &[u8]) -> Result<Value, PlatformError> {
    if status >= 500 {
        return Err(PlatformError::Transient(format!("HTTP {status}")));
    }
    let v = json_object(body)?;
    let code = text(&v, "ResultCode").unwrap_or_default();
    let ok = v.get("Success").and_then(Value::as_bool) == Some(true);
    if ok && matches!(code.as_str(), "100" | "106" | "") {
        return Ok(v);
    }
    let msg = text(&v, "Reason").unwrap_or_default();
    Err(match code.as_str() {
        "109" => PlatformError::Transient(format!("system busy ({code}): {msg}")),
        "429" => PlatformError::RateLimited {
            code,
            retry_after: None,
        },
        "101" | "103" => PlatformError::Auth { code, msg },
        "105" => PlatformError::NoBalance { code, msg },
        "" => PlatformError::protocol("answer without Success or ResultCode"),
        _ => PlatformError::Invalid { code, msg },
    })
}

async fn call(c: &WaybillClient, request_type: &str, data: Value) -> Result<Value, PlatformError> {
    let creds = &c.account.credentials;
    let data = data.to_string();
    let sign = data_sign(&data, &creds.api_secret);
    c.caller
        .retrying(request_type, || async {
            let out = Outgoing::form(
                format!("{}/api/EOrderService", c.account.base_url),
                &[
                    ("RequestData", &data),
                    ("EBusinessID", &creds.api_key),
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

fn party(p: &super::Contact) -> Value {
    json!({
        "Name": p.name,
        "Mobile": p.mobile,
        "ProvinceName": p.province,
        "CityName": p.city,
        "ExpAreaName": p.county,
        "Address": p.address,
    })
}

/// The account fields (CustomerName / CustomerPwd / SendSite) that are set.
fn with_account(c: &WaybillClient, mut data: Value) -> Value {
    let creds = &c.account.credentials;
    for (field, value) in [
        ("CustomerName", &creds.account),
        ("CustomerPwd", &creds.account_secret),
        ("SendSite", &creds.site),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            data[field] = json!(v);
        }
    }
    data
}

pub(crate) async fn issue(
    c: &WaybillClient,
    key: &str,
    req: &WaybillRequest,
) -> Result<IssuedWaybill, PlatformError> {
    let commodity: Vec<Value> = if req.items.is_empty() {
        vec![json!({"GoodsName": "商品", "Goodsquantity": 1})]
    } else {
        req.items
            .iter()
            .map(|i| json!({"GoodsName": i.name, "Goodsquantity": i.count}))
            .collect()
    };
    let mut data = json!({
        "OrderCode": key,
        "ShipperCode": c.code_in(CodeSystem::Kdniao),
        "PayType": 1,
        "ExpType": 1,
        "Sender": party(&req.sender),
        "Receiver": party(&req.receiver),
        "Commodity": commodity,
        "Quantity": 1,
        "IsReturnPrintTemplate": 0,
    });
    if let Some(kg) = req.weight_kg() {
        data["Weight"] = json!(kg);
    }
    if let Some(r) = &req.remark {
        data["Remark"] = json!(r);
    }
    let v = call(c, "1007", with_account(c, data)).await?;
    let order = v
        .get("Order")
        .filter(|o| o.is_object())
        .ok_or_else(|| PlatformError::protocol("success without Order"))?;
    let tracking_no = nonempty(order, "LogisticCode")
        .ok_or_else(|| PlatformError::protocol("Order without LogisticCode"))?;
    Ok(IssuedWaybill {
        tracking_no,
        sort_code: nonempty(order, "MarkDestination"),
        hub: nonempty(order, "PackageName"),
    })
}

pub(crate) async fn cancel(
    c: &WaybillClient,
    key: &str,
    tracking_no: &str,
) -> Result<(), PlatformError> {
    let data = json!({
        "ShipperCode": c.code_in(CodeSystem::Kdniao),
        "OrderCode": key,
        "ExpNo": tracking_no,
    });
    call(c, "1147", with_account(c, data)).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sign_is_base64_of_the_hex_digest() {
        // Computed independently with python3: base64(md5('{"OrderCode":"A"}appkey').hexdigest()).
        assert_eq!(
            data_sign(r#"{"OrderCode":"A"}"#, "appkey"),
            "YTBiMDU3ZWI5ZTRlNzY2NDdhY2RmNzhhNGI0Mzc1OGQ="
        );
    }

    #[test]
    fn answers_map_to_typed_errors() {
        let e = |b: &str| classify(200, b.as_bytes()).unwrap_err();
        assert!(matches!(
            e(r#"{"Success":false,"ResultCode":"105","Reason":"余额不足"}"#),
            PlatformError::NoBalance { .. }
        ));
        assert!(matches!(
            e(r#"{"Success":false,"ResultCode":"101","Reason":"sign"}"#),
            PlatformError::Auth { .. }
        ));
        assert!(e(r#"{"Success":false,"ResultCode":"109"}"#).is_retryable());
        assert!(e(r#"{"Success":false,"ResultCode":"429"}"#).is_retryable());
        assert!(matches!(e("<html>"), PlatformError::Protocol(_)));
        let again = classify(200, br#"{"Success":true,"ResultCode":"106","Order":{}}"#);
        assert!(
            again.is_ok(),
            "a repeated OrderCode is the first answer again"
        );
    }
}
