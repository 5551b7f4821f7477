//! Shared machinery: font registration, drawing one figure on both backends, raster overlays,
//! styles and tick formatting.

use std::ffi::OsString;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor};

use super::text::GlyphText;
use super::PlotError;
use crate::record::{base64_encode, write_atomic};

/// DejaVu Sans, embedded so that text renders the same everywhere (licence in `assets/`).
pub(crate) static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font family name every text style uses.
pub(crate) const FAMILY: &str = "sans-serif";
/// Title text size (plotters points; about 0.8 pixel each).
pub(crate) const TITLE_SIZE: f64 = 30.0;
/// Axis description and legend text size (points).
pub(crate) const LABEL_SIZE: f64 = 23.0;
/// Tick label text size (points).
pub(crate) const TICK_SIZE: f64 = 20.0;
/// Caption text size (small multiples, image grids; points).
pub(crate) const CAPTION_SIZE: f64 = 20.0;

/// Series colours: the "tab10" palette, distinct for up to ten series and readable in print.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of series `i` (the palette repeats after ten).
pub(crate) fn series_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded font once per process.
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

/// A text style of the embedded family.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// Converts any plotters error into ours.
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// A bitmap pasted over the drawing after plotters has finished, stretched (nearest neighbour)
/// onto the rectangle `x, y, w, h` in figure pixels. Dense images and heat maps go through this
/// path, so an SVG holds one embedded PNG instead of thousands of rectangles.
pub(crate) struct Raster {
    pub x: i32,
    pub y: i32,
    pub w: u32,
    pub h: u32,
    pub image: image::RgbImage,
}

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws everything plotters draws and returns the rasters to paste on top.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<Vec<Raster>, PlotError>;
}

/// `stem` + `.ext`, keeping any dots already in the stem.
fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// Draws `fig` into `stem.png` and `stem.svg`.
pub(crate) fn render(fig: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>, PlotError> {
    ensure_font()?;
    if stem.file_name().is_none() {
        return Err(PlotError::Invalid(format!(
            "{}: not a file path stem",
            stem.display()
        )));
    }
    let (w, h) = fig.size();
    let png_path = with_suffix(stem, "png");
    let svg_path = with_suffix(stem, "svg");
    write_atomic(&png_path, &render_png(fig, w, h)?)?;
    write_atomic(&svg_path, render_svg(fig, w, h)?.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

fn render_png(fig: &impl Figure, w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    let rasters = {
        let backend = GlyphText(BitMapBackend::with_buffer(&mut buf, (w, h)));
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let rasters = fig.draw(&root)?;
        root.present().map_err(draw_err)?;
        rasters
    };
    let mut img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| PlotError::Encode("buffer size does not match the figure".into()))?;
    for r in &rasters {
        paste(&mut img, r);
    }
    encode_png(&img)
}

fn render_svg(fig: &impl Figure, w: u32, h: u32) -> Result<String, PlotError> {
    let mut svg = String::new();
    let rasters = {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let rasters = fig.draw(&root)?;
        root.present().map_err(draw_err)?;
        rasters
    };
    if rasters.is_empty() {
        return Ok(svg);
    }
    let mut images = String::new();
    for r in &rasters {
        // Scale to the destination size here: SVG renderers that ignore `image-rendering` would
        // otherwise blur the cells of a heat map into each other.
        let mut scaled = image::RgbImage::new(r.w.max(1), r.h.max(1));
        paste(
            &mut scaled,
            &Raster {
                x: 0,
                y: 0,
                w: r.w,
                h: r.h,
                image: r.image.clone(),
            },
        );
        let png = encode_png(&scaled)?;
        images.push_str(&format!(
            "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
             style=\"image-rendering:pixelated;image-rendering:crisp-edges\" \
             xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:href=\"data:image/png;base64,{data}\" \
             href=\"data:image/png;base64,{data}\"/>\n",
            r.x,
            r.y,
            r.w,
            r.h,
            data = base64_encode(&png)
        ));
    }
    match svg.rfind("</svg>") {
        Some(end) => svg.insert_str(end, &images),
        None => return Err(PlotError::Draw("SVG output has no closing tag".into())),
    }
    Ok(svg)
}

/// Stretches `r.image` onto its rectangle of `dst` (nearest neighbour, clipped to `dst`).
fn paste(dst: &mut image::RgbImage, r: &Raster) {
    let (iw, ih) = r.image.dimensions();
    if iw == 0 || ih == 0 || r.w == 0 || r.h == 0 {
        return;
    }
    for dy in 0..r.h {
        let y = r.y + dy as i32;
        if y < 0 || y as u32 >= dst.height() {
            continue;
        }
        let sy = (u64::from(dy) * u64::from(ih) / u64::from(r.h)) as u32;
        for dx in 0..r.w {
            let x = r.x + dx as i32;
            if x < 0 || x as u32 >= dst.width() {
                continue;
            }
            let sx = (u64::from(dx) * u64::from(iw) / u64::from(r.w)) as u32;
            dst.put_pixel(x as u32, y as u32, *r.image.get_pixel(sx, sy));
        }
    }
}

fn encode_png(img: &image::RgbImage) -> Result<Vec<u8>, PlotError> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

/// Formats an axis tick: about four significant digits, no trailing zeros, exponent form for
/// very large or small magnitudes (`1e-5`, `2.5e6`).
pub(crate) fn format_tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            v.to_string()
        };
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let mag = a.log10().floor() as i32;
        let decimals = (3 - mag).clamp(0, 6) as usize;
        trim_zeros(format!("{v:.decimals$}"))
    } else {
        let s = format!("{v:.2e}");
        match s.split_once('e') {
            Some((mant, exp)) => format!("{}e{exp}", trim_zeros(mant.to_string())),
            None => s,
        }
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".into()
        } else {
            t.to_string()
        }
    } else {
        s
    }
}

/// Checks that two slices have the same length, naming them in the error.
pub(crate) fn same_len(what: &str, a: usize, b: usize) -> Result<(), PlotError> {
    if a == b {
        Ok(())
    } else {
        Err(PlotError::Invalid(format!(
            "{what}: {a} x values but {b} y values"
        )))
    }
}
