//! The paper's initialization claim: a larger σ fits the training points just as well but
//! generalizes worse, because the learned function carries more high frequencies.

use host::experiments::init_scale::{run, InitConfig};

#[test]
fn test_error_grows_with_sigma_while_training_error_stays_small() {
    let config = InitConfig::shallow();
    let result = run(&config, &mut |_| {}, &|| false).unwrap();
    for r in &result.runs {
        println!(
            "σ = {:>4}, seed {}: train MSE {:.2e} (settled {:.2e}), test MSE {:.2e}, high-frequency share {:.2e} ({:.1} s)",
            r.sigma, r.seed, r.train_mse, r.settled_train_mse, r.test_mse, r.high_frequency_share, r.seconds
        );
        assert!(
            r.settled_train_mse < 3e-4,
            "σ = {} seed {}: train MSE {}",
            r.sigma,
            r.seed,
            r.settled_train_mse
        );
    }
    let means = result.mean_test_mse();
    for pair in means.windows(2) {
        assert!(
            pair[1].1 > pair[0].1,
            "test MSE does not grow with σ: {means:?}"
        );
    }
}
