//! Palm region of interest (ROI) from full-hand frames.
//!
//! A [`RoiDetector`] turns a [`Frame`] of a whole hand into a [`Roi`]: a fixed-size,
//! rotation- and scale-normalised gray patch of the palm, its validity mask, the finger-valley
//! landmarks and the frame ↔ ROI transform, plus a [`QualityReport`].
//!
//! ## The default detector, [`FullHandDetector`]
//! 1. **Downscale** the frame by an integer factor with area averaging so its longest side is
//!    at most [`RoiConfig::detect_max_side_px`] (≈ 320–400 px): a 12 MP frame costs one pass.
//! 2. **Segment**: blur, then Otsu's threshold on the channel that separates best (Otsu's
//!    separability η): gray (NIR, gray and colour frames) or chroma red Cr (skin colour, visible
//!    colour frames). The hand is assumed brighter than the background in that channel (NIR
//!    illumination, skin against a darker or less red background). A background lit as
//!    brightly as a dim hand (a desk, paper, a wall) merges with the fingers at that threshold:
//!    a three-class Otsu split marks the ambiguous values between Otsu's threshold and the
//!    hand's class, and a **local-contrast cut** drops ambiguous pixels clearly darker than their
//!    surroundings (a finger-sized window); large, mostly ambiguous regions that the cut severs
//!    from the hand are removed, everything else of the plain threshold is kept. Then a
//!    morphological opening (removes cables, pegs and thin clutter), the largest component, and
//!    hole filling (rings). A background as bright as the hand itself (a lit desk under the
//!    fingers) joins the hand at any threshold; when the landmarks of this mask fail the
//!    strict checks, **edge-cut masks** are tried: pixels on strong edges are removed (a real
//!    boundary shows as an edge even between equal brightnesses), the largest remaining piece
//!    is kept and grown back by the edge band's width. Under visible light, **skin masks**
//!    follow: the pixels at least 0.8 of the palm's median (a merged background object with
//!    no strong edge is still dimmer than skin under the same light), grown back a few px into
//!    the plain mask (the webs between the fingers are shaded below that level).
//! 3. **Palm centre**: the maximum of the distance transform (centre and radius `R` of the
//!    largest inscribed circle), so a wrist, forearm or sleeve does not pull it away.
//! 4. **Fingers**: the mask is read along circles of radius 1.35–2.4 `R` around the centre;
//!    finger crossings are runs 0.15–0.95 `R` wide. A crossing about twice the typical width
//!    with a dark seam near its middle (two fingers pressed together) is split at the seam.
//!    The four consecutive runs with the smallest angular span that pass the shape checks a
//!    real hand passes (valleys of similar depth, fingers of similar width, valleys spaced
//!    evenly, fingers that go on outwards — relaxed for fingers cut short by the frame or a
//!    dim segmentation) are the index…little fingers — at *any* in-plane orientation.
//! 5. **Valleys**: for each gap between adjacent fingers, the background inside the circle
//!    is flood-filled from the gap; the valley is its deepest point along the gap's bisector.
//!    It is then **refined at full resolution** with sub-pixel threshold crossings along rays
//!    (under visible light, on a wide web's floor, the vertex of a parabola fitted to them),
//!    and, where the fingers touch near their bases, followed along the dark seam between them
//!    to where the seam ends.
//! 6. **Which end is the index**: the little finger is shorter and narrower, the thumb sits
//!    next to the index, the ring–little valley lies nearer the wrist than the index–middle
//!    one, and between the valleys and the palm centre the hand reaches further sideways on
//!    the thumb side (thumb and thenar); the cues vote, each weighted by how reliable it measured
//!    (`CUE_WEIGHTS` in the source). This fixes `k1` (index–middle) and `k2` (ring–little)
//!    for left and right hands alike.
//! 7. **ROI** (the convention shared with `openpalm::synth`): `d = |k2 − k1|`,
//!    `u = (k2 − k1)/d`, `n` = unit normal of `u` pointing into the palm; a square of side
//!    `d`, centred on the midpoint of `k1k2` along `u`, whose near edge lies `0.25 d` from the
//!    `k1k2` line. Sampled from the **full-resolution** frame with bilinear interpolation and,
//!    when one ROI pixel covers more than 1.5 frame pixels, a box prefilter (area averaging
//!    by supersampling).
//!
//! Every step is bounded by the frame's size; no input panics ([`FrameLimits`] bound the size).

mod sample;
mod seg;

use image::GrayImage;
use nalgebra::{Point2, Similarity2, Vector2};

use crate::sensor::{Frame, FrameError, FrameLimits};
use sample::{Channel, Small, bilinear};

/// Turns a full-hand frame into a normalised palm [`Roi`].
pub trait RoiDetector {
    /// Detects the palm ROI, or says why not (a [`RoiError`] with measured value and bound).
    fn detect(&self, frame: &Frame) -> Result<Roi, RoiError>;

    /// The hand segmentation behind [`detect`](Self::detect), for transparency (the pipeline's
    /// `hand-mask` trace key): a binary mask (255 = hand) and the downscale factor (frame px per
    /// mask px). `None`, the default, when the detector has no such stage. Called only when a
    /// trace sink asks for it, so it may recompute what `detect` computes.
    fn hand_segmentation(&self, frame: &Frame) -> Option<Result<(GrayImage, u32), RoiError>> {
        let _ = frame;
        None
    }

    /// The ROI as found before the quality policy, for transparency: when
    /// [`detect`](Self::detect) rejects a frame on quality, the pipeline traces this ROI (its
    /// landmarks, quality report and patch) so the rejection can be seen. `None`, the default,
    /// when the detector has no separate policy step. Called only on a rejection that a trace
    /// sink wants to see.
    fn unchecked_roi(&self, frame: &Frame) -> Option<Result<Roi, RoiError>> {
        let _ = frame;
        None
    }
}

/// The three finger-valley landmarks, in frame pixels (pixel centres at integer coordinates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Landmarks {
    /// Valley between index and middle finger (`k1`).
    pub index_middle: Point2<f32>,
    /// Valley between middle and ring finger.
    pub middle_ring: Point2<f32>,
    /// Valley between ring and little finger (`k2`).
    pub ring_little: Point2<f32>,
    /// Centre of the largest circle inscribed in the hand (the palm centre), frame px.
    pub palm_center: Point2<f32>,
    /// Radius of that circle, frame px.
    pub palm_radius_px: f32,
}

impl Landmarks {
    /// `[index_middle, middle_ring, ring_little]`.
    pub fn valleys(&self) -> [Point2<f32>; 3] {
        [self.index_middle, self.middle_ring, self.ring_little]
    }
}

/// The map between ROI pixel coordinates and frame pixel coordinates.
///
/// ROI coordinates `(x, y)` have pixel centres at `i + 0.5`; `x` runs along `u` (from the
/// index–middle towards the ring–little valley), `y` along `n` (into the palm, away from the
/// fingers). The map is `frame = similarity(x, ±y)`: when [`mirrored`](Self::mirrored), `y` is
/// negated first, so that left and right hands give patches in the same (unmirrored) convention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiTransform {
    /// ROI (with `y` negated when mirrored) → frame, a rotation, uniform scale and translation.
    pub similarity: Similarity2<f32>,
    /// `true` when `(u, n)` is a left-handed frame in image coordinates (x right, y down):
    /// a right hand photographed palm-towards-the-camera (thumb on the right with fingers up),
    /// or a left hand seen through a glass reader. The synthetic generator calls the
    /// unmirrored case `HandSide::Right`.
    pub mirrored: bool,
}

impl RoiTransform {
    /// ROI pixel coordinates → frame pixel coordinates.
    pub fn to_frame(&self, p: Point2<f32>) -> Point2<f32> {
        let q = if self.mirrored {
            Point2::new(p.x, -p.y)
        } else {
            p
        };
        self.similarity.transform_point(&q)
    }

    /// Frame pixel coordinates → ROI pixel coordinates.
    pub fn to_roi(&self, p: Point2<f32>) -> Point2<f32> {
        let q = self.similarity.inverse_transform_point(&p);
        if self.mirrored {
            Point2::new(q.x, -q.y)
        } else {
            q
        }
    }

    /// Frame pixels per ROI pixel.
    pub fn scale(&self) -> f32 {
        self.similarity.scaling()
    }
}

/// A normalised palm region.
#[derive(Debug, Clone)]
pub struct Roi {
    /// The palm patch, `size × size` 8-bit gray (see [`Frame`] for the gray weights).
    pub patch: GrayImage,
    /// Validity: 255 where the ROI pixel lies on the hand and inside the frame, 0 elsewhere.
    pub mask: GrayImage,
    /// Landmarks in frame pixels.
    pub landmarks: Landmarks,
    /// ROI ↔ frame.
    pub transform: RoiTransform,
    /// The four ROI corners in frame pixels: near edge at the `k1` end, near edge at the `k2`
    /// end, far edge at the `k2` end, far edge at the `k1` end (the order `synth` uses).
    pub corners: [Point2<f32>; 4],
    /// Quality measurements.
    pub quality: QualityReport,
}

/// Measured quality of a ROI. Thresholds live in [`QualityPolicy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityReport {
    /// Valley distance `d = |k2 − k1|` in frame px (the ROI side).
    pub valley_distance_px: f32,
    /// Palm radius (largest inscribed circle) in frame px.
    pub palm_radius_px: f32,
    /// Fraction of ROI pixels inside the hand mask (and the frame), in [0, 1].
    pub inside_fraction: f32,
    /// Fraction of ROI pixels outside the frame, in [0, 1].
    pub outside_frame_fraction: f32,
    /// Focus: mean absolute 4-neighbour Laplacian of the patch over valid pixels, divided by
    /// the patch's standard deviation (contrast-independent; blur lowers it).
    pub focus: f32,
    /// Mean gray of valid patch pixels, 0–255.
    pub mean_gray: f32,
    /// Standard deviation of valid patch pixels, gray levels.
    pub contrast: f32,
    /// Fraction of valid patch pixels at ≤ 3 or ≥ 252 (clipped exposure).
    pub clipped_fraction: f32,
    /// Otsu separability η of the segmentation channel, in [0, 1].
    pub segmentation_separability: f32,
}

/// Thresholds applied to a [`QualityReport`]. Defaults suit 640×480 contactless frames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityPolicy {
    /// Minimum valley distance in frame px. Default 40.
    pub min_valley_distance_px: f32,
    /// Minimum fraction of ROI pixels on the hand. Default 0.85.
    pub min_inside_fraction: f32,
    /// Maximum fraction of ROI pixels outside the frame. Default 0.05.
    pub max_outside_frame_fraction: f32,
    /// Minimum [`QualityReport::focus`]. Default 0.0 (off).
    pub min_focus: f32,
    /// Allowed mean gray of the patch. Default 10..=250.
    pub mean_gray_range: (f32, f32),
    /// Maximum clipped fraction (pixels ≤ 3 or ≥ 252). Default 0.3.
    pub max_clipped_fraction: f32,
}

impl Default for QualityPolicy {
    fn default() -> Self {
        QualityPolicy {
            min_valley_distance_px: 40.0,
            min_inside_fraction: 0.85,
            max_outside_frame_fraction: 0.05,
            min_focus: 0.0,
            mean_gray_range: (10.0, 250.0),
            max_clipped_fraction: 0.3,
        }
    }
}

impl QualityPolicy {
    /// A policy that accepts every ROI that could be computed.
    pub fn permissive() -> Self {
        QualityPolicy {
            min_valley_distance_px: 0.0,
            min_inside_fraction: 0.0,
            max_outside_frame_fraction: 1.0,
            min_focus: 0.0,
            mean_gray_range: (0.0, 255.0),
            max_clipped_fraction: 1.0,
        }
    }

    /// Checks a report; the first violated threshold is returned with its value and bound.
    pub fn check(&self, q: &QualityReport) -> Result<(), RoiError> {
        if q.valley_distance_px < self.min_valley_distance_px {
            return Err(RoiError::PalmTooSmall {
                width_px: q.valley_distance_px,
                min: self.min_valley_distance_px,
            });
        }
        if q.outside_frame_fraction > self.max_outside_frame_fraction {
            return Err(RoiError::RoiOutsideFrame {
                outside_fraction: q.outside_frame_fraction,
                max: self.max_outside_frame_fraction,
            });
        }
        if q.inside_fraction < self.min_inside_fraction {
            return Err(RoiError::RoiOffHand {
                inside_fraction: q.inside_fraction,
                min: self.min_inside_fraction,
            });
        }
        if q.focus < self.min_focus {
            return Err(RoiError::OutOfFocus {
                focus: q.focus,
                min: self.min_focus,
            });
        }
        let (lo, hi) = self.mean_gray_range;
        if !(lo..=hi).contains(&q.mean_gray) {
            return Err(RoiError::Exposure {
                mean_gray: q.mean_gray,
                min: lo,
                max: hi,
            });
        }
        if q.clipped_fraction > self.max_clipped_fraction {
            return Err(RoiError::Clipped {
                clipped_fraction: q.clipped_fraction,
                max: self.max_clipped_fraction,
            });
        }
        Ok(())
    }
}

/// Configuration of [`FullHandDetector`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoiConfig {
    /// Side of the square output patch in px. Default 128. Valid: 16..=1024.
    pub roi_size_px: u32,
    /// Longest side of the downscaled copy detection runs on, px. Default 400. Valid: 64..=2048.
    pub detect_max_side_px: u32,
    /// Bounds on input frames.
    pub limits: FrameLimits,
    /// Quality thresholds applied before a ROI is returned.
    pub policy: QualityPolicy,
}

impl Default for RoiConfig {
    fn default() -> Self {
        RoiConfig {
            roi_size_px: 128,
            detect_max_side_px: 400,
            limits: FrameLimits::default(),
            policy: QualityPolicy::default(),
        }
    }
}

impl RoiConfig {
    /// Lists every invalid value with its bound.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        let mut issues = Vec::new();
        if !(16..=1024).contains(&self.roi_size_px) {
            issues.push(crate::ConfigIssue {
                field: "roi.roi_size_px".into(),
                value: self.roi_size_px.to_string(),
                bound: "must be in 16..=1024".into(),
            });
        }
        if !(64..=2048).contains(&self.detect_max_side_px) {
            issues.push(crate::ConfigIssue {
                field: "roi.detect_max_side_px".into(),
                value: self.detect_max_side_px.to_string(),
                bound: "must be in 64..=2048".into(),
            });
        }
        crate::ConfigError::check(issues)
    }
}

/// Why no ROI was produced. Each variant carries the measured value and the bound.
///
/// **Whose fault:** the presentation (no hand, fingers closed, hand too far, out of focus,
/// over-exposed: ask the user to retry), or the frame's producer
/// ([`RoiError::Frame`]: a frame over the limits).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RoiError {
    /// The frame is over the configured [`FrameLimits`].
    #[error("frame: {0}")]
    Frame(#[from] FrameError),
    /// No hand-sized object was found: the segmented hand covers `hand_fraction` of the
    /// frame, outside `min..=max` (or the frame has no contrast: `separability` 0).
    #[error(
        "no hand: hand covers {hand_fraction:.3} of the frame (allowed {min}..={max}), separability {separability:.2}"
    )]
    NoHand {
        /// Fraction of the (downscaled) frame covered by the largest component.
        hand_fraction: f32,
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
        /// Otsu separability η of the best channel.
        separability: f32,
    },
    /// Fewer than the three valleys between four spread fingers were found.
    #[error("found {found} finger valleys, need {required}: spread the fingers")]
    TooFewValleys {
        /// Valleys found at the best radius.
        found: usize,
        /// Valleys needed (3).
        required: usize,
    },
    /// The palm is too small in the frame (hand too far away).
    #[error("palm too small: valley distance {width_px:.1} px, minimum {min} px")]
    PalmTooSmall {
        /// Valley distance `d` in frame px.
        width_px: f32,
        /// The policy's minimum.
        min: f32,
    },
    /// Too much of the ROI square lies outside the frame.
    #[error("ROI {outside_fraction:.3} outside the frame, maximum {max}")]
    RoiOutsideFrame {
        /// Fraction of ROI pixels outside the frame.
        outside_fraction: f32,
        /// The policy's maximum.
        max: f32,
    },
    /// Too little of the ROI square lies on the hand.
    #[error("ROI only {inside_fraction:.3} on the hand, minimum {min}")]
    RoiOffHand {
        /// Fraction of ROI pixels on the hand.
        inside_fraction: f32,
        /// The policy's minimum.
        min: f32,
    },
    /// The patch is blurred.
    #[error("out of focus: focus {focus:.3}, minimum {min}")]
    OutOfFocus {
        /// [`QualityReport::focus`].
        focus: f32,
        /// The policy's minimum.
        min: f32,
    },
    /// The patch is too dark or too bright.
    #[error("exposure: mean gray {mean_gray:.1}, allowed {min}..={max}")]
    Exposure {
        /// Mean gray of the patch.
        mean_gray: f32,
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// Too many clipped pixels.
    #[error("{clipped_fraction:.3} of the patch clipped, maximum {max}")]
    Clipped {
        /// Fraction of clipped pixels.
        clipped_fraction: f32,
        /// The policy's maximum.
        max: f32,
    },
}

/// The default detector for full-hand frames (see the module docs for the method).
#[derive(Debug, Clone, Default)]
pub struct FullHandDetector {
    config: RoiConfig,
}

impl FullHandDetector {
    /// A detector with a validated configuration.
    pub fn new(config: RoiConfig) -> Result<FullHandDetector, crate::ConfigError> {
        config.validate()?;
        Ok(FullHandDetector { config })
    }

    /// The configuration.
    pub fn config(&self) -> &RoiConfig {
        &self.config
    }

    /// The hand segmentation, for overlays and debugging: a binary mask (255 = hand) on the
    /// downscaled copy, and the downscale factor (frame px per mask px).
    pub fn hand_mask(&self, frame: &Frame) -> Result<(GrayImage, u32), RoiError> {
        frame.check_limits(&self.config.limits)?;
        let small = Small::new(frame, self.config.detect_max_side_px as usize);
        let hand = match locate(frame, &small) {
            Ok((hand, _)) => hand,
            Err(RoiError::TooFewValleys { .. }) => segment(&small)?,
            Err(e) => return Err(e),
        };
        let img = GrayImage::from_raw(
            small.w as u32,
            small.h as u32,
            hand.mask.iter().map(|&m| m * 255).collect(),
        )
        .expect("sized");
        Ok((img, small.f as u32))
    }

    /// Runs detection without applying the [`QualityPolicy`]: returns the ROI whenever
    /// landmarks were found, with its quality report, for inspection and overlays.
    pub fn detect_unchecked(&self, frame: &Frame) -> Result<Roi, RoiError> {
        frame.check_limits(&self.config.limits)?;
        let small = Small::new(frame, self.config.detect_max_side_px as usize);
        let (hand, found) = locate(frame, &small)?;
        let lm = refine(frame, &small, &hand, &found);
        Ok(extract(
            frame,
            &small,
            &hand,
            lm,
            self.config.roi_size_px as usize,
        ))
    }
}

impl RoiDetector for FullHandDetector {
    fn detect(&self, frame: &Frame) -> Result<Roi, RoiError> {
        let roi = self.detect_unchecked(frame)?;
        self.config.policy.check(&roi.quality)?;
        Ok(roi)
    }

    fn hand_segmentation(&self, frame: &Frame) -> Option<Result<(GrayImage, u32), RoiError>> {
        Some(self.hand_mask(frame))
    }

    fn unchecked_roi(&self, frame: &Frame) -> Option<Result<Roi, RoiError>> {
        Some(self.detect_unchecked(frame))
    }
}

// ---------------------------------------------------------------------------------------------
// Segmentation

struct Hand {
    /// Binary mask on the small image (1 = hand).
    mask: Vec<u8>,
    /// The channel and threshold (in 0..255 values of that channel) separating hand from
    /// background, for full-resolution refinement.
    channel: Channel,
    threshold: f32,
    separability: f32,
    /// Palm centre and radius in small px.
    center: (f32, f32),
    radius: f32,
    /// Distance transform (chamfer units /3).
    dist: Vec<u32>,
}

const MIN_HAND_FRACTION: f32 = 0.02;

/// Largest ratio of the two gaps between neighbouring final valleys accepted from an edge-cut
/// mask ([`even_valley_row`]).
const EDGE_CUT_SPACING: f32 = 1.5;

/// The edge-cut hypotheses of [`segment_hypotheses`], in the order tried: the edge threshold as
/// a fraction of the hand/background contrast (as a slope over a 3-px blurred step), and the
/// regrowth radius in small px. Measured on gray synthetic frames with bright backgrounds
/// (`examples/roi_synth_accuracy`): 0.2 separates the fingers from a lit desk while palm
/// creases stay below it; a 3-px regrowth restores the edge band, 2 px keeps fingers apart
/// where the band is narrow.
const EDGE_CUTS: [(f32, usize); 2] = [(0.2, 3), (0.2, 2)];
const MAX_HAND_FRACTION: f32 = 0.9;

/// Under ambient (visible) light, a hand-mask pixel is skin when at least this fraction of the
/// palm's median value in the segmentation channel.
const SKIN_FRACTION: f32 = 0.8;

/// The skin hypotheses of [`EdgeCuts::skin`], in the order tried: how far (small px) the skin
/// mask grows back into the primary mask. Measured on synthetic gray frames
/// (`roi_synth_accuracy 100 10 gray 180 400`): no growth acquires the frames but puts valleys
/// 10–50 px off (FTA 0.9 → 0.2 %, valley p99 5.49 → 10.2 px: the webs are shaded below the skin
/// level); 2 px: FTA 0.4 %, p99 6.08; 3 px: 0.5 %, 5.56; 3 then 1 px: 0.4 %, 5.56.
const SKIN_GROWTH: [usize; 2] = [3, 1];

/// The primary segmentation (the first hypothesis of [`segment_hypotheses`]).
fn segment(small: &Small) -> Result<Hand, RoiError> {
    Ok(segment_hypotheses(small)?.0)
}

/// The primary hand segmentation, and what the edge-cut hypotheses need ([`EdgeCuts`]).
///
/// The primary mask is Otsu's threshold on the channel that separates best, with a
/// local-contrast cut of the ambiguous values between Otsu's threshold and the upper threshold
/// of a three-class split (a background as bright as a dim hand drops out where it is darker
/// than its surroundings), and under NIR a hysteresis into dim fingers. [`locate`] tries it
/// first; only when its landmarks fail the strict checks does it build the edge-cut masks, for
/// backgrounds as bright as the hand itself.
fn segment_hypotheses(small: &Small) -> Result<(Hand, EdgeCuts), RoiError> {
    let (w, h) = (small.w, small.h);
    let mut cands = vec![(Channel::Gray, seg::blur(&small.gray, w, h))];
    if let Some(cr) = &small.cr {
        cands.push((Channel::Cr, seg::blur(cr, w, h)));
    }
    let (channel, blurred, hist, t, eta) = cands
        .into_iter()
        .map(|(c, b)| {
            let hist = seg::histogram(&b);
            let (t, eta) = seg::otsu_hist(&hist);
            (c, b, hist, t, eta)
        })
        .max_by(|a, b| a.4.total_cmp(&b.4))
        .expect("at least the gray channel");
    let no_hand = |frac: f32| RoiError::NoHand {
        hand_fraction: frac,
        min: MIN_HAND_FRACTION,
        max: MAX_HAND_FRACTION,
        separability: eta as f32,
    };
    if eta < 0.3 {
        return Err(no_hand(0.0));
    }
    let r_open = (w.max(h) as f32 * 0.008).max(1.0);
    // The local-contrast cut: values between Otsu's threshold and the upper threshold of a
    // three-class split are ambiguous; they stay hand only where they are not clearly darker
    // than their surroundings (window ≈ a finger's width, margin a tenth of the contrast).
    let (_, t_hi, _) = seg::otsu3_hist(&hist);
    let r_local = ((w.max(h) as f32 * 0.025).round() as usize).max(2);
    // Hand/background contrast: mean above Otsu's threshold minus mean below it.
    let contrast = {
        let (mut n0, mut s0, mut n1, mut s1) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for (i, &c) in hist.iter().enumerate() {
            if i <= t as usize {
                n0 += c as f64;
                s0 += c as f64 * i as f64;
            } else {
                n1 += c as f64;
                s1 += c as f64 * i as f64;
            }
        }
        (s1 / n1.max(1.0) - s0 / n0.max(1.0)) as f32
    };
    let margin = (0.1 * contrast).max(2.0);
    let threshold_mask = |t: u8| -> (Vec<u8>, usize) {
        let mut mask: Vec<u8> = blurred.iter().map(|&v| u8::from(v > t)).collect();
        if t_hi > t {
            // The hand as the local-contrast cut sees it; what the plain threshold adds to it in
            // large pieces of mostly ambiguous values is another object (bright background).
            let mut cut = seg::threshold_local(&blurred, w, h, t, t_hi, margin, r_local);
            seg::open(&mut cut, w, h, r_open);
            seg::largest_component(&mut cut, w, h);
            let mut rest: Vec<u8> = mask.iter().zip(&cut).map(|(&m, &c)| m & (1 - c)).collect();
            let ambiguous: Vec<u8> = blurred.iter().map(|&v| u8::from(v <= t_hi)).collect();
            let big = (w * h) / 100;
            seg::drop_components(&mut rest, &ambiguous, w, h, |area, amb| {
                !(area >= big && amb * 10 >= area * 7)
            });
            // `rest` now holds only the pieces to remove.
            for (m, &r) in mask.iter_mut().zip(&rest) {
                *m &= 1 - r;
            }
        }
        seg::open(&mut mask, w, h, r_open);
        let area = seg::largest_component(&mut mask, w, h);
        (mask, area)
    };
    let (mut mask, mut area) = threshold_mask(t);
    let mut t = t;
    // Active NIR illumination falls off towards the fingertips: Otsu then splits the bright
    // palm from dimmer fingers. If the darker class itself splits well into background and
    // a dim class (≥ 2 % of the frame), grow the hand into the dim class (hysteresis), unless
    // that leaks into the background (area more than doubles).
    if channel == Channel::Gray && small.cr.is_none() {
        // Otsu on the values ≤ t: their histogram.
        let mut lower = hist;
        lower[t as usize + 1..].fill(0);
        let (t2, eta2) = seg::otsu_hist(&lower);
        let dim: u64 = lower.iter().skip(t2 as usize + 1).sum();
        let dim = dim as usize;
        if eta2 > 0.75 && t2 < t && dim * 50 > blurred.len() {
            let (m2, a2) = threshold_mask(t2);
            let keeps_seed = mask
                .iter()
                .zip(&m2)
                .filter(|&(&a, &b)| a != 0 && b == 0)
                .count()
                < area / 10;
            if keeps_seed && a2 > area && a2 <= 2 * area {
                mask = m2;
                area = a2;
                t = t2;
            }
        }
    }
    let frac = area as f32 / (w * h) as f32;
    if !(MIN_HAND_FRACTION..=MAX_HAND_FRACTION).contains(&frac) {
        return Err(no_hand(frac));
    }
    let primary = make_hand(mask.clone(), w, h, channel, t, eta as f32);
    let palm = (primary.center, primary.radius);
    Ok((
        primary,
        EdgeCuts {
            palm,
            blurred,
            mask,
            area,
            contrast,
            r_open,
            w,
            h,
            channel,
            t,
            separability: eta as f32,
        },
    ))
}

/// A hand from its 0/1 mask on the small image (holes filled): distance transform, palm centre
/// and radius.
fn make_hand(
    mut mask: Vec<u8>,
    w: usize,
    h: usize,
    channel: Channel,
    t: u8,
    separability: f32,
) -> Hand {
    seg::fill_holes(&mut mask, w, h);
    let dist = seg::distance(&mask, w, h);
    let (imax, &dmax) = dist
        .iter()
        .enumerate()
        .max_by_key(|&(_, d)| *d)
        .expect("non-empty");
    Hand {
        mask,
        channel,
        threshold: t as f32 + 0.5,
        separability,
        center: ((imax % w) as f32, (imax / w) as f32),
        radius: dmax as f32 / 3.0,
        dist,
    }
}

/// The median of `values` (a small image, `w` × `h`) over the hand pixels of `mask` inside the
/// palm's inscribed disc (centre `c`, radius `r`, small px); `None` when there are none.
fn palm_median(
    values: &[u8],
    mask: &[u8],
    w: usize,
    h: usize,
    c: (f32, f32),
    r: f32,
) -> Option<f32> {
    if w == 0 || h == 0 {
        return None;
    }
    let mut palm: Vec<u8> = Vec::new();
    let (x0, x1) = (
        (c.0 - r).floor().max(0.0) as usize,
        ((c.0 + r).ceil().max(0.0) as usize).min(w - 1),
    );
    let (y0, y1) = (
        (c.1 - r).floor().max(0.0) as usize,
        ((c.1 + r).ceil().max(0.0) as usize).min(h - 1),
    );
    for y in y0..=y1 {
        for x in x0..=x1 {
            let i = y * w + x;
            if mask[i] != 0 && (x as f32 - c.0).hypot(y as f32 - c.1) <= r {
                palm.push(values[i]);
            }
        }
    }
    if palm.is_empty() {
        return None;
    }
    let k = palm.len() / 2;
    Some(*palm.select_nth_unstable(k).1 as f32)
}

/// What the edge-cut hypotheses need from the primary segmentation; they are computed only
/// when the primary mask fails the landmark checks.
struct EdgeCuts {
    /// The primary mask's palm centre and radius (small px).
    palm: ((f32, f32), f32),
    blurred: Vec<u8>,
    /// The primary mask (before hole filling) and its area.
    mask: Vec<u8>,
    area: usize,
    /// Mean hand value minus mean background value at Otsu's threshold.
    contrast: f32,
    r_open: f32,
    w: usize,
    h: usize,
    channel: Channel,
    t: u8,
    separability: f32,
}

impl EdgeCuts {
    /// Edge-cut hypotheses: a background as bright as the hand (a lit desk or wall behind the
    /// fingers) joins the hand at any threshold, but a real boundary still shows as an edge.
    /// Remove the pixels on strong edges (L1 Sobel gradient of a further σ ≈ 1.6 px
    /// smoothing, above a fraction of the hand/background contrast), keep the largest piece and
    /// grow it back into the primary mask by the edge band's half-width, for each of
    /// [`EDGE_CUTS`]. Then, unless the frame is near-infrared (where the hand's brightness
    /// falls off with distance from the reader's lamp), the skin hypotheses of [`SKIN_GROWTH`]
    /// ([`EdgeCuts::skin`]). Masks that do not differ from the primary (≥ 95 % of its area),
    /// repeat an earlier one or leave the hand-size range are dropped.
    fn hands(&self, near_infrared: bool) -> Vec<Hand> {
        let (w, h) = (self.w, self.h);
        let smooth = seg::blur(&self.blurred, w, h);
        let grad = seg::gradient_l1(&smooth, w, h);
        let mut seen: Vec<usize> = Vec::new();
        let mut hyps = Vec::new();
        for (k, d) in EDGE_CUTS {
            // A step of height C blurred over ~3 px has an L1 Sobel response ≈ 8 C / 3.
            let tau = (k * self.contrast * 8.0 / 3.0).max(1.0) as u16;
            let mut cut: Vec<u8> = self
                .mask
                .iter()
                .zip(&grad)
                .map(|(&m, &g)| m & u8::from(g <= tau))
                .collect();
            seg::open(&mut cut, w, h, 1.0);
            seg::largest_component(&mut cut, w, h);
            seg::dilate(&mut cut, w, h, d);
            for (c, &m) in cut.iter_mut().zip(&self.mask) {
                *c &= m;
            }
            seg::open(&mut cut, w, h, self.r_open);
            let area = seg::largest_component(&mut cut, w, h);
            let frac = area as f32 / (w * h) as f32;
            if area * 20 < self.area * 19
                && (MIN_HAND_FRACTION..=MAX_HAND_FRACTION).contains(&frac)
                && !seen.contains(&area)
            {
                seen.push(area);
                hyps.push(make_hand(
                    cut,
                    w,
                    h,
                    self.channel,
                    self.t,
                    self.separability,
                ));
            }
        }
        if !near_infrared {
            for grow in SKIN_GROWTH {
                if let Some(skin) = self.skin(grow)
                    && !seen.contains(&skin.1)
                {
                    seen.push(skin.1);
                    hyps.push(skin.0);
                }
            }
        }
        hyps
    }

    /// A skin hypothesis (visible light only): the primary mask's pixels at least
    /// [`SKIN_FRACTION`] of the median over the palm's inscribed disc, opened, largest piece,
    /// grown back into the primary mask by `grow` small px (the shading at a hand's outline,
    /// darkest in the webs between the fingers, falls below the skin level but not below
    /// Otsu's threshold against a dark background). Under ambient light a background object
    /// that merges with the hand at Otsu's threshold without a strong edge (a lit table top
    /// behind the fingertips) is still clearly dimmer than skin. `None` when the mask does not
    /// differ from the primary or leaves the hand-size range; else the hand and its area.
    fn skin(&self, grow: usize) -> Option<(Hand, usize)> {
        let (w, h) = (self.w, self.h);
        let (c, r) = self.palm;
        let level = SKIN_FRACTION * palm_median(&self.blurred, &self.mask, w, h, c, r)?;
        if level <= self.t as f32 {
            return None;
        }
        let mut skin: Vec<u8> = self
            .mask
            .iter()
            .zip(&self.blurred)
            .map(|(&m, &v)| m & u8::from(v as f32 >= level))
            .collect();
        seg::open(&mut skin, w, h, self.r_open);
        seg::largest_component(&mut skin, w, h);
        if grow > 0 {
            seg::dilate(&mut skin, w, h, grow);
            for (s, &m) in skin.iter_mut().zip(&self.mask) {
                *s &= m;
            }
            seg::open(&mut skin, w, h, self.r_open);
        }
        let area = seg::largest_component(&mut skin, w, h);
        let frac = area as f32 / (w * h) as f32;
        (area * 20 < self.area * 19 && (MIN_HAND_FRACTION..=MAX_HAND_FRACTION).contains(&frac))
            .then(|| {
                let hand = make_hand(skin, w, h, self.channel, self.t, self.separability);
                (hand, area)
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Fingers and valleys on the small image

struct Found {
    /// Valleys (small px) in order index–middle, middle–ring, ring–little.
    valleys: [(f32, f32); 3],
    /// Unit bisector directions (pointing out of the palm, towards the fingertips).
    dirs: [(f32, f32); 3],
    center: (f32, f32),
    radius: f32,
    /// Whether each valley lies between two fingers pressed together (no gap in the mask).
    pressed: [bool; 3],
}

/// A valley candidate: point (small px), bisector direction, depth from the palm centre.
type Valley = ((f32, f32), (f32, f32), f32);

#[derive(Debug, Clone, Copy)]
struct Run {
    /// Start sample index and length, on a circle of `m` samples.
    start: usize,
    len: usize,
}

/// Binary closing of a `w × h` 0/1 image with a 3 × 3 square, the square clipped at the image
/// border (dilation: any in-range neighbour set; erosion: every in-range neighbour set), in
/// place; `tmp` is scratch of the same size. Separable (rows, then columns): the clipped square
/// is the product of the clipped row and column windows, so this equals the direct 3 × 3 form
/// (unit-tested against it).
fn close_3x3(img: &mut [u8], tmp: &mut [u8], w: usize, h: usize) {
    if w == 0 || h == 0 {
        return;
    }
    for dilate in [true, false] {
        let op = |a: u8, b: u8| if dilate { a | b } else { a & b };
        // Rows: img → tmp.
        for (src, dst) in img.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
            for x in 0..w {
                let l = src[x.saturating_sub(1)];
                let r = src[(x + 1).min(w - 1)];
                dst[x] = op(op(l, src[x]), r);
            }
        }
        // Columns: tmp → img.
        for y in 0..h {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
            for x in 0..w {
                img[y * w + x] = op(op(tmp[up * w + x], tmp[y * w + x]), tmp[down * w + x]);
            }
        }
    }
}

fn mask_at(hand: &Hand, small: &Small, x: f32, y: f32) -> bool {
    if !(x >= 0.0 && y >= 0.0) {
        return false;
    }
    let (xi, yi) = (x.round() as usize, y.round() as usize);
    xi < small.w && yi < small.h && hand.mask[yi * small.w + xi] != 0
}

fn circle_runs(small: &Small, hand: &Hand, c: (f32, f32), rho: f32, m: usize) -> Vec<Run> {
    let samples: Vec<bool> = (0..m)
        .map(|k| {
            let a = k as f32 * std::f32::consts::TAU / m as f32;
            mask_at(hand, small, c.0 + rho * a.cos(), c.1 + rho * a.sin())
        })
        .collect();
    let Some(first_bg) = samples.iter().position(|&s| !s) else {
        return Vec::new();
    };
    let mut runs = Vec::new();
    let mut k = 0;
    while k < m {
        let i = (first_bg + k) % m;
        if samples[i] {
            let start = i;
            let mut len = 0;
            while k < m && samples[(first_bg + k) % m] {
                len += 1;
                k += 1;
            }
            runs.push(Run { start, len });
        } else {
            k += 1;
        }
    }
    runs
}

/// Segmentation and landmarks: the first segmentation hypothesis (the primary mask, then the
/// edge-cut masks, built only if the primary fails) whose fingers pass the strict shape
/// checks, else the first that passes the relaxed ones; all of that first with evenly spaced
/// valleys ([`VALLEY_SPACING_PREFERRED`]), then with the usual tolerance.
fn locate(frame: &Frame, small: &Small) -> Result<(Hand, Found), RoiError> {
    let (primary, cuts) = segment_hypotheses(small)?;
    let mut hyps = vec![primary];
    let mut best_found = 0;
    let mut cut_hands = Some(cuts);
    // First every hypothesis with evenly spaced valleys only, then with the usual tolerance: a
    // group that includes the thumb (its crotch one and a half valley gaps from the next) can
    // pass the tolerance on the primary mask while another hypothesis finds the four fingers.
    let spacings = [VALLEY_SPACING_PREFERRED, VALLEY_SPACING];
    for spacing in spacings {
        match find_landmarks(frame, small, &hyps[0], true, spacing) {
            Ok(f) => return Ok((hyps.swap_remove(0), f)),
            Err(n) => best_found = best_found.max(n),
        }
        if let Some(c) = cut_hands.take() {
            hyps.extend(c.hands(frame.spectrum().is_near_infrared()));
        }
        for strict in [true, false] {
            for i in usize::from(strict)..hyps.len() {
                match find_landmarks(frame, small, &hyps[i], strict, spacing) {
                    Ok(f) if i > 0 && !even_valley_row(&f) => best_found = best_found.max(2),
                    Ok(f) => return Ok((hyps.swap_remove(i), f)),
                    Err(n) => best_found = best_found.max(n),
                }
            }
        }
    }
    Err(RoiError::TooFewValleys {
        found: best_found,
        required: 3,
    })
}

/// Full-resolution value of the segmentation channel `ch` at `p` (frame px): the mean of four
/// bilinear samples ±0.5 px around it (light denoising). `None` outside the frame.
fn smoothed(frame: &Frame, ch: Channel, p: Point2<f32>) -> Option<f32> {
    let mut s = 0.0;
    for (dx, dy) in [(-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5)] {
        s += bilinear(frame, ch, p.x + dx, p.y + dy)?;
    }
    Some(s / 4.0)
}

/// The two gaps between neighbouring valleys (small px), smaller first.
fn valley_gaps(v: [(f32, f32); 3]) -> (f32, f32) {
    let d = |a: (f32, f32), b: (f32, f32)| (a.0 - b.0).hypot(a.1 - b.1);
    let (a, b) = (d(v[0], v[1]), d(v[1], v[2]));
    (a.min(b), a.max(b))
}

/// Whether the final valleys are evenly spaced along the palm's top (the larger of the two
/// gaps between neighbouring valleys at most [`EDGE_CUT_SPACING`] times the smaller). The
/// landmark search checks this on its first-guess valleys; an edge-cut mask must also pass it
/// on the final ones, because a cut that loses a thin little finger makes the thumb–index
/// crotch look like a third valley, one and a half to two valley gaps from the next.
fn even_valley_row(f: &Found) -> bool {
    let (small, large) = valley_gaps(f.valleys);
    large <= EDGE_CUT_SPACING * small
}

/// The largest ratio of the two gaps between neighbouring first-guess valleys that a finger
/// group may have (each valley is about one finger width from the next).
const VALLEY_SPACING: f32 = 1.6;

/// The ratio [`locate`] tries first, on every segmentation hypothesis, before it accepts
/// [`VALLEY_SPACING`]. Measured on synthetic gray frames (`roi_synth_accuracy 100 10 gray 180
/// 400`): hands read as the wrong side 4 → 3, valley p99 7.07 → 5.49 px, FTA unchanged (0.9 %);
/// identities 0–99 and 200–299 unchanged. (1.3 instead: FTA 0.8 %, p99 5.56, but 200–299 p99
/// 6.59 → 6.80 px. 1.4 as the only tolerance: 3 wrong sides fewer over four sets, but FTA
/// 0.4 → 0.6 % and 0.5 → 0.8 %: groups that only the wider tolerance accepts are mostly right.)
const VALLEY_SPACING_PREFERRED: f32 = 1.4;

/// Landmarks on one segmentation; `Err` carries the most valleys found.
fn find_landmarks(
    frame: &Frame,
    small: &Small,
    hand: &Hand,
    strict: bool,
    spacing: f32,
) -> Result<Found, usize> {
    let mut best_found = 0usize;
    // Candidate palm centres: the global distance maximum, then the best one far from it
    // (a forearm or sleeve wider than the palm).
    let mut centers = vec![(hand.center, hand.radius)];
    {
        let (cx, cy) = hand.center;
        let r = hand.radius;
        let mut best = (0u32, 0usize);
        for (i, &d) in hand.dist.iter().enumerate() {
            let (x, y) = ((i % small.w) as f32, (i / small.w) as f32);
            if d > best.0 && (x - cx) * (x - cx) + (y - cy) * (y - cy) > 4.84 * r * r {
                best = (d, i);
            }
        }
        if best.0 as f32 / 3.0 > 0.6 * r {
            let i = best.1;
            centers.push((
                ((i % small.w) as f32, (i / small.w) as f32),
                best.0 as f32 / 3.0,
            ));
        }
    }
    // Strict: every finger goes on outwards; relaxed: fingers cut short by the frame or by a
    // dim segmentation pass when the other shape checks do.
    for &(c, r) in &centers {
        if r < 2.0 {
            continue;
        }
        for k in [1.5f32, 1.7, 1.35, 1.9, 2.1, 2.4] {
            match fingers_at(frame, small, hand, c, r, k * r, strict, spacing) {
                Ok(f) => return Ok(f),
                Err(n) => best_found = best_found.max(n),
            }
        }
    }
    Err(best_found)
}

#[allow(clippy::too_many_arguments)]
fn fingers_at(
    frame: &Frame,
    small: &Small,
    hand: &Hand,
    c: (f32, f32),
    r: f32,
    rho: f32,
    strict: bool,
    spacing: f32,
) -> Result<Found, usize> {
    let m = ((std::f32::consts::TAU * rho).round() as usize).clamp(64, 2048);
    let mut runs = circle_runs(small, hand, c, rho, m);
    let arc = std::f32::consts::TAU * rho / m as f32; // px per sample
    let f = small.f as f32;
    let value = |p: Point2<f32>| smoothed(frame, hand.channel, p);
    split_pressed_fingers(&mut runs, m, rho, r, c, small, &value, hand.threshold);
    let finger_like = |run: &Run| {
        let wdt = run.len as f32 * arc;
        (0.15 * r..=0.95 * r).contains(&wdt)
    };
    let nr = runs.len();
    if nr < 4 {
        return Err(nr.saturating_sub(1).min(2));
    }
    let mid = |run: &Run| (run.start as f32 + (run.len as f32 - 1.0) / 2.0) % m as f32;
    let angle = |s: f32| s * std::f32::consts::TAU / m as f32;
    let dir = |a: f32| (a.cos(), a.sin());
    // The deepest background point of the gap between runs `a` and `b` (in circle order),
    // with the gap's bisector direction and its depth (distance from the palm centre).
    let valley = |a: &Run, b: &Run| -> Option<Valley> {
        let gap_start = a.start + a.len;
        let gap_len = (b.start + m - gap_start) % m;
        if gap_len == 0 {
            // Two fingers pressed together: no background between them, follow their seam.
            let bis = dir(angle(gap_start as f32 - 0.5));
            let (px, py) = small.to_frame(c.0 + rho * bis.0, c.1 + rho * bis.1);
            let p = Point2::new(px, py);
            let b = Vector2::new(bis.0, bis.1);
            let q = follow_seam(&value, hand.threshold, p, b, f, r * f, Follow::Seam);
            if q == p {
                return None;
            }
            let v = small.frame_to_small(q.x, q.y);
            let depth = (v.0 - c.0).hypot(v.1 - c.1);
            return Some((v, bis, depth));
        }
        let gap_mid = gap_start as f32 + (gap_len as f32 - 1.0) / 2.0;
        let bis = dir(angle(gap_mid));
        let seed = (c.0 + (rho - 1.0) * bis.0, c.1 + (rho - 1.0) * bis.1);
        let v = deepest_background(small, hand, c, rho, seed, bis)?;
        let depth = (v.0 - c.0).hypot(v.1 - c.1);
        Some((v, bis, depth))
    };
    // Candidate groups: 4 cyclically consecutive finger-like runs, gaps narrower than a finger
    // spread allows, spanning less than half the circle; smallest span first.
    let mut cands: Vec<(usize, usize)> = Vec::new(); // (first run index, span samples)
    for i in 0..nr {
        let group: Vec<&Run> = (0..4).map(|j| &runs[(i + j) % nr]).collect();
        if !group.iter().all(|r| finger_like(r)) {
            continue;
        }
        let last = group[3];
        let span = (last.start + last.len + m - group[0].start) % m;
        let ok_gaps = (0..3).all(|j| {
            let (a, b) = (group[j], group[j + 1]);
            let gap = (b.start + m - (a.start + a.len)) % m;
            (gap as f32 * arc) < 2.5 * r
        });
        if ok_gaps && (span as f32) < 0.5 * m as f32 {
            cands.push((i, span));
        }
    }
    cands.sort_by_key(|&(_, span)| span);
    // The first group whose three valleys are valid and of similar depth: the thumb–index
    // crotch is much deeper than the valleys between the four fingers, so a group that
    // includes the thumb fails this test.
    // Shape checks every real hand passes: four fingers of similar width (a crossing twice as
    // wide is two fingers pressed together, or the thumb's base), valleys spaced roughly evenly
    // (each is about one finger width from the next), and fingers that go on outwards (a
    // finger is longer than half the palm radius; clutter touching the hand usually is not).
    let outer_rho = rho + 0.4 * r;
    let persists = |run: &Run| -> bool {
        // Flood the hand inside the annulus rho − 1 … outer_rho from the run's crossing: a
        // finger reaches the outer circle or the frame's border.
        let am = angle(mid(run));
        let (sx, sy) = (
            (c.0 + rho * am.cos()).round(),
            (c.1 + rho * am.sin()).round(),
        );
        if !(sx >= 0.0 && sy >= 0.0 && (sx as usize) < small.w && (sy as usize) < small.h) {
            return true;
        }
        let (w, h) = (small.w, small.h);
        let (lo2, hi2) = ((rho - 2.0).max(0.0).powi(2), outer_rho * outer_rho);
        let in_ring = |x: usize, y: usize| {
            let d2 = (x as f32 - c.0).powi(2) + (y as f32 - c.1).powi(2);
            (lo2..=hi2).contains(&d2)
        };
        let s0 = sy as usize * w + sx as usize;
        if hand.mask[s0] == 0 {
            return false;
        }
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![s0];
        seen.insert(s0);
        let reach2 = (outer_rho - 1.5).powi(2);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                return true;
            }
            if (x as f32 - c.0).powi(2) + (y as f32 - c.1).powi(2) >= reach2 {
                return true;
            }
            for (xx, yy) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] {
                let j = yy * w + xx;
                if hand.mask[j] != 0 && in_ring(xx, yy) && seen.insert(j) {
                    stack.push(j);
                }
            }
        }
        false
    };
    let plausible_hand = |group: &[Run], vs: &[Valley]| -> bool {
        let (wlo, whi) = group.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), g| {
            (lo.min(g.len as f32), hi.max(g.len as f32))
        });
        if whi > 1.9 * wlo {
            return false;
        }
        let (small, large) = valley_gaps([vs[0].0, vs[1].0, vs[2].0]);
        if large > spacing * small.max(0.5) {
            return false;
        }
        !strict || group.iter().all(persists)
    };
    let mut chosen = None;
    let mut most = 0usize;
    for &(i, _) in &cands {
        let group: Vec<Run> = (0..4).map(|j| runs[(i + j) % nr]).collect();
        let mut vs = Vec::with_capacity(3);
        for j in 0..3 {
            match valley(&group[j], &group[j + 1]) {
                Some(v) if v.2 >= 0.6 * r && v.2 <= rho - 0.5 => vs.push(v),
                _ => break,
            }
        }
        most = most.max(vs.len());
        if vs.len() < 3 {
            continue;
        }
        let (lo, hi) = vs.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), v| {
            (lo.min(v.2), hi.max(v.2))
        });
        if hi > 1.35 * lo || !plausible_hand(&group, &vs) {
            most = most.min(2);
            continue;
        }
        chosen = Some((i, group, vs));
        break;
    }
    let Some((i0, group, vs)) = chosen else {
        return Err(most.min(2));
    };
    let mut valleys = [vs[0].0, vs[1].0, vs[2].0];
    let mut dirs = [vs[0].1, vs[1].1, vs[2].1];
    let mean_depth = (vs[0].2 + vs[1].2 + vs[2].2) / 3.0;

    // Finger axes: from each finger's crossing of this circle to its crossing of a wider one.
    // The valley is the deepest point along the bisector of the two adjacent finger axes (the
    // definition `synth` uses); the gap's radial direction is only a first guess.
    let axes = {
        // Chord midpoints of each finger on circles 0 … 0.8 R beyond this one, tracked from
        // circle to circle; the axis is their least-squares direction.
        let point = |run: &Run, rr: f32, mm: usize| {
            let a = (run.start as f32 + (run.len as f32 - 1.0) / 2.0) * std::f32::consts::TAU
                / mm as f32;
            (c.0 + rr * a.cos(), c.1 + rr * a.sin())
        };
        let mut tracks: Vec<Vec<(f32, f32)>> =
            group.iter().map(|g| vec![point(g, rho, m)]).collect();
        for step in 1..=4 {
            let rr = rho + 0.2 * r * step as f32;
            let mm = ((std::f32::consts::TAU * rr).round() as usize).clamp(64, 2048);
            let rs = circle_runs(small, hand, c, rr, mm);
            for t in tracks.iter_mut() {
                let last = *t.last().expect("non-empty");
                let near = rs
                    .iter()
                    .filter(|g| {
                        finger_like(g)
                            || (g.len as f32 * std::f32::consts::TAU * rr / mm as f32) < 0.95 * r
                    })
                    .map(|g| point(g, rr, mm))
                    .map(|p| (p, (p.0 - last.0).hypot(p.1 - last.1)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((p, d)) = near
                    && d < 0.5 * r
                    && t.len() == step
                {
                    t.push(p);
                }
            }
        }
        let axes: Vec<Option<(f32, f32)>> = tracks
            .iter()
            .map(|t| {
                if t.len() < 2 {
                    return None;
                }
                // Principal direction of the points, oriented from first to last.
                let (f, l) = (t[0], t[t.len() - 1]);
                Some(principal_axis(t, (l.0 - f.0, l.1 - f.1)))
            })
            .collect();
        // At full resolution: the midline of each finger's proximal part, from its two edges.
        let axes: Vec<Option<(f32, f32)>> = axes
            .iter()
            .zip(tracks.iter().zip(&group))
            .map(|(a, (t, g))| {
                let a = (*a)?;
                let p0 = small.to_frame(t[0].0, t[0].1);
                let chord = g.len as f32 * arc * f;
                finger_midline(&value, hand.threshold, p0, a, r * f, chord).or(Some(a))
            })
            .collect();
        for j in 0..3 {
            if let (Some(a), Some(b)) = (axes[j], axes[j + 1]) {
                let sum = (a.0 + b.0, a.1 + b.1);
                let n = sum.0.hypot(sum.1);
                if n < 1e-3 {
                    continue;
                }
                let bis = (sum.0 / n, sum.1 / n);
                // Only trust it when it roughly agrees with the gap's direction.
                if bis.0 * dirs[j].0 + bis.1 * dirs[j].1 < 0.8 {
                    continue;
                }
                let seed = (c.0 + (rho - 1.0) * dirs[j].0, c.1 + (rho - 1.0) * dirs[j].1);
                if let Some(v) = deepest_background(small, hand, c, rho, seed, bis)
                    && (v.0 - valleys[j].0).hypot(v.1 - valleys[j].1) < 0.2 * r
                {
                    valleys[j] = v;
                    dirs[j] = bis;
                }
            }
        }
        axes
    };

    // Which end is the index? Cues vote (positive = group[0] is the index): the little finger
    // is the shortest (only when both fingertips lie inside the frame) and the narrowest, the
    // thumb (its deep crotch, a thumb-like neighbouring crossing, its base on smaller circles)
    // sits next to the index, the ring–little valley lies nearer the wrist, and the hand
    // reaches further sideways on the thumb side above the palm centre (thenar). (A vote on
    // the hand area on each side of the finger axis was dropped: on 870 synthetic frames it
    // was right only 62 % of the time. The thenar reach agreed with the final decision on
    // 948 of 949 synthetic NIR frames where it voted, 270/271 gray, 287/288 RGB; on the real
    // NIR frames the length and width cues vote wrong on 4 of 5, so their sum needed it.)
    // The votes are summed with the weights [`CUE_WEIGHTS`] derived from these agreements.
    // Agreement with the ground-truth side where each cue votes, measured on the synthetic
    // full-pipeline set (`CaptureOptions::default()`, 200 identities × 10 samples, with the skin
    // mask below; `vein_lab probe` with the votes logged): visible gray (1 989 frames) length
    // 96.3 %, width 98.7 %, crotch 100 % (32 votes), thumb-like neighbour 99.8 %, thumb base
    // 98.3 %, tilt 95.5 %, thenar 100 %; NIR (1 988 frames) 95.9 / 98.6 / 100 / 99.7 / 96.2 /
    // 93.7 / 100 %. Before the skin mask, on visible frames, the thumb-like neighbour was
    // 99.1 %, the thumb base 96.0 % and the thenar 99.2 %, and 4 frames came out mirrored.
    // The side cues that look beside the finger group (thumb, thenar) read a "skin" mask: under
    // ambient (visible) light, the hand mask's pixels as bright as the palm itself in the
    // segmentation channel (at least `SKIN_FRACTION` of the median over the palm's inscribed
    // disc), connected to the palm centre through such pixels. A background object brighter
    // than the threshold that merges with the hand (a lit table top, a sleeve) is dimmer than
    // skin under the same light, so it no longer passes for a thumb or for a thenar cut by the
    // frame edge. (On synthetic gray frames such blobs mirrored 4 of 2 000 captures.) Under a
    // reader's own NIR light the hand's brightness falls off with distance from the lamp (the
    // thumb and thenar are often far dimmer than the palm centre) while the background stays
    // dark, so there the skin mask is the hand mask.
    let skin_hand = {
        let chan: &[u8] = match hand.channel {
            Channel::Cr => small.cr.as_deref().unwrap_or(&small.gray),
            Channel::Gray => &small.gray,
        };
        let (w, h) = (small.w, small.h);
        let mut skin = vec![0u8; w * h];
        if let Some(med) = palm_median(chan, &hand.mask, w, h, c, r) {
            let level = if frame.spectrum().is_near_infrared() {
                f32::MIN
            } else {
                SKIN_FRACTION * med
            };
            // Bright pixels, closed over gaps up to 2 px wide (3×3 dilation, then erosion) so
            // that palm creases, dark lines a few px wide, do not cut the hand apart; the dim
            // seam between a hand and a merged background object (both outlines shaded) is
            // wider.
            // (Under NIR every pixel is "bright" and the closing is the identity: skipped.)
            let mut bright: Vec<u8> = chan.iter().map(|&v| u8::from(v as f32 >= level)).collect();
            if level > f32::MIN {
                let mut tmp = vec![0u8; w * h];
                close_3x3(&mut bright, &mut tmp, w, h);
            }
            // Flood fill from the palm centre through bright hand pixels.
            let (cx, cy) = (c.0.round() as usize, c.1.round() as usize);
            let ok = |i: usize| hand.mask[i] != 0 && bright[i] != 0;
            if cx < w && cy < h && ok(cy * w + cx) {
                let mut stack = vec![cy * w + cx];
                skin[cy * w + cx] = 1;
                while let Some(i) = stack.pop() {
                    let (x, y) = (i % w, i / w);
                    let mut push = |j: usize| {
                        if skin[j] == 0 && ok(j) {
                            skin[j] = 1;
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
            }
        }
        Hand {
            mask: skin,
            channel: hand.channel,
            threshold: hand.threshold,
            separability: hand.separability,
            center: hand.center,
            radius: hand.radius,
            dist: Vec::new(),
        }
    };
    // Fraction of a circle run's samples that are skin.
    let skin_share = |run: &Run| {
        let n = (0..run.len)
            .filter(|&k| {
                let a = angle(((run.start + k) % m) as f32);
                mask_at(&skin_hand, small, c.0 + rho * a.cos(), c.1 + rho * a.sin())
            })
            .count();
        n as f32 / run.len.max(1) as f32
    };
    let length = |run: &Run| -> Option<f32> {
        let d = dir(angle(mid(run)));
        let mut t = rho;
        loop {
            let (x, y) = (c.0 + t * d.0, c.1 + t * d.1);
            if !(x >= 0.0 && y >= 0.0 && x <= (small.w - 1) as f32 && y <= (small.h - 1) as f32) {
                return None; // leaves the frame: length unknown
            }
            if !mask_at(hand, small, x, y) || t > 6.0 * r {
                return Some(t);
            }
            t += 0.5;
        }
    };
    // Votes: [length, width, deep thumb crotch, thumb-like neighbour, thumb near its base, tilt,
    // thenar reach].
    let mut cues = [0.0f32; 7];
    if let (Some(l0), Some(l3)) = (length(&group[0]), length(&group[3])) {
        cues[0] = ((l0 - l3) / l0.max(l3).max(1.0) / 0.05).clamp(-1.5, 1.5);
    }
    // The little finger is the narrowest.
    {
        let (w0, w3) = (group[0].len as f32, group[3].len as f32);
        cues[1] = ((w0 - w3) / w0.max(w3).max(1.0) / 0.08).clamp(-1.0, 1.0);
    }
    // The thumb–index crotch is deep: a much deeper valley next to one end marks the index.
    if nr > 4 {
        let prev = runs[(i0 + nr - 1) % nr];
        let next = runs[(i0 + 4) % nr];
        let deep = |v: Option<Valley>| v.is_some_and(|v| v.2 < 0.75 * mean_depth);
        if (finger_like(&prev) || prev.len as f32 * arc < 1.2 * r) && deep(valley(&prev, &group[0]))
        {
            cues[2] += 1.5;
        }
        if (finger_like(&next) || next.len as f32 * arc < 1.2 * r) && deep(valley(&group[3], &next))
        {
            cues[2] -= 1.5;
        }
    }
    if nr > 4 {
        let prev = runs[(i0 + nr - 1) % nr];
        let next = runs[(i0 + 4) % nr];
        let gap_prev = (group[0].start + m - (prev.start + prev.len)) % m;
        let gap_next = (next.start + m - (group[3].start + group[3].len)) % m;
        let thumbish = |run: &Run| (run.len as f32 * arc) < 1.2 * r && skin_share(run) >= 0.5;
        if thumbish(&prev) && (!thumbish(&next) || gap_prev < gap_next) {
            cues[3] += 1.0;
        } else if thumbish(&next) && (!thumbish(&prev) || gap_next < gap_prev) {
            cues[3] -= 1.0;
        }
    }
    // The thumb near its base: on smaller circles, a narrow crossing outside the finger group
    // and away from the wrist side lies next to the index.
    {
        let tau = std::f32::consts::TAU;
        let a0 = angle(mid(&group[0]));
        let mut a3 = angle(mid(&group[3]));
        if a3 < a0 {
            a3 += tau;
        }
        let axis = (a0 + a3) / 2.0;
        let norm = |a: f32| a.rem_euclid(tau);
        for k in [1.2f32, 1.35] {
            let rr = k * r;
            let mm = ((tau * rr).round() as usize).clamp(64, 2048);
            for run in circle_runs(small, &skin_hand, c, rr, mm) {
                let wdt = run.len as f32 * tau * rr / mm as f32;
                if !(0.2 * r..1.2 * r).contains(&wdt) {
                    continue;
                }
                let a = (run.start as f32 + (run.len as f32 - 1.0) / 2.0) * tau / mm as f32;
                // Angular distance backwards from group[0] and forwards from group[3].
                let back = norm(a0 - a);
                let fwd = norm(a - a3);
                let off_axis = norm(a - axis + std::f32::consts::PI); // 0 = opposite the fingers
                let near_wrist = off_axis < 1.05 || off_axis > tau - 1.05;
                if near_wrist || back < 0.15 || fwd < 0.15 || norm(a - a0) < norm(a3 - a0) {
                    continue;
                }
                cues[4] += if back < fwd { 0.75 } else { -0.75 };
            }
        }
    }
    // Tilt: the little finger's base is nearer the wrist, so the ring–little valley lies lower
    // along the mean finger direction than the index–middle valley.
    {
        let (mut fx, mut fy) = (0.0f32, 0.0f32);
        for a in axes.iter().flatten() {
            fx += a.0;
            fy += a.1;
        }
        let nf = fx.hypot(fy);
        if nf > 1e-3 {
            let (fx, fy) = (fx / nf, fy / nf);
            let (v0, v2) = (valleys[0], valleys[2]);
            let d = (v0.0 - v2.0).hypot(v0.1 - v2.1).max(1.0);
            let t = ((v0.0 - v2.0) * fx + (v0.1 - v2.1) * fy) / d;
            cues[5] = 0.75 * (t / 0.05).clamp(-1.0, 1.0);
        }
        // Thenar: between the valleys and just below the palm centre, the hand reaches
        // further sideways on the thumb side (thumb and thenar mass). Where the frame cuts
        // a side, its reach is only a lower bound: it counts only when it already exceeds the
        // other side's full reach.
        if nf > 1e-3 {
            let (fx, fy) = (fx / nf, fy / nf);
            let (v0, v2) = (valleys[0], valleys[2]);
            let span = (v2.0 - v0.0).hypot(v2.1 - v0.1).max(1.0);
            let (ux, uy) = ((v2.0 - v0.0) / span, (v2.1 - v0.1) / span);
            let vm = ((v0.0 + v2.0) / 2.0, (v0.1 + v2.1) / 2.0);
            let lo = (c.0 - vm.0) * fx + (c.1 - vm.1) * fy - 0.5 * r;
            // [reach on group[0]'s side, reach on group[3]'s side], and whether the frame
            // border attains it.
            let mut reach = [0.0f32; 2];
            let mut cut = [false; 2];
            for y in 0..small.h {
                for x in 0..small.w {
                    if skin_hand.mask[y * small.w + x] == 0 {
                        continue;
                    }
                    let (px, py) = (x as f32 - vm.0, y as f32 - vm.1);
                    let a = px * fx + py * fy;
                    if !(lo..=0.0).contains(&a) {
                        continue;
                    }
                    let l = px * ux + py * uy;
                    let k = usize::from(l > 0.0);
                    let e = l.abs();
                    let border = x == 0 || y == 0 || x + 1 == small.w || y + 1 == small.h;
                    if e > reach[k] + 1.0 {
                        reach[k] = e;
                        cut[k] = border;
                    } else if e > reach[k] - 1.0 {
                        reach[k] = reach[k].max(e);
                        cut[k] |= border;
                    }
                }
            }
            let rel = (reach[0] - reach[1]) / span;
            let v = (rel / 0.1).clamp(-1.0, 1.0);
            cues[6] = match cut {
                [false, false] => v,
                [true, false] if v > 0.0 => 1.5,
                [false, true] if v < 0.0 => -1.5,
                _ => 0.0,
            };
        }
    }
    let score: f32 = cues.iter().zip(CUE_WEIGHTS).map(|(c, w)| c * w).sum();
    if score < 0.0 {
        valleys.reverse();
        dirs.reverse();
    }
    let mut pressed = [0, 1, 2].map(|j| {
        let (a, b) = (&group[j], &group[j + 1]);
        (a.start + a.len) % m == b.start
    });
    if score < 0.0 {
        pressed.reverse();
    }
    Ok(Found {
        valleys,
        dirs,
        center: c,
        radius: r,
        pressed,
    })
}

/// Weights of the hand-side cues of [`fingers_at`] (length, width, deep thumb crotch,
/// thumb-like neighbour, thumb near its base, tilt, thenar reach): each cue's log-odds of being
/// right, ln(p / (1 − p)) with p its measured agreement with the ground-truth side on visible
/// gray frames (96.3, 98.7, 33/34 Laplace-smoothed from 32 of 32, 99.8, 98.3, 95.5, 949/951
/// from 948 of 949 %), divided by the cue's largest vote, normalised to width = 1 (naive Bayes
/// with votes as evidence strength). With equal weights a hand whose finger-shape cues (length,
/// width, tilt) disagree with its thumb-side cues was a coin toss decided by the vote sizes;
/// weighted, the more reliable thumb-side cues win: over 8 000 synthetic frames
/// (`roi_synth_accuracy 100 10 {gray,nir,rgb} 180 {0,200,300,400}`) wrong sides 5 → 3 (gray
/// 300–399: 1 → 0, 400–499: 2 → 1), no frame turned wrong; the 18 real frames unchanged.
const CUE_WEIGHTS: [f32; 7] = [0.5, 1.0, 0.54, 1.43, 1.25, 0.94, 1.42];

/// The direction of a finger's midline at full resolution: cross-sections perpendicular to the
/// coarse axis `a` (unit, pointing towards the fingertip) at 0 … 0.8 palm radii (`radius_px`,
/// frame px) beyond `p0` (the finger's crossing of the finger circle, frame px), each edge the
/// sub-pixel threshold crossing when walking out from the midline; the least-squares direction
/// of the sections' midpoints. A finger's proximal phalanx is straight, and its two edges are
/// symmetric about the bone's axis, so the midpoints line up on that axis whatever the finger's
/// taper; the mask's chord midpoints (a few small px, quantised) only give it to a few degrees,
/// and at a flat gap floor the valley (the gap's deepest point along the bisector of the two
/// finger axes) slides along the floor with that angle. A section wider than 1.3 × `chord`
/// (the finger's crossing of the finger circle, frame px, itself at least the finger's width)
/// ran on into a neighbouring finger pressed against this one, and is dropped. `None` with
/// fewer than 3 sections.
fn finger_midline(
    value: &dyn Fn(Point2<f32>) -> Option<f32>,
    thr: f32,
    p0: (f32, f32),
    a: (f32, f32),
    radius_px: f32,
    chord: f32,
) -> Option<(f32, f32)> {
    const SECTIONS: usize = 6;
    let a = Vector2::new(a.0, a.1);
    let perp = Vector2::new(-a.y, a.x);
    let max_half = 0.6 * radius_px;
    let step = 0.5f32;
    let mut mids: Vec<(f32, f32)> = Vec::with_capacity(SECTIONS);
    let mut centre = Point2::new(p0.0, p0.1);
    for i in 0..SECTIONS {
        let s = 0.8 * radius_px * i as f32 / (SECTIONS - 1) as f32;
        let c = centre + a * s;
        match value(c) {
            Some(v) if v >= thr => {}
            _ => continue,
        }
        // Distance from `c` to the edge on side `sign`, sub-pixel.
        let edge = |sign: f32| -> Option<f32> {
            let mut prev = value(c)?;
            let mut t = step;
            while t <= max_half {
                let v = value(c + perp * (sign * t))?;
                if v < thr {
                    let frac = ((prev - thr) / (prev - v)).clamp(0.0, 1.0);
                    return Some(t - step + frac * step);
                }
                prev = v;
                t += step;
            }
            None
        };
        let (Some(l), Some(r)) = (edge(-1.0), edge(1.0)) else {
            continue;
        };
        if l + r > 1.3 * chord {
            continue;
        }
        let m = c + perp * ((r - l) / 2.0);
        mids.push((m.x, m.y));
        // Follow the finger: the next section is centred on this midpoint's line.
        centre = m - a * s;
    }
    if mids.len() < 3 {
        return None;
    }
    Some(principal_axis(&mids, (a.x, a.y)))
}

/// The least-squares direction of `pts` (unit; the principal axis of their scatter about
/// their mean), oriented so that it does not point against `towards`.
fn principal_axis(pts: &[(f32, f32)], towards: (f32, f32)) -> (f32, f32) {
    let n = pts.len() as f32;
    let (sx, sy) = pts
        .iter()
        .fold((0.0, 0.0), |acc, p| (acc.0 + p.0, acc.1 + p.1));
    let (mx, my) = (sx / n, sy / n);
    let (mut sxx, mut sxy, mut syy) = (0.0f32, 0.0f32, 0.0f32);
    for p in pts {
        let (dx, dy) = (p.0 - mx, p.1 - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let ang = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let d = (ang.cos(), ang.sin());
    if d.0 * towards.0 + d.1 * towards.1 < 0.0 {
        (-d.0, -d.1)
    } else {
        d
    }
}

/// Splits circle runs that are two fingers pressed together: a run about twice as wide as the
/// typical finger crossing on this circle, with a dark seam (a dip between two hand-bright sides
/// of the full-resolution profile along the circle) near its middle, becomes two runs with no
/// gap between them.
#[allow(clippy::too_many_arguments)]
fn split_pressed_fingers(
    runs: &mut Vec<Run>,
    m: usize,
    rho: f32,
    r: f32,
    c: (f32, f32),
    small: &Small,
    value: &dyn Fn(Point2<f32>) -> Option<f32>,
    thr: f32,
) {
    let arc = std::f32::consts::TAU * rho / m as f32;
    let mut widths: Vec<usize> = runs
        .iter()
        .filter(|g| (0.15 * r..=0.95 * r).contains(&(g.len as f32 * arc)))
        .map(|g| g.len)
        .collect();
    if widths.len() < 2 {
        return;
    }
    widths.sort_unstable();
    let typical = widths[widths.len() / 2] as f32;
    let mut out = Vec::with_capacity(runs.len() + 2);
    for run in runs.iter() {
        let l = run.len as f32;
        if !(1.6 * typical..=2.6 * typical).contains(&l) || l * arc > 1.6 * r {
            out.push(*run);
            continue;
        }
        // Profile along the arc at 1 frame px steps.
        let f = small.f as f32;
        let steps = ((l * arc * f).round() as usize).max(2);
        let a0 = run.start as f32 * std::f32::consts::TAU / m as f32;
        let da = l * std::f32::consts::TAU / m as f32 / steps as f32;
        let prof: Option<Vec<f32>> = (0..=steps)
            .map(|i| {
                let a = a0 + da * i as f32;
                let (x, y) = small.to_frame(c.0 + rho * a.cos(), c.1 + rho * a.sin());
                value(Point2::new(x, y))
            })
            .collect();
        let Some(prof) = prof else {
            out.push(*run);
            continue;
        };
        let (lo, hi) = (steps * 3 / 10, steps * 7 / 10);
        let (imin, vmin) = (lo..=hi)
            .map(|i| (i, prof[i]))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        let lmax = prof[..imin].iter().copied().fold(f32::MIN, f32::max);
        let rmax = prof[imin + 1..].iter().copied().fold(f32::MIN, f32::max);
        let side = lmax.min(rmax);
        if !(side > thr && side - vmin >= SEAM_DIP * (side - thr)) {
            out.push(*run);
            continue;
        }
        let cut = ((imin as f32 / steps as f32) * l).round() as usize;
        let cut = cut.clamp(1, run.len - 1);
        out.push(Run {
            start: run.start,
            len: cut,
        });
        out.push(Run {
            start: (run.start + cut) % m,
            len: run.len - cut,
        });
    }
    *runs = out;
}

/// Flood-fills background inside the disc `|p − c| < rho` from `seed`; returns the filled pixel
/// with the smallest projection on `bis` (the deepest point of the finger gap).
fn deepest_background(
    small: &Small,
    hand: &Hand,
    c: (f32, f32),
    rho: f32,
    seed: (f32, f32),
    bis: (f32, f32),
) -> Option<(f32, f32)> {
    let (w, h) = (small.w, small.h);
    let rho2 = rho * rho;
    let inside = |x: usize, y: usize| {
        let (dx, dy) = (x as f32 - c.0, y as f32 - c.1);
        dx * dx + dy * dy < rho2
    };
    let (sx, sy) = (seed.0.round(), seed.1.round());
    if !(sx >= 0.0 && sy >= 0.0 && (sx as usize) < w && (sy as usize) < h) {
        return None;
    }
    let s = sy as usize * w + sx as usize;
    if hand.mask[s] != 0 || !inside(sx as usize, sy as usize) {
        return None;
    }
    let mut seen = vec![false; w * h];
    let mut stack = vec![s];
    seen[s] = true;
    let mut best = (f32::INFINITY, (sx, sy));
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let proj = (x as f32 - c.0) * bis.0 + (y as f32 - c.1) * bis.1;
        if proj < best.0 {
            best = (proj, (x as f32, y as f32));
        }
        let mut visit = |xx: usize, yy: usize| {
            let j = yy * w + xx;
            if !seen[j] && hand.mask[j] == 0 && inside(xx, yy) {
                seen[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(x - 1, y);
        }
        if x + 1 < w {
            visit(x + 1, y);
        }
        if y > 0 {
            visit(x, y - 1);
        }
        if y + 1 < h {
            visit(x, y + 1);
        }
    }
    Some(best.1)
}

// ---------------------------------------------------------------------------------------------
// Full-resolution refinement

/// Refines each valley with rays along `−bis` at lateral offsets: the sub-pixel threshold
/// crossing that reaches deepest into the palm is the valley (the middle of the rays that reach
/// as deep within [`FLOOR_NOISE`], on a flat floor). Under visible light a wider fan reads the
/// whole floor of a wide web and the vertex of a parabola fitted to it ([`floor_vertex`]) is the
/// valley where there is one (under a reader's NIR light the fit measured worse on synthetic
/// frames: the 90th percentile error 1.46 → 1.67 px, so there the rays decide alone). Then moved along the bisector onto the
/// hand's edge ([`edge_offset`]) or down a seam or slit ([`follow_seam`]).
fn refine(frame: &Frame, small: &Small, hand: &Hand, found: &Found) -> Landmarks {
    let f = small.f as f32;
    let mut out = [Point2::new(0.0f32, 0.0); 3];
    // Where a visible-light slit goes on as a seam: how far (see `bound_seam_continuations`).
    let mut continued: [Option<Point2<f32>>; 3] = [None; 3];
    let seams = follows_seams(frame);
    let fits_floors = !frame.spectrum().is_near_infrared();
    #[allow(clippy::needless_range_loop)]
    for j in 0..3 {
        let (vx, vy) = small.to_frame(found.valleys[j].0, found.valleys[j].1);
        let b = Vector2::new(found.dirs[j].0, found.dirs[j].1);
        let perp = Vector2::new(-b.y, b.x);
        let v0 = Point2::new(vx, vy);
        let back = 2.0 * f + 3.0; // start this far out in the gap
        let reach = 5.0 * f + 10.0; // and search this far in
        let half = (1.5 * f + 3.0).round() as i32;
        // A wide web's floor can be wider than that fan: under visible light a wider fan
        // finds its extent for [`floor_vertex`].
        let wide = if fits_floors {
            (3.0 * f + 6.0).round() as i32
        } else {
            half
        };
        let value = |p: Point2<f32>| smoothed(frame, hand.channel, p);
        let thr = hand.threshold;
        let mut depths: Vec<Option<f32>> = Vec::with_capacity((2 * wide + 1) as usize);
        // Whether the gap is narrower than the rays' fan just outside the valley (a V between
        // converging fingers): only then can the fingers touch beyond it. A wide, open gap
        // never continues as a seam (palm creases, dark in visible light, are no seams).
        let mut narrow = false;
        for o in -wide..=wide {
            let start = v0 + b * back + perp * o as f32;
            let mut prev = match value(start) {
                Some(v) if v < thr => v,
                v => {
                    narrow |= v.is_some() && o.abs() <= half;
                    depths.push(None);
                    continue;
                }
            };
            let mut hit = None;
            let step = 0.5f32;
            let mut t = step;
            while t <= back + reach {
                let Some(v) = value(start - b * t) else { break };
                if v >= thr {
                    let frac = ((thr - prev) / (v - prev)).clamp(0.0, 1.0);
                    hit = Some(t - step + frac * step);
                    break;
                }
                prev = v;
                t += step;
            }
            depths.push(hit);
        }
        let inner = &depths[(wide - half) as usize..=(wide + half) as usize];
        let fit = if fits_floors {
            floor_vertex(&depths, wide as f32, 4.0 * f)
        } else {
            None
        };
        let refined = match fit.or_else(|| deepest_ray(inner, half as f32)) {
            Some((off, depth)) => {
                let p = v0 + b * back + perp * off - b * depth;
                // Never move more than the coarse grid's uncertainty.
                if (p - v0).norm() <= 3.0 * f + 4.0 {
                    p
                } else {
                    v0
                }
            }
            None => v0,
        };
        // Under visible light a narrow gap is followed only as a slit: background seen through it
        // all along (below the threshold), which no palm crease is.
        out[j] = if found.pressed[j] || narrow {
            let slit = !found.pressed[j] && !seams;
            let mode = if slit { Follow::Slit } else { Follow::Seam };
            let (q, on) = follow_seam_on(&value, thr, refined, b, f, found.radius * f, mode, slit);
            if q != refined && on != q {
                continued[j] = Some(on);
            }
            if q == refined {
                refined + b * edge_offset(&value, refined, b).unwrap_or(0.0)
            } else {
                q
            }
        } else {
            refined + b * edge_offset(&value, refined, b).unwrap_or(0.0)
        };
    }
    bound_seam_continuations(&mut out, continued, found, f);
    let (cx, cy) = small.to_frame(found.center.0, found.center.1);
    Landmarks {
        index_middle: out[0],
        middle_ring: out[1],
        ring_little: out[2],
        palm_center: Point2::new(cx, cy),
        palm_radius_px: found.radius * f,
    }
}

/// Under visible light a slit between fingers that nearly touch often ends before the valley:
/// beyond it the two fingers' skin meets and only a faint seam shows, or none. Following such a
/// seam on is what a palm crease that starts at a valley also invites (on a synthetic RGB hand
/// a follower walked 11–23 px down a crease), so a continuation (`continued[j]`, the end of
/// the slit-then-seam path from `out[j]`, the slit's end) is accepted only as far as the line
/// through the other two valleys, less a margin of [`SEAM_CONTINUATION_MARGIN`] palm radii on
/// the fingertips' side. For the middle–ring valley that line is a real bound: the row of
/// valleys bulges towards the fingertips in the middle. For an end valley it is stricter than
/// a hand needs (the ring–little valley usually sits below the line through the other two), so
/// end valleys seldom continue: the rule trades those for safety from creases. Past the bound
/// the continuation is cut back along its path; a slit end already beyond it stays.
fn bound_seam_continuations(
    out: &mut [Point2<f32>; 3],
    continued: [Option<Point2<f32>>; 3],
    found: &Found,
    f: f32,
) {
    let base = *out;
    for (j, cont) in continued.iter().enumerate() {
        let Some(q) = *cont else { continue };
        let (a, c) = match j {
            0 => (base[1], base[2]),
            1 => (base[0], base[2]),
            _ => (base[0], base[1]),
        };
        let Some(u) = (c - a).try_normalize(1e-3) else {
            continue;
        };
        // Unit normal of the line, pointing towards the fingertips.
        let b = Vector2::new(found.dirs[j].0, found.dirs[j].1);
        let mut n = Vector2::new(-u.y, u.x);
        if n.dot(&b) < 0.0 {
            n = -n;
        }
        let lim = SEAM_CONTINUATION_MARGIN * found.radius * f;
        let (s0, s1) = ((base[j] - a).dot(&n), (q - a).dot(&n));
        out[j] = if s1 >= lim {
            q
        } else if s0 > lim {
            base[j] + (q - base[j]) * ((s0 - lim) / (s0 - s1))
        } else {
            base[j]
        };
    }
}

/// How far (palm radii) on the fingertips' side of the line through the other two valleys a
/// seam continuation must stop ([`bound_seam_continuations`]). Measured on synthetic gray
/// frames (`roi_synth_accuracy 100 10 gray 180 200`, valley p99 6.46 px without continuation):
/// 0 (the line itself): p99 6.20, but on the standard RGB set one valley 14 px off (max 9.63
/// before); 0.05: p99 6.20, RGB unchanged; 0.1: p99 6.46 (nothing continues).
const SEAM_CONTINUATION_MARGIN: f32 = 0.05;

/// The deepest of a fan of parallel rays (`depths[k]`: how far ray `k` reached, `None`: it
/// started inside the hand): its position, fractional, as an offset from ray `centre`, and its
/// depth. A parabola through its
/// neighbours places a rounded floor's deepest point between rays. On a flat floor (the
/// neighbouring rays as deep as the deepest, within the crossings' noise [`FLOOR_NOISE`])
/// which of them comes out deepest is chance (on a real hand, where the finger spread tilts a
/// flat web from one capture to the next, too): the valley is the floor's middle. A rounded
/// floor falls away on both sides of its deepest ray and keeps it.
fn deepest_ray(depths: &[Option<f32>], centre: f32) -> Option<(f32, f32)> {
    let Floor { i, d, lo, hi } = floor_span(depths, FLOOR_NOISE)?;
    if hi - lo >= 2 {
        let m = (lo + hi) / 2;
        let mut depth = depths[m].unwrap_or(d);
        if (lo + hi) % 2 == 1 {
            depth = 0.5 * (depth + depths[m + 1].unwrap_or(d));
        }
        return Some(((lo + hi) as f32 / 2.0 - centre, depth));
    }
    if i > 0
        && let (Some(dl), Some(dr)) = (depths[i - 1], depths.get(i + 1).copied().flatten())
    {
        let den = dl - 2.0 * d + dr;
        if den < -1e-3 {
            let delta = (0.5 * (dl - dr) / den).clamp(-0.5, 0.5);
            return Some((i as f32 - centre + delta, d - 0.25 * (dl - dr) * delta));
        }
    }
    Some((i as f32 - centre, d))
}

/// The deepest point of a web's floor from a fan of rays (as in [`deepest_ray`]): a
/// least-squares parabola through the depths of the rays contiguous with the deepest one that
/// reach within `tol` (frame px) of it; its vertex (offset from ray `centre`, depth), when the
/// parabola opens towards the fingers and the vertex lies within those rays, else `None`.
/// Between two spread fingers the web's floor is a wide, shallow curve: each ray's threshold
/// crossing is noisy (a background seen through the gap), the deepest single ray or the middle
/// of the rays within the noise of it wanders along the floor, while the fitted curve's
/// vertex, the floor's deepest point, uses every ray on it.
fn floor_vertex(depths: &[Option<f32>], centre: f32, tol: f32) -> Option<(f32, f32)> {
    let Floor { lo, hi, .. } = floor_span(depths, tol)?;
    if hi - lo < 4 {
        return None;
    }
    // Fit depth = a x² + b x + c, x relative to the window's middle.
    let xm = (lo + hi) as f64 / 2.0;
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for (k, dk) in depths.iter().enumerate().take(hi + 1).skip(lo) {
        let x = k as f64 - xm;
        let y = (*dk)? as f64;
        let row = [x * x, x, 1.0];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] += row[r] * row[c];
            }
            v[r] += row[r] * y;
        }
    }
    let sol = nalgebra::Matrix3::from_fn(|r, c| m[r][c])
        .lu()
        .solve(&nalgebra::Vector3::from_fn(|r, _| v[r]))?;
    let (a, b, c) = (sol[0], sol[1], sol[2]);
    if a >= -1e-4 {
        return None;
    }
    let xv = -b / (2.0 * a);
    if xv.abs() > (hi - lo) as f64 / 2.0 {
        return None;
    }
    Some(((xm + xv) as f32 - centre, (c - b * b / (4.0 * a)) as f32))
}

/// A fan's deepest ray and the rays contiguous with it that reach within a tolerance of it.
struct Floor {
    /// The deepest ray and its depth.
    i: usize,
    d: f32,
    /// First and last ray of the span (inclusive).
    lo: usize,
    hi: usize,
}

/// The [`Floor`] of a fan of ray depths (`None`: the ray started inside the hand) with
/// tolerance `tol`; `None` when no ray reached the hand.
fn floor_span(depths: &[Option<f32>], tol: f32) -> Option<Floor> {
    let (i, d) = depths
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (i, d)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let near = |k: usize| depths[k].is_some_and(|dk| dk >= d - tol);
    let (mut lo, mut hi) = (i, i);
    while lo > 0 && near(lo - 1) {
        lo -= 1;
    }
    while hi + 1 < depths.len() && near(hi + 1) {
        hi += 1;
    }
    Some(Floor { i, d, lo, hi })
}

/// Rays whose depth is within this of the deepest (frame px: the noise of a ray's sub-pixel
/// threshold crossing) reach the same floor; see [`refine`].
const FLOOR_NOISE: f32 = 0.25;

/// Half-length (frame px) of the profile [`edge_offset`] searches along the bisector.
const EDGE_SEARCH: f32 = 5.0;
/// How many times [`edge_offset`] moves its span on when the steepest slope lies at its end.
const EDGE_MOVES: usize = 1;

/// Where the hand's edge crosses the line through `p` along `b` (pointing out of the hand,
/// into the gap), as an offset along `b` in frame px: the steepest descent of the profile (a
/// blurred step's edge is where its slope peaks, whatever the blur and wherever the global
/// threshold lies between the local hand and background levels), sub-pixel by a parabola.
/// The profile spans ±[`EDGE_SEARCH`]; where its steepest slope lies at an end, the span moves
/// on that way (at most [`EDGE_MOVES`] times: a web shaded darker than the global threshold
/// puts the threshold crossing well inside the hand). `None` when the slope is flat or the
/// edge was not bracketed.
fn edge_offset(
    value: &dyn Fn(Point2<f32>) -> Option<f32>,
    p: Point2<f32>,
    b: Vector2<f32>,
) -> Option<f32> {
    let perp = Vector2::new(-b.y, b.x);
    let step = 0.5f32;
    let n = (EDGE_SEARCH / step).round() as i32 + 1; // samples each side, one beyond the span
    let mut base = 0.0f32;
    let mut moved: Option<bool> = None; // direction of the last move (true: along +b)
    for _ in 0..=EDGE_MOVES {
        let mut prof = Vec::with_capacity((2 * n + 1) as usize);
        for k in -n..=n {
            let q = p + b * (base + k as f32 * step);
            let mut s = 0.0;
            for o in [-1.0f32, 0.0, 1.0] {
                s += value(q + perp * o)?;
            }
            prof.push(s / 3.0);
        }
        // Slope at sample k (1 px baseline), for k = 1 … len − 2.
        let slope = |k: usize| prof[k + 1] - prof[k - 1];
        let (kmin, smin) = (1..prof.len() - 1)
            .map(|k| (k, slope(k)))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        if smin >= -1.0 {
            return None;
        }
        let at_start = kmin <= 1;
        let at_end = kmin + 2 >= prof.len();
        if at_start || at_end {
            // Move on towards the steeper end, never back.
            if moved == Some(!at_end) {
                return None;
            }
            moved = Some(at_end);
            base += if at_end { EDGE_SEARCH } else { -EDGE_SEARCH };
            continue;
        }
        let (sl, sr) = (slope(kmin - 1), slope(kmin + 1));
        let den = sl - 2.0 * smin + sr;
        let delta = if den > 1e-3 {
            (0.5 * (sl - sr) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        return Some(base + (kmin as f32 - n as f32 + delta) * step);
    }
    None
}

/// Whether a narrow gap may continue as a dark seam ([`Follow::Seam`]): under NIR,
/// where light passes the skin's surface and leaves the creases faint. Under visible light a
/// narrow gap is followed only as a slit, background seen all along it (below the segmentation
/// threshold, which skin, creased or not, is above), because a palm crease that starts at a
/// valley is as dark as a seam. Fingers pressed together (no gap in the mask at all, split on
/// the finger circle where a seam divides a double-width crossing) are followed as a seam under
/// any light: without the seam there is no valley. (A visible-light slit may still go on as a
/// seam within the valley row's bound: [`bound_seam_continuations`].)
fn follows_seams(frame: &Frame) -> bool {
    frame.spectrum().is_near_infrared()
}

/// Which dark lines [`follow_seam`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    /// Any seam: a clear dip between two hand-bright sides.
    Seam,
    /// Only a slit: a dip below the segmentation threshold, background seen between fingers
    /// that nearly touch.
    Slit,
}

/// Minimum seam dip, as a fraction of the hand-side level above the threshold.
const SEAM_DIP: f32 = 0.35;

/// Fingers pressed together leave no background between them near their bases, only a dark
/// seam (their rounded edges meet there, and each edge is darker than the finger's middle). From
/// the valley `p` found on the mask, follow that seam towards the palm (along `−b`) while the
/// profile across it keeps a clear dip between two hand-bright sides; the valley is where the
/// seam ends. A seam must persist well beyond an edge's blur (`min_len`), otherwise `p` stays.
/// [`Follow`] says which lines count.
fn follow_seam(
    value: &dyn Fn(Point2<f32>) -> Option<f32>,
    thr: f32,
    p: Point2<f32>,
    b: Vector2<f32>,
    f: f32,
    radius_px: f32,
    mode: Follow,
) -> Point2<f32> {
    follow_seam_on(value, thr, p, b, f, radius_px, mode, false).0
}

/// One pass of [`follow_seam`] that also says where the line ends if, once it has been followed
/// for a seam's minimum length, it may go on as a seam (`then_seam`): under [`Follow::Slit`], a
/// slit that ends before the valley because the fingers touch beyond it (see
/// [`bound_seam_continuations`]). Returns (the end under `mode`, the end with the
/// continuation; the same point without `then_seam`).
#[allow(clippy::too_many_arguments)]
fn follow_seam_on(
    value: &dyn Fn(Point2<f32>) -> Option<f32>,
    thr: f32,
    p: Point2<f32>,
    b: Vector2<f32>,
    f: f32,
    radius_px: f32,
    mode: Follow,
    then_seam: bool,
) -> (Point2<f32>, Point2<f32>) {
    /// One follower's state: its last point on the line (and the length there), how many
    /// steps in a row missed it, whether it has stopped, and whether the frame's border stopped
    /// it (then its last point stands whatever the length).
    #[derive(Clone, Copy)]
    struct Track {
        last_good: Option<(Point2<f32>, f32)>,
        misses: u32,
        done: bool,
        border: bool,
    }
    impl Track {
        fn step(&mut self, on_line: bool, cur: Point2<f32>, s: f32) {
            if self.done {
                return;
            }
            if on_line {
                self.misses = 0;
                self.last_good = Some((cur, s));
            } else {
                self.misses += 1;
                self.done = self.misses >= 2;
            }
        }
    }
    let perp = Vector2::new(-b.y, b.x);
    let hw = (2.0 * f + 4.0).round() as i32; // profile half-width, px
    // A seam runs straight along the gap's bisector: it may drift 1 px sideways per step, and
    // at most 0.3 px per px of length from the valley's line in total. The first step looks
    // for it anywhere within half the profile: the gap's floor at `p` is a few px wide where
    // converging fingers leave a narrow V, and the seam goes on from the floor's darkest point,
    // not necessarily from the one that `p` found.
    let mut track = (hw / 2).max(1);
    let mut line = p;
    let max_len = 0.4 * radius_px;
    let min_len = 2.0 * f + 6.0;
    let mut cur = p;
    // `own`: the follower under `mode`; `on`: the one that may continue as a seam.
    let mut own = Track {
        last_good: None,
        misses: 0,
        done: false,
        border: false,
    };
    let mut on = Track {
        done: !then_seam,
        ..own
    };
    let mut s = 0.0f32;
    let mut prof = Vec::with_capacity((2 * hw + 1) as usize);
    'walk: while s < max_len && !(own.done && on.done) {
        s += 1.0;
        let q = cur - b;
        prof.clear();
        for o in -hw..=hw {
            match value(q + perp * o as f32) {
                Some(v) => prof.push(v),
                None => {
                    for t in [&mut own, &mut on] {
                        t.border = !t.done;
                    }
                    break 'walk;
                }
            }
        }
        let (imin, vmin) = prof[(hw - track) as usize..=(hw + track) as usize]
            .iter()
            .enumerate()
            .map(|(i, &v)| (i + (hw - track) as usize, v))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("non-empty");
        let lmax = prof[..imin].iter().copied().fold(f32::MIN, f32::max);
        let rmax = prof[imin + 1..].iter().copied().fold(f32::MIN, f32::max);
        let side = lmax.min(rmax);
        let dip = side > thr && side - vmin >= SEAM_DIP * (side - thr);
        // Background through the line (a slit), or any seam where [`Follow`] allows one.
        let through = match mode {
            Follow::Seam => true,
            Follow::Slit => vmin < thr,
        };
        let long = on.last_good.is_some_and(|(_, len)| len >= min_len);
        cur = q + perp * (imin as f32 - hw as f32);
        if track > 1 {
            track = 1;
            line = cur;
        }
        if (cur - line).dot(&perp).abs() > 0.3 * s + 2.0 {
            break;
        }
        own.step(dip && through, cur, s);
        on.step(dip && (through || long), cur, s);
    }
    let end = |t: Track| match t.last_good {
        Some((g, _)) if t.border => g,
        Some((g, len)) if len >= min_len => g,
        _ => p,
    };
    let own_end = end(own);
    (own_end, if then_seam { end(on) } else { own_end })
}

// ---------------------------------------------------------------------------------------------
// ROI geometry and resampling

fn extract(frame: &Frame, small: &Small, hand: &Hand, lm: Landmarks, size: usize) -> Roi {
    let k1 = lm.index_middle.coords;
    let k2 = lm.ring_little.coords;
    let d = (k2 - k1).norm().max(1e-3);
    let u = (k2 - k1) / d;
    let mid = (k1 + k2) / 2.0;
    let mut n = Vector2::new(-u.y, u.x);
    if n.dot(&(lm.palm_center.coords - mid)) < 0.0 {
        n = -n;
    }
    // ROI unit coords (s, t) → frame: mid − (d/2) u + 0.25 d n + s d u + t d n.
    let origin = mid - u * (d / 2.0) + n * (0.25 * d);
    let at = |s: f32, t: f32| Point2::from(origin + u * (s * d) + n * (t * d));
    let corners = [at(0.0, 0.0), at(1.0, 0.0), at(1.0, 1.0), at(0.0, 1.0)];
    // Similarity on ROI pixel coordinates: frame = origin + (d/N)(x u + y n).
    let mirrored = u.x * n.y - u.y * n.x < 0.0;
    let scale = d / size as f32;
    let angle = u.y.atan2(u.x);
    let transform = RoiTransform {
        similarity: Similarity2::new(origin, angle, scale),
        mirrored,
    };

    let mut patch = GrayImage::new(size as u32, size as u32);
    let mut mask = GrayImage::new(size as u32, size as u32);
    // Box prefilter when downscaling: k×k bilinear samples per ROI pixel.
    let k = (scale / 1.0).ceil().clamp(1.0, 8.0) as usize;
    let k = if scale > 1.5 { k } else { 1 };
    let (mut outside, mut inside) = (0usize, 0usize);
    for y in 0..size {
        for x in 0..size {
            let mut acc = 0.0f32;
            let mut cnt = 0usize;
            for sy in 0..k {
                for sx in 0..k {
                    let px = x as f32 + (sx as f32 + 0.5) / k as f32;
                    let py = y as f32 + (sy as f32 + 0.5) / k as f32;
                    let p = origin + (u * px + n * py) * scale;
                    if let Some(v) = bilinear(frame, Channel::Gray, p.x, p.y) {
                        acc += v;
                        cnt += 1;
                    }
                }
            }
            let c = origin + (u * (x as f32 + 0.5) + n * (y as f32 + 0.5)) * scale;
            let in_frame = cnt > 0;
            if !in_frame {
                outside += 1;
            }
            let (sx, sy) = small.frame_to_small(c.x, c.y);
            let on_hand = in_frame && mask_at(hand, small, sx, sy);
            if on_hand {
                inside += 1;
            }
            let v = if cnt > 0 { acc / cnt as f32 } else { 0.0 };
            patch.put_pixel(
                x as u32,
                y as u32,
                image::Luma([v.round().clamp(0.0, 255.0) as u8]),
            );
            mask.put_pixel(
                x as u32,
                y as u32,
                image::Luma([if on_hand { 255 } else { 0 }]),
            );
        }
    }
    let total = (size * size) as f32;
    let mut quality = patch_quality(&patch, &mask);
    quality.valley_distance_px = d;
    quality.palm_radius_px = lm.palm_radius_px;
    quality.inside_fraction = inside as f32 / total;
    quality.outside_frame_fraction = outside as f32 / total;
    quality.segmentation_separability = hand.separability;
    Roi {
        patch,
        mask,
        landmarks: lm,
        transform,
        corners,
        quality,
    }
}

fn patch_quality(patch: &GrayImage, mask: &GrayImage) -> QualityReport {
    let (w, h) = patch.dimensions();
    let (mut n, mut sum, mut sum2, mut clipped) = (0usize, 0.0f64, 0.0f64, 0usize);
    for (p, m) in patch.pixels().zip(mask.pixels()) {
        if m.0[0] != 0 {
            let v = p.0[0] as f64;
            n += 1;
            sum += v;
            sum2 += v * v;
            if p.0[0] <= 3 || p.0[0] >= 252 {
                clipped += 1;
            }
        }
    }
    let mean = if n > 0 { sum / n as f64 } else { 0.0 };
    let var = if n > 0 {
        (sum2 / n as f64 - mean * mean).max(0.0)
    } else {
        0.0
    };
    let (mut lap, mut ln) = (0.0f64, 0usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let ok = [(x, y), (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                .iter()
                .all(|&(a, b)| mask.get_pixel(a, b).0[0] != 0);
            if !ok {
                continue;
            }
            let g = |a: u32, b: u32| patch.get_pixel(a, b).0[0] as f64;
            lap += (4.0 * g(x, y) - g(x - 1, y) - g(x + 1, y) - g(x, y - 1) - g(x, y + 1)).abs();
            ln += 1;
        }
    }
    let std = var.sqrt();
    QualityReport {
        valley_distance_px: 0.0,
        palm_radius_px: 0.0,
        inside_fraction: 0.0,
        outside_frame_fraction: 0.0,
        focus: if ln > 0 && std > 1e-6 {
            (lap / ln as f64 / std) as f32
        } else {
            0.0
        },
        mean_gray: mean as f32,
        contrast: std as f32,
        clipped_fraction: if n > 0 {
            clipped as f32 / n as f32
        } else {
            0.0
        },
        segmentation_separability: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::{FrameLayout, PixelFormat, Spectrum};

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Frame {
        Frame::from_gray8(
            GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)])),
            Spectrum::Visible,
        )
        .unwrap()
    }

    #[test]
    fn degenerate_frames_give_typed_errors() {
        let det = FullHandDetector::default();
        let noise = |x: u32, y: u32| {
            (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).to_le_bytes()[1]
        };
        for (name, f) in [
            ("1×1", gray(1, 1, |_, _| 0)),
            ("black", gray(640, 480, |_, _| 0)),
            ("white", gray(640, 480, |_, _| 255)),
            ("noise", gray(640, 480, noise)),
            ("half", gray(640, 480, |x, _| if x < 320 { 0 } else { 255 })),
            ("huge", gray(4000, 3000, |_, _| 128)),
        ] {
            let r = det.detect(&f);
            assert!(r.is_err(), "{name}: {:?}", r.map(|r| r.quality));
        }
        let over = FrameLimits {
            max_width: 100,
            ..FrameLimits::default()
        };
        let cfg = RoiConfig {
            limits: over,
            ..RoiConfig::default()
        };
        let det = FullHandDetector::new(cfg).unwrap();
        assert!(matches!(
            det.detect(&gray(101, 10, |_, _| 0)),
            Err(RoiError::Frame(FrameError::TooWide {
                width: 101,
                max: 100
            }))
        ));
    }

    /// Two fingers (bright, rounded profiles) pressed together along x = 0 for y in 0..40, a
    /// dark seam between them, then palm (flat bright) beyond y = 40; the gap (background)
    /// lies at y < 0. The follower walks from the gap's end down the seam to its end; on a
    /// palm without a seam it stays where it started.
    #[test]
    fn seam_continuations_stop_at_the_valley_row() {
        // Valleys in a row along x, fingers pointing up (−y); the middle one's slit ended at
        // y = −5 and its seam goes on to y = +20 (into the palm).
        let found = Found {
            valleys: [(0.0, 0.0); 3],
            dirs: [(0.0, -1.0); 3],
            center: (0.0, 50.0),
            radius: 20.0,
            pressed: [false; 3],
        };
        let row = |y1: f32| {
            [
                Point2::new(-30.0, 0.0),
                Point2::new(0.0, y1),
                Point2::new(30.0, 0.0),
            ]
        };
        // Bound: 0.05 × 20 px × f (1) = 1 px above the line y = 0, i.e. y = −1.
        let mut out = row(-5.0);
        bound_seam_continuations(
            &mut out,
            [None, Some(Point2::new(0.0, 20.0)), None],
            &found,
            1.0,
        );
        assert!((out[1].y + 1.0).abs() < 1e-4, "{:?}", out[1]);
        // Within the bound the continuation is taken as it is.
        let mut out = row(-9.0);
        bound_seam_continuations(
            &mut out,
            [None, Some(Point2::new(0.0, -3.0)), None],
            &found,
            1.0,
        );
        assert_eq!(out[1], Point2::new(0.0, -3.0));
        // A slit end already past the bound stays.
        let mut out = row(2.0);
        bound_seam_continuations(
            &mut out,
            [None, Some(Point2::new(0.0, 9.0)), None],
            &found,
            1.0,
        );
        assert_eq!(out[1], Point2::new(0.0, 2.0));
        // No continuation: nothing moves.
        let mut out = row(-5.0);
        bound_seam_continuations(&mut out, [None; 3], &found, 1.0);
        assert_eq!(out, row(-5.0));
    }

    #[test]
    fn seam_follower_stops_where_the_fingers_part() {
        let thr = 100.0;
        let fingers = |p: Point2<f32>| -> Option<f32> {
            if p.y < 0.0 {
                return Some(if p.x.abs() < 3.0 { 20.0 } else { 200.0 });
            }
            if p.y > 40.0 {
                return Some(200.0);
            }
            // Each finger 20 px wide, darker towards its edges; the seam is at x = 0.
            let e = (p.x.abs() % 20.0).min(20.0 - p.x.abs() % 20.0);
            Some(120.0 + 80.0 * (e / 10.0).min(1.0))
        };
        let b = Vector2::new(0.0, -1.0); // towards the fingertips (the gap)
        let q = follow_seam(
            &fingers,
            thr,
            Point2::new(0.0, 0.0),
            b,
            2.0,
            100.0,
            Follow::Seam,
        );
        assert!((q.y - 40.0).abs() <= 2.0 && q.x.abs() <= 1.0, "{q:?}");
        let palm = |p: Point2<f32>| {
            Some(if p.y < 0.0 && p.x.abs() < 3.0 {
                20.0
            } else {
                200.0
            })
        };
        let q = follow_seam(
            &palm,
            thr,
            Point2::new(0.0, 0.0),
            b,
            2.0,
            100.0,
            Follow::Seam,
        );
        assert_eq!(q, Point2::new(0.0, 0.0));
    }

    /// A slit (background seen between fingers that nearly touch, below the threshold) is
    /// followed to its end in slit mode; a seam that stays above the threshold (as dark as a
    /// palm crease) is not.
    #[test]
    fn slit_follower_needs_background_all_along() {
        let thr = 100.0;
        let hand = |seam: f32| {
            move |p: Point2<f32>| -> Option<f32> {
                if p.y < 0.0 {
                    return Some(if p.x.abs() < 3.0 { 20.0 } else { 200.0 });
                }
                if p.y > 40.0 {
                    return Some(200.0);
                }
                Some(if p.x.abs() < 1.0 { seam } else { 200.0 })
            }
        };
        let b = Vector2::new(0.0, -1.0);
        let p = Point2::new(0.0, 0.0);
        let q = follow_seam(&hand(60.0), thr, p, b, 2.0, 100.0, Follow::Slit);
        assert!((q.y - 40.0).abs() <= 2.0 && q.x.abs() <= 1.0, "{q:?}");
        assert_eq!(
            follow_seam(&hand(120.0), thr, p, b, 2.0, 100.0, Follow::Slit),
            p
        );
        // Without slit mode the dark line above the threshold is a seam.
        let q = follow_seam(&hand(120.0), thr, p, b, 2.0, 100.0, Follow::Seam);
        assert!((q.y - 40.0).abs() <= 2.0, "{q:?}");
    }

    /// A blurred step (bright hand, dark gap) along `b`: the edge offset is the step's middle
    /// whatever the blur, also where the step lies beyond the first span; a flat profile has
    /// none.
    #[test]
    fn edge_offset_finds_the_middle_of_a_blurred_step() {
        let b = Vector2::new(0.6f32, -0.8);
        let p = Point2::new(50.0f32, 50.0);
        for sigma in [0.7f32, 1.5, 2.5] {
            for t0 in [-4.3f32, 0.0, 0.7, 3.2, 8.6, -7.5] {
                let step = move |q: Point2<f32>| -> Option<f32> {
                    let t = (q - p).dot(&b);
                    Some(40.0 + 160.0 / (1.0 + ((t - t0) / sigma).exp()))
                };
                let Some(got) = edge_offset(&step, p, b) else {
                    panic!("sigma {sigma} t0 {t0}: no edge");
                };
                assert!((got - t0).abs() <= 0.25, "sigma {sigma} t0 {t0}: {got}");
            }
        }
        let flat = |_: Point2<f32>| Some(120.0f32);
        assert_eq!(edge_offset(&flat, p, b), None);
    }

    /// A tapering finger at 8° from the coarse axis: its midline is recovered to a fraction of a
    /// degree; with a neighbour pressed against it (no background between them) every section
    /// is too wide and there is no midline.
    #[test]
    fn finger_midline_recovers_the_axis_of_a_tapering_finger() {
        let ang = 8.0f32.to_radians();
        let axis = Vector2::new(ang.sin(), -ang.cos()); // up, leaning right
        let n = Vector2::new(-axis.y, axis.x);
        let base = Point2::new(100.0f32, 150.0);
        let finger = move |q: Point2<f32>, pressed: bool| -> Option<f32> {
            let d = q - base;
            let (along, across) = (d.dot(&axis), d.dot(&n));
            let half = 11.0 - 2.0 * (along / 100.0).clamp(0.0, 1.0);
            let inside = |e: f32| 30.0 + 170.0 / (1.0 + ((e.abs() - half) / 0.8).exp());
            let mut v = inside(across);
            if pressed {
                v = v.max(inside(across - 2.0 * half));
            }
            Some(v)
        };
        let p0 = (base.x + 3.0, base.y);
        let got = finger_midline(&|q| finger(q, false), 100.0, p0, (0.0, -1.0), 100.0, 24.0)
            .expect("a midline");
        let err = (got.0 * axis.x + got.1 * axis.y)
            .clamp(-1.0, 1.0)
            .acos()
            .to_degrees();
        assert!(err < 0.3, "{got:?}: {err}°");
        assert_eq!(
            finger_midline(&|q| finger(q, true), 100.0, p0, (0.0, -1.0), 100.0, 24.0),
            None
        );
    }

    /// The floor fit: the vertex of a wide, noisy web floor off the fan's middle; a floor
    /// too narrow, a straight (tilted) one or one whose deepest point lies at its end gives none.
    #[test]
    fn floor_vertex_finds_a_wide_floors_deepest_point() {
        // Shallow floor peaking at ray 14.6 of 25 (centre 12), ±0.2 px alternating noise.
        let floor: Vec<Option<f32>> = (0..25)
            .map(|k| {
                let noise = if k % 2 == 0 { 0.2 } else { -0.2 };
                Some(20.0 - 0.03 * (k as f32 - 14.6).powi(2) + noise)
            })
            .collect();
        let (x, d) = floor_vertex(&floor, 12.0, 8.0).expect("a vertex");
        assert!((x - 2.6).abs() < 0.6 && (d - 20.0).abs() < 0.3, "{x} {d}");
        // Too few rays on the floor.
        let narrow = [
            None,
            Some(3.0),
            Some(9.0),
            Some(10.0),
            Some(9.0),
            Some(3.0),
            None,
        ];
        assert_eq!(floor_vertex(&narrow, 3.0, 2.0), None);
        // A straight, tilted floor has no vertex inside it.
        let tilted: Vec<Option<f32>> = (0..13).map(|k| Some(10.0 + 0.1 * k as f32)).collect();
        assert_eq!(floor_vertex(&tilted, 6.0, 8.0), None);
        assert_eq!(floor_vertex(&[None; 5], 2.0, 8.0), None);
    }

    /// The deepest ray: between rays on a rounded floor, the middle of a flat one.
    #[test]
    fn deepest_ray_takes_a_flat_floors_middle() {
        // Rounded: a parabola peaking at 4.3.
        let round: Vec<Option<f32>> = (0..9)
            .map(|k| Some(10.0 - 0.5 * (k as f32 - 4.3).powi(2)))
            .collect();
        let (i, d) = deepest_ray(&round, 0.0).expect("a ray");
        assert!((i - 4.3).abs() < 0.05 && (d - 10.0).abs() < 0.05, "{i} {d}");
        // Flat from ray 2 to ray 7 (noise below FLOOR_NOISE, ray 6 deepest), walls beyond.
        let mut flat = vec![None, Some(3.0)];
        flat.extend([10.0, 10.1, 9.97, 10.05, 10.2, 10.0].map(Some));
        flat.extend([Some(4.0), None]);
        let (i, d) = deepest_ray(&flat, 4.0).expect("a ray");
        assert!(
            (i - 0.5).abs() < 1e-6 && (9.9..=10.2).contains(&d),
            "{i} {d}"
        );
        assert_eq!(deepest_ray(&[None, None], 1.0), None);
        // A step (one ray deeper by more than the noise) keeps the deepest ray.
        let step = [Some(5.0), Some(5.0), Some(6.0), Some(5.0)];
        assert_eq!(deepest_ray(&step, 0.0), Some((2.0, 6.0)));
    }

    #[test]
    fn config_validation_lists_every_issue() {
        let cfg = RoiConfig {
            roi_size_px: 8,
            detect_max_side_px: 10_000,
            ..RoiConfig::default()
        };
        assert_eq!(FullHandDetector::new(cfg).unwrap_err().issues.len(), 2);
    }

    /// The direct 3 × 3 closing (clipped square), as the hand-side vote first computed it.
    fn close_3x3_direct(src: &[u8], w: usize, h: usize) -> Vec<u8> {
        let morph = |src: &[u8], any: bool| -> Vec<u8> {
            let mut out = vec![0u8; w * h];
            for y in 0..h {
                for x in 0..w {
                    let mut acc = !any;
                    for yy in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                        for xx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                            if any {
                                acc |= src[yy * w + xx] != 0;
                            } else {
                                acc &= src[yy * w + xx] != 0;
                            }
                        }
                    }
                    out[y * w + x] = u8::from(acc);
                }
            }
            out
        };
        morph(&morph(src, true), false)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn separable_closing_equals_the_direct_one(
            (w, h, img) in proptest::strategy::Strategy::prop_flat_map((1usize..24, 1usize..24), |(w, h)| {
                (proptest::prelude::Just(w), proptest::prelude::Just(h),
                 proptest::collection::vec(0u8..2, w * h))
            })
        ) {
            let mut fast = img.clone();
            let mut tmp = vec![0u8; w * h];
            close_3x3(&mut fast, &mut tmp, w, h);
            proptest::prop_assert_eq!(fast, close_3x3_direct(&img, w, h));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        /// Never a panic, whatever the frame: random sizes, formats, strides and content
        /// (constant, noise, random bright blobs and bars).
        #[test]
        fn never_panics(w in 1u32..200, h in 1u32..160, fmt in 0usize..4, pad in 0usize..3,
                        mode in 0u8..4, seed: u64, nir: bool) {
            let fmt = [PixelFormat::Gray8, PixelFormat::Gray16, PixelFormat::Rgb8, PixelFormat::Bgr8][fmt];
            let bpp = fmt.bytes_per_pixel();
            let stride = w as usize * bpp + pad;
            let mut x = seed | 1;
            let mut rnd = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            let blobs: Vec<(f32, f32, f32)> = (0..6)
                .map(|_| ((rnd() % 200) as f32, (rnd() % 160) as f32, (rnd() % 40) as f32))
                .collect();
            let mut data = vec![0u8; stride * h as usize];
            for yy in 0..h as usize {
                for xx in 0..w as usize {
                    let v = match mode {
                        0 => (seed % 256) as u8,
                        1 => rnd() as u8,
                        2 => if blobs.iter().any(|&(bx, by, r)| (xx as f32 - bx).hypot(yy as f32 - by) < r) { 220 } else { 20 },
                        _ => if (xx / 7 + yy / 11) % 3 == 0 { 200 } else { 30 },
                    };
                    for b in 0..bpp {
                        data[yy * stride + xx * bpp + b] = v;
                    }
                }
            }
            let spectrum = if nir { Spectrum::NearInfrared { wavelength_nm: 940 } } else { Spectrum::Visible };
            let layout = FrameLayout { stride_bytes: stride, ..FrameLayout::packed(w, h, fmt, spectrum) };
            let frame = Frame::from_raw(layout, data).unwrap();
            let det = FullHandDetector::default();
            if let Ok(roi) = det.detect_unchecked(&frame) {
                proptest::prop_assert_eq!(roi.patch.dimensions(), (128, 128));
                proptest::prop_assert!(roi.quality.inside_fraction.is_finite());
            }
            let _ = det.detect(&frame);
            let _ = det.hand_mask(&frame);
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Stage timings on a synthetic 640×480 frame (`cargo test --release --lib stage_timings
    /// -- --ignored --nocapture`); informative only, never asserted.
    #[test]
    #[ignore]
    fn stage_timings() {
        let img = GrayImage::from_fn(640, 480, |x, y| {
            let (dx, dy) = (x as f32 - 320.0, y as f32 - 300.0);
            let palm = dx.abs() < 80.0 && dy.abs() < 80.0;
            let finger = (0..4).any(|i| {
                let fx = -60.0 + 40.0 * i as f32;
                (dx - fx).abs() < 13.0 && dy < 0.0 && dy > -200.0
            });
            image::Luma([if palm || finger { 180 } else { 25 }])
        });
        let frame =
            Frame::from_gray8(img, crate::Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap();
        let n = 200;
        // CPU time of this thread (ns) from Linux schedstat: independent of machine load.
        let cpu_ns = || -> Option<u64> {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let det = FullHandDetector::default();
        if let Some(c0) = cpu_ns() {
            for _ in 0..n {
                std::hint::black_box(det.detect(&frame).ok());
            }
            let c1 = cpu_ns().unwrap_or(c0);
            println!(
                "detect: {:.3} ms CPU per frame",
                (c1 - c0) as f64 / n as f64 / 1e6
            );
        }
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(Small::new(&frame, 400));
        }
        println!("small: {:?}", t.elapsed() / n);
        let small = Small::new(&frame, 400);
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(segment(&small).unwrap());
        }
        println!("segment: {:?}", t.elapsed() / n);
        let hand = segment(&small).unwrap();
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(find_landmarks(&frame, &small, &hand, true, VALLEY_SPACING).ok());
        }
        println!("landmarks: {:?}", t.elapsed() / n);
        if let Ok(found) = find_landmarks(&frame, &small, &hand, true, VALLEY_SPACING) {
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(refine(&frame, &small, &hand, &found));
            }
            println!("refine: {:?}", t.elapsed() / n);
            let lm = refine(&frame, &small, &hand, &found);
            let t = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(extract(&frame, &small, &hand, lm, 128));
            }
            println!("extract: {:?}", t.elapsed() / n);
        }
    }
}
