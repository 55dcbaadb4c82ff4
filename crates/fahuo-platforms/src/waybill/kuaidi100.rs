//! kuaidi100 (快递100) e-waybill: `POST {base}/label/order`, form fields `method`, `key`, `t`,
//! `param`, `sign = UPPER(MD5(param + t + key + secret))`.

use super::{IssuedWaybill, WaybillClient, WaybillRequest, json_object};
use crate::caller::Outgoing;
use crate::error::PlatformError;
use crate::util::{md5_hex, nonempty};
use fahuo_carriers::CodeSystem;
use serde_json::{Value, json};

pub(crate) fn sign(param: &str, t: &str, key: &str, secret: &str) -> String {
    md5_hex(format!("{param}{t}{key}{secret}").as_bytes()).to_ascii_uppercase()
}

/// Maps an answer to its `data` (or `Null` when there is none) or a typed error.
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
    let code = crate::util::text(&v, "code").unwrap_or_default();
    let ok = v.get("success").and_then(Value::as_bool) == Some(true);
    if ok && (code == "200" || code.is_empty()) {
        return Ok(v.get("data").cloned().unwrap_or(Value::Null));
    }
    let msg = crate::util::text(&v, "message").unwrap_or_default();
    Err(match code.as_str() {
        "500" => PlatformError::Transient(format!("system busy ({code}): {msg}")),
        "429" => PlatformError::RateLimited {
            code,
            retry_after: None,
        },
        "30002" | "30004" => PlatformError::Auth { code, msg },
        "30005" => PlatformError::NoBalance { code, msg },
        "" => PlatformError::protocol("answer without success or code"),
        _ => PlatformError::Invalid { code, msg },
    })
}

async fn call(c: &WaybillClient, method: &str, param: Value) -> Result<Value, PlatformError> {
    let creds = &c.account.credentials;
    let param = param.to_string();
    c.caller
        .retrying(method, || async {
            let t = chrono::Utc::now().timestamp_millis().to_string();
            let sign = sign(&param, &t, &creds.api_key, &creds.api_secret);
            let out = Outgoing::form(
                format!("{}/label/order", c.account.base_url),
                &[
                    ("method", method),
                    ("key", &creds.api_key),
                    ("t", &t),
                    ("param", &param),
                    ("sign", &sign),
                ],
            );
            let (status, body) = c.caller.send(out).await?;
            classify(status, &body)
        })
        .await
}

fn man(p: &super::Contact) -> Value {
    json!({"name": p.name, "mobile": p.mobile, "printAddr": p.full_address()})
}

pub(crate) async fn issue(
    c: &WaybillClient,
    key: &str,
    req: &WaybillRequest,
) -> Result<IssuedWaybill, PlatformError> {
    let creds = &c.account.credentials;
    let mut param = json!({
        "kuaidicom": c.code_in(CodeSystem::Kuaidi100),
        "partnerId": creds.account.clone().unwrap_or_default(),
        "partnerKey": creds.account_secret.clone().unwrap_or_default(),
        "orderId": key,
        "recMan": man(&req.receiver),
        "sendMan": man(&req.sender),
        "cargo": req.cargo(),
        "count": 1,
        "payType": "SHIPPER",
        "expType": "标准快递",
        "printType": "NON",
        "needSubscribe": false,
    });
    if let Some(kg) = req.weight_kg() {
        param["weight"] = json!(kg);
    }
    if let Some(net) = &creds.site {
        param["net"] = json!(net);
    }
    if let Some(r) = &req.remark {
        param["remark"] = json!(r);
    }
    let data = call(c, "order", param).await?;
    let tracking_no = nonempty(&data, "kuaidinum")
        .ok_or_else(|| PlatformError::protocol("success without kuaidinum"))?;
    Ok(IssuedWaybill {
        tracking_no,
        sort_code: nonempty(&data, "bulkpen"),
        hub: nonempty(&data, "pkgName"),
    })
}

pub(crate) async fn cancel(
    c: &WaybillClient,
    key: &str,
    tracking_no: &str,
) -> Result<(), PlatformError> {
    let creds = &c.account.credentials;
    let param = json!({
        "partnerId": creds.account.clone().unwrap_or_default(),
        "partnerKey": creds.account_secret.clone().unwrap_or_default(),
        "kuaidicom": c.code_in(CodeSystem::Kuaidi100),
        "kuaidinum": tracking_no,
        "orderId": key,
        "reason": "fahuo: not needed",
    });
    call(c, "cancel", param).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_is_upper_hex_md5_of_param_t_key_secret() {
        // md5("{}" + "1" + "k" + "s"), computed independently with python3's hashlib.
        assert_eq!(
            sign("{}", "1", "k", "s"),
            "99105D78DE063451D454EECE61D88E88"
        );
    }

    #[test]
    fn answers_map_to_typed_errors() {
        let e = |b: &str| classify(200, b.as_bytes()).unwrap_err();
        assert!(matches!(
            e(r#"{"success":false,"code":30005,"message":"余额不足"}"#),
            PlatformError::NoBalance { .. }
        ));
        assert!(matches!(
            e(r#"{"success":false,"code":30002,"message":"sign"}"#),
            PlatformError::Auth { .. }
        ));
        assert!(e(r#"{"success":false,"code":500,"message":"busy"}"#).is_retryable());
        assert!(matches!(
            e(r#"{"success":false,"code":30001,"message":"bad"}"#),
            PlatformError::Invalid { .. }
        ));
        assert!(matches!(e("not json"), PlatformError::Protocol(_)));
        assert!(matches!(e("[]"), PlatformError::Protocol(_)));
        assert!(classify(502, b"").unwrap_err().is_retryable());
        let ok = classify(
            200,
            br#"{"success":true,"code":200,"data":{"kuaidinum":"1"}}"#,
        )
        .unwrap();
        assert_eq!(ok["kuaidinum"], "1");
    }
}
