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
    /// STARTTLS (the tls step): where this distribution keeps its certificate and where the
    /// wizard puts its own. A profile without it: the tls step asks for --tls-cert/--tls-key
    /// or --no-tls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// What differs between releases, as data (issue 14): each entry's `set` is merged over the
    /// profile when its `when` matches the served system's /etc/os-release. See [`Override`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// A release-dependent part of a profile:
/// ```yaml
/// overrides:
///   - when: { id: [debian], version_id: "<13" }
///     why: /etc/init.d/saslauthd refuses to start without START=yes
///     set:
///       saslauthd: { settings: { START: "yes" } }
/// ```
/// `set` has the profile's own keys; mappings merge key by key, any other value (a list, a
/// string) replaces the one in the profile, and `null` removes a mapping key. Every entry is
/// checked when the profile is loaded (merged over it, the result must still be a valid
/// profile), so a typo in an entry for another release is refused as well.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub when: When,
    /// Why this release differs (shown in the plan).
    pub why: String,
    pub set: serde_yaml::Value,
}

/// Which systems an [`Override`] is for: every condition given must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// /etc/os-release `ID` values (not `ID_LIKE`: Ubuntu's 22.04 is not Debian's 22).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id: Vec<String>,
    /// A comparison with /etc/os-release `VERSION_ID`: `<13`, `<=12`, `>=13`, `>11`, `=12` or
    /// `12` (the given components match: `12` matches 12 and 12.5). A system without a numeric
    /// `VERSION_ID` (Debian testing/sid) matches no version condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<VersionReq>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// A `VERSION_ID` comparison (`<13`); see [`When::version_id`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VersionReq {
    op: Op,
    parts: Vec<u64>,
}

/// `12.5` as `[12, 5]`; `None` when any component is not a number.
fn version_parts(v: &str) -> Option<Vec<u64>> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    v.split('.').map(|c| c.parse::<u64>().ok()).collect()
}

impl TryFrom<String> for VersionReq {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        let (op, rest) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("=", Op::Eq),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Op::Eq, t));
        let parts = version_parts(rest).ok_or_else(|| {
            format!("version_id {s:?} is not a comparison such as \"<13\", \">=12\" or \"11\" (numbers separated by dots)")
        })?;
        Ok(VersionReq { op, parts })
    }
}

impl From<VersionReq> for String {
    fn from(v: VersionReq) -> String {
        v.to_string()
    }
}

impl std::fmt::Display for VersionReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "=",
        };
        let v: Vec<String> = self.parts.iter().map(|p| p.to_string()).collect();
        write!(f, "{op}{}", v.join("."))
    }
}

impl VersionReq {
    /// Whether a `VERSION_ID` satisfies this; a non-numeric or missing one never does.
    pub fn matches(&self, version_id: &str) -> bool {
        let Some(have) = version_parts(version_id) else {
            return false;
        };
        if self.op == Op::Eq {
            return have.len() >= self.parts.len() && have[..self.parts.len()] == self.parts[..];
        }
        // Compare over the longer length, missing components being 0 (13 == 13.0).
        let n = have.len().max(self.parts.len());
        let pad = |v: &[u64]| {
            let mut v = v.to_vec();
            v.resize(n, 0);
            v
        };
        let (a, b) = (pad(&have), pad(&self.parts));
        match self.op {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => unreachable!("handled above"),
        }
    }
}

/// What /etc/os-release says about the served system, for [`When`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub id: Option<String>,
    pub version_id: Option<String>,
}

impl When {
    pub fn matches(&self, rel: &Release) -> bool {
        let id_ok = self.id.is_empty()
            || rel
                .id
                .as_ref()
                .is_some_and(|i| self.id.iter().any(|x| x == i));
        let ver_ok = match &self.version_id {
            None => true,
            Some(req) => rel.version_id.as_deref().is_some_and(|v| req.matches(v)),
        };
        id_ok && ver_ok
    }
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut v = vec![];
        if !self.id.is_empty() {
            v.push(format!("ID {}", self.id.join("|")));
        }
        if let Some(r) = &self.version_id {
            v.push(format!("VERSION_ID {r}"));
        }
        if v.is_empty() {
            f.write_str("always")
        } else {
            f.write_str(&v.join(", "))
        }
    }
}

/// Merges `over` into `base`: mappings key by key, `null` deletes a key, anything else replaces.
fn merge(base: &mut serde_yaml::Value, over: &serde_yaml::Value) {
    use serde_yaml::Value;
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(slot) = b.get_mut(k) {
                    merge(slot, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The mechanisms sasldb can verify, strongest first (TLS.md: every one of them `235` with
/// `pwcheck_method: auxprop`, `auxprop_plugin: sasldb`).
pub const SASLDB_MECHANISMS: &[&str] = &[
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "DIGEST-MD5",
    "CRAM-MD5",
    "LOGIN",
    "PLAIN",
];

impl Profile {
    /// The profile as it is when passwords come from `source`. With sasldb (SASL v2 only: the
    /// sasl step refuses it on v1) libsasl checks passwords itself (`auxprop`), saslauthd is
    /// neither needed nor touched, and the default mechanisms are every one sasldb can verify
    /// that this release has a plugin for.
    pub fn with_password_source(mut self, source: super::step::PasswordSource) -> Profile {
        if source == super::step::PasswordSource::Sasldb && self.sasl.version >= 2 {
            self.auth.password_check = "auxprop".into();
            self.sasl.pwcheck_method = "auxprop".into();
            self.saslauthd = None;
            self.auth.default_mechanisms = SASLDB_MECHANISMS
                .iter()
                .filter(|m| {
                    !self
                        .auth
                        .unavailable_mechanisms
                        .iter()
                        .any(|u| u.eq_ignore_ascii_case(m))
                })
                .map(|m| m.to_string())
                .collect();
        }
        self
    }

    /// The profile for the system `rel` describes: every matching override merged, in order.
    /// Returns the overrides applied (`when` and `why`), for the plan to say.
    pub fn for_release(&self, rel: &Release) -> Result<(Profile, Vec<String>), ProfileError> {
        let hits: Vec<&Override> = self
            .overrides
            .iter()
            .filter(|o| o.when.matches(rel))
            .collect();
        if hits.is_empty() {
            return Ok((self.clone(), vec![]));
        }
        let mut base = self.clone();
        base.overrides.clear();
        let mut v = serde_yaml::to_value(&base)
            .map_err(|e| ProfileError(format!("profile {}: {e}", self.id)))?;
        let mut said = vec![];
        for o in hits {
            merge(&mut v, &o.set);
            said.push(format!("{} ({})", o.why, o.when));
        }
        let mut p: Profile = serde_yaml::from_value(v).map_err(|e| {
            ProfileError(format!(
                "profile {}: its overrides for this release: {e}",
                self.id
            ))
        })?;
        p.overrides = self.overrides.clone();
        Ok((p, said))
    }
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
    /// Other mail servers (exim4, postfix) that installing sendmail would remove or compete with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_mtas: Option<OtherMtas>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherMtas {
    /// What every MTA package provides: dpkg's virtual package `mail-transport-agent`, rpm's
    /// capability `MTA`.
    pub provides: String,
    /// Whether installing the package marked `mta: true` removes them (dpkg: sendmail-bin
    /// conflicts with mail-transport-agent) rather than installing beside them (rpm).
    pub removed_by_install: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageReq {
    /// What the package is for, shown to the user.
    pub role: String,
    pub name: String,
    /// The mail server itself (it replaces any other MTA; see [`Packages::other_mtas`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mta: bool,
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
    /// Mechanisms this release's Cyrus SASL has no plugin for (Debian 11: no SCRAM): never
    /// advertised; asking for one (`--mechanisms`) is refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable_mechanisms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// Where the wizard writes the self-signed certificate it makes when there is no other
    /// (root 0644) and its key (root 0600); missing directories are made (and removed again
    /// by rollback).
    pub own_cert: String,
    pub own_key: String,
    /// confCACERT_PATH to set when sendmail.mc sets none (the system's CA directory).
    pub ca_path: String,
    /// The distribution's own STARTTLS settings file, included from sendmail.mc (Debian:
    /// /etc/mail/tls/starttls.m4, made by update_tls with its certificate and key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// The distribution's own certificate and key, when sendmail.mc names none (Red Hat:
    /// /etc/pki/tls/certs/sendmail.pem, key and certificate in one file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
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
    /// The systemd unit the package ships on this release (Debian 13:
    /// /usr/lib/systemd/system/saslauthd.service); none: systemd runs the init script through
    /// its sysv generator, and the init script reads `settings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
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
    /// The systemd unit the package ships on this release (see [`Saslauthd::systemd_unit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
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
    check(source, &p)?;
    // Every override must leave a valid profile, whichever release it is for.
    let mut base = p.clone();
    base.overrides.clear();
    let v =
        serde_yaml::to_value(&base).map_err(|e| ProfileError(format!("profile {source}: {e}")))?;
    for (i, o) in p.overrides.iter().enumerate() {
        if !o.set.is_mapping() {
            return Err(ProfileError(format!(
                "profile {source}: overrides[{i}] (when {}): set must be a mapping of profile keys",
                o.when
            )));
        }
        if o.set.get("overrides").is_some()
            || o.set.get("id").is_some()
            || o.set.get("detect").is_some()
        {
            return Err(ProfileError(format!(
                "profile {source}: overrides[{i}] (when {}): set may not change id, detect or overrides",
                o.when
            )));
        }
        let mut m = v.clone();
        merge(&mut m, &o.set);
        let merged: Profile = serde_yaml::from_value(m).map_err(|e| {
            ProfileError(format!(
                "profile {source}: overrides[{i}] (when {}; it sets {}): {e}",
                o.when,
                leaf_keys(&o.set, "").join(", ")
            ))
        })?;
        check(
            &format!("{source} overrides[{i}] (when {})", o.when),
            &merged,
        )?;
    }
    Ok(p)
}

/// `a.b.c` for every key of `v` that holds no mapping (what an override sets).
fn leaf_keys(v: &serde_yaml::Value, prefix: &str) -> Vec<String> {
    let Some(m) = v.as_mapping() else {
        return vec![prefix.to_string()];
    };
    let mut out = vec![];
    for (k, v) in m {
        let k = k
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("{k:?}"));
        let path = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        out.extend(leaf_keys(v, &path));
    }
    out
}

fn check(source: &str, p: &Profile) -> Result<(), ProfileError> {
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
    Ok(())
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
        // and reads back its own YAML, overrides included
        for p in builtins() {
            let y = serde_yaml::to_string(&p).unwrap();
            let again = parse("again.yaml", &y).unwrap();
            assert_eq!(serde_yaml::to_string(&again).unwrap(), y);
        }
    }

    fn rel(id: &str, v: Option<&str>) -> Release {
        Release {
            id: Some(id.into()),
            version_id: v.map(String::from),
        }
    }

    #[test]
    fn version_conditions_compare_numerically() {
        let r = |s: &str| VersionReq::try_from(s.to_string()).unwrap();
        let cases = [
            ("<13", "12", true),
            ("<13", "13", false),
            ("<13", "12.5", true),
            ("<13", "9", true),
            ("<13", "100", false),
            ("<=12", "12", true),
            ("<=12", "12.1", false),
            (">=13", "13", true),
            (">=13", "14", true),
            (">=13", "12.99", false),
            (">11", "11.0", false),
            (">11", "11.1", true),
            ("=12", "12.5", true),
            ("12", "12", true),
            ("12", "13", false),
            ("22.04", "22.04", true),
            ("<22.04", "20.04", true),
            ("<13", "", false),
            ("<13", "rolling", false),
            (">=1", "n/a", false),
        ];
        for (req, v, want) in cases {
            assert_eq!(r(req).matches(v), want, "{req} vs {v:?}");
        }
        for bad in ["", "<", "<thirteen", ">=13.x", "~13", "<<13"] {
            let e = VersionReq::try_from(bad.to_string()).unwrap_err();
            assert!(e.contains("version_id"), "{bad}: {e}");
        }
        assert_eq!(r(" >= 13 ".trim()).to_string(), ">=13");
    }

    #[test]
    fn debian_differences_are_data() {
        let d = builtin("debian").unwrap();
        let start = |p: &Profile| p.saslauthd.as_ref().unwrap().settings.get("START").cloned();
        let (p11, s11) = d.for_release(&rel("debian", Some("11"))).unwrap();
        let (p12, s12) = d.for_release(&rel("debian", Some("12"))).unwrap();
        let (p13, s13) = d.for_release(&rel("debian", Some("13"))).unwrap();
        let (p14, _) = d.for_release(&rel("debian", Some("14"))).unwrap();
        assert_eq!(start(&p11).as_deref(), Some("yes"));
        assert_eq!(start(&p12).as_deref(), Some("yes"));
        assert_eq!(start(&p13), None);
        assert_eq!(start(&p14), None);
        assert_eq!(
            p13.saslauthd
                .as_ref()
                .unwrap()
                .settings
                .get("MECHANISMS")
                .map(String::as_str),
            Some("\"pam\"")
        );
        assert!(p11.service.systemd_unit.is_none() && p12.service.systemd_unit.is_none());
        assert_eq!(
            p13.service.systemd_unit.as_deref(),
            Some("/usr/lib/systemd/system/sendmail.service")
        );
        assert_eq!(
            p11.auth.unavailable_mechanisms,
            ["SCRAM-SHA-1", "SCRAM-SHA-256"]
        );
        assert!(p12.auth.unavailable_mechanisms.is_empty());
        assert!(p13.auth.unavailable_mechanisms.is_empty());
        assert!(s12.is_empty(), "{s12:?}");
        assert!(
            s11[0].contains("SCRAM") && s13[0].contains("START="),
            "{s11:?} {s13:?}"
        );
        // Ubuntu shares the profile but none of Debian's version conditions; nor does a
        // release without VERSION_ID (testing, sid): the base values apply.
        for r in [
            rel("ubuntu", Some("11")),
            rel("ubuntu", Some("24.04")),
            rel("debian", None),
            Release::default(),
        ] {
            let (p, said) = d.for_release(&r).unwrap();
            assert!(said.is_empty(), "{r:?}: {said:?}");
            assert_eq!(start(&p).as_deref(), Some("yes"));
        }
    }

    fn with_overrides(extra: &str) -> String {
        format!(
            "{}\n{extra}",
            BUILTIN[2].1.split("\noverrides:").next().unwrap()
        )
    }

    #[test]
    fn overrides_are_validated_whatever_release_they_are_for() {
        let cases = [
            // an unknown key inside `set`, for a release nobody runs here
            ("overrides:\n  - when: { version_id: \"<3\" }\n    why: x\n    set: { saslauthd: { setings: { START: \"yes\" } } }\n", "setings"),
            ("overrides:\n  - when: { version_id: \"<3\" }\n    why: x\n    set: { sendmial: { mc: /x } }\n", "sendmial"),
            // a wrong type
            ("overrides:\n  - when: { id: [debian] }\n    why: x\n    set: { auth: { default_mechanisms: PLAIN } }\n", "default_mechanisms"),
            // removing a required key
            ("overrides:\n  - when: { id: [debian] }\n    why: x\n    set: { sendmail: { mc: null } }\n", "mc"),
            // a relative path
            ("overrides:\n  - when: { id: [debian] }\n    why: x\n    set: { sendmail: { mc: etc/mail/sendmail.mc } }\n", "must be absolute"),
            // unknown keys of the entry and of `when`
            ("overrides:\n  - when: { version: \"<3\" }\n    why: x\n    set: {}\n", "version"),
            ("overrides:\n  - when: {}\n    why: x\n    set: {}\n    sett: {}\n", "sett"),
            ("overrides:\n  - when: { version_id: \"lt 13\" }\n    why: x\n    set: {}\n", "lt 13"),
            ("overrides:\n  - when: {}\n    set: {}\n", "why"),
            ("overrides:\n  - when: {}\n    why: x\n    set: [a]\n", "must be a mapping"),
            ("overrides:\n  - when: {}\n    why: x\n    set: { id: rhel }\n", "may not change"),
        ];
        for (extra, want) in cases {
            let text = with_overrides(extra);
            let e = parse("my-profile.yaml", &text).unwrap_err().to_string();
            assert!(
                e.contains("my-profile.yaml") && e.contains(want),
                "{extra}: {e}"
            );
        }
        let ok = with_overrides("overrides:\n  - when: { id: [debian], version_id: \"9\" }\n    why: old\n    set: { mail_logs: [/var/log/syslog] }\n");
        let p = parse("ok.yaml", &ok).unwrap();
        assert_eq!(
            p.for_release(&rel("debian", Some("9.13")))
                .unwrap()
                .0
                .mail_logs,
            ["/var/log/syslog"]
        );
        assert_eq!(
            p.for_release(&rel("debian", Some("10")))
                .unwrap()
                .0
                .mail_logs,
            ["/var/log/mail.log"]
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let t = BUILTIN[2].1.replace("mail_logs:", "mail_logz:");
        let e = parse("x.yaml", &t).unwrap_err().to_string();
        assert!(e.contains("mail_logz") && e.contains("x.yaml"), "{e}");
    }
}
