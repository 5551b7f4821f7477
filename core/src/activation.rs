//! Activation functions, applied element-wise after each dense layer.

/// The non-linearity of a layer.
///
/// Derivatives are computed from the layer's *output*, so training stores one value per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Activation {
    /// `tanh` through libm: the paper's activation and the default.
    #[default]
    Tanh,
    /// `max(0, x)`.
    Relu,
    /// No non-linearity: the usual output layer.
    Identity,
}

impl Activation {
    /// The activation of one value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Tanh => libm::tanhf(x),
            Activation::Relu => x.max(0.0),
            Activation::Identity => x,
        }
    }

    /// The derivative at the point whose activation is `output`.
    #[inline]
    pub fn derivative_from_output(self, output: f32) -> f32 {
        match self {
            Activation::Tanh => 1.0 - output * output,
            Activation::Relu => {
                if output > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Identity => 1.0,
        }
    }

    /// Applies the activation to every value in place.
    pub fn apply_slice(self, values: &mut [f32]) {
        match self {
            Activation::Tanh => values.iter_mut().for_each(|v| *v = libm::tanhf(*v)),
            Activation::Relu => values.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::Identity => {}
        }
    }

    /// Multiplies each gradient by the derivative at the matching output (the chain rule).
    pub fn backpropagate(self, outputs: &[f32], gradients: &mut [f32]) {
        match self {
            Activation::Tanh => gradients
                .iter_mut()
                .zip(outputs)
                .for_each(|(g, &y)| *g *= 1.0 - y * y),
            Activation::Relu => gradients
                .iter_mut()
                .zip(outputs)
                .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
            Activation::Identity => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [Activation::Tanh, Activation::Relu, Activation::Identity] {
            for &x in &[-2.0f32, -0.3, 0.4, 1.7] {
                let h = 1e-3;
                let numeric = (act.apply(x + h) - act.apply(x - h)) / (2.0 * h);
                let analytic = act.derivative_from_output(act.apply(x));
                assert!((numeric - analytic).abs() < 1e-3, "{act:?} at {x}");
            }
        }
    }
}
