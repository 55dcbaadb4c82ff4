//! Signing and encryption vectors. Where the documents carry a worked example it is used as is
//! (Tencent's WXBizMsgCrypt samples, Xiaohongshu's push example); the others were computed by
//! hand with Python's hashlib/hmac over the documented recipe, e.g.
//! `hmac.new(b"secret", s.encode(), hashlib.sha256).hexdigest()`.

use fahuo_platforms::{DouyinSignMethod, WebhookError, douyin, wechat, xiaohongshu};
use serde_json::json;

/// Tencent's sample EncodingAESKey (公众号 message-encryption samples).
const SAMPLE_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

#[test]
fn wechat_encryption_matches_tencents_published_sample() {
    let enc = wechat::encrypt_message(
        SAMPLE_KEY,
        "wxb11529c136998cb6",
        *b"aaaabbbbccccdddd",
        "我是中文abcd123",
    )
    .expect("encrypt");
    assert_eq!(
        enc,
        "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    );
    // And back.
    assert_eq!(
        wechat::decrypt_message(SAMPLE_KEY, &enc),
        Ok((
            "我是中文abcd123".to_string(),
            "wxb11529c136998cb6".to_string()
        ))
    );
}

#[test]
fn wechat_signature_and_decryption_match_tencents_published_sample() {
    let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    assert_eq!(
        wechat::msg_signature("spamtest", "1409735669", "1320562132", encrypt),
        "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    );
    let (msg, appid) = wechat::decrypt_message(SAMPLE_KEY, encrypt).expect("decrypt");
    assert_eq!(appid, "wx2c2769f8efd9abc2");
    assert!(
        msg.contains("<Content><![CDATA[abcdteT]]></Content>"),
        "{msg}"
    );
}

#[test]
fn wechat_url_check_signature_sorts_its_parts() {
    // sha1("1372623149" + "1409659813" + "token"), by hand.
    assert_eq!(
        wechat::url_signature("token", "1409659813", "1372623149"),
        "74ec3ddbfdaa9e34666e94a046804051e80c7749"
    );
}

#[test]
fn wechat_padding_uses_32_byte_blocks() {
    for len in [0usize, 1, 11, 12, 13, 44, 100] {
        let msg = "x".repeat(len);
        let enc = wechat::encrypt_message(SAMPLE_KEY, "wxappid", [7; 16], &msg).expect("encrypt");
        let raw = base64_len(&enc);
        assert_eq!(raw % 32, 0, "{len}: ciphertext padded to 32 bytes");
        assert_eq!(
            wechat::decrypt_message(SAMPLE_KEY, &enc)
                .expect("decrypt")
                .0,
            msg
        );
    }
}

fn base64_len(b64: &str) -> usize {
    b64.trim_end_matches('=').len() * 3 / 4
}

#[test]
fn wechat_decryption_refuses_malformed_ciphertext_with_a_reason() {
    let good = wechat::encrypt_message(SAMPLE_KEY, "wxappid", [1; 16], "{\"a\":1}").expect("enc");
    for bad in [
        "",
        "not base64 at all!",
        &good[..good.len() - 6],
        "AAAA",
        "QUJD",
    ] {
        assert!(
            matches!(
                wechat::decrypt_message(SAMPLE_KEY, bad),
                Err(WebhookError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
    // A valid ciphertext under another key decrypts to garbage padding or length: refused.
    let other = "bbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    assert!(wechat::decrypt_message(other, &good).is_err());
}

#[test]
fn douyin_param_json_is_canonical() {
    let v: serde_json::Value =
        serde_json::from_str(r#"{"b":1.0,"a":{"z":"<&>","y":[2.5,{"d":1,"c":"中"}]},"e":{}}"#)
            .expect("json");
    assert_eq!(
        douyin::canonical_json(&v),
        r#"{"a":{"y":[2.5,{"c":"中","d":1}],"z":"<&>"},"b":1,"e":{}}"#
    );
    assert_eq!(douyin::canonical_json(&json!({})), "{}");
}

#[test]
fn douyin_request_signatures_follow_the_recipe() {
    let pj = r#"{"order_id":"4782813149182887526"}"#;
    let args = (
        "1234567890",
        "secret",
        "order.orderDetail",
        pj,
        "1700000000",
        "2",
    );
    assert_eq!(
        douyin::sign(
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            args.5,
            DouyinSignMethod::Md5
        ),
        "c323ae17a4851cb8c6936aa720fdf405"
    );
    assert_eq!(
        douyin::sign(
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            args.5,
            DouyinSignMethod::HmacSha256
        ),
        "b42528703b2ac65cfcfafa52d08617a4036f41d3e64ebadcd53efd3de58b4625"
    );
}

#[test]
fn douyin_event_sign_is_md5_of_key_body_secret() {
    let body = br#"[{"tag":"101","msg_id":"1","data":"{}"}]"#;
    assert_eq!(
        douyin::event_sign("7301", body, "sec"),
        "4a6578d3b22279b4ea628ed587d4ab84"
    );
}

#[test]
fn xiaohongshu_request_signature_covers_the_four_system_parameters() {
    assert_eq!(
        xiaohongshu::sign(
            "order.getOrderList",
            "f1a2b3c4",
            "1700000000",
            "2.0",
            "secretX"
        ),
        "f9b0a31606a73301ee66d56e5e2ea1b3"
    );
}

#[test]
fn xiaohongshu_push_signature_matches_the_docs_worked_example() {
    // 041_应用消息推送: URL /open_api/msg?canshu=test, app-key xhs, timestamp 1625475843,
    // secret 9a539709cafc1efc9ef05838be468a28 → a7b7430de338783293443133ab9b9357.
    let secret = "9a539709cafc1efc9ef05838be468a28";
    assert_eq!(
        xiaohongshu::push_sign("/open_api/msg", "canshu=test", "xhs", "1625475843", secret),
        "a7b7430de338783293443133ab9b9357"
    );
    // The other readings of the example's `tamp=` typo do not give the published digest:
    // the literal `tamp=` (d9c3…) and the one without the URL's own query (4203…).
    let md5 = |s: &str| {
        use md5::Digest;
        md5::Md5::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(
        md5(&format!(
            "/open_api/msg?app-key=xhs&canshu=test&tamp=1625475843{secret}"
        )),
        "d9c3b722eafc6544187182292a51486c"
    );
    assert_eq!(
        xiaohongshu::push_sign("/open_api/msg", "", "xhs", "1625475843", secret),
        "4203f4d60ae53179427301269e210f1e"
    );
}
