"""File system paths from a command line or a stored record, checked before anything is opened.

Commands trust the operator with *which* file to read or write (it is their machine), but not
with bytes the OS cannot take (a NUL byte), nor with files that only look like what they should
be: a directory's own files that are symbolic links out of it, a directory where a file is
written. Plain Python (no Django): ``training_runs`` uses it too.
"""

from __future__ import annotations

from pathlib import Path

from flywheel.errors import InvalidInput, NotFound

NUL_BYTE = "The {what} {path!r} contains a NUL byte; no file system path can. Pass a plain path."
ESCAPES = "{path} is a symbolic link out of {root}; {what} reads only files inside it. Copy the file in."
IS_A_DIRECTORY = "{path} is a directory; the {what} is a file name (e.g. {path}/annotations.csv)."
NOT_A_DIRECTORY = "{path} exists and is not a directory; the {what} is a directory."
NO_PARENT = "No directory {parent} to write {name} into; create it first."


def plain_path(raw: str | Path, *, what: str) -> Path:
    """``raw`` as a Path; InvalidInput (exit 65) when it holds a NUL byte (``open`` raises ValueError)."""
    text = str(raw)
    if "\0" in text:
        raise InvalidInput(NUL_BYTE.format(what=what, path=text))
    return Path(text)


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path``, symbolic links resolved, lies within ``root`` (resolved too)."""
    return path.resolve().is_relative_to(root.resolve())


def require_inside(root: Path, path: Path, *, what: str) -> Path:
    """``path`` when it resolves inside ``root``; InvalidInput naming both otherwise."""
    if not is_inside(root, path):
        raise InvalidInput(ESCAPES.format(path=path, root=root, what=what))
    return path


def output_file(raw: str | Path, *, what: str) -> Path:
    """A file to write: a plain path, not a directory, in a directory that exists."""
    path = plain_path(raw, what=what)
    if path.is_dir():
        raise InvalidInput(IS_A_DIRECTORY.format(path=path, what=what))
    if not path.parent.is_dir():
        raise NotFound(NO_PARENT.format(parent=path.parent, name=path.name))
    return path


def output_dir(raw: str | Path, *, what: str) -> Path:
    """A directory to write into (made when missing): a plain path that is not some other file."""
    path = plain_path(raw, what=what)
    if path.exists() and not path.is_dir():
        raise InvalidInput(NOT_A_DIRECTORY.format(path=path, what=what))
    return path
