"""Writing a file so that a failure never destroys the one already there.

The new content goes to a temporary file in the destination's own folder (so that the
final rename stays on one file system), is flushed to disk, and only then replaces the
destination with :func:`os.replace`, which is atomic on POSIX and Windows. A symbolic
link is kept (the file it points to is replaced), the new file gets the mode the old one
had (or the umask's), and a directory, FIFO or device is refused before anything is
written. Whatever
stops the write (a full disk, a permission error, Ctrl-C), the destination keeps its
previous content and no temporary file is left behind.
"""

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable

# The longest part of the destination's name kept in the temporary file's name (a
# file system allows 255 bytes per name; the temporary adds a dot and a suffix).
_NAME_CHARS = 64


def _umask() -> int:
    """The process's umask, read without changing it where the system says it."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _destination(path) -> str:
    """The file to replace: ``path`` with symbolic links resolved (the link is kept and
    its target replaced), refused if it names something other than a regular file."""
    path = os.fsdecode(path)
    if "\0" in path:
        raise ValueError(f"cannot write {path!r}: a file name cannot contain a NUL character")
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return target  # absent (or unreachable: creating the temporary says why)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path!r}: it is a directory")
    if not stat.S_ISREG(mode):
        raise OSError(
            errno.EINVAL, f"cannot write {path!r}: it is a special file, not a regular file"
        )
    return target


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
    target = _destination(path)
    path = os.fsdecode(path)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)[:_NAME_CHARS]}.", suffix=".tmp", dir=folder
        )
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path!r}: {exc.strerror}") from exc
    os.close(fd)
    try:
        write(temporary)
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        # The mode a plain open() would give: the replaced file's, or 0o666 less the umask.
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException as exc:
        # A failed clean-up must not hide why the write failed.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            # The same kind of error, naming the destination rather than the temporary.
            message = f"cannot write {path!r}: {exc.strerror or exc}"
            raise (type(exc)(exc.errno, message) if exc.errno else OSError(message)) from exc
        raise
