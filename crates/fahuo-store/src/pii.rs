//! Encryption of receiver PII and shop credentials at rest (AES-256-GCM), and keyed hashes
//! (HMAC-SHA256) for exact lookups of encrypted values such as "phone ends with 5678".
//!
//! Ciphertext layout: `key_id (1 byte) ‖ nonce (12 bytes) ‖ ciphertext+tag`. The key id lets
//! keys rotate: new writes use the active key, old rows still decrypt with their own key.
//!
//! The key file lives in the data directory with mode 0600, in a small text format:
//!
//! ```text
//! active = 1
//! key.1 = <64 hex digits>
//! hash = <64 hex digits>
//! ```

use crate::{Result, StoreError};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::Path;

const NONCE_LEN: usize = 12;

/// The PII keys of one installation. `Debug` never shows key material.
#[derive(Clone)]
pub struct Keyring {
    active: u8,
    keys: BTreeMap<u8, [u8; 32]>,
    hash_key: [u8; 32],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A random token encoded as hex, for session ids, CSRF tokens and API tokens.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

/// SHA-256 of a bearer secret (session id, API token). The database keeps only this hash, so
/// a leaked database does not leak live sessions.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Keyring {
    /// A new keyring with one fresh encryption key (id 1) and a fresh hash key.
    pub fn generate() -> Keyring {
        Keyring {
            active: 1,
            keys: BTreeMap::from([(1, random_bytes())]),
            hash_key: random_bytes(),
        }
    }

    /// Adds a new encryption key and makes it the active one; old keys stay for decryption.
    pub fn rotate(&mut self) -> u8 {
        let next = self
            .keys
            .keys()
            .max()
            .copied()
            .unwrap_or(0)
            .wrapping_add(1)
            .max(1);
        self.keys.insert(next, random_bytes());
        self.active = next;
        next
    }

    pub fn active_key_id(&self) -> u8 {
        self.active
    }

    /// Reads the key file, or creates it (mode 0600) with fresh keys if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Keyring> {
        match std::fs::read_to_string(path) {
            Ok(text) => Keyring::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keyring = Keyring::generate();
                keyring.write_new(path)?;
                Ok(keyring)
            }
            Err(e) => Err(StoreError::Config(format!(
                "cannot read PII key file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes the keyring to a file that must not exist yet, readable by the owner only.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(path).map_err(|e| {
            StoreError::Config(format!(
                "cannot create PII key file {}: {e}",
                path.display()
            ))
        })?;
        file.write_all(self.to_text().as_bytes())
            .map_err(|e| StoreError::Config(format!("cannot write PII key file: {e}")))
    }

    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# fahuo PII keys. Keep this file secret and backed up: without it, stored\n\
             # receivers and shop credentials cannot be read.\n",
        );
        out.push_str(&format!("active = {}\n", self.active));
        for (id, key) in &self.keys {
            out.push_str(&format!("key.{id} = {}\n", hex::encode(key)));
        }
        out.push_str(&format!("hash = {}\n", hex::encode(self.hash_key)));
        out
    }

    pub fn parse(text: &str) -> Result<Keyring> {
        let bad = |why: String| StoreError::Config(format!("PII key file: {why}"));
        let hex32 = |v: &str| -> Result<[u8; 32]> {
            let bytes = hex::decode(v.trim()).map_err(|e| bad(format!("not hex: {e}")))?;
            bytes
                .try_into()
                .map_err(|_| bad("a key must be 32 bytes (64 hex digits)".into()))
        };
        let (mut active, mut keys, mut hash_key) = (None, BTreeMap::new(), None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("expected name = value, got {line:?}")))?;
            let name = name.trim();
            if name == "active" {
                active = Some(value.trim().parse::<u8>().map_err(|e| bad(e.to_string()))?);
            } else if name == "hash" {
                hash_key = Some(hex32(value)?);
            } else if let Some(id) = name.strip_prefix("key.") {
                let id = id.parse::<u8>().map_err(|e| bad(format!("key id: {e}")))?;
                keys.insert(id, hex32(value)?);
            } else {
                return Err(bad(format!("unknown entry {name:?}")));
            }
        }
        let active = active.ok_or_else(|| bad("missing `active`".into()))?;
        if !keys.contains_key(&active) {
            return Err(bad(format!("active key {active} is not in the file")));
        }
        Ok(Keyring {
            active,
            keys,
            hash_key: hash_key.ok_or_else(|| bad("missing `hash`".into()))?,
        })
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let key = &self.keys[&self.active];
        let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(self.active);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        if data.len() < 1 + NONCE_LEN + 16 {
            return Err(StoreError::Crypto("ciphertext too short".into()));
        }
        let key = self
            .keys
            .get(&data[0])
            .ok_or_else(|| StoreError::Crypto(format!("unknown key id {}", data[0])))?;
        let cipher = Aes256Gcm::new_from_slice(key).expect("32-byte key");
        let nonce_bytes: [u8; NONCE_LEN] =
            data[1..1 + NONCE_LEN].try_into().expect("checked length");
        cipher
            .decrypt(&Nonce::from(nonce_bytes), &data[1 + NONCE_LEN..])
            .map_err(|_| StoreError::Crypto("ciphertext does not authenticate".into()))
    }

    pub fn encrypt_json<T: serde::Serialize>(&self, value: &T) -> Vec<u8> {
        self.encrypt(&serde_json::to_vec(value).expect("serialisable value"))
    }

    pub fn decrypt_json<T: serde::de::DeserializeOwned>(&self, data: &[u8]) -> Result<T> {
        serde_json::from_slice(&self.decrypt(data)?)
            .map_err(|e| StoreError::Corrupt(format!("decrypted value: {e}")))
    }

    /// A keyed hash for exact-match lookup. `purpose` separates namespaces, so that the hash
    /// of a phone tail can never be compared with the hash of something else.
    pub fn lookup_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.hash_key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_text_round_trips_and_hides_the_plaintext() {
        let keys = Keyring::generate();
        let sealed = keys.encrypt("13812345678".as_bytes());
        assert!(!sealed.windows(11).any(|w| w == b"13812345678"));
        assert_eq!(keys.decrypt(&sealed).unwrap(), b"13812345678");
        assert_ne!(
            sealed,
            keys.encrypt(b"13812345678"),
            "a fresh nonce every time"
        );
    }

    #[test]
    fn tampered_or_foreign_ciphertext_is_refused() {
        let keys = Keyring::generate();
        let mut sealed = keys.encrypt(b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(keys.decrypt(&sealed).is_err());
        assert!(Keyring::generate().decrypt(&keys.encrypt(b"x")).is_err());
        assert!(keys.decrypt(b"short").is_err());
    }

    #[test]
    fn rotation_keeps_old_rows_readable() {
        let mut keys = Keyring::generate();
        let old = keys.encrypt(b"old");
        assert_eq!(keys.rotate(), 2);
        let new = keys.encrypt(b"new");
        assert_eq!(new[0], 2);
        assert_eq!(keys.decrypt(&old).unwrap(), b"old");
        let reloaded = Keyring::parse(&keys.to_text()).unwrap();
        assert_eq!(reloaded.decrypt(&new).unwrap(), b"new");
        assert_eq!(reloaded.lookup_hash("p", "v"), keys.lookup_hash("p", "v"));
    }

    #[test]
    fn the_key_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pii.key");
        let first = Keyring::load_or_create(&path).unwrap();
        let again = Keyring::load_or_create(&path).unwrap();
        assert_eq!(again.decrypt(&first.encrypt(b"x")).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_key_files_get_a_clear_error() {
        for text in [
            "",
            "active = 1",
            "active = 1\nkey.1 = zz\nhash = 00",
            "what",
        ] {
            let err = Keyring::parse(text).unwrap_err().to_string();
            assert!(err.contains("PII key file"), "{err}");
        }
    }

    #[test]
    fn lookup_hashes_are_keyed_and_separated_by_purpose() {
        let keys = Keyring::generate();
        assert_eq!(
            keys.lookup_hash("phone_tail", "5678"),
            keys.lookup_hash("phone_tail", "5678")
        );
        assert_ne!(
            keys.lookup_hash("phone_tail", "5678"),
            keys.lookup_hash("name", "5678")
        );
        assert_ne!(
            keys.lookup_hash("phone_tail", "5678"),
            Keyring::generate().lookup_hash("phone_tail", "5678")
        );
    }
}
