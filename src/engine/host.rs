//! Running the real tools (m4, sendmail, dpkg-query/rpm, makemap, service managers) and asking
//! the operating system. Tools are found with `which` (falling back to /usr/sbin and /sbin,
//! which a `su` without `-` leaves out of PATH), run with `duct`, always with a time limit, and
//! their exit status and stderr are returned for the caller to check and show.

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Default time limit for one tool run.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub argv: Vec<String>,
    /// Exit status; `None` when killed by a signal or by our time limit.
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl ToolOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0) && !self.timed_out
    }

    /// `m4 /etc/mail/sendmail.mc` (exit 1): ERROR: end of file in string
    pub fn describe(&self) -> String {
        let st = match (self.timed_out, self.status) {
            (true, _) => format!(
                "did not finish within {} s and was stopped",
                self.elapsed.as_secs()
            ),
            (false, Some(c)) => format!("exit status {c}"),
            (false, None) => "killed by a signal".to_string(),
        };
        let err = self.stderr.trim();
        if err.is_empty() {
            format!("`{}` ({st})", self.argv.join(" "))
        } else {
            format!("`{}` ({st}): {err}", self.argv.join(" "))
        }
    }
}

/// The directories tools are taken from when running as root, and the PATH every child gets.
/// Root never looks a tool up on the PATH it inherited: a planted `m4` in a directory a user can
/// write (or in `.`, or through an empty entry) would otherwise run as root. This is the HOWTO's
/// `su` without `-`.
pub const TRUSTED_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Finds a tool: as root only in [`TRUSTED_PATH`]; otherwise on PATH, then in the system
/// directories a non-login root shell may lack. A name with a `/` (a profile's absolute path)
/// is taken as it is.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    find_tool_as(name, euid() == 0)
}

fn find_tool_as(name: &str, root: bool) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return (p.is_absolute() && p.exists()).then_some(p);
    }
    let trusted = || {
        TRUSTED_PATH
            .split(':')
            .map(|d| PathBuf::from(d).join(name))
            .find(|p| is_executable(p))
    };
    if root {
        return trusted();
    }
    which::which(name).ok().or_else(trusted)
}

fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// What is wrong with each entry of a PATH for root: relative (including `.`), empty (the
/// current directory), missing, or a directory (or a parent of it) that other users can write
/// without the sticky bit. One text per problem entry.
pub fn unsafe_path_entries(path: &str) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = vec![];
    for (i, e) in path.split(':').enumerate() {
        if e.is_empty() {
            out.push(format!(
                "entry {} is empty, which means the current directory",
                i + 1
            ));
            continue;
        }
        if !e.starts_with('/') {
            out.push(format!(
                "{e:?} is relative (to whatever directory you are in)"
            ));
            continue;
        }
        let mut p = std::path::Path::new(e);
        if !p.exists() {
            out.push(format!(
                "{e} does not exist (anyone who can create it decides what runs)"
            ));
            continue;
        }
        loop {
            if let Ok(m) = std::fs::metadata(p) {
                let mode = m.mode();
                if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                    out.push(format!(
                        "{e} can be written by other users ({} has mode {:o}, owner uid {})",
                        p.display(),
                        mode & 0o7777,
                        m.uid()
                    ));
                    break;
                }
                if m.uid() != 0 && euid() == 0 {
                    out.push(format!(
                        "{e} is not root's ({} belongs to uid {})",
                        p.display(),
                        m.uid()
                    ));
                    break;
                }
            }
            match p.parent() {
                Some(q) => p = q,
                None => break,
            }
        }
    }
    out
}

/// Runs a program with a time limit. `Err` only when it cannot be started at all.
pub fn run(
    program: &std::path::Path,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<ToolOutput, String> {
    run_in(program, args, stdin, timeout, None)
}

/// [`run`] in a working directory.
pub fn run_in(
    program: &std::path::Path,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
    cwd: Option<&std::path::Path>,
) -> Result<ToolOutput, String> {
    run_as(program, args, stdin, timeout, cwd, None)
}

/// [`run_in`], inside a [`Sandbox`] when one is given: the child then runs as the sandbox's
/// unprivileged user and group (no supplementary groups: std drops root's with `setgroups(0)`
/// when it changes the uid of a child of root), in the sandbox's private directory (which
/// replaces `cwd`), with the same clean environment.
pub fn run_as(
    program: &std::path::Path,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
    cwd: Option<&std::path::Path>,
    sandbox: Option<&Sandbox>,
) -> Result<ToolOutput, String> {
    let mut argv = vec![program.display().to_string()];
    argv.extend(args.iter().cloned());
    // A clean environment: a fixed PATH, the C locale (tool messages we read are English),
    // and nothing else of the caller's (M4PATH would make m4 read files from elsewhere).
    let mut e = duct::cmd(program, args)
        .full_env([("PATH", TRUSTED_PATH), ("LC_ALL", "C")])
        .stdout_capture()
        .stderr_capture()
        .unchecked();
    match sandbox {
        Some(s) => {
            let (uid, gid) = (s.uid, s.gid);
            e = e.dir(s.dir()).before_spawn(move |c| {
                use std::os::unix::process::CommandExt;
                c.uid(uid).gid(gid);
                Ok(())
            });
        }
        None => {
            if let Some(d) = cwd {
                e = e.dir(d);
            }
        }
    }
    e = match stdin {
        Some(b) => e.stdin_bytes(b.to_vec()),
        None => e.stdin_null(),
    };
    let start = Instant::now();
    let h = e
        .start()
        .map_err(|err| format!("cannot run `{}`: {err}", argv.join(" ")))?;
    match h.wait_timeout(timeout) {
        Ok(Some(out)) => Ok(ToolOutput {
            argv,
            status: out.status.code(),
            stdout: out.stdout.clone(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
            timed_out: false,
            elapsed: start.elapsed(),
        }),
        Ok(None) => {
            let _ = h.kill();
            Ok(ToolOutput {
                argv,
                status: None,
                stdout: vec![],
                stderr: String::new(),
                timed_out: true,
                elapsed: start.elapsed(),
            })
        }
        Err(err) => Err(format!("`{}` failed: {err}", argv.join(" "))),
    }
}

/// The uid and gid that tree content runs as when the tree is not root's own: the user
/// `nobody` (by name), else 65534, the overflow uid every Linux has.
pub fn unprivileged_user() -> (u32, u32) {
    match nix::unistd::User::from_name("nobody") {
        Ok(Some(u)) if u.uid.as_raw() != 0 => (u.uid.as_raw(), u.gid.as_raw()),
        _ => (65534, 65534),
    }
}

/// A private place to run a tool from another user's tree: a fresh directory (mode 0700,
/// owned by the unprivileged user), removed when the sandbox is dropped. Tools run in it as
/// that user (see [`run_as`]), so an m4 `syscmd` or a planted script in the tree can write
/// nowhere root owns.
pub struct Sandbox {
    pub uid: u32,
    pub gid: u32,
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Result<Sandbox, String> {
        let (uid, gid) = unprivileged_user();
        Sandbox::for_user(uid, gid)
    }

    pub fn for_user(uid: u32, gid: u32) -> Result<Sandbox, String> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("smtpauth-wizard-m4-")
            .tempdir()
            .map_err(|e| format!("cannot make a private directory for m4: {e}"))?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .and_then(|_| std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)))
            .map_err(|e| {
                format!(
                    "cannot give the private directory {} to uid {uid}: {e}",
                    dir.path().display()
                )
            })?;
        Ok(Sandbox { uid, gid, dir })
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Puts a copy of `bytes` in the sandbox as a file its user can read (for a file root
    /// made, such as a candidate sendmail.cf, that the unprivileged tool must read).
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.dir().join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .and_then(|mut f| f.write_all(bytes))
            .and_then(|_| std::os::unix::fs::chown(&p, Some(self.uid), Some(self.gid)))
            .map_err(|e| format!("cannot copy {name} into {}: {e}", self.dir().display()))?;
        Ok(p)
    }
}

/// The system accounts sendmail's packages give /etc/mail and its files to.
pub const SENDMAIL_ACCOUNTS: [&str; 3] = ["smmta", "smmsp", "mailnull"];

/// Why root should not run what lies at these paths with its own privileges, or `None`: a
/// path (or a directory above it) that belongs to a user other than root, us and sendmail's
/// own accounts ([`SENDMAIL_ACCOUNTS`]), or that
/// group or others can write (without the sticky bit). Not root: always `None` (a user's own
/// tree decides only what that user can do). Missing paths are skipped.
pub fn foreign_paths(paths: &[PathBuf]) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if euid() != 0 {
        return None;
    }
    let me = euid();
    // sendmail's own system accounts own /etc/mail on Debian (smmta) and files in it
    // elsewhere (smmsp, mailnull): whoever controls them controls the MTA already.
    let mail_accounts: Vec<u32> = SENDMAIL_ACCOUNTS
        .iter()
        .filter_map(|n| nix::unistd::User::from_name(n).ok().flatten())
        .map(|u| u.uid.as_raw())
        .collect();
    let trusted = |uid: u32| uid == 0 || uid == me || mail_accounts.contains(&uid);
    let mut why = vec![];
    for p in paths {
        let Ok(abs) = std::fs::canonicalize(p) else {
            continue;
        };
        let mut at = Some(abs.as_path());
        while let Some(d) = at {
            if let Ok(m) = std::fs::metadata(d) {
                let open = m.mode() & 0o022 != 0 && (m.mode() & 0o1000 == 0 || !m.is_dir());
                if !trusted(m.uid()) {
                    why.push(format!("{} belongs to uid {}", d.display(), m.uid()));
                    break;
                }
                if open {
                    why.push(format!(
                        "{} can be written by other users (mode {:o})",
                        d.display(),
                        m.mode() & 0o7777
                    ));
                    break;
                }
            }
            at = d.parent();
        }
    }
    why.sort();
    why.dedup();
    (!why.is_empty()).then(|| why.join("; "))
}

/// Runs a tool found by name. `Err` says which tool is missing.
pub fn run_tool(
    name: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<ToolOutput, String> {
    let p = find_tool(name).ok_or_else(|| {
        if euid() == 0 {
            format!("`{name}` is not installed (looked in {TRUSTED_PATH}; as root the wizard does not search the PATH it was given)")
        } else {
            format!("`{name}` is not installed (not on PATH, nor in /usr/sbin or /sbin)")
        }
    })?;
    run(&p, args, stdin, timeout)
}

pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// Whether sendmail can fully qualify `name` from a hosts file, the way its startup code asks
/// (the canonical name or an alias with a dot). sendmail sleeps 60 s at every start, `-bv` and
/// `-bt` included, when it cannot (FACTS.md). DNS is not consulted: a server that relies on DNS
/// for its own name gets a warning it can dismiss, never a one-minute hang in a validation.
pub fn qualified_name(name: &str, hosts: &str) -> Option<String> {
    if name.contains('.') {
        return Some(name.to_string());
    }
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut it = line.split_whitespace();
        if it.next().is_none() {
            continue;
        }
        let names: Vec<&str> = it.collect();
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            // gethostbyname returns the first matching line only.
            return names
                .iter()
                .find(|n| {
                    n.contains('.')
                        && n.to_ascii_lowercase()
                            .starts_with(&format!("{}.", name.to_ascii_lowercase()))
                })
                .or_else(|| names.iter().find(|n| n.contains('.')))
                .map(|s| s.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_qualified_like_sendmail_does() {
        let h = "127.0.0.1 localhost\n127.0.0.1 vm\n";
        assert_eq!(qualified_name("vm", h), None);
        let h = "127.0.0.1 mailsrv.example.test mailsrv\n";
        assert_eq!(
            qualified_name("mailsrv", h).as_deref(),
            Some("mailsrv.example.test")
        );
        assert_eq!(qualified_name("a.b", "").as_deref(), Some("a.b"));
    }

    #[test]
    fn a_sandboxed_tool_runs_unprivileged_in_its_own_directory() {
        if euid() != 0 {
            return; // only root can change a child's uid; the CLI tests run as root
        }
        let sb = Sandbox::new().unwrap();
        let sh = find_tool("sh").unwrap();
        let script = "id -u; id -g; id -G; pwd; env | sort; touch /root/.smtpauth-sandbox-test";
        let out = run_as(
            &sh,
            &["-c".into(), script.into()],
            None,
            TOOL_TIMEOUT,
            Some(std::path::Path::new("/")),
            Some(&sb),
        )
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], sb.uid.to_string(), "{text}");
        assert_eq!(lines[1], sb.gid.to_string(), "{text}");
        // No supplementary group of root's is kept.
        assert_eq!(lines[2], sb.gid.to_string(), "{text}");
        assert_eq!(lines[3], sb.dir().display().to_string());
        assert!(text.contains("LC_ALL=C") && text.contains(&format!("PATH={TRUSTED_PATH}")));
        assert!(!text.contains("HOME=") && !text.contains("CARGO"), "{text}");
        assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
        assert!(!std::path::Path::new("/root/.smtpauth-sandbox-test").exists());
        let copy = sb.put("x.cf", b"V10\n").unwrap();
        let out = run_as(
            &sh,
            &["-c".into(), format!("cat {}", copy.display())],
            None,
            TOOL_TIMEOUT,
            None,
            Some(&sb),
        )
        .unwrap();
        assert_eq!(out.stdout, b"V10\n");
        let dir = sb.dir().to_path_buf();
        drop(sb);
        assert!(!dir.exists());
    }

    #[test]
    fn paths_root_does_not_own_are_foreign() {
        if euid() != 0 {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("mc");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(foreign_paths(&[f.clone(), t.path().to_path_buf()]), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o646)).unwrap();
        assert!(foreign_paths(std::slice::from_ref(&f))
            .unwrap()
            .contains("written by other users"));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::chown(t.path(), Some(65534), None).unwrap();
        assert!(foreign_paths(std::slice::from_ref(&f))
            .unwrap()
            .contains("uid 65534"));
        // Debian gives /etc/mail to smmta: that is sendmail's own, not a stranger's.
        for name in SENDMAIL_ACCOUNTS {
            if let Ok(Some(u)) = nix::unistd::User::from_name(name) {
                std::os::unix::fs::chown(t.path(), Some(u.uid.as_raw()), None).unwrap();
                assert_eq!(foreign_paths(std::slice::from_ref(&f)), None, "{name}");
            }
        }
        // /tmp itself (sticky, world-writable) is not a reason; a missing path is skipped.
        assert_eq!(
            foreign_paths(&[std::env::temp_dir(), "/nonexistent/x".into()]),
            None
        );
    }

    #[test]
    fn a_hanging_tool_is_stopped_at_the_time_limit() {
        let out = run_tool("sleep", &["5".into()], None, Duration::from_millis(200)).unwrap();
        assert!(out.timed_out && !out.success());
        assert!(out.describe().contains("did not finish"));
        let e = run_tool("no-such-tool-xyz", &[], None, TOOL_TIMEOUT).unwrap_err();
        assert!(e.contains("not installed"));
    }
}

/// Asking the running system about processes and sockets (for the live steps). Reads /proc only.
pub mod live {
    use std::path::Path;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    /// A listening TCP socket.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Listener {
        pub addr: String,
        pub port: u16,
        pub loopback: bool,
        /// The socket's inode, to tell which process owns it.
        pub inode: u64,
    }

    fn parse_v4(hex: &str) -> Option<(String, bool)> {
        let n = u32::from_str_radix(hex, 16).ok()?;
        let b = n.to_le_bytes();
        Some((format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]), b[0] == 127))
    }

    fn parse_v6(hex: &str) -> Option<(String, bool)> {
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for w in 0..4 {
            let n = u32::from_str_radix(&hex[w * 8..w * 8 + 8], 16).ok()?;
            bytes[w * 4..w * 4 + 4].copy_from_slice(&n.to_le_bytes());
        }
        let ip = std::net::Ipv6Addr::from(bytes);
        let lo = ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
        Some((ip.to_string(), lo))
    }

    /// Listening sockets from the text of /proc/net/tcp or /proc/net/tcp6.
    pub fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<Listener> {
        text.lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.len() < 4 || f[3] != "0A" {
                    return None;
                }
                let (a, p) = f[1].split_once(':')?;
                let port = u16::from_str_radix(p, 16).ok()?;
                let (addr, loopback) = if v6 { parse_v6(a)? } else { parse_v4(a)? };
                let inode = f.get(9).and_then(|i| i.parse().ok()).unwrap_or(0);
                Some(Listener {
                    addr,
                    port,
                    loopback,
                    inode,
                })
            })
            .collect()
    }

    pub fn listeners(port: u16) -> Vec<Listener> {
        let mut v = vec![];
        for (f, six) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
            if let Ok(t) = std::fs::read_to_string(f) {
                v.extend(
                    parse_proc_net_tcp(&t, six)
                        .into_iter()
                        .filter(|l| l.port == port),
                );
            }
        }
        v
    }

    /// Socket inodes a process holds open (`/proc/PID/fd/* -> socket:[INODE]`).
    pub fn socket_inodes(pid: i32) -> Vec<u64> {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter_map(|l| {
                let l = l.to_string_lossy().to_string();
                l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
            })
            .collect()
    }

    pub fn pid_alive(pid: i32) -> bool {
        pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
    }

    pub fn read_pidfile(path: &Path) -> Option<i32> {
        std::fs::read_to_string(path)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Pids whose /proc/PID/comm is one of `names`.
    pub fn find_processes(names: &[String]) -> Vec<i32> {
        let mut v = vec![];
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if let Ok(c) = std::fs::read_to_string(e.path().join("comm")) {
                if names.iter().any(|n| n == c.trim()) {
                    v.push(pid);
                }
            }
        }
        v.sort();
        v
    }

    /// When a process started (from /proc/PID/stat and the boot time).
    pub fn start_time(pid: i32) -> Option<SystemTime> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
        let btime: u64 = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok()))?;
        let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .unwrap_or(100)
            .max(1) as u64;
        Some(UNIX_EPOCH + Duration::from_secs(btime) + Duration::from_millis(ticks * 1000 / hz))
    }

    /// Whether PID 1 is systemd (then `systemctl` is the way to restart services).
    pub fn systemd_is_init() -> bool {
        std::fs::read_to_string("/proc/1/comm")
            .map(|c| c.trim() == "systemd")
            .unwrap_or(false)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn proc_net_tcp_is_read_like_ss() {
            let v4 = "  sl  local_address rem_address   st\n   0: 0100007F:0019 00000000:0000 0A 0\n   1: 00000000:0019 00000000:0000 0A 0\n   2: 0100007F:024B 00000000:0000 0A 0\n   3: 0100007F:0019 0200007F:D431 01 0\n";
            let l = parse_proc_net_tcp(v4, false);
            assert_eq!(l.len(), 3);
            assert_eq!(
                l[0],
                Listener {
                    addr: "127.0.0.1".into(),
                    port: 25,
                    loopback: true,
                    inode: 0
                }
            );
            assert_eq!(
                l[1],
                Listener {
                    addr: "0.0.0.0".into(),
                    port: 25,
                    loopback: false,
                    inode: 0
                }
            );
            let v6 = "  sl  local_address\n   0: 00000000000000000000000001000000:0019 00000000000000000000000000000000:0000 0A 0\n   1: 00000000000000000000000000000000:0019 00000000000000000000000000000000:0000 0A 0\n";
            let l = parse_proc_net_tcp(v6, true);
            assert_eq!(l[0].addr, "::1");
            assert!(l[0].loopback);
            assert_eq!(l[1].addr, "::");
            assert!(!l[1].loopback);
        }

        #[test]
        fn our_own_process_has_a_start_time() {
            let t = start_time(std::process::id() as i32).unwrap();
            assert!(t <= SystemTime::now() + Duration::from_secs(1));
            assert!(pid_alive(std::process::id() as i32));
        }
    }
}
