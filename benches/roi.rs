//! ROI detection speed (issue 5 target: < 3 ms per 640×480 frame on one core).
//! Run: `cargo bench --bench roi`. Frames: a drawn hand (tests/common/hand.rs) at 640×480
//! gray and as BGR, 1920×1440 and 4000×3000 (12 MP) ones (detection on a downscaled copy), and,
//! when present, the real 640×480 NIR frame `../shared/realdev/nir-vein/raw/1100_1.bmp`
//! (`OPENPALM_REALDEV` points elsewhere). Stage timings, with the previous implementations side
//! by side: `cargo test --release --lib roi::seg::timing -- --ignored --nocapture`.

#[path = "../tests/common/hand.rs"]
mod hand;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use image::GrayImage;
use openpalm::roi::{FullHandDetector, RoiDetector};
use openpalm::{Frame, FrameLayout, PixelFormat, Spectrum};

fn drawn(w: u32, h: u32, scale: f32) -> Frame {
    let pose = hand::HandPose {
        width: w,
        height: h,
        scale_px: scale,
        center: (w as f32 / 2.0, h as f32 * 0.55),
        rotation_deg: 30.0,
        textured: true,
        noise: 6.0,
        gradient: 0.2,
        ..hand::HandPose::default_640()
    };
    let (px, _) = hand::render(&pose);
    Frame::from_gray8(
        GrayImage::from_raw(w, h, px).unwrap(),
        Spectrum::NearInfrared { wavelength_nm: 850 },
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    // One core, as the target says.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let det = FullHandDetector::default();
    let gray = drawn(640, 480, 60.0);
    let (l, bytes) = gray.clone().into_raw();
    let bgr = Frame::from_raw(
        FrameLayout {
            stride_bytes: 640 * 3,
            pixel_format: PixelFormat::Bgr8,
            spectrum: Spectrum::Visible,
            ..l
        },
        bytes.iter().flat_map(|&v| [v / 2, v, v]).collect(),
    )
    .unwrap();
    let big = drawn(1920, 1440, 180.0);
    let huge = drawn(4000, 3000, 375.0);
    let mut frames = vec![
        ("drawn gray 640x480", gray),
        ("drawn bgr 640x480", bgr),
        ("drawn gray 1920x1440", big),
        ("drawn gray 4000x3000", huge),
    ];
    let nir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/realdev/nir-vein/raw/1100_1.bmp");
    let nir = std::env::var_os("OPENPALM_REALDEV")
        .map(|r| std::path::PathBuf::from(r).join("nir-vein/raw/1100_1.bmp"))
        .unwrap_or(nir);
    if let Ok(img) = image::open(&nir) {
        frames.push((
            "real nir 640x480",
            Frame::from_gray8(
                img.into_luma8(),
                Spectrum::NearInfrared { wavelength_nm: 850 },
            )
            .unwrap(),
        ));
    } else {
        println!("real NIR frame not found at {}: skipped", nir.display());
    }
    for (name, f) in &frames {
        assert!(det.detect(f).is_ok(), "{name} must be detected");
        c.bench_function(&format!("roi detect {name}"), |b| {
            pool.install(|| b.iter(|| det.detect(black_box(f)).unwrap()))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
