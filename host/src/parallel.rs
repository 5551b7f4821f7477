//! Data-parallel training: one batch split across the threads of a pool.
//!
//! [`ParallelTrainer`] mirrors [`fprinciple_core::train::Trainer`] (`step`, `epoch`, `predict`,
//! `evaluate`, `optimizer`) so an experiment can swap it in. Each step splits the batch into
//! contiguous parts, one per thread; every thread runs
//! [`compute_gradients`](fprinciple_core::train::compute_gradients) on its part with the loss
//! normalized by the *whole* batch, so the parts' gradients add up to the full-batch gradient.
//! The optimizer step is split too: each thread takes a range of the parameters, adds the
//! parts' gradients there in thread order and applies the step's update
//! ([`Optimizer::begin_step`], [`Update::apply`](fprinciple_core::optim::Update::apply)).
//! Results depend on the thread count but never on scheduling, and with one thread they are
//! bit-identical to the core's `Trainer`.
//!
//! The threads are a [`rayon`] pool owned by the trainer and kept for its lifetime: handing a
//! pool work costs microseconds, where starting threads for each call cost tens of them. Small
//! batches still run on the calling thread alone (see [`MIN_WORK_PER_THREAD`]).

use std::sync::Arc;

use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::{activation_count, Architecture};
use fprinciple_core::optim::{Optimizer, State};
use fprinciple_core::rng::Rng;
use fprinciple_core::train::{
    compute_gradients, compute_gradients_observed, for_each_mini_batch, workspace_count,
    BatchBuffers, ObservedBatch, Samples,
};
use fprinciple_core::{Error, Result};
use rayon::prelude::*;

/// A batch is split only if every thread gets at least this much work, counted as parameters ×
/// samples (one forward and backward pass costs about 6 flop per unit). 2²⁰ units are about
/// 6 Mflop, a fraction of a millisecond: far more than handing work to the pool.
pub const MIN_WORK_PER_THREAD: usize = 1 << 20;

/// Parameters summed and updated at a time by each thread: the chunk's parameters, gradients
/// and optimizer state (5 × 4 KiB) fit an L1 cache.
const UPDATE_CHUNK: usize = 1024;

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
    /// One gradient buffer and one workspace per thread; thread 0's gradient receives the sum.
    gradients: Vec<Vec<f32>>,
    workspaces: Vec<Vec<f32>>,
    /// Per thread, the input and output rows of its part of an observed batch.
    rows: Vec<(Vec<f32>, Vec<f32>)>,
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
            gradients: vec![Vec::new(); threads],
            workspaces: vec![Vec::new(); threads],
            rows: vec![(Vec::new(), Vec::new()); threads],
        }
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
        self.gradients.first().map_or(&[], Vec::as_slice)
    }

    /// Threads worth using for `samples` samples: each must get at least one sample and
    /// [`MIN_WORK_PER_THREAD`] units of work.
    pub fn threads_for(&self, arch: &Architecture<'_>, samples: usize) -> usize {
        let work = arch.parameter_count().saturating_mul(samples);
        (work / MIN_WORK_PER_THREAD).clamp(1, self.threads.min(samples.max(1)))
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
        let threads = self.threads_for(arch, batch);
        self.prepare(arch, threads, batch.div_ceil(threads));
        let loss = self.loss;
        let params: &[f32] = parameters;
        let jobs: Vec<_> = self
            .gradients
            .iter_mut()
            .zip(&mut self.workspaces)
            .take(threads)
            .enumerate()
            .map(|(t, (g, w))| {
                let (start, end) = (t * batch / threads, (t + 1) * batch / threads);
                let part = Samples {
                    inputs: samples.inputs.get(start * in_w..end * in_w).unwrap_or(&[]),
                    targets: samples
                        .targets
                        .get(start * out_w..end * out_w)
                        .unwrap_or(&[]),
                };
                (part, g, w)
            })
            .collect();
        if jobs.is_empty() {
            return Err(Error::EmptyBatch);
        }
        let values = run_parts(self.pool.as_deref(), jobs, |(part, g, w)| {
            compute_gradients(arch, loss, params, part, batch, g, w)
        });
        let mut value = 0.0f32;
        for v in values {
            value += v?;
        }
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss);
        }
        self.update(parameters, threads)?;
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
        let rows = arch.batch_size(batch.inputs)?;
        let train = batch.targets.len() / out_w.max(1);
        if train == 0 {
            return Err(Error::EmptyBatch);
        }
        if train * out_w != batch.targets.len()
            || train > rows
            || batch.outputs.len() != rows * out_w
        {
            return Err(Error::LengthMismatch {
                what: "observed batch (targets for at most every input row, outputs for each)",
                expected: rows * out_w,
                actual: batch.outputs.len(),
            });
        }
        let threads = self.threads_for(arch, train);
        let extra = rows - train;
        // Thread t: training rows t·train/T .., then other rows t·extra/T .. (as in `step`).
        let part = |t: usize| {
            let (train_start, train_end) = (t * train / threads, (t + 1) * train / threads);
            let (extra_start, extra_end) = (t * extra / threads, (t + 1) * extra / threads);
            (
                train_start..train_end,
                train + extra_start..train + extra_end,
            )
        };
        self.prepare(arch, threads, rows.div_ceil(threads) + 1);
        let loss = self.loss;
        let params: &[f32] = parameters;
        let value = if threads == 1 {
            let (g, w) = (self.gradients.first_mut(), self.workspaces.first_mut());
            let (Some(g), Some(w)) = (g, w) else {
                return Err(Error::EmptyBatch);
            };
            compute_gradients_observed(arch, loss, params, batch, train, g, w)?
        } else {
            // Each thread gathers its rows into buffers of its own, then the outputs are
            // scattered back.
            let jobs: Vec<_> = self
                .gradients
                .iter_mut()
                .zip(&mut self.workspaces)
                .zip(&mut self.rows)
                .take(threads)
                .enumerate()
                .map(|(t, ((g, w), (x, y)))| {
                    let (train_rows, extra_rows) = part(t);
                    x.clear();
                    for r in [train_rows.clone(), extra_rows.clone()] {
                        x.extend_from_slice(
                            batch
                                .inputs
                                .get(r.start * in_w..r.end * in_w)
                                .unwrap_or(&[]),
                        );
                    }
                    y.resize(x.len() / in_w * out_w, 0.0);
                    let targets = batch
                        .targets
                        .get(train_rows.start * out_w..train_rows.end * out_w)
                        .unwrap_or(&[]);
                    (targets, g, w, x, y)
                })
                .collect();
            let values = run_parts(self.pool.as_deref(), jobs, |(targets, g, w, x, y)| {
                let part = ObservedBatch {
                    inputs: x,
                    targets,
                    outputs: y,
                };
                compute_gradients_observed(arch, loss, params, part, train, g, w)
            });
            let mut value = 0.0f32;
            for v in values {
                value += v?;
            }
            for (t, (_, y)) in self.rows.iter().take(threads).enumerate() {
                let (train_rows, extra_rows) = part(t);
                let (y_train, y_extra) = y.split_at((train_rows.len() * out_w).min(y.len()));
                for (r, y) in [(train_rows, y_train), (extra_rows, y_extra)] {
                    if let Some(out) = batch.outputs.get_mut(r.start * out_w..r.end * out_w) {
                        out.copy_from_slice(y);
                    }
                }
            }
            value
        };
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss);
        }
        self.update(parameters, threads)?;
        Ok(value)
    }

    /// Sizes the first `threads` gradient buffers for the network and their workspaces for
    /// `rows` rows each.
    fn prepare(&mut self, arch: &Architecture<'_>, threads: usize, rows: usize) {
        let p = arch.parameter_count();
        let needed = workspace_count(arch.widths(), rows);
        for (g, w) in self
            .gradients
            .iter_mut()
            .zip(&mut self.workspaces)
            .take(threads)
        {
            g.resize(p, 0.0);
            if w.len() < needed {
                w.resize(needed, 0.0);
            }
        }
    }

    /// Adds the first `threads` gradient buffers into the first (in thread order) and takes
    /// one optimizer step, both split into one range of parameters per thread.
    fn update(&mut self, parameters: &mut [f32], threads: usize) -> Result<()> {
        let p = parameters.len();
        let (sum, others) = self.gradients.split_at_mut(1);
        let sum = sum.first_mut().map(Vec::as_mut_slice).unwrap_or_default();
        let others: Vec<&[f32]> = others.iter().take(threads - 1).map(Vec::as_slice).collect();
        let (update, state) = self.optimizer.begin_step(p)?;
        let ranges = (p / MIN_PARAMETERS_PER_THREAD).clamp(1, self.threads);
        // Ranges are multiples of 16 values so that no two threads share a cache line.
        let range = p.div_ceil(ranges).next_multiple_of(16);
        let parts = UpdateSlices {
            offset: 0,
            parameters,
            gradients: sum,
            state,
        }
        .split(range);
        run_parts(self.pool.as_deref(), parts, |part| {
            // Chunk by chunk, so that each chunk of summed gradients is still in the L1 cache
            // when the update reads it.
            for chunk in part.split(UPDATE_CHUNK) {
                let start = chunk.offset;
                for other in &others {
                    let other = other.get(start..start + chunk.gradients.len());
                    let other = other.unwrap_or(&[]);
                    chunk
                        .gradients
                        .iter_mut()
                        .zip(other)
                        .for_each(|(s, g)| *s += g);
                }
                update.apply(chunk.parameters, chunk.gradients, chunk.state);
            }
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
        for_each_mini_batch(arch, samples, batch_size, buffers, rng, |batch| {
            self.step(arch, parameters, batch)
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
    /// Consecutive pieces of at most `len` parameters each.
    fn split(self, len: usize) -> Vec<UpdateSlices<'a>> {
        let UpdateSlices {
            mut offset,
            mut parameters,
            mut gradients,
            state: [mut first, mut second],
        } = self;
        let mut pieces = Vec::with_capacity(parameters.len().div_ceil(len.max(1)));
        while !parameters.is_empty() {
            let n = len.max(1).min(parameters.len());
            let (p, p_rest) = parameters.split_at_mut(n);
            let (g, g_rest) = gradients.split_at_mut(n.min(gradients.len()));
            let (f, f_rest) = first.split_at_mut(n.min(first.len()));
            let (s, s_rest) = second.split_at_mut(n.min(second.len()));
            pieces.push(UpdateSlices {
                offset,
                parameters: p,
                gradients: g,
                state: [f, s],
            });
            (parameters, gradients, first, second) = (p_rest, g_rest, f_rest, s_rest);
            offset += n;
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
            assert!((la - lb).abs() <= 1e-5 * la.abs());
            for (ga, gb) in single.gradients().iter().zip(multi.gradients()) {
                assert!((ga - gb).abs() <= 1e-5 * (1.0 + ga.abs()), "{ga} vs {gb}");
            }
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

    /// An observed step on 1 and 3 threads equals a prediction and a plain step on as many,
    /// bit for bit; the prediction does not depend on the thread count.
    #[test]
    fn observed_steps_match_predict_then_step() {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let p = arch.parameter_count();
        let train = 3 * MIN_WORK_PER_THREAD / p + 5;
        let extra = 17;
        let (params, x, y) = data(train + extra);
        let y = &y[..2 * train];
        for threads in [1, 3] {
            let mut separate = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), threads);
            let mut observed = ParallelTrainer::new(Loss::MeanSquaredError, adam(p), threads);
            assert_eq!(observed.threads_for(&arch, train), threads);
            let (mut a, mut b) = (params.clone(), params.clone());
            for _ in 0..2 {
                let mut expected = vec![0.0; 2 * (train + extra)];
                separate.predict(&arch, &a, &x, &mut expected).unwrap();
                let samples = Samples {
                    inputs: &x[..3 * train],
                    targets: y,
                };
                let la = separate.step(&arch, &mut a, samples).unwrap();
                let mut outputs = vec![0.0; 2 * (train + extra)];
                let batch = ObservedBatch {
                    inputs: &x,
                    targets: y,
                    outputs: &mut outputs,
                };
                let lb = observed.step_observed(&arch, &mut b, batch).unwrap();
                assert_eq!(la.to_bits(), lb.to_bits());
                assert_eq!(expected, outputs);
                assert_eq!(a, b);
            }
        }
    }

    /// SGD keeps one kind of state (Adam two): the update's pieces must carry the empty one
    /// along. Three threads agree with one to rounding.
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
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-4 * (1.0 + u.abs()), "{u} vs {v}");
        }
    }

    #[test]
    fn small_batches_stay_on_one_thread() {
        let arch = Architecture::tanh(&WIDTHS).unwrap();
        let trainer = ParallelTrainer::new(Loss::MeanSquaredError, adam(1), 4);
        assert_eq!(trainer.threads_for(&arch, 10), 1);
        assert_eq!(trainer.threads_for(&arch, 0), 1);
    }
}
