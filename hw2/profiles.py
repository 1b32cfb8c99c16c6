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

# experiment name -> profile -> overrides of the config's (full-spec) defaults.
SIZES: dict[str, dict[str, dict]] = {
    "p1.perceptron": {
        "smoke": {"n_repeats": 50, "epochs_grid": (1, 10), "lr_grid": (0.01, 1.0)},
        "laptop": {},
        "full": {},
    },
    "p3.lenet": {
        "smoke": {"n_seeds": 2, "epochs": 1, "n_train": 1024, "n_validation": 500, "n_test": 500,
                  "probe_size": 250, "n_probe_steps": 8},
        "laptop": {"n_seeds": 3, "epochs": 2},
        "full": {},
    },
}


def resolve_profile(profile: str | None = None) -> str:
    """The profile to use: ``profile`` if given, else ``$HW2_PROFILE``, else ``'full'``."""
    name = profile if profile is not None else os.environ.get("HW2_PROFILE", DEFAULT_PROFILE)
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}. Allowed profiles: {', '.join(PROFILES)}.")
    return name


def overrides_for(experiment: str, profile: str) -> dict:
    """The fields ``profile`` changes in ``experiment``'s full-spec config (empty: full spec)."""
    profile = resolve_profile(profile)
    return dict(SIZES.get(experiment, {}).get(profile, {}))


def config_for(experiment: str, config_cls, profile: str | None = None, **changes):
    """Build ``config_cls`` for ``experiment`` at ``profile``, then apply ``changes`` (e.g. seed)."""
    profile = resolve_profile(profile)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    overrides = overrides_for(experiment, profile)
    unknown = set(overrides) - fields
    if unknown:
        raise KeyError(f"profiles.SIZES[{experiment!r}][{profile!r}] names unknown fields {sorted(unknown)}")
    return dataclasses.replace(config_cls(**overrides), **changes)
