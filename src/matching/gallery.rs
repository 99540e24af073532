//! A gallery of references for 1:N search.
//!
//! See [`Gallery`] for the storage layout.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use super::aligned::{AlignedWords, LINE_WORDS, round_up_to_line};
use super::kernels::RowSink;
use super::prepared::Selector;
use super::{Comparison, Kind, Matcher, MatchingError};
use crate::template::{Algorithm, Geometry, Modality, PalmTemplate, TemplateError};

/// Rows per unit of parallel work in [`Gallery::search`] (512 KiB of default-geometry rows).
pub const SEARCH_CHUNK_ROWS: usize = 1024;

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The reference's id.
    pub id: u64,
    /// The comparison with the probe.
    pub comparison: Comparison,
}

/// A read-only view of one stored reference.
#[derive(Debug, Clone, Copy)]
pub struct GalleryEntry<'a> {
    /// The id.
    pub id: u64,
    /// Code words (planes one after the other).
    pub code: &'a [u64],
    /// Mask words.
    pub mask: &'a [u64],
    /// The whole stored row: code, mask and zero padding to the next 64-byte line.
    pub row: &'a [u64],
}

/// References for 1:N search; see the [`matching`](crate::matching) module documentation for the layout.
/// References for 1:N search, all of one geometry, modality and algorithm.
///
/// # Storage layout
///
/// All references share one geometry, modality and algorithm. Reference `i` (`0 ≤ i < len`) is
/// row `i` of one contiguous, 64-byte aligned buffer of `u64` words: `row_words =
/// ⌈(planes + 1) · words_per_plane / 8⌉ · 8` words per row, holding the code planes one after the
/// other, then the mask, in exactly the [`PalmTemplate`] layout, then zero words up to the next
/// cache line. For the default geometry a row is 64 words = 512 bytes = 8 cache lines with no
/// padding. `ids[i]` is the caller's id of row `i`; a hash map goes from id to row. Removal moves
/// the last row into the hole (O(1)), so row order is not insertion order. A search streams the
/// rows in order, split across threads in chunks of [`SEARCH_CHUNK_ROWS`] rows.
#[derive(Debug, Clone)]
pub struct Gallery {
    kind: Kind,
    /// Code words per row (`planes · words`).
    code_words: usize,
    /// Mask words (`words`).
    mask_words: usize,
    /// Words per row, a multiple of 8.
    row_words: usize,
    rows: AlignedWords,
    ids: Vec<u64>,
    index: HashMap<u64, usize>,
}

/// A top-k entry: exact distance `num / den` (same planes for all), then id. Ordered so that the
/// *worst* is the greatest (for a max-heap of the k best).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    num: u32,
    den: u32,
    id: u64,
    row: usize,
    shift: u32,
}

impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        (u64::from(self.num) * u64::from(o.den))
            .cmp(&(u64::from(o.num) * u64::from(self.den)))
            .then(self.id.cmp(&o.id))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The k best entries seen so far.
struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::new(),
        }
    }

    #[inline]
    fn offer(&mut self, e: Entry) {
        if self.heap.len() < self.k {
            if self.heap.capacity() == 0 {
                self.heap.reserve(self.k.min(1024));
            }
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && e < *worst
        {
            *worst = e;
        }
    }

    /// The worst distance that may still enter, as `(num, den)`; `(1, 0)` (infinite) while there
    /// are fewer than `k` entries.
    #[inline]
    fn bound(&self) -> (u32, u32) {
        match self.heap.peek() {
            Some(worst) if self.heap.len() >= self.k => (worst.num, worst.den),
            _ => (1, 0),
        }
    }

    fn merge(mut self, other: TopK) -> TopK {
        for e in other.heap {
            self.offer(e);
        }
        self
    }
}

/// A chunk's scan feeding a top-k.
struct Scan<'a> {
    ids: &'a [u64],
    first: usize,
    top: &'a mut TopK,
}

impl RowSink for Scan<'_> {
    #[inline]
    fn bound(&self) -> (u32, u32) {
        self.top.bound()
    }

    #[inline]
    fn offer(&mut self, i: usize, sel: Selector) {
        self.top.offer(Entry {
            num: sel.num,
            den: sel.den,
            id: self.ids[i],
            row: self.first + i,
            shift: sel.index,
        });
    }
}

impl Gallery {
    /// An empty gallery for references of this modality, algorithm and geometry.
    pub fn new(modality: Modality, algorithm: Algorithm, geometry: Geometry) -> Self {
        let words = geometry.words_per_plane();
        Self {
            kind: Kind {
                modality,
                algorithm,
                geometry,
            },
            code_words: geometry.code_words(),
            mask_words: words,
            row_words: round_up_to_line(geometry.total_words()),
            rows: AlignedWords::new(),
            ids: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// An empty gallery for references like `template`.
    pub fn like(template: &PalmTemplate) -> Self {
        Self::new(
            template.modality(),
            template.algorithm(),
            template.geometry(),
        )
    }

    /// The geometry of every reference.
    pub fn geometry(&self) -> Geometry {
        self.kind.geometry
    }
    /// The modality of every reference.
    pub fn modality(&self) -> Modality {
        self.kind.modality
    }
    /// The algorithm of every reference.
    pub fn algorithm(&self) -> Algorithm {
        self.kind.algorithm
    }
    /// Number of references.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    /// Words per stored row (a multiple of 8: rows are 64-byte aligned).
    pub fn row_words(&self) -> usize {
        self.row_words
    }
    /// The ids, in row order.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }
    /// Whether `id` is stored.
    pub fn contains(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    /// Bytes held: the row buffer's capacity, the id vector's capacity, and an estimate of the id
    /// map (its capacity × (key + value + 1 control byte)).
    pub fn memory_bytes(&self) -> usize {
        self.rows.capacity_bytes()
            + self.ids.capacity() * std::mem::size_of::<u64>()
            + self.index.capacity() * (std::mem::size_of::<(u64, usize)>() + 1)
    }

    /// Reserves room for `additional` more references.
    pub fn reserve(&mut self, additional: usize) -> Result<(), MatchingError> {
        let lines = additional.saturating_mul(self.row_words / LINE_WORDS);
        let requested_bytes = ((self.len() as u64).saturating_add(additional as u64))
            .saturating_mul(self.row_words as u64 * 8);
        let oom = || MatchingError::OutOfMemory { requested_bytes };
        self.rows.try_reserve_lines(lines).map_err(|_| oom())?;
        self.ids.try_reserve(additional).map_err(|_| oom())?;
        self.index.try_reserve(additional).map_err(|_| oom())?;
        Ok(())
    }

    /// Adds a reference under a caller-chosen `id` (e.g. an enrolment id).
    ///
    /// Errors: [`MatchingError::DuplicateId`]; geometry / modality / algorithm mismatch with the
    /// gallery; [`MatchingError::OutOfMemory`].
    pub fn add(&mut self, id: u64, reference: &PalmTemplate) -> Result<(), MatchingError> {
        self.kind.check(&Kind::of(reference))?;
        self.add_words(id, reference.code_words(), reference.mask_words())
    }

    /// Adds a reference given as raw words in the template layout; the caller vouches for its
    /// modality and algorithm. Checks the word counts and that padding bits are zero.
    pub fn add_words(&mut self, id: u64, code: &[u64], mask: &[u64]) -> Result<(), MatchingError> {
        if self.index.contains_key(&id) {
            return Err(MatchingError::DuplicateId { id });
        }
        if code.len() != self.code_words {
            return Err(MatchingError::WordCount {
                part: "code",
                found: code.len(),
                expected: self.code_words,
            });
        }
        if mask.len() != self.mask_words {
            return Err(MatchingError::WordCount {
                part: "mask",
                found: mask.len(),
                expected: self.mask_words,
            });
        }
        let pad = !self.kind.geometry.last_word_mask();
        let w = self.mask_words;
        for p in 0..=self.kind.geometry.planes() {
            let last = if p < self.kind.geometry.planes() {
                code[p * w + w - 1]
            } else {
                mask[w - 1]
            };
            if last & pad != 0 {
                return Err(TemplateError::NonZeroPadding {
                    plane: (p < self.kind.geometry.planes()).then_some(p as u8),
                    bits: last & pad,
                }
                .into());
            }
        }
        if self.ids.len() == self.ids.capacity() {
            self.reserve(self.ids.len().max(16))?;
        }
        let row = self.ids.len();
        let lines_per_row = self.row_words / LINE_WORDS;
        self.rows.resize_lines((row + 1) * lines_per_row);
        let dst = &mut self.rows.words_mut()[row * self.row_words..(row + 1) * self.row_words];
        dst[..code.len()].copy_from_slice(code);
        dst[code.len()..code.len() + mask.len()].copy_from_slice(mask);
        self.ids.push(id);
        self.index.insert(id, row);
        Ok(())
    }

    /// Removes the reference `id` in O(1) (the last row moves into its place).
    pub fn remove(&mut self, id: u64) -> Result<(), MatchingError> {
        let row = self
            .index
            .remove(&id)
            .ok_or(MatchingError::UnknownId { id })?;
        let last = self.ids.len() - 1;
        let lines_per_row = self.row_words / LINE_WORDS;
        if row != last {
            self.rows
                .copy_lines_within(last * lines_per_row, row * lines_per_row, lines_per_row);
            let moved = self.ids[last];
            self.ids[row] = moved;
            self.index.insert(moved, row);
        }
        self.ids.pop();
        self.rows.resize_lines(last * lines_per_row);
        Ok(())
    }

    /// The stored reference `id`.
    pub fn get(&self, id: u64) -> Option<GalleryEntry<'_>> {
        self.index.get(&id).map(|&row| self.entry(row))
    }

    /// Every stored reference, in row order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = GalleryEntry<'_>> + '_ {
        (0..self.len()).map(|row| self.entry(row))
    }

    fn entry(&self, row: usize) -> GalleryEntry<'_> {
        let r = &self.rows.words()[row * self.row_words..(row + 1) * self.row_words];
        GalleryEntry {
            id: self.ids[row],
            code: &r[..self.code_words],
            mask: &r[self.code_words..self.code_words + self.mask_words],
            row: r,
        }
    }

    /// All rows as one slice (`len · row_words` words).
    pub fn row_buffer(&self) -> &[u64] {
        &self.rows.words()[..self.len() * self.row_words]
    }

    /// The `k` references closest to the probe, best first: ascending exact distance, ties by
    /// ascending id. References with too little overlap (see
    /// [`ComparisonOutcome::InsufficientOverlap`](super::ComparisonOutcome::InsufficientOverlap))
    /// are left out, so fewer than `k` may come back.
    ///
    /// Runs on the current rayon pool (the global one unless called inside
    /// [`rayon::ThreadPool::install`]; see [`Gallery::search_in`]), each worker keeping its own
    /// top-k; no allocation per comparison.
    ///
    /// Errors: the matcher's geometry, modality or algorithm differ from the gallery's.
    pub fn search(&self, matcher: &Matcher, k: usize) -> Result<Vec<Candidate>, MatchingError> {
        self.search_with(matcher, k, false)
    }

    /// Benchmark baseline, not API: [`Gallery::search_in`] through the per-shift sink kernels
    /// (the scan before the best-shift kernels). Same results.
    #[doc(hidden)]
    pub fn search_in_via_sink(
        &self,
        pool: &rayon::ThreadPool,
        matcher: &Matcher,
        k: usize,
    ) -> Result<Vec<Candidate>, MatchingError> {
        pool.install(|| self.search_with(matcher, k, true))
    }

    fn search_with(
        &self,
        matcher: &Matcher,
        k: usize,
        via_sink: bool,
    ) -> Result<Vec<Candidate>, MatchingError> {
        matcher.kind().check(&self.kind)?;
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let chunk_words = SEARCH_CHUNK_ROWS * self.row_words;
        let top = self
            .row_buffer()
            .par_chunks(chunk_words)
            .enumerate()
            .fold(
                || TopK::new(k),
                |mut top, (ci, chunk)| {
                    self.scan(matcher, chunk, ci * SEARCH_CHUNK_ROWS, &mut top, via_sink);
                    top
                },
            )
            .reduce(|| TopK::new(k), TopK::merge);
        Ok(self.finish(matcher, top))
    }

    /// [`Gallery::search`] on a given rayon pool (e.g. one built with a fixed thread count).
    pub fn search_in(
        &self,
        pool: &rayon::ThreadPool,
        matcher: &Matcher,
        k: usize,
    ) -> Result<Vec<Candidate>, MatchingError> {
        pool.install(|| self.search(matcher, k))
    }

    /// [`Gallery::search`] on the calling thread only, without rayon.
    pub fn search_sequential(
        &self,
        matcher: &Matcher,
        k: usize,
    ) -> Result<Vec<Candidate>, MatchingError> {
        matcher.kind().check(&self.kind)?;
        if k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let mut top = TopK::new(k);
        self.scan(matcher, self.row_buffer(), 0, &mut top, false);
        Ok(self.finish(matcher, top))
    }

    /// Compares every row of `chunk` (row `first` onwards) and offers it to `top`.
    #[inline]
    fn scan(&self, matcher: &Matcher, chunk: &[u64], first: usize, top: &mut TopK, via_sink: bool) {
        let ids = &self.ids[first..first + chunk.len() / self.row_words];
        let mut sink = Scan { ids, first, top };
        if via_sink {
            matcher.select_rows_via_sink(chunk, self.row_words, |i, sel: Selector| {
                if sel.found() {
                    sink.offer(i, sel);
                }
            });
        } else {
            matcher.select_rows(chunk, self.row_words, &mut sink);
        }
    }

    fn finish(&self, matcher: &Matcher, top: TopK) -> Vec<Candidate> {
        let mut best = top.heap.into_vec();
        best.sort_unstable();
        best.into_iter()
            .map(|e| {
                debug_assert_eq!(self.ids[e.row], e.id);
                Candidate {
                    id: e.id,
                    comparison: matcher.comparison_at(e.num, e.den, e.shift),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{ComparisonOutcome, MatchConfig};

    fn palm(seed: u64, g: Geometry) -> PalmTemplate {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let bits: Vec<bool> = (0..g.cells() * (g.planes() + 1))
            .map(|_| next() & 1 == 1)
            .collect();
        PalmTemplate::from_fn(
            Modality::Crease,
            Algorithm::new(1, 1, 0),
            g,
            |p, r, c| bits[p * g.cells() + r * g.cols() + c],
            |r, c| r > 0 || c > 2,
        )
    }

    #[test]
    fn add_remove_get_and_layout() {
        let g = Geometry::new(5, 7, 3).unwrap(); // 35 cells: 1 word per plane, rows of 8 words
        let mut gal = Gallery::new(Modality::Crease, Algorithm::new(1, 1, 0), g);
        assert_eq!(gal.row_words(), 8);
        for id in [10, 20, 30, 40] {
            gal.add(id, &palm(id, g)).unwrap();
        }
        assert_eq!(
            gal.add(20, &palm(1, g)),
            Err(MatchingError::DuplicateId { id: 20 })
        );
        assert_eq!(gal.row_buffer().as_ptr() as usize % 64, 0);
        gal.remove(20).unwrap();
        assert_eq!(gal.remove(20), Err(MatchingError::UnknownId { id: 20 }));
        assert_eq!(gal.ids(), &[10, 40, 30]);
        assert_eq!(gal.len(), 3);
        for id in [10, 30, 40] {
            let e = gal.get(id).unwrap();
            let t = palm(id, g);
            assert_eq!(e.code, t.code_words());
            assert_eq!(e.mask, t.mask_words());
            assert!(e.row[4..].iter().all(|&w| w == 0));
        }
        assert!(gal.get(20).is_none());
        assert!(gal.memory_bytes() >= 3 * 64);
        for id in [10, 30, 40] {
            gal.remove(id).unwrap();
        }
        assert!(gal.is_empty());
        let other = palm(1, Geometry::new(5, 8, 3).unwrap());
        assert!(matches!(
            gal.add(1, &other),
            Err(MatchingError::GeometryMismatch { .. })
        ));
        let mut bad = palm(1, g).code_words().to_vec();
        bad[0] |= 1 << 40;
        assert!(matches!(
            gal.add_words(1, &bad, palm(1, g).mask_words()),
            Err(MatchingError::Template(
                TemplateError::NonZeroPadding { .. }
            ))
        ));
    }

    #[test]
    fn search_equals_sorting_all_comparisons() {
        let g = Geometry::new(16, 16, 3).unwrap();
        let mut gal = Gallery::new(Modality::Crease, Algorithm::new(1, 1, 0), g);
        let n = 2 * SEARCH_CHUNK_ROWS + 37;
        for i in 0..n as u64 {
            // Duplicates of a few templates force exact ties, broken by id.
            gal.add(5000 - i, &palm(i % 50, g)).unwrap();
        }
        let probe = palm(3, g);
        let m = Matcher::new(&probe, &MatchConfig::default()).unwrap();
        let mut all: Vec<Candidate> = gal
            .iter()
            .filter_map(|e| match m.compare_words(e.code, e.mask).unwrap() {
                ComparisonOutcome::Compared(c) => Some(Candidate {
                    id: e.id,
                    comparison: c,
                }),
                ComparisonOutcome::InsufficientOverlap { .. } => None,
            })
            .collect();
        all.sort_by(|a, b| {
            a.comparison
                .cmp_distance(&b.comparison)
                .then(a.id.cmp(&b.id))
        });
        for k in [1, 5, 64, n + 10] {
            let want = &all[..k.min(all.len())];
            assert_eq!(gal.search(&m, k).unwrap(), want);
            assert_eq!(gal.search_sequential(&m, k).unwrap(), want);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            assert_eq!(gal.search_in(&pool, &m, k).unwrap(), want);
        }
        assert_eq!(gal.search(&m, 0).unwrap(), vec![]);
        assert_eq!(gal.search(&m, 1).unwrap()[0].comparison.distance, 0.0);
    }
}
