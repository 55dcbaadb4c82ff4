//! kuaidi100 (快递100) e-waybill emulator: `POST /kuaidi100/label/order`, `method=order|cancel`.
//!
//! Protocol (WAYBILL-PROTOCOLS.md, "kuaidi100"): a form with `method`, `key`, `t`, `param` (JSON
//! text) and `sign = UPPER(MD5(param + t + key + secret))`. Every answer is HTTP 200 with
//! `{"success", "code", "message"[, "data"]}`, except injected 5xx faults. Codes: 200 ok, 30001 bad
//! parameter, 30002 bad sign or key, 30004 partner account refused, 30005 no balance, 500 busy,
//! 429 too many requests.

use crate::faults::{FaultAnswers, guard};
use crate::state::{Sim, State};
use crate::util::{ct_eq, md5_hex};
use crate::waybill::carrier::Carrier;
use crate::waybill::route::Place;
use crate::waybill::{
    CancelOutcome, Fields, IssueError, IssueRequest, Service, added_latency, parse_form,
};
use crate::{Kuaidi100Account, SimConfig};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const OK: i64 = 200;
pub const ERR_PARAM: i64 = 30001;
pub const ERR_SIGN: i64 = 30002;
pub const ERR_ACCOUNT: i64 = 30004;
pub const ERR_NO_BALANCE: i64 = 30005;
pub const ERR_BUSY: i64 = 500;
pub const ERR_RATE_LIMITED: i64 = 429;

pub fn router() -> Router<Arc<Sim>> {
    Router::new().route("/label/order", post(label_order_h))
}

/// The sign a request must carry.
pub fn sign(param: &str, t: &str, key: &str, secret: &str) -> String {
    md5_hex(format!("{param}{t}{key}{secret}").as_bytes()).to_uppercase()
}

fn answer(success: bool, code: i64, message: &str, data: Option<Value>) -> Response {
    let mut v = json!({ "success": success, "code": code, "message": message });
    if let Some(d) = data {
        v["data"] = d;
    }
    Json(v).into_response()
}

fn refuse(st: &mut State, api: &str, code: i64, message: &str) -> Response {
    st.reject_waybill(Service::Kuaidi100, api, &code.to_string(), message);
    answer(false, code, message, None)
}

/// Injected 5xx faults alternate between a gateway failure (HTTP 503) and kuaidi100's own
/// "system busy" answer (HTTP 200, code 500), so a client meets both forms.
static BUSY_TURN: AtomicU64 = AtomicU64::new(0);

struct Answers;

impl FaultAnswers for Answers {
    fn server_error(&self) -> Response {
        let body = json!({ "success": false, "code": ERR_BUSY, "message": "系统繁忙，请稍后重试" });
        if BUSY_TURN.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        } else {
            Json(body).into_response()
        }
    }
    fn rate_limited(&self) -> Response {
        answer(false, ERR_RATE_LIMITED, "请求过于频繁，请稍后再试", None)
    }
    fn rate_limit_code(&self) -> String {
        ERR_RATE_LIMITED.to_string()
    }
}

async fn label_order_h(
    AxState(sim): AxState<Arc<Sim>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    added_latency(&sim, Service::Kuaidi100).await;
    // Parsed here rather than by axum's `Query`, whose refusal would be a plain-text 400 instead
    // of kuaidi100's JSON answer.
    let q = parse_form(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let form = parse_form(&body);
    // `method` may come in the query (the documented URL has `?method=order`) or in the form.
    let method = form
        .as_ref()
        .ok()
        .and_then(|f| f.get("method"))
        .or_else(|| q.get("method"))
        .cloned()
        .unwrap_or_default();
    let api = format!("label/order?method={method}");
    let key = form
        .as_ref()
        .ok()
        .and_then(|f| f.get("key"))
        .cloned()
        .unwrap_or_default();
    let limits = vec![(
        format!("kuaidi100:{key}"),
        sim.cfg.rate_limits.kuaidi100_per_sec,
    )];
    guard(&sim, Service::Kuaidi100, &api, &limits, Answers, |sim| {
        let mut st = sim.lock();
        let form = match form {
            Ok(f) => f,
            Err(e) => return refuse(&mut st, &api, ERR_PARAM, &e),
        };
        handle(sim, &mut st, &api, &method, &form)
    })
    .await
}

fn handle(
    sim: &Sim,
    st: &mut State,
    api: &str,
    method: &str,
    form: &HashMap<String, String>,
) -> Response {
    let cfg = &sim.cfg.kuaidi100;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let key = field("key");
    if key.is_empty() {
        return refuse(st, api, ERR_SIGN, "key is required");
    }
    if !ct_eq(key, &cfg.key) {
        return refuse(st, api, ERR_SIGN, "key is not a known merchant key");
    }
    let (t, param, given) = (field("t"), field("param"), field("sign"));
    if param.is_empty() {
        return refuse(st, api, ERR_PARAM, "param is required");
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(
            st,
            api,
            ERR_PARAM,
            "t must be the milliseconds since the epoch",
        );
    }
    if given.is_empty() {
        return refuse(st, api, ERR_SIGN, "sign is required");
    }
    if !ct_eq(given, &sign(param, t, key, &cfg.secret)) {
        return refuse(
            st,
            api,
            ERR_SIGN,
            "sign mismatch: expecting UPPER(MD5(param + t + key + secret))",
        );
    }
    let v: Value = match serde_json::from_str(param) {
        Ok(v) => v,
        Err(e) => return refuse(st, api, ERR_PARAM, &format!("param is not JSON: {e}")),
    };
    let p = match Fields::of(&v, "param") {
        Ok(p) => p,
        Err(e) => return refuse(st, api, ERR_PARAM, &e),
    };
    match method {
        "order" => order(&sim.cfg, st, api, &p),
        "cancel" => cancel(&sim.cfg, st, api, &p),
        "" => refuse(st, api, ERR_PARAM, "method is required (order or cancel)"),
        other => refuse(
            st,
            api,
            ERR_PARAM,
            &format!("method {other:?} is not supported (order or cancel)"),
        ),
    }
}

/// The partner account a request names; `Err` carries the refusal.
fn account<'c>(
    cfg: &'c SimConfig,
    st: &mut State,
    api: &str,
    p: &Fields<'_>,
) -> Result<(&'c Kuaidi100Account, Carrier), Response> {
    let (com, id, pkey) = match (p.str("kuaidicom"), p.str("partnerId"), p.str("partnerKey")) {
        (Ok(c), Ok(i), Ok(k)) => (c, i, k),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return Err(refuse(st, api, ERR_PARAM, &e));
        }
    };
    let secret = match p.opt_str("partnerSecret") {
        Ok(s) => s.filter(|s| !s.is_empty()),
        Err(e) => return Err(refuse(st, api, ERR_PARAM, &e)),
    };
    let Some(carrier) = Carrier::from_kuaidi100(com) else {
        return Err(refuse(
            st,
            api,
            ERR_PARAM,
            &format!("kuaidicom {com:?} is not an e-waybill company"),
        ));
    };
    match cfg.kuaidi100.accounts.iter().find(|a| {
        a.kuaidicom == com
            && ct_eq(&a.partner_id, id)
            && ct_eq(&a.partner_key, pkey)
            && secret.is_none_or(|s| ct_eq(&a.partner_secret, s))
    }) {
        Some(a) => Ok((a, carrier)),
        None => Err(refuse(
            st,
            api,
            ERR_ACCOUNT,
            &format!("partner account refused for {com}: partnerId/partnerKey do not match"),
        )),
    }
}

/// `recMan` / `sendMan`: the place their `printAddr` names.
fn person(p: &Fields<'_>, k: &str) -> Result<Place, String> {
    let m = p.obj(k)?;
    m.str("name")?;
    m.str("mobile")?;
    for opt in ["tel", "company"] {
        m.opt_str(opt)?;
    }
    Ok(Place::from_text(m.str("printAddr")?))
}

fn order(cfg: &SimConfig, st: &mut State, api: &str, p: &Fields<'_>) -> Response {
    let (acct, carrier) = match account(cfg, st, api, p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let checked = (|| -> Result<(String, Place, Place), String> {
        let order_id = p.str("orderId")?.to_string();
        let dest = person(p, "recMan")?;
        let origin = person(p, "sendMan")?;
        p.str("cargo")?;
        p.count("count")?;
        if p.num("weight")? < 0.0 {
            return Err("param.weight: must not be negative".into());
        }
        // Fixed values in fahuo's requests; other kuaidi100 values are accepted, not acted on.
        for k in [
            "payType",
            "expType",
            "printType",
            "remark",
            "tempId",
            "net",
            "code",
        ] {
            p.opt_str(k)?;
        }
        p.opt_bool("needSubscribe")?;
        Ok((order_id, dest, origin))
    })();
    let (order_id, dest, origin) = match checked {
        Ok(x) => x,
        Err(e) => return refuse(st, api, ERR_PARAM, &e),
    };
    let now = st.now_ms();
    let req = IssueRequest {
        service: Service::Kuaidi100,
        account: &acct.partner_id,
        shop: None,
        carrier,
        carrier_code: &acct.kuaidicom,
        key: &order_id,
        dest,
        origin,
    };
    match st.waybills.issue(req, now) {
        Ok((r, _repeat)) => answer(
            true,
            OK,
            "success",
            Some(json!({
                // Derived from the number, so a repeated orderId answers the very same data.
                "taskId": md5_hex(format!("kuaidi100-task|{}", r.number).as_bytes()).to_uppercase(),
                "kuaidinum": r.number,
                "kuaidicom": acct.kuaidicom,
                "orderId": r.key,
                "bulkpen": r.sort_code,
                "pkgName": r.hub,
                "pkgCode": r.hub_code,
            })),
        ),
        Err(IssueError::NoBalance) => refuse(
            st,
            api,
            ERR_NO_BALANCE,
            &format!(
                "no waybill balance left on partner account {}",
                acct.partner_id
            ),
        ),
        Err(IssueError::KeyCancelled(n)) => refuse(
            st,
            api,
            ERR_PARAM,
            &format!(
                "orderId {order_id:?} was used for waybill {n}, which is cancelled; use a new orderId"
            ),
        ),
        Err(IssueError::NoAccount) => refuse(st, api, ERR_ACCOUNT, "partner account refused"),
    }
}

fn cancel(cfg: &SimConfig, st: &mut State, api: &str, p: &Fields<'_>) -> Response {
    let (acct, _) = match account(cfg, st, api, p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (number, order_id) = match (p.str("kuaidinum"), p.str("orderId"), p.opt_str("reason")) {
        (Ok(n), Ok(o), Ok(_)) => (n, o),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return refuse(st, api, ERR_PARAM, &e);
        }
    };
    let now = st.now_ms();
    match st.waybills.cancel(
        Service::Kuaidi100,
        &acct.partner_id,
        number,
        Some(order_id),
        now,
    ) {
        CancelOutcome::KeyMismatch { issued_for } => refuse(
            st,
            api,
            ERR_PARAM,
            &format!("kuaidinum {number} was issued for orderId {issued_for:?}, not {order_id:?}"),
        ),
        _ => answer(true, OK, "success", None),
    }
}
