//! `users add|list|remove`: mail-only SMTP AUTH users in sasldb (`--password-source sasldb`,
//! issue 11 item 4b), through the real `saslpasswd2` and `sasldblistusers2`.
//!
//! The password is read from the terminal without echo, from `--password-env VAR` or from
//! `--password-fd N`, and handed to `saslpasswd2 -p` on its standard input: never in an
//! argument (other users see /proc/PID/cmdline), never in the journal, the audit log or any
//! output. Users are stored in realm `$j`, the fully qualified host name sendmail looks them
//! up in (TLS.md's realm trap: without `-u` saslpasswd2 uses the short name and every login
//! fails with "user not found"). sendmail never checks sasldb's mode, so the wizard sets it:
//! root:sasl 0640 (root 0600 where there is no group sasl).

use super::*;
use crate::engine::host;
use crate::smtp::Secret;

#[derive(clap::Args, Debug)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub what: UsersWhat,
}

#[derive(Subcommand, Debug)]
pub enum UsersWhat {
    /// Add a mail-only user to sasldb, or set a new password for one (saslpasswd2 -p -c -u REALM)
    Add {
        /// The user name (without @realm)
        name: String,
        /// Read the password from this environment variable (never from the command line)
        #[arg(long, value_name = "VAR", conflicts_with = "password_fd")]
        password_env: Option<String>,
        /// Read the password from this open file descriptor (e.g. 3 with `3<file`)
        #[arg(long, value_name = "N")]
        password_fd: Option<i32>,
        /// The realm (default: this host's fully qualified name, sendmail's $j)
        #[arg(long, value_name = "REALM")]
        realm: Option<String>,
    },
    /// List the users in sasldb (sasldblistusers2)
    List,
    /// Remove a user from sasldb (saslpasswd2 -d -u REALM)
    Remove {
        /// The user name (without @realm)
        name: String,
        /// The realm (default: this host's fully qualified name, sendmail's $j)
        #[arg(long, value_name = "REALM")]
        realm: Option<String>,
    },
}

/// One user of sasldb as `sasldblistusers2` prints it (`user@realm: property`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SasldbUser {
    pub user: String,
    pub realm: String,
}

/// Parses `sasldblistusers2` output; each user once, in order.
pub fn parse_list(out: &str) -> Vec<SasldbUser> {
    let mut v: Vec<SasldbUser> = vec![];
    for l in out.lines() {
        let Some((id, _prop)) = l.rsplit_once(": ") else {
            continue;
        };
        let Some((user, realm)) = id.rsplit_once('@') else {
            continue;
        };
        let u = SasldbUser {
            user: user.to_string(),
            realm: realm.to_string(),
        };
        if !v.contains(&u) {
            v.push(u);
        }
    }
    v
}

/// A user name saslpasswd2 stores as the admin meant it: no `@` (that would pick another
/// realm), no blanks or control characters, no leading `-` (an option to the tool).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("user name {name:?} must have 1 to 64 characters"));
    }
    if name.starts_with('-') {
        return Err(format!("user name {name:?} must not start with -"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | ':' | '/'))
    {
        return Err(format!(
            "user name {name:?} must not contain {c:?} (give the name without @realm; --realm sets the realm)"
        ));
    }
    Ok(())
}

/// A realm as sendmail's `$j`: a host name with at least one dot.
pub fn check_realm(realm: &str, how: &str) -> Result<(), String> {
    let ok = realm.contains('.')
        && !realm.starts_with(['.', '-'])
        && realm
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the realm {realm:?} ({how}) is not a fully qualified host name: sendmail looks \
             users up in realm $j, its fully qualified name, and a user stored under another \
             realm can never log in; give it with --realm mail.example.org (or qualify the \
             host name in /etc/hosts)"
        ))
    }
}

struct Db {
    /// The served path (`/etc/sasldb2`).
    served: String,
    /// Where it is on this machine (under --root).
    host: std::path::PathBuf,
    /// Sendmail.conf's pwcheck_method, when one is read.
    pwcheck: Option<String>,
}

fn sasldb(engine: &Engine) -> Result<Db, String> {
    let p = engine
        .profile()
        .ok_or("no profile: the system was not recognised (see `check`)")?;
    if p.sasl.version < 2 {
        return Err(format!(
            "users needs Cyrus SASL v2 (saslpasswd2, sasldblistusers2); the {} profile has SASL v{}",
            p.id, p.sasl.version
        ));
    }
    let view = crate::engine::step::PlannedOverlay::new(engine.root());
    let conf = crate::steps::sasl::sendmail_conf(&view, p);
    let text = match &conf {
        Some(c) => crate::steps::read_text(&view, c)?
            .map(|t| t.text)
            .unwrap_or_default(),
        None => String::new(),
    };
    let served = crate::steps::sasl::sasldb_file(&text);
    let pwcheck = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim() == "pwcheck_method")
        .map(|(_, v)| v.trim().to_string())
        .next_back();
    let res = engine.root().resolve(&served).map_err(|e| e.to_string())?;
    if let Some(link) = engine.root().dangling_link(&served) {
        return Err(format!(
            "{} is a symbolic link to {}, which does not exist: the wizard never creates a \
             file through a link; check who put it there",
            engine.root().display(&link.0),
            link.1
        ));
    }
    Ok(Db {
        host: engine.root().join(&res.target),
        served,
        pwcheck,
    })
}

fn realm_of(engine: &Engine, given: &Option<String>) -> Result<String, String> {
    match given {
        Some(r) => {
            check_realm(r, "--realm")?;
            Ok(r.clone())
        }
        None => {
            let r = engine.server_name();
            check_realm(&r, "this host's name as sendmail qualifies it")?;
            Ok(r)
        }
    }
}

fn tool(name: &str) -> Result<std::path::PathBuf, String> {
    host::find_tool(name).ok_or_else(|| {
        format!("`{name}` is not installed (Debian: apt-get install sasl2-bin; RHEL: dnf install cyrus-sasl)")
    })
}

fn list_users(db: &Db) -> Result<Vec<SasldbUser>, String> {
    if !db.host.exists() {
        return Ok(vec![]);
    }
    let out = host::run(
        &tool("sasldblistusers2")?,
        &["-f".into(), db.host.display().to_string()],
        None,
        host::TOOL_TIMEOUT,
    )?;
    if !out.success() {
        return Err(out.describe());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim() == "listusers failed" || out.stderr.contains("listusers failed") {
        return Err(format!(
            "sasldblistusers2 cannot read {}",
            db.host.display()
        ));
    }
    Ok(parse_list(&text))
}

/// root:sasl 0640 (root:root 0600 without a group sasl), set on the open file (never through
/// a link). Returns what it is now.
fn keep_mode(engine: &Engine, db: &Db) -> Result<String, String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let gid = engine
        .root()
        .read("/etc/group")
        .ok()
        .flatten()
        .and_then(|b| crate::steps::pam::find_group(&String::from_utf8_lossy(&b), "sasl"))
        .map(|(g, _)| g);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&db.host)
        .map_err(|e| format!("{}: {e}", db.host.display()))?;
    let (mode, owner) = match gid {
        Some(g) => (0o640, (0, g)),
        None => (0o600, (0, 0)),
    };
    if host::euid() == 0 {
        std::os::unix::fs::fchown(&f, Some(owner.0), Some(owner.1))
            .map_err(|e| format!("chown {}: {e}", db.host.display()))?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", db.host.display()))?;
    Ok(match gid {
        Some(_) => "root:sasl 0640".into(),
        None => "root 0600, there is no group sasl".into(),
    })
}

fn read_secret(
    name: &str,
    password_env: &Option<String>,
    password_fd: Option<i32>,
) -> Result<Secret, crate::engine::Error> {
    if let Err(e) = crate::smtp::secret::protect_memory() {
        errln!("warning: {e}");
    }
    let pw = if let Some(var) = password_env {
        crate::smtp::secret::take_from_env(var)?
    } else if let Some(fd) = password_fd {
        if fd < 0 || nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            return Err(format!("--password-fd {fd}: that file descriptor is not open").into());
        }
        // SAFETY: the descriptor is open (checked above) and stays open for this borrow: it
        // belongs to the caller, and nothing here closes it.
        #[allow(unsafe_code)] // std has no safe way to borrow a descriptor we did not open.
        let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        crate::smtp::secret::read_line_from_fd(bfd)
            .map_err(|e| format!("--password-fd {fd}: {e}"))?
    } else {
        let a = Secret::new(read_password_tty(&format!("new password for {name}: "))?);
        let b = Secret::new(read_password_tty("again: ")?);
        if a != b {
            return Err("the two passwords differ: nothing was changed".into());
        }
        a
    };
    if pw.is_empty() {
        return Err("the password is empty: nothing was changed".into());
    }
    if pw.expose().contains(['\n', '\r', '\0']) {
        return Err(
            "the password holds a line break or NUL, which saslpasswd2 -p cannot take: nothing was changed"
                .into(),
        );
    }
    Ok(pw)
}

fn audit(engine: &Engine, action: &str, db: &Db, result: Result<String, String>) {
    let rec = crate::engine::audit::Record {
        action: action.to_string(),
        files: vec![db.served.clone()],
        result,
        ..Default::default()
    };
    for p in rec.write(engine.root()) {
        errln!("warning: {p}");
    }
}

pub(super) fn users(cli: &Cli, a: &UsersArgs) -> Result<u8, crate::engine::Error> {
    let json = cli.format == Format::Json;
    let engine = open(cli, Options::default(), cli.profile.as_deref())?;
    let db = sasldb(&engine)?;
    let shown = engine.root().display(&db.served);
    let note = match db.pwcheck.as_deref() {
        Some("auxprop") => None,
        other => Some(format!(
            "sendmail does not read sasldb yet (pwcheck_method is {}): these users can log in once you run `smtpauth-wizard apply --password-source sasldb`",
            other.unwrap_or("not set")
        )),
    };
    match &a.what {
        UsersWhat::List => {
            let users = list_users(&db)?;
            if json {
                outln!(
                    "{}",
                    serde_json::json!({
                        "sasldb": shown,
                        "exists": db.host.exists(),
                        "users": users,
                        "note": note,
                    })
                );
            } else {
                if !db.host.exists() {
                    outln!("{shown} does not exist: no users yet");
                } else if users.is_empty() {
                    outln!("{shown}: no users");
                }
                for u in &users {
                    outln!("{}@{}", u.user, u.realm);
                }
                if let Some(n) = &note {
                    errln!("note: {n}");
                }
            }
            Ok(0)
        }
        UsersWhat::Add {
            name,
            password_env,
            password_fd,
            realm,
        } => {
            check_name(name)?;
            engine.may_write()?;
            let realm = realm_of(&engine, realm)?;
            let saslpasswd2 = tool("saslpasswd2")?;
            let pw = read_secret(name, password_env, *password_fd)?;
            let existed = list_users(&db)?
                .iter()
                .any(|u| u.user == *name && u.realm == realm);
            let args: Vec<String> = vec![
                "-p".into(),
                "-c".into(),
                "-u".into(),
                realm.clone(),
                "-f".into(),
                db.host.display().to_string(),
                name.clone(),
            ];
            let out = host::run(
                &saslpasswd2,
                &args,
                Some(pw.expose().as_bytes()),
                host::TOOL_TIMEOUT,
            )?;
            drop(pw);
            if !out.success() {
                let e = out.describe();
                audit(
                    &engine,
                    "users add",
                    &db,
                    Err(format!("{name}@{realm}: {e}")),
                );
                return Err(e.into());
            }
            let mode = keep_mode(&engine, &db)?;
            let message = format!(
                "{} {name}@{realm} in {shown} ({mode})",
                if existed {
                    "set a new password for"
                } else {
                    "added"
                }
            );
            audit(&engine, "users add", &db, Ok(message.clone()));
            report(json, &message, name, &realm, &shown, note.as_deref());
            Ok(0)
        }
        UsersWhat::Remove { name, realm } => {
            check_name(name)?;
            engine.may_write()?;
            let realm = realm_of(&engine, realm)?;
            let users = list_users(&db)?;
            if !users.iter().any(|u| u.user == *name && u.realm == realm) {
                let others: Vec<String> = users
                    .iter()
                    .filter(|u| u.user == *name)
                    .map(|u| format!("{}@{}", u.user, u.realm))
                    .collect();
                return Err(format!(
                    "there is no user {name}@{realm} in {shown}{}: nothing was changed",
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(" (there is {}: give --realm)", others.join(", "))
                    }
                )
                .into());
            }
            let args: Vec<String> = vec![
                "-d".into(),
                "-u".into(),
                realm.clone(),
                "-f".into(),
                db.host.display().to_string(),
                name.clone(),
            ];
            let out = host::run(&tool("saslpasswd2")?, &args, None, host::TOOL_TIMEOUT)?;
            if !out.success() {
                let e = out.describe();
                audit(
                    &engine,
                    "users remove",
                    &db,
                    Err(format!("{name}@{realm}: {e}")),
                );
                return Err(e.into());
            }
            let mode = keep_mode(&engine, &db)?;
            let message = format!("removed {name}@{realm} from {shown} ({mode})");
            audit(&engine, "users remove", &db, Ok(message.clone()));
            report(json, &message, name, &realm, &shown, note.as_deref());
            Ok(0)
        }
    }
}

fn report(json: bool, message: &str, name: &str, realm: &str, shown: &str, note: Option<&str>) {
    if json {
        outln!(
            "{}",
            serde_json::json!({
                "changed": true,
                "message": message,
                "user": name,
                "realm": realm,
                "sasldb": shown,
                "note": note,
            })
        );
    } else {
        outln!("{message}");
        if let Some(n) = note {
            errln!("note: {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_realms() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("a.b-c_d").is_ok());
        for bad in ["", "-f", "a@b", "a b", "a\nb", "a:b", "../x"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_realm("mailsrv.example.test", "x").is_ok());
        let e = check_realm("mailsrv", "this host's name").unwrap_err();
        assert!(e.contains("--realm") && e.contains("$j"), "{e}");
        assert!(check_realm("-x.y", "x").is_err());
        assert!(check_realm("a.b c", "x").is_err());
    }

    #[test]
    fn lists_are_parsed_once_per_user() {
        let out = "alice@mailsrv.example.test: userPassword\nalice@mailsrv.example.test: cmusaslsecretOTP\nbob@other.test: userPassword\nnoise\n";
        let v = parse_list(out);
        assert_eq!(
            v,
            vec![
                SasldbUser {
                    user: "alice".into(),
                    realm: "mailsrv.example.test".into()
                },
                SasldbUser {
                    user: "bob".into(),
                    realm: "other.test".into()
                }
            ]
        );
        assert!(parse_list("").is_empty());
    }
}
