//! `fahuo backup` and `fahuo restore` with real processes: a backup taken while `fahuo demo`
//! syncs orders from its emulators is complete and consistent, restores into a fresh data
//! directory and opens there; a restore refuses a running database and files that are not
//! whole fahuo databases, leaving the existing database untouched.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::fahuo;

/// Runs fahuo to the end: (success, stdout, stderr).
fn run(args: &[&str], data: &Path) -> (bool, String, String) {
    let out = fahuo()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run fahuo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A `fahuo demo` syncing its emulators' orders into `data`; killed on drop.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo(data: &Path) -> Demo {
    let mut child = fahuo()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--orders",
            "20",
            "--platform-orders",
            "3000",
            "--data-dir",
        ])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fahuo demo");
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("serving http://") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "demo exited early");
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = out.read_to_string(&mut rest);
    });
    Demo(child)
}

/// The order count of a database file, read the way restore checks a file.
async fn orders_in(db: &Path) -> i64 {
    fahuo_store::backup::check_sqlite_backup(db)
        .await
        .unwrap()
        .orders
}

/// The number after `word` in `text` ("… 1234 orders …").
fn number_before(text: &str, word: &str) -> i64 {
    let at = text
        .find(word)
        .unwrap_or_else(|| panic!("{word:?} in {text}"));
    text[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {word:?} in {text}"))
}

fn digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_orders_flow_restores_into_a_fresh_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (live, fresh) = (dir.path().join("live"), dir.path().join("fresh"));
    let live_db = live.join("fahuo.db");
    let running = demo(&live);
    let deadline = Instant::now() + Duration::from_secs(60);
    while orders_in(&live_db).await < 120 {
        assert!(Instant::now() < deadline, "the demo synced no orders");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let file = dir.path().join("fahuo-backup.db");
    let (ok, out, err) = run(&["backup", file.to_str().unwrap()], &live);
    assert!(ok, "{out}{err}");
    let backed_up = number_before(&out, "orders");
    assert!(backed_up >= 120, "{out}");
    let (ok, _, err) = run(&["backup", file.to_str().unwrap()], &live);
    assert!(!ok && err.contains("exists already"), "{err}");

    // Orders kept flowing: the backup was taken from a database being written.
    while orders_in(&live_db).await <= backed_up {
        assert!(
            Instant::now() < deadline,
            "no order arrived after the backup"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (ok, _, err) = run(&["restore", file.to_str().unwrap()], &live);
    assert!(!ok, "a restore over a running server is refused");
    assert!(err.contains("in use by a running fahuo"), "{err}");
    drop(running);

    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::copy(live.join("pii.key"), fresh.join("pii.key")).unwrap();
    let (ok, out, err) = run(&["restore", file.to_str().unwrap()], &fresh);
    assert!(ok, "{out}{err}");
    assert_eq!(number_before(&out, "orders"), backed_up, "{out}");
    assert_eq!(orders_in(&fresh.join("fahuo.db")).await, backed_up);
    let (ok, tenants, err) = run(&["tenant", "list"], &fresh);
    assert!(
        ok && !tenants.trim().is_empty(),
        "the restored database opens: {err}"
    );
    let (ok, again, err) = run(&["tenant", "list"], &live);
    assert!(ok, "{err}");
    assert_eq!(tenants, again);

    // Restoring over an existing database keeps the replaced one beside it.
    let (ok, out, err) = run(&["restore", file.to_str().unwrap()], &fresh);
    assert!(
        ok && out.contains("the replaced database is kept as"),
        "{out}{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_or_foreign_file_is_refused_and_the_database_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(&["tenant", "add", "杭州某某服饰"], &data);
    assert!(ok, "{err}");
    let db = data.join("fahuo.db");
    let good = dir.path().join("good.db");
    let (ok, _, err) = run(&["backup", good.to_str().unwrap()], &data);
    assert!(ok, "{err}");
    let before = digest(&db);

    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let good_bytes = std::fs::read(&good).unwrap();
    let mut damaged = good_bytes.clone();
    // Overwrite the middle of the file (table pages) with garbage.
    let mid = damaged.len() / 2;
    for b in &mut damaged[mid..mid + 4096] {
        *b = 0xA5;
    }
    let cases = [
        (
            write("text.db", b"not a database at all\n".repeat(500).as_slice()),
            "is not a SQLite database",
        ),
        (
            write("half.db", &good_bytes[..good_bytes.len() / 2]),
            "fahuo.db is unchanged",
        ),
        (write("damaged.db", &damaged), "fahuo.db is unchanged"),
        (dir.path().join("missing.db"), "is not a file"),
    ];
    for (file, expected) in cases {
        let (ok, out, err) = run(&["restore", file.to_str().unwrap()], &data);
        assert!(!ok, "{} was restored: {out}", file.display());
        assert!(err.contains(expected), "{}: {err}", file.display());
        assert!(
            digest(&db) == before,
            "{} changed the database",
            file.display()
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restoring") || n.contains("before-restore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn postgres_users_are_told_the_pg_dump_and_pg_restore_commands() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["backup", "restore"] {
        let (ok, _, err) = run(
            &[
                command,
                "dump.pgc",
                "--database-url",
                "postgres://fahuo:secret@db.internal/fahuo",
            ],
            dir.path(),
        );
        assert!(!ok);
        assert!(err.contains("pg_dump --format=custom"), "{err}");
        assert!(err.contains("pg_restore --clean"), "{err}");
        assert!(
            !err.contains("secret"),
            "the password is never printed: {err}"
        );
    }
}
