#!/usr/bin/env python3
"""A training step of a tanh network written idiomatically in NumPy or PyTorch, to be timed
side by side with ours by `cargo bench -p fprinciple-benches --bench speed`.

The speed standards were stated beside reference timings on this kind of machine: for the
official preset's step, NumPy about 1.6 ms per step and PyTorch on the CPU about 1.5 ms; for
the MNIST network, PyTorch about 21,500 samples/s. A shared machine's speed drifts within
seconds, so the bench measures these references in the same rounds as our steps and reports
the ratio of the two.

One iteration is one Adam step of the network (tanh hidden layers, linear output, mean
squared error) on the training rows, then, if there are grid points, the network's outputs on
them at the new parameters: what an official run does each step (the grid is its
observation). Both frameworks compute in float32 on every core the machine has (their
defaults).

Usage: step.py {numpy,torch} --steps N
  times N iterations of the official preset (its network initialized by NumPy's generator,
  seed 0) and prints the milliseconds per iteration: for comparing a whole `fprinciple freq
  --preset official` run with the reference, run before and after it.

Usage: step.py {numpy,torch} WIDTHS TRAIN GRID LEARNING_RATE SETUP_FILE
  WIDTHS         comma-separated layer widths, e.g. 1,200,200,200,100,1
  TRAIN, GRID    number of training rows and of grid rows (0: no evaluation)
  SETUP_FILE     little-endian float32: the parameters in fprinciple's layout (per layer the
                 inputs x outputs weight, row-major, then the outputs biases), then the
                 training inputs and targets and the grid's inputs, row by row.

It prints `ready <framework> <version>` and then answers commands on stdin, one per line:
  check K   trains a fresh copy of the initial parameters for K iterations and prints the
            outputs of the last one on the grid (or, without a grid, on the training rows),
            space-separated, so the caller can compare them with its own;
  time N    runs N iterations of the ongoing training and prints the seconds per iteration.
"""

import sys
import time

import numpy as np

BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


def load(widths, train, grid, path):
    """The parameters as (weight, bias) pairs, and the training and grid points."""
    data = np.fromfile(path, dtype="<f4")
    layers, at = [], 0
    for fan_in, fan_out in zip(widths, widths[1:]):
        weight = data[at : at + fan_in * fan_out].reshape(fan_in, fan_out)
        at += fan_in * fan_out
        bias = data[at : at + fan_out]
        at += fan_out
        layers.append((weight.copy(), bias.copy()))
    n_in, n_out = widths[0], widths[-1]
    sizes = [train * n_in, train * n_out, grid * n_in]
    if at + sum(sizes) != data.size:
        raise SystemExit(f"{path}: {data.size} floats, expected {at + sum(sizes)}")
    x = data[at : at + sizes[0]].reshape(train, n_in)
    y = data[at + sizes[0] : at + sizes[0] + sizes[1]].reshape(train, n_out)
    points = data[at + sizes[0] + sizes[1] :].reshape(grid, n_in)
    return layers, x.copy(), y.copy(), points.copy()


class NumpyNetwork:
    """Forward and backward passes by hand and Adam on arrays, as a NumPy user writes them."""

    def __init__(self, layers, learning_rate):
        self.params = [p.copy() for layer in layers for p in layer]
        self.first = [np.zeros_like(p) for p in self.params]
        self.second = [np.zeros_like(p) for p in self.params]
        self.learning_rate = np.float32(learning_rate)
        self.steps = 0

    def layers(self):
        return list(zip(self.params[0::2], self.params[1::2]))

    def predict(self, x):
        layers = self.layers()
        h = x
        for weight, bias in layers[:-1]:
            h = np.tanh(h @ weight + bias)
        weight, bias = layers[-1]
        return h @ weight + bias

    def step(self, x, y):
        layers = self.layers()
        activations = [x]
        for weight, bias in layers[:-1]:
            activations.append(np.tanh(activations[-1] @ weight + bias))
        weight, bias = layers[-1]
        output = activations[-1] @ weight + bias
        delta = (2.0 / len(x)) * (output - y)
        grads = []
        for i in range(len(layers) - 1, -1, -1):
            weight, _ = layers[i]
            grads.append(delta.sum(axis=0))
            grads.append(activations[i].T @ delta)
            if i > 0:
                delta = (delta @ weight.T) * (1.0 - activations[i] ** 2)
        grads.reverse()  # weight, bias per layer, as self.params
        self.steps += 1
        correction1 = 1.0 - BETA1**self.steps
        correction2 = 1.0 - BETA2**self.steps
        step_size = np.float32(self.learning_rate / correction1)
        for p, g, m, v in zip(self.params, grads, self.first, self.second):
            m *= BETA1
            m += (1.0 - BETA1) * g
            v *= BETA2
            v += (1.0 - BETA2) * g * g
            p -= step_size * m / (np.sqrt(v / correction2) + EPSILON)

    def iterate(self, x, y, points):
        self.step(x, y)
        return self.predict(points) if len(points) else None


class TorchNetwork:
    """`nn.Sequential`, `MSELoss` and `optim.Adam`, as a PyTorch user writes them."""

    def __init__(self, layers, learning_rate):
        import torch

        self.torch = torch
        modules = []
        for i, (weight, bias) in enumerate(layers):
            linear = torch.nn.Linear(weight.shape[0], weight.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight.T.copy()))
                linear.bias.copy_(torch.from_numpy(bias))
            modules.append(linear)
            if i < len(layers) - 1:
                modules.append(torch.nn.Tanh())
        self.model = torch.nn.Sequential(*modules)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        self.loss = torch.nn.MSELoss()

    def iterate(self, x, y, points):
        self.optimizer.zero_grad()
        loss = self.loss(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return self.predict(points) if len(points) else None

    def predict(self, rows):
        with self.torch.no_grad():
            return self.model(rows)


def official_preset():
    """The official preset's network (every weight and bias N(0, 0.05^2), NumPy's generator,
    seed 0), its 61 training points on [-10, 10] and its 64-point grid."""
    generator = np.random.default_rng(0)
    widths = [1, 200, 200, 200, 100, 1]
    layers = [
        (
            generator.normal(0.0, 0.05, (fan_in, fan_out)).astype(np.float32),
            generator.normal(0.0, 0.05, fan_out).astype(np.float32),
        )
        for fan_in, fan_out in zip(widths, widths[1:])
    ]
    x = np.linspace(-10.0, 10.0, 61, dtype=np.float32).reshape(-1, 1)
    y = np.sin(x) + np.sin(4.0 * x)
    points = np.linspace(-10.0, 10.0, 64, endpoint=False, dtype=np.float32).reshape(-1, 1)
    return layers, x, y, points


def main():
    framework = sys.argv[1] if len(sys.argv) > 1 else None
    standalone = len(sys.argv) == 4 and sys.argv[2] == "--steps"
    if framework not in ("numpy", "torch") or not (standalone or len(sys.argv) == 7):
        raise SystemExit(__doc__)
    if standalone:
        layers, x, y, points = official_preset()
        learning_rate = 2e-5
    else:
        widths = [int(w) for w in sys.argv[2].split(",")]
        train, grid = int(sys.argv[3]), int(sys.argv[4])
        learning_rate = float(sys.argv[5])
        layers, x, y, points = load(widths, train, grid, sys.argv[6])
    if framework == "numpy":
        network_class, version = NumpyNetwork, np.__version__
        data = (x, y, points)
    else:
        import torch

        network_class, version = TorchNetwork, torch.__version__
        data = tuple(torch.from_numpy(a) for a in (x, y, points))
    network = network_class(layers, learning_rate)
    if standalone:
        steps = int(sys.argv[3])
        start = time.perf_counter()
        for _ in range(steps):
            network.iterate(*data)
        seconds = time.perf_counter() - start
        print(f"{framework} {version}: {steps} iterations, {seconds / steps * 1e3:.3f} ms each")
        return
    print(f"ready {framework} {version}", flush=True)
    for line in sys.stdin:
        command, _, count = line.partition(" ")
        count = int(count)
        if command == "check":
            fresh = network_class(layers, learning_rate)
            for _ in range(count):
                outputs = fresh.iterate(*data)
            if outputs is None:
                outputs = fresh.predict(data[0])
            values = np.asarray(outputs).reshape(-1)
            print(" ".join(repr(float(v)) for v in values), flush=True)
        elif command == "time":
            start = time.perf_counter()
            for _ in range(count):
                network.iterate(*data)
            print((time.perf_counter() - start) / count, flush=True)
        else:
            raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
