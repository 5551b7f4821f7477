//! The training demo: its whole configuration and logic, for the device and the host alike.
//!
//! A 1-32-32-1 tanh network learns sin x + sin 3x + sin 5x on the 64-point grid on [−π, π) by
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
use fprinciple_core::dense::{self, Arithmetic, DenseShape};
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::{activation_count, parameter_count, scratch_count, Mlp};
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{fill_grid, PeakSearch};
use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
use fprinciple_core::train::{workspace_count, Samples, Trainer};
use fprinciple_core::{Error, Result};

/// Widths of the network: one input, two tanh layers of 32 units, one linear output.
///
/// Two hidden layers make a training step mostly multiply-accumulates: the 32 × 32 layer has
/// 1,024 weights per sample against 64 `tanh`, where the 1-64-1 network of earlier versions had
/// 128 weights per 64 `tanh` and products with a single row or column. Its full-batch state
/// (parameters, gradients, Adam's moments, activations and the backward pass's two 32-wide
/// delta buffers, [`RamUse`]) is 52,516 bytes, which leaves the Cortex-M3's 64 KiB room for
/// the stack; 1-40-40-1 would need 69 KiB.
pub const WIDTHS: [usize; 4] = [1, 32, 32, 1];
/// Parameters of the network (weights and biases).
pub const PARAMETERS: usize = parameter_count(&WIDTHS);
/// Weights of the network (no biases): the multiply-accumulates per sample of one pass.
pub const WEIGHTS: usize = weight_count(&WIDTHS);
/// Points of the training and analysis grid on [−π, π), right end excluded (a power of two).
pub const GRID_POINTS: usize = 64;
/// Floats of the trainer's workspace for the full batch: activations, backward scratch, loss
/// gradient.
pub const WORKSPACE: usize = workspace_count(&WIDTHS, GRID_POINTS);
/// Multiply-accumulates of one full-batch training step: the forward pass and the weight
/// gradient take one per weight and sample, the input deltas one per weight and sample of
/// every layer but the first (the network's inputs need no gradient).
pub const MACS_PER_STEP: usize = (3 * WEIGHTS - WIDTHS[0] * WIDTHS[1]) * GRID_POINTS;

/// Seed of the core [`Rng`] that draws the initial parameters: 0, the workspace's default, not
/// chosen for its result.
///
/// With σ = [`INIT_STD`] and this learning rate, seeds 0–99 all pass on the host, each with
/// three distinct convergence steps in the order 1, 3, 5, after 340–780 steps (median 490; seed
/// 0 needs 620), with the core of this writing (`cargo run --release -p firmware --example sweep
/// -- --seeds 0-99`; `tests/tests/firmware_qemu.rs` runs seeds 0–19 every time).
pub const SEED: u64 = 0;
/// σ of every initial weight and bias, N(0, σ²). A small initialization keeps the network's
/// function low-frequency at the start, the regime in which the paper sees the Frequency
/// Principle: at σ = 0.3 (seeds 0–99), sin x converges by step 120 and sin 3x by step 190,
/// sin 5x at steps 250–670, at least 60 steps after sin 3x. For learning rates 0.02–0.04, σ = 0.3 passed for 19 or 20 of seeds
/// 0–19 at every rate; σ = 0.15, 0.2, 0.25, 0.4 and 0.5 for 12–19 of them (the others tie or
/// swap bins 1 and 3, or miss the loss bound within [`STEPS`]).
pub const INIT_STD: f32 = 0.3;
/// Adam's learning rate (β₁ = 0.9, β₂ = 0.999, ε = 1e-8). At σ = 0.3, rates from 0.02 to 0.04
/// pass for 49 or 50 of seeds 0–49; 0.03 for all 50, in a median of 500 steps.
pub const LEARNING_RATE: f32 = 0.03;
/// The most full-batch steps the run may take. It stops earlier, at the first observation where
/// every peak has converged and the loss is below [`LOSS_BOUND`] (620 steps at [`SEED`]); a run
/// that has not got there by this step fails.
pub const STEPS: u32 = 1000;
/// Steps between two observations of the tracker (and two `step=` log lines). Convergence
/// steps are multiples of it; a peak needs 10 consecutive observations below Δ_F = 0.1, so a
/// run ends at least 90 steps after its last peak converged. An observation (a forward pass on
/// the grid and a 64-point FFT) costs less than half a training step.
pub const OBSERVE_EVERY: u32 = 10;
/// Peaks the tracker follows: the target's three, at bins 1, 3 and 5.
pub const PEAKS: usize = 3;
/// The run passes only if the mean squared error of the last step is below this bound. The
/// target's mean square is 1.5, so 0.01 is a root mean square error of 0.1, 8% of the target's
/// 1.22; Δ_F < 0.1 at the three peaks alone allows up to 0.015.
pub const LOSS_BOUND: f32 = 0.01;

/// The network type: widths [`WIDTHS`], [`PARAMETERS`] parameters.
pub type Network = Mlp<4, PARAMETERS>;

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
        Self::with_seed(network, buffers, SEED)
    }

    /// [`Demo::new`] with another seed for the initial parameters: to check that the demo's
    /// settings do not depend on a lucky [`SEED`].
    pub fn with_seed(
        network: &'a mut Network,
        buffers: &'a mut Buffers,
        seed: u64,
    ) -> Result<Self> {
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
            &mut Rng::new(seed),
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
    on_observe: impl FnMut(f32, &Observation),
) -> Result<Verdict> {
    run_with_seed(network, buffers, SEED, on_observe)
}

/// [`run`] from the initial parameters of another seed.
pub fn run_with_seed(
    network: &mut Network,
    buffers: &mut Buffers,
    seed: u64,
    mut on_observe: impl FnMut(f32, &Observation),
) -> Result<Verdict> {
    let mut demo = Demo::with_seed(network, buffers, seed)?;
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
    golden_with_seed(SEED)
}

/// The host's run from the initial parameters of another seed (see [`SEED`]).
#[cfg(not(target_os = "none"))]
pub fn golden_with_seed(seed: u64) -> Result<Verdict> {
    let mut network = std::boxed::Box::new(network());
    let mut buffers = std::boxed::Box::new(Buffers::new());
    run_with_seed(&mut network, &mut buffers, seed, |_, _| {})
}

/// One product of the network's widest layer (the 32 × 32 hidden layer) on the whole grid, alone:
/// what [`KernelProbe`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(target_os = "none", derive(defmt::Format))]
pub enum Kernel {
    /// `outputs = inputs · weightᵀ + bias` ([`dense::forward`]).
    Forward,
    /// `grad_weight = deltasᵀ · inputs`, `grad_bias = Σ deltas` ([`dense::backward_parameters`]).
    WeightGradient,
    /// `grad_inputs = deltas · weight` ([`dense::backward_inputs`]).
    InputGradient,
    /// `tanh` of every output of the layer ([`Activation::apply_slice`]).
    Tanh,
}

/// The demo's kernels one at a time on the shapes of its widest layer, over the demo's own
/// storage, so that the device can measure what a multiply-accumulate costs in the dense
/// kernel alone, apart from `tanh`, Adam and the rest of a step.
///
/// It borrows the network's weights (use it after training: the layer's inputs are then the
/// trained first layer's activations on the grid, still in the workspace) and overwrites the
/// buffers' scratch and gradients, so the [`Demo`] is over once it is built.
pub struct KernelProbe<'a> {
    shape: DenseShape,
    inputs: &'a [f32],
    weight: &'a [f32],
    bias: &'a [f32],
    outputs: &'a mut [f32],
    grad_inputs: &'a mut [f32],
    grad_weight: &'a mut [f32],
    grad_bias: &'a mut [f32],
}

impl<'a> KernelProbe<'a> {
    /// The probe of the second layer (`WIDTHS[1]` inputs, `WIDTHS[2]` units, [`GRID_POINTS`]
    /// samples).
    pub fn new(network: &'a Network, buffers: &'a mut Buffers) -> Result<Self> {
        const NOT_FOUND: Error = Error::InvalidSetting("the network has no second layer");
        let layer = network.architecture().layers().nth(1).ok_or(NOT_FOUND)?;
        let shape = DenseShape {
            batch: GRID_POINTS,
            inputs: layer.inputs,
            outputs: layer.outputs,
        };
        let (input_len, output_len) = (shape.batch * shape.inputs, shape.batch * shape.outputs);
        let weight_len = shape.weight_len();
        let parameters = network
            .parameters()
            .get(layer.parameter_offset..layer.parameter_offset + layer.parameter_len())
            .ok_or(NOT_FOUND)?;
        let (weight, bias) = parameters.split_at(weight_len);
        let gradients = buffers
            .gradients
            .get_mut(layer.parameter_offset..layer.parameter_offset + layer.parameter_len())
            .ok_or(NOT_FOUND)?;
        let (grad_weight, grad_bias) = gradients.split_at_mut(weight_len);
        // The workspace is the activations, then the backward scratch: the layer's inputs are
        // the first layer's activations; outputs and input deltas go to the scratch.
        let activations = activation_count(&WIDTHS, GRID_POINTS);
        let (stored, scratch) = buffers.workspace.split_at_mut(activations);
        let inputs = stored.get(..input_len).ok_or(NOT_FOUND)?;
        let (outputs, rest) = scratch.split_at_mut(output_len);
        let grad_inputs = rest.get_mut(..input_len).ok_or(NOT_FOUND)?;
        Ok(KernelProbe {
            shape,
            inputs,
            weight,
            bias,
            outputs,
            grad_inputs,
            grad_weight,
            grad_bias,
        })
    }

    /// The layer's shape.
    pub fn shape(&self) -> DenseShape {
        self.shape
    }

    /// Multiply-accumulates of one product (`batch × inputs × outputs`), or values of [`Kernel::Tanh`].
    pub fn operations(&self, kernel: Kernel) -> usize {
        match kernel {
            Kernel::Tanh => self.shape.batch * self.shape.outputs,
            _ => self.shape.batch * self.shape.weight_len(),
        }
    }

    /// Runs one kernel once. The backward kernels take the last outputs as the deltas.
    pub fn run(&mut self, kernel: Kernel) -> Result<()> {
        let shape = self.shape;
        // The rounding the demo's network uses (the core's default).
        let arithmetic = Arithmetic::Separate;
        match kernel {
            Kernel::Forward => dense::forward(
                shape,
                arithmetic,
                self.inputs,
                self.weight,
                self.bias,
                self.outputs,
            ),
            Kernel::WeightGradient => dense::backward_parameters(
                shape,
                arithmetic,
                self.inputs,
                self.outputs,
                self.grad_weight,
                self.grad_bias,
            ),
            Kernel::InputGradient => dense::backward_inputs(
                shape,
                arithmetic,
                self.weight,
                self.outputs,
                self.grad_inputs,
            ),
            Kernel::Tanh => {
                Activation::Tanh.apply_slice(self.outputs);
                Ok(())
            }
        }
    }
}

/// FNV-1a (32-bit) of a byte stream.
pub fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u32 {
    bytes.into_iter().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}
