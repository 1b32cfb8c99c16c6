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


def _run_like(experiment, profile, config, **prov):
    return StoredResult(experiment, config, "1", {}, {"profile": profile, "seed": 0, **prov})


def test_reduced_label_follows_the_config_not_the_profile_name():
    import dataclasses

    from hw2 import experiments
    from hw2.store import _jsonable

    p1 = experiments.get("p1.perceptron")
    full = _jsonable(dataclasses.asdict(p1.config("full")))
    # P1 at the laptop profile has no overrides: it *is* the full specification.
    laptop = _jsonable(dataclasses.asdict(p1.config("laptop")))
    assert not report.is_reduced(_run_like("p1.perceptron", "laptop", laptop))
    assert report.reduced_note(_run_like("p1.perceptron", "laptop", laptop)) == ""
    # Smoke shrinks it, and one changed field is enough.
    smoke = _jsonable(dataclasses.asdict(p1.config("smoke")))
    assert report.is_reduced(_run_like("p1.perceptron", "smoke", smoke))
    assert report.is_reduced(_run_like("p1.perceptron", "laptop", {**full, "n_repeats": 999}))
    # The seed is not a reduction.
    assert not report.is_reduced(_run_like("p1.perceptron", "laptop", {**full, "seed": 3}))
    # P3 at the laptop profile is reduced (fewer seeds and epochs), whatever the name says.
    p3 = experiments.get("p3.lenet")
    assert report.is_reduced(_run_like("p3.lenet", "laptop", _jsonable(dataclasses.asdict(p3.config("laptop")))))
    # A laptop result standing in for a missing full one stays labelled.
    assert report.is_reduced(_run_like("p1.perceptron", "laptop", laptop, reduced_from="full"))
    assert not report.is_reduced(_run_like("p1.perceptron", "full", smoke))  # full profile: by definition


def test_chained_experiment_at_a_reduced_profile_is_reduced():
    import dataclasses

    from hw2 import experiments
    from hw2.store import _jsonable

    # p4.compare has no laptop overrides of its own, but its prepared fields come from reduced upstream
    # runs (or cannot be checked against missing full ones): it must never be labelled full spec.
    exp = experiments.get("p4.compare")
    config = _jsonable(dataclasses.asdict(exp.config("laptop")))
    assert report.is_reduced(_run_like("p4.compare", "laptop", config))
