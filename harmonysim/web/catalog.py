"""The runs a dashboard serves: discovered at start and again when asked, indexed on first use.

Rules:
- The served root is either one run folder (it has ``run.json``) or a folder of
  run folders (``runs/<scenario>/seed-<N>/``, and ``mutants`` runs four levels
  down, ``runs/mutants/<bug>/<scenario>/seed-<N>/``; found up to ``MAX_DEPTH``
  levels down).
- Runs written after the server started are found: ``refresh`` discovers again
  (the run list asks for it, and so does an unknown id). Entries are only ever
  added, so an id once served keeps its entry (a run removed from disk is then
  reported unreadable, not silently replaced).
- A run's id is its path relative to the root, with ``/``; a lone run folder's id
  is its own name; a live run's id is ``live``.
- A request names a run only by id, and ids are looked up in the discovered
  table, never joined onto a path: an unknown id or ``../`` is simply not found.
- Artifacts are served only when they are regular files directly inside the
  run folder, named in the listing the catalog made (no subfolders, no links
  that lead out of the folder).
- Indexes are built once per run, under a per-run lock, and kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from harmonysim.web.btree_view import TreeReplayer
from harmonysim.web.index import RUN_FILE, RunIndex, load_run_index
from harmonysim.web.live import LiveRun
from harmonysim.web.traces import TraceSource, trace_source_for

__all__ = ["LIVE_RUN_ID", "RunCatalog", "RunEntry", "RunUnavailable"]

LIVE_RUN_ID = "live"
MAX_DEPTH = 6


class RunUnavailable(Exception):
    """A run folder that exists but cannot be read (malformed ``run.json`` or events)."""


@dataclass
class RunEntry:
    """One served run and, once asked for, its index, tree replayer and trace source."""

    id: str
    path: Path | None
    live: LiveRun | None = None
    _index: RunIndex | None = None
    _trees: TreeReplayer | None = None
    _traces: TraceSource | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def loaded(self) -> bool:
        return self._index is not None

    def index(self) -> RunIndex:
        with self._lock:
            if self._index is None:
                if self.live is not None:
                    self._index = self.live.index
                elif self.path is not None:
                    try:
                        self._index = load_run_index(self.path)
                    except (OSError, ValueError, KeyError, TypeError) as error:
                        raise RunUnavailable(
                            f"run {self.id!r} cannot be read: {type(error).__name__}"
                        ) from None
                else:
                    raise RunUnavailable(f"run {self.id!r} has no data")
            return self._index

    def trees(self) -> TreeReplayer:
        index = self.index()
        with self._lock:
            if self._trees is None:
                self._trees = TreeReplayer(index)
            return self._trees

    def traces(self) -> TraceSource:
        index = self.index()
        with self._lock:
            if self._traces is None:
                self._traces = trace_source_for(self.path if self.live is None else None, index)
            return self._traces

    def artifacts(self) -> dict[str, Path]:
        """Regular files directly in the run folder, by name (sorted)."""
        folder = self.path if self.live is None else (self.live.out_dir)
        if folder is None or not folder.is_dir():
            return {}
        root = folder.resolve()
        found: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.is_symlink() and path.resolve().parent == root:
                found[path.name] = path
        return found


class RunCatalog:
    """Every run the server may show, by id (see the module rules)."""

    def __init__(self, root: Path | None, live: LiveRun | None = None) -> None:
        self.root = root
        self.entries: dict[str, RunEntry] = {}
        self._refresh_lock = threading.Lock()
        if live is not None:
            self.entries[LIVE_RUN_ID] = RunEntry(LIVE_RUN_ID, None, live)
        self.refresh()

    def refresh(self) -> None:
        """Add the run folders written under the root since the last discovery.

        The table is replaced whole (the live run first, then by id), so readers
        iterating the old one are never disturbed.
        """
        if self.root is None:
            return
        with self._refresh_lock:
            found = discover_runs(self.root)
            if all(run_id in self.entries for run_id, _ in found):
                return
            entries = dict(self.entries)
            for run_id, path in found:
                entries.setdefault(run_id, RunEntry(run_id, path))
            live = {LIVE_RUN_ID: entries.pop(LIVE_RUN_ID)} if LIVE_RUN_ID in entries else {}
            self.entries = {**live, **dict(sorted(entries.items()))}

    @property
    def default_id(self) -> str | None:
        return next(iter(self.entries), None)

    def get(self, run_id: str | None) -> RunEntry | None:
        if run_id is None:
            run_id = self.default_id
        if run_id is None:
            return None
        entry = self.entries.get(run_id)
        if entry is None:
            self.refresh()  # a run written since the server started
            entry = self.entries.get(run_id)
        return entry


def discover_runs(root: Path) -> list[tuple[str, Path]]:
    """(id, folder) of every run folder at or below ``root``, sorted by id."""
    if (root / RUN_FILE).is_file():
        return [(root.resolve().name or "run", root)]
    found: list[tuple[str, Path]] = []

    def visit(folder: Path, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        try:
            children = sorted(path for path in folder.iterdir() if path.is_dir())
        except OSError:
            return
        for child in children:
            if child.is_symlink():
                continue
            if (child / RUN_FILE).is_file():
                found.append((child.relative_to(root).as_posix(), child))
            else:
                visit(child, depth + 1)

    if root.is_dir():
        visit(root, 1)
    return sorted(found)
