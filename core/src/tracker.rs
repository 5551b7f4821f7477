//! Watching each frequency converge: the relative error `Δ_F` at every peak of the target's
//! spectrum ([`SpectralTracker`]), or per radial band of a 2-D spectrum ([`BandTracker`]), and
//! the step at which each one converged.
//!
//! A tracker sees only the network's outputs (on the analysis grid, on an image, or as a
//! spectrum the caller computed, e.g. with [`crate::spectrum::nudft`]); it knows nothing about
//! networks or training. It stores the target's values at the peaks only, so it stays small
//! (a few dozen bytes per peak) and cheap enough to observe every training step.
//!
//! # Convergence rule
//!
//! An item (peak or band) has converged once its error is below `threshold` at `consecutive`
//! observations in a row (defaults 0.1 and 10). Its convergence step is the step of the
//! *first* of those observations. Convergence is sticky: a later rise of the error does not
//! undo it. A NaN error counts as not below the threshold.

use crate::error::{check_len, Error, Result};
use crate::fft::Complex32;
use crate::spectrum::{self, magnitude, Peak, PeakSearch};
use heapless::Vec;

/// Default convergence threshold on `Δ_F` (the paper's 0.1).
pub const DEFAULT_THRESHOLD: f32 = 0.1;

/// Default number of consecutive observations below the threshold (the paper's 10).
pub const DEFAULT_CONSECUTIVE: u32 = 10;

/// The `1e-5` the authors' magnitude-only error adds to the denominator.
pub const MAGNITUDE_EPSILON: f32 = 1e-5;

/// How the relative error `Δ_F(k)` of the output spectrum `ĥ_k` against the target `ŷ_k` is
/// measured at a peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ErrorMeasure {
    /// `|ĥ_k − ŷ_k| / |ŷ_k|`: the paper's definition, sensitive to phase (default).
    #[default]
    Complex,
    /// `||ĥ_k| − |ŷ_k|| / (1e-5 + |ŷ_k|)`: magnitudes only, as in the authors' code.
    Magnitude,
}

impl ErrorMeasure {
    /// The relative error of `output` against `target` under this measure.
    pub fn relative_error(self, output: Complex32, target: Complex32) -> f32 {
        match self {
            ErrorMeasure::Complex => magnitude(output - target) / magnitude(target),
            ErrorMeasure::Magnitude => {
                let t = magnitude(target);
                (magnitude(output) - t).abs() / (MAGNITUDE_EPSILON + t)
            }
        }
    }
}

/// When an item counts as converged: error below `threshold` at `consecutive` observations
/// in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConvergenceRule {
    /// Errors strictly below this count (positive, finite; default 0.1).
    pub threshold: f32,
    /// How many observations in a row must be below it (at least 1; default 10).
    pub consecutive: u32,
}

impl ConvergenceRule {
    /// Threshold 0.1, 10 consecutive observations (the paper's rule).
    pub const DEFAULT: Self = Self {
        threshold: DEFAULT_THRESHOLD,
        consecutive: DEFAULT_CONSECUTIVE,
    };

    fn validate(&self) -> Result<()> {
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(Error::InvalidSetting(
                "convergence threshold must be positive and finite",
            ));
        }
        if self.consecutive == 0 {
            return Err(Error::InvalidSetting(
                "convergence needs at least 1 consecutive observation",
            ));
        }
        Ok(())
    }
}

impl Default for ConvergenceRule {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Settings of a [`SpectralTracker`]: the convergence rule and the error measure.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrackerSettings {
    /// When a peak counts as converged.
    pub rule: ConvergenceRule,
    /// How `Δ_F` is measured.
    pub measure: ErrorMeasure,
}

impl TrackerSettings {
    /// The paper's rule with the complex error.
    pub const DEFAULT: Self = Self {
        rule: ConvergenceRule::DEFAULT,
        measure: ErrorMeasure::Complex,
    };
}

// ---------------------------------------------------------------------------------------------
// Convergence bookkeeping shared by both trackers
// ---------------------------------------------------------------------------------------------

/// The current run of observations below the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Run {
    /// Step of the run's first observation.
    start: u32,
    /// Number of observations in the run (0: not below the threshold now).
    len: u32,
}

/// Errors, runs and convergence steps of up to `N` items, ordered low to high frequency.
#[derive(Debug, Clone, PartialEq)]
struct Convergence<const N: usize> {
    rule: ConvergenceRule,
    errors: Vec<f32, N>,
    converged_at: Vec<Option<u32>, N>,
    runs: Vec<Run, N>,
    observations: u32,
}

impl<const N: usize> Convergence<N> {
    /// Bookkeeping for `items` items, none observed yet (errors are `+∞` until then).
    fn new(items: usize, rule: ConvergenceRule) -> Result<Self> {
        rule.validate()?;
        let mut errors = Vec::new();
        errors
            .resize(items, f32::INFINITY)
            .map_err(|_| Error::CapacityExceeded)?;
        let mut converged_at = Vec::new();
        converged_at
            .resize(items, None)
            .map_err(|_| Error::CapacityExceeded)?;
        let mut runs = Vec::new();
        runs.resize(items, Run::default())
            .map_err(|_| Error::CapacityExceeded)?;
        Ok(Self {
            rule,
            errors,
            converged_at,
            runs,
            observations: 0,
        })
    }

    /// Records one observation: the new error of every item, in order.
    fn record(&mut self, step: u32, new_errors: &[f32]) {
        let items = self
            .errors
            .iter_mut()
            .zip(self.runs.iter_mut())
            .zip(self.converged_at.iter_mut());
        for (((error, run), converged_at), &new) in items.zip(new_errors) {
            *error = new;
            if new < self.rule.threshold {
                if run.len == 0 {
                    run.start = step;
                }
                run.len = run.len.saturating_add(1);
                if run.len >= self.rule.consecutive && converged_at.is_none() {
                    *converged_at = Some(run.start);
                }
            } else {
                run.len = 0;
            }
        }
        self.observations = self.observations.saturating_add(1);
    }

    fn reset(&mut self) {
        self.errors.fill(f32::INFINITY);
        self.converged_at.fill(None);
        self.runs.fill(Run::default());
        self.observations = 0;
    }

    fn order(&self) -> Vec<usize, N> {
        let mut converged: Vec<(u32, usize), N> = Vec::new();
        for (i, step) in self.converged_at.iter().enumerate() {
            if let Some(step) = step {
                // Cannot fail: at most N items.
                let _ = converged.push((*step, i));
            }
        }
        converged.sort_unstable();
        // Cannot overflow: as many indices as converged items.
        converged.iter().map(|&(_, i)| i).collect()
    }

    fn all_converged(&self) -> bool {
        self.converged_at.iter().all(Option::is_some)
    }

    fn is_low_to_high_so_far(&self) -> bool {
        // Not yet converged counts as converging after every converged item.
        let key = |s: &Option<u32>| s.map_or(u64::MAX, u64::from);
        let steps = &self.converged_at;
        steps
            .iter()
            .zip(steps.iter().skip(1))
            .all(|(low, high)| key(low) <= key(high))
    }
}

// ---------------------------------------------------------------------------------------------
// 1-D (and projected) spectra: peaks
// ---------------------------------------------------------------------------------------------

/// Tracks `Δ_F(k)` at up to `PEAKS` peaks of a target's spectrum and when each converges.
///
/// Build it from the target's values on the analysis grid ([`from_grid`](Self::from_grid)),
/// from a complex spectrum ([`from_spectrum`](Self::from_spectrum), e.g. a
/// [`nudft`](crate::spectrum::nudft) along a direction), or from chosen peaks
/// ([`from_peaks`](Self::from_peaks)). Then call [`observe`](Self::observe) (outputs on the
/// grid) or [`observe_spectrum`](Self::observe_spectrum) (the output's spectrum, computed the
/// same way as the target's) after each training step you want to watch.
///
/// Peaks are kept in increasing frequency; every per-peak accessor uses that order.
///
/// ```
/// use core::f32::consts::PI;
/// use fprinciple_core::spectrum::{fill_grid, PeakSearch};
/// use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
///
/// const N: usize = 128;
/// let mut x = [0.0f32; N];
/// fill_grid(-PI, PI, &mut x);
/// let target = x.map(|x| x.sin() + (3.0 * x).sin() + (5.0 * x).sin());
///
/// let mut scratch = [0.0f32; N];
/// let mut tracker = SpectralTracker::<3>::from_grid(
///     &target,
///     &mut scratch,
///     &PeakSearch::default(),
///     TrackerSettings::default(),
/// )?;
/// let bins: Vec<usize> = tracker.peaks().iter().map(|p| p.bin).collect();
/// assert_eq!(bins, [1, 3, 5]);
///
/// // A stand-in for training: sin x is learned at once, sin 3x from step 20, sin 5x from 50.
/// for step in 0..100 {
///     let learned = |k: f32, from: u32| if step >= from { k } else { 0.0 };
///     let output = x.map(|x| {
///         x.sin() + (learned(3.0, 20) * x).sin() + (learned(5.0, 50) * x).sin()
///     });
///     tracker.observe(step, &output)?;
/// }
/// assert_eq!(tracker.convergence_steps(), [Some(0), Some(20), Some(50)]);
/// assert_eq!(tracker.convergence_order(), [0, 1, 2]);
/// assert!(tracker.is_low_to_high());
/// # Ok::<(), fprinciple_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralTracker<const PEAKS: usize> {
    peaks: Vec<Peak, PEAKS>,
    measure: ErrorMeasure,
    /// Length of the analysis grid, when built from values on a grid.
    grid_len: Option<usize>,
    convergence: Convergence<PEAKS>,
}

impl<const PEAKS: usize> SpectralTracker<PEAKS> {
    /// Tracks the given peaks (bins in increasing order, with the target's spectrum values).
    ///
    /// Errors: [`Error::InvalidSetting`] for no peaks, bins not strictly increasing, a
    /// non-finite value, a zero value under the complex measure (its `Δ_F` is undefined) or a
    /// bad rule; [`Error::CapacityExceeded`] for more than `PEAKS` peaks.
    pub fn from_peaks(peaks: &[Peak], settings: TrackerSettings) -> Result<Self> {
        if peaks.is_empty() {
            return Err(Error::InvalidSetting("no peaks to track"));
        }
        if peaks
            .iter()
            .zip(peaks.iter().skip(1))
            .any(|(a, b)| a.bin >= b.bin)
        {
            return Err(Error::InvalidSetting(
                "peak bins must be strictly increasing",
            ));
        }
        for peak in peaks {
            let m = peak.magnitude();
            if !m.is_finite() {
                return Err(Error::InvalidSetting("peak value must be finite"));
            }
            if m == 0.0 && settings.measure == ErrorMeasure::Complex {
                return Err(Error::InvalidSetting(
                    "peak value must be non-zero for the complex error",
                ));
            }
        }
        let peaks = Vec::from_slice(peaks).map_err(|_| Error::CapacityExceeded)?;
        Ok(Self {
            convergence: Convergence::new(peaks.len(), settings.rule)?,
            peaks,
            measure: settings.measure,
            grid_len: None,
        })
    }

    /// Tracks the peaks [`find_peaks`](spectrum::find_peaks) selects in a target spectrum.
    ///
    /// Observe it with [`observe_spectrum`](Self::observe_spectrum), passing output spectra
    /// computed the same way (same transform, frequency grid and scaling). Errors as
    /// [`from_peaks`](Self::from_peaks); no peak above the floor is an
    /// [`Error::InvalidSetting`].
    pub fn from_spectrum(
        target: &[Complex32],
        search: &PeakSearch,
        settings: TrackerSettings,
    ) -> Result<Self> {
        let peaks = spectrum::find_peaks::<PEAKS>(target, search)?;
        Self::from_peaks(&peaks, settings)
    }

    /// Tracks the peaks of the target's values on the uniform analysis grid (see
    /// [`fill_grid`](spectrum::fill_grid)); `scratch` is an FFT buffer of the same length, a
    /// power of two up to [`MAX_SIZE`](crate::fft::MAX_SIZE).
    ///
    /// Later observations must use the same grid length.
    pub fn from_grid(
        target: &[f32],
        scratch: &mut [f32],
        search: &PeakSearch,
        settings: TrackerSettings,
    ) -> Result<Self> {
        let spectrum = spectrum::spectrum_on_grid(target, scratch)?;
        let mut tracker = Self::from_spectrum(spectrum.bins, search, settings)?;
        tracker.grid_len = Some(target.len());
        Ok(tracker)
    }

    /// Observes the network's outputs on the analysis grid at `step`, with a stack buffer of
    /// `N` floats as FFT scratch (`N` a power of two, checked at compile time).
    pub fn observe<const N: usize>(&mut self, step: u32, outputs: &[f32; N]) -> Result<()> {
        const { assert!(N.is_power_of_two(), "grid size must be a power of two") };
        let mut scratch = [0.0; N];
        self.observe_with_scratch(step, outputs, &mut scratch)
    }

    /// Observes the outputs on the analysis grid at `step`, with caller-provided FFT scratch
    /// of the same length (for grid sizes known only at run time).
    pub fn observe_with_scratch(
        &mut self,
        step: u32,
        outputs: &[f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        if let Some(n) = self.grid_len {
            check_len("outputs on the analysis grid", n, outputs.len())?;
        }
        let spectrum = spectrum::spectrum_on_grid(outputs, scratch)?;
        self.observe_spectrum(step, spectrum.bins)
    }

    /// Observes the output's spectrum at `step`: updates `Δ_F` and convergence at every peak.
    ///
    /// `output[k]` must be comparable with the target's spectrum at bin `k` (same transform and
    /// scaling); it needs at least `last peak bin + 1` values, else [`Error::LengthMismatch`]
    /// and nothing is recorded.
    pub fn observe_spectrum(&mut self, step: u32, output: &[Complex32]) -> Result<()> {
        let needed = self.peaks.last().map_or(0, |p| p.bin.saturating_add(1));
        if output.len() < needed {
            return Err(Error::LengthMismatch {
                what: "output spectrum (at least)",
                expected: needed,
                actual: output.len(),
            });
        }
        let mut errors: Vec<f32, PEAKS> = Vec::new();
        for (peak, out) in self
            .peaks
            .iter()
            .filter_map(|p| Some((p, output.get(p.bin)?)))
        {
            // Cannot fail: one error per peak, at most PEAKS.
            let _ = errors.push(self.measure.relative_error(*out, peak.value));
        }
        self.convergence.record(step, &errors);
        Ok(())
    }

    /// Forgets every observation (for a new run against the same target).
    pub fn reset(&mut self) {
        self.convergence.reset();
    }

    /// The tracked peaks of the target, low to high frequency.
    pub fn peaks(&self) -> &[Peak] {
        &self.peaks
    }

    /// The error measure in use.
    pub fn measure(&self) -> ErrorMeasure {
        self.measure
    }

    /// The convergence rule in use.
    pub fn rule(&self) -> ConvergenceRule {
        self.convergence.rule
    }

    /// The latest `Δ_F` per peak (`+∞` before the first observation): one heat-map column.
    pub fn errors(&self) -> &[f32] {
        &self.convergence.errors
    }

    /// The convergence step per peak, `None` while not converged.
    pub fn convergence_steps(&self) -> &[Option<u32>] {
        &self.convergence.converged_at
    }

    /// The converged peaks' indices (into [`peaks`](Self::peaks)) by convergence step; ties
    /// keep the lower frequency first. Peaks not converged are left out.
    pub fn convergence_order(&self) -> Vec<usize, PEAKS> {
        self.convergence.order()
    }

    /// Whether every peak has converged.
    pub fn all_converged(&self) -> bool {
        self.convergence.all_converged()
    }

    /// The F-Principle verdict: every peak converged and the convergence steps never decrease
    /// with frequency. Ties (peaks converging at the same observation) count as in order,
    /// since observations are discrete.
    pub fn is_low_to_high(&self) -> bool {
        self.all_converged() && self.convergence.is_low_to_high_so_far()
    }

    /// Like [`is_low_to_high`](Self::is_low_to_high) for a run in progress: a peak not yet
    /// converged counts as converging after all others, so this is false as soon as a peak
    /// converges while a lower one has not.
    pub fn is_low_to_high_so_far(&self) -> bool {
        self.convergence.is_low_to_high_so_far()
    }

    /// Number of observations recorded.
    pub fn observations(&self) -> u32 {
        self.convergence.observations
    }
}

// ---------------------------------------------------------------------------------------------
// 2-D spectra: radial bands
// ---------------------------------------------------------------------------------------------

/// Tracks the relative error per radial frequency band of a 2-D output against an image, and
/// when each band converges (the same rule as [`SpectralTracker`]).
///
/// Bands are those of [`radial_band`](spectrum::radial_band), low to high; the error of band
/// `b` is `√(Σ_b |ĥ − ŷ|² / Σ_b |ŷ|²)` ([`band_errors`](spectrum::band_errors)). The tracker
/// borrows the target's spectrum (from [`fft2`](spectrum::fft2)) and keeps its band energies.
#[derive(Debug, Clone, PartialEq)]
pub struct BandTracker<'t, const BANDS: usize> {
    target: &'t [Complex32],
    size: usize,
    target_energy: [f32; BANDS],
    convergence: Convergence<BANDS>,
}

impl<'t, const BANDS: usize> BandTracker<'t, BANDS> {
    /// Tracks `BANDS` bands of the `size×size` target spectrum `target` (row-major, as
    /// [`fft2`](spectrum::fft2) writes it). `BANDS` must be from 1 to `size/2`.
    pub fn new(target: &'t [Complex32], size: usize, rule: ConvergenceRule) -> Result<Self> {
        let mut target_energy = [0.0; BANDS];
        spectrum::band_energy(target, size, &mut target_energy)?;
        Ok(Self {
            target,
            size,
            target_energy,
            convergence: Convergence::new(BANDS, rule)?,
        })
    }

    /// Observes a `size×size` output image at `step`; `spectrum` (length `size²`) and
    /// `column` (length `size`) are FFT scratch.
    pub fn observe(
        &mut self,
        step: u32,
        output: &[f32],
        spectrum: &mut [Complex32],
        column: &mut [Complex32],
    ) -> Result<()> {
        spectrum::fft2(output, self.size, spectrum, column)?;
        self.observe_spectrum(step, spectrum)
    }

    /// Observes the output's 2-D spectrum (from [`fft2`](spectrum::fft2)) at `step`.
    pub fn observe_spectrum(&mut self, step: u32, output: &[Complex32]) -> Result<()> {
        let mut errors = [0.0; BANDS];
        spectrum::band_errors(
            output,
            self.target,
            self.size,
            &self.target_energy,
            &mut errors,
        )?;
        self.convergence.record(step, &errors);
        Ok(())
    }

    /// Forgets every observation.
    pub fn reset(&mut self) {
        self.convergence.reset();
    }

    /// The target's energy `Σ |ŷ|²` per band (mean square of the image, split by band).
    pub fn target_energy(&self) -> &[f32; BANDS] {
        &self.target_energy
    }

    /// The latest relative error per band (`+∞` before the first observation).
    pub fn errors(&self) -> &[f32] {
        &self.convergence.errors
    }

    /// The convergence step per band, `None` while not converged.
    pub fn convergence_steps(&self) -> &[Option<u32>] {
        &self.convergence.converged_at
    }

    /// The converged bands by convergence step; ties keep the lower band first.
    pub fn convergence_order(&self) -> Vec<usize, BANDS> {
        self.convergence.order()
    }

    /// Whether every band has converged.
    pub fn all_converged(&self) -> bool {
        self.convergence.all_converged()
    }

    /// Every band converged, with steps never decreasing from low to high bands (ties in order).
    pub fn is_low_to_high(&self) -> bool {
        self.all_converged() && self.convergence.is_low_to_high_so_far()
    }

    /// Like [`is_low_to_high`](Self::is_low_to_high), counting unconverged bands as last.
    pub fn is_low_to_high_so_far(&self) -> bool {
        self.convergence.is_low_to_high_so_far()
    }

    /// Number of observations recorded.
    pub fn observations(&self) -> u32 {
        self.convergence.observations
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::spectrum::{fft2, fill_grid, grid_point, nudft};
    use core::f32::consts::PI;
    use proptest::prelude::*;
    use std::vec::Vec as StdVec;

    const N: usize = 128;
    const ZERO: Complex32 = Complex32::new(0.0, 0.0);

    fn c(re: f32) -> Complex32 {
        Complex32::new(re, 0.0)
    }

    /// A tracker of unit peaks at bins 1, 2, 3 with the default rule (0.1, 10).
    fn three_peaks() -> SpectralTracker<4> {
        let peaks = [1, 2, 3].map(|bin| Peak { bin, value: c(1.0) });
        let tracker = SpectralTracker::from_peaks(&peaks, TrackerSettings::DEFAULT);
        let Ok(tracker) = tracker else {
            unreachable!("valid peaks")
        };
        tracker
    }

    /// Observes a spectrum whose peak bins have relative errors `errors` (value 1 − error).
    fn observe_errors(tracker: &mut SpectralTracker<4>, step: u32, errors: [f32; 3]) {
        let spectrum = [
            ZERO,
            c(1.0 - errors[0]),
            c(1.0 - errors[1]),
            c(1.0 - errors[2]),
        ];
        assert_eq!(tracker.observe_spectrum(step, &spectrum), Ok(()));
    }

    #[test]
    fn synthetic_training_low_frequencies_first() {
        // Output coefficient of sin(kx) is 1 − e^{−s/τ_k}: Δ_F(k) = e^{−s/τ_k}, τ growing with k.
        let mut x = [0.0f32; N];
        fill_grid(-PI, PI, &mut x);
        let target = x.map(|x| libm::sinf(x) + libm::sinf(3.0 * x) + libm::sinf(5.0 * x));
        let mut scratch = [0.0f32; N];
        let tracker = SpectralTracker::<3>::from_grid(
            &target,
            &mut scratch,
            &PeakSearch::DEFAULT,
            TrackerSettings::DEFAULT,
        );
        let Ok(mut tracker) = tracker else {
            unreachable!("classic target has 3 peaks")
        };
        let bins: StdVec<usize> = tracker.peaks().iter().map(|p| p.bin).collect();
        assert_eq!(bins, [1, 3, 5]);

        let tau = [3.0f32, 20.0, 70.0];
        for step in 0..400u32 {
            let coef = tau.map(|t| 1.0 - libm::expf(-(step as f32) / t));
            let output = x.map(|x| {
                coef[0] * libm::sinf(x)
                    + coef[1] * libm::sinf(3.0 * x)
                    + coef[2] * libm::sinf(5.0 * x)
            });
            assert_eq!(tracker.observe(step, &output), Ok(()));
            if step == 20 {
                assert_eq!(tracker.convergence_steps()[1..], [None, None]);
                assert!(tracker.is_low_to_high_so_far() && !tracker.is_low_to_high());
            }
        }
        // e^{−s/τ} < 0.1 from s > τ ln 10 on, and stays there.
        let expected = tau.map(|t| Some((t * core::f32::consts::LN_10).floor() as u32 + 1));
        assert_eq!(tracker.convergence_steps(), expected);
        assert_eq!(tracker.convergence_order(), [0, 1, 2]);
        assert!(tracker.all_converged() && tracker.is_low_to_high());
        assert_eq!(tracker.observations(), 400);
        let last = tau.map(|t| libm::expf(-399.0 / t));
        for (e, l) in tracker.errors().iter().zip(last) {
            assert!((e - l).abs() < 1e-4, "{e} vs {l}");
        }
    }

    #[test]
    fn step_recorded_is_the_first_of_the_run() {
        let mut tracker = three_peaks();
        // Observed every 10 steps; peak 0 dips for 5 observations, rises, then stays low.
        let series = |i: u32| match i {
            0..=2 => 0.5,
            3..=7 => 0.05,
            8 => 0.2,
            _ => 0.01,
        };
        for i in 0..30 {
            observe_errors(&mut tracker, 10 * i, [series(i), 0.5, f32::NAN]);
        }
        assert_eq!(tracker.convergence_steps(), [Some(90), None, None]);
        assert_eq!(tracker.convergence_order(), [0]);
        assert!(!tracker.all_converged() && !tracker.is_low_to_high());
        assert!(tracker.is_low_to_high_so_far());
        // Convergence is sticky.
        for i in 30..40 {
            observe_errors(&mut tracker, 10 * i, [0.9, 0.5, 0.5]);
        }
        assert_eq!(tracker.convergence_steps()[0], Some(90));
        assert_eq!(tracker.errors(), [0.9, 0.5, 0.5]);
    }

    #[test]
    fn exactly_m_observations_are_needed() {
        let mut tracker = three_peaks();
        for step in 0..9 {
            observe_errors(&mut tracker, step, [0.0, 0.099, 0.1]);
        }
        assert_eq!(tracker.convergence_steps(), [None, None, None]);
        observe_errors(&mut tracker, 9, [0.0, 0.099, 0.1]);
        // The threshold is strict: 0.1 is not below 0.1.
        assert_eq!(tracker.convergence_steps(), [Some(0), Some(0), None]);
    }

    #[test]
    fn high_before_low_and_ties() {
        let mut tracker = three_peaks();
        for step in 0..10 {
            observe_errors(&mut tracker, step, [0.5, 0.0, 0.5]);
        }
        assert_eq!(tracker.convergence_order(), [1]);
        assert!(!tracker.is_low_to_high_so_far());
        for step in 10..30 {
            observe_errors(&mut tracker, step, [0.0, 0.0, 0.0]);
        }
        assert_eq!(tracker.convergence_steps(), [Some(10), Some(0), Some(10)]);
        // Tie between peaks 0 and 2: lower frequency first.
        assert_eq!(tracker.convergence_order(), [1, 0, 2]);
        assert!(tracker.all_converged() && !tracker.is_low_to_high());

        let mut tied = three_peaks();
        for step in 0..10 {
            observe_errors(&mut tied, step, [0.0, 0.0, 0.0]);
        }
        assert!(tied.is_low_to_high());
        tied.reset();
        assert_eq!(tied.convergence_steps(), [None, None, None]);
        assert_eq!(tied.observations(), 0);
        assert!(tied.errors().iter().all(|e| e.is_infinite()));
    }

    #[test]
    fn never_converging() {
        let mut tracker = three_peaks();
        for step in 0..1000 {
            let wobble = if step % 9 == 0 { 0.5 } else { 0.05 };
            observe_errors(&mut tracker, step, [wobble, 1.0, f32::INFINITY]);
        }
        assert_eq!(tracker.convergence_steps(), [None, None, None]);
        assert_eq!(tracker.convergence_order(), []);
        assert!(!tracker.all_converged() && !tracker.is_low_to_high());
        assert!(tracker.is_low_to_high_so_far());
    }

    #[test]
    fn error_measures() {
        let target = Complex32::new(0.0, -0.5);
        let flipped = Complex32::new(0.0, 0.5);
        assert_eq!(ErrorMeasure::Complex.relative_error(flipped, target), 2.0);
        assert_eq!(ErrorMeasure::Magnitude.relative_error(flipped, target), 0.0);
        let half = ErrorMeasure::Magnitude.relative_error(Complex32::new(0.25, 0.0), target);
        assert!((half - 0.25 / (0.5 + MAGNITUDE_EPSILON)).abs() < 1e-7);

        let settings = TrackerSettings {
            measure: ErrorMeasure::Magnitude,
            ..TrackerSettings::DEFAULT
        };
        let peaks = [Peak {
            bin: 1,
            value: target,
        }];
        let Ok(mut tracker) = SpectralTracker::<1>::from_peaks(&peaks, settings) else {
            unreachable!("valid peak")
        };
        assert_eq!(tracker.observe_spectrum(0, &[ZERO, flipped]), Ok(()));
        assert_eq!(tracker.errors(), [0.0]);
        assert_eq!(tracker.measure(), ErrorMeasure::Magnitude);
        // A zero peak is fine for the magnitude error, not for the complex one.
        let zero_peak = [Peak {
            bin: 2,
            value: ZERO,
        }];
        assert!(SpectralTracker::<1>::from_peaks(&zero_peak, settings).is_ok());
        assert!(SpectralTracker::<1>::from_peaks(&zero_peak, TrackerSettings::DEFAULT).is_err());
    }

    #[test]
    fn bad_inputs_are_errors_and_record_nothing() {
        let mut tracker = three_peaks();
        assert_eq!(
            tracker.observe_spectrum(0, &[ZERO; 3]),
            Err(Error::LengthMismatch {
                what: "output spectrum (at least)",
                expected: 4,
                actual: 3
            })
        );
        assert_eq!(tracker.observations(), 0);

        let peak = |bin| Peak { bin, value: c(1.0) };
        let settings = TrackerSettings::DEFAULT;
        let invalid = |r: Result<SpectralTracker<2>>| matches!(r, Err(Error::InvalidSetting(_)));
        assert!(invalid(SpectralTracker::from_peaks(&[], settings)));
        assert!(invalid(SpectralTracker::from_peaks(
            &[peak(3), peak(1)],
            settings
        )));
        assert!(invalid(SpectralTracker::from_peaks(
            &[peak(1), peak(1)],
            settings
        )));
        let nan = Peak {
            bin: 1,
            value: c(f32::NAN),
        };
        assert!(invalid(SpectralTracker::from_peaks(&[nan], settings)));
        for rule in [
            ConvergenceRule {
                threshold: 0.0,
                consecutive: 10,
            },
            ConvergenceRule {
                threshold: f32::NAN,
                consecutive: 10,
            },
            ConvergenceRule {
                threshold: 0.1,
                consecutive: 0,
            },
        ] {
            let settings = TrackerSettings { rule, ..settings };
            assert!(invalid(SpectralTracker::from_peaks(&[peak(1)], settings)));
        }
        assert_eq!(
            SpectralTracker::<2>::from_peaks(&[peak(1), peak(2), peak(3)], settings),
            Err(Error::CapacityExceeded)
        );

        // From the grid: a flat target has no peaks; other grid lengths are refused.
        let mut scratch = [0.0f32; 16];
        let flat = SpectralTracker::<2>::from_grid(
            &[1.0; 16],
            &mut scratch,
            &PeakSearch::DEFAULT,
            settings,
        );
        assert!(invalid(flat));
        let wave: [f32; 16] = core::array::from_fn(|j| libm::sinf(2.0 * PI * j as f32 / 16.0));
        let Ok(mut tracker) =
            SpectralTracker::<2>::from_grid(&wave, &mut scratch, &PeakSearch::DEFAULT, settings)
        else {
            unreachable!("one peak at bin 1")
        };
        assert!(tracker.observe(0, &[0.0; 32]).is_err());
        assert!(tracker.observe(0, &wave).is_ok());
        assert_eq!(tracker.errors().len(), 1);
        assert!(tracker.errors()[0] < 1e-6);
        assert!(tracker
            .observe_with_scratch(1, &wave, &mut scratch[..8])
            .is_err());
    }

    #[test]
    fn nonuniform_spectra_drive_the_same_tracker() {
        // Scattered points on [−π, π): the tracker runs on nudft spectra alone.
        let points: StdVec<f32> = (0..400)
            .map(|i| grid_point(-PI, PI, 400, (i * 97) % 400) + 0.003 * (i % 7) as f32)
            .collect();
        let f = |a1: f32, a3: f32| -> StdVec<f32> {
            points
                .iter()
                .map(|&x| a1 * libm::sinf(x) + a3 * libm::sinf(3.0 * x))
                .collect()
        };
        let step = 1.0 / (2.0 * PI);
        let mut target = [ZERO; 8];
        assert_eq!(nudft(&points, &f(1.0, 1.0), step, &mut target), Ok(()));
        let Ok(mut tracker) = SpectralTracker::<4>::from_spectrum(
            &target,
            &PeakSearch::DEFAULT,
            TrackerSettings::DEFAULT,
        ) else {
            unreachable!("two peaks")
        };
        let bins: StdVec<usize> = tracker.peaks().iter().map(|p| p.bin).collect();
        assert_eq!(bins, [1, 3]);
        let mut output = [ZERO; 8];
        for s in 0..30 {
            let a3 = if s < 15 { 0.0 } else { 1.0 };
            assert_eq!(nudft(&points, &f(1.0, a3), step, &mut output), Ok(()));
            assert_eq!(tracker.observe_spectrum(s, &output), Ok(()));
        }
        assert_eq!(tracker.convergence_steps(), [Some(0), Some(15)]);
        assert!(tracker.is_low_to_high());
    }

    #[test]
    fn band_tracker_low_bands_first() {
        const SIZE: usize = 16;
        let wave = |kx: usize, ky: usize| -> StdVec<f32> {
            (0..SIZE * SIZE)
                .map(|i| {
                    let phase = ((kx * (i % SIZE) + ky * (i / SIZE)) % SIZE) as f32;
                    libm::cosf(2.0 * PI * phase / SIZE as f32)
                })
                .collect()
        };
        let sum = |a: &[f32], b: &[f32], wb: f32| -> StdVec<f32> {
            a.iter().zip(b).map(|(x, y)| x + wb * y).collect()
        };
        let low = wave(1, 1);
        let high = wave(7, 6);
        let image = sum(&low, &high, 1.0);
        let mut target = [ZERO; SIZE * SIZE];
        let mut spectrum = [ZERO; SIZE * SIZE];
        let mut column = [ZERO; SIZE];
        assert_eq!(fft2(&image, SIZE, &mut target, &mut column), Ok(()));
        let Ok(mut tracker) = BandTracker::<2>::new(&target, SIZE, ConvergenceRule::DEFAULT) else {
            unreachable!("2 bands of a 16×16 image")
        };
        assert!(tracker
            .target_energy()
            .iter()
            .all(|&e| (e - 0.5).abs() < 1e-5));
        for step in 0..50 {
            let w = if step < 25 { 0.0 } else { 1.0 };
            let output = sum(&low, &high, w);
            assert_eq!(
                tracker.observe(step, &output, &mut spectrum, &mut column),
                Ok(())
            );
        }
        assert_eq!(tracker.convergence_steps(), [Some(0), Some(25)]);
        assert_eq!(tracker.convergence_order(), [0, 1]);
        assert!(tracker.is_low_to_high() && tracker.all_converged());
        assert!(tracker.errors().iter().all(|&e| e < 1e-5));
        assert_eq!(tracker.observations(), 50);
        assert!(tracker
            .observe(50, &low[..8], &mut spectrum, &mut column)
            .is_err());
        assert!(BandTracker::<9>::new(&target, SIZE, ConvergenceRule::DEFAULT).is_err());
    }

    /// Reference rule: the first index starting `m` errors in a row below `threshold`.
    fn reference_step(errors: &[f32], threshold: f32, m: usize) -> Option<u32> {
        (0..errors.len())
            .find(|&i| errors.len() - i >= m && errors[i..i + m].iter().all(|&e| e < threshold))
            .map(|i| i as u32)
    }

    proptest! {
        #[test]
        fn convergence_step_matches_reference(
            errors in proptest::collection::vec(prop_oneof![0.0f32..0.2, Just(f32::NAN)], 0..80),
            consecutive in 1u32..8,
        ) {
            let rule = ConvergenceRule { threshold: 0.1, consecutive };
            let settings = TrackerSettings { rule, ..TrackerSettings::DEFAULT };
            let peaks = [Peak { bin: 0, value: c(1.0) }];
            let Ok(mut tracker) = SpectralTracker::<1>::from_peaks(&peaks, settings) else {
                unreachable!("valid peak")
            };
            // 1 − (1 − e) is not always e in f32: the reference reads the errors recorded.
            let mut seen = StdVec::new();
            for (step, e) in errors.iter().enumerate() {
                prop_assert_eq!(tracker.observe_spectrum(step as u32, &[c(1.0 - e)]), Ok(()));
                seen.push(tracker.errors()[0]);
            }
            let expected = reference_step(&seen, 0.1, consecutive as usize);
            prop_assert_eq!(tracker.convergence_steps(), &[expected][..]);
        }
    }
}
