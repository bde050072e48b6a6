"""Scenario files: the schema, loading with precise errors, overrides and dumping.

A scenario is pure data (no simulation here): `load_scenario` reads a YAML
file into a frozen `Scenario`, `resolve` applies command-line overrides, and
`scenario_to_data` / `dump_scenario` write it back in canonical form.
"""

from harmonysim.scenario.bugs import BUG_DESCRIPTIONS, KNOWN_BUGS
from harmonysim.scenario.errors import ScenarioError
from harmonysim.scenario.loader import (
    dump_scenario,
    load_scenario,
    parse_scenario,
    resolve,
    scenario_to_data,
)
from harmonysim.scenario.model import (
    CHECK_NAMES,
    LEADER,
    MAX_SEED,
    NEMESIS_KINDS,
    OPERATION_KINDS,
    BTreeSettings,
    CheckName,
    Cluster,
    DiskSettings,
    Fault,
    FaultKind,
    FaultTrigger,
    Keys,
    Latency,
    LinkOverride,
    LinkRef,
    Nemesis,
    NemesisKind,
    Network,
    OneWayCut,
    Partition,
    PartitionKind,
    RaftSettings,
    Scenario,
    Workload,
)
from harmonysim.scenario.units import format_duration, format_rate, parse_duration, parse_rate

__all__ = [
    "BUG_DESCRIPTIONS",
    "CHECK_NAMES",
    "KNOWN_BUGS",
    "LEADER",
    "MAX_SEED",
    "NEMESIS_KINDS",
    "OPERATION_KINDS",
    "BTreeSettings",
    "CheckName",
    "Cluster",
    "DiskSettings",
    "Fault",
    "FaultKind",
    "FaultTrigger",
    "Keys",
    "Latency",
    "LinkOverride",
    "LinkRef",
    "Nemesis",
    "NemesisKind",
    "Network",
    "OneWayCut",
    "Partition",
    "PartitionKind",
    "RaftSettings",
    "Scenario",
    "ScenarioError",
    "Workload",
    "dump_scenario",
    "format_duration",
    "format_rate",
    "load_scenario",
    "parse_duration",
    "parse_rate",
    "parse_scenario",
    "resolve",
    "scenario_to_data",
]
