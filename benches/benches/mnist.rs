//! MNIST-sized training throughput: 784-400-200-10 tanh network, mean squared error on one-hot
//! targets, Adam, mini-batches of 100, through the host's `ParallelTrainer` with 1 and 2
//! threads. Throughput is in samples per second. The inputs are random pixels in [0, 1): the
//! cost of a step does not depend on the values.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fprinciple_benches::{mnist_setup, MnistSetup, MNIST_BATCH};
use fprinciple_core::loss::Loss;
use fprinciple_core::optim::Adam;
use fprinciple_core::train::Samples;
use host::network::HOST_ARITHMETIC;
use host::parallel::ParallelTrainer;
use std::hint::black_box;

fn mnist(c: &mut Criterion) {
    let MnistSetup {
        arch,
        mut params,
        x,
        y,
    } = mnist_setup(HOST_ARITHMETIC);
    let p = arch.parameter_count();
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let mut group = c.benchmark_group("mnist_784-400-200-10_batch_100");
    group.throughput(Throughput::Elements(MNIST_BATCH as u64));
    for threads in [1, 2] {
        let mut trainer = ParallelTrainer::new(
            Loss::MeanSquaredError,
            Adam::new(1e-3, vec![0.0; p], vec![0.0; p]).unwrap(),
            threads,
        );
        group.bench_function(format!("step/threads_{threads}"), |b| {
            b.iter(|| black_box(trainer.step(&arch, &mut params, samples).unwrap()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = mnist
}
criterion_main!(benches);
