"""Reading a model file as hostile input: what may be opened, how much may be read,
and which Keras objects its network may name.

A model file from an untrusted source is the attack surface of :func:`skneural.load`.
Everything here runs before Keras deserializes anything:

- only a regular file is opened (a directory, FIFO, device or symbolic-link loop is
  refused at once, without blocking on it);
- every zip member's declared size is checked against a cap before it is read, and it
  is read in chunks with a running limit (a declared size can lie), refusing members
  that expand more than :data:`MAX_EXPANSION` times (a decompression bomb);
- an archive lists a few members, each named without a NUL;
- JSON is bounded in nesting depth and string length, its numbers are finite and an
  object's keys distinct;
- the network's Keras configuration is checked, at every depth, against a
  :class:`skneural._model_schema.ConfigSchema` learned from configurations skneural
  itself builds (that module holds the allow-list).
"""

import errno
import json
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any, BinaryIO

from .exceptions import ModelFileError

#: Largest manifest (``skneural.json``) read, in bytes.
MAX_MANIFEST_BYTES = 32 * 2**20
#: Largest Keras ``metadata.json`` read, in bytes.
MAX_METADATA_BYTES = 2**16
#: Largest ratio of a member's size to its compressed size, above 1 MiB.
MAX_EXPANSION = 100
#: Deepest nesting of lists and objects in the file's JSON.
MAX_JSON_DEPTH = 64
#: Longest string in the file's JSON.
MAX_STRING_CHARS = 2**16

#: Most members listed in an archive's directory before it is refused unread.
MAX_MEMBERS = 16

_CHUNK = 2**20


def open_regular_file(path: Any) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (symbolic links followed).

    Opening never blocks (a FIFO with no writer is refused, not waited on); a missing
    or unreadable file raises the usual :class:`OSError`, which names the path.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    name = os.fspath(path)
    if ("\0" if isinstance(name, str) else b"\0") in name:
        raise ModelFileError(f"{name!r} is not a file name: it contains a NUL character")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelFileError(f"{name!r} is a loop of symbolic links, not a file") from None
        if exc.errno == errno.EISDIR:
            raise ModelFileError(f"{name!r} is a directory, not a model file") from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ModelFileError(
            f"{name!r} is a {_file_kind(mode)}, not a regular file: a model file is a regular file"
        )
    return os.fdopen(fd, "rb")


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ]  # fmt: skip
    return next((kind for test, kind in kinds if test(mode)), "special file")


def check_members(
    archive: zipfile.ZipFile, archive_size: int, allowed: Iterable[str], required: Iterable[str]
) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, after checking their names and that each one's
    compressed data fits in the archive (``archive_size`` bytes)."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    allowed, required = set(allowed), set(required)
    if len(names) > MAX_MEMBERS:
        raise ModelFileError(
            f"the archive holds {len(names)} members ({_some(names)}); expected only "
            f"{sorted(allowed)}"
        )
    if len(set(names)) != len(names):
        raise ModelFileError(f"the archive holds a member twice: {sorted(names)}")
    odd = [info.orig_filename for info in infos if info.orig_filename != info.filename]
    if odd:  # zipfile cuts a name at a NUL; other tools would see another name
        raise ModelFileError(f"the archive holds a member with a NUL in its name: {odd[0]!r:.80}")
    if set(names) - allowed:
        raise ModelFileError(
            f"the archive holds unexpected members {_some(set(names) - allowed)}; "
            f"expected only {sorted(allowed)}"
        )
    if required - set(names):
        raise ModelFileError(f"the archive has no {sorted(required - set(names))}")
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelFileError(f"member {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                f"member {info.filename!r} uses compression method {info.compress_type}; "
                "expected stored (0) or deflated (8)"
            )
        if info.header_offset + info.compress_size > archive_size:
            raise ModelFileError(
                f"member {info.filename!r} declares {info.compress_size} compressed bytes, "
                f"more than the {archive_size}-byte archive holds"
            )
        if info.file_size > 2**20 and info.file_size > MAX_EXPANSION * info.compress_size:
            raise ModelFileError(
                f"member {info.filename!r} would expand {info.compress_size} bytes to "
                f"{info.file_size}, more than {MAX_EXPANSION} times: a decompression bomb"
            )
    return {info.filename: info for info in infos}


def _some(names: Iterable[str], shown: int = 5) -> str:
    """A few of ``names``, for a message that stays one short line."""
    names = sorted(names)
    if len(names) <= shown and all(len(name) <= 80 for name in names):
        return repr(names)
    listed = ", ".join(repr(name[:80]) for name in names[:shown])
    return f"{listed} and {len(names) - shown} more" if len(names) > shown else listed


def _check_size(info: zipfile.ZipInfo, limit: int, what: str) -> None:
    if info.file_size > limit:
        raise ModelFileError(
            f"{what} ({info.filename!r}) declares {info.file_size} bytes; at most {limit} "
            "are expected"
        )


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str):
    """A member's bytes in chunks, stopping as soon as more than ``limit`` arrive."""
    _check_size(info, limit, what)
    total = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise ModelFileError(
                        f"{what} ({info.filename!r}) holds more than {limit} bytes"
                    )
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ModelFileError(f"{what} ({info.filename!r}) is corrupt ({exc})") from None


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str) -> bytes:
    """A member's content, read with a running limit of ``limit`` bytes."""
    data = bytearray()
    for chunk in _chunks(archive, info, limit, what):
        data += chunk
    return bytes(data)


def extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str, target: str
) -> None:
    """Copy a member to the file ``target``, with a running limit of ``limit`` bytes."""
    with open(target, "wb") as file:
        for chunk in _chunks(archive, info, limit, what):
            file.write(chunk)


def _distinct_keys(pairs: list) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        keys = [key for key, _ in pairs]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"an object has the key {twice[0]!r:.80} twice")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number; skneural writes only finite numbers")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} overflows a float")
    return value


def parse_json(data: bytes, what: str) -> Any:
    """``data`` as JSON, refusing deep nesting, long strings and non-finite numbers
    (``NaN``, ``Infinity`` or ``1e999``, which Python's JSON would read as floats)."""
    try:
        value = json.loads(
            data,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_distinct_keys,
        )
    except RecursionError:
        raise ModelFileError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{what} is not valid JSON ({exc})") from None
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str) and len(node) > MAX_STRING_CHARS:
            raise ModelFileError(
                f"{what} holds a string of {len(node)} characters; at most "
                f"{MAX_STRING_CHARS} are expected"
            )
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise ModelFileError(f"{what} is nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((child, depth + 1) for child in children)
            if isinstance(node, dict):
                stack.extend((key, depth + 1) for key in node)
    return value
