//! Spectra of functions seen through their values: on a uniform 1-D grid, on an `S×S` image,
//! and at scattered points projected on a direction.
//!
//! Every spectrum here is scaled by `1/N` (see [`crate::fft`]): `ŷ_k = (1/N) Σ_j y_j e^{−2πi jk/N}`.
//! On the grid `x_j = a + j (b − a)/N` ([`grid_point`]), a term `c·sin(2πk (x − a)/(b − a))`
//! of the target (k whole cycles on the interval) has `|ŷ_k| = c/2`; e.g. `sin x + sin 3x +
//! sin 5x` on `[−π, π)` has `|ŷ_1| = |ŷ_3| = |ŷ_5| = 0.5`.
//!
//! Nothing here allocates: callers pass every buffer.

use crate::error::{check_len, Error, Result};
use crate::fft::{self, Complex32, HalfSpectrum};
use core::f32::consts::PI;
use heapless::Vec;

/// Default number of low bins searched for peaks (the authors' code uses 20 or 40).
pub const DEFAULT_PEAK_BINS: usize = 20;

/// Default peak floor, as a fraction of the largest magnitude among the searched bins.
pub const DEFAULT_RELATIVE_FLOOR: f32 = 0.05;

// ---------------------------------------------------------------------------------------------
// Grids and 1-D spectra
// ---------------------------------------------------------------------------------------------

/// Point `j` of the uniform `n`-point grid on `[a, b)`: `x_j = a + j (b − a)/n`.
///
/// The right endpoint is excluded, so a function periodic on `[a, b)` has exact DFT bins (no
/// leakage). Returns `a` when `n == 0`.
pub fn grid_point(a: f32, b: f32, n: usize, j: usize) -> f32 {
    if n == 0 {
        return a;
    }
    a + (b - a) * (j as f32 / n as f32)
}

/// Fills `out` with the uniform grid on `[a, b)` (right endpoint excluded): the default grid.
pub fn fill_grid(a: f32, b: f32, out: &mut [f32]) {
    let n = out.len();
    for (j, x) in out.iter_mut().enumerate() {
        *x = grid_point(a, b, n, j);
    }
}

/// Fills `out` with the uniform grid on `[a, b]`, both endpoints included (the authors' grid).
///
/// Supported for comparison with the authors' code; a function periodic on `[a, b)` leaks
/// energy across bins on this grid, so [`fill_grid`] is the default.
pub fn fill_grid_inclusive(a: f32, b: f32, out: &mut [f32]) {
    let n = out.len();
    for (j, x) in out.iter_mut().enumerate() {
        *x = grid_point(a, b, n.saturating_sub(1), j);
    }
}

/// `|z|`, computed without overflow or undue underflow (libm `hypotf`).
pub fn magnitude(z: Complex32) -> f32 {
    libm::hypotf(z.re, z.im)
}

/// Writes `|spectrum[k]|` into `out[k]`, for plotting. The slices must have equal lengths.
pub fn magnitudes(spectrum: &[Complex32], out: &mut [f32]) -> Result<()> {
    check_len("magnitude output", spectrum.len(), out.len())?;
    for (m, z) in out.iter_mut().zip(spectrum) {
        *m = magnitude(*z);
    }
    Ok(())
}

/// Scaled real spectrum of `values` sampled on a uniform grid, using `scratch` as FFT buffer.
///
/// `values` keeps its contents; `scratch` must have the same length, a power of two from 2 to
/// [`fft::MAX_SIZE`]. The returned bins `0 .. N/2` borrow `scratch`; the Nyquist bin is apart.
pub fn spectrum_on_grid<'s>(values: &[f32], scratch: &'s mut [f32]) -> Result<HalfSpectrum<'s>> {
    check_len("FFT scratch", values.len(), scratch.len())?;
    scratch.copy_from_slice(values);
    fft::rfft_slice(scratch)
}

// ---------------------------------------------------------------------------------------------
// Peaks
// ---------------------------------------------------------------------------------------------

/// A peak of a spectrum: its bin and the complex spectrum value there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Frequency index: DFT bin, or index into the frequency grid of a [`nudft`].
    pub bin: usize,
    /// The (scaled) spectrum value at `bin`.
    pub value: Complex32,
}

impl Peak {
    /// `|value|`, the height of the peak.
    pub fn magnitude(&self) -> f32 {
        magnitude(self.value)
    }
}

/// How [`find_peaks`] selects peaks.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeakSearch {
    /// Only bins `0 .. max_bins` can be peaks (the authors' `K`).
    pub max_bins: usize,
    /// A peak must exceed this fraction of the largest magnitude among those bins (in `[0, 1)`).
    pub relative_floor: f32,
    /// Whether bin 0 (the mean) may be a peak; off by default, as in the paper's 1-D runs.
    pub include_dc: bool,
}

impl PeakSearch {
    /// `K = 20` bins, floor 5% of the largest magnitude, DC excluded.
    pub const DEFAULT: Self = Self {
        max_bins: DEFAULT_PEAK_BINS,
        relative_floor: DEFAULT_RELATIVE_FLOOR,
        include_dc: false,
    };
}

impl Default for PeakSearch {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Strict local maxima of `|spectrum[k]|` among the first `search.max_bins` bins, low to high.
///
/// Bin `k` is a peak when `|ŷ_k| > |ŷ_{k−1}|`, `|ŷ_k| > |ŷ_{k+1}|` and `|ŷ_k|` exceeds
/// `relative_floor` times the largest magnitude among the searched bins. Neighbours are read
/// from the whole slice, so the last searched bin can be a peak when the slice is longer; a bin
/// without a right neighbour never is. Bin 0 (only with `include_dc`) uses the mirror
/// neighbour `|ŷ_{−1}| = |ŷ_1|` of a real signal's spectrum, so it is a peak when
/// `|ŷ_0| > |ŷ_1|`. A spectrum of zeros has no peaks.
///
/// Errors: [`Error::CapacityExceeded`] when there are more than `P` peaks;
/// [`Error::InvalidSetting`] for a floor outside `[0, 1)`.
pub fn find_peaks<const P: usize>(
    spectrum: &[Complex32],
    search: &PeakSearch,
) -> Result<Vec<Peak, P>> {
    if !(0.0..1.0).contains(&search.relative_floor) {
        return Err(Error::InvalidSetting(
            "peak relative_floor must be in [0, 1)",
        ));
    }
    let searched = spectrum.get(..search.max_bins).unwrap_or(spectrum);
    let largest = searched.iter().map(|z| magnitude(*z)).fold(0.0, f32::max);
    let floor = search.relative_floor * largest;
    let height = |k: usize| spectrum.get(k).map(|z| magnitude(*z));

    let mut peaks = Vec::new();
    for (k, z) in searched.iter().enumerate() {
        let left = match k {
            0 if search.include_dc => height(1),
            0 => None,
            _ => height(k - 1),
        };
        let (Some(left), Some(right)) = (left, height(k + 1)) else {
            continue;
        };
        let m = magnitude(*z);
        if m > left && m > right && m > floor {
            peaks
                .push(Peak { bin: k, value: *z })
                .map_err(|_| Error::CapacityExceeded)?;
        }
    }
    Ok(peaks)
}

// ---------------------------------------------------------------------------------------------
// Non-uniform data: DFT along a direction
// ---------------------------------------------------------------------------------------------

/// Projects row-major inputs (`out.len()` rows of `direction.len()` values) on `direction`:
/// `t_i = x_i · p`, the coordinate the non-uniform DFT ([`nudft`]) runs along.
pub fn project(inputs: &[f32], direction: &[f32], out: &mut [f32]) -> Result<()> {
    let dim = direction.len();
    if dim == 0 {
        return Err(Error::InvalidSetting("projection direction is empty"));
    }
    check_len(
        "projection inputs",
        out.len().saturating_mul(dim),
        inputs.len(),
    )?;
    for (t, x) in out.iter_mut().zip(inputs.chunks_exact(dim)) {
        *t = x.iter().zip(direction).map(|(a, b)| a * b).sum();
    }
    Ok(())
}

/// Non-uniform DFT of values `y_i` at scattered points `t_i`, at frequencies `k · freq_step`:
/// `out[k] = (1/n) Σ_i y_i e^{−2πi k freq_step t_i}` for `k = 0 .. out.len()`.
///
/// With `t_j = j/N` (or `(x_j − a)/(b − a)` on the grid) and `freq_step = 1`, this is the same
/// scaled DFT as [`spectrum_on_grid`]; with `t_j = x_j` and `freq_step = 1/(b − a)` it differs
/// from it only by a phase `e^{−2πi k a/(b − a)}` per bin, which the tracker's relative errors
/// ignore. Feed the result to the tracker's `from_spectrum` / `observe_spectrum`.
///
/// Accuracy: the phase `k·freq_step·t_i` is formed and reduced to `[−½, ½]` turns in `f64`,
/// so it is exact to about 1e-7 rad however large `k·t` gets; `sincosf` adds at most about one
/// `f32` ulp per term and the sum is accumulated in `f64`. The result is accurate to about
/// 1e-6 of `max |y|`. Cost: `n · out.len()` sine/cosine pairs.
///
/// Errors: [`Error::LengthMismatch`] if `t` and `y` differ in length, [`Error::EmptyBatch`]
/// when there are no points, [`Error::InvalidSetting`] for a non-finite `freq_step`.
pub fn nudft(t: &[f32], y: &[f32], freq_step: f32, out: &mut [Complex32]) -> Result<()> {
    check_len("non-uniform DFT values", t.len(), y.len())?;
    if t.is_empty() {
        return Err(Error::EmptyBatch);
    }
    if !freq_step.is_finite() {
        return Err(Error::InvalidSetting(
            "non-uniform DFT freq_step must be finite",
        ));
    }
    let inv_n = 1.0 / t.len() as f64;
    for (k, z) in out.iter_mut().enumerate() {
        let freq = k as f64 * f64::from(freq_step);
        let (mut re, mut im) = (0.0_f64, 0.0_f64);
        for (&ti, &yi) in t.iter().zip(y) {
            let turns = freq * f64::from(ti);
            let angle = 2.0 * PI * (turns - libm::round(turns)) as f32;
            let (sin, cos) = libm::sincosf(angle);
            re += f64::from(yi * cos);
            im -= f64::from(yi * sin);
        }
        *z = Complex32::new((re * inv_n) as f32, (im * inv_n) as f32);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2-D spectra and radial bands
// ---------------------------------------------------------------------------------------------

/// 2-D scaled DFT of a row-major `size×size` image: a complex FFT of every row, then of
/// every column, each scaled, so `out[0]` is the image mean.
///
/// `out` (length `size²`) receives the spectrum, row-major: `out[ky·size + kx]`. `column` is
/// scratch of length `size`. `size` must be a power of two from 2 to [`fft::MAX_SIZE`].
pub fn fft2(
    image: &[f32],
    size: usize,
    out: &mut [Complex32],
    column: &mut [Complex32],
) -> Result<()> {
    let cells = check_square(size)?;
    check_len("2-D FFT image", cells, image.len())?;
    check_len("2-D FFT output", cells, out.len())?;
    check_len("2-D FFT column scratch", size, column.len())?;

    for (row_out, row_in) in out.chunks_exact_mut(size).zip(image.chunks_exact(size)) {
        for (z, &v) in row_out.iter_mut().zip(row_in) {
            *z = Complex32::new(v, 0.0);
        }
        fft::cfft_slice(row_out)?;
    }
    for c in 0..size {
        for (dst, src) in column.iter_mut().zip(out.iter().skip(c).step_by(size)) {
            *dst = *src;
        }
        fft::cfft_slice(column)?;
        for (dst, src) in out.iter_mut().skip(c).step_by(size).zip(column.iter()) {
            *dst = *src;
        }
    }
    Ok(())
}

/// The radial band of 2-D bin `(kx, ky)` of a `size×size` spectrum split into `bands` bands.
///
/// Rule: indices are read as signed frequencies (`k > size/2` wraps to `k − size`; the Nyquist
/// index `size/2` stays positive), so the radius is `r = √(fx² + fy²)` with
/// `|f| = min(k, size − k)`. With `R = size/√2` (the largest radius, at the corner
/// `(size/2, size/2)`), band `b` holds `b·R/B ≤ r < (b+1)·R/B`; the corner itself (`r = R`)
/// goes to the last band. The DC term is in band 0. Computed in exact integer arithmetic
/// (`b = ⌊√(2B²r²)⌋ / size`), so bins on a band edge are never misplaced by rounding.
///
/// `kx`, `ky` are taken modulo `size`; `bands` must be at least 1 (0 yields band 0). Exact
/// for `size` and `bands` up to 2^20; larger values saturate rather than panic.
pub fn radial_band(kx: usize, ky: usize, size: usize, bands: usize) -> usize {
    if size == 0 || bands == 0 {
        return 0;
    }
    let fold = |k: usize| {
        let k = k % size;
        k.min(size - k) as u128
    };
    let (fx, fy) = (fold(kx), fold(ky));
    let b = bands as u128;
    let radius_squared = fx * fx + fy * fy;
    let scaled = b
        .saturating_mul(b)
        .saturating_mul(2)
        .saturating_mul(radius_squared)
        .isqrt()
        / size as u128;
    usize::try_from(scaled).map_or(bands - 1, |s| s.min(bands - 1))
}

/// Sums `|spectrum|²` over each radial band (see [`radial_band`]); `energy.len()` is the
/// number of bands `B`, from 1 to `size/2` (so that no band is empty).
pub fn band_energy(spectrum: &[Complex32], size: usize, energy: &mut [f32]) -> Result<()> {
    let cells = check_square(size)?;
    check_len("2-D spectrum", cells, spectrum.len())?;
    check_bands(size, energy.len())?;
    accumulate_bands(size, energy, spectrum.iter().map(|z| z.norm_sqr()));
    Ok(())
}

/// Relative error of a 2-D output spectrum per radial band:
/// `errors[b] = √(Σ_b |ĥ − ŷ|² / Σ_b |ŷ|²)`, the sums over the bins of band `b`.
///
/// `target_energy` is `Σ_b |ŷ|²` from [`band_energy`] of the target (computed once);
/// `errors.len()` must equal its length. A band where the target has no energy reports 0 if the
/// output matches it exactly there and `f32::INFINITY` otherwise.
pub fn band_errors(
    output: &[Complex32],
    target: &[Complex32],
    size: usize,
    target_energy: &[f32],
    errors: &mut [f32],
) -> Result<()> {
    let cells = check_square(size)?;
    check_len("2-D output spectrum", cells, output.len())?;
    check_len("2-D target spectrum", cells, target.len())?;
    check_len("band errors", target_energy.len(), errors.len())?;
    check_bands(size, errors.len())?;
    let differences = output.iter().zip(target).map(|(h, y)| (h - y).norm_sqr());
    accumulate_bands(size, errors, differences);
    for (e, &t) in errors.iter_mut().zip(target_energy) {
        *e = if t > 0.0 {
            libm::sqrtf(*e / t)
        } else if *e == 0.0 {
            0.0
        } else {
            f32::INFINITY
        };
    }
    Ok(())
}

/// Zeroes `sums` and adds each row-major cell value to the sum of its radial band.
fn accumulate_bands(size: usize, sums: &mut [f32], values: impl Iterator<Item = f32>) {
    sums.fill(0.0);
    let bands = sums.len();
    for (i, v) in values.enumerate() {
        let band = radial_band(i % size, i / size, size, bands);
        if let Some(sum) = sums.get_mut(band) {
            *sum += v;
        }
    }
}

/// Checks a 2-D size (an FFT size) and returns the number of cells `size²`.
fn check_square(size: usize) -> Result<usize> {
    if !(2..=fft::MAX_SIZE).contains(&size) || !size.is_power_of_two() {
        return Err(Error::UnsupportedSize(size));
    }
    Ok(size * size)
}

/// Checks that `bands` is in `1 ..= size/2`, where every band holds at least one bin.
fn check_bands(size: usize, bands: usize) -> Result<()> {
    if bands == 0 || bands > size / 2 {
        return Err(Error::InvalidSetting(
            "number of radial bands must be from 1 to size/2",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec as StdVec;

    const N: usize = 128;

    fn classic_target(x: f32) -> f32 {
        libm::sinf(x) + libm::sinf(3.0 * x) + libm::sinf(5.0 * x)
    }

    #[test]
    fn grid_excludes_right_endpoint() {
        let mut x = [0.0f32; 4];
        fill_grid(-2.0, 2.0, &mut x);
        assert_eq!(x, [-2.0, -1.0, 0.0, 1.0]);
        fill_grid_inclusive(-3.0, 3.0, &mut x);
        assert_eq!(x, [-3.0, -1.0, 1.0, 3.0]);
        assert_eq!(grid_point(1.0, 2.0, 0, 5), 1.0);
    }

    #[test]
    fn sum_of_sines_gives_its_peaks_with_half_amplitudes() {
        // Σ a_i sin(k_i x) on [−π, π): peaks exactly at bins k_i, |ŷ_k| = a_i / 2.
        let terms = [(1usize, 1.0f32), (3, 0.6), (7, 0.3), (12, 0.8)];
        let mut values = [0.0f32; N];
        for (j, v) in values.iter_mut().enumerate() {
            let x = grid_point(-PI, PI, N, j);
            *v = terms
                .iter()
                .map(|&(k, a)| a * libm::sinf(k as f32 * x))
                .sum();
        }
        let mut scratch = [0.0f32; N];
        let spectrum = spectrum_on_grid(&values, &mut scratch);
        let Ok(spectrum) = spectrum else {
            unreachable!("size 128 is supported")
        };
        let peaks = find_peaks::<8>(spectrum.bins, &PeakSearch::DEFAULT);
        let Ok(peaks) = peaks else {
            unreachable!("capacity 8 suffices")
        };
        let bins: StdVec<usize> = peaks.iter().map(|p| p.bin).collect();
        assert_eq!(bins, [1, 3, 7, 12]);
        for (peak, &(_, a)) in peaks.iter().zip(&terms) {
            assert!((peak.magnitude() - a / 2.0).abs() < 1e-5, "{peak:?}");
        }
    }

    #[test]
    fn classic_target_peaks_at_1_3_5() {
        let mut values = [0.0f32; N];
        for (j, v) in values.iter_mut().enumerate() {
            *v = classic_target(grid_point(-PI, PI, N, j));
        }
        let mut scratch = [0.0f32; N];
        let bins = spectrum_on_grid(&values, &mut scratch)
            .and_then(|s| find_peaks::<3>(s.bins, &PeakSearch::DEFAULT))
            .map(|p| p.iter().map(|p| p.bin).collect::<StdVec<_>>());
        assert_eq!(bins, Ok(std::vec![1, 3, 5]));
    }

    #[test]
    fn peak_rules() {
        let c = |re: f32| Complex32::new(re, 0.0);
        let spectrum = [
            c(3.0),
            c(1.0),
            c(2.0),
            c(0.5),
            c(0.01),
            c(0.0),
            c(0.02),
            c(1.0),
        ];
        let search = PeakSearch {
            max_bins: 8,
            relative_floor: 0.05,
            include_dc: false,
        };
        let bins = |s: &PeakSearch| {
            find_peaks::<4>(&spectrum, s).map(|p| p.iter().map(|p| p.bin).collect::<StdVec<_>>())
        };
        // Bin 6 is a local maximum but under the floor; bin 7 has no right neighbour.
        assert_eq!(bins(&search), Ok(std::vec![2]));
        let with_dc = PeakSearch {
            include_dc: true,
            ..search
        };
        assert_eq!(bins(&with_dc), Ok(std::vec![0, 2]));
        // Only the first K bins can be peaks, but neighbours come from the whole spectrum.
        let first_three = PeakSearch {
            max_bins: 3,
            ..search
        };
        assert_eq!(bins(&first_three), Ok(std::vec![2]));
        let first_two = PeakSearch {
            max_bins: 2,
            ..search
        };
        assert_eq!(bins(&first_two), Ok(std::vec![]));
        assert_eq!(
            find_peaks::<0>(&spectrum, &search).map(|p| p.len()),
            Err(Error::CapacityExceeded)
        );
        let bad = PeakSearch {
            relative_floor: 1.0,
            ..search
        };
        assert!(matches!(bins(&bad), Err(Error::InvalidSetting(_))));
        assert_eq!(
            find_peaks::<4>(&[c(0.0); 8], &search).map(|p| p.len()),
            Ok(0)
        );
    }

    #[test]
    fn nudft_on_a_uniform_grid_equals_the_fft() {
        let (a, b) = (-PI, PI);
        let mut x = [0.0f32; N];
        fill_grid(a, b, &mut x);
        let values: StdVec<f32> = x.iter().map(|&v| classic_target(v) + 0.3 * v).collect();
        let mut scratch = [0.0f32; N];
        let Ok(fft) = spectrum_on_grid(&values, &mut scratch) else {
            unreachable!("size 128 is supported")
        };

        // t_j = j/N, unit frequency step: the same DFT.
        let t: StdVec<f32> = (0..N).map(|j| j as f32 / N as f32).collect();
        let mut direct = [Complex32::new(0.0, 0.0); N / 2];
        assert_eq!(nudft(&t, &values, 1.0, &mut direct), Ok(()));
        for (k, (u, v)) in direct.iter().zip(fft.bins.iter()).enumerate() {
            assert!((u - v).norm_sqr().sqrt() < 2e-6, "bin {k}: {u} vs {v}");
        }

        // t_j = x_j, step 1/(b − a): the same up to the phase e^{−2πi k a/(b − a)}.
        let mut shifted = [Complex32::new(0.0, 0.0); N / 2];
        assert_eq!(nudft(&x, &values, 1.0 / (b - a), &mut shifted), Ok(()));
        for (k, (u, v)) in shifted.iter().zip(fft.bins.iter()).enumerate() {
            let (s, c) = libm::sincosf(-2.0 * PI * k as f32 * a / (b - a));
            let expected = v * Complex32::new(c, s);
            assert!((u - expected).norm_sqr().sqrt() < 1e-5, "bin {k}");
        }
    }

    #[test]
    fn nudft_errors_and_projection() {
        let mut out = [Complex32::new(0.0, 0.0); 2];
        assert_eq!(nudft(&[], &[], 1.0, &mut out), Err(Error::EmptyBatch));
        assert!(matches!(
            nudft(&[0.0], &[1.0, 2.0], 1.0, &mut out),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(
            nudft(&[0.0], &[1.0], f32::NAN, &mut out),
            Err(Error::InvalidSetting(_))
        ));
        let inputs = [1.0, 2.0, 3.0, -1.0, 0.0, 0.5];
        let mut t = [0.0f32; 2];
        assert_eq!(project(&inputs, &[1.0, 0.0, 2.0], &mut t), Ok(()));
        assert_eq!(t, [7.0, 0.0]);
        assert!(project(&inputs, &[1.0, 0.0], &mut t).is_err());
        assert!(project(&inputs, &[], &mut t).is_err());
    }

    /// `cos(2π (kx·col + ky·row)/S)` sampled on an S×S grid, row-major.
    fn plane_wave(size: usize, kx: usize, ky: usize) -> StdVec<f32> {
        (0..size * size)
            .map(|i| {
                let (row, col) = (i / size, i % size);
                let phase = ((kx * col + ky * row) % size) as f32 / size as f32;
                libm::cosf(2.0 * PI * phase)
            })
            .collect()
    }

    #[test]
    fn fft2_of_a_plane_wave_has_two_bins() {
        let size = 16;
        let image = plane_wave(size, 3, 5);
        let mut out = std::vec![Complex32::new(0.0, 0.0); size * size];
        let mut column = std::vec![Complex32::new(0.0, 0.0); size];
        assert_eq!(fft2(&image, size, &mut out, &mut column), Ok(()));
        for (i, z) in out.iter().enumerate() {
            let (ky, kx) = (i / size, i % size);
            let expected = if (kx, ky) == (3, 5) || (kx, ky) == (size - 3, size - 5) {
                0.5
            } else {
                0.0
            };
            assert!(
                (z.re - expected).abs() < 1e-5 && z.im.abs() < 1e-5,
                "{kx},{ky}: {z}"
            );
        }
    }

    #[test]
    fn radial_band_rule() {
        // size 16: R = 16/√2 ≈ 11.31; with 4 bands the edges are ≈ 2.83, 5.66, 8.49.
        assert_eq!(radial_band(0, 0, 16, 4), 0);
        assert_eq!(radial_band(2, 2, 16, 4), 1); // r = √8: exactly on the edge, upper band
        assert_eq!(radial_band(2, 1, 16, 4), 0); // r = 2.24
        assert_eq!(radial_band(3, 0, 16, 4), 1); // r = 3
        assert_eq!(radial_band(13, 0, 16, 4), 1); // wraps to −3
        assert_eq!(radial_band(0, 6, 16, 4), 2); // r = 6
        assert_eq!(radial_band(8, 0, 16, 4), 2); // Nyquist: r = 8
        assert_eq!(radial_band(8, 8, 16, 4), 3); // corner r = R: last band
        assert_eq!(radial_band(6, 7, 16, 4), 3); // r = 9.2
        assert_eq!(radial_band(1, 1, 16, 0), 0);
    }

    #[test]
    fn plane_waves_land_in_their_band() {
        let size = 32;
        let bands = 4;
        let mut out = std::vec![Complex32::new(0.0, 0.0); size * size];
        let mut column = std::vec![Complex32::new(0.0, 0.0); size];
        // R = 32/√2 ≈ 22.6, band width ≈ 5.66.
        for (kx, ky, band) in [
            (1, 2, 0),
            (4, 3, 0),
            (0, 7, 1),
            (8, 6, 1),
            (12, 5, 2),
            (15, 15, 3),
        ] {
            let image = plane_wave(size, kx, ky);
            assert_eq!(fft2(&image, size, &mut out, &mut column), Ok(()));
            let mut energy = [0.0f32; 4];
            assert_eq!(band_energy(&out, size, &mut energy), Ok(()));
            // A unit cosine has mean square ½, all of it in one band.
            for (b, &e) in energy.iter().enumerate() {
                let expected = if b == band { 0.5 } else { 0.0 };
                assert!((e - expected).abs() < 1e-5, "({kx},{ky}) band {b}: {e}");
            }
            assert_eq!(radial_band(kx, ky, size, bands), band);
        }
    }

    #[test]
    fn band_errors_measure_each_band() {
        let size = 16;
        let zero = Complex32::new(0.0, 0.0);
        let mut target = std::vec![zero; size * size];
        let mut column = std::vec![zero; size];
        let mut image = plane_wave(size, 1, 0);
        for (v, w) in image.iter_mut().zip(plane_wave(size, 6, 6)) {
            *v += w;
        }
        assert_eq!(fft2(&image, size, &mut target, &mut column), Ok(()));
        let mut energy = [0.0f32; 2];
        assert_eq!(band_energy(&target, size, &mut energy), Ok(()));

        // An output with only the low wave: band 0 exact, band 1 entirely missing.
        let mut output = std::vec![zero; size * size];
        assert_eq!(
            fft2(&plane_wave(size, 1, 0), size, &mut output, &mut column),
            Ok(())
        );
        let mut errors = [0.0f32; 2];
        assert_eq!(
            band_errors(&output, &target, size, &energy, &mut errors),
            Ok(())
        );
        assert!(
            errors[0] < 1e-5 && (errors[1] - 1.0).abs() < 1e-5,
            "{errors:?}"
        );

        // Too many bands, wrong sizes.
        let mut many = [0.0f32; 9];
        assert!(band_energy(&target, size, &mut many).is_err());
        assert!(band_energy(&target, 12, &mut errors).is_err());
        assert!(fft2(&image, size, &mut output, &mut column[..4]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn band_energies_sum_to_parseval(values in proptest::collection::vec(-1.0f32..1.0, 64)) {
            let size = 8;
            let zero = Complex32::new(0.0, 0.0);
            let mut out = [zero; 64];
            let mut column = [zero; 8];
            prop_assert_eq!(fft2(&values, size, &mut out, &mut column), Ok(()));
            let mut energy = [0.0f32; 4];
            prop_assert_eq!(band_energy(&out, size, &mut energy), Ok(()));
            let mean_square = values.iter().map(|v| v * v).sum::<f32>() / 64.0;
            prop_assert!((energy.iter().sum::<f32>() - mean_square).abs() < 1e-5);
        }
    }
}
