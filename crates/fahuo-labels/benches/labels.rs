//! Throughput of label and pick-list rendering: `cargo bench -p fahuo-labels`.
//!
//! Each label bench renders a 1,000-label batch, so divan's "items/s" is labels per second.
//! krilla is built without its `rayon` feature, so everything runs on one core. The PDF sizes
//! (bytes per label) are printed before the timings.

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use fahuo_labels::{
    LabelOptions, LabelSize, PickList, ThermalOptions, render_labels_pdf, render_labels_tspl,
    render_labels_zpl, render_pick_list_pdf, render_pick_list_xlsx, sample_labels,
    sample_pick_lines,
};

const BATCH: usize = 1_000;

fn main() {
    let labels = sample_labels(BATCH, 1);
    for size in LabelSize::SUPPORTED {
        let pdf = render_labels_pdf(&labels, &LabelOptions::new(size)).expect("render");
        println!(
            "pdf {size}: {BATCH} labels, {} bytes, {:.1} KB per label",
            pdf.pdf.len(),
            pdf.pdf.len() as f64 / BATCH as f64 / 1024.0
        );
    }
    divan::main();
}

#[divan::bench(args = [LabelSize::MM76X130, LabelSize::MM100X180], sample_count = 10, sample_size = 1)]
fn pdf_1000_labels(bencher: Bencher, size: LabelSize) {
    let labels = sample_labels(BATCH, 1);
    let opts = LabelOptions::new(size);
    bencher.counter(ItemsCount::new(BATCH)).bench(|| {
        render_labels_pdf(black_box(&labels), &opts)
            .expect("render")
            .pdf
            .len()
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn tspl_1000_labels(bencher: Bencher) {
    let labels = sample_labels(BATCH, 1);
    let (opts, t) = (LabelOptions::default(), ThermalOptions::default());
    bencher.counter(ItemsCount::new(BATCH)).bench(|| {
        render_labels_tspl(black_box(&labels), &opts, &t)
            .expect("render")
            .data
            .len()
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn zpl_1000_labels(bencher: Bencher) {
    let labels = sample_labels(BATCH, 1);
    let (opts, t) = (LabelOptions::default(), ThermalOptions::default());
    bencher.counter(ItemsCount::new(BATCH)).bench(|| {
        render_labels_zpl(black_box(&labels), &opts, &t)
            .expect("render")
            .data
            .len()
    });
}

fn pick_list() -> PickList {
    PickList::from_lines(
        "拣货单",
        "杭州余杭仓",
        "PK-1",
        "2026-11-22 10:30",
        &sample_pick_lines(BATCH, 1),
    )
}

/// A pick list for 1,000 orders (~2,000 order lines), as PDF.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn pick_list_pdf_1000_orders(bencher: Bencher) {
    let list = pick_list();
    bencher.bench(|| {
        render_pick_list_pdf(black_box(&list))
            .expect("render")
            .len()
    });
}

/// The same pick list as xlsx.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn pick_list_xlsx_1000_orders(bencher: Bencher) {
    let list = pick_list();
    bencher.bench(|| {
        render_pick_list_xlsx(black_box(&list))
            .expect("render")
            .len()
    });
}
