"""Reading, validating, overriding and writing scenario files.

Rules:

- A file is one YAML document whose top level is a mapping. Duplicate keys are
  an error (YAML would silently keep the last one).
- Every problem becomes one `ScenarioError` whose text names the file, the
  line and column of the offending YAML node, the field path, the bad value and
  what is allowed. Pydantic's own messages never reach the user; when several
  problems exist, the one earliest in the file is reported.
- Locations come from composing the YAML (`yaml.compose`) and walking the node
  tree along the error's field path.
- Nesting is bounded (`MAX_DEPTH` levels of mappings and lists) while composing,
  so a deeply nested file is one located error, never a recursion error.
- The data form (`scenario_to_data`) uses YAML keys and canonical text for
  durations and rates, in schema order, so it is deterministic and
  `parse_scenario(dump_scenario(s)) == s`.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from harmonysim.scenario._violation import (
    FILE_MODE,
    NOTHING,
    Position,
    SchemaViolation,
    show,
)
from harmonysim.scenario.errors import ScenarioError
from harmonysim.scenario.model import Scenario
from harmonysim.scenario.swarm import apply_setting, current_values
from harmonysim.scenario.units import format_duration

_VALIDATION_CONTEXT: Final = {FILE_MODE: True}
MAX_DEPTH: Final = 50
"""The deepest nesting of mappings and lists a scenario file may use (it needs about 6)."""
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"

Loc = tuple[str | int, ...]


# --------------------------------------------------------------------------- public API


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate the scenario file at `path`."""
    source = os.fspath(path)
    file_path = Path(source)
    if file_path.is_dir():
        inside = sorted(
            child.name for child in file_path.iterdir() if child.suffix in (".yaml", ".yml")
        )
        hint = f"; scenario files in it: {', '.join(inside)}" if inside else ""
        raise ScenarioError(
            f"is a directory, expected a scenario file (.yaml){hint}",
            source=source,
            expected="a scenario file",
        )
    try:
        raw = file_path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(
            "no such file", source=source, expected="an existing scenario file"
        ) from None
    except OSError as exc:
        raise ScenarioError(
            f"cannot read the file: {exc.strerror or exc}",
            source=source,
            expected="a readable scenario file",
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (bad byte at offset {exc.start})",
            source=source,
            expected="a UTF-8 YAML file",
        ) from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML text; `source` names it in errors."""
    root, data = _compose(text, source)
    if data is None:
        raise ScenarioError(
            "the file is empty; a scenario needs at least name and duration",
            source=source,
            expected="a mapping with at least name and duration",
        )
    if not isinstance(data, Mapping):
        line, column = _mark(root)
        raise ScenarioError(
            f"expected a mapping of scenario keys at the top level, found {_kind_of(data)}",
            source=source,
            line=line,
            column=column,
            found=show(data),
            expected="a mapping with at least name and duration",
        )
    return _validate(data, source, root)


def resolve(
    scenario: Scenario,
    *,
    seed: int | None = None,
    duration_ms: float | None = None,
    bugs: Sequence[str] = (),
    source: str | None = None,
) -> Scenario:
    """The scenario with overrides applied, validated again as a whole.

    `seed` and `duration_ms` replace the file's values when given; `bugs` are
    enabled in addition to the file's (a bug named twice is enabled once).
    Errors (say, a fault after a shortened end) name `source`, by default
    `<name> (with overrides)`.
    """
    where = source if source is not None else f"{scenario.name} (with overrides)"
    data = scenario_to_data(scenario)
    if seed is not None:
        data["seed"] = seed
    if duration_ms is not None:
        try:
            data["duration"] = format_duration(duration_ms)
        except ValueError:
            expected = "a positive duration"
            raise ScenarioError(
                f"expected {expected}, found {duration_ms!r}",
                source=where,
                field="duration",
                found=repr(duration_ms),
                expected=expected,
            ) from None
    if bugs:
        enabled: list[object] = list(data.get("bugs", ()))
        enabled.extend(bug for bug in bugs if bug not in enabled)
        data["bugs"] = enabled
    return _validate(data, where, None)


def apply_swarm_draw(scenario: Scenario, drawn: Mapping[str, Any]) -> Scenario:
    """The scenario with each swarmed setting at the value drawn for it (see
    ``harmonysim.scenario.swarm``); the scenario itself when it holds them already.
    An invalid combination is reported with the seed and the whole draw."""
    data = scenario_to_data(scenario)
    if current_values(data, scenario.swarm) == dict(drawn):
        return scenario
    for path, value in drawn.items():
        apply_setting(data, path, value)
    where = f"{scenario.name} (seed {scenario.seed}, swarm draw {show(dict(drawn))})"
    return _validate(data, where, None)


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """The YAML-form mapping of a scenario: YAML keys, canonical durations and rates.

    Keys follow the schema's declaration order; unset optional values are left
    out. The result is plain JSON/YAML data (dicts, lists, str, int, float, bool).
    """
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not data.get("swarm"):
        del data["swarm"]  # a scenario without a swarm reads as it did before there was one
    return data


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text that parses back to an equal scenario.

    Non-ASCII text is written as is, for people to read, unless that would not
    read back the same: PyYAML folds line-break characters such as U+0085 inside
    quoted scalars, so then every non-ASCII character is escaped instead.
    """
    data = scenario_to_data(scenario)
    text = yaml.safe_dump(
        data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    if yaml.safe_load(text) == data:
        return text
    return yaml.safe_dump(
        data, sort_keys=False, default_flow_style=None, allow_unicode=False, width=100
    )


# --------------------------------------------------------------------------- YAML


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("too deep")
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader that refuses nesting deeper than `MAX_DEPTH` (composing recurses)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, source: str) -> tuple[yaml.Node | None, object]:
    try:
        loader = _BoundedLoader(text)  # reads the text: it may refuse a character already
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    try:
        root = loader.get_single_node()
        if root is not None:
            _reject_duplicate_keys(root, (), source, set())
        data = loader.construct_document(root) if root is not None else None
    except _TooDeep as exc:
        raise ScenarioError(
            f"nested more than {MAX_DEPTH} levels deep",
            source=source,
            line=exc.mark.line + 1 if exc.mark is not None else None,
            column=exc.mark.column + 1 if exc.mark is not None else None,
            expected=f"at most {MAX_DEPTH} levels of mappings and lists",
        ) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ScenarioError(
            f"not valid YAML: {problem or 'syntax error'}",
            source=source,
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
            expected="valid YAML",
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(
            f"not valid YAML: {' '.join(str(exc).split())}",
            source=source,
            expected="valid YAML",
        ) from None
    finally:
        loader.dispose()
    return root, data


def _reader_error(exc: yaml.reader.ReaderError, text: str, source: str) -> ScenarioError:
    """A character YAML does not allow, located by line and column."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    return ScenarioError(
        f"not valid YAML: character U+{exc.character:04X} is not allowed in a YAML file",
        source=source,
        line=line,
        column=column,
        found=f"U+{exc.character:04X}",
        expected="printable characters",
    )


def _reject_duplicate_keys(node: yaml.Node, loc: Loc, source: str, seen: set[int]) -> None:
    # `seen` guards against cycles built with anchors and aliases; it is never output.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key_node.tag != _MERGE_TAG:
                if key in first_line:
                    line, column = _mark(key_node)
                    raise ScenarioError(
                        f"duplicate key {key!r} (first given at line {first_line[key]})",
                        source=source,
                        line=line,
                        column=column,
                        field=_field_path((*loc, key)),
                        found=repr(key),
                        expected="each key at most once",
                    )
                first_line[key] = key_node.start_mark.line + 1
            child_loc: Loc = (*loc, key) if key is not None else loc
            _reject_duplicate_keys(value_node, child_loc, source, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, (*loc, index), source, seen)


def _mark(node: yaml.Node | None) -> tuple[int | None, int | None]:
    if node is None:
        return None, None
    return node.start_mark.line + 1, node.start_mark.column + 1


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


@dataclass(frozen=True, slots=True)
class _Located:
    """Where a field path lands in the YAML tree."""

    value: yaml.Node | None  # deepest node reached along the path
    key: yaml.Node | None  # the key node of the last mapping step, if the last step matched
    complete: bool  # every step of the path matched


def _walk(root: yaml.Node | None, loc: Loc) -> _Located:
    node = root
    key_node: yaml.Node | None = None
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            match = None
            for candidate_key, candidate_value in node.value:
                if isinstance(candidate_key, yaml.ScalarNode) and candidate_key.value == str(step):
                    match = (candidate_key, candidate_value)
            if match is None:
                return _Located(node, None, complete=False)
            key_node, node = match
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            key_node, node = None, node.value[step]
        else:
            return _Located(node, None, complete=False)
    return _Located(node, key_node, complete=True)


def _position(root: yaml.Node | None, loc: Loc, where: Position) -> tuple[int | None, int | None]:
    if root is None:
        return None, None
    located = _walk(root, loc)
    if where is Position.KEY and located.complete and located.key is not None:
        return _mark(located.key)
    # A missing key stops the walk at its enclosing mapping, which is where it belongs.
    return _mark(located.value)


_PLAIN_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")


def _field_path(loc: Loc) -> str:
    """`faults[2].partition`; a key that is not plain text is quoted: `cluster['a b']`."""
    path = ""
    for step in loc:
        if isinstance(step, int):
            path += f"[{step}]"
        elif isinstance(step, str) and _PLAIN_KEY.fullmatch(step) is not None:
            path += f".{step}" if path else step
        else:  # odd text, or a YAML key that is not text at all (`? ` makes a null key)
            path += f"[{step!r}]"
    return path


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class _Problem:
    loc: Loc
    message: str
    found: str | None
    expected: str
    position: Position


def _validate(data: Mapping[str, Any], source: str, root: yaml.Node | None) -> Scenario:
    try:
        scenario = Scenario.model_validate(data, context=_VALIDATION_CONTEXT)
    except ValidationError as exc:
        problems = [_translate(error) for error in exc.errors(include_url=False)]
    else:
        if scenario.swarm:
            _check_swarm_values(scenario, data, source, root)
        return scenario
    located = []
    for order, problem in enumerate(problems):
        line, column = _position(root, problem.loc, problem.position)
        located.append((line is None, line or 0, column or 0, order, line, column, problem))
    located.sort(key=lambda item: item[:4])
    _, _, _, _, line, column, first = located[0]
    raise ScenarioError(
        first.message,
        source=source,
        line=line,
        column=column,
        field=_field_path(first.loc) or None,
        found=first.found,
        expected=first.expected,
    )


def _check_swarm_values(
    scenario: Scenario, data: Mapping[str, Any], source: str, root: yaml.Node | None
) -> None:
    """Each swarm value, applied alone to the file's settings, must give a valid scenario;
    the first that does not is reported at its place in the swarm."""
    for path, choices in scenario.swarm.items():
        for index, choice in enumerate(choices):
            trial = copy.deepcopy(dict(data))
            apply_setting(trial, path, choice)
            try:
                Scenario.model_validate(trial, context=_VALIDATION_CONTEXT)
            except ValidationError as exc:
                problem = _translate(exc.errors(include_url=False)[0])
                where = _field_path(problem.loc)
                line, column = _position(root, ("swarm", path, index), Position.VALUE)
                raise ScenarioError(
                    f"{path} = {show(choice)} makes an invalid scenario: "
                    f"{where + ': ' if where else ''}{problem.message}",
                    source=source,
                    line=line,
                    column=column,
                    field=_field_path(("swarm", path, index)),
                    found=show(choice),
                    expected=problem.expected,
                ) from None


def _clean_loc(loc: Sequence[str | int]) -> tuple[Loc, bool]:
    """Drop union tags (written `<...>`); report whether the path ends at a dict key."""
    steps: list[str | int] = []
    at_key = False
    for step in loc:
        if step == "[key]":
            at_key = True
        elif not (isinstance(step, str) and step.startswith("<")):
            steps.append(step)
    return tuple(steps), at_key


_EXPECTED_BY_TYPE: Final = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _translate(error: ErrorDetails) -> _Problem:
    loc, at_key = _clean_loc(error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    cause = context.get("error")
    if kind == "value_error" and isinstance(cause, SchemaViolation):
        return _Problem(
            loc=(*loc, *cause.loc),
            message=cause.message,
            found=None if cause.found is NOTHING else show(cause.found),
            expected=cause.expected,
            position=cause.position,
        )
    found_value = error.get("input")
    if kind == "missing":
        key = loc[-1] if loc else "?"
        return _Problem(
            loc=loc,
            message=f"missing required key {str(key)!r}",
            found=None,
            expected=f"a value for {key}",
            position=Position.PARENT,
        )
    if kind == "extra_forbidden":
        return _Problem(
            loc=loc,
            message=f"unknown key {show(loc[-1] if loc else found_value)}",
            found=show(loc[-1]) if loc else None,
            expected="a known key",
            position=Position.KEY,
        )
    if kind == "literal_error":
        expected = f"one of {context.get('expected', '?')}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        bound = next(iter(context.values()), "?")
        expected = f"a value {symbol} {bound}"
    elif kind in _EXPECTED_BY_TYPE:
        expected = _EXPECTED_BY_TYPE[kind]
    else:
        message = error["msg"]
        expected = message[0].lower() + message[1:] if message else kind
    return _Problem(
        loc=loc,
        message=f"expected {expected}, found {show(found_value)}",
        found=show(found_value),
        expected=expected,
        position=Position.KEY if at_key else Position.VALUE,
    )
