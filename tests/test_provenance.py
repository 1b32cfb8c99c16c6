"""Provenance: what code computed a result, precisely enough to say when it has changed since."""

import subprocess
import sys

import pytest

from hw2 import provenance


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A repository holding a three-module ``hw2`` package: ``job`` imports ``helper`` (inside a
    function), ``helper`` imports nothing, ``unused`` is imported by no one."""
    package = tmp_path / "hw2"
    package.mkdir()
    (package / "__init__.py").write_text('"""Package."""\n')
    (package / "job.py").write_text('"""Job."""\n\n\ndef run():\n    from hw2 import helper\n\n'
                                    '    return helper.twice(2)\n')
    (package / "helper.py").write_text('"""Helper."""\n\n\ndef twice(x):\n    """Twice x."""\n    return 2 * x\n')
    (package / "unused.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(provenance, "_REPO", tmp_path)
    provenance.source_files.cache_clear()
    yield package
    provenance.source_files.cache_clear()


def test_source_files_follow_imports_at_any_depth(fake_repo):
    assert provenance.source_files("hw2.job") == ("hw2/__init__.py", "hw2/helper.py", "hw2/job.py")
    assert provenance.source_files("hw2.job", ("helper.py",)) == ("hw2/__init__.py", "hw2/job.py")


def test_a_code_change_is_named_and_a_docstring_change_is_not(fake_repo):
    record = {"source_digests": provenance.source_digests("hw2.job")}
    assert provenance.changed_sources(record, "hw2.job") == []
    helper = fake_repo / "helper.py"
    helper.write_text(helper.read_text().replace('"""Twice x."""', '"""Two times x.  # reworded"""'))
    assert provenance.changed_sources(record, "hw2.job") == []  # what runs is the same
    helper.write_text(helper.read_text().replace("2 * x", "x + x + 0"))
    assert provenance.changed_sources(record, "hw2.job") == ["hw2/helper.py"]
    (fake_repo / "unused.py").write_text("VALUE = 2\n")  # not imported by the job: not its code
    assert provenance.changed_sources(record, "hw2.job") == ["hw2/helper.py"]


def test_a_result_without_digests_is_checked_against_its_commit(fake_repo):
    repo = fake_repo.parent

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "one")
    record = {"code_version": git("rev-parse", "--short=12", "HEAD")}
    assert provenance.changed_sources(record, "hw2.job") == []
    (fake_repo / "job.py").write_text((fake_repo / "job.py").read_text().replace("twice(2)", "twice(3)"))
    assert provenance.changed_sources(record, "hw2.job") == ["hw2/job.py"]
    assert provenance.changed_sources({"code_version": record["code_version"] + "+dirty"}, "hw2.job") is None
    assert provenance.changed_sources({"code_version": "0" * 12}, "hw2.job") is None  # not in the history
    assert provenance.changed_sources({"code_version": "hw2 0.1.0"}, "hw2.job") is None  # no checkout


def test_versions_are_those_of_the_modules_that_ran(monkeypatch):
    """The GPU machine carries Keras in a --target folder: the version recorded is the imported module's."""
    import types

    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(__version__="9.9.9"))
    assert provenance.package_versions()["keras"] == "9.9.9"
