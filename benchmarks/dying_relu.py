"""The dying-ReLU simulator against the naive loop: wall time, peak memory, speed-up.

``ensemble``: the full specification of Problems 2.2 and 2.3
(:class:`hw2.experiments.p2_initialization.DyingReluConfig`: 1000 simulations x 3000 points, batch
size 64, 50 epochs, its arms side by side: ReLU, Leaky ReLU and ReLU with RAI, 3000 networks) as
one Keras model (:class:`hw2.dying_relu.DyingReluEnsemble`, built as the study builds it),
compilation included.

``naive``: what one would write without it — for each simulation a ``keras.Sequential`` model
(:func:`hw2.models.narrow_mlp`) with the same initial weights and data, and one
``fit(epochs=..., shuffle=True)``. Timed on ``--naive`` simulations per arm (compilation
included: each new model compiles) and extrapolated to 1000 per arm.

Peak memory is the process's maximum resident set size (the framework included), read after the
ensemble run and before the naive loop. The CPU is shared on development machines, so both wall
time and the process's CPU time (all threads; hardly inflated by other processes, and an upper
bound for the wall time of an idle machine) are printed, with the 1-minute load average.

Run: ``python benchmarks/dying_relu.py [--epochs 50] [--naive 3] [--simulations 1000] [--arms relu,leaky_relu]``
(``KERAS_BACKEND=jax`` for the JAX backend); smallest: ``--simulations 10 --epochs 2 --naive 1``.
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


def cpu_seconds() -> float:
    """CPU time of this process (all threads): unlike wall time, hardly inflated by other processes."""
    times = os.times()
    return times.user + times.system


def peak_rss_gib() -> float:
    scale = 1024 if sys.platform != "darwin" else 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**30


def naive_seconds(ens: dying_relu.DyingReluEnsemble, arm: str, k: int, epochs: int) -> tuple[float, float]:
    """One simulation trained the naive way (build, set weights, one fit): ``(wall, cpu)`` seconds."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    arm = dying_relu.Arm.parse(arm)
    model = narrow_mlp(*ens.architecture(arm), activation=arm.activation, negative_slope=ens.negative_slope)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, (kernel, bias) in zip(dense, ens.initial_parameters_of(arm)):
        layer.set_weights([kernel[k], bias[k]])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=ens.learning_rate), loss="mse")
    x, y = ens.training_set(k)
    keep = ens.steps_per_epoch * ens.batch_size  # same number of steps as the ensemble
    model.fit(x[:keep, None], y[:keep, None], batch_size=ens.batch_size, epochs=epochs, shuffle=True, verbose=0)
    return time.perf_counter() - start, cpu_seconds() - start_cpu


def parser() -> argparse.ArgumentParser:
    spec = DyingReluConfig()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--simulations", type=int, default=spec.n_simulations)
    p.add_argument("--epochs", type=int, default=spec.epochs)
    p.add_argument("--naive", type=int, default=3, help="simulations per arm timed the naive way")
    p.add_argument("--arms", default=",".join(spec.arms))
    return p


def main(argv=None) -> None:
    spec = DyingReluConfig()
    args = parser().parse_args(argv)
    arms = tuple(args.arms.split(","))

    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"spec: {args.simulations} simulations x {spec.n_points} points, batch {spec.batch_size}, depth "
          f"{spec.depth}, width {spec.width}, {args.epochs} epochs, arms {', '.join(arms)}")
    start, start_cpu = time.perf_counter(), cpu_seconds()
    ens = dying_relu.DyingReluEnsemble(args.simulations, depth=spec.depth, width=spec.width, arms=arms,
                                       target=spec.target, n_points=spec.n_points, batch_size=spec.batch_size,
                                       learning_rate=spec.learning_rate, negative_slope=spec.negative_slope,
                                       seed=spec.seed)
    _ = ens.model  # builds and compiles; XLA compiles on the first step
    t_epoch = time.perf_counter()
    ens.train(1, progress=False)
    first_epoch = time.perf_counter() - t_epoch
    t_rest = time.perf_counter()
    if args.epochs > 1:
        ens.train(args.epochs - 1, progress=False)
    rest = time.perf_counter() - t_rest
    analysis = ens.analyze()
    total, total_cpu = time.perf_counter() - start, cpu_seconds() - start_cpu
    memory = peak_rss_gib()
    print(f"\nensemble: {total:.1f} s wall, {total_cpu:.1f} s CPU for {len(arms)} x {args.simulations} networks "
          f"(first epoch incl. compilation {first_epoch:.1f} s, then {rest / max(args.epochs - 1, 1):.2f} s/epoch), "
          f"peak RSS {memory:.2f} GiB; load average now {os.getloadavg()[0]:.1f}")
    for name, out in analysis.items():
        print(f"  {name}: collapsed {out['collapsed'].mean():.1%}")

    naive_wall, naive_cpu = {}, {}
    for arm in arms:
        runs = [naive_seconds(ens, arm, k, args.epochs) for k in range(args.naive)]
        naive_wall[arm] = float(np.mean([r[0] for r in runs]))
        naive_cpu[arm] = float(np.mean([r[1] for r in runs]))
        print(f"naive {arm}: " + ", ".join(f"{w:.1f} s wall / {c:.1f} s CPU" for w, c in runs) + " per simulation")
    scale = 1000 / args.simulations
    rows = (("wall", sum(naive_wall.values()) * 1000, total * scale),
            ("CPU", sum(naive_cpu.values()) * 1000, total_cpu * scale))
    print(f"\nload average now {os.getloadavg()[0]:.1f}")
    for label, naive_total, ensemble_total in rows:
        print(f"{label:>4}: naive loop extrapolated to 1000 simulations per arm {naive_total:8.0f} s "
              f"({naive_total / 3600:.2f} h); ensemble (scaled to 1000) {ensemble_total:6.1f} s; "
              f"speed-up {naive_total / ensemble_total:5.0f}x")
    print(f"goals: ensemble <= 60 s, speed-up >= 100x, peak memory <= 2 GiB (measured {memory:.2f} GiB)")


if __name__ == "__main__":
    main()
