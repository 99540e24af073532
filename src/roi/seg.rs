//! Binary image operations on the downscaled frame: blur, Otsu, components, holes, distance.

/// 3×3 box blur applied twice (≈ Gaussian σ ≈ 1.15 px), edges replicated.
pub(crate) fn blur(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut tmp = vec![0u16; w * h];
    let mut once = vec![0u8; w * h];
    let mut out = vec![0u8; w * h];
    box3(src, &mut tmp, &mut once, w, h);
    box3(&once, &mut tmp, &mut out, w, h);
    out
}

/// One 3×3 box average with replicated edges, rounded: `(sum + 4) / 9`. `tmp` holds the
/// horizontal sums.
fn box3(src: &[u8], tmp: &mut [u16], out: &mut [u8], w: usize, h: usize) {
    if w == 0 || h == 0 {
        return;
    }
    for (r, t) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        if w >= 3 {
            for (((t, &a), &b), &c) in t[1..w - 1]
                .iter_mut()
                .zip(&r[..w - 2])
                .zip(&r[1..w - 1])
                .zip(&r[2..])
            {
                *t = a as u16 + b as u16 + c as u16;
            }
        }
        for x in [0, w - 1] {
            let a = r[x.saturating_sub(1)] as u16;
            let c = r[(x + 1).min(w - 1)] as u16;
            t[x] = a + r[x] as u16 + c;
        }
    }
    for (y, o) in out.chunks_exact_mut(w).enumerate() {
        let a = &tmp[y.saturating_sub(1) * w..][..w];
        let b = &tmp[y * w..][..w];
        let c = &tmp[(y + 1).min(h - 1) * w..][..w];
        for (((o, &a), &b), &c) in o.iter_mut().zip(a).zip(b).zip(c) {
            *o = ((a + b + c + 4) / 9) as u8;
        }
    }
}

/// Histogram of 8-bit values.
pub(crate) fn histogram(v: &[u8]) -> [u64; 256] {
    // Four sub-histograms break the store-to-load dependency on runs of equal values.
    let mut h4 = [[0u32; 256]; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        h4[0][c[0] as usize] += 1;
        h4[1][c[1] as usize] += 1;
        h4[2][c[2] as usize] += 1;
        h4[3][c[3] as usize] += 1;
    }
    let mut hist = [0u64; 256];
    for &p in chunks.remainder() {
        hist[p as usize] += 1;
    }
    for (i, h) in hist.iter_mut().enumerate() {
        *h += h4.iter().map(|s| s[i] as u64).sum::<u64>();
    }
    hist
}

/// Otsu's threshold: returns `(t, eta)` where foreground is `v > t` and `eta` ∈ [0, 1] is the
/// separability (between-class variance / total variance; 0 for a constant image).
#[cfg(test)]
pub(crate) fn otsu(v: &[u8]) -> (u8, f64) {
    otsu_hist(&histogram(v))
}

/// [`otsu`] from a histogram of the values.
pub(crate) fn otsu_hist(hist: &[u64; 256]) -> (u8, f64) {
    let n = hist.iter().sum::<u64>() as f64;
    if n == 0.0 {
        return (0, 0.0);
    }
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let mean = sum / n;
    let var: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 * (i as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let (mut w0, mut s0) = (0.0f64, 0.0f64);
    let (mut best, mut best_t) = (-1.0f64, 0u8);
    for (t, &c) in hist.iter().enumerate().take(255) {
        w0 += c as f64;
        s0 += t as f64 * c as f64;
        let w1 = n - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = s0 / w0;
        let m1 = (sum - s0) / w1;
        let between = w0 * w1 * (m0 - m1).powi(2) / (n * n);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    let eta = if var > 0.0 && best >= 0.0 {
        (best / var).min(1.0)
    } else {
        0.0
    };
    (best_t, eta)
}

/// Three-class Otsu (Liao, Chen & Chung 2001): the thresholds `t1 < t2` that split the values
/// into `≤ t1`, `(t1, t2]` and `> t2` with the largest between-class variance; returns
/// `(t1, t2, eta)` with `eta` ∈ [0, 1] the separability (between-class / total variance;
/// 0 for fewer than three distinct values). Ties keep the smallest `(t1, t2)`.
pub(crate) fn otsu3_hist(hist: &[u64; 256]) -> (u8, u8, f64) {
    // Cumulative counts and value sums: class (a, b] has n = N[b] − N[a], s = S[b] − S[a].
    let mut cn = [0.0f64; 257];
    let mut cs = [0.0f64; 257];
    for (i, &c) in hist.iter().enumerate() {
        cn[i + 1] = cn[i] + c as f64;
        cs[i + 1] = cs[i] + i as f64 * c as f64;
    }
    let n = cn[256];
    if n == 0.0 {
        return (0, 0, 0.0);
    }
    let mean = cs[256] / n;
    let var: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| c as f64 * (i as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    // Σ nₖ μₖ² = Σ sₖ² / nₖ is maximal exactly where the between-class variance is.
    let term = |a: usize, b: usize| {
        let (w, s) = (cn[b] - cn[a], cs[b] - cs[a]);
        if w > 0.0 { s * s / w } else { f64::NAN }
    };
    // Only splits with three non-empty classes count: t1 from the first occupied value, t2
    // below the last one.
    let first = hist.iter().position(|&c| c > 0).unwrap_or(0);
    let last = hist.iter().rposition(|&c| c > 0).unwrap_or(0);
    let (mut best, mut bt) = (f64::NEG_INFINITY, (0u8, 0u8));
    for t1 in first..last.min(254) {
        let lo = term(0, t1 + 1);
        if lo.is_nan() {
            continue;
        }
        for t2 in t1 + 1..last.min(255) {
            let v = lo + term(t1 + 1, t2 + 1) + term(t2 + 1, 256);
            if v > best {
                best = v;
                bt = (t1 as u8, t2 as u8);
            }
        }
    }
    if !best.is_finite() || var <= 0.0 {
        return (0, 0, 0.0);
    }
    let between = best / n - mean * mean;
    (bt.0, bt.1, (between / var).clamp(0.0, 1.0))
}

/// Foreground by a global threshold with a local-contrast cut: `v > t`, and where `v ≤ t_hi`
/// (an ambiguous value: a dim part of the hand, or a background as bright as a dim hand) also
/// `v + margin ≥` the mean of `v` over the `(2r + 1)²` window around the pixel (clipped to the
/// image). A background region merely adjacent to a brighter hand sits below the local mean
/// near the hand and drops out there, which cuts it off; the hand's own dim parts vary slowly
/// and stay. Returns a 0/1 mask.
pub(crate) fn threshold_local(
    v: &[u8],
    w: usize,
    h: usize,
    t: u8,
    t_hi: u8,
    margin: f32,
    r: usize,
) -> Vec<u8> {
    let mut out: Vec<u8> = v.iter().map(|&p| u8::from(p > t)).collect();
    if t_hi <= t || w == 0 || h == 0 {
        return out;
    }
    // Column sums over the window's rows, updated row by row, then a prefix sum along the row:
    // each window sum is one difference.
    let mut col = vec![0u32; w];
    let mut pre = vec![0u32; w + 1];
    let add = |col: &mut [u32], row: &[u8]| {
        for (c, &p) in col.iter_mut().zip(row) {
            *c += p as u32;
        }
    };
    for row in v.chunks_exact(w).take(r + 1) {
        add(&mut col, row);
    }
    for y in 0..h {
        if y > 0 {
            if y + r < h {
                add(&mut col, &v[(y + r) * w..(y + r + 1) * w]);
            }
            if y > r {
                for (c, &p) in col.iter_mut().zip(&v[(y - r - 1) * w..(y - r) * w]) {
                    *c -= p as u32;
                }
            }
        }
        let ny = ((y + r + 1).min(h) - y.saturating_sub(r)) as f32;
        for x in 0..w {
            pre[x + 1] = pre[x] + col[x];
        }
        let row = &v[y * w..(y + 1) * w];
        let orow = &mut out[y * w..(y + 1) * w];
        // Branch-free: hand = above t, and either above t_hi or not below the local mean by
        // more than the margin.
        let keep = |p: u8, s: u32, n: f32| {
            u8::from(p > t) & (u8::from(p > t_hi) | u8::from((p as f32 + margin) * n >= s as f32))
        };
        let (lo, hi) = (r.min(w), w.saturating_sub(r + 1).max(r.min(w)));
        for x in (0..lo).chain(hi..w) {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            orow[x] = keep(row[x], pre[x1] - pre[x0], ny * (x1 - x0) as f32);
        }
        if hi <= lo {
            continue;
        }
        // Interior: the full window width.
        let n = ny * (2 * r + 1) as f32;
        for (((o, &p), &a), &b) in orow[lo..hi]
            .iter_mut()
            .zip(&row[lo..hi])
            .zip(&pre[lo + r + 1..hi + r + 1])
            .zip(&pre[lo - r..hi - r])
        {
            *o = keep(p, a - b, n);
        }
    }
    out
}

/// Horizontal runs `[x0, x1)` of one value in a mask, in raster order, with a union–find
/// forest over them linking 4-connected runs; each tree's root is its first run.
struct Runs {
    /// `(y, x0, x1)`.
    runs: Vec<(u32, u32, u32)>,
    parent: Vec<u32>,
}

impl Runs {
    /// Runs of pixels where `(mask[i] != 0) == fg`, 4-connected between rows.
    fn label(mask: &[u8], w: usize, h: usize, fg: bool) -> Runs {
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        let mut parent: Vec<u32> = Vec::new();
        let mut prev = 0..0; // runs of the previous row
        for y in 0..h {
            let row = &mask[y * w..(y + 1) * w];
            let first = runs.len();
            let mut x = 0;
            loop {
                // Skip to the next run start, then to its end.
                x = scan(row, x, fg);
                if x >= w {
                    break;
                }
                let x0 = x;
                x = scan(row, x, !fg);
                runs.push((y as u32, x0 as u32, x as u32));
                parent.push((runs.len() - 1) as u32);
            }
            // Link overlapping runs of consecutive rows (two pointers).
            let cur = first..runs.len();
            let (mut i, mut j) = (prev.start, cur.start);
            while i < prev.end && j < cur.end {
                let (_, a0, a1) = runs[i];
                let (_, b0, b1) = runs[j];
                if a0 < b1 && b0 < a1 {
                    union(&mut parent, i as u32, j as u32);
                }
                if a1 < b1 {
                    i += 1;
                } else {
                    j += 1;
                }
            }
            prev = cur;
        }
        Runs { runs, parent }
    }

    /// Resolves every run's root (path-compressed); afterwards `parent[i]` is the root.
    fn flatten(&mut self) {
        for i in 0..self.parent.len() {
            let p = self.parent[i] as usize;
            // Roots come first in raster order, so the parent is already flat.
            self.parent[i] = self.parent[p];
        }
    }
}

/// The first index `≥ from` where `(row[i] != 0) == nonzero`, or `row.len()`; eight bytes at
/// a time.
fn scan(row: &[u8], from: usize, nonzero: bool) -> usize {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = row.len();
    let mut i = from;
    while i + 8 <= n {
        let v = u64::from_le_bytes(row[i..i + 8].try_into().expect("8 bytes"));
        // Bit 7 of each byte of `t` is set exactly when that byte is non-zero (no carries
        // cross bytes: 0x7f + 0x7f < 0x100).
        let t = ((v & LOW7) + LOW7) | v;
        let hits = if nonzero { t & HIGH } else { !t & HIGH };
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && (row[i] != 0) != nonzero {
        i += 1;
    }
    i
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[i as usize];
        parent[i as usize] = parent[p as usize];
        i = p;
    }
    i
}

/// Joins two trees; the root with the smaller index (the earlier first run) wins.
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra < rb {
        parent[rb as usize] = ra;
    } else if rb < ra {
        parent[ra as usize] = rb;
    }
}

/// Keeps only the largest 4-connected foreground component; returns its area (0 if none).
/// Among equally large components, the one whose first pixel comes first in raster order.
pub(crate) fn largest_component(mask: &mut [u8], w: usize, h: usize) -> usize {
    let mut r = Runs::label(mask, w, h, true);
    r.flatten();
    let mut area = vec![0usize; r.runs.len()];
    for (i, &(_, x0, x1)) in r.runs.iter().enumerate() {
        area[r.parent[i] as usize] += (x1 - x0) as usize;
    }
    let (mut best, mut best_area) = (usize::MAX, 0usize);
    for (i, &a) in area.iter().enumerate() {
        if a > best_area {
            best_area = a;
            best = i;
        }
    }
    mask.fill(0);
    for (i, &(y, x0, x1)) in r.runs.iter().enumerate() {
        if r.parent[i] as usize == best {
            let o = y as usize * w;
            mask[o + x0 as usize..o + x1 as usize].fill(1);
        }
    }
    best_area
}

/// Clears every 4-connected foreground component for which `drop(area, marked)` is true, where
/// `marked` counts the component's pixels with `marks[i] != 0`.
pub(crate) fn drop_components(
    mask: &mut [u8],
    marks: &[u8],
    w: usize,
    h: usize,
    drop: impl Fn(usize, usize) -> bool,
) {
    let mut r = Runs::label(mask, w, h, true);
    r.flatten();
    let mut stats = vec![(0usize, 0usize); r.runs.len()];
    for (i, &(y, x0, x1)) in r.runs.iter().enumerate() {
        let o = y as usize * w;
        let s = &mut stats[r.parent[i] as usize];
        s.0 += (x1 - x0) as usize;
        s.1 += marks[o + x0 as usize..o + x1 as usize]
            .iter()
            .filter(|&&m| m != 0)
            .count();
    }
    for (i, &(y, x0, x1)) in r.runs.iter().enumerate() {
        let (area, marked) = stats[r.parent[i] as usize];
        if drop(area, marked) {
            let o = y as usize * w;
            mask[o + x0 as usize..o + x1 as usize].fill(0);
        }
    }
}

/// Fills background regions not 4-connected to the image border.
pub(crate) fn fill_holes(mask: &mut [u8], w: usize, h: usize) {
    let mut r = Runs::label(mask, w, h, false);
    r.flatten();
    let mut border = vec![false; r.runs.len()];
    for (i, &(y, x0, x1)) in r.runs.iter().enumerate() {
        if y == 0 || y as usize + 1 == h || x0 == 0 || x1 as usize == w {
            border[r.parent[i] as usize] = true;
        }
    }
    for v in mask.iter_mut() {
        *v = u8::from(*v != 0);
    }
    for (i, &(y, x0, x1)) in r.runs.iter().enumerate() {
        if !border[r.parent[i] as usize] {
            let o = y as usize * w;
            mask[o + x0 as usize..o + x1 as usize].fill(1);
        }
    }
}

/// Chamfer (3-4) distance from every foreground pixel to the nearest background pixel (pixels
/// outside the image count as background when `border_is_background`), in units of 1/3 px.
pub(crate) fn distance_ext(
    mask: &[u8],
    w: usize,
    h: usize,
    border_is_background: bool,
) -> Vec<u32> {
    const BIG: u32 = u32::MAX / 4;
    let mut out = vec![0u32; w * h];
    // Work on the foreground's bounding box only: everything outside it is background at
    // distance 0, and a one-pixel ring around it (background, or the border value outside
    // the image) separates it from everything else, so the chamfer distances inside are
    // unchanged.
    let rows: Vec<usize> = (0..h)
        .filter(|&y| scan(&mask[y * w..(y + 1) * w], 0, true) < w)
        .collect();
    let (Some(&y0), Some(&y1)) = (rows.first(), rows.last()) else {
        return out;
    };
    let y1 = y1 + 1;
    let (mut x0, mut x1) = (w, 0);
    for &y in &rows {
        let row = &mask[y * w..(y + 1) * w];
        x0 = x0.min(scan(row, 0, true));
        x1 = x1.max(row.iter().rposition(|&m| m != 0).map_or(0, |p| p + 1));
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    // The box plus its ring, `pw × (bh + 2)`.
    let pw = bw + 2;
    let border = if border_is_background { 0 } else { BIG };
    let ring = |inside_image: bool| if inside_image { 0 } else { border };
    let mut d = vec![0u32; pw * (bh + 2)];
    let (left, right) = (ring(x0 > 0), ring(x1 < w));
    for (yy, drow) in d.chunks_exact_mut(pw).enumerate() {
        // Frame row y = y0 + yy − 1.
        if yy == 0 || yy == bh + 1 {
            let inside = if yy == 0 { y0 > 0 } else { y1 < h };
            drow.fill(ring(inside));
            drow[0] = if inside { left } else { border };
            drow[pw - 1] = if inside { right } else { border };
            continue;
        }
        let y = y0 + yy - 1;
        drow[0] = left;
        drow[pw - 1] = right;
        for (o, &m) in drow[1..=bw].iter_mut().zip(&mask[y * w + x0..y * w + x1]) {
            *o = if m != 0 { BIG } else { 0 };
        }
    }
    // Each pass first takes the (vectorisable) minimum over the three neighbours in the
    // previous row, then runs the sequential minimum along the row.
    let mut above = vec![0u32; bw];
    for y in 1..=bh {
        let (done, rest) = d.split_at_mut(y * pw);
        let prev = &done[(y - 1) * pw..];
        for (((a, &l), &c), &r) in above
            .iter_mut()
            .zip(&prev[..bw])
            .zip(&prev[1..bw + 1])
            .zip(&prev[2..bw + 2])
        {
            *a = (c + 3).min(l + 4).min(r + 4);
        }
        let row = &mut rest[..pw];
        let mut left = row[0];
        for (v, &a) in row[1..=bw].iter_mut().zip(&above) {
            if *v != 0 {
                *v = (*v).min(a).min(left + 3);
            }
            left = *v;
        }
    }
    for y in (1..=bh).rev() {
        let (rest, done) = d.split_at_mut((y + 1) * pw);
        let next = &done[..pw];
        for (((a, &l), &c), &r) in above
            .iter_mut()
            .zip(&next[..bw])
            .zip(&next[1..bw + 1])
            .zip(&next[2..bw + 2])
        {
            *a = (c + 3).min(l + 4).min(r + 4);
        }
        let row = &mut rest[y * pw..];
        let mut right = row[bw + 1];
        for (v, &a) in row[1..=bw].iter_mut().zip(&above).rev() {
            if *v != 0 {
                *v = (*v).min(a).min(right + 3);
            }
            right = *v;
        }
    }
    for yy in 0..bh {
        let y = y0 + yy;
        out[y * w + x0..y * w + x1].copy_from_slice(&d[(yy + 1) * pw + 1..(yy + 1) * pw + 1 + bw]);
    }
    out
}

/// [`distance_ext`] with the outside of the image as background.
pub(crate) fn distance(mask: &[u8], w: usize, h: usize) -> Vec<u32> {
    distance_ext(mask, w, h, true)
}

/// Running minimum (`op` = min: erosion) or maximum (max: dilation) of a mask over a
/// `(2r + 1)²` square;
/// samples outside the image are ignored (equivalently: edges replicated). Separable, with
/// O(log r) vectorised passes per direction (window doubling).
fn min_max_2d<F: Fn(u8, u8) -> u8 + Copy>(
    mask: &mut [u8],
    w: usize,
    h: usize,
    r: usize,
    op: F,
    scratch: &mut Scratch,
) {
    let len = 2 * r + 1;
    // Rows: each row padded with r copies of its edge values.
    let pw = w + 2 * r;
    scratch.a.resize(pw, 0);
    scratch.b.resize(pw, 0);
    for row in mask.chunks_exact_mut(w) {
        let a = &mut scratch.a;
        a[..r].fill(row[0]);
        a[r..r + w].copy_from_slice(row);
        a[r + w..].fill(row[w - 1]);
        // row[i] = op over the padded row's [i, i + len).
        window(a, &mut scratch.b, 1, len, op, row);
    }
    // Columns: the whole image padded with r copies of its first and last rows.
    let ph = h + 2 * r;
    scratch.a.resize(ph * w, 0);
    scratch.b.resize(ph * w, 0);
    let a = &mut scratch.a;
    for y in 0..r {
        a[y * w..(y + 1) * w].copy_from_slice(&mask[..w]);
        a[(r + h + y) * w..(r + h + y + 1) * w].copy_from_slice(&mask[(h - 1) * w..]);
    }
    a[r * w..(r + h) * w].copy_from_slice(mask);
    window(a, &mut scratch.b, w, len, op, mask);
}

/// `out[i] = op(a[i], a[i + step], …, a[i + (len − 1) step])` for `i < out.len()` (needs
/// `out.len() + (len − 1) step ≤ a.len()`); `a` and `b` (of `a`'s length) are scratch.
fn window(
    a: &mut [u8],
    b: &mut [u8],
    step: usize,
    len: usize,
    op: impl Fn(u8, u8) -> u8 + Copy,
    out: &mut [u8],
) {
    let n = a.len();
    // Doubling: after each pass `src` holds windows of `cur` samples (valid where they fit;
    // the tail is stale but initialised and only feeds outputs that are not valid either).
    let (mut src, mut dst) = (a, b);
    let mut cur = 1;
    while 2 * cur <= len {
        let s = cur * step;
        for ((o, &x), &y) in dst[..n - s].iter_mut().zip(&src[..n - s]).zip(&src[s..]) {
            *o = op(x, y);
        }
        std::mem::swap(&mut src, &mut dst);
        cur *= 2;
    }
    // Two overlapping windows of `cur` ≥ len / 2 cover `len`.
    let s = (len - cur) * step;
    let m = out.len();
    for ((o, &x), &y) in out.iter_mut().zip(&src[..m]).zip(&src[s..s + m]) {
        *o = op(x, y);
    }
}

/// Reusable buffers for [`open`].
#[derive(Default)]
struct Scratch {
    a: Vec<u8>,
    b: Vec<u8>,
}

/// Morphological opening of a 0/1 mask with a `(2r+1)²` square: removes foreground
/// structures thinner than `2r + 1` px (cables, pegs, thin clutter) and keeps the rest's
/// shape. The outside of the image does not erode the mask.
pub(crate) fn open(mask: &mut [u8], w: usize, h: usize, r: f32) {
    let r = r.round() as usize;
    if r == 0 || w == 0 || h == 0 {
        return;
    }
    let mut s = Scratch::default();
    min_max_2d(mask, w, h, r, u8::min, &mut s);
    min_max_2d(mask, w, h, r, u8::max, &mut s);
}

/// Morphological dilation of a 0/1 mask with a `(2r+1)²` square (clipped at the image border).
pub(crate) fn dilate(mask: &mut [u8], w: usize, h: usize, r: usize) {
    if r == 0 || w == 0 || h == 0 {
        return;
    }
    let mut s = Scratch::default();
    min_max_2d(mask, w, h, r, u8::max, &mut s);
}

/// Sobel gradient magnitude in the L1 form `|Gx| + |Gy|` (each the `[1 2 1] ⊗ [−1 0 1]`
/// kernel, so a unit-slope ramp gives 8 per axis), edges replicated.
pub(crate) fn gradient_l1(v: &[u8], w: usize, h: usize) -> Vec<u16> {
    let mut out = vec![0u16; w * h];
    if w == 0 || h == 0 {
        return out;
    }
    for y in 0..h {
        let (ru, rd) = (y.saturating_sub(1) * w, (y + 1).min(h - 1) * w);
        let r0 = y * w;
        for x in 0..w {
            let (xl, xr) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let p = |r: usize, x: usize| v[r + x] as i32;
            let gx =
                (p(ru, xr) - p(ru, xl)) + 2 * (p(r0, xr) - p(r0, xl)) + (p(rd, xr) - p(rd, xl));
            let gy = (p(rd, xl) - p(ru, xl)) + 2 * (p(rd, x) - p(ru, x)) + (p(rd, xr) - p(ru, xr));
            out[r0 + x] = (gx.unsigned_abs() + gy.unsigned_abs()) as u16;
        }
    }
    out
}

/// The first (simple, slower) implementations, kept as references for the tests.
#[cfg(test)]
#[allow(dead_code)]
mod reference {
    /// Dilation with the clipped `(2r+1)²` square, pixel by pixel.
    pub(super) fn dilate(mask: &mut [u8], w: usize, h: usize, r: usize) {
        let src = mask.to_vec();
        for y in 0..h {
            for x in 0..w {
                let mut v = 0u8;
                for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                    for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                        v = v.max(src[yy * w + xx]);
                    }
                }
                mask[y * w + x] = v;
            }
        }
    }

    /// `|Gx| + |Gy|` by convolution with the two 3×3 Sobel kernels, coordinates clamped.
    pub(super) fn gradient_l1(v: &[u8], w: usize, h: usize) -> Vec<u16> {
        const KX: [[i32; 3]; 3] = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]];
        let at = |x: i64, y: i64| -> i32 {
            let x = x.clamp(0, w as i64 - 1) as usize;
            let y = y.clamp(0, h as i64 - 1) as usize;
            v[y * w + x] as i32
        };
        let mut out = vec![0u16; w * h];
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                let (mut gx, mut gy) = (0i32, 0i32);
                for (j, row) in KX.iter().enumerate() {
                    for (i, &k) in row.iter().enumerate() {
                        let (dx, dy) = (i as i64 - 1, j as i64 - 1);
                        gx += k * at(x + dx, y + dy);
                        // The transposed kernel.
                        gy += k * at(x + dy, y + dx);
                    }
                }
                out[(y as usize) * w + x as usize] = (gx.abs() + gy.abs()) as u16;
            }
        }
        out
    }

    /// 3×3 box blur applied twice (≈ Gaussian σ ≈ 1.15 px), edges replicated.
    pub(super) fn blur(src: &[u8], w: usize, h: usize) -> Vec<u8> {
        let once = |s: &[u8]| -> Vec<u8> {
            let mut tmp = vec![0u16; w * h];
            for y in 0..h {
                let r = &s[y * w..(y + 1) * w];
                for x in 0..w {
                    let a = r[x.saturating_sub(1)] as u16;
                    let c = r[(x + 1).min(w - 1)] as u16;
                    tmp[y * w + x] = a + r[x] as u16 + c;
                }
            }
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                let ya = y.saturating_sub(1) * w;
                let yc = (y + 1).min(h - 1) * w;
                for x in 0..w {
                    let s = tmp[ya + x] + tmp[y * w + x] + tmp[yc + x];
                    out[y * w + x] = ((s + 4) / 9) as u8;
                }
            }
            out
        };
        once(&once(src))
    }

    /// Otsu's threshold: returns `(t, eta)` where foreground is `v > t` and `eta` ∈ [0, 1] is the
    /// separability (between-class variance / total variance; 0 for a constant image).
    pub(super) fn otsu(v: &[u8]) -> (u8, f64) {
        let mut hist = [0u64; 256];
        for &p in v {
            hist[p as usize] += 1;
        }
        let n = v.len() as f64;
        if n == 0.0 {
            return (0, 0.0);
        }
        let sum: f64 = hist
            .iter()
            .enumerate()
            .map(|(i, &c)| i as f64 * c as f64)
            .sum();
        let mean = sum / n;
        let var: f64 = hist
            .iter()
            .enumerate()
            .map(|(i, &c)| c as f64 * (i as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        let (mut w0, mut s0) = (0.0f64, 0.0f64);
        let (mut best, mut best_t) = (-1.0f64, 0u8);
        for (t, &c) in hist.iter().enumerate().take(255) {
            w0 += c as f64;
            s0 += t as f64 * c as f64;
            let w1 = n - w0;
            if w0 == 0.0 || w1 == 0.0 {
                continue;
            }
            let m0 = s0 / w0;
            let m1 = (sum - s0) / w1;
            let between = w0 * w1 * (m0 - m1).powi(2) / (n * n);
            if between > best {
                best = between;
                best_t = t as u8;
            }
        }
        let eta = if var > 0.0 && best >= 0.0 {
            (best / var).min(1.0)
        } else {
            0.0
        };
        (best_t, eta)
    }

    /// Keeps only the largest 4-connected foreground component; returns its area (0 if none).
    pub(super) fn largest_component(mask: &mut [u8], w: usize, h: usize) -> usize {
        let mut label = vec![0u32; w * h];
        let mut stack = Vec::new();
        let (mut best_label, mut best_area, mut next) = (0u32, 0usize, 0u32);
        for start in 0..w * h {
            if mask[start] == 0 || label[start] != 0 {
                continue;
            }
            next += 1;
            let mut area = 0;
            label[start] = next;
            stack.push(start);
            while let Some(i) = stack.pop() {
                area += 1;
                let (x, y) = (i % w, i / w);
                let mut push = |j: usize| {
                    if mask[j] != 0 && label[j] == 0 {
                        label[j] = next;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    push(i - 1);
                }
                if x + 1 < w {
                    push(i + 1);
                }
                if y > 0 {
                    push(i - w);
                }
                if y + 1 < h {
                    push(i + w);
                }
            }
            if area > best_area {
                best_area = area;
                best_label = next;
            }
        }
        for (m, &l) in mask.iter_mut().zip(&label) {
            *m = u8::from(l == best_label && l != 0);
        }
        best_area
    }

    /// Fills background regions not 4-connected to the image border.
    pub(super) fn drop_components(
        mask: &mut [u8],
        marks: &[u8],
        w: usize,
        h: usize,
        drop: impl Fn(usize, usize) -> bool,
    ) {
        let mut seen = vec![false; w * h];
        for start in 0..w * h {
            if mask[start] == 0 || seen[start] {
                continue;
            }
            seen[start] = true;
            let mut comp = vec![start];
            let mut k = 0;
            while k < comp.len() {
                let i = comp[k];
                k += 1;
                let (x, y) = (i % w, i / w);
                let mut nb = Vec::new();
                if x > 0 {
                    nb.push(i - 1);
                }
                if x + 1 < w {
                    nb.push(i + 1);
                }
                if y > 0 {
                    nb.push(i - w);
                }
                if y + 1 < h {
                    nb.push(i + w);
                }
                for j in nb {
                    if mask[j] != 0 && !seen[j] {
                        seen[j] = true;
                        comp.push(j);
                    }
                }
            }
            let marked = comp.iter().filter(|&&i| marks[i] != 0).count();
            if drop(comp.len(), marked) {
                for &i in &comp {
                    mask[i] = 0;
                }
            }
        }
    }

    /// Local-contrast threshold, per pixel with a direct window sum.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn threshold_local(
        v: &[u8],
        w: usize,
        h: usize,
        t: u8,
        t_hi: u8,
        margin: f32,
        r: usize,
    ) -> Vec<u8> {
        let mut out = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let p = v[y * w + x];
                if p <= t {
                    continue;
                }
                if p > t_hi || t_hi <= t {
                    out[y * w + x] = 1;
                    continue;
                }
                let (mut s, mut n) = (0u64, 0u64);
                for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                    for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                        s += v[yy * w + xx] as u64;
                        n += 1;
                    }
                }
                out[y * w + x] = u8::from((p as f32 + margin) * n as f32 >= s as f32);
            }
        }
        out
    }

    /// Between-class variance (times the count) of the split `≤ t1 < … ≤ t2 < …`; −∞ when a
    /// class is empty.
    pub(super) fn between3(v: &[u8], t1: u8, t2: u8) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().map(|&p| p as f64).sum::<f64>() / n;
        let mut total = 0.0;
        for (a, b) in [
            (0u16, t1 as u16),
            (t1 as u16 + 1, t2 as u16),
            (t2 as u16 + 1, 255),
        ] {
            let c: Vec<f64> = v
                .iter()
                .filter(|&&p| (a..=b).contains(&(p as u16)))
                .map(|&p| p as f64)
                .collect();
            if c.is_empty() {
                return f64::NEG_INFINITY;
            }
            let m = c.iter().sum::<f64>() / c.len() as f64;
            total += c.len() as f64 * (m - mean).powi(2);
        }
        total
    }

    /// Three-class Otsu by exhaustive search over the distinct values.
    pub(super) fn otsu3(v: &[u8]) -> (u8, u8) {
        let mut vals: Vec<u8> = v.to_vec();
        vals.sort_unstable();
        vals.dedup();
        let (mut best, mut bt) = (f64::NEG_INFINITY, (0u8, 0u8));
        for &t1 in &vals {
            for &t2 in vals.iter().filter(|&&t2| t2 > t1) {
                let b = between3(v, t1, t2);
                if b > best {
                    best = b;
                    bt = (t1, t2);
                }
            }
        }
        bt
    }

    pub(super) fn fill_holes(mask: &mut [u8], w: usize, h: usize) {
        // 0 = unvisited background, 1 = foreground, 2 = background reached from the border.
        let mut state: Vec<u8> = mask.iter().map(|&m| u8::from(m != 0)).collect();
        let mut stack: Vec<usize> = Vec::new();
        let seed = |i: usize, state: &mut [u8], stack: &mut Vec<usize>| {
            if state[i] == 0 {
                state[i] = 2;
                stack.push(i);
            }
        };
        for x in 0..w {
            seed(x, &mut state, &mut stack);
            seed((h - 1) * w + x, &mut state, &mut stack);
        }
        for y in 0..h {
            seed(y * w, &mut state, &mut stack);
            seed(y * w + w - 1, &mut state, &mut stack);
        }
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            if x > 0 {
                seed(i - 1, &mut state, &mut stack);
            }
            if x + 1 < w {
                seed(i + 1, &mut state, &mut stack);
            }
            if y > 0 {
                seed(i - w, &mut state, &mut stack);
            }
            if y + 1 < h {
                seed(i + w, &mut state, &mut stack);
            }
        }
        for (m, &st) in mask.iter_mut().zip(&state) {
            *m = u8::from(st != 2);
        }
    }

    /// Chamfer (3-4) distance from every foreground pixel to the nearest background pixel (pixels
    /// outside the image count as background when `border_is_background`), in units of 1/3 px.
    pub(super) fn distance_ext(
        mask: &[u8],
        w: usize,
        h: usize,
        border_is_background: bool,
    ) -> Vec<u32> {
        const BIG: u32 = u32::MAX / 4;
        // A one-pixel frame around the image holds the border value, so the passes need no
        // bounds checks.
        let pw = w + 2;
        let border = if border_is_background { 0 } else { BIG };
        let mut d = vec![border; pw * (h + 2)];
        for y in 0..h {
            let row = &mask[y * w..(y + 1) * w];
            let drow = &mut d[(y + 1) * pw + 1..(y + 1) * pw + 1 + w];
            for (o, &m) in drow.iter_mut().zip(row) {
                *o = if m != 0 { BIG } else { 0 };
            }
        }
        for y in 1..=h {
            for x in 1..=w {
                let i = y * pw + x;
                let v = d[i];
                if v == 0 {
                    continue;
                }
                let n = (d[i - 1] + 3)
                    .min(d[i - pw] + 3)
                    .min(d[i - pw - 1] + 4)
                    .min(d[i - pw + 1] + 4);
                d[i] = v.min(n);
            }
        }
        for y in (1..=h).rev() {
            for x in (1..=w).rev() {
                let i = y * pw + x;
                let v = d[i];
                if v == 0 {
                    continue;
                }
                let n = (d[i + 1] + 3)
                    .min(d[i + pw] + 3)
                    .min(d[i + pw + 1] + 4)
                    .min(d[i + pw - 1] + 4);
                d[i] = v.min(n);
            }
        }
        let mut out = Vec::with_capacity(w * h);
        for y in 1..=h {
            out.extend_from_slice(&d[y * pw + 1..y * pw + 1 + w]);
        }
        out
    }

    /// [`distance_ext`] with the outside of the image as background.
    pub(super) fn distance(mask: &[u8], w: usize, h: usize) -> Vec<u32> {
        distance_ext(mask, w, h, true)
    }

    /// Running minimum (`erode`) or maximum (dilate) of a 0/1 mask over a window of `2r + 1`
    /// samples along rows or columns, with a sliding count (O(1) per pixel); samples outside the
    /// image are ignored.
    fn min_max_1d(
        src: &[u8],
        w: usize,
        h: usize,
        r: usize,
        along_rows: bool,
        erode: bool,
    ) -> Vec<u8> {
        let mut out = vec![0u8; w * h];
        let (len, lines, step, stride) = if along_rows {
            (w, h, 1, w)
        } else {
            (h, w, w, 1)
        };
        for line in 0..lines {
            let base = line * stride;
            let at = |k: usize| src[base + k * step] as usize;
            // Window [lo, hi] around i; `ones` counts set samples in it.
            let mut ones: usize = (0..=r.min(len - 1)).map(at).sum();
            for i in 0..len {
                let lo = i.saturating_sub(r);
                let hi = (i + r).min(len - 1);
                let n = hi - lo + 1;
                out[base + i * step] = if erode {
                    u8::from(ones == n)
                } else {
                    u8::from(ones > 0)
                };
                // Slide: add i + r + 1, drop i − r.
                if i + r + 1 < len {
                    ones += at(i + r + 1);
                }
                if i >= r {
                    ones -= at(i - r);
                }
            }
        }
        out
    }

    /// Morphological opening of a 0/1 mask with a `(2r+1)²` square: removes foreground
    /// structures thinner than `2r + 1` px (cables, pegs, thin clutter) and keeps the rest's
    /// shape. The outside of the image does not erode the mask.
    pub(super) fn open(mask: &mut [u8], w: usize, h: usize, r: f32) {
        let r = r.round() as usize;
        if r == 0 {
            return;
        }
        let e = min_max_1d(&min_max_1d(mask, w, h, r, true, true), w, h, r, false, true);
        let o = min_max_1d(&min_max_1d(&e, w, h, r, true, false), w, h, r, false, false);
        mask.copy_from_slice(&o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_separates_two_levels() {
        let mut v = vec![20u8; 100];
        v.extend(vec![200u8; 50]);
        let (t, eta) = otsu(&v);
        assert!((20..200).contains(&t));
        assert!(eta > 0.99);
        assert_eq!(otsu(&[7u8; 10]).1, 0.0);
    }

    #[test]
    fn components_holes_and_distance() {
        let (w, h) = (10, 8);
        let mut m = vec![0u8; w * h];
        // A 5×5 square with a hole, and a lone pixel.
        for y in 1..6 {
            for x in 1..6 {
                m[y * w + x] = 1;
            }
        }
        m[3 * w + 3] = 0;
        m[7 * w + 9] = 1;
        assert_eq!(largest_component(&mut m, w, h), 24);
        assert_eq!(m[7 * w + 9], 0);
        fill_holes(&mut m, w, h);
        assert_eq!(m.iter().filter(|&&v| v == 1).count(), 25);
        let d = distance(&m, w, h);
        assert_eq!(d[3 * w + 3], 9); // 3 px from the nearest background
        assert_eq!(d[w + 1], 3);
        assert_eq!(d[0], 0);
    }

    /// A random 0/1 mask: blobs of random size over sparse noise, so masks have several
    /// components, holes, thin lines and structures touching the border.
    fn random_mask(w: usize, h: usize, seed: u64, density: u8) -> Vec<u8> {
        let mut x = seed | 1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut m: Vec<u8> = (0..w * h)
            .map(|_| u8::from((rnd() % 256) < density as u64))
            .collect();
        for _ in 0..rnd() % 6 {
            let (cx, cy) = ((rnd() % w as u64) as f32, (rnd() % h as u64) as f32);
            let r = (rnd() % 20) as f32 + 1.0;
            let hole = rnd() % 3 == 0;
            for y in 0..h {
                for xx in 0..w {
                    let d = (xx as f32 - cx).hypot(y as f32 - cy);
                    if d < r {
                        m[y * w + xx] = u8::from(!(hole && d < r / 3.0));
                    }
                }
            }
        }
        m
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// The fast implementations return exactly what the simple references return.
        #[test]
        fn fast_equals_reference(w in 1usize..70, h in 1usize..60, seed: u64, density in 0u8..200,
                                 r in 0.0f32..6.0) {
            // A fifth of the masks are blobs only (no noise): small bounding boxes.
            let density = if density < 40 { 0 } else { density };
            let m = random_mask(w, h, seed, density);
            let img: Vec<u8> = m.iter().enumerate()
                .map(|(i, &v)| v.wrapping_mul(180).wrapping_add((i as u64 ^ seed) as u8 % 60))
                .collect();
            proptest::prop_assert_eq!(blur(&img, w, h), reference::blur(&img, w, h));
            proptest::prop_assert_eq!(gradient_l1(&img, w, h), reference::gradient_l1(&img, w, h));
            let (mut a, mut b) = (m.clone(), m.clone());
            dilate(&mut a, w, h, r as usize);
            reference::dilate(&mut b, w, h, r as usize);
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(otsu(&img), reference::otsu(&img));
            let (mut a, mut b) = (m.clone(), m.clone());
            open(&mut a, w, h, r);
            reference::open(&mut b, w, h, r);
            proptest::prop_assert_eq!(&a, &b);
            let (mut a, mut b) = (m.clone(), m.clone());
            proptest::prop_assert_eq!(
                largest_component(&mut a, w, h),
                reference::largest_component(&mut b, w, h)
            );
            proptest::prop_assert_eq!(&a, &b);
            let (mut a, mut b) = (m.clone(), m.clone());
            fill_holes(&mut a, w, h);
            reference::fill_holes(&mut b, w, h);
            proptest::prop_assert_eq!(&a, &b);
            for border in [true, false] {
                proptest::prop_assert_eq!(
                    distance_ext(&m, w, h, border),
                    reference::distance_ext(&m, w, h, border)
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100))]

        /// The local-contrast threshold and the component filter equal their direct references.
        #[test]
        fn local_cut_and_component_filter_equal_reference(w in 1usize..50, h in 1usize..40,
                seed: u64, density in 0u8..200, t in 0u8..200, dt in 0u8..80,
                margin in 0.0f32..30.0, r in 0usize..6, big in 0usize..60, frac in 0usize..11) {
            let m = random_mask(w, h, seed, density);
            let v: Vec<u8> = m.iter().enumerate()
                .map(|(i, &b)| b.wrapping_mul(150).wrapping_add(((i as u64).wrapping_mul(seed | 1) >> 7) as u8 % 90))
                .collect();
            let t_hi = t.saturating_add(dt);
            proptest::prop_assert_eq!(
                threshold_local(&v, w, h, t, t_hi, margin, r),
                reference::threshold_local(&v, w, h, t, t_hi, margin, r)
            );
            let marks: Vec<u8> = v.iter().map(|&p| u8::from(p > t)).collect();
            let drop = |area: usize, marked: usize| area >= big && marked * 10 >= area * frac;
            let (mut a, mut b) = (m.clone(), m.clone());
            drop_components(&mut a, &marks, w, h, drop);
            reference::drop_components(&mut b, &marks, w, h, drop);
            proptest::prop_assert_eq!(a, b);
        }
    }

    /// Three-class Otsu reaches the largest between-class variance an exhaustive search finds,
    /// and separates three well-spaced levels.
    #[test]
    fn three_class_otsu_is_optimal() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for case in 0..12 {
            let n = 40 + case * 17;
            let v: Vec<u8> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if case % 3 == 0 {
                        [20u8, 120, 220][i % 3] + (x % 7) as u8
                    } else {
                        (x % 256) as u8
                    }
                })
                .collect();
            let (t1, t2, eta) = otsu3_hist(&histogram(&v));
            let (r1, r2) = reference::otsu3(&v);
            let between = |a: u8, b: u8| reference::between3(&v, a, b);
            assert!(
                (between(t1, t2) - between(r1, r2)).abs() <= 1e-9 * between(r1, r2).max(1.0),
                "case {case}: ({t1}, {t2}) vs ({r1}, {r2})"
            );
            assert!((0.0..=1.0).contains(&eta));
            if case % 3 == 0 {
                assert!(
                    (26..120).contains(&t1) && (126..220).contains(&t2),
                    "{t1} {t2}"
                );
                assert!(eta > 0.95);
            }
        }
        assert_eq!(otsu3_hist(&histogram(&[9u8; 5])).2, 0.0);
    }

    #[test]
    fn largest_component_ties_keep_the_first_in_raster_order() {
        // Two 2-pixel components; the reference keeps the one met first.
        let (w, h) = (5, 3);
        for m in [
            vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0],
            vec![0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
            vec![1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1],
        ] {
            let (mut a, mut b) = (m.clone(), m.clone());
            assert_eq!(
                largest_component(&mut a, w, h),
                reference::largest_component(&mut b, w, h)
            );
            assert_eq!(a, b);
        }
    }

    #[test]
    fn opening_removes_thin_lines_only() {
        let (w, h) = (40, 30);
        let mut m = vec![0u8; w * h];
        for y in 5..25 {
            for x in 5..25 {
                m[y * w + x] = 1;
            }
        }
        for x in 25..40 {
            m[15 * w + x] = 1; // a 1-px "cable"
        }
        open(&mut m, w, h, 2.0);
        assert_eq!(m[15 * w + 35], 0);
        assert_eq!(m[15 * w + 15], 1);
        assert_eq!(m[6 * w + 6], 1);
    }
}

#[cfg(test)]
#[allow(unreachable_pub)]
#[path = "../../tests/common/hand.rs"]
mod test_hand;

#[cfg(test)]
mod timing {
    //! Stage timings (minimum wall time over repeated rounds, robust to machine load):
    //! `cargo test --release --lib roi::seg::timing -- --ignored --nocapture`
    //! (`OPENPALM_REALDEV` adds the real 640×480 NIR frame). Informative only, never asserted.
    use super::super::{FullHandDetector, RoiDetector, extract, find_landmarks, refine, segment};
    use super::test_hand::{HandPose, render};
    use super::*;
    use crate::roi::sample::{Channel, Small, bilinear};
    use crate::sensor::{Frame, FrameLayout, PixelFormat, Spectrum};
    use std::hint::black_box;

    /// Minimum over 40 rounds of the mean wall time per call, µs: the minimum is what the
    /// code costs when no other process interrupts it (the machine may be loaded).
    fn time<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
        (0..40)
            .map(|_| {
                let t = std::time::Instant::now();
                for _ in 0..n {
                    black_box(f());
                }
                t.elapsed().as_secs_f64() * 1e6 / n as f64
            })
            .fold(f64::INFINITY, f64::min)
    }

    fn stages(name: &str, frame: &Frame) {
        let n = 1;
        let det = FullHandDetector::default();
        let small = Small::new(frame, 400);
        let (w, h) = (small.w, small.h);
        let total = time(n, || det.detect(frame).is_ok());
        let t_small = time(n, || Small::new(frame, 400));
        let o_small = time(n, || Small::new_reference(frame, 400));
        let t_seg = time(n, || segment(&small).is_ok());
        let b = blur(&small.gray, w, h);
        let t_blur = time(n, || blur(&small.gray, w, h));
        let o_blur = time(n, || reference::blur(&small.gray, w, h));
        let t_otsu = time(n, || otsu(&b));
        let o_otsu = time(n, || reference::otsu(&b));
        let (t, _) = otsu(&b);
        let m0: Vec<u8> = b.iter().map(|&v| u8::from(v > t)).collect();
        let r = (w.max(h) as f32 * 0.008).max(1.0);
        let t_open = time(n, || {
            let mut m = m0.clone();
            open(&mut m, w, h, r);
            m
        });
        let o_open = time(n, || {
            let mut m = m0.clone();
            reference::open(&mut m, w, h, r);
            m
        });
        let mut m1 = m0.clone();
        open(&mut m1, w, h, r);
        let t_lc = time(n, || {
            let mut m = m1.clone();
            largest_component(&mut m, w, h)
        });
        let o_lc = time(n, || {
            let mut m = m1.clone();
            reference::largest_component(&mut m, w, h)
        });
        largest_component(&mut m1, w, h);
        let t_fill = time(n, || {
            let mut m = m1.clone();
            fill_holes(&mut m, w, h);
            m
        });
        let o_fill = time(n, || {
            let mut m = m1.clone();
            reference::fill_holes(&mut m, w, h);
            m
        });
        fill_holes(&mut m1, w, h);
        let hist = histogram(&b);
        let t_otsu3 = time(n, || otsu3_hist(&hist));
        let (_, t_hi, _) = otsu3_hist(&hist);
        let t_local = time(n, || threshold_local(&b, w, h, t, t_hi, 8.0, 8));
        let cut0 = threshold_local(&b, w, h, t, t_hi, 8.0, 8);
        let t_cut_open = time(n, || {
            let mut m = cut0.clone();
            open(&mut m, w, h, r);
            largest_component(&mut m, w, h);
            m
        });
        let t_drop = time(n, || {
            let mut m = m0.clone();
            drop_components(&mut m, &cut0, w, h, |a, _| a > 100);
            m
        });
        let t_dist = time(n, || distance(&m1, w, h));
        let o_dist = time(n, || reference::distance(&m1, w, h));
        print!(
            "{name} ({w}×{h} small), µs new/old: detect {total:.0} | small {t_small:.0}/{o_small:.0} \
             | segment {t_seg:.0} (blur {t_blur:.0}/{o_blur:.0}, otsu {t_otsu:.0}/{o_otsu:.0}, \
             open {t_open:.0}/{o_open:.0}, largest {t_lc:.0}/{o_lc:.0}, \
             holes {t_fill:.0}/{o_fill:.0}, distance {t_dist:.0}/{o_dist:.0}; local cut: three-class \
             otsu {t_otsu3:.0}, local threshold {t_local:.0}, cut opening + largest {t_cut_open:.0}, \
             drop {t_drop:.0})"
        );
        if let Ok(hand) = segment(&small)
            && let Ok(found) =
                find_landmarks(frame, &small, &hand, true, super::super::VALLEY_SPACING)
        {
            let t_lm = time(n, || {
                find_landmarks(frame, &small, &hand, true, super::super::VALLEY_SPACING).is_ok()
            });
            let t_ref = time(n, || refine(frame, &small, &hand, &found));
            let lm = refine(frame, &small, &hand, &found);
            let t_ext = time(n, || extract(frame, &small, &hand, lm, 128));
            let c = lm.palm_center;
            let t_bil = time(n, || {
                let mut s = 0.0;
                for i in 0..128 * 128 {
                    let (dx, dy) = ((i % 128) as f32 * 0.7, (i / 128) as f32 * 0.7);
                    s += bilinear(frame, Channel::Gray, c.x - 45.0 + dx, c.y - 45.0 + dy)
                        .unwrap_or(0.0);
                }
                s
            });
            let o_bil = time(n, || {
                let mut s = 0.0;
                for i in 0..128 * 128 {
                    let (dx, dy) = ((i % 128) as f32 * 0.7, (i / 128) as f32 * 0.7);
                    s += crate::roi::sample::bilinear_reference(
                        frame,
                        Channel::Gray,
                        c.x - 45.0 + dx,
                        c.y - 45.0 + dy,
                    )
                    .unwrap_or(0.0);
                }
                s
            });
            print!(
                " | landmarks {t_lm:.0} | refine {t_ref:.0} | extract {t_ext:.0} \
                 (128² bilinear {t_bil:.0}/{o_bil:.0})"
            );
        }
        println!();
    }

    #[test]
    #[ignore]
    fn stage_timings() {
        let pose = HandPose {
            rotation_deg: 30.0,
            textured: true,
            noise: 6.0,
            gradient: 0.2,
            center: (320.0, 480.0 * 0.55),
            ..HandPose::default_640()
        };
        let px = render(&pose).0;
        let nir = Spectrum::NearInfrared { wavelength_nm: 850 };
        let gray = Frame::from_gray8(
            image::GrayImage::from_raw(640, 480, px.clone()).unwrap(),
            nir,
        )
        .unwrap();
        stages("drawn gray 640×480", &gray);
        let bgr = Frame::from_raw(
            FrameLayout {
                stride_bytes: 640 * 3,
                ..FrameLayout::packed(640, 480, PixelFormat::Bgr8, Spectrum::Visible)
            },
            px.iter().flat_map(|&v| [v / 2, v, v]).collect(),
        )
        .unwrap();
        stages("drawn bgr 640×480", &bgr);
        let big = HandPose {
            width: 1920,
            height: 1440,
            scale_px: 180.0,
            center: (960.0, 1440.0 * 0.55),
            ..pose
        };
        let big = Frame::from_gray8(
            image::GrayImage::from_raw(1920, 1440, render(&big).0).unwrap(),
            nir,
        )
        .unwrap();
        stages("drawn gray 1920×1440", &big);
        if let Some(root) = std::env::var_os("OPENPALM_REALDEV") {
            let p = std::path::Path::new(&root).join("nir-vein/raw/1100_1.bmp");
            if let Ok(img) = image::open(&p) {
                stages(
                    "real nir 640×480",
                    &Frame::from_gray8(img.into_luma8(), nir).unwrap(),
                );
            }
        }
    }
}
