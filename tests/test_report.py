from pathlib import Path

import pytest

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
    from hw2.store import jsonable

    p1 = experiments.get("p1.perceptron")
    full = jsonable(dataclasses.asdict(p1.config("full")))
    # P1 at the laptop profile has no overrides: it *is* the full specification.
    laptop = jsonable(dataclasses.asdict(p1.config("laptop")))
    assert not report.is_reduced(_run_like("p1.perceptron", "laptop", laptop))
    assert report.reduced_note(_run_like("p1.perceptron", "laptop", laptop)) == ""
    # Smoke shrinks it, and one changed field is enough.
    smoke = jsonable(dataclasses.asdict(p1.config("smoke")))
    assert report.is_reduced(_run_like("p1.perceptron", "smoke", smoke))
    assert report.is_reduced(_run_like("p1.perceptron", "laptop", {**full, "n_repeats": 999}))
    # The seed is not a reduction.
    assert not report.is_reduced(_run_like("p1.perceptron", "laptop", {**full, "seed": 3}))
    # P3 at the laptop profile is reduced (fewer seeds and epochs), whatever the name says.
    p3 = experiments.get("p3.lenet")
    assert report.is_reduced(_run_like("p3.lenet", "laptop", jsonable(dataclasses.asdict(p3.config("laptop")))))
    # A laptop result standing in for a missing full one stays labelled.
    assert report.is_reduced(_run_like("p1.perceptron", "laptop", laptop, reduced_from="full"))
    assert not report.is_reduced(_run_like("p1.perceptron", "full", smoke))  # full profile: by definition


def test_chained_experiment_at_a_reduced_profile_is_reduced(tmp_path, monkeypatch):
    """A P4 policy's prepared fields (lr_min, lr_max) come from an upstream run: it is the full
    specification only if they are the full-spec sweep's, and it cannot be checked without that sweep."""
    import dataclasses

    from hw2 import experiments
    from hw2.store import jsonable, store_for

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    clr = experiments.get("p4.clr")
    full_sizes = dataclasses.replace(clr.config("full"), lr_min=1e-3, lr_max=1e-1)  # bounds from some sweep
    config = jsonable(dataclasses.asdict(full_sizes))
    # no full-spec sweep stored: the full-spec config cannot be known, so a laptop run is never called full
    assert report.full_spec_config("p4.clr") is None
    assert report.is_reduced(_run_like("p4.clr", "laptop", config))
    assert not (tmp_path / "full").exists()  # looked up, never computed
    sweep = experiments.get("p4.lr_sweep")
    stored = {"lr_min": 1e-3, "lr_max": 1e-1, "best_lr": 1e-2, "reference_loss": 2.3}
    store_for("full").save("p4.lr_sweep", sweep.config("full"), sweep.version, stored, {"profile": "full"})
    assert not report.is_reduced(_run_like("p4.clr", "laptop", config))  # the full spec, whatever the profile says
    from_laptop_sweep = jsonable(dataclasses.asdict(dataclasses.replace(full_sizes, lr_min=2e-3)))
    assert report.is_reduced(_run_like("p4.clr", "laptop", from_laptop_sweep))


def test_4_7s_page_labels_its_runs_reduced_and_says_it_is_assembled(capsys):
    """4.7 stores nothing: its banner lists the policy runs it is assembled from, and a fallback to
    laptop (policy_runs with reduced_from="full") is named as such."""
    from hw2.experiments import p4_policies

    runs = [StoredResult(name, {"seed": seed}, "4", {}, {"profile": "laptop", "seed": seed, "reduced_from": "full",
                                                          "wall_time_s": 1.0})
            for name in p4_policies.POLICIES.values() for seed in (0, 1)]
    assert all(report.is_reduced(r) for r in runs)
    assert "because no full-spec result is stored and no GPU is here" in report.reduced_note(runs[0])
    text = report.banner(*runs, assembled="4.7")
    assert text.splitlines()[0] == ("4.7 is assembled when this page renders from 8 stored run(s); "
                                    "nothing of its own is stored")
    assert "p4.compare" not in text and "p4.cbs_matched seeds 0 1" in text
    assert "no full-spec result is stored" in text
    assert text in capsys.readouterr().out


# A gallery page as Sphinx-Gallery writes it: highlighted source, then the captured output.
_PAGE = """<div class="highlight-Python notranslate"><div class="highlight"><pre><span class="n">history</span> \
<span class="o">=</span> <span class="n">fit</span><span class="p">(</span><span class="n">steps</span>\
<span class="o">/</span><span class="n">step</span><span class="p">)</span>
</pre></div></div>
<div class="sphx-glr-script-out highlight-none notranslate"><div class="highlight"><pre><span></span>p4.lr_sweep: \
read from the results store (p4.lr_sweep-3f2a.json)
  lr 1.0e-03: loss 2.30 -&gt; 1.12 (51 % of the untrained loss), 160 updates, 98.5 img/s
{output}
</pre></div></div>
"""


def test_check_pages_passes_a_clean_page_and_names_page_and_line(tmp_path):
    (tmp_path / "p4").mkdir()
    (tmp_path / "p4" / "plot_clean.html").write_text(_PAGE.format(output="Answer 4.2: lr_min 3.6e-04"))
    assert report.check_pages(tmp_path) == []
    bar = "p4.lr_sweep:  40%|████      | 4/10 [00:12&lt;00:18,  3.01s/it]"
    (tmp_path / "p4" / "plot_bar.html").write_text(_PAGE.format(output=bar))
    line = _PAGE.format(output=bar).split("\n").index(bar) + 1
    assert report.check_pages(tmp_path) == [
        f"{Path('p4', 'plot_bar.html')}:{line}: tqdm bar: p4.lr_sweep:  40%|████      | 4/10 [00:12<00:18,  3.01s/it]"]


def test_terminal_noise_finds_tqdm_and_keras_lines():
    def found(output):
        return [what for _, what, _ in report.terminal_noise(_PAGE.format(output=output))]

    # Tables, rates and ratios that only look like it.
    assert found("| 0.1 | 1e4 | 97.0 % | 95.1 % |") == []
    assert found("minigooglenet bf16: 235 img/s (1.88x fp32), 12.5 ms/step") == []
    assert found("updates: 160 = 2048/64 * 5 epochs; total/steps = 1") == []
    # tqdm: the bar, an ASCII bar's counts and times, a rate alone (bar_format without the bar).
    assert found("cases:  50%|#####     | 2/4 [00:01&lt;00:01,  1.90it/s]") == ["tqdm bar"]
    assert found("cases: 2/4 [00:01&lt;?, ?it/s]") == ["tqdm bar"]
    assert found("cases: 2/4, 1.90it/s]") == ["tqdm rate"]
    # Keras: fit(verbose=1), fit(verbose=2), the epoch header, predict's one-line bar.
    assert found("32/32 \u2501\u2501\u2501\u2501\u2501\u2501 0s 2ms/step - accuracy: 0.91 - loss: 0.28") == [
        "Keras progress bar"]
    assert found("32/32 - 0s - 2ms/step - loss: 0.28") == ["Keras per-step log"]
    assert found("Epoch 3/10") == ["Keras epoch header"]
    # A carriage return survives into the file only if it is read with newline="".
    assert found("cases: done\r") == ["carriage return"]
    assert found("cases: done&#13;") == ["carriage return"]


def test_check_pages_fails_when_there_is_nothing_to_check(tmp_path):
    with pytest.raises(FileNotFoundError, match="No HTML pages"):
        report.check_pages(tmp_path)


def test_an_answer_longer_than_the_landing_page_allows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HW2_ANSWERS_DIR", str(tmp_path))
    report.answer("1.1", "x" * report.ANSWER_MAX_CHARS, page=None)
    with pytest.raises(ValueError, match=r"`text` of answer 1.2 must be at most 300 characters"):
        report.answer("1.2", "x" * (report.ANSWER_MAX_CHARS + 1), page=None)
    assert [r["part"] for r in report.collected_answers(tmp_path)] == ["1.1"]  # nothing half-written


def test_the_banner_of_a_result_assembled_from_cached_parts_gives_their_compute_time(capsys):
    parts = {"n_parts": 18, "n_cached": 18, "n_untimed": 0, "compute_time_s": 4575.0}
    text = report.banner(_result("full", wall_time_s=6.5, parts=parts))
    assert "assembled in 6.5 s from 18 parts (18 cached) that took 4575.0 s to compute" in text
    assert "wall time 6.5 s" in report.banner(_result("full", wall_time_s=6.5))
