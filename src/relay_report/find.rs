//! One pass over a chunk: count its newlines and find where the needles start.
//!
//! This is the hot loop of the relay report: every byte of every log goes through it. The
//! portable way is one `memchr` count and one `memmem` pass per needle, four passes in all. On
//! x86-64 with AVX2 (checked at run time) a single pass does the same work for about a third of
//! the cost (measured on a 1 GiB log: ~70 ms against ~250 ms in cache): per 32 bytes it counts
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
    avx2: bool,
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
            avx2: has_avx2(),
        }
    }

    /// Appends to `hits` the start of every needle occurrence in `chunk`, in order, and returns
    /// the number of newlines in it.
    pub(crate) fn scan(&self, chunk: &[u8], hits: &mut Vec<usize>) -> u64 {
        if self.avx2 {
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY: `has_avx2` checked that this CPU has AVX2.
                let (newlines, done) = unsafe { x86::scan(chunk, self.needles, hits) };
                return newlines + self.scan_portable(chunk, done, hits);
            }
        }
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

    #[cfg(test)]
    fn portable(&self) -> Needles {
        Needles {
            avx2: false,
            ..self.clone()
        }
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// How far past the current position the last load starts.
    const LOOKAHEAD: usize = 4;

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

    fn both(chunk: &[u8]) -> ((u64, Vec<usize>), (u64, Vec<usize>)) {
        let n = Needles::new(&Classifier::NEEDLES);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let na = n.scan(chunk, &mut a);
        let nb = n.portable().scan(chunk, &mut b);
        ((na, a), (nb, b))
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
