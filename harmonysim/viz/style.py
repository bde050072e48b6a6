"""The look every plot shares, and saving figures byte for byte reproducibly.

Rules of this file:
- Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot,
  so no global figure state is touched and a notebook's backend is left alone;
  files are rendered by the Agg canvas (PNG) or the SVG backend.
- Every plot function builds its figure inside ``plot_style()``: a fixed set of
  rc parameters, so a user's matplotlibrc cannot change what a run's plots look
  like, and the same records give the same picture.
- Saving is reproducible: SVG ids are salted with a fixed ``svg.hashsalt``, and
  the metadata that would carry a date or a software version is left out, so two
  renders of the same run are byte-identical.
- Colours are closed tables keyed by the vocabularies they show (Raft roles,
  outages, operation outcomes, message types, fault marks); an unknown message type takes
  the next free colour in sorted order of the unknown names.
- Times are kept in virtual milliseconds in the data; axes format their ticks in
  seconds when the window spans at least two seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from harmonysim.raft import Role
from harmonysim.runlog.faultmarks import MarkKind
from harmonysim.viz.derive import OperationOutcome, Outage

__all__ = [
    "CLOG_COLOUR",
    "IMAGE_DPI",
    "MARK_STYLES",
    "MESSAGE_COLOURS",
    "NODE_COLOURS",
    "OUTAGE_COLOURS",
    "OUTCOME_COLOURS",
    "PARTITION_BACKGROUND",
    "PARTITION_COLOUR",
    "ROLE_COLOURS",
    "ROLE_LABELS",
    "TERM_COLOUR",
    "ImageFormat",
    "MarkStyle",
    "format_time_axis",
    "message_colours",
    "new_figure",
    "node_colour",
    "plot_style",
    "save_figure",
]

IMAGE_DPI = 110

ROLE_COLOURS: Mapping[Role, str] = {
    Role.FOLLOWER: "#bdd7ee",
    Role.PRE_CANDIDATE: "#fdd49e",
    Role.CANDIDATE: "#f16913",
    Role.LEADER: "#238b45",
}
ROLE_LABELS: Mapping[Role, str] = {
    Role.FOLLOWER: "follower",
    Role.PRE_CANDIDATE: "pre-candidate",
    Role.CANDIDATE: "candidate",
    Role.LEADER: "leader",
}
OUTAGE_COLOURS: Mapping[Outage, str] = {Outage.DOWN: "#3b3b3b", Outage.PAUSED: "#6a51a3"}
PARTITION_COLOUR = "#cb181d"
PARTITION_BACKGROUND = "#fee0d2"
CLOG_COLOUR = "#2171b5"
TERM_COLOUR = "#525252"

OUTCOME_COLOURS: Mapping[OperationOutcome, str] = {
    OperationOutcome.OK: "#31a354",
    OperationOutcome.FAIL: "#de2d26",
    OperationOutcome.INFO: "#fe9929",
}

NODE_COLOURS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

MESSAGE_COLOURS: Mapping[str, str] = {
    "AppendEntries": "#2171b5",
    "AppendEntriesResponse": "#6baed6",
    "RequestVote": "#cb181d",
    "RequestVoteResponse": "#fb6a4a",
    "InstallSnapshot": "#6a3d9a",
    "InstallSnapshotResponse": "#b294c7",
    "ClientRequest": "#525252",
    "ClientReply": "#969696",
}
_SPARE_COLOURS: tuple[str, ...] = (
    "#e6550d",
    "#31a354",
    "#8c6d31",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#393b79",
    "#637939",
)

_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.axisbelow": True,
    "grid.color": "#e0e0e0",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "figure.facecolor": "white",
    "figure.titlesize": 12.0,
    "figure.titleweight": "bold",
    "hatch.linewidth": 0.8,
    "savefig.facecolor": "white",
    "svg.hashsalt": "harmonysim",
    "svg.fonttype": "path",
    "path.simplify": True,
}


class ImageFormat(StrEnum):
    PNG = "png"
    SVG = "svg"


_METADATA: Mapping[ImageFormat, dict[str, str | None]] = {
    ImageFormat.PNG: {"Software": None},
    ImageFormat.SVG: {"Creator": None, "Date": None},
}


@contextmanager
def plot_style() -> Iterator[None]:
    """Apply the shared rc parameters on top of matplotlib's defaults.

    ``style.context`` leaves the backend and other interactive settings alone, and
    restores the caller's parameters on exit.
    """
    with matplotlib.style.context(["default", _STYLE]):
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure with constrained layout and an Agg canvas attached."""
    figure = Figure(figsize=(width_in, height_in), dpi=IMAGE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path, fmt: ImageFormat) -> Path:
    """Write ``figure`` to ``path`` as PNG or SVG, reproducibly (see the module rules)."""
    with plot_style():
        figure.savefig(path, format=fmt.value, dpi=IMAGE_DPI, metadata=_METADATA[fmt])
    return path


def node_colour(index: int) -> str:
    return NODE_COLOURS[index % len(NODE_COLOURS)]


def message_colours(types: Iterable[str]) -> dict[str, str]:
    """A colour for each message type: the fixed table first, then spare colours."""
    names = sorted(set(types))
    unknown = [name for name in names if name not in MESSAGE_COLOURS]
    colours = {name: MESSAGE_COLOURS[name] for name in names if name in MESSAGE_COLOURS}
    for index, name in enumerate(unknown):
        colours[name] = _SPARE_COLOURS[index % len(_SPARE_COLOURS)]
    return colours


def _seconds(value: float, _position: float) -> str:
    return f"{value / 1000.0:g}"


def _milliseconds(value: float, _position: float) -> str:
    return f"{value:g}"


def format_time_axis(axes: Axes, window_ms: Sequence[float], *, label: bool = True) -> None:
    """Label the x axis in seconds or milliseconds, whichever suits the window."""
    span_ms = window_ms[1] - window_ms[0]
    if span_ms >= 2000.0:
        axes.xaxis.set_major_formatter(FuncFormatter(_seconds))
        unit = "s"
    else:
        axes.xaxis.set_major_formatter(FuncFormatter(_milliseconds))
        unit = "ms"
    if label:
        axes.set_xlabel(f"virtual time ({unit})")


@dataclass(frozen=True, slots=True)
class MarkStyle:
    """How the timeline draws one kind of fault mark (``harmonysim.runlog.faultmarks``)."""

    colour: str
    marker: str = "o"  # instants: a matplotlib marker
    size: float = 30.0  # instants: the marker's area in points²
    filled: bool = True
    hatch: str | None = None  # spans
    text: bool = True  # instants: write the mark's short text beside it
    text_colour: str = "white"  # spans: the colour of the text written in the bar


MARK_STYLES: Mapping[MarkKind, MarkStyle] = {
    MarkKind.CLOCK_RATE: MarkStyle("#01665e"),
    MarkKind.CLOCK_STROBE: MarkStyle("#80cdc1", hatch="||||", text_colour="#003c30"),
    MarkKind.CLOCK_JUMP: MarkStyle("#01665e", marker="D", size=22.0),
    MarkKind.DISK_SLOW: MarkStyle("#a6611a"),
    MarkKind.HALTED: MarkStyle("#67001f"),
    MarkKind.DISK_FAULT: MarkStyle("#8c510a", marker="s", size=24.0),
    MarkKind.DAMAGE: MarkStyle("#d7301f", marker="X", size=44.0, text=False),
    MarkKind.REPAIRED: MarkStyle("#1a9850", marker="P", size=44.0, text=False),
    MarkKind.TRANSFER: MarkStyle("#b8860b", marker="o", size=14.0),
    MarkKind.REMOVE: MarkStyle("#542788", marker="v", size=36.0, text=False),
    MarkKind.ADD: MarkStyle("#542788", marker="^", size=36.0, text=False),
    MarkKind.NOOP: MarkStyle("#737373", marker="o", size=26.0, filled=False, text=False),
}
"""One style per fault mark kind: colour (clock teal, storage brown, repair green,
membership purple), marker and hatch, so each reads apart in the legend."""
