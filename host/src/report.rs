//! What an experiment hands back to the command line: the headline numbers for the summary,
//! the figures for the page, and the run's status.

use crate::record::{FigureRef, RunStatus};

/// Any error of an experiment, with a message that names the problem.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The written results of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How the run ended.
    pub status: RunStatus,
    /// Headline results for `summary.json` (scalars show up in the report's one-line summary).
    pub results: serde_json::Value,
    /// Key/value lines for the run page and the terminal summary.
    pub lines: Vec<(String, String)>,
    /// Figures, in the order the page shows them.
    pub figures: Vec<FigureRef>,
}

/// Values as `f64`, the type the figures take.
pub fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| f64::from(v)).collect()
}

/// A number in a short, readable form for summaries (`1.23e-4`, `0.0456`, `1234`).
pub fn short(v: f64) -> String {
    if !v.is_finite() {
        format!("{v}")
    } else if v == 0.0 || (1e-2..1e5).contains(&v.abs()) {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// Step numbers or "not converged", for summaries.
pub fn steps_text(steps: &[Option<usize>]) -> String {
    steps
        .iter()
        .map(|s| s.map_or_else(|| "not converged".to_string(), |s| s.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(1234.0), "1234");
        assert_eq!(short(1.5e-5), "1.500e-5");
        assert_eq!(steps_text(&[Some(3), None]), "3, not converged");
    }
}
