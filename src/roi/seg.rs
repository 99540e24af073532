//! Binary image operations on the downscaled frame: blur, Otsu, components, holes, distance.

/// 3×3 box blur applied twice (≈ Gaussian σ ≈ 1.15 px), edges replicated.
pub(crate) fn blur(src: &[u8], w: usize, h: usize) -> Vec<u8> {
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
pub(crate) fn otsu(v: &[u8]) -> (u8, f64) {
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
pub(crate) fn largest_component(mask: &mut [u8], w: usize, h: usize) -> usize {
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
pub(crate) fn fill_holes(mask: &mut [u8], w: usize, h: usize) {
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
pub(crate) fn distance_ext(
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
pub(crate) fn distance(mask: &[u8], w: usize, h: usize) -> Vec<u32> {
    distance_ext(mask, w, h, true)
}

/// Running minimum (`erode`) or maximum (dilate) of a 0/1 mask over a window of `2r + 1`
/// samples along rows or columns, with a sliding count (O(1) per pixel); samples outside the
/// image are ignored.
fn min_max_1d(src: &[u8], w: usize, h: usize, r: usize, along_rows: bool, erode: bool) -> Vec<u8> {
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
pub(crate) fn open(mask: &mut [u8], w: usize, h: usize, r: f32) {
    let r = r.round() as usize;
    if r == 0 {
        return;
    }
    let e = min_max_1d(&min_max_1d(mask, w, h, r, true, true), w, h, r, false, true);
    let o = min_max_1d(&min_max_1d(&e, w, h, r, true, false), w, h, r, false, false);
    mask.copy_from_slice(&o);
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
