"""Run profiles: every size an experiment uses comes from here.

=========  ===================================  ==========================================
profile    for                                  budget
=========  ===================================  ==========================================
smoke      tests, the CI docs build             whole report <= 5 min on 2 cores
laptop     a user without a GPU                 whole report <= 30 min on 2 cores
full       the homework specification, exactly  GPU recommended; results committed
=========  ===================================  ==========================================

An experiment's config dataclass holds the full specification as its defaults; ``SIZES`` holds,
per experiment, the fields a reduced profile overrides. ``config_for`` combines the two, so a
reduced run differs from the homework only in what is written below.

Example:
    >>> resolve_profile("laptop")
    'laptop'
    >>> resolve_profile("huge")
    Traceback (most recent call last):
    ...
    ValueError: Unknown profile 'huge'. Allowed profiles: smoke, laptop, full.
"""

from __future__ import annotations

import dataclasses
import os

PROFILES = ("smoke", "laptop", "full")
DEFAULT_PROFILE = "full"
PROFILE_DESCRIPTIONS = {
    "smoke": "tiny sizes for tests and the CI docs build (numbers are not answers)",
    "laptop": "a 2-core CPU in under 30 minutes: P1/P2 at full spec, P3/P4 reduced as stated",
    "full": "the homework specification exactly (P4 wants a GPU); results committed to results/full",
}

# P4 reduced profiles. laptop: stratified subsets (4096 / 1000 / 10000 of 54000 / 6000 / 10000
# images), MiniGoogLeNet at width 1/8 (float32: at this width bfloat16 and XLA are slower on this
# CPU, benchmarks/minigooglenet.py), the homework's 5 epochs for both sweeps and its 10 learning
# rates, batch sizes 64 ... 4096 (one batch cannot exceed the training set), policies of 3 cycles of
# 2 + 2 epochs (12 epochs, not 48; 768 updates at batch 64) at 2 seeds (not 3), a 2-epoch
# noise-scale probe, batch-norm momentum 0.9 (Keras' 0.99 lags behind weights that move this fast).
# 4096 images, not 8192, keep the whole laptop report within 30 minutes on a 2-core CPU with the
# 5-epoch sweeps (measured: docs/profiles.rst).
# smoke: tiny versions of the same, micro-batch 32, one seed.
_P4_LAPTOP = {"train_size": 4096, "validation_size": 1000, "test_size": 10000, "width": 0.125,
              "bn_momentum": 0.9, "precision": "float32"}
_P4_LAPTOP_CYCLE = {"step_epochs": 2, "cycles": 3}
_P4_SMOKE = {"train_size": 256, "validation_size": 100, "test_size": 100, "width": 0.0625,
             "bn_momentum": 0.9, "micro_batch": 32, "precision": "float32"}
_P4_SMOKE_CYCLE = {"step_epochs": 1, "cycles": 1}

# experiment name -> profile -> overrides of the config's (full-spec) defaults.
SIZES: dict[str, dict[str, dict]] = {
    "p1.perceptron": {
        "smoke": {"n_repeats": 50, "epochs": 100, "epochs_grid": (1, 10, 100), "lr_grid": (0.1, 1.0)},
        "laptop": {},
        "full": {},
    },
    # P2 runs at full specification in the laptop profile; smoke shrinks images, networks and epochs.
    "p2.init": {"smoke": {"n_images": 1000, "gradient_batch_size": 128, "n_samples": 300}, "laptop": {}, "full": {}},
    "p2.dying_relu": {
        "smoke": {"n_simulations": 40, "n_points": 640, "epochs": 3, "grid_size": 201, "born_dead_mc": 2000},
        "laptop": {},
        "full": {},
    },
    "p2.dying_relu_long": {
        # The same simulations as p2.dying_relu's smoke run, compared with it after its 3 epochs.
        "smoke": {"n_simulations": 40, "n_points": 640, "grid_size": 201, "every": 3, "window": 6,
                  "max_epochs": 9, "snapshot_epoch": 3},
        "laptop": {},
        "full": {},
    },
    "p2.dying_relu_depth": {
        "smoke": {"depths": (2, 3, 4), "n_simulations": 30, "map_depths": (2, 4), "map_widths": (2,),
                  "map_simulations": 20, "mc_depths": (1, 2, 3, 4, 5, 6), "mc_widths": (2, 3),
                  "mc_networks": 2000, "epochs": 2, "n_points": 640, "grid_size": 201},
        "laptop": {},
        "full": {},
    },
    "p3.lenet": {
        "smoke": {"n_seeds": 2, "max_epochs": 2, "patience": 1, "n_train": 1024, "n_validation": 500,
                  "n_test": 500, "probe_size": 250, "n_probe_steps": 8, "probe_epochs": 1},
        "laptop": {"n_seeds": 2, "max_epochs": 3, "patience": 1, "probe_epochs": 1},
        "full": {},
    },
    # P4 (MiniGoogLeNet on Fashion-MNIST): see _P4_SMOKE / _P4_LAPTOP above.
    "p4.fashion_mnist": {"smoke": {}, "laptop": {}, "full": {}},
    "p4.lr_sweep": {"smoke": {**_P4_SMOKE, "n_lrs": 4, "lr_low": 1e-5, "epochs": 1, "batch_size": 32},
                    "laptop": {**_P4_LAPTOP}, "full": {}},
    "p4.lr_range_test": {"smoke": {**_P4_SMOKE, "epochs": 1, "batch_size": 32, "beta": 0.9},
                         "laptop": {**_P4_LAPTOP, "epochs": 3, "beta": 0.95}, "full": {}},
    "p4.clr": {"smoke": {**_P4_SMOKE, **_P4_SMOKE_CYCLE, "batch_size": 32},
               "laptop": {**_P4_LAPTOP, **_P4_LAPTOP_CYCLE}, "full": {}},
    "p4.baseline": {"smoke": {**_P4_SMOKE, "batch_size": 32}, "laptop": {**_P4_LAPTOP}, "full": {}},
    "p4.batch_sweep": {"smoke": {**_P4_SMOKE, "batch_sizes": (32, 64, 128, 256), "epochs": 1},
                       "laptop": {**_P4_LAPTOP, "batch_sizes": tuple(2**k for k in range(6, 13))}, "full": {}},
    "p4.noise_scale": {"smoke": {**_P4_SMOKE, "accumulation": 4, "epochs": 1, "b_low": 32, "b_high": 256},
                       "laptop": {**_P4_LAPTOP, "epochs": 2, "b_high": 4096}, "full": {}},
    # The other policies take their cycle (and the CBSs their shape, the matched one its batch size)
    # from p4.clr's entry: experiments.p4_policies.with_clr_fields.
    "p4.cbs": {"smoke": {**_P4_SMOKE}, "laptop": {**_P4_LAPTOP}, "full": {}},
    "p4.cbs_matched": {"smoke": {**_P4_SMOKE, "b_cap": 256}, "laptop": {**_P4_LAPTOP}, "full": {}},
    # 4.7 stores nothing: these are the seeds its page reads every policy at.
    "p4.compare": {"smoke": {"seeds": (0,)}, "laptop": {"seeds": (0, 1)}, "full": {}},
}


def resolve_profile(profile: str | None = None) -> str:
    """The profile to use: ``profile`` if given, else ``$HW2_PROFILE``, else ``'full'``."""
    name = profile if profile is not None else os.environ.get("HW2_PROFILE", DEFAULT_PROFILE)
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}. Allowed profiles: {', '.join(PROFILES)}.")
    return name


def overrides_for(experiment: str, profile: str) -> dict:
    """The fields ``profile`` changes in ``experiment``'s full-spec config (empty: full spec).

    An experiment or profile missing from ``SIZES`` is an error, not the full specification: a
    forgotten entry would otherwise run at full size under smoke.
    """
    profile = resolve_profile(profile)
    if profile not in SIZES.get(experiment, {}):
        raise KeyError(f"profiles.SIZES[{experiment!r}] has no {profile!r} entry. Fix: add one to hw2/profiles.py "
                       "(an empty dict means the full specification).")
    return dict(SIZES[experiment][profile])


def config_for(experiment: str, config_cls, profile: str | None = None, **changes):
    """Build ``config_cls`` for ``experiment`` at ``profile``, then apply ``changes`` (e.g. seed)."""
    profile = resolve_profile(profile)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    overrides = overrides_for(experiment, profile)
    unknown = set(overrides) - fields
    if unknown:
        raise KeyError(f"profiles.SIZES[{experiment!r}][{profile!r}] names unknown fields {sorted(unknown)}")
    return dataclasses.replace(config_cls(**overrides), **changes)
