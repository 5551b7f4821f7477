//! The MNIST experiment: small initialization generalizes better, and the network fits the
//! low frequencies of the labels first, seen in two ways in 784 dimensions.
//!
//! A tanh network 784-400-200-10 is trained on one-hot targets (MSE, the paper's setting) with
//! hidden-layer weights of std `g/√fan_in` for each gain `g`; train and test accuracy are
//! recorded every epoch. The frequency content of the fit is measured by
//!
//! - **projection**: the first principal direction `p₁` of the training inputs (power
//!   iteration), the coordinate `t_i = (x_i − x̄)·p₁ / σ_t` (unit variance), and a non-uniform
//!   DFT along `t` of one output component and of its one-hot label; the core's
//!   [`SpectralTracker`] follows the relative error `Δ_F` at the label spectrum's peaks;
//! - **filtering**: a row-normalised Gaussian kernel `G_ij = exp(−|x_i − x_j|²/(2δ))` on a
//!   training subsample splits labels and outputs into a low part `G·y` and a high part
//!   `y − G·y`; `e_low` and `e_high` are the relative errors of the two parts.
//!
//! Nothing here writes files or draws: [`run`] returns an [`MnistResult`] with everything the
//! figures need (accuracy against `g`, the `Δ_F` heat map along `p₁`, the `e_low`/`e_high`
//! curves), and reports progress through a callback. [`run_controlled`] can also stop between
//! two epochs, hand its [`MnistState`] to a checkpoint callback, and resume from one to the same
//! numbers as a run that never stopped.

use std::fmt;
use std::time::Instant;

use fprinciple_core::activation::Activation;
use fprinciple_core::dense::{self, DenseShape};
use fprinciple_core::fft::Complex32;
use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{self, Peak, PeakSearch};
use fprinciple_core::tracker::{ConvergenceRule, SpectralTracker, TrackerSettings};
use fprinciple_core::train::{BatchBuffers, Samples};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, Control, Fingerprint, OptimizerState, RunDriver, RunEnd};
use crate::data::idx::Dataset;
use crate::experiments::divergence;
use crate::experiments::memory::{self, Estimate};
use crate::network::{self, HostTrainer, InitScale, Network, OptimizerConfig};

/// Most peaks followed along `p₁`: the strongest ones are kept when the label spectrum has more.
pub const MAX_PEAKS: usize = 16;

/// Most frequency samples of the projection spectrum (bounds the peak search's stack buffer).
pub const MAX_FREQUENCIES: usize = 1024;

/// Rows of the kernel computed at once: `BLOCK_ROWS × subsample` distances live at a time.
const BLOCK_ROWS: usize = 64;

/// The δ search stops when the low-frequency share is this close to its target.
const SHARE_TOLERANCE: f32 = 0.01;

/// Bracket expansions and bisection steps the δ search may take before it gives up.
const DELTA_SEARCH_STEPS: usize = 60;

/// Added to the seed for the power iteration's start vector, so it does not reuse the draws
/// that initialize the networks.
const POWER_ITERATION_SEED_OFFSET: u64 = 0x9E37_79B9_7F4A_7C15;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Every setting of an MNIST run. `Default` is the paper's setting; [`MnistConfig::quick`] a
/// short one that still shows the effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MnistConfig {
    /// Layer widths, input first: 784-400-200-10 (input = pixels, output = classes).
    pub widths: Vec<usize>,
    /// Loss on one-hot targets: MSE (the paper's) or softmax cross-entropy.
    pub loss: Loss,
    /// Optimizer: Adam with learning rate 1e-3.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size: 100.
    pub batch_size: usize,
    /// Epochs per gain: 30.
    pub epochs: usize,
    /// Hidden-layer gains `g` (std `g/√fan_in`; the output layer keeps `1/√fan_in`): 1, 4, 8.
    pub gains: Vec<f32>,
    /// Seed of everything random: the same seed gives the same numbers. Every gain draws its
    /// network from the same seed, so the gains differ only in scale.
    pub seed: u64,
    /// Use only the first this many training samples (`None`: all).
    pub train_samples: Option<usize>,
    /// Use only the first this many test samples (`None`: all).
    pub test_samples: Option<usize>,
    /// The spectrum along the first principal direction.
    pub projection: ProjectionConfig,
    /// The Gaussian low-pass filter.
    pub filtering: FilterConfig,
}

impl Default for MnistConfig {
    fn default() -> Self {
        MnistConfig {
            widths: vec![784, 400, 200, 10],
            loss: Loss::MeanSquaredError,
            optimizer: OptimizerConfig::Adam {
                learning_rate: 1e-3,
            },
            batch_size: 100,
            epochs: 30,
            gains: vec![1.0, 4.0, 8.0],
            seed: 0,
            train_samples: None,
            test_samples: None,
            projection: ProjectionConfig::default(),
            filtering: FilterConfig::default(),
        }
    }
}

impl MnistConfig {
    /// The paper's setting (the same as `Default`).
    pub fn paper() -> Self {
        Self::default()
    }

    /// A short run that still shows both effects (test accuracy falling with `g` at high
    /// training accuracy; `e_low` below `e_high` from the first epoch): 1,000 training and
    /// 1,000 test samples, batches of 50, 6 epochs (120 Adam steps per gain).
    pub fn quick() -> Self {
        MnistConfig {
            epochs: QUICK_EPOCHS,
            batch_size: QUICK_BATCH_SIZE,
            train_samples: Some(QUICK_SAMPLES),
            test_samples: Some(QUICK_SAMPLES),
            filtering: FilterConfig {
                subsample: QUICK_SAMPLES,
                ..FilterConfig::default()
            },
            ..Self::default()
        }
    }

    /// Checks every setting against the others before anything runs; the error names the
    /// first bad one (its flag, where it has one) and the valid range.
    pub fn validate(&self) -> Result<(), MnistError> {
        let bad = |what: String| Err(MnistError::InvalidConfig(what));
        if self.widths.len() < 2 || self.widths.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
            return bad(format!(
                "--widths: need an input and an output width and any hidden ones, each from 1 \
                 to {MAX_WIDTH}, got {:?}",
                self.widths
            ));
        }
        if self.gains.is_empty() || self.gains.iter().any(|g| !(g.is_finite() && *g > 0.0)) {
            return bad(format!(
                "--gains: need one or more gains, each finite and > 0, got {:?}",
                self.gains
            ));
        }
        if let Err(why) = super::check_increasing("--gains", &self.gains) {
            return bad(why);
        }
        if self.epochs == 0 || self.epochs > u32::MAX as usize {
            return bad(format!(
                "--epochs: need 1 to {}, got {}",
                u32::MAX,
                self.epochs
            ));
        }
        if self.batch_size == 0 {
            return bad("--batch-size: need at least 1, got 0".into());
        }
        if let Some(n) = self.train_samples.filter(|&n| n < 2) {
            return bad(format!(
                "--train-samples: need at least 2 (the filter compares samples), got {n}"
            ));
        }
        if self.test_samples == Some(0) {
            return bad("--test-samples: need at least 1, got 0".into());
        }
        crate::experiments::freq_order::validate_optimizer(&self.optimizer)
            .map_err(|e| MnistError::InvalidConfig(e.to_string()))?;
        self.projection.validate(self.classes())?;
        self.filtering.validate()
    }

    /// The memory the run needs at its peak with `train` training and `test` test samples
    /// (see [`memory`]; the data themselves are already loaded): the network with its
    /// checkpoint copies, the whole training set evaluated at once, the one-hot targets and
    /// outputs, the filter's distances and the records of every epoch.
    pub fn memory_estimate(&self, train: usize, test: usize) -> Estimate {
        let train = self.train_samples.map_or(train, |n| n.min(train));
        let test = self.test_samples.map_or(test, |n| n.min(test));
        let classes = self.classes() as f64;
        let subsample = self.filtering.subsample.min(train) as f64;
        let cached = subsample * subsample * memory::F32;
        let distances = if cached <= self.filtering.cache_limit_bytes as f64 {
            cached
        } else {
            BLOCK_ROWS as f64 * subsample * memory::F32
        };
        let records = self.gains.len() as f64
            * (self.epochs as f64 + 1.0)
            * (self.projection.frequencies as f64 + MAX_PEAKS as f64 + 16.0);
        let mut estimate = Estimate::new();
        estimate
            .network(&self.widths, &self.optimizer, 2, "--widths")
            .rows(
                &self.widths,
                train.max(test).max(self.batch_size.min(train)),
                network::training_threads(),
                "--train-samples, --test-samples and --widths",
            )
            .add(
                "the targets and outputs of every sample",
                "--train-samples, --test-samples and --widths",
                (4.0 * train as f64 + 2.0 * test as f64) * classes * memory::F32,
            )
            .add(
                "the Gaussian filter's distances and points",
                "the filter's subsample (--train-samples)",
                distances
                    + subsample
                        * (self.widths.first().copied().unwrap_or(0) as f64 + 4.0 * classes)
                        * memory::F32,
            )
            .add(
                "the records of every epoch, with their checkpoint copies",
                "--epochs and --gains",
                3.0 * records * memory::F32,
            );
        estimate
    }

    /// Number of classes: the output width.
    pub fn classes(&self) -> usize {
        self.widths.last().copied().unwrap_or(0)
    }
}

/// Widest layer accepted (as for the 1-D experiments' `--widths`).
pub const MAX_WIDTH: usize = 1 << 16;

/// Epochs of [`MnistConfig::quick`].
pub const QUICK_EPOCHS: usize = 6;

/// Mini-batch size of [`MnistConfig::quick`]: half the paper's, for twice the steps per epoch.
pub const QUICK_BATCH_SIZE: usize = 50;

/// Training and test samples of [`MnistConfig::quick`] (also its filtering subsample).
pub const QUICK_SAMPLES: usize = 1_000;

/// Settings of the spectrum along the first principal direction `p₁`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectionConfig {
    /// The output component (class) whose spectrum is compared with that of its one-hot label
    /// column. Class 0 by default: `p₁` of MNIST largely separates 0s (much ink) from 1s.
    pub component: usize,
    /// Number of frequency samples `k = 0, …, frequencies − 1`.
    pub frequencies: usize,
    /// The largest frequency, in cycles per standard deviation of the projection.
    pub max_frequency: f32,
    /// Peak selection in the label spectrum (`max_bins` counts frequency samples).
    pub peaks: PeakSearch,
    /// Peaks below this multiple of the noise floor `std(y)/√n` are dropped: they would be
    /// sampling noise, not structure of the labels.
    pub min_peak_to_noise: f32,
    /// When the label spectrum has no peak above the noise (MNIST along `p₁` usually has a
    /// smooth, decaying spectrum), this many frequencies evenly spaced over the bins above the
    /// noise threshold are tracked instead, so that the heat map still runs low to high.
    pub fallback_frequencies: usize,
    /// Error measure and convergence rule of the tracker. Observations are per epoch, so the
    /// default asks for 3 consecutive epochs under 0.1 rather than the 1-D runs' 10 steps.
    pub tracker: TrackerSettings,
    /// Most power-iteration steps for `p₁`.
    pub power_iterations: usize,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig {
            component: 0,
            frequencies: 64,
            max_frequency: 1.0,
            peaks: PeakSearch {
                max_bins: 64,
                ..PeakSearch::DEFAULT
            },
            min_peak_to_noise: 3.0,
            fallback_frequencies: 6,
            tracker: TrackerSettings {
                rule: ConvergenceRule {
                    threshold: 0.1,
                    consecutive: 3,
                },
                ..TrackerSettings::DEFAULT
            },
            power_iterations: 500,
        }
    }
}

impl ProjectionConfig {
    fn validate(&self, classes: usize) -> Result<(), MnistError> {
        let bad = |what: String| Err(MnistError::InvalidConfig(what));
        if self.component >= classes {
            return bad(format!(
                "projection component {} is not below the {classes} outputs",
                self.component
            ));
        }
        if !(3..=MAX_FREQUENCIES).contains(&self.frequencies) {
            return bad(format!(
                "projection frequencies {} must be from 3 to {MAX_FREQUENCIES}",
                self.frequencies
            ));
        }
        if !(self.max_frequency.is_finite() && self.max_frequency > 0.0) {
            return bad(format!(
                "projection max_frequency {} must be positive and finite",
                self.max_frequency
            ));
        }
        if !(0.0..1.0).contains(&self.peaks.relative_floor) {
            return bad("projection peak relative_floor must be in [0, 1)".into());
        }
        if !(self.min_peak_to_noise.is_finite() && self.min_peak_to_noise >= 0.0) {
            return bad("projection min_peak_to_noise must be finite and >= 0".into());
        }
        if self.fallback_frequencies > MAX_PEAKS {
            return bad(format!(
                "projection fallback_frequencies {} exceeds {MAX_PEAKS}",
                self.fallback_frequencies
            ));
        }
        if self.power_iterations == 0 {
            return bad("projection power_iterations must be at least 1".into());
        }
        Ok(())
    }
}

/// Settings of the Gaussian low-pass filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilterConfig {
    /// The first this many training samples are filtered (and the kernel is `subsample²`).
    pub subsample: usize,
    /// The share of `‖y‖²` the δ search aims to put in `y_low`.
    pub target_share: f32,
    /// A fixed δ instead of the search.
    pub delta: Option<f32>,
    /// Squared distances are kept in memory when `subsample² × 4` bytes fit under this;
    /// otherwise they are recomputed in row blocks at every use.
    pub cache_limit_bytes: usize,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            subsample: 2_000,
            target_share: 0.45,
            delta: None,
            cache_limit_bytes: 64 << 20,
        }
    }
}

impl FilterConfig {
    fn validate(&self) -> Result<(), MnistError> {
        let bad = |what: String| Err(MnistError::InvalidConfig(what));
        if self.subsample < 2 {
            return bad(format!(
                "filtering subsample {} must be at least 2",
                self.subsample
            ));
        }
        if !(self.target_share > 0.0 && self.target_share < 1.0) {
            return bad(format!(
                "filtering target_share {} must be in (0, 1)",
                self.target_share
            ));
        }
        if let Some(d) = self.delta {
            if !(d.is_finite() && d > 0.0) {
                return bad(format!("filtering delta {d} must be positive and finite"));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why an MNIST run could not be done.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MnistError {
    /// A setting is unusable; the message names it.
    InvalidConfig(String),
    /// The data does not fit the settings (width, labels, size); the message says how.
    InvalidData(String),
    /// The core refused an operation (a shape).
    Core {
        /// What was being done.
        during: &'static str,
        /// The core's error.
        error: fprinciple_core::Error,
    },
    /// Training diverged (the text says which run, when, and what to lower).
    Diverged(String),
    /// No δ puts the target share of `‖y‖²` in the low part.
    DeltaSearch {
        /// Training samples filtered.
        samples: usize,
        /// The share aimed at.
        target: f32,
        /// The share at the smallest δ tried.
        at_smallest: f32,
        /// The share at the largest δ tried.
        at_largest: f32,
    },
    /// A checkpoint could not be written, or does not fit the run it should continue.
    Checkpoint(CheckpointError),
}

impl fmt::Display for MnistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MnistError::InvalidConfig(what) => write!(f, "{what}"),
            MnistError::InvalidData(what) => write!(f, "MNIST data unusable: {what}"),
            MnistError::Core { during, error } => write!(f, "{during}: {error}"),
            MnistError::Diverged(what) => write!(f, "{what}"),
            MnistError::Checkpoint(e) => write!(f, "{e}"),
            MnistError::DeltaSearch {
                samples,
                target,
                at_smallest,
                at_largest,
            } => write!(
                f,
                "--train-samples: no kernel width δ gives a low-frequency share of {target} on \
                 the {samples} training samples filtered: the share runs from {at_smallest} to \
                 {at_largest} over the δ tried; use more training samples, with labels of \
                 several classes"
            ),
        }
    }
}

impl std::error::Error for MnistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MnistError::Core { error, .. } => Some(error),
            MnistError::Checkpoint(e) => Some(e),
            _ => None,
        }
    }
}

/// Wraps a core error with what was being done.
fn core_err(during: &'static str) -> impl FnOnce(fprinciple_core::Error) -> MnistError {
    move |error| MnistError::Core { during, error }
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// Everything an MNIST run measured, with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistResult {
    /// The settings of the run.
    pub config: MnistConfig,
    /// Training samples used.
    pub train_samples: usize,
    /// Test samples used.
    pub test_samples: usize,
    /// The projection analysis shared by every gain.
    pub projection: ProjectionSummary,
    /// The filter shared by every gain.
    pub filtering: FilterSummary,
    /// One run per gain, in the configuration's order; fewer when interrupted, the last of
    /// them then partial.
    pub runs: Vec<GainRun>,
    /// Seconds spent on `p₁`, the spectra and the δ search before training.
    pub prepare_seconds: f64,
    /// Seconds of the whole run (every part of a resumed one).
    pub wall_seconds: f64,
    /// The run was stopped before its end; a checkpoint can continue it.
    #[serde(default)]
    pub interrupted: bool,
}

impl MnistResult {
    /// `(g, final train accuracy, final test accuracy)` per gain: the accuracy-vs-g table.
    pub fn accuracy_table(&self) -> Vec<(f32, f32, f32)> {
        self.runs
            .iter()
            .map(|r| (r.gain, r.final_train_accuracy, r.final_test_accuracy))
            .collect()
    }
}

/// The first principal direction and the label spectrum along it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionSummary {
    /// `p₁`, unit length, one entry per pixel (drawable as an image).
    pub direction: Vec<f32>,
    /// Variance of the training inputs along `p₁`.
    pub variance: f32,
    /// Share of the total input variance along `p₁`.
    pub variance_share: f32,
    /// Power-iteration steps taken.
    pub iterations: usize,
    /// Whether the power iteration met its tolerance.
    pub converged: bool,
    /// The output component analysed.
    pub component: usize,
    /// The frequencies sampled, in cycles per standard deviation of the projection.
    pub frequencies: Vec<f32>,
    /// `|ŷ(k)|` of the label column at each frequency.
    pub target_magnitudes: Vec<f32>,
    /// The noise floor `std(y)/√n` of the label spectrum.
    pub noise_floor: f32,
    /// The peaks tracked, low to high.
    pub peaks: Vec<PeakSummary>,
    /// Peaks of the label spectrum dropped for lying under `min_peak_to_noise` × noise floor.
    pub peaks_below_noise: usize,
    /// How the tracked frequencies were chosen.
    pub selection: PeakSelection,
}

/// How the frequencies tracked along `p₁` were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeakSelection {
    /// Local maxima of the label spectrum above the noise (the paper's choice).
    LocalMaxima,
    /// No local maximum rose above the noise: evenly spaced frequencies where the label
    /// spectrum is above the noise threshold.
    AboveNoise,
    /// Nothing of the label spectrum (besides its mean) rose above the noise: nothing tracked.
    None,
}

/// A peak of the label spectrum along `p₁`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PeakSummary {
    /// Index into the frequency samples.
    pub bin: usize,
    /// Its frequency, in cycles per standard deviation of the projection.
    pub frequency: f32,
    /// `|ŷ(k)|` there.
    pub magnitude: f32,
    /// `|ŷ(k)|` over the noise floor.
    pub to_noise: f32,
}

/// The Gaussian filter used for `e_low` and `e_high`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterSummary {
    /// Training samples filtered (the first ones).
    pub subsample: usize,
    /// The kernel width δ.
    pub delta: f32,
    /// `‖y_low‖² / ‖y‖²` at that δ.
    pub low_share: f32,
    /// Every `(δ, share)` the search evaluated, in order (one entry for a fixed δ).
    pub search: Vec<(f32, f32)>,
}

/// Training of one gain.
///
/// Also saved in checkpoints, whose format has no field names: its serde form must write every
/// field, always (see [`crate::checkpoint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GainRun {
    /// The hidden-layer gain `g`.
    pub gain: f32,
    /// One record per epoch, the first (epoch 0) at initialization.
    pub epochs: Vec<EpochRecord>,
    /// Training accuracy after the last epoch.
    pub final_train_accuracy: f32,
    /// Test accuracy after the last epoch.
    pub final_test_accuracy: f32,
    /// Per tracked peak, the first epoch of its convergence run (`None`: not converged).
    pub convergence_epochs: Vec<Option<u32>>,
    /// Whether every peak converged, low frequencies first.
    pub low_to_high: bool,
    /// Seconds spent in training steps (evaluation excluded).
    pub train_seconds: f64,
    /// Seconds spent evaluating and analysing.
    pub eval_seconds: f64,
    /// Training samples processed per second of training.
    pub samples_per_second: f64,
}

impl GainRun {
    /// `Δ_F` as peaks (rows, low to high) × epochs (columns): the heat map along `p₁`.
    pub fn delta_f_matrix(&self) -> Vec<Vec<f32>> {
        let peaks = self.epochs.first().map_or(0, |e| e.delta_f.len());
        (0..peaks)
            .map(|p| {
                let at = |e: &EpochRecord| e.delta_f.get(p).copied().unwrap_or(f32::NAN);
                self.epochs.iter().map(at).collect()
            })
            .collect()
    }

    /// The first epochs at which `e_low` and `e_high` fall below `threshold`.
    pub fn first_epochs_below(&self, threshold: f32) -> (Option<u32>, Option<u32>) {
        let first = |pick: fn(&EpochRecord) -> f32| {
            self.epochs
                .iter()
                .find(|e| pick(e) < threshold)
                .map(|e| e.epoch)
        };
        (first(|e| e.e_low), first(|e| e.e_high))
    }
}

/// The state of a network after an epoch (epoch 0: at initialization).
///
/// Also saved in checkpoints, whose format has no field names: its serde form must write every
/// field, always (see [`crate::checkpoint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epochs trained so far.
    pub epoch: u32,
    /// Mean loss over the epoch's mini-batches while training (`None` for epoch 0).
    pub running_loss: Option<f32>,
    /// Loss on the training set after the epoch.
    pub train_loss: f32,
    /// Accuracy on the training set after the epoch.
    pub train_accuracy: f32,
    /// Loss on the test set.
    pub test_loss: f32,
    /// Accuracy on the test set.
    pub test_accuracy: f32,
    /// `‖h_low − y_low‖ / ‖y_low‖` on the filtering subsample.
    pub e_low: f32,
    /// `‖h_high − y_high‖ / ‖y_high‖` on the filtering subsample.
    pub e_high: f32,
    /// `Δ_F` at each tracked peak along `p₁`, low to high.
    pub delta_f: Vec<f32>,
    /// `|ĥ(k)|` of the analysed output component at each frequency.
    pub output_magnitudes: Vec<f32>,
}

/// What [`run`] reports while it works, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// `p₁`, the label spectrum and δ are ready; training starts.
    Prepared {
        /// Total epochs to train, over all gains.
        total_epochs: usize,
        /// The kernel width δ.
        delta: f32,
        /// The low-frequency share of `‖y‖²` at δ.
        low_share: f32,
        /// Peaks tracked along `p₁`.
        peaks: usize,
    },
    /// An epoch of one gain finished.
    Epoch {
        /// The gain.
        gain: f32,
        /// Index of the gain in the configuration.
        run: usize,
        /// Epochs per gain.
        epochs: usize,
        /// The measurements after the epoch.
        record: EpochRecord,
        /// Training samples per second during the epoch.
        samples_per_second: f64,
    },
    /// A gain finished.
    RunFinished {
        /// The gain.
        gain: f32,
        /// Final training accuracy.
        train_accuracy: f32,
        /// Final test accuracy.
        test_accuracy: f32,
    },
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// Trains one network per gain on `train`, evaluates on `test`, and measures the frequency
/// content of each fit along `p₁` and through the Gaussian filter.
pub fn run(
    config: &MnistConfig,
    train: &Dataset,
    test: &Dataset,
    progress: &mut dyn FnMut(ProgressEvent),
) -> Result<MnistResult, MnistError> {
    run_controlled(
        config,
        train,
        test,
        progress,
        Control {
            stop: &|| false,
            every: 0,
            checkpoint: &mut |_| Ok(()),
            resume: None,
        },
    )
}

/// [`run`], driven from outside: `control.stop` is polled after every epoch, and stops the run
/// there with its results so far ([`MnistResult::interrupted`]); `control.checkpoint` receives
/// the state every `control.every` epochs (0: never), when the run stops, after each gain and
/// at the end; and a run given `control.resume` continues that state to the same numbers as a
/// run that never stopped. A state saved with other settings or other data is refused.
pub fn run_controlled(
    config: &MnistConfig,
    train: &Dataset,
    test: &Dataset,
    progress: &mut dyn FnMut(ProgressEvent),
    control: Control<'_, MnistState>,
) -> Result<MnistResult, MnistError> {
    let prepared = prepare(config, train, test)?;
    run_prepared(config, train, test, prepared, progress, control)
}

/// What every gain is measured against — `p₁`, the label spectrum and its peaks, the Gaussian
/// filter and its δ — computed from the training set before any training.
///
/// [`prepare`] makes it on its own so that a caller can refuse data it cannot be made from
/// (too few samples, no variance, no usable δ) before it writes anything, and then train with
/// it ([`run_prepared`]) without computing it twice.
pub struct Prepared {
    analysis: Analysis,
    /// The settings and the training samples it was made from.
    made_from: (String, u64),
    seconds: f64,
}

/// Validates `config` against the data as [`run`] does (a sample limit above the data's size
/// uses them all; [`check_data`] is stricter) and computes what the run measures against (see
/// [`Prepared`]). Errors name the flag to change.
pub fn prepare(
    config: &MnistConfig,
    train: &Dataset,
    test: &Dataset,
) -> Result<Prepared, MnistError> {
    let started = Instant::now();
    config.validate()?;
    let train = Split::new("training", train, config.train_samples, config)?;
    Split::new("test", test, config.test_samples, config)?;
    let analysis = Analysis::prepare(config, &train).map_err(|e| match e {
        MnistError::InvalidData(why) => MnistError::InvalidData(format!(
            "{why} (on the {} training samples used: check --data and --train-samples)",
            train.len
        )),
        e => e,
    })?;
    Ok(Prepared {
        analysis,
        made_from: (settings_key(config)?, training_fingerprint(&train)),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// [`run_controlled`] with the analysis [`prepare`] made from the same settings and data.
pub fn run_prepared(
    config: &MnistConfig,
    train: &Dataset,
    test: &Dataset,
    prepared: Prepared,
    progress: &mut dyn FnMut(ProgressEvent),
    control: Control<'_, MnistState>,
) -> Result<MnistResult, MnistError> {
    let started = Instant::now();
    config.validate()?;
    let train = Split::new("training", train, config.train_samples, config)?;
    let test = Split::new("test", test, config.test_samples, config)?;
    let settings = settings_key(config)?;
    if prepared.made_from != (settings.clone(), training_fingerprint(&train)) {
        return Err(MnistError::InvalidConfig(
            "the prepared analysis belongs to other settings or other training data".into(),
        ));
    }
    let data = fingerprint(&train, &test);
    let Control {
        stop,
        every,
        checkpoint,
        resume,
    } = control;
    let (mut runs, mut current, earlier_seconds) = match resume {
        Some(state) => {
            state.check_parts(config, &settings, data)?;
            (state.finished, state.current, state.seconds)
        }
        None => (Vec::new(), None, 0.0),
    };
    let analysis = prepared.analysis;
    let prepare_seconds = prepared.seconds;
    let earlier_seconds = earlier_seconds + prepare_seconds;
    progress(ProgressEvent::Prepared {
        total_epochs: config.epochs * config.gains.len(),
        delta: analysis.filtering.delta,
        low_share: analysis.filtering.low_share,
        peaks: analysis.projection.peaks.len(),
    });

    let seconds = || earlier_seconds + started.elapsed().as_secs_f64();
    let state_with = |finished: &[GainRun], current: Option<GainState>| MnistState {
        settings: settings.clone(),
        data,
        finished: finished.to_vec(),
        current,
        seconds: seconds(),
    };
    let mut interrupted = false;
    for (index, &gain) in config.gains.iter().enumerate().skip(runs.len()) {
        let resume_gain = current.take();
        if resume_gain.is_none() && index > 0 && stop() {
            checkpoint(&state_with(&runs, None)).map_err(MnistError::Checkpoint)?;
            interrupted = true;
            break;
        }
        let job = GainJob {
            config,
            gain,
            index,
            train: &train,
            test: &test,
            analysis: &analysis,
        };
        let mut save = |state: GainState| checkpoint(&state_with(&runs, Some(state)));
        let mut driver = Driver {
            stop,
            every,
            save: &mut save,
        };
        match train_gain(&job, resume_gain, &mut driver, progress)? {
            Trained::Finished(run) => {
                progress(ProgressEvent::RunFinished {
                    gain,
                    train_accuracy: run.final_train_accuracy,
                    test_accuracy: run.final_test_accuracy,
                });
                runs.push(run);
            }
            Trained::Stopped(run) => {
                runs.push(run);
                interrupted = true;
                break;
            }
        }
    }
    if !interrupted {
        checkpoint(&state_with(&runs, None)).map_err(MnistError::Checkpoint)?;
    }
    Ok(MnistResult {
        config: config.clone(),
        train_samples: train.len,
        test_samples: test.len,
        projection: analysis.projection,
        filtering: analysis.filtering,
        runs,
        prepare_seconds,
        wall_seconds: seconds(),
        interrupted,
    })
}

/// The settings as the key a checkpoint must match: JSON writes every `f32` in its shortest
/// exact form, so equal keys mean bit-identical settings.
fn settings_key(config: &MnistConfig) -> Result<String, MnistError> {
    serde_json::to_string(config)
        .map_err(|e| MnistError::InvalidConfig(format!("settings as JSON: {e}")))
}

/// A fingerprint of the samples a run uses.
fn fingerprint(train: &Split<'_>, test: &Split<'_>) -> u64 {
    Fingerprint::default()
        .floats(train.inputs)
        .bytes(train.labels)
        .floats(test.inputs)
        .bytes(test.labels)
        .value()
}

/// A fingerprint of the training samples a run uses (what its analysis is made from).
fn training_fingerprint(train: &Split<'_>) -> u64 {
    Fingerprint::default()
        .floats(train.inputs)
        .bytes(train.labels)
        .value()
}

/// Checks that the data fit the settings (the same image size in both sets, the input width,
/// labels below the output width, enough samples for `--train-samples` and `--test-samples`),
/// with a message that names the flag: what [`run`] checks first, for a caller that wants to
/// refuse bad settings before it starts anything.
pub fn check_data(config: &MnistConfig, train: &Dataset, test: &Dataset) -> Result<(), MnistError> {
    config.validate()?;
    if (train.rows(), train.cols()) != (test.rows(), test.cols()) {
        return Err(MnistError::InvalidData(format!(
            "the training images are {}×{} but the test images {}×{}: both sets need images of \
             the same size",
            train.rows(),
            train.cols(),
            test.rows(),
            test.cols()
        )));
    }
    for (flag, name, data, limit) in [
        ("--train-samples", "training", train, config.train_samples),
        ("--test-samples", "test", test, config.test_samples),
    ] {
        if let Some(n) = limit.filter(|&n| n > data.len()) {
            return Err(MnistError::InvalidConfig(format!(
                "{flag}: need 1 to the {} samples of the {name} set, got {n}",
                data.len()
            )));
        }
    }
    if train.len() < 2 {
        return Err(MnistError::InvalidData(format!(
            "the training set has {} sample(s): the Gaussian filter compares at least 2",
            train.len()
        )));
    }
    Split::new("training", train, config.train_samples, config)?;
    Split::new("test", test, config.test_samples, config)?;
    Ok(())
}

/// Inputs, one-hot targets and labels of the samples a run uses.
struct Split<'a> {
    inputs: &'a [f32],
    targets: Vec<f32>,
    labels: &'a [u8],
    len: usize,
}

impl<'a> Split<'a> {
    fn new(
        name: &str,
        data: &'a Dataset,
        limit: Option<usize>,
        config: &MnistConfig,
    ) -> Result<Self, MnistError> {
        let len = limit.map_or(data.len(), |l| l.min(data.len()));
        if len == 0 {
            return Err(MnistError::InvalidData(format!("the {name} set is empty")));
        }
        let width = data.pixels_per_image();
        if width != config.widths[0] {
            return Err(MnistError::InvalidConfig(format!(
                "--widths: the input width must be the {width} pixels of the {name} images, got {}",
                config.widths[0]
            )));
        }
        let classes = config.classes();
        let labels = &data.labels()[..len];
        if let Some(&label) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            return Err(MnistError::InvalidConfig(format!(
                "--widths: {name} label {label} is not below the network's {classes} outputs \
                 (the last width)"
            )));
        }
        Ok(Split {
            inputs: &data.images()[..len * width],
            targets: one_hot(labels, classes),
            labels,
            len,
        })
    }

    fn samples(&self) -> Samples<'_> {
        Samples {
            inputs: self.inputs,
            targets: &self.targets,
        }
    }
}

/// What every gain is measured against: computed once from the training set.
struct Analysis {
    projection: ProjectionSummary,
    filtering: FilterSummary,
    /// `t_i` of every training sample.
    t: Vec<f32>,
    freq_step: f32,
    tracker: Option<SpectralTracker<MAX_PEAKS>>,
    distances: PairwiseDistances,
    /// `G·y` on the subsample, `subsample × classes`.
    y_low: Vec<f32>,
}

impl Analysis {
    fn prepare(config: &MnistConfig, train: &Split<'_>) -> Result<Self, MnistError> {
        let classes = config.classes();
        let dim = config.widths[0];
        let pc = &config.projection;

        // Projection: p₁, unit-variance coordinate t, label spectrum, peaks.
        let principal = principal_direction(
            train.inputs,
            dim,
            config.seed.wrapping_add(POWER_ITERATION_SEED_OFFSET),
            pc.power_iterations,
        )?;
        let t = principal.coordinates(train.inputs)?;
        let freq_step = pc.max_frequency / (pc.frequencies - 1) as f32;
        let label_column = column(&train.targets, classes, pc.component);
        let mut target = vec![Complex32::new(0.0, 0.0); pc.frequencies];
        spectrum::nudft(&t, &label_column, freq_step, &mut target)
            .map_err(core_err("label spectrum along p1"))?;
        let noise_floor = std_dev(&label_column) / (train.len as f32).sqrt();
        let (peaks, peaks_below_noise, selection) = select_peaks(&target, pc, noise_floor)?;
        let tracker = if peaks.is_empty() {
            None
        } else {
            Some(
                SpectralTracker::from_peaks(&peaks, pc.tracker)
                    .map_err(core_err("spectral tracker"))?,
            )
        };
        let projection = ProjectionSummary {
            direction: principal.direction.clone(),
            variance: principal.variance,
            variance_share: principal.variance_share,
            iterations: principal.iterations,
            converged: principal.converged,
            component: pc.component,
            frequencies: (0..pc.frequencies).map(|k| k as f32 * freq_step).collect(),
            target_magnitudes: target.iter().map(|z| spectrum::magnitude(*z)).collect(),
            noise_floor,
            peaks: peaks
                .iter()
                .map(|p| PeakSummary {
                    bin: p.bin,
                    frequency: p.bin as f32 * freq_step,
                    magnitude: p.magnitude(),
                    to_noise: p.magnitude() / noise_floor,
                })
                .collect(),
            peaks_below_noise,
            selection,
        };

        // Filtering: distances on the subsample, δ, y_low.
        let fc = &config.filtering;
        let m = fc.subsample.min(train.len);
        if m < 2 {
            return Err(MnistError::InvalidData(
                "filtering needs at least 2 training samples".into(),
            ));
        }
        let distances =
            PairwiseDistances::new(&train.inputs[..m * dim], dim, fc.cache_limit_bytes)?;
        let y = &train.targets[..m * classes];
        let search = match fc.delta {
            Some(delta) => {
                let smoother = GaussianSmoother::new(&distances, delta)?;
                vec![(delta, smoother.low_share(y, classes)?)]
            }
            None => search_delta(&distances, y, classes, fc.target_share)?,
        };
        let (delta, low_share) = search.last().copied().unwrap_or((f32::NAN, f32::NAN));
        let mut y_low = vec![0.0; y.len()];
        GaussianSmoother::new(&distances, delta)?.smooth(y, classes, &mut y_low)?;
        Ok(Analysis {
            projection,
            filtering: FilterSummary {
                subsample: m,
                delta,
                low_share,
                search,
            },
            t,
            freq_step,
            tracker,
            distances,
            y_low,
        })
    }
}

/// The trainer of every run; the one place to swap in another trainer with the same API.
fn build_trainer(network: &Network, config: &MnistConfig) -> Result<HostTrainer, MnistError> {
    network::trainer(network, config.loss, &config.optimizer)
        .map_err(core_err("building the trainer"))
}

/// What one gain trains on and is measured against.
struct GainJob<'a> {
    config: &'a MnistConfig,
    gain: f32,
    /// Index of the gain in the configuration.
    index: usize,
    train: &'a Split<'a>,
    test: &'a Split<'a>,
    analysis: &'a Analysis,
}

/// When a gain's training stops and where its checkpoints go.
type Driver<'a> = RunDriver<'a, GainState>;

/// How a gain's training ended.
type Trained = RunEnd<GainRun>;

/// Trains the network of one gain (from the seed, or from a saved state) and measures it after
/// every epoch.
fn train_gain(
    job: &GainJob<'_>,
    resume: Option<GainState>,
    driver: &mut Driver<'_>,
    progress: &mut dyn FnMut(ProgressEvent),
) -> Result<Trained, MnistError> {
    let (config, train, test) = (job.config, job.train, job.test);
    let classes = config.classes();
    let dim = config.widths[0];
    let mut rng = Rng::new(config.seed);
    let layers = InitScale::LeCunGain(job.gain).layers(&config.widths);
    let mut net = Network::new(
        &config.widths,
        Activation::Tanh,
        Activation::Identity,
        Init::PerLayer(&layers),
        &mut rng,
    )
    .map_err(core_err("initializing the network"))?;
    let mut trainer = build_trainer(&net, config)?;
    let mut tracker = job.analysis.tracker.clone();
    let mut eval = Evaluator::new(train.len, test.len, classes, job.analysis);

    let batch = config.batch_size.min(train.len);
    let mut order = vec![0u32; train.len];
    let mut batch_inputs = vec![0.0; batch * dim];
    let mut batch_targets = vec![0.0; batch * classes];

    let (arch, params) = net.split_mut();
    let (mut records, mut train_seconds, mut eval_seconds) = match resume {
        Some(saved) => {
            if saved.parameters.len() != params.len() {
                return Err(MnistError::Checkpoint(CheckpointError::Mismatch(format!(
                    "{} saved parameters for a network of {}",
                    saved.parameters.len(),
                    params.len()
                ))));
            }
            params.copy_from_slice(&saved.parameters);
            saved
                .optimizer
                .restore(trainer.optimizer_mut())
                .map_err(MnistError::Checkpoint)?;
            rng = Rng::from_state(saved.rng.0, saved.rng.1);
            if let Some(tracker) = tracker.as_mut() {
                replay(
                    tracker,
                    job.analysis.projection.frequencies.len(),
                    &saved.records,
                )?;
            }
            (saved.records, saved.train_seconds, saved.eval_seconds)
        }
        None => {
            let clock = Instant::now();
            let first = eval.measure(
                config,
                &mut trainer,
                (&arch, params),
                (train, test),
                (0, None),
                tracker.as_mut(),
            )?;
            (vec![first], 0.0, clock.elapsed().as_secs_f64())
        }
    };

    let done = records.len().saturating_sub(1);
    for epoch in done + 1..=config.epochs {
        let clock = Instant::now();
        let buffers = BatchBuffers {
            order: &mut order,
            inputs: &mut batch_inputs,
            targets: &mut batch_targets,
        };
        let running = trainer
            .epoch(&arch, params, train.samples(), batch, buffers, &mut rng)
            .map_err(|error| match error {
                fprinciple_core::Error::NonFiniteLoss => MnistError::Diverged(format!(
                    "g = {}: {}",
                    job.gain,
                    divergence(
                        &format!("in epoch {epoch}"),
                        &config.optimizer,
                        "the gain (--gains)"
                    )
                )),
                error => MnistError::Core {
                    during: "training",
                    error,
                },
            })?;
        let seconds = clock.elapsed().as_secs_f64();
        train_seconds += seconds;

        let clock = Instant::now();
        let record = eval.measure(
            config,
            &mut trainer,
            (&arch, params),
            (train, test),
            (epoch as u32, Some(running)),
            tracker.as_mut(),
        )?;
        eval_seconds += clock.elapsed().as_secs_f64();
        progress(ProgressEvent::Epoch {
            gain: job.gain,
            run: job.index,
            epochs: config.epochs,
            record: record.clone(),
            samples_per_second: train.len as f64 / seconds.max(f64::MIN_POSITIVE),
        });
        records.push(record);
        if epoch < config.epochs {
            let stopping = (driver.stop)();
            if stopping || (driver.every > 0 && epoch % driver.every as usize == 0) {
                (driver.save)(GainState {
                    parameters: params.to_vec(),
                    optimizer: OptimizerState::capture(trainer.optimizer()),
                    rng: rng.state(),
                    records: records.clone(),
                    train_seconds,
                    eval_seconds,
                })
                .map_err(MnistError::Checkpoint)?;
            }
            if stopping {
                let run = gain_run(
                    job.gain,
                    records,
                    tracker.as_ref(),
                    train.len,
                    (train_seconds, eval_seconds),
                );
                return Ok(Trained::Stopped(run));
            }
        }
    }
    let run = gain_run(
        job.gain,
        records,
        tracker.as_ref(),
        train.len,
        (train_seconds, eval_seconds),
    );
    Ok(Trained::Finished(run))
}

/// The record of a gain from its epochs so far.
fn gain_run(
    gain: f32,
    records: Vec<EpochRecord>,
    tracker: Option<&SpectralTracker<MAX_PEAKS>>,
    samples: usize,
    (train_seconds, eval_seconds): (f64, f64),
) -> GainRun {
    let last = records.last().cloned();
    let epochs_trained = records.len().saturating_sub(1);
    GainRun {
        gain,
        final_train_accuracy: last.as_ref().map_or(f32::NAN, |r| r.train_accuracy),
        final_test_accuracy: last.as_ref().map_or(f32::NAN, |r| r.test_accuracy),
        epochs: records,
        convergence_epochs: tracker.map_or_else(Vec::new, |t| t.convergence_steps().to_vec()),
        low_to_high: tracker.is_some_and(|t| t.is_low_to_high()),
        train_seconds,
        eval_seconds,
        samples_per_second: (samples * epochs_trained) as f64
            / train_seconds.max(f64::MIN_POSITIVE),
    }
}

/// Rebuilds a fresh tracker's convergence bookkeeping from the `Δ_F` the epochs recorded.
///
/// The core keeps that bookkeeping private, and it depends only on whether each recorded
/// `Δ_F` was below the threshold. Observing, at each recorded epoch, a spectrum equal to the
/// label spectrum at the peaks that were below (`Δ_F` = 0) and infinite at the others
/// (`Δ_F` = ∞) replays the same decisions through the core's own code.
fn replay(
    tracker: &mut SpectralTracker<MAX_PEAKS>,
    frequencies: usize,
    records: &[EpochRecord],
) -> Result<(), MnistError> {
    let threshold = tracker.rule().threshold;
    let peaks: Vec<Peak> = tracker.peaks().to_vec();
    let mut spectrum = vec![Complex32::new(0.0, 0.0); frequencies];
    for record in records {
        for (i, peak) in peaks.iter().enumerate() {
            if let Some(cell) = spectrum.get_mut(peak.bin) {
                *cell = if record.delta_f.get(i).is_some_and(|&e| e < threshold) {
                    peak.value
                } else {
                    Complex32::new(f32::INFINITY, 0.0)
                };
            }
        }
        tracker
            .observe_spectrum(record.epoch, &spectrum)
            .map_err(core_err("replaying the spectral tracker"))?;
    }
    Ok(())
}

/// Buffers for measuring a network after an epoch.
struct Evaluator<'a> {
    analysis: &'a Analysis,
    classes: usize,
    train_outputs: Vec<f32>,
    test_outputs: Vec<f32>,
    /// Outputs as the analysis sees them (softmax probabilities under cross-entropy).
    seen: Vec<f32>,
    component: Vec<f32>,
    spectrum: Vec<Complex32>,
    h_low: Vec<f32>,
}

impl<'a> Evaluator<'a> {
    fn new(train: usize, test: usize, classes: usize, analysis: &'a Analysis) -> Self {
        Evaluator {
            analysis,
            classes,
            train_outputs: vec![0.0; train * classes],
            test_outputs: vec![0.0; test * classes],
            seen: vec![0.0; train * classes],
            component: vec![0.0; train],
            spectrum: vec![Complex32::new(0.0, 0.0); analysis.projection.frequencies.len()],
            h_low: vec![0.0; analysis.y_low.len()],
        }
    }

    /// Losses, accuracies, `e_low`/`e_high` and the spectrum along `p₁` of the current network.
    fn measure(
        &mut self,
        config: &MnistConfig,
        trainer: &mut HostTrainer,
        (arch, params): (&fprinciple_core::mlp::Architecture<'_>, &[f32]),
        (train, test): (&Split<'_>, &Split<'_>),
        (epoch, running_loss): (u32, Option<f32>),
        tracker: Option<&mut SpectralTracker<MAX_PEAKS>>,
    ) -> Result<EpochRecord, MnistError> {
        let classes = self.classes;
        let train_loss = trainer
            .evaluate(arch, params, train.samples(), &mut self.train_outputs)
            .map_err(core_err("evaluating on the training set"))?;
        let test_loss = trainer
            .evaluate(arch, params, test.samples(), &mut self.test_outputs)
            .map_err(core_err("evaluating on the test set"))?;

        self.seen.copy_from_slice(&self.train_outputs);
        if config.loss == Loss::SoftmaxCrossEntropy {
            softmax_rows(&mut self.seen, classes);
        }

        // Projection: spectrum of one output component along p₁.
        let c = config.projection.component;
        for (v, row) in self
            .component
            .iter_mut()
            .zip(self.seen.chunks_exact(classes))
        {
            *v = row[c];
        }
        spectrum::nudft(
            &self.analysis.t,
            &self.component,
            self.analysis.freq_step,
            &mut self.spectrum,
        )
        .map_err(core_err("output spectrum along p1"))?;
        let delta_f = match tracker {
            Some(tracker) => {
                tracker
                    .observe_spectrum(epoch, &self.spectrum)
                    .map_err(core_err("spectral tracker"))?;
                tracker.errors().to_vec()
            }
            None => Vec::new(),
        };

        // Filtering: low and high parts of the output on the subsample.
        let m = self.analysis.filtering.subsample;
        let h = &self.seen[..m * classes];
        GaussianSmoother::new(&self.analysis.distances, self.analysis.filtering.delta)?.smooth(
            h,
            classes,
            &mut self.h_low,
        )?;
        let (e_low, e_high) = filter_errors(
            h,
            &self.h_low,
            &train.targets[..m * classes],
            &self.analysis.y_low,
        );

        Ok(EpochRecord {
            epoch,
            running_loss,
            train_loss,
            train_accuracy: accuracy(&self.train_outputs, train.labels, classes),
            test_loss,
            test_accuracy: accuracy(&self.test_outputs, test.labels, classes),
            e_low,
            e_high,
            delta_f,
            output_magnitudes: self
                .spectrum
                .iter()
                .map(|z| spectrum::magnitude(*z))
                .collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Projection on the first principal direction
// ---------------------------------------------------------------------------------------------

/// The first principal direction of a point cloud, found by power iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalDirection {
    /// Unit vector; its largest-magnitude entry is positive (a deterministic sign).
    pub direction: Vec<f32>,
    /// The mean of the points.
    pub mean: Vec<f32>,
    /// Variance along `direction` (the top eigenvalue of the covariance).
    pub variance: f32,
    /// `variance` over the total variance.
    pub variance_share: f32,
    /// Iterations taken.
    pub iterations: usize,
    /// Whether successive directions agreed to the tolerance before the iteration limit.
    pub converged: bool,
}

impl PrincipalDirection {
    /// The unit-variance coordinate `t_i = (x_i − mean)·p / √variance` of each point.
    pub fn coordinates(&self, inputs: &[f32]) -> Result<Vec<f32>, MnistError> {
        let dim = self.direction.len();
        let mut t = vec![0.0; inputs.len() / dim.max(1)];
        spectrum::project(inputs, &self.direction, &mut t).map_err(core_err("projecting on p1"))?;
        let offset: f32 = dot(&self.mean, &self.direction);
        let scale = 1.0 / self.variance.sqrt();
        for v in &mut t {
            *v = (*v - offset) * scale;
        }
        Ok(t)
    }
}

/// Change between successive unit directions below which the power iteration stops.
const POWER_TOLERANCE: f32 = 1e-6;

/// The first principal direction of `inputs` (`n × dim`, row-major) by power iteration on the
/// covariance, applied as `Xcᵀ(Xc v)/n` without forming it. The start vector is drawn from
/// `seed`, so the result is deterministic.
pub fn principal_direction(
    inputs: &[f32],
    dim: usize,
    seed: u64,
    max_iterations: usize,
) -> Result<PrincipalDirection, MnistError> {
    if dim == 0 || inputs.is_empty() || !inputs.len().is_multiple_of(dim) {
        return Err(MnistError::InvalidData(format!(
            "{} input values do not form rows of {dim}",
            inputs.len()
        )));
    }
    let n = inputs.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for row in inputs.chunks_exact(dim) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &x)| *m += f64::from(x));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let total_variance: f64 = inputs
        .chunks_exact(dim)
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&x, &m)| f64::from(x - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    if !(total_variance > 0.0 && total_variance.is_finite()) {
        return Err(MnistError::InvalidData(
            "the training inputs have no variance: no principal direction".into(),
        ));
    }

    let mut rng = Rng::new(seed);
    let mut v: Vec<f32> = (0..dim).map(|_| rng.normal_f32(1.0)).collect();
    normalize(&mut v);
    let mut w = vec![0.0f32; dim];
    let (mut variance, mut iterations, mut converged) = (0.0f64, 0, false);
    while iterations < max_iterations {
        iterations += 1;
        // w = Xcᵀ (Xc v) / n, with Xc v = X v − (mean·v) and Xcᵀu = Xᵀu − mean Σu.
        let offset = dot(&mean, &v);
        w.fill(0.0);
        let mut u_sum = 0.0f32;
        for row in inputs.chunks_exact(dim) {
            let u = dot(row, &v) - offset;
            u_sum += u;
            w.iter_mut().zip(row).for_each(|(w, &x)| *w += u * x);
        }
        w.iter_mut()
            .zip(&mean)
            .for_each(|(w, &m)| *w = (*w - m * u_sum) / n as f32);
        variance = f64::from(dot(&v, &w));
        if !normalize(&mut w) {
            return Err(MnistError::InvalidData(
                "power iteration collapsed to zero: the inputs have no spread".into(),
            ));
        }
        fix_sign(&mut w);
        let change = v
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
            .sqrt();
        std::mem::swap(&mut v, &mut w);
        if change < POWER_TOLERANCE {
            converged = true;
            break;
        }
    }
    Ok(PrincipalDirection {
        direction: v,
        mean,
        variance: variance as f32,
        variance_share: (variance / total_variance) as f32,
        iterations,
        converged,
    })
}

/// Scales `v` to unit length; `false` if it is zero or not finite.
fn normalize(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return false;
    }
    v.iter_mut()
        .for_each(|x| *x = (f64::from(*x) / norm) as f32);
    true
}

/// Flips `v` so that its largest-magnitude entry is positive.
fn fix_sign(v: &mut [f32]) {
    let largest = v
        .iter()
        .copied()
        .fold(0.0f32, |a, x| if x.abs() > a.abs() { x } else { a });
    if largest < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// The frequencies worth tracking: local maxima of the label spectrum above the relative floor
/// and the noise threshold, at most [`MAX_PEAKS`] (the strongest), low to high; or, when there
/// are none, evenly spaced bins above the noise threshold. Also the number of maxima dropped as
/// noise, and which choice was made.
fn select_peaks(
    target: &[Complex32],
    config: &ProjectionConfig,
    noise_floor: f32,
) -> Result<(Vec<Peak>, usize, PeakSelection), MnistError> {
    let found = spectrum::find_peaks::<{ MAX_FREQUENCIES / 2 }>(target, &config.peaks)
        .map_err(core_err("finding peaks of the label spectrum"))?;
    let minimum = config.min_peak_to_noise * noise_floor;
    let mut peaks: Vec<Peak> = found
        .iter()
        .copied()
        .filter(|p| p.magnitude() >= minimum)
        .collect();
    let below_noise = found.len() - peaks.len();
    if !peaks.is_empty() {
        peaks.sort_by(|a, b| b.magnitude().total_cmp(&a.magnitude()));
        peaks.truncate(MAX_PEAKS);
        peaks.sort_by_key(|p| p.bin);
        return Ok((peaks, below_noise, PeakSelection::LocalMaxima));
    }
    // The last bin of the first run of bins (after the mean) above the noise threshold.
    let above = target
        .iter()
        .skip(1)
        .take_while(|z| spectrum::magnitude(**z) >= minimum.max(f32::MIN_POSITIVE))
        .count();
    let count = config.fallback_frequencies.min(above);
    if count == 0 {
        return Ok((Vec::new(), below_noise, PeakSelection::None));
    }
    let mut bins: Vec<usize> = (0..count)
        .map(|i| 1 + (i * (above - 1) + (count - 1) / 2) / (count - 1).max(1))
        .collect();
    bins.dedup();
    let peaks = bins
        .into_iter()
        .map(|bin| Peak {
            bin,
            value: target[bin],
        })
        .collect();
    Ok((peaks, below_noise, PeakSelection::AboveNoise))
}

// ---------------------------------------------------------------------------------------------
// Filtering with a Gaussian kernel
// ---------------------------------------------------------------------------------------------

/// Squared distances `|x_i − x_j|²` among a set of points, kept in memory when they fit,
/// otherwise computed in row blocks from `|x_i|² + |x_j|² − 2 x_i·x_j` at every use.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseDistances {
    dim: usize,
    points: Vec<f32>,
    norms: Vec<f32>,
    cached: Option<Vec<f32>>,
}

impl PairwiseDistances {
    /// Distances among the rows of `points` (`n × dim`); cached when `n² × 4` bytes fit
    /// under `cache_limit_bytes`.
    pub fn new(points: &[f32], dim: usize, cache_limit_bytes: usize) -> Result<Self, MnistError> {
        if dim == 0 || points.is_empty() || !points.len().is_multiple_of(dim) {
            return Err(MnistError::InvalidData(format!(
                "{} point values do not form rows of {dim}",
                points.len()
            )));
        }
        let n = points.len() / dim;
        let mut distances = PairwiseDistances {
            dim,
            points: points.to_vec(),
            norms: points.chunks_exact(dim).map(|x| dot(x, x)).collect(),
            cached: None,
        };
        let bytes = n.checked_mul(n).and_then(|c| c.checked_mul(4));
        if bytes.is_some_and(|b| b <= cache_limit_bytes) {
            let mut all = vec![0.0; n * n];
            for (block, out) in all.chunks_mut(BLOCK_ROWS * n).enumerate() {
                distances.compute_rows(block * BLOCK_ROWS, out)?;
            }
            distances.cached = Some(all);
        }
        Ok(distances)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.norms.len()
    }

    /// Whether there are no points (never true for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    /// The mean of `|x_i − x_j|²` over all pairs (including `i = j`): a natural kernel scale.
    pub fn mean_squared_distance(&self) -> f32 {
        let n = self.len() as f64;
        let mut sum = vec![0.0f64; self.dim];
        for row in self.points.chunks_exact(self.dim) {
            sum.iter_mut()
                .zip(row)
                .for_each(|(s, &x)| *s += f64::from(x));
        }
        let mean_norm = self.norms.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let norm_of_mean = sum.iter().map(|s| (s / n).powi(2)).sum::<f64>();
        (2.0 * (mean_norm - norm_of_mean)) as f32
    }

    /// Rows `start ..` of the distance matrix into `out` (a whole number of rows of `len()`).
    fn rows<'s>(&'s self, start: usize, out: &'s mut [f32]) -> Result<&'s [f32], MnistError> {
        let n = self.len();
        match &self.cached {
            Some(all) => Ok(&all[start * n..start * n + out.len()]),
            None => {
                self.compute_rows(start, out)?;
                Ok(out)
            }
        }
    }

    /// Computes rows `start ..` into `out` with the core's batched dense kernel: the dot
    /// products `block · pointsᵀ` are the product a layer's input gradient computes, with the
    /// points as an `n`-input, `dim`-unit weight and the block as the deltas.
    fn compute_rows(&self, start: usize, out: &mut [f32]) -> Result<(), MnistError> {
        let n = self.len();
        let rows = out.len() / n;
        let block = &self.points[start * self.dim..(start + rows) * self.dim];
        let shape = DenseShape {
            batch: rows,
            inputs: n,
            outputs: self.dim,
        };
        dense::backward_inputs(shape, network::HOST_ARITHMETIC, &self.points, block, out)
            .map_err(core_err("kernel distances"))?;
        for (r, row) in out.chunks_exact_mut(n).enumerate() {
            let i = start + r;
            let ni = self.norms[i];
            for (d, &nj) in row.iter_mut().zip(&self.norms) {
                *d = (ni + nj - 2.0 * *d).max(0.0);
            }
            row[i] = 0.0;
        }
        Ok(())
    }
}

/// The row-normalised Gaussian kernel `G_ij = exp(−|x_i − x_j|²/(2δ)) / Σ_j exp(…)` applied to
/// values on the same points, one block of rows at a time: never a dense `n × n` kernel.
#[derive(Debug, Clone, Copy)]
pub struct GaussianSmoother<'d> {
    distances: &'d PairwiseDistances,
    delta: f32,
}

impl<'d> GaussianSmoother<'d> {
    /// The kernel of width `delta` (positive, finite) over `distances`' points.
    pub fn new(distances: &'d PairwiseDistances, delta: f32) -> Result<Self, MnistError> {
        if !(delta.is_finite() && delta > 0.0) {
            return Err(MnistError::InvalidConfig(format!(
                "kernel width δ = {delta} must be positive and finite"
            )));
        }
        Ok(GaussianSmoother { distances, delta })
    }

    /// `out = G · values`, both `n × width` row-major.
    pub fn smooth(&self, values: &[f32], width: usize, out: &mut [f32]) -> Result<(), MnistError> {
        let n = self.distances.len();
        if width == 0 || values.len() != n * width || out.len() != values.len() {
            return Err(MnistError::InvalidData(format!(
                "smoothing needs {n} × {width} values and as many outputs, got {} and {}",
                values.len(),
                out.len()
            )));
        }
        let scale = -1.0 / (2.0 * self.delta);
        let mut block = vec![0.0; BLOCK_ROWS * n];
        let mut acc = vec![0.0f32; width];
        for (b, out_rows) in out.chunks_mut(BLOCK_ROWS * width).enumerate() {
            let rows = out_rows.len() / width;
            let distances = self
                .distances
                .rows(b * BLOCK_ROWS, &mut block[..rows * n])?;
            for (d_row, o) in distances
                .chunks_exact(n)
                .zip(out_rows.chunks_exact_mut(width))
            {
                // Shifting by the row minimum keeps the largest weight at 1 (no underflow).
                let nearest = d_row.iter().copied().fold(f32::INFINITY, f32::min);
                acc.fill(0.0);
                let mut total = 0.0f32;
                for (&d, v) in d_row.iter().zip(values.chunks_exact(width)) {
                    let w = ((d - nearest) * scale).exp();
                    total += w;
                    acc.iter_mut().zip(v).for_each(|(a, &v)| *a += w * v);
                }
                o.iter_mut().zip(&acc).for_each(|(o, a)| *o = a / total);
            }
        }
        Ok(())
    }

    /// `‖G y‖² / ‖y‖²`: the share of the values' energy in their low-frequency part.
    pub fn low_share(&self, values: &[f32], width: usize) -> Result<f32, MnistError> {
        let mut low = vec![0.0; values.len()];
        self.smooth(values, width, &mut low)?;
        let energy = squared_norm(values);
        if energy <= 0.0 {
            return Err(MnistError::InvalidData(
                "the values to filter are all zero".into(),
            ));
        }
        Ok((squared_norm(&low) / energy) as f32)
    }
}

/// Finds δ with `‖G y‖²/‖y‖²` within 0.01 of `target_share`: brackets it by factors of 4 from
/// half the mean squared distance, then bisects in `log δ` (the share falls as δ grows).
/// Returns every `(δ, share)` evaluated; the last is the answer.
pub fn search_delta(
    distances: &PairwiseDistances,
    values: &[f32],
    width: usize,
    target_share: f32,
) -> Result<Vec<(f32, f32)>, MnistError> {
    let mut trail = Vec::new();
    let share_at = |delta: f32, trail: &mut Vec<(f32, f32)>| -> Result<f32, MnistError> {
        let share = GaussianSmoother::new(distances, delta)?.low_share(values, width)?;
        trail.push((delta, share));
        Ok(share)
    };
    let start = (distances.mean_squared_distance() / 2.0).max(f32::MIN_POSITIVE);
    let first = share_at(start, &mut trail)?;
    // δ known to give a share above the target, and one known to give a share below it.
    let (mut low, mut high) = if first > target_share {
        (Some(start), None)
    } else {
        (None, Some(start))
    };
    let mut extremes = (first, first);
    let mut last = first;
    for _ in 0..DELTA_SEARCH_STEPS {
        if (last - target_share).abs() <= SHARE_TOLERANCE {
            return Ok(trail);
        }
        let delta = match (low, high) {
            (Some(l), None) => l * 4.0,
            (None, Some(h)) => h / 4.0,
            (Some(l), Some(h)) => (l * h).sqrt(),
            (None, None) => break,
        };
        if !(delta.is_finite() && delta > 0.0) {
            break;
        }
        let share = share_at(delta, &mut trail)?;
        extremes = (extremes.0.max(share), extremes.1.min(share));
        if share > target_share {
            low = Some(delta);
        } else {
            high = Some(delta);
        }
        last = share;
    }
    if (last - target_share).abs() <= SHARE_TOLERANCE {
        return Ok(trail);
    }
    Err(MnistError::DeltaSearch {
        samples: distances.len(),
        target: target_share,
        at_smallest: extremes.0,
        at_largest: extremes.1,
    })
}

/// `(e_low, e_high)`: relative errors of the low and high parts of `h` against those of `y`,
/// given `h_low = G h` and `y_low = G y`.
pub fn filter_errors(h: &[f32], h_low: &[f32], y: &[f32], y_low: &[f32]) -> (f32, f32) {
    let (mut low_diff, mut low_ref, mut high_diff, mut high_ref) = (0.0f64, 0.0, 0.0, 0.0);
    for (((&h, &hl), &y), &yl) in h.iter().zip(h_low).zip(y).zip(y_low) {
        let (hh, yh) = (h - hl, y - yl);
        low_diff += f64::from(hl - yl).powi(2);
        low_ref += f64::from(yl).powi(2);
        high_diff += f64::from(hh - yh).powi(2);
        high_ref += f64::from(yh).powi(2);
    }
    (
        (low_diff / low_ref).sqrt() as f32,
        (high_diff / high_ref).sqrt() as f32,
    )
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// One-hot rows of `classes` entries for `labels` (each below `classes`).
fn one_hot(labels: &[u8], classes: usize) -> Vec<f32> {
    let mut out = vec![0.0; labels.len() * classes];
    for (row, &l) in out.chunks_exact_mut(classes).zip(labels) {
        if let Some(v) = row.get_mut(usize::from(l)) {
            *v = 1.0;
        }
    }
    out
}

/// Share of rows whose largest output is at the label (the first of equal maxima).
fn accuracy(outputs: &[f32], labels: &[u8], classes: usize) -> f32 {
    let correct = outputs
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &label)| argmax(row) == usize::from(label))
        .count();
    correct as f32 / labels.len().max(1) as f32
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Softmax of each row in place.
fn softmax_rows(values: &mut [f32], width: usize) {
    for row in values.chunks_exact_mut(width) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        row.iter_mut().for_each(|v| *v = (*v - max).exp());
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
}

/// Column `c` of a row-major matrix with `width` columns.
fn column(values: &[f32], width: usize, c: usize) -> Vec<f32> {
    values.chunks_exact(width).map(|row| row[c]).collect()
}

fn std_dev(values: &[f32]) -> f32 {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    (values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt() as f32
}

fn squared_norm(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v).powi(2)).sum()
}

/// Dot product with independent partial sums, so that the compiler vectorizes it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut sums = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            sums[l] += x[l] * y[l];
        }
    }
    sums.iter().sum::<f32>() + tail
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/// Everything that decides the rest of an MNIST run, as [`run_controlled`] hands it to its
/// checkpoints and takes it back to resume. (`p₁`, the label spectrum and δ are computed again
/// from the data: the same data and settings give the same numbers.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MnistState {
    /// The settings as JSON: a resumed run must have exactly these.
    pub settings: String,
    /// A fingerprint of the training and test samples used: a resumed run must see the same.
    pub data: u64,
    /// The gains finished so far, in order.
    pub finished: Vec<GainRun>,
    /// The gain in progress (the next in order), if it has begun.
    pub current: Option<GainState>,
    /// Seconds the run has taken so far.
    pub seconds: f64,
}

/// A gain stopped between two epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GainState {
    /// The network's parameters.
    pub parameters: Vec<f32>,
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The generator that shuffles the mini-batches ([`Rng::state`]).
    pub rng: (u64, Option<u64>),
    /// One record per epoch so far, from epoch 0: the position is `records.len() − 1` epochs.
    pub records: Vec<EpochRecord>,
    /// Seconds of training so far.
    pub train_seconds: f64,
    /// Seconds of evaluation so far.
    pub eval_seconds: f64,
}

impl MnistState {
    /// Whether every gain has been trained.
    pub fn is_complete(&self, config: &MnistConfig) -> bool {
        self.current.is_none() && self.finished.len() >= config.gains.len()
    }

    /// Refuses a state that does not belong to a run of `config` on `train` and `test`, or
    /// whose parts do not fit each other.
    pub fn check(
        &self,
        config: &MnistConfig,
        train: &Dataset,
        test: &Dataset,
    ) -> Result<(), MnistError> {
        let train = Split::new("training", train, config.train_samples, config)?;
        let test = Split::new("test", test, config.test_samples, config)?;
        self.check_parts(config, &settings_key(config)?, fingerprint(&train, &test))
    }

    fn check_parts(
        &self,
        config: &MnistConfig,
        settings: &str,
        data: u64,
    ) -> Result<(), MnistError> {
        let mismatch = |why: String| Err(MnistError::Checkpoint(CheckpointError::Mismatch(why)));
        if self.settings != settings {
            return mismatch(crate::checkpoint::settings_differ(&self.settings, settings));
        }
        if self.data != data {
            return mismatch("it was saved for other training or test data".into());
        }
        let started = self.finished.len() + usize::from(self.current.is_some());
        if started > config.gains.len() {
            return mismatch(format!(
                "{started} gains for {} in the settings",
                config.gains.len()
            ));
        }
        let numbered = |records: &[EpochRecord]| {
            records
                .iter()
                .enumerate()
                .all(|(i, r)| r.epoch as usize == i)
        };
        for (run, gain) in self.finished.iter().zip(&config.gains) {
            if run.gain.to_bits() != gain.to_bits()
                || run.epochs.len() != config.epochs + 1
                || !numbered(&run.epochs)
            {
                return mismatch(format!(
                    "the saved run of g = {} does not fit {} epochs of g = {gain}",
                    run.gain, config.epochs
                ));
            }
        }
        if let Some(current) = &self.current {
            let epochs = current.records.len().saturating_sub(1);
            if !(1..config.epochs).contains(&epochs) || !numbered(&current.records) {
                return mismatch(format!(
                    "a gain stopped after {epochs} of {} epochs",
                    config.epochs
                ));
            }
        }
        Ok(())
    }
}

/// How the tracked frequencies were chosen, in words, for captions.
fn selection_text(selection: PeakSelection) -> &'static str {
    match selection {
        PeakSelection::LocalMaxima => "the peaks of the label spectrum above the noise",
        PeakSelection::AboveNoise => {
            "not peaks: the label spectrum has no local maximum above the noise, so evenly \
             spaced frequencies where it is above the noise are tracked instead"
        }
        PeakSelection::None => "none: nothing of the label spectrum rises above the noise",
    }
}

/// Writes `metrics.csv` (one row per gain and epoch) and the figures into `dir`.
pub fn save(
    result: &MnistResult,
    dir: &crate::record::RunDir,
) -> Result<crate::report::Outcome, crate::report::BoxError> {
    use crate::plot;
    use crate::record::{FigureRef, RunStatus};
    use crate::report::{short, widen, Outcome};

    let mut csv = dir.csv(
        "metrics.csv",
        &[
            "gain",
            "epoch",
            "train_loss",
            "train_accuracy",
            "test_loss",
            "test_accuracy",
            "e_low",
            "e_high",
        ],
    )?;
    for run in &result.runs {
        for e in &run.epochs {
            csv.push_numbers(&[
                f64::from(run.gain),
                f64::from(e.epoch),
                f64::from(e.train_loss),
                f64::from(e.train_accuracy),
                f64::from(e.test_loss),
                f64::from(e.test_accuracy),
                f64::from(e.e_low),
                f64::from(e.e_high),
            ])?;
        }
    }
    csv.finish()?;

    let mut figures = Vec::new();
    let table = result.accuracy_table();
    let gains: Vec<f64> = table.iter().map(|t| f64::from(t.0)).collect();
    let train_acc: Vec<f64> = table.iter().map(|t| f64::from(t.1)).collect();
    let test_acc: Vec<f64> = table.iter().map(|t| f64::from(t.2)).collect();
    plot::line_chart(
        &dir.file("accuracy_vs_gain"),
        &plot::LineChart::new(
            "Accuracy against the initialization gain g",
            "g (hidden std g/√fan_in)",
            "accuracy",
            &[
                plot::Series::new("train", &gains, &train_acc),
                plot::Series::new("test", &gains, &test_acc),
            ],
        )
        .markers(true),
    )?;
    figures.push(FigureRef::new(
        dir.file("accuracy_vs_gain.png"),
        "Final training and test accuracy for each initialization gain g.",
    ));

    let curves: Vec<(String, Vec<f64>, Vec<f64>)> = result
        .runs
        .iter()
        .flat_map(|r| {
            let epochs: Vec<f64> = r.epochs.iter().map(|e| f64::from(e.epoch)).collect();
            [
                (
                    format!("e_low, g = {}", r.gain),
                    epochs.clone(),
                    r.epochs.iter().map(|e| f64::from(e.e_low)).collect(),
                ),
                (
                    format!("e_high, g = {}", r.gain),
                    epochs,
                    r.epochs.iter().map(|e| f64::from(e.e_high)).collect(),
                ),
            ]
        })
        .collect();
    let series: Vec<plot::Series<'_>> = curves
        .iter()
        .map(|(n, x, y)| plot::Series::new(n, x, y))
        .collect();
    plot::line_chart(
        &dir.file("filter_errors"),
        &plot::LineChart::new(
            "Low- and high-frequency errors (Gaussian filter)",
            "epoch",
            "relative error",
            &series,
        )
        .log_y(true)
        .markers(true),
    )?;
    figures.push(FigureRef::new(
        dir.file("filter_errors.png"),
        format!(
            "e_low = ‖h_low − y_low‖/‖y_low‖ and e_high likewise, with the Gaussian filter of \
             δ = {} (y_low holds {:.0}% of ‖y‖²): the low-frequency part is learned first.",
            short(f64::from(result.filtering.delta)),
            100.0 * result.filtering.low_share
        ),
    ));

    let p = &result.projection;
    let freqs: Vec<f64> = p.frequencies.iter().map(|&f| f64::from(f)).collect();
    let label: Vec<f64> = p.target_magnitudes.iter().map(|&m| f64::from(m)).collect();
    let noise = vec![f64::from(p.noise_floor); freqs.len()];
    let peak_freqs: Vec<f64> = p.peaks.iter().map(|k| f64::from(k.frequency)).collect();
    if !freqs.is_empty() {
        plot::spectrum_chart(
            &dir.file("projection_spectrum"),
            &plot::SpectrumChart {
                title: "Label spectrum along the first principal direction",
                x_label: "frequency (cycles per standard deviation of x·p₁)",
                y_label: "|non-uniform DFT|",
                series: &[
                    plot::Series::new("label component", &freqs, &label),
                    plot::Series::new("noise floor", &freqs, &noise),
                ],
                peaks: &peak_freqs,
                marks_label: match p.selection {
                    PeakSelection::LocalMaxima => None,
                    PeakSelection::AboveNoise | PeakSelection::None => Some("tracked frequencies"),
                },
                log_y: true,
            },
        )?;
        figures.push(FigureRef::new(
            dir.file("projection_spectrum.png"),
            format!(
                "|ŷ(k)| of the label component {} along p₁ (which carries {:.1}% of the input \
                 variance), with the tracked frequencies marked in red: {}.",
                p.component,
                100.0 * p.variance_share,
                selection_text(p.selection)
            ),
        ));
    }
    let row_labels: Vec<String> = p
        .peaks
        .iter()
        .map(|k| format!("f={:.2}", k.frequency))
        .collect();
    for run in &result.runs {
        let matrix = run.delta_f_matrix();
        if matrix.is_empty() || row_labels.len() != matrix.len() {
            continue;
        }
        let epochs: Vec<f64> = run.epochs.iter().map(|e| f64::from(e.epoch)).collect();
        let values: Vec<Vec<f64>> = matrix.iter().map(|r| widen(r)).collect();
        let title = format!("Δ_F along p₁, g = {}", run.gain);
        let mut map = plot::HeatMap::new(&title, &row_labels, &epochs, &values);
        map.x_label = "epoch";
        map.y_label = "frequency";
        let stem = format!("delta_heatmap_g_{}", run.gain).replace('.', "_");
        plot::heat_map(&dir.file(&stem), &map)?;
        figures.push(FigureRef::new(
            dir.file(format!("{stem}.png")),
            format!(
                "Relative error Δ_F of the output's spectrum along p₁ at the tracked \
                 frequencies (low at the bottom) over epochs, g = {}.",
                run.gain
            ),
        ));
    }

    let mut lines = vec![
        (
            "data".to_string(),
            format!(
                "{} training, {} test samples",
                result.train_samples, result.test_samples
            ),
        ),
        (
            "network".into(),
            format!(
                "{:?}, {:?}, batch {}, {} epochs",
                result.config.widths,
                result.config.loss,
                result.config.batch_size,
                result.config.epochs
            ),
        ),
    ];
    if result.interrupted {
        let epochs = result.config.epochs;
        let finished = result
            .runs
            .iter()
            .filter(|r| r.epochs.len() == epochs + 1)
            .count();
        let mut text = format!("{finished} of {} gains finished", result.config.gains.len());
        if let Some(r) = result.runs.iter().find(|r| r.epochs.len() <= epochs) {
            text.push_str(&format!(
                "; g = {} stopped after {} of {epochs} epochs",
                r.gain,
                r.epochs.len().saturating_sub(1)
            ));
        }
        lines.push(("interrupted".into(), text));
    }
    for r in &result.runs {
        let last = r.epochs.last();
        lines.push((
            format!("g = {}", r.gain),
            format!(
                "train accuracy {:.3}, test accuracy {:.3}; e_low / e_high at the end {} / {}; \
                 {:.0} samples/s",
                r.final_train_accuracy,
                r.final_test_accuracy,
                last.map_or("-".into(), |e| short(f64::from(e.e_low))),
                last.map_or("-".into(), |e| short(f64::from(e.e_high))),
                r.samples_per_second
            ),
        ));
    }
    // Only gains trained to the end count towards the trend (an interrupted run leaves the
    // last one partial).
    let finished: Vec<f64> = result
        .runs
        .iter()
        .filter(|r| r.epochs.len() == result.config.epochs + 1)
        .map(|r| f64::from(r.final_test_accuracy))
        .collect();
    let falling = crate::experiments::trend(&finished, |a, b| b < a);
    lines.push((
        "test accuracy falls as g grows".into(),
        crate::experiments::trend_text(falling, "gains"),
    ));
    let results = serde_json::json!({
        "epochs_run": result.runs.iter().map(|r| r.epochs.len().saturating_sub(1)).collect::<Vec<_>>(),
        "test_accuracy_falls_with_gain": falling,
        "gains": gains,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "delta": result.filtering.delta,
        "low_share": result.filtering.low_share,
        "wall_seconds": result.wall_seconds,
    });
    Ok(Outcome {
        status: if result.interrupted {
            RunStatus::Interrupted
        } else {
            RunStatus::Completed
        },
        results,
        lines,
        figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_setting_and_valid() {
        let c = MnistConfig::default();
        assert_eq!(c.widths, [784, 400, 200, 10]);
        assert_eq!(c.gains, [1.0, 4.0, 8.0]);
        assert_eq!((c.batch_size, c.epochs), (100, 30));
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(MnistConfig::quick().validate(), Ok(()));
    }

    #[test]
    fn bad_settings_are_named() {
        let mut c = MnistConfig::default();
        c.projection.component = 10;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("component 10"), "{err}");
        let c = MnistConfig {
            gains: vec![1.0, -2.0],
            ..MnistConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("--gains") && err.contains("-2"), "{err}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = MnistConfig::quick();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<MnistConfig>(&json).unwrap(), c);
        // Missing fields take their defaults.
        let partial: MnistConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(partial.epochs, 3);
        assert_eq!(partial.widths, [784, 400, 200, 10]);
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3 * plain.abs());
    }

    #[test]
    fn accuracy_and_one_hot() {
        let y = one_hot(&[2, 0], 3);
        assert_eq!(y, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(accuracy(&[0.1, 0.2, 0.9, 0.0, 0.5, 0.1], &[2, 0], 3), 0.5);
    }
}
