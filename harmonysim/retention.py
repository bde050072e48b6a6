"""Retention of run folders: which to keep, which to delete (``harmonysim gc``, ``serve --live``).

Rules:
- A run folder is a folder holding ``run.json``; folders inside a run folder are
  part of it. Nothing outside the given root is looked at, symbolic links are not
  followed, and only whole run folders are deleted.
- A run's age is the wall-clock time since its ``run.json`` was last written
  (the file's mtime): ``run.json`` records no wall-clock time of its own, since
  what a run writes must not depend on when it ran (determinism).
- ``keep_last`` N: the N newest runs are kept whatever their age; ``older_than``:
  of the others, only those older than that are deleted. Without ``older_than``
  every run beyond the N newest goes; without ``keep_last``, every run older.
- A failing run (``run.json`` status other than ``ok``) is kept unless
  ``include_failing``: those are the folders ``explore`` keeps for its failing
  seeds and ``mutants`` for each detected bug, the ones to replay and shrink. A
  folder whose ``run.json`` cannot be read counts as failing (kept).
- Order is newest first, then by path, so a plan is deterministic for a given
  set of times.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from harmonysim.runlog.folder import RunFolder

__all__ = ["RetentionPlan", "StoredRun", "apply_plan", "find_runs", "plan_retention"]

RUN_FILE = RunFolder.RUN


@dataclass(frozen=True, slots=True)
class StoredRun:
    path: Path
    mtime_s: float
    status: str  # run.json's status, or "unreadable"

    @property
    def failing(self) -> bool:
        return self.status != "ok"


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    delete: tuple[StoredRun, ...]
    keep: tuple[tuple[StoredRun, str], ...]  # (run, why kept)


def _status(run_json: Path) -> str:
    try:
        data = orjson.loads(run_json.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return "unreadable"
    status = data.get("status") if isinstance(data, dict) else None
    return str(status) if status is not None else "unreadable"


def _walk(folder: Path) -> Iterator[Path]:
    try:
        children = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in children:
        if entry.is_dir(follow_symlinks=False):
            child = Path(entry.path)
            if (child / RUN_FILE).is_file():
                yield child
            else:
                yield from _walk(child)


def find_runs(root: Path) -> list[StoredRun]:
    """Every run folder under ``root`` (``root`` itself if it is one), newest first."""
    paths = [root] if (root / RUN_FILE).is_file() else list(_walk(root))
    runs = [
        StoredRun(path, (path / RUN_FILE).stat().st_mtime, _status(path / RUN_FILE))
        for path in paths
    ]
    runs.sort(key=lambda run: (-run.mtime_s, str(run.path)))
    return runs


def plan_retention(
    runs: list[StoredRun],
    *,
    keep_last: int | None,
    older_than_s: float | None,
    now_s: float | None = None,
    include_failing: bool = False,
) -> RetentionPlan:
    """What to delete and what to keep, with why (module rules)."""
    if keep_last is None and older_than_s is None:
        raise ValueError("give keep_last, older_than_s or both")
    now = time.time() if now_s is None else now_s
    delete: list[StoredRun] = []
    keep: list[tuple[StoredRun, str]] = []
    ordered = sorted(runs, key=lambda run: (-run.mtime_s, str(run.path)))
    for position, run in enumerate(ordered):
        if keep_last is not None and position < keep_last:
            keep.append((run, f"among the {keep_last} newest"))
        elif older_than_s is not None and now - run.mtime_s <= older_than_s:
            keep.append((run, "not old enough"))
        elif run.failing and not include_failing:
            keep.append((run, f"failing run ({run.status}), kept for replay"))
        else:
            delete.append(run)
    return RetentionPlan(tuple(delete), tuple(keep))


def apply_plan(plan: RetentionPlan, root: Path) -> list[Path]:
    """Delete the plan's run folders (each must lie inside ``root``); returns them."""
    resolved_root = root.resolve()
    deleted = []
    for run in plan.delete:
        target = run.path.resolve()
        if target == resolved_root:
            continue  # never the folder given, even when it is a run folder itself
        if resolved_root not in target.parents:
            raise ValueError(f"{run.path} is outside {root}")
        shutil.rmtree(run.path)
        deleted.append(run.path)
    return deleted
