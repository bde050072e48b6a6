"""Every command the README shows runs, in order, as a newcomer would type it.

The README's ``sh`` blocks are parsed; each ``harmonysim`` line runs in a fresh
folder holding ``scenarios/`` (so ``runs/`` paths resolve as in the README) and
must exit with the status the README implies: 0, or 1 for a run that switches a
bug on (the bug must be caught). Later commands use the folders earlier ones wrote,
as the README does.

Fast settings, and only these (the commands are otherwise run exactly as written):
seed sweeps run one seed, ``mutants`` one bug on one scenario, ``shrink`` one run of
budget, ``bench kernel`` fewer messages, and OTLP pushes go to a local receiver
instead of ``localhost:4318``. Skipped: ``serve`` (a server that runs until stopped;
the dashboard has its own tests in tests/web), ``explore --dask`` (it starts a Dask
cluster; tests/explore/test_sweep.py runs sweeps on one) and the Set-up block's
``make`` targets (they create a virtualenv and install the package). The test is slow (a
minute on two cores): it runs whole shipped scenarios, because the README does.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from harmonysim.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIPPED_COMMANDS = ("serve",)  # runs until stopped
SKIPPED_FLAGS = ("--dask",)  # starts a Dask cluster; tests/explore/test_sweep.py covers it
FAST: dict[tuple[str, ...], tuple[str, ...]] = {
    ("--seeds", "1-1000"): ("--seeds", "1"),
    ("mutants", "--seeds", "1-200"): (
        "mutants",
        "--seeds",
        "1",
        "--bugs",
        "apply_before_commit",
        "--scenarios",
        "leader-isolation",
    ),
}
APPENDED: dict[str, tuple[str, ...]] = {
    "shrink": ("--budget", "1"),
    "bench": ("--messages", "20000"),
}


def readme_commands() -> list[list[str]]:
    """The ``harmonysim`` command lines of the README's ``sh`` blocks, in order."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "harmonysim":
                commands.append(words[1:])
    return commands


def fast(argv: list[str], endpoint: str) -> list[str]:
    argv = [endpoint if word == "http://localhost:4318" else word for word in argv]
    for old, new in FAST.items():
        for start in range(len(argv) - len(old) + 1):
            if tuple(argv[start : start + len(old)]) == old:
                argv[start : start + len(old)] = new
                break
    return argv + list(APPENDED.get(argv[0], ()))


def expected_status(argv: list[str]) -> int:
    return 1 if argv[0] == "run" and "--bug" in argv else 0


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_readme_shows_the_commands_this_test_knows() -> None:
    commands = readme_commands()
    assert [argv[0] for argv in commands[:2]] == ["run", "run"]
    assert {argv[0] for argv in commands} >= {"run", "replay", "explore", "shrink", "mutants"}
    assert ["run", "scenarios/steady-state.yaml", "--seed", "7", "--duration", "10s",
            "--out", "runs/try"] in commands  # fmt: skip


@pytest.mark.slow
def test_every_readme_command_runs_as_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    otlp_receiver: str,
) -> None:
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    ran = []
    for argv in readme_commands():
        if argv[0] in SKIPPED_COMMANDS or any(flag in argv for flag in SKIPPED_FLAGS):
            continue
        command = fast(argv, otlp_receiver)
        status = main(command)
        printed = capsys.readouterr()
        assert status == expected_status(argv), (
            f"harmonysim {shlex.join(argv)} exited {status}:\n{printed.err[-2000:]}"
        )
        assert "Traceback" not in printed.err
        ran.append(argv[0])
    assert len(ran) >= 15
    assert (tmp_path / "runs" / "nemesis" / "seed-3" / "shrunk.yaml").is_file()
    assert (tmp_path / "runs" / "leader-isolation" / "seed-7" / "plots").is_dir()
