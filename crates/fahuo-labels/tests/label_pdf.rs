//! Shipping-label PDFs, checked the way a warehouse would: rasterised at the printer's 203 dpi
//! and read back by a real barcode scanner (zbarimg), validated by qpdf, and read as text by
//! pdftotext.

mod common;

use std::time::Instant;

use common::{Scratch, decode_pages, pdftotext, qpdf_check, words};
use fahuo_labels::{
    LabelOptions, LabelSize, Party, ShippingLabel, render_labels_pdf, sample_labels,
};

fn label(waybill: &str) -> ShippingLabel {
    ShippingLabel {
        carrier_name: "顺丰速运".into(),
        waybill_no: waybill.into(),
        sort_code: "571-W09 12".into(),
        hub: Some("杭州转运中心".into()),
        receiver: Party {
            name: "王小明".into(),
            phone: "138****5678".into(),
            address: "浙江省杭州市西湖区文三路90号东部软件园1号楼5楼".into(),
        },
        sender: Party {
            name: "青禾优选".into(),
            phone: "400-820-8820".into(),
            address: "广东省广州市白云区太和镇物流园B区12仓".into(),
        },
        items: "法式碎花连衣裙 M ×1".into(),
        print_job_id: "PJ-TEST-0001".into(),
        ..Default::default()
    }
}

fn waybills(labels: &[ShippingLabel]) -> Vec<String> {
    labels.iter().map(|l| l.waybill_no.clone()).collect()
}

/// The full acceptance check: many labels in one PDF, every barcode read back in order.
fn scan_back(count: usize, size: LabelSize, name: &str) {
    let labels = sample_labels(count, 20261122);
    let t = Instant::now();
    let out = render_labels_pdf(&labels, &LabelOptions::new(size)).expect("render");
    eprintln!(
        "rendered {count} labels ({size}) in {:.2?}: {} bytes",
        t.elapsed(),
        out.pdf.len()
    );
    assert_eq!(out.reports.len(), count);
    let dir = Scratch::new(name);
    let pdf = dir.write("labels.pdf", &out.pdf);
    qpdf_check(&pdf);
    let t = Instant::now();
    let decoded = decode_pages(&pdf, 203, "code128");
    eprintln!(
        "rasterised and scanned {count} pages in {:.2?}",
        t.elapsed()
    );
    assert_eq!(
        decoded,
        waybills(&labels),
        "every waybill number scans back exactly, in page order"
    );
}

/// The acceptance test at full size: 500 labels, always on. About 15 s in a debug
/// build on an idle 2-core machine (2.5 s rendering, the rest pdftoppm and zbarimg).
#[test]
fn five_hundred_labels_scan_back_exactly_in_order() {
    scan_back(500, LabelSize::MM76X130, "scan500");
}

#[test]
fn every_supported_size_scans_back() {
    for (i, size) in [LabelSize::MM100X150, LabelSize::MM100X180]
        .into_iter()
        .enumerate()
    {
        scan_back(30, size, &format!("sizes{i}"));
    }
}

#[test]
fn the_qr_code_carries_the_waybill_number_or_the_given_payload() {
    let mut labels = vec![label("SF1385628716739"), label("73610555582883")];
    labels[1].qr_payload = Some("https://t.fahuo.example/p/73610555582883".into());
    let out = render_labels_pdf(&labels, &LabelOptions::default()).unwrap();
    let dir = Scratch::new("qr");
    let pdf = dir.write("qr.pdf", &out.pdf);
    assert_eq!(
        decode_pages(&pdf, 203, "qrcode"),
        [
            "SF1385628716739",
            "https://t.fahuo.example/p/73610555582883"
        ]
    );
}

#[test]
fn chinese_text_is_extractable_and_the_marks_are_printed() {
    let mut l = label("SF1385628716739");
    l.reprint = 2;
    l.cold_chain = true;
    l.fragile = true;
    l.promo = Some("关注店铺领 5 元券".into());
    let out = render_labels_pdf(&[l], &LabelOptions::default()).unwrap();
    let dir = Scratch::new("text");
    let pdf = dir.write("t.pdf", &out.pdf);
    qpdf_check(&pdf);
    let text = pdftotext(&pdf, false);
    for expected in [
        "顺丰速运",
        "571-W09",
        "集包地",
        "杭州转运中心",
        "王小明",
        "138****5678",
        "青禾优选",
        "法式碎花连衣裙",
        "补打 2",
        "冷链",
        "易碎",
        "关注店铺领 5 元券",
        "PJ-TEST-0001",
        "SF 1385 6287 16739",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from extracted text:\n{text}"
        );
    }
    assert!(out.reports[0].missing_chars.is_empty());
}

#[test]
fn a_first_print_has_no_reprint_mark() {
    let out = render_labels_pdf(&[label("SF1385628716739")], &LabelOptions::default()).unwrap();
    let dir = Scratch::new("noreprint");
    let text = pdftotext(&dir.write("t.pdf", &out.pdf), false);
    assert!(!text.contains("补打"));
}

#[test]
fn a_character_missing_from_the_font_prints_as_a_box_and_is_reported() {
    let mut l = label("SF1385628716739");
    l.receiver.name = "张𪚥".into(); // CJK Extension B, outside the embedded subset
    let out = render_labels_pdf(&[l], &LabelOptions::default()).unwrap();
    assert_eq!(out.reports[0].missing_chars, vec!['𪚥']);
    let dir = Scratch::new("rare");
    let text = pdftotext(&dir.write("t.pdf", &out.pdf), false);
    assert!(
        text.contains("张□"),
        "the box stands in for the missing character:\n{text}"
    );
    assert_eq!(fahuo_labels::unprintable_chars("张𪚥 王小明"), vec!['𪚥']);
}

const LONG_ADDRESS: &str = "新疆维吾尔自治区伊犁哈萨克自治州伊宁市解放西路天山明珠花园小区东区18号楼3单元602室（\
小区北门进去右转第二栋，门卫室旁边的丰巢快递柜放不下请直接送上楼，家里白天有老人在，敲门声音大一点，\
周末全天有人，工作日晚上七点以后有人，实在联系不上请放物业服务中心前台并拍照发短信告知，谢谢师傅辛苦了）";

#[test]
fn a_long_address_wraps_inside_the_label_and_is_never_clipped() {
    for size in LabelSize::SUPPORTED {
        let mut l = label("SF1385628716739");
        l.receiver.address = LONG_ADDRESS.into();
        let out = render_labels_pdf(&[l], &LabelOptions::new(size)).unwrap();
        let report = &out.reports[0];
        assert!(report.fitted, "{size}: {report:?}");
        assert!(report.address_lines >= 5, "{size}: {report:?}");
        assert!(report.address_font_pt >= 5.0, "still legible: {report:?}");

        let dir = Scratch::new(&format!("long{size}"));
        let pdf = dir.write("long.pdf", &out.pdf);
        let (words, pages) = words(&pdf);
        let (pw, ph) = pages[0];
        for w in &words {
            assert!(
                w.x0 >= 0.0 && w.x1 <= pw + 0.5 && w.y0 >= 0.0 && w.y1 <= ph + 0.5,
                "{size}: {w:?} leaves the {pw}x{ph} page"
            );
        }
        // Every character of the address is on the page: join the extracted text and look
        // for the address with line breaks removed.
        let text: String = pdftotext(&pdf, false)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let addr: String = LONG_ADDRESS
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(
            text.contains(&addr),
            "{size}: address not complete in:\n{text}"
        );
        // The address words must not run into the sender block below.
        let addr_bottom = words
            .iter()
            .filter(|w| w.text.contains("谢谢师傅"))
            .map(|w| w.y1)
            .fold(0.0, f32::max);
        let sender_top = words
            .iter()
            .filter(|w| w.text.contains("青禾优选"))
            .map(|w| w.y0)
            .fold(f32::MAX, f32::min);
        assert!(
            addr_bottom > 0.0 && addr_bottom <= sender_top,
            "{size}: address ends at {addr_bottom}, sender starts at {sender_top}"
        );
    }
}

#[test]
fn an_absurdly_long_address_shrinks_rather_than_overflows() {
    let mut l = label("SF1385628716739");
    l.receiver.address = LONG_ADDRESS.repeat(3);
    let out = render_labels_pdf(&[l], &LabelOptions::default()).unwrap();
    let r = &out.reports[0];
    assert!(r.address_font_pt < 9.0, "{r:?}");
    let dir = Scratch::new("absurd");
    let pdf = dir.write("a.pdf", &out.pdf);
    let text: String = pdftotext(&pdf, false)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let addr: String = LONG_ADDRESS
        .repeat(3)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert!(text.contains(&addr), "nothing dropped");
}

#[test]
fn the_printer_offset_moves_everything_and_the_barcode_still_scans() {
    let labels = vec![label("SF1385628716739")];
    let plain = render_labels_pdf(&labels, &LabelOptions::default()).unwrap();
    let shifted =
        render_labels_pdf(&labels, &LabelOptions::default().with_offset(3.0, 2.0)).unwrap();
    let dir = Scratch::new("offset");
    let (a, _) = words(&dir.write("a.pdf", &plain.pdf));
    let (b, _) = words(&dir.write("b.pdf", &shifted.pdf));
    assert_eq!(a.len(), b.len());
    let mm = 72.0 / 25.4;
    for (wa, wb) in a.iter().zip(&b) {
        assert_eq!(wa.text, wb.text);
        assert!((wb.x0 - wa.x0 - 3.0 * mm).abs() < 0.6, "{wa:?} -> {wb:?}");
        assert!((wb.y0 - wa.y0 - 2.0 * mm).abs() < 0.6, "{wa:?} -> {wb:?}");
    }
    let pdf = dir.write("c.pdf", &shifted.pdf);
    assert_eq!(decode_pages(&pdf, 203, "code128"), ["SF1385628716739"]);
}

#[test]
fn labels_stay_small_and_share_one_embedded_font() {
    let labels = sample_labels(200, 5);
    let out = render_labels_pdf(&labels, &LabelOptions::default()).unwrap();
    let per_label = out.pdf.len() / labels.len();
    assert!(per_label <= 25 * 1024, "{per_label} bytes per label");
    // One subset font program for the whole batch, not one per page.
    let font_files = out.pdf.windows(9).filter(|w| w == b"/FontFile").count();
    assert_eq!(font_files, 1);
}

#[test]
fn a_waybill_number_that_cannot_be_a_barcode_is_an_error_not_a_blank_label() {
    let err = render_labels_pdf(&[label("顺丰123")], &LabelOptions::default()).unwrap_err();
    assert!(
        matches!(err, fahuo_labels::LabelError::BadWaybill(_)),
        "{err}"
    );
    let err = render_labels_pdf(&[label(&"9".repeat(120))], &LabelOptions::default()).unwrap_err();
    assert!(
        matches!(err, fahuo_labels::LabelError::WaybillTooLong(_)),
        "{err}"
    );
}

#[test]
fn a_logo_shared_by_a_batch_is_stored_once_and_a_non_png_logo_is_refused() {
    let logo = sample_labels(3, 1)
        .into_iter()
        .find_map(|l| l.logo_png)
        .expect("samples carry a logo");
    let labels: Vec<_> = (0..20)
        .map(|i| ShippingLabel {
            logo_png: Some(logo.clone()),
            ..label(&format!("SF13856287167{i:02}"))
        })
        .collect();
    let out = render_labels_pdf(&labels, &LabelOptions::default()).unwrap();
    let images = out
        .pdf
        .windows(13)
        .filter(|w| w == b"/Subtype /Ima" || w == b"/Subtype/Imag")
        .count();
    assert_eq!(images, 1, "one image XObject for 20 labels");

    let bad = ShippingLabel {
        logo_png: Some(b"GIF89a...".to_vec().into()),
        ..label("SF1385628716739")
    };
    let err = render_labels_pdf(&[bad], &LabelOptions::default()).unwrap_err();
    assert!(matches!(err, fahuo_labels::LabelError::BadLogo(_)), "{err}");
}

#[test]
fn labels_for_300_dpi_printers_scan_back_at_300_dpi() {
    let labels = sample_labels(10, 300);
    let out = render_labels_pdf(
        &labels,
        &LabelOptions::new(LabelSize::MM100X150).with_dpi(300),
    )
    .unwrap();
    let dir = Scratch::new("dpi300");
    let pdf = dir.write("l.pdf", &out.pdf);
    assert_eq!(decode_pages(&pdf, 300, "code128"), waybills(&labels));
}

#[test]
fn an_empty_batch_is_an_error_rather_than_a_blank_page() {
    // krilla would emit one blank A4 page, which a label printer would feed as a label.
    let err = render_labels_pdf(&[], &LabelOptions::default()).unwrap_err();
    assert_eq!(err, fahuo_labels::LabelError::NoLabels);
}
