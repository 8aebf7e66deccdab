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
    /// confAUTH_OPTIONS letters, exactly ("A p y").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_options: Option<String>,
    /// TRUST_AUTH_MECH, exactly: a list, or one string.
    #[serde(
        default,
        deserialize_with = "mechanisms",
        skip_serializing_if = "Option::is_none"
    )]
    pub trust_mechanisms: Option<Vec<String>>,
    #[serde(default)]
    pub keep_relay: Option<Vec<String>>,
    #[serde(default)]
    pub keep_features: Option<Vec<String>>,
    #[serde(default)]
    pub prune_relay_domains: Option<bool>,
    /// HOWTO step 4: the Name= of the loopback port-25 listener to open to the network.
    #[serde(default)]
    pub open_listener: Option<String>,
    /// Issue 11 item 3: `false` skips the submission step (`--no-submission`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<bool>,
    /// The Name= of the port-587 listener to open, or `keep` (`--submission-listener`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_listener: Option<String>,
    /// Whether the packages step may run the install command.
    #[serde(default)]
    pub install_packages: Option<bool>,
    /// Whether the restart step may restart sendmail.
    #[serde(default)]
    pub restart: Option<bool>,
    /// Whether sendmail.cf is regenerated even when it holds hand edits (losing them).
    #[serde(default)]
    pub discard_cf_edits: Option<bool>,
    /// Whether sendmail is installed although another MTA is, which the package manager removes.
    #[serde(default)]
    pub replace_mta: Option<bool>,
    /// Who may log in through PAM: only members of this group (`--login-group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_group: Option<String>,
    /// With `login_group`: the lowest uid that may log in (`--login-min-uid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_min_uid: Option<u32>,
    /// `saslauthd` or `sasldb` (`--password-source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_source: Option<crate::engine::step::PasswordSource>,
    /// Whether the tls step sets up STARTTLS and `A p y` (false is `--no-tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// `--tls-cert FILE`: the certificate to use where it is (relative to the answers file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE`: its private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
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
    /// `--allow-plaintext`: the password may cross the network without TLS to a server that
    /// offers no STARTTLS. Left out of the JSON when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_plaintext: Option<bool>,
    /// `auto` (STARTTLS when offered), `off` (`--no-starttls`), `required` (`--tls-required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::smtp::TlsMode>,
    /// `false` is `--no-verify-cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_cert: Option<bool>,
    /// `--tls-ca FILE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// `--tls-name NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_name: Option<String>,
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
            if m.eq_ignore_ascii_case("ANONYMOUS") {
                return Err(E::custom(
                    "ANONYMOUS proves nothing about the client, and trusting it for relaying \
                     makes an open relay; leave it out",
                ));
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
pub fn load(path: &Path) -> Result<Answers, crate::engine::Error> {
    let text = crate::engine::trust::read_instructions(path, "answers file")?;
    let file = path.display().to_string();
    // The message names the file and the line; `what` is the same sentence (serde's words for
    // what is wrong are not split from the location reliably).
    let bad = |m: String| crate::engine::Error::bad_input(file.clone(), m.clone(), m);
    let a = parse(&file, &text).map_err(bad)?;
    a.check_profile(path, &text).map_err(bad)?;
    Ok(a)
}

impl Answers {
    /// `profile:` names a built-in profile or a file that exists: a typo (`debain`) is an error
    /// here, naming the line and the built-in ids, not a later "No such file or directory".
    pub fn check_profile(&self, answers_file: &Path, text: &str) -> Result<(), String> {
        let Some(p) = self.profile.as_deref() else {
            return Ok(());
        };
        let ids = crate::engine::profile::builtin_ids();
        let Some(path) = self.profile_path(answers_file) else {
            return Ok(());
        };
        if ids.contains(&p) || (p.contains('/') && path.is_file()) {
            return Ok(());
        }
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("profile:"))
            .map(|i| format!("line {}: ", i + 1))
            .unwrap_or_default();
        let near: Vec<&&str> = ids
            .iter()
            .filter(|id| p.eq_ignore_ascii_case(id) || close(p, id))
            .collect();
        let near = near
            .first()
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        if !p.contains('/') {
            // Without a `/` it is an id and nothing else: never a file of that name.
            return Err(format!(
                "answers file {}: {line}profile: `{p}` is not a built-in profile ({}){near}; a \
                 profile file is given as a path, such as ./{p}",
                answers_file.display(),
                ids.join(", "),
            ));
        }
        Err(format!(
            "answers file {}: {line}profile: `{p}` is not a profile file ({} {}), and a path is \
             never a built-in profile ({}){near}",
            answers_file.display(),
            path.display(),
            if path.exists() {
                "is not a file"
            } else {
                "does not exist"
            },
            ids.join(", "),
        ))
    }

    /// The profile to load: a value without a `/` is a built-in id and nothing else (the
    /// engine refuses an unknown one, naming the built-in ones); a path is taken relative to
    /// the answers file's directory.
    pub fn profile_path(&self, answers_file: &Path) -> Option<PathBuf> {
        let p = self.profile.as_deref()?;
        if !p.contains('/') {
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

/// Whether two ids differ by at most two single-letter edits (typos like `debain`).
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()] <= 2
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
        assert_eq!(a.replace_mta, Some(false));
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
            "auth_options:",
            "trust_mechanisms:",
            "keep_relay:",
            "keep_features:",
            "prune_relay_domains:",
            "open_listener:",
            "submission:",
            "submission_listener:",
            "install_packages:",
            "restart:",
            "discard_cf_edits:",
            "replace_mta:",
            "login_group:",
            "login_min_uid:",
            "password_source:",
            "tls:",
            "tls_cert:",
            "tls_key:",
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
    fn who_may_log_in_keys() {
        use crate::engine::step::PasswordSource;
        let a = parse(
            "a.yaml",
            "login_group: smtpusers\nlogin_min_uid: 1000\npassword_source: sasldb\n",
        )
        .unwrap();
        assert_eq!(a.login_group.as_deref(), Some("smtpusers"));
        assert_eq!(a.login_min_uid, Some(1000));
        assert_eq!(a.password_source, Some(PasswordSource::Sasldb));
        let e = parse("a.yaml", "password_source: shadow\n").unwrap_err();
        assert!(e.contains("password_source") && e.contains("line 1"), "{e}");
        let e = parse("a.yaml", "login_min_uid: -1\n").unwrap_err();
        assert!(e.contains("login_min_uid"), "{e}");
    }

    #[test]
    fn open_listener_is_a_name() {
        let a = parse("a.yaml", "open_listener: MTA-v6\n").unwrap();
        assert_eq!(a.open_listener.as_deref(), Some("MTA-v6"));
        let e = parse("a.yaml", "open_listener: [MTA-v6]\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("open_listener"), "{e}");
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
    fn auth_options_and_trust_mechanisms_and_no_anonymous() {
        let a = parse(
            "a",
            "auth_options: A p y\ntrust_mechanisms: login plain external\n",
        )
        .unwrap();
        assert_eq!(a.auth_options.as_deref(), Some("A p y"));
        assert_eq!(
            a.trust_mechanisms,
            Some(vec!["LOGIN".into(), "PLAIN".into(), "EXTERNAL".into()])
        );
        for text in [
            "mechanisms: [LOGIN, anonymous]\n",
            "restart: true\ntrust_mechanisms: LOGIN ANONYMOUS\n",
        ] {
            let e = parse("a.yaml", text).unwrap_err();
            assert!(e.contains("open relay") && e.contains("line"), "{e}");
        }
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
        // Without a `/`, an id even when it is not a built-in one (the engine refuses it):
        // never a file of that name.
        let a = parse("a", "profile: mine.yaml\n").unwrap();
        assert_eq!(a.profile_path(f), Some(PathBuf::from("mine.yaml")));
        let a = parse("a", "profile: ./mine.yaml\n").unwrap();
        assert_eq!(
            a.profile_path(f),
            Some(PathBuf::from("/etc/smtpauth-wizard/./mine.yaml"))
        );
        let a = parse("a", "profile: /srv/p.yaml\n").unwrap();
        assert_eq!(a.profile_path(f), Some(PathBuf::from("/srv/p.yaml")));
    }
}
