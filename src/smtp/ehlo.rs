//! What an EHLO reply says about the server: its capabilities, the AUTH mechanisms, STARTTLS.

use super::reply::Reply;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ehlo {
    /// The first line: `dude.com Hello dude.com [127.0.0.1], pleased to meet you`.
    pub hello: String,
    /// Every later line as sent (`ENHANCEDSTATUSCODES`, `AUTH LOGIN PLAIN`, `HELP`).
    pub capabilities: Vec<String>,
    /// `None` when no AUTH line was sent; the mechanisms upper-cased, in the server's order,
    /// from both `AUTH LOGIN PLAIN` and the pre-RFC `AUTH=LOGIN PLAIN` form, without duplicates.
    pub auth_mechanisms: Option<Vec<String>>,
    pub starttls: bool,
}

impl Ehlo {
    pub fn parse(reply: &Reply) -> Ehlo {
        let mut out = Ehlo {
            hello: reply.lines.first().cloned().unwrap_or_default(),
            capabilities: reply.lines.iter().skip(1).cloned().collect(),
            ..Ehlo::default()
        };
        for cap in &out.capabilities {
            let upper = cap.trim().to_ascii_uppercase();
            let keyword_end = upper.find([' ', '=']).unwrap_or(upper.len());
            let (keyword, rest) = upper.split_at(keyword_end);
            match keyword {
                "STARTTLS" => out.starttls = true,
                "AUTH" => {
                    let mechs = out.auth_mechanisms.get_or_insert_with(Vec::new);
                    let rest = rest.strip_prefix(['=', ' ']).unwrap_or(rest);
                    for m in rest.split(|c: char| c.is_whitespace() || c == ',') {
                        if !m.is_empty() && !mechs.iter().any(|x| x == m) {
                            mechs.push(m.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Whether the server offers this mechanism (case-insensitive).
    pub fn offers(&self, mech: &str) -> bool {
        self.auth_mechanisms
            .as_ref()
            .is_some_and(|m| m.iter().any(|x| x.eq_ignore_ascii_case(mech)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::parse_reply;

    fn ehlo(text: &str) -> Ehlo {
        Ehlo::parse(&parse_reply(text.as_bytes()).unwrap())
    }

    #[test]
    fn howto_reply() {
        let e = ehlo(
            "250-dude.com Hello dude.com [127.0.0.1], pleased to meet you\r\n\
             250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250-ONEX\r\n\
             250-ETRN\r\n250-XUSR\r\n250-AUTH LOGIN PLAIN\r\n250 HELP\r\n",
        );
        assert_eq!(
            e.hello,
            "dude.com Hello dude.com [127.0.0.1], pleased to meet you"
        );
        assert_eq!(
            e.auth_mechanisms,
            Some(vec!["LOGIN".into(), "PLAIN".into()])
        );
        assert!(!e.starttls);
        assert!(e.offers("plain"));
        assert_eq!(e.capabilities.len(), 9);
    }

    #[test]
    fn old_form_and_both_forms() {
        let e = ehlo("250-x\r\n250-AUTH=LOGIN PLAIN\r\n250 STARTTLS\r\n");
        assert_eq!(
            e.auth_mechanisms,
            Some(vec!["LOGIN".into(), "PLAIN".into()])
        );
        assert!(e.starttls);
        let e = ehlo("250-x\r\n250-AUTH LOGIN CRAM-MD5\r\n250-AUTH=LOGIN\r\n250 OK\r\n");
        assert_eq!(
            e.auth_mechanisms,
            Some(vec!["LOGIN".into(), "CRAM-MD5".into()])
        );
    }

    #[test]
    fn no_auth_line_vs_empty_auth_line() {
        assert_eq!(ehlo("250-x\r\n250 HELP\r\n").auth_mechanisms, None);
        assert_eq!(ehlo("250-x\r\n250 AUTH\r\n").auth_mechanisms, Some(vec![]));
        assert_eq!(ehlo("250 x\r\n").auth_mechanisms, None);
        // AUTHX is another keyword, not AUTH.
        assert_eq!(ehlo("250-x\r\n250 AUTHX Y\r\n").auth_mechanisms, None);
    }

    #[test]
    fn lowercase_mechanisms_are_normalised() {
        let e = ehlo("250-x\r\n250 auth login plain\r\n");
        assert_eq!(
            e.auth_mechanisms,
            Some(vec!["LOGIN".into(), "PLAIN".into()])
        );
    }
}
