//! The library half of the `fahuo` command: the demo's emulator wiring, the benchmarks,
//! backup and restore, and the stock count table, shared by the binary and the end-to-end tests that connect shops
//! exactly as the demo does.

pub mod backup;
pub mod bench;
pub mod bench_list;
pub mod bench_pipeline;
pub mod bench_ship;
pub mod bench_wrk;
pub mod demo;
pub mod headless;
pub mod progress;
pub mod shipments;
pub mod stock;
