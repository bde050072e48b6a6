"""The web dashboard: run artifacts (or a live run) as pages, a JSON API, SSE and metrics.

Layers inside: ``index`` folds a run's events into queryable state (with
checkpoints so any virtual time is cheap); ``btree_view`` rebuilds a node's B+
tree from what it applied; ``traces`` turns client operations (or OTLP spans)
into traces; ``views`` shapes the JSON each page draws; ``catalog`` finds run
folders; ``live`` runs a scenario paced against the wall clock; ``app`` is the
FastAPI application and ``metrics`` its Prometheus exposition. Nothing here
steps the simulation's logic: it reads what a run recorded.
"""

from harmonysim.web.app import create_app
from harmonysim.web.catalog import RunCatalog

__all__ = ["RunCatalog", "create_app"]
