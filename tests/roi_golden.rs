//! Golden outputs of the default ROI detector: pins, bit for bit, the hand mask
//! ([`FullHandDetector::hand_mask`]) and the whole detection result (landmarks, transform,
//! corners, patch, validity mask, quality report, or the error) on a fixed set of frames, so
//! that speed work on segmentation and sampling cannot change what the detector returns.
//!
//! Frames: drawn hands (`tests/common/hand.rs`) at many poses, in every pixel format
//! (Gray8, Gray16, Rgb8, Bgr8, Rgba8, Bgra8, padded strides), visible and NIR, at sizes whose
//! downscale factor is 1, 2 (with partial edge blocks), 3 and 5; degenerate frames (their
//! errors are pinned); `openpalm::synth` captures when the `synth` feature is on; and the real
//! development frames in `../shared/realdev/` (or `$OPENPALM_REALDEV`) when present — read in
//! place. Entries whose frames are unavailable are skipped with a printed note.
//!
//! The golden values live in `testdata/roi/golden.txt` (`name mask=<hash> roi=<hash>`, FNV-1a
//! 64 of the mask bytes and of the result's bytes and float bits). When the detector's output
//! changes **on purpose** (new landmark logic), regenerate them and say so in the commit:
//! `OPENPALM_BLESS=1 OPENPALM_REALDEV=/path/to/realdev cargo test --release --features synth
//! --test roi_golden` (blessing keeps entries this run could not compute).
//! Run: `cargo test --release --test roi_golden -- --nocapture`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::hand::{HandPose, random_pose, render};
use image::GrayImage;
use openpalm::roi::FullHandDetector;
use openpalm::sensor::ImageFileSensor;
use openpalm::{Frame, FrameLayout, PixelFormat, Spectrum};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/roi/golden.txt");

/// FNV-1a, 64 bit.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn f32(&mut self, v: f32) {
        self.bytes(&v.to_bits().to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
}

fn hashes(det: &FullHandDetector, frame: &Frame) -> (u64, u64) {
    let mut m = Fnv::new();
    match det.hand_mask(frame) {
        Ok((mask, f)) => {
            m.bytes(&mask.width().to_le_bytes());
            m.bytes(&mask.height().to_le_bytes());
            m.bytes(&f.to_le_bytes());
            m.bytes(mask.as_raw());
        }
        Err(e) => m.str(&format!("{e:?}")),
    }
    let mut r = Fnv::new();
    match det.detect_unchecked(frame) {
        Ok(roi) => {
            let lm = roi.landmarks;
            for p in lm.valleys().iter().chain([&lm.palm_center]) {
                r.f32(p.x);
                r.f32(p.y);
            }
            r.f32(lm.palm_radius_px);
            let s = roi.transform.similarity;
            r.f32(s.isometry.translation.x);
            r.f32(s.isometry.translation.y);
            r.f32(s.isometry.rotation.re);
            r.f32(s.isometry.rotation.im);
            r.f32(s.scaling());
            r.bytes(&[u8::from(roi.transform.mirrored)]);
            for c in roi.corners {
                r.f32(c.x);
                r.f32(c.y);
            }
            r.bytes(roi.patch.as_raw());
            r.bytes(roi.mask.as_raw());
            // Debug prints each f32 as its shortest round-trip form: exact.
            r.str(&format!("{:?}", roi.quality));
        }
        Err(e) => r.str(&format!("{e:?}")),
    }
    (m.0, r.0)
}

fn gray8(px: Vec<u8>, w: u32, h: u32, spectrum: Spectrum) -> Frame {
    Frame::from_gray8(GrayImage::from_raw(w, h, px).unwrap(), spectrum).unwrap()
}

/// Packs per-pixel samples into a frame of `fmt` with `pad` bytes of padding per row.
fn packed(
    w: u32,
    h: u32,
    fmt: PixelFormat,
    spectrum: Spectrum,
    pad: usize,
    pixel: impl Fn(usize) -> Vec<u8>,
) -> Frame {
    let bpp = fmt.bytes_per_pixel();
    let stride = w as usize * bpp + pad;
    let mut data = vec![0xA5u8; stride * h as usize];
    for y in 0..h as usize {
        for x in 0..w as usize {
            let p = pixel(y * w as usize + x);
            data[y * stride + x * bpp..y * stride + (x + 1) * bpp].copy_from_slice(&p);
        }
    }
    let layout = FrameLayout {
        stride_bytes: stride,
        ..FrameLayout::packed(w, h, fmt, spectrum)
    };
    Frame::from_raw(layout, data).unwrap()
}

const NIR: Spectrum = Spectrum::NearInfrared { wavelength_nm: 850 };

/// The drawn and degenerate frames (always available).
fn drawn_frames() -> Vec<(String, Frame)> {
    let mut out = Vec::new();
    for seed in 1..=8u64 {
        let pose = random_pose(seed, 640, 480);
        out.push((
            format!("drawn/nir-gray8-640x480-{seed}"),
            gray8(render(&pose).0, 640, 480, NIR),
        ));
    }
    for seed in 9..=11u64 {
        let pose = random_pose(seed, 640, 480);
        out.push((
            format!("drawn/vis-gray8-640x480-{seed}"),
            gray8(render(&pose).0, 640, 480, Spectrum::Visible),
        ));
    }
    // Colour: a reddish hand (the bench's mapping and a skin-like one) in every colour layout.
    let colour: [(&str, PixelFormat, usize, Spectrum); 5] = [
        ("vis-bgr8", PixelFormat::Bgr8, 0, Spectrum::Visible),
        ("vis-rgb8-pad", PixelFormat::Rgb8, 5, Spectrum::Visible),
        ("vis-rgba8", PixelFormat::Rgba8, 0, Spectrum::Visible),
        ("vis-bgra8-pad", PixelFormat::Bgra8, 3, Spectrum::Visible),
        ("nir-rgb8", PixelFormat::Rgb8, 0, NIR),
    ];
    for (k, (name, fmt, pad, spectrum)) in colour.into_iter().enumerate() {
        let seed = 12 + k as u64;
        let pose = random_pose(seed, 640, 480);
        let px = render(&pose).0;
        let frame = packed(640, 480, fmt, spectrum, pad, |i| {
            let v = px[i];
            let (r, g, b) = if k % 2 == 0 {
                (v, v, v / 2)
            } else {
                (
                    v,
                    (v as u32 * 3 / 4) as u8,
                    (v as u32 * 3 / 5 + 20).min(255) as u8,
                )
            };
            match fmt {
                PixelFormat::Rgb8 => vec![r, g, b],
                PixelFormat::Bgr8 => vec![b, g, r],
                PixelFormat::Rgba8 => vec![r, g, b, 255],
                _ => vec![b, g, r, 7],
            }
        });
        out.push((format!("drawn/{name}-640x480-{seed}"), frame));
    }
    {
        let pose = random_pose(17, 640, 480);
        let px = render(&pose).0;
        let frame = packed(640, 480, PixelFormat::Gray16, NIR, 2, |i| {
            let v = px[i] as u16 * 257 + (i as u16 % 200);
            v.to_le_bytes().to_vec()
        });
        out.push(("drawn/nir-gray16-pad-640x480-17".into(), frame));
    }
    // Other sizes: downscale factors 1, 2 with partial edge blocks, 3 and 5.
    for (seed, w, h) in [
        (18u64, 320u32, 240u32),
        (19, 641, 479),
        (20, 1000, 750),
        (21, 1920, 1440),
    ] {
        let pose = random_pose(seed, w, h);
        out.push((
            format!("drawn/nir-gray8-{w}x{h}-{seed}"),
            gray8(render(&pose).0, w, h, NIR),
        ));
    }
    {
        // The bench's frame.
        let pose = HandPose {
            rotation_deg: 30.0,
            textured: true,
            noise: 6.0,
            gradient: 0.2,
            center: (320.0, 480.0 * 0.55),
            ..HandPose::default_640()
        };
        out.push((
            "drawn/bench-640x480".into(),
            gray8(render(&pose).0, 640, 480, NIR),
        ));
    }
    // Degenerate frames: their errors are pinned too.
    let noise = |i: usize| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8;
    out.push((
        "degenerate/black".into(),
        gray8(vec![0; 640 * 480], 640, 480, Spectrum::Visible),
    ));
    out.push((
        "degenerate/noise".into(),
        gray8((0..640 * 480).map(noise).collect(), 640, 480, NIR),
    ));
    out.push((
        "degenerate/half".into(),
        gray8(
            (0..640 * 480)
                .map(|i| if i % 640 < 320 { 10 } else { 240 })
                .collect(),
            640,
            480,
            NIR,
        ),
    ));
    out.push((
        "degenerate/1x1".into(),
        gray8(vec![9], 1, 1, Spectrum::Visible),
    ));
    out
}

#[cfg(feature = "synth")]
fn synth_frames() -> Vec<(String, Frame)> {
    use openpalm::synth::{CaptureOptions, Dataset, Generator};
    let g = Generator::new(CaptureOptions {
        max_rotation_deg: 180.0,
        color: true,
        ..CaptureOptions::default()
    })
    .unwrap();
    let mut out = Vec::new();
    for (k, cap) in Dataset::new(&g, 0..3, 2).enumerate() {
        out.push((
            format!("synth/nir-{k}"),
            Frame::from_gray8(cap.nir, NIR).unwrap(),
        ));
        out.push((
            format!("synth/vis-{k}"),
            Frame::from_gray8(cap.visible, Spectrum::Visible).unwrap(),
        ));
        out.push((
            format!("synth/rgb-{k}"),
            Frame::from_rgb8(cap.rgb.unwrap(), Spectrum::Visible).unwrap(),
        ));
    }
    out
}

#[cfg(not(feature = "synth"))]
fn synth_frames() -> Vec<(String, Frame)> {
    println!("synth entries skipped: build with --features synth");
    Vec::new()
}

fn realdev_frames() -> Vec<(String, Frame)> {
    let root = std::env::var_os("OPENPALM_REALDEV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdev"))
        });
    if !root.is_dir() {
        println!("realdev entries skipped: {} not found", root.display());
        return Vec::new();
    }
    let mut out = Vec::new();
    for (dir, spectrum) in [
        ("phone-rgb/tommy", Spectrum::Visible),
        ("phone-rgb/eddy", Spectrum::Visible),
        ("nir-vein/raw", NIR),
    ] {
        let Ok(mut s) = ImageFileSensor::from_dir(root.join(dir), spectrum) else {
            println!("realdev/{dir} skipped: not readable");
            continue;
        };
        while s.remaining() > 0 {
            let (path, frame) = s.next_frame().unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((format!("realdev/{dir}/{name}"), frame));
        }
    }
    out
}

fn read_golden() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, rest) = l.split_once(' ').expect("`name mask=… roi=…`");
            (name.to_string(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn detector_output_matches_the_golden_hashes() {
    let det = FullHandDetector::default();
    let mut golden = read_golden();
    let bless = std::env::var_os("OPENPALM_BLESS").is_some();
    let mut frames = drawn_frames();
    frames.extend(synth_frames());
    frames.extend(realdev_frames());
    let mut mismatches = Vec::new();
    for (name, frame) in &frames {
        let (m, r) = hashes(&det, frame);
        let got = format!("mask={m:016x} roi={r:016x}");
        match golden.get(name) {
            Some(want) if *want == got => {}
            Some(want) => mismatches.push(format!("{name}: want {want}, got {got}")),
            None => mismatches.push(format!("{name}: no golden entry, got {got}")),
        }
        if bless {
            golden.insert(name.clone(), got);
        }
    }
    println!("{} frames compared", frames.len());
    if bless {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        let mut text = String::from(
            "# Golden ROI detector outputs (tests/roi_golden.rs): name mask=<FNV-1a 64> roi=<FNV-1a 64>\n",
        );
        for (k, v) in &golden {
            text.push_str(&format!("{k} {v}\n"));
        }
        std::fs::write(GOLDEN, text).unwrap();
        println!("blessed {GOLDEN}: {} changed", mismatches.len());
        return;
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} frames differ from {GOLDEN}:\n{}",
        mismatches.len(),
        frames.len(),
        mismatches.join("\n")
    );
}
