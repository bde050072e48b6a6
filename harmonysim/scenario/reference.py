"""The scenario file reference (``docs/scenario-reference.md``), generated from the schema.

Rules:

- Structure, keys, defaults and the closed vocabularies (operations, latency
  distributions, partition shapes, fault actions, checks, bugs) are read from the
  pydantic models of ``harmonysim.scenario.model``; only the one-line meaning of
  each key is written here, in ``KEY_NOTES``, and every key of the schema must
  have one (``missing_notes`` finds those that do not; a test holds it empty).
- The output is deterministic (schema order), so the committed file can be
  compared with a fresh one: ``python -m harmonysim.scenario.reference`` prints it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any, Final

from pydantic import BaseModel

from harmonysim.scenario.bugs import BUG_DESCRIPTIONS
from harmonysim.scenario.model import (
    CHECK_NAMES,
    LATENCY_FIELDS,
    MAX_SEED,
    NEMESIS_KINDS,
    OPERATION_KINDS,
    BTreeSettings,
    ClockFault,
    ClockSettings,
    ClockStrobe,
    ClusterSettings,
    DiskFault,
    DiskFaultSettings,
    DiskRecords,
    DiskSettings,
    DiskSlow,
    Fault,
    FaultKind,
    FaultTrigger,
    Keys,
    Latency,
    LinkOverride,
    LinkRef,
    Load,
    MembershipSettings,
    Nemesis,
    NetworkSettings,
    OneWayCut,
    Partition,
    PartitionKind,
    RaftSettings,
    ScanLength,
    Scenario,
    Transfer,
    Workload,
)

__all__ = ["KEY_NOTES", "missing_notes", "reference_markdown"]

SECTIONS: Final[tuple[tuple[str, type[BaseModel]], ...]] = (
    ("top level", Scenario),
    ("cluster", ClusterSettings),
    ("cluster.raft", RaftSettings),
    ("cluster.btree", BTreeSettings),
    ("cluster.disk", DiskSettings),
    ("cluster.disk.faults", DiskFaultSettings),
    ("cluster.clocks", ClockSettings),
    ("cluster.membership", MembershipSettings),
    ("network", NetworkSettings),
    ("network.latency (and a link's latency)", Latency),
    ("network.links[]", LinkOverride),
    ("workload", Workload),
    ("workload.keys", Keys),
    ("workload.load", Load),
    ("workload.scan_length", ScanLength),
    ("faults[]", Fault),
    ("a fault's partition", Partition),
    ("a partition's one_way", OneWayCut),
    ("a fault's clog / unclog", LinkRef),
    ("a fault's nemesis", Nemesis),
    ("a fault's transfer", Transfer),
    ("a fault's clock", ClockFault),
    ("a clock fault's strobe", ClockStrobe),
    ("a fault's disk", DiskFault),
    ("a disk fault's corrupt / eio", DiskRecords),
    ("a disk fault's slow", DiskSlow),
)

KEY_NOTES: Final[dict[str, str]] = {
    "Scenario.name": "the scenario's name: lowercase letters, digits, - and _; runs go to "
    "runs/<name>/seed-<N>",
    "Scenario.description": "free text, shown by tools",
    "Scenario.seed": f"the root of every random draw, 0 to 2^64 - 1 ({MAX_SEED}); --seed overrides",
    "Scenario.duration": "virtual time the run lasts; every fault must come before its end",
    "Scenario.cluster": "the database servers (below)",
    "Scenario.network": "the simulated network (below)",
    "Scenario.workload": "the clients and their operations (below)",
    "Scenario.faults": "scheduled faults, each a time and one action (below)",
    "Scenario.checks": "the checks that judge the run (see Checks)",
    "Scenario.bugs": "bugs of the library to switch on (see Bugs)",
    "Scenario.swarm": "swarm testing of the settings: a dotted path (`cluster.raft`) to the "
    "values each seed draws one of; a mapping merges into the settings there, every value "
    "of a path naming the same keys; paths joined by commas (`cluster.raft, workload`) are "
    "drawn together, each value a mapping of those paths to theirs (default none)",
    "ClusterSettings.nodes": "how many servers, ids n1..nN (at most 15)",
    "ClusterSettings.members": "the initial Raft configuration is n1..nM; the others are spares an "
    "`add` fault can bring in (default: every node)",
    "ClusterSettings.raft": "Raft timing and options (below)",
    "ClusterSettings.btree": "the B+ tree each server stores (below)",
    "ClusterSettings.disk": "the simulated disk (below)",
    "ClusterSettings.clocks": "each node's clock (below)",
    "ClockSettings.drift_ppm": "each node's clock runs at a rate drawn from the seed in "
    "1 ± drift_ppm / 10^6",
    "ClusterSettings.membership": "the operator that serves `add` / `remove` faults (below)",
    "MembershipSettings.wait": "`committed` (default): ask for the next change once the last "
    "one committed; `accepted`: once a leader accepted it (a fire-and-forget script)",
    "RaftSettings.election_timeout": "[min, max]: each election timer is drawn from this "
    "range (§5.2); at least one tick apart once rounded to ticks",
    "RaftSettings.heartbeat_interval": "how often a leader sends heartbeats; must round to "
    "fewer ticks than the minimum election timeout (§5.6)",
    "RaftSettings.tick": "the Raft clock's granularity: every Raft duration is counted in "
    "whole ticks (rounded)",
    "RaftSettings.prevote": "a candidate first asks whether it could win (thesis §9.6)",
    "RaftSettings.check_quorum": "a leader that hears from no majority for an election "
    "timeout steps down (thesis §6.2)",
    "RaftSettings.lease_reads": "a leader serves reads from its lease, without a ReadIndex "
    "round (§6.4, §8); needs check_quorum",
    "RaftSettings.leader_noop": "a new leader appends an empty entry of its term, so earlier "
    "entries commit at once (§8)",
    "RaftSettings.catch_up": "a server being added is caught up before it votes (thesis §4.2.1)",
    "RaftSettings.max_clock_drift": "the clock drift (a fraction) the lease tolerates: a "
    "lease lasts the minimum election timeout x (1 - d) / (1 + d) (§6.4)",
    "RaftSettings.snapshot_threshold": "applied entries after which a server snapshots and "
    "compacts its log (§7)",
    "BTreeSettings.order": "the most children of an inner node, 3 to 1024",
    "DiskSettings.fsync_latency": "how long an fsync takes; Raft persists before it sends",
    "DiskSettings.write_latency": "how long a write takes",
    "DiskSettings.faults": "storage faults drawn from the seed on every disk (below)",
    "DiskFaultSettings.corrupt": "per record made durable: it reads back damaged at the next "
    "restart (the server repairs it from the leader before it votes again)",
    "DiskFaultSettings.torn": "per crash with writes pending: they land fully, partially (a "
    "prefix, maybe a damaged last record) or not at all",
    "DiskFaultSettings.misdirect": "per append made durable: one record lands at a wrong "
    "position, leaving garbage where it belonged",
    "DiskFaultSettings.read_error": "per record read at a restart: the read fails (EIO)",
    "DiskFaultSettings.slow": "per fsync: it takes `slow_fsync` longer",
    "DiskFaultSettings.slow_fsync": "how much longer a slow fsync takes",
    "DiskFaultSettings.write_error": "per fsync: it fails (EIO); the server fails-stop and "
    "restarts 100ms later from what its disk holds",
    "DiskFault.node": "the node (or `leader`) whose disk misbehaves",
    "DiskFault.corrupt": "durable records read back damaged at the next restart (below)",
    "DiskFault.eio": "reading these durable records fails at the next restart (below)",
    "DiskFault.torn": "`true`: the node's next crash tears its pending writes",
    "DiskFault.misdirect": "`true`: its next durable append puts one record at a wrong position",
    "DiskFault.slow": "its fsyncs take `fsync` (with `for`, then as before)",
    "DiskFault.write_error": "`true`: its next fsync fails (EIO) and the server restarts",
    "DiskRecords.file": "log, hard_state (copy A of the hard state), hard_state.b (copy B: "
    "the server restarts on the other copy, and stops only when both are damaged) or snapshot",
    "DiskRecords.index": "a log index, or `[low, high]`; without it the seed picks one record",
    "DiskSlow.fsync": "how long each fsync takes",
    "NetworkSettings.latency": "one-way delay of every message (see Latency distributions)",
    "NetworkSettings.loss": "probability that a message is dropped, 0 to 1",
    "NetworkSettings.duplicate": "probability that a message is delivered twice, 0 to 1",
    "NetworkSettings.jitter": "extra uniform delay per message, 0 to this: messages reorder",
    "NetworkSettings.links": "settings for particular links, overriding the ones above",
    "Latency.distribution": "constant, uniform, exponential or lognormal",
    "Latency.value": "constant: the delay",
    "Latency.min": "uniform: the smallest delay",
    "Latency.max": "uniform: the largest delay",
    "Latency.mean": "exponential and lognormal: the mean delay",
    "Latency.p99": "lognormal: the 99th percentile (above the mean, below about 14.96 x mean)",
    "LinkOverride.from": "the sending node",
    "LinkOverride.to": "the receiving node",
    "LinkOverride.both_ways": "also the link to -> from",
    "LinkOverride.latency": "this link's latency distribution",
    "LinkOverride.loss": "this link's loss probability",
    "LinkOverride.duplicate": "this link's duplication probability",
    "LinkOverride.jitter": "this link's jitter",
    "Workload.clients": "how many clients (c1, c2, ...); each runs one operation at a time",
    "Workload.rate": "operations per second of all clients together (open loop, e.g. 200/s); "
    "unset: each client starts its next operation when one completes (closed loop)",
    "Workload.mix": "operation -> weight (see Operations); weights need not add up to 1",
    "Workload.keys": "the key space (below)",
    "Workload.timeout": "how long a client waits for an answer before recording `info`",
    "Workload.operations": "each client stops after this many operations (unset: until the end)",
    "Workload.preset": "YCSB core workload a..f: fills mix, keys, load and scan_length with "
    "YCSB's values (a 50/50 get/put, b 95/5, c gets, d latest reads + 5% inserts, e scans of "
    "1-100 + 5% inserts, f gets + read-modify-writes); keys the file gives win",
    "Workload.load": "records written through Raft before the measured phase (below)",
    "Workload.scan_length": "how many records a scan covers (below; unset: 2 to 11 keys)",
    "Keys.count": "how many keys, k0000 up (default: the load's records, else 100); inserts "
    "add keys after them",
    "Keys.distribution": "uniform, zipf (a few hot keys), or YCSB's zipfian, "
    "scrambled_zipfian, latest, sequential, hotspot",
    "Keys.exponent": "the Zipf exponent (zipf only)",
    "Keys.constant": "the zipfian constant, 0 to 1 (zipfian and latest; default YCSB's 0.99)",
    "Keys.hot_set": "hotspot: the fraction of keys that is hot (default 0.2)",
    "Keys.hot_operations": "hotspot: the fraction of requests sent to the hot keys (default 0.8)",
    "Load.records": "how many records, keys k0.. with their number as value (1 to 1,000,000)",
    "Load.batch": "records per replicated command",
    "ScanLength.min": "the fewest records a scan covers",
    "ScanLength.max": "the most records a scan covers",
    "ScanLength.distribution": "uniform, or zipfian (short scans most often)",
    "Fault.at": "when the fault happens (or, with `when`, starts waiting)",
    "Fault.when": "wait from `at` for the first event of this kind, then act once (see Fault "
    "actions); `leader` then means the node of that event",
    "Fault.until": "with `when`: stop waiting at this time (default: the end of the run)",
    "Fault.for": "undo the fault this long after it fired, on the nodes it struck (crash, "
    "pause, partition, clog, clock)",
    "Fault.partition": "cut the network into a shape (see Partition shapes)",
    "Fault.heal": "`all`: remove every partition",
    "Fault.crash": "a node (or `leader`) stops; its disk keeps what was fsynced",
    "Fault.restart": "a crashed node starts again from its disk; `crashed` (or `all`): every "
    "node that is down",
    "Fault.pause": "a node (or `leader`) freezes, keeping its memory (a long GC pause)",
    "Fault.resume": "a paused node runs again; `paused` (or `all`): every paused node",
    "Fault.clog": "a link delivers nothing until unclogged (messages wait, then arrive)",
    "Fault.unclog": "a clogged link, or `all`",
    "Fault.nemesis": "random faults, one step every `interval` until `until` (below)",
    "Fault.add": "add a spare node to the Raft configuration (thesis §4)",
    "Fault.remove": "remove a node (or `leader`) from the Raft configuration",
    "Fault.transfer": "ask whoever leads to hand leadership over (thesis §3.10, below)",
    "Fault.clock": "change one node's clock (below)",
    "Fault.disk": "a storage fault on one node's disk (below)",
    "Transfer.to": "the new leader: a node id, or `any` (the voter whose log matches furthest)",
    "ClockFault.node": "the node (or `leader`) whose clock changes",
    "ClockFault.rate": "its clock runs this many times as fast as real time (0.5: half)",
    "ClockFault.jump": "its wall clock steps, `+2s` or `-500ms` (timers run on the monotonic "
    "clock, which never jumps)",
    "ClockFault.strobe": "its wall clock jumps `delta` ahead and back every `period`",
    "ClockStrobe.delta": "how far the wall clock jumps",
    "ClockStrobe.period": "how often it jumps",
    "Partition.isolate": "cut one node (or `leader`) off from all others",
    "Partition.groups": "nodes talk only within their group; unlisted nodes form one more",
    "Partition.one_way": "drop only the messages from some nodes to others (below)",
    "Partition.bridge": "split the others into two halves that both talk to this node only",
    "Partition.ring": "`true`: each node sees a majority of ring neighbours, no two the same",
    "OneWayCut.from": "the nodes whose messages are dropped",
    "OneWayCut.to": "the nodes that no longer hear them",
    "LinkRef.from": "the sending node (or `leader`)",
    "LinkRef.to": "the receiving node (or `leader`)",
    "LinkRef.both_ways": "also the link to -> from",
    "Nemesis.kinds": f"which faults it draws from: {', '.join(NEMESIS_KINDS)}",
    "Nemesis.interval": "virtual time between two steps",
    "Nemesis.until": "when it stops and undoes what it left in place",
    "Nemesis.overlap": "up to this many of its faults at once, each lasting 1..overlap "
    "intervals (default 1: one fault, then its undo)",
    "Nemesis.target_leader": "probability that a crash, pause, isolation, clock fault or "
    "removal aims at the current leader",
    "Nemesis.chain": "probability, each time, that a fault is followed 1-20ms later by one "
    "more (up to two) of another kind, aimed at the last node struck (a paused leader also cut "
    "off, an old leader isolated just after its transfer, a split then two removals)",
    "Nemesis.on_election": "probability that a fault waits (up to one interval; half of one "
    "with overlap 1, where the next step undoes it) for the next leader to be elected and "
    "strikes it at once",
    "Nemesis.deafen": "probability that an isolated node, deposed while cut off, is healed "
    "only one way: it sends but hears no one for the rest of the run (a gray failure; at most "
    "one node)",
    "Nemesis.strand": "probability that a partition strands the current leader in a minority "
    "with others; a removal chained to it then removes every server it lost that may go (a "
    "dead-server cleanup)",
    "Nemesis.chase": "probability that a partition isolates the current leader and then "
    "each leader elected while it holds, half the time at once, half at its first commit (a "
    "cut that follows leadership)",
    "Nemesis.swarm": "swarm testing: each seed keeps a random subset of the kinds, an overlap "
    "from 1 to `overlap`, and the leader aim, chaining, election timing, deafening, "
    "stranding and chasing each or none (default false)",
}

OPERATION_NOTES: Final[dict[str, str]] = {
    "get": "read one key: ok with its value (or null)",
    "put": "write one key",
    "delete": "remove one key",
    "cas": "compare-and-set one key: `fail` when the compare fails (the value differed)",
    "scan": "read every key from one key to a later one (2 to 11 keys, or as `scan_length` "
    "says): ok with the pairs found",
    "insert": "put a new key, after the last one (the key space grows)",
    "read_modify_write": "a get, then a cas of the same key from the value read to a new one "
    "(two operations in the history)",
}

TRIGGER_NOTES: Final[dict[FaultTrigger, str]] = {
    FaultTrigger.LEADER_ELECTED: "a node becomes leader; `leader` means that node",
    FaultTrigger.LEADER_COMMIT: "the leader advances its commit index",
}

CHECK_NOTES: Final[dict[str, str]] = {
    "raft_safety": "election safety, log matching, leader completeness, state machine "
    "safety, across restarts (online and at the end)",
    "linearizability": "the client history is linearizable against a key-value model",
    "btree_invariants": "every replica's B+ tree is well formed, and replicas agree",
    "liveness": "after the last fault (and before the first) a leader is elected and "
    "clients are served, when a healthy majority makes that possible",
}


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            nested = type(value)
            if all(not field.is_required() for field in nested.model_fields.values()):
                return "see below"
            value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
        return f"`{_yaml(value)}`"
    value = info.default
    if value is None:
        return "-"
    if model in _DEFAULTS_BY_DATA:
        data = _DEFAULTS_BY_DATA[model]().model_dump(mode="json", by_alias=True)
        value = data[info.alias or name]
    return f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_yaml(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    if isinstance(value, str):
        return value if value else '""'
    return f"{value:g}" if isinstance(value, float) else str(value)


_DEFAULTS_BY_DATA: Final[dict[type[BaseModel], Any]] = {
    RaftSettings: RaftSettings,
    BTreeSettings: BTreeSettings,
    DiskSettings: DiskSettings,
    ClockSettings: ClockSettings,
    Keys: Keys,
    Workload: Workload,
    NetworkSettings: NetworkSettings,
    ClusterSettings: ClusterSettings,
}


def _keys(model: type[BaseModel]) -> Iterator[tuple[str, str]]:
    """(YAML key, field name) of a model, in schema order."""
    for name, info in model.model_fields.items():
        yield info.alias or name, name


def missing_notes() -> list[str]:
    """Schema keys with no line in ``KEY_NOTES`` (and notes for keys that do not exist)."""
    keys = {f"{model.__name__}.{key}" for _, model in SECTIONS for key, _ in _keys(model)}
    return sorted(keys ^ set(KEY_NOTES))


def reference_markdown() -> str:
    """The whole reference page."""
    lines = [
        "# Scenario file reference",
        "",
        "<!-- Generated from the schema by `python -m harmonysim.scenario.reference`; "
        "do not edit. -->",
        "",
        "A scenario is one YAML file. Unknown keys are errors. Durations carry a unit "
        "(`150ms`, `2s`, `1m`), rates a time unit (`200/s`), probabilities are numbers "
        "from 0 to 1, node ids are `n1`..`nN`, and where a node is asked for, `leader` "
        "means the node leading when the fault fires.",
    ]
    for title, model in SECTIONS:
        doc = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
        lines += ["", f"## {title}", "", doc, "", "| key | default | meaning |", "|---|---|---|"]
        for key, name in _keys(model):
            note = KEY_NOTES.get(f"{model.__name__}.{key}", "")
            lines.append(f"| `{key}` | {_default(model, name)} | {note} |")
    lines += ["", "## Operations", "", "The keys of `workload.mix`:", ""]
    lines += ["| operation | what it does |", "|---|---|"]
    lines += [f"| `{op}` | {OPERATION_NOTES[op]} |" for op in OPERATION_KINDS]
    lines += [
        "",
        "Each operation ends in the history (`history.jsonl`, Jepsen style) as one of:",
        "",
        "- `ok`: the cluster answered and the operation took effect (or read what it read).",
        "- `fail`: the cluster answered that it did not take effect; for `cas`, the "
        "compare failed (the key held another value). Many `fail` results are normal "
        "in a workload with `cas`.",
        "- `info`: no answer within `workload.timeout`; the operation may or may not "
        "have taken effect (indeterminate), and the checkers treat it so.",
    ]
    lines += ["", "## Latency distributions", "", "| distribution | keys |", "|---|---|"]
    for distribution, fields in LATENCY_FIELDS.items():
        keys = ", ".join(f"`{field}`" for field in fields)
        lines.append(f"| `{distribution}` | {keys} |")
    lines += ["", "## Partition shapes", ""]
    partition_doc = (Partition.__doc__ or "").strip().split("\n\n", 1)[1]
    lines += _bullets(partition_doc)
    lines += ["", f"Shapes: {', '.join(f'`{kind.value}`' for kind in PartitionKind)}."]
    lines += ["", "## Fault actions", "", "Each fault has exactly one of: "]
    lines[-1] += ", ".join(f"`{kind.value}`" for kind in FaultKind) + "."
    lines += ["", "A fault with `when` waits for one of these events:", ""]
    lines += [f"- `{trigger.value}`: {TRIGGER_NOTES[trigger]}" for trigger in FaultTrigger]
    lines += ["", "## Checks", "", "| check | what it judges |", "|---|---|"]
    lines += [f"| `{name}` | {CHECK_NOTES[name]} |" for name in CHECK_NAMES]
    lines += [
        "",
        "## Bugs",
        "",
        "Deliberate defects, to show that the checks catch them (`bugs: [name]` or "
        "`harmonysim run --bug name`; `harmonysim mutants --list` prints this too).",
        "",
        "| bug | what it breaks |",
        "|---|---|",
    ]
    lines += [f"| `{bug}` | {text} |" for bug, text in BUG_DESCRIPTIONS.items()]
    return "\n".join(lines) + "\n"


def _bullets(text: str) -> list[str]:
    """A docstring's ``- item`` list, each item joined onto one line."""
    items: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            items.append(stripped)
        elif stripped and items:
            items[-1] += " " + stripped
    return items


if __name__ == "__main__":
    sys.stdout.write(reference_markdown())
