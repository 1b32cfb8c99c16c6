"""The Problem 1 readings (hw2.experiments.p1_analysis): grid readers, intervals, and the answers'
wording and length on synthetic results, the smoke result and the committed full-spec result."""

import numpy as np
import pytest

from hw2 import experiments, perceptron, report
from hw2.experiments import p1_analysis as p1


def _grid_data(hinge_correct, perceptron_correct, lr_grid, epochs_grid):
    correct = np.stack([perceptron_correct, hinge_correct])
    return {"losses": ["perceptron", "hinge"], "lr_grid": np.asarray(lr_grid), "epochs_grid": np.asarray(epochs_grid),
            "n_test": 100, "grid_correct": correct, "grid_converged": np.ones(correct.shape[:3])}


def test_grid_readers_name_the_winner_of_every_setting_and_the_edge():
    rng = np.random.default_rng(0)
    base = rng.integers(80, 90, size=(2, 3, 200))
    noise = rng.integers(-1, 2, size=(2, 3, 200))
    hinge = base + noise
    hinge[1, 2] += 5   # clearly better at (lr 1, 100 epochs) only
    hinge[0, 0] -= 5   # clearly worse at (lr 0.1, 1 epoch)
    data = _grid_data(hinge, base, (0.1, 1.0), (1, 10, 100))
    wins = p1.where_each_wins(data, "test")
    assert wins["hinge"] == [(1.0, 100)] and wins["perceptron"] == [(0.1, 1)]
    assert len(wins["tie"]) == 4
    check = p1.edge_check(data, population="test")
    assert check["best"] == (1.0, 100) and set(check["edges"]) == {"largest epochs", "largest lr"}
    assert not check["stable"] and check["edges"]["largest epochs"]["gain"] > 0.04
    assert p1.hinge_wins_from(data | {"grid_fresh_correct": data["grid_correct"], "n_fresh": 100}, 1.0) == 100
    # The best strictly inside the grid: nothing depends on where it stops.
    interior = np.full((3, 3, 50), 80)
    interior[1, 1] = 90
    check = p1.edge_check(_grid_data(interior, interior, (0.1, 1.0, 10.0), (1, 10, 100)), population="test")
    assert check["best"] == (1.0, 10) and check["edges"] == {} and check["stable"]
    # At an edge, but the last step buys nothing beyond the noise: stable.
    same = np.repeat(rng.integers(85, 95, size=(1, 1, 300)), 2, axis=1).repeat(2, axis=0)
    check = p1.edge_check(_grid_data(same, same, (0.1, 1.0), (10,)), population="test")
    assert check["edges"]["largest lr" if check["best"][0] == 1.0 else "smallest lr"]["gain"] == 0
    assert check["stable"]


def test_population_is_checked_and_picks_the_sample():
    data = _grid_data(np.full((1, 1, 4), 90), np.full((1, 1, 4), 80), (1.0,), (10,))
    data |= {"grid_fresh_correct": data["grid_correct"] * 10, "n_fresh": 1000}
    np.testing.assert_allclose(p1.correct_share(data, "fresh"), p1.correct_share(data, "test"))
    with pytest.raises(ValueError, match="`population` must be one of"):
        p1.compare_grid(data, "train")


def test_in_favour_and_points_ci_turn_a_difference_around():
    d = {"mean_diff": -0.005, "ci_low": -0.007, "ci_high": -0.003, "significant": True}
    assert p1.winner(d) == "perceptron"
    assert p1.points_ci(p1.in_favour(d, "perceptron")) == "+0.50 points (95% CI +0.30 to +0.70)"
    assert p1.winner(d | {"significant": False}) is None


def test_disagreement_interval_covers_the_truth():
    """The U-statistic interval of a paired difference of mean pairwise disagreements has about 95 %
    coverage: simulated lines whose tilts spread differently for two 'losses'."""
    rng = np.random.default_rng(1)
    sample = perceptron.SortedSample.of(*_unit_square(4000, rng))

    def lines(n):
        shared = rng.normal(size=n)
        tilt_a = np.radians(2.0 * shared + 1.0 * rng.normal(size=n))
        tilt_b = np.radians(2.5 * shared + 1.2 * rng.normal(size=n))
        normal = lambda t: np.stack([np.cos(np.pi / 4 - t), -np.sin(np.pi / 4 - t)], axis=1)  # noqa: E731
        return normal(tilt_a), normal(tilt_b)

    a, b = lines(4000)
    truth = sample.disagreement_with_others(a).mean() - sample.disagreement_with_others(b).mean()
    covered = []
    for _ in range(200):
        a, b = lines(60)
        d = p1.disagreement_difference(sample.disagreement_with_others(a), sample.disagreement_with_others(b))
        covered.append(d["ci_low"] <= truth <= d["ci_high"])
    assert 0.88 <= np.mean(covered) <= 0.995


def _unit_square(n, rng):
    from hw2.datasets import unit_square

    return unit_square(n, rng)


def test_wrap_keeps_tables_and_breaks_long_lines():
    table = "a  b\n" + "x" * 10
    assert p1.wrap(table) == table
    long = " ".join(["word"] * 40)
    assert all(len(line) <= p1.WIDTH for line in p1.wrap(long).splitlines())


def _summary(diff, significant, n=1000):
    return {"mean_diff": diff, "ci_low": diff - 0.002, "ci_high": diff + 0.002, "significant": significant,
            "n": n, "frac_a_better": 0.5, "frac_b_better": 0.4, "frac_tie": 0.1, "sd_diff": 0.03}


def _synthetic(fresh_diff, significant, margins_differ=True, disagreement_shift=-0.01):
    """A result shaped like p1.perceptron's, small, with the headline comparison chosen."""
    rng = np.random.default_rng(2)
    n = 200
    lr_grid, epochs_grid = np.array([0.1, 1.0]), np.array([10, 100])
    correct = rng.integers(900, 1000, size=(2, 2, 2, n))
    base = rng.uniform(0.03, 0.05, size=n)
    data = {
        "losses": ["perceptron", "hinge"], "lr_grid": lr_grid, "epochs_grid": epochs_grid, "n_fresh": 1000,
        "y_test": np.ones(1000), "example_y_train": np.ones(20), "example_x_train": rng.uniform(size=(20, 2)),
        "grid_correct": correct, "grid_fresh_correct": correct, "grid_converged": np.ones((2, 2, 2)),
        "weights": {"hinge": rng.normal(size=(n, 2)), "perceptron": rng.normal(size=(n, 2))},
        "train_margin": {"hinge": base + (0.01 if margins_differ else rng.normal(0, 0.01, n)), "perceptron": base},
        "disagreement": {"hinge": base + disagreement_shift, "perceptron": base},
        "summary": {"single_set_accuracy": {"hinge": 0.99, "perceptron": 0.97},
                    "single_set_mcnemar": {"only_a": 26, "only_b": 3, "p_value": 1.5e-05},
                    "hinge_minus_perceptron_fresh": _summary(fresh_diff, significant, n),
                    "hinge": {"fresh_accuracy_mean": 0.97 + fresh_diff / 2, "mean_pairwise_disagreement": 0.04},
                    "perceptron": {"fresh_accuracy_mean": 0.97 - fresh_diff / 2, "mean_pairwise_disagreement": 0.05}},
    }
    return data


@pytest.mark.parametrize("fresh_diff, significant, start", [
    (0.005, True, "The hinge loss"), (-0.005, True, "The perceptron criterion"), (0.0005, False, "Neither"),
])
def test_answers_are_short_and_follow_the_interval(fresh_diff, significant, start):
    data = _synthetic(fresh_diff, significant)
    config = {"lr": 1.0, "epochs": 100}
    text = p1.answer_1_3(data, config)
    assert text.startswith(start) and len(text) <= report.ANSWER_MAX_CHARS
    assert ("farther away" in text) == (start == "The hinge loss")
    verdict = p1.verdict(data, config)
    assert ("neither" in verdict) == (not significant)
    for answer in (p1.answer_1_1(data), p1.answer_1_2(data), p1.answer_1_4(data)):
        assert len(answer) <= report.ANSWER_MAX_CHARS


def test_stability_words_come_from_the_interval():
    assert p1.answer_1_4(_synthetic(0.005, True)).startswith("The hinge loss is more stable")
    assert p1.answer_1_4(_synthetic(0.005, True, disagreement_shift=0.01)).startswith("The perceptron criterion")
    noisy = _synthetic(0.005, True, disagreement_shift=0.0)
    noisy["disagreement"]["hinge"] = noisy["disagreement"]["hinge"] + np.random.default_rng(0).normal(0, 0.01, 200)
    assert p1.answer_1_4(noisy).startswith("Neither loss")
    assert "do not differ beyond the noise" in p1.margin_reading(_synthetic(0.005, True, margins_differ=False))


def _check_pages_readings(result):
    data, config = result.data, result.config
    answers = [p1.answer_1_1(data), p1.answer_1_2(data), p1.answer_1_3(data, config), p1.answer_1_4(data)]
    assert all(len(text) <= report.ANSWER_MAX_CHARS for text in answers), [len(t) for t in answers]
    readings = [p1.setup_line(data, config), p1.single_set_line(data, "hinge"), p1.training_fit(data, "hinge"),
                p1.single_set_reading(data, "perceptron"), p1.order_reading(data), p1.margin_reading(data),
                p1.margin_reading(data, run=0), p1.accuracy_table(data), p1.difference_line(data, "test"),
                p1.shared_test_luck(data), p1.verdict(data, config), p1.difference_table(data),
                p1.wins_text(data), p1.edge_text(data), p1.training_length_table(data, lr=config["lr"]),
                p1.training_length_table(data), p1.growth_reading(data, config["lr"]),
                p1.training_length_reading(data, config), p1.angle_reading(data), p1.stability_table(data),
                p1.stability_reading(data), p1.least_stable(data), p1.perceptron_lr_reading(data)]
    for text in readings:
        assert all(len(line) <= p1.WIDTH for line in text.splitlines()), text
    return answers


def test_readings_of_the_smoke_result(tmp_path):
    from hw2.store import ResultStore

    _check_pages_readings(experiments.run("p1.perceptron", "smoke", store=ResultStore(tmp_path)))


def test_readings_of_the_committed_full_result():
    from pathlib import Path

    from hw2.store import ResultStore

    committed = ResultStore(Path(__file__).resolve().parents[1] / "results" / "full")  # read, never written
    with experiments.no_compute():
        try:
            result = experiments.run("p1.perceptron", "full", store=committed)
        except LookupError:
            pytest.skip("no full-spec p1.perceptron result is stored")
    answers = _check_pages_readings(result)
    assert answers[2].startswith("The hinge loss")  # the committed result's verdict, from its interval
