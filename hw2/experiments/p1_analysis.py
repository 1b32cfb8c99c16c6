"""Readings of the stored Problem 1 (perceptron criterion vs hinge loss) results that the report's pages print.

Render-only: this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`; no computation
imports it, so changing a rule or a sentence here recomputes nothing. Every comparative word it
writes comes from a 95 % interval on the numbers it names.

* :func:`correct_share`, :func:`compare_grid`, :func:`where_each_wins`, :func:`edge_check` --
  the (lr, epochs) grid read per setting, paired over the training sets, on the fixed test set
  (``population="test"``) or the fresh sample (``"fresh"``);
* :func:`setup_line`, :func:`single_set_line`, :func:`training_fit`, :func:`single_set_reading`,
  :func:`mcnemar_reading`, :func:`order_reading` -- one training set (1.1, 1.2);
* :func:`margin_comparison`, :func:`margin_reading` -- how far the training points stay from each
  loss's line (1.2, 1.3);
* :func:`accuracy_table`, :func:`difference_line`, :func:`verdict`, :func:`difference_table`,
  :func:`wins_text`, :func:`edge_text`, :func:`training_length_table`,
  :func:`training_length_reading`, :func:`growth_reading`, :func:`hinge_wins_from`,
  :func:`perceptron_lr_spread`, :func:`perceptron_lr_reading`, :func:`shared_test_luck`, :func:`angle_reading` -- 1.3;
* :func:`disagreement_difference`, :func:`stability`, :func:`stability_table`,
  :func:`stability_reading`, :func:`least_stable` -- 1.4;
* :func:`answer_1_1` ... :func:`answer_1_4` -- the landing page's answers, each at most
  :data:`hw2.report.ANSWER_MAX_CHARS` characters.

Example:
    >>> settings_text([(1.0, 10000), (0.1, 1)])
    '(lr 1, 10000 epochs), (lr 0.1, 1 epoch)'
"""

from __future__ import annotations

import functools
import textwrap

import numpy as np

from hw2 import stats
from hw2._checks import check_choice

POPULATIONS = ("fresh", "test")
LABELS = {"perceptron": "perceptron criterion", "hinge": "hinge loss"}


# ------------------------------------------------------------------------------------ small words
#: Printed readings are wrapped to this many characters, so a page's output never scrolls sideways.
WIDTH = 100


def wrap(text: str, width: int = WIDTH) -> str:
    """Each line of ``text`` wrapped to ``width`` characters, continuation lines indented by 4.

    Example:
        >>> print(wrap("one two three four", width=9))
        one two
            three
            four
    """
    return "\n".join(textwrap.fill(line, width, subsequent_indent="    ", break_on_hyphens=False,
                                    break_long_words=False) if len(line) > width else line
                     for line in text.split("\n"))


def _wrapped(function):
    """Decorator: the reading ``function`` returns comes back through :func:`wrap`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return wrap(function(*args, **kwargs))
    return wrapper


def settings_text(pairs) -> str:
    """``'(lr 1, 10 epochs), ...'`` for (lr, epochs) pairs; ``'none'`` for none."""
    return ", ".join(f"(lr {lr:g}, {e:g} epoch{'' if e == 1 else 's'})" for lr, e in pairs) or "none"


def points_ci(diff: dict) -> str:
    """A paired difference in accuracy points with its interval: ``'+0.43 points (95% CI +0.24 to +0.61)'``.

    Example:
        >>> points_ci({"mean_diff": 0.0043, "ci_low": 0.0024, "ci_high": 0.0061})
        '+0.43 points (95% CI +0.24 to +0.61)'
    """
    return (f"{100 * diff['mean_diff']:+.2f} points (95% CI {100 * diff['ci_low']:+.2f} to "
            f"{100 * diff['ci_high']:+.2f})")


def winner(diff: dict, a: str = "hinge", b: str = "perceptron") -> str | None:
    """``a`` or ``b`` when the 95 % interval of ``a − b`` excludes 0, else None."""
    if not diff["significant"]:
        return None
    return a if diff["mean_diff"] > 0 else b


def in_favour(diff: dict, won: str, a: str = "hinge") -> dict:
    """The difference ``a − b`` as ``won − the other``: unchanged when ``won`` is ``a``, negated otherwise.

    Example:
        >>> in_favour({"mean_diff": -0.01, "ci_low": -0.02, "ci_high": -0.005}, "perceptron")
        {'mean_diff': 0.01, 'ci_low': 0.005, 'ci_high': 0.02}
    """
    if won == a:
        return {key: diff[key] for key in ("mean_diff", "ci_low", "ci_high")}
    return {"mean_diff": -diff["mean_diff"], "ci_low": -diff["ci_high"], "ci_high": -diff["ci_low"]}


def _population(data: dict, population: str) -> tuple[str, int]:
    """The grid of correct counts and the sample size behind ``population``."""
    check_choice("population", population, POPULATIONS)
    if population == "fresh":
        return "grid_fresh_correct", int(data["n_fresh"])
    return "grid_correct", int(data["n_test"]) if "n_test" in data else len(data["y_test"])


def population_text(data: dict, population: str) -> str:
    """``'200000 fresh points'`` or ``'the 1000 test points'``."""
    _, n = _population(data, population)
    return f"{n} fresh points" if population == "fresh" else f"the {n} test points"


# ------------------------------------------------------------------------------ reading the grid
def _setting(data, ri: int, ei: int) -> tuple[float, int]:
    return float(data["lr_grid"][ri]), int(data["epochs_grid"][ei])


def correct_share(data: dict, population: str = "fresh") -> np.ndarray:
    """Accuracy per (loss, lr, epochs, training set) on ``population`` ('fresh' or 'test')."""
    key, n = _population(data, population)
    return np.asarray(data[key], dtype=np.float64) / n


def compare_grid(data: dict, population: str = "fresh") -> dict:
    """Paired hinge − perceptron accuracy at every (lr, epochs) of the grid, over the training sets.

    Returns arrays of shape (n_lr, n_epochs): ``diff_mean``, ``ci_low``, ``ci_high`` (95 %, in
    accuracy fractions) and ``winner``: ``'hinge'`` or ``'perceptron'`` where the interval excludes
    0, ``'tie'`` where it does not.

    Example:
        >>> data = {"losses": ["perceptron", "hinge"], "lr_grid": np.array([1.0]),
        ...         "epochs_grid": np.array([10]), "n_test": 100,
        ...         "grid_correct": np.array([[[[90, 91, 92, 90]]], [[[95, 95, 96, 94]]]])}
        >>> str(compare_grid(data, "test")["winner"][0, 0])
        'hinge'
    """
    correct = correct_share(data, population)
    h, p = data["losses"].index("hinge"), data["losses"].index("perceptron")
    shape = correct.shape[1:3]
    out = {key: np.zeros(shape) for key in ("diff_mean", "ci_low", "ci_high")}
    out["winner"] = np.empty(shape, dtype=object)
    for ri in range(shape[0]):
        for ei in range(shape[1]):
            d = stats.paired_difference(correct[h, ri, ei], correct[p, ri, ei])
            out["diff_mean"][ri, ei], out["ci_low"][ri, ei], out["ci_high"][ri, ei] = (
                d["mean_diff"], d["ci_low"], d["ci_high"])
            out["winner"][ri, ei] = winner(d) or "tie"
    return out


def where_each_wins(data: dict, population: str = "fresh") -> dict:
    """``{'hinge': [(lr, epochs), ...], 'perceptron': [...], 'tie': [...]}`` from :func:`compare_grid`.

    Example:
        >>> data = {"losses": ["perceptron", "hinge"], "lr_grid": np.array([1.0]),
        ...         "epochs_grid": np.array([10]), "n_test": 100,
        ...         "grid_correct": np.array([[[[90, 91, 92, 90]]], [[[80, 81, 80, 82]]]])}
        >>> where_each_wins(data, "test")
        {'hinge': [], 'perceptron': [(1.0, 10)], 'tie': []}
    """
    won = compare_grid(data, population)["winner"]
    out = {"hinge": [], "perceptron": [], "tie": []}
    for ri in range(won.shape[0]):
        for ei in range(won.shape[1]):
            out[won[ri, ei]].append(_setting(data, ri, ei))
    return out


def edge_check(data: dict, loss: str = "hinge", population: str = "fresh") -> dict:
    """Does the best setting of ``loss`` depend on where the grid stops?

    The best setting is the (lr, epochs) with the highest mean accuracy. For every edge of the grid
    it touches (largest epochs, largest or smallest lr), the same question is asked of the grid
    without that last row or column: the paired difference (best − best of the smaller grid) over
    the training sets, with its 95 % interval, measures what the last step of the grid bought.

    Returns ``best`` ((lr, epochs)), ``best_accuracy``, ``best_converged`` (share of runs at a fixed
    point there), ``edges``: ``{edge: {'without': (lr, epochs), 'gain': ..., 'ci95': [lo, hi],
    'significant': bool}}``, and ``stable``: True when the best is inside the grid or no edge's gain
    is significant -- extending the grid one more step in that direction changed nothing measurable.

    Example:
        >>> data = {"losses": ["hinge"], "lr_grid": np.array([0.1, 1.0]), "epochs_grid": np.array([10, 100]),
        ...         "n_test": 100, "grid_converged": np.ones((1, 2, 2)),
        ...         "grid_correct": np.array([[[[80, 82], [90, 91]], [[85, 86], [95, 95]]]])}
        >>> out = edge_check(data, population="test")
        >>> out["best"], sorted(out["edges"]), out["stable"]
        ((1.0, 100), ['largest epochs', 'largest lr'], False)
    """
    li = data["losses"].index(loss)
    correct = correct_share(data, population)[li]  # (lr, epochs, sets)
    mean = correct.mean(axis=-1)
    n_lr, n_ep = mean.shape
    ri, ei = np.unravel_index(int(np.argmax(mean)), mean.shape)
    edges = {}
    candidates = {"largest epochs": (ei == n_ep - 1 and n_ep > 1, np.s_[:, : n_ep - 1]),
                  "largest lr": (ri == n_lr - 1 and n_lr > 1, np.s_[: n_lr - 1, :]),
                  "smallest lr": (ri == 0 and n_lr > 1, np.s_[1:, :])}
    for edge, (touches, keep) in candidates.items():
        if not touches:
            continue
        sub = mean[keep]
        r2, e2 = np.unravel_index(int(np.argmax(sub)), sub.shape)
        r2 += 1 if edge == "smallest lr" else 0
        d = stats.paired_difference(correct[ri, ei], correct[r2, e2])
        edges[edge] = {"without": _setting(data, r2, e2), "gain": d["mean_diff"],
                       "ci95": [d["ci_low"], d["ci_high"]], "significant": d["significant"]}
    return {"best": _setting(data, ri, ei), "best_accuracy": float(mean[ri, ei]),
            "best_converged": float(data["grid_converged"][li, ri, ei]), "edges": edges,
            "stable": not any(e["significant"] for e in edges.values())}


# -------------------------------------------------------------------------- one training set (1.1, 1.2)
@_wrapped
def setup_line(data: dict, config: dict, run: int | None = 0) -> str:
    """What one training run of pages 1.1 and 1.2 is: the set, the passes, the learning rate, the test set.

    Example:
        >>> data = {"example_y_train": np.ones(20), "y_test": np.ones(1000)}
        >>> print(setup_line(data, {"n_repeats": 1000, "epochs": 10000, "lr": 1.0}))  # doctest: +NORMALIZE_WHITESPACE
        training set 0 of 1000: 20 points, 10000 passes (epochs) over them at learning rate 1
        from zero weights; test set: 1000 points
    """
    which = f"training set {run} of {config['n_repeats']}" if run is not None else (
        f"each of the {config['n_repeats']} training sets")
    return (f"{which}: {len(data['example_y_train'])} points, {config['epochs']} "
            f"passes (epochs) over them at learning rate {config['lr']:g} from zero weights; test set: "
            f"{len(data['y_test'])} points")


@_wrapped
def training_fit(data: dict, loss: str) -> str:
    """Training set 0's learned ``w`` for ``loss``, its accuracy on its own training points, and
    whether it is at a fixed point (no update in the last epoch)."""
    w = np.asarray(data["weights"][loss][0])
    x, y = data["example_x_train"], data["example_y_train"]
    fit = float((np.where(x @ w > 0, 1.0, -1.0) == y).mean())
    fixed = "yes" if data["converged"][loss][0] else "no"
    return (f"{LABELS[loss]}: learned w = ({w[0]:.3g}, {w[1]:.3g}), |w| = {np.linalg.norm(w):.3g}; training "
            f"accuracy {fit:.0%} of {len(y)} points; at a fixed point (no update in the last epoch): {fixed}")


@_wrapped
def single_set_line(data: dict, loss: str) -> str:
    """Training set 0's accuracy for ``loss`` on the test set (Wilson interval) and on the fresh sample.

    Example:
        >>> data = {"y_test": np.ones(1000), "n_fresh": 200000,
        ...         "summary": {"single_set_accuracy": {"hinge": 0.997},
        ...                     "single_set_fresh_accuracy": {"hinge": 0.99412}}}
        >>> print(single_set_line(data, "hinge"))  # doctest: +NORMALIZE_WHITESPACE
        hinge loss: 99.7% of the 1000 test points (95% Wilson interval 99.1%–99.9%); 99.41% of 200000 fresh points
    """
    acc, low, high = single_set_accuracy(data, loss)
    fresh = data["summary"]["single_set_fresh_accuracy"][loss]
    return (f"{LABELS[loss]}: {acc:.1%} of the {len(data['y_test'])} test points (95% Wilson interval "
            f"{low:.1%}–{high:.1%}); {fresh:.2%} of {data['n_fresh']} fresh points")


def single_set_accuracy(data: dict, loss: str) -> tuple[float, float, float]:
    """``(accuracy, low, high)`` of training set 0 on the test set, with its 95 % Wilson interval."""
    acc = data["summary"]["single_set_accuracy"][loss]
    n = len(data["y_test"])
    low, high = stats.wilson_interval(round(acc * n), n)
    return acc, low, high


@_wrapped
def single_set_reading(data: dict, loss: str) -> str:
    """Is the fresh-sample accuracy of training set 0's line inside the test set's Wilson interval?

    The Wilson interval is about new points for this one line: where its accuracy on new data lies,
    given 1000 test points. The fresh sample measures that accuracy directly.
    """
    _, low, high = single_set_accuracy(data, loss)
    fresh = data["summary"]["single_set_fresh_accuracy"][loss]
    where = "inside" if low <= fresh <= high else "outside"
    return (f"the same line on {data['n_fresh']} fresh points: {fresh:.2%}, {where} the interval "
            f"{low:.1%}–{high:.1%} from the {len(data['y_test'])} test points")


@_wrapped
def mcnemar_reading(m: dict) -> str:
    """Training set 0, both losses, the same test points: the discordant points and McNemar's verdict.

    Example:
        >>> print(mcnemar_reading({"only_a": 26, "only_b": 3, "p_value": 1.5e-05}))  # doctest: +NORMALIZE_WHITESPACE
        of the 29 test points on which the two lines disagree, the hinge gets 26 right and the
        perceptron 3: the hinge is better on this training set beyond the test-set noise (exact McNemar p = 1.5e-05)
    """
    counts = (f"of the {m['only_a'] + m['only_b']} test points on which the two lines disagree, the hinge gets "
              f"{m['only_a']} right and the perceptron {m['only_b']}")
    if m["p_value"] < 0.05:
        better = "hinge" if m["only_a"] > m["only_b"] else "perceptron"
        return (f"{counts}: the {better} is better on this training set beyond the test-set noise "
                f"(exact McNemar p = {m['p_value']:.2g})")
    return f"{counts}: within the test-set noise (exact McNemar p = {m['p_value']:.2g})"


@_wrapped
def order_reading(data: dict) -> str:
    """How often the order of the two losses seen on training set 0 holds on the other training sets."""
    diff = data["summary"]["hinge_minus_perceptron"]
    delta = data["accuracy"]["hinge"] - data["accuracy"]["perceptron"]
    same = (diff["frac_a_better"] if delta[0] > 0 else diff["frac_b_better"] if delta[0] < 0
            else diff["frac_tie"])
    return (f"hinge − perceptron on training set 0: {100 * delta[0]:+.1f} points on the test set; over all "
            f"{diff['n']} training sets the hinge is ahead on {diff['frac_a_better']:.0%}, level on "
            f"{diff['frac_tie']:.0%} and behind on {diff['frac_b_better']:.0%}, so the order seen on "
            f"training set 0 holds on {same:.0%} of them")


# ------------------------------------------------------------------------------------ margins (1.2, 1.3)
def margin_comparison(data: dict) -> dict:
    """Paired hinge − perceptron difference of the training margin (the smallest distance of a
    training point to the learned line) over the training sets, at the configured setting."""
    return stats.paired_difference(data["train_margin"]["hinge"], data["train_margin"]["perceptron"])


@_wrapped
def margin_reading(data: dict, run: int | None = None) -> str:
    """The training margins of both losses: on training set ``run``, or (None) over all sets with a
    paired 95 % interval; the comparative word only from that interval.

    Example:
        >>> data = {"train_margin": {"hinge": np.array([0.02, 0.03, 0.025, 0.03]),
        ...                          "perceptron": np.array([0.01, 0.012, 0.005, 0.011])},
        ...         "weights": {"hinge": np.array([[30.0, -30.0]] * 4), "perceptron": np.array([[1.0, -1.0]] * 4)}}
        >>> print(margin_reading(data, run=0))  # doctest: +NORMALIZE_WHITESPACE
        training set 0: closest training point at 0.0200 from the hinge's line (|w| = 42.4, 1/|w| = 0.0236),
        0.0100 from the perceptron's
    """
    m = data["train_margin"]
    if run is not None:
        norm = float(np.linalg.norm(data["weights"]["hinge"][run]))
        return (f"training set {run}: closest training point at {m['hinge'][run]:.4f} from the hinge's line "
                f"(|w| = {norm:.1f}, 1/|w| = {1 / norm:.4f}), {m['perceptron'][run]:.4f} from the perceptron's")
    d = margin_comparison(data)
    won = winner(d)
    finding = (f"the hinge's margin is {'wider' if won == 'hinge' else 'narrower'} than the perceptron's" if won
               else "the hinge's and the perceptron's margins do not differ beyond the noise")
    return (f"over {d['n']} training sets {finding}: mean "
            f"{np.mean(m['hinge']):.4f} vs {np.mean(m['perceptron']):.4f}, difference {d['mean_diff']:+.4f} "
            f"(95% CI {d['ci_low']:+.4f} to {d['ci_high']:+.4f}); wider on {d['frac_a_better']:.0%} of the sets")


# ----------------------------------------------------------------------------------------- 1.3
def accuracy_table(data: dict) -> str:
    """Per loss at the configured setting: mean accuracy over the training sets with its 95 % interval
    on the fixed test set and on the fresh sample, the sd over sets and the worst set (fresh)."""
    s = data["summary"]
    header = (f"{'':>21}  {'the ' + str(len(data['y_test'])) + ' test points':>26}  "
              f"{str(data['n_fresh']) + ' fresh points':>26}  {'sd':>6}  {'worst':>6}")
    lines = [header, f"{'':>21}  {'mean (95% CI)':>26}  {'mean (95% CI)':>26}  {'fresh':>6}  {'fresh':>6}"]
    for name in data["losses"]:
        e = s[name]
        test = f"{e['accuracy_mean']:.2%} ({e['accuracy_ci95'][0]:.2%}–{e['accuracy_ci95'][1]:.2%})"
        fresh = (f"{e['fresh_accuracy_mean']:.2%} ({e['fresh_accuracy_ci95'][0]:.2%}–"
                 f"{e['fresh_accuracy_ci95'][1]:.2%})")
        lines.append(f"{LABELS[name]:>21}  {test:>26}  {fresh:>26}  {e['fresh_accuracy_sd']:6.2%}  "
                     f"{e['fresh_accuracy_min']:6.1%}")
    return "\n".join(lines)


@_wrapped
def difference_line(data: dict, population: str) -> str:
    """The paired hinge − perceptron difference at the configured setting on ``population``."""
    key = "hinge_minus_perceptron_fresh" if population == "fresh" else "hinge_minus_perceptron"
    d = data["summary"][key]
    return (f"hinge − perceptron on {population_text(data, population)}: {points_ci(d)}; hinge ahead on "
            f"{d['frac_a_better']:.0%}, level on {d['frac_tie']:.0%}, behind on {d['frac_b_better']:.0%} of "
            f"the {d['n']} training sets")


@_wrapped
def shared_test_luck(data: dict) -> str:
    """How much higher (or lower) the fixed test set scores the runs than the fresh sample, per loss:
    that test set's own luck, which every run shares and no number of training sets averages out.

    Example:
        >>> data = {"losses": ["hinge"], "y_test": np.ones(1000), "summary": {"hinge": {
        ...         "accuracy_mean": 0.9766, "fresh_accuracy_mean": 0.9737}}}
        >>> print(shared_test_luck(data))
        the 1000 test points score the runs higher than new data: by +0.29 points (hinge loss)
    """
    gaps = {name: 100 * (data["summary"][name]["accuracy_mean"] - data["summary"][name]["fresh_accuracy_mean"])
            for name in data["losses"]}
    word = ("higher than" if all(g > 0 for g in gaps.values()) else "lower than" if all(g < 0 for g in gaps.values())
            else "differently from")
    return (f"the {len(data['y_test'])} test points score the runs {word} new data: by "
            + ", ".join(f"{g:+.2f} points ({LABELS[name]})" for name, g in gaps.items()))


@_wrapped
def verdict(data: dict, config: dict) -> str:
    """The one-line verdict of 1.3 from the paired interval on the fresh sample.

    Example:
        >>> data = {"summary": {"hinge_minus_perceptron_fresh": {"mean_diff": 0.0043, "ci_low": 0.0024,
        ...         "ci_high": 0.0061, "significant": True, "n": 1000}}}
        >>> print(verdict(data, {"lr": 1.0, "epochs": 10000}))  # doctest: +NORMALIZE_WHITESPACE
        Verdict: the hinge loss gives the better classifier, by +0.43 points (95% CI +0.24 to +0.61) of
        accuracy on new data, averaged over 1000 training sets (lr 1, 10000 epochs).
    """
    d = data["summary"]["hinge_minus_perceptron_fresh"]
    won = winner(d)
    setting = f"averaged over {d['n']} training sets (lr {config['lr']:g}, {config['epochs']} epochs)"
    if won is None:
        return (f"Verdict: neither loss gives a measurably better classifier: {points_ci(d)} of accuracy "
                f"on new data for hinge − perceptron, {setting}.")
    return (f"Verdict: the {LABELS[won]} gives the better classifier, by {points_ci(in_favour(d, won))} of "
            f"accuracy on new data, {setting}.")


def difference_table(data: dict, population: str = "fresh") -> str:
    """hinge − perceptron (accuracy points) per setting; rows lr, columns epochs; ``*`` marks a
    setting whose 95 % interval excludes 0."""
    cmp = compare_grid(data, population)
    lines = ["       lr " + "".join(f"{int(e):>10}" for e in data["epochs_grid"])]
    for ri, lr in enumerate(data["lr_grid"]):
        cells = [f"{100 * v:+.2f}{'*' if w != 'tie' else ' '}" for v, w in zip(cmp["diff_mean"][ri], cmp["winner"][ri])]
        lines.append(f"{lr:>9g} " + "".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


@_wrapped
def wins_text(data: dict, population: str = "fresh") -> str:
    """How many settings each loss wins (:func:`difference_table` shows which), and how many calls
    chance alone would make at the 95 % level.

    Example:
        >>> data = {"losses": ["perceptron", "hinge"], "lr_grid": np.array([1.0]),
        ...         "epochs_grid": np.array([10]), "n_test": 100,
        ...         "grid_correct": np.array([[[[90, 91, 92, 90]]], [[[95, 95, 96, 94]]]])}
        >>> print(wins_text(data, "test"))  # doctest: +NORMALIZE_WHITESPACE
        hinge better in 1 of 1 settings, perceptron better in 0, no significant difference in 0; expected
        by chance at the 95 % level: 0.05 calls; the closest call's interval bound is 3.76 points from 0
    """
    wins = where_each_wins(data, population)
    cmp = compare_grid(data, population)
    n = len(data["lr_grid"]) * len(data["epochs_grid"])
    text = (f"hinge better in {len(wins['hinge'])} of {n} settings, perceptron better in {len(wins['perceptron'])}, "
            f"no significant difference in {len(wins['tie'])}; expected by chance at the 95 % level: "
            f"{0.05 * n:.2g} calls")
    called = cmp["winner"] != "tie"
    if called.any():
        bound = np.where(called, np.minimum(np.abs(cmp["ci_low"]), np.abs(cmp["ci_high"])), np.inf).min()
        text += f"; the closest call's interval bound is {100 * bound:.2f} points from 0"
    return text


@_wrapped
def edge_text(data: dict, population: str = "fresh") -> str:
    """The best hinge setting and what the grid's last row or column bought (:func:`edge_check`)."""
    check = edge_check(data, population=population)
    cmp = compare_grid(data, population)
    lr, epochs = check["best"]
    ri, ei = list(data["lr_grid"]).index(lr), list(data["epochs_grid"]).index(epochs)
    p = data["losses"].index("perceptron")
    best_p = correct_share(data, population)[p].mean(axis=-1).max()
    there = {"mean_diff": cmp["diff_mean"][ri, ei], "ci_low": cmp["ci_low"][ri, ei], "ci_high": cmp["ci_high"][ri, ei]}
    lines = [f"best hinge setting: lr {lr:g}, {epochs} epochs: {check['best_accuracy']:.2%} (best perceptron "
             f"{best_p:.2%}); {check['best_converged']:.1%} of its runs at a fixed point; hinge − perceptron "
             f"there {points_ci(there)}"]
    for edge, e in check["edges"].items():
        lines.append(f"  on the {edge} edge: without it the best is lr {e['without'][0]:g}, {e['without'][1]} "
                     f"epochs; the last step bought {100 * e['gain']:+.3f} points (95% CI {100 * e['ci95'][0]:+.3f} "
                     f"to {100 * e['ci95'][1]:+.3f}): {'significant' if e['significant'] else 'within the noise'}")
    if not check["edges"]:
        lines.append("the best hinge setting lies inside the grid")
    elif check["stable"]:
        lines.append("one more step of the grid beyond the best setting changes its accuracy by less than the noise")
    else:
        lines.append("the best hinge setting still improves significantly at the grid's edge: its accuracy is a "
                     "lower bound that depends on where the grid stops")
    return "\n".join(lines)


def training_length_table(data: dict, lr: float | None = None) -> str:
    """Hinge at each epochs of the grid (at ``lr``, default every lr at the longest training and the
    configured lr along the epochs): fresh accuracy, runs at a fixed point, mean ``|w|``, mean training
    margin and ``1/|w|`` -- what longer training changes, and where it stops changing anything."""
    h = data["losses"].index("hinge")
    lr_grid, epochs_grid = list(data["lr_grid"]), list(data["epochs_grid"])
    rows = ([(lr_grid.index(lr), ei) for ei in range(len(epochs_grid))] if lr is not None else
            [(ri, len(epochs_grid) - 1) for ri in range(len(lr_grid))])
    lines = [f"{'lr':>7} {'epochs':>7} {'accuracy (fresh)':>17} {'fixed point':>12} {'mean |w|':>10} "
             f"{'mean margin':>12}"]
    for ri, ei in rows:
        g = {key: data[f"grid_{key}"][h, ri, ei] for key in
             ("fresh_accuracy_mean", "converged", "weight_norm", "train_margin")}
        lines.append(f"{lr_grid[ri]:>7g} {int(epochs_grid[ei]):>7} {g['fresh_accuracy_mean']:>17.2%} "
                     f"{g['converged']:>12.1%} {g['weight_norm']:>10.3g} {g['train_margin']:>12.4f}")
    return "\n".join(lines)


@_wrapped
def angle_reading(data: dict) -> str:
    """Paired comparison of the angle between each learned normal and the true one (1, −1).

    Example:
        >>> data = {"angle_deg": {"hinge": np.array([1.0, 1.2, 0.9, 1.1]),
        ...                       "perceptron": np.array([2.0, 2.4, 1.9, 2.2])}}
        >>> angle_reading(data).endswith("the hinge's lines are closer to the true boundary")
        True
    """
    a = data["angle_deg"]
    d = stats.paired_difference(a["hinge"], a["perceptron"])
    word = ("neither closer to the true boundary nor farther from it than the perceptron's, within the "
            "noise" if not d["significant"] else
            "closer to the true boundary" if d["mean_diff"] < 0 else "farther from the true boundary")
    return (f"angle to the true normal: hinge {np.mean(a['hinge']):.2f}°, perceptron "
            f"{np.mean(a['perceptron']):.2f}° (difference {d['mean_diff']:+.2f}°, 95% CI {d['ci_low']:+.2f} to "
            f"{d['ci_high']:+.2f}): the hinge's lines are {word}")


@_wrapped
def growth_reading(data: dict, lr: float) -> str:
    """Along the epochs of the grid at ``lr``: do the hinge's mean ``|w|`` and mean training margin rise at
    every step, and where do they end (from :func:`training_length_table`'s numbers)."""
    h, ri = data["losses"].index("hinge"), list(data["lr_grid"]).index(lr)
    parts = []
    for key, what in (("weight_norm", "mean |w|"), ("train_margin", "mean margin")):
        v = np.asarray(data[f"grid_{key}"][h, ri])
        steps = np.diff(v)
        trend = ("rises at every step" if np.all(steps > 0) else "never falls" if np.all(steps >= 0) else
                 "falls at some step")
        parts.append(f"{what} {trend} ({v[0]:.3g} to {v[-1]:.3g})")
    epochs = data["epochs_grid"]
    return f"hinge at lr {lr:g}, from {int(epochs[0])} to {int(epochs[-1])} epochs: " + "; ".join(parts)


def hinge_wins_from(data: dict, lr: float, population: str = "fresh") -> int | None:
    """The fewest epochs of the grid from which on the hinge wins at every longer training at ``lr``
    (None if it does not win at the longest)."""
    won = compare_grid(data, population)["winner"][list(data["lr_grid"]).index(lr)]
    first = None
    for ei in range(len(won) - 1, -1, -1):
        if won[ei] != "hinge":
            break
        first = int(data["epochs_grid"][ei])
    return first


@_wrapped
def perceptron_lr_reading(data: dict, population: str = "fresh") -> str:
    """Does the perceptron's mean accuracy depend on the learning rate (:func:`perceptron_lr_spread`)?"""
    spread = perceptron_lr_spread(data, population)
    if spread == 0:
        return ("the perceptron's mean accuracy is the same at every learning rate (largest difference "
                "0 points), so one dotted line shows them all")
    return (f"the perceptron's mean accuracy differs between learning rates by up to {spread:.2f} points; "
            f"the dotted line shows lr {data['lr_grid'][0]:g}")


def perceptron_lr_spread(data: dict, population: str = "fresh") -> float:
    """Largest difference (accuracy points) of the perceptron's mean accuracy between two learning
    rates at the same epochs: 0 when, as from zero weights, the learning rate only scales ``w``."""
    mean = correct_share(data, population)[data["losses"].index("perceptron")].mean(axis=-1)
    return float(100 * np.ptp(mean, axis=0).max())


@_wrapped
def training_length_reading(data: dict, config: dict, population: str = "fresh") -> str:
    """What training beyond the configured epochs bought the hinge at the configured lr, paired over
    the training sets, next to the share of runs at a fixed point (where nothing changes any more)."""
    h = data["losses"].index("hinge")
    lr_grid, epochs_grid = list(data["lr_grid"]), list(data["epochs_grid"])
    ri, ei = lr_grid.index(config["lr"]), epochs_grid.index(config["epochs"])
    last = len(epochs_grid) - 1
    if ei == last:
        return (f"the configured {config['epochs']} epochs are the grid's longest training; "
                f"{data['grid_converged'][h, ri, ei]:.1%} of the hinge runs are at a fixed point there")
    correct = correct_share(data, population)[h, ri]
    d = stats.paired_difference(correct[last], correct[ei])
    change = "within the noise" if not d["significant"] else "a significant change"
    return (f"at lr {config['lr']:g}, training {int(epochs_grid[last])} instead of {config['epochs']} epochs changes "
            f"the hinge's accuracy by {points_ci(d)}, {change}; the share of its runs at a fixed point goes from "
            f"{data['grid_converged'][h, ri, ei]:.1%} to {data['grid_converged'][h, ri, last]:.1%}")


# ----------------------------------------------------------------------------------------- 1.4
def disagreement_difference(a, b) -> dict:
    """Paired hinge-minus-perceptron-style difference of two mean pairwise disagreements.

    ``a`` and ``b`` hold, per training set, the share of points on which that set's classifier and
    another set's disagree, averaged over the other sets
    (:meth:`hw2.perceptron.SortedSample.disagreement_with_others`); their means are the mean
    pairwise disagreements. A mean over pairs is a U-statistic of order 2: to first order its
    variance is 4·Var(per-set value)/n, twice the sd of a plain mean, so the 95 % interval is
    ``mean(a − b) ± 1.96·2·sd(a − b)/√n`` (Hoeffding's decomposition).

    Example:
        >>> out = disagreement_difference([0.03, 0.04, 0.035, 0.03], [0.04, 0.05, 0.042, 0.045])
        >>> round(out["mean_diff"], 4), out["significant"]
        (-0.0105, True)
    """
    d = stats.paired_difference(a, b)
    half = 2 * stats.Z95 * d["sd_diff"] / np.sqrt(d["n"])
    low, high = d["mean_diff"] - half, d["mean_diff"] + half
    return d | {"ci_low": low, "ci_high": high, "significant": bool(low > 0 or high < 0)}


def stability(data: dict) -> dict:
    """:func:`disagreement_difference` of hinge − perceptron at the configured setting."""
    return disagreement_difference(data["disagreement"]["hinge"], data["disagreement"]["perceptron"])


def stability_table(data: dict) -> str:
    """Per loss: the spread over training sets of the fresh accuracy and of the learned direction,
    and the mean pairwise disagreement on the fresh sample."""
    lines = [f"{'':>21}  {'accuracy sd':>11}  {'angle sd':>9}  {'pairwise disagreement':>22}"]
    for name in data["losses"]:
        s = data["summary"][name]
        lines.append(f"{LABELS[name]:>21}  {100 * s['fresh_accuracy_sd']:10.2f}%  {s['angle_sd_deg']:8.2f}°  "
                     f"{100 * s['mean_pairwise_disagreement']:21.2f}%")
    return "\n".join(lines)


@_wrapped
def stability_reading(data: dict) -> str:
    """Which loss is more stable, from the interval of :func:`stability`."""
    d = stability(data)
    won = winner(d)
    ci = (f"{100 * d['mean_diff']:+.2f} points (95% CI {100 * d['ci_low']:+.2f} to {100 * d['ci_high']:+.2f}) "
          f"for hinge − perceptron")
    if won is None:
        return f"neither loss is measurably more stable: mean pairwise disagreement {ci}"
    more = "perceptron criterion" if won == "hinge" else "hinge loss"  # less disagreement = more stable
    return f"the {more} is more stable: mean pairwise disagreement {ci}"


@_wrapped
def least_stable(data: dict) -> str:
    """The setting of the grid with the highest mean pairwise disagreement, and the perceptron's
    after the longest training."""
    dis = np.asarray(data["grid_disagreement"])
    li, ri, ei = np.unravel_index(int(np.argmax(dis)), dis.shape)
    p = data["losses"].index("perceptron")
    setting = settings_text([(float(data["lr_grid"][ri]), int(data["epochs_grid"][ei]))])
    return (f"highest pairwise disagreement in the grid: {LABELS[data['losses'][li]]} at {setting}: "
            f"{100 * dis[li, ri, ei]:.2f}% (perceptron after the longest training: {100 * dis[p, 0, -1]:.2f}%)")


# ------------------------------------------------------------------------------------------ answers
def answer_1_1(data: dict) -> str:
    """The landing page's answer to 1.1."""
    acc, low, high = single_set_accuracy(data, "perceptron")
    return (f"Trained with the perceptron criterion on one set of {len(data['example_y_train'])} points, the model "
            f"classifies {acc:.1%} of the {len(data['y_test'])} test points correctly (95% CI {low:.1%}–{high:.1%}).")


def answer_1_2(data: dict) -> str:
    """The landing page's answer to 1.2."""
    acc, low, high = single_set_accuracy(data, "hinge")
    m = data["summary"]["single_set_mcnemar"]
    paired = ("a difference beyond the test-set noise" if m["p_value"] < 0.05 else
              "a difference within the test-set noise")
    return (f"Trained with the hinge loss on the same {len(data['example_y_train'])} points, the model classifies "
            f"{acc:.1%} of the same {len(data['y_test'])} test points correctly (95% CI {low:.1%}–{high:.1%}), vs "
            f"{data['summary']['single_set_accuracy']['perceptron']:.1%} for the perceptron criterion: {paired} "
            f"(McNemar p = {m['p_value']:.2g}).")


def answer_1_3(data: dict, config: dict) -> str:
    """The landing page's answer to 1.3: the verdict on new data at the configured setting, from how
    many epochs on it holds at that learning rate, and, if the margins differ measurably, why."""
    d = data["summary"]["hinge_minus_perceptron_fresh"]
    won = winner(d)
    acc = {name: data["summary"][name]["fresh_accuracy_mean"] for name in data["losses"]}
    sets = f"over {d['n']} training sets of {len(data['example_y_train'])} points"
    if won is None:
        return (f"Neither, measurably: after {config['epochs']} epochs at lr {config['lr']:g}, hinge − perceptron "
                f"accuracy on new data is {points_ci(d)} {sets}.")
    lost = "perceptron" if won == "hinge" else "hinge"
    since = hinge_wins_from(data, config["lr"]) if won == "hinge" else None
    when = (f", once trained long enough (at lr {config['lr']:g}: from {since} epochs on)"
            if since is not None and since > int(data["epochs_grid"][0]) else "")
    text = (f"The {LABELS[won]}{when}: after {config['epochs']} epochs it scores {acc[won]:.2%} on new data vs "
            f"{acc[lost]:.2%} for the {LABELS[lost]}, {points_ci(in_favour(d, won))} {sets}.")
    if won == "hinge" and winner(margin_comparison(data)) == "hinge":
        text += " Its line keeps the training points farther away."
    return text


def answer_1_4(data: dict) -> str:
    """The landing page's answer to 1.4."""
    d = stability(data)
    won = winner(d)
    dis = {name: data["summary"][name]["mean_pairwise_disagreement"] for name in data["losses"]}
    numbers = (f"two hinge classifiers from different training sets disagree on {dis['hinge']:.2%} of new "
               f"points, two perceptron ones on {dis['perceptron']:.2%} (difference {100 * d['mean_diff']:+.2f} "
               f"points, 95% CI {100 * d['ci_low']:+.2f} to {100 * d['ci_high']:+.2f})")
    if won is None:
        return f"Neither loss is measurably more stable: {numbers}."
    more = "perceptron criterion" if won == "hinge" else "hinge loss"
    return f"The {more} is more stable: {numbers}."
