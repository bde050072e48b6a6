"""`harmonysim export`: writes the chosen formats, and refuses bad input with BadInput (exit 2)."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from harmonysim.cli import export
from harmonysim.cli.common import BadInput


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="harmonysim export")
    export.add_arguments(parser)
    return parser.parse_args(argv)


def test_one_format_to_one_file(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.prom"
    args = parse(str(run_dir), "--format", "prometheus", "-o", str(target))
    assert export.handle(args, Console(file=open(tmp_path / "log", "w"))) == 0  # noqa: SIM115
    assert target.read_text().startswith("# HELP harmonysim_")


def test_several_formats_to_a_folder_as_json(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse(
        str(run_dir), "--format", "zipkin", "--format", "shiviz", "-o", str(tmp_path), "--json"
    )
    assert export.handle(args, Console()) == 0
    written = orjson.loads(capsys.readouterr().out)["written"]
    assert [Path(p).name for p in written] == ["zipkin.json", "shiviz.log"]


def test_missing_run_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a run folder"):
        export.handle(parse(str(tmp_path / "nope"), "--format", "all"), Console())
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match=r"events\.jsonl"):
        export.handle(parse(str(tmp_path / "empty"), "--format", "otlp"), Console())


def test_unreachable_endpoint_is_bad_input(run_dir: Path, tmp_path: Path) -> None:
    args = parse(
        str(run_dir), "--format", "otlp", "-o", str(tmp_path), "--otlp-endpoint", "ftp://x"
    )
    with pytest.raises(BadInput, match="could not push"):
        export.handle(args, Console(file=open(tmp_path / "log", "w")))  # noqa: SIM115
