"""Problem 4 even smaller than smoke: every P4 experiment in seconds, with a stand-in network.

Shared by the P4 tests. :func:`apply` puts the tiny sizes (at the smoke profile) and the stand-in
network in place through a ``pytest.MonkeyPatch`` and points the default store at ``root``, so
``experiments.run`` and :func:`hw2.experiments.p4_policies.policy_runs` read and write there.
MiniGoogLeNet's own tests are in ``test_minigooglenet.py``.
"""

import keras

from hw2 import profiles
from hw2.experiments import p4_policies, p4_setup

TINY = {"train_size": 64, "validation_size": 20, "test_size": 20, "width": 0.0625, "precision": "float32"}

#: The smoke-profile sizes of every P4 training experiment, tiny.
SIZES = {
    "p4.lr_sweep": dict(TINY, n_lrs=3, lr_low=1e-4, lr_high=1e-1, epochs=1, batch_size=32),
    "p4.lr_range_test": dict(TINY, epochs=1, batch_size=16, micro_batch=16, beta=0.9),
    "p4.clr": dict(TINY, step_epochs=1, cycles=1, batch_size=32, micro_batch=32),
    "p4.baseline": dict(TINY, batch_size=32, micro_batch=32),
    "p4.batch_sweep": dict(TINY, batch_sizes=(16, 32, 64), epochs=1, micro_batch=16),
    "p4.noise_scale": dict(TINY, accumulation=2, epochs=2, micro_batch=16, b_low=16, b_high=64),
    "p4.cbs": dict(TINY, micro_batch=16),
    "p4.cbs_matched": dict(TINY, micro_batch=16, b_cap=64)  # cycle, shape, batch: the CLR's,
}
FINDERS = ("p4.lr_sweep", "p4.lr_range_test", "p4.batch_sweep", "p4.noise_scale")


def small_network(input_shape, width, precision="float32"):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(2, 3, strides=4),
                             keras.layers.BatchNormalization(), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])


def apply(patch, root, *, seeds=(0,), only=None):
    """Tiny sizes at smoke for ``only`` (default: every P4 training experiment), 4.7 at ``seeds``,
    the stand-in network, and ``root`` as the results folder (``root/smoke`` is the smoke store)."""
    sizes = dict(profiles.SIZES)
    for name, tiny in SIZES.items():
        if only is None or name in only:
            sizes[name] = dict(profiles.SIZES[name], smoke=tiny)
    sizes[p4_policies.COMPARISON] = dict(profiles.SIZES[p4_policies.COMPARISON], smoke={"seeds": tuple(seeds)})
    patch.setattr(profiles, "SIZES", sizes)
    patch.setattr(p4_setup, "mini_googlenet", small_network)
    patch.setenv("HW2_RESULTS_DIR", str(root))
    patch.delenv("HW2_NO_COMPUTE", raising=False)


def populate(seeds=(0,)):
    """Every finder at the finder seed and every policy at ``seeds``, through ``experiments.run`` (smoke)."""
    from hw2 import experiments

    results = {name: experiments.run(name, "smoke") for name in FINDERS}
    for name in p4_policies.POLICIES.values():
        for seed in seeds:
            results[(name, seed)] = experiments.run(name, "smoke", seed=seed)
    return results
