//! Synthetic palms: a deterministic hand generator for tests, examples and accuracy benchmarks
//! (feature `synth`).
//!
//! An [`Identity`] is a synthetic person's hand, fixed by a `u64` seed: hand side, palm and
//! finger geometry, the three principal lines (heart, head, life — a population prototype plus
//! per-identity deviations, so palms correlate the way real ones do, and often a fate line),
//! 100–200 secondary creases (denser near the principal lines and on the thenar eminence),
//! finger flexion and wrist creases, a cross-hatch of micro-wrinkles, skin mottling and fine
//! texture, and a palm-vein tree for near-infrared. Everything is rendered once into hand-space
//! textures (256 texels per palm width).
//!
//! A [`Generator`] turns `(identity, sample)` into a [`Capture`]: the visible frame (gray, and
//! RGB on request) and the matching NIR frame of the same pose, a ground-truth skin mask and
//! [`GroundTruth`] (valley landmarks, ROI square). Variation between samples: in-plane rotation,
//! out-of-plane tilt (perspective), translation, scale, finger and thumb spread, non-rigid
//! stretch, illumination gradient and vignetting, crease visibility (flexion/lighting), gain,
//! gamma, signal-dependent noise, occasional defocus and motion blur; scene options add
//! forearm, rings, bracelets, sleeves, textured backgrounds and contact-reader pegs
//! ([`CaptureOptions`]).
//!
//! # Coordinates
//! *Hand coordinates*: a canonical right hand seen palm-up, origin at the palm centre, x towards
//! the little finger, y towards the wrist, one unit = the palm width. Left hands are its mirror
//! image. *Frame coordinates*: pixels, origin at the top-left corner of the top-left pixel, so
//! pixel `(i, j)` covers `[i, i+1) × [j, j+1)`.
//!
//! # Determinism
//! A capture is a pure function of `(identity seed, sample seed, options)`: no global state,
//! integer PRNG (SplitMix64) streams per model part. Floating-point `sin`/`cos`/`exp` from the
//! platform's libm are used for geometry, so pixels are identical across runs and machines with
//! the same libm; a last-ulp difference elsewhere could flip an occasional 8-bit value.
//!
//! ```
//! use openpalm::synth::{CaptureOptions, Generator, Identity};
//! let generator = Generator::new(CaptureOptions { width_px: 160, height_px: 120, ..Default::default() })?;
//! let alice = Identity::from_seed(42);
//! let capture = generator.capture(&alice, 0);
//! assert_eq!(capture.nir.dimensions(), (160, 120));
//! let [k1, _, k2] = capture.truth.valleys;
//! assert!((capture.truth.roi.side_px - ((k2[0] - k1[0]).hypot(k2[1] - k1[1]))).abs() < 1e-3);
//! # Ok::<(), openpalm::ConfigError>(())
//! ```
//!
//! # As a sensor
//! A `SyntheticSensor` for the crate's sensor trait is a thin adapter: hold a [`Generator`],
//! the enrolled [`Identity`] (or a seed range) and a sample counter, and answer each frame
//! request with `generator.capture(&identity, counter)` — `visible`/`rgb` for a visible-light
//! sensor, `nir` for a near-infrared one, 8-bit, `width_px`×`height_px`, row-major.
//! [`Dataset`] iterates identities × samples for tests and benchmarks.
//!
//! # Known unrealistic aspects
//! Fingers are tapered capsules (no knuckle bulges or nails), shading is a distance-based
//! cylinder model (no real 3-D normals or specular skin), the background has no real objects,
//! and noise is white (no demosaicing or JPEG artefacts).

mod geom;
mod identity;
mod options;
mod render;
mod rng;

pub use identity::{HandSide, Identity};
pub use options::{Background, CaptureOptions};
pub use render::{Accessories, Capture, Dataset, Generator, GroundTruth, RoiSquare};
