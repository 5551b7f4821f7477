//! The Δ_F heat map: relative error per frequency row against training step, drawn the way the
//! paper's authors draw it (matplotlib `RdBu`, clipped to [0.1, 1]): only the darkest red,
//! Δ_F ≤ 0.1, is converged, so the colour bar marks that threshold.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use super::render::{
    draw_err, format_tick, render, text, Figure, Raster, LABEL_SIZE, TICK_SIZE, TITLE_SIZE,
};
use super::PlotError;

/// Colour bar label of a Δ_F map: lighter reds (Δ_F up to about 0.5) are not converged yet.
pub const DELTA_F_LABEL: &str = "Δ_F (≤ 0.1, darkest red: converged)";

/// Colour range of the paper's heat maps: Δ_F ≤ 0.1 (converged) is the darkest red, ≥ 1 the
/// darkest blue.
pub const DELTA_F_RANGE: (f64, f64) = (0.1, 1.0);

/// matplotlib's `RdBu` (ColorBrewer, 11 classes): dark red → white → dark blue.
const RDBU: [[u8; 3]; 11] = [
    [0x67, 0x00, 0x1f],
    [0xb2, 0x18, 0x2b],
    [0xd6, 0x60, 0x4d],
    [0xf4, 0xa5, 0x82],
    [0xfd, 0xdb, 0xc7],
    [0xf7, 0xf7, 0xf7],
    [0xd1, 0xe5, 0xf0],
    [0x92, 0xc5, 0xde],
    [0x43, 0x93, 0xc3],
    [0x21, 0x66, 0xac],
    [0x05, 0x30, 0x61],
];

/// Colour of cells without a value (NaN).
const MISSING: [u8; 3] = [190, 190, 190];

/// The `RdBu` colour map at `t` ∈ [0, 1] (clamped; NaN gives grey): 0 is dark red, 0.5 white,
/// 1 dark blue, linearly interpolated between the 11 ColorBrewer anchors.
pub fn rdbu(t: f64) -> [u8; 3] {
    if t.is_nan() {
        return MISSING;
    }
    let s = t.clamp(0.0, 1.0) * (RDBU.len() - 1) as f64;
    let i = (s.floor() as usize).min(RDBU.len() - 2);
    let f = s - i as f64;
    let (a, b) = (RDBU[i], RDBU[i + 1]);
    let mix = |k: usize| (f64::from(a[k]) * (1.0 - f) + f64::from(b[k]) * f).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// A heat map of one value per row and column: rows are peaks or radial bands (row 0, the lowest
/// frequency, is drawn at the bottom), columns are observation steps.
#[derive(Debug, Clone, Copy)]
pub struct HeatMap<'a> {
    /// Figure title.
    pub title: &'a str,
    /// Horizontal axis description.
    pub x_label: &'a str,
    /// Vertical axis description.
    pub y_label: &'a str,
    /// Colour bar description.
    pub colour_label: &'a str,
    /// One label per row, lowest frequency first (e.g. "k=1", "k=3").
    pub row_labels: &'a [String],
    /// Step of each column, non-decreasing; any count (columns are averaged down to pixels).
    /// Each cell is centred on its step.
    pub columns: &'a [f64],
    /// `values[row][column]`; NaN cells are grey.
    pub values: &'a [Vec<f64>],
    /// Values at or below `range.0` get the darkest red, at or above `range.1` the darkest blue.
    pub range: (f64, f64),
}

impl<'a> HeatMap<'a> {
    /// A Δ_F heat map with the paper's colour range and axes "step" / "peak".
    pub fn new(
        title: &'a str,
        row_labels: &'a [String],
        columns: &'a [f64],
        values: &'a [Vec<f64>],
    ) -> Self {
        Self {
            title,
            x_label: "step",
            y_label: "peak",
            colour_label: DELTA_F_LABEL,
            row_labels,
            columns,
            values,
            range: DELTA_F_RANGE,
        }
    }

    fn validate(&self) -> Result<(), PlotError> {
        let invalid = |msg: String| Err(PlotError::Invalid(format!("{}: {msg}", self.title)));
        if self.values.is_empty() || self.columns.is_empty() {
            return invalid("no rows or no columns".into());
        }
        if self.row_labels.len() != self.values.len() {
            return invalid(format!(
                "{} row labels for {} rows",
                self.row_labels.len(),
                self.values.len()
            ));
        }
        if let Some(r) = self
            .values
            .iter()
            .position(|r| r.len() != self.columns.len())
        {
            return invalid(format!(
                "row {r} has {} values for {} columns",
                self.values[r].len(),
                self.columns.len()
            ));
        }
        if self.columns.iter().any(|c| !c.is_finite())
            || self.columns.windows(2).any(|w| w[1] < w[0])
        {
            return invalid("column steps must be finite and non-decreasing".into());
        }
        let (lo, hi) = self.range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return invalid(format!("colour range {lo}..{hi} is empty"));
        }
        Ok(())
    }

    /// Cell boundaries (one more than columns): cell i spans halfway to its neighbours, so it is
    /// centred on its step and the axis reads true for a few columns (epochs 0..6); the outer
    /// cells reach out by half their inner gap (0.5 for a single column).
    pub(super) fn cell_edges(&self) -> Vec<f64> {
        let c = self.columns;
        let n = c.len();
        let mean_gap = if n > 1 {
            (c[n - 1] - c[0]) / (n - 1) as f64
        } else {
            0.0
        };
        let half = |gap: f64| {
            if gap > 0.0 {
                gap / 2.0
            } else if mean_gap > 0.0 {
                mean_gap / 2.0
            } else {
                0.5
            }
        };
        let (first, last) = if n > 1 {
            (half(c[1] - c[0]), half(c[n - 1] - c[n - 2]))
        } else {
            (0.5, 0.5)
        };
        let mut edges = Vec::with_capacity(n + 1);
        edges.push(c[0] - first);
        edges.extend(c.windows(2).map(|w| 0.5 * (w[0] + w[1])));
        edges.push(c[n - 1] + last);
        edges
    }

    /// Colour at normalised position `t`, with values clipped to the range.
    fn colour(&self, v: f64) -> [u8; 3] {
        let (lo, hi) = self.range;
        rdbu((v - lo) / (hi - lo))
    }

    /// One row of `width` pixels over the cell edges: each pixel averages the columns whose step
    /// falls in its span, or takes the cell covering its centre when columns are sparser than
    /// pixels.
    pub(super) fn row_pixels(&self, row: &[f64], width: usize) -> Vec<[u8; 3]> {
        let edges = self.cell_edges();
        let n = self.columns.len();
        let (x0, x1) = (edges[0], edges[n]);
        let span = (x1 - x0) / width as f64;
        let mut out = Vec::with_capacity(width);
        for p in 0..width {
            let a = x0 + span * p as f64;
            let b = a + span;
            let start = self.columns.partition_point(|&c| c < a);
            let end = self.columns.partition_point(|&c| c < b);
            let (sum, count) = row[start..end]
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
            let value = if end > start {
                if count > 0 {
                    sum / count as f64
                } else {
                    f64::NAN
                }
            } else {
                let centre = a + 0.5 * span;
                let cell = edges[1..n].partition_point(|&e| e <= centre);
                row[cell.min(n - 1)]
            };
            out.push(self.colour(value));
        }
        out
    }
}

/// Labelled values of a colour bar over `lo..hi`: both ends (the converged threshold is the
/// low end) and round steps of about a quarter of the range between them.
pub(super) fn colour_bar_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    let scale = 10f64.powf((span / 4.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * scale)
        .find(|&s| s >= span / 4.0 * (1.0 - 1e-9))
        .unwrap_or(span);
    let mut ticks = vec![lo];
    let mut k = (lo / step).floor() + 1.0;
    while k * step < hi - 0.4 * step {
        if k * step > lo + 0.4 * step {
            ticks.push(k * step);
        }
        k += 1.0;
    }
    ticks.push(hi);
    ticks
}

/// Lower end of the colour bar's axis: a little below `lo`, so that the clipped values (all
/// drawn in the darkest red) show as a band under a marked threshold; 0 when that is close.
fn bar_floor(lo: f64, hi: f64) -> f64 {
    let below = 0.1 * (hi - lo);
    if lo > 0.0 && lo <= 1.5 * below {
        0.0
    } else {
        lo - below
    }
}

/// Splits `text` at spaces into lines no wider than `max` pixels (a longer word stays whole).
fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle<'_>,
    max: u32,
) -> Result<Vec<String>, PlotError> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        if let Some(last) = lines.last_mut() {
            let joined = format!("{last} {word}");
            if area.estimate_text_size(&joined, style).map_err(draw_err)?.0 <= max {
                *last = joined;
                continue;
            }
        }
        lines.push(word.to_string());
    }
    Ok(lines)
}

/// Height of one heat-map row in pixels, within the bounds below.
const ROW_HEIGHT: u32 = 56;
/// Plot height bounds in pixels.
const PLOT_HEIGHT: (u32, u32) = (220, 640);
/// Width of the colour bar area (bar, ticks and a description of up to two lines).
const BAR_AREA: u32 = 200;
/// Width of the colour bar itself.
const BAR_WIDTH: u32 = 45;

/// Writes a heat map (`stem.png`, `stem.svg`) with a colour bar and row labels.
pub fn heat_map(path_stem: &Path, map: &HeatMap<'_>) -> Result<Vec<PathBuf>, PlotError> {
    map.validate()?;
    render(&HeatFigure { map }, path_stem)
}

struct HeatFigure<'a, 'b> {
    map: &'b HeatMap<'a>,
}

impl HeatFigure<'_, '_> {
    fn plot_height(&self) -> u32 {
        (ROW_HEIGHT * self.map.values.len() as u32).clamp(PLOT_HEIGHT.0, PLOT_HEIGHT.1)
    }
}

impl Figure for HeatFigure<'_, '_> {
    fn size(&self) -> (u32, u32) {
        (1100, self.plot_height() + 140)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError> {
        let map = self.map;
        let (width, _) = self.size();
        let area = root
            .margin(8, 0, 0, 0)
            .titled(map.title, text(TITLE_SIZE))
            .map_err(draw_err)?;
        let (main, bar) = area.split_horizontally(width - BAR_AREA);

        let row_style = text(TICK_SIZE + 1.0);
        let mut label_width = 0;
        for label in map.row_labels {
            let (w, _) = root
                .estimate_text_size(label, &row_style)
                .map_err(draw_err)?;
            label_width = label_width.max(w);
        }
        let edges = map.cell_edges();
        let (x0, x1) = (edges[0], edges[edges.len() - 1]);
        let rows = map.values.len();
        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .margin_left(20)
            .x_label_area_size(66)
            .y_label_area_size(label_width + 50)
            .build_cartesian_2d(x0..x1, 0.0..rows as f64)
            .map_err(draw_err)?;
        let fmt = |v: &f64| format_tick(*v);
        chart
            .configure_mesh()
            .disable_mesh()
            .y_labels(0)
            .x_labels(10)
            .x_desc(map.x_label)
            .y_desc(map.y_label)
            .label_style(text(TICK_SIZE))
            .axis_desc_style(text(LABEL_SIZE))
            .x_label_formatter(&fmt)
            .draw()
            .map_err(draw_err)?;
        let label_pos = row_style.pos(Pos::new(HPos::Right, VPos::Center));
        for (r, label) in map.row_labels.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(x0, r as f64 + 0.5));
            root.draw_text(label, &label_pos, (px - 10, py))
                .map_err(draw_err)?;
        }

        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let pw = xr.len().max(1);
        let mut cells = image::RgbImage::new(pw as u32, rows as u32);
        for (r, row) in map.values.iter().enumerate() {
            let y = (rows - 1 - r) as u32; // row 0 at the bottom
            for (x, c) in map.row_pixels(row, pw).into_iter().enumerate() {
                cells.put_pixel(x as u32, y, image::Rgb(c));
            }
        }
        let mut rasters = vec![Raster {
            x: xr.start,
            y: yr.start,
            w: pw as u32,
            h: yr.len() as u32,
            image: cells,
        }];

        // Colour bar, aligned with the plot vertically, with the values below the range shown
        // as a band of the darkest red under a white line at the threshold.
        let (lo, hi) = map.range;
        let floor = bar_floor(lo, hi);
        let mut bar_chart = ChartBuilder::on(&bar)
            .margin(10)
            .margin_right(15)
            .x_label_area_size(66)
            .right_y_label_area_size(BAR_AREA - 25 - BAR_WIDTH)
            .build_cartesian_2d(0.0..1.0, floor..hi)
            .map_err(draw_err)?;
        bar_chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .draw()
            .map_err(draw_err)?;
        let (bx, by) = bar_chart.plotting_area().get_pixel_range();
        let bar_h = by.len().max(1) as u32;
        let per_pixel = (hi - floor) / f64::from(bar_h);
        let mut ramp = image::RgbImage::new(1, bar_h);
        for i in 0..bar_h {
            let v = hi - (f64::from(i) + 0.5) * per_pixel; // top = high
            let colour = if floor < lo && (v - lo).abs() <= per_pixel {
                [255, 255, 255]
            } else {
                map.colour(v)
            };
            ramp.put_pixel(0, i, image::Rgb(colour));
        }
        rasters.push(Raster {
            x: bx.start,
            y: by.start,
            w: bx.len() as u32,
            h: bar_h,
            image: ramp,
        });

        let tick_pos = text(TICK_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        let mut tick_width = 0;
        for v in colour_bar_ticks(lo, hi) {
            let (px, py) = bar_chart.backend_coord(&(1.0, v));
            root.draw(&PathElement::new(vec![(px, py), (px + 7, py)], BLACK))
                .map_err(draw_err)?;
            let label = format_tick(v);
            root.draw_text(&label, &tick_pos, (px + 11, py))
                .map_err(draw_err)?;
            let (w, _) = root
                .estimate_text_size(&label, &tick_pos)
                .map_err(draw_err)?;
            tick_width = tick_width.max(w as i32);
        }

        // Description, read top to bottom right of the tick labels, wrapped to the bar's height.
        let mut size = LABEL_SIZE - 2.0;
        let lines = loop {
            let lines = wrap(root, map.colour_label, &text(size), bar_h)?;
            if lines.len() <= 2 || size <= 14.0 {
                break lines;
            }
            size -= 2.0;
        };
        let style = text(size)
            .transform(FontTransform::Rotate90)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let (_, line_h) = root
            .estimate_text_size("Ag", &text(size))
            .map_err(draw_err)?;
        let line_h = line_h as i32 + 4;
        let centre_y = (by.start + by.end) / 2;
        let first_x = bx.end + 11 + tick_width + 10 + line_h * lines.len() as i32;
        for (k, line) in lines.iter().enumerate() {
            root.draw_text(line, &style, (first_x - line_h * k as i32, centre_y))
                .map_err(draw_err)?;
        }
        Ok(rasters)
    }
}
