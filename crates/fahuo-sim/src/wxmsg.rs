//! WeChat buyer-message emulator: `POST /wechat/cgi-bin/message/custom/send?access_token=..`
//! with `{"touser": openid, "msgtype": "text", "text": {"content": ..}}` (客服消息), using the
//! WeChat Shop emulator's tokens (a shop's token reaches that shop's buyers only).
//!
//! Rules, as the emulator applies them:
//!
//! * `40003` invalid openid: no order of the token's shop has this buyer (`openid` in the order
//!   detail, reference §1.3).
//! * `45015` (response out of time limit): WeChat allows customer-service messages only within
//!   48 h of the buyer's last interaction. The emulator counts placing or paying an order, and
//!   `POST /_sim/messages/interact`, as interactions; and one buyer in ten (decided by the
//!   openid) never interacted at all, so the error shows up even in a fresh shop.
//! * `45047` (out of response count limit): more than 20 messages since the last interaction.
//!   The limit of 20 is UNCONFIRMED.
//! * `40008` when `msgtype` is not `text`; `44004` when the text is empty (UNCONFIRMED codes).

use crate::model::Platform;
use crate::state::{Sim, State};
use crate::wechat::{
    ERR_ACCESS_TOKEN_EXPIRED, ERR_ACCESS_TOKEN_MISSING, ERR_DATA_FORMAT, ERR_INVALID_CREDENTIAL,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub const ERR_INVALID_OPENID: i64 = 40003;
pub const ERR_OUT_OF_TIME: i64 = 45015;
pub const ERR_OUT_OF_COUNT: i64 = 45047;
pub const ERR_INVALID_MSGTYPE: i64 = 40008;
pub const ERR_EMPTY_CONTENT: i64 = 44004;
/// Messages allowed per interaction window (UNCONFIRMED).
pub const MAX_PER_WINDOW: usize = 20;
const WINDOW_MS: i64 = 48 * 3_600_000;

/// One `custom/send` call that got past the token check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub shop: u32,
    pub openid: String,
    pub msgtype: String,
    pub content: String,
    /// 0 when sent.
    pub errcode: i64,
    pub errmsg: String,
    pub at_ms: i64,
}

/// `GET /_sim/ledger/messages`, [`crate::SimHandle::messages_snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessagesSnapshot {
    pub sent: Vec<MessageRecord>,
    pub refused: Vec<MessageRecord>,
}

#[derive(Default)]
pub struct Book {
    pub records: Vec<MessageRecord>,
    /// Interactions recorded through the control route: openid → when.
    pub interactions: HashMap<String, i64>,
}

impl Book {
    pub fn snapshot(&self) -> MessagesSnapshot {
        let (sent, refused) = self.records.iter().cloned().partition(|r| r.errcode == 0);
        MessagesSnapshot { sent, refused }
    }
}

/// Whether this buyer never interacted with the shop (one in ten, by openid).
pub fn never_interacted(openid: &str) -> bool {
    crate::tracking::trace::fnv(0, openid, 0x45015).is_multiple_of(10)
}

fn answer(code: i64, msg: &str) -> Response {
    Json(json!({ "errcode": code, "errmsg": msg })).into_response()
}

pub async fn send_h(
    AxState(sim): AxState<Arc<Sim>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    sim.tick();
    let mut st = sim.lock();
    let api = "cgi-bin/message/custom/send";
    let now = st.now_ms();
    let token = q.get("access_token").cloned().unwrap_or_default();
    if token.is_empty() {
        return crate::wechat::reject(
            &mut st,
            api,
            ERR_ACCESS_TOKEN_MISSING,
            "access_token missing",
        );
    }
    let shop = match st.tokens.get(&token) {
        Some(t) if t.platform == Platform::Wechat && t.expires_ms > now => t.shop,
        Some(t) if t.platform == Platform::Wechat => {
            return crate::wechat::reject(
                &mut st,
                api,
                ERR_ACCESS_TOKEN_EXPIRED,
                "access_token expired",
            );
        }
        _ => {
            return crate::wechat::reject(
                &mut st,
                api,
                ERR_INVALID_CREDENTIAL,
                "invalid credential, access_token is invalid or not latest",
            );
        }
    };
    let Ok(b) = serde_json::from_slice::<Value>(&body) else {
        return crate::wechat::reject(&mut st, api, ERR_DATA_FORMAT, "data format error");
    };
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let openid = s(b.get("touser"));
    let msgtype = s(b.get("msgtype"));
    let content = s(b.get("text").and_then(|t| t.get("content")));
    let (code, msg) = check(&st, shop, &openid, &msgtype, &content, now);
    st.messages.records.push(MessageRecord {
        shop,
        openid,
        msgtype,
        content,
        errcode: code,
        errmsg: msg.to_string(),
        at_ms: now,
    });
    answer(code, msg)
}

fn check(
    st: &State,
    shop: u32,
    openid: &str,
    msgtype: &str,
    content: &str,
    now: i64,
) -> (i64, &'static str) {
    if msgtype != "text" {
        return (ERR_INVALID_MSGTYPE, "invalid message type");
    }
    if content.trim().is_empty() {
        return (ERR_EMPTY_CONTENT, "empty content");
    }
    // The buyer's last interaction: an order placed or paid, or a recorded interaction.
    let mut known = false;
    let mut last = st.messages.interactions.get(openid).copied();
    for o in &st.orders {
        if o.platform == Platform::Wechat
            && o.shop == shop
            && o.buyer_id == openid
            && o.created_ms <= now
        {
            known = true;
            let t = o.paid_ms.unwrap_or(o.created_ms).max(o.created_ms);
            last = Some(last.map_or(t, |l: i64| l.max(t)));
        }
    }
    if !known {
        return (ERR_INVALID_OPENID, "invalid openid");
    }
    let recorded = st.messages.interactions.contains_key(openid);
    let Some(last) = last.filter(|_| recorded || !never_interacted(openid)) else {
        return (
            ERR_OUT_OF_TIME,
            "response out of time limit or subscription is canceled",
        );
    };
    if now - last > WINDOW_MS {
        return (
            ERR_OUT_OF_TIME,
            "response out of time limit or subscription is canceled",
        );
    }
    let sent = st
        .messages
        .records
        .iter()
        .filter(|r| r.openid == openid && r.errcode == 0 && r.at_ms >= last)
        .count();
    if sent >= MAX_PER_WINDOW {
        return (ERR_OUT_OF_COUNT, "out of response count limit");
    }
    (0, "ok")
}
