import multiprocessing
import os

import numpy as np
import pytest

from hw2.store import ResultStore, result_key


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
    # An entry whose content does not match its file name (copied/renamed by hand) is refused too.
    path = store.path_for("exp", {"n": 1}, "1")
    os.replace(path, store.path_for("exp", {"n": 3}, "1"))
    assert store.load("exp", {"n": 3}, "1") is None


def test_unreadable_entry_is_not_served(tmp_path):
    store = ResultStore(tmp_path)
    store.save("exp", {"n": 1}, "1", {"v": np.arange(1000)}, {})
    path = store.path_for("exp", {"n": 1}, "1")
    path.write_bytes(path.read_bytes()[:100])
    assert store.load("exp", {"n": 1}, "1") is None


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
    seen = set()
    while any(proc.is_alive() for proc in procs):
        entry = store.load("exp", {"n": 1}, "1")
        if entry is not None:
            values = np.unique(entry.data["v"])
            assert values.size == 1 and values[0] == entry.provenance["writer"]  # one writer's whole entry
            seen.add(int(values[0]))
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


def test_profile_errors_are_clear():
    from hw2 import profiles

    with pytest.raises(ValueError, match="Allowed profiles: smoke, laptop, full"):
        profiles.resolve_profile("gpu")
    assert profiles.resolve_profile(" Laptop ") == "laptop"
