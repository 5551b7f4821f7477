//! The speed figures the README quotes, measured side by side: `cargo bench -p
//! fprinciple-benches --bench speed` (add `-- --rounds N` for more rounds).
//!
//! On a shared machine a run's speed drifts, often by a third, within seconds. So every figure
//! is measured in many short rounds, the rounds of all figures interleaved, and the table gives
//! the best round (the machine at its least disturbed, the usual estimate of what the code
//! costs; Python's `timeit` reports the same) and the median round (what a run of a few
//! seconds meets). Criterion's benches (`training`, `mnist`) give means with confidence
//! intervals for the same work.
//!
//! Figures: one full-batch Adam step of the paper's network on the official preset's 61
//! points plus the evaluation of its 64-point analysis grid, as a step then a separate forward
//! pass and as one observed step (`step_observed`, the grid evaluated in the step's forward
//! pass), on 1 and 2 threads; the same arithmetic with nothing shared (two threads, each
//! training its own copy of the network on one thread's rows of the split step: what a split
//! step would cost if its threads did not exchange the weights, activations and deltas through
//! their caches); and one Adam step of 784-400-200-10 on a batch of 100, on 1 and 2 threads.
//! Flop counts: forward + backward ≈ 6 × parameters × samples, forward alone
//! 2 × parameters × samples.

use fprinciple_benches::{mnist_setup, paper_setup, MNIST_BATCH};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::Adam;
use fprinciple_core::train::{ObservedBatch, Samples};
use host::network::HOST_ARITHMETIC;
use host::parallel::ParallelTrainer;
use std::hint::black_box;
use std::time::Instant;

/// One measured figure: its name, its work per iteration and the iteration itself.
struct Figure<'a> {
    name: String,
    /// Floating-point operations per iteration.
    flop: f64,
    /// Samples trained per iteration (MNIST), for samples per second.
    samples: Option<usize>,
    iteration: Box<dyn FnMut() + 'a>,
    /// Seconds per iteration, one entry per round.
    rounds: Vec<f64>,
}

/// A copy of a network's parameters with an Adam trainer of its own and a buffer for the
/// outputs of its observed steps.
struct TrainedCopy {
    trainer: ParallelTrainer<Adam<Vec<f32>>>,
    params: Vec<f32>,
    outputs: Vec<f32>,
}

impl TrainedCopy {
    /// A copy of `params` trained on `threads` threads, observing `rows` rows per step.
    fn new(threads: usize, params: &[f32], rows: usize) -> Self {
        TrainedCopy {
            trainer: ParallelTrainer::new(Loss::MeanSquaredError, adam(params.len()), threads),
            params: params.to_vec(),
            outputs: vec![0.0; rows],
        }
    }

    /// One step on `(inputs, targets)`, then the outputs on `grid` at the new parameters.
    fn step_then_evaluate(
        &mut self,
        arch: &Architecture<'_>,
        samples: (&[f32], &[f32]),
        grid: &[f32],
    ) {
        let (inputs, targets) = samples;
        let loss = self
            .trainer
            .step(arch, &mut self.params, Samples { inputs, targets });
        black_box(loss.expect("step"));
        let outputs = &mut self.outputs;
        let evaluated = self.trainer.predict(arch, &self.params, grid, outputs);
        evaluated.expect("evaluation");
        black_box(outputs.first());
    }

    /// One observed step on `inputs`, whose first rows `targets` covers.
    fn observed_step(&mut self, arch: &Architecture<'_>, inputs: &[f32], targets: &[f32]) {
        let batch = ObservedBatch {
            inputs,
            targets,
            outputs: &mut self.outputs,
        };
        let loss = self.trainer.step_observed(arch, &mut self.params, batch);
        black_box(loss.expect("step"));
    }
}

fn main() {
    let rounds = rounds_from_args().unwrap_or(60);
    let paper = paper_setup(HOST_ARITHMETIC);
    let mnist = mnist_setup(HOST_ARITHMETIC);
    let (paper_arch, mnist_arch) = (paper.arch, mnist.arch);
    let p = paper_arch.parameter_count() as f64;
    let q = mnist_arch.parameter_count() as f64;
    let step_and_eval = 6.0 * p * 61.0 + 2.0 * p * 64.0;
    let observed: Vec<f32> = paper.x.iter().chain(&paper.analysis).copied().collect();
    // One thread's rows of the split observed step: the larger of its two training parts
    // (31 of 61) and half the grid.
    let (train_share, grid_share) = (paper.x.len().div_ceil(2), paper.analysis.len() / 2);
    let half_rows: Vec<f32> = paper.x[..train_share]
        .iter()
        .chain(&paper.analysis[..grid_share])
        .copied()
        .collect();
    let half_flop = 6.0 * p * train_share as f64 + 2.0 * p * grid_share as f64;

    let mut figures: Vec<Figure<'_>> = Vec::new();
    for threads in [1, 2] {
        let (x, y, analysis, arch) = (&paper.x, &paper.y, &paper.analysis, &paper_arch);
        let mut network = TrainedCopy::new(threads, &paper.params, analysis.len());
        figures.push(Figure {
            name: format!("paper step (61) then evaluation (64), {threads} thread(s)"),
            flop: step_and_eval,
            samples: None,
            iteration: Box::new(move || network.step_then_evaluate(arch, (x, y), analysis)),
            rounds: Vec::new(),
        });
    }
    for threads in [1, 2] {
        let (observed, y, arch) = (&observed, &paper.y, &paper_arch);
        let mut network = TrainedCopy::new(threads, &paper.params, observed.len());
        figures.push(Figure {
            name: format!("paper observed step (61 + 64 rows), {threads} thread(s)"),
            flop: step_and_eval,
            samples: None,
            iteration: Box::new(move || network.observed_step(arch, observed, y)),
            rounds: Vec::new(),
        });
    }
    {
        // Two copies trained side by side on two threads, then one alone.
        let arch = &paper_arch;
        let (half, targets) = (&half_rows, &paper.y[..train_share]);
        let copy = || TrainedCopy::new(1, &paper.params, half_rows.len());
        let mut copies = [copy(), copy()];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("two threads");
        figures.push(Figure {
            name: format!("paper: 2 threads, own copies ({train_share} + {grid_share} rows each)"),
            flop: 2.0 * half_flop,
            samples: None,
            iteration: Box::new(move || {
                let [a, b] = &mut copies;
                pool.install(|| {
                    rayon::join(
                        || a.observed_step(arch, half, targets),
                        || b.observed_step(arch, half, targets),
                    )
                });
            }),
            rounds: Vec::new(),
        });
        let mut alone = copy();
        figures.push(Figure {
            name: "paper: 1 thread, one such copy alone".into(),
            flop: half_flop,
            samples: None,
            iteration: Box::new(move || alone.observed_step(arch, half, targets)),
            rounds: Vec::new(),
        });
    }
    for threads in [1, 2] {
        let (x, y) = (&mnist.x, &mnist.y);
        let arch = &mnist_arch;
        let mut params = mnist.params.clone();
        let mut trainer = ParallelTrainer::new(
            Loss::MeanSquaredError,
            adam(mnist_arch.parameter_count()),
            threads,
        );
        figures.push(Figure {
            name: format!("MNIST step, batch {MNIST_BATCH}, {threads} thread(s)"),
            flop: 6.0 * q * MNIST_BATCH as f64,
            samples: Some(MNIST_BATCH),
            iteration: Box::new(move || {
                let samples = Samples {
                    inputs: x,
                    targets: y,
                };
                black_box(trainer.step(arch, &mut params, samples).expect("step"));
            }),
            rounds: Vec::new(),
        });
    }

    // Warm-up: caches, the thread pools, the CPU's clock.
    for figure in &mut figures {
        for _ in 0..20 {
            (figure.iteration)();
        }
    }
    for _ in 0..rounds {
        for figure in &mut figures {
            // About 10 ms per round and figure.
            let iterations = if figure.samples.is_some() { 6 } else { 16 };
            let start = Instant::now();
            for _ in 0..iterations {
                (figure.iteration)();
            }
            figure
                .rounds
                .push(start.elapsed().as_secs_f64() / f64::from(iterations));
        }
    }

    println!("{rounds} rounds; per iteration, best round and median round (GFLOP/s; samples/s)\n");
    println!("{:<58} {:>22} {:>22}", "figure", "best", "median");
    for figure in &mut figures {
        figure.rounds.sort_by(f64::total_cmp);
        let best = figure.rounds.first().copied().unwrap_or(f64::NAN);
        let median = figure
            .rounds
            .get(figure.rounds.len() / 2)
            .copied()
            .unwrap_or(f64::NAN);
        let show = |seconds: f64| match figure.samples {
            Some(n) => format!("{:.3} ms {:>7.0}/s", seconds * 1e3, n as f64 / seconds),
            None => format!(
                "{:.3} ms {:>5.0} GF/s",
                seconds * 1e3,
                figure.flop / seconds / 1e9
            ),
        };
        println!(
            "{:<58} {:>22} {:>22}",
            figure.name,
            show(best),
            show(median)
        );
    }
}

/// Adam with the official preset's learning rate for `n` parameters.
fn adam(n: usize) -> Adam<Vec<f32>> {
    Adam::new(2e-5, vec![0.0; n], vec![0.0; n]).expect("valid rate")
}

/// `--rounds N` among the arguments (cargo bench also passes `--bench`).
fn rounds_from_args() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--rounds")?;
    args.get(at + 1)?.parse().ok().filter(|&n| n > 0)
}
