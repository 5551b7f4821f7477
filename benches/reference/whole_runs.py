#!/usr/bin/env python3
"""Whole official runs side by side with the NumPy reference: the speed standard's ratio.

The standard for the paper's step (at most 0.5 ms per step with the observation, where NumPy
took about 1.6 ms on this kind of machine) is a ratio to NumPy measured side by side: at most
0.3125. A shared machine's speed drifts by a third or more within minutes, so one run of each
says little. This script alternates them, NumPy first and last:

    numpy, ours, numpy, ours, ..., numpy

and divides each run of ours by the mean of the two NumPy runs around it. It prints every
round and the median ratio.

Usage: whole_runs.py [--rounds N] [--binary PATH] [--numpy-steps N] [-- FLAGS...]
  --rounds N       runs of ours (default 5)
  --binary PATH    the release binary (default target/release/fprinciple)
  --numpy-steps N  iterations of each NumPy run (default 2000)
  FLAGS            appended to `fprinciple freq --preset official` (e.g. --test-every 1000)

Our runs write their run directories into a temporary folder that is removed at the end; the
figure taken from each is `ms_per_step` in its summary.json (the whole run's wall time divided
by its steps, the observation, test evaluations and recording included).
"""

import argparse
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def numpy_ms(steps):
    """Milliseconds per iteration of one NumPy run of the official preset's step."""
    command = [sys.executable, str(HERE / "step.py"), "numpy", "--steps", str(steps)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"([0-9.]+) ms each", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"the NumPy reference failed:\n{done.stdout}{done.stderr}")
    return float(found.group(1))


def our_ms(binary, out, flags):
    """Milliseconds per step of one whole `fprinciple freq --preset official` run."""
    before = set(out.iterdir())
    command = [str(binary), "freq", "--preset", "official", "--out", str(out), *flags]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    new = set(out.iterdir()) - before
    if len(new) != 1:
        raise SystemExit(f"{' '.join(command)} wrote {len(new)} run directories, expected 1")
    (run,) = new
    try:
        summary = json.loads((run / "summary.json").read_text())
        return float(summary["results"]["ms_per_step"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"{run}: no time per step in summary.json ({error})") from error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", type=pathlib.Path, default=pathlib.Path("target/release/fprinciple"))
    parser.add_argument("--numpy-steps", type=int, default=2000)
    parser.add_argument("flags", nargs="*", help="extra flags for our runs (after --)")
    args = parser.parse_args()
    if args.rounds < 1 or args.numpy_steps < 1:
        parser.error("--rounds and --numpy-steps must be at least 1")
    if not args.binary.is_file():
        parser.error(f"{args.binary}: no such binary (build it: cargo build --release -p host)")

    ratios = []
    with tempfile.TemporaryDirectory(prefix="fprinciple-whole-runs-") as folder:
        out = pathlib.Path(folder)
        before = numpy_ms(args.numpy_steps)
        for round_ in range(1, args.rounds + 1):
            ours = our_ms(args.binary, out, args.flags)
            after = numpy_ms(args.numpy_steps)
            ratio = ours / ((before + after) / 2)
            ratios.append(ratio)
            print(
                f"round {round_}: ours {ours:.3f} ms per step, NumPy {before:.3f} and "
                f"{after:.3f} ms around it, ratio {ratio:.3f}",
                flush=True,
            )
            before = after
    print(
        f"ratio to NumPy over {len(ratios)} rounds: median {statistics.median(ratios):.3f}, "
        f"range {min(ratios):.3f}-{max(ratios):.3f} (the standard: at most 0.3125)"
    )


if __name__ == "__main__":
    main()
