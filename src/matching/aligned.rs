//! A growable buffer of `u64` words whose start is 64-byte aligned (one cache line, one AVX-512
//! register), built from safe code only: the storage is a `Vec` of 64-byte aligned lines.

/// Eight words, aligned to a 64-byte cache line.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct Line(pub(crate) [u64; 8]);

/// Words per [`Line`].
pub(crate) const LINE_WORDS: usize = 8;

/// `n` rounded up to a whole number of lines (in words).
pub(crate) const fn round_up_to_line(n: usize) -> usize {
    n.div_ceil(LINE_WORDS) * LINE_WORDS
}

/// A 64-byte aligned run of words, stored as whole lines.
#[derive(Clone, Debug, Default)]
pub(crate) struct AlignedWords {
    lines: Vec<Line>,
}

impl AlignedWords {
    /// `words` zero words (rounded up to whole lines).
    pub(crate) fn zeroed(words: usize) -> Self {
        Self {
            lines: vec![Line::default(); words.div_ceil(LINE_WORDS)],
        }
    }

    /// An empty buffer.
    pub(crate) const fn new() -> Self {
        Self { lines: Vec::new() }
    }

    /// All words.
    pub(crate) fn words(&self) -> &[u64] {
        self.lines.as_flattened_words()
    }

    /// All words, mutable.
    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        self.lines.as_flattened_words_mut()
    }

    /// Grows or shrinks to `lines` lines (new lines are zero).
    pub(crate) fn resize_lines(&mut self, lines: usize) {
        self.lines.resize(lines, Line::default());
    }

    /// Reserves room for `additional` more lines; `Err` when the allocation fails.
    pub(crate) fn try_reserve_lines(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        self.lines.try_reserve(additional)
    }

    /// Bytes allocated (capacity, not length).
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<Line>()
    }

    /// Copies lines `src..src + n` over lines `dst..dst + n`.
    pub(crate) fn copy_lines_within(&mut self, src: usize, dst: usize, n: usize) {
        self.lines.copy_within(src..src + n, dst);
    }
}

/// Flattening a slice of lines into words, without `unsafe`.
trait FlattenWords {
    fn as_flattened_words(&self) -> &[u64];
    fn as_flattened_words_mut(&mut self) -> &mut [u64];
}

impl FlattenWords for Vec<Line> {
    fn as_flattened_words(&self) -> &[u64] {
        // `Line` is `repr(C)` around `[u64; 8]`, but the safe route to a flat slice goes through
        // `[[u64; 8]]::as_flattened`, which needs the arrays themselves: map the slice type.
        lines_as_arrays(self).as_flattened()
    }
    fn as_flattened_words_mut(&mut self) -> &mut [u64] {
        lines_as_arrays_mut(self).as_flattened_mut()
    }
}

fn lines_as_arrays(lines: &[Line]) -> &[[u64; 8]] {
    crate::matching::kernels::lines_as_arrays(lines)
}

fn lines_as_arrays_mut(lines: &mut [Line]) -> &mut [[u64; 8]] {
    crate::matching::kernels::lines_as_arrays_mut(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        let mut b = AlignedWords::zeroed(13);
        assert_eq!(b.words().len(), 16);
        assert_eq!(b.words().as_ptr() as usize % 64, 0);
        assert!(b.words().iter().all(|&w| w == 0));
        b.words_mut()[9] = 7;
        b.resize_lines(3);
        assert_eq!(b.words()[9], 7);
        assert_eq!(b.words()[20], 0);
        b.copy_lines_within(1, 2, 1);
        assert_eq!(b.words()[17], 7);
        assert_eq!(round_up_to_line(17), 24);
        assert!(AlignedWords::new().words().is_empty());
    }
}
