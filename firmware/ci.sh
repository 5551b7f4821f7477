#!/usr/bin/env bash
# Builds the firmware for both QEMU machines, runs it, and checks the verdict.
#
# Fails when a build fails, when a run exits non-zero (failed verdict 1, panic 101, HardFault 102,
# timeout 124), when a run's log lacks the `verdict: PASS` line, or (when llvm-nm or
# arm-none-eabi-nm is installed) when an image links a heap allocator. Prints each run's log and,
# when llvm-size or arm-none-eabi-size is installed, the image sizes.
#
# Environment: FIRMWARE_TIMEOUT (seconds per run, default 300 here, read by run-qemu.sh; the
# soft-float Cortex-M3 run takes about 45 s on a 2-core x86-64 machine).
set -euo pipefail
cd "$(dirname "$0")/.."
# The QEMU runs need the QEMU memory layouts, whatever the caller selected for a board.
unset FIRMWARE_BOARD
export FIRMWARE_TIMEOUT=${FIRMWARE_TIMEOUT:-300}

for tool in qemu-system-arm defmt-print timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "firmware/ci.sh: '$tool' not found (see firmware/README.md, Tools)" >&2
        exit 127
    fi
done
size_tool=$(command -v llvm-size || command -v arm-none-eabi-size || true)
nm_tool=$(command -v llvm-nm || command -v arm-none-eabi-nm || true)

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
    elf="target/$target/release/train"
    if [ -n "$size_tool" ]; then
        "$size_tool" "$elf"
    fi
    # Zero heap: no global allocator may be linked (the demo's buffers are statics).
    if [ -n "$nm_tool" ] && "$nm_tool" "$elf" | grep -q -E '__rust_alloc|__rg_alloc|__rdl_alloc'; then
        echo "== FAILED on $machine: a heap allocator is linked" >&2
        failed+=("$machine")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "firmware/ci.sh: failed on ${failed[*]}" >&2
    exit 1
fi
echo "firmware/ci.sh: all runs passed"
