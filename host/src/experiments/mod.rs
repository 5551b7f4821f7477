//! One module per experiment of the paper, and what they share: the memory estimate that
//! refuses a run too large for the machine before it starts.

pub mod freq_order;
pub mod image;
pub mod init_scale;
pub mod memory;
pub mod mnist;

/// What to tell a user whose run's loss became NaN or infinite: when (`when`: "at step 6"),
/// and the settings to lower (the learning rate, and `scale`, the initialization scale's flag).
/// A sweep puts its run first ("σ = 3, seed 1: …").
pub fn divergence(when: &str, optimizer: &crate::network::OptimizerConfig, scale: &str) -> String {
    format!(
        "the loss became NaN or infinite {when}: lower --learning-rate (now {}) or {scale}",
        freq_order::learning_rate(optimizer)
    )
}

/// Refuses a swept list (σ values, gains) that is not strictly increasing: the verdicts
/// compare its values in order, and each value names its own run and figure.
pub fn check_increasing(flag: &str, values: &[f32]) -> Result<(), String> {
    if values.windows(2).any(|p| p[0] >= p[1]) {
        return Err(format!(
            "{flag}: list the values small first (increasing), each once, got {values:?}"
        ));
    }
    Ok(())
}

/// A trend over a sweep (test error growing with σ, accuracy falling with the gain): `None`
/// with fewer than two points, where there is no trend to speak of.
pub fn trend(values: &[f64], holds: impl Fn(f64, f64) -> bool) -> Option<bool> {
    (values.len() >= 2).then(|| values.windows(2).all(|p| holds(p[0], p[1])))
}

/// A trend for the summary: "yes", "no", or "not determined (needs two `what`)".
pub fn trend_text(trend: Option<bool>, what: &str) -> String {
    match trend {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => format!("not determined (needs two {what})"),
    }
}
