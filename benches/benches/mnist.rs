//! MNIST-sized training throughput: 784-400-200-10 tanh network, mean squared error on one-hot
//! targets, Adam, mini-batches of 100, through the host's `ParallelTrainer` with 1 and 2
//! threads. Throughput is in samples per second. The inputs are random pixels in [0, 1): the
//! cost of a step does not depend on the values.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::train::Samples;
use host::network::HOST_ARITHMETIC;
use host::parallel::ParallelTrainer;
use std::hint::black_box;

const WIDTHS: [usize; 4] = [784, 400, 200, 10];
const BATCH: usize = 100;

fn mnist(c: &mut Criterion) {
    let arch = Architecture::tanh(&WIDTHS)
        .unwrap()
        .with_arithmetic(HOST_ARITHMETIC);
    let p = arch.parameter_count();
    let mut rng = Rng::new(1);
    let mut params = vec![0.0f32; p];
    Init::LeCun
        .initialize(&arch, &mut params, &mut rng)
        .unwrap();
    let x: Vec<f32> = (0..BATCH * 784).map(|_| rng.uniform() as f32).collect();
    let mut y = vec![0.0f32; BATCH * 10];
    for row in y.chunks_exact_mut(10) {
        row[rng.below(10) as usize] = 1.0;
    }
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let mut group = c.benchmark_group("mnist_784-400-200-10_batch_100");
    group.throughput(Throughput::Elements(BATCH as u64));
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
