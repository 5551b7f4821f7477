//! Multilayer perceptrons: the shape of a network, its parameter layout, and the forward and
//! backward passes over all layers.
//!
//! A network is described by its widths (`[1, 200, 200, 200, 100, 1]` is the paper's) and the
//! activations of its hidden and output layers. Its parameters live in one flat slice, layer by
//! layer, each layer's `inputs × outputs` weight then its `outputs` biases: optimizers update
//! that slice as a whole, and any storage (a `static` array, a `Vec`) can hold it.
//!
//! [`Mlp`] owns its parameters as a const-generic array; [`Architecture`] is the borrowed view
//! every kernel takes, so networks sized on the command line use the very same code.

use crate::activation::Activation;
use crate::dense::{self, Arithmetic, DenseShape};
use crate::error::{check_len, Error, Result};

/// Number of parameters (weights and biases) of a network with these widths.
///
/// A `const fn`, so it can size arrays: `Mlp<3, { parameter_count(&[1, 64, 1]) }>`.
pub const fn parameter_count(widths: &[usize]) -> usize {
    let mut total = 0;
    let mut rest = widths;
    while let [inputs, tail @ ..] = rest {
        if let [outputs, ..] = tail {
            total += (*inputs + 1) * *outputs;
        }
        rest = tail;
    }
    total
}

/// Number of stored activations for a batch: every layer's outputs for every sample.
pub const fn activation_count(widths: &[usize], batch: usize) -> usize {
    let mut total = 0;
    // Every width but the input's.
    let mut rest = match widths {
        [_, layers @ ..] => layers,
        [] => widths,
    };
    while let [outputs, tail @ ..] = rest {
        total += *outputs;
        rest = tail;
    }
    total * batch
}

/// Length of the scratch buffer the backward pass needs: two delta buffers of the widest layer.
pub const fn scratch_count(widths: &[usize], batch: usize) -> usize {
    let mut widest = 0;
    let mut rest = match widths {
        [_, layers @ ..] => layers,
        [] => widths,
    };
    while let [outputs, tail @ ..] = rest {
        if *outputs > widest {
            widest = *outputs;
        }
        rest = tail;
    }
    2 * widest * batch
}

/// The shape of a network: widths and activations, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Architecture<'a> {
    widths: &'a [usize],
    hidden: Activation,
    output: Activation,
    arithmetic: Arithmetic,
}

/// Where one layer lives in the flat parameter slice and in the activation buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerShape {
    /// Inputs per sample.
    pub inputs: usize,
    /// Units of the layer.
    pub outputs: usize,
    /// Offset of the weight matrix in the parameter slice (the biases follow it).
    pub parameter_offset: usize,
    /// Offset of this layer's outputs per sample of batch (multiply by the batch size).
    pub activation_offset: usize,
    /// The layer's non-linearity.
    pub activation: Activation,
}

impl LayerShape {
    /// Weights plus biases.
    pub const fn parameter_len(&self) -> usize {
        (self.inputs + 1) * self.outputs
    }

    fn dense(&self, batch: usize) -> DenseShape {
        DenseShape {
            batch,
            inputs: self.inputs,
            outputs: self.outputs,
        }
    }
}

impl<'a> Architecture<'a> {
    /// A network with these widths (input first, output last); `hidden` follows every layer but
    /// the last, which is followed by `output`.
    pub fn new(widths: &'a [usize], hidden: Activation, output: Activation) -> Result<Self> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(Error::InvalidArchitecture);
        }
        Ok(Architecture {
            widths,
            hidden,
            output,
            arithmetic: Arithmetic::Separate,
        })
    }

    /// The same network computed with the given rounding of its multiply-adds (the default is
    /// [`Arithmetic::Separate`]).
    pub const fn with_arithmetic(self, arithmetic: Arithmetic) -> Self {
        Architecture { arithmetic, ..self }
    }

    /// How the layers' multiply-adds are rounded.
    pub fn arithmetic(&self) -> Arithmetic {
        self.arithmetic
    }

    /// A tanh network with a linear output, as in the paper.
    pub fn tanh(widths: &'a [usize]) -> Result<Self> {
        Self::new(widths, Activation::Tanh, Activation::Identity)
    }

    /// Widths, input first.
    pub fn widths(&self) -> &'a [usize] {
        self.widths
    }

    /// Activation of the hidden layers.
    pub fn hidden_activation(&self) -> Activation {
        self.hidden
    }

    /// Activation of the output layer.
    pub fn output_activation(&self) -> Activation {
        self.output
    }

    /// Inputs per sample.
    pub fn input_width(&self) -> usize {
        self.widths.first().copied().unwrap_or(0)
    }

    /// Outputs per sample.
    pub fn output_width(&self) -> usize {
        self.widths.last().copied().unwrap_or(0)
    }

    /// Number of dense layers.
    pub fn layer_count(&self) -> usize {
        self.widths.len().saturating_sub(1)
    }

    /// Length of the flat parameter slice.
    pub fn parameter_count(&self) -> usize {
        parameter_count(self.widths)
    }

    /// Length of the activation buffer for `batch` samples.
    pub fn activation_len(&self, batch: usize) -> usize {
        activation_count(self.widths, batch)
    }

    /// Length of the backward pass's scratch buffer for `batch` samples.
    pub fn scratch_len(&self, batch: usize) -> usize {
        scratch_count(self.widths, batch)
    }

    /// The layers, input side first.
    pub fn layers(&self) -> impl DoubleEndedIterator<Item = LayerShape> + 'a {
        let last = self.layer_count().saturating_sub(1);
        let (widths, hidden, output) = (self.widths, self.hidden, self.output);
        // Offsets are recomputed from the widths (a few additions per layer) rather than
        // accumulated, so the iterator can also run backwards.
        widths.windows(2).enumerate().map(move |(i, pair)| {
            let before = widths.get(..=i).unwrap_or(&[]);
            LayerShape {
                inputs: pair.first().copied().unwrap_or(0),
                outputs: pair.last().copied().unwrap_or(0),
                parameter_offset: parameter_count(before),
                activation_offset: activation_count(before, 1),
                activation: if i == last { output } else { hidden },
            }
        })
    }

    /// Runs the network on `batch` samples (`inputs` is `batch × input_width`), storing every
    /// layer's outputs in `activations`; returns the network's outputs (`batch × output_width`).
    pub fn forward<'b>(
        &self,
        parameters: &[f32],
        inputs: &[f32],
        activations: &'b mut [f32],
    ) -> Result<&'b [f32]> {
        let batch = self.batch_size(inputs)?;
        check_len("parameters", self.parameter_count(), parameters.len())?;
        let needed = self.activation_len(batch);
        let available = activations.len();
        let activations = activations.get_mut(..needed).ok_or(Error::LengthMismatch {
            what: "activations",
            expected: needed,
            actual: available,
        })?;
        for layer in self.layers() {
            let (weight, bias) = layer_parameters(parameters, &layer)?;
            let start = layer.activation_offset * batch;
            let (before, rest) = activations.split_at_mut(start);
            let out = rest
                .get_mut(..layer.outputs * batch)
                .ok_or(Error::InvalidArchitecture)?;
            let input: &[f32] = if start == 0 {
                inputs
            } else {
                before
                    .get(start - layer.inputs * batch..)
                    .ok_or(Error::InvalidArchitecture)?
            };
            dense::forward(
                layer.dense(batch),
                self.arithmetic,
                input,
                weight,
                bias,
                out,
            )?;
            layer.activation.apply_slice(out);
        }
        let out_start = needed - self.output_width() * batch;
        Ok(activations.get(out_start..).unwrap_or(&[]))
    }

    /// Gradients of the loss with respect to every parameter (overwriting `gradients`), given
    /// the activations of a [`forward`](Self::forward) pass on the same `inputs` and the
    /// gradient of the loss with respect to the network's outputs.
    pub fn backward(
        &self,
        parameters: &[f32],
        inputs: &[f32],
        activations: &[f32],
        output_gradient: &[f32],
        gradients: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let batch = self.batch_size(inputs)?;
        let stored = Stored {
            activations,
            rows: batch,
        };
        self.backward_from(
            parameters,
            inputs,
            stored,
            output_gradient,
            gradients,
            scratch,
        )
    }

    /// [`backward`](Self::backward) for the first rows of a forward pass that ran on more:
    /// `inputs` holds those rows, `stored` the whole pass's activations.
    pub(crate) fn backward_from(
        &self,
        parameters: &[f32],
        inputs: &[f32],
        stored: Stored<'_>,
        output_gradient: &[f32],
        gradients: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let batch = self.batch_size(inputs)?;
        let Stored { activations, rows } = stored;
        if rows < batch {
            return Err(Error::LengthMismatch {
                what: "rows of the stored activations",
                expected: batch,
                actual: rows,
            });
        }
        check_len("parameters", self.parameter_count(), parameters.len())?;
        check_len("gradients", self.parameter_count(), gradients.len())?;
        check_len(
            "output gradient",
            batch * self.output_width(),
            output_gradient.len(),
        )?;
        let activations =
            activations
                .get(..self.activation_len(rows))
                .ok_or(Error::LengthMismatch {
                    what: "activations",
                    expected: self.activation_len(rows),
                    actual: activations.len(),
                })?;
        let half = self.scratch_len(batch) / 2;
        let available = scratch.len();
        let scratch = scratch.get_mut(..2 * half).ok_or(Error::LengthMismatch {
            what: "scratch",
            expected: 2 * half,
            actual: available,
        })?;
        let (mut delta, mut next_delta) = scratch.split_at_mut(half);

        let mut layers = self.layers().rev().peekable();
        let mut first = true;
        while let Some(layer) = layers.next() {
            let n_out = layer.outputs * batch;
            // Each layer's block holds `rows` rows; the first `batch` are this pass's.
            let out_start = layer.activation_offset * rows;
            let outputs = activations
                .get(out_start..out_start + n_out)
                .ok_or(Error::InvalidArchitecture)?;
            let d = delta.get_mut(..n_out).ok_or(Error::InvalidArchitecture)?;
            if first {
                d.copy_from_slice(output_gradient);
                first = false;
            }
            layer.activation.backpropagate(outputs, d);

            let input: &[f32] = if out_start == 0 {
                inputs
            } else {
                let start = out_start - layer.inputs * rows;
                activations
                    .get(start..start + layer.inputs * batch)
                    .ok_or(Error::InvalidArchitecture)?
            };
            let (weight, _) = layer_parameters(parameters, &layer)?;
            let grads = gradients
                .get_mut(layer.parameter_offset..layer.parameter_offset + layer.parameter_len())
                .ok_or(Error::InvalidArchitecture)?;
            let (grad_weight, grad_bias) = grads.split_at_mut(layer.inputs * layer.outputs);
            dense::backward_parameters(
                layer.dense(batch),
                self.arithmetic,
                input,
                d,
                grad_weight,
                grad_bias,
            )?;

            if layers.peek().is_some() {
                let next = next_delta
                    .get_mut(..layer.inputs * batch)
                    .ok_or(Error::InvalidArchitecture)?;
                dense::backward_inputs(layer.dense(batch), self.arithmetic, weight, d, next)?;
                core::mem::swap(&mut delta, &mut next_delta);
            }
        }
        Ok(())
    }

    /// The backward pass without the parameter gradients: each layer's deltas (the loss's
    /// gradient with respect to the layer's outputs before its activation) for the first
    /// `batch` rows of a forward pass, written to `deltas` laid out as the activations of a
    /// `batch`-row pass ([`activation_len`](Self::activation_len)`(batch)`). A layer's parameter
    /// gradients are then [`dense::backward_parameter_rows`] of its inputs and deltas, which
    /// threads that split a batch can share out by units.
    pub fn backward_deltas(
        &self,
        parameters: &[f32],
        batch: usize,
        stored: Stored<'_>,
        output_gradient: &[f32],
        deltas: &mut [f32],
    ) -> Result<()> {
        let Stored { activations, rows } = stored;
        if batch == 0 {
            return Err(Error::EmptyBatch);
        }
        if rows < batch {
            return Err(Error::LengthMismatch {
                what: "rows of the stored activations",
                expected: batch,
                actual: rows,
            });
        }
        check_len("parameters", self.parameter_count(), parameters.len())?;
        check_len(
            "output gradient",
            batch * self.output_width(),
            output_gradient.len(),
        )?;
        check_len("activations", self.activation_len(rows), activations.len())?;
        check_len("deltas", self.activation_len(batch), deltas.len())?;
        let mut layers = self.layers().rev().peekable();
        let mut first = true;
        while let Some(layer) = layers.next() {
            let n_out = layer.outputs * batch;
            let out_start = layer.activation_offset * rows;
            let outputs = activations
                .get(out_start..out_start + n_out)
                .ok_or(Error::InvalidArchitecture)?;
            // This layer's deltas, and below them the previous layer's, which they give.
            let (below, rest) = deltas.split_at_mut(layer.activation_offset * batch);
            let d = rest.get_mut(..n_out).ok_or(Error::InvalidArchitecture)?;
            if first {
                d.copy_from_slice(output_gradient);
                first = false;
            }
            layer.activation.backpropagate(outputs, d);
            if layers.peek().is_some() {
                let start = below.len() - layer.inputs * batch;
                let next = below.get_mut(start..).ok_or(Error::InvalidArchitecture)?;
                let (weight, _) = layer_parameters(parameters, &layer)?;
                dense::backward_inputs(layer.dense(batch), self.arithmetic, weight, d, next)?;
            }
        }
        Ok(())
    }

    /// Samples in `inputs`, which must be a whole, non-empty number of rows.
    pub fn batch_size(&self, inputs: &[f32]) -> Result<usize> {
        let width = self.input_width();
        if inputs.is_empty() {
            return Err(Error::EmptyBatch);
        }
        if !inputs.len().is_multiple_of(width) {
            return Err(Error::LengthMismatch {
                what: "inputs (a multiple of the input width)",
                expected: (inputs.len() / width + 1) * width,
                actual: inputs.len(),
            });
        }
        Ok(inputs.len() / width)
    }
}

/// The activations of a forward pass and the number of rows it ran on, which sets where
/// each layer's block starts (at its `activation_offset × rows`).
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// Every layer's outputs, layer after layer, each `rows × outputs`.
    pub activations: &'a [f32],
    /// Rows of the forward pass.
    pub rows: usize,
}

/// The weight and bias of `layer` inside the flat parameter slice.
fn layer_parameters<'p>(
    parameters: &'p [f32],
    layer: &LayerShape,
) -> Result<(&'p [f32], &'p [f32])> {
    let all = parameters
        .get(layer.parameter_offset..layer.parameter_offset + layer.parameter_len())
        .ok_or(Error::InvalidArchitecture)?;
    Ok(all.split_at(layer.inputs * layer.outputs))
}

/// A network that owns its parameters: `D` widths and `P` parameters, both fixed at build time,
/// so it can live in a `static` on a microcontroller.
///
/// ```
/// use fprinciple_core::mlp::{parameter_count, Mlp};
/// use fprinciple_core::activation::Activation;
///
/// const WIDTHS: [usize; 3] = [1, 64, 1];
/// static NET: Mlp<3, { parameter_count(&WIDTHS) }> =
///     Mlp::new(WIDTHS, Activation::Tanh, Activation::Identity);
/// assert_eq!(NET.parameters().len(), 193);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp<const D: usize, const P: usize> {
    widths: [usize; D],
    hidden: Activation,
    output: Activation,
    arithmetic: Arithmetic,
    parameters: [f32; P],
}

impl<const D: usize, const P: usize> Mlp<D, P> {
    /// A network with all parameters zero (initialize it with [`crate::init`]).
    ///
    /// Meant for `const` and `static` items, where a width/parameter mismatch is a compile
    /// error. At run time prefer [`Mlp::try_new`], which returns the mismatch as an error.
    pub const fn new(widths: [usize; D], hidden: Activation, output: Activation) -> Self {
        assert!(
            D >= 2 && parameter_count(&widths) == P,
            "P must equal parameter_count(&widths)"
        );
        Mlp {
            widths,
            hidden,
            output,
            arithmetic: Arithmetic::Separate,
            parameters: [0.0; P],
        }
    }

    /// The same network computed with the given rounding of its multiply-adds (the default is
    /// [`Arithmetic::Separate`]).
    pub const fn with_arithmetic(self, arithmetic: Arithmetic) -> Self {
        Mlp { arithmetic, ..self }
    }

    /// Like [`Mlp::new`], but returns an error instead of failing when `P` does not match.
    pub fn try_new(widths: [usize; D], hidden: Activation, output: Activation) -> Result<Self> {
        Architecture::new(&widths, hidden, output)?;
        let expected = parameter_count(&widths);
        if expected != P {
            return Err(Error::ParameterCountMismatch {
                expected,
                actual: P,
            });
        }
        Ok(Mlp {
            widths,
            hidden,
            output,
            arithmetic: Arithmetic::Separate,
            parameters: [0.0; P],
        })
    }

    /// The borrowed shape, for the kernels.
    pub fn architecture(&self) -> Architecture<'_> {
        Architecture {
            widths: &self.widths,
            hidden: self.hidden,
            output: self.output,
            arithmetic: self.arithmetic,
        }
    }

    /// The flat parameters.
    pub fn parameters(&self) -> &[f32; P] {
        &self.parameters
    }

    /// The flat parameters, for initialization and optimizer steps.
    pub fn parameters_mut(&mut self) -> &mut [f32; P] {
        &mut self.parameters
    }

    /// Both at once: the shape and the parameters to update (for a [`crate::train::Trainer`]).
    pub fn split_mut(&mut self) -> (Architecture<'_>, &mut [f32; P]) {
        (
            Architecture {
                widths: &self.widths,
                hidden: self.hidden,
                output: self.output,
                arithmetic: self.arithmetic,
            },
            &mut self.parameters,
        )
    }

    /// Runs the network on a batch; see [`Architecture::forward`].
    pub fn forward<'b>(&self, inputs: &[f32], activations: &'b mut [f32]) -> Result<&'b [f32]> {
        self.architecture()
            .forward(&self.parameters, inputs, activations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_the_paper_networks() {
        assert_eq!(parameter_count(&[1, 200, 200, 200, 100, 1]), 101_001);
        assert_eq!(parameter_count(&[784, 400, 200, 10]), 396_210);
        assert_eq!(parameter_count(&[2, 200, 200, 100, 1]), 61_001);
        assert_eq!(activation_count(&[1, 200, 1], 10), 2010);
        assert_eq!(scratch_count(&[1, 200, 100, 1], 3), 1200);
    }

    #[test]
    fn bad_widths_are_errors() {
        assert_eq!(
            Architecture::tanh(&[1]).unwrap_err(),
            Error::InvalidArchitecture
        );
        assert_eq!(
            Architecture::tanh(&[1, 0, 1]).unwrap_err(),
            Error::InvalidArchitecture
        );
        assert!(matches!(
            Mlp::<3, 10>::try_new([1, 4, 1], Activation::Tanh, Activation::Identity),
            Err(Error::ParameterCountMismatch {
                expected: 13,
                actual: 10
            })
        ));
    }

    #[test]
    fn forward_by_hand() {
        // 1-2-1: h = tanh(w x + b), y = v·h + c.
        let mut net = Mlp::<3, 7>::new([1, 2, 1], Activation::Tanh, Activation::Identity);
        net.parameters_mut()
            .copy_from_slice(&[0.5, -1.0, 0.1, 0.2, 2.0, 3.0, 0.25]);
        let mut acts = [0.0; 6];
        let y = net.forward(&[1.0, -2.0], &mut acts).unwrap();
        for (i, &x) in [1.0f32, -2.0].iter().enumerate() {
            let h0 = libm::tanhf(0.5 * x + 0.1);
            let h1 = libm::tanhf(-x + 0.2);
            assert!((y[i] - (2.0 * h0 + 3.0 * h1 + 0.25)).abs() < 1e-6);
        }
    }
}
