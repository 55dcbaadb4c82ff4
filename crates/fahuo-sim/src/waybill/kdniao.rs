//! kdniao (快递鸟) e-waybill emulator: `POST /kdniao/api/EOrderService`, `RequestType` 1007 (issue)
//! and 1147 (cancel).
//!
//! Protocol (WAYBILL-PROTOCOLS.md, "kdniao"): a form with `RequestData` (JSON), `EBusinessID`,
//! `RequestType`, `DataSign`, `DataType=2`, where `DataSign = base64(md5_hex_lowercase(RequestData
//! + AppKey))` over the form-decoded `RequestData`. Answers are HTTP 200 JSON with `Success`,
//! `ResultCode` (text) and `Reason`: `"100"` ok, `"106"` repeated `OrderCode` (with the first
//! order), `"101"` bad sign, `"102"` bad parameter, `"103"` carrier account refused, `"105"` no
//! balance, `"109"` busy, `"429"` too many requests.

use crate::faults::{FaultAnswers, guard};
use crate::state::{Sim, State};
use crate::util::{ct_eq, md5_hex};
use crate::waybill::carrier::Carrier;
use crate::waybill::route::Place;
use crate::waybill::{
    CancelOutcome, Fields, IssueError, IssueRequest, Service, added_latency, parse_form,
};
use crate::{KdniaoAccount, SimConfig};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub const OK: &str = "100";
pub const REPEATED: &str = "106";
pub const ERR_SIGN: &str = "101";
pub const ERR_PARAM: &str = "102";
pub const ERR_ACCOUNT: &str = "103";
pub const ERR_NO_BALANCE: &str = "105";
pub const ERR_BUSY: &str = "109";
pub const ERR_RATE_LIMITED: &str = "429";

pub fn router() -> Router<Arc<Sim>> {
    Router::new().route("/api/EOrderService", post(eorder_h))
}

/// The `DataSign` a request must carry (before form encoding).
pub fn data_sign(request_data: &str, app_key: &str) -> String {
    B64.encode(md5_hex(format!("{request_data}{app_key}").as_bytes()))
}

fn answer(ebid: &str, rid: &str, code: &str, reason: &str, order: Option<Value>) -> Response {
    let success = code == OK || code == REPEATED;
    let mut v = json!({
        "EBusinessID": ebid,
        "Success": success,
        "ResultCode": code,
        "Reason": reason,
        "UniquerRequestNumber": rid,
    });
    if let Some(o) = order {
        v["Order"] = o;
    }
    Json(v).into_response()
}

/// Injected 5xx faults alternate between HTTP 503 and kdniao's own "busy" answer ("109").
static BUSY_TURN: AtomicU64 = AtomicU64::new(0);

struct Answers {
    ebid: String,
}

impl FaultAnswers for Answers {
    fn server_error(&self) -> Response {
        let body = json!({
            "EBusinessID": self.ebid, "Success": false, "ResultCode": ERR_BUSY,
            "Reason": "系统繁忙，请稍后重试",
        });
        if BUSY_TURN.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        } else {
            Json(body).into_response()
        }
    }
    fn rate_limited(&self) -> Response {
        Json(json!({
            "EBusinessID": self.ebid, "Success": false, "ResultCode": ERR_RATE_LIMITED,
            "Reason": "请求过于频繁，请稍后再试",
        }))
        .into_response()
    }
    fn rate_limit_code(&self) -> String {
        ERR_RATE_LIMITED.to_string()
    }
}

async fn eorder_h(AxState(sim): AxState<Arc<Sim>>, body: Bytes) -> Response {
    added_latency(&sim, Service::Kdniao).await;
    let form = parse_form(&body);
    let get = |k: &str| {
        form.as_ref()
            .ok()
            .and_then(|f| f.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let (ebid, rtype) = (get("EBusinessID"), get("RequestType"));
    let api = format!("api/EOrderService?RequestType={rtype}");
    let limits = vec![(format!("kdniao:{ebid}"), sim.cfg.rate_limits.kdniao_per_sec)];
    let answers = Answers { ebid: ebid.clone() };
    guard(&sim, Service::Kdniao, &api, &limits, answers, |sim| {
        let mut st = sim.lock();
        let rid = st.waybills.new_id(false, 32);
        let mut ctx = Ctx {
            cfg: &sim.cfg,
            st: &mut st,
            api: &api,
            ebid: &ebid,
            rid: &rid,
        };
        match form {
            Ok(f) => ctx.handle(&f, &rtype),
            Err(e) => ctx.refuse(ERR_PARAM, &e),
        }
    })
    .await
}

struct Ctx<'a> {
    cfg: &'a SimConfig,
    st: &'a mut State,
    api: &'a str,
    ebid: &'a str,
    rid: &'a str,
}

impl Ctx<'_> {
    fn refuse(&mut self, code: &str, reason: &str) -> Response {
        self.st
            .reject_waybill(Service::Kdniao, self.api, code, reason);
        answer(self.ebid, self.rid, code, reason, None)
    }

    fn handle(&mut self, form: &HashMap<String, String>, rtype: &str) -> Response {
        let m = &self.cfg.kdniao;
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        if self.ebid.is_empty() {
            return self.refuse(ERR_PARAM, "EBusinessID is required");
        }
        if !ct_eq(self.ebid, &m.ebusiness_id) {
            return self.refuse(ERR_SIGN, "EBusinessID is not a known merchant");
        }
        let data = field("RequestData");
        if data.is_empty() {
            return self.refuse(ERR_PARAM, "RequestData is required");
        }
        let given = field("DataSign");
        if given.is_empty() {
            return self.refuse(ERR_SIGN, "DataSign is required");
        }
        if !ct_eq(given, &data_sign(data, &m.app_key)) {
            return self.refuse(
                ERR_SIGN,
                "DataSign mismatch: expecting base64(md5_hex_lowercase(RequestData + AppKey))",
            );
        }
        match field("DataType") {
            "2" => {}
            "" => return self.refuse(ERR_PARAM, "DataType is required (2 = JSON)"),
            other => {
                return self.refuse(
                    ERR_PARAM,
                    &format!("DataType {other:?} is not supported (2 = JSON)"),
                );
            }
        }
        let v: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => return self.refuse(ERR_PARAM, &format!("RequestData is not JSON: {e}")),
        };
        let p = match Fields::of(&v, "RequestData") {
            Ok(p) => p,
            Err(e) => return self.refuse(ERR_PARAM, &e),
        };
        match rtype {
            "1007" => self.issue(&p),
            "1147" => self.cancel(&p),
            "" => self.refuse(ERR_PARAM, "RequestType is required (1007 or 1147)"),
            other => self.refuse(
                ERR_PARAM,
                &format!("RequestType {other:?} is not supported here (1007 or 1147)"),
            ),
        }
    }

    /// The carrier account a request names: `ShipperCode`, plus `CustomerName`/`CustomerPwd`
    /// when sent (both must then match).
    fn account(&mut self, p: &Fields<'_>) -> Result<(KdniaoAccount, Carrier), Response> {
        let fields = (|| -> Result<_, String> {
            Ok((
                p.str("ShipperCode")?,
                p.opt_str("CustomerName")?.filter(|s| !s.is_empty()),
                p.opt_str("CustomerPwd")?.filter(|s| !s.is_empty()),
                p.opt_str("MonthCode")?,
                p.opt_str("SendSite")?,
            ))
        })();
        let (code, name, pwd) = match fields {
            Ok((c, n, w, _, _)) => (c, n, w),
            Err(e) => return Err(self.refuse(ERR_PARAM, &e)),
        };
        let Some(carrier) = Carrier::from_kdniao(code) else {
            return Err(self.refuse(
                ERR_PARAM,
                &format!("ShipperCode {code:?} is not an e-waybill carrier"),
            ));
        };
        let Some(acct) = self
            .cfg
            .kdniao
            .accounts
            .iter()
            .find(|a| a.shipper_code == code)
            .cloned()
        else {
            return Err(self.refuse(
                ERR_ACCOUNT,
                &format!("no carrier account for {code} on this merchant"),
            ));
        };
        let ok = match (name, pwd) {
            (None, None) => true,
            (Some(n), Some(w)) => ct_eq(n, &acct.customer_name) && ct_eq(w, &acct.customer_pwd),
            _ => false,
        };
        if !ok {
            return Err(self.refuse(
                ERR_ACCOUNT,
                &format!(
                    "carrier account refused for {code}: CustomerName/CustomerPwd do not match"
                ),
            ));
        }
        Ok((acct, carrier))
    }

    fn issue(&mut self, p: &Fields<'_>) -> Response {
        let (acct, carrier) = match self.account(p) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let party = |k: &str| -> Result<Place, String> {
            let m = p.obj(k)?;
            for f in ["Name", "Mobile", "Address"] {
                m.str(f)?;
            }
            for f in ["Company", "Tel", "PostCode"] {
                m.opt_str(f)?;
            }
            Ok(Place::new(
                m.str("ProvinceName")?,
                m.str("CityName")?,
                m.str("ExpAreaName")?,
            ))
        };
        let checked = (|| -> Result<(String, Place, Place), String> {
            let code = p.str("OrderCode")?.to_string();
            for k in ["PayType", "ExpType"] {
                p.int(k)?;
            }
            let origin = party("Sender")?;
            let dest = party("Receiver")?;
            for c in p.list("Commodity")? {
                c.str("GoodsName")?;
                c.count("Goodsquantity")?;
                c.opt_num("GoodsWeight")?;
            }
            p.opt_num("Weight")?;
            p.opt_int("Quantity")?;
            p.opt_str("Remark")?;
            p.opt_int("IsReturnPrintTemplate")?;
            Ok((code, dest, origin))
        })();
        let (order_code, dest, origin) = match checked {
            Ok(x) => x,
            Err(e) => return self.refuse(ERR_PARAM, &e),
        };
        let now = self.st.now_ms();
        let req = IssueRequest {
            service: Service::Kdniao,
            account: &acct.customer_name,
            shop: None,
            carrier,
            carrier_code: &acct.shipper_code,
            key: &order_code,
            dest,
            origin,
        };
        match self.st.waybills.issue(req, now) {
            Ok((r, repeat)) => {
                let (code, reason) = if repeat {
                    (REPEATED, "订单号重复，返回首次下单的运单")
                } else {
                    (OK, "成功")
                };
                let order = json!({
                    "OrderCode": r.key,
                    "ShipperCode": acct.shipper_code,
                    "LogisticCode": r.number,
                    "MarkDestination": r.sort_code,
                    "PackageName": r.hub,
                    "PackageCode": r.hub_code,
                    "OriginCode": r.origin_code,
                    "OriginName": r.origin_hub,
                });
                answer(self.ebid, self.rid, code, reason, Some(order))
            }
            Err(IssueError::NoBalance) => self.refuse(
                ERR_NO_BALANCE,
                &format!("no waybill balance left on the {} account", acct.shipper_code),
            ),
            Err(IssueError::KeyCancelled(n)) => self.refuse(
                ERR_PARAM,
                &format!("OrderCode {order_code:?} was used for waybill {n}, which is cancelled; use a new OrderCode"),
            ),
            Err(IssueError::NoAccount) => self.refuse(ERR_ACCOUNT, "carrier account refused"),
        }
    }

    fn cancel(&mut self, p: &Fields<'_>) -> Response {
        let (acct, _) = match self.account(p) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let (order_code, number) = match (p.str("OrderCode"), p.str("ExpNo")) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return self.refuse(ERR_PARAM, &e),
        };
        let now = self.st.now_ms();
        match self.st.waybills.cancel(
            Service::Kdniao,
            &acct.customer_name,
            number,
            Some(order_code),
            now,
        ) {
            CancelOutcome::KeyMismatch { issued_for } => self.refuse(
                ERR_PARAM,
                &format!(
                    "ExpNo {number} was issued for OrderCode {issued_for:?}, not {order_code:?}"
                ),
            ),
            _ => answer(self.ebid, self.rid, OK, "成功", None),
        }
    }
}
