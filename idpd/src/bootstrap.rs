//! First start and every start: data dir, master key, and the first admin token.
//!
//! A master key is generated only for a database that has never had one. If the database
//! knows a key id and the file is missing or holds another key, start-up stops with an
//! error: a silent new key would make every secret sealed under the old one unreadable.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::Config;
use crate::crypto::{self, MasterKey};
use crate::domain::admin_tokens;
use crate::store::Store;

const META_MASTER_KEY_ID: &str = "master_key_id";

/// Creates the data directory (0700) if needed.
pub fn data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    if !dir.exists() {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict data directory {}", dir.display()))?;
        tracing::info!(path = %dir.display(), "created data directory");
    }
    Ok(())
}

/// Loads the master key and checks it against the database, or creates both on first start.
pub async fn master_key(config: &Config, store: &dyn Store) -> anyhow::Result<MasterKey> {
    let path = &config.master_key_file;
    let known = store.get_meta(META_MASTER_KEY_ID).await?;
    let key = match read_key_file(path)? {
        Some(key) => key,
        None => {
            if let Some(id) = known {
                bail!(
                    "master key file {} is missing, but this database was initialized with \
                     master key {id}; restore that file (a new key would make the stored \
                     secrets unreadable)",
                    path.display()
                );
            }
            let bytes = crypto::random_bytes::<32>();
            write_secret_file(
                path,
                format!("{}\n", URL_SAFE_NO_PAD.encode(bytes)).as_bytes(),
            )
            .with_context(|| format!("cannot write master key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new master key");
            MasterKey::from_bytes(&bytes)
        }
    };
    // First writer wins; an instance that raced with another key learns it here.
    let stored = store.init_meta(META_MASTER_KEY_ID, key.id()).await?;
    if stored != key.id() {
        bail!(
            "master key file {} holds key {}, but this database was initialized with master \
             key {stored}; point --master-key-file at the right file",
            path.display(),
            key.id()
        );
    }
    Ok(key)
}

/// On the very first start of a database, mints an admin token and writes it to
/// `<data_dir>/admin-token` (0600). Returns the file's path when it did.
pub async fn first_admin_token(
    config: &Config,
    store: &dyn Store,
) -> anyhow::Result<Option<PathBuf>> {
    let (secret, record) = admin_tokens::mint("bootstrap", None);
    if !store.insert_bootstrap_admin_token(&record).await? {
        return Ok(None);
    }
    let path = config.data_dir.join("admin-token");
    write_secret_file(&path, format!("{secret}\n").as_bytes()).with_context(|| {
        format!(
            "cannot write the first admin token to {}; mint another with `idpd admin-token create`",
            path.display()
        )
    })?;
    Ok(Some(path))
}

/// The key file holds 32 raw bytes, or their base64url / hex text.
fn read_key_file(path: &Path) -> anyhow::Result<Option<MasterKey>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read master key file {}", path.display()));
        }
    };
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "master key file is readable by group or others; chmod 600 it");
    }
    let key: [u8; 32] = if bytes.len() == 32 {
        bytes.try_into().expect("length checked")
    } else {
        let text = std::str::from_utf8(&bytes).unwrap_or("").trim();
        let decoded = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .ok()
            .or_else(|| decode_hex(text));
        match decoded.and_then(|d| <[u8; 32]>::try_from(d).ok()) {
            Some(k) => k,
            None => bail!(
                "master key file {} must hold 32 bytes (raw, base64url or hex)",
                path.display()
            ),
        }
    };
    Ok(Some(MasterKey::from_bytes(&key)))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Writes a new file readable only by its owner; never overwrites an existing one.
fn write_secret_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}
