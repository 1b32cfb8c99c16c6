import ast
import dataclasses
from pathlib import Path

import pytest

from hw2 import experiments, profiles, provenance
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


def _prepare(config, upstream):
    return dataclasses.replace(config, upstream_value=10.0 * config.n)


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(profiles.SIZES, "t.demo", {"smoke": {"n": 1}, "laptop": {}, "full": {}})
    experiments.names()  # discover the real experiments, then register into a copy that teardown drops
    monkeypatch.setattr(experiments, "_REGISTRY", dict(experiments._REGISTRY))
    experiments.register("t.demo", version="1", config_cls=_Cfg, summarize=lambda d: d,
                         description="test", prepare=_prepare)(_compute)
    return experiments.get("t.demo")


def test_summarize_defaults_to_the_summary_member(monkeypatch):
    experiments.names()  # discover the real experiments first (as the `demo` fixture does)
    monkeypatch.setattr(experiments, "_REGISTRY", dict(experiments._REGISTRY))
    experiments.register("t.plain", version="1", config_cls=_Cfg, description="test")(_compute)
    assert experiments.get("t.plain").summarize({"summary": {"accuracy": 0.9}, "curve": [1, 2]}) == {"accuracy": 0.9}
    # P1 and three P2 experiments rely on it.
    assert experiments.get("p2.init").summarize is experiments.summary_member


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
    import keras

    backend = {"tensorflow": "tensorflow", "jax": "jax"}[keras.backend.backend()]
    assert first.provenance["versions"]["keras"] == keras.__version__  # what ran, e.g. JAX and Keras on the GPU
    assert backend in first.provenance["versions"]
    experiments.run("t.demo", "smoke", seed=2, store=store, force=True)
    assert len(_calls) == 2
    with pytest.raises(ValueError, match=r"`seed` must be an integer in \[0, 4294967295\]"):
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


@pytest.mark.parametrize("value, off", [("1", True), ("TRUE", True), ("on", True), ("0", False),
                                        ("false", False), ("", False), ("No", False)])
def test_no_compute_reads_its_value_not_its_presence(demo, tmp_path, monkeypatch, value, off):
    monkeypatch.setenv("HW2_NO_COMPUTE", value)
    assert experiments.computing_switched_off() is off
    if off:
        with pytest.raises(LookupError, match="no stored result"):
            experiments.run("t.demo", "smoke", store=ResultStore(tmp_path))
    else:
        assert not experiments.run("t.demo", "smoke", store=ResultStore(tmp_path)).from_store


def test_no_compute_rejects_a_value_it_does_not_know(monkeypatch):
    monkeypatch.setenv("HW2_NO_COMPUTE", "maybe")
    with pytest.raises(ValueError, match="`HW2_NO_COMPUTE` must be one of .*Received: HW2_NO_COMPUTE='maybe'"):
        experiments.computing_switched_off()


def test_no_compute_with_force_does_not_claim_the_result_is_missing(demo, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    experiments.run("t.demo", "smoke", store=store)
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    with pytest.raises(LookupError, match=r"is to be recomputed \(force\), but computing is switched off") as info:
        experiments.run("t.demo", "smoke", store=store, force=True)
    assert "no stored result" not in str(info.value)


def test_verify_store_counts_what_run_serves_from_the_committed_full_result(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    monkeypatch.setitem(profiles.SIZES, "t.demo", {"smoke": {"n": 1}, "laptop": {}, "full": {}})
    assert "t.demo: no current laptop result stored" in experiments.verify_store("laptop", only=["t.demo"])
    experiments.run("t.demo", "full")
    assert experiments.run("t.demo", "laptop").path.parent.parent.name == "full"  # what run serves ...
    assert experiments.verify_store("laptop", only=["t.demo"]) == []  # ... verify counts as current
    assert experiments.verify_store("smoke", only=["t.demo"]) == ["t.demo: no current smoke result stored"]


def test_local_caches_follow_code_changes_but_committed_results_do_not(demo, tmp_path, monkeypatch):
    assert experiments._store_version(demo, "full") == "1"
    smoke = experiments._store_version(demo, "smoke")
    assert smoke.startswith("1+code.")
    store = ResultStore(tmp_path)
    experiments.run("t.demo", "smoke", store=store)
    monkeypatch.setattr(experiments, "_library_digest", lambda: "other-code")
    assert not experiments.run("t.demo", "smoke", store=store).from_store  # edited library: recomputed


# ------------------------------------------------------------------ parts, seeds, provenance, verify
@dataclasses.dataclass(frozen=True)
class _MultiCfg:
    n: int = 2
    n_seeds: int = 3
    seed: int = 0


_trained = []


def _train_one(n, run_seed):
    _trained.append(run_seed)
    return {"score": float(n * 100 + run_seed)}


def _multi_compute(config):
    runs = [experiments.cached_part("run", {"n": config.n, "run_seed": s}, lambda s=s: _train_one(config.n, s))
            for s in range(config.seed, config.seed + config.n_seeds)]
    return {"scores": [r["score"] for r in runs]}


@pytest.fixture
def multi(monkeypatch):
    monkeypatch.setitem(profiles.SIZES, "t.multi", {"smoke": {"n": 1}, "laptop": {}, "full": {}})
    experiments.names()
    monkeypatch.setattr(experiments, "_REGISTRY", dict(experiments._REGISTRY))
    experiments.register("t.multi", version="1", config_cls=_MultiCfg, summarize=lambda d: d,
                         description="test")(_multi_compute)
    _trained.clear()
    return experiments.get("t.multi")


def test_parts_are_cached_but_follow_force_and_code_changes(multi, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    first = experiments.run("t.multi", "smoke", store=store)
    assert first.data == {"scores": [100.0, 101.0, 102.0]} and _trained == [0, 1, 2]
    experiments.run("t.multi", "smoke", store=store, n_seeds=4)  # a new summary reuses the cached parts
    assert _trained == [0, 1, 2, 3]
    experiments.run("t.multi", "smoke", store=store, force=True)  # force: every part recomputed
    assert _trained == [0, 1, 2, 3, 0, 1, 2]
    monkeypatch.setattr(experiments, "_library_digest", lambda: "edited-library")
    experiments.run("t.multi", "smoke", store=store)  # other code: old parts are not served
    assert _trained == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    assert experiments.cached_part("run", {"n": 1}, lambda: {"outside": 1}) == {"outside": 1}  # no run: no cache


def test_a_result_assembled_from_cached_parts_records_what_they_took_to_compute(multi, tmp_path):
    store = ResultStore(tmp_path)
    first = experiments.run("t.multi", "smoke", store=store)
    parts = first.provenance["parts"]
    assert parts["n_parts"] == 3 and parts["n_cached"] == 0 and parts["n_untimed"] == 0
    assert 0 <= parts["compute_time_s"] <= first.provenance["wall_time_s"] + 1e-3
    assembled = experiments.run("t.multi", "smoke", store=store, n_seeds=4)  # 3 parts cached, 1 new
    assert assembled.provenance["parts"]["n_parts"] == 4 and assembled.provenance["parts"]["n_cached"] == 3
    assert "assembled in" in provenance.compute_time(assembled.provenance)


def test_an_edited_part_is_an_error_naming_its_file(multi, tmp_path):
    import json

    import numpy as np

    from hw2.store import ResultIntegrityError

    store = ResultStore(tmp_path)
    experiments.run("t.multi", "smoke", store=store)
    part = sorted((tmp_path / experiments.PARTS_FOLDER).rglob("*.npz"))[0]
    with np.load(part) as npz:
        meta = json.loads(bytes(npz["__meta__"]).decode())
    meta["data"]["score"] = 1e6
    np.savez_compressed(part, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    with pytest.raises(ResultIntegrityError, match=str(part)):
        experiments.run("t.multi", "smoke", store=store, n_seeds=4)


def test_every_seed_is_checked_before_any_work(multi, tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(ValueError, match=r"`seed` must be an integer in \[0, 4294967295\].*seed=4294967296"):
        experiments.run("t.multi", "smoke", seed=experiments.MAX_SEED - 1, store=store)
    assert _trained == []
    for bad in (-1, experiments.MAX_SEED + 1, 1.5, True):
        with pytest.raises(ValueError, match="`seed` must be an integer"):
            experiments.run("t.multi", "smoke", seed=bad, store=store, n_seeds=1)
    assert _trained == []
    assert experiments.run("t.multi", "smoke", seed=experiments.MAX_SEED, store=store, n_seeds=1).data == {
        "scores": [100.0 + experiments.MAX_SEED]}


def test_code_version_is_taken_when_the_run_starts(demo, tmp_path, monkeypatch):
    from hw2 import provenance

    state = {"tree": "abc123"}
    monkeypatch.setattr(provenance, "code_version", lambda: state["tree"])
    monkeypatch.setattr(provenance, "_current_code_version", lambda: state["tree"])

    def compute(config):
        state["tree"] = "abc123+dirty"  # someone edits the tree during a long run
        return {"value": 1.0}

    monkeypatch.setitem(experiments._REGISTRY, "t.demo", dataclasses.replace(demo, compute=compute))
    result = experiments.run("t.demo", "smoke", store=ResultStore(tmp_path))
    assert result.provenance["code_version"] == "abc123"


def test_verify_store_uses_the_runners_version_and_names_bad_files(demo, tmp_path):
    store = ResultStore(tmp_path)
    entry = experiments.run("t.demo", "smoke", store=store).path
    assert not any("t.demo" in p for p in experiments.verify_store("smoke", store))  # just computed: current
    with pytest.raises(ValueError, match="Allowed profiles"):
        experiments.verify_store("huge", store)
    (tmp_path / "t.demo" / "t.demo-0000000000000000.npz").write_bytes(b"junk")
    (tmp_path / "p1.perceptron").mkdir()
    misplaced = tmp_path / "p1.perceptron" / "p1.perceptron-1111111111111111.npz"
    misplaced.write_bytes(entry.read_bytes())
    problems = experiments.verify_store("smoke", store)
    assert any(p.startswith("t.demo/t.demo-0000000000000000.npz: unreadable result file") for p in problems)
    assert any(p.startswith("p1.perceptron/p1.perceptron-1111111111111111.npz: misplaced: it holds a t.demo "
                            f"entry that belongs at t.demo/{entry.name}") for p in problems)
    assert not any(p.startswith("t.demo: no current") for p in problems)


def test_verify_store_reports_an_entry_without_digest(demo, tmp_path):
    import json

    import numpy as np

    store = ResultStore(tmp_path)
    path = experiments.run("t.demo", "full", store=store).path
    with np.load(path) as npz:
        meta = json.loads(bytes(npz["__meta__"]).decode())
    meta.pop("sha256")
    np.savez_compressed(path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    problems = experiments.verify_store("full", store)
    assert any(p.startswith(f"t.demo/{path.name}: result file") and "has no content digest" in p for p in problems)
    assert any(p.startswith("t.demo: no current") for p in problems)  # not served, so not current


def test_recompute_compares_every_number_and_never_writes_the_store(demo, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    stored = experiments.run("t.demo", "full", seed=1, store=store)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert experiments.recompute_and_compare("t.demo", "full", store) == []
    monkeypatch.setitem(experiments._REGISTRY, "t.demo", dataclasses.replace(
        demo, compute=lambda c: {"value": c.n * 2.0 + c.seed + 1e-3, "upstream": c.upstream_value}))
    problems = experiments.recompute_and_compare("t.demo", "full", store)
    assert problems == [f"t.demo/{stored.path.name}: data/value: 1 of 1 values differ (e.g. 7.0 != 7.001)"]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert experiments.recompute_and_compare("t.demo", "smoke", store) == [
        "t.demo: no current smoke result stored to recompute"]


def test_compare_data_tolerance_and_structure():
    import numpy as np

    tol = experiments.RECOMPUTE_RTOL
    assert experiments.compare_data({"x": np.array([1.0, np.nan])}, {"x": np.array([1.0 + tol / 2, np.nan])}) == []
    assert experiments.compare_data({"x": np.array([1.0])}, {"x": np.array([1.0 + 3 * tol])}) != []
    assert experiments.compare_data({"n": np.array([1, 2])}, {"n": np.array([1, 3])}) == [
        "data/n: 1 of 2 values differ"]
    assert experiments.compare_data({"a": 1, "b": "x"}, {"a": 1, "c": "x"}) == [
        "data/b: only in the stored result", "data/c: only in the recomputed result"]


def test_a_reduced_profile_with_the_full_config_reads_the_committed_result(tmp_path, monkeypatch):
    """P1 at laptop is the full specification: the committed full result answers it, computed nowhere."""
    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    calls = []
    original = experiments.get("p4.fashion_mnist").compute
    experiment = experiments.get("p4.fashion_mnist")
    monkeypatch.setitem(experiments._REGISTRY, "p4.fashion_mnist",
                        dataclasses.replace(experiment, compute=lambda c: calls.append(c) or original(c)))
    full = experiments.run("p4.fashion_mnist", "full")
    laptop = experiments.run("p4.fashion_mnist", "laptop")
    assert len(calls) == 1 and laptop.from_store and laptop.profile == "full" and laptop.path == full.path
    assert not (tmp_path / "laptop").exists()


# ------------------------------------------------- render-only modules: out of the cache key, imported by none
_PACKAGE = Path(experiments.__file__).resolve().parents[1]
#: Function-level imports of a render-only module that a computing module may make: readings asked
#: for on the command line and never stored. Exactly these; a new one must be argued for here.
RENDER_ONLY_IMPORTS_ALLOWED = {("hw2/experiments/p4_policies.py", "_policy_summary")}


def _edited_read_bytes(monkeypatch, target: str):
    """Path.read_bytes as if ``hw2/<target>`` had been edited (a comment appended)."""
    original = Path.read_bytes

    def read_bytes(self):
        data = original(self)
        return data + b"\n# edited\n" if Path(self).resolve() == _PACKAGE / target else data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_editing_a_render_only_module_keeps_the_reduced_profiles_cache_key(monkeypatch):
    digest = experiments._library_digest.__wrapped__  # uncached: the session's cached digest stays as it is
    before = digest()
    assert before == experiments._library_digest()
    assert set(experiments.RENDER_ONLY_MODULES) == {"plotting.py", "report.py", "experiments/p1_analysis.py",
                                                "experiments/p2_analysis.py", "experiments/p3_analysis.py",
                                                "experiments/p4_finders_analysis.py",
                                                "experiments/p4_policies_analysis.py"}
    for module in experiments.RENDER_ONLY_MODULES:
        assert (_PACKAGE / module).is_file(), module  # a renamed module would silently join the key
        _edited_read_bytes(monkeypatch, module)
        assert digest() == before, module
    for module in ("experiments/p3_lenet.py", "experiments/p4_policies.py", "experiments/p4_setup.py",
                   "stats.py", "sweeps.py"):  # code that computes: a new key
        _edited_read_bytes(monkeypatch, module)
        assert digest() != before, module


def _imports_of(tree: ast.AST, module: str):
    """``(function or None, imported module names)`` of every import statement in ``module``'s tree."""
    package = module if module.endswith(".__init__") else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")

    def names(node):
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
        return [base] + [f"{base}.{alias.name}" for alias in node.names]

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield function, names(child)
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            yield from visit(child, inner)

    yield from visit(tree, None)


def _render_only_imports(sources: dict[str, str]):
    """Module-level and function-level imports of a render-only module in ``{relative path: source}``."""
    render_only = {"hw2." + name.removesuffix(".py").replace("/", ".") for name in experiments.RENDER_ONLY_MODULES}
    at_module, in_function = [], set()
    for relative, source in sources.items():
        module = "hw2." + relative.removeprefix("hw2/").removesuffix(".py").replace("/", ".")
        for function, imported in _imports_of(ast.parse(source), module):
            if not any(name == r or name.startswith(r + ".") for name in imported for r in render_only):
                continue
            if function:
                in_function.add((relative, function))
            else:
                at_module.append(relative)
    return at_module, in_function


def test_no_computing_module_imports_a_render_only_one():
    sources = {}
    for path in sorted(_PACKAGE.rglob("*.py")):
        name = path.relative_to(_PACKAGE).as_posix()
        if name not in experiments.RENDER_ONLY_MODULES:
            sources[f"hw2/{name}"] = path.read_text(encoding="utf-8")
    assert "hw2/experiments/p4_finders.py" in sources and "hw2/chain.py" in sources
    assert "hw2/experiments/p3_lenet.py" in sources and "hw2/experiments/p3_analysis.py" not in sources
    at_module, in_function = _render_only_imports(sources)
    assert at_module == []
    assert in_function == RENDER_ONLY_IMPORTS_ALLOWED


@pytest.mark.parametrize("relative, source, expected", [
    ("hw2/sweeps.py", "from hw2 import plotting\n", (["hw2/sweeps.py"], set())),
    ("hw2/sweeps.py", "import hw2.report as r\n", (["hw2/sweeps.py"], set())),
    ("hw2/experiments/p4_policies.py", "from .p4_policies_analysis import run_summary\n",
     (["hw2/experiments/p4_policies.py"], set())),
    ("hw2/experiments/__init__.py", "try:\n    from . import p4_finders_analysis\nexcept ImportError:\n    pass\n",
     (["hw2/experiments/__init__.py"], set())),
    ("hw2/experiments/p4_data.py", "from .. import plotting\n", (["hw2/experiments/p4_data.py"], set())),
    ("hw2/experiments/p3_lenet.py", "from hw2.experiments.p3_analysis import verdict\n",
     (["hw2/experiments/p3_lenet.py"], set())),
    ("hw2/chain.py", "def f():\n    from hw2.experiments import p4_policies_analysis\n", ([], {("hw2/chain.py", "f")})),
    ("hw2/chain.py", "class A:\n    def g(self):\n        from hw2.plotting import x\n", ([], {("hw2/chain.py", "g")})),
    ("hw2/chain.py", "from hw2 import experiments, profiles\nfrom hw2.experiments import p4_policies\n", ([], set())),
    ("hw2/chain.py", "from hw2.reporting import x\nimport hw2.plotting_helpers\n", ([], set())),
])
def test_the_import_scan_finds_every_form_of_import(relative, source, expected):
    assert _render_only_imports({relative: source}) == expected


@pytest.mark.slow
def test_training_is_reproduced_by_recompute(tmp_path):
    """A real training run (smoke CLR on MiniGoogLeNet) recomputed from its seed gives every stored
    number again: only its wall-clock fields may differ, and those are not compared."""
    store = ResultStore(tmp_path)
    stored = experiments.run("p4.clr", "smoke", store=store)
    assert len(stored.data["history"]["seconds"]) > 0  # timing fields are stored ...
    assert experiments.recompute_and_compare("p4.clr", "smoke", store) == []  # ... and nothing else differs
