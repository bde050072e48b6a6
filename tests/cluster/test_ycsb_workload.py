"""YCSB workloads: the presets' published values, the request distributions, inserts that
grow the key space, read-modify-write, and the draws of existing workloads unchanged."""

from __future__ import annotations

import bisect
import itertools
import random
from collections import Counter
from typing import Any

import pytest

from harmonysim.cluster.commands import Op, Operation
from harmonysim.cluster.workload import KeySpace, OperationGenerator, Zipfian
from harmonysim.scenario import ScenarioError, Workload, parse_scenario


def workload(**fields: Any) -> Workload:
    return Workload.model_validate(fields)


def draws(generator: OperationGenerator, count: int) -> list[Operation]:
    operations = []
    for seq in range(1, count + 1):
        operation = generator.next(seq)
        operations.append(operation)
    return operations


# -- the presets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "mix", "distribution"),
    [
        ("a", {"get": 0.5, "put": 0.5}, "scrambled_zipfian"),
        ("b", {"get": 0.95, "put": 0.05}, "scrambled_zipfian"),
        ("c", {"get": 1.0}, "scrambled_zipfian"),
        ("d", {"get": 0.95, "insert": 0.05}, "latest"),
        ("e", {"scan": 0.95, "insert": 0.05}, "scrambled_zipfian"),
        ("f", {"get": 0.5, "read_modify_write": 0.5}, "scrambled_zipfian"),
    ],
)
def test_a_preset_is_ycsbs_published_workload(
    preset: str, mix: dict[str, float], distribution: str
) -> None:
    chosen = workload(preset=preset)
    assert chosen.mix == mix
    assert chosen.keys.distribution == distribution
    assert chosen.load is not None and chosen.load.records == 1000
    assert chosen.keys.count == 1000  # the key space is the loaded records
    if preset == "e":
        assert chosen.scan_length is not None
        assert (chosen.scan_length.min, chosen.scan_length.max) == (1, 100)
        assert chosen.scan_length.distribution == "uniform"
    else:
        assert chosen.scan_length is None


def test_every_field_of_a_preset_can_be_overridden() -> None:
    chosen = workload(
        preset="a",
        mix={"get": 0.1, "put": 0.9},
        keys={"distribution": "hotspot"},
        load={"records": 20_000, "batch": 500},
    )
    assert chosen.mix == {"get": 0.1, "put": 0.9}  # a mix is replaced whole
    assert chosen.keys.distribution == "hotspot"
    assert chosen.keys.count == 20_000  # follows the overridden load
    assert chosen.load is not None and (chosen.load.records, chosen.load.batch) == (20_000, 500)


def test_an_unknown_preset_is_an_error_naming_the_field() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: x\nduration: 1s\nworkload: {preset: g}\n")
    assert caught.value.field == "workload.preset"
    assert "a, b, c, d, e, f" in str(caught.value)


def test_a_key_space_smaller_than_the_load_is_an_error() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: x\nduration: 1s\nworkload: {load: {records: 500}, keys: {count: 100}}\n"
        )
    assert caught.value.field == "workload.keys.count"


def test_a_distributions_option_on_another_distribution_is_an_error() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: x\nduration: 1s\nworkload: {keys: {distribution: uniform, hot_set: 0.1}}\n"
        )
    assert caught.value.field == "workload.keys.hot_set"


# -- existing workloads draw what they always drew ---------------------------------------


def legacy_draws(chosen: Workload, client: int, rng: random.Random, count: int) -> list[Any]:
    """The generator as it was before YCSB workloads (uniform and zipf over k0000 up)."""
    ops = [op for op in (Op.GET, Op.PUT, Op.DELETE, Op.CAS, Op.SCAN) if op.value in chosen.mix]
    op_weights = list(itertools.accumulate(chosen.mix[op.value] for op in ops))
    keys = chosen.keys.count
    if chosen.keys.distribution == "zipf":
        weights = [1.0 / (rank**chosen.keys.zipf_exponent) for rank in range(1, keys + 1)]
    else:
        weights = [1.0] * keys
    key_weights = list(itertools.accumulate(weights))

    def pick(cumulative: list[float]) -> int:
        point = rng.random() * cumulative[-1]
        return min(bisect.bisect_right(cumulative, point), len(cumulative) - 1)

    out = []
    for seq in range(1, count + 1):
        op = ops[pick(op_weights)]
        key = f"k{pick(key_weights):04d}"
        value = client * 1_000_000 + seq
        if op is Op.CAS:
            # Nothing was seen (no answers here), so the expected value is a fresh one.
            expected = client * 1_000_000 + rng.randrange(1, seq + 1)
            out.append((op, key, (expected, value)))
        elif op is Op.SCAN:
            high = min(keys - 1, int(key[1:]) + 1 + rng.randrange(10))
            out.append((op, key, f"k{high:04d}"))
        elif op is Op.PUT:
            out.append((op, key, value))
        else:
            out.append((op, key, None))
    return out


@pytest.mark.parametrize("distribution", ["uniform", "zipf"])
def test_existing_workloads_draw_the_same_operations(distribution: str) -> None:
    chosen = workload(
        mix={"get": 0.3, "put": 0.3, "delete": 0.1, "cas": 0.1, "scan": 0.2},
        keys={"count": 150, "distribution": distribution, "exponent": 1.1},
    )
    generator = OperationGenerator(chosen, 3, random.Random("seed/client/c3"))
    got = [(op.f, op.key, op.value) for op in draws(generator, 500)]
    assert got == legacy_draws(chosen, 3, random.Random("seed/client/c3"), 500)


# -- request distributions -----------------------------------------------------------------


def key_counts(chosen: Workload, count: int = 20_000) -> Counter[int]:
    generator = OperationGenerator(chosen, 1, random.Random(7))
    return Counter(int(op.key[1:]) for op in draws(generator, count))


def test_zipfian_makes_the_first_keys_hottest_by_zipfs_law() -> None:
    counts = key_counts(workload(mix={"get": 1}, keys={"count": 1000, "distribution": "zipfian"}))
    assert counts.most_common(1)[0][0] == 0
    # P(rank) ~ 1 / rank^0.99: rank 1 is drawn about twice as often as rank 2.
    assert 1.7 < counts[0] / counts[1] < 2.3
    assert counts[0] > 10 * counts[100]


def test_scrambled_zipfian_spreads_the_hot_keys_over_the_key_space() -> None:
    counts = key_counts(
        workload(mix={"get": 1}, keys={"count": 1000, "distribution": "scrambled_zipfian"})
    )
    hottest = [key for key, _ in counts.most_common(10)]
    assert counts.most_common(1)[0][1] > 5 * (20_000 / 1000)  # skewed...
    assert max(hottest) - min(hottest) > 300  # ...but not on neighbouring keys
    assert hottest[0] != 0
    assert all(key < 1000 for key in counts)


def test_hotspot_sends_the_hot_operations_to_the_hot_set() -> None:
    counts = key_counts(
        workload(
            mix={"get": 1},
            keys={"count": 1000, "distribution": "hotspot", "hot_set": 0.1, "hot_operations": 0.9},
        )
    )
    hot = sum(n for key, n in counts.items() if key < 100)
    assert 0.88 < hot / 20_000 < 0.92
    assert max(counts) >= 900  # the cold set is drawn too


def test_sequential_walks_the_key_space_in_turn_across_clients() -> None:
    chosen = workload(mix={"get": 1}, keys={"count": 5, "distribution": "sequential"})
    space = KeySpace(5)
    first = OperationGenerator(chosen, 1, random.Random(1), space)
    second = OperationGenerator(chosen, 2, random.Random(2), space)
    keys = [generator.next(1).key for generator in (first, second, first, second, first, second)]
    assert keys == ["k0000", "k0001", "k0002", "k0003", "k0004", "k0000"]


def test_inserts_grow_the_key_space_and_latest_reads_the_newest_keys() -> None:
    chosen = workload(
        mix={"get": 0.5, "insert": 0.5},
        keys={"distribution": "latest"},
        load={"records": 1000},
    )
    space = KeySpace(chosen.keys.count)
    generators = [OperationGenerator(chosen, n, random.Random(n), space) for n in (1, 2)]
    inserted: list[str] = []
    reads: list[int] = []
    for seq in range(1, 2001):
        for generator in generators:
            operation = generator.next(seq)
            if operation.f is Op.PUT:
                inserted.append(operation.key)
            else:
                reads.append(int(operation.key[1:]))
    # Inserts take fresh keys in turn, shared by the clients, all of one width.
    assert inserted == [f"k{n:08d}" for n in range(1000, 1000 + len(inserted))]
    assert space.count == 1000 + len(inserted)
    late = reads[len(reads) // 2 :]
    assert sum(1 for key in late if key >= 1000) > 0.8 * len(late)


def test_a_zipfian_draw_stays_in_range_as_the_item_count_grows() -> None:
    zipfian = Zipfian(10, 0.99)
    rng = random.Random(3)
    for items in range(10, 2000, 7):
        assert 0 <= zipfian.next(rng, items) < items


# -- operations ------------------------------------------------------------------------------


def test_read_modify_write_is_a_get_then_a_cas_from_the_value_read() -> None:
    chosen = workload(mix={"read_modify_write": 1}, keys={"count": 10})
    generator = OperationGenerator(chosen, 2, random.Random(5))
    get = generator.next(1)
    assert get.f is Op.GET
    generator.observe(get, 17)
    cas = generator.next(2)
    assert (cas.f, cas.key, cas.value) == (Op.CAS, get.key, (17, 2_000_002))
    # A get that did not return ok (no observe) ends the pair: the next is a new get.
    assert generator.next(3).f is Op.GET
    assert generator.next(4).f is Op.GET


def test_scans_cover_a_range_of_min_to_max_records() -> None:
    chosen = workload(
        mix={"scan": 1},
        keys={"count": 10_000},
        scan_length={"min": 5, "max": 40},
    )
    generator = OperationGenerator(chosen, 1, random.Random(9))
    lengths = [int(op.value[1:]) - int(op.key[1:]) + 1 for op in draws(generator, 2000)]
    assert min(lengths) == 5
    assert max(lengths) == 40


def test_keys_of_a_growing_key_space_have_one_width_so_ranges_are_numeric() -> None:
    assert workload(keys={"count": 100}).key_digits == 4
    assert workload(keys={"count": 100_000}).key_digits == 5
    assert workload(mix={"insert": 1}, keys={"count": 100}).key_digits == 8
    loaded = workload(load={"records": 3}).loaded_values()
    assert loaded == {"k0000": 0, "k0001": 1, "k0002": 2}


def test_the_load_batches_write_exactly_the_loaded_values() -> None:
    from harmonysim.cluster.workload import load_batch

    chosen = workload(load={"records": 2500, "batch": 1000}, mix={"get": 1, "insert": 1})
    batches = [load_batch(chosen, seq) for seq in range(1, 5)]
    assert [len(batch) for batch in batches] == [1000, 1000, 500, 0]
    written = [pair for batch in batches for pair in batch]
    assert dict(written) == chosen.loaded_values()
    assert [key for key, _ in written] == sorted(key for key, _ in written)  # in key order


def test_requests_name_only_keys_whose_inserts_finished() -> None:
    space = KeySpace(10)
    first, second, third = space.insert(), space.insert(), space.insert()
    assert (first, second, third, space.acknowledged) == (10, 11, 12, 10)
    space.acknowledge(second)  # finished out of turn: key 10 is still on its way
    assert space.acknowledged == 10
    space.acknowledge(first)
    assert space.acknowledged == 12
    # A client whose insert is running holds the latest distribution below its key.
    chosen = workload(
        mix={"get": 1, "insert": 1}, keys={"distribution": "latest"}, load={"records": 50}
    )
    shared = KeySpace(50)
    writer = OperationGenerator(chosen, 1, random.Random(1), shared)
    reader = OperationGenerator(chosen, 2, random.Random(2), shared)
    while (insert := writer.next(1)).f is not Op.PUT:
        pass
    running = int(insert.key[1:])
    reads = [int(op.key[1:]) for op in draws(reader, 300) if op.f is Op.GET]
    assert reads and max(reads) < running
    writer.next(2)  # its insert finished: now it may be read
    assert shared.acknowledged > running
