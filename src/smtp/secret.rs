//! A password that cannot be printed by accident.
//!
//! `Secret` prints as `***` through `Debug` and `Display`, has no `Serialize`, and overwrites its
//! bytes when dropped (best effort: earlier copies made by the allocator on growth are out of
//! reach). The only way to the text is [`Secret::expose`], so every use is greppable.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Reads one line (without its `\n` or `\r\n`) from a descriptor the caller does not own
/// (`--password-fd N`): byte by byte, so nothing after the line is consumed, and the descriptor
/// is never closed (`--password-fd 1` must leave stdout open).
pub fn read_line_from_fd(fd: BorrowedFd<'_>) -> io::Result<Secret> {
    const MAX: usize = 4096;
    let mut buf: Vec<u8> = Vec::with_capacity(128);
    let res = loop {
        let mut b = [0u8; 1];
        let n = match nix::unistd::read(fd.as_raw_fd(), &mut b) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => break Err(io::Error::from(e)),
        };
        if n == 0 || b[0] == b'\n' {
            break Ok(());
        }
        if buf.len() >= MAX {
            break Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no end of line in the first {MAX} bytes"),
            ));
        }
        buf.push(b[0]);
    };
    if let Err(e) = res {
        buf.fill(0);
        return Err(e);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    match String::from_utf8(buf) {
        Ok(s) => Ok(Secret(s)),
        Err(e) => {
            let mut b = e.into_bytes();
            b.fill(0);
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the password is not UTF-8",
            ))
        }
    }
}

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text. Callers must not log or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Zeroes the whole allocation (spare capacity included) with volatile writes.
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// While a password is held: no core dump (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE
/// 0: no core, and other processes of the same user cannot ptrace it or read its
/// /proc/PID/mem). For the rest of the process, which ends after the probe. Errors are
/// returned so the caller can say the password is less protected than intended.
pub fn protect_memory() -> Result<(), String> {
    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
        .map_err(|e| format!("cannot turn off core dumps: {e}"))?;
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| format!("cannot make the process undumpable: {e}"))
}

/// Reads the password from environment variable `var` and removes the variable, so child
/// processes and /proc/PID/environ readers after this point do not see it. Call it before any
/// thread is started (std's `remove_var` is not safe against a concurrent `getenv`).
pub fn take_from_env(var: &str) -> Result<Secret, String> {
    let v = std::env::var_os(var)
        .ok_or_else(|| format!("--password-env {var}: no such environment variable"))?;
    // The value also sits in the process's initial environment block, which removing the
    // variable does not erase and /proc/PID/environ still shows: overwrite it in place first.
    if let Ok(name) = std::ffi::CString::new(var) {
        // SAFETY: single-threaded here (see above); getenv returns the variable's own bytes
        // (NUL-terminated, writable: the initial stack block or setenv's heap copy), and
        // exactly strlen of them are zeroed. No safe API reaches the initial environment block.
        #[allow(unsafe_code)]
        unsafe {
            let p = libc::getenv(name.as_ptr());
            if !p.is_null() {
                std::ptr::write_bytes(p, 0, libc::strlen(p));
            }
        }
    }
    std::env::remove_var(var);
    let s = v
        .into_string()
        .map_err(|_| format!("--password-env {var}: the value is not UTF-8"))?;
    Ok(Secret(s))
}

#[cfg(test)]
mod tests {
    #[test]
    fn protected_memory_is_undumpable_and_without_core() {
        super::protect_memory().unwrap();
        assert!(!nix::sys::prctl::get_dumpable().unwrap());
        let r = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!(r, (0, 0));
    }

    #[test]
    fn a_password_variable_is_taken_and_removed() {
        std::env::set_var("SMTPAUTH_SECRET_UNIT_PW", "pw-in-env");
        let s = super::take_from_env("SMTPAUTH_SECRET_UNIT_PW").unwrap();
        assert_eq!(s.expose(), "pw-in-env");
        assert!(std::env::var_os("SMTPAUTH_SECRET_UNIT_PW").is_none());
        assert!(super::take_from_env("SMTPAUTH_SECRET_UNIT_PW")
            .unwrap_err()
            .contains("no such environment variable"));
    }

    use super::*;

    #[test]
    fn prints_stars_only() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn reads_one_line_from_a_borrowed_fd_and_leaves_it_open() {
        use std::io::{Read, Write};
        use std::os::fd::AsFd;
        for (input, want, rest) in [
            ("hunter2\nnext line\n", "hunter2", "next line\n"),
            ("crlf pw\r\nx", "crlf pw", "x"),
            ("no newline", "no newline", ""),
            ("\nafter empty", "", "after empty"),
        ] {
            let (mut r, mut w) = std::io::pipe().unwrap();
            w.write_all(input.as_bytes()).unwrap();
            drop(w);
            let s = read_line_from_fd(r.as_fd()).unwrap();
            assert_eq!(s.expose(), want);
            // Still open, and only the line was consumed.
            let mut left = String::new();
            r.read_to_string(&mut left).unwrap();
            assert_eq!(left, rest);
        }
    }
}
