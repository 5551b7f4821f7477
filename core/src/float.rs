//! Square root and fused multiply-add with one meaning everywhere.
//!
//! Both are correctly rounded (IEEE 754), so each returns the same bits whichever
//! implementation computes it. Without the `std` feature they come from `libm`, which works on
//! every target; with it they come from the standard library, which the compiler turns into
//! the processor's instructions and vectorizes across a loop (`vsqrtps`, `vfmadd…ps` on a
//! desktop). The feature changes speed, never results.

/// `√x`, correctly rounded.
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::sqrtf(x)
    }
}

/// `a · b + c` with a single rounding.
///
/// Fast where the processor has a fused multiply-add and the `std` feature is on; elsewhere a
/// correct but slow software emulation (see [`crate::dense::Arithmetic`]).
#[inline(always)]
pub fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(feature = "std"))]
    {
        software_mul_add(a, b, c)
    }
}

/// The software fused multiply-add, kept out of line: inlined into the kernels' unrolled loops
/// it would cost a microcontroller kilobytes of flash and gain nothing.
#[cfg(not(feature = "std"))]
#[inline(never)]
fn software_mul_add(a: f32, b: f32, c: f32) -> f32 {
    libm::fmaf(a, b, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_root_is_correctly_rounded() {
        for &x in &[0.0f32, 1.0, 2.0, 1e-30, 3.4e38, 0.1, 12345.678] {
            assert_eq!(sqrt(x).to_bits(), libm::sqrtf(x).to_bits(), "√{x}");
        }
        assert!(sqrt(-1.0).is_nan());
    }

    #[test]
    fn multiply_add_rounds_once() {
        // (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴: the last term is lost when the product is rounded
        // first, and kept by a fused multiply-add.
        let a = 1.0 + libm::ldexpf(1.0, -12);
        let c = -(1.0 + libm::ldexpf(1.0, -11));
        assert_eq!(a * a + c, 0.0);
        assert_eq!(mul_add(a, a, c), libm::ldexpf(1.0, -24));
        assert_eq!(mul_add(a, a, c).to_bits(), libm::fmaf(a, a, c).to_bits());
    }
}
