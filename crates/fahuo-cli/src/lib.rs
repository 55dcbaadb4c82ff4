//! The library half of the `fahuo` command: the demo's emulator wiring and the benchmarks,
//! shared by the binary and the end-to-end tests that connect shops exactly as the demo does.

pub mod bench;
pub mod demo;
