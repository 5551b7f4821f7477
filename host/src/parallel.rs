//! Data-parallel training: one batch split across the threads of a pool.
//!
//! [`ParallelTrainer`] mirrors [`fprinciple_core::train::Trainer`] (`step`, `epoch`, `predict`,
//! `evaluate`, `optimizer`) so an experiment can swap it in. A step splits the batch into
//! contiguous parts, one per thread, and runs in two phases:
//!
//! 1. every thread runs the forward pass and the backward pass's deltas of its part
//!    ([`compute_deltas`], the loss normalized by the
//!    *whole* batch);
//! 2. every thread takes a share of each layer's weight rows and biases and sums their
//!    gradients over the parts laid end to end, in order
//!    ([`backward_parameter_rows`](fprinciple_core::dense::backward_parameter_rows)), then
//!    updates those parameters ([`Optimizer::begin_step`],
//!    [`Update::apply`](fprinciple_core::optim::Update::apply)).
//!
//! Every gradient is therefore summed over the whole batch in the order one thread sums it:
//! the parameters are bit-identical to the core's `Trainer` on any number of threads (the
//! reported loss, the parts' losses added up, can differ in its last bits). No thread adds up
//! another's gradients, and each updates parameters whose gradients it has just computed.
//!
//! The threads are a [`rayon`] pool owned by the trainer and kept for its lifetime: handing a
//! pool work costs microseconds, where starting threads for each call cost tens of them. Small
//! batches still run on the calling thread alone (see [`MIN_WORK_PER_THREAD`]).
//!
//! With two threads the parts and shares need not be even: they follow how long each thread
//! took in the steps before (see [`Balance`]), as the two cores of a shared or virtual machine
//! are often not equally fast. Any split gives the same sums, so this changes only the speed.

use std::ops::Range;
use std::sync::Arc;

use fprinciple_core::dense::{self, Arithmetic, DenseShape, Sums};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::{activation_count, Architecture, LayerShape, Stored};
use fprinciple_core::optim::{Optimizer, State, Update};
use fprinciple_core::rng::Rng;
use fprinciple_core::train::{
    compute_deltas, compute_gradients, compute_gradients_observed, for_each_mini_batch,
    workspace_count, BatchBuffers, ObservedBatch, Samples,
};
use fprinciple_core::{Error, Result};
use rayon::prelude::*;

/// A batch is split only if every thread gets at least this much work, counted as parameters ×
/// samples (one forward and backward pass costs about 6 flop per unit). 2²⁰ units are about
/// 6 Mflop, a fraction of a millisecond: far more than handing work to the pool.
pub const MIN_WORK_PER_THREAD: usize = 1 << 20;

/// Parameters per thread below which the optimizer step runs on one thread.
const MIN_PARAMETERS_PER_THREAD: usize = 1 << 14;

/// Trains a network with a batch split across `threads` threads; owns the optimizer, the
/// gradient buffers, the workspaces and the thread pool, and borrows the parameters for each
/// call.
#[derive(Debug, Clone)]
pub struct ParallelTrainer<O> {
    loss: Loss,
    optimizer: O,
    threads: usize,
    /// `None` with one thread, or if the system refused to start threads.
    pool: Option<Arc<rayon::ThreadPool>>,
    /// The gradients of the last step.
    gradients: Vec<f32>,
    /// One workspace per thread.
    workspaces: Vec<Vec<f32>>,
    /// One buffer per thread for the deltas of its part of a batch.
    deltas: Vec<Vec<f32>>,
    /// Per thread, the input and output rows of its part of an observed batch.
    rows: Vec<(Vec<f32>, Vec<f32>)>,
    /// Per thread, one layer's inputs and deltas over all the parts (see [`Joined`]).
    joined: Vec<Joined>,
    /// The two threads' shares of each phase of a step.
    balance: Balance,
}

impl<O: Optimizer + Send> ParallelTrainer<O> {
    /// A trainer using up to `threads` threads (0 means one per available core). Buffers are
    /// allocated on first use and grow to the largest batch seen. If the threads cannot be
    /// started the trainer works on the calling thread alone.
    pub fn new(loss: Loss, optimizer: O, threads: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        let pool = if threads > 1 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("fprinciple-train-{i}"))
                .build()
                .ok()
                .map(Arc::new)
        } else {
            None
        };
        let threads = if pool.is_some() { threads } else { 1 };
        ParallelTrainer {
            loss,
            optimizer,
            threads,
            pool,
            gradients: Vec::new(),
            workspaces: vec![Vec::new(); threads],
            deltas: vec![Vec::new(); threads],
            rows: vec![(Vec::new(), Vec::new()); threads],
            joined: vec![Joined::default(); threads],
            balance: Balance::FOLLOWING,
        }
    }

    /// Whether a step's work is shared between two threads as their recent speed says (the
    /// default) or evenly. Either way the results are the same, bit for bit; `--bench speed`
    /// times both.
    pub fn set_adaptive_shares(&mut self, adaptive: bool) {
        self.balance = if adaptive {
            Balance::FOLLOWING
        } else {
            Balance::EVEN
        };
    }

    /// The loss being minimized.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The most threads a call uses.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The optimizer (for its state in a checkpoint).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change its learning rate or restore its state.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The gradients of the last step (empty before the first).
    pub fn gradients(&self) -> &[f32] {
        &self.gradients
    }

    /// Threads worth using for `samples` samples: each must get at least one sample and
    /// [`MIN_WORK_PER_THREAD`] units of work.
    pub fn threads_for(&self, arch: &Architecture<'_>, samples: usize) -> usize {
        let work = arch.parameter_count().saturating_mul(samples);
        (work / MIN_WORK_PER_THREAD).clamp(1, self.threads.min(samples.max(1)))
    }

    /// Runs `op` with this trainer on one of its pool's threads: a loop of steps inside it
    /// hands its work to the pool once, not once per step. Each step called from outside
    /// the pool moves into it and back (see [`pool_to_enter`](Self::pool_to_enter)), and the
    /// calling thread sleeps meanwhile, to be woken when the step ends: on the paper's
    /// official run, a few percent of the step. Without a pool, or from one of its threads,
    /// `op` runs on the calling thread. The results are the same either way.
    pub fn on_pool<R: Send>(&mut self, op: impl FnOnce(&mut Self) -> R + Send) -> R {
        match self.pool_to_enter() {
            Some(pool) => pool.install(|| op(self)),
            None => op(self),
        }
    }

    /// The pool, if a split step called from outside it should first move into it: it then
    /// hands work to the pool once, its phases pass between threads that are awake (handing
    /// each phase over from outside wakes the pool's threads and then the caller, every
    /// phase), and the calling thread is a pool thread whose share [`Balance`] knows.
    fn pool_to_enter(&self) -> Option<Arc<rayon::ThreadPool>> {
        self.pool
            .as_ref()
            .filter(|pool| pool.current_thread_index().is_none())
            .cloned()
    }

    /// One optimizer step on one batch (the whole training set for full-batch training).
    /// Returns the batch's loss before the step; a NaN or infinite loss is an error and leaves
    /// the parameters and the optimizer untouched.
    pub fn step(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        samples: Samples<'_>,
    ) -> Result<f32> {
        let batch = arch.batch_size(samples.inputs)?;
        let (in_w, out_w) = (arch.input_width(), arch.output_width());
        if samples.targets.len() != batch * out_w {
            return Err(Error::LengthMismatch {
                what: "targets",
                expected: batch * out_w,
                actual: samples.targets.len(),
            });
        }
        let threads = self.threads_for(arch, batch);
        if threads > 1 {
            if let Some(pool) = self.pool_to_enter() {
                return pool.install(|| self.step(arch, parameters, samples));
            }
            let share = self.balance.share(Phase::Deltas);
            let parts: Vec<Samples<'_>> = split_rows(threads, batch, share, true)
                .into_iter()
                .map(|rows| Samples {
                    inputs: samples
                        .inputs
                        .get(rows.start * in_w..rows.end * in_w)
                        .unwrap_or(&[]),
                    targets: samples
                        .targets
                        .get(rows.start * out_w..rows.end * out_w)
                        .unwrap_or(&[]),
                })
                .collect();
            return self.split_step(arch, parameters, &parts, Vec::new());
        }
        self.prepare(arch, batch);
        let (g, Some(w)) = (&mut self.gradients, self.workspaces.first_mut()) else {
            return Err(Error::EmptyBatch);
        };
        let value = compute_gradients(arch, self.loss, parameters, samples, batch, g, w)?;
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss);
        }
        self.update(parameters)?;
        Ok(value)
    }

    /// A step with the batch split into `parts` (one per thread, in order; each part's
    /// training rows first, then any rows it only evaluates), in two phases on the pool:
    /// every thread runs the forward pass and the deltas of its part
    /// ([`compute_deltas`]); then every thread takes a share of each layer's weight rows and
    /// biases, sums their gradients over the parts laid end to end ([`Joined`],
    /// [`dense::backward_parameter_rows`], in the order one thread sums the whole batch, so the
    /// gradients are bit-identical to its) and updates those parameters at once, while their
    /// gradients are in its cache. No thread adds up another's gradients. If `outputs` has one
    /// buffer per part, each receives its part's outputs.
    ///
    /// The first part of each phase runs on the calling thread, one of the pool's (see
    /// [`pool_to_enter`](Self::pool_to_enter)); the time each thread takes moves the shares
    /// of the next step.
    fn split_step(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        parts: &[Samples<'_>],
        outputs: Vec<&mut Vec<f32>>,
    ) -> Result<f32> {
        let threads = parts.len();
        let (in_w, out_w) = (arch.input_width(), arch.output_width());
        let training = |part: &Samples<'_>| part.targets.len() / out_w.max(1);
        let batch: usize = parts.iter().map(training).sum();
        let p = arch.parameter_count();
        if self.workspaces.len() < threads || self.deltas.len() < threads {
            return Err(Error::InvalidSetting("more parts than threads"));
        }
        for ((part, w), d) in parts.iter().zip(&mut self.workspaces).zip(&mut self.deltas) {
            let rows = part.inputs.len() / in_w.max(1);
            let needed = workspace_count(arch.widths(), rows);
            if w.len() < needed {
                w.resize(needed, 0.0);
            }
            d.resize(arch.activation_len(training(part)), 0.0);
        }
        let loss = self.loss;
        let params: &[f32] = parameters;
        let jobs: Vec<_> = parts
            .iter()
            .zip(&mut self.workspaces)
            .zip(&mut self.deltas)
            .zip(
                outputs
                    .into_iter()
                    .map(Some)
                    .chain(std::iter::repeat_with(|| None)),
            )
            .map(|(((part, w), d), y)| (part, w, d, y))
            .collect();
        let values = run_parts(self.pool.as_deref(), jobs, |(part, w, d, y)| {
            timed(|| {
                let (value, out) = compute_deltas(arch, loss, params, *part, batch, w, d)?;
                if let Some(y) = y {
                    y.clear();
                    y.extend_from_slice(out);
                }
                Ok::<f32, Error>(value)
            })
        });
        let mut value = 0.0f32;
        let mut times = ThreadTimes::default();
        for (v, time) in values {
            value += v?;
            times.add(time);
        }
        self.balance.update(Phase::Deltas, &times);
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss);
        }

        let passes: Vec<PartPass<'_>> = parts
            .iter()
            .zip(&self.workspaces)
            .zip(&self.deltas)
            .map(|((part, w), d)| {
                let batch = training(part);
                let rows = part.inputs.len() / in_w.max(1);
                PartPass {
                    inputs: part.inputs.get(..batch * in_w).unwrap_or(&[]),
                    stored: Stored {
                        activations: w.get(..arch.activation_len(rows)).unwrap_or(&[]),
                        rows,
                    },
                    deltas: d,
                    batch,
                }
            })
            .collect();
        let gradients = &mut self.gradients;
        gradients.resize(p, 0.0);
        let (update, state) = self.optimizer.begin_step(p)?;
        let whole = UpdateSlices {
            offset: 0,
            parameters,
            gradients,
            state,
        };
        let shares = layer_shares(arch, threads, self.balance.share(Phase::Gradients), whole);
        self.joined
            .resize_with(threads.max(self.joined.len()), Default::default);
        let jobs: Vec<_> = shares.into_iter().zip(&mut self.joined).collect();
        let arithmetic = arch.arithmetic();
        let results = run_parts(self.pool.as_deref(), jobs, |(share, joined)| {
            timed(|| share_gradients_and_update(share, joined, &passes, arithmetic, &update))
        });
        let mut times = ThreadTimes::default();
        for (result, time) in results {
            result?;
            times.add(time);
        }
        self.balance.update(Phase::Gradients, &times);
        Ok(value)
    }

    /// [`step`](Self::step) on the training samples of `batch`, whose forward pass also
    /// evaluates the rows after them; `batch.outputs` receives every row's outputs at the
    /// parameters before the step (see the core's `Trainer::step_observed`). The training
    /// samples are split across the threads exactly as `step` splits them and the other rows
    /// evenly, so the result is bit-identical to a [`predict`](Self::predict) and a `step`.
    pub fn step_observed(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        batch: ObservedBatch<'_>,
    ) -> Result<f32> {
        let (in_w, out_w) = (arch.input_width(), arch.output_width());
        let (rows, train) = batch.rows(arch)?;
        let threads = self.threads_for(arch, train);
        if threads == 1 {
            self.prepare(arch, rows);
            let (g, Some(w)) = (&mut self.gradients, self.workspaces.first_mut()) else {
                return Err(Error::EmptyBatch);
            };
            let value =
                compute_gradients_observed(arch, self.loss, parameters, batch, train, g, w)?;
            if !value.is_finite() {
                return Err(Error::NonFiniteLoss);
            }
            self.update(parameters)?;
            return Ok(value);
        }
        if let Some(pool) = self.pool_to_enter() {
            return pool.install(|| self.step_observed(arch, parameters, batch));
        }
        // Thread t: training rows as in `step`, then as large a share of the other rows,
        // gathered into buffers of its own; the outputs are scattered back afterwards.
        let share = self.balance.share(Phase::Deltas);
        let train_parts = split_rows(threads, train, share, true);
        let extra_parts = split_rows(threads, rows - train, share, false);
        let part = |t: usize| {
            let train_rows = train_parts.get(t).cloned().unwrap_or(0..0);
            let extra_rows = extra_parts.get(t).cloned().unwrap_or(0..0);
            (train_rows, train + extra_rows.start..train + extra_rows.end)
        };
        let mut buffers = std::mem::take(&mut self.rows);
        buffers.resize_with(threads.max(buffers.len()), Default::default);
        for (t, (x, _)) in buffers.iter_mut().take(threads).enumerate() {
            let (train_rows, extra_rows) = part(t);
            x.clear();
            for r in [train_rows, extra_rows] {
                let inputs = batch.inputs.get(r.start * in_w..r.end * in_w);
                x.extend_from_slice(inputs.unwrap_or(&[]));
            }
        }
        let (xs, ys): (Vec<&Vec<f32>>, Vec<&mut Vec<f32>>) = buffers
            .iter_mut()
            .take(threads)
            .map(|(x, y)| (&*x, y))
            .unzip();
        let parts: Vec<Samples<'_>> = xs
            .iter()
            .enumerate()
            .map(|(t, x)| {
                let (train_rows, _) = part(t);
                Samples {
                    inputs: x,
                    targets: batch
                        .targets
                        .get(train_rows.start * out_w..train_rows.end * out_w)
                        .unwrap_or(&[]),
                }
            })
            .collect();
        let result = self.split_step(arch, parameters, &parts, ys);
        if result.is_ok() {
            for (t, (_, y)) in buffers.iter().take(threads).enumerate() {
                let (train_rows, extra_rows) = part(t);
                let (y_train, y_extra) = y.split_at((train_rows.len() * out_w).min(y.len()));
                for (r, y) in [(train_rows, y_train), (extra_rows, y_extra)] {
                    if let Some(out) = batch.outputs.get_mut(r.start * out_w..r.end * out_w) {
                        out.copy_from_slice(y);
                    }
                }
            }
        }
        self.rows = buffers;
        result
    }

    /// Sizes the gradient buffer for the network and the first workspace for `rows` rows.
    fn prepare(&mut self, arch: &Architecture<'_>, rows: usize) {
        self.gradients.resize(arch.parameter_count(), 0.0);
        let needed = workspace_count(arch.widths(), rows);
        if let Some(w) = self.workspaces.first_mut() {
            if w.len() < needed {
                w.resize(needed, 0.0);
            }
        }
    }

    /// One optimizer step from the first gradient buffer, split into one range of parameters
    /// per thread.
    fn update(&mut self, parameters: &mut [f32]) -> Result<()> {
        let p = parameters.len();
        let gradients = &mut self.gradients;
        let (update, state) = self.optimizer.begin_step(p)?;
        let ranges = (p / MIN_PARAMETERS_PER_THREAD).clamp(1, self.threads);
        // Ranges are multiples of 16 values so that no two threads share a cache line.
        let range = p.div_ceil(ranges).next_multiple_of(16);
        let parts = UpdateSlices {
            offset: 0,
            parameters,
            gradients,
            state,
        }
        .split(range);
        run_parts(self.pool.as_deref(), parts, |part| {
            update.apply(part.parameters, part.gradients, part.state);
        });
        Ok(())
    }

    /// One epoch of mini-batches of `batch_size` samples in a fresh random order (the last batch
    /// may be smaller), drawn exactly as the core's `Trainer::epoch` draws them. Returns the
    /// mean loss over the epoch's samples.
    pub fn epoch(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        samples: Samples<'_>,
        batch_size: usize,
        buffers: BatchBuffers<'_>,
        rng: &mut Rng,
    ) -> Result<f32> {
        self.on_pool(|trainer| {
            for_each_mini_batch(arch, samples, batch_size, buffers, rng, |batch| {
                trainer.step(arch, parameters, batch)
            })
        })
    }

    /// The network's outputs on any number of inputs (a whole analysis grid), split across
    /// the threads and written to `outputs`. Each output depends only on its own input, so the
    /// result does not depend on the thread count.
    pub fn predict(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &[f32],
        inputs: &[f32],
        outputs: &mut [f32],
    ) -> Result<()> {
        let n = arch.batch_size(inputs)?;
        let (in_w, out_w) = (arch.input_width(), arch.output_width());
        if outputs.len() != n * out_w {
            return Err(Error::LengthMismatch {
                what: "outputs",
                expected: n * out_w,
                actual: outputs.len(),
            });
        }
        if n == 0 {
            return Ok(());
        }
        // A forward pass is a third of a step's work.
        let threads = self.threads_for(arch, n.div_ceil(3));
        let rows = n.div_ceil(threads);
        let needed = activation_count(arch.widths(), rows);
        let jobs: Vec<_> = inputs
            .chunks(rows * in_w)
            .zip(outputs.chunks_mut(rows * out_w))
            .zip(&mut self.workspaces)
            .map(|((x, y), w)| {
                if w.len() < needed {
                    w.resize(needed, 0.0);
                }
                (x, y, w)
            })
            .collect();
        run_parts(self.pool.as_deref(), jobs, |(x, y, w)| -> Result<()> {
            y.copy_from_slice(arch.forward(parameters, x, w)?);
            Ok(())
        })
        .into_iter()
        .collect()
    }

    /// The loss of the network on `samples` (a test set), without training.
    pub fn evaluate(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &[f32],
        samples: Samples<'_>,
        outputs: &mut [f32],
    ) -> Result<f32> {
        self.predict(arch, parameters, samples.inputs, outputs)?;
        self.loss
            .value(outputs, samples.targets, arch.output_width())
    }
}

/// One thread's share of phase 2 of a split step: for each layer piece, the gradients of its
/// weight rows and biases summed over the parts in order (joined end to end in `joined`),
/// then the update of those parameters.
fn share_gradients_and_update(
    share: Vec<LayerPiece<'_>>,
    joined: &mut Joined,
    passes: &[PartPass<'_>],
    arithmetic: Arithmetic,
    update: &Update,
) -> Result<()> {
    for piece in share {
        let LayerPiece {
            layer,
            rows,
            units,
            weight,
            bias,
        } = piece;
        let (shape, (inputs, deltas), rows) = match passes {
            [pass] => {
                let shape = DenseShape {
                    batch: pass.batch,
                    inputs: layer.inputs,
                    outputs: layer.outputs,
                };
                let operands = (pass.layer_inputs(&layer), pass.layer_deltas(&layer));
                (shape, operands, rows)
            }
            _ => joined.layer(&layer, rows, passes),
        };
        dense::backward_parameter_rows(
            shape,
            arithmetic,
            (inputs, deltas),
            (rows, units),
            Sums::Start,
            (&mut *weight.gradients, &mut *bias.gradients),
        )?;
        for slices in [weight, bias] {
            update.apply(slices.parameters, slices.gradients, slices.state);
        }
    }
    Ok(())
}

/// One layer's inputs and deltas of every part of a batch, end to end in the parts' order; of
/// the inputs only those a thread's weight rows multiply.
///
/// A thread sums the gradient of its weight rows over the whole batch in one product: part by
/// part, each a few dozen samples, the sums were stored and loaded again between parts and
/// the deltas packed once per part, which cost more than copying the parts here. The sums are
/// the same, in the same order, so the gradients are too, bit for bit.
#[derive(Debug, Clone, Default)]
struct Joined {
    inputs: Vec<f32>,
    deltas: Vec<f32>,
}

impl Joined {
    /// The operands of the gradient of `layer`'s weight rows `rows` over the training rows of
    /// all `passes`: the shape of a layer with just those inputs, its inputs and deltas, and
    /// the rows' range in it (all of them).
    fn layer(
        &mut self,
        layer: &LayerShape,
        rows: Range<usize>,
        passes: &[PartPass<'_>],
    ) -> (DenseShape, (&[f32], &[f32]), Range<usize>) {
        self.inputs.clear();
        self.deltas.clear();
        for pass in passes {
            for sample in pass.layer_inputs(layer).chunks_exact(layer.inputs.max(1)) {
                self.inputs
                    .extend_from_slice(sample.get(rows.clone()).unwrap_or(&[]));
            }
            self.deltas.extend_from_slice(pass.layer_deltas(layer));
        }
        let shape = DenseShape {
            batch: passes.iter().map(|pass| pass.batch).sum(),
            inputs: rows.len(),
            outputs: layer.outputs,
        };
        (shape, (&self.inputs, &self.deltas), 0..rows.len())
    }
}

/// The phases of a split step, whose shares [`Balance`] keeps apart.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// The forward pass and the deltas of each thread's part of the batch.
    Deltas = 0,
    /// The gradients and update of each thread's share of the parameters.
    Gradients = 1,
}

/// How the work of each phase of a step is shared between two threads, learned as training
/// runs.
///
/// The two cores of a shared or virtual machine are often not equally fast for stretches of
/// time, and with even shares the faster one then waits at the end of every phase. After each phase the share of the thread that took
/// longer shrinks a little, in proportion to the difference; shares that follow the threads'
/// recent speed keep both busy to the end. Any split gives the same sums, so the shares change
/// the speed, never a result. With more than two threads the parts stay even.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Balance {
    /// Per [`Phase`], the share of the pool's thread 0 (thread 1 takes the rest).
    first: [f64; 2],
    /// Whether the shares follow the threads' times (else they stay as they are).
    adaptive: bool,
}

impl Balance {
    /// Even shares, kept even.
    const EVEN: Balance = Balance {
        first: [0.5; 2],
        adaptive: false,
    };
    /// Even shares to start with, then following the threads' times.
    const FOLLOWING: Balance = Balance {
        adaptive: true,
        ..Self::EVEN
    };
    /// How far one phase's imbalance moves the share, as a fraction of the relative difference
    /// of the threads' times: small, so that one slow step (a thread preempted once) moves it
    /// little, and large enough to follow a change within tens of steps.
    const GAIN: f64 = 0.2;
    /// The least share of either thread.
    const LEAST: f64 = 0.2;

    /// The share of the work of `phase` for the thread calling, which runs the first part
    /// (one half without a pool thread's index).
    fn share(&self, phase: Phase) -> f64 {
        match rayon::current_thread_index() {
            Some(0) => self.first[phase as usize],
            Some(1) => 1.0 - self.first[phase as usize],
            _ => 0.5,
        }
    }

    /// Moves the share of `phase` toward equal times, from the seconds each of the two pool
    /// threads took (nothing if one thread did both parts, or if the shares are fixed).
    fn update(&mut self, phase: Phase, times: &ThreadTimes) {
        if !self.adaptive {
            return;
        }
        if let Some([a, b]) = times.pair() {
            if a + b > 0.0 {
                let first = &mut self.first[phase as usize];
                *first =
                    (*first + Self::GAIN * (b - a) / (a + b)).clamp(Self::LEAST, 1.0 - Self::LEAST);
            }
        }
    }
}

/// The seconds each part of a phase took, with the pool thread that ran it.
#[derive(Debug, Clone, Default)]
struct ThreadTimes {
    parts: Vec<(Option<usize>, f64)>,
}

impl ThreadTimes {
    /// Adds the time of one part.
    fn add(&mut self, part: (Option<usize>, f64)) {
        self.parts.push(part);
    }

    /// The seconds of pool threads 0 and 1, if the phase had two parts and each ran one (not
    /// if one thread ran both because its partner never took one).
    fn pair(&self) -> Option<[f64; 2]> {
        match *self.parts.as_slice() {
            [(Some(0), a), (Some(1), b)] | [(Some(1), b), (Some(0), a)] => Some([a, b]),
            _ => None,
        }
    }
}

/// `job`'s result with the pool thread that ran it and the seconds it took.
fn timed<R>(job: impl FnOnce() -> R) -> (R, (Option<usize>, f64)) {
    let start = std::time::Instant::now();
    let result = job();
    let thread = rayon::current_thread_index();
    (result, (thread, start.elapsed().as_secs_f64()))
}

/// `n` rows in `parts` consecutive parts: near-equal ones, or with two parts, a first one of
/// about `first_share` of the rows. If `each_one`, each of two parts keeps a row when `n ≥ 2`.
fn split_rows(parts: usize, n: usize, first_share: f64, each_one: bool) -> Vec<Range<usize>> {
    if parts != 2 {
        return (0..parts).map(|t| part_rows(t, parts, n)).collect();
    }
    let keep = usize::from(each_one && n >= 2);
    let first = ((n as f64 * first_share).round() as usize).clamp(keep, n - keep);
    vec![0..first, first..n]
}

/// Rows `t·n/T .. (t+1)·n/T` of `n`: part `t` of `T` near-equal consecutive parts.
fn part_rows(t: usize, parts: usize, n: usize) -> Range<usize> {
    t * n / parts..(t + 1) * n / parts
}

/// What one thread's forward pass left for the parameter gradients: its training rows'
/// inputs, the activations of all its rows, and its training rows' deltas.
struct PartPass<'a> {
    inputs: &'a [f32],
    stored: Stored<'a>,
    /// Laid out as the activations of `batch` rows.
    deltas: &'a [f32],
    /// Training rows of the part.
    batch: usize,
}

impl PartPass<'_> {
    /// The inputs of `layer` for the part's training rows: the samples' inputs for the first
    /// layer, the previous layer's outputs for the others.
    fn layer_inputs(&self, layer: &LayerShape) -> &[f32] {
        if layer.activation_offset == 0 {
            return self.inputs;
        }
        let start = (layer.activation_offset - layer.inputs) * self.stored.rows;
        let end = start + layer.inputs * self.batch;
        self.stored.activations.get(start..end).unwrap_or(&[])
    }

    /// The deltas of `layer`'s units for the part's training rows.
    fn layer_deltas(&self, layer: &LayerShape) -> &[f32] {
        let start = layer.activation_offset * self.batch;
        let end = start + layer.outputs * self.batch;
        self.deltas.get(start..end).unwrap_or(&[])
    }
}

/// One thread's share of one layer: the weight rows (inputs) and the units whose gradients it
/// sums, and the slices of those weight rows and biases.
struct LayerPiece<'a> {
    layer: LayerShape,
    rows: Range<usize>,
    units: Range<usize>,
    weight: UpdateSlices<'a>,
    bias: UpdateSlices<'a>,
}

/// Shares `whole` (all the parameters) out among `threads` threads: thread t takes part t of
/// the rows of every layer's weight and of the biases of its units, split by [`split_rows`]
/// (with two threads, the first takes about `first_share` of each).
fn layer_shares<'a>(
    arch: &Architecture<'_>,
    threads: usize,
    first_share: f64,
    whole: UpdateSlices<'a>,
) -> Vec<Vec<LayerPiece<'a>>> {
    let mut shares: Vec<Vec<LayerPiece<'a>>> = (0..threads).map(|_| Vec::new()).collect();
    let mut rest = whole;
    for layer in arch.layers() {
        let weights_end = layer.parameter_offset + layer.inputs * layer.outputs;
        let all_rows = split_rows(threads, layer.inputs, first_share, false);
        let all_units = split_rows(threads, layer.outputs, first_share, false);
        for ((share, rows), units) in shares.iter_mut().zip(all_rows).zip(all_units) {
            let (weight, tail) =
                rest.split_off(weights_end.min(layer.parameter_offset + rows.end * layer.outputs));
            rest = tail;
            share.push(LayerPiece {
                layer,
                rows,
                units,
                weight,
                // Filled below, once the weights are all handed out.
                bias: UpdateSlices::empty(),
            });
        }
        for share in shares.iter_mut() {
            if let Some(piece) = share.last_mut() {
                let (bias, tail) = rest.split_off(weights_end + piece.units.end);
                rest = tail;
                piece.bias = bias;
            }
        }
    }
    shares
}

/// A range of the parameters with the matching gradients and optimizer state, starting at
/// parameter `offset`.
struct UpdateSlices<'a> {
    offset: usize,
    parameters: &'a mut [f32],
    gradients: &'a mut [f32],
    /// Empty slices stay empty (an optimizer's unused state).
    state: State<'a>,
}

impl<'a> UpdateSlices<'a> {
    /// No parameters.
    fn empty() -> Self {
        UpdateSlices {
            offset: 0,
            parameters: &mut [],
            gradients: &mut [],
            state: [&mut [], &mut []],
        }
    }

    /// The parameters before offset `end` (of the whole), and the rest.
    fn split_off(self, end: usize) -> (UpdateSlices<'a>, UpdateSlices<'a>) {
        let n = end.saturating_sub(self.offset).min(self.parameters.len());
        let UpdateSlices {
            offset,
            parameters,
            gradients,
            state: [first, second],
        } = self;
        let (p, p_rest) = parameters.split_at_mut(n);
        let (g, g_rest) = gradients.split_at_mut(n.min(gradients.len()));
        let (f, f_rest) = first.split_at_mut(n.min(first.len()));
        let (s, s_rest) = second.split_at_mut(n.min(second.len()));
        (
            UpdateSlices {
                offset,
                parameters: p,
                gradients: g,
                state: [f, s],
            },
            UpdateSlices {
                offset: offset + n,
                parameters: p_rest,
                gradients: g_rest,
                state: [f_rest, s_rest],
            },
        )
    }

    /// Consecutive pieces of at most `len` parameters each.
    fn split(self, len: usize) -> Vec<UpdateSlices<'a>> {
        let mut pieces = Vec::with_capacity(self.parameters.len().div_ceil(len.max(1)));
        let mut rest = self;
        while !rest.parameters.is_empty() {
            let end = rest.offset + len.max(1);
            let (piece, tail) = rest.split_off(end);
            pieces.push(piece);
            rest = tail;
        }
        pieces
    }
}

/// Runs `job` on every part, on the pool's threads if there is more than one part, and returns
/// the results in the parts' order.
fn run_parts<T: Send, R: Send>(
    pool: Option<&rayon::ThreadPool>,
    parts: Vec<T>,
    job: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    match pool {
        Some(pool) if parts.len() > 1 => {
            pool.install(|| parts.into_par_iter().with_max_len(1).map(job).collect())
        }
        _ => parts.into_iter().map(job).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fprinciple_core::init::{Init, LayerInit};
    use fprinciple_core::optim::Adam;
    use fprinciple_core::train::Trainer;

    const WIDTHS: [usize; 4] = [3, 40, 30, 2];

    fn data(n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let mut rng = Rng::new(7);
        let mut params = vec![0.0; arch.parameter_count()];
        Init::Uniform(LayerInit::normal(0.3))
            .initialize(&arch, &mut params, &mut rng)
            .unwrap();
        let x = (0..3 * n).map(|_| rng.normal_f32(1.0)).collect();
        let y = (0..2 * n).map(|_| rng.normal_f32(1.0)).collect();
        (params, x, y)
    }

    fn adam(p: usize) -> Adam<Vec<f32>> {
        Adam::new(1e-3, vec![0.0; p], vec![0.0; p]).unwrap()
    }

    #[test]
    fn one_thread_is_bit_identical_to_the_core_trainer() {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let p = arch.parameter_count();
        let (params, x, y) = data(50);
        let samples = Samples {
            inputs: &x,
            targets: &y,
        };
        let (mut a, mut b) = (params.clone(), params);
        let mut core = Trainer::new(
            Loss::MeanSquaredError,
            adam(p),
            vec![0.0; p],
            vec![0.0; workspace_count(&WIDTHS, 50)],
        );
        let mut par = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), 1);
        for _ in 0..5 {
            let la = core.step(&arch, &mut a, samples).unwrap();
            let lb = par.step(&arch, &mut b, samples).unwrap();
            assert_eq!(la.to_bits(), lb.to_bits());
        }
        assert_eq!(a, b);
    }

    #[test]
    fn threads_add_up_to_the_full_batch_and_are_deterministic() {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let p = arch.parameter_count();
        // Enough samples that the work rule lets three threads split the batch.
        let n = 3 * MIN_WORK_PER_THREAD / p + 3;
        let (params, x, y) = data(n);
        let samples = Samples {
            inputs: &x,
            targets: &y,
        };
        let mut single = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), 1);
        let mut a = params.clone();
        let la = single.step(&arch, &mut a, samples).unwrap();
        let mut runs = Vec::new();
        for _ in 0..2 {
            let mut multi = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), 3);
            assert_eq!(multi.threads_for(&arch, n), 3);
            let mut b = params.clone();
            let lb = multi.step(&arch, &mut b, samples).unwrap();
            // The loss is the parts' losses added up, so its last bits may differ; the
            // gradients are summed over the whole batch in order, so they and the parameters
            // are those of one thread exactly.
            assert!((la - lb).abs() <= 1e-5 * la.abs());
            assert_eq!(single.gradients(), multi.gradients());
            assert_eq!(a, b);
            runs.push((lb.to_bits(), b));
        }
        assert_eq!(runs[0], runs[1]);

        let mut out1 = vec![0.0; 2 * n];
        let mut out3 = vec![0.0; 2 * n];
        single.predict(&arch, &a, &x, &mut out1).unwrap();
        let mut multi = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), 3);
        multi.predict(&arch, &a, &x, &mut out3).unwrap();
        assert_eq!(out1, out3);
    }

    /// An observed batch worth splitting across some threads: training rows first, then extra
    /// rows that are only evaluated.
    struct ObservedData {
        arch: Architecture<'static>,
        train: usize,
        extra: usize,
        params: Vec<f32>,
        /// Every row's inputs.
        x: Vec<f32>,
        /// The training rows' targets.
        y: Vec<f32>,
    }

    impl ObservedData {
        /// A batch with enough training rows for `threads` threads.
        fn new(threads: usize) -> Self {
            let arch = Architecture::tanh(&WIDTHS).unwrap();
            let train = threads * MIN_WORK_PER_THREAD / arch.parameter_count() + 5;
            let extra = 17;
            let (params, x, mut y) = data(train + extra);
            y.truncate(2 * train);
            ObservedData {
                arch,
                train,
                extra,
                params,
                x,
                y,
            }
        }

        fn trainer(&self, threads: usize) -> ParallelTrainer<Adam<Vec<f32>>> {
            let p = self.arch.parameter_count();
            ParallelTrainer::new(Loss::MeanSquaredError, adam(p), threads)
        }

        /// The training rows alone.
        fn training(&self) -> Samples<'_> {
            Samples {
                inputs: &self.x[..3 * self.train],
                targets: &self.y,
            }
        }

        /// Every row's outputs at `params` (a prediction), then a plain step on the training
        /// rows: what an observed step must give. Returns the outputs and the loss.
        fn predict_then_step(
            &self,
            trainer: &mut ParallelTrainer<Adam<Vec<f32>>>,
            params: &mut [f32],
        ) -> (Vec<f32>, f32) {
            let mut outputs = vec![0.0; 2 * (self.train + self.extra)];
            trainer
                .predict(&self.arch, params, &self.x, &mut outputs)
                .unwrap();
            let loss = trainer.step(&self.arch, params, self.training()).unwrap();
            (outputs, loss)
        }

        /// One observed step; returns every row's outputs and the loss.
        fn observed_step(
            &self,
            trainer: &mut ParallelTrainer<Adam<Vec<f32>>>,
            params: &mut [f32],
        ) -> (Vec<f32>, f32) {
            let mut outputs = vec![0.0; 2 * (self.train + self.extra)];
            let batch = ObservedBatch {
                inputs: &self.x,
                targets: &self.y,
                outputs: &mut outputs,
            };
            let loss = trainer.step_observed(&self.arch, params, batch).unwrap();
            (outputs, loss)
        }
    }

    /// Two threads with uneven shares (fixed here; in training they follow the threads' speed)
    /// give the parameters and outputs of one thread, bit for bit, whichever thread runs the
    /// first part.
    #[test]
    fn uneven_shares_give_the_parameters_of_one_thread() {
        let data = ObservedData::new(2);
        let mut single = data.trainer(1);
        let mut a = data.params.clone();
        let mut steps = Vec::new();
        for _ in 0..3 {
            let (expected, _) = data.predict_then_step(&mut single, &mut a);
            steps.push((expected, a.clone()));
        }
        for first in [[0.2, 0.8], [0.7, 0.3]] {
            let mut pair = data.trainer(2);
            assert_eq!(pair.threads_for(&data.arch, data.train), 2);
            let fixed = Balance {
                first,
                ..Balance::EVEN
            };
            pair.balance = fixed;
            let mut b = data.params.clone();
            for (expected, after) in &steps {
                let (outputs, _) = data.observed_step(&mut pair, &mut b);
                assert_eq!(&outputs, expected);
                assert_eq!(&b, after);
            }
            assert_eq!(pair.balance, fixed, "fixed shares stay");
            // A plain step splits its batch by the same shares.
            let mut fresh = data.trainer(2);
            fresh.balance = fixed;
            let mut c = data.params.clone();
            fresh.step(&data.arch, &mut c, data.training()).unwrap();
            assert_eq!(c, steps[0].1);
        }
    }

    /// The share of the thread that took longer shrinks, in proportion to the difference,
    /// never below the least share; a phase whose times are unknown, or fixed shares, change
    /// nothing.
    #[test]
    fn the_slower_thread_gets_less_work() {
        let mut balance = Balance::FOLLOWING;
        let mut times = ThreadTimes::default();
        times.add((Some(0), 3.0));
        times.add((Some(1), 1.0));
        balance.update(Phase::Deltas, &times);
        assert!((balance.first[0] - (0.5 - Balance::GAIN * 0.5)).abs() < 1e-12);
        assert_eq!(balance.first[1], 0.5, "the other phase keeps its share");
        for _ in 0..100 {
            balance.update(Phase::Deltas, &times);
        }
        assert_eq!(balance.first[0], Balance::LEAST);
        let before = balance;
        let mut both_on_one = ThreadTimes::default();
        both_on_one.add((Some(1), 1.0));
        both_on_one.add((Some(1), 1.0));
        both_on_one.add((Some(0), 1.0));
        balance.update(Phase::Deltas, &both_on_one);
        balance.update(Phase::Gradients, &ThreadTimes::default());
        assert_eq!(balance, before);
        let mut fixed = Balance::EVEN;
        fixed.update(Phase::Deltas, &times);
        assert_eq!(fixed, Balance::EVEN, "fixed shares do not follow the times");
    }

    /// Two parts take about the share asked for, each keeping a row if asked; other part
    /// counts stay even.
    #[test]
    fn rows_split_by_share() {
        assert_eq!(split_rows(2, 10, 0.3, true), [0..3, 3..10]);
        assert_eq!(split_rows(2, 10, 0.0, true), [0..1, 1..10]);
        assert_eq!(split_rows(2, 10, 1.0, false), [0..10, 10..10]);
        assert_eq!(split_rows(2, 1, 0.5, true), [0..1, 1..1]);
        assert_eq!(split_rows(2, 0, 0.5, true), [0..0, 0..0]);
        assert_eq!(split_rows(3, 10, 0.9, true), [0..3, 3..6, 6..10]);
    }

    /// An observed step on 1 and 3 threads equals a prediction and a plain step on as many,
    /// bit for bit; the prediction does not depend on the thread count.
    #[test]
    fn observed_steps_match_predict_then_step() {
        let data = ObservedData::new(3);
        for threads in [1, 3] {
            let mut separate = data.trainer(threads);
            let mut observed = data.trainer(threads);
            assert_eq!(observed.threads_for(&data.arch, data.train), threads);
            let (mut a, mut b) = (data.params.clone(), data.params.clone());
            for _ in 0..2 {
                let (expected, la) = data.predict_then_step(&mut separate, &mut a);
                let (outputs, lb) = data.observed_step(&mut observed, &mut b);
                assert_eq!(la.to_bits(), lb.to_bits());
                assert_eq!(expected, outputs);
                assert_eq!(a, b);
            }
        }
    }

    /// Steps in a loop on the pool (`on_pool`) run on one of its threads and give the
    /// parameters and outputs of the same steps called one by one from outside it; with one
    /// thread there is no pool and the loop runs where it is called.
    #[test]
    fn a_loop_on_the_pool_gives_the_steps_of_one_called_from_outside() {
        let data = ObservedData::new(2);
        for threads in [1, 2] {
            let mut outside = data.trainer(threads);
            let mut inside = data.trainer(threads);
            let (mut a, mut b) = (data.params.clone(), data.params.clone());
            let expected: Vec<_> = (0..3)
                .map(|_| data.observed_step(&mut outside, &mut a))
                .collect();
            let (thread, got) = inside.on_pool(|trainer| {
                let steps: Vec<_> = (0..3)
                    .map(|_| data.observed_step(trainer, &mut b))
                    .collect();
                (rayon::current_thread_index(), steps)
            });
            assert_eq!(thread.is_some(), threads > 1, "{threads} thread(s)");
            for ((outputs, loss), (expected, expected_loss)) in got.iter().zip(&expected) {
                assert_eq!(loss.to_bits(), expected_loss.to_bits());
                assert_eq!(outputs, expected);
            }
            assert_eq!(a, b);
        }
    }

    /// SGD keeps one kind of state (Adam two): the update's pieces must carry the empty one
    /// along. Three threads give the parameters of one.
    #[test]
    fn sgd_steps_on_several_threads_update_every_parameter() {
        use fprinciple_core::optim::Sgd;
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let p = arch.parameter_count();
        let n = 3 * MIN_WORK_PER_THREAD / p + 3;
        let (params, x, y) = data(n);
        let samples = Samples {
            inputs: &x,
            targets: &y,
        };
        let sgd = || Sgd::new(0.05, 0.9, vec![0.0; p]).unwrap();
        let mut single = ParallelTrainer::new(Loss::MeanSquaredError, sgd(), 1);
        let mut multi = ParallelTrainer::new(Loss::MeanSquaredError, sgd(), 3);
        let (mut a, mut b) = (params.clone(), params.clone());
        for _ in 0..3 {
            single.step(&arch, &mut a, samples).unwrap();
            multi.step(&arch, &mut b, samples).unwrap();
        }
        let moved = a.iter().zip(&params).filter(|(a, p)| a != p).count();
        assert!(moved > p * 9 / 10, "only {moved} of {p} parameters moved");
        assert_eq!(a, b);
    }

    #[test]
    fn small_batches_stay_on_one_thread() {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let trainer = ParallelTrainer::new(Loss::MeanSquaredError, adam(1), 4);
        assert_eq!(trainer.threads_for(&arch, 10), 1);
        assert_eq!(trainer.threads_for(&arch, 0), 1);
    }
}
