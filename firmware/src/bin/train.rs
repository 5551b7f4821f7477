//! The on-device demo: train on the 1-D target, measure it, exit with a verdict.
//!
//! `main` knows nothing about what is trained. It drives a [`demo::Demo`] through four calls:
//!
//! - [`demo::Demo::new`] builds the data and the model in buffers it owns (no heap);
//! - [`demo::Demo::train`] runs some full-batch steps and returns the last loss (measured);
//! - [`demo::Demo::observe`] evaluates the model for the log (measured separately, like the
//!   spectral tracker it stands in for);
//! - [`demo::Demo::verdict`] judges the finished run; its fingerprint lets the host check the
//!   firmware's numbers bit for bit.
//!
//! It logs `step=.. loss=..` every [`demo::OBSERVE_EVERY`] steps, then instructions, stack and
//! a `verdict: PASS` / `verdict: FAIL` line, and exits with [`firmware::EXIT_PASS`] or
//! [`firmware::EXIT_FAIL`].
//!
//! The `Demo` here is a placeholder that proves the pipeline: a straight line fitted by gradient
//! descent to the demo target, judged against its closed-form least-squares fit. The training
//! demo replaces the `demo` module with the core's 1-64-1 tanh network and spectral tracker.
#![cfg_attr(target_os = "none", no_std, no_main)]

/// Host stub: the program only exists for Cortex-M targets.
#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
mod demo {
    use core::f32::consts::PI;

    /// Points of the training and analysis grid on [−π, π), right end excluded.
    pub const GRID_POINTS: usize = 64;
    /// Full-batch training steps of the run.
    pub const STEPS: u32 = 500;
    /// Steps between observations (and `step=` log lines).
    pub const OBSERVE_EVERY: u32 = 50;
    /// Gradient descent step size: small enough that the log shows the loss falling (the slow
    /// direction shrinks by 1 − 2·0.02 per step), far below the stability bound 2 / 6.6.
    const LEARNING_RATE: f32 = 0.02;
    /// f32 rounding allowed in the comparisons with the closed-form fit.
    const TOLERANCE: f32 = 1e-5;

    /// The demo target, sin x + sin 3x + sin 5x (EXPERIMENTS.md, section 5).
    fn target(x: f32) -> f32 {
        libm::sinf(x) + libm::sinf(3.0 * x) + libm::sinf(5.0 * x)
    }

    /// What one observation shows in the log: here the loss above the optimum.
    pub struct Observation {
        /// Current loss minus the least-squares optimum.
        pub gap: f32,
    }

    impl defmt::Format for Observation {
        fn format(&self, f: defmt::Formatter) {
            defmt::write!(f, "gap={=f32}", self.gap);
        }
    }

    /// How the run ended.
    pub struct Verdict {
        /// The run met every criterion.
        pub passed: bool,
        /// Why, in a few words, for the verdict line.
        pub summary: &'static str,
        /// The loss after the last step.
        pub final_loss: f32,
        /// FNV-1a hash of the parameters' bit patterns: equal on host and device when the
        /// arithmetic is bit-identical.
        pub fingerprint: u32,
    }

    /// Placeholder model h(x) = w·x + b, fitted to the target on the grid by gradient descent.
    pub struct Demo {
        xs: [f32; GRID_POINTS],
        ys: [f32; GRID_POINTS],
        w: f32,
        b: f32,
        loss: f32,
        /// The loss of the closed-form least-squares line.
        optimum: f32,
        /// The gap to the optimum grew between two observations.
        gap_grew: bool,
        last_gap: f32,
    }

    impl Demo {
        /// The grid, the target values, a zero-initialized model and the closed-form optimum.
        pub fn new() -> Self {
            let mut xs = [0.0; GRID_POINTS];
            let mut ys = [0.0; GRID_POINTS];
            for (j, (x, y)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
                *x = -PI + 2.0 * PI * j as f32 / GRID_POINTS as f32;
                *y = target(*x);
            }
            let optimum = least_squares_loss(&xs, &ys);
            Self {
                xs,
                ys,
                w: 0.0,
                b: 0.0,
                loss: f32::INFINITY,
                optimum,
                gap_grew: false,
                last_gap: f32::INFINITY,
            }
        }

        /// Runs `steps` full-batch gradient steps on the mean squared error; returns the loss
        /// of the last one (before its update).
        pub fn train(&mut self, steps: u32) -> f32 {
            for _ in 0..steps {
                self.loss = self.step();
            }
            self.loss
        }

        fn step(&mut self) -> f32 {
            let (mut loss, mut grad_w, mut grad_b) = (0.0f32, 0.0f32, 0.0f32);
            for (&x, &y) in self.xs.iter().zip(&self.ys) {
                let residual = self.w * x + self.b - y;
                loss += residual * residual;
                grad_w += residual * x;
                grad_b += residual;
            }
            let n = GRID_POINTS as f32;
            self.w -= LEARNING_RATE * 2.0 * grad_w / n;
            self.b -= LEARNING_RATE * 2.0 * grad_b / n;
            loss / n
        }

        /// The gap between the current loss and the optimum.
        pub fn observe(&mut self) -> Observation {
            let gap = self.loss - self.optimum;
            self.gap_grew |= gap > self.last_gap + TOLERANCE;
            self.last_gap = gap;
            Observation { gap }
        }

        /// Passes when the gap never grew and the loss ended at the optimum.
        pub fn verdict(&self) -> Verdict {
            let (passed, summary) = if !self.loss.is_finite() {
                (false, "loss is not finite")
            } else if self.gap_grew {
                (false, "loss moved away from the optimum")
            } else if self.loss > self.optimum + TOLERANCE {
                (false, "loss did not reach the least-squares optimum")
            } else {
                (true, "placeholder fit reached the least-squares optimum")
            };
            Verdict {
                passed,
                summary,
                final_loss: self.loss,
                fingerprint: fnv1a(&[self.w.to_bits(), self.b.to_bits()]),
            }
        }
    }

    /// Mean squared error of the closed-form least-squares line through `(xs, ys)`.
    fn least_squares_loss(xs: &[f32], ys: &[f32]) -> f32 {
        let n = xs.len() as f32;
        let mean = |v: &[f32]| v.iter().sum::<f32>() / n;
        let (mx, my) = (mean(xs), mean(ys));
        let (mut sxy, mut sxx) = (0.0f32, 0.0f32);
        for (&x, &y) in xs.iter().zip(ys) {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
        }
        let w = sxy / sxx;
        let b = my - w * mx;
        xs.iter()
            .zip(ys)
            .map(|(&x, &y)| (w * x + b - y) * (w * x + b - y))
            .sum::<f32>()
            / n
    }

    /// FNV-1a over the little-endian bytes of `words`.
    fn fnv1a(words: &[u32]) -> u32 {
        let mut hash = 0x811c_9dc5u32;
        for byte in words.iter().flat_map(|word| word.to_le_bytes()) {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
        hash
    }
}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use firmware::measure::{self, InstructionCounter, UNIT};

    // `take` only fails on a second call; there is none.
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| unreachable!());
    let mut counter = InstructionCounter::new(peripherals.SYST);
    defmt::info!(
        "fprinciple firmware: board={=str} grid={=usize} steps={=u32} counting {=str} (resolution {=u64})",
        env!("FIRMWARE_BOARD"),
        demo::GRID_POINTS,
        demo::STEPS,
        UNIT,
        counter.resolution()
    );

    let (mut model, setup) = counter.measure(demo::Demo::new);
    let (mut train, mut observe) = (0u64, 0u64);
    let mut step = 0;
    while step < demo::STEPS {
        let steps = demo::OBSERVE_EVERY.min(demo::STEPS - step);
        let (loss, spent) = counter.measure(|| model.train(steps));
        train += spent;
        step += steps;
        let (observation, spent) = counter.measure(|| model.observe());
        observe += spent;
        defmt::info!("step={=u32} loss={=f32} {}", step, loss, observation);
    }
    let verdict = model.verdict();

    defmt::info!(
        "{=str}: setup={=u64} train={=u64} per_step={=u64} observe={=u64}",
        UNIT,
        setup,
        train,
        train / u64::from(demo::STEPS),
        observe
    );
    defmt::info!(
        "stack: peak={=u32} of {=u32} bytes",
        measure::peak_stack_bytes(),
        measure::stack_capacity_bytes()
    );

    let code = if verdict.passed {
        firmware::EXIT_PASS
    } else {
        firmware::EXIT_FAIL
    };
    defmt::info!(
        "verdict: {=str} {=str} final_loss={=f32} fingerprint={=u32:#010x}",
        if verdict.passed { "PASS" } else { "FAIL" },
        verdict.summary,
        verdict.final_loss,
        verdict.fingerprint
    );
    firmware::exit(code)
}
