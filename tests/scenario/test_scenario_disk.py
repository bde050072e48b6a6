"""The storage-fault keys of the schema: `cluster.disk.faults`, the `disk` action, the
`disk` nemesis kind, and clear errors for what they refuse."""

from __future__ import annotations

import pytest

from harmonysim.scenario import NEMESIS_KINDS, FaultKind, ScenarioError, parse_scenario

MINIMAL = "name: tiny\nduration: 10s\n"


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    return str(info.value)


def test_disk_fault_probabilities_default_to_none() -> None:
    faults = parse_scenario(MINIMAL).cluster.disk.faults
    assert (faults.corrupt, faults.torn, faults.misdirect, faults.read_error, faults.slow) == (
        0.0,
    ) * 5
    given = parse_scenario(
        MINIMAL + "cluster: {disk: {faults: {torn: 0.5, corrupt: 0.001, slow_fsync: 20ms}}}\n"
    )
    assert given.cluster.disk.faults.torn == 0.5
    assert given.cluster.disk.faults.slow_fsync_ms == 20.0


def test_disk_actions_parse() -> None:
    scenario = parse_scenario(
        MINIMAL
        + "faults:\n"
        + "  - {at: 1s, disk: {node: n2, corrupt: {file: log, index: 5}}}\n"
        + "  - {at: 1s, disk: {node: n2, eio: {file: log, index: [3, 9]}}}\n"
        + "  - {at: 1s, disk: {node: leader, torn: true}}\n"
        + "  - {at: 1s, disk: {node: n1, misdirect: true}}\n"
        + "  - {at: 1s, disk: {node: n3, slow: {fsync: 50ms}}, for: 2s}\n"
        + "  - {at: 1s, disk: {node: n3, corrupt: {file: hard_state}}}\n"
        + "  - {at: 1s, disk: {node: n3, write_error: true}}\n"
        + "  - {at: 1s, disk: {node: n3, eio: {file: hard_state.b}}}\n"
    )
    disks = [fault.disk for fault in scenario.faults]
    assert [fault.kind for fault in scenario.faults] == [FaultKind.DISK] * 8
    assert disks[0] is not None and disks[0].corrupt is not None
    assert disks[0].corrupt.index == (5, 5)
    assert disks[1] is not None and disks[1].eio is not None and disks[1].eio.index == (3, 9)
    assert disks[4] is not None and disks[4].slow is not None and disks[4].slow.fsync_ms == 50.0
    assert disks[7] is not None and disks[7].eio is not None
    assert disks[7].eio.file == "hard_state.b"  # copy B of the hard state
    assert "disk" in NEMESIS_KINDS


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("{at: 1s, disk: {node: n2}}", "exactly one change"),
        ("{at: 1s, disk: {node: n2, torn: true, misdirect: true}}", "exactly one change"),
        ("{at: 1s, disk: {node: n2, torn: false}}", "expected true"),
        (
            "{at: 1s, disk: {node: n2, corrupt: {file: wal}}}",
            "one of log, hard_state, hard_state.b, snapshot",
        ),
        ("{at: 1s, disk: {node: n2, corrupt: {index: [9, 3]}}}", "[low, high]"),
        ("{at: 1s, disk: {node: n9, torn: true}}", "unknown node 'n9'"),
        ("{at: 1s, disk: {node: n2, torn: true}, for: 1s}", "cannot be undone"),
    ],
)
def test_bad_disk_faults_get_a_clear_error(fault: str, says: str) -> None:
    assert says in error_of(MINIMAL + f"faults:\n  - {fault}\n")
