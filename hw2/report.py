"""What an example page says about its numbers: provenance banners and 'answers at a glance'.

Examples call :func:`banner` once per stored result they render, and :func:`answer` once per
homework part with a sentence built from the measured numbers. During a docs build
(``HW2_ANSWERS_DIR`` set by ``docs/conf.py``) each answer is recorded and collected into the
landing page; run on its own, an example just prints it. :func:`check_pages` scans the built pages
for terminal output that does not belong in a report (progress bars, per-batch logs).

Example:
    >>> answer("1.1", "hinge 97.0 % vs perceptron 95.1 %", page=None)  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from hw2 import profiles, provenance
from hw2.atomic import atomic_write_bytes
from hw2.store import StoredResult, canonical_json


def full_spec_config(experiment: str, seed: int = 0) -> str | None:
    """The full-specification config of ``experiment`` as canonical JSON (:func:`hw2.store.canonical_json`),
    or None if it cannot be known.

    For chained experiments (a ``prepare`` hook fills fields from upstream results) the upstream
    full-spec results are looked up in the store, never computed; None when one is missing.
    """
    from hw2 import experiments

    try:
        exp = experiments.get(experiment)
        with experiments.no_compute():
            config = exp.prepared(exp.config("full", seed=seed), "full")
    except (KeyError, LookupError, ValueError):  # unknown experiment, missing upstream, bad config
        return None
    return canonical_json(config)


def is_reduced(result: StoredResult) -> bool:
    """True unless the numbers come from the full homework specification.

    Decided from the run's stored config, not the profile's name: a laptop run whose config equals
    the full-spec config (P1 and P2, whose laptop overrides are empty) is the full specification.
    The seed is not a reduction; a result computed in place of a missing full one
    (``reduced_from`` in its provenance) always is.
    """
    if result.provenance.get("reduced_from"):
        return True
    if result.profile == "full":
        return False
    seed = result.config.get("seed", 0) if isinstance(result.config, dict) else 0
    full = full_spec_config(result.experiment, seed=seed)
    if full is None:
        return True
    return canonical_json(result.config) != full


def reduced_changes(result: StoredResult) -> list[str]:
    """What a reduced run changed from the homework specification, one ``"field value (full: value)"`` each.

    Read from the profiles (:func:`hw2.profiles.overrides_for`): the fields the run's profile sets
    that the full specification sets otherwise. Fields an upstream result fills (lr_min, b_max, ...)
    are not sizes and are left out. Empty for a full-spec run.

    Example:
        >>> from hw2.store import StoredResult
        >>> run = StoredResult("p4.lr_range_test", {}, "4", {}, {"profile": "laptop"})
        >>> reduced_changes(run)[:2]
        ['train_size 4096 (full: all)', 'validation_size 1000 (full: all)']
    """
    from hw2 import experiments

    if result.profile == "full":
        return []
    try:
        experiment = experiments.get(result.experiment)
        reduced, full = experiment.config(result.profile), experiment.config("full")
    except (KeyError, ValueError):
        return [f"the {result.profile} profile's sizes"]
    out = []
    for field in profiles.overrides_for(result.experiment, result.profile):
        value, spec = getattr(reduced, field), getattr(full, field)
        if value != spec:
            show = lambda v: "all" if v is None else " ".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" \
                if isinstance(v, float) else str(v)
            out.append(f"{field} {show(value)} (full: {show(spec)})")
    return out


def reduced_note(result: StoredResult) -> str:
    """Plain words to put next to an answer computed at a reduced size ('' for full spec): the
    profile, why (a missing full-spec result without a GPU) and what it changed."""
    if not is_reduced(result):
        return ""
    why = " because no full-spec result is stored and no GPU is here" if result.provenance.get(
        "reduced_from") == "full" else ""
    changes = reduced_changes(result)
    what = f": {', '.join(changes)}" if changes else ""
    return f"[reduced run: {result.profile} profile{why}, not the homework specification{what}]"


def banner(*results: StoredResult, title: str | None = None, assembled: str | None = None) -> str:
    """Print (and return) where the numbers of a page come from: one banner per page.

    One line per experiment (its seeds, whether read from the store or computed now, and the wall
    time of each run), one line of what the runs share (profile, backend, device, code), and, if
    any run is reduced, one note of what its profile changed. ``assembled`` names a homework part
    that stores nothing of its own and is put together from these runs when the page renders (its
    wall time is theirs, listed, not the page's).
    """
    if not results:
        raise ValueError("banner() needs at least one result")
    lines = []
    if assembled:
        lines.append(f"{assembled} is assembled when this page renders from {len(results)} stored run(s); "
                     "nothing of its own is stored")
    groups: dict[str, list[StoredResult]] = {}
    for result in results:
        groups.setdefault(result.experiment, []).append(result)
    for experiment, runs in groups.items():
        stored = sum(r.from_store for r in runs)
        source = ("read from the results store" if stored == len(runs) else "computed in this run" if not stored
                  else f"{stored} read from the results store, {len(runs) - stored} computed in this run")
        if len(runs) == 1 and runs[0].from_store and runs[0].path is not None:
            source += f" ({runs[0].path.name})"
        seeds = " ".join(str(r.provenance.get("seed", r.config.get("seed", 0) if isinstance(r.config, dict) else 0))
                         for r in runs)
        times = ("; ".join(provenance.compute_time(r.provenance) for r in runs) if len(runs) == 1 or any(
            "parts" in r.provenance for r in runs) else
            "wall time " + ", ".join(f"{float(r.provenance.get('wall_time_s', 0)):.1f}" for r in runs) + " s")
        name = title if title and len(groups) == 1 else experiment
        lines.append(f"{name} seed{'s' if len(runs) > 1 else ''} {seeds}: {source}; {times}")
    shared = {_shared_provenance(r.provenance) for r in results}
    dates = sorted({str(r.provenance.get("date")) for r in results})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    if len(shared) == 1:
        lines.append(f"  {shared.pop()} · {when}")
    else:
        lines += [f"  {text}" for text in sorted(shared)]
    reduced = [r for r in results if is_reduced(r)]
    if reduced:
        lines.append(f"  {_shared_reduced_note(reduced)}")
    text = "\n".join(lines)
    print(text)
    return text


def _shared_reduced_note(results: list[StoredResult]) -> str:
    """One reduced-run note for several results: the changes they share, then each one's own."""
    changes = {r.experiment: reduced_changes(r) for r in results}
    shared = [c for c in next(iter(changes.values())) if all(c in other for other in changes.values())]
    own = {name: [c for c in found if c not in shared] for name, found in changes.items()}
    profiles_seen = sorted({r.profile for r in results})
    why = (" because no full-spec result is stored and no GPU is here"
           if any(r.provenance.get("reduced_from") == "full" for r in results) else "")
    text = f"[reduced run: {'/'.join(profiles_seen)} profile{why}, not the homework specification"
    if shared:
        text += f": {', '.join(shared)}"
    extra = [f"{name} also {', '.join(found)}" for name, found in own.items() if found]
    if extra:
        text += "; " + "; ".join(extra)
    return text + "]"


def _shared_provenance(record: dict) -> str:
    versions = record.get("versions", {})
    precision = f" · {record['precision']}" if record.get("precision") else ""
    return (f"profile {record.get('profile')} · {record.get('backend')} backend (keras {versions.get('keras', '?')})"
            f"{precision} · {record.get('device')} · code {record.get('code_version')}")


def _caller_file() -> str | None:
    """The example script calling us. Sphinx-Gallery does not set ``__file__`` but compiles each
    example with its path as the code object's file name, which works for plain runs as well."""
    import inspect

    for frame_info in inspect.stack()[2:]:
        filename = frame_info.frame.f_code.co_filename
        if Path(filename).name.startswith("plot_") and "examples" in Path(filename).parts:
            return str(Path(filename).resolve())
    return None


#: The landing page lists one answer per homework part: the answer in plain words with its
#: headline number and interval, no longer than this; the evidence belongs on the page.
ANSWER_MAX_CHARS = 300


def answer(part: str, text: str, result: StoredResult | None = None, page: str | None = "auto") -> str:
    """Record the one-line answer to homework ``part`` (e.g. '1.3') and print it.

    ``page`` is the example file the answer links to ('auto': the calling example). A reduced
    result gets a short note (the page's banner says what the profile changed) so the landing page
    never presents a reduced run as the answer. ``text`` is at most :data:`ANSWER_MAX_CHARS` long.

    Example:
        >>> answer("9.9", "The hinge wins by 0.4 points (95 % CI 0.3–0.5).")
        Answer 9.9: The hinge wins by 0.4 points (95 % CI 0.3–0.5).
        'The hinge wins by 0.4 points (95 % CI 0.3–0.5).'
    """
    if len(text) > ANSWER_MAX_CHARS:
        raise ValueError(f"Argument `text` of answer {part} must be at most {ANSWER_MAX_CHARS} characters "
                         f"(the evidence belongs on the page). Received: {len(text)} characters: {text!r}")
    if result is not None and is_reduced(result):
        text = f"{text} [reduced run: {result.profile} profile; the page says what it changed]"
    print(f"Answer {part}: {text}")
    folder = os.environ.get("HW2_ANSWERS_DIR")
    if folder:
        page = _caller_file() if page == "auto" else page
        record = {"part": part, "text": text, "page": page}
        atomic_write_bytes(Path(folder) / f"{part}.json", json.dumps(record).encode())
    return text


def collected_answers(folder: str | os.PathLike) -> list[dict]:
    """All answers recorded in ``folder``, ordered by part number."""
    records = [json.loads(p.read_text()) for p in Path(folder).glob("*.json")]

    def order(record):
        return tuple(int(piece) if piece.isdigit() else piece for piece in record["part"].split("."))

    return sorted(records, key=order)


#: Terminal output that a report page must not carry, by what it is. tqdm draws
#: ``desc:  50%|█████     | 5/10 [00:01<00:01,  4.12it/s]``; Keras' ``fit(verbose=1)`` draws
#: ``32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.5`` (``verbose=2``: ``32/32 - 0s - 2ms/step - loss: 0.5``).
TERMINAL_NOISE = {
    "tqdm bar": re.compile(r"[\u2588-\u258f]|\d%\||\[\d+:\d\d(?::\d\d)?<(?:\d+:\d\d|\?)"),
    "tqdm rate": re.compile(r"(?:\d|\?)(?:it/s|s/it)[\],]"),
    "Keras progress bar": re.compile("\u2501"),
    "Keras per-step log": re.compile(r"\d(?:s|ms|us|\u00b5s|ns)/step\b|\bstep - \w+: "),
    "Keras epoch header": re.compile(r"^\s*Epoch \d+/\d+\s*$"),
    "carriage return": re.compile(r"\r|&#(?:13|x0*d);", re.IGNORECASE),
}


def terminal_noise(page_html: str) -> list[tuple[int, str, str]]:
    """The lines of a built HTML page that carry terminal output: ``(line number, what, text)``.

    Each line is read as the reader sees it, tags dropped and entities resolved (``&lt;`` is the
    ``<`` of tqdm's ``[00:01<00:02``); carriage returns are looked for in the raw line. Read the
    file with ``newline=""``, or Python turns every carriage return into a line break first.

    Example:
        >>> terminal_noise('<pre><span></span>loss 0.31\\n</pre>')
        []
        >>> terminal_noise('<pre>32/32 - 0s - 2ms/step - loss: 0.31</pre>')
        [(1, 'Keras per-step log', '32/32 - 0s - 2ms/step - loss: 0.31')]
    """
    found = []
    for number, raw in enumerate(page_html.split("\n"), start=1):
        text = html.unescape(re.sub(r"<[^>]*>", "", raw))
        for what, pattern in TERMINAL_NOISE.items():
            if pattern.search(raw if what == "carriage return" else text):
                found.append((number, what, text.strip()[:160]))
                break
    return found


def check_pages(folder: str | os.PathLike) -> list[str]:
    """One message per line of terminal output in the HTML pages under ``folder`` (recursively):
    ``page:line: what: text``. Empty when the pages are clean.

    Raises:
        FileNotFoundError: no HTML page under ``folder`` (a check of nothing must not pass).
    """
    folder = Path(folder)
    pages = sorted(folder.rglob("*.html"))
    if not pages:
        raise FileNotFoundError(f"No HTML pages under {folder}: build the docs first.")
    messages = []
    for page in pages:
        with open(page, encoding="utf-8", newline="") as handle:
            for number, what, text in terminal_noise(handle.read()):
                messages.append(f"{page.relative_to(folder)}:{number}: {what}: {text}")
    return messages
