//! `--follow`: the live logs like `tail -F` (across rename-and-create and copytruncate), and
//! standard input or the journal as a stream, fed to one scanner in whole lines.
use super::journal::{self, Journal};
use super::read::{open, read_error, scan_source, CHUNK};
use super::{
    check_file, is_rotated, is_stdin, open_error, source_of, time, Report, ReportError,
    ReportOptions, Scanner,
};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Like `tail -F`: reads the logs, reports, then keeps reading the live log(s) as they grow,
/// reopening them when they are rotated (a new inode at the path) or truncated in place
/// (logrotate's copytruncate). Rotated siblings (`.1`, `.2.gz`, `-20261122`) are read once.
///
/// `on_update` is called once after the initial read and then after every `poll` interval,
/// whether or not anything new arrived (compare `lines_read`); returning `false` stops.
/// With `stdin`, standard input is followed until it ends; with `journal`, `journalctl
/// --follow` runs until this returns (then it is killed).
pub fn follow(
    opts: &ReportOptions,
    mut on_update: impl FnMut(&Report) -> bool,
    poll: Duration,
) -> Result<(), ReportError> {
    if opts.logs.is_empty() && !opts.stdin && opts.journal.is_none() {
        return Err(ReportError::NoLogs);
    }
    for p in opts.logs.iter().filter(|p| !is_stdin(p)) {
        check_file(p)?;
    }
    let started = Instant::now();
    let now0 = time::epoch_secs(opts.now);
    let source = source_of(opts);
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
    let mut streams = Vec::new();
    if opts.stdin || opts.logs.iter().any(|p| is_stdin(p)) {
        streams.push(Stream::new("-".into(), Box::new(io::stdin())));
    }
    // Killed when this function returns, however it returns.
    let mut journal = None;
    if let Some(j) = &opts.journal {
        let handle = j
            .command(sc.cutoff(), true)
            .reader()
            .map_err(|e| ReportError::Journal(journal::failure(j, Some(e), b"")))?;
        let handle = Arc::new(handle);
        streams.push(Stream::new(
            "journalctl".into(),
            Box::new(journal::SharedReader(handle.clone())),
        ));
        journal = Some(KillOnDrop(handle, j));
    }
    let report = |sc: &Scanner| {
        let mut r = sc.snapshot();
        r.source.clone_from(&source);
        r
    };
    if !on_update(&report(&sc)) {
        return Ok(());
    }
    loop {
        // Wait for the first open stream at most one poll interval, then take whatever else is
        // queued on all of them.
        let mut waited = false;
        for st in streams.iter_mut().filter(|st| !st.done) {
            st.take(&mut sc, if waited { None } else { Some(poll) })?;
            waited = true;
        }
        if !waited {
            std::thread::sleep(poll);
        }
        if let Some(k) = &journal {
            if streams
                .iter()
                .any(|st| st.done && st.name == Path::new("journalctl"))
            {
                k.check()?;
            }
        }
        sc.set_now(now0 + started.elapsed().as_secs() as i64);
        for t in &mut live {
            t.poll(&mut sc, &mut buf)?;
        }
        let all_done = streams.iter().all(|st| st.done);
        if !on_update(&report(&sc)) || (!streams.is_empty() && all_done && live.is_empty()) {
            return Ok(());
        }
    }
}

/// The running `journalctl --follow`, killed (by its handle: our own child) when dropped.
struct KillOnDrop<'a>(Arc<duct::ReaderHandle>, &'a Journal);

impl KillOnDrop<'_> {
    /// After its output ended: an error if journalctl failed.
    fn check(&self) -> Result<(), ReportError> {
        match self.0.try_wait() {
            Ok(Some(out)) if !out.status.success() => Err(ReportError::Journal(journal::failure(
                self.1,
                None,
                &out.stderr,
            ))),
            Ok(_) => Ok(()),
            Err(e) => Err(ReportError::Journal(journal::failure(self.1, Some(e), b""))),
        }
    }
}

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

/// A stream followed until it ends (standard input, journalctl), read on a thread of its own.
struct Stream {
    name: PathBuf,
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    lines: Lines,
    done: bool,
}

impl Stream {
    fn new(name: PathBuf, reader: Box<dyn Read + Send>) -> Stream {
        Stream {
            name,
            rx: spawn_reader(reader),
            lines: Lines::default(),
            done: false,
        }
    }

    /// Feeds what has arrived, after waiting up to `wait` for the first of it.
    fn take(&mut self, sc: &mut Scanner, wait: Option<Duration>) -> Result<(), ReportError> {
        let mut first = wait.map(|w| self.rx.recv_timeout(w));
        loop {
            let msg = match first.take() {
                Some(m) => m,
                None => self.rx.try_recv().map_err(|e| match e {
                    mpsc::TryRecvError::Empty => mpsc::RecvTimeoutError::Timeout,
                    mpsc::TryRecvError::Disconnected => mpsc::RecvTimeoutError::Disconnected,
                }),
            };
            match msg {
                Ok(Ok(chunk)) => self.lines.feed(sc, &chunk),
                Ok(Err(e)) => {
                    return Err(ReportError::Unreadable {
                        path: self.name.clone(),
                        source: e,
                    })
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return Ok(()),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.done = true;
                    self.lines.end(sc);
                    return Ok(());
                }
            }
        }
    }
}

/// Reads `reader` on a thread of its own, a few chunks ahead at most.
fn spawn_reader(mut reader: Box<dyn Read + Send>) -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::sync_channel(4);
    std::thread::spawn(move || loop {
        let mut buf = vec![0u8; CHUNK];
        match reader.read(&mut buf) {
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
    });
    rx
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
        if self.partial.len() + bytes.len() > super::scan::MAX_LINE {
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
    /// (device, inode) of the file now at `path`, as opened.
    id: (u64, u64),
    cur: Open,
    /// The file before the last rename-and-create, still open: the daemon may write a few
    /// more lines to it before it reopens its log (rsyslog after logrotate's HUP). Read at
    /// every poll until the next rotation.
    previous: Option<Open>,
}

/// How many of the last bytes read are kept, to notice a file truncated and written again
/// past the old end between two polls (copytruncate on a busy server).
const TAIL_CHECK: usize = 64;

/// A file open for following, and how far it has been read.
struct Open {
    file: File,
    pos: u64,
    lines: Lines,
    /// The bytes just before `pos` (at most [`TAIL_CHECK`]).
    last: Vec<u8>,
}

impl Open {
    fn new(file: File) -> Open {
        Open {
            file,
            pos: 0,
            lines: Lines::default(),
            last: Vec::new(),
        }
    }

    fn read_new(
        &mut self,
        sc: &mut Scanner,
        buf: &mut [u8],
        path: &Path,
    ) -> Result<(), ReportError> {
        loop {
            match self.file.read(buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.pos += n as u64;
                    self.lines.feed(sc, &buf[..n]);
                    let keep = n.min(TAIL_CHECK);
                    let drop = (self.last.len() + keep).saturating_sub(TAIL_CHECK);
                    self.last.drain(..drop);
                    self.last.extend_from_slice(&buf[n - keep..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(path, false, e)),
            }
        }
    }

    /// Whether the file was truncated since it was last read (copytruncate): shorter than
    /// what was read, or no longer holding the bytes last read just before `pos` (truncated
    /// and written again past the old end before this poll).
    fn truncated(&self) -> io::Result<bool> {
        if self.file.metadata()?.len() < self.pos {
            return Ok(true);
        }
        let mut was = [0u8; TAIL_CHECK];
        let was = &mut was[..self.last.len()];
        let n = super::read::read_at_full(&self.file, was, self.pos - self.last.len() as u64)?;
        Ok(was[..n] != self.last[..])
    }
}

impl Tail {
    fn open(path: &Path) -> Result<Tail, ReportError> {
        let file = File::open(path).map_err(|e| open_error(path, e))?;
        let m = file.metadata().map_err(|e| open_error(path, e))?;
        Ok(Tail {
            path: path.into(),
            id: (m.dev(), m.ino()),
            cur: Open::new(file),
            previous: None,
        })
    }

    fn read_new(&mut self, sc: &mut Scanner, buf: &mut [u8]) -> Result<(), ReportError> {
        self.cur.read_new(sc, buf, &self.path)
    }

    fn poll(&mut self, sc: &mut Scanner, buf: &mut [u8]) -> Result<(), ReportError> {
        if let Some(old) = &mut self.previous {
            old.read_new(sc, buf, &self.path)?;
        }
        // Truncated in place (copytruncate): what is there now is new. Checked before reading,
        // since the file may already be longer again than what was read.
        if self
            .cur
            .truncated()
            .map_err(|e| read_error(&self.path, false, e))?
        {
            self.cur.lines.end(sc);
            self.cur
                .file
                .seek(SeekFrom::Start(0))
                .map_err(|e| read_error(&self.path, false, e))?;
            self.cur.pos = 0;
            self.cur.last.clear();
        }
        // What was appended to the file we have open, even if it has been renamed meanwhile.
        self.read_new(sc, buf)?;
        let m = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            // Rotated away and not recreated yet: wait.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(open_error(&self.path, e)),
        };
        if (m.dev(), m.ino()) != self.id {
            // Rotated: start the new file from its beginning, and keep the old one open for
            // what the writer still adds to it. Its unfinished last line stays its own.
            let f = match File::open(&self.path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(open_error(&self.path, e)),
            };
            let m = f.metadata().map_err(|e| open_error(&self.path, e))?;
            self.id = (m.dev(), m.ino());
            if let Some(mut older) = self
                .previous
                .replace(std::mem::replace(&mut self.cur, Open::new(f)))
            {
                older.lines.end(sc);
            }
            self.read_new(sc, buf)?;
        }
        Ok(())
    }
}
