//! The journal's seal: HMAC-SHA256 (RFC 2104) of the journal's text under a 32-byte random key
//! that lives outside every `--root` tree, in the state directory of the user who runs the
//! wizard: as root `/var/lib/smtpauth-wizard/journal.key` on this machine, otherwise
//! `$XDG_STATE_HOME/smtpauth-wizard/journal.key` (`~/.local/state/...`, the home being `$HOME`
//! when it is the user's own, else the passwd entry's; `/var/tmp/smtpauth-wizard-UID/` for a
//! user without a home of their own). The key file is 0600
//! in a 0700 directory, both owned by the effective uid, so a user who can write a `--root`
//! tree (and so its journal) cannot compute a seal: a forged or edited journal is refused
//! before it is parsed, and rollback never acts on it.
//!
//! `SMTPAUTH_WIZARD_JOURNAL_KEY=FILE` names another key file (tests use it; it is read and
//! created under the same rules).
//!
//! HMAC is written out here over `sha2` (which the program has): the construction is ten
//! lines, and it is tested against RFC 4231's vectors below.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The environment variable that names the key file instead of the default place.
pub const KEY_ENV: &str = "SMTPAUTH_WIZARD_JOURNAL_KEY";

const KEY_LEN: usize = 32;

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hmac_sha256(key, msg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `hex` is the seal of `msg`, compared in constant time.
pub fn verify_hex(key: &[u8], msg: &[u8], hex: &str) -> bool {
    let want = hmac_sha256_hex(key, msg);
    want.len() == hex.len()
        && want
            .bytes()
            .zip(hex.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Where this user's journal key is (it may not exist yet).
pub fn key_path() -> io::Result<PathBuf> {
    if let Some(p) = std::env::var_os(KEY_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if nix::unistd::geteuid().is_root() {
        return Ok(PathBuf::from("/var/lib/smtpauth-wizard/journal.key"));
    }
    let euid = nix::unistd::geteuid();
    if let Some(p) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from) {
        if p.is_absolute() {
            return Ok(p.join("smtpauth-wizard/journal.key"));
        }
    }
    // $HOME only when it is this user's (`setpriv`/`su` without a login keep root's), else
    // the home directory of the user's passwd entry.
    let own = |h: &Path| fs::metadata(h).is_ok_and(|m| m.is_dir() && m.uid() == euid.as_raw());
    let homes = std::env::var_os("HOME")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            nix::unistd::User::from_uid(euid)
                .ok()
                .flatten()
                .map(|u| u.dir),
        );
    for h in homes {
        if h.is_absolute() && own(&h) {
            return Ok(h.join(".local/state/smtpauth-wizard/journal.key"));
        }
    }
    // A user without a home of their own (nobody): a directory of theirs in /var/tmp (sticky:
    // nobody else can replace it; one somebody else made there is refused by its owner).
    Ok(PathBuf::from(format!(
        "/var/tmp/smtpauth-wizard-{}/journal.key",
        euid.as_raw()
    )))
}

/// This user's journal key, created (32 random bytes, 0600, directory 0700) when there is none.
pub fn key() -> io::Result<Vec<u8>> {
    let path = key_path()?;
    if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
        // Whoever could write the key's directory could put a key of their own there.
        super::secure_state_dir(dir)?;
    }
    match read_key(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_key(&path)?;
            read_key(&path)
        }
        r => r,
    }
}

fn bad(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("journal key {}: {why}", path.display()),
    )
}

/// Reads the key: a regular file (not a link), owned by the effective uid, readable by nobody
/// else, holding 64 hex digits.
fn read_key(path: &Path) -> io::Result<Vec<u8>> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                bad(
                    path,
                    "is a symbolic link; the key must be a file of its own".into(),
                )
            } else {
                io::Error::new(e.kind(), format!("journal key {}: {e}", path.display()))
            }
        })?;
    let md = f.metadata()?;
    let euid = nix::unistd::geteuid().as_raw();
    if !md.is_file() {
        return Err(bad(path, "is not a regular file".into()));
    }
    if md.uid() != euid {
        return Err(bad(
            path,
            format!(
                "belongs to uid {}, not to uid {euid} who runs the wizard: whoever owns it can \
                 forge journals; remove it (a new key is made; journals sealed with the old one \
                 are then refused)",
                md.uid()
            ),
        ));
    }
    if md.mode() & 0o077 != 0 {
        return Err(bad(
            path,
            format!(
                "has mode {:o}: other users could read it and forge journals; `chmod 600` it \
                 if nobody did, or remove it",
                md.mode() & 0o7777
            ),
        ));
    }
    let mut text = String::new();
    (&mut f).take(256).read_to_string(&mut text)?;
    let hex = text.trim();
    if hex.len() != KEY_LEN * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(path, format!("is not {KEY_LEN} bytes in hex")));
    }
    Ok((0..KEY_LEN)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect())
}

/// Makes a new key beside `path` and links it into place, so that two wizards starting at once
/// end with one key (the second link fails, and its maker reads the first).
fn create_key(path: &Path) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        fs::create_dir_all(dir).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display()))
        })?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    super::secure_state_dir(dir)?;
    let mut key = [0u8; KEY_LEN];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read /dev/urandom: {e}")))?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp = tempfile::Builder::new()
        .prefix(".journal.key.")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.as_file_mut().write_all(format!("{hex}\n").as_bytes())?;
    tmp.as_file().sync_all()?;
    match fs::hard_link(tmp.path(), path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot create the journal key {}: {e}", path.display()),
            ))
        }
    }
    drop(tmp);
    super::super::fsops::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert!(verify_hex(
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ));
        assert!(!verify_hex(
            b"Jefe",
            b"what do ya want for nothing!",
            "5bdc"
        ));
    }
}
