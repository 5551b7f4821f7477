//! Training never touches the heap: a counting global allocator sees zero allocations during
//! a full-batch step, an epoch of mini-batches and a prediction on a grid.

use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::Adam;
use fprinciple_core::rng::Rng;
use fprinciple_core::spectrum::{fill_grid, PeakSearch};
use fprinciple_core::tracker::{SpectralTracker, TrackerSettings};
use fprinciple_core::train::{workspace_count, BatchBuffers, Samples, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness's own threads do not count.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn training_allocates_nothing() {
    // The counter sees this thread's allocations (else the zero below would prove nothing).
    let probe = allocations();
    let boxed = std::hint::black_box(Box::new([0u8; 64]));
    assert_eq!(allocations(), probe + 1);
    drop(boxed);

    let widths = [2, 32, 16, 3];
    let arch = Architecture::tanh(&widths).unwrap();
    let p = arch.parameter_count();
    let mut rng = Rng::new(1);
    let mut parameters = vec![0.0; p];
    Init::Xavier
        .initialize(&arch, &mut parameters, &mut rng)
        .unwrap();
    let x: Vec<f32> = (0..2 * 64).map(|_| rng.normal_f32(1.0)).collect();
    let y: Vec<f32> = (0..3 * 64).map(|_| rng.normal_f32(1.0)).collect();
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let mut trainer = Trainer::new(
        Loss::SoftmaxCrossEntropy,
        Adam::new(1e-3, vec![0.0; p], vec![0.0; p]).unwrap(),
        vec![0.0; p],
        vec![0.0; workspace_count(&widths, 64)],
    );
    let (mut order, mut bx, mut by) = (vec![0; 64], vec![0.0; 2 * 16], vec![0.0; 3 * 16]);
    let mut outputs = vec![0.0; 3 * 64];

    let before = allocations();
    trainer.step(&arch, &mut parameters, samples).unwrap();
    let buffers = BatchBuffers {
        order: &mut order,
        inputs: &mut bx,
        targets: &mut by,
    };
    trainer
        .epoch(&arch, &mut parameters, samples, 16, buffers, &mut rng)
        .unwrap();
    trainer
        .predict(&arch, &parameters, &x, &mut outputs)
        .unwrap();
    let after = allocations();
    assert_eq!(after - before, 0, "allocations during training");
}

#[test]
fn observing_the_spectrum_allocates_nothing() {
    const N: usize = 128;
    let mut x = [0.0f32; N];
    fill_grid(-std::f32::consts::PI, std::f32::consts::PI, &mut x);
    let target: Vec<f32> = x
        .iter()
        .map(|&v| v.sin() + (3.0 * v).sin() + (5.0 * v).sin())
        .collect();
    let mut scratch = [0.0f32; N];
    let mut tracker: SpectralTracker<16> = SpectralTracker::from_grid(
        &target,
        &mut scratch,
        &PeakSearch::DEFAULT,
        TrackerSettings::DEFAULT,
    )
    .unwrap();
    let mut outputs = [0.0f32; N];
    let before = allocations();
    for step in 0..50u32 {
        for (o, t) in outputs.iter_mut().zip(&target) {
            *o = t * (step as f32 / 50.0);
        }
        tracker.observe(step, &outputs).unwrap();
        tracker
            .observe_with_scratch(step, &outputs, &mut scratch)
            .unwrap();
    }
    let order = tracker.convergence_order();
    let after = allocations();
    assert_eq!(after - before, 0, "allocations while observing");
    assert_eq!(tracker.peaks().len(), 3);
    assert!(order.len() <= 3);
}
