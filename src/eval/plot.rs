//! Plots: DET curves on normal-deviate axes and mated/non-mated distance histograms, as SVG
//! and PNG (feature `plot`, on by default).
//!
//! Drawn with `plotters` (pure Rust, no system libraries). Text in PNGs is rendered with the
//! bundled DejaVu Sans (Bitstream Vera licence, see `src/eval/fonts/LICENSE-DejaVu.txt`); SVGs
//! name the `sans-serif` family and leave the font to the viewer. PNGs are encoded with the
//! `image` crate.
//!
//! - **DET** (Martin et al. 1997, as in NIST evaluations and bob.measure): FMR on x, FNMR on y,
//!   both on normal-deviate (probit) axes with ticks labelled in %, one curve per system, the
//!   EER marked on each and given in the legend, the FMR = FNMR diagonal dashed. Points come
//!   from [`ScoreSet::det`] (exact, one per distinct threshold), thinned to what a pixel can
//!   show.
//! - **Histogram**: mated and non-mated distances, each normalised to unit area (density), on
//!   common bins, with the EER threshold marked.

use std::io::Cursor;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{EvalError, ScoreSet, probit};

const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Width and height of the plots, pixels.
pub const PLOT_SIZE: (u32, u32) = (760, 680);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is a valid TrueType file; failure here would be a packaging bug.
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font(FAMILY, style, FONT)
                .unwrap_or_else(|_| panic!("bundled DejaVuSans.ttf failed to load"));
        }
    });
}

fn plot_err<E: std::fmt::Display>(e: E) -> EvalError {
    EvalError::Plot(e.to_string())
}

/// Line colours for successive curves (colour-blind friendly "Okabe–Ito" palette).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// One DET curve: a label and its points in normal-deviate coordinates.
#[derive(Debug, Clone)]
pub struct DetCurve {
    /// Legend label (e.g. `"crease"`).
    pub label: String,
    /// The EER, in [0, 1].
    pub eer: f64,
    /// (FMR, FNMR) pairs in ascending threshold order, thinned for plotting.
    pub points: Vec<(f64, f64)>,
    /// Smallest positive FMR the data can show (1 / #non-mated).
    pub min_fmr: f64,
    /// Smallest positive FNMR the data can show (1 / #mated).
    pub min_fnmr: f64,
}

impl DetCurve {
    /// The DET curve of a score set, thinned so that consecutive kept points are at least
    /// 1/1500 of a probit unit apart in either coordinate (far below a pixel).
    pub fn new(label: impl Into<String>, scores: &ScoreSet) -> Self {
        let mut points = vec![(0.0, 1.0)];
        let mut last = (f64::NEG_INFINITY, f64::INFINITY);
        let det = scores.det();
        let n = det.len();
        for (i, p) in det.into_iter().enumerate() {
            let q = (probit(p.fmr), probit(p.fnmr));
            let far = (q.0 - last.0).abs() > 1.0 / 1500.0 || (q.1 - last.1).abs() > 1.0 / 1500.0;
            if far || i + 1 == n || q.0.is_infinite() != last.0.is_infinite() {
                points.push((p.fmr, p.fnmr));
                last = q;
            }
        }
        DetCurve {
            label: label.into(),
            eer: scores.eer().eer,
            points,
            min_fmr: 1.0 / scores.non_mated().len() as f64,
            min_fnmr: 1.0 / scores.mated().len() as f64,
        }
    }
}

/// Tick positions (rates) and labels for DET axes.
const TICKS: [(f64, &str); 17] = [
    (1e-6, "0.0001%"),
    (1e-5, "0.001%"),
    (1e-4, "0.01%"),
    (1e-3, "0.1%"),
    (2e-3, "0.2%"),
    (5e-3, "0.5%"),
    (1e-2, "1%"),
    (2e-2, "2%"),
    (5e-2, "5%"),
    (0.1, "10%"),
    (0.2, "20%"),
    (0.3, "30%"),
    (0.4, "40%"),
    (0.5, "50%"),
    (0.6, "60%"),
    (0.8, "80%"),
    (0.9, "90%"),
];

/// The axis ranges (in rates) for a set of curves, `((x_lo, x_hi), (y_lo, y_hi))`: each from
/// the decade below the smallest rate the data can resolve (1 / #non-mated for FMR,
/// 1 / #mated for FNMR; clamped to [10⁻⁶, 10⁻²]) to 50 % (or 90 % for very weak systems).
fn det_range(curves: &[DetCurve]) -> ((f64, f64), (f64, f64)) {
    let decade = |r: f64| 10f64.powf(r.log10().floor()).clamp(1e-6, 1e-2);
    let x_lo = decade(curves.iter().map(|c| c.min_fmr).fold(1.0, f64::min));
    let y_lo = decade(curves.iter().map(|c| c.min_fnmr).fold(1.0, f64::min));
    let worst = curves.iter().map(|c| c.eer).fold(0.0, f64::max);
    let hi = if worst > 0.3 { 0.9 } else { 0.5 };
    ((x_lo, hi), (y_lo, hi))
}

/// Clips the segment p → q to the box [lo, hi] (Liang–Barsky); `None` if it misses the box.
fn clip(
    p: (f64, f64),
    q: (f64, f64),
    lo: (f64, f64),
    hi: (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (den, num) in [
        (-dx, p.0 - lo.0),
        (dx, hi.0 - p.0),
        (-dy, p.1 - lo.1),
        (dy, hi.1 - p.1),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return None;
            }
        } else {
            let r = num / den;
            if den < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    (t0 <= t1).then_some((
        (p.0 + t0 * dx, p.1 + t0 * dy),
        (p.0 + t1 * dx, p.1 + t1 * dy),
    ))
}

/// The visible pieces of a polyline inside the box.
fn clip_polyline(pts: &[(f64, f64)], lo: (f64, f64), hi: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    for w in pts.windows(2) {
        if let Some((s, e)) = clip(w[0], w[1], lo, hi) {
            match pieces.last_mut() {
                Some(piece) if piece.last() == Some(&s) => piece.push(e),
                _ => pieces.push(vec![s, e]),
            }
        }
    }
    pieces
}

fn det_ticks(lo: f64, hi: f64) -> Vec<(f64, &'static str)> {
    let wide = hi / lo > 2e3; // many decades: decades and a few coarse ticks only
    TICKS
        .iter()
        .copied()
        .filter(|&(p, _)| p >= lo * (1.0 - 1e-9) && p <= hi * (1.0 + 1e-9))
        .filter(|&(p, _)| {
            !wide
                || ![2e-3, 5e-3, 2e-2, 0.3, 0.6]
                    .iter()
                    .any(|&q| (q - p).abs() < 1e-12)
        })
        .collect()
}

/// A normal-deviate axis: values are probit(rate); ticks at chosen rates, labelled in %.
#[derive(Debug, Clone)]
struct ProbitAxis {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

impl Ranged for ProbitAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let frac = (value - self.lo) / (self.hi - self.lo);
        let len = (limit.1 - limit.0) as f64;
        limit.0 + (len * frac).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.keys.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for ProbitAxis {
    fn format(value: &f64) -> String {
        TICKS
            .iter()
            .find(|t| (probit(t.0) - value).abs() < 1e-9)
            .map_or_else(String::new, |t| t.1.to_string())
    }
}

fn draw_det<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[DetCurve],
    title: Option<&str>,
) -> Result<(), EvalError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(plot_err)?;
    let ((x_lo, x_hi), (y_lo, y_hi)) = det_range(curves);
    let keys =
        |lo: f64, hi: f64| -> Vec<f64> { det_ticks(lo, hi).iter().map(|t| probit(t.0)).collect() };
    let (xa, xb) = (probit(x_lo), probit(x_hi));
    let (ya, yb) = (probit(y_lo), probit(y_hi));
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(18)
        .x_label_area_size(58)
        .y_label_area_size(78);
    if let Some(t) = title {
        builder.caption(t, (FAMILY, 22));
    }
    let mut chart = builder
        .build_cartesian_2d(
            ProbitAxis {
                lo: xa,
                hi: xb,
                keys: keys(x_lo, x_hi),
            },
            ProbitAxis {
                lo: ya,
                hi: yb,
                keys: keys(y_lo, y_hi),
            },
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("False match rate (FMR)")
        .y_desc("False non-match rate (FNMR)")
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(plot_err)?;

    // The FMR = FNMR diagonal.
    chart
        .draw_series(DashedLineSeries::new(
            [(xa.max(ya), xa.max(ya)), (xb.min(yb), xb.min(yb))],
            6,
            5,
            RGBColor(150, 150, 150).stroke_width(1),
        ))
        .map_err(plot_err)?;

    // Curves are clipped to the axes in probit space, so a curve leaves the frame where its
    // rates do instead of running along the edge (rates 0 and 1 map to ±40 deviates).
    let lo = (xa, ya);
    let hi = (xb, yb);
    let dev = |p: f64| probit(p).clamp(-40.0, 40.0);
    for (i, c) in curves.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> = c.points.iter().map(|&(x, y)| (dev(x), dev(y))).collect();
        let mut pieces = clip_polyline(&pts, lo, hi).into_iter();
        chart
            .draw_series(LineSeries::new(
                pieces.next().unwrap_or_default(),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(format!("{} (EER {:.2}%)", c.label, 100.0 * c.eer))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], color.stroke_width(2)));
        for piece in pieces {
            chart
                .draw_series(LineSeries::new(piece, color.stroke_width(2)))
                .map_err(plot_err)?;
        }
        let e = dev(c.eer);
        if (xa..=xb).contains(&e) && (ya..=yb).contains(&e) {
            chart
                .draw_series([Circle::new((e, e), 5, color.stroke_width(2))])
                .map_err(plot_err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .margin(10)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

/// Common bins for the histogram: `bins` equal bins spanning all distances.
fn histogram_bins(scores: &ScoreSet, bins: usize) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let lo = scores.mated()[0].min(scores.non_mated()[0]);
    let hi = scores.mated()[scores.mated().len() - 1]
        .max(scores.non_mated()[scores.non_mated().len() - 1]);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let width = (hi - lo) / bins as f64;
    let density = |v: &[f64]| {
        let mut h = vec![0.0; bins];
        for &x in v {
            let k = (((x - lo) / width) as usize).min(bins - 1);
            h[k] += 1.0;
        }
        let norm = v.len() as f64 * width;
        h.iter_mut().for_each(|c| *c /= norm);
        h
    };
    (
        lo,
        width,
        density(scores.mated()),
        density(scores.non_mated()),
    )
}

fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    scores: &ScoreSet,
    threshold: Option<f64>,
    title: Option<&str>,
) -> Result<(), EvalError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(plot_err)?;
    let bins = 60;
    let (lo, width, mated, non_mated) = histogram_bins(scores, bins);
    let hi = lo + width * bins as f64;
    let ymax = mated
        .iter()
        .chain(&non_mated)
        .fold(0.0f64, |m, &v| m.max(v))
        * 1.08;
    let pad = (hi - lo) * 0.03;
    let mut builder = ChartBuilder::on(root);
    builder
        .margin(18)
        .x_label_area_size(58)
        .y_label_area_size(78);
    if let Some(t) = title {
        builder.caption(t, (FAMILY, 22));
    }
    let mut chart = builder
        .build_cartesian_2d(lo - pad..hi + pad, 0.0..ymax.max(1e-12))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("Distance (lower = more similar)")
        .y_desc("Density")
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 18))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_labels(8)
        .y_labels(6)
        .draw()
        .map_err(plot_err)?;
    let series = [
        ("mated", &mated, PALETTE[0], scores.mated().len()),
        (
            "non-mated",
            &non_mated,
            PALETTE[1],
            scores.non_mated().len(),
        ),
    ];
    for (name, h, color, n) in series {
        let bars = h.iter().enumerate().map(move |(k, &d)| {
            let x0 = lo + k as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width, d)], color.mix(0.35).filled())
        });
        chart.draw_series(bars).map_err(plot_err)?;
        // Outline as a step line over the bins that hold data.
        let first = h.iter().position(|&d| d > 0.0).unwrap_or(0);
        let last = h.iter().rposition(|&d| d > 0.0).unwrap_or(0);
        let mut step = vec![(lo + first as f64 * width, 0.0)];
        for (k, &d) in h.iter().enumerate().take(last + 1).skip(first) {
            let x0 = lo + k as f64 * width;
            step.push((x0, d));
            step.push((x0 + width, d));
        }
        step.push((lo + (last + 1) as f64 * width, 0.0));
        chart
            .draw_series(LineSeries::new(step, color.stroke_width(2)))
            .map_err(plot_err)?
            .label(format!("{name} (n = {n})"))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 22, y + 6)], color.mix(0.5).filled())
            });
    }
    if let Some(t) = threshold {
        let black = RGBColor(40, 40, 40);
        chart
            .draw_series(DashedLineSeries::new(
                [(t, 0.0), (t, ymax)],
                8,
                5,
                black.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(format!("EER threshold {t:.4}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], black.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .margin(10)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)?;
    Ok(())
}

fn svg_with(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), EvalError>,
) -> Result<String, EvalError> {
    register_font();
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, PLOT_SIZE).into_drawing_area();
        draw(&root)?;
    }
    Ok(s)
}

fn png_with(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), EvalError>,
) -> Result<Vec<u8>, EvalError> {
    register_font();
    let (w, h) = PLOT_SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, PLOT_SIZE).into_drawing_area();
        draw(&root)?;
    }
    let img = image::RgbImage::from_raw(w, h, rgb).expect("buffer has w·h·3 bytes");
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(plot_err)?;
    Ok(out.into_inner())
}

/// The DET plot of one or more curves as an SVG document.
///
/// # Errors
/// [`EvalError::Empty`] without curves; [`EvalError::Plot`] if drawing fails.
pub fn det_svg(curves: &[DetCurve], title: Option<&str>) -> Result<String, EvalError> {
    non_empty(curves)?;
    svg_with(|root| draw_det(root, curves, title))
}

/// The DET plot as PNG bytes.
///
/// # Errors
/// As [`det_svg`], plus PNG encoding failures.
pub fn det_png(curves: &[DetCurve], title: Option<&str>) -> Result<Vec<u8>, EvalError> {
    non_empty(curves)?;
    png_with(|root| draw_det(root, curves, title))
}

/// The mated/non-mated distance histogram as an SVG document, with `threshold` (e.g. the EER
/// threshold) marked when given.
///
/// # Errors
/// [`EvalError::Plot`] if drawing fails.
pub fn histogram_svg(
    scores: &ScoreSet,
    threshold: Option<f64>,
    title: Option<&str>,
) -> Result<String, EvalError> {
    svg_with(|root| draw_histogram(root, scores, threshold, title))
}

/// The histogram as PNG bytes.
///
/// # Errors
/// As [`histogram_svg`], plus PNG encoding failures.
pub fn histogram_png(
    scores: &ScoreSet,
    threshold: Option<f64>,
    title: Option<&str>,
) -> Result<Vec<u8>, EvalError> {
    png_with(|root| draw_histogram(root, scores, threshold, title))
}

fn non_empty(curves: &[DetCurve]) -> Result<(), EvalError> {
    if curves.is_empty() {
        Err(EvalError::Empty { what: "DET curves" })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> ScoreSet {
        let m: Vec<f64> = (0..200).map(|i| 0.1 + 0.2 * (i as f64 / 200.0)).collect();
        let n: Vec<f64> = (0..2000)
            .map(|i| 0.25 + 0.25 * (i as f64 / 2000.0))
            .collect();
        ScoreSet::new(m, n).unwrap()
    }

    #[test]
    fn det_curve_keeps_end_points_and_eer() {
        let s = toy();
        let c = DetCurve::new("toy", &s);
        assert_eq!(c.points[0], (0.0, 1.0));
        assert_eq!(*c.points.last().unwrap(), (1.0, 0.0));
        assert_eq!(c.eer, s.eer().eer);
        // 2 000 non-mated → FMR axis from 10⁻⁴; 200 mated → FNMR axis from 10⁻³.
        assert_eq!(det_range(&[c]), ((1e-4, 0.5), (1e-3, 0.5)));
    }

    #[test]
    fn clipping_keeps_the_visible_part() {
        let lo = (0.0, 0.0);
        let hi = (1.0, 1.0);
        assert_eq!(
            clip((-1.0, 0.5), (2.0, 0.5), lo, hi),
            Some(((0.0, 0.5), (1.0, 0.5)))
        );
        assert_eq!(clip((-1.0, 2.0), (-0.5, 3.0), lo, hi), None);
        let pieces = clip_polyline(&[(-1.0, 0.5), (0.5, 0.5), (0.5, -3.0)], lo, hi);
        assert_eq!(pieces, vec![vec![(0.0, 0.5), (0.5, 0.5), (0.5, 0.0)]]);
    }

    #[test]
    fn ticks_are_labelled_in_percent() {
        let t = det_ticks(1e-4, 0.5);
        let labels: Vec<_> = t.iter().map(|t| t.1).collect();
        assert_eq!(
            labels,
            ["0.01%", "0.1%", "1%", "5%", "10%", "20%", "40%", "50%"]
        );
        let t = det_ticks(1e-2, 0.5);
        assert!(t.iter().any(|t| t.1 == "2%"));
    }

    #[test]
    fn renders_svg_and_png() {
        let s = toy();
        let curves = [DetCurve::new("a", &s)];
        let svg = det_svg(&curves, Some("DET")).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("False match rate (FMR)"));
        assert!(svg.contains("0.01%"));
        let png = det_png(&curves, None).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let h = histogram_svg(&s, Some(s.eer().threshold), None).unwrap();
        assert!(h.contains("EER threshold"));
        let png = histogram_png(&s, None, None).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), PLOT_SIZE);
        assert!(matches!(det_svg(&[], None), Err(EvalError::Empty { .. })));
    }
}
