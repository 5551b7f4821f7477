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
    let name = if chart.peaks.len() == 1 {
        "peak"
    } else {
        "peaks"
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
    const GLYPH: i32 = 30;
    const SPACING: i32 = 36;
    let style = text(LABEL_SIZE - 2.0).pos(Pos::new(HPos::Left, VPos::Center));
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
        area.draw_text(&t.name, &style, (x + GLYPH + 8, y))
            .map_err(draw_err)?;
        x += GLYPH + 8 + tw + SPACING;
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
    match (p.log_x, p.log_y) {
        (false, false) => draw_axes(area, p, x0..x1, y0..y1, x_range, y_range),
        (true, false) => draw_axes(area, p, (x0..x1).log_scale(), y0..y1, x_range, y_range),
        (false, true) => draw_axes(area, p, x0..x1, (y0..y1).log_scale(), x_range, y_range),
        (true, true) => draw_axes(
            area,
            p,
            (x0..x1).log_scale(),
            (y0..y1).log_scale(),
            x_range,
            y_range,
        ),
    }
}

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
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(8)
        .x_label_area_size(66)
        .y_label_area_size(104);
    if let Some(caption) = &p.caption {
        builder.caption(caption, text(CAPTION_SIZE + 3.0));
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
        .x_labels(8)
        .y_labels(8)
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

    let mut labelled = false;
    for t in &p.traces {
        let style = t.colour.stroke_width(t.width);
        let mut first = true;
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
            if first && !t.name.is_empty() && p.legend {
                // An invisible element carries the legend entry of the whole trace.
                let anno = chart
                    .draw_series(std::iter::once(EmptyElement::at(seg[0])))
                    .map_err(draw_err)?;
                anno.label(t.name.as_str());
                let line_style = colour.stroke_width(t.width);
                let has_line = t.line.is_some();
                // Composed elements take coordinates relative to their anchor.
                let path = move |x: i32, y: i32| {
                    let end = if has_line { 26 } else { 0 };
                    EmptyElement::at((x, y)) + PathElement::new(vec![(0, 0), (end, 0)], line_style)
                };
                match t.marker {
                    Marker::None => {
                        anno.legend(move |(x, y)| path(x, y));
                    }
                    Marker::Dot => {
                        anno.legend(move |(x, y)| {
                            path(x, y) + Circle::new((13, 0), 4, colour.filled())
                        });
                    }
                    Marker::Ring => {
                        anno.legend(move |(x, y)| {
                            path(x, y) + Circle::new((13, 0), 5, colour.stroke_width(2))
                        });
                    }
                    Marker::Triangle => {
                        anno.legend(move |(x, y)| {
                            path(x, y) + TriangleMarker::new((13, 0), 8, colour.filled())
                        });
                    }
                }
                labelled = true;
            }
            first = false;
        }
    }

    if labelled {
        chart
            .configure_series_labels()
            .position(legend_position(p, x_range, y_range))
            .margin(12)
            .label_font(text(LABEL_SIZE - 2.0))
            .legend_area_size(34)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The corner of the plot with the fewest data points, so the legend hides as little as possible.
fn legend_position(p: &Panel<'_>, x_range: (f64, f64), y_range: (f64, f64)) -> SeriesLabelPosition {
    let norm = |v: f64, (lo, hi): (f64, f64), log: bool| {
        if log {
            (v.log10() - lo.log10()) / (hi.log10() - lo.log10())
        } else {
            (v - lo) / (hi - lo)
        }
    };
    // Corner boxes: (position, right side?, top side?); the legend takes about 40% × 35%.
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let mut counts = [0usize; 4];
    for t in &p.traces {
        let stride = (t.x.len() / 2000).max(1);
        for (&x, &y) in t.x.iter().zip(t.y).step_by(stride) {
            if !drawable(x, y, p.log_x, p.log_y) {
                continue;
            }
            let (nx, ny) = (norm(x, x_range, p.log_x), norm(y, y_range, p.log_y));
            for (count, &(_, right, top)) in counts.iter_mut().zip(&corners) {
                let in_x = if right { nx > 0.55 } else { nx < 0.45 };
                let in_y = if top { ny > 0.6 } else { ny < 0.4 };
                if in_x && in_y {
                    *count += stride;
                }
            }
        }
    }
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[best].0.clone()
}
