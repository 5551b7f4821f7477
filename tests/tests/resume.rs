//! Stopping a long run and resuming it from its checkpoint gives the numbers of a run that never
//! stopped, bit for bit; and `--resume` refuses what it cannot continue, saying why.

use std::cell::Cell;
use std::collections::BTreeMap;

use fprinciple_core::tracker::ConvergenceRule;
use host::checkpoint::{self, Control};
use host::data::idx::embedded_mnist;
use host::data::image::GrayImage;
use host::experiments::image::{self, ImageConfig, ImageResult, ImageState};
use host::experiments::mnist::{self, MnistConfig, MnistResult, MnistState};
use host::network::OptimizerConfig;

/// A stop callback that says "stop" at the polls numbered in `at` (counting from 1 over the
/// whole test, across resumed parts).
struct Stopper<'a> {
    polls: &'a Cell<usize>,
    at: &'a [usize],
}

impl Stopper<'_> {
    fn poll(&self) -> bool {
        self.polls.set(self.polls.get() + 1);
        self.at.contains(&self.polls.get())
    }
}

/// Passes a state through the checkpoint file format, as a resumed run would read it.
fn through_file<S: serde::Serialize + serde::de::DeserializeOwned>(
    experiment: &str,
    state: &S,
) -> S {
    let bytes = checkpoint::to_bytes(experiment, state).expect("a checkpoint encodes");
    checkpoint::from_bytes(&bytes, experiment).expect("a checkpoint reads back")
}

/// The JSON of a result with its wall-clock fields removed: equal text means equal bits, since
/// JSON writes every `f32` in its shortest exact form.
fn without_timing(mut value: serde_json::Value, timing: &[&str]) -> String {
    fn strip(v: &mut serde_json::Value, keys: &[&str]) {
        match v {
            serde_json::Value::Object(map) => {
                for k in keys {
                    map.remove(*k);
                }
                map.values_mut().for_each(|v| strip(v, keys));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| strip(v, keys)),
            _ => {}
        }
    }
    strip(&mut value, timing);
    value.to_string()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

// ---------------------------------------------------------------------------------------------
// The image
// ---------------------------------------------------------------------------------------------

fn tiny_image() -> (ImageConfig, GrayImage) {
    let size = 8;
    let pixels = (0..size * size)
        .map(|i| {
            let (r, c) = ((i / size) as f32, (i % size) as f32);
            0.5 + 0.25 * (0.9 * r).sin() * (1.3 * c).cos()
        })
        .collect();
    let config = ImageConfig {
        size,
        hidden: vec![16, 8],
        sigmas: vec![0.1, 0.5],
        bands: 2,
        steps: 60,
        observe_every: 4,
        snapshot_steps: vec![0, 10, 60],
        match_loss: 0.02,
        optimizer: OptimizerConfig::Adam {
            learning_rate: 0.01,
        },
        convergence: ConvergenceRule {
            threshold: 0.5,
            consecutive: 3,
        },
        ..ImageConfig::default()
    };
    (config, GrayImage::new(size, size, pixels).expect("image"))
}

/// Runs the image experiment, stopping at the given polls and resuming each time from the
/// last checkpoint; returns the result and the parameters at every periodic checkpoint, keyed
/// by (σ index, step).
fn image_run(stop_at: &[usize]) -> (ImageResult, BTreeMap<(usize, u32), Vec<u32>>, usize) {
    let (config, picture) = tiny_image();
    let polls = Cell::new(0);
    let stopper = Stopper {
        polls: &polls,
        at: stop_at,
    };
    let mut saved: BTreeMap<(usize, u32), Vec<u32>> = BTreeMap::new();
    let mut resume: Option<ImageState> = None;
    let mut parts = 0;
    loop {
        parts += 1;
        let mut last = None;
        let result = image::run_controlled(
            &config,
            &picture,
            &mut |_| {},
            Control {
                stop: &|| stopper.poll(),
                every: 10,
                checkpoint: &mut |state: &ImageState| {
                    if let Some(current) = &state.current {
                        saved.insert(
                            (state.finished.len(), current.step),
                            bits(&current.parameters),
                        );
                    }
                    last = Some(through_file("image", state));
                    Ok(())
                },
                resume: resume.take(),
            },
        )
        .expect("image run");
        if !result.interrupted {
            return (result, saved, parts);
        }
        resume = last;
        assert!(resume.is_some(), "a stopped run leaves a checkpoint");
    }
}

#[test]
fn an_image_run_stopped_and_resumed_matches_a_straight_run() {
    let (straight, straight_saved, parts) = image_run(&[]);
    assert_eq!(parts, 1);
    // Stop inside the first σ (between checkpoints), right before the second σ, and inside it.
    // Polls come after every step but the last: 59 per σ, then one before the second σ.
    let (resumed, resumed_saved, parts) = image_run(&[13, 60, 85]);
    assert_eq!(parts, 4);
    assert!(!resumed.interrupted);
    let timing = ["timing"];
    assert_eq!(
        without_timing(serde_json::to_value(&resumed).unwrap(), &timing),
        without_timing(serde_json::to_value(&straight).unwrap(), &timing)
    );
    // Parameters at every periodic checkpoint of the straight run, bit for bit.
    assert_eq!(straight_saved.len(), 2 * 5, "steps 10 … 50 of both σ");
    for (position, params) in &straight_saved {
        assert_eq!(resumed_saved.get(position), Some(params), "{position:?}");
    }
    // The check covers what a resumed run must carry over: a matched point and a band's
    // convergence (whose run of observations the tracker replays).
    for run in &straight.runs {
        assert!(run.matched.is_some(), "σ = {}", run.sigma);
        assert!(
            run.convergence_steps.iter().any(Option::is_some),
            "σ = {}",
            run.sigma
        );
    }
}

#[test]
fn a_stopped_image_run_returns_its_results_so_far() {
    let (config, picture) = tiny_image();
    let polls = Cell::new(0);
    let stopper = Stopper {
        polls: &polls,
        at: &[25],
    };
    let mut last: Option<ImageState> = None;
    let result = image::run_controlled(
        &config,
        &picture,
        &mut |_| {},
        Control {
            stop: &|| stopper.poll(),
            every: 0,
            checkpoint: &mut |s: &ImageState| {
                last = Some(s.clone());
                Ok(())
            },
            resume: None,
        },
    )
    .expect("image run");
    assert!(result.interrupted);
    assert_eq!(result.runs.len(), 1);
    let run = &result.runs[0];
    assert_eq!(run.steps, 25);
    assert_eq!(run.step_loss.len(), 25);
    assert_eq!(run.observed_steps, [0, 4, 8, 12, 16, 20, 24]);
    assert_eq!(run.final_test_mse, *run.test_mse.last().unwrap());
    let state = last.expect("a checkpoint at the stop");
    assert_eq!(state.current.as_ref().map(|c| c.step), Some(25));
    assert!(!state.is_complete(&config));

    // The state belongs to these settings and this image only.
    let other = ImageConfig {
        steps: 61,
        ..config.clone()
    };
    let err = state.check(&other, &picture).unwrap_err().to_string();
    assert!(err.contains("other settings"), "{err}");
    let dark = GrayImage::new(8, 8, vec![0.0; 64]).unwrap();
    let err = state.check(&config, &dark).unwrap_err().to_string();
    assert!(err.contains("another image"), "{err}");
    // A state whose parts do not fit each other (as a hand-made file could hold) is refused,
    // never a panic.
    let broken: [fn(&mut ImageState); 4] = [
        |s| {
            s.current.as_mut().unwrap().record.train_mse.pop();
        },
        |s| s.current.as_mut().unwrap().step = 61,
        |s| {
            s.current.as_mut().unwrap().record.band_errors.pop();
        },
        |s| {
            s.current.as_mut().unwrap().parameters.pop();
        },
    ];
    for damage in broken {
        let mut bad = through_file("image", &state);
        damage(&mut bad);
        let err = image::run_controlled(
            &config,
            &picture,
            &mut |_| {},
            Control {
                stop: &|| false,
                every: 0,
                checkpoint: &mut |_| Ok(()),
                resume: Some(bad),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not fit"), "{err}");
    }
    let err = image::run_controlled(
        &config,
        &dark,
        &mut |_| {},
        Control {
            stop: &|| false,
            every: 0,
            checkpoint: &mut |_| Ok(()),
            resume: Some(state),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("another image"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// MNIST
// ---------------------------------------------------------------------------------------------

fn tiny_mnist() -> MnistConfig {
    let mut config = MnistConfig {
        widths: vec![784, 16, 10],
        gains: vec![1.0, 4.0],
        epochs: 3,
        batch_size: 25,
        train_samples: Some(120),
        test_samples: Some(60),
        ..MnistConfig::default()
    };
    config.filtering.subsample = 120;
    config.projection.power_iterations = 50;
    config
}

/// The MNIST run, stopped at the given polls and resumed each time; returns the result and the
/// parameters and generator state at every checkpoint, keyed by (gain index, epochs done).
fn mnist_run(stop_at: &[usize]) -> (MnistResult, BTreeMap<(usize, usize), Vec<u64>>, usize) {
    let config = tiny_mnist();
    let (train, test) = embedded_mnist().expect("embedded digits");
    let polls = Cell::new(0);
    let stopper = Stopper {
        polls: &polls,
        at: stop_at,
    };
    let mut saved = BTreeMap::new();
    let mut resume: Option<MnistState> = None;
    let mut parts = 0;
    loop {
        parts += 1;
        let mut last = None;
        let result = mnist::run_controlled(
            &config,
            &train,
            &test,
            &mut |_| {},
            Control {
                stop: &|| stopper.poll(),
                every: 1,
                checkpoint: &mut |state: &MnistState| {
                    if let Some(current) = &state.current {
                        let mut key: Vec<u64> = current
                            .parameters
                            .iter()
                            .map(|v| u64::from(v.to_bits()))
                            .collect();
                        key.push(current.rng.0);
                        saved.insert((state.finished.len(), current.records.len() - 1), key);
                    }
                    last = Some(through_file("mnist", state));
                    Ok(())
                },
                resume: resume.take(),
            },
        )
        .expect("mnist run");
        if !result.interrupted {
            return (result, saved, parts);
        }
        resume = last;
        assert!(resume.is_some(), "a stopped run leaves a checkpoint");
    }
}

#[test]
fn an_mnist_run_stopped_and_resumed_matches_a_straight_run() {
    let (straight, straight_saved, parts) = mnist_run(&[]);
    assert_eq!(parts, 1);
    // Polls: after epochs 1 and 2 of g = 1, before g = 4, after its epochs 1 and 2. Stop after
    // epoch 1, right before the second gain, and after its epoch 2.
    let (resumed, resumed_saved, parts) = mnist_run(&[1, 3, 5]);
    assert_eq!(parts, 4);
    let timing = [
        "train_seconds",
        "eval_seconds",
        "samples_per_second",
        "prepare_seconds",
        "wall_seconds",
    ];
    assert_eq!(
        without_timing(serde_json::to_value(&resumed).unwrap(), &timing),
        without_timing(serde_json::to_value(&straight).unwrap(), &timing)
    );
    assert_eq!(
        straight_saved.len(),
        2 * 2,
        "after epochs 1 and 2 of both gains"
    );
    for (position, state) in &straight_saved {
        assert_eq!(resumed_saved.get(position), Some(state), "{position:?}");
    }
    assert_eq!(resumed.runs.len(), 2);
    assert!(resumed.runs.iter().all(|r| r.epochs.len() == 4));
}

#[test]
fn an_mnist_checkpoint_fits_only_its_settings_and_data() {
    let config = tiny_mnist();
    let (train, test) = embedded_mnist().expect("embedded digits");
    let mut last: Option<MnistState> = None;
    let result = mnist::run_controlled(
        &config,
        &train,
        &test,
        &mut |_| {},
        Control {
            stop: &|| true,
            every: 1,
            checkpoint: &mut |s: &MnistState| {
                last = Some(s.clone());
                Ok(())
            },
            resume: None,
        },
    )
    .expect("mnist run");
    assert!(result.interrupted);
    assert_eq!(result.runs.len(), 1);
    assert_eq!(
        result.runs[0].epochs.len(),
        2,
        "epoch 0 and the one trained"
    );
    let state = last.expect("a checkpoint at the stop");

    let more_epochs = MnistConfig {
        epochs: 4,
        ..config.clone()
    };
    let err = state.check(&more_epochs, &train, &test).unwrap_err();
    assert!(err.to_string().contains("other settings"), "{err}");
    // The same settings on other samples: the test set's first 60 are not the training set's.
    let err = state.check(&config, &test, &train).unwrap_err();
    assert!(
        err.to_string().contains("other training or test data"),
        "{err}"
    );
    state.check(&config, &train, &test).expect("its own run");
}
