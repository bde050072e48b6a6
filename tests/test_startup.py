"""Startup stays cheap: what every command imports before it does anything.

Every command, ``--help`` included, imports ``harmonysim.cli`` and all the command
modules; ``run`` and ``replay`` then import the runner. The heavy libraries (the web
app, plots, Dask, the test tools) belong to the commands that use them, imported
inside their ``handle``. Each check runs in a fresh interpreter, since this process
has long since imported everything. No wall-clock limits here (machines are noisy):
the guard is on what gets imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Never imported to parse arguments or to run a scenario.
HEAVY = (
    "matplotlib",
    "fastapi",
    "starlette",
    "uvicorn",
    "dask",
    "distributed",
    "playwright",
    "hypothesis",
)

# The parser (and so --help and bad flags) needs none of these either.
PARSER_FREE = (
    *HEAVY,
    "rich",
    "numpy",
    "networkx",
    "pydantic",
    "yaml",
    "simpy",
    "orjson",
    "prometheus_client",
    "harmonysim.scenario",
    "harmonysim.runner",
)

# Exporters a run does not write (``harmonysim export`` does).
RUN_FREE = (
    *HEAVY,
    "harmonysim.obs.export",
    "harmonysim.obs.derive",
    "harmonysim.obs.perfetto",
    "harmonysim.obs.zipkin",
    "harmonysim.obs.shiviz",
)


def _imported_after(code: str) -> set[str]:
    """Modules loaded by a fresh interpreter after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules)


def test_help_imports_no_library_beyond_argparse() -> None:
    code = textwrap.dedent(
        """
        import contextlib, io, runpy, sys
        sys.argv = ["harmonysim", "--help"]
        with contextlib.redirect_stdout(io.StringIO()) as text:
            try:
                runpy.run_module("harmonysim", run_name="__main__")
            except SystemExit as stop:
                assert stop.code == 0, stop.code
        assert "check-history" in text.getvalue(), text.getvalue()
        """
    )
    assert _loaded(_imported_after(code), PARSER_FREE) == []


def test_run_command_imports_only_what_a_run_needs() -> None:
    modules = _imported_after(
        "import harmonysim.cli, harmonysim.cli.run, harmonysim.runner, harmonysim.scenario"
    )
    assert "harmonysim.cluster" in modules  # the probe did import the runner
    assert _loaded(modules, RUN_FREE) == []


def test_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harmonysim", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for command in (
        "run",
        "replay",
        "explore",
        "shrink",
        "mutants",
        "check-history",
        "plot",
        "export",
        "serve",
        "bench",
    ):
        assert command in done.stdout


def test_lazy_package_exports_all_resolve() -> None:
    import harmonysim.explore
    import harmonysim.obs

    for package in (harmonysim.obs, harmonysim.explore):
        exported = [name for names in package._EXPORTS.values() for name in names]
        assert sorted(package.__all__) == sorted(exported)
        for name in package.__all__:
            assert getattr(package, name) is not None, name
        with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
            package.nothing_here  # noqa: B018
