//! HOWTO section 2.2: the m4, sendmail and sendmail-cf packages (and, today, the SASL pieces:
//! the PLAIN/LOGIN plugins and saslauthd), asked of the real package database.

use crate::engine::host;
use crate::engine::profile::{OtherMtas, PackageManager, Profile};
use crate::engine::step::{Context, Decision, DecisionKey, PlannedOverlay, Step, StepReport};

pub struct Packages;

/// `--admindir=ROOT/var/lib/dpkg` under `--root` (dpkg-query then reads the tree's own
/// database), nothing on the served system.
fn dpkg_admindir(cx: &Context) -> Result<Vec<String>, String> {
    if cx.root.is_host() {
        return Ok(vec![]);
    }
    let admin = cx.root.join("/var/lib/dpkg");
    if !admin.join("status").exists() {
        return Err(format!(
            "no dpkg database under the root ({} does not exist)",
            admin.join("status").display()
        ));
    }
    Ok(vec![format!("--admindir={}", admin.display())])
}

/// `--root DIR --dbpath DB` for rpm under `--root`, nothing on the served system. The
/// database is named: rpm's compiled-in default differs between builds (Debian's rpm uses
/// ~/.rpmdb), and the tree's own is /var/lib/rpm or /usr/lib/sysimage/rpm.
fn rpm_root(cx: &Context) -> Result<Vec<String>, String> {
    let root = &cx.root;
    if root.is_host() {
        return Ok(vec![]);
    }
    match ["/var/lib/rpm", "/usr/lib/sysimage/rpm"]
        .iter()
        .find(|d| root.join(d).is_dir())
    {
        Some(db) => Ok(vec![
            "--root".to_string(),
            root.dir().display().to_string(),
            "--dbpath".to_string(),
            db.to_string(),
        ]),
        None => Err("no rpm database under the root (/var/lib/rpm)".into()),
    }
}

/// From `dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Provides}\n'`: the installed
/// packages that provide `virtual`.
fn dpkg_providers(listing: &str, virtual_name: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            let (status, name, provides) = (f.next()?, f.next()?, f.next().unwrap_or(""));
            // config-files: removed, only its configuration is left; not-installed: known only.
            if status.is_empty() || status == "not-installed" || status == "config-files" {
                return None;
            }
            let hit = provides
                .split(',')
                .map(|p| p.split_whitespace().next().unwrap_or(""))
                .any(|p| p == virtual_name);
            hit.then(|| name.to_string())
        })
        .collect()
}

/// The installed packages, other than the profile's own, that provide `o.provides` (another
/// mail server), asked of the real package database.
fn other_mtas(cx: &Context, p: &Profile, o: &OtherMtas) -> Result<Vec<String>, String> {
    let found = match p.packages.manager {
        PackageManager::Dpkg => {
            let mut args = dpkg_admindir(cx)?;
            args.extend([
                "-W".to_string(),
                "-f=${db:Status-Status}\t${Package}\t${Provides}\n".to_string(),
            ]);
            let out = host::run_tool("dpkg-query", &args, None, cx.opts.tool_timeout)?;
            if out.status != Some(0) {
                return Err(out.describe());
            }
            dpkg_providers(&String::from_utf8_lossy(&out.stdout), &o.provides)
        }
        PackageManager::Rpm => {
            let mut args = rpm_root(cx)?;
            args.extend([
                "-q".to_string(),
                "--whatprovides".to_string(),
                o.provides.clone(),
                "--qf".to_string(),
                "%{NAME}\n".to_string(),
            ]);
            let out = host::run_tool("rpm", &args, None, cx.opts.tool_timeout)?;
            match out.status {
                Some(0) => String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect(),
                // "no package provides MTA"
                Some(1) => vec![],
                _ => return Err(out.describe()),
            }
        }
    };
    let mut v: Vec<String> = found
        .into_iter()
        .filter(|n| !p.packages.list.iter().any(|r| &r.name == n))
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

/// Installed version of a package, `Ok(None)` when not installed, `Err` when we cannot tell.
fn query(cx: &Context, manager: PackageManager, name: &str) -> Result<Option<String>, String> {
    match manager {
        PackageManager::Dpkg => {
            let mut args = dpkg_admindir(cx)?;
            args.extend([
                "-W".to_string(),
                "-f=${db:Status-Status} ${Version}\\n".to_string(),
                name.to_string(),
            ]);
            let out = host::run_tool("dpkg-query", &args, None, cx.opts.tool_timeout)?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            match (out.status, text.split_once(' ')) {
                (Some(0), Some(("installed", v))) => Ok(Some(v.trim().to_string())),
                (Some(0) | Some(1), _) => Ok(None),
                _ => Err(out.describe()),
            }
        }
        PackageManager::Rpm => {
            let mut args = rpm_root(cx)?;
            args.extend([
                "-q".to_string(),
                "--qf".to_string(),
                "%{VERSION}-%{RELEASE}\\n".to_string(),
                name.to_string(),
            ]);
            let out = host::run_tool("rpm", &args, None, cx.opts.tool_timeout)?;
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            match out.status {
                Some(0) => Ok(Some(text)),
                Some(1) if text.contains("not installed") || out.stderr.is_empty() => Ok(None),
                _ => Err(out.describe()),
            }
        }
    }
}

/// What to do about missing packages: plan the install command (on the served system, when
/// allowed), or say which command to run.
fn offer_install(
    r: &mut StepReport,
    missing: &[String],
    cmd: Vec<String>,
    host: bool,
    allowed: bool,
) {
    if host && !allowed {
        r.warn(
            None,
            format!("missing packages: {}", missing.join(" ")),
            Some(format!("install them yourself: {}", cmd.join(" "))),
        );
        r.skip("answers: install_packages: false: the wizard installs nothing");
    } else if host {
        r.command(
            cmd,
            "install the missing packages (runs only when you confirm apply)",
        );
    } else {
        r.skip(format!(
            "packages are never installed into a --root tree; on the served system run: {}",
            cmd.join(" ")
        ));
    }
}

/// Says which other mail servers the install would remove (or compete with), as a choice of
/// the admin's. Returns whether the install may be planned.
fn report_other_mtas(
    r: &mut StepReport,
    cx: &Context,
    others: &[String],
    o: &OtherMtas,
    cmd: &[String],
) -> bool {
    let list = others.join(", ");
    let effect = if o.removed_by_install {
        format!(
            "`{}` removes {list} (the package manager does; its configuration files stay)",
            cmd.join(" ")
        )
    } else {
        format!("`{}` installs sendmail beside {list}, which stays installed and, while it runs, keeps port 25 (stop and disable it, and switch the mta alternative to sendmail)", cmd.join(" "))
    };
    if !cx.opts.install_packages {
        r.warn(
            None,
            format!("another mail server is installed: {list}; {effect}"),
            None,
        );
        return true;
    }
    let chosen = cx.opts.replace_mta;
    let message = if chosen {
        format!("another mail server is installed: {list}; {effect}: replacing it, as chosen with --replace-mta")
    } else {
        format!("another mail server is installed: {list}; {effect}, so nothing is installed unless you choose to replace it (--replace-mta, answers file replace_mta: true)")
    };
    r.decide(
        None,
        message,
        format!("keep {list} and do not run the wizard here; or replace it with sendmail: --replace-mta (answers file: replace_mta: true)"),
        Decision {
            key: DecisionKey::ReplaceMta,
            flag: DecisionKey::ReplaceMta.flag(),
            question: format!("Replace {list} with sendmail ({})?", if o.removed_by_install { "the package manager removes it" } else { "it stays installed beside sendmail" }),
            chosen,
        },
    );
    chosen
}

impl Step for Packages {
    fn id(&self) -> &'static str {
        "packages"
    }
    fn title(&self) -> &'static str {
        "Packages: m4, sendmail, sendmail-cf, SASL"
    }
    fn howto(&self) -> &'static str {
        "HOWTO 2.2: the latest m4, sendmail and sendmail-cf packages"
    }
    /// Its install command brings m4, the cf tree and sasl2-bin, which later steps need.
    fn installs_prerequisites(&self) -> bool {
        true
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let mut missing = vec![];
        let mut unknown = None;
        for pkg in &p.packages.list {
            match query(cx, p.packages.manager, &pkg.name) {
                Ok(Some(v)) => r.info(format!("{}: {} {v}", pkg.role, pkg.name)),
                Ok(None) => {
                    r.warn(
                        None,
                        format!("{}: {} is not installed", pkg.role, pkg.name),
                        None,
                    );
                    missing.push(pkg.name.clone());
                }
                Err(e) => {
                    unknown = Some(e);
                    break;
                }
            }
        }
        if let Some(why) = unknown {
            r.skip(format!("cannot tell which packages are installed: {why}"));
            return r.finish();
        }
        if missing.is_empty() {
            return r.finish();
        }
        let mut cmd = p.packages.install_command.clone();
        cmd.extend(missing.iter().cloned());
        // Installing the mail server itself where another one is installed: apt-get removes
        // that one (sendmail-bin conflicts with mail-transport-agent); rpm installs beside it,
        // and the two then compete for port 25. Either way the admin decides.
        let installs_mta = p
            .packages
            .list
            .iter()
            .any(|q| q.mta && missing.contains(&q.name));
        if let (true, Some(o)) = (installs_mta, &p.packages.other_mtas) {
            match other_mtas(cx, p, o) {
                Ok(others) if !others.is_empty() => {
                    if !report_other_mtas(&mut r, cx, &others, o, &cmd) {
                        return r.finish();
                    }
                }
                Ok(_) => r.info(format!(
                    "no other mail server is installed (no installed package provides {})",
                    o.provides
                )),
                Err(e) => {
                    r.error(
                        None,
                        format!("cannot tell whether another mail server is installed (which installing sendmail would replace): {e}"),
                        None,
                    );
                    return r.finish();
                }
            }
        }
        offer_install(
            &mut r,
            &missing,
            cmd,
            cx.root.is_host(),
            cx.opts.install_packages,
        );
        // The later steps read files these packages create: on a server without sendmail they
        // cannot be planned yet. apply checks every step again, on the files as they are then,
        // right before changing anything.
        let absent: Vec<String> = [Some(&p.sendmail.mc), Some(&p.sendmail.cf_m4)]
            .into_iter()
            .chain(std::iter::once(
                p.saslauthd.as_ref().map(|s| &s.defaults_file),
            ))
            .flatten()
            .filter(|f| !view.exists(f))
            .map(|f| cx.root.display(f))
            .collect();
        if !absent.is_empty() {
            r.info(format!(
                "{} do not exist yet, so the steps after this one cannot be planned now; apply installs the packages first, then plans and applies each later step on the files the packages created (run `plan` again after installing to see them)",
                absent.join(", ")
            ));
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::step::{Severity, Status};

    fn cmd() -> Vec<String> {
        ["apt-get", "install", "-y", "sasl2-bin"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn install_packages_false_reports_the_command_instead_of_planning_it() {
        let mut r = StepReport::new(&Packages);
        offer_install(&mut r, &["sasl2-bin".into()], cmd(), true, false);
        let r = r.finish();
        assert_eq!(r.status, Status::Skipped);
        assert!(r.commands.is_empty());
        let w = r
            .findings
            .iter()
            .find(|f| f.severity == Severity::Warning)
            .unwrap();
        assert_eq!(
            w.fix.as_deref(),
            Some("install them yourself: apt-get install -y sasl2-bin")
        );
        assert!(r
            .findings
            .iter()
            .any(|f| f.message.contains("answers: install_packages: false")));
        assert!(r
            .findings
            .iter()
            .any(|f| f.message == "missing packages: sasl2-bin"));
    }

    #[test]
    fn by_default_the_command_is_planned_on_the_served_system_only() {
        let mut r = StepReport::new(&Packages);
        offer_install(&mut r, &["sasl2-bin".into()], cmd(), true, true);
        let r = r.finish();
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.commands[0].argv, cmd());
        let mut r = StepReport::new(&Packages);
        offer_install(&mut r, &["sasl2-bin".into()], cmd(), false, true);
        assert_eq!(r.finish().status, Status::Skipped);
    }
}
