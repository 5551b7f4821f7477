//! The training demo: its whole configuration and logic, for the device and the host alike.
//!
//! A 1-64-1 tanh network learns sin x + sin 3x + sin 5x on the 64-point grid on [−π, π) by
//! full-batch Adam through the core's [`Trainer`]; every [`OBSERVE_EVERY`] steps its outputs on
//! the grid go to a [`SpectralTracker`], which records the relative error Δ_F at the target's
//! peaks (DFT bins 1, 3 and 5) and when each converged. Training stops once every peak has
//! converged and the loss is below [`LOSS_BOUND`], or after [`STEPS`] steps. The run passes
//! when every peak converged, low frequency first, and the loss ended below [`LOSS_BOUND`]
//! (EXPERIMENTS.md, section 5).
//!
//! This module compiles on every target. The firmware (`src/bin/train.rs`) drives it step by
//! step, measuring and logging; the host runs the very same code with [`run`] (or `golden`,
//! host only) and gets the final loss, the parameter fingerprint and the convergence steps the
//! firmware must reproduce bit for bit.
//!
//! Memory: the big buffers are a [`Buffers`] (all zeros, so a `static` of it lands in `.bss`)
//! and the network a [`Network`] (a `static` built by the `const fn` [`network`]); [`Demo`]
//! borrows both and owns only the tracker and a few counters. Nothing is allocated.

use core::f32::consts::PI;
use core::mem::size_of;

use fprinciple_core::activation::Activation;
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::{activation_count, parameter_count, scratch_count, Mlp};
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{fill_grid, PeakSearch};
use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
use fprinciple_core::train::{workspace_count, Samples, Trainer};
use fprinciple_core::{Error, Result};

/// Widths of the network: one input, 64 tanh units, one linear output.
///
/// 64 is the largest hidden width whose full-batch workspace fits the Cortex-M3's 64 KiB of RAM
/// with room for the stack: the backward pass keeps two 64 × 64 delta buffers, and 1-100-1 would
/// need 77 KiB for them alone.
pub const WIDTHS: [usize; 3] = [1, 64, 1];
/// Parameters of the network (weights and biases).
pub const PARAMETERS: usize = parameter_count(&WIDTHS);
/// Weights of the network (no biases): the multiply-accumulates per sample of one pass.
pub const WEIGHTS: usize = weight_count(&WIDTHS);
/// Points of the training and analysis grid on [−π, π), right end excluded (a power of two).
pub const GRID_POINTS: usize = 64;
/// Floats of the trainer's workspace for the full batch: activations, backward scratch, loss
/// gradient.
pub const WORKSPACE: usize = workspace_count(&WIDTHS, GRID_POINTS);
/// Multiply-accumulates of one full-batch training step, about 3 × weights × points: the
/// forward pass, the weight gradient and the input deltas each take one per weight and sample.
pub const MACS_PER_STEP: usize = 3 * WEIGHTS * GRID_POINTS;

/// Seed of the core [`Rng`] that draws the initial parameters.
///
/// At σ = [`INIT_STD`] and this learning rate, seeds 0–9 all fit the target and nine of ten
/// converge low to high (seed 5 converges sin 5x together with sin x, before sin 3x: a large σ
/// speeds up the high frequencies, as the paper's theory predicts). Seed 3 meets the loss bound
/// soonest with three distinct convergence steps (125, 150, 225 with the core of this writing),
/// which keeps the soft-float Cortex-M3 run near a minute under QEMU.
pub const SEED: u64 = 3;
/// σ of every initial weight and bias, N(0, σ²). A one-hidden-layer tanh network learns
/// frequency k at a rate that decays like exp(−π k / (2 |w|)) (EXPERIMENTS.md, section 1,
/// theory check): σ = 4 brings sin 5x within a few hundred steps while sin x and sin 3x still
/// come first (σ = 1 takes 1,500–4,000 steps for sin 5x, too long for the Cortex-M3).
pub const INIT_STD: f32 = 4.0;
/// Adam's learning rate (β₁ = 0.9, β₂ = 0.999, ε = 1e-8). The order of convergence at this
/// seed is the same from 0.03 to 0.055.
pub const LEARNING_RATE: f32 = 0.04;
/// The most full-batch steps the run may take. It stops earlier, at the first observation where
/// every peak has converged and the loss is below [`LOSS_BOUND`] (about 600 steps); a run that
/// has not got there by this step fails.
pub const STEPS: u32 = 1000;
/// Steps between two observations of the tracker (and two `step=` log lines). Convergence
/// steps are multiples of it; a peak needs 10 consecutive observations below Δ_F = 0.1.
pub const OBSERVE_EVERY: u32 = 25;
/// Peaks the tracker follows: the target's three, at bins 1, 3 and 5.
pub const PEAKS: usize = 3;
/// The run passes only if the mean squared error of the last step is below this bound. The
/// target's mean square is 1.5, so 0.01 is a root mean square error of 0.1, 8% of the target's
/// 1.22; Δ_F < 0.1 at the three peaks alone allows up to 0.015.
pub const LOSS_BOUND: f32 = 0.01;

/// The network type: widths [`WIDTHS`], [`PARAMETERS`] parameters.
pub type Network = Mlp<3, PARAMETERS>;

/// The network before initialization (all parameters zero); a `const fn`, so that a `static`
/// can hold it.
pub const fn network() -> Network {
    Mlp::new(WIDTHS, Activation::Tanh, Activation::Identity)
}

/// Weights (no biases) of a network with these widths.
const fn weight_count(widths: &[usize]) -> usize {
    let mut total = 0;
    let mut i = 1;
    while i < widths.len() {
        total += widths[i - 1] * widths[i];
        i += 1;
    }
    total
}

/// The demo target, sin x + sin 3x + sin 5x (EXPERIMENTS.md, section 1 "classic").
pub fn target(x: f32) -> f32 {
    libm::sinf(x) + libm::sinf(3.0 * x) + libm::sinf(5.0 * x)
}

/// Every large buffer of the demo. All zeros, so a `static` of it is zero-initialized `.bss`
/// rather than `.data` (which would cost the same again in flash).
pub struct Buffers {
    gradients: [f32; PARAMETERS],
    first_moment: [f32; PARAMETERS],
    second_moment: [f32; PARAMETERS],
    workspace: [f32; WORKSPACE],
    inputs: [f32; GRID_POINTS],
    targets: [f32; GRID_POINTS],
    outputs: [f32; GRID_POINTS],
}

impl Buffers {
    /// Zeroed buffers; a `const fn`, so that a `static` can hold them.
    pub const fn new() -> Self {
        Buffers {
            gradients: [0.0; PARAMETERS],
            first_moment: [0.0; PARAMETERS],
            second_moment: [0.0; PARAMETERS],
            workspace: [0.0; WORKSPACE],
            inputs: [0.0; GRID_POINTS],
            targets: [0.0; GRID_POINTS],
            outputs: [0.0; GRID_POINTS],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes of RAM the demo's state takes, by part, from the type sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamUse {
    /// The [`Network`]: parameters, widths and activations.
    pub network: usize,
    /// One gradient per parameter.
    pub gradients: usize,
    /// Adam's first and second moments.
    pub optimizer: usize,
    /// Layer outputs of the forward pass for the whole grid (part of the workspace).
    pub activations: usize,
    /// The backward pass's two delta buffers (part of the workspace).
    pub scratch: usize,
    /// The loss gradient with respect to the outputs (part of the workspace).
    pub loss_gradient: usize,
    /// Grid inputs, targets and the outputs the tracker observes.
    pub grid: usize,
    /// The [`Demo`] itself: the tracker, the trainer's handles and counters (on the stack of
    /// `main`, not in a `static`).
    pub demo: usize,
}

impl RamUse {
    /// The sizes of this configuration.
    pub const fn of_demo() -> Self {
        const F32: usize = size_of::<f32>();
        RamUse {
            network: size_of::<Network>(),
            gradients: PARAMETERS * F32,
            optimizer: 2 * PARAMETERS * F32,
            activations: activation_count(&WIDTHS, GRID_POINTS) * F32,
            scratch: scratch_count(&WIDTHS, GRID_POINTS) * F32,
            loss_gradient: WIDTHS[WIDTHS.len() - 1] * GRID_POINTS * F32,
            grid: 3 * GRID_POINTS * F32,
            demo: size_of::<Demo<'static>>(),
        }
    }

    /// What the `static`s hold: [`Network`] and [`Buffers`].
    pub const fn statics(&self) -> usize {
        self.network
            + self.gradients
            + self.optimizer
            + self.activations
            + self.scratch
            + self.loss_gradient
            + self.grid
    }
}

/// Δ_F per peak after an observation, for the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Training steps taken when the outputs were observed.
    pub step: u32,
    /// The peaks' DFT bins, low to high.
    pub bins: [usize; PEAKS],
    /// Δ_F per peak, low to high (`+∞` if the run stopped on an error before any observation).
    pub errors: [f32; PEAKS],
}

#[cfg(target_os = "none")]
impl defmt::Format for Observation {
    fn format(&self, f: defmt::Formatter) {
        for (bin, error) in self.bins.iter().zip(&self.errors) {
            defmt::write!(f, " dF[{=usize}]={=f32}", bin, error);
        }
    }
}

/// How the run ended; everything the host's golden values are compared on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// The run met every criterion.
    pub passed: bool,
    /// Why, in a few words, for the verdict line.
    pub summary: &'static str,
    /// The loss of the last step (before its update).
    pub final_loss: f32,
    /// FNV-1a hash of the parameters' little-endian bytes: equal on host and device when the
    /// arithmetic is bit-identical.
    pub fingerprint: u32,
    /// The peaks' DFT bins, low to high.
    pub bins: [usize; PEAKS],
    /// The step at which each peak converged, low to high frequency.
    pub convergence_steps: [Option<u32>; PEAKS],
    /// The error that stopped training early, if any.
    pub error: Option<Error>,
}

/// The training run: the network, the trainer and the tracker, over borrowed storage.
pub struct Demo<'a> {
    network: &'a mut Network,
    trainer: Trainer<
        Adam<&'a mut [f32; PARAMETERS]>,
        &'a mut [f32; PARAMETERS],
        &'a mut [f32; WORKSPACE],
    >,
    inputs: &'a [f32; GRID_POINTS],
    targets: &'a [f32; GRID_POINTS],
    outputs: &'a mut [f32; GRID_POINTS],
    tracker: SpectralTracker<PEAKS>,
    steps: u32,
    loss: f32,
    error: Option<Error>,
}

impl<'a> Demo<'a> {
    /// Fills the grid and the target, initializes the network from [`SEED`] with σ =
    /// [`INIT_STD`], sets up Adam and builds the tracker from the target's spectrum.
    ///
    /// Fails only if the configuration is inconsistent (e.g. the tracker does not find
    /// [`PEAKS`] peaks).
    pub fn new(network: &'a mut Network, buffers: &'a mut Buffers) -> Result<Self> {
        let Buffers {
            gradients,
            first_moment,
            second_moment,
            workspace,
            inputs,
            targets,
            outputs,
        } = buffers;
        fill_grid(-PI, PI, inputs);
        for (y, &x) in targets.iter_mut().zip(inputs.iter()) {
            *y = target(x);
        }
        let (arch, parameters) = network.split_mut();
        Init::Uniform(LayerInit::normal(INIT_STD)).initialize(
            &arch,
            parameters,
            &mut Rng::new(SEED),
        )?;
        // `outputs` is the FFT scratch for the target's spectrum; it is overwritten later.
        let tracker = SpectralTracker::from_grid(
            targets,
            outputs,
            &PeakSearch::DEFAULT,
            TrackerSettings::DEFAULT,
        )?;
        if tracker.peaks().len() != PEAKS {
            return Err(Error::InvalidSetting(
                "the target must have exactly PEAKS peaks",
            ));
        }
        let optimizer = Adam::new(LEARNING_RATE, first_moment, second_moment)?;
        Ok(Demo {
            network,
            trainer: Trainer::new(Loss::MeanSquaredError, optimizer, gradients, workspace),
            inputs,
            targets,
            outputs,
            tracker,
            steps: 0,
            loss: f32::INFINITY,
            error: None,
        })
    }

    /// Runs up to `steps` full-batch Adam steps (fewer at the end of the run or after an
    /// error) and returns the loss of the last one.
    pub fn train(&mut self, steps: u32) -> f32 {
        let samples = Samples {
            inputs: self.inputs,
            targets: self.targets,
        };
        let (arch, parameters) = self.network.split_mut();
        for _ in 0..steps.min(STEPS - self.steps) {
            if self.error.is_some() {
                break;
            }
            match self.trainer.step(&arch, parameters, samples) {
                Ok(loss) => {
                    self.loss = loss;
                    self.steps += 1;
                }
                Err(error) => self.error = Some(error),
            }
        }
        self.loss
    }

    /// Evaluates the network on the grid and hands the outputs to the tracker at the current
    /// step; returns Δ_F per peak.
    pub fn observe(&mut self) -> Observation {
        let arch = self.network.architecture();
        let result = self
            .trainer
            .predict(&arch, self.network.parameters(), self.inputs, self.outputs)
            .and_then(|()| self.tracker.observe(self.steps, self.outputs));
        if let Err(error) = result {
            self.error.get_or_insert(error);
        }
        let mut errors = [f32::INFINITY; PEAKS];
        errors
            .iter_mut()
            .zip(self.tracker.errors())
            .for_each(|(e, &t)| *e = t);
        Observation {
            step: self.steps,
            bins: self.bins(),
            errors,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Whether the run is over: it has passed (every peak converged and the loss is below
    /// [`LOSS_BOUND`]), [`STEPS`] steps are taken, or training stopped on an error.
    pub fn finished(&self) -> bool {
        self.steps >= STEPS || self.error.is_some() || self.passed()
    }

    /// Every peak converged and the last loss is below [`LOSS_BOUND`].
    fn passed(&self) -> bool {
        self.tracker.all_converged() && self.loss < LOSS_BOUND
    }

    /// The tracker, for convergence steps and order.
    pub fn tracker(&self) -> &SpectralTracker<PEAKS> {
        &self.tracker
    }

    /// The peaks' DFT bins, low to high.
    pub fn bins(&self) -> [usize; PEAKS] {
        let mut bins = [0; PEAKS];
        bins.iter_mut()
            .zip(self.tracker.peaks())
            .for_each(|(b, p)| *b = p.bin);
        bins
    }

    /// Judges the run: passes when training finished without error, every peak converged, low
    /// to high, and the last loss is below [`LOSS_BOUND`].
    pub fn verdict(&self) -> Verdict {
        let (passed, summary) = if self.error.is_some() {
            (false, "training stopped on an error")
        } else if !self.tracker.all_converged() {
            (false, "not every peak converged")
        } else if !self.tracker.is_low_to_high() {
            (false, "peaks did not converge low to high")
        } else if self.loss < LOSS_BOUND {
            (
                true,
                "peaks converged low to high and the loss met its bound",
            )
        } else {
            (false, "loss did not meet its bound")
        };
        let mut convergence_steps = [None; PEAKS];
        convergence_steps
            .iter_mut()
            .zip(self.tracker.convergence_steps())
            .for_each(|(c, &s)| *c = s);
        let bytes = self
            .network
            .parameters()
            .iter()
            .flat_map(|p| p.to_bits().to_le_bytes());
        Verdict {
            passed,
            summary,
            final_loss: self.loss,
            fingerprint: fnv1a(bytes),
            bins: self.bins(),
            convergence_steps,
            error: self.error,
        }
    }
}

/// Steps of the next training block: [`OBSERVE_EVERY`], or what is left of [`STEPS`].
pub fn block_steps(done: u32) -> u32 {
    OBSERVE_EVERY.min(STEPS.saturating_sub(done))
}

/// Runs the whole demo as the firmware does (train [`OBSERVE_EVERY`] steps, observe, repeat
/// until [`Demo::finished`]), calling `on_observe` after every observation; returns the verdict.
pub fn run(
    network: &mut Network,
    buffers: &mut Buffers,
    mut on_observe: impl FnMut(f32, &Observation),
) -> Result<Verdict> {
    let mut demo = Demo::new(network, buffers)?;
    while !demo.finished() {
        let loss = demo.train(block_steps(demo.steps()));
        let observation = demo.observe();
        on_observe(loss, &observation);
    }
    Ok(demo.verdict())
}

/// The host's golden run: [`run`] with heap storage, without a log.
#[cfg(not(target_os = "none"))]
pub fn golden() -> Result<Verdict> {
    let mut network = std::boxed::Box::new(network());
    let mut buffers = std::boxed::Box::new(Buffers::new());
    run(&mut network, &mut buffers, |_, _| {})
}

/// FNV-1a (32-bit) of a byte stream.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}
