from pathlib import Path

from hw2 import report
from hw2.store import StoredResult


def _result(profile, **prov):
    return StoredResult("p1.perceptron", {}, "1", {}, {"profile": profile, "seed": 0, **prov})


def test_answers_are_recorded_with_their_page_and_sorted(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_ANSWERS_DIR", str(tmp_path))
    report.answer("1.10", "tenth", page="/x/examples/p1/plot_b.py")
    report.answer("1.2", "second", _result("full"), page=None)
    report.answer("1.3", "third", _result("smoke"), page=None)
    records = report.collected_answers(tmp_path)
    assert [r["part"] for r in records] == ["1.2", "1.3", "1.10"]
    assert records[0]["text"] == "second"  # full spec: no note
    assert "reduced run: smoke profile" in records[1]["text"]
    assert records[2]["page"] == "/x/examples/p1/plot_b.py"


def test_answer_without_docs_build_only_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HW2_ANSWERS_DIR", raising=False)
    report.answer("2.1", "printed")
    assert "Answer 2.1: printed" in capsys.readouterr().out
    assert not list(Path(tmp_path).iterdir())


def test_banner_names_source_profile_and_reduction(capsys):
    text = report.banner(_result("laptop", backend="jax", device="GPU", reduced_from="full"))
    assert "computed in this run" in text and "profile laptop" in text and "jax backend" in text
    assert "no full-spec result is stored" in text
    assert report.reduced_note(_result("full")) == ""
