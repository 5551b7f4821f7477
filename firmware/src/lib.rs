//! Board support for the *fprinciple* firmware — logger, exit codes, panic and fault handling,
//! the instruction and stack measurements — and the training [`demo`] it runs.
//!
//! Programs live in `src/bin/`; this library holds what every program needs, as in the knurling
//! app-template. On the host (any target with an operating system) only [`demo`] and the exit
//! code constants are compiled: the host runs the demo for the golden values the firmware is
//! checked against, and `cargo build --workspace` and `cargo clippy --workspace` work without a
//! Cortex-M target.
//!
//! Logging goes over semihosting (QEMU) by default and over RTT with the `rtt` feature (real
//! boards with probe-rs). Either way the program ends through `exit` (Cortex-M only), whose code
//! is the process exit code of `qemu-system-arm` or `probe-rs run`.
#![cfg_attr(target_os = "none", no_std)]
#![deny(missing_docs)]

pub mod demo;

#[cfg(target_os = "none")]
pub mod measure;

#[cfg(target_os = "none")]
mod runtime;

#[cfg(target_os = "none")]
mod singleton;

#[cfg(target_os = "none")]
pub use runtime::exit;

#[cfg(target_os = "none")]
pub use singleton::Singleton;

/// Exit code of a run whose verdict passed.
pub const EXIT_PASS: i32 = 0;
/// Exit code of a run that finished but whose verdict failed.
pub const EXIT_FAIL: i32 = 1;
/// Exit code after a panic, distinct so that CI can tell a crash from a failed verdict.
pub const EXIT_PANIC: i32 = 101;
/// Exit code after a HardFault (bad memory access, stack overflow into unmapped memory, ...).
pub const EXIT_HARDFAULT: i32 = 102;
