//! Writes a synthetic but realistic sendmail mail.log for the relay-report benchmark.
//!
//! `cargo run --release --example gen_maillog -- OUT [BYTES] [MIX] [SEED] [START]`
//!
//! BYTES defaults to 1 GiB, START (epoch seconds, stamps in UTC) to three days ago. MIX is
//! either a fraction of lines that are refusals (default 0.001, the rest the quiet mix below;
//! `0.1` for a server refusing a lot) or `busy`: a server under a relay-probing campaign, about
//! 2% of lines "Relaying denied", 1% AUTH failures, 2% successful AUTH (`AUTH=server`), the rest
//! ordinary from=/to= deliveries, refusals and failures coming from some 60 clients.
//!
//! The line shapes are those of a real Debian 12 sendmail 8.17 log (see
//! /work/shared/corpus/logs/debian12-sendmail-auth-test.log and DIAGNOSTICS.md): accepted inbound
//! mail, authenticated submissions (`AUTH=server` + `proto=ESMTPA`), deliveries, STARTTLS, idle
//! connections, and a small fraction of `Relaying denied` rejections, each followed by the
//! `from=` line sendmail writes when the transaction ends. Rejections come from a few "own users"
//! (fixed addresses that also log in at other times and send as user@example.com) and from
//! random "strangers". Output is deterministic for a given seed.
use std::fs::File;
use std::io::{BufWriter, Write};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const USERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];
const REMOTE_DOMAINS: [&str; 8] = [
    "example.org",
    "example.net",
    "mail.example.edu",
    "lists.example.info",
    "corp.example.biz",
    "example.co.uk",
    "shop.example.de",
    "news.example.fr",
];
const QID_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx";

struct Gen {
    rng: Rng,
    /// Strangers come from this many addresses (`None`: any).
    strangers: Option<u64>,
    /// Milliseconds since the epoch; stamps are written in UTC.
    t: u64,
    pid: u32,
    buf: Vec<u8>,
}

impl Gen {
    fn stamp(&mut self) {
        let secs = self.t / 1000;
        let (_, month, day) = civil_from_days((secs / 86400) as i64);
        let s = secs % 86400;
        write!(
            self.buf,
            "{} {:>2} {:02}:{:02}:{:02} mailsrv ",
            MONTHS[month as usize - 1],
            day,
            s / 3600,
            s / 60 % 60,
            s % 60
        )
        .unwrap();
    }

    /// sendmail's queue id: year, month, day, hour, minute, second and a sequence character in
    /// base 60, then the pid.
    fn qid(&mut self) -> [u8; 14] {
        let secs = self.t / 1000;
        let (y, mo, d) = civil_from_days((secs / 86400) as i64);
        let s = secs % 86400;
        let digits = [
            (y % 60) as u64,
            u64::from(mo - 1),
            u64::from(d),
            s / 3600,
            s / 60 % 60,
            s % 60,
            self.rng.below(60),
            self.rng.below(60),
        ];
        let mut q = [0u8; 14];
        for (c, v) in q[..8].iter_mut().zip(digits) {
            *c = QID_CHARS[v as usize];
        }
        q[8..].copy_from_slice(format!("{:06}", self.pid % 1_000_000).as_bytes());
        q
    }

    fn start(&mut self) -> [u8; 14] {
        // About 100 ms per session: 1 GiB spans about two and a half days, a busy server.
        self.t += self.rng.below(100);
        self.pid = 1000 + self.rng.below(60000) as u32;
        self.qid()
    }

    fn prefix(&mut self, qid: &[u8; 14]) {
        self.stamp();
        let pid = self.pid;
        write!(self.buf, "sm-mta[{pid}]: ").unwrap();
        self.buf.extend_from_slice(qid);
        self.buf.extend_from_slice(b": ");
    }

    /// A stranger's address: one of `strangers` when the mix has a fixed set.
    fn stranger_ip(&mut self) -> String {
        match self.strangers {
            Some(n) => format!(
                "45.0.{}.{}",
                self.rng.below(n) / 250,
                1 + self.rng.below(n) % 250
            ),
            None => self.ip(45),
        }
    }

    fn ip(&mut self, net: u8) -> String {
        format!(
            "{}.{}.{}.{}",
            net,
            self.rng.below(256),
            self.rng.below(256),
            1 + self.rng.below(254)
        )
    }

    fn inbound(&mut self) {
        let qid = self.start();
        let ip = self.ip(198);
        let host = format!("mx{}.{}", self.rng.below(20), self.remote_domain());
        let from = format!(
            "news{}@{}",
            self.rng.below(1000),
            REMOTE_DOMAINS[self.rng.below(8) as usize]
        );
        let user = USERS[self.rng.below(8) as usize];
        let size = 1000 + self.rng.below(200_000);
        if self.rng.chance(0.5) {
            self.stamp();
            let pid = self.pid;
            writeln!(self.buf, "sm-mta[{pid}]: STARTTLS=server, relay={host} [{ip}], version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256").unwrap();
        }
        self.prefix(&qid);
        let m = self.rng.next() % 100_000_000;
        writeln!(self.buf, "from=<{from}>, size={size}, class=0, nrcpts=1, msgid=<{m}.{qid}@{host}>, bodytype=8BITMIME, proto=ESMTPS, daemon=MTA-v4, relay={host} [{ip}]", qid = std::str::from_utf8(&qid).unwrap()).unwrap();
        self.t += self.rng.below(100);
        self.prefix(&qid);
        let pri = 30000 + self.rng.below(200_000);
        writeln!(self.buf, "to=<{user}@example.com>, delay=00:00:01, xdelay=00:00:00, mailer=local, pri={pri}, dsn=2.0.0, stat=Sent").unwrap();
    }

    fn remote_domain(&mut self) -> &'static str {
        REMOTE_DOMAINS[self.rng.below(8) as usize]
    }

    fn submission(&mut self) {
        let qid = self.start();
        let user = USERS[self.rng.below(8) as usize];
        let ip = format!("192.0.2.{}", 10 + self.rng.below(40));
        self.stamp();
        let pid = self.pid;
        writeln!(
            self.buf,
            "sm-mta[{pid}]: AUTH=server, relay=client{} [{ip}], authid={user}, mech=PLAIN, bits=0",
            self.rng.below(40)
        )
        .unwrap();
        self.prefix(&qid);
        let size = 500 + self.rng.below(50_000);
        writeln!(self.buf, "from=<{user}@example.com>, size={size}, class=0, nrcpts=1, msgid=<{}@example.com>, proto=ESMTPA, daemon=MTA-v4, relay=client [{ip}]", self.rng.next() % 1_000_000_000).unwrap();
        let to = format!("friend{}@{}", self.rng.below(500), self.remote_domain());
        self.t += self.rng.below(100);
        self.prefix(&qid);
        let pri = 120000 + self.rng.below(200_000);
        let mx = self.ip(203);
        let mx_domain = self.remote_domain();
        let qp = self.rng.below(100000);
        writeln!(self.buf, "to=<{to}>, ctladdr=<{user}@example.com> (1000/1000), delay=00:00:02, xdelay=00:00:02, mailer=esmtp, pri={pri}, relay=mx.{mx_domain} [{mx}], dsn=2.0.0, stat=Sent (OK 1700000000 qp {qp})").unwrap();
    }

    fn idle(&mut self) {
        let qid = self.start();
        let ip = self.ip(203);
        self.prefix(&qid);
        writeln!(
            self.buf,
            "[{ip}] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA-v4"
        )
        .unwrap();
    }

    fn reject(&mut self) {
        let qid = self.start();
        // A third are "own users" whose mail client does not authenticate; the rest strangers.
        let own = self.rng.chance(0.33);
        let (relay, from, to) = if own {
            let n = self.rng.below(5);
            (
                format!("client{n} [192.0.2.{}]", 10 + n),
                format!("{}@example.com", USERS[n as usize]),
                format!("friend{}@{}", self.rng.below(3), REMOTE_DOMAINS[n as usize]),
            )
        } else {
            let ip = self.stranger_ip();
            let relay = if self.rng.chance(0.5) {
                format!("[{ip}]")
            } else {
                format!(
                    "dyn-{}.example.net [{ip}] (may be forged)",
                    self.rng.below(1000)
                )
            };
            (
                relay,
                format!("spam{}@example.biz", self.rng.below(100_000)),
                format!(
                    "victim{}@example.{}",
                    self.rng.below(100_000),
                    self.rng.below(500)
                ),
            )
        };
        self.prefix(&qid);
        writeln!(self.buf, "ruleset=check_rcpt, arg1=<{to}>, relay={relay}, reject=550 5.7.1 <{to}>... Relaying denied. Proper authentication required.").unwrap();
        self.prefix(&qid);
        writeln!(
            self.buf,
            "from=<{from}>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay={relay}"
        )
        .unwrap();
    }

    fn auth_failure(&mut self) {
        self.start();
        let ip = self.stranger_ip();
        let user = USERS[self.rng.below(8) as usize];
        self.stamp();
        let pid = self.pid;
        writeln!(self.buf, "sm-mta[{pid}]: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user={user}, relay=[{ip}]").unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args
        .get(1)
        .expect("usage: gen_maillog OUT [BYTES] [REJECT_FRACTION] [SEED] [START]");
    let bytes: u64 = args.get(2).map_or(1 << 30, |s| s.parse().expect("BYTES"));
    let mix = args.get(3).map_or("0.001", String::as_str);
    let busy = mix == "busy";
    let reject: f64 = if busy {
        0.02
    } else {
        mix.parse().expect("MIX: a fraction or `busy`")
    };
    // The busy mix in events: lines per event are 2 (refusal + from=), 1 (AUTH failure),
    // 3 (AUTH=server, from=, to=) and 2.5 on average (inbound: from=, to=, half with STARTTLS),
    // so L = 2.5 / (1 + 0.5 d + 1.5 f - 0.5 o) lines per event gives d, f, o of the lines.
    let (d, f, o) = (0.02, 0.01, 0.02);
    let per_event = 2.5 / (1.0 + 0.5 * d + 1.5 * f - 0.5 * o);
    let (p_reject, p_fail, p_ok) = (d * per_event, f * per_event, o * per_event);
    let seed: u64 = args.get(4).map_or(42, |s| s.parse().expect("SEED"));
    // Default start: three days ago, so that the whole log lies in the past.
    let start: u64 = args.get(5).map_or_else(
        || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_secs();
            now - 3 * 86400
        },
        |s| s.parse().expect("START (epoch seconds)"),
    );
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out).expect("create output"));
    let mut g = Gen {
        rng: Rng(seed | 1),
        strangers: busy.then_some(60),
        t: start * 1000,
        pid: 1000,
        buf: Vec::with_capacity(1 << 20),
    };
    let mut written = 0u64;
    let mut lines = 0u64;
    let mut rejects = 0u64;
    while written < bytes {
        g.buf.clear();
        while g.buf.len() < (1 << 20) - 4096 {
            let before = g.buf.len();
            // `reject` writes two lines; the others about 2.5 on average. Scale so that
            // reject lines are about REJECT_FRACTION of all lines.
            let r = g.rng.next() as f64 / u64::MAX as f64;
            if busy {
                if r < p_reject {
                    g.reject();
                    rejects += 1;
                } else if r < p_reject + p_fail {
                    g.auth_failure();
                } else if r < p_reject + p_fail + p_ok {
                    g.submission();
                } else {
                    g.inbound();
                }
            } else if r < reject * 2.5 {
                g.reject();
                rejects += 1;
            } else if r < reject * 2.5 + 0.0005 {
                g.auth_failure();
            } else if r < 0.25 {
                g.submission();
            } else if r < 0.4 {
                g.idle();
            } else {
                g.inbound();
            }
            lines += g.buf[before..].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        let take = g.buf.len().min((bytes - written) as usize);
        // Cut at a line end so the file ends with a complete line.
        let end = g.buf[..take]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(take, |p| p + 1);
        w.write_all(&g.buf[..end]).expect("write");
        written += end as u64;
        if end < take || end == 0 {
            break;
        }
    }
    w.flush().expect("flush");
    eprintln!("wrote {written} bytes, about {lines} lines, {rejects} rejections");
}

/// Date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
