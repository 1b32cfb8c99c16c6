"""Progress output for terminals only: report pages never carry progress bars or per-epoch logs.

Sphinx-Gallery (and pytest) capture standard error as well as standard output, so a tqdm bar or a
per-epoch line written there would end up in the report page. Everything here writes only when
standard error is an interactive terminal (and ``TQDM_DISABLE`` is not set).

Example:
    >>> bar = progress_bar(3, enabled=True, desc="demo")  # not a terminal under doctest: silent
    >>> bar.disable
    True
    >>> bar.close()
"""

from __future__ import annotations

import os
import sys


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (default standard error) is an interactive terminal and progress is wanted."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("TQDM_DISABLE")


def progress_bar(total=None, enabled: bool = True, desc: str = "", iterable=None, **kwargs):
    """A tqdm bar on standard error, drawn only when ``enabled`` and on a terminal."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, disable=not (enabled and on_terminal()), desc=desc, leave=False,
                file=sys.stderr, **kwargs)
