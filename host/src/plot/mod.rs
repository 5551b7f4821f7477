//! Figures of the experiments, written as PNG and SVG side by side.
//!
//! Every function takes a `path_stem` and writes `stem.png` and `stem.svg` (atomically, see
//! [`crate::record::write_atomic`]), returning both paths. Figures have a title, labelled axes and
//! a legend where more than one thing is drawn, in the first corner where it hides no data (else
//! beside the plot). Log axes get at least three labels, however narrow. Text uses an embedded
//! font (DejaVu Sans), so nothing depends on the fonts installed on the machine.
//!
//! The functions are generic (slices and labels), not tied to an experiment:
//!
//! | function | figure |
//! |---|---|
//! | [`line_chart`] | named (x, y) series, optional log axes: loss, Δ_F per peak, test MSE vs σ |
//! | [`heat_map`] | Δ_F per row (peak, band) against step, RdBu clipped to [0.1, 1]; darkest red (≤ 0.1) = converged |
//! | [`function_snapshots`] | target vs network output at several steps, training points marked |
//! | [`spectrum_chart`] | \|DFT\| of target and output against frequency, peaks marked |
//! | [`image_grid`] | grayscale images in rows (e.g. per σ) with captions (e.g. "step 100") |
//! | [`image_with_mask`] | an image beside a copy with the masked pixels tinted (training columns) |

mod heat;
mod images;
mod render;
mod text;
mod xy;

use std::fmt;

use crate::record::RecordError;

pub use heat::{heat_map, rdbu, HeatMap, DELTA_F_LABEL, DELTA_F_RANGE};
pub use images::{image_grid, image_with_mask, GrayImage, ImageRow, MaskedImage};
pub use xy::{
    function_snapshots, line_chart, spectrum_chart, LineChart, Series, Snapshot, Snapshots,
    SpectrumChart,
};

/// Why a figure could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum PlotError {
    /// The data do not make a figure (lengths differ, nothing to draw, …).
    Invalid(String),
    /// The plotting library failed while drawing.
    Draw(String),
    /// The PNG could not be encoded.
    Encode(String),
    /// The embedded font could not be loaded.
    Font,
    /// Writing a file failed.
    Record(RecordError),
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(msg) => write!(f, "invalid figure data: {msg}"),
            Self::Draw(msg) => write!(f, "drawing failed: {msg}"),
            Self::Encode(msg) => write!(f, "PNG encoding failed: {msg}"),
            Self::Font => f.write_str("the embedded font could not be loaded"),
            Self::Record(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Record(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RecordError> for PlotError {
    fn from(e: RecordError) -> Self {
        Self::Record(e)
    }
}

#[cfg(test)]
mod tests;
