//! Reading logs into the scanner: regular files at offsets on one worker thread per core,
//! anything else (gzip, pipes, standard input, journalctl's output) front to back.
use super::{is_stdin, open_error, scan, ReportError, Scanner};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Bytes per read. Large enough that per-read costs vanish, small enough to stay in cache.
pub(crate) const CHUNK: usize = 64 * 1024;

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

/// Feeds a regular file to the scanner, as it is when each chunk is read. Worker threads (one
/// per core, at most four) take the next chunk number from a shared counter, read that chunk
/// with `pread` and prescan it (count lines, find and classify the rare lines: the stateless
/// bulk of the work); this thread feeds the chunks in order. Taking the next number, rather
/// than every n-th, lets the others carry on when one worker is not scheduled (a busy machine).
/// Each worker owns a few buffers, which come back to it through a bounded channel once
/// applied: that bounds memory (1 MiB per worker) and how far the workers run ahead, and
/// dropping the channels stops them.
fn scan_file(sc: &mut Scanner, file: &File, path: &Path) -> Result<(), ReportError> {
    const BUFFERS_PER_WORKER: usize = 3;
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
    let counter = AtomicUsize::new(0);
    let (done_tx, done_rx) = mpsc::channel::<(usize, usize, io::Result<Chunk>)>();
    std::thread::scope(|s| {
        let mut give_back = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (free_tx, free_rx) = mpsc::sync_channel::<Chunk>(BUFFERS_PER_WORKER);
            for _ in 0..BUFFERS_PER_WORKER {
                free_tx.send(Chunk::new()).expect("the channel has room");
            }
            give_back.push(free_tx);
            let (counter, done_tx, mut prescanner) = (&counter, done_tx.clone(), sc.prescanner());
            s.spawn(move || {
                // Ends when this thread's buffers stop coming back (the ordered loop ended).
                for mut c in free_rx {
                    let index = counter.fetch_add(1, Ordering::Relaxed);
                    let r = read_at_full(file, &mut c.buf, (index * CHUNK) as u64).map(|n| {
                        c.len = n;
                        prescanner.prescan(&c.buf[..n], &mut c.pre);
                        c
                    });
                    // A short chunk is the end of the file (as of now): stop there.
                    let last = r.as_ref().map_or(true, |c| c.len < CHUNK);
                    if done_tx.send((index, worker, r)).is_err() || last {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // Moved in, so that they are dropped (and the workers stop) when this closure returns,
        // early or not, before the scope joins them.
        let (give_back, done_rx) = (give_back, done_rx);
        // Chunks that arrived before their turn (at most as many as there are buffers).
        let mut waiting: Vec<(usize, usize, io::Result<Chunk>)> = Vec::new();
        let mut next = 0;
        loop {
            let (worker, r) = loop {
                if let Some(i) = waiting.iter().position(|(i, ..)| *i == next) {
                    let (_, w, r) = waiting.swap_remove(i);
                    break (w, r);
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
            // The worker may have stopped (end of file): then the buffer is simply dropped.
            let _ = give_back[worker].send(c);
            next += 1;
        }
    })
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
