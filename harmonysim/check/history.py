"""Client histories, Jepsen style: events, their pairing into operations, and parsers.

Rules:
- A history is a sequence of ``HistoryEvent`` events in the order they were recorded.
  Each client process alternates ``invoke`` and a completion: ``ok`` (the operation
  took effect, with this result), ``fail`` (it certainly did not take effect) or
  ``info`` (indeterminate, e.g. timed out: it may or may not have taken effect,
  at any moment after its invocation).
- ``pair_operations`` turns events into ``CompletedOp`` records. A FAIL operation
  did not happen and is dropped (Knossos' reading), except a failed ``cas`` under
  ``FailCas.COMPARE`` (Porcupine's etcd reading): there ``fail`` means the compare
  failed at the operation's linearization point, and it becomes an OK cas whose
  output is ``False``. Which reading applies where: our ``history.jsonl`` and the
  Jepsen log form use COMPARE, Jepsen EDN histories DROP
  (``default_fail_cas``). INFO operations, and invocations that never
  complete, stay pending until the end of the history: their return time is
  ``+inf`` and their output is ``UNKNOWN``. A process that invokes again while
  its previous operation is still open, or completes an operation it never
  invoked, makes the history invalid: that is reported, never guessed around.
- Real time: when every paired event carries a ``time``, call and return times
  are those times; otherwise they are the events' positions in the history
  (Jepsen's text logs carry no times, but are written in real-time order).
- Parsers accept three forms: our JSON Lines (``history.jsonl``), Jepsen EDN
  histories (``{:process 0, :type :invoke, :f :write, :value 3}``) and the Jepsen
  log form (``INFO  jepsen.util - 0	:invoke	:cas	[3 0]``). Bad input raises
  ``HistoryParseError`` naming the source and line; nothing is silently skipped
  except, in the log form, lines that are not ``jepsen.util`` operation lines.
  Nesting deeper than ``MAX_NESTING`` and numbers that are not finite (or
  overflow a float) are errors too, never a crash.
- Values are made hashable as they are read (JSON arrays and EDN vectors become
  tuples), because models keep them in hashed search states.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Final, Literal, TypeAlias

import orjson

Value: TypeAlias = object
"""A key, argument or result of a history operation, whatever the client used. A
named alias, not ``object`` itself, in dataclass fields: a compiled (mypyc) dataclass
resolves its field annotations by name, and ``object`` is not in its namespace."""

__all__ = [
    "UNKNOWN",
    "CompletedOp",
    "FailCas",
    "HistoryEvent",
    "HistoryFormat",
    "HistoryParseError",
    "Indeterminate",
    "Keyword",
    "OpStatus",
    "OpType",
    "Symbol",
    "Value",
    "default_fail_cas",
    "format_jsonl",
    "load_history",
    "load_history_as",
    "pair_operations",
    "parse_edn",
    "parse_jepsen_edn",
    "parse_jepsen_log",
    "parse_jsonl",
]


class OpType(StrEnum):
    """The kind of a history event (Jepsen's ``:type``)."""

    INVOKE = "invoke"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"


class OpStatus(StrEnum):
    """How a paired operation ended: surely took effect, or indeterminate."""

    OK = "ok"
    INFO = "info"


class Indeterminate(Enum):
    """The output of an operation whose result was never observed."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Indeterminate.UNKNOWN


@dataclass(frozen=True, slots=True)
class Keyword:
    """An EDN keyword such as ``:timed-out`` (``name`` is without the colon)."""

    name: str

    def __str__(self) -> str:
        return f":{self.name}"


@dataclass(frozen=True, slots=True)
class Symbol:
    """An EDN symbol (rare in histories; kept distinct from strings)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One history event: an invocation or a completion of a client operation.

    ``index`` is the event's 0-based position in its source; ``line`` is the
    1-based line it was read from, when it was read from text.
    """

    process: int | str
    type: OpType
    f: str
    key: Value | None
    value: Value
    time: float | None
    index: int
    line: int | None = None


@dataclass(frozen=True, slots=True)
class CompletedOp:
    """An invocation paired with its completion.

    ``call`` and ``ret`` are real times (see the module rules); ``ret`` is
    ``+inf`` for INFO operations, whose ``output`` is ``UNKNOWN``.
    ``invoke_index`` and ``complete_index`` point back at the events (the latter
    is ``None`` when the invocation never completed).
    """

    process: int | str
    f: str
    key: Value | None
    input: Value
    output: Value
    call: float
    ret: float
    status: OpStatus
    invoke_index: int = -1
    complete_index: int | None = None


class HistoryParseError(ValueError):
    """Bad history input; ``str()`` is ``source:line: message``."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line
        self.message = message


class FailCas(StrEnum):
    """What a failed ``cas`` means (see the module rules)."""

    DROP = "drop"
    """Knossos: it did not happen, like any failed operation."""
    COMPARE = "compare"
    """Porcupine's etcd model: it compared at its linearization point and returned false."""


class HistoryFormat(StrEnum):
    """Formats ``load_history`` reads. ``JEPSEN`` is either Jepsen form, detected."""

    AUTO = "auto"
    JSONL = "jsonl"
    JEPSEN = "jepsen"
    EDN = "edn"
    LOG = "log"


# --------------------------------------------------------------------------- pairing


def _event_line(event: HistoryEvent) -> int:
    return event.line if event.line is not None else event.index + 1


def pair_operations(
    events: Iterable[HistoryEvent],
    *,
    source: str = "<history>",
    ignore_processes: Sequence[int | str] = ("nemesis",),
    fail_cas: FailCas = FailCas.DROP,
) -> list[CompletedOp]:
    """Pair each invocation with its completion, per process, in invocation order.

    FAIL operations are dropped, except a failed cas under ``FailCas.COMPARE``,
    which is kept as an OK cas with output ``False``; INFO operations and open invocations are kept
    with ``ret = +inf`` and ``output = UNKNOWN``. Events of ``ignore_processes``
    (Jepsen's nemesis) are skipped. Raises ``HistoryParseError`` for a process that
    invokes twice without completing, a completion without an invocation, or a
    completion whose ``f`` or ``key`` differs from its invocation's.
    """
    ignored = frozenset(ignore_processes)
    selected = [event for event in events if event.process not in ignored]
    use_time = bool(selected) and all(event.time is not None for event in selected)

    def moment(event: HistoryEvent) -> float:
        return float(event.time) if use_time and event.time is not None else float(event.index)

    open_invokes: dict[int | str, HistoryEvent] = {}
    pairs: list[tuple[HistoryEvent, HistoryEvent | None]] = []
    slot_of: dict[int | str, int] = {}
    for event in selected:
        if event.type is OpType.INVOKE:
            pending = open_invokes.get(event.process)
            if pending is not None:
                raise HistoryParseError(
                    source,
                    _event_line(event),
                    f"process {event.process!r} invokes {event.f!r} while its {pending.f!r} "
                    f"invoked at line {_event_line(pending)} has not completed",
                )
            open_invokes[event.process] = event
            slot_of[event.process] = len(pairs)
            pairs.append((event, None))
            continue
        invoke = open_invokes.pop(event.process, None)
        if invoke is None:
            raise HistoryParseError(
                source,
                _event_line(event),
                f"process {event.process!r} completes {event.f!r} ({event.type.value}) "
                "without a pending invocation",
            )
        if invoke.f != event.f or invoke.key != event.key:
            raise HistoryParseError(
                source,
                _event_line(event),
                f"completion {event.f!r} key {_brief(event.key)} does not match the invocation "
                f"{invoke.f!r} key {_brief(invoke.key)} at line {_event_line(invoke)}",
            )
        if use_time and moment(event) < moment(invoke):
            raise HistoryParseError(
                source, _event_line(event), "completion time is earlier than its invocation"
            )
        pairs[slot_of[event.process]] = (invoke, event)

    completed: list[CompletedOp] = []
    compare_failed_cas = fail_cas is FailCas.COMPARE
    for invoke, completion in pairs:
        failed_compare = False
        if completion is not None and completion.type is OpType.FAIL:
            if not (compare_failed_cas and invoke.f == "cas"):
                continue
            failed_compare = True
        if completion is not None and (failed_compare or completion.type is OpType.OK):
            completed.append(
                CompletedOp(
                    process=invoke.process,
                    f=invoke.f,
                    key=invoke.key,
                    input=invoke.value,
                    output=False if failed_compare else completion.value,
                    call=moment(invoke),
                    ret=moment(completion),
                    status=OpStatus.OK,
                    invoke_index=invoke.index,
                    complete_index=completion.index,
                )
            )
        else:
            completed.append(
                CompletedOp(
                    process=invoke.process,
                    f=invoke.f,
                    key=invoke.key,
                    input=invoke.value,
                    output=UNKNOWN,
                    call=moment(invoke),
                    ret=math.inf,
                    status=OpStatus.INFO,
                    invoke_index=invoke.index,
                    complete_index=None if completion is None else completion.index,
                )
            )
    return completed


# --------------------------------------------------------------------------- JSON Lines


def _lines(text: str) -> list[str]:
    """Lines split on newlines only (``str.splitlines`` also splits on characters such
    as U+0085 that JSON strings may hold raw); a trailing carriage return is dropped."""
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


MAX_NESTING: Final = 100
"""Deepest nesting of arrays, vectors, maps and sets a history value may have."""


class _TooDeep(Exception):
    """A value nested deeper than ``MAX_NESTING`` (turned into a parse error by callers)."""


def _hashable(value: object, depth: int = 0) -> object:
    """JSON arrays become tuples (recursively) so values can live in hashed states;
    raises ``_TooDeep`` past ``MAX_NESTING`` levels."""
    if isinstance(value, list):
        if depth >= MAX_NESTING:
            raise _TooDeep
        return tuple(_hashable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        if depth >= MAX_NESTING:
            raise _TooDeep
        for item in value.values():
            _hashable(item, depth + 1)
    return value


def _finite_time(time: object) -> float | None:
    """A history time as a finite float, or None when it is not a finite number."""
    if isinstance(time, bool) or not isinstance(time, int | float):
        return None
    try:
        moment = float(time)
    except OverflowError:
        return None
    return moment if math.isfinite(moment) else None


def _json_value(value: object) -> object:
    """The JSON form of a history value (tuples become arrays, keywords their names)."""
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    if isinstance(value, Keyword | Symbol):
        return value.name
    if value is UNKNOWN:
        return None
    return value


_OP_TYPES: Final = {member.value: member for member in OpType}
_BRIEF_CHARS: Final = 60


def _brief(value: object) -> str:
    """``repr`` of a value from the input, cut short for an error message."""
    text = repr(value)
    return text if len(text) <= _BRIEF_CHARS else text[: _BRIEF_CHARS - 3] + "..."


def parse_jsonl(text: str, source: str = "<jsonl>") -> list[HistoryEvent]:
    """Parse our ``history.jsonl``: one JSON object per line.

    Keys: ``process`` (int or string), ``type`` (``invoke|ok|fail|info``), ``f``
    (string), optional ``key``, ``value`` (defaults to null), optional ``time``
    (number, or null). Other keys are allowed and ignored. Blank lines are skipped.
    """
    events: list[HistoryEvent] = []
    for line_number, raw in enumerate(_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise HistoryParseError(source, line_number, f"invalid JSON: {error}") from None
        if not isinstance(record, dict):
            raise HistoryParseError(source, line_number, "expected a JSON object")
        for required in ("process", "type", "f"):
            if required not in record:
                raise HistoryParseError(source, line_number, f"missing key {required!r}")
        process = record["process"]
        if isinstance(process, bool) or not isinstance(process, int | str):
            raise HistoryParseError(
                source,
                line_number,
                f"'process' must be an integer or a string, got {_brief(process)}",
            )
        op_type = _OP_TYPES.get(record["type"]) if isinstance(record["type"], str) else None
        if op_type is None:
            raise HistoryParseError(
                source,
                line_number,
                f"'type' must be one of invoke, ok, fail, info; got {_brief(record['type'])}",
            )
        f = record["f"]
        if not isinstance(f, str) or not f:
            raise HistoryParseError(
                source, line_number, f"'f' must be a non-empty string, got {_brief(f)}"
            )
        time = record.get("time")
        moment = None if time is None else _finite_time(time)
        if time is not None and moment is None:
            raise HistoryParseError(
                source, line_number, f"'time' must be a finite number, got {_brief(time)}"
            )
        try:
            key = _hashable(record.get("key"))
            value = _hashable(record.get("value"))
        except _TooDeep:
            raise HistoryParseError(
                source, line_number, f"a value is nested more than {MAX_NESTING} levels deep"
            ) from None
        events.append(
            HistoryEvent(
                process=process,
                type=op_type,
                f=f,
                key=key,
                value=value,
                time=moment,
                index=len(events),
                line=line_number,
            )
        )
    return events


def format_jsonl(events: Iterable[HistoryEvent]) -> str:
    """Render events as ``history.jsonl`` text (the inverse of ``parse_jsonl``)."""
    lines: list[str] = []
    for event in events:
        record: dict[str, object] = {
            "process": event.process,
            "type": event.type.value,
            "f": event.f,
        }
        if event.key is not None:
            record["key"] = _json_value(event.key)
        record["value"] = _json_value(event.value)
        if event.time is not None:
            record["time"] = event.time
        lines.append(orjson.dumps(record).decode())
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- EDN reader
#
# EDN is the one input for which a hand-written reader is justified: no installed
# library reads it, and Jepsen emits only a small subset (maps, vectors, lists,
# sets, keywords, strings, numbers, nil/true/false, occasionally tagged literals).
# The reader is a regular-expression tokenizer plus a recursive-descent parser
# for nesting, reporting the line of the offending token.

_EDN_TOKEN: Final = re.compile(
    r"""
    (?P<skip>(?:[\s,]+|;[^\n]*)+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<open>\#\{|[\[({])
  | (?P<close>[\])}])
  | (?P<discard>\#_)
  | (?P<tag>\#[A-Za-z][^\s,()\[\]{}"\\;]*)
  | (?P<char>\\(?:newline|space|tab|return|u[0-9A-Fa-f]{4}|\S))
  | (?P<number>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[NM]?(?=[\s,()\[\]{}"]|$))
  | (?P<keyword>:[^\s,()\[\]{}"\\;]+)
  | (?P<symbol>[^\s,()\[\]{}"\\;#:\d][^\s,()\[\]{}"\\;]*)
    """,
    re.VERBOSE | re.DOTALL,
)

_STRING_ESCAPES: Final = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    '"': '"',
    "\\": "\\",
    "b": "\b",
    "f": "\f",
}
_CHAR_NAMES: Final = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r"}
_CLOSERS: Final = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_MAX_NUMBER_CHARS: Final = 400


class _EdnReader:
    """Reads EDN forms from text, tracking lines for error messages."""

    def __init__(self, text: str, source: str, first_line: int = 1) -> None:
        self.text = text
        self.source = source
        self.first_line = first_line
        self.position = 0
        self._newlines = [match.start() for match in re.finditer("\n", text)]

    def line_at(self, position: int) -> int:
        return self.first_line + bisect_right(self._newlines, position - 1)

    def error(self, position: int, message: str) -> HistoryParseError:
        return HistoryParseError(self.source, self.line_at(position), message)

    def _token(self) -> tuple[str, str, int] | None:
        """The next significant token as (kind, text, start), or None at the end."""
        text = self.text
        while self.position < len(text):
            match = _EDN_TOKEN.match(text, self.position)
            if match is None:
                raise self.error(self.position, f"unexpected character {text[self.position]!r}")
            self.position = match.end()
            kind = match.lastgroup
            assert kind is not None
            if kind != "skip":
                return kind, match.group(), match.start()
        return None

    def forms(self) -> Iterator[tuple[int, object, list[int]]]:
        """Every top-level form with the line it starts on, and for a vector or
        list the lines its items start on."""
        while True:
            token = self._token()
            if token is None:
                return
            kind, text, start = token
            if kind == "discard":
                self._form(self._require_token("a form after #_"))
                continue
            item_lines: list[int] = []
            if kind == "open" and text in ("[", "("):
                form = self._collection(text, start, item_lines)
            else:
                form = self._form(token)
            yield self.line_at(start), form, item_lines

    def _require_token(self, expected: str) -> tuple[str, str, int]:
        token = self._token()
        if token is None:
            raise self.error(len(self.text), f"unexpected end of input, expected {expected}")
        return token

    def _form(self, token: tuple[str, str, int], depth: int = 0) -> object:
        kind, text, start = token
        if kind == "open":
            return self._collection(text, start, depth=depth)
        if kind == "close":
            raise self.error(start, f"unexpected {_brief(text)}")
        if kind == "string":
            return self._string(text, start)
        if kind == "number":
            return self._number(text, start)
        if kind == "keyword":
            return Keyword(text[1:])
        if kind == "symbol":
            if text == "nil":
                return None
            if text == "true":
                return True
            if text == "false":
                return False
            return Symbol(text)
        if kind == "char":
            body = text[1:]
            if body in _CHAR_NAMES:
                return _CHAR_NAMES[body]
            if len(body) == 5 and body[0] == "u":
                return chr(int(body[1:], 16))
            return body
        if kind == "tag":
            # Tagged literals (#inst "...", #jepsen.history.Op{...}) keep their value.
            return self._form(self._require_token(f"a form after {text}"), depth)
        if kind == "discard":
            self._form(self._require_token("a form after #_"), depth)
            return self._form(self._require_token("a form"), depth)
        raise self.error(start, f"unexpected token {text!r}")  # pragma: no cover

    def _collection(
        self, opener: str, start: int, item_lines: list[int] | None = None, depth: int = 0
    ) -> object:
        if depth >= MAX_NESTING:
            raise self.error(start, f"forms nested more than {MAX_NESTING} levels deep")
        closer = _CLOSERS[opener]
        items: list[object] = []
        while True:
            token = self._token()
            if token is None:
                raise self.error(start, f"{opener!r} opened here is never closed")
            kind, text, position = token
            if kind == "close":
                if text != closer:
                    raise self.error(
                        position, f"expected {closer!r} to close {opener!r}, got {_brief(text)}"
                    )
                break
            if kind == "discard":
                self._form(self._require_token("a form after #_"), depth + 1)
                continue
            if item_lines is not None:
                item_lines.append(self.line_at(position))
            items.append(self._form(token, depth + 1))
        if opener == "{":
            if len(items) % 2:
                raise self.error(start, "map literal has an odd number of forms")
            mapping: dict[object, object] = {}
            for map_key, map_value in zip(items[0::2], items[1::2], strict=True):
                try:
                    mapping[map_key] = map_value
                except TypeError:
                    raise self.error(start, f"unhashable map key {_brief(map_key)}") from None
            return mapping
        if opener == "#{":
            try:
                return frozenset(items)
            except TypeError:
                raise self.error(start, "set literal holds an unhashable element") from None
        return tuple(items)

    def _string(self, text: str, start: int) -> str:
        body = text[1:-1]
        if "\\" not in body:
            return body
        out: list[str] = []
        i = 0
        while i < len(body):
            char = body[i]
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escape = body[i + 1]
            if escape == "u":
                digits = body[i + 2 : i + 6]
                if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise self.error(start, f"bad unicode escape in string {_brief(text)}")
                out.append(chr(int(digits, 16)))
                i += 6
                continue
            if escape not in _STRING_ESCAPES:
                raise self.error(start, f"unknown escape \\{escape} in string")
            out.append(_STRING_ESCAPES[escape])
            i += 2
        return "".join(out)

    def _number(self, text: str, start: int) -> int | float:
        body = text.rstrip("NM")
        if len(body) > _MAX_NUMBER_CHARS:
            raise self.error(start, f"number with more than {_MAX_NUMBER_CHARS} characters")
        try:
            if "." in body or "e" in body or "E" in body or text.endswith("M"):
                number = float(body)
                if not math.isfinite(number):
                    raise self.error(start, f"number out of range {_brief(text)}")
                return number
            return int(body)
        except ValueError:
            raise self.error(start, f"bad number {_brief(text)}") from None


def parse_edn(text: str, source: str = "<edn>", first_line: int = 1) -> list[object]:
    """Every top-level EDN form in ``text`` (vectors and lists become tuples)."""
    return [form for _, form, _ in _EdnReader(text, source, first_line).forms()]


def _keyword_name(value: object) -> str | None:
    if isinstance(value, Keyword):
        return value.name
    if isinstance(value, str):
        return value
    return None


def _event_from_edn_map(
    record: dict[object, object], *, index: int, source: str, line: int
) -> HistoryEvent:
    fields = {
        field_key.name: field_value
        for field_key, field_value in record.items()
        if isinstance(field_key, Keyword)
    }
    for required in ("process", "type", "f"):
        if required not in fields:
            raise HistoryParseError(source, line, f"missing :{required}")
    process = fields["process"]
    if isinstance(process, Keyword):
        process = process.name
    if isinstance(process, bool) or not isinstance(process, int | str):
        raise HistoryParseError(
            source, line, f":process must be an integer or keyword, got {_brief(process)}"
        )
    type_name = _keyword_name(fields["type"])
    if type_name not in _OP_TYPES:
        raise HistoryParseError(
            source,
            line,
            f":type must be :invoke, :ok, :fail or :info, got {_brief(fields['type'])}",
        )
    f = _keyword_name(fields["f"])
    if not f:
        raise HistoryParseError(source, line, f":f must be a keyword, got {_brief(fields['f'])}")
    time = fields.get("time")
    moment = None if time is None else _finite_time(time)
    if time is not None and moment is None:
        raise HistoryParseError(source, line, f":time must be a finite number, got {_brief(time)}")
    key = fields.get("key")
    if isinstance(key, dict):
        raise HistoryParseError(source, line, f":key must not be a map, got {_brief(key)}")
    return HistoryEvent(
        process=process,
        type=_OP_TYPES[type_name],
        f=f,
        key=key,
        value=fields.get("value"),
        time=moment,
        index=index,
        line=line,
    )


def parse_jepsen_edn(text: str, source: str = "<edn>") -> list[HistoryEvent]:
    """Parse a Jepsen EDN history: a sequence of op maps, or one vector of them.

    Maps need ``:process``, ``:type`` and ``:f``; ``:key``, ``:value`` and
    ``:time`` are optional. Keyword values stay ``Keyword`` (``:timed-out``);
    a keyword ``:process`` (``:nemesis``) becomes its name.
    """
    top_level = list(_EdnReader(text, source).forms())
    forms: list[tuple[int, object]]
    if len(top_level) == 1 and isinstance(top_level[0][1], tuple):
        # The whole history written as one vector: each map keeps its own line.
        _, vector, item_lines = top_level[0]
        assert isinstance(vector, tuple)
        forms = list(zip(item_lines, vector, strict=True))
    else:
        forms = [(line, form) for line, form, _ in top_level]
    events: list[HistoryEvent] = []
    for line, form in forms:
        if not isinstance(form, dict):
            raise HistoryParseError(source, line, f"expected an operation map, got {_brief(form)}")
        events.append(_event_from_edn_map(form, index=len(events), source=source, line=line))
    return events


# --------------------------------------------------------------------------- Jepsen log

_LOG_OP_LINE: Final = re.compile(
    r"jepsen\.util\s+-\s+(?P<process>:?[\w.-]+)\s+:(?P<type>invoke|ok|fail|info)\s+"
    r"(?P<f>:\S+)(?:\s+(?P<value>.*?))?\s*$"
)


def parse_jepsen_log(text: str, source: str = "<log>") -> list[HistoryEvent]:
    """Parse Jepsen's log form: ``INFO  jepsen.util - 0	:invoke	:cas	[3 0]``.

    Fields are separated by tabs or spaces; the value is one EDN form (``nil``,
    ``3``, ``[3 0]``, ``:timed-out``). Lines that are not ``jepsen.util`` operation
    lines are ignored; an operation line with a bad process or value is an error.
    """
    events: list[HistoryEvent] = []
    for line_number, raw in enumerate(_lines(text), start=1):
        if "jepsen.util" not in raw:
            continue
        match = _LOG_OP_LINE.search(raw)
        if match is None:
            continue
        process_text = match["process"]
        process: int | str
        if process_text.startswith(":"):
            process = process_text[1:]
        elif process_text.isascii() and process_text.isdigit() and len(process_text) <= 18:
            process = int(process_text)
        else:
            raise HistoryParseError(
                source,
                line_number,
                f"process must be an integer or keyword, got {_brief(process_text)}",
            )
        value_text = match["value"] or "nil"
        value: object
        if value_text == "nil":  # the common cases, without the EDN reader
            value = None
        elif value_text.isascii() and value_text.isdigit() and len(value_text) <= 18:
            value = int(value_text)
        else:
            values = parse_edn(value_text, source, first_line=line_number)
            if len(values) != 1:
                raise HistoryParseError(
                    source,
                    line_number,
                    f"expected one value, got {len(values)} in {_brief(value_text)}",
                )
            value = values[0]
        events.append(
            HistoryEvent(
                process=process,
                type=_OP_TYPES[match["type"]],
                f=match["f"][1:],
                key=None,
                value=value,
                time=None,
                index=len(events),
                line=line_number,
            )
        )
    return events


# --------------------------------------------------------------------------- loading

FormatName = Literal["auto", "jsonl", "jepsen", "edn", "log"]


def _sniff(text: str, *, allow_jsonl: bool) -> HistoryFormat:
    for raw in _lines(text):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if "jepsen.util" in line:
            return HistoryFormat.LOG
        if line.startswith(("{:", "[{:", "[", "#")):
            return HistoryFormat.EDN
        if allow_jsonl and line.startswith('{"'):
            return HistoryFormat.JSONL
        if line.startswith("{"):
            return HistoryFormat.EDN
        return HistoryFormat.LOG
    return HistoryFormat.JSONL if allow_jsonl else HistoryFormat.EDN


def default_fail_cas(fmt: HistoryFormat) -> FailCas:
    """The reading of a failed cas that a resolved format implies: COMPARE for our
    ``history.jsonl`` (our server fails a cas only when its compare failed) and for
    the Jepsen log form (Porcupine's etcd histories), DROP for EDN (Knossos)."""
    return FailCas.DROP if fmt is HistoryFormat.EDN else FailCas.COMPARE


def load_history_as(
    path: str | Path, fmt: FormatName | HistoryFormat = "auto"
) -> tuple[list[HistoryEvent], HistoryFormat]:
    """Read a history file, and say which format it was read as (JSONL, EDN or LOG).

    ``auto`` sniffs the format from the first content line; ``jepsen`` means either
    Jepsen form (EDN history or log), sniffed."""
    source = str(path)
    try:
        chosen = HistoryFormat(fmt)
    except ValueError:
        raise ValueError(
            f"unknown history format {fmt!r}; expected one of "
            + ", ".join(member.value for member in HistoryFormat)
        ) from None
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise HistoryParseError(
            source, line, f"not UTF-8 text (byte {error.start}: {error.reason})"
        ) from None
    if chosen is HistoryFormat.AUTO:
        chosen = _sniff(text, allow_jsonl=True)
    elif chosen is HistoryFormat.JEPSEN:
        chosen = _sniff(text, allow_jsonl=False)
    if chosen is HistoryFormat.JSONL:
        return parse_jsonl(text, source), chosen
    if chosen is HistoryFormat.EDN:
        return parse_jepsen_edn(text, source), chosen
    return parse_jepsen_log(text, source), chosen


def load_history(path: str | Path, fmt: FormatName | HistoryFormat = "auto") -> list[HistoryEvent]:
    """Read a history file (see ``load_history_as``)."""
    return load_history_as(path, fmt)[0]
