//! The paper's 1-D claims: low frequencies converge first.

use host::experiments::freq_order::{run, FreqConfig, StopReason};

fn no_stop() -> bool {
    false
}

#[test]
fn theory_check_larger_sigma_converges_the_high_peak_sooner() {
    let mut steps = Vec::new();
    for sigma in [1.0, 3.0] {
        let mut config = FreqConfig::theory(sigma);
        config.steps = 40_000;
        let result = run(&config, &mut |_| {}, &no_stop).unwrap();
        println!(
            "σ = {sigma}: peaks {:?} converged at {:?}, final Δ_F {:?} ({:.1} s)",
            result.peak_bins,
            result.convergence_steps,
            result.observations.last().map(|o| o.delta.clone()),
            result.seconds
        );
        assert_eq!(result.peak_bins, vec![1, 3, 5]);
        assert_eq!(result.stop, StopReason::Steps);
        steps.push(result.convergence_steps);
    }
    // The low peak converges for both; the higher σ converges the highest peak first.
    let high = |s: &Vec<Option<usize>>| s[2].unwrap_or(usize::MAX);
    assert!(steps[0][0].is_some() && steps[1][0].is_some());
    assert!(high(&steps[1]) < high(&steps[0]), "{steps:?}");
}
