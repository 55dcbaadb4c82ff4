//! Fuzz target: the tracking aggregators' `verify_push` never panics — neither on raw bytes
//! (refused at the form or the signature) nor on correctly signed garbage, which reaches the
//! JSON and trace parsers (kuaidi100 `param`, kdniao `RequestData`).

#![no_main]

use base64::Engine;
use fahuo_platforms::tracking::{TrackingCredentials, TrackingService, verify_push};
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut s = String::new();
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
    }
    s.into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let creds = TrackingCredentials {
        customer: "1234567".into(),
        key: "fuzz-key".into(),
        salt: "fuzz-salt".into(),
    };
    let ct = Some("application/x-www-form-urlencoded");
    // Raw bytes.
    for s in [TrackingService::Kuaidi100, TrackingService::Kdniao] {
        let _ = verify_push(s, &creds, ct, data);
        let _ = verify_push(s, &creds, None, data);
    }
    // Correctly signed garbage.
    let text = String::from_utf8_lossy(data);
    let sign = md5_hex(&format!("{text}{}", creds.salt));
    let body = form(&[("param", &text), ("sign", &sign)]);
    let _ = verify_push(TrackingService::Kuaidi100, &creds, ct, &body);
    let ds =
        base64::engine::general_purpose::STANDARD.encode(md5_hex(&format!("{text}{}", creds.key)));
    let body = form(&[
        ("RequestData", &text),
        ("DataSign", &ds),
        ("RequestType", "101"),
    ]);
    let _ = verify_push(TrackingService::Kdniao, &creds, ct, &body);
});
