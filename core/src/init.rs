//! Initialization: every weight and bias drawn from N(0, σ²), with σ chosen per layer.
//!
//! The scale σ is the paper's knob: a small σ keeps the learned function low-frequency, a large
//! one lets it oscillate between the training points. Draws go layer by layer, each layer's
//! weights (unit by unit, each unit's weights input by input; stored `inputs × outputs`) then
//! its biases, one normal draw per parameter (also where σ = 0), so a given seed fixes every
//! value on every platform.

use crate::error::{check_len, Error, Result};
use crate::mlp::Architecture;
use crate::rng::Rng;

/// Standard deviations for one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerInit {
    /// σ of the weights.
    pub weight_std: f32,
    /// σ of the biases.
    pub bias_std: f32,
}

impl LayerInit {
    /// Weights and biases with the same σ (the authors' scripts draw both alike).
    pub const fn normal(std: f32) -> Self {
        LayerInit {
            weight_std: std,
            bias_std: std,
        }
    }

    /// `gain / √fan_in` for the weights, zero biases (LeCun; gain > 1 gives the paper's
    /// large-initialization MNIST networks).
    pub fn lecun(fan_in: usize, gain: f32) -> Self {
        LayerInit {
            weight_std: gain / libm::sqrtf(fan_in as f32),
            bias_std: 0.0,
        }
    }

    /// `√(2 / (fan_in + fan_out))` for the weights, zero biases (Glorot and Bengio).
    pub fn xavier(fan_in: usize, fan_out: usize) -> Self {
        LayerInit {
            weight_std: libm::sqrtf(2.0 / (fan_in + fan_out) as f32),
            bias_std: 0.0,
        }
    }
}

/// A rule that gives every layer its [`LayerInit`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Init<'a> {
    /// The same σ for every layer.
    Uniform(LayerInit),
    /// One entry per layer, input side first.
    PerLayer(&'a [LayerInit]),
    /// [`LayerInit::lecun`] with gain 1 everywhere.
    LeCun,
    /// [`LayerInit::xavier`] everywhere.
    Xavier,
}

impl Init<'_> {
    /// Draws every parameter of `arch` into `parameters`.
    pub fn initialize(
        &self,
        arch: &Architecture<'_>,
        parameters: &mut [f32],
        rng: &mut Rng,
    ) -> Result<()> {
        check_len("parameters", arch.parameter_count(), parameters.len())?;
        if let Init::PerLayer(layers) = self {
            check_len("per-layer initialization", arch.layer_count(), layers.len())?;
        }
        let mut rest = parameters;
        for (index, layer) in arch.layers().enumerate() {
            let init = match self {
                Init::Uniform(init) => *init,
                Init::PerLayer(layers) => layers
                    .get(index)
                    .copied()
                    .ok_or(Error::InvalidArchitecture)?,
                Init::LeCun => LayerInit::lecun(layer.inputs, 1.0),
                Init::Xavier => LayerInit::xavier(layer.inputs, layer.outputs),
            };
            for std in [init.weight_std, init.bias_std] {
                if !(std.is_finite() && std >= 0.0) {
                    return Err(Error::InvalidSetting(
                        "initialization σ must be finite and ≥ 0",
                    ));
                }
            }
            let (weights, tail) = rest.split_at_mut(layer.inputs * layer.outputs);
            let (biases, tail) = tail.split_at_mut(layer.outputs);
            // Drawn unit by unit (all of a unit's weights, input by input, then the next
            // unit's): the order is part of which network a seed gives.
            for unit in 0..layer.outputs {
                for w in weights.iter_mut().skip(unit).step_by(layer.outputs) {
                    *w = rng.normal_f32(init.weight_std);
                }
            }
            biases
                .iter_mut()
                .for_each(|b| *b = rng.normal_f32(init.bias_std));
            rest = tail;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_layer_scales_are_respected() {
        let widths = [1, 400, 300];
        let arch = Architecture::tanh(&widths).unwrap();
        let mut p = [0.0f32; 800 + 401 * 300];
        let layers = [LayerInit::normal(3.0), LayerInit::lecun(400, 2.0)];
        Init::PerLayer(&layers)
            .initialize(&arch, &mut p, &mut Rng::new(1))
            .unwrap();
        let std = |s: &[f32]| libm::sqrtf(s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32);
        assert!((std(&p[..800]) - 3.0).abs() < 0.3);
        assert!((std(&p[800..800 + 120_000]) - 0.1).abs() < 0.005);
        assert!(p[800 + 120_000..].iter().all(|&b| b == 0.0));
    }

    #[test]
    fn bad_sigma_is_an_error() {
        let widths = [1, 2, 1];
        let arch = Architecture::tanh(&widths).unwrap();
        let mut p = [0.0f32; 7];
        for bad in [-1.0, f32::NAN, f32::INFINITY] {
            assert!(Init::Uniform(LayerInit::normal(bad))
                .initialize(&arch, &mut p, &mut Rng::new(1))
                .is_err());
        }
        assert!(Init::PerLayer(&[LayerInit::normal(1.0)])
            .initialize(&arch, &mut p, &mut Rng::new(1))
            .is_err());
    }
}
