//! m4 runs once per distinct input in a process. One `apply` used to run m4 33 times on a
//! Red Hat tree for 5 distinct mc texts (each step plans the cf of the mc before and after it,
//! and apply plans again before it writes): about 60 ms each, most of an apply's time.
//!
//! A result is reused only when everything m4 would read is the same: the m4 program (path,
//! inode, size, mtime), its arguments, the mc text handed to it, its directory, whether it runs
//! unprivileged, and the bytes of every file the mc (or the command line) names directly, read
//! again at each call (a named file that is not a regular file of at most 4 MiB, a FIFO or
//! /dev/zero in a hostile mc, turns the memo off for that run rather than be read).
//! Files those include in turn (the cf tree's own m4 files) are not read again: the wizard
//! writes none of them. For a long-lived process (the TUI, where an admin may upgrade the cf
//! tree between two plans) a result is kept for [`KEEP`] only.

use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a result is reused.
pub(super) const KEEP: Duration = Duration::from_secs(30);
/// At most this many results are kept (an apply has a handful of distinct texts).
const ENTRIES: usize = 16;
/// A named file larger than this is not read for the key (the run is not memoised).
const MAX_FILE: u64 = 4 << 20;

type Made = (Vec<u8>, Vec<String>);

struct Entry {
    key: [u8; 32],
    at: Instant,
    made: Made,
}

static MEMO: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// The key of one m4 run: a hash over every input, each field length-prefixed.
pub(super) struct Key(Sha256);

impl Key {
    pub(super) fn new(m4: &Path, args: &[String], dir: Option<&Path>, unprivileged: bool) -> Key {
        let mut k = Key(Sha256::new());
        k.field(m4.as_os_str().as_encoded_bytes());
        // The program itself: another m4 installed at the same path is another key.
        if let Ok(m) = std::fs::metadata(m4) {
            use std::os::unix::fs::MetadataExt;
            for n in [
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime() as u64,
                m.mtime_nsec() as u64,
            ] {
                k.field(&n.to_le_bytes());
            }
        }
        for a in args {
            k.field(a.as_bytes());
        }
        k.field(b"--");
        k.field(dir.map_or(&b""[..], |d| d.as_os_str().as_encoded_bytes()));
        k.field(&[u8::from(unprivileged)]);
        k
    }

    /// Bytes that decide the output: the mc text handed to m4, the root it is unrooted from.
    pub(super) fn part(mut self, bytes: &[u8]) -> Key {
        self.field(b"part");
        self.field(bytes);
        self
    }

    /// Adds a file m4 opens by name. `None` when it is not a regular file of at most
    /// [`MAX_FILE`] bytes (a FIFO, a device such as /dev/zero, something huge): such a run
    /// is not memoised, and m4 meets the file as it always did (under its time limit); the
    /// key never blocks on a FIFO nor reads without end.
    pub(super) fn file(mut self, path: &Path) -> Option<Key> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        self.field(b"file");
        self.field(path.as_os_str().as_encoded_bytes());
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(path);
        let f = match f {
            Ok(f) => f,
            Err(e) => {
                self.field(format!("unopenable {:?}", e.kind()).as_bytes());
                return Some(self);
            }
        };
        let m = f.metadata().ok()?;
        if !m.is_file() || m.len() > MAX_FILE {
            return None;
        }
        let mut b = Vec::with_capacity(m.len() as usize);
        f.take(MAX_FILE + 1).read_to_end(&mut b).ok()?;
        if b.len() as u64 > MAX_FILE {
            return None;
        }
        self.field(b"read");
        self.field(&b);
        Some(self)
    }

    fn field(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn done(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The result of an earlier run with the same key, if it is recent enough.
pub(super) fn get(key: Key) -> (Option<Made>, [u8; 32]) {
    let key = key.done();
    let memo = MEMO.lock().unwrap_or_else(|p| p.into_inner());
    let hit = memo
        .iter()
        .find(|e| e.key == key && e.at.elapsed() < KEEP)
        .map(|e| e.made.clone());
    (hit, key)
}

/// Keeps a successful run's result (failures run again: they may be passing conditions).
pub(super) fn put(key: [u8; 32], made: &Made) {
    let mut memo = MEMO.lock().unwrap_or_else(|p| p.into_inner());
    memo.retain(|e| e.key != key && e.at.elapsed() < KEEP);
    if memo.len() >= ENTRIES {
        memo.remove(0);
    }
    memo.push(Entry {
        key,
        at: Instant::now(),
        made: made.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dir: &Path, text: &str) -> Key {
        Key::new(Path::new("/usr/bin/m4"), &[], Some(dir), false)
            .part(text.as_bytes())
            .file(&dir.join("inc.m4"))
            .unwrap()
    }

    #[test]
    fn a_result_is_reused_only_for_the_same_text_and_the_same_included_bytes() {
        let d = tempfile::tempdir().unwrap();
        let made: Made = (b"V10/Berkeley\n".to_vec(), vec![]);
        let (hit, k) = get(key(d.path(), "one"));
        assert!(hit.is_none());
        put(k, &made);
        assert_eq!(get(key(d.path(), "one")).0, Some(made.clone()));
        assert!(get(key(d.path(), "two")).0.is_none(), "another text");
        // The included file appears: another key.
        std::fs::write(d.path().join("inc.m4"), "define(`x')").unwrap();
        assert!(get(key(d.path(), "one")).0.is_none(), "include now exists");
        let (_, k) = get(key(d.path(), "one"));
        put(k, &made);
        assert!(get(key(d.path(), "one")).0.is_some());
        // Its bytes change: another key.
        std::fs::write(d.path().join("inc.m4"), "define(`y')").unwrap();
        assert!(get(key(d.path(), "one")).0.is_none(), "include changed");
        // Another directory or privilege: another key.
        let other = Key::new(Path::new("/usr/bin/m4"), &[], Some(d.path()), true)
            .part(b"one")
            .file(&d.path().join("inc.m4"))
            .unwrap();
        assert!(get(other).0.is_none());
    }

    #[test]
    fn a_fifo_a_device_or_a_huge_file_is_not_read_and_not_memoised() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo.m4");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let k = || Key::new(Path::new("/usr/bin/m4"), &[], None, false);
        // Returns at once (O_NONBLOCK), without a writer on the FIFO.
        assert!(k().file(&fifo).is_none());
        assert!(k().file(Path::new("/dev/zero")).is_none());
        let huge = d.path().join("huge.m4");
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(MAX_FILE + 1).unwrap();
        assert!(k().file(&huge).is_none());
        // A missing file is a key (its appearing later makes another one).
        assert!(k().file(&d.path().join("missing.m4")).is_some());
    }
}
