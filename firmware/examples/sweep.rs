//! Calibrates the demo on the host: the firmware's training loop ([`firmware::demo::run`]) with
//! its settings taken from the command line, over a range of seeds, one line per seed and a
//! summary per learning rate. Every setting defaults to the demo's constant.
//!
//! ```sh
//! cargo run --release -p firmware --example sweep -- --seeds 0-99
//! cargo run --release -p firmware --example sweep -- --sigma 0.2 --learning-rate 0.01,0.02,0.03
//! ```
//!
//! Flags: `--widths 1,32,32,1`, `--sigma 0.3` (one σ for every layer, or one per layer),
//! `--learning-rate 0.03` (a list runs each), `--observe-every 10`, `--steps 1000`,
//! `--seeds 0-19`, `--loss-bound 0.01`, `--verbose` (Δ_F at every observation).
//!
//! At the demo's own settings each seed's result is checked against
//! [`firmware::demo::golden_with_seed`] bit for bit, so this loop cannot drift from the demo's.

use core::f32::consts::PI;

use firmware::demo;
use fprinciple_core::activation::Activation;
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::{parameter_count, Architecture};
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{fill_grid, PeakSearch};
use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
use fprinciple_core::train::{workspace_count, Samples, Trainer};

const N: usize = demo::GRID_POINTS;

struct Settings {
    widths: Vec<usize>,
    sigmas: Vec<f32>,
    learning_rates: Vec<f32>,
    observe_every: u32,
    steps: u32,
    seeds: std::ops::RangeInclusive<u64>,
    loss_bound: f32,
    verbose: bool,
}

fn list<T: std::str::FromStr>(flag: &str, text: &str) -> Vec<T> {
    text.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{flag}: cannot read `{v}`"))
        })
        .collect()
}

fn settings() -> Settings {
    let mut s = Settings {
        widths: demo::WIDTHS.to_vec(),
        sigmas: vec![demo::INIT_STD],
        learning_rates: vec![demo::LEARNING_RATE],
        observe_every: demo::OBSERVE_EVERY,
        steps: demo::STEPS,
        seeds: demo::SEED..=demo::SEED,
        loss_bound: demo::LOSS_BOUND,
        verbose: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--verbose" {
            s.verbose = true;
            continue;
        }
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--widths" => s.widths = list(&flag, &value),
            "--sigma" => s.sigmas = list(&flag, &value),
            "--learning-rate" => s.learning_rates = list(&flag, &value),
            "--observe-every" => s.observe_every = list(&flag, &value)[0],
            "--steps" => s.steps = list(&flag, &value)[0],
            "--loss-bound" => s.loss_bound = list(&flag, &value)[0],
            "--seeds" => {
                let (first, last) = value.split_once('-').unwrap_or((&value, &value));
                s.seeds = list(&flag, first)[0]..=list(&flag, last)[0];
            }
            _ => panic!("unknown flag {flag} (see the example's documentation)"),
        }
    }
    s
}

/// What one run gave: the fields of [`demo::Verdict`] this loop can reproduce.
struct Outcome {
    passed: bool,
    steps: u32,
    final_loss: f32,
    fingerprint: u32,
    convergence_steps: Vec<Option<u32>>,
    low_to_high: bool,
}

fn run(s: &Settings, learning_rate: f32, seed: u64) -> Outcome {
    let arch =
        Architecture::new(&s.widths, Activation::Tanh, Activation::Identity).expect("valid widths");
    let count = parameter_count(&s.widths);
    let mut inputs = [0.0f32; N];
    let mut targets = [0.0f32; N];
    fill_grid(-PI, PI, &mut inputs);
    for (y, &x) in targets.iter_mut().zip(&inputs) {
        *y = demo::target(x);
    }
    let layers: Vec<LayerInit> = (0..s.widths.len() - 1)
        .map(|i| LayerInit::normal(s.sigmas[i.min(s.sigmas.len() - 1)]))
        .collect();
    let init = if s.sigmas.len() == 1 {
        Init::Uniform(layers[0])
    } else {
        Init::PerLayer(&layers)
    };
    let mut parameters = vec![0.0f32; count];
    init.initialize(&arch, &mut parameters, &mut Rng::new(seed))
        .expect("initialization");
    let mut outputs = [0.0f32; N];
    let mut tracker = SpectralTracker::<{ demo::PEAKS }>::from_grid(
        &targets,
        &mut outputs,
        &PeakSearch::DEFAULT,
        TrackerSettings::DEFAULT,
    )
    .expect("the target's peaks");
    let adam = Adam::new(learning_rate, vec![0.0; count], vec![0.0; count]).expect("Adam");
    let mut trainer = Trainer::new(
        Loss::MeanSquaredError,
        adam,
        vec![0.0; count],
        vec![0.0; workspace_count(&s.widths, N)],
    );
    let samples = Samples {
        inputs: &inputs,
        targets: &targets,
    };
    let (mut steps, mut loss, mut failed) = (0, f32::INFINITY, false);
    let passed = |tracker: &SpectralTracker<{ demo::PEAKS }>, loss: f32| {
        tracker.all_converged() && loss < s.loss_bound
    };
    while !(steps >= s.steps || failed || passed(&tracker, loss)) {
        for _ in 0..s.observe_every.min(s.steps - steps) {
            match trainer.step(&arch, &mut parameters, samples) {
                Ok(value) => {
                    loss = value;
                    steps += 1;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        let observed = trainer
            .predict(&arch, &parameters, &inputs, &mut outputs)
            .and_then(|()| tracker.observe(steps, &outputs));
        failed |= observed.is_err();
        if s.verbose {
            println!("  step {steps} loss {loss:.5} dF {:?}", tracker.errors());
        }
    }
    let low_to_high = tracker.is_low_to_high();
    Outcome {
        passed: !failed && passed(&tracker, loss) && low_to_high,
        steps,
        final_loss: loss,
        fingerprint: demo::fnv1a(parameters.iter().flat_map(|p| p.to_bits().to_le_bytes())),
        convergence_steps: tracker.convergence_steps().to_vec(),
        low_to_high,
    }
}

fn main() {
    let s = settings();
    let is_demo = s.widths == demo::WIDTHS
        && s.sigmas == [demo::INIT_STD]
        && s.observe_every == demo::OBSERVE_EVERY
        && s.steps == demo::STEPS
        && s.loss_bound == demo::LOSS_BOUND;
    for &learning_rate in &s.learning_rates {
        let (mut passed, mut distinct, mut pass_steps) = (0, 0, Vec::new());
        for seed in s.seeds.clone() {
            let o = run(&s, learning_rate, seed);
            if is_demo && learning_rate == demo::LEARNING_RATE {
                let golden = demo::golden_with_seed(seed).expect("the demo's configuration");
                assert!(
                    golden.passed == o.passed
                        && golden.final_loss.to_bits() == o.final_loss.to_bits()
                        && golden.fingerprint == o.fingerprint
                        && golden.convergence_steps[..] == o.convergence_steps[..],
                    "seed {seed}: this loop differs from firmware::demo"
                );
            }
            let strictly = o.convergence_steps.windows(2).all(|w| w[0] < w[1]);
            if o.passed {
                passed += 1;
                pass_steps.push(o.steps);
                distinct += usize::from(strictly);
            }
            println!(
                "widths={:?} sigma={:?} learning_rate={learning_rate} seed={seed}: {} steps={} loss={:.5} convergence={:?} low_to_high={} distinct={strictly}",
                s.widths,
                s.sigmas,
                if o.passed { "pass" } else { "FAIL" },
                o.steps,
                o.final_loss,
                o.convergence_steps,
                o.low_to_high,
            );
        }
        pass_steps.sort_unstable();
        let seeds = s.seeds.clone().count();
        println!(
            "== learning_rate={learning_rate}: {passed} of {seeds} seeds pass ({distinct} with three distinct convergence steps); steps of the passing runs: min {:?}, median {:?}, max {:?}",
            pass_steps.first(),
            pass_steps.get(pass_steps.len() / 2),
            pass_steps.last()
        );
    }
}
