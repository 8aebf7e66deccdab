//! Distribution profiles: YAML data in `assets/profiles/` (embedded in the binary), or a file
//! given with `--profile FILE`. A profile says where a distribution keeps things and what their
//! contents must be; adding a distribution is adding a file. Unknown keys are errors, so a typo
//! in a profile never silently falls back to a default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The profiles shipped in the binary, in detection order.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "redhat-legacy",
        include_str!("../../assets/profiles/redhat-legacy.yaml"),
    ),
    ("rhel", include_str!("../../assets/profiles/rhel.yaml")),
    ("debian", include_str!("../../assets/profiles/debian.yaml")),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub detect: Detect,
    pub packages: Packages,
    pub sendmail: Sendmail,
    pub auth: Auth,
    pub pam: Pam,
    pub sasl: Sasl,
    #[serde(default)]
    pub saslauthd: Option<Saslauthd>,
    pub relay: Relay,
    pub service: Service,
    #[serde(default)]
    pub mail_logs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detect {
    /// `ID` or `ID_LIKE` values of /etc/os-release that select this profile.
    #[serde(default)]
    pub os_release_ids: Vec<String>,
    /// Only these `VERSION_ID` majors (empty: any).
    #[serde(default)]
    pub os_release_versions: Vec<String>,
    /// Release files and a substring of their first line (empty: the file's presence).
    #[serde(default)]
    pub release_files: Vec<ReleaseFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseFile {
    pub path: String,
    #[serde(default)]
    pub contains: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Dpkg,
    Rpm,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Packages {
    pub manager: PackageManager,
    /// The install command the packages step offers, without package names.
    pub install_command: Vec<String>,
    pub list: Vec<PackageReq>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageReq {
    /// What the package is for, shown to the user.
    pub role: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sendmail {
    pub mc: String,
    /// Every sendmail.cf location; the first is generated, the others receive a copy (the
    /// HOWTO's "place the file in both locations") where `cf_copies_always` or where they exist.
    pub cf: Vec<String>,
    #[serde(default)]
    pub cf_copies_always: bool,
    /// The cf tree's cf.m4 (what the mc includes).
    pub cf_m4: String,
    /// Binaries to validate with, first found wins.
    pub binaries: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub default_mechanisms: Vec<String>,
    pub auth_options: String,
    /// How the SASL library checks passwords here (`saslauthd`, `pam`).
    pub password_check: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pam {
    pub path: String,
    /// Content written when the file is missing or cannot work.
    pub content: String,
    /// A line starting (after whitespace) with one of these counts as the auth line.
    pub auth_prefixes: Vec<String>,
    pub account_prefixes: Vec<String>,
    /// Text that makes a PAM file unusable on this distribution (e.g. pam_stack.so, removed
    /// from Linux-PAM in 2005).
    #[serde(default)]
    pub broken_if_contains: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sasl {
    /// libsasl's search order for Sendmail.conf; the first that exists is the one read.
    pub search_order: Vec<String>,
    /// Where to create it when none exists.
    pub create_at: String,
    pub pwcheck_method: String,
    /// The SASL major version (1: the HOWTO's systems, 2: everything since).
    pub version: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saslauthd {
    /// Shell-style defaults file (`/etc/default/saslauthd`, `/etc/sysconfig/saslauthd`).
    pub defaults_file: String,
    /// KEY=value lines it must contain (values as written, quotes included).
    pub settings: BTreeMap<String, String>,
    pub service: String,
    pub mux: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    pub access: String,
    pub relay_domains: String,
    pub local_host_names: String,
    /// makemap's map type for access.db (`hash`; RHEL 10 uses `cdb`).
    pub map_type: String,
    pub map_suffix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    /// A command that replaces the systemctl/service/init.d search, if the distribution needs one.
    #[serde(default)]
    pub restart_command: Option<Vec<String>>,
    /// Where the daemon writes its pid (first line).
    #[serde(default)]
    pub pid_files: Vec<String>,
    /// Process names (`/proc/PID/comm`) of the daemon, when no pid file says.
    #[serde(default)]
    pub process_names: Vec<String>,
    /// Files the restart command may rewrite by itself (Debian's init script runs `make` in
    /// /etc/mail): the journal records their change so rollback restores them too.
    #[serde(default)]
    pub regenerated: Vec<String>,
}

#[derive(Debug)]
pub struct ProfileError(pub String);
impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ProfileError {}

/// Parses a profile; errors name the source, the line and the key.
pub fn parse(source: &str, text: &str) -> Result<Profile, ProfileError> {
    let p: Profile =
        serde_yaml::from_str(text).map_err(|e| ProfileError(format!("profile {source}: {e}")))?;
    if p.sendmail.cf.is_empty() {
        return Err(ProfileError(format!(
            "profile {source}: sendmail.cf must name at least one path"
        )));
    }
    for path in std::iter::once(&p.sendmail.mc)
        .chain(&p.sendmail.cf)
        .chain(std::iter::once(&p.pam.path))
        .chain(&p.sasl.search_order)
    {
        if !path.starts_with('/') {
            return Err(ProfileError(format!(
                "profile {source}: path {path:?} must be absolute"
            )));
        }
    }
    Ok(p)
}

pub fn builtin(id: &str) -> Option<Profile> {
    BUILTIN.iter().find(|(n, _)| *n == id).map(|(n, t)| {
        parse(&format!("assets/profiles/{n}.yaml"), t).expect("built-in profile parses")
    })
}

/// The built-in profile ids, in detection order (`--version` lists them).
pub fn builtin_ids() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

pub fn builtins() -> Vec<Profile> {
    BUILTIN.iter().map(|(n, _)| builtin(n).unwrap()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_parses() {
        assert_eq!(builtins().len(), 3);
    }

    #[test]
    fn unknown_keys_are_named() {
        let t = BUILTIN[2].1.replace("mail_logs:", "mail_logz:");
        let e = parse("x.yaml", &t).unwrap_err().to_string();
        assert!(e.contains("mail_logz") && e.contains("x.yaml"), "{e}");
    }
}
