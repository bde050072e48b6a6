"""`harmonysim check-history` in process: which reading of a failed cas applies to which
format (verdicts that differ between the two readings), and files with no operation."""

from __future__ import annotations

import io
import json
import random
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from harmonysim.cli import main
from tests.check.test_linearizability_bruteforce import (
    _as_events,
    _register_call,
    brute_force_linearizable,
    random_history,
    register_reference,
)

# A write of 1 completes; then a cas expecting 1, with nothing concurrent, fails. Read as
# "the compare failed" (Porcupine's etcd model) that is impossible; dropped (Knossos) it
# leaves a linearizable history.
LOG = """\
INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - 1\t:invoke\t:cas\t[1 3]
INFO  jepsen.util - 1\t:fail\t:cas\t[1 3]
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - 2\t:ok\t:read\t1
"""
EDN = """\
{:process 0, :type :invoke, :f :write, :value 1}
{:process 0, :type :ok, :f :write, :value 1}
{:process 1, :type :invoke, :f :cas, :value [1 3]}
{:process 1, :type :fail, :f :cas, :value [1 3]}
{:process 2, :type :invoke, :f :read, :value nil}
{:process 2, :type :ok, :f :read, :value 1}
"""
JSONL = """\
{"process": 0, "type": "invoke", "f": "put", "key": "k1", "value": 1, "time": 0.0}
{"process": 0, "type": "ok", "f": "put", "key": "k1", "value": 1, "time": 1.0}
{"process": 1, "type": "invoke", "f": "cas", "key": "k1", "value": [1, 3], "time": 2.0}
{"process": 1, "type": "fail", "f": "cas", "key": "k1", "value": [1, 3], "time": 3.0}
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check-history", *argv])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("text", "suffix", "extra", "code"),
    [
        # The Jepsen log form: Porcupine's etcd histories, a failed cas returned false.
        (LOG, "log", [], 1),
        (LOG, "log", ["--format", "jepsen"], 1),
        (LOG, "log", ["--format", "jepsen", "--fail-cas", "drop"], 0),
        # EDN: Knossos drops failed operations, unless the etcd reading is asked for.
        (EDN, "edn", [], 0),
        (EDN, "edn", ["--format", "edn"], 0),
        (EDN, "edn", ["--fail-cas", "compare"], 1),
        # Our history.jsonl: the server fails a cas only when its compare failed.
        (JSONL, "jsonl", [], 1),
        (JSONL, "jsonl", ["--fail-cas", "drop"], 0),
    ],
)
def test_each_format_reads_a_failed_cas_as_documented(
    tmp_path: Path, text: str, suffix: str, extra: list[str], code: int
) -> None:
    path = tmp_path / f"history.{suffix}"
    path.write_text(text, encoding="utf-8")
    got, out, err = run(str(path), "--json", *extra)
    assert got == code, out + err
    assert ('"verdict": "violation"' in out) is (code == 1)


def test_the_violation_names_the_failed_cas(tmp_path: Path) -> None:
    path = tmp_path / "history.log"
    path.write_text(LOG, encoding="utf-8")
    code, out, _ = run(str(path), "--model", "register")
    assert code == 1
    assert "cas(1, 3) -> false" in out
    assert "failed cas: compare" in " ".join(out.split())


@pytest.mark.parametrize(
    "text",
    [
        "file\tmodel\texpected\njepsen/etcd_000.log\tregister\tbad\n",
        "",
        "\n\n",
    ],
    ids=["tsv", "empty", "blank"],
)
def test_a_file_without_operations_is_bad_input(tmp_path: Path, text: str) -> None:
    path = tmp_path / "EXPECTED.tsv"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(str(path))
    assert code == 2
    assert f"{path}: no operations found" in " ".join(err.split())
    assert "ok" not in out


def _edn(value: object) -> str:
    if value is None:
        return "nil"
    if isinstance(value, tuple):
        return "[" + " ".join(_edn(item) for item in value) + "]"
    return str(value)


def test_random_jepsen_logs_agree_with_brute_force(tmp_path: Path) -> None:
    """The reported case, as a user meets it: small random cas-register histories written
    as Jepsen logs (a cas that returned false logged as ``:fail``), checked with
    ``--model register --format jepsen``, against an exhaustive search."""
    rng = random.Random("jepsen-logs")
    path = tmp_path / "history.log"
    verdicts = {0: 0, 1: 0}
    for _ in range(60):
        history = random_history(
            rng, _register_call, register_reference, None, unrecorded_failed_cas=0.0
        )
        if not history:
            continue  # no operation at all is bad input, tested above
        lines = [
            f"INFO  jepsen.util - {event.process}\t:{event.type.value}\t:{event.f}\t"
            f"{_edn(event.value)}\n"
            for event in _as_events(history)
        ]
        path.write_text("".join(lines), encoding="utf-8")
        code, out, err = run(str(path), "--model", "register", "--format", "jepsen")
        expected = brute_force_linearizable(history, register_reference, None)
        assert code == (0 if expected else 1), "".join(lines) + out + err
        verdicts[code] += 1
    assert min(verdicts.values()) >= 10


def test_a_verdict_reached_key_by_key_says_the_scans_atomicity_went_unverified(
    tmp_path: Path,
) -> None:
    # The torn scan: k1 := 1, then k2 := 2, and a scan over both saw only k2. Merged, it
    # is a violation; out of budget, key by key, each key alone passes, and the verdict
    # says what it could not see.
    rows = [
        '{"process": 9, "type": "invoke", "f": "scan", "key": "k1", "value": "k2", "time": 0.0}',
        '{"process": 1, "type": "invoke", "f": "put", "key": "k1", "value": 1, "time": 1.0}',
        '{"process": 1, "type": "ok", "f": "put", "key": "k1", "value": 1, "time": 2.0}',
        '{"process": 1, "type": "invoke", "f": "put", "key": "k2", "value": 2, "time": 3.0}',
        '{"process": 1, "type": "ok", "f": "put", "key": "k2", "value": 2, "time": 4.0}',
        '{"process": 9, "type": "ok", "f": "scan", "key": "k1", "value": [["k2", 2]], '
        '"time": 10.0}',
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = run(str(path), "--model", "kv", "--budget", "6")
    assert code == 0
    assert "checked key by key" in out and "atomicity across keys is unverified" in out
    code, out, _ = run(str(path), "--model", "kv", "--budget", "6", "--json")
    assert json.loads(out)["scans_checked_per_key"] == [["k1", "k2"]]
    code, out, _ = run(str(path), "--model", "kv")
    assert code == 1 and "checked key by key" not in out
