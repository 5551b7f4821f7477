#!/usr/bin/env python3
"""Whole official runs side by side with the NumPy reference: the speed standard's ratio.

The standard for the paper's step (at most 0.5 ms per step with the observation, where NumPy
took about 1.6 ms on this kind of machine) is a ratio to NumPy measured side by side: at most
0.3125. A shared machine's speed drifts by a third or more within minutes, so one run of each
says little. This script alternates them, NumPy first and last:

    numpy, ours, numpy, ours, ..., numpy

and divides each run of ours by the mean of the two NumPy runs around it. It prints every
round and the median ratio.

With `--baseline PATH` (another build, say of an earlier commit), each round runs that build
beside ours, between the same two NumPy runs (ours first in odd rounds, second in even ones),
and prints its ratio too and ours over its: a change's effect on whole runs, side by side.

Usage: whole_runs.py [--rounds N] [--binary PATH] [--baseline PATH] [--numpy-steps N] [-- FLAGS...]
  --rounds N       runs of ours (default 5)
  --binary PATH    the release binary (default target/release/fprinciple)
  --baseline PATH  a second binary to run in every round beside ours
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


def spread(values):
    """The median and range of `values`, in words."""
    return f"median {statistics.median(values):.3f}, range {min(values):.3f}-{max(values):.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--binary", type=pathlib.Path, default=pathlib.Path("target/release/fprinciple"))
    parser.add_argument("--baseline", type=pathlib.Path, default=None)
    parser.add_argument("--numpy-steps", type=int, default=2000)
    parser.add_argument("flags", nargs="*", help="extra flags for our runs (after --)")
    args = parser.parse_args()
    if args.rounds < 1 or args.numpy_steps < 1:
        parser.error("--rounds and --numpy-steps must be at least 1")
    for binary in [args.binary, args.baseline]:
        if binary is not None and not binary.is_file():
            parser.error(f"{binary}: no such binary (build it: cargo build --release -p host)")

    ratios, baseline_ratios, against_baseline = [], [], []
    with tempfile.TemporaryDirectory(prefix="fprinciple-whole-runs-") as folder:
        out = pathlib.Path(folder)
        before = numpy_ms(args.numpy_steps)
        for round_ in range(1, args.rounds + 1):
            if args.baseline is None:
                ours, base = our_ms(args.binary, out, args.flags), None
            elif round_ % 2 == 1:
                ours = our_ms(args.binary, out, args.flags)
                base = our_ms(args.baseline, out, args.flags)
            else:
                base = our_ms(args.baseline, out, args.flags)
                ours = our_ms(args.binary, out, args.flags)
            after = numpy_ms(args.numpy_steps)
            numpy = (before + after) / 2
            ratios.append(ours / numpy)
            line = (
                f"round {round_}: ours {ours:.3f} ms per step, NumPy {before:.3f} and "
                f"{after:.3f} ms around it, ratio {ours / numpy:.3f}"
            )
            if base is not None:
                baseline_ratios.append(base / numpy)
                against_baseline.append(ours / base)
                line += f"; baseline {base:.3f} ms, ratio {base / numpy:.3f}, ours / baseline {ours / base:.3f}"
            print(line, flush=True)
            before = after
    print(
        f"ratio to NumPy over {len(ratios)} rounds: {spread(ratios)} "
        "(the standard: at most 0.3125)"
    )
    if against_baseline:
        print(f"the baseline's ratio to NumPy: {spread(baseline_ratios)}")
        print(f"ours / the baseline's, round by round: {spread(against_baseline)}")


if __name__ == "__main__":
    main()
