//! HOWTO step 13: "Hover anxiously over the server for a couple of days and check for
//! Relaying denied errors. Track them down aggressively, since most of them will be your own
//! customers who didn't fix their mail clients when you told them to do so."
//!
//! This module reads sendmail's mail log (rotated and gzipped files included, or `journalctl`
//! output on stdin) and reports who was refused relaying and who failed to log in, per client,
//! with a stated guess of whether the client is one of your own users or a stranger probing for
//! an open relay. It only reads: it never changes the system and never touches sendmail.
//!
//! Logs can be large (gigabytes on a busy server), so the scan streams in constant memory:
//! large chunks, one vectorised pass per chunk that counts lines and finds the few that matter
//! without splitting the rest, and aggregates capped at [`MAX_TRACKED`] entries. The stateless
//! part (reading, counting, finding and classifying lines) runs on one thread per core; the
//! rest, in log order, on the calling thread. See [`Scanner`].
mod find;
mod line;
mod report;
mod scan;
mod stats;
mod time;

pub use report::{ClientStat, ReasonStat, Report, SenderStat, Untracked, UserStat, Verdict};
pub use scan::{Scanner, Tracked};
pub use stats::MAX_TRACKED;

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Bytes per read. Large enough that per-read costs vanish, small enough to stay in cache.
const CHUNK: usize = 256 * 1024;

/// What to read and how to read it.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Log files, oldest first; `-` is standard input. Empty: the caller fills in
    /// [`default_logs`].
    pub logs: Vec<PathBuf>,
    /// Only events newer than this (`--since 2d`).
    pub since: Option<Duration>,
    /// "Now", for `--since` and for the year of classic syslog stamps (injectable for tests).
    pub now: SystemTime,
    /// Also read standard input (after the files), e.g. `journalctl -u sendmail | ...`.
    pub stdin: bool,
    /// Your own mail domains (see [`read_local_domains`]), for the hints; empty: unknown.
    pub local_domains: Vec<String>,
    /// The time zone of classic syslog stamps, in seconds east of UTC. `None`: this machine's
    /// local time zone, which is what syslog wrote them in.
    pub utc_offset: Option<i32>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            logs: Vec::new(),
            since: None,
            now: SystemTime::now(),
            stdin: false,
            local_domains: Vec::new(),
            utc_offset: None,
        }
    }
}

/// Why the logs could not be read. Every variant but `NoLogs` names the file.
#[derive(Debug)]
pub enum ReportError {
    /// No log given and none found.
    NoLogs,
    Missing(PathBuf),
    Unreadable {
        path: PathBuf,
        source: io::Error,
    },
    /// Named `.gz` but not gzip data.
    NotGzip(PathBuf),
    /// gzip data that is damaged or cut short.
    BadGzip {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NoLogs => write!(f, "no mail log to read: give one with --log FILE"),
            ReportError::Missing(p) => write!(
                f,
                "{}: no such file (if sendmail logs elsewhere, give the log with --log FILE)",
                p.display()
            ),
            ReportError::Unreadable { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ReportError::NotGzip(p) => {
                write!(f, "{}: named .gz but is not gzip data", p.display())
            }
            ReportError::BadGzip { path, source } => {
                write!(
                    f,
                    "{}: damaged or incomplete gzip data: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Unreadable { source, .. } | ReportError::BadGzip { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Parses `--since`: a number and a unit (`s`, `m`, `h`, `d`, `w`), possibly several
/// (`1d12h`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{s}': use a number and a unit, e.g. 90m, 36h, 2d, 1w");
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    let mut any = false;
    for c in s.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or_else(bad)?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n = num.take().ok_or_else(bad)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        any = true;
    }
    if num.is_some() || !any {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// The profile's mail logs under `root` with their rotated siblings, oldest first: `mail.log.3.gz`,
/// `mail.log.2.gz`, `mail.log.1`, `mail.log` (Debian's logrotate), or `maillog-20261115`,
/// `maillog-20261122`, `maillog` (Red Hat's dateext). Only files that exist are listed; if none
/// of the profile's logs exists, the first one is returned anyway so that the error names it.
pub fn default_logs(root: &Path, profile_logs: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in profile_logs {
        let live = root.join(name.trim_start_matches('/'));
        let (Some(dir), Some(base)) = (live.parent(), live.file_name().and_then(|b| b.to_str()))
        else {
            continue;
        };
        // (numbered: higher is older; dated: lower is older), so sort numbered descending first.
        let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
        let mut dated: Vec<(String, PathBuf)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let file = e.file_name();
                let Some(file) = file.to_str() else { continue };
                let Some(rest) = file.strip_prefix(base) else {
                    continue;
                };
                let rest = rest.strip_suffix(".gz").unwrap_or(rest);
                if let Some(n) = rest.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
                    numbered.push((n, e.path()));
                } else if let Some(d) = rest
                    .strip_prefix('-')
                    .filter(|d| d.len() >= 8 && d.bytes().all(|c| c.is_ascii_digit()))
                {
                    dated.push((d.to_string(), e.path()));
                }
            }
        }
        numbered.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        dated.sort();
        out.extend(numbered.into_iter().map(|(_, p)| p));
        out.extend(dated.into_iter().map(|(_, p)| p));
        if live.is_file() {
            out.push(live);
        }
    }
    if out.is_empty() {
        if let Some(first) = profile_logs.first() {
            out.push(root.join(first.trim_start_matches('/')));
        }
    }
    out
}

/// The mail domains this server accepts as its own (`/etc/mail/local-host-names`, sendmail's
/// class w), for the hints. Missing file: none.
pub fn read_local_domains(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("etc/mail/local-host-names")) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Reads every log (gzip transparently, in the order given) and reports.
pub fn report_files(opts: &ReportOptions) -> Result<Report, ReportError> {
    if opts.logs.is_empty() && !opts.stdin {
        return Err(ReportError::NoLogs);
    }
    // Fail before a long read, not after it, when a file is missing.
    for p in opts.logs.iter().filter(|p| !is_stdin(p)) {
        check_file(p)?;
    }
    let mut sc = Scanner::new(opts);
    for p in &opts.logs {
        scan_source(&mut sc, open(p)?, p)?;
        sc.end_input();
    }
    if opts.stdin {
        scan_stream(&mut sc, Input::plain(Box::new(io::stdin())), Path::new("-"))?;
        sc.end_input();
    }
    Ok(sc.finish())
}

/// Like `tail -F`: reads the logs, reports, then keeps reading the live log(s) as they grow,
/// reopening them when they are rotated (a new inode at the path) or truncated in place
/// (logrotate's copytruncate). Rotated siblings (`.1`, `.2.gz`, `-20261122`) are read once.
///
/// `on_update` is called once after the initial read and then after every `poll` interval,
/// whether or not anything new arrived (compare `lines_read`); returning `false` stops.
/// With `stdin`, standard input is followed until it ends.
pub fn follow(
    opts: &ReportOptions,
    mut on_update: impl FnMut(&Report) -> bool,
    poll: Duration,
) -> Result<(), ReportError> {
    if opts.logs.is_empty() && !opts.stdin {
        return Err(ReportError::NoLogs);
    }
    for p in opts.logs.iter().filter(|p| !is_stdin(p)) {
        check_file(p)?;
    }
    let started = Instant::now();
    let now0 = time::epoch_secs(opts.now);
    let mut sc = Scanner::new(opts);
    let mut buf = vec![0u8; CHUNK];
    let mut live = Vec::new();
    for p in opts.logs.iter().filter(|p| !is_stdin(p)) {
        if is_rotated(p) {
            scan_source(&mut sc, open(p)?, p)?;
            sc.end_input();
        } else {
            let mut t = Tail::open(p)?;
            t.read_new(&mut sc, &mut buf)?;
            live.push(t);
        }
    }
    let stdin = (opts.stdin || opts.logs.iter().any(|p| is_stdin(p))).then(spawn_stdin_reader);
    let mut stdin_lines = Lines::default();
    if !on_update(&sc.snapshot()) {
        return Ok(());
    }
    loop {
        let mut stdin_done = false;
        match &stdin {
            Some(rx) => {
                // Wait for input at most one poll interval, then take whatever else is queued.
                let mut first = Some(rx.recv_timeout(poll));
                loop {
                    let msg = match first.take() {
                        Some(m) => m,
                        None => rx.try_recv().map_err(|e| match e {
                            mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                            mpsc::TryRecvError::Disconnected => {
                                mpsc::RecvTimeoutError::Disconnected
                            }
                        }),
                    };
                    match msg {
                        Ok(Ok(chunk)) => stdin_lines.feed(&mut sc, &chunk),
                        Ok(Err(e)) => {
                            return Err(ReportError::Unreadable {
                                path: "-".into(),
                                source: e,
                            })
                        }
                        Err(mpsc::RecvTimeoutError::Timeout) => break,
                        Err(mpsc::RecvTimeoutError::Disconnected) => {
                            stdin_done = true;
                            break;
                        }
                    }
                }
            }
            None => std::thread::sleep(poll),
        }
        sc.set_now(now0 + started.elapsed().as_secs() as i64);
        for t in &mut live {
            t.poll(&mut sc, &mut buf)?;
        }
        if stdin_done {
            stdin_lines.end(&mut sc);
        }
        if !on_update(&sc.snapshot()) || (stdin_done && live.is_empty()) {
            return Ok(());
        }
    }
}

fn spawn_stdin_reader() -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::sync_channel(4);
    std::thread::spawn(move || {
        let mut stdin = io::stdin();
        loop {
            let mut buf = vec![0u8; CHUNK];
            match stdin.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// A rotated sibling: `x.1`, `x.2.gz`, `x-20261122`, anything `.gz`. It does not grow.
fn is_rotated(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.ends_with(".gz") {
        return true;
    }
    let numbered = name
        .rsplit_once('.')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
    let dated = name
        .rsplit_once('-')
        .is_some_and(|(_, d)| d.len() >= 8 && d.bytes().all(|c| c.is_ascii_digit()));
    numbered || dated
}

fn check_file(p: &Path) -> Result<(), ReportError> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Err(ReportError::Unreadable {
            path: p.into(),
            source: io::Error::other("is a directory"),
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(open_error(p, e)),
    }
}

fn open_error(p: &Path, e: io::Error) -> ReportError {
    if e.kind() == io::ErrorKind::NotFound {
        ReportError::Missing(p.into())
    } else {
        ReportError::Unreadable {
            path: p.into(),
            source: e,
        }
    }
}

/// A stream being read front to back, and whether it is being gunzipped (for naming errors).
struct Input {
    reader: Box<dyn Read + Send>,
    gzip: bool,
}

impl Input {
    fn plain(reader: Box<dyn Read + Send>) -> Input {
        Input {
            reader,
            gzip: false,
        }
    }
}

/// An opened log: a regular file is read at offsets by several threads; anything else (gzip,
/// a pipe, stdin) front to back.
enum Source {
    File(File),
    Stream(Input),
}

/// Opens a log; gzip data is recognised by its magic bytes, whatever the name.
fn open(p: &Path) -> Result<Source, ReportError> {
    if is_stdin(p) {
        return Ok(Source::Stream(Input::plain(Box::new(io::stdin()))));
    }
    let mut f = File::open(p).map_err(|e| open_error(p, e))?;
    let regular = f.metadata().map_err(|e| open_error(p, e))?.is_file();
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        let r = if regular {
            f.read_at(&mut magic[n..], n as u64)
        } else {
            f.read(&mut magic[n..])
        };
        match r {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(open_error(p, e)),
        }
    }
    let gzip = magic[..n] == [0x1f, 0x8b];
    if !gzip && p.extension().is_some_and(|e| e == "gz") {
        return Err(ReportError::NotGzip(p.into()));
    }
    if regular && !gzip {
        return Ok(Source::File(f));
    }
    // Put the peeked bytes back in front (a pipe cannot seek).
    let head: Box<dyn Read + Send> = if regular {
        Box::new(f)
    } else {
        Box::new(io::Cursor::new(magic[..n].to_vec()).chain(f))
    };
    Ok(Source::Stream(if gzip {
        Input {
            reader: Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
                CHUNK, head,
            ))),
            gzip: true,
        }
    } else {
        Input::plain(head)
    }))
}

fn scan_source(sc: &mut Scanner, src: Source, path: &Path) -> Result<(), ReportError> {
    match src {
        Source::File(f) => scan_file(sc, &f, path),
        Source::Stream(input) => scan_stream(sc, input, path),
    }
}

fn read_error(p: &Path, gzip: bool, e: io::Error) -> ReportError {
    use io::ErrorKind::*;
    if gzip && matches!(e.kind(), InvalidInput | InvalidData | UnexpectedEof) {
        ReportError::BadGzip {
            path: p.into(),
            source: e,
        }
    } else {
        ReportError::Unreadable {
            path: p.into(),
            source: e,
        }
    }
}

/// Feeds all of a stream to the scanner. A second thread reads (or gunzips) into a small ring
/// of buffers while this one scans; the ring bounds memory to a few chunks.
fn scan_stream(sc: &mut Scanner, input: Input, path: &Path) -> Result<(), ReportError> {
    const BUFFERS: usize = 4;
    let Input { mut reader, gzip } = input;
    let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        free_tx
            .send(vec![0u8; CHUNK])
            .expect("the channel has room");
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Ok(mut buf) = free_rx.recv() {
                let msg = loop {
                    match reader.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Ok(0) => return,
                        Ok(n) => break Ok((buf, n)),
                        Err(e) => break Err(e),
                    }
                };
                let failed = msg.is_err();
                if full_tx.send(msg).is_err() || failed {
                    return;
                }
            }
        });
        // Moved in, so that both ends are dropped (and the reader stops) before the scope joins.
        let (free_tx, full_rx) = (free_tx, full_rx);
        for msg in full_rx {
            let (buf, n) = msg.map_err(|e| read_error(path, gzip, e))?;
            sc.feed(&buf[..n]);
            let _ = free_tx.send(buf);
        }
        Ok(())
    })
}

/// A chunk of a regular file read at a fixed offset, with its prescan.
struct Chunk {
    buf: Vec<u8>,
    len: usize,
    pre: scan::Prescan,
}

/// The buffers not in use, shared by the workers; closing it stops them.
struct Pool {
    free: Mutex<(Vec<Chunk>, bool)>,
    ready: Condvar,
}

impl Pool {
    /// A free buffer; `None` once closed.
    fn take(&self) -> Option<Chunk> {
        let mut g = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if g.1 {
                return None;
            }
            if let Some(c) = g.0.pop() {
                return Some(c);
            }
            g = self.ready.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn put(&self, c: Chunk) {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .push(c);
        self.ready.notify_one();
    }

    fn close(&self) {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.ready.notify_all();
    }
}

/// Closes the pool when the ordered loop ends, however it ends.
struct CloseOnDrop<'a>(&'a Pool);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Feeds a regular file to the scanner, as it is when each chunk is read. Worker threads (one
/// per core, at most four) take the next chunk number from a shared counter, read that chunk
/// with `pread` and prescan it (count lines, find and classify the rare lines: the stateless
/// bulk of the work); this thread feeds the chunks in order. Taking the next number, rather
/// than every n-th, lets the others carry on when one worker is not scheduled (a busy machine).
/// A shared pool of buffers bounds memory (1 MiB per worker) and how far the workers run ahead.
fn scan_file(sc: &mut Scanner, file: &File, path: &Path) -> Result<(), ReportError> {
    const BUFFERS_PER_WORKER: usize = 4;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if workers == 1 {
        // One core (or an affinity mask of one): a worker would only take turns with this
        // thread, so read and scan here, one buffer, no hand-offs.
        let mut buf = vec![0u8; CHUNK];
        let mut offset = 0u64;
        loop {
            let n = read_at_full(file, &mut buf, offset).map_err(|e| read_error(path, false, e))?;
            sc.feed(&buf[..n]);
            if n < CHUNK {
                return Ok(());
            }
            offset += n as u64;
        }
    }
    let pool = Pool {
        free: Mutex::new((
            (0..workers * BUFFERS_PER_WORKER)
                .map(|_| Chunk {
                    buf: vec![0u8; CHUNK],
                    len: 0,
                    pre: scan::Prescan::default(),
                })
                .collect(),
            false,
        )),
        ready: Condvar::new(),
    };
    let counter = AtomicUsize::new(0);
    let (done_tx, done_rx) = mpsc::channel::<(usize, io::Result<Chunk>)>();
    let prescanners: Vec<_> = (0..workers).map(|_| sc.prescanner()).collect();
    std::thread::scope(|s| {
        for mut prescanner in prescanners {
            let (pool, counter, done_tx) = (&pool, &counter, done_tx.clone());
            s.spawn(move || {
                while let Some(mut c) = pool.take() {
                    let index = counter.fetch_add(1, Ordering::Relaxed);
                    let r = read_at_full(file, &mut c.buf, (index * CHUNK) as u64).map(|n| {
                        c.len = n;
                        prescanner.prescan(&c.buf[..n], &mut c.pre);
                        c
                    });
                    // A short chunk is the end of the file (as of now): stop there.
                    let last = r.as_ref().map_or(true, |c| c.len < CHUNK);
                    if done_tx.send((index, r)).is_err() || last {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let _close = CloseOnDrop(&pool);
        // Moved in, so that it is dropped when this closure returns, early or not.
        let done_rx = done_rx;
        // Chunks that arrived before their turn (at most as many as there are buffers).
        let mut waiting: Vec<(usize, io::Result<Chunk>)> = Vec::new();
        let mut next = 0;
        loop {
            let r = loop {
                if let Some(i) = waiting.iter().position(|(i, _)| *i == next) {
                    break waiting.swap_remove(i).1;
                }
                match done_rx.recv() {
                    Ok(msg) => waiting.push(msg),
                    Err(_) => return Ok(()),
                }
            };
            let c = r.map_err(|e| read_error(path, false, e))?;
            sc.feed_prescanned(&c.buf[..c.len], &c.pre);
            if c.len < CHUNK {
                // The end of the file. Later chunks may hold what was appended meanwhile, after
                // a gap: leave them.
                return Ok(());
            }
            pool.put(c);
            next += 1;
        }
    })
}

/// Reads until `buf` is full or the file ends.
fn read_at_full(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Feeds one of several inputs that are read in turns (`follow`) to their shared scanner in
/// whole lines only, so that one input's unfinished last line is never joined to another's.
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
    /// Inside a line longer than the scanner would look at: drop it, count it.
    skipping: bool,
}

impl Lines {
    fn feed(&mut self, sc: &mut Scanner, bytes: &[u8]) {
        let Some(last) = memchr::memrchr(b'\n', bytes) else {
            return self.keep(bytes);
        };
        let (mut complete, rest) = bytes.split_at(last + 1);
        if self.skipping {
            let end = memchr::memchr(b'\n', complete).expect("there is one");
            complete = &complete[end + 1..];
            self.skipping = false;
            sc.feed(b"\n");
        } else if !self.partial.is_empty() {
            sc.feed(&self.partial);
            self.partial.clear();
        }
        sc.feed(complete);
        self.keep(rest);
    }

    fn keep(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > scan::MAX_LINE {
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// The input ended (rotated, truncated, closed): its last line counts even without a
    /// newline.
    fn end(&mut self, sc: &mut Scanner) {
        if self.skipping {
            sc.feed(b"\n");
        } else if !self.partial.is_empty() {
            sc.feed(&self.partial);
            sc.end_input();
        }
        self.partial.clear();
        self.skipping = false;
    }
}

/// A live log being followed.
struct Tail {
    path: PathBuf,
    file: File,
    id: (u64, u64),
    pos: u64,
    lines: Lines,
}

impl Tail {
    fn open(path: &Path) -> Result<Tail, ReportError> {
        let file = File::open(path).map_err(|e| open_error(path, e))?;
        let m = file.metadata().map_err(|e| open_error(path, e))?;
        Ok(Tail {
            path: path.into(),
            file,
            id: (m.dev(), m.ino()),
            pos: 0,
            lines: Lines::default(),
        })
    }

    fn read_new(&mut self, sc: &mut Scanner, buf: &mut [u8]) -> Result<(), ReportError> {
        loop {
            match self.file.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.pos += n as u64;
                    self.lines.feed(sc, &buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(&self.path, false, e)),
            }
        }
    }

    fn poll(&mut self, sc: &mut Scanner, buf: &mut [u8]) -> Result<(), ReportError> {
        // What was appended to the file we have open, even if it has been renamed meanwhile.
        self.read_new(sc, buf)?;
        let m = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Rotated away and not recreated yet: wait.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(open_error(&self.path, e)),
        };
        if (m.dev(), m.ino()) != self.id {
            // Rotated: finish the old file (the writer may have added a last line), then
            // start the new one from its beginning.
            self.read_new(sc, buf)?;
            self.lines.end(sc);
            match File::open(&self.path) {
                Ok(f) => {
                    let m = f.metadata().map_err(|e| open_error(&self.path, e))?;
                    self.file = f;
                    self.id = (m.dev(), m.ino());
                    self.pos = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(open_error(&self.path, e)),
            }
            self.read_new(sc, buf)?;
        } else if m.len() < self.pos {
            // Truncated in place (copytruncate): what is there now is new.
            self.lines.end(sc);
            self.file
                .seek(SeekFrom::Start(0))
                .map_err(|e| read_error(&self.path, false, e))?;
            self.pos = 0;
            self.read_new(sc, buf)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration(" 45s "), Ok(Duration::from_secs(45)));
        for bad in ["", "2", "d", "2x", "-1d", "1.5h", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("invalid duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn rotated_names() {
        for p in [
            "mail.log.1",
            "mail.log.2.gz",
            "maillog-20261122",
            "maillog-20261122.gz",
        ] {
            assert!(is_rotated(Path::new(p)), "{p}");
        }
        for p in [
            "mail.log",
            "maillog",
            "/var/log/mail.log",
            "sendmail-test.log",
        ] {
            assert!(!is_rotated(Path::new(p)), "{p}");
        }
    }
}
