"""``harmonysim check-history FILE``: is a client history linearizable?

Reads our ``history.jsonl`` or a Jepsen history (EDN or log form), pairs
invocations with completions and searches for a linearization against a model
(``harmonysim.check.linearizability``). Exit status: 0 linearizable, 1 not (the
explanation is printed), 3 unknown (the step budget or the time ran out), 2 bad
input (missing file, parse error with its line, bad flags). ``--model auto``
picks ``kv`` when the history's operations carry keys, else ``register``. A run's
``history.jsonl`` beside its ``run.json`` starts from the records of the run's load
phase, which the history leaves out.
``--timeout`` bounds wall-clock time, so with it a verdict of unknown may depend
on the machine; ``--budget`` is deterministic.

A failed cas (``--fail-cas``): ``compare`` reads it as a cas that returned false
(Porcupine's etcd model), ``drop`` as an operation that did not happen (Knossos);
``auto`` is ``compare`` for our JSON Lines and the Jepsen log form, ``drop`` for
EDN. A file in which no operation is found is bad input (exit 2), not a verdict.
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

    from harmonysim.check.history import HistoryEvent

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
        choices=["auto", "jsonl", "jepsen", "edn", "log"],
        default="auto",
        help="input format (default auto: sniffed from the first line; jepsen: EDN or log, "
        "sniffed)",
    )
    parser.add_argument(
        "--fail-cas",
        choices=["auto", "drop", "compare"],
        default="auto",
        help="a failed cas: compare = it returned false (Porcupine/etcd), drop = it did "
        "not happen (Knossos); default auto: compare for JSON Lines and Jepsen logs, "
        "drop for EDN",
    )
    parser.add_argument(
        "--budget", type=positive_int, help="search steps before giving up (deterministic)"
    )
    parser.add_argument(
        "--timeout", type=_positive_seconds, help="wall-clock seconds before giving up"
    )
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")


def handle(args: argparse.Namespace, out: Console) -> int:
    from rich.markup import escape

    from harmonysim.check.history import (
        FailCas,
        HistoryParseError,
        OpStatus,
        default_fail_cas,
        load_history_as,
        pair_operations,
    )
    from harmonysim.check.linearizability import Verdict, check
    from harmonysim.check.models import KvModel, ModelError, get_model

    path: Path = args.file
    events: list[HistoryEvent] = []
    if not path.is_file():
        raise BadInput(
            escape(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
        )
    try:
        events, resolved = load_history_as(path, args.format)
        if not events:
            raise BadInput(
                escape(f"{path}: ")
                + f"no operations found (read as {resolved.value}; expected our "
                "history.jsonl, a Jepsen EDN history or a Jepsen log)"
            )
        fail_cas = default_fail_cas(resolved) if args.fail_cas == "auto" else FailCas(args.fail_cas)
        ops = pair_operations(events, source=str(path), fail_cas=fail_cas)
        model_name = args.model
        if model_name == "auto":
            model_name = "kv" if any(event.key is not None for event in events) else "register"
        model = get_model(model_name)
        if model_name == "kv":
            initial = _loaded_values(path)
            if initial:
                model = KvModel(initial=initial)
        result = check(ops, model, budget_steps=args.budget, timeout_s=args.timeout)
    except HistoryParseError as error:
        raise BadInput(escape(str(error))) from None
    except ModelError as error:
        line = _line_of(events, error.op.invoke_index) if error.op is not None else None
        where = f"{path}:{line}" if line is not None else str(path)
        raise BadInput(escape(f"{where}: {error}")) from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from None
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
            "format": resolved.value,
            "fail_cas": fail_cas.value,
            "verdict": result.verdict.value,
            "operations": len(ops),
            "indeterminate": indeterminate,
            "partitions": len(result.partitions),
            "steps": result.steps,
            "violated_keys": [_json_key(part.key) for part in result.violations],
            "scans_checked_per_key": [
                _json_key(part.key) for part in result.partitions if part.scans_per_key
            ],
            "explanation": result.explain().splitlines(),
        }
        print_json(report)
        return code
    style = {Verdict.OK: "green", Verdict.VIOLATION: "bold red", Verdict.UNKNOWN: "yellow"}
    out.print(
        f"[{style[result.verdict]}]{result.verdict.value}[/]  {escape(str(path))}  "
        f"model {model_name}  "
        f"{len(ops)} operations ({indeterminate} indeterminate)  {result.steps:,} steps  "
        f"(read as {resolved.value}, failed cas: {fail_cas.value})",
        highlight=False,
    )
    out.print(result.explain(), highlight=False, markup=False, soft_wrap=True)
    return code


def _loaded_values(path: Path) -> dict[str, int]:
    """A run's history beside its run.json: the records its load phase wrote (the history
    leaves them out; they are the keys' initial values). Empty for any other file."""
    from harmonysim.runlog.folder import RunFolder
    from harmonysim.runner import RunFolderError, load_run

    if path.name != RunFolder.HISTORY or not RunFolder(path.parent).is_run():
        return {}
    try:
        scenario, _ = load_run(path.parent)
    except RunFolderError as error:
        raise BadInput(f"{error} (read for the load phase of {path})") from None
    return scenario.workload.loaded_values()


def _json_key(key: object) -> object:
    from harmonysim.check.models import KeyGroup

    if isinstance(key, KeyGroup):
        return key.to_json()
    if key is None or isinstance(key, str | int | float | bool):
        return key
    return repr(key)


def _line_of(events: list[HistoryEvent], index: int) -> int | None:
    """The line of the event at ``index`` in the history as read."""
    if 0 <= index < len(events) and events[index].index == index:
        return events[index].line
    return None
