//! Charts over (x, y) data: line charts, function snapshots and spectra, all drawn by one panel
//! routine that handles linear and logarithmic axes, gaps (non-finite values) and legends.

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::{
    draw_err, format_tick, render, same_len, series_colour, text, Figure, Raster, CAPTION_SIZE,
    LABEL_SIZE, TICK_SIZE, TITLE_SIZE,
};
use super::PlotError;

/// One named series of points; `x` and `y` have the same length. Non-finite values (and values
/// ≤ 0 on a log axis) leave a gap instead of failing.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// Abscissae.
    pub x: &'a [f64],
    /// Ordinates.
    pub y: &'a [f64],
}

impl<'a> Series<'a> {
    /// A series from its name and coordinates.
    pub fn new(name: &'a str, x: &'a [f64], y: &'a [f64]) -> Self {
        Self { name, x, y }
    }
}

/// A line chart of several series: loss curves, Δ_F per peak, test MSE against σ, accuracy against g.
#[derive(Debug, Clone, Copy)]
pub struct LineChart<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Horizontal axis description (with unit or symbol).
    pub x_label: &'a str,
    /// Vertical axis description.
    pub y_label: &'a str,
    /// The series, drawn in palette order.
    pub series: &'a [Series<'a>],
    /// Logarithmic horizontal axis (e.g. σ).
    pub log_x: bool,
    /// Logarithmic vertical axis (e.g. loss, Δ_F).
    pub log_y: bool,
    /// Mark every point (for short series such as one value per σ).
    pub markers: bool,
}

impl<'a> LineChart<'a> {
    /// A chart with linear axes and no point markers.
    pub fn new(
        title: &'a str,
        x_label: &'a str,
        y_label: &'a str,
        series: &'a [Series<'a>],
    ) -> Self {
        Self {
            title,
            x_label,
            y_label,
            series,
            log_x: false,
            log_y: false,
            markers: false,
        }
    }

    /// Sets a logarithmic horizontal axis.
    pub fn log_x(mut self, on: bool) -> Self {
        self.log_x = on;
        self
    }

    /// Sets a logarithmic vertical axis.
    pub fn log_y(mut self, on: bool) -> Self {
        self.log_y = on;
        self
    }

    /// Marks every point.
    pub fn markers(mut self, on: bool) -> Self {
        self.markers = on;
        self
    }
}

/// Writes a line chart (`stem.png`, `stem.svg`).
pub fn line_chart(path_stem: &Path, chart: &LineChart<'_>) -> Result<Vec<PathBuf>, PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::Invalid(format!("{}: no series", chart.title)));
    }
    let mut traces = Vec::with_capacity(chart.series.len());
    for (i, s) in chart.series.iter().enumerate() {
        same_len(s.name, s.x.len(), s.y.len())?;
        traces.push(Trace {
            name: s.name.to_string(),
            x: s.x,
            y: s.y,
            colour: series_colour(i),
            width: 2,
            line: Some(Dash::Solid),
            marker: if chart.markers {
                Marker::Dot
            } else {
                Marker::None
            },
        });
    }
    let panel = Panel {
        caption: None,
        x_label: chart.x_label,
        y_label: chart.y_label,
        log_x: chart.log_x,
        log_y: chart.log_y,
        traces,
        vlines: Vec::new(),
        legend: chart.series.len() > 1 || !chart.series[0].name.is_empty(),
        y_range: None,
    };
    render(
        &Single {
            title: chart.title,
            panel,
            size: (1000, 650),
        },
        path_stem,
    )
}

/// The network output at one moment (or for one setting), for [`function_snapshots`].
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// Panel caption, e.g. "step 100" or "σ = 3".
    pub caption: &'a str,
    /// Output on the grid [`Snapshots::x`].
    pub output: &'a [f64],
}

/// Target against network output at several steps (or settings), one small panel each.
#[derive(Debug, Clone, Copy)]
pub struct Snapshots<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Horizontal axis description.
    pub x_label: &'a str,
    /// Vertical axis description.
    pub y_label: &'a str,
    /// The evaluation grid.
    pub x: &'a [f64],
    /// The target on the grid.
    pub target: &'a [f64],
    /// One panel per snapshot, in order.
    pub panels: &'a [Snapshot<'a>],
    /// Training inputs (drawn as markers).
    pub train_x: &'a [f64],
    /// Training targets.
    pub train_y: &'a [f64],
}

/// Writes small multiples of target (grey), output (blue) and training points (circles).
pub fn function_snapshots(
    path_stem: &Path,
    fig: &Snapshots<'_>,
) -> Result<Vec<PathBuf>, PlotError> {
    if fig.panels.is_empty() {
        return Err(PlotError::Invalid(format!("{}: no snapshots", fig.title)));
    }
    same_len("target", fig.x.len(), fig.target.len())?;
    same_len("training points", fig.train_x.len(), fig.train_y.len())?;
    for p in fig.panels {
        same_len(p.caption, fig.x.len(), p.output.len())?;
    }
    let all_y = fig
        .panels
        .iter()
        .flat_map(|p| p.output.iter())
        .chain(fig.target)
        .chain(fig.train_y);
    let y_range = pad_linear(finite_range(all_y.copied()).unwrap_or((0.0, 1.0)));
    let panels = fig
        .panels
        .iter()
        .map(|p| Panel {
            caption: Some(p.caption.to_string()),
            x_label: fig.x_label,
            y_label: fig.y_label,
            log_x: false,
            log_y: false,
            traces: vec![
                Trace {
                    name: "target".into(),
                    x: fig.x,
                    y: fig.target,
                    colour: RGBColor(150, 150, 150),
                    width: 4,
                    line: Some(Dash::Solid),
                    marker: Marker::None,
                },
                Trace {
                    name: "network output".into(),
                    x: fig.x,
                    y: p.output,
                    colour: series_colour(0),
                    width: 2,
                    line: Some(Dash::Solid),
                    marker: Marker::None,
                },
                Trace {
                    name: "training points".into(),
                    x: fig.train_x,
                    y: fig.train_y,
                    colour: BLACK,
                    width: 2,
                    line: None,
                    marker: Marker::Ring,
                },
            ],
            vlines: Vec::new(),
            legend: false,
            y_range: Some(y_range),
        })
        .collect();
    render(
        &Multiples {
            title: fig.title,
            panels,
        },
        path_stem,
    )
}

/// |DFT| of several functions against frequency, with the target's peaks marked.
#[derive(Debug, Clone, Copy)]
pub struct SpectrumChart<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Horizontal axis description, e.g. "frequency index k".
    pub x_label: &'a str,
    /// Vertical axis description, e.g. "|DFT|".
    pub y_label: &'a str,
    /// Spectra; the first is the reference (target) on which peaks are marked.
    pub series: &'a [Series<'a>],
    /// Frequencies of the peaks (marked with a triangle on the first series and a dashed line).
    pub peaks: &'a [f64],
    /// Legend name of the marks when they are not peaks of the reference (frequencies chosen
    /// some other way); `None` names them "peak"/"peaks".
    pub marks_label: Option<&'a str>,
    /// Logarithmic vertical axis.
    pub log_y: bool,
}

/// Writes a spectrum chart.
pub fn spectrum_chart(
    path_stem: &Path,
    chart: &SpectrumChart<'_>,
) -> Result<Vec<PathBuf>, PlotError> {
    let Some(reference) = chart.series.first() else {
        return Err(PlotError::Invalid(format!("{}: no spectra", chart.title)));
    };
    let mut traces = Vec::new();
    for (i, s) in chart.series.iter().enumerate() {
        same_len(s.name, s.x.len(), s.y.len())?;
        traces.push(Trace {
            name: s.name.to_string(),
            x: s.x,
            y: s.y,
            colour: if i == 0 {
                RGBColor(90, 90, 90)
            } else {
                series_colour(i - 1)
            },
            width: if i == 0 { 3 } else { 2 },
            line: Some(if i == 0 { Dash::Solid } else { Dash::Dashed }),
            marker: Marker::Dot,
        });
    }
    // Peak markers sit on the reference spectrum at the nearest sample.
    let mut peak_x = Vec::with_capacity(chart.peaks.len());
    let mut peak_y = Vec::with_capacity(chart.peaks.len());
    for &p in chart.peaks {
        let nearest = reference
            .x
            .iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .min_by(|a, b| (a.1 - p).abs().total_cmp(&(b.1 - p).abs()));
        if let Some((j, _)) = nearest {
            peak_x.push(reference.x[j]);
            peak_y.push(reference.y[j]);
        }
    }
    let name = match chart.marks_label {
        Some(label) => label,
        None if chart.peaks.len() == 1 => "peak",
        None => "peaks",
    };
    traces.push(Trace {
        name: name.into(),
        x: &peak_x,
        y: &peak_y,
        colour: RGBColor(214, 39, 40),
        width: 2,
        line: None,
        marker: Marker::Triangle,
    });
    let panel = Panel {
        caption: None,
        x_label: chart.x_label,
        y_label: chart.y_label,
        log_x: false,
        log_y: chart.log_y,
        traces,
        vlines: chart.peaks.to_vec(),
        legend: true,
        y_range: None,
    };
    render(
        &Single {
            title: chart.title,
            panel,
            size: (1000, 650),
        },
        path_stem,
    )
}

// ---------------------------------------------------------------------------------------------
// Panel engine
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    None,
    /// Small filled circle.
    Dot,
    /// Hollow circle (data points that the curves should pass through).
    Ring,
    /// Filled triangle (peaks).
    Triangle,
}

struct Trace<'a> {
    name: String,
    x: &'a [f64],
    y: &'a [f64],
    colour: RGBColor,
    width: u32,
    line: Option<Dash>,
    marker: Marker,
}

struct Panel<'a> {
    caption: Option<String>,
    x_label: &'a str,
    y_label: &'a str,
    log_x: bool,
    log_y: bool,
    traces: Vec<Trace<'a>>,
    vlines: Vec<f64>,
    legend: bool,
    y_range: Option<(f64, f64)>,
}

/// One panel filling the figure under a title.
struct Single<'a> {
    title: &'a str,
    panel: Panel<'a>,
    size: (u32, u32),
}

impl Figure for Single<'_> {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError> {
        let area = root
            .margin(8, 0, 0, 0)
            .titled(self.title, text(TITLE_SIZE))
            .map_err(draw_err)?;
        draw_panel(&area.margin(0, 10, 10, 25), &self.panel)?;
        Ok(Vec::new())
    }
}

/// Panel width and height of small multiples, in pixels.
const MULTIPLE_SIZE: (u32, u32) = (520, 380);

/// Small multiples: panels in a grid under a title.
struct Multiples<'a> {
    title: &'a str,
    panels: Vec<Panel<'a>>,
}

impl Multiples<'_> {
    fn grid(&self) -> (usize, usize) {
        let n = self.panels.len();
        let cols = match n {
            0..=3 => n.max(1),
            4 => 2,
            _ => 3,
        };
        (n.div_ceil(cols), cols)
    }
}

/// Height of the shared legend row under the title of small multiples.
const LEGEND_ROW: u32 = 36;

impl Figure for Multiples<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (
            MULTIPLE_SIZE.0 * cols as u32,
            MULTIPLE_SIZE.1 * rows as u32 + 50 + LEGEND_ROW,
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError> {
        let area = root
            .margin(8, 0, 0, 0)
            .titled(self.title, text(TITLE_SIZE))
            .map_err(draw_err)?;
        // One legend for all panels, in a row under the title, so no panel's data is hidden.
        let (legend, area) = area.split_vertically(LEGEND_ROW);
        if let Some(first) = self.panels.first() {
            draw_legend_row(&legend, &first.traces)?;
        }
        let cells = area.split_evenly(self.grid());
        for (panel, cell) in self.panels.iter().zip(&cells) {
            draw_panel(&cell.margin(5, 5, 5, 15), panel)?;
        }
        Ok(Vec::new())
    }
}

/// Draws the legend entries of `traces` side by side, centred in `area`.
fn draw_legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    traces: &[Trace<'_>],
) -> Result<(), PlotError> {
    const SPACING: i32 = 36;
    let style = legend_style();
    let named: Vec<&Trace<'_>> = traces.iter().filter(|t| !t.name.is_empty()).collect();
    let mut widths = Vec::with_capacity(named.len());
    for t in &named {
        let (w, _) = area.estimate_text_size(&t.name, &style).map_err(draw_err)?;
        widths.push(w as i32);
    }
    let total: i32 = widths.iter().map(|w| GLYPH + 8 + w).sum::<i32>()
        + SPACING * (named.len() as i32 - 1).max(0);
    let (w, h) = area.dim_in_pixel();
    let mut x = (w as i32 - total) / 2;
    let y = h as i32 / 2;
    for (t, tw) in named.iter().zip(widths) {
        draw_glyph(area, t, (x, y))?;
        area.draw_text(&t.name, &style, (x + GLYPH + 8, y))
            .map_err(draw_err)?;
        x += GLYPH + 8 + tw + SPACING;
    }
    Ok(())
}

/// Width of a legend glyph (line sample with the marker in its middle), in pixels.
const GLYPH: i32 = 30;

/// Text style of legend entries, anchored left and centred vertically.
fn legend_style() -> TextStyle<'static> {
    text(LABEL_SIZE - 2.0).pos(Pos::new(HPos::Left, VPos::Center))
}

/// Draws the legend glyph of `t` starting at `(x, y)` (left end, vertical centre).
fn draw_glyph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    t: &Trace<'_>,
    (x, y): (i32, i32),
) -> Result<(), PlotError> {
    if t.line.is_some() {
        area.draw(&PathElement::new(
            vec![(x, y), (x + GLYPH, y)],
            t.colour.stroke_width(t.width),
        ))
        .map_err(draw_err)?;
    }
    let c = (x + GLYPH / 2, y);
    match t.marker {
        Marker::None => {}
        Marker::Dot => area
            .draw(&Circle::new(c, 4, t.colour.filled()))
            .map_err(draw_err)?,
        Marker::Ring => area
            .draw(&Circle::new(c, 5, t.colour.stroke_width(2)))
            .map_err(draw_err)?,
        Marker::Triangle => area
            .draw(&TriangleMarker::new(c, 8, t.colour.filled()))
            .map_err(draw_err)?,
    }
    Ok(())
}

/// Padding inside the legend box and its distance from the plot's edges, in pixels.
const LEGEND_PAD: i32 = 10;

/// Pixel size of the legend box listing `entries`, one per row.
fn legend_box_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[&Trace<'_>],
) -> Result<(i32, i32), PlotError> {
    let style = legend_style();
    let mut text_w = 0;
    for t in entries {
        let (w, _) = area.estimate_text_size(&t.name, &style).map_err(draw_err)?;
        text_w = text_w.max(w as i32);
    }
    let row = legend_row_height(area)?;
    Ok((
        2 * LEGEND_PAD + GLYPH + 8 + text_w,
        2 * LEGEND_PAD + row * entries.len() as i32,
    ))
}

fn legend_row_height<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<i32, PlotError> {
    let (_, h) = area
        .estimate_text_size("Ag", &legend_style())
        .map_err(draw_err)?;
    Ok(h as i32 + 8)
}

/// Draws the legend box of `entries` with its upper left corner at `(x, y)` of `area`.
fn draw_legend_box<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[&Trace<'_>],
    (x, y): (i32, i32),
) -> Result<(), PlotError> {
    let (w, h) = legend_box_size(area, entries)?;
    let corners = [(x, y), (x + w, y + h)];
    area.draw(&Rectangle::new(corners, WHITE.mix(0.85).filled()))
        .map_err(draw_err)?;
    area.draw(&Rectangle::new(corners, BLACK.mix(0.4)))
        .map_err(draw_err)?;
    let row = legend_row_height(area)?;
    let style = legend_style();
    for (i, t) in entries.iter().enumerate() {
        let cy = y + LEGEND_PAD + row * i as i32 + row / 2;
        draw_glyph(area, t, (x + LEGEND_PAD, cy))?;
        area.draw_text(&t.name, &style, (x + LEGEND_PAD + GLYPH + 8, cy))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Smallest and largest finite value.
fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Widens a linear range by 5% on each side (and a degenerate one to a visible width).
fn pad_linear((lo, hi): (f64, f64)) -> (f64, f64) {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Widens a positive range by 5% of its decades on each side (at least a factor 2 overall).
fn pad_log((lo, hi): (f64, f64)) -> (f64, f64) {
    let (l, h) = (lo.log10(), hi.log10());
    let span = (h - l).max(0.3);
    let mid = 0.5 * (l + h);
    let (l, h) = (mid.min(l).min(mid - span / 2.0), h.max(mid + span / 2.0));
    let pad = 0.05 * (h - l);
    (10f64.powf(l - pad), 10f64.powf(h + pad))
}

/// Whether a point can be drawn on the panel's axes.
fn drawable(x: f64, y: f64, log_x: bool, log_y: bool) -> bool {
    x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0)
}

/// Runs of consecutive drawable points (a non-drawable point breaks the line).
fn segments(t: &Trace<'_>, log_x: bool, log_y: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for (&x, &y) in t.x.iter().zip(t.y) {
        if drawable(x, y, log_x, log_y) {
            cur.push((x, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
) -> Result<(), PlotError> {
    let points = || {
        p.traces.iter().flat_map(|t| {
            t.x.iter()
                .zip(t.y)
                .filter(|(&x, &y)| drawable(x, y, p.log_x, p.log_y))
        })
    };
    let (x_range, y_data) = match (
        finite_range(points().map(|(&x, _)| x)),
        finite_range(points().map(|(_, &y)| y)),
    ) {
        (Some(x), Some(y)) => (x, y),
        _ => {
            return Err(PlotError::Invalid(format!(
                "{}: no finite points to draw",
                p.caption.as_deref().unwrap_or(p.y_label)
            )))
        }
    };
    let has_markers = p.traces.iter().any(|t| t.marker != Marker::None);
    let x_range = match (p.log_x, has_markers || x_range.0 == x_range.1) {
        (true, true) => pad_log(x_range),
        (false, true) => pad_linear(x_range),
        _ => x_range,
    };
    let y_range = p.y_range.unwrap_or(if p.log_y {
        pad_log(y_data)
    } else {
        pad_linear(y_data)
    });
    let (x0, x1) = x_range;
    let (y0, y1) = y_range;
    // Log axes take their ticks from `log_ticks`, so narrow ranges still get several labels.
    let log_axis = |(lo, hi): (f64, f64)| {
        let ticks = log_ticks(lo, hi);
        (lo..hi)
            .log_scale()
            .with_key_points(ticks.labels)
            .with_light_points(ticks.light)
    };
    match (p.log_x, p.log_y) {
        (false, false) => draw_axes(area, p, x0..x1, y0..y1, x_range, y_range),
        (true, false) => draw_axes(area, p, log_axis(x_range), y0..y1, x_range, y_range),
        (false, true) => draw_axes(area, p, x0..x1, log_axis(y_range), x_range, y_range),
        (true, true) => draw_axes(
            area,
            p,
            log_axis(x_range),
            log_axis(y_range),
            x_range,
            y_range,
        ),
    }
}

/// Ticks of one axis: labelled values and light grid lines.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AxisTicks {
    /// Labelled (bold) ticks, ascending.
    pub labels: Vec<f64>,
    /// Light grid lines.
    pub light: Vec<f64>,
}

/// Most labels per axis (what plotters is asked for on linear axes).
const MAX_LABELS: usize = 8;

/// `m · 10^e`, divided rather than multiplied for e < 0 so that e.g. 3·10⁻¹ is exactly 0.3.
fn times_pow10(m: f64, e: i32) -> f64 {
    if e >= 0 {
        m * 10f64.powi(e)
    } else {
        m / 10f64.powi(-e)
    }
}

/// Ticks of a log axis over `lo..hi` (both > 0). Whole decades when they give at least three
/// labels (thinned to at most eight as plotters does, so wide axes look as before); otherwise
/// the first of 1-2-5, 1-2-3-5, 1…9 multiples and linear steps that gives three, because an
/// axis under a decade or two wide would otherwise show one or two labels.
pub(super) fn log_ticks(lo: f64, hi: f64) -> AxisTicks {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if !(lo > 0.0 && hi.is_finite()) {
        return AxisTicks {
            labels: Vec::new(),
            light: Vec::new(),
        };
    }
    let (e0, e1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    let multiples = |ms: &[f64]| -> Vec<f64> {
        (e0..=e1)
            .flat_map(|e| ms.iter().map(move |&m| times_pow10(m, e)))
            .filter(inside)
            .collect()
    };
    let all = multiples(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    let decades = multiples(&[1.0]);
    if decades.len() >= 3 {
        let bold = ((hi / lo).log10().floor() as usize).max(1);
        let mut every = 1;
        while bold / every > MAX_LABELS {
            every += 1;
        }
        let labels = decades.iter().step_by(every).copied().collect();
        let light = if bold <= MAX_LABELS { all } else { decades };
        return AxisTicks { labels, light };
    }
    for ms in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 5.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ] {
        let labels = multiples(ms);
        if labels.len() >= 3 {
            return AxisTicks { labels, light: all };
        }
    }
    AxisTicks {
        labels: linear_ticks(lo, hi),
        light: all,
    }
}

/// At least three evenly spaced round values (steps 5, 2, 1 × 10^k) in `lo..hi`.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let top = (hi - lo).log10().floor() as i32;
    for e in (top - 4..=top).rev() {
        for m in [5.0, 2.0, 1.0] {
            let step = times_pow10(m, e);
            let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
            if last - first >= 2 {
                return (first..=last)
                    .map(|k| times_pow10(k as f64 * m, e))
                    .collect();
            }
        }
    }
    vec![lo, hi]
}

/// Chart margin, label area sizes (pixels) of a panel; the legend placement estimates the
/// plotting area from them before the chart is built.
const PANEL_MARGIN: u32 = 8;
const X_LABEL_AREA: u32 = 66;
const Y_LABEL_AREA: u32 = 104;

fn draw_axes<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    x_spec: X,
    y_spec: Y,
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let caption_style = text(CAPTION_SIZE + 3.0);
    let entries: Vec<&Trace<'_>> = if p.legend {
        p.traces
            .iter()
            .filter(|t| !t.name.is_empty() && !segments(t, p.log_x, p.log_y).is_empty())
            .collect()
    } else {
        Vec::new()
    };

    // Legend: the first corner where it hides nothing, else a strip right of the plot.
    let mut legend = None;
    let mut chart_area = area.clone();
    if !entries.is_empty() {
        let (bw, bh) = legend_box_size(area, &entries)?;
        let (aw, ah) = area.dim_in_pixel();
        let caption_h = match &p.caption {
            Some(c) => {
                area.estimate_text_size(c, &caption_style)
                    .map_err(draw_err)?
                    .1
                    + 10
            }
            None => 0,
        };
        let pw = aw.saturating_sub(2 * PANEL_MARGIN + Y_LABEL_AREA).max(1);
        let ph = ah
            .saturating_sub(2 * PANEL_MARGIN + X_LABEL_AREA + caption_h)
            .max(1);
        // Markers reach a few pixels beyond their point: keep that clear as well.
        const CLEAR: i32 = 8;
        let size = (
            f64::from(bw + LEGEND_PAD + CLEAR) / f64::from(pw),
            f64::from(bh + LEGEND_PAD + CLEAR) / f64::from(ph),
        );
        let curves = normalised_curves(p, x_range, y_range);
        match legend_corner(&curves, size) {
            Some(corner) => legend = Some(Some(corner)),
            None if (bw + 2 * LEGEND_PAD) as u32 * 3 < aw => {
                let (left, _) = area.split_horizontally(aw - (bw + 2 * LEGEND_PAD) as u32);
                chart_area = left;
                legend = Some(None);
            }
            // Too narrow for a strip: the least bad corner.
            None => legend = Some(Some(Corner::UpperRight)),
        }
    }

    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .margin(PANEL_MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    if let Some(caption) = &p.caption {
        builder.caption(caption, caption_style);
    }
    let mut chart = builder
        .build_cartesian_2d(x_spec, y_spec)
        .map_err(draw_err)?;
    let fmt = |v: &f64| format_tick(*v);
    chart
        .configure_mesh()
        .x_desc(p.x_label)
        .y_desc(p.y_label)
        .label_style(text(TICK_SIZE))
        .axis_desc_style(text(LABEL_SIZE))
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .x_labels(MAX_LABELS)
        .y_labels(MAX_LABELS)
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()
        .map_err(draw_err)?;

    for &v in &p.vlines {
        if v.is_finite() && v >= x_range.0 && v <= x_range.1 {
            chart
                .draw_series(DashedLineSeries::new(
                    [(v, y_range.0), (v, y_range.1)],
                    6,
                    5,
                    RGBColor(214, 39, 40).mix(0.5).stroke_width(1),
                ))
                .map_err(draw_err)?;
        }
    }

    for t in &p.traces {
        let style = t.colour.stroke_width(t.width);
        for seg in segments(t, p.log_x, p.log_y) {
            // Lines first, markers on top.
            match t.line {
                Some(Dash::Solid) => {
                    chart
                        .draw_series(LineSeries::new(seg.iter().copied(), style))
                        .map_err(draw_err)?;
                }
                Some(Dash::Dashed) => {
                    chart
                        .draw_series(DashedLineSeries::new(seg.iter().copied(), 10, 6, style))
                        .map_err(draw_err)?;
                }
                None => {}
            }
            let colour = t.colour;
            match t.marker {
                Marker::None => {}
                Marker::Dot => {
                    chart
                        .draw_series(seg.iter().map(|&c| Circle::new(c, 4, colour.filled())))
                        .map_err(draw_err)?;
                }
                Marker::Ring => {
                    chart
                        .draw_series(
                            seg.iter()
                                .map(|&c| Circle::new(c, 5, colour.stroke_width(2))),
                        )
                        .map_err(draw_err)?;
                }
                Marker::Triangle => {
                    chart
                        .draw_series(
                            seg.iter()
                                .map(|&c| TriangleMarker::new(c, 8, colour.filled())),
                        )
                        .map_err(draw_err)?;
                }
            }
        }
    }

    if let Some(place) = legend {
        let (bw, bh) = legend_box_size(area, &entries)?;
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let (ox, oy) = area.get_base_pixel();
        let (left, right) = (xr.start - ox, xr.end - ox);
        let (top, bottom) = (yr.start - oy, yr.end - oy);
        let at = match place {
            Some(Corner::UpperRight) => (right - LEGEND_PAD - bw, top + LEGEND_PAD),
            Some(Corner::UpperLeft) => (left + LEGEND_PAD, top + LEGEND_PAD),
            Some(Corner::LowerRight) => (right - LEGEND_PAD - bw, bottom - LEGEND_PAD - bh),
            Some(Corner::LowerLeft) => (left + LEGEND_PAD, bottom - LEGEND_PAD - bh),
            None => (right + 2 * LEGEND_PAD, top),
        };
        draw_legend_box(area, &entries, at)?;
    }
    Ok(())
}

/// A corner of the plotting area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
}

/// The drawable data of a panel in coordinates normalised to its plotting area (0..1, y up):
/// one polyline per line segment, one single-point polyline per point of marker-only traces.
fn normalised_curves(
    p: &Panel<'_>,
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let norm = |v: f64, (lo, hi): (f64, f64), log: bool| {
        if log {
            (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (v - lo) / (hi - lo)
        }
    };
    let mut curves = Vec::new();
    for t in &p.traces {
        for seg in segments(t, p.log_x, p.log_y) {
            let line: Vec<(f64, f64)> = seg
                .iter()
                .map(|&(x, y)| (norm(x, x_range, p.log_x), norm(y, y_range, p.log_y)))
                .collect();
            if t.line.is_some() {
                curves.push(line);
            } else {
                curves.extend(line.into_iter().map(|pt| vec![pt]));
            }
        }
    }
    curves
}

/// The first corner (upper right, upper left, lower right, lower left) where a legend box of
/// `size` (fractions of the plotting area) meets no segment or point of `curves` (normalised,
/// y up), or `None` when every corner would hide data. Segments, not only samples, are tested
/// so that a curve dipping steeply between two samples still counts.
pub(super) fn legend_corner(curves: &[Vec<(f64, f64)>], size: (f64, f64)) -> Option<Corner> {
    let (w, h) = size;
    [
        (Corner::UpperRight, true, true),
        (Corner::UpperLeft, false, true),
        (Corner::LowerRight, true, false),
        (Corner::LowerLeft, false, false),
    ]
    .into_iter()
    .find(|&(_, right, top)| {
        let xs = if right { (1.0 - w, 1.0) } else { (0.0, w) };
        let ys = if top { (1.0 - h, 1.0) } else { (0.0, h) };
        !curves.iter().any(|c| match c.as_slice() {
            [pt] => segment_meets_box(*pt, *pt, xs, ys),
            line => line
                .windows(2)
                .any(|s| segment_meets_box(s[0], s[1], xs, ys)),
        })
    })
    .map(|(corner, _, _)| corner)
}

/// Whether the segment `a`–`b` meets the box `xs × ys` (Liang–Barsky clipping).
fn segment_meets_box(a: (f64, f64), b: (f64, f64), xs: (f64, f64), ys: (f64, f64)) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - xs.0),
        (dx, xs.1 - a.0),
        (-dy, a.1 - ys.0),
        (dy, ys.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}
