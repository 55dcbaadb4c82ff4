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

struct ReportsText {
    from: &'static str,
    to: &'static str,
    show: &'static str,
    download: &'static str,
    /// Before the count of parcels shipped in the period.
    parcels: &'static str,
    parcels_unit: &'static str,
    bad_dates: &'static str,
    denied: &'static str,
    load_failed: &'static str,
    all: &'static str,
    pickup: &'static str,
    transit: &'static str,
    hours: &'static str,
    exceptions: &'static str,
    returns: &'static str,
    cost: &'static str,
    yuan: &'static str,
    on_time: &'static str,
    errors: &'static str,
}

static ZH: ReportsText = ReportsText {
    from: "从",
    to: "至",
    show: "查看",
    download: "下载 Excel",
    parcels: "发出的包裹：",
    parcels_unit: " 个",
    bad_dates: "日期有误：",
    denied: "你的角色不能查看报表",
    load_failed: "报表加载失败，请稍后重试",
    all: "全部",
    pickup: "24 小时揽收率",
    transit: "平均时效（揽收到签收）",
    hours: "小时",
    exceptions: "异常率（按快递）",
    returns: "退货率（按省份）",
    cost: "单均运费（按快递）",
    yuan: "元",
    on_time: "准时发货率",
    errors: "差错趋势",
};

static EN: ReportsText = ReportsText {
    from: "From",
    to: "to",
    show: "Show",
    download: "Download Excel",
    parcels: "parcels shipped: ",
    parcels_unit: "",
    bad_dates: "Check the dates: ",
    denied: "Your role may not see reports",
    load_failed: "The report could not be loaded; try again shortly",
    all: "All",
    pickup: "Picked up within 24 hours",
    transit: "Average transit time (pickup to delivery)",
    hours: " h",
    exceptions: "Exception rate by carrier",
    returns: "Return rate by province",
    cost: "Shipping cost per parcel by carrier",
    yuan: " yuan",
    on_time: "Shipped on time",
    errors: "Errors over time",
};

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    chrome: Chrome,
    t: &'static ReportsText,
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
    let t = lang.pick(&ZH, &EN);
    let mut page = ReportsPage {
        chrome,
        t,
        from: default.from.to_string(),
        to: default.to.to_string(),
        error: None,
        parcels: 0,
        charts: Vec::new(),
    };
    let period = match period {
        Ok(p) => p,
        Err(e) => {
            page.error = Some(format!("{}{e}", t.bad_dates));
            return Ok(render(page));
        }
    };
    page.from = period.from.to_string();
    page.to = period.to.to_string();
    match s.app.report(&actor, period).await {
        Ok(r) => {
            let name = |code: &str| {
                if code == fahuo_domain::reports::ALL_KEY {
                    t.all.to_string()
                } else {
                    super::labels::carrier(code, lang)
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
                .map(|row| {
                    (
                        format!(
                            "{} {} {}",
                            name(&row.carrier),
                            lang.pick(row.distance.label_zh(), row.distance.label_en()),
                            lang.pick(row.band.label_zh(), row.band.label_en())
                        ),
                        row.mean_minutes as f64 / 60.0,
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
                        .map(|p| super::labels::platform(p, lang).to_string())
                        .unwrap_or_else(|_| name(&o.platform));
                    (label, o.rate_bp)
                })
                .collect();
            page.charts = vec![
                charts::rate_bars(lang, t.pickup, &pickup),
                charts::bar_chart(lang, t.transit, &transit, t.hours),
                charts::rate_bars(lang, t.exceptions, &exceptions),
                charts::rate_bars(lang, t.returns, &returns),
                charts::bar_chart(lang, t.cost, &cost, t.yuan),
                charts::rate_bars(lang, t.on_time, &on_time),
                charts::line_chart(lang, t.errors, &charts::error_series(&r.errors, lang)),
            ];
        }
        Err(AppError::Forbidden(_)) => page.error = Some(t.denied.into()),
        Err(e) => {
            tracing::error!(error = %e, "report failed");
            page.error = Some(t.load_failed.into());
        }
    }
    Ok(render(page))
}
