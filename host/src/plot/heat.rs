//! The Δ_F heat map: relative error per frequency row against training step, drawn the way the
//! paper's authors draw it (matplotlib `RdBu`, clipped to [0.1, 1]: converged = red).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::{
    draw_err, format_tick, render, text, Figure, Raster, LABEL_SIZE, TICK_SIZE, TITLE_SIZE,
};
use super::PlotError;

/// Colour range of the paper's heat maps: Δ_F ≤ 0.1 (converged) is full red, ≥ 1 full blue.
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
            colour_label: "Δ_F (red: converged)",
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

    /// Horizontal extent: first step to one spacing past the last, so the last column has a width.
    fn x_extent(&self) -> (f64, f64) {
        let first = self.columns[0];
        let last = self.columns[self.columns.len() - 1];
        let step = match self.columns.len() {
            1 => 1.0,
            n => (last - self.columns[n - 2]).max((last - first) / (n - 1) as f64),
        };
        let step = if step > 0.0 { step } else { 1.0 };
        (first, last + step)
    }

    /// Colour at normalised position `t`, with values clipped to the range.
    fn colour(&self, v: f64) -> [u8; 3] {
        let (lo, hi) = self.range;
        rdbu((v - lo) / (hi - lo))
    }

    /// One row of `width` pixels: each pixel averages the columns whose step falls in its span,
    /// or repeats the column covering it when columns are sparser than pixels.
    fn row_pixels(&self, row: &[f64], width: usize) -> Vec<[u8; 3]> {
        let (x0, x1) = self.x_extent();
        let span = (x1 - x0) / width as f64;
        let mut out = Vec::with_capacity(width);
        for p in 0..width {
            let a = x0 + span * p as f64;
            let b = a + span;
            let start = self.columns.partition_point(|&c| c < a);
            let end = self.columns.partition_point(|&c| c < b);
            let (sum, n) = row[start..end]
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
            let value = if end > start {
                if n > 0 {
                    sum / n as f64
                } else {
                    f64::NAN
                }
            } else {
                // No column starts in this pixel: the last column at or before it covers it.
                let covering = self.columns.partition_point(|&c| c <= a).saturating_sub(1);
                row[covering]
            };
            out.push(self.colour(value));
        }
        out
    }
}

/// Height of one heat-map row in pixels, within the bounds below.
const ROW_HEIGHT: u32 = 56;
/// Plot height bounds in pixels.
const PLOT_HEIGHT: (u32, u32) = (220, 640);
/// Width of the colour bar area (bar, ticks and description).
const BAR_AREA: u32 = 150;

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
        let (x0, x1) = map.x_extent();
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

        // Colour bar, aligned with the plot vertically.
        let (lo, hi) = map.range;
        let mut bar_chart = ChartBuilder::on(&bar)
            .margin(10)
            .margin_right(15)
            .x_label_area_size(66)
            .right_y_label_area_size(BAR_AREA - 70)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(draw_err)?;
        bar_chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(0)
            .y_labels(10)
            .y_desc(map.colour_label)
            .label_style(text(TICK_SIZE))
            .axis_desc_style(text(LABEL_SIZE - 2.0))
            .y_label_formatter(&fmt)
            .draw()
            .map_err(draw_err)?;
        let (bx, by) = bar_chart.plotting_area().get_pixel_range();
        const BAR_STEPS: u32 = 256;
        let mut ramp = image::RgbImage::new(1, BAR_STEPS);
        for i in 0..BAR_STEPS {
            let t = 1.0 - (f64::from(i) + 0.5) / f64::from(BAR_STEPS); // top = high
            ramp.put_pixel(0, i, image::Rgb(rdbu(t)));
        }
        rasters.push(Raster {
            x: bx.start,
            y: by.start,
            w: bx.len() as u32,
            h: by.len() as u32,
            image: ramp,
        });
        Ok(rasters)
    }
}
