"""Repair (``raft/node.py``, "Repair"; PAR, Alagappan et al., FAST 2018, CTRL): a server
whose disk lost entries it may have acknowledged votes for nobody until the leader of
its term has given them back, and the leader forgets its acknowledgements above what the
server still holds. One test per rule; the cluster-level proof (a damaged committed
entry, then the leader crashes) is ``tests/cluster/test_disk_faults.py``.
"""

from __future__ import annotations

from harmonysim.raft import (
    AppendEntries,
    AppendEntriesResponse,
    HardState,
    RaftNode,
    RepairRequest,
    RepairResponse,
    RequestVote,
    RequestVoteResponse,
    Role,
)

from .harness import ScriptedRand, drain, elect, make_config, sent
from .test_rules import ABC, append, entries, follower, only, three


def repairing(mark: int, log_terms: tuple[int, ...] = (1, 1)) -> RaftNode:
    """Node "b" restarted with the intact prefix ``log_terms`` of a log that reached ``mark``."""
    node = RaftNode(
        make_config("b", ABC),
        ScriptedRand([15]),
        hard_state=HardState(1, None, 0),
        entries=entries(*log_terms),
        repair_until=mark,
    )
    drain(node)
    return node


def votes(node: RaftNode, *, pre_vote: bool) -> list[bool]:
    node.step(RequestVote("c", "b", 2, pre_vote, last_log_index=2, last_log_term=1))
    return [msg.granted for msg in only(sent(drain(node)), RequestVoteResponse)]  # type: ignore[attr-defined]


def test_repair_a_server_in_repair_grants_no_vote_and_no_pre_vote() -> None:
    # The candidate's log is as up to date as what the server still holds: a server that
    # took the damage as the end of its log would grant both (PAR's data loss).
    assert votes(follower((1, 1), term=1), pre_vote=True) == [True]
    assert votes(follower((1, 1), term=1), pre_vote=False) == [True]
    assert votes(repairing(5), pre_vote=True) == [False]
    assert votes(repairing(5), pre_vote=False) == [False]


def test_repair_a_server_in_repair_starts_no_election() -> None:
    node = repairing(5)
    for _ in range(100):
        node.tick()
    assert node.role is Role.FOLLOWER
    assert not only(sent(drain(node)), RequestVote)


def test_repair_a_mark_not_above_the_intact_log_means_no_repair() -> None:
    assert repairing(2).repair_until == 0
    assert repairing(0).repair_until == 0


def test_repair_the_server_asks_the_leader_of_its_term_with_what_it_still_holds() -> None:
    node = repairing(5)
    node.step(append(1, (2, 1)))
    requests = only(sent(drain(node)), RepairRequest)
    assert requests == [RepairRequest("b", "a", 1, 2)]
    node.step(append(1, (2, 1)))  # unanswered: it asks again at the next AppendEntries
    assert only(sent(drain(node)), RepairRequest) == [RepairRequest("b", "a", 1, 2)]


def test_repair_ends_once_the_server_holds_the_leaders_log_up_to_the_mark() -> None:
    node = repairing(4)
    node.step(append(1, (2, 1)))
    drain(node)
    node.step(RepairResponse("a", "b", 1, 6))
    assert node.repair_until == 4  # the leader's log reaches past the mark
    node.step(append(1, (2, 1), entries(1, start=3)))
    assert node.repair_until == 4
    node.step(append(1, (3, 1), entries(1, start=4)))
    assert node.repair_until == 0
    drain(node)
    for _ in range(30):  # repaired: it may campaign again once the leader goes quiet
        node.tick()
    assert only(sent(drain(node)), RequestVote)


def test_repair_what_the_leader_never_had_was_never_committed_and_is_not_waited_for() -> None:
    node = repairing(9)
    node.step(append(1, (2, 1)))
    drain(node)
    node.step(RepairResponse("a", "b", 1, 3))  # the leader's log ends at 3
    assert node.repair_until == 3
    node.step(append(1, (2, 1), entries(1, start=3)))
    assert node.repair_until == 0


def test_repair_only_the_leader_of_the_servers_term_answers_for_the_majority() -> None:
    node = repairing(9)
    node.step(append(1, (2, 1)))
    drain(node)
    node.step(RepairResponse("c", "b", 1, 2))  # not its leader
    assert node.repair_until == 9


def test_repair_the_leader_forgets_acknowledgements_above_what_the_server_holds() -> None:
    cluster = three()
    leader = elect(cluster, "n1")
    for value in ("x", "y", "z"):
        cluster.propose("n1", value)
        cluster.deliver()
    held = leader.progress()["n2"][0]
    assert held == leader.last_index == 4
    leader.step(RepairRequest("n2", "n1", leader.term, 1))
    assert leader.progress()["n2"][0] == 1
    out = sent(drain(leader))
    assert RepairResponse("n1", "n2", leader.term, 4) in out
    probes = [m for m in only(out, AppendEntries) if m.dst == "n2"]  # type: ignore[attr-defined]
    assert [m.prev_log_index for m in probes] == [1]  # type: ignore[attr-defined]


def test_repair_a_follower_ignores_a_repair_request() -> None:
    node = follower((1, 1), term=1)
    node.step(RepairRequest("c", "b", 1, 0))
    out = sent(drain(node))
    assert not only(out, RepairResponse) and not only(out, AppendEntriesResponse)
