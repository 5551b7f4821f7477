//! Experiment 1: frequency order in 1-D — the network fits the target's low frequencies first.
//!
//! A tanh network is trained on a sum of sines; every `observe_every` steps its outputs on a
//! uniform analysis grid go to the core's [`SpectralTracker`], which reports the relative error
//! Δ_F at each peak of the target's spectrum and the step at which each peak converged.

use crate::data::target::{uniform_grid_f32, Endpoints, Target};
use crate::experiments::memory::{self, Estimate};
use crate::network::{trainer, training_threads, InitScale, Network, OptimizerConfig};
use crate::plot;
use crate::record::{FigureRef, RunStatus};
use crate::report::{short, steps_text, widen, BoxError, Outcome};
use fprinciple_core::activation::Activation;
use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{spectrum_on_grid, PeakSearch};
use fprinciple_core::tracker::{ConvergenceRule, ErrorMeasure, SpectralTracker, TrackerSettings};
use fprinciple_core::train::{ObservedBatch, Samples};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::time::Instant;

/// Most peaks a run tracks.
pub const MAX_PEAKS: usize = 16;

/// Every setting of one 1-D run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreqConfig {
    /// Name of the preset the settings started from.
    pub preset: String,
    /// The target, as text (`sin(x)+sin(3x)+sin(5x)`).
    pub target: String,
    /// The interval `[a, b]` of the inputs.
    pub interval: [f64; 2],
    /// Number of training points, uniformly spaced.
    pub train_points: usize,
    /// Whether the training grid includes `b`.
    pub train_endpoints: Endpoints,
    /// Number of test points (uniform, both ends included); 0 for none.
    pub test_points: usize,
    /// Points of the analysis grid on `[a, b)` (a power of two); the spectrum is taken there.
    pub analysis_points: usize,
    /// Network widths, input first.
    pub widths: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Initialization scale.
    pub init: InitScale,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerConfig,
    /// Most training steps.
    pub steps: usize,
    /// Stop once the training loss is below this.
    pub stop_loss: Option<f32>,
    /// Observe the spectrum every this many steps.
    pub observe_every: usize,
    /// Take the test loss at every this many observations (and at the last): evaluating the
    /// test points costs more than the step itself when there are many of them.
    #[serde(default = "one")]
    pub test_every: usize,
    /// Seed of the initialization.
    pub seed: u64,
    /// Peak search among the target's bins.
    pub peaks: PeakSearch,
    /// Convergence rule and error measure.
    pub tracker: TrackerSettings,
}

impl FreqConfig {
    /// The classic run: sin x + sin 3x + sin 5x on [−π, π), 128 points on the analysis grid,
    /// 1-200-200-200-100-1 tanh, σ = 1/√200, full-batch Adam 2e-4, 2,000 steps.
    pub fn classic() -> Self {
        FreqConfig {
            preset: "classic".into(),
            target: "sin(x)+sin(3x)+sin(5x)".into(),
            interval: [-PI, PI],
            train_points: 128,
            train_endpoints: Endpoints::Exclude,
            test_points: 0,
            analysis_points: 128,
            widths: vec![1, 200, 200, 200, 100, 1],
            activation: Activation::Tanh,
            init: InitScale::Normal(1.0 / 200f32.sqrt()),
            optimizer: OptimizerConfig::Adam {
                learning_rate: 2e-4,
            },
            steps: 2000,
            stop_loss: None,
            observe_every: 1,
            test_every: 10,
            seed: 0,
            peaks: PeakSearch::DEFAULT,
            tracker: TrackerSettings::DEFAULT,
        }
    }

    /// The authors' TF1 setting: sin x + sin 4x on [−10, 10], 61 training points with both
    /// ends, 201 test points, σ = 0.05, Adam 2e-5, stop when the training MSE < 3e-3.
    pub fn official() -> Self {
        FreqConfig {
            preset: "official".into(),
            target: "sin(x)+sin(4x)".into(),
            interval: [-10.0, 10.0],
            train_points: 61,
            train_endpoints: Endpoints::Include,
            test_points: 201,
            analysis_points: 64,
            init: InitScale::Normal(0.05),
            optimizer: OptimizerConfig::Adam {
                learning_rate: 2e-5,
            },
            steps: 40_000,
            stop_loss: Some(3e-3),
            ..Self::classic()
        }
    }

    /// The one-hidden-layer network of the theory check (m = 200, plain gradient descent with
    /// learning rate 0.005), with hidden weights and biases ~ N(0, σ²) and output weights
    /// ~ N(0, 0.1²).
    pub fn theory(sigma: f32) -> Self {
        FreqConfig {
            preset: format!("theory-sigma-{sigma}"),
            widths: vec![1, 200, 1],
            init: InitScale::PerLayer(vec![sigma, 0.1]),
            optimizer: OptimizerConfig::Sgd {
                learning_rate: 0.005,
                momentum: 0.0,
            },
            steps: 40_000,
            observe_every: 10,
            ..Self::classic()
        }
    }

    /// A shortened version that still shows the effect (for `--quick`). The classic and
    /// official runs already take seconds and need their steps for the highest peak, so only
    /// the theory check is cut: to 25,000 steps, past the σ = 3 run's convergence of sin 5x.
    pub fn quick(mut self) -> Self {
        if self.preset.starts_with("theory") {
            self.steps = self.steps.min(25_000);
        }
        self
    }

    /// The analysis rule and measure shorthand for the tracker.
    pub fn rule(&self) -> ConvergenceRule {
        self.tracker.rule
    }
}

/// Progress of a running experiment, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: usize,
    /// Most steps.
    pub steps: usize,
    /// Current training loss.
    pub loss: f32,
}

/// One observation: the errors at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Training step (0 = before training).
    pub step: usize,
    /// Training MSE at this step (before its update).
    pub train_loss: f32,
    /// Test MSE, if there is a test set.
    pub test_loss: Option<f32>,
    /// Δ_F per peak, low frequency first.
    pub delta: Vec<f32>,
}

/// The network's outputs at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Training step.
    pub step: usize,
    /// Outputs on the analysis grid.
    pub analysis: Vec<f32>,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// All steps done.
    Steps,
    /// The training loss fell below the stopping loss.
    StopLoss,
    /// The loss became NaN or infinite.
    Diverged,
    /// The caller asked to stop (Ctrl-C).
    Interrupted,
}

/// Everything a 1-D run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreqResult {
    /// The settings.
    pub config: FreqConfig,
    /// DFT bins of the tracked peaks, low to high.
    pub peak_bins: Vec<usize>,
    /// The peaks as frequencies of the input (cycles per unit × 2π: `k · 2π / (b − a)`).
    pub peak_frequencies: Vec<f64>,
    /// Step at which each peak converged.
    pub convergence_steps: Vec<Option<usize>>,
    /// Whether every peak converged, low frequencies first.
    pub low_to_high: bool,
    /// Whether the peaks that converged did so low to high, counting the others as converging
    /// after the end of the run.
    pub low_to_high_so_far: bool,
    /// Every observation.
    pub observations: Vec<Observation>,
    /// Outputs at a few steps, for figures.
    pub snapshots: Vec<Snapshot>,
    /// The analysis grid.
    pub analysis_x: Vec<f32>,
    /// The target on the analysis grid.
    pub analysis_y: Vec<f32>,
    /// The training points.
    pub train_x: Vec<f32>,
    /// The target at the training points.
    pub train_y: Vec<f32>,
    /// |DFT| of the target on the analysis grid (bins 0..N/2).
    pub target_spectrum: Vec<f32>,
    /// |DFT| of the final output on the analysis grid.
    pub output_spectrum: Vec<f32>,
    /// Steps taken.
    pub steps_run: usize,
    /// Why the run stopped.
    pub stop: StopReason,
    /// Final training loss.
    pub final_train_loss: f32,
    /// Final test loss.
    pub final_test_loss: Option<f32>,
    /// Wall time of the training loop, seconds.
    pub seconds: f64,
}

/// Errors of a 1-D run.
#[derive(Debug)]
pub enum FreqError {
    /// A setting is invalid (the text names it).
    Setting(String),
    /// The core refused something.
    Core(fprinciple_core::Error),
    /// Training diverged (the text says which run, when, and what to lower).
    Diverged(String),
}

impl std::fmt::Display for FreqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FreqError::Setting(s) => write!(f, "{s}"),
            FreqError::Core(e) => write!(f, "{e}"),
            FreqError::Diverged(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for FreqError {}

impl From<fprinciple_core::Error> for FreqError {
    fn from(e: fprinciple_core::Error) -> Self {
        FreqError::Core(e)
    }
}

/// The serde default of [`FreqConfig::test_every`] for settings written before it existed.
fn one() -> usize {
    1
}

/// The inputs a run evaluates at every observation, one row per point, and where each set
/// of points lies among them.
struct ObservedRows {
    /// The training points, the analysis grid (unless it is the training grid) and the test
    /// points, in that order.
    inputs: Vec<f32>,
    train: std::ops::Range<usize>,
    analysis: std::ops::Range<usize>,
    test: std::ops::Range<usize>,
}

impl ObservedRows {
    fn new(train: &[f32], analysis: &[f32], test: &[f32]) -> Self {
        let mut inputs = train.to_vec();
        let analysis_rows = if analysis == train {
            0..train.len()
        } else {
            inputs.extend_from_slice(analysis);
            train.len()..inputs.len()
        };
        let test_start = inputs.len();
        inputs.extend_from_slice(test);
        ObservedRows {
            train: 0..train.len(),
            analysis: analysis_rows,
            test: test_start..inputs.len(),
            inputs,
        }
    }

    fn train<'a>(&self, outputs: &'a [f32]) -> &'a [f32] {
        outputs.get(self.train.clone()).unwrap_or(&[])
    }

    fn analysis<'a>(&self, outputs: &'a [f32]) -> &'a [f32] {
        outputs.get(self.analysis.clone()).unwrap_or(&[])
    }

    fn test<'a>(&self, outputs: &'a [f32]) -> &'a [f32] {
        outputs.get(self.test.clone()).unwrap_or(&[])
    }
}

/// The target of a setting, or an error naming `--target`.
fn parse_target(text: &str) -> Result<Target, FreqError> {
    Target::preset_or_parse(text).map_err(|e| FreqError::Setting(format!("--target: {e}")))
}

/// The tracker of the peaks of the target's values `analysis_y` on the analysis grid. A target
/// whose spectrum has no peak (zero, constant, vanishingly small, or a frequency the grid does
/// not resolve) or more than [`MAX_PEAKS`] is refused with the flags that change it.
fn target_tracker(
    config: &FreqConfig,
    analysis_y: &[f32],
    scratch: &mut [f32],
) -> Result<SpectralTracker<MAX_PEAKS>, FreqError> {
    // Peaks can only lie below the Nyquist bin.
    let search = PeakSearch {
        max_bins: config.peaks.max_bins.min(config.analysis_points / 2),
        ..config.peaks
    };
    let [a, b] = config.interval;
    SpectralTracker::from_grid(analysis_y, scratch, &search, config.tracker).map_err(|e| match e {
        fprinciple_core::Error::InvalidSetting(_) => FreqError::Setting(format!(
            "--target: `{}` has no peak to track among the first {} DFT bins of the analysis \
             grid on [{}, {}) (a zero, constant or vanishingly small target has none; the \
             lowest frequency the grid resolves is 2π/(b − a) = {}): give it a term such as \
             sin(x), or change --interval, --peak-bins or --peak-floor",
            config.target,
            search.max_bins,
            short(a),
            short(b),
            short(2.0 * PI / (b - a))
        )),
        fprinciple_core::Error::CapacityExceeded => FreqError::Setting(format!(
            "--target: `{}` has more than {MAX_PEAKS} peaks among the first {} DFT bins: \
             lower --peak-bins or raise --peak-floor",
            config.target, search.max_bins
        )),
        e => FreqError::Core(e),
    })
}

/// Refuses an interval whose inputs single precision cannot hold: both ends must be finite
/// `f32` values, and each grid of `grids` (`(flag, points)`) must keep its neighbouring points
/// distinct there.
pub fn check_interval([a, b]: [f64; 2], grids: &[(&str, usize)]) -> Result<(), FreqError> {
    let fits = |v: f64| v.is_finite() && v.abs() <= f64::from(f32::MAX);
    if !(fits(a) && fits(b) && a < b) {
        return Err(FreqError::Setting(format!(
            "--interval: need a < b, both finite in single precision (|x| ≤ 3.4e38), got [{}, {}]",
            short(a),
            short(b)
        )));
    }
    // Neighbouring f32 values near the ends of the interval are this far apart.
    let resolution = a.abs().max(b.abs()) * f64::from(f32::EPSILON);
    let most = ((b - a) / resolution).floor();
    for &(flag, points) in grids {
        if points as f64 > most {
            return Err(FreqError::Setting(format!(
                "{flag}: {points} points on [{}, {}] would lie closer together than single \
                 precision resolves there, so neighbouring inputs would be equal: use at most \
                 {most:.0} points, or widen --interval",
                short(a),
                short(b)
            )));
        }
    }
    Ok(())
}

/// Largest analysis grid (`--analysis-points`).
pub const MAX_ANALYSIS_POINTS: usize = 4096;

/// Refuses a target whose highest frequency lies at or above the Nyquist limit of the
/// `points`-point analysis grid on `[a, b)` (DFT bin `k (b − a) / 2π` ≥ `points / 2`): it would
/// alias to a lower frequency and every spectral measure would be wrong. `points_flag` names
/// the flag that sets `points`, if there is one.
pub fn check_resolved(
    target: &Target,
    text: &str,
    [a, b]: [f64; 2],
    points: usize,
    points_flag: Option<&str>,
) -> Result<(), FreqError> {
    let Some(k) = target.highest_frequency() else {
        return Ok(());
    };
    let bin = k * (b - a) / (2.0 * PI);
    let nyquist = points as f64 / 2.0;
    if bin < nyquist {
        return Ok(());
    }
    let enough = (3..=MAX_ANALYSIS_POINTS.trailing_zeros())
        .map(|e| 1usize << e)
        .find(|&n| bin < n as f64 / 2.0);
    let remedy = match (points_flag, enough) {
        (Some(flag), Some(n)) => {
            format!("raise {flag} to {n} or more, lower the frequency or narrow --interval")
        }
        (Some(flag), None) => format!(
            "lower the frequency or narrow --interval ({flag} goes up to {MAX_ANALYSIS_POINTS})"
        ),
        (None, _) => "lower the frequency or narrow --interval".into(),
    };
    let flag_note = points_flag.map_or_else(String::new, |f| format!(" ({f})"));
    Err(FreqError::Setting(format!(
        "--target: `{text}` has frequency {k}, at DFT bin {} of the {points}-point analysis \
         grid{flag_note} on [{}, {}): at or above its Nyquist limit (bin {nyquist}) it would \
         alias to a lower frequency; {remedy}",
        short(bin),
        short(a),
        short(b)
    )))
}

/// Steps at which to keep the network's outputs: 0, then roughly log-spaced to the last step.
fn snapshot_steps(steps: usize) -> Vec<usize> {
    let mut out = vec![0];
    for f in [0.01, 0.05, 0.15, 0.4] {
        let s = (steps as f64 * f) as usize;
        if s > *out.last().unwrap_or(&0) {
            out.push(s);
        }
    }
    out
}

/// Runs one 1-D experiment. `progress` is called now and then; `stop` is polled every step
/// (Ctrl-C), and a stopped run returns its results so far.
pub fn run(
    config: &FreqConfig,
    progress: &mut (dyn FnMut(Progress) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<FreqResult, FreqError> {
    let target = parse_target(&config.target)?;
    let [a, b] = config.interval;
    if config.observe_every == 0 {
        return Err(FreqError::Setting(
            "--observe-every must be at least 1".into(),
        ));
    }
    if config.test_every == 0 {
        return Err(FreqError::Setting("--test-every must be at least 1".into()));
    }
    let train_x = uniform_grid_f32(a, b, config.train_points, config.train_endpoints);
    let train_y = target.eval_grid(&train_x);
    let test_x = uniform_grid_f32(a, b, config.test_points, Endpoints::Include);
    let test_y = target.eval_grid(&test_x);
    let analysis_x = uniform_grid_f32(a, b, config.analysis_points, Endpoints::Exclude);
    let analysis_y = target.eval_grid(&analysis_x);

    let n = config.analysis_points;
    let mut scratch = vec![0.0f32; n];
    let mut tracker = target_tracker(config, &analysis_y, &mut scratch)?;
    let peak_bins: Vec<usize> = tracker.peaks().iter().map(|p| p.bin).collect();
    let target_spectrum = magnitude_spectrum(&analysis_y)?;

    let mut rng = Rng::new(config.seed);
    let layers = config.init.layers(&config.widths);
    let mut net = Network::new(
        &config.widths,
        config.activation,
        Activation::Identity,
        Init::PerLayer(&layers),
        &mut rng,
    )?;
    let mut trainer = trainer(&net, Loss::MeanSquaredError, &config.optimizer)?;
    let samples = Samples {
        inputs: &train_x,
        targets: &train_y,
    };
    // Every row an observation needs, evaluated in the training step's own forward pass:
    // the training points, then the analysis grid (unless it is the training grid, as in the
    // classic run), then the test points.
    let rows = ObservedRows::new(&train_x, &analysis_x, &test_x);
    let mut row_outputs = vec![0.0f32; rows.inputs.len()];
    let mut outputs = vec![0.0f32; n];
    let keep = snapshot_steps(config.steps);
    let mut observations = Vec::new();
    let mut snapshots = Vec::new();
    let mut last_loss = f32::NAN;
    let mut step = 0;
    // Set when the stopping loss is reached or Ctrl-C arrives: the next iteration is the last.
    let mut finish: Option<StopReason> = None;
    let started = Instant::now();
    // The whole loop runs on the trainer's pool (see `HostTrainer::on_pool`).
    let stop_reason = trainer.on_pool(|trainer| -> Result<StopReason, FreqError> {
        Ok(loop {
            let (arch, params) = net.split_mut();
            // The last iteration only evaluates: `step` updates have been applied.
            let last = step == config.steps || finish.is_some();
            let observe = step % config.observe_every == 0 || last;
            let snapshot = keep.contains(&step) || last;
            let test_now = observe
                && !test_x.is_empty()
                && (last || (step / config.observe_every).is_multiple_of(config.test_every));
            // The training loss, the outputs and the test loss are all taken at the parameters
            // before this iteration's update (a step reports its loss before its update).
            let loss = if last {
                trainer.predict(&arch, params, &rows.inputs, &mut row_outputs)?;
                trainer
                    .loss()
                    .value(rows.train(&row_outputs), &train_y, 1)?
            } else if observe || snapshot {
                // The test points are the last rows: leave them out when they are not needed.
                let needed = if test_now {
                    rows.inputs.len()
                } else {
                    rows.test.start
                };
                let batch = ObservedBatch {
                    inputs: rows.inputs.get(..needed).unwrap_or(&[]),
                    targets: &train_y,
                    outputs: row_outputs.get_mut(..needed).unwrap_or(&mut []),
                };
                match trainer.step_observed(&arch, params, batch) {
                    Ok(l) => l,
                    Err(fprinciple_core::Error::NonFiniteLoss) => break StopReason::Diverged,
                    Err(e) => return Err(e.into()),
                }
            } else {
                match trainer.step(&arch, params, samples) {
                    Ok(l) => l,
                    Err(fprinciple_core::Error::NonFiniteLoss) => break StopReason::Diverged,
                    Err(e) => return Err(e.into()),
                }
            };
            last_loss = loss;
            if observe || snapshot {
                outputs.copy_from_slice(rows.analysis(&row_outputs));
            }
            if observe {
                tracker.observe_with_scratch(step as u32, &outputs, &mut scratch)?;
                let test_loss = if !test_now {
                    None
                } else {
                    Some(trainer.loss().value(rows.test(&row_outputs), &test_y, 1)?)
                };
                observations.push(Observation {
                    step,
                    train_loss: loss,
                    test_loss,
                    delta: tracker.errors().to_vec(),
                });
            }
            if snapshot {
                snapshots.push(Snapshot {
                    step,
                    analysis: outputs.clone(),
                });
            }
            if step % 50 == 0 {
                progress(Progress {
                    step,
                    steps: config.steps,
                    loss,
                });
            }
            if last {
                break finish.unwrap_or(StopReason::Steps);
            }
            if config.stop_loss.is_some_and(|s| loss < s) {
                finish = Some(StopReason::StopLoss);
            } else if stop() {
                finish = Some(StopReason::Interrupted);
            }
            step += 1;
        })
    })?;
    let seconds = started.elapsed().as_secs_f64();
    // After a divergence the outputs are those of the last observation before it.
    let final_test_loss = observations.last().and_then(|o| o.test_loss);
    let output_spectrum = magnitude_spectrum(&outputs)?;
    let period = b - a;
    Ok(FreqResult {
        peak_frequencies: peak_bins
            .iter()
            .map(|&k| k as f64 * 2.0 * PI / period)
            .collect(),
        convergence_steps: tracker
            .convergence_steps()
            .iter()
            .map(|s| s.map(|s| s as usize))
            .collect(),
        low_to_high: tracker.is_low_to_high(),
        low_to_high_so_far: tracker.is_low_to_high_so_far(),
        peak_bins,
        observations,
        snapshots,
        analysis_x,
        analysis_y,
        train_x,
        train_y,
        target_spectrum,
        output_spectrum,
        steps_run: step,
        stop: stop_reason,
        final_train_loss: last_loss,
        final_test_loss,
        seconds,
        config: config.clone(),
    })
}

/// |DFT| (scaled by 1/N) of values on the analysis grid, bins 0..N/2.
pub fn magnitude_spectrum(values: &[f32]) -> Result<Vec<f32>, FreqError> {
    let mut scratch = vec![0.0; values.len()];
    let spectrum = spectrum_on_grid(values, &mut scratch)?;
    Ok(spectrum
        .bins
        .iter()
        .map(|c| (c.re * c.re + c.im * c.im).sqrt())
        .collect())
}

/// Why a run stopped, in words, for summaries.
fn stop_text(stop: StopReason) -> &'static str {
    match stop {
        StopReason::Steps => "every step done",
        StopReason::StopLoss => "reached --stop-loss",
        StopReason::Diverged => "diverged",
        StopReason::Interrupted => "interrupted",
    }
}

/// The error measure's name, for summaries.
pub fn measure_name(measure: ErrorMeasure) -> &'static str {
    match measure {
        ErrorMeasure::Complex => "complex |ĥ−ŷ|/|ŷ|",
        ErrorMeasure::Magnitude => "magnitude ||ĥ|−|ŷ||/|ŷ|",
    }
}

/// Writes `metrics.csv` and the figures of a 1-D run into `dir`, and returns the outcome.
pub fn save(result: &FreqResult, dir: &crate::record::RunDir) -> Result<Outcome, BoxError> {
    let labels: Vec<String> = result.peak_bins.iter().map(|k| format!("k={k}")).collect();
    let mut header = vec!["step".to_string(), "train_loss".into(), "test_loss".into()];
    header.extend(labels.iter().map(|l| format!("delta_{}", &l[2..])));
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut csv = dir.csv("metrics.csv", &header_refs)?;
    for o in &result.observations {
        let mut row = vec![
            o.step as f64,
            f64::from(o.train_loss),
            o.test_loss.map_or(f64::NAN, f64::from),
        ];
        row.extend(o.delta.iter().map(|&d| f64::from(d)));
        csv.push_numbers(&row)?;
    }
    csv.finish()?;

    let mut figures = Vec::new();
    // A run that diverged at its first step has no observation and no snapshot to draw.
    if !result.observations.is_empty() {
        observation_figures(result, dir, &labels, &mut figures)?;
    }
    if !result.snapshots.is_empty() {
        snapshot_figure(result, dir, &mut figures)?;
    }

    let bins: Vec<f64> = (0..result.target_spectrum.len())
        .map(|k| k as f64)
        .collect();
    let ts: Vec<f64> = widen(&result.target_spectrum);
    let os: Vec<f64> = widen(&result.output_spectrum);
    let shown = bins.len().min(result.config.peaks.max_bins.max(8) * 2);
    let peaks: Vec<f64> = result.peak_bins.iter().map(|&k| k as f64).collect();
    plot::spectrum_chart(
        &dir.file("spectrum"),
        &plot::SpectrumChart {
            title: "|DFT| of target and final output",
            x_label: "frequency index k",
            y_label: "|DFT|",
            series: &[
                plot::Series::new("target", &bins[..shown], &ts[..shown]),
                plot::Series::new("output", &bins[..shown], &os[..shown]),
            ],
            peaks: &peaks,
            marks_label: None,
            log_y: false,
        },
    )?;
    figures.push(FigureRef::new(
        dir.file("spectrum.png"),
        "Magnitude of the DFT (scaled by 1/N) on the analysis grid; the target's peaks are marked.",
    ));

    let status = match result.stop {
        StopReason::Interrupted => RunStatus::Interrupted,
        StopReason::Diverged => RunStatus::Diverged,
        _ => RunStatus::Completed,
    };
    let ms_per_step = 1e3 * result.seconds / result.steps_run.max(1) as f64;
    // An order needs two peaks (one peak is trivially "in order") and an observation.
    let ordered = result.peak_bins.len() >= 2 && !result.observations.is_empty();
    let order = ordered.then_some(result.low_to_high);
    let order_so_far = ordered.then_some(result.low_to_high_so_far);
    let lines = vec![
        ("target".to_string(), result.config.target.clone()),
        ("peaks (DFT bins)".into(), format!("{:?}", result.peak_bins)),
        (
            "convergence steps".into(),
            steps_text(&result.convergence_steps),
        ),
        (
            "low frequencies first".into(),
            match order {
                None if result.observations.is_empty() => "not determined (nothing observed)",
                None => "not determined (needs two peaks)",
                Some(true) => "yes",
                Some(false) if result.low_to_high_so_far => {
                    "so far (the higher peaks had not converged when the run ended)"
                }
                Some(false) => "no",
            }
            .into(),
        ),
        (
            "steps run".into(),
            format!("{} ({})", result.steps_run, stop_text(result.stop)),
        ),
        (
            "final train MSE".into(),
            short(f64::from(result.final_train_loss)),
        ),
        (
            "final test MSE".into(),
            result
                .final_test_loss
                .map_or("-".into(), |l| short(f64::from(l))),
        ),
        (
            "time".into(),
            format!(
                "{:.2} s ({ms_per_step:.3} ms per step with observation)",
                result.seconds
            ),
        ),
    ];
    let mut lines = lines;
    if result.stop == StopReason::Diverged {
        let when = format!("at step {}", result.steps_run);
        let mut why = super::divergence(&when, &result.config.optimizer, "--sigma");
        if result.observations.is_empty() {
            why.push_str(
                "; at step 0, before any update, the initial network's outputs or the target \
                 itself are too large: lower --sigma or the amplitude of --target",
            );
        }
        lines.push(("diverged".into(), why));
    }
    let results = serde_json::json!({
        "peak_bins": result.peak_bins,
        "convergence_steps": result.convergence_steps,
        "low_to_high": order,
        "low_to_high_so_far": order_so_far,
        "steps_run": result.steps_run,
        "stop": result.stop,
        "final_train_loss": result.final_train_loss,
        "final_test_loss": result.final_test_loss,
        "seconds": result.seconds,
        "ms_per_step": ms_per_step,
    });
    Ok(Outcome {
        status,
        results,
        lines,
        figures,
    })
}

/// The figures drawn from the observations: Δ_F as a heat map and as curves, and the losses.
fn observation_figures(
    result: &FreqResult,
    dir: &crate::record::RunDir,
    labels: &[String],
    figures: &mut Vec<FigureRef>,
) -> Result<(), BoxError> {
    let steps: Vec<f64> = result.observations.iter().map(|o| o.step as f64).collect();
    let rows: Vec<Vec<f64>> = (0..result.peak_bins.len())
        .map(|p| {
            result
                .observations
                .iter()
                .map(|o| f64::from(o.delta.get(p).copied().unwrap_or(f32::NAN)))
                .collect()
        })
        .collect();
    let title = format!("Δ_F per peak — {}", result.config.target);
    plot::heat_map(
        &dir.file("delta_heatmap"),
        &plot::HeatMap::new(&title, labels, &steps, &rows),
    )?;
    figures.push(FigureRef::new(
        dir.file("delta_heatmap.png"),
        "Relative error Δ_F at each peak of the target's spectrum (rows, low frequency at the \
         bottom) over training; the darkest red is converged (Δ_F ≤ 0.1), lighter reds are on the way (up to about 0.5), blue is far (Δ_F ≥ 1).",
    ));

    let series: Vec<plot::Series<'_>> = labels
        .iter()
        .zip(&rows)
        .map(|(l, r)| plot::Series::new(l, &steps, r))
        .collect();
    plot::line_chart(
        &dir.file("delta_curves"),
        &plot::LineChart::new("Δ_F per peak", "step", "Δ_F", &series).log_y(true),
    )?;
    figures.push(FigureRef::new(
        dir.file("delta_curves.png"),
        "Δ_F of each peak against the training step (log scale).",
    ));

    let train: Vec<f64> = result
        .observations
        .iter()
        .map(|o| f64::from(o.train_loss))
        .collect();
    // The test loss is taken at some observations only.
    let (test_steps, test): (Vec<f64>, Vec<f64>) = result
        .observations
        .iter()
        .filter_map(|o| Some((o.step as f64, f64::from(o.test_loss?))))
        .unzip();
    let mut loss_series = vec![plot::Series::new("train MSE", &steps, &train)];
    if !test.is_empty() {
        loss_series.push(plot::Series::new("test MSE", &test_steps, &test));
    }
    plot::line_chart(
        &dir.file("loss"),
        &plot::LineChart::new("Loss", "step", "MSE", &loss_series).log_y(true),
    )?;
    figures.push(FigureRef::new(
        dir.file("loss.png"),
        "Training (and test) MSE.",
    ));
    Ok(())
}

/// The target and the network's output at the kept steps.
fn snapshot_figure(
    result: &FreqResult,
    dir: &crate::record::RunDir,
    figures: &mut Vec<FigureRef>,
) -> Result<(), BoxError> {
    let x: Vec<f64> = widen(&result.analysis_x);
    let target: Vec<f64> = widen(&result.analysis_y);
    let outputs: Vec<Vec<f64>> = result
        .snapshots
        .iter()
        .map(|s| widen(&s.analysis))
        .collect();
    let captions: Vec<String> = result
        .snapshots
        .iter()
        .map(|s| format!("step {}", s.step))
        .collect();
    let panels: Vec<plot::Snapshot<'_>> = captions
        .iter()
        .zip(&outputs)
        .map(|(c, o)| plot::Snapshot {
            caption: c,
            output: o,
        })
        .collect();
    let train_x: Vec<f64> = widen(&result.train_x);
    let train_y: Vec<f64> = widen(&result.train_y);
    plot::function_snapshots(
        &dir.file("snapshots"),
        &plot::Snapshots {
            title: "Target and network output during training",
            x_label: "x",
            y_label: "y",
            x: &x,
            target: &target,
            panels: &panels,
            train_x: &train_x,
            train_y: &train_y,
        },
    )?;
    figures.push(FigureRef::new(
        dir.file("snapshots.png"),
        "The network's output (blue) over the target (grey) at several steps: the coarse, \
         low-frequency shape appears first, the fast oscillations later.",
    ));
    Ok(())
}

impl FreqConfig {
    /// Checks every setting before training, with a message that names the flag and the
    /// valid range.
    pub fn validate(&self) -> Result<(), FreqError> {
        let bad = |m: String| Err(FreqError::Setting(m));
        let target = parse_target(&self.target)?;
        check_interval(
            self.interval,
            &[
                ("--train-points", self.train_points),
                ("--test-points", self.test_points),
                ("--analysis-points", self.analysis_points),
            ],
        )?;
        validate_widths(&self.widths, 1, 1)?;
        validate_init(&self.init, &self.widths)?;
        validate_optimizer(&self.optimizer)?;
        if self.train_points < 2 {
            return bad(format!(
                "--train-points: need at least 2, got {}",
                self.train_points
            ));
        }
        let n = self.analysis_points;
        if !(n.is_power_of_two() && (8..=MAX_ANALYSIS_POINTS).contains(&n)) {
            return bad(format!(
                "--analysis-points: need a power of two from 8 to {MAX_ANALYSIS_POINTS}, got {n}"
            ));
        }
        if self.steps == 0 || self.steps > u32::MAX as usize {
            return bad(format!(
                "--steps: need 1 to {}, got {}",
                u32::MAX,
                self.steps
            ));
        }
        if self.observe_every == 0 {
            return bad("--observe-every: need at least 1, got 0".into());
        }
        if self.observe_every > self.steps {
            return bad(format!(
                "--observe-every: need 1 to --steps ({}), got {}: nothing would be observed \
                 between the first and the last step",
                self.steps, self.observe_every
            ));
        }
        if self.test_every == 0 {
            return bad("--test-every: need at least 1, got 0".into());
        }
        if let Some(l) = self.stop_loss {
            if !(l.is_finite() && l > 0.0) {
                return bad(format!("--stop-loss: need a finite value > 0, got {l}"));
            }
        }
        if self.peaks.max_bins < 2 {
            return bad(format!(
                "--peak-bins: need at least 2, got {}",
                self.peaks.max_bins
            ));
        }
        if !(0.0..1.0).contains(&self.peaks.relative_floor) {
            return bad(format!(
                "--peak-floor: need a fraction in [0, 1), got {}",
                self.peaks.relative_floor
            ));
        }
        let rule = self.tracker.rule;
        if !(rule.threshold.is_finite() && rule.threshold > 0.0) {
            return bad(format!(
                "--threshold: need a finite value > 0, got {}",
                rule.threshold
            ));
        }
        if rule.consecutive == 0 {
            return bad("--consecutive: need at least 1, got 0".into());
        }
        // The target against the analysis grid, as the run will see it.
        check_resolved(
            &target,
            &self.target,
            self.interval,
            n,
            Some("--analysis-points"),
        )?;
        let [a, b] = self.interval;
        let analysis_y = target.eval_grid(&uniform_grid_f32(a, b, n, Endpoints::Exclude));
        target_tracker(self, &analysis_y, &mut vec![0.0; n])?;
        Ok(())
    }

    /// The memory this run needs at its peak (see [`memory`]): the network, every row an
    /// observation evaluates (training, analysis and test points), the grids, and one record
    /// per observation.
    pub fn memory_estimate(&self) -> Estimate {
        let rows = self
            .train_points
            .saturating_add(self.test_points)
            .saturating_add(self.analysis_points);
        let observations = self.steps / self.observe_every.max(1) + 2;
        let mut estimate = Estimate::new();
        estimate
            .network(&self.widths, &self.optimizer, 0, "--widths")
            .rows(
                &self.widths,
                rows,
                training_threads(),
                "--train-points, --test-points, --analysis-points and --widths",
            )
            .add(
                format!("the grids of {rows} points"),
                "--train-points, --test-points and --analysis-points",
                rows as f64 * 8.0 * memory::F32,
            )
            .add(
                format!("the records of {observations} observations"),
                "--steps and --observe-every",
                observations as f64 * OBSERVATION_BYTES,
            );
        estimate
    }
}

/// Bytes one observation takes: its record with Δ_F of up to [`MAX_PEAKS`] peaks, and its
/// row of `metrics.csv`, held as text until the file is written.
const OBSERVATION_BYTES: f64 = 600.0;

/// Checks network widths: at least two, none zero, the given input and output widths.
pub fn validate_widths(widths: &[usize], input: usize, output: usize) -> Result<(), FreqError> {
    let bad = |m: String| Err(FreqError::Setting(m));
    if widths.len() < 2 {
        return bad(format!(
            "--widths: need at least an input and an output width, got {widths:?}"
        ));
    }
    if widths.contains(&0) {
        return bad(format!(
            "--widths: every width must be at least 1, got {widths:?}"
        ));
    }
    if widths.iter().any(|&w| w > 1 << 16) {
        return bad(format!(
            "--widths: widths above 65536 are refused, got {widths:?}"
        ));
    }
    if widths.first() != Some(&input) || widths.last() != Some(&output) {
        return bad(format!(
            "--widths: this experiment needs input width {input} and output width {output}, got {widths:?}"
        ));
    }
    Ok(())
}

/// Checks an initialization scale: every σ finite and > 0, one per layer where listed.
pub fn validate_init(init: &InitScale, widths: &[usize]) -> Result<(), FreqError> {
    let check = |flag: &str, s: f32| {
        if s.is_finite() && s > 0.0 {
            Ok(())
        } else {
            Err(FreqError::Setting(format!(
                "{flag}: σ must be finite and > 0, got {s}"
            )))
        }
    };
    match init {
        InitScale::Normal(s) => check("--sigma", *s),
        InitScale::LeCunGain(g) => check("--gain", *g),
        InitScale::PerLayer(list) => {
            if list.len() + 1 != widths.len() {
                return Err(FreqError::Setting(format!(
                    "--sigma-per-layer: need one σ per layer ({}), got {}",
                    widths.len().saturating_sub(1),
                    list.len()
                )));
            }
            list.iter().try_for_each(|&s| check("--sigma-per-layer", s))
        }
    }
}

/// The learning rate of an optimizer setting.
pub fn learning_rate(optimizer: &OptimizerConfig) -> f32 {
    match *optimizer {
        OptimizerConfig::Adam { learning_rate } | OptimizerConfig::Sgd { learning_rate, .. } => {
            learning_rate
        }
    }
}

/// Checks an optimizer's learning rate and momentum.
pub fn validate_optimizer(optimizer: &OptimizerConfig) -> Result<(), FreqError> {
    let (lr, momentum) = match *optimizer {
        OptimizerConfig::Adam { learning_rate } => (learning_rate, 0.0),
        OptimizerConfig::Sgd {
            learning_rate,
            momentum,
        } => (learning_rate, momentum),
    };
    if !(lr.is_finite() && lr > 0.0 && lr < 100.0) {
        return Err(FreqError::Setting(format!(
            "--learning-rate: need a finite value in (0, 100), got {lr}"
        )));
    }
    if !(0.0..1.0).contains(&momentum) {
        return Err(FreqError::Setting(format!(
            "--momentum: need a value in [0, 1), got {momentum}"
        )));
    }
    Ok(())
}
