//! One module per HOWTO step, in the HOWTO's order. Each implements [`Step`]: a read-only
//! `check` that reports what it found and the exact changes it would make.

use crate::engine::step::{Options, Step};
use crate::engine::Engine;
use std::path::Path;

pub mod backup;
pub mod live;
pub mod os;
pub mod outcome;
pub mod packages;
pub mod pam;
pub mod privileges;
pub mod relay_access;
pub mod relay_domains;
pub mod relay_features;
pub mod sasl;
pub mod sendmail_cf;
pub mod sendmail_mc;
pub mod submission;
pub mod tls;
pub mod tls_cert;
pub mod tls_live;

/// Opens the wizard's engine on `root_dir` with every step of [`all`]: the one place where the
/// engine is given its steps (the CLI and the TUI both open it here).
pub fn open(
    root_dir: &Path,
    profile_file: Option<&Path>,
    opts: Options,
) -> Result<Engine, crate::engine::Error> {
    Engine::new(root_dir, profile_file, opts, all())
}

/// The ids of [`all`], in order (`--only` and `--step` accept these and `--help` lists them).
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|s| s.id()).collect()
}

/// Every step, in order. Ids are stable: they appear on the command line and in journals.
pub fn all() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(os::Os),
        Box::new(privileges::Privileges),
        Box::new(packages::Packages),
        Box::new(backup::Backup),
        Box::new(sendmail_mc::SendmailMc),
        Box::new(sendmail_cf::SendmailCf),
        Box::new(pam::Pam),
        Box::new(sasl::Sasl),
        Box::new(tls::Tls),
        Box::new(submission::Submission),
        Box::new(relay_access::RelayAccess),
        Box::new(relay_domains::RelayDomains),
        Box::new(relay_features::RelayFeatures),
        Box::new(live::Restart),
        Box::new(live::Ehlo),
    ]
}

/// Splits text into lines keeping each line's own ending (`\n`, `\r\n`, or none at the end).
pub fn lines_with_endings(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The line ending a file mostly uses, for lines we add.
pub fn eol_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// How a file's bytes became the text the steps read and edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Valid UTF-8 (ASCII included): the text is the bytes.
    Utf8,
    /// Not valid UTF-8 (a Latin-1 comment, one stray byte in a UTF-8 file): each byte is one
    /// character, byte `b` as U+00`b`, for the whole file, so that every byte the edits do not
    /// touch is written back exactly. m4, sendmail, makemap, PAM and libsasl read bytes and
    /// never care; only the ASCII the edits add must stay ASCII.
    Bytes,
}

impl Encoding {
    /// The bytes of `text` in this encoding. Fails (never panics) on a character that has no
    /// single byte, which the edits never add: they write ASCII.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
            Encoding::Bytes => text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c)).map_err(|_| {
                        format!(
                            "the new text has the character {c} (U+{:04X}), which cannot be \
                             written into a file that is not UTF-8 without changing its other \
                             bytes",
                            u32::from(c)
                        )
                    })
                })
                .collect(),
        }
    }
}

/// A text file as read: its text (see [`Encoding`]) and how to turn edited text back into
/// bytes. Derefs to the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    pub encoding: Encoding,
}

impl Default for Text {
    /// An empty text, written as UTF-8 (a file that does not exist yet).
    fn default() -> Self {
        Text {
            text: String::new(),
            encoding: Encoding::Utf8,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl Text {
    /// Decodes a file's bytes losslessly, or says why they are not a text file at all: a NUL
    /// byte or another control character that no configuration file holds (a binary file,
    /// UTF-16 text). The reason names the byte offset and the line.
    pub fn decode(bytes: Vec<u8>) -> Result<Text, String> {
        if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            return Err(
                "not a text file the mail tools can read: it is UTF-16 (it starts with \
                        a UTF-16 byte order mark); m4 and sendmail read bytes, so convert it \
                        to ASCII or UTF-8 first"
                    .to_string(),
            );
        }
        // Tab, LF, VT, FF, CR and ^Z (the end-of-file mark of DOS editors) occur in real text.
        let bad = bytes.iter().position(|&b| {
            b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1a) || b == 0x7f
        });
        if let Some(at) = bad {
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            return Err(format!(
                "not a text file: byte {at} (line {line}) is the control character 0x{:02x}{}; \
                 it does not look like a configuration file, so it was left alone",
                bytes[at],
                if bytes[at] == 0 { " (NUL)" } else { "" }
            ));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Text {
                text,
                encoding: Encoding::Utf8,
            }),
            Err(e) => Ok(Text {
                text: e.into_bytes().iter().map(|&b| char::from(b)).collect(),
                encoding: Encoding::Bytes,
            }),
        }
    }

    /// The bytes of an edited version of this text, in this file's encoding.
    pub fn encode(&self, edited: &str) -> Result<Vec<u8>, String> {
        self.encoding.encode(edited)
    }

    /// Another text in this file's encoding (an edited version of it).
    pub fn with(&self, text: String) -> Text {
        Text {
            text,
            encoding: self.encoding,
        }
    }
}

/// Reads a text file through the view, with errors that name it. Files that are not UTF-8
/// are decoded byte for byte ([`Encoding::Bytes`]), never lossily.
pub fn read_text(
    view: &crate::engine::step::PlannedOverlay,
    target: &str,
) -> Result<Option<Text>, String> {
    match view.read(target) {
        Ok(None) => Ok(None),
        Ok(Some(b)) => Text::decode(b)
            .map(Some)
            .map_err(|e| format!("{}: {e}", view.root.display(target))),
        Err(e) => Err(e.to_string()),
    }
}

/// "PATH does not exist", naming the symbolic links on the way when there are any: with a
/// dangling `/etc/mail -> /srv/mail` the admin must learn about the link, not that sendmail
/// seems to be missing.
pub fn does_not_exist(root: &crate::engine::root::Root, target: &str) -> String {
    let shown = root.display(target);
    match root.resolve(target) {
        Ok(r) if !r.via_links.is_empty() => {
            let links: Vec<String> = r
                .via_links
                .iter()
                .map(|l| {
                    let to = std::fs::read_link(root.join(l))
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    format!("{} -> {to}", root.display(l))
                })
                .collect();
            format!(
                "{shown} does not exist: it is reached through the symbolic {} {}, which {} to {}, and nothing is there",
                if links.len() == 1 { "link" } else { "links" },
                links.join(", "),
                if links.len() == 1 { "leads" } else { "lead" },
                root.display(&r.target)
            )
        }
        _ => format!("{shown} does not exist"),
    }
}

/// The profile, or a `blocked` finding when the system was not recognised (the os step says why).
pub fn profile_or_block<'a>(
    cx: &'a crate::engine::step::Context,
    r: &mut crate::engine::step::StepReport,
) -> Option<&'a crate::engine::profile::Profile> {
    if cx.profile.is_none() {
        r.block(
            "no profile: the system was not recognised (see the os step)",
            None,
        );
    }
    cx.profile.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_that_is_not_utf8_comes_back_exactly() {
        let all: Vec<u8> = (0x80..=0xffu8).chain(*b"ok\r\n\t\x0b\x0c\x1a").collect();
        let t = Text::decode(all.clone()).unwrap();
        assert_eq!(t.encoding, Encoding::Bytes);
        assert_eq!(t.text.chars().count(), all.len());
        assert_eq!(t.encode(&t.text).unwrap(), all);
        // An edit adds ASCII; the other bytes stay.
        let edited = format!("dnl added\n{}", t.text);
        let mut want = b"dnl added\n".to_vec();
        want.extend(&all);
        assert_eq!(t.encode(&edited).unwrap(), want);
        // A character with no single byte cannot be written into such a file.
        let e = t.encode("caf\u{e9} \u{2019}").unwrap_err();
        assert!(e.contains("U+2019"), "{e}");
        // UTF-8 stays UTF-8, BOM included.
        let u = "\u{feff}dnl caf\u{e9} \u{2615}\n";
        let t = Text::decode(u.as_bytes().to_vec()).unwrap();
        assert_eq!(t.encoding, Encoding::Utf8);
        assert_eq!(&*t, u);
        assert_eq!(t.encode(u).unwrap(), u.as_bytes());
        // Mostly UTF-8 with one stray byte: the whole file one character per byte.
        let mut b = u.as_bytes().to_vec();
        b.push(0xe9);
        let t = Text::decode(b.clone()).unwrap();
        assert_eq!(t.encoding, Encoding::Bytes);
        assert_eq!(t.encode(&t.text).unwrap(), b);
    }

    #[test]
    fn binary_files_are_not_text() {
        let e = Text::decode(b"divert(-1)\nab\0c\n".to_vec()).unwrap_err();
        assert!(
            e.contains("byte 13 (line 2) is the control character 0x00 (NUL)"),
            "{e}"
        );
        let e = Text::decode(vec![0xff, 0xfe, b'd', 0]).unwrap_err();
        assert!(e.contains("UTF-16"), "{e}");
        let e = Text::decode(b"\x1b[1mx".to_vec()).unwrap_err();
        assert!(
            e.contains("byte 0 (line 1) is the control character 0x1b"),
            "{e}"
        );
        assert!(Text::decode(b"x\x1a".to_vec()).is_ok());
        assert!(Text::decode(Vec::new()).is_ok());
    }
}
