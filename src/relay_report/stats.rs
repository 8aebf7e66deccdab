//! Bounded aggregates of the events, and the hints drawn from them.
//!
//! Every map is capped at [`MAX_TRACKED`] entries: once full, events of new keys are counted in
//! the totals and in [`Untracked`] but not listed, so memory stays bounded however large and
//! hostile the log is (strangers choose their own addresses and recipients).
use super::line::Relay;
use super::report::{ClientStat, ReasonStat, Report, SenderStat, Untracked, UserStat, Verdict};
use super::time::Clock;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;

/// The most clients, login addresses, senders and users tracked.
pub const MAX_TRACKED: usize = 10_000;
/// Distinct values counted per client or sender before counting stops.
pub(crate) const SET_CAP: usize = 32;
/// How many names (senders, users) a client keeps for display.
const SHOWN: usize = 5;
/// How many distinct failure reasons are kept.
const MAX_REASONS: usize = 32;

/// Counts distinct values up to [`SET_CAP`], keeping only their hashes.
#[derive(Clone, Debug, Default)]
struct Distinct(Vec<u64>);

/// How [`Distinct`] sets hash their values: foldhash's "quality" variant, with a random seed
/// per report (one [`Stats`] holds it; all sets of a report must hash alike, as a sender's set
/// of clients keeps [`ClientRef::hash`]). It was std's SipHash, which at 10% refusals, where
/// each refusal hashes its client, recipient, domain and sender, was 3-4% of the CPU time
/// (perf, 1 GiB, one core). Seeded, so a hostile log cannot be prepared to collide (which
/// would only make a count low).
type SetHasher = foldhash::quality::RandomState;

impl Distinct {
    fn insert(&mut self, hs: &SetHasher, v: &[u8]) {
        if self.full() {
            return;
        }
        self.insert_hash(Distinct::hash_of(hs, v));
    }

    /// The hash [`Distinct::insert`] keeps of `v`.
    fn hash_of(hs: &SetHasher, v: &[u8]) -> u64 {
        hs.hash_one(v)
    }

    /// [`Distinct::insert`] of `v` in ASCII lower case, without allocating a lowered copy (one
    /// per refusal was a visible cost at 10% refusals). Values of one set must all go through
    /// the same one of the two.
    fn insert_lowercase(&mut self, hs: &SetHasher, v: &[u8]) {
        if self.full() {
            return;
        }
        let mut h = hs.build_hasher();
        h.write_usize(v.len());
        let mut buf = [0u8; 64];
        for piece in v.chunks(buf.len()) {
            let b = &mut buf[..piece.len()];
            b.copy_from_slice(piece);
            b.make_ascii_lowercase();
            h.write(b);
        }
        self.insert_hash(h.finish());
    }

    /// Counting has stopped: nothing more to hash (a busy client fills its sets early).
    fn full(&self) -> bool {
        self.0.len() >= SET_CAP
    }

    fn insert_hash(&mut self, h: u64) {
        if self.0.len() < SET_CAP && !self.0.contains(&h) {
            self.0.push(h);
        }
    }

    fn len(&self) -> u32 {
        self.0.len() as u32
    }
}

/// The first few distinct names seen.
#[derive(Clone, Debug, Default)]
struct Shown(Vec<Box<str>>);

impl Shown {
    fn add(&mut self, v: &[u8]) {
        if self.0.len() < SHOWN && !self.0.iter().any(|s| s.as_bytes() == v) {
            self.0.push(text(v).into());
        }
    }
}

#[derive(Debug, Default)]
struct ClientAgg {
    host: Option<Box<str>>,
    ip: Option<Box<str>>,
    forged: bool,
    relay_denied: u64,
    auth_failed: u64,
    first: Option<i64>,
    last: Option<i64>,
    days: u32,
    last_day: Option<i64>,
    recipients: Distinct,
    rcpt_domains: Distinct,
    senders: Shown,
    sender_set: Distinct,
    /// A sender in one of the local domains, if any was seen.
    own_sender: Option<Box<str>>,
    users: Shown,
    user_set: Distinct,
}

#[derive(Debug, Default)]
struct LoginAgg {
    count: u64,
    users: Shown,
}

#[derive(Debug, Default)]
struct SenderAgg {
    relay_denied: u64,
    clients: Distinct,
}

#[derive(Debug, Default)]
struct UserAgg {
    auth_failed: u64,
    saslauthd_failed: u64,
    clients: Distinct,
}

/// A client as a refused transaction waiting for its sender remembers it, without a copy of
/// its key: where it is tracked (clients are never dropped from the map) and the hash its
/// senders' sets of clients keep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientRef {
    tracked: Option<u32>,
    hash: u64,
}

#[cfg(test)]
impl ClientRef {
    /// A client told apart by `id`.
    pub(crate) fn for_test(id: u64) -> ClientRef {
        ClientRef {
            tracked: None,
            hash: id,
        }
    }

    pub(crate) fn for_test_id(&self) -> u64 {
        self.hash
    }
}

/// The client a relaying or login event came from.
pub(crate) struct Client<'a> {
    pub key: &'a [u8],
    pub host: Option<&'a [u8]>,
    pub ip: Option<&'a [u8]>,
    pub forged: bool,
}

impl<'a> Client<'a> {
    /// The client of an event's `relay=` field.
    pub(crate) fn of(r: &Relay<&'a [u8]>) -> Client<'a> {
        Client {
            key: r.key(),
            host: r.host,
            ip: r.ip,
            forged: r.forged,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    local_domains: Vec<String>,
    relay_denied: u64,
    relay_denied_without_auth: u64,
    auth_failed: u64,
    auth_ok: u64,
    saslauthd_failed: u64,
    pub(crate) skipped_before_since: u64,
    undated: u64,
    first: Option<i64>,
    last: Option<i64>,
    clients: Capped<ClientAgg>,
    logins: Capped<LoginAgg>,
    senders: Capped<SenderAgg>,
    users: Capped<UserAgg>,
    reasons: Vec<(Box<[u8]>, u64)>,
    untracked: Untracked,
    set_hasher: SetHasher,
}

/// A map that stops taking new keys at [`MAX_TRACKED`]. (Values live in a Vec so that the
/// common case, a key already present, costs one hash lookup.)
#[derive(Debug)]
struct Capped<V> {
    index: HashMap<Box<[u8]>, usize, SeededFx>,
    items: Vec<V>,
}

impl<V> Default for Capped<V> {
    fn default() -> Self {
        Capped {
            index: HashMap::with_hasher(SeededFx::new()),
            items: Vec::new(),
        }
    }
}

/// A fast multiplicative hash (FxHash's step) with a random per-process seed. SipHash, the
/// default, was a visible cost at one lookup per login line; the seed keeps a hostile log from
/// being prepared against it, and the maps are capped, which bounds the damage anyway.
#[derive(Clone, Debug)]
pub(crate) struct SeededFx(u64);

impl SeededFx {
    pub(crate) fn new() -> SeededFx {
        SeededFx(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64))
    }
}

impl BuildHasher for SeededFx {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(self.0)
    }
}

pub(crate) struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // Folded: the product's high half (where every input bit reaches) into the low half.
        let p = u128::from(self.0) * 0x9e37_79b9_7f4a_7c15;
        (p as u64) ^ ((p >> 64) as u64)
    }
}

impl<V: Default> Capped<V> {
    /// The entry for `key`, created if there is room.
    fn slot(&mut self, key: &[u8]) -> Option<&mut V> {
        let i = self.slot_index(key)?;
        Some(&mut self.items[i])
    }

    /// Where the entry for `key` is, created if there is room.
    fn slot_index(&mut self, key: &[u8]) -> Option<usize> {
        match self.index.get(key) {
            Some(&i) => Some(i),
            None if self.items.len() >= MAX_TRACKED => None,
            None => {
                self.index.insert(key.into(), self.items.len());
                self.items.push(V::default());
                Some(self.items.len() - 1)
            }
        }
    }

    fn get(&self, key: &[u8]) -> Option<&V> {
        self.index.get(key).map(|&i| &self.items[i])
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.index.iter().map(|(k, &i)| (&k[..], &self.items[i]))
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// The domain of an address, as written (compare it ignoring ASCII case).
fn domain(addr: &[u8]) -> Option<&[u8]> {
    let at = memchr::memrchr(b'@', addr)?;
    Some(&addr[at + 1..])
}

/// The address is in one of `local` (lower case) domains.
fn in_local_domain(local: &[String], addr: &[u8]) -> bool {
    domain(addr).is_some_and(|d| local.iter().any(|l| l.as_bytes().eq_ignore_ascii_case(d)))
}

impl Stats {
    pub(crate) fn new(local_domains: &[String]) -> Stats {
        Stats {
            local_domains: local_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            ..Stats::default()
        }
    }

    fn seen(&mut self, ts: Option<i64>) {
        match ts {
            Some(t) => {
                self.first = Some(self.first.map_or(t, |f| f.min(t)));
                self.last = Some(self.last.map_or(t, |l| l.max(t)));
            }
            None => self.undated += 1,
        }
    }

    /// The tracked client, created and updated with this sighting; `None` beyond the cap.
    fn client(&mut self, c: &Client<'_>, ts: Option<i64>) -> Option<&mut ClientAgg> {
        let i = self.clients.slot_index(c.key)?;
        Some(self.update_client(i, c, ts))
    }

    /// [`Stats::client`] of the tracked client at `i`.
    fn update_client(&mut self, i: usize, c: &Client<'_>, ts: Option<i64>) -> &mut ClientAgg {
        let a = &mut self.clients.items[i];
        if let Some(h) = c.host {
            if a.host.as_deref().map(str::as_bytes) != Some(h) {
                a.host = Some(text(h).into());
            }
        }
        if a.ip.is_none() {
            a.ip = c.ip.map(|ip| text(ip).into());
        }
        a.forged |= c.forged;
        if let Some(t) = ts {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
            let day = t.div_euclid(86_400);
            if a.last_day != Some(day) {
                a.last_day = Some(day);
                a.days += 1;
            }
        }
        a
    }

    /// Counts a refusal; returns the client as a transaction waiting for its sender keeps it.
    pub(crate) fn relay_denied(
        &mut self,
        ts: Option<i64>,
        c: &Client<'_>,
        recipient: Option<&[u8]>,
        sender: Option<&[u8]>,
        auth_required: bool,
    ) -> ClientRef {
        self.seen(ts);
        self.relay_denied += 1;
        if !auth_required {
            self.relay_denied_without_auth += 1;
        }
        let tracked = self.clients.slot_index(c.key);
        let who = ClientRef {
            tracked: tracked.map(|i| i as u32),
            hash: Distinct::hash_of(&self.set_hasher, c.key),
        };
        let hs = self.set_hasher.clone();
        match tracked.map(|i| self.update_client(i, c, ts)) {
            Some(a) => {
                a.relay_denied += 1;
                if let Some(r) = recipient {
                    a.recipients.insert_lowercase(&hs, r);
                    if let Some(d) = domain(r) {
                        a.rcpt_domains.insert_lowercase(&hs, d);
                    }
                }
            }
            None => self.untracked.relay_denied += 1,
        }
        if let Some(s) = sender {
            self.sender(who, s, 1);
        }
        who
    }

    /// The envelope sender of `n` refused recipients from `client`.
    pub(crate) fn sender(&mut self, client: ClientRef, sender: &[u8], n: u64) {
        if let Some(a) = client.tracked.map(|i| &mut self.clients.items[i as usize]) {
            a.senders.add(sender);
            a.sender_set.insert(&self.set_hasher, sender);
            // Looked at only here: most refused clients are strangers beyond the cap, and a
            // tracked one keeps the first own sender it shows.
            if a.own_sender.is_none() && in_local_domain(&self.local_domains, sender) {
                a.own_sender = Some(text(sender).into());
            }
        }
        match self.senders.slot(sender) {
            Some(s) => {
                s.relay_denied += n;
                if !s.clients.full() {
                    s.clients.insert_hash(client.hash);
                }
            }
            None => self.untracked.sender_relay_denied += n,
        }
    }

    pub(crate) fn auth_failed(
        &mut self,
        ts: Option<i64>,
        c: &Client<'_>,
        user: Option<&[u8]>,
        reason: &[u8],
    ) {
        self.seen(ts);
        self.auth_failed += 1;
        let hs = self.set_hasher.clone();
        match self.client(c, ts) {
            Some(a) => {
                a.auth_failed += 1;
                if let Some(u) = user {
                    a.users.add(u);
                    a.user_set.insert(&hs, u);
                }
            }
            None => self.untracked.auth_failed += 1,
        }
        if let Some(u) = user {
            match self.users.slot(u) {
                Some(s) => {
                    s.auth_failed += 1;
                    s.clients.insert(&hs, c.key);
                }
                None => self.untracked.user_failures += 1,
            }
        }
        if let Some(r) = self.reasons.iter_mut().find(|(r, _)| &r[..] == reason) {
            r.1 += 1;
        } else if self.reasons.len() < MAX_REASONS {
            self.reasons.push((reason.into(), 1));
        }
    }

    pub(crate) fn auth_ok(&mut self, ts: Option<i64>, key: &[u8], authid: Option<&[u8]>) {
        self.seen(ts);
        self.auth_ok += 1;
        match self.logins.slot(key) {
            Some(l) => {
                l.count += 1;
                if let Some(u) = authid {
                    l.users.add(u);
                }
            }
            None => self.untracked.logins_ok += 1,
        }
    }

    pub(crate) fn saslauthd_failed(&mut self, ts: Option<i64>, user: &[u8]) {
        self.seen(ts);
        self.saslauthd_failed += 1;
        match self.users.slot(user) {
            Some(s) => s.saslauthd_failed += 1,
            None => self.untracked.user_failures += 1,
        }
    }

    pub(crate) fn tracked_clients(&self) -> usize {
        self.clients.len()
    }

    pub(crate) fn report(&self, clock: &Clock, lines_read: u64, cutoff: Option<i64>) -> Report {
        let (mut r, clients) = self.report_parts(clock, lines_read, cutoff);
        r.clients = built_in_halves(&clients.order, |c| clients.stat(c));
        r
    }

    /// The report without its clients, and the clients in their order, each to be built when it
    /// is wanted ([`ClientsInOrder::stat`]): `relay-report --format json` writes each as it is
    /// built, instead of building all 10,000 first (eight allocations each, which the JSON then
    /// only reads).
    pub(crate) fn report_parts<'a>(
        &'a self,
        clock: &'a Clock,
        lines_read: u64,
        cutoff: Option<i64>,
    ) -> (Report, ClientsInOrder<'a>) {
        let fmt = |t: Option<i64>| t.map(|t| clock.format(t));
        let clients = || {
            self.clients.iter().map(|(key, a)| {
                let order: ClientKey = (
                    Reverse(a.relay_denied),
                    Reverse(a.auth_failed),
                    a.ip.as_deref(),
                    a.host.as_deref(),
                );
                (order, (key, a))
            })
        };
        let clients = ClientsInOrder {
            stats: self,
            clock,
            order: sorted_by_key(self.clients.len(), clients),
        };
        // Most denials first, then by the sender as shown (its bytes as text, invalid UTF-8
        // replaced: a total order of those texts, and the one the report always had).
        let senders = || {
            self.senders.iter().map(|(s, a)| {
                (
                    (Reverse(a.relay_denied), String::from_utf8_lossy(s)),
                    (s, a),
                )
            })
        };
        let n = self.senders.len();
        let senders: Vec<SenderStat> =
            built_in_halves(&sorted_by_key(n, senders), |((_, text), (s, a))| {
                SenderStat {
                    sender: text.clone().into_owned(),
                    relay_denied: a.relay_denied,
                    clients: a.clients.len(),
                    own_domain: in_local_domain(&self.local_domains, s),
                }
            });
        let mut users: Vec<UserStat> = self
            .users
            .iter()
            .map(|(u, a)| UserStat {
                user: text(u),
                auth_failed: a.auth_failed,
                saslauthd_failed: a.saslauthd_failed,
                clients: a.clients.len(),
            })
            .collect();
        users.sort_by(|a, b| {
            (b.auth_failed + b.saslauthd_failed)
                .cmp(&(a.auth_failed + a.saslauthd_failed))
                .then_with(|| a.user.cmp(&b.user))
        });
        let mut reasons: Vec<ReasonStat> = self
            .reasons
            .iter()
            .map(|(r, n)| ReasonStat {
                reason: text(r),
                count: *n,
                advice: advice(r).map(String::from),
            })
            .collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        let report = Report {
            source: None,
            lines_read,
            relay_denied: self.relay_denied,
            relay_denied_without_auth: self.relay_denied_without_auth,
            auth_failed: self.auth_failed,
            auth_ok: self.auth_ok,
            saslauthd_failed: self.saslauthd_failed,
            since: fmt(cutoff),
            skipped_before_since: self.skipped_before_since,
            undated: self.undated,
            first_event: fmt(self.first),
            last_event: fmt(self.last),
            clients: Vec::new(),
            senders,
            users,
            auth_failure_reasons: reasons,
            untracked: self.untracked.clone(),
        };
        (report, clients)
    }
}

/// The sort key of a tracked client: most denials first, then most failed logins. (ip, host)
/// tells any two clients apart (the key is the address, or the name when sendmail logged none),
/// so the order is total; they are the ClientStat's ip and host, so this is also the order of
/// the built stats.
type ClientKey<'a> = (Reverse<u64>, Reverse<u64>, Option<&'a str>, Option<&'a str>);

/// The tracked clients in the report's order, not built yet.
pub(crate) struct ClientsInOrder<'a> {
    stats: &'a Stats,
    clock: &'a Clock,
    order: Vec<(ClientKey<'a>, (&'a [u8], &'a ClientAgg))>,
}

impl ClientsInOrder<'_> {
    /// `"name": [...]` of the clients, each built as it is written.
    pub(crate) fn write_json<W: std::io::Write>(
        &self,
        o: &mut crate::term::PrettyObject<W>,
        name: &str,
    ) -> std::io::Result<()> {
        o.list_of(name, &self.order, |c| self.stat(c))
    }

    /// One client of [`ClientsInOrder::order`] as the report lists it.
    fn stat(&self, &(_, (key, a)): &(ClientKey<'_>, (&[u8], &ClientAgg))) -> ClientStat {
        let fmt = |t: Option<i64>| t.map(|t| self.clock.format(t));
        let logins = self.stats.logins.get(key);
        let (verdict, hint, basis) = hint(a, logins);
        ClientStat {
            host: a.host.as_deref().map(String::from),
            ip: a.ip.as_deref().map(String::from),
            may_be_forged: a.forged,
            relay_denied: a.relay_denied,
            auth_failed: a.auth_failed,
            logins_ok: logins.map_or(0, |l| l.count),
            first_seen: fmt(a.first),
            last_seen: fmt(a.last),
            days_seen: a.days,
            recipients: a.recipients.len(),
            recipient_domains: a.rcpt_domains.len(),
            senders: a.senders.0.iter().map(|s| s.to_string()).collect(),
            sender_count: a.sender_set.len(),
            users_tried: a.users.0.iter().map(|s| s.to_string()).collect(),
            verdict,
            hint,
            basis,
        }
    }
}

/// Fewer items and a second thread costs more than it saves.
const ENOUGH: usize = 2_000;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `here()` on this thread and `there()` on another named `name` at the same time; both on this
/// one if no thread can be had. A panic of the other thread's is resumed here.
fn on_two_threads<A, B: Send>(
    name: &str,
    here: impl FnOnce() -> A,
    there: impl Fn() -> B + Sync,
) -> (A, B) {
    std::thread::scope(|s| {
        let other = std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(s, &there);
        let a = here();
        match other.map(|h| h.join()) {
            Ok(Ok(b)) => (a, b),
            Err(_) => (a, there()),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
        }
    })
}

/// The `n` items that `items` gives (each time it is called, the same items in the same order),
/// sorted by their keys. The keys are meant to differ (then there is one sorted order, however
/// the work is split); items with equal keys come in no particular order, as from any unstable
/// sort.
///
/// With two cores and many items, each thread takes half of the items from the map itself and
/// sorts them, and this one merges the halves. A report with every cap full has 10,000 clients
/// and 10,000 senders. Sorting keys rather than the built stats moves small things: sorting and
/// merging the built clients (240 bytes each) took 3 of the 10 ms the clients took on the 10%
/// benchmark log (timers around each part), the merge alone 2. The counts are in the key, not
/// behind a reference to the tracked client: sorting by those was slower than that. And taking
/// all the items on one thread (each a read of a tracked client at a random place) was 0.8 ms
/// each for the clients and the senders.
fn sorted_by_key<K: Ord + Send, T: Send, I: Iterator<Item = (K, T)>>(
    n: usize,
    items: impl Fn() -> I + Sync,
) -> Vec<(K, T)> {
    let cmp = |a: &(K, T), b: &(K, T)| a.0.cmp(&b.0);
    let sorted = |part: &mut dyn Iterator<Item = (K, T)>| {
        let mut v: Vec<(K, T)> = part.collect();
        v.sort_unstable_by(cmp);
        v
    };
    if cores() < 2 || n < ENOUGH {
        return sorted(&mut items());
    }
    let mid = n / 2;
    let (a, b) = on_two_threads(
        "relay-report-sort",
        || sorted(&mut items().take(mid)),
        || sorted(&mut items().skip(mid)),
    );
    // Merged: with a total order, what sorting them all gives.
    let mut order = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if cmp(y, x) == std::cmp::Ordering::Less {
            b.next()
        } else {
            a.next()
        };
        order.extend(next);
    }
    order.extend(a);
    order.extend(b);
    order
}

/// `f` of each item, in order; with two cores and many items, each thread builds half of them.
fn built_in_halves<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    if cores() < 2 || items.len() < ENOUGH {
        return items.iter().map(f).collect();
    }
    let (first, second) = items.split_at(items.len() / 2);
    let (mut out, rest) = on_two_threads(
        "relay-report-build",
        || {
            // Room for both halves: the second is copied in after it, not into a larger copy.
            let mut out = Vec::with_capacity(items.len());
            out.extend(first.iter().map(&f));
            out
        },
        || second.iter().map(&f).collect::<Vec<U>>(),
    );
    out.extend(rest);
    out
}

/// What the SASL code in sendmail's `AUTH failure` line usually means (DIAGNOSTICS.md).
fn advice(reason: &[u8]) -> Option<&'static str> {
    let has = |code: &[u8]| memchr::memmem::find(reason, code).is_some();
    if has(b"(-13)") {
        Some("wrong user name or password")
    } else if has(b"(-1)") {
        Some("saslauthd not running or its socket not found: start it (Debian: START=yes in /etc/default/saslauthd), check with testsaslauthd")
    } else if has(b"(-4)") {
        Some("pwcheck_method in Sendmail.conf is not one SASL v2 knows (the HOWTO's 'pam'): use 'pwcheck_method: saslauthd'")
    } else if has(b"(-20)") {
        Some("CRAM-MD5/DIGEST-MD5 offered but the passwords are in PAM, not sasldb: offer only LOGIN PLAIN")
    } else {
        None
    }
}

/// Loopback, private (RFC 1918, unique local), link-local or carrier-grade NAT: your own network
/// or your provider's, not the open internet.
fn is_private(ip: &str) -> bool {
    // Most addresses in a full report are public IPv4, told by their first number without
    // parsing them (which was a twentieth of building the report's clients).
    if !ip.contains(':') {
        let first = ip.split('.').next().unwrap_or_default();
        if !["10", "100", "127", "169", "172", "192"].contains(&first) {
            return false;
        }
    }
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments()[0];
            v6.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

const OWN_USER: &str =
    "looks like one of your own users who has not turned on SMTP AUTH in the mail client";

/// A simple, stated guess: the rules are tried in order, and the basis names the facts used.
fn hint(a: &ClientAgg, logins: Option<&LoginAgg>) -> (Verdict, Cow<'static, str>, String) {
    struct Times(u64);
    impl std::fmt::Display for Times {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self.0 {
                1 => f.write_str("once"),
                n => write!(f, "{n} times"),
            }
        }
    }
    let times = Times;
    let users = |s: &Shown| s.0.join(", ");
    let ok = logins.map_or(0, |l| l.count);
    /// How widely a client spread its refused mail, written into the sentence that uses it
    /// (not made into a string of its own first: 10,000 of them in a full report).
    struct Spread<'a>(&'a ClientAgg);
    impl std::fmt::Display for Spread<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let s = |n: u32| if n == 1 { "" } else { "s" };
            let (r, d, n) = (
                self.0.recipients.len(),
                self.0.rcpt_domains.len(),
                self.0.sender_set.len(),
            );
            write!(
                f,
                "{} recipient{} in {} domain{}, {} sender{}",
                at_least(r),
                s(r),
                at_least(d),
                s(d),
                at_least(n),
                s(n),
            )
        }
    }
    let spread = Spread(a);
    let many = a.recipients.len() >= 5 || a.rcpt_domains.len() >= 3 || a.sender_set.len() >= 3;

    if ok > 0 {
        let l = logins.expect("ok > 0");
        let who = if l.users.0.is_empty() {
            String::new()
        } else {
            format!(" (as {})", users(&l.users))
        };
        if a.relay_denied > 0 {
            return (
                Verdict::OwnUser,
                OWN_USER.into(),
                format!(
                    "the same address also logged in successfully {}{who}",
                    times(ok)
                ),
            );
        }
        return (
            Verdict::WrongPassword,
            "looks like one of your own users with a wrong or old password in one of their mail clients".into(),
            format!(
                "logins failed {}, but the same address also logged in successfully {}{who}",
                times(a.auth_failed),
                times(ok)
            ),
        );
    }
    if a.auth_failed > 0 {
        if a.user_set.len() >= 3 {
            return (
                Verdict::Stranger,
                "looks like a stranger guessing passwords".into(),
                format!(
                    "{} failed logins for {} different user names, never a successful one",
                    a.auth_failed,
                    a.user_set.len()
                ),
            );
        }
        // A mail client with a wrong password keeps one user name; trying several while also
        // relaying for senders that are not yours is probing.
        if a.user_set.len() >= 2 && a.relay_denied > 0 && a.own_sender.is_none() {
            return (
                Verdict::Stranger,
                "looks like a stranger probing for an open relay and guessing passwords".into(),
                format!(
                    "it was refused relaying {} time{} for senders outside your domains, and {} logins failed for {} different user names, never a successful one",
                    a.relay_denied,
                    if a.relay_denied == 1 { "" } else { "s" },
                    a.auth_failed,
                    a.user_set.len()
                ),
            );
        }
        if many {
            return (
                Verdict::Stranger,
                "looks like a stranger probing for an open relay (and trying a password)".into(),
                format!(
                    "{} failed login{}, never a successful one, and it tried {spread}",
                    a.auth_failed,
                    if a.auth_failed == 1 { "" } else { "s" }
                ),
            );
        }
        let tried = if a.users.0.is_empty() {
            String::new()
        } else {
            format!(" as {}", users(&a.users))
        };
        return (
            Verdict::WrongPassword,
            "looks like someone whose mail client has SMTP AUTH on, with a wrong password (or a stranger guessing one password)".into(),
            format!(
                "{} failed login{}{tried}, never a successful one from this address",
                a.auth_failed,
                if a.auth_failed == 1 { "" } else { "s" }
            ),
        );
    }
    if let Some(ip) = a.ip.as_deref().filter(|ip| is_private(ip)) {
        return (
            Verdict::OwnUser,
            OWN_USER.into(),
            format!("{ip} is a loopback or private address, i.e. your own network"),
        );
    }
    if let Some(s) = a.own_sender.as_deref().filter(|_| !many) {
        return (
            Verdict::OwnUser,
            OWN_USER.into(),
            format!("it sends as {s}, one of your domains, to few recipients ({spread}); never logged in"),
        );
    }
    if many {
        return (
            Verdict::Stranger,
            "looks like a stranger probing for an open relay".into(),
            format!("it never logged in, and tried {spread}"),
        );
    }
    // A mail client retries and comes back with the same sender; a prober varies it.
    if a.days >= 2 && a.sender_set.len() <= 1 && a.rcpt_domains.len() <= 2 {
        return (
            Verdict::OwnUser,
            "may be one of your own users who has not turned on SMTP AUTH in the mail client"
                .into(),
            format!(
                "it comes back on {} different days, with one sender and few recipients \
                 ({spread}); it never logged in, so check",
                a.days
            ),
        );
    }
    (
        Verdict::Unclear,
        "not enough to tell: look the address up (host, whois) before deciding".into(),
        format!(
            "it was refused {} and never logged in ({spread})",
            times(a.relay_denied)
        ),
    )
}

/// Distinct counts stop at [`SET_CAP`]; say so.
pub(crate) fn at_least(n: u32) -> impl std::fmt::Display {
    struct AtLeast(u32);
    impl std::fmt::Display for AtLeast {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if self.0 as usize >= SET_CAP {
                write!(f, "{}+", self.0)
            } else {
                write!(f, "{}", self.0)
            }
        }
    }
    // (Written where it is used, not made into a string first: the report of 10,000 clients
    // formats 30,000 of them.)
    AtLeast(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hashbrown picks a bucket by the hash's low bits; a multiply spreads every input bit
    /// only upwards, so before the hash was folded the low bits of a client address's hash
    /// depended on a few of its bytes: these 10,000 addresses fell in 385 of 16,384 buckets
    /// (3,678 with rustc-hash's final rotation; 7,432 folded, as random keys would).
    #[test]
    fn fx_low_bits_depend_on_the_whole_key() {
        let fx = SeededFx::new();
        let mut buckets = std::collections::HashSet::new();
        for i in 0..10_000u32 {
            let key = format!("45.{}.{}.{}", i / 2500, (i / 10) % 250, 1 + i % 10);
            buckets.insert(fx.hash_one(key.as_bytes()) & 0x3fff);
        }
        // About 7,500 of 16,384 for a hash that spreads well.
        assert!(buckets.len() > 6_000, "{} buckets", buckets.len());
    }

    #[test]
    fn sorted_by_key_then_built_in_halves_is_a_sort() {
        for n in [0, 1, 1_999, 2_000, 2_001, 10_001] {
            // Many equal counts, told apart by the item (as clients by their address).
            let items: Vec<((Reverse<u64>, u64), u64)> = (0..n)
                .map(|i| (i * 7919) % 100_003)
                .map(|x| ((Reverse(x % 97), x), x))
                .collect();
            let f = |(_, x): &(_, u64)| (x % 97, *x);
            let mut sorted = items.clone();
            sorted.sort();
            let want: Vec<(u64, u64)> = sorted.iter().map(f).collect();
            let in_order = sorted_by_key(items.len(), || items.iter().cloned());
            assert_eq!(built_in_halves(&in_order, f), want, "{n} items");
        }
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.2",
            "10.1.2.3",
            "192.168.0.5",
            "172.20.0.1",
            "100.64.1.1",
            "::1",
            "fd00::5",
            "fe80::1",
            "169.254.3.4",
            "100.127.255.255",
            "172.31.255.255",
        ] {
            assert!(is_private(ip), "{ip}");
        }
        for ip in [
            "45.1.2.3",
            "198.51.100.7",
            "2001:db8::1",
            "client.example.test",
            // The first number of a private range, the rest not.
            "10",
            "10.1.2",
            "100.63.0.1",
            "100.128.0.1",
            "127.0.0.256",
            "169.253.1.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.167.0.1",
            "010.1.2.3",
            "10.example.test",
            "::ffff:10.1.2.3",
        ] {
            assert!(!is_private(ip), "{ip}");
        }
    }

    #[test]
    fn distinct_counting_stops_at_the_cap() {
        let mut d = Distinct::default();
        let hs = SetHasher::default();
        for i in 0..100u32 {
            d.insert(&hs, &i.to_le_bytes());
            d.insert(&hs, &i.to_le_bytes());
        }
        assert_eq!(d.len() as usize, SET_CAP);
    }
}
