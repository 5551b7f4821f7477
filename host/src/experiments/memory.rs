//! An estimate of a run's memory, made before its run directory exists.
//!
//! A run whose buffers cannot fit would otherwise abort on a failed allocation (or be killed by
//! the system) halfway, leaving its run directory marked "running". Each experiment adds up
//! what it will hold at its peak — the parameters with their gradients, optimizer state and
//! checkpoint copies; the activations and deltas of the largest set of rows it evaluates at
//! once (split across the training threads, which together hold every row); its data grids;
//! and the records that grow with the number of steps — and a run above the budget is refused
//! with the flags that drive its largest parts.
//!
//! The budget is three quarters of the memory the system reports available when the run
//! starts (`MemAvailable` in `/proc/meminfo`, Linux), leaving room for everything the estimate
//! leaves out; where that cannot be read, a fixed [`FALLBACK_BUDGET`]. The estimate is rough
//! (within a factor of about two): it is meant to catch runs that are tens of times too large,
//! not to pack memory tightly.

use crate::network::OptimizerConfig;

/// The budget where the available memory cannot be read: 4 GiB.
pub const FALLBACK_BUDGET: f64 = 4.0 * GIB;

/// Share of the available memory a run may plan to use.
const AVAILABLE_SHARE: f64 = 0.75;

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes of an `f32`.
pub const F32: f64 = 4.0;

/// One part of an estimate.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    /// What it is, e.g. "activations of 128 rows evaluated at once".
    what: String,
    /// The flags that set its size, e.g. "--train-points, --widths".
    flags: &'static str,
    bytes: f64,
}

/// The memory a run will need at its peak, in named parts. Sizes are `f64` bytes so that no
/// setting, however large, overflows the sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    parts: Vec<Part>,
}

/// How much memory a run may use, and where the figure comes from (for the message).
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// Bytes.
    pub bytes: f64,
    /// Where the figure comes from, e.g. "three quarters of the 23.5 GiB available now".
    pub source: String,
}

impl Budget {
    /// The budget of this machine now (see the module documentation).
    pub fn of_this_machine() -> Self {
        match available_memory() {
            Some(available) => Budget {
                bytes: AVAILABLE_SHARE * available,
                source: format!(
                    "three quarters of the {} the system reports available",
                    gib(available)
                ),
            },
            None => Budget {
                bytes: FALLBACK_BUDGET,
                source: "the fixed budget used where the available memory cannot be read".into(),
            },
        }
    }
}

/// `MemAvailable` of `/proc/meminfo` in bytes, where the system has it.
fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

/// The `MemAvailable:  N kB` line of a `/proc/meminfo` text, in bytes.
fn parse_mem_available(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: f64 = words.next()?.parse().ok()?;
    let unit = match words.next() {
        Some("kB") => 1024.0,
        None => 1.0,
        Some(_) => return None,
    };
    let bytes = value * unit;
    (bytes > 0.0).then_some(bytes)
}

impl Estimate {
    /// An empty estimate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a part of `bytes` bytes, described by `what` and sized by `flags`.
    pub fn add(&mut self, what: impl Into<String>, flags: &'static str, bytes: f64) -> &mut Self {
        self.parts.push(Part {
            what: what.into(),
            flags,
            bytes,
        });
        self
    }

    /// Adds the parameters of a network of `widths` with their gradients, the optimizer's
    /// state and `copies` more copies of parameters and state (checkpoints: the captured state
    /// and its encoded bytes).
    pub fn network(
        &mut self,
        widths: &[usize],
        optimizer: &OptimizerConfig,
        copies: usize,
        flags: &'static str,
    ) -> &mut Self {
        let slots = match optimizer {
            OptimizerConfig::Adam { .. } => 2.0,
            OptimizerConfig::Sgd { .. } => 1.0,
        };
        let parameters = parameter_count_f64(widths);
        let per_parameter = 2.0 + slots + copies as f64 * (1.0 + slots);
        self.add(
            format!("parameters, gradients and optimizer state of {parameters:.0} parameters"),
            flags,
            parameters * per_parameter * F32,
        )
    }

    /// Adds the buffers of `rows` rows evaluated (or trained on) at once by a network of
    /// `widths` on `threads` threads: each thread's forward activations, backward scratch and
    /// deltas for its share of the rows, and its part's input and output rows.
    pub fn rows(
        &mut self,
        widths: &[usize],
        rows: usize,
        threads: usize,
        flags: &'static str,
    ) -> &mut Self {
        let threads = threads.max(1);
        // Every thread rounds its share up; the buffers are kept at their largest size.
        let rows_held = rows as f64 + threads as f64;
        let (input, output) = (
            widths.first().copied().unwrap_or(0) as f64,
            widths.last().copied().unwrap_or(0) as f64,
        );
        let per_row = workspace_count_f64(widths) + activation_count_f64(widths) + input + output;
        self.add(
            format!("activations and deltas of {rows} rows evaluated at once"),
            flags,
            rows_held * per_row * F32,
        )
    }

    /// The total in bytes.
    pub fn total(&self) -> f64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    /// Refuses a run above this machine's budget (see [`Estimate::check_against`]).
    pub fn check(&self) -> Result<(), String> {
        self.check_against(&Budget::of_this_machine())
    }

    /// Refuses a run above `budget`, with the total, the budget, and the parts that make up
    /// most of the total with the flags that set them.
    pub fn check_against(&self, budget: &Budget) -> Result<(), String> {
        let total = self.total();
        if total.is_finite() && total <= budget.bytes {
            return Ok(());
        }
        let mut parts: Vec<&Part> = self.parts.iter().collect();
        parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
        // The parts worth changing: those that make up a tenth of the total or more.
        let large: Vec<String> = parts
            .iter()
            .filter(|p| p.bytes >= 0.1 * total || total.is_nan())
            .map(|p| format!("{} ({}; set by {})", p.what, gib(p.bytes), p.flags))
            .collect();
        Err(format!(
            "this run would need about {} of memory, more than the {} it may use ({}): {}; \
             lower those settings",
            gib(total),
            gib(budget.bytes),
            budget.source,
            large.join("; ")
        ))
    }
}

/// Bytes as GiB, e.g. `"3.2 GiB"` (`"> 1e9 GiB"` for absurd sizes).
fn gib(bytes: f64) -> String {
    let g = bytes / GIB;
    if g.is_nan() || g >= 1e9 {
        "more than 1e9 GiB".into()
    } else if g < 0.1 {
        format!("{:.1} MiB", bytes / (GIB / 1024.0))
    } else {
        format!("{g:.1} GiB")
    }
}

/// Widths as `f64`, for sums that cannot overflow.
fn widths_f64(widths: &[usize]) -> Vec<f64> {
    widths.iter().map(|&w| w as f64).collect()
}

/// The core's `mlp::parameter_count`, without overflow.
fn parameter_count_f64(widths: &[usize]) -> f64 {
    let w = widths_f64(widths);
    w.windows(2).map(|p| (p[0] + 1.0) * p[1]).sum()
}

/// The core's `mlp::activation_count` of one row, without overflow.
fn activation_count_f64(widths: &[usize]) -> f64 {
    widths_f64(widths).iter().skip(1).sum()
}

/// The core's `train::workspace_count` of one row, without overflow.
fn workspace_count_f64(widths: &[usize]) -> f64 {
    let w = widths_f64(widths);
    let layers = w.iter().skip(1).copied();
    let widest = layers.clone().fold(0.0, f64::max);
    layers.sum::<f64>() + 2.0 * widest + w.last().copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fprinciple_core::mlp::{activation_count, parameter_count};
    use fprinciple_core::train::workspace_count;

    #[test]
    fn counts_match_the_core() {
        let widths = [3, 7, 5, 2];
        assert_eq!(
            parameter_count_f64(&widths),
            parameter_count(&widths) as f64
        );
        assert_eq!(
            activation_count_f64(&widths),
            activation_count(&widths, 1) as f64
        );
        assert_eq!(
            workspace_count_f64(&widths),
            workspace_count(&widths, 1) as f64
        );
        // Far beyond usize on any platform: still a finite estimate.
        assert!(parameter_count_f64(&[usize::MAX, usize::MAX]).is_finite());
    }

    #[test]
    fn a_run_over_budget_is_refused_with_its_largest_parts() {
        let budget = Budget {
            bytes: 1e9,
            source: "a test".into(),
        };
        let adam = OptimizerConfig::Adam {
            learning_rate: 1e-3,
        };
        let mut small = Estimate::new();
        small.network(&[1, 200, 200, 1], &adam, 0, "--widths").rows(
            &[1, 200, 200, 1],
            1000,
            8,
            "--train-points",
        );
        assert!(small.check_against(&budget).is_ok());

        let mut large = Estimate::new();
        large.network(&[1, 200, 1], &adam, 0, "--widths").rows(
            &[1, 200, 1],
            100_000_000,
            8,
            "--train-points, --widths",
        );
        let err = large.check_against(&budget).unwrap_err();
        assert!(err.contains("--train-points, --widths"), "{err}");
        assert!(err.contains("100000000 rows"), "{err}");
        // The small part is not worth naming.
        assert!(!err.contains("set by --widths)"), "{err}");

        let mut absurd = Estimate::new();
        absurd.rows(&[1, usize::MAX, 1], usize::MAX, 1, "--widths");
        assert!(absurd.check_against(&budget).is_err());
    }

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       24731708 kB\nMemFree:        21784804 kB\n\
                    MemAvailable:   23520628 kB\n";
        assert_eq!(parse_mem_available(text), Some(23520628.0 * 1024.0));
        assert_eq!(parse_mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: x kB\n"), None);
        assert!(Budget::of_this_machine().bytes > 0.0);
    }
}
