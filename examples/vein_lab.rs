//! Vein- and crease-code diagnostics on synthetic captures: caches the detected and the
//! ground-truth NIR (or visible) ROIs once, then measures extractor variants on the cache and
//! lists the mated pairs rejected at the EER threshold with their captures' ROI error and blur.
//!
//! `cargo run --release --features synth --example vein_lab -- cache FILE [--subjects 200] [--samples 10] [--band nir|visible]`
//! `cargo run --release --features synth --example vein_lab -- probe nir|visible idN_sK...` (landmarks)
//! `cargo run --release --features synth --example vein_lab -- eval FILE [--roi detected|truth] [--list N] [--shift S] VARIANT...`
//!
//! `--band visible` caches the visible frames' ROIs (crease codes); `--shift S` compares under a
//! ±S-cell window instead of the default ±2; `--split dev` evaluates on the development split
//! (the first half of the identities) instead, as a check on parameters tuned on the evaluation
//! split.
//!
//! Variants: `maxcurv` (the default [`MaxCurvatureVein`]), `veinbocv`, `bocv`, `compcode`, `doc`
//! ([`OrientedCodeExtractor`] presets; keys `grid`, `core`, `minresp`, `fragile`, `omega`, `kappa`, `radius`), `maxcurv:sigma=4` (any field of
//! [`MaxCurvatureVeinParams`] by `key=value`, comma-separated), `cc2` (CompCode at two scales
//! side by side, 6 planes; keys `omega1`, `radius1`, `omega2`, `radius2`). The evaluation split is the
//! second half of the identities, all pairs, as in the `accuracy` example.

use std::io::{Read, Write};

use image::GrayImage;
use openpalm::eval::ScoreSet;
use openpalm::features::{
    FeatureError, FeatureExtractor, MaxCurvatureVein, MaxCurvatureVeinParams,
    OrientedCodeExtractor, RoiImage,
};
use openpalm::matching::{ComparisonOutcome, MatchConfig, Matcher};
use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::sensor::{Frame, Spectrum};
use openpalm::synth::{CaptureOptions, Generator, Identity};
use openpalm::template::PalmTemplate;
use openpalm::template::{Algorithm, Geometry, Modality};
use rayon::prelude::*;

const SIDE: usize = 128;

struct Entry {
    identity: u64,
    sample: u64,
    /// Largest corner distance / ROI side (NaN: detection failed).
    roi_err: f32,
    defocus: f32,
    motion: f32,
    focus: f32,
    det: Option<(Vec<u8>, Vec<u8>)>,
    truth: (Vec<u8>, Vec<u8>),
}

fn cache(
    path: &str,
    subjects: u64,
    samples: u64,
    visible: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let generator = Generator::new(CaptureOptions::default())?;
    let detector = FullHandDetector::default();
    let entries: Vec<Entry> = (0..subjects * samples)
        .into_par_iter()
        .map(|n| {
            let (identity, sample) = (n / samples, n % samples);
            let cap = generator.capture(&Identity::from_seed(identity), sample);
            let img = if visible { &cap.visible } else { &cap.nir };
            let (tp, tm) =
                openpalm::eval::synthetic::ground_truth_roi(img, &cap.mask, &cap.truth.roi, SIDE);
            let spectrum = if visible {
                Spectrum::Visible
            } else {
                Spectrum::NearInfrared {
                    wavelength_nm: openpalm::synth::SYNTHETIC_NIR_WAVELENGTH_NM,
                }
            };
            let frame = Frame::from_gray8(img.clone(), spectrum).expect("synthetic frame");
            let (mut roi_err, mut focus, mut det) = (f32::NAN, f32::NAN, None);
            if let Ok(roi) = detector.detect(&frame) {
                let t = &cap.truth.roi;
                roi_err = roi
                    .corners
                    .iter()
                    .zip(t.corners)
                    .map(|(c, g)| (c.x - (g[0] - 0.5)).hypot(c.y - (g[1] - 0.5)))
                    .fold(0.0f32, f32::max)
                    / t.side_px;
                focus = roi.quality.focus;
                det = Some((roi.patch.into_raw(), roi.mask.into_raw()));
            }
            let [mx, my] = cap.truth.motion_blur_px;
            Entry {
                identity,
                sample,
                roi_err,
                defocus: cap.truth.defocus_sigma_px,
                motion: mx.hypot(my),
                focus,
                det,
                truth: (tp.into_raw(), tm.into_raw()),
            }
        })
        .collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    w.write_all(&(entries.len() as u64).to_le_bytes())?;
    w.write_all(&samples.to_le_bytes())?;
    for e in &entries {
        w.write_all(&e.identity.to_le_bytes())?;
        w.write_all(&e.sample.to_le_bytes())?;
        for v in [e.roi_err, e.defocus, e.motion, e.focus] {
            w.write_all(&v.to_le_bytes())?;
        }
        w.write_all(&[u8::from(e.det.is_some())])?;
        let zero = (vec![0u8; SIDE * SIDE], vec![0u8; SIDE * SIDE]);
        let d = e.det.as_ref().unwrap_or(&zero);
        for b in [&d.0, &d.1, &e.truth.0, &e.truth.1] {
            w.write_all(b)?;
        }
    }
    println!("cached {} captures to {path}", entries.len());
    Ok(())
}

fn load(path: &str) -> Result<(Vec<Entry>, u64), Box<dyn std::error::Error>> {
    let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut b8 = [0u8; 8];
    r.read_exact(&mut b8)?;
    let n = u64::from_le_bytes(b8);
    r.read_exact(&mut b8)?;
    let samples = u64::from_le_bytes(b8);
    let mut out = Vec::new();
    for _ in 0..n {
        r.read_exact(&mut b8)?;
        let identity = u64::from_le_bytes(b8);
        r.read_exact(&mut b8)?;
        let sample = u64::from_le_bytes(b8);
        let mut f = [0f32; 4];
        for v in &mut f {
            let mut b4 = [0u8; 4];
            r.read_exact(&mut b4)?;
            *v = f32::from_le_bytes(b4);
        }
        let mut flag = [0u8];
        r.read_exact(&mut flag)?;
        let mut bufs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..4 {
            let mut b = vec![0u8; SIDE * SIDE];
            r.read_exact(&mut b)?;
            bufs.push(b);
        }
        let tm = bufs.pop().expect("4");
        let tp = bufs.pop().expect("4");
        let dm = bufs.pop().expect("4");
        let dp = bufs.pop().expect("4");
        out.push(Entry {
            identity,
            sample,
            roi_err: f[0],
            defocus: f[1],
            motion: f[2],
            focus: f[3],
            det: (flag[0] == 1).then_some((dp, dm)),
            truth: (tp, tm),
        });
    }
    Ok((out, samples))
}

fn make(variant: &str) -> Result<Box<dyn FeatureExtractor + Send>, Box<dyn std::error::Error>> {
    let (name, args) = variant.split_once(':').unwrap_or((variant, ""));
    let kv: Vec<(&str, &str)> = args
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('=').ok_or(format!("{s}: expected key=value")))
        .collect::<Result<_, _>>()?;
    match name {
        "veinbocv" | "bocv" | "compcode" | "doc" => {
            let mut p = match name {
                "veinbocv" => OrientedCodeExtractor::vein_bocv(),
                "bocv" => OrientedCodeExtractor::bocv(),
                "compcode" => OrientedCodeExtractor::comp_code(),
                _ => OrientedCodeExtractor::double_orientation(),
            }
            .params()
            .clone();
            for (k, v) in kv {
                match k {
                    "grid" => p.grid_cells = v.parse()?,
                    "core" => p.core_radius_px = v.parse()?,
                    "minresp" => p.min_response = v.parse()?,
                    "fragile" => p.fragile_fraction = v.parse()?,
                    "omega" => p.gabor.omega_rad_per_px = v.parse()?,
                    "kappa" => p.gabor.kappa = v.parse()?,
                    "radius" => p.gabor.radius_px = v.parse()?,
                    _ => return Err(format!("unknown veinbocv key {k}").into()),
                }
            }
            Ok(Box::new(OrientedCodeExtractor::new(p)?))
        }
        "cc2" | "doc2" => {
            // Two scales of a 3-plane code side by side (6 planes; mask = both masks).
            let mut omegas = [0.2f32, 0.35];
            let mut radii = [20usize, 14];
            for (k, v) in kv {
                match k {
                    "omega1" => omegas[0] = v.parse()?,
                    "omega2" => omegas[1] = v.parse()?,
                    "radius1" => radii[0] = v.parse()?,
                    "radius2" => radii[1] = v.parse()?,
                    _ => return Err(format!("unknown {name} key {k}").into()),
                }
            }
            let parts = omegas
                .iter()
                .zip(radii)
                .map(|(&w, r)| {
                    let mut p = OrientedCodeExtractor::comp_code().params().clone();
                    p.algorithm_id = Algorithm::USER_ID_START;
                    p.gabor.omega_rad_per_px = w;
                    p.gabor.radius_px = r;
                    OrientedCodeExtractor::new(p)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Box::new(TwoScales(parts)))
        }
        "maxcurv" => {
            let mut p = MaxCurvatureVeinParams::default();
            for (k, v) in kv {
                match k {
                    "sigma" => p.sigma_px = v.parse()?,
                    "grid" => p.grid_cells = v.parse()?,
                    "border" => p.border_cells = v.parse()?,
                    "margin" => p.mask_margin_px = v.parse()?,
                    "contrast" => p.min_contrast = v.parse()?,
                    _ => return Err(format!("unknown maxcurv key {k}").into()),
                }
            }
            Ok(Box::new(MaxCurvatureVein::new(p)?))
        }
        _ => Err(format!("unknown variant {name}").into()),
    }
}

/// Two 3-plane extractors' planes side by side; a cell is valid where both are.
struct TwoScales(Vec<OrientedCodeExtractor>);

impl FeatureExtractor for TwoScales {
    fn modality(&self) -> Modality {
        Modality::Crease
    }
    fn algorithm(&self) -> Algorithm {
        Algorithm::new(Algorithm::USER_ID_START, 1, 0)
    }
    fn geometry(&self) -> Geometry {
        let g = self.0[0].geometry();
        Geometry::new(g.rows() as u16, g.cols() as u16, 6).expect("6 planes")
    }
    fn roi_side(&self) -> usize {
        self.0[0].roi_side()
    }
    fn extract_into(
        &mut self,
        roi: &RoiImage,
        code: &mut [u64],
        mask: &mut [u64],
    ) -> Result<(), FeatureError> {
        let half = code.len() / 2;
        let mut m2 = vec![0u64; mask.len()];
        let (c1, c2) = code.split_at_mut(half);
        self.0[0].extract_into(roi, c1, mask)?;
        self.0[1].extract_into(roi, c2, &mut m2)?;
        mask.iter_mut().zip(&m2).for_each(|(a, b)| *a &= b);
        Ok(())
    }
}

fn roi_of(p: &[u8], m: &[u8]) -> RoiImage {
    let pi = GrayImage::from_raw(SIDE as u32, SIDE as u32, p.to_vec()).expect("size");
    let mi = GrayImage::from_raw(SIDE as u32, SIDE as u32, m.to_vec()).expect("size");
    RoiImage::from_gray(&pi, Some(&mi)).expect("valid ROI")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, path) = (
        args.first().ok_or("need cache|eval")?,
        args.get(1).ok_or("need FILE")?,
    );
    let mut subjects = 200u64;
    let mut samples = 10u64;
    let mut truth = false;
    let mut visible = false;
    let mut list = 0usize;
    let mut shift: Option<u8> = None;
    let mut dev_split = false;
    let mut variants = Vec::new();
    let mut it = args[2..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--subjects" => subjects = it.next().ok_or("value")?.parse()?,
            "--samples" => samples = it.next().ok_or("value")?.parse()?,
            "--list" => list = it.next().ok_or("value")?.parse()?,
            "--shift" => shift = Some(it.next().ok_or("value")?.parse()?),
            "--split" => dev_split = it.next().ok_or("value")? == "dev",
            "--band" => visible = it.next().ok_or("value")? == "visible",
            "--roi" => truth = it.next().ok_or("value")? == "truth",
            v => variants.push(v.to_string()),
        }
    }
    if cmd == "cache" {
        return cache(path, subjects, samples, visible);
    }
    if cmd == "probe" {
        // `probe band id_sample...`: detected vs true landmarks of single captures.
        let generator = Generator::new(CaptureOptions::default())?;
        let detector = FullHandDetector::default();
        let band = path.as_str();
        for v in &variants {
            let (id, s) = v
                .strip_prefix("id")
                .and_then(|x| x.split_once("_s"))
                .ok_or("expected idN_sK")?;
            let cap = generator.capture(&Identity::from_seed(id.parse()?), s.parse()?);
            let (img, spectrum) = if band == "visible" {
                (&cap.visible, Spectrum::Visible)
            } else {
                (
                    &cap.nir,
                    Spectrum::NearInfrared {
                        wavelength_nm: openpalm::synth::SYNTHETIC_NIR_WAVELENGTH_NM,
                    },
                )
            };
            let t = &cap.truth;
            let tv = t
                .valleys
                .map(|[x, y]| format!("({:.0}, {:.0})", x - 0.5, y - 0.5));
            println!(
                "{v} {band}: truth side {:?} valleys {tv:?} rot {:.0}° spread {:.2} ROI side {:.0} px",
                t.side, t.rotation_deg, t.finger_spread, t.roi.side_px
            );
            match detector.detect(&Frame::from_gray8(img.clone(), spectrum)?) {
                Ok(roi) => {
                    let dv = roi
                        .landmarks
                        .valleys()
                        .map(|p| format!("({:.0}, {:.0})", p.x, p.y));
                    println!(
                        "  detected mirrored {} valleys {dv:?} ROI side {:.0} px",
                        roi.transform.mirrored,
                        roi.transform.scale() * SIDE as f32
                    );
                }
                Err(e) => println!("  detection failed: {e}"),
            }
        }
        return Ok(());
    }
    let (entries, samples) = load(path)?;
    let ids = entries.len() as u64 / samples;
    let dev = ids.div_ceil(2);
    let eval: Vec<&Entry> = entries
        .iter()
        .filter(|e| (e.identity >= dev) != dev_split)
        .collect();
    let mut mcfg = MatchConfig::default();
    if let Some(s) = shift {
        mcfg.max_shift_rows = s;
        mcfg.max_shift_cols = s;
    }
    for v in &variants {
        make(v)?;
        let t0 = std::time::Instant::now();
        let templates: Vec<Option<PalmTemplate>> = eval
            .par_iter()
            .map_init(
                || make(v).expect("checked"),
                |ex, e| {
                    let (p, m) = if truth {
                        (&e.truth.0, &e.truth.1)
                    } else {
                        let d = e.det.as_ref()?;
                        (&d.0, &d.1)
                    };
                    ex.extract(&roi_of(p, m)).ok()
                },
            )
            .collect();
        let t_ex = t0.elapsed().as_secs_f64();
        let n = eval.len();
        let rows: Vec<Vec<(usize, bool, f64)>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let Some(m) = templates[i]
                    .as_ref()
                    .and_then(|t| Matcher::new(t, &mcfg).ok())
                else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                for (j, t) in templates.iter().enumerate().skip(i + 1) {
                    let Some(t) = t else { continue };
                    if let Ok(ComparisonOutcome::Compared(c)) = m.compare(t) {
                        out.push((j, eval[i].identity == eval[j].identity, c.distance));
                    }
                }
                out
            })
            .collect();
        let (mut mated, mut nm) = (Vec::new(), Vec::new());
        for r in &rows {
            for &(_, is_m, d) in r {
                if is_m { mated.push(d) } else { nm.push(d) }
            }
        }
        let stat = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            (m, s)
        };
        let ((mm, ms), (nmm, nms)) = (stat(&mated), stat(&nm));
        let set = ScoreSet::new(mated.clone(), nm.clone())?;
        let eer = set.eer();
        let f3 = set.fnmr_at_fmr(1e-3)?;
        let f4 = set.fnmr_at_fmr(1e-4)?;
        println!(
            "{v}: EER {:.3} % (thr {:.4}); FNMR@1e-3 {:?}; FNMR@1e-4 {:?}; mated {mm:.4}±{ms:.4} ({}), non-mated {nmm:.4}±{nms:.4} ({}); FTA {}; extract {t_ex:.1} s",
            100.0 * eer.eer,
            eer.threshold,
            f3.fnmr(),
            f4.fnmr(),
            mated.len(),
            nm.len(),
            templates.iter().filter(|t| t.is_none()).count()
        );
        if list > 0 {
            let thr = eer.threshold;
            let mut fails: Vec<(f64, usize, usize)> = Vec::new();
            let mut per_capture = vec![0usize; n];
            for (i, r) in rows.iter().enumerate() {
                for &(j, is_m, d) in r {
                    if is_m && d > thr {
                        fails.push((d, i, j));
                        per_capture[i] += 1;
                        per_capture[j] += 1;
                    }
                }
            }
            fails.sort_by(|a, b| b.0.total_cmp(&a.0));
            println!("  {} mated pairs > EER threshold", fails.len());
            let desc = |e: &Entry| {
                format!(
                    "id{}_s{} roiErr {:.3} defocus {:.2} motion {:.2} focus {:.3}",
                    e.identity, e.sample, e.roi_err, e.defocus, e.motion, e.focus
                )
            };
            for &(d, i, j) in fails.iter().take(list) {
                println!("  {d:.4}  {}  |  {}", desc(eval[i]), desc(eval[j]));
            }
            let mut caps: Vec<usize> = (0..n).filter(|&i| per_capture[i] > 0).collect();
            caps.sort_by_key(|&i| std::cmp::Reverse(per_capture[i]));
            println!(
                "  captures by number of rejected mates (of {}):",
                samples - 1
            );
            for &i in caps.iter().take(list) {
                println!("    {:2}  {}", per_capture[i], desc(eval[i]));
            }
        }
    }
    Ok(())
}
