//! The extractor input: a square normalised gray patch plus a validity mask.

use ndarray::{Array2, ArrayView2};

use super::FeatureError;

/// A normalised palm ROI: a square gray patch and a validity mask of the same shape.
///
/// Conventions:
/// - **Pixels** are linear gray values as `f32`, nominally in `[0, 1]` (0 = black, 1 = white;
///   8-bit images are divided by 255). Any finite value is accepted; thresholds that are stated
///   "in intensity units" assume this `[0, 1]` scale.
/// - **Geometry**: row-major, row 0 is the top of the ROI, column 0 the left; `x` grows to the
///   right and `y` downwards, so angles measured from `+x` towards `+y` run **clockwise on
///   screen**. The ROI detector is expected to have rotated the palm upright (fingers up) and
///   scaled it so that the ROI side is the configured `roi_side` (default
///   [`RoiImage::DEFAULT_SIDE`] = 128 px).
/// - **Mask**: `true` = the pixel shows the palm and is usable; `false` = outside the hand,
///   saturated, or otherwise invalid. Extractors never read invalid pixels' values directly:
///   they are replaced by the mean of the valid pixels, and code cells whose filter core
///   touches an invalid pixel are masked out.
///
/// The ROI detector's output converts in one line, e.g.
/// `RoiImage::new(roi_f32_array, mask_bool_array)?` or
/// `RoiImage::from_gray(&gray_image, Some(&mask_image))?`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiImage {
    side: usize,
    pixels: Vec<f32>,
    mask: Vec<bool>,
}

impl RoiImage {
    /// The default ROI side in pixels.
    pub const DEFAULT_SIDE: usize = 128;
    /// Smallest accepted side (px).
    pub const MIN_SIDE: usize = 16;
    /// Largest accepted side (px).
    pub const MAX_SIDE: usize = 1024;

    /// An ROI from a pixel array and a mask of the same square shape.
    ///
    /// Fails when the shape is not square, the side is outside
    /// [`MIN_SIDE`](Self::MIN_SIDE)`..=`[`MAX_SIDE`](Self::MAX_SIDE), the shapes differ, or a
    /// pixel is not finite.
    pub fn new(pixels: Array2<f32>, mask: Array2<bool>) -> Result<Self, FeatureError> {
        let (rows, cols) = pixels.dim();
        Self::check_shape(rows, cols)?;
        if mask.dim() != (rows, cols) {
            return Err(FeatureError::MaskShape {
                mask_rows: mask.nrows(),
                mask_cols: mask.ncols(),
                rows,
                cols,
            });
        }
        let pixels: Vec<f32> = pixels.iter().copied().collect();
        let mask: Vec<bool> = mask.iter().copied().collect();
        Self::from_parts(rows, pixels, mask)
    }

    /// An ROI where every pixel is valid.
    pub fn unmasked(pixels: Array2<f32>) -> Result<Self, FeatureError> {
        let dim = pixels.dim();
        Self::new(pixels, Array2::from_elem(dim, true))
    }

    /// An ROI from an 8-bit gray image (divided by 255) and an optional 8-bit mask image
    /// (non-zero = valid; `None` = all valid).
    pub fn from_gray(
        image: &image::GrayImage,
        mask: Option<&image::GrayImage>,
    ) -> Result<Self, FeatureError> {
        let (cols, rows) = (image.width() as usize, image.height() as usize);
        Self::check_shape(rows, cols)?;
        let pixels: Vec<f32> = image.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
        let mask: Vec<bool> = match mask {
            Some(m) => {
                let (mc, mr) = (m.width() as usize, m.height() as usize);
                if (mr, mc) != (rows, cols) {
                    return Err(FeatureError::MaskShape {
                        mask_rows: mr,
                        mask_cols: mc,
                        rows,
                        cols,
                    });
                }
                m.as_raw().iter().map(|&v| v != 0).collect()
            }
            None => vec![true; rows * cols],
        };
        Self::from_parts(rows, pixels, mask)
    }

    /// An ROI built pixel by pixel: `f(row, col)` gives `(value, valid)`.
    pub fn from_fn(
        side: usize,
        mut f: impl FnMut(usize, usize) -> (f32, bool),
    ) -> Result<Self, FeatureError> {
        Self::check_shape(side, side)?;
        let mut pixels = Vec::with_capacity(side * side);
        let mut mask = Vec::with_capacity(side * side);
        for r in 0..side {
            for c in 0..side {
                let (v, m) = f(r, c);
                pixels.push(v);
                mask.push(m);
            }
        }
        Self::from_parts(side, pixels, mask)
    }

    fn check_shape(rows: usize, cols: usize) -> Result<(), FeatureError> {
        if rows != cols {
            return Err(FeatureError::NotSquare { rows, cols });
        }
        if !(Self::MIN_SIDE..=Self::MAX_SIDE).contains(&rows) {
            return Err(FeatureError::SideOutOfRange {
                side: rows,
                min: Self::MIN_SIDE,
                max: Self::MAX_SIDE,
            });
        }
        Ok(())
    }

    fn from_parts(side: usize, pixels: Vec<f32>, mask: Vec<bool>) -> Result<Self, FeatureError> {
        if let Some(i) = pixels.iter().position(|v| !v.is_finite()) {
            return Err(FeatureError::NonFinitePixel {
                row: i / side,
                col: i % side,
            });
        }
        Ok(Self { side, pixels, mask })
    }

    /// Side length in pixels.
    pub fn side(&self) -> usize {
        self.side
    }

    /// The pixels, row-major, `side · side` values.
    pub fn pixel_slice(&self) -> &[f32] {
        &self.pixels
    }

    /// The mask, row-major, `side · side` values (`true` = valid).
    pub fn mask_slice(&self) -> &[bool] {
        &self.mask
    }

    /// The pixels as a `side × side` array view (`[row, col]`).
    pub fn pixels(&self) -> ArrayView2<'_, f32> {
        ArrayView2::from_shape((self.side, self.side), &self.pixels)
            .expect("RoiImage invariant: side² pixels")
    }

    /// The mask as a `side × side` array view (`[row, col]`, `true` = valid).
    pub fn mask(&self) -> ArrayView2<'_, bool> {
        ArrayView2::from_shape((self.side, self.side), &self.mask)
            .expect("RoiImage invariant: side² mask values")
    }

    /// Fraction of valid pixels, in `[0, 1]`.
    pub fn valid_fraction(&self) -> f64 {
        self.mask.iter().filter(|&&m| m).count() as f64 / self.mask.len() as f64
    }

    /// Mean of the valid pixels (0 when none is valid).
    pub(crate) fn valid_mean(&self) -> f32 {
        let (mut sum, mut n) = (0f64, 0usize);
        for (&v, &m) in self.pixels.iter().zip(&self.mask) {
            if m {
                sum += v as f64;
                n += 1;
            }
        }
        if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_shapes_and_values() {
        let e = RoiImage::unmasked(Array2::zeros((20, 21))).unwrap_err();
        assert_eq!(e, FeatureError::NotSquare { rows: 20, cols: 21 });
        let e = RoiImage::unmasked(Array2::zeros((8, 8))).unwrap_err();
        assert!(matches!(e, FeatureError::SideOutOfRange { side: 8, .. }));
        let e = RoiImage::new(Array2::zeros((20, 20)), Array2::from_elem((20, 19), true));
        assert!(matches!(
            e,
            Err(FeatureError::MaskShape { mask_cols: 19, .. })
        ));
        let mut px = Array2::zeros((20, 20));
        px[[3, 5]] = f32::NAN;
        let e = RoiImage::unmasked(px).unwrap_err();
        assert_eq!(e, FeatureError::NonFinitePixel { row: 3, col: 5 });
    }

    #[test]
    fn gray_conversion_and_views() {
        let img = image::GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 16 + y) as u8]));
        let mask = image::GrayImage::from_fn(16, 16, |x, _| image::Luma([(x < 8) as u8 * 255]));
        let roi = RoiImage::from_gray(&img, Some(&mask)).unwrap();
        assert_eq!(roi.side(), 16);
        assert_eq!(roi.pixels()[[2, 3]], (3 * 16 + 2) as f32 / 255.0);
        assert!(roi.mask()[[0, 7]] && !roi.mask()[[0, 8]]);
        assert!((roi.valid_fraction() - 0.5).abs() < 1e-12);
    }
}
