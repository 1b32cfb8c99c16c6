"""Problem 4's shared setup: the data, the network and the optimizer every training experiment uses.

MiniGoogLeNet (:func:`hw2.models.mini_googlenet`) on the fixed Fashion-MNIST split of
:mod:`hw2.experiments.p4_data` (images zero-padded to 32x32), SGD with momentum 0.9, categorical
cross-entropy on one-hot labels. Every run is one ``model.fit`` fed micro-batches of
``micro_batch`` (64) images (:func:`hw2.training.fit_with_batch_policy`): larger batch sizes are
effective batches of a :class:`hw2.accumulation.GradientAccumulation` optimizer, so batch
normalization always sees ghost batches of 64 and a batch size changes the gradient noise only.
The experiments are in :mod:`hw2.experiments.p4_finders` (4.2, 4.4, 4.5) and
:mod:`hw2.experiments.p4_policies` (4.3, 4.6, 4.7).

Example:
    >>> P4Setup().train_images, P4Setup(train_size=4096).train_images
    (54000, 4096)
"""

from __future__ import annotations

import dataclasses

import keras

from hw2 import profiles, training
from hw2._checks import check_choice, check_int, check_range
from hw2.experiments.p4_data import part_sizes, training_arrays
from hw2.models import PRECISIONS, mini_googlenet

LOSS = "categorical_crossentropy"


# ------------------------------------------------------------------------------- shared setup
@dataclasses.dataclass(frozen=True)
class P4Setup:
    """Data and model every P4 training experiment shares (defaults: the full specification).

    Attributes:
        train_size, validation_size, test_size: stratified subset sizes (``None``: the whole part:
            54 000 / 6 000 / 10 000 images).
        width: MiniGoogLeNet filter multiplier (1 = the published network).
        validation_per_class, split_seed: the fixed split (see :mod:`hw2.experiments.p4_data`).
        momentum: SGD momentum.
        micro_batch: the batch fed to the model (and normalized by batch norm); every batch size is
            a multiple of it, reached by accumulating micro-batch gradients.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (bfloat16 compute, float32 weights), chosen
            per profile by measurement (``benchmarks/minigooglenet.py``).
        bn_momentum: momentum of the batch-norm moving statistics (Keras' default 0.99). With
            only a few dozen updates per epoch (reduced profiles) 0.99 leaves the moving statistics
            far behind the weights and the inference-mode (validation) accuracy near chance; 0.9
            follows them within about ten updates.
    """

    train_size: int | None = None
    validation_size: int | None = None
    test_size: int | None = None
    width: float = 1.0
    validation_per_class: int = 600
    split_seed: int = 0
    momentum: float = 0.9
    micro_batch: int = 64
    bn_momentum: float = 0.99
    precision: str = "mixed_bfloat16"

    @property
    def train_images(self) -> int:
        """The training images a run sees: ``train_size``, else the whole training part."""
        return self.train_size or part_sizes(self.validation_per_class)["train"]

    def __post_init__(self):
        check_range("width", self.width, low=0, inclusive="right")
        check_range("momentum", self.momentum, low=0, high=1, inclusive="left")
        check_range("bn_momentum", self.bn_momentum, low=0, high=1, inclusive="left")
        check_int("micro_batch", self.micro_batch, low=1)
        check_choice("precision", self.precision, PRECISIONS)


def data_arrays(setup: P4Setup) -> dict:
    arrays = training_arrays(setup.train_size, setup.validation_size, setup.test_size,
                             setup.validation_per_class, setup.split_seed)
    return {name: (training.pad_to_32(x), y) for name, (x, y) in arrays.items()}


def network_builder(setup: P4Setup):
    def build():
        model = mini_googlenet(input_shape=(32, 32, 1), width=setup.width, precision=setup.precision)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = setup.bn_momentum  # read when the train step is traced
        return model

    return build


def sgd(momentum: float):
    return lambda lr: keras.optimizers.SGD(learning_rate=lr, momentum=momentum)


def eval_batch(n: int, cap: int = 500) -> int:
    """The largest divisor of ``n`` up to ``cap``: one static evaluation shape, no partial batch."""
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def setup_note(config) -> dict:
    """The sizes a page states next to a (possibly reduced) result."""
    whole = part_sizes(config.validation_per_class)
    return {"train_images": config.train_images, "validation_images": config.validation_size or whole["validation"],
            "test_images": config.test_size or whole["test"], "width": config.width,
            "published_network": config.width == 1, "bn_momentum": config.bn_momentum,
            "precision": config.precision, "micro_batch": config.micro_batch}


def training_profile(profile: str | None = None) -> tuple[str, bool]:
    """The profile whose P4 training results the pages render, and whether it stands in for full.

    At the full profile without an accelerator and without a stored full-spec LR sweep (the first
    piece every other training needs), the pages fall back to the laptop profile
    (``experiments.run(..., fallback=True)``); anywhere else the profile is what it says.

    Example:
        >>> training_profile("smoke")
        ('smoke', False)
    """
    from hw2 import experiments

    profile = profiles.resolve_profile(profile)
    if profile != "full" or experiments._has_accelerator():
        return profile, False
    try:
        with experiments.no_compute():
            experiments.run("p4.lr_sweep", "full")
    except LookupError:
        return "laptop", True
    return profile, False


def common_summary(data: dict) -> dict:
    return {"setup": data["setup"], "seconds": data.get("seconds")}


