//! Runs the emulators by hand until the `fahuo sim` command exists:
//! `cargo run -p fahuo-sim --example sim -- --listen 127.0.0.1:8700 --seed 1 --orders 200 --fault-rate 0.1`

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut cfg = fahuo_sim::SimConfig::default();
    let mut listen: SocketAddr = "127.0.0.1:8700".parse().map_err(std::io::Error::other)?;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{flag} needs a value")))?;
        let bad = |e: String| std::io::Error::other(format!("{flag}: {e}"));
        match flag.as_str() {
            "--listen" => {
                listen = value
                    .parse()
                    .map_err(|e: std::net::AddrParseError| bad(e.to_string()))?
            }
            "--seed" => {
                cfg.seed = value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| bad(e.to_string()))?
            }
            "--orders" => {
                cfg.orders = value
                    .parse()
                    .map_err(|e: std::num::ParseIntError| bad(e.to_string()))?
            }
            "--fault-rate" => {
                cfg.fault_rate = value
                    .parse()
                    .map_err(|e: std::num::ParseFloatError| bad(e.to_string()))?
            }
            _ => return Err(std::io::Error::other(format!("unknown flag {flag}"))),
        }
    }
    fahuo_sim::serve(cfg, listen).await
}
