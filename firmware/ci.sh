#!/usr/bin/env bash
# Builds the firmware for both QEMU machines, runs it, and checks the verdict.
#
# Fails when a build fails, when a run exits non-zero (failed verdict 1, panic 101, HardFault 102,
# timeout 124), or when a run's log lacks the `verdict: PASS` line. Prints each run's log and,
# when llvm-size or arm-none-eabi-size is installed, the image sizes.
#
# Environment: FIRMWARE_TIMEOUT (seconds per run, default 120, read by run-qemu.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The QEMU runs need the QEMU memory layouts, whatever the caller selected for a board.
unset FIRMWARE_BOARD

for tool in qemu-system-arm defmt-print timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "firmware/ci.sh: '$tool' not found (see firmware/README.md, Tools)" >&2
        exit 127
    fi
done
size_tool=$(command -v llvm-size || command -v arm-none-eabi-size || true)

# target:machine pairs; run-qemu.sh is the cargo runner for each target (.cargo/config.toml).
runs=(thumbv7em-none-eabihf:mps2-an386 thumbv7m-none-eabi:lm3s6965evb)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()

for run in "${runs[@]}"; do
    target=${run%%:*}
    machine=${run#*:}
    echo "== firmware on $machine ($target)"
    cargo build -p firmware --release --target "$target" --bin train
    rc=0
    cargo run -p firmware --release --target "$target" --bin train 2>&1 | tee "$log" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "== FAILED on $machine: exit code $rc" >&2
        failed+=("$machine")
    elif ! grep -q 'verdict: PASS' "$log"; then
        echo "== FAILED on $machine: no 'verdict: PASS' line" >&2
        failed+=("$machine")
    fi
    if [ -n "$size_tool" ]; then
        "$size_tool" "target/$target/release/train"
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "firmware/ci.sh: failed on ${failed[*]}" >&2
    exit 1
fi
echo "firmware/ci.sh: all runs passed"
