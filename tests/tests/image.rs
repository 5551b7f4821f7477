//! The image experiment's claims on small, fast settings: a network fitting a photograph learns
//! its low radial frequency bands first, and a large initialization generalizes worse to the
//! held-out columns at the same training loss. Also: bad image inputs are clear errors.
//!
//! `report` (ignored by default) runs a chosen preset and prints the numbers the README quotes:
//! `FPRINCIPLE_IMAGE_PRESET=default cargo test -p fprinciple-tests --test image -- --ignored --nocapture`
//! (`quick` without the variable; `FPRINCIPLE_IMAGE_CONFIG='{"size": 16}'` for any settings as
//! JSON, the others taking the paper's defaults).

use std::sync::OnceLock;

use host::experiments::image::{load, run, ImageConfig, ImageExperimentError, SigmaRun};

/// The quick preset (the paper's network on a 16×16 image; see [`ImageConfig::quick`] for its
/// convergence threshold) with one σ and a given number of steps.
fn small_config(sigma: f32, steps: u32) -> ImageConfig {
    ImageConfig {
        sigmas: vec![sigma],
        steps,
        ..ImageConfig::quick()
    }
}

fn small_run(sigma: f32, steps: u32) -> SigmaRun {
    let config = small_config(sigma, steps);
    let image = load(None, config.size).expect("embedded image");
    let mut result = run(&config, &image, &mut |_| {}).expect("small run");
    result.runs.remove(0)
}

/// The small-σ run, shared by both claims.
fn small_sigma() -> &'static SigmaRun {
    static RUN: OnceLock<SigmaRun> = OnceLock::new();
    RUN.get_or_init(|| small_run(0.1, 900))
}

#[test]
fn low_radial_bands_converge_first() {
    let run = small_sigma();
    let converged = run.convergence_steps.iter().flatten().count();
    assert!(
        converged >= 2,
        "at least two bands should converge: {:?}",
        run.convergence_steps
    );
    assert!(
        run.low_to_high_so_far,
        "bands converged out of order: {:?}",
        run.convergence_steps
    );
    // The highest band ends with the largest error, and the lowest with the smallest.
    let last: Vec<f32> = run
        .band_errors
        .iter()
        .map(|row| *row.last().expect("observed"))
        .collect();
    let (lowest, highest) = (last[0], last[last.len() - 1]);
    assert!(
        last.iter().all(|&e| lowest <= e && e <= highest),
        "final band errors should rise from the lowest band to the highest: {last:?}"
    );
}

#[test]
fn large_initialization_generalizes_worse_at_matched_loss() {
    let small = small_sigma()
        .matched
        .expect("σ = 0.1 reaches the matched loss");
    let large = small_run(0.5, 200)
        .matched
        .expect("σ = 0.5 reaches the matched loss");
    assert!(
        large.test_mse > small.test_mse,
        "test MSE at matched training loss: σ = 0.1 {small:?}, σ = 0.5 {large:?}"
    );
}

#[test]
fn bad_images_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("fprinciple-image-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let message = |path: &std::path::Path, size: usize| -> String {
        match load(Some(path), size) {
            Ok(_) => panic!("{} at size {size} should be refused", path.display()),
            Err(e) => {
                assert!(matches!(e, ImageExperimentError::Data(_)), "{e:?}");
                e.to_string()
            }
        }
    };

    let text = dir.join("notes.txt");
    std::fs::write(&text, "this is not an image").expect("write");
    let m = message(&text, 16);
    assert!(
        m.contains("notes.txt") && m.contains("not a PNG or JPEG"),
        "{m}"
    );

    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    let m = message(&empty, 16);
    assert!(m.contains("empty.png") && m.contains("empty"), "{m}");

    let tiny = dir.join("tiny.png");
    host::data::image::GrayImage::new(3, 3, vec![0.5; 9])
        .and_then(|i| i.to_png_bytes())
        .map(|bytes| std::fs::write(&tiny, bytes))
        .expect("encode")
        .expect("write");
    let m = message(&tiny, 4);
    assert!(m.contains("3×3") && m.contains("smaller"), "{m}");

    let m = message(&tiny, 3);
    assert!(m.contains("power of two"), "{m}");
    let embedded = load(None, 48).expect_err("48 is not a power of two");
    assert!(embedded.to_string().contains("power of two"), "{embedded}");

    let missing = dir.join("missing.png");
    assert!(message(&missing, 16).contains("missing.png"));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
#[ignore = "a long run that prints the measured numbers; see the module documentation"]
fn report() {
    let config = match std::env::var("FPRINCIPLE_IMAGE_CONFIG") {
        // Any subset of the settings as JSON; the rest take the paper's defaults.
        Ok(json) => serde_json::from_str(&json).expect("FPRINCIPLE_IMAGE_CONFIG: settings as JSON"),
        Err(_) => match std::env::var("FPRINCIPLE_IMAGE_PRESET").as_deref() {
            Ok("default") => ImageConfig::default(),
            _ => ImageConfig::quick(),
        },
    };
    let image = load(None, config.size).expect("embedded image");
    let result = run(&config, &image, &mut |_| {}).expect("run");
    println!(
        "S = {}, {} training / {} test pixels, {} parameters, bands {}, steps {}, match loss {}",
        result.size,
        result.train_pixels,
        result.test_pixels,
        result.parameter_count,
        config.bands,
        config.steps,
        config.match_loss
    );
    for r in &result.runs {
        println!(
            "σ = {}: convergence steps {:?}, order {:?}, low to high (so far) {}",
            r.sigma, r.convergence_steps, r.convergence_order, r.low_to_high_so_far
        );
        let last: Vec<String> = r
            .band_errors
            .iter()
            .map(|row| format!("{:.3}", row.last().copied().unwrap_or(f32::NAN)))
            .collect();
        println!("  final band errors [{}]", last.join(", "));
        let every = (r.observed_steps.len() / 10).max(1);
        for (o, step) in r.observed_steps.iter().enumerate().step_by(every) {
            let errors: Vec<String> = r
                .band_errors
                .iter()
                .map(|row| format!("{:.3}", row[o]))
                .collect();
            println!(
                "  step {step:>6}: train {:.5} test {:.5} bands [{}]",
                r.train_mse[o],
                r.test_mse[o],
                errors.join(", ")
            );
        }
        match r.matched {
            Some(m) => println!(
                "  matched at step {}: train {:.5} test {:.5}",
                m.step, m.train_mse, m.test_mse
            ),
            None => println!("  did not reach the matched loss"),
        }
        println!(
            "  final (step {}): train {:.5} test {:.5}; {:.1} s, {:.1} steps/s, {:.2} GFLOP/s",
            r.steps,
            r.final_train_mse,
            r.final_test_mse,
            r.timing.wall_seconds,
            r.timing.steps_per_second,
            r.timing.gflop_per_second
        );
    }
}
