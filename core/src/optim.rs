//! Optimizers: SGD with momentum, and Adam (which the authors' scripts train with).
//!
//! Each updates a flat parameter slice in place from a gradient slice of the same length. The
//! optimizer state is stored in any `S: AsMut<[f32]>`: a `Vec` on the host, an array or a
//! `&'static mut [f32]` on a microcontroller.

use crate::error::{check_len, Error, Result};

/// One update rule.
///
/// A step updates each parameter from its own gradient and state alone, so it can be split:
/// [`begin_step`](Optimizer::begin_step) advances the optimizer and hands out the step's
/// constants ([`Update`]) with the per-parameter state, and [`Update::apply`] then updates any
/// range of the parameters with the matching range of the state — on several threads, say —
/// giving exactly what [`step`](Optimizer::step) gives.
pub trait Optimizer {
    /// Moves `parameters` against `gradients`.
    fn step(&mut self, parameters: &mut [f32], gradients: &[f32]) -> Result<()> {
        check_len("gradients", parameters.len(), gradients.len())?;
        let (update, state) = self.begin_step(parameters.len())?;
        update.apply(parameters, gradients, state);
        Ok(())
    }
    /// Starts a step over `parameters` parameters: advances the step count and returns the
    /// step's constants and the optimizer's per-parameter state (one slice per kind of state,
    /// each `parameters` long; unused slices are empty).
    fn begin_step(&mut self, parameters: usize) -> Result<(Update, State<'_>)>;
    /// The current learning rate.
    fn learning_rate(&self) -> f32;
    /// Changes the learning rate (schedules, or lowering it after a divergence).
    fn set_learning_rate(&mut self, learning_rate: f32);
}

/// An optimizer's per-parameter state during a step: up to two slices (SGD's velocity; Adam's
/// first and second moments), each as long as the parameters or empty.
pub type State<'a> = [&'a mut [f32]; 2];

/// The constants of one begun step ([`Optimizer::begin_step`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Update {
    /// SGD with momentum: `v ← μ v + g`, `θ ← θ − η v`.
    Sgd {
        /// η.
        learning_rate: f32,
        /// μ.
        momentum: f32,
    },
    /// Adam, with this step's bias corrections folded in.
    Adam {
        /// η / (1 − β₁ᵗ).
        step_size: f32,
        /// 1 / √(1 − β₂ᵗ).
        inv_sqrt_correction2: f32,
        /// β₁.
        beta1: f32,
        /// β₂.
        beta2: f32,
        /// ε.
        epsilon: f32,
    },
}

impl Update {
    /// Updates `parameters` from `gradients` and the matching range of the state (slices of
    /// what [`Optimizer::begin_step`] returned, at the same offsets). Only the shortest of
    /// the parameters, gradients and used state slices is updated.
    pub fn apply(&self, parameters: &mut [f32], gradients: &[f32], state: State<'_>) {
        let [first, second] = state;
        match *self {
            Update::Sgd {
                learning_rate: lr,
                momentum: mu,
            } => {
                for ((p, g), v) in parameters.iter_mut().zip(gradients).zip(first) {
                    *v = mu * *v + g;
                    *p -= lr * *v;
                }
            }
            Update::Adam {
                step_size,
                inv_sqrt_correction2,
                beta1: b1,
                beta2: b2,
                epsilon: eps,
            } => {
                for (((p, g), m), v) in parameters.iter_mut().zip(gradients).zip(first).zip(second)
                {
                    // The new moments stay in registers: where the square root is a library
                    // call (no `std`), values stored through `m` and `v` would be loaded again
                    // after it.
                    let first = b1 * *m + (1.0 - b1) * g;
                    let second = b2 * *v + (1.0 - b2) * g * g;
                    *m = first;
                    *v = second;
                    let denom = crate::float::sqrt(second) * inv_sqrt_correction2 + eps;
                    *p -= step_size * first / denom;
                }
            }
        }
    }
}

fn check_rate(learning_rate: f32) -> Result<()> {
    if learning_rate.is_finite() && learning_rate > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidSetting(
            "learning rate must be finite and > 0",
        ))
    }
}

/// Stochastic gradient descent with (heavy-ball) momentum: `v ← μ v + g`, `θ ← θ − η v`.
/// With μ = 0 it is plain gradient descent.
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd<S> {
    learning_rate: f32,
    momentum: f32,
    velocity: S,
}

impl<S: AsRef<[f32]> + AsMut<[f32]>> Sgd<S> {
    /// SGD whose velocity lives in `velocity` (one entry per parameter; it is zeroed).
    pub fn new(learning_rate: f32, momentum: f32, mut velocity: S) -> Result<Self> {
        check_rate(learning_rate)?;
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::InvalidSetting("momentum must be in [0, 1)"));
        }
        velocity.as_mut().fill(0.0);
        Ok(Sgd {
            learning_rate,
            momentum,
            velocity,
        })
    }

    /// The velocity, for checkpoints.
    pub fn velocity(&self) -> &[f32] {
        self.velocity.as_ref()
    }

    /// The velocity, to restore a checkpoint.
    pub fn velocity_mut(&mut self) -> &mut [f32] {
        self.velocity.as_mut()
    }
}

impl<S: AsRef<[f32]> + AsMut<[f32]>> Optimizer for Sgd<S> {
    fn begin_step(&mut self, parameters: usize) -> Result<(Update, State<'_>)> {
        check_len("SGD velocity", parameters, self.velocity.as_ref().len())?;
        let update = Update::Sgd {
            learning_rate: self.learning_rate,
            momentum: self.momentum,
        };
        Ok((update, [self.velocity.as_mut(), &mut []]))
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }
}

/// Adam (Kingma and Ba 2015) with bias correction, in PyTorch's form:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − η m̂ / (√v̂ + ε)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam<S> {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    steps: u32,
    first_moment: S,
    second_moment: S,
}

/// Adam's usual constants: β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (also TensorFlow's and PyTorch's).
pub const ADAM_DEFAULTS: (f32, f32, f32) = (0.9, 0.999, 1e-8);

impl<S: AsRef<[f32]> + AsMut<[f32]>> Adam<S> {
    /// Adam with the usual constants; the moments live in `first_moment` and `second_moment`
    /// (one entry per parameter each; they are zeroed).
    pub fn new(learning_rate: f32, first_moment: S, second_moment: S) -> Result<Self> {
        let (beta1, beta2, epsilon) = ADAM_DEFAULTS;
        Self::with_constants(
            learning_rate,
            beta1,
            beta2,
            epsilon,
            first_moment,
            second_moment,
        )
    }

    /// Adam with chosen β₁, β₂ and ε.
    pub fn with_constants(
        learning_rate: f32,
        beta1: f32,
        beta2: f32,
        epsilon: f32,
        mut first_moment: S,
        mut second_moment: S,
    ) -> Result<Self> {
        check_rate(learning_rate)?;
        if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
            return Err(Error::InvalidSetting("Adam betas must be in [0, 1)"));
        }
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(Error::InvalidSetting("Adam epsilon must be finite and > 0"));
        }
        check_len(
            "Adam second moment",
            first_moment.as_ref().len(),
            second_moment.as_ref().len(),
        )?;
        first_moment.as_mut().fill(0.0);
        second_moment.as_mut().fill(0.0);
        Ok(Adam {
            learning_rate,
            beta1,
            beta2,
            epsilon,
            steps: 0,
            first_moment,
            second_moment,
        })
    }

    /// Steps taken so far (the bias correction's `t`).
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The state for a checkpoint: steps, first and second moments.
    pub fn state(&self) -> (u32, &[f32], &[f32]) {
        (
            self.steps,
            self.first_moment.as_ref(),
            self.second_moment.as_ref(),
        )
    }

    /// Restores a checkpoint's state.
    pub fn restore(
        &mut self,
        steps: u32,
        first_moment: &[f32],
        second_moment: &[f32],
    ) -> Result<()> {
        check_len(
            "Adam first moment",
            self.first_moment.as_ref().len(),
            first_moment.len(),
        )?;
        check_len(
            "Adam second moment",
            self.second_moment.as_ref().len(),
            second_moment.len(),
        )?;
        self.first_moment.as_mut().copy_from_slice(first_moment);
        self.second_moment.as_mut().copy_from_slice(second_moment);
        self.steps = steps;
        Ok(())
    }
}

impl<S: AsRef<[f32]> + AsMut<[f32]>> Optimizer for Adam<S> {
    fn begin_step(&mut self, parameters: usize) -> Result<(Update, State<'_>)> {
        check_len("Adam moments", parameters, self.first_moment.as_ref().len())?;
        check_len(
            "Adam moments",
            parameters,
            self.second_moment.as_ref().len(),
        )?;
        self.steps = self.steps.saturating_add(1);
        let t = self.steps as i32;
        // Bias corrections in f64 via libm: identical on every platform.
        let correction1 = 1.0 - libm::pow(f64::from(self.beta1), f64::from(t));
        let correction2 = 1.0 - libm::pow(f64::from(self.beta2), f64::from(t));
        let update = Update::Adam {
            step_size: (f64::from(self.learning_rate) / correction1) as f32,
            inv_sqrt_correction2: (1.0 / libm::sqrt(correction2)) as f32,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        };
        Ok((
            update,
            [self.first_moment.as_mut(), self.second_moment.as_mut()],
        ))
    }

    fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f32) {
        self.learning_rate = learning_rate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_momentum_by_hand() {
        let mut opt = Sgd::new(0.1, 0.5, [0.0f32; 2]).unwrap();
        let mut p = [1.0, -1.0];
        opt.step(&mut p, &[2.0, -4.0]).unwrap();
        // v = g; p = p − 0.1 g
        assert_eq!(p, [0.8, -0.6]);
        opt.step(&mut p, &[2.0, -4.0]).unwrap();
        // v = 0.5·g + g = 1.5 g; p −= 0.15 g
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.0).abs() < 1e-6);
    }

    #[test]
    fn adam_by_hand() {
        // First step: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g).
        let mut opt = Adam::new(0.01, [0.0f32; 2], [0.0f32; 2]).unwrap();
        let mut p = [1.0, 1.0];
        opt.step(&mut p, &[0.5, -3.0]).unwrap();
        assert!((p[0] - 0.99).abs() < 1e-6 && (p[1] - 1.01).abs() < 1e-6);
        // Second step with g = (1, 1) on parameter 0: m = 0.09·0.5·… computed in f64 below.
        opt.step(&mut p, &[1.0, 0.0]).unwrap();
        let (b1, b2, lr) = (0.9f64, 0.999f64, 0.01f64);
        let m = (1.0 - b1) * 0.5 * b1 + (1.0 - b1) * 1.0;
        let v = (1.0 - b2) * 0.25 * b2 + (1.0 - b2) * 1.0;
        let expect = 0.99 - lr * (m / (1.0 - b1 * b1)) / ((v / (1.0 - b2 * b2)).sqrt() + 1e-8);
        assert!(
            (f64::from(p[0]) - expect).abs() < 1e-6,
            "{} vs {expect}",
            p[0]
        );
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(Sgd::new(0.0, 0.0, [0.0f32; 1]).is_err());
        assert!(Sgd::new(f32::NAN, 0.0, [0.0f32; 1]).is_err());
        assert!(Sgd::new(0.1, 1.0, [0.0f32; 1]).is_err());
        assert!(Adam::new(-1.0, [0.0f32; 1], [0.0f32; 1]).is_err());
        let mut opt = Adam::new(0.1, [0.0f32; 1], [0.0f32; 1]).unwrap();
        assert!(opt.step(&mut [0.0; 2], &[0.0; 2]).is_err());
    }
}
