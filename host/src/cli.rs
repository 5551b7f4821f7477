//! The `fprinciple` command line: one subcommand per experiment, every setting a flag with the
//! documented default, a progress bar, a run directory per run and a one-screen summary.

use crate::checkpoint::{self, Control, CHECKPOINT_FILE};
use crate::data::target::Endpoints;
use crate::experiments::freq_order::{self, FreqConfig};
use crate::experiments::image::{ImageConfig, ImageState};
use crate::experiments::init_scale::{self, InitConfig};
use crate::experiments::mnist::{MnistConfig, MnistState};
use crate::network::{InitScale, OptimizerConfig};
use crate::record::{
    read_summary, write_report_html, ConfigRecord, RecordError, RunDir, RunLink, RunStatus,
    CONFIG_FILE,
};
use crate::report::{BoxError, Outcome};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fprinciple_core::activation::Activation;
use fprinciple_core::tracker::ErrorMeasure;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Reproduce the Frequency Principle of deep learning (Xu 2018, arXiv 1808.04295): networks
/// fit the low frequencies of a target first, and a small initialization keeps the learned
/// function low-frequency.
#[derive(Debug, Parser)]
#[command(name = "fprinciple", version, about, long_about = None)]
pub struct Cli {
    /// Folder that receives one new run directory per run (never overwritten).
    #[arg(long, global = true, default_value = "runs")]
    pub out: PathBuf,
    /// The experiment to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The experiments.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// 1-D frequency order: which peaks of the target converge first.
    Freq(FreqArgs),
    /// 1-D initialization scale: test error against σ.
    Init(InitArgs),
    /// A downsampled photograph: radial frequency bands converge low to high; small against
    /// large initialization at matched training loss.
    Image(ImageArgs),
    /// MNIST: accuracy against the initialization gain, and the frequency principle in 784
    /// dimensions (projection and Gaussian filtering).
    Mnist(MnistArgs),
    /// Every experiment with its defaults, and one report page linking them.
    All(AllArgs),
}

/// Presets of the `freq` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FreqPreset {
    /// sin x + sin 3x + sin 5x on [−π, π), 1-200-200-200-100-1, Adam 2e-4, 2,000 steps.
    Classic,
    /// The authors' TF1 script: sin x + sin 4x on [−10, 10], Adam 2e-5, stop at MSE < 3e-3.
    Official,
    /// One hidden layer of 200, gradient descent, σ = 1 against σ = 3.
    Theory,
}

/// Activations selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// tanh (the paper's).
    Tanh,
    /// ReLU.
    Relu,
}

/// Optimizers selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Adam.
    Adam,
    /// SGD with momentum (momentum 0: gradient descent).
    Sgd,
}

/// How Δ_F is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MeasureArg {
    /// |ĥ_k − ŷ_k| / |ŷ_k| (the paper's definition).
    Complex,
    /// ||ĥ_k| − |ŷ_k|| / |ŷ_k| (the authors' code).
    Magnitude,
}

/// Settings shared by the 1-D commands; every flag overrides the preset's value.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// The target: a sum of terms like `sin(x)+0.5*cos(4x)`, or a preset name (classic, official).
    #[arg(long)]
    pub target: Option<String>,
    /// The interval of the inputs, `a,b` (`pi` allowed: `-pi,pi`).
    #[arg(long, value_parser = parse_interval, allow_hyphen_values = true)]
    pub interval: Option<[f64; 2]>,
    /// Network widths, input first: `1,200,200,200,100,1`.
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,
    /// Hidden activation.
    #[arg(long, value_enum)]
    pub activation: Option<ActivationArg>,
    /// Optimizer.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate.
    #[arg(long, value_parser = parse_f32)]
    pub learning_rate: Option<f32>,
    /// Momentum of SGD (`--optimizer sgd`), in [0, 1).
    #[arg(long, value_parser = parse_f32)]
    pub momentum: Option<f32>,
    /// Training steps.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Seed of the initialization (same seed, same numbers).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A shorter run that still shows the effect.
    #[arg(long)]
    pub quick: bool,
}

/// Flags of `fprinciple freq`.
#[derive(Debug, Clone, Args)]
#[command(allow_negative_numbers = true)]
pub struct FreqArgs {
    /// Which setting to start from.
    #[arg(long, value_enum, default_value = "classic")]
    pub preset: FreqPreset,
    /// Shared network and training flags.
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Number of training points.
    #[arg(long)]
    pub train_points: Option<usize>,
    /// Whether the training grid includes the right end of the interval.
    #[arg(long, value_enum)]
    pub endpoints: Option<EndpointsArg>,
    /// Number of test points (both ends included); 0 for none.
    #[arg(long)]
    pub test_points: Option<usize>,
    /// Points of the analysis grid on [a, b) where the spectrum is taken (a power of two).
    #[arg(long)]
    pub analysis_points: Option<usize>,
    /// σ of every weight and bias.
    #[arg(long, value_parser = parse_f32, conflicts_with = "sigma_per_layer")]
    pub sigma: Option<f32>,
    /// σ per layer (weights and biases), input side first: `0.1,0.1,0.05`.
    #[arg(long, value_delimiter = ',', value_parser = parse_f32)]
    pub sigma_per_layer: Option<Vec<f32>>,
    /// For `--preset theory` only: the σ values compared [default: 1,3].
    #[arg(long, value_delimiter = ',', value_parser = parse_f32)]
    pub theory_sigmas: Option<Vec<f32>>,
    /// Stop once the training MSE falls below this.
    #[arg(long, value_parser = parse_f32)]
    pub stop_loss: Option<f32>,
    /// Observe the spectrum every this many steps.
    #[arg(long)]
    pub observe_every: Option<usize>,
    /// Take the test loss at every this many observations (and at the last) [default: 10].
    #[arg(long)]
    pub test_every: Option<usize>,
    /// Peaks are searched among the first this many DFT bins.
    #[arg(long)]
    pub peak_bins: Option<usize>,
    /// A peak must exceed this fraction of the largest magnitude.
    #[arg(long, value_parser = parse_f32)]
    pub peak_floor: Option<f32>,
    /// How Δ_F is measured.
    #[arg(long, value_enum)]
    pub measure: Option<MeasureArg>,
    /// A peak has converged when Δ_F stays below this ...
    #[arg(long, value_parser = parse_f32)]
    pub threshold: Option<f32>,
    /// ... for this many consecutive observations.
    #[arg(long)]
    pub consecutive: Option<u32>,
}

/// Endpoint handling of a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndpointsArg {
    /// [a, b): the periodic grid the DFT assumes.
    Exclude,
    /// [a, b]: both ends (the authors' scripts).
    Include,
}

/// Presets of the `init` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitPreset {
    /// One hidden layer of 500, σ ∈ {1, 3, 10, 30}.
    Shallow,
    /// 1-200-200-200-100-1, σ ∈ {0.05, 0.1, 0.2, 0.4}.
    Deep,
}

/// Flags of `fprinciple init`.
#[derive(Debug, Clone, Args)]
#[command(allow_negative_numbers = true)]
pub struct InitArgs {
    /// Which setting to start from.
    #[arg(long, value_enum, default_value = "shallow")]
    pub preset: InitPreset,
    /// Shared network and training flags.
    #[command(flatten)]
    pub net: NetworkArgs,
    /// The σ values swept (hidden weights and biases), in increasing order.
    #[arg(long, value_delimiter = ',', value_parser = parse_f32)]
    pub sigmas: Option<Vec<f32>>,
    /// Seeds; every σ is trained once per seed.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Number of training points on [a, b].
    #[arg(long)]
    pub train_points: Option<usize>,
    /// Number of test points on [a, b].
    #[arg(long)]
    pub test_points: Option<usize>,
}

/// Flags of `fprinciple image`.
#[derive(Debug, Clone, Args)]
#[command(allow_negative_numbers = true)]
pub struct ImageArgs {
    /// A PNG or JPEG (colour is reduced to luminance); default: the embedded CC0 photograph.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Side S of the downsampled image: a power of two from 4 to 4096 (64 by default, 16
    /// with --quick; large sizes need much memory, checked before the run starts).
    #[arg(long)]
    pub size: Option<usize>,
    /// Hidden widths: `200,200,100` (input 2 and output 1 are added).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// The σ values compared, small first (every weight and bias ~ N(0, σ²)).
    #[arg(long, value_delimiter = ',', value_parser = parse_f32)]
    pub sigmas: Option<Vec<f32>>,
    /// Which pixels train: `even-columns`, `checkerboard`, or `random:F` (a fraction F).
    #[arg(long, value_parser = parse_split)]
    pub split: Option<crate::experiments::image::Split>,
    /// Number of radial frequency bands.
    #[arg(long)]
    pub bands: Option<usize>,
    /// A band has converged when its relative error stays below this.
    #[arg(long, value_parser = parse_f32)]
    pub threshold: Option<f32>,
    /// Adam's learning rate.
    #[arg(long, value_parser = parse_f32)]
    pub learning_rate: Option<f32>,
    /// Training steps per σ.
    #[arg(long)]
    pub steps: Option<u32>,
    /// Evaluate every pixel every this many steps.
    #[arg(long)]
    pub observe_every: Option<u32>,
    /// The training loss at which the σ values are compared.
    #[arg(long, value_parser = parse_f32)]
    pub match_loss: Option<f32>,
    /// Seed of the initialization.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The small preset: 16×16, 1,000 steps, band threshold 0.5.
    #[arg(long)]
    pub quick: bool,
    /// Continue the stopped image run in this run directory from its last checkpoint, to the
    /// same numbers as a run that never stopped; its config.json gives every setting.
    #[arg(long, value_name = "DIR", conflicts_with_all = [
        "image", "size", "hidden", "sigmas", "split", "bands", "threshold", "learning_rate",
        "steps", "observe_every", "match_loss", "seed", "quick",
    ])]
    pub resume: Option<PathBuf>,
    /// Save a checkpoint every this many steps (and whenever the run stops).
    #[arg(long, value_name = "STEPS", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub checkpoint_every: u32,
}

fn parse_split(text: &str) -> Result<crate::experiments::image::Split, String> {
    use crate::experiments::image::Split;
    match text {
        "even-columns" => Ok(Split::EvenColumns),
        "checkerboard" => Ok(Split::Checkerboard),
        _ => match text.strip_prefix("random:") {
            Some(f) => parse_f32(f).map(Split::RandomFraction),
            None => Err(format!(
                "expected even-columns, checkerboard or random:F, got `{text}`"
            )),
        },
    }
}

impl ImageArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> crate::experiments::image::ImageConfig {
        use crate::experiments::image::ImageConfig;
        let mut c = if self.quick {
            ImageConfig::quick()
        } else {
            ImageConfig::default()
        };
        if let Some(v) = self.size {
            c.size = v;
            c.snapshot_steps.retain(|&s| s <= c.steps);
        }
        if let Some(v) = &self.hidden {
            c.hidden.clone_from(v);
        }
        if let Some(v) = &self.sigmas {
            c.sigmas.clone_from(v);
        }
        if let Some(v) = self.split {
            c.split = v;
        }
        if let Some(v) = self.bands {
            c.bands = v;
        }
        if let Some(v) = self.threshold {
            c.convergence.threshold = v;
        }
        if let Some(v) = self.learning_rate {
            c.optimizer = OptimizerConfig::Adam { learning_rate: v };
        }
        if let Some(v) = self.steps {
            c.steps = v;
            c.snapshot_steps.retain(|&s| s <= v);
            if !c.snapshot_steps.contains(&v) {
                c.snapshot_steps.push(v);
            }
        }
        match self.observe_every {
            Some(v) => c.observe_every = v,
            // A preset's interval shrinks with a shorter --steps, so that steps are observed.
            None => c.observe_every = c.observe_every.min(c.steps.max(1)),
        }
        if let Some(v) = self.match_loss {
            c.match_loss = v;
        }
        if let Some(v) = self.seed {
            c.seed = v;
        }
        c
    }
}

/// What an image run records as its settings in `config.json`: the experiment's settings and
/// the image file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageRunSettings {
    #[serde(flatten)]
    config: ImageConfig,
    /// The image file; `None`: the embedded photograph.
    #[serde(default)]
    image: Option<PathBuf>,
}

/// Runs the image experiment described by `args` under `base` (or continues the run that
/// `--resume` names).
pub fn run_image(base: &Path, args: &ImageArgs) -> Result<Vec<PathBuf>, BoxError> {
    use crate::experiments::image;
    if let Some(dir) = &args.resume {
        return resume_image(dir, args.checkpoint_every).map(|d| vec![d]);
    }
    let config = args.config();
    config.validate()?;
    config.memory_estimate().check()?;
    let picture = image::load(args.image.as_deref(), config.size)?;
    let settings = ImageRunSettings {
        config: config.clone(),
        image: args.image.as_deref().map(absolute),
    };
    let title = format!("Downsampled image, {0}×{0}", config.size);
    let (dir, _) = execute(base, "image", config.seed, &settings, &title, |dir| {
        train_image(dir, &config, &picture, args.checkpoint_every, None)
    })?;
    Ok(vec![dir])
}

/// Continues the image run in `dir` from its checkpoint.
fn resume_image(dir: &Path, every: u32) -> Result<PathBuf, BoxError> {
    use crate::data::image::GrayImage;
    let (run_dir, record) = open_resumable(dir, "image")?;
    let settings: ImageRunSettings = settings_of(dir, record)?;
    let config = settings.config;
    config.validate().map_err(|e| config_error(dir, e))?;
    config
        .memory_estimate()
        .check()
        .map_err(|e| resume_error(dir, e))?;
    let state: ImageState = read_checkpoint(dir, "image")?;
    let picture = GrayImage::new(config.size, config.size, state.image.clone())
        .map_err(|e| resume_error(dir, format!("the checkpoint's image: {e}")))?;
    state
        .check(&config, &picture)
        .map_err(|e| resume_error(dir, e.to_string()))?;
    let title = format!("Downsampled image, {0}×{0}", config.size);
    let (path, _) = execute_in(run_dir, &title, |d| {
        train_image(d, &config, &picture, every, Some(state))
    })?;
    Ok(path)
}

/// Trains the image experiment in `dir` with a progress bar, Ctrl-C and checkpoints, and
/// writes its results.
fn train_image(
    dir: &RunDir,
    config: &ImageConfig,
    picture: &crate::data::image::GrayImage,
    every: u32,
    resume: Option<ImageState>,
) -> Result<Outcome, BoxError> {
    use crate::experiments::image;
    let total = u64::from(config.steps) * config.sigmas.len() as u64;
    let pb = bar(total, "image");
    let steps = u64::from(config.steps);
    let path = dir.file(CHECKPOINT_FILE);
    let result = image::run_controlled(
        config,
        picture,
        &mut |event| {
            if let image::ProgressEvent::Observed {
                run,
                step,
                train_mse,
                test_mse,
                ..
            } = event
            {
                pb.set_position(run as u64 * steps + u64::from(step));
                pb.set_message(format!(
                    "σ #{} train {train_mse:.2e} test {test_mse:.2e}",
                    run + 1
                ));
            }
        },
        Control {
            stop: &interrupted,
            every,
            checkpoint: &mut |state| checkpoint::write(&path, "image", state),
            resume,
        },
    );
    pb.finish_and_clear();
    let mut outcome = image::save(&result?, dir)?;
    add_resume_hint(&mut outcome, "image", dir);
    Ok(outcome)
}

/// Flags of `fprinciple mnist`.
#[derive(Debug, Clone, Args)]
#[command(allow_negative_numbers = true)]
pub struct MnistArgs {
    /// A folder with the four standard IDX files (train-/t10k-, raw or .gz) of MNIST or
    /// Fashion-MNIST; default: the embedded 10,000 real MNIST digits (8,000 train, 2,000 test).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Hidden-layer gains g (std g/√fan_in), in increasing order.
    #[arg(long, value_delimiter = ',', value_parser = parse_f32)]
    pub gains: Option<Vec<f32>>,
    /// Epochs per gain.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Adam's learning rate.
    #[arg(long, value_parser = parse_f32)]
    pub learning_rate: Option<f32>,
    /// Loss on one-hot targets.
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Use only the first this many training samples.
    #[arg(long)]
    pub train_samples: Option<usize>,
    /// Use only the first this many test samples.
    #[arg(long)]
    pub test_samples: Option<usize>,
    /// Network widths, input first: `784,400,200,10`.
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,
    /// Seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// A short run (1,000 samples, 6 epochs) that still shows the effect.
    #[arg(long)]
    pub quick: bool,
    /// Continue the stopped MNIST run in this run directory from its last checkpoint (saved
    /// after every epoch), to the same numbers as a run that never stopped; its config.json
    /// gives every setting and the data folder.
    #[arg(long, value_name = "DIR", conflicts_with_all = [
        "data", "gains", "epochs", "batch_size", "learning_rate", "loss", "train_samples",
        "test_samples", "widths", "seed", "quick",
    ])]
    pub resume: Option<PathBuf>,
}

/// Losses selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Mean squared error on one-hot targets (the paper's).
    Mse,
    /// Softmax cross-entropy.
    CrossEntropy,
}

impl MnistArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> crate::experiments::mnist::MnistConfig {
        use crate::experiments::mnist::MnistConfig;
        let mut c = if self.quick {
            MnistConfig::quick()
        } else {
            MnistConfig::paper()
        };
        if let Some(v) = &self.gains {
            c.gains.clone_from(v);
        }
        if let Some(v) = self.epochs {
            c.epochs = v;
        }
        if let Some(v) = self.batch_size {
            c.batch_size = v;
        }
        if let Some(v) = self.learning_rate {
            c.optimizer = OptimizerConfig::Adam { learning_rate: v };
        }
        if let Some(l) = self.loss {
            c.loss = match l {
                LossArg::Mse => fprinciple_core::loss::Loss::MeanSquaredError,
                LossArg::CrossEntropy => fprinciple_core::loss::Loss::SoftmaxCrossEntropy,
            };
        }
        if self.train_samples.is_some() {
            c.train_samples = self.train_samples;
        }
        if self.test_samples.is_some() {
            c.test_samples = self.test_samples;
        }
        if let Some(v) = &self.widths {
            c.widths.clone_from(v);
        }
        if let Some(v) = self.seed {
            c.seed = v;
        }
        c
    }
}

/// What an MNIST run records as its settings in `config.json`: the experiment's settings and
/// the data folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MnistRunSettings {
    #[serde(flatten)]
    config: MnistConfig,
    /// The folder of IDX files; `None`: the embedded digits.
    #[serde(default)]
    data: Option<PathBuf>,
}

/// Runs the MNIST experiment described by `args` under `base` (or continues the run that
/// `--resume` names).
pub fn run_mnist(base: &Path, args: &MnistArgs) -> Result<Vec<PathBuf>, BoxError> {
    use crate::experiments::mnist;
    if let Some(dir) = &args.resume {
        return resume_mnist(dir).map(|d| vec![d]);
    }
    let mut config = args.config();
    config.validate()?;
    let (train, test) = load_mnist(args.data.as_deref())?;
    // A preset's sample counts (--quick's 1,000) are at most: the run records what it uses.
    // Counts the user gave are checked against the data instead.
    if args.train_samples.is_none() {
        config.train_samples = config.train_samples.map(|n| n.min(train.len()));
    }
    if args.test_samples.is_none() {
        config.test_samples = config.test_samples.map(|n| n.min(test.len()));
    }
    let about_data = |e: mnist::MnistError| naming_data(args.data.as_deref(), e);
    mnist::check_data(&config, &train, &test).map_err(about_data)?;
    config.memory_estimate(train.len(), test.len()).check()?;
    let prepared = mnist::prepare(&config, &train, &test).map_err(about_data)?;
    let settings = MnistRunSettings {
        config: config.clone(),
        data: args.data.as_deref().map(absolute),
    };
    let title = mnist_title(args.data.as_deref());
    let (dir, _) = execute(base, "mnist", config.seed, &settings, &title, |dir| {
        train_mnist(dir, &config, (&train, &test), prepared, None)
    })?;
    Ok(vec![dir])
}

/// Continues the MNIST run in `dir` from its checkpoint, on the data its config.json names.
fn resume_mnist(dir: &Path) -> Result<PathBuf, BoxError> {
    use crate::experiments::mnist;
    let (run_dir, record) = open_resumable(dir, "mnist")?;
    let settings: MnistRunSettings = settings_of(dir, record)?;
    let config = settings.config;
    config.validate().map_err(|e| config_error(dir, e))?;
    let (train, test) = load_mnist(settings.data.as_deref())
        .map_err(|e| resume_error(dir, format!("the run's data: {e}")))?;
    mnist::check_data(&config, &train, &test).map_err(|e| config_error(dir, e))?;
    let state: MnistState = read_checkpoint(dir, "mnist")?;
    state
        .check(&config, &train, &test)
        .map_err(|e| resume_error(dir, e.to_string()))?;
    config
        .memory_estimate(train.len(), test.len())
        .check()
        .map_err(|e| resume_error(dir, e))?;
    let prepared = mnist::prepare(&config, &train, &test).map_err(|e| resume_error(dir, e))?;
    let title = mnist_title(settings.data.as_deref());
    let (path, _) = execute_in(run_dir, &title, |d| {
        train_mnist(d, &config, (&train, &test), prepared, Some(state))
    })?;
    Ok(path)
}

/// The training and test sets in the folder `data`, or the embedded digits.
fn load_mnist(
    data: Option<&Path>,
) -> Result<(crate::data::idx::Dataset, crate::data::idx::Dataset), BoxError> {
    Ok(match data {
        Some(dir) => crate::data::idx::load_mnist_dir(dir)?,
        None => crate::data::idx::embedded_mnist()?,
    })
}

/// An MNIST error about the data, prefixed with the `--data` folder it came from.
fn naming_data(data: Option<&Path>, e: crate::experiments::mnist::MnistError) -> BoxError {
    use crate::experiments::mnist::MnistError;
    match (data, &e) {
        (Some(dir), MnistError::InvalidData(_)) => format!("--data {}: {e}", dir.display()).into(),
        _ => e.into(),
    }
}

fn mnist_title(data: Option<&Path>) -> String {
    let source = data.map_or("embedded MNIST".to_string(), |d| d.display().to_string());
    format!("MNIST: initialization gain and frequency ({source})")
}

/// Trains the MNIST experiment in `dir` with a progress bar, Ctrl-C and a checkpoint after
/// every epoch, and writes its results.
fn train_mnist(
    dir: &RunDir,
    config: &MnistConfig,
    (train, test): (&crate::data::idx::Dataset, &crate::data::idx::Dataset),
    prepared: crate::experiments::mnist::Prepared,
    resume: Option<MnistState>,
) -> Result<Outcome, BoxError> {
    use crate::experiments::mnist;
    let total = (config.epochs * config.gains.len()) as u64;
    let pb = bar(total, "mnist");
    let epochs = config.epochs as u64;
    let path = dir.file(CHECKPOINT_FILE);
    let result = mnist::run_prepared(
        config,
        train,
        test,
        prepared,
        &mut |event| {
            if let mnist::ProgressEvent::Epoch {
                gain,
                run,
                record,
                samples_per_second,
                ..
            } = event
            {
                pb.set_position(run as u64 * epochs + u64::from(record.epoch));
                pb.set_message(format!(
                    "g {gain}: test accuracy {:.3}, {samples_per_second:.0} samples/s",
                    record.test_accuracy
                ));
            }
        },
        Control {
            stop: &interrupted,
            every: 1,
            checkpoint: &mut |state| checkpoint::write(&path, "mnist", state),
            resume,
        },
    );
    pb.finish_and_clear();
    let mut outcome = mnist::save(&result?, dir)?;
    add_resume_hint(&mut outcome, "mnist", dir);
    Ok(outcome)
}

/// `path` made absolute (as far as the file system allows), so a recorded data path still
/// works when the run is resumed from another folder.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// An error about the `--resume` directory `dir`.
fn resume_error(dir: &Path, why: impl fmt::Display) -> BoxError {
    format!("--resume {}: {why}", dir.display()).into()
}

/// An invalid setting read back from the `config.json` of the run `dir` for `--resume`: the
/// message names the file and the key (and the flag that sets it in a new run), since the user
/// gave no flag. Messages that name no flag are passed on as they are.
fn config_error(dir: &Path, e: impl fmt::Display) -> BoxError {
    let text = e.to_string();
    match text.split_once(": ") {
        Some((flag, why)) if flag.starts_with("--") && !flag.contains(' ') => resume_error(
            dir,
            format!(
                "{CONFIG_FILE} holds an invalid `{}` (the setting of {flag}): {why}",
                config_key(flag)
            ),
        ),
        _ => resume_error(dir, text),
    }
}

/// The key of `config.json` that a flag sets.
fn config_key(flag: &str) -> String {
    match flag {
        "--learning-rate" => "optimizer.learning_rate".into(),
        "--momentum" => "optimizer.momentum".into(),
        "--threshold" => "convergence.threshold".into(),
        _ => flag.trim_start_matches("--").replace('-', "_"),
    }
}

/// Opens `dir` for `--resume`: it must be a run directory of `experiment` that stopped before
/// its end (status interrupted, or running if the process was killed) and has a checkpoint.
fn open_resumable(
    dir: &Path,
    experiment: &str,
) -> Result<(RunDir, ConfigRecord<serde_json::Value>), BoxError> {
    let (run_dir, record) = RunDir::reopen(dir).map_err(|e| match e {
        // Already "DIR: why".
        RecordError::Invalid(why) => format!("--resume {why}").into(),
        e => resume_error(dir, e),
    })?;
    if record.experiment != experiment {
        return Err(resume_error(
            dir,
            format!(
                "a run of the {} experiment, not of {experiment}",
                record.experiment
            ),
        ));
    }
    let summary = read_summary(dir).map_err(|e| resume_error(dir, e))?;
    match summary.status {
        RunStatus::Completed => {
            return Err(resume_error(
                dir,
                "the run is already complete: there is nothing to resume",
            ))
        }
        RunStatus::Diverged => {
            return Err(resume_error(
                dir,
                "the run diverged (or failed): resuming it would do so again; start a new run",
            ))
        }
        RunStatus::Interrupted | RunStatus::Running => {}
    }
    if !dir.join(CHECKPOINT_FILE).is_file() {
        return Err(resume_error(
            dir,
            format!(
                "no {CHECKPOINT_FILE} to continue from (the run stopped before its first \
                 checkpoint)"
            ),
        ));
    }
    Ok((run_dir, record))
}

/// The settings recorded in a run's `config.json`.
fn settings_of<T: serde::de::DeserializeOwned>(
    dir: &Path,
    record: ConfigRecord<serde_json::Value>,
) -> Result<T, BoxError> {
    serde_json::from_value(record.settings)
        .map_err(|e| resume_error(dir, format!("the settings in {CONFIG_FILE}: {e}")))
}

/// The checkpoint of `experiment` in `dir`.
fn read_checkpoint<S: serde::de::DeserializeOwned>(
    dir: &Path,
    experiment: &str,
) -> Result<S, BoxError> {
    let path = dir.join(CHECKPOINT_FILE);
    checkpoint::read(&path, experiment).map_err(|e| match e {
        checkpoint::CheckpointError::Io { .. } => format!("--resume: {e}").into(),
        _ => resume_error(dir, format!("{CHECKPOINT_FILE}: {e}")),
    })
}

/// Tells, on the run page and the terminal, how to continue a stopped run.
fn add_resume_hint(outcome: &mut Outcome, command: &str, dir: &RunDir) {
    if outcome.status == RunStatus::Interrupted && dir.file(CHECKPOINT_FILE).is_file() {
        outcome.lines.push((
            "resume with".into(),
            format!("fprinciple {command} --resume {}", dir.path().display()),
        ));
    }
}

/// Flags of `fprinciple all`.
#[derive(Debug, Clone, Args)]
pub struct AllArgs {
    /// Shorter runs that still show every effect.
    #[arg(long)]
    pub quick: bool,
}

/// Parses a number for a single-precision setting and refuses, echoing the text as given, a
/// value that `f32` cannot hold: one that would become infinite, or zero (or lose its
/// precision below the smallest normal value). NaN and infinities pass to the setting's own
/// check, which names its valid range.
fn parse_f32(text: &str) -> Result<f32, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() && value.abs() > f64::from(f32::MAX) {
        return Err(format!(
            "{text} is too large: this setting is single precision, at most about 3.4e38 in size"
        ));
    }
    if value != 0.0 && value.abs() < f64::from(f32::MIN_POSITIVE) {
        return Err(format!(
            "{text} is too small: this setting is single precision, and nonzero values start \
             at about 1.2e-38"
        ));
    }
    Ok(value as f32)
}

/// Parses `a,b` with `pi` allowed as a factor: `-pi,pi`, `-2pi,2pi`, `-10,10`.
fn parse_interval(text: &str) -> Result<[f64; 2], String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        return Err(format!("expected `a,b`, got `{text}`"));
    };
    let number = |s: &str| -> Result<f64, String> {
        let (sign, body) = match s.strip_prefix('-') {
            Some(rest) => (-1.0, rest),
            None => (1.0, s),
        };
        let value = if let Some(factor) = body.strip_suffix("pi") {
            let factor = factor.trim_end_matches('*');
            let f = if factor.is_empty() {
                1.0
            } else {
                factor
                    .parse::<f64>()
                    .map_err(|_| format!("`{s}` is not a number"))?
            };
            f * std::f64::consts::PI
        } else {
            body.parse::<f64>()
                .map_err(|_| format!("`{s}` is not a number"))?
        };
        Ok(sign * value)
    };
    Ok([number(a)?, number(b)?])
}

/// Set by Ctrl-C: running experiments stop at the next step (the image) or epoch (MNIST) and
/// save what they have.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Installs the handler of Ctrl-C, SIGTERM and SIGHUP (once): the first stops the run at its
/// next step or epoch, which saves its results and is marked interrupted; a second quits at
/// once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // A second signal: give up at once, between two file writes, so that none is left
            // half-written.
            crate::record::exit_between_writes(130);
        }
        eprintln!("\ninterrupted: saving the results so far (Ctrl-C again to quit at once)");
    });
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:40}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// The σ values `--preset theory` compares unless `--theory-sigmas` says otherwise.
const DEFAULT_THEORY_SIGMAS: [f32; 2] = [1.0, 3.0];

impl NetworkArgs {
    /// Refuses `--momentum` where the optimizer has none (Adam), instead of ignoring it.
    fn check_optimizer(&self, optimizer: &OptimizerConfig) -> Result<(), BoxError> {
        if self.momentum.is_some() && matches!(optimizer, OptimizerConfig::Adam { .. }) {
            return Err(
                "--momentum applies to --optimizer sgd; this run uses Adam, which has none: add \
                 --optimizer sgd or leave --momentum out"
                    .into(),
            );
        }
        Ok(())
    }

    fn apply_common(
        &self,
        widths: &mut Vec<usize>,
        activation: &mut Activation,
        optimizer: &mut OptimizerConfig,
        steps: &mut usize,
    ) {
        if let Some(w) = &self.widths {
            widths.clone_from(w);
        }
        if let Some(a) = self.activation {
            *activation = match a {
                ActivationArg::Tanh => Activation::Tanh,
                ActivationArg::Relu => Activation::Relu,
            };
        }
        let current_lr = match *optimizer {
            OptimizerConfig::Adam { learning_rate }
            | OptimizerConfig::Sgd { learning_rate, .. } => learning_rate,
        };
        let lr = self.learning_rate.unwrap_or(current_lr);
        let kind = self.optimizer.unwrap_or(match optimizer {
            OptimizerConfig::Adam { .. } => OptimizerArg::Adam,
            OptimizerConfig::Sgd { .. } => OptimizerArg::Sgd,
        });
        let current_momentum = match *optimizer {
            OptimizerConfig::Sgd { momentum, .. } => momentum,
            OptimizerConfig::Adam { .. } => 0.0,
        };
        *optimizer = match kind {
            OptimizerArg::Adam => OptimizerConfig::Adam { learning_rate: lr },
            OptimizerArg::Sgd => OptimizerConfig::Sgd {
                learning_rate: lr,
                momentum: self.momentum.unwrap_or(current_momentum),
            },
        };
        if let Some(s) = self.steps {
            *steps = s;
        }
    }
}

impl FreqArgs {
    /// The configurations these flags describe (two for the theory preset).
    pub fn configs(&self) -> Vec<FreqConfig> {
        let presets: Vec<FreqConfig> = match self.preset {
            FreqPreset::Classic => vec![FreqConfig::classic()],
            FreqPreset::Official => vec![FreqConfig::official()],
            FreqPreset::Theory => self
                .theory_sigmas
                .as_deref()
                .unwrap_or(&DEFAULT_THEORY_SIGMAS)
                .iter()
                .map(|&s| FreqConfig::theory(s))
                .collect(),
        };
        presets.into_iter().map(|c| self.apply(c)).collect()
    }

    /// Refuses flags that the chosen preset or optimizer would ignore or contradict, and
    /// σ values of `--theory-sigmas` that no run could use.
    fn check_flags(&self) -> Result<(), BoxError> {
        let theory = self.preset == FreqPreset::Theory;
        if let Some(sigmas) = &self.theory_sigmas {
            if !theory {
                return Err("--theory-sigmas applies to --preset theory only".into());
            }
            if let Some(s) = sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                return Err(
                    format!("--theory-sigmas: every σ must be finite and > 0, got {s}").into(),
                );
            }
        }
        if theory && (self.sigma.is_some() || self.sigma_per_layer.is_some()) {
            return Err(
                "--sigma and --sigma-per-layer would give every run of --preset theory \
                        the same σ: give the σ values it compares with --theory-sigmas"
                    .into(),
            );
        }
        for config in self.configs() {
            self.net.check_optimizer(&config.optimizer)?;
        }
        Ok(())
    }

    fn apply(&self, mut c: FreqConfig) -> FreqConfig {
        if self.net.quick {
            c = c.quick();
        }
        let n = &self.net;
        n.apply_common(
            &mut c.widths,
            &mut c.activation,
            &mut c.optimizer,
            &mut c.steps,
        );
        if let Some(t) = &n.target {
            c.target.clone_from(t);
        }
        if let Some(i) = n.interval {
            c.interval = i;
        }
        if let Some(s) = n.seed {
            c.seed = s;
        }
        if let Some(v) = self.train_points {
            c.train_points = v;
        }
        if let Some(e) = self.endpoints {
            c.train_endpoints = match e {
                EndpointsArg::Exclude => Endpoints::Exclude,
                EndpointsArg::Include => Endpoints::Include,
            };
        }
        if let Some(v) = self.test_points {
            c.test_points = v;
        }
        if let Some(v) = self.analysis_points {
            c.analysis_points = v;
        }
        if let Some(s) = self.sigma {
            c.init = InitScale::Normal(s);
        }
        if let Some(s) = &self.sigma_per_layer {
            c.init = InitScale::PerLayer(s.clone());
        }
        if self.stop_loss.is_some() {
            c.stop_loss = self.stop_loss;
        }
        match self.observe_every {
            Some(v) => c.observe_every = v,
            // A preset's interval shrinks with a shorter --steps, so that steps are observed.
            None => c.observe_every = c.observe_every.min(c.steps.max(1)),
        }
        if let Some(v) = self.test_every {
            c.test_every = v;
        }
        if let Some(v) = self.peak_bins {
            c.peaks.max_bins = v;
        }
        if let Some(v) = self.peak_floor {
            c.peaks.relative_floor = v;
        }
        if let Some(m) = self.measure {
            c.tracker.measure = match m {
                MeasureArg::Complex => ErrorMeasure::Complex,
                MeasureArg::Magnitude => ErrorMeasure::Magnitude,
            };
        }
        if let Some(v) = self.threshold {
            c.tracker.rule.threshold = v;
        }
        if let Some(v) = self.consecutive {
            c.tracker.rule.consecutive = v;
        }
        c
    }
}

impl InitArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> InitConfig {
        let mut c = match self.preset {
            InitPreset::Shallow => InitConfig::shallow(),
            InitPreset::Deep => InitConfig::deep(),
        };
        if self.net.quick {
            c = c.quick();
        }
        let n = &self.net;
        n.apply_common(
            &mut c.widths,
            &mut c.activation,
            &mut c.optimizer,
            &mut c.steps,
        );
        if let Some(t) = &n.target {
            c.target.clone_from(t);
        }
        if let Some(i) = n.interval {
            c.interval = i;
        }
        if let Some(s) = n.seed {
            c.seeds = vec![s];
        }
        if let Some(s) = &self.sigmas {
            c.sigmas.clone_from(s);
        }
        if let Some(s) = &self.seeds {
            c.seeds.clone_from(s);
        }
        if let Some(v) = self.train_points {
            c.train_points = v;
        }
        if let Some(v) = self.test_points {
            c.test_points = v;
        }
        c
    }
}

/// Creates a run directory, records the settings, runs `body`, and writes the summary and the
/// run page. Returns the directory and the outcome.
fn execute<C: Serialize>(
    base: &Path,
    experiment: &str,
    seed: u64,
    settings: &C,
    title: &str,
    body: impl FnOnce(&RunDir) -> Result<Outcome, BoxError>,
) -> Result<(PathBuf, Outcome), BoxError> {
    let dir = new_run_dir(base, experiment)?;
    dir.write_config(seed, settings)?;
    execute_in(dir, title, body)
}

/// A new run directory under `--out` `base` (see [`RunDir::create`]); an `--out` it cannot be
/// made in is named as the flag.
fn new_run_dir(base: &Path, experiment: &str) -> Result<RunDir, BoxError> {
    RunDir::create(base, experiment).map_err(|e| match e {
        RecordError::Invalid(why) => format!("--out {why}").into(),
        e => BoxError::from(e),
    })
}

/// Runs `body` in the run directory `dir` (new, or reopened to resume), and writes the summary
/// and the run page. Returns the directory and the outcome.
fn execute_in(
    dir: RunDir,
    title: &str,
    body: impl FnOnce(&RunDir) -> Result<Outcome, BoxError>,
) -> Result<(PathBuf, Outcome), BoxError> {
    dir.write_summary(RunStatus::Running, &serde_json::Value::Null)?;
    let outcome = match body(&dir) {
        Ok(o) => o,
        Err(e) => {
            let _ = dir.write_summary(
                RunStatus::Diverged,
                &serde_json::json!({ "error": e.to_string() }),
            );
            return Err(format!("{e} (partial results in {})", dir.path().display()).into());
        }
    };
    dir.write_summary(outcome.status, &outcome.results)?;
    dir.write_index(title, &outcome.lines, &outcome.figures)?;
    print_summary(title, dir.path(), &outcome);
    if outcome.status == RunStatus::Diverged {
        let why = outcome
            .lines
            .iter()
            .find(|(k, _)| k == "diverged")
            .map_or("training diverged", |(_, v)| v.as_str());
        return Err(format!("{why} (results so far in {})", dir.path().display()).into());
    }
    Ok((dir.path().to_path_buf(), outcome))
}

fn print_summary(title: &str, dir: &Path, outcome: &Outcome) {
    println!("\n== {title} ({})", outcome.status);
    let width = outcome
        .lines
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in &outcome.lines {
        println!("  {k:<width$}  {v}");
    }
    println!(
        "  {:<width$}  {}",
        "results",
        dir.join("index.html").display()
    );
}

/// Runs the 1-D frequency experiment(s) described by `args` under `base`.
pub fn run_freq(base: &Path, args: &FreqArgs) -> Result<Vec<PathBuf>, BoxError> {
    args.check_flags()?;
    let configs = args.configs();
    for c in &configs {
        c.validate()?;
        c.memory_estimate().check()?;
    }
    let mut dirs = Vec::new();
    for config in &configs {
        let name = format!("freq-{}", config.preset.replace('.', "_"));
        let title = format!(
            "Frequency order in 1-D: {} ({})",
            config.target, config.preset
        );
        let (dir, _) = execute(base, &name, config.seed, config, &title, |dir| {
            let pb = bar(config.steps as u64, &config.preset);
            let result = freq_order::run(
                config,
                &mut |p| {
                    pb.set_position(p.step as u64);
                    pb.set_message(format!("loss {:.2e}", p.loss));
                },
                &interrupted,
            );
            pb.finish_and_clear();
            freq_order::save(&result?, dir)
        })?;
        dirs.push(dir);
        if interrupted() {
            break;
        }
    }
    Ok(dirs)
}

/// Runs the initialization-scale sweep described by `args` under `base`.
pub fn run_init(base: &Path, args: &InitArgs) -> Result<Vec<PathBuf>, BoxError> {
    let config = args.config();
    args.net.check_optimizer(&config.optimizer)?;
    config.validate()?;
    config.memory_estimate().check()?;
    let title = format!("Initialization scale in 1-D ({})", config.preset);
    let seed = config.seeds.first().copied().unwrap_or(0);
    let name = format!("init-{}", config.preset);
    let (dir, _) = execute(base, &name, seed, &config, &title, |dir| {
        let runs = (config.sigmas.len() * config.seeds.len()) as u64;
        let pb = bar(runs * config.steps as u64, "init");
        let result = init_scale::run(
            &config,
            &mut |p| {
                pb.set_position((p.run * p.steps + p.step) as u64);
                pb.set_message(format!("run {}/{}", p.run + 1, p.runs));
            },
            &interrupted,
        );
        pb.finish_and_clear();
        init_scale::save(&result?, dir)
    })?;
    Ok(vec![dir])
}

/// Runs every experiment with its defaults (shortened with `--quick`) inside one folder, and
/// writes `report.html` linking them. An interrupted run's report says which experiments ran
/// to the end, which was interrupted and which never ran (listed on the folder's own
/// `index.html`).
pub fn run_all(base: &Path, args: &AllArgs) -> Result<PathBuf, BoxError> {
    let all = new_run_dir(base, if args.quick { "all-quick" } else { "all" })?;
    let root = all.path().to_path_buf();
    let parse = |words: &[&str]| -> Result<Cli, BoxError> {
        let mut argv = vec!["fprinciple"];
        argv.extend_from_slice(words);
        if args.quick {
            argv.push("--quick");
        }
        Ok(Cli::try_parse_from(argv)?)
    };
    let jobs: [&[&str]; 6] = [
        &["freq"],
        &["freq", "--preset", "official"],
        &["freq", "--preset", "theory"],
        &["init"],
        &["image"],
        &["mnist"],
    ];
    let mut links = Vec::new();
    // One line per experiment for the folder's page: how far it got.
    let mut lines = Vec::new();
    let (mut completed, mut stopped, mut never) = (Vec::new(), Vec::new(), Vec::new());
    let mut runs = 0;
    for words in jobs {
        let name = words.join(" ");
        if interrupted() {
            lines.push((
                name.clone(),
                "never ran: interrupted before it started".into(),
            ));
            links.push(RunLink {
                dir: root.clone(),
                title: format!("{name}: never ran"),
                summary: "not started: the run was interrupted before it".into(),
            });
            never.push(name);
            continue;
        }
        let cli = parse(words)?;
        let dirs = dispatch(&root, &cli.command)?;
        runs += dirs.len();
        for d in &dirs {
            if let Ok(mut link) = RunLink::from_dir(d) {
                link.title = format!("{name}: {}", link.title);
                links.push(link);
            }
        }
        // The signal came during this experiment (or as it ended): it is the one interrupted.
        if interrupted() {
            lines.push((name.clone(), "interrupted: results so far".into()));
            stopped.push(name);
        } else {
            lines.push((name.clone(), "ran to the end".into()));
            completed.push(name);
        }
    }
    let title = if stopped.is_empty() && never.is_empty() {
        "fprinciple: every experiment".to_string()
    } else {
        format!(
            "fprinciple: every experiment (interrupted: {} ran to the end, {} interrupted, {} \
             never ran)",
            completed.len(),
            stopped.len(),
            never.len()
        )
    };
    let report = root.join("report.html");
    write_report_html(&report, &title, &links)?;
    all.write_index(&title, &lines, &[])?;
    all.write_summary(
        if interrupted() {
            RunStatus::Interrupted
        } else {
            RunStatus::Completed
        },
        &serde_json::json!({
            "runs": runs,
            "completed": completed,
            "interrupted": stopped,
            "never_ran": never,
        }),
    )?;
    println!("\nreport: {}", report.display());
    Ok(report)
}

fn dispatch(base: &Path, command: &Command) -> Result<Vec<PathBuf>, BoxError> {
    match command {
        Command::Freq(a) => run_freq(base, a),
        Command::Init(a) => run_init(base, a),
        Command::Image(a) => run_image(base, a),
        Command::Mnist(a) => run_mnist(base, a),
        Command::All(a) => run_all(base, a).map(|r| vec![r]),
    }
}

/// Runs the command line; the process's exit code follows from the result.
pub fn main_with(cli: Cli) -> Result<(), BoxError> {
    install_interrupt_handler();
    dispatch(&cli.out, &cli.command)?;
    if interrupted() {
        return Err("interrupted: the run directories hold the results so far".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_with_pi() {
        let pi = std::f64::consts::PI;
        assert_eq!(parse_interval("-pi,pi").unwrap(), [-pi, pi]);
        assert_eq!(parse_interval("-10, 10").unwrap(), [-10.0, 10.0]);
        assert_eq!(parse_interval("0,2pi").unwrap(), [0.0, 2.0 * pi]);
        assert!(parse_interval("1").is_err());
        assert!(parse_interval("a,b").is_err());
    }
}
