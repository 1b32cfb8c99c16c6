import dataclasses
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
    assert "p4.clr" in out.stdout and "p4.compare" not in out.stdout  # 4.7 stores nothing: no experiment


def test_run_prints_json_summary_and_then_reads_the_store():
    first = _cli("run", "p1.perceptron", "--profile", "smoke", "--seed", "3")
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["experiment"] == "p1.perceptron" and payload["profile"] == "smoke"
    assert set(payload["summary"]) >= {"perceptron", "hinge", "hinge_minus_perceptron"}
    assert payload["provenance"]["seed"] == 3  # the seed reached the computation
    second = json.loads(_cli("run", "p1.perceptron", "--profile", "smoke", "--seed", "3").stdout)
    assert second["source"] == "store" and second["summary"] == payload["summary"]
    forced = _cli("run", "p1.perceptron", "--profile", "smoke", "--seed", "3", "--force")
    assert forced.returncode == 0, forced.stderr
    forced = json.loads(forced.stdout)
    assert forced["source"] == "computed" and forced["provenance"]["seed"] == 3
    assert forced["summary"] == payload["summary"]  # same seed, same numbers


@pytest.mark.parametrize("args, message", [
    (("run", "p9.nope"), "Unknown experiment 'p9.nope'"),
    (("run", "p1.perceptron", "--profile", "huge"), "Allowed profiles: smoke, laptop, full"),
    (("run", "p4.compare"), "Unknown experiment 'p4.compare'"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message):
    out = _cli(*args)
    assert out.returncode == 2 and message in out.stderr


def test_verify_results_reports_missing_entries(tmp_path):
    out = _cli("verify-results", env_extra={"HW2_RESULTS_DIR": str(tmp_path)})
    assert out.returncode == 1 and "no current full result stored" in out.stdout


def test_every_seed_of_a_multi_seed_experiment_is_checked_before_training():
    out = _cli("run", "p3.lenet", "--profile", "smoke", "--seed", "4294967295")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "`seed` must be an integer in [0, 4294967295]" in out.stderr and "seed=4294967296" in out.stderr
    assert "[p3]" not in out.stderr  # nothing trained


def test_verify_results_rejects_an_unknown_profile(tmp_path):
    out = _cli("verify-results", "--profile", "huge", env_extra={"HW2_RESULTS_DIR": str(tmp_path)})
    assert out.returncode == 2 and "Allowed profiles: smoke, laptop, full" in out.stderr


# In-process: a registry holding one cheap experiment, so a complete store takes no time to build.
@dataclasses.dataclass(frozen=True)
class _Cfg:
    n: int = 3
    seed: int = 0


@pytest.fixture
def only_demo(monkeypatch, tmp_path):
    from hw2 import experiments, profiles

    monkeypatch.setattr(experiments, "_REGISTRY", {})
    monkeypatch.setattr(experiments, "_DISCOVERED", True)
    monkeypatch.setitem(profiles.SIZES, "t.demo", {"smoke": {"n": 1}, "laptop": {}, "full": {}})
    experiments.register("t.demo", version="1", config_cls=_Cfg, summarize=lambda d: d,
                         description="test")(lambda c: {"value": float(c.n + c.seed)})
    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    return tmp_path


def _main(*args):
    from hw2.__main__ import main

    try:
        return main(list(args))
    except SystemExit as exc:
        return exc.code


def test_verify_results_exits_0_on_a_complete_store(only_demo, capsys):
    assert _main("verify-results", "--profile", "smoke") == 1
    assert _main("run", "t.demo", "--profile", "smoke") == 0
    capsys.readouterr()
    assert _main("verify-results", "--profile", "smoke") == 0
    assert "every experiment: current result stored" in capsys.readouterr().out
    assert _main("verify-results", "--profile", "smoke", "--recompute", "t.demo") == 0
    assert "t.demo: recomputed in" in capsys.readouterr().out


def _error_line(capsys) -> str:
    """The one error line on stderr (after the progress lines starting with [hw2]); no traceback."""
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[hw2]")]
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    return lines[0]


def test_expected_failures_are_one_line_with_exit_2(only_demo, monkeypatch, capsys):
    from hw2 import datasets

    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    assert _main("run", "t.demo", "--profile", "smoke") == 2
    err = _error_line(capsys)
    assert err.startswith("error: t.demo (profile smoke, seed 0) has no stored result") and "Fix:" in err
    monkeypatch.delenv("HW2_NO_COMPUTE")

    blocker = only_demo / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("HW2_RESULTS_DIR", str(blocker))
    assert _main("run", "t.demo", "--profile", "smoke") == 2
    err = _error_line(capsys)
    assert err.startswith("error: ") and str(blocker) in err
    with pytest.raises(OSError):
        _main("run", "t.demo", "--profile", "smoke", "--debug")  # --debug: the real exception

    def offline(_spec):
        raise ConnectionError("no route to host")

    monkeypatch.setenv("HW2_DATA_DIR", str(only_demo / "data"))
    monkeypatch.setitem(datasets.SOURCES, "mnist", [("keras", offline)])
    assert _main("fetch-data") == 2
    err = _error_line(capsys)
    assert err.startswith("error: Could not obtain a verified copy of mnist")
    assert "keras: ConnectionError: no route to host" in err and "HW2_DATA_DIR" in err


def test_run_refuses_a_result_whose_digest_was_removed_then_edited(only_demo, capsys):
    import numpy as np

    assert _main("run", "t.demo", "--profile", "smoke") == 0
    (path,) = only_demo.glob("smoke/t.demo/*.npz")
    with np.load(path) as npz:
        meta = json.loads(bytes(npz["__meta__"]).decode())
        members = {m: npz[m] for m in npz.files if m != "__meta__"}
    del meta["sha256"]
    meta["data"]["value"] = 99.0
    np.savez_compressed(path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **members)
    capsys.readouterr()
    assert _main("run", "t.demo", "--profile", "smoke") == 2
    assert "has no content digest" in _error_line(capsys)


def test_verify_results_names_the_code_that_changed_since_a_result_was_computed(only_demo, capsys, monkeypatch):
    from hw2 import provenance

    monkeypatch.setattr(provenance, "source_digests", lambda module, exclude=(): {"hw2/a.py": "1", "hw2/b.py": "2"})
    assert _main("run", "t.demo", "--profile", "smoke") == 0
    capsys.readouterr()
    assert _main("verify-results", "--profile", "smoke") == 0
    assert "library code of every checked result is unchanged" in capsys.readouterr().out
    monkeypatch.setattr(provenance, "source_digests", lambda module, exclude=(): {"hw2/a.py": "1", "hw2/b.py": "3"})
    assert _main("verify-results", "--profile", "smoke") == 0  # a changed file need not change a number
    out = capsys.readouterr().out
    assert "1 stored result(s) were computed by library code that has changed since" in out
    assert "1 file(s) changed: hw2/b.py" in out and "--recompute NAME" in out
