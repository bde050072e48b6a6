"""``harmonysim serve [RUN_DIR] [--live SCENARIO]``: the web dashboard over runs, or a live run.

``RUN_DIR`` is one run folder or a folder of them (default ``runs``). With
``--live`` a scenario runs in the background, ``--speed`` times as fast as the
wall clock, and the pages follow it; its artifacts go to ``--out`` (default
the run's usual folder under ``runs/``). The server binds 127.0.0.1 unless
``--host`` says otherwise, and is read-only.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from harmonysim.cli.common import EXIT_OK, BadInput, non_negative_int, seed_value

if TYPE_CHECKING:
    from rich.console import Console

NAME = "serve"
HELP = "serve the web dashboard over run folders, or over a live run"


def _port(text: str) -> int:
    value = non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {text!r}")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"the speed must be a positive number, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir",
        type=Path,
        nargs="?",
        default=None,
        help="a run folder, or a folder of run folders (default: runs)",
    )
    parser.add_argument("--live", type=Path, metavar="SCENARIO", help="run this scenario live")
    parser.add_argument("--seed", type=seed_value, help="seed for --live")
    parser.add_argument(
        "--speed", type=_speed, default=1.0, help="virtual seconds per wall second (--live)"
    )
    parser.add_argument(
        "--out", type=Path, help="run folder for --live (default runs/...); new or empty"
    )
    parser.add_argument(
        "--force", action="store_true", help="--live: replace the run already in its run folder"
    )
    parser.add_argument(
        "--keep-last",
        type=non_negative_int,
        metavar="N",
        help="--live: before starting, delete all but the N newest runs beside the live "
        "run's folder (failing runs are kept; see harmonysim gc)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="port to bind (8080)")


def check_port(host: str, port: int) -> None:
    """BadInput unless ``host:port`` can be bound now (asked before anything is printed)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        raise BadInput(f"--host {host}: cannot resolve it ({error.strerror or error})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            reason = error.strerror or str(error)
            raise BadInput(
                f"cannot listen on {host}:{port}: {reason} (is another server using it? "
                "choose another with --port)"
            ) from None


def handle(args: argparse.Namespace, out: Console) -> int:
    import uvicorn
    from rich.markup import escape

    from harmonysim.cli.run import claim, load
    from harmonysim.runner import default_out_dir
    from harmonysim.web.app import create_app
    from harmonysim.web.catalog import RunCatalog
    from harmonysim.web.live import LiveRun

    check_port(args.host, args.port)
    live: LiveRun | None = None
    if args.keep_last is not None and args.live is None:
        raise BadInput("serve: --keep-last is a retention setting for --live runs")
    if args.live is not None:
        scenario = load(args.live, args.seed, None, [])
        out_dir = args.out if args.out is not None else default_out_dir(scenario)
        claim(out_dir, replace=args.force)
        live = LiveRun(scenario, out_dir, speed=args.speed)
        if args.keep_last is not None:
            prune_beside(out_dir, args.keep_last, out)
    root: Path | None = args.run_dir
    if root is None and live is None:
        root = Path("runs")
    if root is not None and not root.is_dir():
        raise BadInput(f"{root}: no such folder (give a run folder or a folder of runs)")
    catalog = RunCatalog(root, live)
    if not catalog.entries:
        raise BadInput(f"{root}: no run folders (a run folder has run.json)")
    app = create_app(catalog)
    url = f"http://{args.host}:{args.port}/"
    out.print(
        f"[bold]harmonysim dashboard[/] at {escape(url)}  ({len(catalog.entries)} run(s))",
        highlight=False,
    )
    if live is not None:
        out.print(
            f"live: {live.scenario.name} seed {live.scenario.seed} at {args.speed:g}x, "
            f"artifacts in {live.out_dir}",
            highlight=False,
            markup=False,
        )
        live.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except SystemExit as stopped:  # uvicorn exits when it cannot start (say, a port taken since)
        if stopped.code not in (None, 0):
            raise BadInput(f"the server on {args.host}:{args.port} could not start") from None
        raise
    finally:
        if live is not None:
            live.stop()
    return EXIT_OK


def prune_beside(out_dir: Path, keep_last: int, out: Console) -> None:
    """Retention for live runs: keep the ``keep_last`` newest runs beside ``out_dir``."""
    from harmonysim.retention import apply_plan, find_runs, plan_retention

    parent = out_dir.parent
    if not parent.is_dir():
        return
    runs = [run for run in find_runs(parent) if run.path != out_dir]
    deleted = apply_plan(plan_retention(runs, keep_last=keep_last, older_than_s=None), parent)
    if deleted:
        out.print(f"retention: deleted {len(deleted)} older run(s) in {parent}", highlight=False)
