//! The streaming scanner: bytes in, aggregates out, in constant memory.
//!
//! A mail log is mostly lines the report does not care about, so the fast path never splits a
//! chunk into lines. One pass over the chunk counts its newlines and finds the rare needles
//! ([`Classifier::NEEDLES`], see `find`); only around each hit does it look for the line
//! boundaries, and classify that line. This part ([`Prescanner`]) is stateless, so for a large
//! file it runs on several threads at once.
//! The ordered part ([`Scanner`]) applies the events in log order, completes lines that span two
//! chunks, and finds the one frequent kind of line that matters: `QID: from=<sender>`, the
//! sender of a refused message, logged when its transaction ends. The prescan looks for it a
//! few KiB after each refusal (where sendmail logs it: the next line or a few later) and, when
//! it is there, hands it over with the events; a refused transaction whose sender is further
//! away is searched for by the ordered part, per pending queue id (`"QID: from=<"` is as rare as
//! a needle gets), and when many are pending at once, every `: from=<` line of the chunk is
//! visited instead (found by the prescan, on a worker, when the chunk holds refusals whose
//! sender it did not find: then that is the likely case).
//!
//! The fast path only chooses which lines the classifier sees, and every line the classifier
//! acts on is among them; a line that spans two chunks goes to the classifier whole. Feeding the
//! same bytes in any chunking therefore gives the same report (the tests feed byte by byte).
use super::find::Needles;
use super::line::{qid_ending_at, sender_at, span_of, Classifier, Event, EventOf, Span, FROM};
use super::report::Report;
use super::stats::{Client, ClientRef, SeededFx, Stats};
use super::time::{epoch_secs, Clock, Zone};
use super::ReportOptions;
use memchr::memmem::Finder;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// Longer lines are not sendmail's (syslog truncates far below this) and are skipped whole, so a
/// file without newlines cannot make the carry-over buffer grow.
pub(crate) const MAX_LINE: usize = 64 * 1024;
/// Refused transactions waiting for their `from=` line.
const MAX_PENDING: usize = 10_000;
/// A refused transaction whose `from=` line has not come within an hour (of log time, measured
/// at later refusals) is given up: the log lost it, or was rotated in between.
const PENDING_TTL: i64 = 3600;
/// Up to this many pending queue ids are searched one by one; beyond, every `from=` line of
/// the chunk is visited instead.
const SMALL_PENDING: usize = 8;
/// From this many refusals in a chunk on, the prescan finds the chunk's `from=` lines for the
/// ordered part (which then very likely goes broad). Fewer (a quiet log: about one refusal
/// in three 64 KiB chunks, one or two in a 256 KiB one) and the ordered part searches per queue id; finding every `from=`
/// line there was 7.5% of the quiet log's CPU time for nothing (perf, 1 GiB, one core).
const PRESCAN_FROMS: usize = SMALL_PENDING / 2;
/// How far after a refusal its `from=` line is looked for by the prescan (see
/// [`Prescanner::sender_near`]).
const NEAR: usize = 8 * 1024;

struct PendingReject {
    client: ClientRef,
    /// Refused recipients in this transaction.
    count: u64,
    ts: Option<i64>,
    seq: u64,
}

/// A queue id, kept inline: sendmail's are 14 bytes and [`qid_ending_at`] takes at most
/// [`Qid::MAX`], so a refused transaction waiting for its sender costs no allocation (at 10%
/// refusals two allocations per refusal were 5% of the CPU time).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Qid {
    len: u8,
    bytes: [u8; Qid::MAX],
}

impl Qid {
    const MAX: usize = 32;

    fn new(q: &[u8]) -> Option<Qid> {
        let mut bytes = [0u8; Qid::MAX];
        bytes.get_mut(..q.len())?.copy_from_slice(q);
        Some(Qid {
            len: q.len() as u8,
            bytes,
        })
    }
}

impl std::ops::Deref for Qid {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Queue ids of refused transactions whose sender is not known yet, oldest first. (The map is
/// looked up for every `from=` line under a relay-probing campaign: a seeded Fx hash rather
/// than SipHash.)
///
/// A refused transaction whose `from=` line the prescan found near it (nearly all of them)
/// waits in `near` instead, a short list, for the few lines until its sender: at 10% refusals
/// the map's insert and remove per refusal were 5% of the CPU time. The list behaves exactly
/// as the newest entries of the map would: its entries are newer than all of the map's (the
/// next entry that goes into the map moves them there first, in order), they count towards
/// [`MAX_PENDING`] (an entry goes there only when the map would not have been full) and they
/// expire like the map's.
struct Pending {
    map: HashMap<Qid, PendingReject, SeededFx>,
    /// Insertion order; entries whose seq no longer matches the map are stale (already taken).
    order: VecDeque<(Qid, u64)>,
    seq: u64,
    near: Vec<(Qid, PendingReject)>,
    /// [`MAX_PENDING`] (smaller in tests).
    cap: usize,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            map: HashMap::with_hasher(SeededFx::new()),
            order: VecDeque::new(),
            seq: 0,
            near: Vec::new(),
            cap: MAX_PENDING,
        }
    }
}

impl Pending {
    /// A refused transaction `qid` waits for its sender; `near`: the prescan found its
    /// `from=` line a few lines on.
    fn add(&mut self, qid: &[u8], client: ClientRef, ts: Option<i64>, near: bool) {
        let Some(qid) = Qid::new(qid) else {
            return;
        };
        if let Some((_, p)) = self.near.iter_mut().find(|(q, _)| *q == qid) {
            p.count += 1;
            return;
        }
        if let Some(p) = self.map.get_mut(&qid) {
            p.count += 1;
            return;
        }
        self.expire(ts);
        let entry = PendingReject {
            client,
            count: 1,
            ts,
            seq: 0,
        };
        if near && self.len() < self.cap {
            // (The map would not have been full after inserting it, so nothing is dropped.)
            self.near.push((qid, entry));
            return;
        }
        for (q, p) in std::mem::take(&mut self.near) {
            self.insert(q, p);
        }
        self.insert(qid, entry);
        while self.map.len() > self.cap {
            self.pop_front();
        }
        if self.order.len() > 2 * self.cap {
            let map = &self.map;
            self.order
                .retain(|(q, s)| map.get(q).is_some_and(|p| p.seq == *s));
        }
    }

    /// Gives up the transactions that have waited longer than [`PENDING_TTL`] before `ts`, as
    /// [`Pending::add`] does before it adds one.
    fn expire(&mut self, ts: Option<i64>) {
        let expired = |p: &PendingReject| match (p.ts, ts) {
            (Some(then), Some(now)) => then < now - PENDING_TTL,
            _ => false,
        };
        while let Some((q, seq)) = self.order.front() {
            let gone = match self.map.get(q) {
                Some(p) if p.seq == *seq => expired(p),
                _ => true, // stale
            };
            if !gone {
                break;
            }
            self.pop_front();
        }
        if self.map.is_empty() {
            // The near entries are the oldest now.
            let n = self.near.iter().take_while(|(_, p)| expired(p)).count();
            self.near.drain(..n);
        }
    }

    fn insert(&mut self, qid: Qid, mut p: PendingReject) {
        self.seq += 1;
        p.seq = self.seq;
        self.map.insert(qid, p);
        self.order.push_back((qid, self.seq));
    }

    /// Transactions waiting for their sender.
    fn len(&self) -> usize {
        self.map.len() + self.near.len()
    }

    fn pop_front(&mut self) {
        if let Some((q, seq)) = self.order.pop_front() {
            if self.map.get(&q).is_some_and(|p| p.seq == seq) {
                self.map.remove(&q);
            }
        }
    }

    fn contains(&self, qid: &[u8]) -> bool {
        // (Nothing waits, most of the time at 10% refusals: then the id need not be copied.)
        if self.len() == 0 {
            return false;
        }
        Qid::new(qid)
            .is_some_and(|q| self.near.iter().any(|(n, _)| *n == q) || self.map.contains_key(&q))
    }

    fn take(&mut self, qid: &[u8]) -> Option<PendingReject> {
        let qid = Qid::new(qid)?;
        match self.near.iter().position(|(q, _)| *q == qid) {
            Some(i) => Some(self.near.remove(i).1),
            None => self.map.remove(&qid),
        }
    }
}

/// What the stateless part learns about a chunk.
#[derive(Debug, Default)]
pub(crate) struct Prescan {
    newlines: u64,
    first_newline: Option<usize>,
    last_newline: Option<usize>,
    /// The events of the lines with a needle hit that lie wholly between the first and the
    /// last newline, and of the refusals' `from=` lines found near them, in order.
    found: Vec<Found>,
    /// How many of them are refusals of a recipient (which wait for their transaction's
    /// `from=` line) whose `from=` line was not found near them in this chunk.
    rejects: usize,
    /// Scratch space for `prescan`.
    near: Vec<Found>,
    hits: Vec<usize>,
    /// Where `: from=<` occurs in the chunk, ascending, when the chunk has [`PRESCAN_FROMS`] refusals or more
    /// (`froms_found`): then the ordered part will most likely visit every `from=` line, and
    /// the search is done here, on a worker, instead of on the thread that applies the events
    /// in order. (Only then: on a quiet log it would be one more pass for nothing.)
    froms: Vec<FromHit>,
    froms_found: bool,
}

#[derive(Debug)]
struct Found {
    /// The line, without its newline, as offsets into the chunk.
    line: Span,
    ts: Option<i64>,
    event: EventOf<Span>,
    /// A refusal whose `from=` line is in `found` too (or is its own line with a needle), or
    /// is `next`.
    from_near: bool,
    /// A refusal's `from=` line when it is the very next line and holds no needle: then it is
    /// not in `found` on its own, and the ordered part counts the two together.
    next: Option<NextFrom>,
}

/// The `from=` line right after a refusal: the line, its queue id and sender.
#[derive(Debug, Clone, Copy)]
struct NextFrom {
    line: Span,
    qid: Span,
    sender: Span,
}

/// What [`Prescanner::sender_near`] found.
enum Near {
    Nothing,
    /// In `found` (a line with a needle) or pushed to `near`.
    Found,
    /// The next line, not pushed anywhere.
    Next(NextFrom),
}

/// The stateless part of the scan: counting lines, finding and classifying the rare lines. A
/// pure function of the chunk's bytes (given "now"), so it can run on any thread.
#[derive(Clone)]
pub(crate) struct Prescanner {
    needles: Needles,
    classifier: Classifier,
    clock: Clock,
    from: Finder<'static>,
    /// A test's: sort every from= line into `found` afterwards, as before they went in as
    /// soon as found (see [`Prescanner::in_order`]).
    #[cfg(test)]
    sort_all: bool,
    /// A test's: never look for a refusal's from= line where its queue id would be (see
    /// [`Prescanner::guesses`]).
    #[cfg(test)]
    no_guess: bool,
    /// A test's: never hand a refusal's from= line over with it (see [`Prescanner::combines`]).
    #[cfg(test)]
    no_next: bool,
}

impl Prescanner {
    /// A refusal's from= line goes into `found` as soon as it is found, where that keeps the
    /// order. (Not a plain field: reading one cost 0.7% of the instructions, by what it did to
    /// the optimised loop.)
    fn in_order(&self) -> bool {
        #[cfg(test)]
        return !self.sort_all;
        #[cfg(not(test))]
        true
    }

    /// A refusal's from= line is looked for first where its queue id would be if it is the
    /// next line (a constant outside tests, like [`Prescanner::in_order`]).
    fn guesses(&self) -> bool {
        #[cfg(test)]
        return !self.no_guess;
        #[cfg(not(test))]
        true
    }

    /// A refusal's from= line on the next line goes with it as [`NextFrom`] (a constant outside
    /// tests, like [`Prescanner::in_order`]).
    fn combines(&self) -> bool {
        #[cfg(test)]
        return !self.no_next;
        #[cfg(not(test))]
        true
    }

    pub(crate) fn prescan(&mut self, chunk: &[u8], out: &mut Prescan) {
        out.hits.clear();
        out.newlines = self.needles.scan(chunk, &mut out.hits);
        out.first_newline = memchr::memchr(b'\n', chunk);
        out.last_newline = memchr::memrchr(b'\n', chunk);
        out.found.clear();
        out.rejects = 0;
        out.froms.clear();
        out.froms_found = false;
        let (Some(first), Some(last)) = (out.first_newline, out.last_newline) else {
            return;
        };
        // Lines before the first newline and after the last are the ordered part's business.
        let hits = &out.hits[out.hits.partition_point(|&h| h <= first)..];
        let hits = &hits[..hits.partition_point(|&h| h < last)];
        // The from= lines found near refusals, merged into `found` at the end.
        let mut near = std::mem::take(&mut out.near);
        near.clear();
        let mut i = 0;
        while i < hits.len() {
            let h = hits[i];
            let start = memchr::memrchr(b'\n', &chunk[..h]).map_or(0, |p| p + 1);
            let end = h + memchr::memchr(b'\n', &chunk[h..=last]).expect("ends in a newline");
            // All the hits in this line (a line has one or two: counted, not binary-searched,
            // which at 10% refusals was a tenth of the prescan's own time). At least this one,
            // so that the loop always moves on (a hit on a newline would be none).
            let n = hits[i..].iter().take_while(|&&x| x < end).count().max(1);
            let line_hits = &hits[i..i + n];
            i += n;
            let line = &chunk[start..end];
            if line.len() > MAX_LINE {
                continue;
            }
            let Some(event) = self.classifier.classify_hits(line, line_hits, start) else {
                continue;
            };
            let ts = match event {
                EventOf::From { .. } => None,
                _ => self.clock.parse(line),
            };
            let mut from_near = false;
            let mut next = None;
            let waiting = near.len();
            if let EventOf::RelayDenied {
                qid: Some(q),
                check_mail: false,
                ..
            } = event
            {
                let qid = span_of(q, chunk);
                match self.sender_near(chunk, &hits[i..], (start, end), qid, last, &mut near) {
                    Near::Nothing => {}
                    Near::Found => from_near = true,
                    Near::Next(n) => {
                        from_near = true;
                        next = Some(n);
                    }
                }
                out.rejects += usize::from(!from_near);
            }
            out.found.push(Found {
                line: (start, end),
                ts,
                event: event.map(|f| span_of(f, chunk)),
                from_near,
                next,
            });
            // The from= line found for it usually comes before the next line with a needle:
            // then it goes in `found` now, in order, and `found` need not be sorted (sorting
            // was 2% of the instructions at 10% refusals). A line found again by a later
            // refusal (the same queue id refused twice) is in `near`, which is merged below.
            // (`sender_near` adds one line at most.)
            if self.in_order()
                && near.len() > waiting
                && hits.get(i).is_none_or(|&h| near[waiting].line.1 < h)
            {
                out.found.extend(near.pop());
            }
        }
        if !near.is_empty() {
            out.found.append(&mut near);
            // Stable: a line is in `found` once unless two refusals found the same from= line.
            out.found.sort_by_key(|f| f.line.0);
            out.found.dedup_by_key(|f| f.line.0);
        }
        out.near = near;
        if out.rejects >= PRESCAN_FROMS {
            from_hits(&self.from, chunk, 0, &mut out.froms);
            out.froms_found = true;
        }
    }

    /// Looks for the `from=` line of the transaction refused on line `refusal` (its queue id at
    /// `qid`) in the lines after it up to `last`, at most [`NEAR`] bytes on: the first line that
    /// the ordered part, searching for `"QID: from=<"` there, would find to be that
    /// transaction's sender. Hands it back when it is the next line and holds no needle;
    /// otherwise pushes its event to `near` (unless it holds a needle: then it is in `found`
    /// already). Says which, or that it found none. `hits` are the needle hits after the
    /// refusal (at least up to `last`).
    ///
    /// sendmail logs the sender when the transaction ends, which for a refused relay attempt is
    /// a line or a few later; so the ordered part, which would otherwise search for each refused
    /// queue id or (under a relay-probing campaign) visit every `from=` line of the chunk, is
    /// told where the line is.
    fn sender_near(
        &self,
        chunk: &[u8],
        hits: &[usize],
        refusal: Span,
        qid: Span,
        last: usize,
        near: &mut Vec<Found>,
    ) -> Near {
        // Where the refusal's queue id starts in its line, and the id.
        let (qid_at, qid) = (qid.0 - refusal.0, &chunk[qid.0..qid.1]);
        let from = refusal.1 + 1;
        let limit = last.min(from.saturating_add(NEAR));
        // sendmail logs the sender from the process that refused, usually on the very next
        // line, whose header is then as long as the refusal's: so `: from=<` is looked for
        // first where the refusal's queue id (at `qid_at` in its line) ends. Found there, it is
        // the first one from `from` on when no `<` comes before it (each one ends in a `<`),
        // and its line starts at `from` when no newline comes before it either: what the
        // search would have found. Otherwise the search runs (a memmem search per refusal was
        // 2% of the instructions at 10% refusals).
        let guess = from + qid_at + qid.len();
        let mut guessed = (self.guesses()
            && guess + FROM.len() <= limit
            && chunk[guess..].starts_with(FROM)
            && memchr::memchr2(b'<', b'\n', &chunk[from..guess]).is_none())
        .then_some(guess);
        let mut at = from;
        while at < limit {
            let searched_from = at;
            let (pos, known_start) = match guessed.take() {
                Some(pos) => (pos, Some(from)),
                None => {
                    let Some(p) = self.from.find(&chunk[at..limit]) else {
                        return Near::Nothing;
                    };
                    (at + p, None)
                }
            };
            at = pos + 1;
            // "QID: from=<" with QID a whole token (as `find_from` asks).
            let Some(q_start) = pos.checked_sub(qid.len()) else {
                continue;
            };
            if &chunk[q_start..pos] != qid
                || (q_start > 0 && !matches!(chunk[q_start - 1], b' ' | b'\n'))
            {
                continue;
            }
            let line_start = known_start.unwrap_or_else(|| {
                memchr::memrchr(b'\n', &chunk[from..pos]).map_or(from, |n| from + n + 1)
            });
            let line_end =
                pos + memchr::memchr(b'\n', &chunk[pos..=last]).expect("ends in a newline");
            at = line_end + 1;
            let line = &chunk[line_start..line_end];
            if line.len() > MAX_LINE {
                continue;
            }
            // The hits in the line: usually none, and the line is a few lines on, so counted.
            let a = hits.iter().take_while(|&&h| h < line_start).count();
            let b = a + hits[a..].iter().take_while(|&&h| h < line_end).count();
            let event = if a == b && line_start >= searched_from {
                // What the classifier would find, without searching again: no needle in the
                // line, and this `: from=<` is the line's first (none since `searched_from`),
                // preceded by `qid` as a whole token (a queue id has no space or newline).
                sender_at(line, pos - line_start).map(|sender| EventOf::From {
                    qid: &chunk[q_start..pos],
                    sender,
                })
            } else {
                self.classifier.classify_hits(line, &hits[a..b], line_start)
            };
            match event {
                Some(event @ EventOf::From { qid: q, sender }) if q == qid => {
                    if a != b {
                        return Near::Found;
                    }
                    // The next line (found where guessed), unless an earlier refusal of the
                    // same transaction found it too: then it is in `near` already, to be
                    // applied once, where it is.
                    if self.combines()
                        && known_start.is_some()
                        && !near.iter().any(|f| f.line.0 == line_start)
                    {
                        return Near::Next(NextFrom {
                            line: (line_start, line_end),
                            qid: span_of(q, chunk),
                            sender: span_of(sender, chunk),
                        });
                    }
                    near.push(Found {
                        line: (line_start, line_end),
                        ts: None,
                        event: event.map(|f| span_of(f, chunk)),
                        from_near: false,
                        next: None,
                    });
                    return Near::Found;
                }
                // Another transaction's line that happens to hold this id: the ordered part
                // would look further too.
                _ => {}
            }
        }
        Near::Nothing
    }
}

/// How many entries the scanner's bounded maps hold (for tests and curiosity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub clients: usize,
    pub pending_senders: usize,
    pub carry_bytes: usize,
}

/// Reads log bytes in chunks of any size and aggregates what matters for the relay report.
pub struct Scanner {
    /// The stateless part, for `feed` and for lines that span chunks; its clock is "the" clock.
    pre: Prescanner,
    cutoff: Option<i64>,
    stats: Stats,
    pending: Pending,
    from: Finder<'static>,
    /// The start of a line whose end has not been fed yet.
    carry: Vec<u8>,
    in_line: bool,
    overlong: bool,
    lines_read: u64,
    // Scratch space, kept to avoid allocating per chunk.
    prescan: Prescan,
    searches: BinaryHeap<Reverse<(usize, usize)>>,
    search_qids: Vec<Qid>,
    needle: Vec<u8>,
    froms: Vec<FromHit>,
}

impl Scanner {
    /// A scanner with `opts`' clock, `--since` cutoff and local domains (`logs` and `stdin`
    /// are the caller's business).
    pub fn new(opts: &ReportOptions) -> Scanner {
        let zone = opts
            .utc_offset
            .map_or_else(|| Zone::for_root(&opts.root), Zone::Fixed);
        Scanner {
            pre: Prescanner {
                needles: Needles::new(&Classifier::NEEDLES, &Classifier::NEEDLE_SKIP),
                classifier: Classifier::new(),
                clock: Clock::new(zone, opts.now),
                from: Finder::new(FROM),
                #[cfg(test)]
                sort_all: false,
                #[cfg(test)]
                no_guess: false,
                #[cfg(test)]
                no_next: false,
            },
            cutoff: opts
                .since
                .map(|d| epoch_secs(opts.now) - i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
            stats: Stats::new(&opts.local_domains),
            pending: Pending::default(),
            from: Finder::new(FROM),
            carry: Vec::new(),
            in_line: false,
            overlong: false,
            lines_read: 0,
            prescan: Prescan::default(),
            searches: BinaryHeap::new(),
            search_qids: Vec::new(),
            needle: Vec::new(),
            froms: Vec::new(),
        }
    }

    /// Feeds the next bytes of the input. Chunks may split lines anywhere.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut pre = std::mem::take(&mut self.prescan);
        self.pre.prescan(chunk, &mut pre);
        self.feed_prescanned(chunk, &pre);
        self.prescan = pre;
    }

    /// A copy of the stateless part, for another thread: [`Prescanner::prescan`] a chunk there,
    /// then [`Scanner::feed_prescanned`] it here, in order.
    pub(crate) fn prescanner(&self) -> Prescanner {
        self.pre.clone()
    }

    /// [`Scanner::feed`] with the stateless part already done.
    pub(crate) fn feed_prescanned(&mut self, chunk: &[u8], pre: &Prescan) {
        if chunk.is_empty() {
            return;
        }
        self.lines_read += pre.newlines;
        let (Some(first), Some(last)) = (pre.first_newline, pre.last_newline) else {
            return self.carry_extend(chunk);
        };
        // The first line ends a line begun earlier, or is a whole line: either way it goes to
        // the classifier whole (the prescan left it out, not knowing which).
        self.carry_extend(&chunk[..first]);
        self.end_line();
        if last > first {
            self.scan_lines(chunk, first + 1, last + 1, pre);
        }
        if last + 1 < chunk.len() {
            self.carry_extend(&chunk[last + 1..]);
        }
    }

    /// Ends the current input: a last line without a newline counts as a line. Call it between
    /// two files, so that one file's unterminated last line is not joined to the next file.
    pub fn end_input(&mut self) {
        if self.in_line {
            self.lines_read += 1;
            self.end_line();
        }
    }

    /// The report of everything fed so far.
    pub fn finish(mut self) -> Report {
        self.end_input();
        self.snapshot()
    }

    /// [`Scanner::snapshot`] with `source`, written as [`Report::write_json`] writes it, but
    /// each client built as it is written rather than all of them first (for `relay-report
    /// --format json`: with every cap full, 10,000 clients of eight allocations each that the
    /// JSON only reads). Gives back the writer, not flushed.
    pub fn write_json<W: std::io::Write>(
        &self,
        source: Option<String>,
        w: W,
    ) -> std::io::Result<W> {
        let (mut r, clients) =
            self.stats
                .report_parts(&self.pre.clock, self.lines_read, self.cutoff);
        r.source = source;
        r.write_json_with(w, |o| clients.write_json(o, "clients"))
    }

    /// The report of the complete lines fed so far, without ending the input.
    pub fn snapshot(&self) -> Report {
        self.stats
            .report(&self.pre.clock, self.lines_read, self.cutoff)
    }

    /// The `--since` cutoff, epoch seconds.
    pub(crate) fn cutoff(&self) -> Option<i64> {
        self.cutoff
    }

    /// How much bounded state the scanner holds now.
    pub fn tracked(&self) -> Tracked {
        Tracked {
            clients: self.stats.tracked_clients(),
            pending_senders: self.pending.len(),
            carry_bytes: self.carry.capacity(),
        }
    }

    /// Moves "now" (year inference of classic stamps) without moving the `--since` cutoff.
    pub(crate) fn set_now(&mut self, now: i64) {
        self.pre.clock.set_now(now);
    }

    fn carry_extend(&mut self, b: &[u8]) {
        self.in_line = true;
        if self.overlong {
            return;
        }
        if self.carry.len() + b.len() > MAX_LINE {
            self.overlong = true;
            self.carry.clear();
        } else {
            self.carry.extend_from_slice(b);
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.carry);
        if !self.overlong {
            self.process_line(&line);
        }
        self.carry = line;
        self.carry.clear();
        self.overlong = false;
        self.in_line = false;
    }

    /// Acts on one line (without its newline). Returns the queue id of a refused transaction
    /// that now waits for its sender.
    fn process_line<'l>(&mut self, line: &'l [u8]) -> Option<&'l [u8]> {
        let event = self.pre.classifier.classify(line)?;
        self.apply_line(line, event)
    }

    /// [`Scanner::process_line`] for a line of a prescanned chunk that starts at `base`, given
    /// the needle hits in it (offsets into the chunk).
    fn process_line_hits<'l>(
        &mut self,
        line: &'l [u8],
        hits: &[usize],
        base: usize,
    ) -> Option<&'l [u8]> {
        let event = self.pre.classifier.classify_hits(line, hits, base)?;
        self.apply_line(line, event)
    }

    /// Applies the event of `line`, with the line's time stamp where the event needs one.
    fn apply_line<'l>(&mut self, line: &'l [u8], event: Event<'l>) -> Option<&'l [u8]> {
        let ts = match event {
            EventOf::From { .. } => None,
            _ => self.pre.clock.parse(line),
        };
        self.apply(event, ts, false)
    }

    /// [`Scanner::apply`] of a refusal (prescanned, `near`) and then of the `from=` line right
    /// after it, of queue id `from_qid` and sender `sender`. When the transaction was not
    /// waiting for its sender already and the list of those that wait has room, the refusal
    /// would wait in it only until the next line: then the sender is counted at once, and the
    /// list only gives up what has waited too long, as adding to it would (at 10% refusals,
    /// the wait was a tenth of the instructions).
    fn apply_with_sender(
        &mut self,
        event: Event<'_>,
        ts: Option<i64>,
        from_qid: &[u8],
        sender: &[u8],
    ) {
        if let EventOf::RelayDenied {
            qid: Some(qid),
            check_mail: false,
            arg1,
            relay,
            auth_required,
        } = event
        {
            if !self.before_cutoff(ts)
                && qid.len() <= Qid::MAX
                && self.pending.len() < self.pending.cap
                && !self.pending.contains(qid)
            {
                let c = Client::of(&relay);
                let client = self.stats.relay_denied(ts, &c, arg1, None, auth_required);
                self.pending.expire(ts);
                self.stats.sender(client, sender, 1);
                return;
            }
        }
        self.apply(event, ts, true);
        self.apply(
            EventOf::From {
                qid: from_qid,
                sender,
            },
            None,
            false,
        );
    }

    /// An event at `ts` comes before the `--since` cutoff.
    fn before_cutoff(&self, ts: Option<i64>) -> bool {
        matches!((self.cutoff, ts), (Some(cut), Some(t)) if t < cut)
    }

    /// Counts one event; returns the queue id of a refused transaction that now waits for its
    /// sender. `near`: a refusal whose `from=` line the prescan found (see [`Pending`]).
    fn apply<'l>(&mut self, event: Event<'l>, ts: Option<i64>, near: bool) -> Option<&'l [u8]> {
        if let EventOf::From { qid, sender } = event {
            if let Some(p) = self.pending.take(qid) {
                self.stats.sender(p.client, sender, p.count);
            }
            return None;
        }
        if self.before_cutoff(ts) {
            self.stats.skipped_before_since += 1;
            return None;
        }
        let client = Client::of;
        match event {
            EventOf::RelayDenied {
                qid,
                check_mail,
                arg1,
                relay,
                auth_required,
            } => {
                let c = client(&relay);
                let (recipient, sender) = if check_mail {
                    (None, arg1)
                } else {
                    (arg1, None)
                };
                let client = self
                    .stats
                    .relay_denied(ts, &c, recipient, sender, auth_required);
                let qid = qid.filter(|_| !check_mail)?;
                self.pending.add(qid, client, ts, near);
                Some(qid)
            }
            EventOf::AuthFailed {
                reason,
                user,
                relay,
            } => {
                self.stats.auth_failed(ts, &client(&relay), user, reason);
                None
            }
            EventOf::AuthOk { relay, authid } => {
                self.stats.auth_ok(ts, relay.key(), authid);
                None
            }
            EventOf::SaslauthdFailed { user } => {
                self.stats.saslauthd_failed(ts, user);
                None
            }
            EventOf::From { .. } => None,
        }
    }

    /// The ordered part over `chunk[start..end]`, which is whole lines, each ending in a
    /// newline: the prescan's events, merged in log order with the `from=` lines of refused
    /// transactions.
    fn scan_lines(&mut self, chunk: &[u8], start: usize, end: usize, pre: &Prescan) {
        let hay = &chunk[..end];
        let mut searches = std::mem::take(&mut self.searches);
        let mut qids = std::mem::take(&mut self.search_qids);
        searches.clear();
        qids.clear();
        // A search hit: (position, index into `qids`).

        // Each refusal may add a pending queue id; past a handful, visiting every from= line of
        // the chunk is cheaper than searching for each id.
        let broad = self.pending.len() + pre.rejects > SMALL_PENDING;
        // Broad: the from= lines of hay[start..], ascending (no heap needed: nothing else is
        // searched then), found by the prescan or here.
        let mut own_froms = std::mem::take(&mut self.froms);
        own_froms.clear();
        let froms: &[FromHit] = if !broad {
            &[]
        } else if pre.froms_found {
            // The prescan searched the whole chunk: keep the matches wholly inside
            // hay[start..end] (`: from=<` cannot overlap itself, so these are the same).
            let a = pre.froms.partition_point(|f| f.pos < start);
            let b = pre.froms.partition_point(|f| f.pos + FROM.len() <= end);
            &pre.froms[a..b.max(a)]
        } else {
            from_hits(&self.from, hay, start, &mut own_froms);
            &own_froms
        };
        let mut froms = froms.iter().copied().peekable();
        if !broad {
            qids.extend(self.pending.map.keys().copied());
            qids.extend(self.pending.near.iter().map(|(q, _)| *q));
            for (i, q) in qids.iter().enumerate() {
                if let Some(p) = find_from(hay, start, q, &mut self.needle) {
                    searches.push(Reverse((p, i)));
                }
            }
        }

        let mut found = pre.found.iter().peekable();
        // hay[..done] has been handled; `done` is always at a line start.
        let mut done = start;
        loop {
            let next_found = found.peek().map(|f| f.line.0);
            let next_search = if broad {
                froms.peek().map(|f| f.pos)
            } else {
                searches.peek().map(|r| r.0 .0)
            };
            let new_qid = match (next_found, next_search) {
                (None, None) => break,
                (Some(f), s) if s.is_none_or(|s| f <= s) => {
                    let f = found.next().expect("peeked");
                    if f.line.0 < done {
                        // Only a from= line found by two refusals comes here twice, and one
                        // handed over with its refusal is never found by another.
                        debug_assert!(f.next.is_none(), "a refusal skipped with its from= line");
                        continue;
                    }
                    done = f.line.1 + 1;
                    let event = f.event.map(|(a, b)| &chunk[a..b]);
                    let new_qid = match f.next {
                        None => self.apply(event, f.ts, f.from_near),
                        Some(n) => {
                            done = n.line.1 + 1;
                            let (qid, sender) =
                                (&chunk[n.qid.0..n.qid.1], &chunk[n.sender.0..n.sender.1]);
                            self.apply_with_sender(event, f.ts, qid, sender);
                            None
                        }
                    };
                    // The prescan found this refusal's from= line: it is in `found`, in order.
                    new_qid.filter(|_| !f.from_near)
                }
                _ if broad => {
                    // A broad hit is a from= line and nothing else (a line with a needle came
                    // from the prescan, before it): only its queue id can matter, and the
                    // prescan found where that starts, so an unwanted line (under a
                    // relay-probing campaign, two in five of the log) is not read here at all:
                    // on two cores it is in another core's cache.
                    let f = froms.next().expect("peeked");
                    let pending = &self.pending;
                    if f.pos < done || !f.qid(hay).is_some_and(|q| pending.contains(q)) {
                        continue;
                    }
                    let (line_start, line_end) = line_around(hay, done, f.pos);
                    done = line_end + 1;
                    let line = &hay[line_start..line_end];
                    if line.len() > MAX_LINE {
                        continue;
                    }
                    let a = pre.hits.partition_point(|&h| h < line_start);
                    let b = pre.hits.partition_point(|&h| h < line_end);
                    self.process_line_hits(line, &pre.hits[a..b], line_start)
                }
                _ => {
                    let Reverse((pos, slot)) = searches.pop().expect("peeked");
                    let mut new_qid = None;
                    if pos >= done {
                        let (line_start, line_end) = line_around(hay, done, pos);
                        done = line_end + 1;
                        let line = &hay[line_start..line_end];
                        if line.len() <= MAX_LINE {
                            // The prescan found every needle of the chunk: the line's are
                            // those, so it need not be searched again.
                            let a = pre.hits.partition_point(|&h| h < line_start);
                            let b = pre.hits.partition_point(|&h| h < line_end);
                            new_qid = self.process_line_hits(line, &pre.hits[a..b], line_start);
                        }
                    }
                    // If that line was not this id's from= line after all (or was handled
                    // already), look further.
                    if self.pending.contains(&qids[slot]) {
                        if let Some(p) = find_from(hay, done, &qids[slot], &mut self.needle) {
                            searches.push(Reverse((p, slot)));
                        }
                    }
                    new_qid
                }
            };
            if let Some(q) = new_qid.filter(|_| !broad).and_then(Qid::new) {
                if let Some(p) = find_from(hay, done, &q, &mut self.needle) {
                    searches.push(Reverse((p, qids.len())));
                }
                qids.push(q);
            }
        }
        drop(froms);
        self.froms = own_froms;
        self.searches = searches;
        self.search_qids = qids;
    }
}

/// A `: from=<` in a chunk, and where the queue id that ends there starts (`qid_start == pos`:
/// none there).
#[derive(Clone, Copy, Debug)]
struct FromHit {
    pos: usize,
    qid_start: usize,
}

impl FromHit {
    fn qid<'h>(&self, hay: &'h [u8]) -> Option<&'h [u8]> {
        (self.qid_start < self.pos).then(|| &hay[self.qid_start..self.pos])
    }
}

/// Appends the `: from=<` of `hay[start..]`, each with its queue id as [`qid_ending_at`] finds
/// it in the line: the token between the previous space (or the line's start) and the hit.
/// Queue ids are at most 32 bytes, so only that far back is looked at; a token that reaches
/// back to `hay`'s start is not counted (the caller's lines start after a newline).
fn from_hits(from: &Finder<'_>, hay: &[u8], start: usize, out: &mut Vec<FromHit>) {
    const LONGEST: usize = 32;
    for p in from.find_iter(&hay[start..]) {
        let pos = start + p;
        let lo = pos.saturating_sub(LONGEST + 1);
        let qid_start = memchr::memrchr2(b' ', b'\n', &hay[lo..pos])
            .map(|d| lo + d + 1)
            .filter(|&s| qid_ending_at(&hay[s..], pos - s).is_some())
            .unwrap_or(pos);
        out.push(FromHit { pos, qid_start });
    }
}

/// The line around `pos` (its start and the position of its newline): `hay[..done]` has been
/// handled and ends at a line start, and `hay` ends with a newline.
fn line_around(hay: &[u8], done: usize, pos: usize) -> (usize, usize) {
    let line_start = memchr::memrchr(b'\n', &hay[done..pos]).map_or(done, |p| done + p + 1);
    let line_end = pos + memchr::memchr(b'\n', &hay[pos..]).expect("ends in a newline");
    (line_start, line_end)
}

/// The position of the next `"QID: from=<"` at or after `from` whose queue id starts a token.
fn find_from(body: &[u8], from: usize, qid: &[u8], needle: &mut Vec<u8>) -> Option<usize> {
    needle.clear();
    needle.extend_from_slice(qid);
    needle.extend_from_slice(FROM);
    let mut at = from;
    while at < body.len() {
        let p = at + memchr::memmem::find(&body[at..], needle)?;
        if p == 0 || matches!(body[p - 1], b' ' | b'\n') {
            return Some(p);
        }
        at = p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the in-order part did before the prescan found the queue ids: the line around each
    /// hit, and `qid_ending_at` in it.
    fn by_line(hay: &[u8], start: usize) -> Vec<(usize, Option<Vec<u8>>)> {
        memchr::memmem::find_iter(&hay[start..], FROM)
            .map(|p| {
                let pos = start + p;
                let line_start = memchr::memrchr(b'\n', &hay[..pos]).map_or(0, |n| n + 1);
                let q = qid_ending_at(&hay[line_start..], pos - line_start).map(<[u8]>::to_vec);
                (pos, q)
            })
            .collect()
    }

    fn fast(hay: &[u8], start: usize) -> Vec<(usize, Option<Vec<u8>>)> {
        let mut v = Vec::new();
        from_hits(&Finder::new(FROM), hay, start, &mut v);
        v.iter()
            .map(|f| (f.pos, f.qid(hay).map(<[u8]>::to_vec)))
            .collect()
    }

    #[test]
    fn queue_ids_of_from_hits_at_the_edges() {
        let mut hay = b"x\n".to_vec();
        for n in [0, 1, 5, 6, 14, 31, 32, 33, 40] {
            let id = "A".repeat(n);
            for before in ["", "sm-mta[1]: ", "a b  ", "x-y "] {
                hay.extend_from_slice(format!("{before}{id}: from=<a@b>\n").as_bytes());
            }
        }
        hay.extend_from_slice(b"6AQA000000001x: from=<a>, 6AQA000000002y: from=<b>\n");
        hay.extend_from_slice(b"abc\t6AQA00000000: from=<a>\n: from=<a>\n");
        let f = fast(&hay, 2);
        assert_eq!(f, by_line(&hay, 2));
        assert_eq!(f.iter().filter(|(_, q)| q.is_some()).count(), 18);
    }

    /// The prescan of `chunk` as it is, and with a test switch that `change` sets.
    fn prescan_two_ways(chunk: &[u8], change: impl FnOnce(&mut Prescanner)) -> (Prescan, Prescan) {
        let sc = Scanner::new(&ReportOptions::default());
        let (mut plain, mut changed) = (sc.prescanner(), sc.prescanner());
        change(&mut changed);
        let (mut a, mut b) = (Prescan::default(), Prescan::default());
        plain.prescan(chunk, &mut a);
        changed.prescan(chunk, &mut b);
        (a, b)
    }

    /// `found` with each [`NextFrom`] as the from= line's own entry after its refusal's, as
    /// the prescan has it when it does not combine them.
    fn flat(found: &[Found]) -> Vec<String> {
        let mut out = Vec::new();
        for f in found {
            out.push(format!(
                "{:?} {:?} {:?} {}",
                f.line, f.ts, f.event, f.from_near
            ));
            if let Some(n) = f.next {
                let event: EventOf<Span> = EventOf::From {
                    qid: n.qid,
                    sender: n.sender,
                };
                out.push(format!("{:?} None {:?} false", n.line, event));
            }
        }
        out
    }

    /// A log of refusals (of recipients and of senders), their from= lines (next, later, or
    /// twice), deliveries and AUTH failures, for `lines` of (kind, queue id, client, seconds on).
    fn mixed_log(lines: &[(usize, usize, usize, i64)]) -> Vec<u8> {
        let mut log = Vec::new();
        // 2026-11-20 00:00 UTC.
        let mut t = 1_795_132_800i64;
        for &(kind, q, c, step) in lines {
            t += step;
            let day = 20 + (t - 1_795_132_800) / 86_400;
            let (mon, d) = if day <= 30 {
                ("Nov", day)
            } else {
                ("Dec", day - 30)
            };
            let hms = t.rem_euclid(86_400);
            let head = format!(
                "{mon} {d:2} {:02}:{:02}:{:02} h sm-mta[1]: ",
                hms / 3600,
                hms / 60 % 60,
                hms % 60
            );
            let q = format!("6AQA00000000{q}x");
            let line = match kind {
                0 | 1 => format!("{head}{q}: ruleset=check_rcpt, arg1=<v{c}@x.example>, relay=c{c} [192.0.2.{c}], reject=550 5.7.1 <v{c}@x.example>... Relaying denied. Proper authentication required."),
                2 => format!("{head}{q}: ruleset=check_mail, arg1=<m{c}@x.example>, relay=c{c} [192.0.2.{c}], reject=550 5.7.1 <m{c}@x.example>... Relaying denied."),
                3..=5 => format!("{head}{q}: from=<s{c}@example.com>, size=0, nrcpts=0"),
                6 => format!("{head}{q}: to=<t@z.example>, stat=Sent"),
                _ => format!("{head}AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=u{c}, relay=[192.0.2.{c}]"),
            };
            log.extend_from_slice(line.as_bytes());
            log.push(b'\n');
        }
        log
    }

    proptest! {
        /// A refusal's from= line on the next line counted with it (without waiting in the
        /// pending list): the same report as when it waits there, whatever else waits (the
        /// same transaction refused before, a full list, entries expiring as log time jumps
        /// past PENDING_TTL), for refusals of senders, and with a --since that cuts some off.
        #[test]
        fn next_from_line_counted_as_if_it_waited(
            lines in prop::collection::vec((0..8usize, 0..4usize, 0..3usize, prop_oneof![Just(0i64), Just(1), Just(3_601)]), 0..80),
            cap in 1..5usize,
            since_hours in prop::option::of(0..80u64),
        ) {
            let log = mixed_log(&lines);
            let opts = ReportOptions {
                // 2026-12-05 00:00 UTC.
                now: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_428_800),
                utc_offset: Some(0),
                since: since_hours.map(|h| std::time::Duration::from_secs(h * 3600 + 24 * 3600 * 12)),
                local_domains: vec!["example.com".into()],
                ..ReportOptions::default()
            };
            let report = |combine: bool| {
                let mut sc = Scanner::new(&opts);
                sc.pre.no_next = !combine;
                sc.pending.cap = cap;
                sc.feed(&log);
                serde_json::to_string(&sc.finish()).unwrap()
            };
            prop_assert_eq!(report(true), report(false));
        }

        /// Refusals' from= lines put in `found` as they are found: the same `found` as when
        /// they are all sorted in afterwards, whatever the order of the lines (a queue id
        /// refused twice, a sender before its refusal or after the next one, from= lines with
        /// a needle, lines cut by the chunk's ends).
        #[test]
        fn from_lines_in_order_as_if_sorted_in(
            lines in prop::collection::vec((0..7usize, 0..3usize), 0..60),
            cut in 0..40usize,
        ) {
            let mut chunk = Vec::new();
            for (kind, q) in lines {
                let q = format!("6AQA00000000{q}x");
                let line = match kind {
                    0 | 1 => format!("Nov 30 12:59:37 h sm-mta[1]: {q}: ruleset=check_rcpt, arg1=<v@x.example>, relay=c [192.0.2.{q}], reject=550 5.7.1 <v@x.example>... Relaying denied. Proper authentication required."),
                    2 | 3 => format!("Nov 30 12:59:38 h sm-mta[1]: {q}: from=<s{q}@y.example>, size=0, nrcpts=0"),
                    4 => format!("Nov 30 12:59:38 h sm-mta[1]: {q}: from=<s@y.example>, AUTH=server, relay=c"),
                    5 => format!("Nov 30 12:59:39 h sm-mta[1]: {q}: to=<t@z.example>, stat=Sent"),
                    _ => "Nov 30 12:59:40 h sm-mta[1]: AUTH=server, relay=c [192.0.2.9], authid=u, mech=PLAIN".to_string(),
                };
                chunk.extend_from_slice(line.as_bytes());
                chunk.push(b'\n');
            }
            let (a, b) = prescan_two_ways(&chunk[cut.min(chunk.len())..], |p| p.sort_all = true);
            prop_assert_eq!(format!("{:?}", a.found), format!("{:?}", b.found));
            prop_assert_eq!(a.rejects, b.rejects);
        }

        /// A refusal's from= line looked for first where the refusal's queue id would be in the
        /// next line: the same `found` as searching for it, whatever the next lines are (headers
        /// of other lengths, a `<` or a line break before the guessed place, another queue id or
        /// a longer one there, the same id elsewhere, lines cut by the chunk's ends).
        #[test]
        fn from_line_guessed_as_if_searched(
            lines in prop::collection::vec((0..10usize, 0..3usize, 0..5usize), 0..40),
            cut in 0..40usize,
        ) {
            let mut chunk = Vec::new();
            for (kind, q, head) in lines {
                let q = format!("6AQA00000000{q}x");
                // The first and the last two are as long: the last one holds the same
                // transaction's `from=<` before where the guess looks.
                let head = match head {
                    0 => "Nov 30 12:59:37 h sm-mta[1]: ".to_string(),
                    1 => "Nov 30 12:59:37 hh sm-mta[1]: ".to_string(),
                    2 => "<22>Nov 30 12:59:37 h sm-mta[1]: ".to_string(),
                    3 => "Nov 30 12:59:37 h sm-mta[\n]: ".to_string(),
                    _ => format!("{q}: from=<a> x]: "),
                };
                let line = match kind {
                    0..=2 => format!("{head}{q}: ruleset=check_rcpt, arg1=<v@x.example>, relay=c [192.0.2.1], reject=550 5.7.1 <v@x.example>... Relaying denied. Proper authentication required."),
                    3..=5 => format!("{head}{q}: from=<s{q}@y.example>, size=0, nrcpts=0"),
                    6 => format!("{head}{q}: from=<s@y.example>, AUTH=server, relay=c"),
                    7 => format!("{head}X{q}: from=<s@y.example>, size=0"),
                    8 => format!("{head}{q}: from=s@y.example, size=0"),
                    _ => format!("{head}{q}: to=<t@z.example>, stat=Sent"),
                };
                chunk.extend_from_slice(line.as_bytes());
                chunk.push(b'\n');
            }
            let (a, b) = prescan_two_ways(&chunk[cut.min(chunk.len())..], |p| p.no_guess = true);
            prop_assert_eq!(flat(&a.found), flat(&b.found));
            prop_assert_eq!(a.rejects, b.rejects);
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u8, Option<i64>, bool),
        Take(u8),
        Contains(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..12u8, prop::option::weighted(0.9, 0..3u8), any::<bool>())
                .prop_map(|(q, t, near)| Op::Add(q, t.map(|t| i64::from(t) * 2000), near)),
            (0..12u8).prop_map(Op::Take),
            (0..12u8).prop_map(Op::Contains),
        ]
    }

    proptest! {
        /// Refusals whose sender is near wait in a short list instead of the map: the same
        /// as if they had gone into the map (which is what `near: false` does), whatever comes
        /// in between: expiry (log time jumping by more than PENDING_TTL), the cap, the same
        /// queue id refused again.
        #[test]
        fn near_refusals_wait_exactly_as_in_the_map(
            ops in prop::collection::vec(op(), 0..300), cap in 1..6usize,
        ) {
            let mut near = Pending { cap, ..Pending::default() };
            let mut plain = Pending { cap, ..Pending::default() };
            let qid = |q: u8| format!("6AQA{q:010}");
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Add(q, ts, n) => {
                        let c = ClientRef::for_test(i as u64);
                        near.add(qid(q).as_bytes(), c, ts, n);
                        plain.add(qid(q).as_bytes(), c, ts, false);
                    }
                    Op::Take(q) => {
                        let view = |p: Option<PendingReject>| p.map(|p| (p.client.for_test_id(), p.count, p.ts));
                        prop_assert_eq!(view(near.take(qid(q).as_bytes())), view(plain.take(qid(q).as_bytes())));
                    }
                    Op::Contains(q) => {
                        prop_assert_eq!(near.contains(qid(q).as_bytes()), plain.contains(qid(q).as_bytes()));
                    }
                }
                prop_assert_eq!(near.len(), plain.len());
                prop_assert!(plain.near.is_empty());
            }
        }

        #[test]
        fn queue_ids_of_from_hits_as_the_line_finds_them(parts in prop::collection::vec(prop_oneof![
            Just(&b": from=<"[..]), Just(&b"\n"[..]), Just(&b" "[..]), Just(&b"6AQA0000"[..]),
            Just(&b"Zz9"[..]), Just(&b"-"[..]), Just(&b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"[..]),
        ], 0..120)) {
            let mut hay = b"\n".to_vec();
            hay.extend(parts.concat());
            prop_assert_eq!(fast(&hay, 1), by_line(&hay, 1));
        }
    }
}
