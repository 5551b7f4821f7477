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
//! 2 × parameters × samples. A round's iterations run one after another on the trainer's
//! thread pool, as the experiments' training loops run (`ParallelTrainer::on_pool`).
//!
//! References: the paper's standard (≤ 0.5 ms per step with the observation) was stated beside
//! the same iteration's time in NumPy (about 1.6 ms) and in PyTorch on the CPU (about 1.5 ms),
//! and MNIST's (1.5 times PyTorch at equal threads; on two cores the 58,000 samples/s of
//! PyTorch on a GPU) beside PyTorch's 21,500 samples/s on one thread, on this kind of machine.
//! Where `python3` with NumPy or PyTorch is installed, the bench runs those iterations written
//! in each (`benches/reference/step.py`, started once, checked against ours) in the same
//! rounds, and reports our time as a ratio to the reference's, round by round: the figure that
//! a machine's drift does not move. `-- --no-reference` skips them.

use fprinciple_benches::reference::{self, Reference};
use fprinciple_benches::{
    mnist_setup, paper_setup, MnistSetup, PaperSetup, MNIST, MNIST_BATCH, PAPER,
};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::Adam;
use fprinciple_core::train::{ObservedBatch, Samples};
use host::network::HOST_ARITHMETIC;
use host::parallel::ParallelTrainer;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The official preset's learning rate.
const LEARNING_RATE: f32 = 2e-5;
/// Names of our figures that have standards stated beside a reference.
const PAPER_STEP: &str = "paper step (61) then evaluation (64), 2 thread(s)";
const PAPER_OBSERVED: &str = "paper observed step (61 + 64 rows), 2 thread(s)";
const MNIST_ONE: &str = "MNIST step, batch 100, 1 thread(s)";
const MNIST_TWO: &str = "MNIST step, batch 100, 2 thread(s)";

/// The workloads a reference can run.
#[derive(Clone, Copy, PartialEq)]
enum Workload {
    /// The official preset's step and grid.
    Paper,
    /// A step of the MNIST network on one batch.
    Mnist,
}

/// A reference on a number of threads (`None`: its default, every core), the time per
/// iteration stated for it beside the standards (if one was), and for each of our figures with
/// a standard the largest ratio of our time to the reference's that meets it.
struct ReferenceSpec {
    framework: &'static str,
    workload: Workload,
    threads: Option<usize>,
    /// Seconds per iteration.
    stated: Option<f64>,
    standards: &'static [(&'static str, f64)],
}

/// PyTorch's MNIST step on one thread as stated beside the standards: 21,500 samples/s.
const MNIST_TORCH_ONE: f64 = 100.0 / 21_500.0;

/// The paper's step: ≤ 0.5 ms where NumPy took 1.6 ms and PyTorch 1.5 ms (their defaults, every
/// core). MNIST: at least 1.5 times PyTorch's speed at equal threads, and on two cores at least
/// the 58,000 samples/s of PyTorch on a GPU, which is 2.7 times the 21,500 stated for PyTorch on
/// one thread.
const REFERENCES: [ReferenceSpec; 4] = [
    ReferenceSpec {
        framework: "numpy",
        workload: Workload::Paper,
        threads: None,
        stated: Some(1.6e-3),
        standards: &[(PAPER_STEP, 0.5 / 1.6), (PAPER_OBSERVED, 0.5 / 1.6)],
    },
    ReferenceSpec {
        framework: "torch",
        workload: Workload::Paper,
        threads: None,
        stated: Some(1.5e-3),
        standards: &[(PAPER_STEP, 0.5 / 1.5), (PAPER_OBSERVED, 0.5 / 1.5)],
    },
    ReferenceSpec {
        framework: "torch",
        workload: Workload::Mnist,
        threads: Some(1),
        stated: Some(MNIST_TORCH_ONE),
        standards: &[(MNIST_ONE, 1.0 / 1.5), (MNIST_TWO, 21_500.0 / 58_000.0)],
    },
    ReferenceSpec {
        framework: "torch",
        workload: Workload::Mnist,
        threads: Some(2),
        stated: None,
        standards: &[(MNIST_TWO, 1.0 / 1.5)],
    },
];

/// Iterations from the same parameters after which a reference's grid outputs are compared
/// with ours.
const CHECK_ITERATIONS: usize = 20;
/// The largest relative difference allowed between the two changes of the grid outputs over
/// those iterations (float32 sums in other orders differ in their last bits).
const CHECK_TOLERANCE: f64 = 0.02;
/// A pause before each reference and before our figures, for the threads of what ran before
/// to stop spinning.
const SETTLE: Duration = Duration::from_millis(250);

/// One measured figure: its name, its work per iteration and the iterations themselves.
struct Figure<'a> {
    name: String,
    /// Floating-point operations per iteration.
    flop: f64,
    /// Samples trained per iteration (MNIST), for samples per second.
    samples: Option<usize>,
    /// Runs the iteration a number of times in a row, on the trainer's thread pool if it has
    /// one (as the experiments' training loops run: `ParallelTrainer::on_pool`).
    iterations: Box<dyn FnMut(usize) + 'a>,
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

    /// Runs `each` `n` times in a row on the trainer's pool, with the trainer, the
    /// parameters and the outputs buffer.
    fn repeat(
        &mut self,
        n: usize,
        each: impl Fn(&mut ParallelTrainer<Adam<Vec<f32>>>, &mut [f32], &mut [f32]) + Sync,
    ) {
        let TrainedCopy {
            trainer,
            params,
            outputs,
        } = self;
        trainer.on_pool(|trainer| {
            for _ in 0..n {
                each(trainer, params, outputs);
            }
        });
    }

    /// `n` times: one step on `(inputs, targets)`, then the outputs on `grid` at the new
    /// parameters.
    fn step_then_evaluate(
        &mut self,
        n: usize,
        arch: &Architecture<'_>,
        samples: (&[f32], &[f32]),
        grid: &[f32],
    ) {
        let (inputs, targets) = samples;
        self.repeat(n, |trainer, params, outputs| {
            let loss = trainer.step(arch, params, Samples { inputs, targets });
            black_box(loss.expect("step"));
            let evaluated = trainer.predict(arch, params, grid, outputs);
            evaluated.expect("evaluation");
            black_box(outputs.first());
        });
    }

    /// `n` observed steps on `inputs`, whose first rows `targets` covers.
    fn observed_steps(
        &mut self,
        n: usize,
        arch: &Architecture<'_>,
        inputs: &[f32],
        targets: &[f32],
    ) {
        self.repeat(n, |trainer, params, outputs| {
            let batch = ObservedBatch {
                inputs,
                targets,
                outputs,
            };
            black_box(trainer.step_observed(arch, params, batch).expect("step"));
        });
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
            iterations: Box::new(move |n| network.step_then_evaluate(n, arch, (x, y), analysis)),
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
            iterations: Box::new(move |n| network.observed_steps(n, arch, observed, y)),
            rounds: Vec::new(),
        });
    }
    {
        // The same on two threads whose shares stay even: what the shares that follow each
        // thread's speed (`ParallelTrainer::set_adaptive_shares`) gain, side by side.
        let (observed, y, arch) = (&observed, &paper.y, &paper_arch);
        let mut network = TrainedCopy::new(2, &paper.params, observed.len());
        network.trainer.set_adaptive_shares(false);
        figures.push(Figure {
            name: "paper observed step (61 + 64 rows), 2 thread(s), even shares".into(),
            flop: step_and_eval,
            samples: None,
            iterations: Box::new(move |n| network.observed_steps(n, arch, observed, y)),
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
            iterations: Box::new(move |n| {
                let [a, b] = &mut copies;
                pool.install(|| {
                    for _ in 0..n {
                        rayon::join(
                            || a.observed_steps(1, arch, half, targets),
                            || b.observed_steps(1, arch, half, targets),
                        );
                    }
                });
            }),
            rounds: Vec::new(),
        });
        let mut alone = copy();
        figures.push(Figure {
            name: "paper: 1 thread, one such copy alone".into(),
            flop: half_flop,
            samples: None,
            iterations: Box::new(move |n| alone.observed_steps(n, arch, half, targets)),
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
            iterations: Box::new(move |n| {
                let samples = Samples {
                    inputs: x,
                    targets: y,
                };
                let params = &mut params;
                trainer.on_pool(|trainer| {
                    for _ in 0..n {
                        black_box(trainer.step(arch, params, samples).expect("step"));
                    }
                });
            }),
            rounds: Vec::new(),
        });
    }

    let mut references = if std::env::args().any(|a| a == "--no-reference") {
        Vec::new()
    } else {
        start_references(&paper, &mnist)
    };

    // Warm-up: caches, the thread pools, the CPU's clock.
    for figure in &mut figures {
        (figure.iterations)(20);
    }
    for (_, reference, _) in &mut references {
        let _ = reference.time(20);
    }
    for _ in 0..rounds {
        for (spec, reference, times) in &mut references {
            // Let the threads of whatever ran last (our pool, the other reference), which spin
            // for a while after their last task, go to sleep first: OpenBLAS's spin for up to
            // about 0.1 s.
            std::thread::sleep(SETTLE);
            // About 15 ms per round, as for our figures.
            let iterations = if spec.workload == Workload::Mnist {
                3
            } else {
                8
            };
            match reference.time(iterations) {
                Ok(seconds) => times.push(seconds),
                Err(e) => {
                    eprintln!("{}: {e}", reference.name);
                    times.push(f64::NAN);
                }
            }
        }
        if !references.is_empty() {
            std::thread::sleep(SETTLE);
        }
        for figure in &mut figures {
            // About 10 ms per round and figure.
            let iterations: u32 = if figure.samples.is_some() { 6 } else { 16 };
            let start = Instant::now();
            (figure.iterations)(iterations as usize);
            figure
                .rounds
                .push(start.elapsed().as_secs_f64() / f64::from(iterations));
        }
    }

    println!("{rounds} rounds; per iteration, best round and median round (GFLOP/s; samples/s)\n");
    println!("{:<58} {:>22} {:>22}", "figure", "best", "median");
    for figure in &figures {
        let sorted = sorted(&figure.rounds);
        let (best, median) = (best(&sorted), median(&sorted));
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
    report_shares(&figures);
    report_references(&figures, &references);
}

/// The observed step on two threads with shares that follow each thread's speed, against the
/// same with even shares, round by round (the two run one after the other in every round).
fn report_shares(figures: &[Figure<'_>]) {
    let find = |name: &str| figures.iter().find(|f| f.name == name);
    let even = format!("{PAPER_OBSERVED}, even shares");
    let (Some(adaptive), Some(even)) = (find(PAPER_OBSERVED), find(&even)) else {
        return;
    };
    let ratios: Vec<f64> = adaptive
        .rounds
        .iter()
        .zip(&even.rounds)
        .map(|(a, e)| a / e)
        .collect();
    let sorted = sorted(&ratios);
    if let (Some(low), Some(high)) = (
        sorted.get(sorted.len() / 4),
        sorted.get(3 * sorted.len() / 4),
    ) {
        println!(
            "\nshares that follow the threads' speed / even shares, round by round: median {:.3} \
             (quartiles {low:.3}, {high:.3})",
            median(&sorted)
        );
    }
}

/// A started reference, its spec and its seconds per iteration, one entry per round.
type Running = (&'static ReferenceSpec, Reference, Vec<f64>);

/// Starts the references that this machine has and checks each against our step; prints why
/// a reference is left out.
fn start_references(paper: &PaperSetup, mnist: &MnistSetup) -> Vec<Running> {
    let paper_workload = reference::Workload {
        widths: &PAPER,
        params: &paper.params,
        x: &paper.x,
        y: &paper.y,
        grid: &paper.analysis,
        learning_rate: LEARNING_RATE,
    };
    let mnist_workload = reference::Workload {
        widths: &MNIST,
        params: &mnist.params,
        x: &mnist.x,
        y: &mnist.y,
        grid: &[],
        learning_rate: LEARNING_RATE,
    };
    let paper_ours = our_check_outputs(&paper.arch, &paper_workload);
    let mnist_ours = our_check_outputs(&mnist.arch, &mnist_workload);
    let mut started = Vec::new();
    for spec in &REFERENCES {
        let (label, workload, ours) = match spec.workload {
            Workload::Paper => ("paper", &paper_workload, &paper_ours),
            Workload::Mnist => ("mnist", &mnist_workload, &mnist_ours),
        };
        let launched = Reference::start(spec.framework, label, workload, spec.threads);
        let checked = launched.and_then(|mut r| {
            let outputs = r.check(CHECK_ITERATIONS)?;
            let difference = relative_change_difference(ours, &outputs)?;
            println!(
                "reference {} ({label}): after {CHECK_ITERATIONS} iterations its outputs moved \
                 as ours did to a relative difference of {difference:.1e}",
                r.name
            );
            if difference > CHECK_TOLERANCE {
                return Err(format!(
                    "{} disagrees with our step (relative difference {difference:.1e})",
                    r.name
                ));
            }
            Ok(r)
        });
        match checked {
            Ok(reference) => started.push((spec, reference, Vec::new())),
            Err(e) => println!("reference {} ({label}): not measured: {e}", spec.framework),
        }
    }
    started
}

/// Our outputs, on the workload's grid or else its training rows, before training and after
/// [`CHECK_ITERATIONS`] Adam steps on one thread.
fn our_check_outputs(
    arch: &Architecture<'_>,
    workload: &reference::Workload<'_>,
) -> (Vec<f32>, Vec<f32>) {
    let rows = if workload.grid.is_empty() {
        workload.x
    } else {
        workload.grid
    };
    let n = rows.len() / arch.input_width() * arch.output_width();
    let mut params = workload.params.to_vec();
    let mut trainer = ParallelTrainer::new(Loss::MeanSquaredError, adam(params.len()), 1);
    let mut predict = |params: &[f32]| {
        let mut outputs = vec![0.0; n];
        let predicted = trainer.predict(arch, params, rows, &mut outputs);
        predicted.expect("evaluation");
        outputs
    };
    let before = predict(&params);
    let mut trainer = ParallelTrainer::new(Loss::MeanSquaredError, adam(params.len()), 1);
    for _ in 0..CHECK_ITERATIONS {
        let samples = Samples {
            inputs: workload.x,
            targets: workload.y,
        };
        trainer.step(arch, &mut params, samples).expect("step");
    }
    let mut after = vec![0.0; n];
    let predicted = trainer.predict(arch, &params, rows, &mut after);
    predicted.expect("evaluation");
    (before, after)
}

/// How far a reference's change of the outputs is from ours: the largest difference of the two
/// changes over the largest change of ours.
fn relative_change_difference(ours: &(Vec<f32>, Vec<f32>), theirs: &[f32]) -> Result<f64, String> {
    let (before, after) = ours;
    if theirs.len() != after.len() {
        return Err(format!(
            "{} outputs, expected {}",
            theirs.len(),
            after.len()
        ));
    }
    let mut largest_change = 0.0f64;
    let mut largest_difference = 0.0f64;
    for ((&b, &a), &t) in before.iter().zip(after).zip(theirs) {
        largest_change = largest_change.max(f64::from(a - b).abs());
        largest_difference = largest_difference.max(f64::from(a - t).abs());
    }
    if largest_change > 0.0 {
        Ok(largest_difference / largest_change)
    } else {
        Err("our step did not change the outputs".into())
    }
}

/// The references' times, and our figures with standards as ratios to them beside the
/// standard's ratio: the ratio of the two best rounds (what each costs, the machine least
/// disturbed) and the median of the ratios of the two in each round (what the drift of a
/// shared machine leaves, as both are measured within a second of each other); and each ratio
/// times the reference's time stated beside the standard.
fn report_references(figures: &[Figure<'_>], references: &[Running]) {
    if references.is_empty() {
        return;
    }
    println!("\nreferences: the same iteration as our figures they are compared with");
    for (spec, reference, times) in references {
        let sorted = sorted(times);
        let workload = match spec.workload {
            Workload::Paper => "the paper's step and grid",
            Workload::Mnist => "the MNIST step",
        };
        let stated = spec.stated.map_or(String::new(), |seconds| {
            format!("   (stated beside the standard: {:.2} ms)", seconds * 1e3)
        });
        println!(
            "{:<58} {:>12.3} ms {:>19.3} ms{stated}",
            format!("{}, {workload}", reference.name),
            best(&sorted) * 1e3,
            median(&sorted) * 1e3,
        );
    }
    println!(
        "\n{:<72} {:>12} {:>12} {:>12}",
        "our figure / the reference's", "best rounds", "median round", "standard"
    );
    for (spec, reference, times) in references {
        for &(name, standard) in spec.standards {
            let Some(figure) = figures.iter().find(|f| f.name == name) else {
                continue;
            };
            let ratios: Vec<f64> = figure
                .rounds
                .iter()
                .zip(times)
                .map(|(ours, theirs)| ours / theirs)
                .filter(|ratio| ratio.is_finite())
                .collect();
            let of_bests = best(&sorted(&figure.rounds)) / best(&sorted(times));
            let median_ratio = median(&sorted(&ratios));
            let verdict = match (of_bests <= standard, median_ratio <= standard) {
                (_, true) => "met",
                (true, false) => "met by the best rounds",
                (false, false) => "not met",
            };
            println!(
                "{:<72} {:>12.3} {:>12.3} {:>12}  {verdict}",
                format!("{} / {}", figure.name, reference.name),
                of_bests,
                median_ratio,
                format!("≤ {standard:.3}"),
            );
            let Some(stated) = spec.stated else {
                continue;
            };
            let at_stated = |ratio: f64| {
                let seconds = ratio * stated;
                match figure.samples {
                    Some(n) => format!("{:.0}/s", n as f64 / seconds),
                    None => format!("{:.3} ms", seconds * 1e3),
                }
            };
            println!(
                "{:<72} {:>12} {:>12} {:>12}",
                format!("  the same, at its stated {:.2} ms", stated * 1e3),
                at_stated(of_bests),
                at_stated(median_ratio),
                at_stated(standard),
            );
        }
    }
}

/// The values in increasing order.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The smallest of sorted values.
fn best(sorted: &[f64]) -> f64 {
    sorted.first().copied().unwrap_or(f64::NAN)
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
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
