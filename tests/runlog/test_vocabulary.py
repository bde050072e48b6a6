"""The event vocabulary has one owner: ``harmonysim.runlog.vocabulary``.

How a string literal is recognized as an event kind (``kind_literals``):
- Python source is parsed; docstrings (the first statement of a module, class or
  function) are prose and never count.
- A string constant whose value is a kind with a dot in it (``msg.send``,
  ``node.crash``, ...) counts wherever it stands: in a comparison, a collection, a
  dict key, a call argument.
- The three kinds without a dot (``timer``, ``nemesis``, ``membership``) are also
  words of the scenario schema (nemesis kinds, fault keys) and of the history (the
  ``nemesis`` process), so they count only where they are compared (``==``, ``!=``,
  ``in``, ``not in``, directly or as an element of a literal tuple, list or set) with
  a record's kind: a subscript or ``.get`` of the key ``"kind"`` (or ``str()`` or
  ``event_kind()`` of a record), or a name the same function (or module) binds to one.
- ``NOT_KINDS`` lists the few literals that equal a kind by design but name
  something else (OpenTelemetry attribute and span event names), each with why.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import harmonysim
from harmonysim.runlog import vocabulary
from harmonysim.runlog.vocabulary import (
    FAULT_KINDS,
    FAULT_RECORD_KINDS,
    FAULT_TIMELINE_KINDS,
    EventKind,
    natural_key,
    servers_first_key,
)

PACKAGE = Path(harmonysim.__file__).parent
OWNER = PACKAGE / "runlog" / "vocabulary.py"

NOT_KINDS: dict[tuple[str, str], str] = {
    ("obs/integration.py", "raft.term"): "the OpenTelemetry attribute of a Raft span",
    ("obs/derive.py", "raft.term"): "the OpenTelemetry attribute of a derived Raft span",
    ("obs/integration.py", "btree.split"): "the name of a span event on a B+ tree span",
    ("obs/integration.py", "btree.merge"): "the name of a span event on a B+ tree span",
}

_DOTTED = frozenset(kind.value for kind in EventKind if "." in kind.value)
_WORDS = frozenset(kind.value for kind in EventKind if "." not in kind.value)


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _reads_kind(node: ast.expr, bound: set[str]) -> bool:
    """True for a read of a record's kind (see the module docstring)."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            first = node.args[0]
            return isinstance(first, ast.Constant) and first.value == "kind"
        if isinstance(func, ast.Name) and func.id in ("str", "event_kind") and node.args:
            return func.id == "event_kind" or _reads_kind(node.args[0], bound)
        return False
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "kind"
    return isinstance(node, ast.Name) and node.id in bound


def _scopes(tree: ast.Module) -> list[ast.AST]:
    return [tree] + [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of ``scope`` outside the functions nested in it."""
    found: list[ast.AST] = []
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _compared_words(tree: ast.Module) -> set[int]:
    """Undotted kinds compared with a record's kind (see the module docstring)."""
    found: set[int] = set()
    for scope in _scopes(tree):
        nodes = _own_nodes(scope)
        bound = {
            target.id
            for node in nodes
            if isinstance(node, ast.Assign) and _reads_kind(node.value, set())
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in nodes:
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            if not any(_reads_kind(operand, bound) for operand in operands):
                continue
            for operand in operands:
                elements = (
                    operand.elts
                    if isinstance(operand, ast.Tuple | ast.List | ast.Set)
                    else [operand]
                )
                for element in elements:
                    if isinstance(element, ast.Constant) and element.value in _WORDS:
                        found.add(id(element))
    return found


def kind_literals(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every event kind spelled as a string literal in ``source``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    words = _compared_words(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings:
            continue
        if node.value in _DOTTED or id(node) in words:
            found.append((node.lineno, node.value))
    return sorted(found)


def test_the_finder_recognizes_kinds_as_the_docstring_says() -> None:
    source = '''
"""A docstring naming msg.send is prose."""
def f(record, kind, scenario):
    """So is node.crash here."""
    a = kind == "msg.send"
    b = record["kind"] in ("nemesis", "net.heal")
    c = str(record.get("kind")) != "membership"
    d = {"node.crash": 1}
    e = scenario["nemesis"]
    g = process == "nemesis"
    h = "timer"
    i = kind == "membership"
def g(event):
    kind = event["kind"]
    return kind == "nemesis"
'''
    # Line 12: ``kind`` is a parameter there (a nemesis kind, say), not a record's kind.
    assert kind_literals(source) == [
        (5, "msg.send"),
        (6, "nemesis"),
        (6, "net.heal"),
        (7, "membership"),
        (8, "node.crash"),
        (15, "nemesis"),
    ]


def test_no_module_outside_the_vocabulary_spells_an_event_kind() -> None:
    offences: list[str] = []
    allowed_seen: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER:
            continue
        relative = path.relative_to(PACKAGE).as_posix()
        for line, literal in kind_literals(path.read_text(encoding="utf-8")):
            if (relative, literal) in NOT_KINDS:
                allowed_seen.add((relative, literal))
                continue
            offences.append(f"harmonysim/{relative}:{line}: {literal!r}")
    assert offences == [], "use EventKind constants:\n" + "\n".join(offences)
    # An exception that no longer occurs is removed, so the list stays true.
    assert allowed_seen == set(NOT_KINDS)


def test_the_vocabulary_imports_the_standard_library_only() -> None:
    tree = ast.parse(OWNER.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module.split(".")[0])
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)


def test_every_kind_value_is_unique_and_spelled_as_in_the_log() -> None:
    values = [kind.value for kind in EventKind]
    assert len(values) == len(set(values))
    assert all(value == value.lower() and " " not in value for value in values)


def test_fault_groups_nest_as_their_readers_need() -> None:
    # The metrics count each change once: a nemesis record announces a change that
    # follows as its own record, and a no-op changed nothing.
    assert EventKind.NEMESIS not in FAULT_KINDS
    assert EventKind.FAULT_NOOP not in FAULT_KINDS
    # The dashboard lists every record about faults.
    assert FAULT_KINDS | {EventKind.NEMESIS, EventKind.FAULT_NOOP} == FAULT_RECORD_KINDS
    # The shrinker's timeline leaves out what a crash did to unsynced writes, and
    # reads the membership steps of add and remove faults.
    expected = (FAULT_RECORD_KINDS - {EventKind.DISK_LOST}) | {EventKind.MEMBERSHIP}
    assert expected == FAULT_TIMELINE_KINDS


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["n10", "n2", "n1"], ["n1", "n2", "n10"]),
        (["n2", "c10", "c2"], ["c2", "c10", "n2"]),
    ],
)
def test_natural_key(names: list[str], expected: list[str]) -> None:
    assert sorted(names, key=natural_key) == expected


def test_servers_first_key_puts_clients_last() -> None:
    names = ["c2", "n10", "c10", "n2", "cluster"]
    assert sorted(names, key=servers_first_key) == ["cluster", "n2", "n10", "c2", "c10"]


def test_vocabulary_exports_what_it_defines() -> None:
    for name in vocabulary.__all__:
        assert hasattr(vocabulary, name), name
