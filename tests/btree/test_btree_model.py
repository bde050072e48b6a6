"""Model-based tests: ``BPlusTree`` against a plain dict, invariants checked after every step.

One hypothesis state machine per order (3, 4, 5, 8, 64) with integer keys, plus one with
string keys; small orders make splits, borrows, merges and depth changes frequent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from harmonysim.btree import BPlusTree

KEY_SPACE = 400


def int_key(number: int) -> Any:
    return number


def str_key(number: int) -> Any:
    return f"k{number:03d}"


INT_KEYS = st.integers(min_value=0, max_value=KEY_SPACE)
STR_KEYS = INT_KEYS.map(str_key) | st.text(alphabet="ajkz", max_size=3)
VALUES = st.integers(min_value=-1000, max_value=1000)
MACHINE_SETTINGS = settings(
    max_examples=40,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _expected_range(
    model: dict[Any, int],
    minimum: Any,
    maximum: Any,
    inclusive: tuple[bool, bool],
    reverse: bool,
) -> list[Any]:
    selected = []
    for key in sorted(model):
        if minimum is not None and (key < minimum or (key == minimum and not inclusive[0])):
            continue
        if maximum is not None and (maximum < key or (key == maximum and not inclusive[1])):
            continue
        selected.append(key)
    if reverse:
        selected.reverse()
    return selected


class TreeVersusDict(RuleBasedStateMachine):
    """Every rule applies one operation to both the tree and the model and compares results."""

    order = 4
    keys: st.SearchStrategy[Any] = INT_KEYS
    key_of: Callable[[int], Any] = staticmethod(int_key)

    def __init__(self) -> None:
        super().__init__()
        self.tree: BPlusTree[Any, int] = BPlusTree(self.order)
        self.model: dict[Any, int] = {}

    @initialize(items=st.dictionaries(INT_KEYS, VALUES, max_size=60))
    def bulk_start(self, items: dict[int, int]) -> None:
        ordered = sorted((self.key_of(number), value) for number, value in items.items())
        self.tree = BPlusTree.from_sorted_items(ordered, self.order)
        self.model = dict(ordered)

    @rule(data=st.data(), value=VALUES)
    def insert(self, data: st.DataObject, value: int) -> None:
        key = data.draw(self.keys)
        self.tree[key] = value
        self.model[key] = value

    @rule(start=st.integers(0, KEY_SPACE), length=st.integers(1, 40), ascending=st.booleans())
    def insert_run(self, start: int, length: int, ascending: bool) -> None:
        stop = min(start + length, KEY_SPACE + 1)
        run = range(start, stop) if ascending else range(stop - 1, start - 1, -1)
        for number in run:
            self.tree[self.key_of(number)] = number
            self.model[self.key_of(number)] = number

    @precondition(lambda self: self.model)
    @rule(data=st.data(), value=VALUES)
    def overwrite(self, data: st.DataObject, value: int) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        size = len(self.tree)
        self.tree[key] = value
        self.model[key] = value
        assert len(self.tree) == size
        assert self.tree[key] == value

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def delete_present(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        del self.tree[key]
        del self.model[key]
        assert key not in self.tree

    @precondition(lambda self: self.model)
    @rule(data=st.data(), fraction=st.floats(0.2, 1.0))
    def delete_many(self, data: st.DataObject, fraction: float) -> None:
        present = sorted(self.model)
        doomed = data.draw(
            st.lists(
                st.sampled_from(present),
                unique=True,
                min_size=1,
                max_size=max(1, int(len(present) * fraction)),
            )
        )
        for key in doomed:
            del self.tree[key]
            del self.model[key]

    @rule(data=st.data())
    def delete_absent(self, data: st.DataObject) -> None:
        key = data.draw(self.keys)
        assume(key not in self.model)
        with pytest.raises(KeyError):
            del self.tree[key]
        assert self.tree.pop(key, "absent") == "absent"

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        key = data.draw(self.keys)
        assert self.tree.get(key) == self.model.get(key)
        assert (key in self.tree) == (key in self.model)
        if key in self.model:
            assert self.tree[key] == self.model[key]
        else:
            with pytest.raises(KeyError):
                self.tree[key]

    @rule(
        data=st.data(),
        inclusive=st.tuples(st.booleans(), st.booleans()),
        reverse=st.booleans(),
    )
    def irange(self, data: st.DataObject, inclusive: tuple[bool, bool], reverse: bool) -> None:
        minimum = data.draw(st.none() | self.keys)
        maximum = data.draw(st.none() | self.keys)
        expected = _expected_range(self.model, minimum, maximum, inclusive, reverse)
        assert list(self.tree.irange(minimum, maximum, inclusive, reverse)) == expected
        assert list(self.tree.irange_items(minimum, maximum, inclusive, reverse)) == [
            (key, self.model[key]) for key in expected
        ]

    @rule()
    def min_max(self) -> None:
        if self.model:
            assert self.tree.min_key() == min(self.model)
            assert self.tree.max_key() == max(self.model)
        else:
            with pytest.raises(ValueError):
                self.tree.min_key()
            with pytest.raises(ValueError):
                self.tree.max_key()

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def pop(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        assert self.tree.pop(key) == self.model.pop(key)

    @precondition(lambda self: self.model)
    @rule()
    def popitem(self) -> None:
        largest = max(self.model)
        assert self.tree.popitem() == (largest, self.model.pop(largest))

    @rule(in_place=st.booleans())
    def snapshot_restore(self, in_place: bool) -> None:
        snapshot = self.tree.snapshot()
        assert snapshot == tuple(sorted(self.model.items()))
        if in_place:
            self.tree.restore(snapshot)
        else:
            copy = BPlusTree.from_sorted_items(snapshot, self.order)
            copy.check_invariants()
            assert copy.snapshot() == snapshot
            self.tree = copy

    @invariant()
    def structure_holds(self) -> None:
        self.tree.check_invariants()

    @invariant()
    def contents_match(self) -> None:
        assert len(self.tree) == len(self.model)
        assert list(self.tree) == sorted(self.model)


def _machine(order: int, keys: st.SearchStrategy[Any], key_of: Callable[[int], Any]) -> Any:
    name = f"TreeVersusDictOrder{order}{'Str' if key_of is str_key else 'Int'}"
    attributes = {"order": order, "keys": keys, "key_of": staticmethod(key_of)}
    return type(name, (TreeVersusDict,), attributes)


TestOrder3 = _machine(3, INT_KEYS, int_key).TestCase
TestOrder4 = _machine(4, INT_KEYS, int_key).TestCase
TestOrder5 = _machine(5, INT_KEYS, int_key).TestCase
TestOrder8 = _machine(8, INT_KEYS, int_key).TestCase
TestOrder64 = _machine(64, INT_KEYS, int_key).TestCase
TestStrKeysOrder4 = _machine(4, STR_KEYS, str_key).TestCase
for _case in (TestOrder3, TestOrder4, TestOrder5, TestOrder8, TestOrder64, TestStrKeysOrder4):
    _case.settings = MACHINE_SETTINGS
