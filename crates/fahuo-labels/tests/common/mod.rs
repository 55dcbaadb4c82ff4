//! Helpers for the tests that check rendered PDFs with real tools (poppler-utils, qpdf,
//! zbar-tools). Missing tools fail the test with the install command rather than skip it,
//! so a green run always means the output was really checked.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success());
    assert!(
        found.unwrap_or(false),
        "`{tool}` is needed by this test: apt-get install -y qpdf poppler-utils zbar-tools"
    );
}

/// A scratch directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fahuo-labels-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn write(&self, file: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(file);
        std::fs::write(&p, bytes).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success() || out.status.code() == Some(4),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

/// `qpdf --check` must pass.
pub fn qpdf_check(pdf: &Path) {
    require_tool("qpdf");
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .expect("run qpdf");
    assert!(
        out.status.success(),
        "qpdf --check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Rasterises every page at `dpi` to 1-bit black and white (as a 203-dpi thermal printer
/// prints it, and faster to scan than greyscale) and decodes it with
/// zbarimg, restricted to one symbology (`code128` or `qrcode`). One entry per decoded
/// symbol, in page order.
pub fn decode_pages(pdf: &Path, dpi: u32, symbology: &str) -> Vec<String> {
    require_tool("pdftoppm");
    require_tool("zbarimg");
    let dir = pdf.parent().expect("pdf has a parent dir");
    let prefix = dir.join("page");
    run(Command::new("pdftoppm")
        .arg("-r")
        .arg(dpi.to_string())
        .arg("-mono")
        .arg(pdf)
        .arg(&prefix));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read scratch dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pbm"))
        .collect();
    // pdftoppm zero-pads page numbers, so name order is page order.
    pages.sort();
    let mut decoded = Vec::new();
    // zbarimg exits 4 when a page has no symbol; the count comparison catches that.
    for chunk in pages.chunks(200) {
        let out = run(Command::new("zbarimg")
            .arg("--raw")
            .arg("-q")
            .arg("-Sdisable")
            .arg(format!("-S{symbology}.enable"))
            .args(chunk));
        decoded.extend(out.lines().map(str::to_owned));
    }
    for p in pages {
        let _ = std::fs::remove_file(p);
    }
    decoded
}

pub fn pdftotext(pdf: &Path, layout: bool) -> String {
    require_tool("pdftotext");
    let mut cmd = Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    run(cmd.arg(pdf).arg("-"))
}

/// A word as pdftotext places it, in PDF points from the page's top-left corner.
#[derive(Debug, Clone)]
pub struct Word {
    pub page: usize,
    pub text: String,
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

/// Words with their boxes (`pdftotext -bbox`), plus each page's (width, height) in points.
pub fn words(pdf: &Path) -> (Vec<Word>, Vec<(f32, f32)>) {
    require_tool("pdftotext");
    let html = run(Command::new("pdftotext").arg("-bbox").arg(pdf).arg("-"));
    let attr = |tag: &str, name: &str| -> f32 {
        let key = format!("{name}=\"");
        let start = tag
            .find(&key)
            .map(|i| i + key.len())
            .expect("attribute present");
        let end = tag[start..].find('"').expect("closing quote") + start;
        tag[start..end].parse().expect("numeric attribute")
    };
    let mut words = Vec::new();
    let mut pages = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            pages.push((attr(line, "width"), attr(line, "height")));
        } else if line.starts_with("<word ") {
            let text_start = line.find('>').expect("tag end") + 1;
            let text_end = line.rfind("</word>").expect("word end");
            words.push(Word {
                page: pages.len(),
                text: line[text_start..text_end]
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">"),
                x0: attr(line, "xMin"),
                y0: attr(line, "yMin"),
                x1: attr(line, "xMax"),
                y1: attr(line, "yMax"),
            });
        }
    }
    (words, pages)
}
