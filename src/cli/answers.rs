//! The answers file (`--answers FILE`): every choice the wizard can ask, as YAML, so a fleet
//! can be configured without anyone at a terminal. It is front-end input like the command-line
//! flags (hence under `cli`; the TUI may read one too): this module only parses and checks it;
//! the CLI merges it with the flags (flags win) into the engine's
//! [`Options`](crate::engine::step::Options). It never writes anything.
//!
//! Unknown keys and wrong types are errors that name the key and the line (`deny_unknown_fields`
//! and serde_yaml's locations), so a typo such as `restrat: false` can never silently mean "the
//! default" on a hundred servers.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The documented template that `smtpauth-wizard answers --example` prints.
pub const EXAMPLE: &str = include_str!("../../assets/answers.example.yaml");

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// A built-in profile id, or the path of a profile file (relative to the answers file).
    #[serde(default)]
    pub profile: Option<String>,
    /// SASL mechanisms: a list, or one string ("LOGIN PLAIN").
    #[serde(default, deserialize_with = "mechanisms")]
    pub mechanisms: Option<Vec<String>>,
    #[serde(default)]
    pub keep_relay: Option<Vec<String>>,
    #[serde(default)]
    pub keep_features: Option<Vec<String>>,
    #[serde(default)]
    pub prune_relay_domains: Option<bool>,
    /// Whether the packages step may run the install command.
    #[serde(default)]
    pub install_packages: Option<bool>,
    /// Whether the restart step may restart sendmail.
    #[serde(default)]
    pub restart: Option<bool>,
    /// Whether sendmail.cf is regenerated even when it holds hand edits (losing them).
    #[serde(default)]
    pub discard_cf_edits: Option<bool>,
    #[serde(default)]
    pub probe: Option<ProbeAnswers>,
}

/// What `probe` needs to run unattended. Never a password: the name of the environment
/// variable that holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeAnswers {
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub relay_to: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub source_ip: Option<IpAddr>,
}

/// Accepts `[LOGIN, PLAIN]` or `"LOGIN PLAIN"`; upper-cases; refuses anything that is not a
/// mechanism name (it ends up inside m4 quotes in sendmail.mc, so a stray quote or comma must
/// not get through).
fn mechanisms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct V;
    fn check<E: de::Error>(v: Vec<String>) -> Result<Option<Vec<String>>, E> {
        if v.is_empty() {
            return Err(E::custom("empty; give at least one, e.g. [LOGIN, PLAIN]"));
        }
        for m in &v {
            if m.is_empty()
                || !m
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(E::custom(format!(
                    "{m:?} is not a SASL mechanism name (letters, digits, - and _ only, e.g. LOGIN)"
                )));
            }
        }
        Ok(Some(
            v.into_iter().map(|m| m.to_ascii_uppercase()).collect(),
        ))
    }
    impl<'de> Visitor<'de> for V {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(
                "a list of SASL mechanisms such as [LOGIN, PLAIN], or one string \"LOGIN PLAIN\"",
            )
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            check(s.split_whitespace().map(str::to_string).collect())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut v = vec![];
            while let Some(m) = a.next_element::<String>()? {
                v.push(m);
            }
            check(v)
        }
    }
    d.deserialize_any(V)
}

/// Parses answers text; `source` names it in errors, which always carry "line N" when the
/// parser knows where the problem is.
pub fn parse(source: &str, text: &str) -> Result<Answers, String> {
    // An empty file (or only comments) means every default, like an empty command line.
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Answers::default());
    }
    serde_yaml::from_str::<Answers>(text).map_err(|e| describe(source, &e))
}

/// `FILE: line N column C: probe.user: invalid type ...`: the location first, where a reader
/// looks, then serde's message (which names the key) without its own trailing position.
fn describe(source: &str, e: &serde_yaml::Error) -> String {
    let mut msg = e.to_string();
    if let Some(i) = msg.rfind(" at line ") {
        if msg[i + " at line ".len()..]
            .split(' ')
            .next()
            .is_some_and(|n| n.parse::<usize>().is_ok())
        {
            msg.truncate(i);
        }
    }
    if msg.contains("unknown field `password`") {
        msg.push_str(" (a password never goes into the answers file: name the environment variable that holds it with password_env)");
    }
    match e.location() {
        Some(l) => format!(
            "answers file {source}: line {} column {}: {msg}",
            l.line(),
            l.column()
        ),
        None => format!("answers file {source}: {msg}"),
    }
}

/// Reads and parses an answers file.
pub fn load(path: &Path) -> Result<Answers, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read answers file {}: {e}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

impl Answers {
    /// The profile to load: a built-in id stays an id (the engine knows it), a path is taken
    /// relative to the answers file's directory.
    pub fn profile_path(&self, answers_file: &Path) -> Option<PathBuf> {
        let p = self.profile.as_deref()?;
        if !p.contains('/') && crate::engine::profile::builtin_ids().contains(&p) {
            return Some(PathBuf::from(p));
        }
        let path = Path::new(p);
        Some(if path.is_absolute() {
            path.to_path_buf()
        } else {
            answers_file.parent().unwrap_or(Path::new(".")).join(path)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_says_the_defaults() {
        let a = parse("example", EXAMPLE).unwrap();
        assert_eq!(a.mechanisms, Some(vec!["LOGIN".into(), "PLAIN".into()]));
        assert_eq!(a.install_packages, Some(true));
        assert_eq!(a.restart, Some(true));
        assert_eq!(a.discard_cf_edits, Some(false));
        assert_eq!(a.keep_relay, Some(vec![]));
        assert_eq!(a.prune_relay_domains, Some(false));
        let p = a.probe.unwrap();
        assert_eq!(p.relay_to.as_deref(), Some(crate::smtp::DEFAULT_RELAY_TO));
        assert_eq!(p.from.as_deref(), Some(""));
    }

    #[test]
    fn every_key_of_the_struct_is_documented_in_the_example() {
        for k in [
            "profile:",
            "mechanisms:",
            "keep_relay:",
            "keep_features:",
            "prune_relay_domains:",
            "install_packages:",
            "restart:",
            "discard_cf_edits:",
            "probe:",
            "target:",
            "user:",
            "password_env:",
            "relay_to:",
            "from:",
            "source_ip:",
        ] {
            assert!(EXAMPLE.contains(k), "the example lacks {k}");
        }
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_line() {
        let e = parse("a.yaml", "restart: false\nrestrat: false\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("restrat") && e.contains("a.yaml"),
            "{e}"
        );
        // On the first line too (serde_yaml leaves the position out of its own text there).
        let e = parse("a.yaml", "bogus: 1\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("bogus"), "{e}");
        let e = parse("a.yaml", "probe:\n  user: bob\n  password: secret\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("password"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key_and_the_line() {
        let e = parse("a.yaml", "restart: true\ninstall_packages: maybe\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("install_packages") && e.contains("boolean"),
            "{e}"
        );
        let e = parse("a.yaml", "keep_relay:\n  - {net: 192.168}\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("keep_relay") && e.contains("expected a string"),
            "{e}"
        );
        // A key that YAML could read as a number stays the text that was written.
        let a = parse("a.yaml", "keep_relay: [192.168, 10.0]\n").unwrap();
        assert_eq!(a.keep_relay, Some(vec!["192.168".into(), "10.0".into()]));
        let e = parse("a.yaml", "\nprobe:\n  source_ip: not-an-ip\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("source_ip"), "{e}");
        let e = parse("a.yaml", "mechanisms: 5\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("mechanisms"), "{e}");
        let e = parse("a.yaml", "restart: false\nmechanisms: \"LOGIN,PLAIN\"\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("not a SASL mechanism name"),
            "{e}"
        );
        let e = parse("a.yaml", "- a\n- b\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn mechanisms_as_a_string_or_a_list() {
        let a = parse("a", "mechanisms: login plain\n").unwrap();
        assert_eq!(a.mechanisms, Some(vec!["LOGIN".into(), "PLAIN".into()]));
        let a = parse("a", "mechanisms: [DIGEST-MD5, CRAM-MD5, LOGIN, PLAIN]\n").unwrap();
        assert_eq!(a.mechanisms.unwrap().len(), 4);
        let a = parse("a", "mechanisms:\n").unwrap();
        assert_eq!(a.mechanisms, None);
    }

    #[test]
    fn empty_and_comment_only_files_mean_the_defaults() {
        assert_eq!(parse("a", "").unwrap(), Answers::default());
        assert_eq!(parse("a", "# nothing\n\n").unwrap(), Answers::default());
    }

    #[test]
    fn profiles_are_ids_or_paths_next_to_the_answers_file() {
        let f = Path::new("/etc/smtpauth-wizard/answers.yaml");
        let a = parse("a", "profile: debian\n").unwrap();
        assert_eq!(a.profile_path(f), Some(PathBuf::from("debian")));
        let a = parse("a", "profile: mine.yaml\n").unwrap();
        assert_eq!(
            a.profile_path(f),
            Some(PathBuf::from("/etc/smtpauth-wizard/mine.yaml"))
        );
        let a = parse("a", "profile: /srv/p.yaml\n").unwrap();
        assert_eq!(a.profile_path(f), Some(PathBuf::from("/srv/p.yaml")));
    }
}
