"""Atomic file writes: readers see the old file or the complete new one, never a half.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_bytes(path, b"done")
    >>> path.read_bytes()
    b'done'
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

# A temporary file older than this is left over from a killed writer (a write takes seconds), so
# the next write to its folder removes it; younger ones may belong to a writer still at work.
STALE_TMP_AGE_S = 3600.0


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a unique temporary file beside ``path``, fsync it, then rename over ``path``.

    Two concurrent writers each rename a complete file of their own, so the last one wins and the
    entry is never a mix of both; a crash leaves at most a stray ``.tmp`` file, never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results and caches are shared files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def remove_stale_temporaries(folder: str | os.PathLike, max_age_s: float = STALE_TMP_AGE_S) -> list[Path]:
    """Remove the hidden ``.*.tmp`` files of :func:`atomic_write_bytes` in ``folder`` that were last
    written more than ``max_age_s`` seconds ago (left by a killed process); return what was removed.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / ".a.npz.x1.tmp").write_bytes(b"half")
        4
        >>> remove_stale_temporaries(folder, max_age_s=3600)  # just written: may be in use
        []
        >>> [p.name for p in remove_stale_temporaries(folder, max_age_s=-1)]
        ['.a.npz.x1.tmp']
    """
    removed, now = [], time.time()
    for candidate in Path(folder).glob(".*.tmp"):
        try:
            if now - candidate.stat().st_mtime > max_age_s and candidate.is_file():
                candidate.unlink()
                removed.append(candidate)
        except FileNotFoundError:  # another writer finished or cleaned it meanwhile
            continue
    return removed
