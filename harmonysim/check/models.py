"""Sequential specifications that the linearizability checker judges histories against.

Rules (the Porcupine model interface, Athalye 2017; P-compositionality after
Horn & Kroening, "Faster linearizability checking via P-compositionality", 2015):
- A model is a deterministic state machine: ``init()`` is the initial state and
  ``step(state, input, output)`` says whether an operation with this input could
  have returned this output in ``state``, and the state after it. States must be
  hashable and compare by value: the checker memoizes (linearized set, state).
- An operation's input is ``OpInput(f, key, value)``; its output is the value the
  client observed, or ``UNKNOWN`` for an indeterminate (timed-out) operation. An
  ``UNKNOWN`` output constrains nothing, but the operation may still have taken
  effect (a timed-out write may have been applied).
- ``compile_step(input, output)`` returns the same transition as a one-argument
  function returning the new state or ``REJECT``: the checker precomputes one per
  operation so its hot loop makes a single call per attempt.
- ``is_read_only(input, output)`` is true when the operation leaves every state
  unchanged. The checker may then linearize it as soon as it is legal (doing so
  never removes a valid continuation) and drop it when its output is unknown.
- ``partition(ops)`` splits a history into independent sub-histories (by key for
  the KV store; the single register is one partition), in a deterministic order.
- Failed operations (Jepsen ``:fail``) never reach a model: they did not happen.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol

from harmonysim.check.history import UNKNOWN, CompletedOp

__all__ = [
    "MODELS",
    "REJECT",
    "KvModel",
    "Model",
    "ModelError",
    "OpInput",
    "RegisterModel",
    "Rejected",
    "StepFunction",
    "get_model",
]


class Rejected(Enum):
    """The result of a compiled step whose operation is illegal in the state."""

    REJECT = "reject"


REJECT: Final = Rejected.REJECT

StepFunction = Callable[[Hashable], Hashable]
"""A compiled transition: the state after the operation, or ``REJECT``."""


class ModelError(ValueError):
    """An operation the model cannot interpret (unknown ``f``, malformed value)."""


@dataclass(frozen=True, slots=True)
class OpInput:
    """What a client asked for: the function, the key (or None) and the argument."""

    f: str
    key: object | None
    value: object


class Model(Protocol):
    """A sequential specification, Porcupine style (see the module rules)."""

    @property
    def name(self) -> str: ...

    def init(self) -> Hashable: ...

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]: ...

    def compile_step(self, input: OpInput, output: object) -> StepFunction: ...

    def is_read_only(self, input: OpInput, output: object) -> bool: ...

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]: ...

    def describe_operation(self, input: OpInput, output: object) -> str: ...

    def describe_state(self, state: Hashable) -> str: ...


def _run_compiled(step: StepFunction, state: Hashable) -> tuple[bool, Hashable]:
    new_state = step(state)
    if new_state is REJECT:
        return False, state
    return True, new_state


def _show(value: object) -> str:
    if value is None:
        return "nil"
    return repr(value)


def _pair(input: OpInput) -> tuple[object, object]:
    value = input.value
    if not isinstance(value, tuple) or len(value) != 2:
        raise ModelError(f"{input.f} expects [old new], got {value!r}")
    return value[0], value[1]


def _cas_succeeded(output: object) -> bool:
    """Whether an ok cas reports success: Jepsen echoes [old new]; ``false`` means it
    compared and did not swap (some clients record that as ok rather than fail)."""
    return output is not False


# --------------------------------------------------------------------------- register


class RegisterModel:
    """One read/write/compare-and-set register, initially nil (``None``).

    - ``read``: legal iff the output equals the state (nil reads the initial state);
      a timed-out read constrains nothing.
    - ``write v``: always legal; the state becomes v.
    - ``cas [old new]``: an ok cas is legal iff the state equals old, and sets new;
      an ok cas returning ``false`` is legal iff the state differs from old and
      leaves it unchanged; an indeterminate cas swaps iff the state equals old.
    """

    @property
    def name(self) -> str:
        return "register"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]:
        return _run_compiled(self.compile_step(input, output), state)

    def compile_step(self, input: OpInput, output: object) -> StepFunction:
        f = input.f
        if f == "read":
            if output is UNKNOWN:
                return _identity
            expected: Hashable = _check_hashable(output)

            def read(state: Hashable) -> Hashable:
                return state if state == expected else REJECT

            return read
        if f == "write":
            written: Hashable = _check_hashable(input.value)

            def write(state: Hashable) -> Hashable:
                return written

            return write
        if f == "cas":
            old, new = _pair(input)
            old_value: Hashable = _check_hashable(old)
            new_value: Hashable = _check_hashable(new)
            if output is UNKNOWN:

                def maybe_cas(state: Hashable) -> Hashable:
                    return new_value if state == old_value else state

                return maybe_cas
            if not _cas_succeeded(output):

                def failed_cas(state: Hashable) -> Hashable:
                    return REJECT if state == old_value else state

                return failed_cas

            def cas(state: Hashable) -> Hashable:
                return new_value if state == old_value else REJECT

            return cas
        raise ModelError(f"the register model has no operation {f!r} (read, write, cas)")

    def is_read_only(self, input: OpInput, output: object) -> bool:
        if input.f == "read":
            return True
        return input.f == "cas" and output is not UNKNOWN and not _cas_succeeded(output)

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]:
        return [list(ops)] if ops else []

    def describe_operation(self, input: OpInput, output: object) -> str:
        result = "?" if output is UNKNOWN else _show(output)
        if input.f == "read":
            return f"read() -> {result}"
        if input.f == "write":
            return f"write({_show(input.value)})" + (" -> ?" if output is UNKNOWN else "")
        if input.f == "cas" and isinstance(input.value, tuple) and len(input.value) == 2:
            old, new = input.value
            outcome = "?" if output is UNKNOWN else ("ok" if _cas_succeeded(output) else "false")
            return f"cas({_show(old)}, {_show(new)}) -> {outcome}"
        return f"{input.f}({_show(input.value)}) -> {result}"

    def describe_state(self, state: Hashable) -> str:
        return _show(state)


# --------------------------------------------------------------------------- key-value store


class KvModel:
    """A map from keys to values, checked one key at a time (P-compositionality).

    A partition's state is the key's value, ``None`` while absent.

    - ``get``: legal iff the output equals the value. An absent key reads as any of
      ``missing_reads`` (nil, and the empty string as in Porcupine's KV histories,
      which come from Go's zero value); a timed-out get constrains nothing.
    - ``put v``: sets v. ``append v``: concatenates v to the value (an absent key
      counts as empty); values must both be strings, or both tuples.
    - ``delete``: the key becomes absent.
    - ``cas [old new]``: as for the register (old nil means "absent").
    """

    def __init__(self, *, missing_reads: tuple[Hashable, ...] = (None, "")) -> None:
        self._missing_reads = missing_reads

    @property
    def name(self) -> str:
        return "kv"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, input: OpInput, output: object) -> tuple[bool, Hashable]:
        return _run_compiled(self.compile_step(input, output), state)

    def compile_step(self, input: OpInput, output: object) -> StepFunction:
        f = input.f
        if f in ("get", "read"):
            if output is UNKNOWN:
                return _identity
            expected: Hashable = _check_hashable(output)
            absent_ok = expected in self._missing_reads

            def get(state: Hashable) -> Hashable:
                if state == expected or (state is None and absent_ok):
                    return state
                return REJECT

            return get
        if f in ("put", "write"):
            written: Hashable = _check_hashable(input.value)

            def put(state: Hashable) -> Hashable:
                return written

            return put
        if f == "append":
            suffix = input.value
            if not isinstance(suffix, str | tuple):
                raise ModelError(f"append expects a string or a vector, got {suffix!r}")
            suffix_type = type(suffix)

            def append(state: Hashable) -> Hashable:
                if state is None:
                    return suffix
                if type(state) is not suffix_type:
                    return REJECT
                return state + suffix  # type: ignore[operator]

            return append
        if f == "delete":
            return _make_absent
        if f == "cas":
            old, new = _pair(input)
            old_value: Hashable = _check_hashable(old)
            new_value: Hashable = _check_hashable(new)
            if output is UNKNOWN:

                def maybe_cas(state: Hashable) -> Hashable:
                    return new_value if state == old_value else state

                return maybe_cas
            if not _cas_succeeded(output):

                def failed_cas(state: Hashable) -> Hashable:
                    return REJECT if state == old_value else state

                return failed_cas

            def cas(state: Hashable) -> Hashable:
                return new_value if state == old_value else REJECT

            return cas
        raise ModelError(f"the kv model has no operation {f!r} (get, put, append, delete, cas)")

    def is_read_only(self, input: OpInput, output: object) -> bool:
        if input.f in ("get", "read"):
            return True
        return input.f == "cas" and output is not UNKNOWN and not _cas_succeeded(output)

    def partition(self, ops: Sequence[CompletedOp]) -> list[list[CompletedOp]]:
        groups: dict[object, list[CompletedOp]] = {}
        for op in ops:
            try:
                groups.setdefault(op.key, []).append(op)
            except TypeError:
                raise ModelError(f"key {op.key!r} is not hashable") from None
        # Dicts keep insertion order; sorting by a total, hash-free key makes the
        # partition order independent of the history's interleaving too.
        return [groups[key] for key in sorted(groups, key=_ordering_key)]

    def describe_operation(self, input: OpInput, output: object) -> str:
        result = "?" if output is UNKNOWN else _show(output)
        if input.f in ("get", "read"):
            return f"get() -> {result}"
        if input.f == "delete":
            return "delete()" + (" -> ?" if output is UNKNOWN else "")
        if input.f == "cas" and isinstance(input.value, tuple) and len(input.value) == 2:
            old, new = input.value
            outcome = "?" if output is UNKNOWN else ("ok" if _cas_succeeded(output) else "false")
            return f"cas({_show(old)}, {_show(new)}) -> {outcome}"
        suffix = " -> ?" if output is UNKNOWN else ""
        return f"{input.f}({_show(input.value)}){suffix}"

    def describe_state(self, state: Hashable) -> str:
        return "absent" if state is None else _show(state)


def _identity(state: Hashable) -> Hashable:
    return state


def _make_absent(state: Hashable) -> Hashable:
    return None


def _check_hashable(value: object) -> Hashable:
    try:
        hash(value)
    except TypeError:
        raise ModelError(f"value {value!r} is not hashable") from None
    return value


def _ordering_key(key: object) -> tuple[int, str, object]:
    """A total order over mixed keys: None first, then numbers, then strings, then the rest."""
    if key is None:
        return (0, "", 0)
    if isinstance(key, bool):
        return (3, type(key).__name__, repr(key))
    if isinstance(key, int | float):
        return (1, "", key)
    if isinstance(key, str):
        return (2, "", key)
    return (3, type(key).__name__, repr(key))


MODELS: Final[dict[str, Callable[[], Model]]] = {
    "register": RegisterModel,
    "kv": KvModel,
}


def get_model(name: str) -> Model:
    """A model by name (``register`` or ``kv``)."""
    factory = MODELS.get(name)
    if factory is None:
        raise ModelError(f"unknown model {name!r}; expected one of {', '.join(sorted(MODELS))}")
    return factory()
