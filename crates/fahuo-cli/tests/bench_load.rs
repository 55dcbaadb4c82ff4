//! `fahuo bench order-list-load` measures a server of its own: the orders are seeded by the
//! bench's process, then `fahuo serve --no-jobs` is started on the same database and keys, wrk
//! loads it, and the figures (memory and CPU) are that process's. A short run on each
//! database answers every request and leaves no server behind. Needs `wrk` (scripts/test
//! installs it).

mod common;

use common::fahuo;
use fahuo_store::both_backends;
use fahuo_store::testing::TestDb;

/// The value cells of the bench's `| figure | value |` row named `figure`.
fn figure<'a>(table: &'a str, figure: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(&format!("| {figure} | ")))
        .and_then(|rest| rest.strip_suffix(" |"))
        .unwrap_or_else(|| panic!("no row {figure:?} in\n{table}"))
}

/// The numbers in a value cell, e.g. `20 MB → 75 MB` or `0.921 ms`.
fn numbers(cell: &str) -> Vec<f64> {
    cell.split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}

/// Processes whose command line mentions `needle`, other than this test's.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| e.file_name().to_string_lossy() != me)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

async fn a_short_load_is_served_by_a_process_of_its_own(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench-data");
    let out = fahuo()
        .args([
            "bench",
            "order-list-load",
            "--orders",
            "300",
            "--seconds",
            "1",
        ])
        .args(["--database-url", &db.url])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .expect("run fahuo bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("served by `fahuo serve --no-jobs`"),
        "{stdout}"
    );

    assert_eq!(figure(&stdout, "orders stored"), "300");
    assert_eq!(figure(&stdout, "errors (non-2xx, socket)"), "0");
    let rate: f64 = figure(&stdout, "requests/s").parse().unwrap();
    assert!(rate > 0.0, "{stdout}");
    // The server started fresh for the load: its memory is its own, and the peak is at least
    // what it held before the load.
    let rss = numbers(figure(&stdout, "server RSS before → peak under load"));
    assert_eq!(rss.len(), 2, "{stdout}");
    assert!(rss[0] > 0.0 && rss[1] >= rss[0], "{stdout}");
    let cpu = numbers(figure(&stdout, "server CPU per request"));
    assert!(cpu[0] > 0.0, "{stdout}");

    let data = data.to_string_lossy().to_string();
    assert_eq!(processes_mentioning(&data), Vec::<String>::new());
}

both_backends!(a_short_load_is_served_by_a_process_of_its_own);
