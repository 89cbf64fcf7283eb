"""Reading a model file as hostile input: what may be opened, how much may be read,
and which Keras objects its network may name.

A model file from an untrusted source is the attack surface of :func:`skneural.load`.
Everything here runs before Keras deserializes anything:

- only a regular file is opened (a directory, FIFO, device or symbolic-link loop is
  refused at once, without blocking on it);
- every zip member's declared size is checked against a cap before it is read, and it
  is read in chunks with a running limit (a declared size can lie), refusing members
  that expand more than :data:`MAX_EXPANSION` times (a decompression bomb);
- JSON is bounded in nesting depth and string length;
- the network's Keras configuration is checked, at every depth, against a
  :class:`ConfigSchema` learned from configurations skneural itself builds: each
  object's ``module``, ``class_name`` and ``registered_name`` (Keras resolves a
  ``registered_name`` before anything else), each entry's key, the kind of its value,
  and the value itself for strings other than layer and optimizer names.
"""

import errno
import json
import math
import os
import stat
import zipfile
import zlib
from collections import defaultdict
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
_ABSENT = "<absent>"
_OBJECT_KEYS = ("module", "class_name", "registered_name")


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


# -- the allow-list of Keras configurations ------------------------------------------


def _is_object(node: Any) -> bool:
    return isinstance(node, dict) and any(key in node for key in _OBJECT_KEYS)


def _identity(node: dict) -> tuple:
    """What Keras resolves an object by: its module, class name and registered name."""
    return tuple(node.get(key, _ABSENT) for key in _OBJECT_KEYS)


def _value_kind(value: Any) -> str:
    if value is None or isinstance(value, (bool, str, list)):
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    return "object" if _is_object(value) else "dict"


def _entries(node: Any, owner: "tuple | None" = None, path: tuple = ()):
    """Every entry below ``node`` as (its place, its value), depth first. A place is the
    object the entry belongs to and its path below that object (list items as ``*``)."""
    if _is_object(node):
        owner, path = _identity(node), ()
    items = node.items() if isinstance(node, dict) else []
    if isinstance(node, list):
        items = [("*", item) for item in node]
    for key, value in items:
        yield (owner, (*path, key)), value
        yield from _entries(value, owner, (*path, key))


def _describe(identity: tuple) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in zip(_OBJECT_KEYS, identity, strict=True))


class ConfigSchema:
    """Which Keras objects, entries, kinds of value and strings a configuration may
    hold, learned from configurations known to be good (skneural's own).

    Every object (a JSON object with a ``module``, ``class_name`` or
    ``registered_name``) is identified by those three values; each entry is placed by
    the object it belongs to and its path below it (list items as ``*``). A string is
    free where a good configuration holds a layer's or optimizer's name there, and otherwise must be
    one a good configuration holds at the same place.
    """

    def __init__(self, configs: Iterable[dict], names: Iterable[str] = ()):
        self.roots: set[tuple] = set()
        self._kinds: dict[tuple, set[str]] = defaultdict(set)
        self._strings: dict[tuple, set[str]] = defaultdict(set)
        names = set(names)
        for config in configs:
            self.roots.add(_identity(config))
            for place, value in _entries(config):
                self._kinds[place].add(_value_kind(value))
                if isinstance(value, str):
                    self._strings[place].add(value)
        self.objects = {identity for identity, _ in self._kinds} | self.roots
        self._free = {place for place, strings in self._strings.items() if strings & names}

    def check(self, config: Any, what: str, roots: "set[tuple] | None" = None) -> None:
        """Raise :class:`ModelFileError` unless ``config`` holds only what the good
        configurations hold; its top object must be one of ``roots`` (default: the
        good configurations' own)."""
        roots = self.roots if roots is None else roots
        if not _is_object(config) or _identity(config) not in roots:
            found = _describe(_identity(config)) if _is_object(config) else repr(config)[:80]
            raise ModelFileError(f"{what} is a {found}, which skneural never writes there")
        # Objects first, at any depth: they are what Keras would import and run.
        stack = [config]
        while stack:
            node = stack.pop()
            if _is_object(node) and _identity(node) not in self.objects:
                raise ModelFileError(
                    f"{what} names an object skneural does not build ({_describe(_identity(node))})"
                )
            if isinstance(node, (dict, list)):
                stack.extend(node.values() if isinstance(node, dict) else node)
        for place, value in _entries(config):
            owner, path = place
            where = f"{what}: {'.'.join(map(str, path))} of {_describe(owner)}"
            if place not in self._kinds:
                raise ModelFileError(f"{where} is an entry skneural never writes")
            kind = _value_kind(value)
            if kind not in self._kinds[place]:
                raise ModelFileError(
                    f"{where} is a {kind}; expected {' or '.join(sorted(self._kinds[place]))}"
                )
            if kind == "str" and place not in self._free and value not in self._strings[place]:
                raise ModelFileError(
                    f"{where} is {value!r}; expected one of {sorted(self._strings[place])}"
                )
