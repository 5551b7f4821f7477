//! Backpropagation against finite differences, for random networks and inputs, every
//! activation and loss.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use fprinciple_core::activation::Activation;
use fprinciple_core::dense::{self, Arithmetic, DenseShape};
use fprinciple_core::init::Init;
use fprinciple_core::loss::Loss;
use fprinciple_core::mlp::Architecture;
use fprinciple_core::rng::Rng;
use fprinciple_core::train::{compute_gradients, workspace_count, Samples};
use proptest::prelude::*;

/// The loss at `parameters`, through the same code the trainer uses.
fn loss_at(arch: &Architecture<'_>, loss: Loss, parameters: &[f32], samples: Samples<'_>) -> f64 {
    let mut workspace = vec![0.0; workspace_count(arch.widths(), 16)];
    let outputs = arch
        .forward(parameters, samples.inputs, &mut workspace)
        .unwrap();
    f64::from(
        loss.value(outputs, samples.targets, arch.output_width())
            .unwrap(),
    )
}

/// Checks every parameter's gradient against a central difference with step `h`.
fn check_gradients(
    arch: &Architecture<'_>,
    loss: Loss,
    seed: u64,
    batch: usize,
) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let mut parameters = vec![0.0; arch.parameter_count()];
    Init::LeCun
        .initialize(arch, &mut parameters, &mut rng)
        .unwrap();
    let inputs: Vec<f32> = (0..batch * arch.input_width())
        .map(|_| rng.normal_f32(1.0))
        .collect();
    let targets: Vec<f32> = match loss {
        Loss::MeanSquaredError => (0..batch * arch.output_width())
            .map(|_| rng.normal_f32(1.0))
            .collect(),
        _ => (0..batch)
            .flat_map(|_| {
                let label = rng.below(arch.output_width() as u32) as usize;
                (0..arch.output_width()).map(move |j| if j == label { 1.0 } else { 0.0 })
            })
            .collect(),
    };
    let samples = Samples {
        inputs: &inputs,
        targets: &targets,
    };
    let mut gradients = vec![0.0; parameters.len()];
    let mut workspace = vec![0.0; workspace_count(arch.widths(), batch)];
    compute_gradients(
        arch,
        loss,
        &parameters,
        samples,
        batch,
        &mut gradients,
        &mut workspace,
    )
    .unwrap();

    let h = 1e-2f32;
    for i in 0..parameters.len() {
        let original = parameters[i];
        parameters[i] = original + h;
        let up = loss_at(arch, loss, &parameters, samples);
        parameters[i] = original - h;
        let down = loss_at(arch, loss, &parameters, samples);
        parameters[i] = original;
        let numeric = (up - down) / (2.0 * f64::from(h));
        let analytic = f64::from(gradients[i]);
        let tolerance = 2e-3 + 2e-2 * analytic.abs().max(numeric.abs());
        prop_assert!(
            (numeric - analytic).abs() <= tolerance,
            "parameter {i}: backprop {analytic}, finite difference {numeric}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn tanh_networks_any_depth(
        widths in prop::collection::vec(1usize..6, 2..6),
        seed in any::<u64>(),
        batch in 1usize..5,
        cross_entropy in any::<bool>(),
        fused in any::<bool>(),
    ) {
        let (loss, output) = if cross_entropy && *widths.last().unwrap() > 1 {
            (Loss::SoftmaxCrossEntropy, Activation::Identity)
        } else {
            (Loss::MeanSquaredError, Activation::Tanh)
        };
        let arithmetic = if fused { Arithmetic::Fused } else { Arithmetic::Separate };
        let arch = Architecture::new(&widths, Activation::Tanh, output)
            .unwrap()
            .with_arithmetic(arithmetic);
        check_gradients(&arch, loss, seed, batch)?;
    }

    #[test]
    fn relu_one_hidden_layer(inputs in 1usize..4, hidden in 1usize..8, outputs in 1usize..4, seed in any::<u64>()) {
        let widths = [inputs, hidden, outputs];
        let arch = Architecture::new(&widths, Activation::Relu, Activation::Identity).unwrap();
        // Skip cases where a finite-difference step could cross ReLU's kink.
        let mut rng = Rng::new(seed);
        let mut parameters = vec![0.0; arch.parameter_count()];
        Init::LeCun.initialize(&arch, &mut parameters, &mut rng).unwrap();
        let x: Vec<f32> = (0..2 * inputs).map(|_| rng.normal_f32(1.0)).collect();
        let (w, rest) = parameters.split_at(inputs * hidden);
        let mut z = vec![0.0; 2 * hidden];
        dense::forward(DenseShape { batch: 2, inputs, outputs: hidden }, Arithmetic::Separate, &x, w, &rest[..hidden], &mut z).unwrap();
        prop_assume!(z.iter().all(|v| v.abs() > 0.1));
        check_gradients(&arch, Loss::MeanSquaredError, seed, 2)?;
    }
}
