//! The JSON objects the commands print (docs/json.md), as types: the fields each command's
//! object has are written down once, here, instead of in `json!` literals at each print.
//!
//! The top-level fields are in alphabetical order, and nested values go through [`Sorted`]:
//! these objects used to be `serde_json::Value`s (whose maps sort their keys), and the output
//! stays byte for byte what it was (tests/json_shape.rs and the goldens hold it to that).

use crate::engine::journal::Run;
use crate::engine::ApplySummary;
use serde::{Serialize, Serializer};

/// A nested value printed with its keys sorted at every level, as a `serde_json::Value` prints.
pub(super) struct Sorted<'a, T: Serialize + ?Sized>(pub &'a T);

impl<T: Serialize + ?Sized> Serialize for Sorted<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(self.0)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// `answers --example`.
#[derive(Serialize)]
pub(super) struct AnswersExample<'a> {
    pub example: &'a str,
}

/// `answers FILE`: the file is valid, and what it sets.
#[derive(Serialize)]
pub(super) struct AnswersValid<'a, T: Serialize> {
    pub answers: Sorted<'a, T>,
    pub file: String,
    pub valid: bool,
}

/// `generate ...`: the files written.
#[derive(Serialize)]
pub(super) struct Generated<'a> {
    pub files: &'a [String],
}

/// `status`, the journal read.
#[derive(Serialize)]
pub(super) struct Status<'a> {
    pub backups: &'a [String],
    pub changed_since_written: &'a [String],
    pub journal: String,
    pub runs: Sorted<'a, [Run]>,
}

/// `status`, the journal unreadable: what can be shown (the `.bak` files).
#[derive(Serialize)]
pub(super) struct StatusUnreadable<'a> {
    pub backups: &'a [String],
    pub error: &'a str,
    pub journal: String,
}

/// `apply` and `resume`: `summary` is null when nothing was applied; `resumed` is there only
/// for a `resume` that found nothing to resume.
#[derive(Serialize)]
pub(super) struct Applied<'a> {
    pub changed: bool,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    pub summary: Option<Sorted<'a, ApplySummary>>,
}

/// `rollback --from-backups`.
#[derive(Serialize)]
pub(super) struct Restored<'a> {
    pub changed: bool,
    pub message: &'a str,
    pub restored: &'a [String],
}

/// `rollback`.
#[derive(Serialize)]
pub(super) struct RolledBack<'a> {
    pub changed: bool,
    pub message: &'a str,
    pub rolled_back: &'a [String],
}

/// One line of compact JSON, as `serde_json::Value`'s `Display` writes it.
pub(super) fn line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each object prints byte for byte what the `json!` literal it replaced printed, compact
    /// and pretty, with the values that differ in type (null, nested objects, lists).
    #[test]
    fn the_objects_print_what_the_literals_printed() {
        let sum = ApplySummary {
            run: Some("r1".into()),
            applied: vec!["sasl".into()],
            files: vec!["/etc/mail/sendmail.mc".into()],
            notes: vec!["n".into()],
            ..Default::default()
        };
        let list = vec!["a".to_string(), "b\u{9b}".to_string()];
        let run: Run = serde_yaml::from_str(
            "id: r\nstarted: s\nprofile: debian\nprogram_version: '1'\nsteps:\n- id: sasl\n  state: done\n  started: s\n  files: []\n  commands: []\n",
        )
        .unwrap();
        let runs = vec![run];
        let cases: Vec<(String, serde_json::Value)> = vec![
            (
                line(&Applied {
                    changed: false,
                    message: "m",
                    resumed: Some(false),
                    summary: None,
                }),
                json!({ "changed": false, "resumed": false, "message": "m", "summary": null }),
            ),
            (
                line(&Applied {
                    changed: true,
                    message: "m",
                    resumed: None,
                    summary: Some(Sorted(&sum)),
                }),
                json!({ "changed": true, "message": "m", "summary": sum }),
            ),
            (
                line(&Restored {
                    changed: true,
                    message: "m",
                    restored: &list,
                }),
                json!({ "changed": true, "message": "m", "restored": list }),
            ),
            (
                line(&RolledBack {
                    changed: false,
                    message: "m",
                    rolled_back: &[],
                }),
                json!({ "changed": false, "message": "m", "rolled_back": [] }),
            ),
            (
                line(&StatusUnreadable {
                    backups: &list,
                    error: "e",
                    journal: "j".into(),
                }),
                json!({ "journal": "j", "error": "e", "backups": list }),
            ),
            (
                line(&Status {
                    backups: &list,
                    changed_since_written: &[],
                    journal: "j".into(),
                    runs: Sorted(&runs[..]),
                }),
                json!({ "journal": "j", "runs": runs, "changed_since_written": [], "backups": list }),
            ),
            (
                line(&AnswersExample { example: "x: 1\n" }),
                json!({ "example": "x: 1\n" }),
            ),
            (
                line(&AnswersValid {
                    answers: Sorted(&sum),
                    file: "f".into(),
                    valid: true,
                }),
                json!({ "file": "f", "valid": true, "answers": sum }),
            ),
            (line(&Generated { files: &list }), json!({ "files": list })),
        ];
        for (got, want) in cases {
            assert_eq!(got, want.to_string());
            let v: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(
                crate::term::json_pretty(&v).unwrap(),
                crate::term::json_pretty(&want).unwrap()
            );
        }
        // Pretty through the escaping formatter, as `status` and `answers FILE` print.
        assert_eq!(
            crate::term::json_pretty(&Status { backups: &list, changed_since_written: &list, journal: "j".into(), runs: Sorted(&runs[..]) }).unwrap(),
            crate::term::json_pretty(&json!({ "journal": "j", "runs": runs, "changed_since_written": list, "backups": list })).unwrap()
        );
    }
}
