//! Tracking aggregators: pushes built and signed here by hand from the reference (§4.1, §4.2),
//! never with the crate's own signing; code tables; request shapes and error mapping against a
//! scripted server.

mod mock;

use base64::Engine;
use chrono::{TimeZone, Utc};
use fahuo_carriers::Carrier;
use fahuo_domain::tracking::{SubState, TrackState, timeline};
use fahuo_platforms::tracking::*;
use fahuo_platforms::{PlatformError, WebhookError};
use md5::{Digest, Md5};
use mock::{Mock, options};
use serde_json::{Value, json};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded;charset=UTF-8");

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
        .into_bytes()
}

fn k100_creds() -> TrackingCredentials {
    TrackingCredentials {
        customer: "CUST100".into(),
        key: "k100key".into(),
        salt: "s@lt 1".into(),
    }
}

fn kdn_creds() -> TrackingCredentials {
    TrackingCredentials {
        customer: "1234567".into(),
        key: "kdn-app-key".into(),
        salt: String::new(),
    }
}

/// kuaidi100 push body: `param` and `sign = MD5(param + salt)` (upper or lower hex).
fn k100_push(param: &Value, salt: &str, upper: bool) -> Vec<u8> {
    let param = param.to_string();
    let mut sign = md5_hex(&format!("{param}{salt}"));
    if upper {
        sign = sign.to_uppercase();
    }
    form(&[("param", &param), ("sign", &sign)])
}

/// kdniao `DataSign`: base64 of the lower-case md5 hex string of RequestData + AppKey.
fn kdn_sign(data: &str, key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5_hex(&format!("{data}{key}")))
}

fn k100_param(status: &str, state: &str, data: Value) -> Value {
    json!({
        "status": status,
        "billstatus": "got",
        "message": "",
        "autoCheck": "0",
        "comOld": "",
        "comNew": "",
        "lastResult": {
            "message": "ok", "state": state, "status": "200", "condition": "F00",
            "ischeck": if state.starts_with('3') { "1" } else { "0" },
            "com": "yuantong", "nu": "YT1234567890123",
            "data": data,
        }
    })
}

fn k100_trace() -> Value {
    // Newest first, as kuaidi100 sends it.
    json!([
        {"context": "【上海市】您的快件已签收，签收人：本人", "time": "2026-03-02 09:10:00",
         "ftime": "2026-03-02 09:10:00", "status": "签收", "statusCode": "301", "areaName": "上海市"},
        {"context": "【上海市】快件正在派送中", "time": "2026-03-02 07:00:00",
         "ftime": "2026-03-02 07:00:00", "status": "派件", "statusCode": "5"},
        {"context": "快件离开【杭州转运中心】", "time": "2026-03-01 20:00:00",
         "ftime": "2026-03-01 20:00:00", "status": "干线", "statusCode": "1002"},
        {"context": "【杭州市】已揽收", "time": "2026-03-01 00:30:00",
         "ftime": "2026-03-01 00:30:00", "status": "揽收", "statusCode": "103"}
    ])
}

#[test]
fn a_kuaidi100_push_signed_by_the_reference_parses_into_events() {
    for upper in [false, true] {
        let body = k100_push(
            &k100_param("shutdown", "301", k100_trace()),
            &k100_creds().salt,
            upper,
        );
        let push =
            verify_push(TrackingService::Kuaidi100, &k100_creds(), FORM, &body).expect("verifies");
        assert_eq!(push.reports.len(), 1);
        let r = &push.reports[0];
        assert_eq!(r.tracking_no, "YT1234567890123");
        assert_eq!(r.carrier_code, "yuantong");
        assert_eq!(r.carrier, Some(Carrier::Yto));
        assert_eq!(r.state, Some(TrackState::Delivered));
        assert_eq!(r.sub_state, Some(SubState::SignedByReceiver));
        assert!(r.ended && !r.aborted);
        let states: Vec<_> = r.events.iter().map(|e| (e.state, e.sub_state)).collect();
        assert_eq!(
            states,
            vec![
                (TrackState::Delivered, Some(SubState::SignedByReceiver)),
                (TrackState::OutForDelivery, None),
                (TrackState::InTransit, Some(SubState::Trunk)),
                (TrackState::PickedUp, Some(SubState::Collected)),
            ]
        );
        // Beijing 00:30 on 1 March is 16:30 UTC on 28 February.
        assert_eq!(
            r.events[3].at,
            Utc.with_ymd_and_hms(2026, 2, 28, 16, 30, 0).unwrap()
        );
        assert_eq!(r.events[0].location.as_deref(), Some("上海市"));
    }
}

#[test]
fn kuaidi100_lines_without_codes_are_classified_or_keep_the_state_before() {
    let data = json!([
        {"context": "包裹状态更新", "ftime": "2026-03-02 10:00:00"},
        {"context": "快件已到达【上海转运中心】", "ftime": "2026-03-02 08:00:00"},
        {"context": "???", "ftime": "2026-03-01 10:00:00"},
        {"context": "【杭州市】已揽收", "ftime": "2026-03-01 09:00:00"}
    ]);
    let body = k100_push(&k100_param("polling", "", data), &k100_creds().salt, false);
    let r = &verify_push(TrackingService::Kuaidi100, &k100_creds(), None, &body)
        .expect("verifies")
        .reports[0];
    let states: Vec<_> = r.events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        vec![
            TrackState::InTransit, // newest: no code, no report state, no words: the line before
            TrackState::InTransit,
            TrackState::PickedUp, // unclassifiable: kept from the line before
            TrackState::PickedUp,
        ]
    );
    assert_eq!(r.state, None);
    assert!(!r.ended);
    // The report-level state names the newest line when it has no code of its own.
    let body = k100_push(
        &k100_param(
            "polling",
            "5",
            json!([
                {"context": "包裹状态更新", "ftime": "2026-03-02 10:00:00"},
                {"context": "【杭州市】已揽收", "ftime": "2026-03-01 09:00:00"}
            ]),
        ),
        &k100_creds().salt,
        false,
    );
    let r = &verify_push(TrackingService::Kuaidi100, &k100_creds(), None, &body)
        .unwrap()
        .reports[0];
    assert_eq!(r.events[0].state, TrackState::OutForDelivery);
    assert_eq!(r.events[1].state, TrackState::PickedUp);
}

#[test]
fn an_abort_push_is_marked_aborted_with_its_message() {
    let mut p = k100_param("abort", "0", json!([]));
    p["message"] = json!("3天查询无记录");
    let body = k100_push(&p, &k100_creds().salt, false);
    let r = &verify_push(TrackingService::Kuaidi100, &k100_creds(), None, &body)
        .unwrap()
        .reports[0];
    assert!(r.aborted && !r.ended);
    assert_eq!(r.message.as_deref(), Some("3天查询无记录"));
    assert!(r.events.is_empty());
}

#[test]
fn duplicate_lines_are_all_kept_and_merge_into_one_event() {
    let line =
        json!({"context": "【杭州市】已揽收", "ftime": "2026-03-01 09:00:00", "statusCode": "103"});
    let body = k100_push(
        &k100_param("polling", "1", json!([line.clone(), line])),
        &k100_creds().salt,
        false,
    );
    let r = &verify_push(TrackingService::Kuaidi100, &k100_creds(), None, &body)
        .unwrap()
        .reports[0];
    assert_eq!(r.events.len(), 2, "no line is dropped by the parser");
    assert_eq!(
        timeline(r.events.clone()).len(),
        1,
        "the timeline merges them"
    );
}

#[test]
fn forged_or_malformed_kuaidi100_pushes_are_refused() {
    let creds = k100_creds();
    let param = k100_param("polling", "0", k100_trace()).to_string();
    let v = |body: &[u8]| verify_push(TrackingService::Kuaidi100, &creds, FORM, body);
    // Signed with another salt, or the param changed after signing.
    let other = md5_hex(&format!("{param}other"));
    assert_eq!(
        v(&form(&[("param", &param), ("sign", &other)])),
        Err(WebhookError::BadSignature)
    );
    let good = md5_hex(&format!("{param}{}", creds.salt));
    let tampered = param.replace("YT1234567890123", "YT9999999999999");
    assert_eq!(
        v(&form(&[("param", &tampered), ("sign", &good)])),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        v(&form(&[("param", &param)])),
        Err(WebhookError::Missing("sign"))
    );
    assert_eq!(
        v(&form(&[("sign", &good)])),
        Err(WebhookError::Missing("param"))
    );
    // Correctly signed but not JSON / without lastResult / a bad time.
    let signed = |p: &str| {
        form(&[
            ("param", p),
            ("sign", &md5_hex(&format!("{p}{}", creds.salt))),
        ])
    };
    assert!(matches!(
        v(&signed("not json")),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(v(&signed("[1]")), Err(WebhookError::Malformed(_))));
    assert_eq!(
        v(&signed(r#"{"status":"polling"}"#)),
        Err(WebhookError::Missing("lastResult"))
    );
    let bad_time = k100_param(
        "polling",
        "0",
        json!([{"context": "x", "ftime": "yesterday"}]),
    )
    .to_string();
    assert!(matches!(
        v(&signed(&bad_time)),
        Err(WebhookError::Malformed(_))
    ));
    let no_nu = r#"{"status":"polling","lastResult":{"data":[]}}"#;
    assert!(matches!(v(&signed(no_nu)), Err(WebhookError::Malformed(_))));
    // Empty, huge, JSON-typed, and duplicated bodies.
    assert!(matches!(v(b""), Err(WebhookError::Malformed(_))));
    let huge = vec![b'a'; 5 << 20];
    assert!(matches!(v(&huge), Err(WebhookError::Malformed(_))));
    let ok = signed(&param);
    assert!(matches!(
        verify_push(
            TrackingService::Kuaidi100,
            &creds,
            Some("application/json"),
            &ok
        ),
        Err(WebhookError::Malformed(_))
    ));
    let mut twice = ok.clone();
    twice.extend_from_slice(b"&param=x");
    assert!(matches!(v(&twice), Err(WebhookError::Malformed(_))));
    assert!(v(&ok).is_ok());
    // No salt configured.
    let no_salt = TrackingCredentials {
        salt: String::new(),
        ..creds.clone()
    };
    assert!(matches!(
        verify_push(TrackingService::Kuaidi100, &no_salt, FORM, &ok),
        Err(WebhookError::NotConfigured(_))
    ));
}

fn kdn_data() -> Value {
    json!({
        "EBusinessID": "1234567",
        "PushTime": "2026-03-02 09:11:00",
        "Count": "2",
        "Data": [
            {"EBusinessID": "1234567", "ShipperCode": "SF", "LogisticCode": "SF1234567890123",
             "Success": true, "State": "3", "StateEx": "304", "Location": "上海市",
             "Traces": [
                {"AcceptTime": "2026-03-01 09:00:00", "AcceptStation": "顺丰速运 已收取快件", "Action": "1"},
                {"AcceptTime": "2026-03-01 22:00:00", "AcceptStation": "快件到达【上海集散中心】", "Action": "201", "Location": "上海市"},
                {"AcceptTime": "2026-03-02 08:00:00", "AcceptStation": "快件交给张三，正在派送途中", "Action": "202"},
                {"AcceptTime": "2026-03-02 09:10:00", "AcceptStation": "已签收,代收人:门卫"}
             ]},
            {"EBusinessID": "1234567", "ShipperCode": "ZZZ", "LogisticCode": "X1",
             "Success": true, "State": "2", "Traces": []}
        ]
    })
}

fn kdn_push_body(data: &str, sign: &str, request_type: &str) -> Vec<u8> {
    form(&[
        ("RequestData", data),
        ("DataSign", sign),
        ("RequestType", request_type),
    ])
}

#[test]
fn a_kdniao_push_with_several_parcels_verifies_whichever_way_the_sign_is_encoded() {
    let creds = kdn_creds();
    let data = kdn_data().to_string();
    let sign = kdn_sign(&data, &creds.key);
    // Once through the form encoder (the usual way), and URL-encoded before that as well.
    let once = kdn_push_body(&data, &sign, "101");
    let twice_encoded: String = form_urlencoded::byte_serialize(sign.as_bytes()).collect();
    let twice = kdn_push_body(&data, &twice_encoded, "101");
    for body in [once, twice] {
        let push = verify_push(TrackingService::Kdniao, &creds, FORM, &body).expect("verifies");
        assert_eq!(push.reports.len(), 2);
        let r = &push.reports[0];
        assert_eq!(r.carrier, Some(Carrier::Sf));
        assert_eq!(r.state, Some(TrackState::Delivered));
        assert_eq!(r.sub_state, Some(SubState::SignedByProxy));
        assert!(r.ended);
        let states: Vec<_> = r.events.iter().map(|e| (e.state, e.sub_state)).collect();
        assert_eq!(
            states,
            vec![
                (TrackState::PickedUp, None),
                (
                    TrackState::InTransit,
                    Some(SubState::ArrivedDestinationCity)
                ),
                (TrackState::OutForDelivery, Some(SubState::Delivering)),
                // No Action: the report's StateEx names the newest line.
                (TrackState::Delivered, Some(SubState::SignedByProxy)),
            ]
        );
        assert_eq!(r.events[1].location.as_deref(), Some("上海市"));
        assert_eq!(
            r.events[3].at,
            Utc.with_ymd_and_hms(2026, 3, 2, 1, 10, 0).unwrap()
        );
        let unknown = &push.reports[1];
        assert_eq!(unknown.carrier, None);
        assert_eq!(unknown.carrier_code, "ZZZ");
        assert_eq!(unknown.state, Some(TrackState::InTransit));
        assert!(!unknown.ended);
    }
}

#[test]
fn forged_or_malformed_kdniao_pushes_are_refused() {
    let creds = kdn_creds();
    let v = |body: &[u8]| verify_push(TrackingService::Kdniao, &creds, FORM, body);
    let data = kdn_data().to_string();
    let good = kdn_sign(&data, &creds.key);
    let wrong_key = kdn_sign(&data, "other");
    assert_eq!(
        v(&kdn_push_body(&data, &wrong_key, "101")),
        Err(WebhookError::BadSignature)
    );
    // The raw md5 bytes instead of the hex string: not kdniao's sign.
    let raw = base64::engine::general_purpose::STANDARD
        .encode(Md5::digest(format!("{data}{}", creds.key).as_bytes()));
    assert_eq!(
        v(&kdn_push_body(&data, &raw, "101")),
        Err(WebhookError::BadSignature)
    );
    // base64 is case-sensitive.
    assert_eq!(
        v(&kdn_push_body(&data, &good.to_lowercase(), "101")),
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        v(&kdn_push_body(&data, &good, "1002")),
        Err(WebhookError::Malformed(_))
    ));
    assert_eq!(
        v(&form(&[("RequestData", &data), ("DataSign", &good)])),
        Err(WebhookError::Missing("RequestType"))
    );
    assert_eq!(
        v(&form(&[("RequestData", &data), ("RequestType", "101")])),
        Err(WebhookError::Missing("DataSign"))
    );
    // Signed correctly, for another EBusinessID.
    let mut other = kdn_data();
    other["EBusinessID"] = json!("7654321");
    let other = other.to_string();
    assert_eq!(
        v(&kdn_push_body(&other, &kdn_sign(&other, &creds.key), "101")),
        Err(WebhookError::WrongRecipient)
    );
    // Signed correctly, but broken inside.
    for bad in [
        "not json",
        "[]",
        r#"{"Data":{"LogisticCode":"1"}}"#,
        r#"{"Data":[1]}"#,
        r#"{"Data":[{"ShipperCode":"SF"}]}"#,
        r#"{"Data":[{"LogisticCode":"1","Traces":[{"AcceptTime":"soon"}]}]}"#,
    ] {
        assert!(
            matches!(
                v(&kdn_push_body(bad, &kdn_sign(bad, &creds.key), "101")),
                Err(WebhookError::Malformed(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(v(b""), Err(WebhookError::Malformed(_))));
    assert!(matches!(
        v(&vec![b'%'; 5 << 20]),
        Err(WebhookError::Malformed(_))
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"param=sign&RequestData=DataSign=RequestType=101%{}[]\":,+ 0aZ\xff\xe4";
    for _ in 0..3000 {
        let len = (next() % 200) as usize;
        let body: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        for s in [TrackingService::Kuaidi100, TrackingService::Kdniao] {
            let creds = if s == TrackingService::Kdniao {
                kdn_creds()
            } else {
                k100_creds()
            };
            let _ = verify_push(s, &creds, FORM, &body);
            let _ = verify_push(s, &creds, None, &body);
        }
    }
}

#[test]
fn every_documented_code_maps() {
    use SubState as S;
    use TrackState as T;
    let k = |c: &str| map_code(TrackingService::Kuaidi100, c);
    for (code, want) in [
        ("0", (T::InTransit, None)),
        ("1", (T::PickedUp, None)),
        ("2", (T::Problem, None)),
        ("3", (T::Delivered, None)),
        ("4", (T::Returned, None)),
        ("5", (T::OutForDelivery, None)),
        ("6", (T::Returning, None)),
        ("7", (T::InTransit, Some(S::HandedToAnotherCarrier))),
        ("8", (T::InTransit, Some(S::Customs))),
        ("10", (T::InTransit, Some(S::Customs))),
        ("11", (T::InTransit, Some(S::Customs))),
        ("12", (T::InTransit, Some(S::Customs))),
        ("13", (T::Problem, Some(S::Customs))),
        ("14", (T::Refused, Some(S::RefusedByReceiver))),
        ("101", (T::AwaitingPickup, Some(S::Ordered))),
        ("102", (T::AwaitingPickup, Some(S::WaitingForCourier))),
        ("103", (T::PickedUp, Some(S::Collected))),
        ("1001", (T::InTransit, Some(S::ArrivedDestinationCity))),
        ("1002", (T::InTransit, Some(S::Trunk))),
        ("1003", (T::InTransit, Some(S::Forwarded))),
        ("501", (T::OutForDelivery, Some(S::InLockerOrStation))),
        ("301", (T::Delivered, Some(S::SignedByReceiver))),
        ("302", (T::Delivered, Some(S::SignedAfterProblem))),
        ("303", (T::Delivered, Some(S::SignedByProxy))),
        ("304", (T::Delivered, Some(S::SignedAtLockerOrStation))),
        ("401", (T::Returned, Some(S::Cancelled))),
        ("签收", (T::Delivered, None)),
        ("干线", (T::InTransit, Some(S::Trunk))),
    ] {
        assert_eq!(k(code), Some(want), "kuaidi100 {code}");
    }
    assert_eq!(k("9"), None);
    assert_eq!(k("201"), None, "2xx sub-states are undocumented");
    let d = |c: &str| map_code(TrackingService::Kdniao, c);
    for (code, want) in [
        ("1", (T::PickedUp, None)),
        ("2", (T::InTransit, None)),
        ("3", (T::Delivered, None)),
        ("4", (T::Problem, None)),
        ("5", (T::InTransit, Some(S::Forwarded))),
        ("6", (T::InTransit, Some(S::Customs))),
        ("10", (T::AwaitingPickup, Some(S::WaitingForCourier))),
        ("201", (T::InTransit, Some(S::ArrivedDestinationCity))),
        ("202", (T::OutForDelivery, Some(S::Delivering))),
        ("211", (T::OutForDelivery, Some(S::InLockerOrStation))),
        ("301", (T::Delivered, Some(S::SignedByReceiver))),
        ("302", (T::Delivered, Some(S::SignedAfterProblem))),
        ("304", (T::Delivered, Some(S::SignedByProxy))),
        ("311", (T::Delivered, Some(S::SignedAtLockerOrStation))),
        ("401", (T::Problem, Some(S::NoInformation))),
        ("402", (T::Problem, Some(S::NotSignedInTime))),
        ("403", (T::Problem, Some(S::NoUpdateInTime))),
        ("404", (T::Refused, Some(S::RefusedByReceiver))),
        ("405", (T::Problem, Some(S::DeliveryFailed))),
        ("406", (T::Returned, Some(S::ReturnSigned))),
        ("407", (T::Returning, Some(S::ReturnNotSigned))),
        ("412", (T::Problem, Some(S::LockerNotCollected))),
    ] {
        assert_eq!(d(code), Some(want), "kdniao {code}");
    }
    assert_eq!(d("0"), None, "no trace yet");
    assert_eq!(d("999"), None);
}

#[test]
fn push_replies_have_each_services_shape() {
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 16, 30, 5).unwrap();
    let (s, ct, b) = push_reply(TrackingService::Kuaidi100, &k100_creds(), true, now);
    assert_eq!(s, http::StatusCode::OK);
    assert!(ct.starts_with("application/json"));
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        v,
        json!({"result": true, "returnCode": "200", "message": "成功"})
    );
    let (s, _, b) = push_reply(TrackingService::Kuaidi100, &k100_creds(), false, now);
    assert_eq!(s, http::StatusCode::INTERNAL_SERVER_ERROR);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"], false);
    let (s, _, b) = push_reply(TrackingService::Kdniao, &kdn_creds(), true, now);
    assert_eq!(s, http::StatusCode::OK);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        v,
        json!({"EBusinessID": "1234567", "UpdateTime": "2026-03-02 00:30:05", "Success": true, "Reason": ""})
    );
    let (_, _, b) = push_reply(TrackingService::Kdniao, &kdn_creds(), false, now);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["Success"], false);
    assert!(!v["Reason"].as_str().unwrap().is_empty());
}

// ------------------------------------------------------------------ clients against a mock

fn account(service: TrackingService, base: &str) -> TrackingAccount {
    TrackingAccount {
        service,
        base_url: format!("{base}/"),
        credentials: if service == TrackingService::Kdniao {
            kdn_creds()
        } else {
            k100_creds()
        },
        callback_url: "https://fahuo.example/hooks/track/1".into(),
    }
}

fn client(service: TrackingService, base: &str) -> TrackingClient {
    TrackingClient::new(
        account(service, base),
        fahuo_platforms::http_client(),
        &options(),
    )
    .expect("client")
}

fn sf(no: &str) -> TrackRequest {
    TrackRequest {
        carrier: Carrier::Sf,
        tracking_no: format!(" {no} "),
        phone_last4: Some("138-0013-8000".into()),
    }
}

#[test]
fn accounts_are_checked() {
    let http = fahuo_platforms::http_client();
    let bad = |a: TrackingAccount| {
        matches!(
            TrackingClient::new(a, http.clone(), &options()),
            Err(PlatformError::Config(_))
        )
    };
    let base = "http://127.0.0.1:1";
    assert!(bad(TrackingAccount {
        base_url: "ftp://x".into(),
        ..account(TrackingService::Kdniao, base)
    }));
    let mut a = account(TrackingService::Kuaidi100, base);
    a.credentials.salt.clear();
    assert!(bad(a));
    let mut a = account(TrackingService::Kdniao, base);
    a.credentials.key = " ".into();
    assert!(bad(a));
    let mut a = account(TrackingService::Kdniao, base);
    a.credentials.customer.clear();
    assert!(bad(a));
    let mut a = account(TrackingService::Kdniao, base);
    a.credentials.salt.clear();
    assert!(!bad(a), "kdniao needs no salt");
}

#[tokio::test]
async fn kuaidi100_subscribe_sends_the_documented_form_and_maps_return_codes() {
    let m = Mock::start().await;
    let c = client(TrackingService::Kuaidi100, &m.base);
    m.script(
        "/poll",
        &[(
            200,
            r#"{"result":true,"returnCode":"200","message":"提交成功"}"#,
        )],
    );
    c.subscribe(&sf("SF1234567890123"))
        .await
        .expect("subscribed");
    let seen = m.seen_at("/poll");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert!(
        seen[0]
            .content_type
            .starts_with("application/x-www-form-urlencoded")
    );
    let f = seen[0].form();
    assert_eq!(f["schema"], "json");
    let p: Value = serde_json::from_str(&f["param"]).unwrap();
    assert_eq!(p["company"], "shunfeng");
    assert_eq!(p["number"], "SF1234567890123");
    assert_eq!(p["key"], "k100key");
    assert_eq!(
        p["parameters"]["callbackurl"],
        "https://fahuo.example/hooks/track/1"
    );
    assert_eq!(p["parameters"]["salt"], "s@lt 1");
    assert_eq!(p["parameters"]["phone"], "8000");
    assert!(p["parameters"]["resultv2"].is_string());

    m.script(
        "/poll",
        &[(
            200,
            r#"{"result":false,"returnCode":"501","message":"重复订阅"}"#,
        )],
    );
    assert_eq!(c.subscribe(&sf("SF1")).await, Ok(()));
    m.script(
        "/poll",
        &[(
            200,
            r#"{"result":false,"returnCode":"600","message":"您不是合法的订阅者"}"#,
        )],
    );
    assert!(c.subscribe(&sf("SF1")).await.unwrap_err().is_auth());
    m.script(
        "/poll",
        &[(
            200,
            r#"{"result":false,"returnCode":"700","message":"订阅方的订阅数据存在错误"}"#,
        )],
    );
    assert!(matches!(
        c.subscribe(&sf("SF1")).await,
        Err(PlatformError::Invalid { .. })
    ));
    m.clear();
    m.script(
        "/poll",
        &[(
            200,
            r#"{"result":false,"returnCode":"500","message":"服务器错误"}"#,
        )],
    );
    assert!(c.subscribe(&sf("SF1")).await.unwrap_err().is_retryable());
    assert_eq!(m.seen_at("/poll").len(), 2, "retried once");
    // A busy answer, then success.
    m.script(
        "/poll",
        &[
            (502, ""),
            (200, r#"{"result":true,"returnCode":"200","message":"ok"}"#),
        ],
    );
    assert_eq!(c.subscribe(&sf("SF1")).await, Ok(()));
}

#[tokio::test]
async fn kuaidi100_query_is_signed_and_mapped() {
    let m = Mock::start().await;
    let c = client(TrackingService::Kuaidi100, &m.base);
    let answer = json!({
        "message": "ok", "nu": "SF1234567890123", "ischeck": "0", "condition": "F00",
        "com": "shunfeng", "status": "200", "state": "1002",
        "data": [
            {"context": "快件到达【上海集散中心】", "time": "2026-03-01 22:00:00", "ftime": "2026-03-01 22:00:00", "statusCode": "1002", "status": "干线"},
            {"context": "顺丰速运 已收取快件", "time": "2026-03-01 09:00:00", "ftime": "2026-03-01 09:00:00", "statusCode": "103"}
        ]
    })
    .to_string();
    m.script("/poll/query.do", &[(200, &answer)]);
    let r = c.query(&sf("SF1234567890123")).await.expect("query");
    assert_eq!(r.state, Some(TrackState::InTransit));
    assert_eq!(r.sub_state, Some(SubState::Trunk));
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[1].state, TrackState::PickedUp);
    assert_eq!(r.carrier, Some(Carrier::Sf));
    let seen = &m.seen_at("/poll/query.do")[0];
    let f = seen.form();
    assert_eq!(f["customer"], "CUST100");
    let param = &f["param"];
    assert_eq!(
        f["sign"],
        md5_hex(&format!("{param}k100keyCUST100")).to_uppercase()
    );
    let p: Value = serde_json::from_str(param).unwrap();
    assert_eq!(
        (p["com"].as_str(), p["num"].as_str(), p["phone"].as_str()),
        (Some("shunfeng"), Some("SF1234567890123"), Some("8000"))
    );

    m.script(
        "/poll/query.do",
        &[(
            200,
            r#"{"result":false,"returnCode":"400","message":"找不到对应公司"}"#,
        )],
    );
    assert!(matches!(
        c.query(&sf("SF1")).await,
        Err(PlatformError::Invalid { .. })
    ));
    m.script(
        "/poll/query.do",
        &[(
            200,
            r#"{"result":false,"returnCode":"503","message":"验证签名失败"}"#,
        )],
    );
    assert!(c.query(&sf("SF1")).await.unwrap_err().is_auth());
    m.script("/poll/query.do", &[(200, "<html>")]);
    assert!(matches!(
        c.query(&sf("SF1")).await,
        Err(PlatformError::Protocol(_))
    ));
    // Pickups are kdniao's.
    assert!(matches!(
        c.cancel_pickup("R1", Carrier::Sf).await,
        Err(PlatformError::Unsupported(_))
    ));
}

fn check_kdniao_form(seen: &mock::Seen, request_type: &str) -> Value {
    let f = seen.form();
    assert_eq!(f["RequestType"], request_type);
    assert_eq!(f["EBusinessID"], "1234567");
    assert_eq!(f["DataType"], "2");
    let data = &f["RequestData"];
    assert_eq!(
        f["DataSign"],
        kdn_sign(data, "kdn-app-key"),
        "DataSign per the reference"
    );
    serde_json::from_str(data).expect("RequestData is JSON")
}

#[tokio::test]
async fn kdniao_subscribe_and_query_send_the_documented_forms() {
    let m = Mock::start().await;
    let c = client(TrackingService::Kdniao, &m.base);
    m.script("/api/dist", &[(200, r#"{"EBusinessID":"1234567","UpdateTime":"2026-03-01 10:00:00","Success":true,"Reason":""}"#)]);
    c.subscribe(&sf("SF1234567890123"))
        .await
        .expect("subscribed");
    let d = check_kdniao_form(&m.seen_at("/api/dist")[0], "1008");
    assert_eq!(d["ShipperCode"], "SF");
    assert_eq!(d["LogisticCode"], "SF1234567890123");
    assert_eq!(d["CustomerName"], "8000");
    // Not SF or ZTO: no phone digits.
    let yto = TrackRequest {
        carrier: Carrier::Yto,
        ..sf("YT1")
    };
    c.subscribe(&yto).await.unwrap();
    let d = check_kdniao_form(&m.seen_at("/api/dist")[1], "1008");
    assert!(d.get("CustomerName").is_none());
    m.script(
        "/api/dist",
        &[(200, r#"{"Success":false,"Reason":"参数错误"}"#)],
    );
    assert!(matches!(
        c.subscribe(&yto).await,
        Err(PlatformError::Invalid { .. })
    ));

    let answer = json!({
        "EBusinessID": "1234567", "ShipperCode": "SF", "LogisticCode": "SF1234567890123",
        "Success": true, "State": "2", "StateEx": "202",
        "Traces": [
            {"AcceptTime": "2026-03-01 09:00:00", "AcceptStation": "顺丰速运 已收取快件"},
            {"AcceptTime": "2026-03-02 08:00:00", "AcceptStation": "快件交给张三，正在派送途中"}
        ]
    })
    .to_string();
    m.script("/Ebusiness/EbusinessOrderHandle.aspx", &[(200, &answer)]);
    let r = c.query(&sf("SF1234567890123")).await.expect("query");
    assert_eq!(r.state, Some(TrackState::OutForDelivery));
    assert_eq!(r.sub_state, Some(SubState::Delivering));
    assert_eq!(r.events[0].state, TrackState::PickedUp);
    assert_eq!(r.events[1].state, TrackState::OutForDelivery);
    let d = check_kdniao_form(
        &m.seen_at("/Ebusiness/EbusinessOrderHandle.aspx")[0],
        "1002",
    );
    assert_eq!(d["LogisticCode"], "SF1234567890123");
    // No trace yet.
    m.script(
        "/Ebusiness/EbusinessOrderHandle.aspx",
        &[(200, r#"{"EBusinessID":"1234567","ShipperCode":"SF","LogisticCode":"SF1","Success":true,"State":"0","Reason":"暂无轨迹信息","Traces":[]}"#)],
    );
    let r = c.query(&sf("SF1")).await.expect("empty");
    assert!(r.events.is_empty() && r.state.is_none());
    m.script(
        "/Ebusiness/EbusinessOrderHandle.aspx",
        &[(
            200,
            r#"{"Success":false,"ResultCode":"101","Reason":"sign"}"#,
        )],
    );
    assert!(c.query(&sf("SF1")).await.unwrap_err().is_auth());
}

#[tokio::test]
async fn kdniao_pickups_are_booked_and_cancelled() {
    let m = Mock::start().await;
    let c = client(TrackingService::Kdniao, &m.base);
    let contact = |name: &str| fahuo_platforms::waybill::Contact {
        name: name.into(),
        mobile: "13800138000".into(),
        province: "浙江省".into(),
        city: "杭州市".into(),
        county: "西湖区".into(),
        address: "文三路90号".into(),
    };
    let req = PickupRequest {
        order_code: "RET-1".into(),
        carrier: Carrier::Sf,
        sender: contact("买家"),
        receiver: contact("仓库"),
        start: Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        weight_g: Some(1500),
        remark: Some("退货".into()),
    };
    m.script(
        "/api/OOrderService",
        &[(200, r#"{"EBusinessID":"1234567","Success":true,"ResultCode":"100","Reason":"","Order":{"OrderCode":"RET-1","ShipperCode":"SF","LogisticCode":"SF1400000000001"}}"#)],
    );
    let booked = c.book_pickup(&req).await.expect("booked");
    assert_eq!(booked.tracking_no.as_deref(), Some("SF1400000000001"));
    assert_eq!(booked.booking_id.as_deref(), Some("RET-1"));
    let d = check_kdniao_form(&m.seen_at("/api/OOrderService")[0], "1001");
    assert_eq!(d["OrderCode"], "RET-1");
    assert_eq!(d["ShipperCode"], "SF");
    assert_eq!(d["StartDate"], "2026-03-02 09:00:00");
    assert_eq!(d["EndDate"], "2026-03-02 17:00:00");
    assert_eq!(d["Weight"], 1.5);
    assert_eq!(d["Sender"]["Name"], "买家");
    assert_eq!(d["Receiver"]["ExpAreaName"], "西湖区");
    c.cancel_pickup("RET-1", Carrier::Sf)
        .await
        .expect("cancelled");
    let d = check_kdniao_form(&m.seen_at("/api/OOrderService")[1], "1004");
    assert_eq!(d["OrderCode"], "RET-1");
    let backwards = PickupRequest {
        end: req.start,
        ..req.clone()
    };
    assert!(matches!(
        c.book_pickup(&backwards).await,
        Err(PlatformError::Config(_))
    ));
    m.script(
        "/api/OOrderService",
        &[(
            200,
            r#"{"Success":false,"ResultCode":"105","Reason":"超出服务范围"}"#,
        )],
    );
    assert!(matches!(
        c.book_pickup(&req).await,
        Err(PlatformError::Invalid { .. })
    ));
    let k100 = client(TrackingService::Kuaidi100, &m.base);
    assert!(matches!(
        k100.book_pickup(&req).await,
        Err(PlatformError::Unsupported(_))
    ));
}
