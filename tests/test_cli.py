import json
import os
import subprocess
import sys

import pytest


def _cli(*args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "hw2", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_list_shows_experiments_and_profiles():
    out = _cli("list")
    assert out.returncode == 0, out.stderr
    assert "p1.perceptron" in out.stdout and "smoke" in out.stdout and "laptop" in out.stdout


def test_run_prints_json_summary_and_then_reads_the_store():
    first = _cli("run", "p1.perceptron", "--profile", "smoke", "--seed", "3")
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["experiment"] == "p1.perceptron" and payload["profile"] == "smoke"
    assert set(payload["summary"]) >= {"perceptron", "hinge", "hinge_minus_perceptron"}
    second = json.loads(_cli("run", "p1.perceptron", "--profile", "smoke", "--seed", "3").stdout)
    assert second["source"] == "store" and second["summary"] == payload["summary"]


@pytest.mark.parametrize("args, message", [
    (("run", "p9.nope"), "Unknown experiment 'p9.nope'"),
    (("run", "p1.perceptron", "--profile", "huge"), "Allowed profiles: smoke, laptop, full"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message):
    out = _cli(*args)
    assert out.returncode == 2 and message in out.stderr


def test_verify_results_reports_missing_entries(tmp_path):
    out = _cli("verify-results", env_extra={"HW2_RESULTS_DIR": str(tmp_path)})
    assert out.returncode == 1 and "no current full result stored" in out.stdout
