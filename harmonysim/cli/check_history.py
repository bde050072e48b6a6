"""``harmonysim check-history FILE``: is a client history linearizable?

Reads our ``history.jsonl`` or a Jepsen history (EDN or log form), pairs
invocations with completions and searches for a linearization against a model
(``harmonysim.check.linearizability``). Exit status: 0 linearizable, 1 not (the
explanation is printed), 3 unknown (the step budget or the time ran out), 2 bad
input (missing file, parse error with its line, bad flags). ``--model auto``
picks ``kv`` when the history's operations carry keys, else ``register``.
``--timeout`` bounds wall-clock time, so with it a verdict of unknown may depend
on the machine; ``--budget`` is deterministic.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harmonysim.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_INCONCLUSIVE,
    EXIT_OK,
    BadInput,
    positive_int,
    print_json,
)

if TYPE_CHECKING:
    from rich.console import Console

NAME = "check-history"
HELP = "check a client history (history.jsonl or Jepsen) for linearizability"


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="history file (history.jsonl, Jepsen EDN or log)")
    parser.add_argument(
        "--model",
        choices=["auto", "register", "kv"],
        default="auto",
        help="sequential model (default auto: kv when operations carry keys)",
    )
    parser.add_argument(
        "--format",
        choices=["auto", "jsonl", "jepsen"],
        default="auto",
        help="input format (default auto: sniffed from the first line)",
    )
    parser.add_argument(
        "--budget", type=positive_int, help="search steps before giving up (deterministic)"
    )
    parser.add_argument(
        "--timeout", type=_positive_seconds, help="wall-clock seconds before giving up"
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from harmonysim.check.history import HistoryParseError, OpStatus, load_history, pair_operations
    from harmonysim.check.linearizability import Verdict, check
    from harmonysim.check.models import ModelError, get_model
    from harmonysim.check.run_history import UNSUPPORTED_FUNCTIONS

    path: Path = args.file
    if not path.is_file():
        raise BadInput(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        events = load_history(path, args.format)
        skipped = [event for event in events if event.f in UNSUPPORTED_FUNCTIONS]
        events = [event for event in events if event.f not in UNSUPPORTED_FUNCTIONS]
        ops = pair_operations(events, source=str(path))
        model_name = args.model
        if model_name == "auto":
            model_name = "kv" if any(event.key is not None for event in events) else "register"
        model = get_model(model_name)
        result = check(ops, model, budget_steps=args.budget, timeout_s=args.timeout)
    except HistoryParseError as error:
        raise BadInput(str(error)) from None
    except ModelError as error:
        raise BadInput(f"{path}: {error}") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from None
    skipped_ops = sum(1 for event in skipped if event.type.value == "invoke")
    indeterminate = sum(1 for op in ops if op.status is OpStatus.INFO)
    code = {
        Verdict.OK: EXIT_OK,
        Verdict.VIOLATION: EXIT_CHECK_FAILED,
        Verdict.UNKNOWN: EXIT_INCONCLUSIVE,
    }[result.verdict]
    if args.json:
        report: dict[str, Any] = {
            "file": str(path),
            "model": model_name,
            "verdict": result.verdict.value,
            "operations": len(ops),
            "indeterminate": indeterminate,
            "partitions": len(result.partitions),
            "steps": result.steps,
            "excluded_scans": skipped_ops,
            "violated_keys": [_json_key(part.key) for part in result.violations],
            "explanation": result.explain().splitlines(),
        }
        print_json(report)
        return code
    style = {Verdict.OK: "green", Verdict.VIOLATION: "bold red", Verdict.UNKNOWN: "yellow"}
    out.print(
        f"[{style[result.verdict]}]{result.verdict.value}[/]  {path}  model {model_name}  "
        f"{len(ops)} operations ({indeterminate} indeterminate)  {result.steps:,} steps",
        highlight=False,
    )
    if skipped_ops:
        out.print(
            f"{skipped_ops} scan operation(s) left out: the {model_name} model checks one key "
            "at a time",
            highlight=False,
        )
    out.print(result.explain(), highlight=False, markup=False, soft_wrap=True)
    return code


def _json_key(key: object) -> object:
    if key is None or isinstance(key, str | int | float | bool):
        return key
    return repr(key)
