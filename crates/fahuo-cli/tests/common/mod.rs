//! Real `fahuo` processes for the CLI's tests: the binary without the caller's `FAHUO_*`
//! settings, and a running server that is SIGKILLed (never left behind) when dropped.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The `fahuo` binary with no `FAHUO_*` variable or `RUST_LOG` of the test's environment, so
/// that a test sees the configuration it sets and nothing else.
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

/// A running `fahuo serve`, killed with SIGKILL when dropped or by [`Server::kill`].
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the server announced it.
    pub base: String,
}

impl Server {
    /// Starts `cmd` and waits until it announces its address. Its stdout is drained all along
    /// (a full pipe would block it); stderr is whatever `cmd` set.
    pub fn start(cmd: &mut Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start fahuo");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .unwrap();
            if let Some(url) = line.strip_prefix("fahuo is serving ") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    /// SIGKILL: the process gets no chance to finish or hand back anything it holds.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
