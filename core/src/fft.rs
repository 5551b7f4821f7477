//! A thin shim over [microfft]: forward FFTs of power-of-two sizes, scaled by `1/N`.
//!
//! microfft offers one function per size (`rfft_2` … `rfft_4096`) on fixed-size arrays. This
//! module dispatches on the size so callers can write one generic call, either with a const
//! size `N` ([`rfft`], [`cfft`]; a size that is not a power of two fails to compile) or with a
//! slice whose length is only known at run time ([`rfft_slice`], [`cfft_slice`]; any other
//! length is an [`Error::UnsupportedSize`]). Sizes 2 to [`MAX_SIZE`] are compiled in.
//!
//! # Scaling
//!
//! Every forward transform here is scaled by `1/N`:
//! `X_k = (1/N) Σ_j x_j e^{−2πi jk/N}`. Bin 0 is then the mean of the input, and a sine
//! `a·sin(2π k j/N)` shows up as `|X_k| = a/2` (the other half of its energy sits at bin `N − k`,
//! which the real FFT does not return). Scaled spectra of the same function sampled on grids
//! of different sizes are directly comparable.
//!
//! All transforms work in place and never allocate.

use crate::error::{Error, Result};
pub use microfft::Complex32;
use microfft::{complex, real};

/// The largest transform size compiled in (microfft feature `size-4096`).
pub const MAX_SIZE: usize = 4096;

/// The result of a real FFT of `N` points: bins `0 .. N/2` and the Nyquist bin `N/2`.
///
/// microfft packs the (real) Nyquist coefficient into the imaginary part of bin 0; here it is
/// moved out into [`HalfSpectrum::nyquist`] and `bins[0].im` is zero, so `bins` can be used
/// for magnitudes and peaks directly.
#[derive(Debug, PartialEq)]
pub struct HalfSpectrum<'a> {
    /// Scaled bins `0 .. N/2` (Nyquist excluded); `bins[0]` is real: the mean of the input.
    pub bins: &'a mut [Complex32],
    /// The scaled Nyquist bin `X_{N/2}` (real for real input).
    pub nyquist: f32,
}

/// Real FFT of a const-size buffer, in place, scaled by `1/N`.
///
/// `N` must be a power of two (checked at compile time); sizes 1 and above [`MAX_SIZE`]
/// return [`Error::UnsupportedSize`]. The input is overwritten (the returned bins borrow it).
///
/// ```
/// use fprinciple_core::fft::rfft;
///
/// let mut x = [1.0_f32, 0.0, -1.0, 0.0]; // cos(2π j/4)
/// let spectrum = rfft(&mut x)?;
/// assert_eq!(spectrum.bins[1].re, 0.5); // a/2 after 1/N scaling
/// assert_eq!(spectrum.nyquist, 0.0);
/// # Ok::<(), fprinciple_core::Error>(())
/// ```
pub fn rfft<const N: usize>(input: &mut [f32; N]) -> Result<HalfSpectrum<'_>> {
    const { assert!(N.is_power_of_two(), "FFT size must be a power of two") };
    rfft_slice(input)
}

/// Real FFT of a slice whose length is known only at run time, in place, scaled by `1/N`.
///
/// The length must be a power of two from 2 to [`MAX_SIZE`], else [`Error::UnsupportedSize`].
pub fn rfft_slice(input: &mut [f32]) -> Result<HalfSpectrum<'_>> {
    let n = input.len();
    let bins: &mut [Complex32] = match n {
        2 => real::rfft_2(array(input)?),
        4 => real::rfft_4(array(input)?),
        8 => real::rfft_8(array(input)?),
        16 => real::rfft_16(array(input)?),
        32 => real::rfft_32(array(input)?),
        64 => real::rfft_64(array(input)?),
        128 => real::rfft_128(array(input)?),
        256 => real::rfft_256(array(input)?),
        512 => real::rfft_512(array(input)?),
        1024 => real::rfft_1024(array(input)?),
        2048 => real::rfft_2048(array(input)?),
        4096 => real::rfft_4096(array(input)?),
        _ => return Err(Error::UnsupportedSize(n)),
    };
    let scale = 1.0 / n as f32;
    let mut nyquist = 0.0;
    if let Some(dc) = bins.first_mut() {
        // Unpack microfft's Nyquist bin before anything reads magnitudes.
        nyquist = dc.im * scale;
        dc.im = 0.0;
    }
    for bin in bins.iter_mut() {
        *bin = bin.scale(scale);
    }
    Ok(HalfSpectrum { bins, nyquist })
}

/// Complex FFT of a const-size buffer, in place, scaled by `1/N`.
///
/// `N` must be a power of two (checked at compile time); sizes 1 and above [`MAX_SIZE`]
/// return [`Error::UnsupportedSize`]. Used for 2-D spectra (rows, then columns).
pub fn cfft<const N: usize>(data: &mut [Complex32; N]) -> Result<()> {
    const { assert!(N.is_power_of_two(), "FFT size must be a power of two") };
    cfft_slice(data)
}

/// Complex FFT of a slice whose length is known only at run time, in place, scaled by `1/N`.
///
/// The length must be a power of two from 2 to [`MAX_SIZE`], else [`Error::UnsupportedSize`].
pub fn cfft_slice(data: &mut [Complex32]) -> Result<()> {
    let n = data.len();
    let out: &mut [Complex32] = match n {
        2 => complex::cfft_2(array(data)?),
        4 => complex::cfft_4(array(data)?),
        8 => complex::cfft_8(array(data)?),
        16 => complex::cfft_16(array(data)?),
        32 => complex::cfft_32(array(data)?),
        64 => complex::cfft_64(array(data)?),
        128 => complex::cfft_128(array(data)?),
        256 => complex::cfft_256(array(data)?),
        512 => complex::cfft_512(array(data)?),
        1024 => complex::cfft_1024(array(data)?),
        2048 => complex::cfft_2048(array(data)?),
        4096 => complex::cfft_4096(array(data)?),
        _ => return Err(Error::UnsupportedSize(n)),
    };
    let scale = 1.0 / n as f32;
    for z in out.iter_mut() {
        *z = z.scale(scale);
    }
    Ok(())
}

/// Views a slice as a fixed-size array (the form microfft takes).
fn array<T, const N: usize>(slice: &mut [T]) -> Result<&mut [T; N]> {
    let n = slice.len();
    slice.try_into().map_err(|_| Error::UnsupportedSize(n))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use core::f64::consts::PI;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Naive DFT in f64, scaled by 1/N: the reference the FFT is checked against.
    fn naive_dft(re: &[f64], im: &[f64]) -> Vec<(f64, f64)> {
        let n = re.len();
        // e^{−2πi m/n} for m = jk mod n, from a table so large sizes stay quick.
        let twiddle: Vec<(f64, f64)> = (0..n)
            .map(|m| (-2.0 * PI * m as f64 / n as f64).sin_cos())
            .collect();
        (0..n)
            .map(|k| {
                let mut acc = (0.0, 0.0);
                for (j, (&a, &b)) in re.iter().zip(im).enumerate() {
                    let (s, c) = twiddle[(j * k) % n];
                    acc.0 += a * c - b * s;
                    acc.1 += a * s + b * c;
                }
                (acc.0 / n as f64, acc.1 / n as f64)
            })
            .collect()
    }

    /// Largest absolute difference between an FFT result and the naive DFT.
    fn max_deviation(fft: &[Complex32], reference: &[(f64, f64)]) -> f64 {
        fft.iter()
            .zip(reference)
            .map(|(z, r)| {
                (f64::from(z.re) - r.0)
                    .abs()
                    .max((f64::from(z.im) - r.1).abs())
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn every_supported_size_matches_naive_dft() {
        let mut n = 2;
        while n <= MAX_SIZE {
            // A fixed pseudo-random signal in [−1, 1].
            let x: Vec<f32> = (0..n)
                .map(|j| ((j as u32).wrapping_mul(2_654_435_761) >> 8) as f32 / 8_388_608.0 - 1.0)
                .collect();
            let y: Vec<f32> = x.iter().rev().map(|v| 0.5 * v).collect();
            let re: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            let im: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();

            let reference = naive_dft(&re, &std::vec![0.0; n]);
            let mut buf = x.clone();
            let out = rfft_slice(&mut buf);
            assert!(out.is_ok(), "rfft size {n}");
            if let Ok(out) = out {
                assert!(max_deviation(out.bins, &reference) < TOL, "rfft size {n}");
                assert!((f64::from(out.nyquist) - reference[n / 2].0).abs() < TOL);
            }

            let reference = naive_dft(&re, &im);
            let mut buf: Vec<Complex32> = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| Complex32::new(a, b))
                .collect();
            assert_eq!(cfft_slice(&mut buf), Ok(()), "cfft size {n}");
            assert!(max_deviation(&buf, &reference) < TOL, "cfft size {n}");
            n *= 2;
        }
    }

    /// A power-of-two size from 2 to 1024 and that many values in [−1, 1].
    fn signal() -> impl Strategy<Value = Vec<f32>> {
        (1u32..=10).prop_flat_map(|p| proptest::collection::vec(-1.0f32..1.0, 1usize << p))
    }

    const TOL: f64 = 1e-5;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn rfft_matches_naive_dft(x in signal()) {
            let n = x.len();
            let re: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
            let reference = naive_dft(&re, &std::vec![0.0; n]);
            let mut buf = x.clone();
            let out = rfft_slice(&mut buf).map_err(|e| TestCaseError::fail(std::format!("{e}")))?;
            prop_assert_eq!(out.bins.len(), n / 2);
            for (k, bin) in out.bins.iter().enumerate() {
                prop_assert!((f64::from(bin.re) - reference[k].0).abs() < TOL, "re bin {}", k);
                prop_assert!((f64::from(bin.im) - reference[k].1).abs() < TOL, "im bin {}", k);
            }
            prop_assert!((f64::from(out.nyquist) - reference[n / 2].0).abs() < TOL);
        }

        #[test]
        fn cfft_matches_naive_dft(x in signal(), y in signal()) {
            let n = x.len().min(y.len());
            let re: Vec<f64> = x.iter().take(n).map(|&v| f64::from(v)).collect();
            let im: Vec<f64> = y.iter().take(n).map(|&v| f64::from(v)).collect();
            let reference = naive_dft(&re, &im);
            let mut buf: Vec<Complex32> =
                x.iter().zip(&y).map(|(&a, &b)| Complex32::new(a, b)).collect();
            cfft_slice(&mut buf).map_err(|e| TestCaseError::fail(std::format!("{e}")))?;
            for (k, z) in buf.iter().enumerate() {
                prop_assert!((f64::from(z.re) - reference[k].0).abs() < TOL, "re bin {}", k);
                prop_assert!((f64::from(z.im) - reference[k].1).abs() < TOL, "im bin {}", k);
            }
        }

        #[test]
        fn parseval_holds(x in signal()) {
            // With 1/N scaling: mean(x²) = X_0² + 2 Σ_{0<k<N/2} |X_k|² + X_{N/2}².
            let n = x.len();
            let mean_square = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / n as f64;
            let mut buf = x.clone();
            let out = rfft_slice(&mut buf).map_err(|e| TestCaseError::fail(std::format!("{e}")))?;
            let mut energy = f64::from(out.nyquist).powi(2);
            for (k, bin) in out.bins.iter().enumerate() {
                let weight = if k == 0 { 1.0 } else { 2.0 };
                energy += weight * f64::from(bin.norm_sqr());
            }
            prop_assert!((energy - mean_square).abs() < 1e-5 * (1.0 + mean_square));
        }
    }

    #[test]
    fn const_size_and_slice_agree() {
        let mut a = [0.0f32; 128];
        for (j, v) in a.iter_mut().enumerate() {
            *v = (j as f32 * 0.37).sin() + 0.25;
        }
        let mut b = a;
        let from_array = rfft(&mut a).map(|s| (s.bins.to_vec(), s.nyquist));
        let from_slice = rfft_slice(&mut b[..]).map(|s| (s.bins.to_vec(), s.nyquist));
        assert_eq!(from_array, from_slice);
    }

    #[test]
    fn nyquist_is_unpacked() {
        // Alternating ±1 is pure Nyquist; 1/N scaling makes that bin 1.
        let mut x = [1.0f32, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        let out = rfft(&mut x);
        assert_eq!(out.as_ref().map(|s| s.nyquist), Ok(1.0));
        assert_eq!(out.map(|s| s.bins[0]), Ok(Complex32::new(0.0, 0.0)));
    }

    #[test]
    fn unsupported_sizes_are_errors() {
        assert_eq!(rfft_slice(&mut []), Err(Error::UnsupportedSize(0)));
        assert_eq!(rfft_slice(&mut [1.0]), Err(Error::UnsupportedSize(1)));
        assert_eq!(rfft_slice(&mut [0.0; 6]), Err(Error::UnsupportedSize(6)));
        assert_eq!(rfft(&mut [0.0; 1]), Err(Error::UnsupportedSize(1)));
        assert_eq!(
            rfft_slice(&mut [0.0; 8192]),
            Err(Error::UnsupportedSize(8192))
        );
        let mut z = [Complex32::new(0.0, 0.0); 12];
        assert_eq!(cfft_slice(&mut z), Err(Error::UnsupportedSize(12)));
        assert!(rfft_slice(&mut [0.0; 4096]).is_ok());
        assert!(cfft_slice(&mut [Complex32::new(1.0, 0.0); 4096]).is_ok());
    }
}
