//! The one training loop: forward, loss, backward, optimizer step — for a full batch, or an
//! epoch of shuffled mini-batches. The host and the firmware both train through it.

use crate::error::{check_len, Error, Result};
use crate::loss::Loss;
use crate::mlp::{activation_count, scratch_count, Architecture, Stored};
use crate::optim::Optimizer;
use crate::rng::Rng;

/// Length of the workspace a [`Trainer`] needs for batches of up to `batch` samples:
/// activations, backward scratch and the loss gradient. A `const fn`, to size static buffers.
pub const fn workspace_count(widths: &[usize], batch: usize) -> usize {
    let output_width = match widths.last() {
        Some(w) => *w,
        None => 0,
    };
    activation_count(widths, batch) + scratch_count(widths, batch) + output_width * batch
}

/// Inputs and targets of a set of samples, row-major (`samples × width`).
#[derive(Debug, Clone, Copy)]
pub struct Samples<'a> {
    /// `samples × input_width`.
    pub inputs: &'a [f32],
    /// `samples × output_width`.
    pub targets: &'a [f32],
}

/// Caller-owned buffers for an epoch of mini-batches.
#[derive(Debug)]
pub struct BatchBuffers<'a> {
    /// The sample order, one entry per sample; reshuffled every epoch.
    pub order: &'a mut [u32],
    /// Room for one mini-batch of inputs.
    pub inputs: &'a mut [f32],
    /// Room for one mini-batch of targets.
    pub targets: &'a mut [f32],
}

/// Gradients of the loss over `samples` with respect to `parameters` (overwritten), using
/// `workspace` (at least [`workspace_count`] for this batch). Returns the loss.
///
/// `total_samples` is the size of the batch the loss is averaged over: the samples' own count,
/// or the whole batch's when the caller splits one batch across threads and adds the parts.
pub fn compute_gradients(
    arch: &Architecture<'_>,
    loss: Loss,
    parameters: &[f32],
    samples: Samples<'_>,
    total_samples: usize,
    gradients: &mut [f32],
    workspace: &mut [f32],
) -> Result<f32> {
    let batch = arch.batch_size(samples.inputs)?;
    check_len(
        "targets",
        batch * arch.output_width(),
        samples.targets.len(),
    )?;
    let (value, _) = gradients_and_outputs(
        arch,
        loss,
        parameters,
        samples,
        total_samples,
        gradients,
        workspace,
    )?;
    Ok(value)
}

/// A training batch whose forward pass also evaluates further inputs: what a training loop
/// that watches the network's outputs every step needs, for the price of a larger forward pass
/// instead of a second one.
#[derive(Debug)]
pub struct ObservedBatch<'a> {
    /// The training samples' inputs, then the inputs that are only evaluated
    /// (`rows × input_width`).
    pub inputs: &'a [f32],
    /// Targets of the training samples, the first `targets.len() / output_width` rows of
    /// `inputs`.
    pub targets: &'a [f32],
    /// Receives the outputs of every row of `inputs` (`rows × output_width`), at the
    /// parameters the gradients are taken at.
    pub outputs: &'a mut [f32],
}

impl ObservedBatch<'_> {
    /// The number of training rows, after checking the shapes: whole input rows, targets for
    /// at least one and at most every input row, outputs for every row. Returns the rows and
    /// the training rows.
    pub fn rows(&self, arch: &Architecture<'_>) -> Result<(usize, usize)> {
        let rows = arch.batch_size(self.inputs)?;
        let out_width = arch.output_width();
        check_len("outputs", rows * out_width, self.outputs.len())?;
        let training = training_rows(self.targets.len(), out_width, rows)?;
        Ok((rows, training))
    }
}

/// [`compute_gradients`] for the training samples of `batch`, writing the outputs of all its
/// rows to `batch.outputs`. `workspace` needs [`workspace_count`] for all the rows. The
/// gradients, the loss and every output are bit-identical to those of [`compute_gradients`] on
/// the training samples and a separate forward pass on the other rows.
pub fn compute_gradients_observed(
    arch: &Architecture<'_>,
    loss: Loss,
    parameters: &[f32],
    batch: ObservedBatch<'_>,
    total_samples: usize,
    gradients: &mut [f32],
    workspace: &mut [f32],
) -> Result<f32> {
    batch.rows(arch)?;
    let samples = Samples {
        inputs: batch.inputs,
        targets: batch.targets,
    };
    let (value, outputs) = gradients_and_outputs(
        arch,
        loss,
        parameters,
        samples,
        total_samples,
        gradients,
        workspace,
    )?;
    batch.outputs.copy_from_slice(outputs);
    Ok(value)
}

/// The first half of [`compute_gradients`], for threads that split a batch and then share out
/// the parameter gradients by units: the forward pass over every row of `samples.inputs`
/// (training rows first, as in an [`ObservedBatch`]), the loss over the training rows, which
/// `samples.targets` covers, and their deltas, written to `deltas`
/// ([`Architecture::backward_deltas`]). Returns the loss and the outputs of every row. The
/// activations are left at the start of `workspace`, laid out for all the rows.
pub fn compute_deltas<'w>(
    arch: &Architecture<'_>,
    loss: Loss,
    parameters: &[f32],
    samples: Samples<'_>,
    total_samples: usize,
    workspace: &'w mut [f32],
    deltas: &mut [f32],
) -> Result<(f32, &'w [f32])> {
    let rows = arch.batch_size(samples.inputs)?;
    let out_width = arch.output_width();
    let batch = training_rows(samples.targets.len(), out_width, rows)?;
    let (activations, rest) = split(workspace, arch.activation_len(rows))?;
    let (output_gradient, _) = split(rest, batch * out_width)?;
    let outputs = arch.forward(parameters, samples.inputs, activations)?;
    let value = loss.value_and_gradient(
        outputs.get(..batch * out_width).unwrap_or(&[]),
        samples.targets,
        out_width,
        total_samples,
        output_gradient,
    )?;
    let stored = Stored { activations, rows };
    arch.backward_deltas(parameters, batch, stored, output_gradient, deltas)?;
    let outputs_start = activations.len() - rows * out_width;
    Ok((value, activations.get(outputs_start..).unwrap_or(&[])))
}

/// Rows of a batch that `targets` (of `targets_len` values) covers: at least one, whole rows,
/// at most one per input row.
fn training_rows(targets_len: usize, out_width: usize, rows: usize) -> Result<usize> {
    let batch = targets_len / out_width.max(1);
    if batch == 0 {
        return Err(Error::EmptyBatch);
    }
    if batch * out_width != targets_len || batch > rows {
        return Err(Error::LengthMismatch {
            what: "targets (whole rows, at most one per input)",
            expected: batch.min(rows) * out_width,
            actual: targets_len,
        });
    }
    Ok(batch)
}

/// The forward pass over every row of `samples.inputs`, then the loss and the backward pass
/// over the first rows, those `samples.targets` covers. Returns the loss and the outputs of
/// every row (inside `workspace`).
fn gradients_and_outputs<'w>(
    arch: &Architecture<'_>,
    loss: Loss,
    parameters: &[f32],
    samples: Samples<'_>,
    total_samples: usize,
    gradients: &mut [f32],
    workspace: &'w mut [f32],
) -> Result<(f32, &'w [f32])> {
    let rows = arch.batch_size(samples.inputs)?;
    let out_width = arch.output_width();
    let batch = training_rows(samples.targets.len(), out_width, rows)?;
    let (activations, rest) = split(workspace, arch.activation_len(rows))?;
    let (scratch, rest) = split(rest, arch.scratch_len(batch))?;
    let (output_gradient, _) = split(rest, batch * out_width)?;
    let outputs = arch.forward(parameters, samples.inputs, activations)?;
    let value = loss.value_and_gradient(
        outputs.get(..batch * out_width).unwrap_or(&[]),
        samples.targets,
        out_width,
        total_samples,
        output_gradient,
    )?;
    let stored = Stored { activations, rows };
    let inputs = samples
        .inputs
        .get(..batch * arch.input_width())
        .unwrap_or(&[]);
    arch.backward_from(
        parameters,
        inputs,
        stored,
        output_gradient,
        gradients,
        scratch,
    )?;
    let outputs_start = activations.len() - rows * out_width;
    Ok((value, activations.get(outputs_start..).unwrap_or(&[])))
}

/// One epoch of mini-batches: shuffles `buffers.order` with `rng`, gathers each batch of
/// `batch_size` samples (the last may be smaller) into the buffers and calls `step` on it.
/// Returns the mean of the batch losses weighted by batch size. Every trainer draws its
/// batches through this, so the order depends only on the seed.
pub fn for_each_mini_batch(
    arch: &Architecture<'_>,
    samples: Samples<'_>,
    batch_size: usize,
    buffers: BatchBuffers<'_>,
    rng: &mut Rng,
    mut step: impl FnMut(Samples<'_>) -> Result<f32>,
) -> Result<f32> {
    let n = arch.batch_size(samples.inputs)?;
    let (in_w, out_w) = (arch.input_width(), arch.output_width());
    check_len("targets", n * out_w, samples.targets.len())?;
    check_len("sample order", n, buffers.order.len())?;
    if batch_size == 0 {
        return Err(Error::InvalidSetting("batch size must be > 0"));
    }
    let batch_size = batch_size.min(n);
    if buffers.inputs.len() < batch_size * in_w || buffers.targets.len() < batch_size * out_w {
        return Err(Error::LengthMismatch {
            what: "mini-batch buffers",
            expected: batch_size * (in_w + out_w),
            actual: buffers.inputs.len() + buffers.targets.len(),
        });
    }
    for (i, o) in buffers.order.iter_mut().enumerate() {
        *o = i as u32;
    }
    rng.shuffle(buffers.order);
    let mut total = 0.0f64;
    for chunk in buffers.order.chunks(batch_size) {
        // Both fit: the buffers hold a full mini-batch (checked above).
        let (Some(bx), Some(by)) = (
            buffers.inputs.get_mut(..chunk.len() * in_w),
            buffers.targets.get_mut(..chunk.len() * out_w),
        ) else {
            break;
        };
        for ((&index, x), y) in chunk
            .iter()
            .zip(bx.chunks_exact_mut(in_w))
            .zip(by.chunks_exact_mut(out_w))
        {
            let i = index as usize;
            x.copy_from_slice(samples.inputs.get(i * in_w..(i + 1) * in_w).unwrap_or(&[]));
            y.copy_from_slice(
                samples
                    .targets
                    .get(i * out_w..(i + 1) * out_w)
                    .unwrap_or(&[]),
            );
        }
        let value = step(Samples {
            inputs: bx,
            targets: by,
        })?;
        total += f64::from(value) * chunk.len() as f64;
    }
    Ok((total / n as f64) as f32)
}

/// Splits `len` entries off the front of a workspace.
fn split(buffer: &mut [f32], len: usize) -> Result<(&mut [f32], &mut [f32])> {
    if buffer.len() < len {
        return Err(Error::LengthMismatch {
            what: "workspace",
            expected: len,
            actual: buffer.len(),
        });
    }
    Ok(buffer.split_at_mut(len))
}

/// Trains a network: owns the optimizer, the gradient buffer and the workspace (any storage:
/// arrays, `Vec`s, `&'static mut` slices), and borrows the parameters for each call.
#[derive(Debug, Clone)]
pub struct Trainer<O, G, W = G> {
    loss: Loss,
    optimizer: O,
    gradients: G,
    workspace: W,
}

impl<O, G, W> Trainer<O, G, W>
where
    O: Optimizer,
    G: AsRef<[f32]> + AsMut<[f32]>,
    W: AsRef<[f32]> + AsMut<[f32]>,
{
    /// A trainer; `gradients` must hold one entry per parameter and `workspace`
    /// [`workspace_count`] entries for the largest batch it will see.
    pub fn new(loss: Loss, optimizer: O, gradients: G, workspace: W) -> Self {
        Trainer {
            loss,
            optimizer,
            gradients,
            workspace,
        }
    }

    /// The loss being minimized.
    pub fn loss(&self) -> Loss {
        self.loss
    }

    /// The optimizer (for its state in a checkpoint).
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change its learning rate or restore its state.
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The gradients of the last step.
    pub fn gradients(&self) -> &[f32] {
        self.gradients.as_ref()
    }

    /// One optimizer step on one batch (the whole training set for full-batch training).
    /// Returns the batch's loss before the step; a NaN or infinite loss is an error and leaves
    /// the parameters untouched.
    pub fn step(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        samples: Samples<'_>,
    ) -> Result<f32> {
        let batch = arch.batch_size(samples.inputs)?;
        let value = compute_gradients(
            arch,
            self.loss,
            parameters,
            samples,
            batch,
            self.gradients.as_mut(),
            self.workspace.as_mut(),
        )?;
        self.optimizer.step(parameters, self.gradients.as_ref())?;
        Ok(value)
    }

    /// [`step`](Self::step) on the training samples of `batch`, whose forward pass also
    /// evaluates the rows after them: `batch.outputs` receives every row's outputs at the
    /// parameters before the step (those the returned loss is measured at). The workspace must
    /// hold [`workspace_count`] for all the rows. Everything is bit-identical to a
    /// [`predict`](Self::predict) followed by a `step`, for one forward pass fewer.
    pub fn step_observed(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        batch: ObservedBatch<'_>,
    ) -> Result<f32> {
        let (_, total) = batch.rows(arch)?;
        let value = compute_gradients_observed(
            arch,
            self.loss,
            parameters,
            batch,
            total,
            self.gradients.as_mut(),
            self.workspace.as_mut(),
        )?;
        self.optimizer.step(parameters, self.gradients.as_ref())?;
        Ok(value)
    }

    /// One epoch of mini-batches of `batch_size` samples in a fresh random order (the last batch
    /// may be smaller). Returns the mean loss over the epoch's samples.
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

    /// The network's outputs on any number of inputs (a whole analysis grid), computed in
    /// chunks that fit the workspace and written to `outputs`.
    pub fn predict(
        &mut self,
        arch: &Architecture<'_>,
        parameters: &[f32],
        inputs: &[f32],
        outputs: &mut [f32],
    ) -> Result<()> {
        let n = arch.batch_size(inputs)?;
        let (in_w, out_w) = (arch.input_width(), arch.output_width());
        check_len("outputs", n * out_w, outputs.len())?;
        let capacity = self.workspace.as_ref().len() / activation_count(arch.widths(), 1);
        if capacity == 0 {
            return Err(Error::LengthMismatch {
                what: "workspace",
                expected: activation_count(arch.widths(), 1),
                actual: self.workspace.as_ref().len(),
            });
        }
        for (x, y) in inputs
            .chunks(capacity * in_w)
            .zip(outputs.chunks_mut(capacity * out_w))
        {
            y.copy_from_slice(arch.forward(parameters, x, self.workspace.as_mut())?);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;
    use crate::init::{Init, LayerInit};
    use crate::mlp::{parameter_count, Mlp};
    use crate::optim::Adam;

    const WIDTHS: [usize; 3] = [1, 64, 1];
    const P: usize = parameter_count(&WIDTHS);
    const N: usize = 64;

    /// The smoke test of the foundation: a 1-64-1 tanh net fits sin x on [−π, π).
    #[test]
    fn fits_sin_x() {
        let mut net = Mlp::<3, P>::new(WIDTHS, Activation::Tanh, Activation::Identity);
        let mut rng = Rng::new(0);
        let (arch, params) = net.split_mut();
        Init::Uniform(LayerInit::normal(1.0))
            .initialize(&arch, params, &mut rng)
            .unwrap();
        let mut x = [0.0f32; N];
        let mut y = [0.0f32; N];
        for j in 0..N {
            x[j] = -core::f32::consts::PI + j as f32 * 2.0 * core::f32::consts::PI / N as f32;
            y[j] = libm::sinf(x[j]);
        }
        let adam = Adam::new(0.01, [0.0; P], [0.0; P]).unwrap();
        let mut trainer = Trainer::new(
            Loss::MeanSquaredError,
            adam,
            [0.0; P],
            [0.0; workspace_count(&WIDTHS, N)],
        );
        let samples = Samples {
            inputs: &x,
            targets: &y,
        };
        let first = trainer.step(&arch, params, samples).unwrap();
        let mut last = first;
        for _ in 0..2000 {
            last = trainer.step(&arch, params, samples).unwrap();
        }
        let mut out = [0.0f32; N];
        let test = trainer.evaluate(&arch, params, samples, &mut out).unwrap();
        assert!(last < 1e-3 && test < 1e-3, "loss {first} -> {last}, {test}");
    }

    /// A step that also evaluates extra rows matches, bit for bit, a separate prediction
    /// followed by a plain step, with row counts that put rows in different kernel tiles.
    #[test]
    fn observed_step_matches_predict_then_step() {
        const W: [usize; 4] = [2, 70, 9, 3];
        const Q: usize = parameter_count(&W);
        const TRAIN: usize = 7;
        const EXTRA: usize = 13;
        const ROWS: usize = TRAIN + EXTRA;
        let arch = Architecture::tanh(&W).unwrap();
        let mut rng = Rng::new(11);
        let mut params = [0.0f32; Q];
        Init::LeCun
            .initialize(&arch, &mut params, &mut rng)
            .unwrap();
        let inputs: [f32; 2 * ROWS] = core::array::from_fn(|_| rng.normal_f32(1.0));
        let targets: [f32; 3 * TRAIN] = core::array::from_fn(|_| rng.normal_f32(1.0));
        let new_trainer = || {
            Trainer::new(
                Loss::MeanSquaredError,
                Adam::new(0.01, [0.0; Q], [0.0; Q]).unwrap(),
                [0.0; Q],
                [0.0; workspace_count(&W, ROWS)],
            )
        };
        let (mut separate, mut observed) = (new_trainer(), new_trainer());
        let (mut a, mut b) = (params, params);
        for _ in 0..3 {
            let mut expected = [0.0f32; 3 * ROWS];
            separate.predict(&arch, &a, &inputs, &mut expected).unwrap();
            let samples = Samples {
                inputs: &inputs[..2 * TRAIN],
                targets: &targets,
            };
            let la = separate.step(&arch, &mut a, samples).unwrap();
            let mut outputs = [0.0f32; 3 * ROWS];
            let batch = ObservedBatch {
                inputs: &inputs,
                targets: &targets,
                outputs: &mut outputs,
            };
            let lb = observed.step_observed(&arch, &mut b, batch).unwrap();
            assert_eq!(la.to_bits(), lb.to_bits());
            assert_eq!(expected.map(f32::to_bits), outputs.map(f32::to_bits));
            assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
        }
    }

    #[test]
    fn observed_batches_with_bad_shapes_are_errors() {
        const W: [usize; 3] = [1, 4, 1];
        const Q: usize = parameter_count(&W);
        let arch = Architecture::tanh(&W).unwrap();
        let params = [0.1f32; Q];
        let mut gradients = [0.0f32; Q];
        let mut workspace = [0.0f32; workspace_count(&W, 4)];
        let inputs = [0.0f32; 3];
        let mut outputs = [0.0f32; 3];
        let mut run = |targets: &[f32], outputs: &mut [f32]| {
            let batch = ObservedBatch {
                inputs: &inputs,
                targets,
                outputs,
            };
            let loss = Loss::MeanSquaredError;
            compute_gradients_observed(
                &arch,
                loss,
                &params,
                batch,
                1,
                &mut gradients,
                &mut workspace,
            )
        };
        assert_eq!(run(&[], &mut outputs), Err(Error::EmptyBatch));
        assert!(matches!(
            run(&[0.0; 4], &mut outputs),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            run(&[0.0; 2], &mut outputs[..2]),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(run(&[0.0; 2], &mut outputs).is_ok());
    }

    #[test]
    fn mini_batch_epoch_lowers_the_loss() {
        const W: [usize; 3] = [2, 16, 3];
        const Q: usize = parameter_count(&W);
        let arch = Architecture::tanh(&W).unwrap();
        let mut params = [0.0f32; Q];
        let mut rng = Rng::new(5);
        Init::LeCun
            .initialize(&arch, &mut params, &mut rng)
            .unwrap();
        let mut x = [0.0f32; 2 * 40];
        let mut y = [0.0f32; 3 * 40];
        for i in 0..40 {
            let (a, b) = (rng.uniform() as f32, rng.uniform() as f32);
            x[2 * i..2 * i + 2].copy_from_slice(&[a, b]);
            y[3 * i..3 * i + 3].copy_from_slice(&[a + b, a - b, a * b]);
        }
        let samples = Samples {
            inputs: &x,
            targets: &y,
        };
        let mut trainer = Trainer::new(
            Loss::MeanSquaredError,
            Adam::new(0.01, [0.0; Q], [0.0; Q]).unwrap(),
            [0.0; Q],
            [0.0; workspace_count(&W, 8)],
        );
        let (mut order, mut bx, mut by) = ([0u32; 40], [0.0f32; 16], [0.0f32; 24]);
        let mut losses = [0.0f32; 50];
        for l in losses.iter_mut() {
            let buffers = BatchBuffers {
                order: &mut order,
                inputs: &mut bx,
                targets: &mut by,
            };
            *l = trainer
                .epoch(&arch, &mut params, samples, 8, buffers, &mut rng)
                .unwrap();
        }
        assert!(
            losses[49] < 0.2 * losses[0],
            "{} -> {}",
            losses[0],
            losses[49]
        );
    }
}
