//! HOWTO section 2.2: the m4, sendmail and sendmail-cf packages (and, today, the SASL pieces:
//! the PLAIN/LOGIN plugins and saslauthd), asked of the real package database.

use crate::engine::host;
use crate::engine::profile::PackageManager;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

pub struct Packages;

/// Installed version of a package, `Ok(None)` when not installed, `Err` when we cannot tell.
fn query(cx: &Context, manager: PackageManager, name: &str) -> Result<Option<String>, String> {
    let root = &cx.root;
    match manager {
        PackageManager::Dpkg => {
            let mut args = vec![];
            if !root.is_host() {
                let admin = root.join("/var/lib/dpkg");
                if !admin.join("status").exists() {
                    return Err(format!(
                        "no dpkg database under the root ({} does not exist)",
                        admin.join("status").display()
                    ));
                }
                args.push(format!("--admindir={}", admin.display()));
            }
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
            let mut args = vec![];
            if !root.is_host() {
                let db = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"]
                    .iter()
                    .find(|d| root.join(d).is_dir());
                match db {
                    Some(_) => {
                        args.extend(["--root".to_string(), root.dir().display().to_string()])
                    }
                    None => return Err("no rpm database under the root (/var/lib/rpm)".into()),
                }
            }
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
    fn check(&self, cx: &Context, _view: &PlannedOverlay) -> StepReport {
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
        if !missing.is_empty() {
            let mut cmd = p.packages.install_command.clone();
            cmd.extend(missing.iter().cloned());
            offer_install(
                &mut r,
                &missing,
                cmd,
                cx.root.is_host(),
                cx.opts.install_packages,
            );
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
