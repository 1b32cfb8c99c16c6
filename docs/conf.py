"""Sphinx configuration: the hw2 report, built by Sphinx-Gallery from examples/.

The profile comes from HW2_PROFILE (default full: stored full-spec results are rendered, missing
ones computed). Examples are re-executed whenever the profile changes, and every example records its
one-line answers, which are collected into the landing page's "answers at a glance".
"""

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# Keep the build from oversubscribing the CPU (and from hanging on thread pools in workers).
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(var, str(max(1, os.cpu_count() or 1)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Progress bars are for terminals; in the report they would be captured as noise.
os.environ.setdefault("TQDM_DISABLE", "1")

from hw2 import profiles, report  # noqa: E402

PROFILE = profiles.resolve_profile()
ANSWERS_DIR = DOCS / "_answers" / PROFILE
os.environ["HW2_ANSWERS_DIR"] = str(ANSWERS_DIR)
os.environ["HW2_PROFILE"] = PROFILE

# Sphinx-Gallery re-runs only examples whose source changed; results depend on the profile too.
_GALLERY = DOCS / "auto_examples"
_marker = _GALLERY / ".hw2-profile"
if _GALLERY.exists() and (not _marker.exists() or _marker.read_text() != PROFILE):
    shutil.rmtree(_GALLERY)
    shutil.rmtree(ANSWERS_DIR, ignore_errors=True)

project = "hw2"
author = "hw2 authors"
copyright = "2026, hw2 authors"
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_mock_imports = []
napoleon_google_docstring = True
napoleon_use_ivar = True
exclude_patterns = ["_build", "_answers", "auto_examples/*.ipynb", "**/sg_execution_times.rst"]
suppress_warnings = ["config.cache"]
# `.. plot::` (the architecture page's diagram): one PNG, no source or format links.
plot_formats = [("png", 110)]
plot_html_show_source_link = False
plot_html_show_formats = False


def reset_keras(gallery_conf, fname):
    """Between examples: a fresh Keras session, closed figures, the report's plot style."""
    import matplotlib.pyplot as plt

    plt.close("all")
    try:
        import keras

        keras.backend.clear_session()
    except Exception:
        pass
    from hw2 import plotting

    plotting.use_report_style()


sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "within_subsection_order": "FileNameSortKey",
    # HW2_GALLERY_PATTERN (a regex on the example path) builds a subset, e.g. "p1_" for Problem 1.
    "filename_pattern": os.environ.get("HW2_GALLERY_PATTERN", r"/plot_"),
    "ignore_pattern": r"__init__\.py|" + (os.environ.get("HW2_GALLERY_IGNORE") or r"^$"),
    "plot_gallery": "True",
    "reset_modules": (reset_keras,),
    "doc_module": ("hw2",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"hw2": None},
    "remove_config_comments": True,
    "abort_on_example_error": True,
    # Results can change without the example source changing (a new stored run): always re-execute.
    # Examples read the results store, so a re-run costs seconds.
    "run_stale_examples": True,
    "capture_repr": ("_repr_html_",),
    "matplotlib_animations": False,
    "show_signature": False,
    "download_all_examples": False,
    "min_reported_time": 5,
}
sphinx_gallery_conf["subsection_order"] = __import__(
    "sphinx_gallery.sorting", fromlist=["ExplicitOrder"]).ExplicitOrder(
    [f"../examples/{d}" for d in
     ("p1_perceptron", "p2_initialization", "p3_batchnorm_dropout", "p4_cyclical_policies")])

html_theme = "pydata_sphinx_theme"
html_title = "hw2 — a reproducible report"
html_static_path = ["_static"]
html_css_files = ["hw2.css"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_context = {"default_mode": "light"}
# Example pages carry wide code and figures: drop the right-hand page outline there.
html_theme_options["secondary_sidebar_items"] = {"*": ["page-toc"], "auto_examples/**": []}
html_show_sourcelink = False


def _label_for(page: str | None) -> str | None:
    if not page:
        return None
    path = Path(page)
    try:
        rel = path.resolve().relative_to((ROOT / "examples").resolve())
    except ValueError:
        return None
    return "sphx_glr_auto_examples_" + "_".join(rel.with_suffix("").parts) + ".py"


def _rst_escape(text: str) -> str:
    """Answers are plain text: keep reST from reading |x|, `x` or name_ as markup (and drop the
    asterisks of *emphasis*, which plain text cannot show)."""
    text = text.replace("*", "")
    for char in ("\\", "`", "|", "_"):
        text = text.replace(char, "\\" + char)
    return text


def _write_if_changed(target: Path, text: str) -> None:
    """Write a generated include only when its text changes (an unchanged file rebuilds nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def write_answers(app):
    """Collect the answers the examples recorded into _answers/answers.rst (included by index.rst)."""
    records = report.collected_answers(ANSWERS_DIR) if ANSWERS_DIR.exists() else []
    lines = []
    note = ""
    if PROFILE != "full":
        note = (f".. note::\n   This report was built with the **{PROFILE}** profile "
                f"({profiles.PROFILE_DESCRIPTIONS[PROFILE]}). Its numbers are not the homework's answers.\n\n")
    for record in records:
        label = _label_for(record.get("page"))
        link = f":ref:`{record['part']} <{label}>`" if label else f"**{record['part']}**"
        lines.append(f"* {link} — {_rst_escape(record['text'])}")
    if not lines:
        lines = ["* (no answers recorded yet: the examples did not run in this build)"]
    _write_if_changed(DOCS / "_answers" / "answers.rst", note + "\n".join(lines) + "\n")
    if _GALLERY.exists():
        _marker.write_text(PROFILE)


def write_stored_results(app):
    """A table of the committed full-spec results with their provenance (for reproducibility.rst)."""
    from hw2 import experiments, provenance
    from hw2.store import store_for

    rows = []
    for _path, meta in store_for("full").entries():
        prov = meta.get("provenance", {})
        try:
            current = meta.get("version") == experiments.get(meta["experiment"]).version
        except KeyError:
            current = False
        rows.append(f"   * - ``{meta['experiment']}``\n     - {meta['version']}{'' if current else ' (stale)'}"
                    f"\n     - {prov.get('device', '?')}\n     - {prov.get('backend', '?')}"
                    f"\n     - {prov.get('date', '?')}\n     - {provenance.compute_time(prov)}"
                    f"\n     - ``{prov.get('code_version', '?')}``")
    if rows:
        text = (".. list-table::\n   :header-rows: 1\n\n   * - experiment\n     - version\n     - device\n"
                "     - backend\n     - date\n     - compute time\n     - code\n" + "\n".join(rows) + "\n")
    else:
        text = "No full-specification results are stored yet.\n"
    _write_if_changed(DOCS / "_answers" / "stored_results.rst", text)


def setup(app):
    app.connect("builder-inited", write_stored_results)
    # Sphinx-Gallery executes the examples in its builder-inited handler (priority 500); collect after.
    app.connect("builder-inited", write_answers, priority=900)
