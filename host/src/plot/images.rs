//! Grayscale image figures: grids of network outputs over training, and an image with a set of
//! pixels (the training columns) tinted.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::{draw_err, render, text, Figure, Raster, CAPTION_SIZE, LABEL_SIZE, TITLE_SIZE};
use super::PlotError;

/// A grayscale image, row-major, values in [0, 1] (clamped when drawn; NaN is drawn red).
#[derive(Debug, Clone, Copy)]
pub struct GrayImage<'a> {
    /// Pixels per row.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// `width × height` intensities, first row at the top.
    pub pixels: &'a [f32],
    /// Caption under the image, e.g. "step 100".
    pub caption: &'a str,
}

impl<'a> GrayImage<'a> {
    /// A square `size × size` image with a caption.
    pub fn square(size: usize, pixels: &'a [f32], caption: &'a str) -> Self {
        Self {
            width: size,
            height: size,
            pixels,
            caption,
        }
    }

    fn check(&self) -> Result<(), PlotError> {
        if self.width == 0 || self.height == 0 || self.pixels.len() != self.width * self.height {
            return Err(PlotError::Invalid(format!(
                "image \"{}\": {} pixels for {}×{}",
                self.caption,
                self.pixels.len(),
                self.width,
                self.height
            )));
        }
        Ok(())
    }

    /// The image as RGB, optionally tinting the pixels where `mask` is true.
    fn to_rgb(self, mask: Option<&[bool]>) -> image::RgbImage {
        image::RgbImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let i = y as usize * self.width + x as usize;
            let v = self.pixels[i];
            let g = if v.is_nan() {
                return image::Rgb([220, 0, 0]);
            } else {
                f64::from(v.clamp(0.0, 1.0)) * 255.0
            };
            match mask {
                Some(m) if m[i] => {
                    let a = TINT_ALPHA;
                    let mix = |c: u8| (g * (1.0 - a) + f64::from(c) * a).round() as u8;
                    image::Rgb([mix(TINT[0]), mix(TINT[1]), mix(TINT[2])])
                }
                _ => {
                    let g = g.round() as u8;
                    image::Rgb([g, g, g])
                }
            }
        })
    }
}

/// One row of an image grid (e.g. one σ), with its label drawn at the left.
#[derive(Debug, Clone, Copy)]
pub struct ImageRow<'a> {
    /// Row label, e.g. "σ = 0.1".
    pub label: &'a str,
    /// Images from left to right.
    pub images: &'a [GrayImage<'a>],
}

/// Tint of masked pixels (orange) and its opacity.
const TINT: [u8; 3] = [230, 85, 13];
const TINT_ALPHA: f64 = 0.5;

/// Largest and smallest displayed image side in pixels; images are scaled by whole factors
/// when they fit, so pixels stay square and sharp.
const CELL_MAX: u32 = 256;
const CELL_MIN: u32 = 96;
/// Figure width the grid aims to stay within.
const GRID_WIDTH: u32 = 1600;

/// Writes a grid of grayscale images with a caption under each and a label per row.
pub fn image_grid(
    path_stem: &Path,
    title: &str,
    rows: &[ImageRow<'_>],
) -> Result<Vec<PathBuf>, PlotError> {
    if rows.iter().all(|r| r.images.is_empty()) {
        return Err(PlotError::Invalid(format!("{title}: no images")));
    }
    for r in rows {
        for im in r.images {
            im.check()?;
        }
    }
    render(&Grid::new(title, rows), path_stem)
}

struct Grid<'a, 'b> {
    title: &'b str,
    rows: &'b [ImageRow<'a>],
    cols: u32,
    cell: u32,
    label_width: u32,
}

const TITLE_HEIGHT: u32 = 50;
const CAPTION_HEIGHT: u32 = 30;
const GAP: u32 = 12;

impl<'a, 'b> Grid<'a, 'b> {
    fn new(title: &'b str, rows: &'b [ImageRow<'a>]) -> Self {
        let cols = rows
            .iter()
            .map(|r| r.images.len())
            .max()
            .unwrap_or(1)
            .max(1) as u32;
        let longest = rows
            .iter()
            .map(|r| r.label.chars().count())
            .max()
            .unwrap_or(0) as u32;
        let label_width = if longest == 0 { GAP } else { 20 + 11 * longest };
        let side = rows
            .iter()
            .flat_map(|r| r.images)
            .map(|im| im.width.max(im.height) as u32)
            .max()
            .unwrap_or(1);
        let room = (GRID_WIDTH.saturating_sub(label_width) / cols).saturating_sub(GAP);
        let cell = room.clamp(CELL_MIN, CELL_MAX);
        // Whole-number scaling keeps every source pixel the same size on screen.
        let cell = if side <= cell {
            side * (cell / side)
        } else {
            cell
        };
        Self {
            title,
            rows,
            cols,
            cell,
            label_width,
        }
    }
}

impl Figure for Grid<'_, '_> {
    fn size(&self) -> (u32, u32) {
        let w = self.label_width + self.cols * (self.cell + GAP) + GAP;
        let h = TITLE_HEIGHT + self.rows.len() as u32 * (self.cell + CAPTION_HEIGHT + GAP) + GAP;
        (w.max(420), h)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError> {
        let (w, _) = self.size();
        root.draw_text(
            self.title,
            &text(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
            (w as i32 / 2, 10),
        )
        .map_err(draw_err)?;
        let mut rasters = Vec::new();
        let caption = text(CAPTION_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
        let label = text(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
        for (r, row) in self.rows.iter().enumerate() {
            let top = (TITLE_HEIGHT + r as u32 * (self.cell + CAPTION_HEIGHT + GAP)) as i32;
            root.draw_text(
                row.label,
                &label,
                (self.label_width as i32 - 12, top + self.cell as i32 / 2),
            )
            .map_err(draw_err)?;
            for (c, im) in row.images.iter().enumerate() {
                let left = (self.label_width + c as u32 * (self.cell + GAP)) as i32;
                let (dw, dh) = fit(im.width, im.height, self.cell);
                let x = left + (self.cell - dw) as i32 / 2;
                let y = top + (self.cell - dh) as i32 / 2;
                root.draw(&Rectangle::new(
                    [(x - 1, y - 1), (x + dw as i32, y + dh as i32)],
                    BLACK.mix(0.4),
                ))
                .map_err(draw_err)?;
                rasters.push(Raster {
                    x,
                    y,
                    w: dw,
                    h: dh,
                    image: im.to_rgb(None),
                });
                root.draw_text(
                    im.caption,
                    &caption,
                    (left + self.cell as i32 / 2, top + self.cell as i32 + 6),
                )
                .map_err(draw_err)?;
            }
        }
        Ok(rasters)
    }
}

/// Display size of a `w × h` image in a square cell of side `cell`, keeping the aspect ratio.
fn fit(w: usize, h: usize, cell: u32) -> (u32, u32) {
    let (w, h) = (w as f64, h as f64);
    let s = f64::from(cell) / w.max(h);
    (
        ((w * s).round() as u32).max(1),
        ((h * s).round() as u32).max(1),
    )
}

/// An image and a mask of the same size, e.g. the training pixels of a split.
#[derive(Debug, Clone, Copy)]
pub struct MaskedImage<'a> {
    /// Figure title.
    pub title: &'a str,
    /// The image (its caption is drawn under the plain copy).
    pub image: GrayImage<'a>,
    /// One flag per pixel; true pixels are tinted.
    pub mask: &'a [bool],
    /// What the tinted pixels are, e.g. "training pixels (even columns)".
    pub mask_label: &'a str,
}

/// Writes the image beside a copy whose masked pixels are tinted orange, with a legend.
pub fn image_with_mask(path_stem: &Path, fig: &MaskedImage<'_>) -> Result<Vec<PathBuf>, PlotError> {
    fig.image.check()?;
    if fig.mask.len() != fig.image.pixels.len() {
        return Err(PlotError::Invalid(format!(
            "{}: mask has {} entries for {} pixels",
            fig.title,
            fig.mask.len(),
            fig.image.pixels.len()
        )));
    }
    render(&Masked { fig }, path_stem)
}

struct Masked<'a, 'b> {
    fig: &'b MaskedImage<'a>,
}

/// Displayed side of each of the two images.
const MASKED_SIDE: u32 = 448;

impl Masked<'_, '_> {
    fn side(&self) -> u32 {
        let s = self.fig.image.width.max(self.fig.image.height) as u32;
        if s <= MASKED_SIDE {
            s * (MASKED_SIDE / s)
        } else {
            MASKED_SIDE
        }
    }
}

impl Figure for Masked<'_, '_> {
    fn size(&self) -> (u32, u32) {
        let side = self.side();
        (2 * side + 3 * 30, TITLE_HEIGHT + side + CAPTION_HEIGHT + 24)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError> {
        let (w, _) = self.size();
        let side = self.side();
        let im = self.fig.image;
        root.draw_text(
            self.fig.title,
            &text(TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
            (w as i32 / 2, 10),
        )
        .map_err(draw_err)?;
        let (dw, dh) = fit(im.width, im.height, side);
        let top = TITLE_HEIGHT as i32 + (side - dh) as i32 / 2;
        let caption = text(CAPTION_SIZE + 1.0).pos(Pos::new(HPos::Center, VPos::Top));
        let mut rasters = Vec::new();
        for (k, (mask, label)) in [
            (None, im.caption),
            (Some(self.fig.mask), self.fig.mask_label),
        ]
        .into_iter()
        .enumerate()
        {
            let left = 30 + k as i32 * (side as i32 + 30) + (side - dw) as i32 / 2;
            root.draw(&Rectangle::new(
                [(left - 1, top - 1), (left + dw as i32, top + dh as i32)],
                BLACK.mix(0.4),
            ))
            .map_err(draw_err)?;
            rasters.push(Raster {
                x: left,
                y: top,
                w: dw,
                h: dh,
                image: im.to_rgb(mask),
            });
            let cx = left + dw as i32 / 2;
            let cy = top + dh as i32 + 8;
            if mask.is_some() {
                // Swatch of the tint before the label.
                let (tw, _) = root.estimate_text_size(label, &caption).map_err(draw_err)?;
                let sx = cx - tw as i32 / 2 - 24;
                root.draw(&Rectangle::new(
                    [(sx, cy + 1), (sx + 16, cy + 17)],
                    RGBColor(TINT[0], TINT[1], TINT[2]).filled(),
                ))
                .map_err(draw_err)?;
            }
            root.draw_text(label, &caption, (cx, cy))
                .map_err(draw_err)?;
        }
        Ok(rasters)
    }
}
