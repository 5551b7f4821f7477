//! Activation functions, applied element-wise after each dense layer.
//!
//! `tanh` is computed by [`tanh`], a rational-polynomial form in plain IEEE `f32` arithmetic:
//! the same operations give the same bits on every platform. On a desktop it is branch-free, so
//! the compiler vectorizes it over a slice (a libm call per value was most of a forward pass);
//! on a Cortex-M, which has no vectors, it computes only the one of its two forms it needs.

/// The non-linearity of a layer.
///
/// Derivatives are computed from the layer's *output*, so training stores one value per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Activation {
    /// `tanh` (see [`tanh`]): the paper's activation and the default.
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
            Activation::Tanh => tanh(x),
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
            Activation::Tanh => values.iter_mut().for_each(|v| *v = tanh(*v)),
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

/// Below this magnitude [`tanh`] uses its odd polynomial, above it the exponential form.
const TANH_POLYNOMIAL_LIMIT: f32 = 0.625;
/// Magnitudes above this are clamped (tanh(10) rounds to 1 in `f32`), so `exp` cannot overflow.
const TANH_CLAMP: f32 = 10.0;

/// Whether [`tanh`] computes both of its forms and selects one ([`tanh_with`]), which lets a loop
/// over a slice vectorize. On 32-bit Arm (the Cortex-M targets, which have no vectors) it
/// computes only the form it needs and saves the other's instructions. Both give the same bits,
/// as they round the same operations on the same values.
const TANH_SELECTS: bool = cfg!(not(target_arch = "arm"));

/// The hyperbolic tangent in plain IEEE `f32` arithmetic and bit operations.
///
/// `|x| < 0.625`: Cephes' odd polynomial `x + x³ P(x²)`; otherwise `1 − 2 / (eˣ·ˣ + 1)` with
/// `exp` of `2|x|` (clamped to 20); the sign is copied from `x`. On a desktop both forms are
/// computed and one is selected, without branches, so a loop over a slice vectorizes; on a
/// Cortex-M only the selected one is computed. The result is the same, bit for bit, either way
/// and on every platform.
///
/// Measured over every `f32` in `[0, 10.5]` (and by symmetry the negatives; beyond, both give
/// ±1): at most 1 ulp from `libm::tanh` computed in `f64` and rounded, at most 2 ulp from
/// `libm::tanhf`, and equal to `libm::tanhf` on 95% of the inputs. `tanh(±0) = ±0`,
/// `tanh(±∞) = ±1`, a NaN gives a NaN.
#[inline]
pub fn tanh(x: f32) -> f32 {
    tanh_with::<TANH_SELECTS>(x)
}

/// [`tanh`], computing both forms and selecting one if `SELECT` (branch-free), else branching
/// to the one it needs. The two share [`tanh_polynomial`] and [`tanh_exponential`], so they
/// round the same operations on the same values.
#[inline(always)]
fn tanh_with<const SELECT: bool>(x: f32) -> f32 {
    const SIGN: u32 = 0x8000_0000;
    let a = f32::from_bits(x.to_bits() & !SIGN);
    let magnitude = if SELECT {
        let small = tanh_polynomial(a);
        let large = tanh_exponential(a);
        if a < TANH_POLYNOMIAL_LIMIT {
            small
        } else {
            large
        }
    } else if a < TANH_POLYNOMIAL_LIMIT {
        tanh_polynomial(a)
    } else {
        tanh_exponential(a)
    };
    let result = f32::from_bits(magnitude.to_bits() | (x.to_bits() & SIGN));
    if x.is_nan() {
        x
    } else {
        result
    }
}

/// `tanh a` for `0 ≤ a < 0.625`: `a + a³ P(a²)`.
#[inline(always)]
fn tanh_polynomial(a: f32) -> f32 {
    let z = a * a;
    ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
        - 3.333_328e-1)
        * z
        * a
        + a
}

/// `tanh a` for `a ≥ 0.625`: `1 − 2 / (e²ᵃ + 1)`, with `2a` clamped to 20.
#[inline(always)]
fn tanh_exponential(a: f32) -> f32 {
    let t = if a < TANH_CLAMP {
        a + a
    } else {
        2.0 * TANH_CLAMP
    };
    1.0 - 2.0 / (exp_positive(t) + 1.0)
}

/// `eᵗ` for `0 ≤ t ≤ 20` (Cephes' `expf`): `t = n ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-7
/// polynomial for `eʳ`, and `2ⁿ` assembled from its bits. About 1 ulp.
#[inline(always)]
fn exp_positive(t: f32) -> f32 {
    // Adding 1.5 · 2²³ rounds to an integer (ties to even) and leaves it in the low mantissa bits.
    const SHIFTER: f32 = 12_582_912.0;
    let shifted = t * core::f32::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = t - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
        * r
        + 1.666_666_5e-1)
        * r
        + 0.5)
        * (r * r)
        + r
        + 1.0;
    let exponent = shifted
        .to_bits()
        .wrapping_sub(SHIFTER.to_bits())
        .wrapping_add(127);
    p * f32::from_bits(exponent << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ulps between two finite `f32`s of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// A dense sweep over the bit patterns of `[0, 10.5]` (every 101st `f32`, about 10⁷ values)
    /// against `libm::tanhf` and `libm::tanh` of `f64` rounded to `f32`.
    #[test]
    fn tanh_is_within_two_ulp() {
        let end = 10.5f32.to_bits();
        let mut worst = (0, 0.0f32);
        for bits in (0..=end).step_by(101) {
            let x = f32::from_bits(bits);
            let y = tanh(x);
            let exact = libm::tanh(f64::from(x)) as f32;
            let e = ulps(y, exact).max(ulps(y, libm::tanhf(x)));
            if e > worst.0 {
                worst = (e, x);
            }
            assert_eq!(tanh(-x).to_bits(), (-y).to_bits());
        }
        assert!(worst.0 <= 2, "{} ulp at {}", worst.0, worst.1);
    }

    /// Both forms of `tanh` bit for bit, whichever one `tanh` uses on this platform: over a
    /// sweep of every 11th bit pattern (all magnitudes, both signs, infinities and NaNs) and
    /// every `f32` within 2¹⁶ ulp of each place where the forms choose (0.625 and the clamp).
    #[test]
    fn tanh_forms_agree_bit_for_bit() {
        let same = |x: f32| {
            let (selected, branched) = (tanh_with::<true>(x), tanh_with::<false>(x));
            assert_eq!(
                selected.to_bits(),
                branched.to_bits(),
                "x = {x:e} ({:#010x})",
                x.to_bits()
            );
            assert_eq!(tanh(x).to_bits(), selected.to_bits());
        };
        for bits in (0..=u32::MAX).step_by(11) {
            same(f32::from_bits(bits));
        }
        for edge in [TANH_POLYNOMIAL_LIMIT, TANH_CLAMP] {
            let bits = edge.to_bits();
            for b in bits - (1 << 16)..=bits + (1 << 16) {
                same(f32::from_bits(b));
                same(-f32::from_bits(b));
            }
        }
        for x in [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            f32::MIN,
        ] {
            same(x);
        }
    }

    #[test]
    fn tanh_special_values() {
        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh(1e30), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        assert_eq!(tanh(f32::MAX), 1.0);
        assert!(tanh(f32::NAN).is_nan());
        let tiny = f32::from_bits(1);
        assert_eq!(tanh(tiny), tiny);
        assert_eq!(tanh(1e-20), 1e-20);
    }

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
