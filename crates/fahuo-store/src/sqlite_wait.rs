//! How a SQLite connection waits for the database's one write lock: naps of at most 2 ms
//! instead of SQLite's own busy handler, whose naps grow to 100 ms.
//!
//! Every writer of the process meets the lock: job enqueues, claims, each business
//! transaction. SQLite's default handler (`sqlite3_busy_timeout`) sleeps 1, 2, 5, 10, 15, 20,
//! 25, 25, 25, 50, 50 and then 100 ms between looks, so a writer that arrives while another
//! commits may sleep on long after the lock is free, holding its pool connection and its job's
//! worker slot; a 2,000-order pipeline run made ~38,000 such sleeps (BENCHMARKS.md, "Pipeline").
//! Here a waiter looks again after 0.1, 0.2, 0.4, 0.8 and 1.6 ms, then every 2 ms, and gives up
//! (SQLITE_BUSY, a "database is locked" error) after the same 10 s as before.

// The one unsafe code of the crate: sqlx has no safe way to set a busy handler.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::time::Duration;

/// How long a writer waits for the lock in all before its statement fails as busy.
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// The first nap, doubled at each look until the longest.
const FIRST_NAP_MICROS: u64 = 100;
/// How many naps double (0.1, 0.2, 0.4, 0.8, 1.6 ms) before they stay at the longest.
const DOUBLINGS: u32 = 5;
/// The longest nap between two looks at the lock.
const LONGEST_NAP_MICROS: u64 = 2_000;

/// The nap before look number `attempt + 1` (SQLite counts the looks that found the lock
/// taken from 0), or `None` once the naps so far add up to [`WAIT_LIMIT`].
fn nap(attempt: u32) -> Option<Duration> {
    let (waited, this) = if attempt < DOUBLINGS {
        (
            FIRST_NAP_MICROS * ((1 << attempt) - 1),
            FIRST_NAP_MICROS << attempt,
        )
    } else {
        let doubling = FIRST_NAP_MICROS * ((1 << DOUBLINGS) - 1);
        let steady = u64::from(attempt - DOUBLINGS) * LONGEST_NAP_MICROS;
        (doubling + steady, LONGEST_NAP_MICROS)
    };
    (Duration::from_micros(waited) < WAIT_LIMIT).then(|| Duration::from_micros(this))
}

/// SQLite's busy callback: nap and look again (non-zero), or give up (zero).
unsafe extern "C" fn on_busy(_: *mut c_void, attempt: c_int) -> c_int {
    match u32::try_from(attempt).ok().and_then(nap) {
        Some(pause) => {
            std::thread::sleep(pause);
            1
        }
        None => 0,
    }
}

/// Installs the handler on a new connection (it replaces the busy timeout sqlx sets).
pub(crate) async fn install(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, locked away from sqlx's worker thread
    // while `handle` lives; the callback is a plain function that touches no shared state and
    // cannot unwind, and it ignores its (null) argument.
    let rc = unsafe { libsqlite3_sys::sqlite3_busy_handler(db, Some(on_busy), std::ptr::null_mut()) };
    if rc == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("sqlite3_busy_handler failed with code {rc}").into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naps_double_from_a_tenth_of_a_millisecond_to_two() {
        let first: Vec<u64> = (0..8)
            .map(|a| nap(a).unwrap().as_micros() as u64)
            .collect();
        assert_eq!(first, [100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    }

    #[test]
    fn a_writer_gives_up_once_its_naps_add_up_to_the_limit() {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        while let Some(pause) = nap(attempt) {
            waited += pause;
            attempt += 1;
        }
        assert!(waited >= WAIT_LIMIT, "gave up after {waited:?}");
        assert!(
            waited < WAIT_LIMIT + Duration::from_micros(2 * LONGEST_NAP_MICROS),
            "waited {waited:?}, well past the limit"
        );
        assert_eq!(nap(attempt + 1000), None, "and stays given up");
    }
}
