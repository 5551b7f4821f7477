//! Shared set-ups of the benchmarks in `benches/`: the paper's 1-D network with the official
//! preset's points, and an MNIST-sized network with one batch. Every benchmark builds its
//! inputs here, so they all measure the same work.

pub mod reference;

use fprinciple_core::dense::Arithmetic;
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::mlp::Architecture;
use fprinciple_core::rng::Rng;

/// The paper's network, 1-200-200-200-100-1 (101,001 parameters).
pub const PAPER: [usize; 6] = [1, 200, 200, 200, 100, 1];
/// The MNIST network, 784-400-200-10 (395,010 parameters).
pub const MNIST: [usize; 4] = [784, 400, 200, 10];
/// Samples in an MNIST mini-batch.
pub const MNIST_BATCH: usize = 100;

/// `n` evenly spaced points from `a` to `b`, including `b` if `both_ends`.
pub fn grid(n: usize, a: f32, b: f32, both_ends: bool) -> Vec<f32> {
    let d = if both_ends { n - 1 } else { n };
    (0..n).map(|j| a + j as f32 * (b - a) / d as f32).collect()
}

/// The official preset's network, initialized, with its 61 training points (x, y) and its
/// 64-point analysis grid.
pub struct PaperSetup {
    /// 1-200-200-200-100-1 tanh.
    pub arch: Architecture<'static>,
    /// Every weight and bias ~ N(0, 0.05²), seed 0.
    pub params: Vec<f32>,
    /// 61 points on [−10, 10], both ends.
    pub x: Vec<f32>,
    /// sin x + sin 4x at `x`.
    pub y: Vec<f32>,
    /// 64 points on [−10, 10).
    pub analysis: Vec<f32>,
}

/// [`PaperSetup`] with products rounded as `arithmetic` says.
pub fn paper_setup(arithmetic: Arithmetic) -> PaperSetup {
    let arch = Architecture::tanh(&PAPER)
        .expect("the paper's widths are valid")
        .with_arithmetic(arithmetic);
    let mut params = vec![0.0f32; arch.parameter_count()];
    Init::Uniform(LayerInit::normal(0.05))
        .initialize(&arch, &mut params, &mut Rng::new(0))
        .expect("the parameter buffer fits the network");
    let x = grid(61, -10.0, 10.0, true);
    let y = x.iter().map(|&x| x.sin() + (4.0 * x).sin()).collect();
    let analysis = grid(64, -10.0, 10.0, false);
    PaperSetup {
        arch,
        params,
        x,
        y,
        analysis,
    }
}

/// The MNIST network (LeCun initialization, seed 1) and one batch of random pixels in [0, 1)
/// with one-hot labels: the cost of a step does not depend on the values.
pub struct MnistSetup {
    /// 784-400-200-10 tanh.
    pub arch: Architecture<'static>,
    /// The parameters.
    pub params: Vec<f32>,
    /// `MNIST_BATCH × 784` pixels.
    pub x: Vec<f32>,
    /// `MNIST_BATCH × 10` one-hot targets.
    pub y: Vec<f32>,
}

/// [`MnistSetup`] with products rounded as `arithmetic` says.
pub fn mnist_setup(arithmetic: Arithmetic) -> MnistSetup {
    let arch = Architecture::tanh(&MNIST)
        .expect("the MNIST widths are valid")
        .with_arithmetic(arithmetic);
    let mut rng = Rng::new(1);
    let mut params = vec![0.0f32; arch.parameter_count()];
    Init::LeCun
        .initialize(&arch, &mut params, &mut rng)
        .expect("the parameter buffer fits the network");
    let x: Vec<f32> = (0..MNIST_BATCH * 784)
        .map(|_| rng.uniform() as f32)
        .collect();
    let mut y = vec![0.0f32; MNIST_BATCH * 10];
    for row in y.chunks_exact_mut(10) {
        if let Some(one) = row.get_mut(rng.below(10) as usize) {
            *one = 1.0;
        }
    }
    MnistSetup { arch, params, x, y }
}
