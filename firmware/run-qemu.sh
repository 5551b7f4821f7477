#!/usr/bin/env bash
# Cargo runner for the firmware: runs an ELF in QEMU and decodes its defmt log.
#
#   run-qemu.sh MACHINE ELF        MACHINE: mps2-an386 (Cortex-M4F) or lm3s6965evb (Cortex-M3)
#
# The exit code is the firmware's own (semihosting exit), or 124 when the run exceeds
# FIRMWARE_TIMEOUT seconds (default 120): lm3s6965evb hangs instead of faulting on a stack
# overflow into unmapped memory.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 MACHINE ELF" >&2
    exit 2
fi
machine=$1
elf=$2

case "$machine" in
    mps2-an386) cpu=cortex-m4 ;;
    lm3s6965evb) cpu=cortex-m3 ;;
    *) echo "$0: unknown machine '$machine'" >&2; exit 2 ;;
esac

for tool in qemu-system-arm defmt-print timeout; do
    if ! command -v "$tool" >/dev/null; then
        echo "$0: '$tool' not found (see firmware/README.md, Tools)" >&2
        exit 127
    fi
done

# -icount shift=0: one virtual nanosecond per instruction, so SysTick counts instructions and
# every run is repeatable. -display none rather than -nographic, which fails without a stdin.
# pipefail makes the pipeline's status QEMU's (the firmware's exit code), not defmt-print's.
# The stderr filter drops a harmless warning lm3s6965evb prints at every start.
timeout "${FIRMWARE_TIMEOUT:-120}" \
    qemu-system-arm \
    -machine "$machine" -cpu "$cpu" \
    -display none \
    -semihosting-config enable=on,target=native \
    -icount shift=0 \
    -kernel "$elf" \
    2> >(grep -v --line-buffered '^Timer with period zero, disabling$' >&2) \
    | defmt-print -e "$elf"
