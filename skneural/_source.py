"""skneural's own source files as they were when the package was imported.

A stored graph (:mod:`skneural._stored_graphs`) is named after a digest of the code that
traced it. The digest must be of the code this process runs, not of what is on disk
later: the files' sizes and modification times are noted when ``skneural`` is
imported, and :func:`digest` gives None once any of them has changed since (an edit
during a session), so that graphs are then neither stored nor looked up.
"""

import functools
import hashlib
from pathlib import Path

_ROOT = Path(__file__).parent


def _stats() -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(_ROOT)): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in sorted(_ROOT.rglob("*.py"))
    }


try:
    _AT_IMPORT = _stats()
except OSError:  # not plain files (a zip): no digest, no stored graphs
    _AT_IMPORT = None


def digest() -> str | None:
    """A digest of the package's source as imported, or None when a file changed (or
    the files cannot be read)."""
    try:
        return _content_digest() if _AT_IMPORT and _stats() == _AT_IMPORT else None
    except OSError:
        return None


@functools.cache
def _content_digest() -> str:
    hashed = hashlib.sha256()
    for name in _AT_IMPORT:
        hashed.update(name.encode())
        hashed.update((_ROOT / name).read_bytes())
    return hashed.hexdigest()
