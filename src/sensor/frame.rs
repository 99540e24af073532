//! [`Frame`]: owned pixels plus their [`FrameLayout`]; validation against [`FrameLimits`];
//! conversions to and from `image` types; gray views for processing.

use image::{DynamicImage, GrayImage, ImageBuffer, Luma, RgbImage};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The light a frame was captured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Spectrum {
    /// Visible light (roughly 400–700 nm): palm creases and texture.
    Visible,
    /// Near-infrared light, typically 760–950 nm: palm veins.
    NearInfrared {
        /// Peak wavelength of the illumination, in nanometres (e.g. 850 or 940).
        wavelength_nm: u16,
    },
}

impl Spectrum {
    /// `true` for [`Spectrum::NearInfrared`].
    pub const fn is_near_infrared(self) -> bool {
        matches!(self, Spectrum::NearInfrared { .. })
    }
}

/// How the bytes of one pixel are laid out.
///
/// Multi-byte samples ([`PixelFormat::Gray16`]) are **little-endian** in the byte buffer,
/// whatever the host's byte order, so a frame's bytes mean the same on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PixelFormat {
    /// One 8-bit luminance sample per pixel.
    Gray8,
    /// One 16-bit little-endian luminance sample per pixel, full scale 0..=65535. A sensor with
    /// 10- or 12-bit data shifts it left so that white is near 65535.
    Gray16,
    /// Three 8-bit samples per pixel: red, green, blue.
    Rgb8,
    /// Three 8-bit samples per pixel: blue, green, red (the order of most camera APIs).
    Bgr8,
    /// Four 8-bit samples per pixel: red, green, blue, alpha (alpha is ignored).
    Rgba8,
    /// Four 8-bit samples per pixel: blue, green, red, alpha (alpha is ignored).
    Bgra8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::Gray16 => 2,
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => 3,
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => 4,
        }
    }

    /// `true` when the format has colour channels.
    pub const fn is_colour(self) -> bool {
        !matches!(self, PixelFormat::Gray8 | PixelFormat::Gray16)
    }
}

/// Everything needed to interpret a frame's bytes.
///
/// Row `y` starts at byte `y * stride_bytes`; its first `width * bytes_per_pixel` bytes are
/// pixels, the rest (if any) is padding and is never read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameLayout {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Distance in bytes from the start of one row to the start of the next
    /// (≥ `width × bytes_per_pixel`).
    pub stride_bytes: usize,
    /// Pixel format.
    pub pixel_format: PixelFormat,
    /// Size of one pixel on the object (the palm) in millimetres, when the device knows it
    /// (fixed-focus contact readers, depth cameras); `None` for phones and unknown distances.
    pub pixel_pitch_mm: Option<f32>,
    /// The light the frame was captured in.
    pub spectrum: Spectrum,
}

impl FrameLayout {
    /// A tightly packed layout (`stride_bytes = width × bytes_per_pixel`) without pixel pitch.
    /// Saturates the stride on absurd widths; [`FrameLayout::validate`] then reports it.
    pub fn packed(width: u32, height: u32, pixel_format: PixelFormat, spectrum: Spectrum) -> Self {
        FrameLayout {
            width,
            height,
            stride_bytes: (width as usize).saturating_mul(pixel_format.bytes_per_pixel()),
            pixel_format,
            pixel_pitch_mm: None,
            spectrum,
        }
    }

    /// Bytes of pixel data in one row (`width × bytes_per_pixel`), without padding.
    pub fn row_bytes(&self) -> u64 {
        self.width as u64 * self.pixel_format.bytes_per_pixel() as u64
    }

    /// Size of a full frame buffer: `stride_bytes × height`. This is what
    /// [`PalmSensor::read_frame`](super::PalmSensor::read_frame) expects.
    pub fn frame_bytes(&self) -> u64 {
        (self.stride_bytes as u64).saturating_mul(self.height as u64)
    }

    /// The smallest buffer that holds the frame: every row but the last padded to the stride,
    /// the last one unpadded.
    pub fn min_buffer_bytes(&self) -> u64 {
        if self.height == 0 {
            return 0;
        }
        (self.stride_bytes as u64)
            .saturating_mul(self.height as u64 - 1)
            .saturating_add(self.row_bytes())
    }

    /// Checks the layout on its own and against `limits`: non-zero size, stride ≥ row bytes,
    /// a finite positive pixel pitch, and every limit.
    pub fn validate(&self, limits: &FrameLimits) -> Result<(), FrameError> {
        if self.width == 0 || self.height == 0 {
            return Err(FrameError::ZeroSize {
                width: self.width,
                height: self.height,
            });
        }
        if self.width > limits.max_width {
            return Err(FrameError::TooWide {
                width: self.width,
                max: limits.max_width,
            });
        }
        if self.height > limits.max_height {
            return Err(FrameError::TooTall {
                height: self.height,
                max: limits.max_height,
            });
        }
        let pixels = self.width as u64 * self.height as u64;
        if pixels > limits.max_pixels {
            return Err(FrameError::TooManyPixels {
                pixels,
                max: limits.max_pixels,
            });
        }
        if (self.stride_bytes as u64) < self.row_bytes() {
            return Err(FrameError::StrideTooSmall {
                stride_bytes: self.stride_bytes,
                min: self.row_bytes(),
            });
        }
        let bytes = self.frame_bytes();
        if bytes > limits.max_bytes {
            return Err(FrameError::TooManyBytes {
                bytes,
                max: limits.max_bytes,
            });
        }
        if let Some(p) = self.pixel_pitch_mm
            && !(p.is_finite() && p > 0.0)
        {
            return Err(FrameError::InvalidPixelPitch { pixel_pitch_mm: p });
        }
        Ok(())
    }
}

/// Bounds for untrusted frames (from a driver, a file, a network peer).
///
/// The defaults admit a 12-megapixel phone frame (4032×3024, also 16:9 and rotated) with
/// margin, in any pixel format, and nothing that could make a decoder or the ROI detector
/// allocate more than about 100 MiB per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameLimits {
    /// Maximum width in pixels. Default 8192.
    pub max_width: u32,
    /// Maximum height in pixels. Default 8192.
    pub max_height: u32,
    /// Maximum `width × height`. Default 16 000 000 (12 MP + a third).
    pub max_pixels: u64,
    /// Maximum frame buffer size (`stride_bytes × height`) in bytes. Default 100 MiB
    /// (16 MP × 4 bytes plus row padding).
    pub max_bytes: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_width: 8192,
            max_height: 8192,
            max_pixels: 16_000_000,
            max_bytes: 100 * 1024 * 1024,
        }
    }
}

/// A frame or frame layout is invalid. Every variant carries the measured value and the bound.
///
/// **Whose fault:** the frame's producer (a driver bug, a corrupt or hostile file), or limits
/// set too low for the deployment's camera.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Width or height is zero.
    #[error("frame is {width}×{height} px: both sides must be at least 1")]
    ZeroSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Width above [`FrameLimits::max_width`].
    #[error("frame width {width} px exceeds the limit {max} px")]
    TooWide {
        /// Width in pixels.
        width: u32,
        /// The limit.
        max: u32,
    },
    /// Height above [`FrameLimits::max_height`].
    #[error("frame height {height} px exceeds the limit {max} px")]
    TooTall {
        /// Height in pixels.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// `width × height` above [`FrameLimits::max_pixels`].
    #[error("frame has {pixels} pixels, limit {max}")]
    TooManyPixels {
        /// `width × height`.
        pixels: u64,
        /// The limit.
        max: u64,
    },
    /// `stride_bytes × height` above [`FrameLimits::max_bytes`].
    #[error("frame needs {bytes} bytes, limit {max}")]
    TooManyBytes {
        /// `stride_bytes × height`.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The stride is shorter than one row of pixels.
    #[error("stride {stride_bytes} bytes is less than one row of pixels ({min} bytes)")]
    StrideTooSmall {
        /// The declared stride.
        stride_bytes: usize,
        /// `width × bytes_per_pixel`.
        min: u64,
    },
    /// The pixel buffer's length does not fit the layout.
    #[error("pixel buffer has {len} bytes, the layout needs {min}..={max}")]
    BufferLength {
        /// The buffer's length.
        len: usize,
        /// [`FrameLayout::min_buffer_bytes`] (last row unpadded).
        min: u64,
        /// [`FrameLayout::frame_bytes`] (every row padded).
        max: u64,
    },
    /// The pixel pitch is not a finite positive number.
    #[error("pixel pitch {pixel_pitch_mm} mm is not a finite positive number")]
    InvalidPixelPitch {
        /// The declared pitch in millimetres.
        pixel_pitch_mm: f32,
    },
}

/// One captured frame: owned pixel bytes and their layout, validated at construction.
///
/// Build one with [`Frame::from_raw`] (drivers: no encoding needed) or from `image` types
/// ([`Frame::from_dynamic`], [`Frame::from_gray8`], …); get pixels back with
/// [`Frame::to_dynamic`], or a gray version for processing with [`Frame::to_gray8`] /
/// [`Frame::to_gray_f32`].
///
/// ## Gray conversion
/// - Gray8: as is. Gray16: rounded to 8 bits (`(v + 128) / 257`) or to `v / 65535`.
/// - Colour, [`Spectrum::Visible`]: ITU-R BT.601 luma, `Y = 0.299 R + 0.587 G + 0.114 B`
///   (in 8-bit integer arithmetic `(77 R + 150 G + 29 B + 128) >> 8`). Alpha is ignored.
/// - Colour, [`Spectrum::NearInfrared`]: the plain mean `(R + G + B) / 3`. Under NIR light the
///   colour filters of a Bayer sensor pass nearly the same signal, so the mean is the
///   least noisy estimate and luma weights would only over-weight green's noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    layout: FrameLayout,
    data: Vec<u8>,
}

impl Frame {
    /// Wraps raw pixel bytes, checking them against [`FrameLimits::default`].
    /// See [`Frame::from_raw_with_limits`].
    pub fn from_raw(layout: FrameLayout, data: Vec<u8>) -> Result<Frame, FrameError> {
        Frame::from_raw_with_limits(layout, data, &FrameLimits::default())
    }

    /// Wraps raw pixel bytes in `layout`: validates the layout ([`FrameLayout::validate`]) and
    /// that `data.len()` lies between [`FrameLayout::min_buffer_bytes`] (last row unpadded)
    /// and [`FrameLayout::frame_bytes`] (every row padded). Does not copy.
    pub fn from_raw_with_limits(
        layout: FrameLayout,
        data: Vec<u8>,
        limits: &FrameLimits,
    ) -> Result<Frame, FrameError> {
        layout.validate(limits)?;
        let (min, max) = (layout.min_buffer_bytes(), layout.frame_bytes());
        let len = data.len() as u64;
        if len < min || len > max {
            return Err(FrameError::BufferLength {
                len: data.len(),
                min,
                max,
            });
        }
        Ok(Frame { layout, data })
    }

    /// The layout.
    pub fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.layout.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.layout.height
    }

    /// The spectrum the frame was captured in.
    pub fn spectrum(&self) -> Spectrum {
        self.layout.spectrum
    }

    /// Returns the frame with another spectrum (e.g. after [`Frame::from_dynamic`] of a NIR file).
    pub fn with_spectrum(mut self, spectrum: Spectrum) -> Frame {
        self.layout.spectrum = spectrum;
        self
    }

    /// Returns the frame with a pixel pitch in millimetres (validated: finite and positive).
    pub fn with_pixel_pitch_mm(mut self, pixel_pitch_mm: Option<f32>) -> Result<Frame, FrameError> {
        if let Some(p) = pixel_pitch_mm
            && !(p.is_finite() && p > 0.0)
        {
            return Err(FrameError::InvalidPixelPitch { pixel_pitch_mm: p });
        }
        self.layout.pixel_pitch_mm = pixel_pitch_mm;
        Ok(self)
    }

    /// Checks this frame against (possibly stricter) limits.
    pub fn check_limits(&self, limits: &FrameLimits) -> Result<(), FrameError> {
        self.layout.validate(limits)
    }

    /// The raw bytes, including row padding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Consumes the frame, returning layout and bytes.
    pub fn into_raw(self) -> (FrameLayout, Vec<u8>) {
        (self.layout, self.data)
    }

    /// The pixel bytes of row `y` (without padding). Panics if `y ≥ height` (a caller bug, not
    /// an input error).
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.layout.stride_bytes;
        &self.data[start..start + self.layout.row_bytes() as usize]
    }

    /// Converts row `y` to 8-bit gray (see the type's docs for the weights) into `out`, which
    /// must hold exactly `width` bytes. Panics on a wrong `out` length or `y ≥ height`.
    pub fn gray_row_into(&self, y: u32, out: &mut [u8]) {
        assert_eq!(out.len(), self.layout.width as usize, "output row length");
        let row = self.row(y);
        let nir = self.layout.spectrum.is_near_infrared();
        match self.layout.pixel_format {
            PixelFormat::Gray8 => out.copy_from_slice(row),
            PixelFormat::Gray16 => {
                for (o, p) in out.iter_mut().zip(row.chunks_exact(2)) {
                    *o = gray16_to_8(u16::from_le_bytes([p[0], p[1]]));
                }
            }
            PixelFormat::Rgb8 => colour_row(row, 3, [0, 1, 2], nir, out),
            PixelFormat::Bgr8 => colour_row(row, 3, [2, 1, 0], nir, out),
            PixelFormat::Rgba8 => colour_row(row, 4, [0, 1, 2], nir, out),
            PixelFormat::Bgra8 => colour_row(row, 4, [2, 1, 0], nir, out),
        }
    }

    /// The frame as 8-bit gray (see the type's docs for the weights).
    pub fn to_gray8(&self) -> GrayImage {
        let (w, h) = (self.layout.width, self.layout.height);
        let mut buf = vec![0u8; w as usize * h as usize];
        for (y, out) in buf.chunks_exact_mut(w as usize).enumerate() {
            self.gray_row_into(y as u32, out);
        }
        GrayImage::from_raw(w, h, buf).expect("buffer sized to width × height")
    }

    /// The frame as gray `f32` in `[0, 1]`, shape `(height, width)` (row-major, `[[y, x]]`).
    /// Gray16 keeps its full precision (`v / 65535`); other formats go through
    /// [`Frame::gray_row_into`] and are divided by 255.
    pub fn to_gray_f32(&self) -> Array2<f32> {
        let (w, h) = (self.layout.width as usize, self.layout.height as usize);
        let mut out = Array2::<f32>::zeros((h, w));
        let mut tmp = vec![0u8; w];
        for (y, mut orow) in out.rows_mut().into_iter().enumerate() {
            if self.layout.pixel_format == PixelFormat::Gray16 {
                let row = self.row(y as u32);
                for (o, p) in orow.iter_mut().zip(row.chunks_exact(2)) {
                    *o = u16::from_le_bytes([p[0], p[1]]) as f32 / 65535.0;
                }
            } else {
                self.gray_row_into(y as u32, &mut tmp);
                for (o, &v) in orow.iter_mut().zip(&tmp) {
                    *o = v as f32 / 255.0;
                }
            }
        }
        out
    }

    /// The frame as an `image` type without loss: Gray8 → `ImageLuma8`, Gray16 →
    /// `ImageLuma16`, Rgb8/Bgr8 → `ImageRgb8`, Rgba8/Bgra8 → `ImageRgba8` (channels reordered
    /// to RGB, padding dropped).
    pub fn to_dynamic(&self) -> DynamicImage {
        let (w, h) = (self.layout.width, self.layout.height);
        let rows = (0..h).map(|y| self.row(y));
        match self.layout.pixel_format {
            PixelFormat::Gray8 => {
                let buf: Vec<u8> = rows.flatten().copied().collect();
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).expect("sized"))
            }
            PixelFormat::Gray16 => {
                let buf: Vec<u16> = rows
                    .flat_map(|r| r.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])))
                    .collect();
                DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, buf).expect("sized"))
            }
            PixelFormat::Rgb8 => {
                let buf: Vec<u8> = rows.flatten().copied().collect();
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).expect("sized"))
            }
            PixelFormat::Bgr8 => {
                let buf: Vec<u8> = rows
                    .flat_map(|r| r.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]))
                    .collect();
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).expect("sized"))
            }
            PixelFormat::Rgba8 => {
                let buf: Vec<u8> = rows.flatten().copied().collect();
                DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, buf).expect("sized"))
            }
            PixelFormat::Bgra8 => {
                let buf: Vec<u8> = rows
                    .flat_map(|r| r.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0], p[3]]))
                    .collect();
                DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, buf).expect("sized"))
            }
        }
    }

    /// Wraps an 8-bit gray image (no copy).
    pub fn from_gray8(image: GrayImage, spectrum: Spectrum) -> Result<Frame, FrameError> {
        let (w, h) = image.dimensions();
        Frame::from_image_parts(w, h, PixelFormat::Gray8, spectrum, image.into_raw())
    }

    /// Wraps a 16-bit gray image (samples stored little-endian).
    pub fn from_gray16(
        image: ImageBuffer<Luma<u16>, Vec<u16>>,
        spectrum: Spectrum,
    ) -> Result<Frame, FrameError> {
        let (w, h) = image.dimensions();
        let bytes: Vec<u8> = image
            .as_raw()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        Frame::from_image_parts(w, h, PixelFormat::Gray16, spectrum, bytes)
    }

    /// Wraps an 8-bit RGB image (no copy).
    pub fn from_rgb8(image: RgbImage, spectrum: Spectrum) -> Result<Frame, FrameError> {
        let (w, h) = image.dimensions();
        Frame::from_image_parts(w, h, PixelFormat::Rgb8, spectrum, image.into_raw())
    }

    /// Converts any `image` image:
    /// `ImageLuma8` → Gray8, `ImageLuma16` → Gray16, `ImageRgb8` → Rgb8, `ImageRgba8` → Rgba8
    /// (all lossless); `ImageLumaA8` → Gray8 and `ImageLumaA16` → Gray16 (alpha dropped);
    /// 16-bit and float colour → Rgb8 (rounded to 8 bits, alpha dropped).
    pub fn from_dynamic(image: DynamicImage, spectrum: Spectrum) -> Result<Frame, FrameError> {
        match image {
            DynamicImage::ImageLuma8(i) => Frame::from_gray8(i, spectrum),
            DynamicImage::ImageLuma16(i) => Frame::from_gray16(i, spectrum),
            DynamicImage::ImageRgb8(i) => Frame::from_rgb8(i, spectrum),
            DynamicImage::ImageRgba8(i) => {
                let (w, h) = i.dimensions();
                Frame::from_image_parts(w, h, PixelFormat::Rgba8, spectrum, i.into_raw())
            }
            DynamicImage::ImageLumaA8(_) => Frame::from_gray8(image.into_luma8(), spectrum),
            DynamicImage::ImageLumaA16(_) => Frame::from_gray16(image.into_luma16(), spectrum),
            other => Frame::from_rgb8(other.into_rgb8(), spectrum),
        }
    }

    fn from_image_parts(
        w: u32,
        h: u32,
        pixel_format: PixelFormat,
        spectrum: Spectrum,
        data: Vec<u8>,
    ) -> Result<Frame, FrameError> {
        // The pixels already exist in memory, so only the structural checks apply here; use
        // `check_limits` to apply a deployment's bounds.
        let limits = FrameLimits {
            max_width: u32::MAX,
            max_height: u32::MAX,
            max_pixels: u64::MAX,
            max_bytes: u64::MAX,
        };
        Frame::from_raw_with_limits(
            FrameLayout::packed(w, h, pixel_format, spectrum),
            data,
            &limits,
        )
    }
}

impl From<Frame> for DynamicImage {
    fn from(frame: Frame) -> DynamicImage {
        frame.to_dynamic()
    }
}

/// Gray16 → Gray8 with rounding: `(v + 128) / 257`, so 0 → 0 and 65535 → 255.
#[inline]
pub(crate) fn gray16_to_8(v: u16) -> u8 {
    ((v as u32 + 128) / 257) as u8
}

/// Colour → gray for one pixel; `rgb` = the R, G, B samples.
#[inline]
pub(crate) fn rgb_to_gray(r: u8, g: u8, b: u8, nir: bool) -> u8 {
    if nir {
        ((r as u32 + g as u32 + b as u32 + 1) / 3) as u8
    } else {
        ((77 * r as u32 + 150 * g as u32 + 29 * b as u32 + 128) >> 8) as u8
    }
}

fn colour_row(row: &[u8], bpp: usize, idx: [usize; 3], nir: bool, out: &mut [u8]) {
    for (o, p) in out.iter_mut().zip(row.chunks_exact(bpp)) {
        *o = rgb_to_gray(p[idx[0]], p[idx[1]], p[idx[2]], nir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, Rgba};

    const VIS: Spectrum = Spectrum::Visible;

    fn layout(w: u32, h: u32, stride: usize, f: PixelFormat) -> FrameLayout {
        FrameLayout {
            width: w,
            height: h,
            stride_bytes: stride,
            pixel_format: f,
            pixel_pitch_mm: None,
            spectrum: VIS,
        }
    }

    #[test]
    fn raw_constructor_rejects_every_bad_layout() {
        let lim = FrameLimits {
            max_width: 100,
            max_height: 50,
            max_pixels: 3000,
            max_bytes: 10_000,
        };
        let f = |l: FrameLayout, n: usize| Frame::from_raw_with_limits(l, vec![0; n], &lim);
        assert_eq!(
            f(layout(0, 5, 0, PixelFormat::Gray8), 0),
            Err(FrameError::ZeroSize {
                width: 0,
                height: 5
            })
        );
        assert_eq!(
            f(layout(5, 0, 5, PixelFormat::Gray8), 0),
            Err(FrameError::ZeroSize {
                width: 5,
                height: 0
            })
        );
        assert_eq!(
            f(layout(101, 1, 101, PixelFormat::Gray8), 101),
            Err(FrameError::TooWide {
                width: 101,
                max: 100
            })
        );
        assert_eq!(
            f(layout(1, 51, 1, PixelFormat::Gray8), 51),
            Err(FrameError::TooTall {
                height: 51,
                max: 50
            })
        );
        assert_eq!(
            f(layout(100, 31, 100, PixelFormat::Gray8), 3100),
            Err(FrameError::TooManyPixels {
                pixels: 3100,
                max: 3000
            })
        );
        assert_eq!(
            f(layout(10, 10, 29, PixelFormat::Rgb8), 290),
            Err(FrameError::StrideTooSmall {
                stride_bytes: 29,
                min: 30
            })
        );
        assert_eq!(
            f(layout(100, 30, 400, PixelFormat::Rgba8), 12_000),
            Err(FrameError::TooManyBytes {
                bytes: 12_000,
                max: 10_000
            })
        );
        assert_eq!(
            f(layout(10, 10, 32, PixelFormat::Rgb8), 317),
            Err(FrameError::BufferLength {
                len: 317,
                min: 318,
                max: 320
            })
        );
        assert_eq!(
            f(layout(10, 10, 32, PixelFormat::Rgb8), 321),
            Err(FrameError::BufferLength {
                len: 321,
                min: 318,
                max: 320
            })
        );
        let mut l = layout(4, 4, 4, PixelFormat::Gray8);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            l.pixel_pitch_mm = Some(bad);
            assert!(matches!(
                f(l, 16),
                Err(FrameError::InvalidPixelPitch { .. })
            ));
        }
        l.pixel_pitch_mm = Some(0.1);
        assert!(f(l, 16).is_ok());
        // Both accepted lengths: last row unpadded, and fully padded.
        assert!(f(layout(10, 10, 32, PixelFormat::Rgb8), 318).is_ok());
        assert!(f(layout(10, 10, 32, PixelFormat::Rgb8), 320).is_ok());
        // Overflowing strides are reported, not wrapped.
        assert!(matches!(
            f(layout(1, 2, usize::MAX, PixelFormat::Gray8), 0),
            Err(FrameError::TooManyBytes { .. })
        ));
    }

    #[test]
    fn default_limits_admit_12_megapixels_in_any_format() {
        for fmt in [
            PixelFormat::Gray8,
            PixelFormat::Gray16,
            PixelFormat::Bgr8,
            PixelFormat::Bgra8,
        ] {
            for (w, h) in [(4032, 3024), (3024, 4032), (4624, 2604)] {
                let l = FrameLayout::packed(w, h, fmt, VIS);
                assert_eq!(
                    l.validate(&FrameLimits::default()),
                    Ok(()),
                    "{fmt:?} {w}×{h}"
                );
            }
        }
        let l = FrameLayout::packed(8192, 8192, PixelFormat::Gray8, VIS);
        assert!(l.validate(&FrameLimits::default()).is_err());
    }

    #[test]
    fn stride_padding_is_skipped() {
        // 3×2 Bgr8 with 2 bytes of padding per row, padding filled with 0xEE.
        let mut data = Vec::new();
        for y in 0..2u8 {
            for x in 0..3u8 {
                data.extend_from_slice(&[10 * x + y, 100 + x, 200 + y]); // B, G, R
            }
            data.extend_from_slice(&[0xEE, 0xEE]);
        }
        let f = Frame::from_raw(layout(3, 2, 11, PixelFormat::Bgr8), data).unwrap();
        let rgb = f.to_dynamic().into_rgb8();
        assert_eq!(rgb.dimensions(), (3, 2));
        for y in 0..2u8 {
            for x in 0..3u8 {
                assert_eq!(
                    rgb.get_pixel(x as u32, y as u32).0,
                    [200 + y, 100 + x, 10 * x + y]
                );
            }
        }
        let g = f.to_gray8();
        for y in 0..2u32 {
            for x in 0..3u32 {
                let p = rgb.get_pixel(x, y).0;
                let (got, want) = (g.get_pixel(x, y).0[0], rgb_to_gray_reference(p, false));
                assert!(got.abs_diff(want) <= 1, "{got} vs {want}");
            }
        }
    }

    fn rgb_to_gray_reference(p: [u8; 3], nir: bool) -> u8 {
        let (r, g, b) = (p[0] as f64, p[1] as f64, p[2] as f64);
        let v = if nir {
            (r + g + b) / 3.0
        } else {
            0.299 * r + 0.587 * g + 0.114 * b
        };
        v.round() as u8
    }

    #[test]
    fn gray_weights_match_the_documented_formulas() {
        for (i, p) in [
            [0u8, 0, 0],
            [255, 255, 255],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [12, 200, 77],
        ]
        .into_iter()
        .enumerate()
        {
            for nir in [false, true] {
                let got = rgb_to_gray(p[0], p[1], p[2], nir) as i32;
                let want = rgb_to_gray_reference(p, nir) as i32;
                assert!(
                    (got - want).abs() <= 1,
                    "case {i} nir={nir}: {got} vs {want}"
                );
            }
        }
        assert_eq!(gray16_to_8(0), 0);
        assert_eq!(gray16_to_8(65535), 255);
        assert_eq!(gray16_to_8(257 * 100), 100);
    }

    #[test]
    fn conversions_round_trip() {
        let g = GrayImage::from_fn(7, 5, |x, y| Luma([(x * 30 + y) as u8]));
        let f = Frame::from_gray8(g.clone(), VIS).unwrap();
        assert_eq!(f.to_gray8(), g);
        assert_eq!(f.to_dynamic().into_luma8(), g);

        let g16 = ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(6, 4, |x, y| {
            Luma([(x * 9000 + y * 7) as u16])
        });
        let f16 =
            Frame::from_gray16(g16.clone(), Spectrum::NearInfrared { wavelength_nm: 850 }).unwrap();
        assert_eq!(f16.layout().pixel_format, PixelFormat::Gray16);
        assert_eq!(f16.to_dynamic().into_luma16(), g16);
        let a = f16.to_gray_f32();
        assert_eq!(a.dim(), (4, 6));
        assert_eq!(a[[2, 3]], g16.get_pixel(3, 2).0[0] as f32 / 65535.0);

        let rgb = RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8 * 50, y as u8 * 80, 7]));
        let fr = Frame::from_dynamic(DynamicImage::ImageRgb8(rgb.clone()), VIS).unwrap();
        assert_eq!(fr.to_dynamic().into_rgb8(), rgb);
        let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_fn(3, 3, |x, y| {
            Rgba([x as u8, y as u8, 9, 128])
        }));
        let fa = Frame::from_dynamic(rgba.clone(), VIS).unwrap();
        assert_eq!(fa.layout().pixel_format, PixelFormat::Rgba8);
        assert_eq!(fa.to_dynamic(), rgba);

        // Bgra8 raw → RGBA image puts the channels back in order.
        let f = Frame::from_raw(layout(1, 1, 4, PixelFormat::Bgra8), vec![1, 2, 3, 4]).unwrap();
        assert_eq!(f.to_dynamic().into_rgba8().get_pixel(0, 0).0, [3, 2, 1, 4]);

        // Gray f32 of an 8-bit frame.
        let a = Frame::from_gray8(g.clone(), VIS).unwrap().to_gray_f32();
        assert_eq!(a[[4, 6]], g.get_pixel(6, 4).0[0] as f32 / 255.0);
    }

    #[test]
    fn nir_colour_frames_use_the_channel_mean() {
        let rgb = RgbImage::from_pixel(2, 2, Rgb([30, 90, 240]));
        let vis = Frame::from_rgb8(rgb.clone(), VIS).unwrap().to_gray8();
        let nir = Frame::from_rgb8(rgb, Spectrum::NearInfrared { wavelength_nm: 940 })
            .unwrap()
            .to_gray8();
        assert_eq!(nir.get_pixel(0, 0).0[0], 120);
        assert_eq!(
            vis.get_pixel(0, 0).0[0],
            rgb_to_gray_reference([30, 90, 240], false)
        );
    }

    #[test]
    fn empty_image_is_rejected() {
        assert_eq!(
            Frame::from_gray8(GrayImage::new(0, 3), VIS),
            Err(FrameError::ZeroSize {
                width: 0,
                height: 3
            })
        );
    }

    proptest::proptest! {
        /// Any valid layout with any padding: the gray view equals a naive per-pixel reference
        /// that reads through the stride, and `to_dynamic` drops exactly the padding.
        #[test]
        fn gray_view_matches_naive_reference(
            w in 1u32..9, h in 1u32..6, pad in 0usize..5, fmt_i in 0usize..6, nir: bool,
            seed: u64, unpadded_last: bool,
        ) {
            let fmt = [PixelFormat::Gray8, PixelFormat::Gray16, PixelFormat::Rgb8,
                PixelFormat::Bgr8, PixelFormat::Rgba8, PixelFormat::Bgra8][fmt_i];
            let bpp = fmt.bytes_per_pixel();
            let stride = w as usize * bpp + pad;
            let len = if unpadded_last { stride * (h as usize - 1) + w as usize * bpp } else { stride * h as usize };
            let mut x = seed | 1;
            let data: Vec<u8> = (0..len).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x as u8 }).collect();
            let spectrum = if nir { Spectrum::NearInfrared { wavelength_nm: 850 } } else { VIS };
            let l = FrameLayout { stride_bytes: stride, ..FrameLayout::packed(w, h, fmt, spectrum) };
            let f = Frame::from_raw(l, data.clone()).unwrap();
            let g = f.to_gray8();
            for yy in 0..h as usize {
                for xx in 0..w as usize {
                    let p = &data[yy * stride + xx * bpp..][..bpp];
                    let want = match fmt {
                        PixelFormat::Gray8 => p[0],
                        PixelFormat::Gray16 => (u16::from_le_bytes([p[0], p[1]]) as f64 / 257.0).round() as u8,
                        PixelFormat::Rgb8 | PixelFormat::Rgba8 => rgb_to_gray_reference([p[0], p[1], p[2]], nir),
                        PixelFormat::Bgr8 | PixelFormat::Bgra8 => rgb_to_gray_reference([p[2], p[1], p[0]], nir),
                    };
                    let got = g.get_pixel(xx as u32, yy as u32).0[0];
                    proptest::prop_assert!(got.abs_diff(want) <= 1, "{fmt:?} ({xx},{yy}): {got} vs {want}");
                }
            }
            let d = f.to_dynamic();
            proptest::prop_assert_eq!((d.width(), d.height()), (w, h));
            let back = Frame::from_dynamic(d, spectrum).unwrap();
            proptest::prop_assert_eq!(back.to_gray8(), g);
        }
    }
}
