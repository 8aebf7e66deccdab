//! Per chunk: count its newlines and find where the needles start.
//!
//! This is the hot loop of the relay report: every byte of every log goes through it. Two
//! passes over a chunk that is in cache: one aho-corasick search finds the three needles (its
//! packed "Teddy" searcher is SIMD for a handful of needles; `AUT` is searched for as `UT`, see
//! [`Classifier::NEEDLE_SKIP`](super::line::Classifier::NEEDLE_SKIP)), and `bytecount` counts the
//! newlines.
//!
//! The count was `memchr_iter(b'\n', chunk).count()` before issue 12's last round: memchr's
//! AVX2 count takes a movemask and a popcount per 32 bytes, bytecount adds the compare results
//! up bytewise and sums them every 255 vectors. 200 MB benchmark log at 10% refusals, callgrind:
//! 50.1 -> 19.2 M instructions for the count (772 -> 741 M in all); the 1 GiB log, 15 rounds
//! alternated with grep: two cores 204 -> 195 ms (0.484 -> 0.463 of grep's time), one core 379
//! -> 366 ms (0.900 -> 0.868). Both crates are ordinary code here (their SIMD is their own).
//!
//! Until issue 12 this was one hand-written AVX2 / AVX-512BW pass (about 250 lines of
//! `unsafe` intrinsics). Measured on this project's 2-core VM (AVX2, no AVX-512) with the
//! logs of `benches/relay_report.sh`, 20 MB each, whole program, callgrind instructions:
//! quiet (0.1% refusals) 50.4 M with the AVX2 pass against 57.7 M with this (+14.6%), busy
//! 110.6 M against 116.4 M (+5.2%), 10% refusals 475.2 M against 482.7 M (+1.6%); CPU time
//! (perf task-clock, median of 5 on 200 MB, load average 11-13) quiet 232 against 256 ms,
//! busy 453 against 446 ms: the kernel's copy into the read buffers and the ordered part
//! dominate. The reports are byte-identical. Within about 10%, so the ordinary code it is.
use aho_corasick::{packed, AhoCorasick, MatchKind};

/// Finds [`NEEDLES`](super::line::Classifier::NEEDLES) and counts newlines.
#[derive(Clone)]
pub(crate) struct Needles {
    /// The packed (Teddy) searcher itself, where the CPU has one (SSSE3 or AVX2): called
    /// directly, without the automaton's search loop around it, which at 10% refusals (one
    /// hit per 850 bytes) cost 2% of the instructions. Otherwise `ac`.
    packed: Option<packed::Searcher>,
    ac: AhoCorasick,
    /// Per needle, the first bytes that are not searched for, but checked at each hit.
    skipped: Vec<Vec<u8>>,
}

impl Needles {
    /// Each needle is searched for without its first `skip` bytes (see
    /// [`NEEDLE_SKIP`](super::line::Classifier::NEEDLE_SKIP)); what is searched for must not
    /// overlap (no one's end is another's start), so that the non-overlapping matches are all
    /// of them.
    pub(crate) fn new(needles: &[&[u8]], skip: &[usize]) -> Needles {
        assert_eq!(needles.len(), skip.len());
        let searched: Vec<&[u8]> = needles.iter().zip(skip).map(|(n, &k)| &n[k..]).collect();
        Needles {
            packed: packed::Config::new()
                .match_kind(packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(&searched)
                .build(),
            // Leftmost-first lets the packed (Teddy) searcher do the whole search.
            ac: AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(searched)
                .expect("a few short needles build"),
            skipped: needles
                .iter()
                .zip(skip)
                .map(|(n, &k)| n[..k].to_vec())
                .collect(),
        }
    }

    /// Appends to `hits` the start of every needle occurrence in `chunk`, in order, and returns
    /// the number of newlines in it.
    pub(crate) fn scan(&self, chunk: &[u8], hits: &mut Vec<usize>) -> u64 {
        let skipped = &self.skipped;
        let hit = |pattern: aho_corasick::PatternID, at: usize| {
            let k = &skipped[pattern.as_usize()];
            let start = at.checked_sub(k.len())?;
            // Compared byte by byte: the skipped parts are a byte or none, and a slice compare
            // is a call to memcmp per hit (0.6% of the instructions at 10% refusals).
            chunk[start..at]
                .iter()
                .zip(k)
                .all(|(a, b)| a == b)
                .then_some(start)
        };
        match &self.packed {
            Some(p) => hits.extend(
                p.find_iter(chunk)
                    .filter_map(|m| hit(m.pattern(), m.start())),
            ),
            None => hits.extend(
                self.ac
                    .find_iter(chunk)
                    .filter_map(|m| hit(m.pattern(), m.start())),
            ),
        }
        bytecount::count(chunk, b'\n') as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay_report::line::Classifier;
    use proptest::prelude::*;

    /// One memmem pass per needle, merged: obviously all occurrences.
    fn reference(chunk: &[u8]) -> (u64, Vec<usize>) {
        let mut hits: Vec<usize> = Classifier::NEEDLES
            .iter()
            .flat_map(|n| memchr::memmem::find_iter(chunk, n))
            .collect();
        hits.sort_unstable();
        (chunk.iter().filter(|&&b| b == b'\n').count() as u64, hits)
    }

    fn fast(chunk: &[u8]) -> (u64, Vec<usize>) {
        let mut hits = Vec::new();
        let n = Needles::new(&Classifier::NEEDLES, &Classifier::NEEDLE_SKIP).scan(chunk, &mut hits);
        (n, hits)
    }

    /// The same without the packed searcher, as on a CPU without SSSE3.
    fn automaton(chunk: &[u8]) -> (u64, Vec<usize>) {
        let mut needles = Needles::new(&Classifier::NEEDLES, &Classifier::NEEDLE_SKIP);
        needles.packed = None;
        let mut hits = Vec::new();
        let n = needles.scan(chunk, &mut hits);
        (n, hits)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_packed_searcher_is_used_where_it_can_be() {
        let needles = Needles::new(&Classifier::NEEDLES, &Classifier::NEEDLE_SKIP);
        assert_eq!(needles.packed.is_some(), is_x86_feature_detected!("ssse3"));
    }

    #[test]
    fn finds_needles_everywhere() {
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
        let (n, hits) = fast(&chunk);
        assert_eq!((n, hits.clone()), reference(&chunk));
        assert_eq!(automaton(&chunk), reference(&chunk));
        // Not "aUTH", where the search for `UT` (for `AUT`) hits.
        assert_eq!(hits.len(), 3 * 4000);
        assert_eq!(n, 20_000 + 2 * 4000);
        for cut in 0..80 {
            let c = &chunk[..chunk.len() - cut];
            assert_eq!(fast(c), reference(c), "cut {cut}");
            assert_eq!(automaton(c), reference(c), "cut {cut}");
        }
    }

    proptest! {
        #[test]
        fn same_as_one_pass_per_needle(parts in prop::collection::vec(prop_oneof![
            Just(&b"Relaying denied"[..]), Just(&b"Relaying"[..]), Just(&b"AUTH"[..]), Just(&b"UT"[..]), Just(&b"U"[..]),
            Just(&b"auth failure"[..]), Just(&b"auth"[..]), Just(&b"\n"[..]), Just(&b"R"[..]),
            Just(&b"a"[..]), Just(&b"h"[..]), Just(&b"xyzzy plugh "[..]),
            Just(&b"AUTHAUTH"[..]), Just(&b"auth failureauth failure"[..]),
        ], 0..200)) {
            let chunk = parts.concat();
            prop_assert_eq!(fast(&chunk), reference(&chunk));
            prop_assert_eq!(automaton(&chunk), reference(&chunk));
        }
    }
}
