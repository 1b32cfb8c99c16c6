"""Problem 4 data: the fixed stratified Fashion-MNIST split, reduced subsets, and 4.1's summary.

The 60 000 training images are split once, by class, into a training and a validation part
(``validation_per_class`` images of every class go to validation, chosen with ``split_seed``); the
10 000 test images stay the test set. Every P4 experiment uses this split; a reduced profile takes a
stratified subset of each part (the first images of a per-class random order, so a smaller subset
is contained in a larger one).

Example:
    >>> split = fashion_mnist_split(validation_per_class=600, split_seed=0)  # doctest: +SKIP
    >>> len(split["train"]), len(split["validation"]), len(split["test"])   # doctest: +SKIP
    (54000, 6000, 10000)
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from hw2._checks import argument_error, check_int
from hw2.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist
from hw2.experiments import register

NUM_CLASSES = len(FASHION_MNIST_CLASSES)
FASHION_MNIST_TRAIN, FASHION_MNIST_TEST = 60000, 10000  # Keras' training and test parts


def part_sizes(validation_per_class: int = 600) -> dict:
    """The images in each part of the whole split (no subset): the one home of 54 000 / 6 000 / 10 000.

    Example:
        >>> part_sizes(600)
        {'train': 54000, 'validation': 6000, 'test': 10000}
    """
    validation = NUM_CLASSES * check_int("validation_per_class", validation_per_class, 1, 5999)
    return {"train": FASHION_MNIST_TRAIN - validation, "validation": validation, "test": FASHION_MNIST_TEST}


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Indices of ``labels`` interleaved by class in a seeded random order.

    Taking the first ``n`` indices gives a stratified subset (class counts differ by at most one),
    and a smaller subset is always contained in a larger one.

    Example:
        >>> order = stratified_order(np.array([0, 0, 1, 1, 2, 2]), seed=0)
        >>> sorted(np.array([0, 0, 1, 1, 2, 2])[order[:3]].tolist())
        [0, 1, 2]
    """
    rng = np.random.default_rng(seed)
    rank = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rank[members[rng.permutation(len(members))]] = np.arange(len(members))
    # Within one rank, the classes come in a random order too, so prefixes stay unbiased.
    tie = rng.permutation(len(labels))
    return np.lexsort((tie, rank))


@functools.lru_cache(maxsize=4)
def fashion_mnist_split(validation_per_class: int = 600, split_seed: int = 0) -> dict:
    """The fixed split: ``{'train': (x, y), 'validation': (x, y), 'test': (x, y)}`` as uint8.

    ``validation_per_class`` images of each class are carved from the 60 000 training images with a
    generator seeded by ``split_seed``; the rest stay training images. Each part is returned in the
    stratified order of :func:`stratified_order`, so ``x[:n]`` is a stratified subset.
    """
    check_int("validation_per_class", validation_per_class, 1, 5999)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    rng = np.random.default_rng([split_seed, 4])
    is_val = np.zeros(len(y_train), dtype=bool)
    for cls in range(NUM_CLASSES):
        members = np.flatnonzero(y_train == cls)
        is_val[rng.choice(members, size=validation_per_class, replace=False)] = True
    parts = {"train": (x_train[~is_val], y_train[~is_val]), "validation": (x_train[is_val], y_train[is_val]),
             "test": (x_test, y_test)}
    out = {}
    for i, (name, (x, y)) in enumerate(parts.items()):
        order = stratified_order(y, seed=split_seed * 10 + i)
        out[name] = (x[order], y[order])
    return out


def training_arrays(train_size: int | None = None, validation_size: int | None = None,
                    test_size: int | None = None, validation_per_class: int = 600,
                    split_seed: int = 0) -> dict:
    """Float32 images ``(n, 28, 28, 1)`` in [0, 1] and one-hot labels for each part of the split.

    ``None`` sizes take the whole part; an integer takes a stratified subset of that size.
    """
    split = fashion_mnist_split(validation_per_class, split_seed)
    sizes = {"train": train_size, "validation": validation_size, "test": test_size}
    out = {}
    for name, (x, y) in split.items():
        n = len(y) if sizes[name] is None else check_int(f"{name}_size", sizes[name], 1, len(y))
        images = x[:n].astype(np.float32)[..., None] / np.float32(255.0)
        out[name] = (images, np.eye(NUM_CLASSES, dtype=np.float32)[y[:n]])
    return out


# ------------------------------------------------------------------------------------------ 4.1
@dataclasses.dataclass(frozen=True)
class FashionSummaryConfig:
    """4.1: the split and the classes whose representative images are shown."""

    validation_per_class: int = 600
    split_seed: int = 0
    figure_classes: tuple[str, ...] = ("T-shirt/top", "Shirt", "Ankle boot")
    images_per_class: int = 3
    seed: int = 0

    def __post_init__(self):
        check_int("validation_per_class", self.validation_per_class, 1, 5999)
        unknown = [c for c in self.figure_classes if c not in FASHION_MNIST_CLASSES]
        if unknown or not self.figure_classes:
            raise argument_error("figure_classes", f"a non-empty tuple of classes among {FASHION_MNIST_CLASSES}",
                                 self.figure_classes)
        check_int("images_per_class", self.images_per_class, 1, 50)


def _summarize_fashion(data: dict) -> dict:
    return {key: data[key] for key in ("total_images", "split_sizes", "validation_per_class",
                                       "num_classes", "pixel_mean", "pixel_std")}


@register("p4.fashion_mnist", version="1", config_cls=FashionSummaryConfig, summarize=_summarize_fashion,
          description="P4.1: Fashion-MNIST sizes, stratified validation split, class counts, examples")
def fashion_mnist_summary(config: FashionSummaryConfig) -> dict:
    """Sizes, per-class counts of each split, and the most typical images of a few classes.

    'Representative' is measured: the training images closest (Euclidean, in pixels) to their
    class's mean image.
    """
    split = fashion_mnist_split(config.validation_per_class, config.split_seed)
    counts = {name: np.bincount(y, minlength=NUM_CLASSES).astype(np.int64) for name, (_, y) in split.items()}
    x_train, y_train = split["train"]
    images, labels, distances = [], [], []
    for name in config.figure_classes:
        cls = FASHION_MNIST_CLASSES.index(name)
        members = x_train[y_train == cls].reshape(-1, 28 * 28).astype(np.float32) / 255.0
        mean_image = members.mean(axis=0)
        dist = np.linalg.norm(members - mean_image, axis=1)
        nearest = np.argsort(dist)[: config.images_per_class]
        images.append(x_train[y_train == cls][nearest])
        labels.append(np.full(config.images_per_class, cls))
        distances.append(np.stack([dist[nearest], np.full(config.images_per_class, np.median(dist))], axis=1))
    train_pixels = x_train.astype(np.float64) / 255.0
    return {
        "class_names": list(FASHION_MNIST_CLASSES),
        "num_classes": NUM_CLASSES,
        "total_images": int(sum(len(y) for _, y in split.values())),
        "split_sizes": {name: int(len(y)) for name, (_, y) in split.items()},
        "validation_per_class": int(config.validation_per_class),
        "counts_per_class": counts,
        "image_shape": list(x_train.shape[1:]),
        "pixel_mean": float(train_pixels.mean()),
        "pixel_std": float(train_pixels.std()),
        "figure_classes": list(config.figure_classes),
        "figure_images": np.concatenate(images),
        "figure_labels": np.concatenate(labels),
        # per shown image: distance to its class mean, and the class's median distance
        "figure_distances": np.concatenate(distances),
    }
