//! Acquisition from full-hand frames: ROI detection, valley landmarks and (feature `synth`)
//! in-process synthetic data sets.
//!
//! [`DetectedRoi`] is the frame-level [`AcquireRoi`]: each file is decoded under
//! [`FrameLimits`] (checked on the header before any pixel buffer exists; gray, 16-bit gray,
//! RGB and RGBA are accepted), [`FullHandDetector`] finds the palm ROI (its default
//! configuration, with the ROI side set to the extractor's), and the ROI patch and validity mask
//! become a [`RoiImage`]. A rejected frame is a failure to acquire whose reason is the detector's
//! typed [`RoiError`](crate::roi::RoiError) text (e.g. `ROI: found 2 finger valleys, need 3`).
//!
//! [`extract_frame_templates`] does what
//! [`extract_templates`](super::experiment::extract_templates) does and also keeps the two
//! valley landmarks of each acquired frame ([`LandmarkRow`], written by
//! [`write_landmarks_csv`] as `landmarks.csv`).
//!
//! # Landmark coordinates
//! Frame pixels, x to the right and y down, with **pixel centres at integer coordinates** (the
//! convention of [`crate::roi::Landmarks`]): pixel `(i, j)` covers `[i − ½, i + ½) × [j − ½, j + ½)`.
//! (`openpalm::synth` ground truth puts pixel centres at `i + ½`; subtract ½ to compare.)
//!
//! # Synthetic data sets (feature `synth`)
//! `SyntheticSet` names `N` identities × `M` samples the way a folder export does
//! (`s00000/000.png`; identity seed = subject index, sample seed = sample index, default
//! `openpalm::synth::CaptureOptions`), and `SyntheticSet::extract_templates`
//! runs the same frame path in process without writing images: the visible gray frame for
//! crease, the NIR frame for vein. Because PNG is lossless, a folder written with
//! `SyntheticSet::export` and read back through [`DetectedRoi`] gives identical templates and
//! identical distances.

use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use super::dataset::Dataset;
use super::experiment::{AcquireRoi, Progress, TemplateEntry};
use super::scores::quote_csv;
use crate::features::{FeatureExtractor, RoiImage};
use crate::roi::{FullHandDetector, RoiConfig, RoiDetector};
use crate::sensor::{Frame, FrameLimits, Spectrum};

/// Frame-level acquisition: decode, [`FullHandDetector`], ROI patch + mask → [`RoiImage`].
#[derive(Debug, Clone)]
pub struct DetectedRoi {
    /// Detector configuration; its `roi_size_px` is replaced by the extractor's ROI side.
    pub config: RoiConfig,
    /// The spectrum recorded with each decoded frame.
    pub spectrum: Spectrum,
}

/// The two valley landmarks of one acquired frame, frame pixels (pixel centres at integers).
#[derive(Debug, Clone, PartialEq)]
pub struct LandmarkRow {
    /// Sample id (`<subject>/<file name>`).
    pub image: String,
    /// Index–middle finger valley `(x, y)`.
    pub index_middle: [f32; 2],
    /// Ring–little finger valley `(x, y)`.
    pub ring_little: [f32; 2],
}

impl DetectedRoi {
    /// The default detector configuration (default [`FrameLimits`] and quality policy).
    pub fn new(spectrum: Spectrum) -> Self {
        DetectedRoi {
            config: RoiConfig::default(),
            spectrum,
        }
    }

    /// The limits each decoded frame is checked against.
    pub fn limits(&self) -> &FrameLimits {
        &self.config.limits
    }

    /// ROI and landmarks of a frame, the ROI resampled by the detector to `roi_side` px.
    ///
    /// # Errors
    /// [`crate::Error::Config`] when `roi_side` is not a valid detector ROI size,
    /// [`crate::Error::Roi`] when the detector rejects the frame, [`crate::Error::Features`] when
    /// the patch is not a valid [`RoiImage`].
    pub fn roi_from_frame(
        &self,
        frame: &Frame,
        roi_side: usize,
    ) -> Result<(RoiImage, [[f32; 2]; 2]), crate::Error> {
        let config = RoiConfig {
            roi_size_px: u32::try_from(roi_side).unwrap_or(u32::MAX),
            ..self.config
        };
        let detector = FullHandDetector::new(config)?;
        let roi = detector.detect(frame)?;
        let image = RoiImage::from_gray(&roi.patch, Some(&roi.mask))?;
        let (a, b) = (roi.landmarks.index_middle, roi.landmarks.ring_little);
        Ok((image, [[a.x, a.y], [b.x, b.y]]))
    }

    /// ROI and landmarks of the image file at `path`.
    ///
    /// # Errors
    /// [`crate::Error::Sensor`] for an unreadable file or one over the limits, otherwise as
    /// [`roi_from_frame`](Self::roi_from_frame).
    pub fn acquire_with_landmarks(
        &self,
        path: &Path,
        roi_side: usize,
    ) -> Result<(RoiImage, [[f32; 2]; 2]), crate::Error> {
        let frame = crate::sensor::decode_file(path, self.spectrum, &self.config.limits)?;
        self.roi_from_frame(&frame, roi_side)
    }
}

impl AcquireRoi for DetectedRoi {
    fn describe(&self) -> String {
        format!(
            "full-hand frames, FullHandDetector (detection at ≤ {} px, default quality policy)",
            self.config.detect_max_side_px
        )
    }

    fn acquire(&self, path: &Path, roi_side: usize) -> Result<RoiImage, crate::Error> {
        self.acquire_with_landmarks(path, roi_side).map(|x| x.0)
    }
}

/// One sample: ROI + landmarks → template entry and landmark row.
fn finish_entry<E: FeatureExtractor + ?Sized>(
    ex: &mut E,
    subject: &str,
    sample: &str,
    acquired: Result<(RoiImage, [[f32; 2]; 2]), crate::Error>,
) -> (TemplateEntry, Option<LandmarkRow>) {
    let (template, landmarks) = match acquired {
        Ok((roi, [a, b])) => (
            ex.extract(&roi).map_err(|e| format!("features: {e}")),
            Some(LandmarkRow {
                image: sample.to_owned(),
                index_middle: a,
                ring_little: b,
            }),
        ),
        Err(e) => (Err(e.to_string()), None),
    };
    (
        TemplateEntry {
            subject: subject.to_owned(),
            sample: sample.to_owned(),
            template,
        },
        landmarks,
    )
}

/// Like [`extract_templates`](super::experiment::extract_templates) with [`DetectedRoi`], and
/// also returns the valley landmarks of every frame whose ROI was detected (dataset order).
/// A frame whose ROI was found but whose features failed still has its landmark row.
pub fn extract_frame_templates<E>(
    dataset: &Dataset,
    acquire: &DetectedRoi,
    extractor: &E,
    progress: &Progress,
) -> (Vec<TemplateEntry>, Vec<LandmarkRow>)
where
    E: FeatureExtractor + Clone + Send + Sync,
{
    let side = extractor.roi_side();
    let samples: Vec<_> = dataset.samples().collect();
    let out: Vec<_> = samples
        .par_iter()
        .map_init(
            || extractor.clone(),
            |ex, (subject, sample)| {
                let acquired = acquire.acquire_with_landmarks(&sample.path, side);
                let r = finish_entry(ex, subject, &sample.id, acquired);
                progress.add(1);
                r
            },
        )
        .collect();
    progress.finish();
    out.into_iter().unzip_landmarks()
}

/// A crease extractor (visible frame) and a vein extractor (NIR frame) for fused experiments.
pub type ExtractorPair = [Box<dyn FeatureExtractor + Send>; 2];

/// Acquires and extracts both frames of every sample: ROI detection with `acquire[0]` and the
/// crease extractor on the visible file, `acquire[1]` and the vein extractor on the NIR file,
/// in parallel (one extractor pair per worker, made by `make`). A missing file is a failure to
/// acquire of that frame (reason `no <band> file`). Returns the entries (in `pairs` order) and
/// the landmark rows of every frame whose ROI was found (visible then NIR per sample).
pub fn extract_fused_frame_templates(
    pairs: &[super::fusion::FramePair],
    acquire: &[DetectedRoi; 2],
    make: &(dyn Fn() -> ExtractorPair + Sync),
    progress: &Progress,
) -> (Vec<super::fusion::FusedEntry>, Vec<LandmarkRow>) {
    let out: Vec<_> = pairs
        .par_iter()
        .map_init(make, |ex, pair| {
            let mut rows = Vec::new();
            let results = std::array::from_fn(|b| {
                let band = super::fusion::BANDS[b];
                let frame_id = match &pair.frames[b] {
                    Some(s) => s.id.clone(),
                    None => format!("{}_{band}", pair.sample),
                };
                let acquired = match &pair.frames[b] {
                    Some(s) => acquire[b].acquire_with_landmarks(&s.path, ex[b].roi_side()),
                    None => {
                        let reason = format!("no _{band} file for this sample");
                        return (frame_id, Err(reason), None);
                    }
                };
                let (e, l) = finish_entry(&mut *ex[b], &pair.subject, &frame_id, acquired);
                (frame_id, e.template, l)
            });
            progress.add(1);
            let [(f0, t0, l0), (f1, t1, l1)] = results;
            rows.extend(l0);
            rows.extend(l1);
            (
                super::fusion::FusedEntry {
                    subject: pair.subject.clone(),
                    sample: pair.sample.clone(),
                    frames: [f0, f1],
                    templates: [t0, t1],
                },
                rows,
            )
        })
        .collect();
    progress.finish();
    let mut entries = Vec::with_capacity(out.len());
    let mut rows = Vec::new();
    for (e, l) in out {
        entries.push(e);
        rows.extend(l);
    }
    (entries, rows)
}

/// Splits `(entry, landmarks)` pairs.
trait UnzipLandmarks {
    fn unzip_landmarks(self) -> (Vec<TemplateEntry>, Vec<LandmarkRow>);
}

impl<I: Iterator<Item = (TemplateEntry, Option<LandmarkRow>)>> UnzipLandmarks for I {
    fn unzip_landmarks(self) -> (Vec<TemplateEntry>, Vec<LandmarkRow>) {
        let mut entries = Vec::new();
        let mut rows = Vec::new();
        for (e, l) in self {
            entries.push(e);
            rows.extend(l);
        }
        (entries, rows)
    }
}

/// Writes `landmarks.csv`: header `image,x_im,y_im,x_rl,y_rl` (index–middle and ring–little
/// valley, frame pixels, pixel centres at integer coordinates), one row per acquired frame.
///
/// # Errors
/// Any write error.
pub fn write_landmarks_csv<W: Write>(mut w: W, rows: &[LandmarkRow]) -> std::io::Result<()> {
    writeln!(w, "image,x_im,y_im,x_rl,y_rl")?;
    for r in rows {
        writeln!(
            w,
            "{},{},{},{},{}",
            quote_csv(&r.image),
            r.index_middle[0],
            r.index_middle[1],
            r.ring_little[0],
            r.ring_little[1]
        )?;
    }
    w.flush()
}

#[cfg(feature = "synth")]
pub use synthetic::{SyntheticChannelKind, SyntheticSet};

#[cfg(feature = "synth")]
mod synthetic {
    use std::path::Path;

    use rayon::prelude::*;

    use super::{DetectedRoi, LandmarkRow, UnzipLandmarks, finish_entry};
    use crate::eval::EvalError;
    use crate::eval::experiment::{Progress, TemplateEntry};
    use crate::features::FeatureExtractor;
    use crate::sensor::Frame;
    use crate::synth::{Capture, CaptureOptions, Generator, Identity};

    /// Which synthetic frame is used.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SyntheticChannelKind {
        /// The visible gray frame (crease features).
        Visible,
        /// The near-infrared frame (vein features).
        NearInfrared,
    }

    /// `subjects` identities × `samples` captures of the synthetic generator, named like a
    /// folder: subject `s{index:05}`, sample id `s{index:05}/{sample:03}.png`.
    #[derive(Debug, Clone)]
    pub struct SyntheticSet {
        generator: Generator,
        subjects: u32,
        samples: u32,
    }

    impl SyntheticSet {
        /// Most subjects (the names have five digits).
        pub const MAX_SUBJECTS: u32 = 99_999;
        /// Most samples per subject (the names have three digits).
        pub const MAX_SAMPLES: u32 = 999;

        /// `subjects` × `samples` with the default [`CaptureOptions`] (640 × 480 frames).
        ///
        /// # Errors
        /// [`EvalError::InvalidParameter`] for 0 or more than [`Self::MAX_SUBJECTS`] subjects
        /// or [`Self::MAX_SAMPLES`] samples.
        pub fn new(subjects: u32, samples: u32) -> Result<Self, EvalError> {
            if !(1..=Self::MAX_SUBJECTS).contains(&subjects) {
                return Err(EvalError::InvalidParameter {
                    name: "synthetic subjects",
                    value: subjects.to_string(),
                    bound: "must be within 1..=99999",
                });
            }
            if !(1..=Self::MAX_SAMPLES).contains(&samples) {
                return Err(EvalError::InvalidParameter {
                    name: "synthetic samples per subject",
                    value: samples.to_string(),
                    bound: "must be within 1..=999",
                });
            }
            let generator = Generator::new(CaptureOptions::default())
                .expect("default capture options are valid");
            Ok(SyntheticSet {
                generator,
                subjects,
                samples,
            })
        }

        /// Number of subjects.
        pub fn subjects(&self) -> u32 {
            self.subjects
        }

        /// Samples per subject.
        pub fn samples(&self) -> u32 {
            self.samples
        }

        /// Subject name of identity `s`.
        pub fn subject_name(s: u32) -> String {
            format!("s{s:05}")
        }

        /// File name of sample `k`.
        pub fn file_name(k: u32) -> String {
            format!("{k:03}.png")
        }

        /// The captures of subject `s` in sample order, one at a time, to `f`.
        fn for_each_capture(&self, s: u32, mut f: impl FnMut(u32, Capture)) {
            let id = Identity::from_seed(u64::from(s));
            for k in 0..self.samples {
                f(k, self.generator.capture(&id, u64::from(k)));
            }
        }

        /// The frame of a capture for a channel.
        fn frame(
            cap: Capture,
            channel: SyntheticChannelKind,
            acquire: &DetectedRoi,
        ) -> Result<Frame, crate::Error> {
            let img = match channel {
                SyntheticChannelKind::Visible => cap.visible,
                SyntheticChannelKind::NearInfrared => cap.nir,
            };
            Ok(Frame::from_gray8(img, acquire.spectrum)?)
        }

        /// Generates every capture, runs `acquire` (ROI detection) and `extractor` on the
        /// `channel` frame, in parallel over subjects, without writing images. Entries come
        /// in the order a folder scan of [`export`](Self::export)'s output lists them.
        pub fn extract_templates<E>(
            &self,
            channel: SyntheticChannelKind,
            acquire: &DetectedRoi,
            extractor: &E,
            progress: &Progress,
        ) -> (Vec<TemplateEntry>, Vec<LandmarkRow>)
        where
            E: FeatureExtractor + Clone + Send + Sync,
        {
            let side = extractor.roi_side();
            let per_subject: Vec<Vec<_>> = (0..self.subjects)
                .into_par_iter()
                .map_init(
                    || extractor.clone(),
                    |ex, s| {
                        let subject = Self::subject_name(s);
                        let mut v = Vec::with_capacity(self.samples as usize);
                        self.for_each_capture(s, |k, cap| {
                            let sample = format!("{subject}/{}", Self::file_name(k));
                            let acquired = Self::frame(cap, channel, acquire)
                                .and_then(|f| acquire.roi_from_frame(&f, side));
                            v.push(finish_entry(ex, &subject, &sample, acquired));
                            progress.add(1);
                        });
                        v
                    },
                )
                .collect();
            progress.finish();
            per_subject.into_iter().flatten().unzip_landmarks()
        }

        /// File name of sample `k`'s frame in a fused export: `{k:03}_vis.png` or
        /// `{k:03}_nir.png` (`band` 0 = visible, 1 = NIR).
        pub fn fused_file_name(k: u32, band: usize) -> String {
            format!("{k:03}_{}.png", crate::eval::fusion::BANDS[band])
        }

        /// Like [`extract_templates`](Self::extract_templates) for fused experiments: the
        /// visible frame through `acquire[0]` and the crease extractor, the NIR frame of the
        /// same capture through `acquire[1]` and the vein extractor. Sample ids
        /// `s{index:05}/{k:03}`, frame ids as [`export_fused`](Self::export_fused) names the
        /// files, entries and landmark rows in the order the folder path produces them.
        pub fn extract_fused_templates(
            &self,
            acquire: &[DetectedRoi; 2],
            make: &(dyn Fn() -> super::ExtractorPair + Sync),
            progress: &Progress,
        ) -> (Vec<crate::eval::fusion::FusedEntry>, Vec<LandmarkRow>) {
            let per_subject: Vec<Vec<_>> = (0..self.subjects)
                .into_par_iter()
                .map_init(make, |ex, s| {
                    let subject = Self::subject_name(s);
                    let mut v = Vec::with_capacity(self.samples as usize);
                    self.for_each_capture(s, |k, cap| {
                        let mut rows = Vec::new();
                        let mut frames = [String::new(), String::new()];
                        let mut templates = [Err(String::new()), Err(String::new())];
                        for (b, img) in [cap.visible, cap.nir].into_iter().enumerate() {
                            let id = format!("{subject}/{}", Self::fused_file_name(k, b));
                            let side = ex[b].roi_side();
                            let acquired = Frame::from_gray8(img, acquire[b].spectrum)
                                .map_err(crate::Error::from)
                                .and_then(|f| acquire[b].roi_from_frame(&f, side));
                            let (e, l) = finish_entry(&mut *ex[b], &subject, &id, acquired);
                            rows.extend(l);
                            templates[b] = e.template;
                            frames[b] = id;
                        }
                        v.push((
                            crate::eval::fusion::FusedEntry {
                                subject: subject.clone(),
                                sample: format!("{subject}/{k:03}"),
                                frames,
                                templates,
                            },
                            rows,
                        ));
                        progress.add(1);
                    });
                    v
                })
                .collect();
            progress.finish();
            let mut entries = Vec::new();
            let mut rows = Vec::new();
            for (e, l) in per_subject.into_iter().flatten() {
                entries.push(e);
                rows.extend(l);
            }
            (entries, rows)
        }

        /// Writes both frames of every capture as `dir/<subject>/{k:03}_vis.png` and
        /// `{k:03}_nir.png` (8-bit gray, lossless), the layout `evaluate --modality fused`
        /// reads; returns the number of files written.
        ///
        /// # Errors
        /// [`EvalError::Io`] when a folder or file cannot be written.
        pub fn export_fused(&self, dir: &Path, progress: &Progress) -> Result<u64, EvalError> {
            (0..self.subjects).into_par_iter().try_for_each(|s| {
                let sub = dir.join(Self::subject_name(s));
                std::fs::create_dir_all(&sub)?;
                let mut res = Ok(());
                self.for_each_capture(s, |k, cap| {
                    for (b, img) in [&cap.visible, &cap.nir].into_iter().enumerate() {
                        if res.is_ok() {
                            res = img
                                .save_with_format(
                                    sub.join(Self::fused_file_name(k, b)),
                                    image::ImageFormat::Png,
                                )
                                .map_err(|e| EvalError::Io(std::io::Error::other(e)));
                        }
                    }
                    progress.add(1);
                });
                res
            })?;
            progress.finish();
            Ok(2 * u64::from(self.subjects) * u64::from(self.samples))
        }

        /// Writes `dir/<subject>/<sample>.png` (8-bit gray, lossless) for every capture's
        /// `channel` frame, in parallel over subjects; returns the number of files written.
        ///
        /// # Errors
        /// [`EvalError::Io`] when a folder or file cannot be written.
        pub fn export(
            &self,
            dir: &Path,
            channel: SyntheticChannelKind,
            progress: &Progress,
        ) -> Result<u64, EvalError> {
            (0..self.subjects).into_par_iter().try_for_each(|s| {
                let sub = dir.join(Self::subject_name(s));
                std::fs::create_dir_all(&sub)?;
                let mut res = Ok(());
                self.for_each_capture(s, |k, cap| {
                    if res.is_err() {
                        return;
                    }
                    let img = match channel {
                        SyntheticChannelKind::Visible => cap.visible,
                        SyntheticChannelKind::NearInfrared => cap.nir,
                    };
                    res = img
                        .save_with_format(sub.join(Self::file_name(k)), image::ImageFormat::Png)
                        .map_err(|e| EvalError::Io(std::io::Error::other(e)));
                    progress.add(1);
                });
                res
            })?;
            progress.finish();
            Ok(u64::from(self.subjects) * u64::from(self.samples))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_csv_has_the_documented_columns() {
        let rows = [LandmarkRow {
            image: "a/1.png".into(),
            index_middle: [10.5, 20.25],
            ring_little: [30.0, -1.5],
        }];
        let mut out = Vec::new();
        write_landmarks_csv(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "image,x_im,y_im,x_rl,y_rl\na/1.png,10.5,20.25,30,-1.5\n"
        );
    }

    #[test]
    fn unreadable_and_handless_frames_are_failures_with_reasons() {
        let d = std::env::temp_dir().join(format!("openpalm-frames-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("flat.png");
        image::GrayImage::from_pixel(200, 150, image::Luma([90]))
            .save(&p)
            .unwrap();
        let acq = DetectedRoi::new(Spectrum::Visible);
        let e = acq.acquire(&p, 128).unwrap_err();
        assert!(matches!(e, crate::Error::Roi(_)), "{e}");
        assert!(e.to_string().starts_with("ROI: "), "{e}");
        let q = d.join("broken.png");
        std::fs::write(&q, b"no image").unwrap();
        assert!(matches!(
            acq.acquire(&q, 128).unwrap_err(),
            crate::Error::Sensor(_)
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}
