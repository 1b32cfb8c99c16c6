"""Test-suite settings: smoke profile, a private results store, quiet TensorFlow."""

import os
import tempfile

import pytest

# Set before hw2/keras are imported by any test module.
os.environ["HW2_PROFILE"] = "smoke"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
_RESULTS = tempfile.mkdtemp(prefix="hw2-test-results-")
os.environ["HW2_RESULTS_DIR"] = _RESULTS
os.environ.pop("HW2_ANSWERS_DIR", None)


@pytest.fixture(scope="session")
def results_dir():
    """The store every test in this session writes to (never the repository's results/)."""
    return _RESULTS
