"""Writing a file so that a failure never destroys the one already there.

The new content goes to a temporary file in the destination's own folder (so that the
final rename stays on one file system), is flushed to disk, and only then replaces the
destination with :func:`os.replace`, which is atomic on POSIX and Windows. Whatever
stops the write (a full disk, a permission error, Ctrl-C), the destination keeps its
previous content and no temporary file is left behind.
"""

import contextlib
import os
import tempfile
from collections.abc import Callable


def write_atomically(path: "str | os.PathLike", write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)``, then move the result to ``path`` in one step.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist and be writable.
    write : callable
        Writes the whole new content to the file name it is given.

    Raises
    ------
    OSError
        The temporary file could not be made, written or moved; the message names
        ``path``, which is unchanged.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> def write(name):
    ...     with open(name, "w") as file:
    ...         file.write("hello")
    >>> write_atomically(path, write)
    >>> open(path).read()
    'hello'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path!r}: {exc.strerror}") from exc
    os.close(fd)
    try:
        write(temporary)
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        # A failed clean-up must not hide why the write failed.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            # The same kind of error, naming the destination rather than the temporary.
            message = f"cannot write {path!r}: {exc.strerror or exc}"
            raise (type(exc)(exc.errno, message) if exc.errno else OSError(message)) from exc
        raise
