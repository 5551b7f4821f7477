//! The on-device demo: train the 1-32-32-1 tanh network on sin x + sin 3x + sin 5x, watch each
//! frequency converge, measure, and exit with a verdict.
//!
//! Everything about what is trained lives in [`firmware::demo`], which the host runs too (for
//! the golden values). `main` only drives a [`firmware::demo::Demo`] over buffers in `static`s:
//!
//! - [`firmware::demo::Demo::new`] builds the grid, the target, the initial network, Adam and
//!   the spectral tracker (measured as set-up);
//! - [`firmware::demo::Demo::train`] runs [`firmware::demo::OBSERVE_EVERY`] full-batch steps
//!   (measured as training);
//! - [`firmware::demo::Demo::observe`] evaluates the network on the grid and feeds the tracker
//!   (measured apart, as the tracker's cost);
//! - [`firmware::demo::Demo::verdict`] judges the run;
//! - [`firmware::demo::KernelProbe`] then runs each kernel of the widest layer once alone
//!   (measured per multiply-accumulate, apart from the rest of a step).
//!
//! The log shows the memory budget, `step=.. loss=.. dF[k]=..` after every observation, the
//! convergence steps, instruction counts, the kernels alone and peak stack, then a `verdict: PASS` / `verdict:
//! FAIL` line with the final loss and the parameter fingerprint the host checks; the exit code
//! is [`firmware::EXIT_PASS`] or [`firmware::EXIT_FAIL`].
#![cfg_attr(target_os = "none", no_std, no_main)]

/// Host stub: the program only exists for Cortex-M targets.
#[cfg(not(target_os = "none"))]
fn main() {}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    use firmware::demo::{self, Buffers, Demo, Kernel, KernelProbe, Network, RamUse};
    use firmware::measure::{self, InstructionCounter, UNIT};
    use firmware::Singleton;

    /// The network, built at compile time (its widths make it `.data`, ~4.5 KiB).
    static NETWORK: Singleton<Network> = Singleton::new(demo::network());
    /// Gradients, Adam's moments, the workspace and the grid: all zeros, so `.bss`.
    static BUFFERS: Singleton<Buffers> = Singleton::new(Buffers::new());

    // `take` only fails on a second call; there is none.
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| unreachable!());
    let network = NETWORK.take().unwrap_or_else(|| unreachable!());
    let buffers = BUFFERS.take().unwrap_or_else(|| unreachable!());
    let mut counter = InstructionCounter::new(peripherals.SYST);

    defmt::info!(
        "fprinciple firmware: board={=str} network={} grid={=usize} steps={=u32} observe_every={=u32} seed={=u64} sigma={=f32} learning_rate={=f32} counting {=str} (resolution {=u64})",
        env!("FIRMWARE_BOARD"),
        demo::WIDTHS,
        demo::GRID_POINTS,
        demo::STEPS,
        demo::OBSERVE_EVERY,
        demo::SEED,
        demo::INIT_STD,
        demo::LEARNING_RATE,
        UNIT,
        counter.resolution()
    );
    let ram = RamUse::of_demo();
    defmt::info!(
        "ram (bytes): network={=usize} gradients={=usize} optimizer={=usize} activations={=usize} scratch={=usize} loss_gradient={=usize} grid={=usize} statics={=usize} demo={=usize}",
        ram.network,
        ram.gradients,
        ram.optimizer,
        ram.activations,
        ram.scratch,
        ram.loss_gradient,
        ram.grid,
        ram.statics(),
        ram.demo
    );
    let image = measure::image_sizes();
    defmt::info!(
        "image (bytes): flash={=u32} data={=u32} bss={=u32} uninit={=u32} static_ram={=u32} heap=0",
        image.flash,
        image.data,
        image.bss,
        image.uninit,
        image.data + image.bss + image.uninit
    );

    let (demo, setup) = counter.measure(|| Demo::new(&mut *network, &mut *buffers));
    let mut demo = demo.unwrap_or_else(|error| {
        defmt::error!("set-up failed: {}", error);
        firmware::exit(firmware::EXIT_FAIL)
    });
    let (mut train, mut observe, mut observations) = (0u64, 0u64, 0u64);
    while !demo.finished() {
        let steps = demo::block_steps(demo.steps());
        let (loss, spent) = counter.measure(|| demo.train(steps));
        train += spent;
        let (observation, spent) = counter.measure(|| demo.observe());
        observe += spent;
        observations += 1;
        defmt::info!(
            "step={=u32} loss={=f32}{}",
            observation.step,
            loss,
            observation
        );
    }
    let verdict = demo.verdict();
    if let Some(error) = verdict.error {
        defmt::error!("training stopped at step {=u32}: {}", demo.steps(), error);
    }
    defmt::info!(
        "convergence: bins={} steps={} order={} low_to_high={=bool}",
        verdict.bins,
        verdict.convergence_steps,
        demo.tracker().convergence_order().as_slice(),
        demo.tracker().is_low_to_high()
    );

    let steps = u64::from(demo.steps().max(1));
    let per_step = train / steps;
    defmt::info!(
        "{=str}: setup={=u64} train={=u64} per_step={=u64} macs_per_step={=usize} per_mac={=f32} observe={=u64} per_observation={=u64}",
        UNIT,
        setup,
        train,
        per_step,
        demo::MACS_PER_STEP,
        train as f32 / (steps as f32 * demo::MACS_PER_STEP as f32),
        observe,
        observe / observations.max(1)
    );

    // The run is over (its verdict is taken): measure the kernels alone on the widest layer.
    match KernelProbe::new(network, buffers) {
        Ok(mut probe) => {
            let shape = probe.shape();
            for kernel in [
                Kernel::Forward,
                Kernel::WeightGradient,
                Kernel::InputGradient,
                Kernel::Tanh,
            ] {
                let (result, spent) = counter.measure(|| probe.run(kernel));
                if let Err(error) = result {
                    defmt::error!("kernel {} failed: {}", kernel, error);
                }
                let operations = probe.operations(kernel);
                defmt::info!(
                    "kernel {} batch={=usize} inputs={=usize} outputs={=usize}: {=str}={=u64} operations={=usize} per_operation={=f32}",
                    kernel,
                    shape.batch,
                    shape.inputs,
                    shape.outputs,
                    UNIT,
                    spent,
                    operations,
                    spent as f32 / operations as f32
                );
            }
        }
        Err(error) => defmt::error!("kernel probe: {}", error),
    }
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
        "verdict: {=str} {=str} final_loss={=f32} final_loss_bits={=u32:#010x} fingerprint={=u32:#010x}",
        if verdict.passed { "PASS" } else { "FAIL" },
        verdict.summary,
        verdict.final_loss,
        verdict.final_loss.to_bits(),
        verdict.fingerprint
    );
    firmware::exit(code)
}
