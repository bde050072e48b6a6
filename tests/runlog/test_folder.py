"""``RunFolder`` owns the names of a run's artifacts; no other module spells them."""

from __future__ import annotations

import ast
from pathlib import Path

import harmonysim
from harmonysim.obs.export import FILE_NAMES, RUN_OWN
from harmonysim.runlog.folder import RunFolder

PACKAGE = Path(harmonysim.__file__).parent
OWNER = PACKAGE / "runlog" / "folder.py"


def _name_literals(source: str) -> list[tuple[int, str]]:
    """String constants (docstrings aside) that are exactly an artifact's name."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and node.value in RunFolder.NAMES
    )


def test_no_module_but_the_folder_spells_an_artifact_name() -> None:
    offences = [
        f"harmonysim/{path.relative_to(PACKAGE).as_posix()}:{line}: {name!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != OWNER
        for line, name in _name_literals(path.read_text(encoding="utf-8"))
    ]
    assert offences == [], "use RunFolder's names:\n" + "\n".join(offences)


def test_the_folder_gives_each_artifact_its_path(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.run == tmp_path / "run.json"
    assert folder.events == tmp_path / "events.jsonl"
    assert folder.history == tmp_path / "history.jsonl"
    assert folder.metrics == tmp_path / "metrics.jsonl"
    assert folder.traces == tmp_path / "traces.otlp.jsonl"
    assert folder / RunFolder.PERFETTO == tmp_path / "trace.perfetto.json"
    assert not folder.is_run()
    folder.run.write_text("{}")
    assert folder.is_run()


def test_names_are_distinct_and_exports_use_them() -> None:
    assert len(set(RunFolder.NAMES)) == len(RunFolder.NAMES)
    exported = {name for names in FILE_NAMES.values() for name in names}
    assert exported <= set(RunFolder.NAMES)
    assert set(RUN_OWN) <= set(RunFolder.NAMES)
