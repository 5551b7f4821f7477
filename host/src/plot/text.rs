//! Text on bitmaps, each glyph drawn where the font places it.
//!
//! plotters' `ab_glyph` font support draws each glyph's bitmap at the pen position, leaving out
//! the glyph's left side bearing (the space the font puts before its ink), so the letters of a
//! PNG figure's text are unevenly spaced ("con verged"). The SVG backend writes text as text
//! and is unaffected. [`GlyphText`] wraps a bitmap backend and draws text itself, with the same
//! embedded font, layout box, anchors and rotations as plotters, but each glyph at its pen
//! position plus its bearing (and at its fractional position, which the rasterizer honours);
//! everything else passes through to the wrapped backend.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use super::render::FONT;

/// The embedded font, parsed once per process (`None` if it cannot be: text then falls back to
/// plotters' own drawing).
fn font() -> Option<&'static FontRef<'static>> {
    static PARSED: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    PARSED
        .get_or_init(|| FontRef::try_from_slice(FONT).ok())
        .as_ref()
}

/// A bitmap backend whose text is drawn glyph by glyph at the font's positions (see the module
/// documentation). It forwards what the wrapped backend implements itself (plotters' bitmap
/// backend: pixels, lines, rectangles, blits); the trait's other drawing (paths, circles,
/// polygons) is built from those.
pub(crate) struct GlyphText<DB>(pub DB);

impl<DB: DrawingBackend> DrawingBackend for GlyphText<DB> {
    type ErrorType = DB::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    /// plotters' text drawing (layout box, anchor, rotation, colour blended by coverage) with
    /// each glyph placed at its pen position plus its left side bearing.
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let Some(font) = font() else {
            return self.0.draw_text(text, style, pos);
        };
        let ((min_x, min_y), (max_x, max_y)) = style
            .layout_box(text)
            .map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let size = style.size() as f32;
        let scaled = font.as_scaled(size);
        let mut caret = 0.0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(scaled.scale(), ab_glyph::point(caret, 0.0));
            caret += scaled.h_advance(id);
            let Some(outline) = scaled.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            // As plotters places text vertically: the baseline half the size below the top.
            let (left, top) = (bounds.min.x as i32, (size / 2.0 + bounds.min.y) as i32);
            let mut coverage = Vec::new();
            outline.draw(|x, y, c| coverage.push((x as i32 + left, y as i32 + top, c)));
            for (x, y, c) in coverage {
                if c <= 0.0 {
                    continue;
                }
                let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                    let blended = BackendColor {
                        alpha: color.alpha * f64::from(c.min(1.0)),
                        rgb: color.rgb,
                    };
                    self.0.draw_pixel((x, y), blended)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::render::{ensure_font, text};

    const W: usize = 200;
    const H: usize = 80;

    /// `label` drawn at (10, 10) on a white `W × H` bitmap; returns, per column, whether any
    /// pixel of it is darker than `threshold` (0–255).
    fn inked_columns(label: &str, size: f64, threshold: u8) -> Vec<bool> {
        ensure_font().unwrap();
        let mut buf = vec![255u8; W * H * 3];
        {
            let backend = BitMapBackend::with_buffer(&mut buf, (W as u32, H as u32));
            let root = GlyphText(backend).into_drawing_area();
            root.draw(&Text::new(label, (10, 10), text(size))).unwrap();
            root.present().unwrap();
        }
        (0..W)
            .map(|x| (0..H).any(|y| buf[(y * W + x) * 3] < threshold))
            .collect()
    }

    /// The first column with ink of `label`.
    fn first_ink_column(label: &str, size: f64) -> usize {
        let inked = inked_columns(label, size, 128);
        inked.iter().position(|&i| i).expect("the text has ink")
    }

    /// The first ink column right of the first letter's ink in a two-letter label.
    fn first_ink_column_of_second(label: &str, size: f64) -> usize {
        let inked = inked_columns(label, size, 250);
        let start = inked.iter().position(|&i| i).unwrap();
        let end = start + inked[start..].iter().position(|&i| !i).unwrap();
        end + inked[end..].iter().position(|&i| i).unwrap()
    }

    /// The font puts space before a glyph's ink (DejaVu Sans's "I": 201/2048 em, four pixels
    /// at 40); the ink must start there, not at the pen position.
    #[test]
    fn glyphs_keep_their_left_bearing() {
        let font = font().expect("the embedded font parses");
        let scaled = font.as_scaled(40.0);
        let bearing = scaled.h_side_bearing(scaled.glyph_id('I'));
        assert!(bearing > 3.0, "{bearing}");
        let ink = first_ink_column("I", 40.0);
        assert!(
            (ink as f32 - (10.0 + bearing)).abs() <= 1.0,
            "ink at {ink}, pen at 10, bearing {bearing}"
        );
    }

    /// Between two letters the ink gap is the font's: the end of one glyph's ink to the start
    /// of the next, as ab_glyph lays them out, within a pixel.
    #[test]
    fn gaps_between_letters_are_the_fonts() {
        let font = font().expect("the embedded font parses");
        let scaled = font.as_scaled(40.0);
        for pair in ["nv", "on", "Il"] {
            let mut chars = pair.chars();
            let (a, b) = (chars.next().unwrap(), chars.next().unwrap());
            let (ia, ib) = (scaled.glyph_id(a), scaled.glyph_id(b));
            let pen_b = scaled.h_advance(ia) + scaled.kern(ia, ib);
            let expected = 10.0 + pen_b + scaled.h_side_bearing(ib);
            let both = first_ink_column_of_second(pair, 40.0) as f32;
            assert!(
                (both - expected).abs() <= 1.0,
                "{pair}: {both} vs {expected}"
            );
        }
    }
}
