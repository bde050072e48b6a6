"""``harmonysim export RUN_DIR --format ...``: a run's traces and metrics for other tools.

Formats: ``otlp`` (traces.otlp.jsonl + metrics.otlp.jsonl), ``perfetto``
(trace.perfetto.json), ``prometheus`` (metrics.prom), ``openmetrics``, ``zipkin``
(zipkin.json), ``shiviz`` (shiviz.log), or ``all``. ``-o`` names the file when one
file is written, else the folder (default: the run folder). ``--otlp-endpoint``
also POSTs the OTLP files to a collector's OTLP/HTTP receiver. Files the run wrote
itself (its traces, its final metrics as OTLP and Prometheus text) are never
replaced; exported elsewhere they are copied as they are.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_OK, BadInput, print_json

if TYPE_CHECKING:
    from rich.console import Console

NAME = "export"
HELP = "export a run folder to OTLP, Perfetto, Prometheus, Zipkin or ShiViz"

FORMAT_CHOICES = ("otlp", "perfetto", "prometheus", "openmetrics", "zipkin", "shiviz", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a folder written by `harmonysim run`")
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=FORMAT_CHOICES,
        required=True,
        help="what to write (repeatable; `all` for every format)",
    )
    parser.add_argument(
        "-o", "--out", type=Path, default=None, help="output file (one file) or folder"
    )
    parser.add_argument(
        "--otlp-endpoint",
        default=None,
        metavar="URL",
        help="also POST the OTLP files to this OTLP/HTTP receiver (e.g. http://localhost:4318)",
    )
    parser.add_argument("--json", action="store_true", help="print the files written as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.obs.export import FILE_NAMES, ExportError, ExportFormat, export_run
    from harmonysim.obs.otlp import OtlpPushError, push_otlp

    formats = list(args.formats)
    if args.otlp_endpoint and "otlp" not in formats and "all" not in formats:
        formats.append("otlp")
    try:
        written = export_run(args.run_dir, formats, args.out)
    except ExportError as error:
        raise BadInput(str(error)) from None
    pushed = None
    if args.otlp_endpoint:
        traces_name, metrics_name = FILE_NAMES[ExportFormat.OTLP]
        traces = next(path for path in written if path.name == traces_name)
        metrics = next(path for path in written if path.name == metrics_name)
        try:
            pushed = push_otlp(args.otlp_endpoint, traces, metrics)
        except OtlpPushError as error:
            raise BadInput(f"could not push to {args.otlp_endpoint}: {error}") from None
    if args.json:
        result: dict[str, object] = {"written": [str(path) for path in written]}
        if pushed is not None:
            result["pushed"] = {
                "trace_requests": pushed.trace_requests,
                "metric_requests": pushed.metric_requests,
            }
        print_json(result)
        return EXIT_OK
    for path in written:
        out.print(f"wrote {path} ({path.stat().st_size:,} bytes)", highlight=False, markup=False)
    if pushed is not None:
        out.print(
            f"pushed {pushed.trace_requests} trace and {pushed.metric_requests} metric requests "
            f"to {args.otlp_endpoint}",
            highlight=False,
            markup=False,
        )
    return EXIT_OK
