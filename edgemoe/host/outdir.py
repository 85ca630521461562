"""Data-safe output folders: atomic files, a marker naming the writer, an index of outputs.

Every verb that writes a folder of results goes through :class:`OutputDir`:

* each file is written to a temporary name beside its target and renamed when complete
  (:func:`atomic_path`), so an interrupted run never leaves a file that looks complete;
* the folder holds a marker (``.edgemoe-output``) and ``index.json`` listing every file
  written so far (rewritten atomically after each file);
* a non-empty folder is refused unless it carries the marker and ``overwrite`` is set;
  ``overwrite`` then removes only the files edgemoe wrote there, never a folder holding
  an input of the run and never a file edgemoe did not write.

Standard library only: it runs on the board too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .. import __version__
from .errors import OutputError

log = logging.getLogger(__name__)

#: File whose presence says "edgemoe wrote this folder".
MARKER = ".edgemoe-output"
#: File listing what the run wrote (name, bytes, sha256, source).
INDEX = "index.json"
#: Infix of the temporary names files are written to before the rename.
TEMP_INFIX = ".edgemoe-tmp-"


def temp_name(path: Path) -> Path:
    """A unique hidden temporary name beside ``path`` that keeps its suffix.

    The suffix stays last so writers that pick the format from it (numpy, Pillow,
    matplotlib) write the right format.
    """
    return path.with_name(f".{path.stem}{TEMP_INFIX}{secrets.token_hex(4)}{path.suffix}")


def is_temp(path: Path) -> bool:
    """True for a temporary file left by an interrupted :func:`atomic_path`."""
    return path.name.startswith(".") and TEMP_INFIX in path.name


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path; rename it onto ``path`` when the block ends normally.

    On any exception, Ctrl-C included, the temporary file is removed and ``path`` keeps
    its previous content (or stays absent).
    """
    target = Path(path)
    tmp = temp_name(target)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the data must be on disk before the name is
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def unique_stems(paths: Sequence[str | Path], reserved: Iterable[str] = ()) -> list[str]:
    """One distinct output stem per input: ``x``, ``x-2``, ``x-3`` for colliding stems.

    Stems that occur once keep their name; later duplicates get the lowest free suffix
    (never one taken by another input or in ``reserved``).
    """
    stems = [Path(p).stem or "image" for p in paths]
    taken = set(reserved)
    firsts: set[str] = set()
    out = []
    for stem in stems:
        if stem not in taken and stem not in firsts:
            firsts.add(stem)
            out.append(stem)
            continue
        n = 2
        while f"{stem}-{n}" in taken or f"{stem}-{n}" in stems or f"{stem}-{n}" in out:
            n += 1
        out.append(f"{stem}-{n}")
    return out


class OutputDir:
    """A folder of outputs that edgemoe owns, with its marker and ``index.json``.

    Args:
        path: The output folder (created when missing).
        kind: What writes it (``run``, ``package``), recorded in the marker and index.
        overwrite: Replace the outputs of an earlier edgemoe run in ``path``.
        inputs: Paths the run reads; ``path`` must not hold any of them.
        option: The option that named ``path`` (for messages), e.g. ``--out``.
        listing: The file that marks the folder as edgemoe's and lists its files:
            ``index.json`` (written by this class, with the marker file), or a file the
            caller writes last with a ``files`` table (a package's ``buildinfo.json``).

    Raises:
        OutputError: ``path`` is a file, holds files edgemoe did not write, holds an
            earlier run's outputs without ``overwrite``, or holds an input.
    """

    def __init__(self, path: str | Path, kind: str, *, overwrite: bool = False,
                 inputs: Iterable[str | Path] = (), option: str = "--out",
                 listing: str = INDEX) -> None:
        self.path = Path(path)
        self.kind = kind
        self.option = option
        self.listing = listing
        self.entries: list[dict] = []
        self.complete = False
        self.created = not self.path.exists()
        self._prepare(overwrite, [Path(p) for p in inputs])

    def _prepare(self, overwrite: bool, inputs: list[Path]) -> None:
        path, opt = self.path, self.option
        if path.exists() and not path.is_dir():
            raise OutputError(f"{opt} {path} is a file, not a folder: pass a new folder name")
        if path.is_dir():
            root = path.resolve()
            for item in inputs:
                if item.exists() and _inside(item.resolve(), root):
                    raise OutputError(f"{opt} {path} holds the input {item}: write the outputs "
                                      "to another folder")
            if any(path.iterdir()):
                self._clear_previous(overwrite)
        path.mkdir(parents=True, exist_ok=True)
        if self.listing == INDEX:
            marker = {"tool": "edgemoe", "kind": self.kind, "version": __version__}
            write_text_atomic(path / MARKER, json.dumps(marker))
            self._write_index()

    def _owned(self) -> set[str] | None:
        """Names of the files edgemoe wrote here, or None when the folder is not edgemoe's."""
        listing = self.path / self.listing
        if self.listing == INDEX and not (self.path / MARKER).is_file():
            return None
        try:
            files = json.loads(listing.read_text())["files"]
            names = {str(e["name"]) for e in files} if isinstance(files, list) \
                else {str(k) for k in files}
        except (OSError, ValueError, KeyError, TypeError):
            if self.listing != INDEX:
                return None
            names = set()  # interrupted before the first index write: only the marker
        return names | {self.listing, MARKER}

    def _clear_previous(self, overwrite: bool) -> None:
        path, opt = self.path, self.option
        ours = self._owned()
        if ours is None:
            first = min(p.name for p in path.iterdir())
            raise OutputError(f"{opt} {path} is not empty and was not written by edgemoe "
                              f"(it holds {first}): pass an empty or new folder")
        if not overwrite:
            raise OutputError(f"{opt} {path} holds the outputs of an earlier run: pass "
                              "--overwrite to replace them, or another folder")
        foreign = sorted(p.name for p in path.iterdir() if p.name not in ours and not is_temp(p))
        if foreign:
            raise OutputError(f"{opt} {path} holds {foreign[0]}, which edgemoe did not write: "
                              "move it away or pass another folder (--overwrite removes only "
                              "edgemoe's own outputs)")
        for item in path.iterdir():
            if item.is_file() or item.is_symlink():
                item.unlink()
            else:
                raise OutputError(f"{opt} {path} holds the folder {item.name}: move it away "
                                  "or pass another folder")
        log.info("removed the outputs of an earlier run from %s", path)

    def _write_index(self) -> None:
        if self.listing != INDEX:
            return  # the caller writes its own listing last
        doc = {"tool": "edgemoe", "kind": self.kind, "version": __version__,
               "complete": self.complete, "files": self.entries}
        write_text_atomic(self.path / INDEX, json.dumps(doc, indent=1))

    def reserve(self, name: str) -> Path:
        """The path of output ``name``; refuses a name this run already wrote.

        Raises:
            OutputError: ``name`` was written before in this run.
        """
        if any(e["name"] == name for e in self.entries) or name in (INDEX, MARKER) \
                and self.listing == INDEX:
            raise OutputError(f"two outputs of this run are both named {name}: rename one "
                              "of the inputs")
        return self.path / name

    @contextmanager
    def file(self, name: str, source: str | None = None) -> Iterator[Path]:
        """Yield a temporary path for output ``name``; it becomes ``name`` and is indexed
        when the block ends normally."""
        target = self.reserve(name)
        with atomic_path(target) as tmp:
            yield tmp
        self.record(target, source)

    def record(self, target: Path, source: str | None = None) -> None:
        """Add a complete file in the folder to ``index.json``."""
        entry = {"name": target.name, "bytes": target.stat().st_size,
                 "sha256": sha256_of(target)}
        if source is not None:
            entry["source"] = source
        self.entries.append(entry)
        self._write_index()

    def discard(self) -> None:
        """Remove what this run wrote (an interrupted all-or-nothing output, like a package).

        Files written before this run are gone already (``overwrite``); the folder itself is
        removed when this run created it and nothing else is left in it.
        """
        for name in [e["name"] for e in self.entries] + [INDEX, MARKER] * (self.listing == INDEX):
            (self.path / name).unlink(missing_ok=True)
        self.entries.clear()
        if self.created and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def finish(self) -> None:
        """Mark the index complete (every output of the run was written)."""
        self.complete = True
        self._write_index()
