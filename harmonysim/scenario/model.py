"""The scenario schema: what a scenario file may say, as frozen pydantic models.

Rules:

- Every model forbids unknown keys and is immutable. YAML keys are the field
  aliases (`duration`, `election_timeout`, `from`); Python code reads the
  unit-suffixed field names (`duration_ms`, `election_timeout_ms`, `from_node`).
- Durations are written with a unit (`150ms`, `2s`, `1m`) and stored as float
  milliseconds; a bare number in a file is an error. Python callers building
  models directly may pass float milliseconds. Rates (`200/s`) are stored per
  second. Probabilities are numbers in [0, 1].
- Node ids are `n1`..`nN` for a cluster of N nodes. A `NodeRef` is a node id
  or `leader`, which the kernel resolves when the fault fires.
- Every fault has a time and exactly one action; every partition has exactly
  one shape. Faults must happen before the end of the run. A fault with `when`
  waits, from its time `at` until its `until` (or the end of the run), for the
  first event of that kind and fires then, once; `leader` then means the node of
  that event.
- Raft timing follows the paper's timing requirement (§5.6): heartbeats must
  come well inside the election timeout, so `heartbeat_interval` must be below
  the minimum election timeout, and the randomized range (§5.2) must not be
  empty. The core counts time in whole ticks (`duration_ticks` is the one
  conversion), so both rules hold again in ticks: the heartbeat is at least a
  tick shorter than the minimum timeout, and the range spans at least a tick.
  Lease reads rely on check-quorum (§6.4, §8).
- Validators raise `SchemaViolation` with a location relative to the value, so
  the loader can point at the exact line and column of the offending YAML node.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, Final, Literal, Self, TypeGuard

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StrictBool,
    Tag,
    ValidationInfo,
    model_validator,
)

from harmonysim.scenario._violation import (
    Position,
    SchemaViolation,
    file_mode,
    show,
)
from harmonysim.scenario.bugs import KNOWN_BUGS
from harmonysim.scenario.units import (
    DURATION_EXAMPLE,
    RATE_EXAMPLE,
    format_duration,
    format_rate,
    parse_duration,
    parse_rate,
)

# --------------------------------------------------------------------------- vocabularies

CheckName = Literal["raft_safety", "linearizability", "btree_invariants", "liveness"]
CHECK_NAMES: Final[tuple[CheckName, ...]] = (
    "raft_safety",
    "linearizability",
    "btree_invariants",
    "liveness",
)

OPERATION_KINDS: Final[tuple[str, ...]] = (
    "get",
    "put",
    "delete",
    "cas",
    "scan",
    "insert",
    "read_modify_write",
)
"""The keys of `workload.mix`: the database's operations, then YCSB's two that grow the
key space (`insert`: a put of a new key) or pair two of them (`read_modify_write`)."""

KEY_DISTRIBUTIONS: Final[tuple[str, ...]] = (
    "uniform",
    "zipf",
    "zipfian",
    "scrambled_zipfian",
    "latest",
    "sequential",
    "hotspot",
)
"""How requests pick keys (`workload.keys.distribution`); all but `zipf` as YCSB defines them."""

YCSB_PRESETS: Final[tuple[str, ...]] = ("a", "b", "c", "d", "e", "f")

LatencyDistribution = Literal["constant", "uniform", "exponential", "lognormal"]
LATENCY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "constant": ("value",),
    "uniform": ("min", "max"),
    "exponential": ("mean",),
    "lognormal": ("mean", "p99"),
}
"""The YAML keys each latency distribution takes, besides `distribution`."""

NemesisKind = Literal[
    "partition", "crash", "clog", "pause", "transfer", "clock", "disk", "membership"
]
NEMESIS_KINDS: Final[tuple[NemesisKind, ...]] = (
    "partition",
    "crash",
    "clog",
    "pause",
    "transfer",
    "clock",
    "disk",
    "membership",
)
DISK_FILES: Final = ("log", "hard_state", "hard_state.b", "snapshot")
"""The files of a server's disk a disk fault may name (``hard_state`` is copy A of the
hard state, ``hard_state.b`` copy B: cluster/server.py)."""

Z_99: Final = 2.3263478740408408
"""The 99th percentile of the standard normal distribution."""

LOGNORMAL_MAX_P99_OVER_MEAN: Final = math.exp(Z_99**2 / 2)
"""No lognormal distribution has p99 / mean at or above this (about 14.96)."""

MAX_SEED: Final = 2**64 - 1
"""The largest seed: run.json and the event log hold it as a 64-bit unsigned integer."""
SEED_EXPECTED: Final = f"an integer >= 0 and at most 2^64 - 1 ({MAX_SEED})"

MAX_NODES: Final = 15
MAX_KEYS: Final = 1_000_000
"""The largest key space: each client holds a weight per key."""
MAX_CLIENTS: Final = 10_000
MIN_RING_NODES: Final = 4
MIN_BRIDGE_NODES: Final = 3


class FaultKind(enum.StrEnum):
    """The action of a fault: the one action key it carries."""

    PARTITION = "partition"
    HEAL = "heal"
    CRASH = "crash"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    CLOG = "clog"
    UNCLOG = "unclog"
    NEMESIS = "nemesis"
    ADD = "add"
    REMOVE = "remove"
    TRANSFER = "transfer"
    CLOCK = "clock"
    DISK = "disk"


UNDOABLE_FAULT_KINDS: Final = (
    FaultKind.CRASH,
    FaultKind.PAUSE,
    FaultKind.PARTITION,
    FaultKind.CLOG,
    FaultKind.CLOCK,
    FaultKind.DISK,
)
"""The faults that take `for`: each has an undo (restart, resume, heal, unclog, reset)."""


class FaultTrigger(enum.StrEnum):
    """What a fault with `when` waits for (from its `at`): the first such event fires it."""

    LEADER_ELECTED = "leader_elected"
    """A node becomes leader (``raft.role`` leader); `leader` means that node."""
    LEADER_COMMIT = "leader_commit"
    """The leader advances its commit index (``raft.commit`` of the leading node)."""


class PartitionKind(enum.StrEnum):
    """The shape of a partition: the one shape key it carries."""

    ISOLATE = "isolate"
    GROUPS = "groups"
    ONE_WAY = "one_way"
    BRIDGE = "bridge"
    RING = "ring"


# --------------------------------------------------------------------------- scalar types

_NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NODE_ID_RE: Final = re.compile(r"n[1-9][0-9]*")
LEADER: Final = "leader"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration(value: object, info: ValidationInfo, *, allow_zero: bool) -> float:
    expected = DURATION_EXAMPLE if allow_zero else "a positive duration like 150ms, 2s, 1m"
    if isinstance(value, str):
        try:
            ms = parse_duration(value)
        except ValueError as exc:
            raise SchemaViolation(str(exc), expected=expected, found=value) from None
    elif _is_number(value) and not file_mode(info):
        ms = float(value)
        if not math.isfinite(ms) or ms < 0:
            raise SchemaViolation(
                f"expected a finite, non-negative number of milliseconds, found {show(value)}",
                expected=expected,
                found=value,
            )
    else:
        hint = " (a bare number has no unit)" if _is_number(value) else ""
        raise SchemaViolation(
            f"expected {DURATION_EXAMPLE}, found {show(value)}{hint}",
            expected=expected,
            found=value,
        )
    if ms == 0 and not allow_zero:
        raise SchemaViolation(
            f"a duration must be greater than 0, found {show(value)}",
            expected=expected,
            found=value,
        )
    return ms


def _positive_duration(value: object, info: ValidationInfo) -> float:
    return _duration(value, info, allow_zero=False)


def _non_negative_duration(value: object, info: ValidationInfo) -> float:
    return _duration(value, info, allow_zero=True)


_DURATION_TEXT = PlainSerializer(format_duration, return_type=str, when_used="json")

PositiveDuration = Annotated[float, BeforeValidator(_positive_duration), _DURATION_TEXT]
"""A duration > 0, written `150ms`, stored in milliseconds."""

NonNegativeDuration = Annotated[float, BeforeValidator(_non_negative_duration), _DURATION_TEXT]
"""A duration >= 0, written `0ms`, stored in milliseconds."""


def _rate(value: object, info: ValidationInfo) -> float:
    expected = f"a positive {RATE_EXAMPLE.removeprefix('a ')}"
    if isinstance(value, str):
        try:
            per_s = parse_rate(value)
        except ValueError as exc:
            raise SchemaViolation(str(exc), expected=expected, found=value) from None
    elif _is_number(value) and not file_mode(info):
        per_s = float(value)
        if not math.isfinite(per_s) or per_s < 0:
            raise SchemaViolation(
                f"expected a finite, positive number per second, found {show(value)}",
                expected=expected,
                found=value,
            )
    else:
        hint = " (a bare number has no unit)" if _is_number(value) else ""
        raise SchemaViolation(
            f"expected {RATE_EXAMPLE}, found {show(value)}{hint}",
            expected=expected,
            found=value,
        )
    if per_s == 0:
        raise SchemaViolation(
            f"a rate must be greater than 0, found {show(value)} (omit rate for a closed loop)",
            expected=expected,
            found=value,
        )
    return per_s


Rate = Annotated[
    float,
    BeforeValidator(_rate),
    PlainSerializer(format_rate, return_type=str, when_used="json"),
]
"""Events per second, written `200/s`, `12/m` or `5/ms`."""


def _signed_duration(value: object, info: ValidationInfo) -> float:
    """A non-zero duration with a sign: `+2s` forward, `-500ms` back."""
    if isinstance(value, str) and value[:1] in ("+", "-"):
        sign = -1.0 if value[0] == "-" else 1.0
        return sign * _duration(value[1:], info, allow_zero=False)
    if _is_number(value) and not file_mode(info) and value < 0:
        return -_duration(-value, info, allow_zero=False)
    return _duration(value, info, allow_zero=False)


def _format_signed(value: float) -> str:
    return ("-" if value < 0 else "+") + format_duration(abs(value))


SignedDuration = Annotated[
    float,
    BeforeValidator(_signed_duration),
    PlainSerializer(_format_signed, return_type=str, when_used="json"),
]
"""A non-zero duration, `+2s` or `-500ms` (a bare `2s` is forward), in milliseconds."""


def _probability(value: object) -> float:
    expected = "a probability between 0 and 1"
    if not _is_number(value):
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    if not 0 <= value <= 1:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return float(value)


Probability = Annotated[float, BeforeValidator(_probability)]


def _positive_number(value: object) -> float:
    expected = "a number greater than 0"
    if not _is_number(value):
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    if not (math.isfinite(value) and value > 0):
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return float(value)


PositiveNumber = Annotated[float, BeforeValidator(_positive_number)]


def _integer_in(
    minimum: int, maximum: int | None = None, expected: str | None = None
) -> Callable[[object], int]:
    if expected is None:
        bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        expected = f"an integer {bound}"

    def validate(value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SchemaViolation(
                f"expected {expected}, found {show(value)}", expected=expected, found=value
            )
        if value < minimum or (maximum is not None and value > maximum):
            raise SchemaViolation(
                f"expected {expected}, found {show(value)}", expected=expected, found=value
            )
        return value

    return validate


def _name(value: object) -> str:
    expected = "a name of lowercase letters, digits, '-' and '_', starting with a letter or digit"
    if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return value


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise SchemaViolation(f"expected text, found {show(value)}", expected="text", found=value)
    return value


def _node_id(value: object) -> str:
    expected = "a node id like n1"
    if not isinstance(value, str) or _NODE_ID_RE.fullmatch(value) is None:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return value


def _node_ref(value: object) -> str:
    expected = "a node id like n1, or 'leader'"
    if value == LEADER:
        return LEADER
    if not isinstance(value, str) or _NODE_ID_RE.fullmatch(value) is None:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return value


NodeId = Annotated[str, BeforeValidator(_node_id)]
"""A node id `n1`..`nN` (checked against the cluster size by `Scenario`)."""

NodeRef = Annotated[str, BeforeValidator(_node_ref)]
"""A node id or `leader` (the leader at the time the fault fires)."""

CRASHED: Final = "crashed"
PAUSED: Final = "paused"
ALL: Final = "all"


def _node_ref_or(*words: str) -> Callable[[object], str]:
    expected = f"a node id like n1, 'leader', or {' or '.join(repr(word) for word in words)}"

    def validate(value: object) -> str:
        if isinstance(value, str) and value in words:
            return value
        if value == LEADER or (isinstance(value, str) and _NODE_ID_RE.fullmatch(value)):
            return value
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )

    return validate


RestartTarget = Annotated[str, BeforeValidator(_node_ref_or(CRASHED, ALL))]
"""A node id, `leader`, or `crashed` / `all`: every node that is down."""

ResumeTarget = Annotated[str, BeforeValidator(_node_ref_or(PAUSED, ALL))]
"""A node id, `leader`, or `paused` / `all`: every node that is paused."""


def _new_member(value: object) -> str:
    if value == LEADER:
        expected = "a node id like n4 (the leader is already a member)"
        raise SchemaViolation(
            f"expected {expected}, found 'leader': only a node outside the configuration "
            "can be added",
            expected=expected,
            found=value,
        )
    return _node_id(value)


NewMember = Annotated[str, BeforeValidator(_new_member)]
"""The node an `add` fault brings into the configuration (never `leader`)."""


def _the_word_all(what: str) -> Callable[[object], str]:
    expected = f"'all'{what}"

    def validate(value: object) -> str:
        if value != "all":
            raise SchemaViolation(
                f"expected {expected}, found {show(value)}", expected=expected, found=value
            )
        return "all"

    return validate


def _unique_names(
    allowed: Sequence[str], what: str, plural: str
) -> Callable[[object], tuple[str, ...]]:
    """A validator for a list of distinct names drawn from `allowed`."""
    expected = f"a list of {plural} from: {', '.join(allowed)}"

    def validate(value: object) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise SchemaViolation(
                f"expected {expected}, found {show(value)}", expected=expected, found=value
            )
        seen: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in allowed:
                raise SchemaViolation(
                    f"unknown {what} {show(item)}{_did_you_mean(item, allowed)}; "
                    f"known {plural}: {', '.join(allowed)}",
                    expected=f"one of {', '.join(allowed)}",
                    found=item,
                    loc=(index,),
                )
            if item in seen:
                raise SchemaViolation(
                    f"{what} {item!r} is listed twice",
                    expected=f"distinct {plural}",
                    found=item,
                    loc=(index,),
                )
            seen.append(item)
        return tuple(seen)

    return validate


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _list_of(value: object, expected: str) -> list[object]:
    if not isinstance(value, list | tuple):
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return list(value)


# --------------------------------------------------------------------------- base model


class SchemaModel(BaseModel):
    """Base of every scenario model: frozen, no unknown keys, precise errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @classmethod
    def yaml_keys(cls) -> tuple[str, ...]:
        """The keys a file may use for this model, in declaration order."""
        return tuple(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def _python_name(cls, key: str) -> str | None:
        for name, field in cls.model_fields.items():
            if key in (name, field.alias):
                return name
        return None

    @classmethod
    def _given(cls, data: Mapping[Any, Any], name: str) -> object:
        """The raw value given for field `name` (by alias or name), None if absent."""
        alias = cls.model_fields[name].alias or name
        if alias in data:
            return data[alias]
        return data.get(name)

    @model_validator(mode="before")
    @classmethod
    def _check_mapping(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, cls):
            return data
        keys = cls.yaml_keys()
        if not isinstance(data, Mapping):
            expected = f"a mapping with keys {', '.join(keys)}"
            raise SchemaViolation(
                f"expected {expected}, found {show(data)}", expected=expected, found=data
            )
        strict = file_mode(info)
        for key in data:
            if key in keys or (not strict and key in cls.model_fields):
                continue
            raise SchemaViolation(
                f"unknown key {show(key)}{_did_you_mean(key, keys)}; allowed: {', '.join(keys)}",
                expected=f"one of {', '.join(keys)}",
                found=key,
                loc=(key,),
                position=Position.KEY,
            )
        cls._check_shape(data)
        return data

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        """Checks on the raw mapping before field validation (override)."""


def _exactly_one(
    model: type[SchemaModel],
    data: Mapping[Any, Any],
    names: Sequence[str],
    owner: str,
    noun: str,
) -> None:
    """Demand exactly one of the keys `names` (YAML spelling) be given."""
    given = [name for name in names if model._given(data, name) is not None]
    if len(given) == 1:
        return
    expected = f"exactly one {noun}: {', '.join(names)}"
    if not given:
        raise SchemaViolation(
            f"{owner} needs exactly one {noun} ({', '.join(names)}), found none",
            expected=expected,
            position=Position.PARENT,
        )
    raise SchemaViolation(
        f"{owner} takes exactly one {noun}, found {len(given)}: {', '.join(given)}; "
        "write each as a fault of its own",
        expected=expected,
        found=given[1],
        loc=(given[1],),
        position=Position.KEY,
    )


# --------------------------------------------------------------------------- cluster


def _pair(value: object) -> object:
    expected = "[min, max], two durations like [150ms, 300ms]"
    items = _list_of(value, expected)
    if len(items) != 2:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return items


ElectionTimeoutRange = Annotated[tuple[PositiveDuration, PositiveDuration], BeforeValidator(_pair)]


def duration_ticks(duration_ms: float, tick_ms: float, *, minimum: int = 1) -> int:
    """A duration as the Raft core counts it: whole ticks, rounded, at least `minimum`.

    The one conversion from milliseconds to ticks: `RaftSettings` validates what it
    gives and the server builds its `RaftConfig` from it, so a scenario the schema
    accepts is one the core accepts.
    """
    return max(minimum, round(duration_ms / tick_ms))


class RaftSettings(SchemaModel):
    """Raft timing and options (§5.2 elections, §5.6 timing, §6.4/§8 reads, §7 snapshots)."""

    election_timeout_ms: ElectionTimeoutRange = Field((150.0, 300.0), alias="election_timeout")
    heartbeat_interval_ms: PositiveDuration = Field(50.0, alias="heartbeat_interval")
    tick_ms: PositiveDuration = Field(10.0, alias="tick")
    prevote: StrictBool = True
    check_quorum: StrictBool = True
    lease_reads: StrictBool = False
    # §8: a new leader appends an empty entry of its term so earlier terms' entries can
    # commit at once. Off, prior-term entries wait for the next client write (and the
    # Figure 8 hazard of counting them is back in play: the bug library uses this).
    leader_noop: StrictBool = True
    # Thesis §4.2.1: a server being added is first caught up outside the configuration,
    # so it never counts toward majorities while empty. Off, it votes at once (§4.1 alone).
    catch_up: StrictBool = True
    snapshot_threshold: Annotated[int, BeforeValidator(_integer_in(1))] = 1000
    # §6.4 leases assume clocks advance at the same rate; as etcd and TiKV do, a lease is
    # shortened by the drift its operator allows: a fraction, 0.05 = clocks within 5%.
    max_clock_drift: Probability = 0.0

    @property
    def heartbeat_interval_ticks(self) -> int:
        """The heartbeat interval in the core's ticks (see `duration_ticks`)."""
        return duration_ticks(self.heartbeat_interval_ms, self.tick_ms)

    @property
    def election_timeout_ticks(self) -> tuple[int, int]:
        """The election timeout range in the core's ticks (see `duration_ticks`)."""
        low_ms, high_ms = self.election_timeout_ms
        return (
            duration_ticks(low_ms, self.tick_ms),
            duration_ticks(high_ms, self.tick_ms, minimum=2),
        )

    @model_validator(mode="after")
    def _check_timing(self) -> Self:
        low_ms, high_ms = self.election_timeout_ms
        if low_ms >= high_ms:
            raise SchemaViolation(
                f"inverted range [{format_duration(low_ms)}, {format_duration(high_ms)}]: "
                "the minimum election timeout must be below the maximum (§5.2)",
                expected="[min, max] with min < max",
                found=[format_duration(low_ms), format_duration(high_ms)],
                loc=("election_timeout",),
            )
        if self.heartbeat_interval_ms >= low_ms:
            raise SchemaViolation(
                f"heartbeat interval {format_duration(self.heartbeat_interval_ms)} must be below "
                f"the minimum election timeout {format_duration(low_ms)} (§5.6)",
                expected=f"a duration below {format_duration(low_ms)}",
                found=format_duration(self.heartbeat_interval_ms),
                loc=("heartbeat_interval",),
            )
        if self.tick_ms > self.heartbeat_interval_ms:
            raise SchemaViolation(
                f"tick {format_duration(self.tick_ms)} must not exceed the heartbeat interval "
                f"{format_duration(self.heartbeat_interval_ms)}",
                expected=f"a duration of at most {format_duration(self.heartbeat_interval_ms)}",
                found=format_duration(self.tick_ms),
                loc=("tick",),
            )
        self._check_ticks()
        if self.lease_reads and not self.check_quorum:
            raise SchemaViolation(
                "lease_reads needs check_quorum: true (a leader may only trust its lease "
                "while it hears from a quorum, §6.4)",
                expected="lease_reads: false, or check_quorum: true",
                found=True,
                loc=("lease_reads",),
            )
        return self

    def _check_ticks(self) -> None:
        """The same rules again in ticks, which is what the core sees (durations round)."""
        tick = format_duration(self.tick_ms)
        low_ms, high_ms = self.election_timeout_ms
        low_ticks, high_ticks = self.election_timeout_ticks
        heartbeat_ticks = self.heartbeat_interval_ticks
        if heartbeat_ticks >= low_ticks:
            raise SchemaViolation(
                f"heartbeat interval {format_duration(self.heartbeat_interval_ms)} is "
                f"{heartbeat_ticks} tick(s) of {tick}, not below the minimum election timeout "
                f"{format_duration(low_ms)} ({low_ticks} tick(s)); Raft counts time in ticks, "
                "so the heartbeat must be at least one tick shorter (§5.6)",
                expected=f"a duration that rounds to at most {low_ticks - 1} tick(s) of {tick}",
                found=format_duration(self.heartbeat_interval_ms),
                loc=("heartbeat_interval",),
            )
        if high_ticks <= low_ticks:
            raise SchemaViolation(
                f"election timeout range [{format_duration(low_ms)}, {format_duration(high_ms)}] "
                f"is narrower than a tick ({tick}): both ends round to {low_ticks} tick(s), so "
                "every node would time out together and split votes could repeat forever (§5.2)",
                expected=f"[min, max] at least one tick ({tick}) apart",
                found=[format_duration(low_ms), format_duration(high_ms)],
                loc=("election_timeout",),
            )


class BTreeSettings(SchemaModel):
    """B+ tree shape: `order` is the maximum number of children of an inner node."""

    order: Annotated[int, BeforeValidator(_integer_in(3, 1024))] = 32


class DiskFaultSettings(SchemaModel):
    """Storage faults drawn from the seed on every disk (TigerBeetle's storage faults):
    each a probability, 0 (the default) for none."""

    corrupt: Probability = 0.0
    """Per record made durable: it reads back damaged at the next restart."""
    torn: Probability = 0.0
    """Per crash with writes pending: they land fully, partially or not at all."""
    misdirect: Probability = 0.0
    """Per append made durable: one record lands at a wrong position."""
    read_error: Probability = 0.0
    """Per record read at a restart: the read fails (EIO)."""
    slow: Probability = 0.0
    """Per fsync: it takes `slow_fsync` longer."""
    slow_fsync_ms: PositiveDuration = Field(50.0, alias="slow_fsync")
    write_error: Probability = 0.0
    """Per fsync: it fails (EIO); the server restarts and recovers from its disk."""


class DiskSettings(SchemaModel):
    """Simulated disk: every write takes write_latency, every fsync fsync_latency."""

    fsync_latency_ms: PositiveDuration = Field(1.0, alias="fsync_latency")
    write_latency_ms: PositiveDuration = Field(0.05, alias="write_latency")
    faults: DiskFaultSettings = Field(default_factory=DiskFaultSettings)


class ClockSettings(SchemaModel):
    """Each node's clock: with `drift_ppm`, a node's timers run at a rate drawn from the
    seed in 1 ± drift_ppm / 10^6 (TigerBeetle's per-replica drift)."""

    drift_ppm: Annotated[int, BeforeValidator(_integer_in(0, 500_000))] = 0


def _membership_wait(value: object) -> str:
    choices = ("committed", "accepted")
    if not isinstance(value, str) or value not in choices:
        raise SchemaViolation(
            f"expected one of {', '.join(choices)}, found {show(value)}",
            expected=f"one of {', '.join(choices)}",
            found=value,
        )
    return value


class MembershipSettings(SchemaModel):
    """The operator behind the `add` / `remove` faults: `wait: committed` (the default)
    serves the next request once the previous change committed; `wait: accepted` moves on
    as soon as a leader accepted the proposal, as a script driving a fire-and-forget admin
    command does (Jepsen's membership nemesis), so only the core's one-change-at-a-time
    rule (thesis §4.1) keeps the changes apart."""

    wait: Annotated[Literal["committed", "accepted"], BeforeValidator(_membership_wait)] = (
        "committed"
    )


class ClusterSettings(SchemaModel):
    """The database servers: `nodes` servers with ids n1..nN.

    `members` (default: all of them) is the size of the initial Raft configuration:
    n1..nM are voters from the start, the others run as spares outside the
    configuration until an `add` fault brings them in (thesis §4.1).
    """

    nodes: Annotated[int, BeforeValidator(_integer_in(1, MAX_NODES))] = 5
    members: Annotated[int, BeforeValidator(_integer_in(1, MAX_NODES))] | None = None
    raft: RaftSettings = Field(default_factory=RaftSettings)
    btree: BTreeSettings = Field(default_factory=BTreeSettings)
    disk: DiskSettings = Field(default_factory=DiskSettings)
    clocks: ClockSettings = Field(default_factory=ClockSettings)
    membership: MembershipSettings | None = None

    @model_validator(mode="after")
    def _check_members(self) -> Self:
        if self.members is not None and self.members > self.nodes:
            raise SchemaViolation(
                f"{self.members} initial members but only {self.nodes} nodes: members are "
                "the first nodes of the cluster",
                expected=f"at most {self.nodes}",
                found=self.members,
                loc=("members",),
            )
        return self

    @property
    def member_count(self) -> int:
        """How many nodes (n1..nM) form the initial configuration."""
        return self.nodes if self.members is None else self.members


# --------------------------------------------------------------------------- network


def _distribution(value: object) -> str:
    names = tuple(LATENCY_FIELDS)
    if not isinstance(value, str) or value not in LATENCY_FIELDS:
        raise SchemaViolation(
            f"unknown distribution {show(value)}{_did_you_mean(value, names)}; "
            f"known: {', '.join(names)}",
            expected=f"one of {', '.join(names)}",
            found=value,
        )
    return value


class Latency(SchemaModel):
    """A message or operation latency distribution.

    `constant` takes `value`; `uniform` takes `min` < `max`; `exponential`
    takes `mean`; `lognormal` takes `mean` and `p99`, from which the
    distribution's parameters follow (see `lognormal_mu_sigma`).
    """

    distribution: Annotated[LatencyDistribution, BeforeValidator(_distribution)]
    value_ms: PositiveDuration | None = Field(None, alias="value")
    min_ms: PositiveDuration | None = Field(None, alias="min")
    max_ms: PositiveDuration | None = Field(None, alias="max")
    mean_ms: PositiveDuration | None = Field(None, alias="mean")
    p99_ms: PositiveDuration | None = Field(None, alias="p99")

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        distribution = cls._given(data, "distribution")
        if distribution is None:
            raise SchemaViolation(
                f"missing required key 'distribution' (one of {', '.join(LATENCY_FIELDS)})",
                expected=f"one of {', '.join(LATENCY_FIELDS)}",
                loc=("distribution",),
                position=Position.PARENT,
            )
        takes = LATENCY_FIELDS.get(distribution) if isinstance(distribution, str) else None
        if takes is None:
            return  # the field validator names the unknown distribution
        for key in ("value", "min", "max", "mean", "p99"):
            name = cls._python_name(key)
            assert name is not None
            present = cls._given(data, name) is not None
            if present and key not in takes:
                raise SchemaViolation(
                    f"{key!r} does not apply to a {distribution} latency, "
                    f"which takes: {', '.join(takes)}",
                    expected=f"only {', '.join(takes)} besides distribution",
                    found=key,
                    loc=(key,),
                    position=Position.KEY,
                )
            if not present and key in takes:
                raise SchemaViolation(
                    f"a {distribution} latency needs {key!r} (it takes: {', '.join(takes)})",
                    expected=f"a duration for {key}",
                    loc=(key,),
                    position=Position.PARENT,
                )

    @model_validator(mode="after")
    def _check_parameters(self) -> Self:
        if self.distribution == "uniform":
            assert self.min_ms is not None and self.max_ms is not None
            if self.min_ms >= self.max_ms:
                raise SchemaViolation(
                    f"inverted range: min {format_duration(self.min_ms)} must be below "
                    f"max {format_duration(self.max_ms)}",
                    expected="min < max",
                    found=format_duration(self.min_ms),
                    loc=("min",),
                )
        elif self.distribution == "lognormal":
            assert self.mean_ms is not None and self.p99_ms is not None
            if self.p99_ms <= self.mean_ms:
                raise SchemaViolation(
                    f"p99 {format_duration(self.p99_ms)} must be above the mean "
                    f"{format_duration(self.mean_ms)} for a lognormal latency",
                    expected=f"a duration above {format_duration(self.mean_ms)}",
                    found=format_duration(self.p99_ms),
                    loc=("p99",),
                )
            ratio = self.p99_ms / self.mean_ms
            if ratio >= LOGNORMAL_MAX_P99_OVER_MEAN:
                limit_ms = self.mean_ms * LOGNORMAL_MAX_P99_OVER_MEAN
                raise SchemaViolation(
                    f"no lognormal distribution has mean {format_duration(self.mean_ms)} "
                    f"and p99 {format_duration(self.p99_ms)}: p99 / mean must be below "
                    f"{LOGNORMAL_MAX_P99_OVER_MEAN:.2f}, found {ratio:.2f}",
                    expected=f"a p99 below {limit_ms:.6g}ms",
                    found=format_duration(self.p99_ms),
                    loc=("p99",),
                )
        return self

    def lognormal_mu_sigma(self) -> tuple[float, float]:
        """(mu, sigma) of ln(latency in ms) for a lognormal with this mean and p99.

        mean = exp(mu + sigma²/2) and p99 = exp(mu + z·sigma) with z the
        standard normal 99th percentile, so ln(p99/mean) = z·sigma - sigma²/2;
        sigma is the smaller root, which keeps the tail as light as possible.
        """
        if self.distribution != "lognormal":
            raise ValueError(f"a {self.distribution} latency has no lognormal parameters")
        assert self.mean_ms is not None and self.p99_ms is not None
        log_ratio = math.log(self.p99_ms / self.mean_ms)
        sigma = Z_99 - math.sqrt(Z_99**2 - 2 * log_ratio)
        mu = math.log(self.mean_ms) - sigma**2 / 2
        return mu, sigma


def _default_latency() -> Latency:
    return Latency(distribution="lognormal", mean_ms=5.0, p99_ms=30.0)


class LinkOverride(SchemaModel):
    """Settings for the directed link from -> to (and to -> from if both_ways)."""

    from_node: NodeId = Field(alias="from")
    to_node: NodeId = Field(alias="to")
    both_ways: StrictBool = False
    latency: Latency | None = None
    loss: Probability | None = None
    duplicate: Probability | None = None
    jitter_ms: NonNegativeDuration | None = Field(None, alias="jitter")

    @model_validator(mode="after")
    def _check_link(self) -> Self:
        if self.from_node == self.to_node:
            raise SchemaViolation(
                f"a link joins two different nodes, found {self.from_node} -> {self.to_node}",
                expected=f"a node other than {self.from_node}",
                found=self.to_node,
                loc=("to",),
            )
        if (self.latency, self.loss, self.duplicate, self.jitter_ms) == (None,) * 4:
            raise SchemaViolation(
                "a link override sets nothing; give at least one of latency, loss, "
                "duplicate, jitter",
                expected="at least one of latency, loss, duplicate, jitter",
                position=Position.PARENT,
            )
        return self

    def directed_links(self) -> tuple[tuple[str, str], ...]:
        """The (from, to) pairs this override applies to."""
        forward = (self.from_node, self.to_node)
        return (forward, (self.to_node, self.from_node)) if self.both_ways else (forward,)


class NetworkSettings(SchemaModel):
    """The simulated network: per-message latency, loss, duplication and jitter.

    Each message gets the latency draw plus a uniform [0, jitter] extra delay,
    so jitter reorders messages. `links` override these per directed link.
    """

    latency: Latency = Field(default_factory=_default_latency)
    loss: Probability = 0.0
    duplicate: Probability = 0.0
    jitter_ms: NonNegativeDuration = Field(0.0, alias="jitter")
    links: tuple[LinkOverride, ...] = ()

    @model_validator(mode="after")
    def _check_links(self) -> Self:
        first_index: dict[tuple[str, str], int] = {}
        for index, link in enumerate(self.links):
            for pair in link.directed_links():
                if pair in first_index:
                    raise SchemaViolation(
                        f"the link {pair[0]} -> {pair[1]} is already overridden by "
                        f"links[{first_index[pair]}]",
                        expected="at most one override per directed link",
                        found=f"{pair[0]} -> {pair[1]}",
                        loc=("links", index),
                    )
                first_index[pair] = index
        return self


# --------------------------------------------------------------------------- workload


def _mix(value: object) -> dict[str, float]:
    expected = f"a mapping from operations ({', '.join(OPERATION_KINDS)}) to weights >= 0"
    if not isinstance(value, Mapping):
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    mix: dict[str, float] = {}
    for operation, weight in value.items():
        if not isinstance(operation, str) or operation not in OPERATION_KINDS:
            raise SchemaViolation(
                f"unknown operation {show(operation)}{_did_you_mean(operation, OPERATION_KINDS)}"
                f"; known operations: {', '.join(OPERATION_KINDS)}",
                expected=f"one of {', '.join(OPERATION_KINDS)}",
                found=operation,
                loc=(operation,),
                position=Position.KEY,
            )
        if not _is_number(weight) or not (math.isfinite(weight) and weight >= 0):
            raise SchemaViolation(
                f"expected a weight >= 0, found {show(weight)}",
                expected="a number >= 0",
                found=weight,
                loc=(operation,),
            )
        mix[operation] = float(weight)
    if sum(mix.values()) <= 0:
        raise SchemaViolation(
            "the operation weights add up to 0; give at least one operation a weight above 0",
            expected="weights with a positive sum",
            found=dict(value),
        )
    return mix


def key_name(rank: int, digits: int = 4) -> str:
    """The key of number `rank`: `k` and the number, zero-padded to `digits`."""
    return f"k{rank:0{digits}d}"


def _key_distribution(value: object) -> str:
    if not isinstance(value, str) or value not in KEY_DISTRIBUTIONS:
        raise SchemaViolation(
            f"expected one of {', '.join(KEY_DISTRIBUTIONS)}, found {show(value)}"
            f"{_did_you_mean(value, KEY_DISTRIBUTIONS)}",
            expected=f"one of {', '.join(KEY_DISTRIBUTIONS)}",
            found=value,
        )
    return value


def _open_fraction(value: object) -> float:
    expected = "a number between 0 and 1, both excluded"
    if not _is_number(value) or not 0 < value < 1:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return float(value)


OpenFraction = Annotated[float, BeforeValidator(_open_fraction)]


def _default_mix() -> dict[str, float]:
    return {"get": 0.5, "put": 0.4, "cas": 0.1}


class Keys(SchemaModel):
    """The key space and how requests pick from it: `count` keys k0000 up, and keys that
    `insert` adds after them.

    `uniform` and `zipf` (probability proportional to 1 / rank^`exponent`) pick among the
    `count` keys, as ever. The others are YCSB's request distributions (CoreWorkload):
    `zipfian` (rank 0 hottest, Gray et al.'s generator with `constant`, over every key so
    far), `scrambled_zipfian` (YCSB's own for requestdistribution=zipfian: a zipfian
    rank over 10^10 items with constant 0.99, FNV-hashed onto the keys, so hot keys are
    spread out; keys not inserted yet are drawn again), `latest` (the most recently
    inserted keys hottest), `sequential` (k0, k1, ... in turn, wrapping), and `hotspot`
    (a `hot_set` fraction of the keys gets a `hot_operations` fraction of the requests).
    """

    count: Annotated[int, BeforeValidator(_integer_in(1, MAX_KEYS))] = 100
    distribution: Annotated[str, BeforeValidator(_key_distribution)] = "uniform"
    zipf_exponent: PositiveNumber = Field(1.0, alias="exponent")
    zipfian_constant: OpenFraction | None = Field(None, alias="constant")
    hot_set: OpenFraction | None = None
    hot_operations: Probability | None = None

    ZIPFIAN_CONSTANT: ClassVar[float] = 0.99  # YCSB's ZipfianGenerator.ZIPFIAN_CONSTANT
    HOT_SET: ClassVar[float] = 0.2  # YCSB's hotspotdatafraction default
    HOT_OPERATIONS: ClassVar[float] = 0.8  # YCSB's hotspotopnfraction default

    @model_validator(mode="after")
    def _check_options(self) -> Self:
        for name, field, applies in (
            ("constant", self.zipfian_constant, ("zipfian", "latest")),
            ("hot_set", self.hot_set, ("hotspot",)),
            ("hot_operations", self.hot_operations, ("hotspot",)),
        ):
            if field is not None and self.distribution not in applies:
                raise SchemaViolation(
                    f"{name} applies to the {' and '.join(applies)} distribution(s) only, "
                    f"not {self.distribution}",
                    expected=f"no {name}, or distribution: {' or '.join(applies)}",
                    found=field,
                    loc=(name,),
                )
        return self


class Load(SchemaModel):
    """The load phase: `records` keys (k0 .. k{records-1}) written before the measured
    phase, `batch` records to a command, through Raft like any write (clients start when
    the last batch is acknowledged). The history leaves it out; the checks see it: the
    linearizability checker starts every loaded key at its loaded value."""

    records: Annotated[int, BeforeValidator(_integer_in(1, MAX_KEYS))]
    batch: Annotated[int, BeforeValidator(_integer_in(1, 100_000))] = 1000


class ScanLength(SchemaModel):
    """How many keys a scan covers: from `min` to `max`, drawn `uniform` or `zipfian`
    (short scans hottest), as YCSB's minscanlength, maxscanlength, scanlengthdistribution."""

    min: Annotated[int, BeforeValidator(_integer_in(1, MAX_KEYS))] = 1
    max: Annotated[int, BeforeValidator(_integer_in(1, MAX_KEYS))] = 100
    distribution: Literal["uniform", "zipfian"] = "uniform"

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.min > self.max:
            raise SchemaViolation(
                f"min {self.min} is above max {self.max}",
                expected=f"min of at most {self.max}",
                found=self.min,
                loc=("min",),
            )
        return self


def _ycsb_preset(mix: dict[str, float], distribution: str, **extra: Any) -> dict[str, Any]:
    return {"mix": mix, "keys": {"distribution": distribution}, "load": {"records": 1000}, **extra}


# YCSB's core workloads (workloads/workloada..f in brianfrankcooper/YCSB): read -> get,
# update -> put, insert -> insert, scan -> scan, readmodifywrite -> read_modify_write.
# Their requestdistribution=zipfian is scrambled: CoreWorkload builds a
# ScrambledZipfianGenerator for it, so the presets say scrambled_zipfian.
YCSB_PRESET_FIELDS: Final[dict[str, dict[str, Any]]] = {
    "a": _ycsb_preset({"get": 0.5, "put": 0.5}, "scrambled_zipfian"),
    "b": _ycsb_preset({"get": 0.95, "put": 0.05}, "scrambled_zipfian"),
    "c": _ycsb_preset({"get": 1.0}, "scrambled_zipfian"),
    "d": _ycsb_preset({"get": 0.95, "insert": 0.05}, "latest"),
    "e": _ycsb_preset(
        {"scan": 0.95, "insert": 0.05},
        "scrambled_zipfian",
        scan_length={"min": 1, "max": 100, "distribution": "uniform"},
    ),
    "f": _ycsb_preset({"get": 0.5, "read_modify_write": 0.5}, "scrambled_zipfian"),
}
"""What each `workload.preset` fills in; any key the file gives wins (mappings merge)."""


class Workload(SchemaModel):
    """The clients and what they do.

    With `rate` unset each client runs a closed loop (next operation when the
    previous one finishes); with `rate` set the clients together issue that
    many operations per second (open loop). `mix` keeps the file's order.
    A `preset` (YCSB core workload a..f) fills `mix`, `keys`, `load` and
    `scan_length` with YCSB's published values; whatever the file gives wins.
    """

    preset: Literal["a", "b", "c", "d", "e", "f"] | None = None
    clients: Annotated[int, BeforeValidator(_integer_in(0, MAX_CLIENTS))] = 5
    rate_per_s: Rate | None = Field(None, alias="rate")
    mix: Annotated[dict[str, float], BeforeValidator(_mix)] = Field(default_factory=_default_mix)
    keys: Keys = Field(default_factory=Keys)
    load: Load | None = None
    scan_length: ScanLength | None = None
    timeout_ms: PositiveDuration = Field(500.0, alias="timeout")
    operations: Annotated[int, BeforeValidator(_integer_in(1))] | None = None

    def __hash__(self) -> int:
        # `mix` is a dict (to keep the file's order), so hash its items instead;
        # this keeps every scenario hashable, like any other frozen value.
        return hash(
            (
                self.preset,
                self.clients,
                self.rate_per_s,
                tuple(self.mix.items()),
                self.keys,
                self.load,
                self.scan_length,
                self.timeout_ms,
                self.operations,
            )
        )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        """Fill in the preset's fields under the file's, and `keys.count` from the load."""
        if not isinstance(data, Mapping):
            return data
        preset = data.get("preset")
        if preset is not None and preset not in YCSB_PRESET_FIELDS:
            raise SchemaViolation(
                f"unknown preset {show(preset)}; YCSB's core workloads are "
                f"{', '.join(YCSB_PRESETS)}",
                expected=f"one of {', '.join(YCSB_PRESETS)}",
                found=preset,
                loc=("preset",),
            )
        merged = dict(data)
        if preset is not None:
            for key, value in YCSB_PRESET_FIELDS[preset].items():
                given = merged.get(key)
                if given is None:
                    merged[key] = value
                elif isinstance(value, Mapping) and isinstance(given, Mapping) and key != "mix":
                    merged[key] = {**value, **given}
        load, keys = merged.get("load"), merged.get("keys")
        records = load.get("records") if isinstance(load, Mapping) else None
        if isinstance(records, int) and not isinstance(records, bool) and records >= 1:
            if keys is None:
                merged["keys"] = {"count": records}
            elif isinstance(keys, Mapping) and "count" not in keys:
                merged["keys"] = {**keys, "count": records}
        return merged

    @model_validator(mode="after")
    def _check_clients(self) -> Self:
        if self.clients == 0 and self.rate_per_s is not None:
            raise SchemaViolation(
                "a rate needs at least one client; set clients above 0 or omit rate",
                expected="no rate when clients is 0",
                found=format_rate(self.rate_per_s),
                loc=("rate",),
            )
        if self.load is not None and self.keys.count < self.load.records:
            raise SchemaViolation(
                f"the load writes {self.load.records} records (k0 up) but the key space has "
                f"only {self.keys.count} keys; omit keys.count (it follows the load) or raise it",
                expected=f"a count of at least {self.load.records}",
                found=self.keys.count,
                loc=("keys", "count"),
            )
        return self

    @property
    def grows(self) -> bool:
        """True when the key space may grow past `keys.count` (the mix inserts)."""
        return self.mix.get("insert", 0.0) > 0

    @property
    def key_digits(self) -> int:
        """The width of key numbers: every key of the run has the same, so key order is
        number order (scans): 4 as ever for up to 10^4 keys, 8 when the key space grows."""
        digits = max(4, len(str(self.keys.count - 1)))
        return max(digits, 8) if self.grows else digits

    def loaded_values(self) -> dict[str, int]:
        """The value of every key the load phase writes (empty without a load)."""
        if self.load is None:
            return {}
        digits = self.key_digits
        return {key_name(rank, digits): rank for rank in range(self.load.records)}


# --------------------------------------------------------------------------- faults


def _node_list(value: object) -> object:
    expected = "a non-empty list of node ids like [n1, n2]"
    items = _list_of(value, expected)
    if not items:
        raise SchemaViolation(f"expected {expected}, found []", expected=expected, found=value)
    return items


NodeList = Annotated[tuple[NodeId, ...], BeforeValidator(_node_list)]


def _check_distinct(nodes: Sequence[str], loc: tuple[str | int, ...], where: str) -> None:
    for index, node in enumerate(nodes):
        if node in nodes[:index]:
            raise SchemaViolation(
                f"{node} appears twice in {where}",
                expected="distinct node ids",
                found=node,
                loc=(*loc, index),
            )


class ClockStrobe(SchemaModel):
    """The wall clock jumps `delta` ahead and back every `period` (Jepsen's strobe)."""

    delta_ms: PositiveDuration = Field(alias="delta")
    period_ms: PositiveDuration = Field(alias="period")


class ClockFault(SchemaModel):
    """A fault on one node's clock, exactly one of:

    - `rate: 1.5`: its timers run 1.5 times as fast as real time (0.5: half as fast);
    - `jump: +2s` / `jump: -500ms`: its wall clock steps (timers run on a monotonic
      clock, which never jumps; only code that reads the wall clock sees it);
    - `strobe: {delta: 200ms, period: 10ms}`: its wall clock jumps back and forth.

    With `for`, the clock gets its rate and wall time back (as an NTP correction would).
    """

    node: NodeRef
    rate: PositiveNumber | None = None
    jump: SignedDuration | None = None
    """The wall clock's step, in milliseconds (negative: back)."""
    strobe: ClockStrobe | None = None

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        _exactly_one(cls, data, ["rate", "jump", "strobe"], "a clock fault", "change")


def _disk_file(value: object) -> str:
    if isinstance(value, str) and value in DISK_FILES:
        return value
    expected = f"one of {', '.join(DISK_FILES)}"
    raise SchemaViolation(
        f"expected {expected}, found {show(value)}", expected=expected, found=value
    )


def _index_range(value: object) -> tuple[int, int]:
    expected = "a log index like 5, or a range [low, high] with 1 <= low <= high"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value, value
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= value[1]
    ):
        return int(value[0]), int(value[1])
    raise SchemaViolation(
        f"expected {expected}, found {show(value)}", expected=expected, found=value
    )


def _true(value: object) -> bool:
    if value is True:
        return True
    raise SchemaViolation(f"expected true, found {show(value)}", expected="true", found=value)


class DiskRecords(SchemaModel):
    """Records of one file: `file` (log, hard_state, hard_state.b, snapshot) and, for the
    log, `index` (one index or [low, high]); without `index` the seed picks one record.
    The server keeps two copies of its hard state: `hard_state` names copy A,
    `hard_state.b` copy B (name both to damage both)."""

    file: Annotated[str, BeforeValidator(_disk_file)] = "log"
    index: Annotated[tuple[int, int], BeforeValidator(_index_range)] | None = None


class DiskSlow(SchemaModel):
    """Every fsync takes `fsync` (until undone by `for`)."""

    fsync_ms: PositiveDuration = Field(alias="fsync")


class DiskFault(SchemaModel):
    """A storage fault on one node's disk, exactly one of:

    - `corrupt: {file: log, index: [5, 9]}`: those durable records read back damaged;
    - `eio: {file: log, index: 5}`: reading them fails (EIO) at the next restart;
    - `torn: true`: at the node's next crash its pending writes land fully, partially
      or not at all (FoundationDB's non-durable files);
    - `misdirect: true`: its next durable append puts one record at a wrong position;
    - `write_error: true`: its next fsync fails (EIO): the server restarts;
    - `slow: {fsync: 50ms}`: fsyncs take that long (with `for`, then as before).
    """

    node: NodeRef
    corrupt: DiskRecords | None = None
    eio: DiskRecords | None = None
    torn: Annotated[bool, BeforeValidator(_true)] | None = None
    misdirect: Annotated[bool, BeforeValidator(_true)] | None = None
    write_error: Annotated[bool, BeforeValidator(_true)] | None = None
    slow: DiskSlow | None = None

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        changes = ["corrupt", "eio", "torn", "misdirect", "write_error", "slow"]
        _exactly_one(cls, data, changes, "a disk fault", "change")


ANY: Final = "any"


def _transfer_target(value: object) -> str:
    expected = "a node id like n3, or 'any' (the most caught-up other voter)"
    if value == ANY or (isinstance(value, str) and _NODE_ID_RE.fullmatch(value)):
        return value
    raise SchemaViolation(
        f"expected {expected}, found {show(value)}", expected=expected, found=value
    )


class Transfer(SchemaModel):
    """A leadership transfer (thesis §3.10) asked of whoever leads when it fires: `to` a
    node id, or `any` (the voter whose log matches the leader's furthest)."""

    to: Annotated[str, BeforeValidator(_transfer_target)]


class OneWayCut(SchemaModel):
    """An asymmetric cut: messages from `from` nodes to `to` nodes are dropped."""

    from_nodes: NodeList = Field(alias="from")
    to_nodes: NodeList = Field(alias="to")

    @model_validator(mode="after")
    def _check_sides(self) -> Self:
        _check_distinct(self.from_nodes, ("from",), "from")
        _check_distinct(self.to_nodes, ("to",), "to")
        for index, node in enumerate(self.to_nodes):
            if node in self.from_nodes:
                raise SchemaViolation(
                    f"{node} is on both sides of the one-way cut",
                    expected="disjoint from and to lists",
                    found=node,
                    loc=("to", index),
                )
        return self


def _groups(value: object) -> object:
    expected = "a list of at least 2 groups of node ids, like [[n1, n2], [n3, n4, n5]]"
    groups = _list_of(value, expected)
    if len(groups) < 2:
        raise SchemaViolation(
            f"expected {expected}, found {show(value)}", expected=expected, found=value
        )
    return groups


def _ring(value: object) -> bool:
    if value is not True:
        raise SchemaViolation(f"expected true, found {show(value)}", expected="true", found=value)
    return True


class Partition(SchemaModel):
    """A network partition, in exactly one of five shapes.

    - `isolate: n3` cuts one node off from all others, both directions.
    - `groups: [[n1, n2], [n3, n4]]` lets nodes talk only within their group;
      nodes not listed form one more group.
    - `one_way: {from: [n1], to: [n2, n3]}` drops only messages from -> to.
    - `bridge: n3` splits the other nodes into two halves (in node order); the
      bridge node still talks to both.
    - `ring: true` gives each node a majority of neighbors along the ring
      n1..nN, so no two nodes see the same majority.
    """

    isolate: NodeRef | None = None
    groups: Annotated[tuple[NodeList, ...], BeforeValidator(_groups)] | None = None
    one_way: OneWayCut | None = None
    bridge: NodeId | None = None
    ring: Annotated[Literal[True], BeforeValidator(_ring)] | None = None

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        _exactly_one(cls, data, [kind.value for kind in PartitionKind], "a partition", "shape")

    @model_validator(mode="after")
    def _check_groups(self) -> Self:
        if self.groups is None:
            return self
        home: dict[str, int] = {}
        for group_index, group in enumerate(self.groups):
            _check_distinct(group, ("groups", group_index), f"group {group_index + 1}")
            for node_index, node in enumerate(group):
                if node in home:
                    raise SchemaViolation(
                        f"overlapping partition groups: {node} is in groups "
                        f"{home[node] + 1} and {group_index + 1}",
                        expected="each node in at most one group",
                        found=node,
                        loc=("groups", group_index, node_index),
                    )
                home[node] = group_index
        return self

    @property
    def kind(self) -> PartitionKind:
        """Which shape this partition has."""
        for kind in PartitionKind:
            if getattr(self, kind.value) is not None:
                return kind
        raise AssertionError("a validated partition has a shape")


class LinkRef(SchemaModel):
    """A directed link between two nodes (both directions if `both_ways`)."""

    from_node: NodeRef = Field(alias="from")
    to_node: NodeRef = Field(alias="to")
    both_ways: StrictBool = False

    @model_validator(mode="after")
    def _check_link(self) -> Self:
        if self.from_node == self.to_node:
            raise SchemaViolation(
                f"a link joins two different nodes, found {self.from_node} -> {self.to_node}",
                expected=f"a node other than {self.from_node}",
                found=self.to_node,
                loc=("to",),
            )
        return self


def _link_or_all(value: object) -> str:
    return "<all>" if isinstance(value, str) else "<link>"


UnclogTarget = Annotated[
    Annotated[LinkRef, Tag("<link>")]
    | Annotated[
        Literal["all"],
        BeforeValidator(_the_word_all(" or a link like {from: n1, to: n2}")),
        Tag("<all>"),
    ],
    Discriminator(_link_or_all),
]
"""`all` or one link. (Tags in angle brackets never appear in YAML paths.)"""


def _nemesis_kinds(value: object) -> object:
    kinds = _unique_names(NEMESIS_KINDS, "nemesis kind", "nemesis kinds")(value)
    if not kinds:
        expected = f"a non-empty list from: {', '.join(NEMESIS_KINDS)}"
        raise SchemaViolation(f"expected {expected}, found []", expected=expected, found=value)
    return kinds


class Nemesis(SchemaModel):
    """Random faults of the given kinds, one step every `interval`, from `at` to `until`.

    Each step is drawn from the seeded RNG tree, so a seed replays the same
    sequence; nothing the nemesis breaks outlasts `until` (but a node it deafens, see
    `deafen`). `overlap` lets its faults
    overlap (a paused leader while a partition holds, as a GC pause during a network
    split), and `target_leader` aims them at the leader with that probability.
    """

    kinds: Annotated[tuple[NemesisKind, ...], BeforeValidator(_nemesis_kinds)]
    interval_ms: PositiveDuration = Field(alias="interval")
    until_ms: PositiveDuration = Field(alias="until")
    overlap: Annotated[int, BeforeValidator(_integer_in(1, 8))] = 1
    """At most this many of its faults at once (1: start one, undo it, start the next);
    above 1 each lasts 1..`overlap` intervals, so faults of different kinds overlap."""
    target_leader: Probability = 0.0
    """The chance that a crash, pause, isolation or removal aims at the current leader."""
    chain: Probability = 0.0
    """The chance, each time, that a fault is followed 1-20ms later by one more (up to
    two) of another kind (a removal may follow a removal), aimed at the last node struck
    (crashed, paused, isolated, its clock or disk, removed, or the leader that handed off
    in a transfer) and lasting as long: a paused leader also cut off, an old leader
    isolated just after its transfer."""
    on_election: Probability = 0.0
    """The chance that a fault waits, up to one interval (half of one when `overlap` is 1,
    since the next step undoes it), for the next leader to be elected and strikes that
    leader at once (before it has committed in its term)."""
    deafen: Probability = 0.0
    """The chance that an isolated node, deposed while cut off (another node leads when
    its isolation ends), is healed only one way: it sends, but hears no one for the rest
    of the run (a gray failure, a network card that drops what it receives; goraft/raft#58
    needs its stale heartbeats). At most one node; later partitions keep it deaf."""
    strand: Probability = 0.0
    """The chance that a partition it starts (on no node chained or timed) strands the
    current leader in a minority with others, cut off both ways from the rest, instead of
    drawing its shape; a removal chained to that leader then removes the servers it lost,
    as many as leave a majority of the voters in (an operator's dead-server cleanup, as
    Consul's autopilot runs: an operator that does not wait sends them at once, the
    race behind RedisLabs/redisraft#17)."""
    chase: Probability = 0.0
    """The chance that a partition it starts (on no node chained or timed) isolates the
    current leader and, for its life, chases leadership: each leader elected while it
    holds is isolated in turn (the one before rejoins), half the time the moment it is
    elected, half the time at its first commit in its term (a cut that keeps hitting
    whoever leads; three such cuts are Raft's Figure 8)."""
    swarm: StrictBool = False
    """Swarm testing: each seed keeps a random subset of `kinds` (each with probability
    1/2), an overlap from 1 to `overlap`, and `target_leader`, `chain`, `on_election`,
    `deafen`, `strand` and `chase` each or 0, announced on the nemesis's first event; so seeds
    differ in which faults they combine and how they time them."""


def _trigger(value: object) -> FaultTrigger:
    choices = [trigger.value for trigger in FaultTrigger]
    if not isinstance(value, str) or value not in choices:
        raise SchemaViolation(
            f"expected one of {', '.join(choices)}, found {show(value)}",
            expected=f"one of {', '.join(choices)}",
            found=value,
        )
    return FaultTrigger(value)


class Fault(SchemaModel):
    """One scheduled fault: a time `at` and exactly one action.

    With `when`, the fault is armed at `at` and fires at the first event of that
    kind before `until` (default: the end of the run), or never.

    With `for`, a fault that can be undone is undone that long after it fired, on the
    same targets: a crashed node restarts, a paused node resumes, a partition heals
    (unless another partition replaced it meanwhile), a clogged link clears.
    """

    at_ms: NonNegativeDuration = Field(alias="at")
    when: Annotated[FaultTrigger, BeforeValidator(_trigger)] | None = None
    until_ms: PositiveDuration | None = Field(None, alias="until")
    for_ms: PositiveDuration | None = Field(None, alias="for")
    partition: Partition | None = None
    heal: Annotated[Literal["all"], BeforeValidator(_the_word_all(""))] | None = None
    crash: NodeRef | None = None
    restart: RestartTarget | None = None
    pause: NodeRef | None = None
    resume: ResumeTarget | None = None
    clog: LinkRef | None = None
    unclog: UnclogTarget | None = None
    nemesis: Nemesis | None = None
    add: NewMember | None = None
    remove: NodeRef | None = None
    transfer: Transfer | None = None
    clock: ClockFault | None = None
    disk: DiskFault | None = None

    @classmethod
    def _check_shape(cls, data: Mapping[Any, Any]) -> None:
        _exactly_one(cls, data, [kind.value for kind in FaultKind], "a fault", "action")

    @model_validator(mode="after")
    def _check_duration(self) -> Self:
        if self.for_ms is not None and self.disk is not None and self.disk.slow is None:
            raise SchemaViolation(
                "`for` undoes a slow disk; a damaged, torn or misdirected write cannot be "
                "undone (the server repairs it)",
                expected="no `for`, or a disk fault with `slow`",
                found=format_duration(self.for_ms),
                loc=("for",),
            )
        if self.for_ms is None or self.kind in UNDOABLE_FAULT_KINDS:
            return self
        undoable = ", ".join(kind.value for kind in UNDOABLE_FAULT_KINDS)
        raise SchemaViolation(
            f"`for` undoes a fault after a while; a {self.kind.value} fault cannot be "
            f"undone (faults that can: {undoable})",
            expected=f"no `for`, or an action among {undoable}",
            found=format_duration(self.for_ms),
            loc=("for",),
        )

    @model_validator(mode="after")
    def _check_trigger(self) -> Self:
        if self.when is not None and self.nemesis is not None:
            raise SchemaViolation(
                "a nemesis runs on its own clock and cannot wait for an event (`when`)",
                expected="a fault without `when`, or an action other than nemesis",
                found=self.when.value,
                loc=("when",),
            )
        if self.until_ms is None:
            return self
        if self.when is None:
            raise SchemaViolation(
                "`until` ends the wait of a fault with `when`; this fault has no `when`",
                expected=f"`when: {FaultTrigger.LEADER_ELECTED.value}` (or another trigger), "
                "or no `until`",
                found=format_duration(self.until_ms),
                loc=("until",),
            )
        if self.until_ms <= self.at_ms:
            raise SchemaViolation(
                f"the wait must end after it starts: until {format_duration(self.until_ms)} "
                f"is not after at {format_duration(self.at_ms)}",
                expected=f"a time after {format_duration(self.at_ms)}",
                found=format_duration(self.until_ms),
                loc=("until",),
            )
        return self

    def last_ms(self, end_ms: float) -> float:
        """The latest time this fault can act in a run ending at ``end_ms``: its `at`, the
        `until` of its nemesis, or the end of its wait for `when` (``end_ms`` if open)."""
        if self.nemesis is not None:
            return self.nemesis.until_ms
        if self.when is not None and self.until_ms is None:
            return end_ms  # it may fire at any time until the end
        fired_ms = self.until_ms if self.until_ms is not None else self.at_ms
        return fired_ms + (self.for_ms or 0.0)

    @model_validator(mode="after")
    def _check_nemesis(self) -> Self:
        if self.nemesis is not None and self.nemesis.until_ms <= self.at_ms:
            raise SchemaViolation(
                f"the nemesis must stop after it starts: until "
                f"{format_duration(self.nemesis.until_ms)} is not after at "
                f"{format_duration(self.at_ms)}",
                expected=f"a time after {format_duration(self.at_ms)}",
                found=format_duration(self.nemesis.until_ms),
                loc=("nemesis", "until"),
            )
        return self

    @property
    def kind(self) -> FaultKind:
        """The action of this fault (its action key)."""
        for kind in FaultKind:
            if getattr(self, kind.value) is not None:
                return kind
        raise AssertionError("a validated fault has an action")

    @property
    def action(self) -> Partition | LinkRef | Nemesis | Transfer | ClockFault | DiskFault | str:
        """The value of the action key (a node ref, `all`, or a nested model)."""
        value: Partition | LinkRef | Nemesis | Transfer | ClockFault | DiskFault | str = getattr(
            self, self.kind.value
        )
        return value


# --------------------------------------------------------------------------- scenario


_SWARM_EXPECTED: Final = "a mapping of setting paths (cluster.raft.prevote) to lists of values"


def _swarm_shape(value: object) -> dict[str, tuple[Any, ...]]:
    """A swarm's shape: text paths, each with a non-empty list of plain values."""
    if not isinstance(value, Mapping):
        raise SchemaViolation(
            f"expected {_SWARM_EXPECTED}, found {show(value)}",
            expected=_SWARM_EXPECTED,
            found=value,
        )
    shaped: dict[str, tuple[Any, ...]] = {}
    for path, choices in value.items():
        if not isinstance(path, str):
            raise SchemaViolation(
                f"a swarm path must be text, found {show(path)}",
                expected="a dotted path of keys",
                found=path,
                loc=(str(path),),
                position=Position.KEY,
            )
        if not isinstance(choices, list | tuple) or not choices:
            raise SchemaViolation(
                f"expected a non-empty list of values for {path}, found {show(choices)}",
                expected="a list of the values a run may draw",
                found=choices,
                loc=(path,),
            )
        shaped[path] = tuple(choices)
    return shaped


def _check_swarm_paths(scenario: Scenario) -> None:
    from harmonysim.scenario.swarm import PathProblem, entry_paths

    for key, choices in scenario.swarm.items():
        try:
            paths = entry_paths(key)
        except PathProblem as problem:
            raise SchemaViolation(
                str(problem),
                expected="the dotted path of a setting, or several joined by commas",
                found=key,
                loc=("swarm", key),
                position=Position.KEY,
            ) from None
        if len(paths) == 1:
            _check_swarm_entry(key, choices, key)
            continue
        for index, choice in enumerate(choices):
            named = sorted(str(path) for path in choice) if isinstance(choice, Mapping) else None
            if named != sorted(paths):
                raise SchemaViolation(
                    f"each value of {key} must give a value to each of its paths "
                    f"({', '.join(paths)})",
                    expected=f"a mapping of {', '.join(paths)}",
                    found=choice,
                    loc=("swarm", key, index),
                )
        for path in paths:
            _check_swarm_entry(path, [choice[path] for choice in choices], key)


def _check_swarm_entry(path: str, choices: Sequence[Any], key: str) -> None:
    """The rules of one path's values (``harmonysim.scenario.swarm``) under the swarm key
    ``key`` (itself, or a joint entry's, whose values are placed under their path)."""
    from harmonysim.scenario.swarm import PathProblem, check_path

    joint = key != path
    loc = ("swarm", key)
    try:
        merges = check_path(Scenario, path)
    except PathProblem as problem:
        raise SchemaViolation(
            str(problem),
            expected="the dotted path of a setting",
            found=path,
            loc=loc,
            position=Position.KEY,
        ) from None

    def place(index: int) -> tuple[str | int, ...]:
        return (*loc, index, path) if joint else (*loc, index)

    keys: list[str] | None = None
    for index, choice in enumerate(choices):
        if isinstance(choice, Mapping) and not merges:
            raise SchemaViolation(
                f"{path} is a single setting; a mapping merges only into a mapping of settings",
                expected="a plain value",
                found=choice,
                loc=place(index),
            )
        if merges:  # a draw must set the same keys whatever it drew: idempotent
            named = sorted(str(key) for key in choice) if isinstance(choice, Mapping) else []
            if keys is None:
                keys = named
            elif named != keys:
                raise SchemaViolation(
                    f"every value of {path} must name the same settings "
                    f"({', '.join(keys) or 'none'}), so that what a run draws does not "
                    "depend on what an earlier draw left",
                    expected=f"a mapping of {', '.join(keys)}",
                    found=choice,
                    loc=place(index),
                )


class Scenario(SchemaModel):
    """A whole scenario: cluster, network, workload, faults, checks and bugs."""

    name: Annotated[str, BeforeValidator(_name)]
    description: Annotated[str, BeforeValidator(_text)] = ""
    seed: Annotated[int, BeforeValidator(_integer_in(0, MAX_SEED, SEED_EXPECTED))] = 1
    duration_ms: PositiveDuration = Field(alias="duration")
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    workload: Workload = Field(default_factory=Workload)
    faults: tuple[Fault, ...] = ()
    checks: Annotated[
        tuple[CheckName, ...], BeforeValidator(_unique_names(CHECK_NAMES, "check", "checks"))
    ] = CHECK_NAMES
    bugs: Annotated[tuple[str, ...], BeforeValidator(_unique_names(KNOWN_BUGS, "bug", "bugs"))] = ()
    swarm: Annotated[dict[str, tuple[Any, ...]], BeforeValidator(_swarm_shape)] = Field(
        default_factory=dict
    )

    def __hash__(self) -> int:
        # A swarm's values may be mappings, which do not hash: hash the data form (sorted
        # keys, so equal scenarios hash equal whatever order their swarm was written in).
        return hash(orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS))

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The node ids of the cluster, in order: n1, n2, ..., nN."""
        return tuple(f"n{index}" for index in range(1, self.cluster.nodes + 1))

    @property
    def member_ids(self) -> tuple[str, ...]:
        """The initial Raft configuration: n1..nM (every node unless `members` is set)."""
        return self.node_ids[: self.cluster.member_count]

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        nodes = self.cluster.nodes
        for index, link in enumerate(self.network.links):
            _check_node(link.from_node, nodes, ("network", "links", index, "from"))
            _check_node(link.to_node, nodes, ("network", "links", index, "to"))
        for index, fault in enumerate(self.faults):
            _check_fault(fault, nodes, ("faults", index))
            if fault.at_ms >= self.duration_ms:
                raise SchemaViolation(
                    f"a fault after the end: at {format_duration(fault.at_ms)} is not before "
                    f"the end of the run ({format_duration(self.duration_ms)})",
                    expected=f"a time before {format_duration(self.duration_ms)}",
                    found=format_duration(fault.at_ms),
                    loc=("faults", index, "at"),
                )
            if fault.until_ms is not None and fault.until_ms > self.duration_ms:
                raise SchemaViolation(
                    f"the wait runs past the end: until {format_duration(fault.until_ms)} is "
                    f"after the end of the run ({format_duration(self.duration_ms)})",
                    expected=f"a time of at most {format_duration(self.duration_ms)}",
                    found=format_duration(fault.until_ms),
                    loc=("faults", index, "until"),
                )
            if fault.nemesis is not None and fault.nemesis.until_ms > self.duration_ms:
                raise SchemaViolation(
                    f"the nemesis runs past the end: until "
                    f"{format_duration(fault.nemesis.until_ms)} is after the end of the run "
                    f"({format_duration(self.duration_ms)})",
                    expected=f"a time of at most {format_duration(self.duration_ms)}",
                    found=format_duration(fault.nemesis.until_ms),
                    loc=("faults", index, "nemesis", "until"),
                )
        _check_membership(self)
        _check_swarm_paths(self)
        return self


def _check_membership(scenario: Scenario) -> None:
    """Follow the configuration through the `add` / `remove` faults, in the order they
    fire, while every target is known: adding a member or removing a non-member is a
    mistake in the file. A `remove: leader` makes the rest unknowable statically."""
    members: set[str] | None = set(scenario.member_ids)
    order = sorted(range(len(scenario.faults)), key=lambda i: (scenario.faults[i].at_ms, i))
    for index in order:
        fault = scenario.faults[index]
        if members is None:
            return
        if fault.add is not None:
            if fault.add in members:
                raise SchemaViolation(
                    f"{fault.add} is already a member when this fault fires "
                    f"(configuration then: {', '.join(sorted(members, key=_node_number))})",
                    expected="a node outside the configuration",
                    found=fault.add,
                    loc=("faults", index, "add"),
                )
            members.add(fault.add)
        elif fault.remove is not None:
            if fault.remove == LEADER:
                members = None
            elif fault.remove not in members:
                raise SchemaViolation(
                    f"{fault.remove} is not a member when this fault fires "
                    f"(configuration then: {', '.join(sorted(members, key=_node_number))})",
                    expected="a member of the configuration",
                    found=fault.remove,
                    loc=("faults", index, "remove"),
                )
            elif members == {fault.remove}:
                raise SchemaViolation(
                    f"{fault.remove} is the last member: a configuration cannot be empty",
                    expected="a configuration of at least one member",
                    found=fault.remove,
                    loc=("faults", index, "remove"),
                )
            else:
                members.discard(fault.remove)


def _node_number(node: str) -> int:
    return int(node[1:])


def _check_node(ref: str, nodes: int, loc: tuple[str | int, ...]) -> None:
    if ref == LEADER or int(ref[1:]) <= nodes:
        return
    have = "only n1" if nodes == 1 else f"n1..n{nodes}"
    raise SchemaViolation(
        f"unknown node {ref!r} (this cluster has {have})",
        expected=f"a node id from n1 to n{nodes}",
        found=ref,
        loc=loc,
    )


def _check_fault(fault: Fault, nodes: int, loc: tuple[str | int, ...]) -> None:
    kind = fault.kind
    if kind in (
        FaultKind.CRASH,
        FaultKind.RESTART,
        FaultKind.PAUSE,
        FaultKind.RESUME,
        FaultKind.ADD,
        FaultKind.REMOVE,
    ):
        action = fault.action
        assert isinstance(action, str)
        if action in (CRASHED, PAUSED, ALL):
            return  # every crashed / paused node: no one id to check
        _check_node(action, nodes, (*loc, kind.value))
    elif kind in (FaultKind.CLOG, FaultKind.UNCLOG) and isinstance(fault.action, LinkRef):
        _check_node(fault.action.from_node, nodes, (*loc, kind.value, "from"))
        _check_node(fault.action.to_node, nodes, (*loc, kind.value, "to"))
    elif kind is FaultKind.PARTITION:
        assert fault.partition is not None
        _check_partition(fault.partition, nodes, (*loc, "partition"))
    elif kind is FaultKind.CLOCK and fault.clock is not None:
        _check_node(fault.clock.node, nodes, (*loc, "clock", "node"))
    elif kind is FaultKind.DISK and fault.disk is not None:
        _check_node(fault.disk.node, nodes, (*loc, "disk", "node"))
    elif kind is FaultKind.TRANSFER and fault.transfer is not None and fault.transfer.to != ANY:
        _check_node(fault.transfer.to, nodes, (*loc, "transfer", "to"))


def _check_partition(partition: Partition, nodes: int, loc: tuple[str | int, ...]) -> None:
    if partition.isolate is not None:
        _check_node(partition.isolate, nodes, (*loc, "isolate"))
    if partition.groups is not None:
        for group_index, group in enumerate(partition.groups):
            for node_index, node in enumerate(group):
                _check_node(node, nodes, (*loc, "groups", group_index, node_index))
    if partition.one_way is not None:
        for side, members in (
            ("from", partition.one_way.from_nodes),
            ("to", partition.one_way.to_nodes),
        ):
            for node_index, node in enumerate(members):
                _check_node(node, nodes, (*loc, "one_way", side, node_index))
    if partition.bridge is not None:
        _check_node(partition.bridge, nodes, (*loc, "bridge"))
        if nodes < MIN_BRIDGE_NODES:
            raise SchemaViolation(
                f"a bridge partition needs at least {MIN_BRIDGE_NODES} nodes; "
                f"this cluster has {nodes}",
                expected=f"a cluster of at least {MIN_BRIDGE_NODES} nodes",
                found=partition.bridge,
                loc=(*loc, "bridge"),
            )
    if partition.ring is not None and nodes < MIN_RING_NODES:
        raise SchemaViolation(
            f"a ring partition needs at least {MIN_RING_NODES} nodes (with fewer, every node "
            f"sees the same majority); this cluster has {nodes}",
            expected=f"a cluster of at least {MIN_RING_NODES} nodes",
            found=True,
            loc=(*loc, "ring"),
        )
