"""Swarm testing of the configuration: settings that each seed draws for itself.

A scenario's ``swarm`` maps a setting's place in the file to the values a run may give
it::

    swarm:
      cluster.nodes: [3, 5]
      cluster.raft:
        - {check_quorum: true, lease_reads: true}
        - {check_quorum: false, lease_reads: false, prevote: false}

Each seed draws one value per entry (Groce et al., "Swarm Testing", ISSTA 2012: runs
that differ in which features they switch on find more bugs than one run with all of
them). Settings that only make sense together are drawn together, as one entry whose
key names their paths joined by commas and whose values give each path its value::

    swarm:
      cluster.raft, workload:
        - cluster.raft: {lease_reads: false}
          workload: {mix: {get: 0.4, put: 0.6}}
        - cluster.raft: {lease_reads: true}
          workload: {mix: {get: 0.8, put: 0.2}}

This module is the pure-data half: the schema of a swarm, where a value goes,
and what a scenario's current values are. The draw itself takes randomness and lives
with the seeded RNG tree (``harmonysim.sim.swarm``).

Rules:
- A key is one path, or several joined by commas (a joint entry): each value of a joint
  entry is a mapping from exactly those paths to a value for each, and each path's
  values follow the rules below as if they were an entry of their own.
- A path is the file's keys joined by dots, from the top of the scenario
  (``cluster.raft.prevote``); every step must be a key the schema knows, every step but
  the last a mapping of settings. ``seed``, ``name`` and ``swarm`` itself cannot be
  swarmed, nor anything inside ``faults`` (a list).
- A value that is a mapping is merged key by key into the mapping at its path (keys it
  does not name keep their values); any other value replaces the setting. Every value
  of one path names the same keys, so what a seed draws never depends on what an
  earlier draw left in a recorded scenario.
- Each value must give a valid scenario when applied alone (checked when the file is
  read, so a bad value is reported at its line); a drawn combination that is invalid is
  reported with the seed and the draw.
- Applying a draw is idempotent, so a scenario holding the values its seed draws (a
  recorded run) draws the same again: replay and ``run.json`` agree. What a setting
  holds is read back only as deep as the swarm's values name it (a drawn
  ``{keys: {count: 8}}`` reads back without the defaults filled in beside it).
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel

__all__ = [
    "FORBIDDEN_ROOTS",
    "PathProblem",
    "apply_setting",
    "check_path",
    "current_values",
    "entry_paths",
    "split_path",
]

FORBIDDEN_ROOTS: Final = frozenset({"seed", "name", "swarm", "faults"})
"""Top-level keys a swarm may not change."""


class PathProblem(ValueError):
    """A swarm path that does not name a setting; ``str()`` says why."""


def entry_paths(key: str) -> tuple[str, ...]:
    """The paths a swarm key names: itself, or the paths of a joint entry (commas)."""
    if "," not in key:
        return (key,)
    paths = tuple(part.strip() for part in key.split(","))
    for path in paths:
        split_path(path)
    if len(set(paths)) < len(paths):
        raise PathProblem(f"{key!r} names a path twice")
    return paths


def split_path(path: str) -> tuple[str, ...]:
    steps = tuple(path.split("."))
    if not path or any(not step for step in steps):
        raise PathProblem(f"{path!r} is not a dotted path of keys (cluster.raft.prevote)")
    return steps


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds, through ``X | None`` and ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        models = [_model_of(arg) for arg in typing.get_args(annotation)]
        found = [model for model in models if model is not None]
        return found[0] if len(found) == 1 else None
    return None


def check_path(model: type[BaseModel], path: str) -> bool:
    """Raise ``PathProblem`` unless ``path`` names a setting of ``model`` (the scenario);
    returns whether the setting is itself a mapping of settings (a value may merge)."""
    steps = split_path(path)
    if steps[0] in FORBIDDEN_ROOTS:
        raise PathProblem(f"{steps[0]} cannot be swarmed (only settings a run draws)")
    current: type[BaseModel] | None = model
    walked: list[str] = []
    for step in steps:
        if current is None:
            raise PathProblem(f"{'.'.join(walked)} is not a mapping of settings")
        fields = {field.alias or name: field for name, field in current.model_fields.items()}
        if step not in fields:
            where = ".".join(walked) or "the top level"
            known = ", ".join(fields)
            raise PathProblem(f"no setting {step!r} in {where} (known: {known})")
        walked.append(step)
        current = _model_of(fields[step].annotation)
    return current is not None


def apply_setting(data: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at ``path`` in scenario data (YAML keys), in place: merge a mapping
    into the mapping there, replace anything else; missing mappings on the way are made.
    A joint key puts each of its paths' values."""
    if "," in path:
        for single in entry_paths(path):
            apply_setting(data, single, value[single])
        return
    steps = split_path(path)
    holder = data
    for step in steps[:-1]:
        inner = holder.get(step)
        if not isinstance(inner, dict):
            inner = {}
            holder[step] = inner
        holder = inner
    last = steps[-1]
    if isinstance(value, Mapping):
        existing = holder.get(last)
        merged = dict(existing) if isinstance(existing, dict) else {}
        merged.update(copy.deepcopy(dict(value)))
        holder[last] = merged
    else:
        holder[last] = copy.deepcopy(value)


def current_values(data: Mapping[str, Any], swarm: Mapping[str, Any]) -> dict[str, Any]:
    """What each swarmed setting holds in scenario data: the whole value for a plain
    setting, only the keys the swarm's values name for a mapping; for a joint entry, a
    mapping of its paths to what each holds."""
    values: dict[str, Any] = {}
    for key, choices in swarm.items():
        if "," in key:
            values[key] = {
                path: _current(data, path, choices[0][path]) for path in entry_paths(key)
            }
        else:
            values[key] = _current(data, key, choices[0])
    return values


def _current(data: Mapping[str, Any], path: str, example: Any) -> Any:
    node: Any = data
    for step in split_path(path):
        node = node.get(step) if isinstance(node, Mapping) else None
    return _restricted(node, example)


def _restricted(node: Any, example: Any) -> Any:
    """``node`` cut down to the keys ``example`` names, at every depth: a value drawn as
    ``{mix: {get: 0.8, put: 0.2}}`` reads back so, not with the defaults filled in."""
    if isinstance(node, Mapping) and isinstance(example, Mapping):
        return {key: _restricted(node.get(key), example[key]) for key in example}
    return node
