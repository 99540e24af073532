//! [`SyntheticSensor`]: the generator behind the [`PalmSensor`] trait.

use super::{Capture, Generator, GroundTruth, Identity};
use crate::sensor::{
    Frame, FrameLayout, PalmSensor, PixelFormat, SensorError, SensorInfo, Spectrum,
};

/// Near-infrared wavelength the synthetic NIR frames model, in nanometres.
pub const SYNTHETIC_NIR_WAVELENGTH_NM: u16 = 850;

/// Which frame of a [`Capture`] a [`SyntheticSensor`] delivers from
/// [`read_frame`](PalmSensor::read_frame). Multi-spectral capture always delivers the
/// visible (gray) and near-infrared frames together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntheticChannel {
    /// The visible-light frame, 8-bit gray.
    VisibleGray,
    /// The visible-light frame in colour (`Rgb8`); needs [`CaptureOptions::color`](super::CaptureOptions::color).
    VisibleRgb,
    /// The near-infrared frame, 8-bit gray.
    NearInfrared,
}

/// A sensor that photographs one synthetic [`Identity`]: sample `first_sample`, then the next,
/// and so on — the same hand presented again and again, each time with new pose, lighting and
/// noise. [`last_truth`](SyntheticSensor::last_truth) gives the ground truth of the frame just
/// read.
///
/// ```
/// use openpalm::sensor::PalmSensor;
/// use openpalm::synth::{CaptureOptions, Generator, Identity, SyntheticChannel, SyntheticSensor};
///
/// let generator = Generator::new(CaptureOptions::default())?;
/// let mut sensor =
///     SyntheticSensor::new(generator, Identity::from_seed(7), SyntheticChannel::NearInfrared);
/// let frame = sensor.capture()?;
/// assert_eq!((frame.width(), frame.height()), (640, 480));
/// assert!(frame.spectrum().is_near_infrared());
/// assert_eq!(sensor.last_truth().unwrap().sample, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SyntheticSensor {
    generator: Generator,
    identity: Identity,
    channel: SyntheticChannel,
    next_sample: u64,
    pending: Option<Capture>,
    last_truth: Option<GroundTruth>,
}

impl SyntheticSensor {
    /// A sensor delivering `channel` frames of `identity`, starting at sample 0.
    pub fn new(generator: Generator, identity: Identity, channel: SyntheticChannel) -> Self {
        Self {
            generator,
            identity,
            channel,
            next_sample: 0,
            pending: None,
            last_truth: None,
        }
    }

    /// Starts at sample `first` instead of 0 (e.g. enrol on samples 0–2, probe from 100 on).
    pub fn starting_at(mut self, first: u64) -> Self {
        self.next_sample = first;
        self.pending = None;
        self
    }

    /// The sample number the next frame will show.
    pub fn next_sample(&self) -> u64 {
        self.next_sample
    }

    /// Ground truth of the frame (or pair) read last; `None` before the first read.
    pub fn last_truth(&self) -> Option<&GroundTruth> {
        self.last_truth.as_ref()
    }

    /// The capture for the next sample, rendered once and kept until it is read.
    fn pending(&mut self) -> &Capture {
        let (generator, identity, sample) = (&self.generator, &self.identity, self.next_sample);
        self.pending
            .get_or_insert_with(|| generator.capture(identity, sample))
    }

    fn take(&mut self) -> Capture {
        self.pending();
        self.next_sample += 1;
        let capture = self.pending.take().expect("rendered above");
        self.last_truth = Some(capture.truth.clone());
        capture
    }

    fn layout_of(&self, channel: SyntheticChannel) -> FrameLayout {
        let o = self.generator.options();
        let (format, spectrum) = match channel {
            SyntheticChannel::VisibleGray => (PixelFormat::Gray8, Spectrum::Visible),
            SyntheticChannel::VisibleRgb => (PixelFormat::Rgb8, Spectrum::Visible),
            SyntheticChannel::NearInfrared => (
                PixelFormat::Gray8,
                Spectrum::NearInfrared {
                    wavelength_nm: SYNTHETIC_NIR_WAVELENGTH_NM,
                },
            ),
        };
        FrameLayout::packed(o.width_px, o.height_px, format, spectrum)
    }
}

fn copy_into(buf: &mut [u8], pixels: &[u8]) -> Result<(), SensorError> {
    if buf.len() != pixels.len() {
        return Err(SensorError::BufferSize {
            len: buf.len(),
            expected: pixels.len() as u64,
        });
    }
    buf.copy_from_slice(pixels);
    Ok(())
}

impl PalmSensor for SyntheticSensor {
    fn info(&self) -> SensorInfo {
        let spectra = match self.channel {
            SyntheticChannel::VisibleGray | SyntheticChannel::VisibleRgb => vec![
                Spectrum::Visible,
                Spectrum::NearInfrared {
                    wavelength_nm: SYNTHETIC_NIR_WAVELENGTH_NM,
                },
            ],
            SyntheticChannel::NearInfrared => vec![
                Spectrum::NearInfrared {
                    wavelength_nm: SYNTHETIC_NIR_WAVELENGTH_NM,
                },
                Spectrum::Visible,
            ],
        };
        SensorInfo {
            name: format!("synthetic identity {}", self.identity.seed()),
            model: "openpalm-synth".to_string(),
            spectra,
        }
    }

    fn frame_layout(&mut self) -> Result<FrameLayout, SensorError> {
        if self.channel == SyntheticChannel::VisibleRgb && !self.generator.options().color {
            return Err(SensorError::Unsupported {
                operation: "RGB frames from a generator without CaptureOptions::color",
            });
        }
        Ok(self.layout_of(self.channel))
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError> {
        let layout = self.frame_layout()?;
        if buf.len() as u64 != layout.frame_bytes() {
            return Err(SensorError::BufferSize {
                len: buf.len(),
                expected: layout.frame_bytes(),
            });
        }
        let capture = self.take();
        match self.channel {
            SyntheticChannel::VisibleGray => copy_into(buf, capture.visible.as_raw()),
            SyntheticChannel::NearInfrared => copy_into(buf, capture.nir.as_raw()),
            SyntheticChannel::VisibleRgb => match &capture.rgb {
                Some(rgb) => copy_into(buf, rgb.as_raw()),
                None => Err(SensorError::Unsupported {
                    operation: "RGB frames from a generator without CaptureOptions::color",
                }),
            },
        }
    }

    fn multispectral_layouts(&mut self) -> Result<[FrameLayout; 2], SensorError> {
        Ok([
            self.layout_of(SyntheticChannel::VisibleGray),
            self.layout_of(SyntheticChannel::NearInfrared),
        ])
    }

    fn read_multispectral(
        &mut self,
        visible: &mut [u8],
        near_infrared: &mut [u8],
    ) -> Result<(), SensorError> {
        let [lv, ln] = self.multispectral_layouts()?;
        for (buf, layout) in [(&*visible, lv), (&*near_infrared, ln)] {
            if buf.len() as u64 != layout.frame_bytes() {
                return Err(SensorError::BufferSize {
                    len: buf.len(),
                    expected: layout.frame_bytes(),
                });
            }
        }
        let capture = self.take();
        copy_into(visible, capture.visible.as_raw())?;
        copy_into(near_infrared, capture.nir.as_raw())
    }
}

impl SyntheticSensor {
    /// Convenience: the next capture's frames as a multi-spectral pair, with ground truth.
    pub fn capture_pair(&mut self) -> Result<(Frame, Frame, GroundTruth), SensorError> {
        let pair = self.capture_multispectral(&crate::sensor::FrameLimits::default())?;
        let truth = self.last_truth.clone().expect("set by read_multispectral");
        Ok((pair.visible, pair.near_infrared, truth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::CaptureOptions;

    fn small() -> Generator {
        Generator::new(CaptureOptions {
            width_px: 160,
            height_px: 120,
            ..CaptureOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn frames_are_the_generator_captures_in_sample_order() {
        let generator = small();
        let id = Identity::from_seed(3);
        let mut sensor =
            SyntheticSensor::new(generator.clone(), id.clone(), SyntheticChannel::VisibleGray)
                .starting_at(5);
        for sample in 5..7 {
            let frame = sensor.capture().unwrap();
            let expected = generator.capture(&id, sample);
            assert_eq!(frame.as_bytes(), expected.visible.as_raw().as_slice());
            assert_eq!(sensor.last_truth().unwrap().sample, sample);
            assert_eq!(frame.spectrum(), Spectrum::Visible);
        }
        assert_eq!(sensor.next_sample(), 7);
    }

    #[test]
    fn layout_does_not_advance_and_pair_shares_one_pose() {
        let generator = small();
        let id = Identity::from_seed(4);
        let mut sensor = SyntheticSensor::new(
            generator.clone(),
            id.clone(),
            SyntheticChannel::NearInfrared,
        );
        let a = sensor.frame_layout().unwrap();
        let b = sensor.frame_layout().unwrap();
        assert_eq!(a, b);
        assert_eq!(sensor.next_sample(), 0);
        let (vis, nir, truth) = sensor.capture_pair().unwrap();
        let expected = generator.capture(&id, 0);
        assert_eq!(vis.as_bytes(), expected.visible.as_raw().as_slice());
        assert_eq!(nir.as_bytes(), expected.nir.as_raw().as_slice());
        assert!(nir.spectrum().is_near_infrared());
        assert_eq!(truth.sample, 0);
    }

    #[test]
    fn wrong_buffer_and_missing_colour_are_typed_errors() {
        let mut sensor = SyntheticSensor::new(
            small(),
            Identity::from_seed(1),
            SyntheticChannel::VisibleGray,
        );
        let mut short = vec![0u8; 10];
        assert!(matches!(
            sensor.read_frame(&mut short),
            Err(SensorError::BufferSize {
                len: 10,
                expected: 19200
            })
        ));
        assert_eq!(
            sensor.next_sample(),
            0,
            "a rejected read consumes no sample"
        );
        let mut rgb = SyntheticSensor::new(
            small(),
            Identity::from_seed(1),
            SyntheticChannel::VisibleRgb,
        );
        assert!(matches!(
            rgb.frame_layout(),
            Err(SensorError::Unsupported { .. })
        ));
    }
}
