import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest

from hw2 import atomic, datasets


def _tiny_spec(train, test, **changes):
    """A spec that the given tiny arrays satisfy (so the real verification code path runs)."""
    (x_train, y_train), (x_test, y_test) = train, test
    scaled = x_train / 255.0
    fields = dict(
        name="tiny", train_mean=float(scaled.mean()), train_std=float(scaled.std()),
        train_per_class=tuple(int(c) for c in np.bincount(y_train, minlength=10)),
        first_train_labels=tuple(int(v) for v in y_train[:3]), first_test_labels=tuple(int(v) for v in y_test[:3]),
        sha256=datasets.arrays_sha256(x_train, y_train, x_test, y_test),
        n_train=len(y_train), n_test=len(y_test), image_shape=(4, 4))
    fields.update(changes)
    return datasets.DatasetSpec(**fields)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    train = (rng.integers(0, 256, (20, 4, 4), dtype=np.uint8), np.arange(20, dtype=np.uint8) % 10)
    test = (rng.integers(0, 256, (10, 4, 4), dtype=np.uint8), np.arange(10, dtype=np.uint8) % 10)
    spec = _tiny_spec(train, test)
    calls = []

    def source(_spec):
        calls.append("good")
        return train, test

    monkeypatch.setenv("HW2_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(datasets.SPECS, "tiny", spec)
    monkeypatch.setitem(datasets.SOURCES, "tiny", [("good source", source)])
    return spec, train, test, calls


def test_verify_accepts_a_correct_copy_and_caches_it(tiny, tmp_path):
    spec, train, test, calls = tiny
    (x_train, _), _ = datasets.load("tiny")
    np.testing.assert_array_equal(x_train, train[0])
    assert (tmp_path / "tiny.npz").exists() and calls == ["good"]
    datasets.load("tiny")  # second time: from the cache, no source call
    assert calls == ["good"]


@pytest.mark.parametrize("corruption", ["flip_pixel", "garbage_file", "truncated_file"])
def test_corrupted_cache_is_detected_and_rebuilt(tiny, tmp_path, corruption):
    spec, train, test, calls = tiny
    datasets.load("tiny")
    path = tmp_path / "tiny.npz"
    if corruption == "flip_pixel":
        bad_x = train[0].copy()
        bad_x[0, 0, 0] ^= 1
        np.savez(path, x_train=bad_x, y_train=train[1], x_test=test[0], y_test=test[1])
    elif corruption == "garbage_file":
        path.write_bytes(b"not a zip file")
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(datasets.DatasetIntegrityError):
        datasets._read_cache(spec)
    (x_train, _), _ = datasets.load("tiny")
    np.testing.assert_array_equal(x_train, train[0])
    assert calls == ["good", "good"]
    datasets._read_cache(spec)  # the rebuilt cache verifies


def test_every_failed_source_is_named_in_the_error(tiny, monkeypatch):
    spec, train, test, _ = tiny

    def offline(_spec):
        raise ConnectionError("no route to host")

    def wrong(_spec):
        x = train[0].copy()
        x[1] = 0
        return (x, train[1]), test

    monkeypatch.setitem(datasets.SOURCES, "tiny", [("keras", offline), ("registry", wrong)])
    with pytest.raises(datasets.DatasetError) as info:
        datasets.load("tiny")
    message = str(info.value)
    assert "keras: ConnectionError: no route to host" in message
    assert "registry: DatasetIntegrityError" in message and "HW2_DATA_DIR" in message


def test_verify_rejects_wrong_dtype_shape_labels():
    rng = np.random.default_rng(1)
    train = (rng.integers(0, 256, (20, 4, 4), dtype=np.uint8), np.arange(20, dtype=np.uint8) % 10)
    test = (rng.integers(0, 256, (10, 4, 4), dtype=np.uint8), np.arange(10, dtype=np.uint8) % 10)
    spec = _tiny_spec(train, test)
    datasets.verify(spec, train, test)
    with pytest.raises(datasets.DatasetIntegrityError, match="dtype"):
        datasets.verify(spec, (train[0].astype(np.float32), train[1]), test)
    with pytest.raises(datasets.DatasetIntegrityError, match="first test labels"):
        datasets.verify(spec, train, (test[0], test[1][::-1].copy()))
    with pytest.raises(datasets.DatasetIntegrityError, match="shape"):
        datasets.verify(spec, (train[0][:10], train[1][:10]), test)


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "data.npz"
    target.write_bytes(b"old complete content")

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="disk full"):
        atomic.atomic_write_bytes(target, b"new content that never lands")
    assert target.read_bytes() == b"old complete content"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_restricted_unpickler_refuses_imports_other_than_numpy_arrays():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing to import"):
        datasets.RestrictedUnpickler(io.BytesIO(pickle.dumps(Evil(), protocol=2))).load()
    arrays = (np.arange(4, dtype=np.float32), np.arange(3))
    loaded = datasets.RestrictedUnpickler(io.BytesIO(pickle.dumps(arrays, protocol=2))).load()
    np.testing.assert_array_equal(loaded[0], arrays[0])


def test_mnist_pickle_conversion_restores_uint8_exactly():
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (7, 784)).astype(np.uint8)
    as_float = (pixels / 256.0).astype(np.float32)  # the classic pickle stores uint8/256
    labels = rng.integers(0, 10, 7)
    payload = ((as_float[:3], labels[:3]), (as_float[3:5], labels[3:5]), (as_float[5:], labels[5:]))
    raw = gzip.compress(pickle.dumps(payload, protocol=2))
    (x_train, y_train), (x_test, y_test) = datasets.mnist_from_pickle(raw)
    np.testing.assert_array_equal(x_train.reshape(5, 784), pixels[:5])
    np.testing.assert_array_equal(x_test.reshape(2, 784), pixels[5:])
    assert x_train.dtype == np.uint8 and y_train.tolist() == labels[:5].tolist()


def test_idx_reader_checks_header_and_size():
    body = np.arange(2 * 3 * 3, dtype=np.uint8)
    good = struct.pack(">I3I", 0x0803, 2, 3, 3) + body.tobytes()
    np.testing.assert_array_equal(datasets._read_idx(gzip.compress(good)), body.reshape(2, 3, 3))
    with pytest.raises(datasets.DatasetIntegrityError, match="header"):
        datasets._read_idx(gzip.compress(good[:-1]))
    with pytest.raises(datasets.DatasetIntegrityError, match="magic"):
        datasets._read_idx(gzip.compress(struct.pack(">I", 0x0D03) + good[4:]))


def test_unknown_dataset_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Argument `name` must be one of"):
        datasets.load("cifar")


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_real_datasets_match_their_published_statistics(name):
    """The provisioned data (fetched by `python -m hw2 fetch-data` before the tests) verifies."""
    train, test = datasets.load(name)
    datasets.verify(datasets.SPECS[name], train, test)
    assert train[0].shape == (60000, 28, 28) and test[0].shape == (10000, 28, 28)


def test_unit_square_labels():
    x, y = datasets.unit_square(500, np.random.default_rng(0))
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_array_equal(y, np.where(x[:, 0] > x[:, 1], 1.0, -1.0))
    with pytest.raises(ValueError, match="`n` must be >= 1"):
        datasets.unit_square(0, np.random.default_rng(0))


def test_a_verified_copy_is_used_when_the_cache_cannot_be_written(tiny, tmp_path, capsys):
    spec, train, test, calls = tiny
    (tmp_path / "tiny.npz").mkdir()  # something that is not a writable file sits at the cache path
    (x_train, _), _ = datasets.load("tiny")
    np.testing.assert_array_equal(x_train, train[0])
    err = capsys.readouterr().err
    assert f"tiny: not in the cache; trying good source (timeout {datasets.SOURCE_TIMEOUT_S:.0f} s)" in err
    assert f"could not write the cache at {tmp_path / 'tiny.npz'}" in err and "using the verified copy" in err


def test_a_stalled_tool_is_ended_after_its_timeout(tmp_path):
    with pytest.raises(TimeoutError, match="gave no result within 1 s"):
        datasets._run(["sleep", "30"], cwd=str(tmp_path), timeout=1)


_SIGTERM_SCRIPT = """
import os, sys, tempfile
from hw2 import datasets

def stalled(spec):
    with tempfile.TemporaryDirectory(dir=sys.argv[1]) as tmp:
        datasets._run(["sh", "-c", "echo $$ > " + sys.argv[1] + "/child.pid; exec sleep 60"], cwd=tmp)

datasets.SOURCES["mnist"] = [("stalled registry", stalled)]
datasets.load("mnist")
"""


def test_sigterm_ends_the_child_tool_and_removes_its_temporary_folder(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, HW2_DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen([sys.executable, "-c", _SIGTERM_SCRIPT, str(tmp_path)], env=env,
                            stderr=subprocess.PIPE, text=True)
    pid_file = tmp_path / "child.pid"
    deadline = time.time() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.time() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    assert [p.name for p in tmp_path.iterdir() if p.is_dir() and p.name != "data"]  # its temp folder exists
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "trying stalled registry" in err
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the child is gone (reaped by the parent)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.pid"]  # temporary folder removed


@pytest.mark.parametrize("blocker", ["file", "read_only_folder"])
def test_fetch_data_fails_when_nothing_could_be_cached(tiny, tmp_path, monkeypatch, capsys, blocker):
    from hw2.__main__ import main

    spec, train, test, calls = tiny
    target = tmp_path / "cache"
    if blocker == "file":
        target.write_text("a file where the cache folder should be")
    else:
        target.mkdir()
        target.chmod(0o500)
        if os.access(target, os.W_OK):  # root writes anyway
            monkeypatch.setattr(datasets, "atomic_write_bytes", lambda *a: (_ for _ in ()).throw(
                PermissionError(13, "Permission denied", str(target / "tiny.npz"))))
    monkeypatch.setenv("HW2_DATA_DIR", str(target))
    for name in ("mnist", "fashion_mnist"):
        monkeypatch.setitem(datasets.SPECS, name, spec)
        monkeypatch.setitem(datasets.SOURCES, name, datasets.SOURCES["tiny"])
    with pytest.raises(datasets.DatasetError, match="could not be written"):
        datasets.load("tiny", cache_required=True)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["fetch-data"])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and "cached at" not in out
    assert "error: mnist: a verified copy came from good source, but the cache at" in err
    assert "HW2_DATA_DIR" in err


def test_debian_source_unpacks_only_the_exact_verified_package_from_a_private_folder(monkeypatch, tmp_path):
    import hashlib
    import stat

    real = b"the real package"
    name = "dataset-fashion-mnist_0.0~git1-1_all.deb"
    unpacked = []

    def fake_run(cmd, cwd, timeout=None):
        folder = os.stat(cwd)
        assert stat.S_IMODE(folder.st_mode) == 0o700, oct(folder.st_mode)  # nobody else can write here
        if "--print-uris" in cmd:
            return (f"'http://deb.example/pool/{name}' {name} {len(real)} "
                    f"SHA256:{hashlib.sha256(real).hexdigest()}\n")
        if cmd[:2] == ["apt-get", "download"]:
            (tmp_path / "planted").write_text(cwd)
            # another file matching the package's pattern (as a local attacker would plant it)
            open(os.path.join(cwd, "dataset-fashion-mnist_0.0~evil-1_all.deb"), "wb").write(b"evil")
            open(os.path.join(cwd, name), "wb").write(payload[0])
            return ""
        assert cmd[:2] == ["dpkg-deb", "-x"]
        unpacked.append(open(cmd[2], "rb").read())
        raise FileNotFoundError("stop here: the unpacked folder is not the test's concern")

    monkeypatch.setattr(datasets, "DEBIAN_FASHION_DIR", tmp_path / "not-installed")
    monkeypatch.setattr(datasets.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(datasets, "_run", fake_run)
    payload = [real]
    with pytest.raises(FileNotFoundError, match="stop here"):
        datasets._from_debian_fashion(datasets.FASHION_MNIST)
    assert unpacked == [real]  # the announced file, never the planted one
    payload[0] = b"the real package, altered"
    with pytest.raises(datasets.DatasetIntegrityError, match="apt's index says"):
        datasets._from_debian_fashion(datasets.FASHION_MNIST)
    assert unpacked == [real]  # nothing unverified was unpacked
    assert not os.path.exists((tmp_path / "planted").read_text())  # the private folder is gone
