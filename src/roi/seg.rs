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
    let mut outside = vec![false; w * h];
    let mut stack = Vec::new();
    for x in 0..w {
        stack.push(x);
        stack.push((h - 1) * w + x);
    }
    for y in 0..h {
        stack.push(y * w);
        stack.push(y * w + w - 1);
    }
    while let Some(i) = stack.pop() {
        if mask[i] != 0 || outside[i] {
            continue;
        }
        outside[i] = true;
        let (x, y) = (i % w, i / w);
        if x > 0 {
            stack.push(i - 1);
        }
        if x + 1 < w {
            stack.push(i + 1);
        }
        if y > 0 {
            stack.push(i - w);
        }
        if y + 1 < h {
            stack.push(i + w);
        }
    }
    for (m, &o) in mask.iter_mut().zip(&outside) {
        if !o {
            *m = 1;
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
    let mut d: Vec<u32> = mask.iter().map(|&m| if m != 0 { BIG } else { 0 }).collect();
    let at = |d: &[u32], x: isize, y: isize| -> u32 {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            if border_is_background { 0 } else { BIG }
        } else {
            d[y as usize * w + x as usize]
        }
    };
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = y as usize * w + x as usize;
            if d[i] == 0 {
                continue;
            }
            let v = (at(&d, x - 1, y) + 3)
                .min(at(&d, x, y - 1) + 3)
                .min(at(&d, x - 1, y - 1) + 4)
                .min(at(&d, x + 1, y - 1) + 4);
            d[i] = d[i].min(v);
        }
    }
    for y in (0..h as isize).rev() {
        for x in (0..w as isize).rev() {
            let i = y as usize * w + x as usize;
            if d[i] == 0 {
                continue;
            }
            let v = (at(&d, x + 1, y) + 3)
                .min(at(&d, x, y + 1) + 3)
                .min(at(&d, x + 1, y + 1) + 4)
                .min(at(&d, x - 1, y + 1) + 4);
            d[i] = d[i].min(v);
        }
    }
    d
}

/// [`distance_ext`] with the outside of the image as background.
pub(crate) fn distance(mask: &[u8], w: usize, h: usize) -> Vec<u32> {
    distance_ext(mask, w, h, true)
}

/// Morphological opening with a disc of radius `r` px (chamfer metric): removes foreground
/// structures thinner than `2r` (cables, pegs, thin clutter) and keeps the rest's shape.
pub(crate) fn open(mask: &mut [u8], w: usize, h: usize, r: f32) {
    if r < 0.5 {
        return;
    }
    let r3 = (r * 3.0).round() as u32;
    let d = distance(mask, w, h);
    let core: Vec<u8> = d.iter().map(|&v| u8::from(v > r3)).collect();
    // Distance from every pixel to the core: complement's distance transform.
    let inv: Vec<u8> = core.iter().map(|&c| 1 - c).collect();
    let dc = distance_ext(&inv, w, h, false);
    for ((m, &c), &dv) in mask.iter_mut().zip(&core).zip(&dc) {
        *m = u8::from(c == 1 || (*m != 0 && dv <= r3));
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
