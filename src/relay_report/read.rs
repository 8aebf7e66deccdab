//! Reading logs into the scanner: regular files at offsets on one worker thread per core,
//! anything else (gzip, pipes, standard input, journalctl's output) front to back.
use super::{is_stdin, open_error, scan, ReportError, Scanner};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

/// Bytes per read. Large enough that per-read costs vanish, small enough to stay in cache (a
/// core's L2 holds a few). 256 KiB rather than 64 KiB: a quarter of the reads and chunk
/// boundaries, 0.7% fewer instructions at 10% refusals and about 2% less time (docs/commands.md).
pub(crate) const CHUNK: usize = 256 * 1024;

/// A stream being read front to back, and whether it is being gunzipped (for naming errors).
pub(crate) struct Input {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) gzip: bool,
}

impl Input {
    pub(crate) fn plain(reader: Box<dyn Read + Send>) -> Input {
        Input {
            reader,
            gzip: false,
        }
    }
}

/// An opened log: a regular file is read at offsets by several threads; anything else (gzip,
/// a pipe, stdin) front to back.
pub(crate) enum Source {
    File(File),
    Stream(Input),
}

/// Opens a log; gzip data is recognised by its magic bytes, whatever the name.
pub(crate) fn open(p: &Path) -> Result<Source, ReportError> {
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

pub(crate) fn scan_source(sc: &mut Scanner, src: Source, path: &Path) -> Result<(), ReportError> {
    match src {
        Source::File(f) => scan_file(sc, &f, path),
        Source::Stream(input) => scan_stream(sc, input, path),
    }
}

pub(crate) fn read_error(p: &Path, gzip: bool, e: io::Error) -> ReportError {
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
pub(crate) fn scan_stream(sc: &mut Scanner, input: Input, path: &Path) -> Result<(), ReportError> {
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

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            buf: vec![0u8; CHUNK],
            len: 0,
            pre: scan::Prescan::default(),
        }
    }
}

/// Feeds a regular file to the scanner, as it is when each chunk is read. One thread per core
/// (at most four; this one among them) takes the next chunk number from a shared counter, reads
/// that chunk with `pread` and prescans it (count lines, find and classify the rare lines: the
/// stateless bulk of the work), and puts it in the [`Queue`]. Then, if no other thread is
/// applying chunks to the scanner, it applies every chunk whose turn has come, in order;
/// otherwise it goes on to the next chunk, and the thread that is applying takes this one in
/// its turn. No thread waits for another to hand it work (a thread sleeps only when all the
/// buffers wait for their turn), and taking the next number lets the others carry on when one
/// is not scheduled (a busy machine).
///
/// This replaced a dedicated in-order thread fed by worker threads through channels: two
/// wake-ups per 64 KiB chunk, each a cross-CPU interrupt on a VM, made two cores use 30-45%
/// more CPU than one (figures in docs/commands.md).
fn scan_file(sc: &mut Scanner, file: &File, path: &Path) -> Result<(), ReportError> {
    /// Buffers per thread: one being read and prescanned, others waiting for their turn.
    const BUFFERS_PER_THREAD: usize = 3;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads == 1 {
        // One core (or an affinity mask of one): read and scan here, one buffer.
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
    let counter = AtomicUsize::new(0);
    let prescanner = sc.prescanner();
    let queue = Mutex::new(Queue {
        waiting: Vec::new(),
        next: 0,
        free: (0..threads * BUFFERS_PER_THREAD)
            .map(|_| Chunk::new())
            .collect(),
        hungry: 0,
        end: None,
    });
    let buffer_back = Condvar::new();
    let scanner = Mutex::new(sc);
    let work = |mut prescanner: scan::Prescanner| loop {
        let mut c = {
            let mut q = lock(&queue);
            loop {
                if q.end.is_some() {
                    return;
                }
                if let Some(c) = q.free.pop() {
                    break c;
                }
                q.hungry += 1;
                q = buffer_back.wait(q).unwrap_or_else(|e| e.into_inner());
                q.hungry -= 1;
            }
        };
        let index = counter.fetch_add(1, Ordering::Relaxed);
        let r = read_at_full(file, &mut c.buf, (index * CHUNK) as u64).map(|n| {
            c.len = n;
            prescanner.prescan(&c.buf[..n], &mut c.pre);
            c
        });
        lock(&queue).waiting.push((index, r));
        // Apply what is ready, unless another thread is at it: it will take this chunk in its
        // turn. After letting go of the scanner, look again: a chunk may have become ready
        // while this thread held it, put there by a thread that found the scanner taken.
        loop {
            let Ok(mut sc) = scanner.try_lock() else {
                break;
            };
            loop {
                // (A statement of its own, so that the queue is unlocked while applying.)
                let next = lock(&queue).take_next();
                let Some(r) = next else { break };
                let c = match r {
                    Ok(c) => c,
                    Err(e) => {
                        lock(&queue).finish(Err(read_error(path, false, e)), &buffer_back);
                        return;
                    }
                };
                sc.feed_prescanned(&c.buf[..c.len], &c.pre);
                let mut q = lock(&queue);
                let short = c.len < CHUNK;
                q.free.push(c);
                q.next += 1;
                if short {
                    // The end of the file. Later chunks may hold what was appended meanwhile,
                    // after a gap: leave them.
                    q.finish(Ok(()), &buffer_back);
                    return;
                }
                if q.hungry > 0 {
                    buffer_back.notify_one();
                }
            }
            drop(sc);
            let q = lock(&queue);
            if q.end.is_some() || !q.waiting.iter().any(|(i, _)| *i == q.next) {
                break;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads {
            let p = prescanner.clone();
            s.spawn(|| work(p));
        }
        work(prescanner);
    });
    let q = queue.into_inner().unwrap_or_else(|e| e.into_inner());
    q.end.unwrap_or(Ok(()))
}

/// Locks `m`; a thread that panicked while holding it left nothing half-done that matters here.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The chunks of a parallel file scan between their prescan and their turn.
struct Queue {
    /// Chunks prescanned before their turn (at most as many as there are buffers).
    waiting: Vec<(usize, io::Result<Chunk>)>,
    /// The number of the chunk whose turn it is.
    next: usize,
    free: Vec<Chunk>,
    /// Threads waiting for a free buffer.
    hungry: usize,
    /// Set when the scan is over: the end of the file (as of when it was read) or an error.
    end: Option<Result<(), ReportError>>,
}

impl Queue {
    /// The chunk whose turn it is, if it is here and the scan is not over.
    fn take_next(&mut self) -> Option<io::Result<Chunk>> {
        if self.end.is_some() {
            return None;
        }
        let i = self.waiting.iter().position(|(i, _)| *i == self.next)?;
        Some(self.waiting.swap_remove(i).1)
    }

    fn finish(&mut self, end: Result<(), ReportError>, buffer_back: &Condvar) {
        self.end.get_or_insert(end);
        buffer_back.notify_all();
    }
}

/// Reads until `buf` is full or the file ends.
pub(crate) fn read_at_full(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
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
