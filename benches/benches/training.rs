//! Training-step benchmarks of the paper's networks.
//!
//! `paper_step`: one full-batch Adam step of 1-200-200-200-100-1 (101,001 parameters) on 61
//! points; `eval_64`: the same network on a 64-point analysis grid; `step_61_and_eval_64`:
//! both, which is what one observed training step costs; `step_61_observing_64`: the same
//! work as one step whose forward pass also evaluates the grid (`step_observed`). Forward + backward ≈ 6 × parameters ×
//! points flop, forward alone 2 × parameters × points.
//!
//! The host's networks round multiply-adds as `host::network::HOST_ARITHMETIC` says (fused on
//! a desktop with FMA units); `paper_separate` repeats the step and evaluation with separate
//! rounding, as the firmware computes, for the ratio.
//!
//! `paper_parallel`: the same step and step + evaluation through the host's `ParallelTrainer`
//! with 1 and 2 threads.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fprinciple_benches::{paper_setup, PaperSetup, PAPER};
use fprinciple_core::dense::Arithmetic;
use fprinciple_core::loss::Loss;
use fprinciple_core::optim::Adam;
use fprinciple_core::train::{workspace_count, ObservedBatch, Samples, Trainer};
use host::network::HOST_ARITHMETIC;
use host::parallel::ParallelTrainer;
use std::hint::black_box;

fn paper(c: &mut Criterion) {
    paper_group(c, "paper_1-200-200-200-100-1", HOST_ARITHMETIC);
    paper_group(c, "paper_separate", Arithmetic::Separate);
}

fn paper_group(c: &mut Criterion, name: &str, arithmetic: Arithmetic) {
    let PaperSetup {
        arch,
        mut params,
        x,
        y,
        analysis,
    } = paper_setup(arithmetic);
    let p = arch.parameter_count();
    let mut outputs = vec![0.0f32; 64];
    let mut trainer = Trainer::new(
        Loss::MeanSquaredError,
        Adam::new(2e-5, vec![0.0; p], vec![0.0; p]).unwrap(),
        vec![0.0; p],
        vec![0.0; workspace_count(&PAPER, 61 + 64)],
    );
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements((6 * p * 61) as u64));
    group.bench_function("step_61", |b| {
        b.iter(|| black_box(trainer.step(&arch, &mut params, samples).unwrap()))
    });
    group.throughput(Throughput::Elements((2 * p * 64) as u64));
    group.bench_function("eval_64", |b| {
        b.iter(|| {
            trainer
                .predict(&arch, &params, &analysis, &mut outputs)
                .unwrap();
            black_box(outputs[0])
        })
    });
    group.throughput(Throughput::Elements((6 * p * 61 + 2 * p * 64) as u64));
    group.bench_function("step_61_and_eval_64", |b| {
        b.iter(|| {
            black_box(trainer.step(&arch, &mut params, samples).unwrap());
            trainer
                .predict(&arch, &params, &analysis, &mut outputs)
                .unwrap();
            black_box(outputs[0])
        })
    });
    let observed: Vec<f32> = x.iter().chain(&analysis).copied().collect();
    let mut observed_outputs = vec![0.0f32; observed.len()];
    group.bench_function("step_61_observing_64", |b| {
        b.iter(|| {
            let batch = ObservedBatch {
                inputs: &observed,
                targets: &y,
                outputs: &mut observed_outputs,
            };
            black_box(trainer.step_observed(&arch, &mut params, batch).unwrap())
        })
    });
    group.finish();
}

fn paper_parallel(c: &mut Criterion) {
    let PaperSetup {
        arch,
        mut params,
        x,
        y,
        analysis,
    } = paper_setup(HOST_ARITHMETIC);
    let p = arch.parameter_count();
    let mut outputs = vec![0.0f32; 64];
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let observed: Vec<f32> = x.iter().chain(&analysis).copied().collect();
    let mut observed_outputs = vec![0.0f32; observed.len()];
    let mut group = c.benchmark_group("paper_parallel");
    for threads in [1, 2] {
        let mut trainer = ParallelTrainer::new(
            Loss::MeanSquaredError,
            Adam::new(2e-5, vec![0.0; p], vec![0.0; p]).unwrap(),
            threads,
        );
        group.throughput(Throughput::Elements((6 * p * 61) as u64));
        group.bench_function(format!("step_61/threads_{threads}"), |b| {
            b.iter(|| black_box(trainer.step(&arch, &mut params, samples).unwrap()))
        });
        group.throughput(Throughput::Elements((6 * p * 61 + 2 * p * 64) as u64));
        group.bench_function(format!("step_61_and_eval_64/threads_{threads}"), |b| {
            b.iter(|| {
                black_box(trainer.step(&arch, &mut params, samples).unwrap());
                trainer
                    .predict(&arch, &params, &analysis, &mut outputs)
                    .unwrap();
                black_box(outputs[0])
            })
        });
        group.bench_function(format!("step_61_observing_64/threads_{threads}"), |b| {
            b.iter(|| {
                let batch = ObservedBatch {
                    inputs: &observed,
                    targets: &y,
                    outputs: &mut observed_outputs,
                };
                black_box(trainer.step_observed(&arch, &mut params, batch).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = paper, paper_parallel
}
criterion_main!(benches);
