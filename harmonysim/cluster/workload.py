"""Workload generation: which operation a client runs next, on which key, with which value.

Rules:
- Every draw comes from the client's own seeded stream. What clients share is the
  key space (``KeySpace``): the number of keys so far, which each ``insert`` grows by
  one, the keys whose inserts have finished (the ones requests may name), and the
  ``sequential`` distribution's cursor, as YCSB's threads share one insert sequence
  and one key chooser (CoreWorkload). A workload without inserts or
  ``sequential`` shares nothing, so adding a client does not change what the others do.
- Keys are ``k`` and a number zero-padded to the workload's width
  (``Workload.key_digits``: ``k0000`` .. ``k{count-1}`` as ever; all of one width, so
  key order is number order and a scan of n records is a range of n numbers).
  ``uniform`` and ``zipf`` (probability proportional to ``1 / rank**exponent``, rank 1 =
  ``k0000``) pick among the first ``count`` keys, with the draws they always made. The
  other distributions are YCSB's generators, rewritten here because they are a page each
  and no Python package ships them faithfully: ``zipfian`` (Gray et al., "Quickly
  generating billion-record synthetic databases", SIGMOD 1994; YCSB's
  ZipfianGenerator), ``scrambled_zipfian`` (ScrambledZipfianGenerator: a rank over 10^10
  items, FNV-1 hashed onto the key space; keys not inserted yet are drawn again, as
  CoreWorkload.nextKeynum does), ``latest`` (SkewedLatestGenerator: the newest key
  hottest), ``sequential`` and ``hotspot`` (HotspotIntegerGenerator).
- Written values are unique across the run (``client * 1_000_000 + seq``; the load
  phase, client 0, writes the key's number), so a read identifies the write it saw:
  linearizability checking gets its full power.
- cas expects a recently seen value of the key (or a fresh one, which will
  fail), so both outcomes occur.
- ``insert`` is a put of the next key of the key space. ``read_modify_write`` (YCSB's
  workload F) is a get and then, once it returned, a cas of the key from the value it
  read to a new one: two operations in the history. YCSB itself reads and then writes
  blindly; a write that depends on the read is what an application's read-modify-write
  is, and the cas makes a lost update (another write between the two) fail visibly
  instead of silently overwriting it. A get that does not return ok ends the pair.
- Scans: without ``scan_length``, as ever, the start key and up to 10 more; with it, a
  length from ``min`` to ``max`` records, the range ``[k, k + length - 1]``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
from typing import TYPE_CHECKING, Any, Final

from harmonysim.cluster.commands import Op, Operation
from harmonysim.scenario import OPERATION_KINDS, Keys, key_name

if TYPE_CHECKING:
    from harmonysim.scenario import Workload

__all__ = ["KeySpace", "OperationGenerator", "Zipfian", "fnv_hash64", "key_name", "load_batch"]

VALUE_SPACE = 1_000_000

SCRAMBLED_ITEMS: Final = 10_000_000_000
"""ScrambledZipfianGenerator.ITEM_COUNT: the rank space hashed onto the keys."""
SCRAMBLED_ZETAN: Final = 26.46902820178302
"""ScrambledZipfianGenerator.ZETAN: zeta(10^10, 0.99), precomputed by YCSB."""

_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 1099511628211
_MASK64: Final = (1 << 64) - 1


def fnv_hash64(value: int) -> int:
    """YCSB's Utils.fnvhash64 (FNV-1 over the 8 low bytes, Java long arithmetic, abs)."""
    hashed = _FNV_OFFSET
    for _ in range(8):
        hashed = ((hashed ^ (value & 0xFF)) * _FNV_PRIME) & _MASK64
        value >>= 8
    if hashed >= 1 << 63:  # a negative Java long: Math.abs (Long.MIN_VALUE stays negative)
        hashed = (1 << 64) - hashed if hashed != 1 << 63 else hashed
    return hashed


@functools.lru_cache(maxsize=64)
def _zeta(count: int, theta: float) -> float:
    """sum over i = 1..count of 1 / i**theta (cached: every client of a run needs it)."""
    return _zeta_range(0, count, theta, 0.0)


def _zeta_range(start: int, stop: int, theta: float, initial: float) -> float:
    total = initial
    for rank in range(start + 1, stop + 1):
        total += 1.0 / float(rank) ** theta
    return total


class Zipfian:
    """YCSB's ZipfianGenerator: a rank in [0, items), rank 0 the most popular; the item
    count may grow between draws (zeta is extended, never recomputed)."""

    __slots__ = ("_alpha", "_eta", "_half_pow", "_items", "_theta", "_zeta2", "_zetan")

    def __init__(self, items: int, constant: float, zetan: float | None = None) -> None:
        self._theta = constant
        self._alpha = 1.0 / (1.0 - constant)
        self._zeta2 = _zeta(2, constant)
        self._half_pow = 0.5**constant
        self._items = items
        self._zetan = zetan if zetan is not None else _zeta(items, constant)
        self._eta = self._eta_for(items)

    def _eta_for(self, items: int) -> float:
        if items < 2:
            return 1.0
        shape: float = (2.0 / items) ** (1.0 - self._theta)
        return (1.0 - shape) / (1.0 - self._zeta2 / self._zetan)

    def next(self, rng: random.Random, items: int | None = None) -> int:
        if items is None:
            items = self._items
        elif items > self._items:
            self._zetan = _zeta_range(self._items, items, self._theta, self._zetan)
            self._items = items
            self._eta = self._eta_for(items)
        u = rng.random()
        uz = u * self._zetan
        if uz < 1.0 or items < 2:
            return 0
        if uz < 1.0 + self._half_pow:
            return 1
        return min(items - 1, int(items * (self._eta * u - self._eta + 1.0) ** self._alpha))


def load_batch(workload: Workload, seq: int) -> tuple[tuple[str, int], ...]:
    """The records of the load phase's command ``seq`` (1 up; empty past the last): keys
    in order, each key's value its number (client 0's values). The history leaves the load
    out, so whoever replays the log rebuilds a batch from the scenario with this."""
    load = workload.load
    if load is None or seq < 1:
        return ()
    digits = workload.key_digits
    first = (seq - 1) * load.batch
    stop = min(first + load.batch, load.records)
    return tuple((key_name(number, digits), number) for number in range(first, stop))


class KeySpace:
    """The key numbers of a run, shared by its clients (see the module rules).

    As YCSB's AcknowledgedCounterGenerator: inserts take numbers in turn (``count``), and
    the keys requests may name (``acknowledged``) are those below the first insert not
    yet finished, ok or not (CoreWorkload acknowledges an insert in a ``finally``), so a
    read never names a key whose insert is still on its way."""

    __slots__ = ("_finished", "acknowledged", "count", "cursor", "initial")

    def __init__(self, count: int) -> None:
        self.initial = count  # the keys the distributions that do not grow draw from
        self.count = count  # keys so far: the initial ones and one per insert issued
        self.acknowledged = count  # keys below the first insert still running
        self.cursor = 0  # the sequential distribution's next key
        self._finished: set[int] = set()  # inserts finished above ``acknowledged``

    def insert(self) -> int:
        number = self.count
        self.count += 1
        return number

    def acknowledge(self, number: int) -> None:
        """The insert of key ``number`` finished."""
        finished = self._finished
        finished.add(number)
        while self.acknowledged in finished:
            finished.discard(self.acknowledged)
            self.acknowledged += 1

    def next_sequential(self) -> int:
        number = self.cursor % self.initial
        self.cursor += 1
        return number


class OperationGenerator:
    """Draws operations for one client according to the scenario's workload."""

    def __init__(
        self,
        workload: Workload,
        client_number: int,
        rng: random.Random,
        space: KeySpace | None = None,
        expected_inserts: int = 0,
    ) -> None:
        self._rng = rng
        self._client_number = client_number
        # A fixed operation order (not the file's): the same mix draws the same operations
        # however its mapping was written.
        self._kinds = [kind for kind in OPERATION_KINDS if kind in workload.mix]
        self._op_weights = list(itertools.accumulate(workload.mix[kind] for kind in self._kinds))
        keys = workload.keys
        count = keys.count
        self._space = space if space is not None else KeySpace(count)
        self._digits = workload.key_digits
        self._distribution = keys.distribution
        self._key_weights: list[float] = []
        self._zipfian: Zipfian | None = None
        if keys.distribution == "zipf":
            weights = [1.0 / (rank**keys.zipf_exponent) for rank in range(1, count + 1)]
            self._key_weights = list(itertools.accumulate(weights))
        elif keys.distribution == "uniform":
            self._key_weights = list(itertools.accumulate([1.0] * count))
        elif keys.distribution in ("zipfian", "latest"):
            constant = keys.zipfian_constant or Keys.ZIPFIAN_CONSTANT
            self._zipfian = Zipfian(count, constant)
        elif keys.distribution == "scrambled_zipfian":
            self._zipfian = Zipfian(SCRAMBLED_ITEMS, Keys.ZIPFIAN_CONSTANT, SCRAMBLED_ZETAN)
            # CoreWorkload's key space for it: the records and twice the expected inserts.
            self._scrambled_items = count + expected_inserts
        hot_set = keys.hot_set if keys.hot_set is not None else Keys.HOT_SET
        self._hot_count = min(max(1, int(count * hot_set)), count)
        self._hot_operations = (
            keys.hot_operations if keys.hot_operations is not None else Keys.HOT_OPERATIONS
        )
        self._key_count = count
        scan = workload.scan_length
        self._scan_min, self._scan_max = (scan.min, scan.max) if scan is not None else (0, 0)
        self._scan_zipfian = (
            Zipfian(scan.max - scan.min + 1, Keys.ZIPFIAN_CONSTANT)
            if scan is not None and scan.distribution == "zipfian"
            else None
        )
        self._seen: dict[str, Any] = {}
        self._rmw_key: str | None = None  # a read-modify-write's get, in flight
        self._rmw_cas: tuple[str, Any] | None = None  # its cas, due next: (key, value read)
        self._inserting: int | None = None  # the key number of this client's insert running

    def _pick(self, cumulative: list[float]) -> int:
        point = self._rng.random() * cumulative[-1]
        return min(bisect.bisect_right(cumulative, point), len(cumulative) - 1)

    def _choose(self) -> int:
        """The next key number, by the workload's distribution."""
        if self._key_weights:
            return self._pick(self._key_weights)
        distribution = self._distribution
        rng = self._rng
        space = self._space
        zipfian = self._zipfian
        if distribution == "zipfian":
            assert zipfian is not None
            return zipfian.next(rng, space.acknowledged)
        if distribution == "scrambled_zipfian":
            assert zipfian is not None
            while True:
                number = fnv_hash64(zipfian.next(rng)) % self._scrambled_items
                if number < space.acknowledged:
                    return number
        if distribution == "latest":
            assert zipfian is not None
            newest = space.acknowledged - 1
            return newest - zipfian.next(rng, space.acknowledged)
        if distribution == "sequential":
            return space.next_sequential()
        # hotspot
        hot = self._hot_count
        if rng.random() < self._hot_operations or hot == self._key_count:
            return rng.randrange(hot)
        return hot + rng.randrange(self._key_count - hot)

    def next(self, seq: int) -> Operation:
        value = self._client_number * VALUE_SPACE + seq
        if self._inserting is not None:  # a client asks for the next once the last finished
            self._space.acknowledge(self._inserting)
            self._inserting = None
        self._rmw_key = None
        if self._rmw_cas is not None:
            key, expected = self._rmw_cas
            self._rmw_cas = None
            return Operation(Op.CAS, key, (expected, value))
        kind = self._kinds[self._pick(self._op_weights)]
        if kind == "insert":
            self._inserting = self._space.insert()
            return Operation(Op.PUT, key_name(self._inserting, self._digits), value)
        number = self._choose()
        key = key_name(number, self._digits)
        if kind == "put":
            return Operation(Op.PUT, key, value)
        if kind == "cas":
            expected = self._seen.get(key)
            if expected is None or self._rng.random() < 0.25:
                expected = self._client_number * VALUE_SPACE + self._rng.randrange(1, seq + 1)
            return Operation(Op.CAS, key, (expected, value))
        if kind == "scan":
            if not self._scan_max:
                high = min(self._key_count - 1, number + 1 + self._rng.randrange(10))
                return Operation(Op.SCAN, key, key_name(high, self._digits))
            if self._scan_zipfian is not None:
                length = self._scan_min + self._scan_zipfian.next(self._rng)
            else:
                length = self._rng.randint(self._scan_min, self._scan_max)
            return Operation(Op.SCAN, key, key_name(number + length - 1, self._digits))
        if kind == "read_modify_write":
            self._rmw_key = key
            return Operation(Op.GET, key)
        if kind == "delete":
            return Operation(Op.DELETE, key)
        return Operation(Op.GET, key)

    def observe(self, operation: Operation, result: Any) -> None:
        """Remember values seen, so later cas operations expect plausible ones."""
        if operation.f is Op.GET:
            if self._rmw_key == operation.key:
                self._rmw_cas = (operation.key, result)
            if result is not None:
                self._seen[operation.key] = result
        elif operation.f is Op.PUT:
            self._seen[operation.key] = operation.value
        elif operation.f is Op.CAS:
            self._seen[operation.key] = operation.value[1]
