"""Membership changes (thesis §4.1, §4.2.2) and log compaction / InstallSnapshot (§7)."""

from __future__ import annotations

from harmonysim.raft import (
    AppendEntries,
    ConfigChange,
    ConfigOp,
    Entry,
    EntryKind,
    HardState,
    InstallSnapshot,
    RaftNode,
    Role,
    Snapshot,
)

from .harness import Cluster, ScriptedRand, drain, elect, make_config, to

ABC = ("a", "b", "c")


def four_with_spare() -> Cluster:
    """n1..n3 voters; n4 runs but is not a member yet."""
    ids = ["n1", "n2", "n3", "n4"]
    timeouts = {"n1": 20, "n2": 14, "n3": 18, "n4": 20}
    rands = {node_id: ScriptedRand([timeouts[node_id]]) for node_id in ids}
    return Cluster(ids, voters=["n1", "n2", "n3"], rands=rands)


# ============================================================== §4.1 single-server changes


def test_4_1_added_voter_catches_up_and_counts_in_the_quorum() -> None:
    cluster = four_with_spare()
    leader = elect(cluster, "n1")
    cluster.propose("n1", "x")
    cluster.deliver()
    index = cluster.propose_config_change("n1", ConfigOp.ADD, "n4")
    assert index == 3
    assert leader.voters == ("n1", "n2", "n3", "n4")  # in effect once appended
    cluster.deliver()
    cluster.settle(ticks=4)
    assert leader.commit_index == 3
    n4 = cluster.node("n4")
    assert n4.voters == ("n1", "n2", "n3", "n4")
    assert n4.entries(1, 3) == leader.entries(1, 3)
    # Four voters: a quorum is three, so n1 and n4 alone cannot commit.
    cluster.crash("n2")
    cluster.crash("n3")
    cluster.propose("n1", "y")
    cluster.deliver()
    assert leader.commit_index == 3
    cluster.restart("n2")
    cluster.settle(ticks=4)
    assert leader.commit_index == 4


def four_with_spare_caught_up_first() -> Cluster:
    ids = ["n1", "n2", "n3", "n4"]
    timeouts = {"n1": 20, "n2": 14, "n3": 18, "n4": 20}
    rands = {node_id: ScriptedRand([timeouts[node_id]]) for node_id in ids}
    return Cluster(ids, voters=["n1", "n2", "n3"], rands=rands, catch_up_new_servers=True)


def test_4_2_1_a_new_server_is_caught_up_before_it_joins_the_configuration() -> None:
    cluster = four_with_spare_caught_up_first()
    leader = elect(cluster, "n1")
    for value in ("x", "y", "z"):
        cluster.propose("n1", value)
    cluster.deliver()
    # Asked to add n4, the leader first replicates to it, outside the configuration.
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is None
    assert leader.catching_up == ("n4",)
    assert leader.voters == ("n1", "n2", "n3")
    # While it catches up it counts toward no majority: with n2 and n3 down nothing
    # commits, however far n4 has got.
    cluster.crash("n2")
    cluster.crash("n3")
    cluster.propose("n1", "w")
    cluster.settle(ticks=6)
    n4 = cluster.node("n4")
    assert n4.last_index == leader.last_index == 5
    assert leader.commit_index == 4
    cluster.restart("n2")
    cluster.restart("n3")
    cluster.settle(ticks=6)
    assert leader.commit_index == 5
    # The round (its log as of the request) took less than an election timeout: caught
    # up, the change is proposed, and n4 is a voter from then on.
    index = cluster.propose_config_change("n1", ConfigOp.ADD, "n4")
    assert index == 6
    assert leader.catching_up == ()
    assert leader.voters == ("n1", "n2", "n3", "n4")
    cluster.settle(ticks=6)
    assert leader.commit_index == 6 and n4.voters == leader.voters
    cluster.check_safety()


def test_4_2_1_a_slow_round_starts_another_before_the_server_may_join() -> None:
    cluster = four_with_spare_caught_up_first()
    leader = elect(cluster, "n1")
    cluster.propose("n1", "x")
    cluster.deliver()
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is None
    # n4 is unreachable for longer than an election timeout (10 ticks): its first round
    # ends too late, so another round starts and the change waits.
    cluster.isolate("n4")
    cluster.settle(ticks=12)
    cluster.heal()
    cluster.settle(ticks=3)
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is None
    assert leader._catching_up["n4"].rounds == 2
    # The second round is quick: then it may join.
    cluster.settle(ticks=3)
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is not None
    cluster.settle(ticks=6)
    assert cluster.node("n4").voters == ("n1", "n2", "n3", "n4")


def test_4_2_1_a_new_leader_starts_the_catch_up_over() -> None:
    cluster = four_with_spare_caught_up_first()
    leader = elect(cluster, "n1")
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is None
    assert leader.catching_up == ("n4",)
    cluster.isolate("n1")
    cluster.settle(ticks=40)
    assert leader.role is not Role.LEADER and leader.catching_up == ()
    new_leader = cluster.node(cluster.leader() or "")
    assert new_leader.id != "n1" and new_leader.catching_up == ()
    assert new_leader.voters == ("n1", "n2", "n3")


def test_4_1_configuration_takes_effect_on_append_before_commit() -> None:
    node = RaftNode(make_config("b", ABC), ScriptedRand([15]))
    change = ConfigChange(ConfigOp.ADD, "d", ("a", "b", "c", "d"))
    node.step(AppendEntries("a", "b", 1, 0, 0, (Entry(1, 1, EntryKind.CONFIG, change),), 0, 0))
    assert node.commit_index == 0
    assert node.voters == ("a", "b", "c", "d")


def test_4_1_truncated_configuration_entry_is_undone() -> None:
    node = RaftNode(make_config("b", ABC), ScriptedRand([15]))
    change = ConfigChange(ConfigOp.ADD, "d", ("a", "b", "c", "d"))
    node.step(AppendEntries("a", "b", 1, 0, 0, (Entry(1, 1, EntryKind.CONFIG, change),), 0, 0))
    node.step(AppendEntries("c", "b", 2, 0, 0, (Entry(2, 1, EntryKind.NOOP, None),), 0, 0))
    assert node.voters == ABC
    assert node.entries(1, 1) == (Entry(2, 1, EntryKind.NOOP, None),)


def test_4_1_one_change_at_a_time() -> None:
    cluster = four_with_spare()
    elect(cluster, "n1")
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is not None
    assert cluster.propose_config_change("n1", ConfigOp.REMOVE, "n3") is None  # pending
    cluster.deliver()
    assert cluster.propose_config_change("n1", ConfigOp.REMOVE, "n3") is not None
    assert cluster.propose_config_change("n2", ConfigOp.REMOVE, "n3") is None  # follower


def test_4_1_no_change_before_an_entry_of_the_current_term_commits() -> None:
    cluster = four_with_spare()
    cluster.campaign("n1")
    cluster.deliver(lambda m: not isinstance(m, AppendEntries))
    assert cluster.node("n1").role is Role.LEADER
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is None
    cluster.deliver()
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n4") is not None


def test_4_1_pointless_changes_are_refused() -> None:
    cluster = four_with_spare()
    elect(cluster, "n1")
    assert cluster.propose_config_change("n1", ConfigOp.ADD, "n2") is None
    assert cluster.propose_config_change("n1", ConfigOp.REMOVE, "n4") is None


def test_4_2_2_removed_leader_steps_down_once_the_change_commits() -> None:
    cluster = four_with_spare()
    leader = elect(cluster, "n1")
    cluster.propose_config_change("n1", ConfigOp.REMOVE, "n1")
    assert leader.role is Role.LEADER  # still leads until the change commits
    cluster.deliver()
    assert leader.role is Role.FOLLOWER
    assert leader.voters == ("n2", "n3")
    cluster.settle(ticks=80)
    new_leader = cluster.leader()
    assert new_leader in ("n2", "n3")
    assert leader.role is Role.FOLLOWER  # a non-member never campaigns
    assert cluster.node(new_leader).voters == ("n2", "n3")


def test_4_2_2_removed_server_with_uncommitted_removal_may_still_lead() -> None:
    cluster = four_with_spare()
    leader = elect(cluster, "n1")
    cluster.propose_config_change("n1", ConfigOp.REMOVE, "n1")
    cluster.drop()
    assert leader.voters == ("n2", "n3") and leader.commit_index == 1
    cluster.crash("n1")
    cluster.restart("n1")
    n1 = cluster.node("n1")
    assert n1.voters == ("n2", "n3")
    n1.campaign()  # allowed: the change that removed it is not committed
    cluster.process("n1")
    assert n1.role is Role.PRE_CANDIDATE


# ============================================================== §7 log compaction


def test_7_lagging_follower_receives_a_snapshot() -> None:
    cluster = Cluster(["n1", "n2", "n3"], seed=2)
    elect(cluster, "n1")
    cluster.isolate("n3")
    for n in range(8):
        cluster.propose("n1", f"v{n}")
        cluster.deliver()
    snapshot = cluster.compact("n1")
    assert snapshot.index == cluster.node("n1").applied_index == 9
    assert cluster.node("n1").log_length == 0
    cluster.heal()
    cluster.transcript = []
    cluster.settle(ticks=6)
    assert any(" Snap " in line for line in cluster.transcript)
    n3 = cluster.node("n3")
    assert n3.snapshot_index == 9 and n3.commit_index == 9 and n3.applied_index == 9
    assert cluster.state_machines["n3"] == cluster.state_machines["n1"]
    assert cluster.disks["n3"].snapshot == snapshot
    cluster.propose("n1", "after")
    cluster.settle(ticks=4)
    assert [entry.data for entry in cluster.state_machines["n3"][-1:]] == ["after"]
    cluster.check_safety()


def test_7_follower_holding_the_snapshot_entry_keeps_its_log() -> None:
    log = tuple(Entry(1, index, EntryKind.NORMAL, index) for index in range(1, 5))
    node = RaftNode(
        make_config("b", ABC), ScriptedRand([15]), hard_state=HardState(1, None, 0), entries=log
    )
    node.step(InstallSnapshot("a", "b", 1, Snapshot(2, 1, ABC, "state")))
    [ready] = drain(node)
    assert ready.snapshot is None
    assert node.commit_index == 2 and node.last_index == 4


def test_7_restart_rebuilds_from_snapshot_and_reapplies_committed_entries() -> None:
    cluster = Cluster(["n1", "n2", "n3"], seed=5)
    elect(cluster, "n1")
    for n in range(3):
        cluster.propose("n1", f"v{n}")
    cluster.deliver()
    cluster.settle(ticks=4)  # a heartbeat carries the leader's commit index to n2 (§5.3)
    cluster.compact("n2", 2)
    cluster.settle(ticks=4)
    before = list(cluster.state_machines["n2"])
    cluster.crash("n2")
    node = cluster.restart("n2")
    assert node.snapshot_index == 2 and node.first_index == 3
    assert node.applied_index == node.commit_index == 4
    assert cluster.state_machines["n2"] == before


def test_7_leader_compacted_past_a_follower_sends_the_snapshot_not_entries() -> None:
    cluster = Cluster(["n1", "n2", "n3"], seed=6)
    elect(cluster, "n1")
    cluster.drop(to("n3"))
    cluster.isolate("n3")
    cluster.propose("n1", "x")
    cluster.deliver()
    cluster.compact("n1")
    cluster.heal()
    to_n3 = []
    for _ in range(6):  # two heartbeats: the stalled pipeline to n3 falls back to probing
        cluster.tick_all()
        to_n3 += [m for m in cluster.network if m.dst == "n3"]
        cluster.drop(to("n3"))
        cluster.deliver()
    snapshots = [m for m in to_n3 if isinstance(m, InstallSnapshot)]
    assert [(m.dst, m.snapshot.index) for m in snapshots] == [("n3", 2)]
    assert not any(isinstance(m, AppendEntries) and m.entries for m in to_n3)
