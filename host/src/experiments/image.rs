//! The downsampled natural image experiment: a tanh network learns a photograph as a function
//! (row, col) → intensity from part of its pixels, and we watch which spatial frequencies it
//! learns first and how the initialization scale changes what it does between the pixels it saw.
//!
//! # Setting
//!
//! The image is `S×S` grayscale in [0, 1] (S a power of two). Pixel (row, col) becomes the input
//! `(x(row), x(col))` with `x(i) = 2i/(S−1) − 1`, so both coordinates span [−1, 1] with the
//! border pixels on ±1. A [`Split`] chooses the training pixels (even columns by default, the
//! authors' choice); the network trains on all of them at every step (full batch) and is
//! evaluated on all `S²` pixels at every observation.
//!
//! # Measures
//!
//! - train and test MSE: the mean squared error over the training pixels and over the
//!   held-out ones;
//! - band errors: the 2-D DFT of the output over the whole `S×S` grid against the image's,
//!   as a relative error per radial frequency band (the core's
//!   [`BandTracker`](fprinciple_core::tracker::BandTracker)), and the step at which each band
//!   converged. The Frequency Principle predicts that low bands converge first.
//!
//! # Comparing initialization scales at matched training loss
//!
//! After a fixed number of steps a large σ may well have the *lower* training and test error:
//! it simply trains faster (a calibration run at 3,000 steps gave train/test MSE
//! 0.0035/0.0039 for σ = 0.1 and 0.0010/0.0020 for σ = 0.5). What the paper claims is about
//! generalization — how much worse the network is on the pixels it did not see, *given* how
//! well it fits the ones it saw. So each σ also records the first point at which its training
//! MSE reaches a common target ([`ImageConfig::match_loss`]): the test MSE there is the
//! comparison that matters ([`SigmaRun::matched`]). Both σ are also reported at the end of
//! training, for completeness.
//!
//! The module computes only: figures and run records are made from [`ImageResult`] by the
//! record and plot layers. A long run can be stopped between two steps and continued later to
//! the same numbers: [`run_controlled`] hands its [`ImageState`] to a checkpoint callback and
//! takes one back to resume.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use fprinciple_core::activation::Activation;
use fprinciple_core::fft::Complex32;
use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{band_energy, fft2, radial_band};
use fprinciple_core::tracker::{BandTracker, ConvergenceRule};
use fprinciple_core::train::Samples;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, Control, OptimizerState, RunDriver, RunEnd};
use crate::data::image::{embedded_camera_downsampled, load_downsampled, GrayImage};
use crate::data::DataError;
use crate::experiments::divergence;
use crate::experiments::memory::{self, Estimate};
use crate::network::{AnyOptimizer, InitScale, Network, OptimizerConfig};
use crate::parallel::ParallelTrainer;

/// Most radial bands a run may track (the core's band tracker has a fixed capacity; more bands
/// than `S/2` are refused too, so that no band is empty).
pub const MAX_BANDS: usize = 16;

/// Which pixels the network trains on; the others are the test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "fraction")]
pub enum Split {
    /// Even columns train, odd columns test (the authors' choice): the test pixels lie halfway
    /// between training pixels along each row.
    #[default]
    EvenColumns,
    /// Pixels with `row + col` even train: every test pixel has four training neighbours.
    Checkerboard,
    /// This fraction of the pixels, drawn at random with the run's seed, trains.
    RandomFraction(f32),
}

/// The command-line spelling (`even-columns`, `checkerboard`, `random:F`), for messages,
/// summaries and figure legends.
impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Split::EvenColumns => write!(f, "even-columns"),
            Split::Checkerboard => write!(f, "checkerboard"),
            Split::RandomFraction(fraction) => write!(f, "random:{fraction}"),
        }
    }
}

impl Split {
    /// The training mask of an `size×size` image, row-major (`true`: training pixel).
    ///
    /// Errors if the split leaves no training or no test pixel, or if the fraction is not in
    /// (0, 1). A random fraction is rounded to a whole number of pixels and drawn with `seed`.
    pub fn mask(&self, size: usize, seed: u64) -> Result<Vec<bool>, ImageExperimentError> {
        let cells = size * size;
        let mask: Vec<bool> = match *self {
            Split::EvenColumns => (0..cells).map(|i| (i % size).is_multiple_of(2)).collect(),
            Split::Checkerboard => (0..cells)
                .map(|i| (i / size + i % size).is_multiple_of(2))
                .collect(),
            Split::RandomFraction(f) => {
                if !(f > 0.0 && f < 1.0) {
                    return Err(invalid(format!(
                        "--split: the fraction of random:F must be in (0, 1), got {f}"
                    )));
                }
                let train = (f64::from(f) * cells as f64).round() as usize;
                let mut order: Vec<usize> = (0..cells).collect();
                Rng::new(seed).shuffle(&mut order);
                let mut mask = vec![false; cells];
                for &i in &order[..train.min(cells)] {
                    mask[i] = true;
                }
                mask
            }
        };
        let train = mask.iter().filter(|&&m| m).count();
        if train == 0 || train == cells {
            return Err(invalid(format!(
                "--split: {self} of a {size}×{size} image leaves {train} of {cells} pixels for \
                 training: both the training and the test set need at least one pixel"
            )));
        }
        Ok(mask)
    }
}

/// Every setting of the image experiment; [`Default`] is the paper's setting
/// (see also [`ImageConfig::quick`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    /// Side length S of the downsampled image (a power of two).
    pub size: usize,
    /// Hidden layer widths; the input width is 2 and the output width 1.
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers (tanh in the paper).
    pub activation: Activation,
    /// The optimizer (Adam, learning rate 1e-3).
    pub optimizer: OptimizerConfig,
    /// Initialization scales to compare: every weight and bias ~ N(0, σ²). Small first.
    pub sigmas: Vec<f32>,
    /// Which pixels train.
    pub split: Split,
    /// Number of radial frequency bands tracked (1 to `min(S/2, MAX_BANDS)`).
    pub bands: usize,
    /// When a band counts as converged (relative error below the threshold at that many
    /// consecutive observations).
    pub convergence: ConvergenceRule,
    /// Training steps (full batch) per σ: the step cap.
    pub steps: u32,
    /// Evaluate all pixels every this many steps (and at the last step).
    pub observe_every: u32,
    /// Steps at which the whole output image is kept, for the grid of snapshots.
    pub snapshot_steps: Vec<u32>,
    /// The common training MSE at which the σ are compared (see the module documentation).
    pub match_loss: f32,
    /// Seed of the initialization (the same draws for every σ, scaled) and of a random split.
    pub seed: u64,
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            size: 64,
            hidden: vec![200, 200, 100],
            activation: Activation::Tanh,
            optimizer: OptimizerConfig::Adam {
                learning_rate: 1e-3,
            },
            sigmas: vec![0.1, 0.5],
            split: Split::EvenColumns,
            bands: 6,
            convergence: ConvergenceRule::DEFAULT,
            steps: 5000,
            observe_every: 20,
            snapshot_steps: vec![0, 100, 300, 1000, 3000, 5000],
            match_loss: 4e-3,
            seed: 0,
        }
    }
}

impl ImageConfig {
    /// A small preset that shows both effects in well under a minute on a desktop: the paper's
    /// network on a 16×16 image, 4 bands, 1,000 steps.
    ///
    /// With half the pixels held out, each band's error on the full grid keeps what is aliased
    /// into it from frequencies the training columns cannot resolve, so beyond the lowest band
    /// the paper's threshold of 0.1 is out of reach at this size; here a band counts as learned
    /// once its relative error stays below 0.5.
    pub fn quick() -> Self {
        ImageConfig {
            size: 16,
            bands: 4,
            steps: 1000,
            observe_every: 10,
            snapshot_steps: vec![0, 30, 100, 300, 1000],
            convergence: ConvergenceRule {
                threshold: 0.5,
                consecutive: 10,
            },
            match_loss: 3e-3,
            ..ImageConfig::default()
        }
    }

    /// All layer widths: 2, the hidden widths, 1.
    pub fn widths(&self) -> Vec<usize> {
        let mut widths = Vec::with_capacity(self.hidden.len() + 2);
        widths.push(2);
        widths.extend_from_slice(&self.hidden);
        widths.push(1);
        widths
    }

    /// Checks every setting that does not depend on the image, with a message that names the
    /// flag and its valid range.
    pub fn validate(&self) -> Result<(), ImageExperimentError> {
        let bad = |m: String| Err(invalid(m));
        let max_size = fprinciple_core::fft::MAX_SIZE;
        if self.size < 4 || !self.size.is_power_of_two() || self.size > max_size {
            return bad(format!(
                "--size: need a power of two from 4 to {max_size}, got {}",
                self.size
            ));
        }
        if self.hidden.is_empty() || self.hidden.iter().any(|&w| w == 0 || w > MAX_WIDTH) {
            return bad(format!(
                "--hidden: need one or more widths from 1 to {MAX_WIDTH}, got {:?}",
                self.hidden
            ));
        }
        if self.sigmas.is_empty() || self.sigmas.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return bad(format!(
                "--sigmas: need one or more σ, each finite and > 0, got {:?}",
                self.sigmas
            ));
        }
        if let Err(why) = super::check_increasing("--sigmas", &self.sigmas) {
            return bad(why);
        }
        if let Split::RandomFraction(f) = self.split {
            if !(f > 0.0 && f < 1.0) {
                return bad(format!(
                    "--split: the fraction of random:F must be in (0, 1), got {f}"
                ));
            }
        }
        let max_bands = (self.size / 2).min(MAX_BANDS);
        if !(1..=max_bands).contains(&self.bands) {
            return bad(format!(
                "--bands: need 1 to {max_bands} for a {0}×{0} image, got {1}",
                self.size, self.bands
            ));
        }
        let threshold = self.convergence.threshold;
        if !(threshold.is_finite() && threshold > 0.0) {
            return bad(format!(
                "--threshold: need a finite value > 0, got {threshold}"
            ));
        }
        if self.convergence.consecutive == 0 {
            return bad("convergence.consecutive: need at least 1 observation, got 0".into());
        }
        crate::experiments::freq_order::validate_optimizer(&self.optimizer)
            .map_err(|e| invalid(e.to_string()))?;
        if self.steps == 0 {
            return bad("--steps: need at least 1, got 0".into());
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
        if !(self.match_loss.is_finite() && self.match_loss > 0.0) {
            return bad(format!(
                "--match-loss: need a finite value > 0, got {}",
                self.match_loss
            ));
        }
        Ok(())
    }
}

impl ImageConfig {
    /// The memory the run needs at its peak (see [`memory`]): the network with its
    /// checkpoint copies, every pixel evaluated at once, the image's grids and spectra, and
    /// what each σ records (every step's loss, every observation, the snapshots), which a
    /// checkpoint copies and encodes again.
    pub fn memory_estimate(&self) -> Estimate {
        let cells = (self.size as f64) * (self.size as f64);
        let sigmas = self.sigmas.len() as f64;
        let steps = f64::from(self.steps);
        let observations = steps / f64::from(self.observe_every.max(1)) + 2.0;
        let snapshots = self.snapshot_steps.len() as f64 + 1.0;
        let per_sigma = steps + observations * (3.0 + self.bands as f64) + snapshots * cells;
        let mut estimate = Estimate::new();
        estimate
            .network(&self.widths(), &self.optimizer, 2, "--hidden")
            .rows(
                &self.widths(),
                self.size.saturating_mul(self.size),
                crate::network::training_threads(),
                "--size and --hidden",
            )
            .add(
                "the pixels' inputs, targets, outputs and spectra",
                "--size",
                cells * 12.0 * memory::F32,
            )
            .add(
                "the records of every σ, with their checkpoint copies",
                "--steps, --observe-every, --size and --sigmas",
                3.0 * sigmas * per_sigma * memory::F32,
            );
        estimate
    }
}

/// Widest hidden layer accepted (as for the 1-D experiments' `--widths`).
pub const MAX_WIDTH: usize = 1 << 16;

/// Why the experiment could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImageExperimentError {
    /// The image could not be read or prepared.
    Data(DataError),
    /// A setting is unusable (the message says which and why).
    InvalidConfig(String),
    /// The core refused a shape or setting.
    Core(fprinciple_core::Error),
    /// Training diverged (the text says which run, when, and what to lower).
    Diverged(String),
    /// A checkpoint could not be written, or does not fit the run it should continue.
    Checkpoint(CheckpointError),
}

impl fmt::Display for ImageExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Data(e) => write!(f, "{e}"),
            Self::InvalidConfig(message) | Self::Diverged(message) => write!(f, "{message}"),
            Self::Core(e) => write!(f, "{e}"),
            Self::Checkpoint(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ImageExperimentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Data(e) => Some(e),
            Self::Core(e) => Some(e),
            Self::Checkpoint(e) => Some(e),
            Self::InvalidConfig(_) | Self::Diverged(_) => None,
        }
    }
}

impl From<DataError> for ImageExperimentError {
    fn from(e: DataError) -> Self {
        Self::Data(e)
    }
}

impl From<CheckpointError> for ImageExperimentError {
    fn from(e: CheckpointError) -> Self {
        Self::Checkpoint(e)
    }
}

impl From<fprinciple_core::Error> for ImageExperimentError {
    fn from(e: fprinciple_core::Error) -> Self {
        Self::Core(e)
    }
}

fn invalid(message: String) -> ImageExperimentError {
    ImageExperimentError::InvalidConfig(message)
}

/// The experiment's input image: the file at `path` (PNG or JPEG) or, with `None`, the embedded
/// photograph, downsampled to `size`×`size`. Bad files and sizes are errors that name the file.
pub fn load(path: Option<&Path>, size: usize) -> Result<GrayImage, ImageExperimentError> {
    Ok(match path {
        Some(path) => load_downsampled(path, size)?,
        None => embedded_camera_downsampled(size)?,
    })
}

/// The coordinate of pixel index `i` on an axis of `size` pixels: `2i/(size−1) − 1`, so the
/// first pixel is at −1 and the last at +1 (0 for a single pixel).
pub fn coordinate(i: usize, size: usize) -> f32 {
    if size < 2 {
        return 0.0;
    }
    (2.0 * i as f64 / (size - 1) as f64 - 1.0) as f32
}

/// The inputs of every pixel of a `size×size` image, row-major: `[x(row), x(col)]` pairs.
pub fn pixel_inputs(size: usize) -> Vec<f32> {
    (0..size * size)
        .flat_map(|i| [coordinate(i / size, size), coordinate(i % size, size)])
        .collect()
}

/// Something the CLI can show while the experiment runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// Training for one σ begins.
    RunStarted {
        /// Index of the σ in [`ImageConfig::sigmas`].
        run: usize,
        /// Number of σ.
        runs: usize,
        /// The σ.
        sigma: f32,
        /// Steps this run will take.
        steps: u32,
    },
    /// The network was evaluated on every pixel.
    Observed {
        /// Index of the σ.
        run: usize,
        /// Steps taken so far.
        step: u32,
        /// MSE over the training pixels.
        train_mse: f32,
        /// MSE over the test pixels.
        test_mse: f32,
        /// Relative error per radial band, low to high.
        band_errors: &'a [f32],
    },
    /// The training MSE first reached [`ImageConfig::match_loss`].
    Matched {
        /// Index of the σ.
        run: usize,
        /// The point reached.
        point: MatchedPoint,
    },
    /// Training for one σ is over.
    RunFinished {
        /// Index of the σ.
        run: usize,
        /// Its wall time in seconds.
        wall_seconds: f64,
    },
}

/// The network's output on every pixel at one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Steps taken.
    pub step: u32,
    /// `S×S` outputs, row-major (not clamped: a figure should clamp to [0, 1]).
    pub pixels: Vec<f32>,
}

/// Where a run first reached the common training loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatchedPoint {
    /// Steps taken: the first evaluation after a step whose training loss was at most
    /// [`ImageConfig::match_loss`].
    pub step: u32,
    /// MSE over the training pixels there (at or just below the target).
    pub train_mse: f32,
    /// MSE over the test pixels there: the generalization comparison.
    pub test_mse: f32,
}

/// Wall time and throughput of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds of training and evaluation (spectra and tracking included).
    pub wall_seconds: f64,
    /// Training steps per second (evaluations included in the time).
    pub steps_per_second: f64,
    /// Floating-point work in GFLOP: `6·P·n_train` per step (forward and backward) plus
    /// `2·P·S²` per full-image evaluation, P the parameter count.
    pub gflop: f64,
    /// `gflop / wall_seconds`.
    pub gflop_per_second: f64,
}

/// Everything measured for one σ.
///
/// Also saved in checkpoints, whose format has no field names: its serde form must write every
/// field, always (see [`crate::checkpoint`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmaRun {
    /// The initialization scale of every weight and bias.
    pub sigma: f32,
    /// Steps taken ([`ImageConfig::steps`] unless the run was interrupted).
    pub steps: u32,
    /// Training MSE at every step, before that step's update (the loss the optimizer saw).
    pub step_loss: Vec<f32>,
    /// Steps of the observations (0, K, 2K, …, and the last step).
    pub observed_steps: Vec<u32>,
    /// Training MSE at each observation.
    pub train_mse: Vec<f32>,
    /// Test MSE at each observation.
    pub test_mse: Vec<f32>,
    /// `band_errors[b][o]`: relative error of radial band `b` (low to high) at observation `o`.
    pub band_errors: Vec<Vec<f32>>,
    /// Step at which each band converged, `None` if it did not.
    pub convergence_steps: Vec<Option<u32>>,
    /// Converged bands in the order they converged (ties: lower band first).
    pub convergence_order: Vec<usize>,
    /// Every band converged, low to high (ties count as in order).
    pub low_to_high: bool,
    /// The bands that converged did so low to high, counting unconverged bands as last.
    pub low_to_high_so_far: bool,
    /// Output images at [`ImageConfig::snapshot_steps`] (those within the run), then at the
    /// end (not for an interrupted run).
    pub snapshots: Vec<Snapshot>,
    /// Where the training MSE first reached [`ImageConfig::match_loss`], if it did.
    pub matched: Option<MatchedPoint>,
    /// Training MSE at the end (for an interrupted run: at its last observation).
    pub final_train_mse: f32,
    /// Test MSE at the end (for an interrupted run: at its last observation).
    pub final_test_mse: f32,
    /// Wall time and throughput.
    pub timing: Timing,
}

/// The outcome of the image experiment: the settings, the data, and one [`SigmaRun`] per σ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    /// The settings used.
    pub config: ImageConfig,
    /// Side length S.
    pub size: usize,
    /// The target image, `S×S` row-major in [0, 1].
    pub image: Vec<f32>,
    /// The training mask, `S×S` row-major (`true`: training pixel), to mark the original.
    pub train_mask: Vec<bool>,
    /// Number of training pixels.
    pub train_pixels: usize,
    /// Number of test pixels.
    pub test_pixels: usize,
    /// Number of network parameters.
    pub parameter_count: usize,
    /// The image's spectral energy per radial band, low to high (sums to its mean square).
    pub target_band_energy: Vec<f32>,
    /// One run per σ, in the order of [`ImageConfig::sigmas`]; fewer when interrupted, the
    /// last of them then partial.
    pub runs: Vec<SigmaRun>,
    /// The run was stopped before its end; a checkpoint can continue it.
    #[serde(default)]
    pub interrupted: bool,
}

impl ImageResult {
    /// The run with the smallest σ and the one with the largest (two different σ), when both
    /// reached the matched loss: their test MSEs there, `(small, large)`.
    pub fn matched_test_mse(&self) -> Option<(f32, f32)> {
        let by_sigma = |pick: fn(f32, f32) -> bool| {
            self.runs
                .iter()
                .reduce(|a, b| if pick(b.sigma, a.sigma) { b } else { a })
        };
        let (small, large) = (by_sigma(|b, a| b < a)?, by_sigma(|b, a| b > a)?);
        if small.sigma == large.sigma {
            return None;
        }
        Some((small.matched?.test_mse, large.matched?.test_mse))
    }
}

/// Runs the experiment on `image` (already `S×S`, S = [`ImageConfig::size`]): one training run
/// per σ, reporting progress through `progress`.
pub fn run(
    config: &ImageConfig,
    image: &GrayImage,
    progress: &mut dyn FnMut(ProgressEvent<'_>),
) -> Result<ImageResult, ImageExperimentError> {
    run_controlled(
        config,
        image,
        progress,
        Control {
            stop: &|| false,
            every: 0,
            checkpoint: &mut |_| Ok(()),
            resume: None,
        },
    )
}

/// [`run`], driven from outside: `control.stop` is polled after every step, and stops the run
/// there with its results so far ([`ImageResult::interrupted`]); `control.checkpoint` receives
/// the state every `control.every` steps (0: never), when the run stops, after each σ and at
/// the end; and a run given `control.resume` continues that state to the same numbers as a
/// run that never stopped. A state saved with other settings or another image is refused.
pub fn run_controlled(
    config: &ImageConfig,
    image: &GrayImage,
    progress: &mut dyn FnMut(ProgressEvent<'_>),
    control: Control<'_, ImageState>,
) -> Result<ImageResult, ImageExperimentError> {
    config.validate()?;
    let size = config.size;
    if image.width() != size || image.height() != size {
        return Err(invalid(format!(
            "the image is {}×{}, the configuration expects {size}×{size}",
            image.width(),
            image.height()
        )));
    }
    let settings = settings_key(config)?;
    let Control {
        stop,
        every,
        checkpoint,
        resume,
    } = control;
    let (mut runs, mut current) = match resume {
        Some(state) => {
            state.check_parts(config, &settings, image)?;
            (state.finished, state.current)
        }
        None => (Vec::new(), None),
    };
    let data = Dataset::new(config, image)?;
    let mut target_spectrum = vec![Complex32::new(0.0, 0.0); size * size];
    let mut column = vec![Complex32::new(0.0, 0.0); size];
    fft2(image.pixels(), size, &mut target_spectrum, &mut column)?;
    let mut target_band_energy = vec![0.0; config.bands];
    band_energy(&target_spectrum, size, &mut target_band_energy)?;

    let widths = config.widths();
    let state_with = |finished: &[SigmaRun], current: Option<SigmaState>| ImageState {
        settings: settings.clone(),
        image: image.pixels().to_vec(),
        finished: finished.to_vec(),
        current,
    };
    let mut interrupted = false;
    for (index, &sigma) in config.sigmas.iter().enumerate().skip(runs.len()) {
        let resume_run = current.take();
        if resume_run.is_none() && index > 0 && stop() {
            checkpoint(&state_with(&runs, None))?;
            interrupted = true;
            break;
        }
        let job = SigmaJob {
            config,
            widths: &widths,
            data: &data,
            target: &target_spectrum,
            run: index,
            sigma,
        };
        let mut save = |state: SigmaState| checkpoint(&state_with(&runs, Some(state)));
        let mut driver = Driver {
            stop,
            every,
            save: &mut save,
        };
        let trained = train_one(&job, resume_run, &mut driver, progress)?;
        match trained {
            Trained::Finished(record) => runs.push(record),
            Trained::Stopped(record) => {
                runs.push(record);
                interrupted = true;
                break;
            }
        }
    }
    if !interrupted {
        checkpoint(&state_with(&runs, None))?;
    }
    let parameter_count = fprinciple_core::mlp::parameter_count(&widths);
    Ok(ImageResult {
        config: config.clone(),
        size,
        image: image.pixels().to_vec(),
        train_pixels: data.train_targets.len(),
        test_pixels: data.test_index.len(),
        train_mask: data.mask,
        parameter_count,
        target_band_energy,
        runs,
        interrupted,
    })
}

/// The settings as the key a checkpoint must match: JSON writes every `f32` in its shortest
/// exact form, so equal keys mean bit-identical settings.
fn settings_key(config: &ImageConfig) -> Result<String, ImageExperimentError> {
    serde_json::to_string(config).map_err(|e| invalid(format!("settings as JSON: {e}")))
}

/// Inputs and targets of the whole image and of the training pixels.
struct Dataset {
    mask: Vec<bool>,
    all_inputs: Vec<f32>,
    image: Vec<f32>,
    train_inputs: Vec<f32>,
    train_targets: Vec<f32>,
    train_index: Vec<usize>,
    test_index: Vec<usize>,
}

impl Dataset {
    fn new(config: &ImageConfig, image: &GrayImage) -> Result<Self, ImageExperimentError> {
        let mask = config.split.mask(config.size, config.seed)?;
        let all_inputs = pixel_inputs(config.size);
        let (train_index, test_index): (Vec<usize>, Vec<usize>) =
            (0..mask.len()).partition(|&i| mask[i]);
        let train_inputs = train_index
            .iter()
            .flat_map(|&i| [all_inputs[2 * i], all_inputs[2 * i + 1]])
            .collect();
        let train_targets = train_index.iter().map(|&i| image.pixels()[i]).collect();
        Ok(Dataset {
            mask,
            all_inputs,
            image: image.pixels().to_vec(),
            train_inputs,
            train_targets,
            train_index,
            test_index,
        })
    }

    /// Mean squared error of `outputs` (all pixels) over the pixels in `index`.
    fn mse(&self, outputs: &[f32], index: &[usize]) -> f32 {
        let sum: f64 = index
            .iter()
            .map(|&i| f64::from(outputs[i] - self.image[i]).powi(2))
            .sum();
        (sum / index.len().max(1) as f64) as f32
    }
}

/// The one place a trainer is built (full batches of thousands of pixels are split across
/// every core).
fn build_trainer(
    network: &Network,
    optimizer: &OptimizerConfig,
) -> Result<ParallelTrainer<AnyOptimizer>, ImageExperimentError> {
    Ok(crate::network::trainer(
        network,
        Loss::MeanSquaredError,
        optimizer,
    )?)
}

/// What one σ run trains on and against.
struct SigmaJob<'a> {
    config: &'a ImageConfig,
    widths: &'a [usize],
    data: &'a Dataset,
    /// The image's 2-D spectrum.
    target: &'a [Complex32],
    /// Index of the σ.
    run: usize,
    sigma: f32,
}

/// When a σ run stops and where its checkpoints go.
type Driver<'a> = RunDriver<'a, SigmaState>;

/// How a σ run ended.
type Trained = RunEnd<SigmaRun>;

/// Trains one σ from the seed's draws (or from a saved state) and records everything.
fn train_one(
    job: &SigmaJob<'_>,
    resume: Option<SigmaState>,
    driver: &mut Driver<'_>,
    progress: &mut dyn FnMut(ProgressEvent<'_>),
) -> Result<Trained, ImageExperimentError> {
    let (config, data, run, sigma) = (job.config, job.data, job.run, job.sigma);
    let size = config.size;
    let cells = size * size;
    let layers = InitScale::Normal(sigma).layers(job.widths);
    let mut rng = Rng::new(config.seed);
    let mut network = Network::new(
        job.widths,
        config.activation,
        Activation::Identity,
        Init::PerLayer(&layers),
        &mut rng,
    )?;
    let mut trainer = build_trainer(&network, &config.optimizer)?;
    let mut tracker = band_tracker(job.target, size, config.bands, config.convergence)?;
    let (mut step, mut record, mut just_matched, mut evaluations, earlier_seconds) = match resume {
        Some(saved) => {
            if saved.parameters.len() != network.parameters.len() {
                return Err(CheckpointError::Mismatch(format!(
                    "{} saved parameters for a network of {}",
                    saved.parameters.len(),
                    network.parameters.len()
                ))
                .into());
            }
            network.parameters.copy_from_slice(&saved.parameters);
            saved.optimizer.restore(trainer.optimizer_mut())?;
            replay(
                tracker.as_mut(),
                job.target,
                size,
                config.convergence.threshold,
                &saved.record,
            )?;
            (
                saved.step,
                saved.record,
                saved.just_matched,
                saved.evaluations,
                saved.wall_seconds,
            )
        }
        None => (0, SigmaRun::empty(sigma, config), false, 0, 0.0),
    };
    let samples = Samples {
        inputs: &data.train_inputs,
        targets: &data.train_targets,
    };

    let mut outputs = vec![0.0f32; cells];
    let mut spectrum = vec![Complex32::new(0.0, 0.0); cells];
    let mut column = vec![Complex32::new(0.0, 0.0); size];
    progress(ProgressEvent::RunStarted {
        run,
        runs: config.sigmas.len(),
        sigma,
        steps: config.steps,
    });

    let started = Instant::now();
    let seconds = || earlier_seconds + started.elapsed().as_secs_f64();
    let finished = loop {
        let observe = step % config.observe_every == 0 || step == config.steps;
        let snapshot = config.snapshot_steps.contains(&step) || step == config.steps;
        if observe || snapshot || just_matched {
            let (arch, parameters) = network.split_mut();
            trainer.predict(&arch, parameters, &data.all_inputs, &mut outputs)?;
            evaluations += 1;
            let train_mse = data.mse(&outputs, &data.train_index);
            let test_mse = data.mse(&outputs, &data.test_index);
            if just_matched {
                let point = MatchedPoint {
                    step,
                    train_mse,
                    test_mse,
                };
                record.matched = Some(point);
                progress(ProgressEvent::Matched { run, point });
                just_matched = false;
            }
            if snapshot {
                record.snapshots.push(Snapshot {
                    step,
                    pixels: outputs.clone(),
                });
            }
            if observe {
                tracker.observe(step, &outputs, &mut spectrum, &mut column)?;
                record.observed_steps.push(step);
                record.train_mse.push(train_mse);
                record.test_mse.push(test_mse);
                for (row, &e) in record.band_errors.iter_mut().zip(tracker.errors()) {
                    row.push(e);
                }
                progress(ProgressEvent::Observed {
                    run,
                    step,
                    train_mse,
                    test_mse,
                    band_errors: tracker.errors(),
                });
            }
            if step == config.steps {
                record.final_train_mse = train_mse;
                record.final_test_mse = test_mse;
            }
        }
        if step == config.steps {
            break true;
        }
        let (arch, parameters) = network.split_mut();
        let loss = trainer
            .step(&arch, parameters, samples)
            .map_err(|e| match e {
                fprinciple_core::Error::NonFiniteLoss => ImageExperimentError::Diverged(format!(
                    "σ = {sigma}: {}",
                    divergence(
                        &format!("at step {step}"),
                        &config.optimizer,
                        "σ (--sigmas)"
                    )
                )),
                e => ImageExperimentError::Core(e),
            })?;
        record.step_loss.push(loss);
        if record.matched.is_none() && loss <= config.match_loss {
            just_matched = true;
        }
        step += 1;
        if step < config.steps {
            let stopping = (driver.stop)();
            if stopping || (driver.every > 0 && step % driver.every == 0) {
                (driver.save)(SigmaState {
                    step,
                    parameters: network.parameters.clone(),
                    optimizer: OptimizerState::capture(trainer.optimizer()),
                    record: record.clone(),
                    just_matched,
                    evaluations,
                    wall_seconds: seconds(),
                })?;
            }
            if stopping {
                break false;
            }
        }
    };
    let wall_seconds = seconds();
    let counts = (data.train_targets.len(), cells, network.parameters.len());
    record.finish(tracker.as_ref(), step, evaluations, wall_seconds, counts);
    if !finished {
        return Ok(Trained::Stopped(record));
    }
    progress(ProgressEvent::RunFinished { run, wall_seconds });
    Ok(Trained::Finished(record))
}

impl SigmaRun {
    /// A run of `sigma` with nothing measured yet.
    fn empty(sigma: f32, config: &ImageConfig) -> Self {
        SigmaRun {
            sigma,
            steps: 0,
            step_loss: Vec::with_capacity(config.steps as usize),
            observed_steps: Vec::new(),
            train_mse: Vec::new(),
            test_mse: Vec::new(),
            band_errors: vec![Vec::new(); config.bands],
            convergence_steps: Vec::new(),
            convergence_order: Vec::new(),
            low_to_high: false,
            low_to_high_so_far: false,
            snapshots: Vec::new(),
            matched: None,
            final_train_mse: f32::NAN,
            final_test_mse: f32::NAN,
            timing: Timing {
                wall_seconds: 0.0,
                steps_per_second: 0.0,
                gflop: 0.0,
                gflop_per_second: 0.0,
            },
        }
    }

    /// Fills in what follows from the measurements after `steps` steps: convergence, the
    /// final errors (those of the last observation when the run stopped early) and the
    /// throughput. `counts` are the training pixels, all pixels and the parameters.
    fn finish(
        &mut self,
        tracker: &dyn BandObserver,
        steps: u32,
        evaluations: u64,
        wall_seconds: f64,
        (train_pixels, cells, parameters): (usize, usize, usize),
    ) {
        self.steps = steps;
        self.convergence_steps = tracker.convergence_steps().to_vec();
        self.convergence_order = tracker.convergence_order();
        self.low_to_high = tracker.is_low_to_high();
        self.low_to_high_so_far = tracker.is_low_to_high_so_far();
        if self.final_train_mse.is_nan() {
            self.final_train_mse = self.train_mse.last().copied().unwrap_or(f32::NAN);
            self.final_test_mse = self.test_mse.last().copied().unwrap_or(f32::NAN);
        }
        let p = parameters as f64;
        let gflop = (6.0 * p * train_pixels as f64 * f64::from(steps)
            + 2.0 * p * cells as f64 * evaluations as f64)
            / 1e9;
        self.timing = Timing {
            wall_seconds,
            steps_per_second: f64::from(steps) / wall_seconds.max(1e-9),
            gflop,
            gflop_per_second: gflop / wall_seconds.max(1e-9),
        };
    }
}

/// Rebuilds a fresh tracker's convergence bookkeeping from the band errors `record` holds.
///
/// The core keeps that bookkeeping private, and it depends only on whether each recorded
/// error was below the threshold. Observing, at each recorded step, a spectrum equal to the
/// image's in the bands that were below (error 0) and infinite in the others (error ∞) replays
/// the same decisions through the core's own code.
fn replay(
    tracker: &mut dyn BandObserver,
    target: &[Complex32],
    size: usize,
    threshold: f32,
    record: &SigmaRun,
) -> Result<(), ImageExperimentError> {
    let bands = record.band_errors.len();
    let mut spectrum = vec![Complex32::new(0.0, 0.0); target.len()];
    for (o, &step) in record.observed_steps.iter().enumerate() {
        for (i, (cell, &y)) in spectrum.iter_mut().zip(target).enumerate() {
            let band = radial_band(i % size, i / size, size, bands);
            let error = record.band_errors.get(band).and_then(|row| row.get(o));
            *cell = if error.is_some_and(|&e| e < threshold) {
                y
            } else {
                Complex32::new(f32::INFINITY, 0.0)
            };
        }
        tracker.observe_spectrum(step, &spectrum)?;
    }
    Ok(())
}

/// The core's [`BandTracker`] with its band count chosen at run time.
trait BandObserver {
    fn observe(
        &mut self,
        step: u32,
        output: &[f32],
        spectrum: &mut [Complex32],
        column: &mut [Complex32],
    ) -> fprinciple_core::Result<()>;
    fn observe_spectrum(
        &mut self,
        step: u32,
        spectrum: &[Complex32],
    ) -> fprinciple_core::Result<()>;
    fn errors(&self) -> &[f32];
    fn convergence_steps(&self) -> &[Option<u32>];
    fn convergence_order(&self) -> Vec<usize>;
    fn is_low_to_high(&self) -> bool;
    fn is_low_to_high_so_far(&self) -> bool;
}

impl<const B: usize> BandObserver for BandTracker<'_, B> {
    fn observe(
        &mut self,
        step: u32,
        output: &[f32],
        spectrum: &mut [Complex32],
        column: &mut [Complex32],
    ) -> fprinciple_core::Result<()> {
        BandTracker::observe(self, step, output, spectrum, column)
    }
    fn observe_spectrum(
        &mut self,
        step: u32,
        spectrum: &[Complex32],
    ) -> fprinciple_core::Result<()> {
        BandTracker::observe_spectrum(self, step, spectrum)
    }
    fn errors(&self) -> &[f32] {
        BandTracker::errors(self)
    }
    fn convergence_steps(&self) -> &[Option<u32>] {
        BandTracker::convergence_steps(self)
    }
    fn convergence_order(&self) -> Vec<usize> {
        BandTracker::convergence_order(self).to_vec()
    }
    fn is_low_to_high(&self) -> bool {
        BandTracker::is_low_to_high(self)
    }
    fn is_low_to_high_so_far(&self) -> bool {
        BandTracker::is_low_to_high_so_far(self)
    }
}

/// A band tracker of `bands` bands (1 to [`MAX_BANDS`]) over `target`.
fn band_tracker(
    target: &[Complex32],
    size: usize,
    bands: usize,
    rule: ConvergenceRule,
) -> Result<Box<dyn BandObserver + '_>, ImageExperimentError> {
    macro_rules! dispatch {
        ($($n:literal)*) => {
            match bands {
                $($n => Box::new(BandTracker::<$n>::new(target, size, rule)?),)*
                _ => return Err(invalid(format!("bands must be from 1 to {MAX_BANDS}, got {bands}"))),
            }
        };
    }
    Ok(dispatch!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16))
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/// Everything that decides the rest of an image run, as [`run_controlled`] hands it to its
/// checkpoints and takes it back to resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageState {
    /// The settings as JSON: a resumed run must have exactly these.
    pub settings: String,
    /// The target image, `S×S` row-major: a run resumes on these very pixels.
    pub image: Vec<f32>,
    /// The σ runs finished so far, in order.
    pub finished: Vec<SigmaRun>,
    /// The σ run in progress (the next in order), if it has begun.
    pub current: Option<SigmaState>,
}

/// A σ run stopped between two steps. (Its network starts from the seed's draws, and full
/// batches draw nothing at random, so no generator state is needed.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmaState {
    /// Steps taken: the next step's evaluation and update come next.
    pub step: u32,
    /// The network's parameters.
    pub parameters: Vec<f32>,
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The measurements so far; the band tracker is rebuilt from them.
    pub record: SigmaRun,
    /// The last step's loss reached [`ImageConfig::match_loss`]: the next evaluation is the
    /// matched point.
    pub just_matched: bool,
    /// Full-image evaluations so far (for the throughput).
    pub evaluations: u64,
    /// Seconds of training so far.
    pub wall_seconds: f64,
}

impl ImageState {
    /// Whether every σ has been trained.
    pub fn is_complete(&self, config: &ImageConfig) -> bool {
        self.current.is_none() && self.finished.len() >= config.sigmas.len()
    }

    /// Refuses a state that does not belong to a run of `config` on `image`, or whose parts do
    /// not fit each other (which would make the records unusable).
    pub fn check(
        &self,
        config: &ImageConfig,
        image: &GrayImage,
    ) -> Result<(), ImageExperimentError> {
        let settings = settings_key(config)?;
        self.check_parts(config, &settings, image)?;
        Ok(())
    }

    fn check_parts(
        &self,
        config: &ImageConfig,
        settings: &str,
        image: &GrayImage,
    ) -> Result<(), CheckpointError> {
        let mismatch = |why: String| Err(CheckpointError::Mismatch(why));
        if self.settings != settings {
            return mismatch(crate::checkpoint::settings_differ(&self.settings, settings));
        }
        let same_image = self.image.len() == image.pixels().len()
            && self
                .image
                .iter()
                .zip(image.pixels())
                .all(|(a, b)| a.to_bits() == b.to_bits());
        if !same_image {
            return mismatch("it was saved for another image".into());
        }
        let started = self.finished.len() + usize::from(self.current.is_some());
        if started > config.sigmas.len() {
            return mismatch(format!(
                "{started} σ runs for {} σ values",
                config.sigmas.len()
            ));
        }
        let expected_steps = self.finished.iter().map(|_| config.steps);
        for ((run, sigma), steps) in self.finished.iter().zip(&config.sigmas).zip(expected_steps) {
            run.check(config, *sigma, steps)?;
        }
        if let Some(current) = &self.current {
            let sigma = config.sigmas[self.finished.len()];
            if !(1..config.steps).contains(&current.step) {
                return mismatch(format!(
                    "stopped at step {} of a run of {} steps",
                    current.step, config.steps
                ));
            }
            current.record.check(config, sigma, current.step)?;
        }
        Ok(())
    }
}

impl SigmaRun {
    /// Refuses records whose lengths do not fit `steps` steps of `sigma` under `config`.
    fn check(&self, config: &ImageConfig, sigma: f32, steps: u32) -> Result<(), CheckpointError> {
        let observations = self.observed_steps.len();
        let fits = self.sigma.to_bits() == sigma.to_bits()
            && self.step_loss.len() == steps as usize
            && self.train_mse.len() == observations
            && self.test_mse.len() == observations
            && self.band_errors.len() == config.bands
            && self.band_errors.iter().all(|b| b.len() == observations)
            && self.observed_steps.iter().all(|&s| s <= steps)
            && self
                .snapshots
                .iter()
                .all(|s| s.pixels.len() == config.size * config.size);
        if fits {
            Ok(())
        } else {
            Err(CheckpointError::Mismatch(format!(
                "the saved records of σ = {} do not fit {steps} steps of σ = {sigma} with {} bands \
                 on a {}×{} image",
                self.sigma, config.bands, config.size, config.size
            )))
        }
    }
}

/// Writes `metrics.csv` (one row per σ and observation) and the figures into `dir`.
pub fn save(
    result: &ImageResult,
    dir: &crate::record::RunDir,
) -> Result<crate::report::Outcome, crate::report::BoxError> {
    use crate::plot;
    use crate::record::{FigureRef, RunStatus};
    use crate::report::{short, widen, Outcome};

    let bands = result.target_band_energy.len();
    let mut header: Vec<String> = vec![
        "sigma".into(),
        "step".into(),
        "train_mse".into(),
        "test_mse".into(),
    ];
    header.extend((0..bands).map(|b| format!("band_{b}")));
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut csv = dir.csv("metrics.csv", &header_refs)?;
    for run in &result.runs {
        for (i, &step) in run.observed_steps.iter().enumerate() {
            let mut row = vec![
                f64::from(run.sigma),
                f64::from(step),
                f64::from(run.train_mse[i]),
                f64::from(run.test_mse[i]),
            ];
            row.extend(
                run.band_errors
                    .iter()
                    .map(|b| f64::from(b.get(i).copied().unwrap_or(f32::NAN))),
            );
            csv.push_numbers(&row)?;
        }
    }
    csv.finish()?;

    let size = result.size;
    let mut figures = Vec::new();
    let split_name = result.config.split.to_string();
    plot::image_with_mask(
        &dir.file("image_and_split"),
        &plot::MaskedImage {
            title: "The image and its training pixels",
            image: plot::GrayImage::square(size, &result.image, "original"),
            mask: &result.train_mask,
            mask_label: &format!("training pixels ({split_name})"),
        },
    )?;
    figures.push(FigureRef::new(
        dir.file("image_and_split.png"),
        format!(
            "The {size}×{size} image and, tinted, the {} training pixels; the other {} are the test set.",
            result.train_pixels, result.test_pixels
        ),
    ));

    let labels: Vec<String> = result
        .runs
        .iter()
        .map(|r| format!("σ = {}", r.sigma))
        .collect();
    let captions: Vec<Vec<String>> = result
        .runs
        .iter()
        .map(|r| {
            r.snapshots
                .iter()
                .map(|s| format!("step {}", s.step))
                .collect()
        })
        .collect();
    let images: Vec<Vec<plot::GrayImage<'_>>> = result
        .runs
        .iter()
        .zip(&captions)
        .map(|(r, caps)| {
            r.snapshots
                .iter()
                .zip(caps)
                .map(|(s, c)| plot::GrayImage::square(size, &s.pixels, c))
                .collect()
        })
        .collect();
    let rows: Vec<plot::ImageRow<'_>> = labels
        .iter()
        .zip(&images)
        .map(|(l, imgs)| plot::ImageRow {
            label: l,
            images: imgs,
        })
        .collect();
    if rows.iter().any(|r| !r.images.is_empty()) {
        plot::image_grid(
            &dir.file("snapshots"),
            "The network's image during training",
            &rows,
        )?;
        figures.push(FigureRef::new(
            dir.file("snapshots.png"),
            "The network's output on every pixel at several steps, one row per σ: the small \
             initialization draws the coarse outline first; the large one fills the unseen \
             columns with noise.",
        ));
    }

    let band_labels: Vec<String> = (0..bands).map(|b| format!("band {b}")).collect();
    for run in &result.runs {
        let stem = format!("band_heatmap_sigma_{}", run.sigma).replace('.', "_");
        let steps: Vec<f64> = run.observed_steps.iter().map(|&s| f64::from(s)).collect();
        let values: Vec<Vec<f64>> = run.band_errors.iter().map(|b| widen(b)).collect();
        let title = format!("Relative error per radial band, σ = {}", run.sigma);
        let mut map = plot::HeatMap::new(&title, &band_labels, &steps, &values);
        map.y_label = "radial band";
        map.colour_label = "relative error (red: small)";
        plot::heat_map(&dir.file(&stem), &map)?;
        figures.push(FigureRef::new(
            dir.file(format!("{stem}.png")),
            format!(
                "Relative error of the output's 2-D spectrum per radial frequency band (low at the \
                 bottom) over training, σ = {}: red is close to the image's spectrum.",
                run.sigma
            ),
        ));
    }

    let curves: Vec<(String, Vec<f64>, Vec<f64>)> = result
        .runs
        .iter()
        .flat_map(|r| {
            let steps: Vec<f64> = r.observed_steps.iter().map(|&s| f64::from(s)).collect();
            [
                (
                    format!("train, σ = {}", r.sigma),
                    steps.clone(),
                    widen(&r.train_mse),
                ),
                (format!("test, σ = {}", r.sigma), steps, widen(&r.test_mse)),
            ]
        })
        .collect();
    let series: Vec<plot::Series<'_>> = curves
        .iter()
        .map(|(n, x, y)| plot::Series::new(n, x, y))
        .collect();
    plot::line_chart(
        &dir.file("errors"),
        &plot::LineChart::new("Training and test MSE", "step", "MSE", &series).log_y(true),
    )?;
    figures.push(FigureRef::new(
        dir.file("errors.png"),
        "MSE on the training pixels and on the held-out pixels, per σ.",
    ));

    let mut lines = vec![
        (
            "image".to_string(),
            format!("{size}×{size}, split {split_name}"),
        ),
        (
            "network".into(),
            format!(
                "{:?}, {} parameters",
                result.config.widths(),
                result.parameter_count
            ),
        ),
    ];
    if result.interrupted {
        let steps = result.config.steps;
        let finished = result.runs.iter().filter(|r| r.steps == steps).count();
        let mut text = format!(
            "{finished} of {} σ runs finished",
            result.config.sigmas.len()
        );
        if let Some(r) = result.runs.iter().find(|r| r.steps < steps) {
            text.push_str(&format!(
                "; σ = {} stopped after {} of {steps} steps",
                r.sigma, r.steps
            ));
        }
        lines.push(("interrupted".into(), text));
    }
    for r in &result.runs {
        lines.push((
            format!("σ = {}", r.sigma),
            format!(
                "bands converged at {:?} (order {:?}, low to high so far: {}); matched loss {}; \
                 end train/test MSE {} / {}; {:.1} steps/s, {:.1} GFLOP/s",
                r.convergence_steps,
                r.convergence_order,
                r.low_to_high_so_far,
                r.matched.map_or("not reached".into(), |m| format!(
                    "at step {}: train {} / test {}",
                    m.step,
                    short(f64::from(m.train_mse)),
                    short(f64::from(m.test_mse))
                )),
                short(f64::from(r.final_train_mse)),
                short(f64::from(r.final_test_mse)),
                r.timing.steps_per_second,
                r.timing.gflop_per_second
            ),
        ));
    }
    let matched = result.matched_test_mse();
    if let Some((small, large)) = matched {
        lines.push((
            "test MSE at matched training loss".into(),
            format!(
                "small σ {} vs large σ {}",
                short(f64::from(small)),
                short(f64::from(large))
            ),
        ));
    }
    let results = serde_json::json!({
        "size": size,
        "steps_run": result.runs.iter().map(|r| r.steps).collect::<Vec<_>>(),
        "matched_test_mse_small_sigma": matched.map(|m| m.0),
        "matched_test_mse_large_sigma": matched.map(|m| m.1),
        "runs": result.runs.iter().map(|r| serde_json::json!({
            "sigma": r.sigma,
            "convergence_steps": r.convergence_steps,
            "low_to_high_so_far": r.low_to_high_so_far,
            "final_train_mse": r.final_train_mse,
            "final_test_mse": r.final_test_mse,
            "matched": r.matched,
            "steps_per_second": r.timing.steps_per_second,
            "gflop_per_second": r.timing.gflop_per_second,
        })).collect::<Vec<_>>(),
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
    fn coordinates_span_minus_one_to_one() {
        assert_eq!(coordinate(0, 64), -1.0);
        assert_eq!(coordinate(63, 64), 1.0);
        assert!((coordinate(1, 3)).abs() < 1e-7);
        assert_eq!(coordinate(0, 1), 0.0);
        let inputs = pixel_inputs(4);
        assert_eq!(inputs.len(), 32);
        // Pixel (row 1, col 3) is the 7th: (x(1), x(3)) = (−1/3, 1).
        assert!((inputs[14] + 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(inputs[15], 1.0);
        assert!(inputs.iter().all(|v| (-1.0..=1.0).contains(v)));
    }

    #[test]
    fn split_masks() {
        // Summaries and legends spell a split as the command line does.
        assert_eq!(Split::EvenColumns.to_string(), "even-columns");
        assert_eq!(Split::RandomFraction(0.25).to_string(), "random:0.25");
        let even = Split::EvenColumns.mask(4, 0).unwrap();
        let expected: Vec<bool> = (0..16).map(|i| i % 2 == 0).collect();
        assert_eq!(even, expected);

        let checker = Split::Checkerboard.mask(4, 0).unwrap();
        assert_eq!(
            &checker[..8],
            &[true, false, true, false, false, true, false, true]
        );
        assert_eq!(checker.iter().filter(|&&m| m).count(), 8);

        let random = Split::RandomFraction(0.25).mask(8, 3).unwrap();
        assert_eq!(random.iter().filter(|&&m| m).count(), 16);
        assert_eq!(random, Split::RandomFraction(0.25).mask(8, 3).unwrap());
        assert_ne!(random, Split::RandomFraction(0.25).mask(8, 4).unwrap());

        for f in [0.0, 1.0, -0.5, f32::NAN, 0.001] {
            assert!(
                matches!(
                    Split::RandomFraction(f).mask(4, 0),
                    Err(ImageExperimentError::InvalidConfig(_))
                ),
                "{f}"
            );
        }
    }

    #[test]
    fn config_validation() {
        assert!(ImageConfig::default().validate().is_ok());
        assert!(ImageConfig::quick().validate().is_ok());
        let bad = [
            ImageConfig {
                size: 48,
                ..ImageConfig::quick()
            },
            ImageConfig {
                bands: 17,
                ..ImageConfig::quick()
            },
            ImageConfig {
                size: 8,
                bands: 5,
                ..ImageConfig::quick()
            },
            ImageConfig {
                sigmas: vec![],
                ..ImageConfig::quick()
            },
            ImageConfig {
                sigmas: vec![0.1, f32::NAN],
                ..ImageConfig::quick()
            },
            ImageConfig {
                observe_every: 0,
                ..ImageConfig::quick()
            },
            ImageConfig {
                hidden: vec![10, 0],
                ..ImageConfig::quick()
            },
            ImageConfig {
                match_loss: 0.0,
                ..ImageConfig::quick()
            },
            ImageConfig {
                sigmas: vec![0.5, 0.1],
                ..ImageConfig::quick()
            },
            ImageConfig {
                observe_every: 1001,
                ..ImageConfig::quick()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = ImageConfig {
            split: Split::RandomFraction(0.3),
            ..ImageConfig::quick()
        };
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<ImageConfig>(&json).unwrap(), config);
        // Missing fields take their defaults.
        let partial: ImageConfig = serde_json::from_str(r#"{"size": 16}"#).unwrap();
        assert_eq!(partial.size, 16);
        assert_eq!(partial.bands, ImageConfig::default().bands);
    }

    #[test]
    fn tiny_run_records_everything() {
        let size = 8;
        let pixels = (0..size * size)
            .map(|i| ((i % size) as f32 / 7.0 + (i / size) as f32 / 7.0) / 2.0)
            .collect();
        let image = GrayImage::new(size, size, pixels).unwrap();
        let config = ImageConfig {
            size,
            hidden: vec![16],
            sigmas: vec![0.1, 0.5],
            bands: 2,
            steps: 25,
            observe_every: 10,
            snapshot_steps: vec![0, 5, 100],
            match_loss: 10.0,
            ..ImageConfig::default()
        };
        let mut events = 0;
        let result = run(&config, &image, &mut |_| events += 1).unwrap();
        assert_eq!(result.runs.len(), 2);
        assert_eq!(result.train_pixels + result.test_pixels, 64);
        assert_eq!(result.train_mask.len(), 64);
        for r in &result.runs {
            assert_eq!(r.step_loss.len(), 25);
            assert_eq!(r.observed_steps, [0, 10, 20, 25]);
            assert_eq!(r.band_errors.len(), 2);
            assert!(r.band_errors.iter().all(|row| row.len() == 4));
            let steps: Vec<u32> = r.snapshots.iter().map(|s| s.step).collect();
            assert_eq!(steps, [0, 5, 25]);
            assert!(r.snapshots.iter().all(|s| s.pixels.len() == 64));
            // A loss target of 10 is met at the first step: matched after it.
            assert_eq!(r.matched.map(|m| m.step), Some(1));
            assert!(r.timing.gflop > 0.0);
            assert_eq!(r.final_test_mse, *r.test_mse.last().unwrap());
        }
        assert!(result.matched_test_mse().is_some());
        assert!(events >= 2 * (2 + 4));
        let json = serde_json::to_string(&result).unwrap();
        assert!(json.contains("band_errors"));

        let wrong = GrayImage::new(4, 4, vec![0.5; 16]).unwrap();
        assert!(matches!(
            run(&config, &wrong, &mut |_| {}),
            Err(ImageExperimentError::InvalidConfig(_))
        ));
    }
}
