//! Throughput and load-time measurement used by bench/compare.py: parses every line of a file
//! (one address per line) repeatedly on one thread and prints JSON timings; with `--json` it
//! instead writes the parse results as JSON lines (for accuracy scoring).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: throughput FILE [--json | --secs N]");
    if args.get(2).map(String::as_str) == Some("--json") {
        let input = BufReader::new(std::fs::File::open(path)?);
        let out = BufWriter::new(std::io::stdout().lock());
        fahuo_address::parse_lines(input, out)?;
        return Ok(());
    }
    let secs: f64 = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let t0 = Instant::now();
    let parser = fahuo_address::Parser::new();
    let load_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let lines: Vec<String> = BufReader::new(std::fs::File::open(path)?)
        .lines()
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let mut n = 0u64;
    let mut sink = 0usize;
    while start.elapsed().as_secs_f64() < secs {
        for l in &lines {
            let p = parser.parse(l);
            sink += p.detail.len();
            n += 1;
        }
    }
    let el = start.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{{\"load_ms\": {load_ms:.2}, \"parsed\": {n}, \"seconds\": {el:.3}, \"per_sec\": {:.0}, \"sink\": {sink}}}",
        n as f64 / el
    )?;
    Ok(())
}
