//! HOWTO steps 8 and 9 act on the running server: `restart` (validated, verified, and rolled
//! back with a restart of the old configuration when anything fails) and `ehlo` (the HOWTO's
//! `telnet mailsrv 25` / `ehlo localhost`, done by the wizard's own bounded SMTP client).
//!
//! With `--root` both are skipped: a fixture run never runs a service command against the
//! machine it runs on.

use crate::engine::host::{self, live};
use crate::engine::journal::{now_rfc3339, CommandRecord};
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport, Undone};
use crate::engine::Event;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Restart;
pub struct Ehlo;

/// Why `restart` and `ehlo` are skipped when the answers file says `restart: false`.
pub const RESTART_OFF: &str = "answers: restart: false";

/// How long a restarted daemon gets to come up listening.
pub const POST_CHECK: Duration = Duration::from_secs(20);

fn service_command(cx: &Context, name: &str, action: &str) -> Result<Vec<String>, String> {
    if live::systemd_is_init() && host::find_tool("systemctl").is_some() {
        let v = if action == "start" {
            vec!["systemctl", "enable", "--now", name]
        } else {
            vec!["systemctl", action, name]
        };
        return Ok(v.into_iter().map(String::from).collect());
    }
    if host::find_tool("service").is_some() {
        return Ok(vec!["service".into(), name.into(), action.into()]);
    }
    let init = format!("/etc/init.d/{name}");
    if Path::new(&init).exists() {
        return Ok(vec![init, action.into()]);
    }
    let _ = cx;
    Err(format!("no way to {action} {name}: neither systemctl (systemd is not PID 1 here), `service`, nor /etc/init.d/{name} exists"))
}

/// The commands that start a service that has no process running. Under systemd: `systemctl
/// enable NAME` (so it also starts at boot), then `systemctl restart NAME`, not `start` (nor
/// `enable --now`): Debian 11 runs saslauthd's init script through systemd's sysv generator,
/// and with `START=no` at boot the unit is "active (exited)" without a daemon, so `start`
/// does nothing even after the wizard wrote `START=yes`; `restart` runs the script again
/// (seen in tests/distros.rs on Debian 11). Elsewhere the one `start` command.
fn start_commands(cx: &Context, name: &str) -> Result<Vec<Vec<String>>, String> {
    let c = service_command(cx, name, "start")?;
    if c.first().is_some_and(|c| c == "systemctl") {
        return Ok(vec![
            vec!["systemctl".into(), "enable".into(), name.into()],
            vec!["systemctl".into(), "restart".into(), name.into()],
        ]);
    }
    Ok(vec![c])
}

/// The command that restarts sendmail here: the profile's, else systemctl where systemd is
/// PID 1, else `service`, else the init script.
pub fn restart_command(cx: &Context) -> Result<Vec<String>, String> {
    let p = cx.profile.as_ref().ok_or("no profile")?;
    match &p.service.restart_command {
        Some(c) if !c.is_empty() => Ok(c.clone()),
        _ => service_command(cx, &p.service.name, "restart"),
    }
}

fn run_logged(
    argv: &[String],
    timeout: Duration,
    log: &mut Vec<CommandRecord>,
) -> Result<host::ToolOutput, String> {
    let out = host::run_tool(&argv[0], &argv[1..], None, timeout);
    match &out {
        Ok(o) => log.push(CommandRecord {
            argv: argv.to_vec(),
            status: o.status,
            stderr: o.stderr.clone(),
            at: now_rfc3339(),
        }),
        Err(e) => log.push(CommandRecord {
            argv: argv.to_vec(),
            status: None,
            stderr: e.clone(),
            at: now_rfc3339(),
        }),
    }
    out
}

/// The running sendmail's pid: from the profile's pid files, else by process name.
pub fn daemon_pid(cx: &Context) -> Option<i32> {
    let p = cx.profile.as_ref()?;
    p.service
        .pid_files
        .iter()
        .filter_map(|f| live::read_pidfile(Path::new(f)))
        .find(|pid| live::pid_alive(*pid))
        .or_else(|| {
            live::find_processes(&p.service.process_names)
                .first()
                .copied()
        })
}

fn saslauthd_running() -> bool {
    !live::find_processes(&["saslauthd".to_string()]).is_empty()
}

fn describe_listeners(l: &[live::Listener]) -> String {
    if l.is_empty() {
        "nothing".into()
    } else {
        l.iter()
            .map(|x| format!("{}:{}", x.addr, x.port))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Port-25 listening sockets held by this process (the daemon's own, not someone else's).
fn owned_listeners(pid: i32) -> Vec<live::Listener> {
    let mine = live::socket_inodes(pid);
    live::listeners(25)
        .into_iter()
        .filter(|l| mine.contains(&l.inode))
        .collect()
}

/// Restarts sendmail and checks, within [`POST_CHECK`], that a new daemon runs and that its own
/// sockets listen on port 25 (not only on loopback when `expect_network`, which also means
/// "this is the new configuration": a new daemon that fails that check is stopped, see
/// [`stop_failed_daemon`]).
pub fn restart_and_verify(
    cx: &Context,
    expect_network: bool,
    on: &mut dyn FnMut(Event),
    log: &mut Vec<CommandRecord>,
) -> Result<Vec<String>, String> {
    let cmd = restart_command(cx)?;
    let old_pid = daemon_pid(cx);
    let before = sendmail_processes(cx);
    on(Event::Running(cmd.join(" ")));
    let out = run_logged(&cmd, Duration::from_secs(120), log)?;
    if !out.success() {
        return Err(format!("the restart command failed: {}", out.describe()));
    }
    let mut notes = vec![format!("`{}` exited 0", cmd.join(" "))];
    let start = Instant::now();
    loop {
        let pid = daemon_pid(cx).filter(|p| Some(*p) != old_pid);
        let l = pid.map(owned_listeners).unwrap_or_default();
        let ok = if expect_network {
            l.iter().any(|x| !x.loopback)
        } else {
            !l.is_empty()
        };
        if let (true, Some(p)) = (ok, pid) {
            notes.push(format!(
                "sendmail is running (pid {p}) and listening on port 25 at {} ({:.1} s after the restart)",
                describe_listeners(&l),
                start.elapsed().as_secs_f64()
            ));
            return Ok(notes);
        }
        if start.elapsed() > POST_CHECK {
            let others = live::listeners(25);
            let why = match pid {
                None => "no new sendmail daemon is running".to_string(),
                Some(p) if l.is_empty() => format!(
                    "sendmail (pid {p}) is not listening on port 25 (listening there: {}; look in the mail log for \"opendaemonsocket\" or \"cannot bind\")",
                    describe_listeners(&others)
                ),
                Some(p) => format!("sendmail (pid {p}) listens on port 25 only at {} (loopback)", describe_listeners(&l)),
            };
            let stopped = match pid {
                Some(p) if expect_network => stop_failed_daemon(cx, p, &before),
                _ => String::new(),
            };
            return Err(format!(
                "{} s after `{}`: {why}{stopped}",
                POST_CHECK.as_secs(),
                cmd.join(" ")
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether the process is sendmail's mail submission program (the client queue runner, Red
/// Hat's sm-client: "sendmail: Queue runner@01:00:00 for /var/spool/clientmqueue"), named like
/// the daemon but never the MTA: a restart may start a new one, and it is not the wizard's to
/// stop.
fn is_msp(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        memchr::memmem::find(&c, b"clientmqueue").is_some()
            || memchr::memmem::find(&c, b"MSP").is_some()
    })
}

/// The pids of the processes named like the profile's sendmail daemon.
fn sendmail_processes(cx: &Context) -> Vec<i32> {
    cx.profile
        .as_ref()
        .map(|p| live::find_processes(&p.service.process_names))
        .unwrap_or_default()
}

/// Stops the daemon that a restart onto the new configuration started and that did not come up
/// as it should, before the old configuration is restored and restarted. A sendmail that
/// cannot bind its port keeps retrying, never writes its pid file, and so survives the init
/// script's `stop` (and systemd's, for an init-script unit: KillMode=process): it would take
/// port 25, with the configuration being rolled back, as soon as the port is free (seen on
/// Debian 13 in tests/distros.rs). Only a process that did not exist before the restart and is
/// still named like the daemon is signalled: SIGTERM, then SIGKILL after 5 s. Returns what
/// was done, to be added to the failure's message.
fn stop_failed_daemon(cx: &Context, pid: i32, before: &[i32]) -> String {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    if before.contains(&pid) || !sendmail_processes(cx).contains(&pid) || is_msp(pid) {
        return String::new();
    }
    let mut sent = Vec::new();
    for (sig, wait) in [(Signal::SIGTERM, 5.0), (Signal::SIGKILL, 2.0)] {
        if !live::pid_alive(pid) {
            break;
        }
        if let Err(e) = kill(Pid::from_raw(pid), sig) {
            return format!("; the new daemon (pid {pid}) could not be stopped ({sig}: {e}): stop it before port 25 is free");
        }
        sent.push(sig.as_str());
        let start = Instant::now();
        while live::pid_alive(pid) && start.elapsed().as_secs_f64() < wait {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if live::pid_alive(pid) {
        format!("; the new daemon (pid {pid}) is still running after {}: stop it before port 25 is free", sent.join(" and "))
    } else {
        format!("; the new daemon (pid {pid}) was stopped ({}) so that it cannot take port 25 later with the configuration being rolled back", sent.join(", then "))
    }
}

impl Step for Restart {
    fn id(&self) -> &'static str {
        "restart"
    }
    fn title(&self) -> &'static str {
        "Restart sendmail"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 8: service sendmail restart"
    }
    fn is_live(&self) -> bool {
        true
    }
    fn rolls_back_on_failure(&self) -> bool {
        true
    }
    /// Sendmail runs on the files just replaced: after they are restored it is restarted on
    /// them and checked again. Never from a `--root` tree (nothing was restarted there).
    fn after_rollback(
        &self,
        cx: &Context,
        why: Undone,
        on: &mut dyn FnMut(Event),
        log: &mut Vec<CommandRecord>,
    ) -> Option<Result<Vec<String>, String>> {
        if !cx.root.is_host() {
            return None;
        }
        let res = restart_and_verify(cx, false, on, log);
        Some(match (why, res) {
            (Undone::RunFailed, Ok(notes)) => {
                let mut v = vec!["Restarted sendmail on the old configuration:".to_string()];
                v.extend(notes.into_iter().map(|n| format!("  {n}")));
                Ok(v)
            }
            (Undone::RunFailed, Err(e)) => Err(format!(
                "Restarting sendmail on the old configuration FAILED too: {e}"
            )),
            (Undone::Rollback, Ok(notes)) => Ok(notes),
            (Undone::Rollback, Err(e)) => Err(format!(
                "files restored, but restarting sendmail on them failed: {e}"
            )),
        })
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        if !cx.opts.restart {
            r.skip(RESTART_OFF);
            return r.finish();
        }
        if !cx.root.is_host() {
            r.skip("working on a --root tree: the wizard never restarts a service from a fixture or copy");
            return r.finish();
        }
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let cmd = match restart_command(cx) {
            Ok(c) => c,
            Err(e) => {
                r.error(None, e, None);
                return r.finish();
            }
        };
        let sasl_conf = p.sasl.search_order.iter().find(|f| view.exists(f)).cloned();
        let watched: Vec<String> = p
            .sendmail
            .cf
            .iter()
            .take(1)
            .cloned()
            .chain(sasl_conf)
            .chain(p.saslauthd.as_ref().map(|s| s.defaults_file.clone()))
            .collect();
        let mut reasons = vec![];
        for f in &watched {
            if view.planned(f) {
                reasons.push(format!("{f} is changed by an earlier step"));
            }
        }
        match daemon_pid(cx) {
            None => reasons.push("sendmail is not running".into()),
            Some(pid) => {
                let started = live::start_time(pid);
                for f in watched.iter().take(2) {
                    let m = cx
                        .root
                        .resolve(f)
                        .ok()
                        .and_then(|x| std::fs::metadata(&x.real).ok())
                        .and_then(|m| m.modified().ok());
                    if let (Some(s), Some(m)) = (started, m) {
                        if m > s {
                            reasons.push(format!("{f} was modified after the running sendmail (pid {pid}) started: it still uses the old settings"));
                        }
                    }
                }
                if reasons.is_empty() {
                    r.info(format!(
                        "sendmail (pid {pid}) started after its configuration was last changed"
                    ));
                }
            }
        }
        if p.saslauthd.is_some() {
            if saslauthd_running() {
                r.info("saslauthd is running");
            } else {
                match start_commands(
                    cx,
                    p.saslauthd
                        .as_ref()
                        .map(|s| s.service.as_str())
                        .unwrap_or("saslauthd"),
                ) {
                    Ok(cs) => {
                        for c in cs {
                            r.command(c, "saslauthd checks the passwords and is not running");
                        }
                    }
                    Err(e) => r.warn(
                        None,
                        format!("saslauthd is not running and cannot be started: {e}"),
                        None,
                    ),
                }
            }
        }
        let l = live::listeners(25);
        r.info(format!("port 25 listeners now: {}", describe_listeners(&l)));
        if !reasons.is_empty() {
            r.info(format!("restart needed: {}", reasons.join("; ")));
            r.command(cmd, "HOWTO step 8: restart sendmail; the installed sendmail.cf is validated first, and if the daemon does not come back listening on port 25 (or, with STARTTLS set up, does not offer STARTTLS with AUTH only inside it) every change of this run is rolled back and the old configuration restarted");
        }
        r.finish()
    }
    fn run(
        &self,
        cx: &Context,
        on: &mut dyn FnMut(Event),
        log: &mut Vec<CommandRecord>,
    ) -> Result<Vec<String>, String> {
        let p = cx.profile.as_ref().ok_or("no profile")?;
        let mut notes = vec![];
        let cf = cx.root.join(&p.sendmail.cf[0]);
        match &cx.can_validate {
            Ok(()) => {
                super::sendmail_cf::validate(cx, &cf).map_err(|e| {
                    format!("the installed {} does not validate: {e}", p.sendmail.cf[0])
                })?;
                notes.push(format!(
                    "{} validates (sendmail -C {} -bv root)",
                    p.sendmail.cf[0], p.sendmail.cf[0]
                ));
            }
            Err(why) => notes.push(format!("validation skipped: {why}")),
        }
        if let Some(sd) = &p.saslauthd {
            if !saslauthd_running() {
                let cs = start_commands(cx, &sd.service)?;
                for c in &cs {
                    on(Event::Running(c.join(" ")));
                    let out = run_logged(c, Duration::from_secs(60), log)?;
                    if !out.success() {
                        return Err(format!(
                            "saslauthd could not be started: `{}`: {}",
                            c.join(" "),
                            out.describe()
                        ));
                    }
                }
                let c = cs
                    .iter()
                    .map(|c| c.join(" "))
                    .collect::<Vec<_>>()
                    .join("; ");
                let t = Instant::now();
                while !saslauthd_running() {
                    if t.elapsed() > Duration::from_secs(10) {
                        return Err(format!(
                            "`{c}` exited 0 but no saslauthd process is running 10 s later"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                notes.push(format!("started saslauthd (`{c}`)"));
            }
        }
        notes.extend(restart_and_verify(cx, true, on, log)?);
        // STARTTLS set up (the tls step): the real daemon must offer it, and AUTH only inside
        // it; otherwise this step fails and the run is rolled back like a failed restart.
        if let Some(want) = super::tls_live::expectation(cx) {
            on(Event::Running(
                "EHLO, STARTTLS, EHLO on 127.0.0.1:25".into(),
            ));
            notes.extend(super::tls_live::verify(cx, &want)?);
        }
        Ok(notes)
    }
}

/// The local EHLO test: what the running server advertises on port 25.
pub fn local_ehlo(cx: &Context, timeout: Duration) -> crate::smtp::ProbeReport {
    let _ = cx;
    crate::smtp::probe(&super::outcome::local_options(25, timeout))
}

/// Whether the report shows AUTH with every mechanism the wizard configured.
fn auth_ok(cx: &Context, rep: &crate::smtp::ProbeReport) -> Result<String, String> {
    let want = cx.mechanisms();
    // With `p` PLAIN and LOGIN appear only after STARTTLS: what counts is what a client that
    // uses TLS is offered.
    let offered = match &rep.tls {
        Some(t) if t.established => &t.auth_mechanisms,
        _ => &rep.auth_mechanisms,
    };
    match offered {
        None => Err("the server does not advertise AUTH".into()),
        Some(have) => {
            let missing: Vec<&String> = want
                .iter()
                .filter(|m| !have.iter().any(|h| h.eq_ignore_ascii_case(m)))
                .collect();
            if missing.is_empty() {
                Ok(format!("250-AUTH {}", have.join(" ")))
            } else {
                Err(format!(
                    "the server advertises AUTH {} but not {}",
                    have.join(" "),
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ))
            }
        }
    }
}

/// Issue 11 item 6: TLS with the certificate verdict, port 587, who may log in and what to
/// tell users, each with whether it is as it should be.
fn outcome_notes(cx: &Context, rep: &crate::smtp::ProbeReport) -> Vec<(bool, String)> {
    use super::outcome;
    let mut v = vec![(
        rep.tls.as_ref().is_some_and(|t| t.established),
        outcome::tls_line(rep),
    )];
    if cx.opts.submission {
        match outcome::probe_587(Duration::from_secs(10)) {
            Ok(l) => v.push((true, l)),
            Err(l) => v.push((false, l)),
        }
    } else {
        v.push((
            true,
            format!("{}not opened (--no-submission)", outcome::PORT587_PREFIX),
        ));
    }
    if let Some(p) = &cx.profile {
        v.push((true, outcome::logins_line(p, &cx.opts)));
    }
    let starttls = rep.tls.as_ref().is_some_and(|t| t.established);
    let host = outcome::local_fqdn();
    v.push((
        true,
        format!(
            "what to tell users: {}",
            outcome::tell_users(&host, cx.opts.submission, Some(starttls), &cx.mechanisms())
                .join("; ")
        ),
    ));
    v
}

fn transcript(rep: &crate::smtp::ProbeReport) -> String {
    rep.transcript
        .iter()
        .map(|l| {
            format!(
                "{} {}",
                if l.dir == crate::smtp::client::Dir::Client {
                    ">>>"
                } else {
                    "<<<"
                },
                l.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Step for Ehlo {
    fn id(&self) -> &'static str {
        "ehlo"
    }
    fn title(&self) -> &'static str {
        "Test EHLO and AUTH"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 9: telnet mailsrv 25, ehlo localhost, look for 250-AUTH"
    }
    fn is_live(&self) -> bool {
        true
    }
    fn reports_when_done(&self) -> bool {
        true
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        if !cx.opts.restart {
            // Without the restart the daemon keeps its old configuration: testing it would
            // fail for a reason the user chose.
            r.skip(format!("{RESTART_OFF} (the running sendmail keeps its old configuration until you restart it; then test it with `smtpauth-wizard probe`)"));
            return r.finish();
        }
        if !cx.root.is_host() {
            r.skip("working on a --root tree: there is no server to talk to (use `smtpauth-wizard probe HOST` against a real one)");
            return r.finish();
        }
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        r.info("connections from 127.0.0.1 always relay (Connect:127 RELAY and sendmail's own rule), so this local test cannot show that relaying is refused: run `smtpauth-wizard probe HOST --source-ip 127.0.0.2` here, or `smtpauth-wizard probe HOST` from another machine, as the HOWTO says");
        if view.planned(&p.sendmail.cf[0]) {
            r.pending("EHLO is tested after sendmail has been restarted on the new sendmail.cf");
            return r.finish();
        }
        let rep = local_ehlo(cx, Duration::from_secs(5));
        match auth_ok(cx, &rep) {
            Ok(line) => {
                r.info(format!("127.0.0.1:25 answers EHLO with {line}"));
                for (ok, n) in outcome_notes(cx, &rep) {
                    if ok {
                        r.info(n);
                    } else {
                        r.warn(None, n, None);
                    }
                }
            }
            Err(e) => {
                r.pending(format!(
                    "{e}; tested again when applied (after the restart)"
                ));
                for v in &rep.verdicts {
                    r.info(v.clone());
                }
                if let Some(err) = &rep.error {
                    r.info(err.clone());
                }
            }
        }
        r.finish()
    }
    fn run(
        &self,
        cx: &Context,
        on: &mut dyn FnMut(Event),
        _log: &mut Vec<CommandRecord>,
    ) -> Result<Vec<String>, String> {
        on(Event::Running("EHLO 127.0.0.1:25".into()));
        let rep = local_ehlo(cx, Duration::from_secs(10));
        let t = transcript(&rep);
        match auth_ok(cx, &rep) {
            Ok(line) => {
                let mut notes = vec![format!("EHLO test: {line}\n{t}")];
                notes.extend(rep.verdicts.iter().cloned());
                notes.extend(outcome_notes(cx, &rep).into_iter().map(|(_, n)| n));
                Ok(notes)
            }
            Err(e) => {
                let mut v = vec![e];
                if let Some(err) = &rep.error {
                    v.push(err.clone());
                }
                v.extend(rep.verdicts.iter().cloned());
                Err(format!("{}\n{t}", v.join("\n")))
            }
        }
    }
}
