"""One name, one meaning: no two modules of the package define a class of the same name.

How the rule is read:
- Every ``harmonysim/**/*.py`` is parsed; the classes defined at the top level of a
  module count. A name with a leading underscore is the module's own and never leaves
  it, so it does not count.
- ``SHARED_NAMES`` lists the names still defined twice, each with why and what ends
  it; a name there that is no longer defined twice is an error too, so the list only
  shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import harmonysim

PACKAGE = Path(harmonysim.__file__).parent

SHARED_NAMES: dict[str, str] = {}


def class_definitions(package: Path) -> dict[str, list[str]]:
    """Public top-level class name -> the modules (relative paths) that define it."""
    defined: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef) and not statement.name.startswith("_"):
                defined[statement.name].append(path.relative_to(package.parent).as_posix())
    return defined


def test_no_two_modules_define_a_class_of_the_same_name() -> None:
    clashes = {
        name: modules
        for name, modules in class_definitions(PACKAGE).items()
        if len(modules) > 1 and name not in SHARED_NAMES
    }
    assert clashes == {}, f"one name, one meaning: rename one of each of {clashes}"


def test_every_shared_name_is_still_defined_twice() -> None:
    defined = class_definitions(PACKAGE)
    stale = sorted(name for name in SHARED_NAMES if len(defined.get(name, [])) < 2)
    assert stale == [], f"no longer shared, remove from SHARED_NAMES: {stale}"


def test_the_walk_sees_a_clash(tmp_path: Path) -> None:
    """The rule's reader itself: two modules defining one class name are both found, a
    private class and a nested one are not."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("class Operation:\n    class Inner: ...\nclass _Own: ...\n")
    (package / "sub" / "b.py").write_text("class Operation: ...\nclass _Own: ...\n")
    (package / "sub" / "c.py").write_text("class Inner: ...\n")
    assert dict(class_definitions(package)) == {
        "Operation": ["pkg/a.py", "pkg/sub/b.py"],
        "Inner": ["pkg/sub/c.py"],
    }
