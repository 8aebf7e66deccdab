//! `probe`: the SMTP AUTH test against a server, and reading its password.

use super::*;

/// Reads a password without echo from the terminal (/dev/tty).
pub(super) fn read_password_tty(prompt: &str) -> Result<String, crate::engine::Error> {
    use crate::engine::Error;
    let io = |message: String| Error::Io {
        action: "read the password".into(),
        path: "/dev/tty".into(),
        message,
    };
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| Error::Refused("no terminal to ask for the password: give --password-env VAR or --password-fd N (never the password itself on the command line)".to_string()))?;
    let old = tcgetattr(&tty).map_err(|e| io(format!("cannot read the terminal settings: {e}")))?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&tty, SetArg::TCSANOW, &quiet).map_err(|e| io(e.to_string()))?;
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut line = String::new();
    let res = std::io::BufRead::read_line(&mut std::io::BufReader::new(&tty), &mut line);
    let _ = tcsetattr(&tty, SetArg::TCSANOW, &old);
    res.map_err(|e| io(e.to_string()))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub(super) fn probe(cli: &Cli, a: &ProbeArgs) -> Result<u8, crate::engine::Error> {
    let pa = match &a.answers {
        Some(f) => answers::load(f)?.probe.unwrap_or_default(),
        None => Default::default(),
    };
    use crate::engine::Error;
    let target = a.target.clone().or(pa.target).ok_or_else(|| Error::bad_input(
        "TARGET",
        "missing",
        "probe needs a target: HOST[:PORT] on the command line or `probe: target:` in the answers file".into(),
    ))?;
    let mut o = crate::smtp::ProbeOptions::for_target(&target)
        .map_err(|e| Error::bad_input("TARGET", e.clone(), e))?;
    if !(a.timeout > 0.0 && a.timeout <= 3600.0) {
        return Err(crate::engine::Error::bad_input(
            "--timeout",
            "not between 0 and 3600 seconds",
            format!("--timeout {} must be between 0 and 3600 seconds", a.timeout),
        ));
    }
    o.timeout = std::time::Duration::from_secs_f64(a.timeout);
    o.relay_to = a
        .relay_to
        .clone()
        .or(pa.relay_to)
        .unwrap_or_else(|| crate::smtp::DEFAULT_RELAY_TO.to_string());
    o.from = a.from.clone().or(pa.from).unwrap_or_default();
    o.source_ip = a.source_ip.or(pa.source_ip);
    if let Some(n) = &a.ehlo_name {
        o.ehlo_name = n.clone();
    }
    // A password source given on the command line wins over the answers file's variable.
    let password_env = if a.password_fd.is_some() {
        a.password_env.clone()
    } else {
        a.password_env.clone().or(pa.password_env)
    };
    o.allow_plaintext = a.allow_plaintext || pa.allow_plaintext.unwrap_or(false);
    // Flags win over the answers file's `tls`, `verify_cert`, `tls_ca`, `tls_name`.
    o.tls = if a.no_starttls {
        crate::smtp::TlsMode::Off
    } else if a.tls_required {
        crate::smtp::TlsMode::Required
    } else {
        pa.tls.unwrap_or_default()
    };
    o.verify_cert = !a.no_verify_cert && pa.verify_cert.unwrap_or(true);
    o.tls_ca = a.tls_ca.clone().or(pa.tls_ca);
    o.tls_name = a.tls_name.clone().or(pa.tls_name);
    if let Some(u) = a.user.clone().or(pa.user) {
        o.user = Some(u.clone());
        // Before the password is read: no core dump, no ptrace by the user's other processes.
        if let Err(e) = crate::smtp::secret::protect_memory() {
            errln!("warning: {e}");
        }
        let pw = if let Some(var) = &password_env {
            // Read and removed here, before the probe starts any thread.
            crate::smtp::secret::take_from_env(var)
                .map_err(|e| Error::bad_input("--password-env", e.clone(), e))?
        } else if let Some(fd) = a.password_fd {
            if fd < 0 || nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
                return Err(crate::engine::Error::bad_input(
                    "--password-fd",
                    "not an open file descriptor",
                    format!("--password-fd {fd}: that file descriptor is not open"),
                ));
            }
            // SAFETY: the descriptor is open (checked above) and stays open for this borrow:
            // it belongs to the caller, and nothing here closes it.
            #[allow(unsafe_code)] // std has no safe way to borrow a descriptor we did not open.
            let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            crate::smtp::secret::read_line_from_fd(bfd).map_err(|e| Error::Io {
                action: "read the password".into(),
                path: format!("--password-fd {fd}"),
                message: format!("--password-fd {fd}: {e}"),
            })?
        } else {
            crate::smtp::Secret::new(read_password_tty(&format!("password for {u}: "))?)
        };
        o.password = Some(pw);
    }
    let rep = crate::smtp::probe(&o);
    if cli.format == Format::Json {
        outln!(
            "{}",
            crate::term::json_pretty(&rep).map_err(|e| e.to_string())?
        );
    } else {
        out!("{}", rep.to_text());
    }
    Ok(rep.exit_code())
}
