//! Capture options and their validation.

use crate::error::{ConfigError, ConfigIssue};
use serde::{Deserialize, Serialize};

/// What lies behind the hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Background {
    /// Uniform near-black (a reader with a black hood).
    Black,
    /// Dark, textured and uneven (a desk, a monitor edge, shadows): the harder case.
    TexturedDark,
}

/// How captures vary. All ranges are inclusive `[min, max]` and are sampled uniformly per
/// capture. [`Default`] gives contactless captures as a palm reader sees them.
///
/// Validated by [`CaptureOptions::validate`] (called by [`Generator::new`](super::Generator::new)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureOptions {
    /// Frame width in pixels, 32..=4096. Default 640.
    pub width_px: u32,
    /// Frame height in pixels, 32..=4096. Default 480.
    pub height_px: u32,
    /// Maximum in-plane rotation in degrees, 0..=180 (180 = any orientation). Default 25.
    pub max_rotation_deg: f32,
    /// Maximum out-of-plane tilt of the hand in degrees (perspective, focal length = frame
    /// width), 0..=30. Default 10.
    pub max_tilt_deg: f32,
    /// Palm width as a fraction of the frame width, within 0.1..=0.9. Default [0.35, 0.55].
    pub palm_width_frac: [f32; 2],
    /// Maximum offset of the palm from the frame centre, as a fraction of each frame dimension,
    /// 0..=0.3. Default 0.08. Offsets that would push a valley landmark or the ROI out of the
    /// frame are redrawn.
    pub max_translation_frac: f32,
    /// Finger spread factor (multiplies the rest fan angles of the fingers), within
    /// 0.5..=2.0. Default [0.6, 1.6].
    pub finger_spread: [f32; 2],
    /// Maximum non-rigid stretch/shear of the hand (relative), 0..=0.15. Default 0.04.
    pub max_stretch: f32,
    /// Maximum illumination gradient across the frame (relative brightness change from the
    /// centre to a corner), 0..=0.8. Default 0.25.
    pub max_illumination_gradient: f32,
    /// Sensor gain range (multiplies the linear signal), within 0.3..=2.0. Default [0.8, 1.15].
    pub gain: [f32; 2],
    /// Gamma exponent range (output = (gain·signal)^gamma), within 0.4..=2.5. Default [0.85, 1.2].
    pub gamma: [f32; 2],
    /// Standard deviation of sensor noise at mid-gray, in 8-bit levels, 0..=30. Default 2.5.
    pub noise_sigma: f32,
    /// Probability that a capture is defocused, 0..=1. Default 0.15.
    pub defocus_probability: f32,
    /// Maximum defocus blur (Gaussian σ in pixels), 0..=10. Default 2.5.
    pub max_defocus_sigma_px: f32,
    /// Probability that the hand moves during the exposure (linear motion blur), 0..=1.
    /// Default 0.1.
    pub motion_blur_probability: f32,
    /// Maximum motion-blur length in pixels, 0..=30. Default 8.
    pub max_motion_blur_px: f32,
    /// Whether the forearm continues out of the frame (true) or the arm ends shortly below the
    /// wrist, as when a reader's illumination does not reach it (false). Default true.
    pub forearm: bool,
    /// Probability that the identity wears a ring in a capture, 0..=1. Default 0.1.
    pub ring_probability: f32,
    /// Probability of a bracelet or watch strap at the wrist, 0..=1. Default 0.1.
    pub bracelet_probability: f32,
    /// Probability of a sleeve covering the forearm, 0..=1. Default 0.3.
    pub sleeve_probability: f32,
    /// Scene behind the hand. Default [`Background::TexturedDark`].
    pub background: Background,
    /// Contact-reader mode: guide pegs stand in the finger gaps. Default false.
    pub contact_pegs: bool,
    /// Also render the visible frame in RGB colour ([`Capture::rgb`](super::Capture::rgb)).
    /// Default false.
    pub color: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            width_px: 640,
            height_px: 480,
            max_rotation_deg: 25.0,
            max_tilt_deg: 10.0,
            palm_width_frac: [0.35, 0.55],
            max_translation_frac: 0.08,
            finger_spread: [0.6, 1.6],
            max_stretch: 0.04,
            max_illumination_gradient: 0.25,
            gain: [0.8, 1.15],
            gamma: [0.85, 1.2],
            noise_sigma: 2.5,
            defocus_probability: 0.15,
            max_defocus_sigma_px: 2.5,
            motion_blur_probability: 0.1,
            max_motion_blur_px: 8.0,
            forearm: true,
            ring_probability: 0.1,
            bracelet_probability: 0.1,
            sleeve_probability: 0.3,
            background: Background::TexturedDark,
            contact_pegs: false,
            color: false,
        }
    }
}

fn scalar(issues: &mut Vec<ConfigIssue>, field: &str, v: f32, lo: f32, hi: f32) {
    if !(v >= lo && v <= hi) {
        issues.push(ConfigIssue {
            field: format!("synth.{field}"),
            value: format!("{v}"),
            bound: format!("must be within {lo}..={hi}"),
        });
    }
}

fn range(issues: &mut Vec<ConfigIssue>, field: &str, v: [f32; 2], lo: f32, hi: f32) {
    if !(v[0] >= lo && v[1] <= hi && v[0] <= v[1]) {
        issues.push(ConfigIssue {
            field: format!("synth.{field}"),
            value: format!("[{}, {}]", v[0], v[1]),
            bound: format!("must satisfy {lo} ≤ min ≤ max ≤ {hi}"),
        });
    }
}

impl CaptureOptions {
    /// Checks every field against its documented bound; lists all offending fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut is = Vec::new();
        for (f, v) in [("width_px", self.width_px), ("height_px", self.height_px)] {
            if !(32..=4096).contains(&v) {
                is.push(ConfigIssue {
                    field: format!("synth.{f}"),
                    value: v.to_string(),
                    bound: "must be within 32..=4096".into(),
                });
            }
        }
        scalar(
            &mut is,
            "max_rotation_deg",
            self.max_rotation_deg,
            0.0,
            180.0,
        );
        scalar(&mut is, "max_tilt_deg", self.max_tilt_deg, 0.0, 30.0);
        range(&mut is, "palm_width_frac", self.palm_width_frac, 0.1, 0.9);
        scalar(
            &mut is,
            "max_translation_frac",
            self.max_translation_frac,
            0.0,
            0.3,
        );
        range(&mut is, "finger_spread", self.finger_spread, 0.5, 2.0);
        scalar(&mut is, "max_stretch", self.max_stretch, 0.0, 0.15);
        scalar(
            &mut is,
            "max_illumination_gradient",
            self.max_illumination_gradient,
            0.0,
            0.8,
        );
        range(&mut is, "gain", self.gain, 0.3, 2.0);
        range(&mut is, "gamma", self.gamma, 0.4, 2.5);
        scalar(&mut is, "noise_sigma", self.noise_sigma, 0.0, 30.0);
        scalar(
            &mut is,
            "defocus_probability",
            self.defocus_probability,
            0.0,
            1.0,
        );
        scalar(
            &mut is,
            "max_defocus_sigma_px",
            self.max_defocus_sigma_px,
            0.0,
            10.0,
        );
        scalar(
            &mut is,
            "motion_blur_probability",
            self.motion_blur_probability,
            0.0,
            1.0,
        );
        scalar(
            &mut is,
            "max_motion_blur_px",
            self.max_motion_blur_px,
            0.0,
            30.0,
        );
        scalar(&mut is, "ring_probability", self.ring_probability, 0.0, 1.0);
        scalar(
            &mut is,
            "bracelet_probability",
            self.bracelet_probability,
            0.0,
            1.0,
        );
        scalar(
            &mut is,
            "sleeve_probability",
            self.sleeve_probability,
            0.0,
            1.0,
        );
        ConfigError::check(is)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        CaptureOptions::default().validate().unwrap();
    }

    #[test]
    fn every_bad_field_is_listed_with_value_and_bound() {
        let o = CaptureOptions {
            width_px: 10,
            max_rotation_deg: f32::NAN,
            palm_width_frac: [0.6, 0.4],
            noise_sigma: 31.0,
            ..CaptureOptions::default()
        };
        let e = o.validate().unwrap_err();
        let fields: Vec<&str> = e.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "synth.width_px",
                "synth.max_rotation_deg",
                "synth.palm_width_frac",
                "synth.noise_sigma"
            ]
        );
        assert_eq!(e.issues[0].value, "10");
        assert!(e.issues[3].bound.contains("30"));
    }

    #[test]
    fn serde_rejects_unknown_fields() {
        let e = serde_json::from_str::<CaptureOptions>(r#"{"width_px": 320, "wdth": 1}"#);
        assert!(e.is_err());
        let o: CaptureOptions = serde_json::from_str(r#"{"width_px": 320}"#).unwrap();
        assert_eq!(o.width_px, 320);
        assert_eq!(o.height_px, 480);
    }
}
