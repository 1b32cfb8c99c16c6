"""MiniGoogLeNet training speed by precision and compiler, and compiled train steps per cyclical run.

Prints, for the backend in ``KERAS_BACKEND`` on whatever device is here, side by side:

* steady-state training throughput (images/s) at batch size 64 for each width, precision
  (``float32``, ``mixed_bfloat16``) and ``jit_compile`` setting, with the ratio to the float32
  baseline of the same width (the first row of each width);
* for one cyclical batch-size run and one noise-matched run (``hw2.training.fit_with_batch_policy``,
  as P4 trains: fixed micro-batches of 64, a variable number of accumulated micro-batches per
  update), how many batch sizes each visits and how many train-step traces (compiled programs) it
  causes, next to a constant-batch run.

Loss and optimizer are P4's (:mod:`hw2.experiments.p4_setup`: categorical cross-entropy on one-hot
labels, SGD with momentum 0.9).

Usage::

    python benchmarks/minigooglenet.py                       # widths 1 and 0.125, ~3 CPU-minutes (TF)
    python benchmarks/minigooglenet.py --widths 0.25 --steps 40
    python benchmarks/minigooglenet.py --widths 0.0625 --steps 2 --jit off --epochs 1   # smallest: < 1 min
    KERAS_BACKEND=jax python benchmarks/minigooglenet.py --widths 0.125

Synthetic 32x32x1 inputs: speed does not depend on the pixel values. On a shared machine the
absolute figures move with the load; the ratios within one run are what to read.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import keras
import numpy as np

from hw2.accumulation import GradientAccumulation
from hw2.experiments.p4_setup import LOSS, sgd
from hw2.models import PRECISIONS, mini_googlenet
from hw2.schedules import CyclicalBatchSize, CyclicalLearningRate, NoiseMatchedBatchSize
from hw2.training import TraceCounter, fit_with_batch_policy


def make_model(width: float, precision: str, jit_compile, accumulate: bool = False):
    keras.utils.set_random_seed(0)
    model = mini_googlenet(width=width, precision=precision)
    optimizer = sgd(0.9)(0.01)
    model.compile(optimizer=GradientAccumulation(optimizer) if accumulate else optimizer, loss=LOSS,
                  jit_compile=jit_compile)
    return model


def images_per_second(model, x, y, batch_size: int, steps: int) -> float:
    """Steady-state throughput: one warm-up fit (compiles), then ``steps`` timed steps."""
    model.fit(x[:2 * batch_size], y[:2 * batch_size], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    n = batch_size * steps
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return n / (time.perf_counter() - start)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.125], help="width multipliers")
    p.add_argument("--steps", type=int, default=20, help="timed steps of batch 64 per setting")
    p.add_argument("--jit", choices=("both", "off", "on"), default="both", help="jit_compile settings")
    p.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    p.add_argument("--epochs", type=int, default=5, help="epochs of each batch-size-policy run (traces)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    jits = {"both": (False, True), "off": (False,), "on": (True,)}[args.jit]

    rng = np.random.default_rng(0)
    n = 64 * (args.steps + 2)
    x = rng.normal(size=(n, 32, 32, 1)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]  # one-hot, as P4's loss wants
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, devices {keras.distribution.list_devices()}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or 'cpu'}); batch 64, {args.steps} timed steps")
    print()
    print(f"{'width':>6} {'precision':>15} {'jit':>5} {'parameters':>11} {'images/s':>9} {'vs float32':>11}")
    for width in args.widths:
        base = None
        for precision in args.precisions:
            for jit in jits:
                model = make_model(width, precision, jit)
                rate = images_per_second(model, x, y, 64, args.steps)
                base = base or rate
                print(f"{width:>6g} {precision:>15} {str(jit):>5} {model.count_params():>11,} {rate:>9.0f} "
                      f"{rate / base:>10.2f}x", flush=True)

    # Compiled train steps of one cyclical batch-size run vs a constant batch size (smallest width).
    width = min(args.widths)
    policy = CyclicalBatchSize(64, 512, step_size=2)
    epochs = args.epochs
    m = 512 * 2
    xs, ys = np.resize(x, (m, 32, 32, 1)), np.resize(y, (m, 10))
    print()
    print(f"compiled train steps, width {width:g}, {m} images, {epochs} epochs (jit_compile='auto'):")
    per_epoch = m // 64
    matched = NoiseMatchedBatchSize(CyclicalLearningRate(1e-3, 1e-2, step_size=2 * per_epoch), lr=1e-2,
                                    reference_batch=64, b_max=512, steps_per_epoch=per_epoch)
    runs = (("constant batch 64", 64), (f"cyclical {policy.trajectory(epochs).tolist()}", policy),
            ("noise-matched, a batch size per update", matched))
    for label, batch_policy in runs:
        model = make_model(width, "float32", "auto", accumulate=True)
        with TraceCounter(model) as traces:
            start = time.perf_counter()
            history = fit_with_batch_policy(model, xs, ys, policy=batch_policy, epochs=epochs, micro_batch=64)
            seconds = time.perf_counter() - start
        print(f"  {label:<40} batch sizes {len(set(history['update_batch_sizes'])):>2}  traces {traces.count}  "
              f"updates {sum(history['steps']):>3}  {seconds:5.1f} s")
    print("  (fixed micro-batches: one compiled train step per run is expected, whatever the number of "
          "batch sizes)")


if __name__ == "__main__":
    main()
