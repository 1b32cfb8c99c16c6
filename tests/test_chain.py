"""``python -m hw2 chain``: the P4 chain's order, dependencies, copying, failures, and one end-to-end
smoke run under JAX (the GPU command, on the CPU)."""

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
import types
from pathlib import Path

import numpy as np
import pytest

from hw2 import chain
from hw2.store import ResultStore

FINDERS = ["p4.lr_sweep", "p4.lr_range_test", "p4.batch_sweep", "p4.noise_scale"]
POLICIES = ["p4.clr", "p4.cbs", "p4.cbs_matched", "p4.baseline"]
HAS_JAX = importlib.util.find_spec("jax") is not None


def _labels(plan):
    return [piece.label for piece in plan]


def test_the_p4_plan_runs_finders_then_each_seed_and_nothing_for_4_7():
    plan = chain.p4_plan(0, seeds=(0, 1, 2), compare_seeds=(0, 1, 2), profile="full")
    assert _labels(plan) == ([f"{n} seed 0" for n in FINDERS] + [f"{n} seed {s}" for s in (0, 1, 2) for n in POLICIES])
    assert len(plan) == 16 and plan.notes == ()
    assert "p4.compare" not in {p.experiment for p in plan} and "p4.compare" not in plan.experiments
    by_label = {piece.label: piece for piece in plan}
    assert by_label["p4.cbs seed 1"].needs == (("p4.lr_sweep", 0), ("p4.batch_sweep", 0))  # finders at finder_seed
    assert by_label["p4.lr_range_test seed 0"].needs == ()


def test_the_finders_run_at_the_finder_seed_whatever_the_policy_seeds():
    plan = chain.p4_plan(3, seeds=(5,), compare_seeds=(0, 1))
    assert [p.seed for p in plan if p.experiment in FINDERS] == [3, 3, 3, 3]
    assert [p.seed for p in plan if p.experiment in POLICIES] == [5, 5, 5, 5]


def test_the_plan_says_which_of_4_7s_seeds_a_chain_leaves_out():
    plan = chain.p4_plan(0, seeds=(0,), compare_seeds=(0, 1, 2))
    assert len(plan) == 8  # every piece still runs; 4.7 will find the other seeds missing
    assert plan.notes == ("4.7 compares the policies at seeds 0 1 2; this chain runs seeds 0, so 4.7 will find "
                          "seeds 1 2 missing",)
    assert chain.p4_plan(0, seeds=(2, 0, 1), compare_seeds=(0, 1, 2)).notes == ()
    assert chain.p4_plan(0, seeds=(0, 1, 2, 3), compare_seeds=(0, 1)).notes == ()  # extra seeds are no gap
    assert chain.p4_plan(0, seeds=(1, 5), compare_seeds=(0, 1, 2)).notes[0].endswith("will find seeds 0 2 missing")


def test_only_keeps_the_named_experiments_in_order_and_rejects_unknown_names():
    plan = chain.p4_plan(0, seeds=(0, 1), compare_seeds=(0, 1), only=["p4.baseline", "p4.lr_sweep"])
    assert _labels(plan) == ["p4.lr_sweep seed 0", "p4.baseline seed 0", "p4.baseline seed 1"]
    with pytest.raises(ValueError, match=r"Argument `only` must be names of pieces of chain p4 .*only=\['p4.nope'\]"):
        chain.p4_plan(0, seeds=(0,), compare_seeds=(0,), only=["p4.nope"])
    with pytest.raises(ValueError, match=r"must be names of pieces of chain p4 .*only=\['p4.compare'\]"):
        chain.p4_plan(0, seeds=(0,), compare_seeds=(0, 1), only=["p4.compare"])  # 4.7 is no piece: it stores nothing
    with pytest.raises(ValueError, match=r"Argument `seeds` must be distinct .*seeds=\[0, 0\]"):
        chain.p4_plan(0, seeds=(0, 0), compare_seeds=(0,))


def test_the_declared_needs_are_exactly_what_the_prepare_hooks_read(monkeypatch):
    """Each chain member's ``needs`` (the chain's graph) must be what its prepare hook reads: fewer
    fails at once (Upstream refuses an undeclared read), more would order the chain for nothing."""
    from hw2 import experiments
    from hw2.experiments import p4_policies

    asked = []
    upstream = {"lr_min": 1e-3, "lr_max": 1e-1, "best_lr": 1e-2, "reference_loss": 2.3, "b_min": 64, "b_max": 256}
    real_result = experiments.Upstream.result

    def fake_result(self, name, seed):
        if name not in self.needs:  # the real check, without running anything
            real_result(self, name, seed)
        asked.append((name, seed))
        return upstream

    monkeypatch.setattr(experiments.Upstream, "result", fake_result)
    members = experiments.chain_members("p4")
    for experiment in members:
        asked.clear()
        experiment.prepared(experiment.config("smoke", seed=7), "smoke")
        assert sorted(set(asked)) == sorted((need, 0) for need in experiment.needs), experiment.name  # finder_seed
    assert [e.name for e in members if e.per_seed] == list(p4_policies.POLICIES.values())  # 4.7's, in order
    # every P4 experiment that trains is a piece of the chain (p4.fashion_mnist only describes the data)
    trains = [name for name in experiments.names() if name.startswith("p4.") and name != "p4.fashion_mnist"]
    assert sorted(e.name for e in members) == sorted(trains) == sorted(FINDERS + POLICIES)
    assert sorted({e.chain for e in experiments._REGISTRY.values()} - {None}) == list(chain.CHAINS)


def test_a_prepare_hook_that_reads_an_undeclared_experiment_fails_at_once():
    from hw2 import experiments

    upstream = experiments.Upstream("p4.clr", ("p4.lr_sweep",), "smoke")
    with pytest.raises(RuntimeError, match=r"p4.clr's prepare hook reads p4.batch_sweep, which its registration "
                                           r"does not declare"):
        upstream.result("p4.batch_sweep", seed=0)


@pytest.fixture
def fake_chain_member(monkeypatch):
    """Register ``p4.fake``, a finder needing ``p4.batch_sweep``, first in the registry (it would run
    first by registration order); the registry is restored afterwards."""
    from hw2 import experiments

    experiments.names()  # discover the real ones first
    registry = dict(experiments._REGISTRY)
    fake = experiments.Experiment("p4.fake", "1", object, lambda config: {}, dict, "fake",
                                  needs=("p4.batch_sweep",), chain="p4")
    monkeypatch.setattr(experiments, "_REGISTRY", {"p4.fake": fake, **registry})
    return fake


def test_the_chain_order_comes_from_the_registry_needs_first(fake_chain_member):
    plan = chain.p4_plan(0, seeds=(0,), compare_seeds=(0,))
    labels = _labels(plan)
    assert labels.index("p4.fake seed 0") == labels.index("p4.batch_sweep seed 0") + 1  # right after its need
    assert labels[:2] == ["p4.lr_sweep seed 0", "p4.lr_range_test seed 0"]  # the others keep their order
    assert {p.label: p.needs for p in plan}["p4.fake seed 0"] == (("p4.batch_sweep", 0),)
    assert "p4.fake" in plan.experiments


def test_a_cycle_or_an_unknown_need_in_a_chain_is_an_error(monkeypatch):
    from hw2 import experiments

    experiments.names()
    registry = dict(experiments._REGISTRY)
    make = lambda name, needs, per_seed=False: experiments.Experiment(  # noqa: E731
        name, "1", object, lambda c: {}, dict, name, needs=needs, chain="loop", per_seed=per_seed)
    monkeypatch.setattr(experiments, "_REGISTRY", {**registry, "a": make("a", ("b",)), "b": make("b", ("a",))})
    with pytest.raises(ValueError, match="form a cycle"):
        experiments.chain_members("loop")
    monkeypatch.setattr(experiments, "_REGISTRY", {**registry, "a": make("a", ("nowhere",))})
    with pytest.raises(KeyError, match="'nowhere', which is not a registered experiment"):
        experiments.chain_members("loop")
    monkeypatch.setattr(experiments, "_REGISTRY", {**registry, "a": make("a", ("b",)), "b": make("b", (), True)})
    with pytest.raises(ValueError, match="a runs once but needs the per-seed b"):
        experiments.chain_members("loop")


class FakeStore:
    """A runner writing one distinct file per call into a store folder, like ``experiments.run``."""

    def __init__(self, root: Path, fail=(), sleep=0.0, also_writes=None):
        self.root, self.fail, self.sleep, self.calls = root, set(fail), sleep, []
        self.also_writes = also_writes or {}

    def path(self, name, seed):
        return ResultStore(self.root).path_for(name, {"seed": seed}, "1")

    def __call__(self, name, profile, seed):
        self.calls.append((name, seed))
        time.sleep(self.sleep)
        if name in self.fail:
            raise RuntimeError(f"{name} broke\nsecond line")
        for upstream in self.also_writes.get(name, ()):
            self._write(upstream, 0)
        path = self._write(name, seed)
        return types.SimpleNamespace(path=path, from_store=False, data={"images_per_second": 10.0, "seconds": 2.0})

    def _write(self, name, seed):  # a real, sealed store entry: the copy checks its digest
        return ResultStore(self.root).save(name, {"seed": seed}, "1", {"name": name, "seed": seed}, {}).path


def test_each_piece_is_copied_before_the_next_one_starts(tmp_path):
    plan = chain.p4_plan(0, seeds=(0, 1, 2), compare_seeds=(0, 1, 2))
    store, out, lines = FakeStore(tmp_path / "store"), tmp_path / "out", []
    seen_before = []

    def runner(name, profile, seed):
        seen_before.append(sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.npz")))
        return store(name, profile, seed)

    outcomes = chain.run_chain(plan, out, runner=runner, echo=lines.append)
    assert [o.status for o in outcomes] == ["computed"] * 16
    assert [len(s) for s in seen_before] == list(range(16))  # piece k finds the k before it copied
    for piece in plan:
        source = store.path(piece.experiment, piece.seed)
        copy = out / piece.experiment / source.name
        assert copy.read_bytes() == source.read_bytes()
    assert not list(out.rglob("*.tmp"))
    for index, piece in enumerate(plan, 1):
        line = next(line for line in lines if line.startswith(f"[chain] {index}/16 {piece.label}:"))
        assert "computed in" in line and "total" in line
        if piece.experiment in POLICIES:
            assert "10 img/s (20 images in 2.0 s of training)" in line
        elif piece.experiment == "p4.lr_sweep":  # the fake result lacks the sweep: still a finished piece
            assert "img/s not read (KeyError: 'sweep')" in line
    assert (out / chain.LOG_NAME).read_text().splitlines() == lines


def test_tar_mode_keeps_one_archive_of_everything_finished(tmp_path):
    plan = chain.p4_plan(0, seeds=(0,), compare_seeds=(0,), profile="smoke")
    store, out = FakeStore(tmp_path / "store"), tmp_path / "out"
    members_before = []

    def runner(name, profile, seed):
        archive = out / "p4-smoke.tar"
        if archive.exists():
            with tarfile.open(archive) as tar:
                members_before.append(len(tar.getnames()))
        return store(name, profile, seed)

    chain.run_chain(plan, out, tar=True, runner=runner, echo=lambda line: None)
    assert members_before == list(range(1, 8))  # 8 pieces: the archive before pieces 2..8
    assert sorted(p.name for p in out.iterdir()) == [chain.LOG_NAME, "p4-smoke.tar"]  # the device returns 8 files
    with tarfile.open(out / "p4-smoke.tar") as tar:
        assert sorted(tar.getnames()) == sorted(f"{p.experiment}/{store.path(p.experiment, p.seed).name}" for p in plan)
        member = tar.extractfile("p4.clr/" + store.path("p4.clr", 0).name).read()
    assert member == store.path("p4.clr", 0).read_bytes()


def test_upstream_results_computed_inside_a_piece_are_copied_too(tmp_path):
    plan = chain.p4_plan(0, seeds=(0,), compare_seeds=(0,), only=["p4.cbs"])
    store = FakeStore(tmp_path / "store", also_writes={"p4.cbs": ["p4.lr_sweep", "p4.batch_sweep"]})
    lines = []
    chain.run_chain(plan, tmp_path / "out", runner=store, echo=lines.append)
    assert sorted(p.parent.name for p in (tmp_path / "out").glob("*/*.npz")) == ["p4.batch_sweep", "p4.cbs",
                                                                                "p4.lr_sweep"]
    assert lines[1].startswith("[chain] 1/1 p4.cbs seed 0: computed") and "(+2 upstream)" in lines[1]


def test_a_failed_piece_skips_only_the_pieces_that_need_it(tmp_path):
    plan = chain.p4_plan(0, seeds=(0, 1), compare_seeds=(0, 1))
    store, lines = FakeStore(tmp_path / "store", fail={"p4.batch_sweep"}), []
    assert len(plan) == 12
    outcomes = chain.run_chain(plan, tmp_path / "out", runner=store, echo=lines.append)
    status = {o.piece.label: o.status for o in outcomes}
    assert status["p4.batch_sweep seed 0"] == "failed"
    assert [label for label, s in status.items() if s == "skipped"] == ["p4.cbs seed 0", "p4.cbs seed 1"]
    assert sum(s == "computed" for s in status.values()) == 9
    assert ("p4.cbs", 0) not in store.calls and ("p4.cbs_matched", 1) in store.calls
    failed = next(line for line in lines if "FAILED" in line)
    assert "RuntimeError: p4.batch_sweep broke second line" in failed  # one line
    cbs = next(line for line in lines if "p4.cbs seed 0" in line)
    assert "skipped: needs p4.batch_sweep seed 0, which failed" in cbs
    assert not any("p4.compare" in line for line in lines)
    log = (tmp_path / "out" / chain.LOG_NAME).read_text()
    assert "Traceback (most recent call last)" in log and "rerun the same command" in lines[-1]


def test_when_the_lr_sweep_fails_only_the_range_test_runs(tmp_path):
    plan = chain.p4_plan(0, seeds=(0, 1), compare_seeds=(0, 1))
    store = FakeStore(tmp_path / "store", fail={"p4.lr_sweep"})
    outcomes = chain.run_chain(plan, tmp_path / "out", runner=store, echo=lambda line: None)
    assert store.calls == [("p4.lr_sweep", 0), ("p4.lr_range_test", 0)]
    assert [o.status for o in outcomes][:2] == ["failed", "computed"]
    assert {o.status for o in outcomes[2:]} == {"skipped"}


def test_no_piece_starts_after_the_time_limit(tmp_path):
    plan = chain.p4_plan(0, seeds=(0,), compare_seeds=(0,))
    store, lines = FakeStore(tmp_path / "store", sleep=1.0), []
    outcomes = chain.run_chain(plan, tmp_path / "out", runner=store, time_limit_s=1.5, echo=lines.append)
    assert [o.status for o in outcomes] == ["computed", "computed"] + ["not started"] * 6
    assert lines[3].startswith("[chain] 3/8 p4.batch_sweep seed 0: not started: time limit 1.5 s reached")
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=rf"Argument `time_limit_s` must be > 0.*Received: time_limit_s={bad}"):
            chain.run_chain(plan, tmp_path / "out", runner=store, time_limit_s=bad)


def test_a_second_tar_chain_into_the_same_folder_keeps_what_the_first_copied(tmp_path):
    out = tmp_path / "out"
    first = FakeStore(tmp_path / "store")
    chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke"), out, tar=True, runner=first, echo=lambda line: None)
    with tarfile.open(out / "p4-smoke.tar") as tar:
        before = {name: tar.extractfile(name).read() for name in tar.getnames()}
    assert len(before) == 8
    second = FakeStore(tmp_path / "other-store")  # same names, new content: its member replaces the old one
    ResultStore(second.root).save("p4.clr", {"seed": 0}, "1", {"name": "p4.clr", "seed": 0, "again": True}, {})
    outcomes = chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke", only=["p4.clr"]), out, tar=True,
                               runner=lambda name, profile, seed: types.SimpleNamespace(
                                   path=second.path(name, seed), from_store=True, data={}),
                               echo=lambda line: None)
    assert [o.status for o in outcomes] == ["stored"]
    with tarfile.open(out / "p4-smoke.tar") as tar:
        after = {name: tar.extractfile(name).read() for name in tar.getnames()}
    clr = "p4.clr/" + first.path("p4.clr", 0).name
    assert sorted(after) == sorted(before)  # 8 members stay 8
    assert after[clr] == second.path("p4.clr", 0).read_bytes() != before[clr]
    assert all(after[name] == data for name, data in before.items() if name != clr)
    assert not list(out.glob(".*.tmp"))


def test_a_tar_chain_refuses_a_file_in_its_way_that_is_no_archive(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "p4-smoke.tar").write_bytes(b"precious, and not a tar archive")
    with pytest.raises(ValueError, match=r"Received: .*p4-smoke.tar, which is not a readable tar archive"):
        chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke"), out, tar=True, runner=FakeStore(tmp_path / "s"),
                        echo=lambda line: None)
    assert (out / "p4-smoke.tar").read_bytes() == b"precious, and not a tar archive"


@pytest.mark.parametrize("tar", [False, True])
def test_only_files_that_pass_their_digest_are_copied_and_exactly_the_bytes_checked(tmp_path, tar):
    store = FakeStore(tmp_path / "store", also_writes={"p4.clr": ["p4.lr_sweep"]})
    edited = store.path("p4.lr_sweep", 0)

    def runner(name, profile, seed):
        result = store(name, profile, seed)
        with np.load(edited) as npz:  # an upstream file edited after it was written (a later mtime)
            meta = json.loads(bytes(npz["__meta__"]).decode())
        meta["data"]["seed"] = 1
        np.savez_compressed(edited, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        return result

    lines = []
    chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke", only=["p4.clr"]), tmp_path / "out", tar=tar,
                    runner=runner, echo=lines.append)
    if tar:
        with tarfile.open(tmp_path / "out" / "p4-smoke.tar") as archive:
            copied = {name: archive.extractfile(name).read() for name in archive.getnames()}
    else:
        copied = {p.relative_to(tmp_path / "out").as_posix(): p.read_bytes()
                  for p in (tmp_path / "out").glob("*/*.npz")}
    clr = store.path("p4.clr", 0)
    assert copied == {f"p4.clr/{clr.name}": clr.read_bytes()}  # the edited upstream file stayed behind
    log = (tmp_path / "out" / chain.LOG_NAME).read_text()
    assert f"[chain] not copied: result file {edited} was changed after it was written" in log
    assert "(+1 upstream)" not in lines[1]
    assert "; 1 file(s) failed their digest and were not copied (see chain.log); total " in lines[1]


def test_copy_reads_each_file_once_so_a_file_swapped_after_the_check_is_not_copied(tmp_path, monkeypatch):
    from hw2.store import ResultStore as Store

    store = FakeStore(tmp_path / "store")
    path = store._write("p4.clr", 0)
    intact = path.read_bytes()
    decode = Store.decode

    def decode_then_swap(content, where):  # the file changes right after it was checked
        out = decode(content, where)
        Path(where).write_bytes(b"swapped in after the check")
        return out

    monkeypatch.setattr(Store, "decode", staticmethod(decode_then_swap))
    copier = chain.Copier(tmp_path / "out")
    assert copier.add([path]) == [f"p4.clr/{path.name}"]
    assert (tmp_path / "out" / "p4.clr" / path.name).read_bytes() == intact


def test_sigterm_logs_the_signal_the_piece_and_the_copies_then_exits_143(tmp_path):
    import signal

    store = FakeStore(tmp_path / "store")
    before = signal.getsignal(signal.SIGTERM)

    def runner(name, profile, seed):
        if name == "p4.batch_sweep":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises on the next bytecode
        return store(name, profile, seed)

    with pytest.raises(SystemExit) as stopped:
        chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke"), tmp_path / "out", runner=runner, echo=lambda s: None)
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is before  # installed only while the chain runs
    last = (tmp_path / "out" / chain.LOG_NAME).read_text().splitlines()[-2]
    assert last.startswith("[chain] stopped by SIGTERM after ")
    assert ", during p4.batch_sweep seed 0 (running " in last and "; 5 piece(s) not started; " in last
    sweep, test = (f"{n}/{store.path(n, 0).name}" for n in ("p4.lr_sweep", "p4.lr_range_test"))
    assert last.endswith(f"2 file(s) copied: {sweep}, {test}")


def test_a_signal_from_outside_stops_the_chain_process_with_a_last_line(tmp_path):
    import signal
    import textwrap

    script = textwrap.dedent("""
        import pathlib, sys, time, types
        from hw2 import chain
        from hw2.store import ResultStore
        root = pathlib.Path(sys.argv[1])
        def runner(name, profile, seed):
            time.sleep(1.0)
            path = ResultStore(root / "store").save(name, {"seed": seed}, "1", {}, {}).path
            return types.SimpleNamespace(path=path, from_store=False, data={})
        chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke"), root / "out", runner=runner,
                        echo=lambda line: print(line, flush=True))
    """)
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                               env=_subprocess_env())
    while not process.stdout.readline().startswith("[chain] 1/8 "):
        assert process.poll() is None
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[0]
    assert process.returncode == 130, rest
    assert "[chain] stopped by SIGINT after " in rest and "1 file(s) copied: p4.lr_sweep/" in rest


def test_throughput_is_read_from_what_each_result_stores():
    sweep = {"setup": {"train_images": 1000}, "sweep": {"batch_size": 64, "epochs": 5, "seconds": np.array([1.0, 3.0]),
                                                        "diverged": np.array([False, True]),
                                                        "diverged_epoch": np.array([-1, 1])}}
    assert chain.images_and_seconds("p4.lr_sweep", sweep) == ((5 + 2) * 960, 4.0)  # 15 full batches of 64
    test = {"kept_steps": np.array([0, 5, 9]), "test": {"batch_size": 64}, "seconds": 2.0}
    assert chain.images_and_seconds("p4.lr_range_test", test) == (640, 2.0)
    batch = {"sweep": {"seconds": np.array([1.0, 2.0]), "images_per_second": np.array([100.0, 50.0])}}
    assert chain.images_and_seconds("p4.batch_sweep", batch) == (200, 3.0)
    assert chain.images_and_seconds("p4.noise_scale", {"updates": 10, "b_big": 512, "seconds": 5.0}) == (5120, 5.0)
    assert chain.images_and_seconds("p4.fashion_mnist", {}) is None  # trains nothing
    assert chain.images_and_seconds("p4.clr", {"images_per_second": 50.0, "seconds": 4.0}) == (200, 4.0)
    assert set(chain.THROUGHPUT) == set(FINDERS)  # the policies store their throughput (train_policy)


@pytest.fixture
def cache_env(monkeypatch, tmp_path):
    for name in chain.CACHE_ENV:  # set, then delete: monkeypatch restores what was there, also absence
        monkeypatch.setenv(name, "unset")
        monkeypatch.delenv(name)
    monkeypatch.setenv("HW2_XLA_CACHE", str(tmp_path / "xla"))
    return tmp_path / "xla"


def test_the_cli_dry_run_lists_the_pieces_and_runs_nothing(cache_env, tmp_path, monkeypatch, capsys):
    from hw2.__main__ import main

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path / "results"))
    assert main(["chain", "p4", "--profile", "smoke", "--dry-run", "--seeds", "0", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "chain p4 at profile smoke: 12 pieces, in this order:"
    assert len(out) == 14  # smoke compares the policies at seed 0 only: nothing left out, no note
    assert out.pop().endswith("; no --copy-to given")
    assert [line.split()[1] for line in out[1:]] == FINDERS + POLICIES + POLICIES
    assert [line.split()[3] for line in out[1:]] == ["0"] * 8 + ["1"] * 4
    assert all("to compute" in line for line in out[1:])
    assert not (tmp_path / "results").exists()  # looked up, nothing computed
    assert os.environ.get("HW2_NO_COMPUTE") is None


def test_the_cli_dry_run_at_full_lists_16_pieces_at_seeds_0_to_2(cache_env, tmp_path, monkeypatch, capsys):
    from hw2.__main__ import main

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path / "results"))
    assert main(["chain", "p4", "--profile", "full", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()[:-1]  # the last line: backend, cache, copies
    assert out[0] == "chain p4 at profile full: 16 pieces, in this order:"
    assert len(out) == 17  # the default seeds are 4.7's: no note
    assert [line.split()[0] for line in out[1:]] == [f"{i}." for i in range(1, 17)]
    assert [line.split()[1] for line in out[1:]] == FINDERS + POLICIES * 3
    assert [line.split()[3] for line in out[1:]] == ["0"] * 8 + ["1"] * 4 + ["2"] * 4
    assert out[5].endswith("needs p4.lr_sweep seed 0") and "p4.clr seed 0" in out[5]
    assert out[14].endswith("needs p4.lr_sweep seed 0, p4.batch_sweep seed 0") and "p4.cbs seed 2" in out[14]
    assert all("to compute" in line for line in out[1:])
    assert main(["chain", "p4", "--profile", "full", "--dry-run", "--seeds", "0"]) == 0
    out = capsys.readouterr().out.splitlines()[:-1]
    assert out[0] == "chain p4 at profile full: 8 pieces, in this order:" and len(out) == 10
    assert out[-1].strip() == ("4.7 compares the policies at seeds 0 1 2; this chain runs seeds 0, so 4.7 will find "
                               "seeds 1 2 missing")
    assert not (tmp_path / "results").exists() and os.environ.get("HW2_NO_COMPUTE") is None


def test_the_cli_needs_a_copy_folder(cache_env, capsys):
    from hw2.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["chain", "p4", "--profile", "smoke"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == ("error: Argument `--copy-to` must be a folder unless --dry-run is "
                                               "given. Received: nothing")


@pytest.mark.parametrize("argument, message", [
    (["--time-limit", "0"], "Argument `--time-limit` must be > 0. Received: --time-limit=0.0"),
    (["--time-limit", "-5"], "Argument `--time-limit` must be > 0. Received: --time-limit=-5.0"),
    (["--time-limit", "inf"], "Argument `--time-limit` must be > 0 and finite. Received: --time-limit=inf"),
    (["--time-limit", "nan"], "Argument `--time-limit` must be > 0 and finite. Received: --time-limit=nan"),
    (["--copy-to", "{file}"], "Argument `--copy-to` must be a folder that can be written. Received: "
                              "--copy-to={file} (a file)"),
    (["--copy-to", "{file}/sub"], "Argument `--copy-to` must be a folder that can be written. Received: "
                                  "--copy-to={file}/sub ({file} is a file)"),
])
def test_the_cli_dry_run_checks_the_time_limit_and_the_copy_folder(cache_env, tmp_path, monkeypatch, capsys,
                                                                    argument, message):
    from hw2.__main__ import main

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path / "results"))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    argument = [part.format(file=a_file) for part in argument]
    with pytest.raises(SystemExit) as exit_info:
        main(["chain", "p4", "--profile", "smoke", "--dry-run", *argument])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "error: " + message.format(file=a_file)
    assert a_file.read_text() == "" and not (tmp_path / "results").exists()


def test_the_cli_dry_run_names_where_copies_go_and_creates_nothing(cache_env, tmp_path, monkeypatch, capsys):
    from hw2.__main__ import main

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    assert main(["chain", "p4", "--profile", "smoke", "--dry-run", "--copy-to", str(tmp_path / "new"), "--tar",
                 "--xla-cache", str(blocked / "xla")]) == 0  # TensorFlow: the cache folder is never used
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (f"  backend tensorflow: no persistent compilation cache (JAX backend only); --xla-cache ignored; "
                    f"copies would go to {tmp_path / 'new'} (a new folder)")
    assert not (tmp_path / "new").exists() and not cache_env.exists()
    out = tmp_path / "out"
    chain.run_chain(chain.p4_plan(0, (0,), (0,), "smoke", only=["p4.clr"]), out, tar=True,
                    runner=FakeStore(tmp_path / "store"), echo=lambda line: None)
    assert main(["chain", "p4", "--profile", "smoke", "--dry-run", "--copy-to", str(out), "--tar"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(
        f"copies would go to {out} (an archive of 1 result file(s) already there, kept)")


def test_the_backend_is_read_as_keras_reads_it_without_importing_it(tmp_path):
    assert chain.configured_backend({"KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path)}) == "jax"
    assert chain.configured_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"  # no keras.json
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert chain.configured_backend({"KERAS_HOME": str(tmp_path)}) == "jax"
    (tmp_path / "keras.json").write_text("{not json")
    assert chain.configured_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"


def test_an_empty_keras_home_is_the_working_folder_as_keras_reads_it(tmp_path, monkeypatch):
    # Keras tests `"KERAS_HOME" in os.environ`: set but empty, keras.json is read from the working folder
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert chain.configured_backend({"KERAS_HOME": ""}) == "jax"


def _subprocess_env(**extra):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for name in chain.CACHE_ENV:
        env.pop(name, None)
    return dict(env, **extra)


@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed")
def test_the_compilation_cache_reaches_jax_and_a_command_line_value_wins(tmp_path):
    script = ("from hw2 import chain; print(chain.use_compilation_cache({folder!r})); import jax; "
              "print(jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs, "
              "jax.config.jax_persistent_cache_min_entry_size_bytes)")
    run = lambda folder, **extra: subprocess.run([sys.executable, "-c", script.format(folder=folder)],
                                                 capture_output=True, text=True, env=_subprocess_env(**extra),
                                                 timeout=300)
    out = run(str(tmp_path / "a"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == f"{tmp_path / 'a'} 0.0 -1"
    out = run(str(tmp_path / "a"), JAX_COMPILATION_CACHE_DIR=str(tmp_path / "b"))
    assert out.stdout.splitlines()[-1].split()[0] == str(tmp_path / "b")
    late = subprocess.run([sys.executable, "-c", "import jax; from hw2 import chain; "
                           f"print(chain.use_compilation_cache({str(tmp_path / 'c')!r}))"],
                          capture_output=True, text=True, env=_subprocess_env(), timeout=300)
    assert "JAX was imported before the chain started" in late.stdout


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed")
def test_the_whole_p4_chain_runs_at_smoke_under_jax_and_copies_every_piece(tmp_path):
    env = _subprocess_env(KERAS_BACKEND="jax", HW2_RESULTS_DIR=str(tmp_path / "results"),
                          HW2_XLA_CACHE=str(tmp_path / "xla"))
    command = [sys.executable, "-m", "hw2", "chain", "p4", "--profile", "smoke", "--seeds", "0"]
    first = subprocess.run([*command, "--copy-to", str(tmp_path / "copy")], capture_output=True, text=True,
                           env=env, timeout=1800)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    lines = first.stdout.splitlines()
    assert lines[0].startswith("[chain] backend jax; XLA compilation cache (JAX backend): ")
    pieces = FINDERS + POLICIES  # 4.7 is no piece: it stores nothing
    for index, name in enumerate(pieces, 1):
        line = next(line for line in lines if line.startswith(f"[chain] {index}/8 {name} seed 0: computed in "))
        assert "img/s" in line, line
        stored = list((tmp_path / "results" / "smoke" / name).glob("*.npz"))
        copied = list((tmp_path / "copy" / name).glob("*.npz"))
        assert len(stored) == 1 and [p.name for p in copied] == [stored[0].name]
        meta, data = ResultStore.read(copied[0])  # complete, digest-checked
        assert meta["experiment"] == name and copied[0].read_bytes() == stored[0].read_bytes()
    assert any((tmp_path / "xla").iterdir())  # the persistent compilation cache was written
    again = subprocess.run([*command, "--copy-to", str(tmp_path / "again"), "--tar"], capture_output=True,
                           text=True, env=env, timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert sum("read from the store" in line for line in again.stdout.splitlines()) == 8, again.stdout
    with tarfile.open(tmp_path / "again" / "p4-smoke.tar") as tar:
        assert sorted(tar.getnames()) == sorted(p.relative_to(tmp_path / "copy").as_posix()
                                                for p in (tmp_path / "copy").glob("*/*.npz"))


def test_the_device_command_lives_in_the_docs_and_the_docstring_points_there():
    def command(text):
        text = text.replace("\\\n", " ")
        line = next(line for line in text.splitlines() if "python3 -m pip install" in line)
        return " ".join(line.split())

    docs = (Path(__file__).resolve().parents[1] / "docs" / "reproducibility.rst").read_text()
    assert "pip install" not in chain.__doc__ and "docs/reproducibility.rst" in chain.__doc__  # operations: the docs
    assert command(docs).startswith("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
                                    "--upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD "
                                    "KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1")
    assert command(docs).endswith('python3 -m hw2 chain p4 --profile full --copy-to "$OUT" --tar --time-limit 480')
