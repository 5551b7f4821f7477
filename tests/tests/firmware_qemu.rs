//! The firmware's training demo, on the host and on the emulated microcontrollers.
//!
//! - Always: the host runs the demo (the same `firmware::demo` code the device runs) and the
//!   peaks of sin x + sin 3x + sin 5x converge low to high, with the loss below its bound.
//! - When `qemu-system-arm`, `defmt-print` and `timeout` are on the `PATH` and the Cortex-M
//!   targets are installed: the firmware is built for the Cortex-M4F (`mps2-an386`) and the
//!   Cortex-M3 (`lm3s6965evb`), run in QEMU, and its verdict must equal the host's bit for bit:
//!   final loss, parameter fingerprint and convergence steps. The golden values are computed here,
//!   never written down, so that changes to the core's arithmetic keep the test meaningful.
//!   Without the tools the test says that it skipped this part, and passes.
//!
//! Bit-identical results are expected, not hoped for: the core's kernels fix their summation
//! order by shape alone, Rust never fuses a multiply and an add on its own, and libm is the same
//! Rust code on every target (its few hardware paths, such as `sqrt`, are correctly rounded).

use std::path::{Path, PathBuf};
use std::process::Command;

use firmware::demo;

/// The emulated boards: Rust target and QEMU machine.
const BOARDS: [(&str, &str); 2] = [
    ("thumbv7em-none-eabihf", "mps2-an386"),
    ("thumbv7m-none-eabi", "lm3s6965evb"),
];

/// Seconds one QEMU run may take (the Cortex-M3 run takes 45 s on the CI's kind of machine; a
/// hang is caught).
const QEMU_TIMEOUT_SECONDS: u32 = 300;

#[test]
fn host_demo_converges_low_to_high() {
    let verdict = demo::golden().expect("the demo's configuration is valid");
    assert_eq!(verdict.error, None);
    assert_eq!(verdict.bins, [1, 3, 5], "peaks of sin x + sin 3x + sin 5x");
    let steps: Vec<u32> = verdict
        .convergence_steps
        .iter()
        .map(|s| s.expect("every peak converges"))
        .collect();
    assert!(
        steps.windows(2).all(|w| w[0] <= w[1]),
        "convergence steps {steps:?} are not low to high"
    );
    assert!(
        verdict.final_loss < demo::LOSS_BOUND,
        "final loss {} above the bound {}",
        verdict.final_loss,
        demo::LOSS_BOUND
    );
    assert!(verdict.passed, "{verdict:?}");
    println!(
        "host: convergence steps {steps:?}, final loss {} ({:#010x}), fingerprint {:#010x}",
        verdict.final_loss,
        verdict.final_loss.to_bits(),
        verdict.fingerprint
    );
}

/// The demo's settings do not rest on a lucky seed: from the initial parameters of other seeds
/// the host's run passes too (all of seeds 0–19 with the core of this writing; the test allows
/// two failures, so that a change in the core's rounding does not break it by chance).
#[test]
fn host_demo_passes_for_other_seeds() {
    const SEEDS: u64 = 20;
    let mut passed = 0;
    for seed in 0..SEEDS {
        let verdict = demo::golden_with_seed(seed).expect("the demo's configuration is valid");
        println!(
            "seed {seed:2}: {} convergence steps {:?}, final loss {:.5}",
            if verdict.passed { "pass" } else { "FAIL" },
            verdict.convergence_steps,
            verdict.final_loss
        );
        if verdict.passed {
            passed += 1;
        }
    }
    println!("{passed} of {SEEDS} seeds pass");
    assert!(
        passed >= SEEDS - 2,
        "only {passed} of {SEEDS} seeds converge low to high and meet the loss bound"
    );
}

#[test]
fn firmware_under_qemu_matches_the_host_bit_for_bit() {
    if let Some(missing) = missing_tools() {
        eprintln!("firmware_qemu: skipped the QEMU part: {missing}");
        return;
    }
    let golden = demo::golden().expect("the demo's configuration is valid");
    let root = workspace_root();
    let target_dir = firmware_target_dir();
    build_firmware(&root, &target_dir);

    // Both boards at once: the Cortex-M3 run dominates.
    let logs: Vec<(&str, String)> = std::thread::scope(|scope| {
        let runs: Vec<_> = BOARDS
            .iter()
            .map(|&(target, machine)| {
                let elf = target_dir.join(target).join("release").join("train");
                let root = &root;
                scope.spawn(move || (machine, run_in_qemu(root, machine, &elf)))
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("QEMU run thread"))
            .collect()
    });

    for (machine, log) in &logs {
        let device = parse_log(machine, log);
        println!(
            "{machine}: final loss {:#010x}, fingerprint {:#010x}, convergence {}",
            device.final_loss_bits, device.fingerprint, device.convergence_steps
        );
        assert!(device.passed, "{machine}: verdict is not PASS\n{log}");
        assert_eq!(
            device.final_loss_bits,
            golden.final_loss.to_bits(),
            "{machine}: final loss differs from the host's {}\n{log}",
            golden.final_loss
        );
        assert_eq!(
            device.fingerprint, golden.fingerprint,
            "{machine}: parameter fingerprint differs from the host's\n{log}"
        );
        assert_eq!(
            device.convergence_steps,
            format!("{:?}", golden.convergence_steps),
            "{machine}: convergence steps differ from the host's\n{log}"
        );
    }
}

/// What a firmware log says about the run.
struct DeviceVerdict {
    passed: bool,
    final_loss_bits: u32,
    fingerprint: u32,
    /// As logged, e.g. `[Some(50), Some(60), Some(530)]` (defmt prints it as Rust's `{:?}`).
    convergence_steps: String,
}

fn parse_log(machine: &str, log: &str) -> DeviceVerdict {
    let line = |prefix: &str| {
        log.lines()
            .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
            .unwrap_or_else(|| panic!("{machine}: no `{prefix}` line in the log\n{log}"))
    };
    let verdict = line("verdict: ");
    let convergence = line("convergence: ");
    let hex = |key: &str| {
        let value = field(&verdict, key).unwrap_or_else(|| panic!("{machine}: no {key}"));
        u32::from_str_radix(value.trim_start_matches("0x"), 16)
            .unwrap_or_else(|e| panic!("{machine}: bad {key} `{value}`: {e}"))
    };
    let steps = convergence
        .split_once("steps=")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(steps, _)| format!("{steps}]"))
        .unwrap_or_else(|| panic!("{machine}: no steps in `{convergence}`"));
    DeviceVerdict {
        passed: verdict.starts_with("PASS"),
        final_loss_bits: hex("final_loss_bits"),
        fingerprint: hex("fingerprint"),
        convergence_steps: steps,
    }
}

/// The value of `key=value` in a log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// Why the QEMU part cannot run, if it cannot.
fn missing_tools() -> Option<String> {
    let missing: Vec<&str> = ["qemu-system-arm", "defmt-print", "timeout"]
        .into_iter()
        .filter(|tool| !on_path(tool))
        .collect();
    if !missing.is_empty() {
        return Some(format!("{} not on PATH", missing.join(", ")));
    }
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))?;
    let targets: Vec<&str> = BOARDS
        .iter()
        .map(|(target, _)| *target)
        .filter(|target| !sysroot.join("lib/rustlib").join(target).is_dir())
        .collect();
    if !targets.is_empty() {
        return Some(format!(
            "Rust target(s) {} not installed",
            targets.join(", ")
        ));
    }
    None
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// `<cargo target dir>/firmware-qemu`: a target directory of its own, so that the nested cargo
/// does not wait for the lock that the `cargo test` running this test holds.
fn firmware_target_dir() -> PathBuf {
    // The test binary is `<target dir>/<profile>/deps/<name>`.
    let exe = std::env::current_exe().expect("path of the test binary");
    exe.ancestors()
        .nth(3)
        .map(|dir| dir.join("firmware-qemu"))
        .unwrap_or_else(|| workspace_root().join("target").join("firmware-qemu"))
}

fn build_firmware(root: &Path, target_dir: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "-p", "firmware", "--release", "--bin", "train"])
        .arg("--target-dir")
        .arg(target_dir)
        // The QEMU memory layouts, whatever board the caller's environment selects.
        .env_remove("FIRMWARE_BOARD");
    for (target, _) in BOARDS {
        command.args(["--target", target]);
    }
    let status = command.status().expect("run cargo build for the firmware");
    assert!(status.success(), "building the firmware failed: {status}");
}

/// Runs the firmware through the cargo runner script; returns its decoded log.
fn run_in_qemu(root: &Path, machine: &str, elf: &Path) -> String {
    let output = Command::new(root.join("firmware").join("run-qemu.sh"))
        .arg(machine)
        .arg(elf)
        .env("FIRMWARE_TIMEOUT", QEMU_TIMEOUT_SECONDS.to_string())
        .output()
        .expect("run firmware/run-qemu.sh");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{machine}: the firmware exited with {} (1 failed verdict, 101 panic, 102 HardFault, \
         124 timeout)\n{log}",
        output.status
    );
    log
}
