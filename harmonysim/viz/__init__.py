"""Plots of a run folder: timeline, message diagram, clients, B+ tree.

``viz`` reads run artifacts (``run.json``, ``events.jsonl``, ``history.jsonl``);
it never drives a simulation. ``plot_run`` renders a folder's plots to PNG or SVG
files; each ``plot_*`` function takes already-loaded records (see
``load_run_records``) and returns a matplotlib ``Figure``, for notebooks.
``read_violations`` gives a run's failed checks on the clock; each time plot takes
them as ``violations=`` and marks them.
"""

from harmonysim.viz.btree import plot_btree, plot_btree_structure
from harmonysim.viz.clients import plot_clients
from harmonysim.viz.messages import plot_messages
from harmonysim.viz.records import PlotInputError, RunRecords, load_run_records, read_violations
from harmonysim.viz.render import PlotKind, plot_run
from harmonysim.viz.style import ImageFormat, save_figure
from harmonysim.viz.timeline import plot_timeline

__all__ = [
    "ImageFormat",
    "PlotInputError",
    "PlotKind",
    "RunRecords",
    "load_run_records",
    "plot_btree",
    "plot_btree_structure",
    "plot_clients",
    "plot_messages",
    "plot_run",
    "plot_timeline",
    "read_violations",
    "save_figure",
]
