//! The order list API under load: N bulk-loaded orders (the order-list bench's seeding),
//! served by `fahuo serve --no-jobs` in a process of its own on loopback, and `wrk` (64
//! connections, 2 threads) sending a mix of the order page's filter combinations with an API
//! token for a fixed time. Reports requests/s, p50/p99 latency as wrk measured them, the server
//! process's memory (its peak over its whole life: started fresh for the load, so nothing the
//! bulk load allocated counts) and the CPU time spent per request: the server process's (the
//! SQLite engine runs inside it) and the whole machine's (wrk, PostgreSQL's backends, and
//! whatever else runs). Latency under a closed loop of 64 connections is mostly queueing,
//! so on a shared machine the CPU per request is the figure the machine's load does not move
//! much: at `c` milliseconds of CPU per request on `n` free cores, 64 connections wait about
//! `64 × c / n` ms. `fahuo bench order-list-load` seeds through [`seed`] and measures with
//! [`load`]; `fahuo bench pipeline` seeds its reference tenant itself and calls [`load`] on it.
//!
//! wrk and the server share the machine: on two cores, wrk's two threads take CPU the server
//! would otherwise have, so the figures are a floor for a server with the machine to itself.

use crate::bench_list::{self, Fixture, OWNER_PASSWORD};
use anyhow::{Context, Result, bail};
use fahuo_app::App;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How wrk is run.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    pub connections: usize,
    pub threads: usize,
    pub duration: Duration,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings {
            connections: 64,
            threads: 2,
            duration: Duration::from_secs(15),
        }
    }
}

/// One load run's figures.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub orders: usize,
    /// Distinct URLs in the mix.
    pub urls: usize,
    pub seconds: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Non-2xx answers plus connect, read, write and timeout errors.
    pub errors: u64,
    /// The server process's resident memory when the load started, and its peak (VmHWM) by
    /// the end of the load.
    pub rss_before_mb: f64,
    pub peak_rss_mb: f64,
    /// Of the resident memory when the load ended: the process's own (heap, stacks) and the
    /// file pages it has mapped (the executable's; a memory-mapped database's would count
    /// here too: the kernel's page cache, shared and reclaimable, not allocated memory).
    pub rss_anon_mb: f64,
    pub rss_file_mb: f64,
    /// CPU time (user + system) per request of the server process, and of the whole machine.
    pub server_cpu_ms_per_request: f64,
    pub machine_cpu_ms_per_request: f64,
    /// The load averages (1, 5, 15 minutes) when wrk started and when it finished.
    pub load_before: String,
    pub load_after: String,
}

impl LoadReport {
    /// The figures as Markdown table rows (after a `| figure | value |` header).
    pub fn table(&self) -> String {
        format!(
            "| figure | value |\n|---|---|\n\
             | orders stored | {} |\n| URLs in the mix | {} |\n| requests | {} in {:.1} s |\n\
             | requests/s | {:.0} |\n| p50 | {:.2} ms |\n| p99 | {:.2} ms |\n| max | {:.1} ms |\n\
             | errors (non-2xx, socket) | {} |\n| server RSS before → peak under load | {:.0} MB → {:.0} MB |\n\
             | server RSS at the end: own (anon) + mapped files | {:.0} MB + {:.0} MB |\n\
             | server CPU per request | {:.3} ms |\n| machine CPU per request (all processes) | {:.3} ms |\n\
             | load average at start → end | {} → {} |\n",
            self.orders,
            self.urls,
            self.requests,
            self.seconds,
            self.requests_per_second,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.errors,
            self.rss_before_mb,
            self.peak_rss_mb,
            self.rss_anon_mb,
            self.rss_file_mb,
            self.server_cpu_ms_per_request,
            self.machine_cpu_ms_per_request,
            self.load_before,
            self.load_after
        )
    }
}

/// Seeds `orders` orders into a new merchant of `app`: what [`load`] then serves.
pub async fn seed(app: &App, orders: usize) -> Result<(Fixture, bench_list::Samples)> {
    let fx = bench_list::create_merchant(app, "bench-owner").await?;
    eprintln!("seeding {orders} orders");
    let mut last = Instant::now();
    let seeded = bench_list::seed(app, &fx, orders, 5_000, |n| {
        if last.elapsed().as_secs() >= 10 || n == orders {
            last = Instant::now();
            eprintln!("  {n} orders loaded");
        }
    })
    .await?;
    eprintln!("seeded in {:.1} s", seeded.seconds);
    Ok((fx, seeded.samples))
}

/// How to start the server the load measures: this executable's `fahuo serve --no-jobs` on
/// the database and data directory (the PII and token keys) the seeding process used. No
/// jobs: a node that serves the API and console only, and nothing else running in it.
#[derive(Debug, Clone)]
pub struct ServerProcess {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The configuration file the bench itself was given, if any.
    pub config: Option<PathBuf>,
}

/// Starts the server process, then runs wrk over the API forms of the order page's filter
/// combinations ([`bench_list::combinations`]) as the fixture's owner, with an API token
/// created through `app` (the same database).
pub async fn load(
    app: &App,
    server: &ServerProcess,
    fx: &Fixture,
    samples: &bench_list::Samples,
    orders: usize,
    settings: &LoadSettings,
) -> Result<LoadReport> {
    let session = app.login(&fx.owner, OWNER_PASSWORD, "bench").await?;
    let (owner, _) = app.session_actor(&session.token).await?;
    let token = app.create_api_token(&owner, "wrk").await?.secret;
    let paths: Vec<String> = bench_list::combinations(fx, samples, app.now())
        .into_iter()
        .map(|(_, query)| format!("/api/v1/orders?{query}"))
        .collect();

    let dir = tempfile::tempdir()?;
    let server = tokio::task::spawn_blocking({
        let (server, log) = (server.clone(), dir.path().join("serve.log"));
        move || RunningServer::start(&server, &log)
    })
    .await??;
    let script = dir.path().join("orders.lua");
    std::fs::write(&script, lua_script(&paths, &token))?;
    let rss_before_mb = server.status_mb("VmRSS")?;
    let load_before = bench_list::load_average().unwrap_or_default();
    let (server_cpu_before, machine_cpu_before) = (server.cpu_ticks()?, machine_cpu_ticks()?);
    let output = tokio::task::spawn_blocking({
        let (script, base, settings) = (script.clone(), server.base.clone(), settings.clone());
        move || wrk(&script, &base, &settings)
    })
    .await??;
    let peak_rss_mb = server.status_mb("VmHWM")?;
    let (rss_anon_mb, rss_file_mb) = (server.status_mb("RssAnon")?, server.status_mb("RssFile")?);
    let server_ticks = server.cpu_ticks()? - server_cpu_before;
    let machine_ticks = machine_cpu_ticks()? - machine_cpu_before;
    let load_after = bench_list::load_average().unwrap_or_default();
    tokio::task::spawn_blocking(move || server.stop()).await??;

    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("FAHUO "))
        .with_context(|| format!("wrk printed no summary:\n{output}"))?;
    let field = |name: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{name} in {line}"))
    };
    let requests = field("requests")? as u64;
    if requests == 0 {
        bail!("wrk made no requests:\n{output}");
    }
    let seconds = field("duration_us")? / 1e6;
    Ok(LoadReport {
        orders,
        urls: paths.len(),
        seconds,
        requests,
        requests_per_second: requests as f64 / seconds.max(1e-9),
        p50_ms: field("p50_us")? / 1000.0,
        p99_ms: field("p99_us")? / 1000.0,
        max_ms: field("max_us")? / 1000.0,
        errors: (field("errors")? + field("non2xx")?) as u64,
        rss_before_mb,
        peak_rss_mb,
        rss_anon_mb,
        rss_file_mb,
        server_cpu_ms_per_request: server_ticks as f64 * MS_PER_TICK / requests as f64,
        machine_cpu_ms_per_request: machine_ticks as f64 * MS_PER_TICK / requests as f64,
        load_before,
        load_after,
    })
}

/// A wrk script that cycles through `paths` (each wrk thread from its own offset) with the
/// token, and prints one summary line wrk's own output cannot give in machine form.
fn lua_script(paths: &[String], token: &str) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("  {p:?},")).collect();
    format!(
        r#"local paths = {{
{}
}}
wrk.headers["Authorization"] = "Bearer {token}"
local threads = 0
local i = 0
setup = function(thread)
  thread:set("i", threads * 37)
  threads = threads + 1
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FAHUO requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"#,
        list.join("\n")
    )
}

fn wrk(script: &Path, base: &str, s: &LoadSettings) -> Result<String> {
    let out = std::process::Command::new("wrk")
        .arg(format!("-t{}", s.threads))
        .arg(format!("-c{}", s.connections))
        .arg(format!("-d{}s", s.duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(base)
        .output()
        .context("cannot run wrk (Debian: apt-get install -y wrk)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("wrk failed: {text}");
    }
    Ok(text)
}

/// `fahuo serve` in a child process, stopped (SIGTERM, then SIGKILL) when dropped.
struct RunningServer {
    child: Child,
    /// `http://ADDR`, as the server printed it once listening.
    base: String,
    log: PathBuf,
}

impl RunningServer {
    /// Starts the server on a free loopback port and waits until it listens (it prints its
    /// address once the socket is bound). Its log goes to `log`.
    fn start(s: &ServerProcess, log: &Path) -> Result<RunningServer> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args([
            "serve",
            "--no-jobs",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&s.data_dir)
        .arg("--database-url")
        .arg(&s.database_url);
        if let Some(config) = &s.config {
            cmd.arg("--config").arg(config);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("cannot start `fahuo serve`")?;
        let mut server = RunningServer {
            child,
            base: String::new(),
            log: log.to_path_buf(),
        };
        let stdout = server.child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if let Some(base) = line?.strip_prefix("fahuo is serving ") {
                server.base = base.trim().to_string();
                // Read on to the end: a closed pipe would fail the server's next line.
                std::thread::spawn(move || lines.for_each(drop));
                return Ok(server);
            }
        }
        bail!(
            "`fahuo serve` stopped before listening:\n{}",
            server.log_tail()
        )
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A `/proc/PID/status` figure (kB) in MB.
    fn status_mb(&self, key: &str) -> Result<f64> {
        proc_status_mb(&self.pid(), key)
            .with_context(|| format!("{key} of the server process\n{}", self.log_tail()))
    }

    /// The server's CPU time so far, all threads, user + system (`/proc/PID/stat` fields 14
    /// and 15), in ticks.
    fn cpu_ticks(&self) -> Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("/proc/PID/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3.
        let tick = |n: usize| -> Result<u64> {
            fields
                .get(n - 3)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("field {n} of /proc/PID/stat"))
        };
        Ok(tick(14)? + tick(15)?)
    }

    /// Asks the server to shut down as an operator would (SIGTERM) and waits for it.
    fn stop(mut self) -> Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.pid()])
            .status()
            .context("cannot run kill")?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("`fahuo serve` ended with {status}:\n{}", self.log_tail());
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        // Only left running when the bench failed half-way: do not leave it behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A figure of `/proc/PID/status` (kB) in MB, `pid` being a number or `self`.
pub fn proc_status_mb(pid: &str, key: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Linux reports CPU times in `/proc` in USER_HZ ticks, which the kernel fixes at 100 a
/// second for user space.
const MS_PER_TICK: f64 = 10.0;

/// The whole machine's busy CPU time so far, every core, in ticks: the first line of
/// `/proc/stat` less idle and iowait.
fn machine_cpu_ticks() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("/proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().context("/proc/stat"))
        .collect::<Result<_>>()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = ticks.iter().take(8).sum::<u64>()
        - ticks.get(3).copied().unwrap_or(0)
        - ticks.get(4).copied().unwrap_or(0);
    Ok(busy)
}
