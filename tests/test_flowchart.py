"""The finders' step constants as flowcharts: decisions with loops, drawn by ``plot_block_diagram``."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon  # noqa: E402

from hw2.noise_scale import NOISE_FINDER_STEPS  # noqa: E402
from hw2.plotting import new_figure, plot_block_diagram  # noqa: E402
from hw2.sweeps import BATCH_FINDER_STEPS  # noqa: E402

CONSTANTS = pytest.mark.parametrize("steps", [BATCH_FINDER_STEPS, NOISE_FINDER_STEPS], ids=["batch", "noise"])


def decisions(steps):
    return [step for step in steps if len(step) == 3]


def draw(steps, height_per_step=0.75):
    fig, ax = new_figure(height=height_per_step * len(steps))
    returned = plot_block_diagram(ax, steps, title="finder")
    fig.draw_without_rendering()
    return fig, ax, returned


def diamonds(ax):
    return [p for p in ax.patches if isinstance(p, Polygon) and len(np.unique(p.get_xy(), axis=0)) == 4]


def boxes(ax):
    return [p for p in ax.patches if isinstance(p, FancyBboxPatch)]


def arrows(ax):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def going_up(arrow):
    """Whether the arrow climbs: its path rises well above its start (its tail)."""
    vertices = arrow.get_path().vertices
    return vertices[:, 1].max() > vertices[0, 1] + 0.1


@CONSTANTS
def test_constants_unpack_as_the_page_reads_them(steps):
    for number, (name, text, *rest) in enumerate(steps, 1):
        assert isinstance(name, str) and isinstance(text, str) and text.strip(), number
        assert len(rest) <= 1
    names = [step[0] for step in steps]
    assert len(set(names)) == len(names)
    assert names[-1] == "use" and "suggest" in names


@CONSTANTS
def test_constants_have_a_decision_that_loops_back(steps):
    names = [step[0] for step in steps]
    assert decisions(steps)
    for name, _, branches in decisions(steps):
        assert set(branches) == {"yes", "no"}
        assert set(branches.values()) <= set(names), name
        i = names.index(name)
        targets = sorted(names.index(target) for target in branches.values())
        assert targets[0] < i and targets[1] == i + 1, (name, branches)  # one loop back, one straight on


def test_batch_finder_keeps_the_suggest_defaults():
    import inspect

    from hw2.suggest import suggest_batch_size

    low, high = inspect.signature(suggest_batch_size).parameters["fractions"].default
    suggest = dict((name, text) for name, text, *_ in BATCH_FINDER_STEPS)["suggest"]
    assert f"drop >= {low}" in suggest and f"drop >= {high}" in suggest
    branches = dict((name, rest) for name, _, *rest in BATCH_FINDER_STEPS)["more"][0]
    assert branches == {"yes": "train", "no": "curve"}


@CONSTANTS
@pytest.mark.parametrize("height_per_step", [0.75, 0.85])
def test_diagram_draws_boxes_diamonds_and_a_loop(steps, height_per_step):
    fig, ax, returned = draw(steps, height_per_step)
    assert returned is ax
    assert len(diamonds(ax)) == len(decisions(steps))
    assert len(boxes(ax)) == len(steps) - len(decisions(steps))
    ups = [a for a in arrows(ax) if going_up(a)]
    assert len(ups) == len(decisions(steps))  # one loop per decision, every other arrow goes down
    assert len(arrows(ax)) == len(steps) - 1 + len(decisions(steps))
    assert {text for _, text, *_ in steps} <= {t.get_text() for t in ax.texts}
    labels = [t.get_text() for t in ax.texts if t.get_text() in ("yes", "no")]
    assert sorted(labels) == sorted(["yes", "no"] * len(decisions(steps)))
    # a loop passes to the right of every block beside it, from its diamond up to its target
    for arrow in ups:
        loop = arrow.get_extents()
        beside = [p.get_extents() for p in boxes(ax) + diamonds(ax)
                  if loop.y0 - 1 <= (p.get_extents().y0 + p.get_extents().y1) / 2 <= loop.y1 + 1]
        assert len(beside) >= 2 and all(block.x1 < loop.x1 for block in beside)
    plt.close(fig)


@CONSTANTS
def test_text_fits_its_block_and_blocks_do_not_overlap(steps):
    fig, ax, _ = draw(steps)
    renderer = fig.canvas.get_renderer()
    shapes = sorted(boxes(ax) + diamonds(ax), key=lambda p: -p.get_extents().y1)
    for upper, lower in zip(shapes, shapes[1:]):
        assert upper.get_extents().y0 > lower.get_extents().y1  # a gap for the arrow between them
    axes_box = ax.get_window_extent(renderer)
    for text in ax.texts:
        bbox = text.get_window_extent(renderer)
        assert axes_box.x0 - 1 <= bbox.x0 and bbox.x1 <= axes_box.x1 + 1
        assert axes_box.y0 - 1 <= bbox.y0 and bbox.y1 <= axes_box.y1 + 1
        if text.get_text() in ("yes", "no"):
            continue
        center = ((bbox.x0 + bbox.x1) / 2, (bbox.y0 + bbox.y1) / 2)
        shape = next(p for p in shapes if p.get_extents().contains(*center))
        outline = shape.get_extents()
        assert outline.x0 <= bbox.x0 and bbox.x1 <= outline.x1 and outline.y0 <= bbox.y0 and bbox.y1 <= outline.y1
        if isinstance(shape, Polygon):  # the text's corners inside the diamond
            cx, cy, half_w, half_h = (*outline.p0 + outline.size / 2, *outline.size / 2)
            for x, y in ((bbox.x1, bbox.y1), (bbox.x0, bbox.y0)):
                assert abs(x - cx) / half_w + abs(y - cy) / half_h <= 1.0
    plt.close(fig)


def test_bad_target_raises_naming_it():
    steps = (("a", "A"), ("b", "B"), ("ask", "Again?", {"yes": "x", "no": "c"}), ("c", "C"))
    fig, ax = new_figure()
    with pytest.raises(ValueError, match="names unknown step 'x'"):
        plot_block_diagram(ax, steps)
    plt.close(fig)


@pytest.mark.parametrize("branches, match", [
    ({"yes": "a"}, "exactly the keys 'yes' and 'no'"),
    ({"yes": "a", "no": "c", "maybe": "b"}, "exactly the keys 'yes' and 'no'"),
    ({"yes": "c", "no": "c"}, "one branch on to the next step"),
    ({"yes": "a", "no": "b"}, "one branch on to the next step"),
])
def test_bad_branches_raise(branches, match):
    steps = (("a", "A"), ("b", "B"), ("ask", "Again?", branches), ("c", "C"))
    fig, ax = new_figure()
    with pytest.raises(ValueError, match=match):
        plot_block_diagram(ax, steps)
    plt.close(fig)


def test_two_tuples_still_draw_a_plain_column():
    steps = (("one", "First"), ("two", "Second\nline"), ("three", "Third"))
    fig, ax, returned = draw(steps)
    assert returned is ax and ax.get_title() == "finder"
    assert len(boxes(ax)) == 3 and not diamonds(ax)
    assert len(arrows(ax)) == 2 and not any(going_up(a) for a in arrows(ax))
    plt.close(fig)
