//! 报表: the period's figures as charts rendered on the server (no script), with the xlsx
//! download.

use super::{Chrome, Lang, PageId, PageResult, charts, enter, render};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_app::AppError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/reports", get(reports_page))
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    chrome: Chrome,
    from: String,
    to: String,
    error: Option<String>,
    parcels: i64,
    /// Inline SVG from [`charts`], already escaped there.
    charts: Vec<String>,
}

#[derive(Deserialize)]
struct ReportForm {
    from: Option<String>,
    to: Option<String>,
}

/// 报表: the period's figures as charts rendered here (no script), with the xlsx download.
async fn reports_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<ReportForm>,
) -> PageResult {
    use fahuo_app::reports::Period;
    let (actor, chrome) = enter(session, lang, PageId::Reports, &uri)?;
    let default = Period::last_days(s.app.now(), 30);
    let period = match (q.from.as_deref(), q.to.as_deref()) {
        (Some(f), Some(t)) if !f.is_empty() && !t.is_empty() => Period::parse(f, t),
        _ => Ok(default),
    };
    let mut page = ReportsPage {
        chrome,
        from: default.from.to_string(),
        to: default.to.to_string(),
        error: None,
        parcels: 0,
        charts: Vec::new(),
    };
    let period = match period {
        Ok(p) => p,
        Err(e) => {
            page.error = Some(format!("日期有误：{e}"));
            return Ok(render(page));
        }
    };
    page.from = period.from.to_string();
    page.to = period.to.to_string();
    match s.app.report(&actor, period).await {
        Ok(r) => {
            let name = |code: &str| {
                if code == fahuo_domain::reports::ALL_KEY {
                    "全部".to_string()
                } else {
                    fahuo_app::shipping::carrier_name_zh(code)
                }
            };
            page.parcels = r.parcels;
            let pickup: Vec<(String, Option<i64>)> = r
                .pickup
                .iter()
                .map(|p| (name(&p.carrier), p.rate_bp))
                .collect();
            let transit: Vec<(String, f64)> = r
                .transit
                .iter()
                .map(|t| {
                    (
                        format!(
                            "{} {} {}",
                            name(&t.carrier),
                            t.distance.label_zh(),
                            t.band.label_zh()
                        ),
                        t.mean_minutes as f64 / 60.0,
                    )
                })
                .collect();
            let exceptions: Vec<(String, Option<i64>)> = r
                .exceptions_by_carrier
                .iter()
                .map(|x| (name(&x.key), Some(x.rate_bp)))
                .collect();
            let returns: Vec<(String, Option<i64>)> = r
                .returns_by_province
                .iter()
                .map(|x| (x.key.clone(), Some(x.rate_bp)))
                .collect();
            let cost: Vec<(String, f64)> = r
                .cost_by_carrier
                .iter()
                .map(|c| (name(&c.carrier), c.per_parcel_fen as f64 / 100.0))
                .collect();
            let on_time: Vec<(String, Option<i64>)> = r
                .on_time
                .iter()
                .map(|o| {
                    let label = fahuo_domain::Platform::parse(&o.platform)
                        .map(|p| p.label_zh().to_string())
                        .unwrap_or_else(|_| name(&o.platform));
                    (label, o.rate_bp)
                })
                .collect();
            page.charts = vec![
                charts::rate_bars("24 小时揽收率", &pickup),
                charts::bar_chart("平均时效（揽收到签收）", &transit, "小时"),
                charts::rate_bars("异常率（按快递）", &exceptions),
                charts::rate_bars("退货率（按省份）", &returns),
                charts::bar_chart("单均运费（按快递）", &cost, "元"),
                charts::rate_bars("准时发货率", &on_time),
                charts::line_chart("差错趋势", &charts::error_series(&r.errors)),
            ];
        }
        Err(AppError::Forbidden(_)) => page.error = Some("你的角色不能查看报表".into()),
        Err(e) => {
            tracing::error!(error = %e, "report failed");
            page.error = Some("报表加载失败，请稍后重试".into());
        }
    }
    Ok(render(page))
}
