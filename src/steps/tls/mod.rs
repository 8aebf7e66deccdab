//! Beyond the HOWTO (issue 11 items 1 and 2): STARTTLS on, and PLAIN/LOGIN only inside it.
//! The HOWTO leaves TLS "for a later date", which leaves passwords readable on the network.
//!
//! The certificate and key come from, in this order: `--tls-cert FILE --tls-key FILE`
//! (referenced where they are, never copied: an ACME client renews them there); what
//! sendmail.mc already uses (kept when usable); the distribution's (Debian's starttls.m4
//! include, Red Hat's dnl-ed defines naming sendmail.pem); or a new self-signed certificate for
//! the host's name, written by the journal (rollback removes it). Then `A p y` in
//! confAUTH_OPTIONS, keeping the admin's other letters (`--auth-options` given wins), and
//! sendmail.cf regenerated from the planned mc. The restart step checks with the real daemon
//! that STARTTLS is offered and AUTH only inside it (see [`super::tls_live`]).

use super::read_text;
use super::tls_cert::{self, Expect, PairVerdict};
use crate::engine::fsops::WriteMeta;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};
use crate::mc::Decider;

mod mc_text;
pub use mc_text::{auth_options, mc_has_tls};
use mc_text::{define, in_force, merged, scan_includes, set, Lines};
pub(crate) use mc_text::{scan_defines, Def};

pub struct Tls;

/// The letters STARTTLS brings to confAUTH_OPTIONS: `p` (PLAIN/LOGIN only after STARTTLS),
/// `y` (no anonymous mechanisms), and the HOWTO's `A`.
pub const TLS_AUTH_OPTIONS: &str = "A p y";

/// The warning `--no-tls` (answers `tls: false`) gives.
pub const NO_TLS: &str = "--no-tls (answers tls: false): STARTTLS is not set up, so PLAIN and \
     LOGIN passwords cross the network in the clear (only base64-encoded), readable by anyone \
     who can see the traffic; do not use this server from outside a network you trust";

fn deciders() -> Vec<Decider> {
    vec![
        Decider::new("--tls-cert", "tls_cert"),
        Decider::new("--tls-key", "tls_key"),
        Decider::new("--no-tls", "tls"),
    ]
}

const DECIDE: &str = "give a usable certificate and key with --tls-cert FILE --tls-key FILE \
     (answers tls_cert, tls_key), or skip STARTTLS with --no-tls (answers tls: false)";

/// The host's name, fully qualified from /etc/hosts when it can be (what the certificate is
/// made for and checked against).
pub fn host_name(cx: &Context) -> String {
    cx.root.host_name("localhost")
}

/// Findings for a pair that is used: what the certificate says, and its warnings.
fn describe(r: &mut StepReport, cert: &str, v: &PairVerdict, cx: &Context) {
    if let Some(c) = &v.cert {
        r.info_at(
            cert,
            format!(
                "certificate {}: subject {}; subjectAltName {}; issuer {}; valid until {} ({} days)",
                cx.root.display(cert),
                c.subject,
                if c.san.is_empty() {
                    "none".to_string()
                } else {
                    c.san.join(", ")
                },
                c.issuer,
                c.not_after,
                c.days_left
            ),
        );
    }
    for w in &v.warnings {
        r.warn(Some(cert), w.clone(), None);
    }
}

impl Step for Tls {
    fn id(&self) -> &'static str {
        "tls"
    }
    fn title(&self) -> &'static str {
        "STARTTLS on, AUTH only after TLS"
    }
    fn howto(&self) -> &'static str {
        "Beyond the HOWTO (it leaves TLS \"for a later date\"): STARTTLS, and A p y"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        if !cx.opts.tls {
            r.warn(
                None,
                NO_TLS,
                Some("leave out --no-tls (answers tls: true) to set up STARTTLS".into()),
            );
            r.skip("STARTTLS not set up, as asked (--no-tls)");
            return r.finish();
        }
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let mc_path = &p.sendmail.mc;
        let text = match read_text(view, mc_path) {
            Ok(Some(t)) => t,
            Ok(None) => {
                r.block(
                    format!(
                        "{} (see the sendmail-mc step)",
                        super::does_not_exist(&cx.root, mc_path)
                    ),
                    None,
                );
                return r.finish();
            }
            Err(e) => {
                r.error(Some(mc_path), e, None);
                return r.finish();
            }
        };
        let ptls = p.tls.clone();
        let include_path = ptls.as_ref().and_then(|t| t.include.clone());
        let include_text = match &include_path {
            Some(ip) => match read_text(view, ip) {
                Ok(t) => t.map(|t| t.text),
                Err(e) => {
                    r.error(Some(ip), e, None);
                    return r.finish();
                }
            },
            None => None,
        };
        let f = in_force(&text, include_path.as_deref().zip(include_text.as_deref()));
        let name = host_name(cx);
        if !name.contains('.') {
            r.warn(
                None,
                format!(
                    "the host name {name} is not fully qualified (/etc/hosts gives no name with a \
                     dot): a certificate cannot name the server as clients know it"
                ),
                None,
            );
        }
        let now = jiff::Timestamp::now().as_second();
        let check = |cert: &str, key: &str, grk: bool| {
            tls_cert::check_pair(
                &cx.root,
                cert,
                key,
                &Expect {
                    name: &name,
                    group_readable_key: grk,
                    now,
                },
            )
        };
        let mut ed = Lines::new(&text);
        let mut writes: Vec<(String, Vec<u8>, u32, String)> = vec![];
        // Where the pair comes from, and the defines to set for it.
        let mut set_pair: Option<(String, String)> = None;
        match (&cx.opts.tls_cert, &cx.opts.tls_key) {
            (Some(c), Some(k)) => {
                let v = check(c, k, f.group_readable_key);
                if !v.usable() {
                    r.error_decided(
                        Some(c),
                        format!(
                            "the certificate and key given (--tls-cert {}, --tls-key {}) cannot be \
                             used, so nothing was changed: {}",
                            cx.root.display(c),
                            cx.root.display(k),
                            v.errors.join("; ")
                        ),
                        Some(DECIDE.into()),
                        deciders(),
                    );
                    return r.finish();
                }
                r.info(format!(
                    "using the certificate and key given (--tls-cert, --tls-key) where they are: \
                     {} and {} (referenced, not copied: whoever renews them keeps doing so)",
                    cx.root.display(c),
                    cx.root.display(k)
                ));
                describe(&mut r, c, &v, cx);
                set_pair = Some((c.clone(), k.clone()));
            }
            (Some(_), None) | (None, Some(_)) => {
                r.error_decided(
                    None,
                    "--tls-cert and --tls-key (answers tls_cert, tls_key) go together: give both, \
                     so nothing was changed",
                    Some(DECIDE.into()),
                    deciders(),
                );
                return r.finish();
            }
            (None, None) if f.cert.is_some() => {
                // What sendmail.mc already uses: kept when usable.
                let (_, cert, from_inc) = f.cert.clone().unwrap();
                let key = f.key.clone().map(|k| k.1);
                let src = if from_inc {
                    format!(
                        "{} (included by sendmail.mc)",
                        include_path.clone().unwrap_or_default()
                    )
                } else {
                    "sendmail.mc".to_string()
                };
                let (Some(cert), Some(Some(key))) = (cert, key) else {
                    r.error_decided(
                        Some(mc_path),
                        format!(
                            "{src} sets up STARTTLS, but its confSERVER_CERT or confSERVER_KEY is \
                             missing or not a plain file name (a macro?), so the wizard cannot \
                             tell which files sendmail uses; nothing was changed"
                        ),
                        Some(DECIDE.into()),
                        deciders(),
                    );
                    return r.finish();
                };
                let gone = |t: &str| !view.exists(t) && cx.root.dangling_link(t).is_none();
                // Only the distribution's own pair (the profile's) is made where the mc names
                // it: any other place (an ACME client's /etc/letsencrypt) belongs to whoever
                // set it up, and a missing file there is refused below.
                let distro = ptls.as_ref().is_some_and(|t| {
                    t.cert.as_deref() == Some(cert.as_str())
                        && (t.key.as_deref() == Some(key.as_str()) || key == cert)
                });
                if distro && gone(&cert) && gone(&key) {
                    // Neither file exists (a stock Red Hat mc names the pair its package's
                    // %post makes; a copy of a server without them): nobody manages them, so
                    // a self-signed pair is made where sendmail.mc expects it.
                    let today = jiff::Zoned::now().date();
                    let n = match tls_cert::self_signed(&name, today) {
                        Ok(n) => n,
                        Err(e) => {
                            r.error_decided(None, e, Some(DECIDE.into()), deciders());
                            return r.finish();
                        }
                    };
                    r.info_at(
                        mc_path,
                        format!(
                            "{src} names {} and {} for STARTTLS, and neither exists: a new \
                             self-signed certificate for {name} (subjectAltName DNS:{name}, 825 \
                             days) is made there, key root 0600",
                            cx.root.display(&cert),
                            cx.root.display(&key)
                        ),
                    );
                    if cert == key {
                        writes.push((
                            key.clone(),
                            format!("{}{}", n.key_pem, n.cert_pem).into_bytes(),
                            0o600,
                            format!("self-signed certificate for {name} and its key (STARTTLS)"),
                        ));
                    } else {
                        writes.push((
                            cert.clone(),
                            n.cert_pem.into_bytes(),
                            0o644,
                            format!("self-signed certificate for {name} (STARTTLS)"),
                        ));
                        writes.push((
                            key.clone(),
                            n.key_pem.into_bytes(),
                            0o600,
                            format!("private key of the certificate for {name}"),
                        ));
                    }
                } else {
                    let v = check(&cert, &key, f.group_readable_key);
                    if !v.usable() {
                        r.error_decided(
                            Some(&cert),
                            format!(
                            "{src} sets up STARTTLS with {} and {}, which sendmail cannot use, so \
                             it offers no STARTTLS (and with p, no AUTH at all): {}; nothing was \
                             changed",
                            cx.root.display(&cert),
                            cx.root.display(&key),
                            v.errors.join("; ")
                        ),
                            Some(format!("repair them, or {DECIDE}")),
                            deciders(),
                        );
                        return r.finish();
                    }
                    r.info_at(
                        mc_path,
                        format!(
                        "STARTTLS is already set up in {src} with {} and {}, which sendmail can \
                         use: kept as they are",
                        cx.root.display(&cert),
                        cx.root.display(&key)
                    ),
                    );
                    describe(&mut r, &cert, &v, cx);
                }
            }
            (None, None) => {
                let mut chosen = false;
                // Debian: the distribution's include, with update_tls's pair.
                if let (Some(ip), Some(it)) = (&include_path, &include_text) {
                    let inc = in_force(
                        &format!("include(`{ip}')dnl\n"),
                        Some((ip.as_str(), it.as_str())),
                    );
                    if let (Some((_, Some(c), _)), Some((_, Some(k), _))) = (&inc.cert, &inc.key) {
                        let v = check(c, k, inc.group_readable_key);
                        if v.usable() {
                            let at = ed.insert_at();
                            let commented = scan_includes(&text)
                                .into_iter()
                                .find(|(_, p, a)| !a && p == ip);
                            match commented {
                                Some((line, _, _)) if line < at => ed.activate(
                                    line,
                                    format!("line {}: include {ip} (the distribution's STARTTLS settings)", line + 1),
                                ),
                                _ => ed.insert(
                                    at,
                                    format!("include(`{ip}')dnl"),
                                    format!("include {ip} (the distribution's STARTTLS settings)"),
                                ),
                            }
                            r.info(format!(
                                "using the distribution's certificate and key, {} and {}, through {ip}",
                                cx.root.display(c),
                                cx.root.display(k)
                            ));
                            describe(&mut r, c, &v, cx);
                            chosen = true;
                        } else {
                            r.warn(
                                Some(ip),
                                format!(
                                    "the distribution's certificate and key (named in {ip}) cannot be used: {}; a new self-signed certificate is made instead",
                                    v.errors.join("; ")
                                ),
                                None,
                            );
                        }
                    }
                }
                // Red Hat: the stock mc's dnl-ed defines, or the profile's pair.
                if !chosen {
                    let defs = scan_defines(&text);
                    let commented = |n: &str| {
                        defs.iter()
                            .find(|d| !d.active && d.name == n && d.value.is_some())
                            .cloned()
                    };
                    let cand = match (commented("confSERVER_CERT"), commented("confSERVER_KEY")) {
                        (Some(c), Some(k)) => Some((
                            c.value.clone().unwrap(),
                            k.value.clone().unwrap(),
                            Some((c, k)),
                        )),
                        _ => ptls
                            .as_ref()
                            .and_then(|t| t.cert.clone().zip(t.key.clone()))
                            .map(|(c, k)| (c, k, None)),
                    };
                    if let Some((c, k, lines)) = cand {
                        if cx.root.exists(&c) || cx.root.exists(&k) {
                            let v = check(&c, &k, f.group_readable_key);
                            if v.usable() {
                                if let Some((cl, kl)) = lines {
                                    for d in [cl, kl] {
                                        ed.activate(
                                            d.line,
                                            format!(
                                                "line {}: {} (the distribution's, dnl-ed out)",
                                                d.line + 1,
                                                d.name
                                            ),
                                        );
                                    }
                                    for n in ["confCACERT_PATH", "confCACERT"] {
                                        if let Some(d) = commented(n) {
                                            if d.value.as_deref().is_some_and(|v| cx.root.exists(v))
                                            {
                                                ed.activate(
                                                    d.line,
                                                    format!("line {}: {n} (the distribution's, dnl-ed out)", d.line + 1),
                                                );
                                            }
                                        }
                                    }
                                    // Defaults for the CA settings left out are set below.
                                    let now_text = ed.text();
                                    let f2 = in_force(&now_text, None);
                                    if !f2.ca_path || !f2.ca_cert {
                                        set_pair = Some((c.clone(), k.clone()));
                                    }
                                } else {
                                    set_pair = Some((c.clone(), k.clone()));
                                }
                                r.info(format!(
                                    "using the distribution's certificate and key, {} and {}",
                                    cx.root.display(&c),
                                    cx.root.display(&k)
                                ));
                                describe(&mut r, &c, &v, cx);
                                chosen = true;
                            } else {
                                r.warn(
                                    Some(&c),
                                    format!(
                                        "the distribution's certificate and key ({} and {}) cannot be used: {}; a new self-signed certificate is made instead",
                                        cx.root.display(&c),
                                        cx.root.display(&k),
                                        v.errors.join("; ")
                                    ),
                                    None,
                                );
                            }
                        }
                    }
                }
                // A new self-signed certificate for this host.
                if !chosen {
                    let Some(t) = &ptls else {
                        r.error_decided(
                            None,
                            format!(
                                "the profile {} says nothing about TLS (no tls: section) and \
                                 sendmail.mc sets up none, so the wizard does not know where \
                                 certificates go here; nothing was changed",
                                p.id
                            ),
                            Some(DECIDE.into()),
                            deciders(),
                        );
                        return r.finish();
                    };
                    let (c, k) = (t.own_cert.clone(), t.own_key.clone());
                    if view.exists(&c) || view.exists(&k) {
                        let v = check(&c, &k, false);
                        if !v.usable() {
                            r.error_decided(
                                Some(&c),
                                format!(
                                    "{} or {} already exists and cannot be used: {}; the wizard \
                                     never replaces a certificate or key it did not make in this \
                                     run; nothing was changed",
                                    cx.root.display(&c),
                                    cx.root.display(&k),
                                    v.errors.join("; ")
                                ),
                                Some(format!(
                                    "remove them (after checking who made them), or {DECIDE}"
                                )),
                                deciders(),
                            );
                            return r.finish();
                        }
                        r.info(format!(
                            "using the existing {} and {}",
                            cx.root.display(&c),
                            cx.root.display(&k)
                        ));
                        describe(&mut r, &c, &v, cx);
                    } else {
                        let today = jiff::Zoned::now().date();
                        match tls_cert::self_signed(&name, today) {
                            Err(e) => {
                                r.error_decided(None, e, Some(DECIDE.into()), deciders());
                                return r.finish();
                            }
                            Ok(n) => {
                                r.info(format!(
                                    "no certificate to use: a new self-signed one for {name} \
                                     (subjectAltName DNS:{name}, 825 days, ECDSA P-256), key \
                                     root 0600; clients that verify certificates need it \
                                     installed, or one from a CA given with --tls-cert/--tls-key"
                                ));
                                writes.push((
                                    c.clone(),
                                    n.cert_pem.into_bytes(),
                                    0o644,
                                    format!("self-signed certificate for {name} (STARTTLS)"),
                                ));
                                writes.push((
                                    k.clone(),
                                    n.key_pem.into_bytes(),
                                    0o600,
                                    format!("private key of the certificate for {name}"),
                                ));
                            }
                        }
                    }
                    set_pair = Some((c, k));
                }
            }
        }
        if let Some((c, k)) = &set_pair {
            let why = "STARTTLS";
            let cur = ed.text();
            set(&mut ed, &cur, f.include_line, "confSERVER_CERT", c, why);
            let cur = ed.text();
            set(&mut ed, &cur, f.include_line, "confSERVER_KEY", k, why);
            let now_f = in_force(
                &ed.text(),
                include_path.as_deref().zip(include_text.as_deref()),
            );
            let ca_path = ptls.as_ref().map(|t| t.ca_path.clone());
            if !now_f.ca_path {
                if let Some(cp) = ca_path.filter(|cp| cx.root.exists(cp)) {
                    let at = ed.insert_at();
                    ed.insert(
                        at,
                        define("confCACERT_PATH", &cp),
                        format!("confCACERT_PATH {cp} (the system's CA directory)"),
                    );
                }
            }
            if !now_f.ca_cert {
                let at = ed.insert_at();
                ed.insert(
                    at,
                    define("confCACERT", c),
                    format!("confCACERT {c} (as Debian's starttls.m4 does)"),
                );
            }
        }
        // AUTH only after STARTTLS: A p y, keeping the admin's other letters.
        let cur = ed.text();
        match &cx.opts.auth_options {
            Some(o) => {
                if !o.split([' ', ',']).any(|t| t == "p") {
                    r.warn(
                        Some(mc_path),
                        format!(
                            "confAUTH_OPTIONS `{o}` was given with --auth-options (answers \
                             auth_options) and has no p: PLAIN and LOGIN are offered before \
                             STARTTLS too, so a client may send its password in the clear"
                        ),
                        Some(format!(
                            "leave out --auth-options to get `{TLS_AUTH_OPTIONS}`"
                        )),
                    );
                }
            }
            None => {
                let defs: Vec<Def> = scan_defines(&cur)
                    .into_iter()
                    .filter(|d| d.active && d.name == "confAUTH_OPTIONS")
                    .collect();
                match defs.last() {
                    Some(Def {
                        value: None, line, ..
                    }) => {
                        r.error_decided(
                            Some(mc_path),
                            format!(
                                "{}: line {}: confAUTH_OPTIONS is not a plain list of letters on \
                                 one line, so the wizard cannot add p y to it; nothing was changed",
                                cx.root.display(mc_path),
                                line + 1
                            ),
                            Some(format!("give the letters with --auth-options \"{TLS_AUTH_OPTIONS}\" (answers auth_options)")),
                            vec![Decider::new("--auth-options", "auth_options")],
                        );
                        return r.finish();
                    }
                    Some(Def {
                        value: Some(have),
                        line,
                        ..
                    }) => {
                        let want = merged(have, TLS_AUTH_OPTIONS);
                        if &want != have {
                            ed.set_value(
                                *line,
                                have,
                                &want,
                                format!("line {}: confAUTH_OPTIONS `{want}`: PLAIN and LOGIN only after STARTTLS (p), no anonymous login (y)", line + 1),
                            );
                        } else {
                            r.info_at(mc_path, format!("confAUTH_OPTIONS `{have}` offers PLAIN and LOGIN only after STARTTLS"));
                        }
                    }
                    None => {
                        // Set in a file the mc includes (Debian's sasl.m4 may): its letters are
                        // kept, and the merged value set in the mc after the include.
                        let inherited = scan_includes(&cur)
                            .into_iter()
                            .filter(|(_, p, a)| *a && !p.ends_with("cf.m4"))
                            .filter_map(|(_, p, _)| {
                                let target = if p.starts_with('/') {
                                    p.clone()
                                } else {
                                    let dir = mc_path.rsplit_once('/').map_or("", |(d, _)| d);
                                    format!("{dir}/{p}")
                                };
                                let t = read_text(view, &target).ok()??;
                                auth_options(&t).map(|v| (p, v))
                            })
                            .next_back();
                        let (want, from) = match &inherited {
                            Some((p, v)) => (
                                merged(v, TLS_AUTH_OPTIONS),
                                format!(" (the letters of {p}, `{v}`, kept)"),
                            ),
                            None => (TLS_AUTH_OPTIONS.to_string(), String::new()),
                        };
                        if inherited.as_ref().is_some_and(|(_, v)| *v == want) {
                            r.info_at(mc_path, format!("confAUTH_OPTIONS `{want}`{from} offers PLAIN and LOGIN only after STARTTLS"));
                        } else {
                            let at = ed.insert_at();
                            ed.insert(
                                at,
                                define("confAUTH_OPTIONS", &want),
                                format!("confAUTH_OPTIONS `{want}`{from}: PLAIN and LOGIN only after STARTTLS"),
                            );
                        }
                    }
                }
            }
        }
        let new_text = ed.text();
        for n in &ed.notes {
            r.info_at(mc_path, n.clone());
        }
        for (path, bytes, mode, why) in writes {
            if let Err(e) = r.change(
                view,
                &path,
                bytes,
                why,
                Some(WriteMeta {
                    mode,
                    owner: Some((0, 0)),
                    mtime: None,
                }),
            ) {
                r.error(Some(&path), e.to_string(), None);
                return r.finish();
            }
        }
        if new_text != text.text {
            let why = format!("STARTTLS, AUTH only after TLS: {}", ed.notes.join("; "));
            super::sendmail_cf::plan_mc_and_cf(cx, &mut r, view, mc_path, &text, new_text, why);
        } else if r.changes.is_empty() {
            r.info_at(
                mc_path,
                "STARTTLS is set up and AUTH is offered only after it",
            );
        }
        r.finish()
    }
}
