import json
import multiprocessing
import os
import shutil
import time

import numpy as np
import pytest

from hw2 import atomic
from hw2.store import ResultIntegrityError, ResultStore, result_key


def test_key_changes_with_config_and_version():
    base = result_key("exp", {"n": 1, "lr": 0.1}, "1")
    assert result_key("exp", {"lr": 0.1, "n": 1}, "1") == base  # order of keys does not matter
    assert result_key("exp", {"n": 2, "lr": 0.1}, "1") != base
    assert result_key("exp", {"n": 1, "lr": 0.1}, "2") != base
    assert result_key("other", {"n": 1, "lr": 0.1}, "1") != base


def test_round_trip_of_nested_arrays_tuples_and_non_finite_values(tmp_path):
    store = ResultStore(tmp_path)
    data = {"a": np.arange(6).reshape(2, 3), "nested": {"b": [np.ones(2), 3.5], "t": (1, "x")},
            "nan": float("nan"), "inf": float("-inf"), "s": "text"}
    store.save("exp", {"n": 1}, "1", data, {"seed": 0})
    loaded = store.load("exp", {"n": 1}, "1")
    assert loaded.from_store and loaded.provenance == {"seed": 0}
    np.testing.assert_array_equal(loaded.data["a"], data["a"])
    np.testing.assert_array_equal(loaded.data["nested"]["b"][0], np.ones(2))
    assert loaded.data["nested"]["b"][1] == 3.5 and loaded.data["nested"]["t"] == (1, "x")
    assert np.isnan(loaded.data["nan"]) and loaded.data["inf"] == float("-inf")


def test_stale_entries_are_not_served(tmp_path):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"v": 1.0}, {})
    assert store.load("exp", {"n": 1}, "2") is None  # version bumped
    assert store.load("exp", {"n": 2}, "1") is None  # other config
    # A complete, unedited entry put where another key's file belongs (copied by hand, or left by
    # older code) is refused: the file name alone must not decide, the key inside it is re-checked.
    path = store.path_for("exp", {"n": 1}, "1")
    for experiment, config, version in (("exp", {"n": 1}, "2"), ("other", {"n": 1}, "1"), ("exp", {"n": 3}, "1")):
        target = store.path_for(experiment, config, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        assert store.load(experiment, config, version) is None, (experiment, config, version)
    assert store.load("exp", {"n": 1}, "1").data == {"v": 1.0}


def test_unreadable_entry_is_an_error_naming_the_file(tmp_path):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"v": np.arange(1000)}, {})
    path = store.path_for("exp", {"n": 1}, "1")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ResultIntegrityError, match=f"unreadable result file {path}"):
        store.load("exp", {"n": 1}, "1")


def _rewrite(path, edit):
    """Rewrite an entry file with ``edit(meta, members)`` applied, keeping its stored digest."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(bytes(npz["__meta__"]).decode())
        members = {m: npz[m] for m in npz.files if m != "__meta__"}
    edit(meta, members)
    np.savez_compressed(path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **members)


@pytest.mark.parametrize("edit", ["json_number", "array_value", "provenance"])
def test_edited_entry_is_never_served(tmp_path, edit):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"accuracy": 0.5, "curve": np.linspace(0, 1, 5)}, {"seed": 0})
    path = store.path_for("exp", {"n": 1}, "1")
    assert store.load("exp", {"n": 1}, "1").sha256 is not None

    def change(meta, members):
        if edit == "json_number":
            meta["data"]["accuracy"] = 0.99
        elif edit == "array_value":
            members["a0"] = members["a0"] * 1.01
        else:
            meta["provenance"]["seed"] = 1

    _rewrite(path, change)
    with pytest.raises(ResultIntegrityError, match=f"result file {path} was changed after it was written"):
        store.load("exp", {"n": 1}, "1")
    assert [error is not None for _, _, error in store.scan()] == [True]


@pytest.mark.parametrize("edit_after", [False, True])
def test_entry_without_digest_is_never_served(tmp_path, edit_after):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"v": 2.0}, {})
    path = store.path_for("exp", {"n": 1}, "1")
    _rewrite(path, lambda meta, members: meta.pop("sha256"))  # digest removed (or never written) ...
    if edit_after:  # ... and then the numbers edited: nothing could tell
        _rewrite(path, lambda meta, members: meta["data"].update(v=3.0))
    with pytest.raises(ResultIntegrityError, match=f"result file {path} has no content digest"):
        store.load("exp", {"n": 1}, "1")
    assert [error is not None for _, _, error in store.scan()] == [True]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_entry(tmp_path, monkeypatch, failing):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"v": np.full(1000, 1.0)}, {"writer": 1})

    def fail(*args, **kwargs):
        raise OSError(f"{failing} failed")

    monkeypatch.setattr(atomic.os, failing, fail)
    with pytest.raises(OSError, match=f"{failing} failed"):
        store.save("exp", {"n": 1}, "1", {"v": np.full(1000, 2.0)}, {"writer": 2})
    monkeypatch.undo()
    old = store.load("exp", {"n": 1}, "1")
    assert old.provenance == {"writer": 1} and np.all(old.data["v"] == 1.0)
    assert not list(tmp_path.rglob("*.tmp"))


def test_stale_temporaries_are_removed_by_the_next_write(tmp_path):
    store = ResultStore(tmp_path)
    folder = tmp_path / "exp"
    folder.mkdir()
    stale, fresh = folder / ".exp-0.npz.abc.tmp", folder / ".exp-0.npz.def.tmp"
    stale.write_bytes(b"left by a killed writer")
    fresh.write_bytes(b"a writer still at work")
    old = time.time() - atomic.STALE_TMP_AGE_S - 60
    os.utime(stale, (old, old))
    other = tmp_path / "elsewhere" / ".x.tmp"  # another folder is not touched
    other.parent.mkdir()
    other.write_bytes(b"")
    os.utime(other, (old, old))
    store.save("exp", {"n": 1}, "1", {"v": 1}, {})
    assert not stale.exists() and fresh.exists() and other.exists()


def _writer(root, value, rounds):
    store = ResultStore(root)
    for _ in range(rounds):
        store.save("exp", {"n": 1}, "1", {"v": np.full(20000, value)}, {"writer": value})


def test_two_concurrent_writers_never_corrupt_an_entry(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), value, 15)) for value in (1, 2)]
    for proc in procs:
        proc.start()
    store = ResultStore(tmp_path)
    while any(proc.is_alive() for proc in procs):
        entry = store.load("exp", {"n": 1}, "1")  # never unreadable or edited: that would raise
        if entry is not None:
            values = np.unique(entry.data["v"])
            assert values.size == 1 and values[0] == entry.provenance["writer"]  # one writer's whole entry
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    final = store.load("exp", {"n": 1}, "1")
    assert final is not None and np.unique(final.data["v"]).size == 1
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_entries_lists_readable_files(tmp_path):
    store = ResultStore(tmp_path)
    store.save("a", {"n": 1}, "1", {"v": 1}, {})
    store.save("b", {"n": 1}, "1", {"v": 2}, {})
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.npz").write_bytes(b"junk")
    assert sorted(meta["experiment"] for _, meta in store.entries()) == ["a", "b"]
    assert [(path.name, error is not None) for path, _, error in store.scan()][-1] == ("broken.npz", True)


def test_profile_errors_are_clear():
    from hw2 import profiles

    with pytest.raises(ValueError, match="Allowed profiles: smoke, laptop, full"):
        profiles.resolve_profile("gpu")
    assert profiles.resolve_profile(" Laptop ") == "laptop"


def test_jsonable_keeps_the_former_store_conversion_of_configs():
    """Configs hash as they did before the two JSON conversions were merged (store keys unchanged)."""
    import dataclasses

    from hw2.store import canonical_json, jsonable

    @dataclasses.dataclass
    class Inner:
        sizes: tuple = (64, 128)
        rate: float = float("inf")

    config = {"seed": np.int64(3), "lr": np.float64(0.1), "sizes": (1, 2), "inner": Inner(), "nan": float("nan"),
              "neg": -float("inf"), "flag": np.bool_(True), 2: "two", "name": "x", "none": None, "f": 0.5}
    # Recorded from the former `store._jsonable`.
    assert canonical_json(config) == ('{"2":"two","f":0.5,"flag":true,"inner":{"rate":"inf","sizes":[64,128]},'
                                      '"lr":0.1,"name":"x","nan":"nan","neg":"-inf","none":null,"seed":3,"sizes":[1,2]}')
    assert jsonable(jsonable(config)) == jsonable(config)  # a config read back from the store hashes the same
    # Fixed: a NumPy nan was left a float (JSON `NaN`, which reads back as a Python nan and then hashed
    # differently); every non-finite float is now its repr.
    assert jsonable({"a": np.float64("nan"), "b": np.float32("-inf")}) == {"a": "nan", "b": "-inf"}
    assert jsonable(np.array([[1, 2], [3, 4]])) == [[1, 2], [3, 4]] and jsonable(np.array(2.5)) == 2.5
    with pytest.raises(ValueError, match=r"Argument `nonfinite` must be one of \('repr', 'keep'\)"):
        jsonable({}, nonfinite="drop")
