//! TSPL and ZPL output: the structure a printer needs, the same content as the PDF, and the
//! per-printer offset in whole dots.

use fahuo_labels::{
    LabelOptions, LabelSize, Party, ShippingLabel, ThermalOptions, render_labels_tspl,
    render_labels_zpl,
};

fn label(waybill: &str) -> ShippingLabel {
    ShippingLabel {
        carrier_name: "中通快递".into(),
        waybill_no: waybill.into(),
        sort_code: "杭州 西湖 A12".into(),
        hub: Some("杭州转运中心".into()),
        receiver: Party {
            name: "李雨涵".into(),
            phone: "139****0001".into(),
            address: "浙江省杭州市西湖区文三路90号东部软件园1号楼5楼".into(),
        },
        sender: Party {
            name: "小满生活馆".into(),
            phone: "400-820-8820".into(),
            address: "浙江省杭州市余杭区良睦路1288号".into(),
        },
        items: "陶瓷马克杯 ×2".into(),
        print_job_id: "PJ-7".into(),
        ..Default::default()
    }
}

fn utf8_tspl(labels: &[ShippingLabel], opts: &LabelOptions) -> String {
    let t = ThermalOptions {
        tspl_gb18030: false,
        ..Default::default()
    };
    String::from_utf8(render_labels_tspl(labels, opts, &t).unwrap().data).unwrap()
}

/// (x, y) of every command line starting with `cmd`.
fn positions(out: &str, cmd: &str) -> Vec<(i64, i64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix(cmd))
        .map(|rest| {
            let mut it = rest.trim().split(',');
            (
                it.next().unwrap().trim().parse().unwrap(),
                it.next().unwrap().trim().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_tspl_job_sets_up_the_stock_once_and_prints_each_label_in_order() {
    let labels = [
        label("73610555582883"),
        label("75187142352752"),
        label("78617767168834"),
    ];
    let out = utf8_tspl(&labels, &LabelOptions::new(LabelSize::MM76X130));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "SIZE 76 mm,130 mm");
    assert_eq!(lines[1], "GAP 2 mm,0 mm");
    assert!(out.contains("CODEPAGE UTF-8"));
    assert_eq!(out.matches("\r\nCLS\r\n").count(), 3);
    assert_eq!(out.matches("PRINT 1,1\r\n").count(), 3);
    assert!(
        out.lines().all(|l| !l.is_empty()),
        "CRLF-terminated commands only"
    );
    // Barcodes in label order, Code 128, human-readable line off (we print our own).
    let barcodes: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("BARCODE"))
        .copied()
        .collect();
    assert_eq!(barcodes.len(), 3);
    for (b, l) in barcodes.iter().zip(&labels) {
        assert!(b.contains("\"128\""), "{b}");
        assert!(b.ends_with(&format!("\"{}\"", l.waybill_no)), "{b}");
    }
    assert_eq!(out.matches("QRCODE").count(), 3);
    assert!(out.contains("\"李雨涵  139****0001\""));
    assert!(out.contains("TEXT") && out.contains("\"TSS24.BF2\""));
    // The inverse 收 badge: text first, then its box reversed.
    assert_eq!(out.matches("REVERSE").count(), 3);
}

#[test]
fn tspl_barcode_modules_are_whole_dots_and_fit_the_label() {
    let out = utf8_tspl(&[label("SF1385628716739")], &LabelOptions::default());
    let bc = out.lines().find(|l| l.starts_with("BARCODE")).unwrap();
    let fields: Vec<&str> = bc.trim_start_matches("BARCODE ").split(',').collect();
    let narrow: u32 = fields[6].parse().unwrap();
    assert!((2..=4).contains(&narrow), "{bc}");
    let x: u32 = fields[0].parse().unwrap();
    // 145 modules for SF + 13 digits with set C; must end inside the 608-dot width.
    assert!(x + 145 * narrow <= 608, "{bc}");
}

#[test]
fn tspl_defaults_to_gb18030_for_chinese_printers() {
    let raw = render_labels_tspl(
        &[label("73610555582883")],
        &LabelOptions::default(),
        &ThermalOptions::default(),
    )
    .unwrap()
    .data;
    assert!(std::str::from_utf8(&raw).is_err(), "not UTF-8");
    let (text, _, had_errors) = encoding_rs::GB18030.decode(&raw);
    assert!(!had_errors);
    assert!(text.contains("李雨涵") && !text.contains("CODEPAGE"));
}

#[test]
fn the_printer_offset_shifts_every_tspl_and_zpl_element_by_whole_dots() {
    let labels = [label("73610555582883")];
    let plain = LabelOptions::default();
    let moved = LabelOptions::default().with_offset(2.0, 1.0); // 16 and 8 dots at 203 dpi
    for cmd in ["TEXT ", "BAR ", "BARCODE ", "QRCODE ", "BOX "] {
        let a = positions(&utf8_tspl(&labels, &plain), cmd);
        let b = positions(&utf8_tspl(&labels, &moved), cmd);
        assert_eq!(a.len(), b.len(), "{cmd}");
        assert!(!a.is_empty(), "{cmd}");
        for (p, q) in a.iter().zip(&b) {
            assert!(
                (q.0 - p.0 - 16).abs() <= 1 && (q.1 - p.1 - 8).abs() <= 1,
                "{cmd}{p:?} -> {q:?}"
            );
        }
    }
    let t = ThermalOptions::default();
    let za = String::from_utf8(render_labels_zpl(&labels, &plain, &t).unwrap().data).unwrap();
    let zb = String::from_utf8(render_labels_zpl(&labels, &moved, &t).unwrap().data).unwrap();
    // Every `^FOx,y` field origin, in order.
    let fo = |s: &str| -> Vec<(i64, i64)> {
        s.split("^FO")
            .skip(1)
            .map(|rest| {
                let xy = &rest[..rest.find('^').unwrap()];
                let (x, y) = xy.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    };
    let (a, b) = (fo(&za), fo(&zb));
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(&b) {
        assert!(
            (q.0 - p.0 - 16).abs() <= 1 && (q.1 - p.1 - 8).abs() <= 1,
            "{p:?} -> {q:?}"
        );
    }
}

#[test]
fn a_zpl_batch_has_one_format_per_label_with_barcode_qr_and_unicode_text() {
    let labels = [label("73610555582883"), label("JT5261988016578")];
    let out = String::from_utf8(
        render_labels_zpl(
            &labels,
            &LabelOptions::new(LabelSize::MM100X150),
            &ThermalOptions::default(),
        )
        .unwrap()
        .data,
    )
    .unwrap();
    assert_eq!(out.matches("^XA").count(), 2);
    assert_eq!(out.matches("^XZ").count(), 2);
    assert_eq!(out.matches("^CI28").count(), 2, "UTF-8 field data");
    assert!(
        out.contains("^PW799") || out.contains("^PW800"),
        "100 mm at 203 dpi"
    );
    assert!(out.contains("^CW1,E:SIMSUN.TTF"));
    let bcs: Vec<&str> = out.split("^BC").skip(1).collect();
    assert_eq!(bcs.len(), 2);
    assert!(bcs[0].contains("^FD73610555582883^FS") && bcs[1].contains("^FDJT5261988016578^FS"));
    assert!(out.contains("^BQN,2,") && out.contains("^FDMA,73610555582883^FS"));
    assert!(out.contains("李雨涵"));
    // The inverse badge is a filled box plus field-reversed text.
    assert!(out.contains("^FR"));
}

#[test]
fn zpl_control_characters_in_text_are_escaped() {
    let mut l = label("73610555582883");
    l.items = "A^B~C\\D".into();
    let out = String::from_utf8(
        render_labels_zpl(&[l], &LabelOptions::default(), &ThermalOptions::default())
            .unwrap()
            .data,
    )
    .unwrap();
    assert!(out.contains("A\\5EB\\7EC\\5CD"), "{out}");
    assert!(!out.contains("A^B"));
}

#[test]
fn thermal_reports_match_the_labels() {
    let labels = fahuo_labels::sample_labels(40, 9);
    let t = ThermalOptions::default();
    for out in [
        render_labels_tspl(&labels, &LabelOptions::default(), &t).unwrap(),
        render_labels_zpl(&labels, &LabelOptions::default(), &t).unwrap(),
    ] {
        let numbers: Vec<_> = out.reports.iter().map(|r| r.waybill_no.clone()).collect();
        assert_eq!(
            numbers,
            labels
                .iter()
                .map(|l| l.waybill_no.clone())
                .collect::<Vec<_>>()
        );
        assert!(
            out.reports.iter().all(|r| r.fitted),
            "sample text fits thermal fonts too"
        );
    }
}
