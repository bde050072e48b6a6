"""The compiled build: the hot modules as mypyc extension modules, used only when current.

``python -m harmonysim.compiled build`` (run by ``make compile``) compiles ``MODULES``
with mypyc into extension modules beside their sources, and writes ``MANIFEST``: the
SHA-256 of every source file of the package at the time of the build. Python would
import an extension module in preference to its source, so the package's ``__init__``
calls ``select`` first thing, which decides once per process between the two builds:

- compiled: the extension modules exist and every source still hashes as in the
  manifest (mypyc inlines constants and types across modules, so any edited source of
  the package makes the whole compiled build stale, not only an edited compiled module);
- pure: ``HARMONYSIM_PURE`` is set (not empty, 0, false or no), or nothing was compiled,
  or the build is stale (then one line on stderr says so). An import hook then loads
  each of ``MODULES`` from its ``.py`` file; all modules come from the same build.

The two builds give the same artifacts byte for byte for the same seed (tested); only
the speed differs. Without a C compiler ``build`` prints a note and everything runs pure.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / ".compiled.json"
PURE_ENV = "HARMONYSIM_PURE"

# Where a whole run's time goes (cProfile of scenarios/standard.yaml, ``bench btree`` and
# ``bench tracing``): the Raft core, the server and its storage (every Ready), network and
# event log, disks, telemetry and metrics, the online safety checker, the client and its
# history, the B+ tree, the tracer, its OTLP span encoder and the instrumentation that
# starts a span per traced message and Raft step.
MODULES: tuple[str, ...] = (
    "harmonysim.btree.nodes",
    "harmonysim.btree.tree",
    "harmonysim.check.history",
    "harmonysim.check.linearizability",
    "harmonysim.check.models",
    "harmonysim.check.raft_safety",
    "harmonysim.cluster.client",
    "harmonysim.cluster.history",
    "harmonysim.cluster.server",
    "harmonysim.cluster.server_observer",
    "harmonysim.cluster.server_telemetry",
    "harmonysim.cluster.state_machine",
    "harmonysim.cluster.storage",
    "harmonysim.cluster.telemetry",
    "harmonysim.obs.integration",
    "harmonysim.obs.metrics",
    "harmonysim.obs.otlp",
    "harmonysim.obs.tracing",
    "harmonysim.raft.log",
    "harmonysim.raft.node",
    "harmonysim.raft.progress",
    "harmonysim.raft.types",
    "harmonysim.sim.disk",
    "harmonysim.sim.events",
    "harmonysim.sim.latency",
    "harmonysim.sim.network",
    "harmonysim.sim.node",
)
# The shared library holding the compiled code of all of them (``_native__mypyc``).
GROUP = "harmonysim._native"

_build = "pure"


def build_kind() -> str:
    """``"compiled"`` or ``"pure"``: which build this process runs."""
    return _build


def pure_requested(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def source_path(module: str) -> Path:
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def _sources() -> list[Path]:
    return sorted(
        (p for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts),
        key=lambda p: p.relative_to(PACKAGE_DIR).as_posix(),
    )


def source_digest() -> str:
    """One SHA-256 over every source file of the package (path and content)."""
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def extension_path(module: str) -> Path | None:
    """The extension module built for ``module`` for this interpreter, if any."""
    stem = source_path(module).with_suffix("")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate.exists():
            return candidate
    return None


def stale_reason() -> str | None:
    """Why the compiled build must not be used (None: it is current), or "" if absent."""
    present = [m for m in MODULES if extension_path(m) is not None]
    if not present:
        return ""
    if len(present) != len(MODULES):
        return "some compiled modules are missing"
    try:
        recorded = MANIFEST.read_text().strip()
    except OSError:
        return f"{MANIFEST.name} is missing"
    if recorded != source_digest():
        return "sources changed since the build"
    return None


class _PureFinder:
    """Finds ``MODULES`` as their ``.py`` files, ahead of the extension modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def select() -> str:
    """Decide the build for this process (once, before any compiled module is imported)."""
    global _build
    if any(isinstance(finder, _PureFinder) for finder in sys.meta_path):
        return _build
    reason = None if pure_requested() else stale_reason()
    if reason is None and not pure_requested():
        _build = "compiled"
        return _build
    if reason:
        print(
            f"note: harmonysim runs pure Python: {reason} (make compile rebuilds)",
            file=sys.stderr,
        )
    _build = "pure"
    sys.meta_path.insert(0, _PureFinder())
    return _build


def _compiler() -> str | None:
    """The C compiler's path, or None."""
    import shlex
    import shutil
    import sysconfig

    configured = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    for name in (shlex.split(configured)[0], "cc", "gcc"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _built_files() -> list[Path]:
    """Every extension module in the package now (any interpreter's): the package has no
    native code but the compiled build's, and a module dropped from ``MODULES`` must
    not leave an extension behind to shadow its source."""
    return sorted(PACKAGE_DIR.rglob("*.so"))


def clean() -> None:
    for path in _built_files():
        path.unlink()
    MANIFEST.unlink(missing_ok=True)


def build(jobs: int = 2, force: bool = False) -> int:
    """Compile ``MODULES`` in place unless current; without a C compiler, a note only."""
    import sysconfig

    if _compiler() is None:
        print("note: no C compiler (cc, gcc) found: harmonysim runs pure Python")
        clean()
        return 0
    if not Path(sysconfig.get_paths()["include"], "Python.h").exists():
        print("note: no Python headers (Python.h) found: harmonysim runs pure Python")
        clean()
        return 0
    if not force and stale_reason() is None:
        print("compiled build is current")
        return 0
    digest = source_digest()
    clean()
    from mypyc.build import mypycify
    from setuptools.dist import Distribution

    root = PACKAGE_DIR.parent
    temp = root / "build" / "compiled"
    cwd = Path.cwd()
    os.chdir(root)  # build_ext --inplace writes beside the sources, relative to here
    try:
        extensions = mypycify(
            [source_path(m).relative_to(root).as_posix() for m in MODULES],
            opt_level="3",
            multi_file=True,
            group_name=GROUP,
            target_dir=str(temp / "c"),
        )
        for extension in extensions:
            # mypyc writes a dotted group's headers under its package's folder but only
            # adds the top folder to the include path.
            extension.include_dirs.append(str(temp / "c" / GROUP.rpartition(".")[0]))
        # build_ext alone on a bare Distribution rather than setup(): the project's
        # pyproject.toml is no concern of this build (older setuptools reject it).
        dist = Distribution({"name": "harmonysim-compiled", "ext_modules": extensions})
        command = dist.get_command_obj("build_ext")
        command.inplace = True
        command.parallel = jobs
        command.build_temp = str(temp / "obj")
        dist.run_command("build_ext")
    finally:
        os.chdir(cwd)
    if source_digest() != digest:
        print("error: sources changed during the build; run make compile again", file=sys.stderr)
        clean()
        return 1
    MANIFEST.write_text(digest + "\n")
    print(f"compiled {len(MODULES)} modules")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m harmonysim.compiled", description="the mypyc build of the hot modules"
    )
    parser.add_argument("action", choices=["build", "clean", "status"])
    parser.add_argument("--force", action="store_true", help="build even when current")
    parser.add_argument(
        "--require-current",
        action="store_true",
        help="status: exit 1 unless the build is current (or no C compiler is found)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if args.action == "build":
        return build(args.jobs, args.force)
    if args.action == "clean":
        clean()
        return 0
    reason = stale_reason()
    print("compiled build: " + ("current" if reason is None else (reason or "not built")))
    if args.require_current and reason is not None and _compiler() is not None:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
