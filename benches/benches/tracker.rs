//! The spectral tracker's cost against the training step it watches, side by side in one run:
//! the classic 1-D setting (1-200-200-200-100-1 on 128 grid points, 3 peaks), one thread. The
//! tracker's budget is 5% of the step; compare `observe_128` with `step_128` (and `predict_128`, which an
//! observation also needs).

use criterion::{criterion_group, criterion_main, Criterion};
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{fill_grid, PeakSearch};
use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
use fprinciple_core::train::{workspace_count, Samples, Trainer};
use host::network::HOST_ARITHMETIC;
use std::hint::black_box;

const PAPER: [usize; 6] = [1, 200, 200, 200, 100, 1];
const N: usize = 128;

fn classic(c: &mut Criterion) {
    let arch = Architecture::tanh(&PAPER)
        .unwrap()
        .with_arithmetic(HOST_ARITHMETIC);
    let p = arch.parameter_count();
    let mut params = vec![0.0f32; p];
    Init::Uniform(LayerInit::normal(1.0 / 200f32.sqrt()))
        .initialize(&arch, &mut params, &mut Rng::new(0))
        .unwrap();
    let mut x = [0.0f32; N];
    fill_grid(-std::f32::consts::PI, std::f32::consts::PI, &mut x);
    let y: Vec<f32> = x
        .iter()
        .map(|&v| v.sin() + (3.0 * v).sin() + (5.0 * v).sin())
        .collect();
    let mut scratch = [0.0f32; N];
    let mut tracker: SpectralTracker<16> = SpectralTracker::from_grid(
        &y,
        &mut scratch,
        &PeakSearch::DEFAULT,
        TrackerSettings::DEFAULT,
    )
    .unwrap();
    let mut trainer = Trainer::new(
        Loss::MeanSquaredError,
        Adam::new(2e-4, vec![0.0; p], vec![0.0; p]).unwrap(),
        vec![0.0; p],
        vec![0.0; workspace_count(&PAPER, N)],
    );
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let mut outputs = [0.0f32; N];
    trainer.predict(&arch, &params, &x, &mut outputs).unwrap();

    let mut group = c.benchmark_group("classic_tracker");
    group.bench_function("step_128", |b| {
        b.iter(|| black_box(trainer.step(&arch, &mut params, samples).unwrap()))
    });
    group.bench_function("predict_128", |b| {
        b.iter(|| {
            trainer.predict(&arch, &params, &x, &mut outputs).unwrap();
            black_box(outputs[0])
        })
    });
    let mut step = 0u32;
    group.bench_function("observe_128", |b| {
        b.iter(|| {
            step += 1;
            tracker.observe(step, black_box(&outputs)).unwrap();
            black_box(tracker.errors()[0])
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = classic
}
criterion_main!(benches);
