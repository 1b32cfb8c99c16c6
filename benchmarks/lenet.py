"""LeNet-5 training throughput per P3 variant, and the share of an epoch spent on the input pipeline.

For each variant (built by :func:`hw2.experiments.p3_lenet.build_variant`) the same number of
training steps runs three ways:

- ``pipeline``: ``model.fit`` on :class:`hw2.training.EpochBatches` over the whole training split,
  with ``steps_per_epoch`` and ``shuffle=False``, as :func:`hw2.experiments.p3_lenet.train_variant`
  feeds it (per-step sorted fancy indexing of a fresh permutation);
- ``in-memory``: ``model.fit`` on a dataset that returns one pre-built batch every step (no indexing,
  no copies): the cost of the train step plus Keras' loop;
- ``getitem``: the pipeline's ``__getitem__`` alone, for all steps, without training.

``input share = 1 − in-memory / pipeline`` is the part of an epoch the input pipeline costs; the goal
is < 5 %. ``getitem share`` is the batch production alone as a share of the pipeline epoch — a lower
bound that does not depend on how steady the machine is. Timings are noisy on a shared CPU: the
two fits alternate and each figure is the best of ``--repeats`` runs.

Run: ``python benchmarks/lenet.py [--steps 200] [--batch-size 128] [--repeats 3] [--variants baseline,...]``
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import keras

from hw2.experiments import p3_lenet
from hw2.training import EpochBatches


class SameBatch(keras.utils.PyDataset):
    """``steps`` copies of one batch already in memory (the train step with a free input pipeline)."""

    def __init__(self, x, y, steps):
        super().__init__()
        self.batch, self.steps = (x, y), steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.batch


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200, help="training steps per measurement (<= one epoch)")
    p.add_argument("--batch-size", type=int, default=p3_lenet.LeNetConfig.batch_size)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default=",".join(p3_lenet.VARIANTS), help="comma-separated P3 variants")
    return p


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    data = p3_lenet.mnist_splits()
    config = p3_lenet.LeNetConfig(batch_size=args.batch_size)
    pipeline = EpochBatches(data.x_train, data.y_train, args.batch_size, seed=0, epochs=1)
    steps = min(args.steps, pipeline.steps_per_epoch)
    images = steps * args.batch_size
    print(f"backend {keras.backend.backend()}, batch {args.batch_size}, {steps} steps per measurement, "
          f"best of {args.repeats}; one full epoch = {pipeline.steps_per_epoch} steps")
    print(f"{'variant':<17}{'pipeline img/s':>15}{'in-memory img/s':>16}{'input share':>12}"
          f"{'getitem share':>14}{'epoch (s)':>10}")
    for variant in args.variants.split(","):
        model = p3_lenet.build_variant(variant, config, data.mean, data.variance, pipeline.steps_per_epoch)
        same = SameBatch(*pipeline[0], steps=steps)
        model.fit(same, epochs=1, verbose=0, steps_per_epoch=min(10, steps))  # trace and warm up
        # interleaved, best of each: load from other processes hits both measurements alike
        t_pipeline, t_memory = float("inf"), float("inf")
        for _ in range(args.repeats):
            t_pipeline = min(t_pipeline, seconds(partial(model.fit, pipeline, epochs=1, steps_per_epoch=steps,
                                                         shuffle=False, verbose=0)))
            t_memory = min(t_memory, seconds(partial(model.fit, same, epochs=1, shuffle=False, verbose=0)))
        t_getitem = min(seconds(lambda: [pipeline[i] for i in range(steps)]) for _ in range(args.repeats))
        share = max(0.0, 1.0 - t_memory / t_pipeline)
        epoch = t_pipeline / steps * pipeline.steps_per_epoch
        print(f"{variant:<17}{images / t_pipeline:>15.0f}{images / t_memory:>16.0f}{share:>11.1%}"
              f"{t_getitem / t_pipeline:>13.1%}{epoch:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
