//! One pass over a chunk: count its newlines and find where the needles start.
//!
//! This is the hot loop of the relay report: every byte of every log goes through it. The
//! portable way is one `memchr` count and one `memmem` pass per needle, four passes in all. On
//! x86-64 with AVX2 (checked at run time) a single pass does the same work for about a third of
//! the cost (measured on a 1 GiB log: ~70 ms against ~250 ms in cache); with AVX-512BW the same
//! pass takes 64 bytes at a time into mask registers (newlines counted with one popcount), about
//! half of that again. Per 32 (or 64) bytes it counts
//! newlines and marks candidates, `R...y` (for "Relaying denied") and `a..h` in either case
//! (for "AUTH" and "auth failure"), and verifies each candidate against the needles. Candidates
//! must be rare: `R` alone (frequent in queue ids) made the whole report a third slower. Both
//! ways give the same hits (a test compares them), which is all the rest of the scanner relies
//! on.
use memchr::memmem::Finder;

/// Finds [`NEEDLES`](super::line::Classifier::NEEDLES) and counts newlines.
#[derive(Clone)]
pub(crate) struct Needles {
    needles: &'static [&'static [u8]],
    finders: Vec<Finder<'static>>,
    level: Level,
}

/// The widest vector instructions the CPU has, checked once at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Portable,
    Avx2,
    Avx512,
}

impl Needles {
    /// `needles` must be what the vector prefilter looks for: the first starts with `R` and
    /// has `y` at index 4, the others start with `a` or `A` and have `h` or `H` at index 3.
    pub(crate) fn new(needles: &'static [&'static [u8]]) -> Needles {
        assert!(needles[0].len() >= 5 && needles[0][0] == b'R' && needles[0][4] == b'y');
        for n in &needles[1..] {
            assert!(n.len() >= 4 && n[0] | 0x20 == b'a' && n[3] | 0x20 == b'h');
        }
        Needles {
            needles,
            finders: needles.iter().map(Finder::new).collect(),
            level: level(),
        }
    }

    /// Appends to `hits` the start of every needle occurrence in `chunk`, in order, and returns
    /// the number of newlines in it.
    pub(crate) fn scan(&self, chunk: &[u8], hits: &mut Vec<usize>) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            if self.level >= Level::Avx512 {
                // SAFETY: `level` checked that this CPU has AVX-512F, AVX-512BW and POPCNT.
                return unsafe { x86::scan512(chunk, self.needles, hits) };
            }
            if self.level >= Level::Avx2 {
                // SAFETY: `level` checked that this CPU has AVX2.
                let (newlines, done) = unsafe { x86::scan(chunk, self.needles, hits) };
                return newlines + self.scan_portable(chunk, done, hits);
            }
            self.scan_portable(chunk, 0, hits)
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.scan_portable(chunk, 0, hits)
    }

    /// The same as `scan`, but without the vector prefilter: for other CPUs, and for the tail
    /// of a chunk (`chunk[from..]`) that is too short for a vector.
    fn scan_portable(&self, chunk: &[u8], from: usize, hits: &mut Vec<usize>) -> u64 {
        let part = &chunk[from..];
        let before = hits.len();
        for f in &self.finders {
            hits.extend(f.find_iter(part).map(|p| from + p));
        }
        hits[before..].sort_unstable();
        memchr::memchr_iter(b'\n', part).count() as u64
    }

    /// The same needles at `level` or below (what this CPU has).
    #[cfg(test)]
    fn at(&self, level: Level) -> Needles {
        Needles {
            level: level.min(self.level),
            ..self.clone()
        }
    }
}

fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("popcnt")
        {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Portable
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// How far past the current position the last load starts.
    const LOOKAHEAD: usize = 4;

    /// The byte masks of one 64-byte block.
    #[derive(Clone, Copy, Default)]
    struct Masks {
        newline: u64,
        a: u64,
        h: u64,
        r: u64,
        y: u64,
    }

    /// The block of `chunk` (at `p`, `len` bytes) that starts at `base` (which may lie up to 63
    /// bytes before the chunk): one aligned load when the block is inside the chunk, a masked
    /// load at the two ends (bytes outside the chunk read as zero, and are never touched).
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and POPCNT; `p + base` is 64-byte aligned; the block
    /// overlaps `chunk`.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    #[inline]
    unsafe fn block(p: *const u8, len: usize, base: isize) -> Masks {
        let at = p.wrapping_offset(base);
        let x = if base >= 0 && base as usize + 64 <= len {
            // SAFETY: the 64 bytes are inside the chunk and `at` is aligned.
            _mm512_load_si512(at.cast())
        } else {
            let lo = (-base).max(0) as u32;
            let hi = (len as isize - base).min(64) as u32;
            let upto = if hi >= 64 { u64::MAX } else { (1u64 << hi) - 1 };
            let keep = upto & !((1u64 << lo) - 1);
            // SAFETY: only the bytes in `keep` are read, and those are inside the chunk.
            _mm512_maskz_loadu_epi8(keep, at.cast())
        };
        let lower = _mm512_or_si512(x, _mm512_set1_epi8(0x20));
        Masks {
            newline: _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b'\n' as i8)),
            a: _mm512_cmpeq_epi8_mask(lower, _mm512_set1_epi8(b'a' as i8)),
            h: _mm512_cmpeq_epi8_mask(lower, _mm512_set1_epi8(b'h' as i8)),
            r: _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b'R' as i8)),
            y: _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b'y' as i8)),
        }
    }

    /// [`scan`] 64 bytes at a time with AVX-512 mask registers, over the whole chunk: one
    /// aligned load per block (masked at the two ends), newlines counted with a popcount, and
    /// the candidates `a..h` and `R...y` found by shifting the masks, the next block's supplying
    /// the bits past the end of this one. Returns the number of newlines.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX-512BW and POPCNT.
    #[target_feature(enable = "avx512f,avx512bw,popcnt")]
    pub(super) unsafe fn scan512(chunk: &[u8], needles: &[&[u8]], hits: &mut Vec<usize>) -> u64 {
        let len = chunk.len();
        if len == 0 {
            return 0;
        }
        let p = chunk.as_ptr();
        let mut newlines = 0u64;
        let mut base = -((p as usize % 64) as isize);
        // SAFETY (every `block` call): `base` keeps p + base aligned, and the block overlaps
        // the chunk (base < len, base + 64 > 0).
        let mut prev = block(p, len, base);
        while base + 64 < len as isize {
            let cur = block(p, len, base + 64);
            newlines += u64::from(prev.newline.count_ones());
            let cand = candidates(&prev, &cur);
            if cand != 0 {
                verify(chunk, needles, hits, base, cand);
            }
            prev = cur;
            base += 64;
        }
        newlines += u64::from(prev.newline.count_ones());
        let cand = candidates(&prev, &Masks::default());
        if cand != 0 {
            verify(chunk, needles, hits, base, cand);
        }
        newlines
    }

    /// Where a needle may start in the block with masks `m` (`next`: the block after it).
    #[inline(always)]
    fn candidates(m: &Masks, next: &Masks) -> u64 {
        (m.a & ((m.h >> 3) | (next.h << 61))) | (m.r & ((m.y >> 4) | (next.y << 60)))
    }

    /// Pushes the candidates of the block at `base` that start a needle. Out of the loop:
    /// about one block in ten has a candidate.
    #[inline(never)]
    fn verify(chunk: &[u8], needles: &[&[u8]], hits: &mut Vec<usize>, base: isize, mut mask: u64) {
        while mask != 0 {
            // Bits are only set for bytes inside the chunk: base + bit >= 0.
            let at = (base + mask.trailing_zeros() as isize) as usize;
            mask &= mask - 1;
            if needles.iter().any(|n| starts_with(&chunk[at..], n)) {
                hits.push(at);
            }
        }
    }

    /// Counts newlines and pushes needle starts for positions `0..done`; returns
    /// `(newlines, done)`. The caller scans `chunk[done..]` (under 36 bytes) another way.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan(
        chunk: &[u8],
        needles: &[&[u8]],
        hits: &mut Vec<usize>,
    ) -> (u64, usize) {
        let p = chunk.as_ptr();
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let r = _mm256_set1_epi8(b'R' as i8);
        let y = _mm256_set1_epi8(b'y' as i8);
        let a = _mm256_set1_epi8(b'a' as i8);
        let h = _mm256_set1_epi8(b'h' as i8);
        let lower = _mm256_set1_epi8(0x20);
        let mut newlines = 0;
        // Per-lane newline counts; summed before they can reach 256.
        let mut lanes = _mm256_setzero_si256();
        let mut rounds = 0;
        let mut i = 0;
        while i + 32 + LOOKAHEAD <= chunk.len() {
            // SAFETY: i + LOOKAHEAD + 32 <= chunk.len(): all three loads are inside `chunk`.
            let x0 = _mm256_loadu_si256(p.add(i).cast());
            let x3 = _mm256_loadu_si256(p.add(i + 3).cast());
            let x4 = _mm256_loadu_si256(p.add(i + LOOKAHEAD).cast());
            // cmpeq gives -1 where equal: subtracting counts.
            lanes = _mm256_sub_epi8(lanes, _mm256_cmpeq_epi8(x0, newline));
            let auth = _mm256_and_si256(
                _mm256_cmpeq_epi8(_mm256_or_si256(x0, lower), a),
                _mm256_cmpeq_epi8(_mm256_or_si256(x3, lower), h),
            );
            let relaying = _mm256_and_si256(_mm256_cmpeq_epi8(x0, r), _mm256_cmpeq_epi8(x4, y));
            let candidates = _mm256_or_si256(auth, relaying);
            let mut mask = _mm256_movemask_epi8(candidates) as u32;
            while mask != 0 {
                let at = i + mask.trailing_zeros() as usize;
                mask &= mask - 1;
                if needles.iter().any(|n| starts_with(&chunk[at..], n)) {
                    hits.push(at);
                }
            }
            rounds += 1;
            if rounds == 255 {
                newlines += sum(lanes);
                lanes = _mm256_setzero_si256();
                rounds = 0;
            }
            i += 32;
        }
        (newlines + sum(lanes), i)
    }

    /// `hay.starts_with(needle)`, inline: most candidates fail at the first or second byte, and
    /// a call to memcmp per candidate and needle cost more than the vector loop.
    #[inline(always)]
    fn starts_with(hay: &[u8], needle: &[u8]) -> bool {
        hay.len() >= needle.len() && needle.iter().zip(hay).all(|(n, h)| n == h)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn sum(lanes: __m256i) -> u64 {
        let sums = _mm256_sad_epu8(lanes, _mm256_setzero_si256());
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 bytes.
        _mm256_storeu_si256(out.as_mut_ptr().cast(), sums);
        out.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay_report::line::Classifier;
    use proptest::prelude::*;

    /// The widest level this CPU has, and the portable way; AVX2 alone (when the CPU has
    /// AVX-512 too) must agree with both.
    fn both(chunk: &[u8]) -> ((u64, Vec<usize>), (u64, Vec<usize>)) {
        let n = Needles::new(&Classifier::NEEDLES);
        let run = |n: &Needles| {
            let mut hits = Vec::new();
            (n.scan(chunk, &mut hits), hits)
        };
        let slow = run(&n.at(Level::Portable));
        assert_eq!(run(&n.at(Level::Avx2)), slow, "AVX2 alone");
        (run(&n), slow)
    }

    #[test]
    fn finds_needles_everywhere() {
        // Needles at every offset relative to the 32-byte blocks and the tail, and lines long
        // enough for the per-lane newline counters to be summed several times.
        let mut chunk = Vec::new();
        for i in 0..20_000usize {
            chunk.extend(std::iter::repeat_n(b'x', i % 37));
            chunk.extend_from_slice(match i % 5 {
                0 => b"Relaying denied",
                1 => b"AUTH=server",
                2 => b"auth failure: ",
                3 => b"Auth aUTH RelayinG authfailure",
                _ => b"\n\n",
            });
            chunk.push(b'\n');
        }
        let (fast, slow) = both(&chunk);
        assert_eq!(fast, slow);
        assert_eq!(fast.1.len(), 3 * 4000);
        assert_eq!(fast.0, 20_000 + 2 * 4000);
        for cut in 0..80 {
            let (fast, slow) = both(&chunk[..chunk.len() - cut]);
            assert_eq!(fast, slow, "cut {cut}");
        }
    }

    proptest! {
        #[test]
        fn same_as_portable(parts in prop::collection::vec(prop_oneof![
            Just(&b"Relaying denied"[..]), Just(&b"Relaying"[..]), Just(&b"AUTH"[..]),
            Just(&b"auth failure"[..]), Just(&b"auth"[..]), Just(&b"\n"[..]), Just(&b"R"[..]),
            Just(&b"a"[..]), Just(&b"h"[..]), Just(&b"xyzzy plugh "[..]),
        ], 0..200)) {
            let chunk = parts.concat();
            let (fast, slow) = both(&chunk);
            prop_assert_eq!(fast, slow);
        }
    }
}
