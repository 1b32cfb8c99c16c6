"""Fail when a built gallery page carries terminal output (progress bars, per-batch logs).

Run after ``sphinx-build`` (``tox -e docs`` does)::

    python docs/check_pages.py [docs/_build/html/auto_examples]

Prints ``page:line: what: text`` for each offending line and exits 1; exits 0 when every page is
clean. The rules are :data:`hw2.report.TERMINAL_NOISE`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hw2.report import check_pages  # noqa: E402


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent / "_build" / "html" / "auto_examples"
    try:
        messages = check_pages(folder)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    for message in messages:
        print(message)
    if messages:
        print(f"{len(messages)} line(s) of terminal output in the report pages under {folder}: progress bars "
              "and per-batch logs belong on a terminal (verbose=0, tqdm disabled).", file=sys.stderr)
        return 1
    print(f"Report pages under {folder}: no progress bars or per-batch logs.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
