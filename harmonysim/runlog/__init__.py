"""The record of one run: its event vocabulary, the fold of the cluster over it, its folder.

- ``harmonysim.runlog.vocabulary``: every event kind, the kind groups readers share,
  the payload each state-changing kind carries, and the order of node ids.
- ``harmonysim.runlog.fold``: the one fold of the cluster state over events, which
  every reader of ``events.jsonl`` uses.
- ``harmonysim.runlog.faultmarks``: the one name of each fault record, and the marks of
  the faults the plots, the dashboard and the exports show, derived from the fold.
- ``harmonysim.runlog.folder``: ``RunFolder``, the one owner of the artifact names.

This package sits at the bottom of the house beside ``obs/``: it imports the standard
library and the pure cores' small types, never ``sim/`` or anything above it.
"""
