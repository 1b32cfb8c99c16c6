"""Every example script runs at the smoke profile, the way Sphinx-Gallery runs it: in-process, as
``__main__``, with a fresh Keras session and closed figures in between (this also skips paying the
TensorFlow import once per example). ``python examples/.../plot_x.py`` runs the same code."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(ROOT.glob("examples/*/plot_*.py"))
P4_EPOCH_LOG = re.compile(r"epoch \d+/\d+ +loss")  # hw2.training.EpochLogger's line


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[f"{p.parent.name}/{p.name}" for p in EXAMPLES])
def test_example_runs_at_smoke_profile(script, tmp_path, monkeypatch, capsys):
    import keras
    import matplotlib.pyplot as plt

    monkeypatch.setenv("HW2_PROFILE", "smoke")
    monkeypatch.setenv("HW2_ANSWERS_DIR", str(tmp_path))
    monkeypatch.chdir(script.parent)
    keras.backend.clear_session()
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        plt.close("all")
    out = capsys.readouterr().out
    assert "profile smoke" in out  # the page says which profile produced its numbers
    assert list(tmp_path.glob("*.json")), "the example recorded no answer for the landing page"
    if script.parent.name == "p3_batchnorm_dropout":  # every P3 page states how long each variant trained
        assert "stopping rule: early stopping on the validation loss" in out
        assert "best epoch (seeds)" in out and "-epoch cap" in out
    if script.parent.name == "p4_cyclical_policies":
        assert "optimizer updates" in out  # every P4 page states how much training its numbers rest on
        if "0 optimizer updates" not in out:  # 4.1 trains nothing; the training pages are reduced at smoke
            assert "reduced run" in out
        progress = [line for line in out.splitlines() if "it/s" in line or "█" in line or "s/it" in line
                    or P4_EPOCH_LOG.search(line)]
        assert not progress, f"progress-bar or per-epoch log lines on the page: {progress[:3]}"
