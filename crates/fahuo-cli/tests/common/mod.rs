//! What the CLI's test files share.

use std::process::Command;

/// The `fahuo` binary under test, with none of the caller's `FAHUO_*` settings or `RUST_LOG`.
pub fn fahuo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fahuo"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FAHUO_") {
            cmd.env_remove(key);
        }
    }
    cmd.env_remove("RUST_LOG");
    cmd
}
