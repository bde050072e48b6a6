"""The compiled build (harmonysim/compiled.py): used only when current, same artifacts as pure."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from harmonysim import compiled

ROOT = Path(__file__).resolve().parents[1]


def _env(*, pure: bool, pythonpath: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != compiled.PURE_ENV}
    env["PYTHONPATH"] = str(pythonpath)
    if pure:
        env[compiled.PURE_ENV] = "1"
    return env


_PROBE = (
    "import harmonysim.compiled as c, harmonysim.raft.node as n; "
    "print(c.build_kind(), n.__file__.rsplit('.', 1)[-1])"
)


def _probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Run where the package is: ``python -c`` puts its working folder first on the path.
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env,
        capture_output=True,
        text=True,
        cwd=env["PYTHONPATH"],
    )


def _fake_build(tmp_path: Path) -> Path:
    """A copy of the package whose every compiled module is an unloadable extension file."""
    shutil.copytree(
        ROOT / "harmonysim", tmp_path / "harmonysim", ignore=shutil.ignore_patterns("*.so")
    )
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for module in compiled.MODULES:
        source = tmp_path.joinpath(*module.split(".")).with_suffix(".py")
        source.with_name(source.stem + suffix).write_bytes(b"not an extension module")
    return tmp_path


def test_pure_switch_loads_every_compiled_module_from_source() -> None:
    done = _probe(_env(pure=True))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pure", "py"]
    assert done.stderr == ""


def test_a_build_older_than_the_sources_is_never_loaded(tmp_path: Path) -> None:
    root = _fake_build(tmp_path)
    (root / "harmonysim" / compiled.MANIFEST.name).write_text("0" * 64 + "\n")
    done = _probe(_env(pure=False, pythonpath=root))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pure", "py"]
    assert done.stderr.strip() == (
        "note: harmonysim runs pure Python: sources changed since the build (make compile rebuilds)"
    )


def test_a_current_build_is_loaded_instead_of_the_sources(tmp_path: Path) -> None:
    root = _fake_build(tmp_path)
    digest = subprocess.run(
        [sys.executable, "-c", "import harmonysim.compiled as c; print(c.source_digest())"],
        env=_env(pure=True, pythonpath=root),
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (root / "harmonysim" / compiled.MANIFEST.name).write_text(digest + "\n")
    # The fake extension modules are what Python then tries to load, and cannot.
    done = _probe(_env(pure=False, pythonpath=root))
    assert done.returncode != 0
    assert "ImportError" in done.stderr
    # Unless the pure build is asked for.
    done = _probe(_env(pure=True, pythonpath=root))
    assert done.stdout.split() == ["pure", "py"]


def test_cleaning_removes_the_extension_of_a_module_no_longer_compiled(tmp_path: Path) -> None:
    """A module dropped from ``MODULES`` keeps no extension beside its source: it would be
    imported instead of the source, by the pure build too."""
    root = _fake_build(tmp_path)
    dropped = root / "harmonysim" / "check" / "suite.py"
    dropped.with_name("suite" + importlib.machinery.EXTENSION_SUFFIXES[0]).write_bytes(b"old")
    subprocess.run(
        [sys.executable, "-c", "import harmonysim.compiled as c; c.clean()"],
        env=_env(pure=True, pythonpath=root),
        cwd=root,
        check=True,
    )
    assert sorted((root / "harmonysim").rglob("*.so")) == []


def _run(out: Path, *, pure: bool) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harmonysim",
            "run",
            "scenarios/standard.yaml",
            "--trace-sample",
            "1",
            "--metrics-every",
            "200ms",
            "--quiet",
            "--out",
            str(out),
        ],
        env=_env(pure=pure),
        cwd=ROOT,
        check=True,
    )


@pytest.mark.slow
def test_compiled_and_pure_builds_write_identical_artifacts(tmp_path: Path) -> None:
    if compiled.stale_reason() is not None:
        pytest.skip("no current compiled build (make compile; it needs a C compiler)")
    done = _probe(_env(pure=False))
    assert done.stdout.split() == ["compiled", "so"], done.stderr
    _run(tmp_path / "pure", pure=True)
    _run(tmp_path / "compiled", pure=False)
    names = sorted(p.name for p in (tmp_path / "pure").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert {"events.jsonl", "history.jsonl", "metrics.jsonl", "traces.otlp.jsonl"} <= set(names)
    for name in names:
        pure = (tmp_path / "pure" / name).read_bytes()
        native = (tmp_path / "compiled" / name).read_bytes()
        if name == "run.json":  # the only wall-clock figures of a run
            pure_run, native_run = orjson.loads(pure), orjson.loads(native)
            assert pure_run.pop("timing").keys() == native_run.pop("timing").keys()
            assert pure_run == native_run
            assert pure_run["event_hash"]
        else:
            assert pure == native, name


def test_bench_prints_pure_and_compiled_figures_side_by_side() -> None:
    if compiled.stale_reason() is not None:
        pytest.skip("no current compiled build (make compile; it needs a C compiler)")
    done = subprocess.run(
        [sys.executable, "-m", "harmonysim", "bench", "btree", "--keys", "3000"],
        env={**_env(pure=False), "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert any(("pure" in line and "compiled / pure" in line) for line in lines), done.stdout
    rows = [line for line in lines if "get" in line and "btree_s" in line]
    assert len(rows) == 1, done.stdout
    figures = [float(word) for word in rows[0].replace("│", " ").split()[2:]]
    pure, native, ratio = figures
    assert ratio == pytest.approx(native / pure, rel=0.01, abs=0.006)
