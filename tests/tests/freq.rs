//! The paper's 1-D claims: low frequencies converge first.

use host::experiments::freq_order::{run, FreqConfig, StopReason};

fn no_stop() -> bool {
    false
}

#[test]
fn theory_check_larger_sigma_converges_the_high_peak_sooner() {
    let mut steps = Vec::new();
    for sigma in [1.0, 3.0] {
        let config = FreqConfig::theory(sigma);
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

#[test]
fn classic_run_converges_low_frequencies_first() {
    let config = FreqConfig::classic();
    let result = run(&config, &mut |_| {}, &no_stop).unwrap();
    println!(
        "classic: peaks {:?} converged at {:?}, final MSE {:.2e} ({:.1} s)",
        result.peak_bins, result.convergence_steps, result.final_train_loss, result.seconds
    );
    assert_eq!(result.peak_bins, vec![1, 3, 5]);
    assert!(result.convergence_steps.iter().all(Option::is_some));
    assert!(result.low_to_high, "{:?}", result.convergence_steps);
}

#[test]
fn official_preset_converges_the_low_peak_before_the_high_one() {
    let config = FreqConfig::official();
    let result = run(&config, &mut |_| {}, &no_stop).unwrap();
    println!(
        "official: peaks {:?} converged at {:?}, stopped at {} ({:?}), test MSE {:?} ({:.1} s)",
        result.peak_bins,
        result.convergence_steps,
        result.steps_run,
        result.stop,
        result.final_test_loss,
        result.seconds
    );
    assert_eq!(result.stop, StopReason::StopLoss);
    let low = result.convergence_steps[0].expect("the low peak converges");
    // The high peak converges after the low one, or not at all before the stopping loss.
    assert!(result.convergence_steps[1..]
        .iter()
        .all(|s| s.is_none_or(|s| s > low)));
}
