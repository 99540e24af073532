//! Sensors: where frames come from.
//!
//! A camera driver (USB, MIPI, a vendor SDK), a folder of image files or the synthetic
//! generator all feed the library through one trait, [`PalmSensor`], modelled on
//! `image::ImageDecoder`:
//!
//! 1. **describe** the device: [`PalmSensor::info`] ([`SensorInfo`]: name, model, spectra);
//! 2. **prepare**: [`PalmSensor::frame_layout`] reports the next frame's [`FrameLayout`]
//!    (width, height, stride, [`PixelFormat`], pixel pitch, [`Spectrum`]);
//! 3. **read**: [`PalmSensor::read_frame`] fills a caller-provided buffer of
//!    [`FrameLayout::frame_bytes`] bytes, so a driver copies (or DMAs) straight from its
//!    capture buffer and never encodes to PNG.
//!
//! [`PalmSensor::capture`] does 2 + 3 and returns an owned, validated [`Frame`]. Devices that
//! expose a visible and a near-infrared frame taken together (multi-spectral palm readers)
//! override [`PalmSensor::multispectral_layouts`] and [`PalmSensor::read_multispectral`];
//! everyone else inherits an [`SensorError::Unsupported`] default.
//!
//! Untrusted frames are bounded by [`FrameLimits`]; every violation is a [`FrameError`] that
//! carries the measured value and the bound.
//!
//! Adapters: [`ImageFileSensor`] (a list of files or a directory). See
//! `examples/custom_sensor.rs` for a camera driver implementing the trait.

mod file;
mod frame;

use std::path::PathBuf;

pub use file::{IMAGE_EXTENSIONS, ImageFileSensor};
pub use frame::{Frame, FrameError, FrameLayout, FrameLimits, PixelFormat, Spectrum};
pub(crate) use frame::{gray16_to_8, rgb_to_gray};

/// What a sensor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorInfo {
    /// A human-readable name for logs, e.g. `"front desk reader"` or a file folder.
    pub name: String,
    /// Vendor model or driver identifier, e.g. `"acme-pv200"`.
    pub model: String,
    /// The spectra the device captures in; non-empty. A multi-spectral device lists both.
    pub spectra: Vec<Spectrum>,
}

/// A visible and a near-infrared frame of the same presentation, captured together
/// (same hand pose up to the device's inter-frame delay).
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSpectralFrame {
    /// The visible-light frame (creases).
    pub visible: Frame,
    /// The near-infrared frame (veins).
    pub near_infrared: Frame,
}

/// A source of palm frames.
///
/// Implementors provide [`info`](PalmSensor::info), [`frame_layout`](PalmSensor::frame_layout)
/// and [`read_frame`](PalmSensor::read_frame); [`capture`](PalmSensor::capture) is provided.
///
/// Contract: `frame_layout` may be called any number of times before `read_frame` and
/// returns the layout of the frame the next `read_frame` delivers. A sensor with no more
/// frames (a file list at its end) returns [`SensorError::Exhausted`] from both.
pub trait PalmSensor {
    /// Describes the device.
    fn info(&self) -> SensorInfo;

    /// The layout of the next frame. Drivers with a fixed configuration return it unchanged;
    /// file-backed sensors decode the next file's header (and pixels) here.
    fn frame_layout(&mut self) -> Result<FrameLayout, SensorError>;

    /// Fills `buf` with the next frame in the layout last returned by
    /// [`frame_layout`](PalmSensor::frame_layout). `buf.len()` must equal
    /// [`FrameLayout::frame_bytes`]; otherwise [`SensorError::BufferSize`].
    fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError>;

    /// Captures the next frame into a new, validated [`Frame`], checking its layout against
    /// `limits` before allocating.
    fn capture_with_limits(&mut self, limits: &FrameLimits) -> Result<Frame, SensorError> {
        let layout = self.frame_layout()?;
        layout.validate(limits)?;
        let mut buf = vec![0u8; layout.frame_bytes() as usize];
        self.read_frame(&mut buf)?;
        Ok(Frame::from_raw_with_limits(layout, buf, limits)?)
    }

    /// [`capture_with_limits`](PalmSensor::capture_with_limits) with [`FrameLimits::default`].
    fn capture(&mut self) -> Result<Frame, SensorError> {
        self.capture_with_limits(&FrameLimits::default())
    }

    /// Layouts of the next multi-spectral pair: `[visible, near_infrared]`.
    /// Default: [`SensorError::Unsupported`].
    fn multispectral_layouts(&mut self) -> Result<[FrameLayout; 2], SensorError> {
        Err(SensorError::Unsupported {
            operation: "multi-spectral capture",
        })
    }

    /// Fills both buffers with a visible + NIR pair captured together, in the layouts from
    /// [`multispectral_layouts`](PalmSensor::multispectral_layouts).
    /// Default: [`SensorError::Unsupported`].
    fn read_multispectral(
        &mut self,
        visible: &mut [u8],
        near_infrared: &mut [u8],
    ) -> Result<(), SensorError> {
        let _ = (visible, near_infrared);
        Err(SensorError::Unsupported {
            operation: "multi-spectral capture",
        })
    }

    /// Captures a multi-spectral pair into owned frames (layouts checked against `limits`).
    fn capture_multispectral(
        &mut self,
        limits: &FrameLimits,
    ) -> Result<MultiSpectralFrame, SensorError> {
        let [lv, ln] = self.multispectral_layouts()?;
        lv.validate(limits)?;
        ln.validate(limits)?;
        let mut bv = vec![0u8; lv.frame_bytes() as usize];
        let mut bn = vec![0u8; ln.frame_bytes() as usize];
        self.read_multispectral(&mut bv, &mut bn)?;
        Ok(MultiSpectralFrame {
            visible: Frame::from_raw_with_limits(lv, bv, limits)?,
            near_infrared: Frame::from_raw_with_limits(ln, bn, limits)?,
        })
    }
}

impl<S: PalmSensor + ?Sized> PalmSensor for Box<S> {
    fn info(&self) -> SensorInfo {
        (**self).info()
    }
    fn frame_layout(&mut self) -> Result<FrameLayout, SensorError> {
        (**self).frame_layout()
    }
    fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError> {
        (**self).read_frame(buf)
    }
    fn multispectral_layouts(&mut self) -> Result<[FrameLayout; 2], SensorError> {
        (**self).multispectral_layouts()
    }
    fn read_multispectral(&mut self, v: &mut [u8], n: &mut [u8]) -> Result<(), SensorError> {
        (**self).read_multispectral(v, n)
    }
}

/// Acquiring a frame failed.
///
/// **Whose fault:** depends on the variant — the device or its driver ([`Device`](Self::Device)),
/// the frame's producer ([`Frame`](Self::Frame), [`Decode`](Self::Decode)), the environment
/// ([`Io`](Self::Io)) or the caller ([`BufferSize`](Self::BufferSize),
/// [`Unsupported`](Self::Unsupported)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SensorError {
    /// The frame or its layout is invalid or over the limits.
    #[error("{}{source}", path_prefix(path))]
    Frame {
        /// The file the frame came from, if any.
        path: Option<PathBuf>,
        /// What is wrong.
        source: FrameError,
    },
    /// An image file could not be decoded.
    #[error("{}: cannot decode: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// Reading a file or directory failed.
    #[error("{}{source}", path_prefix(path))]
    Io {
        /// The file or directory, if any.
        path: Option<PathBuf>,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory holds no supported image files.
    #[error("{}: no image files (png, bmp, jpg, jpeg, tif, tiff)", path.display())]
    NoImages {
        /// The directory.
        path: PathBuf,
    },
    /// The sensor has no more frames (end of a file list).
    #[error("the sensor has no more frames")]
    Exhausted,
    /// The caller's buffer does not match the announced layout.
    #[error("frame buffer has {len} bytes, the layout needs {expected}")]
    BufferSize {
        /// The buffer's length.
        len: usize,
        /// [`FrameLayout::frame_bytes`].
        expected: u64,
    },
    /// The sensor does not support this operation.
    #[error("unsupported by this sensor: {operation}")]
    Unsupported {
        /// The operation, e.g. `"multi-spectral capture"`.
        operation: &'static str,
    },
    /// A device or driver failure, wrapped from the driver's own error type.
    #[error("device: {0}")]
    Device(Box<dyn std::error::Error + Send + Sync>),
}

fn path_prefix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

impl From<FrameError> for SensorError {
    fn from(source: FrameError) -> Self {
        SensorError::Frame { path: None, source }
    }
}

impl From<FrameError> for crate::Error {
    fn from(e: FrameError) -> Self {
        crate::Error::Sensor(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed 4×2 Gray8 sensor with one byte of padding per row, for the provided methods.
    struct Fake {
        n: u8,
    }

    impl PalmSensor for Fake {
        fn info(&self) -> SensorInfo {
            SensorInfo {
                name: "fake".into(),
                model: "t".into(),
                spectra: vec![Spectrum::Visible],
            }
        }
        fn frame_layout(&mut self) -> Result<FrameLayout, SensorError> {
            Ok(FrameLayout {
                stride_bytes: 5,
                ..FrameLayout::packed(4, 2, PixelFormat::Gray8, Spectrum::Visible)
            })
        }
        fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError> {
            if buf.len() != 10 {
                return Err(SensorError::BufferSize {
                    len: buf.len(),
                    expected: 10,
                });
            }
            self.n += 1;
            buf.fill(self.n);
            Ok(())
        }
    }

    #[test]
    fn capture_uses_layout_and_limits() {
        let mut s = Fake { n: 0 };
        let f = s.capture().unwrap();
        assert_eq!(f.as_bytes(), &[1; 10]);
        assert_eq!(f.to_gray8().into_raw(), vec![1; 8]);
        let tight = FrameLimits {
            max_width: 3,
            ..FrameLimits::default()
        };
        assert!(matches!(
            s.capture_with_limits(&tight),
            Err(SensorError::Frame {
                source: FrameError::TooWide { width: 4, max: 3 },
                ..
            })
        ));
        let mut boxed: Box<dyn PalmSensor> = Box::new(Fake { n: 5 });
        assert_eq!(boxed.capture().unwrap().as_bytes()[0], 6);
        assert!(matches!(
            boxed.capture_multispectral(&FrameLimits::default()),
            Err(SensorError::Unsupported { .. })
        ));
        let err: crate::Error = FrameError::ZeroSize {
            width: 0,
            height: 0,
        }
        .into();
        assert!(matches!(
            err,
            crate::Error::Sensor(SensorError::Frame { .. })
        ));
    }
}
