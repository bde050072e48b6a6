"""The commands of the Raft transcripts (``transcripts/*.txt``), over the in-memory harness.

A transcript is a datadriven file (``datadriven.py``) of commands against one ``Cluster``
of pure ``RaftNode``s; each command prints what happened, so the file reads as the
exchange itself. After the style of etcd-io/raft's ``rafttest`` interaction
environment, with our own command names and message format (``describe_message``).

Rules of this file:

- Nothing happens unless a command says so: ticks, campaigns and proposals put messages
  on the network; only ``deliver`` (or ``settle``) hands them over. Delivery is oldest
  first and includes the messages the delivered ones cause, until none matches.
- Output lines are the harness' transcript lines -- each message delivered
  (``n1->n2 App term=1 ...``) or lost (``drop ...``), each role change, installed
  snapshot and served read -- after the command's own result, if it has one.
- Election timeouts are scripted: each node replays its ``timeouts=(...)`` (default: the
  maximum timeout) every time its timer restarts, so no transcript depends on a seed.
- Expectations (``expect-leader``, ``expect-committed``, ``expect-node``) check the nodes
  themselves, never the text: a failed one prints ``FAILED ...`` and is recorded in
  ``Interaction.failures``, which fails the test whatever the stored output says, so a
  rewrite cannot make a wrong outcome pass. They do not stop the run (a bug test runs
  the same transcript to its end).
- The harness' safety checks (Figure 3 of the Raft paper) run on every step; with
  ``strict`` a violation stops the transcript at the command that caused it. At the end
  Log Matching is checked over all live nodes.
- A bad command (unknown name, argument or node; a value of the wrong kind) is an error
  naming the file and line, never a silent no-op.

Commands (``<id>``: a node; ``(a,b)``: a list):

  add-nodes [<id>...] [voters=(..)] [prevote=B] [check-quorum=B] [lease-reads=B]
            [catch-up=B] [election=(min,max)] [heartbeat=N] [max-entries=N] [bugs=(..)]
    <id> [timeouts=(..)] [log=(terms)] [term=N] [vote=<id>] [commit=N]   (input lines)
      Start nodes with empty disks (or the given log). The first call's options and
      voters (default: its nodes) are the cluster's; later calls inherit them, so a node
      added later is not a voter until a configuration change makes it one.
  tick [<id>...] [n=N]          tick the nodes (default: every live node) N times
  settle [ticks=N]              N times: tick every live node, then deliver everything
  campaign <id>                 start an election now
  propose <id> <value>          append a client command at the leader
  propose-conf-change <id> add=<id> | remove=<id>
  deliver [from=(..)] [to=(..)] [type=(..)] [count=N]
  drop [from=(..)] [to=(..)] [type=(..)]      lose in-flight messages
  network                       list the in-flight messages
  crash <id> / restart <id>     lose everything volatile / rebuild from the disk
  partition <id,id,..> <id,..>  cut every link between groups (and of nodes in none); heal
  compact <id> [index=N]        snapshot the state machine (default: at its applied index)
  transfer-leadership from=<id> to=<id>
  read <id> <request>           ReadIndex, or the lease with lease-reads=true
  state / log <id>              every node's state / one node's log, entry by entry
  expect-leader <id>|none [term=N]
  expect-committed              (input: the committed entries, one per line)
  expect-node <id> field=value...
      fields: role term vote leader commit applied last snapshot voters log reads
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harmonysim.raft import ConfigOp, Message, describe_entry, describe_message

from .datadriven import Case, DataDrivenError, FileRun, parse_args, run_file
from .harness import Cluster, ScriptedRand

MESSAGE_KINDS = (
    "PreVote",
    "Vote",
    "PreVoteResp",
    "VoteResp",
    "App",
    "AppResp",
    "Snap",
    "SnapResp",
    "TimeoutNow",
    "Repair",
    "RepairResp",
)

_BOOLEAN_OPTIONS = {
    "prevote": "prevote",
    "check-quorum": "check_quorum",
    "lease-reads": "lease_reads",
    "catch-up": "catch_up_new_servers",
}
_INTEGER_OPTIONS = {
    "heartbeat": "heartbeat_interval_ticks",
    "max-entries": "max_entries_per_append",
}


def message_kind(msg: Message) -> str:
    """``App``, ``VoteResp``...: the word after the arrow in ``describe_message``."""
    return describe_message(msg).split(" ", 2)[1]


def _integer(case: Case, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise case.error(f"{key}= expects an integer, got {value!r}") from None


def _boolean(case: Case, key: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise case.error(f"{key}= expects true or false, got {value!r}")
    return value == "true"


def _single(case: Case, key: str, values: tuple[str, ...]) -> str:
    if len(values) != 1:
        raise case.error(f"{key}= expects one value, got {len(values)}")
    return values[0]


def _number(
    case: Case, keyed: dict[str, tuple[str, ...]], key: str, default: int | None = None
) -> int | None:
    """The integer ``key=N`` (not negative), or ``default`` when the key is absent."""
    if key not in keyed:
        return default
    value = _integer(case, key, _single(case, key, keyed[key]))
    if value < 0:
        raise case.error(f"{key}= must not be negative, got {value}")
    return value


@dataclass
class Interaction:
    """One transcript's cluster and what its expectations found."""

    bugs: frozenset[str] = frozenset()  # switched on in every node, on top of the file's
    strict: bool = True
    cluster: Cluster | None = None
    options: dict[str, Any] = field(default_factory=dict)
    voters: tuple[str, ...] = ()
    expectations: int = 0
    failures: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ dispatch

    def handle(self, case: Case) -> list[str]:
        handler = COMMANDS.get(case.command)
        if handler is None:
            raise case.error(f"unknown command; known: {', '.join(sorted(COMMANDS))}")
        if self.cluster is None and case.command != "add-nodes":
            raise case.error("no nodes yet: a transcript starts with add-nodes")
        if self.cluster is not None:
            self.cluster.transcript = []
        try:
            own = handler(self, case)
        except DataDrivenError:
            raise
        except Exception as error:  # the harness or the node refused: say where
            raise case.error(f"{type(error).__name__}: {error}") from error
        happened = self.cluster.transcript if self.cluster is not None else None
        lines = own + (happened or [])
        return lines or ["ok"]

    def run(self, path: Path) -> FileRun:
        result = run_file(path, self.handle)
        if self.cluster is not None:
            self.cluster.check_log_matching()
        return result

    # ------------------------------------------------------------------ helpers

    @property
    def nodes(self) -> Cluster:
        assert self.cluster is not None
        return self.cluster

    def check_args(
        self, case: Case, *, positional: tuple[int, int] = (0, 0), keys: Sequence[str] = ()
    ) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
        words, keyed = case.positional, case.keyed()
        low, high = positional
        if not low <= len(words) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise case.error(f"expects {wanted} plain arguments, got {list(words)}")
        unknown = sorted(set(keyed) - set(keys))
        if unknown:
            raise case.error(f"unknown arguments {unknown}; known: {sorted(keys)}")
        return words, keyed

    def node_id(self, case: Case, node_id: str, *, live: bool = True) -> str:
        if node_id not in self.nodes.nodes:
            raise case.error(f"no node {node_id!r}; nodes: {', '.join(self.nodes.ids)}")
        if live and self.nodes.nodes[node_id] is None:
            raise case.error(f"{node_id} is crashed")
        return node_id

    def message_filter(
        self, case: Case, keyed: dict[str, tuple[str, ...]]
    ) -> Callable[[Message], bool]:
        sources = {self.node_id(case, i, live=False) for i in keyed.get("from", ())}
        targets = {self.node_id(case, i, live=False) for i in keyed.get("to", ())}
        kinds = set(keyed.get("type", ()))
        unknown = sorted(kinds - set(MESSAGE_KINDS))
        if unknown:
            raise case.error(f"unknown message types {unknown}; known: {', '.join(MESSAGE_KINDS)}")
        return lambda msg: (
            ("from" not in keyed or msg.src in sources)
            and ("to" not in keyed or msg.dst in targets)
            and ("type" not in keyed or message_kind(msg) in kinds)
        )

    def state_line(self, node_id: str) -> str:
        return self.nodes.state_lines()[self.nodes.ids.index(node_id)]

    def expect(self, case: Case, problem: str | None, wanted: str) -> list[str]:
        self.expectations += 1
        if problem is None:
            return ["ok"]
        failure = f"expected {wanted}, but {problem}"
        self.failures.append(f"{case.path}:{case.line}: {failure}")
        return [f"FAILED: {failure}"]

    # ------------------------------------------------------------------ commands

    def add_nodes(self, case: Case) -> list[str]:
        keys = [*_BOOLEAN_OPTIONS, *_INTEGER_OPTIONS, "voters", "election", "bugs"]
        words, keyed = self.check_args(case, positional=(0, 1_000), keys=keys)
        options = dict(self.options)
        for key, name in _BOOLEAN_OPTIONS.items():
            if key in keyed:
                options[name] = _boolean(case, key, _single(case, key, keyed[key]))
        for key, name in _INTEGER_OPTIONS.items():
            if key in keyed:
                options[name] = _number(case, keyed, key)
        if "election" in keyed:
            bounds = [_integer(case, "election", value) for value in keyed["election"]]
            if len(bounds) != 2:
                raise case.error("election= expects (min,max)")
            options["election_timeout_ticks_min"], options["election_timeout_ticks_max"] = bounds
        options.setdefault("election_timeout_ticks_min", 10)
        options.setdefault("election_timeout_ticks_max", 20)
        options.setdefault("heartbeat_interval_ticks", 3)
        if "bugs" in keyed:
            options["bugs"] = frozenset(keyed["bugs"])
        per_node: dict[str, dict[str, tuple[str, ...]]] = {word: {} for word in words}
        for line in case.input:
            args = parse_args(line)
            if not args or args[0].values is not None:
                raise case.error(f"input line {line!r}: expected '<id> key=value...'")
            if args[0].key in per_node:
                raise case.error(f"node {args[0].key} is given twice")
            per_node[args[0].key] = {arg.key: arg.values or () for arg in args[1:]}
        if not per_node:
            raise case.error("no nodes given")
        first = self.cluster is None
        voters = keyed.get("voters", self.voters if not first else tuple(per_node))
        if first:
            self.cluster = Cluster([], strict=self.strict)
            self.cluster.transcript = []
            self.options = options
            self.voters = tuple(sorted(voters))
        for node_id, settings in per_node.items():
            self.add_node(case, node_id, settings, voters, options)
        return [self.state_line(node_id) for node_id in per_node]

    def add_node(
        self,
        case: Case,
        node_id: str,
        settings: dict[str, tuple[str, ...]],
        voters: Sequence[str],
        options: dict[str, Any],
    ) -> None:
        unknown = sorted(set(settings) - {"timeouts", "log", "term", "vote", "commit"})
        if unknown:
            raise case.error(f"{node_id}: unknown settings {unknown}")
        if node_id in self.nodes.nodes:
            raise case.error(f"node {node_id} exists already")
        timeouts = [_integer(case, "timeouts", t) for t in settings.get("timeouts", ())]
        rand = ScriptedRand(timeouts or [options["election_timeout_ticks_max"]])
        bugs = frozenset(options.get("bugs", ())) | self.bugs
        try:
            self.nodes.add_node(node_id, voters=voters, rand=rand, **{**options, "bugs": bugs})
        except ValueError as error:
            raise case.error(f"{node_id}: {error}") from None
        if "log" in settings or "term" in settings:
            vote = settings.get("vote")
            self.nodes.load(
                node_id,
                [_integer(case, "log", t) for t in settings.get("log", ())],
                term=_number(case, settings, "term"),
                commit=_number(case, settings, "commit", 0) or 0,
                voted_for=_single(case, "vote", vote) if vote is not None else None,
            )

    def tick(self, case: Case) -> list[str]:
        words, keyed = self.check_args(case, positional=(0, 1_000), keys=["n"])
        times = _number(case, keyed, "n", 1) or 0
        if not words:
            self.nodes.tick_all(times)
            return []
        ids = [self.node_id(case, word) for word in words]
        for _ in range(times):
            for node_id in ids:
                self.nodes.tick(node_id)
        return []

    def settle(self, case: Case) -> list[str]:
        _, keyed = self.check_args(case, keys=["ticks"])
        self.nodes.settle(ticks=_number(case, keyed, "ticks", 1) or 0)
        return []

    def campaign(self, case: Case) -> list[str]:
        [node_id], _ = self.check_args(case, positional=(1, 1))
        self.nodes.campaign(self.node_id(case, node_id))
        return []

    def propose(self, case: Case) -> list[str]:
        [node_id, value], _ = self.check_args(case, positional=(2, 2))
        index = self.nodes.propose(self.node_id(case, node_id), value)
        return [self.appended(node_id, index)]

    def propose_conf_change(self, case: Case) -> list[str]:
        [node_id], keyed = self.check_args(case, positional=(1, 1), keys=["add", "remove"])
        if len(keyed) != 1:
            raise case.error("expects one of add=<id> or remove=<id>")
        [(op, values)] = keyed.items()
        target = _single(case, op, values)
        leader = self.node_id(case, node_id)
        index = self.nodes.propose_config_change(leader, ConfigOp(op), target)
        return [self.appended(leader, index)]

    def appended(self, node_id: str, index: int | None) -> str:
        if index is None:
            return "refused"
        [entry] = self.nodes.node(node_id).entries(index, index)
        return f"appended {describe_entry(entry)}"

    def deliver(self, case: Case) -> list[str]:
        _, keyed = self.check_args(case, keys=["from", "to", "type", "count"])
        where = self.message_filter(case, keyed)
        limit = _number(case, keyed, "count")
        delivered = 0
        while limit is None or delivered < limit:
            network = self.nodes.network
            position = next((n for n, msg in enumerate(network) if where(msg)), None)
            if position is None:
                break
            self.nodes.deliver_at(position)
            delivered += 1
            if delivered > 100_000:
                raise case.error("message delivery did not quiesce")
        return []

    def drop(self, case: Case) -> list[str]:
        _, keyed = self.check_args(case, keys=["from", "to", "type"])
        self.nodes.drop(self.message_filter(case, keyed))
        return []

    def network(self, case: Case) -> list[str]:
        self.check_args(case)
        return [describe_message(msg) for msg in self.nodes.network] or ["none in flight"]

    def crash(self, case: Case) -> list[str]:
        [node_id], _ = self.check_args(case, positional=(1, 1))
        self.nodes.crash(self.node_id(case, node_id))
        return []

    def restart(self, case: Case) -> list[str]:
        [node_id], _ = self.check_args(case, positional=(1, 1))
        if self.nodes.nodes[self.node_id(case, node_id, live=False)] is not None:
            raise case.error(f"{node_id} is running: crash it first")
        self.nodes.restart(node_id)
        return [self.state_line(node_id)]

    def partition(self, case: Case) -> list[str]:
        words, _ = self.check_args(case, positional=(1, 1_000))
        groups = [[self.node_id(case, i, live=False) for i in word.split(",")] for word in words]
        self.nodes.partition(*groups)
        cut = sorted({"<->".join(sorted(pair)) for pair in self.nodes.blocked})
        return [f"cut {' '.join(cut)}" if cut else "no link cut"]

    def heal(self, case: Case) -> list[str]:
        self.check_args(case)
        self.nodes.heal()
        return []

    def compact(self, case: Case) -> list[str]:
        [node_id], keyed = self.check_args(case, positional=(1, 1), keys=["index"])
        snapshot = self.nodes.compact(self.node_id(case, node_id), _number(case, keyed, "index"))
        return [f"snapshot {snapshot.index}@{snapshot.term} voters={','.join(snapshot.voters)}"]

    def transfer_leadership(self, case: Case) -> list[str]:
        _, keyed = self.check_args(case, keys=["from", "to"])
        if set(keyed) != {"from", "to"}:
            raise case.error("expects from=<id> to=<id>")
        leader = self.node_id(case, _single(case, "from", keyed["from"]))
        target = self.node_id(case, _single(case, "to", keyed["to"]), live=False)
        started = self.nodes.node(leader).transfer_leadership(target)
        self.nodes.process(leader)
        return ["started" if started else "refused"]

    def read(self, case: Case) -> list[str]:
        [node_id, request], _ = self.check_args(case, positional=(2, 2))
        accepted = self.nodes.read_index(self.node_id(case, node_id), request)
        return ["accepted" if accepted else "refused"]

    def state(self, case: Case) -> list[str]:
        self.check_args(case)
        return self.nodes.state_lines()

    def log(self, case: Case) -> list[str]:
        [node_id], _ = self.check_args(case, positional=(1, 1))
        node = self.nodes.node(self.node_id(case, node_id))
        lines = []
        snapshot = node.snapshot
        if snapshot is not None:
            lines.append(
                f"snapshot {snapshot.index}@{snapshot.term} voters={','.join(snapshot.voters)}"
            )
        held = node.entries(node.first_index, node.last_index)
        lines.extend(describe_entry(entry) for entry in held)
        return lines or ["empty"]

    # ------------------------------------------------------------------ expectations

    def expect_leader(self, case: Case) -> list[str]:
        [who], keyed = self.check_args(case, positional=(1, 1), keys=["term"])
        leaders = self.nodes.leaders()
        if who == "none":
            if "term" in keyed:
                raise case.error("term= makes no sense with none")
            led = f"{', '.join(leaders)} lead" if leaders else None
            return self.expect(case, led, "no leader")
        self.node_id(case, who, live=False)
        term = _number(case, keyed, "term")
        wanted = f"leader {who}" + (f" term={term}" if term is not None else "")
        problem: str | None
        if leaders != [who]:
            problem = f"the leaders are [{', '.join(leaders)}]"
        elif term is not None and self.nodes.node(who).term != term:
            problem = f"{who} leads term {self.nodes.node(who).term}"
        else:
            problem = None
        return self.expect(case, problem, wanted)

    def expect_committed(self, case: Case) -> list[str]:
        self.check_args(case)
        committed = self.nodes.committed
        got = [describe_entry(committed[index]) for index in sorted(committed)]
        wanted = [line.strip() for line in case.input]
        problem = None if got == wanted else f"committed [{', '.join(got)}]"
        return self.expect(case, problem, f"committed [{', '.join(wanted)}]")

    def expect_node(self, case: Case) -> list[str]:
        [node_id], keyed = self.check_args(case, positional=(1, 1), keys=NODE_FIELDS)
        if not keyed:
            raise case.error(f"expects at least one field; fields: {', '.join(NODE_FIELDS)}")
        self.node_id(case, node_id, live=False)
        wanted = " ".join(f"{key}={','.join(values)}" for key, values in keyed.items())
        if self.nodes.nodes[node_id] is None:
            return self.expect(case, f"{node_id} is crashed", f"{node_id} {wanted}")
        got = self.node_fields(node_id)
        wrong = [
            f"{key}={','.join(got[key])}" for key, values in keyed.items() if got[key] != values
        ]
        problem = f"{node_id} has {' '.join(wrong)}" if wrong else None
        return self.expect(case, problem, f"{node_id} {wanted}")

    def node_fields(self, node_id: str) -> dict[str, tuple[str, ...]]:
        node = self.nodes.node(node_id)
        reads = self.nodes.read_states[node_id]
        return {
            "role": (node.role.name,),
            "term": (str(node.term),),
            "vote": (node.voted_for or "-",),
            "leader": (node.leader or "-",),
            "commit": (str(node.commit_index),),
            "applied": (str(node.applied_index),),
            "last": (str(node.last_index),),
            "snapshot": (str(node.snapshot_index),),
            "voters": node.voters,
            "log": tuple(
                str(entry.term) for entry in node.entries(node.first_index, node.last_index)
            ),
            "reads": tuple(f"{state.request_id}@{state.index}" for state, _ in reads),
        }


NODE_FIELDS = (
    "role",
    "term",
    "vote",
    "leader",
    "commit",
    "applied",
    "last",
    "snapshot",
    "voters",
    "log",
    "reads",
)

COMMANDS: dict[str, Callable[[Interaction, Case], list[str]]] = {
    "add-nodes": Interaction.add_nodes,
    "tick": Interaction.tick,
    "settle": Interaction.settle,
    "campaign": Interaction.campaign,
    "propose": Interaction.propose,
    "propose-conf-change": Interaction.propose_conf_change,
    "deliver": Interaction.deliver,
    "drop": Interaction.drop,
    "network": Interaction.network,
    "crash": Interaction.crash,
    "restart": Interaction.restart,
    "partition": Interaction.partition,
    "heal": Interaction.heal,
    "compact": Interaction.compact,
    "transfer-leadership": Interaction.transfer_leadership,
    "read": Interaction.read,
    "state": Interaction.state,
    "log": Interaction.log,
    "expect-leader": Interaction.expect_leader,
    "expect-committed": Interaction.expect_committed,
    "expect-node": Interaction.expect_node,
}
