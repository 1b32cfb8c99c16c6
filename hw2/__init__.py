"""hw2: Keras library and report for a deep-learning-systems homework.

Submodules: ``datasets``, ``profiles``, ``store``, ``experiments``, ``perceptron``, ``stats``,
``report``, ``plotting``, ``models``, ``initializers``, ``init_study``, ``dying_relu``,
``schedules``, ``finders``, ``training``. Public names are importable from ``hw2`` directly
(loaded on first use, so ``import hw2`` stays fast).

Example:
    >>> import hw2
    >>> hw2.resolve_profile("smoke")
    'smoke'
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ start-up banner is noise in the report and the CLI; real errors still print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# public name -> submodule that defines it (imported lazily)
_EXPORTS = {
    "load_mnist": "datasets", "load_fashion_mnist": "datasets", "unit_square": "datasets",
    "resolve_profile": "profiles", "config_for": "profiles",
    "ResultStore": "store", "StoredResult": "store",
    "train_margin_sgd": "perceptron",
    "wilson_interval": "stats", "paired_difference": "stats",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"hw2.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hw2' has no attribute {name!r}")
