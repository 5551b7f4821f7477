//! The same seed gives bit-identical parameters after training.
#![allow(clippy::unwrap_used)]

use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::{Adam, Sgd};
use fprinciple_core::rng::Rng;
use fprinciple_core::train::{workspace_count, BatchBuffers, Samples, Trainer};

const WIDTHS: [usize; 4] = [1, 40, 20, 1];

fn train(seed: u64, adam: bool) -> Vec<f32> {
    let arch = Architecture::tanh(&WIDTHS).unwrap();
    let p = arch.parameter_count();
    let mut rng = Rng::new(seed);
    let mut parameters = vec![0.0; p];
    Init::Uniform(LayerInit::normal(0.5))
        .initialize(&arch, &mut parameters, &mut rng)
        .unwrap();
    let x: Vec<f32> = (0..50).map(|i| -3.0 + 0.12 * i as f32).collect();
    let y: Vec<f32> = x.iter().map(|&v| libm::sinf(3.0 * v)).collect();
    let samples = Samples {
        inputs: &x,
        targets: &y,
    };
    let workspace = vec![0.0; workspace_count(&WIDTHS, 50)];
    if adam {
        let mut trainer = Trainer::new(
            Loss::MeanSquaredError,
            Adam::new(1e-3, vec![0.0; p], vec![0.0; p]).unwrap(),
            vec![0.0; p],
            workspace,
        );
        for _ in 0..200 {
            trainer.step(&arch, &mut parameters, samples).unwrap();
        }
    } else {
        let mut trainer = Trainer::new(
            Loss::MeanSquaredError,
            Sgd::new(0.05, 0.9, vec![0.0; p]).unwrap(),
            vec![0.0; p],
            workspace,
        );
        let (mut order, mut bx, mut by) = (vec![0; 50], vec![0.0; 10], vec![0.0; 10]);
        for _ in 0..20 {
            let buffers = BatchBuffers {
                order: &mut order,
                inputs: &mut bx,
                targets: &mut by,
            };
            trainer
                .epoch(&arch, &mut parameters, samples, 10, buffers, &mut rng)
                .unwrap();
        }
    }
    parameters
}

#[test]
fn same_seed_same_bits() {
    for adam in [true, false] {
        let a = train(42, adam);
        let b = train(42, adam);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        let c = train(43, adam);
        assert!(a.iter().zip(&c).any(|(x, y)| x.to_bits() != y.to_bits()));
    }
}
