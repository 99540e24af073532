//! [`ImageFileSensor`]: frames from image files.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader};

use super::{Frame, FrameLayout, FrameLimits, PalmSensor, SensorError, SensorInfo, Spectrum};

/// File extensions [`ImageFileSensor::from_dir`] picks up (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "bmp", "jpg", "jpeg", "tif", "tiff"];

/// A sensor that plays back image files, one frame per file, in order.
///
/// Files are decoded with `image`, with `image::Limits` derived from [`FrameLimits`] and the
/// header's dimensions checked against the limits *before* any pixel buffer is allocated, so a
/// hostile file (a PNG header claiming 100 000 × 100 000 px) fails with
/// [`FrameError::TooWide`](super::FrameError::TooWide) and never over-allocates.
///
/// Pixel formats: 8-bit gray → Gray8, 16-bit gray → Gray16, 8-bit RGB → Rgb8, RGBA → Rgba8
/// (see [`Frame::from_dynamic`] for the rest). Files carry no spectrum, so the caller states
/// it: a folder of NIR captures is opened with `Spectrum::NearInfrared { wavelength_nm: 850 }`.
#[derive(Debug)]
pub struct ImageFileSensor {
    paths: Vec<PathBuf>,
    next: usize,
    spectrum: Spectrum,
    limits: FrameLimits,
    name: String,
    pending: Option<(PathBuf, Frame)>,
}

impl ImageFileSensor {
    /// Plays back `paths` in the given order.
    pub fn from_paths<P: Into<PathBuf>>(
        paths: impl IntoIterator<Item = P>,
        spectrum: Spectrum,
    ) -> ImageFileSensor {
        ImageFileSensor {
            paths: paths.into_iter().map(Into::into).collect(),
            next: 0,
            spectrum,
            limits: FrameLimits::default(),
            name: "image files".into(),
            pending: None,
        }
    }

    /// Plays back every file in `dir` (not recursive) with one of [`IMAGE_EXTENSIONS`],
    /// sorted by file name. An empty directory is [`SensorError::NoImages`].
    pub fn from_dir(
        dir: impl AsRef<Path>,
        spectrum: Spectrum,
    ) -> Result<ImageFileSensor, SensorError> {
        let dir = dir.as_ref();
        let io = |source| SensorError::Io {
            path: Some(dir.to_path_buf()),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let ext_ok = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
            if ext_ok && path.is_file() {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(SensorError::NoImages {
                path: dir.to_path_buf(),
            });
        }
        paths.sort();
        let mut s = ImageFileSensor::from_paths(paths, spectrum);
        s.name = dir.display().to_string();
        Ok(s)
    }

    /// Replaces the frame limits (default: [`FrameLimits::default`]).
    pub fn with_limits(mut self, limits: FrameLimits) -> ImageFileSensor {
        self.limits = limits;
        self
    }

    /// The files, in playback order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Files not yet delivered (a decoded but unread frame counts as not delivered).
    pub fn remaining(&self) -> usize {
        self.paths.len() - self.next + usize::from(self.pending.is_some())
    }

    /// Decodes the next file and returns it with its path; the usual way to iterate with
    /// provenance. [`SensorError::Exhausted`] at the end.
    pub fn next_frame(&mut self) -> Result<(PathBuf, Frame), SensorError> {
        self.fill_pending()?;
        Ok(self.pending.take().expect("filled above"))
    }

    fn fill_pending(&mut self) -> Result<(), SensorError> {
        if self.pending.is_some() {
            return Ok(());
        }
        let Some(path) = self.paths.get(self.next).cloned() else {
            return Err(SensorError::Exhausted);
        };
        // Advance even when decoding fails, so one bad file does not wedge playback.
        self.next += 1;
        let frame = decode_file(&path, self.spectrum, &self.limits)?;
        self.pending = Some((path, frame));
        Ok(())
    }
}

/// Decodes one file under `limits`.
pub(crate) fn decode_file(
    path: &Path,
    spectrum: Spectrum,
    limits: &FrameLimits,
) -> Result<Frame, SensorError> {
    let file = std::fs::File::open(path).map_err(|source| SensorError::Io {
        path: Some(path.to_path_buf()),
        source,
    })?;
    let decode = |source| SensorError::Decode {
        path: path.to_path_buf(),
        source,
    };
    let frame_err = |source| SensorError::Frame {
        path: Some(path.to_path_buf()),
        source,
    };
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|source| SensorError::Io {
            path: Some(path.to_path_buf()),
            source,
        })?;
    let mut il = image::Limits::default();
    il.max_image_width = Some(limits.max_width);
    il.max_image_height = Some(limits.max_height);
    // Decoders need the output buffer plus some working memory.
    il.max_alloc = Some(limits.max_bytes.saturating_mul(2));
    reader.limits(il);
    let decoder = reader.into_decoder().map_err(decode)?;
    let (w, h) = decoder.dimensions();
    // Check the header against our typed limits before the pixel buffer exists.
    let bpp = u64::from(decoder.color_type().bytes_per_pixel());
    let header = FrameLayout {
        stride_bytes: (w as usize).saturating_mul(bpp as usize),
        ..FrameLayout::packed(w, h, super::PixelFormat::Gray8, spectrum)
    };
    header.validate(limits).map_err(frame_err)?;
    let img = DynamicImage::from_decoder(decoder).map_err(decode)?;
    let frame = Frame::from_dynamic(img, spectrum).map_err(frame_err)?;
    frame.check_limits(limits).map_err(frame_err)?;
    Ok(frame)
}

impl PalmSensor for ImageFileSensor {
    fn info(&self) -> SensorInfo {
        SensorInfo {
            name: self.name.clone(),
            model: "image files".into(),
            spectra: vec![self.spectrum],
        }
    }

    fn frame_layout(&mut self) -> Result<FrameLayout, SensorError> {
        self.fill_pending()?;
        Ok(*self.pending.as_ref().expect("filled above").1.layout())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError> {
        self.fill_pending()?;
        let (_, frame) = self.pending.as_ref().expect("filled above");
        let expected = frame.layout().frame_bytes();
        if buf.len() as u64 != expected {
            return Err(SensorError::BufferSize {
                len: buf.len(),
                expected,
            });
        }
        buf.copy_from_slice(frame.as_bytes());
        self.pending = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FrameError, PixelFormat};
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "openpalm-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn plays_a_directory_in_sorted_order() {
        let d = TempDir::new("dir");
        let g = GrayImage::from_fn(9, 7, |x, y| Luma([(x * 20 + y) as u8]));
        let rgb = RgbImage::from_fn(6, 4, |x, y| Rgb([x as u8, y as u8, 200]));
        g.save(d.0.join("b.png")).unwrap();
        rgb.save(d.0.join("a.BMP")).unwrap();
        g.save(d.0.join("c.tif")).unwrap();
        std::fs::write(d.0.join("notes.txt"), b"not an image").unwrap();
        let nir = Spectrum::NearInfrared { wavelength_nm: 850 };
        let mut s = ImageFileSensor::from_dir(&d.0, nir).unwrap();
        assert_eq!(s.paths().len(), 3);
        assert_eq!(s.remaining(), 3);
        assert_eq!(s.info().spectra, vec![nir]);

        // a.BMP: RGB, through the trait's layout/read protocol.
        let l = s.frame_layout().unwrap();
        assert_eq!(l, s.frame_layout().unwrap(), "layout is stable until read");
        assert_eq!(
            (l.width, l.height, l.pixel_format),
            (6, 4, PixelFormat::Rgb8)
        );
        assert_eq!(l.spectrum, nir);
        let mut small = vec![0; 3];
        assert!(matches!(
            s.read_frame(&mut small),
            Err(SensorError::BufferSize {
                len: 3,
                expected: 72
            })
        ));
        let mut buf = vec![0; l.frame_bytes() as usize];
        s.read_frame(&mut buf).unwrap();
        assert_eq!(buf, rgb.as_raw().as_slice());

        // b.png and c.tif: gray, via capture.
        assert_eq!(s.capture().unwrap().to_gray8(), g);
        let (p, f) = s.next_frame().unwrap();
        assert!(p.ends_with("c.tif"));
        assert_eq!(f.to_gray8(), g);
        assert!(matches!(s.capture(), Err(SensorError::Exhausted)));
        assert_eq!(s.remaining(), 0);
    }

    #[test]
    fn empty_dir_and_missing_and_corrupt_files_are_typed_errors() {
        let d = TempDir::new("empty");
        assert!(matches!(
            ImageFileSensor::from_dir(&d.0, Spectrum::Visible),
            Err(SensorError::NoImages { .. })
        ));
        assert!(matches!(
            ImageFileSensor::from_dir(d.0.join("missing"), Spectrum::Visible),
            Err(SensorError::Io { .. })
        ));
        std::fs::write(d.0.join("bad.png"), b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
        let mut s = ImageFileSensor::from_paths(
            [d.0.join("nope.png"), d.0.join("bad.png")],
            Spectrum::Visible,
        );
        assert!(matches!(s.capture(), Err(SensorError::Io { .. })));
        assert!(matches!(s.capture(), Err(SensorError::Decode { .. })));
        assert!(matches!(s.capture(), Err(SensorError::Exhausted)));
    }

    /// CRC-32 (IEEE, as PNG uses), bitwise reference.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    /// A well-formed PNG header claiming `w × h` 8-bit gray, with a tiny IDAT.
    fn hostile_png(w: u32, h: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, gray, deflate, filter 0, no interlace
        chunk(&mut png, b"IHDR", &ihdr);
        // zlib stream of an empty stored block: not enough data, but we must fail before that.
        chunk(
            &mut png,
            b"IDAT",
            &[
                0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
            ],
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn hostile_header_is_rejected_before_allocation() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let d = TempDir::new("hostile");
        let p = d.0.join("huge.png");
        std::fs::write(&p, hostile_png(100_000, 100_000)).unwrap();
        let mut s = ImageFileSensor::from_paths([&p], Spectrum::Visible);
        let err = s.capture().unwrap_err();
        // Either our typed check or image's own dimension limit fires; never an allocation.
        match err {
            SensorError::Frame {
                source: FrameError::TooWide { width, max },
                ..
            } => assert_eq!((width, max), (100_000, 8192)),
            SensorError::Decode {
                source: image::ImageError::Limits(_),
                ..
            } => {}
            other => panic!("unexpected error {other:?}"),
        }
        // Within width/height but over the pixel budget: our typed check.
        std::fs::write(&p, hostile_png(8000, 8000)).unwrap();
        let mut s = ImageFileSensor::from_paths([&p], Spectrum::Visible);
        assert!(matches!(
            s.capture(),
            Err(SensorError::Frame {
                source: FrameError::TooManyPixels {
                    pixels: 64_000_000,
                    max: 16_000_000
                },
                ..
            })
        ));
        // Tight limits on a genuine small file.
        let q = d.0.join("small.png");
        GrayImage::new(40, 30).save(&q).unwrap();
        let lim = FrameLimits {
            max_height: 20,
            ..FrameLimits::default()
        };
        let mut s = ImageFileSensor::from_paths([&q], Spectrum::Visible).with_limits(lim);
        let err = s.capture().unwrap_err();
        assert!(
            matches!(
                err,
                SensorError::Frame {
                    source: FrameError::TooTall {
                        height: 30,
                        max: 20
                    },
                    ..
                } | SensorError::Decode {
                    source: image::ImageError::Limits(_),
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
