//! How a camera driver plugs into openpalm: implement [`PalmSensor`].
//!
//! The fake driver below stands in for a vendor SDK that hands out BGR frames whose rows are
//! padded to 128 bytes (typical of DMA capture buffers), with a known pixel pitch and a
//! multi-spectral mode (visible + 850 nm NIR captured together). No encoding to PNG anywhere:
//! the driver copies its capture buffer straight into the caller's buffer.
//!
//! Run: `cargo run --example custom_sensor`

use openpalm::sensor::{MultiSpectralFrame, SensorError, SensorInfo};
use openpalm::{FrameLayout, FrameLimits, PalmSensor, PixelFormat, Spectrum};

/// The pretend SDK's error type; the driver wraps it in [`SensorError::Device`].
#[derive(Debug)]
struct SdkError(&'static str);

impl std::fmt::Display for SdkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for SdkError {}

/// A fake 320×240 BGR camera with a 128-byte-aligned stride and an NIR channel.
struct FakeCamera {
    frame_no: u32,
    unplugged: bool,
}

const W: u32 = 320;
const H: u32 = 240;
/// 320 × 3 = 960 bytes of pixels, padded to a multiple of 128 (1024).
const STRIDE: usize = (W as usize * 3).div_ceil(128) * 128;

impl FakeCamera {
    /// Pretend to DMA one BGR frame (a moving gradient) into `buf`.
    fn sdk_grab_bgr(&mut self, buf: &mut [u8]) -> Result<(), SdkError> {
        if self.unplugged {
            return Err(SdkError("camera unplugged"));
        }
        self.frame_no += 1;
        for (y, row) in buf.chunks_exact_mut(STRIDE).enumerate() {
            for x in 0..W as usize {
                let v = ((x + y + self.frame_no as usize) % 256) as u8;
                row[3 * x..3 * x + 3].copy_from_slice(&[v / 2, v, 255 - v]); // B, G, R
            }
            row[W as usize * 3..].fill(0); // padding: never read by openpalm
        }
        Ok(())
    }

    fn visible_layout() -> FrameLayout {
        FrameLayout {
            width: W,
            height: H,
            stride_bytes: STRIDE,
            pixel_format: PixelFormat::Bgr8,
            pixel_pitch_mm: Some(0.25),
            spectrum: Spectrum::Visible,
        }
    }

    fn nir_layout() -> FrameLayout {
        FrameLayout {
            stride_bytes: W as usize,
            pixel_format: PixelFormat::Gray8,
            spectrum: Spectrum::NearInfrared { wavelength_nm: 850 },
            ..Self::visible_layout()
        }
    }
}

impl PalmSensor for FakeCamera {
    fn info(&self) -> SensorInfo {
        SensorInfo {
            name: "demo reader".into(),
            model: "acme-pv320".into(),
            spectra: vec![
                Spectrum::Visible,
                Spectrum::NearInfrared { wavelength_nm: 850 },
            ],
        }
    }

    fn frame_layout(&mut self) -> Result<FrameLayout, SensorError> {
        Ok(Self::visible_layout())
    }

    fn read_frame(&mut self, buf: &mut [u8]) -> Result<(), SensorError> {
        let expected = Self::visible_layout().frame_bytes();
        if buf.len() as u64 != expected {
            return Err(SensorError::BufferSize {
                len: buf.len(),
                expected,
            });
        }
        self.sdk_grab_bgr(buf)
            .map_err(|e| SensorError::Device(Box::new(e)))
    }

    fn multispectral_layouts(&mut self) -> Result<[FrameLayout; 2], SensorError> {
        Ok([Self::visible_layout(), Self::nir_layout()])
    }

    fn read_multispectral(
        &mut self,
        visible: &mut [u8],
        nir: &mut [u8],
    ) -> Result<(), SensorError> {
        self.read_frame(visible)?;
        // The NIR frame of the same trigger: here simply a flat mid-gray.
        nir.fill(128);
        Ok(())
    }
}

fn main() -> Result<(), openpalm::Error> {
    let mut cam = FakeCamera {
        frame_no: 0,
        unplugged: false,
    };
    let info = cam.info();
    println!(
        "sensor: {} ({}), spectra {:?}",
        info.name, info.model, info.spectra
    );

    // Either let openpalm allocate...
    let frame = cam.capture()?;
    let l = frame.layout();
    println!(
        "frame: {}×{} {:?}, stride {} B, pitch {:?} mm",
        l.width, l.height, l.pixel_format, l.stride_bytes, l.pixel_pitch_mm
    );
    let gray = frame.to_gray8();
    println!("gray pixel (10, 20) = {}", gray.get_pixel(10, 20).0[0]);

    // ...or reuse one buffer across frames (no allocation per frame).
    let layout = cam.frame_layout()?;
    let mut buf = vec![0u8; layout.frame_bytes() as usize];
    for _ in 0..3 {
        cam.read_frame(&mut buf)?;
    }
    println!(
        "read 3 more frames into one reused buffer of {} B",
        buf.len()
    );

    let MultiSpectralFrame {
        visible,
        near_infrared,
    } = cam.capture_multispectral(&FrameLimits::default())?;
    println!(
        "multi-spectral pair: {:?} + {:?}",
        visible.spectrum(),
        near_infrared.spectrum()
    );

    // Driver failures arrive as typed errors, never panics.
    cam.unplugged = true;
    match cam.capture() {
        Err(e) => println!("after unplugging: {e}"),
        Ok(_) => unreachable!("an unplugged camera cannot deliver"),
    }
    Ok(())
}
