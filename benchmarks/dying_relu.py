"""The dying-ReLU simulator against the naive loop: wall time, peak memory, speed-up.

``ensemble``: the full specification of Problems 2.2 and 2.3 — 1000 simulations x 3000 points,
batch size 64, ReLU and Leaky ReLU side by side (2000 networks), the epochs of
:class:`hw2.experiments.p2_initialization.DyingReluConfig` — as one Keras model
(:class:`hw2.dying_relu.DyingReluEnsemble`), compilation included.

``naive``: what one would write without it — for each simulation a ``keras.Sequential`` model
(:func:`hw2.models.narrow_mlp`) with the same initial weights and data, and one
``fit(epochs=..., shuffle=True)``. Timed on ``--naive`` simulations per activation (compilation
included: each new model compiles) and extrapolated to 1000 per activation.

Peak memory is the process's maximum resident set size (the framework included), read after the
ensemble run and before the naive loop. The CPU is shared on development machines: the 1-minute
load average is printed next to the figures.

Run: ``python benchmarks/dying_relu.py [--epochs 50] [--naive 3] [--simulations 1000]``
(``KERAS_BACKEND=jax`` for the JAX backend).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import keras
import numpy as np

from hw2 import dying_relu
from hw2.experiments.p2_initialization import DyingReluConfig
from hw2.models import narrow_mlp


def peak_rss_gib() -> float:
    scale = 1024 if sys.platform != "darwin" else 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30


def naive_seconds(ens: dying_relu.DyingReluEnsemble, arm: str, k: int, epochs: int) -> float:
    """One simulation trained the naive way: build, set weights, one fit over all epochs."""
    start = time.perf_counter()
    arm = dying_relu.Arm.parse(arm)
    model = narrow_mlp(ens.depth, ens.width, activation=arm.activation, negative_slope=ens.negative_slope)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, (kernel, bias) in zip(dense, ens.initial_parameters_of(arm)):
        layer.set_weights([kernel[k], bias[k]])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=ens.learning_rate), loss="mse")
    x, y = ens.training_set(k)
    keep = ens.steps_per_epoch * ens.batch_size  # same number of steps as the ensemble
    model.fit(x[:keep, None], y[:keep, None], batch_size=ens.batch_size, epochs=epochs, shuffle=True, verbose=0)
    return time.perf_counter() - start


def main() -> None:
    spec = DyingReluConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=spec.n_simulations)
    parser.add_argument("--epochs", type=int, default=spec.epochs)
    parser.add_argument("--naive", type=int, default=3, help="simulations per activation timed the naive way")
    parser.add_argument("--arms", default="relu,leaky_relu")
    args = parser.parse_args()
    arms = tuple(args.arms.split(","))

    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"spec: {args.simulations} simulations x {spec.n_points} points, batch {spec.batch_size}, depth "
          f"{spec.depth}, width {spec.width}, {args.epochs} epochs, arms {', '.join(arms)}")
    start = time.perf_counter()
    ens = dying_relu.DyingReluEnsemble(args.simulations, depth=spec.depth, width=spec.width, arms=arms,
                                       n_points=spec.n_points, batch_size=spec.batch_size, seed=0)
    first = {}
    _ = ens.model  # builds and compiles; XLA compiles on the first step
    t_epoch = time.perf_counter()
    ens.train(1, progress=False)
    first["epoch 1 (with compilation)"] = time.perf_counter() - t_epoch
    t_rest = time.perf_counter()
    if args.epochs > 1:
        ens.train(args.epochs - 1, progress=False)
    rest = time.perf_counter() - t_rest
    analysis = ens.analyze()
    total = time.perf_counter() - start
    memory = peak_rss_gib()
    per_epoch = rest / max(args.epochs - 1, 1)
    print(f"\nensemble: {total:.1f} s wall for {len(arms)} x {args.simulations} networks "
          f"(first epoch incl. compilation {first['epoch 1 (with compilation)']:.1f} s, then {per_epoch:.2f} s/epoch), "
          f"peak RSS {memory:.2f} GiB; load average now {os.getloadavg()[0]:.1f}")
    for name, out in analysis.items():
        print(f"  {name}: collapsed {out['collapsed'].mean():.1%}")

    naive = {}
    for arm in arms:
        times = [naive_seconds(ens, arm, k, args.epochs) for k in range(args.naive)]
        naive[arm] = float(np.mean(times))
        print(f"naive {arm}: {', '.join(f'{t:.1f}' for t in times)} s per simulation")
    naive_total = sum(naive.values()) * 1000
    print(f"\nnaive loop extrapolated to 1000 simulations per activation: {naive_total:.0f} s "
          f"({naive_total / 3600:.2f} h)")
    scale = 1000 / args.simulations
    print(f"ensemble scaled to 1000 simulations: {total * scale:.1f} s")
    print(f"speed-up: {naive_total / (total * scale):.0f}x  (goal >= 100x); ensemble {total * scale:.1f} s "
          f"(goal <= 60 s); peak memory {memory:.2f} GiB (goal <= 2 GiB)")


if __name__ == "__main__":
    main()
