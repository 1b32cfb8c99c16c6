"""Every example script runs on its own at the smoke profile (as `python examples/.../plot_x.py`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(ROOT.glob("examples/*/plot_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in EXAMPLES])
def test_example_runs_at_smoke_profile(script, results_dir, tmp_path):
    env = dict(os.environ, HW2_PROFILE="smoke", HW2_RESULTS_DIR=results_dir, MPLBACKEND="Agg",
               HW2_ANSWERS_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, str(script)], cwd=script.parent, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, f"{script.name} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "profile smoke" in out.stdout  # the page says which profile produced its numbers
    assert list(tmp_path.glob("*.json")), "the example recorded no answer for the landing page"
