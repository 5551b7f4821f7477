//! Loss functions: mean squared error (the paper's) and softmax cross-entropy.

use crate::error::{check_len, Error, Result};

/// How the network's outputs are compared with the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Loss {
    /// Mean over samples *and* outputs of `(h − y)²`, as `tf.reduce_mean(tf.square(h − y))` and
    /// PyTorch's `MSELoss` compute it.
    #[default]
    MeanSquaredError,
    /// Mean over samples of `−Σ_j y_j log softmax(h)_j`; targets are probabilities (one-hot
    /// labels). Use it with an identity output layer.
    SoftmaxCrossEntropy,
}

impl Loss {
    /// The loss of `outputs` against `targets` (both `samples × width`).
    pub fn value(self, outputs: &[f32], targets: &[f32], width: usize) -> Result<f32> {
        let samples = samples(outputs, targets, width)?;
        let total: f64 = outputs
            .chunks_exact(width)
            .zip(targets.chunks_exact(width))
            .map(|(h, y)| self.sample_loss(h, y))
            .sum();
        finite(total / self.normalizer(samples, width))
    }

    /// The loss, and its gradient with respect to `outputs` written into `gradient`.
    ///
    /// `total_samples` is the size of the whole batch the mean runs over: pass the slice's own
    /// sample count, or the full batch's when a batch is split across threads (the parts' losses
    /// and gradients then add up to the whole).
    pub fn value_and_gradient(
        self,
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        total_samples: usize,
        gradient: &mut [f32],
    ) -> Result<f32> {
        samples(outputs, targets, width)?;
        check_len("loss gradient", outputs.len(), gradient.len())?;
        let norm = self.normalizer(total_samples, width);
        if norm == 0.0 {
            return Err(Error::EmptyBatch);
        }
        let scale = (1.0 / norm) as f32;
        let mut total = 0.0f64;
        for ((h, y), g) in outputs
            .chunks_exact(width)
            .zip(targets.chunks_exact(width))
            .zip(gradient.chunks_exact_mut(width))
        {
            total += self.sample_loss(h, y);
            match self {
                Loss::MeanSquaredError => {
                    for ((g, h), y) in g.iter_mut().zip(h).zip(y) {
                        *g = 2.0 * (h - y) * scale;
                    }
                }
                Loss::SoftmaxCrossEntropy => {
                    let (max, sum) = softmax_normalizer(h);
                    let mass: f32 = y.iter().sum();
                    for ((g, h), y) in g.iter_mut().zip(h).zip(y) {
                        *g = (libm::expf(h - max) / sum * mass - y) * scale;
                    }
                }
            }
        }
        finite(total / norm)
    }

    /// The divisor of the summed per-sample losses.
    fn normalizer(self, samples: usize, width: usize) -> f64 {
        match self {
            Loss::MeanSquaredError => (samples * width) as f64,
            Loss::SoftmaxCrossEntropy => samples as f64,
        }
    }

    /// The summed loss of one sample (not yet divided by the normalizer).
    fn sample_loss(self, h: &[f32], y: &[f32]) -> f64 {
        match self {
            Loss::MeanSquaredError => {
                // `sum()` would start from a zero; starting from the first square gives the same
                // value (a zero added to a square changes nothing) with one addition fewer per
                // sample, which counts where `f64` is software (a Cortex-M).
                let mut squares = h.iter().zip(y).map(|(h, y)| {
                    let d = f64::from(h - y);
                    d * d
                });
                let first = squares.next().unwrap_or(0.0);
                squares.fold(first, |sum, square| sum + square)
            }
            Loss::SoftmaxCrossEntropy => {
                let (max, sum) = softmax_normalizer(h);
                let log_sum = f64::from(max) + libm::log(f64::from(sum));
                h.iter()
                    .zip(y)
                    .map(|(h, y)| f64::from(*y) * (log_sum - f64::from(*h)))
                    .sum()
            }
        }
    }
}

/// The maximum of `h` and `Σ exp(h − max)`, for a numerically stable softmax.
fn softmax_normalizer(h: &[f32]) -> (f32, f32) {
    let max = h.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum = h.iter().map(|v| libm::expf(v - max)).sum();
    (max, sum)
}

/// Samples in a pair of `samples × width` buffers.
fn samples(outputs: &[f32], targets: &[f32], width: usize) -> Result<usize> {
    check_len("targets", outputs.len(), targets.len())?;
    if width == 0 || outputs.is_empty() {
        return Err(Error::EmptyBatch);
    }
    if !outputs.len().is_multiple_of(width) {
        return Err(Error::LengthMismatch {
            what: "outputs (a multiple of the output width)",
            expected: (outputs.len() / width + 1) * width,
            actual: outputs.len(),
        });
    }
    Ok(outputs.len() / width)
}

fn finite(loss: f64) -> Result<f32> {
    let loss = loss as f32;
    if loss.is_finite() {
        Ok(loss)
    } else {
        Err(Error::NonFiniteLoss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_by_hand() {
        let h = [1.0, 2.0, 3.0, 4.0];
        let y = [0.0, 2.0, 5.0, 4.0];
        let mut g = [0.0; 4];
        let l = Loss::MeanSquaredError
            .value_and_gradient(&h, &y, 2, 2, &mut g)
            .unwrap();
        assert_eq!(l, (1.0 + 4.0) / 4.0);
        assert_eq!(g, [0.5, 0.0, -1.0, 0.0]);
    }

    /// The per-sample sum of squares starts from its first term: bit for bit what `sum()`
    /// gives.
    #[test]
    fn mse_sample_sum_matches_iterator_sum() {
        let mut rng = crate::rng::Rng::new(3);
        for width in 1..=12 {
            for _ in 0..200 {
                let (mut h, mut y) = ([0.0f32; 12], [0.0f32; 12]);
                for (h, y) in h.iter_mut().zip(y.iter_mut()).take(width) {
                    *h = rng.normal_f32(10.0);
                    *y = rng.normal_f32(1.0);
                }
                let (h, y) = (&h[..width], &y[..width]);
                let expect: f64 = h
                    .iter()
                    .zip(y)
                    .map(|(h, y)| f64::from(h - y) * f64::from(h - y))
                    .sum();
                let got = Loss::MeanSquaredError.sample_loss(h, y);
                assert_eq!(got.to_bits(), expect.to_bits());
            }
        }
        assert_eq!(
            Loss::MeanSquaredError.sample_loss(&[1.5], &[1.5]).to_bits(),
            0
        );
    }

    #[test]
    fn cross_entropy_by_hand() {
        // Uniform logits over 4 classes: loss ln 4, gradient softmax − y = 1/4 − y.
        let h = [0.3; 4];
        let y = [0.0, 1.0, 0.0, 0.0];
        let mut g = [0.0; 4];
        let l = Loss::SoftmaxCrossEntropy
            .value_and_gradient(&h, &y, 4, 1, &mut g)
            .unwrap();
        assert!((l - 4f32.ln()).abs() < 1e-6);
        assert!((g[1] + 0.75).abs() < 1e-6 && (g[0] - 0.25).abs() < 1e-6);
    }

    #[test]
    fn split_batches_add_up() {
        let h = [0.1, -0.4, 0.9, 0.2, 0.5, -0.7];
        let y = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        for loss in [Loss::MeanSquaredError, Loss::SoftmaxCrossEntropy] {
            let mut whole = [0.0; 6];
            let l = loss.value_and_gradient(&h, &y, 2, 3, &mut whole).unwrap();
            let (mut a, mut b) = ([0.0; 2], [0.0; 4]);
            let la = loss
                .value_and_gradient(&h[..2], &y[..2], 2, 3, &mut a)
                .unwrap();
            let lb = loss
                .value_and_gradient(&h[2..], &y[2..], 2, 3, &mut b)
                .unwrap();
            assert!((l - la - lb).abs() < 1e-6);
            assert_eq!(&whole[..2], &a);
            assert_eq!(&whole[2..], &b);
        }
    }

    #[test]
    fn nan_is_an_error() {
        let mut g = [0.0; 1];
        assert_eq!(
            Loss::MeanSquaredError.value_and_gradient(&[f32::NAN], &[0.0], 1, 1, &mut g),
            Err(Error::NonFiniteLoss)
        );
        assert_eq!(
            Loss::MeanSquaredError.value(&[1.0, 2.0, 3.0], &[0.0; 3], 2),
            Err(Error::LengthMismatch {
                what: "outputs (a multiple of the output width)",
                expected: 4,
                actual: 3
            })
        );
    }
}
