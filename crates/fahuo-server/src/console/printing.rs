//! 打单: print jobs with label and pick-list preview in the browser, printing to the browser's
//! printer, PDF download, and reprints with a reason.

use super::{Chrome, Lang, PageId, PageResult, enter, not_found, render, shanghai};
use crate::AppState;
use crate::extract::MaybeSession;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::routing::get;
use fahuo_domain::PrintJobId;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/printing", get(jobs_page))
        .route("/printing/{job}", get(job_page))
}

pub struct PrintingText {
    pub title: &'static str,
    pub new_job: &'static str,
    pub order_ids: &'static str,
    pub order_ids_hint: &'static str,
    pub size: &'static str,
    pub start: &'static str,
    pub recent: &'static str,
    pub job: &'static str,
    pub created: &'static str,
    pub by: &'static str,
    pub labels: &'static str,
    pub reprints: &'static str,
    pub reason: &'static str,
    pub no_jobs: &'static str,
    pub back: &'static str,
    pub label_preview: &'static str,
    pub pick_list: &'static str,
    pub print: &'static str,
    pub download: &'static str,
    pub print_pick_list: &'static str,
    pub download_pick_list: &'static str,
    pub download_pick_list_xlsx: &'static str,
    pub package: &'static str,
    pub waybill: &'static str,
    pub times: &'static str,
    pub first_print: &'static str,
    pub reprint: &'static str,
    pub reprint_reason: &'static str,
    pub reprint_hint: &'static str,
    pub not_printed: &'static str,
}

static ZH: PrintingText = PrintingText {
    title: "打单",
    new_job: "打印面单",
    order_ids: "订单 ID",
    order_ids_hint: "多个订单用逗号、空格或换行分隔",
    size: "面单尺寸",
    start: "取号并打印",
    recent: "最近的打印任务",
    job: "任务",
    created: "时间",
    by: "操作人",
    labels: "面单数",
    reprints: "重打数",
    reason: "原因",
    no_jobs: "还没有打印任务",
    back: "← 返回打单",
    label_preview: "面单预览",
    pick_list: "拣货单",
    print: "打印",
    download: "下载 PDF",
    print_pick_list: "打印拣货单",
    download_pick_list: "下载拣货单 PDF",
    download_pick_list_xlsx: "下载拣货单 Excel",
    package: "包裹",
    waybill: "运单号",
    times: "打印次数",
    first_print: "首次打印",
    reprint: "重打",
    reprint_reason: "重打原因（必填）",
    reprint_hint: "使用原运单号重新打印，不会重新取号",
    not_printed: "未能打印：",
};

static EN: PrintingText = PrintingText {
    title: "Printing",
    new_job: "Print labels",
    order_ids: "Order IDs",
    order_ids_hint: "Separate orders with commas, spaces or new lines",
    size: "Label size",
    start: "Get numbers and print",
    recent: "Recent print jobs",
    job: "Job",
    created: "When",
    by: "By",
    labels: "Labels",
    reprints: "Reprints",
    reason: "Reason",
    no_jobs: "No print jobs yet",
    back: "← Back to printing",
    label_preview: "Label preview",
    pick_list: "Pick list",
    print: "Print",
    download: "Download PDF",
    print_pick_list: "Print pick list",
    download_pick_list: "Download pick list PDF",
    download_pick_list_xlsx: "Download pick list Excel",
    package: "Package",
    waybill: "Waybill number",
    times: "Printed",
    first_print: "First print",
    reprint: "Reprint",
    reprint_reason: "Why reprint (required)",
    reprint_hint: "Prints the same waybill numbers again; no new number is issued",
    not_printed: "Not printed: ",
};

struct JobRow {
    id: i64,
    created: String,
    by: String,
    labels: i64,
    reprints: i64,
    reason: String,
    size: String,
}

#[derive(Template)]
#[template(path = "printing.html")]
struct JobsPage {
    chrome: Chrome,
    t: &'static PrintingText,
    jobs: Vec<JobRow>,
    prefill: String,
    error: Option<&'static str>,
}

#[derive(Deserialize)]
struct JobsQuery {
    /// Order ids to print, from the order list (`1,2,3`).
    orders: Option<String>,
}

/// 打单: the latest print jobs, and a form to print given orders.
async fn jobs_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Query(q): Query<JobsQuery>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Printing, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let (jobs, error) = match s.app.print_jobs(&actor, 50).await {
        Ok(jobs) => (jobs, None),
        Err(e) => {
            tracing::error!(error = %e, "print job list failed");
            (Vec::new(), Some(chrome.c.load_failed))
        }
    };
    let prefill = q
        .orders
        .unwrap_or_default()
        .split(',')
        .filter_map(|x| x.trim().parse::<i64>().ok())
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",");
    Ok(render(JobsPage {
        chrome,
        t,
        jobs: jobs
            .into_iter()
            .map(|j| JobRow {
                id: j.id.get(),
                created: shanghai(j.created_at),
                by: j.created_by,
                labels: j.label_count,
                reprints: j.reprints,
                reason: j.reason.unwrap_or_default(),
                size: j.label_size,
            })
            .collect(),
        prefill,
        error,
    }))
}

struct LabelRow {
    package: i64,
    tracking_no: String,
    /// 1 for the first print, N for the Nth.
    times: i64,
}

#[derive(Template)]
#[template(path = "print_job.html")]
struct JobPage {
    chrome: Chrome,
    t: &'static PrintingText,
    id: i64,
    created: String,
    by: String,
    size: String,
    reprints: i64,
    reason: String,
    labels: Vec<LabelRow>,
}

/// One print job: the labels PDF in the page (print it through the browser, download it),
/// the pick list, and reprint with a reason.
async fn job_page(
    State(s): State<AppState>,
    session: MaybeSession,
    lang: Lang,
    uri: Uri,
    Path(job): Path<String>,
) -> PageResult {
    let (actor, chrome) = enter(session, lang, PageId::Printing, &uri)?;
    let t = lang.pick(&ZH, &EN);
    let Ok(id) = job.parse::<i64>() else {
        return Ok(not_found(chrome));
    };
    let (job, mut chrome) = super::found(
        s.app.print_job(&actor, PrintJobId(id)).await,
        chrome,
        "print job",
    )?;
    chrome.title = format!("{} P{}", t.title, job.id);
    Ok(render(JobPage {
        t,
        id: job.id.get(),
        created: shanghai(job.created_at),
        by: job.created_by,
        size: job.label_size,
        reprints: job.reprints,
        reason: job.reason.unwrap_or_default(),
        labels: job
            .labels
            .into_iter()
            .map(|l| LabelRow {
                package: l.package_id.get(),
                tracking_no: l.tracking_no,
                times: l.reprint + 1,
            })
            .collect(),
        chrome,
    }))
}
