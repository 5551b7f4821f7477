//! Chooses the memory layout and passes the linker scripts for Cortex-M builds.
//!
//! The link arguments are given here (`rustc-link-arg-bins`) rather than as `rustflags` in
//! `.cargo/config.toml`: a `RUSTFLAGS` environment variable silently replaces config rustflags,
//! and the result links without `link.x` into an empty image.

use std::{env, fs, path::PathBuf};

/// Memory layouts, in the order they are chosen: a `board-*` feature, then the
/// `FIRMWARE_BOARD` environment variable, then the QEMU machine that matches the target.
const BOARDS: &[(&str, &str)] = &[
    ("stm32f411", include_str!("memory/stm32f411.x")),
    ("nrf52840", include_str!("memory/nrf52840.x")),
    ("mps2-an386", include_str!("memory/mps2-an386.x")),
    ("lm3s6965evb", include_str!("memory/lm3s6965evb.x")),
];

/// Boards that are QEMU machines: there the instruction counter reports instructions.
const QEMU_MACHINES: &[&str] = &["mps2-an386", "lm3s6965evb"];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=memory");
    println!("cargo::rerun-if-env-changed=FIRMWARE_BOARD");
    println!("cargo::rustc-check-cfg=cfg(qemu)");

    // The host build is an empty stub: nothing to link.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }

    let board = board();
    let memory = BOARDS
        .iter()
        .find(|(name, _)| *name == board)
        .map(|(_, memory)| *memory)
        .unwrap_or_else(|| {
            let known: Vec<_> = BOARDS.iter().map(|(name, _)| *name).collect();
            panic!("unknown board `{board}`; known boards: {known:?}")
        });

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), memory).expect("write memory.x");
    println!("cargo::rustc-link-search={}", out.display());

    // `--nmagic` stops the linker from page-aligning sections, which would waste flash and can
    // move sections off the addresses in memory.x.
    println!("cargo::rustc-link-arg-bins=--nmagic");
    println!("cargo::rustc-link-arg-bins=-Tlink.x");
    println!("cargo::rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo::rustc-env=FIRMWARE_BOARD={board}");
    if QEMU_MACHINES.contains(&board.as_str()) {
        println!("cargo::rustc-cfg=qemu");
    }
}

/// The board to link for.
fn board() -> String {
    let features: Vec<&str> = BOARDS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            let feature = format!(
                "CARGO_FEATURE_BOARD_{}",
                name.to_uppercase().replace('-', "_")
            );
            env::var_os(feature).is_some()
        })
        .collect();
    match features.as_slice() {
        [one] => return (*one).to_string(),
        [] => {}
        many => panic!("select at most one board-* feature, got {many:?}"),
    }
    if let Ok(board) = env::var("FIRMWARE_BOARD") {
        return board;
    }
    // QEMU machines, by instruction set: ARMv7E-M with FPU → mps2-an386, ARMv7-M → lm3s6965evb.
    let target = env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        "mps2-an386".to_string()
    } else if target.starts_with("thumbv7m") || target.starts_with("thumbv6m") {
        "lm3s6965evb".to_string()
    } else {
        panic!("no default board for target `{target}`: set a board-* feature or FIRMWARE_BOARD")
    }
}
