//! The pieces of one training step of the paper's network, timed alone: the dense kernels on
//! a 200 → 200 layer with 61 samples (and the forward product of its 200 → 100 layer, whose
//! 100 columns are a full tile and a partial one), the input gradient of a thread's part of
//! 31 or 33 samples (the two ways `dense::backward_inputs` computes it), tanh over one forward
//! pass's 61 × 700 values, and one
//! Adam update of 101,001 parameters. Throughput is in multiply-adds × 2 (flop) for the
//! kernels and in elements for the rest. The kernels run with both roundings
//! (`dense::Arithmetic`), side by side. `fma_peak` is the ceiling they are measured against:
//! independent fused multiply-adds on values held in registers, with no memory traffic.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fprinciple_core::activation::Activation;
use fprinciple_core::dense::{self, Arithmetic, DenseShape};
use fprinciple_core::optim::{Adam, Optimizer};
use fprinciple_core::rng::Rng;
use std::hint::black_box;

fn random(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.normal_f32(scale)).collect()
}

fn kernels(c: &mut Criterion) {
    let mut rng = Rng::new(3);
    let shape = DenseShape {
        batch: 61,
        inputs: 200,
        outputs: 200,
    };
    let x = random(&mut rng, shape.batch * shape.inputs, 1.0);
    let w = random(&mut rng, shape.weight_len(), 0.1);
    let bias = random(&mut rng, shape.outputs, 0.1);
    let d = random(&mut rng, shape.batch * shape.outputs, 1.0);
    let mut out = vec![0.0f32; shape.batch * shape.outputs];
    let mut gw = vec![0.0f32; shape.weight_len()];
    let mut gb = vec![0.0f32; shape.outputs];
    let mut gx = vec![0.0f32; shape.batch * shape.inputs];

    for (name, arithmetic) in [
        ("separate", Arithmetic::Separate),
        ("fused", Arithmetic::Fused),
    ] {
        let mut group = c.benchmark_group(format!("dense_61x200x200_{name}"));
        group.throughput(Throughput::Elements(
            (2 * shape.weight_len() * shape.batch) as u64,
        ));
        group.bench_function("forward", |b| {
            b.iter(|| dense::forward(shape, arithmetic, &x, &w, &bias, &mut out).unwrap())
        });
        group.bench_function("backward_parameters", |b| {
            b.iter(|| {
                dense::backward_parameters(shape, arithmetic, &x, &d, &mut gw, &mut gb).unwrap()
            })
        });
        group.bench_function("backward_inputs", |b| {
            b.iter(|| dense::backward_inputs(shape, arithmetic, &w, &d, &mut gx).unwrap())
        });
        group.finish();
    }

    let narrow = DenseShape {
        outputs: 100,
        ..shape
    };
    let mut group = c.benchmark_group("dense_61x200x100_fused");
    group.throughput(Throughput::Elements(
        (2 * narrow.weight_len() * narrow.batch) as u64,
    ));
    let w100 = &w[..narrow.weight_len()];
    let mut out100 = vec![0.0f32; narrow.batch * narrow.outputs];
    group.bench_function("forward", |b| {
        b.iter(|| {
            let (bias, out) = (&bias[..100], &mut out100);
            dense::forward(narrow, Arithmetic::Fused, &x, w100, bias, out).unwrap()
        })
    });
    group.finish();

    // A thread's part of the paper's batch: the input gradient of `dense::BY_UNIT_BATCH` (32)
    // samples or fewer is computed unit by unit, of more sample by sample. Per flop, 31 and 33 samples compare the
    // two ways on nearly the same product.
    let mut group = c.benchmark_group("dense_part_x200x200_fused");
    for part in [31, 33] {
        let shape = DenseShape {
            batch: part,
            ..shape
        };
        let d = &d[..part * shape.outputs];
        let mut gx = vec![0.0f32; part * shape.inputs];
        group.throughput(Throughput::Elements(
            (2 * shape.weight_len() * shape.batch) as u64,
        ));
        let way = if part <= dense::BY_UNIT_BATCH {
            "by_unit"
        } else {
            "by_sample"
        };
        group.bench_function(format!("backward_inputs_{part}_{way}"), |b| {
            b.iter(|| dense::backward_inputs(shape, Arithmetic::Fused, &w, d, &mut gx).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("elementwise");
    let pre = random(&mut rng, 61 * 700, 2.0);
    let mut values = pre.clone();
    group.throughput(Throughput::Elements(pre.len() as u64));
    group.bench_function("tanh_61x700", |b| {
        b.iter(|| {
            values.copy_from_slice(&pre);
            Activation::Tanh.apply_slice(&mut values);
            black_box(values[0])
        })
    });
    let p = 101_001;
    let grads = random(&mut rng, p, 0.01);
    let mut params = random(&mut rng, p, 0.1);
    let mut adam = Adam::new(1e-5, vec![0.0; p], vec![0.0; p]).unwrap();
    group.throughput(Throughput::Elements(p as u64));
    group.bench_function("adam_101001", |b| {
        b.iter(|| adam.step(&mut params, &grads).unwrap())
    });
    group.finish();
}

/// `rounds` rounds of fused multiply-adds on 6 × 32 independent accumulators (twelve 16-lane
/// vectors, more than the multiply-add latency needs): as many flop per second as one core can
/// do, what a matrix kernel at best approaches.
fn fma_rounds(rounds: usize, seed: f32) -> f32 {
    let mut acc = [[seed; 32]; 6];
    let (scale, shift) = ([0.999f32; 32], [1e-3f32; 32]);
    for _ in 0..rounds {
        for row in acc.iter_mut() {
            for ((x, &m), &a) in row.iter_mut().zip(&scale).zip(&shift) {
                *x = x.mul_add(m, a);
            }
        }
    }
    acc.iter().flatten().sum()
}

fn peak(c: &mut Criterion) {
    let rounds = 10_000;
    let mut group = c.benchmark_group("fma_peak");
    group.throughput(Throughput::Elements((rounds * 6 * 32 * 2) as u64));
    group.bench_function("registers_6x32", |b| {
        b.iter(|| black_box(fma_rounds(rounds, black_box(0.5))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = kernels, peak
}
criterion_main!(benches);
