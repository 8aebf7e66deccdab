//! HOWTO section 2.1 (which system is this?): detect the distribution from its release files
//! and choose a profile; and check the host name, because sendmail sleeps 60 s at every start,
//! `-bv` and `-bt` included, when it cannot fully qualify it (FACTS.md).

use crate::engine::host;
use crate::engine::profile::{self, Profile};
use crate::engine::root::Root;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};
use std::collections::HashMap;

pub struct Os;

/// Parses /etc/os-release (`KEY=value`, values optionally quoted).
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim().trim_matches('"').trim_matches('\'');
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

fn read_small(root: &Root, p: &str) -> Option<String> {
    root.read(p)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(64 * 1024)]).to_string())
}

/// The served system's /etc/os-release `ID` and `VERSION_ID` (for a profile's overrides).
pub fn release(root: &Root) -> profile::Release {
    let kv = read_small(root, "/etc/os-release")
        .or_else(|| read_small(root, "/usr/lib/os-release"))
        .map(|t| parse_os_release(&t))
        .unwrap_or_default();
    let get = |k: &str| {
        kv.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    profile::Release {
        id: get("ID"),
        version_id: get("VERSION_ID"),
    }
}

/// Picks a built-in profile for the system under `root`. `Err` explains what was found and
/// names `--profile`: an unknown system is never guessed at.
pub fn detect(root: &Root) -> Result<(Profile, String), String> {
    let profiles = profile::builtins();
    if let Some(text) =
        read_small(root, "/etc/os-release").or_else(|| read_small(root, "/usr/lib/os-release"))
    {
        let kv = parse_os_release(&text);
        // PRETTY_NAME is optional (os-release(5)): fall back on NAME VERSION, then ID.
        let pretty = kv
            .get("PRETTY_NAME")
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .or_else(|| {
                kv.get("NAME").filter(|v| !v.trim().is_empty()).map(|n| {
                    match kv.get("VERSION").or(kv.get("VERSION_ID")) {
                        Some(v) if !v.trim().is_empty() => format!("{n} {v}"),
                        _ => n.clone(),
                    }
                })
            })
            .or_else(|| kv.get("ID").filter(|v| !v.trim().is_empty()).cloned())
            .unwrap_or_else(|| "an unnamed system".into());
        let mut ids: Vec<String> = kv.get("ID").into_iter().cloned().collect();
        ids.extend(
            kv.get("ID_LIKE")
                .map(|s| s.split_whitespace().map(String::from).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        let major = kv
            .get("VERSION_ID")
            .and_then(|v| v.split('.').next())
            .unwrap_or("")
            .to_string();
        for id in &ids {
            for p in &profiles {
                let vers = &p.detect.os_release_versions;
                if p.detect.os_release_ids.iter().any(|x| x == id)
                    && (vers.is_empty() || vers.contains(&major))
                {
                    return Ok((
                        p.clone(),
                        format!("detected {pretty} (/etc/os-release ID={id})"),
                    ));
                }
            }
        }
        // fall through to the release files: an os-release we do not know is not an answer yet.
    }
    for p in &profiles {
        for rf in &p.detect.release_files {
            if let Some(text) = read_small(root, &rf.path) {
                let first = text.lines().next().unwrap_or("").trim().to_string();
                if rf.contains.is_empty() || rf.contains.iter().any(|c| first.contains(c.as_str()))
                {
                    return Ok((
                        p.clone(),
                        format!(
                            "detected {} ({})",
                            if first.is_empty() {
                                rf.path.clone()
                            } else {
                                first
                            },
                            rf.path
                        ),
                    ));
                }
            }
        }
    }
    let seen: Vec<String> = [
        "/etc/os-release",
        "/etc/redhat-release",
        "/etc/fedora-release",
        "/etc/debian_version",
    ]
    .iter()
    .filter_map(|f| {
        read_small(root, f).map(|t| {
            format!(
                "{f}: {}",
                t.lines()
                    .find(|l| l.starts_with("PRETTY_NAME"))
                    .or(t.lines().next())
                    .unwrap_or("")
                    .trim()
            )
        })
    })
    .collect();
    Err(format!(
        "unknown distribution under {} ({}); the built-in profiles are {}. Give one with --profile FILE (copy one of assets/profiles/*.yaml and adapt it)",
        root.dir().display(),
        if seen.is_empty() { "no /etc/os-release, /etc/redhat-release, /etc/fedora-release or /etc/debian_version".to_string() } else { seen.join("; ") },
        profile::BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    ))
}

/// Whether `sendmail -bv` can run without the 60 s host name stall on *this* machine.
pub fn can_validate_promptly() -> Result<(), String> {
    let name = host::hostname();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    match host::qualified_name(&name, &hosts) {
        Some(_) => Ok(()),
        None => Err(format!(
            "this machine's host name `{name}` cannot be fully qualified from /etc/hosts, so sendmail would pause 60 s before every validation; `sendmail -bv` validation is skipped (fix: a line such as `127.0.1.1 {name}.example.org {name}` in /etc/hosts)"
        )),
    }
}

impl Step for Os {
    fn id(&self) -> &'static str {
        "os"
    }
    fn title(&self) -> &'static str {
        "Detect the system and choose a profile"
    }
    fn howto(&self) -> &'static str {
        "HOWTO 2.1: supported systems"
    }
    fn detect_profile(&self, root: &Root) -> Option<Result<(Profile, String), String>> {
        Some(detect(root))
    }
    fn can_validate(&self) -> Option<Result<(), String>> {
        Some(can_validate_promptly())
    }
    fn for_release(
        &self,
        root: &Root,
        p: Profile,
        reason: String,
    ) -> Result<(Profile, String), String> {
        let (p, said) = p.for_release(&release(root)).map_err(|e| e.to_string())?;
        if said.is_empty() {
            return Ok((p, reason));
        }
        Ok((
            p,
            format!("{reason}; for this release: {}", said.join("; ")),
        ))
    }
    fn check(&self, cx: &Context, _view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        match &cx.profile {
            Some(p) => r.info(format!(
                "{}: profile {} ({})",
                cx.profile_reason, p.id, p.name
            )),
            None => r.error(
                None,
                cx.profile_reason.clone(),
                Some("smtpauth-wizard --profile FILE ...".into()),
            ),
        }
        // How its services start on this release (the profile's data).
        if let Some(p) = &cx.profile {
            let units = std::iter::once((p.service.name.as_str(), &p.service.systemd_unit)).chain(
                p.saslauthd
                    .as_ref()
                    .map(|s| (s.service.as_str(), &s.systemd_unit)),
            );
            for (name, unit) in units {
                r.info(match unit {
                    Some(u) if cx.root.read(u).ok().flatten().is_some() => {
                        format!("{name}: the package ships the systemd unit {u}")
                    }
                    Some(u) => format!("{name}: this release's package ships the systemd unit {u}, which is not there yet (is {name} installed?)"),
                    None => format!("{name}: no systemd unit on this release; under systemd, `systemctl` runs /etc/init.d/{name} through the sysv generator"),
                });
            }
        }
        // The served system's own host name.
        let (name, hosts_file) = if cx.root.is_host() {
            (host::hostname(), "/etc/hosts")
        } else {
            let n = read_small(&cx.root, "/etc/hostname")
                .and_then(|t| t.lines().next().map(|l| l.trim().to_string()));
            match n {
                Some(n) if !n.is_empty() => (n, "/etc/hosts"),
                _ => (String::new(), "/etc/hosts"),
            }
        };
        if !name.is_empty() {
            let hosts = read_small(&cx.root, hosts_file).unwrap_or_default();
            match host::qualified_name(&name, &hosts) {
                Some(fq) => r.info(format!("host name {name} is fully qualified as {fq}")),
                None => r.warn(
                    Some(hosts_file),
                    format!("host name `{name}` cannot be fully qualified from {hosts_file}: sendmail pauses 60 s at every start and every -bv/-bt (\"My unqualified host name ({name}) unknown; sleeping for retry\")"),
                    Some(format!("add a line such as `127.0.1.1 {name}.example.org {name}` (your real domain) to {}", cx.root.display(hosts_file))),
                ),
            }
        }
        if let Err(why) = &cx.can_validate {
            if cx.root.is_host() {
                r.warn(None, why.clone(), None);
            } else {
                r.info(why.clone());
            }
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let r = Root::new(t.path()).unwrap();
        for (p, c) in files {
            let real = r.join(p);
            std::fs::create_dir_all(real.parent().unwrap()).unwrap();
            std::fs::write(real, c).unwrap();
        }
        (t, r)
    }

    #[test]
    fn detects_the_howto_systems_and_todays() {
        let cases = [
            (
                vec![("/etc/redhat-release", "Red Hat Linux release 9 (Shrike)\n")],
                "redhat-legacy",
            ),
            (
                vec![
                    ("/etc/redhat-release", "Fedora Core release 1 (Yarrow)\n"),
                    ("/etc/fedora-release", "Fedora Core release 1 (Yarrow)\n"),
                ],
                "redhat-legacy",
            ),
            (
                vec![
                    (
                        "/etc/os-release",
                        "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
                    ),
                    (
                        "/etc/redhat-release",
                        "Rocky Linux release 9.4 (Blue Onyx)\n",
                    ),
                ],
                "rhel",
            ),
            (
                vec![(
                    "/etc/os-release",
                    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
                )],
                "debian",
            ),
            (
                vec![("/etc/os-release", "ID=ubuntu\nID_LIKE=debian\n")],
                "debian",
            ),
            (vec![("/etc/debian_version", "3.1\n")], "debian"),
        ];
        for (files, want) in cases {
            let (_t, r) = root_with(&files);
            let (p, why) = detect(&r).unwrap();
            assert_eq!(p.id, want, "{files:?}: {why}");
        }
    }

    #[test]
    fn unknown_systems_are_not_guessed() {
        let (_t, r) = root_with(&[("/etc/os-release", "PRETTY_NAME=\"Arch Linux\"\nID=arch\n")]);
        let e = detect(&r).unwrap_err();
        assert!(
            e.contains("unknown distribution")
                && e.contains("--profile")
                && e.contains("Arch Linux"),
            "{e}"
        );
        let (_t, r) = root_with(&[]);
        assert!(detect(&r).unwrap_err().contains("no /etc/os-release"));
    }
}
