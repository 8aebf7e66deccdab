//! Listener addresses and ports as sendmail reads them: service names, inet_aton forms, loopback,
//! and which (family, port, address) pairs overlap on Linux.

use super::*;

/// Host names that stand for the loopback address in every distribution's hosts file.
pub(super) const LOOPBACK_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "localhost4",
    "localhost4.localdomain4",
    "localhost6",
    "localhost6.localdomain6",
    "ip6-localhost",
    "ip6-loopback",
];

/// A listener's address family, as sendmail's `Family=` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Inet,
    Inet6,
    Other,
}

/// A listener's port: a number, or a service name sendmail looks up in /etc/services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Port {
    Num(u16),
    Service(String),
}

pub(crate) fn port_of(p: &str) -> Port {
    let p = p.trim();
    if p.starts_with(|c: char| c.is_ascii_digit()) {
        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
        return match digits.parse::<u32>() {
            Ok(n) => Port::Num((n & 0xffff) as u16), // htons((unsigned short) atoi(port))
            Err(_) => Port::Service(p.to_string()),
        };
    }
    // getservbyname(3) compares names exactly, as /etc/services spells them (`mail` is an
    // alias of smtp there); a name it does not know stops the daemon at start (checked with
    // sendmail 8.17: `service "SMTP" unknown`, and it exits).
    match known_service(p) {
        Some(n) => Port::Num(n),
        None => Port::Service(p.to_string()),
    }
}

/// The mail ports of /etc/services (Debian, Red Hat), by their exact names and aliases.
pub(super) fn known_service(name: &str) -> Option<u16> {
    match name {
        "smtp" | "mail" => Some(25),
        "submission" => Some(587),
        "smtps" | "ssmtp" | "submissions" | "urd" => Some(465),
        _ => None,
    }
}

/// A port name that is one of the mail services in the wrong case (`SMTP`, `Submission`):
/// sendmail does not know it and its daemon does not start. Returns the right spelling.
pub(crate) fn miscased_service(p: &str) -> Option<&'static str> {
    let p = p.trim();
    if known_service(p).is_some() {
        return None;
    }
    [
        "smtp",
        "mail",
        "submission",
        "smtps",
        "ssmtp",
        "submissions",
        "urd",
    ]
    .into_iter()
    .find(|k| p.eq_ignore_ascii_case(k))
}

/// What a listener's socket is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    /// No Addr, or the unspecified address (0.0.0.0, ::): every address of the family. On
    /// Linux an inet6 socket on every address also takes every IPv4 address (sendmail never
    /// sets IPV6_V6ONLY).
    Any,
    /// A numeric address of the listener's family (an inet6 listener may have a v4-mapped one).
    Ip(std::net::IpAddr),
    /// A host name that sendmail looks up when it starts.
    Name(String),
    /// Not an address of the listener's family (`Family=inet, Addr=::1`, or an IPv4 address
    /// on an inet6 listener): sendmail looks it up as a host name, and when that fails
    /// (`host "::1" unknown`) its daemon does not start (checked with sendmail 8.17).
    Wrong(String),
}

pub(super) fn ip_is_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The IPv4 address `inet_addr(3)` reads (what sendmail uses for `Family=inet`): one to four
/// parts, each decimal, octal (leading 0) or hex (0x), the last filling the remaining bytes.
pub(crate) fn inet_aton(s: &str) -> Option<std::net::Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or(p.strip_prefix("0X")) {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let room = 32 - 8 * head.len() as u32;
    if room < 32 && *last >= 1u32 << room {
        return None;
    }
    let mut v: u32 = 0;
    for (i, n) in head.iter().enumerate() {
        v |= n << (24 - 8 * i as u32);
    }
    Some(std::net::Ipv4Addr::from(v | last))
}

/// Whether two listeners' sockets can be bound at the same time on Linux, where sendmail
/// sets SO_REUSEADDR but never IPV6_V6ONLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// They collide: the one sendmail opens second fails with "Address already in use".
    Yes,
    No,
    /// It depends on what a host name resolves to when sendmail starts.
    Unknown,
}

pub(crate) fn overlap(a: (Family, &Port, &Bind), b: (Family, &Port, &Bind)) -> Overlap {
    use std::net::IpAddr;
    if a.0 == Family::Other || b.0 == Family::Other || a.1 != b.1 {
        return Overlap::No;
    }
    // A `Wrong` address that does resolve can be anything: assume the worst.
    let norm = |x: &Bind| match x {
        Bind::Wrong(_) => Bind::Any,
        other => other.clone(),
    };
    let (fa, ba, fb, bb) = (a.0, norm(a.2), b.0, norm(b.2));
    let same_family = |x: &Bind, y: &Bind| match (x, y) {
        (Bind::Any, _) | (_, Bind::Any) => Overlap::Yes,
        (Bind::Ip(p), Bind::Ip(q)) => {
            if p == q {
                Overlap::Yes
            } else {
                Overlap::No
            }
        }
        (Bind::Name(p), Bind::Name(q)) if p.eq_ignore_ascii_case(q) => Overlap::Yes,
        _ => Overlap::Unknown,
    };
    if fa == fb {
        return same_family(&ba, &bb);
    }
    // One inet6 socket (x) and one inet socket (y).
    let (x, y) = if fa == Family::Inet6 {
        (ba, bb)
    } else {
        (bb, ba)
    };
    match x {
        Bind::Any => Overlap::Yes,
        Bind::Ip(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            None => Overlap::No,
            Some(v4) if v4.is_unspecified() => Overlap::Yes,
            Some(v4) => same_family(&Bind::Ip(IpAddr::V4(v4)), &y),
        },
        _ => Overlap::Unknown,
    }
}

/// Length of the blanks and `#`s a line starts with, when there is a `#` among them (0
/// otherwise).
pub(crate) fn hash_indent_len(content: &str) -> usize {
    let n = content
        .bytes()
        .take_while(|&b| matches!(b, b' ' | b'\t' | b'#'))
        .count();
    if content[..n].contains('#') {
        n
    } else {
        0
    }
}

pub(crate) fn is_loopback(addr: &str) -> bool {
    let a = addr
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let a = a.strip_prefix("ipv6:").unwrap_or(&a);
    if let Ok(ip) = a.parse::<std::net::IpAddr>() {
        return ip_is_loopback(ip);
    }
    a.starts_with("127.") || LOOPBACK_NAMES.contains(&a)
}

#[derive(Debug, Clone)]
pub(crate) struct FeatureLine {
    pub line: usize,
    pub feature: String,
    pub site: Result<Site, String>,
}

pub(crate) struct Model<'a> {
    pub doc: Doc<'a>,
    pub scan: Scan,
    /// The line starts where m4 reads macros (not inside a quote or a call's arguments).
    pub top: Vec<bool>,
    /// The line's first token is a `dnl` that m4 acts on.
    pub dnl_line: Vec<bool>,
    pub problems: Vec<McError>,
    pub auth: [Vec<Candidate>; 3],
    pub listeners: Vec<ListenerLine>,
    pub features: Vec<FeatureLine>,
    pub includes: Vec<(usize, String)>,
    /// First line, after the cf.m4 include, that starts with `MAILER_DEFINITIONS` or `MAILER(`.
    pub mailer_line: Option<usize>,
    /// The line that includes cf.m4, if the file does.
    pub cf_line: Option<usize>,
    /// Lines that look commented out with `#` but that m4 expands (a `#` after the include of
    /// cf.m4 is plain text): the call's name and a sentence for the sysadmin.
    pub notes: Vec<(String, McError)>,
}
