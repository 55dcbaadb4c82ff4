//! Renders sample labels to files for eyeballing and for timing a release build.
//!
//! `cargo run --release -p fahuo-labels --example labels -- [count] [size] [out-prefix]`
//! writes `<out>.pdf`, `<out>.tspl`, `<out>.zpl`, `<out>-pick.pdf` and `<out>-pick.xlsx`, and
//! prints the waybill numbers in page order plus timing.

use std::time::Instant;

use fahuo_labels::{
    LabelOptions, LabelSize, PickList, ThermalOptions, render_labels_pdf, render_labels_tspl,
    render_labels_zpl, render_pick_list_pdf, render_pick_list_xlsx, sample_labels,
    sample_pick_lines,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let size: LabelSize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(LabelSize::MM76X130);
    let out = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "/tmp/fahuo-labels".to_owned());

    let labels = sample_labels(count, 42);
    let opts = LabelOptions::new(size);
    let t = Instant::now();
    let pdf = render_labels_pdf(&labels, &opts)?;
    let dt = t.elapsed().as_secs_f64();
    std::fs::write(format!("{out}.pdf"), &pdf.pdf)?;
    for r in &pdf.reports {
        println!("{}", r.waybill_no);
    }
    eprintln!(
        "{count} labels {size}: {:.3} s, {:.0} labels/s, {} bytes ({:.1} KB/label)",
        dt,
        count as f64 / dt,
        pdf.pdf.len(),
        pdf.pdf.len() as f64 / count as f64 / 1024.0
    );
    let thermal = ThermalOptions::default();
    std::fs::write(
        format!("{out}.tspl"),
        render_labels_tspl(&labels, &opts, &thermal)?.data,
    )?;
    std::fs::write(
        format!("{out}.zpl"),
        render_labels_zpl(&labels, &opts, &thermal)?.data,
    )?;
    let list = PickList::from_lines(
        "拣货单",
        "杭州余杭仓",
        "PK20261122-001",
        "2026-11-22 10:30",
        &sample_pick_lines(count, 42),
    );
    std::fs::write(format!("{out}-pick.pdf"), render_pick_list_pdf(&list)?)?;
    std::fs::write(format!("{out}-pick.xlsx"), render_pick_list_xlsx(&list)?)?;
    Ok(())
}
