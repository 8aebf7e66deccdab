//! The choice lists of the screens (radio items and checkboxes) and the decisions the findings
//! of a step ask for.

use super::model::*;

/// The radio items of the Welcome screen when the journal holds an unfinished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeChoice {
    Resume,
    Rollback,
    StartOver,
}

pub const RESUME_CHOICES: [ResumeChoice; 3] = [
    ResumeChoice::Resume,
    ResumeChoice::Rollback,
    ResumeChoice::StartOver,
];

/// The two mechanism sets offered on the sendmail-mc screen.
pub const MECHS_DEFAULT: &[&str] = &["LOGIN", "PLAIN"];
pub const MECHS_HOWTO: &[&str] = &["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"];

/// The tls step's two choices: STARTTLS with `A p y` (the default), or `--no-tls`.
pub const TLS_CHOICES: [&str; 2] = [
    "Set up STARTTLS; offer PLAIN and LOGIN only inside it (recommended)",
    "No STARTTLS (--no-tls): passwords cross the network in the clear",
];

/// One line of a screen's choice list.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub label: String,
    pub selected: bool,
    /// Radio (one of) rather than checkbox.
    pub radio: bool,
}

impl Model {
    /// The choice list of the current screen (empty: none).
    pub fn choices(&self) -> Vec<Choice> {
        // The probe's TLS options (issue 11 item 5), as on the command line.
        if self.screen == Screen::Probe {
            return vec![
                Choice {
                    label: "do not verify the certificate (--no-verify-cert): still encrypted; \
                            a login is then tried only on this machine"
                        .into(),
                    selected: self.probe.tls.no_verify_cert,
                    radio: false,
                },
                Choice {
                    label: "require STARTTLS (--tls-required): a server without it fails".into(),
                    selected: self.probe.tls.tls_required,
                    radio: false,
                },
            ];
        }
        let Some(s) = &self.snap else { return vec![] };
        match (self.screen, self.current_step_id()) {
            (Screen::Welcome, _) if self.resume_at().is_some() => {
                let at = self.resume_at().unwrap();
                RESUME_CHOICES
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Choice {
                        label: match c {
                            ResumeChoice::Resume => {
                                format!("Resume at step {} ({})", at + 1, self.info.steps[at].0)
                            }
                            ResumeChoice::Rollback => {
                                "Roll back (choose what on the rollback screen)".into()
                            }
                            ResumeChoice::StartOver => {
                                "Start over (roll back everything, begin at step 1)".into()
                            }
                        },
                        selected: i == self.cursor,
                        radio: true,
                    })
                    .collect()
            }
            (Screen::Step(_), Some("sendmail-mc")) => {
                let cur = self.mechanisms();
                [MECHS_DEFAULT, MECHS_HOWTO]
                    .iter()
                    .enumerate()
                    .map(|(i, set)| Choice {
                        label: format!(
                            "{}{}",
                            set.join(" "),
                            if i == 0 {
                                " (recommended)"
                            } else {
                                " (the HOWTO's)"
                            }
                        ),
                        selected: cur.iter().map(String::as_str).eq(set.iter().copied()),
                        radio: true,
                    })
                    .collect()
            }
            (Screen::Step(_), Some("tls")) => TLS_CHOICES
                .iter()
                .enumerate()
                .map(|(i, label)| Choice {
                    label: label.to_string(),
                    selected: self.opts.tls == (i == 0),
                    radio: true,
                })
                .collect(),
            (Screen::Step(_), Some("relay-access")) if !self.step_settled() => s
                .relay
                .iter()
                .map(|r| Choice {
                    label: format!("disable line {}: {}", r.line, r.text.replace('\t', " ")),
                    selected: !self.kept_relay(&r.key),
                    radio: false,
                })
                .collect(),
            (Screen::Step(_), Some("relay-features")) if !self.step_settled() => s
                .features
                .iter()
                .map(|(f, line)| Choice {
                    label: format!("disable FEATURE({f}) (line {line})"),
                    selected: !self.opts.keep_features.contains(f),
                    radio: false,
                })
                .collect(),
            (Screen::Step(_), Some("submission")) => {
                // Issue 11 item 3: --no-submission and --submission-listener keep.
                let mut v = vec![Choice {
                    label: "open the submission port 587 to the network, M=Ea: mail clients \
                            must log in there (port 25 stays for mail from other servers)"
                        .into(),
                    selected: self.opts.submission,
                    radio: false,
                }];
                if self.opts.submission {
                    v.push(Choice {
                        label: "keep the port-587 listeners as they are when sendmail.mc \
                                does not decide (one bound to a LAN address, several on \
                                loopback)"
                            .into(),
                        selected: self
                            .opts
                            .submission_listener
                            .as_deref()
                            .is_some_and(|l| l.eq_ignore_ascii_case("keep")),
                        radio: false,
                    });
                }
                v
            }
            (Screen::Step(_), Some("relay-domains")) if !s.extra_domains.is_empty() => {
                vec![Choice {
                    label: format!(
                        "remove {} (domains this server does not host)",
                        s.extra_domains.join(", ")
                    ),
                    selected: self.opts.prune_relay_domains,
                    radio: false,
                }]
            }
            (Screen::Rollback, _) if !s.journal.applied.is_empty() => {
                let mut v = vec![Choice {
                    label: "every applied step, newest first".into(),
                    selected: self.cursor == 0,
                    radio: true,
                }];
                for (i, a) in s.journal.applied.iter().enumerate() {
                    v.push(Choice {
                        label: format!("step {}", a.id),
                        selected: self.cursor == i + 1,
                        radio: true,
                    });
                }
                v
            }
            // A choice only the user can make, named by the step's findings (sendmail-cf:
            // regenerate over hand edits?): one checkbox each, the flag's question.
            (Screen::Step(i), _) => self
                .decisions(i)
                .into_iter()
                .map(|d| Choice {
                    label: format!("{} ({})", self.info.served(&d.question), d.flag),
                    selected: self.opts.decision(d.key),
                    radio: false,
                })
                .collect(),
            _ => vec![],
        }
    }

    /// The decisions the findings of step `i` ask for, each once.
    pub fn decisions(&self, i: usize) -> Vec<crate::engine::step::Decision> {
        let mut v: Vec<crate::engine::step::Decision> = vec![];
        for d in self
            .reports()
            .get(i)
            .into_iter()
            .flat_map(|r| &r.findings)
            .filter_map(|f| f.decision.clone())
        {
            if !v.iter().any(|x| x.key == d.key) {
                v.push(d);
            }
        }
        v
    }

    pub(super) fn kept_relay(&self, key: &str) -> bool {
        self.opts
            .keep_relay
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
    }

    pub fn has_choices(&self) -> bool {
        !self.choices().is_empty()
    }
}
