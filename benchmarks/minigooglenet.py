"""MiniGoogLeNet training speed: images/s per batch size, compile time per batch shape, accumulation cost.

Prints, side by side, for the backend in ``KERAS_BACKEND`` on whatever device is here:

* train throughput (images/s) at batch size 64 and 1024 (steady state, after compilation);
* compile time per distinct batch shape, measured as the first step minus a steady step (so it
  also holds first-run allocation), and how many train-step traces each shape caused
  (``hw2.training.TraceCounter``; TensorFlow without XLA traces shape-generically);
* one update of an effective batch of 1024 made of 16 accumulated micro-batches of 64 vs one real
  batch of 1024.

Usage::

    python benchmarks/minigooglenet.py            # --quick: a few steps each (~1.6 CPU-minutes, TF)
    python benchmarks/minigooglenet.py --full     # more steps and the intermediate batch sizes
    KERAS_BACKEND=jax python benchmarks/minigooglenet.py --width 0.5

Synthetic 32x32x1 inputs: speed does not depend on the pixel values.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import keras
import numpy as np

from hw2.models import mini_googlenet
from hw2.training import TraceCounter, effective_batch_optimizer


def make_model(width: float, accumulate: int | None = None):
    keras.utils.set_random_seed(0)
    model = mini_googlenet(width=width)
    optimizer = keras.optimizers.SGD(0.01, momentum=0.9)
    if accumulate:
        optimizer = effective_batch_optimizer(optimizer, accumulate * 64, 64)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def timed_fit(model, x, y, batch_size: int, steps: int) -> float:
    n = batch_size * steps
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return time.perf_counter() - start


def measure(model, x, y, batch_size: int, steps: int, traces: TraceCounter) -> dict:
    """First step (compiles) and ``steps`` steady steps at ``batch_size``."""
    before = traces.count
    first = timed_fit(model, x, y, batch_size, 1)
    steady = timed_fit(model, x, y, batch_size, steps) / steps
    return {"batch": batch_size, "first_s": first, "step_s": steady, "images_per_s": batch_size / steady,
            "compile_s": max(first - steady, 0.0), "traces": traces.count - before}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", default=True, help="a few steps each (default)")
    mode.add_argument("--full", action="store_true", help="more steps; batch sizes 64 ... 1024")
    parser.add_argument("--width", type=float, default=1.0, help="MiniGoogLeNet width multiplier")
    args = parser.parse_args(argv)

    sizes = (64, 128, 256, 512, 1024) if args.full else (64, 1024)
    steps = {64: 20, 1024: 5} if args.full else {64: 4, 1024: 1}
    steps = {b: steps.get(b, 5 if args.full else 1) for b in sizes}
    rng = np.random.default_rng(0)
    n = max(b * (s + 1) for b, s in steps.items())
    x = rng.normal(size=(n, 32, 32, 1)).astype("float32")
    y = rng.integers(0, 10, n)

    model = make_model(args.width)
    print(f"backend {keras.backend.backend()}, keras {keras.__version__}, "
          f"devices {keras.distribution.list_devices()}, {os.cpu_count()} CPUs ({platform.processor() or 'cpu'})")
    print(f"MiniGoogLeNet width {args.width:g}: {model.count_params():,} parameters; "
          f"{'full' if args.full else 'quick'} run; jit_compile={model.jit_compile}")
    rows = []
    with TraceCounter(model) as traces:
        for b in sizes:
            rows.append(measure(model, x, y, b, steps[b], traces))
            r = rows[-1]
            print(f"  measured batch {b}: {r['images_per_s']:.0f} img/s", flush=True)
    print()
    print(f"{'batch':>6} {'first step s':>13} {'step s':>9} {'images/s':>10} {'compile s':>10} {'traces':>7}")
    for r in rows:
        print(f"{r['batch']:>6} {r['first_s']:>13.2f} {r['step_s']:>9.3f} {r['images_per_s']:>10.0f} "
              f"{r['compile_s']:>10.2f} {r['traces']:>7}")
    base = rows[0]["images_per_s"]
    print("throughput relative to batch 64: " + ", ".join(f"{r['batch']}: {r['images_per_s'] / base:.2f}x"
                                                           for r in rows))

    accumulated = make_model(args.width, accumulate=16)
    with TraceCounter(accumulated) as traces:
        first = timed_fit(accumulated, x, y, 64, 16)  # one effective update; compiles
        step = timed_fit(accumulated, x, y, 64, 16 * steps[1024]) / steps[1024]
    real = rows[-1]["step_s"]
    print()
    print("one update with an effective batch of 1024:")
    print(f"  real batch 1024:             {real:8.3f} s   ({1024 / real:8.0f} img/s)")
    print(f"  16 x 64 accumulated:         {step:8.3f} s   ({1024 / step:8.0f} img/s)   "
          f"first update {first:.2f} s, {traces.count} trace(s)")
    print(f"  accumulated / real step time: {step / real:.2f}x")


if __name__ == "__main__":
    main()
