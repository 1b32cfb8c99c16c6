import dataclasses

import pytest

from hw2 import experiments, profiles
from hw2.store import ResultStore


@dataclasses.dataclass(frozen=True)
class _Cfg:
    n: int = 3
    upstream_value: float | None = None
    seed: int = 0


_calls = []


def _compute(config):
    _calls.append(config)
    return {"value": config.n * 2.0 + config.seed, "upstream": config.upstream_value}


def _prepare(config, profile, fallback):
    return dataclasses.replace(config, upstream_value=10.0 * config.n)


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(profiles.SIZES, "t.demo", {"smoke": {"n": 1}, "laptop": {}, "full": {}})
    experiments.register("t.demo", version="1", config_cls=_Cfg, summarize=lambda d: d,
                         description="test", prepare=_prepare)(_compute)
    yield experiments.get("t.demo")
    experiments._REGISTRY.pop("t.demo", None)


def test_unknown_experiment_lists_known_names():
    with pytest.raises(KeyError, match="Known experiments: .*p1.perceptron"):
        experiments.get("p9.nothing")


def test_run_is_cache_first_and_keys_the_prepared_config(demo, tmp_path):
    store = ResultStore(tmp_path)
    _calls.clear()
    first = experiments.run("t.demo", "smoke", seed=2, store=store)
    again = experiments.run("t.demo", "smoke", seed=2, store=store)
    assert not first.from_store and again.from_store and len(_calls) == 1
    assert first.data == {"value": 4.0, "upstream": 10.0} and first.config["upstream_value"] == 10.0
    assert first.provenance["profile"] == "smoke" and first.provenance["seed"] == 2
    assert {"backend", "device", "versions", "date", "wall_time_s", "code_version"} <= set(first.provenance)
    experiments.run("t.demo", "smoke", seed=2, store=store, force=True)
    assert len(_calls) == 2
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0"):
        experiments.run("t.demo", "smoke", seed=-1, store=store)


def test_verify_store_reports_missing_and_stale(demo, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    experiments.run("t.demo", "full", store=store)
    problems = experiments.verify_store("full", store)
    assert not any(p.startswith("t.demo") for p in problems)
    assert any(p.startswith("p1.perceptron: no current full result") for p in problems)
    monkeypatch.setitem(experiments._REGISTRY, "t.demo", dataclasses.replace(demo, version="2"))
    problems = experiments.verify_store("full", store)
    assert any("t.demo version 1 != current 2" in p for p in problems)


def test_fallback_labels_a_reduced_run(demo, tmp_path, monkeypatch):
    monkeypatch.setitem(experiments._REGISTRY, "t.demo", dataclasses.replace(demo, gpu_recommended=True))
    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    result = experiments.run("t.demo", "full", fallback=True)
    assert result.profile == "laptop" and result.provenance["reduced_from"] == "full"
    from hw2 import report

    assert "reduced run: laptop profile because no full-spec result is stored" in report.reduced_note(result)


def test_no_compute_mode_only_reads_the_store(demo, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    with pytest.raises(LookupError, match="no stored result"):
        experiments.run("t.demo", "smoke", store=store)
    monkeypatch.delenv("HW2_NO_COMPUTE")
    experiments.run("t.demo", "smoke", store=store)
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    assert experiments.run("t.demo", "smoke", store=store).from_store


def test_local_caches_follow_code_changes_but_committed_results_do_not(demo, tmp_path, monkeypatch):
    assert experiments._store_version(demo, "full") == "1"
    smoke = experiments._store_version(demo, "smoke")
    assert smoke.startswith("1+code.")
    store = ResultStore(tmp_path)
    experiments.run("t.demo", "smoke", store=store)
    monkeypatch.setattr(experiments, "_library_digest", lambda: "other-code")
    assert not experiments.run("t.demo", "smoke", store=store).from_store  # edited library: recomputed
