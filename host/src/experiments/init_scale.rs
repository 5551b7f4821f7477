//! Experiment 2: initialization scale in 1-D — a small σ keeps the learned function
//! low-frequency, so it generalizes; a large σ fits the training points with a function that
//! oscillates between them.

use crate::data::target::{uniform_grid_f32, Endpoints, Target};
use crate::experiments::divergence;
use crate::experiments::freq_order::{self, magnitude_spectrum, FreqError};
use crate::experiments::memory::{self, Estimate};
use crate::experiments::{trend, trend_text};
use crate::network::InitScale;
use crate::network::{trainer, training_threads, Network, OptimizerConfig};
use crate::plot;
use crate::record::{FigureRef, RunDir, RunStatus};
use crate::report::{short, widen, BoxError, Outcome};
use fprinciple_core::activation::Activation;
use fprinciple_core::init::{Init, LayerInit};
use fprinciple_core::loss::Loss;
use fprinciple_core::rng::Rng;
use fprinciple_core::train::Samples;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::time::Instant;

/// Every setting of the σ sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitConfig {
    /// Name of the preset the settings started from.
    pub preset: String,
    /// The target, as text.
    pub target: String,
    /// The interval `[a, b]`.
    pub interval: [f64; 2],
    /// Training points, evenly spaced with both ends.
    pub train_points: usize,
    /// Test points, evenly spaced with both ends.
    pub test_points: usize,
    /// Network widths, input first.
    pub widths: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// The σ values swept: hidden weights and biases ~ N(0, σ²).
    pub sigmas: Vec<f32>,
    /// σ of the output weights; `None`: the same σ as the hidden layers.
    pub output_weight_std: Option<f32>,
    /// σ of the output bias; `None`: the same σ as the hidden layers.
    pub output_bias_std: Option<f32>,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerConfig,
    /// Training steps per run.
    pub steps: usize,
    /// Seeds; every σ is trained once per seed.
    pub seeds: Vec<u64>,
    /// Points of the grid on `[a, b)` on which the high-frequency share is measured.
    pub analysis_points: usize,
}

impl InitConfig {
    /// One hidden layer of 500, sin x + sin 3x, 21 training points on [−π, π], output weights
    /// ~ N(0, 0.1²) and output bias 0, Adam 1e-3, 10,000 steps, σ ∈ {1, 3, 10, 30}, seeds 0, 1.
    pub fn shallow() -> Self {
        InitConfig {
            preset: "shallow".into(),
            target: "sin(x)+sin(3x)".into(),
            interval: [-PI, PI],
            train_points: 21,
            test_points: 1001,
            widths: vec![1, 500, 1],
            activation: Activation::Tanh,
            sigmas: vec![1.0, 3.0, 10.0, 30.0],
            output_weight_std: Some(0.1),
            output_bias_std: Some(0.0),
            optimizer: OptimizerConfig::Adam {
                learning_rate: 1e-3,
            },
            steps: 10_000,
            seeds: vec![0, 1],
            analysis_points: 1024,
        }
    }

    /// The deep variant: 1-200-200-200-100-1, every weight and bias ~ N(0, σ²) for
    /// σ ∈ {0.05, 0.1, 0.2, 0.4}, Adam 1e-4, 4,000 steps.
    pub fn deep() -> Self {
        InitConfig {
            preset: "deep".into(),
            widths: vec![1, 200, 200, 200, 100, 1],
            sigmas: vec![0.05, 0.1, 0.2, 0.4],
            output_weight_std: None,
            output_bias_std: None,
            optimizer: OptimizerConfig::Adam {
                learning_rate: 1e-4,
            },
            steps: 4_000,
            ..Self::shallow()
        }
    }

    /// A shortened sweep that still shows the effect (one seed, fewer steps).
    pub fn quick(mut self) -> Self {
        self.steps = (self.steps / 2).max(1);
        self.seeds.truncate(1);
        self
    }

    /// Checks every setting before training, with a message that names the flag.
    pub fn validate(&self) -> Result<(), FreqError> {
        let bad = |m: String| Err(FreqError::Setting(m));
        let target = Target::preset_or_parse(&self.target)
            .map_err(|e| FreqError::Setting(format!("--target: {e}")))?;
        freq_order::check_interval(
            self.interval,
            &[
                ("--train-points", self.train_points),
                ("--test-points", self.test_points),
                ("the analysis grid", self.analysis_points),
            ],
        )?;
        // The high-frequency share is measured on the analysis grid: it must resolve the target.
        freq_order::check_resolved(
            &target,
            &self.target,
            self.interval,
            self.analysis_points,
            None,
        )?;
        crate::experiments::freq_order::validate_widths(&self.widths, 1, 1)?;
        crate::experiments::freq_order::validate_optimizer(&self.optimizer)?;
        if self.sigmas.is_empty() {
            return bad("--sigmas: need at least one σ".into());
        }
        for &s in &self.sigmas {
            crate::experiments::freq_order::validate_init(&InitScale::Normal(s), &self.widths)
                .map_err(|_| {
                    FreqError::Setting(format!("--sigmas: every σ must be finite and > 0, got {s}"))
                })?;
        }
        if let Err(why) = super::check_increasing("--sigmas", &self.sigmas) {
            return bad(why);
        }
        if self.seeds.is_empty() {
            return bad("--seeds: need at least one seed".into());
        }
        if self.train_points < 2 || self.test_points < 2 {
            return bad(format!(
                "--train-points / --test-points: need at least 2 each, got {} and {}",
                self.train_points, self.test_points
            ));
        }
        if self.steps == 0 {
            return bad("--steps: need at least 1, got 0".into());
        }
        Ok(())
    }

    /// The memory the sweep needs at its peak (see [`memory`]): one network at a time, the
    /// largest set of points it evaluates at once, and what every run keeps.
    pub fn memory_estimate(&self) -> Estimate {
        let runs = (self.sigmas.len() as f64) * (self.seeds.len() as f64);
        let rows = self
            .train_points
            .max(self.test_points)
            .max(self.analysis_points);
        let points = self.train_points as f64 + self.test_points as f64;
        let mut estimate = Estimate::new();
        estimate
            .network(&self.widths, &self.optimizer, 0, "--widths")
            .rows(
                &self.widths,
                rows,
                training_threads(),
                "--train-points, --test-points and --widths",
            )
            .add(
                "the grids and each run's output on the test points",
                "--train-points, --test-points, --sigmas and --seeds",
                (4.0 * points + runs * self.test_points as f64) * memory::F32,
            )
            .add(
                "the loss records of every run",
                "--steps, --sigmas and --seeds",
                // The last 5% of the losses, and one point of the curve per 100 steps.
                (self.steps as f64 / 20.0 + self.steps as f64 / 100.0 * 4.0) * memory::F32,
            );
        estimate
    }

    fn layers(&self, sigma: f32) -> Vec<LayerInit> {
        let n = self.widths.len().saturating_sub(1);
        (0..n)
            .map(|i| {
                if i + 1 == n {
                    LayerInit {
                        weight_std: self.output_weight_std.unwrap_or(sigma),
                        bias_std: self.output_bias_std.unwrap_or(sigma),
                    }
                } else {
                    LayerInit::normal(sigma)
                }
            })
            .collect()
    }
}

/// One trained network of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitRun {
    /// σ of the hidden layers.
    pub sigma: f32,
    /// Seed.
    pub seed: u64,
    /// Final training MSE.
    pub train_mse: f32,
    /// Median training MSE over the last 5% of steps: Adam near zero loss has short spikes
    /// (its step no longer shrinks with the gradient), and one may fall on the last step.
    pub settled_train_mse: f32,
    /// Final test MSE.
    pub test_mse: f32,
    /// Share of the learned function's spectral energy (DC excluded) above the target's highest
    /// frequency, on the analysis grid.
    pub high_frequency_share: f64,
    /// The learned function on the test grid.
    pub test_output: Vec<f32>,
    /// Training MSE every 100 steps.
    pub loss_curve: Vec<(usize, f32)>,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Everything the sweep measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitResult {
    /// The settings.
    pub config: InitConfig,
    /// Training points.
    pub train_x: Vec<f32>,
    /// Target at the training points.
    pub train_y: Vec<f32>,
    /// Test grid.
    pub test_x: Vec<f32>,
    /// Target on the test grid.
    pub test_y: Vec<f32>,
    /// One entry per (σ, seed), σ-major.
    pub runs: Vec<InitRun>,
    /// Whether the runs were cut short (Ctrl-C).
    pub interrupted: bool,
}

impl InitResult {
    /// Mean test MSE over seeds, per σ, in the order of the sweep.
    pub fn mean_test_mse(&self) -> Vec<(f32, f64)> {
        self.config
            .sigmas
            .iter()
            .filter_map(|&s| {
                let runs: Vec<_> = self.runs.iter().filter(|r| r.sigma == s).collect();
                (!runs.is_empty()).then(|| {
                    let mean =
                        runs.iter().map(|r| f64::from(r.test_mse)).sum::<f64>() / runs.len() as f64;
                    (s, mean)
                })
            })
            .collect()
    }
}

/// Progress of the sweep: which run, which step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Index of the current run.
    pub run: usize,
    /// Number of runs.
    pub runs: usize,
    /// Step within the run.
    pub step: usize,
    /// Steps per run.
    pub steps: usize,
}

/// Runs the sweep. `stop` is polled every step; a stopped sweep returns what it finished.
pub fn run(
    config: &InitConfig,
    progress: &mut dyn FnMut(Progress),
    stop: &dyn Fn() -> bool,
) -> Result<InitResult, FreqError> {
    let target = Target::preset_or_parse(&config.target)
        .map_err(|e| FreqError::Setting(format!("--target: {e}")))?;
    let [a, b] = config.interval;
    let train_x = uniform_grid_f32(a, b, config.train_points, Endpoints::Include);
    let train_y = target.eval_grid(&train_x);
    let test_x = uniform_grid_f32(a, b, config.test_points, Endpoints::Include);
    let test_y = target.eval_grid(&test_x);
    let analysis_x = uniform_grid_f32(a, b, config.analysis_points, Endpoints::Exclude);
    // Bins above the target's highest frequency: the target's own DFT shows where that is.
    let target_spectrum = magnitude_spectrum(&target.eval_grid(&analysis_x))?;
    let max_target = target_spectrum.iter().cloned().fold(0.0f32, f32::max);
    let highest_bin = target_spectrum
        .iter()
        .rposition(|&m| m > 1e-3 * max_target)
        .unwrap_or(0);

    let total = config.sigmas.len() * config.seeds.len();
    let mut runs = Vec::with_capacity(total);
    let mut interrupted = false;
    'sweep: for &sigma in &config.sigmas {
        for &seed in &config.seeds {
            let layers = config.layers(sigma);
            let mut rng = Rng::new(seed);
            let mut net = Network::new(
                &config.widths,
                config.activation,
                Activation::Identity,
                Init::PerLayer(&layers),
                &mut rng,
            )?;
            let mut trainer = trainer(&net, Loss::MeanSquaredError, &config.optimizer)?;
            let samples = Samples {
                inputs: &train_x,
                targets: &train_y,
            };
            let started = Instant::now();
            let mut loss_curve = Vec::new();
            let tail_start = config.steps - config.steps / 20;
            let mut tail_losses = Vec::with_capacity(config.steps / 20 + 1);
            let (arch, params) = net.split_mut();
            for step in 0..config.steps {
                let loss = trainer.step(&arch, params, samples).map_err(|e| match e {
                    fprinciple_core::Error::NonFiniteLoss => FreqError::Diverged(format!(
                        "σ = {sigma}, seed {seed}: {}",
                        divergence(
                            &format!("at step {step}"),
                            &config.optimizer,
                            "σ (--sigmas)"
                        )
                    )),
                    e => FreqError::Core(e),
                })?;
                if step >= tail_start {
                    tail_losses.push(loss);
                }
                if step % 100 == 0 {
                    loss_curve.push((step, loss));
                    progress(Progress {
                        run: runs.len(),
                        runs: total,
                        step,
                        steps: config.steps,
                    });
                }
                if stop() {
                    interrupted = true;
                    break 'sweep;
                }
            }
            let mut train_out = vec![0.0; train_x.len()];
            let train_mse = trainer.evaluate(&arch, params, samples, &mut train_out)?;
            tail_losses.push(train_mse);
            tail_losses.sort_by(f32::total_cmp);
            let settled_train_mse = tail_losses[tail_losses.len() / 2];
            let mut test_output = vec![0.0; test_x.len()];
            let test = Samples {
                inputs: &test_x,
                targets: &test_y,
            };
            let test_mse = trainer.evaluate(&arch, params, test, &mut test_output)?;
            let mut analysis_out = vec![0.0; analysis_x.len()];
            trainer.predict(&arch, params, &analysis_x, &mut analysis_out)?;
            let spectrum = magnitude_spectrum(&analysis_out)?;
            let energy = |range: &[f32]| {
                range
                    .iter()
                    .map(|&m| f64::from(m) * f64::from(m))
                    .sum::<f64>()
            };
            let all = energy(spectrum.get(1..).unwrap_or(&[]));
            let high = energy(spectrum.get(highest_bin + 1..).unwrap_or(&[]));
            runs.push(InitRun {
                sigma,
                seed,
                train_mse,
                settled_train_mse,
                test_mse,
                high_frequency_share: if all > 0.0 { high / all } else { 0.0 },
                test_output,
                loss_curve,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    Ok(InitResult {
        config: config.clone(),
        train_x,
        train_y,
        test_x,
        test_y,
        runs,
        interrupted,
    })
}

/// Writes `metrics.csv` (one row per σ and seed) and the figures of the sweep into `dir`.
pub fn save(result: &InitResult, dir: &RunDir) -> Result<Outcome, BoxError> {
    let mut csv = dir.csv(
        "metrics.csv",
        &[
            "sigma",
            "seed",
            "train_mse",
            "settled_train_mse",
            "test_mse",
            "high_frequency_share",
            "seconds",
        ],
    )?;
    for r in &result.runs {
        csv.push_numbers(&[
            f64::from(r.sigma),
            r.seed as f64,
            f64::from(r.train_mse),
            f64::from(r.settled_train_mse),
            f64::from(r.test_mse),
            r.high_frequency_share,
            r.seconds,
        ])?;
    }
    csv.finish()?;

    let mut figures = Vec::new();
    let x: Vec<f64> = widen(&result.test_x);
    let target: Vec<f64> = widen(&result.test_y);
    let first_seed = result.config.seeds.first().copied().unwrap_or(0);
    let shown: Vec<&InitRun> = result
        .runs
        .iter()
        .filter(|r| r.seed == first_seed)
        .collect();
    let outputs: Vec<Vec<f64>> = shown.iter().map(|r| widen(&r.test_output)).collect();
    let captions: Vec<String> = shown
        .iter()
        .map(|r| {
            format!(
                "σ = {} (test MSE {})",
                r.sigma,
                short(f64::from(r.test_mse))
            )
        })
        .collect();
    let panels: Vec<plot::Snapshot<'_>> = captions
        .iter()
        .zip(&outputs)
        .map(|(c, o)| plot::Snapshot {
            caption: c,
            output: o,
        })
        .collect();
    let train_x: Vec<f64> = widen(&result.train_x);
    let train_y: Vec<f64> = widen(&result.train_y);
    if !panels.is_empty() {
        plot::function_snapshots(
            &dir.file("learned_functions"),
            &plot::Snapshots {
                title: "Learned function for each initialization scale σ",
                x_label: "x",
                y_label: "y",
                x: &x,
                target: &target,
                panels: &panels,
                train_x: &train_x,
                train_y: &train_y,
            },
        )?;
        figures.push(FigureRef::new(
            dir.file("learned_functions.png"),
            format!(
                "Network output (blue) over the target (grey) with the {} training points, \
                 seed {first_seed}: every σ fits the points; large σ oscillates between them.",
                result.train_x.len()
            ),
        ));
    }

    // Per seed: name, σ values, test MSEs, high-frequency shares.
    type SeedCurves = (String, Vec<f64>, Vec<f64>, Vec<f64>);
    let mut per_seed: Vec<SeedCurves> = Vec::new();
    for &seed in &result.config.seeds {
        let runs: Vec<&InitRun> = result.runs.iter().filter(|r| r.seed == seed).collect();
        if runs.is_empty() {
            continue;
        }
        per_seed.push((
            format!("seed {seed}"),
            runs.iter().map(|r| f64::from(r.sigma)).collect(),
            runs.iter().map(|r| f64::from(r.test_mse)).collect(),
            runs.iter().map(|r| r.high_frequency_share).collect(),
        ));
    }
    let mse_series: Vec<plot::Series<'_>> = per_seed
        .iter()
        .map(|(n, s, m, _)| plot::Series::new(n, s, m))
        .collect();
    let share_series: Vec<plot::Series<'_>> = per_seed
        .iter()
        .map(|(n, s, _, h)| plot::Series::new(n, s, h))
        .collect();
    if !mse_series.is_empty() {
        plot::line_chart(
            &dir.file("test_mse_vs_sigma"),
            &plot::LineChart::new("Test MSE against σ", "σ", "test MSE", &mse_series)
                .log_x(true)
                .log_y(true)
                .markers(true),
        )?;
        figures.push(FigureRef::new(
            dir.file("test_mse_vs_sigma.png"),
            "Test MSE on the dense test grid against the initialization scale σ.",
        ));
        plot::line_chart(
            &dir.file("high_frequency_share"),
            &plot::LineChart::new(
                "Spectral energy above the target's highest frequency",
                "σ",
                "share of energy",
                &share_series,
            )
            .log_x(true)
            .log_y(true)
            .markers(true),
        )?;
        figures.push(FigureRef::new(
            dir.file("high_frequency_share.png"),
            "Share of the learned function's spectral energy (DC excluded) above the target's \
             highest frequency: large σ leaves high frequencies in the learned function.",
        ));
    }

    let means = result.mean_test_mse();
    // Only the σ whose every seed finished count towards the trend (an interrupted sweep
    // leaves the last σ with fewer seeds).
    let complete: Vec<f64> = means
        .iter()
        .filter(|(sigma, _)| {
            result.runs.iter().filter(|r| r.sigma == *sigma).count() == result.config.seeds.len()
        })
        .map(|m| m.1)
        .collect();
    let increasing = trend(&complete, |a, b| b > a);
    let mut lines = vec![
        ("target".to_string(), result.config.target.clone()),
        (
            "network".into(),
            format!("{:?}, {} steps", result.config.widths, result.config.steps),
        ),
    ];
    for (sigma, mean) in &means {
        let runs: Vec<&InitRun> = result.runs.iter().filter(|r| r.sigma == *sigma).collect();
        let train = runs
            .iter()
            .map(|r| short(f64::from(r.settled_train_mse)))
            .collect::<Vec<_>>()
            .join(" / ");
        lines.push((
            format!("σ = {sigma}"),
            format!(
                "test MSE {} (mean), settled train MSE {train}",
                short(*mean)
            ),
        ));
    }
    lines.push(("test MSE grows with σ".into(), trend_text(increasing, "σ")));
    let results = serde_json::json!({
        "test_mse_grows_with_sigma": increasing,
        // The σ that have results (fewer than the settings' when interrupted).
        "sigmas": means.iter().map(|m| m.0).collect::<Vec<_>>(),
        "mean_test_mse": means.iter().map(|m| m.1).collect::<Vec<_>>(),
        "runs": result.runs.iter().map(|r| serde_json::json!({
            "sigma": r.sigma, "seed": r.seed, "train_mse": r.train_mse,
            "settled_train_mse": r.settled_train_mse, "test_mse": r.test_mse,
            "high_frequency_share": r.high_frequency_share, "seconds": r.seconds,
        })).collect::<Vec<_>>(),
    });
    Ok(Outcome {
        status: if result.interrupted {
            RunStatus::Interrupted
        } else {
            RunStatus::Completed
        },
        results,
        lines,
        figures,
    })
}
