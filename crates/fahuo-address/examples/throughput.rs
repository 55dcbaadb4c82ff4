//! Throughput and load-time measurement used by bench/compare.py: parses every line of a file
//! (one address per line) repeatedly on one thread and prints JSON timings; with `--json` it
//! instead writes the parse results as JSON lines (for accuracy scoring).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

/// CPU seconds (user + system) this process has used, from /proc/self/stat (Linux); `None`
/// elsewhere. The machine is shared, so CPU time is the fairer clock for throughput.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: throughput FILE [--json | --secs N]");
    let mode = args.get(2).map(String::as_str);
    if matches!(mode, Some("--once" | "--read")) {
        // One pass, no timing: for instruction counting under callgrind. `--read` does all of
        // `--once` except the parsing (load the data, read and split the file), so the
        // difference of the two counts is the parsing alone, as the timed mode measures it.
        let parser = fahuo_address::Parser::global();
        let text = std::fs::read_to_string(path)?;
        let lines: Vec<&str> = text.lines().collect();
        let sink: usize = if mode == Some("--once") {
            lines.iter().map(|l| parser.parse(l).detail.len()).sum()
        } else {
            lines.len()
        };
        println!("{sink}");
        return Ok(());
    }
    if mode == Some("--json") {
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
    // Load time: the median of five fresh loads (the machine is shared; one sample is noisy).
    let mut loads = Vec::new();
    let mut parser = None;
    for _ in 0..5 {
        let t0 = Instant::now();
        parser = Some(fahuo_address::Parser::new());
        loads.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    loads.sort_by(f64::total_cmp);
    let load_ms = loads[2];
    let parser = parser.expect("loaded");
    // The town index is built on first need (an address without its county).
    let t1 = Instant::now();
    let _ = parser.parse("织里镇1号");
    let town_ms = t1.elapsed().as_secs_f64() * 1000.0;
    let lines: Vec<String> = BufReader::new(std::fs::File::open(path)?)
        .lines()
        .collect::<Result<_, _>>()?;
    let cpu0 = cpu_seconds();
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
    let cpu = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => el,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{{\"load_ms\": {load_ms:.2}, \"town_index_ms\": {town_ms:.2}, \"parsed\": {n}, \"seconds\": {el:.3}, \"cpu_seconds\": {cpu:.3}, \"per_sec\": {:.0}, \"sink\": {sink}}}",
        n as f64 / el
    )?;
    Ok(())
}
