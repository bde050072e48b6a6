"""No history makes `check-history` crash: every parser it offers (``--format`` auto,
jsonl, jepsen, edn, log), fed random bytes, deep nesting, huge and non-finite numbers,
odd unicode and fields of the wrong type, either decides (0, 1, 3) or exits 2 with a
message that names the file and, for a parse error, the line."""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmonysim.cli import main

FORMATS = ("auto", "jsonl", "jepsen", "edn", "log")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="history-fuzz-") as name:
        yield Path(name)


def check_file(folder: Path, data: bytes, fmt: str) -> tuple[int, str]:
    path = folder / "history.txt"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check-history", str(path), "--format", fmt, "--budget", "20000"])
    message = " ".join(err.getvalue().split())
    assert code in (0, 1, 2, 3), message
    if code == 2:
        assert message.startswith(f"error: {path}"), message
        assert len(message) < 400, message  # one line-ish, values cut short
    return code, message


def assert_names_a_line(message: str, path_text: str) -> None:
    assert re.match(rf"error: {re.escape(path_text)}:\d+: ", message), message


# --------------------------------------------------------------------------- raw input


@FUZZ
@given(data=st.binary(max_size=400), fmt=st.sampled_from(FORMATS))
def test_random_bytes(folder: Path, data: bytes, fmt: str) -> None:
    check_file(folder, data, fmt)


ODD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200
) | st.sampled_from(["\u2028", "\u0085", "\ufeff", "\r\n", "\x00", "é\u0301", "𝄞", "\\u12"])
TOKENS = st.sampled_from(
    ['{"', "{:", "[", "]", "{", "}", "(", ")", "#{", "#_", "#inst", ":", ":invoke", ":ok",
     ":fail", ":info", ":cas", ":read", ":write", ":process", ":type", ":f", ":value", ":time",
     ":key", "nil", "true", "false", "0", "-1", "1e999", "-1e999", "1.5M", "99N", "9" * 500,
     "NaN", "Infinity", '"', '\\"', "\\newline", "\\u00e9", ",", " ", "\t", "\n", ";",
     "INFO  jepsen.util - ", "jepsen.util - 0\t:invoke\t:cas\t", '"process":', '"type":"ok"',
     '"f":"cas"', '"value":', '"time":', "1e400", "null"]
)  # fmt: skip


@FUZZ
@given(parts=st.lists(TOKENS | ODD_TEXT, max_size=40), fmt=st.sampled_from(FORMATS))
def test_token_soup(folder: Path, parts: list[str], fmt: str) -> None:
    check_file(folder, "".join(parts).encode("utf-8"), fmt)


@FUZZ
@given(text=ODD_TEXT, fmt=st.sampled_from(FORMATS))
def test_invalid_utf8_names_its_line(folder: Path, text: str, fmt: str) -> None:
    data = text.encode("utf-8") + b"\n\xff\xfe\n"
    code, message = check_file(folder, data, fmt)
    assert code == 2
    assert_names_a_line(message, str(folder / "history.txt"))


# --------------------------------------------------------------------------- deep nesting


@pytest.mark.parametrize("depth", [101, 1000, 5000, 100_000])
@pytest.mark.parametrize("fmt", ["auto", "edn", "jepsen"])
def test_deep_edn_nesting_is_bad_input(folder: Path, depth: int, fmt: str) -> None:
    nested = "[" * depth + "]" * depth
    text = "{:process 0, :type :invoke, :f :write, :value " + nested + "}\n"
    code, message = check_file(folder, text.encode(), fmt)
    assert code == 2
    assert "nested more than 100 levels" in message
    assert_names_a_line(message, str(folder / "history.txt"))


@pytest.mark.parametrize("depth", [101, 1000, 5000])
def test_deep_nesting_in_json_and_log_values_is_bad_input(folder: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    json_line = '{"process": 0, "type": "invoke", "f": "write", "value": ' + nested + "}\n"
    log_line = "INFO  jepsen.util - 0\t:invoke\t:write\t" + nested + "\n"
    for text in (json_line, log_line):
        code, message = check_file(folder, ("\n" + text).encode(), "auto")
        assert code == 2
        assert re.search(r"nested|depth", message), message
        assert_names_a_line(message, str(folder / "history.txt"))


def test_nesting_within_the_bound_is_read(folder: Path) -> None:
    nested = "[" * 50 + "1" + "]" * 50
    text = (
        "{:process 0, :type :invoke, :f :write, :value " + nested + "}\n"
        "{:process 0, :type :ok, :f :write, :value " + nested + "}\n"
    )
    assert check_file(folder, text.encode(), "edn")[0] == 0


# --------------------------------------------------------------------------- numbers, types

NUMBERS = st.sampled_from(
    ["1e999", "-1e999", "1e400", "NaN", "Infinity", "-0", "0.0", "9" * 5000, "9" * 300 + ".5",
     "123456789012345678901234567890", "1.5M", "7N", "-9223372036854775809"]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
FIELDS = ("process", "type", "f", "key", "value", "time")
GOOD = {"process": [0, 1, "n"], "type": ["invoke", "ok", "fail", "info"],
        "f": ["read", "write", "cas", "get", "put", "scan", "delete", "append"]}  # fmt: skip


@st.composite
def json_records(draw: st.DrawFn) -> bytes:
    record: dict[str, object] = {}
    for field in FIELDS:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue
        if choice == 1 and field in GOOD:
            record[field] = draw(st.sampled_from(GOOD[field]))
        else:
            record[field] = draw(JSON_VALUES)
    return json.dumps(record).encode()


@FUZZ
@given(records=st.lists(json_records(), min_size=1, max_size=8), fmt=st.sampled_from(FORMATS))
def test_json_records_of_wrong_types(folder: Path, records: list[bytes], fmt: str) -> None:
    check_file(folder, b"\n".join(records) + b"\n", fmt)


@FUZZ
@given(number=NUMBERS, field=st.sampled_from(["time", "value", "key", "process"]))
def test_huge_and_non_finite_numbers(folder: Path, number: str, field: str) -> None:
    json_line = {
        "process": "0", "type": '"invoke"', "f": '"write"', "value": "1", "time": "0"
    }  # fmt: skip
    json_line[field] = number
    text = "{" + ", ".join(f'"{name}": {value}' for name, value in json_line.items()) + "}\n"
    check_file(folder, text.encode(), "auto")
    edn = {":process": "0", ":type": ":invoke", ":f": ":write", ":value": "1", ":time": "0"}
    edn[f":{field}"] = number
    check_file(folder, ("{" + " ".join(f"{k} {v}" for k, v in edn.items()) + "}\n").encode(), "edn")
    log = f"INFO  jepsen.util - 0\t:invoke\t:write\t{number}\n"
    check_file(folder, log.encode(), "log")


EDN_ATOMS = st.sampled_from(
    ["nil", "true", "1", "-2", "3.5", '"s"', ":k", "sym", "\\a", "#{1 2}", "{:a 1}", "[1 2]",
     "(1)", "[]", "#inst \"2020\"", "1e999", "[nil nil]", "{[1] 2}", "#{[1]}", '""']
)  # fmt: skip


@st.composite
def edn_records(draw: st.DrawFn) -> str:
    fields = []
    for field in FIELDS:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue
        if choice == 1 and field in GOOD:
            value = draw(st.sampled_from(GOOD[field]))
            fields.append(
                f":{field} {value if field == 'process' and value != 'n' else ':' + str(value)}"
            )
        else:
            fields.append(f":{field} {draw(EDN_ATOMS)}")
    return "{" + ", ".join(fields) + "}"


@FUZZ
@given(records=st.lists(edn_records(), min_size=1, max_size=8), vector=st.booleans())
def test_edn_records_of_wrong_types(folder: Path, records: list[str], vector: bool) -> None:
    text = "\n".join(records)
    if vector:
        text = "[" + text + "]"
    for fmt in ("edn", "jepsen", "auto"):
        check_file(folder, (text + "\n").encode(), fmt)


@FUZZ
@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(["0", "1", ":nemesis", "x", "-1", "9" * 30]),
            st.sampled_from(["invoke", "ok", "fail", "info"]),
            st.sampled_from([":read", ":write", ":cas", ":get", ":scan", ":x"]),
            EDN_ATOMS | NUMBERS | ODD_TEXT,
        ),
        min_size=1,
        max_size=10,
    )
)
def test_log_lines_of_wrong_types(folder: Path, lines: list[tuple[str, str, str, str]]) -> None:
    text = "".join(
        f"INFO  jepsen.util - {process}\t:{kind}\t{f}\t{value}\n"
        for process, kind, f, value in lines
    )
    for fmt in ("log", "jepsen", "auto"):
        check_file(folder, text.encode(), fmt)
