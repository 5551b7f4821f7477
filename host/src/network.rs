//! Networks sized at run time: heap storage for the core's slice-based networks, and the
//! optimizer chosen on the command line.

use fprinciple_core::activation::Activation;
use fprinciple_core::dense::Arithmetic;
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::mlp::Architecture;
use fprinciple_core::optim::{Adam, Optimizer, Sgd, State, Update};
use fprinciple_core::rng::Rng;
use serde::{Deserialize, Serialize};

use crate::parallel::ParallelTrainer;

/// How the host's networks round their multiply-adds: fused where this build targets FMA
/// units (every x86-64 desktop since 2013 with the workspace's `target-cpu=native`), which is
/// about 1.3 times faster, else separate. Results depend on it, so every run records it
/// ([`crate::record::BuildInfo`]); the firmware's golden check asks for `Separate` explicitly.
pub const HOST_ARITHMETIC: Arithmetic = if cfg!(target_feature = "fma") {
    Arithmetic::Fused
} else {
    Arithmetic::Separate
};

/// A network whose widths come from the command line; the numbers go through the core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Widths, input first.
    pub widths: Vec<usize>,
    /// Activation of the hidden layers.
    pub hidden: Activation,
    /// Activation of the output layer.
    pub output: Activation,
    /// Flat parameters in the core's layout.
    pub parameters: Vec<f32>,
    /// How its multiply-adds are rounded ([`HOST_ARITHMETIC`] unless changed).
    #[serde(default)]
    pub arithmetic: Arithmetic,
}

impl Network {
    /// A network with parameters drawn by `init` from `rng`.
    pub fn new(
        widths: &[usize],
        hidden: Activation,
        output: Activation,
        init: Init<'_>,
        rng: &mut Rng,
    ) -> Result<Self, fprinciple_core::Error> {
        let arch = Architecture::new(widths, hidden, output)?;
        let mut parameters = vec![0.0; arch.parameter_count()];
        init.initialize(&arch, &mut parameters, rng)?;
        Ok(Network {
            widths: widths.to_vec(),
            hidden,
            output,
            parameters,
            arithmetic: HOST_ARITHMETIC,
        })
    }

    /// The borrowed shape and the parameters, for a trainer step.
    pub fn split_mut(&mut self) -> (Architecture<'_>, &mut [f32]) {
        // The widths were validated in `new`; a hand-built invalid network gets an empty
        // architecture error at its first use instead of a panic here.
        let arch = Architecture::new(&self.widths, self.hidden, self.output)
            .unwrap_or_else(|_| fallback_architecture())
            .with_arithmetic(self.arithmetic);
        (arch, &mut self.parameters)
    }

    /// The borrowed shape.
    pub fn architecture(&self) -> Architecture<'_> {
        Architecture::new(&self.widths, self.hidden, self.output)
            .unwrap_or_else(|_| fallback_architecture())
            .with_arithmetic(self.arithmetic)
    }
}

fn fallback_architecture() -> Architecture<'static> {
    // A 1-1 network: any parameter slice of another length is then a length error.
    const ONE: [usize; 2] = [1, 1];
    match Architecture::tanh(&ONE) {
        Ok(arch) => arch,
        Err(_) => unreachable!("[1, 1] is a valid architecture"),
    }
}

/// σ for every layer, in the paper's two ways of stating it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitScale {
    /// Every weight and bias ~ N(0, σ²) (the 1-D and image experiments).
    Normal(f32),
    /// Explicit σ per layer (weights and biases alike), input side first.
    PerLayer(Vec<f32>),
    /// Hidden weights ~ N(0, (gain/√fan_in)²), output weights ~ N(0, 1/fan_in), zero biases
    /// (the MNIST experiment).
    LeCunGain(f32),
}

impl InitScale {
    /// The per-layer initialization for `widths`.
    pub fn layers(&self, widths: &[usize]) -> Vec<LayerInit> {
        let layers = widths.len().saturating_sub(1);
        (0..layers)
            .map(|i| match self {
                InitScale::Normal(s) => LayerInit::normal(*s),
                InitScale::PerLayer(s) => LayerInit::normal(s.get(i).copied().unwrap_or(f32::NAN)),
                InitScale::LeCunGain(g) => {
                    LayerInit::lecun(widths[i], if i + 1 == layers { 1.0 } else { *g })
                }
            })
            .collect()
    }
}

/// Which optimizer, with its settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum OptimizerConfig {
    /// Adam with β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    Adam {
        /// Learning rate.
        learning_rate: f32,
    },
    /// SGD with momentum (momentum 0: plain gradient descent).
    Sgd {
        /// Learning rate.
        learning_rate: f32,
        /// Momentum in [0, 1).
        momentum: f32,
    },
}

/// An optimizer chosen at run time, with heap state.
#[derive(Debug, Clone)]
pub enum AnyOptimizer {
    /// Adam.
    Adam(Adam<Vec<f32>>),
    /// SGD with momentum.
    Sgd(Sgd<Vec<f32>>),
}

impl OptimizerConfig {
    /// The optimizer for `parameters` parameters.
    pub fn build(&self, parameters: usize) -> Result<AnyOptimizer, fprinciple_core::Error> {
        Ok(match *self {
            OptimizerConfig::Adam { learning_rate } => AnyOptimizer::Adam(Adam::new(
                learning_rate,
                vec![0.0; parameters],
                vec![0.0; parameters],
            )?),
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
            } => AnyOptimizer::Sgd(Sgd::new(learning_rate, momentum, vec![0.0; parameters])?),
        })
    }
}

impl Optimizer for AnyOptimizer {
    fn begin_step(&mut self, parameters: usize) -> fprinciple_core::Result<(Update, State<'_>)> {
        match self {
            AnyOptimizer::Adam(o) => o.begin_step(parameters),
            AnyOptimizer::Sgd(o) => o.begin_step(parameters),
        }
    }
    fn learning_rate(&self) -> f32 {
        match self {
            AnyOptimizer::Adam(o) => o.learning_rate(),
            AnyOptimizer::Sgd(o) => o.learning_rate(),
        }
    }
    fn set_learning_rate(&mut self, learning_rate: f32) {
        match self {
            AnyOptimizer::Adam(o) => o.set_learning_rate(learning_rate),
            AnyOptimizer::Sgd(o) => o.set_learning_rate(learning_rate),
        }
    }
}

/// The trainer the host uses: heap buffers, run-time optimizer, and batches large enough to be
/// worth it split across every core ([`ParallelTrainer`]; results depend on the thread count,
/// which every run records in [`crate::record::BuildInfo`]).
pub type HostTrainer = ParallelTrainer<AnyOptimizer>;

/// Threads the host's trainers use: one per available core.
pub fn training_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A trainer for `network` minimizing `loss`; its buffers grow to the largest batch it sees.
pub fn trainer(
    network: &Network,
    loss: fprinciple_core::loss::Loss,
    optimizer: &OptimizerConfig,
) -> Result<HostTrainer, fprinciple_core::Error> {
    Ok(ParallelTrainer::new(
        loss,
        optimizer.build(network.parameters.len())?,
        training_threads(),
    ))
}
