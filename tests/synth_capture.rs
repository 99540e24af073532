//! Image-level checks of the synthetic palm generator. Run with `--release`:
//! `cargo test --release --features synth --test synth_capture`.

use image::GrayImage;
use openpalm::synth::{Background, CaptureOptions, Dataset, Generator, GroundTruth, Identity};

fn clean_options() -> CaptureOptions {
    CaptureOptions {
        background: Background::Black,
        sleeve_probability: 0.0,
        bracelet_probability: 0.0,
        ring_probability: 0.0,
        defocus_probability: 0.0,
        motion_blur_probability: 0.0,
        ..CaptureOptions::default()
    }
}

#[test]
fn same_identity_and_sample_give_identical_pixels() {
    let opts = CaptureOptions {
        color: true,
        ..CaptureOptions::default()
    };
    let g1 = Generator::new(opts.clone()).unwrap();
    let g2 = Generator::new(opts).unwrap();
    for seed in [0u64, 7, u64::MAX] {
        let a = g1.capture(&Identity::from_seed(seed), 3);
        let b = g2.capture(&Identity::from_seed(seed), 3);
        assert_eq!(a.visible, b.visible);
        assert_eq!(a.nir, b.nir);
        assert_eq!(a.rgb, b.rgb);
        assert_eq!(a.mask, b.mask);
        assert_eq!(a.truth, b.truth);
        let c = g1.capture(&Identity::from_seed(seed), 4);
        assert_ne!(a.visible, c.visible, "another sample must differ");
    }
}

fn corr(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Principal lines come from a shared prototype: different people correlate, but less than
/// a person with themself, and more than with an unrelated line pattern (the same maps turned
/// upside down: same statistics, no shared geometry).
#[test]
fn principal_lines_correlate_across_identities_but_are_not_identical() {
    let n = 12;
    let size = 64;
    let maps: Vec<Vec<f32>> = (0..n)
        .map(|s| Identity::from_seed(500 + s).principal_line_map(size))
        .collect();
    let again = Identity::from_seed(500).principal_line_map(size);
    assert!((corr(&maps[0], &again) - 1.0).abs() < 1e-6);
    let flip = |m: &Vec<f32>| -> Vec<f32> {
        (0..size * size)
            .map(|i| m[(size - 1 - i / size) * size + i % size])
            .collect()
    };
    let (mut cross, mut unrelated, mut max_cross) = (0.0, 0.0, f32::MIN);
    let mut pairs = 0;
    for i in 0..n as usize {
        for j in 0..n as usize {
            if i != j {
                let c = corr(&maps[i], &maps[j]);
                max_cross = max_cross.max(c);
                cross += c;
                unrelated += corr(&maps[i], &flip(&maps[j]));
                pairs += 1;
            }
        }
    }
    cross /= pairs as f32;
    unrelated /= pairs as f32;
    eprintln!(
        "principal-line correlation: cross-identity {cross:.3} (max {max_cross:.3}), unrelated {unrelated:.3}"
    );
    assert!(
        max_cross < 0.95,
        "two identities share nearly the same lines: {max_cross}"
    );
    assert!(
        cross > 0.2,
        "identities do not share the population prototype: {cross}"
    );
    assert!(
        cross > unrelated + 0.15,
        "cross {cross} vs unrelated {unrelated}"
    );
}

fn mask_at(m: &GrayImage, x: f32, y: f32) -> Option<u8> {
    let (xi, yi) = (x.floor() as i64, y.floor() as i64);
    (xi >= 0 && yi >= 0 && xi < m.width() as i64 && yi < m.height() as i64)
        .then(|| m.get_pixel(xi as u32, yi as u32)[0])
}

/// Mask value at a real-valued position (pixel centres at +0.5), bilinear, 0 outside.
fn mask_bilinear(m: &GrayImage, x: f32, y: f32) -> f32 {
    let (x, y) = (x - 0.5, y - 0.5);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let g = |a: f32, b: f32| mask_at(m, a + 0.5, b + 0.5).unwrap_or(0) as f32;
    let top = g(x0, y0) * (1.0 - fx) + g(x0 + 1.0, y0) * fx;
    let bot = g(x0, y0 + 1.0) * (1.0 - fx) + g(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bot * fy
}

/// Unit vector towards the fingertips in frame pixels.
fn up(t: &GroundTruth) -> [f32; 2] {
    let r = t.rotation_deg.to_radians();
    [r.sin(), -r.cos()]
}

/// The valley landmarks sit in the gap between fingers of the *rendered* silhouette: skin just
/// palm-wards, background just finger-wards, and no background pixel of the gap lies deeper
/// (palm-wards) than the landmark nearby.
#[test]
fn valley_landmarks_sit_at_the_bottom_of_the_rendered_finger_gaps() {
    let g = Generator::new(clean_options()).unwrap();
    let mut checked = 0;
    for c in Dataset::new(&g, 0..20, 3) {
        let t = &c.truth;
        assert!(t.in_frame, "identity {} sample {}", t.identity, t.sample);
        let u = up(t);
        let side = [-u[1], u[0]];
        for (k, v) in t.valleys.iter().enumerate() {
            let out = mask_at(&c.mask, v[0] + 3.0 * u[0], v[1] + 3.0 * u[1]).unwrap();
            let inn = mask_at(&c.mask, v[0] - 3.0 * u[0], v[1] - 3.0 * u[1]).unwrap();
            assert!(
                out < 40,
                "id {} s {} valley {k}: finger-wards mask {out}",
                t.identity,
                t.sample
            );
            assert!(
                inn > 215,
                "id {} s {} valley {k}: palm-wards mask {inn}",
                t.identity,
                t.sample
            );
            // Along lines parallel to `up`, the gap must not reach deeper than the landmark.
            let depth_of = |o: f32| -> Option<f32> {
                // Walk from 12 px palm-wards to 12 px finger-wards; first crossing of the
                // half-coverage level of the bilinearly interpolated mask, to 1/64 px.
                let at = |a: f32| {
                    mask_bilinear(
                        &c.mask,
                        v[0] + side[0] * o + u[0] * a,
                        v[1] + side[1] * o + u[1] * a,
                    )
                };
                let first = (0..=96)
                    .map(|s| -12.0 + s as f32 * 0.25)
                    .find(|&a| at(a) < 127.5)?;
                let (mut lo, mut hi) = (first - 0.25, first);
                for _ in 0..4 {
                    let m = 0.5 * (lo + hi);
                    if at(m) < 127.5 { hi = m } else { lo = m }
                }
                Some(hi)
            };
            let here = depth_of(0.0).expect("gap found");
            for o in [-4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0] {
                if let Some(d) = depth_of(o) {
                    // Tolerance: the gap's own axis may lean up to ~17° from `up`.
                    assert!(
                        d > here - (0.35 + 0.3 * f32::abs(o)),
                        "id {} s {} valley {k}: offset {o} px is {:.2} px deeper",
                        t.identity,
                        t.sample,
                        here - d
                    );
                }
            }
            // NIR agrees: background dark, palm bright.
            let nir_out = c
                .nir
                .get_pixel((v[0] + 4.0 * u[0]) as u32, (v[1] + 4.0 * u[1]) as u32)[0];
            let nir_in = c
                .nir
                .get_pixel((v[0] - 6.0 * u[0]) as u32, (v[1] - 6.0 * u[1]) as u32)[0];
            assert!(
                nir_in as i32 > nir_out as i32 + 40,
                "NIR contrast at valley {k}: {nir_in} vs {nir_out}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 180);
}

#[test]
fn roi_square_lies_inside_the_palm() {
    let g = Generator::new(CaptureOptions {
        max_rotation_deg: 180.0,
        ..clean_options()
    })
    .unwrap();
    for c in Dataset::new(&g, 100..130, 2) {
        let t = &c.truth;
        let [k1, _, k2] = t.valleys;
        let d = (k2[0] - k1[0]).hypot(k2[1] - k1[1]);
        assert!((t.roi.side_px - d).abs() < 1e-3);
        assert!(
            t.roi.side_px > 0.4 * t.palm_width_px && t.roi.side_px < 0.85 * t.palm_width_px,
            "{t:?}"
        );
        let mut outside = 0;
        for i in 0..=10 {
            for j in 0..=10 {
                let p = t.roi.at(i as f32 / 10.0, j as f32 / 10.0);
                if mask_at(&c.mask, p[0], p[1]).unwrap_or(0) < 255 {
                    outside += 1;
                }
            }
        }
        assert_eq!(
            outside, 0,
            "ROI leaves the hand: id {} sample {}",
            t.identity, t.sample
        );
    }
}

/// Bilinear 48×48 crop of the ROI, mirrored into the right-hand convention by `to_frame`.
fn roi_crop(img: &GrayImage, t: &GroundTruth) -> Vec<f32> {
    let n = 48;
    let mut out = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            let p = t
                .roi
                .at((i as f32 + 0.5) / n as f32, (j as f32 + 0.5) / n as f32);
            let (x, y) = (p[0] - 0.5, p[1] - 0.5);
            let (x0, y0) = (x.floor().max(0.0) as u32, y.floor().max(0.0) as u32);
            let (fx, fy) = (x - x0 as f32, y - y0 as f32);
            let g = |a: u32, b: u32| {
                img.get_pixel(a.min(img.width() - 1), b.min(img.height() - 1))[0] as f32
            };
            let top = g(x0, y0) * (1.0 - fx) + g(x0 + 1, y0) * fx;
            let bot = g(x0, y0 + 1) * (1.0 - fx) + g(x0 + 1, y0 + 1) * fx;
            out.push(top * (1.0 - fy) + bot * fy);
        }
    }
    // Remove the illumination gradient: subtract a 9×9 box mean.
    let mut hp = out.clone();
    for j in 0..n {
        for i in 0..n {
            let (mut s, mut c) = (0.0, 0.0);
            for b in j.saturating_sub(4)..(j + 5).min(n) {
                for a in i.saturating_sub(4)..(i + 5).min(n) {
                    s += out[b * n + a];
                    c += 1.0;
                }
            }
            hp[j * n + i] = out[j * n + i] - s / c;
        }
    }
    hp
}

/// End to end: ROI crops taken with the ground truth align the same palm across captures
/// (mated pairs correlate more than non-mated ones) in both spectra.
#[test]
fn ground_truth_roi_crops_of_the_same_palm_agree() {
    let g = Generator::new(CaptureOptions {
        max_stretch: 0.0,
        ..clean_options()
    })
    .unwrap();
    let caps: Vec<_> = Dataset::new(&g, 40..46, 3).collect();
    for nir in [false, true] {
        let crops: Vec<Vec<f32>> = caps
            .iter()
            .map(|c| roi_crop(if nir { &c.nir } else { &c.visible }, &c.truth))
            .collect();
        let (mut mated, mut nm, mut nmated, mut nnm) = (0.0, 0.0, 0, 0);
        for i in 0..caps.len() {
            for j in i + 1..caps.len() {
                let c = corr(&crops[i], &crops[j]);
                if caps[i].truth.identity == caps[j].truth.identity {
                    mated += c;
                    nmated += 1;
                } else {
                    nm += c;
                    nnm += 1;
                }
            }
        }
        let (mated, nm) = (mated / nmated as f32, nm / nnm as f32);
        eprintln!(
            "ROI crop correlation ({}): mated {mated:.3}, non-mated {nm:.3}",
            if nir { "NIR" } else { "visible" }
        );
        assert!(mated > nm + 0.1, "mated {mated} vs non-mated {nm}");
    }
}

#[test]
fn scene_options_render() {
    let opts = CaptureOptions {
        color: true,
        contact_pegs: true,
        ring_probability: 1.0,
        bracelet_probability: 1.0,
        sleeve_probability: 1.0,
        forearm: false,
        max_rotation_deg: 180.0,
        ..CaptureOptions::default()
    };
    let g = Generator::new(opts).unwrap();
    let c = g.capture(&Identity::from_seed(9), 1);
    let a = c.truth.accessories;
    assert!(a.ring && a.bracelet && a.sleeve && a.pegs);
    let rgb = c.rgb.expect("colour requested");
    assert_eq!(rgb.dimensions(), c.visible.dimensions());
    // Skin is redder than it is blue in every skin tone.
    let (mut r, mut b, mut n) = (0u64, 0u64, 0u64);
    for (p, m) in rgb.pixels().zip(c.mask.pixels()) {
        if m[0] == 255 {
            r += p[0] as u64;
            b += p[2] as u64;
            n += 1;
        }
    }
    assert!(
        n > 10_000 && r > b,
        "skin pixels {n}, mean r {} b {}",
        r / n.max(1),
        b / n.max(1)
    );
}

#[test]
fn invalid_options_are_rejected() {
    let e = Generator::new(CaptureOptions {
        width_px: 100_000,
        gamma: [2.0, 1.0],
        ..CaptureOptions::default()
    })
    .unwrap_err();
    assert_eq!(e.issues.len(), 2);
    assert_eq!(e.issues[0].field, "synth.width_px");
    assert_eq!(e.issues[1].field, "synth.gamma");
}

/// The gap's own axis near a valley, measured on the rendered mask: the midpoints of the
/// background run across the gap 5 and 10 px finger-wards of the valley (scanning across `up`).
fn gap_axis(mask: &GrayImage, v: [f32; 2], u: [f32; 2]) -> Option<[f32; 2]> {
    let side = [-u[1], u[0]];
    let centre = |a: f32, near: f32| -> Option<f32> {
        let bg = |o: f32| {
            mask_bilinear(
                mask,
                v[0] + u[0] * a + side[0] * o,
                v[1] + u[1] * a + side[1] * o,
            ) < 127.5
        };
        // The background run nearest to `near`.
        let start = (0..=80)
            .map(|k| k as f32 * 0.25)
            .flat_map(|d| [near + d, near - d])
            .find(|&o| bg(o))?;
        let (mut lo, mut hi) = (start, start);
        while bg(lo - 0.125) && lo > start - 20.0 {
            lo -= 0.125;
        }
        while bg(hi + 0.125) && hi < start + 20.0 {
            hi += 0.125;
        }
        Some(0.5 * (lo + hi))
    };
    let c5 = centre(5.0, 0.0)?;
    let c10 = centre(10.0, c5)?;
    let p5 = [
        v[0] + u[0] * 5.0 + side[0] * c5,
        v[1] + u[1] * 5.0 + side[1] * c5,
    ];
    let p10 = [
        v[0] + u[0] * 10.0 + side[0] * c10,
        v[1] + u[1] * 10.0 + side[1] * c10,
    ];
    let (dx, dy) = (p10[0] - p5[0], p10[1] - p5[1]);
    let n = dx.hypot(dy);
    Some([dx / n, dy / n])
}

/// Ground truth follows the pose: for finger spreads from the narrowest to the widest allowed
/// and any in-plane rotation, each drawn valley landmark is on the silhouette at the bottom of
/// its gap — background finger-wards along the gap's own axis (measured on the rendered mask),
/// skin palm-wards, half coverage at the point — and no line parallel to the gap axis within
/// ±4 px reaches deeper into the palm; the ROI square is rebuilt from the moved valleys and stays
/// on the palm.
#[test]
fn valley_landmarks_follow_finger_spread_and_rotation() {
    let mut checked = 0;
    let mut worst_deeper = 0.0f32;
    for spread in [0.5f32, 0.8, 1.2, 1.6, 2.0] {
        let g = Generator::new(CaptureOptions {
            finger_spread: [spread, spread],
            max_rotation_deg: 180.0,
            ..clean_options()
        })
        .unwrap();
        for c in Dataset::new(&g, 40..46, 2) {
            let t = &c.truth;
            let who = format!(
                "spread {spread} id {} s {} rot {:.0}°",
                t.identity, t.sample, t.rotation_deg
            );
            assert_eq!(t.finger_spread, spread, "{who}");
            if !t.in_frame {
                continue;
            }
            let [k1, _, k2] = t.valleys;
            assert!((t.roi.side_px - (k2[0] - k1[0]).hypot(k2[1] - k1[1])).abs() < 1e-3);
            for i in 0..=4 {
                for j in 0..=4 {
                    let p = t.roi.at(i as f32 / 4.0, j as f32 / 4.0);
                    assert_eq!(
                        mask_at(&c.mask, p[0], p[1]),
                        Some(255),
                        "{who}: ROI off the palm"
                    );
                }
            }
            for (k, v) in t.valleys.iter().enumerate() {
                let here_mask = mask_bilinear(&c.mask, v[0], v[1]);
                assert!(
                    (40.0..=215.0).contains(&here_mask),
                    "{who} valley {k}: coverage {here_mask} at the landmark (not on the silhouette)"
                );
                // The axis the landmark is defined on (bisector of the finger axes), checked
                // against the gap's centre line measured on the mask 5–10 px finger-wards: a
                // gross-error check only, since the centre line of a gap between fingers of
                // different widths leans from the axis bisector (up to 12° measured here).
                let a = t.valley_axes[k];
                let m = gap_axis(&c.mask, *v, up(t))
                    .unwrap_or_else(|| panic!("{who} valley {k}: no gap finger-wards"));
                let angle = (a[0] * m[1] - a[1] * m[0]).asin().to_degrees();
                assert!(
                    angle.abs() < 20.0,
                    "{who} valley {k}: gap axis {angle:.1}° from the truth's"
                );
                let out = mask_bilinear(&c.mask, v[0] + 3.0 * a[0], v[1] + 3.0 * a[1]);
                let inn = mask_bilinear(&c.mask, v[0] - 3.0 * a[0], v[1] - 3.0 * a[1]);
                assert!(out < 64.0, "{who} valley {k}: finger-wards coverage {out}");
                assert!(inn > 230.0, "{who} valley {k}: palm-wards coverage {inn}");
                let side = [-a[1], a[0]];
                let depth_of = |o: f32| -> Option<f32> {
                    let at = |s: f32| {
                        mask_bilinear(
                            &c.mask,
                            v[0] + side[0] * o + a[0] * s,
                            v[1] + side[1] * o + a[1] * s,
                        )
                    };
                    let first = (0..=96)
                        .map(|s| -12.0 + s as f32 * 0.25)
                        .find(|&s| at(s) < 127.5)?;
                    let (mut lo, mut hi) = (first - 0.25, first);
                    for _ in 0..6 {
                        let m = 0.5 * (lo + hi);
                        if at(m) < 127.5 { hi = m } else { lo = m }
                    }
                    Some(hi)
                };
                let here = depth_of(0.0).expect("gap found");
                if std::env::var_os("VALLEY_DEBUG").is_some() {
                    let u = up(t);
                    let prof: Vec<String> = (-8..=8)
                        .map(|o| {
                            format!("{:.2}", depth_of(o as f32).map_or(f32::NAN, |d| d - here))
                        })
                        .collect();
                    eprintln!(
                        "{who} valley {k}: axis vs up {:.1}°, vs mask {angle:.1}°, depth profile -8..8 px: {}",
                        (a[0] * u[1] - a[1] * u[0]).asin().to_degrees(),
                        prof.join(" ")
                    );
                }
                for o in [-4.0f32, -3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0, 4.0] {
                    if let Some(d) = depth_of(o) {
                        worst_deeper = worst_deeper.max(here - d);
                        // Along the truth's own axis it must be the deepest point, to what
                        // the 8-bit anti-aliased mask resolves: the half-level contour of its
                        // bilinear interpolation follows a curved silhouette to about 0.1 px.
                        assert!(
                            d > here - 0.15,
                            "{who} valley {k}: {o} px beside it the gap is {:.2} px deeper",
                            here - d
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    eprintln!("{checked} valleys checked; deepest neighbour {worst_deeper:.3} px deeper");
    assert!(checked >= 150, "{checked}");
}
