//! Batch files: tracking-number imports (preview, then apply in chunks, resumable) and order
//! exports. Reading and writing the files is pure ([`file`], [`export`]); this module adds
//! what needs the store.

pub mod export;
pub mod file;
