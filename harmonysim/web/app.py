"""The dashboard's ASGI application: pages, the JSON API, server-sent events and metrics.

Rules:
- Read-only: the app serves its own static files and the artifacts of the runs
  in its ``RunCatalog``, nothing else on disk; no route writes anything.
- Every bad request gets a 4xx JSON body ``{"detail": ...}``: unknown runs,
  nodes, traces and artifacts are 404, malformed or out-of-range parameters
  422 (FastAPI's validation), a run folder that cannot be read 422. Handlers
  are written so that no input reaches a 500.
- Views are static HTML shells; the browser fetches ``/api/...`` JSON and
  draws it (vanilla JS and SVG, no network beyond this server). The OpenAPI
  description of the API is at ``/openapi.json`` (docs at ``/docs``).
- Live mode pushes the cluster state as server-sent events
  (``/api/live/stream``, ``text/event-stream``): one ``state`` event whenever
  the run has moved on, at most every ``LIVE_PUSH_SECONDS``, and an ``end``
  event when it finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import StreamingResponse

from harmonysim import __version__
from harmonysim.web.btree_view import UnknownTreeNode
from harmonysim.web.catalog import LIVE_RUN_ID, RunCatalog, RunEntry, RunUnavailable
from harmonysim.web.index import RunIndex
from harmonysim.web.metrics import CONTENT_TYPE, render_metrics
from harmonysim.web.traces import TRACE_ID_PATTERN, DerivedTraceSource, TraceFilter, select
from harmonysim.web.views import (
    history_payload,
    network_payload,
    raft_payload,
    run_payload,
    state_payload,
    timeline_payload,
)

__all__ = ["PAGES", "create_app"]

LIVE_PUSH_SECONDS = 0.25
MAX_TIME_MS = 1e12
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"

PAGES: dict[str, tuple[str, str]] = {
    "/": ("overview", "Overview"),
    "/raft": ("raft", "Raft"),
    "/btree": ("btree", "B+ tree"),
    "/traces": ("traces", "Traces"),
    "/history": ("history", "History"),
}
"""Route -> (page script name, title)."""

RunParam = Annotated[str | None, Query(max_length=256, description="run id (see /api/runs)")]
TimeParam = Annotated[
    float,
    Query(ge=0.0, le=MAX_TIME_MS, allow_inf_nan=False, description="virtual time in ms"),
]
NodeParam = Annotated[str, Query(pattern=NAME_PATTERN, description="server id, e.g. n1")]


def _static_dir() -> Path:
    return Path(str(resources.files("harmonysim.web") / "static"))


def _page_html(page: str, title: str) -> str:
    template = (_static_dir() / "page.html").read_text(encoding="utf-8")
    nav = "".join(
        f'<a href="{route}" data-page="{name}"{" class=active" if name == page else ""}>{label}</a>'
        for route, (name, label) in PAGES.items()
    )
    return (
        template.replace("{{title}}", title)
        .replace("{{page}}", page)
        .replace("{{nav}}", nav)
        .replace("{{version}}", __version__)
    )


def _orjson(value: Any, status_code: int = 200) -> Response:
    return Response(
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS),
        status_code=status_code,
        media_type="application/json",
    )


def create_app(catalog: RunCatalog) -> FastAPI:
    """The dashboard over ``catalog``'s runs (see the module rules)."""
    app = FastAPI(
        title="harmonysim dashboard",
        version=__version__,
        description="Read-only views of harmonysim runs: cluster state at any virtual time, "
        "Raft logs, B+ trees, traces, client history, metrics.",
    )
    app.state.catalog = catalog

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", ""))}
            for item in error.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    @app.exception_handler(RunUnavailable)
    async def unavailable(request: Request, error: RunUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    def entry_for(run: str | None) -> RunEntry:
        entry = catalog.get(run)
        if entry is None:
            raise HTTPException(404, f"unknown run {run!r}" if run else "no runs to serve")
        return entry

    def node_of(index: RunIndex, node: str) -> str:
        if node not in index.nodes:
            raise HTTPException(404, f"unknown node {node!r}; nodes: {', '.join(index.nodes)}")
        return node

    # -- pages ------------------------------------------------------------------------

    for route, (page, title) in PAGES.items():

        def page_view(page: str = page, title: str = title) -> HTMLResponse:
            return HTMLResponse(_page_html(page, title))

        app.add_api_route(
            route, page_view, methods=["GET"], include_in_schema=False, name=f"page_{page}"
        )

    app.mount("/static", StaticFiles(directory=_static_dir()), name="static")

    # -- the API ----------------------------------------------------------------------

    @app.get("/api/runs", summary="Runs this dashboard serves")
    def list_runs() -> Response:
        catalog.refresh()  # runs written since the server started are listed too
        return _orjson(
            {
                "default": catalog.default_id,
                "runs": [
                    {"id": run_id, "live": entry.live is not None, "loaded": entry.loaded}
                    for run_id, entry in catalog.entries.items()
                ],
            }
        )

    @app.get("/api/run", summary="One run: scenario, summary, checks, nodes, clients, faults")
    def get_run(run: RunParam = None) -> Response:
        entry = entry_for(run)
        index = entry.index()
        with index.lock:
            payload = run_payload(entry.id, "live" if entry.live else "replay", index)
        payload["artifacts"] = sorted(entry.artifacts())
        if entry.live is not None:
            payload["speed"] = entry.live.speed
            payload["error"] = entry.live.error
        return _orjson(payload)

    @app.get("/api/state", summary="Cluster state at virtual time t")
    def get_state(t: TimeParam = MAX_TIME_MS, run: RunParam = None) -> Response:
        return _orjson(state_payload(entry_for(run).index(), t))

    @app.get("/api/network", summary="Messages in flight at t and per-link traffic before it")
    def get_network(
        t: TimeParam = MAX_TIME_MS,
        window_ms: Annotated[float, Query(gt=0.0, le=60_000.0, allow_inf_nan=False)] = 250.0,
        run: RunParam = None,
    ) -> Response:
        return _orjson(network_payload(entry_for(run).index(), t, window_ms))

    @app.get("/api/timeline", summary="Roles, health and leaders over the whole run")
    def get_timeline(run: RunParam = None) -> Response:
        return _orjson(timeline_payload(entry_for(run).index()))

    @app.get("/api/raft", summary="Per-node stable logs at t and the leader's view of followers")
    def get_raft(
        t: TimeParam = MAX_TIME_MS,
        limit: Annotated[int, Query(ge=1, le=500)] = 40,
        run: RunParam = None,
    ) -> Response:
        return _orjson(raft_payload(entry_for(run).index(), t, limit))

    @app.get("/api/btree", summary="A node's B+ tree at t, rebuilt from what it applied")
    def get_btree(
        node: NodeParam,
        t: TimeParam = MAX_TIME_MS,
        subtree: Annotated[
            int | None,
            Query(ge=0, le=2**53, description="tree node id: its subtree instead of the root"),
        ] = None,
        run: RunParam = None,
    ) -> Response:
        entry = entry_for(run)
        index = entry.index()
        node_of(index, node)
        trees = entry.trees()
        at = min(t, index.end_ms)
        try:
            view = trees.view(node, at, subtree)
        except UnknownTreeNode:
            raise HTTPException(404, f"{node}'s tree has no node #{subtree} at {at:g} ms") from None
        return _orjson(
            {
                "node": view.node,
                "t_ms": view.t_ms,
                "applied_index": view.applied_index,
                **view.data,
                "history": trees.change_times(node),
            }
        )

    @app.get("/api/traces", summary="Trace list, filtered and paged")
    def get_traces(
        run: RunParam = None,
        node: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        name: Annotated[str | None, Query(max_length=100)] = None,
        status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,20}$")] = None,
        min_duration_ms: Annotated[
            float | None, Query(ge=0.0, le=MAX_TIME_MS, allow_inf_nan=False)
        ] = None,
        t0: Annotated[float | None, Query(ge=0.0, le=MAX_TIME_MS, allow_inf_nan=False)] = None,
        t1: Annotated[float | None, Query(ge=0.0, le=MAX_TIME_MS, allow_inf_nan=False)] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        source = entry_for(run).traces()
        where = TraceFilter(node, name, status, min_duration_ms, t0, t1)
        total, page = select(source, where, offset, limit)
        return _orjson(
            {
                "source": source.kind,
                "total": total,
                "offset": offset,
                "items": [summary.to_json() for summary in page],
            }
        )

    @app.get("/api/traces/{trace_id}", summary="Every span of one trace")
    def get_trace(trace_id: str, run: RunParam = None) -> Response:
        if not TRACE_ID_PATTERN.match(trace_id):
            raise HTTPException(422, "a trace id has 1-64 letters, digits or . _ : -")
        entry = entry_for(run)
        source = entry.traces()
        spans = source.spans(trace_id)
        if spans is None and source.kind != DerivedTraceSource.kind:
            # operation ids (client:seq, as the history page links them) still resolve
            source = DerivedTraceSource(entry.index())
            spans = source.spans(trace_id)
        if spans is None:
            raise HTTPException(404, f"unknown trace {trace_id!r}")
        nodes = sorted({span.node for span in spans})
        return _orjson(
            {
                "trace_id": trace_id,
                "source": source.kind,
                "nodes": nodes,
                "spans": [span.to_json() for span in spans],
            }
        )

    @app.get("/api/history", summary="Client operations on a time axis, with check results")
    def get_history(
        run: RunParam = None,
        t0: Annotated[float, Query(ge=0.0, le=MAX_TIME_MS, allow_inf_nan=False)] = 0.0,
        t1: TimeParam = MAX_TIME_MS,
        client: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 20_000,
    ) -> Response:
        if t1 < t0:
            raise HTTPException(422, "t1 must not be before t0")
        return _orjson(history_payload(entry_for(run).index(), t0, t1, client, limit))

    @app.get("/api/artifact", summary="One artifact file of a run folder (by name)")
    def get_artifact(
        name: Annotated[str, Query(pattern=NAME_PATTERN)], run: RunParam = None
    ) -> FileResponse:
        entry = entry_for(run)
        artifacts = entry.artifacts()
        path = artifacts.get(name)
        if path is None:
            raise HTTPException(404, f"run {entry.id!r} has no artifact {name!r}")
        media = "application/json" if name.endswith((".json", ".jsonl")) else "text/plain"
        return FileResponse(path, media_type=media, filename=name)

    @app.get("/api/live/stream", summary="Server-sent events: the live run's state as it moves")
    async def live_stream(run: RunParam = None) -> StreamingResponse:
        entry = entry_for(run if run is not None else LIVE_RUN_ID)
        live = entry.live
        if live is None:
            raise HTTPException(404, f"run {entry.id!r} is not live")
        index = entry.index()

        async def events() -> AsyncIterator[bytes]:
            seen = -1
            while True:
                finished = live.done
                if index.event_count != seen or finished:
                    seen = index.event_count
                    payload = state_payload(index, MAX_TIME_MS)
                    yield b"event: state\ndata: " + orjson.dumps(payload) + b"\n\n"
                if finished:
                    end = {"error": live.error, "event_count": index.event_count}
                    yield b"event: end\ndata: " + orjson.dumps(end) + b"\n\n"
                    return
                await asyncio.sleep(LIVE_PUSH_SECONDS)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/metrics", summary="Prometheus text exposition of the indexed runs")
    def metrics() -> Response:
        return Response(render_metrics(catalog), media_type=CONTENT_TYPE)

    return app
