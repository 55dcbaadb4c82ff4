//! ZPL output rendered by an independent ZPL interpreter (zebrash, through the npm package
//! `zpl-renderer-js`) and scanned with zbarimg: the barcodes and QR codes a Zebra printer
//! would print must read back in order.
//!
//! Opt-in, because it needs Node and an 8 MB npm package:
//!
//! ```sh
//! mkdir -p /tmp/zr && (cd /tmp/zr && npm install zpl-renderer-js@3.4.0)
//! FAHUO_ZPL_RENDERER_DIR=/tmp/zr cargo test -p fahuo-labels --test zpl_render -- --ignored
//! ```
//!
//! The renderer has no Chinese font, so text shows as boxes there; only codes are checked.

mod common;

use std::process::Command;

use common::{Scratch, require_tool};
use fahuo_labels::{LabelOptions, LabelSize, ThermalOptions, render_labels_zpl, sample_labels};

/// Node script that renders every label of a ZPL file to `<prefix>-NNN.png`.
const RENDER_JS: &str = r#"
const { ready } = require(process.env.FAHUO_ZPL_RENDERER_DIR + "/node_modules/zpl-renderer-js");
const fs = require("node:fs");
(async () => {
  const { api } = await ready;
  const [file, w, h, prefix] = process.argv.slice(2);
  const pngs = await api.zplToBase64MultipleAsync(fs.readFileSync(file, "utf8"), Number(w), Number(h), 8);
  pngs.forEach((b64, i) => fs.writeFileSync(`${prefix}-${String(i + 1).padStart(3, "0")}.png`, Buffer.from(b64, "base64")));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

#[test]
#[ignore = "needs node and the npm package zpl-renderer-js; see the module docs"]
fn zpl_labels_render_in_an_independent_interpreter_and_scan_back_in_order() {
    let dir_var = std::env::var("FAHUO_ZPL_RENDERER_DIR").expect(
        "set FAHUO_ZPL_RENDERER_DIR to a directory where `npm install zpl-renderer-js` ran",
    );
    require_tool("node");
    require_tool("zbarimg");
    for size in [LabelSize::MM76X130, LabelSize::MM100X180] {
        let labels = sample_labels(24, 77);
        let zpl = render_labels_zpl(
            &labels,
            &LabelOptions::new(size),
            &ThermalOptions::default(),
        )
        .unwrap();
        let scratch = Scratch::new(&format!("zpl-{size}"));
        let file = scratch.write("labels.zpl", &zpl.data);
        let script = scratch.write("render.cjs", RENDER_JS.as_bytes());
        let prefix = scratch.0.join("label");
        let status = Command::new("node")
            .arg(&script)
            .arg(&file)
            .arg(size.width_mm.to_string())
            .arg(size.height_mm.to_string())
            .arg(&prefix)
            .env("FAHUO_ZPL_RENDERER_DIR", &dir_var)
            .status()
            .expect("run node");
        assert!(status.success());
        let mut pngs: Vec<_> = std::fs::read_dir(&scratch.0)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        pngs.sort();
        assert_eq!(pngs.len(), labels.len());
        let scan = |symbology: &str| -> Vec<String> {
            let out = Command::new("zbarimg")
                .args(["--raw", "-q", "-Sdisable", &format!("-S{symbology}.enable")])
                .args(&pngs)
                .output()
                .expect("run zbarimg");
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        };
        let expected: Vec<String> = labels.iter().map(|l| l.waybill_no.clone()).collect();
        assert_eq!(scan("code128"), expected, "{size}: Code128 in order");
        assert_eq!(
            scan("qrcode"),
            expected,
            "{size}: QR in order (and inside the label)"
        );
    }
}
